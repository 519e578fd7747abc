//! Priority groups of pull consumers (ADR-42): pinned clients (`Nats-Pin-Id`, the pinned
//! TTL, 423 for a stale pin, `$JS.API.CONSUMER.UNPIN` and its advisories), overflow
//! thresholds (`min_pending`, `min_ack_pending`), prioritized requests (`priority`), the
//! checks on requests, and the wait queue's order.

use super::*;
use ported::jetstream::NatsMsg;
use ported::js_context::{MS, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const NEXT: &str = "$JS.API.CONSUMER.MSG.NEXT.TEST";

/// `nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.TEST.<consumer>", reply, body)`.
fn publish_next(js: &mut JsContext, consumer: &str, reply: &str, body: &Value) {
    let body = serde_json::to_vec(body).unwrap();
    js.conn
        .publish_msg(&format!("{NEXT}.{consumer}"), reply, &[], &body);
}

/// Go's `sendRequest`: subscribes `reply` and sends the pull request to consumer `C`.
fn send_request(js: &mut JsContext, reply: &str, body: Value) -> u64 {
    let sid = js.subscribe_sync_core(reply);
    publish_next(js, "C", reply, &body);
    sid
}

/// The stream `TEST` on `subjects` and a pinned-client consumer `C` on `filter`.
fn pinned_setup(js: &mut JsContext, subjects: Value, filter: &str, ttl: i64) {
    js.add_stream(json!({"name": "TEST", "subjects": subjects, "retention": "limits"}))
        .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({
            "durable_name": "C", "filter_subject": filter, "priority_groups": ["A"],
            "priority_policy": "pinned_client", "ack_policy": "explicit",
            "priority_timeout": ttl,
        }),
    )
    .unwrap();
}

/// A pull request of group `A` for `batch` messages expiring after `expires` ns, with
/// `extra` fields.
fn group_request(batch: i64, expires: i64, extra: Value) -> Value {
    let mut req = json!({"batch": batch, "expires": expires, "group": "A"});
    if let (Some(r), Value::Object(e)) = (req.as_object_mut(), extra) {
        r.extend(e);
    }
    req
}

fn pin_of(m: &NatsMsg) -> String {
    m.header_value("Nats-Pin-Id").unwrap_or_default()
}

fn status_of(m: &NatsMsg) -> String {
    m.status().map(|s| s.to_string()).unwrap_or_default()
}

#[track_caller]
fn must_next(js: &mut JsContext, sid: u64, timeout: Duration) -> NatsMsg {
    js.next_msg_core(sid, timeout)
        .unwrap_or_else(|| panic!("nothing on sid {sid} within {timeout:?}"))
}

#[track_caller]
fn expect_nothing(js: &mut JsContext, sid: u64, timeout: Duration) {
    if let Some(m) = js.next_msg_core(sid, timeout) {
        panic!(
            "expected nothing, got {:?} {:?}",
            String::from_utf8_lossy(&m.header),
            String::from_utf8_lossy(&m.payload)
        );
    }
}

/// `$JS.API.CONSUMER.UNPIN.<stream>.<consumer>` for `group`; the error, if any.
fn unpin_request(js: &mut JsContext, stream: &str, consumer: &str, group: &str) -> Option<Value> {
    let resp = js.request_json(
        &format!("$JS.API.CONSUMER.UNPIN.{stream}.{consumer}"),
        json!({"group": group}),
    );
    assert_eq!(
        resp["type"], "io.nats.jetstream.api.v1.consumer_unpin_response",
        "{resp}"
    );
    resp.get("error").cloned()
}

/// Go's `o.waiting.len()`.
fn waiting_len(s: &JsServer, consumer: &str) -> usize {
    s.consumer("TEST", consumer).cursor.lock().waiting.len()
}

#[track_caller]
fn wait_for_n_waiting(s: &JsServer, consumer: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let got = waiting_len(s, consumer);
        if got == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} waiting requests, got {got}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinned" => consumer_pinned);
fn consumer_pinned() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo.>", "bar", "baz"]), "foo.>", 10 * SEC);
    for i in 0..100 {
        // Even ones carry a header: the pin id is added with and without headers.
        let headers: &[(&str, &str)] = if i % 2 == 0 {
            &[("Some-Header", "Value")]
        } else {
            &[]
        };
        js.publish(&format!("foo.{i}"), headers, format!("msg-{i}").as_bytes())
            .unwrap();
    }
    let req = group_request(3, 5 * SEC, json!({}));
    let replies = js.subscribe_sync_core("ONE");
    publish_next(&mut js, "C", "ONE", &req);
    let replies2 = js.subscribe_sync_core("TWO");
    publish_next(&mut js, "C", "TWO", &req);

    // The first request is pinned.
    let msg = must_next(&mut js, replies, SEC_D);
    let pinned = pin_of(&msg);
    assert!(!pinned.is_empty(), "Expected pinned message, got none");
    // The other one idles.
    expect_nothing(&mut js, replies2, SEC_D);
    // The pinned one goes on getting messages.
    must_next(&mut js, replies, SEC_D);
    expect_nothing(&mut js, replies2, SEC_D);

    // A request with a wrong pin id is told so.
    let req_bad = group_request(3, 250 * MS, json!({"id": "WRONG"}));
    let replies3 = js.subscribe_sync_core("ONE");
    publish_next(&mut js, "C", "ONE", &req_bad);
    let msg = must_next(&mut js, replies3, SEC_D);
    assert_eq!(status_of(&msg), "423", "Expected 423");
    // One with the right pin gets messages.
    let req = group_request(3, 250 * MS, json!({"id": pinned}));
    let replies4 = js.subscribe_sync_core("FOUR");
    publish_next(&mut js, "C", "FOUR", &req);
    must_next(&mut js, replies4, SEC_D);

    let advisories = js.subscribe_sync_core("$JS.EVENT.ADVISORY.CONSUMER.*.TEST.C");
    // A request without a pin gets messages once the pin timed out.
    let req = group_request(3, 50 * SEC, json!({}));
    let replies5 = js.subscribe_sync_core("FIVE");
    publish_next(&mut js, "C", "FIVE", &req);
    let deadline = Instant::now() + Duration::from_secs(20);
    while js
        .next_msg_core(replies5, Duration::from_millis(500))
        .is_none()
    {
        assert!(Instant::now() < deadline, "FIVE got nothing in 20s");
    }
    let advisory = must_next(&mut js, advisories, SEC_D);
    assert_eq!(
        advisory.subject,
        "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.TEST.C"
    );
    let advisory = must_next(&mut js, advisories, SEC_D);
    assert_eq!(
        advisory.subject,
        "$JS.EVENT.ADVISORY.CONSUMER.PINNED.TEST.C"
    );

    // Unpinned by hand.
    assert_eq!(unpin_request(&mut js, "TEST", "C", "A"), None);
    let advisory = must_next(&mut js, advisories, SEC_D);
    assert_eq!(
        advisory.subject,
        "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.TEST.C"
    );

    let replies6 = js.subscribe_sync_core("FIVE");
    publish_next(&mut js, "C", "FIVE", &req_bad);
    must_next(&mut js, replies6, Duration::from_secs(5));
}

const SEC_D: Duration = Duration::from_secs(1);

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedPlainRequestNoPanic" => consumer_pinned_plain_request_no_panic);
fn consumer_pinned_plain_request_no_panic() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo"]), "foo", 10 * SEC);
    js.publish("foo", &[], b"msg").unwrap();
    let replies = js.subscribe_sync_core("PLAIN");
    // A bare batch number: no priority group on a pinned consumer.
    js.conn
        .publish_msg(&format!("{NEXT}.C"), "PLAIN", &[], b"1");
    let msg = must_next(&mut js, replies, Duration::from_secs(2));
    assert_eq!(msg.payload, b"msg");
    // Still alive.
    js.flush();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedUnsetsAfterAtMostPinnedTTL" => consumer_pinned_unsets_after_at_most_pinned_ttl);
fn consumer_pinned_unsets_after_at_most_pinned_ttl() {
    for publish in [true, false] {
        let (s, mut js) = server_and_client();
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "retention": "limits"}))
            .unwrap();
        if publish {
            js.publish("foo", &[], b"").unwrap();
        }
        js.add_consumer_direct(
            "TEST",
            json!({
                "durable_name": "C", "filter_subject": "foo", "priority_groups": ["A"],
                "priority_policy": "pinned_client", "ack_policy": "explicit",
                "priority_timeout": SEC,
            }),
        )
        .unwrap();
        let o = s.consumer("TEST", "C");
        // An expiry far past the pinned TTL: the pin is held for the TTL at most.
        let sub = js.subscribe_sync_core("ONE");
        publish_next(&mut js, "C", "ONE", &group_request(2, 2 * SEC, json!({})));

        let mut pin_id = String::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(750) {
            let current = o.pin_id();
            if pin_id.is_empty() {
                pin_id = current;
            } else {
                assert_eq!(pin_id, current, "the pin id must not change");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if publish {
            assert!(!pin_id.is_empty(), "pinned when the message was delivered");
            std::thread::sleep(Duration::from_millis(500));
        }
        assert_eq!(o.pin_id(), "", "unpinned after the pinned TTL");
        if publish {
            let msg = must_next(&mut js, sub, Duration::from_millis(200));
            assert_eq!(pin_of(&msg), pin_id);
            assert_eq!(msg.subject, "foo");
        }
        let msg = must_next(&mut js, sub, Duration::from_secs(3));
        assert_eq!(status_of(&msg), "408");
        assert_eq!(msg.status_description(), "Request Timeout");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedUnsubscribeOnPinned" => consumer_pinned_unsubscribe_on_pinned);
fn consumer_pinned_unsubscribe_on_pinned() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo.>", "bar", "baz"]), "foo.>", SEC);
    js.publish("foo.1", &[], b"hello").unwrap();
    let req = group_request(3, 5 * SEC, json!({"idle_heartbeat": 250 * MS}));
    let replies = js.subscribe_sync_core("ONE");
    publish_next(&mut js, "C", "ONE", &req);
    let replies2 = js.subscribe_sync_core("TWO");
    publish_next(&mut js, "C", "TWO", &req);

    let msg = must_next(&mut js, replies, SEC_D);
    assert!(
        !pin_of(&msg).is_empty(),
        "Expected pinned message, got none"
    );
    // The pinned client goes away.
    js.unsubscribe_core(replies);
    js.publish("foo.1", &[], b"hello").unwrap();

    // The other one gets heartbeats...
    let msg = must_next(&mut js, replies2, SEC_D);
    assert_eq!(status_of(&msg), "100");
    // ... until the pin times out and it gets the message with a new pin.
    loop {
        let msg = must_next(&mut js, replies2, SEC_D);
        if status_of(&msg) == "100" {
            continue;
        }
        assert!(
            !pin_of(&msg).is_empty(),
            "Expected pinned message, got none"
        );
        break;
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUnpinNoMessages" => consumer_unpin_no_messages);
fn consumer_unpin_no_messages() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo"]), "foo", 30 * SEC);
    let req = group_request(30, 60 * SEC, json!({}));
    let replies = js.subscribe_sync_core("ONE");
    publish_next(&mut js, "C", "ONE", &req);
    let replies2 = js.subscribe_sync_core("TWO");
    publish_next(&mut js, "C", "TWO", &req);
    send_stream_msg(&mut js, "foo", "data");
    send_stream_msg(&mut js, "foo", "data");

    let msg = must_next(&mut js, replies, SEC_D);
    let pin_id = pin_of(&msg);
    assert_ne!(pin_id, "");
    must_next(&mut js, replies, SEC_D);
    expect_nothing(&mut js, replies2, SEC_D);

    assert_eq!(unpin_request(&mut js, "TEST", "C", "A"), None);
    send_stream_msg(&mut js, "foo", "data");
    send_stream_msg(&mut js, "foo", "data");
    // The old pin holder is told it is not pinned any more.
    let msg = must_next(&mut js, replies, SEC_D);
    assert_eq!(status_of(&msg), "423");
    // The other one gets the message and a new pin.
    let msg = must_next(&mut js, replies2, SEC_D);
    assert_eq!(msg.payload, b"data");
    assert_ne!(pin_of(&msg), pin_id);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUnpinPickDifferentRequest" => consumer_unpin_pick_different_request);
fn consumer_unpin_pick_different_request() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo"]), "foo", 30 * SEC);
    send_stream_msg(&mut js, "foo", "data");
    let req = group_request(5, 15 * SEC, json!({}));
    let first = js.subscribe_sync_core("FIRST");
    publish_next(&mut js, "C", "FIRST", &req);
    let msg = must_next(&mut js, first, SEC_D);
    let pin_id = pin_of(&msg);
    assert_ne!(pin_id, "");

    let second = js.subscribe_sync_core("SECOND");
    publish_next(&mut js, "C", "SECOND", &req);
    expect_nothing(&mut js, second, SEC_D);

    unpin_request(&mut js, "TEST", "C", "A");
    // Nothing to send: the old holder is not told yet.
    expect_nothing(&mut js, first, SEC_D);
    send_stream_msg(&mut js, "foo", "data");
    let msg = must_next(&mut js, first, SEC_D);
    assert_eq!(status_of(&msg), "423");
    // The status carries no pin.
    assert_eq!(pin_of(&msg), "");
    // The other request got the message and a new pin.
    let msg = must_next(&mut js, second, SEC_D);
    assert_ne!(pin_of(&msg), pin_id);
    assert_ne!(pin_of(&msg), "");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedTTL" => consumer_pinned_ttl);
fn consumer_pinned_ttl() {
    let (_s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo"]), "foo", 3 * SEC);
    for _ in 0..10 {
        send_stream_msg(&mut js, "foo", "data");
    }
    let req = group_request(1, 10 * SEC, json!({}));
    let first = js.subscribe_sync_core("FIRST");
    publish_next(&mut js, "C", "FIRST", &req);
    let msg = must_next(&mut js, first, SEC_D);
    let pin_id = pin_of(&msg);
    assert_ne!(pin_id, "");

    let second = js.subscribe_sync_core("SECOND");
    publish_next(&mut js, "C", "SECOND", &req);
    // Still pinned to the first.
    expect_nothing(&mut js, second, SEC_D);
    // The first pin times out: this one is pinned and gets a message.
    let msg = must_next(&mut js, second, Duration::from_secs(5));
    let new_pin_id = pin_of(&msg);
    assert_ne!(new_pin_id, pin_id);
    assert_ne!(new_pin_id, "");

    // Again, with the pin given to a request already waiting.
    let third = js.subscribe_sync_core("THIRD");
    publish_next(&mut js, "C", "THIRD", &req);
    let msg = must_next(&mut js, third, Duration::from_secs(5));
    assert_ne!(pin_of(&msg), pin_id);
    assert_ne!(pin_of(&msg), new_pin_id);
    assert_ne!(new_pin_id, "");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedStandbyMaxBytesNotEroded" => consumer_pinned_standby_max_bytes_not_eroded);
fn consumer_pinned_standby_max_bytes_not_eroded() {
    let (s, mut js) = server_and_client();
    pinned_setup(&mut js, json!(["foo.>"]), "foo.>", 30 * SEC);
    // The pin holder asks for a lot.
    let sub_a = js.subscribe_sync_core("RA");
    publish_next(
        &mut js,
        "C",
        "RA",
        &group_request(100_000, 30 * SEC, json!({})),
    );
    // The standby has a small byte budget, which the other's traffic must not use up.
    let sub_b = js.subscribe_sync_core("RB");
    publish_next(
        &mut js,
        "C",
        "RB",
        &group_request(100, 30 * SEC, json!({"max_bytes": 500})),
    );
    wait_for_n_waiting(&s, "C", 2);
    for _ in 0..50 {
        js.publish("foo.bar", &[], &[0u8; 200]).unwrap();
    }
    while js
        .next_msg_core(sub_a, Duration::from_millis(250))
        .is_some()
    {}
    if let Some(m) = js.next_msg_core(sub_b, Duration::from_millis(500)) {
        panic!(
            "standby request B received an unexpected response (status={:?}); its max_bytes budget was eroded by another client's traffic",
            status_of(&m)
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPinnedMaxBytesRejectDoesNotOrphanPin" => consumer_pinned_max_bytes_reject_does_not_orphan_pin);
fn consumer_pinned_max_bytes_reject_does_not_orphan_pin() {
    let (_s, mut js) = server_and_client();
    // A long TTL: only releasing the pin lets the consumer go on.
    pinned_setup(&mut js, json!(["foo.>"]), "foo.>", 30 * SEC);
    js.publish("foo.bar", &[], &[0u8; 200]).unwrap();
    // A takes the pin but its byte budget is too small for the message.
    let sub_a = js.subscribe_sync_core("RA");
    publish_next(
        &mut js,
        "C",
        "RA",
        &group_request(1, 30 * SEC, json!({"max_bytes": 10})),
    );
    let msg = must_next(&mut js, sub_a, SEC_D);
    assert_eq!(status_of(&msg), "409");
    // B is pinned and served.
    let sub_b = js.subscribe_sync_core("RB");
    publish_next(&mut js, "C", "RB", &group_request(1, 30 * SEC, json!({})));
    let msg = must_next(&mut js, sub_b, SEC_D);
    assert_eq!(msg.subject, "foo.bar");
    assert_eq!(status_of(&msg), "");
    assert_eq!(msg.payload.len(), 200);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPriorityPullRequests" => consumer_priority_pull_requests);
fn consumer_priority_pull_requests() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["pinned.>", "overflow.>"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "STANDARD"}))
        .unwrap();
    for (name, filter, policy, ttl) in [
        ("PINNED", "pinned.>", "pinned_client", 10 * SEC),
        ("OVERFLOW", "overflow.>", "overflow", 5 * SEC),
    ] {
        let r = js.request_json(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.TEST.{name}"),
            json!({"stream_name": "TEST", "action": "create", "config": {
                "durable_name": name, "filter_subject": filter, "priority_groups": ["A"],
                "priority_policy": policy, "ack_policy": "explicit", "priority_timeout": ttl,
            }}),
        );
        assert!(r.get("error").is_none(), "{r}");
    }
    for i in 0..50 {
        send_stream_msg(&mut js, "pinned.1", &format!("msg-{i}"));
        send_stream_msg(&mut js, "overflow.1", &format!("msg-{i}"));
    }
    let base = json!({"batch": 1, "expires": 5 * SEC});
    let with = |extra: Value| {
        let mut r = base.clone();
        if let (Some(m), Value::Object(e)) = (r.as_object_mut(), extra) {
            m.extend(e);
        }
        r
    };
    let cases = [
        (
            "Pinned Pull Request",
            "PINNED",
            with(json!({"group": "A"})),
            "",
        ),
        (
            "Pinned Pull Request, no group",
            "PINNED",
            with(json!({})),
            "Bad Request - Priority Group missing",
        ),
        (
            "Pinned Pull Request, bad group",
            "PINNED",
            with(json!({"group": "Bad"})),
            "Bad Request - Invalid Priority Group",
        ),
        (
            "Pinned Pull Request, against Overflow",
            "OVERFLOW",
            with(json!({"group": "A", "id": "PINNED-ID"})),
            "Bad Request - Not a Pinned Client Priority consumer",
        ),
        (
            "Pinned Pull Request, against standard consumer",
            "STANDARD",
            with(json!({"group": "A", "id": "PINNED-ID"})),
            "Bad Request - Not a Pinned Client Priority consumer",
        ),
        (
            "Overflow Pull Request, overflow below threshold",
            "OVERFLOW",
            with(json!({"group": "A", "min_pending": 1000})),
            "Request Timeout",
        ),
        (
            "Overflow Pull Request, overflow above threshold",
            "OVERFLOW",
            with(json!({"group": "A", "min_pending": 10})),
            "",
        ),
        (
            "Overflow Pull Request, minPending OR minAckPending above threshold",
            "OVERFLOW",
            with(json!({"group": "A", "min_pending": 10, "min_ack_pending": 5})),
            "",
        ),
        (
            "Overflow Pull Request, against pinned",
            "PINNED",
            with(json!({"group": "A", "min_pending": 10})),
            "Bad Request - Not a Overflow Priority consumer",
        ),
        (
            "Overflow Pull Request, against standard consumer",
            "STANDARD",
            with(json!({"group": "A", "min_pending": 10})),
            "Bad Request - Not a Overflow Priority consumer",
        ),
    ];
    for (name, consumer, request, description) in cases {
        let inbox = ported::jetstream::new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        publish_next(&mut js, consumer, &inbox, &request);
        let msg = js
            .next_msg_core(sid, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{name}: no answer"));
        assert_eq!(msg.status_description(), description, "{name}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerInvalidPriorityGroupRequestNotServed" => consumer_invalid_priority_group_request_not_served);
fn consumer_invalid_priority_group_request_not_served() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"], "retention": "limits"}))
        .unwrap();
    for _ in 0..10 {
        js.publish("foo.bar", &[], b"hello").unwrap();
    }
    let cases = [
        (
            json!({"min_pending": 1}),
            "Bad Request - Not a Overflow Priority consumer",
        ),
        (
            json!({"id": "PINNED-ID"}),
            "Bad Request - Not a Pinned Client Priority consumer",
        ),
        (
            json!({"priority": 10}),
            "Bad Request - Priority must be between 0 and 9",
        ),
    ];
    for (i, (priority_group, description)) in cases.into_iter().enumerate() {
        // A plain pull consumer without a priority policy.
        let durable = format!("C-{i}");
        js.add_consumer_direct(
            "TEST",
            json!({"durable_name": durable, "filter_subject": "foo.>", "ack_policy": "explicit"}),
        )
        .unwrap();
        let mut req = json!({"batch": 1, "expires": 2 * SEC});
        if let (Some(r), Value::Object(e)) = (req.as_object_mut(), priority_group) {
            r.extend(e);
        }
        let inbox = ported::jetstream::new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        publish_next(&mut js, &durable, &inbox, &req);
        let msg = must_next(&mut js, sid, SEC_D);
        assert_eq!(status_of(&msg), "400");
        assert_eq!(msg.status_description(), description);
        // Refused means not served later.
        if let Some(extra) = js.next_msg_core(sid, Duration::from_millis(750)) {
            panic!(
                "Expected exactly one response, got a second one: status={:?} data={:?}",
                status_of(&extra),
                String::from_utf8_lossy(&extra.payload)
            );
        }
        assert_eq!(waiting_len(&s, &durable), 0, "the refused request waits");
        js.unsubscribe_core(sid);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerOverflow" => consumer_overflow);
fn consumer_overflow() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo.>", "bar", "baz"], "retention": "limits",
        "storage": "file",
    }))
    .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({
            "durable_name": "C", "filter_subject": "foo.>", "priority_groups": ["A"],
            "priority_policy": "overflow", "ack_policy": "explicit",
        }),
    )
    .unwrap();
    send_stream_msg(&mut js, "foo.1", "msg-1");
    let expires = 90 * SEC;

    // Nothing unacknowledged: nothing for a minimum of acks pending.
    let ack_pending1 = send_request(
        &mut js,
        "ackPending",
        group_request(1, expires, json!({"min_ack_pending": 1})),
    );
    expect_nothing(&mut js, ack_pending1, SEC_D);
    // One message pending: served.
    let num_pending1 = send_request(
        &mut js,
        "singleOverflow",
        group_request(1, expires, json!({"min_pending": 1})),
    );
    must_next(&mut js, num_pending1, SEC_D);

    send_stream_msg(&mut js, "foo.1", "msg-2");
    send_stream_msg(&mut js, "foo.1", "msg-3");
    // Only a few pending: nothing at a threshold of 10.
    let num_pending10 = send_request(
        &mut js,
        "overflow",
        group_request(1, expires, json!({"min_pending": 10})),
    );
    expect_nothing(&mut js, num_pending10, SEC_D);
    // A request without a group gets an answer at once: on an overflow consumer Go
    // refuses it (it is JSON, so it has a priority part, without a group).
    let fetch_no_overflow = send_request(
        &mut js,
        "without_overflow",
        json!({"batch": 1, "expires": expires}),
    );
    let m = must_next(&mut js, fetch_no_overflow, SEC_D);
    assert_eq!(status_of(&m), "400");
    assert_eq!(
        m.status_description(),
        "Bad Request - Priority Group missing"
    );

    for _ in 0..100 {
        send_stream_msg(&mut js, "foo.1", "msg-1");
    }
    // Now past the threshold.
    must_next(&mut js, num_pending10, Duration::from_secs(5));
    // Not 50 unacknowledged yet.
    let max_ack_pending50 = send_request(
        &mut js,
        "maxAckPending",
        group_request(1, expires, json!({"min_ack_pending": 50})),
    );
    expect_nothing(&mut js, max_ack_pending50, SEC_D);
    // A large request without thresholds leaves many unacknowledged...
    let fetch_no_overflow = send_request(
        &mut js,
        "without_overflow",
        group_request(200, expires, json!({})),
    );
    must_next(&mut js, fetch_no_overflow, SEC_D);
    // ... and then the threshold of acks pending is met.
    must_next(&mut js, max_ack_pending50, SEC_D);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPrioritized" => consumer_prioritized);
fn consumer_prioritized() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({
            "durable_name": "CONSUMER", "ack_policy": "none", "filter_subject": "foo",
            "priority_groups": ["A"], "priority_policy": "prioritized",
        }),
    )
    .unwrap();
    let send_pull_request = |js: &mut JsContext, inbox: &str, priority: i64, batch: i64| {
        let sid = js.subscribe_sync_core(inbox);
        let req = json!({"batch": batch, "expires": 10 * SEC, "group": "A", "priority": priority});
        publish_next(js, "CONSUMER", inbox, &req);
        sid
    };
    let publish = |js: &mut JsContext| {
        js.publish("foo", &[], b"message").unwrap();
    };

    // Invalid priority numbers.
    let sub = send_pull_request(&mut js, "invalid_priority", 10, 1);
    let msg = must_next(&mut js, sub, Duration::from_secs(2));
    assert_eq!(status_of(&msg), "400");
    let sub2 = send_pull_request(&mut js, "invalid_priority", -5, 1);
    let msg = must_next(&mut js, sub2, Duration::from_secs(2));
    assert_eq!(status_of(&msg), "400");

    // Priority ordering.
    let priority3 = send_pull_request(&mut js, "priority3", 3, 1);
    let priority1 = send_pull_request(&mut js, "priority1", 1, 1);
    let priority2 = send_pull_request(&mut js, "priority2", 2, 2);
    wait_for_n_waiting(&s, "CONSUMER", 3);
    publish(&mut js);
    expect_nothing(&mut js, priority3, Duration::from_millis(200));
    expect_nothing(&mut js, priority2, Duration::from_millis(200));
    must_next(&mut js, priority1, Duration::from_secs(2));
    publish(&mut js);
    expect_nothing(&mut js, priority3, Duration::from_millis(200));
    must_next(&mut js, priority2, Duration::from_secs(2));
    publish(&mut js);
    must_next(&mut js, priority2, Duration::from_secs(2));
    expect_nothing(&mut js, priority3, Duration::from_secs(2));
    publish(&mut js);
    must_next(&mut js, priority3, Duration::from_secs(2));

    // Dynamic priority interruption: a lower number takes over as it comes.
    let inbox3 = ported::jetstream::new_inbox();
    let sub3 = send_pull_request(&mut js, &inbox3, 3, 3);
    wait_for_n_waiting(&s, "CONSUMER", 1);
    publish(&mut js);
    must_next(&mut js, sub3, Duration::from_secs(2));
    let inbox2 = ported::jetstream::new_inbox();
    let sub2 = send_pull_request(&mut js, &inbox2, 2, 2);
    wait_for_n_waiting(&s, "CONSUMER", 2);
    publish(&mut js);
    must_next(&mut js, sub2, Duration::from_secs(2));
    let inbox1 = ported::jetstream::new_inbox();
    let sub1 = send_pull_request(&mut js, &inbox1, 1, 1);
    wait_for_n_waiting(&s, "CONSUMER", 3);
    for _ in 0..3 {
        publish(&mut js);
    }
    must_next(&mut js, sub1, Duration::from_secs(2));
    // Then priority 2 for its last message, and priority 3 last.
    must_next(&mut js, sub2, Duration::from_secs(2));
    must_next(&mut js, sub3, Duration::from_secs(2));
}

/// A waiting request with a priority (Go's `waitingRequest` literal of these tests).
fn prioritized(reply: &str, priority: i64, n: i64) -> natsd::jetstream::consumer::PullRequest {
    use natsd::jetstream::api::types::NextRequest;
    let mut w = natsd::jetstream::consumer::PullRequest::new(
        reply,
        &NextRequest {
            batch: n,
            ..Default::default()
        },
        0,
    );
    w.priority = Some(natsd::jetstream::consumer::PriorityGroup {
        priority,
        ..Default::default()
    });
    w
}

port!("server/jetstream_consumer_test.go::TestSortingConsumerPullRequests" => sorting_consumer_pull_requests);
fn sorting_consumer_pull_requests() {
    use natsd::jetstream::consumer::WaitQueue;
    // (priority, reply) of the requests added, and as the queue must hold them.
    type Requests = Vec<(i64, &'static str)>;
    let tables: [(&str, Requests, Requests); 2] = [
        (
            "sort",
            vec![(1, ""), (2, ""), (1, ""), (3, "")],
            vec![(1, ""), (1, ""), (2, ""), (3, "")],
        ),
        (
            "test if sort is stable",
            vec![
                (1, "1a"),
                (2, "2a"),
                (1, "1b"),
                (2, "2b"),
                (1, "1c"),
                (3, "3a"),
                (2, "2c"),
            ],
            vec![
                (1, "1a"),
                (1, "1b"),
                (1, "1c"),
                (2, "2a"),
                (2, "2b"),
                (2, "2c"),
                (3, "3a"),
            ],
        ),
    ];
    for (name, requests, expected) in tables {
        let mut wq = WaitQueue::default();
        for (p, reply) in requests {
            wq.add_prioritized(prioritized(reply, p, 0));
        }
        assert_eq!(wq.len(), expected.len(), "{name}: count");
        for (i, (p, reply)) in expected.into_iter().enumerate() {
            let current = wq
                .peek()
                .unwrap_or_else(|| panic!("{name}: queue empty at position {i}"));
            assert_eq!(current.priority_level(), p, "{name}: priority at {i}");
            assert_eq!(current.reply, reply, "{name}: reply at {i}");
            wq.remove_current();
        }
    }
}

port!("server/jetstream_consumer_test.go::TestWaitQueuePopAndRequeue" => wait_queue_pop_and_requeue);
fn wait_queue_pop_and_requeue() {
    use natsd::jetstream::consumer::WaitQueue;
    // Basic requeue with batches: each request goes behind the others of its priority.
    let mut wq = WaitQueue::default();
    for p in 1..=3 {
        for c in ["a", "b", "c"] {
            wq.add_prioritized(prioritized(&format!("{p}{c}"), p, 3));
        }
    }
    let (mut i, mut j) = (0, 0);
    loop {
        for c in ["a", "b", "c"] {
            let wr = wq.pop_and_requeue().unwrap();
            assert_eq!(wr.reply, format!("{}{c}", j + 1));
        }
        i += 1;
        if i % 3 == 0 {
            j += 1;
        }
        assert_eq!(wq.len(), 9 - j * 3);
        if j == 2 {
            break;
        }
    }

    // A request leaves when fully served.
    let mut wq = WaitQueue::default();
    wq.add_prioritized(prioritized("1a", 1, 2));
    wq.add_prioritized(prioritized("1b", 1, 1));
    wq.add_prioritized(prioritized("2a", 2, 3));
    let initial = wq.len();
    let wr = wq.pop_and_requeue().unwrap();
    assert_eq!((wr.reply.as_str(), wr.batch), ("1a", 1));
    assert_eq!(wq.len(), initial);
    let wr = wq.pop_and_requeue().unwrap();
    assert_eq!((wr.reply.as_str(), wr.batch), ("1b", 0));
    assert_eq!(wq.len(), initial - 1);
    let wr = wq.pop_and_requeue().unwrap();
    assert_eq!((wr.reply.as_str(), wr.batch), ("1a", 0));
    assert_eq!(wq.len(), initial - 2);
    let next = wq.peek().expect("2a remains");
    assert_eq!((next.reply.as_str(), next.batch), ("2a", 3));

    // A single element's lifecycle.
    let mut wq = WaitQueue::default();
    wq.push(prioritized("single", 1, 2));
    let wr = wq.pop_and_requeue().unwrap();
    assert_eq!((wr.reply.as_str(), wr.batch), ("single", 1));
    assert_eq!(wq.len(), 1);
    let wr = wq.pop_and_requeue().unwrap();
    assert_eq!((wr.reply.as_str(), wr.batch), ("single", 0));
    assert_eq!(wq.len(), 0);
    assert!(
        wq.peek().is_none(),
        "Queue head should be None after removal"
    );
}
