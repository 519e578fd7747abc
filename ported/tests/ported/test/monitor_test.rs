//! Ports of `test/monitor_test.go`.
//!
//! Go's tests use fixed client and monitoring ports; these take random ones so they can run
//! in parallel.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use natsd::monitor::{self, Connz, GoTime, Subsz, Varz};
use natsd::server::{BackgroundServer, Server};
use ported::port;
use ported::support::{check_for, default_test_options, run_server, RawConn};
use std::time::Duration;

/// Go's `runMonitorServer` in test/: the default test options plus monitoring on loopback.
fn monitor_options() -> Options {
    let mut o = default_test_options();
    o.http_host = "127.0.0.1".to_string();
    o.http_port = -1;
    o.no_system_account = true;
    o
}

fn run_monitor_server() -> BackgroundServer {
    run_server(monitor_options())
}

fn monitor_url(s: &BackgroundServer) -> String {
    format!(
        "http://127.0.0.1:{}/",
        s.server.monitor_addr().expect("monitoring runs").port()
    )
}

/// GETs `url`: status and body, or the transport error.
fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)
        .map_err(|e| format!("Got an error reading the body: {e}"))?;
    Ok((status, body))
}

/// GETs `url`, expecting a 200, and returns the body.
#[track_caller]
fn get_ok(url: &str) -> Vec<u8> {
    let (status, body) = http_get(url).unwrap_or_else(|e| panic!("Expected no error: Got {e}"));
    assert_eq!(status, 200, "Expected a 200 response, got {status}");
    body
}

/// Go's `createClientConnSubscribeAndPublish` in test/: a raw connection subscribed to
/// `foo` that published one 5-byte message to itself.
fn create_client_conn_subscribe_and_publish(s: &BackgroundServer) -> RawConn {
    let mut c = RawConn::setup(s.addr);
    c.send("SUB foo 1\r\nPUB foo 5\r\nhello\r\n");
    c.expect_msgs(1);
    c
}

port!("test/monitor_test.go::TestNoMonitorPort" => no_monitor_port);
fn no_monitor_port() {
    let mut o = monitor_options();
    o.http_port = 0;
    let s = run_server(o);
    assert!(s.server.monitor_addr().is_none());
    let url = "http://127.0.0.1:11522/";
    for e in ["varz", "healthz", "connz"] {
        if let Ok((status, _)) = http_get(&format!("{url}{e}")) {
            panic!("Expected error: Got {status}");
        }
    }
}

port!("test/monitor_test.go::TestVarz" => varz);
fn varz() {
    let s = run_monitor_server();
    let url = monitor_url(&s);
    let v: Varz = serde_json::from_slice(&get_ok(&format!("{url}varz"))).unwrap();
    // Do some sanity checks on values
    assert!(
        GoTime::now().sub(v.start) <= 10_000_000_000,
        "Expected start time to be within 10 seconds."
    );
    let _cl = create_client_conn_subscribe_and_publish(&s);
    let body = get_ok(&format!("{url}varz"));
    assert!(
        !String::from_utf8_lossy(&body).contains("cluster_port"),
        "Varz body contains cluster information when no cluster is defined."
    );
    let v: Varz = serde_json::from_slice(&body).unwrap();
    assert_eq!(v.connections, 1, "Expected Connections of 1");
    assert_eq!(v.in_msgs, 1, "Expected InMsgs of 1");
    assert_eq!(v.out_msgs, 1, "Expected OutMsgs of 1");
    assert_eq!(v.in_bytes, 5, "Expected InBytes of 5");
    assert_eq!(v.out_bytes, 5, "Expected OutBytes of 5");
    // Go's MAX_PENDING_SIZE and DEFAULT_FLUSH_DEADLINE.
    assert_eq!(
        v.max_pending,
        64 * 1024 * 1024,
        "Expected MaxPending of 64MB"
    );
    assert_eq!(
        v.write_deadline, 10_000_000_000,
        "Expected WriteDeadline of 10s"
    );
}

port!("test/monitor_test.go::TestConnz" => connz);
fn connz() {
    let s = run_monitor_server();
    let url = monitor_url(&s);
    let c: Connz = serde_json::from_slice(&get_ok(&format!("{url}connz"))).unwrap();
    assert_eq!(c.num_conns, 0, "Expected 0 connections");
    assert_eq!(c.total, 0, "Expected 0 live connections");
    assert!(
        c.conns.as_ref().is_some_and(|v| v.is_empty()),
        "Expected 0 connections in array, got {:?}",
        c.conns
    );

    let _cl = create_client_conn_subscribe_and_publish(&s);
    let c: Connz = serde_json::from_slice(&get_ok(&format!("{url}connz"))).unwrap();
    assert_eq!(c.num_conns, 1, "Expected 1 connection");
    assert_eq!(c.total, 1, "Expected 1 live connection");
    assert!(
        c.conns.as_ref().is_some_and(|v| v.len() == 1),
        "Expected 1 connection in array, got {:?}",
        c.conns
    );
    assert_eq!(c.limit, 1024, "Expected limit of 1024");
    assert_eq!(c.offset, 0, "Expected offset of 0");
    // Test inside details of each connection
    let ci = &c.conns()[0];
    assert_ne!(ci.cid, 0, "Expected non-zero cid");
    assert_eq!(ci.ip, "127.0.0.1", "Expected \"127.0.0.1\" for IP");
    assert_ne!(ci.port, 0, "Expected non-zero port");
    assert_eq!(ci.num_subs, 1, "Expected num_subs of 1");
    assert!(ci.subs.is_empty(), "Expected subs of 0, got {:?}", ci.subs);
    assert_eq!(ci.in_msgs, 1, "Expected InMsgs of 1");
    assert_eq!(ci.out_msgs, 1, "Expected OutMsgs of 1");
    assert_eq!(ci.in_bytes, 5, "Expected InBytes of 5");
    assert_eq!(ci.out_bytes, 5, "Expected OutBytes of 5");
}

port!("test/monitor_test.go::TestConnzWithSubs" => connz_with_subs);
fn connz_with_subs() {
    let s = run_monitor_server();
    let _cl = create_client_conn_subscribe_and_publish(&s);
    let c: Connz =
        serde_json::from_slice(&get_ok(&format!("{}connz?subs=1", monitor_url(&s)))).unwrap();
    let ci = &c.conns()[0];
    assert!(
        ci.subs.len() == 1 && ci.subs[0] == "foo",
        "Expected subs of 1, got {:?}",
        ci.subs
    );
}

port!("test/monitor_test.go::TestConnzWithOffsetAndLimit" => connz_with_offset_and_limit);
fn connz_with_offset_and_limit() {
    let s = run_monitor_server();
    let _cl1 = create_client_conn_subscribe_and_publish(&s);
    let _cl2 = create_client_conn_subscribe_and_publish(&s);
    let c: Connz = serde_json::from_slice(&get_ok(&format!(
        "{}connz?offset=1&limit=1",
        monitor_url(&s)
    )))
    .unwrap();
    assert_eq!(c.limit, 1, "Expected limit of 1");
    assert_eq!(c.offset, 1, "Expected offset of 1");
    assert_eq!(c.conns().len(), 1, "Expected conns of 1");
}

port!("test/monitor_test.go::TestSubsz" => subsz);
fn subsz() {
    let s = run_monitor_server();
    let _cl = create_client_conn_subscribe_and_publish(&s);
    let su: Subsz =
        serde_json::from_slice(&get_ok(&format!("{}subscriptionsz", monitor_url(&s)))).unwrap();
    assert_eq!(su.stats.num_subs, 1, "Expected num_subs of 1");
}

port!("test/monitor_test.go::TestMonitorNoTLSConfig" => monitor_no_tls_config);
fn monitor_no_tls_config() {
    let mut o = default_test_options();
    o.http_host = "127.0.0.1".to_string();
    o.https_port = -1;
    // Starting only the monitoring returns the error.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = Server::new(o.clone()).unwrap();
    match rt.block_on(monitor::start(server.shared())) {
        Err(e) if e.to_string().contains("TLS") => {}
        r => panic!("Expected error about missing TLS config, got {r:?}"),
    }
    // Starting the server fails with it too.
    match BackgroundServer::start(o) {
        Err(e) if e.to_string().contains("TLS") => {}
        Err(e) => panic!("Expected error about missing TLS config, got {e}"),
        Ok(_) => panic!("Expected error about missing TLS config, got none"),
    }
}

port!("test/monitor_test.go::TestMonitorErrorOnListen" => monitor_error_on_listen);
fn monitor_error_on_listen() {
    let s = run_monitor_server();
    let mut o = default_test_options();
    o.http_host = "127.0.0.1".to_string();
    o.http_port = i32::from(s.server.monitor_addr().unwrap().port());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s2 = Server::new(o).unwrap();
    match rt.block_on(monitor::start(s2.shared())) {
        Err(e) if e.to_string().contains("listen") => {}
        r => panic!("Expected error about not able to start listener, got {r:?}"),
    }
}

port!("test/monitor_test.go::TestMonitorBothPortsConfigured" => monitor_both_ports_configured);
fn monitor_both_ports_configured() {
    let mut o = default_test_options();
    o.http_host = "127.0.0.1".to_string();
    o.http_port = -1;
    o.https_port = -1;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = Server::new(o).unwrap();
    match rt.block_on(monitor::start(s.shared())) {
        Err(e) if e.to_string().contains("specify both") => {}
        r => panic!("Expected error about ports configured, got {r:?}"),
    }
}

port!("test/monitor_test.go::TestMonitorStop" => monitor_stop);
fn monitor_stop() {
    // Create a server instance and start only the monitoring http server.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = Server::new(monitor_options()).unwrap();
    let addr = rt
        .block_on(monitor::start(s.shared()))
        .unwrap_or_else(|e| panic!("Error starting monitoring: {e}"));
    let url = format!("http://{addr}/varz");
    // Make sure http server is started
    http_get(&url).unwrap_or_else(|e| panic!("Error on http request: {e}"));
    // Although the server itself was not started, shutting it down stops the http
    // server.
    s.shutdown();
    // HTTP request should now fail (once the listener task has seen the shutdown).
    check_for(
        Duration::from_secs(2),
        Duration::from_millis(10),
        || match http_get(&url) {
            Ok((status, _)) => Err(format!("Expected error: Got {status}")),
            Err(_) => Ok(()),
        },
    );
}

/// Ports that need accounts.
mod account_ports {
    use super::*;
    use ported::support::{create_conf_file, re, run_server_with_config};
    use std::collections::HashMap;

    port!("test/monitor_test.go::TestConnzWithAccounts" => connz_with_accounts);
    fn connz_with_accounts() {
        // Go's configs/multi_accounts.conf, on random ports.
        let (s, opts) = run_server_with_config(create_conf_file(
            br#"
            listen: 127.0.0.1:-1
            http: 127.0.0.1:-1

            password = "s3cr3t!"

            accounts: {
               engineering: {
                  users = [
                    {user: alice, password: $password}
                    {user: bob,   password: $password}
                  ]
                }

                legal: {
                  users = [
                    {user: john,  password: $password}
                    {user: mary,  password: $password}
                  ]
                }

                finance: {
                  users = [
                    {user: peter, password: $password}
                    {user: paul,  password: $password}
                  ]
                }
            }

            no_sys_acc: true
            "#,
        ));
        assert_eq!(opts.users.len(), 6, "Expected 6 total users");
        assert_eq!(opts.accounts.len(), 3, "Expected 3 total accounts");

        // Map from user to account name; connect them all.
        let mut utoa = HashMap::new();
        let mut conns = Vec::new();
        for u in &opts.users {
            let mut nc = RawConn::connect(s.addr);
            nc.check_info();
            nc.send(&format!(
                "CONNECT {{\"verbose\":false,\"user\":\"{}\",\"pass\":\"{}\"}}\r\nPING\r\n",
                u.username, u.password
            ));
            nc.expect(&re::PONG);
            utoa.insert(u.username.clone(), u.account.clone());
            conns.push(nc);
        }

        let url = monitor_url(&s);
        let grab_connz = |args: &str| -> Connz {
            let args = if args.is_empty() {
                String::new()
            } else {
                format!("&{args}")
            };
            serde_json::from_slice(&get_ok(&format!("{url}connz?auth=1{args}")))
                .unwrap_or_else(|e| panic!("Got an error unmarshalling the body: {e}"))
        };

        let c = grab_connz("");
        assert_eq!(c.num_conns, 6, "Expected 6 connection entries");
        for (i, ci) in c.conns.iter().flatten().enumerate() {
            assert_eq!(ci.cid, i as u64 + 1, "Expected CID of {}", i + 1);
            let user = &ci.authorized_user;
            let account = utoa.get(user).cloned().unwrap_or_default();
            assert!(
                !user.is_empty() && !account.is_empty(),
                "Empty user or account: {user:?} - {account:?}"
            );
            assert_eq!(ci.account, account, "Expected account of {account:?}");
        }

        let pull_by_account = |acc_name: &str, state: &str| {
            let c = grab_connz(&format!("acc={acc_name}&state={state}"));
            assert_eq!(c.num_conns, 2, "Expected 2 connection entries ({state})");
            for ci in c.conns.iter().flatten() {
                assert_eq!(ci.account, acc_name, "Expected {acc_name:?} account");
            }
        };
        let pull_by_user = |user: &str, state: &str| {
            let c = grab_connz(&format!("user={user}&state={state}"));
            assert_eq!(c.num_conns, 1, "Expected 1 connection ({state})");
            assert_eq!(
                c.conns.unwrap()[0].authorized_user,
                user,
                "Expected user {user:?}"
            );
        };
        let pull_all = |state: &str| {
            for acc in ["engineering", "finance", "legal"] {
                pull_by_account(acc, state);
            }
            for user in ["alice", "bob", "john", "mary", "peter", "paul"] {
                pull_by_user(user, state);
            }
        };
        pull_all("open");

        // Closed connections can be pulled the same way.
        drop(conns);
        check_for(Duration::from_secs(1), Duration::from_millis(10), || {
            let n = s.shared().num_clients();
            if n == 0 {
                Ok(())
            } else {
                Err(format!("Number of client is {n}"))
            }
        });
        pull_all("closed");
    }
}

port!("test/monitor_test.go::TestTLSConnz" => tls_connz);
fn tls_connz() {
    use ported::tls_client::{connect, https_get, ClientOptions};
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/certs");
    // Go's configs/tls.conf, on random ports.
    let conf = format!(
        "listen: 127.0.0.1:-1\nhttps: -1\n\
         tls {{ cert_file: \"{certs}/server-cert.pem\", key_file: \"{certs}/server-key.pem\", timeout: 2 }}\n\
         authorization {{ user: derek, password: monkey, timeout: 1 }}\n"
    );
    let (srv, _) =
        ported::support::run_server_with_config(ported::support::create_conf_file(conf.as_bytes()));
    let ca = ClientOptions::default().root_ca(format!("{certs}/ca.pem"));
    let mut nc = connect(srv.addr, &ca.clone().user("derek", "monkey"))
        .unwrap_or_else(|e| panic!("Got an error on Connect with Secure Options: {e}"));
    nc.subscribe("foo", "1");
    nc.publish("foo", b"Hello");
    nc.flush().expect("flush");
    assert_eq!(nc.pending_msgs(), 1, "the message came back");

    let monitor = srv.server.monitor_addr().expect("https monitoring runs");
    let client = ca.client_cert(
        format!("{certs}/client-cert.pem"),
        format!("{certs}/client-key.pem"),
    );
    let (status, body) = https_get(monitor, "/connz", &client)
        .unwrap_or_else(|e| panic!("Expected no error: Got {e}"));
    assert_eq!(status, 200, "Expected a 200 response");
    let c: Connz = serde_json::from_slice(&body).expect("connz JSON");
    assert_eq!(c.num_conns, 1, "Expected 1 connection");
    assert_eq!(c.total, 1, "Expected 1 live connection");
    let conns = c.conns.expect("connections listed");
    assert_eq!(conns.len(), 1, "Expected 1 connection in array");
    let ci = &conns[0];
    assert_ne!(ci.cid, 0, "Expected non-zero cid");
    assert_eq!(ci.ip, "127.0.0.1");
    assert_ne!(ci.port, 0, "Expected non-zero port");
    assert_eq!(ci.num_subs, 1);
    assert!(ci.subs.is_empty(), "Expected subs of 0");
    assert_eq!(ci.in_msgs, 1);
    assert_eq!(ci.out_msgs, 1);
    assert_eq!(ci.in_bytes, 5);
    assert_eq!(ci.out_bytes, 5);
    assert!(!ci.start.is_zero(), "Expected Start to be valid");
    assert!(!ci.uptime.is_empty(), "Expected Uptime to be valid");
    assert!(
        !ci.last_activity.is_zero(),
        "Expected LastActivity to be valid"
    );
    assert!(
        ci.last_activity.unix_nanos() >= ci.start.unix_nanos(),
        "Expected LastActivity to be > Start"
    );
    assert!(!ci.idle.is_empty(), "Expected Idle to be valid");
}

port!("test/monitor_test.go::TestConnzWithAuth" => connz_with_auth);
fn connz_with_auth() {
    use ported::support::{create_conf_file, re, run_server_with_config};
    // Go's configs/multi_user.conf, on random ports.
    let (s, opts) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1
        http: 127.0.0.1:-1

        authorization {
            users = [
              {user: alice, password: foo}
              {user: bob,   password: bar}
            ]
        }
        "#,
    ));
    let user = &opts.users[0];
    let mut nc = RawConn::connect(s.addr);
    nc.check_info();
    nc.send(&format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"user\":\"{}\",\"pass\":\"{}\"}}\r\nPING\r\n",
        user.username, user.password
    ));
    nc.expect(&re::PONG);
    nc.send("SUB foo 1\r\nPUB foo 5\r\nHello\r\n");
    // Wait for message
    nc.expect_msgs(1);

    let body = get_ok(&format!("{}connz?auth=1", monitor_url(&s)));
    let c: Connz = serde_json::from_slice(&body).expect("unmarshal connz");
    // Test that we have authorized_user and it is alice.
    let ci = c.conns().first().expect("one connection");
    assert_eq!(
        ci.authorized_user, user.username,
        "Expected authorized_user to be {:?}, got {:?}",
        user.username, ci.authorized_user
    );
}

/// A local IPv4 address that is not a loopback one, from the kernel's routing table.
fn non_loopback_ipv4() -> Option<std::net::Ipv4Addr> {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    let lines: Vec<&str> = trie.lines().collect();
    lines.windows(2).find_map(|w| {
        let addr = w[0].trim().strip_prefix("|-- ")?;
        if w[1].trim() != "/32 host LOCAL" {
            return None;
        }
        let ip: std::net::Ipv4Addr = addr.parse().ok()?;
        (!ip.is_loopback()).then_some(ip)
    })
}

port!("test/monitor_test.go::TestHTTPHost" => http_host);
fn http_host() {
    let s = run_monitor_server();
    let port = s.server.monitor_addr().expect("monitoring runs").port();
    // Monitoring listens on 127.0.0.1 only: another local address must not reach it.
    let ip = non_loopback_ipv4().expect("Could not find non-loopback IPV4 address");
    let url = format!("http://{ip}:{port}/varz");
    if let Ok((status, _)) = http_get(&url) {
        panic!("Expected error: Got {status}");
    }
}
