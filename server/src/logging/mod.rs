//! Logging in nats-server's exact format.
//!
//! # Design
//!
//! nats-server gives each server a logger object and debug/trace switches (`s.logging`);
//! its tests swap that object for one that captures lines. natsd does the same, because
//! tests run many servers in one process in parallel and each must see only its own
//! lines:
//!
//! - [`Log`] is the sink interface (Go's `server.Logger`): one method taking a [`Level`].
//!   Sinks: [`Logger`] (stderr, any writer, or a rotating file), [`SysLogger`] (local or
//!   remote syslog), [`CaptureLogger`] (keeps lines in memory, for tests).
//! - [`Logging`] is what a server holds (in an `Arc`): the current sink plus the debug,
//!   trace and system-account-trace switches, and the server's log methods (`notice`,
//!   `warn`, `error`, `fatal`, `debug`, `trace`), [`Logging::configure`] and
//!   [`Logging::reopen_log_file`]. Server code logs with
//!   `natsd::notice!(self.logging, "Listening for client connections on {}", addr)`.
//! - For code that has no server at hand (and for third-party crates), there is one
//!   process-wide [`Logging`], [`global()`], configured by [`init`], which also installs a
//!   `tracing` subscriber that formats events like nats-server and sends them there.
//!   `natsd::notice!("...")` without a logger argument emits a `tracing` event
//!   (notice = INFO; fatal = ERROR with `fatal = true`, printed `[FTL]`).
//!   The binary hands `global()` to its server, so both paths reach the same sink, and a
//!   SIGUSR1 reopen through [`LogHandle::reopen`] covers both.

mod logger;
mod redact;
mod syslog;

pub use logger::{format_log_time, is_backup_stamp, pid_prefix, Logger, MemoryWriter};
pub use redact::remove_secrets_from_trace;
pub use syslog::{network_and_addr, sys_logger_tag, sys_logger_tag_from, SysLogger};

use crate::config::Options;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

#[doc(hidden)]
pub use tracing as __tracing;

/// Severity of a log line, with nats-server's label for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `[FTL]`: the server cannot go on.
    Fatal,
    /// `[ERR]`
    Error,
    /// `[WRN]`
    Warn,
    /// `[INF]` (Go's `Noticef`).
    Notice,
    /// `[DBG]`, only with `-D`.
    Debug,
    /// `[TRC]`, only with `-V`.
    Trace,
}

/// The labels printed before messages.
#[derive(Debug)]
pub struct Labels {
    pub info: &'static str,
    pub debug: &'static str,
    pub warn: &'static str,
    pub error: &'static str,
    pub fatal: &'static str,
    pub trace: &'static str,
}

pub static PLAIN_LABELS: Labels = Labels {
    info: "[INF] ",
    debug: "[DBG] ",
    warn: "[WRN] ",
    error: "[ERR] ",
    fatal: "[FTL] ",
    trace: "[TRC] ",
};

/// Labels for a terminal: the level name in ANSI color.
pub static COLORED_LABELS: Labels = Labels {
    info: "[\x1b[32mINF\x1b[0m] ",
    debug: "[\x1b[36mDBG\x1b[0m] ",
    warn: "[\x1b[0;93mWRN\x1b[0m] ",
    error: "[\x1b[31mERR\x1b[0m] ",
    fatal: "[\x1b[31mFTL\x1b[0m] ",
    trace: "[\x1b[33mTRC\x1b[0m] ",
};

/// A log sink (Go's `server.Logger` interface).
pub trait Log: Send + Sync {
    fn log(&self, level: Level, args: fmt::Arguments<'_>);

    /// Releases the sink (a log file); called when a server replaces its logger.
    fn close(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Keeps what is logged, for tests (Go's `testhelper.DummyLogger`): the last message,
/// and every message when created with [`CaptureLogger::retaining`].
#[derive(Default)]
pub struct CaptureLogger {
    last: Mutex<String>,
    all: Mutex<Option<Vec<(Level, String)>>>,
}

impl CaptureLogger {
    /// Keeps only the last message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps every message.
    pub fn retaining() -> Self {
        CaptureLogger {
            last: Mutex::new(String::new()),
            all: Mutex::new(Some(Vec::new())),
        }
    }

    /// The last message logged (empty if none, or after [`CaptureLogger::clear_last`]).
    pub fn last(&self) -> String {
        self.last.lock().clone()
    }

    pub fn clear_last(&self) {
        self.last.lock().clear();
    }

    /// Every message, when retaining.
    pub fn messages(&self) -> Vec<String> {
        self.all
            .lock()
            .as_ref()
            .map(|v| v.iter().map(|(_, m)| m.clone()).collect())
            .unwrap_or_default()
    }

    /// Every message with its level, when retaining.
    pub fn entries(&self) -> Vec<(Level, String)> {
        self.all.lock().clone().unwrap_or_default()
    }

    /// Forgets retained messages.
    pub fn drain(&self) {
        if let Some(v) = self.all.lock().as_mut() {
            v.clear();
        }
    }

    /// Retained messages containing `needle`.
    pub fn containing(&self, needle: &str) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| m.contains(needle))
            .collect()
    }
}

impl Log for CaptureLogger {
    fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        let msg = args.to_string();
        if let Some(v) = self.all.lock().as_mut() {
            v.push((level, msg.clone()));
        }
        *self.last.lock() = msg;
    }
}

/// What the logger is built from: the logging options of [`Options`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Log nothing (Go's `NoLog`; test servers default to it).
    pub no_log: bool,
    pub debug: bool,
    pub trace: bool,
    /// Trace the system account too (`-VV`, `-DVV`).
    pub trace_verbose: bool,
    pub logtime: bool,
    pub logtime_utc: bool,
    pub log_file: Option<PathBuf>,
    /// Rotate the file past this many bytes (0 = never).
    pub log_size_limit: i64,
    /// Keep at most this many log files (0 = all).
    pub log_max_files: i64,
    pub syslog: bool,
    pub remote_syslog: String,
    /// Longest traced message payload (0 = no limit); read by the client tracer.
    pub max_traced_msg_len: usize,
    /// Start lines with `[PID] ` (always on in nats-server).
    pub pid: bool,
    /// Colored labels on stderr: None = when stderr is a terminal.
    pub colors: Option<bool>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig::from_options(&Options::default())
    }
}

impl LogConfig {
    pub fn from_options(o: &Options) -> LogConfig {
        LogConfig {
            no_log: o.no_log,
            debug: o.debug,
            trace: o.trace,
            trace_verbose: o.trace_verbose,
            logtime: o.logtime,
            logtime_utc: o.logtime_utc,
            log_file: o.log_file.clone(),
            log_size_limit: o.log_size_limit,
            log_max_files: o.log_max_files,
            syslog: o.syslog,
            remote_syslog: o.remote_syslog.clone(),
            max_traced_msg_len: o.max_traced_msg_len,
            pid: true,
            colors: None,
        }
    }
}

/// Builds the sink the configuration asks for (None when `no_log`), as nats-server
/// chooses: log file, else remote syslog, else local syslog, else stderr.
pub fn build_logger(cfg: &LogConfig) -> io::Result<Option<Arc<dyn Log>>> {
    if cfg.no_log {
        return Ok(None);
    }
    if let Some(path) = &cfg.log_file {
        let l = Logger::new_file(
            path,
            cfg.logtime,
            cfg.debug,
            cfg.trace,
            cfg.pid,
            cfg.logtime_utc,
        )?;
        if cfg.log_size_limit > 0 {
            l.set_size_limit(cfg.log_size_limit)?;
        }
        if cfg.log_max_files > 0 {
            l.set_max_num_files(cfg.log_max_files)?;
        }
        return Ok(Some(Arc::new(l)));
    }
    if !cfg.remote_syslog.is_empty() {
        let l = SysLogger::new_remote(&cfg.remote_syslog, cfg.debug, cfg.trace)?;
        return Ok(Some(Arc::new(l)));
    }
    if cfg.syslog {
        return Ok(Some(Arc::new(SysLogger::new_local(cfg.debug, cfg.trace)?)));
    }
    let colors = cfg.colors.unwrap_or_else(|| io::stderr().is_terminal());
    Ok(Some(Arc::new(Logger::new_std(
        cfg.logtime,
        cfg.debug,
        cfg.trace,
        colors,
        cfg.pid,
        cfg.logtime_utc,
    ))))
}

/// How long a rate-limited statement stays suppressed by default (Go's 1 s expiry).
pub const DEFAULT_RATE_LIMIT_INTERVAL: Duration = Duration::from_secs(1);

/// The statements the `rate_limit_*` methods logged recently: each is suppressed until it
/// is `interval` old.
#[derive(Debug)]
struct RateLimitLog {
    logged_at: HashMap<String, Instant>,
    interval: Duration,
    last_sweep: Instant,
}

impl Default for RateLimitLog {
    fn default() -> Self {
        RateLimitLog {
            logged_at: HashMap::new(),
            interval: DEFAULT_RATE_LIMIT_INTERVAL,
            last_sweep: Instant::now(),
        }
    }
}

impl RateLimitLog {
    /// Whether `key` may be logged at `now`; records it if so. Expired keys are swept once
    /// per interval so the map stays small.
    fn admit(&mut self, key: String, now: Instant) -> bool {
        let interval = self.interval;
        if now.duration_since(self.last_sweep) >= interval {
            self.logged_at
                .retain(|_, at| now.duration_since(*at) < interval);
            self.last_sweep = now;
        }
        match self.logged_at.get(&key) {
            Some(at) if now.duration_since(*at) < interval => false,
            _ => {
                self.logged_at.insert(key, now);
                true
            }
        }
    }
}

/// A server's logging state (Go's `s.logging` and the server's log methods).
#[derive(Default)]
pub struct Logging {
    logger: RwLock<Option<Arc<dyn Log>>>,
    debug: AtomicBool,
    trace: AtomicBool,
    trace_sys_acc: AtomicBool,
    /// Statements recently logged by the `rate_limit_*` methods.
    rate_limited: Mutex<RateLimitLog>,
}

impl fmt::Debug for Logging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logging")
            .field("has_logger", &self.logger.read().is_some())
            .field("debug", &self.is_debug())
            .field("trace", &self.is_trace())
            .field("trace_sys_acc", &self.is_trace_sys_acc())
            .finish()
    }
}

impl Logging {
    /// No sink: logs nothing until [`Logging::set_logger`] or [`Logging::configure`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the sink and the debug/trace switches; closes the previous sink.
    pub fn set_logger(&self, logger: Option<Arc<dyn Log>>, debug: bool, trace: bool) {
        self.set_logger_v2(logger, debug, trace, false);
    }

    /// [`Logging::set_logger`] with the system-account trace switch.
    pub fn set_logger_v2(
        &self,
        logger: Option<Arc<dyn Log>>,
        debug: bool,
        trace: bool,
        trace_sys_acc: bool,
    ) {
        self.debug.store(debug, Ordering::Relaxed);
        self.trace.store(trace, Ordering::Relaxed);
        self.trace_sys_acc.store(trace_sys_acc, Ordering::Relaxed);
        let previous = std::mem::replace(&mut *self.logger.write(), logger.clone());
        // Setting the same sink again must not close it.
        let replaced = previous.filter(|p| !logger.as_ref().is_some_and(|l| Arc::ptr_eq(l, p)));
        if let Some(prev) = replaced {
            if let Err(e) = prev.close() {
                self.error(format_args!("Error closing logger: {e}"));
            }
        }
    }

    /// The current sink.
    pub fn logger(&self) -> Option<Arc<dyn Log>> {
        self.logger.read().clone()
    }

    pub fn is_debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    pub fn is_trace(&self) -> bool {
        self.trace.load(Ordering::Relaxed)
    }

    pub fn is_trace_sys_acc(&self) -> bool {
        self.trace_sys_acc.load(Ordering::Relaxed)
    }

    /// Builds the sink from `cfg` and installs it (Go's `ConfigureLogger`). With
    /// `no_log` nothing changes.
    pub fn configure(&self, cfg: &LogConfig) -> io::Result<()> {
        if cfg.no_log {
            return Ok(());
        }
        let logger = build_logger(cfg)?;
        self.set_logger_v2(logger, cfg.debug, cfg.trace, cfg.trace_verbose);
        Ok(())
    }

    /// Closes and reopens the log file, after an outside tool moved it away (SIGUSR1,
    /// `--signal reopen`). Does nothing but say so when not logging to a file.
    pub fn reopen_log_file(&self, cfg: &LogConfig) -> io::Result<()> {
        if self.logger.read().is_none() {
            self.notice(format_args!("File log re-open ignored, no logger"));
            return Ok(());
        }
        let Some(path) = &cfg.log_file else {
            self.notice(format_args!("File log re-open ignored, not a file logger"));
            return Ok(());
        };
        let l = Logger::new_file(
            path,
            cfg.logtime,
            cfg.debug,
            cfg.trace,
            cfg.pid,
            cfg.logtime_utc,
        )?;
        if cfg.log_size_limit > 0 {
            l.set_size_limit(cfg.log_size_limit)?;
        }
        if cfg.log_max_files > 0 {
            l.set_max_num_files(cfg.log_max_files)?;
        }
        self.set_logger_v2(Some(Arc::new(l)), cfg.debug, cfg.trace, cfg.trace_verbose);
        self.notice(format_args!("File log re-opened"));
        Ok(())
    }

    fn emit(&self, level: Level, args: fmt::Arguments<'_>) {
        if let Some(l) = self.logger.read().as_ref() {
            l.log(level, args);
        }
    }

    pub fn notice(&self, args: fmt::Arguments<'_>) {
        self.emit(Level::Notice, args);
    }

    pub fn warn(&self, args: fmt::Arguments<'_>) {
        self.emit(Level::Warn, args);
    }

    pub fn error(&self, args: fmt::Arguments<'_>) {
        self.emit(Level::Error, args);
    }

    /// A fatal error: printed `[FTL]`; the std and file loggers then end the process
    /// with status 1, as nats-server does. A server that is already shutting down should
    /// log with [`Logging::error`] instead (nats-server does).
    pub fn fatal(&self, args: fmt::Arguments<'_>) {
        self.emit(Level::Fatal, args);
    }

    pub fn debug(&self, args: fmt::Arguments<'_>) {
        if self.is_debug() {
            self.emit(Level::Debug, args);
        }
    }

    pub fn trace(&self, args: fmt::Arguments<'_>) {
        if self.is_trace() {
            self.emit(Level::Trace, args);
        }
    }

    /// How long a rate-limited statement stays suppressed (Go's
    /// `changeRateLimitLogInterval`); zero is ignored.
    pub fn set_rate_limit_interval(&self, interval: Duration) {
        if !interval.is_zero() {
            self.rate_limited.lock().interval = interval;
        }
    }

    /// Logs at `level` unless `key` was logged this way by this server within the
    /// rate-limit interval.
    fn rate_limited(&self, key: String, level: Level, statement: &str) {
        if !self.rate_limited.lock().admit(key, Instant::now()) {
            return;
        }
        match level {
            Level::Debug => self.debug(format_args!("{statement}")),
            _ => self.emit(level, format_args!("{statement}")),
        }
    }

    /// Warns once per distinct statement.
    pub fn rate_limit_warn(&self, args: fmt::Arguments<'_>) {
        let s = args.to_string();
        self.rate_limited(s.clone(), Level::Warn, &s);
    }

    /// Errors once per distinct statement.
    pub fn rate_limit_error(&self, args: fmt::Arguments<'_>) {
        let s = args.to_string();
        self.rate_limited(s.clone(), Level::Error, &s);
    }

    /// Debug once per distinct statement.
    pub fn rate_limit_debug(&self, args: fmt::Arguments<'_>) {
        let s = args.to_string();
        self.rate_limited(s.clone(), Level::Debug, &s);
    }

    /// Warns once per format (`format_key`), whatever the arguments.
    pub fn rate_limit_format_warn(&self, format_key: &str, args: fmt::Arguments<'_>) {
        self.rate_limited(format_key.to_string(), Level::Warn, &args.to_string());
    }

    /// [`Logging::rate_limit_warn`] for one connection: the line starts with `label` (e.g.
    /// the client's `host:port - cid:N`), but the statement alone decides what is
    /// suppressed, so the same warning from many connections is logged once.
    pub fn rate_limit_warn_for(&self, label: &str, args: fmt::Arguments<'_>) {
        let s = args.to_string();
        let line = format!("{label} - {s}");
        self.rate_limited(s, Level::Warn, &line);
    }

    /// [`Logging::rate_limit_format_warn`] for one connection (see
    /// [`Logging::rate_limit_warn_for`]).
    pub fn rate_limit_format_warn_for(
        &self,
        label: &str,
        format_key: &str,
        args: fmt::Arguments<'_>,
    ) {
        self.rate_limited(
            format_key.to_string(),
            Level::Warn,
            &format!("{label} - {args}"),
        );
    }
}

static GLOBAL: OnceLock<Arc<Logging>> = OnceLock::new();
static SUBSCRIBER: Once = Once::new();

/// The process-wide [`Logging`], target of the `tracing` bridge and of the logger-less
/// macros. It logs nothing until [`init`].
pub fn global() -> &'static Arc<Logging> {
    GLOBAL.get_or_init(|| Arc::new(Logging::new()))
}

/// Handle on the process-wide logging set up by [`init`].
pub struct LogHandle {
    logging: Arc<Logging>,
    cfg: Mutex<LogConfig>,
}

impl LogHandle {
    /// The process-wide [`Logging`]; give it to the server so both log to one sink.
    pub fn logging(&self) -> Arc<Logging> {
        self.logging.clone()
    }

    /// Reopens the log file (SIGUSR1).
    pub fn reopen(&self) -> io::Result<()> {
        let cfg = self.cfg.lock().clone();
        self.logging.reopen_log_file(&cfg)
    }

    /// Applies new logging options (config reload).
    pub fn reconfigure(&self, cfg: &LogConfig) -> io::Result<()> {
        self.logging.configure(cfg)?;
        *self.cfg.lock() = cfg.clone();
        Ok(())
    }
}

/// Configures the process-wide logging and installs the `tracing` subscriber that
/// formats like nats-server. Safe to call again: it reconfigures; the subscriber is
/// installed once, and not at all if the process already has one.
pub fn init(cfg: &LogConfig) -> io::Result<LogHandle> {
    let logging = global().clone();
    logging.configure(cfg)?;
    SUBSCRIBER.call_once(|| {
        let _ = tracing::subscriber::set_global_default(GoFormatSubscriber {
            logging: logging.clone(),
        });
    });
    Ok(LogHandle {
        logging,
        cfg: Mutex::new(cfg.clone()),
    })
}

/// A `tracing` subscriber printing events through a [`Logging`] in nats-server's format.
/// Spans are accepted and ignored. Other crates' events are shown from WARN up.
pub struct GoFormatSubscriber {
    logging: Arc<Logging>,
}

impl GoFormatSubscriber {
    pub fn new(logging: Arc<Logging>) -> Self {
        GoFormatSubscriber { logging }
    }
}

fn is_ours(meta: &tracing::Metadata<'_>) -> bool {
    let t = meta.target();
    t == "natsd" || t.starts_with("natsd::")
}

impl tracing::Subscriber for GoFormatSubscriber {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Debug and trace switch at run time: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        let level = *meta.level();
        if level <= tracing::Level::WARN {
            return true;
        }
        if !is_ours(meta) {
            return false;
        }
        match level {
            tracing::Level::INFO => true,
            tracing::Level::DEBUG => self.logging.is_debug(),
            _ => self.logging.is_trace(),
        }
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut v = EventText::default();
        event.record(&mut v);
        let level = match *event.metadata().level() {
            tracing::Level::ERROR if v.fatal => Level::Fatal,
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Notice,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::TRACE => Level::Trace,
        };
        let text = format_args!("{}{}", v.message, v.fields);
        match level {
            Level::Debug => self.logging.debug(text),
            Level::Trace => self.logging.trace(text),
            _ => self.logging.emit(level, text),
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// The message of a `tracing` event, its other fields as ` key=value`, and the
/// `fatal` marker.
#[derive(Default)]
struct EventText {
    message: String,
    fields: String,
    fatal: bool,
}

impl tracing::field::Visit for EventText {
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        if field.name() == "fatal" {
            self.fatal = value;
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            use fmt::Write;
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        use fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Logs a notice (`[INF]`). `notice!("fmt", args)` goes through `tracing` to the
/// process-wide logging; `notice!(logging, "fmt", args)` goes to that [`Logging`].
#[macro_export]
macro_rules! notice {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::info!($fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.notice(::std::format_args!($fmt $($arg)*))
    };
}

/// Logs a warning (`[WRN]`); see [`notice!`] for the two forms.
#[macro_export]
macro_rules! warn {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::warn!($fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.warn(::std::format_args!($fmt $($arg)*))
    };
}

/// Logs an error (`[ERR]`); see [`notice!`] for the two forms.
#[macro_export]
macro_rules! error {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::error!($fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.error(::std::format_args!($fmt $($arg)*))
    };
}

/// Logs a fatal error (`[FTL]`); the std and file loggers then exit with status 1.
/// See [`notice!`] for the two forms.
#[macro_export]
macro_rules! fatal {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::error!(fatal = true, $fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.fatal(::std::format_args!($fmt $($arg)*))
    };
}

/// Logs a debug line (`[DBG]`, with `-D`); see [`notice!`] for the two forms.
#[macro_export]
macro_rules! debug {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::debug!($fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.debug(::std::format_args!($fmt $($arg)*))
    };
}

/// Logs a trace line (`[TRC]`, with `-V`); see [`notice!`] for the two forms.
#[macro_export]
macro_rules! trace {
    ($fmt:literal $($arg:tt)*) => {
        $crate::logging::__tracing::trace!($fmt $($arg)*)
    };
    ($log:expr, $fmt:literal $($arg:tt)*) => {
        $log.trace(::std::format_args!($fmt $($arg)*))
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn capture() -> (Logging, Arc<CaptureLogger>) {
        let logging = Logging::new();
        let cap = Arc::new(CaptureLogger::retaining());
        logging.set_logger(Some(cap.clone()), true, true);
        (logging, cap)
    }

    #[test]
    fn macros_with_a_logging() {
        let (logging, cap) = capture();
        let port = 4222;
        crate::notice!(logging, "Listening on {}:{port}", "0.0.0.0");
        crate::warn!(logging, "w");
        crate::error!(logging, "e {}", 1);
        crate::debug!(logging, "d");
        crate::trace!(logging, "t");
        crate::fatal!(logging, "f");
        assert_eq!(
            cap.entries(),
            vec![
                (Level::Notice, "Listening on 0.0.0.0:4222".to_string()),
                (Level::Warn, "w".into()),
                (Level::Error, "e 1".into()),
                (Level::Debug, "d".into()),
                (Level::Trace, "t".into()),
                (Level::Fatal, "f".into()),
            ]
        );
        let shared = Arc::new(logging);
        crate::notice!(shared, "via arc");
        assert_eq!(cap.last(), "via arc");
    }

    #[test]
    fn switches_gate_debug_and_trace() {
        let (logging, cap) = capture();
        logging.set_logger(logging.logger(), false, false);
        logging.debug(format_args!("no"));
        logging.trace(format_args!("no"));
        assert!(cap.messages().is_empty());
    }

    #[test]
    fn rate_limited_once() {
        let (logging, cap) = capture();
        for _ in 0..3 {
            logging.rate_limit_warn(format_args!("slow {}", 1));
            logging.rate_limit_format_warn("fmt-key", format_args!("x {}", rand::random::<u32>()));
        }
        logging.rate_limit_warn(format_args!("slow {}", 2));
        assert_eq!(cap.messages().len(), 3);
    }

    #[test]
    fn rate_limit_expires_after_interval() {
        let mut log = RateLimitLog::default();
        let t0 = Instant::now();
        assert!(log.admit("a".into(), t0));
        assert!(!log.admit("a".into(), t0 + Duration::from_millis(999)));
        assert!(log.admit("a".into(), t0 + Duration::from_secs(1)));
        // Old entries are swept away.
        assert!(log.admit("b".into(), t0 + Duration::from_secs(3)));
        assert_eq!(log.logged_at.len(), 1);
    }

    #[test]
    fn rate_limit_for_connections_shares_the_statement() {
        let (logging, cap) = capture();
        logging.rate_limit_warn_for("c1", format_args!("w"));
        logging.rate_limit_warn_for("c2", format_args!("w"));
        logging.rate_limit_warn(format_args!("w"));
        assert_eq!(cap.messages(), vec!["c1 - w".to_string()]);
    }

    #[test]
    fn tracing_bridge_formats_levels_and_fatal() {
        let logging = Arc::new(Logging::new());
        let cap = Arc::new(CaptureLogger::retaining());
        logging.set_logger(Some(cap.clone()), false, false);
        let sub = GoFormatSubscriber::new(logging.clone());
        tracing::subscriber::with_default(sub, || {
            crate::notice!("n {}", 1);
            crate::warn!("w");
            crate::error!("e");
            crate::fatal!("f {}", "x");
            crate::debug!("hidden");
            crate::trace!("hidden");
            tracing::info!(target: "natsd::x", code = 5, "with field");
            tracing::info!(target: "other_crate", "not shown");
            tracing::warn!(target: "other_crate", "shown");
        });
        logging.set_logger(Some(cap.clone()), true, true);
        tracing::subscriber::with_default(GoFormatSubscriber::new(logging.clone()), || {
            crate::debug!("d");
            crate::trace!("t");
        });
        assert_eq!(
            cap.entries(),
            vec![
                (Level::Notice, "n 1".to_string()),
                (Level::Warn, "w".into()),
                (Level::Error, "e".into()),
                (Level::Fatal, "f x".into()),
                (Level::Notice, "with field code=5".into()),
                (Level::Warn, "shown".into()),
                (Level::Debug, "d".into()),
                (Level::Trace, "t".into()),
            ]
        );
    }

    #[test]
    fn set_logger_closes_previous_but_not_itself() {
        struct CountClose(Arc<std::sync::atomic::AtomicUsize>);
        impl Log for CountClose {
            fn log(&self, _: Level, _: fmt::Arguments<'_>) {}
            fn close(&self) -> io::Result<()> {
                self.0.fetch_add(1, Ordering::SeqCst);
                Err(io::Error::other("nope"))
            }
        }
        let closes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let l: Arc<dyn Log> = Arc::new(CountClose(closes.clone()));
        let logging = Logging::new();
        logging.set_logger(Some(l.clone()), false, false);
        logging.set_logger(Some(l), false, false);
        assert_eq!(closes.load(Ordering::SeqCst), 0);
        let cap = Arc::new(CaptureLogger::new());
        logging.set_logger(Some(cap.clone()), false, false);
        assert_eq!(closes.load(Ordering::SeqCst), 1);
        assert_eq!(cap.last(), "Error closing logger: nope");
    }

    #[test]
    fn config_from_options() {
        let o = Options {
            debug: true,
            trace_verbose: true,
            log_size_limit: 9,
            ..Options::default()
        };
        let c = LogConfig::from_options(&o);
        assert!(c.debug && c.trace_verbose && c.pid && c.logtime);
        assert_eq!(c.log_size_limit, 9);
        let no_log = LogConfig {
            no_log: true,
            ..LogConfig::default()
        };
        assert!(build_logger(&no_log).unwrap().is_none());
    }
}
