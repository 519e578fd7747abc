//! The ported Go tests, one trial per Go test, named by its Go test id.
//!
//! Module tree mirrors the Go tree: `server/sublist_test.go` is `server/sublist_test.rs`.

mod server;

use libtest_mimic::{Arguments, Failed, Trial};
use ported::{Port, PortKind};
use std::time::Duration;

fn main() {
    let args = Arguments::from_args();
    let timeout = std::env::var("PARITY_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(120));
    let mut trials: Vec<Trial> = inventory::iter::<Port>
        .into_iter()
        .map(|p| trial(p, timeout))
        .collect();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    libtest_mimic::run(&args, trials).exit();
}

fn trial(port: &'static Port, timeout: Duration) -> Trial {
    let t = Trial::test(port.go_test, move || run_with_timeout(port, timeout));
    match port.kind {
        PortKind::Run => t,
        PortKind::OptIn(_) => t.with_ignored_flag(true),
        PortKind::Stub => t.with_ignored_flag(true).with_kind("stub"),
    }
}

/// Runs a port on its own thread so a panic or a hang fails this trial only.
fn run_with_timeout(port: &'static Port, timeout: Duration) -> Result<(), Failed> {
    let (tx, rx) = std::sync::mpsc::channel();
    let run = port.run;
    std::thread::Builder::new()
        .name(port.go_test.to_string())
        .spawn(move || {
            let r = std::panic::catch_unwind(run);
            let _ = tx.send(r);
        })
        .map_err(|e| Failed::from(format!("cannot spawn test thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(panic)) => Err(Failed::from(panic_message(&panic))),
        Err(_) => Err(Failed::from(format!("timed out after {timeout:?}"))),
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_string()
    }
}
