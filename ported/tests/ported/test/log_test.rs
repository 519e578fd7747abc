//! Ports of `test/log_test.go`: log file rotation limits set in a config file.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use natsd::server::BackgroundServer;
use ported::port;
use std::time::Duration;

/// Go's `RunServerWithLogging`: the options as given, with logging on.
fn run_server_with_logging(mut opts: natsd::config::Options) -> BackgroundServer {
    opts.no_log = false;
    BackgroundServer::start(opts).expect("Unable to start NATS Server")
}

port!("test/log_test.go::TestLogMaxArchives" => log_max_archives);
fn log_max_archives() {
    // With a 100-byte size limit, a plain startup and shutdown rotates 8 times.
    let cases: [(&str, &str, usize); 6] = [
        (
            "Default implicit, no max logs, expect 0 purged logs",
            "port: -1\nlog_file: %s\nlogfile_size_limit: 100\n",
            9,
        ),
        (
            "Default explicit, no max logs, expect 0 purged logs",
            "port: -1\nlog_file: %s\nlogfile_size_limit: 100\nlogfile_max_num: 0\n",
            9,
        ),
        (
            "Default explicit - negative val, no max logs, expect 0 purged logs",
            "port: -1\nlog_file: %s\nlogfile_size_limit: 100\nlogfile_max_num: -42\n",
            9,
        ),
        (
            "1-max num, expect 8 purged logs",
            "port: -1\nlog_file: %s\nlogfile_size_limit: 100\nlogfile_max_num: 1\n",
            1,
        ),
        (
            "5-max num, expect 4 purged logs; use opt alias",
            "port: -1\nlog_file: %s\nlog_size_limit: 100\nlog_max_num: 5\n",
            5,
        ),
        (
            "100-max num, expect 0 purged logs",
            "port: -1\nlog_file: %s\nlogfile_size_limit: 100\nlogfile_max_num: 100\n",
            9,
        ),
    ];
    for (name, config, want) in cases {
        let d = TempDir::new();
        let log_file = d.path().join("nats-server.log");
        let content = config.replace("%s", &log_file.to_string_lossy());
        // The config file lives apart so only log files are counted (Go's createConfFile
        // writes it to another temp dir).
        let conf_dir = TempDir::new();
        let conf = conf_dir.path().join("log.conf");
        std::fs::write(&conf, content).unwrap();
        let opts = natsd::config::file::process_config_file(&conf.to_string_lossy())
            .unwrap_or_else(|e| panic!("{name}: Error processing config file: {e}"));
        let mut s = run_server_with_logging(opts);
        s.shutdown();
        // Go waits for slow filesystems to flush after shutdown.
        std::thread::sleep(Duration::from_millis(500));
        let entries = d.names();
        assert_eq!(
            entries.len(),
            want,
            "{name}: Expected {want} log files, got {}: {entries:?}",
            entries.len()
        );
    }
}
