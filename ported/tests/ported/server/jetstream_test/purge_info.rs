//! Purges, message deletes and what `STREAM.INFO` reports about them; streams recovered
//! after a restart.

use super::*;
use ported::jetstream::{now_nanos, parse_go_time, run_basic_jetstream_server, StreamState};
use ported::port;
use serde_json::json;
use std::collections::BTreeMap;

/// Go's zero `time.Time` as JSON writes it.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

port!("server/jetstream_test.go::TestJetStreamStreamPurge" => stream_purge);
fn stream_purge() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        for _ in 0..100 {
            let _ = js.publish("DC", &[], b"OK!");
        }
        assert_eq!(js.stream_state("DC").msgs, 100);
        js.purge_stream("DC", None).unwrap();
        let state = js.stream_state("DC");
        assert_eq!(state.msgs, 0);
        // The first timestamp is reset.
        assert_eq!(
            parse_go_time(&state.first_ts),
            parse_go_time(GO_ZERO_TIME),
            "Expected the state's first time to be zero after purge"
        );
        std::thread::sleep(Duration::from_millis(10));
        let now = now_nanos();
        let _ = js.publish("DC", &[], b"OK!");
        let state = js.stream_state("DC");
        assert_eq!(state.msgs, 1);
        assert!(
            parse_go_time(&state.first_ts) >= now,
            "First time is incorrect after adding messages back in"
        );
        assert_eq!(
            parse_go_time(&state.first_ts),
            parse_go_time(&state.last_ts),
            "Expected first and last times to be the same for only message"
        );
    }
}

/// `STREAM.INFO` of TEST with a subjects filter, asked by hand as the Go tests do.
fn get_info(js: &mut JsClient, filter: &str) -> StreamState {
    let resp = js.request(
        "$JS.API.STREAM.INFO.TEST",
        Some(&json!({"subjects_filter": filter})),
    );
    StreamState::of(&resp)
}

fn subjects(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

port!("server/jetstream_test.go::TestJetStreamStreamInfoSubjectsDetails" => stream_info_subjects_details);
fn stream_info_subjects_details() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let info = |js: &mut JsClient, filter: &str| {
        let st = get_info(js, filter);
        assert_eq!(st.num_subjects, 3, "Expected NumSubjects to be 3");
        st.subjects
    };
    for storage in ["memory", "file"] {
        js.add_stream(json!({"name": "TEST", "subjects": ["*"], "storage": storage}))
            .unwrap();
        // foo 22, bar 33, baz 44.
        for (subj, n) in [("foo", 22), ("bar", 33), ("baz", 44)] {
            for _ in 0..n {
                js.publish(subj, &[], b"ok").unwrap();
            }
        }
        let all = subjects(&[("foo", 22), ("bar", 33), ("baz", 44)]);
        assert_eq!(info(&mut js, ">"), all);
        assert_eq!(info(&mut js, "*"), all);
        assert_eq!(info(&mut js, "foo"), subjects(&[("foo", 22)]));
        let _ = js.delete_stream("TEST");
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamInfoSubjectsDetailsWithDeleteAndPurge" => stream_info_subjects_details_with_delete_and_purge);
fn stream_info_subjects_details_with_delete_and_purge() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let check_results = |js: &mut JsClient, expected: &[(&str, u64)]| {
        let st = get_info(js, ">");
        assert_eq!(st.subjects, subjects(expected));
        assert_eq!(st.num_subjects, expected.len() as u64);
    };
    for storage in ["memory", "file"] {
        js.add_stream(json!({"name": "TEST", "subjects": ["*"], "storage": storage}))
            .unwrap();
        for subj in ["foo", "foo", "bar", "baz", "baz", "bar", "bar"] {
            let _ = js.publish(subj, &[], b"ok");
        }
        check_results(&mut js, &[("foo", 2), ("bar", 3), ("baz", 2)]);

        let _ = js.delete_msg("TEST", 6);
        check_results(&mut js, &[("foo", 2), ("bar", 2), ("baz", 2)]);

        // Delete and add right back: no change.
        let _ = js.delete_msg("TEST", 5); // baz
        let _ = js.publish("baz", &[], b"ok"); // 8
        check_results(&mut js, &[("foo", 2), ("bar", 2), ("baz", 2)]);

        // Purge bar only.
        js.request("$JS.API.STREAM.PURGE.TEST", Some(&json!({"filter": "bar"})));
        check_results(&mut js, &[("foo", 2), ("baz", 2)]);

        // Purge everything.
        js.purge_stream("TEST", None).unwrap();
        let st = get_info(&mut js, ">");
        assert!(st.subjects.is_empty(), "Expected no subjects, got {st:?}");
        assert_eq!(st.num_subjects, 0);
        let _ = js.delete_stream("TEST");
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamInfoSubjectsDetailsAfterRestart" => stream_info_subjects_details_after_restart);
fn stream_info_subjects_details_after_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["*"]}))
        .unwrap();
    for subj in ["foo", "foo", "bar", "baz", "baz"] {
        let _ = js.publish(subj, &[], b"ok");
    }
    assert_eq!(get_info(&mut js, ">").num_subjects, 3);
    drop(js);
    s.restart();
    let mut js = s.client();
    assert_eq!(get_info(&mut js, ">").num_subjects, 3);
}

port!("server/jetstream_test.go::TestJetStreamPurgeExAndAccounting" => purge_ex_and_accounting);
fn purge_ex_and_accounting() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "TEST", "storage": storage, "subjects": ["*"]}))
            .unwrap();
        for _ in 0..100 {
            js.publish("foo", &[], b"accounting").unwrap();
            js.publish("bar", &[], b"accounting").unwrap();
        }
        let info = js.account_info().unwrap();
        js.purge_stream("TEST", Some(json!({"filter": "foo"})))
            .unwrap();
        let ninfo = js.account_info().unwrap();
        // Half of what the account used is gone.
        let key = if storage == "memory" {
            "memory"
        } else {
            "storage"
        };
        assert_eq!(
            ninfo[key].as_u64().unwrap(),
            info[key].as_u64().unwrap() / 2,
            "Accounting information incorrect for {key}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamMemoryPurgeClearsSubjectsState" => memory_purge_clears_subjects_state);
fn memory_purge_clears_subjects_state() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "storage": "memory"}))
        .unwrap();
    assert_eq!(js.publish("foo", &[], b"").unwrap().sequence, 1);

    // One subject, foo, with one message.
    let si = js
        .stream_info("TEST", Some(json!({"subjects_filter": ">"})))
        .unwrap();
    let st = StreamState::of(&si);
    assert_eq!(st.subjects.len(), 1);
    assert_eq!(st.subjects["foo"], 1);

    // A purge that moves the sequence up clears the subjects.
    js.purge_stream("TEST", Some(json!({"seq": 100}))).unwrap();
    let si = js
        .stream_info("TEST", Some(json!({"subjects_filter": ">"})))
        .unwrap();
    assert_eq!(StreamState::of(&si).subjects.len(), 0);
}

port!("server/jetstream_test.go::TestJetStreamPurgeExSeqSimple" => purge_ex_seq_simple);
fn purge_ex_seq_simple() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "TEST", "subjects": ["test"], "storage": storage}))
            .unwrap();
        let data = vec![0u8; 1024];
        for _ in 0..10_000 {
            js.publish("test", &[], &data).unwrap();
        }
        assert_eq!(js.stream_state("TEST").msgs, 10_000);

        js.purge_stream("TEST", Some(json!({"seq": 9_000})))
            .unwrap();
        let st = js.stream_state("TEST");
        assert_eq!(st.msgs, 1_001);
        assert_eq!(st.num_deleted, 0);
        assert_eq!(st.first_seq, 9_000);
        assert_eq!(st.last_seq, 10_000);
    }
}

port!("server/jetstream_test.go::TestJetStreamPurgeExSeqInInteriorDeleteGap" => purge_ex_seq_in_interior_delete_gap);
fn purge_ex_seq_in_interior_delete_gap() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "TEST", "subjects": ["test.*"], "storage": storage}))
            .unwrap();
        let data = vec![0u8; 1024];
        js.publish("test.start", &[], &data).unwrap();
        for _ in 0..10_000 {
            js.publish("test.mid", &[], &data).unwrap();
        }
        js.publish("test.end", &[], &data).unwrap();
        assert_eq!(js.stream_state("TEST").msgs, 10_002);

        js.purge_stream("TEST", Some(json!({"filter": "test.mid"})))
            .unwrap();
        let st = js.stream_state("TEST");
        assert_eq!(st.msgs, 2);
        assert_eq!(st.num_deleted, 10_000);

        js.purge_stream("TEST", Some(json!({"seq": 9_000})))
            .unwrap();
        let st = js.stream_state("TEST");
        assert_eq!(st.msgs, 1);
        assert_eq!(st.num_deleted, 0);
        assert_eq!(st.first_seq, 10_002);
        assert_eq!(st.last_seq, 10_002);
    }
}

port!("server/jetstream_test.go::TestJetStreamFileStoreFirstSeqAfterRestart" => file_store_first_seq_after_restart);
fn file_store_first_seq_after_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    // A stream that starts at a given sequence.
    let fseq = 10_000u64;
    let si = js
        .add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": "file", "retention": "limits",
            "first_seq": fseq,
        }))
        .unwrap();
    let st = StreamState::of(&si);
    assert_eq!((st.first_seq, st.last_seq), (fseq, fseq - 1));

    assert_eq!(js.publish("foo", &[], b"").unwrap().sequence, fseq);
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (1, fseq, fseq));

    drop(js);
    s.restart();
    let mut js = s.client();
    // The same state as before the restart.
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (1, fseq, fseq));
}

port!("server/jetstream_test.go::TestJetStreamMaxBytesIgnored" => max_bytes_ignored);
fn max_bytes_ignored() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["*"], "max_bytes": 10 * 1024 * 1024}))
        .unwrap();
    let msg = vec![b'A'; 1024 * 1024];
    for _ in 0..10 {
        js.publish("x", &[], &msg).unwrap();
    }
    assert_eq!(js.stream_state("TEST").msgs, 9);
    drop(js);
    s.shutdown();

    // Truncate the first block.
    let mdir = s
        .store_dir()
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join("TEST")
        .join("msgs");
    std::fs::write(mdir.join("1.blk"), b"").unwrap();

    s.restart();
    let mut js = s.client();
    for _ in 0..10 {
        js.publish("x", &[], &msg).unwrap();
    }
    assert!(js.stream_state("TEST").bytes <= 10 * 1024 * 1024);
}

port!("server/jetstream_test.go::TestJetStreamRecoverBadStreamSubjects" => recover_bad_stream_subjects);
fn recover_bad_stream_subjects() {
    use natsd::jetstream::api::types::{StorageType, StreamConfig};
    use natsd::jetstream::stream::{open_store, StoreSetup};
    let mut s = run_basic_jetstream_server();
    s.shutdown();

    // A stream whose config has a subject with spaces, written as the store writes it.
    let dir = s
        .store_dir()
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join("TEST");
    let cfg = StreamConfig {
        name: "TEST".into(),
        subjects: vec!["foo".into(), "bar".into(), " baz ".into()],
        storage: StorageType::File,
        ..Default::default()
    };
    let store = open_store(
        &cfg,
        natsd::monitor::gotime::GoTime::now(),
        &StoreSetup {
            dir,
            sync_interval: None,
            keys: None,
        },
    )
    .unwrap();
    store.store().stop().unwrap();

    s.restart();
    let mut js = s.client();
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(
        si["config"]["subjects"].as_array().map(Vec::len),
        Some(3),
        "Expected to recover all subjects"
    );
}

port!("server/jetstream_test.go::TestJetStreamLargeExpiresAndServerRestart" => large_expires_and_server_restart);
fn large_expires_and_server_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let max_age = Duration::from_secs(2);
    js.add_stream(json!({"name": "S", "subjects": ["foo"], "max_age": max_age.as_nanos() as i64}))
        .unwrap();
    let start = std::time::Instant::now();
    js.publish("foo", &[], b"ok").unwrap();

    // Restart a second before the message's age is up.
    std::thread::sleep((max_age - Duration::from_secs(1)).saturating_sub(start.elapsed()));
    drop(js);
    s.restart();
    let mut js = s.client();

    ported::jetstream::check_for(Duration::from_secs(5), Duration::from_millis(10), || {
        let msgs = js.stream_state("S").msgs;
        if msgs == 0 {
            Ok(())
        } else {
            Err(format!("Expected no messages, got {msgs}"))
        }
    });
    let waited = start.elapsed();
    assert!(
        waited <= max_age + Duration::from_secs(1),
        "Waited to long {waited:?} vs {max_age:?} for messages to expire"
    );
}
