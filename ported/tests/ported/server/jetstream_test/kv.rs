//! Key-value buckets (nats.go's `KeyValue` on a stream `KV_<bucket>`). The client side of
//! nats.go is written out here: puts are publishes on `$KV.<bucket>.<key>` with
//! Go's headers (`Nats-Expected-Last-Subject-Sequence`, `KV-Operation`, `Nats-Rollup`),
//! watchers and key listings are consumers delivering the last message per subject.

use super::*;
use ported::jetstream::{new_inbox, run_basic_jetstream_server};
use ported::port;
use serde_json::json;

/// A key-value bucket the way nats.go's `CreateKeyValue` makes one (stream `KV_<bucket>`
/// on `$KV.<bucket>.>`, one message per key revision up to `history`).
fn create_key_value(js: &mut JsClient, bucket: &str, history: u64, storage: &str) {
    js.add_stream(json!({
        "name": format!("KV_{bucket}"),
        "subjects": [format!("$KV.{bucket}.>")],
        "max_msgs_per_subject": history,
        "max_bytes": -1, "max_age": 0, "max_msg_size": -1, "max_msgs": -1, "max_consumers": -1,
        "storage": storage, "num_replicas": 1, "discard": "new", "duplicate_window": 120_000_000_000i64,
        "allow_rollup_hdrs": true, "deny_delete": true, "allow_direct": true,
    }))
    .unwrap_or_else(|e| panic!("create bucket {bucket}: {e}"));
}

/// nats.go's `kv.Update(key, value, last)`: a put that expects `last` as the key's last
/// revision; the new revision.
fn kv_update(
    js: &mut JsClient,
    bucket: &str,
    key: &str,
    value: &[u8],
    last: u64,
) -> Result<u64, String> {
    js.publish(
        &format!("$KV.{bucket}.{key}"),
        &[("Nats-Expected-Last-Subject-Sequence", &last.to_string())],
        value,
    )
    .map(|a| a.sequence)
    .map_err(|e| format!("{e:?}"))
}

/// nats.go's `kv.Create(key, value)`: a put that expects no value, or a deleted or purged
/// one (then it updates that revision).
fn kv_create(js: &mut JsClient, bucket: &str, key: &str, value: &[u8]) -> Result<u64, String> {
    match kv_update(js, bucket, key, value, 0) {
        Ok(rev) => Ok(rev),
        Err(first) => {
            let last = js
                .get_last_msg(&format!("KV_{bucket}"), &format!("$KV.{bucket}.{key}"))
                .map_err(|_| first.clone())?;
            match last.header_value("KV-Operation").as_deref() {
                Some("DEL") | Some("PURGE") => kv_update(js, bucket, key, value, last.seq),
                _ => Err(first),
            }
        }
    }
}

/// nats.go's `kv.Put(key, value)`.
fn kv_put(js: &mut JsClient, bucket: &str, key: &str, value: &[u8]) -> u64 {
    js.publish_ok(&format!("$KV.{bucket}.{key}"), value)
        .sequence
}

/// nats.go's `kv.Delete(key)`: a delete marker.
fn kv_delete(js: &mut JsClient, bucket: &str, key: &str) {
    js.publish(
        &format!("$KV.{bucket}.{key}"),
        &[("KV-Operation", "DEL")],
        b"",
    )
    .unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}

/// nats.go's `kv.Purge(key)`: a purge marker that rolls the key's history up.
fn kv_purge(js: &mut JsClient, bucket: &str, key: &str) {
    js.publish(
        &format!("$KV.{bucket}.{key}"),
        &[("KV-Operation", "PURGE"), ("Nats-Rollup", "sub")],
        b"",
    )
    .unwrap_or_else(|e| panic!("purge {key}: {e:?}"));
}

/// The last entry of every key matching `filter` (under the bucket), the way nats.go's
/// watchers and `Keys` start: a push consumer delivering the last message per subject,
/// read until a delivery says nothing more is pending (nats.go's "initial values done").
/// (key, operation) pairs.
fn last_entries(js: &mut JsClient, bucket: &str, filter: &str) -> Vec<(String, String)> {
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    let info = js
        .add_consumer(
            &format!("KV_{bucket}"),
            json!({"deliver_subject": inbox, "deliver_policy": "last_per_subject",
                "ack_policy": "none", "filter_subject": format!("$KV.{bucket}.{filter}"),
                "headers_only": true}),
        )
        .unwrap();
    let prefix = format!("$KV.{bucket}.");
    let mut out = Vec::new();
    if info.num_pending > 0 || info.delivered.stream > 0 {
        loop {
            let m = js
                .conn
                .next_msg(sid, Duration::from_secs(2))
                .expect("an entry");
            let op = m
                .header_value("KV-Operation")
                .unwrap_or_else(|| "PUT".into());
            out.push((m.subject.trim_start_matches(&prefix).to_string(), op));
            if m.ack_info().pending == 0 {
                break;
            }
        }
    }
    js.conn.unsubscribe(sid);
    let _ = js.delete_consumer(&format!("KV_{bucket}"), &info.name);
    out
}

/// nats.go's `kv.Keys()`: the keys whose last entry is a value.
fn kv_keys(js: &mut JsClient, bucket: &str) -> Vec<String> {
    last_entries(js, bucket, ">")
        .into_iter()
        .filter(|(_, op)| op == "PUT")
        .map(|(k, _)| k)
        .collect()
}

/// How many entries nats.go's `kv.History(key)` returns: every message kept on the key.
fn kv_history_len(js: &mut JsClient, bucket: &str, key: &str) -> u64 {
    let subject = format!("$KV.{bucket}.{key}");
    let si = js
        .stream_info(
            &format!("KV_{bucket}"),
            Some(json!({"subjects_filter": subject})),
        )
        .unwrap();
    si["state"]["subjects"][&subject].as_u64().unwrap_or(0)
}

port!("server/jetstream_test.go::TestJetStreamKVDelete" => kv_delete_test);
fn kv_delete_test() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    create_key_value(&mut js, "deletion", 10, "file");
    for key in ["a", "a.a", "a.b", "a.b.c"] {
        kv_put(&mut js, "deletion", key, b"");
    }
    assert_eq!(kv_keys(&mut js, "deletion").len(), 4);

    let info = js
        .add_consumer(
            "KV_deletion",
            json!({"name": "keys", "filter_subject": "$KV.deletion.a.*",
                "deliver_policy": "last_per_subject", "deliver_subject": "keys",
                "max_deliver": 1, "ack_policy": "none", "mem_storage": true,
                "flow_control": true, "idle_heartbeat": 5 * SECOND}),
        )
        .unwrap();
    assert_eq!(info.num_pending, 2);
    let sid = js.conn.subscribe("keys");
    for _ in 0..2 {
        assert!(js.conn.next_msg(sid, Duration::from_secs(1)).is_some());
    }
    assert!(js.conn.next_msg(sid, Duration::from_secs(1)).is_none());

    kv_delete(&mut js, "deletion", "a.a");
    kv_delete(&mut js, "deletion", "a.b");
    let deleted = last_entries(&mut js, "deletion", ">")
        .into_iter()
        .filter(|(_, op)| op == "DEL")
        .count();
    assert_eq!(deleted, 2);
}

port!("server/jetstream_test.go::TestJetStreamDeliverLastPerSubjectWithKV" => deliver_last_per_subject_with_kv);
fn deliver_last_per_subject_with_kv() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "max_msgs_per_subject": 5, "subjects": ["kv.>"]}))
        .unwrap();
    for (subj, msg) in [
        ("kv.a", "bad"),
        ("kv.a", "bad"),
        ("kv.a", "bad"),
        ("kv.a", "a"),
        ("kv.a.b", "bad"),
        ("kv.a.b", "bad"),
        ("kv.a.b", "a.b"),
        ("kv.a.b.c", "bad"),
        ("kv.a.b.c", "bad"),
        ("kv.a.b.c", "bad"),
        ("kv.a.b.c", "a.b.c"),
    ] {
        send_stream_msg(&mut js, subj, msg);
    }
    js.add_consumer(
        "TEST",
        json!({"name": "CONSUMER", "filter_subject": "kv.>",
            "deliver_policy": "last_per_subject", "deliver_subject": "deliver",
            "max_deliver": 1, "ack_policy": "none", "mem_storage": true,
            "flow_control": true, "idle_heartbeat": 5 * SECOND}),
    )
    .unwrap();
    let sid = js.conn.subscribe("deliver");
    for _ in 1..=3 {
        let m = js
            .conn
            .next_msg(sid, Duration::from_secs(1))
            .expect("a message");
        assert_ne!(m.payload, b"bad");
    }
    assert!(
        js.conn.next_msg(sid, Duration::from_secs(1)).is_none(),
        "should not get any more messages"
    );
}

port!("server/jetstream_test.go::TestJetStreamKVHistoryRegression" => kv_history_regression);
fn kv_history_regression() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    for storage in ["file", "memory"] {
        let _ = js.delete_stream("KV_TEST");
        create_key_value(&mut js, "TEST", 4, storage);
        let r1 = kv_create(&mut js, "TEST", "foo", b"a").unwrap();
        kv_update(&mut js, "TEST", "foo", b"ab", r1).unwrap();
        kv_delete(&mut js, "TEST", "foo");
        kv_create(&mut js, "TEST", "foo", b"abc").unwrap();
        kv_delete(&mut js, "TEST", "foo");
        assert_eq!(kv_history_len(&mut js, "TEST", "foo"), 4, "{storage}");
        let last = js.get_last_msg("KV_TEST", "$KV.TEST.foo").unwrap().seq;
        kv_update(&mut js, "TEST", "foo", b"abcd", last).unwrap();
        kv_purge(&mut js, "TEST", "foo");
        kv_create(&mut js, "TEST", "foo", b"abcde").unwrap();
        kv_purge(&mut js, "TEST", "foo");
        assert_eq!(kv_history_len(&mut js, "TEST", "foo"), 1, "{storage}");
    }
}

port!("server/jetstream_test.go::TestJetStreamKVReductionInHistory" => kv_reduction_in_history);
fn kv_reduction_in_history() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let start_history = 4u64;
    create_key_value(&mut js, "TEST", start_history, "file");
    let num_keys = 1000u64;
    let msg = b"ABC".repeat(330); // about 1000 bytes
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    loop {
        // xorshift: a random key in 1..=num_keys, in hex as Go's %X.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let key = format!("{:X}", rng_state % num_keys + 1);
        kv_put(&mut js, "TEST", &key, &msg);
        // The bucket's values (Go's `kv.Status().Values()`).
        if js.stream_state("KV_TEST").msgs >= start_history * num_keys {
            break;
        }
    }
    let store_before = js.account_info().unwrap()["storage"].as_u64().unwrap();

    let check_all_keys = |js: &mut JsClient| {
        let keys = kv_keys(js, "TEST");
        assert_eq!(keys.len() as u64, num_keys);
        for key in keys {
            js.get_last_msg("KV_TEST", &format!("$KV.TEST.{key}"))
                .unwrap_or_else(|e| panic!("get {key}: {e}"));
        }
    };
    check_all_keys(&mut js);

    // History down to 1.
    let si = js.stream_info("KV_TEST", None).unwrap();
    let mut cfg = si["config"].clone();
    cfg["max_msgs_per_subject"] = json!(1);
    js.update_stream(cfg).unwrap();
    // The account's usage follows.
    let store_after = js.account_info().unwrap()["storage"].as_u64().unwrap();
    assert!(
        store_before > store_after,
        "storage {store_before} -> {store_after}"
    );
    check_all_keys(&mut js);
}

port!("server/jetstream_test.go::TestJetStreamStreamSourceFromKV" => stream_source_from_kv);
fn stream_source_from_kv() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    create_key_value(&mut js, "test", 1, "file");
    // An interest stream sourcing the bucket.
    js.add_stream(json!({
        "name": "test", "retention": "interest", "sources": [{"name": "KV_test"}],
    }))
    .unwrap();
    js.add_consumer(
        "test",
        json!({"durable_name": "durable", "ack_policy": "explicit"}),
    )
    .unwrap();
    let mut ss = js.pull_bind("test", "durable");

    let rev1 = kv_create(&mut js, "test", "key", b"value1").unwrap();
    let m = js
        .fetch(&mut ss, 1, std::time::Duration::from_secs(2))
        .unwrap();
    js.ack(&m[0]);
    assert_eq!(m[0].payload, b"value1", "Expected value1");

    let rev2 = kv_update(&mut js, "test", "key", b"value2", rev1).unwrap();
    kv_update(&mut js, "test", "key", b"value3", rev2).unwrap();

    for want in ["value2", "value3"] {
        let m = js
            .fetch(&mut ss, 1, std::time::Duration::from_millis(500))
            .unwrap_or_else(|e| panic!("fetch of {want}: {e:?}"));
        js.ack(&m[0]);
        assert_eq!(m[0].payload, want.as_bytes(), "Expected {want}");
    }
}
