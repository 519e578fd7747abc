//! End-to-end checks of the stream API's versioning: the `Nats-Required-Api-Level` header
//! on every stream verb, and the `_nats.*` metadata in requests, responses and on disk.

use async_nats::header::HeaderMap;
use natsd::server::BackgroundServer;
use serde_json::{json, Value};

mod common;
use common::jetstream_options as opts;

async fn connect(s: &BackgroundServer) -> async_nats::Client {
    async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect")
}

/// A request with an optional `Nats-Required-Api-Level`; the JSON answer.
async fn api(nc: &async_nats::Client, subject: &str, level: Option<&str>, body: Value) -> Value {
    let payload = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let msg = match level {
        Some(level) => {
            let mut h = HeaderMap::new();
            h.insert("Nats-Required-Api-Level", level);
            nc.request_with_headers(subject.to_string(), h, payload.into())
                .await
        }
        None => nc.request(subject.to_string(), payload.into()).await,
    }
    .unwrap_or_else(|e| panic!("request on {subject}: {e}"));
    serde_json::from_slice(&msg.payload).expect("JSON answer")
}

fn metadata(info: &Value) -> Value {
    info["config"]["metadata"].clone()
}

#[tokio::test]
async fn every_stream_verb_refuses_a_required_api_level_above_ours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = connect(&s).await;
    let cfg = json!({"name": "T", "subjects": ["t"]});
    let created = api(&nc, "$JS.API.STREAM.CREATE.T", None, cfg.clone()).await;
    assert!(created["error"].is_null(), "{created}");
    let verbs = [
        ("$JS.API.INFO", Value::Null),
        ("$JS.API.STREAM.CREATE.T", cfg.clone()),
        ("$JS.API.STREAM.UPDATE.T", cfg.clone()),
        ("$JS.API.STREAM.DELETE.T", Value::Null),
        ("$JS.API.STREAM.INFO.T", Value::Null),
        ("$JS.API.STREAM.NAMES", Value::Null),
        ("$JS.API.STREAM.LIST", Value::Null),
        ("$JS.API.STREAM.PURGE.T", Value::Null),
        ("$JS.API.STREAM.MSG.DELETE.T", json!({"seq": 1})),
        ("$JS.API.STREAM.MSG.GET.T", json!({"seq": 1})),
    ];
    // Above ours, and not a number at all.
    for level in [i64::MAX.to_string(), "5".to_string(), "later".to_string()] {
        for (subject, body) in &verbs {
            let resp = api(&nc, subject, Some(&level), body.clone()).await;
            assert_eq!(resp["error"]["err_code"], json!(10185), "{subject}: {resp}");
            assert_eq!(resp["error"]["code"], json!(412), "{subject}: {resp}");
        }
    }
    // The refused delete did nothing; our own level (and an empty header) is accepted.
    for level in ["4", "0", ""] {
        let info = api(&nc, "$JS.API.STREAM.INFO.T", Some(level), Value::Null).await;
        assert!(info["error"].is_null(), "level {level:?}: {info}");
    }
}

#[tokio::test]
async fn versioning_metadata_is_static_on_disk_and_dynamic_in_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = connect(&s).await;
    let version = natsd::VERSION;
    // The client's own versioning keys are not kept; the required level is ours to set.
    let si = api(
        &nc,
        "$JS.API.STREAM.CREATE.T",
        None,
        json!({"name": "T", "subjects": ["t"], "allow_msg_ttl": true, "metadata": {
            "_nats.req.level": "9", "_nats.ver": "0.0.1", "_nats.level": "0", "mine": "x"
        }}),
    )
    .await;
    let answered = json!({
        "_nats.req.level": "1", "_nats.ver": version, "_nats.level": "4", "mine": "x"
    });
    assert_eq!(metadata(&si), answered, "{si}");
    let kept = json!({"_nats.req.level": "1", "mine": "x"});
    let info = api(&nc, "$JS.API.STREAM.INFO.T", None, Value::Null).await;
    assert_eq!(metadata(&info), answered);
    // Go lists the configurations as kept.
    let list = api(&nc, "$JS.API.STREAM.LIST", None, Value::Null).await;
    assert_eq!(metadata(&list["streams"][0]), kept, "{list}");
    let meta_inf = dir.path().join("jetstream/$G/streams/T/meta.inf");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(&meta_inf).expect("meta.inf")).expect("JSON");
    assert_eq!(on_disk["metadata"], kept);

    // A repeat of the create answers the stream, whatever versioning keys it carries.
    let again = api(
        &nc,
        "$JS.API.STREAM.CREATE.T",
        None,
        json!({"name": "T", "subjects": ["t"], "allow_msg_ttl": true, "metadata": {
            "_nats.ver": "0.0.1", "mine": "x"
        }}),
    )
    .await;
    assert!(again["error"].is_null(), "{again}");
    assert_eq!(metadata(&again), answered);

    // Kept across a restart.
    s.shutdown();
    let s = BackgroundServer::start(opts(dir.path())).expect("restart");
    let nc = connect(&s).await;
    let info = api(&nc, "$JS.API.STREAM.INFO.T", None, Value::Null).await;
    assert_eq!(metadata(&info), answered, "{info}");

    // An update sets the level the new configuration needs.
    let si = api(
        &nc,
        "$JS.API.STREAM.UPDATE.T",
        None,
        json!({"name": "T", "subjects": ["t"], "allow_msg_ttl": true,
               "allow_msg_schedules": false, "description": "d"}),
    )
    .await;
    assert_eq!(
        metadata(&si),
        json!({"_nats.req.level": "1", "_nats.ver": version, "_nats.level": "4"}),
        "{si}"
    );
}

#[tokio::test]
async fn a_stream_of_more_than_one_replica_is_refused_as_go_refuses_it_without_a_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = connect(&s).await;
    let resp = api(
        &nc,
        "$JS.API.STREAM.CREATE.R3",
        None,
        json!({"name": "R3", "subjects": ["r3"], "num_replicas": 3}),
    )
    .await;
    assert_eq!(resp["error"]["err_code"], json!(10074), "{resp}");
    assert_eq!(
        resp["error"]["description"],
        json!("replicas > 1 not supported in non-clustered mode")
    );
}
