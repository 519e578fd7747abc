//! Ports of `test/pedantic_test.go`: subject checks for clients that CONNECT with
//! `"pedantic":true`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::config::Options;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{default_test_options, re, run_server, RawConn};

/// Go's `runPedanticServer`: logging on, with tracing. Go logs to stderr; here the log
/// goes to a file in `dir` so parallel ports keep the test output readable.
fn run_pedantic_server(dir: &TempDir) -> BackgroundServer {
    run_server(Options {
        no_log: false,
        trace: true,
        log_file: Some(dir.path().join("nats-server.log")),
        ..default_test_options()
    })
}

port!("test/pedantic_test.go::TestPedanticSub" => pedantic_sub);
fn pedantic_sub() {
    let dir = TempDir::new();
    let s = run_pedantic_server(&dir);
    let mut c = RawConn::connect(s.addr);
    c.do_connect(false, true, false);

    // Ping should still be same
    c.send("PING\r\n");
    c.expect(&re::PONG);

    // SUB subjects may hold wildcards, but must still be well formed.
    // Empty terminal token
    c.send("SUB foo. 1\r\n");
    c.expect_err("Invalid Subject");
    // Empty beginning token
    c.send("SUB .foo. 1\r\n");
    c.expect_err("Invalid Subject");
    // Empty middle token
    c.send("SUB foo..bar 1\r\n");
    c.expect_err("Invalid Subject");
    // Bad non-terminal FWC: exactly one error, and it is 'Invalid Subject'.
    c.send("SUB foo.>.bar 1\r\n");
    let buf = c.expect(&re::ERR);
    let matches: Vec<_> = re::ERR.captures_iter(&buf).collect();
    assert_eq!(matches.len(), 1, "Wanted one overall match");
    let text = String::from_utf8_lossy(&matches[0][1]).into_owned();
    assert_eq!(
        text, "'Invalid Subject'",
        "Expected 'Invalid Subject', got {text}"
    );
    // None of them subscribed (the server's own subscriptions for system events aside).
    let client_subs: usize = s.shared().clients().iter().map(|c| c.num_subs()).sum();
    assert_eq!(client_subs, 0);
}

port!("test/pedantic_test.go::TestPedanticPub" => pedantic_pub);
fn pedantic_pub() {
    let dir = TempDir::new();
    let s = run_pedantic_server(&dir);
    let mut c = RawConn::connect(s.addr);
    c.do_connect(false, true, false);

    // Ping should still be same
    c.send("PING\r\n");
    c.expect(&re::PONG);

    // PUB subjects can not have wildcards, nor empty tokens, in pedantic mode.
    for subject in ["foo.*", "foo.>", "foo.", ".foo", "foo..*"] {
        c.send(&format!("PUB {subject} 2\r\nok\r\n"));
        c.expect_err("Invalid Publish Subject");
    }
}
