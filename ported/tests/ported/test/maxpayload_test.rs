//! Ports of `test/maxpayload_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::config::Options;
use ported::port;
use ported::support::{default_test_options, re, run_server, run_server_with_config, RawConn};
use std::io::{ErrorKind, Write};
use std::time::Duration;

port!("test/maxpayload_test.go::TestMaxPayload" => max_payload);
fn max_payload() {
    // Go's configs/override.conf sets `max_payload: 2222` on a fixed port; the port is
    // random here so ports run in parallel.
    let dir = TempDir::new();
    let conf = dir.path().join("override.conf");
    std::fs::write(&conf, "listen: 127.0.0.1:-1\nmax_payload: 2222\n").unwrap();
    let (srv, _opts) = run_server_with_config(&conf);

    let size = 4 * 1024 * 1024;
    let big = vec![b'A'; size];

    // A well-behaved client learns the limit from INFO and refuses to publish past it
    // (nats.go's ErrMaxPayload for the 4 MiB message), so it never sends the message...
    let mut nc = RawConn::connect(srv.addr);
    let info = nc.check_info();
    assert_eq!(info["max_payload"], 2222, "INFO max_payload: {info}");
    nc.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n");
    nc.expect(&re::PONG);

    // ...while a raw connection that announces it is told off at once.
    let mut conn = RawConn::connect(srv.addr);
    conn.check_info();
    conn.send(&format!("PUB bar {size}\r\n"));
    conn.expect_err("Maximum Payload Violation");

    // The client that held back is still connected.
    nc.send("PING\r\n");
    nc.expect(&re::PONG);

    // The one that goes on to send the bytes finds its connection closed.
    let mut stream = conn.stream();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let err = stream
        .write_all(&big)
        .expect_err("Expected error due to maximum payload transgression.");
    assert!(
        !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "Expected a closed connection, got a write timeout"
    );
}

port!("test/maxpayload_test.go::TestMaxPayloadOverrun" => max_payload_overrun);
fn max_payload_overrun() {
    let s = run_server(Options {
        max_payload: 10000,
        ..default_test_options()
    });

    // A size that overruns an int32 is refused as too large.
    let mut c = RawConn::setup(s.addr);
    c.send("PUB foo 199380988\r\n");
    c.expect_err("Maximum Payload Violation");

    // A size that overruns an int64 is not a size at all: the server closes the
    // connection without a word.
    let mut c = RawConn::setup(s.addr);
    c.send("PUB foo 18446744073709551615123\r\n");
    c.expect_eof();
}
