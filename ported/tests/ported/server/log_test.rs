//! Ports of `server/log_test.go`.
//!
//! Go builds a bare `Server{}` and drives its logging methods; natsd's server keeps that
//! state in a [`Logging`] (sink + debug/trace switches + the log methods), so these
//! ports drive a `Logging` directly. Go's `DummyLogger` is [`CaptureLogger`].

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::logging::{remove_secrets_from_trace, CaptureLogger, Log, LogConfig, Logger, Logging};
use ported::port;
use std::sync::Arc;

/// Go's `DummyLogger.CheckContent`: the last message is exactly `expected`.
fn check_content(dl: &CaptureLogger, expected: &str) {
    let got = dl.last();
    assert_eq!(got, expected, "Expected log to be: {expected}, got {got}");
}

/// Go's `&Options{}`: every logging option zero (no timestamps, no debug, no trace).
fn zero_log_config() -> LogConfig {
    LogConfig {
        no_log: false,
        debug: false,
        trace: false,
        trace_verbose: false,
        logtime: false,
        logtime_utc: false,
        log_file: None,
        log_size_limit: 0,
        log_max_files: 0,
        syslog: false,
        remote_syslog: String::new(),
        max_traced_msg_len: 0,
        pid: true,
        colors: Some(false),
    }
}

port!("server/log_test.go::TestSetLogger" => set_logger);
fn set_logger() {
    let server = Logging::new();
    let dl = Arc::new(CaptureLogger::new());
    server.set_logger(Some(dl.clone()), true, true);

    // The logger is now the capture logger.
    let current = server.logger().expect("a logger");
    let dl_dyn: Arc<dyn Log> = dl.clone();
    assert!(Arc::ptr_eq(&current, &dl_dyn), "logger was not replaced");
    assert!(server.is_debug(), "Expected debug 1, received 0");
    assert!(server.is_trace(), "Expected trace 1, received 0");

    server.notice(format_args!("This is a Notice"));
    check_content(&dl, "This is a Notice");
    server.error(format_args!("This is an Error"));
    check_content(&dl, "This is an Error");
    server.fatal(format_args!("This is a Fatal"));
    check_content(&dl, "This is a Fatal");
    server.debug(format_args!("This is a Debug"));
    check_content(&dl, "This is a Debug");
    server.trace(format_args!("This is a Trace"));
    check_content(&dl, "This is a Trace");
    server.trace(format_args!("This is a Warning"));
    check_content(&dl, "This is a Warning");
    // (Go traces the "Warning" text; the port also checks warnings themselves.)
    server.warn(format_args!("This is a real Warning"));
    check_content(&dl, "This is a real Warning");

    // Debug and trace can be switched off again.
    server.set_logger(Some(dl.clone()), false, false);
    assert!(!server.is_debug(), "Expected debug 0, got 1");
    assert!(!server.is_trace(), "Expected trace 0, got 1");
    dl.clear_last();
    server.debug(format_args!("This Debug should not be traced"));
    check_content(&dl, "");
    server.trace(format_args!("This Trace should not be traced"));
    check_content(&dl, "");
    server.set_logger(None, false, false);
}

port!("server/log_test.go::TestReOpenLogFile" => reopen_log_file);
fn reopen_log_file() {
    let server = Logging::new();
    let mut cfg = zero_log_config();

    // No logger: nothing happens.
    server.set_logger(None, false, false);
    server.reopen_log_file(&cfg).unwrap();

    // Not a file logger.
    let dl = Arc::new(CaptureLogger::new());
    server.set_logger(Some(dl.clone()), false, false);
    server.reopen_log_file(&cfg).unwrap();
    check_content(&dl, "File log re-open ignored, not a file logger");

    // A file logger.
    let tmp = TempDir::new();
    let log_file = tmp.path().join("test.log");
    cfg.log_file = Some(log_file.clone());
    let file_log = Logger::new_file(
        &log_file,
        cfg.logtime,
        cfg.debug,
        cfg.trace,
        true,
        cfg.logtime_utc,
    )
    .unwrap();
    server.set_logger(Some(Arc::new(file_log)), false, false);
    let expected = "This is a Notice";
    server.notice(format_args!("{expected}"));
    let buf = std::fs::read_to_string(&log_file).expect("Error reading file");
    assert!(
        buf.contains(expected),
        "Expected log to contain: {expected:?}, got {buf:?}"
    );

    // Move the file away, then reopen.
    let backup = tmp.path().join("test.log.bak");
    std::fs::rename(&log_file, &backup).expect("Unable to rename log file");
    server.reopen_log_file(&cfg).unwrap();
    let buf = std::fs::read_to_string(&log_file).expect("Error reading file");
    assert!(
        buf.trim_end().ends_with("File log re-opened"),
        "File should indicate that file log was re-opened, got: {buf}"
    );
    assert!(
        !buf.contains(expected),
        "old lines went to the new file: {buf}"
    );

    // Later lines go to the new file.
    server.notice(format_args!("New message"));
    let buf = std::fs::read_to_string(&log_file).expect("Error reading file");
    assert!(
        buf.trim_end().ends_with("New message"),
        "New message was not appended after file was re-opened, got: {buf}"
    );
    let old = std::fs::read_to_string(&backup).unwrap();
    assert!(
        !old.contains("New message"),
        "old file still written: {old}"
    );
    server.set_logger(None, false, false);
}

port!("server/log_test.go::TestFileLoggerSizeLimitAndReopen" => file_logger_size_limit_and_reopen);
fn file_logger_size_limit_and_reopen() {
    let tmp = TempDir::new();
    let file = tmp.create_file("log_");
    let server = Logging::new();
    let cfg = LogConfig {
        log_file: Some(file.clone()),
        logtime: true,
        log_size_limit: 1000,
        ..zero_log_config()
    };
    server.configure(&cfg).unwrap();

    server.notice(format_args!("this is a notice"));
    server.reopen_log_file(&cfg).unwrap();
    let buf = std::fs::read_to_string(&file).expect("Error reading file");
    assert!(
        buf.trim_end().ends_with("File log re-opened"),
        "File should indicate that file log was re-opened, got: {buf}"
    );

    // The size limit still holds after the reopen.
    server.notice(format_args!("{}", "A".repeat(800)));
    server.notice(format_args!("{}", "B".repeat(800)));
    let sbuf = std::fs::read_to_string(&file).expect("Error reading file");
    assert!(
        !sbuf.contains("AAAAA") && !sbuf.contains("BBBBB"),
        "Looks like file was not rotated: {sbuf}"
    );
    assert!(
        sbuf.contains("Rotated log, backup saved"),
        "File should have been rotated, was not: {sbuf}"
    );
    server.set_logger(None, false, false);
}

/// Runs the redaction table of a Go test.
fn check_redaction(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (name, input, expected) in cases {
        let output = remove_secrets_from_trace(input.as_bytes());
        if &*output != expected.as_bytes() {
            failures.push(format!(
                "{name}:\nExpected {expected:?}\n    got: {:?}",
                String::from_utf8_lossy(&output)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

port!("server/log_test.go::TestRemovePassFromTrace" => remove_pass_from_trace);
fn remove_pass_from_trace() {
    check_redaction(&[
        (
            "user and pass",
            "CONNECT {\"user\":\"derek\",\"pass\":\"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"pass\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass extra space",
            "CONNECT {\"user\":\"derek\",\"pass\":  \"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"pass\":  \"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass is empty",
            "CONNECT {\"user\":\"derek\",\"pass\":\"\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"pass\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass is empty whitespace",
            "CONNECT {\"user\":\"derek\",\"pass\":\"               \"}\r\n",
            "CONNECT {\"user\":\"derek\",\"pass\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass whitespace",
            "CONNECT {\"user\":\"derek\",\"pass\":    \"s3cr3t\"     }\r\n",
            "CONNECT {\"user\":\"derek\",\"pass\":    \"[REDACTED]\"     }\r\n",
        ),
        (
            "only pass",
            "CONNECT {\"pass\":\"s3cr3t\",}\r\n",
            "CONNECT {\"pass\":\"[REDACTED]\",}\r\n",
        ),
        (
            "invalid json",
            "CONNECT {pass:s3cr3t ,   password =  s3cr3t}",
            "CONNECT {pass:[REDACTED],   password =  [REDACTED]}",
        ),
        (
            "invalid json no whitespace after key",
            "CONNECT {pass:s3cr3t ,   password=  s3cr3t}",
            "CONNECT {pass:[REDACTED],   password=  [REDACTED]}",
        ),
        (
            "both pass and wrong password key",
            r#"CONNECT {"pass":"s3cr3t4", "password": "s3cr3t4"}"#,
            r#"CONNECT {"pass":"[REDACTED]", "password": "[REDACTED]"}"#,
        ),
        (
            "invalid json",
            "CONNECT {user = hello, password =  s3cr3t}",
            "CONNECT {user = hello, password =  [REDACTED]}",
        ),
        (
            "complete connect",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"pass\":\"s3cr3t\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"pass\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
        ),
        (
            "invalid json with only pass key",
            "CONNECT {pass:s3cr3t\r\n",
            "CONNECT {pass:[REDACTED]\r\n",
        ),
        (
            "invalid password key also filtered",
            "CONNECT {\"password\":\"s3cr3t\",}\r\n",
            "CONNECT {\"password\":\"[REDACTED]\",}\r\n",
        ),
        (
            "single long password with whitespace",
            "CONNECT {\"pass\":\"secret password which is very long\",}\r\n",
            "CONNECT {\"pass\":\"[REDACTED]\",}\r\n",
        ),
        (
            "single long pass key is filtered",
            "CONNECT {\"pass\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}\r\n",
            "CONNECT {\"pass\":\"[REDACTED]\"}\r\n",
        ),
        (
            "duplicate keys all filtered",
            "CONNECT {\"pass\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"pass\":\"BBBBBBBBBBBBBBBBBBBB\",\"password\":\"CCCCCCCCCCCCCCCC\"}\r\n",
            "CONNECT {\"pass\":\"[REDACTED]\",\"pass\":\"[REDACTED]\",\"password\":\"[REDACTED]\"}\r\n",
        ),
        (
            "invalid json with multiple keys all filtered",
            "CONNECT {pass = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",pass= \"BBBBBBBBBBBBBBBBBBBB\",password =\"CCCCCCCCCCCCCCCC\"}\r\n",
            "CONNECT {pass = \"[REDACTED]\",pass= \"[REDACTED]\",password =\"[REDACTED]\"}\r\n",
        ),
        (
            "complete connect protocol",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"pass\":\"s3cr3t\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"pass\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
        ),
        (
            "user and pass are filterered",
            "CONNECT {\"user\":\"s3cr3t\",\"pass\":\"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"s3cr3t\",\"pass\":\"[REDACTED]\"}\r\n",
        ),
        (
            "complete connect using password key with user and password being the same",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"s3cr3t\",\"tls_required\":false,\"name\":\"...\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"...\"}\r\n",
        ),
        (
            "complete connect with user password and name all the same",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"s3cr3t\",\"tls_required\":false,\"name\":\"s3cr3t\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"s3cr3t\"}\r\n",
        ),
        (
            "complete connect extra white space at the beginning",
            "CONNECT \t {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"s3cr3t\",\"tls_required\":false,\"name\":\"foo\"}\r\n",
            "CONNECT \t {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"pass\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"foo\"}\r\n",
        ),
    ]);
}

port!("server/log_test.go::TestRemoveAuthTokenFromTrace" => remove_auth_token_from_trace);
fn remove_auth_token_from_trace() {
    check_redaction(&[
        (
            "user and auth_token",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass extra space",
            "CONNECT {\"user\":\"derek\",\"auth_token\":  \"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"auth_token\":  \"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass is empty",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"\"}\r\n",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass is empty whitespace",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"               \"}\r\n",
            "CONNECT {\"user\":\"derek\",\"auth_token\":\"[REDACTED]\"}\r\n",
        ),
        (
            "user and pass whitespace",
            "CONNECT {\"user\":\"derek\",\"auth_token\":    \"s3cr3t\"     }\r\n",
            "CONNECT {\"user\":\"derek\",\"auth_token\":    \"[REDACTED]\"     }\r\n",
        ),
        (
            "only pass",
            "CONNECT {\"auth_token\":\"s3cr3t\",}\r\n",
            "CONNECT {\"auth_token\":\"[REDACTED]\",}\r\n",
        ),
        (
            "invalid json",
            "CONNECT {auth_token:s3cr3t ,   password =  s3cr3t}",
            "CONNECT {auth_token:[REDACTED],   password =  [REDACTED]}",
        ),
        (
            "invalid json no whitespace after key",
            "CONNECT {auth_token:s3cr3t ,   password=  s3cr3t}",
            "CONNECT {auth_token:[REDACTED],   password=  [REDACTED]}",
        ),
        (
            "both pass and wrong password key",
            r#"CONNECT {"auth_token":"s3cr3t4", "password": "s3cr3t4"}"#,
            r#"CONNECT {"auth_token":"[REDACTED]", "password": "[REDACTED]"}"#,
        ),
        (
            "invalid json",
            "CONNECT {user = hello, auth_token =  s3cr3t}",
            "CONNECT {user = hello, auth_token =  [REDACTED]}",
        ),
        (
            "complete connect",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"auth_token\":\"s3cr3t\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"auth_token\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
        ),
        (
            "invalid json with only pass key",
            "CONNECT {auth_token:s3cr3t\r\n",
            "CONNECT {auth_token:[REDACTED]\r\n",
        ),
        (
            "invalid password key also filtered",
            "CONNECT {\"auth_token\":\"s3cr3t\",}\r\n",
            "CONNECT {\"auth_token\":\"[REDACTED]\",}\r\n",
        ),
        (
            "single long password with whitespace",
            "CONNECT {\"auth_token\":\"secret password which is very long\",}\r\n",
            "CONNECT {\"auth_token\":\"[REDACTED]\",}\r\n",
        ),
        (
            "single long pass key is filtered",
            "CONNECT {\"auth_token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}\r\n",
            "CONNECT {\"auth_token\":\"[REDACTED]\"}\r\n",
        ),
        (
            "duplicate keys all filtered",
            "CONNECT {\"auth_token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"auth_token\":\"BBB\",\"pass\":\"BBBBBBBBBBBBBBBBBBBB\",\"password\":\"CCCCCCCCCCCCCCCC\"}\r\n",
            "CONNECT {\"auth_token\":\"[REDACTED]\",\"auth_token\":\"[REDACTED]\",\"pass\":\"[REDACTED]\",\"password\":\"[REDACTED]\"}\r\n",
        ),
        (
            "invalid json with multiple keys all filtered",
            "CONNECT {auth_token = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",pass= \"BBBBBBBBBBBBBBBBBBBB\",password =\"CCCCCCCCCCCCCCCC\"}\r\n",
            "CONNECT {auth_token = \"[REDACTED]\",pass= \"[REDACTED]\",password =\"[REDACTED]\"}\r\n",
        ),
        (
            "complete connect protocol",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"auth_token\":\"s3cr3t\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"foo\",\"auth_token\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"APM7JU94z77YzP6WTBEiuw\"}\r\n",
        ),
        (
            "user and token are filterered",
            "CONNECT {\"user\":\"s3cr3t\",\"auth_token\":\"s3cr3t\"}\r\n",
            "CONNECT {\"user\":\"s3cr3t\",\"auth_token\":\"[REDACTED]\"}\r\n",
        ),
        (
            "complete connect using token key with user and token being the same",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"s3cr3t\",\"tls_required\":false,\"name\":\"...\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"...\"}\r\n",
        ),
        (
            "complete connect with user, token and name all the same",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"s3cr3t\",\"tls_required\":false,\"name\":\"s3cr3t\"}\r\n",
            "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"s3cr3t\"}\r\n",
        ),
        (
            "complete connect extra white space at the beginning",
            "CONNECT \t {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"s3cr3t\",\"tls_required\":false,\"name\":\"foo\"}\r\n",
            "CONNECT \t {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"s3cr3t\",\"auth_token\":\"[REDACTED]\",\"tls_required\":false,\"name\":\"foo\"}\r\n",
        ),
    ]);
}

port!("server/log_test.go::TestRemoveAdditionalAuthFieldsFromTrace" => remove_additional_auth_fields_from_trace);
fn remove_additional_auth_fields_from_trace() {
    check_redaction(&[
        (
            "sig",
            "CONNECT {\"sig\":\"signature\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"sig\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "nkey",
            "CONNECT {\"nkey\":\"nkey\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"nkey\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "proxy sig",
            "CONNECT {\"proxy_sig\":\"proxy-signature\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"proxy_sig\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "proxy sig followed by sig",
            "CONNECT {\"proxy_sig\":\"proxy-signature\",\"sig\":\"sig\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"proxy_sig\":\"[REDACTED]\",\"sig\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "sig followed by proxy sig",
            "CONNECT {\"sig\":\"sig\",\"proxy_sig\":\"proxy-signature\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"sig\":\"[REDACTED]\",\"proxy_sig\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "sig marker inside another string still redacts real sig",
            "CONNECT {\"name\":\"foo sig:bar\",\"sig\":\"REAL\",\"user\":\"foo\"}\r\n",
            "CONNECT {\"name\":\"foo sig:[REDACTED]\",\"sig\":\"[REDACTED]\",\"user\":\"foo\"}\r\n",
        ),
        (
            "malformed sig without object delimiters",
            "CONNECT sig=abc\r\n",
            "CONNECT sig=[REDACTED]\r\n",
        ),
        (
            "sig after malformed quoted field is redacted",
            "CONNECT {\"name\":\"unterminated,\"sig\":\"abc\"}\r\n",
            "CONNECT {\"name\":\"unterminated,\"sig\":\"[REDACTED]\"}\r\n",
        ),
    ]);
}

port!("server/log_test.go::TestNoPasswordsFromConnectTrace" => no_passwords_from_connect_trace);
fn no_passwords_from_connect_trace() {
    use ported::support::{default_test_options, re, run_server, RawConn};
    let s = run_server(natsd::config::Options {
        trace: true,
        username: "derek".to_string(),
        password: "s3cr3t".to_string(),
        ping_interval: std::time::Duration::from_secs(120),
        ..default_test_options()
    });
    let dl = Arc::new(CaptureLogger::retaining());
    s.shared().logging.set_logger(Some(dl.clone()), false, true);
    assert!(s.shared().logging.is_trace(), "Expected trace 1");

    let mut c = RawConn::connect(s.addr);
    c.check_info();
    c.send("CONNECT {\"user\":\"derek\",\"pass\":\"s3cr3t\"}\r\nPING\r\n");
    // Go's CONNECT defaults to verbose: +OK, then the PONG.
    c.expect(&re::OK);
    c.expect(&re::PONG);

    // Beyond Go's check: the CONNECT was traced, with the password redacted.
    let connects = dl.containing("<<- [CONNECT");
    assert_eq!(
        connects.len(),
        1,
        "CONNECT traced once: {:?}",
        dl.messages()
    );
    assert!(connects[0].contains("[REDACTED]"), "{}", connects[0]);
    assert!(
        dl.containing("s3cr3t").is_empty(),
        "password found: {:?}",
        dl.containing("s3cr3t")
    );
}
