//! System account events and requests end to end with the real async-nats client: a
//! client of the system account asks for `/varz` over NATS and sees other clients connect.

use futures::StreamExt;
use natsd::config::file::apply_config_string;
use natsd::config::Options;
use natsd::server::BackgroundServer;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const CONF: &str = "accounts { SYS { users [{user: sys, password: sys}] }\n\
                    APP { users [{user: app, password: app}] } }\n\
                    system_account: SYS";

fn server(conf: &str) -> BackgroundServer {
    let mut o = Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    };
    apply_config_string(&mut o, conf).expect("valid configuration");
    BackgroundServer::start(o).expect("start")
}

async fn connect(s: &BackgroundServer, user: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .name(name)
        .connect(format!("nats://{}", s.addr))
        .await
        .expect("connect")
}

#[tokio::test]
async fn varz_request_is_answered_by_this_server() {
    let s = server(CONF);
    let sys = connect(&s, "sys", "admin").await;
    let msg = tokio::time::timeout(WAIT, sys.request("$SYS.REQ.SERVER.PING.VARZ", "".into()))
        .await
        .expect("in time")
        .expect("a response");
    let v: serde_json::Value = serde_json::from_slice(&msg.payload).expect("JSON");
    assert_eq!(v["data"]["server_id"], s.shared().id.as_str());
    assert_eq!(v["server"]["id"], s.shared().id.as_str());
    assert_eq!(v["data"]["system_account"], "SYS");
    assert!(v.get("error").is_none(), "{v}");
    assert!(v["server"]["seq"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test]
async fn raftz_request_answers_an_empty_map_without_raft_groups() {
    let s = server(CONF);
    let sys = connect(&s, "sys", "admin").await;
    let msg = tokio::time::timeout(WAIT, sys.request("$SYS.REQ.SERVER.PING.RAFTZ", "".into()))
        .await
        .expect("in time")
        .expect("a response");
    let v: serde_json::Value = serde_json::from_slice(&msg.payload).expect("JSON");
    // Go answers with its map of Raft groups by account: empty here, never absent.
    assert_eq!(v["data"], serde_json::json!({}), "{v}");
    assert!(v.get("error").is_none(), "{v}");
}

#[tokio::test]
async fn connect_events_reach_system_subscribers() {
    let s = server(CONF);
    let sys = connect(&s, "sys", "admin").await;
    let mut events = sys
        .subscribe("$SYS.ACCOUNT.*.CONNECT")
        .await
        .expect("subscribe");
    // A request round trip: the subscription is in place once it is answered.
    sys.request("$SYS.REQ.SERVER.PING.IDZ", "".into())
        .await
        .expect("idz");
    let _app = connect(&s, "app", "the app").await;
    let m = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
        .expect("an event");
    assert_eq!(m.subject.as_str(), "$SYS.ACCOUNT.APP.CONNECT");
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("JSON");
    assert_eq!(v["type"], "io.nats.server.advisory.v1.client_connect");
    assert_eq!(v["client"]["acc"], "APP");
    assert_eq!(v["client"]["name"], "the app");
    assert_eq!(v["client"]["user"], "app");
    assert_eq!(v["client"]["lang"], "rust");
    assert_eq!(v["server"]["id"], s.shared().id.as_str());
    assert_eq!(v["id"].as_str().map(str::len), Some(22));
}

#[tokio::test]
async fn server_ping_statsz_and_account_requests() {
    let s = server(CONF);
    let sys = connect(&s, "sys", "admin").await;
    let _app = connect(&s, "app", "the app").await;
    let ask = |subject: &'static str, body: &'static str| {
        let sys = sys.clone();
        async move {
            let m = tokio::time::timeout(WAIT, sys.request(subject, body.into()))
                .await
                .expect("in time")
                .expect("a response");
            serde_json::from_slice::<serde_json::Value>(&m.payload).expect("JSON")
        }
    };
    let v = ask("$SYS.REQ.SERVER.PING", "").await;
    assert_eq!(v["server"]["id"], s.shared().id.as_str());
    assert_eq!(v["statsz"]["connections"], 2);
    let v = ask("$SYS.REQ.ACCOUNT.APP.CONNZ", "").await;
    assert_eq!(v["data"]["num_connections"], 1);
    assert_eq!(v["data"]["connections"][0]["name"], "the app");
    let v = ask("$SYS.REQ.ACCOUNT.APP.STATZ", "").await;
    assert_eq!(v["data"]["account_statz"][0]["acc"], "APP");
    assert_eq!(v["data"]["account_statz"][0]["conns"], 1);
    let v = ask("$SYS.REQ.SERVER.PING.CONNZ", r#"{"limit":"x"}"#).await;
    assert_eq!(v["error"]["code"], 400);
    let v = ask("$SYS.REQ.SERVER.PING.IDZ", "").await;
    assert_eq!(v["id"], s.shared().id.as_str());
}

#[tokio::test]
async fn other_accounts_reach_their_own_connz_and_statz() {
    let s = server(CONF);
    let app = connect(&s, "app", "the app").await;
    let ask = |subject: &'static str| {
        let app = app.clone();
        async move {
            let m = tokio::time::timeout(WAIT, app.request(subject, "".into()))
                .await
                .expect("in time")
                .expect("a response");
            serde_json::from_slice::<serde_json::Value>(&m.payload).expect("JSON")
        }
    };
    for subject in ["$SYS.REQ.ACCOUNT.PING.CONNZ", "$SYS.REQ.SERVER.PING.CONNZ"] {
        let v = ask(subject).await;
        assert_eq!(v["data"]["num_connections"], 1, "{subject}: {v}");
        assert_eq!(v["data"]["connections"][0]["name"], "the app");
    }
    let v = ask("$SYS.REQ.ACCOUNT.PING.STATZ").await;
    assert_eq!(v["data"]["account_statz"][0]["acc"], "APP");
    let v = ask("$SYS.REQ.USER.INFO").await;
    assert_eq!(v["data"]["account"], "APP");
}

#[tokio::test]
async fn accounts_added_by_a_reload_get_the_system_imports() {
    let s = server(CONF);
    let mut o = Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    };
    apply_config_string(
        &mut o,
        "accounts { SYS { users [{user: sys, password: sys}] }\n\
                    APP { users [{user: app, password: app}] }\n\
                    NEW { users [{user: new, password: new}] } }\n\
                    system_account: SYS",
    )
    .expect("valid configuration");
    natsd::reload::reload_options(s.shared(), o).expect("reload");
    let new = connect(&s, "new", "newcomer").await;
    let m = tokio::time::timeout(WAIT, new.request("$SYS.REQ.ACCOUNT.PING.CONNZ", "".into()))
        .await
        .expect("in time")
        .expect("a response");
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("JSON");
    assert_eq!(v["data"]["num_connections"], 1, "{v}");
    assert_eq!(v["data"]["connections"][0]["name"], "newcomer");
}
