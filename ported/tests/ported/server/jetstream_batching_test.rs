//! Ports of `server/jetstream_batching_test.go` that run on one server: atomic batch
//! publish (`Nats-Batch-Id`, `Nats-Batch-Sequence`, `Nats-Batch-Commit`) through the
//! NATS protocol. Where Go reads the stream's batches (`mset.batches`) these ports ask
//! `Stream::open_batches`; where Go builds a staged batch by hand to simulate a crash
//! half way through a commit, they use `natsd::jetstream::batch::DiskStage`, the same
//! staging store the server writes. The cluster tests, the fast batch tests and the
//! ones that call Go's clustered staging function directly are not ported.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use natsd::client::header::gen_header;
use natsd::events::internal::InMsg;
use natsd::jetstream::batch::{self, DiskStage, StagedMsg};
use natsd::jetstream::stream::Stream;
use ported::jetstream::{
    run_basic_jetstream_server, run_jetstream_server, server_error_text, JsClient, JsServer,
    NatsMsg,
};
use ported::port;
use ported::support::default_test_options;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const BATCH_ID: &str = "Nats-Batch-Id";
const BATCH_SEQ: &str = "Nats-Batch-Sequence";
const BATCH_COMMIT: &str = "Nats-Batch-Commit";

/// The headers of batch message `seq` of batch `id`, with a commit value when given.
fn batch_headers(id: &str, seq: u64, commit: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        (BATCH_ID.to_string(), id.to_string()),
        (BATCH_SEQ.to_string(), seq.to_string()),
    ];
    if let Some(c) = commit {
        h.push((BATCH_COMMIT.to_string(), c.to_string()));
    }
    h
}

fn as_refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// nats.go's `nc.PublishMsg`.
fn publish(js: &mut JsClient, subject: &str, headers: &[(String, String)]) {
    js.conn.publish_msg(subject, "", &as_refs(headers), b"");
}

/// nats.go's `nc.RequestMsg` with a one second timeout.
fn request(js: &mut JsClient, subject: &str, headers: &[(String, String)]) -> NatsMsg {
    js.conn
        .request(subject, &as_refs(headers), b"", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("request on {subject}: {e:?}"))
}

/// The answer to a commit, as JSON (Go's `JSPubAckResponse`).
fn pub_ack(m: &NatsMsg) -> Value {
    serde_json::from_slice(&m.payload).unwrap_or_else(|e| {
        panic!(
            "publish answer is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&m.payload)
        )
    })
}

/// Go's `require_Error(t, pubAck.Error, expected)`: the error's text.
#[track_caller]
fn require_pub_error(ack: &Value, description: &str, err_code: u16) {
    let e = &ack["error"];
    assert!(e.is_object(), "expected an error, got {ack}");
    let text = server_error_text(
        e["description"].as_str().unwrap(),
        e["err_code"].as_u64().unwrap() as u16,
    );
    assert_eq!(text, server_error_text(description, err_code), "{ack}");
}

#[track_caller]
fn require_no_pub_error(ack: &Value) {
    assert!(ack.get("error").is_none(), "unexpected error in {ack}");
}

fn stream(s: &JsServer, name: &str) -> Arc<Stream> {
    s.shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream(name))
        .unwrap_or_else(|| panic!("stream {name}"))
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishCommitEobMaxBatchSize" => atomic_batch_publish_commit_eob_max_batch_size);
fn atomic_batch_publish_commit_eob_max_batch_size() {
    // Go lowers its default maximum to 3; the server's batch limit takes precedence
    // over that default in Go too.
    const MAX: u64 = 3;
    let mut opts = default_test_options();
    opts.jetstream_limits.max_batch_size = MAX as i64;
    let s = run_jetstream_server(opts);
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file",
        "retention": "limits", "num_replicas": 1, "allow_atomic": true,
    }))
    .unwrap();

    // A batch of exactly the maximum size, committed by an end-of-batch marker (which
    // is not part of the batch), is accepted.
    for seq in 1..=MAX {
        publish(&mut js, "foo", &batch_headers("uuid", seq, None));
    }
    let ack = pub_ack(&request(
        &mut js,
        "foo",
        &batch_headers("uuid", MAX + 1, Some("eob")),
    ));
    require_no_pub_error(&ack);
    assert_eq!(ack["count"], json!(MAX), "{ack}");

    // One more message is too large, end-of-batch marker or not.
    for seq in 1..=MAX + 1 {
        publish(&mut js, "foo", &batch_headers("uuid2", seq, None));
    }
    let ack = pub_ack(&request(
        &mut js,
        "foo",
        &batch_headers("uuid2", MAX + 2, Some("eob")),
    ));
    require_pub_error(&ack, "atomic publish batch is too large: 3", 10199);

    // An end-of-batch marker at MAX+1 for an unknown batch stands for a batch of MAX
    // messages: incomplete, not too large.
    let ack = pub_ack(&request(
        &mut js,
        "foo",
        &batch_headers("uuid3", MAX + 1, Some("eob")),
    ));
    require_pub_error(&ack, "atomic publish batch is incomplete", 10176);
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishCounterSingleServer" => atomic_batch_publish_counter_single_server);
fn atomic_batch_publish_counter_single_server() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": storage,
            "retention": "limits", "num_replicas": 1,
            "allow_atomic": true, "allow_msg_counter": true,
        }))
        .unwrap();

        // An atomic batch of two counter increments.
        let mut h = batch_headers("uuid", 1, None);
        h.push(("Nats-Incr".into(), "1".into()));
        publish(&mut js, "foo", &h);
        let mut h = batch_headers("uuid", 2, Some("1"));
        h.push(("Nats-Incr".into(), "2".into()));
        let ack = pub_ack(&request(&mut js, "foo", &h));
        require_no_pub_error(&ack);
        assert_eq!(ack["seq"], json!(2), "{storage}: {ack}");
        assert_eq!(ack["batch"], json!("uuid"), "{storage}: {ack}");
        assert_eq!(ack["count"], json!(2), "{storage}: {ack}");

        // The stored messages hold the running totals.
        assert_eq!(
            js.get_msg("TEST", 1).unwrap().data,
            br#"{"val":"1"}"#,
            "{storage}"
        );
        assert_eq!(
            js.get_msg("TEST", 2).unwrap().data,
            br#"{"val":"3"}"#,
            "{storage}"
        );

        // The counter still works for a plain increment.
        let pa = js.publish("foo", &[("Nats-Incr", "5")], b"").unwrap();
        assert_eq!(pa.sequence, 3, "{storage}");
        assert_eq!(
            js.get_msg("TEST", 3).unwrap().data,
            br#"{"val":"8"}"#,
            "{storage}"
        );
    }
}

/// Go's single-server recovery tests: a batch staged and ready to commit, its first
/// message stored, then a restart; the rest of the batch must be stored on recovery.
/// `commit` is the commit value of the last staged message.
fn single_server_recovery(staged: u64, commit: &str) {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file",
        "retention": "limits", "num_replicas": 1, "allow_atomic": true,
    }))
    .unwrap();

    // Stage the batch by hand, so it is not committed at once.
    let mset = stream(&s, "TEST");
    let dir = mset.dir.clone().expect("a file stream has a directory");
    let natsd::jetstream::stream::StreamStore::File(fs) = &mset.store else {
        panic!("a file stream has a file store");
    };
    let at = batch::StageAt {
        stream_dir: &dir,
        store: fs,
    };
    let mut stage = DiskStage::create(at, "uuid").unwrap();
    let header = |seq: u64| {
        let mut hdr = gen_header(&[], BATCH_ID, "uuid");
        hdr = gen_header(&hdr, BATCH_SEQ, &seq.to_string());
        if seq == staged {
            hdr = gen_header(&hdr, BATCH_COMMIT, commit);
        }
        hdr
    };
    for seq in 1..=staged {
        let m = StagedMsg {
            subject: "foo".into(),
            header: header(seq),
            payload: Vec::new(),
        };
        stage.stage(&m, seq).unwrap();
    }
    // Go's `readyForCommit`: everything staged is written out.
    stage.make_durable().unwrap();
    stage.close();

    // The first message of the batch is stored.
    let stored = mset.store_batch(
        s.shared(),
        vec![InMsg {
            subject: "foo".into(),
            reply: String::new(),
            header: Some(Bytes::from(header(1))),
            payload: Bytes::new(),
            publisher: 0,
        }],
    );
    assert_eq!(stored, vec![true]);

    // Restart: the rest of the batch is stored on recovery.
    drop(mset);
    drop(js);
    s.restart();
    let mut js = s.client();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (2, 1, 2));
    for seq in st.first_seq..=st.last_seq {
        let m = js.get_msg("TEST", seq).unwrap();
        assert_eq!(m.header_value(BATCH_ID).as_deref(), Some("uuid"));
        assert_eq!(m.header_value(BATCH_SEQ), Some(seq.to_string()));
        // The last one has the commit header, also when the commit was an
        // end-of-batch marker.
        if seq == st.last_seq {
            assert_eq!(m.header_value(BATCH_COMMIT).as_deref(), Some("1"));
        }
    }
    assert!(
        !dir.join(batch::BATCHES_DIR).exists(),
        "the staging store is removed after recovery"
    );
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishSingleServerRecovery" => atomic_batch_publish_single_server_recovery);
fn atomic_batch_publish_single_server_recovery() {
    single_server_recovery(2, "1");
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishSingleServerRecoveryCommitEob" => atomic_batch_publish_single_server_recovery_commit_eob);
fn atomic_batch_publish_single_server_recovery_commit_eob() {
    single_server_recovery(3, "eob");
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishExpectedSeq" => atomic_batch_publish_expected_seq);
fn atomic_batch_publish_expected_seq() {
    // Go also reads the clustered proposal counters (clseq, clfs) and finds them zero
    // throughout: a standalone natsd has no such state, so there is nothing to read.
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_atomic": true,
    }))
    .unwrap();

    js.publish_ok("foo", b"hello");
    // An expected last sequence on a plain publish.
    js.publish("foo", &[("Nats-Expected-Last-Sequence", "1")], b"hello")
        .unwrap();

    // A batch of one message with an expected last sequence.
    let mut h = vec![("Nats-Expected-Last-Sequence".to_string(), "2".to_string())];
    h.extend(batch_headers("uuid", 1, Some("1")));
    let ack = pub_ack(&request(&mut js, "foo", &h));
    require_no_pub_error(&ack);
    assert_eq!(ack["seq"], json!(3), "{ack}");
    assert_eq!(ack["count"], json!(1), "{ack}");
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishPersistModeAsync" => atomic_batch_publish_persist_mode_async);
fn atomic_batch_publish_persist_mode_async() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let e = js
        .add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": "file", "num_replicas": 1,
            "allow_atomic": true, "persist_mode": "async",
        }))
        .unwrap_err();
    assert_eq!(
        e.server_text(),
        server_error_text(
            "async persist mode is not supported with atomic batch publish",
            10052
        )
    );
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishExpectedLastSubjectSequence" => atomic_batch_publish_expected_last_subject_sequence);
fn atomic_batch_publish_expected_last_subject_sequence() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo.*"], "storage": "file", "num_replicas": 1,
        "allow_atomic": true,
    }))
    .unwrap();
    js.publish_ok("foo.A", b"");
    js.publish_ok("foo.B", b"");

    let mut h = batch_headers("uuid", 1, None);
    h.extend([
        ("Nats-Expected-Last-Sequence".into(), "2".into()),
        ("Nats-Expected-Last-Subject-Sequence".into(), "1".into()),
        (
            "Nats-Expected-Last-Subject-Sequence-Subject".into(),
            "foo.A".into(),
        ),
    ]);
    let m = request(&mut js, "foo.A", &h);
    assert!(m.payload.is_empty(), "empty ack, got {:?}", m.payload);

    let mut h = batch_headers("uuid", 2, Some("1"));
    h.extend([
        ("Nats-Expected-Last-Subject-Sequence".into(), "2".into()),
        (
            "Nats-Expected-Last-Subject-Sequence-Subject".into(),
            "foo.B".into(),
        ),
    ]);
    let ack = pub_ack(&request(&mut js, "foo.B", &h));
    require_no_pub_error(&ack);
    assert_eq!(ack["seq"], json!(4), "{ack}");
    assert_eq!(ack["batch"], json!("uuid"), "{ack}");
    assert_eq!(ack["count"], json!(2), "{ack}");
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishExpectedLastSubjectSequenceOwnership" => atomic_batch_publish_expected_last_subject_sequence_ownership);
fn atomic_batch_publish_expected_last_subject_sequence_ownership() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "EVENTS", "subjects": ["events.>"], "storage": "memory", "num_replicas": 1,
        "allow_atomic": true,
    }))
    .unwrap();

    let entry = "diary.entry_BBBBBBBBBBBBBBBBBBBBBBBB";
    let old_day = "diary-day.day_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
    let target_day = "diary-day.day_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mutation = "mutation.mut_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD";
    let mut entities: Vec<String> = (1..=19).map(|i| format!("seed.entity_{i:02}")).collect();
    entities[10] = target_day.into();
    entities[17] = entry.into();
    entities[18] = old_day.into();
    for (i, entity) in entities.iter().enumerate() {
        let ack = js.publish_ok(&format!("events.{entity}.balance"), b"");
        assert_eq!(ack.sequence, i as u64 + 1);
    }

    let batch_entities = [entry, old_day, target_day, mutation];
    let expected = [18u64, 19, 11, 0];
    for (i, entity) in batch_entities.iter().enumerate() {
        let last = i == batch_entities.len() - 1;
        let mut h = vec![
            (
                "Nats-Expected-Last-Subject-Sequence-Subject".to_string(),
                format!("events.{entity}.*"),
            ),
            (
                "Nats-Expected-Last-Subject-Sequence".to_string(),
                expected[i].to_string(),
            ),
        ];
        h.extend(batch_headers("uuid", i as u64 + 1, last.then_some("1")));
        let subject = format!("events.{entity}.balance");
        if last {
            let ack = pub_ack(&request(&mut js, &subject, &h));
            require_no_pub_error(&ack);
            assert_eq!(ack["seq"], json!(23), "{ack}");
            assert_eq!(ack["batch"], json!("uuid"), "{ack}");
            assert_eq!(ack["count"], json!(4), "{ack}");
        } else if i == 0 {
            let m = request(&mut js, &subject, &h);
            assert!(m.payload.is_empty(), "empty ack, got {:?}", m.payload);
        } else {
            publish(&mut js, &subject, &h);
        }
    }
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicBatchPublishCommitUnsupported" => atomic_batch_publish_commit_unsupported);
fn atomic_batch_publish_commit_unsupported() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "memory", "num_replicas": 1,
        "allow_atomic": true,
    }))
    .unwrap();
    let mset = stream(&s, "TEST");

    for unsupported in ["", "unsupported", "0"] {
        request(&mut js, "foo", &batch_headers("uuid", 1, None));
        let ack = pub_ack(&request(
            &mut js,
            "foo",
            &batch_headers("uuid", 2, Some(unsupported)),
        ));
        require_pub_error(&ack, "atomic publish batch commit is invalid", 10200);
        // No batch is left open.
        assert_eq!(mset.open_batches(), 0, "{unsupported:?}");
    }

    // The required API level can refuse the batch.
    let mut h = batch_headers("uuid", 1, Some("1"));
    h.push(("Nats-Required-Api-Level".into(), i64::MAX.to_string()));
    let ack = pub_ack(&request(&mut js, "foo", &h));
    require_pub_error(&ack, "JetStream minimum api level required", 10185);

    // When it passes, the header is not stored.
    h.last_mut().unwrap().1 = "0".into();
    let ack = pub_ack(&request(&mut js, "foo", &h));
    require_no_pub_error(&ack);
    assert_eq!(ack["seq"], json!(1), "{ack}");
    let m = js.get_msg("TEST", 1).unwrap();
    assert_eq!(m.header_value("Nats-Required-Api-Level"), None);
}

port!("server/jetstream_batching_test.go::TestJetStreamAtomicPublishGetBatchSequence" => atomic_publish_get_batch_sequence);
fn atomic_publish_get_batch_sequence() {
    let h = |v: &str| gen_header(&[], BATCH_SEQ, v);
    // Go's (seq, exists) pairs: a sequence that does not exist is None here.
    let cases: [(&str, Vec<u8>, Option<u64>); 6] = [
        ("missing", Vec::new(), None),
        ("empty-value", h(""), None),
        ("valid", h("42"), Some(42)),
        ("non-numeric", h("abc"), None),
        ("negative", h("-1"), None),
        ("overflow", h("18446744073709551616"), None),
    ];
    for (name, hdr, want) in cases {
        assert_eq!(batch::batch_sequence(&hdr), want, "{name}");
    }
}
