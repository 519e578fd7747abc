//! Endpoint tests against a running server (no HTTP: `http::handle` answers directly).

#![allow(clippy::unwrap_used)]

use super::http::handle;
use crate::config::Options;
use crate::server::BackgroundServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn server(max_connections: i64) -> BackgroundServer {
    BackgroundServer::start(Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        max_connections,
        ..Options::default()
    })
    .unwrap()
}

fn wait_for(mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(2);
    while !f() {
        assert!(Instant::now() < end, "condition not met in time");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn refused_clients_are_kept_as_closed() {
    let s = server(1);
    let mut first = TcpStream::connect(s.addr).unwrap();
    let mut buf = [0u8; 512];
    let _ = first.read(&mut buf).unwrap();
    first.write_all(b"CONNECT {}\r\nPING\r\n").unwrap();
    let _ = first.read(&mut buf).unwrap();
    let _second = TcpStream::connect(s.addr).unwrap();
    wait_for(|| s.shared().monitor.num_closed() == 1);
    let closed = s.shared().monitor.closed_clients();
    assert_eq!(closed[0].info.reason, "Maximum Connections Exceeded");
}

#[test]
fn unknown_paths_are_404_and_json_has_cors() {
    let s = server(0);
    let r = handle(s.shared(), "/", "/nope", "");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"404 page not found\n");
    let r = handle(s.shared(), "/", "/varz", "");
    assert_eq!(
        (r.status, r.content_type, r.cors),
        (200, "application/json", true)
    );
    let r = handle(s.shared(), "/nats", "/varz", "");
    assert_eq!(r.status, 404);
    let r = handle(s.shared(), "/nats", "/nats/connz", "state=closed");
    assert_eq!(r.status, 200);
    let r = handle(s.shared(), "/", "/healthz", "stream=x");
    assert_eq!(r.status, 400);
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        r#"{"status":"error","error":"\"account\" must not be empty when checking stream health"}"#
    );
    let r = handle(s.shared(), "/", "/raftz", "");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (404, &b"No Raft nodes registered"[..])
    );
    let r = handle(s.shared(), "/", "/jsz", "leader-only=true");
    assert_eq!(r.status, 400);
    let r = handle(s.shared(), "/", "/metrics", "");
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("gnatsd_varz_connections{server_id="));
}

#[test]
fn jsonp_callback_wraps_json() {
    let s = server(0);
    let plain = handle(s.shared(), "/", "/subsz", "");
    let r = handle(s.shared(), "/", "/subsz", "callback=cb");
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/javascript");
    let body = String::from_utf8(r.body).expect("utf8");
    assert!(body.starts_with("cb(") && body.ends_with(')'), "{body}");
    let inner = &body[3..body.len() - 1];
    let v: serde_json::Value = serde_json::from_str(inner).expect("json inside");
    assert!(v.get("num_subscriptions").is_some(), "{v}");
    assert_eq!(plain.content_type, "application/json");
    // Errors and plain text are never wrapped.
    let r = handle(s.shared(), "/", "/nope", "callback=cb");
    assert_eq!(r.status, 404);
    assert!(!String::from_utf8_lossy(&r.body).starts_with("cb("));
}
