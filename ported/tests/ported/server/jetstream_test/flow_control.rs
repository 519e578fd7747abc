//! Flow control of push consumers: `NATS/1.0 100 FlowControl Request` messages on the
//! deliver subject, deliveries that stop until they are answered, and the config rule
//! that flow control needs idle heartbeats.

use super::consumer_support::check_sub_pending;
use super::*;
use ported::jetstream::{api_result, check_for, new_inbox, run_basic_jetstream_server};
use ported::port;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamPushConsumerFlowControl" => push_consumer_flow_control);
fn push_consumer_flow_control() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn.flush();
    // Go marshals the server's ConsumerConfig: the zero policies are all/none/instant.
    let req = json!({"stream_name": "TEST", "config": {
        "durable_name": "dlc", "deliver_subject": inbox, "flow_control": true,
        "idle_heartbeat": 5 * SECOND, "deliver_policy": "all", "ack_policy": "none",
        "replay_policy": "instant",
    }});
    let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.TEST.dlc", Some(&req));
    if let Err(e) = api_result(resp) {
        panic!("Unexpected error: {e}");
    }
    // Go sets the consumer's flow control maximum by hand, as here.
    s.consumer("TEST", "dlc").set_max_pending_bytes(16 * 1024);

    let msg: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 13) as u8).collect();
    for _ in 0..100 {
        js.publish("TEST", &[], &msg)
            .unwrap_or_else(|e| panic!("Unexpected publish error: {e:?}"));
    }
    // The first message and a flow control request of the slow start.
    check_sub_pending(&mut js, sid, 2, Duration::from_secs(1));

    let mut n = 0;
    while let Some(m) = js.conn.next_msg(sid, Duration::from_secs(1)) {
        if m.subject == "TEST" {
            n += 1;
        } else {
            assert_eq!(
                m.status(),
                Some(100),
                "Expected a 100 status code, got {:?}",
                String::from_utf8_lossy(&m.header)
            );
            assert_eq!(
                m.status_description(),
                "FlowControl Request",
                "Wrong description"
            );
            js.conn.publish(&m.reply, b"");
        }
    }
    assert_eq!(n, 100, "Expected to receive all 100 messages but got {n}");
}

port!("server/jetstream_test.go::TestJetStreamFlowControlRequiresHeartbeats" => flow_control_requires_heartbeats);
fn flow_control_requires_heartbeats() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    let err = js
        .add_consumer(
            "TEST",
            json!({
                "durable_name": "dlc", "deliver_subject": new_inbox(), "flow_control": true,
                "deliver_policy": "all", "ack_policy": "none", "replay_policy": "instant",
            }),
        )
        .expect_err("flow control without heartbeats is refused");
    // JSConsumerWithFlowControlNeedsHeartbeats.
    assert_eq!(err.err_code, 10108, "Unexpected error: {err}");
}

port!("server/jetstream_test.go::TestJetStreamFlowControlStall" => flow_control_stall);
fn flow_control_stall() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "FC"})).unwrap();
    js.publish("FC", &[], &[b'X'; 32768]).unwrap();
    let big = vec![b'X'; 8 * 32768];
    js.publish("FC", &[], &big).unwrap();
    js.publish("FC", &[], &big).unwrap();

    // nats.go's OrderedConsumer: an ephemeral flow-controlled push consumer without acks.
    let sub = js
        .subscribe_sync(
            "FC",
            json!({
                "flow_control": true, "ack_policy": "none", "max_deliver": 1,
                "ack_wait": 22 * HOUR, "idle_heartbeat": 5 * SECOND,
                "mem_storage": true, "num_replicas": 1,
            }),
        )
        .unwrap();
    // checkSubsPending(3): the library answers flow control requests itself, so only
    // the messages count.
    let mut got = 0;
    check_for(Duration::from_secs(10), Duration::from_millis(20), || {
        js.conn.flush();
        while let Some(m) = js.conn.take_queued(sub.sid) {
            if m.status() == Some(100) && m.payload.is_empty() {
                if !m.reply.is_empty() {
                    js.conn.publish(&m.reply, b"");
                }
                continue;
            }
            got += 1;
        }
        if got == 3 {
            Ok(())
        } else {
            Err(format!(
                "Did not receive correct number of messages: {got} vs 3"
            ))
        }
    });
}
