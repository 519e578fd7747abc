//! Publishes and their acks: `TestJetStreamPubAck`, the `Nats-Expected-*` and
//! `Nats-Msg-Id` headers, size limits.

use super::*;
use ported::jetstream::{
    now_nanos, parse_go_time, run_basic_jetstream_server, run_jetstream_server, StreamState,
};
use ported::port;
use ported::support::default_test_options;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamPubAck" => pub_ack);
fn pub_ack() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let sname = "PUBACK";
    js.add_stream(json!({"name": sname, "subjects": ["foo"], "storage": "memory"}))
        .unwrap();
    // Every ack names the stream and the message's sequence.
    for i in 1..=1000u64 {
        let pa = request_msg(&mut js, "foo", &[], b"HELLO");
        assert!(
            pa.get("error").is_none(),
            "Expected a valid JetStreamPubAck, got {pa}"
        );
        assert_eq!(pa["stream"], json!(sname));
        assert_eq!(pa["seq"], json!(i));
    }
}

port!("server/jetstream_test.go::TestJetStreamBasicAckPublish" => basic_ack_publish);
fn basic_ack_publish() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "foo", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        for _ in 0..50 {
            send_stream_msg(&mut js, "foo.bar", "Hello World!");
        }
        assert_eq!(js.stream_state("foo").msgs, 50);
    }
}

port!("server/jetstream_test.go::TestJetStreamStateTimestamps" => state_timestamps);
fn state_timestamps() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "foo", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let start = now_nanos();
        let delay = Duration::from_millis(250);
        send_stream_msg(&mut js, "foo.bar", "Hello World!");
        // The time between the two messages is what is checked.
        std::thread::sleep(delay);
        send_stream_msg(&mut js, "foo.bar", "Hello World Again!");

        let state = js.stream_state("foo");
        let first = parse_go_time(&state.first_ts);
        let last = parse_go_time(&state.last_ts);
        assert!(
            first >= start,
            "Unexpected first message timestamp: {}",
            state.first_ts
        );
        assert!(
            last >= start + delay.as_nanos() as i128,
            "Unexpected last message timestamp: {}",
            state.last_ts
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamPublishExpect" => publish_expect);
fn publish_expect() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let mname = "EXPECT";
    js.add_stream(json!({
        "name": mname, "storage": "file", "max_age": HOUR, "subjects": ["foo.*"],
    }))
    .unwrap();

    // No error when the expected stream is right.
    let pa = request_msg(
        &mut js,
        "foo.bar",
        &[("Nats-Expected-Stream", mname)],
        b"HELLO",
    );
    assert!(
        pa.get("error").is_none(),
        "Expected a valid JetStreamPubAck, got {pa}"
    );
    // An error when another stream is expected.
    let pa = request_msg(
        &mut js,
        "foo.bar",
        &[("Nats-Expected-Stream", "ORDERS")],
        b"HELLO",
    );
    assert!(pa.get("error").is_some(), "Expected an error, got {pa}");
    // And when another last sequence is expected.
    let pa = request_msg(
        &mut js,
        "foo.bar",
        &[
            ("Nats-Expected-Stream", mname),
            ("Nats-Expected-Last-Sequence", "10"),
        ],
        b"HELLO",
    );
    assert!(pa.get("error").is_some(), "Expected an error, got {pa}");
    // Or no messages at all ("0").
    let pa = request_msg(
        &mut js,
        "foo.bar",
        &[
            ("Nats-Expected-Stream", mname),
            ("Nats-Expected-Last-Sequence", "0"),
        ],
        b"HELLO",
    );
    assert!(pa.get("error").is_some(), "Expected an error, got {pa}");

    // A message ID, then an expectation on it.
    js.conn
        .request("foo.bar", &[("Nats-Msg-Id", "AAA")], b"HELLO", ACK_WAIT)
        .expect("Unexpected error");
    let pa = request_msg(
        &mut js,
        "foo.bar",
        &[("Nats-Msg-Id", "ZZZ"), ("Nats-Expected-Last-Msg-Id", "BBB")],
        b"HELLO",
    );
    assert!(pa.get("error").is_some(), "Expected an error, got {pa}");

    // After a restart the last sequence and the last message ID are remembered.
    drop(js);
    s.restart();
    let mut js = s.client();
    // The last sequence was 2 and the last message ID "AAA".
    let pa = request_msg(
        &mut js,
        "foo.baz",
        &[
            ("Nats-Expected-Last-Sequence", "2"),
            ("Nats-Expected-Last-Msg-Id", "AAA"),
            ("Nats-Msg-Id", "BBB"),
        ],
        b"HELLO AGAIN",
    );
    assert!(
        pa.get("error").is_none(),
        "Expected a valid JetStreamPubAck, got {pa}"
    );
}

port!("server/jetstream_test.go::TestJetStreamPublishExpectNoMsg" => publish_expect_no_msg);
fn publish_expect_no_msg() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "KV", "subjects": ["KV.>"], "max_msgs_per_subject": 5}))
        .expect("add stream failed");
    js.publish("KV.22", &[], b"hello world").unwrap();

    let expect_none = [("Nats-Expected-Last-Subject-Sequence", "0")];
    // KV.33 has no message yet.
    js.publish("KV.33", &expect_none, b"").unwrap();
    // KV.22 has one.
    assert!(
        js.publish("KV.22", &expect_none, b"").is_err(),
        "Expected error"
    );
    js.purge_stream("KV", None).expect("Unexpected purge error");
    // Now it has none.
    js.publish("KV.22", &expect_none, b"").unwrap();
}

port!("server/jetstream_test.go::TestJetStreamMsgIDHeaderCollision" => msg_id_header_collision);
fn msg_id_header_collision() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["ORDERS.*"]}))
        .unwrap();
    // Headers that merely contain the name Nats-Msg-Id are not message IDs.
    let headers: [&[(&str, &str)]; 5] = [
        &[("Nats-Msg-Id", "1")],
        &[("Orig-Nats-Msg-Id", "1")],
        &[("Original-Nats-Msg-Id", "1")],
        &[
            ("Original-Nats-Msg-Id", "1"),
            ("Really-Original-Nats-Msg-Id", "1"),
        ],
        &[("X", "Nats-Msg-Id:1")],
    ];
    for h in headers {
        js.publish("ORDERS.test", h, b"ok").unwrap();
    }
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(StreamState::of(&si).msgs, 5);
}

port!("server/jetstream_test.go::TestJetStreamInterestStreamWithDuplicateMessages" => interest_stream_with_duplicate_messages);
fn interest_stream_with_duplicate_messages() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "INTEREST", "subjects": ["interest"], "num_replicas": 1,
        "retention": "interest",
    }))
    .unwrap();
    // The first publish gets a sequence, even without interest.
    let pa = js
        .publish("interest", &[("Nats-Msg-Id", "dedupe")], b"")
        .unwrap();
    assert_eq!((pa.sequence, pa.duplicate), (1, false));
    // A duplicate without interest gets the same sequence.
    let pa = js
        .publish("interest", &[("Nats-Msg-Id", "dedupe")], b"")
        .unwrap();
    assert_eq!((pa.sequence, pa.duplicate), (1, true));
}

port!("server/jetstream_test.go::TestJetStreamRejectLargePublishes" => reject_large_publishes);
fn reject_large_publishes() {
    // Go's rlBadThresh: a message this large could not be read back from a block.
    const RL_BAD_THRESH: usize = 32 * 1024 * 1024;
    let mut opts = default_test_options();
    opts.max_payload = (RL_BAD_THRESH + 2048) as _;
    let s = run_jetstream_server(opts);
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["test"]}))
        .unwrap();

    js.publish("test", &[], &vec![0u8; RL_BAD_THRESH - 1024])
        .unwrap();
    let err = js
        .publish("test", &[], &vec![0u8; RL_BAD_THRESH + 1024])
        .unwrap_err()
        .api();
    assert!(err.to_string().contains("message too large"), "{err:?}");
    // The refusal does not get in the way of later publishes.
    js.publish("test", &[], b"ok").unwrap();
}

port!("server/jetstream_test.go::TestJetStreamMsgGetNoAdvisory" => msg_get_no_advisory);
fn msg_get_no_advisory() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "foo"})).unwrap();
    let msgs: Vec<(&str, &[u8])> = (0..100).map(|_| ("foo", &b"ok"[..])).collect();
    js.publish_async(&msgs);

    let sid = js.conn.subscribe("$JS.EVENT.ADVISORY.>");
    js.conn.flush();
    js.get_msg("foo", 1).unwrap();
    js.conn.flush();
    assert!(
        js.conn.next_msg(sid, Duration::from_millis(100)).is_none(),
        "a message get sent an advisory"
    );
}

port!("server/jetstream_test.go::TestJetStreamExpireAllWhileServerDown" => expire_all_while_server_down);
fn expire_all_while_server_down() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "max_age": 250_000_000}))
        .unwrap();
    let msgs: Vec<(&str, &[u8])> = (0..10_000).map(|_| ("TEST", &b"OK"[..])).collect();
    js.publish_async(&msgs);
    drop(js);
    s.shutdown();
    // Every message ages out while the server is down.
    std::thread::sleep(Duration::from_millis(300));
    s.restart();

    let mut js = s.client();
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(
        StreamState::of(&si).msgs,
        0,
        "Unexpected stream info state: {si}"
    );
    for _ in 0..10 {
        js.publish("TEST", &[], b"OK").unwrap();
    }
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(
        StreamState::of(&si).msgs,
        10,
        "Unexpected stream info state: {si}"
    );
}

port!("server/jetstream_test.go::TestJetStreamInterestStreamNoInterestSkipAdvancesLastTime" => interest_stream_no_interest_skip_advances_last_time);
fn interest_stream_no_interest_skip_advances_last_time() {
    for storage in ["memory", "file"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": storage, "retention": "interest",
        }))
        .unwrap();
        // A publish without interest still takes a sequence.
        assert_eq!(js.publish("foo", &[], b"one").unwrap().sequence, 1);
        let st = js.stream_state("TEST");
        assert_eq!((st.msgs, st.last_seq), (0, 1));
        let first = parse_go_time(&st.last_ts);

        // Past the access time service's granularity (Go's ats.TickInterval, 100 ms).
        std::thread::sleep(Duration::from_millis(200));

        // Still no interest: the sequence and the time both move.
        assert_eq!(js.publish("foo", &[], b"two").unwrap().sequence, 2);
        let st = js.stream_state("TEST");
        assert_eq!((st.msgs, st.last_seq), (0, 2));
        assert!(
            parse_go_time(&st.last_ts) > first,
            "{storage}: last time did not advance: {}",
            st.last_ts
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamPublishDeDupe" => publish_de_dupe);
fn publish_de_dupe() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let mname = "DeDupe";
    let si = js
        .add_stream(json!({
            "name": mname, "storage": "file", "max_age": HOUR, "subjects": ["foo.*"],
        }))
        .unwrap();
    // The default duplicate window (Go's StreamDefaultDuplicatesWindow, two minutes).
    assert_eq!(si["config"]["duplicate_window"], json!(120 * SECOND));
    let mut cfg = si["config"].clone();

    // Never negative.
    cfg["duplicate_window"] = json!(-25_000_000);
    assert!(js.update_stream(cfg.clone()).is_err(), "Expected an error");
    // Never longer than the max age, when there is one.
    cfg["duplicate_window"] = json!(2 * HOUR);
    assert!(js.update_stream(cfg.clone()).is_err(), "Expected an error");

    let send_msg = |js: &mut JsClient, seq: u64, id: &str, msg: &str| -> Value {
        let pa = request_msg(
            js,
            &format!("foo.{seq}"),
            &[("Nats-Msg-Id", id)],
            msg.as_bytes(),
        );
        assert!(
            pa.get("error").is_none(),
            "Expected a JetStreamPubAck, got {pa}"
        );
        assert_eq!(
            pa["seq"],
            json!(seq),
            "Did not get correct sequence in PubAck, got {pa}"
        );
        pa
    };
    let expect = |js: &mut JsClient, n: u64| assert_eq!(js.stream_state(mname).msgs, n);
    // Go's mset.numMsgIds(): the ids the stream's duplicate window holds.
    let num_msg_ids = |s: &ported::jetstream::JsServer| {
        s.shared()
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream(mname))
            .expect("the stream")
            .inner
            .lock()
            .dedup
            .len()
    };
    let nmids = |s: &ported::jetstream::JsServer, expected: usize| {
        ported::jetstream::check_for(
            Duration::from_millis(200),
            Duration::from_millis(10),
            || match num_msg_ids(s) {
                n if n == expected => Ok(()),
                n => Err(format!("Expected {expected} message ids, got {n}")),
            },
        );
    };

    send_msg(&mut js, 1, "AA", "Hello DeDupe!");
    send_msg(&mut js, 2, "BB", "Hello DeDupe!");
    send_msg(&mut js, 3, "CC", "Hello DeDupe!");
    send_msg(&mut js, 4, "ZZ", "Hello DeDupe!");
    expect(&mut js, 4);

    send_msg(&mut js, 1, "AA", "Hello DeDupe!");
    send_msg(&mut js, 2, "BB", "Hello DeDupe!");
    send_msg(&mut js, 4, "ZZ", "Hello DeDupe!");
    expect(&mut js, 4);

    let mut cfg = js.stream_info(mname, None).unwrap()["config"].clone();
    cfg["duplicate_window"] = json!(100_000_000);
    js.update_stream(cfg.clone()).unwrap();

    nmids(&s, 4);
    // Twice the window: the time passing is what is tested.
    std::thread::sleep(Duration::from_millis(200));

    send_msg(&mut js, 5, "AAA", "Hello DeDupe!");
    send_msg(&mut js, 6, "BBB", "Hello DeDupe!");
    send_msg(&mut js, 7, "CCC", "Hello DeDupe!");
    send_msg(&mut js, 8, "DDD", "Hello DeDupe!");
    send_msg(&mut js, 9, "ZZZ", "Hello DeDupe!");
    nmids(&s, 5);
    // They drop to zero in time.
    nmids(&s, 0);

    // Now across a restart.
    cfg["duplicate_window"] = json!(30 * 60 * SECOND);
    js.update_stream(cfg).unwrap();
    js.purge_stream(mname, None).unwrap();

    send_msg(&mut js, 10, "AAAA", "Hello DeDupe!");
    send_msg(&mut js, 11, "BBBB", "Hello DeDupe!");
    send_msg(&mut js, 12, "CCCC", "Hello DeDupe!");
    send_msg(&mut js, 13, "DDDD", "Hello DeDupe!");
    send_msg(&mut js, 14, "EEEE", "Hello DeDupe!");

    drop(js);
    s.restart();
    let mut js = s.client();
    assert_eq!(
        js.stream_state(mname).msgs,
        5,
        "Expected 5 restored messages"
    );
    nmids(&s, 5);

    // The same five again are duplicates.
    send_msg(&mut js, 10, "AAAA", "Hello DeDupe!");
    send_msg(&mut js, 11, "BBBB", "Hello DeDupe!");
    send_msg(&mut js, 12, "CCCC", "Hello DeDupe!");
    send_msg(&mut js, 13, "DDDD", "Hello DeDupe!");
    send_msg(&mut js, 14, "EEEE", "Hello DeDupe!");
    assert_eq!(
        js.stream_state(mname).msgs,
        5,
        "Expected 5 restored messages"
    );
    nmids(&s, 5);

    // And say so.
    let pa = send_msg(&mut js, 10, "AAAA", "Hello DeDupe!");
    assert_eq!(pa["duplicate"], json!(true), "Expected duplicate to be set");

    // A purge keeps the ids.
    js.purge_stream(mname, None).unwrap();
    nmids(&s, 5);
}
