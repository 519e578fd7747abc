//! What the Go tests' helpers give them (`RunServer`, raw protocol connections,
//! `checkFor`), rebuilt for the Rust ports. Every server binds a random port on loopback so
//! ports run in parallel.

use natsd::config::Options;
use natsd::server::BackgroundServer;
use regex::bytes::Regex;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Go's `DefaultTestOptions`, but on a random port so tests can run in parallel.
pub fn default_test_options() -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_log: true,
        no_sigs: true,
        max_control_line: 4096,
        disable_short_first_ping: true,
        ..Options::default()
    }
}

/// Starts a server with `opts` and waits until it accepts connections.
pub fn run_server(opts: Options) -> BackgroundServer {
    BackgroundServer::start(opts).expect("server should start")
}

/// Writes `content` to a new temporary file and returns its path (Go's
/// `createConfFile`).
pub fn create_conf_file(content: &[u8]) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("natsd-ported-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(format!("conf-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, content).expect("write conf file");
    path
}

/// Options from a configuration file, logging and signals off (Go's `LoadConfig`).
/// Panics when the file does not load; warnings alone are fine.
pub fn load_config(path: impl AsRef<std::path::Path>) -> Options {
    let path = path.as_ref().to_string_lossy().into_owned();
    let mut opts = natsd::config::file::process_config_file(&path)
        .unwrap_or_else(|e| panic!("Error processing configuration file: {e}"));
    opts.no_log = true;
    opts.no_sigs = true;
    opts
}

/// Starts a server configured by a file (Go's `RunServerWithConfig`); returns it with the
/// options it was given.
pub fn run_server_with_config(path: impl AsRef<std::path::Path>) -> (BackgroundServer, Options) {
    let opts = load_config(path);
    (run_server(opts.clone()), opts)
}

/// Starts a server with [`default_test_options`].
pub fn run_default_server() -> BackgroundServer {
    run_server(default_test_options())
}

/// Polls `f` every `interval` until it succeeds or `total` elapses (Go's `checkFor`).
pub fn check_for(total: Duration, interval: Duration, mut f: impl FnMut() -> Result<(), String>) {
    let end = Instant::now() + total;
    loop {
        match f() {
            Ok(()) => return,
            Err(e) if Instant::now() >= end => panic!("{e}"),
            Err(_) => std::thread::sleep(interval),
        }
    }
}

/// Protocol patterns the Go tests match server output against.
pub mod re {
    use super::*;

    fn compile(p: &str) -> Regex {
        Regex::new(p).expect("valid pattern")
    }

    pub static INFO: LazyLock<Regex> = LazyLock::new(|| compile(r"INFO\s+([^\r\n]+)\r\n"));
    pub static PING: LazyLock<Regex> = LazyLock::new(|| compile(r"^PING\r\n"));
    pub static PONG: LazyLock<Regex> = LazyLock::new(|| compile(r"^PONG\r\n"));
    pub static OK: LazyLock<Regex> = LazyLock::new(|| compile(r"\A\+OK\r\n"));
    pub static ERR: LazyLock<Regex> = LazyLock::new(|| compile(r"\A-ERR\s+([^\r\n]+)\r\n"));
    /// Groups: 1 subject, 2 sid, 4 reply, 5 size, 6 payload.
    pub static MSG: LazyLock<Regex> = LazyLock::new(|| {
        compile(r"MSG\s+([^\s]+)\s+([^\s]+)\s+(([^\s]+)[^\S\r\n]+)?(\d+)\s*\r\n([^\r\n]*?)\r\n")
    });
    /// Groups: 1 subject, 2 sid, 4 reply, 5 header size, 6 total size, 7 headers+payload.
    pub static HMSG: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"HMSG\s+([^\s]+)\s+([^\s]+)\s+(([^\s]+)[^\S\r\n]+)?(\d+)\s+(\d+)\s*\r\n((?s:.*?))\r\n",
        )
    });
}

/// A message as matched by [`re::MSG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub subject: String,
    pub sid: String,
    pub reply: String,
    pub size: String,
    pub payload: String,
}

/// A raw TCP connection speaking the client protocol by hand, like the Go tests' `net.Conn`.
#[derive(Debug)]
pub struct RawConn {
    stream: TcpStream,
    /// Bytes read but not yet consumed by an expectation.
    buf: Vec<u8>,
}

/// How long an expectation waits for the server (Go's tests use 2 s read deadlines).
pub const EXPECT_TIMEOUT: Duration = Duration::from_secs(2);

impl RawConn {
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect to server");
        let _ = stream.set_nodelay(true);
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads INFO and sends a CONNECT (Go's `doConnect`).
    pub fn do_connect(
        &mut self,
        verbose: bool,
        pedantic: bool,
        headers: bool,
    ) -> serde_json::Value {
        let info = self.check_info();
        self.send(&format!(
            "CONNECT {{\"verbose\":{verbose},\"pedantic\":{pedantic},\"tls_required\":false,\"headers\":{headers}}}\r\n"
        ));
        info
    }

    /// Connects, reads INFO and sends the default CONNECT (Go's `setupConn`).
    pub fn setup(addr: SocketAddr) -> RawConn {
        let mut c = RawConn::connect(addr);
        c.do_connect(false, false, false);
        c
    }

    pub fn send(&mut self, proto: &str) {
        self.send_bytes(proto.as_bytes());
    }

    pub fn send_bytes(&mut self, proto: &[u8]) {
        self.stream.write_all(proto).expect("write to server");
    }

    /// Reads once with a deadline; returns the number of bytes read (0 on EOF) or None on
    /// timeout.
    fn read_some(&mut self, deadline: Instant) -> Option<usize> {
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        self.stream
            .set_read_timeout(Some(deadline - now))
            .expect("set timeout");
        let mut tmp = [0u8; 32768];
        match self.stream.read(&mut tmp) {
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Some(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(_) => Some(0),
        }
    }

    /// Waits until `re` matches what the server sent, consumes through the match and
    /// returns the matched bytes. Fails after [`EXPECT_TIMEOUT`].
    pub fn expect(&mut self, re: &Regex) -> Vec<u8> {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        loop {
            if let Some(m) = re.find(&self.buf) {
                let out = self.buf[m.start()..m.end()].to_vec();
                self.buf.drain(..m.end());
                return out;
            }
            match self.read_some(deadline) {
                Some(0) => panic!(
                    "connection closed; received {:?}, expected {}",
                    String::from_utf8_lossy(&self.buf),
                    re.as_str()
                ),
                Some(_) => {}
                None => panic!(
                    "response did not match: received {:?}, expected {}",
                    String::from_utf8_lossy(&self.buf),
                    re.as_str()
                ),
            }
        }
    }

    /// Expects `-ERR '<text>'` (exact text).
    pub fn expect_err(&mut self, text: &str) {
        let got = self.expect(&re::ERR);
        let want = format!("-ERR '{text}'\r\n");
        assert_eq!(String::from_utf8_lossy(&got), want, "unexpected error");
    }

    /// Reads INFO and returns its JSON.
    pub fn check_info(&mut self) -> serde_json::Value {
        let got = self.expect(&re::INFO);
        let caps = re::INFO.captures(&got).expect("INFO matched");
        serde_json::from_slice(&caps[1]).expect("INFO carries valid JSON")
    }

    /// Waits for exactly `n` MSGs (fails on fewer within the timeout, and on more arriving
    /// with them).
    pub fn expect_msgs(&mut self, n: usize) -> Vec<Msg> {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        let mut msgs = Vec::new();
        while msgs.len() < n {
            if let Some(c) = re::MSG.captures(&self.buf) {
                let end = c.get(0).map_or(0, |m| m.end());
                let s = |i: usize| {
                    c.get(i).map_or(String::new(), |m| {
                        String::from_utf8_lossy(m.as_bytes()).into_owned()
                    })
                };
                msgs.push(Msg {
                    subject: s(1),
                    sid: s(2),
                    reply: s(4),
                    size: s(5),
                    payload: s(6),
                });
                self.buf.drain(..end);
                continue;
            }
            match self.read_some(deadline) {
                Some(0) | None => panic!(
                    "did not get correct # msgs: {} vs {n}; pending {:?}",
                    msgs.len(),
                    String::from_utf8_lossy(&self.buf)
                ),
                Some(_) => {}
            }
        }
        // Anything else that arrives right behind them must not be another MSG.
        let _ = self.read_some(Instant::now() + Duration::from_millis(20));
        assert!(
            re::MSG.find(&self.buf).is_none(),
            "got more than {n} msgs: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        msgs
    }

    /// Fails if anything arrives within 100 ms (Go's `expectNothing`).
    pub fn expect_nothing(&mut self) {
        self.expect_nothing_for(Duration::from_millis(100));
    }

    pub fn expect_nothing_for(&mut self, d: Duration) {
        if self.buf.is_empty() {
            let _ = self.read_some(Instant::now() + d);
        }
        assert!(
            self.buf.is_empty(),
            "expected nothing, received {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Expects the server to close the connection.
    pub fn expect_disconnect(&mut self) {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        loop {
            match self.read_some(deadline) {
                Some(0) => return,
                Some(_) => continue,
                None => panic!("expected a disconnect"),
            }
        }
    }

    /// Expects the server to close the connection without sending anything more: the next
    /// read is a clean end of stream (Go's `expectDisconnect`, which wants `io.EOF`).
    pub fn expect_eof(&mut self) {
        assert!(
            self.buf.is_empty(),
            "expected a disconnect, but received {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        self.stream
            .set_read_timeout(Some(EXPECT_TIMEOUT))
            .expect("set timeout");
        let mut tmp = [0u8; 8];
        match self.stream.read(&mut tmp) {
            Ok(0) => {}
            Ok(n) => panic!(
                "Expected a disconnect, received {:?}",
                String::from_utf8_lossy(&tmp[..n])
            ),
            Err(e) => panic!("Expected a disconnect, got {e}"),
        }
    }

    /// Everything received so far and not consumed.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// Asserts a MSG's fields (Go's `checkMsg`; an empty `sid` is not checked).
pub fn check_msg(m: &Msg, subject: &str, sid: &str, reply: &str, len: &str, payload: &str) {
    assert_eq!(m.subject, subject, "subject");
    if !sid.is_empty() {
        assert_eq!(m.sid, sid, "sid");
    }
    assert_eq!(m.reply, reply, "reply");
    assert_eq!(m.size, len, "size");
    assert_eq!(m.payload, payload, "payload");
}

/// Where Go's test helpers send a failure (Go's `tLogger`).
pub trait TestLogger {
    fn fatal(&self, msg: &str);
    fn error(&self, msg: &str);
}

/// Fails the running test by panicking.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicLogger;

impl TestLogger for PanicLogger {
    fn fatal(&self, msg: &str) {
        panic!("{msg}");
    }
    fn error(&self, msg: &str) {
        panic!("{msg}");
    }
}

/// Reports `msg` as fatal followed by where it came from (Go's `stackFatalf`): the caller
/// (through `#[track_caller]` helpers, the test line that called them), then the captured
/// stack's source locations outside this file, one per line as `<n> - <file>:<line>`.
#[track_caller]
pub fn stack_fatal(t: &dyn TestLogger, msg: std::fmt::Arguments<'_>) {
    let mut lines = vec![msg.to_string()];
    let caller = std::panic::Location::caller();
    lines.push(format!("0 - {}:{}", caller.file(), caller.line()));
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let frames = trace
        .lines()
        .filter_map(|l| l.trim().strip_prefix("at "))
        .filter(|loc| !loc.contains(file!()));
    for (i, loc) in frames.enumerate() {
        lines.push(format!("{} - {loc}", i + 1));
    }
    t.fatal(&lines.join("\n"));
}

/// The `natsd` binary of this build (`target/<profile>/natsd`, next to the `deps` directory
/// holding this test executable). `cargo test --workspace` builds it; with `-p ported` run
/// `cargo build -p natsd` first.
pub fn natsd_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("natsd");
    assert!(
        bin.is_file(),
        "natsd binary not found at {}: build it with `cargo build -p natsd`",
        bin.display()
    );
    bin
}

/// A `natsd` process started from [`natsd_binary`]; killed when dropped.
#[derive(Debug)]
pub struct NatsdProcess {
    child: std::process::Child,
}

impl NatsdProcess {
    /// Starts `natsd` with `args`, its output discarded.
    pub fn start(args: &[&str]) -> NatsdProcess {
        let child = std::process::Command::new(natsd_binary())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start natsd");
        NatsdProcess { child }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Waits up to `timeout` for the process to exit; its status, or None if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll natsd") {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for NatsdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
