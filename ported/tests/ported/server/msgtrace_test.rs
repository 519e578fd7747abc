//! Ports of nats-server `server/msgtrace_test.go` for a single server: trace events are
//! read by a client subscribed to the trace destination, over the client protocol.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::msgtrace::{
    gen_header_map_if_trace_headers_present, MsgTraceEvent, KIND_CLIENT, MSG_TRACE_DEST,
    MSG_TRACE_ONLY, TRACE_PARENT_HDR,
};
use ported::port;
use ported::support::{
    create_conf_file, default_test_options, load_config, run_server, run_server_with_config,
};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const HDR_LINE: &str = "NATS/1.0\r\n";
const TP_SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One message received by [`Conn`].
#[derive(Debug, Clone)]
struct Msg {
    headers: Vec<(String, String)>,
    data: Vec<u8>,
}

impl Msg {
    /// The first value of header `key` (nats.go's `Header.Get`).
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// How many distinct header names (the size of nats.go's `Header` map).
    fn header_names(&self) -> usize {
        let mut names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    fn trace_event(&self) -> MsgTraceEvent {
        serde_json::from_slice(&self.data).expect("trace event is JSON")
    }
}

/// A small client (what the Go tests get from nats.go): subscriptions by sid, messages
/// with headers, the errors the server sent, and flush by PING/PONG.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    msgs: HashMap<String, VecDeque<Msg>>,
    errs: Vec<String>,
    pongs: usize,
    next_sid: u64,
    /// The server's id for this connection (INFO `client_id`).
    cid: u64,
}

/// How a [`Conn`] connects.
#[derive(Default, Clone, Copy)]
struct Opts<'a> {
    user: Option<(&'a str, &'a str)>,
    name: Option<&'a str>,
    no_echo: bool,
}

impl Conn {
    fn connect(addr: SocketAddr, o: Opts<'_>) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut c = Conn {
            stream,
            buf: Vec::new(),
            msgs: HashMap::new(),
            errs: Vec::new(),
            pongs: 0,
            next_sid: 1,
            cid: 0,
        };
        let mut connect = serde_json::json!({
            "verbose": false, "pedantic": false, "headers": true, "no_responders": true,
            "protocol": 0, "echo": !o.no_echo,
        });
        if let Some((u, p)) = o.user {
            connect["user"] = u.into();
            connect["pass"] = p.into();
        }
        if let Some(n) = o.name {
            connect["name"] = n.into();
        }
        c.send(format!("CONNECT {connect}\r\n").as_bytes());
        c.flush();
        assert!(c.errs.is_empty(), "connect failed: {:?}", c.errs);
        c
    }

    fn send(&mut self, b: &[u8]) {
        self.stream.write_all(b).unwrap();
    }

    fn sub(&mut self, subject: &str, queue: Option<&str>) -> String {
        let sid = self.next_sid.to_string();
        self.next_sid += 1;
        let q = queue.map(|q| format!(" {q}")).unwrap_or_default();
        self.send(format!("SUB {subject}{q} {sid}\r\n").as_bytes());
        self.msgs.insert(sid.clone(), VecDeque::new());
        sid
    }

    /// Publishes with a header block built from `headers` (nats.go's `PublishMsg`).
    fn publish(&mut self, subject: &str, reply: &str, headers: &[(&str, &str)], data: &[u8]) {
        let mut hdr = String::from(HDR_LINE);
        for (k, v) in headers {
            hdr.push_str(&format!("{k}: {v}\r\n"));
        }
        hdr.push_str("\r\n");
        let reply = if reply.is_empty() {
            String::new()
        } else {
            format!(" {reply}")
        };
        let mut b = format!(
            "HPUB {subject}{reply} {} {}\r\n{hdr}",
            hdr.len(),
            hdr.len() + data.len()
        )
        .into_bytes();
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
        self.send(&b);
    }

    /// Sends PING and reads until its PONG.
    fn flush(&mut self) {
        let want = self.pongs + 1;
        self.send(b"PING\r\n");
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.pongs < want {
            assert!(self.read_op(deadline), "no PONG for flush");
        }
    }

    /// The next message of `sid` within `timeout`.
    fn next_msg(&mut self, sid: &str, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.msgs.get_mut(sid).and_then(VecDeque::pop_front) {
                return Some(m);
            }
            if !self.read_op(deadline) {
                return None;
            }
        }
    }

    /// natsNexMsg: a message must come within `timeout`.
    fn must_next(&mut self, sid: &str, timeout: Duration) -> Msg {
        self.next_msg(sid, timeout)
            .unwrap_or_else(|| panic!("no message on sid {sid} within {timeout:?}"))
    }

    fn expect_no_msg(&mut self, sid: &str, timeout: Duration) {
        if let Some(m) = self.next_msg(sid, timeout) {
            panic!(
                "did not expect a message on sid {sid}, got {:?}",
                String::from_utf8_lossy(&m.data)
            );
        }
    }

    /// Reads and handles one operation; false when none came before `deadline`.
    fn read_op(&mut self, deadline: Instant) -> bool {
        loop {
            if let Some(done) = self.parse_one() {
                if done {
                    return true;
                }
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            self.stream.set_read_timeout(Some(deadline - now)).unwrap();
            let mut tmp = [0u8; 65536];
            match self.stream.read(&mut tmp) {
                Ok(0) => return false,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => return false,
            }
        }
    }

    /// Parses one operation off the buffer: `Some(true)` for a message, an error or a
    /// PONG, `Some(false)` for anything else, `None` when it is incomplete.
    fn parse_one(&mut self) -> Option<bool> {
        let eol = self.buf.windows(2).position(|w| w == b"\r\n")?;
        let line = String::from_utf8_lossy(&self.buf[..eol]).into_owned();
        let args: Vec<&str> = line.split_whitespace().collect();
        let op = args
            .first()
            .copied()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match op.as_str() {
            "MSG" | "HMSG" => {
                let hmsg = op == "HMSG";
                let n = args.len();
                let total: usize = args[n - 1].parse().unwrap();
                let hlen: usize = if hmsg {
                    args[n - 2].parse().unwrap()
                } else {
                    0
                };
                if self.buf.len() < eol + 2 + total + 2 {
                    return None;
                }
                let data = self.buf[eol + 2 + hlen..eol + 2 + total].to_vec();
                let headers = String::from_utf8_lossy(&self.buf[eol + 2..eol + 2 + hlen])
                    .split("\r\n")
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                    .collect();
                let sid = args[2].to_string();
                self.buf.drain(..eol + 2 + total + 2);
                let m = Msg { headers, data };
                self.msgs.entry(sid).or_default().push_back(m);
                Some(true)
            }
            _ => {
                self.buf.drain(..eol + 2);
                match op.as_str() {
                    "PING" => {
                        self.send(b"PONG\r\n");
                        Some(false)
                    }
                    "PONG" => {
                        self.pongs += 1;
                        Some(true)
                    }
                    "-ERR" => {
                        self.errs.push(line);
                        Some(true)
                    }
                    "INFO" => {
                        let info: serde_json::Value =
                            serde_json::from_str(line[4..].trim()).unwrap();
                        if let Some(cid) = info["client_id"].as_u64() {
                            self.cid = cid;
                        }
                        Some(false)
                    }
                    _ => Some(false),
                }
            }
        }
    }
}

port!("server/msgtrace_test.go::TestMsgTraceGenHeaderMap" => msg_trace_gen_header_map);
fn msg_trace_gen_header_map() {
    let tp_diff_case = "TrAcEpArEnT";
    let d = MSG_TRACE_DEST;
    let tp = TRACE_PARENT_HDR;
    let h = HDR_LINE;
    let t01 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    type Expected<'a> = Option<Vec<(&'a str, Vec<&'a str>)>>;
    let cases: Vec<(&str, String, Expected<'_>, bool)> = vec![
        ("missing header line", format!("{d}: val\r\n"), None, false),
        ("no trace header present", format!("{h}Header1: val1\r\nHeader2: val2\r\n"), None, false),
        ("trace header with some prefix", format!("{h}Some-Prefix-{d}: some value\r\n"), None, false),
        ("trace header with some suffix", format!("{h}{d}-Some-Suffix: some value\r\n"), None, false),
        ("trace header with space before colon", format!("{h}{d} : some value\r\n"), None, false),
        ("trace header with missing cr_lf for value", format!("{h}{d}: bogus"), None, false),
        ("trace header with empty value", format!("{h}{d}:      \r\n"), None, false),
        ("external trace header with some prefix", format!("{h}Some-Prefix-{tp}: {t01}\r\n"), None, false),
        ("external trace header with some suffix", format!("{h}{tp}-Some-Suffix: {t01}\r\n"), None, false),
        ("external header with space before colon", format!("{h}{tp} : {t01}\r\n"), None, false),
        ("external header with missing cr_lf for value", format!("{h}{tp}: {t01}"), None, false),
        ("external header with empty value", format!("{h}{tp}:      \r\n"), None, false),
        ("trace header first", format!("{h}{d}: some.dest\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest"])]), false),
        ("trace header last", format!("{h}Some-Header: some value\r\n{d}: some.dest\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest"])]), false),
        ("trace header multiple values", format!("{h}{d}: some.dest\r\nSome-Header: some value\r\n{d}: some.dest.2"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest", "some.dest.2"])]), false),
        ("trace header and some empty key", format!("{h}{d}: some.dest\r\n: bogus\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest"])]), false),
        ("trace header and some header missing cr_lf for value", format!("{h}{d}: some.dest\r\nSome-Header: bogus"),
            Some(vec![(d, vec!["some.dest"])]), false),
        ("trace header and trims value", format!("{h}{d}:    some.dest   \r\n"),
            Some(vec![(d, vec!["some.dest"])]), false),
        ("trace header and external after", format!("{h}{d}: some.dest\r\n{tp}: {t01}\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest"]), (tp, vec![t01])]), false),
        ("trace header and external before", format!("{h}{tp}: {t01}\r\n{d}: some.dest\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (d, vec!["some.dest"]), (tp, vec![t01])]), false),
        ("external malformed", format!("{h}{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-01\r\n"), None, false),
        ("external first and sampling", format!("{h}{tp}: {t01}\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (tp, vec![t01])]), true),
        ("external middle and sampling", format!("{h}Some-Header: some value1\r\n{tp}: {t01}\r\nSome-Header: some value2\r\n"),
            Some(vec![("Some-Header", vec!["some value1", "some value2"]), (tp, vec![t01])]), true),
        ("external last and sampling", format!("{h}Some-Header: some value\r\n{tp}: {t01}\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (tp, vec![t01])]), true),
        ("external sampling with not just 01", format!("{h}{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-27\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (tp, vec!["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-27"])]), true),
        ("external trims value", format!("{h}{tp}:     {t01}   \r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (tp, vec![t01])]), true),
        ("external with different case and sampling", format!("{h}{tp_diff_case}: {t01}\r\nSome-Header: some value\r\n"),
            Some(vec![("Some-Header", vec!["some value"]), (tp_diff_case, vec![t01])]), true),
        ("external first and not sampling", format!("{h}{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\nSome-Header: some value\r\n"), None, false),
        ("external middle and not sampling", format!("{h}Some-Header: some value1\r\n{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\nSome-Header: some value2\r\n"), None, false),
        ("external last and not sampling", format!("{h}Some-Header: some value\r\n{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\n"), None, false),
        ("external not sampling with not just 00", format!("{h}{tp}: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-22\r\nSome-Header: some value\r\n"), None, false),
    ];
    for (name, header, expected, external) in cases {
        let got = gen_header_map_if_trace_headers_present(header.as_bytes());
        let (m, ext) = match got {
            Some((m, ext)) => (m, ext),
            None => (Default::default(), false),
        };
        assert_eq!(external, ext, "{name}: external");
        let expected: HashMap<&str, Vec<&str>> = expected.unwrap_or_default().into_iter().collect();
        assert_eq!(expected.len(), m.len(), "{name}: map size, got {m:?}");
        if external {
            let mut header_name = TRACE_PARENT_HDR;
            if !m.contains_key(header_name) {
                header_name = tp_diff_case;
                assert!(
                    m.contains_key(header_name),
                    "{name}: expected traceparent header to be present: {m:?}"
                );
            }
            // The header is not rewritten: its name is as sent.
            assert!(header.contains(header_name), "{name}: {header}");
        }
        for (k, vv) in &m {
            let evv = expected
                .get(k.as_str())
                .unwrap_or_else(|| panic!("{name}: did not find header {k:?} in {m:?}"));
            for (i, v) in vv.iter().enumerate() {
                assert_eq!(evv[i], v, "{name}: value {i} of key {k:?}");
            }
        }
    }
}

port!("server/msgtrace_test.go::TestMsgTraceBasic" => msg_trace_basic);
fn msg_trace_basic() {
    let conf = create_conf_file(
        b"
		listen: 127.0.0.1:-1
		mappings = {
			foo: bar
		}
	",
    );
    let (s, _) = run_server_with_config(conf);
    let mut nc = Conn::connect(s.addr, Opts::default());
    let cid = nc.cid;
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.flush();

    // A trace-only message on a subject nobody listens to: no mapping, no egress.
    nc.publish(
        "dummy",
        "",
        &[(MSG_TRACE_DEST, "my.trace.subj"), (MSG_TRACE_ONLY, "true")],
        b"hello!",
    );
    let e = nc
        .must_next(&trace_sub, Duration::from_secs(1))
        .trace_event();
    assert_eq!(e.server.name, s.shared().name);
    // The trace headers are not removed.
    let header = e.request.header.as_ref().expect("request headers");
    assert_eq!(header.len(), 2);
    // 6 bytes of body and the two trace headers.
    assert!(e.request.msg_size > 20);
    let ingress = e.ingress().expect("ingress");
    assert_eq!(ingress.kind, KIND_CLIENT);
    assert!(!ingress.ts.is_zero());
    assert_eq!(ingress.cid, cid);
    assert_eq!(ingress.name, "");
    assert_eq!(ingress.acc, "$G");
    assert_eq!(ingress.subj, "dummy");
    assert_eq!(ingress.error, "");
    assert!(e.subject_mapping().is_none());
    assert!(e.stream_exports().is_empty());
    assert!(e.service_imports().is_empty());
    assert!(e.jetstream().is_none());
    assert!(e.egresses().is_empty());

    // Subscriptions with interest in the mapped subject.
    let mut nc2 = Conn::connect(
        s.addr,
        Opts {
            name: Some("sub1And2"),
            ..Opts::default()
        },
    );
    let sub1 = nc2.sub("bar", None);
    let sub2 = nc2.sub("bar", None);
    nc2.flush();
    let nc2_cid = nc2.cid;
    let mut nc3 = Conn::connect(s.addr, Opts::default());
    let sub3 = nc3.sub("*", None);
    nc3.flush();

    for (name, deliver) in [("just trace", false), ("deliver msg", true)] {
        let mut headers = vec![
            ("Some-App-Header", "some value"),
            (MSG_TRACE_DEST, "my.trace.subj"),
        ];
        if !deliver {
            headers.push((MSG_TRACE_ONLY, "true"));
        }
        nc.publish("foo", "", &headers, b"hello!");

        let check_app_msg = |c: &mut Conn, sid: &str| {
            if deliver {
                let app = c.must_next(sid, Duration::from_secs(1));
                assert_eq!(app.data, b"hello!");
                // The trace header stays: the app header and the trace destination.
                assert_eq!(app.header_names(), 2, "{name}: {:?}", app.headers);
                assert_eq!(app.header("Some-App-Header"), Some("some value"));
                assert_eq!(app.header(MSG_TRACE_DEST), Some("my.trace.subj"));
            }
            c.expect_no_msg(sid, Duration::from_millis(100));
        };
        check_app_msg(&mut nc2, &sub1);
        check_app_msg(&mut nc2, &sub2);
        check_app_msg(&mut nc3, &sub3);

        let e = nc
            .must_next(&trace_sub, Duration::from_secs(1))
            .trace_event();
        assert_eq!(e.server.name, s.shared().name);
        let header = e.request.header.as_ref().expect("request headers");
        // The app header and the trace header(s).
        let expected = if deliver { 2 } else { 3 };
        assert_eq!(header.len(), expected, "{name}: {header:?}");
        assert_eq!(header["Some-App-Header"][0], "some value");
        assert!(e.request.msg_size > 20);
        let ingress = e.ingress().expect("ingress");
        assert_eq!(ingress.kind, KIND_CLIENT);
        assert!(!ingress.ts.is_zero());
        assert_eq!(ingress.acc, "$G");
        assert_eq!(ingress.subj, "foo");
        let sm = e.subject_mapping().expect("subject mapping");
        assert!(!sm.ts.is_zero());
        assert_eq!(sm.to, "bar");
        let egress = e.egresses();
        assert_eq!(egress.len(), 3, "{name}: {egress:?}");
        let mut sub1_and2 = 0;
        for eg in egress {
            assert_eq!(eg.kind, KIND_CLIENT);
            assert!(!eg.ts.is_zero());
            if eg.cid == nc2_cid {
                assert_eq!(eg.name, "sub1And2");
                assert_eq!(eg.sub, "bar");
                sub1_and2 += 1;
            } else {
                assert_eq!(eg.name, "");
                assert_eq!(eg.sub, "*");
            }
        }
        assert_eq!(sub1_and2, 2, "{name}");
    }
}

port!("server/msgtrace_test.go::TestMsgTraceWithCompression" => msg_trace_with_compression);
fn msg_trace_with_compression() {
    use std::io::Read;
    let s = run_server(default_test_options());
    let mut nc = Conn::connect(s.addr, Opts::default());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.flush();
    for (algo, expected_hdr, unsupported) in [
        ("gzip", "gzip", false),
        ("snappy", "snappy", false),
        ("s2", "snappy", false),
        ("bad one", "identity", true),
    ] {
        nc.publish(
            "foo",
            "",
            &[(MSG_TRACE_DEST, "my.trace.subj"), ("Accept-Encoding", algo)],
            b"hello!",
        );
        let trace_msg = nc.must_next(&trace_sub, Duration::from_secs(1));
        assert_eq!(
            trace_msg.header("Content-Encoding"),
            Some(expected_hdr),
            "{algo}"
        );
        let mut data = trace_msg.data.clone();
        if !unsupported {
            let mut out = Vec::new();
            match expected_hdr {
                "gzip" => {
                    flate2::read::GzDecoder::new(&data[..])
                        .read_to_end(&mut out)
                        .unwrap();
                }
                _ => {
                    snap::read::FrameDecoder::new(&data[..])
                        .read_to_end(&mut out)
                        .unwrap();
                }
            }
            data = out;
        }
        let e: MsgTraceEvent = serde_json::from_slice(&data).expect("trace event JSON");
        let ingress = e.ingress().expect("ingress");
        assert_eq!(e.server.name, s.shared().name, "{algo}");
        assert_eq!(ingress.subj, "foo", "{algo}");
    }
}

/// The trace-only variants of the Go tests: (name, deliver the message).
const MODES: [(&str, bool); 2] = [("just trace", false), ("deliver msg", true)];

fn trace_headers(dest: &str, deliver: bool) -> Vec<(&str, &str)> {
    let mut h = vec![(MSG_TRACE_DEST, dest)];
    if !deliver {
        h.push((MSG_TRACE_ONLY, "true"));
    }
    h
}

port!("server/msgtrace_test.go::TestMsgTraceIngressMaxPayloadError" => msg_trace_ingress_max_payload_error);
fn msg_trace_ingress_max_payload_error() {
    let mut o = default_test_options();
    o.max_payload = 1024;
    let s = run_server(o);
    let mut nc = Conn::connect(s.addr, Opts::default());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.sub("foo", None);
    nc.flush();
    for (name, deliver) in MODES {
        let mut nc2 = TcpStream::connect(s.addr).unwrap();
        nc2.write_all(b"CONNECT {\"protocol\":1,\"headers\":true,\"no_responders\":true}\r\n")
            .unwrap();
        let trace_only_hdr = if deliver {
            String::new()
        } else {
            format!("{MSG_TRACE_ONLY}:true\r\n")
        };
        let hdr = format!("{HDR_LINE}{MSG_TRACE_DEST}:my.trace.subj\r\n{trace_only_hdr}\r\n");
        let hpub = format!("HPUB foo {} 2048\r\n{hdr}AAAAAAAAAAAAAAAAAA...", hdr.len());
        nc2.write_all(hpub.as_bytes()).unwrap();

        let e = nc
            .must_next(&trace_sub, Duration::from_secs(1))
            .trace_event();
        assert_eq!(e.server.name, s.shared().name, "{name}");
        assert!(e.request.header.is_some(), "{name}");
        let ingress = e.ingress().expect("ingress");
        assert!(
            ingress.error.contains("maximum payload exceeded"),
            "{name}: {}",
            ingress.error
        );
        assert!(e.egresses().is_empty(), "{name}");
    }
}

port!("server/msgtrace_test.go::TestMsgTraceIngressMaxPayloadErrorDoesNotScanPayloadForTraceDest" => msg_trace_ingress_max_payload_error_does_not_scan_payload_for_trace_dest);
fn msg_trace_ingress_max_payload_error_does_not_scan_payload_for_trace_dest() {
    let mut o = default_test_options();
    o.max_payload = 1024;
    let s = run_server(o);
    let mut nc = Conn::connect(s.addr, Opts::default());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.flush();

    let mut nc2 = TcpStream::connect(s.addr).unwrap();
    nc2.write_all(b"CONNECT {\"protocol\":1,\"headers\":true,\"no_responders\":true}\r\n")
        .unwrap();
    // The payload holds a valid trace header, but it is not part of the header block.
    let payload = format!("AA\r\n{MSG_TRACE_DEST}:my.trace.subj\r\n");
    let hpub = format!("HPUB foo {} 2048\r\n{HDR_LINE}{payload}", HDR_LINE.len());
    nc2.write_all(hpub.as_bytes()).unwrap();
    nc.expect_no_msg(&trace_sub, Duration::from_millis(250));
}

port!("server/msgtrace_test.go::TestMsgTraceIngressMaxPayloadErrorRequiresPublishPermissionForTraceDest" => msg_trace_ingress_max_payload_error_requires_publish_permission_for_trace_dest);
fn msg_trace_ingress_max_payload_error_requires_publish_permission_for_trace_dest() {
    let conf = create_conf_file(
        br#"
		listen: 127.0.0.1:-1
		max_payload: 1024
		accounts {
			A {
				users: [
					{
						user: tracer
						password: pwd
						permissions {
							subscribe: ["my.trace.subj"]
							publish: ["my.trace.subj"]
						}
					},
					{
						user: pub
						password: pwd
						permissions {
							publish: ["foo"]
						}
					}
				]
			}
		}
	"#,
    );
    let (s, _) = run_server_with_config(conf);
    let mut nct = Conn::connect(
        s.addr,
        Opts {
            user: Some(("tracer", "pwd")),
            ..Opts::default()
        },
    );
    let trace_sub = nct.sub("my.trace.subj", None);
    nct.flush();

    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"CONNECT {\"user\":\"pub\",\"pass\":\"pwd\",\"protocol\":1,\"headers\":true,\"no_responders\":true}\r\n")
        .unwrap();
    let hdr = format!("{HDR_LINE}{MSG_TRACE_DEST}:my.trace.subj\r\n\r\n");
    let hpub = format!("HPUB foo {} 2048\r\n{hdr}AAAAAAAAAAAAAAAAAA...", hdr.len());
    c.write_all(hpub.as_bytes()).unwrap();
    nct.expect_no_msg(&trace_sub, Duration::from_millis(250));
}

fn user_a() -> Opts<'static> {
    Opts {
        user: Some(("a", "pwd")),
        ..Opts::default()
    }
}

port!("server/msgtrace_test.go::TestMsgTraceIngressErrors" => msg_trace_ingress_errors);
fn msg_trace_ingress_errors() {
    let conf = create_conf_file(
        br#"
		port: -1
		accounts {
			A {
				users: [
					{
						user: a
						password: pwd
						permissions {
							subscribe: ["my.trace.subj", "foo"]
							publish {
								allow: ["foo", "bar.>", "my.trace.subj"]
								deny: ["bar.baz"]
							}
						}
					}
				]
			}
		}
	"#,
    );
    let (s, _) = run_server_with_config(conf);
    let mut nc = Conn::connect(s.addr, user_a());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.sub("foo", None);
    nc.flush();
    for (name, deliver) in MODES {
        let mut nc2 = Conn::connect(s.addr, user_a());
        let mut send_msg = |subj: &str, reply: &str, err_txt: &str| {
            nc2.publish(
                subj,
                reply,
                &trace_headers("my.trace.subj", deliver),
                b"hello",
            );
            let e = nc
                .must_next(&trace_sub, Duration::from_secs(1))
                .trace_event();
            assert_eq!(e.server.name, s.shared().name, "{name}");
            assert!(e.request.header.is_some(), "{name}");
            let err = &e.ingress().expect("ingress").error;
            assert!(err.contains(err_txt), "{name} {subj}: {err:?}");
            assert!(e.egresses().is_empty(), "{name} {subj}");
        };
        // A subject the permissions deny.
        send_msg("bar.baz", "", "Permissions Violation for Publish to");
        // A subject reserved for gateway replies.
        send_msg("_GR_.foo", "", "Permissions Violation for Publish to");
        // A reserved reply.
        send_msg(
            "foo",
            "_R_.bar",
            "Permissions Violation for Publish with Reply of",
        );
    }
}

port!("server/msgtrace_test.go::TestMsgTraceEgressErrors" => msg_trace_egress_errors);
fn msg_trace_egress_errors() {
    let conf = create_conf_file(
        br#"
		port: -1
		accounts {
			A {
				users: [
					{
						user: a
						password: pwd
						permissions {
							subscribe: {
								allow: ["my.trace.subj", "foo", "bar.>"]
								deny: "bar.bat"
							}
							publish {
								allow: ["foo", "bar.>", "my.trace.subj"]
								deny: ["bar.baz"]
							}
						}
					}
				]
			}
		}
	"#,
    );
    let (s, _) = run_server_with_config(conf);
    let mut nc = Conn::connect(s.addr, user_a());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.flush();
    // The subscriptions on `subject` of the server's side of `c`.
    let subs_of = |c: &Conn, subject: &str| {
        let client = s.shared().client_by_cid(c.cid).expect("client by cid");
        client
            .subscriptions()
            .into_iter()
            .filter(|sub| &sub.subject[..] == subject.as_bytes())
            .collect::<Vec<_>>()
    };
    for (name, deliver) in MODES {
        let mut send_msg = |pubc: &mut Conn, subj: &str, err_txt: &str| {
            pubc.publish(subj, "", &trace_headers("my.trace.subj", deliver), b"hello");
            let e = nc
                .must_next(&trace_sub, Duration::from_secs(1))
                .trace_event();
            assert_eq!(e.server.name, s.shared().name, "{name}");
            let egress = e.egresses();
            assert_eq!(egress.len(), 1, "{name} {subj}: {egress:?}");
            assert!(
                egress[0].error.contains(err_txt),
                "{name} {subj}: {:?}",
                egress[0].error
            );
        };

        // No echo.
        let mut nc2 = Conn::connect(
            s.addr,
            Opts {
                no_echo: true,
                ..user_a()
            },
        );
        nc2.sub("foo", None);
        send_msg(&mut nc2, "foo", natsd::msgtrace::ERR_NO_ECHO);
        drop(nc2);

        // A subscription whose permissions deny the subject.
        let mut nc2 = Conn::connect(s.addr, user_a());
        nc2.sub("bar.>", None);
        send_msg(&mut nc2, "bar.bat", natsd::msgtrace::ERR_SUB_DENY);
        drop(nc2);

        // A closed subscription (closed by hand, still in the sublist).
        let mut nc2 = Conn::connect(s.addr, user_a());
        nc2.sub("bar.>", None);
        nc2.flush();
        for sub in subs_of(&nc2, "bar.>") {
            sub.close();
        }
        send_msg(&mut nc2, "bar.bar", natsd::msgtrace::ERR_SUB_CLOSED);
        drop(nc2);

        // Only when delivering.
        if deliver {
            // Auto-unsubscribe limit already passed.
            let mut nc2 = Conn::connect(s.addr, user_a());
            let sid = nc2.sub("bar.>", None);
            nc2.send(format!("UNSUB {sid} 10\r\n").as_bytes());
            nc2.flush();
            for sub in subs_of(&nc2, "bar.>") {
                sub.delivered
                    .store(20, std::sync::atomic::Ordering::Relaxed);
            }
            send_msg(&mut nc2, "bar.bar", natsd::msgtrace::ERR_AUTO_SUB_EXCEEDED);
            drop(nc2);

            // A connection closed (its subscriptions not yet removed).
            let mut nc2 = Conn::connect(s.addr, user_a());
            nc2.sub("bar.>", None);
            nc2.flush();
            s.shared()
                .client_by_cid(nc2.cid)
                .expect("client by cid")
                .close_outbound();
            nc2.publish(
                "bar.bar",
                "",
                &trace_headers("my.trace.subj", deliver),
                b"hello",
            );
            let e = nc
                .must_next(&trace_sub, Duration::from_secs(1))
                .trace_event();
            assert_eq!(e.server.name, s.shared().name);
            let egress = e.egresses();
            assert_eq!(egress.len(), 1, "{egress:?}");
            assert!(
                egress[0].error.contains(natsd::msgtrace::ERR_CLIENT_CLOSED),
                "{:?}",
                egress[0].error
            );
            drop(nc2);
        }
    }
}

/// The `-ERR` lines of a publisher, after a flush (nats.go's `LastError`).
fn last_error(c: &mut Conn) -> String {
    c.flush();
    c.errs.last().cloned().expect("an error from the server")
}

port!("server/msgtrace_test.go::TestMsgTraceIngressRequiresPublishPermissionForTraceDest" => msg_trace_ingress_requires_publish_permission_for_trace_dest);
fn msg_trace_ingress_requires_publish_permission_for_trace_dest() {
    for (hdr_name, external) in [("no external hdr", false), ("external hdr", true)] {
        let acc_dest = if external {
            "trace_dest: \"my.trace.subj\""
        } else {
            ""
        };
        let conf = create_conf_file(
            format!(
                r#"
				port: -1
				accounts {{
					A {{
						users: [
							{{
								user: tracer
								password: pwd
								permissions {{
									subscribe: ["my.trace.subj", "foo"]
									publish: ["my.trace.subj"]
								}}
							}},
							{{
								user: pub
								password: pwd
								permissions {{
									publish: ["foo"]
								}}
							}}
						]
						{acc_dest}
					}}
				}}
			"#
            )
            .as_bytes(),
        );
        let (s, _) = run_server_with_config(conf);
        let mut nc = Conn::connect(
            s.addr,
            Opts {
                user: Some(("tracer", "pwd")),
                ..Opts::default()
            },
        );
        let tsub = nc.sub("my.trace.subj", None);
        let asub = nc.sub("foo", None);
        nc.flush();
        for (name, trace_only) in [("just trace", true), ("deliver msg", false)] {
            let mut headers = vec![];
            if external {
                headers.push((TRACE_PARENT_HDR, TP_SAMPLED));
            } else {
                headers.push((MSG_TRACE_DEST, "my.trace.subj"));
            }
            // Ignored with the external header, but set either way.
            if trace_only {
                headers.push((MSG_TRACE_ONLY, "true"));
            }
            let mut ncp = Conn::connect(
                s.addr,
                Opts {
                    user: Some(("pub", "pwd")),
                    ..Opts::default()
                },
            );
            ncp.publish("foo", "", &headers, b"hello");
            let err = last_error(&mut ncp);
            assert!(
                err.contains("Permissions Violation for Publish to \"my.trace.subj\""),
                "{hdr_name}/{name}: {err}"
            );
            nc.expect_no_msg(&asub, Duration::from_millis(100));
            nc.expect_no_msg(&tsub, Duration::from_millis(100));
        }
    }
}

port!("server/msgtrace_test.go::TestMsgTraceIngressRejectsReservedTraceDest" => msg_trace_ingress_rejects_reserved_trace_dest);
fn msg_trace_ingress_rejects_reserved_trace_dest() {
    for trace_dest in ["_GR_.trace", "$NRG.trace"] {
        for (hdr_name, external) in [("no external hdr", false), ("external hdr", true)] {
            let acc_dest = if external {
                format!("trace_dest: {trace_dest:?}")
            } else {
                String::new()
            };
            let conf = create_conf_file(
                format!(
                    r#"
						port: -1
						accounts {{
							A {{
								users: [
									{{
										user: sub
										password: pwd
										permissions {{
											subscribe: ["foo"]
										}}
									}},
									{{
										user: pub
										password: pwd
										permissions {{
											publish: [">"]
										}}
									}},
									{{
										user: pub2
										password: pwd
									}}
								]
								{acc_dest}
							}}
						}}
					"#
                )
                .as_bytes(),
            );
            let (s, _) = run_server_with_config(conf);
            let mut ncs = Conn::connect(
                s.addr,
                Opts {
                    user: Some(("sub", "pwd")),
                    ..Opts::default()
                },
            );
            let asub = ncs.sub("foo", None);
            ncs.flush();
            for user in ["pub", "pub2"] {
                for (name, trace_only) in [("just trace", true), ("deliver msg", false)] {
                    let mut headers = vec![];
                    if external {
                        headers.push((TRACE_PARENT_HDR, TP_SAMPLED));
                    } else {
                        headers.push((MSG_TRACE_DEST, trace_dest));
                    }
                    if trace_only {
                        headers.push((MSG_TRACE_ONLY, "true"));
                    }
                    let mut ncp = Conn::connect(
                        s.addr,
                        Opts {
                            user: Some((user, "pwd")),
                            ..Opts::default()
                        },
                    );
                    ncp.publish("foo", "", &headers, b"hello");
                    let err = last_error(&mut ncp);
                    let want = format!("Permissions Violation for Publish to \"{trace_dest}\"");
                    assert!(
                        err.contains(&want),
                        "{trace_dest}/{hdr_name}/{user}/{name}: {err}"
                    );
                    ncs.expect_no_msg(&asub, Duration::from_millis(100));
                }
            }
        }
    }
}

port!("server/msgtrace_test.go::TestMsgTraceWithQueueSub" => msg_trace_with_queue_sub);
fn msg_trace_with_queue_sub() {
    let s = run_server(default_test_options());
    let mut nc = Conn::connect(s.addr, Opts::default());
    let trace_sub = nc.sub("my.trace.subj", None);
    nc.flush();
    let mut nc2 = Conn::connect(
        s.addr,
        Opts {
            name: Some("sub1"),
            ..Opts::default()
        },
    );
    let sub1 = nc2.sub("foo", Some("bar"));
    nc2.flush();
    let mut nc3 = Conn::connect(
        s.addr,
        Opts {
            name: Some("sub2"),
            ..Opts::default()
        },
    );
    let sub2 = nc3.sub("foo", Some("bar"));
    let sub3 = nc3.sub("*", Some("baz"));
    nc3.flush();

    for (name, deliver) in MODES {
        let data: &[u8] = if deliver { b"hello2" } else { b"hello1" };
        nc.publish("foo", "", &trace_headers("my.trace.subj", deliver), data);
        if deliver {
            // Only one member of "bar" gets it.
            let msg1 = nc2.next_msg(&sub1, Duration::from_millis(100));
            let msg2 = nc3.next_msg(&sub2, Duration::from_millis(100));
            assert!(
                !(msg1.is_some() && msg2.is_some()),
                "only one message should have been received"
            );
            let val = msg1.or(msg2).expect("one member of bar got the message");
            assert_eq!(val.data, b"hello2");
            // Queue "baz" gets it too.
            let m = nc3.must_next(&sub3, Duration::from_secs(1));
            assert_eq!(m.data, b"hello2");
        }
        nc2.expect_no_msg(&sub1, Duration::from_millis(100));
        nc3.expect_no_msg(&sub2, Duration::from_millis(100));
        nc3.expect_no_msg(&sub3, Duration::from_millis(100));

        let e = nc
            .must_next(&trace_sub, Duration::from_secs(1))
            .trace_event();
        assert_eq!(e.server.name, s.shared().name, "{name}");
        let ingress = e.ingress().expect("ingress");
        assert_eq!(ingress.kind, KIND_CLIENT);
        assert_eq!(ingress.subj, "foo");
        let egress = e.egresses();
        assert_eq!(egress.len(), 2, "{name}: {egress:?}");
        let (mut qbar, mut qbaz) = (0, 0);
        for eg in egress {
            match eg.queue.as_str() {
                "bar" => {
                    assert_eq!(eg.sub, "foo");
                    qbar += 1;
                }
                "baz" => {
                    assert_eq!(eg.sub, "*");
                    qbaz += 1;
                }
                q => panic!("wrong queue name: {q:?}"),
            }
        }
        assert_eq!((qbar, qbaz), (1, 1), "{name}");
    }
}

port!("server/msgtrace_test.go::TestMsgTraceParseAccountDestWithSampling" => msg_trace_parse_account_dest_with_sampling);
fn msg_trace_parse_account_dest_with_sampling() {
    for (name, sampling_str, want) in [
        ("trace sampling no dest", "msg_trace: {sampling: 50}", 0),
        ("trace dest only", "msg_trace: {dest: foo}", 100),
        (
            "trace dest with number only",
            "msg_trace: {dest: foo, sampling: 20}",
            20,
        ),
        (
            "trace dest with percentage",
            "msg_trace: {dest: foo, sampling: 50%}",
            50,
        ),
    ] {
        let conf = create_conf_file(
            format!(
                "\n\t\tport: -1\n\t\taccounts {{\n\t\t\tA {{\n\t\t\t\tusers: [{{user: a, password: pwd}}]\n\t\t\t\t{sampling_str}\n\t\t\t}}\n\t\t}}\n\t"
            )
            .as_bytes(),
        );
        let o = load_config(conf);
        assert_eq!(o.accounts[0].trace_dest_sampling, want, "{name}");
    }
}
