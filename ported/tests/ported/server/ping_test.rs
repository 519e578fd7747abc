//! Ports of `server/ping_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use ported::port;
use ported::support::{default_test_options, re, run_server, RawConn};
use std::time::{Duration, Instant};

port!("server/ping_test.go::TestPing" => ping);
fn ping() {
    // Go's DefaultPingOptions: a 50ms ping interval, and no short first PING.
    let mut o = default_test_options();
    o.ping_interval = Duration::from_millis(50);
    o.disable_short_first_ping = true;
    let srv = run_server(o);

    let mut c = RawConn::connect(srv.addr);
    // Wait for INFO
    c.check_info();
    c.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
    // Wait for the first PONG
    c.expect(&re::PONG);
    // Wait for PINGs
    let mut start = Instant::now();
    for i in 0..3 {
        c.expect(&re::PING);
        let dur = start.elapsed();
        assert!(
            dur >= Duration::from_millis(25) && dur <= Duration::from_millis(75),
            "PING {i}: Pings duration off: {dur:?}"
        );
        c.send("PONG\r\n");
        start = Instant::now();
    }
}
