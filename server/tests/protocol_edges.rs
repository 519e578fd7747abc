//! Client-protocol behaviour of nats-server v2.14.5 that no ported Go test pins down alone:
//! the connect-info INFO after the first PONG, and what a client's `-ERR` / `INFO` do.

use natsd::config::Options;
use natsd::server::BackgroundServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn server() -> BackgroundServer {
    BackgroundServer::start(Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        // No server PING 2 s in: these tests wait that long to see that nothing comes.
        disable_short_first_ping: true,
        ..Options::default()
    })
    .expect("server starts")
}

/// Reads until `done` says the bytes are complete, the peer closes, or 2 s pass.
fn read_until(c: &mut TcpStream, done: impl Fn(&str) -> bool) -> (String, bool) {
    let end = Instant::now() + Duration::from_secs(2);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end && !done(&String::from_utf8_lossy(&got)) {
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        match c.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

fn connect(s: &BackgroundServer) -> TcpStream {
    let mut c = TcpStream::connect(s.addr).expect("connect");
    let (info, _) = read_until(&mut c, |b| b.ends_with(" \r\n"));
    assert!(info.starts_with("INFO {"), "{info}");
    c
}

#[test]
fn protocol_one_client_gets_connect_info_after_first_pong() {
    let s = server();
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
        .expect("write");
    let (got, _) = read_until(&mut c, |b| b.matches("\r\n").count() >= 2);
    let (pong, info) = got.split_once("\r\n").expect("two lines");
    assert_eq!(pong, "PONG");
    let json = info
        .strip_prefix("INFO ")
        .and_then(|j| j.strip_suffix(" \r\n"))
        .expect("an INFO line");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(v["connect_info"], true);
    assert_eq!(v["remote_account"], "$G");
    assert!(v.get("acc_is_sys").is_none(), "false is omitted: {v}");
    // Only the first PING gets it.
    c.write_all(b"PING\r\n").expect("write");
    let (got, _) = read_until(&mut c, |b| b.contains("PONG\r\n"));
    assert_eq!(got, "PONG\r\n");
    let (more, _) = read_until(&mut c, |b| !b.is_empty());
    assert_eq!(more, "");
}

#[test]
fn protocol_zero_client_gets_no_connect_info() {
    let s = server();
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false,\"protocol\":0}\r\nPING\r\n")
        .expect("write");
    let (got, _) = read_until(&mut c, |b| b.contains("PONG\r\n"));
    assert_eq!(got, "PONG\r\n");
    let (more, _) = read_until(&mut c, |b| !b.is_empty());
    assert_eq!(more, "");
}

#[test]
fn err_from_client_closes_the_connection() {
    let s = server();
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false}\r\n-ERR 'oops'\r\n")
        .expect("write");
    let (got, closed) = read_until(&mut c, |_| false);
    assert!(closed, "closed by the server");
    assert_eq!(got, "", "nothing is sent back");
}

#[test]
fn info_from_client_is_ignored_unless_it_does_not_decode() {
    let s = server();
    let mut c = connect(&s);
    c.write_all(b"CONNECT {\"verbose\":false}\r\nINFO {\"server_id\":\"x\"}\r\nPING\r\n")
        .expect("write");
    let (got, _) = read_until(&mut c, |b| b.contains("PONG\r\n"));
    assert_eq!(got, "PONG\r\n");
    c.write_all(b"INFO 42\r\n").expect("write");
    let (got, closed) = read_until(&mut c, |_| false);
    assert!(closed, "a number is not an Info: the connection is closed");
    assert_eq!(got, "");
}

/// A subscriber that stops reading while 1 MiB messages pile up, on a server whose write
/// deadline is 100 ms. Returns the server and the subscriber's connection (kept open).
fn stalled_subscriber(
    policy: natsd::config::options::WriteTimeoutPolicy,
) -> (BackgroundServer, TcpStream, u64) {
    let s = BackgroundServer::start(Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        write_deadline: Duration::from_millis(100),
        write_timeout: policy,
        disable_short_first_ping: true,
        ..Options::default()
    })
    .expect("server starts");
    let mut sub = connect(&s);
    sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPING\r\n")
        .expect("write");
    let (got, _) = read_until(&mut sub, |b| b.contains("PONG\r\n"));
    assert_eq!(got, "PONG\r\n");
    let cid = s
        .shared()
        .clients()
        .iter()
        .map(|c| c.cid)
        .max()
        .expect("the subscriber");
    let mut publisher = connect(&s);
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .expect("write");
    let payload = vec![b'x'; 1024 * 1024];
    for _ in 0..40 {
        let mut m = b"PUB foo 1048576\r\n".to_vec();
        m.extend_from_slice(&payload);
        m.extend_from_slice(b"\r\n");
        if publisher.write_all(&m).is_err() {
            break;
        }
    }
    (s, sub, cid)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn write_timeout_retry_keeps_a_slow_consumer_connected() {
    use natsd::config::options::WriteTimeoutPolicy;
    let (s, _sub, cid) = stalled_subscriber(WriteTimeoutPolicy::Retry);
    let client = s
        .shared()
        .clients()
        .into_iter()
        .find(|c| c.cid == cid)
        .expect("client");
    assert_eq!(client.write_timeout_policy(), WriteTimeoutPolicy::Retry);
    wait_for("the slow consumer mark", || client.is_slow_consumer());
    assert!(!client.is_closed(), "retry keeps the connection");
}

#[test]
fn write_timeout_close_cuts_a_slow_consumer() {
    use natsd::config::options::WriteTimeoutPolicy;
    let (s, _sub, cid) = stalled_subscriber(WriteTimeoutPolicy::Default);
    let client = s
        .shared()
        .clients()
        .into_iter()
        .find(|c| c.cid == cid)
        .expect("client");
    assert_eq!(client.write_timeout_policy(), WriteTimeoutPolicy::Close);
    wait_for("the close", || client.is_closed());
    assert_eq!(
        client.close_reason(),
        Some(natsd::closed::ClosedState::SlowConsumerWriteDeadline)
    );
    assert!(!client.is_slow_consumer());
}
