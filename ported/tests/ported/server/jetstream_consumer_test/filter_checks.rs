//! Which part of a stream a consumer's filters cover: Go's `isEqualOrSubsetMatch` (a
//! purged subject that covers a filter) and `isFiltered` (filters that are less than the
//! whole stream), checked through natsd's pure equivalents in `consumer_config`, and the
//! live filters of a consumer after its config is updated.

use super::misc::filter_subjects;
use super::*;
use natsd::jetstream::consumer_config::{is_equal_or_subset_match, is_filtered};
use ported::jetstream::api_result;
use ported::port;
use serde_json::json;
use std::time::Duration;

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerIsEqualOrSubsetMatch" => consumer_is_equal_or_subset_match);
fn consumer_is_equal_or_subset_match() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for (name, filters, subject, result) in [
        ("no filter", s(&[]), "foo.bar", false),
        ("literal match", s(&["foo.baz", "foo.bar"]), "foo.bar", true),
        (
            "literal mismatch",
            s(&["foo.baz", "foo.bar"]),
            "foo.ban",
            false,
        ),
        ("literal match", s(&["bar.>", "foo.>"]), "foo.>", true),
        (
            "subset match",
            s(&["bar.foo.>", "foo.bar.>"]),
            "bar.>",
            true,
        ),
        (
            "subset mismatch",
            s(&["bar.>", "foo.>"]),
            "baz.foo.>",
            false,
        ),
        (
            "literal match",
            filter_subjects(100),
            "foo.bar.*.xyz.abcdef",
            true,
        ),
        ("subset match", filter_subjects(100), "foo.bar.>", true),
    ] {
        let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
        let res = is_equal_or_subset_match(&filters, subject);
        assert_eq!(
            res, result,
            "{name}: Subject {subject:?} subset match of {filters:?}, should be {result}, got {res}"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerIsFiltered" => consumer_is_filtered);
fn consumer_is_filtered() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    for (name, stream_subjects, filters, filtered) in [
        ("single_subject", vec!["one"], vec!["one"], false),
        (
            "single_subject_filtered",
            vec!["one.>"],
            vec!["one.filter"],
            true,
        ),
        (
            "multi_subject_non_filtered",
            vec!["multi", "foo", "bar.>"],
            vec!["multi", "bar.>", "foo"],
            false,
        ),
        (
            "multi_subject_filtered_wc",
            vec!["events", "data"],
            vec!["data"],
            true,
        ),
        (
            "multi_subject_filtered",
            vec!["machines", "floors"],
            vec!["machines"],
            true,
        ),
    ] {
        js.add_stream(json!({"name": name, "subjects": stream_subjects}))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // Go's mset.addConsumer with the server's config: only the fields it sets.
        let req = json!({"stream_name": name, "config": {
            "durable_name": name, "filter_subjects": filters,
            "deliver_policy": "all", "ack_policy": "none", "replay_policy": "instant",
        }});
        api_result(js.request(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.{name}.{name}"),
            Some(&req),
        ))
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // Go asks the consumer (o.isFiltered) with its stream's subjects and its filters.
        let stream = s
            .shared()
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream(name))
            .expect("stream");
        let subjects = stream.config().subjects;
        let cfg = s.consumer(name, name).config();
        let live = natsd::jetstream::consumer_config::subject_filters(&cfg);
        assert_eq!(is_filtered(&subjects, &live), filtered, "{name}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerFilterUpdate" => consumer_filter_update);
fn consumer_filter_update() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>", "bar.>"]}))
        .unwrap();
    for _ in 0..3 {
        send_stream_msg(&mut js, "foo.data", "OK");
    }
    let sid = js.subscribe_sync_core("deliver");
    // Go ignores the result of this create.
    let _ = js.add_consumer(
        "TEST",
        json!({"durable_name": "consumer", "deliver_subject": "deliver", "filter_subject": "foo.data"}),
    );
    for i in 0..3 {
        js.next_msg_core(sid, SECOND)
            .unwrap_or_else(|| panic!("message {i}: nats: timeout"));
    }
    js.update_consumer(
        "TEST",
        json!({"durable_name": "consumer", "deliver_subject": "deliver", "filter_subject": "foo.>"}),
    )
    .unwrap();
    send_stream_msg(&mut js, "foo.other", "data");
    // This times out if the filters were not updated.
    js.next_msg_core(sid, SECOND)
        .expect("the new filter takes foo.other");

    // Go reads the stream's count of consumers with filters (mset.numFilter); natsd
    // keeps each consumer's live filters, which the stream matches messages with.
    let num_filter = || {
        let stream = s
            .shared()
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream("TEST"))
            .expect("stream");
        let consumers = stream.consumers.read();
        consumers
            .values()
            .filter(|c| !c.cursor.lock().filters.is_empty())
            .count()
    };
    let check_num_filter = |expected: usize| {
        let nf = num_filter();
        assert_eq!(
            nf, expected,
            "Expected stream's numFilter to be {expected}, got {nf}"
        );
    };
    check_num_filter(1);

    // Updated once more, now without filters.
    js.update_consumer(
        "TEST",
        json!({"durable_name": "consumer", "deliver_subject": "deliver", "filter_subject": ""}),
    )
    .unwrap();
    check_num_filter(0);
}

const SECOND: Duration = Duration::from_secs(1);
