//! Ports of `server/monitor_test.go`.
//!
//! Go's tests poll each endpoint twice: over HTTP (mode 0) and through the server's own
//! function (mode 1, e.g. `s.Connz(opts)`); here mode 1 calls `natsd::monitor::connz` etc.
//! Clients are raw protocol connections doing what the Go tests' nats.go clients do.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use natsd::monitor::gotime::{my_uptime, parse_go_duration};
use natsd::monitor::{
    self, ClosedClient, ConnInfo, ConnState, Connz, ConnzOptions, GoTime, SubDetail, Subsz,
    SubszOptions, Varz,
};
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, default_test_options, re, run_server, RawConn};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

mod jetstream;

const APP_JSON: &str = "application/json";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const TEXT_HTML: &str = "text/html; charset=utf-8";

/// Go's `DefaultMonitorOptions` (random client and monitoring ports on loopback).
fn default_monitor_options() -> Options {
    let mut o = default_test_options();
    o.host = "127.0.0.1".to_string();
    o.port = -1;
    o.http_host = "127.0.0.1".to_string();
    o.http_port = -1;
    o.http_base_path = "/".to_string();
    o.server_name = "monitor_server".to_string();
    o.tags = vec!["tag".to_string()];
    o.metadata = BTreeMap::from([
        ("key1".to_string(), "value1".to_string()),
        ("key2".to_string(), "value2".to_string()),
    ]);
    o.feature_flags = BTreeMap::from([
        ("feature".to_string(), false),
        ("fix".to_string(), true),
        ("revert_fix".to_string(), true),
    ]);
    o
}

/// Go's `runMonitorServer` (without a system account, as Go's).
fn run_monitor_server() -> BackgroundServer {
    let mut o = default_monitor_options();
    o.no_system_account = true;
    run_server(o)
}

fn monitor_url(s: &BackgroundServer) -> String {
    format!(
        "http://127.0.0.1:{}/",
        s.server.monitor_addr().expect("monitoring runs").port()
    )
}

/// What an HTTP GET returned.
struct HttpResp {
    status: u16,
    content_type: String,
    allow_origin: Option<String>,
    body: Vec<u8>,
}

/// GETs `url`; a transport failure (nothing listening) is an error, any HTTP status is not.
fn http_get(url: &str) -> Result<HttpResp, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let content_type = resp.header("Content-Type").unwrap_or("").to_string();
    let allow_origin = resp
        .header("Access-Control-Allow-Origin")
        .map(str::to_string);
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)
        .map_err(|e| format!("Got an error reading the body: {e}"))?;
    Ok(HttpResp {
        status,
        content_type,
        allow_origin,
        body,
    })
}

/// Go's `readBodyEx`: status and content type as expected, and the CORS header on JSON.
#[track_caller]
fn read_body_ex(url: &str, status: u16, content: &str) -> Vec<u8> {
    let r = http_get(url).unwrap_or_else(|e| panic!("Expected no error: Got {e}"));
    assert_eq!(
        r.status,
        status,
        "Expected a {status} response, got {}\n{}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.content_type, content,
        "Expected {content:?} content-type, got {:?}",
        r.content_type
    );
    if r.content_type == APP_JSON {
        assert_eq!(
            r.allow_origin.as_deref(),
            Some("*"),
            "Expected with {APP_JSON:?} Content-Type an Access-Control-Allow-Origin header with value \"*\""
        );
    }
    r.body
}

#[track_caller]
fn read_body(url: &str) -> Vec<u8> {
    read_body_ex(url, 200, APP_JSON)
}

#[track_caller]
fn poll_connz(s: &BackgroundServer, mode: u8, url: &str, opts: &ConnzOptions) -> Connz {
    if mode == 0 {
        serde_json::from_slice(&read_body(url)).expect("unmarshal connz")
    } else {
        monitor::connz(s.shared(), opts).unwrap_or_else(|e| panic!("Error on Connz(): {e}"))
    }
}

#[track_caller]
fn poll_varz(s: &BackgroundServer, mode: u8, url: &str) -> Varz {
    if mode == 0 {
        serde_json::from_slice(&read_body(url)).expect("unmarshal varz")
    } else {
        monitor::varz(s.shared())
    }
}

#[track_caller]
fn poll_subsz(s: &BackgroundServer, mode: u8, url: &str, opts: &SubszOptions) -> Subsz {
    if mode == 0 {
        serde_json::from_slice(&read_body(url)).expect("unmarshal subsz")
    } else {
        monitor::subsz(s.shared(), opts).unwrap_or_else(|e| panic!("Error on Subsz: {e}"))
    }
}

#[track_caller]
fn poll_routez(s: &BackgroundServer, mode: u8, url: &str) -> monitor::Routez {
    if mode == 0 {
        serde_json::from_slice(&read_body(url)).expect("unmarshal routez")
    } else {
        monitor::routez(s.shared())
    }
}

/// A connected client (CONNECT + PING/PONG done), with the server's cid for it.
struct Client {
    conn: RawConn,
    cid: u64,
    next_sid: u32,
}

impl Client {
    /// Connects like nats.go: CONNECT with the given name, then PING/PONG.
    fn connect(s: &BackgroundServer, name: &str) -> Client {
        let mut conn = RawConn::connect(s.addr);
        let info = conn.check_info();
        let cid = info["client_id"].as_u64().expect("client_id in INFO");
        let name_field = if name.is_empty() {
            String::new()
        } else {
            format!(",\"name\":\"{name}\"")
        };
        conn.send(&format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"rust\",\"version\":\"1.0\"{name_field}}}\r\nPING\r\n"
        ));
        conn.expect(&re::PONG);
        Client {
            conn,
            cid,
            next_sid: 1,
        }
    }

    fn subscribe(&mut self, subject: &str) -> u32 {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.conn.send(&format!("SUB {subject} {sid}\r\n"));
        sid
    }

    fn unsubscribe(&mut self, sid: u32) {
        self.conn.send(&format!("UNSUB {sid}\r\n"));
    }

    fn publish(&mut self, subject: &str, payload: &str) {
        self.conn
            .send(&format!("PUB {subject} {}\r\n{payload}\r\n", payload.len()));
    }

    /// Go's `ensureServerActivityRecorded` (a flush: PING/PONG).
    fn flush(&mut self) {
        self.conn.send("PING\r\n");
        self.conn.expect(&re::PONG);
    }
}

/// Go's `createClientConnSubscribeAndPublish`: subscribe to an inbox, publish "Hello" to
/// it, receive it, unsubscribe, flush.
fn create_client_conn_subscribe_and_publish(s: &BackgroundServer) -> Client {
    let mut c = Client::connect(s, "");
    let inbox = format!("_INBOX.{}", rand_token());
    let sid = c.subscribe(&inbox);
    c.publish(&inbox, "Hello");
    c.conn.expect_msgs(1);
    c.unsubscribe(sid);
    c.flush();
    c
}

/// Go's `createClientConnWithName`.
fn create_client_conn_with_name(s: &BackgroundServer, name: &str) -> Client {
    Client::connect(s, name)
}

fn rand_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn get_client(s: &BackgroundServer, cid: u64) -> Arc<natsd::client::Client> {
    s.shared()
        .clients()
        .into_iter()
        .find(|c| c.cid == cid)
        .unwrap_or_else(|| panic!("Could not retrieve client for {cid}"))
}

/// Go's `checkClosedConns`.
fn check_closed_conns(s: &BackgroundServer, num: usize, wait: Duration) {
    check_for(wait, Duration::from_millis(5), || {
        let n = s.shared().monitor.num_closed();
        if n == num {
            Ok(())
        } else {
            Err(format!("Closed conns expected to be {num}, got {n}"))
        }
    });
}

/// Go's `checkClientsCount`.
fn check_clients_count(s: &BackgroundServer, expected: usize) {
    check_for(Duration::from_secs(2), Duration::from_millis(10), || {
        let n = s.shared().num_clients();
        if n == expected {
            Ok(())
        } else {
            Err(format!("Expected {expected} clients, got {n}"))
        }
    });
}

port!("server/monitor_test.go::TestMyUptime" => my_uptime_format);
fn my_uptime_format() {
    let mut d = Duration::from_secs(22);
    assert_eq!(my_uptime(d), "22s");
    d += Duration::from_secs(4 * 60);
    assert_eq!(my_uptime(d), "4m22s");
    d += Duration::from_secs(4 * 3600);
    assert_eq!(my_uptime(d), "4h4m22s");
    d += Duration::from_secs(32 * 24 * 3600);
    assert_eq!(my_uptime(d), "32d4h4m22s");
    d += Duration::from_secs(22 * 365 * 24 * 3600);
    assert_eq!(my_uptime(d), "22y32d4h4m22s");
}

port!("server/monitor_test.go::TestMonitorNoPort" => monitor_no_port);
fn monitor_no_port() {
    let mut o = default_monitor_options();
    o.http_port = 0;
    let s = run_server(o);
    assert!(s.server.monitor_addr().is_none());
    let url = "http://127.0.0.1:11245/";
    for e in ["varz", "healthz", "connz"] {
        if let Ok(r) = http_get(&format!("{url}{e}")) {
            panic!("Expected error: Got {}", r.status);
        }
    }
}

port!("server/monitor_test.go::TestMonitorHTTPBasePath" => monitor_http_base_path);
fn monitor_http_base_path() {
    let mut o = default_monitor_options();
    o.http_base_path = "/nats".to_string();
    let s = run_server(o);
    let url = format!(
        "http://127.0.0.1:{}/nats",
        s.server.monitor_addr().unwrap().port()
    );
    read_body_ex(&url, 200, TEXT_HTML);
}

port!("server/monitor_test.go::TestMonitorConnzBadParams" => monitor_connz_bad_params);
fn monitor_connz_bad_params() {
    let s = run_monitor_server();
    let url = format!("{}connz?", monitor_url(&s));
    for q in [
        "auth=xxx",
        "subs=xxx",
        "offset=xxx",
        "limit=xxx",
        "state=xxx",
    ] {
        read_body_ex(&format!("{url}{q}"), 400, TEXT_PLAIN);
    }
}

port!("server/monitor_test.go::TestMonitorConnzWithSubs" => monitor_connz_with_subs);
fn monitor_connz_with_subs() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("hello.foo");
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            subscriptions: true,
            ..Default::default()
        };
        let c = poll_connz(&s, mode, &format!("{url}connz?subs=1"), &opts);
        let ci = &c.conns()[0];
        assert!(
            ci.subs.len() == 1 && ci.subs[0] == "hello.foo",
            "Expected subs of 1, got {:?}",
            ci.subs
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzWithSubsDetail" => monitor_connz_with_subs_detail);
fn monitor_connz_with_subs_detail() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("hello.foo");
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            subscriptions_detail: true,
            ..Default::default()
        };
        let c = poll_connz(&s, mode, &format!("{url}connz?subs=detail"), &opts);
        let ci = &c.conns()[0];
        assert!(
            ci.subs_detail.len() == 1 && ci.subs_detail[0].subject == "hello.foo",
            "Expected subsdetail of 1, got {:?}",
            ci.subs_detail
        );
    }
}

port!("server/monitor_test.go::TestMonitorClosedConnzWithSubsDetail" => monitor_closed_connz_with_subs_detail);
fn monitor_closed_connz_with_subs_detail() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("hello.foo");
    nc.flush();
    drop(nc);
    check_for(Duration::from_secs(10), Duration::from_millis(100), || {
        if s.shared().num_clients() == 0 {
            Ok(())
        } else {
            Err("clients still connected".to_string())
        }
    });
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            state: ConnState::Closed,
            subscriptions_detail: true,
            ..Default::default()
        };
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?state=closed&subs=detail"),
            &opts,
        );
        let ci = &c.conns()[0];
        assert!(
            ci.subs_detail.len() == 1 && ci.subs_detail[0].subject == "hello.foo",
            "Expected subsdetail of 1, got {:?}",
            ci.subs_detail
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzWithCID" => monitor_connz_with_cid);
fn monitor_connz_with_cid() {
    let s = run_monitor_server();
    let cid = 5u64;
    let total = 10;
    let mut conns = Vec::new();
    for i in 1..=total {
        let mut nc = create_client_conn_subscribe_and_publish(&s);
        if i == cid {
            nc.subscribe("hello.foo");
            nc.subscribe("hello.bar");
            nc.flush();
        }
        conns.push(nc);
    }
    let port = s.server.monitor_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/connz?cid={cid}");
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &url,
            &ConnzOptions {
                cid,
                ..Default::default()
            },
        );
        assert_eq!(c.conns().len(), 1, "Expected only one connection");
        assert_eq!(c.num_conns, 1, "Expected NumConns to be 1");
        let ci = &c.conns()[0];
        assert_eq!(ci.cid, cid, "Expected to receive connection {cid}");
        assert_eq!(ci.num_subs, 2, "Expected to receive connection with 2 subs");
        // Now test a miss
        let bad_url = format!("http://127.0.0.1:{port}/connz?cid=100");
        let c = poll_connz(
            &s,
            mode,
            &bad_url,
            &ConnzOptions {
                cid: 100,
                ..Default::default()
            },
        );
        assert_eq!(c.conns().len(), 0, "Expected no connections");
        assert_eq!(c.num_conns, 0, "Expected NumConns of 0");
    }
}

fn create_conn_map(cz: &Connz) -> HashMap<String, ConnInfo> {
    cz.conns()
        .iter()
        .map(|c| (c.name.clone(), c.clone()))
        .collect()
}

fn get_foo_and_bar(cm: &HashMap<String, ConnInfo>) -> (ConnInfo, ConnInfo) {
    (cm["foo"].clone(), cm["bar"].clone())
}

port!("server/monitor_test.go::TestMonitorConnzRTT" => monitor_connz_rtt);
fn monitor_connz_rtt() {
    let s = run_monitor_server();
    let url = monitor_url(&s);
    for mode in 0..2 {
        {
            let mut nc = create_client_conn_subscribe_and_publish(&s);
            let c = poll_connz(&s, mode, &format!("{url}connz"), &ConnzOptions::default());
            assert_eq!(c.num_conns, 1, "Expected 1 connection");
            // Send a server side PING to record RTT
            let sc = get_client(&s, c.conns()[0].cid);
            monitor::send_rtt_ping(&sc);
            // The client answers with a PONG.
            nc.conn.expect(&re::PING);
            nc.conn.send("PONG\r\n");
            std::thread::sleep(Duration::from_millis(20));
            // Repoll for updated information.
            let c = poll_connz(&s, mode, &format!("{url}connz"), &ConnzOptions::default());
            let ci = &c.conns()[0];
            let rtt = parse_go_duration(&ci.rtt).unwrap_or_else(|e| {
                panic!("Could not parse RTT properly, {e} (ci.RTT={})", ci.rtt)
            });
            assert!(rtt > 0, "Expected RTT to be valid and non-zero");
            assert!(
                (100..=20_000_000).contains(&rtt),
                "Invalid RTT of {}",
                ci.rtt
            );
        }
        check_clients_count(&s, 0);
    }
}

port!("server/monitor_test.go::TestMonitorConnzLastActivity" => monitor_connz_last_activity);
fn monitor_connz_last_activity() {
    let s = run_monitor_server();
    let url = format!("{}connz?subs=1", monitor_url(&s));
    let opts = ConnzOptions {
        subscriptions: true,
        ..Default::default()
    };
    for mode in 0..2 {
        let mut nc_foo = create_client_conn_with_name(&s, "foo");
        let mut nc_bar = create_client_conn_with_name(&s, "bar");
        let (ci_foo, ci_bar) =
            get_foo_and_bar(&create_conn_map(&poll_connz(&s, mode, &url, &opts)));
        assert!(
            !ci_foo.last_activity.is_zero(),
            "Expected LastActivity for connection 'foo' to be valid"
        );
        assert!(
            !ci_bar.last_activity.is_zero(),
            "Expected LastActivity for connection 'bar' to be valid"
        );
        // Foo should be older than Bar
        assert!(
            ci_foo.last_activity <= ci_bar.last_activity,
            "Expected connection 'foo' to be older than 'bar'"
        );
        let mut foo_la = ci_foo.last_activity;
        let bar_la = ci_bar.last_activity;
        nc_foo.flush();
        nc_bar.flush();

        // Sub should trigger update.
        let sid = nc_foo.subscribe("hello.world");
        nc_foo.flush();
        let (ci_foo, _) = get_foo_and_bar(&create_conn_map(&poll_connz(&s, mode, &url, &opts)));
        let next_la = ci_foo.last_activity;
        assert_ne!(
            foo_la, next_la,
            "Subscribe should have triggered update to LastActivity {ci_foo:?}"
        );
        foo_la = next_la;

        // Publish and Message Delivery should trigger as well. So both connections
        // should have updates.
        nc_bar.publish("hello.world", "Hello");
        nc_foo.conn.expect_msgs(1);
        nc_foo.flush();
        nc_bar.flush();
        let (ci_foo, ci_bar) =
            get_foo_and_bar(&create_conn_map(&poll_connz(&s, mode, &url, &opts)));
        assert_ne!(
            bar_la, ci_bar.last_activity,
            "Publish should have triggered update to LastActivity"
        );
        // Message delivery on ncFoo should have triggered as well.
        let next_la = ci_foo.last_activity;
        assert_ne!(
            foo_la, next_la,
            "Message delivery should have triggered update to LastActivity"
        );
        foo_la = next_la;

        // Unsub should trigger as well
        nc_foo.unsubscribe(sid);
        nc_foo.flush();
        let (ci_foo, _) = get_foo_and_bar(&create_conn_map(&poll_connz(&s, mode, &url, &opts)));
        assert_ne!(
            foo_la, ci_foo.last_activity,
            "Message delivery should have triggered update to LastActivity"
        );
        drop(nc_foo);
        drop(nc_bar);
        check_clients_count(&s, 0);
    }
}

port!("server/monitor_test.go::TestMonitorConnzWithOffsetAndLimit" => monitor_connz_with_offset_and_limit);
fn monitor_connz_with_offset_and_limit() {
    let s = run_monitor_server();
    let url = monitor_url(&s);
    let ol = |offset, limit| ConnzOptions {
        offset,
        limit,
        ..Default::default()
    };
    for mode in 0..2 {
        let c = poll_connz(&s, mode, &format!("{url}connz?offset=1&limit=1"), &ol(1, 1));
        assert!(
            c.conns.as_ref().is_some_and(|v| v.is_empty()),
            "Expected 0 connections in array, got {:?}",
            c.conns
        );
        // Test that when given negative values, 0 or default is used
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?offset=-1&limit=-1"),
            &ol(-11, -11),
        );
        assert!(
            c.conns.as_ref().is_some_and(|v| v.is_empty()),
            "Expected 0 connections in array, got {:?}",
            c.conns
        );
        assert_eq!(
            c.offset, 0,
            "Expected offset to be 0, and limit to be 1024, got {} and {}",
            c.offset, c.limit
        );
    }
    let _cl1 = create_client_conn_subscribe_and_publish(&s);
    let _cl2 = create_client_conn_subscribe_and_publish(&s);
    for mode in 0..2 {
        let c = poll_connz(&s, mode, &format!("{url}connz?offset=1&limit=1"), &ol(1, 1));
        assert_eq!(c.limit, 1, "Expected limit of 1");
        assert_eq!(c.offset, 1, "Expected offset of 1");
        assert_eq!(c.conns().len(), 1, "Expected conns of 1");
        assert_eq!(c.num_conns, 1, "Expected NumConns to be 1");
        assert_eq!(c.total, 2, "Expected Total to be at least 2");
        let c = poll_connz(&s, mode, &format!("{url}connz?offset=2&limit=1"), &ol(2, 1));
        assert_eq!(c.limit, 1, "Expected limit of 1");
        assert_eq!(c.offset, 2, "Expected offset of 2");
        assert_eq!(c.conns().len(), 0, "Expected conns of 0");
        assert_eq!(c.num_conns, 0, "Expected NumConns to be 0");
        assert_eq!(c.total, 2, "Expected Total to be 2");
    }
}

port!("server/monitor_test.go::TestMonitorConnzOffsetOverflow" => monitor_connz_offset_overflow);
fn monitor_connz_offset_overflow() {
    let s = run_monitor_server();
    let _cl = create_client_conn_subscribe_and_publish(&s);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?offset={}&limit=1", i64::MAX),
            &ConnzOptions {
                offset: i64::MAX,
                limit: 1,
                ..Default::default()
            },
        );
        assert!(
            c.conns.as_ref().is_some_and(|v| v.is_empty()),
            "Expected 0 connections in array"
        );
        assert_eq!(c.num_conns, 0, "Expected NumConns to be 0");
    }
    monitor::connz(
        s.shared(),
        &ConnzOptions {
            offset: i64::MAX,
            limit: i64::MAX,
            ..Default::default()
        },
    )
    .unwrap();
}

fn four_clients(s: &BackgroundServer) -> Vec<Client> {
    (0..4)
        .map(|_| create_client_conn_subscribe_and_publish(s))
        .collect()
}

/// Reads one counter of a connection.
type InfoField = fn(&ConnInfo) -> i64;

fn sort_opts(sort: &str) -> ConnzOptions {
    ConnzOptions {
        sort: sort.to_string(),
        ..Default::default()
    }
}

fn cids(c: &Connz) -> Vec<u64> {
    c.conns().iter().map(|c| c.cid).collect()
}

port!("server/monitor_test.go::TestMonitorConnzDefaultSorted" => monitor_connz_default_sorted);
fn monitor_connz_default_sorted() {
    let s = run_monitor_server();
    let _clients = four_clients(&s);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(&s, mode, &format!("{url}connz"), &ConnzOptions::default());
        let v = cids(&c);
        assert!(
            v[0] < v[1] && v[1] < v[2] && v[2] < v[3],
            "Expected conns sorted in ascending order by cid, got {v:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByCid" => monitor_connz_sorted_by_cid);
fn monitor_connz_sorted_by_cid() {
    let s = run_monitor_server();
    let _clients = four_clients(&s);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(&s, mode, &format!("{url}connz?sort=cid"), &sort_opts("cid"));
        let v = cids(&c);
        assert!(
            v[0] < v[1] && v[1] < v[2] && v[2] < v[3],
            "Expected conns sorted in ascending order by cid, got {v:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByStart" => monitor_connz_sorted_by_start);
fn monitor_connz_sorted_by_start() {
    let s = run_monitor_server();
    let _clients = four_clients(&s);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?sort=start"),
            &sort_opts("start"),
        );
        let st: Vec<GoTime> = c.conns().iter().map(|c| c.start).collect();
        assert!(
            st[0] <= st[1] && st[1] <= st[2] && st[2] <= st[3],
            "Expected conns sorted in ascending order by startime, got {st:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByBytesAndMsgs" => monitor_connz_sorted_by_bytes_and_msgs);
fn monitor_connz_sorted_by_bytes_and_msgs() {
    let s = run_monitor_server();
    // Create a connection and make it send more messages than others
    let mut first = create_client_conn_subscribe_and_publish(&s);
    for _ in 0..100 {
        first.publish("foo", "Hello World");
    }
    first.flush();
    let _clients: Vec<Client> = (0..3)
        .map(|_| create_client_conn_subscribe_and_publish(&s))
        .collect();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let checks: [(&str, InfoField); 4] = [
            ("bytes_to", |c| c.out_bytes),
            ("msgs_to", |c| c.out_msgs),
            ("bytes_from", |c| c.in_bytes),
            ("msgs_from", |c| c.in_msgs),
        ];
        for (sort, f) in checks {
            let c = poll_connz(
                &s,
                mode,
                &format!("{url}connz?sort={sort}"),
                &sort_opts(sort),
            );
            let v: Vec<i64> = c.conns().iter().map(f).collect();
            assert!(
                v[0] >= v[1] && v[0] >= v[2] && v[0] >= v[3],
                "Expected conns sorted in descending order by {sort}, got {v:?}"
            );
        }
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByPending" => monitor_connz_sorted_by_pending);
fn monitor_connz_sorted_by_pending() {
    let s = run_monitor_server();
    let mut first = create_client_conn_subscribe_and_publish(&s);
    first.subscribe("hello.world");
    let _clients: Vec<Client> = (0..3)
        .map(|_| create_client_conn_subscribe_and_publish(&s))
        .collect();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?sort=pending"),
            &sort_opts("pending"),
        );
        let v: Vec<i64> = c.conns().iter().map(|c| c.pending).collect();
        assert!(
            v[0] >= v[1] && v[0] >= v[2] && v[0] >= v[3],
            "Expected conns sorted in descending order by number of pending, got {v:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedBySubs" => monitor_connz_sorted_by_subs);
fn monitor_connz_sorted_by_subs() {
    let s = run_monitor_server();
    let mut first = create_client_conn_subscribe_and_publish(&s);
    first.subscribe("hello.world");
    let _clients: Vec<Client> = (0..3)
        .map(|_| create_client_conn_subscribe_and_publish(&s))
        .collect();
    first.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?sort=subs"),
            &sort_opts("subs"),
        );
        let v: Vec<u32> = c.conns().iter().map(|c| c.num_subs).collect();
        assert!(
            v[0] >= v[1] && v[0] >= v[2] && v[0] >= v[3],
            "Expected conns sorted in descending order by number of subs, got {v:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByLast" => monitor_connz_sorted_by_last);
fn monitor_connz_sorted_by_last() {
    let s = run_monitor_server();
    let mut first = create_client_conn_subscribe_and_publish(&s);
    first.subscribe("hello.world");
    first.flush();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut c = create_client_conn_subscribe_and_publish(&s);
        c.flush();
        clients.push(c);
    }
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?sort=last"),
            &sort_opts("last"),
        );
        let v: Vec<i64> = c
            .conns()
            .iter()
            .map(|c| c.last_activity.unix_nanos())
            .collect();
        assert!(
            v[0] >= v[1] && v[1] >= v[2] && v[2] >= v[3],
            "Expected conns sorted in descending order by lastActivity, got {v:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByUptime" => monitor_connz_sorted_by_uptime);
fn monitor_connz_sorted_by_uptime() {
    let s = run_monitor_server();
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(create_client_conn_subscribe_and_publish(&s));
        // Since we check times (now-start) does not have to be big.
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?sort=uptime"),
            &sort_opts("uptime"),
        );
        let now = GoTime::now();
        let ups: Vec<i64> = c.conns().iter().map(|c| now.sub(c.start)).collect();
        assert!(
            ups.windows(2).all(|w| w[0] <= w[1]),
            "Expected conns sorted in ascending order by uptime (now-Start), got {ups:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByUptimeClosedConn" => monitor_connz_sorted_by_uptime_closed_conn);
fn monitor_connz_sorted_by_uptime_closed_conn() {
    let s = run_monitor_server();
    for i in 1..=4i64 {
        let c = create_client_conn_subscribe_and_publish(&s);
        // Grab the client and adjust its start time.
        let client = get_client(&s, i as u64);
        let start = client.activity.start();
        client
            .activity
            .set_start(start.add_nanos(-10 * (4 - i) * 1_000_000_000));
        drop(c);
    }
    check_closed_conns(&s, 4, Duration::from_secs(1));
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            state: ConnState::Closed,
            sort: "uptime".to_string(),
            ..Default::default()
        };
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?state=closed&sort=uptime"),
            &opts,
        );
        let ups: Vec<i64> = c
            .conns()
            .iter()
            .map(|c| c.stop.unwrap().sub(c.start))
            .collect();
        assert!(
            ups.windows(2).all(|w| w[0] <= w[1]),
            "Expected conns sorted in ascending order by uptime, got {ups:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByStopOnOpen" => monitor_connz_sorted_by_stop_on_open);
fn monitor_connz_sorted_by_stop_on_open() {
    let s = run_monitor_server();
    let _clients: Vec<Client> = (0..4).map(|_| Client::connect(&s, "")).collect();
    let r = monitor::connz(s.shared(), &sort_opts("stop"));
    assert!(r.is_err(), "Expected err to be non-nil, got {r:?}");
}

port!("server/monitor_test.go::TestMonitorConnzSortedByStopTimeClosedConn" => monitor_connz_sorted_by_stop_time_closed_conn);
fn monitor_connz_sorted_by_stop_time_closed_conn() {
    let s = run_monitor_server();
    for _ in 0..4 {
        drop(Client::connect(&s, ""));
    }
    check_closed_conns(&s, 4, Duration::from_secs(1));
    // Now adjust the Stop times for these with some random values.
    let now = GoTime::now();
    let mut seed = u64::from(std::process::id()) | 1;
    s.shared().monitor.with_closed_mut(|ccs| {
        for cc in ccs {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mins = (seed % 120) as i64;
            cc.info.stop = Some(now.add_nanos(-mins * 60 * 1_000_000_000));
        }
    });
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            state: ConnState::Closed,
            sort: "stop".to_string(),
            ..Default::default()
        };
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?state=closed&sort=stop"),
            &opts,
        );
        let now_u = GoTime::now();
        let ups: Vec<i64> = c
            .conns()
            .iter()
            .map(|c| now_u.sub(c.stop.unwrap()))
            .collect();
        assert_eq!(ups.len(), 4);
        assert!(
            ups.windows(2).all(|w| w[0] <= w[1]),
            "Expected conns sorted in ascending order by stop time, got {ups:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByReason" => monitor_connz_sorted_by_reason);
fn monitor_connz_sorted_by_reason() {
    use natsd::closed::ClosedState;
    let s = run_monitor_server();
    for _ in 0..20 {
        drop(Client::connect(&s, ""));
    }
    check_closed_conns(&s, 20, Duration::from_secs(1));
    // Now adjust the Reasons for these with some random values (states before
    // ServerShutdown, as Go picks them).
    let states = [
        ClosedState::ClientClosed,
        ClosedState::AuthenticationTimeout,
        ClosedState::AuthenticationViolation,
        ClosedState::TlsHandshakeError,
        ClosedState::SlowConsumerPendingBytes,
        ClosedState::SlowConsumerWriteDeadline,
        ClosedState::WriteError,
        ClosedState::ReadError,
        ClosedState::ParseError,
        ClosedState::StaleConnection,
        ClosedState::ProtocolViolation,
        ClosedState::BadClientProtocolVersion,
        ClosedState::WrongPort,
        ClosedState::MaxConnectionsExceeded,
        ClosedState::MaxAccountConnectionsExceeded,
        ClosedState::MaxPayloadExceeded,
        ClosedState::MaxControlLineExceeded,
        ClosedState::MaxSubscriptionsExceeded,
        ClosedState::DuplicateRoute,
        ClosedState::RouteRemoved,
    ];
    let mut seed = u64::from(std::process::id()) | 1;
    s.shared().monitor.with_closed_mut(|ccs| {
        for cc in ccs {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            cc.info.reason = states[(seed % states.len() as u64) as usize].to_string();
        }
    });
    let url = monitor_url(&s);
    for mode in 0..2 {
        let opts = ConnzOptions {
            state: ConnState::Closed,
            sort: "reason".to_string(),
            ..Default::default()
        };
        let c = poll_connz(
            &s,
            mode,
            &format!("{url}connz?state=closed&sort=reason"),
            &opts,
        );
        let rs: Vec<String> = c.conns().iter().map(|c| c.reason.clone()).collect();
        assert_eq!(rs.len(), 20);
        assert!(
            rs.windows(2).all(|w| w[0] <= w[1]),
            "Expected conns sorted in order by stop reason, got {rs:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortedByReasonOnOpen" => monitor_connz_sorted_by_reason_on_open);
fn monitor_connz_sorted_by_reason_on_open() {
    let s = run_monitor_server();
    let _clients: Vec<Client> = (0..4).map(|_| Client::connect(&s, "")).collect();
    let r = monitor::connz(s.shared(), &sort_opts("reason"));
    assert!(r.is_err(), "Expected err to be non-nil, got {r:?}");
}

port!("server/monitor_test.go::TestMonitorConnzSortedByIdle" => monitor_connz_sorted_by_idle);
fn monitor_connz_sorted_by_idle() {
    let s = run_monitor_server();
    let url = format!(
        "http://{}/connz?sort=idle",
        s.server.monitor_addr().unwrap()
    );
    let now = GoTime::now();
    let secs = |n: i64| now.add_nanos(-n * 1_000_000_000);
    let clients = [
        (secs(10), secs(5)),
        (secs(20), secs(10)),
        (secs(3), secs(2)),
        (secs(30), secs(20)),
    ];
    for mode in 0..2 {
        let mut conns = Vec::new();
        for (start, last) in clients {
            let c = create_client_conn_subscribe_and_publish(&s);
            let client = get_client(&s, c.cid);
            // Change the client's start and last activity times.
            client.activity.set_start(start);
            client.activity.set_last_activity(last);
            conns.push(c);
        }
        let connz = poll_connz(&s, mode, &url, &sort_opts("idle"));
        assert_eq!(
            connz.conns().len(),
            clients.len(),
            "want {} connections, got {}",
            clients.len(),
            connz.conns().len()
        );
        let idle: Vec<i64> = connz
            .conns()
            .iter()
            .map(|c| {
                parse_go_duration(&c.idle)
                    .unwrap_or_else(|e| panic!("error parsing duration {:?}: {e}", c.idle))
            })
            .collect();
        assert!(
            idle.windows(2).all(|w| w[0] >= w[1]),
            "want durations sorted in descending order, got {idle:?}"
        );
        drop(conns);
        check_clients_count(&s, 0);
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortByIdleTime" => monitor_connz_sort_by_idle_time);
fn monitor_connz_sort_by_idle_time() {
    let now = GoTime::now();
    let ago = |secs: i64| now.add_nanos(-secs * 1_000_000_000);
    let ci = |start: GoTime, last: GoTime| ConnInfo {
        start,
        last_activity: last,
        ..ConnInfo::default()
    };
    let (min, hour) = (60, 3600);
    let cases: Vec<(&str, Vec<ConnInfo>)> = vec![
        ("zero values", vec![ConnInfo::default(); 4]),
        (
            "equal last activity times",
            vec![
                ci(ago(50 * min), ago(min)),
                ci(ago(30 * min), ago(min)),
                ci(ago(10), ago(min)),
                ci(ago(2 * hour), ago(min)),
            ],
        ),
        (
            "last activity in the future",
            vec![
                ci(ago(50 * min), ago(-10 * min)),
                ci(ago(30 * min), ago(-5 * min)),
                ci(ago(24 * hour), ago(-2)),
                ci(ago(10), ago(-15 * min)),
                ci(ago(2 * hour), ago(-min)),
            ],
        ),
        (
            "unsorted",
            vec![
                ci(ago(50 * min), ago(10 * min)),
                ci(ago(30 * min), ago(5 * min)),
                ci(ago(24 * hour), ago(2)),
                ci(ago(10), ago(15 * min)),
                ci(ago(2 * hour), ago(min)),
            ],
        ),
        (
            "unsorted with zero value start time",
            vec![
                ci(GoTime::ZERO, ago(10 * min)),
                ci(GoTime::ZERO, ago(5 * min)),
                ci(GoTime::ZERO, ago(2)),
                ci(GoTime::ZERO, ago(15 * min)),
                ci(GoTime::ZERO, ago(min)),
            ],
        ),
        (
            "sorted",
            vec![
                ci(ago(24 * hour), ago(2)),
                ci(ago(2 * hour), ago(min)),
                ci(ago(30 * min), ago(5 * min)),
                ci(ago(50 * min), ago(10 * min)),
                ci(ago(10), ago(15 * min)),
            ],
        ),
        (
            "sorted with zero value start time",
            vec![
                ci(GoTime::ZERO, ago(2)),
                ci(GoTime::ZERO, ago(min)),
                ci(GoTime::ZERO, ago(5 * min)),
                ci(GoTime::ZERO, ago(10 * min)),
                ci(GoTime::ZERO, ago(15 * min)),
            ],
        ),
    ];
    for (name, mut conns) in cases {
        // Go sorts these with `SortByIdle` ascending (shortest idle first); `/connz` uses
        // it reversed. natsd's sort is the `/connz` order, so the list is reversed back.
        monitor::connz::sort_conns(&mut conns, monitor::SortOpt::Idle, now, now);
        conns.reverse();
        let idle: Vec<i64> = conns.iter().map(|c| now.sub(c.last_activity)).collect();
        assert!(
            idle.windows(2).all(|w| w[0] <= w[1]),
            "{name}: want durations sorted in ascending order, got {idle:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzSortBadRequest" => monitor_connz_sort_bad_request);
fn monitor_connz_sort_bad_request() {
    let s = run_monitor_server();
    let mut first = create_client_conn_subscribe_and_publish(&s);
    first.subscribe("hello.world");
    let _clients: Vec<Client> = (0..3)
        .map(|_| create_client_conn_subscribe_and_publish(&s))
        .collect();
    let url = monitor_url(&s);
    read_body_ex(&format!("{url}connz?sort=foo"), 400, TEXT_PLAIN);
    assert!(
        monitor::connz(s.shared(), &sort_opts("foo")).is_err(),
        "Expected error, got none"
    );
}

port!("server/monitor_test.go::TestMonitorRoutezWithBadParams" => monitor_routez_with_bad_params);
fn monitor_routez_with_bad_params() {
    let s = run_monitor_server();
    let url = format!("{}routez?", monitor_url(&s));
    read_body_ex(&format!("{url}subs=xxx"), 400, TEXT_PLAIN);
}

port!("server/monitor_test.go::TestSubsz" => subsz_basic);
fn subsz_basic() {
    let s = run_monitor_server();
    let _nc = create_client_conn_subscribe_and_publish(&s);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(&s, mode, &format!("{url}subsz"), &SubszOptions::default());
        assert_eq!(sl.stats.num_subs, 0);
        assert_eq!(sl.stats.num_inserts, 1);
        assert_eq!(sl.stats.num_matches, 1);
        for sub in &sl.subs {
            match sub.account.as_str() {
                "$G" => assert_eq!(sub.account_tag, "$G"),
                "$SYS" => assert_eq!(sub.account_tag, "$SYS"),
                a => panic!("Unknown account: {a:?}"),
            }
        }
    }
}

fn subs_opts(offset: i64, limit: i64, test: &str) -> SubszOptions {
    SubszOptions {
        subscriptions: true,
        offset,
        limit,
        test: test.to_string(),
        ..Default::default()
    }
}

port!("server/monitor_test.go::TestMonitorSubszDetails" => monitor_subsz_details);
fn monitor_subsz_details() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("foo.*");
    nc.subscribe("foo.bar");
    nc.subscribe("foo.foo");
    nc.publish("foo.bar", "Hello");
    nc.publish("foo.baz", "Hello");
    nc.publish("foo.foo", "Hello");
    // The subscriber's own copies arrive first (nats.go hands them to callbacks).
    nc.conn.expect_msgs(5);
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1"),
            &subs_opts(0, 0, ""),
        );
        assert_eq!(sl.stats.num_subs, 3, "Expected NumSubs of 3");
        assert_eq!(sl.total, 3, "Expected Total of 3");
        assert_eq!(sl.subs.len(), 3, "Expected subscription details for 3 subs");
    }
}

port!("server/monitor_test.go::TestMonitorSubszWithOffsetAndLimit" => monitor_subsz_with_offset_and_limit);
fn monitor_subsz_with_offset_and_limit() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    for i in 0..200 {
        nc.subscribe(&format!("foo.{i}"));
    }
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1&offset=10&limit=100"),
            &subs_opts(10, 100, ""),
        );
        assert_eq!(sl.stats.num_subs, 200, "Expected NumSubs of 200");
        assert_eq!(sl.total, 200, "Expected Total of 200");
        assert_eq!(sl.offset, 10, "Expected Offset of 10");
        assert_eq!(sl.limit, 100, "Expected Total of 100");
        assert_eq!(
            sl.subs.len(),
            100,
            "Expected subscription details for 100 subs"
        );
    }
}

port!("server/monitor_test.go::TestMonitorSubszOffsetOverflow" => monitor_subsz_offset_overflow);
fn monitor_subsz_offset_overflow() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("foo.*");
    nc.subscribe("foo.bar");
    nc.subscribe("foo.foo");
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1&offset={}&limit=1", i64::MAX),
            &subs_opts(i64::MAX, 1, ""),
        );
        assert_eq!(sl.subs.len(), 0, "Expected 0 subscription details");
    }
    monitor::subsz(s.shared(), &subs_opts(i64::MAX, i64::MAX, "")).unwrap();
}

port!("server/monitor_test.go::TestMonitorSubszTestPubSubject" => monitor_subsz_test_pub_subject);
fn monitor_subsz_test_pub_subject() {
    let s = run_monitor_server();
    let mut nc = create_client_conn_subscribe_and_publish(&s);
    nc.subscribe("foo.*");
    nc.subscribe("foo.bar");
    nc.subscribe("foo.foo");
    nc.flush();
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1&test=foo.foo"),
            &subs_opts(0, 0, "foo.foo"),
        );
        assert_eq!(sl.total, 2, "Expected Total of 2 match");
        assert_eq!(
            sl.subs.len(),
            2,
            "Expected subscription details for 2 matching subs"
        );
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1&test=foo"),
            &subs_opts(0, 0, "foo"),
        );
        assert_eq!(sl.subs.len(), 0, "Expected no matching subs");
    }
    // Make sure we get an error with invalid test subject.
    let test_url = format!("{url}subsz?subs=1&");
    for t in ["test=*", "test=foo.*", "test=foo.>", "test=foo..bar"] {
        read_body_ex(&format!("{test_url}{t}"), 400, TEXT_PLAIN);
    }
}

port!("server/monitor_test.go::TestMonitorHandleRoot" => monitor_handle_root);
fn monitor_handle_root() {
    let s = run_monitor_server();
    let _nc = create_client_conn_subscribe_and_publish(&s);
    let r = http_get(&monitor_url(&s)).unwrap_or_else(|e| panic!("Expected no error: Got {e}"));
    assert_eq!(r.status, 200);
    for b in &r.body {
        assert!(
            b.is_ascii(),
            "Expected body to contain only ASCII characters, but got {b}"
        );
    }
    assert!(
        r.content_type.contains("text/html"),
        "Expected text/html response, got {}",
        r.content_type
    );
}

port!("server/monitor_test.go::TestMonitorConnzWithNamedClient" => monitor_connz_with_named_client);
fn monitor_connz_with_named_client() {
    let s = run_monitor_server();
    let client_name = "test-client";
    let _nc = create_client_conn_with_name(&s, client_name);
    let url = monitor_url(&s);
    for mode in 0..2 {
        let c = poll_connz(&s, mode, &format!("{url}connz"), &ConnzOptions::default());
        assert_eq!(c.conns().len(), 1, "Expected 1 connection in array");
        assert_eq!(
            c.conns()[0].name,
            client_name,
            "Expected client to have name {client_name:?}"
        );
    }
}

port!("server/monitor_test.go::TestMonitorConnzWithStateForClosedConns" => monitor_connz_with_state_for_closed_conns);
fn monitor_connz_with_state_for_closed_conns() {
    let s = run_monitor_server();
    let num_each = 10;
    let mut open = Vec::new();
    for _ in 0..num_each {
        let mut nc = create_client_conn_subscribe_and_publish(&s);
        nc.subscribe("hello.closed.conns");
        nc.flush();
        drop(nc);
        let mut nc = create_client_conn_subscribe_and_publish(&s);
        nc.subscribe("hello.open.conns");
        nc.flush();
        open.push(nc);
    }
    let url = monitor_url(&s);
    let q = |state: ConnState, cid: u64, subs: bool| ConnzOptions {
        state,
        cid,
        subscriptions: subs,
        ..Default::default()
    };
    for mode in 0..2 {
        check_for(Duration::from_secs(2), Duration::from_millis(10), || {
            let len = |path: &str, o: ConnzOptions| {
                poll_connz(&s, mode, &format!("{url}{path}"), &o)
                    .conns()
                    .len()
            };
            let lc = len("connz?state=open", q(ConnState::Open, 0, false));
            if lc != num_each {
                return Err(format!(
                    "Expected {num_each} connections in array, got {lc}"
                ));
            }
            let lc = len("connz?state=closed", q(ConnState::Closed, 0, false));
            if lc != num_each {
                return Err(format!(
                    "Expected {num_each} connections in array, got {lc}"
                ));
            }
            let lc = len("connz?state=ALL", q(ConnState::All, 0, false));
            if lc != num_each * 2 {
                return Err(format!(
                    "Expected {} connections in array, got {lc}",
                    2 * num_each
                ));
            }
            // Look at CID #1, which is in closed.
            let lc = len("connz?cid=1&state=open", q(ConnState::Open, 1, false));
            if lc != 0 {
                return Err(format!("Expected no connections in open array, got {lc}"));
            }
            let lc = len("connz?cid=1&state=closed", q(ConnState::Closed, 1, false));
            if lc != 1 {
                return Err(format!("Expected a connection in closed array, got {lc}"));
            }
            let lc = len("connz?cid=1&state=ALL", q(ConnState::All, 1, false));
            if lc != 1 {
                return Err(format!("Expected a connection in closed array, got {lc}"));
            }
            let c = poll_connz(
                &s,
                mode,
                &format!("{url}connz?cid=1&state=closed&subs=true"),
                &q(ConnState::Closed, 1, true),
            );
            if c.conns().len() != 1 {
                return Err(format!(
                    "Expected a connection in closed array, got {}",
                    c.conns().len()
                ));
            }
            let ci = &c.conns()[0];
            if ci.num_subs != 1 {
                return Err(format!("Expected NumSubs to be 1, got {}", ci.num_subs));
            }
            if ci.subs.len() != 1 {
                return Err(format!(
                    "Expected len(ci.Subs) to be 1 also, got {}",
                    ci.subs.len()
                ));
            }
            // Now ask for same thing without subs and make sure they are not returned.
            let c = poll_connz(
                &s,
                mode,
                &format!("{url}connz?cid=1&state=closed&subs=false"),
                &q(ConnState::Closed, 1, false),
            );
            if c.conns().len() != 1 {
                return Err(format!(
                    "Expected a connection in closed array, got {}",
                    c.conns().len()
                ));
            }
            let ci = &c.conns()[0];
            if ci.num_subs != 1 {
                return Err(format!("Expected NumSubs to be 1, got {}", ci.num_subs));
            }
            if !ci.subs.is_empty() {
                return Err(format!(
                    "Expected len(ci.Subs) to be 0 since subs=false, got {}",
                    ci.subs.len()
                ));
            }
            // CID #2 is in open
            let lc = len("connz?cid=2&state=open", q(ConnState::Open, 2, false));
            if lc != 1 {
                return Err(format!("Expected a connection in open array, got {lc}"));
            }
            // It should also work if we ask for "state=all"
            let lc = len("connz?cid=2&state=all", q(ConnState::All, 2, false));
            if lc != 1 {
                return Err(format!("Expected a connection in open array, got {lc}"));
            }
            // But not for "state=closed"
            let lc = len("connz?cid=2&state=closed", q(ConnState::Closed, 2, false));
            if lc != 0 {
                return Err(format!("Expected no connections in closed array, got {lc}"));
            }
            Ok(())
        });
    }
}

port!("server/monitor_test.go::TestMonitorConnzClosedConnsRace" => monitor_connz_closed_conns_race);
fn monitor_connz_closed_conns_race() {
    let s = run_monitor_server();
    // Create 100 closed connections.
    for _ in 0..100 {
        drop(create_client_conn_subscribe_and_publish(&s));
    }
    let url_without_subs = format!(
        "http://127.0.0.1:{}/connz?state=closed",
        s.server.monitor_addr().unwrap().port()
    );
    let url_with_subs = format!("{url_without_subs}&subs=true");
    check_closed_conns(&s, 100, Duration::from_secs(2));
    let s = &s;
    std::thread::scope(|scope| {
        for url in [&url_with_subs, &url_without_subs] {
            scope.spawn(move || {
                let deadline = std::time::Instant::now() + Duration::from_secs(1);
                while std::time::Instant::now() < deadline {
                    let c = poll_connz(s, 0, url, &ConnzOptions::default());
                    assert_eq!(c.conns().len(), 100, "Incorrect Results: {c:?}");
                }
            });
        }
    });
}

port!("server/monitor_test.go::TestMonitorConnzClosedConnsBadClient" => monitor_connz_closed_conns_bad_client);
fn monitor_connz_closed_conns_bad_client() {
    let s = run_monitor_server();
    let rc = std::net::TcpStream::connect(s.addr).expect("Error on dial");
    drop(rc);
    check_closed_conns(&s, 1, Duration::from_secs(2));
    let c = poll_connz(
        &s,
        1,
        "",
        &ConnzOptions {
            state: ConnState::Closed,
            ..Default::default()
        },
    );
    assert_eq!(c.conns().len(), 1, "Incorrect Results: {c:?}");
    let ci = &c.conns()[0];
    let uptime = ci.stop.unwrap().sub(ci.start);
    let idle = parse_go_duration(&ci.idle).expect("Could not parse Idle");
    assert!(
        idle <= uptime,
        "Idle can't be larger then uptime, {idle} vs {uptime}"
    );
    assert!(
        !ci.last_activity.is_zero(),
        "LastActivity should not be Zero"
    );
}

port!("server/monitor_test.go::TestMonitorStacksz" => monitor_stacksz);
fn monitor_stacksz() {
    let s = run_monitor_server();
    let body = read_body(&format!("{}stacksz", monitor_url(&s)));
    let text = String::from_utf8_lossy(&body);
    // Go looks for its handler's name (`HandleStacksz`) in the stacks; natsd's handler is
    // `handle_stacksz`.
    assert!(
        text.contains("handle_stacksz"),
        "Result does not seem to contain server's stacks:\n{text}"
    );
}

port!("server/monitor_test.go::TestMonitorConcurrentMonitoring" => monitor_concurrent_monitoring);
fn monitor_concurrent_monitoring() {
    let s = run_monitor_server();
    let url = monitor_url(&s);
    let endpoints = [
        "varz", "varz", "varz", "connz", "connz", "subsz", "subsz", "routez", "routez",
    ];
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|e| {
                let url = format!("{url}{e}");
                scope.spawn(move || -> Result<(), String> {
                    for _ in 0..50 {
                        let r =
                            http_get(&url).map_err(|e| format!("Expected no error: Got {e}"))?;
                        if r.status != 200 {
                            return Err(format!("Expected a 200 response, got {}", r.status));
                        }
                        if r.content_type != APP_JSON {
                            return Err(format!(
                                "Expected application/json content-type, got {}",
                                r.content_type
                            ));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            if let Err(e) = h.join().unwrap() {
                panic!("{e}");
            }
        }
    });
}

port!("server/monitor_test.go::TestMonitorHandler" => monitor_handler);
fn monitor_handler() {
    let mut s = run_monitor_server();
    assert!(
        s.shared().monitor.is_serving(),
        "HTTP Handler should be set"
    );
    s.shutdown();
    assert!(
        !s.shared().monitor.is_serving(),
        "HTTP Handler should be nil"
    );
}

port!("server/monitor_test.go::TestMonitorServerIDs" => monitor_server_ids);
fn monitor_server_ids() {
    let s = run_monitor_server();
    let murl = monitor_url(&s);
    for mode in 0..2 {
        let v = poll_varz(&s, mode, &format!("{murl}varz"));
        assert!(!v.id.is_empty(), "Varz ID is empty");
        let c = poll_connz(&s, mode, &format!("{murl}connz"), &ConnzOptions::default());
        assert!(!c.id.is_empty(), "Connz ID is empty");
        let r = poll_routez(&s, mode, &format!("{murl}routez"));
        assert!(!r.id.is_empty(), "Routez ID is empty");
        assert!(
            v.id == c.id && v.id == r.id,
            "Varz ID [{}] is not equal to Connz ID [{}] or Routez ID [{}]",
            v.id,
            c.id,
            r.id
        );
    }
}

port!("server/monitor_test.go::TestMonitorHttpStatsNoUpdatedWhenUsingServerFuncs" => monitor_http_stats_not_updated_by_server_funcs);
fn monitor_http_stats_not_updated_by_server_funcs() {
    let s = run_monitor_server();
    for _ in 0..10 {
        monitor::varz(s.shared());
        monitor::connz(s.shared(), &ConnzOptions::default()).unwrap();
        monitor::routez(s.shared());
        monitor::subsz(s.shared(), &SubszOptions::default()).unwrap();
    }
    let v = monitor::varz(s.shared());
    for e in ["/varz", "/connz", "/routez", "/subsz"] {
        let n = v.http_req_stats.get(e).copied().unwrap_or(0);
        assert_eq!(n, 0, "Expected HTTPReqStats for {e:?} to be 0, got {n}");
    }
}

port!("server/monitor_test.go::TestMonitorClusterEmptyWhenNotDefined" => monitor_cluster_empty_when_not_defined);
fn monitor_cluster_empty_when_not_defined() {
    let s = run_monitor_server();
    let body = read_body(&format!("{}varz", monitor_url(&s)));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("unmarshal");
    // Cluster can empty, or be defined but that needs to be empty.
    let Some(c) = v.get("cluster") else {
        return;
    };
    assert!(
        c.as_object().is_some_and(|m| m.is_empty()),
        "Expected an empty cluster definition, instead got {c}"
    );
}

port!("server/monitor_test.go::TestMonitorJszNonJszServer" => monitor_jsz_non_jsz_server);
fn monitor_jsz_non_jsz_server() {
    let s = run_server(default_test_options());
    let jsi = monitor::jsz(s.shared(), &monitor::JszOptions::default())
        .unwrap_or_else(|e| panic!("jsi failed: {e}"));
    assert_eq!(jsi.id, s.shared().id, "did not receive valid info");
    let r = monitor::jsz(
        s.shared(),
        &monitor::JszOptions {
            leader_only: true,
            ..Default::default()
        },
    );
    match r {
        Err(e) => assert_eq!(
            e,
            monitor::misc::SKIP_ZREQ,
            "expected a skip z req error: {e}"
        ),
        Ok(jsi) => panic!("expected no jsi: {jsi:?}"),
    }
}

/// Go's `checkHealthzEndpoint`: `/healthz` with and without the JetStream flags.
fn check_healthz_endpoint(address: &str, status_code: u16, want_status: &str) {
    for url in [
        format!("http://{address}/healthz"),
        format!("http://{address}/healthz?js-enabled-only=true"),
        format!("http://{address}/healthz?js-server-only=true"),
    ] {
        let body = read_body_ex(&url, status_code, APP_JSON);
        let h: monitor::HealthStatus = serde_json::from_slice(&body).expect("unmarshal health");
        assert_eq!(
            h.status, want_status,
            "want health status {want_status:?}, got {:?}",
            h.status
        );
    }
}

port!("server/monitor_test.go::TestMonitorHealthzStatusOK" => monitor_healthz_status_ok);
fn monitor_healthz_status_ok() {
    let s = run_monitor_server();
    check_healthz_endpoint(&s.server.monitor_addr().unwrap().to_string(), 200, "ok");
}

port!("server/monitor_test.go::TestMonitorHealthzStatusError" => monitor_healthz_status_error);
fn monitor_healthz_status_error() {
    // Go removes the client listener from a running server to make
    // readyForConnections() fail; here the server is built and only its monitoring is
    // started, so there is no client listener.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = natsd::server::Server::new(default_monitor_options()).unwrap();
    let addr = rt
        .block_on(monitor::start(server.shared()))
        .expect("monitoring starts");
    check_healthz_endpoint(&addr.to_string(), 500, "error");
    server.shutdown();
}

port!("server/monitor_test.go::TestMonitorVarzMetadata" => monitor_varz_metadata);
fn monitor_varz_metadata() {
    let s = run_monitor_server();
    let v = monitor::varz(s.shared());
    let expected = BTreeMap::from([
        ("key1".to_string(), "value1".to_string()),
        ("key2".to_string(), "value2".to_string()),
    ]);
    assert_eq!(
        v.metadata, expected,
        "expected: {expected:?}, got: {:?}",
        v.metadata
    );
}

port!("server/monitor_test.go::TestConnzClosedSubsDetailNoSharedMutation" => connz_closed_subs_detail_no_shared_mutation);
fn connz_closed_subs_detail_no_shared_mutation() {
    let s = run_monitor_server();
    // Inject a closed client with subscription detail directly into the ring buffer.
    let cc = ClosedClient {
        info: ConnInfo {
            cid: 1,
            num_subs: 1,
            ..ConnInfo::default()
        },
        subs: vec![SubDetail {
            subject: "foo.bar".to_string(),
            ..SubDetail::default()
        }],
        user: String::new(),
        acc: String::new(),
    };
    s.shared().monitor.append_closed(cc);
    // Concurrently request closed connections with subscription detail.
    let opts = ConnzOptions {
        state: ConnState::Closed,
        subscriptions_detail: true,
        ..Default::default()
    };
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                monitor::connz(s.shared(), &opts).unwrap_or_else(|e| panic!("Error on Connz: {e}"));
            });
        }
    });
    // The stored record must not have been changed.
    let leaked = s
        .shared()
        .monitor
        .closed_clients()
        .iter()
        .any(|cc| !cc.info.subs_detail.is_empty());
    assert!(!leaked);
    // A plain closed-conn query must not carry SubsDetail.
    let c = monitor::connz(
        s.shared(),
        &ConnzOptions {
            state: ConnState::Closed,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.conns().len(), 1);
    assert!(
        c.conns()[0].subs_detail.is_empty(),
        "Plain closed-conn query unexpectedly carried SubsDetail: {:?}",
        c.conns()[0].subs_detail
    );
}

port!("server/monitor_test.go::TestMonitorConnzSortByRTT" => monitor_connz_sort_by_rtt);
fn monitor_connz_sort_by_rtt() {
    let s = run_monitor_server();
    let _clients: Vec<Client> = (0..10).map(|_| Client::connect(&s, "")).collect();
    let connz = poll_connz(&s, 1, "", &sort_opts("rtt"));
    assert_eq!(connz.num_conns, 10);
    let rtts: Vec<i64> = connz.conns().iter().map(|c| c.rtt_nanos).collect();
    assert!(
        rtts.windows(2).all(|w| w[0] >= w[1]),
        "RTT not in descending order: {rtts:?}"
    );
    // Make sure url works as well.
    let url = format!("{}connz?sort=rtt", monitor_url(&s));
    let connz = poll_connz(&s, 0, &url, &ConnzOptions::default());
    assert_eq!(connz.num_conns, 10);
    let rtts: Vec<i64> = connz
        .conns()
        .iter()
        .map(|c| parse_go_duration(&c.rtt).unwrap())
        .collect();
    assert!(
        rtts.windows(2).all(|w| w[0] >= w[1]),
        "RTT not in descending order: {rtts:?}"
    );
}

/// The TLS ports of this file.
mod tls_ports {
    use super::*;
    use natsd::tls::{gen_tls_config, TlsConfigOpts};
    use ported::tls_client::{connect, test_cert, ClientOptions};
    use std::io::Write;

    /// Go's monitor TLS tests: a server certificate, `tls_timeout` 1.5 s.
    fn tls_monitor_options(verify: bool) -> Options {
        let tc = TlsConfigOpts {
            cert_file: test_cert("server-cert.pem"),
            key_file: test_cert("server-key.pem"),
            ca_file: if verify {
                test_cert("ca.pem")
            } else {
                String::new()
            },
            verify,
            ..TlsConfigOpts::default()
        };
        let mut o = default_monitor_options();
        o.tls_timeout = Duration::from_millis(1500);
        o.tls_config = Some(Arc::new(gen_tls_config(&tc).unwrap()));
        o
    }

    port!("server/monitor_test.go::TestMonitorConnzClosedConnsBadTLSClient" => monitor_connz_closed_conns_bad_tls_client);
    fn monitor_connz_closed_conns_bad_tls_client() {
        let s = run_server(tls_monitor_options(false));
        let mut rc = std::net::TcpStream::connect(s.addr).unwrap();
        rc.write_all(b"CONNECT {}\r\n").unwrap();
        drop(rc);
        check_closed_conns(&s, 1, Duration::from_secs(2));
        let url = monitor_url(&s);
        let opts = ConnzOptions {
            state: ConnState::Closed,
            ..Default::default()
        };
        let c = poll_connz(&s, 1, &format!("{url}connz?state=closed"), &opts);
        assert_eq!(c.conns().len(), 1, "Incorrect Results: {c:?}");
        let ci = &c.conns()[0];
        let uptime = ci.stop.expect("stop").sub(ci.start);
        let idle =
            parse_go_duration(&ci.idle).unwrap_or_else(|e| panic!("Could not parse Idle: {e}"));
        assert!(
            idle <= uptime,
            "Idle can't be larger then uptime, {idle} vs {uptime}"
        );
        assert!(
            !ci.last_activity.is_zero(),
            "LastActivity should not be Zero"
        );
        assert_eq!(ci.reason, "TLS Handshake Failure");
    }

    port!("server/monitor_test.go::TestMonitorConnzTLSInHandshake" => monitor_connz_tls_in_handshake);
    fn monitor_connz_tls_in_handshake() {
        let s = run_server(tls_monitor_options(false));
        // A bare TCP connection: the TLS handshake never starts.
        let _c = std::net::TcpStream::connect(s.addr).unwrap();
        check_clients_count(&s, 1);
        let start = std::time::Instant::now();
        let endpoint = format!("{}connz", monitor_url(&s));
        for mode in 0..2 {
            let connz = poll_connz(&s, mode, &endpoint, &ConnzOptions::default());
            let d = start.elapsed();
            assert!(
                d < Duration::from_millis(1500),
                "Looks like connz blocked on handshake, took {d:?}"
            );
            assert_eq!(connz.conns().len(), 1, "Expected 1 conn");
            let conn = &connz.conns()[0];
            assert!(
                conn.tls_version.is_empty() && conn.tls_cipher.is_empty(),
                "Expected TLS fields to not be set, got version:{} cipher:{}",
                conn.tls_version,
                conn.tls_cipher
            );
        }
    }

    port!("server/monitor_test.go::TestMonitorConnzTLSPeerCerts" => monitor_connz_tls_peer_certs);
    fn monitor_connz_tls_peer_certs() {
        let mut o = tls_monitor_options(true);
        o.tls_timeout = Duration::from_secs(2);
        let s = run_server(o);
        let _nc = connect(
            s.addr,
            &ClientOptions::default()
                .root_ca(test_cert("ca.pem"))
                .client_cert(test_cert("client-cert.pem"), test_cert("client-key.pem")),
        )
        .unwrap();
        let endpoint = format!("{}connz", monitor_url(&s));
        for mode in 0..2 {
            // Without "auth" the details are not given.
            let connz = poll_connz(&s, mode, &endpoint, &ConnzOptions::default());
            assert_eq!(connz.conns().len(), 1);
            let c = &connz.conns()[0];
            assert!(
                c.tls_peer_certs.is_empty(),
                "Did not expect TLSPeerCerts when auth is not specified: {:?}",
                c.tls_peer_certs
            );
            assert!(!c.tls_version.is_empty() && !c.tls_cipher.is_empty());
            let connz = poll_connz(
                &s,
                mode,
                &format!("{endpoint}?auth=1"),
                &ConnzOptions {
                    username: true,
                    ..Default::default()
                },
            );
            assert_eq!(connz.conns().len(), 1);
            let c = &connz.conns()[0];
            assert_eq!(
                c.tls_peer_certs.len(),
                1,
                "Unexpected peer certificates: {:?}",
                c.tls_peer_certs
            );
            for d in &c.tls_peer_certs {
                assert_eq!(
                    d.subject, "CN=localhost,OU=nats.io,O=Synadia,ST=California,C=US",
                    "Unexpected subject"
                );
                assert_eq!(d.subject_pki_sha256.len(), 64, "Unexpected spki_sha256");
                assert_eq!(d.cert_sha256.len(), 64, "Unexpected cert_sha256");
            }
        }
    }
}

/// Ports that need accounts: the system account, `/accountz`, `/accstatz`, and `/subsz`
/// per account.
mod account_ports {
    use super::*;
    use natsd::account::{AccountConfig, DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT};
    use natsd::auth::User;
    use natsd::monitor::{AccountStatz, AccountStatzOptions, Accountz};

    #[track_caller]
    fn poll_accountz(s: &BackgroundServer, mode: u8, url: &str, account: &str) -> Accountz {
        if mode == 0 {
            serde_json::from_slice(&read_body(url)).expect("unmarshal accountz")
        } else {
            monitor::accountz(s.shared(), account)
                .unwrap_or_else(|e| panic!("Error on Accountz(): {e}"))
        }
    }

    #[track_caller]
    fn poll_account_statz(
        s: &BackgroundServer,
        mode: u8,
        url: &str,
        opts: &AccountStatzOptions,
    ) -> AccountStatz {
        if mode == 0 {
            serde_json::from_slice(&read_body(url)).expect("unmarshal accstatz")
        } else {
            monitor::accstatz(s.shared(), opts)
        }
    }

    /// Go's `runMonitorServerWithAccounts`: accounts A and B with users a and b.
    fn run_monitor_server_with_accounts() -> BackgroundServer {
        let mut o = default_monitor_options();
        o.no_system_account = true;
        for name in ["A", "B"] {
            o.accounts.push(AccountConfig {
                name: name.to_string(),
                ..AccountConfig::default()
            });
            let user = name.to_lowercase();
            o.users.push(User {
                username: user.clone(),
                password: user,
                permissions: None,
                account: name.to_string(),
                ..Default::default()
            });
        }
        run_server(o)
    }

    /// Go's `createClientConnWithUserSubscribeAndPublish`.
    fn create_client_conn_with_user_subscribe_and_publish(
        s: &BackgroundServer,
        user: &str,
        pwd: &str,
    ) -> Client {
        let mut conn = RawConn::connect(s.addr);
        let info = conn.check_info();
        let cid = info["client_id"].as_u64().expect("client_id in INFO");
        conn.send(&format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"rust\",\"version\":\"1.0\",\"user\":\"{user}\",\"pass\":\"{pwd}\"}}\r\nPING\r\n"
        ));
        conn.expect(&re::PONG);
        let mut c = Client {
            conn,
            cid,
            next_sid: 1,
        };
        let inbox = format!("_INBOX.{}", rand_token());
        let sid = c.subscribe(&inbox);
        c.publish(&inbox, "Hello");
        c.conn.expect_msgs(1);
        c.unsubscribe(sid);
        c.flush();
        c
    }

    port!("server/monitor_test.go::TestMonitorAccountz" => monitor_accountz);
    fn monitor_accountz() {
        let s = run_server(default_monitor_options());
        let url = monitor_url(&s);
        for mode in 0..2 {
            let a = poll_accountz(&s, mode, &format!("{url}accountz"), "");
            assert_eq!(a.id, s.shared().id);
            let accounts = a.accounts.unwrap_or_default();
            assert_eq!(accounts.len(), 2);
            for acc in &accounts {
                assert!(
                    acc == DEFAULT_SYSTEM_ACCOUNT || acc == GLOBAL_ACCOUNT,
                    "Unexpected account: {acc}"
                );
            }
            assert_eq!(a.system_account, DEFAULT_SYSTEM_ACCOUNT);
        }
        for mode in 0..2 {
            let a = poll_accountz(
                &s,
                mode,
                &format!("{url}accountz?acc=$SYS"),
                DEFAULT_SYSTEM_ACCOUNT,
            );
            let acc = a.account.expect("account detail");
            assert_eq!(acc.account_name, DEFAULT_SYSTEM_ACCOUNT);
            assert_eq!(acc.name_tag, DEFAULT_SYSTEM_ACCOUNT);
            assert!(acc.is_system);
            assert_eq!(a.system_account, DEFAULT_SYSTEM_ACCOUNT);
        }
    }

    port!("server/monitor_test.go::TestMonitorAccountStatz" => monitor_account_statz);
    fn monitor_account_statz() {
        let s = run_server(default_monitor_options());
        let url = monitor_url(&s);
        let opts = AccountStatzOptions {
            include_unused: true,
            ..AccountStatzOptions::default()
        };
        for mode in 0..2 {
            let a = poll_account_statz(&s, mode, &format!("{url}accstatz?unused=1"), &opts);
            assert_eq!(a.id, s.shared().id);
            assert_eq!(a.accounts.len(), 2);
            for acc in &a.accounts {
                match acc.account.as_str() {
                    GLOBAL_ACCOUNT | DEFAULT_SYSTEM_ACCOUNT => {
                        assert_eq!(acc.name, acc.account);
                        assert_eq!(acc.conns, 0);
                    }
                    _ => panic!("Unexpected account: {acc:?}"),
                }
            }
        }
    }

    port!("server/monitor_test.go::TestMonitorSubszMultiAccount" => monitor_subsz_multi_account);
    fn monitor_subsz_multi_account() {
        let s = run_monitor_server_with_accounts();
        let mut clients = Vec::new();
        for user in ["a", "b"] {
            let mut nc = create_client_conn_with_user_subscribe_and_publish(&s, user, user);
            for subject in ["foo.*", "foo.bar", "foo.foo"] {
                nc.subscribe(subject);
            }
            for subject in ["foo.bar", "foo.baz", "foo.foo"] {
                nc.publish(subject, "Hello");
            }
            // Flush: the client gets its own messages (foo.bar and foo.foo twice each,
            // foo.baz once) before the PONG, and only from its own account.
            nc.conn.send("PING\r\n");
            nc.conn.expect_msgs(5);
            nc.conn.expect(&re::PONG);
            clients.push(nc);
        }
        let url = monitor_url(&s);
        for mode in 0..2 {
            let sl = poll_subsz(
                &s,
                mode,
                &format!("{url}subsz?subs=1"),
                &SubszOptions {
                    subscriptions: true,
                    ..SubszOptions::default()
                },
            );
            assert_eq!(sl.stats.num_subs, 6, "Expected NumSubs of 6");
            assert_eq!(sl.total, 6, "Expected Total of 6");
            let subs = sl.subs;
            assert_eq!(subs.len(), 6, "Expected subscription details for 6 subs");
            for sd in &subs {
                assert!(
                    sd.account == "A" || sd.account == "B",
                    "Expected account information to be present and be 'A' or 'B', got {:?}",
                    sd.account
                );
            }

            // Filtered on one account.
            let sl = poll_subsz(
                &s,
                mode,
                &format!("{url}subsz?subs=1&acc=A"),
                &SubszOptions {
                    subscriptions: true,
                    account: "A".to_string(),
                    ..SubszOptions::default()
                },
            );
            assert_eq!(sl.stats.num_subs, 3, "Expected NumSubs of 3");
            assert_eq!(sl.total, 3, "Expected Total of 3");
            let subs = sl.subs;
            assert_eq!(subs.len(), 3, "Expected subscription details for 3 subs");
            for sd in &subs {
                assert_eq!(
                    sd.account, "A",
                    "Expected account information to be present and be 'A'"
                );
            }
        }
    }

    port!("server/monitor_test.go::TestMonitorConnz" => monitor_connz_with_account);
    fn monitor_connz_with_account() {
        let s = run_monitor_server_with_accounts();
        let url = monitor_url(&s);
        for mode in 0..2 {
            let c = poll_connz(&s, mode, &format!("{url}connz"), &ConnzOptions::default());
            assert_eq!(c.num_conns, 0);
            assert_eq!(c.total, 0);
            assert_eq!(c.conns.unwrap_or_default().len(), 0);

            // With a connection.
            let nc = create_client_conn_with_user_subscribe_and_publish(&s, "a", "a");
            std::thread::sleep(Duration::from_millis(50));
            let c = poll_connz(
                &s,
                mode,
                &format!("{url}connz?auth=1"),
                &ConnzOptions {
                    username: true,
                    ..ConnzOptions::default()
                },
            );
            assert_eq!(c.num_conns, 1);
            assert_eq!(c.total, 1);
            assert_eq!(c.limit, monitor::connz::DEFAULT_CONN_LIST_SIZE);
            assert_eq!(c.offset, 0);
            let conns = c.conns.unwrap_or_default();
            assert_eq!(conns.len(), 1);

            // The details of the connection.
            let ci = &conns[0];
            assert_ne!(ci.cid, 0);
            assert_eq!(ci.ip, "127.0.0.1");
            assert_ne!(ci.port, 0);
            assert_eq!(ci.num_subs, 0);
            assert_eq!(ci.subs.len(), 0);
            assert_eq!(ci.subs_detail.len(), 0);
            assert_eq!(ci.in_msgs, 1);
            assert_eq!(ci.out_msgs, 1);
            assert_eq!(ci.in_bytes, 5);
            assert_eq!(ci.out_bytes, 5);
            assert!(!ci.start.is_zero());
            assert_ne!(ci.uptime, "");
            assert!(!ci.last_activity.is_zero());
            assert!(ci.last_activity.unix_nanos() >= ci.start.unix_nanos());
            assert_ne!(ci.idle, "");
            // Set for connections once the client has sent CONNECT.
            assert_ne!(ci.rtt, "");
            assert_eq!(ci.account, "A");
            assert_eq!(ci.name_tag, "A");

            drop(nc);
            check_clients_count(&s, 0);
        }
    }

    port!("server/monitor_test.go::TestMonitorConnzAccountRace" => monitor_connz_account_race);
    fn monitor_connz_account_race() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let s = run_monitor_server_with_accounts();
        let sh = s.shared().clone();
        let acc_a = sh.accounts.lookup("A").expect("LookupAccount A");
        let acc_b = sh.accounts.lookup("B").expect("LookupAccount B");

        // A real client bound to account A, and its server-side client.
        let _nc = create_client_conn_with_user_subscribe_and_publish(&s, "a", "a");
        let mut found = None;
        check_for(Duration::from_secs(2), Duration::from_millis(5), || {
            found = sh
                .clients()
                .into_iter()
                .find(|c| c.account().is_some_and(|a| Arc::ptr_eq(&a, &acc_a)));
            found
                .as_ref()
                .map(|_| ())
                .ok_or_else(|| "could not find server-side client for account A".to_string())
        });
        let c = found.unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        // Writer: swaps the client's account back and forth, as binding or a reload does.
        let writer = {
            let (c, stop, acc_a, acc_b) = (c.clone(), stop.clone(), acc_a.clone(), acc_b);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = if c.account().is_some_and(|a| Arc::ptr_eq(&a, &acc_a)) {
                        acc_b.clone()
                    } else {
                        acc_a.clone()
                    };
                    c.bind_account(next);
                }
            })
        };
        // Reader: connz filtered on an account reads every client's account.
        let reader = {
            let (sh, stop) = (sh.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let opts = ConnzOptions {
                        account: "A".to_string(),
                        ..ConnzOptions::default()
                    };
                    if let Err(e) = monitor::connz(&sh, &opts) {
                        return Err(format!("Connz error: {e}"));
                    }
                }
                Ok(())
            })
        };
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer");
        reader.join().expect("reader").unwrap();

        // Restore so shutdown is consistent.
        c.bind_account(acc_a);
    }
}

port!("server/monitor_test.go::TestMonitorSubszMultiAccountWithOffsetAndLimit" => monitor_subsz_multi_account_with_offset_and_limit);
fn monitor_subsz_multi_account_with_offset_and_limit() {
    // As in Go, the server has no users: the credentials are ignored and both clients
    // land in the global account.
    let s = run_monitor_server();
    let mut clients = Vec::new();
    for user in ["a", "b"] {
        let mut nc = Client::connect(&s, "");
        nc.conn.send(&format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"user\":\"{user}\",\"pass\":\"{user}\"}}\r\n"
        ));
        let inbox = format!("_INBOX.{}", rand_token());
        let sid = nc.subscribe(&inbox);
        nc.publish(&inbox, "Hello");
        nc.conn.expect_msgs(1);
        nc.unsubscribe(sid);
        for i in 0..200 {
            nc.subscribe(&format!("foo.{i}"));
        }
        nc.flush();
        clients.push(nc);
    }
    let url = monitor_url(&s);
    for mode in 0..2 {
        let sl = poll_subsz(
            &s,
            mode,
            &format!("{url}subsz?subs=1&offset=10&limit=100"),
            &SubszOptions {
                subscriptions: true,
                offset: 10,
                limit: 100,
                ..SubszOptions::default()
            },
        );
        assert_eq!(sl.stats.num_subs, 400, "Expected NumSubs of 400");
        assert_eq!(sl.total, 400, "Expected Total of 400");
        assert_eq!(sl.offset, 10, "Expected Offset of 10");
        assert_eq!(sl.limit, 100, "Expected Limit of 100");
        assert_eq!(
            sl.subs.len(),
            100,
            "Expected subscription details for 100 subs"
        );
    }
}

port!("server/monitor_test.go::TestMonitorServerIDZRequest" => monitor_server_idz_request);
fn monitor_server_idz_request() {
    use natsd::events::messages::ServerId;
    use ported::support::{create_conf_file, run_server_with_config};
    let (s, _) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1
        server_name: TEST22
        # For access to system account.
        accounts { $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] } }
        "#,
    ));
    let mut nc = RawConn::connect(s.addr);
    nc.check_info();
    nc.send(
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"admin\",\"pass\":\"s3cr3t!\"}\r\nPING\r\n",
    );
    nc.expect(&re::PONG);
    nc.send("SUB _INBOX.idz 1\r\nPUB $SYS.REQ.SERVER.PING.IDZ _INBOX.idz 0\r\n\r\n");
    let msgs = nc.expect_msgs(1);
    assert_eq!(msgs[0].subject, "_INBOX.idz");
    let sid: ServerId = serde_json::from_str(&msgs[0].payload).expect("unmarshal ServerID");
    assert_eq!(sid.name, "TEST22");
    assert!(sid.id.starts_with('N'), "Unexpected server id {:?}", sid.id);
}

port!("server/monitor_test.go::TestMonitorVarzFeatureFlags" => monitor_varz_feature_flags);
fn monitor_varz_feature_flags() {
    // Go adds a flag to its global defaults for the test; natsd's defaults are fixed, so
    // the configured override is of one of the real defaults instead. The default options
    // also configure flags the server does not know, which must not show.
    let defaults = natsd::monitor::varz::merged_feature_flags(&BTreeMap::new());
    let known = "js_ack_fc_v2";
    assert_eq!(defaults.get(known), Some(&false), "default of {known}");
    let mut expected = defaults.clone();
    expected.insert(known.to_string(), true);

    let mut o = default_monitor_options();
    o.no_system_account = true;
    o.feature_flags.insert(known.to_string(), true);
    let s = run_server(o);
    let v = monitor::varz(s.shared());
    assert_eq!(
        v.feature_flags, expected,
        "expected: {expected:?}, got: {:?}",
        v.feature_flags
    );
}

port!("server/monitor_test.go::TestMonitorVarzRaces" => monitor_varz_races);
fn monitor_varz_races() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = run_monitor_server();
    let murl = format!("{}varz", monitor_url(&s));
    let server_id = s.shared().id.clone();
    let initial_max_conn = s.shared().opts().max_connections;
    let done = Arc::new(AtomicBool::new(false));

    // Each snapshot is consistent: the server's id, and a max_connections value that was
    // in force at some point.
    let check = |v: &Varz| {
        assert_eq!(v.id, server_id, "varz shows another server id");
        assert!(
            v.max_conn == initial_max_conn || (100..200).contains(&v.max_conn),
            "Unexpected max_connections {}",
            v.max_conn
        );
    };
    std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for mode in 0..2 {
                    check(&poll_varz(&s, mode, &murl));
                }
            }
        });
        // Change the server's options while it is polled.
        for i in 0..100 {
            let mut new = (*s.shared().opts()).clone();
            new.max_connections = 100 + i;
            natsd::reload::reload_options(s.shared(), new)
                .unwrap_or_else(|e| panic!("reload: {e}"));
        }
        done.store(true, Ordering::Relaxed);
        poller.join().unwrap();
    });
    let v = poll_varz(&s, 0, &murl);
    assert_eq!(v.max_conn, 199, "varz shows the last max_connections");

    // Parallel polling.
    done.store(false, Ordering::Relaxed);
    std::thread::scope(|scope| {
        let pollers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        for mode in 0..2 {
                            check(&poll_varz(&s, mode, &murl));
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        done.store(true, Ordering::Relaxed);
        for p in pollers {
            p.join().unwrap();
        }
    });
}

port!("server/monitor_test.go::TestMonitorVarzReloadRace" => monitor_varz_reload_race);
fn monitor_varz_reload_race() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = run_monitor_server();
    let murl = format!("{}varz", monitor_url(&s));
    // Varz is served once before the race starts.
    poll_varz(&s, 0, &murl);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Reader: /varz over HTTP in a loop.
        let reader = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                poll_varz(&s, 0, &murl);
            }
        });
        // Writer: reload the options in force, over and over; every reload must succeed.
        let writer = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let same = (*s.shared().opts()).clone();
                natsd::reload::reload_options(s.shared(), same)
                    .unwrap_or_else(|e| panic!("Error on reload: {e}"));
            }
        });
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        reader.join().expect("varz reader");
        writer.join().expect("reloader");
    });
}

port!("server/monitor_test.go::TestMonitorReloadTLSConfig" => monitor_reload_tls_config);
fn monitor_reload_tls_config() {
    use ported::tls_client::{tls_handshake, ClientOptions};
    use std::io::Read;
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/certs/sans");
    // verify_and_map must not make secure monitoring ask for client certificates.
    let template = |cert: &str, key: &str| {
        format!(
            "listen: \"127.0.0.1:-1\"\nhttps: \"127.0.0.1:-1\"\n\
             tls {{\n cert_file: '{certs}/{cert}'\n key_file: '{certs}/{key}'\n \
             ca_file: '{certs}/ca.pem'\n verify_and_map: true\n}}\n"
        )
    };
    // First a certificate without an IP address among its names.
    let conf = ported::support::create_conf_file(template("dev.pem", "dev-key.pem").as_bytes());
    let (s, _) = ported::support::run_server_with_config(&conf);
    let addr = s.server.monitor_addr().expect("https monitoring runs");
    let mut client = ClientOptions::default().root_ca(format!("{certs}/ca.pem"));
    client.server_name = "127.0.0.1".into();
    match tls_handshake(addr, &client) {
        Ok(_) => panic!("the handshake must fail: the certificate has no IP SAN"),
        Err(e) => assert!(
            e.contains("NotValidForName") || e.contains("not valid for name"),
            "Unexpected error: {e}"
        ),
    }
    // Reload with a certificate for 127.0.0.1: monitoring uses it at once.
    std::fs::write(&conf, template("server.pem", "server-key.pem")).expect("rewrite config");
    s.shared()
        .reload()
        .unwrap_or_else(|e| panic!("reload: {e}"));
    let mut tls =
        tls_handshake(addr, &client).unwrap_or_else(|e| panic!("Error on TLS handshake: {e}"));
    // Reading shows whether the certificate was accepted: nothing arrives, no error.
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(250)))
        .expect("read timeout");
    let mut buf = [0u8; 64];
    match tls.read(&mut buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        r => panic!("Error: {r:?}"),
    }
}
