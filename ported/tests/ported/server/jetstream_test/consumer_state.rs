//! Consumer state across stream changes: per-subject limits lowered, filters edited on an
//! interest stream, ack-all with a high first sequence, recovery of a damaged stream,
//! retention changes, deliver-last-per-subject skip lists, interest lost when a consumer
//! goes; name checks.

use super::*;
use ported::jetstream::{check_for, run_basic_jetstream_server, JsClient, JsServer, NatsMsg};
use ported::port;
use serde_json::json;
use std::time::Instant;

/// The stream `name` of the global account, inside the server.
fn stream_of(s: &JsServer, name: &str) -> std::sync::Arc<natsd::jetstream::stream::Stream> {
    s.shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream(name))
        .unwrap_or_else(|| panic!("stream {name}"))
}

/// Go's `expectMsgs` of TestJetStreamChangeMaxMessagesPerSubject: a new subscription with
/// an acking callback receives exactly `num` messages.
fn expect_msgs(js: &mut JsClient, num: usize) {
    let sub = js.subscribe_sync("one.>", json!({})).unwrap();
    let mut got = 0;
    check_for(Duration::from_secs(5), Duration::from_millis(100), || {
        while let Some(m) = js.conn.take_queued(sub.sid) {
            got += 1;
            js.ack(&m);
        }
        // What arrived since.
        let _ = js.conn.pending(sub.sid);
        while let Some(m) = js.conn.take_queued(sub.sid) {
            got += 1;
            js.ack(&m);
        }
        if got == num {
            Ok(())
        } else {
            Err(format!("expected to get {num} messages, got {got} instead"))
        }
    });
    js.push_unsubscribe(sub);
}

port!("server/jetstream_test.go::TestJetStreamChangeMaxMessagesPerSubject" => change_max_messages_per_subject);
fn change_max_messages_per_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["one.>"], "max_msgs_per_subject": 5}))
        .unwrap();
    for _ in 0..10 {
        send_stream_msg(&mut js, "one.data", "data");
    }
    expect_msgs(&mut js, 5);
    let _ =
        js.update_stream(json!({"name": "TEST", "subjects": ["one.>"], "max_msgs_per_subject": 3}));
    let info = js.stream_info("TEST", None).unwrap();
    assert_eq!(info["config"]["max_msgs_per_subject"], 3);
    assert_eq!(info["state"]["messages"], 3);
    expect_msgs(&mut js, 3);
    for _ in 0..10 {
        send_stream_msg(&mut js, "one.data", "data");
    }
    expect_msgs(&mut js, 3);
}

port!("server/jetstream_test.go::TestJetStreamInterestStreamConsumerFilterEdit" => interest_stream_consumer_filter_edit);
fn interest_stream_consumer_filter_edit() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "INTEREST", "retention": "interest", "subjects": ["interest.>"]}))
        .unwrap();
    js.add_consumer(
        "INTEREST",
        json!({"durable_name": "C0", "filter_subject": "interest.>", "ack_policy": "explicit"}),
    )
    .unwrap();
    for i in 0..10 {
        js.publish(&format!("interest.{i}"), &[], i.to_string().as_bytes())
            .unwrap();
    }
    assert_eq!(js.stream_state("INTEREST").msgs, 10, "expected 10 messages");
    // Interest in one subject only now.
    js.add_consumer(
        "INTEREST",
        json!({"durable_name": "C0", "filter_subject": "interest.1", "ack_policy": "explicit"}),
    )
    .unwrap();
    assert_eq!(js.stream_state("INTEREST").msgs, 1, "expected 1 message");
}

port!("server/jetstream_test.go::TestJetStreamInterestStreamWithFilterSubjectsConsumer" => interest_stream_with_filter_subjects_consumer);
fn interest_stream_with_filter_subjects_consumer() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "INTEREST", "retention": "interest", "subjects": ["interest.>"]}))
        .unwrap();
    js.add_consumer(
        "INTEREST",
        json!({"durable_name": "C", "filter_subjects": ["interest.a", "interest.b"], "ack_policy": "explicit"}),
    )
    .unwrap();
    for subj in ["interest.a", "interest.b", "interest.c"] {
        js.publish(subj, &[], b"").unwrap();
    }
    // Nobody is interested in interest.c.
    assert_eq!(js.stream_state("INTEREST").msgs, 2, "expected 2 messages");
}

/// `m.AckSync()` that must be answered within 250ms (Go: "AckSync took too long").
fn quick_ack_sync(js: &mut JsClient, m: &NatsMsg) {
    let start = Instant::now();
    js.ack_sync(m);
    let elapsed = start.elapsed();
    assert!(
        elapsed <= Duration::from_millis(250),
        "AckSync took too long {elapsed:?}"
    );
}

port!("server/jetstream_test.go::TestJetStreamAckAllWithLargeFirstSequenceAndNoAckFloor" => ack_all_with_large_first_sequence_and_no_ack_floor);
fn ack_all_with_large_first_sequence_and_no_ack_floor() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"]}))
        .unwrap();
    // A very large first sequence.
    js.purge_stream("TEST", Some(json!({"seq": 10_000_000_000u64})))
        .unwrap();
    for _ in 0..100 {
        let _ = js.publish("foo.bar", &[], b"hello");
    }
    let wait = Duration::from_millis(100);
    for (durable, acked) in [("C1", 9), ("C2", 5)] {
        let mut ss = js
            .pull_subscribe("foo.*", durable, json!({"ack_policy": "all"}))
            .unwrap();
        let msgs = js.fetch(&mut ss, 10, wait).unwrap();
        assert_eq!(msgs.len(), 10);
        quick_ack_sync(&mut js, &msgs[acked]);
        // The next fetch works at once with a low timeout.
        let msgs = js.fetch(&mut ss, 10, wait).unwrap();
        assert_eq!(msgs.len(), 10);
        let start = Instant::now();
        js.stream_info("TEST", None).unwrap();
        assert!(start.elapsed() <= Duration::from_millis(250));
    }
}

port!("server/jetstream_test.go::TestJetStreamAckAllWithLargeFirstSequenceAndNoAckFloorWithInterestPolicy" => ack_all_with_large_first_sequence_and_no_ack_floor_with_interest_policy);
fn ack_all_with_large_first_sequence_and_no_ack_floor_with_interest_policy() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"], "retention": "interest"}))
        .unwrap();
    js.purge_stream("TEST", Some(json!({"seq": 10_000_000_000u64})))
        .unwrap();
    let mut ss = js
        .pull_subscribe("foo.*", "C1", json!({"ack_policy": "all"}))
        .unwrap();
    for _ in 0..100 {
        let _ = js.publish("foo.bar", &[], b"hello");
    }
    let msgs = js.fetch(&mut ss, 10, Duration::from_millis(100)).unwrap();
    assert_eq!(msgs.len(), 10);
    quick_ack_sync(&mut js, &msgs[5]);
    // No run-away loop acking messages that are not there: info answers at once.
    let start = Instant::now();
    js.stream_info("TEST", None).unwrap();
    assert!(start.elapsed() <= Duration::from_millis(100));
}

/// Truncates every message block of stream TEST by one byte (a checksum mismatch with
/// its index makes the store rebuild its state).
fn mangle_blocks(s: &JsServer) {
    let path = s.store_dir().join("jetstream/$G/streams/TEST/msgs");
    for e in std::fs::read_dir(&path).unwrap() {
        let e = e.unwrap();
        if !e.file_name().to_string_lossy().ends_with(".blk") {
            continue;
        }
        let len = e.metadata().unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(e.path())
            .unwrap();
        f.set_len(len - 1).unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamRecoversStreamFirstSeqWhenNotEmpty" => recovers_stream_first_seq_when_not_empty);
fn recovers_stream_first_seq_when_not_empty() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "storage": "file", "subjects": ["test"], "retention": "interest",
    }))
    .unwrap();
    js.add_consumer(
        "TEST",
        json!({"name": "CONSUMER", "filter_subject": "test", "ack_policy": "explicit"}),
    )
    .unwrap();
    let msgs: Vec<(&str, &[u8])> = vec![("test", b""); 1000];
    for v in js.publish_async(&msgs) {
        assert!(v.get("error").is_none(), "{v}");
    }
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (1000, 1, 1000));
    let mut ps = js.pull_bind("TEST", "CONSUMER");
    for _ in 0..500 {
        let msgs = js.fetch(&mut ps, 1, Duration::from_secs(5)).unwrap();
        assert_eq!(msgs.len(), 1);
        js.ack_sync(&msgs[0]);
    }
    assert_eq!(js.cinfo("TEST", "CONSUMER").ack_floor.stream, 500);
    // Go stops JetStream alone; the whole server here.
    drop(js);
    s.shutdown();
    mangle_blocks(&s);
    s.restart();
    let mut js = s.client();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (500, 501, 1000));
}

port!("server/jetstream_test.go::TestJetStreamRecoversStreamFirstSeqWhenEmpty" => recovers_stream_first_seq_when_empty);
fn recovers_stream_first_seq_when_empty() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "storage": "file", "subjects": ["test"], "retention": "interest",
    }))
    .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    let msgs: Vec<(&str, &[u8])> = vec![("test", b""); 1000];
    for v in js.publish_async(&msgs) {
        assert!(v.get("error").is_none(), "{v}");
    }
    js.purge_stream("TEST", None).unwrap();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 1001, 1000));
    assert_eq!(js.cinfo("TEST", "CONSUMER").ack_floor.stream, 1000);
    drop(js);
    s.shutdown();
    mangle_blocks(&s);
    s.restart();
    let mut js = s.client();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 1001, 1000));
}

port!("server/jetstream_test.go::TestJetStreamStreamRetentionUpdatesConsumers" => stream_retention_updates_consumers);
fn stream_retention_updates_consumers() {
    use natsd::jetstream::api::types::RetentionPolicy;
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    for (from, to, fr, tr) in [
        (
            "limits",
            "interest",
            RetentionPolicy::Limits,
            RetentionPolicy::Interest,
        ),
        (
            "interest",
            "limits",
            RetentionPolicy::Interest,
            RetentionPolicy::Limits,
        ),
    ] {
        let name = format!("{}To{}", capitalize(from), capitalize(to));
        let mut sc =
            json!({"name": name, "subjects": [name], "retention": from, "storage": "file"});
        js.request(&format!("$JS.API.STREAM.CREATE.{name}"), Some(&sc));
        js.add_consumer(
            &name,
            json!({"name": "test_consumer", "ack_policy": "explicit"}),
        )
        .unwrap();
        // The consumer inside the server sees the stream's retention.
        let consumer = stream_of(&s, &name)
            .consumers
            .read()
            .get("test_consumer")
            .cloned()
            .expect("consumer");
        assert_eq!(consumer.retention(), fr);
        sc["retention"] = json!(to);
        let resp = js.request(&format!("$JS.API.STREAM.UPDATE.{name}"), Some(&sc));
        assert!(resp.get("error").is_none(), "{resp}");
        assert_eq!(consumer.retention(), tr);
    }
}

/// Go's `RetentionPolicy.String()`: `Limits`, `Interest`.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

port!("server/jetstream_test.go::TestJetStreamMaxMsgsPerSubjectAndDeliverLastPerSubject" => max_msgs_per_subject_and_deliver_last_per_subject);
fn max_msgs_per_subject_and_deliver_last_per_subject() {
    const SUBJECTS: u64 = 300;
    const MSGS: u64 = SUBJECTS * 10;
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "test", "subjects": ["foo.>", "bar.>"], "retention": "limits",
        "storage": "file", "max_msgs_per_subject": 5,
    }))
    .unwrap();
    // Random subjects leave gaps once the per-subject limit applies.
    let mut rng = super::consumer_support::Rng::new();
    let foo_subjects: Vec<String> = (0..MSGS)
        .map(|_| format!("foo.{}", rng.below(SUBJECTS)))
        .collect();
    let refs: Vec<(&str, &[u8])> = foo_subjects
        .iter()
        .map(|s| (s.as_str(), &b""[..]))
        .collect();
    for v in js.publish_async(&refs) {
        assert!(v.get("error").is_none(), "{v}");
    }
    // Then messages the consumer's filter does not take.
    let bar: Vec<String> = (0..MSGS / 10)
        .map(|_| format!("bar.{}", rng.below(SUBJECTS / 10)))
        .collect();
    let refs: Vec<(&str, &[u8])> = bar.iter().map(|s| (s.as_str(), &b""[..])).collect();
    for v in js.publish_async(&refs) {
        assert!(v.get("error").is_none(), "{v}");
    }
    let resume = js.stream_state("test").last_seq;
    js.add_consumer(
        "test",
        json!({
            "name": "test_consumer", "filter_subjects": ["foo.>"],
            "deliver_policy": "last_per_subject", "ack_policy": "explicit",
        }),
    )
    .unwrap();
    // The skip list inside the server (Go reads o.lss).
    let consumer = stream_of(&s, "test")
        .consumers
        .read()
        .get("test_consumer")
        .cloned()
        .expect("consumer");
    let mut pending: std::collections::BTreeSet<u64> =
        consumer.cursor.lock().lps.iter().copied().collect();
    let mut ps = js.pull_bind("test", "test_consumer");
    for _ in 0..SUBJECTS {
        let msgs = js.fetch(&mut ps, 1, Duration::from_secs(5)).unwrap();
        for m in msgs {
            // Expected, and not seen before.
            assert!(pending.remove(&m.ack_info().stream_seq));
            js.ack_sync(&m);
        }
    }
    assert!(pending.is_empty(), "{} not received", pending.len());
    // Then the consumer goes on from the stream's last sequence at its creation.
    assert_eq!(consumer.cursor.lock().next_sseq, resume + 1);
}

port!("server/jetstream_test.go::TestJetStreamInvalidStreamOrConsumerName" => invalid_stream_or_consumer_name);
fn invalid_stream_or_consumer_name() {
    use natsd::config::jetstream::JsLimitOpts;
    use natsd::jetstream::api::types::{ConsumerConfig, JetStreamAccountLimits, StreamConfig};
    use natsd::jetstream::consumer_config::check_consumer_config;
    use natsd::jetstream::stream_config::{check_stream_config, ServerLimits};
    // Go calls the config checks directly; so does this.
    let s = run_basic_jetstream_server();
    let limits = ServerLimits {
        duplicates: 0,
        max_payload: i64::from(s.shared().opts().max_payload),
    };
    for c in " \t\r\n\u{c}.*>\\/".chars() {
        let name = c.to_string();
        let scfg = StreamConfig {
            name: name.clone(),
            ..Default::default()
        };
        let err = check_stream_config(&scfg, &limits, false).expect_err("stream name");
        assert!(
            err.description.contains("can not contain"),
            "{name:?}: {err:?}"
        );
        let stream = StreamConfig::default();
        let (server, account) = (JsLimitOpts::default(), JetStreamAccountLimits::default());
        for ccfg in [
            ConsumerConfig {
                name: name.clone(),
                ..Default::default()
            },
            ConsumerConfig {
                durable: name.clone(),
                ..Default::default()
            },
        ] {
            let err = check_consumer_config(&ccfg, &stream, &server, &account, false)
                .expect_err("consumer name");
            assert!(
                err.description.contains("can not contain"),
                "{name:?}: {err:?}"
            );
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamCleanupNoInterestAboveThreshold" => cleanup_no_interest_above_threshold);
fn cleanup_no_interest_above_threshold() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["a", "b"], "retention": "interest"}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "A", "filter_subject": "a"}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "B", "filter_subject": "b"}))
        .unwrap();
    // Straight into the store, as Go does.
    let stream = stream_of(&s, "TEST");
    for subj in ["a", "b"] {
        for _ in 0..100_000 {
            stream.store().store_msg(subj, b"", b"", 0).unwrap();
        }
    }
    assert_eq!(js.stream_state("TEST").msgs, 200_000);
    // Deleting A removes what nobody is interested in any more.
    js.delete_consumer("TEST", "A").unwrap();
    check_for(Duration::from_secs(4), Duration::from_millis(200), || {
        let n = js.stream_state("TEST").msgs;
        if n == 100_000 {
            Ok(())
        } else {
            Err(format!("expected 100k messages, got {n}"))
        }
    });
}
