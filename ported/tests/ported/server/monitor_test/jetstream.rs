//! Ports of `server/monitor_test.go` tests about JetStream in the monitoring output
//! (`/healthz` JetStream checks, the `jetstream` section of `/varz`). Go's
//! `s.DisableJetStream()` is `natsd::jetstream::shutdown`: JetStream stops while the
//! options still ask for it.

use super::{default_monitor_options, read_body, read_body_ex, run_monitor_server, APP_JSON};
use natsd::monitor::{self, HealthStatus, HealthzOptions, Varz};
use ported::jetstream::{run_jetstream_server, JsServer};
use ported::port;
use std::time::Duration;

/// Go's `DefaultMonitorOptions` with `JetStream = true` (the store in a temporary
/// directory of its own rather than Go's shared default one).
fn run_monitor_js_server(opts: natsd::config::Options) -> JsServer {
    run_jetstream_server(opts)
}

fn monitor_host_port(s: &JsServer) -> String {
    s.shared()
        .monitor
        .addr()
        .expect("monitoring runs")
        .to_string()
}

/// Go's `expectHealthStatus`: `url` answers `status_code` with JSON whose status is
/// `want_status`.
#[track_caller]
fn expect_health_status(url: &str, status_code: u16, want_status: &str) {
    let body = read_body_ex(url, status_code, APP_JSON);
    let h: HealthStatus = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("error unmarshalling the body: {e}"));
    assert_eq!(
        h.status, want_status,
        "want health status {want_status:?}, got {:?} ({url})",
        h.status
    );
}

port!("server/monitor_test.go::TestMonitorHealthzStatusUnavailable" => monitor_healthz_status_unavailable);
fn monitor_healthz_status_unavailable() {
    let s = run_monitor_js_server(default_monitor_options());
    assert!(
        s.shared().jetstream().is_some(),
        "want JetStream to be enabled first"
    );
    natsd::jetstream::shutdown(s.shared());
    let addr = monitor_host_port(&s);
    for (url, status_code, want_status) in [
        (format!("http://{addr}/healthz?"), 503, "unavailable"),
        (
            format!("http://{addr}/healthz?js-enabled-only=true"),
            503,
            "unavailable",
        ),
        (
            format!("http://{addr}/healthz?js-server-only=true"),
            200,
            "ok",
        ),
    ] {
        // no-details
        expect_health_status(&url, status_code, want_status);
        // with-details
        let details_url = format!("{url}&details=true");
        let want = if want_status != "ok" {
            "error"
        } else {
            want_status
        };
        expect_health_status(&details_url, status_code, want);
    }
}

port!("server/monitor_test.go::TestServerHealthz" => server_healthz);
fn server_healthz() {
    // BasicHealth
    {
        let s = run_monitor_server();
        // Go's nil options and empty options are both the default options here.
        let status = monitor::healthz(s.shared(), &HealthzOptions::default());
        assert_eq!(status.status, "ok", "Expected status 'ok'");
        assert_eq!(status.status_code, 200, "Expected status code 200");
        let status = monitor::healthz(s.shared(), &HealthzOptions::default());
        assert_eq!(status.status, "ok", "Expected status 'ok'");
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                js_server_only: true,
                ..HealthzOptions::default()
            },
        );
        assert_eq!(status.status, "ok", "Expected status 'ok'");
    }
    // BadRequestMissingAccount
    {
        let s = run_monitor_server();
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                stream: "TEST".into(),
                ..HealthzOptions::default()
            },
        );
        assert_eq!(status.status_code, 400);
        assert_eq!(status.status, "error");
    }
    // BadRequestMissingStream
    {
        let s = run_monitor_server();
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                account: "ACC".into(),
                consumer: "TEST".into(),
                ..HealthzOptions::default()
            },
        );
        assert_eq!(status.status_code, 400);
        assert_eq!(status.status, "error");
    }
    // DetailsOption
    {
        let s = run_monitor_server();
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                details: true,
                ..HealthzOptions::default()
            },
        );
        assert_eq!(status.status, "ok");
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                stream: "TEST".into(),
                details: true,
                ..HealthzOptions::default()
            },
        );
        assert_eq!(status.status_code, 400);
        assert!(
            !status.errors.is_empty(),
            "Expected Errors slice to be populated with Details=true"
        );
        assert_eq!(status.errors[0].kind, "BAD_REQUEST");
    }
    // ServerNotReady: Go takes the client listener away from a running server; here the
    // server is built and not started, so it has no client listener.
    {
        let server = natsd::server::Server::new(default_monitor_options()).unwrap();
        let status = monitor::healthz(server.shared(), &HealthzOptions::default());
        assert_eq!(status.status_code, 500);
        assert_eq!(status.status, "error");
        server.shutdown();
    }
    // JetStreamUnavailable
    {
        let s = run_monitor_js_server(default_monitor_options());
        assert!(
            s.shared().jetstream().is_some(),
            "want JetStream to be enabled first"
        );
        natsd::jetstream::shutdown(s.shared());
        let status = monitor::healthz(s.shared(), &HealthzOptions::default());
        assert_eq!(status.status_code, 503);
        assert_eq!(status.status, "unavailable");
        let status = monitor::healthz(
            s.shared(),
            &HealthzOptions {
                js_server_only: true,
                ..HealthzOptions::default()
            },
        );
        assert_eq!(
            status.status, "ok",
            "Expected status 'ok' with JSServerOnly"
        );
    }
}

/// `/varz` of a JetStream server (Go's `pollVarz` mode 0).
fn varz_over_http(s: &JsServer) -> Varz {
    let url = format!("http://{}/varz", monitor_host_port(s));
    serde_json::from_slice(&read_body(&url)).expect("unmarshal varz")
}

port!("server/monitor_test.go::TestMonitorVarzSyncInterval" => monitor_varz_sync_interval);
fn monitor_varz_sync_interval() {
    let mut opts = default_monitor_options();
    opts.sync_interval = Some(Duration::from_secs(22));
    opts.sync_always = true;
    let s = run_monitor_js_server(opts);
    let jscfg = varz_over_http(&s)
        .jetstream
        .config
        .expect("jetstream config in /varz");
    assert_eq!(jscfg.sync_interval, Duration::from_secs(22));
    assert!(jscfg.sync_always);
}

port!("server/monitor_test.go::TestMonitorVarzJSApiLevel" => monitor_varz_js_api_level);
fn monitor_varz_js_api_level() {
    let s = run_monitor_js_server(default_monitor_options());
    let api_level = varz_over_http(&s)
        .jetstream
        .stats
        .expect("jetstream stats in /varz")
        .api
        .level;
    assert_eq!(api_level, natsd::jetstream::API_LEVEL);
    // Go's JSApiLevel in v2.14.5.
    assert_eq!(api_level, 4);
}
