//! Stream create, update, delete, names: `TestJetStreamAddStream*`, `TestJetStreamUpdate*`
//! and their kin.

use super::*;
use ported::jetstream::{run_basic_jetstream_server, StreamState};
use ported::port;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamAddStream" => add_stream);
fn add_stream() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "retention": "limits", "max_age": HOUR,
            "storage": storage, "num_replicas": 1,
        }))
        .unwrap();

        let _ = js.publish("foo", &[], b"Hello World!");
        let state = js.stream_state("foo");
        assert_eq!(state.msgs, 1, "Expected 1 message");
        assert_ne!(state.bytes, 0, "Expected non-zero bytes");

        let _ = js.publish("foo", &[], b"Hello World Again!");
        assert_eq!(js.stream_state("foo").msgs, 2, "Expected 2 messages");

        js.delete_stream("foo")
            .expect("Got an error deleting the stream");
    }
}

port!("server/jetstream_test.go::TestJetStreamAddStreamDiscardNew" => add_stream_discard_new);
fn add_stream_discard_new() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "max_msgs": 10, "max_bytes": 4096, "discard": "new",
            "storage": storage, "num_replicas": 1,
        }))
        .unwrap();

        let subj = "foo";
        for i in 0..10 {
            send_stream_msg(&mut js, subj, &format!("MSG: {}", i + 1));
        }
        // This one fails: the discard policy keeps what is there.
        let pa = request_msg(&mut js, subj, &[], b"discard me");
        assert_eq!(
            (pa["error"]["description"].as_str(), pa["stream"].as_str()),
            (Some("maximum messages exceeded"), Some("foo")),
            "Expected to get an error about maximum messages, got {pa}"
        );

        // Now bytes.
        js.purge_stream("foo", None).unwrap();
        let big = vec![0u8; 8192];
        let pa = request_msg(&mut js, subj, &[], &big);
        assert_eq!(
            (pa["error"]["description"].as_str(), pa["stream"].as_str()),
            (Some("maximum bytes exceeded"), Some("foo")),
            "Expected to get an error about maximum bytes, got {pa}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamAddStreamMaxMsgSize" => add_stream_max_msg_size);
fn add_stream_max_msg_size() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "retention": "limits", "max_age": HOUR, "storage": storage,
            "max_msg_size": 22, "num_replicas": 1,
        }))
        .unwrap();

        js.conn
            .request("foo", &[], b"Hello World!", ACK_WAIT)
            .expect("Unexpected error");
        let too_big = b"1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let pa = request_msg(&mut js, "foo", &[], too_big);
        assert_eq!(
            pa["error"]["description"].as_str(),
            Some("message size exceeds maximum allowed"),
            "Expected to get an error for maximum message size, got {pa}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamAddStreamOverlappingSubjects" => add_stream_overlapping_subjects);
fn add_stream_overlapping_subjects() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "ok", "storage": "memory",
        "subjects": ["foo", "bar", "baz.*", "foo.bar.baz.>"],
    }))
    .unwrap();

    let mut expect_err = |cfg: Value| {
        let err = js
            .add_stream(cfg.clone())
            .expect_err("Expected error but got none");
        assert!(
            err.server_text().contains("subjects overlap"),
            "{cfg}: unexpected error {err:?}"
        );
    };
    // Any overlap fails.
    expect_err(json!({"name": "foo"}));
    expect_err(json!({"name": "a", "subjects": ["baz", "bar"]}));
    expect_err(json!({"name": "b", "subjects": [">"], "no_ack": true}));
    expect_err(json!({"name": "c", "subjects": ["baz.33"]}));
    // No acks on these: they also overlap with the $JS.> namespace.
    expect_err(json!({"name": "d", "subjects": ["*.33"], "no_ack": true}));
    expect_err(json!({"name": "e", "subjects": ["*.>"], "no_ack": true}));
    expect_err(json!({"name": "f", "subjects": ["foo.bar", "*.bar.>"], "no_ack": true}));
}

port!("server/jetstream_test.go::TestJetStreamAddStreamBadSubjects" => add_stream_bad_subjects);
fn add_stream_bad_subjects() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut expect_api_err = |subject: &str| {
        let cfg = json!({"name": "MyStream", "storage": "memory", "subjects": [subject]});
        let resp = js.request("$JS.API.STREAM.CREATE.MyStream", Some(&cfg));
        let err = ported::jetstream::api_result(resp).expect_err("require error, but got none");
        // Go: NewJSStreamInvalidConfigError(fmt.Errorf("invalid subject")).
        ported::jetstream::require_error(
            &err.server_text(),
            &[&ported::jetstream::server_error_text(
                "invalid subject",
                10052,
            )],
        );
    };
    expect_api_err("foo.bar.");
    expect_api_err("..");
    expect_api_err(".*");
    expect_api_err(".>");
    expect_api_err(" x");
    expect_api_err("y ");
}

port!("server/jetstream_test.go::TestJetStreamAddStreamOverlapWithJSAPISubjects" => add_stream_overlap_with_js_api_subjects);
fn add_stream_overlap_with_js_api_subjects() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    // Go's check accepts any error here.
    let mut expect_err = |name: &str, subjects: &[&str]| {
        let r = js.add_stream(json!({"name": name, "subjects": subjects}));
        assert!(r.is_err(), "{name}: Expected error but got none");
    };
    // Streams may not take the JetStream API's subjects, nor the system's.
    expect_err("a", &["$JS.API.foo", "$JS.API.bar"]);
    expect_err("b", &["$JS.API.>"]);
    expect_err("c", &["$JS.API.*"]);
    expect_err("d", &["$JS.>"]);
    expect_err("e", &["$SYS.>"]);
    expect_err("f", &["*.>"]);
    expect_err("g", &[">"]);

    // Events and advisories are fine.
    js.add_stream(json!({"name": "h", "subjects": ["$JS.EVENT.>"]}))
        .unwrap();
    js.add_stream(json!({"name": "i", "subjects": ["$SYS.ACCOUNT.>"]}))
        .unwrap();

    // So is a full wildcard with no acks, once the overlapping streams are gone.
    for name in ["h", "i"] {
        js.delete_stream(name).unwrap();
    }
    js.add_stream(json!({"name": "j", "subjects": [">"], "no_ack": true}))
        .unwrap();
}

port!("server/jetstream_test.go::TestJetStreamAddStreamSameConfigOK" => add_stream_same_config_ok);
fn add_stream_same_config_ok() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let cfg = json!({
        "name": "ok", "subjects": ["foo", "bar", "baz.*", "foo.bar.baz.>"], "storage": "memory",
    });
    js.add_stream(cfg.clone()).unwrap();
    // Adding again with the same config is idempotent.
    js.add_stream(cfg).unwrap();
}

port!("server/jetstream_test.go::TestJetStreamNoAckStream" => no_ack_stream);
fn no_ack_stream() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        // NoAck suppresses acks even when there is a reply subject.
        js.add_stream(json!({"name": "foo", "storage": storage, "no_ack": true}))
            .unwrap();
        let r = js
            .conn
            .request("foo", &[], b"Hello World!", Duration::from_millis(25));
        assert_eq!(
            r.err(),
            Some(ported::jetstream::RequestError::Timeout),
            "Expected a timeout error and no response with acks suppressed"
        );
        assert_eq!(js.stream_state("foo").msgs, 1, "Expected 1 message");
    }
}

port!("server/jetstream_test.go::TestJetStreamFilteredStreamNames" => filtered_stream_names);
fn filtered_stream_names() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut snid = 0;
    let mut create_stream = |js: &mut JsClient, subjects: &[&str]| {
        snid += 1;
        js.add_stream(json!({"name": format!("S-{snid}"), "subjects": subjects}))
            .unwrap();
    };
    create_stream(&mut js, &["foo"]); // S1
    create_stream(&mut js, &["bar"]); // S2
    create_stream(&mut js, &["baz"]); // S3
    create_stream(&mut js, &["foo.*", "bar.*"]); // S4
    create_stream(&mut js, &["foo-1.22", "bar-1.33"]); // S5

    let mut expect_streams = |filter: &str, streams: &[&str]| {
        let got = js.stream_names(Some(filter));
        assert_eq!(
            got.len(),
            streams.len(),
            "{filter}: Expected {} results, got {got:?}",
            streams.len()
        );
    };
    expect_streams("foo", &["S1"]);
    expect_streams("bar", &["S2"]);
    expect_streams("baz", &["S3"]);
    expect_streams("*", &["S1", "S2", "S3"]);
    expect_streams(">", &["S1", "S2", "S3", "S4", "S5"]);
    expect_streams("*.*", &["S4", "S5"]);
    expect_streams("*.22", &["S4", "S5"]);
}

port!("server/jetstream_test.go::TestJetStreamInfoAPIWithHeaders" => info_api_with_headers);
fn info_api_with_headers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let resp = js
        .conn
        .request(
            "$JS.API.INFO",
            &[("Accept-Encoding", "json"), ("Authorization", "s3cr3t")],
            b"HELLO-JS!",
            Duration::from_secs(1),
        )
        .unwrap();
    let info: Value = serde_json::from_slice(&resp.payload).unwrap();
    assert!(info.get("error").is_none(), "Received an error: {info}");
}

port!("server/jetstream_test.go::TestJetStreamDefaultMaxMsgsPer" => default_max_msgs_per);
fn default_max_msgs_per() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let si = js
        .add_stream(json!({
            "name": "TEST", "subjects": ["foo.*"], "storage": "memory", "max_msgs": 10,
        }))
        .unwrap();
    assert_eq!(
        si["config"]["max_msgs_per_subject"],
        json!(-1),
        "Expected default of -1"
    );
}

port!("server/jetstream_test.go::TestJetStreamLongStreamNamesAndPubAck" => long_stream_names_and_pub_ack);
fn long_stream_names_and_pub_ack() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let name = &"ZABC".repeat(256 / 4)[..255];
    js.add_stream(json!({"name": name, "subjects": ["foo"]}))
        .unwrap();
    let _ = js.publish("foo", &[], b"HELLO");
}

port!("server/jetstream_test.go::TestJetStreamStreamSubjectsOverlap" => stream_subjects_overlap);
fn stream_subjects_overlap() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let err = js
        .add_stream(json!({"name": "TEST", "subjects": ["foo.*", "foo.A"]}))
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");

    js.add_stream(json!({"name": "TEST", "subjects": ["foo.*"]}))
        .unwrap();

    let err = js
        .update_stream(json!({"name": "TEST", "subjects": ["foo.*", "foo.A"]}))
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");

    let err = js
        .update_stream(json!({"name": "TEST", "subjects": ["foo.bar.*", "foo.*.bar"]}))
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
}

port!("server/jetstream_test.go::TestJetStreamStreamUpdateSubjectsOverlapOthers" => stream_update_subjects_overlap_others);
fn stream_update_subjects_overlap_others() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["TEST"]}))
        .unwrap();
    js.update_stream(json!({"name": "TEST", "subjects": ["TEST", "foo.a"]}))
        .unwrap();
    js.add_stream(json!({"name": "TEST2", "subjects": ["TEST2"]}))
        .unwrap();
    // foo.* overlaps foo.a of TEST.
    let err = js
        .update_stream(json!({"name": "TEST2", "subjects": ["TEST2", "foo.*"]}))
        .unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
}

port!("server/jetstream_test.go::TestJetStreamNegativeDupeWindow" => negative_dupe_window);
fn negative_dupe_window() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    // A negative duplicate window must be refused (nats.go sends every field).
    let err = js
        .add_stream(json!({
            "name": "TEST", "subjects": null, "retention": "workqueue", "max_consumers": 1,
            "max_msgs": -1, "max_bytes": -1, "discard": "new", "max_age": 0,
            "duplicate_window": -1, "max_msgs_per_subject": -1, "max_msg_size": -1,
            "storage": "file", "num_replicas": 1, "no_ack": false,
        }))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nats: duplicates window can not be negative",
        "Expected dupe window error"
    );
}

port!("server/jetstream_test.go::TestJetStreamRecoverSealedAfterServerRestart" => recover_sealed_after_server_restart);
fn recover_sealed_after_server_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "foo"})).unwrap();
    let msgs: Vec<(&str, &[u8])> = (0..100).map(|_| ("foo", &b"OK"[..])).collect();
    js.publish_async(&msgs);
    js.update_stream(json!({"name": "foo", "sealed": true}))
        .unwrap();
    drop(js);

    s.restart();
    let mut js = s.client();
    let si = js.stream_info("foo", None).unwrap();
    assert_eq!(StreamState::of(&si).msgs, 100);
}

port!("server/jetstream_test.go::TestJetStreamMessagePerSubjectKeepBug" => message_per_subject_keep_bug);
fn message_per_subject_keep_bug() {
    for storage in ["file", "memory"] {
        for keep in [10u64, 1] {
            let s = run_basic_jetstream_server();
            let mut js = s.client();
            js.add_stream(json!({
                "name": "TEST", "max_msgs_per_subject": keep, "storage": storage,
            }))
            .unwrap();
            for i in 0..100 {
                js.publish("TEST", &[], format!("test {i}").as_bytes())
                    .unwrap();
            }
            let nfo = js.stream_info("TEST", None).unwrap();
            assert_eq!(
                StreamState::of(&nfo).msgs,
                keep,
                "{storage}: Expected {keep} message"
            );
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamLimitLockBug" => limit_lock_bug);
fn limit_lock_bug() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "retention": "limits", "max_msgs": 10, "storage": storage,
            "num_replicas": 1,
        }))
        .unwrap();
        for _ in 0..100 {
            send_stream_msg(&mut js, "foo", "ok");
        }
        assert_eq!(js.stream_state("foo").msgs, 10, "Expected 10 messages");
    }
}

port!("server/jetstream_test.go::TestJetStreamMaxMsgsPerSubject" => max_msgs_per_subject);
fn max_msgs_per_subject() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo", "bar", "baz.*"], "storage": storage,
            "max_msgs_per_subject": 5,
        }))
        .unwrap();

        let pub_and_check = |js: &mut JsClient, subj: &str, num: usize, expected: u64| {
            for _ in 0..num {
                js.publish(subj, &[], b"TSLA")
                    .unwrap_or_else(|e| panic!("Unexpected publish error: {e:?}"));
            }
            let si = js.stream_info("TEST", None).unwrap();
            assert_eq!(StreamState::of(&si).msgs, expected, "{storage}: {subj}");
        };
        pub_and_check(&mut js, "foo", 1, 1);
        pub_and_check(&mut js, "foo", 4, 5);
        // The per-subject limit kicks in.
        pub_and_check(&mut js, "foo", 2, 5);
        pub_and_check(&mut js, "baz.22", 5, 10);
        pub_and_check(&mut js, "baz.33", 5, 15);
        // Maxed: the totals stay whatever is added.
        pub_and_check(&mut js, "baz.22", 5, 15);
        pub_and_check(&mut js, "baz.33", 5, 15);

        // Purge and all is still good.
        js.purge_stream("TEST", None).unwrap();
        pub_and_check(&mut js, "foo", 1, 1);
        pub_and_check(&mut js, "foo", 4, 5);
        pub_and_check(&mut js, "baz.22", 5, 10);
        pub_and_check(&mut js, "baz.33", 5, 15);
    }
}

port!("server/jetstream_test.go::TestJetStreamMaxMsgsPerSubjectWithDiscardNew" => max_msgs_per_subject_with_discard_new);
fn max_msgs_per_subject_with_discard_new() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo", "bar", "baz", "x"], "discard": "new",
            "storage": storage, "max_msgs_per_subject": 4, "max_msgs": 10, "max_bytes": 500,
        }))
        .unwrap();

        let pub_and_check = |js: &mut JsClient, subj: &str, num: usize, expected: u64| {
            for _ in 0..num {
                js.publish(subj, &[], b"TSLA").unwrap();
            }
            let si = js.stream_info("TEST", None).unwrap();
            assert_eq!(StreamState::of(&si).msgs, expected, "{storage}: {subj}");
        };
        let pub_expect_err = |js: &mut JsClient, subj: &str, sz: usize| {
            let err = js.publish(subj, &[], &vec![b'X'; sz]).unwrap_err().api();
            ported::jetstream::require_error(
                &err.to_string(),
                &[
                    "nats: maximum bytes exceeded",
                    "nats: maximum messages exceeded",
                ],
            );
        };

        pub_and_check(&mut js, "foo", 1, 1);
        // Treated as DiscardOld per subject: only 4 after.
        pub_and_check(&mut js, "foo", 4, 4);
        // 4 foo and 4 bar, 8 in all.
        pub_and_check(&mut js, "bar", 8, 8);
        // Room for 2 more: a new subject is accepted.
        pub_and_check(&mut js, "baz", 2, 10);
        // Full (foo 4, bar 4, baz 2), but foo and bar are at their max, so adding there
        // keeps the total.
        pub_and_check(&mut js, "foo", 1, 10);
        pub_and_check(&mut js, "bar", 1, 10);
        // A large message on bar would exceed the 500 bytes: what it replaces is too small.
        pub_expect_err(&mut js, "bar", 300);
        // A new subject fails on the message limit even with bytes to spare.
        pub_expect_err(&mut js, "x", 2);
    }
}

port!("server/jetstream_test.go::TestJetStreamUpdateStream" => update_stream);
fn update_stream() {
    for (_, storage) in STORAGES {
        let mut s = run_basic_jetstream_server();
        let mut js = s.client();
        let mconfig = json!({
            "name": "foo", "retention": "limits", "max_age": HOUR, "storage": storage,
            "num_replicas": 1,
        });
        js.add_stream(mconfig.clone()).unwrap();

        // Basic updates: subjects, limits and no_ack may change.

        // The name can not change: through the API the request names its stream in the
        // subject, and a config naming another is refused.
        let mut cfg = mconfig.clone();
        cfg["name"] = json!("bar");
        let resp = js.request("$JS.API.STREAM.UPDATE.foo", Some(&cfg));
        let err =
            ported::jetstream::api_result(resp).expect_err("Expected error trying to update name");
        assert_eq!(err.err_code, 10056, "{err:?}");
        // Storage types can not change.
        let mut cfg = mconfig.clone();
        cfg["storage"] = json!(if storage == "file" { "memory" } else { "file" });
        let err = js
            .update_stream(cfg)
            .expect_err("Expected error trying to change Storage");
        assert!(err.description.contains("can not change"), "{err:?}");
        // No more than the maximum replicas.
        let mut cfg = mconfig.clone();
        cfg["num_replicas"] = json!(10);
        let err = js
            .update_stream(cfg)
            .expect_err("Expected error trying to change Replicas");
        assert!(err.description.contains("maximum replicas"), "{err:?}");
        // The retention policy can not change.
        let mut cfg = mconfig.clone();
        cfg["retention"] = json!("workqueue");
        let err = js
            .update_stream(cfg)
            .expect_err("Expected error trying to change Retention");
        assert!(err.description.contains("can not change"), "{err:?}");

        // Now the limits.
        let pending = 100u64;
        for _ in 0..pending {
            send_stream_msg(&mut js, "foo", "0123456789");
        }
        let pending_bytes = js.stream_state("foo").bytes;
        let check_pending = |js: &mut JsClient, msgs: u64, bts: u64| {
            let state = js.stream_state("foo");
            assert_eq!(state.msgs, msgs, "{storage}: messages");
            assert_eq!(state.bytes, bts, "{storage}: bytes");
        };
        check_pending(&mut js, pending, pending_bytes);

        let update = |js: &mut JsClient, key: &str, value: Value| {
            let mut cfg = mconfig.clone();
            cfg[key] = value.clone();
            let si = js.update_stream(cfg).unwrap();
            assert_eq!(
                si["config"][key], value,
                "Expected the change of {key} to take effect"
            );
            let si = js.stream_info("foo", None).unwrap();
            assert_eq!(si["config"][key], value, "{key} in force");
        };
        // More messages.
        update(&mut js, "max_msgs", json!(pending * 2));
        check_pending(&mut js, pending, pending_bytes);
        // Fewer messages.
        update(&mut js, "max_msgs", json!(pending / 2));
        check_pending(&mut js, pending / 2, pending_bytes / 2);
        // Bytes.
        update(&mut js, "max_bytes", json!(pending_bytes / 4));
        check_pending(&mut js, pending / 4, pending_bytes / 4);
        // Age: everything expires.
        update(&mut js, "max_age", json!(SECOND));
        ported::jetstream::check_for(Duration::from_secs(4), Duration::from_millis(50), || {
            let st = js.stream_state("foo");
            if (st.msgs, st.bytes) == (0, 0) {
                Ok(())
            } else {
                Err(format!("{storage}: {} msgs left", st.msgs))
            }
        });
        check_pending(&mut js, 0, 0);

        // Back to the original.
        js.update_stream(mconfig.clone()).unwrap();
        for _ in 0..pending {
            send_stream_msg(&mut js, "foo", "0123456789");
        }

        // Subject changes: add one.
        let mut cfg = mconfig.clone();
        cfg["subjects"] = json!(["foo", "bar"]);
        js.update_stream(cfg.clone()).unwrap();
        send_stream_msg(&mut js, "foo", "0123456789");
        send_stream_msg(&mut js, "bar", "0123456789");
        // Then both go, for baz only.
        cfg["subjects"] = json!(["baz"]);
        js.update_stream(cfg).unwrap();
        for subj in ["foo", "bar"] {
            let r = js.conn.request(subj, &[], b"", Duration::from_millis(25));
            assert!(
                r.is_err(),
                "Expected no response from jetstream for deleted subject: {subj}"
            );
        }
        send_stream_msg(&mut js, "baz", "0123456789");
        assert_eq!(js.stream_state("foo").msgs, pending + 3);

        // A file store keeps its config across a restart.
        if storage == "file" {
            let mut cfg = mconfig.clone();
            cfg["subjects"] = json!(["foo", "bar"]);
            cfg["max_msgs"] = json!(2222);
            cfg["max_bytes"] = json!(3333333);
            cfg["max_age"] = json!(22 * HOUR);
            js.update_stream(cfg).unwrap();
            // As the server filled it in.
            let cfg = js.stream_info("foo", None).unwrap()["config"].clone();
            drop(js);
            s.restart();
            let mut js = s.client();
            let restored = js
                .stream_info("foo", None)
                .expect("Expected to find the stream")["config"]
                .clone();
            assert_eq!(restored, cfg, "restored configuration does not match");
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamScheduledMessageIncompatibleSettings" => scheduled_message_incompatible_settings);
fn scheduled_message_incompatible_settings() {
    use ported::jetstream::{require_error, server_error_text};
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    // No DiscardNew.
    let err = js
        .add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": "file",
            "allow_msg_schedules": true, "discard": "new",
        }))
        .unwrap_err();
    require_error(
        &err.server_text(),
        &[&server_error_text(
            "message scheduling cannot use discard new",
            10052,
        )],
    );
    // Roll-ups are required.
    let resp = js.request(
        "$JS.API.STREAM.CREATE.TEST",
        Some(&json!({
            "name": "TEST", "subjects": ["foo"], "storage": "file",
            "allow_msg_schedules": true, "allow_rollup_hdrs": false, "pedantic": true,
        })),
    );
    assert_eq!(
        resp["type"],
        json!("io.nats.jetstream.api.v1.stream_create_response")
    );
    let err = ported::jetstream::api_result(resp).unwrap_err();
    require_error(
        &err.server_text(),
        &[&server_error_text(
            "message scheduling cannot be set if roll-ups are disabled",
            10052,
        )],
    );
}

port!("server/jetstream_test.go::TestJetStreamAllowMsgCounterIncompatibleSettings" => allow_msg_counter_incompatible_settings);
fn allow_msg_counter_incompatible_settings() {
    use ported::jetstream::{require_error, server_error_text};
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut expect = |extra: Value, text: &str| {
        let mut cfg = json!({
            "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_msg_counter": true,
        });
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let err = js.add_stream(cfg).expect_err("require error, but got none");
        require_error(&err.server_text(), &[&server_error_text(text, 10052)]);
    };
    expect(
        json!({"discard": "new"}),
        "counter stream cannot use discard new",
    );
    expect(
        json!({"allow_msg_ttl": true}),
        "counter stream cannot use message TTLs",
    );
    expect(
        json!({"allow_msg_schedules": true}),
        "counter stream cannot use message schedules",
    );
    // Only limits retention.
    for retention in ["interest", "workqueue"] {
        expect(
            json!({"retention": retention}),
            "counter stream can only use limits retention",
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamAddStreamCanonicalNames" => add_stream_canonical_names);
fn add_stream_canonical_names() {
    use natsd::jetstream::api::errors::STREAM_INVALID_CONFIG;
    use natsd::jetstream::api::types::StreamConfig;
    use natsd::jetstream::stream_config::{check_stream_config, ServerLimits};
    // Go calls acc.addStream, whose config check refuses these names; through the API
    // most of them cannot even be put in a request subject, so this asks the same check
    // the create request runs.
    let s = run_basic_jetstream_server();
    let limits = ServerLimits {
        duplicates: 0,
        max_payload: i64::from(s.shared().opts().max_payload),
    };
    for name in ["foo.bar", "foo.bar.", "foo.*", "foo.>", "*", ">", "*>"] {
        let cfg = StreamConfig {
            name: name.to_string(),
            ..Default::default()
        };
        let err =
            check_stream_config(&cfg, &limits, false).expect_err("Expected error but got none");
        assert!(err.is(STREAM_INVALID_CONFIG), "{name}: {err:?}");
    }
}

port!("server/jetstream_test.go::TestJetStreamUpgradeStreamVersioning" => upgrade_stream_versioning);
fn upgrade_stream_versioning() {
    use natsd::jetstream::api::types::StreamConfig;
    use natsd::jetstream::stream_config::{
        check_stream_config_in, set_static_stream_metadata, with_dynamic_stream_metadata,
        ServerLimits, REQUIRED_LEVEL_METADATA_KEY, SERVER_LEVEL_METADATA_KEY,
        SERVER_VERSION_METADATA_KEY,
    };
    // The stream's tasks run on this runtime (the server's own is not reachable from
    // here); it outlives the server, which stops the stream at shutdown.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let s = run_basic_jetstream_server();
    let mut js = s.client();

    // A stream made as a server before versioning did: straight into the account, with
    // its configuration checked but no versioning metadata (Go's checkStreamCfg and
    // acc.addStream).
    let server = s.shared().clone();
    let jetstream = server.jetstream().expect("JetStream is on");
    let jsa = jetstream
        .account("$G")
        .expect("the global account has JetStream");
    let cfg = check_stream_config_in(
        &StreamConfig {
            name: "TEST".into(),
            subjects: vec!["foo".into()],
            ..Default::default()
        },
        &ServerLimits::default(),
        false,
        jsa.as_ref(),
    )
    .unwrap_or_else(|e| panic!("checkStreamCfg: {e:?}"));
    let mset = {
        let _runtime = rt.enter();
        jetstream.create_stream(&server, &jsa, cfg).unwrap()
    };
    assert!(mset.config().metadata.is_empty());

    // create: a create from a versioning server (with the metadata it would send) is
    // idempotent with the earlier one.
    let mut mcfg = StreamConfig::default();
    set_static_stream_metadata(&mut mcfg);
    let metadata = with_dynamic_stream_metadata(&mcfg).metadata;
    assert!(metadata.contains_key(REQUIRED_LEVEL_METADATA_KEY));
    let si = js
        .add_stream(json!({"name": "TEST", "subjects": ["foo"], "metadata": metadata}))
        .unwrap();
    let mut got = si["config"]["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    // Go's deleteDynamicMetadata.
    got.remove(SERVER_VERSION_METADATA_KEY);
    got.remove(SERVER_LEVEL_METADATA_KEY);
    assert_eq!(got.len(), 0, "metadata left: {got:?}");

    // update: an update fills in the versioning metadata.
    let si = js
        .update_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let got = si["config"]["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(got.len(), 3, "metadata: {got:?}");
}

port!("server/jetstream_test.go::TestJetStreamSimpleFileRecovery" => simple_file_recovery);
fn simple_file_recovery() {
    use super::consumer_support::{next_seq, worker_mode_config, Rng};
    use std::collections::BTreeMap;
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut rng = Rng::new();
    let mut next_subject = 0u64;
    let mut random_subject = || {
        next_subject += 1;
        format!("SUBJ.{:X}{next_subject}", rng.below(u64::MAX))
    };
    let mut rng = Rng::new();

    /// A stream's config, its state and (durable, acked) of each consumer.
    type Saved = (Value, Value, Vec<(String, u64)>);
    let mut ostate: BTreeMap<String, Saved> = BTreeMap::new();
    for i in 1..=10u64 {
        let name = format!("MMS-{i}");
        let subjects = [random_subject(), random_subject(), random_subject()];
        js.add_stream(
            json!({"name": name, "storage": "file", "subjects": subjects,
            "max_msgs": 100}),
        )
        .unwrap_or_else(|e| panic!("Unexpected error adding stream {name:?}: {e}"));
        let to_send = rng.below(100) + 1;
        for n in 1..=to_send {
            let subject = &subjects[rng.below(3) as usize];
            send_stream_msg(&mut js, subject, &format!("Hello {}", n * i));
        }
        let mut obs = Vec::new();
        for n in 1..=rng.below(5) + 1 {
            let oname = format!("WQ-{i}-{n}");
            js.add_consumer(&name, worker_mode_config(&oname)).unwrap();
            // Take some messages, acking each.
            let to_receive = rng.below(to_send) + 1;
            let next = ported::jetstream::next_subject(&name, &oname);
            for _ in 0..to_receive {
                let m = js
                    .conn
                    .request(&next, &[], b"", ACK_WAIT)
                    .unwrap_or_else(|e| panic!("no message from {oname}: {e:?}"));
                js.conn.publish(&m.reply, b"");
            }
            obs.push((oname, to_receive));
        }
        js.conn.flush();
        let si = js.stream_info(&name, None).unwrap();
        ostate.insert(name, (si["config"].clone(), si["state"].clone(), obs));
    }
    // The account's usage, less its API counts (the API served this test's requests).
    let usage = |js: &mut JsClient| {
        let mut info = js.account_info().unwrap();
        info.as_object_mut().unwrap().remove("api");
        info
    };
    let pusage = usage(&mut js);
    drop(js);

    // Shut down: nothing of the server keeps running (Go allows 3 goroutines of runtime
    // noise; natsd's tasks all run on the server's own runtime).
    s.background().server.shutdown();
    ported::jetstream::check_for(
        Duration::from_secs(2),
        Duration::from_millis(200),
        || match s.background().alive_tasks() {
            n if n <= 3 => Ok(()),
            n => Err(format!("{n} tasks still exist post Shutdown()")),
        },
    );

    s.restart();
    let mut js = s.client();
    let nusage = usage(&mut js);
    assert_eq!(nusage, pusage, "Usage does not match after restore");
    for (name, (cfg, state, obs)) in &ostate {
        let si = js
            .stream_info(name, None)
            .unwrap_or_else(|e| panic!("Expected to find a stream for {name:?}: {e}"));
        assert_eq!(&si["state"], state, "State does not match");
        assert_eq!(&si["config"], cfg, "Configs do not match");
        let consumers = js.consumer_names(name).unwrap();
        assert_eq!(
            consumers.len(),
            obs.len(),
            "Number of consumers do not match"
        );
        for (oname, acked) in obs {
            assert_eq!(
                next_seq(&mut js, name, oname),
                acked + 1,
                "Consumer next seq is not correct"
            );
        }
    }
}
