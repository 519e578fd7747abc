//! Consumers with several filters or with filters in the create subject, roll-ups and
//! purges seen by consumers, interest streams cleaned up when a consumer's state says
//! the messages were acknowledged.

use super::*;
use ported::jetstream::{
    new_inbox, run_basic_jetstream_server, run_jetstream_server_with_conf, JsClient, RequestError,
};
use ported::port;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamInterestRetentionBug" => interest_retention_bug);
fn interest_retention_bug() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"], "retention": "interest"}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "c1", "ack_policy": "explicit"}),
    )
    .unwrap();
    let test = |js: &mut JsClient, token: &str, fseq: u64, msgs: u64| {
        js.publish(&format!("foo.{token}"), &[], b"").unwrap();
        let st = js.stream_state("TEST");
        assert_eq!(st.first_seq, fseq, "Expected first to be {fseq}");
        assert_eq!(st.msgs, msgs, "Expected msgs to be {msgs}");
    };
    test(&mut js, "bar", 1, 1);
    // A second consumer, filtered.
    js.add_consumer(
        "TEST",
        json!({"durable_name": "c2", "filter_subject": "foo.foo", "ack_policy": "explicit"}),
    )
    .unwrap();
    test(&mut js, "bar", 1, 2);
}

port!("server/jetstream_test.go::TestJetStreamSubjectBasedFilteredConsumers" => subject_based_filtered_consumers);
fn subject_based_filtered_consumers() {
    // Go connects as u/p; the same user is the default one here.
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"listen: 127.0.0.1:-1
jetstream: {{max_mem_store: 64GB, max_file_store: 10TB, store_dir: {:?}}}
accounts: {{
    A: {{
        jetstream: enabled
        users: [ {{
            user: u,
            password: p
            permissions {{
                publish {{
                    allow: [
                        'ID.>',
                        '$JS.API.INFO',
                        '$JS.API.STREAM.>',
                        '$JS.API.CONSUMER.INFO.>',
                        '$JS.API.CONSUMER.CREATE.TEST.VIN-xxx.ID.foo.>',
                    ]
                    deny: [ '$JS.API.CONSUMER.CREATE.*', '$JS.API.CONSUMER.DURABLE.CREATE.*.*']
                }}
            }}
        }} ]
    }},
}}
no_auth_user: u
"#,
            dir.display().to_string()
        )
    });
    let mut js = s.client();
    // Go's client has an error handler that ignores the permission violations.
    js.conn.keep_errors = true;
    js.add_stream(json!({"name": "TEST", "subjects": ["ID.*.*"]}))
        .unwrap();
    for i in 0..100 {
        let _ = js.publish(&format!("ID.foo.{}", i * 3), &[], b"");
        let _ = js.publish(&format!("ID.bar.{}", i * 3 + 1), &[], b"");
        let _ = js.publish(&format!("ID.baz.{}", i * 3 + 2), &[], b"");
    }
    assert_eq!(js.stream_state("TEST").msgs, 300);

    // nats.go's SubscribeSync with a 200ms wait: the create on a name of its own (and
    // for the durable after its info lookup) is not allowed, so nobody answers.
    let short = Duration::from_millis(200);
    let create = |js: &mut JsClient, name: &str, cfg: Value| {
        let subject = format!("$JS.API.CONSUMER.CREATE.TEST.{name}.ID.foo.*");
        let req = json!({"stream_name": "TEST", "config": cfg}).to_string();
        js.conn.request(&subject, &[], req.as_bytes(), short)
    };
    assert_eq!(
        js.stream_name_by_subject("ID.foo.*").as_deref(),
        Some("TEST")
    );
    let push = json!({
        "deliver_subject": new_inbox(), "filter_subject": "ID.foo.*", "deliver_policy": "all",
        "ack_policy": "explicit", "replay_policy": "instant",
    });
    assert_eq!(
        create(&mut js, &ported::jetstream::new_name(), push.clone()).err(),
        Some(RequestError::Timeout)
    );
    let info = js.consumer_info("TEST", "dlc").unwrap_err();
    assert_eq!(info.err_code, 10014);
    let mut durable = push;
    durable["durable_name"] = json!("dlc");
    assert_eq!(
        create(&mut js, "dlc", durable).err(),
        Some(RequestError::Timeout)
    );

    // The filtered create subject is allowed.
    let cfg =
        json!({"deliver_policy": "last", "filter_subject": "ID.foo.*", "ack_policy": "explicit"});
    let req = json!({"stream_name": "TEST", "config": cfg}).to_string();
    let resp = js
        .conn
        .request(
            "$JS.API.CONSUMER.CREATE.TEST.VIN-xxx.ID.foo.*",
            &[],
            req.as_bytes(),
            Duration::from_millis(500),
        )
        .unwrap();
    let cc: Value = serde_json::from_slice(&resp.payload).unwrap();
    assert!(cc.get("error").is_none(), "Unexpected error: {cc}");
    // An ephemeral under the name asked for, with the default inactive threshold.
    assert_eq!(cc["name"], "VIN-xxx", "Did not get correct name");
    assert!(
        cc["config"]["inactive_threshold"].as_i64().unwrap_or(0) != 0,
        "Expected default inactive threshold to be set"
    );
    // Another name is not allowed.
    assert_eq!(
        js.conn
            .request(
                "$JS.API.CONSUMER.CREATE.TEST.VIN-zzz.ID.foo.*",
                &[],
                req.as_bytes(),
                Duration::from_millis(500),
            )
            .err(),
        Some(RequestError::Timeout)
    );
    // The filter in the config must be the subject's.
    let cfg =
        json!({"deliver_policy": "last", "filter_subject": "ID.bar.*", "ack_policy": "explicit"});
    let req = json!({"stream_name": "TEST", "config": cfg}).to_string();
    let resp = js
        .conn
        .request(
            "$JS.API.CONSUMER.CREATE.TEST.VIN-xxx.ID.foo.*",
            &[],
            req.as_bytes(),
            Duration::from_millis(500),
        )
        .unwrap();
    let cc: Value = serde_json::from_slice(&resp.payload).unwrap();
    assert_eq!(cc["error"]["err_code"], 10131, "{cc}");
    // And ID.bar in the subject is not allowed.
    assert_eq!(
        js.conn
            .request(
                "$JS.API.CONSUMER.CREATE.TEST.VIN-xxx.ID.bar.*",
                &[],
                req.as_bytes(),
                Duration::from_millis(500),
            )
            .err(),
        Some(RequestError::Timeout)
    );
}

port!("server/jetstream_test.go::TestJetStreamDanglingMessageAutoCleanup" => dangling_message_auto_cleanup);
fn dangling_message_auto_cleanup() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "retention": "interest"}))
        .unwrap();
    let mut sub = js
        .pull_subscribe("foo", "dlc", json!({"max_ack_pending": 10}))
        .unwrap();
    for _ in 0..100 {
        send_stream_msg(&mut js, "foo", "msg");
    }
    for m in js.fetch_msgs(&mut sub, 10, Duration::from_secs(1)) {
        js.ack_sync(&m);
    }
    assert_eq!(js.cinfo("TEST", "dlc").ack_floor.stream, 10);
    drop(js);
    s.shutdown();

    // Move the ack floor by hand to 90 to leave messages dangling.
    let cstore = s
        .store_dir()
        .join("jetstream/$G/streams/TEST/obs/dlc/o.dat");
    let buf = std::fs::read(&cstore).unwrap();
    let mut state = natsd_store::decode_consumer_state(&buf).unwrap();
    state.delivered.stream = 90;
    state.delivered.consumer = 90;
    state.ack_floor.stream = 90;
    state.ack_floor.consumer = 90;
    let now = ported::jetstream::now_nanos() as i64;
    std::fs::write(&cstore, natsd_store::encode_consumer_state(&state, now)).unwrap();

    s.restart();
    let mut js = s.client();
    let msgs = js.stream_state("TEST").msgs;
    assert_eq!(
        msgs, 10,
        "Expected auto-cleanup to have worked but got {msgs} msgs vs 10"
    );
}

port!("server/jetstream_test.go::TestJetStreamServerCrashOnPullConsumerDeleteWithInactiveThresholdAfterAck" => server_crash_on_pull_consumer_delete_with_inactive_threshold_after_ack);
fn server_crash_on_pull_consumer_delete_with_inactive_threshold_after_ack() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    send_stream_msg(&mut js, "foo", "msg");
    let mut sub = js
        .pull_subscribe("foo", "dlc", json!({"inactive_threshold": 10 * SECOND}))
        .unwrap();
    let msgs = js.fetch_msgs(&mut sub, 1, Duration::from_secs(1));
    assert_eq!(msgs.len(), 1);
    js.ack(&msgs[0]);
    js.delete_consumer("TEST", "dlc").unwrap();
    // The server still answers.
    js.stream_info("TEST", None).unwrap();
}

/// Go's `createConsumer`: a durable create request by hand; the JSON answer.
fn create_consumer(js: &mut JsClient, stream: &str, config: Value) -> Value {
    let durable = config["durable_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let req = json!({"stream_name": stream, "config": config});
    js.request(
        &format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}"),
        Some(&req),
    )
}

port!("server/jetstream_test.go::TestJetStreamBothFiltersSet" => both_filters_set);
fn both_filters_set() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "deliver", "subjects": ["events.>"]}))
        .unwrap();
    let resp = create_consumer(
        &mut js,
        "deliver",
        json!({
            "filter_subjects": ["events.one", "events.two"],
            "filter_subject": "events.three",
            "durable_name": "name",
        }),
    );
    assert_eq!(resp["error"]["err_code"], 10136, "{resp}");
}

port!("server/jetstream_test.go::TestJetStreamMultipleSubjectsPushBasic" => multiple_subjects_push_basic);
fn multiple_subjects_push_basic() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "deliver", "subjects": ["events", "data", "other"]}))
        .unwrap();
    js.add_consumer(
        "deliver",
        json!({"filter_subjects": ["events", "data"], "durable_name": "name", "deliver_subject": "push"}),
    )
    .unwrap();
    let sid = js.conn.subscribe("push");
    for (subj, msg) in [
        ("other", "10"),
        ("events", "0"),
        ("data", "1"),
        ("events", "2"),
        ("events", "3"),
        ("other", "10"),
        ("data", "4"),
        ("data", "5"),
    ] {
        send_stream_msg(&mut js, subj, msg);
    }
    for i in 0..6 {
        let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
        assert_eq!(m.payload, i.to_string().as_bytes(), "bad sequence");
    }
    let info = js.cinfo("deliver", "name");
    assert_eq!(info.ack_floor.consumer, 6);
    assert_eq!(info.ack_floor.stream, 8);
}

port!("server/jetstream_test.go::TestJetStreamMultipleSubjectsBasic" => multiple_subjects_basic);
fn multiple_subjects_basic() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "deliver", "subjects": ["events", "data", "other"]}))
        .unwrap();
    js.add_consumer(
        "deliver",
        json!({"filter_subjects": ["events", "data"], "durable_name": "name"}),
    )
    .unwrap();
    for (subj, msg) in [
        ("other", "10"),
        ("events", "0"),
        ("data", "1"),
        ("events", "2"),
        ("events", "3"),
        ("other", "10"),
        ("data", "4"),
        ("data", "5"),
    ] {
        send_stream_msg(&mut js, subj, msg);
    }
    let mut sub = js.pull_bind("deliver", "name");
    let msgs = js.fetch(&mut sub, 6, Duration::from_secs(5)).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.payload, i.to_string().as_bytes(), "bad sequence");
    }
    js.consumer_info("deliver", "name").unwrap();
}

port!("server/jetstream_test.go::TestJetStreamRollup" => rollup);
fn rollup() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let _ = js.add_stream(json!({"name": "S", "subjects": ["S.*"], "allow_rollup_hdrs": true}));
    for i in 1..=10 {
        send_stream_msg(&mut js, "S.A", &i.to_string());
        send_stream_msg(&mut js, "S.B", &i.to_string());
    }
    assert_eq!(js.stream_state("S").msgs, 20);
    let ci = js
        .add_consumer(
            "S",
            json!({"durable_name": "DUR-A", "filter_subject": "S.A", "ack_policy": "explicit"}),
        )
        .unwrap();
    assert_eq!(ci.num_pending, 10);
    js.publish("S.A", &[("Nats-Rollup", "sub")], b"").unwrap();
    assert_eq!(js.cinfo("S", "DUR-A").num_pending, 1);
    assert_eq!(js.stream_state("S").msgs, 11);
    let ci = js
        .add_consumer(
            "S",
            json!({"durable_name": "DUR-B", "filter_subject": "S.B", "ack_policy": "explicit"}),
        )
        .unwrap();
    assert_eq!(ci.num_pending, 10);
}

/// The consumer info numbers the purge tests compare: delivered (consumer, stream),
/// ack floor (consumer, stream), ack pending, pending, redelivered.
fn numbers(js: &mut JsClient, stream: &str, name: &str) -> [u64; 7] {
    let ci = js.cinfo(stream, name);
    [
        ci.delivered.consumer,
        ci.delivered.stream,
        ci.ack_floor.consumer,
        ci.ack_floor.stream,
        ci.num_ack_pending,
        ci.num_pending,
        ci.num_redelivered,
    ]
}

/// The acks sent before a flush are applied by the consumer's own task: waits for their
/// effect on the numbers as seen after them.
#[track_caller]
fn expect_numbers(js: &mut JsClient, want: [u64; 7]) {
    ported::jetstream::check_for(Duration::from_secs(2), Duration::from_millis(10), || {
        let n = numbers(js, "TEST", "dlc");
        if n == want {
            Ok(())
        } else {
            Err(format!("consumer numbers {n:?}, want {want:?}"))
        }
    });
}

port!("server/jetstream_test.go::TestJetStreamPartialPurgeWithAckPending" => partial_purge_with_ack_pending);
fn partial_purge_with_ack_pending() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let nmsgs = 100u64;
    for _ in 0..nmsgs {
        send_stream_msg(&mut js, "foo", "OK");
    }
    let mut sub = js
        .pull_subscribe("foo", "dlc", json!({"ack_wait": SECOND}))
        .unwrap();
    // All of them pending an ack.
    js.fetch(&mut sub, nmsgs as usize, Duration::from_secs(5))
        .unwrap();
    let keep = nmsgs / 2;
    js.purge_stream("TEST", Some(json!({"keep": keep})))
        .unwrap();
    // Due for redelivery by now.
    std::thread::sleep(Duration::from_secs(2));
    let n = numbers(&mut js, "TEST", "dlc");
    assert_eq!(
        n[2..6],
        [keep, keep, keep, 0],
        "ack floor, ack pending, pending"
    );
    for _ in 0..nmsgs {
        send_stream_msg(&mut js, "foo", "OK");
    }
    let n = numbers(&mut js, "TEST", "dlc");
    assert_eq!(n[2..7], [keep, keep, keep, nmsgs, 0]);

    let msgs = js
        .fetch(&mut sub, keep as usize, Duration::from_secs(5))
        .unwrap();
    assert_eq!(msgs.len() as u64, keep);
    let n = numbers(&mut js, "TEST", "dlc");
    assert_eq!(n, [nmsgs + keep, nmsgs, keep, keep, keep, nmsgs, keep]);
    for m in &msgs {
        js.ack(m);
    }
    js.conn.flush();
    expect_numbers(
        &mut js,
        [nmsgs + keep, nmsgs, nmsgs + keep, nmsgs, 0, nmsgs, 0],
    );

    let msgs = js
        .fetch(&mut sub, nmsgs as usize, Duration::from_secs(5))
        .unwrap();
    assert_eq!(msgs.len() as u64, nmsgs);
    for m in &msgs {
        js.ack(m);
    }
    js.conn.flush();
    expect_numbers(
        &mut js,
        [
            nmsgs * 2 + keep,
            nmsgs * 2,
            nmsgs * 2 + keep,
            nmsgs * 2,
            0,
            0,
            0,
        ],
    );
}

port!("server/jetstream_test.go::TestJetStreamPurgeWithRedeliveredPending" => purge_with_redelivered_pending);
fn purge_with_redelivered_pending() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let nmsgs = 100u64;
    for _ in 0..nmsgs {
        send_stream_msg(&mut js, "foo", "OK");
    }
    let mut sub = js
        .pull_subscribe("foo", "dlc", json!({"ack_wait": SECOND}))
        .unwrap();
    let msgs = js
        .fetch(&mut sub, nmsgs as usize, Duration::from_secs(5))
        .unwrap();
    assert_eq!(msgs.len() as u64, nmsgs);
    // Due for redelivery by now; all of them again.
    std::thread::sleep(Duration::from_secs(2));
    let msgs = js
        .fetch(&mut sub, nmsgs as usize, Duration::from_secs(5))
        .unwrap();
    assert_eq!(msgs.len() as u64, nmsgs);
    js.purge_stream("TEST", None).unwrap();
    let n = numbers(&mut js, "TEST", "dlc");
    assert_eq!(n, [2 * nmsgs, nmsgs, 2 * nmsgs, nmsgs, 0, 0, 0]);
}
