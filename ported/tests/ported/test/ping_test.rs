//! Ports of `test/ping_test.go`: the server's PINGs, stale connections and PING
//! suppression, seen from a raw client.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{default_test_options, re, run_server, RawConn};
use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

const PING_INTERVAL: Duration = Duration::from_millis(50);
const PING_MAX: u32 = 2;

/// Go's `runPingServer`.
fn run_ping_server() -> BackgroundServer {
    run_server(Options {
        ping_interval: PING_INTERVAL,
        max_pings_out: PING_MAX,
        ..default_test_options()
    })
}

/// Writes PINGs until a write fails; the failure must be the server having closed the
/// connection, not the write deadline.
fn expect_closed_on_write(c: &RawConn) {
    let mut stream = c.stream();
    stream.set_write_timeout(Some(PING_INTERVAL)).unwrap();
    let err = loop {
        if let Err(e) = stream.write_all(b"PING\r\n") {
            break e;
        }
    };
    stream.set_write_timeout(None).unwrap();
    assert!(
        !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "timeout: Expected to have connection closed"
    );
}

/// The server sends `PING_MAX` PINGs, then `-ERR 'Stale Connection'`.
fn expect_pings_then_stale(c: &mut RawConn) {
    for _ in 0..PING_MAX {
        std::thread::sleep(PING_INTERVAL / 2);
        c.expect(&re::PING);
    }
    // We should get an error from the server
    std::thread::sleep(PING_INTERVAL);
    c.expect_err("Stale Connection");
}

port!("test/ping_test.go::TestPingInterval" => ping_interval);
fn ping_interval() {
    let s = run_ping_server();
    let mut c = RawConn::connect(s.addr);
    c.do_connect(false, false, false);

    expect_pings_then_stale(&mut c);

    // Server should close the connection at this point.
    std::thread::sleep(PING_INTERVAL);
    expect_closed_on_write(&c);
}

port!("test/ping_test.go::TestUnpromptedPong" => unprompted_pong);
fn unprompted_pong() {
    let s = run_ping_server();
    let mut c = RawConn::connect(s.addr);
    c.do_connect(false, false, false);

    // Lots of PONGs in a row...
    for _ in 0..100 {
        c.send("PONG\r\n");
    }
    // ...do not stop the server from sending its PINGs and closing the connection.
    expect_pings_then_stale(&mut c);
    expect_closed_on_write(&c);
}

port!("test/ping_test.go::TestPingSuppresion" => ping_suppression);
fn ping_suppression() {
    let ping_interval = Duration::from_millis(100);
    let high_water = Duration::from_millis(130);
    let s = run_server(Options {
        ping_interval,
        disable_short_first_ping: true,
        ..default_test_options()
    });
    let mut c = RawConn::connect(s.addr);
    let connect_time = Instant::now();
    c.do_connect(false, false, false);

    c.expect(&re::PING);
    let ping_time = connect_time.elapsed();
    c.send("PONG\r\n");

    // Just over the interval (the first PING is spread by up to 20%).
    assert!(
        ping_time >= ping_interval,
        "pingTime too low: {ping_time:?}"
    );
    assert!(ping_time <= high_water, "pingTime too high: {ping_time:?}");

    std::thread::sleep(ping_interval / 2);

    // Sending a PING should suppress ours.
    c.send("PING\r\n");
    c.expect(&re::PONG);

    // Through the time a PING would have fired and been delivered, nothing comes.
    c.expect_nothing_for(Duration::from_millis(100));
}

/// The TLS port of this file.
mod tls_ports {
    use super::*;
    use ported::tls_client::{raw_tls, test_cert, ClientOptions};
    use std::io::{BufRead, BufReader};

    port!("test/ping_test.go::TestPingSentToTLSConnection" => ping_sent_to_tls_connection);
    fn ping_sent_to_tls_connection() {
        let tc = natsd::tls::TlsConfigOpts {
            cert_file: test_cert("server-cert.pem"),
            key_file: test_cert("server-key.pem"),
            ca_file: test_cert("ca.pem"),
            ..natsd::tls::TlsConfigOpts::default()
        };
        let s = run_server(Options {
            ping_interval: PING_INTERVAL,
            max_pings_out: PING_MAX,
            tls_config: Some(std::sync::Arc::new(
                natsd::tls::gen_tls_config(&tc).unwrap(),
            )),
            tls_timeout: Duration::from_secs(5),
            ..default_test_options()
        });
        let (mut tls, _info) = raw_tls(
            s.addr,
            &ClientOptions::default().root_ca(test_cert("ca.pem")),
        )
        .unwrap();
        tls.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":true}\r\n")
            .unwrap();
        tls.flush().unwrap();
        tls.sock
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut r = BufReader::new(tls);
        let mut line = String::new();
        // The PINGs arrive over TLS, then the stale error.
        for _ in 0..PING_MAX {
            std::thread::sleep(PING_INTERVAL / 2);
            line.clear();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "PING\r\n");
        }
        std::thread::sleep(PING_INTERVAL);
        line.clear();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "-ERR 'Stale Connection'\r\n");
        // The server closes the connection: writes end in an error, not a timeout.
        std::thread::sleep(PING_INTERVAL);
        let mut tls = r.into_inner();
        tls.sock.set_write_timeout(Some(PING_INTERVAL)).unwrap();
        let started = Instant::now();
        let err = loop {
            if let Err(e) = tls.write_all(b"PING\r\n").and_then(|_| tls.flush()) {
                break e;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "No error: Expected to have connection closed"
            );
        };
        assert!(
            !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "timeout: Expected to have connection closed"
        );
    }
}
