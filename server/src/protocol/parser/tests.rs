use super::*;
use crate::closed::ClosedState;

/// What feeding a stream produced: the operations, then the error that stopped it (if any)
/// as (kind, client text), and the state left at the end.
type Outcome = (
    Vec<ServerOp>,
    Option<(ProtocolErrorKind, Option<&'static str>)>,
    ParseState,
);

fn feed_with(kind: ConnKind, cfg: ParserConfig, chunks: &[&[u8]]) -> Outcome {
    let mut p = Parser::with_kind(kind, cfg);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match p.parse_server_op(&mut buf) {
                Ok(Some(op)) => ops.push(op),
                Ok(None) => break,
                Err(e) => return (ops, Some((e.kind(), e.client_err_text())), p.state()),
            }
        }
    }
    (ops, None, p.state())
}

/// Like `feed_with` for a client, through `Parser::parse` (which has its own fast path).
fn feed_client_api(cfg: ParserConfig, chunks: &[&[u8]]) -> Outcome {
    let mut p = Parser::new(cfg);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match p.parse(&mut buf) {
                Ok(Some(op)) => ops.push(ServerOp::Client(op)),
                Ok(None) => break,
                Err(e) => return (ops, Some((e.kind(), e.client_err_text())), p.state()),
            }
        }
    }
    (ops, None, p.state())
}

fn cfg() -> ParserConfig {
    ParserConfig {
        headers: true,
        ..ParserConfig::default()
    }
}

fn feed(chunks: &[&[u8]]) -> Outcome {
    feed_with(ConnKind::Client, cfg(), chunks)
}

fn client_ops(input: &[u8]) -> Vec<ClientOp> {
    let (ops, err, _) = feed(&[input]);
    assert_eq!(err, None, "unexpected error for {input:?}");
    ops.into_iter()
        .map(|op| match op {
            ServerOp::Client(c) => c,
            other => panic!("not a client op: {other:?}"),
        })
        .collect()
}

fn err_of(kind: ConnKind, cfg: ParserConfig, input: &[u8]) -> ProtocolError {
    let mut p = Parser::with_kind(kind, cfg);
    let mut buf = BytesMut::from(input);
    loop {
        match p.parse_server_op(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error for {input:?}"),
            Err(e) => return e,
        }
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn publish(
    subject: &str,
    reply: Option<&str>,
    header_len: Option<usize>,
    payload: &str,
) -> ClientOp {
    ClientOp::Pub(PubMsg {
        subject: b(subject),
        reply: reply.map(b),
        header_len,
        payload: b(payload),
    })
}

#[test]
fn parses_every_client_op() {
    let ops = client_ops(
        b"CONNECT {\"verbose\":false}\r\nPING\r\nPONG\r\n+OK\r\n-ERR 'x'\r\nINFO {}\r\n\
          SUB foo 1\r\nSUB foo q 2\r\nUNSUB 1\r\nUNSUB 2 5\r\n\
          PUB foo 5\r\nhello\r\nPUB foo bar 0\r\n\r\nHPUB foo 3 5\r\nh:1hi\r\n",
    );
    assert_eq!(
        ops,
        vec![
            ClientOp::Connect(b("{\"verbose\":false}")),
            ClientOp::Ping,
            ClientOp::Pong,
            ClientOp::Ok,
            ClientOp::Err(b("'x'")),
            ClientOp::Info(b("{}")),
            ClientOp::Sub {
                subject: b("foo"),
                queue: None,
                sid: b("1")
            },
            ClientOp::Sub {
                subject: b("foo"),
                queue: Some(b("q")),
                sid: b("2")
            },
            ClientOp::Unsub {
                sid: b("1"),
                max: None
            },
            ClientOp::Unsub {
                sid: b("2"),
                max: Some(5)
            },
            publish("foo", None, None, "hello"),
            publish("foo", Some("bar"), None, ""),
            publish("foo", None, Some(3), "h:1hi"),
        ]
    );
}

#[test]
fn op_names_are_case_insensitive() {
    let ops = client_ops(
        b"pub foo 1\r\na\r\nPuB foo 1\r\nb\r\nsub x 1\r\nUnSub 1\r\nping\r\nconnect {}\r\n",
    );
    assert_eq!(ops.len(), 6);
}

#[test]
fn blanks_between_arguments_and_bare_lf() {
    let ops = client_ops(b"PUB\t foo \t 2\nhi\r\nSUB  foo\t\tq   9 \nPING\n");
    assert_eq!(
        ops,
        vec![
            publish("foo", None, None, "hi"),
            ClientOp::Sub {
                subject: b("foo"),
                queue: Some(b("q")),
                sid: b("9")
            },
            ClientOp::Ping,
        ]
    );
}

#[test]
fn ping_pong_ok_end_at_the_first_lf() {
    // nats-server ignores whatever follows the name up to the LF.
    let ops = client_ops(b"PING  \r  \nPINGPONG\r\nPONG xyz\n+OKAY\r\n");
    assert_eq!(
        ops,
        vec![ClientOp::Ping, ClientOp::Ping, ClientOp::Pong, ClientOp::Ok]
    );
    // ... with no limit on that tail, and without holding it in the buffer.
    let mut p = Parser::new(cfg());
    let mut buf = BytesMut::from(&b"PING"[..]);
    assert_eq!(p.parse(&mut buf), Ok(None));
    for _ in 0..100 {
        buf.extend_from_slice(&[b'x'; 1000]);
        assert_eq!(p.parse(&mut buf), Ok(None));
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"\n");
    assert_eq!(p.parse(&mut buf), Ok(Some(ClientOp::Ping)));
}

#[test]
fn cr_inside_a_control_line_drops_its_last_byte() {
    // As in nats-server: once a CR was seen, the byte before LF is dropped, whatever it is.
    let ops = client_ops(b"SUB foo\r 1x\nPING\r\n");
    assert_eq!(
        ops[0],
        ClientOp::Sub {
            subject: b("foo"),
            queue: None,
            sid: b("1")
        }
    );
    // The first argument byte is taken as is, even a LF.
    let ops = client_ops(b"SUB \nfoo 1\r\n");
    assert_eq!(
        ops[0],
        ClientOp::Sub {
            subject: b("foo"),
            queue: None,
            sid: b("1")
        }
    );
    // CONNECT and INFO need no blank before their argument.
    let ops = client_ops(b"CONNECT{}\r\nINFO{}\r\n");
    assert_eq!(
        ops,
        vec![ClientOp::Connect(b("{}")), ClientOp::Info(b("{}"))]
    );
}

#[test]
fn unsub_max_that_is_not_a_size_means_none() {
    let ops = client_ops(b"UNSUB 1 abc\r\nUNSUB 1 0\r\n");
    assert_eq!(
        ops[0],
        ClientOp::Unsub {
            sid: b("1"),
            max: None
        }
    );
    assert_eq!(
        ops[1],
        ClientOp::Unsub {
            sid: b("1"),
            max: Some(0)
        }
    );
}

#[test]
fn hmsg_from_a_client_is_an_empty_message() {
    // nats-server reads no arguments for it and expects an empty payload.
    let ops = client_ops(b"HMSG whatever 1 2\r\n\r\n");
    assert_eq!(
        ops,
        vec![ClientOp::Pub(PubMsg {
            subject: Bytes::new(),
            reply: None,
            header_len: Some(0),
            payload: Bytes::new()
        })]
    );
    let e = err_of(ConnKind::Client, cfg(), b"HMSG foo 1\r\nX");
    assert_eq!(e.kind(), ProtocolErrorKind::UnknownOperation);
}

#[test]
fn errors_have_go_texts_and_reasons() {
    let e = err_of(ConnKind::Client, cfg(), b"FOO\r\n");
    assert_eq!(e.client_err_text(), Some("Unknown Protocol Operation"));
    assert_eq!(e.close_reason(), ClosedState::ProtocolViolation);
    assert_eq!(
        e.to_string(),
        r#"Client parser ERROR, state=0, i=0: proto='"FOO\r"...'"#
    );

    let e = err_of(ConnKind::Client, cfg(), b"PUB foo 2\r\nokX");
    assert_eq!(e.kind(), ProtocolErrorKind::UnknownOperation);
    assert!(
        e.to_string().starts_with("Client parser ERROR, state=41, "),
        "{e}"
    );

    let e = err_of(ConnKind::Client, cfg(), b"PUB foo\r\n");
    assert_eq!(e.client_err_text(), None);
    assert_eq!(e.close_reason(), ClosedState::ProtocolViolation);
    assert_eq!(e.to_string(), r#"processPub Parse Error: "foo""#);

    let e = err_of(ConnKind::Client, cfg(), b"PUB foo x\r\n");
    assert_eq!(e.to_string(), r#"processPub Bad or Missing Size: "foo x""#);

    let small = ParserConfig {
        max_payload: 4,
        ..cfg()
    };
    let e = err_of(ConnKind::Client, small, b"PUB foo 5\r\n");
    assert_eq!(e.client_err_text(), Some("Maximum Payload Violation"));
    assert_eq!(e.close_reason(), ClosedState::MaxPayloadExceeded);
    assert_eq!(e.to_string(), "maximum payload exceeded: 5 vs 4");

    let short = ParserConfig {
        max_control_line: 8,
        ..cfg()
    };
    let e = err_of(ConnKind::Client, short, b"SUB foo.bar.baz 1\r\n");
    assert_eq!(e.client_err_text(), Some("maximum control line exceeded"));
    assert_eq!(e.close_reason(), ClosedState::MaxControlLineExceeded);

    let no_headers = ParserConfig {
        headers: false,
        ..cfg()
    };
    let e = err_of(ConnKind::Client, no_headers, b"HPUB foo 1 2\r\n");
    assert_eq!(e.kind(), ProtocolErrorKind::HeadersNotSupported);
    assert_eq!(e.client_err_text(), None);
    assert_eq!(e.to_string(), "message headers not supported");

    let e = err_of(ConnKind::Client, cfg(), b"HPUB foo 3 2\r\n");
    assert_eq!(e.kind(), ProtocolErrorKind::BadArguments);

    let e = err_of(ConnKind::Client, cfg(), b"SUB foo\r\n");
    assert_eq!(e.to_string(), r#"processSub Parse Error: "foo""#);
    let e = err_of(ConnKind::Client, cfg(), b"UNSUB\t\r\n");
    assert_eq!(e.to_string(), r#"processUnsub Parse Error: "\r""#);
}

#[test]
fn control_line_limit_counts_what_has_arrived() {
    let short = ParserConfig {
        max_control_line: 8,
        ..cfg()
    };
    // 8 argument bytes and a CR pending: still fits.
    let (ops, err, state) = feed_with(ConnKind::Client, short, &[b"SUB 12345678\r"]);
    assert!(ops.is_empty() && err.is_none());
    assert_eq!(state, ParseState::SubArg);
    // 9 argument bytes: too long already.
    let (_, err, _) = feed_with(ConnKind::Client, short, &[b"SUB 123456789"]);
    assert_eq!(err.map(|e| e.0), Some(ProtocolErrorKind::MaxControlLine));
    // Other connection kinds get 16 times the limit.
    let (_, err, _) = feed_with(ConnKind::Router, short, &[b"PUB ", &[b'x'; 128][..]]);
    assert_eq!(err, None);
    let (_, err, _) = feed_with(ConnKind::Router, short, &[b"PUB ", &[b'x'; 129][..]]);
    assert_eq!(err.map(|e| e.0), Some(ProtocolErrorKind::MaxControlLine));
}

#[test]
fn auth_required_consumes_nothing() {
    let mut p = Parser::new(cfg());
    p.set_awaiting_connect(true);
    let mut buf = BytesMut::from(&b"PING\r\n"[..]);
    let e = p.parse(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ProtocolErrorKind::AuthRequired);
    assert_eq!(e.client_err_text(), Some("Authorization Violation"));
    assert_eq!(e.close_reason(), ClosedState::AuthenticationViolation);
    assert_eq!(&buf[..], b"PING\r\n");
    p.set_awaiting_connect(false);
    assert_eq!(p.parse(&mut buf), Ok(Some(ClientOp::Ping)));

    let mut p = Parser::new(cfg());
    p.set_awaiting_connect(true);
    let mut buf = BytesMut::from(&b"connect {}\r\n"[..]);
    assert_eq!(p.parse(&mut buf), Ok(Some(ClientOp::Connect(b("{}")))));
}

#[test]
fn client_rejects_inter_server_ops() {
    for proto in [
        &b"RMSG $G foo 1\r\na\r\n"[..],
        b"LS+ foo\r\n",
        b"A+ acc\r\n",
        b"MSG foo 1 1\r\n",
    ] {
        let e = err_of(ConnKind::Client, cfg(), proto);
        assert_eq!(e.kind(), ProtocolErrorKind::UnknownOperation, "{proto:?}");
    }
    // Gateways do not send LS+/LMSG.
    let e = err_of(ConnKind::Gateway, cfg(), b"LS+ foo\r\n");
    assert_eq!(e.kind(), ProtocolErrorKind::UnknownOperation);
}

#[test]
fn route_ops() {
    let (ops, err, _) = feed_with(
        ConnKind::Router,
        cfg(),
        &[b"RS+ $G foo 1\r\nRS- $G foo\r\nLS+ $G bar\r\nSUB x 1\r\nRMSG $G foo + r q1 q2 2\r\nhi\r\n\
            LMSG C1 $G foo 1 3\r\nhab\r\nHMSG $G foo 1 2\r\nhx\r\nA+ acc\r\nA- acc\r\n"],
    );
    assert_eq!(err, None);
    assert_eq!(
        ops,
        vec![
            ServerOp::Sub {
                proto: InterestProto::Route,
                arg: b("$G foo 1")
            },
            ServerOp::Unsub {
                proto: InterestProto::Route,
                arg: b("$G foo")
            },
            ServerOp::Sub {
                proto: InterestProto::Leaf,
                arg: b("$G bar")
            },
            ServerOp::Sub {
                proto: InterestProto::Plain,
                arg: b("x 1")
            },
            ServerOp::Msg(RoutedMsg {
                origin: None,
                account: Some(b("$G")),
                subject: b("foo"),
                reply: Some(b("r")),
                queues: vec![b("q1"), b("q2")],
                header_len: None,
                payload: b("hi"),
            }),
            ServerOp::Msg(RoutedMsg {
                origin: Some(b("C1")),
                account: Some(b("$G")),
                subject: b("foo"),
                reply: None,
                queues: vec![],
                header_len: Some(1),
                payload: b("hab"),
            }),
            ServerOp::Msg(RoutedMsg {
                origin: None,
                account: Some(b("$G")),
                subject: b("foo"),
                reply: None,
                queues: vec![],
                header_len: Some(1),
                payload: b("hx"),
            }),
            ServerOp::AccountSub(b("acc")),
            ServerOp::AccountUnsub(b("acc")),
        ]
    );
}

#[test]
fn pinned_account_route_and_leaf_msgs() {
    let mut p = Parser::with_kind(ConnKind::Router, cfg());
    p.set_pinned_account(Some(b("ACC")));
    let mut buf = BytesMut::from(&b"RMSG foo 2\r\nhi\r\n"[..]);
    let Ok(Some(ServerOp::Msg(m))) = p.parse_server_op(&mut buf) else {
        panic!("no message")
    };
    assert_eq!(m.account, Some(b("ACC")));
    assert_eq!(m.subject, b("foo"));

    let (ops, err, _) = feed_with(
        ConnKind::Leaf,
        cfg(),
        &[b"LMSG foo | q 2\r\nhi\r\nHMSG foo r 1 2\r\nhi\r\n"],
    );
    assert_eq!(err, None);
    let ServerOp::Msg(m) = &ops[0] else { panic!() };
    assert_eq!((m.account.clone(), m.queues.clone()), (None, vec![b("q")]));
    let ServerOp::Msg(m) = &ops[1] else { panic!() };
    assert_eq!((m.reply.clone(), m.header_len), (Some(b("r")), Some(1)));
}

#[test]
fn large_payload_waits_without_rescanning() {
    let mut p = Parser::new(cfg());
    let mut buf = BytesMut::from(&b"PUB big 100000\r\n"[..]);
    assert_eq!(p.parse(&mut buf), Ok(None));
    assert!(buf.is_empty(), "the control line is consumed once read");
    assert_eq!(p.state(), ParseState::MsgPayload);
    assert_eq!(p.payload_bytes_needed(buf.len()), Some(100_002));
    let pending = p.pending_msg().unwrap();
    assert_eq!((pending.subject(), pending.size()), (&b"big"[..], 100_000));
    for _ in 0..100 {
        buf.extend_from_slice(&[b'z'; 1000]);
        assert_eq!(p.parse(&mut buf), Ok(None));
    }
    assert_eq!(p.state(), ParseState::MsgEndR);
    buf.extend_from_slice(b"\r");
    assert_eq!(p.parse(&mut buf), Ok(None));
    assert_eq!(p.state(), ParseState::MsgEndN);
    buf.extend_from_slice(b"\nPING\r\n");
    let Ok(Some(ClientOp::Pub(m))) = p.parse(&mut buf) else {
        panic!()
    };
    assert_eq!(m.payload.len(), 100_000);
    assert_eq!(p.parse(&mut buf), Ok(Some(ClientOp::Ping)));
    assert!(buf.is_empty());
}

/// Streams of valid operations used by the split-invariance property.
fn valid_streams() -> Vec<(ConnKind, &'static [u8])> {
    vec![
        (
            ConnKind::Client,
            b"CONNECT {\"verbose\":false,\"headers\":true}\r\nPING\r\n",
        ),
        (
            ConnKind::Client,
            b"PUB foo 5\r\nhello\r\nPUB foo.bar INBOX.1 11\r\nhello world\r\n",
        ),
        (
            ConnKind::Client,
            b"SUB foo 1\r\nSUB foo q 2\r\nUNSUB 1 10\r\nUNSUB 2\r\nPONG\r\n",
        ),
        (
            ConnKind::Client,
            b"HPUB foo 12 17\r\nname:derek\r\nHELLO\r\nHPUB foo r 0 0\r\n\r\n",
        ),
        (
            ConnKind::Client,
            b"PUB\tfoo\t\t3\nabc\r\nPING  \r  \n+OK\r\n-ERR 'x y'\r\nINFO {}\r\n",
        ),
        (
            ConnKind::Client,
            b"pub a 0\r\n\r\nSub a 1\r\nping\r\npong\r\n",
        ),
        (
            ConnKind::Client,
            b"SUB foo\r 1x\nSUB \nfoo 1\r\nPINGPONG\r\n",
        ),
        (ConnKind::Client, b"HMSG x\r\n\r\nPUB x 2\r\n\r\n\r\n"),
        (
            ConnKind::Router,
            b"RS+ $G foo 1\r\nRMSG $G foo + r q 2\r\nhi\r\nLMSG o $G f 1 2\r\nhx\r\nRS- $G foo\r\n",
        ),
        (
            ConnKind::Leaf,
            b"LS+ foo\r\nLMSG foo 2\r\nhi\r\nHMSG foo 1 2\r\nhi\r\nLS- foo\r\n",
        ),
        (
            ConnKind::Gateway,
            b"A+ acc\r\nRMSG $G foo 2\r\nhi\r\nA- acc\r\n",
        ),
        // Ends inside operations.
        (ConnKind::Client, b"PUB foo 10\r\nhell"),
        (ConnKind::Client, b"SUB foo 1\r"),
        // Ends in an error.
        (ConnKind::Client, b"PING\r\nPUB foo 2\r\nokX\r\nPING\r\n"),
        (ConnKind::Client, b"SUB foo 1\r\nXYZ\r\n"),
        (ConnKind::Client, b"PUB foo 1\r\nab\r\n"),
        (
            ConnKind::Client,
            b"PUB foo\r 2\r\nab\r\nPUB foo 2\rx\r\nab\r\nPUB\tfoo 0\r\n\r\n",
        ),
        (ConnKind::Client, b"PUB foo.bar.baz.qux.quux 1\r\na\r\n"),
        (ConnKind::Client, b"PUB foo 65\r\n"),
        (ConnKind::Client, b"PUB  foo 1\r\na\r\nPUB \rfoo 1\r\na\r\n"),
    ]
}

#[test]
fn every_split_gives_the_same_result() {
    let cfg = ParserConfig {
        max_control_line: 20,
        max_payload: 64,
        headers: true,
    };
    // Client streams also go through `parse`, which has a fast path of its own.
    let run = |kind: ConnKind, chunks: &[&[u8]]| {
        let out = feed_with(kind, cfg, chunks);
        if kind == ConnKind::Client {
            assert_eq!(feed_client_api(cfg, chunks), out, "parse() on {chunks:?}");
        }
        out
    };
    for (kind, stream) in valid_streams() {
        let whole = run(kind, &[stream]);
        for i in 0..=stream.len() {
            let (a, rest) = stream.split_at(i);
            assert_eq!(run(kind, &[a, rest]), whole, "split at {i} of {stream:?}");
            for j in 0..=rest.len() {
                let (b1, c1) = rest.split_at(j);
                assert_eq!(
                    run(kind, &[a, b1, c1]),
                    whole,
                    "split at {i},{} of {stream:?}",
                    i + j
                );
            }
        }
        // And byte by byte.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(kind, &bytes), whole, "bytewise {stream:?}");
    }
}

#[test]
fn payloads_are_zero_copy() {
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"PUB foo 5\r\nhello\r\n");
    let base = buf.as_ptr() as usize;
    let mut p = Parser::new(cfg());
    let Ok(Some(ClientOp::Pub(m))) = p.parse(&mut buf) else {
        panic!()
    };
    assert_eq!(m.payload.as_ptr() as usize, base + 11);
    assert_eq!(m.subject.as_ptr() as usize, base + 4);
}
