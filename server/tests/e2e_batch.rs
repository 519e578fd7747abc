//! End-to-end atomic batch publish (ADR-50) with the real async-nats client: its plain
//! header API carries `Nats-Batch-Id`, `Nats-Batch-Sequence` and `Nats-Batch-Commit`;
//! the stream is created through the raw API (the client's stream config has no
//! `allow_atomic`).

use async_nats::HeaderMap;
use futures::StreamExt;
use natsd::server::BackgroundServer;
use std::time::Duration;

mod common;
use common::jetstream_options as opts;

fn batch_headers(id: &str, seq: u64, commit: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("Nats-Batch-Id", id);
    h.insert("Nats-Batch-Sequence", seq.to_string().as_str());
    if let Some(c) = commit {
        h.insert("Nats-Batch-Commit", c);
    }
    h
}

async fn create_stream(nc: &async_nats::Client, storage: &str) {
    let cfg = serde_json::json!({
        "name": "BATCH", "subjects": ["batch.>"], "storage": storage, "allow_atomic": true,
    });
    let resp = nc
        .request("$JS.API.STREAM.CREATE.BATCH", cfg.to_string().into())
        .await
        .expect("create");
    let v: serde_json::Value = serde_json::from_slice(&resp.payload).expect("json");
    assert!(v.get("error").is_none(), "create: {v}");
}

async fn stream_msgs(nc: &async_nats::Client) -> u64 {
    let resp = nc
        .request("$JS.API.STREAM.INFO.BATCH", "".into())
        .await
        .expect("info");
    let v: serde_json::Value = serde_json::from_slice(&resp.payload).expect("json");
    v["state"]["messages"].as_u64().expect("messages")
}

#[tokio::test]
async fn a_batch_is_stored_whole_on_its_commit() {
    for storage in ["file", "memory"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = BackgroundServer::start(opts(dir.path())).expect("start");
        let nc = async_nats::connect(format!("nats://{}", s.addr))
            .await
            .expect("connect");
        create_stream(&nc, storage).await;

        // Staged messages are answered with an empty message and not stored yet.
        let resp = nc
            .request_with_headers("batch.a", batch_headers("b1", 1, None), "one".into())
            .await
            .expect("stage");
        assert!(resp.payload.is_empty(), "{storage}");
        nc.publish_with_headers("batch.b", batch_headers("b1", 2, None), "two".into())
            .await
            .expect("publish");
        nc.flush().await.expect("flush");
        assert_eq!(stream_msgs(&nc).await, 0, "{storage}");

        let resp = nc
            .request_with_headers("batch.c", batch_headers("b1", 3, Some("1")), "three".into())
            .await
            .expect("commit");
        let ack: serde_json::Value = serde_json::from_slice(&resp.payload).expect("ack");
        assert_eq!(
            ack,
            serde_json::json!({"stream": "BATCH", "seq": 3, "batch": "b1", "count": 3}),
            "{storage}"
        );
        assert_eq!(stream_msgs(&nc).await, 3, "{storage}");

        // A batch that breaks a check stores nothing: a repeated message id.
        let mut h = batch_headers("b2", 1, None);
        h.insert("Nats-Msg-Id", "same");
        nc.publish_with_headers("batch.a", h, "".into())
            .await
            .expect("publish");
        let mut h = batch_headers("b2", 2, Some("1"));
        h.insert("Nats-Msg-Id", "same");
        let resp = nc
            .request_with_headers("batch.a", h, "".into())
            .await
            .expect("commit");
        let ack: serde_json::Value = serde_json::from_slice(&resp.payload).expect("ack");
        assert_eq!(ack["error"]["err_code"], 10201, "{storage}: {ack}");
        assert_eq!(stream_msgs(&nc).await, 3, "{storage}");
        // Nothing is left staged on disk.
        let stream_dir = dir.path().join("jetstream/$G/streams/BATCH");
        assert_eq!(stream_dir.is_dir(), storage == "file");
        let left = std::fs::read_dir(stream_dir.join("batches"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(left, 0, "{storage}");
    }
}

#[tokio::test]
async fn an_idle_batch_is_abandoned_after_the_batch_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    o.jetstream_limits.max_batch_timeout = Duration::from_millis(200);
    let s = BackgroundServer::start(o).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    create_stream(&nc, "file").await;
    let mut advisories = nc
        .subscribe("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.BATCH")
        .await
        .expect("subscribe");
    nc.flush().await.expect("flush");

    let resp = nc
        .request_with_headers("batch.a", batch_headers("idle", 1, None), "".into())
        .await
        .expect("stage");
    assert!(resp.payload.is_empty());
    let staged = dir.path().join("jetstream/$G/streams/BATCH/batches");
    assert_eq!(std::fs::read_dir(&staged).expect("staging dir").count(), 1);

    // No message for the timeout: the batch is given up without another publish.
    let adv = tokio::time::timeout(Duration::from_secs(5), advisories.next())
        .await
        .expect("an abandoned advisory")
        .expect("subscription open");
    let v: serde_json::Value = serde_json::from_slice(&adv.payload).expect("json");
    assert_eq!(
        v["type"],
        "io.nats.jetstream.advisory.v1.stream_batch_abandoned"
    );
    assert_eq!(v["stream"], "BATCH");
    assert_eq!(v["batch"], "idle");
    assert_eq!(v["reason"], "timeout");
    assert_eq!(std::fs::read_dir(&staged).expect("staging dir").count(), 0);

    let resp = nc
        .request_with_headers("batch.a", batch_headers("idle", 2, Some("1")), "".into())
        .await
        .expect("commit");
    let ack: serde_json::Value = serde_json::from_slice(&resp.payload).expect("ack");
    assert_eq!(ack["error"]["err_code"], 10176, "{ack}");
    assert_eq!(stream_msgs(&nc).await, 0);
}

#[tokio::test]
async fn a_batch_past_the_storage_budget_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    o.jetstream_max_memory = 4096;
    o.jetstream_max_memory_set = true;
    let s = BackgroundServer::start(o).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    create_stream(&nc, "memory").await;

    // Each message fits on its own; the three together do not.
    let payload = vec![b'x'; 1500];
    for seq in 1..=2 {
        nc.publish_with_headers(
            "batch.a",
            batch_headers("big", seq, None),
            payload.clone().into(),
        )
        .await
        .expect("publish");
    }
    let resp = nc
        .request_with_headers(
            "batch.a",
            batch_headers("big", 3, Some("1")),
            payload.clone().into(),
        )
        .await
        .expect("commit");
    let ack: serde_json::Value = serde_json::from_slice(&resp.payload).expect("ack");
    assert_eq!(ack["error"]["err_code"], 10023, "{ack}");
    assert_eq!(stream_msgs(&nc).await, 0);
}

#[tokio::test]
async fn a_committed_batch_is_republished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    let cfg = serde_json::json!({
        "name": "BATCH", "subjects": ["batch.>"], "allow_atomic": true,
        "republish": {"src": "batch.>", "dest": "rp.>"},
    });
    let resp = nc
        .request("$JS.API.STREAM.CREATE.BATCH", cfg.to_string().into())
        .await
        .expect("create");
    let v: serde_json::Value = serde_json::from_slice(&resp.payload).expect("json");
    assert!(v.get("error").is_none(), "create: {v}");
    let mut republished = nc.subscribe("rp.>").await.expect("subscribe");
    nc.flush().await.expect("flush");

    nc.publish_with_headers("batch.a", batch_headers("r", 1, None), "one".into())
        .await
        .expect("publish");
    let resp = nc
        .request_with_headers("batch.b", batch_headers("r", 2, Some("1")), "two".into())
        .await
        .expect("commit");
    let ack: serde_json::Value = serde_json::from_slice(&resp.payload).expect("ack");
    assert_eq!(ack["count"], 2, "{ack}");
    for (subject, payload) in [("rp.a", "one"), ("rp.b", "two")] {
        let m = tokio::time::timeout(Duration::from_secs(5), republished.next())
            .await
            .expect("a republished message")
            .expect("subscription open");
        assert_eq!(m.subject.as_str(), subject);
        assert_eq!(&m.payload[..], payload.as_bytes());
    }
}
