//! Ports of `test/test_test.go`: the test helpers themselves.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use ported::port;
use ported::support::{stack_fatal, TestLogger};
use std::sync::Mutex;

/// Keeps the last fatal message; everything else is dropped (Go's `dummyLogger`).
#[derive(Default)]
struct DummyLogger {
    msg: Mutex<String>,
}

impl TestLogger for DummyLogger {
    fn fatal(&self, msg: &str) {
        *self.msg.lock().unwrap() = msg.to_string();
    }
    fn error(&self, _msg: &str) {}
}

port!("test/test_test.go::TestStackFatal" => stack_fatal_reports_caller);
fn stack_fatal_reports_caller() {
    let d = DummyLogger::default();
    stack_fatal(&d, format_args!("test stack {}", 1));
    let msg = d.msg.lock().unwrap().clone();
    assert!(
        msg.starts_with("test stack 1"),
        "Unexpected start of stack: {msg}"
    );
    assert!(msg.contains("test_test.rs"), "Unexpected stack: {msg}");
}
