//! Ports of `logger/syslog_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::logging::{network_and_addr, sys_logger_tag_from, Level, Log, SysLogger};
use ported::port;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the fake syslog server collects datagrams (Go: 100ms; longer here so a busy
/// test machine does not lose the line, which only makes the checks stricter).
const COLLECT_FOR: Duration = Duration::from_millis(500);

/// Go's `startServer` + `runSyslog`: a UDP syslog that collects everything it receives
/// until its deadline, then hands over the concatenated text.
fn start_server() -> (String, mpsc::Receiver<String>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("net.ListenPacket failed udp :0");
    let fqn = format!("udp://{}", socket.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    let deadline = Instant::now() + COLLECT_FOR;
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut rcvd = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match socket.recv(&mut buf) {
                Ok(n) if n > 0 => rcvd.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => break,
            }
        }
        let _ = tx.send(rcvd);
    });
    (fqn, rx)
}

fn done(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(COLLECT_FOR + Duration::from_secs(10))
        .expect("syslog server result")
}

/// Go's `expectSyslogOutput`: the text after `]: ` is exactly `expected`.
fn expect_syslog_output(line: &str, expected: &str) {
    let data: Vec<&str> = line.split("]: ").collect();
    assert_eq!(data.len(), 2, "Unexpected syslog line {line}");
    assert_eq!(
        data[1], expected,
        "Expected '{expected}', received '{}'",
        data[1]
    );
}

/// A stand-in for the local syslog daemon (this machine may have none at `/dev/log`):
/// a unix datagram socket in a temp dir. Returns the socket and its path.
fn fake_local_daemon() -> (super::TempDir, UnixDatagram, String) {
    let dir = super::TempDir::new();
    let path = dir.path().join("log");
    let sock = UnixDatagram::bind(&path).expect("bind fake syslog socket");
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (dir, sock, path.to_string_lossy().into_owned())
}

/// Checks a local logger really delivers to the daemon, in the local format.
fn expect_local_delivery(logger: &SysLogger, daemon: &UnixDatagram) {
    logger.log(Level::Notice, format_args!("hello"));
    let mut buf = [0u8; 1024];
    let n = daemon
        .recv(&mut buf)
        .expect("line at the fake syslog daemon");
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    // Facility daemon (3 << 3) | severity notice (5).
    assert!(line.starts_with("<29>"), "Unexpected syslog line {line}");
    expect_syslog_output(&line, "hello\n");
}

// Go's NewSysLogger connects to the system's syslog socket; the port connects to a fake
// daemon at a known path and also checks delivery.
port!("logger/syslog_test.go::TestSysLogger" => sys_logger);
fn sys_logger() {
    let (_dir, daemon, path) = fake_local_daemon();
    let logger = SysLogger::new_local_at(&path, false, false).expect("error connecting to syslog");
    assert!(!logger.debug_enabled(), "Expected false, received true");
    assert!(!logger.trace_enabled(), "Expected false, received true");
    expect_local_delivery(&logger, &daemon);
}

port!("logger/syslog_test.go::TestSysLoggerWithDebugAndTrace" => sys_logger_with_debug_and_trace);
fn sys_logger_with_debug_and_trace() {
    let (_dir, daemon, path) = fake_local_daemon();
    let logger = SysLogger::new_local_at(&path, true, true).expect("error connecting to syslog");
    assert!(logger.debug_enabled(), "Expected true, received false");
    assert!(logger.trace_enabled(), "Expected true, received false");
    expect_local_delivery(&logger, &daemon);
}

// Go sets os.Args[0] and reads the tag; the port gives argv[0] to the same function.
port!("logger/syslog_test.go::TestSysLoggerTagGen" => sys_logger_tag_gen);
fn sys_logger_tag_gen() {
    for (exe_path, expected) in [
        ("nats-server", "nats-server"),
        // filepath.Join(".", "nats-server") cleans to "nats-server".
        ("nats-server", "nats-server"),
        ("home/bin/nats-server", "nats-server"),
        ("../../nats-server", "nats-server"),
        ("nats-server.service1", "nats-server.service1"),
        ("nats-server_service1", "nats-server_service1"),
        ("nats-server-service1", "nats-server-service1"),
        ("nats-server service1", "nats-server service1"),
    ] {
        let result = sys_logger_tag_from(exe_path);
        assert_eq!(result, expected, "Expected {expected}, received {result}");
    }
    // Unclean forms reach the same tag.
    assert_eq!(sys_logger_tag_from("./nats-server"), "nats-server");
    assert_eq!(sys_logger_tag_from("/usr/bin/nats-server/"), "nats-server");
}

// Go sets os.Args[0] = "ServerLoggerTag" before creating the logger; Rust cannot change
// argv[0], so the port passes that tag, and checks it reaches the line the same way.
port!("logger/syslog_test.go::TestSysLoggerTag" => sys_logger_tag);
fn sys_logger_tag() {
    let tag = "ServerLoggerTag";
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote_with_tag(&fqn, tag, true, true).unwrap();
    logger.log(Level::Notice, format_args!("foo"));
    let line = done(&rx);
    let data: Vec<&str> = line.split('[').collect();
    assert_eq!(data.len(), 2, "Unexpected syslog line {line}");
    assert!(
        data[0].contains(tag),
        "Expected '{tag}', received '{}'",
        data[0]
    );
}

port!("logger/syslog_test.go::TestRemoteSysLogger" => remote_sys_logger);
fn remote_sys_logger() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, true, true).unwrap();
    assert!(logger.debug_enabled(), "Expected true, received false");
    assert!(logger.trace_enabled(), "Expected true, received false");
    logger.log(Level::Notice, format_args!("foo"));
    // Go only waits for the server; the port also checks the line arrived.
    assert!(!done(&rx).is_empty(), "no syslog line received");
}

port!("logger/syslog_test.go::TestRemoteSysLoggerNotice" => remote_sys_logger_notice);
fn remote_sys_logger_notice() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, true, true).unwrap();
    logger.log(Level::Notice, format_args!("foo {}", "bar"));
    expect_syslog_output(&done(&rx), "foo bar\n");
}

port!("logger/syslog_test.go::TestRemoteSysLoggerDebug" => remote_sys_logger_debug);
fn remote_sys_logger_debug() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, true, true).unwrap();
    logger.log(Level::Debug, format_args!("foo {}", "qux"));
    expect_syslog_output(&done(&rx), "foo qux\n");
}

port!("logger/syslog_test.go::TestRemoteSysLoggerDebugDisabled" => remote_sys_logger_debug_disabled);
fn remote_sys_logger_debug_disabled() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, false, false).unwrap();
    logger.log(Level::Debug, format_args!("foo {}", "qux"));
    let rcvd = done(&rx);
    assert_eq!(rcvd, "", "Unexpected syslog response {rcvd}");
}

port!("logger/syslog_test.go::TestRemoteSysLoggerTrace" => remote_sys_logger_trace);
fn remote_sys_logger_trace() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, true, true).unwrap();
    logger.log(Level::Trace, format_args!("foo {}", "qux"));
    expect_syslog_output(&done(&rx), "foo qux\n");
}

port!("logger/syslog_test.go::TestRemoteSysLoggerTraceDisabled" => remote_sys_logger_trace_disabled);
fn remote_sys_logger_trace_disabled() {
    let (fqn, rx) = start_server();
    let logger = SysLogger::new_remote(&fqn, true, false).unwrap();
    logger.log(Level::Trace, format_args!("foo {}", "qux"));
    let rcvd = done(&rx);
    assert_eq!(rcvd, "", "Unexpected syslog response {rcvd}");
}

port!("logger/syslog_test.go::TestGetNetworkAndAddrUDP" => get_network_and_addr_udp);
fn get_network_and_addr_udp() {
    let (n, a) = network_and_addr("udp://foo.com:1000").unwrap();
    assert_eq!(n, "udp", "Unexpected network {n}");
    assert_eq!(a, "foo.com:1000", "Unexpected addr {a}");
}

port!("logger/syslog_test.go::TestGetNetworkAndAddrTCP" => get_network_and_addr_tcp);
fn get_network_and_addr_tcp() {
    let (n, a) = network_and_addr("tcp://foo.com:1000").unwrap();
    assert_eq!(n, "tcp", "Unexpected network {n}");
    assert_eq!(a, "foo.com:1000", "Unexpected addr {a}");
}

port!("logger/syslog_test.go::TestGetNetworkAndAddrUnix" => get_network_and_addr_unix);
fn get_network_and_addr_unix() {
    let (n, a) = network_and_addr("unix:///foo.sock").unwrap();
    assert_eq!(n, "unix", "Unexpected network {n}");
    assert_eq!(a, "/foo.sock", "Unexpected addr {a}");
}
