//! What consumers deliver: interest streams emptied by acks, durables across restarts,
//! filters wider than the stream's subjects, deliver-last-per-subject, purges under a
//! consumer, ephemeral pull consumers and their inactive threshold, naks with delays.

use super::consumer_support::check_sub_pending;
use super::*;
use ported::jetstream::{
    check_for, new_inbox, next_subject, require_error, run_basic_jetstream_server, JsClient,
};
use ported::port;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Instant;

/// Takes `n` messages from `sid`, answering each (an ack); their stream sequences.
#[track_caller]
fn receive_and_ack(js: &mut JsClient, sid: u64, n: u64) -> BTreeSet<u64> {
    let mut seqs = BTreeSet::new();
    for _ in 0..n {
        let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
        js.conn.publish(&m.reply, b"");
        seqs.insert(m.ack_info().stream_seq);
    }
    seqs
}

/// Go's `checkFor` until the stream is empty.
#[track_caller]
fn check_empty(js: &mut JsClient, stream: &str) {
    check_for(Duration::from_secs(3), Duration::from_millis(100), || {
        let n = js.stream_state(stream).msgs;
        if n == 0 {
            Ok(())
        } else {
            Err(format!("expected empty stream, but found {n} messages"))
        }
    });
}

port!("server/jetstream_test.go::TestJetStreamAckExplicitMsgRemoval" => ack_explicit_msg_removal);
fn ack_explicit_msg_removal() {
    const BURST: u64 = 20;
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut nc1 = s.client();
        let mut nc2 = s.client();
        nc1.add_stream(json!({
            "name": "MY_STREAM", "storage": storage, "subjects": ["foo.*"],
            "retention": "interest",
        }))
        .unwrap();
        let inbox1 = new_inbox();
        let sub1 = nc1.conn.subscribe(&inbox1);
        nc1.conn.flush();
        let inbox2 = new_inbox();
        let sub2 = nc2.conn.subscribe(&inbox2);
        nc2.conn.flush();
        nc1.add_consumer(
            "MY_STREAM",
            json!({"durable_name": "dur1", "deliver_subject": inbox1, "filter_subject": "foo.bar", "ack_policy": "explicit"}),
        )
        .unwrap();
        let dur2 = |deliver: &str| {
            json!({
                "durable_name": "dur2", "deliver_subject": deliver, "filter_subject": "foo.bar",
                "ack_policy": "explicit", "ack_wait": 100_000_000,
            })
        };
        nc1.add_consumer("MY_STREAM", dur2(&inbox2)).unwrap();
        for i in 1..=BURST {
            let pa = send_stream_msg(&mut nc1, "foo.bar", &format!("msg_{i}"));
            assert_eq!(pa.sequence, i);
        }
        assert_eq!(nc1.stream_state("MY_STREAM").msgs, BURST);
        // Both subscribers receive and ack all of them, no duplicates.
        let all: BTreeSet<u64> = (1..=BURST).collect();
        assert_eq!(
            receive_and_ack(&mut nc1, sub1, BURST),
            all,
            "Subscriber 1/2 did not deliver every sequence"
        );
        assert_eq!(
            receive_and_ack(&mut nc2, sub2, BURST),
            all,
            "Subscriber 2/2 did not deliver every sequence"
        );
        nc1.conn.flush();
        nc2.conn.flush();
        check_empty(&mut nc1, "MY_STREAM");

        // One subscription goes.
        nc2.conn.unsubscribe(sub2);
        nc2.conn.flush();
        for i in BURST + 1..=2 * BURST {
            let pa = send_stream_msg(&mut nc1, "foo.bar", &format!("msg_{i}"));
            assert_eq!(pa.sequence, i);
        }
        assert_eq!(nc1.stream_state("MY_STREAM").msgs, BURST);
        let second: BTreeSet<u64> = (BURST + 1..=2 * BURST).collect();
        assert_eq!(
            receive_and_ack(&mut nc1, sub1, BURST),
            second,
            "Subscriber 1/2 did not deliver every sequence"
        );
        // The second durable on a new inbox.
        let inbox3 = new_inbox();
        let new_sub2 = nc2.conn.subscribe(&inbox3);
        nc2.conn.flush();
        nc1.add_consumer("MY_STREAM", dur2(&inbox3)).unwrap();
        assert_eq!(
            receive_and_ack(&mut nc2, new_sub2, BURST),
            second,
            "Subscriber 2/2 did not deliver every sequence"
        );
        nc1.conn.flush();
        nc2.conn.flush();
        check_empty(&mut nc1, "MY_STREAM");
    }
}

port!("server/jetstream_test.go::TestJetStreamDeliveryAfterServerRestart" => delivery_after_server_restart);
fn delivery_after_server_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "MY_STREAM", "storage": "file", "subjects": ["foo.>"], "retention": "interest",
    }))
    .unwrap();
    let dur = |inbox: &str| json!({"durable_name": "dur", "deliver_subject": inbox, "deliver_policy": "new", "ack_policy": "explicit"});
    let inbox = new_inbox();
    js.add_consumer("MY_STREAM", dur(&inbox)).unwrap();
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();
    send_stream_msg(&mut js, "foo.bar", "msg1");
    let msg = js
        .conn
        .next_msg(sid, Duration::from_millis(250))
        .expect("Did not get message");
    js.conn.publish(&msg.reply, b"");
    js.conn.flush();
    drop(js);

    s.restart();
    let mut js = s.client();
    js.stream_info("MY_STREAM", None)
        .unwrap_or_else(|e| panic!("Error looking up stream: {e}"));
    // The durable on a new inbox.
    let inbox = new_inbox();
    js.add_consumer("MY_STREAM", dur(&inbox)).unwrap();
    send_stream_msg(&mut js, "foo.bar", "msg2");
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();
    js.conn
        .next_msg(sid, Duration::from_millis(500))
        .expect("Did not get message");
}

port!("server/jetstream_test.go::TestJetStreamFilteredConsumersWithWiderFilter" => filtered_consumers_with_wider_filter);
fn filtered_consumers_with_wider_filter() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar", "baz", "N.*"]}))
        .unwrap();
    for subj in ["foo", "bar", "baz"] {
        let _ = js.publish(subj, &[], b"OK");
    }
    for i in 0..12 {
        let _ = js.publish(&format!("N.{}", i + 1), &[], b"OK");
    }
    check_for(Duration::from_secs(5), Duration::from_millis(250), || {
        let n = js.stream_state("TEST").msgs;
        if n == 15 {
            Ok(())
        } else {
            Err(format!("Expected 15 msgs, got {n}"))
        }
    });
    for (subj, n) in [("*", 3), ("N.*", 12), ("*.*", 12), ("N.>", 12), (">", 15)] {
        let sub = js.subscribe_sync(subj, json!({})).unwrap();
        check_sub_pending(&mut js, sub.sid, n, Duration::from_secs(10));
        js.push_unsubscribe(sub);
    }
}

port!("server/jetstream_test.go::TestJetStreamTemplatedErrorsBug" => templated_errors_bug);
fn templated_errors_bug() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    if let Err(e) = js.pull_subscribe("foo", "", json!({})) {
        assert!(
            !e.to_string().contains("{err}"),
            "Error is not filled in: {e}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamDeliverLastPerSubject" => deliver_last_per_subject);
fn deliver_last_per_subject() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        let cfg = json!({"name": "KV", "subjects": ["kv.>"], "storage": storage, "max_msgs_per_subject": 5});
        js.request("$JS.API.STREAM.CREATE.KV", Some(&cfg));
        let si = js.stream_info("KV", None).unwrap();
        assert_eq!(si["config"]["name"], "KV", "StreamInfo is not correct {si}");
        // Interleaved on purpose.
        let mut msgs: Vec<(String, Vec<u8>)> = Vec::new();
        for i in 1..=11 {
            for subj in [
                "kv.b1.foo",
                "kv.b2.foo",
                "kv.b1.bar",
                "kv.b2.bar",
                "kv.b1.baz",
                "kv.b2.baz",
            ] {
                msgs.push((subj.to_string(), i.to_string().into_bytes()));
            }
        }
        let refs: Vec<(&str, &[u8])> = msgs
            .iter()
            .map(|(s, m)| (s.as_str(), m.as_slice()))
            .collect();
        js.publish_async(&refs);

        // Last-per-subject needs a filter.
        let bad = json!({"stream_name": "KV", "config": {"deliver_subject": "b", "deliver_policy": "last_per_subject"}});
        let resp = js.request("$JS.API.CONSUMER.CREATE.KV", Some(&bad));
        assert!(
            resp["error"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("filter subject is not set")),
            "Expected an error, got none: {resp}"
        );
        let req = json!({"stream_name": "KV", "config": {"deliver_subject": "d", "deliver_policy": "last_per_subject", "filter_subject": "kv.b1.*"}});
        js.request("$JS.API.CONSUMER.CREATE.KV", Some(&req));
        let sid = js.conn.subscribe("d");
        let check_next = |js: &mut JsClient, subject: &str, sseq: u64, v: &str| {
            let m = js
                .conn
                .next_msg(sid, Duration::from_secs(1))
                .expect("Error receiving message");
            assert_eq!(m.subject, subject, "Expected subject {subject:?}");
            assert_eq!(m.ack_info().stream_seq, sseq, "Expected stream seq {sseq}");
            assert_eq!(m.payload, v.as_bytes(), "Expected data of {v:?}");
        };
        check_sub_pending(&mut js, sid, 3, Duration::from_secs(10));
        check_next(&mut js, "kv.b1.foo", 61, "11");
        check_next(&mut js, "kv.b1.bar", 63, "11");
        check_next(&mut js, "kv.b1.baz", 65, "11");
        let _ = js.publish("kv.b1.bar", &[], b"22");
        // Not through the filter.
        let _ = js.publish("kv.b2.foo", &[], b"22");
        check_sub_pending(&mut js, sid, 1, Duration::from_secs(10));
        check_next(&mut js, "kv.b1.bar", 67, "22");
    }
}

port!("server/jetstream_test.go::TestJetStreamDeliverLastPerSubjectNumPending" => deliver_last_per_subject_num_pending);
fn deliver_last_per_subject_num_pending() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "KV", "subjects": ["KV.>"], "max_msgs_per_subject": 5, "num_replicas": 1,
    }))
    .unwrap_or_else(|e| panic!("Error adding stream: {e}"));
    for i in 0..5 {
        let msg = format!("msg{i}");
        for subj in ["KV.foo", "KV.bar", "KV.baz", "KV.bat"] {
            let _ = js.publish(subj, &[], msg.as_bytes());
        }
    }
    let _ = js.delete_msg("KV", 2);
    let _ = js.delete_msg("KV", 5);
    let ci = js
        .add_consumer(
            "KV",
            json!({
                "deliver_subject": new_inbox(), "ack_policy": "explicit",
                "deliver_policy": "last_per_subject", "filter_subject": "KV.>",
            }),
        )
        .unwrap_or_else(|e| panic!("Error adding consumer: {e}"));
    assert_eq!(ci.num_pending, 4, "Expected 4 pending msgs");
}

port!("server/jetstream_test.go::TestJetStreamPurgeEffectsConsumerDelivery" => purge_effects_consumer_delivery);
fn purge_effects_consumer_delivery() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.*"]}))
        .unwrap();
    let _ = js.publish("foo.a", &[], b"show once");
    let sub = js
        .subscribe_sync(
            "foo.*",
            json!({"ack_wait": 250_000_000, "deliver_policy": "all", "ack_policy": "explicit"}),
        )
        .unwrap();
    check_sub_pending(&mut js, sub.sid, 1, Duration::from_secs(10));
    // Not acked.
    js.next_msg(&sub, Duration::from_secs(1))
        .expect("Error receiving message");
    js.purge_stream("TEST", None)
        .unwrap_or_else(|e| panic!("Unexpected purge error: {e}"));
    let _ = js.publish("foo.b", &[], b"show twice?");
    // Not acked either: it comes back.
    js.next_msg(&sub, Duration::from_secs(1))
        .expect("Error receiving message");
    js.next_msg(&sub, Duration::from_secs(1))
        .expect("Error receiving message");
}

port!("server/jetstream_test.go::TestJetStreamExpireCausesDeadlock" => expire_causes_deadlock);
fn expire_causes_deadlock() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo.*"], "storage": "memory", "max_msgs": 10,
        "retention": "interest",
    }))
    .unwrap();
    let _sub = js.subscribe_sync("foo.bar", json!({})).unwrap();
    // Two connections publishing at once.
    let mut js2 = s.client();
    let msgs: Vec<(&str, &[u8])> = vec![("foo.bar", b"HELLO"); 1000];
    let other = std::thread::spawn(move || {
        let msgs: Vec<(&str, &[u8])> = vec![("foo.bar", b"HELLO"); 1000];
        js2.publish_async(&msgs);
    });
    let start = Instant::now();
    js.publish_async(&msgs);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "Did not receive completion signal"
    );
    other.join().unwrap();
    // A deadlock would leave no answer here.
    js.stream_info("TEST", None)
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
}

port!("server/jetstream_test.go::TestJetStreamPerSubjectPending" => per_subject_pending);
fn per_subject_pending() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "KV_X", "subjects": ["$KV.X.>"], "max_msgs_per_subject": 5, "storage": storage,
        }))
        .unwrap_or_else(|e| panic!("add stream failed: {e}"));
        js.publish("$KV.X.x.y.z", &[], b"hello world")
            .unwrap_or_else(|e| panic!("publish failed: {e:?}"));
        // Something unrelated after it.
        js.publish("$KV.X.1", &[], b"hello world")
            .unwrap_or_else(|e| panic!("publish failed: {e:?}"));
        let sub = js
            .subscribe_sync("$KV.X.x.>", json!({"deliver_policy": "last_per_subject"}))
            .unwrap_or_else(|e| panic!("subscribe failed: {e}"));
        let msg = js
            .next_msg(&sub, Duration::from_secs(1))
            .expect("next failed");
        assert_eq!(msg.ack_info().pending, 0, "expected numpending 0");
    }
}

port!("server/jetstream_test.go::TestJetStreamPurgeAndFilteredConsumers" => purge_and_filtered_consumers);
fn purge_and_filtered_consumers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "S", "subjects": ["FOO.*"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish("FOO.adam", &[], b"M").unwrap();
        js.publish("FOO.eve", &[], b"F").unwrap();
    }
    let ci = js
        .add_consumer(
            "S",
            json!({"durable_name": "adam", "ack_policy": "explicit", "filter_subject": "FOO.adam"}),
        )
        .unwrap();
    assert_eq!(ci.num_pending, 10, "Expected NumPending to be 10");
    let ci = js
        .add_consumer(
            "S",
            json!({"durable_name": "eve", "ack_policy": "explicit", "filter_subject": "FOO.eve"}),
        )
        .unwrap();
    assert_eq!(ci.num_pending, 10, "Expected NumPending to be 10");
    // Unfiltered, over the interleaved messages.
    js.add_consumer(
        "S",
        json!({"durable_name": "all", "ack_policy": "explicit"}),
    )
    .unwrap();
    // Purge adam's only.
    js.purge_stream("S", Some(json!({"filter": "FOO.adam"})))
        .unwrap();
    assert_eq!(
        js.stream_state("S").msgs,
        10,
        "Expected 10 messages after purge"
    );
    assert_eq!(
        js.cinfo("S", "eve").num_pending,
        10,
        "Expected NumPending to be 10"
    );
    let ci = js.cinfo("S", "adam");
    assert_eq!(ci.num_pending, 0, "Expected NumPending to be 0");
    assert_eq!(
        ci.ack_floor.stream, 20,
        "Expected AckFloor for stream to be 20"
    );
    assert_eq!(
        js.cinfo("S", "all").num_pending,
        10,
        "Expected NumPending to be 10"
    );
}

port!("server/jetstream_test.go::TestJetStreamInvalidDeliverSubject" => invalid_deliver_subject);
fn invalid_deliver_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    let err = js
        .add_consumer("TEST", json!({"deliver_subject": " x"}))
        .unwrap_err();
    require_error(
        &err.to_string(),
        &["invalid push consumer deliver subject (10112)"],
    );
}

/// Whether consumer `name` of `stream` still exists.
fn consumer_exists(js: &mut JsClient, stream: &str, name: &str) -> bool {
    js.consumer_info(stream, name).is_ok()
}

port!("server/jetstream_test.go::TestJetStreamEphemeralPullConsumers" => ephemeral_pull_consumers);
fn ephemeral_pull_consumers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "EC", "storage": "memory"}))
        .unwrap();
    // Go lowers the threshold to 50ms after creating the consumer; the API sets it at
    // creation.
    let eph = json!({"ack_policy": "explicit", "inactive_threshold": 50_000_000});
    let ci = js.add_consumer("EC", eph.clone()).unwrap();
    assert!(consumer_exists(&mut js, "EC", &ci.name));
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !consumer_exists(&mut js, "EC", &ci.name),
        "Expected consumer to be closed and removed"
    );

    // A waiting request keeps it until its interest is gone.
    let ci = js.add_consumer("EC", eph).unwrap();
    assert!(
        consumer_exists(&mut js, "EC", &ci.name),
        "Error looking up consumer {:?}",
        ci.name
    );
    let sid = js.conn.subscribe("xx");
    js.conn.publish_request(
        &next_subject("EC", &ci.name),
        "xx",
        json!({"batch": 10, "expires": 250_000_000})
            .to_string()
            .as_bytes(),
    );
    js.conn.flush();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        consumer_exists(&mut js, "EC", &ci.name),
        "Expected consumer to still be active"
    );
    js.conn.unsubscribe(sid);
    check_for(Duration::from_secs(5), Duration::from_millis(10), || {
        if consumer_exists(&mut js, "EC", &ci.name) {
            Err("Consumer still present".into())
        } else {
            Ok(())
        }
    });
}

port!("server/jetstream_test.go::TestJetStreamEphemeralPullConsumersInactiveThresholdAndNoWait" => ephemeral_pull_consumers_inactive_threshold_and_no_wait);
fn ephemeral_pull_consumers_inactive_threshold_and_no_wait() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ECIT", "storage": "memory"}))
        .unwrap();
    let ci = js
        .add_consumer(
            "ECIT",
            json!({"ack_policy": "explicit", "inactive_threshold": 100_000_000}),
        )
        .unwrap();
    // No-wait requests every 25ms keep it.
    let req = json!({"batch": 10, "no_wait": true}).to_string();
    let next = next_subject("ECIT", &ci.name);
    for _ in 0..10 {
        js.conn.publish_request(&next, "xx", req.as_bytes());
        js.conn.flush();
        std::thread::sleep(Duration::from_millis(25));
    }
    js.consumer_info("ECIT", &ci.name).unwrap();
}

port!("server/jetstream_test.go::TestJetStreamNakRedeliveryWithNoWait" => nak_redelivery_with_no_wait);
fn nak_redelivery_with_no_wait() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.publish("foo", &[], b"NAK").unwrap();
    let req = json!({"stream_name": "TEST", "config": {
        "durable_name": "dlc", "ack_policy": "explicit", "max_deliver": 3,
        "ack_wait": 60 * SECOND, "backoff": [5 * SECOND, 10 * SECOND],
    }});
    let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.TEST.dlc", Some(&req));
    assert!(resp.get("error").is_none(), "Unexpected error: {resp}");
    let next = next_subject("TEST", "dlc");
    let m = js
        .conn
        .request(&next, &[], b"", Duration::from_secs(1))
        .unwrap();
    // Nak with a delay of 500ms.
    js.conn.publish(&m.reply, b"-NAK  {\"delay\":500000000}");
    // True no-wait requests (no expiry) until it is redelivered.
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        let m = js
            .conn
            .request(
                &next,
                &[],
                br#"{"batch":1, "no_wait": true}"#,
                Duration::from_secs(1),
            )
            .unwrap();
        if !m.payload.is_empty() {
            return;
        }
        // So we do not spin.
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("Did not get the message in time");
}
