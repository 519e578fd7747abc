//! Subject delete markers (`subject_delete_marker_ttl`): when age or a TTL removes the last
//! message of a subject the stream stores a marker in its place (`Nats-Marker-Reason:
//! MaxAge`, `Nats-TTL` of the marker TTL); and per-message TTLs on sourced and mirrored
//! streams. Go sleeps past an expiry and then looks; these ports poll until the state is
//! reached (never accepting an earlier one), then check all of it.

use super::*;
use ported::jetstream::consumers::PullSub;
use ported::jetstream::{check_for, run_basic_jetstream_server, JsServer, StreamState};
use ported::port;
use serde_json::json;
use std::time::Instant;

/// Go's `StorageType`s as the table tests run them: (name, JSON value).
const STORAGE_KINDS: [&str; 2] = ["file", "memory"];

/// Polls (up to `within`) until stream `name`'s state satisfies `done`; that state.
#[track_caller]
fn wait_for_state(
    js: &mut JsClient,
    name: &str,
    within: Duration,
    done: impl Fn(&StreamState) -> bool,
) -> StreamState {
    let mut last = StreamState::default();
    check_for(within, Duration::from_millis(50), || {
        last = js.stream_state(name);
        if done(&last) {
            Ok(())
        } else {
            Err(format!("stream {name} state {last:?}"))
        }
    });
    last
}

/// The stream `name` of the global account, inside the server.
fn stream_of(s: &JsServer, name: &str) -> std::sync::Arc<natsd::jetstream::stream::Stream> {
    s.shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream(name))
        .unwrap_or_else(|| panic!("stream {name}"))
}

/// A direct get (`$JS.API.DIRECT.GET.<stream>`) as nats.go's `GetLastMsg(...,
/// nats.DirectGet())` or the new API's `GetMsg` on a direct stream send it: the message,
/// or `None` when the server answers 404 (`ErrMsgNotFound`).
fn direct_get(js: &mut JsClient, stream: &str, request: Value) -> Option<NatsMsg> {
    let body = serde_json::to_vec(&request).unwrap();
    let m = js
        .conn
        .request(
            &format!("$JS.API.DIRECT.GET.{stream}"),
            &[],
            &body,
            ACK_WAIT,
        )
        .unwrap_or_else(|e| panic!("direct get {request} not answered: {e:?}"));
    match m.status() {
        Some(404) => None,
        None => Some(m),
        Some(other) => panic!("direct get {request}: status {other}: {:?}", m.header),
    }
}

/// A durable pull consumer on `stream` as nats.go's `js.PullSubscribe(subject, durable,
/// nats.BindStream(stream))` creates it.
fn pull_on_stream(js: &mut JsClient, stream: &str, subject: &str, durable: &str) -> PullSub {
    js.add_consumer(
        stream,
        json!({
            "durable_name": durable, "filter_subject": subject, "deliver_policy": "all",
            "ack_policy": "explicit", "replay_policy": "instant",
        }),
    )
    .unwrap();
    js.pull_bind(stream, durable)
}

port!("server/jetstream_test.go::TestJetStreamSubjectDeleteMarkers" => subject_delete_markers);
fn subject_delete_markers() {
    for storage in STORAGE_KINDS {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "storage": storage, "subjects": ["test"],
            "max_age": SECOND, "allow_msg_ttl": true, "subject_delete_marker_ttl": SECOND,
        }))
        .unwrap();
        let sub = js.subscribe_sync("test", json!({})).unwrap();
        for _ in 0..3 {
            js.publish_ok("test", b"");
        }
        for _ in 0..3 {
            let m = js
                .next_msg(&sub, Duration::from_secs(1))
                .unwrap_or_else(|| panic!("{storage}: message not delivered"));
            js.ack_sync(&m);
        }
        let m = js
            .next_msg(&sub, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{storage}: no delete marker"));
        assert_eq!(
            m.header_value("Nats-Marker-Reason").as_deref(),
            Some("MaxAge")
        );
        assert_eq!(
            m.header_value("Nats-TTL").as_deref(),
            Some("1s"),
            "{storage}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamSubjectDeleteMarkersAfterRestart" => subject_delete_markers_after_restart);
fn subject_delete_markers_after_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "storage": "file", "subjects": ["test"],
        "max_age": SECOND, "allow_msg_ttl": true, "subject_delete_marker_ttl": SECOND,
    }))
    .unwrap();
    js.add_consumer(
        "TEST",
        json!({"name": "test_consumer", "ack_policy": "explicit"}),
    )
    .unwrap();
    for _ in 0..3 {
        js.publish_ok("test", b"");
    }
    drop(js);
    s.restart();

    let mut js = s.client();
    let mut sub = js.pull_bind("TEST", "test_consumer");
    for _ in 0..3 {
        let msgs = js.fetch(&mut sub, 1, Duration::from_secs(5)).unwrap();
        assert_eq!(msgs.len(), 1);
        js.ack_sync(&msgs[0]);
    }
    let msgs = js.fetch(&mut sub, 1, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].header_value("Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    assert_eq!(msgs[0].header_value("Nats-TTL").as_deref(), Some("1s"));
}

port!("server/jetstream_test.go::TestJetStreamSubjectDeleteMarkersTTLRollupWithMaxAge" => subject_delete_markers_ttl_rollup_with_max_age);
fn subject_delete_markers_ttl_rollup_with_max_age() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "storage": "file", "subjects": ["test"], "max_age": SECOND,
        "allow_msg_ttl": true, "allow_rollup_hdrs": true, "subject_delete_marker_ttl": SECOND,
    }))
    .unwrap();
    let sub = js.subscribe_sync("test", json!({})).unwrap();
    for _ in 0..3 {
        js.publish_ok("test", b"");
    }
    for _ in 0..3 {
        let m = js.next_msg(&sub, Duration::from_secs(1)).unwrap();
        js.ack_sync(&m);
    }
    // Max age gets here before the TTL.
    js.publish("test", &[("Nats-TTL", "2s"), ("Nats-Rollup", "sub")], b"")
        .unwrap();

    // Only the rollup message is left.
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq), (1, 4));

    let m = js.next_msg(&sub, Duration::from_secs(10)).unwrap();
    assert_eq!(m.header_value("Nats-Rollup").as_deref(), Some("sub"));
    assert_eq!(m.header_value("Nats-TTL").as_deref(), Some("2s"));
    let stored_at = m.ack_info().timestamp;
    js.ack_sync(&m);

    let m = js.next_msg(&sub, Duration::from_secs(10)).unwrap();
    let since = ported::jetstream::now_nanos() - i128::from(stored_at);
    assert!(
        since > i128::from(SECOND),
        "marker came {since} ns after the message"
    );
    assert_eq!(
        m.header_value("Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    assert_eq!(m.header_value("Nats-TTL").as_deref(), Some("1s"));
}

port!("server/jetstream_test.go::TestJetStreamSubjectDeleteMarkersTTLRollupWithoutMaxAge" => subject_delete_markers_ttl_rollup_without_max_age);
fn subject_delete_markers_ttl_rollup_without_max_age() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "storage": "file", "subjects": ["test"], "allow_msg_ttl": true,
        "allow_rollup_hdrs": true, "subject_delete_marker_ttl": SECOND,
    }))
    .unwrap();
    let sub = js.subscribe_sync("test", json!({})).unwrap();
    for _ in 0..3 {
        js.publish_ok("test", b"");
    }
    for _ in 0..3 {
        let m = js.next_msg(&sub, Duration::from_secs(1)).unwrap();
        js.ack_sync(&m);
    }
    js.publish("test", &[("Nats-TTL", "1s"), ("Nats-Rollup", "sub")], b"")
        .unwrap();

    // Only the rollup message is left.
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq), (1, 4));

    let m = js.next_msg(&sub, Duration::from_secs(10)).unwrap();
    assert_eq!(m.header_value("Nats-Rollup").as_deref(), Some("sub"));
    assert_eq!(m.header_value("Nats-TTL").as_deref(), Some("1s"));
    js.ack_sync(&m);

    // Its TTL replaces it with a delete marker (sequence 5), whose own TTL removes it.
    let st = wait_for_state(&mut js, "TEST", Duration::from_secs(5), |st| st.msgs == 0);
    assert_eq!((st.msgs, st.first_seq), (0, 6));
}

port!("server/jetstream_test.go::TestJetStreamSubjectDeleteMarkersWithMirror" => subject_delete_markers_with_mirror);
fn subject_delete_markers_with_mirror() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "Origin", "storage": "file", "subjects": ["test"], "max_age": SECOND,
    }))
    .unwrap();
    let r = js.add_stream(json!({
        "name": "Mirror", "storage": "file", "allow_msg_ttl": true,
        "subject_delete_marker_ttl": SECOND, "mirror": {"name": "Origin"},
    }));
    assert!(
        r.is_err(),
        "a mirror with delete markers was created: {r:?}"
    );
}

port!("server/jetstream_test.go::TestJetStreamDirectGetSubjectDeleteMarker" => direct_get_subject_delete_marker);
fn direct_get_subject_delete_marker() {
    for storage in STORAGE_KINDS {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["test"], "storage": storage,
            "subject_delete_marker_ttl": SECOND, "allow_msg_ttl": true, "allow_direct": true,
        }))
        .unwrap();
        js.publish("test", &[("Nats-TTL", "1s")], b"").unwrap();
        let last = json!({"last_by_subj": "test"});
        let first = direct_get(&mut js, "TEST", last.clone()).unwrap();
        assert_eq!(first.header_value("Nats-Sequence").as_deref(), Some("1"));

        // Once the TTL passed, the last message is the marker.
        let mut seq = None;
        check_for(Duration::from_secs(3), Duration::from_millis(50), || {
            seq = direct_get(&mut js, "TEST", last.clone())
                .and_then(|m| m.header_value("Nats-Sequence"));
            if seq.as_deref() == Some("1") {
                Err("still the first message".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(seq.as_deref(), Some("2"), "{storage}");
    }
}

port!("server/jetstream_test.go::TestJetStreamKVNoSubjectDeleteMarkerOnPurgeMarker" => kv_no_subject_delete_marker_on_purge_marker);
fn kv_no_subject_delete_marker_on_purge_marker() {
    for storage in STORAGE_KINDS {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        // The new API's CreateKeyValue: history 1, TTL 2s, limit marker TTL 1m.
        js.add_stream(json!({
            "name": "KV_bucket", "subjects": ["$KV.bucket.>"], "storage": storage,
            "max_msgs_per_subject": 1, "max_bytes": -1, "max_age": 2 * SECOND,
            "max_msg_size": -1, "max_msgs": -1, "max_consumers": -1,
            "allow_rollup_hdrs": true, "deny_delete": true, "allow_direct": true,
            "discard": "new", "duplicate_window": 2 * SECOND, "num_replicas": 1,
            "subject_delete_marker_ttl": 60 * SECOND, "allow_msg_ttl": true,
        }))
        .unwrap();
        let get = |js: &mut JsClient, seq: u64| direct_get(js, "KV_bucket", json!({"seq": seq}));

        // A purge that the bucket's max age removes.
        js.publish(
            "$KV.bucket.key",
            &[("KV-Operation", "PURGE"), ("Nats-Rollup", "sub")],
            b"",
        )
        .unwrap();
        let rsm = get(&mut js, 1).unwrap();
        assert_eq!(rsm.header_value("KV-Operation").as_deref(), Some("PURGE"));
        let purged_at = Instant::now();
        check_for(
            Duration::from_secs(5),
            Duration::from_millis(50),
            || match get(&mut js, 1) {
                Some(_) => Err("purge marker still there".into()),
                None => Ok(()),
            },
        );
        // No redundant subject delete marker, not even a little later.
        std::thread::sleep(Duration::from_millis(2500).saturating_sub(purged_at.elapsed()));
        assert!(get(&mut js, 2).is_none(), "{storage}: a marker was stored");
        assert_eq!(js.stream_state("KV_bucket").last_seq, 1);

        // A purge with its own TTL.
        js.publish(
            "$KV.bucket.key",
            &[
                ("KV-Operation", "PURGE"),
                ("Nats-Rollup", "sub"),
                ("Nats-TTL", "1s"),
            ],
            b"",
        )
        .unwrap();
        let rsm = get(&mut js, 2).unwrap();
        assert_eq!(rsm.header_value("KV-Operation").as_deref(), Some("PURGE"));
        let purged_at = Instant::now();
        check_for(
            Duration::from_secs(4),
            Duration::from_millis(50),
            || match get(&mut js, 2) {
                Some(_) => Err("purge marker still there".into()),
                None => Ok(()),
            },
        );
        std::thread::sleep(Duration::from_millis(1500).saturating_sub(purged_at.elapsed()));
        assert!(get(&mut js, 3).is_none(), "{storage}: a marker was stored");
        assert_eq!(js.stream_state("KV_bucket").last_seq, 2);
    }
}

port!("server/jetstream_test.go::TestJetStreamRemoveTTLOnRemoveMsg" => remove_ttl_on_remove_msg);
fn remove_ttl_on_remove_msg() {
    for storage in STORAGE_KINDS {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": storage, "allow_msg_ttl": true,
        }))
        .unwrap();
        // nats.go's MsgTTL(time.Hour).
        js.publish("foo", &[("Nats-TTL", "1h0m0s")], b"").unwrap();
        let mset = stream_of(&s, "TEST");
        let ttl_count = || match &mset.store {
            natsd::jetstream::stream::StreamStore::File(fs) => fs.ttl_count(),
            natsd::jetstream::stream::StreamStore::Memory(ms) => ms.ttl_count(),
        };
        assert_eq!(ttl_count(), 1, "{storage}");
        js.delete_msg("TEST", 1).unwrap();
        assert_eq!(ttl_count(), 0, "{storage}");
    }
}

/// Go's TestJetStreamMessageTTLWhenSourcing and ...WhenMirroring: an origin with TTLs,
/// copied (`copy` is the `sources` or `mirror` config) by a stream with TTLs and one
/// without; the copies keep the header, only the stream with TTLs expires them, and the
/// other does once TTLs are turned on.
fn message_ttl_when_copied(copy: impl Fn() -> (&'static str, Value)) {
    for storage in STORAGE_KINDS {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "Origin", "storage": storage, "subjects": ["test"], "allow_msg_ttl": true,
        }))
        .unwrap();
        let (key, origin) = copy();
        let mut enabled = json!({"name": "TTLEnabled", "storage": storage, "allow_msg_ttl": true});
        enabled[key] = origin.clone();
        js.add_stream(enabled).unwrap();
        let mut disabled =
            json!({"name": "TTLDisabled", "storage": storage, "allow_msg_ttl": false});
        disabled[key] = origin;
        js.add_stream(disabled.clone()).unwrap();

        js.publish("test", &[("Nats-TTL", "1s")], b"").unwrap();
        let published = Instant::now();

        for stream in ["TTLEnabled", "TTLDisabled"] {
            let mut sc = pull_on_stream(&mut js, stream, "test", "consumer");
            let msgs = js.fetch(&mut sc, 1, Duration::from_secs(5)).unwrap();
            assert_eq!(msgs.len(), 1, "{storage} {stream}");
            assert_eq!(msgs[0].header_value("Nats-TTL").as_deref(), Some("1s"));

            if stream != "TTLDisabled" {
                let st = wait_for_state(&mut js, stream, Duration::from_secs(3), |st| st.msgs == 0);
                assert_eq!(st.msgs, 0, "{storage} {stream}");
                continue;
            }
            // Well past its TTL, and still there.
            std::thread::sleep(Duration::from_millis(1500).saturating_sub(published.elapsed()));
            assert_eq!(js.stream_state(stream).msgs, 1, "{storage} {stream}");

            disabled["allow_msg_ttl"] = json!(true);
            js.update_stream(disabled.clone()).unwrap();
            assert_eq!(js.stream_state(stream).msgs, 0, "{storage} {stream}");
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLWhenSourcing" => message_ttl_when_sourcing);
fn message_ttl_when_sourcing() {
    message_ttl_when_copied(|| ("sources", json!([{"name": "Origin"}])));
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLWhenMirroring" => message_ttl_when_mirroring);
fn message_ttl_when_mirroring() {
    message_ttl_when_copied(|| ("mirror", json!({"name": "Origin"})));
}
