//! Ports of `server/parser_test.go`.
//!
//! nats-server's tests feed `c.parse` slices and then read `c.state`, `c.as`, `c.drop` and
//! `c.pa`. natsd's parser consumes a `BytesMut` from the front, so the same facts read as:
//! `Parser::state()` for `c.state`; the bytes left unconsumed for `buf[c.as:]` (what was
//! consumed is exactly `c.as`); `Parser::arg_cr_seen()` for `c.drop`; and
//! `Parser::pending_msg()` for `c.pa` while a payload is pending. Go's "clear snapshots"
//! (`c.argBuf, c.msgBuf, c.state = nil, nil, OP_START`) is a fresh parser.

use bytes::BytesMut;
use natsd::protocol::parser::{
    parse_hpub_args, parse_msg_args, parse_pub_args, proto_snippet, ConnKind, MsgForm, ParseState,
    Parser, ParserConfig, ProtocolError, ProtocolErrorKind, ServerOp, MAX_CONTROL_LINE_SIZE,
    PROTO_SNIPPET_SIZE,
};
use natsd::protocol::ClientOp;
use ported::{port, stub};

/// A connection's parser and read buffer. Each `parse` appends like a new read; after an
/// error the unconsumed bytes are dropped, since nats-server's next `parse` call gets a new
/// slice.
struct Conn {
    parser: Parser,
    buf: BytesMut,
    ops: Vec<ServerOp>,
}

impl Conn {
    fn new(kind: ConnKind, cfg: ParserConfig) -> Self {
        Conn {
            parser: Parser::with_kind(kind, cfg),
            buf: BytesMut::new(),
            ops: Vec::new(),
        }
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        self.buf.extend_from_slice(bytes);
        loop {
            match self.parser.parse_server_op(&mut self.buf) {
                Ok(Some(op)) => self.ops.push(op),
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.buf.clear();
                    return Err(e);
                }
            }
        }
    }

    fn state(&self) -> ParseState {
        self.parser.state()
    }

    fn last_op(&self) -> Option<&ServerOp> {
        self.ops.last()
    }
}

/// Go's `dummyClient()`: a client with no payload limit (`mpay: -1`) and the default max
/// control line.
fn dummy_client() -> Conn {
    Conn::new(
        ConnKind::Client,
        ParserConfig {
            max_control_line: MAX_CONTROL_LINE_SIZE,
            max_payload: usize::MAX,
            headers: false,
        },
    )
}

fn dummy_client_with_headers() -> Conn {
    Conn::new(
        ConnKind::Client,
        ParserConfig {
            max_control_line: MAX_CONTROL_LINE_SIZE,
            max_payload: usize::MAX,
            headers: true,
        },
    )
}

/// Go's `dummyRouteClient()`.
fn dummy_route_client() -> Conn {
    Conn::new(
        ConnKind::Router,
        ParserConfig {
            max_control_line: MAX_CONTROL_LINE_SIZE,
            max_payload: usize::MAX,
            headers: true,
        },
    )
}

fn expect_ok_state(c: &mut Conn, bytes: &[u8], state: ParseState) {
    let r = c.parse(bytes);
    assert!(
        r.is_ok() && c.state() == state,
        "Unexpected: {:?} : {:?} (wanted {:?} after {:?})",
        c.state(),
        r,
        state,
        String::from_utf8_lossy(bytes)
    );
}

port!("server/parser_test.go::TestParsePing" => parse_ping);
fn parse_ping() {
    let mut c = dummy_client();
    assert_eq!(c.state(), ParseState::OpStart, "Expected OP_START");
    let ping = b"PING\r\n";
    expect_ok_state(&mut c, &ping[..1], ParseState::OpP);
    expect_ok_state(&mut c, &ping[1..2], ParseState::OpPi);
    expect_ok_state(&mut c, &ping[2..3], ParseState::OpPin);
    expect_ok_state(&mut c, &ping[3..4], ParseState::OpPing);
    expect_ok_state(&mut c, &ping[4..5], ParseState::OpPing);
    assert!(c.ops.is_empty(), "no op before the LF");
    expect_ok_state(&mut c, &ping[5..6], ParseState::OpStart);
    assert_eq!(c.last_op(), Some(&ServerOp::Client(ClientOp::Ping)));
    expect_ok_state(&mut c, ping, ParseState::OpStart);
    assert_eq!(c.ops.len(), 2);
    // Should tolerate spaces
    expect_ok_state(&mut c, b"PING  \r", ParseState::OpPing);
    let mut c = dummy_client();
    expect_ok_state(&mut c, b"PING  \r  \n", ParseState::OpStart);
    assert_eq!(c.ops, vec![ServerOp::Client(ClientOp::Ping)]);
}

/// `TestParsePong`: the parser steps through PONG (tolerating spaces), and a PONG resets the
/// outstanding-ping count. natsd keeps that count in the connection's PING state machine,
/// which the reader feeds every PONG; both the count and the wiring are checked.
fn parse_pong() {
    parse_pong_parser_part();
    pong_resets_outstanding_pings();
}

fn parse_pong_parser_part() {
    let mut c = dummy_client();
    assert_eq!(c.state(), ParseState::OpStart, "Expected OP_START");
    let pong = b"PONG\r\n";
    expect_ok_state(&mut c, &pong[..1], ParseState::OpP);
    expect_ok_state(&mut c, &pong[1..2], ParseState::OpPo);
    expect_ok_state(&mut c, &pong[2..3], ParseState::OpPon);
    expect_ok_state(&mut c, &pong[3..4], ParseState::OpPong);
    expect_ok_state(&mut c, &pong[4..5], ParseState::OpPong);
    expect_ok_state(&mut c, &pong[5..6], ParseState::OpStart);
    assert_eq!(c.last_op(), Some(&ServerOp::Client(ClientOp::Pong)));
    expect_ok_state(&mut c, pong, ParseState::OpStart);
    expect_ok_state(&mut c, b"PONG  \r", ParseState::OpPong);
    let mut c = dummy_client();
    expect_ok_state(&mut c, b"PONG  \r  \n", ParseState::OpStart);
    assert_eq!(c.ops, vec![ServerOp::Client(ClientOp::Pong)]);
}
port!("server/parser_test.go::TestParsePong" => parse_pong);

/// Go sets `c.ping.out = 10` and expects 0 after a PONG. Here: the count itself in the PING
/// state machine, then a live connection with `max_pings_out` 2 that answers every PING
/// and is still served well past the point where unreset counts would have made it stale.
fn pong_resets_outstanding_pings() {
    use natsd::client::ping::{PingAction, PingTimer};
    use std::time::{Duration, Instant};

    let t0 = Instant::now();
    let ms = Duration::from_millis(1);
    let mut p = PingTimer::new(t0, ms, 100);
    for i in 1..=10u32 {
        assert_eq!(p.fire(t0 + ms * i), PingAction::SendPing);
    }
    assert_eq!(p.pings_out(), 10);
    p.on_pong(t0 + ms * 11);
    assert_eq!(p.pings_out(), 0, "Unexpected ping.out value: 10 vs 0");

    let s = ported::support::run_server(natsd::config::Options {
        ping_interval: Duration::from_millis(20),
        max_pings_out: 2,
        ..ported::support::default_test_options()
    });
    let mut c = ported::support::RawConn::setup(s.addr);
    for _ in 0..6 {
        c.expect(&ported::support::re::PING);
        c.send("PONG\r\n");
    }
    c.send("PING\r\n");
    c.expect(&ported::support::re::PONG);
}

port!("server/parser_test.go::TestParseConnect" => parse_connect);
fn parse_connect() {
    let mut c = dummy_client();
    let connect = b"CONNECT {\"verbose\":false,\"pedantic\":true,\"tls_required\":false}\r\n";
    expect_ok_state(&mut c, connect, ParseState::OpStart);
    // Go checks that the argument started at offset 8; here, that the argument handed on is
    // exactly the bytes from offset 8 to the CRLF.
    assert_eq!(
        c.ops,
        vec![ServerOp::Client(ClientOp::Connect(
            bytes::Bytes::copy_from_slice(&connect[8..connect.len() - 2])
        ))],
        "ArgStart state incorrect: 8"
    );
}

port!("server/parser_test.go::TestParseSub" => parse_sub);
fn parse_sub() {
    let mut c = dummy_client();
    let sub = b"SUB foo 1\r";
    expect_ok_state(&mut c, sub, ParseState::SubArg);
    // c.as == 4: the first 4 bytes were consumed and the argument starts at the front.
    assert_eq!(sub.len() - c.buf.len(), 4, "ArgStart state incorrect: 4");
    assert!(c.parser.arg_cr_seen(), "Drop state incorrect: 1");
    assert_eq!(&c.buf[..], &sub[4..], "Arg state incorrect");
    assert_eq!(&c.buf[..], b"foo 1\r", "Arg state incorrect");
}

port!("server/parser_test.go::TestParsePub" => parse_pub);
fn parse_pub() {
    let mut c = dummy_client();
    expect_ok_state(&mut c, b"PUB foo 5\r\nhello\r", ParseState::MsgEndN);
    let pa = c.parser.pending_msg().expect("pending pub args");
    assert_eq!(pa.subject(), b"foo", "Did not parse subject correctly");
    assert_eq!(pa.reply(), None, "Did not parse reply correctly");
    assert_eq!(pa.size(), 5, "Did not parse msg size correctly");

    // Clear snapshots
    let mut c = dummy_client();
    expect_ok_state(
        &mut c,
        b"PUB foo.bar INBOX.22 11\r\nhello world\r",
        ParseState::MsgEndN,
    );
    let pa = c.parser.pending_msg().expect("pending pub args");
    assert_eq!(pa.subject(), b"foo.bar", "Did not parse subject correctly");
    assert_eq!(
        pa.reply(),
        Some(&b"INBOX.22"[..]),
        "Did not parse reply correctly"
    );
    assert_eq!(pa.size(), 11, "Did not parse msg size correctly");

    // Clear snapshots
    let mut c = dummy_client();
    // This is the case when data has more bytes than expected by size.
    let r = c.parse(b"PUB foo.bar 11\r\nhello world hello world\r");
    assert!(
        r.is_err(),
        "Expected an error parsing longer than expected message body"
    );
    assert!(
        c.parser.pending_msg().is_none(),
        "Did not expect a c.msgBuf to be non-nil"
    );
    assert!(c.ops.is_empty());
}

port!("server/parser_test.go::TestParsePubSizeOverflow" => parse_pub_size_overflow);
fn parse_pub_size_overflow() {
    let mut c = dummy_client();
    let r =
        c.parse(b"PUB foo 3333333333333333333333333333333333333333333333333333333333333333\r\n");
    assert!(r.is_err(), "Expected an error");
}

port!("server/parser_test.go::TestParsePubArg" => parse_pub_arg);
fn parse_pub_arg() {
    let cases: &[(&str, &str, &str, usize, &str)] = &[
        ("a 2", "a", "", 2, "2"),
        ("a 222", "a", "", 222, "222"),
        ("foo 22", "foo", "", 22, "22"),
        (" foo 22", "foo", "", 22, "22"),
        ("foo 22 ", "foo", "", 22, "22"),
        ("foo   22", "foo", "", 22, "22"),
        (" foo 22 ", "foo", "", 22, "22"),
        (" foo   22 ", "foo", "", 22, "22"),
        ("foo bar 22", "foo", "bar", 22, "22"),
        (" foo bar 22", "foo", "bar", 22, "22"),
        ("foo bar 22 ", "foo", "bar", 22, "22"),
        ("foo  bar  22", "foo", "bar", 22, "22"),
        (" foo bar 22 ", "foo", "bar", 22, "22"),
        ("  foo   bar  22  ", "foo", "bar", 22, "22"),
        ("  foo   bar  2222  ", "foo", "bar", 2222, "2222"),
        ("  foo     2222  ", "foo", "", 2222, "2222"),
        ("a\t2", "a", "", 2, "2"),
        ("a\t222", "a", "", 222, "222"),
        ("foo\t22", "foo", "", 22, "22"),
        ("\tfoo\t22", "foo", "", 22, "22"),
        ("foo\t22\t", "foo", "", 22, "22"),
        ("foo\t\t\t22", "foo", "", 22, "22"),
        ("\tfoo\t22\t", "foo", "", 22, "22"),
        ("\tfoo\t\t\t22\t", "foo", "", 22, "22"),
        ("foo\tbar\t22", "foo", "bar", 22, "22"),
        ("\tfoo\tbar\t22", "foo", "bar", 22, "22"),
        ("foo\tbar\t22\t", "foo", "bar", 22, "22"),
        ("foo\t\tbar\t\t22", "foo", "bar", 22, "22"),
        ("\tfoo\tbar\t22\t", "foo", "bar", 22, "22"),
        ("\t \tfoo\t \t \tbar\t \t22\t \t", "foo", "bar", 22, "22"),
        ("\t\tfoo\t\t\tbar\t\t2222\t\t", "foo", "bar", 2222, "2222"),
        ("\t \tfoo\t \t \t\t\t2222\t \t", "foo", "", 2222, "2222"),
    ];
    for &(arg, subject, reply, size, szb) in cases {
        let a = arg.as_bytes();
        let pa = parse_pub_args(a, usize::MAX)
            .unwrap_or_else(|e| panic!("{arg:?}: Unexpected parse error: {e}"));
        assert_eq!(
            pa.subject(a),
            subject.as_bytes(),
            "{arg:?}: Mismatched subject"
        );
        assert_eq!(
            pa.reply(a).unwrap_or_default(),
            reply.as_bytes(),
            "{arg:?}: Mismatched reply subject"
        );
        assert_eq!(pa.size_text(a), szb.as_bytes(), "{arg:?}: Bad size buf");
        assert_eq!(pa.size, size, "{arg:?}: Bad size");
    }
}

port!("server/parser_test.go::TestParsePubBadSize" => parse_pub_bad_size);
fn parse_pub_bad_size() {
    // Setup localized max payload
    let r = parse_pub_args(b"foo 2222222222222222", 32768);
    assert!(r.is_err(), "Expected parse error for size too large");
}

port!("server/parser_test.go::TestParseLeafMsgBadSize" => parse_leaf_msg_bad_size);
fn parse_leaf_msg_bad_size() {
    let e = parse_msg_args(MsgForm::Leaf, b"foo 17", None, 16).expect_err("expected an error");
    assert_eq!(e.kind(), ProtocolErrorKind::MaxPayload, "{e}");
}

port!("server/parser_test.go::TestParseLeafHeaderMsgBadSize" => parse_leaf_header_msg_bad_size);
fn parse_leaf_header_msg_bad_size() {
    let e =
        parse_msg_args(MsgForm::LeafHeader, b"foo 4 17", None, 16).expect_err("expected an error");
    assert_eq!(e.kind(), ProtocolErrorKind::MaxPayload, "{e}");
}

port!("server/parser_test.go::TestParseHeaderPub" => parse_header_pub);
fn parse_header_pub() {
    let mut c = dummy_client_with_headers();
    expect_ok_state(
        &mut c,
        b"HPUB foo 12 17\r\nname:derek\r\nHELLO\r",
        ParseState::MsgEndN,
    );
    let pa = c.parser.pending_msg().expect("pending args");
    assert_eq!(pa.subject(), b"foo", "Did not parse subject correctly");
    assert_eq!(pa.reply(), None, "Did not parse reply correctly");
    assert_eq!(
        pa.header_len(),
        Some(12),
        "Did not parse msg header size correctly"
    );
    assert_eq!(pa.header_text(), Some(&b"12"[..]), "header size bytes");
    assert_eq!(pa.size(), 17, "Did not parse msg size correctly");

    // Clear snapshots
    let mut c = dummy_client_with_headers();
    expect_ok_state(
        &mut c,
        b"HPUB foo INBOX.22 12 17\r\nname:derek\r\nHELLO\r",
        ParseState::MsgEndN,
    );
    let pa = c.parser.pending_msg().expect("pending args");
    assert_eq!(pa.subject(), b"foo", "Did not parse subject correctly");
    assert_eq!(
        pa.reply(),
        Some(&b"INBOX.22"[..]),
        "Did not parse reply correctly"
    );
    assert_eq!(
        pa.header_len(),
        Some(12),
        "Did not parse msg header size correctly"
    );
    assert_eq!(pa.header_text(), Some(&b"12"[..]), "header size bytes");
    assert_eq!(pa.size(), 17, "Did not parse msg size correctly");

    // Clear snapshots
    let mut c = dummy_client_with_headers();
    expect_ok_state(
        &mut c,
        b"HPUB foo INBOX.22 0 5\r\nHELLO\r",
        ParseState::MsgEndN,
    );
    let pa = c.parser.pending_msg().expect("pending args");
    assert_eq!(pa.subject(), b"foo", "Did not parse subject correctly");
    assert_eq!(
        pa.reply(),
        Some(&b"INBOX.22"[..]),
        "Did not parse reply correctly"
    );
    assert_eq!(
        pa.header_len(),
        Some(0),
        "Did not parse msg header size correctly"
    );
    assert_eq!(pa.header_text(), Some(&b"0"[..]), "header size bytes");
    assert_eq!(pa.size(), 5, "Did not parse msg size correctly");
}

port!("server/parser_test.go::TestParseHeaderPubArg" => parse_header_pub_arg);
fn parse_header_pub_arg() {
    let cases: &[(&str, &str, &str, usize, usize, &str)] = &[
        ("a 2 4", "a", "", 2, 4, "4"),
        ("a 22 222", "a", "", 22, 222, "222"),
        ("foo 3 22", "foo", "", 3, 22, "22"),
        (" foo   1 22", "foo", "", 1, 22, "22"),
        ("foo 0   22 ", "foo", "", 0, 22, "22"),
        ("foo  0     22", "foo", "", 0, 22, "22"),
        (" foo 1 22 ", "foo", "", 1, 22, "22"),
        (" foo   3 22 ", "foo", "", 3, 22, "22"),
        ("foo bar 1 22", "foo", "bar", 1, 22, "22"),
        (" foo bar 11 22", "foo", "bar", 11, 22, "22"),
        ("foo bar 11 22 ", "foo", "bar", 11, 22, "22"),
        ("foo  bar  11  22", "foo", "bar", 11, 22, "22"),
        (" foo bar  11 22 ", "foo", "bar", 11, 22, "22"),
        ("  foo   bar  11   22  ", "foo", "bar", 11, 22, "22"),
        ("  foo   bar  22   2222  ", "foo", "bar", 22, 2222, "2222"),
        ("  foo 1    2222  ", "foo", "", 1, 2222, "2222"),
        ("a\t2\t22", "a", "", 2, 22, "22"),
        ("a\t2\t\t222", "a", "", 2, 222, "222"),
        ("foo\t2 22", "foo", "", 2, 22, "22"),
        ("\tfoo\t11\t  22", "foo", "", 11, 22, "22"),
        ("foo\t11\t22\t", "foo", "", 11, 22, "22"),
        ("foo\t\t\t11 22", "foo", "", 11, 22, "22"),
        ("\tfoo\t11\t \t 22\t", "foo", "", 11, 22, "22"),
        ("\tfoo\t\t\t11 22\t", "foo", "", 11, 22, "22"),
        ("foo\tbar\t2 22", "foo", "bar", 2, 22, "22"),
        ("\tfoo\tbar\t11\t22", "foo", "bar", 11, 22, "22"),
        ("foo\tbar\t11\t\t22\t ", "foo", "bar", 11, 22, "22"),
        ("foo\t\tbar\t\t11\t\t\t22", "foo", "bar", 11, 22, "22"),
        ("\tfoo\tbar\t11\t22\t", "foo", "bar", 11, 22, "22"),
        (
            "\t \tfoo\t \t \tbar\t \t11\t 22\t \t",
            "foo",
            "bar",
            11,
            22,
            "22",
        ),
        (
            "\t\tfoo\t\t\tbar\t\t22\t\t\t2222\t\t",
            "foo",
            "bar",
            22,
            2222,
            "2222",
        ),
        (
            "\t \tfoo\t \t \t\t\t11\t\t 2222\t \t",
            "foo",
            "",
            11,
            2222,
            "2222",
        ),
    ];
    for &(arg, subject, reply, hdr, size, szb) in cases {
        let a = arg.as_bytes();
        let pa = parse_hpub_args(a, usize::MAX)
            .unwrap_or_else(|e| panic!("{arg:?}: Unexpected parse error: {e}"));
        assert_eq!(
            pa.subject(a),
            subject.as_bytes(),
            "{arg:?}: Mismatched subject"
        );
        assert_eq!(
            pa.reply(a).unwrap_or_default(),
            reply.as_bytes(),
            "{arg:?}: Mismatched reply subject"
        );
        assert_eq!(pa.size_text(a), szb.as_bytes(), "{arg:?}: Bad size buf");
        assert_eq!(pa.header_len, Some(hdr), "{arg:?}: Bad header size");
        assert_eq!(pa.size, size, "{arg:?}: Bad size");
    }
}

/// Checks the pending routed message against Go's `c.pa` expectations.
fn check_routed(
    c: &Conn,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    hdr: Option<usize>,
    size: usize,
) {
    let pa = c.parser.pending_msg().expect("pending routed message");
    assert_eq!(
        pa.account(),
        Some(account),
        "Did not parse account correctly"
    );
    assert_eq!(pa.subject(), subject, "Did not parse subject correctly");
    assert_eq!(pa.reply(), reply, "Did not parse reply correctly");
    assert_eq!(pa.queues(), queues, "Did not parse queues correctly");
    assert_eq!(pa.header_len(), hdr, "Did not parse header size correctly");
    assert_eq!(pa.size(), size, "Did not parse msg size correctly");
}

port!("server/parser_test.go::TestParseRoutedHeaderMsg" => parse_routed_header_msg);
fn parse_routed_header_msg() {
    let mut c = dummy_route_client();
    assert!(
        c.parse(b"HMSG $foo foo 10 8\r\nXXXhello\r").is_err(),
        "Expected an error"
    );

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"HMSG $foo foo 3 8\r\nXXXhello\r",
        ParseState::MsgEndN,
    );
    check_routed(&c, b"$foo", b"foo", None, &[], Some(3), 8);

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"HMSG $G foo.bar INBOX.22 3 14\r\nOK:hello world\r",
        ParseState::MsgEndN,
    );
    check_routed(&c, b"$G", b"foo.bar", Some(b"INBOX.22"), &[], Some(3), 14);

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"HMSG $G foo.bar + reply baz 3 14\r\nOK:hello world\r",
        ParseState::MsgEndN,
    );
    check_routed(
        &c,
        b"$G",
        b"foo.bar",
        Some(b"reply"),
        &[b"baz"],
        Some(3),
        14,
    );

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"HMSG $G foo.bar | baz 3 14\r\nOK:hello world\r",
        ParseState::MsgEndN,
    );
    // Go compares the reply with "" (nil compares equal): no reply.
    check_routed(&c, b"$G", b"foo.bar", None, &[b"baz"], Some(3), 14);
}

port!("server/parser_test.go::TestParseRouteMsg" => parse_route_msg);
fn parse_route_msg() {
    let mut c = dummy_route_client();
    assert!(
        c.parse(b"MSG $foo foo 5\r\nhello\r").is_err(),
        "Expected an error, got none"
    );
    expect_ok_state(&mut c, b"RMSG $foo foo 5\r\nhello\r", ParseState::MsgEndN);
    check_routed(&c, b"$foo", b"foo", None, &[], None, 5);

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"RMSG $G foo.bar INBOX.22 11\r\nhello world\r",
        ParseState::MsgEndN,
    );
    check_routed(&c, b"$G", b"foo.bar", Some(b"INBOX.22"), &[], None, 11);

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"RMSG $G foo.bar + reply baz 11\r\nhello world\r",
        ParseState::MsgEndN,
    );
    check_routed(&c, b"$G", b"foo.bar", Some(b"reply"), &[b"baz"], None, 11);

    // Clear snapshots
    let mut c = dummy_route_client();
    expect_ok_state(
        &mut c,
        b"RMSG $G foo.bar | baz 11\r\nhello world\r",
        ParseState::MsgEndN,
    );
    check_routed(&c, b"$G", b"foo.bar", None, &[b"baz"], None, 11);
}

port!("server/parser_test.go::TestParseMsgSpace" => parse_msg_space);
fn parse_msg_space() {
    let mut c = dummy_route_client();
    // Ivan bug he found
    assert!(
        c.parse(b"MSG \r\n").is_err(),
        "Expected parse error for MSG <SPC>"
    );

    let mut c = dummy_client();
    // Anything with an M from a client should parse error
    assert!(
        c.parse(b"M").is_err(),
        "Expected parse error for M* from a client"
    );
}

/// The parser half of `TestParsePingNoAuthUserExceptionsAndRestrictions`: before CONNECT,
/// a PING from a leafnode, route or gateway fails authentication, and one from a client is
/// handed to the connection layer, which lets it through when `no_auth_user` is set. The
/// Go test also checks the server-side outcome (`connectReceived`), which needs a server
/// with users.
#[allow(dead_code)]
fn parse_ping_no_auth_user_parser_part() {
    for kind in [
        ConnKind::Leaf,
        ConnKind::Router,
        ConnKind::Gateway,
        ConnKind::Client,
    ] {
        let mut c = Conn::new(kind, ParserConfig::default());
        c.parser.set_awaiting_connect(true);
        let e = c.parse(b"PING\r\n").expect_err("must fail before CONNECT");
        assert_eq!(e.kind(), ProtocolErrorKind::AuthRequired);
    }
}
stub!("server/parser_test.go::TestParsePingNoAuthUserExceptionsAndRestrictions");
stub!("server/parser_test.go::TestParsePingNoAuthUserEnforcesUserRestrictions");

port!("server/parser_test.go::TestParsePingAllowedAfterConnectForNonClients" => parse_ping_allowed_after_connect_for_non_clients);
fn parse_ping_allowed_after_connect_for_non_clients() {
    for kind in [ConnKind::Leaf, ConnKind::Router, ConnKind::Gateway] {
        let mut c = Conn::new(kind, ParserConfig::default());
        // CONNECT was received: nothing awaits authentication.
        c.parser.set_awaiting_connect(false);
        c.parse(b"PING\r\n")
            .unwrap_or_else(|e| panic!("{kind:?}: unexpected error {e}"));
        assert_eq!(c.state(), ParseState::OpStart, "{kind:?}");
        assert_eq!(c.ops, vec![ServerOp::Client(ClientOp::Ping)], "{kind:?}");
    }
}

/// `TestShouldFail`. Every proto but `CONNECT \r\n` and `INFO  \r\n` fails in the parser;
/// those two fail when their (empty) JSON is decoded, which natsd does in the connection
/// layer, so they are sent to a live server, which must close the connection with nothing
/// sent back, as nats-server does.
fn should_fail() {
    should_fail_parser_part();
    let s = ported::support::run_default_server();
    let mut c = ported::support::RawConn::connect(s.addr);
    c.check_info();
    c.send("CONNECT \r\n");
    c.expect_eof();
    let mut c = ported::support::RawConn::setup(s.addr);
    c.send("PING\r\n");
    c.expect(&ported::support::re::PONG);
    c.send("INFO  \r\n");
    c.expect_eof();
}

fn should_fail_parser_part() {
    let wrong_protos: &[&str] = &[
        "xxx",
        "Px",
        "PIx",
        "PINx",
        " PING",
        "POx",
        "PONx",
        "+x",
        "+Ox",
        "-x",
        "-Ex",
        "-ERx",
        "-ERRx",
        "Cx",
        "COx",
        "CONx",
        "CONNx",
        "CONNEx",
        "CONNECx",
        "CONNECx",
        "PUx",
        "PUB foo\r\n",
        "PUB  \r\n",
        "PUB foo bar       \r\n",
        "PUB foo 2\r\nok \r\n",
        "PUB foo 2\r\nok\r \n",
        "Sx",
        "SUx",
        "SUB\r\n",
        "SUB  \r\n",
        "SUB foo\r\n",
        "SUB foo bar baz 22\r\n",
        "Ux",
        "UNx",
        "UNSx",
        "UNSUx",
        "UNSUBx",
        "UNSUBUNSUB 1\r\n",
        "UNSUB_2\r\n",
        "UNSUB_UNSUB_UNSUB 2\r\n",
        "UNSUB_\t2\r\n",
        "UNSUB\r\n",
        "UNSUB \r\n",
        "UNSUB          \t       \r\n",
        "Ix",
        "INx",
        "INFx",
    ];
    for proto in wrong_protos {
        let mut c = dummy_client();
        assert!(
            c.parse(proto.as_bytes()).is_err(),
            "Should have received a parse error for: {proto:?}"
        );
    }
    // Special case for MSG, type needs to not be client.
    for proto in ["Mx", "MSx", "MSGx", "MSG  \r\n"] {
        let mut c = Conn::new(ConnKind::Router, ParserConfig::default());
        assert!(
            c.parse(proto.as_bytes()).is_err(),
            "Should have received a parse error for: {proto:?}"
        );
    }
}
port!("server/parser_test.go::TestShouldFail" => should_fail);

port!("server/parser_test.go::TestProtoSnippet" => proto_snippet_test);
fn proto_snippet_test() {
    let sample = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let tests: &[(usize, &str)] = &[
        (0, r#""abcdefghijklmnopqrstuvwxyzABCDEF""#),
        (1, r#""bcdefghijklmnopqrstuvwxyzABCDEFG""#),
        (2, r#""cdefghijklmnopqrstuvwxyzABCDEFGH""#),
        (3, r#""defghijklmnopqrstuvwxyzABCDEFGHI""#),
        (4, r#""efghijklmnopqrstuvwxyzABCDEFGHIJ""#),
        (5, r#""fghijklmnopqrstuvwxyzABCDEFGHIJK""#),
        (6, r#""ghijklmnopqrstuvwxyzABCDEFGHIJKL""#),
        (7, r#""hijklmnopqrstuvwxyzABCDEFGHIJKLM""#),
        (8, r#""ijklmnopqrstuvwxyzABCDEFGHIJKLMN""#),
        (9, r#""jklmnopqrstuvwxyzABCDEFGHIJKLMNO""#),
        (10, r#""klmnopqrstuvwxyzABCDEFGHIJKLMNOP""#),
        (11, r#""lmnopqrstuvwxyzABCDEFGHIJKLMNOPQ""#),
        (12, r#""mnopqrstuvwxyzABCDEFGHIJKLMNOPQR""#),
        (13, r#""nopqrstuvwxyzABCDEFGHIJKLMNOPQRS""#),
        (14, r#""opqrstuvwxyzABCDEFGHIJKLMNOPQRST""#),
        (15, r#""pqrstuvwxyzABCDEFGHIJKLMNOPQRSTU""#),
        (16, r#""qrstuvwxyzABCDEFGHIJKLMNOPQRSTUV""#),
        (17, r#""rstuvwxyzABCDEFGHIJKLMNOPQRSTUVW""#),
        (18, r#""stuvwxyzABCDEFGHIJKLMNOPQRSTUVWX""#),
        (19, r#""tuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (20, r#""uvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ""#),
        (21, r#""vwxyzABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (22, r#""wxyzABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (23, r#""xyzABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (24, r#""yzABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (25, r#""zABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (26, r#""ABCDEFGHIJKLMNOPQRSTUVWXY""#),
        (27, r#""BCDEFGHIJKLMNOPQRSTUVWXY""#),
        (28, r#""CDEFGHIJKLMNOPQRSTUVWXY""#),
        (29, r#""DEFGHIJKLMNOPQRSTUVWXY""#),
        (30, r#""EFGHIJKLMNOPQRSTUVWXY""#),
        (31, r#""FGHIJKLMNOPQRSTUVWXY""#),
        (32, r#""GHIJKLMNOPQRSTUVWXY""#),
        (33, r#""HIJKLMNOPQRSTUVWXY""#),
        (34, r#""IJKLMNOPQRSTUVWXY""#),
        (35, r#""JKLMNOPQRSTUVWXY""#),
        (36, r#""KLMNOPQRSTUVWXY""#),
        (37, r#""LMNOPQRSTUVWXY""#),
        (38, r#""MNOPQRSTUVWXY""#),
        (39, r#""NOPQRSTUVWXY""#),
        (40, r#""OPQRSTUVWXY""#),
        (41, r#""PQRSTUVWXY""#),
        (42, r#""QRSTUVWXY""#),
        (43, r#""RSTUVWXY""#),
        (44, r#""STUVWXY""#),
        (45, r#""TUVWXY""#),
        (46, r#""UVWXY""#),
        (47, r#""VWXY""#),
        (48, r#""WXY""#),
        (49, r#""XY""#),
        (50, r#""Y""#),
        (51, r#""""#),
        (52, r#""""#),
        (53, r#""""#),
        (54, r#""""#),
    ];
    for &(input, expected) in tests {
        let got = proto_snippet(input, PROTO_SNIPPET_SIZE, sample);
        assert_eq!(
            got, expected,
            "Expected protocol snippet to be {expected} when start={input} but got {got}"
        );
    }
}

port!("server/parser_test.go::TestParseOK" => parse_ok);
fn parse_ok() {
    let mut c = dummy_client();
    assert_eq!(c.state(), ParseState::OpStart, "Expected OP_START");
    let ok = b"+OK\r\n";
    expect_ok_state(&mut c, &ok[..1], ParseState::OpPlus);
    expect_ok_state(&mut c, &ok[1..2], ParseState::OpPlusO);
    expect_ok_state(&mut c, &ok[2..3], ParseState::OpPlusOk);
    expect_ok_state(&mut c, &ok[3..4], ParseState::OpPlusOk);
    expect_ok_state(&mut c, &ok[4..5], ParseState::OpStart);
    assert_eq!(c.ops, vec![ServerOp::Client(ClientOp::Ok)]);
}

port!("server/parser_test.go::TestMaxControlLine" => max_control_line);
fn max_control_line() {
    let pub_proto = b"PUB foo.bar.baz 2\r\nok\r\n";
    for (name, kind, should_fail) in [
        ("client", ConnKind::Client, true),
        ("leaf", ConnKind::Leaf, false),
        ("route", ConnKind::Router, false),
        ("gateway", ConnKind::Gateway, false),
    ] {
        // CONNECT was received; max control line of 8.
        let setup = || {
            Conn::new(
                kind,
                ParserConfig {
                    max_control_line: 8,
                    max_payload: usize::MAX,
                    headers: false,
                },
            )
        };
        let check = |r: Result<(), ProtocolError>| match should_fail {
            true => assert_eq!(
                r.map_err(|e| e.kind()),
                Err(ProtocolErrorKind::MaxControlLine),
                "{name}: Expected an error parsing longer than expected control line"
            ),
            false => assert!(r.is_ok(), "{name}: Should not have failed, got {r:?}"),
        };
        // First try with a partial:
        // PUB foo.bar.baz 2\r\nok\r\n
        // .............^
        let mut c = setup();
        check(c.parse(&pub_proto[..14]));
        // Now with full protocol (no split) and we should still enforce.
        let mut c = setup();
        check(c.parse(pub_proto));
    }
}

port!("server/parser_test.go::TestMaxControlLineNonClientUpperBound" => max_control_line_non_client_upper_bound);
fn max_control_line_non_client_upper_bound() {
    for (name, kind) in [
        ("leaf", ConnKind::Leaf),
        ("route", ConnKind::Router),
        ("gateway", ConnKind::Gateway),
    ] {
        for off in [-1i64, 0, 1] {
            // mcl is the CLIENT default; non-CLIENT uses 16 times that instead.
            let default_max_control_line_size = MAX_CONTROL_LINE_SIZE * 16;
            let len = (default_max_control_line_size as i64 + off) as usize;
            let subject = vec![b'x'; len];
            let mut chunk1 = b"PUB ".to_vec();
            chunk1.extend_from_slice(&subject[..default_max_control_line_size / 2]);
            let chunk2 = &subject[default_max_control_line_size / 2..];

            let mut c = Conn::new(
                kind,
                ParserConfig {
                    max_control_line: MAX_CONTROL_LINE_SIZE,
                    max_payload: usize::MAX,
                    headers: false,
                },
            );
            // First chunk: no error expected yet.
            if let Err(e) = c.parse(&chunk1) {
                panic!("{name}/{off}: unexpected error on first chunk: {e}");
            }
            // Second chunk pushes the pending argument over max control line.
            let r = c.parse(chunk2);
            if off <= 0 {
                assert!(
                    r.is_ok(),
                    "{name}/{off}: unexpected error on second chunk: {r:?}"
                );
            } else {
                assert_eq!(
                    r.map_err(|e| e.kind()),
                    Err(ProtocolErrorKind::MaxControlLine),
                    "{name}/{off}: expected ErrMaxControlLine after oversized accumulation"
                );
            }
        }
    }
}
