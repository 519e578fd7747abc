//! Ports of `logger/log_test.go`.
//!
//! Go's tests swap `os.Stderr` for a pipe to read what the std logger prints. A test
//! process running trials in parallel cannot redirect its stderr, so these ports give the
//! logger a memory writer instead ([`Logger::new_writer`], same constructor arguments
//! and the same formatting path as [`Logger::new_std`]).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::TempDir;
use natsd::logging::{Level, Log, Logger, MemoryWriter};
use ported::port;
use regex::Regex;

/// Go's `expectOutput`: runs `f` with a logger built like `NewStdLogger(args)` and
/// compares everything it printed with `expected`.
fn expect_output(
    (time, debug, trace, colors, pid): (bool, bool, bool, bool, bool),
    f: impl FnOnce(&Logger),
    expected: &str,
) {
    let w = MemoryWriter::new();
    let logger = Logger::new_writer(Box::new(w.clone()), time, debug, trace, colors, pid, false);
    f(&logger);
    let out = w.contents();
    assert_eq!(out, expected, "Expected '{expected}', received '{out}'");
}

port!("logger/log_test.go::TestStdLogger" => std_logger);
fn std_logger() {
    let logger = Logger::new_std(false, false, false, false, false, false);
    // Go: flags == 0, i.e. no date, no time, no UTC.
    assert!(!logger.time_enabled(), "Expected no timestamps");
    assert!(!logger.utc_enabled(), "Expected no UTC flag");
    assert!(!logger.debug_enabled(), "Expected debug false");
    assert!(!logger.trace_enabled(), "Expected trace false");
}

port!("logger/log_test.go::TestStdLoggerWithDebugTraceAndTime" => std_logger_with_debug_trace_and_time);
fn std_logger_with_debug_trace_and_time() {
    let logger = Logger::new_std(true, true, true, false, false, false);
    // Go: flags == LstdFlags|Lmicroseconds (date, time with microseconds, local time).
    assert!(logger.time_enabled(), "Expected timestamps");
    assert!(!logger.utc_enabled(), "Expected local time");
    assert!(logger.debug_enabled(), "Expected debug true");
    assert!(logger.trace_enabled(), "Expected trace true");
    // The same flags print date and time with microseconds.
    let w = MemoryWriter::new();
    let l = Logger::new_writer(Box::new(w.clone()), true, true, true, false, false, false);
    l.log(Level::Notice, format_args!("x"));
    let re = Regex::new(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[INF\] x\n$").unwrap();
    assert!(re.is_match(&w.contents()), "got {:?}", w.contents());
}

port!("logger/log_test.go::TestStdLoggerNotice" => std_logger_notice);
fn std_logger_notice() {
    expect_output(
        (false, false, false, false, false),
        |l| l.log(Level::Notice, format_args!("foo")),
        "[INF] foo\n",
    );
}

port!("logger/log_test.go::TestStdLoggerNoticeWithColor" => std_logger_notice_with_color);
fn std_logger_notice_with_color() {
    expect_output(
        (false, false, false, true, false),
        |l| l.log(Level::Notice, format_args!("foo")),
        "[\x1b[32mINF\x1b[0m] foo\n",
    );
}

port!("logger/log_test.go::TestStdLoggerDebug" => std_logger_debug);
fn std_logger_debug() {
    expect_output(
        (false, true, false, false, false),
        |l| l.log(Level::Debug, format_args!("foo {}", "bar")),
        "[DBG] foo bar\n",
    );
}

port!("logger/log_test.go::TestStdLoggerDebugWithOutDebug" => std_logger_debug_without_debug);
fn std_logger_debug_without_debug() {
    expect_output(
        (false, false, false, false, false),
        |l| l.log(Level::Debug, format_args!("foo")),
        "",
    );
}

port!("logger/log_test.go::TestStdLoggerTrace" => std_logger_trace);
fn std_logger_trace() {
    expect_output(
        (false, false, true, false, false),
        |l| l.log(Level::Trace, format_args!("foo")),
        "[TRC] foo\n",
    );
}

port!("logger/log_test.go::TestStdLoggerTraceWithOutDebug" => std_logger_trace_without_debug);
fn std_logger_trace_without_debug() {
    expect_output(
        (false, false, false, false, false),
        |l| l.log(Level::Trace, format_args!("foo")),
        "",
    );
}

port!("logger/log_test.go::TestFileLogger" => file_logger);
fn file_logger() {
    let tmp = TempDir::new();
    let file = tmp.create_file("nats-server:log_");

    let logger = Logger::new_file(&file, false, false, false, false, false).unwrap();
    logger.log(Level::Notice, format_args!("foo"));
    let buf = std::fs::read_to_string(&file).expect("Could not read logfile");
    assert!(!buf.is_empty(), "Expected a non-zero length logfile");
    assert_eq!(
        buf, "[INF] foo\n",
        "Expected '[INFO] foo', received '{buf}'"
    );
    logger.close().unwrap();

    let file = tmp.create_file("nats-server:log_");
    let logger = Logger::new_file(&file, true, false, true, true, false).unwrap();
    logger.log(Level::Error, format_args!("foo"));
    let s = std::fs::read_to_string(&file).expect("Could not read logfile");
    assert!(!s.is_empty(), "Expected a non-zero length logfile");
    let err_msg = format!("Expected '[pid] <date> [ERR] foo', received '{s}'");
    let pid_end = s.find(' ').expect(&err_msg);
    let info_start = s.rfind("[ERR]").expect(&err_msg);
    let pid = &s[..pid_end];
    assert!(pid.starts_with('[') && pid.ends_with(']'), "{err_msg}");
    let date = &s[pid_end..info_start];
    let date_re =
        Regex::new(r"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}.[0-9]{6}").unwrap();
    assert!(
        date_re.is_match(date),
        "Date string '{date}' does not match '{}'",
        date_re.as_str()
    );
    assert!(s.ends_with("[ERR] foo\n"), "{err_msg}");
    logger.close().unwrap();
}

/// The last name in the directory: the newest backup (names sort by their timestamp).
fn last_name(tmp: &TempDir) -> String {
    tmp.names().pop().expect("a file in the logs dir")
}

/// Go's `fmt.Sprintf("%v", make([]byte, n))`: `[0 0 ... 0]`.
fn go_zero_bytes(n: usize) -> String {
    format!("[{}]", vec!["0"; n].join(" "))
}

port!("logger/log_test.go::TestFileLoggerSizeLimit" => file_logger_size_limit);
fn file_logger_size_limit() {
    // A std logger cannot rotate.
    let logger = Logger::new_std(true, false, false, false, true, false);
    let err = logger.set_size_limit(1000).err();
    assert!(
        err.as_ref()
            .is_some_and(|e| e.to_string().contains("only for file logger")),
        "Expected error about being able to use only for file logger, got {err:?}"
    );
    logger.close().unwrap();

    let tmp = TempDir::new();
    let file = tmp.create_file("log_");
    let logger = Logger::new_file(&file, true, false, false, true, false).unwrap();
    logger.set_size_limit(1000).unwrap();
    for _ in 0..50 {
        logger.log(
            Level::Notice,
            format_args!("This is a line in the log file"),
        );
    }
    assert_ne!(tmp.names().len(), 1, "Expected file to have been rotated");
    let last_backup = last_name(&tmp);
    logger.close().expect("Error closing log");
    let content = std::fs::read_to_string(&file).expect("Error loading latest log");
    assert!(
        content.contains("Rotated log") && content.contains(&last_backup),
        "Should be statement about rotated log and backup name, got {content}"
    );

    // Recreate the logger without a limit.
    let tmp = TempDir::new();
    let file = tmp.create_file("log_");
    let logger = Logger::new_file(&file, true, false, false, true, false).unwrap();
    for i in 0..50 {
        logger.log(
            Level::Notice,
            format_args!("This is line {} in the log file", i + 1),
        );
    }
    assert_eq!(tmp.names().len(), 1, "Expected file to not be rotated");

    // A limit below the current size rotates right away.
    logger.set_size_limit(1000).unwrap();
    let names = tmp.names();
    assert!(names.len() > 1, "Expected file to have been rotated");
    logger.close().expect("Error closing log");
    let last_backup = names.last().unwrap().clone();
    let content = std::fs::read_to_string(&file).expect("Error loading latest log");
    assert!(
        content.contains("Rotated log") && content.contains(&last_backup),
        "Should be statement about rotated log and backup name, got {content}"
    );

    let logger = Logger::new_file(&file, true, false, false, true, false).unwrap();
    logger.set_size_limit(1000).unwrap();
    // Closing the file for rotation fails: the limit doubles to 2000.
    logger.inject_close_error(Some("on purpose"));
    logger.log(
        Level::Notice,
        format_args!("This is a big line: {}", go_zero_bytes(1000)),
    );
    // The failure goes away: the next big line rotates.
    logger.inject_close_error(None);
    logger.log(
        Level::Notice,
        format_args!("This is a big line: {}", go_zero_bytes(2000)),
    );
    logger.close().unwrap();

    let last_backup = last_name(&tmp);
    let content =
        std::fs::read_to_string(tmp.path().join(&last_backup)).expect("Error reading backup file");
    assert!(
        content.contains("on purpose") && content.contains("size 2000"),
        "Expected error that file could not rotated and max size bumped to 2000, got {content}"
    );
}
