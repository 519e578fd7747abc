//! Signals: what the running server does on each, and `--signal` to a running server.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::server::Server;

/// The process name `--signal` looks for when no pid is given.
pub const PROCESS_NAME: &str = "nats-server";

/// The signal a `--signal` command sends, as nats-server maps them.
pub fn command_to_signal(command: &str) -> Result<Signal, String> {
    match command {
        "stop" => Ok(Signal::SIGKILL),
        "quit" => Ok(Signal::SIGINT),
        "reopen" => Ok(Signal::SIGUSR1),
        "reload" => Ok(Signal::SIGHUP),
        "ldm" => Ok(Signal::SIGUSR2),
        "term" => Ok(Signal::SIGTERM),
        other => Err(format!("unknown signal {other:?}")),
    }
}

/// Go's name for a trapped signal, as in `Trapped "terminated" signal`.
pub fn go_signal_name(sig: Signal) -> &'static str {
    match sig {
        Signal::SIGINT => "interrupt",
        Signal::SIGTERM => "terminated",
        Signal::SIGUSR1 => "user defined signal 1",
        Signal::SIGUSR2 => "user defined signal 2",
        Signal::SIGHUP => "hangup",
        Signal::SIGKILL => "killed",
        _ => "signal",
    }
}

/// Reads a pid file if `pid_or_file` names one, else returns it unchanged (Go's rule).
pub fn maybe_read_pid_file(pid_or_file: &str) -> String {
    std::fs::read_to_string(pid_or_file).unwrap_or_else(|_| pid_or_file.to_string())
}

/// What a trapped signal makes the running server do (nats-server's `handleSignal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// Shut down and exit with status 0.
    Shutdown,
    /// Reopen the log file (after log rotation moved it).
    ReopenLogFile,
    /// Enter lame duck mode.
    LameDuck,
    /// Reload the configuration.
    Reload,
    /// Nothing (a TERM while in lame duck mode lets the lame duck finish).
    Ignore,
}

/// The action for `sig`, given whether the server is already in lame duck mode.
pub fn signal_action(sig: Signal, in_lame_duck: bool) -> SignalAction {
    match sig {
        Signal::SIGINT => SignalAction::Shutdown,
        Signal::SIGTERM if in_lame_duck => SignalAction::Ignore,
        Signal::SIGTERM => SignalAction::Shutdown,
        Signal::SIGUSR1 => SignalAction::ReopenLogFile,
        Signal::SIGUSR2 => SignalAction::LameDuck,
        Signal::SIGHUP => SignalAction::Reload,
        _ => SignalAction::Ignore,
    }
}

/// Acts on a trapped signal as nats-server's `handleSignal` does, and says what it did.
/// `reopen_log` reopens the process's log file (the binary owns it). Call it on the
/// server's runtime: lame duck mode runs there as a task.
pub fn handle_signal(
    server: &Server,
    sig: Signal,
    reopen_log: impl FnOnce() -> std::io::Result<()>,
) -> SignalAction {
    let logging = &server.shared().logging;
    crate::notice!(logging, "Trapped {:?} signal", go_signal_name(sig));
    let action = signal_action(sig, server.shared().is_lame_duck());
    match action {
        SignalAction::Shutdown => server.shutdown(),
        SignalAction::ReopenLogFile => {
            if let Err(e) = reopen_log() {
                crate::error!(logging, "Failed to reopen log file: {e}");
            }
        }
        SignalAction::LameDuck => {
            let s = server.clone();
            tokio::spawn(async move { s.lame_duck().await });
        }
        SignalAction::Reload => {
            if let Err(e) = server.shared().reload() {
                crate::error!(logging, "Failed to reload server configuration: {e}");
            }
        }
        SignalAction::Ignore => {}
    }
    action
}

/// Sends `command` to the server named by `pid_expr`: a pid, a pid prefix followed by `*`,
/// or empty to find running servers by process name. Pid files are resolved by the caller
/// with [`maybe_read_pid_file`].
pub fn process_signal(command: &str, pid_expr: &str) -> Result<(), String> {
    process_signal_with(
        command,
        pid_expr,
        std::process::id() as i32,
        run_pgrep,
        |pid, sig| kill(Pid::from_raw(pid), sig).map_err(|e| go_errno_text(e.desc())),
    )
}

/// [`process_signal`] with the process lookup and the signal sending passed in: `pgrep`
/// returns what `pgrep <name>` printed (`None` if it could not run; no match is empty
/// output), `kill` sends one signal. `my_pid` is never signalled.
pub fn process_signal_with(
    command: &str,
    pid_expr: &str,
    my_pid: i32,
    pgrep: impl FnOnce() -> Option<Vec<u8>>,
    mut kill: impl FnMut(i32, Signal) -> Result<(), String>,
) -> Result<(), String> {
    let is_glob = pid_expr.ends_with('*');
    let pid_str = pid_expr.strip_suffix('*').unwrap_or(pid_expr);
    let mut pids: Vec<i32> = Vec::new();
    if !pid_str.is_empty() {
        pids.push(
            pid_str
                .parse()
                .map_err(|_| format!("invalid pid: {pid_str}"))?,
        );
    }
    if pid_str.is_empty() || is_glob {
        pids = resolve_pids(pgrep, my_pid)?;
    }
    if pids.len() > 1 && !is_glob {
        let mut msg = format!("multiple {PROCESS_NAME} processes running:");
        for p in &pids {
            msg.push_str(&format!("\n{p}"));
        }
        return Err(msg);
    }
    if pids.is_empty() {
        return Err(format!("no {PROCESS_NAME} processes running"));
    }
    let signal = command_to_signal(command)?;
    let mut errs = String::new();
    for pid in pids {
        let ps = pid.to_string();
        if !pid_str.is_empty() && ps != pid_str && !(is_glob && ps.starts_with(pid_str)) {
            continue;
        }
        if let Err(e) = kill(pid, signal) {
            errs.push_str(&format!("\nsignal {command:?} {pid}: {e}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// Runs `pgrep nats-server`. Its exit status only says whether anything matched, so only a
/// failure to run it at all is an error.
fn run_pgrep() -> Option<Vec<u8>> {
    std::process::Command::new("pgrep")
        .arg(PROCESS_NAME)
        .output()
        .ok()
        .map(|o| o.stdout)
}

/// libc's error text as Go prints it (lower-case first letter: "no such process").
fn go_errno_text(desc: &str) -> String {
    let mut c = desc.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Pids of running servers from `pgrep`'s output, excluding `my_pid`.
fn resolve_pids(pgrep: impl FnOnce() -> Option<Vec<u8>>, my_pid: i32) -> Result<Vec<i32>, String> {
    const UNRESOLVED: &str = "unable to resolve pid, try providing one";
    let out = pgrep().ok_or_else(|| UNRESOLVED.to_string())?;
    let mut pids = Vec::new();
    for line in String::from_utf8_lossy(&out).split('\n') {
        if line.is_empty() {
            continue;
        }
        let pid: i32 = line.parse().map_err(|_| UNRESOLVED.to_string())?;
        if pid != my_pid {
            pids.push(pid);
        }
    }
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_go_signals() {
        assert_eq!(command_to_signal("stop"), Ok(Signal::SIGKILL));
        assert_eq!(command_to_signal("quit"), Ok(Signal::SIGINT));
        assert_eq!(command_to_signal("reopen"), Ok(Signal::SIGUSR1));
        assert_eq!(command_to_signal("reload"), Ok(Signal::SIGHUP));
        assert_eq!(command_to_signal("ldm"), Ok(Signal::SIGUSR2));
        assert_eq!(command_to_signal("term"), Ok(Signal::SIGTERM));
        assert_eq!(
            command_to_signal("foo"),
            Err("unknown signal \"foo\"".to_string())
        );
    }

    #[test]
    fn term_in_lame_duck_is_ignored() {
        assert_eq!(
            signal_action(Signal::SIGTERM, false),
            SignalAction::Shutdown
        );
        assert_eq!(signal_action(Signal::SIGTERM, true), SignalAction::Ignore);
        assert_eq!(signal_action(Signal::SIGINT, true), SignalAction::Shutdown);
        assert_eq!(
            signal_action(Signal::SIGUSR1, false),
            SignalAction::ReopenLogFile
        );
        assert_eq!(
            signal_action(Signal::SIGUSR2, false),
            SignalAction::LameDuck
        );
        assert_eq!(signal_action(Signal::SIGHUP, false), SignalAction::Reload);
    }

    #[test]
    fn errno_text_as_go() {
        assert_eq!(go_errno_text("No such process"), "no such process");
        assert_eq!(go_errno_text(""), "");
    }

    #[test]
    fn pgrep_output_with_blanks_is_mangled() {
        let r = process_signal_with("stop", "", 1, || Some(b" 12\n".to_vec()), |_, _| Ok(()));
        assert_eq!(
            r,
            Err("unable to resolve pid, try providing one".to_string())
        );
    }

    #[test]
    fn bad_pid_is_an_error() {
        assert_eq!(
            process_signal("stop", "abc"),
            Err("invalid pid: abc".to_string())
        );
    }
}
