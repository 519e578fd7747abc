//! Ports of `test/fanout_test.go` (Go's no-race load tests).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use ported::port;
use ported::support::{re, run_server, RawConn};
use std::io::Read;
use std::time::{Duration, Instant};

/// How long a subscriber connection may take to receive everything.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads MSGs off a raw connection and checks that each subscription (sid `0..nsubs`)
/// receives the payloads `0..npubs` in order.
struct OrderedReceiver {
    conn: RawConn,
    buf: Vec<u8>,
    expected: Vec<usize>,
    npubs: usize,
    done_subs: usize,
}

impl OrderedReceiver {
    fn new(conn: RawConn, nsubs: usize, npubs: usize) -> Self {
        OrderedReceiver {
            conn,
            buf: Vec::new(),
            expected: vec![0; nsubs],
            npubs,
            done_subs: 0,
        }
    }

    /// Consumes whole MSGs from the front of the buffer.
    fn consume(&mut self) {
        let mut pos = 0;
        loop {
            let rest = &self.buf[pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                break;
            };
            assert!(
                nl > 0 && rest[nl - 1] == b'\r',
                "protocol line without CRLF"
            );
            let eol = nl - 1;
            let line = std::str::from_utf8(&rest[..eol]).unwrap();
            // A client answers the server's PINGs (the short first one comes after ~2s).
            if line == "PING" {
                self.conn.send("PONG\r\n");
                pos += eol + 2;
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            assert!(
                fields.len() == 4 && fields[0] == "MSG",
                "unexpected protocol line {line:?}"
            );
            let sid: usize = fields[2].parse().unwrap();
            let size: usize = fields[3].parse().unwrap();
            let total = eol + 2 + size + 2;
            if rest.len() < total {
                break;
            }
            let payload = std::str::from_utf8(&rest[eol + 2..eol + 2 + size]).unwrap();
            let n: usize = payload.parse().unwrap();
            let exp = &mut self.expected[sid];
            assert_eq!(n, *exp, "Expected {exp} but received {n} (sid {sid})");
            *exp += 1;
            if *exp == self.npubs {
                self.done_subs += 1;
            }
            pos += total;
        }
        self.buf.drain(..pos);
    }

    /// Reads until every subscription has all its messages.
    fn run(mut self) {
        let deadline = Instant::now() + RECEIVE_TIMEOUT;
        let mut tmp = vec![0u8; 64 * 1024];
        let mut stream = self.conn.stream().try_clone().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        while self.done_subs < self.expected.len() {
            assert!(
                Instant::now() < deadline,
                "timed out: {} of {} subscriptions complete",
                self.done_subs,
                self.expected.len()
            );
            match stream.read(&mut tmp) {
                Ok(0) => panic!("server closed the connection"),
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    self.consume();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read error: {e}"),
            }
        }
        assert!(self.buf.is_empty(), "more than expected was received");
    }
}

// Many subscriptions on one subject from many connections: each subscription still gets
// the messages in publish order.
port!(
    "test/fanout_test.go::TestNoRaceHighFanoutOrdering" => no_race_high_fanout_ordering,
    opt_in = "load test: 5M deliveries to 100 connections, ~20 s in a debug build; it starves timing-sensitive ports running beside it"
);
fn no_race_high_fanout_ordering() {
    // Go's bare `Options{Host, Port: RANDOM_PORT}` (it logs; the log is not under test).
    let s = run_server(Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        ..Options::default()
    });

    const NCONNS: usize = 100;
    const NSUBS: usize = 100;
    const NPUBS: usize = 500;

    // A unique subject, like an inbox.
    let subj = format!("_INBOX.fanout{}", std::process::id());

    let mut receivers = Vec::with_capacity(NCONNS);
    for _ in 0..NCONNS {
        let mut c = RawConn::setup(s.addr);
        let mut subs = String::new();
        for sid in 0..NSUBS {
            subs.push_str(&format!("SUB {subj} {sid}\r\n"));
        }
        c.send(&subs);
        // Flush: the subscriptions are in place once PONG comes back.
        c.send("PING\r\n");
        c.expect(&re::PONG);
        receivers.push(OrderedReceiver::new(c, NSUBS, NPUBS));
    }

    let handles: Vec<_> = receivers
        .into_iter()
        .map(|r| std::thread::spawn(move || r.run()))
        .collect();

    let mut publisher = RawConn::setup(s.addr);
    let mut pubs = String::new();
    for i in 0..NPUBS {
        let payload = i.to_string();
        pubs.push_str(&format!("PUB {subj} {}\r\n{payload}\r\n", payload.len()));
    }
    publisher.send(&pubs);

    for h in handles {
        if let Err(e) = h.join() {
            std::panic::resume_unwind(e);
        }
    }
}
