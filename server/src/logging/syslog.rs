//! Syslog output (`-s` local, `-r udp://host:514` remote), in the message format of Go's
//! `log/syslog` that nats-server uses:
//!
//! - local (unix socket): `<PRI>Jan _2 15:04:05 TAG[PID]: MSG\n`, facility daemon;
//! - remote (udp, tcp, unix): `<PRI>2006-01-02T15:04:05Z07:00 HOST TAG[PID]: MSG\n`,
//!   facility kern (nats-server dials with priority `LOG_DEBUG`, whose facility is 0).

use super::{Level, Log};
use chrono::{Local, SecondsFormat};
use parking_lot::Mutex;
use std::fmt;
use std::io::{self, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};

/// Where a local syslog daemon listens, tried in order.
const LOCAL_SOCKETS: &[&str] = &["/dev/log", "/var/run/syslog", "/var/run/log"];

const FACILITY_KERN: u8 = 0;
const FACILITY_DAEMON: u8 = 3 << 3;

const SEVERITY_CRIT: u8 = 2;
const SEVERITY_ERR: u8 = 3;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_NOTICE: u8 = 5;
const SEVERITY_DEBUG: u8 = 7;

/// The syslog tag: the last path component of the program name (`argv[0]`).
pub fn sys_logger_tag() -> String {
    sys_logger_tag_from(&std::env::args().next().unwrap_or_default())
}

/// The tag for a given `argv[0]`.
pub fn sys_logger_tag_from(arg0: &str) -> String {
    let sep = std::path::MAIN_SEPARATOR;
    if !arg0.contains(sep) {
        return arg0.to_string();
    }
    arg0.split(sep)
        .rfind(|p| !p.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Splits a remote syslog address (`udp://host:514`, `tcp://host:514`,
/// `unix:///path`) into network and address.
pub fn network_and_addr(fqn: &str) -> Result<(String, String), String> {
    let (scheme, rest) = match fqn.split_once(':') {
        Some((s, r))
            if s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (s, r)
        }
        _ => ("", fqn),
    };
    let (host, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    match scheme {
        "udp" | "tcp" => Ok((scheme.to_string(), host.to_string())),
        "unix" => Ok((scheme.to_string(), path.to_string())),
        other => Err(format!(
            "error invalid network type: {}",
            crate::config::cli::go_quote(other)
        )),
    }
}

enum Conn {
    Datagram(UnixDatagram),
    UnixStream(UnixStream),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Conn {
    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        match self {
            Conn::Datagram(s) => s.send(msg).map(|_| ()),
            Conn::UnixStream(s) => s.write_all(msg),
            Conn::Udp(s) => s.send(msg).map(|_| ()),
            Conn::Tcp(s) => s.write_all(msg),
        }
    }
}

/// Where to send: the local daemon, or a remote address.
#[derive(Clone)]
enum Target {
    Local(Vec<String>),
    Remote { network: String, addr: String },
}

fn connect(target: &Target) -> io::Result<Conn> {
    match target {
        Target::Local(paths) => {
            for path in paths {
                let dgram = UnixDatagram::unbound().and_then(|s| s.connect(path).map(|_| s));
                if let Ok(s) = dgram {
                    return Ok(Conn::Datagram(s));
                }
                if let Ok(s) = UnixStream::connect(path) {
                    return Ok(Conn::UnixStream(s));
                }
            }
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "Unix syslog delivery error",
            ))
        }
        Target::Remote { network, addr } => match network.as_str() {
            "udp" => {
                let bind = if addr.starts_with('[') {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(addr)?;
                Ok(Conn::Udp(s))
            }
            "tcp" => Ok(Conn::Tcp(TcpStream::connect(addr)?)),
            _ => match UnixStream::connect(addr) {
                Ok(s) => Ok(Conn::UnixStream(s)),
                // Syslog daemons usually listen on datagram sockets.
                Err(_) => {
                    let s = UnixDatagram::unbound()?;
                    s.connect(addr)?;
                    Ok(Conn::Datagram(s))
                }
            },
        },
    }
}

/// This host's name as Go's `os.Hostname` reads it on Linux.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim_end().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// Logger writing to syslog. Fatal lines are sent as `crit` and do not end the process
/// (as in nats-server); trace lines are sent as `notice`.
pub struct SysLogger {
    conn: Mutex<Option<Conn>>,
    target: Target,
    facility: u8,
    tag: String,
    hostname: String,
    debug: bool,
    trace: bool,
}

impl SysLogger {
    /// Connects to the local syslog daemon (Go's `NewSysLogger`).
    pub fn new_local(debug: bool, trace: bool) -> io::Result<SysLogger> {
        let paths = LOCAL_SOCKETS.iter().map(|p| p.to_string()).collect();
        Self::connect_new(
            Target::Local(paths),
            FACILITY_DAEMON,
            sys_logger_tag(),
            debug,
            trace,
        )
    }

    /// Like [`SysLogger::new_local`], with the daemon's socket at `socket` (tests, or
    /// systems with an unusual socket path).
    pub fn new_local_at(socket: &str, debug: bool, trace: bool) -> io::Result<SysLogger> {
        Self::connect_new(
            Target::Local(vec![socket.to_string()]),
            FACILITY_DAEMON,
            sys_logger_tag(),
            debug,
            trace,
        )
    }

    /// Connects to a remote syslog (`udp://host:514`, `tcp://...`, `unix:///path`)
    /// (Go's `NewRemoteSysLogger`).
    pub fn new_remote(fqn: &str, debug: bool, trace: bool) -> io::Result<SysLogger> {
        Self::new_remote_with_tag(fqn, &sys_logger_tag(), debug, trace)
    }

    /// Like [`SysLogger::new_remote`] with an explicit tag instead of the program name.
    pub fn new_remote_with_tag(
        fqn: &str,
        tag: &str,
        debug: bool,
        trace: bool,
    ) -> io::Result<SysLogger> {
        let (network, addr) =
            network_and_addr(fqn).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Self::connect_new(
            Target::Remote { network, addr },
            FACILITY_KERN,
            tag.to_string(),
            debug,
            trace,
        )
    }

    fn connect_new(
        target: Target,
        facility: u8,
        tag: String,
        debug: bool,
        trace: bool,
    ) -> io::Result<SysLogger> {
        let conn = connect(&target)
            .map_err(|e| io::Error::new(e.kind(), format!("error connecting to syslog: {e}")))?;
        Ok(SysLogger {
            conn: Mutex::new(Some(conn)),
            target,
            facility,
            tag,
            hostname: hostname(),
            debug,
            trace,
        })
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    pub fn trace_enabled(&self) -> bool {
        self.trace
    }

    /// The syslog message for `severity` and `msg`, stamped now.
    fn format(&self, severity: u8, msg: &str) -> String {
        let pri = self.facility | severity;
        let nl = if msg.ends_with('\n') { "" } else { "\n" };
        let pid = std::process::id();
        let now = Local::now();
        match self.target {
            Target::Local(_) => format!(
                "<{pri}>{} {}[{pid}]: {msg}{nl}",
                now.format("%b %e %H:%M:%S"),
                self.tag
            ),
            Target::Remote { .. } => format!(
                "<{pri}>{} {} {}[{pid}]: {msg}{nl}",
                now.to_rfc3339_opts(SecondsFormat::Secs, true),
                self.hostname,
                self.tag
            ),
        }
    }

    /// Sends one message; on failure reconnects once and retries, like Go's writer.
    fn send(&self, severity: u8, msg: &str) {
        let line = self.format(severity, msg);
        let mut conn = self.conn.lock();
        if let Some(c) = conn.as_mut() {
            if c.send(line.as_bytes()).is_ok() {
                return;
            }
        }
        *conn = connect(&self.target).ok();
        if let Some(c) = conn.as_mut() {
            let _ = c.send(line.as_bytes());
        }
    }
}

impl Log for SysLogger {
    fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        let severity = match level {
            Level::Fatal => SEVERITY_CRIT,
            Level::Error => SEVERITY_ERR,
            Level::Warn => SEVERITY_WARNING,
            Level::Notice => SEVERITY_NOTICE,
            Level::Debug if self.debug => SEVERITY_DEBUG,
            Level::Trace if self.trace => SEVERITY_NOTICE,
            Level::Debug | Level::Trace => return,
        };
        self.send(severity, &args.to_string());
    }

    fn close(&self) -> io::Result<()> {
        *self.conn.lock() = None;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn network_and_addr_forms() {
        assert_eq!(
            network_and_addr("udp://foo.com:1000"),
            Ok(("udp".into(), "foo.com:1000".into()))
        );
        assert_eq!(
            network_and_addr("tcp://[::1]:514"),
            Ok(("tcp".into(), "[::1]:514".into()))
        );
        assert_eq!(
            network_and_addr("unix:///foo.sock"),
            Ok(("unix".into(), "/foo.sock".into()))
        );
        assert_eq!(
            network_and_addr("http://x:1"),
            Err("error invalid network type: \"http\"".into())
        );
        assert_eq!(
            network_and_addr("localhost:514"),
            Err("error invalid network type: \"localhost\"".into())
        );
    }

    #[test]
    fn remote_priorities_and_format() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let fqn = format!("udp://{}", server.local_addr().unwrap());
        let l = SysLogger::new_remote_with_tag(&fqn, "tagx", true, true).unwrap();
        let mut buf = [0u8; 4096];
        let mut recv = || {
            let n = server.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        l.log(Level::Notice, format_args!("n"));
        let line = recv();
        let re = regex::Regex::new(
            r"^<5>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}) \S+ tagx\[(\d+)\]: n\n$",
        )
        .unwrap();
        let caps = re.captures(&line).unwrap_or_else(|| panic!("{line:?}"));
        assert_eq!(caps[2].parse::<u32>().unwrap(), std::process::id());
        for (level, pri) in [
            (Level::Fatal, "<2>"),
            (Level::Error, "<3>"),
            (Level::Warn, "<4>"),
            (Level::Debug, "<7>"),
            (Level::Trace, "<5>"),
        ] {
            l.log(level, format_args!("m"));
            assert!(recv().starts_with(pri));
        }
    }

    #[test]
    fn local_format() {
        let dir = std::env::temp_dir().join(format!("natsd-syslog-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("log");
        let server = UnixDatagram::bind(&sock).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let l = SysLogger::new_local_at(sock.to_str().unwrap(), false, false).unwrap();
        l.log(Level::Warn, format_args!("w {}", 1));
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        let re =
            regex::Regex::new(r"^<28>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+\[\d+\]: w 1\n$")
                .unwrap();
        assert!(re.is_match(&line), "{line:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_local_daemon_is_an_error() {
        let e = SysLogger::new_local_at("/nonexistent/natsd/log", false, false)
            .err()
            .unwrap();
        assert!(e.to_string().contains("error connecting to syslog"), "{e}");
    }
}
