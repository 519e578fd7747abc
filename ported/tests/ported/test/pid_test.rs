//! Ports of `test/pid_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::config::Options;
use ported::port;
use ported::support::{default_test_options, run_server};

port!("test/pid_test.go::TestPidFile" => pid_file);
fn pid_file() {
    let dir = TempDir::new();
    // An existing file: the server overwrites it.
    let file = dir.create_file("nats-server:pid_");
    let opts = Options {
        pid_file: Some(file.clone()),
        ..default_test_options()
    };

    let mut s = run_server(opts);
    s.shutdown();

    let buf = std::fs::read(&file).expect("Could not read pid_file");
    assert!(!buf.is_empty(), "Expected a non-zero length pid_file");
    // Go reads it with `%d`: leading digits, whatever follows.
    let text = String::from_utf8_lossy(&buf);
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let pid: u32 = digits.parse().unwrap_or(0);
    assert_eq!(
        pid,
        std::process::id(),
        "Expected pid to be {}, got {pid}",
        std::process::id()
    );
}
