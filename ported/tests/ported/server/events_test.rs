//! Ports of `server/events_test.go` that need one server and accounts from the
//! configuration (no clustering, gateways, leafnodes, JetStream, JWT resolvers).
//!
//! Go's tests that build their accounts with JWTs (`runTrustedServer`, `createAccount`,
//! `setSystemAccount`) are ported with the same accounts declared in the configuration:
//! the facts checked are the system events, not how the accounts came to be. Where Go
//! reads internals (`s.sys.client`, `sysSubscribe`, `statszReq`), these check the same
//! fact through `ServerShared::events`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::events::internal::{Handler, InMsg};
use natsd::events::messages::{
    AccountNumConns, ConnectEventMsg, DisconnectEventMsg, ServerStatsMsg, CONNECT_EVENT_TYPE,
    DISCONNECT_EVENT_TYPE,
};
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, create_conf_file, re, run_server_with_config, RawConn};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn run_conf(text: &str) -> BackgroundServer {
    run_server_with_config(create_conf_file(text.as_bytes())).0
}

/// A system account `SYS` (user `sys`) and accounts `ACC` and `ACC2` (users `acc`,
/// `acc2`), as Go's tests make them with JWTs.
const TRUSTED_CONF: &str = r#"
    listen: "127.0.0.1:-1"
    system_account: SYS
    accounts {
        SYS { users [{user: sys, password: sys}] }
        ACC { users [{user: acc, password: acc}] }
        ACC2 { users [{user: acc2, password: acc2}] }
    }
"#;

/// Connects and authenticates with `connect` (JSON fields inside the braces), then waits
/// for the PONG to a PING so the server has processed the CONNECT.
fn conn_with(s: &BackgroundServer, connect: &str) -> RawConn {
    let mut c = RawConn::connect(s.addr);
    c.check_info();
    c.send(&format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"go\",\"version\":\"1.41.0\",\"headers\":true{connect}}}\r\nPING\r\n"
    ));
    c.expect(&re::PONG);
    c
}

fn user_conn(s: &BackgroundServer, user: &str, name: &str) -> RawConn {
    conn_with(
        s,
        &format!(",\"user\":\"{user}\",\"pass\":\"{user}\",\"name\":\"{name}\""),
    )
}

/// Subscribes and waits until the server has the subscription (PING/PONG).
fn sub(c: &mut RawConn, subject: &str, sid: u32) {
    c.send(&format!("SUB {subject} {sid}\r\nPING\r\n"));
    c.expect(&re::PONG);
}

fn queue_sub(c: &mut RawConn, subject: &str, queue: &str, sid: u32) {
    c.send(&format!("SUB {subject} {queue} {sid}\r\nPING\r\n"));
    c.expect(&re::PONG);
}

/// Next `n` messages as (subject, JSON payload).
fn next_json(c: &mut RawConn, n: usize) -> Vec<(String, serde_json::Value)> {
    c.expect_msgs(n)
        .into_iter()
        .map(|m| (m.subject, serde_json::from_str(&m.payload).unwrap()))
        .collect()
}

static INBOX: AtomicU64 = AtomicU64::new(1);

/// Sends a request with a fresh inbox and returns the one reply's payload.
fn request(c: &mut RawConn, subject: &str, body: &str) -> String {
    let n = INBOX.fetch_add(1, Ordering::Relaxed);
    let sid = 1000 + n;
    c.send(&format!(
        "SUB _INBOX.{n} {sid}\r\nPUB {subject} _INBOX.{n} {}\r\n{body}\r\n",
        body.len()
    ));
    let m = c.expect_msgs(1).remove(0);
    c.send(&format!("UNSUB {sid}\r\n"));
    m.payload
}

fn assert_client_event_common(kind: &str, want_kind: &str, id: &str, seq: u64, time_zero: bool) {
    assert_eq!(kind, want_kind, "Incorrect schema in event");
    assert!(!time_zero, "Event time is not set");
    assert_eq!(
        id.len(),
        22,
        "Event ID is incorrectly set to len {}",
        id.len()
    );
    assert!(seq != 0, "Expected sequence to be non-zero");
}

port!("server/events_test.go::TestSystemAccount" => system_account);
fn system_account() {
    let s = run_conf(TRUSTED_CONF);
    let sys = s
        .shared()
        .events
        .system()
        .expect("Expected sys.account to be non-nil");
    assert_eq!(sys.account.name, "SYS");
    assert!(
        !sys.internal.client.is_closed(),
        "Expected sys.client to be non-nil"
    );
    assert!(
        !sys.internal.client.echo(),
        "Internal clients should always have echo false"
    );
}

port!("server/events_test.go::TestSystemAccountNewConnection" => system_account_new_connection);
fn system_account_new_connection() {
    let s = run_conf(TRUSTED_CONF);
    let mut ncs = user_conn(&s, "sys", "");
    // Only the events of ACC2.
    sub(&mut ncs, "$SYS.ACCOUNT.ACC2.>", 1);
    let mut nc = user_conn(&s, "acc2", "TEST EVENTS");

    let mut got = next_json(&mut ncs, 2);
    if got[0].0.starts_with("$SYS.ACCOUNT.ACC2.SERVER.CONNS") {
        got.swap(0, 1);
    }
    let (subject, msg) = &got[0];
    let (conns_subject, conns) = &got[1];
    assert!(
        conns_subject.starts_with("$SYS.ACCOUNT.ACC2.SERVER.CONNS"),
        "Expected subject to start with $SYS.ACCOUNT.ACC2.SERVER.CONNS, got {conns_subject}"
    );
    let conns: AccountNumConns = serde_json::from_value(conns.clone()).unwrap();
    assert_eq!(conns.stat.account, "ACC2", "Wrong account in conns message");
    assert_eq!(
        (
            conns.stat.conns,
            conns.stat.total_conns,
            conns.stat.leaf_nodes
        ),
        (1, 1, 0),
        "Wrong counts in conns message"
    );
    assert!(
        subject.starts_with("$SYS.ACCOUNT.ACC2.CONNECT"),
        "Expected subject to start with $SYS.ACCOUNT.<account>.CONNECT, got {subject}"
    );
    let tokens: Vec<&str> = subject.split('.').collect();
    assert!(tokens.len() >= 4, "Expected 4 tokens, got {}", tokens.len());
    assert_eq!(tokens[2], "ACC2");
    let cem: ConnectEventMsg = serde_json::from_value(msg.clone()).unwrap();
    assert_client_event_common(
        &cem.kind,
        CONNECT_EVENT_TYPE,
        &cem.id,
        cem.server.seq,
        cem.timestamp.is_zero(),
    );
    assert_eq!(cem.server.id, s.shared().id);
    assert_eq!(cem.client.name, "TEST EVENTS");
    assert_eq!(cem.client.lang, "go");

    // Some traffic, then close: a disconnect event with the counts.
    sub(&mut nc, "foo", 1);
    sub(&mut nc, "*", 2);
    for _ in 0..10 {
        nc.send("PUB foo 11\r\nHELLO WORLD\r\n");
    }
    nc.send("PING\r\n");
    nc.expect_msgs(20);
    nc.expect(&re::PONG);
    drop(nc);

    let mut got = next_json(&mut ncs, 2);
    if got[0].0.starts_with("$SYS.ACCOUNT.ACC2.SERVER.CONNS") {
        got.swap(0, 1);
    }
    let (subject, msg) = &got[0];
    let (conns_subject, conns) = &got[1];
    assert!(conns_subject.starts_with("$SYS.ACCOUNT.ACC2.SERVER.CONNS"));
    assert!(
        conns.to_string().contains("\"total_conns\":0"),
        "Expected event to reflect created connection, got: {conns}"
    );
    let conns: AccountNumConns = serde_json::from_value(conns.clone()).unwrap();
    assert_eq!(conns.stat.account, "ACC2");
    assert_eq!(
        (
            conns.stat.conns,
            conns.stat.total_conns,
            conns.stat.leaf_nodes
        ),
        (0, 0, 0)
    );
    assert!(
        subject.starts_with("$SYS.ACCOUNT.ACC2.DISCONNECT"),
        "Expected subject to start with $SYS.ACCOUNT.<account>.DISCONNECT, got {subject}"
    );
    let tokens: Vec<&str> = subject.split('.').collect();
    assert!(tokens.len() >= 4);
    assert_eq!(tokens[2], "ACC2");
    let dem: DisconnectEventMsg = serde_json::from_value(msg.clone()).unwrap();
    assert_client_event_common(
        &dem.kind,
        DISCONNECT_EVENT_TYPE,
        &dem.id,
        dem.server.seq,
        dem.timestamp.is_zero(),
    );
    assert_eq!(dem.server.id, s.shared().id);
    assert!(
        dem.server.seq > cem.server.seq,
        "Expected sequence to be increasing"
    );
    assert_eq!(dem.client.name, "TEST EVENTS");
    assert_eq!(dem.client.lang, "go");
    assert_eq!(dem.sent.msgs, 10);
    assert_eq!(dem.sent.bytes, 110);
    assert_eq!(dem.received.msgs, 20);
    assert_eq!(dem.received.bytes, 220);
}

port!("server/events_test.go::TestSystemAccountDisconnectBadLogin" => system_account_disconnect_bad_login);
fn system_account_disconnect_bad_login() {
    let s = run_conf(TRUSTED_CONF);
    let mut ncs = user_conn(&s, "sys", "");
    sub(&mut ncs, "$SYS.SERVER.*.CLIENT.AUTH.ERR", 1);
    let mut bad = RawConn::connect(s.addr);
    bad.check_info();
    bad.send("CONNECT {\"verbose\":false,\"name\":\"TEST BAD LOGIN\"}\r\nPING\r\n");
    let got = next_json(&mut ncs, 1);
    let dem: DisconnectEventMsg = serde_json::from_value(got[0].1.clone()).unwrap();
    assert_eq!(dem.reason, "Authentication Failure", "Expected auth error");
}

port!("server/events_test.go::TestServerEventsReceivedByQSubs" => server_events_received_by_qsubs);
fn server_events_received_by_qsubs() {
    let s = run_conf(TRUSTED_CONF);
    let mut ncs = user_conn(&s, "sys", "");
    queue_sub(&mut ncs, "$SYS.SERVER.*.CLIENT.AUTH.ERR", "queue", 1);
    let mut bad = RawConn::connect(s.addr);
    bad.check_info();
    bad.send("CONNECT {\"verbose\":false,\"name\":\"TEST BAD LOGIN\"}\r\nPING\r\n");
    let got = next_json(&mut ncs, 1);
    let dem: DisconnectEventMsg = serde_json::from_value(got[0].1.clone()).unwrap();
    assert_eq!(dem.reason, "Authentication Failure", "Expected auth error");
}

/// A handler that forwards what it gets to a channel.
fn channel_handler() -> (Handler, mpsc::Receiver<InMsg>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let h: Handler = Arc::new(move |_, _, m| {
        let _ = tx.lock().unwrap().send(m.clone());
    });
    (h, rx)
}

port!("server/events_test.go::TestSysSubscribeRace" => sys_subscribe_race);
fn sys_subscribe_race() {
    let s = run_conf(TRUSTED_CONF);
    let mut nc = user_conn(&s, "sys", "");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                nc.send("PUB foo 5\r\nhello\r\n");
            }
        })
    };
    std::thread::sleep(Duration::from_millis(10));
    let sys = s.shared().events.system().unwrap();
    let (h, rx) = channel_handler();
    let sub = sys.subscribe("foo", h);
    assert!(sub.is_ok(), "Expected to subscribe, got {:?}", sub.err());
    let got = rx.recv_timeout(Duration::from_secs(1));
    done.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
    assert!(got.is_ok(), "Did not receive the message");
}

port!("server/events_test.go::TestSystemAccountInternalSubscriptions" => system_account_internal_subscriptions);
fn system_account_internal_subscriptions() {
    // Without a system account there is nothing to subscribe with (Go's ErrNoSysAccount).
    let none = run_conf("listen: \"127.0.0.1:-1\"\nno_system_account: true");
    assert!(none.shared().events.system().is_none());
    // (Go also refuses a nil handler; in Rust a handler is required by the type.)
    let s = run_conf(TRUSTED_CONF);
    let mut nc = user_conn(&s, "sys", "");
    let sys = s.shared().events.system().unwrap();
    let (h, rx) = channel_handler();
    let sub = sys.subscribe("foo", h).expect("Expected to subscribe");
    nc.send("PUB foo 11\r\nHELLO WORLD\r\n");
    let msg = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("Did not receive the message");
    assert_eq!(msg.subject, "foo");
    assert_eq!(msg.reply, "", "Expected no reply");
    assert_eq!(
        &msg.payload[..],
        b"HELLO WORLD",
        "Got the wrong msg payload"
    );
    sys.unsubscribe(s.shared(), &sub);
    nc.send("PUB foo 10\r\nYou There?\r\nPING\r\n");
    // Processed by the server before we look.
    nc.expect(&re::PONG);
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "Received a message when we should not have"
    );
    // The server does not hear itself.
    let (h, rx) = channel_handler();
    let _sub = sys.subscribe("foo", h).unwrap();
    sys.publish_raw(s.shared(), &sys.account, "foo", None, None, &msg.payload);
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "Received a message when we should not have"
    );
}

port!("server/events_test.go::TestSystemAccountNoAuthUser" => system_account_no_auth_user);
fn system_account_no_auth_user() {
    let s = run_conf(
        r#"
        listen: "127.0.0.1:-1"
        accounts {
            $SYS {
                users [{user: "admin", password: "pwd"}]
            }
        }
    "#,
    );
    let cases: [(&str, &str, bool, &str); 6] = [
        (
            "valid user/pwd",
            r#","user":"admin","pass":"pwd""#,
            true,
            "$SYS",
        ),
        (
            "invalid pwd",
            r#","user":"admin","pass":"wrong""#,
            false,
            "",
        ),
        ("some token", r#","auth_token":"sometoken""#, false, ""),
        // A user without password is sent as a token by the Go client.
        (
            "user used without pwd",
            r#","auth_token":"admin""#,
            false,
            "",
        ),
        (
            "user with empty password",
            r#","user":"admin","pass":"""#,
            false,
            "",
        ),
        ("no user means global account", "", true, "$G"),
    ];
    for (name, creds, ok, account) in cases {
        let mut c = RawConn::connect(s.addr);
        c.check_info();
        c.send(&format!("CONNECT {{\"verbose\":false{creds}}}\r\nPING\r\n"));
        if !ok {
            c.expect_err("Authorization Violation");
            c.expect_disconnect();
            continue;
        }
        c.expect(&re::PONG);
        let clients = s.shared().clients();
        assert_eq!(clients.len(), 1, "{name}");
        let acc = clients[0].account_name();
        drop(c);
        check_for(
            Duration::from_secs(2),
            Duration::from_millis(10),
            || match s.shared().num_clients() {
                0 => Ok(()),
                n => Err(format!("{n} clients")),
            },
        );
        assert_eq!(
            acc, account,
            "{name}: The account should have been {account}"
        );
    }
}

port!("server/events_test.go::TestServerAccountConns" => server_account_conns);
fn server_account_conns() {
    let s = run_conf(
        r#"
       host: 127.0.0.1
       port: -1
       system_account: SYS
       accounts: {
               SYS: {users: [{user: s, password: s}]}
               ACC: {users: [{user: a, password: a}]}
       }"#,
    );
    // Speed up the heartbeat.
    let mut t = s.shared().events.timing();
    t.account_conns = Duration::from_millis(100);
    s.shared().events.set_timing(t);
    let mut nc = user_conn_pw(&s, "a", "a");
    sub(&mut nc, "foo", 1);
    let hw = "HELLO WORLD";
    nc.send(&format!("PUB foo {}\r\n{hw}\r\n", hw.len()));
    // Only counts as received.
    nc.send(&format!("PUB bar {}\r\n{hw}\r\n", hw.len()));
    nc.send("PING\r\n");
    let m = nc.expect_msgs(1).remove(0);
    assert_eq!(m.payload, hw);
    nc.expect(&re::PONG);

    let mut ncs = user_conn_pw(&s, "s", "s");
    sub(&mut ncs, "$SYS.ACCOUNT.ACC.SERVER.CONNS", 1);
    let got = next_json(&mut ncs, 1);
    let acc_conns: AccountNumConns = serde_json::from_value(got[0].1.clone()).unwrap();
    assert_eq!(acc_conns.stat.received.msgs, 2);
    assert_eq!(acc_conns.stat.received.bytes, 2 * hw.len() as i64);
    assert_eq!(acc_conns.stat.sent.msgs, 1);
    assert_eq!(acc_conns.stat.sent.bytes, hw.len() as i64);
}

fn user_conn_pw(s: &BackgroundServer, user: &str, pass: &str) -> RawConn {
    conn_with(s, &format!(",\"user\":\"{user}\",\"pass\":\"{pass}\""))
}

port!("server/events_test.go::TestServerEventsStatsZForcedBroadcastNotRateLimited" => server_events_statsz_forced_broadcast_not_rate_limited);
fn server_events_statsz_forced_broadcast_not_rate_limited() {
    let s = run_conf(TRUSTED_CONF);
    let shared = s.shared();
    let mut t = shared.events.timing();
    t.statsz_rate_limit = Duration::from_secs(3600);
    t.statsz = Duration::from_secs(3600);
    shared.events.set_timing(t);
    let mut nc = user_conn(&s, "sys", "");
    let subj = format!("$SYS.SERVER.{}.STATSZ", shared.id);
    let sys = shared.events.system().unwrap();
    // No broadcast can come from the timer, and one was "just sent".
    sys.stop_statsz_timer();
    sys.mark_statsz_sent();
    std::thread::sleep(Duration::from_millis(300));
    sub(&mut nc, &subj, 1);
    sys.mark_statsz_sent();
    // A forced (no reply) request broadcasts at once regardless.
    sys.statsz_request(shared, "", b"");
    let got = next_json(&mut nc, 1);
    let m: ServerStatsMsg = serde_json::from_value(got[0].1.clone()).unwrap();
    assert_eq!(m.server.id, shared.id);
    assert_eq!(m.stats.connections, 1);
}

port!("server/events_test.go::TestServerEventsStatszSingleServer" => server_events_statsz_single_server);
fn server_events_statsz_single_server() {
    let s = run_conf(
        r#"
        listen: "127.0.0.1:-1"
        accounts { $SYS { users [{user: "admin", password: "p1d"}]} }
    "#,
    );
    let sys = s.shared().events.system().unwrap();
    // Past when the first statsz would have gone out: without interest, nothing is sent.
    std::thread::sleep(s.shared().events.timing().statsz_first + Duration::from_millis(25));
    assert_eq!(sys.statsz_sent(), 0);
    let mut nc = user_conn_pw(&s, "admin", "p1d");
    sub(&mut nc, "$SYS.SERVER.*.STATSZ", 1);
    // The timer's next broadcast (it backs off from 250 ms) now has a listener.
    let got = next_json(&mut nc, 1);
    assert!(got[0].0.ends_with(".STATSZ"));
    assert!(sys.statsz_sent() >= 1);
}

port!("server/events_test.go::TestServerEventsConnectDisconnectForGlobalAcc" => server_events_connect_disconnect_for_global_acc);
fn server_events_connect_disconnect_for_global_acc() {
    let s = run_conf(
        r#"
        listen: "127.0.0.1:-1"
        accounts {
            $SYS {
                users [{user: "admin", password: "pwd"}]
            }
        }
    "#,
    );
    let mut ncs = user_conn_pw(&s, "admin", "pwd");
    sub(&mut ncs, "$SYS.ACCOUNT.$G.CONNECT", 1);
    sub(&mut ncs, "$SYS.ACCOUNT.$G.DISCONNECT", 2);
    let ncg = conn_with(&s, "");
    let got = ncs.expect_msgs(1);
    assert_eq!(got[0].subject, "$SYS.ACCOUNT.$G.CONNECT");
    drop(ncg);
    let got = ncs.expect_msgs(1);
    assert_eq!(got[0].subject, "$SYS.ACCOUNT.$G.DISCONNECT");
}

port!("server/events_test.go::TestSubszPagination" => subsz_pagination);
fn subsz_pagination() {
    let s = run_conf(TRUSTED_CONF);
    let mut nc_sys = user_conn(&s, "sys", "");
    let mut nc = user_conn(&s, "acc", "");
    for i in 0..100 {
        nc.send(&format!("SUB foo.{i} {}\r\n", i + 1));
    }
    nc.send("PING\r\n");
    nc.expect(&re::PONG);
    let req = "$SYS.REQ.ACCOUNT.ACC.SUBSZ";
    let body = r#"{"offset":0,"limit":10,"subscriptions":true}"#;
    let v: serde_json::Value = serde_json::from_str(&request(&mut nc_sys, req, body)).unwrap();
    assert_eq!(
        v["data"]["subscriptions_list"].as_array().unwrap().len(),
        10
    );
    let total = v["data"]["total"].as_i64().unwrap();
    assert!(
        (100..=110).contains(&total),
        "Expected total subscriptions to be more than 100 and less than 110, got {total}"
    );
    for i in 0..10 {
        nc.send(&format!("SUB bar.* {}\r\n", 200 + i));
    }
    nc.send("PING\r\n");
    nc.expect(&re::PONG);
    let body = r#"{"offset":0,"limit":5,"subscriptions":true,"test":"bar.A"}"#;
    let v: serde_json::Value = serde_json::from_str(&request(&mut nc_sys, req, body)).unwrap();
    assert_eq!(v["data"]["subscriptions_list"].as_array().unwrap().len(), 5);
    assert_eq!(v["data"]["total"], 10);
}

port!("server/events_test.go::TestSendInternalAccountMsgWithReplyDoesNotMutateHeaderSlice" => send_internal_account_msg_with_reply_does_not_mutate_header_slice);
fn send_internal_account_msg_with_reply_does_not_mutate_header_slice() {
    let s = run_conf("listen: \"127.0.0.1:-1\"");
    let mut nc = conn_with(&s, "");
    sub(&mut nc, "foo", 1);
    let mut hdr = Vec::with_capacity(256);
    hdr.extend_from_slice(b"NATS/1.0\r\nFoo: bar\r\n\r\n");
    let snapshot = hdr.clone();
    let sys = s.shared().events.system().unwrap();
    let n = sys.publish_raw(
        s.shared(),
        s.shared().global_account(),
        "foo",
        None,
        Some(&hdr),
        b"REPRO_LEAK_BODY",
    );
    assert_eq!(n, 1);
    // The whole message: header block with `Foo: bar`, then the body.
    let whole = regex::bytes::Regex::new(
        r"\AHMSG foo 1 22 37\r\nNATS/1.0\r\nFoo: bar\r\n\r\nREPRO_LEAK_BODY\r\n",
    )
    .unwrap();
    nc.expect(&whole);
    assert_eq!(hdr, snapshot, "hdr was mutated by send");
}

port!("server/events_test.go::TestServerEventsReload" => server_events_reload);
fn server_events_reload() {
    let conf_text = |ping: &str| {
        format!(
            r#"
        listen: "127.0.0.1:-1"
        accounts: {{
            $SYS {{ users [{{user: "admin", password: "p1d"}}]}}
            test {{ users [{{user: "foo", password: "bar"}}]}}
        }}
        ping_interval: "{ping}"
    "#
        )
    };
    let conf = create_conf_file(conf_text("100ms").as_bytes());
    let (s, _) = run_server_with_config(&conf);
    let subject = format!("$SYS.REQ.SERVER.{}.RELOAD", s.shared().id);

    // A user of another account cannot reach the reload endpoint.
    let mut nc_test = user_conn_pw(&s, "foo", "bar");
    sub(&mut nc_test, "test.reply", 1);
    nc_test.send(&format!("PUB {subject} test.reply 0\r\n\r\n"));
    // No reply within a second (PINGs at 100 ms are answered meanwhile).
    for _ in 0..20 {
        nc_test.send("PONG\r\n");
        std::thread::sleep(Duration::from_millis(50));
    }
    nc_test.expect_msgs(0);
    assert_eq!(s.shared().opts().ping_interval, Duration::from_millis(100));

    let mut nc = user_conn_pw(&s, "admin", "p1d");
    std::fs::write(&conf, conf_text("200ms")).unwrap();
    nc.send("PONG\r\n");
    let resp: serde_json::Value = serde_json::from_str(&request(&mut nc, &subject, "")).unwrap();
    assert!(resp.get("data").is_none(), "{resp}");
    assert!(resp.get("error").is_none(), "{resp}");
    assert_eq!(s.shared().opts().ping_interval, Duration::from_millis(200));

    std::fs::write(&conf, "garbage and nonsense").unwrap();
    nc.send("PONG\r\n");
    let resp: serde_json::Value = serde_json::from_str(&request(&mut nc, &subject, "")).unwrap();
    assert!(resp.get("data").is_none(), "{resp}");
    assert_eq!(
        resp["error"]["description"],
        "Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got 'n' instead.'"
    );
    assert_eq!(s.shared().opts().ping_interval, Duration::from_millis(200));
}

port!("server/events_test.go::TestServerEventsLDMKick" => server_events_ldm_kick);
fn server_events_ldm_kick() {
    let s = run_conf(TRUSTED_CONF);
    let mut ncs = user_conn(&s, "sys", "");
    // A client that takes asynchronous INFO (protocol 1, first PONG sent).
    let mut nc = RawConn::connect(s.addr);
    let info = nc.check_info();
    let cid = info["client_id"].as_u64().unwrap();
    nc.send(
        "CONNECT {\"verbose\":false,\"protocol\":1,\"user\":\"acc2\",\"pass\":\"acc2\",\"name\":\"TEST EVENTS LDM+KICK\"}\r\nPING\r\n",
    );
    nc.expect(&re::PONG);
    nc.check_info();
    // Other clients of the account come and go meanwhile.
    let churn = {
        let addr = s.addr;
        std::thread::spawn(move || {
            let conns: Vec<RawConn> = (0..100)
                .map(|_| {
                    let mut c = RawConn::connect(addr);
                    c.check_info();
                    c.send("CONNECT {\"verbose\":false,\"user\":\"acc2\",\"pass\":\"acc2\"}\r\n");
                    c
                })
                .collect();
            drop(conns);
        })
    };
    let subject = format!("$SYS.REQ.SERVER.{}.LDM", s.shared().id);
    let resp: serde_json::Value =
        serde_json::from_str(&request(&mut ncs, &subject, &format!("{{\"cid\":{cid}}}"))).unwrap();
    assert!(resp.get("error").is_none(), "{resp}");
    let ldm = nc.check_info();
    assert_eq!(
        ldm["ldm"], true,
        "timeout waiting for the connection to receive the LDM signal"
    );
    let subject = format!("$SYS.REQ.SERVER.{}.KICK", s.shared().id);
    let resp: serde_json::Value =
        serde_json::from_str(&request(&mut ncs, &subject, &format!("{{\"cid\":{cid}}}"))).unwrap();
    assert!(resp.get("error").is_none(), "{resp}");
    nc.expect_disconnect();
    churn.join().unwrap();
}

port!("server/events_test.go::TestServerEventsHealthZJetStreamNotEnabled" => server_events_healthz_jetstream_not_enabled);
fn server_events_healthz_jetstream_not_enabled() {
    let s = run_conf(
        r#"listen: 127.0.0.1:-1

    accounts {
        $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
    }"#,
    );
    let mut ncs = user_conn_pw(&s, "admin", "s3cr3t!");
    let subj = format!("$SYS.REQ.SERVER.{}.HEALTHZ", s.shared().id);
    let health: serde_json::Value = serde_json::from_str(&request(&mut ncs, &subj, "")).unwrap();
    assert_eq!(health["data"]["status"], "ok", "Invalid healthz status");
    assert!(
        health["data"].get("error").is_none_or(|e| e == ""),
        "HealthZ error: {}",
        health["data"]["error"]
    );
    assert_eq!(health["server"]["id"], s.shared().id.as_str());
}
