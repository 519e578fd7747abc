//! Idle heartbeats of push consumers: `NATS/1.0 100 Idle Heartbeat` on the deliver
//! subject while nothing is delivered, also when the stream gets messages the filter
//! does not take, and never without a subscriber on the exact deliver subject.

use super::*;
use ported::jetstream::{api_result, check_for, new_inbox, run_basic_jetstream_server};
use ported::port;
use serde_json::json;
use std::time::Instant;

/// Go's `CreateConsumerRequest` for an ephemeral push consumer of `TEST`, with the server
/// ConsumerConfig's zero policies.
fn ephemeral_push(deliver: &str, extra: Value) -> Value {
    let mut cfg = json!({
        "deliver_subject": deliver, "deliver_policy": "all", "ack_policy": "none",
        "replay_policy": "instant",
    });
    if let (Some(c), Value::Object(e)) = (cfg.as_object_mut(), extra) {
        c.extend(e);
    }
    json!({"stream_name": "TEST", "config": cfg})
}

port!("server/jetstream_test.go::TestJetStreamPushConsumerIdleHeartbeats" => push_consumer_idle_heartbeats);
fn push_consumer_idle_heartbeats() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();

    // Errors first: a heartbeat of 1ms is too small.
    let mut req = ephemeral_push(&inbox, json!({"idle_heartbeat": 1_000_000}));
    let resp = js.request("$JS.API.CONSUMER.CREATE.TEST", Some(&req));
    assert!(api_result(resp).is_err(), "Expected an error, got none");
    // An acceptable heartbeat.
    req["config"]["idle_heartbeat"] = json!(100_000_000);
    let resp = js.request("$JS.API.CONSUMER.CREATE.TEST", Some(&req));
    api_result(resp).unwrap();
    check_for(Duration::from_secs(1), Duration::from_millis(20), || {
        let n = js.conn.pending(sid);
        if n >= 9 {
            Ok(())
        } else {
            Err(format!(
                "Did not receive correct number of messages: {n} vs 9"
            ))
        }
    });
    let m = js.conn.take_queued(sid).unwrap();
    assert_eq!(m.status(), Some(100), "Expected a 100 status code");
    assert_eq!(
        m.status_description(),
        "Idle Heartbeat",
        "Wrong description"
    );
}

port!("server/jetstream_test.go::TestJetStreamPushConsumerIdleHeartbeatsWithFilterSubject" => push_consumer_idle_heartbeats_with_filter_subject);
fn push_consumer_idle_heartbeats_with_filter_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar"]}))
        .unwrap();
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();
    let req = ephemeral_push(
        &inbox,
        json!({"filter_subject": "bar", "idle_heartbeat": 100_000_000}),
    );
    let resp = js.request("$JS.API.CONSUMER.CREATE.TEST", Some(&req));
    api_result(resp).unwrap();

    // Messages the filter does not take keep coming every 10ms; the consumer is still
    // idle and says so.
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "Expected to have seen idle heartbeats for consumer"
        );
        js.conn.publish("foo", b"HELLO FOO");
        if js.conn.next_msg(sid, Duration::from_millis(10)).is_some() {
            return;
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamPushConsumerIdleHeartbeatsWithNoInterest" => push_consumer_idle_heartbeats_with_no_interest);
fn push_consumer_idle_heartbeats_with_no_interest() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    // A wildcard subscription covering the deliver subject is not interest in it.
    let sid = js.conn.subscribe("d.>");
    js.conn.flush();
    let req = ephemeral_push("d.22", json!({"idle_heartbeat": 100_000_000}));
    let resp = js.request("$JS.API.CONSUMER.CREATE.TEST", Some(&req));
    if let Err(e) = api_result(resp) {
        panic!("Unexpected error: {e}");
    }
    let deadline = Instant::now() + Duration::from_millis(400);
    while let Some(m) = js
        .conn
        .next_msg(sid, deadline.saturating_duration_since(Instant::now()))
    {
        assert_ne!(
            m.status(),
            Some(100),
            "Did not expect to see a heartbeat with no formal interest"
        );
    }
}
