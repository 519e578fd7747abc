//! The JetStream API's answers where Go answers and natsd once stayed silent or lenient:
//! accounts without JetStream are told so (10039) on every verb, and strict mode (Go's
//! default) refuses requests with fields the server does not know.

use natsd::config::file::apply_config_string;
use natsd::config::Options;
use natsd::server::BackgroundServer;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn server(conf: &str) -> (BackgroundServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    };
    let conf = conf.replace("STORE_DIR", &format!("{:?}", dir.path()));
    apply_config_string(&mut o, &conf).expect("valid configuration");
    (BackgroundServer::start(o).expect("start"), dir)
}

async fn connect(s: &BackgroundServer, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .connect(format!("nats://{}", s.addr))
        .await
        .expect("connect")
}

async fn request(nc: &async_nats::Client, subject: &str, body: &str) -> Value {
    let m = tokio::time::timeout(
        WAIT,
        nc.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer on {subject}"))
    .unwrap_or_else(|e| panic!("request on {subject}: {e}"));
    serde_json::from_slice(&m.payload).expect("answer is JSON")
}

const ACCOUNTS: &str = r#"
    jetstream { store_dir: STORE_DIR }
    accounts {
        JS { jetstream: enabled, users [{user: js, password: js}] }
        NOJS { users [{user: nojs, password: nojs}] }
        SYS { users [{user: sys, password: sys}] }
    }
    system_account: SYS
"#;

#[tokio::test]
async fn accounts_without_jetstream_are_told_so_on_every_verb() {
    let (s, _dir) = server(ACCOUNTS);
    let nc = connect(&s, "nojs").await;
    let cases = [
        (
            "$JS.API.INFO",
            "",
            "io.nats.jetstream.api.v1.account_info_response",
        ),
        (
            "$JS.API.STREAM.CREATE.S",
            r#"{"name":"S"}"#,
            "io.nats.jetstream.api.v1.stream_create_response",
        ),
        (
            "$JS.API.STREAM.NAMES",
            "",
            "io.nats.jetstream.api.v1.stream_names_response",
        ),
        (
            "$JS.API.CONSUMER.INFO.S.C",
            "",
            "io.nats.jetstream.api.v1.consumer_info_response",
        ),
    ];
    for (subject, body, kind) in cases {
        let resp = request(&nc, subject, body).await;
        assert_eq!(resp["type"], kind, "{subject}: {resp}");
        assert_eq!(resp["error"]["code"], 503, "{subject}: {resp}");
        assert_eq!(resp["error"]["err_code"], 10039, "{subject}: {resp}");
        assert_eq!(
            resp["error"]["description"], "JetStream not enabled for account",
            "{subject}: {resp}"
        );
    }
    // Without a cluster the leader verbs fail on that first, as in Go.
    let resp = request(&nc, "$JS.API.STREAM.LEADER.STEPDOWN.S", "").await;
    assert_eq!(resp["error"]["err_code"], 10010, "{resp}");

    // The account with JetStream is answered as before.
    let js = connect(&s, "js").await;
    let resp = request(&js, "$JS.API.INFO", "").await;
    assert!(resp.get("error").is_none(), "{resp}");
    // Requests of accounts without JetStream are not counted (as Go's `trackAPIErr`).
    let js_state = s.shared().jetstream().expect("jetstream");
    let total = js_state
        .api_total
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(total, 1);
}

#[tokio::test]
async fn the_system_account_is_told_jetstream_is_not_enabled() {
    let (s, _dir) = server(ACCOUNTS);
    let nc = connect(&s, "sys").await;
    let resp = request(&nc, "$JS.API.INFO", "").await;
    assert_eq!(
        resp["type"], "io.nats.jetstream.api.v1.account_info_response",
        "{resp}"
    );
    assert_eq!(resp["error"]["err_code"], 10039, "{resp}");
    let resp = request(&nc, "$JS.API.STREAM.NAMES", "").await;
    assert_eq!(
        resp["type"], "io.nats.jetstream.api.v1.system_response",
        "{resp}"
    );
    assert_eq!(resp["error"]["err_code"], 10039, "{resp}");
}

#[tokio::test]
async fn strict_mode_refuses_unknown_fields_and_can_be_turned_off() {
    let body = r#"{"name":"S","subjects":["s.>"],"extra_field":"unexpected"}"#;
    let (strict, _dir) = server("jetstream { store_dir: STORE_DIR }\nno_auth_user: u\nauthorization { users [{user: u, password: u}] }");
    let nc = connect(&strict, "u").await;
    let resp = request(&nc, "$JS.API.STREAM.CREATE.S", body).await;
    assert_eq!(resp["error"]["err_code"], 10025, "{resp}");
    assert_eq!(
        resp["error"]["description"], "invalid JSON: json: unknown field \"extra_field\"",
        "{resp}"
    );
    // A request with only known fields passes.
    let resp = request(
        &nc,
        "$JS.API.STREAM.CREATE.S",
        r#"{"name":"S","subjects":["s.>"]}"#,
    )
    .await;
    assert!(resp.get("error").is_none(), "{resp}");

    let (lenient, _dir2) = server(
        "jetstream { strict: false, store_dir: STORE_DIR }\nauthorization { users [{user: u, password: u}] }",
    );
    let nc = connect(&lenient, "u").await;
    let resp = request(&nc, "$JS.API.STREAM.CREATE.S", body).await;
    assert!(resp.get("error").is_none(), "{resp}");
}
