//! Connection behaviour checked over a real socket against an in-process server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::connect::ConnectInfo;
use super::Client;
use crate::closed::ClosedState;
use crate::config::Options;
use crate::server::BackgroundServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn opts() -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        // Subscription counts below are the clients' own: no system account's.
        no_system_account: true,
        ..Options::default()
    }
}

/// Reads until `want` has arrived (or the connection closes, or 2 s pass); returns all.
fn read_until(c: &mut TcpStream, want: &str) -> String {
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(2);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end && !String::from_utf8_lossy(&got).contains(want) {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn connect(s: &BackgroundServer) -> TcpStream {
    let mut c = TcpStream::connect(s.addr).unwrap();
    read_until(&mut c, "\r\n");
    c
}

#[test]
fn connect_before_and_after_defaults_to_verbose_and_pedantic() {
    let s = BackgroundServer::start(opts()).unwrap();
    // No CONNECT yet: Go's defaults answer +OK.
    let mut c = connect(&s);
    c.write_all(b"SUB foo 1\r\nPING\r\n").unwrap();
    assert_eq!(read_until(&mut c, "PONG\r\n"), "+OK\r\nPONG\r\n");
    // A CONNECT that does not mention verbose keeps it on.
    c.write_all(b"CONNECT {\"name\":\"x\"}\r\nPING\r\n")
        .unwrap();
    assert_eq!(read_until(&mut c, "PONG\r\n"), "+OK\r\nPONG\r\n");
    // Turned off, it stays off through a later CONNECT that leaves it out.
    c.write_all(b"CONNECT {\"verbose\":false}\r\nCONNECT {\"echo\":false}\r\nPING\r\n")
        .unwrap();
    assert_eq!(read_until(&mut c, "PONG\r\n"), "PONG\r\n");
    let client = &s.shared().clients()[0];
    let o = client.connect_opts();
    assert!(!o.verbose && !o.echo && o.pedantic);
    assert_eq!(o.name, "x");
}

#[test]
fn pedantic_invalid_publish_subject_is_reported_then_delivered() {
    let s = BackgroundServer::start(opts()).unwrap();
    let mut c = connect(&s);
    c.write_all(
        b"CONNECT {\"verbose\":true,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 2\r\nok\r\nPING\r\n",
    )
    .unwrap();
    // As nats-server: the -ERR, then the +OK of the PUB, then the delivery.
    assert_eq!(
        read_until(&mut c, "PONG\r\n"),
        "+OK\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nMSG foo.* 1 2\r\nok\r\nPONG\r\n"
    );
}

#[test]
fn sys_group_queue_is_refused() {
    let s = BackgroundServer::start(opts()).unwrap();
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo _sys_ 1\r\nPING\r\n")
        .unwrap();
    assert_eq!(
        read_until(&mut c, "PONG\r\n"),
        "-ERR 'Permissions Violation for Subscription to \"foo\" using queue \"_sys_\"'\r\nPONG\r\n"
    );
    assert_eq!(s.shared().num_subscriptions(), 0);
}

#[test]
fn subs_after_a_close_in_the_same_read_are_not_added() {
    // The connection's own PUB makes it a slow consumer (echo, small max_pending); the
    // SUBs behind it in the same read find it closed.
    let s = BackgroundServer::start(Options {
        max_pending: 1024,
        max_payload: 1024,
        ..opts()
    })
    .unwrap();
    let mut c = connect(&s);
    // With its MSG line, the message is over max_pending on its own.
    let payload = "x".repeat(1020);
    let op = format!(
        "CONNECT {{\"verbose\":false}}\r\nSUB foo 1\r\nPUB foo 1020\r\n{payload}\r\nSUB bar 2\r\nSUB baz 3\r\n"
    );
    c.write_all(op.as_bytes()).unwrap();
    read_until(&mut c, "never");
    let end = Instant::now() + Duration::from_secs(2);
    while s.shared().num_clients() > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.shared().num_clients(), 0);
    assert_eq!(s.shared().num_subscriptions(), 0);
}

#[test]
fn label_brackets_ipv6_and_carries_client_info_from_the_first_connect() {
    let c = Client::new(7, "::1".to_string(), 4222, 1024);
    assert_eq!(c.label(), "[::1]:4222 - cid:7");
    let info = ConnectInfo::parse(br#"{"version":"1.0.0","lang":"go","name":"app"}"#).unwrap();
    c.label_with_client_info(&info);
    assert_eq!(c.label(), "[::1]:4222 - cid:7 - \"v1.0.0:go:app\"");

    let c = Client::new(8, "127.0.0.1".to_string(), 5000, 1024);
    c.label_with_client_info(&ConnectInfo::parse(br#"{"name":"only"}"#).unwrap());
    assert_eq!(c.label(), "127.0.0.1:5000 - cid:8 - \"only\"");
    let c = Client::new(9, "127.0.0.1".to_string(), 5000, 1024);
    c.label_with_client_info(&ConnectInfo::parse(b"{}").unwrap());
    assert_eq!(c.label(), "127.0.0.1:5000 - cid:9");
}

#[test]
fn bad_protocol_closes_with_its_reason() {
    let s = BackgroundServer::start(opts()).unwrap();
    let mut c = connect(&s);
    let client = s.shared().clients()[0].clone();
    c.write_all(b"CONNECT {\"protocol\":22}\r\n").unwrap();
    assert_eq!(
        read_until(&mut c, "never"),
        "-ERR 'invalid client protocol'\r\n"
    );
    assert_eq!(
        client.close_reason(),
        Some(ClosedState::BadClientProtocolVersion)
    );
}

#[test]
fn a_stalled_read_is_reported() {
    use crate::logging::{CaptureLogger, Level};
    use std::sync::Arc;
    super::set_read_loop_report_threshold(Duration::from_millis(100));
    let s = BackgroundServer::start(opts()).unwrap();
    let cap = Arc::new(CaptureLogger::retaining());
    s.shared()
        .logging
        .set_logger(Some(cap.clone()), false, false);
    let mut sub = connect(&s);
    sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPING\r\n")
        .unwrap();
    read_until(&mut sub, "PONG\r\n");
    let client = s.shared().clients()[0].clone();
    let mut publ = connect(&s);
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let _g = client.lock_outbound();
        held_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(250));
    });
    held_rx.recv().unwrap();
    publ.write_all(b"CONNECT {\"verbose\":false}\r\nPUB foo 2\r\nok\r\nPING\r\n")
        .unwrap();
    read_until(&mut publ, "PONG\r\n");
    holder.join().unwrap();
    // The warning comes once the read is done, which the PONG may overtake.
    let end = Instant::now() + Duration::from_secs(2);
    let warned = loop {
        let warned = cap
            .entries()
            .into_iter()
            .any(|(l, m)| l == Level::Warn && m.contains("Readloop processing time: "));
        if warned || Instant::now() > end {
            break warned;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    super::set_read_loop_report_threshold(Duration::from_secs(2));
    assert!(warned, "{:?}", cap.messages());
}

#[test]
fn stale_connections_are_counted_in_varz() {
    let s = BackgroundServer::start(Options {
        ping_interval: Duration::from_millis(50),
        max_pings_out: 1,
        disable_short_first_ping: true,
        ..opts()
    })
    .unwrap();
    assert_eq!(crate::monitor::varz(s.shared()).stale_connections, 0);
    // A client that never answers PING is closed as stale.
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
    let got = read_until(&mut c, "Stale Connection");
    assert!(got.contains("-ERR 'Stale Connection'"), "{got}");
    let end = Instant::now() + Duration::from_secs(2);
    while s.shared().num_clients() > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let v = crate::monitor::varz(s.shared());
    assert_eq!(v.stale_connections, 1);
    assert_eq!(v.stale_connection_stats.map(|k| k.clients), Some(1));
}
