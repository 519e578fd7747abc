//! Ports of `server/server_test.go`.
//!
//! Go's `DefaultOptions()` listens on a random port with debug and trace on and also sets
//! up a cluster and monitoring port; the ports below start from
//! [`default_test_options`] and set what each test needs. Where Go reads `s.info` or calls
//! unexported helpers (`getClientConnectURLs`, `acceptError`, `RateLimitWarnf`), the port
//! uses natsd's equivalent: the INFO clients receive, [`connect_urls`],
//! [`ServerShared::accept_error`], [`Logging`]'s rate-limited methods.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::cli::{self, CliAction};
use natsd::config::Options;
use natsd::logging::{CaptureLogger, Level, Logging};
use natsd::server::{info_host_port, listen_port, Server, ServerShared, ACCEPT_MAX_SLEEP};
use natsd::util::{connect_urls, format_revision, is_global_unicast, is_semver};
use ported::port;
use ported::support::{
    check_for, create_conf_file, default_test_options, load_config, re, run_server,
    run_server_with_config, RawConn,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A runtime to drive the server's async API from a plain test thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

port!("server/server_test.go::TestSemanticVersion" => semantic_version);
fn semantic_version() {
    assert!(
        is_semver(natsd::VERSION),
        "Version ({}) is not a valid SemVer string",
        natsd::VERSION
    );
}

port!("server/server_test.go::TestVersionMatchesTag" => version_matches_tag);
fn version_matches_tag() {
    // Go compares VERSION with the release tag being built (TRAVIS_TAG). natsd's release
    // tag is the nats-server release it is a drop-in for, pinned in go-tests-index.
    let upstream =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../go-tests-index/upstream.toml");
    let text = std::fs::read_to_string(&upstream).unwrap();
    let tag = text
        .lines()
        .find_map(|l| l.strip_prefix("tag = "))
        .map(|t| t.trim().trim_matches('"').to_string())
        .expect("upstream.toml names a tag");
    assert!(
        tag.starts_with('v'),
        "Expect tag to start with `v`, tag is: {tag}"
    );
    assert_eq!(
        natsd::VERSION,
        &tag[1..],
        "Version ({}) does not match tag ({})",
        natsd::VERSION,
        &tag[1..]
    );
    // What `--version` prints carries the same version, prefixed with `v` like the tag.
    let line = cli::version_line();
    let expected = format!("v{}", natsd::VERSION);
    assert!(
        line.starts_with(&format!("nats-server: {expected}")),
        "Version ({expected}) does not match the printed version ({line})"
    );
}

port!("server/server_test.go::TestGetConnectURLs" => get_connect_urls);
fn get_connect_urls() {
    let port = 4222;
    let mut global_ip: Option<IpAddr> = None;

    for listen_addr in ["0.0.0.0", "::"] {
        let urls = connect_urls("", listen_addr, port).unwrap();
        assert!(
            !urls.is_empty(),
            "Expected to get a list of urls, got none for listen addr: {listen_addr}"
        );
        for u in &urls {
            let addr: SocketAddr = u.parse().unwrap_or_else(|e| panic!("Error resolving: {e}"));
            let ip = addr.ip();
            assert!(is_global_unicast(ip), "IP {ip} is not global");
            assert!(!ip.is_unspecified(), "IP {ip} is unspecified");
            let host = u.strip_suffix(":4222").unwrap_or(u);
            assert_ne!(host, listen_addr, "Returned url is not right: {u}");
            global_ip.get_or_insert(ip);
        }
    }

    let mut single = vec!["127.0.0.1".to_string(), "::1".to_string()];
    if let Some(ip) = global_ip {
        single.push(ip.to_string());
    }
    for host in &single {
        let urls = connect_urls("", host, port).unwrap();
        assert_eq!(urls.len(), 1, "Expected one URL, got {urls:?}");
        let addr: SocketAddr = urls[0]
            .parse()
            .unwrap_or_else(|e| panic!("Error resolving: {e}"));
        assert_eq!(
            &addr.ip().to_string(),
            host,
            "Expected connect URL to be {host}, got {}",
            addr.ip()
        );
    }
}

port!("server/server_test.go::TestInfoServerNameDefaultsToPK" => info_server_name_defaults_to_pk);
fn info_server_name_defaults_to_pk() {
    let mut opts = default_test_options();
    opts.client_advertise = "nats.example.com".to_string();
    let s = Server::new(opts).unwrap();
    let info = s.shared().info();
    assert_eq!(
        info.server_name, info.server_id,
        "server info hostname is incorrect, got: '{}' expected: '{}'",
        info.server_name, info.server_id
    );
}

port!("server/server_test.go::TestInfoServerNameIsSettable" => info_server_name_is_settable);
fn info_server_name_is_settable() {
    let mut opts = default_test_options();
    opts.client_advertise = "nats.example.com".to_string();
    opts.server_name = "test_server_name".to_string();
    let s = Server::new(opts).unwrap();
    let info = s.shared().info();
    assert_eq!(
        info.server_name, "test_server_name",
        "server info hostname is incorrect, got: '{}' expected: 'test_server_name'",
        info.server_name
    );
}

port!("server/server_test.go::TestClientAdvertiseConnectURL" => client_advertise_connect_url);
fn client_advertise_connect_url() {
    let urls = connect_urls("nats.example.com", "127.0.0.1", 4222).unwrap();
    assert_eq!(
        urls,
        vec!["nats.example.com:4222".to_string()],
        "Expected to get 'nats.example.com:4222'"
    );

    let urls = connect_urls("nats.example.com:7777", "127.0.0.1", 4222).unwrap();
    assert_eq!(
        urls,
        vec!["nats.example.com:7777".to_string()],
        "Expected 'nats.example.com:7777'"
    );
    // The server's INFO carries the advertised host and port.
    let mut opts = default_test_options();
    opts.client_advertise = "nats.example.com:7777".to_string();
    let s = run_server(opts);
    let info = s.shared().info();
    assert_eq!(
        info.host, "nats.example.com",
        "Expected host to be set to nats.example.com"
    );
    assert_eq!(info.port, 7777, "Expected port to be set to 7777");
    let mut c = RawConn::connect(s.addr);
    let sent = c.check_info();
    assert_eq!(sent["host"], "nats.example.com");
    assert_eq!(sent["port"], 7777);

    // Port 0 (the default port) with an advertise address: INFO advertises that address.
    // Computed the way `start` does, without taking the default port on this machine.
    let mut opts = default_test_options();
    opts.port = 0;
    opts.client_advertise = "nats.example.com:7777".to_string();
    let (host, port) = info_host_port(&opts, listen_port(opts.port).unwrap()).unwrap();
    assert!(
        host == "nats.example.com" && port == 7777,
        "Expected Client Advertise Host:Port to be nats.example.com:7777, got: {host}:{port}"
    );
}

port!("server/server_test.go::TestClientAdvertiseErrorOnStartup" => client_advertise_error_on_startup);
fn client_advertise_error_on_startup() {
    let mut opts = default_test_options();
    // Set invalid address
    opts.client_advertise = "addr:::123".to_string();
    opts.no_log = false;
    let logging = Arc::new(Logging::new());
    let cap = Arc::new(CaptureLogger::retaining());
    logging.set_logger(Some(cap.clone()), false, false);
    let s = Server::with_logging(opts, logging).unwrap();
    let rt = runtime();
    let start = Instant::now();
    let err = rt
        .block_on(s.start())
        .expect_err("Should have got a fatal error");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(
        err.to_string().contains("ClientAdvertise"),
        "Error should contain \"ClientAdvertise\", got {err}"
    );
    s.shutdown();
    rt.block_on(s.wait_for_shutdown());

    // The binary reports it as a fatal error and exits.
    let dir = crate::logger::TempDir::new();
    let log = dir.path().join("natsd.log");
    let mut p = ported::support::NatsdProcess::start(&[
        "-a",
        "127.0.0.1",
        "-p",
        "-1",
        "--client_advertise",
        "addr:::123",
        "-l",
        log.to_str().unwrap(),
    ]);
    let status = p
        .wait_timeout(Duration::from_secs(5))
        .expect("Should have got a fatal error");
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("[FTL]") && l.contains("ClientAdvertise")),
        "Error should contain \"ClientAdvertise\", got {text}"
    );
}

port!("server/server_test.go::TestNoDeadlockOnStartFailure" => no_deadlock_on_start_failure);
fn no_deadlock_on_start_failure() {
    let mut opts = default_test_options();
    opts.host = "x.x.x.x".to_string(); // bad host
    opts.port = 4222;
    opts.http_host = opts.host.clone();
    opts.http_port = -1;
    opts.cluster.host = "127.0.0.1".to_string();
    opts.cluster.port = -1;
    opts.prof_port = -1;
    let s = Server::new(opts).unwrap();

    // Start must return, failing to listen on x.x.x.x:4222.
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = s.clone();
    std::thread::spawn(move || {
        let r = runtime().block_on(s2.start());
        let _ = tx.send(r.is_err());
    });
    let failed = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("Start() should have returned due to failure to start listener");
    assert!(failed, "Start() should have failed");

    // We should be able to shutdown
    s.shutdown();
    runtime().block_on(s.wait_for_shutdown());
}

port!("server/server_test.go::TestMaxConnections" => max_connections);
fn max_connections() {
    let mut opts = default_test_options();
    opts.max_connections = 1;
    let s = run_server(opts);

    let mut nc = RawConn::setup(s.addr);
    nc.send("PING\r\n");
    nc.expect(&re::PONG);

    let mut nc2 = RawConn::connect(s.addr);
    nc2.check_info();
    nc2.expect_err("maximum connections exceeded");
    nc2.expect_disconnect();

    // The first connection is unaffected.
    nc.send("PING\r\n");
    nc.expect(&re::PONG);
}

port!("server/server_test.go::TestMaxConnectionsPreventsAll" => max_connections_prevents_all);
fn max_connections_prevents_all() {
    let mut opts = default_test_options();
    opts.max_connections = -1;
    let s = run_server(opts);

    let mut nc = RawConn::connect(s.addr);
    nc.check_info();
    nc.expect_err("maximum connections exceeded");
    nc.expect_disconnect();
    assert_eq!(s.shared().num_clients(), 0);
}

port!("server/server_test.go::TestMaxSubscriptions" => max_subscriptions);
fn max_subscriptions() {
    let mut opts = default_test_options();
    opts.max_subs = 10;
    let s = run_server(opts);

    let mut nc = RawConn::setup(s.addr);
    for i in 0..10 {
        nc.send(&format!("SUB foo.{i} {i}\r\n"));
    }
    nc.send("PING\r\n");
    // No error for the first 10.
    nc.expect(&re::PONG);
    // This should cause the error.
    nc.send("SUB foo.22 22\r\nPING\r\n");
    nc.expect_err("maximum subscriptions exceeded");
    nc.expect(&re::PONG);
    // The client's own: the server has subscriptions of its own (system events).
    assert_eq!(s.shared().clients()[0].num_subs(), 10);
}

port!("server/server_test.go::TestProcessCommandLineArgs" => process_command_line_args);
fn process_command_line_args() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    match cli::parse_args(&args(&["-a", "127.0.0.1", "-p", "9090"])) {
        Ok(CliAction::Run(opts, _)) => {
            assert_eq!(opts.host, "127.0.0.1");
            assert_eq!(opts.port, 9090);
        }
        other => panic!("Expected no errors and no subcommand, got: {other:?}"),
    }
    assert!(
        matches!(cli::parse_args(&args(&["version"])), Ok(CliAction::Version)),
        "Expected having to handle version command"
    );
    assert!(
        matches!(cli::parse_args(&args(&["help"])), Ok(CliAction::Help)),
        "Expected having to handle help command"
    );
    assert!(
        cli::parse_args(&args(&["foo", "-p", "9090"])).is_err(),
        "Expected an error handling the command arguments"
    );
}

port!("server/server_test.go::TestLameDuckOptionsValidation" => lame_duck_options_validation);
fn lame_duck_options_validation() {
    let mut o = default_test_options();
    o.lame_duck_duration = Duration::from_secs(5);
    o.lame_duck_grace_period = Duration::from_secs(10);
    match Server::new(o) {
        Ok(s) => {
            s.shutdown();
            panic!("Expected error saying that ldm grace period should be lower than ldm duration");
        }
        Err(e) => assert!(
            e.to_string().contains("should be strictly lower"),
            "Expected error saying that ldm grace period should be lower than ldm duration, got {e}"
        ),
    }
}

port!("server/server_test.go::TestAcceptError" => accept_error);
fn accept_error() {
    let s = Server::new(default_test_options()).unwrap();
    let shared: Arc<ServerShared> = s.shared().clone();
    let rt = runtime();

    let org_delay = Duration::from_secs(3600);
    let delay =
        rt.block_on(shared.accept_error("Test", &std::io::Error::other("any error"), org_delay));
    assert_eq!(
        delay,
        Some(org_delay),
        "With this type of error, delay should have stayed same"
    );

    // A temporary error: out of file descriptors.
    let ne = || std::io::Error::from_raw_os_error(nix::errno::Errno::EMFILE as i32);
    let org_delay = Duration::from_millis(10);
    let delay = rt.block_on(shared.accept_error("Test", &ne(), org_delay));
    assert_eq!(delay, Some(2 * org_delay), "Expected delay to double");
    // Now check the max
    let org_delay = ACCEPT_MAX_SLEEP * 60 / 100;
    let delay = rt.block_on(shared.accept_error("Test", &ne(), org_delay));
    assert_eq!(delay, Some(ACCEPT_MAX_SLEEP), "Expected delay to be capped");

    let start = Instant::now();
    let sh = shared.clone();
    let waiter =
        std::thread::spawn(move || runtime().block_on(sh.accept_error("Test", &ne(), org_delay)));
    std::thread::sleep(Duration::from_millis(100));
    // This should kick out the sleep in accept_error.
    s.shutdown();
    let stopped = waiter.join().unwrap();
    let dur = start.elapsed();
    assert!(dur < ACCEPT_MAX_SLEEP, "Shutdown took too long: {dur:?}");
    assert_eq!(stopped, None, "an interrupted pause stops accepting");
    let d = rt.block_on(shared.accept_error("Test", &ne(), org_delay));
    assert_eq!(
        d, None,
        "Expected no delay (stop) once shut down, got {d:?}"
    );
}

/// Warnings captured so far that contain `needle`.
fn warnings_containing(cap: &CaptureLogger, needle: &str) -> usize {
    cap.entries()
        .iter()
        .filter(|(l, m)| *l == Level::Warn && m.contains(needle))
        .count()
}

port!("server/server_test.go::TestServerRateLimitLogging" => server_rate_limit_logging);
fn server_rate_limit_logging() {
    let s = run_server(default_test_options());
    let logging = s.shared().logging.clone();
    logging.set_rate_limit_interval(Duration::from_millis(100));
    let cap = Arc::new(CaptureLogger::retaining());
    logging.set_logger(Some(cap.clone()), false, false);

    let nb1 = "Warning number 1";
    let nb2 = "Warning number 2";
    let nbv = "warning value";
    logging.rate_limit_warn(format_args!("Warning number 1"));
    logging.rate_limit_warn(format_args!("Warning number 2"));
    logging.rate_limit_format_warn("warning value %d", format_args!("warning value {}", 1));
    logging.rate_limit_warn(format_args!("Warning number 1"));
    logging.rate_limit_warn(format_args!("Warning number 2"));
    logging.rate_limit_format_warn("warning value %d", format_args!("warning value {}", 2));

    // `labels`: the connections c1 and c2 log for, or None for the server itself.
    let check_log = |labels: Option<(&str, &str)>| {
        std::thread::sleep(Duration::from_millis(150));
        let got_one = warnings_containing(&cap, nb1);
        let got_two = warnings_containing(&cap, nb2);
        let got_format = warnings_containing(&cap, nbv);
        assert_eq!(got_one, 1, "Should have had only 1 warning for nb1");
        assert_eq!(got_two, 1, "Should have had only 1 warning for nb2");
        assert_eq!(got_format, 1, "Should have had only 1 warning for format");
        cap.drain();

        // Wait for more than the expiration interval
        std::thread::sleep(Duration::from_millis(200));
        match labels {
            None => {
                logging.rate_limit_warn(format_args!("{nb1}"));
                logging.rate_limit_format_warn("warning value %d", format_args!("warning value 1"));
            }
            Some((c1, c2)) => {
                logging.rate_limit_warn_for(c1, format_args!("{nb1}"));
                logging.rate_limit_warn_for(c2, format_args!("{nb1}"));
                logging.rate_limit_format_warn_for(
                    c1,
                    "warning value %d",
                    format_args!("warning value 1"),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        let got_one = warnings_containing(&cap, nb1);
        let got_format = warnings_containing(&cap, nbv);
        assert!(got_one != 0, "Warning was still suppressed");
        assert_eq!(got_one, 1, "Should have had only 1 warning for nb1");
        assert!(got_format != 0, "Warning was still suppressed");
        assert_eq!(got_format, 1, "Should have had only 1 warning for format");
        cap.drain();
    };

    check_log(None);

    // Two connections, c1 then c2 (so c1 has the lower client id).
    let mut nc1 = RawConn::connect(s.addr);
    nc1.check_info();
    nc1.send("CONNECT {\"verbose\":false,\"name\":\"c1\"}\r\nPING\r\n");
    nc1.expect(&re::PONG);
    let mut nc2 = RawConn::connect(s.addr);
    nc2.check_info();
    nc2.send("CONNECT {\"verbose\":false,\"name\":\"c2\"}\r\nPING\r\n");
    nc2.expect(&re::PONG);
    check_for(Duration::from_secs(2), Duration::from_millis(10), || {
        if s.shared().num_clients() == 2 {
            Ok(())
        } else {
            Err("Did not find the clients".to_string())
        }
    });
    let mut clients = s.shared().clients();
    clients.sort_by_key(|c| c.cid);
    let (c1, c2) = (clients[0].label(), clients[1].label());

    // Wait for more than the expiration interval
    std::thread::sleep(Duration::from_millis(200));
    cap.drain();

    logging.rate_limit_warn_for(&c1, format_args!("Warning number 1"));
    logging.rate_limit_warn_for(&c1, format_args!("Warning number 2"));
    logging.rate_limit_format_warn_for(&c1, "warning value %d", format_args!("warning value 1"));
    logging.rate_limit_warn_for(&c2, format_args!("Warning number 1"));
    logging.rate_limit_warn_for(&c2, format_args!("Warning number 2"));
    logging.rate_limit_format_warn_for(&c2, "warning value %d", format_args!("warning value 2"));
    // The one line logged for each names the first connection that logged it.
    assert!(cap
        .containing(nb1)
        .iter()
        .all(|m| m.starts_with(&format!("{c1} - "))));

    check_log(Some((&c1, &c2)));
}

port!("server/server_test.go::TestServerClientURL" => server_client_url);
fn server_client_url() {
    for (host, expected) in [
        ("host.com", "nats://host.com:12345"),
        ("1.2.3.4", "nats://1.2.3.4:12345"),
        ("2000::1", "nats://[2000::1]:12345"),
    ] {
        let o = Options {
            host: host.to_string(),
            port: 12345,
            ..default_test_options()
        };
        let s = Server::new(o).unwrap();
        assert_eq!(s.client_url(), expected);
    }
}

port!("server/server_test.go::TestServerJsonMarshalNestedStructsPanic" => server_json_marshal_nested_structs_panic);
fn server_json_marshal_nested_structs_panic() {
    // natsd's JSON encoder (serde_json) on nested structs with omitted-when-empty fields.
    #[derive(serde::Serialize)]
    struct Item {
        a: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        b: String,
    }
    #[derive(serde::Serialize)]
    struct Detail {
        i: Item,
    }
    #[derive(serde::Serialize)]
    struct Body {
        #[serde(rename = "p", skip_serializing_if = "Option::is_none")]
        payload: Option<Detail>,
    }
    let b = serde_json::to_string(&Body {
        payload: Some(Detail {
            i: Item {
                a: "a".to_string(),
                b: "b".to_string(),
            },
        }),
    })
    .unwrap();
    assert_eq!(b, "{\"p\":{\"i\":{\"a\":\"a\",\"b\":\"b\"}}}");
}

port!("server/server_test.go::TestBuildinfoFormatRevision" => buildinfo_format_revision);
fn buildinfo_format_revision() {
    for (name, revision, expected) in [
        ("Git-like longer version", "abc123def456789", "abc123d"),
        ("Git-like exactly 7 chars", "abc123d", "abc123d"),
        ("SVN shorter revision", "1234", "1234"),
        ("SVN single digit", "5", "5"),
        ("Empty revision", "", ""),
        ("6 character revision", "abc123", "abc123"),
    ] {
        let result = format_revision(revision);
        assert_eq!(
            result, expected,
            "{name}: format_revision({revision:?}) = {result:?}, expected {expected:?}"
        );
    }
}

port!("server/server_test.go::TestRandomPorts" => random_ports);
fn random_ports() {
    let mut opts = default_test_options();
    opts.http_port = -1;
    opts.port = -1;
    let s = run_server(opts);

    let addr = s.server.client_addr();
    assert!(
        addr.is_some_and(|a| a.port() > 0),
        "Should have dynamically assigned server port."
    );
    assert!(
        addr.is_some_and(|a| a.port() != 4222),
        "Should not have dynamically assigned default port: 4222."
    );
    assert!(
        s.server.monitor_addr().is_some_and(|a| a.port() > 0),
        "Should have dynamically assigned monitoring port."
    );
}

port!("server/server_test.go::TestNilMonitoringPort" => nil_monitoring_port);
fn nil_monitoring_port() {
    let mut opts = default_test_options();
    opts.http_port = 0;
    opts.https_port = 0;
    let s = run_server(opts);
    assert!(s.server.monitor_addr().is_none(), "HttpAddr should be nil.");
}

port!("server/server_test.go::TestServerLogsConfigurationFile" => server_logs_configuration_file);
fn server_logs_configuration_file() {
    let dir = crate::logger::TempDir::new();
    let file = dir.create_file("nats_server_log_");
    let conf =
        create_conf_file(format!("\n\tport: -1\n\tlogfile: '{}'\n\t", file.display()).as_bytes());
    let mut o = load_config(&conf);
    o.config_file = Some(file.clone());
    o.no_log = false;
    let mut s = run_server(o);
    s.shutdown();

    let log =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("Error reading log file: {e}"));
    assert!(
        log.contains(&format!("Using configuration file: {}", file.display())),
        "Config file location was not reported in log: {log}"
    );
}

port!("server/server_test.go::TestServerConfigLastLineComments" => server_config_last_line_comments);
fn server_config_last_line_comments() {
    let conf = create_conf_file(b"\n\t{\n\t\t\"listen\":  \"0.0.0.0:4222\"\n\t}\n\t# wibble\n\t");
    let (s, _) = run_server_with_config(&conf);
    // This should work of course.
    let mut nc = RawConn::setup(SocketAddr::from(([127, 0, 0, 1], s.addr.port())));
    nc.send("PING\r\n");
    nc.expect(&re::PONG);
}

/// GETs `path` from the monitoring listener at `addr` and parses the JSON body.
fn monitor_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(c, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

port!("server/server_test.go::TestStartupAndShutdown" => startup_and_shutdown);
fn startup_and_shutdown() {
    // Go's DefaultOptions has a monitoring port; the counts are read from /varz as natsd
    // has no exported NumRoutes/NumRemotes.
    let mut opts = default_test_options();
    opts.http_port = -1;
    opts.no_system_account = true;
    let s = run_server(opts);

    assert!(
        s.server.client_addr().is_some() && !s.shared().is_shutting_down(),
        "Could not run server"
    );
    let varz = monitor_json(s.server.monitor_addr().unwrap(), "/varz");
    assert_eq!(varz["routes"], 0, "Expected numRoutes to be 0");
    assert_eq!(varz["remotes"], 0, "Expected numRemotes to be 0");
    let num_clients = s.shared().num_clients();
    assert!(
        num_clients == 0 || num_clients == 1,
        "Expected numClients to be 1 or 0 vs {num_clients}"
    );
    assert_eq!(varz["connections"], num_clients);
    assert_eq!(
        s.shared().num_subscriptions(),
        0,
        "Expected numSubscriptions to be 0"
    );
    assert_eq!(varz["subscriptions"], 0);
}

/// The TLS ports of this file.
mod tls_ports {
    use ported::port;

    port!("server/server_test.go::TestTLSVersions" => tls_versions);
    fn tls_versions() {
        for (name, value, expected) in [
            ("1.0", 0x0301u16, "1.0"),
            ("1.1", 0x0302, "1.1"),
            ("1.2", 0x0303, "1.2"),
            ("1.3", 0x0304, "1.3"),
            ("unknown", 0x999, "Unknown [0x999]"),
        ] {
            let v = natsd::tls::version_name(value);
            assert_eq!(
                v, expected,
                "{name}: Expected value 0x{value:x} to be {expected:?}"
            );
        }
    }

    port!("server/server_test.go::TestTLSCipher" => tls_cipher);
    fn tls_cipher() {
        let name = |id: u16| natsd::tls::cipher_name(rustls::CipherSuite::from(id));
        for (id, want) in [
            (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
            (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
            (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
            (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
            (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
            (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
            (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
            (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
            (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
            (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            (0x1301, "TLS_AES_128_GCM_SHA256"),
            (0x1302, "TLS_AES_256_GCM_SHA384"),
            (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
            (0x9999, "0x9999"),
        ] {
            assert_eq!(name(id), want);
        }
    }
}

/// The TLS port of this file that reloads the configuration.
mod tls_reload_ports {
    use natsd::tls::{gen_tls_config, TlsConfigOpts, TlsVersion};
    use ported::port;
    use ported::support::{create_conf_file, run_server_with_config};
    use ported::tls_client::{connect, test_cert, ClientOptions};

    port!("server/server_test.go::TestTLSMinVersionConfig" => tls_min_version_config);
    fn tls_min_version_config() {
        let tmpl = r#"
            listen: "127.0.0.1:-1"
            tls {
                cert_file:   "CERTS/server-cert.pem"
                key_file:    "CERTS/server-key.pem"
                timeout:     1
                min_version: %s
            }
        "#
        .replace("CERTS/", &test_cert(""));
        let path = create_conf_file(tmpl.replace("%s", "\"1.3\"").as_bytes());
        let (s, _) = run_server_with_config(&path);
        let base = ClientOptions::default().root_ca(test_cert("ca.pem"));
        // A client that stops at TLS 1.2 is refused with a protocol_version alert (the Go
        // client reports "remote error: tls: protocol version not supported").
        let e = connect(s.addr, &base.clone().max_tls12())
            .err()
            .expect("Expected error");
        assert!(
            e.contains("ProtocolVersion"),
            "Expected a protocol version alert, got: {e}"
        );
        connect(s.addr, &base).unwrap_or_else(|e| panic!("Unexpected error: {e}"));
        let reload = |v: &str| {
            std::fs::write(&path, tmpl.replace("%s", v)).unwrap();
            natsd::reload::reload(s.shared()).map_err(|e| e.to_string())
        };
        assert!(reload("\"1.0\"").is_err(), "Expected reload to fail");
        reload("\"1.3\"").unwrap_or_else(|e| panic!("Unexpected error reloading TLS version: {e}"));
        reload("\"1.2\"").unwrap_or_else(|e| panic!("Unexpected error reloading: {e}"));
        connect(s.addr, &base.clone().max_tls12())
            .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
        connect(s.addr, &base).unwrap_or_else(|e| panic!("Unexpected error: {e}"));
        let e = reload("\"1.4\"").err().unwrap_or_default();
        assert!(
            e.contains("unknown version: 1.4"),
            "Unexpected error reloading: {e}"
        );
        let tc = TlsConfigOpts {
            cert_file: test_cert("server-cert.pem"),
            key_file: test_cert("server-key.pem"),
            ca_file: test_cert("ca.pem"),
            timeout: 4.0,
            min_version: Some(TlsVersion::Tls11),
            ..TlsConfigOpts::default()
        };
        assert_eq!(
            gen_tls_config(&tc).err().as_deref(),
            Some("unsupported minimum TLS version: TLS 1.1")
        );
    }
}

/// Ports that need accounts.
mod account_ports {
    use ported::port;
    use ported::support::{create_conf_file, re, run_server_with_config, RawConn};

    port!("server/server_test.go::TestServerAuthBlockAndSysAccounts" => server_auth_block_and_sys_accounts);
    fn server_auth_block_and_sys_accounts() {
        let (s, _) = run_server_with_config(create_conf_file(
            br#"
            listen: 127.0.0.1:-1
            server_name: s-test
            authorization {
                users = [ { user: "u", password: "pass"} ]
            }
            accounts {
                $SYS: { users: [ { user: admin, password: pwd } ] }
            }
            "#,
        ));
        // This works of course.
        let mut nc = RawConn::connect(s.addr);
        nc.check_info();
        nc.send("CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"pass\"}\r\nPING\r\n");
        nc.expect(&re::PONG);

        // This does not: the authorization block leaves no global access.
        let mut nc = RawConn::connect(s.addr);
        nc.check_info();
        nc.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
        nc.expect_err("Authorization Violation");
        nc.expect_disconnect();
    }
}

port!("server/server_test.go::TestClientWriteLoopStall" => client_write_loop_stall);
fn client_write_loop_stall() {
    use ported::fake_socket::{connect_with_writes, WriteMode};
    let s = ported::support::run_server(ported::support::default_test_options());
    // The subscriber's socket takes at most 10 bytes per write.
    let (mut sub, _, _) = connect_with_writes(&s, WriteMode::Short);
    sub.check_info();
    sub.send("CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPING\r\n");
    sub.expect(&ported::support::re::PONG);
    let mut sender = ported::support::RawConn::setup(s.addr);
    let payload = "x".repeat(100);
    sender.send(&format!("PUB foo 100\r\n{payload}\r\nPING\r\n"));
    sender.expect(&ported::support::re::PONG);
    // The writer keeps going after short writes: the whole message arrives.
    let msgs = sub.expect_msgs(1);
    assert_eq!(msgs[0].subject, "foo");
    assert_eq!(msgs[0].payload, payload);
    // And no error came with it.
    sub.expect_nothing_for(Duration::from_millis(250));
}

port!("server/server_test.go::TestConcurrentShutdown" => concurrent_shutdown);
fn concurrent_shutdown() {
    // natsd creates `$SYS` and makes it the system account by default.
    let s = run_server(default_test_options());
    assert!(
        s.shared().events.system().is_some(),
        "Expected events to be enabled"
    );
    const CALLERS: usize = 32;
    let start = Arc::new(std::sync::Barrier::new(CALLERS));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for _ in 0..CALLERS {
        let (shared, start, done) = (s.shared().clone(), start.clone(), done_tx.clone());
        std::thread::spawn(move || {
            start.wait();
            shared.shutdown();
            let _ = done.send(());
        });
    }
    for _ in 0..CALLERS {
        done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("Timed out waiting for concurrent shutdown calls");
    }
    // Go's WaitForShutdown.
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(5), s.shared().wait_for_shutdown())
            .await
            .expect("shutdown completes")
    });
    assert!(s.shared().is_shutting_down());
}

port!("server/server_test.go::TestMonitoringNoTimeout" => monitoring_no_timeout);
/// Go checks that its monitoring `http.Server` has no `ReadTimeout` and no `WriteTimeout`
/// (only a 5 s `ReadHeaderTimeout`). natsd's HTTP server is not a Go struct, so this
/// checks what those zeros mean for a client, past the 5 s that is the only limit: an
/// idle keep-alive connection still gets its next request answered (Go's idle timeout
/// falls back to `ReadTimeout`), and a client that stops reading a large response still
/// gets all of it when it reads again.
fn monitoring_no_timeout() {
    use std::io::{BufRead, BufReader, Read, Write};
    let s = run_server(Options {
        http_host: "127.0.0.1".into(),
        http_port: -1,
        no_system_account: true,
        ..default_test_options()
    });
    let http = s.server.monitor_addr().expect("Monitoring server not set");
    let past_limit = Duration::from_secs(6);

    /// Reads one HTTP/1.1 response and returns its status line and body.
    fn read_response(r: &mut BufReader<std::net::TcpStream>) -> (String, Vec<u8>) {
        let mut status = String::new();
        let n = r.read_line(&mut status).unwrap();
        assert!(n > 0, "the server closed the connection");
        let mut len = 0;
        loop {
            let mut line = String::new();
            let n = r.read_line(&mut line).unwrap();
            assert!(n > 0, "the server closed the connection mid-response");
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (status, body)
    }
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

    // A large answer: a connection with many long subscriptions, listed by /connz?subs=1.
    let mut subscriber = RawConn::connect(s.addr);
    subscriber.check_info();
    let mut subs = String::from("CONNECT {\"verbose\":false}\r\n");
    for i in 0..40_000 {
        subs.push_str(&format!(
            "SUB monitoring.no.timeout.subject.long.enough.to.fill.buffers.{i} {i}\r\n"
        ));
    }
    subs.push_str("PING\r\n");
    subscriber.send(&subs);
    subscriber.expect(&re::PONG);

    let slow_reader = std::thread::spawn(move || {
        // A small receive buffer keeps the server's write waiting on this reader.
        let sock = connect_small_receive_buffer(http);
        let mut r = BufReader::new(sock.try_clone().unwrap());
        (&sock).write_all(get("/connz?subs=1").as_bytes()).unwrap();
        std::thread::sleep(past_limit);
        let (status, body) = read_response(&mut r);
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let connz: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let subs = connz["connections"][0]["subscriptions_list"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(subs, 40_000);
        body.len()
    });

    let idle = std::net::TcpStream::connect(http).unwrap();
    let mut r = BufReader::new(idle.try_clone().unwrap());
    (&idle).write_all(get("/varz").as_bytes()).unwrap();
    let (status, _) = read_response(&mut r);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    std::thread::sleep(past_limit);
    (&idle).write_all(get("/varz").as_bytes()).unwrap();
    let (status, body) = read_response(&mut r);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let varz: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(varz["server_id"].is_string());

    let big = slow_reader.join().unwrap();
    assert!(
        big > 2_000_000,
        "the answer should outgrow socket buffers: {big}"
    );
}

/// Connects with a small receive buffer (4 KiB, set before the handshake so the window
/// stays small), so a large answer cannot be written ahead into it.
fn connect_small_receive_buffer(addr: SocketAddr) -> std::net::TcpStream {
    runtime().block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let s = sock.connect(addr).await.unwrap().into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s
    })
}

/// Go's `DummyAuth`: lets in the user `valid`, records whether the nonce it saw matched
/// what it expected, and may register the user with a connection deadline.
pub(crate) struct DummyAuth {
    need_nonce: bool,
    deadline: Option<std::time::SystemTime>,
    nonce_errors: std::sync::Mutex<Vec<String>>,
}

impl natsd::auth::custom::ClientAuthenticator for DummyAuth {
    fn check(
        &self,
        c: &natsd::auth::custom::ClientAuthRequest<'_>,
    ) -> natsd::auth::custom::CustomAuthDecision {
        use natsd::auth::custom::CustomAuthDecision;
        let has_nonce = c.nonce.is_some_and(|n| !n.is_empty());
        if self.need_nonce && !has_nonce {
            self.nonce_errors
                .lock()
                .unwrap()
                .push("Expected a nonce but received none".into());
        } else if !self.need_nonce && has_nonce {
            self.nonce_errors
                .lock()
                .unwrap()
                .push("Received a nonce when none was expected".into());
        }
        if c.connect.user != "valid" {
            return CustomAuthDecision::Deny;
        }
        match self.deadline {
            None => CustomAuthDecision::Allow,
            Some(deadline) => CustomAuthDecision::AllowAs {
                user: Box::new(natsd::auth::User {
                    username: c.connect.user.clone(),
                    ..Default::default()
                }),
                deadline: Some(deadline),
            },
        }
    }
}

impl DummyAuth {
    pub(crate) fn new(need_nonce: bool, deadline: Option<std::time::SystemTime>) -> Arc<DummyAuth> {
        Arc::new(DummyAuth {
            need_nonce,
            deadline,
            nonce_errors: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// A server whose clients `auth` lets in.
pub(crate) fn run_custom_auth_server(
    auth: Arc<DummyAuth>,
    always_enable_nonce: bool,
) -> natsd::server::BackgroundServer {
    run_server(Options {
        custom_client_authentication: Some(natsd::auth::custom::CustomClientAuth(auth)),
        always_enable_nonce,
        ..default_test_options()
    })
}

port!("server/server_test.go::TestCustomClientAuthentication" => custom_client_authentication);
fn custom_client_authentication() {
    for nonce in [true, false] {
        let auth = DummyAuth::new(nonce, None);
        let s = run_custom_auth_server(auth.clone(), nonce);
        let connect = |user: &str| {
            let mut c = RawConn::connect(s.addr);
            let info = c.check_info();
            assert_eq!(info["auth_required"], true);
            c.send(&format!(
                "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"\"}}\r\nPING\r\n"
            ));
            c
        };
        // Expected client to connect.
        connect("valid").expect(&re::PONG);
        // Expected client to fail to connect.
        let mut invalid = connect("invalid");
        invalid.expect_err("Authorization Violation");
        invalid.expect_disconnect();
        let errors = auth.nonce_errors.lock().unwrap();
        assert!(errors.is_empty(), "with nonce={nonce}: {errors:?}");
    }
}
