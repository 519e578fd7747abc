//! The standard logger: lines formatted exactly like nats-server's, written to stderr, to
//! any writer, or to a file with size-limited rotation (Go's `logger.Logger`).
//!
//! Line format: `[PID] ` (optional) + `YYYY/MM/DD HH:MM:SS.UUUUUU ` (optional, local time
//! or UTC) + label (`[INF] `, colored on a terminal) + message + `\n`.

use super::{Labels, Level, Log, COLORED_LABELS, PLAIN_LABELS};
use crate::config::cli::go_quote;
use chrono::{DateTime, Datelike, Local, TimeZone, Timelike, Utc};
use parking_lot::Mutex;
use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Permissions of a log file nats-server creates.
const LOG_FILE_MODE: u32 = 0o640;

/// `[1234] `: the prefix nats-server puts before every line.
pub fn pid_prefix() -> String {
    format!("[{}] ", std::process::id())
}

/// `2006/01/02 15:04:05.000000 `: Go's `log` date and time with microseconds.
pub fn format_log_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06} ",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        (t.nanosecond() / 1000).min(999_999)
    )
}

/// A `Write` that keeps everything in memory; clones share the buffer. Lets tests read
/// what a logger printed without redirecting the process's stderr.
#[derive(Clone, Default)]
pub struct MemoryWriter(Arc<Mutex<Vec<u8>>>);

impl MemoryWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

impl Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Output {
    Stderr,
    Writer(Box<dyn Write + Send>),
    File(FileOutput),
}

/// nats-server's logger (std or file). Cheap to share behind an `Arc`.
pub struct Logger {
    out: Mutex<Output>,
    debug: bool,
    trace: bool,
    time: bool,
    utc: bool,
    prefix: String,
    labels: &'static Labels,
    exit_on_fatal: AtomicBool,
}

impl Logger {
    fn build(
        out: Output,
        time: bool,
        debug: bool,
        trace: bool,
        prefix: String,
        utc: bool,
        labels: &'static Labels,
    ) -> Logger {
        Logger {
            out: Mutex::new(out),
            debug,
            trace,
            time,
            // UTC only matters when there are timestamps (Go ignores it otherwise).
            utc: time && utc,
            prefix,
            labels,
            exit_on_fatal: AtomicBool::new(true),
        }
    }

    /// Logger to stderr (Go's `NewStdLogger(time, debug, trace, colors, pid, LogUTC)`).
    pub fn new_std(
        time: bool,
        debug: bool,
        trace: bool,
        colors: bool,
        pid: bool,
        utc: bool,
    ) -> Logger {
        Self::new_std_to(Output::Stderr, time, debug, trace, colors, pid, utc)
    }

    /// Same as [`Logger::new_std`], writing to `w` instead of stderr.
    pub fn new_writer(
        w: Box<dyn Write + Send>,
        time: bool,
        debug: bool,
        trace: bool,
        colors: bool,
        pid: bool,
        utc: bool,
    ) -> Logger {
        Self::new_std_to(Output::Writer(w), time, debug, trace, colors, pid, utc)
    }

    fn new_std_to(
        out: Output,
        time: bool,
        debug: bool,
        trace: bool,
        colors: bool,
        pid: bool,
        utc: bool,
    ) -> Logger {
        let prefix = if pid { pid_prefix() } else { String::new() };
        let labels = if colors {
            &COLORED_LABELS
        } else {
            &PLAIN_LABELS
        };
        Self::build(out, time, debug, trace, prefix, utc, labels)
    }

    /// Logger appending to `path`, created with mode 0640 if needed (Go's
    /// `NewFileLogger`). Labels are never colored in a file.
    pub fn new_file(
        path: &Path,
        time: bool,
        debug: bool,
        trace: bool,
        pid: bool,
        utc: bool,
    ) -> io::Result<Logger> {
        let prefix = if pid { pid_prefix() } else { String::new() };
        let file = FileOutput::open(path)?;
        Ok(Self::build(
            Output::File(file),
            time,
            debug,
            trace,
            prefix,
            utc,
            &PLAIN_LABELS,
        ))
    }

    /// Logger for tests running several servers in one process: every line starts with
    /// `prefix`, debug and trace are on, labels are colored (Go's `NewTestLogger`).
    pub fn new_test(prefix: &str, time: bool) -> Logger {
        Self::build(
            Output::Stderr,
            time,
            true,
            true,
            prefix.to_string(),
            false,
            &COLORED_LABELS,
        )
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    pub fn trace_enabled(&self) -> bool {
        self.trace
    }

    /// True when lines carry a date and time (Go's `LstdFlags|Lmicroseconds`).
    pub fn time_enabled(&self) -> bool {
        self.time
    }

    /// True when the date and time are in UTC.
    pub fn utc_enabled(&self) -> bool {
        self.utc
    }

    /// Whether `Fatal` ends the process with status 1 after writing the line, as Go's
    /// logger does (the default). Embedders and in-process tests can turn it off.
    pub fn set_exit_on_fatal(&self, exit: bool) {
        self.exit_on_fatal.store(exit, Ordering::Relaxed);
    }

    /// Rotates the log file once it grows past `limit` bytes: the file is renamed to
    /// `<name>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn` and a new one started. Rotates right away if
    /// the file is already larger. Only for file loggers.
    pub fn set_size_limit(&self, limit: i64) -> io::Result<()> {
        let rotate_now = {
            let mut out = self.out.lock();
            let Output::File(f) = &mut *out else {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "can set log size limit only for file logger",
                ));
            };
            f.limit = limit;
            f.original_limit = limit;
            f.can_rotate = true;
            f.out > f.limit
        };
        if rotate_now {
            self.log(Level::Notice, format_args!("Rotating logfile..."));
        }
        Ok(())
    }

    /// How many log files to keep on rotation, the current one included (0 keeps all).
    /// Only for file loggers.
    pub fn set_max_num_files(&self, max: i64) -> io::Result<()> {
        let mut out = self.out.lock();
        let Output::File(f) = &mut *out else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "can set log max number of files only for file logger",
            ));
        };
        f.max_num_files = max;
        Ok(())
    }

    /// Test hook: make closing the log file for rotation fail with this message (None to
    /// stop failing), to exercise the "cannot rotate" path.
    #[doc(hidden)]
    pub fn inject_close_error(&self, message: Option<&str>) {
        if let Output::File(f) = &mut *self.out.lock() {
            f.close_error = message.map(str::to_string);
        }
    }

    fn label(&self, level: Level) -> &'static str {
        match level {
            Level::Fatal => self.labels.fatal,
            Level::Error => self.labels.error,
            Level::Warn => self.labels.warn,
            Level::Notice => self.labels.info,
            Level::Debug => self.labels.debug,
            Level::Trace => self.labels.trace,
        }
    }

    fn timestamp(&self) -> String {
        if self.utc {
            format_log_time(&Utc::now())
        } else {
            format_log_time(&Local::now())
        }
    }

    fn format_line(&self, level: Level, args: fmt::Arguments<'_>) -> String {
        let mut line = String::with_capacity(128);
        line.push_str(&self.prefix);
        if self.time {
            line.push_str(&self.timestamp());
        }
        line.push_str(self.label(level));
        let _ = line.write_fmt(args);
        if !line.ends_with('\n') {
            line.push('\n');
        }
        line
    }
}

impl Log for Logger {
    fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        match level {
            Level::Debug if !self.debug => return,
            Level::Trace if !self.trace => return,
            _ => {}
        }
        let line = self.format_line(level, args);
        {
            let mut out = self.out.lock();
            match &mut *out {
                Output::Stderr => {
                    let _ = io::stderr().lock().write_all(line.as_bytes());
                }
                Output::Writer(w) => {
                    let _ = w.write_all(line.as_bytes());
                }
                Output::File(f) => f.write(line.as_bytes(), &self.prefix, self.time, self.labels),
            }
        }
        if level == Level::Fatal && self.exit_on_fatal.load(Ordering::Relaxed) {
            std::process::exit(1);
        }
    }

    fn close(&self) -> io::Result<()> {
        if let Output::File(f) = &mut *self.out.lock() {
            f.close();
        }
        Ok(())
    }
}

/// A log file, with Go's rotation rules.
struct FileOutput {
    path: PathBuf,
    /// None once closed (or when it could not be reopened after a rotation).
    file: Option<File>,
    /// Bytes in the current file.
    out: i64,
    limit: i64,
    /// The configured limit; `limit` doubles while rotation keeps failing.
    original_limit: i64,
    can_rotate: bool,
    max_num_files: i64,
    close_error: Option<String>,
}

fn open_log_file(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(LOG_FILE_MODE);
    }
    o.open(path)
}

impl FileOutput {
    fn open(path: &Path) -> io::Result<FileOutput> {
        let file = open_log_file(path)?;
        let size = file.metadata()?.len();
        Ok(FileOutput {
            path: path.to_path_buf(),
            file: Some(file),
            out: i64::try_from(size).unwrap_or(i64::MAX),
            limit: 0,
            original_limit: 0,
            can_rotate: false,
            max_num_files: 0,
            close_error: None,
        })
    }

    fn write(&mut self, line: &[u8], prefix: &str, time: bool, labels: &Labels) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.write_all(line).is_err() {
            return;
        }
        self.out += line.len() as i64;
        if self.can_rotate && self.out > self.limit {
            self.rotate(prefix, time, labels);
        }
    }

    /// Writes a line that bypasses the size accounting (notes about rotation itself).
    /// Always local time and `\r\n`, as nats-server does.
    fn log_direct(&mut self, prefix: &str, time: bool, label: &str, msg: &str) -> i64 {
        let mut line = String::with_capacity(prefix.len() + 40 + msg.len());
        line.push_str(prefix);
        if time {
            line.push_str(&format_log_time(&Local::now()));
        }
        line.push_str(label);
        line.push_str(msg);
        line.push_str("\r\n");
        if let Some(f) = self.file.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
        line.len() as i64
    }

    fn rotate(&mut self, prefix: &str, time: bool, labels: &Labels) {
        if let Some(why) = self.close_error.clone() {
            self.limit = self.limit.saturating_mul(2);
            let msg = format!(
                "Unable to close logfile for rotation ({why}), will attempt next rotation at size {}",
                self.limit
            );
            self.log_direct(prefix, time, labels.error, &msg);
            return;
        }
        self.file = None;
        let now = Local::now();
        let backup = format!(
            "{}.{:04}.{:02}.{:02}.{:02}.{:02}.{:02}.{:09}",
            self.path.display(),
            now.year(),
            now.month(),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.nanosecond().min(999_999_999)
        );
        let _ = std::fs::rename(&self.path, &backup);
        match open_log_file(&self.path) {
            Ok(f) => self.file = Some(f),
            Err(e) => {
                // nats-server panics here; keep the process up and say why on stderr.
                let _ = writeln!(
                    io::stderr(),
                    "Unable to re-open the logfile {} after rotation: {e}",
                    go_quote(&self.path.to_string_lossy())
                );
                return;
            }
        }
        let msg = format!("Rotated log, backup saved as {}", go_quote(&backup));
        self.out = self.log_direct(prefix, time, labels.info, &msg);
        self.limit = self.original_limit;
        if self.max_num_files > 0 {
            self.purge(prefix, time, labels);
        }
    }

    /// Deletes the oldest backups so that at most `max_num_files - 1` remain.
    fn purge(&mut self, prefix: &str, time: bool, labels: &Labels) {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = self
            .path
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                let msg = format!(
                    "Unable to read directory {} for log purge ({e}), will attempt next rotation",
                    go_quote(&dir.to_string_lossy())
                );
                self.log_direct(prefix, time, labels.error, &msg);
                return;
            }
        };
        let mut backups: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                name.strip_prefix(&base)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(is_backup_stamp)
            })
            .collect();
        // Stamps sort oldest first by name.
        backups.sort();
        let keep = usize::try_from(self.max_num_files - 1).unwrap_or(0);
        let excess = backups.len().saturating_sub(keep);
        for name in backups.into_iter().take(excess) {
            if let Err(e) = std::fs::remove_file(dir.join(&name)) {
                let msg = format!(
                    "Unable to remove backup log file {} ({e}), will attempt next rotation",
                    go_quote(&name)
                );
                self.log_direct(prefix, time, labels.error, &msg);
                return;
            }
            let msg = format!("Purged log file {}", go_quote(&name));
            self.log_direct(prefix, time, labels.info, &msg);
        }
    }

    fn close(&mut self) {
        self.file = None;
    }
}

/// True for `YYYY.MM.DD.hh.mm.ss[.fraction]`, a valid date and time, as written on rotation.
pub fn is_backup_stamp(stamp: &str) -> bool {
    let mut parts = stamp.splitn(7, '.');
    let mut field = |len: usize| -> Option<u32> {
        let p = parts.next()?;
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
    };
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
        (field(4), field(2), field(2), field(2), field(2), field(2))
    else {
        return false;
    };
    let fraction_ok = match parts.next() {
        None => true,
        Some(f) => (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()),
    };
    fraction_ok
        && chrono::NaiveDate::from_ymd_opt(y as i32, mo, d).is_some()
        && h < 24
        && mi < 60
        && s < 60
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mem_logger(
        time: bool,
        debug: bool,
        trace: bool,
        colors: bool,
        pid: bool,
    ) -> (Logger, MemoryWriter) {
        let w = MemoryWriter::new();
        let l = Logger::new_writer(Box::new(w.clone()), time, debug, trace, colors, pid, false);
        (l, w)
    }

    #[test]
    fn plain_and_colored_labels() {
        let (l, w) = mem_logger(false, true, true, false, false);
        l.log(Level::Notice, format_args!("a"));
        l.log(Level::Warn, format_args!("b"));
        l.log(Level::Error, format_args!("c"));
        l.log(Level::Debug, format_args!("d"));
        l.log(Level::Trace, format_args!("e"));
        assert_eq!(
            w.contents(),
            "[INF] a\n[WRN] b\n[ERR] c\n[DBG] d\n[TRC] e\n"
        );
        let (l, w) = mem_logger(false, true, true, true, false);
        l.log(Level::Notice, format_args!("a"));
        l.log(Level::Warn, format_args!("b"));
        l.log(Level::Error, format_args!("c"));
        l.log(Level::Debug, format_args!("d"));
        l.log(Level::Trace, format_args!("e"));
        assert_eq!(
            w.contents(),
            "[\x1b[32mINF\x1b[0m] a\n[\x1b[0;93mWRN\x1b[0m] b\n[\x1b[31mERR\x1b[0m] c\n\
             [\x1b[36mDBG\x1b[0m] d\n[\x1b[33mTRC\x1b[0m] e\n"
        );
    }

    #[test]
    fn fatal_label_without_exit() {
        let (l, w) = mem_logger(false, false, false, false, false);
        l.set_exit_on_fatal(false);
        l.log(Level::Fatal, format_args!("boom"));
        assert_eq!(w.contents(), "[FTL] boom\n");
    }

    #[test]
    fn pid_and_time_prefix() {
        let (l, w) = mem_logger(true, false, false, false, true);
        l.log(Level::Notice, format_args!("x"));
        let s = w.contents();
        let re = regex::Regex::new(
            r"^\[(\d+)\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[INF\] x\n$",
        )
        .unwrap();
        let caps = re.captures(&s).unwrap_or_else(|| panic!("bad line {s:?}"));
        assert_eq!(caps[1].parse::<u32>().unwrap(), std::process::id());
    }

    #[test]
    fn message_ending_in_newline_gets_no_second_one() {
        let (l, w) = mem_logger(false, false, false, false, false);
        l.log(Level::Notice, format_args!("x\n"));
        assert_eq!(w.contents(), "[INF] x\n");
    }

    #[test]
    fn time_format() {
        let t = Utc.with_ymd_and_hms(2024, 3, 7, 5, 6, 9).unwrap()
            + chrono::Duration::microseconds(1234);
        assert_eq!(format_log_time(&t), "2024/03/07 05:06:09.001234 ");
    }

    #[test]
    fn backup_stamps() {
        assert!(is_backup_stamp("2024.03.07.05.06.09.001234567"));
        assert!(is_backup_stamp("2024.03.07.05.06.09"));
        assert!(!is_backup_stamp("2024.02.30.05.06.09.1"));
        assert!(!is_backup_stamp("2024.03.07.25.06.09.1"));
        assert!(!is_backup_stamp("2024.3.07.05.06.09.1"));
        assert!(!is_backup_stamp("bak"));
        assert!(!is_backup_stamp("2024.03.07.05.06.09.1234567890"));
    }

    #[test]
    fn size_limit_only_for_files() {
        let (l, _) = mem_logger(false, false, false, false, false);
        let e = l.set_size_limit(10).unwrap_err();
        assert!(e.to_string().contains("only for file logger"));
        let e = l.set_max_num_files(1).unwrap_err();
        assert!(e.to_string().contains("only for file logger"));
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "natsd-logger-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = temp_dir("purge");
        let path = dir.join("nats.log");
        let l = Logger::new_file(&path, true, false, false, true, false).unwrap();
        l.set_size_limit(200).unwrap();
        l.set_max_num_files(3).unwrap();
        for i in 0..40 {
            l.log(
                Level::Notice,
                format_args!("line number {i} with some padding text"),
            );
        }
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // The live file plus two backups.
        assert_eq!(names.len(), 3, "{names:?}");
        let live = std::fs::read_to_string(&path).unwrap();
        assert!(live.contains("Purged log file"), "{live}");
        assert!(live.contains("Rotated log, backup saved as"), "{live}");
        assert!(live.contains("\r\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_is_created_with_0640() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let path = dir.join("n.log");
        let l = Logger::new_file(&path, false, false, false, false, false).unwrap();
        l.log(Level::Notice, format_args!("x"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // The umask may only remove bits.
        assert_eq!(mode & !0o640, 0);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[INF] x\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn closed_file_logger_drops_lines() {
        let dir = temp_dir("closed");
        let path = dir.join("n.log");
        let l = Logger::new_file(&path, false, false, false, false, false).unwrap();
        l.log(Level::Notice, format_args!("a"));
        l.close().unwrap();
        l.close().unwrap();
        l.log(Level::Notice, format_args!("b"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[INF] a\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
