//! Ports of `test/pid_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::config::Options;
use ported::port;
use ported::support::{check_for, default_test_options, run_server, NatsdProcess};
use std::path::Path;
use std::time::Duration;

/// The pid a pid file holds, read like Go's `%d`: the leading digits.
fn read_pid(path: &Path) -> u32 {
    let buf = std::fs::read(path).expect("Could not read pid_file");
    assert!(!buf.is_empty(), "Expected a non-zero length pid_file");
    let text = String::from_utf8_lossy(&buf);
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

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

    let pid = read_pid(&file);
    assert_eq!(
        pid,
        std::process::id(),
        "Expected pid to be {}, got {pid}",
        std::process::id()
    );

    // Beyond Go: the `natsd` binary with `--pid` writes its own process id too.
    let bin_file = dir.path().join("natsd.pid");
    let bin_path = bin_file.to_string_lossy().into_owned();
    let natsd = NatsdProcess::start(&["-a", "127.0.0.1", "-p", "-1", "--pid", &bin_path]);
    check_for(
        Duration::from_secs(5),
        Duration::from_millis(20),
        || match std::fs::metadata(&bin_file) {
            Ok(m) if m.len() > 0 => Ok(()),
            _ => Err("the natsd binary wrote no pid file".to_string()),
        },
    );
    let want = u32::try_from(natsd.pid()).unwrap();
    assert_eq!(read_pid(&bin_file), want, "pid file of the natsd binary");
}
