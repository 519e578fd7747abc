//! Acknowledgements and redeliveries: ack replies, ack floors, NAKs, ack waits and
//! back-offs, max deliveries, max ack pending.

use super::*;
use ported::jetstream::{check_for, run_jetstream_server};
use ported::js_context::{new_inbox, MsgExt, SubOpts, MS, SEC};
use ported::port;
use ported::support::default_test_options;
use serde_json::json;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

fn next_subject(stream: &str, consumer: &str) -> String {
    format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}")
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckAck" => consumer_ack_ack);
fn consumer_ack_ack() {
    let (_s, mut js) = server_and_client();
    let mname = "ACK-ACK";
    js.add_stream(json!({"name": mname, "storage": "memory"}))
        .unwrap();
    js.add_consumer_direct(
        mname,
        json!({"durable_name": "worker", "ack_policy": "explicit"}),
    )
    .unwrap();
    let rqn = next_subject(mname, "worker");
    // One message for each kind of ack.
    for _ in 0..4 {
        send_stream_msg(&mut js, mname, "Hello World!");
    }
    for ack in ["+ACK", "-NAK", "+WPI", "+TERM"] {
        let m = js
            .js
            .conn
            .request(&rqn, &[], b"", Duration::from_millis(10))
            .unwrap_or_else(|e| panic!("{ack}: Unexpected error: {e:?}"));
        // The server acknowledges the ack.
        js.js
            .conn
            .request(&m.reply, &[], ack.as_bytes(), Duration::from_millis(10))
            .unwrap_or_else(|e| panic!("Unexpected error on ack/ack of {ack}: {e:?}"));
    }
}

/// The common part of the ack tests with `%` in the names: the message's reply has the
/// real names and its ack is acknowledged.
fn ack_with_percent_names(js: &mut JsContext, want_prefix: &str) {
    let mname = "TE%ST";
    js.add_stream(json!({"name": mname, "storage": "memory"}))
        .unwrap();
    js.add_consumer_direct(
        mname,
        json!({"durable_name": "wor%ker", "ack_policy": "explicit"}),
    )
    .unwrap();
    send_stream_msg(js, mname, "Hello World!");
    let next = next_subject("TE%ST", "wor%ker");
    let m = js.js.conn.request(&next, &[], b"", SECOND).unwrap();
    assert!(
        m.reply.starts_with(want_prefix),
        "reply {:?} does not start with {want_prefix:?}",
        m.reply
    );
    js.js
        .conn
        .request(&m.reply, &[], b"+ACK", SECOND)
        .expect("the ack acknowledged");
    check_for(SECOND, Duration::from_millis(25), || {
        let info = js.info(mname, "wor%ker");
        match info["num_ack_pending"].as_u64() {
            Some(0) => Ok(()),
            n => Err(format!("expected no ack pending, got {n:?}")),
        }
    });
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckV1NameWithPercent" => consumer_ack_v1_name_with_percent);
fn consumer_ack_v1_name_with_percent() {
    let (_s, mut js) = server_and_client();
    ack_with_percent_names(&mut js, "$JS.ACK.TE%ST.wor%ker.");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckV2NameWithPercent" => consumer_ack_v2_name_with_percent);
fn consumer_ack_v2_name_with_percent() {
    let mut opts = default_test_options();
    opts.jetstream_domain = "hu%b".into();
    opts.feature_flags.insert("js_ack_fc_v2".into(), true);
    let s = run_jetstream_server(opts);
    let mut js = JsContext::connect(s.addr());
    ack_with_percent_names(&mut js, "$JS.ACK.hu%b.szMpdrwD.TE%ST.wor%ker.");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckReplyFormats" => consumer_ack_reply_formats);
fn consumer_ack_reply_formats() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..4 {
        js.publish_ok("foo", b"");
    }
    let mut sub = js
        .pull_subscribe(
            "foo",
            "C",
            SubOpts::config(json!({"ack_policy": "explicit"})),
        )
        .unwrap();
    let msgs = js.fetch(&mut sub, 4, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 4);
    for reply in [
        "$JS.ACK.TEST.C.1.1.1.0.0",
        "$JS.ACK._.szMpdrwD.TEST.C.1.2.2.0.0",
        "$JS.ACK._.szMpdrwD.TEST.C.1.3.3.0.0.random",
        "$JS.ACK._.szMpdrwD.TEST.C.1.4.4.0.0.random.more.tokens",
    ] {
        let m = js
            .js
            .conn
            .request(reply, &[], b"", Duration::from_millis(250))
            .unwrap_or_else(|e| panic!("{reply}: {e:?}"));
        assert!(m.payload.is_empty(), "{reply}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerRetryAckAfterTimeout" => consumer_retry_ack_after_timeout);
fn consumer_retry_ack_after_timeout() {
    for policy in ["explicit", "all"] {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
            .unwrap();
        js.publish_ok("foo", b"");
        let mut sub = js
            .pull_subscribe(
                "foo",
                "CONSUMER",
                SubOpts::config(json!({"ack_policy": policy})),
            )
            .unwrap();
        let msgs = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
        assert_eq!(msgs.len(), 1);
        // A core request: the client does not know the message is acked.
        js.js
            .conn
            .request(&msgs[0].reply, &[], b"", SECOND)
            .unwrap();
        // Acked already, the success answer lost: a retry still succeeds.
        js.ack_sync(&msgs[0])
            .unwrap_or_else(|e| panic!("{policy}: {e}"));
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckFloorFill" => consumer_ack_floor_fill);
fn consumer_ack_floor_fill() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MQ", "storage": storage}))
            .unwrap();
        for i in 1..=4 {
            send_stream_msg(&mut js, "MQ", &format!("msg-{i}"));
        }
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.add_consumer_direct(
            "MQ",
            json!({"durable_name": "d", "deliver_subject": inbox, "ack_policy": "explicit"}),
        )
        .unwrap();
        let mut first = None;
        for i in 1..=3 {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Error receiving message {i}"));
            // Not 1 (nor 4).
            if i == 1 {
                first = Some(m);
            } else {
                js.respond_nil(&m);
            }
        }
        js.flush();
        let info = js.info("MQ", "d");
        assert_eq!(info["ack_floor"]["consumer_seq"], 0, "{name}: {info}");
        // Acking the first moves the floor to 3.
        js.respond_nil(&first.unwrap());
        js.flush();
        check_for(SECOND, Duration::from_millis(50), || {
            let info = js.info("MQ", "d");
            if info["ack_floor"]["consumer_seq"] == 3 {
                Ok(())
            } else {
                Err(format!("Expected the ack floor to be 3, got {info}"))
            }
        });
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerNakThenAckFloorMove" => consumer_nak_then_ack_floor_move);
fn consumer_nak_then_ack_floor_move() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..11 {
        js.publish_ok("foo", b"OK");
    }
    let mut sub = js
        .pull_subscribe("foo", "dlc", SubOpts::config(json!({"ack_wait": 100 * MS})))
        .unwrap();
    let msgs = js.fetch(&mut sub, 11, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 11);
    js.nak(&msgs[0]);
    for m in &msgs[1..10] {
        js.ack_sync(m).unwrap();
    }
    let last = msgs[10].clone();
    let ci = js.sub_info(&sub);
    assert_eq!(ci["ack_floor"]["consumer_seq"], 0, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 0, "{ci}");
    assert_eq!(ci["num_ack_pending"], 2, "{ci}");
    // The first message again, acknowledged this time.
    let again = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
    js.ack_sync(&again[0]).unwrap();
    let ci = js.sub_info(&sub);
    assert_eq!(ci["delivered"]["consumer_seq"], 12, "{ci}");
    assert_eq!(ci["delivered"]["stream_seq"], 11, "{ci}");
    assert_eq!(ci["ack_floor"]["consumer_seq"], 10, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 10, "{ci}");
    assert_eq!(ci["num_ack_pending"], 1, "{ci}");
    // Acking the last collapses the floor onto the deliveries.
    js.ack_sync(&last).unwrap();
    let ci = js.sub_info(&sub);
    assert_eq!(ci["delivered"]["consumer_seq"], 12, "{ci}");
    assert_eq!(ci["delivered"]["stream_seq"], 11, "{ci}");
    assert_eq!(ci["ack_floor"]["consumer_seq"], 12, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 11, "{ci}");
    assert_eq!(ci["num_ack_pending"], 0, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckFloorWithExpired" => consumer_ack_floor_with_expired);
fn consumer_ack_floor_with_expired() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "max_age": 2 * SEC}))
        .unwrap();
    let n = 100u64;
    for _ in 0..n {
        send_stream_msg(&mut js, "foo", "OK");
    }
    let mut sub = js
        .pull_subscribe("foo", "dlc", SubOpts::config(json!({"ack_wait": SEC})))
        .unwrap();
    // All of them pending.
    let msgs = js.fetch(&mut sub, n as usize, 5 * SECOND).unwrap();
    assert_eq!(msgs.len() as u64, n);
    // Let them all expire.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(js.stream_state("TEST").msgs, 0);
    let ci = js.info("TEST", "dlc");
    assert_eq!(ci["delivered"]["consumer_seq"], n, "{ci}");
    assert_eq!(ci["delivered"]["stream_seq"], n, "{ci}");
    assert_eq!(ci["ack_floor"]["consumer_seq"], n, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], n, "{ci}");
    assert_eq!(ci["num_ack_pending"], 0, "{ci}");
    assert_eq!(ci["num_pending"], 0, "{ci}");
    assert_eq!(ci["num_redelivered"], 0, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPendingCountWithRedeliveries" => consumer_pending_count_with_redeliveries);
fn consumer_pending_count_with_redeliveries() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "test", "ack_policy": "explicit", "ack_wait": 50 * MS, "max_deliver": 1}),
    )
    .unwrap();
    js.publish_ok("foo", b"msg1");
    let mut sub = js
        .pull_subscribe("foo", "test", SubOpts::default())
        .unwrap();
    let msgs = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
    for m in &msgs {
        assert_eq!(m.payload, b"msg1");
        // Not acknowledged.
    }
    let ci = js.info("TEST", "test");
    assert_eq!(ci["num_pending"], 0, "{ci}");
    // Past its ack wait.
    std::thread::sleep(Duration::from_millis(100));
    js.publish_ok("foo", b"msg2");
    let msgs = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
    for m in &msgs {
        assert_eq!(m.payload, b"msg2");
        assert_eq!(m.metadata().num_delivered, 1, "deliver count");
    }
    let ci = js.info("TEST", "test");
    assert_eq!(ci["num_pending"], 0, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxDeliverUpdate" => consumer_max_deliver_update);
fn consumer_max_deliver_update() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let mut max_deliver = 2;
    js.add_consumer(
        "TEST",
        json!({"durable_name": "ard", "ack_policy": "explicit", "filter_subject": "foo", "max_deliver": max_deliver}),
    )
    .unwrap();
    let mut sub = js.pull_subscribe("foo", "ard", SubOpts::default()).unwrap();
    let check_max_deliver = |js: &mut JsContext, sub: &mut ported::js_context::JsSub, max: i64| {
        for i in 0..=max {
            let r = js.fetch(sub, 2, Duration::from_millis(100));
            if i < max {
                let msgs = r.unwrap_or_else(|e| panic!("delivery {i}: {e}"));
                assert_eq!(msgs.len(), 1);
                js.nak(&msgs[0]);
            } else {
                assert_eq!(
                    r.map(|m| m.len()),
                    Err(ported::js_context::JsError::Timeout)
                );
            }
        }
    };
    js.publish_ok("foo", b"Hello");
    check_max_deliver(&mut js, &mut sub, max_deliver);
    max_deliver += 1;
    js.update_consumer(
        "TEST",
        json!({"durable_name": "ard", "ack_policy": "explicit", "filter_subject": "foo", "max_deliver": max_deliver}),
    )
    .unwrap();
    js.publish_ok("foo", b"Hello");
    check_max_deliver(&mut js, &mut sub, max_deliver);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerBackoffNotRespectedWithMultipleInflightRedeliveries" => consumer_backoff_not_respected_with_multiple_inflight_redeliveries);
fn consumer_backoff_not_respected_with_multiple_inflight_redeliveries() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["events.>"]}))
        .unwrap();
    let max_deliver = 3u64;
    let backoff = [2 * SECOND, 4 * SECOND];
    let sub = js
        .subscribe_sync(
            "events.>",
            SubOpts::config(json!({
                "max_deliver": max_deliver,
                "backoff": [2 * SEC, 4 * SEC],
                "ack_policy": "explicit",
            })),
        )
        .unwrap();
    let expected_backoff = |delivered: u64| {
        let mut d = Duration::from_millis(500);
        for b in backoff.iter().take((delivered as usize).saturating_sub(1)) {
            d += *b;
        }
        d
    };
    // One message redelivered with the last back-off.
    let first_sent = Instant::now();
    send_stream_msg(&mut js, "events.first", "msg-1");
    js.must_next(&sub, SECOND);
    assert!(first_sent.elapsed() < expected_backoff(1));
    js.must_next(&sub, 5 * SECOND);
    assert!(first_sent.elapsed() < expected_backoff(2));
    // A new message starts at the first back-off, not the last.
    send_stream_msg(&mut js, "events.second", "msg-2");
    loop {
        let m = js.must_next(&sub, 5 * SECOND);
        if m.subject == "events.first" {
            assert!(first_sent.elapsed() < expected_backoff(3));
            continue;
        }
        let meta = m.metadata();
        let since = ported::jetstream::now_nanos() - i128::from(meta.timestamp);
        let since = Duration::from_nanos(since.max(0) as u64);
        assert!(
            since < expected_backoff(meta.num_delivered),
            "delivery {} came after {since:?}",
            meta.num_delivered
        );
        if meta.num_delivered >= max_deliver {
            break;
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerBackoffWhenBackoffLengthIsEqualToMaxDeliverConfig" => consumer_backoff_when_backoff_length_is_equal_to_max_deliver_config);
fn consumer_backoff_when_backoff_length_is_equal_to_max_deliver_config() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["events.>"]}))
        .unwrap();
    let backoff = [SECOND, 2 * SECOND, 3 * SECOND];
    let sub = js
        .subscribe_sync(
            "events.>",
            SubOpts::config(json!({
                "max_deliver": 3, "backoff": [SEC, 2 * SEC, 3 * SEC], "ack_policy": "explicit",
            })),
        )
        .unwrap();
    // 50 ms of margin for the system.
    let expected = |delivered: usize| backoff[delivered - 1] + Duration::from_millis(50);
    let first_sent = Instant::now();
    send_stream_msg(&mut js, "events.first", "msg-1");
    js.must_next(&sub, SECOND);
    assert!(first_sent.elapsed() < expected(1));
    js.must_next(&sub, 2 * SECOND);
    assert!(first_sent.elapsed() < expected(2));
    js.must_next(&sub, 3 * SECOND);
    assert!(first_sent.elapsed() < expected(3));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxDeliveries" => consumer_max_deliveries);
fn consumer_max_deliveries() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage}))
            .unwrap();
        send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        let max_deliver = 5;
        let ack_wait = Duration::from_millis(10);
        js.add_consumer_direct(
            "MY_WQ",
            json!({
                "deliver_subject": inbox, "ack_policy": "explicit",
                "ack_wait": ack_wait.as_nanos() as i64, "max_deliver": max_deliver,
            }),
        )
        .unwrap();
        // The redeliveries pile up.
        js.check_pending_within(sid, max_deliver, Duration::from_millis(250));
        // And no more than max deliver.
        std::thread::sleep(2 * ack_wait);
        assert_eq!(
            js.pending(sid),
            max_deliver,
            "{name}: Did not receive correct number of messages"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxAckPending" => consumer_max_ack_pending);
fn consumer_max_ack_pending() {
    for (name, storage) in STORAGES {
        let (s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MY_STREAM", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        // Max ack pending needs acks.
        js.add_consumer_direct(
            "MY_STREAM",
            json!({"durable_name": "d22", "deliver_subject": new_inbox(), "ack_policy": "none", "max_ack_pending": 1}),
        )
        .expect_err("MaxAckPending only applicable to ack != AckNone");
        let to_send = 100;
        for i in 0..to_send {
            send_stream_msg(&mut js, "foo.bar", &format!("MSG: {}", i + 1));
        }
        let max_ack_pending = 33;
        let ci = js
            .add_consumer_direct(
                "MY_STREAM",
                json!({"durable_name": "d22", "deliver_subject": new_inbox(), "ack_policy": "explicit", "max_ack_pending": max_ack_pending}),
            )
            .unwrap();
        let deliver = ci["config"]["deliver_subject"]
            .as_str()
            .unwrap()
            .to_string();
        let sid = js.subscribe_sync_core(&deliver);
        js.check_pending_within(sid, max_ack_pending, SECOND);
        assert_eq!(
            js.pending(sid),
            max_ack_pending,
            "{name}: Too many messages received"
        );
        // Acking them lets as many more come.
        for i in 0..max_ack_pending {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Error receiving message {i}"));
            js.respond_nil(&m);
        }
        js.check_pending_within(sid, max_ack_pending, SECOND);
        // The consumer stops (it stays, as Go's o.stop()) and the stream is purged.
        s.consumer("MY_STREAM", "d22").stop(s.shared());
        js.purge_stream("MY_STREAM", None).unwrap();

        // A consumer live while messages are published.
        let ci = js
            .add_consumer_direct(
                "MY_STREAM",
                json!({"durable_name": "d33", "deliver_subject": new_inbox(), "ack_policy": "explicit", "max_ack_pending": max_ack_pending}),
            )
            .unwrap();
        let deliver = ci["config"]["deliver_subject"]
            .as_str()
            .unwrap()
            .to_string();
        let sid = js.subscribe_sync_core(&deliver);
        js.check_pending_within(sid, 0, SECOND);
        for i in 0..to_send {
            send_stream_msg(&mut js, "foo.baz", &format!("MSG: {}", i + 1));
        }
        js.check_pending_within(sid, max_ack_pending, SECOND);
        assert_eq!(
            js.pending(sid),
            max_ack_pending,
            "{name}: Too many messages received"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUpdateRedelivery" => consumer_update_redelivery);
fn consumer_update_redelivery() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({
            "name": "MY_STREAM", "storage": storage, "subjects": ["foo.>"], "retention": "interest",
        }))
        .unwrap();
        let cfg = |deliver: &str| {
            json!({
                "durable_name": "dur22", "deliver_subject": deliver, "filter_subject": "foo.bar",
                "ack_policy": "explicit", "ack_wait": 500 * MS, "max_deliver": 3,
            })
        };
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.add_consumer_direct("MY_STREAM", cfg(&inbox)).unwrap();
        let to_send = 20u64;
        for i in 1..=to_send {
            send_stream_msg(&mut js, "foo.bar", &format!("msg-{i}"));
        }
        assert_eq!(js.stream_state("MY_STREAM").msgs, to_send);
        // Only every 4th is acknowledged.
        for _ in 0..to_send {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Error getting message"));
            if m.metadata().stream_seq.is_multiple_of(4) {
                js.respond_nil(&m);
            }
        }
        // A new subscription and the consumer updated to it.
        js.unsubscribe_core(sid);
        check_for(
            Duration::from_millis(200),
            Duration::from_millis(10),
            || match js.info("MY_STREAM", "dur22")["push_bound"].as_bool() {
                Some(true) => Err("Consumer still active".into()),
                _ => Ok(()),
            },
        );
        for i in to_send..to_send * 2 {
            send_stream_msg(&mut js, "foo.bar", &format!("msg-{i}"));
        }
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.add_consumer_direct("MY_STREAM", cfg(&inbox))
            .unwrap_or_else(|e| panic!("{name}: Unexpected error adding consumer: {e:?}"));
        let expect = (to_send + to_send - 5) as usize;
        js.check_pending_within(sid, expect, SECOND);
        let mut eseq = 1u64;
        for _ in 0..expect {
            let m = js.next_msg_core(sid, SECOND).unwrap();
            // The ones acknowledged above do not come back.
            if eseq <= to_send && eseq.is_multiple_of(4) {
                eseq += 1;
            }
            let meta = m.metadata();
            assert_eq!(meta.stream_seq, eseq, "{name}: stream sequence");
            if meta.stream_seq <= to_send {
                assert_eq!(meta.num_delivered, 2, "{name}: delivery count of {eseq}");
            } else {
                assert_eq!(meta.num_delivered, 1, "{name}: delivery count of {eseq}");
                js.respond_nil(&m);
            }
            eseq += 1;
        }
        // The first half comes back again, unacknowledged.
        let expect = (to_send - 5) as usize;
        js.check_pending_within(sid, expect, 5 * SECOND);
        let mut eseq = 1u64;
        for _ in 0..expect {
            let m = js.next_msg_core(sid, SECOND).unwrap();
            if eseq <= to_send && eseq.is_multiple_of(4) {
                eseq += 1;
            }
            let meta = m.metadata();
            assert_eq!(meta.stream_seq, eseq, "{name}: stream sequence");
            assert_eq!(meta.num_delivered, 3, "{name}: delivery count of {eseq}");
            eseq += 1;
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullDelayedFirstPullWithReplayOriginal" => consumer_pull_delayed_first_pull_with_replay_original);
fn consumer_pull_delayed_first_pull_with_replay_original() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage}))
            .unwrap();
        send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        js.add_consumer_direct(
            "MY_WQ",
            json!({"durable_name": "d", "ack_policy": "explicit", "replay_policy": "original"}),
        )
        .unwrap();
        // The delay that triggered the bug.
        std::thread::sleep(Duration::from_millis(250));
        js.js
            .conn
            .request(&next_subject("MY_WQ", "d"), &[], b"", SECOND)
            .unwrap_or_else(|e| panic!("{name}: Unexpected error: {e:?}"));
    }
}

/// Publishes `n` messages on `foo` to a stream `TEST` and pulls them twice through a
/// consumer with max deliver 2 and a 200 ms ack wait (Go's "burn through MaxDeliver").
fn burn_max_deliver(js: &mut JsContext, n: usize) -> ported::js_context::JsSub {
    for _ in 0..n {
        js.js.publish_ok("foo", b"");
    }
    let mut sub = js
        .pull_subscribe(
            "",
            "CONSUMER",
            SubOpts::bind_stream("TEST").with(json!({
                "max_deliver": 2, "ack_policy": "explicit", "ack_wait": 200 * MS,
            })),
        )
        .unwrap();
    for _ in 0..2 {
        let msgs = js.fetch(&mut sub, n, SECOND).unwrap();
        assert_eq!(msgs.len(), n);
    }
    sub
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWQMaxDeliveryAckFloorAdvancesWithPending" => consumer_wq_max_delivery_ack_floor_advances_with_pending);
fn consumer_wq_max_delivery_ack_floor_advances_with_pending() {
    let (s, mut js) = server_and_client();
    js.js
        .add_stream(json!({"name": "TEST", "subjects": ["foo"], "retention": "workqueue"}))
        .unwrap();
    let mut sub = burn_max_deliver(&mut js, 3);
    js.js.publish_ok("foo", b"");
    // The ack wait runs out: 1, 2 and 3 are out of deliveries.
    std::thread::sleep(Duration::from_millis(300));
    // Message 4 comes from the stream.
    let msgs = js.fetch(&mut sub, 1, SECOND).unwrap();
    assert_eq!(msgs.len(), 1);

    let o = s.consumer("TEST", "CONSUMER");
    let (pending, rdc, asflr) = {
        let c = o.cursor.lock();
        let rdc = c.max_delivered.len() + c.pending.values().filter(|p| p.dc > 1).count();
        (c.pending.len(), rdc, c.ack_floor.1)
    };
    // 4 pending; 1, 2 and 3 kept as redelivered.
    assert_eq!(pending, 1);
    assert_eq!(rdc, 3);
    // The floor moved past the messages out of deliveries.
    assert_eq!(asflr, 3);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWQMaxDeliveryRdcCleanedOnMaxAge" => consumer_wq_max_delivery_rdc_cleaned_on_max_age, opt_in = "timing: Go's 750 ms max age must not expire the messages before the ~500 ms of fetches and waits that burn their deliveries end; 20 of 20 with four CPU burners, 19 of 20 (twice) with eight");
fn consumer_wq_max_delivery_rdc_cleaned_on_max_age() {
    let (s, mut js) = server_and_client();
    js.js
        .add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "retention": "workqueue", "max_age": 750 * MS,
        }))
        .unwrap();
    let mut sub = burn_max_deliver(&mut js, 3);
    assert!(matches!(
        js.fetch(&mut sub, 1, Duration::from_millis(300)),
        Err(ported::js_context::JsError::Timeout)
    ));

    let o = s.consumer("TEST", "CONSUMER");
    // Kept while the messages are in the stream.
    assert_eq!(o.cursor.lock().max_delivered.len(), 3);

    // Max age takes them all.
    check_for(2 * SECOND, Duration::from_millis(200), || {
        match js.js.stream_state("TEST").msgs {
            0 => Ok(()),
            n => Err(format!("expected stream empty, still has {n} msgs")),
        }
    });
    // Then the consumer forgets them, in memory and in its store.
    check_for(2 * SECOND, Duration::from_millis(200), || {
        let n = o.cursor.lock().max_delivered.len();
        if n != 0 {
            return Err(format!(
                "expected no redelivered entries after max age, got {n}"
            ));
        }
        let stored = o.stored_state().map_or(0, |st| st.redelivered.len());
        if stored != 0 {
            return Err(format!(
                "expected the store's redelivered empty, got {stored}"
            ));
        }
        Ok(())
    });
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxDeliveryRdcNoLeakOnBatchRemoval" => consumer_max_delivery_rdc_no_leak_on_batch_removal);
fn consumer_max_delivery_rdc_no_leak_on_batch_removal() {
    let (s, mut js) = server_and_client();
    js.js
        .add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let mut sub = burn_max_deliver(&mut js, 5);
    assert!(matches!(
        js.fetch(&mut sub, 1, Duration::from_millis(500)),
        Err(ported::js_context::JsError::Timeout)
    ));

    let o = s.consumer("TEST", "CONSUMER");
    {
        let c = o.cursor.lock();
        assert_eq!(c.max_delivered.len(), 5);
        assert_eq!(c.pending.len(), 0);
    }

    // Compacts the stream's store directly (a batch removal).
    let jsa = s.shared().jetstream().unwrap().account("$G").unwrap();
    jsa.stream("TEST").unwrap().store().compact(6).unwrap();

    // The store forgets them ...
    check_for(2 * SECOND, Duration::from_millis(100), || {
        match o.stored_state().map_or(0, |st| st.redelivered.len()) {
            0 => Ok(()),
            n => Err(format!(
                "expected the store's redelivered cleaned, got {n} entries"
            )),
        }
    });
    // ... and so does the consumer.
    assert_eq!(o.cursor.lock().max_delivered.len(), 0);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliveryCount" => consumer_delivery_count);
fn consumer_delivery_count() {
    let (s, mut js) = server_and_client();
    js.js
        .add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..2 {
        js.js.publish_ok("foo", b"");
    }
    let mut sub = js
        .pull_subscribe(
            "foo",
            "CONSUMER",
            SubOpts::config(json!({"ack_policy": "explicit", "ack_wait": SEC, "max_deliver": 1})),
        )
        .unwrap();
    let o = s.consumer("TEST", "CONSUMER");

    let msgs = js.fetch(&mut sub, 2, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 2);
    js.nak(&msgs[1]);
    // The nak is applied before the info answers.
    js.info("TEST", "CONSUMER");
    assert_eq!(o.cursor.lock().delivery_count(1), 1);
    assert_eq!(o.cursor.lock().delivery_count(2), 1);

    // Max deliver 1: nothing comes.
    assert!(js.fetch(&mut sub, 1, Duration::from_millis(250)).is_err());
    assert_eq!(o.cursor.lock().delivery_count(1), 1);
    assert_eq!(o.cursor.lock().delivery_count(2), 1);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxDeliverUnderflow" => consumer_max_deliver_underflow);
fn consumer_max_deliver_underflow() {
    let (s, mut js) = server_and_client();
    js.js
        .add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let mut cfg = json!({"durable_name": "CONSUMER", "max_deliver": -1});
    js.add_consumer("TEST", cfg.clone()).unwrap();
    let o = s.consumer("TEST", "CONSUMER");
    // No limit is 0.
    assert_eq!(o.cursor.lock().max_deliveries(), 0);
    // A limit is itself.
    cfg["max_deliver"] = json!(1);
    js.update_consumer("TEST", cfg.clone()).unwrap();
    assert_eq!(o.cursor.lock().max_deliveries(), 1);
    // No limit again.
    cfg["max_deliver"] = json!(-1);
    js.update_consumer("TEST", cfg).unwrap();
    assert_eq!(o.cursor.lock().max_deliveries(), 0);
}
