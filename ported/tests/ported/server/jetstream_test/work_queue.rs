//! Consumers fed by pull requests on `$JS.API.CONSUMER.MSG.NEXT` (Go's work-queue tests)
//! and push consumers delivering to a subject, with subject filters. Where Go creates a
//! consumer with `mset.addConsumer` these ports send `CONSUMER.CREATE`; where it reads
//! `o.info()` they ask `CONSUMER.INFO`; `o.seqFromReply` is the consumer sequence of the
//! ack reply, `o.streamSeqFromReply` its stream sequence.

use super::consumer_support::{
    check_sub_pending, expect_waiting, next_seq, worker_mode_config, Rng,
};
use super::*;
use ported::jetstream::{
    check_for, new_inbox, next_subject, run_basic_jetstream_server, JsClient, NatsMsg,
};
use ported::port;
use serde_json::json;
use std::time::Instant;

/// Go's `checkMsgs` of TestJetStreamBasicDeliverSubject: `n` messages on `sid`, each
/// with the stream subject, consumer sequences from `seq_off`, answered (acked).
#[track_caller]
fn check_deliveries(js: &mut JsClient, sid: u64, n: usize, seq_off: u64, subject: &str) {
    check_sub_pending(js, sid, n, Duration::from_secs(5));
    for i in 0..n as u64 {
        let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
        assert_eq!(
            m.subject, subject,
            "Expected original subject of {subject:?}, but got {:?}",
            m.subject
        );
        let seq = m.ack_info().consumer_seq;
        assert_eq!(seq, i + seq_off, "Expected sequence of {}", i + seq_off);
        js.conn.publish(&m.reply, b"");
    }
}

port!("server/jetstream_test.go::TestJetStreamBasicDeliverSubject" => basic_deliver_subject);
fn basic_deliver_subject() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MSET", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let mut to_send = 100;
        let send_subj = "foo.bar";
        for i in 1..=to_send {
            send_stream_msg(&mut js, send_subj, &i.to_string());
        }
        assert_eq!(js.stream_state("MSET").msgs, to_send as u64);

        // The consumer delivers to a second connection.
        let mut nc2 = s.client();
        let inbox = new_inbox();
        let sid = nc2.conn.subscribe(&inbox);
        nc2.conn.flush();
        let o = js
            .add_consumer("MSET", json!({"deliver_subject": inbox}))
            .unwrap();
        check_deliveries(&mut nc2, sid, to_send, 1, send_subj);

        // More messages: delivery picks up again.
        for i in to_send + 1..=to_send * 2 {
            send_stream_msg(&mut js, send_subj, &i.to_string());
        }
        assert_eq!(js.stream_state("MSET").msgs, to_send as u64 * 2);
        check_deliveries(&mut nc2, sid, to_send, 101, send_subj);
        assert_eq!(nc2.conn.pending(sid), 0, "Expected sub to have no pending");
        js.delete_consumer("MSET", &o.name).unwrap();

        // Deliver last.
        let o = js
            .add_consumer(
                "MSET",
                json!({"deliver_subject": inbox, "deliver_policy": "last"}),
            )
            .unwrap();
        let m = nc2
            .conn
            .next_msg(sid, Duration::from_secs(1))
            .expect("Did not get expected message");
        assert_eq!(m.ack_info().consumer_seq, 1, "Expected sequence to be 1");
        assert_eq!(m.payload, b"200", "Expected message sequence to be 200");
        assert_eq!(nc2.conn.pending(sid), 0, "Expected sub to have no pending");
        js.delete_consumer("MSET", &o.name).unwrap();
        // Only the one message came.
        assert!(
            nc2.conn.next_msg(sid, Duration::from_millis(5)).is_none(),
            "Expected no msg"
        );
        assert_eq!(nc2.conn.pending(sid), 0, "Expected sub to have no pending");

        // By start sequence.
        js.add_consumer(
            "MSET",
            json!({"deliver_subject": inbox, "deliver_policy": "by_start_sequence", "opt_start_seq": 101}),
        )
        .unwrap();
        check_deliveries(&mut nc2, sid, to_send, 1, send_subj);

        // Push to queue subscribers.
        let qsid = nc2.conn.queue_subscribe("_qg_", "dev");
        nc2.conn.flush();
        js.add_consumer(
            "MSET",
            json!({"deliver_subject": "_qg_", "deliver_group": "dev"}),
        )
        .unwrap();
        to_send *= 2;
        check_deliveries(&mut nc2, qsid, to_send, 1, send_subj);
    }
}

/// Go's `getNext` of the work-queue tests: a pull request answered by a message on
/// `subject` with consumer sequence `seqno`.
#[track_caller]
fn get_next(js: &mut JsClient, next: &str, subject: &str, seqno: u64) -> NatsMsg {
    let m = js
        .conn
        .request(next, &[], b"", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("Unexpected error for seq {seqno}: {e:?}"));
    assert_eq!(m.subject, subject, "Expected subject of {subject:?}");
    assert_eq!(
        m.ack_info().consumer_seq,
        seqno,
        "Expected sequence of {seqno}"
    );
    m
}

port!("server/jetstream_test.go::TestJetStreamBasicWorkQueue" => basic_work_queue);
fn basic_work_queue() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        js.add_consumer("MY_MSG_SET", worker_mode_config("WQ"))
            .unwrap();
        assert_eq!(
            next_seq(&mut js, "MY_MSG_SET", "WQ"),
            1,
            "Expected to be starting at sequence 1"
        );
        let to_send = 100u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_MSG_SET").msgs, to_send);
        let next = next_subject("MY_MSG_SET", "WQ");
        for i in 1..=to_send {
            get_next(&mut js, &next, "bar", i);
        }

        // A message published while the request waits.
        let next_delay = Duration::from_millis(50);
        let mut pubc = s.client();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(next_delay);
            send_stream_msg(&mut pubc, "bar", "Hello World!");
            pubc
        });
        let start = Instant::now();
        get_next(&mut js, &next, "bar", to_send + 1);
        assert!(
            start.elapsed() >= next_delay,
            "Received message too quickly"
        );
        let mut pubc = sender.join().unwrap();

        // Waiting for new ones while they are sent.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(next_delay);
            for _ in 0..to_send {
                let _ = pubc
                    .conn
                    .request("bar", &[], b"Hello World!", Duration::from_millis(50));
            }
        });
        for i in to_send + 2..to_send * 2 + 2 {
            get_next(&mut js, &next, "bar", i);
        }
        sender.join().unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueMaxWaiting" => work_queue_max_waiting);
fn work_queue_max_waiting() {
    // Go's JSWaitQueueDefaultMax.
    const DEFAULT_MAX_WAITING: u64 = 512;
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        // MaxWaiting is for pull consumers only.
        assert!(
            js.add_consumer(
                "MY_MSG_SET",
                json!({"durable_name": "foo", "ack_policy": "explicit", "max_waiting": 10, "deliver_subject": "_INBOX.22"}),
            )
            .is_err(),
            "Expected an error with MaxWaiting set on non-pull based consumer"
        );
        let o = js
            .add_consumer("MY_MSG_SET", worker_mode_config("MAXWQ"))
            .unwrap();
        assert_eq!(
            o.config["max_waiting"], DEFAULT_MAX_WAITING,
            "Expected default max waiting to have been set"
        );

        let sid = js.conn.subscribe("req.*");
        js.conn.flush();
        let next = next_subject("MY_MSG_SET", "MAXWQ");
        for i in 0..DEFAULT_MAX_WAITING {
            js.conn.publish_request(&next, &format!("req.{i}"), b"");
        }
        expect_waiting(&mut js, "MY_MSG_SET", "MAXWQ", DEFAULT_MAX_WAITING);

        // One more is refused with a 409.
        let m = js
            .conn
            .request(&next, &[], b"", Duration::from_millis(500))
            .unwrap();
        assert_eq!(m.status(), Some(409), "Expected a 409 status code");
        // The waiting requests got nothing.
        check_sub_pending(&mut js, sid, 0, Duration::from_millis(200));
        send_stream_msg(&mut js, "foo", "Hello World!");
        send_stream_msg(&mut js, "bar", "Hello World!");
        expect_waiting(&mut js, "MY_MSG_SET", "MAXWQ", DEFAULT_MAX_WAITING - 2);
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueWrapWaiting" => work_queue_wrap_waiting);
fn work_queue_wrap_waiting() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        let max_waiting = 8u64;
        let mut cfg = worker_mode_config("WRAP");
        cfg["max_waiting"] = json!(max_waiting);
        js.add_consumer("MY_MSG_SET", cfg).unwrap();
        let next = next_subject("MY_MSG_SET", "WRAP");

        let sid = js.conn.subscribe("req.*");
        js.conn.flush();
        for i in 0..max_waiting {
            js.conn.publish_request(&next, &format!("req.{i}"), b"");
        }
        expect_waiting(&mut js, "MY_MSG_SET", "WRAP", max_waiting);
        // Half of them served.
        for _ in 0..max_waiting / 2 {
            send_stream_msg(&mut js, "foo", "Hello World!");
        }
        expect_waiting(&mut js, "MY_MSG_SET", "WRAP", max_waiting / 2);
        // Two more requests.
        for i in max_waiting..max_waiting + 2 {
            js.conn.publish_request(&next, &format!("req.{i}"), b"");
        }
        expect_waiting(&mut js, "MY_MSG_SET", "WRAP", max_waiting / 2 + 2);
        // The other half and the two extra served.
        for _ in 0..max_waiting / 2 + 2 {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        expect_waiting(&mut js, "MY_MSG_SET", "WRAP", 0);
        check_sub_pending(
            &mut js,
            sid,
            max_waiting as usize + 2,
            Duration::from_secs(2),
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueRequest" => work_queue_request);
fn work_queue_request() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        js.add_consumer("MY_MSG_SET", worker_mode_config("WRAP"))
            .unwrap();
        let to_send = 25usize;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        let reply = "_.consumer._";
        let sid = js.conn.subscribe(reply);
        let next = next_subject("MY_MSG_SET", "WRAP");
        let pending = Duration::from_secs(2);

        // A request object asking for all of them.
        js.conn.publish_request(
            &next,
            reply,
            json!({"batch": to_send}).to_string().as_bytes(),
        );
        check_sub_pending(&mut js, sid, to_send, pending);

        // No wait with nothing there: 404.
        let resp = js
            .conn
            .request(
                &next,
                &[],
                json!({"batch": 1, "no_wait": true}).to_string().as_bytes(),
                Duration::from_millis(500),
            )
            .unwrap();
        assert_eq!(resp.status(), Some(404), "Expected status code of 404");

        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo", "Hello World!");
        }
        // A batch larger than what is there, no wait.
        js.conn.publish_request(
            &next,
            reply,
            json!({"batch": to_send + 10, "no_wait": true})
                .to_string()
                .as_bytes(),
        );
        // The earlier batch, this one and the 404.
        check_sub_pending(&mut js, sid, 2 * to_send + 1, pending);
        for _ in 0..2 * to_send + 1 {
            js.conn.next_msg(sid, Duration::from_millis(1));
        }
        check_sub_pending(&mut js, sid, 0, pending);
        js.purge_stream("MY_MSG_SET", None).unwrap();

        // Expiration.
        let req = json!({"batch": 1, "expires": 100_000_000}).to_string();
        js.conn.publish_request(&next, reply, req.as_bytes());
        std::thread::sleep(Duration::from_millis(200));
        // Not for the expired request.
        send_stream_msg(&mut js, "foo", "Hello World!");
        send_stream_msg(&mut js, "bar", "Hello World!");
        std::thread::sleep(Duration::from_millis(100));
        check_sub_pending(&mut js, sid, 1, pending);
        let resp = js
            .conn
            .next_msg(sid, Duration::from_millis(1))
            .expect("Expected an expired status message");
        assert_eq!(resp.status(), Some(408), "Expected status code of 408");

        // A new request gets a message, not a 408.
        js.conn.publish_request(&next, reply, req.as_bytes());
        check_sub_pending(&mut js, sid, 1, pending);
        js.conn.next_msg(sid, Duration::from_secs(1));
        check_sub_pending(&mut js, sid, 0, pending);
    }
}

port!("server/jetstream_test.go::TestJetStreamSubjectFiltering" => subject_filtering);
fn subject_filtering() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MSET", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let to_send = 50u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.A", "Hello World!");
            send_stream_msg(&mut js, "foo.B", "Hello World!");
        }
        assert_eq!(js.stream_state("MSET").msgs, to_send * 2);
        let delivery = new_inbox();
        let sid = js.conn.subscribe(&delivery);
        js.conn.flush();
        js.add_consumer(
            "MSET",
            json!({"deliver_subject": delivery, "filter_subject": "foo.B"}),
        )
        .unwrap();
        for i in 1..=to_send {
            let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
            assert_eq!(m.subject, "foo.B", "Expected original subject of foo.B");
            assert_eq!(m.ack_info().consumer_seq, i, "Expected sequence of {i}");
            js.conn.publish(&m.reply, b"");
        }
        assert_eq!(js.conn.pending(sid), 0, "Expected sub to have no pending");
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueSubjectFiltering" => work_queue_subject_filtering);
fn work_queue_subject_filtering() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let to_send = 50u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.A", "Hello World!");
            send_stream_msg(&mut js, "foo.B", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_MSG_SET").msgs, to_send * 2);
        js.add_consumer(
            "MY_MSG_SET",
            json!({"durable_name": "WQ", "filter_subject": "foo.A", "ack_policy": "explicit"}),
        )
        .unwrap();
        assert_eq!(
            next_seq(&mut js, "MY_MSG_SET", "WQ"),
            1,
            "Expected to be starting at sequence 1"
        );
        let next = next_subject("MY_MSG_SET", "WQ");
        for i in 1..=to_send {
            let m = get_next(&mut js, &next, "foo.A", i);
            js.conn.publish(&m.reply, b"");
        }
    }
}

/// Takes every message `sid` holds.
fn drain(js: &mut JsClient, sid: u64) {
    while js.conn.pending(sid) > 0 {
        js.conn.next_msg(sid, Duration::from_secs(1));
    }
}

port!("server/jetstream_test.go::TestJetStreamWildcardSubjectFiltering" => wildcard_subject_filtering);
fn wildcard_subject_filtering() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "ORDERS", "storage": storage, "subjects": ["orders.*.*"]}))
            .unwrap();
        let to_send = 100u64;
        for i in 1..=to_send {
            send_stream_msg(&mut js, &format!("orders.{i}.NEW"), "new order");
        }
        // 25 random orders shipped.
        let to_ship = 25usize;
        let mut shipped = std::collections::BTreeSet::new();
        let mut rng = Rng::new();
        while shipped.len() < to_ship {
            let order_id = rng.below(to_send - 1) + 1;
            if !shipped.insert(order_id) {
                continue;
            }
            send_stream_msg(
                &mut js,
                &format!("orders.{order_id}.SHIPPED"),
                "shipped order",
            );
        }
        assert_eq!(js.stream_state("ORDERS").msgs, to_send + to_ship as u64);

        let delivery = new_inbox();
        let sid = js.conn.subscribe(&delivery);
        js.conn.flush();
        let wait = Duration::from_secs(5);
        // All shipped.
        js.add_consumer(
            "ORDERS",
            json!({"deliver_subject": delivery, "filter_subject": "orders.*.SHIPPED"}),
        )
        .unwrap();
        check_sub_pending(&mut js, sid, to_ship, wait);
        drain(&mut js, sid);
        assert_eq!(js.conn.pending(sid), 0, "Expected no pending");
        // All new.
        js.add_consumer(
            "ORDERS",
            json!({"deliver_subject": delivery, "filter_subject": "orders.*.NEW"}),
        )
        .unwrap();
        check_sub_pending(&mut js, sid, to_send as usize, wait);
        drain(&mut js, sid);
        assert_eq!(js.conn.pending(sid), 0, "Expected no pending");
        // One shipped order: two messages.
        let order_id = shipped.iter().next().unwrap();
        js.add_consumer(
            "ORDERS",
            json!({"deliver_subject": delivery, "filter_subject": format!("orders.{order_id}.*")}),
        )
        .unwrap();
        check_sub_pending(&mut js, sid, 2, wait);
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueAckAndNext" => work_queue_ack_and_next);
fn work_queue_ack_and_next() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        js.add_consumer("MY_MSG_SET", worker_mode_config("WQ"))
            .unwrap();
        assert_eq!(
            next_seq(&mut js, "MY_MSG_SET", "WQ"),
            1,
            "Expected to be starting at sequence 1"
        );
        let to_send = 100u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_MSG_SET").msgs, to_send);
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        // One request starts it; each ack asks for the next.
        js.conn
            .publish_request(&next_subject("MY_MSG_SET", "WQ"), &inbox, b"");
        for _ in 0..to_send {
            let m = js
                .conn
                .next_msg(sid, Duration::from_secs(1))
                .expect("Unexpected error waiting for messages");
            assert_eq!(
                m.payload, b"Hello World!",
                "Got an invalid message from the stream"
            );
            js.conn.publish_request(&m.reply, &inbox, b"+NXT");
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueRequestBatch" => work_queue_request_batch);
fn work_queue_request_batch() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_MSG_SET", "storage": storage, "subjects": ["foo", "bar"]}),
        )
        .unwrap();
        js.add_consumer("MY_MSG_SET", worker_mode_config("WQ"))
            .unwrap();
        assert_eq!(
            next_seq(&mut js, "MY_MSG_SET", "WQ"),
            1,
            "Expected to be starting at sequence 1"
        );
        let to_send = 100u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_MSG_SET").msgs, to_send);
        let next = next_subject("MY_MSG_SET", "WQ");
        let batch = 50usize;
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn
            .publish_request(&next, &inbox, batch.to_string().as_bytes());
        // The whole batch without acks or more requests.
        check_sub_pending(&mut js, sid, batch, Duration::from_secs(2));

        // A request waiting before the messages come.
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.purge_stream("MY_MSG_SET", None).unwrap();
        js.conn
            .publish_request(&next, &inbox, batch.to_string().as_bytes());
        js.conn.flush();
        for _ in 0..to_send {
            send_stream_msg(&mut js, "bar", "Hello World!");
        }
        check_sub_pending(&mut js, sid, batch, Duration::from_secs(2));
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueRetentionStream" => work_queue_retention_stream);
fn work_queue_retention_stream() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "MWQ", "storage": storage, "subjects": ["MY_WORK_QUEUE.>"],
            "retention": "workqueue",
        }))
        .unwrap();
        // Only deliver-all.
        assert!(
            js.add_consumer("MWQ", json!({"deliver_policy": "last"}))
                .is_err(),
            "Expected an error with anything but DeliverAll"
        );
        // One non-partitioned consumer.
        js.add_consumer(
            "MWQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit"}),
        )
        .unwrap();
        assert!(
            js.add_consumer("MWQ", json!({})).is_err(),
            "Expected an error on attempt for second consumer for a workqueue"
        );
        js.delete_consumer("MWQ", "PBO").unwrap();
        assert_eq!(
            js.stream_state("MWQ").consumer_count,
            0,
            "Expected to have zero consumers"
        );

        // Partitioned consumers.
        let mut pindex = 1;
        let mut p_config = |filter: &str| {
            let name = format!("PPBO-{pindex}");
            pindex += 1;
            (
                name.clone(),
                json!({"durable_name": name, "filter_subject": filter, "ack_policy": "explicit"}),
            )
        };
        let (o, cfg) = p_config("MY_WORK_QUEUE.A");
        js.add_consumer("MWQ", cfg).unwrap();
        let (o2, cfg) = p_config("MY_WORK_QUEUE.B");
        js.add_consumer("MWQ", cfg).unwrap();
        // Overlaps fail.
        let (_, cfg) = p_config("MY_WORK_QUEUE.A");
        assert!(
            js.add_consumer("MWQ", cfg).is_err(),
            "Expected an error on attempt for partitioned consumer for a workqueue"
        );
        let (_, cfg) = p_config("MY_WORK_QUEUE.B");
        assert!(
            js.add_consumer("MWQ", cfg).is_err(),
            "Expected an error on attempt for partitioned consumer for a workqueue"
        );
        let (o3, cfg) = p_config("MY_WORK_QUEUE.C");
        js.add_consumer("MWQ", cfg).unwrap();
        for name in [o, o2, o3] {
            js.delete_consumer("MWQ", &name).unwrap();
        }

        // Wildcards, wider then narrower.
        let (o, cfg) = p_config("MY_WORK_QUEUE.>");
        js.add_consumer("MWQ", cfg).unwrap();
        let (_, cfg) = p_config("MY_WORK_QUEUE.*.BAR");
        assert!(
            js.add_consumer("MWQ", cfg).is_err(),
            "Expected an error on attempt for partitioned consumer for a workqueue"
        );
        js.delete_consumer("MWQ", &o).unwrap();
        // Narrower then wider.
        let (o, cfg) = p_config("MY_WORK_QUEUE.*.BAR");
        js.add_consumer("MWQ", cfg).unwrap();
        let (_, cfg) = p_config("MY_WORK_QUEUE.>");
        assert!(
            js.add_consumer("MWQ", cfg).is_err(),
            "Expected an error on attempt for partitioned consumer for a workqueue"
        );
        js.delete_consumer("MWQ", &o).unwrap();

        // Push consumers, ephemerals too, under the same rules.
        js.add_consumer(
            "MWQ",
            json!({"durable_name": "DURABLE", "deliver_subject": "SOME.SUBJ", "ack_policy": "explicit"}),
        )
        .unwrap();
        let inbox = new_inbox();
        js.conn.subscribe(&inbox);
        js.conn.flush();
        let eph = json!({"deliver_subject": inbox, "ack_policy": "explicit"});
        assert!(
            js.add_consumer("MWQ", eph.clone()).is_err(),
            "Expected an error"
        );
        js.delete_consumer("MWQ", "DURABLE").unwrap();
        js.add_consumer("MWQ", eph).unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamAckAllRedelivery" => ack_all_redelivery);
fn ack_all_redelivery() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "MY_S22", "storage": storage}))
            .unwrap();
        let to_send = 100usize;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "MY_S22", "Hello World!");
        }
        assert_eq!(js.stream_state("MY_S22").msgs, to_send as u64);
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        let o = js
            .add_consumer(
                "MY_S22",
                json!({"deliver_subject": inbox, "ack_wait": 50_000_000, "ack_policy": "all"}),
            )
            .unwrap();
        // Five redeliveries.
        for i in 1..=5 {
            check_sub_pending(&mut js, sid, to_send * i, Duration::from_millis(500));
        }
        js.delete_consumer("MY_S22", &o.name).unwrap();
        // Each redelivered batch in order.
        for _ in 1..=5 {
            for i in 1..=to_send as u64 {
                let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
                assert_eq!(
                    m.ack_info().stream_seq,
                    i,
                    "Expected stream sequence of {i}"
                );
            }
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamAckReplyStreamPending" => ack_reply_stream_pending);
fn ack_reply_stream_pending() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "MY_WQ", "subjects": ["foo.*"], "storage": storage,
            "max_age": SECOND, "retention": "workqueue",
        }))
        .unwrap();
        let to_send = 100u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.1", "Hello World!");
        }
        js.conn.flush();
        assert_eq!(js.stream_state("MY_WQ").msgs, to_send);
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO", "ack_policy": "explicit"}),
        )
        .unwrap();

        let expect_pending = |js: &mut JsClient, consumer: &str, ep: u64| {
            check_for(Duration::from_secs(2), Duration::from_millis(10), || {
                let got = js.cinfo("MY_WQ", consumer).num_pending;
                if got == ep + 1 {
                    Ok(())
                } else {
                    Err(format!(
                        "Expected consumer info pending of {}, got {got}",
                        ep + 1
                    ))
                }
            });
            let m = js
                .conn
                .request(
                    &next_subject("MY_WQ", consumer),
                    &[],
                    b"",
                    Duration::from_secs(1),
                )
                .unwrap();
            assert_eq!(
                m.ack_info().pending,
                ep,
                "Expected ack reply pending of {ep}, reply: {:?}",
                m.reply
            );
        };

        expect_pending(&mut js, "PBO", to_send - 1);
        // More while connected.
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.1", "Hello World!");
        }
        js.conn.flush();
        expect_pending(&mut js, "PBO", to_send * 2 - 2);
        // Purge and send one.
        js.purge_stream("MY_WQ", None).unwrap();
        js.conn.flush();
        send_stream_msg(&mut js, "foo.1", "Hello World!");
        expect_pending(&mut js, "PBO", 0);
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.22", "Hello World!");
        }
        expect_pending(&mut js, "PBO", to_send - 1);
        // Deleting a consumed message does not count.
        let first = js.stream_state("MY_WQ").first_seq;
        js.delete_msg("MY_WQ", first).unwrap();
        expect_pending(&mut js, "PBO", to_send - 2);
        // Deleting one not delivered yet does.
        js.delete_msg("MY_WQ", 250).unwrap();
        expect_pending(&mut js, "PBO", to_send - 4);

        // Expiration.
        js.purge_stream("MY_WQ", None).unwrap();
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.1", "Hello World!");
        }
        js.conn.flush();
        check_for(Duration::from_secs(5), Duration::from_secs(1), || {
            if js.stream_state("MY_WQ").msgs != 0 {
                Err("Stream still has messages".into())
            } else {
                Ok(())
            }
        });
        send_stream_msg(&mut js, "foo.33", "Hello World!");
        expect_pending(&mut js, "PBO", 0);

        // Filtered consumers.
        js.delete_consumer("MY_WQ", "PBO").unwrap();
        js.add_consumer(
            "MY_WQ",
            json!({"durable_name": "PBO-FILTERED", "ack_policy": "explicit", "filter_subject": "foo.22"}),
        )
        .unwrap();
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.33", "Hello World!");
        }
        js.conn.flush();
        assert_eq!(
            js.cinfo("MY_WQ", "PBO-FILTERED").num_pending,
            0,
            "Expected no pending"
        );
        // One that matches.
        send_stream_msg(&mut js, "foo.22", "Hello World!");
        expect_pending(&mut js, "PBO-FILTERED", 0);
        for _ in 0..4 {
            send_stream_msg(&mut js, "foo.22", "Hello World!"); // 504..507
        }
        expect_pending(&mut js, "PBO-FILTERED", 3);
        js.delete_msg("MY_WQ", 506).unwrap();
        expect_pending(&mut js, "PBO-FILTERED", 1);
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo.22", "Hello World!");
        }
        js.conn.flush();
        expect_pending(&mut js, "PBO-FILTERED", 100);
        js.purge_stream("MY_WQ", None).unwrap();
        send_stream_msg(&mut js, "foo.22", "Hello World!");
        expect_pending(&mut js, "PBO-FILTERED", 0);
    }
}

port!("server/jetstream_test.go::TestJetStreamAckReplyStreamPendingWithAcks" => ack_reply_stream_pending_with_acks);
fn ack_reply_stream_pending_with_acks() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(
            json!({"name": "MY_STREAM", "subjects": ["foo", "bar", "baz"], "storage": storage}),
        )
        .unwrap();
        let to_send = 500u64;
        for _ in 0..to_send {
            send_stream_msg(&mut js, "foo", "Hello Foo!");
            send_stream_msg(&mut js, "bar", "Hello Bar!");
            send_stream_msg(&mut js, "baz", "Hello Baz!");
        }
        assert_eq!(js.stream_state("MY_STREAM").msgs, to_send * 3);
        let dsubj = "_d_";
        js.add_consumer(
            "MY_STREAM",
            json!({"durable_name": "D-1", "ack_policy": "explicit", "filter_subject": "foo", "deliver_subject": dsubj}),
        )
        .unwrap();
        assert_eq!(
            js.cinfo("MY_STREAM", "D-1").num_pending,
            to_send,
            "Expected consumer info pending of {to_send}"
        );
        let sid = js.conn.subscribe(dsubj);
        check_sub_pending(&mut js, sid, to_send as usize, Duration::from_secs(5));
        let info = js.cinfo("MY_STREAM", "D-1");
        assert_eq!(info.num_pending, 0, "Expected consumer info pending of 0");
        assert_eq!(
            info.num_ack_pending, to_send,
            "Expected {to_send} to be pending acks"
        );
    }
}
