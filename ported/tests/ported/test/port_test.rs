//! Ports of `test/port_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::options::{DEFAULT_PORT, RANDOM_PORT};
use natsd::config::Options;
use ported::port;
use ported::support::run_server;

port!("test/port_test.go::TestResolveRandomPort" => resolve_random_port);
fn resolve_random_port() {
    // Go logs to stderr here; the log is not under test, so it stays off.
    let opts = Options {
        host: "127.0.0.1".to_string(),
        port: RANDOM_PORT,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    };
    let s = run_server(opts);

    let addr = s.server.client_addr().expect("the server is listening");
    let port_num = i32::from(addr.port());
    assert_ne!(
        port_num,
        i32::from(DEFAULT_PORT),
        "Expected server to choose a random port\nGot: {DEFAULT_PORT}"
    );
    assert_ne!(
        port_num, RANDOM_PORT,
        "Expected server to choose a random port\nGot: {RANDOM_PORT}"
    );
    // Go writes the chosen port back into the options; natsd's options are immutable, so
    // the same fact is the port the server itself reports (INFO) and really listens on.
    let info_port = i32::from(s.shared().info().port);
    assert_eq!(
        info_port, port_num,
        "Options port ({info_port}) should have been overridden by chosen random port ({port_num})"
    );
    assert_eq!(s.addr, addr);
}
