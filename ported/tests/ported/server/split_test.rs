//! Ports of `server/split_test.go`.
//!
//! nats-server's tests feed `c.parse` pieces of one operation and read `c.state`,
//! `c.argBuf`, `c.msgBuf` and `c.pa` in between. natsd's parser consumes a caller-owned
//! `BytesMut` from the front and leaves a partial control line in it, so the same facts
//! read as: `Parser::state()` for `c.state`; the bytes still in the buffer while in an
//! `*Arg` state for `c.argBuf` (empty buffer = no dangling `argBuf`); the payload bytes
//! still in the buffer while a message is pending for `c.msgBuf`; and
//! `Parser::pending_msg()` for `c.pa` (and for the saved arguments Go keeps in `argBuf`
//! while the payload arrives). Where Go checks the server's sublist after a split `SUB` or
//! `UNSUB`, the port additionally sends the same pieces over TCP to a running natsd, checks
//! its sublist and that a message is (or is not) delivered.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use bytes::BytesMut;
use natsd::protocol::parser::{
    ConnKind, ParseState, Parser, ParserConfig, ProtocolError, RoutedMsg, ServerOp,
    MAX_CONTROL_LINE_SIZE,
};
use natsd::protocol::ClientOp;
use ported::port;
use ported::support::{check_msg, run_default_server, RawConn};
use std::time::Duration;

/// A connection's parser and its read buffer; each `parse` appends like one network read.
struct Conn {
    parser: Parser,
    buf: BytesMut,
    ops: Vec<ServerOp>,
}

impl Conn {
    /// Go's `&client{mcl: 1024, mpay: -1, kind: kind}`.
    fn new(kind: ConnKind, max_control_line: usize) -> Self {
        Conn {
            parser: Parser::with_kind(
                kind,
                ParserConfig {
                    max_control_line,
                    max_payload: usize::MAX,
                    headers: false,
                },
            ),
            buf: BytesMut::new(),
            ops: Vec::new(),
        }
    }

    fn client() -> Self {
        Conn::new(ConnKind::Client, 1024)
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        self.buf.extend_from_slice(bytes);
        loop {
            // A client connection goes through `parse`, as natsd's reader does.
            let op = if self.parser.kind() == ConnKind::Client {
                self.parser.parse(&mut self.buf)?.map(ServerOp::Client)
            } else {
                self.parser.parse_server_op(&mut self.buf)?
            };
            match op {
                Some(op) => self.ops.push(op),
                None => return Ok(()),
            }
        }
    }

    fn parse_ok(&mut self, bytes: &[u8]) {
        if let Err(e) = self.parse(bytes) {
            panic!("Unexpected parse error: {e}");
        }
    }

    fn expect_state(&self, want: ParseState) {
        assert_eq!(
            self.parser.state(),
            want,
            "Expected {want:?} state vs {:?}",
            self.parser.state()
        );
    }

    /// Go's `c.argBuf == nil` after a split: no partial control line is left over.
    fn expect_no_arg_buf(&self) {
        assert!(
            self.buf.is_empty() && self.parser.pending_msg().is_none(),
            "Expected c.argBuf to be nil: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }
}

/// Sends `pieces` as separate writes, pausing between them so the server reads each apart.
fn send_split(c: &mut RawConn, pieces: &[&[u8]]) {
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        c.send_bytes(p);
    }
}

port!("server/split_test.go::TestSplitBufferSubOp" => split_buffer_sub_op);
fn split_buffer_sub_op() {
    let subop = b"SUB foo 1\r\n";
    let (subop1, subop2) = subop.split_at(6);

    let mut c = Conn::client();
    c.parse_ok(subop1);
    c.expect_state(ParseState::SubArg);
    c.parse_ok(subop2);
    c.expect_state(ParseState::OpStart);
    match c.ops.as_slice() {
        [ServerOp::Client(ClientOp::Sub {
            subject,
            queue,
            sid,
        })] => {
            assert_eq!(&subject[..], b"foo", "Subject did not match expected 'foo'");
            assert_eq!(&sid[..], b"1", "Sid did not match expected '1'");
            assert!(queue.is_none(), "Received a non-nil queue: {queue:?}");
        }
        ops => panic!("Did not parse one SUB: {ops:?}"),
    }

    // The same split on a live connection registers the subscription.
    let srv = run_default_server();
    let mut nc = RawConn::setup(srv.addr);
    send_split(&mut nc, &[subop1, subop2]);
    nc.send("PING\r\n");
    nc.expect(&ported::support::re::PONG);
    let r = srv.shared().global_account().sublist.match_subject("foo");
    assert_eq!(
        r.psubs.len(),
        1,
        "Did not match subscription properly: {:?}",
        r.psubs.len()
    );
    let sub = &r.psubs[0];
    assert_eq!(
        &sub.subject[..],
        b"foo",
        "Subject did not match expected 'foo'"
    );
    assert_eq!(&sub.sid[..], b"1", "Sid did not match expected '1'");
    assert!(sub.queue.is_none(), "Received a non-nil queue");
    nc.send("PUB foo 2\r\nok\r\n");
    let msgs = nc.expect_msgs(1);
    check_msg(&msgs[0], "foo", "1", "", "2", "ok");
}

port!("server/split_test.go::TestSplitBufferUnsubOp" => split_buffer_unsub_op);
fn split_buffer_unsub_op() {
    let mut c = Conn::client();
    c.parse_ok(b"SUB foo 1024\r\n");
    c.expect_state(ParseState::OpStart);

    let unsubop = b"UNSUB 1024\r\n";
    let (unsubop1, unsubop2) = unsubop.split_at(8);
    c.parse_ok(unsubop1);
    c.expect_state(ParseState::UnsubArg);
    c.parse_ok(unsubop2);
    c.expect_state(ParseState::OpStart);
    match c.ops.as_slice() {
        [ServerOp::Client(ClientOp::Sub { sid: s1, .. }), ServerOp::Client(ClientOp::Unsub { sid, max })] =>
        {
            assert_eq!(&s1[..], b"1024");
            assert_eq!(&sid[..], b"1024", "UNSUB sid");
            assert_eq!(*max, None, "UNSUB max");
        }
        ops => panic!("Did not parse SUB then UNSUB: {ops:?}"),
    }

    // On a live connection the split UNSUB removes the subscription.
    let srv = run_default_server();
    let mut nc = RawConn::setup(srv.addr);
    nc.send("SUB foo 1024\r\nPING\r\n");
    nc.expect(&ported::support::re::PONG);
    assert_eq!(
        srv.shared()
            .global_account()
            .sublist
            .match_subject("foo")
            .psubs
            .len(),
        1
    );
    send_split(&mut nc, &[unsubop1, unsubop2]);
    nc.send("PING\r\n");
    nc.expect(&ported::support::re::PONG);
    let r = srv.shared().global_account().sublist.match_subject("foo");
    assert!(
        r.psubs.is_empty(),
        "Should be no subscriptions in results: {}",
        r.psubs.len()
    );
    nc.send("PUB foo 2\r\nok\r\nPING\r\n");
    nc.expect(&ported::support::re::PONG);
    nc.expect_nothing();
}

port!("server/split_test.go::TestSplitBufferPubOp" => split_buffer_pub_op);
fn split_buffer_pub_op() {
    let mut c = Conn::client();
    let pub_ = b"PUB foo.bar INBOX.22 11\r\nhello world\r";
    c.parse_ok(&pub_[..2]);
    c.expect_state(ParseState::OpPu);
    c.parse_ok(&pub_[2..9]);
    c.expect_state(ParseState::PubArg);
    c.parse_ok(&pub_[9..15]);
    c.expect_state(ParseState::PubArg);
    c.parse_ok(&pub_[15..22]);
    c.expect_state(ParseState::PubArg);
    c.parse_ok(&pub_[22..25]);
    c.expect_state(ParseState::MsgPayload);

    // Check c.pa
    let pa = c.parser.pending_msg().expect("pending PUB arguments");
    assert_eq!(pa.subject(), b"foo.bar", "PUB arg subject incorrect");
    assert_eq!(
        pa.reply(),
        Some(&b"INBOX.22"[..]),
        "PUB arg reply subject incorrect"
    );
    assert_eq!(pa.size(), 11, "PUB arg msg size incorrect");
    c.parse_ok(&pub_[25..33]);
    c.expect_state(ParseState::MsgPayload);
    c.parse_ok(&pub_[33..]);
    c.expect_state(ParseState::MsgEndN);
    assert!(c.ops.is_empty(), "no op before the final LF");

    // The same pieces over TCP deliver the message whole.
    let srv = run_default_server();
    let mut nc = RawConn::setup(srv.addr);
    nc.send("SUB foo.bar 1\r\nPING\r\n");
    nc.expect(&ported::support::re::PONG);
    let whole = b"PUB foo.bar INBOX.22 11\r\nhello world\r\n";
    send_split(
        &mut nc,
        &[
            &whole[..2],
            &whole[2..9],
            &whole[9..15],
            &whole[15..22],
            &whole[22..25],
            &whole[25..33],
            &whole[33..],
        ],
    );
    let msgs = nc.expect_msgs(1);
    check_msg(&msgs[0], "foo.bar", "1", "INBOX.22", "11", "hello world");
}

port!("server/split_test.go::TestSplitBufferPubOp2" => split_buffer_pub_op2);
fn split_buffer_pub_op2() {
    let mut c = Conn::client();
    let pub_ = b"PUB foo.bar INBOX.22 11\r\nhello world\r\n";
    c.parse_ok(&pub_[..30]);
    c.expect_state(ParseState::MsgPayload);
    c.parse_ok(&pub_[30..]);
    c.expect_state(ParseState::OpStart);
    match c.ops.as_slice() {
        [ServerOp::Client(ClientOp::Pub(m))] => {
            assert_eq!(&m.subject[..], b"foo.bar");
            assert_eq!(m.reply.as_deref(), Some(&b"INBOX.22"[..]));
            assert_eq!(&m.payload[..], b"hello world");
        }
        ops => panic!("Did not parse one PUB: {ops:?}"),
    }
}

port!("server/split_test.go::TestSplitBufferPubOp3" => split_buffer_pub_op3);
fn split_buffer_pub_op3() {
    let mut c = Conn::client();
    let mut pub_all = *b"PUB foo bar 11\r\nhello world\r\n";
    c.parse_ok(&pub_all[..16]);
    let pa = c.parser.pending_msg().expect("pending PUB arguments");
    assert_eq!(pa.subject(), b"foo", "Unexpected subject");

    // The next network read reuses the read buffer: the saved arguments must survive it.
    pub_all[..16].copy_from_slice(b"XXXXXXXXXXXXXXXX");
    c.buf.iter_mut().for_each(|b| *b = b'X');
    let pa = c.parser.pending_msg().expect("pending PUB arguments");
    assert_eq!(pa.subject(), b"foo", "Unexpected subject");
    assert_eq!(pa.reply(), Some(&b"bar"[..]), "Unexpected reply");
    assert_eq!(pa.size_text(), Some(&b"11"[..]), "Unexpected size bytes");
}

port!("server/split_test.go::TestSplitBufferPubOp4" => split_buffer_pub_op4);
fn split_buffer_pub_op4() {
    let mut c = Conn::client();
    let mut pub_all = *b"PUB foo 11\r\nhello world\r\n";
    c.parse_ok(&pub_all[..12]);
    let pa = c.parser.pending_msg().expect("pending PUB arguments");
    assert_eq!(pa.subject(), b"foo", "Unexpected subject");

    pub_all[..12].copy_from_slice(b"XXXXXXXXXXXX");
    c.buf.iter_mut().for_each(|b| *b = b'X');
    let pa = c.parser.pending_msg().expect("pending PUB arguments");
    assert_eq!(pa.subject(), b"foo", "Unexpected subject");
    assert_eq!(pa.reply().unwrap_or_default(), b"", "Unexpected reply");
    assert_eq!(pa.size_text(), Some(&b"11"[..]), "Unexpected size bytes");
}

port!("server/split_test.go::TestSplitBufferPubOp5" => split_buffer_pub_op5);
fn split_buffer_pub_op5() {
    let mut c = Conn::client();
    let pub_all = b"PUB foo 11\r\nhello world\r\n";
    // Split between the payload's \r and \n.
    c.parse_ok(&pub_all[..pub_all.len() - 1]);
    assert!(
        c.parser.pending_msg().is_some(),
        "msgBuf should not be nil!"
    );
    assert_eq!(
        &c.buf[..],
        b"hello world\r",
        "c.msgBuf did not snaphot the msg"
    );
}

port!("server/split_test.go::TestSplitConnectArg" => split_connect_arg);
fn split_connect_arg() {
    let mut c = Conn::client();
    let connect_all: &[u8] = b"CONNECT {\"verbose\":false,\"tls_required\":false,\"user\":\"test\",\"pedantic\":true,\"pass\":\"pass\"}\r\n";
    let arg_json = &connect_all[8..];
    let n = connect_all.len();

    c.parse_ok(&connect_all[..5]);
    assert!(c.buf.is_empty(), "Unexpected argBuf placeholder.");

    c.parse_ok(&connect_all[5..22]);
    assert!(!c.buf.is_empty(), "Expected argBuf to not be nil.");
    assert_eq!(
        &c.buf[..],
        &arg_json[..14],
        "argBuf not correct, received {:?}",
        String::from_utf8_lossy(&c.buf)
    );

    c.parse_ok(&connect_all[22..n - 2]);
    assert!(!c.buf.is_empty(), "Expected argBuf to not be nil.");
    assert_eq!(
        &c.buf[..],
        &arg_json[..arg_json.len() - 2],
        "argBuf not correct, received {:?}",
        String::from_utf8_lossy(&c.buf)
    );

    c.parse_ok(&connect_all[n - 2..]);
    assert!(c.buf.is_empty(), "Unexpected argBuf placeholder.");
    match c.ops.as_slice() {
        [ServerOp::Client(ClientOp::Connect(json))] => {
            assert_eq!(&json[..], &arg_json[..arg_json.len() - 2])
        }
        ops => panic!("Did not parse one CONNECT: {ops:?}"),
    }
}

port!("server/split_test.go::TestSplitDanglingArgBuf" => split_dangling_arg_buf);
fn split_dangling_arg_buf() {
    let mut c = Conn::client();

    // SUB
    let subop = b"SUB foo 1\r\n";
    c.parse_ok(&subop[..6]);
    c.parse_ok(&subop[6..]);
    c.expect_no_arg_buf();

    // UNSUB
    let unsubop = b"UNSUB 1024\r\n";
    c.parse_ok(&unsubop[..8]);
    c.parse_ok(&unsubop[8..]);
    c.expect_no_arg_buf();

    // PUB
    let pubop = b"PUB foo.bar INBOX.22 11\r\nhello world\r\n";
    c.parse_ok(&pubop[..22]);
    c.parse_ok(&pubop[22..25]);
    assert!(
        c.parser.pending_msg().is_some(),
        "Expected a non-nil argBuf!"
    );
    c.parse_ok(&pubop[25..]);
    c.expect_no_arg_buf();

    // MINUS_ERR
    let errop = b"-ERR Too Long\r\n";
    c.parse_ok(&errop[..8]);
    c.parse_ok(&errop[8..]);
    c.expect_no_arg_buf();

    // CONNECT_ARG
    let connop: &[u8] = b"CONNECT {\"verbose\":false,\"tls_required\":false,\"user\":\"test\",\"pedantic\":true,\"pass\":\"pass\"}\r\n";
    c.parse_ok(&connop[..22]);
    c.parse_ok(&connop[22..]);
    c.expect_no_arg_buf();

    // INFO_ARG
    let infoop = b"INFO {\"server_id\":\"id\"}\r\n";
    c.parse_ok(&infoop[..8]);
    c.parse_ok(&infoop[8..]);
    c.expect_no_arg_buf();
    assert_eq!(c.ops.len(), 6, "every operation was parsed: {:?}", c.ops);

    // RMSG (the connection has to be a route)
    let mut c = Conn::new(ConnKind::Router, MAX_CONTROL_LINE_SIZE);
    let msgop = b"RMSG $foo foo 5\r\nhello\r\n";
    c.parse_ok(&msgop[..5]);
    c.parse_ok(&msgop[5..10]);
    assert!(!c.buf.is_empty(), "Expected a non-nil argBuf");
    assert_eq!(
        &c.buf[..],
        b"$foo ",
        "Expected argBuf to be \"$foo \", got {:?}",
        String::from_utf8_lossy(&c.buf)
    );
    c.parse_ok(&msgop[10..]);
    c.expect_no_arg_buf();

    // Parse up to the middle of the payload: the RMSG arguments are kept.
    let mut c = Conn::new(ConnKind::Router, MAX_CONTROL_LINE_SIZE);
    c.parse_ok(&msgop[..23]);
    let pa = c.parser.pending_msg().expect("Expected a non-nil argBuf");
    assert_eq!(
        pa.account(),
        Some(&b"$foo"[..]),
        "Expected account \"$foo\""
    );
    assert_eq!(pa.subject(), b"foo", "Expected subject \"foo\"");
    assert_eq!(pa.reply().unwrap_or_default(), b"", "Expected reply \"\"");
    assert_eq!(pa.size(), 5, "Expected size 5");
    assert_eq!(
        &c.buf[..],
        b"hello\r",
        "Expected msgBuf to be \"hello\\r\", got {:?}",
        String::from_utf8_lossy(&c.buf)
    );
    c.parse_ok(&msgop[23..]);
    // At the end both the arguments and the payload are cleaned up.
    c.expect_no_arg_buf();
    match c.ops.as_slice() {
        [ServerOp::Msg(RoutedMsg {
            account, payload, ..
        })] => {
            assert_eq!(account.as_deref(), Some(&b"$foo"[..]));
            assert_eq!(&payload[..], b"hello");
        }
        ops => panic!("Did not parse one RMSG: {ops:?}"),
    }
}

port!("server/split_test.go::TestSplitRoutedMsgArg" => split_routed_msg_arg);
fn split_routed_msg_arg() {
    // Go's setupClient() with the client turned into a route.
    let mut c = Conn::new(ConnKind::Router, MAX_CONTROL_LINE_SIZE);
    let mut b = [0u8; 1024];

    let first = b"RMSG $G hello.world 6040\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    b[..first.len()].copy_from_slice(first);
    let _ = c.parse(&b);

    let second = b"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\r\n";
    b[..second.len()].copy_from_slice(second);
    let _ = c.parse(&b);

    let pa = c.parser.pending_msg().expect("RMSG arguments kept");
    assert_eq!(pa.account(), Some(&b"$G"[..]), "Incorrect account");
    assert_eq!(pa.subject(), b"hello.world", "Incorrect subject");
    assert_eq!(pa.size(), 6040, "Incorrect szb");
}

port!("server/split_test.go::TestSplitBufferMsgOp" => split_buffer_msg_op);
fn split_buffer_msg_op() {
    let mut c = Conn::new(ConnKind::Router, 1024);
    let msg = b"RMSG $G foo.bar _INBOX.22 11\r\nhello world\r";
    c.parse_ok(&msg[..2]);
    c.expect_state(ParseState::OpM);
    c.parse_ok(&msg[2..9]);
    c.expect_state(ParseState::MsgArg);
    c.parse_ok(&msg[9..15]);
    c.expect_state(ParseState::MsgArg);
    c.parse_ok(&msg[15..22]);
    c.expect_state(ParseState::MsgArg);
    c.parse_ok(&msg[22..25]);
    c.expect_state(ParseState::MsgArg);
    c.parse_ok(&msg[25..37]);
    c.expect_state(ParseState::MsgPayload);

    // Check c.pa
    let pa = c.parser.pending_msg().expect("pending RMSG arguments");
    assert_eq!(pa.subject(), b"foo.bar", "MSG arg subject incorrect");
    assert_eq!(
        pa.reply(),
        Some(&b"_INBOX.22"[..]),
        "MSG arg reply subject incorrect"
    );
    assert_eq!(pa.size(), 11, "MSG arg msg size incorrect");
    c.parse_ok(&msg[37..40]);
    c.expect_state(ParseState::MsgPayload);
    c.parse_ok(&msg[40..]);
    c.expect_state(ParseState::MsgEndN);
}

port!("server/split_test.go::TestSplitBufferLeafMsgArg" => split_buffer_leaf_msg_arg);
fn split_buffer_leaf_msg_arg() {
    let mut c = Conn::new(ConnKind::Leaf, 1024);
    c.parse_ok(b"LMSG foo + bar baz 11\r\n");
    c.expect_state(ParseState::MsgPayload);
    let check_pa = |c: &Conn| {
        let pa = c.parser.pending_msg().expect("pending LMSG arguments");
        assert_eq!(pa.subject(), b"foo", "Expected subject to be \"foo\"");
        assert_eq!(
            pa.reply(),
            Some(&b"bar"[..]),
            "Expected reply to be \"bar\""
        );
        let queues = pa.queues();
        assert_eq!(queues.len(), 1, "Expected 1 queue, got {}", queues.len());
        assert_eq!(queues[0], b"baz", "Expected queues to be \"baz\"");
    };
    check_pa(&c);

    // The payload arrives in the next read.
    c.parse_ok(b"fffffffffff");
    c.expect_state(ParseState::MsgEndR);
    check_pa(&c);

    // Finish processing
    c.parse_ok(b"\r\n");
    c.expect_state(ParseState::OpStart);
    assert!(
        c.parser.pending_msg().is_none() && c.buf.is_empty(),
        "parser state not cleaned-up properly"
    );
    match c.ops.as_slice() {
        [ServerOp::Msg(m)] => {
            assert_eq!(&m.subject[..], b"foo");
            assert_eq!(m.reply.as_deref(), Some(&b"bar"[..]));
            assert_eq!(m.queues, vec![bytes::Bytes::from_static(b"baz")]);
            assert_eq!(&m.payload[..], b"fffffffffff");
        }
        ops => panic!("Did not parse one LMSG: {ops:?}"),
    }
}
