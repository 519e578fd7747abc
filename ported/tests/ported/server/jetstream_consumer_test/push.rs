//! Push consumers: deliveries to a deliver subject while someone listens, reconnects
//! and new deliver subjects, headers-only deliveries, and consumers across restarts.

use super::*;
use ported::jetstream::check_for;
use ported::js_context::{new_inbox, MsgExt, SubOpts, MS};
use ported::port;
use serde_json::json;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// Whether the consumer has a listener (Go's `o.isActive()`, the info's `push_bound`).
fn is_active(js: &mut JsContext, stream: &str, consumer: &str) -> bool {
    js.info(stream, consumer)["push_bound"]
        .as_bool()
        .unwrap_or(false)
}

/// Waits up to `total` for the consumer to lose its listener.
#[track_caller]
fn check_inactive(js: &mut JsContext, stream: &str, consumer: &str, total: Duration) {
    check_for(total, Duration::from_millis(10), || {
        if is_active(js, stream, consumer) {
            Err("Consumer is still active".into())
        } else {
            Ok(())
        }
    });
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDurableReconnectWithOnlyPending" => consumer_durable_reconnect_with_only_pending);
fn consumer_durable_reconnect_with_only_pending() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DT", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let subj1 = new_inbox();
        let cfg = |deliver: &str| json!({"durable_name": "d22", "deliver_subject": deliver, "ack_policy": "explicit", "ack_wait": 25 * MS});
        js.add_consumer_direct("DT", cfg(&subj1)).unwrap();
        js.js.conn.publish("foo.22", b"1");
        let sid = js.subscribe_sync_core(&subj1);
        js.check_pending_within(sid, 1, Duration::from_millis(500));
        // Unsubscribe and wait to become inactive.
        js.unsubscribe_core(sid);
        check_inactive(&mut js, "DT", "d22", Duration::from_millis(250));
        // The second message while nobody listens.
        js.js.conn.publish("foo.22", b"2");
        // A new delivery subject.
        let subj2 = new_inbox();
        js.add_consumer_direct("DT", cfg(&subj2))
            .unwrap_or_else(|e| {
                panic!("{name}: Unexpected error trying to add a new durable consumer: {e:?}")
            });
        let sid = js.subscribe_sync_core(&subj2);
        // Both, in either order.
        for _ in 0..2 {
            let m = js
                .next_msg_core(sid, Duration::from_millis(500))
                .unwrap_or_else(|| panic!("{name}: no message"));
            let meta = m.metadata();
            assert!(
                !(meta.stream_seq == 1 && meta.num_delivered == 1),
                "{name}: Expected a redelivery count greater then 1 for sseq 1"
            );
            assert!(
                meta.stream_seq == 1 || meta.stream_seq == 2,
                "{name}: Expected stream sequence of 1 or 2 but got {}",
                meta.stream_seq
            );
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDurableFilteredSubjectReconnect" => consumer_durable_filtered_subject_reconnect);
fn consumer_durable_filtered_subject_reconnect() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DT", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let send_msgs = |js: &mut JsContext, n: usize| {
            for i in 0..n {
                let subj = if i % 2 == 0 { "foo.AA" } else { "foo.ZZ" };
                js.publish_ok(subj, b"OK!");
            }
        };
        let to_send = 50;
        send_msgs(&mut js, to_send);
        let dsubj = new_inbox();
        // Only the last of foo.AA to start.
        js.add_consumer_direct(
            "DT",
            json!({
                "durable_name": "d33", "deliver_subject": dsubj, "filter_subject": "foo.AA",
                "deliver_policy": "last", "ack_policy": "explicit", "ack_wait": 100 * MS,
            }),
        )
        .unwrap();
        let sid = js.subscribe_sync_core(&dsubj);
        // The gap between stream and consumer sequences.
        let mut store_base_off = 47i64;
        let get_msg = |js: &mut JsContext, seq: i64, base: i64| {
            let sseq = 2 * seq + base;
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: no message"));
            let meta = m.metadata();
            assert_eq!(meta.consumer_seq as i64, seq, "{name}: consumer sequence");
            assert_eq!(meta.stream_seq as i64, sseq, "{name}: stream sequence");
            assert_eq!(
                meta.num_delivered, 1,
                "{name}: Expected message to not be marked as redelivered"
            );
            m
        };
        let get_redelivered = |js: &mut JsContext, seq: i64| {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: no message"));
            let meta = m.metadata();
            assert_eq!(meta.consumer_seq as i64, seq, "{name}: consumer sequence");
            assert!(
                meta.num_delivered >= 2,
                "{name}: Expected message to be marked as redelivered"
            );
            js.respond_nil(&m);
        };
        let m = get_msg(&mut js, 1, store_base_off);
        js.respond_nil(&m);
        // 50 more: 26 for this consumer (the last and 25 new).
        send_msgs(&mut js, to_send);
        assert_eq!(js.stream_state("DT").msgs, (to_send * 2) as u64);
        let mut next_seq = 2;
        let mut no_acks = 0;
        for i in 0..to_send / 2 {
            let m = get_msg(&mut js, next_seq, store_base_off);
            if i % 2 == 0 {
                js.respond_nil(&m);
            } else {
                no_acks += 1;
            }
            next_seq += 1;
        }
        // Those come again.
        for _ in 0..no_acks {
            get_redelivered(&mut js, next_seq);
            next_seq += 1;
        }
        send_msgs(&mut js, to_send);
        store_base_off -= no_acks * 2;
        for _ in 0..to_send / 2 {
            let m = get_msg(&mut js, next_seq, store_base_off);
            js.respond_nil(&m);
            next_seq += 1;
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerInactiveNoDeadlock" => consumer_inactive_no_deadlock);
fn consumer_inactive_no_deadlock() {
    for (_, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        let msgs: Vec<(&str, &[u8])> = vec![("DC", b"OK!"); 10_000];
        js.publish_async(&msgs);
        assert_eq!(js.stream_state("DC").msgs, 10_000);
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.add_consumer_direct("DC", json!({"deliver_subject": inbox}))
            .unwrap();
        for _ in 0..10 {
            js.next_msg_core(sid, SECOND).expect("a message");
        }
        // Inactive while messages are queued up: nothing must lock up.
        js.unsubscribe_core(sid);
        js.flush();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerReconnect" => consumer_reconnect);
fn consumer_reconnect() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "ET", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let delivery = new_inbox();
        let mut sid = js.subscribe_sync_core(&delivery);
        let info = js
            .add_consumer_direct(
                "ET",
                json!({"deliver_subject": delivery, "ack_policy": "explicit"}),
            )
            .unwrap();
        let oname = info["name"].as_str().unwrap().to_string();
        assert!(
            is_active(&mut js, "ET", &oname),
            "{name}: Expected the consumer to be considered active"
        );
        assert_eq!(js.stream_state("ET").consumer_count, 1);
        let get_msg = |js: &mut JsContext, sid: u64, seqno: u64| {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Unexpected error for {seqno}"));
            assert_eq!(m.metadata().consumer_seq, seqno, "{name}: sequence");
            js.respond_nil(&m);
        };
        // First message, then a new subscription on the same subject.
        js.js.conn.publish("foo.22", b"OK!");
        get_msg(&mut js, sid, 1);
        js.unsubscribe_core(sid);
        sid = js.subscribe_sync_core(&delivery);
        js.js.conn.publish("foo.22", b"OK!");
        get_msg(&mut js, sid, 2);
        js.unsubscribe_core(sid);
        check_inactive(&mut js, "ET", &oname, Duration::from_millis(250));
        // 3-10 queued with no interest.
        for _ in 0..=7 {
            js.js.conn.publish("foo.22", b"OK!");
        }
        js.flush();
        sid = js.subscribe_sync_core(&delivery);
        for i in 3..=10 {
            get_msg(&mut js, sid, i);
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDurableReconnect" => consumer_durable_reconnect);
fn consumer_durable_reconnect() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DT", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let cfg = |deliver: &str| json!({"durable_name": "d22", "deliver_subject": deliver, "ack_policy": "explicit", "ack_wait": 50 * MS});
        let subj1 = new_inbox();
        js.add_consumer_direct("DT", cfg(&subj1)).unwrap();
        let to_send = 10u64;
        for _ in 0..to_send {
            js.js.conn.publish("foo.22", b"OK!");
        }
        let sid = js.subscribe_sync_core(&subj1);
        js.check_pending_within(sid, to_send as usize, Duration::from_millis(500));
        let get_msg = |js: &mut JsContext, sid: u64, seqno: u64| {
            let m = js
                .next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: no message"));
            assert_eq!(m.metadata().stream_seq, seqno, "{name}: sequence");
            js.respond_nil(&m);
            m
        };
        // Ack the first half.
        for i in 1..=to_send / 2 {
            let m = get_msg(&mut js, sid, i);
            js.respond_nil(&m);
        }
        js.unsubscribe_core(sid);
        check_inactive(&mut js, "DT", "d22", Duration::from_millis(250));
        // A new delivery subject gets the rest.
        let subj2 = new_inbox();
        let sid = js.subscribe_sync_core(&subj2);
        js.add_consumer_direct("DT", cfg(&subj2))
            .unwrap_or_else(|e| {
                panic!("{name}: Unexpected error trying to add a new durable consumer: {e:?}")
            });
        for i in to_send / 2 + 1..=to_send {
            let m = get_msg(&mut js, sid, i);
            js.respond_nil(&m);
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerBadNumPending" => consumer_bad_num_pending);
fn consumer_bad_num_pending() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "ORDERS", "subjects": ["orders.*"]}))
        .unwrap();
    let new_orders = |js: &mut JsContext, n: usize| {
        for _ in 0..n {
            js.publish_ok("orders.created", b"NEW");
        }
    };
    new_orders(&mut js, 10);
    // A subscriber that approves each created order (its callback publishes, then the
    // library acks), on a connection of its own as Go's callbacks run apart.
    let addr = s.addr();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let processor = std::thread::spawn(move || {
        let mut p = JsContext::connect(addr);
        let sub = p
            .subscribe_sync("orders.created", SubOpts::default())
            .unwrap();
        ready_tx.send(sub.clone()).unwrap();
        while stop_rx.try_recv().is_err() {
            if let Some(m) = p.next_msg(&sub, Duration::from_millis(50)) {
                p.publish_ok("orders.approved", b"APPROVED");
                p.ack(&m);
            }
        }
        p.unsubscribe(&sub);
    });
    let op = ready_rx.recv().unwrap();
    let mon = js.subscribe_sync("orders.*", SubOpts::default()).unwrap();
    let wait_for_msgs = |js: &mut JsContext, n: u64| {
        check_for(2 * SECOND, Duration::from_millis(100), || {
            let st = js.stream_state("ORDERS");
            if st.msgs == n {
                Ok(())
            } else {
                Err(format!("Expected {n} msgs, got state: {st:?}"))
            }
        });
    };
    let check_no_pending = |js: &mut JsContext, stream: &str, consumer: &str| {
        let ci = js.info(stream, consumer);
        assert_eq!(ci["num_pending"], 0, "Bad consumer NumPending: {ci}");
    };
    wait_for_msgs(&mut js, 20);
    check_no_pending(&mut js, &op.stream, &op.consumer);
    check_no_pending(&mut js, &mon.stream, &mon.consumer);
    new_orders(&mut js, 10);
    wait_for_msgs(&mut js, 40);
    check_no_pending(&mut js, &op.stream, &op.consumer);
    check_no_pending(&mut js, &mon.stream, &mon.consumer);
    js.unsubscribe(&mon);
    stop_tx.send(()).unwrap();
    processor.join().unwrap();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerCleanupWithRetentionPolicy" => consumer_cleanup_with_retention_policy);
fn consumer_cleanup_with_retention_policy() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "ORDERS", "subjects": ["orders.*"], "retention": "interest"}))
        .unwrap();
    let sub = js.subscribe_sync("orders.*", SubOpts::default()).unwrap();
    for i in 0..10 {
        let _ = js.publish(&format!("orders.{}", i + 1), &[], b"Hello World");
    }
    js.check_subs_pending(sub.sid, 10);
    for _ in 0..10 {
        let m = js.must_next(&sub, SECOND);
        let _ = js.ack_sync(&m);
    }
    let ci = js.sub_info(&sub);
    let name = ci["name"].as_str().unwrap().to_string();
    // Force the boundary: an ack floor past the stream's last sequence.
    let lseq = js.stream_state("ORDERS").last_seq;
    s.consumer("ORDERS", &name).cursor.lock().ack_floor.1 = lseq + 2;
    js.unsubscribe(&sub);
    // The server still answers.
    js.stream_info("ORDERS", None)
        .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerNoMsgPayload" => consumer_no_msg_payload);
fn consumer_no_msg_payload() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "S"})).unwrap();
    let data = vec![b'A'; 128];
    for _ in 0..10 {
        js.publish("S", &[("name", "derek")], &data).unwrap();
    }
    // Headers only.
    js.add_consumer_direct(
        "S",
        json!({"deliver_subject": "_d_", "durable_name": "d22", "headers_only": true}),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("S", SubOpts::config(json!({"durable_name": "d22"})))
        .unwrap();
    for _ in 0..10 {
        let m = js.must_next(&sub, SECOND);
        assert!(m.payload.is_empty(), "Expected no payload");
        assert_eq!(
            m.header_value("Nats-Msg-Size").as_deref(),
            Some("128"),
            "Expected a header with msg size"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliverNewNotConsumingBeforeRestart" => consumer_deliver_new_not_consuming_before_restart);
fn consumer_deliver_new_not_consuming_before_restart() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let inbox = new_inbox();
    js.add_consumer(
        "TEST",
        json!({
            "deliver_subject": inbox, "durable_name": "dur", "ack_policy": "explicit",
            "deliver_policy": "new", "filter_subject": "foo",
        }),
    )
    .unwrap();
    for _ in 0..10 {
        send_stream_msg(&mut js, "foo", "msg");
    }
    let check_count = |js: &mut JsContext, expected: u64| {
        check_for(2 * SECOND, Duration::from_millis(15), || {
            let ci = js.info("TEST", "dur");
            match ci["num_pending"].as_u64() {
                Some(n) if n == expected => Ok(()),
                n => Err(format!("Expected {expected} pending, got {n:?}")),
            }
        });
    };
    check_count(&mut js, 10);
    std::thread::sleep(Duration::from_millis(300));
    // The server restarts.
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    check_count(&mut js, 10);
    // The messages can be consumed.
    let sid = js.subscribe_sync_core(&inbox);
    for i in 0..10 {
        let m = js
            .next_msg_core(sid, SECOND)
            .unwrap_or_else(|| panic!("i={i} next msg error"));
        let _ = js.ack_sync(&m);
    }
    check_count(&mut js, 0);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliverNewMaxRedeliveriesAndServerRestart" => consumer_deliver_new_max_redeliveries_and_server_restart);
fn consumer_deliver_new_max_redeliveries_and_server_restart() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.*"]}))
        .unwrap();
    let inbox = new_inbox();
    js.add_consumer(
        "TEST",
        json!({
            "deliver_subject": inbox, "durable_name": "dur", "ack_policy": "explicit",
            "deliver_policy": "new", "max_deliver": 3, "ack_wait": 250 * MS,
            "filter_subject": "foo.bar",
        }),
    )
    .unwrap();
    send_stream_msg(&mut js, "foo.bar", "msg");
    let sid = js.subscribe_sync_core(&inbox);
    for _ in 0..3 {
        js.next_msg_core(sid, SECOND).expect("a delivery");
    }
    // No more redeliveries.
    assert!(
        js.next_msg_core(sid, Duration::from_millis(300)).is_none(),
        "Expected timeout"
    );
    // Time for things to be persisted.
    std::thread::sleep(Duration::from_millis(300));
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    let sid = js.subscribe_sync_core(&inbox);
    // Not redelivered after the restart either.
    assert!(
        js.next_msg_core(sid, Duration::from_millis(300)).is_none(),
        "Expected timeout"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerInfoNumPending" => consumer_info_num_pending);
fn consumer_info_num_pending() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "LIMITS", "subjects": ["js.in.limits"], "max_msgs": 100}))
        .unwrap();
    js.add_consumer("LIMITS", json!({"name": "PULL", "ack_policy": "explicit"}))
        .unwrap();
    for _ in 0..1000 {
        let _ = js.publish("js.in.limits", &[], b"x");
    }
    let ci = js.info("LIMITS", "PULL");
    assert_eq!(ci["num_pending"], 100, "{ci}");
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    let ci = js.info("LIMITS", "PULL");
    assert_eq!(ci["num_pending"], 100, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeleteAndServerRestart" => consumer_delete_and_server_restart);
fn consumer_delete_and_server_restart() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "MYQ", "storage": "file"}))
        .unwrap();
    // A work queue mode consumer, deleted.
    js.add_consumer_direct(
        "MYQ",
        json!({"durable_name": "WQ", "ack_policy": "explicit"}),
    )
    .unwrap_or_else(|e| panic!("Expected no error with registered interest, got {e:?}"));
    js.delete_consumer("MYQ", "WQ").unwrap();
    assert_eq!(js.stream_state("MYQ").consumer_count, 0);
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    assert_eq!(
        js.stream_state("MYQ").consumer_count,
        0,
        "Expected to have zero consumers"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerEphemeralRecoveryAfterServerRestart" => consumer_ephemeral_recovery_after_server_restart);
fn consumer_ephemeral_recovery_after_server_restart() {
    let (mut s, mut js) = server_and_client();
    let mname = "MYS";
    js.add_stream(json!({"name": mname, "storage": "file"}))
        .unwrap();
    let inbox = new_inbox();
    let sid = js.subscribe_sync_core(&inbox);
    let info = js
        .add_consumer_direct(
            mname,
            json!({"deliver_subject": inbox, "ack_policy": "explicit"}),
        )
        .unwrap_or_else(|e| panic!("Error creating consumer: {e:?}"));
    let oname = info["name"].as_str().unwrap().to_string();
    for _ in 0..100 {
        send_stream_msg(&mut js, mname, "Hello World!");
    }
    assert_eq!(js.stream_state(mname).msgs, 100);
    for _ in 0..=6 {
        let m = js.next_msg_core(sid, SECOND).expect("a message");
        js.respond_nil(&m);
    }
    // Twice: restart, and the client (reconnecting) subscribes its inbox again.
    for _ in 0..2 {
        drop(js);
        s.restart();
        js = JsContext::connect(s.addr());
        let ci = js
            .consumer_info(mname, &oname)
            .unwrap_or_else(|e| panic!("Error looking up consumer {oname:?}: {e:?}"));
        assert!(
            ci["config"]["durable_name"].is_null(),
            "Expected no durable to be set: {ci}"
        );
        js.subscribe_sync_core(&inbox);
        check_for(
            Duration::from_millis(200),
            Duration::from_millis(10),
            || match is_active(&mut js, mname, &oname) {
                true => Ok(()),
                false => Err("Consumer not active".into()),
            },
        );
    }
    // The connection goes: it acts like an ephemeral and goes away.
    s.consumer(mname, &oname)
        .cursor
        .lock()
        .config
        .inactive_threshold = 10 * MS;
    drop(js);
    let mut js = JsContext::connect(s.addr());
    check_for(
        Duration::from_millis(200),
        Duration::from_millis(10),
        || match js.consumer_info(mname, &oname) {
            Ok(_) => Err("Consumer still active".into()),
            Err(_) => Ok(()),
        },
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMaxDeliveryAndServerRestart" => consumer_max_delivery_and_server_restart);
fn consumer_max_delivery_and_server_restart() {
    let (mut s, mut js) = server_and_client();
    let mname = "MYS";
    let sinfo = js
        .add_stream(json!({"name": mname, "storage": "file"}))
        .unwrap();
    let stream_created = sinfo["created"].as_str().unwrap().to_string();
    let dsubj = "D.TO";
    let max = 3usize;
    let cinfo = js
        .add_consumer_direct(
            mname,
            json!({
                "durable_name": "TO", "deliver_subject": dsubj, "ack_policy": "explicit",
                "ack_wait": 100 * MS, "max_deliver": max,
            }),
        )
        .unwrap();
    let consumer_created = cinfo["created"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(5));
    // What the subscription got over its connections (nats.go keeps a subscription
    // across reconnects; here each restart is a new connection).
    let mut received = 0usize;
    let mut sid = js.subscribe_sync_core(dsubj);
    send_stream_msg(&mut js, mname, "order-1");
    let check_sub_pending = |js: &mut JsContext, sid: u64, received: usize, n: usize| {
        check_for(SECOND, Duration::from_millis(10), || {
            let got = received + js.pending(sid);
            if got == n {
                Ok(())
            } else {
                Err(format!(
                    "Did not receive correct number of messages: {got} vs {n}"
                ))
            }
        });
    };
    // The first message's max deliveries.
    check_sub_pending(&mut js, sid, received, max);
    // A second one: its first delivery and a redelivery.
    send_stream_msg(&mut js, mname, "order-2");
    check_sub_pending(&mut js, sid, received, max + 2);
    received += js.pending(sid);
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    assert_eq!(js.stream_state(mname).msgs, 2);
    sid = js.subscribe_sync_core(dsubj);
    send_stream_msg(&mut js, mname, "order-3");
    assert_eq!(js.stream_state(mname).msgs, 3);
    received += js.pending(sid);
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    assert_eq!(js.stream_state(mname).msgs, 3);
    sid = js.subscribe_sync_core(dsubj);
    // Max deliveries of all three.
    check_sub_pending(&mut js, sid, received, max * 3);
    // Created times are kept.
    let sinfo = js.stream_info(mname, None).unwrap();
    assert_eq!(
        ported::jetstream::parse_go_time(sinfo["created"].as_str().unwrap()),
        ported::jetstream::parse_go_time(&stream_created),
        "Stream creation time not restored"
    );
    let cinfo = js.info(mname, "TO");
    let delta = ported::jetstream::parse_go_time(cinfo["created"].as_str().unwrap())
        - ported::jetstream::parse_go_time(&consumer_created);
    assert!(
        delta <= 5_000_000,
        "Consumer creation time not restored, wanted {consumer_created}, got {}",
        cinfo["created"]
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerEventingRaceOnShutdown" => consumer_eventing_race_on_shutdown);
fn consumer_eventing_race_on_shutdown() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "storage": "memory"}))
        .unwrap();
    drop(js);
    // Subscriptions (each with a new consumer) one after the other until one fails;
    // the connection does not reconnect.
    let addr = s.addr();
    let creator = std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(move || {
            let mut js = JsContext::connect(addr);
            while js
                .subscribe_sync("foo", SubOpts::bind_stream("TEST"))
                .is_ok()
            {}
        });
    });
    std::thread::sleep(Duration::from_millis(50));
    // The server shuts down while consumers come and go, and the creator stops.
    s.shutdown();
    creator.join().unwrap();
}
