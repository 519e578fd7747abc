//! Consumer create and update: actions, configuration checks, names, descriptions,
//! metadata, defaults from the stream, push-bound reporting.

use super::*;
use ported::jetstream::{require_error, ApiError};
use ported::js_context::{go_time, SubOpts, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

/// The server's own view of a consumer's config (Go's `o.config()`).
fn stored_consumer_config(s: &JsServer, stream: &str, consumer: &str) -> Value {
    let js = s.shared().jetstream().expect("JetStream on");
    let jsa = js.account("$G").expect("global account");
    let st = jsa.stream(stream).expect("stream");
    let c = st
        .consumers
        .read()
        .get(consumer)
        .cloned()
        .expect("consumer");
    serde_json::to_value(c.config()).unwrap()
}

/// The checks Go's `mset.addConsumer` makes before adding (`setConsumerConfigDefaults`
/// and `checkConsumerCfg`), run on natsd's own: the error text, if any.
fn add_consumer_checks(s: &JsServer, stream: &str, config: Value) -> Result<(), String> {
    use natsd::jetstream::consumer_config as cc;
    let js = s.shared().jetstream().expect("JetStream on");
    let jsa = js.account("$G").expect("global account");
    let stream_cfg = jsa.stream(stream).expect("stream").config();
    let limits = s.shared().opts().jetstream_limits;
    let mut cfg = serde_json::from_value(config).unwrap();
    cc::set_consumer_config_defaults(&mut cfg, &stream_cfg, &limits, &jsa.limits, false)
        .and_then(|()| cc::check_consumer_config(&cfg, &stream_cfg, &limits, &jsa.limits, false))
        .map_err(|e| e.to_string())
}

/// The error text a failed create carries.
fn err_text(r: Result<Value, ApiError>) -> String {
    r.expect_err("Expected an error but got none").server_text()
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerActions" => consumer_actions);
fn consumer_actions() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits",
        "subjects": ["one", "two", "three", "four", "five.>"], "max_age": 90 * SEC,
    }))
    .unwrap();
    let dur = |filters: Value| {
        json!({
            "durable_name": "DUR", "filter_subjects": filters, "ack_policy": "explicit",
            "deliver_policy": "all", "ack_wait": 30 * SEC,
        })
    };
    // No consumers existed before, so should be fine.
    js.add_consumer_with_action("TEST", dur(json!(["one", "two"])), "create")
        .unwrap();
    // Again with the same config: fine for create.
    js.add_consumer_with_action("TEST", dur(json!(["one", "two"])), "create")
        .unwrap();
    // A different config: an error for create.
    js.add_consumer_with_action("TEST", dur(json!(["one"])), "create")
        .expect_err("create of a different config");
    // Update of an existing consumer is fine.
    js.add_consumer_with_action("TEST", dur(json!(["one"])), "update")
        .unwrap();
    // Update of a consumer that does not exist fails.
    let mut new = dur(json!(["one"]));
    new["durable_name"] = json!("NEW");
    js.add_consumer_with_action("TEST", new, "update")
        .expect_err("update of a missing consumer");
    // A new ephemeral is fine; creating it again right away is not.
    let eph = json!({
        "name": "EPH", "filter_subjects": ["one"], "ack_policy": "explicit",
        "deliver_policy": "all", "ack_wait": 30 * SEC,
    });
    js.add_consumer_with_action("TEST", eph.clone(), "create")
        .unwrap();
    js.add_consumer_with_action("TEST", eph, "create")
        .expect_err("second create of the ephemeral");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerActionsOnWorkQueuePolicyStream" => consumer_actions_on_work_queue_policy_stream);
fn consumer_actions_on_work_queue_policy_stream() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "workqueue",
        "subjects": ["one", "two", "three", "four", "five.>"],
    }))
    .unwrap();
    let cfg = |name: &str, filters: Value| json!({"durable_name": name, "filter_subjects": filters, "ack_policy": "explicit"});
    js.add_consumer_with_action("TEST", cfg("C1", json!(["one", "two"])), "create")
        .unwrap();
    js.add_consumer_with_action("TEST", cfg("C2", json!(["three", "four"])), "create")
        .unwrap();
    js.add_consumer_with_action("TEST", cfg("C3", json!(["five.*"])), "create")
        .unwrap();
    // Removing a subject from a filter.
    js.add_consumer_with_action("TEST", cfg("C1", json!(["one"])), "update")
        .unwrap();
    // Adding the subject removed above: no overlap.
    js.add_consumer_with_action("TEST", cfg("C2", json!(["three", "four", "two"])), "update")
        .unwrap();
    // Overlapping subjects: on create and on update.
    let e = js
        .add_consumer_with_action(
            "TEST",
            cfg("C4", json!(["one", "two", "three", "four"])),
            "create",
        )
        .expect_err("overlapping create");
    assert_eq!(
        e.err_code, 10100,
        "want JSConsumerWQConsumerNotUniqueErr, got {e:?}"
    );
    let e = js
        .add_consumer_with_action(
            "TEST",
            cfg("C3", json!(["one", "two", "three", "four"])),
            "update",
        )
        .expect_err("overlapping update");
    assert_eq!(
        e.err_code, 10100,
        "want JSConsumerWQConsumerNotUniqueErr, got {e:?}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerActionsViaAPI" => consumer_actions_via_api);
fn consumer_actions_via_api() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits", "subjects": ["one"], "max_age": 90 * SEC,
    }))
    .unwrap();
    let mut req = |subject: &str, action: &str, config: Value| {
        let body = json!({"action": action, "config": config, "stream_name": "TEST"});
        js.request_json(subject, body)
    };
    let durable = "$JS.API.CONSUMER.DURABLE.CREATE.TEST.hello";
    // Update of a consumer that does not exist fails.
    let r = req(durable, "update", json!({"durable_name": "hello"}));
    assert!(!r["error"].is_null(), "expected an error, got {r}");
    // Create of a consumer that does not exist works.
    let r = req(durable, "create", json!({"durable_name": "hello"}));
    assert!(r["error"].is_null(), "expected nil, got {}", r["error"]);
    // Create of an existing consumer with another config fails.
    let r = req(
        durable,
        "create",
        json!({"durable_name": "hello", "filter_subject": "one"}),
    );
    assert!(!r["error"].is_null(), "expected err, got {r}");
    // A named ephemeral.
    let eph = "$JS.API.CONSUMER.CREATE.TEST.ephemeral";
    let _ = req(
        eph,
        "create",
        json!({"name": "ephemeral", "filter_subject": "one"}),
    );
    // Create again: an error.
    let r = req(
        eph,
        "create",
        json!({"name": "ephemeral", "filter_subject": "one"}),
    );
    assert!(!r["error"].is_null(), "expected err, got {r}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerActionsUnmarshal" => consumer_actions_unmarshal);
fn consumer_actions_unmarshal() {
    use natsd::jetstream::api::decode_like_go;
    use natsd::jetstream::api::types::{ConsumerAction, CreateConsumerRequest};
    for (name, given, expected, expect_err) in [
        (
            "action create",
            r#"{"action": "create"}"#,
            ConsumerAction::Create,
            false,
        ),
        (
            "action update",
            r#"{"action": "update"}"#,
            ConsumerAction::Update,
            false,
        ),
        ("no action", "{}", ConsumerAction::CreateOrUpdate, false),
        (
            "unknown",
            r#"{"action": "unknown"}"#,
            ConsumerAction::CreateOrUpdate,
            true,
        ),
    ] {
        let r = decode_like_go::<CreateConsumerRequest>(given.as_bytes());
        // A request that does not decode leaves the action at its zero value, as Go's
        // struct does.
        let action = match &r {
            Ok(req) => req.action,
            Err(_) => CreateConsumerRequest::default().action,
        };
        assert_eq!(r.is_err(), expect_err, "{name}: {r:?}");
        assert_eq!(action, expected, "{name}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWorkQueuePolicyOverlap" => consumer_work_queue_policy_overlap);
fn consumer_work_queue_policy_overlap() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.*.*"], "retention": "workqueue"}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "ConsumerA", "filter_subject": "foo.bar.*", "ack_policy": "explicit"}),
    )
    .unwrap();
    let err = js
        .add_consumer(
            "TEST",
            json!({"durable_name": "ConsumerB", "filter_subject": "foo.*.bar", "ack_policy": "explicit"}),
        )
        .expect_err("overlapping filters on a work queue");
    assert!(err.to_string().contains("unique"), "{err}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerBackOff" => consumer_back_off);
fn consumer_back_off() {
    let (_s, mut js) = server_and_client();
    for (name, config, should_err) in [
        (
            "backoff_with_max_deliver",
            json!({"max_deliver": 3, "backoff": [SEC, 60 * SEC]}),
            false,
        ),
        (
            "backoff_with_max_deliver_equal",
            json!({"max_deliver": 3, "backoff": [SEC, 60 * SEC, 3600 * SEC]}),
            false,
        ),
        // nats.go leaves out a zero max deliver and an empty backoff.
        ("backoff_with_max_deliver_equal_to_zero", json!({}), false),
        (
            "backoff_with_max_deliver_smaller",
            json!({"max_deliver": 2, "backoff": [SEC, 60 * SEC, 3600 * SEC]}),
            true,
        ),
        (
            "backoff_with_default_max_deliver",
            json!({"backoff": [SEC, 60 * SEC, 3600 * SEC]}),
            false,
        ),
    ] {
        js.add_stream(json!({"name": name, "subjects": [name]}))
            .unwrap();
        let r = js.add_consumer(name, config.clone());
        assert_eq!(r.is_err(), should_err, "{name}: {r:?}");
        if let Err(e) = r {
            assert!(e.to_string().contains("max deliver"), "{name}: {e}");
        }
        // Updates are checked too.
        js.add_consumer(name, json!({"durable_name": "consumer"}))
            .unwrap();
        let mut updated = config;
        updated["durable_name"] = json!("consumer");
        updated["description"] = json!("Updated");
        let r = js.update_consumer(name, updated);
        assert_eq!(r.is_err(), should_err, "{name} update: {r:?}");
        if let Err(e) = r {
            assert!(e.to_string().contains("max deliver"), "{name}: {e}");
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerCreate" => consumer_create);
fn consumer_create() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({
            "name": "foo", "storage": storage, "subjects": ["foo", "bar"],
            "retention": "workqueue",
        }))
        .unwrap();
        // No config at all.
        let r = js.js.request_raw("$JS.API.CONSUMER.CREATE.foo", b"");
        assert!(
            !r["error"].is_null(),
            "{name}: Expected an error for no config, got {r}"
        );
        // Pull mode on a work queue needs explicit acks.
        js.add_consumer_direct("foo", json!({}))
            .expect_err("work queue / pull mode without explicit ack");
        // Delivery subjects: literal, and no cycles with the stream's subjects.
        for deliver in ["foo.*", "foo", "bar", "*"] {
            js.add_consumer_direct("foo", json!({"deliver_subject": deliver}))
                .expect_err(deliver);
        }
        // Start position conflicts.
        let now = go_time(ported::jetstream::now_nanos());
        js.add_consumer_direct(
            "foo",
            json!({"deliver_subject": "A", "opt_start_seq": 1, "opt_start_time": now}),
        )
        .expect_err("start sequence and time");
        js.add_consumer_direct(
            "foo",
            json!({"deliver_subject": "A", "opt_start_time": now}),
        )
        .expect_err("start time with deliver all");

        // An ephemeral with interest on its delivery subject.
        let delivery = ported::js_context::new_inbox();
        let sid = js.subscribe_sync_core(&delivery);
        let info = js
            .add_consumer_direct(
                "foo",
                json!({"deliver_subject": delivery, "ack_policy": "explicit"}),
            )
            .unwrap_or_else(|e| {
                panic!("{name}: Expected no error with registered interest, got {e:?}")
            });
        let oname = info["name"].as_str().unwrap().to_string();
        js.delete_consumer("foo", &oname)
            .unwrap_or_else(|e| panic!("{name}: Expected no error on delete, got {e:?}"));

        // Durables: a second identical create is fine.
        let mut dcfg = json!({
            "durable_name": "ddd", "deliver_subject": delivery, "ack_policy": "explicit",
        });
        js.add_consumer_direct("foo", dcfg.clone())
            .unwrap_or_else(|e| panic!("{name}: Unexpected error creating consumer: {e:?}"));
        js.add_consumer_direct("foo", dcfg.clone())
            .unwrap_or_else(|e| {
                panic!("{name}: Unexpected error creating second identical consumer: {e:?}")
            });
        // Only the delivery subject changes while nobody listens: fine.
        js.unsubscribe_core(sid);
        let _sid = js.subscribe_sync_core("d.d.d");
        dcfg["deliver_subject"] = json!("d.d.d");
        js.add_consumer_direct("foo", dcfg).unwrap_or_else(|e| {
            panic!("{name}: Unexpected error creating third consumer with just deliver subject changed: {e:?}")
        });
    }
}

/// `n` bytes of pseudo-random data (Go fills them from `crypto/rand`).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ ported::jetstream::now_nanos() as u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAndStreamDescriptions" => consumer_and_stream_descriptions);
fn consumer_and_stream_descriptions() {
    let (_s, mut js) = server_and_client();
    let descr = "foo asset";
    let info = js
        .add_stream(json!({"name": "foo", "description": descr}))
        .unwrap();
    assert_eq!(info["config"]["description"], descr);
    let edescr = "analytics";
    let info = js
        .add_consumer_direct(
            "foo",
            json!({"description": edescr, "deliver_subject": "to", "ack_policy": "none"}),
        )
        .unwrap();
    assert_eq!(info["config"]["description"], edescr);
    // Go's JSMaxDescriptionLen is 4 KiB.
    let big = base64(&random_bytes(4 * 1024 + 1));
    let err = js
        .add_stream(json!({"name": "bar", "description": big}))
        .expect_err("Expected an error but got none");
    assert!(
        err.description.contains("description is too long"),
        "{err:?}"
    );
    let text = err_text(js.add_consumer_direct(
        "foo",
        json!({"description": big, "deliver_subject": "to", "ack_policy": "none"}),
    ));
    assert!(text.contains("description is too long"), "{text}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWithNameAndDurable" => consumer_with_name_and_durable);
fn consumer_with_name_and_durable() {
    let (s, mut js) = server_and_client();
    let info = js
        .add_stream(json!({"name": "foo", "description": "foo asset"}))
        .unwrap();
    assert_eq!(info["config"]["description"], "foo asset");
    // Both durable and name: they have to be the same.
    js.add_consumer_direct(
        "foo",
        json!({"deliver_subject": "to", "durable_name": "consumer", "name": "consumer", "ack_policy": "none"}),
    )
    .unwrap();
    // No API request carries both to mset.addConsumer's checks (every create subject
    // names the consumer, and the API refuses a mismatch with the subject first), so the
    // second config goes through the checks themselves, as Go's test does.
    let text = add_consumer_checks(
        &s,
        "foo",
        json!({"deliver_subject": "to", "durable_name": "durable", "name": "name", "ack_policy": "none"}),
    )
    .expect_err("mismatched durable and name");
    assert!(
        text.contains("Consumer Durable and Name have to be equal"),
        "Wrong error while adding consumer with not matching Name and Durable: {text}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWithMultipleStartOptions" => consumer_with_multiple_start_options);
fn consumer_with_multiple_start_options() {
    for (_, storage) in STORAGES {
        let (mut s, mut js) = server_and_client();
        js.add_stream(json!({"name": "my_stream", "subjects": ["foo.>"], "storage": storage}))
            .unwrap();
        let req = json!({"stream_name": "my_stream", "config": {
            "durable_name": "d", "deliver_policy": "last", "filter_subject": "foo.22",
            "ack_policy": "explicit",
        }});
        // The request is answered (this used to hang the server).
        js.js
            .conn
            .request(
                "$JS.API.CONSUMER.CREATE.my_stream",
                &[],
                req.to_string().as_bytes(),
                Duration::from_secs(1),
            )
            .expect("an answer");
        drop(js);
        s.shutdown();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerSingleTokenSubject" => consumer_single_token_subject);
fn consumer_single_token_subject() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let r = js.request_json(
        "$JS.API.CONSUMER.CREATE.TEST.name.not_filter_subject",
        json!({"stream_name": "TEST", "config": {"filter_subject": "foo", "name": "name"}}),
    );
    assert!(!r["error"].is_null(), "expected error, got nil");
    assert_eq!(
        r["error"]["err_code"], 10131,
        "expected error 10131, got {r}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerBadCreateErr" => consumer_bad_create_err);
fn consumer_bad_create_err() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.*"], "storage": "memory"}))
        .unwrap();
    // Deliver subject and max waiting (push and pull) together.
    let err = js
        .add_consumer(
            "TEST",
            json!({"durable_name": "nowcerr", "deliver_subject": "X", "max_waiting": 100}),
        )
        .expect_err("Expected an error but got none");
    assert!(
        err.to_string()
            .contains("push mode can not set max waiting"),
        "Incorrect error returned: {err}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPushBound" => consumer_push_bound);
fn consumer_push_bound() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "storage": "memory", "subjects": ["foo"]}))
        .unwrap();
    let create = |js: &mut JsContext, name: &str, deliver: &str| {
        let r = js.request_json(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.TEST.{name}"),
            json!({"stream_name": "TEST", "config": {
                "durable_name": name, "deliver_subject": deliver, "ack_policy": "explicit",
            }}),
        );
        assert!(
            r["error"].is_null() && r["name"].is_string(),
            "Got a bad response {r}"
        );
    };
    let bound = |js: &mut JsContext, name: &str| -> bool {
        js.info("TEST", name)["push_bound"]
            .as_bool()
            .unwrap_or(false)
    };
    // A durable push consumer without a listener.
    create(&mut js, "dlc", "d.X");
    assert!(!bound(&mut js, "dlc"), "Expected push bound to be false");
    let sid = js.subscribe_sync_core("d.X");
    assert!(bound(&mut js, "dlc"), "Expected push bound to be set");
    js.unsubscribe_core(sid);
    assert!(!bound(&mut js, "dlc"), "Expected push bound to be false");
    // A queue subscriber on a consumer without a deliver group does not bind it.
    create(&mut js, "ik", "d.Z");
    let qsid = js.js.conn.queue_subscribe("d.Z", "g22");
    js.flush();
    assert!(!bound(&mut js, "ik"), "Expected push bound to be false");
    js.unsubscribe_core(qsid);
    assert!(!bound(&mut js, "ik"), "Expected push bound to be false");
    // Pull consumers are never push bound.
    create(&mut js, "rip", "");
    assert!(!bound(&mut js, "rip"), "Expected push bound to be false");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAndStreamNamesWithPathSeparators" => consumer_and_stream_names_with_path_separators);
fn consumer_and_stream_names_with_path_separators() {
    let (_s, mut js) = server_and_client();
    // nats.go refuses a name with a dot itself (ErrInvalidStreamName); Go's test takes
    // either error.
    for name in ["usr/bin", r"Documents\readme.txt"] {
        let e = js
            .add_stream_checked(json!({"name": name}))
            .expect_err("path separators in a stream name");
        require_error(
            &e.to_string(),
            &[
                "Stream name can not contain path separators",
                "nats: invalid stream name",
            ],
        );
    }
    js.add_stream(json!({"name": "T"})).unwrap();
    for durable in ["a/b", r"a\b"] {
        let e = js
            .add_consumer(
                "T",
                json!({"durable_name": durable, "ack_policy": "explicit"}),
            )
            .expect_err("path separators in a consumer name");
        require_error(
            &e.to_string(),
            &["Consumer name can not contain path separators"],
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerOverlappingSubjects" => consumer_overlapping_subjects);
fn consumer_overlapping_subjects() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["events.>"], "name": "deliver"}))
        .unwrap();
    let r = js.request_json(
        "$JS.API.CONSUMER.DURABLE.CREATE.deliver.name",
        json!({"stream_name": "deliver", "config": {
            "filter_subjects": ["events.one", "events.*"], "durable_name": "name",
        }}),
    );
    assert_eq!(
        r["error"]["err_code"], 10138,
        "this should error as we have overlapping subjects, got {r}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleSubjectAndNewAPI" => consumer_multiple_subject_and_new_api);
fn consumer_multiple_subject_and_new_api() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"subjects": ["data", "events"], "name": "deliver"}))
        .unwrap();
    let r = js.request_json(
        "$JS.API.CONSUMER.CREATE.deliver.name.data.>",
        json!({"stream_name": "deliver", "config": {
            "filter_subjects": ["events", "data"], "name": "name", "durable_name": "name",
        }}),
    );
    assert_eq!(
        r["error"]["err_code"], 10137,
        "this should error as multiple subject filters is incompatible with new API, got {r}"
    );
}

/// The metadata a user set: the API (unlike Go's `acc.addStream` / `mset.addConsumer`
/// that this test calls) stamps the reserved `_nats.` keys in as well, in Go as here.
fn user_metadata(m: &Value) -> Value {
    let map = m.as_object().cloned().unwrap_or_default();
    Value::Object(
        map.into_iter()
            .filter(|(k, _)| !k.starts_with("_nats."))
            .collect(),
    )
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAndStreamMetadata" => consumer_and_stream_metadata);
fn consumer_and_stream_metadata() {
    let (s, mut js) = server_and_client();
    let metadata = json!({"key": "value", "_nats_created_version": "2.9.11"});
    js.add_stream(json!({"name": "foo", "metadata": metadata}))
        .unwrap();
    // What the stream keeps (Go's mset.config()).
    let stream_cfg = s
        .shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream("foo"))
        .map(|st| serde_json::to_value(st.config()).unwrap())
        .unwrap();
    assert_eq!(
        user_metadata(&stream_cfg["metadata"]),
        metadata,
        "Expected a metadata of {metadata}, got {}",
        stream_cfg["metadata"]
    );
    let info = js
        .add_consumer_direct(
            "foo",
            json!({"metadata": metadata, "deliver_subject": "to", "ack_policy": "none"}),
        )
        .unwrap();
    let name = info["name"].as_str().unwrap().to_string();
    let cfg = stored_consumer_config(&s, "foo", &name);
    assert_eq!(
        user_metadata(&cfg["metadata"]),
        metadata,
        "Expected a metadata of {metadata}, got {}",
        cfg["metadata"]
    );
    // Go's JSMaxMetadataLen is 128 KiB: 101 values of a hundredth of it each.
    let big_value = base64(&random_bytes(128 * 1024 / 100));
    let big: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!("key{i}"), json!(big_value)))
        .collect();
    let e = js
        .add_stream(json!({"name": "bar", "metadata": big}))
        .expect_err("Expected an error but got none");
    assert!(e.description.contains("stream metadata exceeds"), "{e:?}");
    let text = err_text(js.add_consumer_direct(
        "foo",
        json!({"metadata": big, "deliver_subject": "to", "ack_policy": "none"}),
    ));
    assert!(text.contains("consumer metadata exceeds"), "{text}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullMaxWaiting" => consumer_pull_max_waiting);
fn consumer_pull_max_waiting() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["test.*"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dur", "ack_policy": "explicit", "max_waiting": 10}),
    )
    .unwrap();
    // Max waiting cannot be updated.
    let err = js
        .update_consumer(
            "TEST",
            json!({"durable_name": "dur", "ack_policy": "explicit", "max_waiting": 1}),
        )
        .expect_err("an update of max waiting");
    assert!(
        err.to_string().contains("can not be updated"),
        "expected \"cannot be updated\" error, got {err}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullNoAck" => consumer_pull_no_ack);
fn consumer_pull_no_ack() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["ORDERS.*"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "dlc", "ack_policy": "none"}))
        .unwrap();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerLegacyDurableCreateSetsConsumerName" => consumer_legacy_durable_create_sets_consumer_name);
fn consumer_legacy_durable_create_sets_consumer_name() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let req = json!({"stream_name": "TEST", "action": "create", "config": {
        "durable_name": "CONSUMER", "ack_policy": "explicit", "num_replicas": 1,
    }});
    for subject in [
        "$JS.API.CONSUMER.CREATE.TEST.CONSUMER",
        "$JS.API.CONSUMER.DURABLE.CREATE.TEST.CONSUMER",
    ] {
        let r = js.request_json(subject, req.clone());
        assert!(r["error"].is_null(), "{subject}: {r}");
        assert_eq!(r["config"]["durable_name"], "CONSUMER", "{subject}: {r}");
        assert_eq!(r["config"]["name"], "CONSUMER", "{subject}: {r}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerUpdateSurvival" => consumer_update_survival);
fn consumer_update_survival() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "X"})).unwrap();
    js.add_consumer(
        "X",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "max_ack_pending": 1024}),
    )
    .unwrap();
    let ci = js
        .update_consumer(
            "X",
            json!({"durable_name": "dlc", "ack_policy": "explicit", "max_ack_pending": 22}),
        )
        .unwrap();
    assert_eq!(ci["config"]["max_ack_pending"], 22, "{ci}");
    // The update survives a restart.
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    let ci = js.info("X", "dlc");
    assert_eq!(ci["config"]["max_ack_pending"], 22, "{ci}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleFitersWithStartDate" => consumer_multiple_fiters_with_start_date);
fn consumer_multiple_fiters_with_start_date() {
    let (_s, mut js) = server_and_client();
    let now = ported::jetstream::now_nanos();
    let past = go_time(now - 90 * SEC as i128);
    js.add_stream(json!({"name": "TEST", "subjects": ["events.>"]}))
        .unwrap();
    for (subject, msg) in [
        ("events.foo", "msg-1"),
        ("events.bar", "msg-2"),
        ("events.baz", "msg-3"),
        ("events.biz", "msg-4"),
        ("events.faz", "msg-5"),
        ("events.foo", "msg-6"),
        ("events.biz", "msg-7"),
    ] {
        send_stream_msg(&mut js, subject, msg);
    }
    let future = go_time(ported::jetstream::now_nanos() + 60 * SEC as i128);
    for (name, filters, start, expected_msgs, expected_stream_seq) in [
        (
            "Single-Filter-first-sequence",
            json!(["events.foo"]),
            &past,
            2,
            0,
        ),
        (
            "Multiple-Filter-first-sequence",
            json!(["events.foo", "events.bar", "events.baz"]),
            &past,
            4,
            0,
        ),
        (
            "Multiple-Filters-second-subject",
            json!(["events.bar", "events.baz"]),
            &past,
            2,
            1,
        ),
        (
            "Multiple-Filters-first-last-subject",
            json!(["events.foo", "events.biz"]),
            &past,
            4,
            0,
        ),
        (
            "Multiple-Filters-in-future",
            json!(["events.foo", "events.biz"]),
            &future,
            0,
            7,
        ),
    ] {
        let info = js
            .add_consumer(
                "TEST",
                json!({
                    "durable_name": name, "filter_subjects": filters,
                    "deliver_policy": "by_start_time", "opt_start_time": start,
                }),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            info["delivered"]["stream_seq"], expected_stream_seq,
            "{name}: {info}"
        );
        assert_eq!(info["num_pending"], expected_msgs, "{name}: {info}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerFilterSubject" => consumer_filter_subject);
fn consumer_filter_subject() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "MY_STREAM", "subjects": ["foo"]}))
        .unwrap();
    let cfg = |deliver: &str| json!({"durable_name": "d", "deliver_subject": deliver, "ack_policy": "explicit", "filter_subject": "foo"});
    js.add_consumer_direct("MY_STREAM", cfg("A")).unwrap();
    let info = js.info("MY_STREAM", "d");
    assert_eq!(
        info["config"]["filter_subject"], "foo",
        "Expected the filter to be stored"
    );
    // The same config with another delivery subject works.
    js.add_consumer_direct("MY_STREAM", cfg("B"))
        .unwrap_or_else(|e| panic!("Unexpected error adding consumer: {e:?}"));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDefaultsFromStream" => consumer_defaults_from_stream);
fn consumer_defaults_from_stream() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "test", "subjects": ["test.*"],
        "consumer_limits": {"max_ack_pending": 15, "inactive_threshold": SEC},
    }))
    .unwrap();

    // InheritDefaultsFromStream
    let ci = js
        .add_consumer(
            "test",
            json!({"name": "InheritDefaultsFromStream", "ack_policy": "explicit"}),
        )
        .unwrap();
    assert_eq!(ci["config"]["inactive_threshold"], SEC, "{ci}");
    assert_eq!(ci["config"]["max_ack_pending"], 15, "{ci}");

    // CreateConsumerErrorOnExceedMaxAckPending
    let e = js
        .add_consumer(
            "test",
            json!({"name": "CreateConsumerErrorOnExceedMaxAckPending", "max_ack_pending": 30}),
        )
        .expect_err("should have returned API error")
        .api();
    assert_eq!(e.err_code, 10121, "invalid error code, got {e:?}");

    // CreateConsumerErrorOnExceedInactiveThreshold
    let e = js
        .add_consumer(
            "test",
            json!({"name": "CreateConsumerErrorOnExceedInactiveThreshold", "inactive_threshold": 2 * SEC}),
        )
        .expect_err("should have returned API error")
        .api();
    assert_eq!(e.err_code, 10153, "invalid error code, got {e:?}");

    // UpdateStreamErrorOnViolateConsumerMaxAckPending
    js.add_consumer(
        "test",
        json!({"name": "UpdateStreamErrorOnViolateConsumerMaxAckPending", "max_ack_pending": 15}),
    )
    .unwrap();
    js.update_stream(json!({
        "name": "test", "subjects": ["test.*"], "consumer_limits": {"max_ack_pending": 10},
    }))
    .expect_err("stream update should have errored but didn't");

    // UpdateStreamErrorOnViolateConsumerInactiveThreshold
    js.add_consumer(
        "test",
        json!({"name": "UpdateStreamErrorOnViolateConsumerInactiveThreshold", "inactive_threshold": SEC}),
    )
    .unwrap();
    js.update_stream(json!({
        "name": "test", "subjects": ["test.*"],
        "consumer_limits": {"inactive_threshold": SEC / 2},
    }))
    .expect_err("stream update should have errored but didn't");

    // UpdateStreamSpuriousMaxAckPending
    js.add_stream(json!({"name": "spurious-maxack", "subjects": ["spurious-maxack.*"]}))
        .unwrap();
    js.add_consumer(
        "spurious-maxack",
        json!({"name": "consumer", "ack_policy": "explicit"}),
    )
    .unwrap();
    js.update_stream(json!({
        "name": "spurious-maxack", "subjects": ["spurious-maxack.*"],
        "consumer_limits": {"inactive_threshold": 10 * SEC},
    }))
    .unwrap();

    // UpdateStreamClearInactiveThreshold
    js.add_stream(json!({
        "name": "spurious-inactive", "subjects": ["spurious-inactive.*"],
        "consumer_limits": {"inactive_threshold": 10 * SEC, "max_ack_pending": 1000},
    }))
    .unwrap();
    js.add_consumer(
        "spurious-inactive",
        json!({
            "name": "consumer", "ack_policy": "explicit",
            "inactive_threshold": 5 * SEC, "max_ack_pending": 500,
        }),
    )
    .unwrap();
    js.update_stream(json!({
        "name": "spurious-inactive", "subjects": ["spurious-inactive.*"],
        "consumer_limits": {"inactive_threshold": 0, "max_ack_pending": 2000},
    }))
    .unwrap();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAllowOverlappingSubjectsIfNotSubset" => consumer_allow_overlapping_subjects_if_not_subset);
fn consumer_allow_overlapping_subjects_if_not_subset() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["event.>"]}))
        .unwrap();
    let parts = ["foo", "bar", "baz", "oth"];
    for start in parts {
        for end in parts {
            js.publish_ok(&format!("event.{start}.{end}"), b"");
        }
    }
    // 'event.*.foo' is a subset of 'event.>'.
    let e = js
        .add_consumer(
            "TEST",
            json!({"durable_name": "OVERLAP", "filter_subjects": ["event.>", "event.*.foo"]}),
        )
        .expect_err("a filter that is a subset of another");
    require_error(&e.to_string(), &["consumer subject filters cannot overlap"]);
    // These overlap but neither is a subset of the other.
    js.add_consumer(
        "TEST",
        json!({"durable_name": "DURABLE", "filter_subjects": ["event.foo.*", "event.*.foo"]}),
    )
    .unwrap();
    let mut sub = js
        .pull_subscribe("", "DURABLE", SubOpts::bind_stream("TEST"))
        .unwrap();
    let batch = parts.len() * parts.len();
    let msgs = js.fetch(&mut sub, batch, Duration::from_secs(1)).unwrap();
    let mut count = 0;
    for start in parts {
        for end in parts {
            if start != "foo" && end != "foo" {
                continue;
            }
            count += 1;
            assert!(msgs.len() >= count, "only {} messages", msgs.len());
            assert_eq!(msgs[count - 1].subject, format!("event.{start}.{end}"));
        }
    }
    assert_eq!(count, 7);
    assert_eq!(msgs.len(), count);
}
