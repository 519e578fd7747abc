//! Signals: what the running server does on each, and `--signal` to a running server.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

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

/// Sends `command` to the server named by `pid_expr`: a pid, a pid prefix followed by `*`,
/// or empty to find running servers by process name. Pid files are resolved by the caller
/// with [`maybe_read_pid_file`].
pub fn process_signal(command: &str, pid_expr: &str) -> Result<(), String> {
    let is_glob = pid_expr.ends_with('*');
    let pid_str = pid_expr.trim_end_matches('*').to_string();
    let pids: Vec<i32> = if pid_str.is_empty() || is_glob {
        if !pid_str.is_empty() {
            pid_str
                .parse::<i32>()
                .map_err(|_| format!("invalid pid: {pid_str}"))?;
        }
        resolve_pids()?
    } else {
        vec![pid_str
            .parse()
            .map_err(|_| format!("invalid pid: {pid_str}"))?]
    };
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
        if !pid_str.is_empty() && ps != pid_str && !(is_glob && ps.starts_with(&pid_str)) {
            continue;
        }
        if let Err(e) = kill(Pid::from_raw(pid), signal) {
            errs.push_str(&format!("\nsignal {command:?} {pid}: {}", e.desc()));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// Pids of running servers, found with `pgrep`, excluding this process.
fn resolve_pids() -> Result<Vec<i32>, String> {
    let out = std::process::Command::new("pgrep")
        .arg(PROCESS_NAME)
        .output()
        .map_err(|_| "unable to resolve pid, try providing one".to_string())?;
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.is_empty() {
            continue;
        }
        let pid: i32 = line
            .trim()
            .parse()
            .map_err(|_| "unable to resolve pid, try providing one".to_string())?;
        if pid != me {
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
    fn bad_pid_is_an_error() {
        assert_eq!(
            process_signal("stop", "abc"),
            Err("invalid pid: abc".to_string())
        );
    }
}
