//! Pull consumers: requests on `$JS.API.CONSUMER.MSG.NEXT`, their limits, expiries,
//! heartbeats, max bytes, no-wait and one-shot behaviour, and the statuses that end them.

use super::*;
use ported::jetstream::{check_for, NatsMsg};
use ported::js_context::{new_inbox, MsgExt, SubOpts, MS, SEC};
use ported::port;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` (Go's `JSApiRequestNextT`).
fn next_subject(stream: &str, consumer: &str) -> String {
    format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}")
}

/// A header as nats.go reads it into a `nats.Header`: the status line gives `Status`
/// and `Description`, each other line a key and its values.
fn header_map(m: &NatsMsg) -> BTreeMap<String, Vec<String>> {
    let mut h = BTreeMap::new();
    let text = String::from_utf8_lossy(&m.header);
    let mut lines = text.split("\r\n");
    if let Some(first) = lines.next() {
        let rest = first.strip_prefix("NATS/1.0").unwrap_or_default().trim();
        if !rest.is_empty() {
            let (code, descr) = rest.split_once(' ').unwrap_or((rest, ""));
            h.insert("Status".to_string(), vec![code.to_string()]);
            if !descr.trim().is_empty() {
                h.insert("Description".to_string(), vec![descr.trim().to_string()]);
            }
        }
    }
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            h.entry(k.trim().to_string())
                .or_insert_with(Vec::new)
                .push(v.trim().to_string());
        }
    }
    h
}

/// A header map from `(key, value)` pairs (Go's `nats.Header{...}` literals).
fn hdr(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect()
}

/// A pull request body (Go's `JSApiConsumerGetNextRequest` marshalled: zero fields left
/// out).
fn next_req(batch: i64, expires: i64, no_wait: bool, max_bytes: i64, hb: i64) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    if expires != 0 {
        m.insert("expires".into(), json!(expires));
    }
    if batch != 0 {
        m.insert("batch".into(), json!(batch));
    }
    if max_bytes != 0 {
        m.insert("max_bytes".into(), json!(max_bytes));
    }
    if no_wait {
        m.insert("no_wait".into(), json!(true));
    }
    if hb != 0 {
        m.insert("idle_heartbeat".into(), json!(hb));
    }
    Value::Object(m).to_string().into_bytes()
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxAckPending" => consumer_pull_max_ack_pending);
fn consumer_pull_max_ack_pending() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MY_STREAM", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        for i in 0..100 {
            send_stream_msg(&mut js, "foo.bar", &format!("MSG: {}", i + 1));
        }
        let max_ack_pending = 33;
        js.add_consumer_direct(
            "MY_STREAM",
            json!({"durable_name": "d22", "ack_policy": "explicit", "max_ack_pending": max_ack_pending}),
        )
        .unwrap();
        let get = next_subject("MY_STREAM", "d22");
        let mut to_ack = Vec::new();
        for _ in 0..max_ack_pending {
            let m = js
                .js
                .conn
                .request(&get, &[], b"", SECOND)
                .unwrap_or_else(|e| panic!("{name}: Unexpected error: {e:?}"));
            to_ack.push(m);
        }
        for m in &to_ack {
            js.respond_nil(m);
        }
        // A batch above the limit.
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.js.conn.publish_msg(
            &get,
            &inbox,
            &[],
            &next_req(max_ack_pending, 0, false, 0, 0),
        );
        js.check_pending_within(sid, max_ack_pending as usize, SECOND);
        // We hit the limit; it stays there.
        assert_eq!(
            js.pending(sid),
            max_ack_pending as usize,
            "{name}: Too many messages received"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxAckPendingRedeliveries" => consumer_pull_max_ack_pending_redeliveries);
fn consumer_pull_max_ack_pending_redeliveries() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "MY_STREAM", "storage": storage, "subjects": ["foo.*"]}))
            .unwrap();
        let to_send = 10u64;
        for i in 0..to_send {
            send_stream_msg(&mut js, "foo.bar", &format!("MSG: {}", i + 1));
        }
        let exp_seq = 4u64;
        js.add_consumer_direct(
            "MY_STREAM",
            json!({
                "durable_name": "d22", "deliver_policy": "by_start_sequence",
                "opt_start_seq": exp_seq, "ack_policy": "explicit", "ack_wait": 20 * MS,
                "max_ack_pending": 1,
            }),
        )
        .unwrap();
        let get = next_subject("MY_STREAM", "d22");
        for delivery in 1..=5u64 {
            let m = js
                .js
                .conn
                .request(&get, &[], b"", SECOND)
                .unwrap_or_else(|e| panic!("{name}: Unexpected error: {e:?}"));
            let meta = m.metadata();
            assert_eq!(meta.stream_seq, exp_seq, "{name}: stream sequence");
            assert_eq!(meta.consumer_seq, delivery, "{name}: consumer sequence");
            assert_eq!(meta.num_delivered, delivery, "{name}: delivery count");
            assert_eq!(meta.num_pending, to_send - exp_seq, "{name}: pending");
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullRemoveInterest" => consumer_pull_remove_interest);
fn consumer_pull_remove_interest() {
    let (s, mut js) = server_and_client();
    let mname = "MYS-PULL";
    js.add_stream(json!({"name": mname, "storage": "memory"}))
        .unwrap();
    js.add_consumer_direct(
        mname,
        json!({"durable_name": "worker", "ack_policy": "explicit"}),
    )
    .unwrap();
    let rqn = next_subject(mname, "worker");
    drop(js);

    // Ask for a message that is not there: the request waits.
    let mut nc = JsContext::connect(s.addr());
    assert!(
        nc.js
            .conn
            .request(&rqn, &[], b"", Duration::from_millis(10))
            .is_err(),
        "Expected an error, got none"
    );
    // New style requests: closing the connection removes the interest.
    drop(nc);
    check_for(
        Duration::from_millis(200),
        Duration::from_millis(10),
        || match s.shared().num_clients() {
            0 => Ok(()),
            n => Err(format!("Still have {n} clients")),
        },
    );

    let mut nc = JsContext::connect(s.addr());
    send_stream_msg(&mut nc, mname, "Hello World!");
    let m = nc.js.conn.request(&rqn, &[], b"", SECOND).unwrap();
    let meta = m.metadata();
    assert_eq!(meta.consumer_seq, 1, "Expected consumer sequence of 1");
    assert_eq!(meta.num_delivered, 1, "Expected delivery count of 1");

    // Old style requests: a subscription of its own for each, gone when it times out.
    let mut old = JsContext::connect(s.addr());
    for _ in 0..10 {
        let inbox = new_inbox();
        let sid = old.js.conn.subscribe(&inbox);
        old.js.conn.publish_msg(&rqn, &inbox, &[], b"");
        assert!(
            old.js
                .conn
                .next_msg(sid, Duration::from_millis(1))
                .is_none(),
            "Expected an error, got none"
        );
        old.js.conn.unsubscribe(sid);
    }
    send_stream_msg(&mut old, mname, "Hello World!");
    let inbox = new_inbox();
    let sid = old.js.conn.subscribe(&inbox);
    old.js.conn.publish_msg(&rqn, &inbox, &[], b"");
    let m = old.js.conn.next_msg(sid, SECOND).expect("a message");
    old.js.conn.unsubscribe(sid);
    let meta = m.metadata();
    assert_eq!(meta.consumer_seq, 2, "Expected consumer sequence of 2");
    assert_eq!(meta.num_delivered, 1, "Expected delivery count of 1");
}

/// The first part of both max-waiting-of-one tests: a request times out, another waits.
fn max_waiting_of_one_setup(js: &mut JsContext) {
    js.add_stream(json!({"name": "TEST", "subjects": ["TEST.A"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dur", "max_waiting": 1, "ack_policy": "explicit"}),
    )
    .unwrap();
    let get = next_subject("TEST", "dur");
    // A request can time out (it used not to with a max waiting of 1).
    let m = js
        .js
        .conn
        .request(
            &get,
            &[],
            &next_req(1, 250 * MS, false, 0, 0),
            Duration::from_millis(13000),
        )
        .unwrap();
    assert_eq!(m.status(), Some(408), "Expected 408");
    // Now a request waits.
    let inbox = new_inbox();
    js.subscribe_sync_core(&inbox);
    js.js
        .conn
        .publish_msg(&get, &inbox, &[], &next_req(1, 0, false, 0, 0));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxWaitingOfOne" => consumer_pull_max_waiting_of_one);
fn consumer_pull_max_waiting_of_one() {
    let (_s, mut js) = server_and_client();
    max_waiting_of_one_setup(&mut js);
    // Another one is refused.
    let m = js
        .js
        .conn
        .request(
            &next_subject("TEST", "dur"),
            &[],
            &next_req(1, 250 * MS, false, 0, 0),
            Duration::from_millis(300),
        )
        .unwrap();
    assert_eq!(m.status(), Some(409), "Expected 409");
    assert_eq!(
        m.description(),
        "Exceeded MaxWaiting",
        "Expected error about exceeded max waiting"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxWaitingOfOneWithHeartbeatInterval" => consumer_pull_max_waiting_of_one_with_heartbeat_interval);
fn consumer_pull_max_waiting_of_one_with_heartbeat_interval() {
    let (_s, mut js) = server_and_client();
    max_waiting_of_one_setup(&mut js);
    // With an idle heartbeat the refusal is silent: the client waits for heartbeats.
    let r = js.js.conn.request(
        &next_subject("TEST", "dur"),
        &[],
        &next_req(1, 500 * MS, false, 0, 250 * MS),
        Duration::from_millis(300),
    );
    assert!(r.is_err(), "expected no answer, got {r:?}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullRequestCleanup" => consumer_pull_request_cleanup);
fn consumer_pull_request_cleanup() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "T", "storage": "memory"}))
        .unwrap();
    js.add_consumer(
        "T",
        json!({"durable_name": "dlc", "ack_policy": "explicit"}),
    )
    .unwrap();
    // Interest, else the requests go for lack of it.
    js.subscribe_sync_core("xx");
    let req = next_req(10, 100 * MS, false, 0, 0);
    let rsubj = next_subject("T", "dlc");
    for _ in 0..100 {
        js.js.conn.publish_msg(&rsubj, "xx", &[], &req);
    }
    // Let them expire.
    std::thread::sleep(Duration::from_millis(200));
    let ci = js.info("T", "dlc");
    assert_eq!(
        ci["num_waiting"], 0,
        "Expected to see no waiting requests, got {ci}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullRequestMaximums" => consumer_pull_request_maximums);
fn consumer_pull_request_maximums() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "storage": "memory"}))
        .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({
            "durable_name": "dlc", "max_batch": 10, "max_bytes": 10_000,
            "max_expires": SEC, "ack_policy": "explicit",
        }),
    )
    .unwrap();
    let rsubj = next_subject("TEST", "dlc");
    for (what, req) in [
        ("max batch", next_req(11, 100 * MS, false, 0, 0)),
        ("max expires", next_req(1, 600 * SEC, false, 0, 0)),
        ("max bytes", next_req(10, 600 * SEC, false, 20_000, 0)),
    ] {
        let resp = js.js.conn.request(&rsubj, &[], &req, SECOND).unwrap();
        assert_eq!(
            resp.status(),
            Some(409),
            "{what}: Expected a 409 status code"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullOneShotBehavior" => consumer_pull_one_shot_behavior);
fn consumer_pull_one_shot_behavior() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "filter_subject": "foo"}),
    )
    .unwrap();
    let rsubj = next_subject("TEST", "dlc");
    // Low level requests, not to depend on any client.
    let get_next = |js: &mut JsContext, batch: i64, expires: Duration, no_wait: bool| {
        let reply = new_inbox();
        let sid = js.js.conn.subscribe(&reply);
        let req = next_req(batch, expires.as_nanos() as i64, no_wait, 0, 0);
        let start = Instant::now();
        js.js.conn.publish_msg(&rsubj, &reply, &[], &req);
        let mut n = 0;
        let result = loop {
            let Some(m) = js
                .js
                .conn
                .next_msg(sid, expires + Duration::from_millis(250))
            else {
                panic!("Did not receive all the msgs in time");
            };
            if m.payload.is_empty() && !m.header.is_empty() {
                break (n, start.elapsed(), Some(header_map(&m)));
            }
            n += 1;
            if n >= batch {
                break (n, start.elapsed(), None);
            }
        };
        js.js.conn.unsubscribe(sid);
        result
    };
    let expect = |js: &mut JsContext,
                  batch: i64,
                  expires: Duration,
                  no_wait: bool,
                  ne: i64,
                  he: Option<BTreeMap<String, Vec<String>>>,
                  lt: Duration,
                  gt: Duration| {
        let (n, e, h) = get_next(js, batch, expires, no_wait);
        assert_eq!(n, ne, "Expected {ne} msgs, got {n}");
        assert_eq!(h, he, "Expected {he:?} hdr, got {h:?}");
        if !lt.is_zero() {
            assert!(e <= lt, "Expected elapsed of {e:?} to be less than {lt:?}");
        }
        if !gt.is_zero() {
            assert!(
                e >= gt,
                "Expected elapsed of {e:?} to be greater than {gt:?}"
            );
        }
    };
    let zero = Duration::ZERO;
    let instant = Duration::from_millis(5);
    let no_msgs = hdr(&[("Status", "404"), ("Description", "No Messages")]);
    let req_timeout = hdr(&[
        ("Status", "408"),
        ("Description", "Request Timeout"),
        ("Nats-Pending-Bytes", "0"),
        ("Nats-Pending-Messages", "1"),
    ]);
    let ms = Duration::from_millis;
    // Empty: a no-wait request is answered at once.
    expect(&mut js, 1, zero, true, 0, Some(no_msgs), instant, zero);
    // A waiting request waits its whole expiry.
    expect(
        &mut js,
        1,
        ms(250),
        false,
        0,
        Some(req_timeout.clone()),
        zero,
        ms(250),
    );
    // No-wait with an expiry waits too when nothing is there (one shot).
    expect(
        &mut js,
        1,
        ms(500),
        true,
        0,
        Some(req_timeout),
        zero,
        ms(500),
    );
    for _ in 0..20 {
        js.publish_ok("foo", b"HELLO");
    }
    // The same three with messages there.
    expect(&mut js, 1, zero, true, 1, None, instant, zero);
    expect(&mut js, 5, ms(500), false, 5, None, instant, zero);
    expect(&mut js, 5, ms(500), true, 5, None, instant, zero);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMultipleRequestsExpireOutOfOrder" => consumer_pull_multiple_requests_expire_out_of_order);
fn consumer_pull_multiple_requests_expire_out_of_order() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "filter_subject": "foo"}),
    )
    .unwrap();
    let rsubj = next_subject("TEST", "dlc");
    let sid = js.subscribe_sync_core("i.*");
    for expires in [200, 100, 25, 75] {
        let req = next_req(0, expires * MS, false, 0, 0);
        js.js
            .conn
            .publish_msg(&rsubj, &format!("i.{expires}"), &[], &req);
    }
    let start = Instant::now();
    js.check_subs_pending(sid, 4);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed <= Duration::from_millis(500),
        "Expected elapsed to be close to 200ms, but got {elapsed:?}"
    );
    let got: Vec<String> = (0..4)
        .map(|_| js.next_msg_core(sid, Duration::ZERO).unwrap().subject)
        .collect();
    assert_eq!(
        got,
        ["i.25", "i.75", "i.100", "i.200"],
        "Received in wrong order"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullLastPerSubjectRedeliveries" => consumer_pull_last_per_subject_redeliveries);
fn consumer_pull_last_per_subject_redeliveries() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"]}))
        .unwrap();
    for i in 0..20 {
        send_stream_msg(&mut js, &format!("foo.{i}"), "msg");
    }
    let mut sub = js
        .pull_subscribe(
            ">",
            "dur",
            SubOpts::bind_stream("TEST").with(json!({
                "ack_policy": "explicit", "deliver_policy": "last_per_subject",
                "max_ack_pending": 10, "max_batch": 10, "ack_wait": 250 * MS,
            })),
        )
        .unwrap();
    // As many as we may have, not acknowledged.
    js.fetch(&mut sub, 10, SECOND).unwrap();
    // Past the ack wait.
    std::thread::sleep(Duration::from_millis(500));
    let msgs = js.fetch(&mut sub, 10, SECOND).unwrap();
    assert_eq!(msgs.len(), 10);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            m.subject,
            format!("foo.{i}"),
            "Expected message for subject foo.{i}"
        );
        js.ack(m);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullTimeoutHeaders" => consumer_pull_timeout_headers);
fn consumer_pull_timeout_headers() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit"}),
    )
    .unwrap();
    js.js.conn.publish("foo.foo", b"foo");
    js.js.conn.publish("foo.bar", b"bar");
    js.js.conn.publish("foo.else", b"baz");
    js.flush();
    let rsubj = next_subject("TEST", "dlc");
    let (max_bytes, batch) = (1024usize, 50usize);
    let req = next_req(batch as i64, 100 * MS, false, max_bytes as i64, 0);
    let reply = new_inbox();
    let sid = js.subscribe_sync_core(&reply);
    js.js.conn.publish_msg(&rsubj, &reply, &[], &req);
    let (mut received, mut bytes) = (0usize, 0usize);
    let check = |m: &NatsMsg, status: &str, descr: &str, received: usize, bytes: usize| {
        let h = header_map(m);
        assert_eq!(h.get("Status"), Some(&vec![status.to_string()]), "status");
        assert_eq!(
            h.get("Description"),
            Some(&vec![descr.to_string()]),
            "description"
        );
        assert_eq!(
            h.get("Nats-Pending-Messages"),
            Some(&vec![(batch - received).to_string()]),
            "pending messages"
        );
        assert_eq!(
            h.get("Nats-Pending-Bytes"),
            Some(&vec![(max_bytes - bytes).to_string()]),
            "pending bytes"
        );
    };
    loop {
        let m = js
            .next_msg_core(sid, Duration::from_millis(250))
            .expect("Did not receive all the msgs in time");
        if m.payload.is_empty() && !m.header.is_empty() {
            check(&m, "408", "Request Timeout", received, bytes);
            break;
        }
        received += 1;
        bytes += m.payload.len() + m.header.len() + m.reply.len() + m.subject.len();
    }
    // Again, then the server shuts down: a 409 telling so carries the same headers.
    js.js.conn.publish_msg(&rsubj, &reply, &[], &req);
    js.flush();
    s.shutdown();
    // Go does not fail when the answer did not make it before the connection closed.
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        js.next_msg_core(sid, Duration::from_millis(500))
    }));
    if let Ok(Some(m)) = got {
        check(&m, "409", "Server Shutdown", 0, 0);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullBatchCompleted" => consumer_pull_batch_completed);
fn consumer_pull_batch_completed() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let msg = vec![7u8; 128];
    for _ in 0..10 {
        js.publish_ok("foo", &msg);
    }
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dur", "ack_policy": "explicit"}),
    )
    .unwrap();
    let inbox = new_inbox();
    let sid = js.subscribe_sync_core(&inbox);
    js.js.conn.publish_msg(
        &next_subject("TEST", "dur"),
        &inbox,
        &[],
        &next_req(0, 250 * MS, false, 1024, 0),
    );
    // The first message, then the news that the batch is complete with bytes to spare.
    js.next_msg_core(sid, SECOND).expect("a message");
    let m = js.next_msg_core(sid, SECOND).expect("a status");
    assert_eq!(m.status(), Some(409), "Expected 409");
    assert_eq!(m.description(), "Batch Completed");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullLargeBatchExpired" => consumer_pull_large_batch_expired);
fn consumer_pull_large_batch_expired() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let mut sub = js
        .pull_subscribe(
            "foo",
            "dlc",
            SubOpts::config(json!({"max_waiting": 10, "max_ack_pending": 10 * 50_000_000})),
        )
        .unwrap();
    // Ten large requests that expire.
    let req = next_req(50_000_000, 100 * MS, false, 0, 0);
    for _ in 0..10 {
        js.js
            .conn
            .publish_msg(&next_subject("TEST", "dlc"), "bar", &[], &req);
    }
    js.flush();
    std::thread::sleep(Duration::from_millis(150));
    // Another one, timed with the shutdown.
    let start = Instant::now();
    let _ = js.fetch(&mut sub, 1, Duration::from_millis(100));
    s.shutdown();
    let delta = start.elapsed();
    assert!(
        delta <= Duration::from_millis(200),
        "Took too long to expire: {delta:?}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullTimeout" => consumer_pull_timeout);
fn consumer_pull_timeout() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "pr", "ack_policy": "explicit"}),
    )
    .unwrap();
    const NUM: usize = 1000;
    // Messages at small intervals.
    let addr = s.addr();
    let publisher = std::thread::spawn(move || {
        let mut p = JsContext::connect(addr);
        for _ in 0..NUM {
            std::thread::sleep(Duration::from_millis(10));
            send_stream_msg(&mut p, "TEST", "data");
        }
    });
    let req = next_req(200, 100 * MS, false, 0, 0);
    let subj = next_subject("TEST", "pr");
    let reply = "_pr_";
    let sid = js.subscribe_sync_core(reply);
    js.js.conn.publish_msg(&subj, reply, &[], &req);
    // A new request only after a 408; everything else is a message to ack.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = 0;
    while got < NUM {
        assert!(
            Instant::now() < deadline,
            "expected {NUM} messages, got {got}"
        );
        let Some(m) = js.next_msg_core(sid, Duration::from_millis(200)) else {
            continue;
        };
        if m.status() == Some(408) && m.description() == "Request Timeout" {
            js.js.conn.publish_msg(&subj, reply, &[], &req);
            js.flush();
        } else {
            got += 1;
            js.ack(&m);
        }
    }
    publisher.join().unwrap();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxBytes" => consumer_pull_max_bytes);
fn consumer_pull_max_bytes() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    // About 2 MB, each about 100 kB.
    let (msz, dsz) = (100_000i64, 99_900usize);
    let msg = vec![b'Z'; dsz];
    for _ in 0..20 {
        js.publish("TEST", &[], &msg)
            .unwrap_or_else(|e| panic!("Unexpected publish error: {e:?}"));
    }
    js.add_consumer(
        "TEST",
        json!({"durable_name": "pr", "ack_policy": "explicit"}),
    )
    .unwrap();
    let subj = next_subject("TEST", "pr");
    let reply = "_pr_";
    let sid = js.subscribe_sync_core(reply);
    let check_header = |m: &NatsMsg, status: u16, descr: &str| {
        assert!(
            m.payload.is_empty(),
            "Did not expect data, got {} bytes",
            m.payload.len()
        );
        assert_eq!(
            (m.status(), m.description()),
            (Some(status), descr.to_string())
        );
    };
    // Less max bytes than a single message: an error.
    js.js
        .conn
        .publish_msg(&subj, reply, &[], &next_req(0, 0, true, 100, 0));
    let m = js.next_msg_core(sid, SECOND).unwrap();
    js.check_subs_pending(sid, 0);
    check_header(&m, 409, "Message Size Exceeds MaxBytes");

    // Lots of max bytes: the batch size decides, then "Batch Completed".
    for batch in [1, 5] {
        js.js
            .conn
            .publish_msg(&subj, reply, &[], &next_req(batch, 0, true, 10_000_000, 0));
        js.check_subs_pending(sid, batch as usize + 1);
        for _ in 0..batch {
            let m = js.next_msg_core(sid, SECOND).unwrap();
            assert_eq!(m.payload.len(), dsz);
            assert!(m.header.is_empty());
        }
        let m = js.next_msg_core(sid, SECOND).unwrap();
        assert_eq!(m.description(), "Batch Completed");
        js.check_subs_pending(sid, 0);
    }

    // A large batch limited by max bytes: 4 messages and the 409, then 1 and the 409.
    for (max_bytes, n) in [(msz * 4, 4), (msz, 1)] {
        js.js
            .conn
            .publish_msg(&subj, reply, &[], &next_req(1_000, 0, true, max_bytes, 0));
        js.check_subs_pending(sid, n + 1);
        for _ in 0..n {
            let m = js.next_msg_core(sid, SECOND).unwrap();
            assert_eq!(m.payload.len(), dsz);
            assert!(m.header.is_empty());
        }
        let m = js.next_msg_core(sid, SECOND).unwrap();
        check_header(&m, 409, "Message Size Exceeds MaxBytes");
        js.check_subs_pending(sid, 0);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullHeartBeats" => consumer_pull_heart_beats);
fn consumer_pull_heart_beats() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "T", "storage": "memory"}))
        .unwrap();
    js.add_consumer(
        "T",
        json!({"durable_name": "dlc", "ack_policy": "explicit"}),
    )
    .unwrap();
    let rsubj = next_subject("T", "dlc");
    // Sends a request and collects what comes until `expected` arrived (polled as Go's
    // checkFor does); each with the time it came.
    let do_req =
        |js: &mut JsContext, batch: i64, hb: Duration, expires: Duration, expected: usize| {
            let reply = new_inbox();
            let sid = js.subscribe_sync_core(&reply);
            let req = next_req(
                batch,
                expires.as_nanos() as i64,
                false,
                0,
                hb.as_nanos() as i64,
            );
            js.js.conn.publish_msg(&rsubj, &reply, &[], &req);
            let mut msgs: Vec<(Instant, NatsMsg)> = Vec::new();
            let deadline = Instant::now() + SECOND;
            let mut next_check = Instant::now();
            loop {
                let wait = next_check.saturating_duration_since(Instant::now());
                if let Some(m) = js.next_msg_core(sid, wait) {
                    msgs.push((Instant::now(), m));
                    continue;
                }
                if msgs.len() >= expected {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "Only have seen {} of {expected} responses",
                    msgs.len()
                );
                next_check = Instant::now() + Duration::from_millis(50);
            }
            js.unsubscribe_core(sid);
            msgs
        };
    let req_bad = hdr(&[
        ("Status", "400"),
        ("Description", "Bad Request - heartbeat value too large"),
    ]);
    let expect_err = |msgs: Vec<(Instant, NatsMsg)>| {
        assert_eq!(msgs.len(), 1, "Expected 1 msg, got {}", msgs.len());
        assert_eq!(header_map(&msgs[0].1), req_bad);
    };
    let ms = Duration::from_millis;
    // A heartbeat without an expiry, and one of more than half the expiry.
    expect_err(do_req(&mut js, 1, ms(100), Duration::ZERO, 1));
    expect_err(do_req(&mut js, 1, ms(75), ms(100), 1));

    // Idle: heartbeats, then the timeout.
    let start = Instant::now();
    let msgs = do_req(&mut js, 1, ms(50), ms(250), 5);
    assert_eq!(msgs.len(), 5, "Expected 5 but got {}", msgs.len());
    let mut ts = start;
    for (received, m) in &msgs[..4] {
        let h = header_map(m);
        assert_eq!(h.get("Status"), Some(&vec!["100".to_string()]), "{h:?}");
        assert_eq!(
            h.get("Description"),
            Some(&vec!["Idle Heartbeat".to_string()]),
            "{h:?}"
        );
        ts += ms(50);
        assert!(*received >= ts, "Received at wrong time");
    }
    assert_eq!(
        msgs[4].1.status(),
        Some(408),
        "Expected 408 Request Timeout"
    );

    // No heartbeats while messages flow.
    let addr = s.addr();
    let publisher = std::thread::spawn(move || {
        let mut p = JsContext::connect(addr);
        for _ in 0..5 {
            std::thread::sleep(ms(50));
            p.publish_ok("T", b"");
        }
    });
    let msgs = do_req(&mut js, 10, ms(75), ms(350), 6);
    publisher.join().unwrap();
    for (_, m) in &msgs[..5] {
        assert!(
            m.header.is_empty(),
            "Got a potential heartbeat msg when we should not have: {:?}",
            String::from_utf8_lossy(&m.header)
        );
    }
    assert_eq!(
        msgs.last().unwrap().1.status(),
        Some(408),
        "Expected 408 Request Timeout"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullConsumerFIFO" => consumer_pull_consumer_fifo);
fn consumer_pull_consumer_fifo() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "T"})).unwrap();
    js.add_consumer("T", json!({"durable_name": "d", "ack_policy": "explicit"}))
        .unwrap();
    // Ten requests for ten messages each.
    let mut sids = Vec::new();
    for _ in 0..10 {
        let inbox = new_inbox();
        sids.push(js.subscribe_sync_core(&inbox));
        js.js.conn.publish_msg(
            &next_subject("T", "d"),
            &inbox,
            &[],
            &next_req(10, 60 * SEC, false, 0, 0),
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..100 {
        js.publish_ok("T", b"FIFO FTW!");
    }
    for &sid in &sids {
        js.check_subs_pending(sid, 10);
    }
    // FIFO per message: request #1 gets 1, 11, 21, ...
    for (index, &sid) in sids.iter().enumerate() {
        for i in 0..10 {
            let m = js.next_msg_core(sid, SECOND).unwrap();
            let sseq = m.metadata().stream_seq;
            assert_eq!(
                sseq,
                (index + 1 + 10 * i) as u64,
                "Expected message #{} for sub #{} to be {}",
                i + 1,
                index + 1,
                index + 1 + 10 * i
            );
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullConsumerOneShotOnMaxAckLimit" => consumer_pull_consumer_one_shot_on_max_ack_limit);
fn consumer_pull_consumer_one_shot_on_max_ack_limit() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "T"})).unwrap();
    for _ in 0..10 {
        js.publish_ok("T", b"OK");
    }
    let mut sub = js
        .pull_subscribe("T", "d", SubOpts::config(json!({"max_ack_pending": 5})))
        .unwrap();
    let start = Instant::now();
    let msgs = js.fetch(&mut sub, 10, 2 * SECOND).unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < 2 * SECOND,
        "Took too long, not one shot behavior: {elapsed:?}"
    );
    assert_eq!(msgs.len(), 5, "Expected 5 msgs, got {}", msgs.len());
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerStateAlwaysFromStore" => consumer_state_always_from_store);
fn consumer_state_always_from_store() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({
            "durable_name": "CONSUMER", "ack_wait": 2 * SEC, "ack_policy": "explicit",
            "filter_subject": "foo.bar",
        }),
    )
    .unwrap();
    js.publish_ok("foo.bar", b"");
    js.publish_ok("foo.other", b"");
    let mut sub = js
        .pull_subscribe("foo.bar", "CONSUMER", SubOpts::default())
        .unwrap();
    let ci = js.info("TEST", "CONSUMER");
    assert_eq!(ci["delivered"]["stream_seq"], 0, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 0, "{ci}");
    // More than the filter takes.
    let msgs = js.fetch(&mut sub, 2, SECOND).unwrap();
    assert_eq!(msgs.len(), 1);
    // Received, not acknowledged.
    let ci = js.info("TEST", "CONSUMER");
    assert_eq!(ci["delivered"]["stream_seq"], 1, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 0, "{ci}");
    js.ack_sync(&msgs[0]).unwrap();
    let ci = js.info("TEST", "CONSUMER");
    assert_eq!(ci["delivered"]["stream_seq"], 1, "{ci}");
    assert_eq!(ci["ack_floor"]["stream_seq"], 1, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerNoWaitNoMessagesOnEosWithDeliveredMsgs" => consumer_no_wait_no_messages_on_eos_with_delivered_msgs);
fn consumer_no_wait_no_messages_on_eos_with_delivered_msgs() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    js.publish_ok("foo", b"msg");
    let sid = js.subscribe_sync_core("reply");
    // Go hands the request to the consumer directly; here it goes on MSG.NEXT.
    js.js.conn.publish_msg(
        &next_subject("TEST", "CONSUMER"),
        "reply",
        &[],
        &next_req(2, 0, true, 0, 0),
    );
    let m = js.next_msg_core(sid, SECOND).unwrap();
    assert_eq!(m.subject, "foo");
    assert_eq!(m.payload, b"msg");
    // Two asked for, one there.
    let m = js.next_msg_core(sid, SECOND).unwrap();
    assert_eq!(m.status(), Some(404));
    assert_eq!(m.description(), "No Messages");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerNoWaitNoMessagesOnEos" => consumer_no_wait_no_messages_on_eos);
fn consumer_no_wait_no_messages_on_eos() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    let sid = js.subscribe_sync_core("reply");
    // The pending count says one more than there is (Go bumps o.npc), so the no-wait
    // request goes through and ends at the end of the stream.
    {
        let st = {
            let jsr = s.shared().jetstream().unwrap();
            let stream = jsr.account("$G").and_then(|a| a.stream("TEST")).unwrap();
            stream.store().fast_state()
        };
        let c = s.consumer("TEST", "CONSUMER");
        let mut cur = c.cursor.lock();
        cur.npc = Some(natsd::jetstream::consumer::PendingCount {
            count: 1,
            next_sseq: cur.next_sseq,
            first_seq: st.first_seq,
            last_seq: st.last_seq,
            msgs: st.msgs,
        });
    }
    // Go hands the request to the consumer directly; here it goes on MSG.NEXT.
    js.js.conn.publish_msg(
        &next_subject("TEST", "CONSUMER"),
        "reply",
        &[],
        &next_req(0, 0, true, 0, 0),
    );
    let m = js.next_msg_core(sid, SECOND).expect("an answer");
    assert_eq!(m.status(), Some(404));
    assert_eq!(m.description(), "No Messages");
}
