//! Consumers created, updated, unpinned and deleted through the API on a single server:
//! the answers and error codes Go gives, and what a waiting pull request hears when its
//! consumer goes. Go runs several of these tests against a cluster as well; natsd has no
//! clustering, so only the single-server cases are here.

use super::*;
use ported::jetstream::{api_result, now_nanos, run_jetstream_server_with_conf, StreamState};
use ported::js_context::{go_time, new_inbox, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerDelete" => consumer_delete,
    partial = "Go runs the same checks as a \"clustered\" case with an R3 stream on a 3-node cluster; natsd has no clustering, so only the \"single server\" case is ported"
);
fn consumer_delete() {
    // Go's "single server" case (its "clustered" one needs a cluster).
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "subjects": ["events.>"], "max_age": 90 * SEC, "num_replicas": 1,
    }))
    .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "consumer", "filter_subject": "events.>", "num_replicas": 1}),
    )
    .unwrap();
    js.publish_ok("events.1", b"hello");

    let inbox = new_inbox();
    let sid = js.subscribe_sync_core(&inbox);
    let req = json!({"batch": 10, "expires": 30 * SEC});
    js.conn.publish_msg(
        "$JS.API.CONSUMER.MSG.NEXT.TEST.consumer",
        &inbox,
        &[],
        req.to_string().as_bytes(),
    );
    let msg = js
        .next_msg_core(sid, 30 * SECOND)
        .expect("the message for the pull request");
    assert_eq!(msg.payload, b"hello");

    let _ = js.delete_consumer("TEST", "consumer");

    let msg = js
        .next_msg_core(sid, 30 * SECOND)
        .expect("a status for the pending pull request");
    let description = msg.status_description();
    assert!(
        description.contains("Consumer Deleted"),
        "Expected exclusive consumer error, got {description:?}"
    );
}

/// The server's `ConsumerConfig` as Go marshals it with only `durable_name` (and what
/// `extra` adds) set: the policies without `omitempty` carry their zero values.
fn go_server_consumer_config(extra: Value) -> Value {
    let mut cfg = json!({
        "durable_name": "durable", "deliver_policy": "all", "ack_policy": "none",
        "replay_policy": "instant", "num_replicas": 0,
    });
    if let (Some(c), Value::Object(e)) = (cfg.as_object_mut(), extra) {
        c.extend(e);
    }
    cfg
}

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerPedanticMode" => consumer_pedantic_mode,
    partial = "Go runs every case twice, \"clustered_<case>\" on a 3-node cluster and \"single_<case>\"; natsd has no clustering, so only the single-server runs are ported"
);
fn consumer_pedantic_mode() {
    let backoff = json!({"backoff": [SEC, 60 * SEC]});
    // (name, extra config, pedantic, should error). Go's templates of the two
    // max-batch cases are declared but not used by its single-server runs.
    let tests = [
        ("default_non_pedantic", json!({}), false, false),
        ("default_pedantic_inactive_threshold", json!({}), true, true),
        ("default_pedantic_max_ack_pending", json!({}), true, true),
        ("pedantic_backoff_no_ack_wait", backoff.clone(), true, true),
        ("backoff_no_ack_wait", backoff, false, false),
        ("max_batch_requests", json!({}), false, false),
        ("pedantic_max_batch_requests", json!({}), true, true),
    ];
    // Go runs each case "clustered" and "single"; only the single-server runs here.
    for (name, extra, pedantic, should_error) in tests {
        let title = format!("single_{name}");
        let (_s, mut js) = server_and_client();
        // Go ignores this result.
        let _ = js.add_stream(json!({
            "name": name, "subjects": ["foo"], "num_replicas": 1,
            "consumer_limits": {"inactive_threshold": 60 * SEC, "max_ack_pending": 100},
        }));
        // Go's addConsumerWithError: CreateConsumerRequest on DURABLE.CREATE.
        let mut req = json!({
            "stream_name": name, "config": go_server_consumer_config(extra), "action": "",
        });
        if pedantic {
            req["pedantic"] = json!(true);
        }
        let resp = js.request(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.{name}.durable"),
            Some(&req),
        );
        assert_eq!(
            resp["type"], "io.nats.jetstream.api.v1.consumer_create_response",
            "{title}: Invalid response type"
        );
        let err = api_result(resp).err();
        assert_eq!(err.is_some(), should_error, "{title}: {err:?}");
        if let Some(e) = err {
            assert!(e.description.contains("pedantic"), "{title}: {e:?}");
        }
    }
}

/// `$JS.API.CONSUMER.UNPIN.<stream>.<consumer>` with `group`; the error code of the
/// answer, if any.
fn unpin_request(js: &mut JsContext, stream: &str, consumer: &str, group: &str) -> Option<u16> {
    let resp = js.request(
        &format!("$JS.API.CONSUMER.UNPIN.{stream}.{consumer}"),
        Some(&json!({"group": group})),
    );
    api_result(resp).err().map(|e| e.err_code)
}

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerUnpin" => consumer_unpin,
    partial = "Go sends every unpin request to an R3 stream on a 3-node cluster too (\"<case> clustered\"); natsd has no clustering, so only the single-server requests are ported"
);
fn consumer_unpin() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>", "bar", "baz"], "num_replicas": 1}))
        .unwrap();
    let req = json!({"stream_name": "TEST", "action": "create", "config": {
        "durable_name": "C", "filter_subject": "foo.>", "priority_groups": ["A"],
        "priority_policy": "pinned_client", "ack_policy": "explicit",
        "priority_timeout": 10 * SEC, "deliver_policy": "all", "replay_policy": "instant",
        "num_replicas": 0,
    }});
    let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.TEST.C", Some(&req));
    assert!(resp["error"].is_null(), "{resp}");

    // (name, stream, consumer, group, expected error code). Go also sends each to a
    // cluster ("<name> clustered").
    for (name, stream, consumer, group, code) in [
        ("unpin non-existing group", "TEST", "C", "B", Some(10160)),
        (
            "unpin on missing stream",
            "NOT_EXIST",
            "C",
            "A",
            Some(10059),
        ),
        (
            "unpin on missing consumer",
            "TEST",
            "NOT_EXIST",
            "A",
            Some(10014),
        ),
        ("unpin missing group", "TEST", "C", "", Some(10025)),
        (
            "unpin bad group name",
            "TEST",
            "C",
            "group    name\r\n",
            Some(10162),
        ),
        ("ok unpin", "TEST", "C", "A", None),
    ] {
        assert_eq!(
            unpin_request(&mut js, stream, consumer, group),
            code,
            "{name}"
        );
    }
}

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerWithPriorityGroups" => consumer_with_priority_groups,
    partial = "Go creates every consumer on an R3 stream on a 3-node cluster too (\"<case>, clustered\"); natsd has no clustering, so only the single-server cases are ported"
);
fn consumer_with_priority_groups() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>", "bar", "baz"], "num_replicas": 1}))
        .unwrap();
    // (name, consumer, groups (None: not sent), policy (None: Go's zero, not sent),
    // deliver subject, expected error code). Go's "..., clustered" twins need a cluster.
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<Vec<&'a str>>,
        Option<&'a str>,
        &'a str,
        Option<u16>,
    );
    let tests: [Case; 9] = [
        (
            "Pinned Consumer with Priority Group",
            "PINNED",
            Some(vec!["A"]),
            Some("pinned_client"),
            "",
            None,
        ),
        (
            "Overflow Consumer with Priority Group",
            "OVERFLOW",
            Some(vec!["A"]),
            Some("overflow"),
            "",
            None,
        ),
        (
            "Pinned Consumer without Priority Group",
            "PINNED_NO_GROUP",
            None,
            Some("pinned_client"),
            "",
            Some(10159),
        ),
        (
            "Overflow Consumer without Priority Group",
            "PINNED_NO_GROUP",
            None,
            Some("overflow"),
            "",
            Some(10159),
        ),
        (
            "Pinned Consumer with empty Priority Group",
            "PINNED_NO_GROUP",
            Some(vec![""]),
            Some("pinned_client"),
            "",
            Some(10161),
        ),
        (
            "Pinned Consumer with empty Priority Group",
            "PINNED_NO_GROUP",
            Some(vec![""]),
            Some("overflow"),
            "",
            Some(10161),
        ),
        // An empty list is left out by Go's omitempty, as is the policy none.
        (
            "Consumer with `none` policy priority and no pinned TTL set",
            "NONE",
            None,
            None,
            "",
            Some(10197),
        ),
        (
            "Consumer with `none` policy priority and Priority Group set",
            "NONE_WITH_GROUPS",
            Some(vec!["A"]),
            None,
            "",
            Some(10196),
        ),
        (
            "Push consumer with Priority Group",
            "PUSH_WITH_POLICY",
            Some(vec!["A"]),
            Some("overflow"),
            "subject",
            Some(10178),
        ),
    ];
    for (name, consumer, groups, policy, deliver_subject, code) in tests {
        let mut cfg = json!({
            "durable_name": consumer, "filter_subject": "foo.>", "ack_policy": "explicit",
            "priority_timeout": 10 * SEC, "deliver_policy": "all", "replay_policy": "instant",
            "num_replicas": 0,
        });
        if let Some(g) = groups {
            cfg["priority_groups"] = json!(g);
        }
        if let Some(p) = policy {
            cfg["priority_policy"] = json!(p);
        }
        if !deliver_subject.is_empty() {
            cfg["deliver_subject"] = json!(deliver_subject);
        }
        let req = json!({"stream_name": "TEST", "action": "create", "config": cfg});
        let resp = js.request(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.TEST.{consumer}"),
            Some(&req),
        );
        let got = api_result(resp).err().map(|e| e.err_code);
        assert_eq!(got, code, "{name}");
    }
}

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerStreamUpdate" => consumer_stream_update,
    partial = "Go also runs the checks on a 3-node cluster (\"clustered\" with R3 and R1 streams); natsd has no clustering, so only the \"single\" case is ported"
);
fn consumer_stream_update() {
    // Go's "single" case (its "clustered" r3 and r1 cases need a cluster).
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            "listen: 127.0.0.1:-1\njetstream: {{max_mem_store: 2MB, max_file_store: 8MB, store_dir: '{}'}}\n",
            dir.display()
        )
    });
    let mut js = JsContext::connect(s.addr());
    let stream = |extra: Value| {
        let mut cfg = json!({"name": "foo", "duplicate_window": 60 * SEC, "num_replicas": 1});
        if let (Some(c), Value::Object(e)) = (cfg.as_object_mut(), extra) {
            c.extend(e);
        }
        cfg
    };
    js.add_stream(stream(json!({}))).unwrap();
    // Updated without a change, then with one.
    js.update_stream(stream(json!({}))).unwrap();
    js.update_stream(stream(json!({"description": "stream"})))
        .unwrap();
    js.add_consumer(
        "foo",
        json!({"durable_name": "dur1", "ack_policy": "explicit"}),
    )
    .unwrap();
    js.update_consumer(
        "foo",
        json!({"durable_name": "dur1", "ack_policy": "explicit"}),
    )
    .unwrap();
    js.update_consumer(
        "foo",
        json!({"description": "consumer", "durable_name": "dur1", "ack_policy": "explicit"}),
    )
    .unwrap();
    let _ = js.delete_stream("foo");
}

port!(
    "server/jetstream_consumer_test.go::TestJetStreamConsumerWithStartTime" => consumer_with_start_time,
    partial = "Go's file store case stores into 100-byte blocks (a message per block, set through an internal API), so the start time is found across blocks; a natsd stream has no block size setting and keeps these messages in one block"
);
fn consumer_with_start_time() {
    // Go also gives the file store blocks of 100 bytes; natsd's stream API has no
    // block size, so the file store keeps its own.
    let subj = "my_stream";
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": subj, "storage": storage}))
            .unwrap_or_else(|e| panic!("{name}: Unexpected error adding stream: {e:?}"));
        let to_send = 250u64;
        for i in 0..to_send {
            send_stream_msg(&mut js, subj, &format!("MSG: {}", i + 1));
        }
        std::thread::sleep(Duration::from_millis(10));
        let start_time = now_nanos();
        for i in 0..to_send {
            send_stream_msg(&mut js, subj, &format!("MSG: {}", i + 1));
        }
        let msgs = StreamState::of(&js.stream_info(subj, None).unwrap()).msgs;
        assert_eq!(
            msgs,
            to_send * 2,
            "{name}: Expected {} messages",
            to_send * 2
        );

        js.add_consumer_direct(
            subj,
            json!({
                "durable_name": "d", "deliver_policy": "by_start_time",
                "opt_start_time": go_time(start_time), "ack_policy": "explicit",
                "replay_policy": "instant",
            }),
        )
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let msg = js
            .conn
            .request(
                &format!("$JS.API.CONSUMER.MSG.NEXT.{subj}.d"),
                &[],
                b"",
                SECOND,
            )
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let info = msg.ack_info();
        assert_eq!(info.consumer_seq, 1, "{name}: Expected delivered seq of 1");
        assert_eq!(
            info.stream_seq,
            to_send + 1,
            "{name}: Expected to get store seq of {}",
            to_send + 1
        );
    }
}
