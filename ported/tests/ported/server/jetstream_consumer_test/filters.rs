//! Filtered consumers: one or several filter subjects, filter updates, deliver policies
//! over filters, pending counts of filtered consumers.

use super::*;
use ported::js_context::{new_inbox, MsgExt, SubOpts, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// The number a message carries as its payload (the Go tests `strconv.Atoi` it).
fn payload_num(m: &ported::jetstream::NatsMsg) -> i64 {
    String::from_utf8_lossy(&m.payload)
        .parse()
        .unwrap_or_else(|_| panic!("payload {:?} is not a number", m.payload))
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleFiltersRemoveFilters" => consumer_multiple_filters_remove_filters);
fn consumer_multiple_filters_remove_filters() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits", "subjects": ["one", "two", "three"],
        "max_age": 90 * SEC,
    }))
    .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({"durable_name": "consumer", "filter_subjects": ["one", "two"]}),
    )
    .unwrap();
    for subject in ["one", "two", "three"] {
        send_stream_msg(&mut js, subject, "data");
    }
    let mut sub = js
        .pull_subscribe("", "consumer", SubOpts::bind("TEST", "consumer"))
        .unwrap();
    let msgs = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 1);
    // Remove the filters.
    js.add_consumer_direct(
        "TEST",
        json!({"durable_name": "consumer", "filter_subjects": []}),
    )
    .unwrap();
    for _ in 0..2 {
        let msgs = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
        assert_eq!(msgs.len(), 1);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleFiltersSequence" => consumer_multiple_filters_sequence);
fn consumer_multiple_filters_sequence() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits",
        "subjects": ["one", "two", "three", "four", "five.>"], "max_age": 90 * SEC,
    }))
    .unwrap();
    js.add_consumer_direct(
        "TEST",
        json!({
            "durable_name": "DUR", "filter_subjects": ["one", "two"], "ack_policy": "explicit",
            "deliver_policy": "all", "ack_wait": 30 * SEC, "deliver_subject": new_inbox(),
        }),
    )
    .unwrap();
    for i in 0..20 {
        send_stream_msg(&mut js, "one", &i.to_string());
    }
    for i in 20..40 {
        send_stream_msg(&mut js, "two", &i.to_string());
    }
    for i in 40..60 {
        send_stream_msg(&mut js, "one", &i.to_string());
    }
    let sub = js.subscribe_sync("", SubOpts::bind("TEST", "DUR")).unwrap();
    for i in 0..60 {
        let m = js.must_next(&sub, SECOND);
        assert_eq!(String::from_utf8_lossy(&m.payload), i.to_string());
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectsLast" => consumer_multiple_subjects_last);
fn consumer_multiple_subjects_last() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events", "data", "other"], "name": "name"}))
        .unwrap();
    for (subject, msg) in [
        ("events", "1"),
        ("data", "2"),
        ("other", "3"),
        ("events", "4"),
        ("data", "5"),
        ("data", "6"),
        ("other", "7"),
        ("other", "8"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    js.add_consumer_direct(
        "name",
        json!({
            "deliver_policy": "last", "ack_policy": "explicit", "deliver_subject": "deliver",
            "filter_subjects": ["events", "data"], "durable_name": "durable",
        }),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("", SubOpts::bind("name", "durable"))
        .unwrap();
    let m = js.must_next(&sub, Duration::from_millis(500));
    assert_eq!(payload_num(&m), 6, "wrong sequence");
    js.ack_sync(&m).unwrap();
    // Nothing more than asked for.
    assert!(
        js.next_msg(&sub, Duration::from_millis(500)).is_none(),
        "should not get more messages"
    );
    let info = js.info("name", "durable");
    assert_eq!(info["num_ack_pending"], 0);
    assert_eq!(info["ack_floor"]["stream_seq"], 6);
    assert_eq!(info["ack_floor"]["consumer_seq"], 1);
    assert_eq!(info["num_pending"], 0);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectsLastPerSubject" => consumer_multiple_subjects_last_per_subject);
fn consumer_multiple_subjects_last_per_subject() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events.*", "data.>", "other"], "name": "name"}))
        .unwrap();
    for (subject, msg) in [
        ("events.1", "bad"),
        ("events.1", "events.1"),
        ("data.1", "bad"),
        ("data.1", "bad"),
        ("data.1", "bad"),
        ("data.1", "bad"),
        ("data.1", "data.1"),
        ("events.2", "bad"),
        ("events.2", "bad"),
        ("events.2", "events.2"),
        ("other", "bad"),
        ("other", "bad"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    js.add_consumer_direct(
        "name",
        json!({
            "deliver_policy": "last_per_subject", "ack_policy": "explicit",
            "deliver_subject": "deliver", "filter_subjects": ["events.*", "data.>"],
            "durable_name": "durable",
        }),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("", SubOpts::bind("name", "durable"))
        .unwrap();
    for (subject, payload, ack) in [
        ("events.1", "events.1", true),
        ("data.1", "data.1", true),
        ("events.2", "events.2", false),
    ] {
        let m = js.must_next(&sub, Duration::from_millis(500));
        assert_eq!(String::from_utf8_lossy(&m.payload), payload);
        assert_eq!(m.subject, subject);
        if ack {
            js.ack_sync(&m).unwrap();
        }
    }
    let info = js.info("name", "durable");
    assert_eq!(info["ack_floor"]["consumer_seq"], 2, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], 9, "{info}");
    assert_eq!(info["delivered"]["stream_seq"], 10, "{info}");
    assert_eq!(info["delivered"]["consumer_seq"], 3, "{info}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjects" => consumer_multiple_subjects);
fn consumer_multiple_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events.>", "data.>"], "name": "name"}))
        .unwrap();
    for i in (0..20).step_by(2) {
        send_stream_msg(&mut js, "events.created", &format!("created {i}"));
        send_stream_msg(&mut js, "data.processed", &format!("processed {}", i + 1));
    }
    js.add_consumer_direct(
        "name",
        json!({
            "durable_name": "durable", "deliver_subject": "deliver",
            "filter_subjects": ["events.created", "data.processed"], "ack_policy": "explicit",
        }),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("", SubOpts::bind("name", "durable"))
        .unwrap();
    for _ in 0..20 {
        let m = js.must_next(&sub, Duration::from_millis(500));
        js.ack_sync(&m).unwrap();
    }
    let info = js.info("name", "durable");
    assert_eq!(info["num_ack_pending"], 0, "{info}");
    assert_eq!(info["num_pending"], 0, "{info}");
    assert_eq!(info["ack_floor"]["consumer_seq"], 20, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], 20, "{info}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectsWithEmpty" => consumer_multiple_subjects_with_empty);
fn consumer_multiple_subjects_with_empty() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events.>"], "name": "name"}))
        .unwrap();
    for i in 0..10 {
        send_stream_msg(&mut js, "events.created", &i.to_string());
    }
    js.add_consumer(
        "name",
        json!({
            "deliver_subject": "deliver", "filter_subject": "", "durable_name": "durable",
            "ack_policy": "explicit",
        }),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("", SubOpts::bind("name", "durable"))
        .unwrap();
    for i in 0..9 {
        let m = js.must_next(&sub, Duration::from_millis(500));
        assert_eq!(payload_num(&m), i, "wrong sequence");
        js.ack_sync(&m).unwrap();
    }
    let info = js.info("name", "durable");
    assert_eq!(info["delivered"]["stream_seq"], 10, "{info}");
    assert_eq!(info["delivered"]["consumer_seq"], 10, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], 9, "{info}");
    assert_eq!(info["ack_floor"]["consumer_seq"], 9, "{info}");
    assert_eq!(info["num_ack_pending"], 1, "{info}");
    // An empty subject among several filters.
    let r = js.request_json(
        "$JS.API.CONSUMER.DURABLE.CREATE.name.multiple",
        json!({"stream_name": "name", "config": {
            "filter_subjects": [""], "deliver_subject": "multiple",
            "durable_name": "multiple", "ack_policy": "explicit",
        }}),
    );
    assert_eq!(r["error"]["err_code"], 10139, "{r}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectsAck" => consumer_multiple_subjects_ack);
fn consumer_multiple_subjects_ack() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events", "data", "other"], "name": "deliver"}))
        .unwrap();
    js.add_consumer_direct(
        "deliver",
        json!({
            "filter_subjects": ["events", "data"], "durable_name": "name",
            "ack_policy": "explicit", "num_replicas": 1,
        }),
    )
    .unwrap();
    for (subject, msg) in [
        ("events", "1"),
        ("data", "2"),
        ("data", "3"),
        ("data", "4"),
        ("events", "5"),
        ("data", "6"),
        ("data", "7"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    let mut sub = js
        .pull_subscribe("", "name", SubOpts::bind("deliver", "name"))
        .unwrap();
    let msgs = js.fetch(&mut sub, 3, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 3);
    js.ack_sync(&msgs[0]).unwrap();
    js.ack_sync(&msgs[1]).unwrap();
    ported::jetstream::check_for(SECOND, Duration::from_millis(100), || {
        let info = js.info("deliver", "name");
        if info["ack_floor"]["consumer_seq"] != 2 {
            return Err(format!("bad consumer sequence: {info}"));
        }
        if info["ack_floor"]["stream_seq"] != 2 {
            return Err(format!("bad stream sequence: {info}"));
        }
        if info["num_pending"] != 4 {
            return Err(format!("bad num pending: {info}"));
        }
        Ok(())
    });
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectsWithAddedMessages" => consumer_multiple_subjects_with_added_messages);
fn consumer_multiple_subjects_with_added_messages() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events.>"], "name": "deliver"}))
        .unwrap();
    js.add_consumer_direct(
        "deliver",
        json!({
            "deliver_subject": "deliver",
            "filter_subjects": ["events.created", "events.processed"],
            "durable_name": "durable", "ack_policy": "explicit",
        }),
    )
    .unwrap();
    for (subject, msg) in [
        ("events.created", "0"),
        ("events.created", "1"),
        ("events.created", "2"),
        ("events.created", "3"),
        ("events.other", "BAD"),
        ("events.processed", "4"),
        ("events.processed", "5"),
        ("events.processed", "6"),
        ("events.other", "BAD"),
        ("events.processed", "7"),
        ("events.processed", "8"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    let sub = js
        .subscribe_sync("", SubOpts::bind("deliver", "durable"))
        .unwrap();
    for i in 0..10 {
        if i == 5 {
            send_stream_msg(&mut js, "events.created", "9");
        }
        if i == 9 {
            send_stream_msg(&mut js, "events.other", "BAD");
            send_stream_msg(&mut js, "events.created", "11");
        }
        if i == 7 {
            send_stream_msg(&mut js, "events.processed", "10");
        }
        let m = js.must_next(&sub, SECOND);
        assert_eq!(payload_num(&m), i, "wrong sequence");
        js.ack_sync(&m)
            .unwrap_or_else(|e| panic!("error while acking the message: {e}"));
    }
    let info = js.info("deliver", "durable");
    assert_eq!(info["delivered"]["consumer_seq"], 12, "{info}");
    assert_eq!(info["delivered"]["stream_seq"], 15, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], 12, "{info}");
    assert_eq!(info["ack_floor"]["consumer_seq"], 10, "{info}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerThreeFilters" => consumer_three_filters);
fn consumer_three_filters() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["events", "data", "other", "ignored"]}))
        .unwrap();
    for (subject, msg) in [
        ("ignored", "100"),
        ("events", "0"),
        ("events", "1"),
        ("data", "2"),
        ("ignored", "100"),
        ("data", "3"),
        ("other", "4"),
        ("data", "5"),
        ("other", "6"),
        ("data", "7"),
        ("ignored", "100"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    js.add_consumer_direct(
        "TEST",
        json!({
            "filter_subjects": ["events", "data", "other"], "durable_name": "multi",
            "ack_policy": "explicit",
        }),
    )
    .unwrap();
    let mut sub = js
        .pull_subscribe("", "multi", SubOpts::bind("TEST", "multi"))
        .unwrap();
    let msgs = js.fetch(&mut sub, 6, 5 * SECOND).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(&m.payload), i.to_string());
        js.ack_sync(m).unwrap();
    }
    let info = js.info("TEST", "multi");
    assert_eq!(info["delivered"]["stream_seq"], 8, "{info}");
    assert_eq!(info["delivered"]["consumer_seq"], 6, "{info}");
    assert_eq!(info["num_pending"], 2, "{info}");
    assert_eq!(info["num_ack_pending"], 0, "{info}");
    assert_eq!(info["ack_floor"]["consumer_seq"], 6, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], 8, "{info}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUpdateFilterSubjects" => consumer_update_filter_subjects);
fn consumer_update_filter_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["events", "data", "other"]}))
        .unwrap();
    for (subject, msg) in [
        ("other", "100"),
        ("events", "0"),
        ("events", "1"),
        ("data", "2"),
        ("data", "3"),
        ("other", "4"),
        ("data", "5"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    let cfg = |filters: Value| json!({"filter_subjects": filters, "durable_name": "multi", "ack_policy": "explicit"});
    js.add_consumer_direct("TEST", cfg(json!(["events", "data"])))
        .unwrap();
    let mut sub = js
        .pull_subscribe("", "multi", SubOpts::bind("TEST", "multi"))
        .unwrap();
    let msgs = js.fetch(&mut sub, 3, 5 * SECOND).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(&m.payload), i.to_string());
        js.ack_sync(m).unwrap();
    }
    js.add_consumer_direct("TEST", cfg(json!(["events", "data", "other"])))
        .unwrap();
    let mut updated = js
        .pull_subscribe("", "multi", SubOpts::bind("TEST", "multi"))
        .unwrap();
    let msgs = js.fetch(&mut updated, 3, 5 * SECOND).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(&m.payload), (i + 3).to_string());
        js.ack_sync(m).unwrap();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUpdateFilterSubject" => consumer_update_filter_subject);
fn consumer_update_filter_subject() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "T", "subjects": ["foo", "bar", "baz"]}))
        .unwrap();
    let mut msgs: Vec<(&str, &[u8])> = vec![("foo", b"OK"); 10];
    msgs.extend(vec![("bar", &b"OK"[..]); 20]);
    for a in js.publish_async(&msgs) {
        assert!(a["error"].is_null(), "{a}");
    }
    let mut sub = js.pull_subscribe("foo", "d", SubOpts::default()).unwrap();
    let got = js.fetch(&mut sub, 5, 5 * SECOND).unwrap();
    assert_eq!(got.len(), 5);
    // Another filter subject.
    js.update_consumer(
        "T",
        json!({"durable_name": "d", "filter_subject": "bar", "ack_policy": "explicit"}),
    )
    .unwrap();
    let mut sub = js.pull_subscribe("bar", "d", SubOpts::default()).unwrap();
    let got = js.fetch(&mut sub, 1, 5 * SECOND).unwrap();
    let meta = got[0].metadata();
    assert_eq!(
        (meta.consumer_seq, meta.stream_seq),
        (6, 11),
        "Sequence incorrect {meta:?}"
    );
    assert_eq!(meta.num_delivered, 1, "Expected NumDelivered to be 1");
    assert_eq!(meta.num_pending, 19, "Expected NumPending to be 19");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPurge" => consumer_purge);
fn consumer_purge() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["test.>"]}))
        .unwrap();
    send_stream_msg(&mut js, "test.1", "hello");
    send_stream_msg(&mut js, "test.2", "hello");
    let mut sub = js
        .pull_subscribe("test.>", "consumer", SubOpts::default())
        .unwrap();
    // Purge one of the subjects.
    js.purge_stream("TEST", Some(json!({"filter": "test.2"})))
        .unwrap();
    let info = js.info("TEST", "consumer");
    assert_eq!(info["num_pending"], 1, "{info}");
    // The message of the other subject is still there.
    js.fetch(&mut sub, 1, 5 * SECOND).unwrap();

    js.add_stream(json!({"name": "OTHER", "subjects": ["other.>"]}))
        .unwrap();
    send_stream_msg(&mut js, "other.1", "hello");
    send_stream_msg(&mut js, "other.2", "hello");
    let mut sub = js
        .pull_subscribe("other.>", "other_consumer", SubOpts::default())
        .unwrap();
    // Purge the whole stream.
    js.purge_stream("OTHER", None).unwrap();
    let info = js.info("OTHER", "other_consumer");
    assert_eq!(info["num_pending"], 0, "{info}");
    // Nothing left to fetch.
    js.fetch(&mut sub, 1, 5 * SECOND)
        .expect_err("a fetch of a purged stream");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWithFormattingSymbol" => consumer_with_formatting_symbol);
fn consumer_with_formatting_symbol() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "Test%123", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..10 {
        send_stream_msg(&mut js, "foo", "OK");
    }
    js.add_consumer(
        "Test%123",
        json!({"durable_name": "Test%123", "filter_subject": "foo", "deliver_subject": "bar"}),
    )
    .unwrap();
    let sub = js
        .subscribe_sync("foo", SubOpts::bind("Test%123", "Test%123"))
        .unwrap();
    js.must_next(&sub, 5 * SECOND);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPendingForKV" => consumer_pending_for_kv);
fn consumer_pending_for_kv() {
    for storage in ["file", "memory"] {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["test.>"], "storage": storage,
            "max_msgs_per_subject": 10, "discard": "new",
        }))
        .unwrap();
        js.publish_ok("test.1", b"x");
        // This is the detail that used to give the count off by one.
        js.publish("test.1", &[("Nats-Expected-Last-Sequence", "1")], b"y")
            .unwrap();
        for subject in ["test.2", "test.3", "test.4", "test.5"] {
            js.publish_ok(subject, b"x");
        }
        let info = js
            .stream_info("TEST", Some(json!({"subjects_filter": ">"})))
            .unwrap();
        assert_eq!(
            info["state"]["subjects"].as_object().map(|m| m.len()),
            Some(5),
            "{info}"
        );
        let sub = js
            .subscribe_sync(
                "test.>",
                SubOpts::config(json!({"deliver_policy": "last_per_subject"})),
            )
            .unwrap();
        let m = js.must_next(&sub, SECOND);
        assert_eq!(m.metadata().num_pending, 4, "{storage}: {:?}", m.reply);
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerNumPendingWithMaxPerSubjectGreaterThanOne" => consumer_num_pending_with_max_per_subject_greater_than_one);
fn consumer_num_pending_with_max_per_subject_greater_than_one() {
    let (_s, mut js) = server_and_client();
    for storage in ["memory", "file"] {
        js.add_stream(json!({
            "name": "TEST", "subjects": ["KV.*.*"], "max_msgs_per_subject": 2,
            "storage": storage,
        }))
        .unwrap();
        let msgs: Vec<(&str, &[u8])> = vec![
            ("KV.plans.foo", b"OK"),
            ("KV.plans.bar", b"OK"),
            ("KV.plans.baz", b"OK"),
            // The consumer must filter these out to see the bug.
            ("KV.config.foo", b"OK"),
            ("KV.config.bar", b"OK"),
            ("KV.config.baz", b"OK"),
            // Double up some.
            ("KV.plans.bar", b"OK"),
            ("KV.plans.baz", b"OK"),
        ];
        js.publish_async(&msgs);
        let ci = js
            .add_consumer(
                "TEST",
                json!({
                    "durable_name": "d", "ack_policy": "explicit",
                    "deliver_policy": "last_per_subject", "filter_subject": "KV.plans.*",
                }),
            )
            .unwrap();
        js.delete_stream("TEST").unwrap();
        assert_eq!(ci["num_pending"], 3, "{storage}: {ci}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPendingBugWithKV" => consumer_pending_bug_with_kv);
fn consumer_pending_bug_with_kv() {
    for (_, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({
            "name": "KV", "subjects": ["kv.>"], "storage": storage, "max_msgs_per_subject": 1,
        }))
        .unwrap();
        for (subject, v) in [("kv.1", "1"), ("kv.2", "2"), ("kv.3", "3"), ("kv.1", "4")] {
            js.publish_ok(subject, v.as_bytes());
        }
        let state = js.stream_state("KV");
        assert_eq!(state.msgs, 3, "Expected 3 total msgs");
        let ci = js
            .add_consumer_direct(
                "KV",
                json!({
                    "durable_name": "dlc", "deliver_subject": "xxx",
                    "deliver_policy": "last_per_subject", "filter_subject": ">",
                }),
            )
            .unwrap();
        assert_eq!(ci["num_pending"], 3, "{storage}: {ci}");
    }
}

/// nats.go's new API `CreateOrUpdateConsumer` with `FilterSubjects` and deliver all (its
/// zero ack policy is explicit), then `Consume` acking each message; true when all
/// `expect` messages came, each within 2 s.
fn consume_all(js: &mut JsContext, filters: Value, expect: usize) -> bool {
    let name = format!("c{}", ported::jetstream::now_nanos() % 1_000_000_007);
    let cfg = json!({
        "name": name, "deliver_policy": "all", "ack_policy": "explicit",
        "replay_policy": "instant", "filter_subjects": filters,
    });
    let r = js.request_json(
        &format!("$JS.API.CONSUMER.CREATE.TEST.{name}"),
        json!({"stream_name": "TEST", "config": cfg}),
    );
    assert!(r["error"].is_null(), "{r}");
    let mut sub = js
        .pull_subscribe("", "", SubOpts::bind("TEST", &name))
        .unwrap();
    let mut count = 0;
    while count < expect {
        match js.fetch(&mut sub, 1, 2 * SECOND) {
            Ok(msgs) => {
                for m in &msgs {
                    js.ack(m);
                }
                count += msgs.len();
            }
            Err(_) => return false,
        }
    }
    true
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliverAllOverlappingFilterSubjects" => consumer_deliver_all_overlapping_filter_subjects);
fn consumer_deliver_all_overlapping_filter_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["stream.>"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish_ok("stream.A", b"");
    }
    assert!(
        consume_all(&mut js, json!(["stream.A", "stream.A.>"]), 10),
        "Timeout reached before all 10 messages came"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliverAllNonOverlappingFilterSubjects" => consumer_deliver_all_non_overlapping_filter_subjects);
fn consumer_deliver_all_non_overlapping_filter_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["stream.>"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish_ok("stream.subject", b"");
    }
    let r = js.request_json(
        "$JS.API.CONSUMER.CREATE.TEST.nonoverlap",
        json!({"stream_name": "TEST", "config": {
            "name": "nonoverlap", "deliver_policy": "all", "ack_policy": "explicit",
            "replay_policy": "instant",
            "filter_subjects": ["stream.subject.A", "stream.subject.A.>"],
        }}),
    );
    assert!(r["error"].is_null(), "{r}");
    let info = js.info("TEST", "nonoverlap");
    assert_eq!(info["num_pending"], 0, "{info}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDeliverPartialOverlappingFilterSubjects" => consumer_deliver_partial_overlapping_filter_subjects);
fn consumer_deliver_partial_overlapping_filter_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["stream.>"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish_ok("stream.A", b"");
    }
    assert!(
        consume_all(&mut js, json!(["stream.A", "stream.*.A"]), 10),
        "Timeout reached before all 10 messages came"
    );
}
