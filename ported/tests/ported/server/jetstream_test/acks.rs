//! Acknowledgements and redelivery: ack wait, naks, progress, ack+next, delivery
//! counts and metadata in the ack reply, purges under a consumer, a durable across a
//! restart, ephemeral consumers going away when nobody listens.

use super::consumer_support::{check_sub_pending, worker_mode_config};
use super::*;
use ported::jetstream::{
    check_for, new_inbox, next_subject, parse_go_time, run_basic_jetstream_server, JsClient,
    NatsMsg, RequestError,
};
use ported::port;
use serde_json::json;
use std::time::Instant;

/// A pull request on `stream`/`consumer` answered within a second.
#[track_caller]
fn request_next(js: &mut JsClient, stream: &str, consumer: &str) -> NatsMsg {
    js.conn
        .request(
            &next_subject(stream, consumer),
            &[],
            b"",
            Duration::from_secs(1),
        )
        .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"))
}

/// Go's `getMsg(sseq, dseq)` of the work-queue redelivery tests.
#[track_caller]
fn get_msg(js: &mut JsClient, stream: &str, consumer: &str, sseq: u64, dseq: u64) -> NatsMsg {
    let m = request_next(js, stream, consumer);
    let info = m.ack_info();
    assert_eq!(
        info.consumer_seq, dseq,
        "Expected delivered sequence of {dseq}"
    );
    assert_eq!(info.stream_seq, sseq, "Expected store sequence of {sseq}");
    m
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueAckWaitRedelivery" => work_queue_ack_wait_redelivery, opt_in = "timing: 100 pull round trips must finish within the 100 ms ack wait, as in Go; a loaded 2-core CI machine misses it");
fn work_queue_ack_wait_redelivery() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage, "retention": "workqueue"}))
            .unwrap();
        let to_send = 100u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_WQ").msgs, to_send);
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit", "ack_wait": 100_000_000}),
        )
        .unwrap();
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        let next = next_subject("MY_WQ", "PBO");
        // All of them, not acked.
        for _ in 0..to_send {
            js.conn.publish_request(&next, &inbox, b"");
            js.conn
                .next_msg(sid, Duration::from_secs(1))
                .expect("Unexpected error waiting for messages");
        }
        assert_eq!(js.conn.pending(sid), 0, "Did not consume all messages");
        assert_eq!(js.stream_state("MY_WQ").msgs, to_send);
        // Again, now acked: all redeliveries.
        for i in 1..=to_send {
            js.conn.publish_request(&next, &inbox, b"");
            let m = js
                .conn
                .next_msg(sid, Duration::from_secs(1))
                .unwrap_or_else(|| panic!("Unexpected error waiting for message[{i}]"));
            let info = m.ack_info();
            assert_eq!(info.stream_seq, i, "Expected set sequence of {i}");
            assert_eq!(
                info.consumer_seq,
                to_send + i,
                "Expected delivery sequence of {}",
                to_send + i
            );
            assert_ne!(
                info.delivered, 1,
                "Expected these to be marked as redelivered"
            );
            js.ack_sync(&m);
        }
        assert_eq!(js.conn.pending(sid), 0, "Did not consume all messages");
        js.conn.flush();
        // A work queue: all gone.
        assert_eq!(js.stream_state("MY_WQ").msgs, 0, "Expected no messages");
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueNakRedelivery" => work_queue_nak_redelivery);
fn work_queue_nak_redelivery() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage, "retention": "workqueue"}))
            .unwrap();
        for _ in 0..10 {
            send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_WQ").msgs, 10);
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit"}),
        )
        .unwrap();
        for i in 1..=5 {
            let m = get_msg(&mut js, "MY_WQ", "PBO", i, i);
            js.conn.publish(&m.reply, b"");
        }
        // Nak #6: it comes back next.
        let m = get_msg(&mut js, "MY_WQ", "PBO", 6, 6);
        js.conn.publish(&m.reply, b"-NAK");
        js.conn.flush();
        get_msg(&mut js, "MY_WQ", "PBO", 6, 7);
        get_msg(&mut js, "MY_WQ", "PBO", 7, 8);
        get_msg(&mut js, "MY_WQ", "PBO", 8, 9);
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueWorkingIndicator" => work_queue_working_indicator);
fn work_queue_working_indicator() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage, "retention": "workqueue"}))
            .unwrap();
        for _ in 0..2 {
            send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_WQ").msgs, 2);
        let ack_wait = Duration::from_millis(100);
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit", "ack_wait": ack_wait.as_nanos() as u64}),
        )
        .unwrap();
        get_msg(&mut js, "MY_WQ", "PBO", 1, 1);
        std::thread::sleep(ack_wait * 2);
        // 1 comes back.
        let m = get_msg(&mut js, "MY_WQ", "PBO", 1, 2);
        // Longer than the ack wait, saying we work on it.
        let until = Instant::now() + ack_wait * 3;
        while Instant::now() < until {
            js.conn.publish(&m.reply, b"+WPI");
            js.conn.flush();
            std::thread::sleep(ack_wait / 5);
        }
        // 2 now, not 1.
        let m2 = get_msg(&mut js, "MY_WQ", "PBO", 2, 3);
        std::thread::sleep(ack_wait / 2);
        js.conn.publish(&m2.reply, b"+WPI");
        // 1 back, then 2.
        let m = get_msg(&mut js, "MY_WQ", "PBO", 1, 4);
        js.conn.publish(&m.reply, b"");
        get_msg(&mut js, "MY_WQ", "PBO", 2, 5);
    }
}

port!("server/jetstream_test.go::TestJetStreamAckNext" => ack_next);
fn ack_next() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ACKNXT", "storage": "memory"}))
        .unwrap();
    js.add_consumer(
        "ACKNXT",
        json!({"durable_name": "worker", "ack_policy": "explicit"}),
    )
    .unwrap();
    for i in 0..12 {
        send_stream_msg(&mut js, "ACKNXT", &format!("msg {i}"));
    }
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn
        .publish_request(&next_subject("ACKNXT", "worker"), &inbox, b"1");
    // A bare +NXT asks for one.
    let msg = js.conn.next_msg(sid, Duration::from_secs(5)).unwrap();
    js.conn.publish_request(&msg.reply, &inbox, b"+NXT");
    let msg = js.conn.next_msg(sid, Duration::from_secs(5)).unwrap();
    assert_eq!(js.conn.pending(sid), 0, "Expected empty q");
    assert_eq!(
        js.cinfo("ACKNXT", "worker").ack_floor.stream,
        1,
        "First message was not acknowledged"
    );
    assert_eq!(
        msg.payload, b"msg 1",
        "wrong message received, expected: msg 1"
    );

    // Ack and ask for 5 more with a number.
    js.conn.publish_request(&msg.reply, &inbox, b"+NXT 5");
    let get_msgs = |js: &mut JsClient, start: usize, count: usize| {
        let deadline = Instant::now() + Duration::from_millis(500);
        for i in start..count + 1 {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = js
                .conn
                .next_msg(sid, left)
                .unwrap_or_else(|| panic!("did not receive all messages"));
            let expect = format!("msg {}", i + 1);
            assert_eq!(
                m.payload,
                expect.as_bytes(),
                "wrong message received, expected: {expect}"
            );
        }
    };
    get_msgs(&mut js, 1, 5);
    // Ack (again) and ask for 5 more with a request object.
    js.conn
        .publish_request(&msg.reply, &inbox, b"+NXT {\"batch\": 5}");
    get_msgs(&mut js, 6, 10);
    assert_eq!(
        js.cinfo("ACKNXT", "worker").ack_floor.stream,
        2,
        "second message was not acknowledged"
    );
}

port!("server/jetstream_test.go::TestJetStreamRedeliveryAfterServerRestart" => redelivery_after_server_restart);
fn redelivery_after_server_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "MYQ", "storage": "file"}))
        .unwrap();
    let to_send = 25usize;
    for _ in 0..to_send {
        send_stream_msg(&mut js, "MYQ", "Hello World!");
    }
    assert_eq!(js.stream_state("MYQ").msgs, to_send as u64);
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();
    js.add_consumer(
        "MYQ",
        json!({"durable_name": "TO", "deliver_subject": inbox, "ack_policy": "explicit", "ack_wait": 100_000_000}),
    )
    .unwrap();
    check_sub_pending(&mut js, sid, to_send, Duration::from_secs(2));

    // Restart on the same store.
    drop(js);
    s.restart();
    let mut js = s.client();
    let sid = js.conn.subscribe(&inbox);
    check_sub_pending(&mut js, sid, to_send, Duration::from_secs(3));
}

port!("server/jetstream_test.go::TestJetStreamActiveDelivery" => active_delivery);
fn active_delivery() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "ADS", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let to_send = 100usize;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.22", "Hello World!");
        }
        assert_eq!(js.stream_state("ADS").msgs, to_send as u64);
        js.add_consumer("ADS", json!({"durable_name": "to", "deliver_subject": "d"}))
            .unwrap();
        // Nobody listened; the deliveries start as soon as someone does.
        let sid = js.conn.subscribe("d");
        js.conn.flush();
        check_sub_pending(&mut js, sid, to_send, Duration::from_millis(500));
    }
}

port!("server/jetstream_test.go::TestJetStreamEphemeralConsumers" => ephemeral_consumers);
fn ephemeral_consumers() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "EP", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        // Go lowers the delete threshold to 100ms after creating it; the API sets it at
        // creation.
        let o = js
            .add_consumer(
                "EP",
                json!({"deliver_subject": inbox, "inactive_threshold": 100_000_000}),
            )
            .unwrap();
        assert!(
            js.cinfo("EP", &o.name).push_bound,
            "Expected the consumer to be considered active"
        );
        assert_eq!(
            js.stream_state("EP").consumer_count,
            1,
            "Expected number of consumers to be 1"
        );
        let _ = js
            .conn
            .request("foo.22", &[], b"", Duration::from_millis(100));
        check_sub_pending(&mut js, sid, 1, Duration::from_millis(250));

        // Nobody listens: inactive, then deleted after the threshold.
        js.conn.unsubscribe(sid);
        let mut seen_inactive = false;
        check_for(
            Duration::from_secs(1),
            Duration::from_millis(10),
            || match js.consumer_info("EP", &o.name) {
                Ok(i) if i.push_bound => {
                    Err("Expected the ephemeral consumer to be considered inactive".into())
                }
                Ok(_) => {
                    seen_inactive = true;
                    Ok(())
                }
                Err(e) => Err(format!("consumer gone before it was seen inactive: {e}")),
            },
        );
        assert!(seen_inactive);
        check_for(Duration::from_secs(1), Duration::from_millis(100), || {
            let n = js.stream_state("EP").consumer_count;
            if n == 0 {
                Ok(())
            } else {
                Err(format!("Expected number of consumers to be 0, got {n}"))
            }
        });
    }
}

port!("server/jetstream_test.go::TestJetStreamMetadata" => metadata);
fn metadata() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "retention": "workqueue", "storage": storage}))
            .unwrap();
        for _ in 0..10 {
            js.conn.publish("DC", b"OK!");
            js.conn.flush();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(js.stream_state("DC").msgs, 10);
        js.add_consumer("DC", worker_mode_config("WQ")).unwrap();
        for i in 1..=10u64 {
            let m = request_next(&mut js, "DC", "WQ");
            let info = m.ack_info();
            // The timestamp is the stored message's.
            let stored = js.get_msg("DC", info.stream_seq).unwrap();
            assert_eq!(
                i128::from(info.timestamp),
                parse_go_time(&stored.time),
                "Wrong timestamp in ReplyInfo for msg {i}"
            );
            assert_eq!(info.stream_seq, i, "Expected set sequence of {i}");
            assert_eq!(info.consumer_seq, i, "Expected delivery sequence of {i}");
            assert_eq!(info.delivered, 1, "Expected delivery count to be 1");
            js.conn.publish(&m.reply, b"+ACK");
        }
        // A missing message.
        let resp = js.request("$JS.API.STREAM.MSG.GET.DC", Some(&json!({"seq": 1})));
        let err = &resp["error"];
        assert_eq!(
            err["code"], 404,
            "Did not get correct error response: {err}"
        );
        assert_eq!(
            err["description"], "no message found",
            "Did not get correct error response: {err}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamRedeliverCount" => redeliver_count);
fn redeliver_count() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        js.publish("DC", &[], b"OK!").unwrap();
        check_for(Duration::from_secs(1), Duration::from_millis(250), || {
            let n = js.stream_state("DC").msgs;
            if n == 1 {
                Ok(())
            } else {
                Err(format!("Expected 1 messages, got {n}"))
            }
        });
        js.add_consumer("DC", worker_mode_config("WQ")).unwrap();
        for i in 1..=10u64 {
            let m = request_next(&mut js, "DC", "WQ");
            let info = m.ack_info();
            assert_eq!(info.stream_seq, 1, "Expected set sequence of 1");
            assert_eq!(info.consumer_seq, i, "Expected delivery sequence of {i}");
            assert_eq!(info.delivered, i, "Expected delivery count to be {i}");
            // It keeps coming back.
            js.conn.publish(&m.reply, b"-NAK");
            js.conn.flush();
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamRedeliverAndLateAck" => redeliver_and_late_ack);
fn redeliver_and_late_ack() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "LA", "storage": "memory"}))
        .unwrap();
    js.add_consumer(
        "LA",
        json!({"durable_name": "DDD", "ack_policy": "explicit", "ack_wait": 100_000_000}),
    )
    .unwrap();
    send_stream_msg(&mut js, "LA", "Hello World!");
    let msg = request_next(&mut js, "LA", "DDD");
    // Past the ack wait, then ack.
    std::thread::sleep(Duration::from_millis(150));
    js.ack_sync(&msg);
    // It does not come back.
    assert!(
        js.conn
            .request(
                &next_subject("LA", "DDD"),
                &[],
                b"",
                Duration::from_millis(10)
            )
            .is_err(),
        "Message should not have been sent back"
    );
}

port!("server/jetstream_test.go::TestJetStreamPendingNextTimer" => pending_next_timer);
fn pending_next_timer() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "NT", "storage": "memory", "subjects": ["ORDERS.*"]}))
        .unwrap();
    js.add_consumer(
        "NT",
        json!({"durable_name": "DDD", "ack_policy": "explicit", "filter_subject": "ORDERS.test", "ack_wait": 100_000_000}),
    )
    .unwrap();
    for _ in 0..3 {
        let mut nc = s.client();
        send_stream_msg(&mut nc, "ORDERS.test", "Hello World! #1");
        send_stream_msg(&mut nc, "ORDERS.test", "Hello World! #2");
        for _ in 0..2 {
            request_next(&mut nc, "NT", "DDD");
        }
        drop(nc);
        std::thread::sleep(Duration::from_millis(200));
    }
}

port!("server/jetstream_test.go::TestJetStreamCanNotNakAckd" => can_not_nak_ackd);
fn can_not_nak_ackd() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        for _ in 0..10 {
            let _ = js.publish("DC", &[], b"OK!");
        }
        assert_eq!(js.stream_state("DC").msgs, 10);
        js.add_consumer("DC", worker_mode_config("WQ")).unwrap();
        for i in 1..=10u64 {
            let m = request_next(&mut js, "DC", "WQ");
            // Ack evens.
            if i % 2 == 0 {
                js.conn.publish(&m.reply, b"");
            }
        }
        js.conn.flush();
        let check_bad_nak = |js: &mut JsClient, seq: u64| {
            js.conn
                .publish(&format!("$JS.A.DC.WQ.1.{seq}.{seq}"), b"-NAK");
            js.conn.flush();
            assert_eq!(
                js.conn.request(
                    &next_subject("DC", "WQ"),
                    &[],
                    b"",
                    Duration::from_millis(10)
                ),
                Err(RequestError::Timeout),
                "Did not expect new delivery on nak of {seq}"
            );
        };
        for i in (2..=10).step_by(2) {
            check_bad_nak(&mut js, i);
        }
        // Nothing to nak there.
        check_bad_nak(&mut js, 22);
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamPurgeWithConsumer" => stream_purge_with_consumer);
fn stream_purge_with_consumer() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        for _ in 0..100 {
            let _ = js.publish("DC", &[], b"OK!");
        }
        assert_eq!(js.stream_state("DC").msgs, 100);
        js.add_consumer("DC", worker_mode_config("WQ")).unwrap();
        for _ in 0..50 {
            let m = request_next(&mut js, "DC", "WQ");
            js.conn.publish(&m.reply, b"");
        }
        // 25 more, not acked.
        for _ in 0..25 {
            request_next(&mut js, "DC", "WQ");
        }
        let state = js.cinfo("DC", "WQ");
        assert_eq!(state.ack_floor.consumer, 50, "Expected ack floor of 50");
        assert_eq!(state.num_ack_pending, 25, "Expected len(pending) to be 25");
        js.purge_stream("DC", None).unwrap();
        assert_eq!(js.stream_state("DC").msgs, 0);
        // Pending cleared, sequences moved past what the purge removed.
        let state = js.cinfo("DC", "WQ");
        assert_eq!(state.num_ack_pending, 0, "Expected no pending");
        assert_eq!(
            state.delivered.stream, 100,
            "Expected to have setseq now at next seq of 100"
        );
        assert_eq!(
            state.ack_floor.stream, 100,
            "Expected ackfloor for setseq to be 100"
        );
        assert_eq!(
            state.ack_floor.consumer, 75,
            "Expected ackfloor for obsseq to be 75"
        );
        let _ = js.publish("DC", &[], b"OK-22");
        let m = request_next(&mut js, "DC", "WQ");
        assert_eq!(m.payload, b"OK-22", "Received wrong message");
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamPurgeWithConsumerAndRedelivery" => stream_purge_with_consumer_and_redelivery);
fn stream_purge_with_consumer_and_redelivery() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        for _ in 0..100 {
            let _ = js.publish("DC", &[], b"OK!");
        }
        assert_eq!(js.stream_state("DC").msgs, 100);
        let ack_wait = Duration::from_millis(20);
        js.add_consumer(
            "DC",
            json!({"durable_name": "WQ", "ack_policy": "explicit", "ack_wait": ack_wait.as_nanos() as u64}),
        )
        .unwrap();
        // 50 not acked.
        for _ in 0..50 {
            request_next(&mut js, "DC", "WQ");
        }
        // Due for redelivery by now.
        std::thread::sleep(ack_wait * 2);
        js.purge_stream("DC", None).unwrap();
        assert_eq!(js.stream_state("DC").msgs, 0);
        let state = js.cinfo("DC", "WQ");
        assert_eq!(state.num_ack_pending, 0, "Expected no pending");
        assert_eq!(
            state.delivered.stream, 100,
            "Expected to have setseq now at next seq of 100"
        );
        assert_eq!(
            state.ack_floor.stream, 100,
            "Expected ackfloor for setseq to be 100"
        );
        assert_eq!(
            state.ack_floor.consumer, 50,
            "Expected ackfloor for obsseq to be 50"
        );
        let _ = js.publish("DC", &[], b"OK-22");
        let m = request_next(&mut js, "DC", "WQ");
        assert_eq!(m.payload, b"OK-22", "Received wrong message");
    }
}

/// Go's `checkNumMsgs`: the stream holds `n` messages within `total`.
#[track_caller]
fn check_num_msgs(js: &mut JsClient, stream: &str, n: u64, total: Duration) {
    check_for(total, Duration::from_millis(15), || {
        let got = js.stream_state(stream).msgs;
        if got == n {
            Ok(())
        } else {
            Err(format!("Expected {n} messages, got {got}"))
        }
    });
}

port!("server/jetstream_test.go::TestJetStreamInterestRetentionStream" => interest_retention_stream);
fn interest_retention_stream() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "DC", "storage": storage, "retention": "interest"}))
            .unwrap();
        let total = 100usize;
        let wait = Duration::from_secs(1);
        for _ in 0..total {
            let _ = js.publish("DC", &[], b"OK!");
        }
        // Nobody interested: nothing kept.
        check_num_msgs(&mut js, "DC", 0, wait);

        // Three consumers: explicit, all, none.
        let mut subs = Vec::new();
        for ack in ["explicit", "all", "none"] {
            let inbox = new_inbox();
            subs.push(js.conn.subscribe(&inbox));
            js.conn.flush();
            js.add_consumer("DC", json!({"deliver_subject": inbox, "ack_policy": ack}))
                .unwrap();
        }
        let (sub1, sub2) = (subs[0], subs[1]);
        for _ in 0..total {
            let _ = js.publish("DC", &[], b"OK!");
        }
        check_num_msgs(&mut js, "DC", total as u64, wait);
        for &sid in &subs {
            check_sub_pending(&mut js, sid, total, Duration::from_secs(5));
        }
        let get_and_ack = |js: &mut JsClient, sid: u64| {
            let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
            js.conn.publish(&m.reply, b"");
            js.conn.flush();
        };
        // Ack the evens on the explicit one.
        let mut odds = Vec::new();
        for i in 1..=total {
            let m = js.conn.next_msg(sub1, Duration::from_secs(1)).unwrap();
            if i % 2 == 0 {
                js.conn.publish(&m.reply, b"");
            } else {
                odds.push(m);
            }
        }
        js.conn.flush();
        check_num_msgs(&mut js, "DC", total as u64, wait);
        // Ack-all acks 1: explicit acked 2, 1 still held by explicit.
        get_and_ack(&mut js, sub2);
        check_num_msgs(&mut js, "DC", total as u64, wait);
        // Ack-all acks 2: gone.
        get_and_ack(&mut js, sub2);
        check_num_msgs(&mut js, "DC", total as u64 - 1, wait);
        get_and_ack(&mut js, sub2);
        check_num_msgs(&mut js, "DC", total as u64 - 1, wait);
        // The odds from explicit.
        for m in &odds {
            js.conn.publish(&m.reply, b"");
        }
        js.conn.flush();
        check_num_msgs(&mut js, "DC", total as u64 - 3, wait);
        // The last ack-all message clears the rest.
        let nm = js.conn.pending(sub2);
        for i in 1..=nm {
            let m = js.conn.next_msg(sub2, Duration::from_secs(1)).unwrap();
            if i == nm {
                js.conn.publish(&m.reply, b"");
            }
        }
        js.conn.flush();
        check_num_msgs(&mut js, "DC", 0, wait);
    }
}

port!("server/jetstream_test.go::TestJetStreamInterestRetentionStreamWithFilteredConsumers" => interest_retention_stream_with_filtered_consumers);
fn interest_retention_stream_with_filtered_consumers() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "DC", "subjects": ["*"], "storage": storage, "retention": "interest"}),
        )
        .unwrap();
        let fsub = js.subscribe_sync("foo", json!({})).unwrap();
        let bsub = js.subscribe_sync("bar", json!({})).unwrap();
        let send = |js: &mut JsClient, subj: &str| {
            js.publish(subj, &[], b"FILTERED")
                .unwrap_or_else(|e| panic!("Unexpected publish error: {e:?}"));
        };
        let get_and_ack = |js: &mut JsClient, sid: u64| {
            let m = js
                .conn
                .next_msg(sid, Duration::from_secs(1))
                .expect("Unexpected error getting msg");
            js.ack_sync(&m);
        };
        let check_state = |js: &mut JsClient, n: u64| {
            assert_eq!(js.stream_state("DC").msgs, n, "Expected {n} msgs");
        };
        send(&mut js, "foo");
        check_state(&mut js, 1);
        get_and_ack(&mut js, fsub.sid);
        check_state(&mut js, 0);
        send(&mut js, "bar");
        send(&mut js, "foo");
        check_state(&mut js, 2);
        get_and_ack(&mut js, bsub.sid);
        check_state(&mut js, 1);
        get_and_ack(&mut js, fsub.sid);
        check_state(&mut js, 0);
    }
}

port!("server/jetstream_test.go::TestJetStreamInterestRetentionWithWildcardsAndFilteredConsumers" => interest_retention_with_wildcards_and_filtered_consumers);
fn interest_retention_with_wildcards_and_filtered_consumers() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "DCWC", "subjects": ["foo.*"], "storage": storage, "retention": "interest",
        }))
        .unwrap();
        for _ in 0..10 {
            send_stream_msg(&mut js, "foo.bar", "Hello World!");
        }
        assert_eq!(js.stream_state("DCWC").msgs, 0);
        js.add_consumer(
            "DCWC",
            json!({"durable_name": "ddd", "filter_subject": "foo.bar", "ack_policy": "explicit"}),
        )
        .unwrap();
        send_stream_msg(&mut js, "foo.bar", "Hello World!");
        let state = js.stream_state("DCWC");
        assert_eq!(state.msgs, 1);
        assert_eq!(state.first_seq, 11, "Expected 11 for first seq");
        // Nobody is interested in foo.baz.
        send_stream_msg(&mut js, "foo.baz", "Hello World!");
        assert_eq!(js.stream_state("DCWC").msgs, 1);
    }
}

/// Waits until push consumer `name` reports nobody listening (Go's `!o.isActive()`).
#[track_caller]
fn check_not_active(js: &mut JsClient, stream: &str, name: &str) {
    check_for(
        Duration::from_millis(200),
        Duration::from_millis(10),
        || {
            if js.cinfo(stream, name).push_bound {
                Err("Still active consumer".into())
            } else {
                Ok(())
            }
        },
    );
}

port!("server/jetstream_test.go::TestJetStreamInterestRetentionStreamWithDurableRestart" => interest_retention_stream_with_durable_restart);
fn interest_retention_stream_with_durable_restart() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "IK", "storage": storage, "retention": "interest"}))
            .unwrap();
        let wait = Duration::from_secs(1);
        let pending_wait = Duration::from_millis(500);
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        let mut cfg = json!({
            "durable_name": "ivan", "deliver_policy": "new", "deliver_subject": inbox,
            "ack_policy": "none",
        });
        js.add_consumer("IK", cfg.clone()).unwrap();
        send_stream_msg(&mut js, "IK", "M1");
        send_stream_msg(&mut js, "IK", "M2");
        check_sub_pending(&mut js, sid, 2, pending_wait);
        check_num_msgs(&mut js, "IK", 0, wait);

        // Nobody listens.
        js.conn.unsubscribe(sid);
        check_not_active(&mut js, "IK", "ivan");
        send_stream_msg(&mut js, "IK", "M3");
        send_stream_msg(&mut js, "IK", "M4");
        check_num_msgs(&mut js, "IK", 2, wait);

        // The durable again, on a new inbox.
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        cfg["deliver_subject"] = json!(inbox);
        js.add_consumer("IK", cfg.clone())
            .unwrap_or_else(|e| panic!("Error re-establishing the durable consumer: {e}"));
        check_sub_pending(&mut js, sid, 2, pending_wait);
        for expected in ["M3", "M4"] {
            let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
            assert_eq!(m.payload, expected.as_bytes(), "Expected {expected:?}");
        }
        check_num_msgs(&mut js, "IK", 0, wait);

        // Once more, after deleting it: nothing comes.
        js.conn.unsubscribe(sid);
        check_not_active(&mut js, "IK", "ivan");
        js.delete_consumer("IK", "ivan").unwrap();
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        cfg["deliver_subject"] = json!(inbox);
        cfg["ack_policy"] = json!("explicit");
        js.add_consumer("IK", cfg.clone())
            .unwrap_or_else(|e| panic!("Error re-establishing the durable consumer: {e}"));
        std::thread::sleep(Duration::from_millis(100));
        check_sub_pending(&mut js, sid, 0, pending_wait);
        check_num_msgs(&mut js, "IK", 0, wait);
        for i in 1..=10 {
            send_stream_msg(&mut js, "IK", &format!("M{i}"));
        }
        check_num_msgs(&mut js, "IK", 10, wait);
        check_sub_pending(&mut js, sid, 10, pending_wait);

        // A second consumer.
        let inbox2 = new_inbox();
        let sid2 = js.conn.subscribe(&inbox2);
        js.conn.flush();
        cfg["deliver_subject"] = json!(inbox2);
        cfg["durable_name"] = json!("derek");
        js.add_consumer("IK", cfg.clone())
            .unwrap_or_else(|e| panic!("Error creating second durable consumer: {e}"));
        for i in 11..=20 {
            send_stream_msg(&mut js, "IK", &format!("M{i}"));
        }
        check_num_msgs(&mut js, "IK", 20, wait);
        // Go checks the first subscription again here.
        check_sub_pending(&mut js, sid, 20, pending_wait);
        let _ = sid2;

        // Deleting the consumers removes what only they held.
        js.delete_consumer("IK", "ivan").unwrap();
        check_num_msgs(&mut js, "IK", 10, wait);
        js.delete_consumer("IK", "derek").unwrap();
        check_num_msgs(&mut js, "IK", 0, wait);
    }
}

port!("server/jetstream_test.go::TestJetStreamMaxConsumers" => max_consumers);
fn max_consumers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "MAXC", "storage": "memory", "subjects": ["in.maxc.>"], "max_consumers": 2,
    }))
    .unwrap();
    let si = js.stream_info("MAXC", None).unwrap();
    assert_eq!(si["config"]["max_consumers"], 2, "Expected max of 2");
    js.pull_subscribe("in.maxc.foo", "maxc_foo", json!({}))
        .unwrap();
    // The same consumer again does not count against the limit.
    js.pull_subscribe("in.maxc.foo", "maxc_foo", json!({}))
        .unwrap();
    // Nor does an explicit create of the same one.
    let req =
        json!({"stream_name": "MAXC", "config": {"durable_name": "maxc_baz"}, "action": "create"});
    for _ in 0..2 {
        let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.MAXC.maxc_baz", Some(&req));
        assert!(
            resp.get("error").is_none(),
            "Unexpected error: {}",
            resp["error"]
        );
    }
    // Past the limit.
    assert!(
        js.subscribe_sync("in.maxc.bar", json!({})).is_err(),
        "Expected error but got none"
    );
}

port!("server/jetstream_test.go::TestJetStreamInterestMaxDeliveryReached" => interest_max_delivery_reached);
fn interest_max_delivery_reached() {
    use ported::js_context::{JsContext, SubOpts};
    let max_wait = Duration::from_millis(250);
    for use_nak in [true, false] {
        for action in ["fetch", "expire pending"] {
            let title = format!("{}nak/{action}", if use_nak { "" } else { "no-" });
            let s = run_basic_jetstream_server();
            let mut js = JsContext::connect(s.addr());
            js.js
                .add_stream(json!({
                    "name": "TEST", "storage": "file", "subjects": ["test"], "num_replicas": 1,
                    "retention": "interest",
                }))
                .unwrap();
            let mut sub = js
                .pull_subscribe(
                    "test",
                    "consumer",
                    SubOpts::config(json!({"ack_wait": SECOND, "max_deliver": 1})),
                )
                .unwrap();
            js.js
                .conn
                .request("test", &[], b"hello", max_wait)
                .unwrap_or_else(|e| panic!("{title}: {e:?}"));
            assert_eq!(js.js.stream_state("TEST").msgs, 1, "{title}");

            let msgs = js.fetch(&mut sub, 1, max_wait).unwrap();
            assert_eq!(msgs.len(), 1, "{title}");
            if use_nak {
                js.nak(&msgs[0]);
            }
            let info = js.info("TEST", "consumer");
            assert_eq!(info["num_ack_pending"], 1, "{title}");

            if action == "fetch" {
                std::thread::sleep(SECOND_DURATION);
                // Max deliver 1: nothing comes.
                assert!(js.fetch(&mut sub, 1, max_wait).is_err(), "{title}");
            } else {
                s.consumer("TEST", "consumer").force_expire_pending();
            }

            // Max deliver 1: nothing comes.
            assert!(js.fetch(&mut sub, 1, max_wait).is_err(), "{title}");
            let info = js.info("TEST", "consumer");
            assert_eq!(info["num_ack_pending"], 0, "{title}");
            // The consumer never acknowledged it: the stream keeps it.
            assert_eq!(js.js.stream_state("TEST").msgs, 1, "{title}");

            let mut sub2 = js
                .pull_subscribe("test", "consumer2", SubOpts::default())
                .unwrap();
            let msgs = js.fetch(&mut sub2, 1, Duration::from_secs(5)).unwrap();
            assert_eq!(msgs.len(), 1, "{title}");
            js.ack_sync(&msgs[0]).unwrap();
            assert_eq!(js.js.stream_state("TEST").msgs, 1, "{title}");
        }
    }
}

const SECOND_DURATION: Duration = Duration::from_secs(1);

port!("server/jetstream_test.go::TestJetStreamMaxDeliveryRedeliveredReporting" => max_delivery_redelivered_reporting);
fn max_delivery_redelivered_reporting() {
    use ported::js_context::{JsContext, SubOpts};
    let s = run_basic_jetstream_server();
    let mut js = JsContext::connect(s.addr());
    js.js
        .add_stream(json!({
            "name": "TEST", "storage": "file", "subjects": ["foo"], "num_replicas": 1,
            "retention": "limits",
        }))
        .unwrap();
    js.js.publish_ok("foo", b"");
    let max_wait = Duration::from_millis(250);
    let mut cfg = json!({
        "durable_name": "CONSUMER", "ack_policy": "explicit",
        "ack_wait": max_wait.as_nanos() as i64, "max_deliver": 1,
    });
    js.add_consumer("TEST", cfg.clone()).unwrap();
    let mut sub = js
        .pull_subscribe("", "CONSUMER", SubOpts::bind_stream("TEST"))
        .unwrap();
    assert_eq!(js.js.stream_state("TEST").msgs, 1);

    let msgs = js.fetch(&mut sub, 1, max_wait).unwrap();
    assert_eq!(msgs.len(), 1);
    let info = js.info("TEST", "CONSUMER");
    assert_eq!(info["num_ack_pending"], 1);
    assert_eq!(info["num_redelivered"], 0);

    std::thread::sleep(2 * max_wait);
    // Max deliver 1: nothing comes.
    assert!(js.fetch(&mut sub, 1, max_wait).is_err());

    // Not redelivered with max deliver 1, so not reported.
    let info = js.info("TEST", "CONSUMER");
    assert_eq!(info["num_ack_pending"], 0);
    assert_eq!(info["num_redelivered"], 0);

    // With a higher max deliver it is.
    cfg["max_deliver"] = json!(2);
    js.update_consumer("TEST", cfg.clone()).unwrap();
    let info = js.info("TEST", "CONSUMER");
    assert_eq!(info["num_ack_pending"], 0);
    assert_eq!(info["num_redelivered"], 1);

    // And with none.
    cfg["max_deliver"] = json!(-1);
    js.update_consumer("TEST", cfg).unwrap();
    let info = js.info("TEST", "CONSUMER");
    assert_eq!(info["num_ack_pending"], 0);
    assert_eq!(info["num_redelivered"], 1);
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueTerminateDelivery" => work_queue_terminate_delivery);
fn work_queue_terminate_delivery() {
    for (name, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_WQ", "storage": storage, "retention": "workqueue"}))
            .unwrap();
        let to_send = 22u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "MY_WQ", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_WQ").msgs, to_send, "{name}");
        let ack_wait = Duration::from_millis(25);
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit", "ack_wait": ack_wait.as_nanos() as i64}),
        )
        .unwrap();
        // The advisory of the termination.
        let adv_sid = js
            .conn
            .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>");
        js.conn.flush();

        get_msg(&mut js, "MY_WQ", "PBO", 1, 1);
        // Past the ack wait: 1 again.
        std::thread::sleep(ack_wait * 2);
        let m = get_msg(&mut js, "MY_WQ", "PBO", 1, 2);
        // Terminated.
        js.conn.publish(&m.reply, b"+TERM with reason");
        std::thread::sleep(ack_wait * 2);
        // 2 next, not 1.
        get_msg(&mut js, "MY_WQ", "PBO", 2, 3);

        let am = js
            .conn
            .next_msg(adv_sid, Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{name}: no terminated advisory"));
        let adv: Value = serde_json::from_slice(&am.payload).unwrap();
        assert_eq!(adv["stream"], "MY_WQ", "{name}");
        assert_eq!(adv["consumer"], "PBO", "{name}");
        assert_eq!(adv["stream_seq"], 1, "{name}");
        assert_eq!(adv["consumer_seq"], 2, "{name}");
        assert_eq!(adv["deliveries"], 2, "{name}");
        assert_eq!(
            adv["reason"], "with reason",
            "Advisory did not have a reason"
        );
    }
}
