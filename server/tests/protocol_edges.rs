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
        c.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
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
