//! Ports of `server/signal_test.go`.
//!
//! Go swaps its package-level `pgrep` and `kill` functions to test `ProcessSignal`; natsd's
//! [`process_signal_with`] takes them as arguments, so the ports pass fakes the same way.
//! Tests where Go signals its own test process run the real `natsd` binary instead, and
//! `handleSignal` is [`handle_signal`], which the binary calls for each trapped signal.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::signal::{handle_signal, process_signal_with, SignalAction};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use ported::port;
use ported::support::{check_for, default_test_options, run_server, NatsdProcess, RawConn};
use std::cell::Cell;
use std::time::Duration;

/// Stands in for this process's pid when it appears in the fake `pgrep` output.
const MY_PID: i32 = 999_999;

fn no_kill(pid: i32, sig: Signal) -> Result<(), String> {
    panic!("kill should not be called (pid {pid}, {sig})")
}

port!("server/signal_test.go::TestSignalToReOpenLogFile" => signal_to_reopen_log_file);
fn signal_to_reopen_log_file() {
    let dir = TempDir::new();
    let log_file = dir.path().join("test.log");
    let log = log_file.to_str().unwrap();
    let mut s = NatsdProcess::start(&["-a", "127.0.0.1", "-p", "-1", "-l", log]);

    // The server's notices go to the file.
    let expected = "Server is ready";
    check_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let buf = std::fs::read_to_string(&log_file).map_err(|e| e.to_string())?;
        if buf.contains(expected) {
            Ok(())
        } else {
            Err(format!("Expected log to contain {expected:?}, got {buf:?}"))
        }
    });
    // Rename the file, as log rotation does.
    std::fs::rename(&log_file, dir.path().join("test.log.bak")).unwrap();
    // This should cause the file to be reopened.
    kill(Pid::from_raw(s.pid()), Signal::SIGUSR1).unwrap();
    let expected = "File log re-opened";
    check_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let buf = std::fs::read_to_string(&log_file).map_err(|e| e.to_string())?;
        if buf.contains(expected) {
            Ok(())
        } else {
            Err(format!("Expected log to contain {expected:?}, got {buf:?}"))
        }
    });
    assert!(s.wait_timeout(Duration::ZERO).is_none(), "server exited");
}

port!("server/signal_test.go::TestProcessSignalNoProcesses" => process_signal_no_processes);
fn process_signal_no_processes() {
    // pgrep ran and matched nothing (non-zero exit, no output).
    let err = process_signal_with("stop", "", MY_PID, || Some(Vec::new()), no_kill)
        .expect_err("Expected error");
    assert_eq!(
        err, "no nats-server processes running",
        "Error is incorrect"
    );
}

port!("server/signal_test.go::TestProcessSignalMultipleProcesses" => process_signal_multiple_processes);
fn process_signal_multiple_processes() {
    let pgrep = || Some(format!("123\n456\n{MY_PID}\n").into_bytes());
    let err = process_signal_with("stop", "", MY_PID, pgrep, no_kill).expect_err("Expected error");
    assert_eq!(
        err, "multiple nats-server processes running:\n123\n456",
        "Error is incorrect"
    );
}

/// Go's real `kill` on pids that are not ours fails; so does this one, with Go's wording.
fn failing_kill(_pid: i32, _sig: Signal) -> Result<(), String> {
    Err("no such process".to_string())
}

port!("server/signal_test.go::TestProcessSignalMultipleProcessesGlob" => process_signal_multiple_processes_glob);
fn process_signal_multiple_processes_glob() {
    let pgrep = || Some(format!("123\n456\n{MY_PID}\n").into_bytes());
    let err =
        process_signal_with("stop", "*", MY_PID, pgrep, failing_kill).expect_err("Expected error");
    let lines: Vec<&str> = err.split('\n').collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "", "Empty line comes first");
    assert!(lines[1].starts_with("signal \"stop\" 123:"), "{lines:?}");
    assert!(lines[2].starts_with("signal \"stop\" 456:"), "{lines:?}");
}

port!("server/signal_test.go::TestProcessSignalMultipleProcessesGlobPartial" => process_signal_multiple_processes_glob_partial);
fn process_signal_multiple_processes_glob_partial() {
    let pgrep = || Some(format!("123\n124\n456\n{MY_PID}\n").into_bytes());
    let err = process_signal_with("stop", "12*", MY_PID, pgrep, failing_kill)
        .expect_err("Expected error");
    let lines: Vec<&str> = err.split('\n').collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "", "Empty line comes first");
    assert!(lines[1].starts_with("signal \"stop\" 123:"), "{lines:?}");
    assert!(lines[2].starts_with("signal \"stop\" 124:"), "{lines:?}");
}

port!("server/signal_test.go::TestProcessSignalPgrepError" => process_signal_pgrep_error);
fn process_signal_pgrep_error() {
    // pgrep could not run at all.
    let err =
        process_signal_with("stop", "", MY_PID, || None, no_kill).expect_err("Expected error");
    assert_eq!(
        err, "unable to resolve pid, try providing one",
        "Error is incorrect"
    );
}

port!("server/signal_test.go::TestProcessSignalPgrepMangled" => process_signal_pgrep_mangled);
fn process_signal_pgrep_mangled() {
    let err = process_signal_with("stop", "", MY_PID, || Some(b"12x".to_vec()), no_kill)
        .expect_err("Expected error");
    assert_eq!(
        err, "unable to resolve pid, try providing one",
        "Error is incorrect"
    );
}

/// Runs `command` against `pid_expr` with a fake `kill` that expects exactly one call, for
/// pid 123 with `want`.
fn expect_single_kill(command: &str, pid_expr: &str, pgrep_out: Option<String>, want: Signal) {
    let called = Cell::new(false);
    let r = process_signal_with(
        command,
        pid_expr,
        MY_PID,
        || pgrep_out.map(String::into_bytes),
        |pid, sig| {
            assert!(!called.replace(true), "kill called more than once");
            assert_eq!(pid, 123, "pid is incorrect");
            assert_eq!(sig, want, "signal is incorrect");
            Ok(())
        },
    );
    if let Err(e) = r {
        panic!("ProcessSignal failed: {e}");
    }
    assert!(called.get(), "Expected kill to be called");
}

port!("server/signal_test.go::TestProcessSignalResolveSingleProcess" => process_signal_resolve_single_process);
fn process_signal_resolve_single_process() {
    expect_single_kill(
        "stop",
        "",
        Some(format!("123\n{MY_PID}\n")),
        Signal::SIGKILL,
    );
}

port!("server/signal_test.go::TestProcessSignalInvalidCommand" => process_signal_invalid_command);
fn process_signal_invalid_command() {
    let err = process_signal_with("invalid", "123", MY_PID, || None, no_kill)
        .expect_err("Expected error");
    assert_eq!(err, "unknown signal \"invalid\"", "Error is incorrect");
}

port!("server/signal_test.go::TestProcessSignalInvalidPid" => process_signal_invalid_pid);
fn process_signal_invalid_pid() {
    let err =
        process_signal_with("stop", "abc", MY_PID, || None, no_kill).expect_err("Expected error");
    assert_eq!(err, "invalid pid: abc", "Error is incorrect");
}

port!("server/signal_test.go::TestProcessSignalQuitProcess" => process_signal_quit_process);
fn process_signal_quit_process() {
    expect_single_kill("quit", "123", None, Signal::SIGINT);
}

port!("server/signal_test.go::TestProcessSignalTermProcess" => process_signal_term_process);
fn process_signal_term_process() {
    expect_single_kill("term", "123", None, Signal::SIGTERM);
}

port!("server/signal_test.go::TestProcessSignalReopenProcess" => process_signal_reopen_process);
fn process_signal_reopen_process() {
    expect_single_kill("reopen", "123", None, Signal::SIGUSR1);
}

port!("server/signal_test.go::TestProcessSignalReloadProcess" => process_signal_reload_process);
fn process_signal_reload_process() {
    expect_single_kill("reload", "123", None, Signal::SIGHUP);
}

port!("server/signal_test.go::TestProcessSignalLameDuckMode" => process_signal_lame_duck_mode);
fn process_signal_lame_duck_mode() {
    expect_single_kill("ldm", "123", None, Signal::SIGUSR2);
}

port!("server/signal_test.go::TestProcessSignalTermDuringLameDuckMode" => process_signal_term_during_lame_duck_mode);
fn process_signal_term_during_lame_duck_mode() {
    let mut opts = default_test_options();
    opts.lame_duck_duration = Duration::from_secs(2);
    opts.lame_duck_grace_period = Duration::from_secs(1);
    let srv = run_server(opts);

    // A single connection makes the server delay its shutdown.
    let mut nc = RawConn::setup(srv.addr);
    nc.send("PING\r\n");
    nc.expect(&ported::support::re::PONG);

    // Trigger lame duck based shutdown.
    let shared = srv.shared().clone();
    srv.spawn(async move { shared.lame_duck().await });

    // Wait for the client to be disconnected.
    nc.expect_disconnect();

    // A TERM must not shut the server down (the binary would exit) while in lame duck mode.
    let action = handle_signal(&srv.server, Signal::SIGTERM, || Ok(()));
    assert_eq!(
        action,
        SignalAction::Ignore,
        "TERM during lame duck mode must not shut down"
    );

    // The lame duck shutdown completes on its own.
    check_for(Duration::from_secs(3), Duration::from_millis(1), || {
        if srv.shared().is_shutting_down() {
            Ok(())
        } else {
            Err("Timed out waiting for server shutdown".to_string())
        }
    });
}

/// Starts the binary, sends `sig` once it serves clients and expects exit status 0.
fn signal_has_successful_exit(sig: Signal) {
    let dir = TempDir::new();
    let ports = dir.path().to_str().unwrap();
    let mut s = NatsdProcess::start(&["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", ports]);
    // Ready once the ports file is written.
    check_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let n = std::fs::read_dir(dir.path())
            .map_err(|e| e.to_string())?
            .count();
        if n > 0 {
            Ok(())
        } else {
            Err("server did not start".to_string())
        }
    });
    kill(Pid::from_raw(s.pid()), sig).unwrap();
    let status = s
        .wait_timeout(Duration::from_secs(5))
        .expect("server did not exit");
    assert!(status.success(), "exit status {status:?}");
}

port!("server/signal_test.go::TestSignalInterruptHasSuccessfulExit" => signal_interrupt_has_successful_exit);
fn signal_interrupt_has_successful_exit() {
    signal_has_successful_exit(Signal::SIGINT);
}

port!("server/signal_test.go::TestSignalTermHasSuccessfulExit" => signal_term_has_successful_exit);
fn signal_term_has_successful_exit() {
    signal_has_successful_exit(Signal::SIGTERM);
}

/// How many times `log_file` says the configuration was reloaded.
fn reload_count(log_file: &std::path::Path) -> usize {
    std::fs::read_to_string(log_file)
        .unwrap_or_default()
        .matches("Reloaded server configuration")
        .count()
}

/// Waits until the log says the configuration was reloaded `n` times.
fn wait_for_reloads(log_file: &std::path::Path, n: usize) {
    check_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let got = reload_count(log_file);
        if got == n {
            Ok(())
        } else {
            Err(format!(
                "ConfigTime is incorrect: expected {n} reloads, log shows {got}"
            ))
        }
    });
}

port!("server/signal_test.go::TestSignalToReloadConfig" => signal_to_reload_config);
fn signal_to_reload_config() {
    // Go signals its own test process; natsd's in-process servers trap no signals, so the
    // real binary takes SIGHUP. Go's ConfigTime changes exactly when a reload succeeds,
    // which natsd logs as "Reloaded server configuration".
    let dir = TempDir::new();
    let conf = dir.path().join("reload.conf");
    let log_file = dir.path().join("test.log");
    let tmpl = |user: &str| {
        format!(
            "listen: 127.0.0.1:-1\naccounts: {{\n  A: {{ users: [ {{ user: \"{user}\", password: foo }} ] }}\n}}\n"
        )
    };
    std::fs::write(&conf, tmpl("foo")).unwrap();
    let mut s = NatsdProcess::start(&[
        "-c",
        conf.to_str().unwrap(),
        "-l",
        log_file.to_str().unwrap(),
    ]);
    check_for(Duration::from_secs(5), Duration::from_millis(20), || {
        let buf = std::fs::read_to_string(&log_file).map_err(|e| e.to_string())?;
        if buf.contains("Server is ready") {
            Ok(())
        } else {
            Err(format!("server not ready: {buf:?}"))
        }
    });
    let port: u16 = {
        let buf = std::fs::read_to_string(&log_file).unwrap();
        let line = buf
            .lines()
            .find(|l| l.contains("Listening for client connections on"))
            .expect("listen line");
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    };
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let auth = |user: &str| {
        let mut c = RawConn::connect(addr);
        c.check_info();
        c.send(&format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"foo\"}}\r\nPING\r\n"
        ));
        c
    };

    // Even without changes, a reload happens (the reload time changes).
    assert_eq!(reload_count(&log_file), 0);
    kill(Pid::from_raw(s.pid()), Signal::SIGHUP).unwrap();
    wait_for_reloads(&log_file, 1);

    // The server serves the signal more than once, and takes on the new file each time.
    for i in 0..2 {
        let user = format!("foo:{i}");
        std::fs::write(&conf, tmpl(&user)).unwrap();
        kill(Pid::from_raw(s.pid()), Signal::SIGHUP).unwrap();
        wait_for_reloads(&log_file, i + 2);
        auth(&user).expect(&ported::support::re::PONG);
        auth("foo").expect_err("Authorization Violation");
    }
    assert!(s.wait_timeout(Duration::ZERO).is_none(), "server exited");
}
