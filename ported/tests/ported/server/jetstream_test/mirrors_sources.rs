//! Mirrors and sources in the same account (natsd reads the origin's store directly; Go
//! runs an internal consumer on the origin).
//! Where Go's tests look at that internal consumer (its start sequence), the ports check
//! the same fact by what gets copied, and when.

use super::*;
use ported::jetstream::{check_for, new_inbox, run_basic_jetstream_server, ApiError, StreamState};
use ported::port;
use serde_json::json;

/// Waits until `check` accepts the state of stream `name`.
#[track_caller]
fn wait_state(
    js: &mut JsClient,
    name: &str,
    within: Duration,
    check: impl Fn(&StreamState) -> Result<(), String>,
) {
    check_for(within, Duration::from_millis(100), || {
        let st = js.stream_state(name);
        check(&st)
    });
}

/// Waits until stream `name` holds `msgs` messages.
#[track_caller]
fn wait_msgs(js: &mut JsClient, name: &str, msgs: u64, within: Duration) {
    wait_state(js, name, within, |st| {
        if st.msgs == msgs {
            Ok(())
        } else {
            Err(format!("Expected {msgs} msgs, got state: {st:?}"))
        }
    });
}

fn send_batch(js: &mut JsClient, subject: &str, n: usize) {
    for _ in 0..n {
        js.publish_ok(subject, b"OK");
    }
}

/// The origin sequence in a `Nats-Stream-Source` header (Go's `streamAndSeq`: the second
/// field, in both the current and the pre-2.10 form).
fn source_seq(header: &str) -> u64 {
    header
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

port!("server/jetstream_test.go::TestJetStreamMirrorAndSourcesFilteredConsumers" => mirror_and_sources_filtered_consumers);
fn mirror_and_sources_filtered_consumers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar", "baz.*"]}))
        .unwrap();
    js.add_stream(json!({"name": "M", "mirror": {"name": "TEST"}}))
        .unwrap();
    let dsubj = new_inbox();
    js.conn.subscribe(&dsubj);
    js.conn.flush();
    let create_consumer = |js: &mut JsClient, sn: &str, fs: &str| {
        js.add_consumer(sn, json!({"deliver_subject": dsubj, "filter_subject": fs}))
            .unwrap_or_else(|e| panic!("consumer on {sn} filtered by {fs}: {e}"));
    };
    create_consumer(&mut js, "M", "foo");
    create_consumer(&mut js, "M", "bar");
    create_consumer(&mut js, "M", "baz.foo");

    // Sources.
    js.add_stream(json!({"name": "O1", "subjects": ["foo.*"]}))
        .unwrap();
    js.add_stream(json!({"name": "O2", "subjects": ["bar.*"]}))
        .unwrap();
    js.add_stream(json!({"name": "S", "sources": [{"name": "O1"}, {"name": "O2"}]}))
        .unwrap();
    create_consumer(&mut js, "S", "foo.1");
    create_consumer(&mut js, "S", "bar.1");

    // A mirror of a mirror.
    js.add_stream(json!({"name": "M2", "mirror": {"name": "M"}}))
        .unwrap();
    create_consumer(&mut js, "M2", "foo");
    create_consumer(&mut js, "M2", "bar");
    create_consumer(&mut js, "M2", "baz.foo");
}

port!("server/jetstream_test.go::TestJetStreamMirrorBasics" => mirror_basics);
fn mirror_basics() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    // Config errors.
    let e = js
        .add_stream(json!({"name": "M1", "subjects": ["foo", "bar", "baz"],
            "mirror": {"name": "S1"}}))
        .unwrap_err();
    assert!(
        e.to_string().contains("stream mirrors can not"),
        "Expected error, got {e}"
    );
    js.add_stream(json!({"name": "S1", "subjects": ["foo", "bar", "baz"]}))
        .unwrap();
    js.add_stream(json!({"name": "M1", "mirror": {"name": "S1"}}))
        .unwrap();
    send_batch(&mut js, "foo", 100);
    wait_msgs(&mut js, "M1", 100, Duration::from_secs(5));

    // Purge the origin, then 50 more.
    js.purge_stream("S1", None).unwrap();
    send_batch(&mut js, "bar", 50);
    js.add_stream(json!({"name": "M2", "storage": "file", "mirror": {"name": "S1"}}))
        .unwrap();
    wait_state(&mut js, "M2", Duration::from_secs(5), |st| {
        if st.msgs != 50 {
            Err(format!("Expected 50 msgs, got state: {st:?}"))
        } else if st.first_seq != 101 {
            Err(format!("Expected start seq of 101, got state: {st:?}"))
        } else {
            Ok(())
        }
    });

    // 100 more: 150 in all from 101.
    send_batch(&mut js, "baz", 100);
    js.add_stream(json!({"name": "M3", "mirror": {"name": "S1", "opt_start_seq": 150}}))
        .unwrap();
    wait_state(&mut js, "M3", Duration::from_secs(5), |st| {
        if st.msgs != 101 {
            Err(format!("Expected 101 msgs, got state: {st:?}"))
        } else if st.first_seq != 150 {
            Err(format!("Expected start seq of 150, got state: {st:?}"))
        } else {
            Ok(())
        }
    });

    // A start time.
    let start =
        ported::js_context::go_time(ported::jetstream::now_nanos() - 2 * 3600 * SECOND as i128);
    js.add_stream(json!({"name": "M4", "mirror": {"name": "S1", "opt_start_time": start}}))
        .unwrap();
    wait_state(&mut js, "M4", Duration::from_secs(5), |st| {
        if st.msgs != 150 {
            Err(format!("Expected 150 msgs, got state: {st:?}"))
        } else if st.first_seq != 101 {
            Err(format!("Expected start seq of 101, got state: {st:?}"))
        } else {
            Ok(())
        }
    });

    // Subject filters and transforms: errors first.
    let create = |js: &mut JsClient, cfg: Value, err_code: u16| {
        let r = js.add_stream(cfg.clone());
        if err_code == 0 {
            r.unwrap_or_else(|e| panic!("Unexpected error: {e} for {cfg}"));
        } else {
            let e = r.expect_err("an error");
            assert_eq!(e.err_code, err_code, "Expected error {err_code}, got: {e}");
        }
    };
    let mirror = |m: Value| json!({"name": "MBAD", "storage": "file", "mirror": m});
    // JSMirrorMultipleFiltersNotAllowed.
    create(
        &mut js,
        mirror(json!({"name": "S1", "filter_subject": "foo",
            "subject_transforms": [{"src": "foo", "dest": "foo3"}]})),
        10150,
    );
    // JSMirrorInvalidSubjectFilter.
    create(
        &mut js,
        mirror(json!({"name": "S1", "subject_transforms": [{"src": ".*.", "dest": "foo3"}]})),
        10151,
    );
    // JSMirrorInvalidTransformDestination.
    create(
        &mut js,
        mirror(json!({"name": "S1",
            "subject_transforms": [{"src": "*", "dest": "{{wildcard(2)}}"}]})),
        10154,
    );
    // JSMirrorOverlappingSubjectFilters.
    create(
        &mut js,
        mirror(
            json!({"name": "S1", "subject_transforms": [{"src": "foo", "dest": ""},
            {"src": "foo", "dest": "bar"}]}),
        ),
        10152,
    );
    create(
        &mut js,
        json!({"name": "M5", "storage": "file", "mirror": {"name": "S1",
            "subject_transforms": [{"src": "foo", "dest": "foo2"}]}}),
        0,
    );
    create(
        &mut js,
        json!({"name": "M6", "storage": "file", "mirror": {"name": "S1",
            "subject_transforms": [{"src": "bar", "dest": "bar2"}, {"src": "baz", "dest": "baz2"}]}}),
        0,
    );

    // 100 on foo (50 on bar and 100 on baz are there already).
    send_batch(&mut js, "foo", 100);
    let check = |js: &mut JsClient,
                 stream: &str,
                 subject: &str,
                 on_subject: u64,
                 msgs: u64,
                 first: u64,
                 last: u64| {
        check_for(Duration::from_secs(10), Duration::from_millis(500), || {
            let si = js
                .stream_info(stream, Some(json!({"subjects_filter": subject})))
                .unwrap();
            let st = StreamState::of(&si);
            match st.subjects.get(subject) {
                None => return Err(format!("expected messages with the transformed subject {subject}")),
                Some(&n) if n != on_subject => {
                    return Err(format!(
                        "expected {on_subject} messages on the transformed subject {subject} but got {n}"
                    ))
                }
                _ => {}
            }
            if st.msgs != msgs {
                return Err(format!(
                    "expected {msgs} stream messages, got state: {st:?}"
                ));
            }
            if st.first_seq != first || st.last_seq != last {
                return Err(format!(
                    "expected first sequence={first} and last sequence={last}, but got state: {st:?}"
                ));
            }
            Ok(())
        });
    };
    check(&mut js, "M5", "foo2", 100, 100, 251, 350);
    check(&mut js, "M6", "bar2", 50, 150, 101, 250);
    check(&mut js, "M6", "baz2", 100, 150, 101, 250);
}

port!("server/jetstream_test.go::TestJetStreamMirrorStripExpectedHeaders" => mirror_strip_expected_headers);
fn mirror_strip_expected_headers() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "S", "subjects": ["foo"]}))
        .unwrap();
    js.add_stream(json!({"name": "M", "mirror": {"name": "S"}}))
        .unwrap();
    assert_eq!(js.publish("foo", &[], b"").unwrap().sequence, 1);
    wait_msgs(&mut js, "M", 1, Duration::from_secs(2));
    let ack = js
        .publish("foo", &[("Nats-Expected-Stream", "S")], b"")
        .unwrap();
    assert_eq!(ack.sequence, 2);
    // The mirror drops the expectation headers and stores the message.
    wait_msgs(&mut js, "M", 2, Duration::from_secs(2));
}

port!("server/jetstream_test.go::TestJetStreamMirrorUpdatePreventsSubjects" => mirror_update_prevents_subjects);
fn mirror_update_prevents_subjects() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ORIGINAL"})).unwrap();
    js.add_stream(json!({"name": "MIRROR", "mirror": {"name": "ORIGINAL"}}))
        .unwrap();
    let e = js
        .update_stream(json!({"name": "MIRROR", "mirror": {"name": "ORIGINAL"}, "subjects": ["x"]}))
        .unwrap_err();
    // nats.go: "nats: stream mirrors can not contain subjects".
    assert_eq!(
        e.description, "stream mirrors can not contain subjects",
        "{e}"
    );
}

port!("server/jetstream_test.go::TestJetStreamSourceBasics" => source_basics);
fn source_basics() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    // Go checks this loosely (the error text differs from the one it names).
    let e = js
        .add_stream(json!({"name": "test", "sources": [{"name": ""}]}))
        .unwrap_err();
    assert_ne!(e.description, "source stream name is invalid");

    for sname in ["foo", "bar", "baz"] {
        js.add_stream(json!({"name": sname})).unwrap();
    }
    send_batch(&mut js, "foo", 10);
    send_batch(&mut js, "bar", 15);
    send_batch(&mut js, "baz", 25);

    js.add_stream(json!({"name": "MS", "storage": "file", "sources": [
        {"name": "foo", "subject_transforms": [{"src": ">", "dest": "foo2.>"}]},
        {"name": "bar"},
        {"name": "baz"},
    ]}))
    .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    wait_msgs(&mut js, "MS", 50, Duration::from_secs(2));

    // At least one message on the transformed subject (nats.BindStream("MS")).
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.add_consumer(
        "MS",
        json!({"deliver_subject": inbox, "filter_subject": "foo2.foo",
        "deliver_policy": "all", "ack_policy": "explicit", "replay_policy": "instant"}),
    )
    .unwrap();
    assert!(js.conn.next_msg(sid, Duration::from_secs(1)).is_some());
    js.conn.unsubscribe(sid);

    // Source updates: keep foo and bar, drop baz, add dlc.
    js.update_stream(json!({"name": "MS", "storage": "file", "sources": [
        {"name": "foo"}, {"name": "bar"}, {"name": "dlc"}]}))
        .unwrap();

    // Start sequences, filters.
    js.add_stream(json!({"name": "TEST", "subjects": ["dlc", "rip", "jnm"]}))
        .unwrap();
    send_batch(&mut js, "dlc", 20);
    send_batch(&mut js, "rip", 20);
    send_batch(&mut js, "dlc", 10);
    send_batch(&mut js, "jnm", 10);

    js.add_stream(json!({"name": "FMS", "storage": "file",
        "sources": [{"name": "TEST", "opt_start_seq": 26}]}))
        .unwrap();
    wait_msgs(&mut js, "FMS", 35, Duration::from_secs(2));
    let m = js.get_msg("FMS", 1).unwrap();
    let shdr = m
        .header_value("Nats-Stream-Source")
        .expect("Expected a header, got none");
    assert_eq!(source_seq(&shdr), 26, "{shdr}");

    js.add_stream(
        json!({"name": "FMS2", "storage": "file", "sources": [{"name": "TEST",
        "opt_start_seq": 11, "subject_transforms": [{"src": "dlc", "dest": "dlc2"}]}]}),
    )
    .unwrap();
    wait_msgs(&mut js, "FMS2", 20, Duration::from_secs(2));
    let m = js.get_msg("FMS2", 1).unwrap();
    let shdr = m
        .header_value("Nats-Stream-Source")
        .expect("Expected a header, got none");
    assert_eq!(source_seq(&shdr), 11, "{shdr}");
    assert_eq!(m.subject, "dlc2");

    js.add_stream(
        json!({"name": "FMS3", "storage": "file", "sources": [{"name": "TEST",
        "subject_transforms": [{"src": "dlc", "dest": "dlc2"}, {"src": "rip", "dest": ""}]}]}),
    )
    .unwrap();
    wait_msgs(&mut js, "FMS3", 50, Duration::from_secs(2));
    let m = js.get_msg("FMS3", 1).unwrap();
    assert!(
        m.header_value("Nats-Stream-Source").is_some(),
        "Expected a header, got none"
    );
    assert_eq!(m.subject, "dlc2");
    let m = js.get_msg("FMS3", 21).unwrap();
    assert!(
        m.header_value("Nats-Stream-Source").is_some(),
        "Expected a header, got none"
    );
    assert_eq!(m.subject, "rip");
    let si = js
        .stream_info("FMS3", Some(json!({"subjects_filter": "jnm"})))
        .unwrap();
    assert_eq!(
        StreamState::of(&si)
            .subjects
            .get("jnm")
            .copied()
            .unwrap_or(0),
        0,
        "Unexpected messages from the source found"
    );

    // Pre-2.10 compatibility: a message sourced with the old header form.
    js.add_stream(json!({"name": "A", "subjects": ["B.*"],
        "subject_transform": {"src": "B.*", "dest": "A.{{Wildcard(1)}}"}}))
        .unwrap();
    send_batch(&mut js, "B.A", 1);
    send_batch(&mut js, "B.B", 1);
    js.add_stream(json!({"name": "B", "subjects": ["A.*"]}))
        .unwrap();
    js.publish("A.A", &[("Nats-Stream-Source", "A 1")], b"OK")
        .unwrap();
    js.update_stream(json!({"name": "B", "subjects": ["A.*"], "sources": [{"name": "A"}]}))
        .unwrap();
    wait_msgs(&mut js, "B", 2, Duration::from_secs(2));
}

port!("server/jetstream_test.go::TestJetStreamMirrorUpdatesNotSupported" => mirror_updates_not_supported);
fn mirror_updates_not_supported() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "SOURCE"})).unwrap();
    js.add_stream(json!({"name": "M", "mirror": {"name": "SOURCE"}}))
        .unwrap();
    // Promoting a mirror is supported.
    js.update_stream(json!({"name": "M"})).unwrap();
}

port!("server/jetstream_test.go::TestJetStreamMirrorFirstSeqNotSupported" => mirror_first_seq_not_supported);
fn mirror_first_seq_not_supported() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "SOURCE"})).unwrap();
    let e: ApiError = js
        .add_stream(json!({"name": "M", "mirror": {"name": "SOURCE"}, "first_seq": 123}))
        .unwrap_err();
    // NewJSMirrorWithFirstSeqError.
    assert_eq!((e.code, e.err_code), (400, 10143), "{e}");
    assert_eq!(
        e.description,
        "stream mirrors can not have first sequence configured"
    );
}

port!("server/jetstream_test.go::TestJetStreamSourceConfigValidation" => source_config_validation);
fn source_config_validation() {
    let s = run_basic_jetstream_server();
    let mut nc = ported::jetstream::NatsConn::connect(s.addr());
    let data = br#"{"name":"crash","retention":"limits","max_consumers":-1,"max_msgs_per_subject":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msg_size":-1,"storage":"file","discard":"old","num_replicas":1,"duplicate_window":120000000000,"sources":[null],"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"allow_direct":true,"mirror_direct":false,"consumer_limits":{}}"#;
    let resp = nc
        .request(
            "$JS.API.STREAM.CREATE.crash",
            &[],
            data,
            Duration::from_secs(2),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&resp.payload),
        r#"{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10141,"description":"sourced stream name is invalid"}}"#
    );
}

port!("server/jetstream_test.go::TestJetStreamSourceWorkingQueueWithLimit" => source_working_queue_with_limit);
fn source_working_queue_with_limit() {
    use ported::js_context::{JsContext, SubOpts};
    let s = run_basic_jetstream_server();
    let mut js = JsContext::connect(s.addr());
    js.add_stream(json!({"name": "test", "subjects": ["test"]}))
        .unwrap();
    js.add_stream(json!({
        "name": "wq", "max_msgs": 100, "discard": "new", "retention": "workqueue",
        "sources": [{"name": "test"}],
    }))
    .unwrap();
    for _ in 0..300 {
        js.publish("test", &[], b"OK").unwrap();
    }
    wait_state(&mut js, "wq", Duration::from_secs(3), |st| {
        if st.msgs == 100 {
            Ok(())
        } else {
            Err(format!("Expected 100 msgs, got state: {st:?}"))
        }
    });
    js.add_consumer(
        "wq",
        json!({"durable_name": "wqc", "filter_subject": "test", "ack_policy": "explicit"}),
    )
    .unwrap();
    // The worker takes all 300 one at a time: the source refills the queue as it drains.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let addr = s.addr();
    let worker = std::thread::spawn(move || {
        let mut w = JsContext::connect(addr);
        let mut ss = w
            .pull_subscribe("test", "wqc", SubOpts::bind("wq", "wqc"))
            .unwrap();
        for i in 0..300 {
            let msgs = match w.fetch(&mut ss, 1, Duration::from_secs(3)) {
                Ok(m) => m,
                Err(e) => {
                    let _ = done_tx.send(Err(format!("fetch {i}: {e}")));
                    return;
                }
            };
            std::thread::sleep(Duration::from_millis(11));
            w.ack(&msgs[0]);
        }
        let _ = done_tx.send(Ok(()));
    });
    check_for(Duration::from_secs(6), Duration::from_millis(100), || {
        let st = js.stream_state("wq");
        assert!(
            st.msgs <= 100,
            "Got more than our 100 message limit: {st:?}"
        );
        if st.msgs > 0 {
            return Err(format!("Expected 0 msgs, got: {}", st.msgs));
        }
        Ok(())
    });
    match done_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("Did not receive completion signal"),
    }
    worker.join().unwrap();
}

/// The source (or mirror) entries of stream `name`'s info.
fn origins_of(js: &mut JsClient, name: &str) -> Vec<Value> {
    let si = js.stream_info(name, None).unwrap();
    if let Some(m) = si.get("mirror").filter(|m| !m.is_null()) {
        return vec![m.clone()];
    }
    si["sources"].as_array().cloned().unwrap_or_default()
}

/// Go checks that the origin has one sourcing consumer whose start sequence was clipped
/// from 20 to 11 (the origin holds 10 messages). natsd copies without a consumer, so the
/// same facts are: one origin being copied, nothing copied once copying has started (it
/// starts past 10), and the origin's next message, 11, copied (it starts at 11, not
/// waiting for 20).
fn check_start_clipped_to_eleven(js: &mut JsClient, name: &str, mirror: bool) {
    check_for(Duration::from_secs(2), Duration::from_millis(50), || {
        let origins = origins_of(js, name);
        if origins.len() != 1 || origins[0]["name"] != "ORIGIN" {
            return Err(format!("expected one origin, got {origins:?}"));
        }
        // `active` is -1 until the origin has been reached.
        match origins[0]["active"].as_i64() {
            Some(a) if a >= 0 => Ok(()),
            _ => Err(format!("origin not reached yet: {:?}", origins[0])),
        }
    });
    let st = js.stream_state(name);
    assert_eq!(st.msgs, 0, "copied messages before the start: {st:?}");
    assert_eq!(js.publish_ok("test", b"").sequence, 11);
    wait_msgs(js, name, 1, Duration::from_secs(2));
    if mirror {
        let st = js.stream_state(name);
        assert_eq!((st.first_seq, st.last_seq), (11, 11), "{st:?}");
    } else {
        let m = js.get_msg(name, 1).unwrap();
        let shdr = m.header_value("Nats-Stream-Source").expect("source header");
        assert_eq!(source_seq(&shdr), 11, "{shdr}");
    }
}

port!("server/jetstream_test.go::TestJetStreamSourcingClipStartSeq" => sourcing_clip_start_seq);
fn sourcing_clip_start_seq() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ORIGIN", "subjects": ["test"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish_ok("test", b"");
    }
    js.add_stream(json!({"name": "SOURCING",
        "sources": [{"name": "ORIGIN", "opt_start_seq": 20}]}))
        .unwrap();
    check_start_clipped_to_eleven(&mut js, "SOURCING", false);
}

port!("server/jetstream_test.go::TestJetStreamMirroringClipStartSeq" => mirroring_clip_start_seq);
fn mirroring_clip_start_seq() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ORIGIN", "subjects": ["test"]}))
        .unwrap();
    for _ in 0..10 {
        js.publish_ok("test", b"");
    }
    js.add_stream(json!({"name": "MIRRORING",
        "mirror": {"name": "ORIGIN", "opt_start_seq": 20}}))
        .unwrap();
    check_start_clipped_to_eleven(&mut js, "MIRRORING", true);
}

/// Publishes on `subject` with a `Nats-Msg-Id`; the ack.
#[track_caller]
fn publish_with_id(js: &mut JsClient, subject: &str, id: &str) -> PubAck {
    js.publish(subject, &[("Nats-Msg-Id", id)], b"")
        .unwrap_or_else(|e| panic!("publish {id:?} on {subject}: {e:?}"))
}

/// The first steps of Go's `Test...WithoutDuplicateWindow`: an id is a duplicate within
/// the origin's one-second window and a new message after it.
fn publish_same_id_across_window(js: &mut JsClient) {
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "duplicate_window": SECOND}))
        .unwrap();
    let pa = publish_with_id(js, "foo", "msgId");
    assert_eq!((pa.sequence, pa.duplicate), (1, false));
    let pa = publish_with_id(js, "foo", "msgId");
    assert_eq!((pa.sequence, pa.duplicate), (1, true));
    std::thread::sleep(Duration::from_millis(1200));
    let pa = publish_with_id(js, "foo", "msgId");
    assert_eq!((pa.sequence, pa.duplicate), (2, false));
}

/// Waits until stream `name` holds exactly sequences `first..=last`.
#[track_caller]
fn wait_first_last(js: &mut JsClient, name: &str, first: u64, last: u64, within: Duration) {
    wait_state(js, name, within, |st| {
        if st.msgs == last - first + 1 && st.first_seq == first && st.last_seq == last {
            Ok(())
        } else {
            Err(format!("incorrect state: {st:?}"))
        }
    });
}

port!("server/jetstream_test.go::TestJetStreamStreamMirrorWithoutDuplicateWindow" => stream_mirror_without_duplicate_window);
fn stream_mirror_without_duplicate_window() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    publish_same_id_across_window(&mut js);
    js.add_stream(json!({"name": "M", "mirror": {"name": "TEST"}, "duplicate_window": 0}))
        .unwrap();
    wait_first_last(&mut js, "M", 1, 2, Duration::from_secs(2));
}

port!("server/jetstream_test.go::TestJetStreamStreamSourceWithoutDuplicateWindow" => stream_source_without_duplicate_window);
fn stream_source_without_duplicate_window() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    publish_same_id_across_window(&mut js);
    js.add_stream(json!({"name": "S", "sources": [{"name": "TEST"}], "duplicate_window": 0}))
        .unwrap();
    wait_first_last(&mut js, "S", 1, 2, Duration::from_secs(2));
}

port!("server/jetstream_test.go::TestJetStreamStreamMirrorIgnoresUpstreamDuplicateMsgIds" => stream_mirror_ignores_upstream_duplicate_msg_ids);
fn stream_mirror_ignores_upstream_duplicate_msg_ids() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(
        json!({"name": "TEST", "storage": "file", "subjects": ["foo"],
        "duplicate_window": 100_000_000}),
    )
    .unwrap();
    let pa = publish_with_id(&mut js, "foo", "X");
    assert_eq!((pa.sequence, pa.duplicate), (1, false));
    // The origin's window passes: the same id is a new message at 2.
    std::thread::sleep(Duration::from_millis(200));
    let pa = publish_with_id(&mut js, "foo", "X");
    assert_eq!((pa.sequence, pa.duplicate), (2, false));

    // The mirror copies both although they share an id.
    js.add_stream(
        json!({"name": "M", "storage": "file", "mirror": {"name": "TEST"},
        "duplicate_window": 120 * SECOND}),
    )
    .unwrap();
    let wait = |js: &mut JsClient, n: u64| {
        wait_state(js, "M", Duration::from_secs(2), |st| {
            if st.msgs == n && st.last_seq == n {
                Ok(())
            } else {
                Err(format!("incorrect state: {st:?}"))
            }
        })
    };
    wait(&mut js, 2);
    // And keeps going.
    assert_eq!(publish_with_id(&mut js, "foo", "Y").sequence, 3);
    wait(&mut js, 3);

    // After a restart the mirror's window is rebuilt from what it holds; still no
    // origin message is dropped as a duplicate.
    drop(js);
    s.restart();
    let mut js = s.client();
    std::thread::sleep(Duration::from_millis(200));
    let pa = publish_with_id(&mut js, "foo", "X");
    assert_eq!((pa.sequence, pa.duplicate), (4, false));
    wait(&mut js, 4);
}

port!("server/jetstream_test.go::TestJetStreamSourcingIntoDiscardNewPerSubject" => sourcing_into_discard_new_per_subject);
fn sourcing_into_discard_new_per_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "A", "subjects": ["foo.*"], "duplicate_window": 100_000_000}))
        .unwrap();
    // Created by a raw request, as Go does.
    let resp = js.request(
        "$JS.API.STREAM.CREATE.B",
        Some(
            &json!({"name": "B", "storage": "memory", "sources": [{"name": "A"}],
            "max_msgs_per_subject": 1, "discard": "new", "discard_new_per_subject": true,
            "duplicate_window": 10 * SECOND}),
        ),
    );
    assert!(resp.get("error").is_none(), "{resp}");

    let wait = |js: &mut JsClient, n: u64| {
        wait_state(js, "B", Duration::from_secs(4), |st| {
            if st.msgs == n {
                Ok(())
            } else {
                Err(format!("expected {n} messages, got {}", st.msgs))
            }
        })
    };
    let check = |js: &mut JsClient, seq: u64, subject: &str, data: &[u8]| {
        let m = js.get_msg("B", seq).unwrap();
        assert_eq!(m.subject, subject);
        assert_eq!(m.data, data);
    };

    js.publish_ok("foo.1", b"1");
    // Not sourced while the subject holds one message (discard new per subject).
    js.publish_ok("foo.1", b"2");
    wait(&mut js, 1);
    check(&mut js, 1, "foo.1", b"1");

    // Purged, the stream takes the waiting message.
    js.purge_stream("B", None).unwrap();
    wait(&mut js, 1);
    check(&mut js, 2, "foo.1", b"2");

    js.publish("foo.2", &[("Nats-Msg-Id", "1")], b"1").unwrap();
    // Copied past the refused message.
    wait(&mut js, 2);
    check(&mut js, 3, "foo.2", b"1");

    std::thread::sleep(Duration::from_millis(200));
    // A new message in A (its window passed) but a duplicate id for B: skipped.
    js.publish("foo.3", &[("Nats-Msg-Id", "1")], b"1").unwrap();
    wait(&mut js, 2);

    // And copying moves on.
    js.publish_ok("foo.4", b"1");
    wait(&mut js, 3);
    check(&mut js, 4, "foo.4", b"1");
}

port!("server/jetstream_test.go::TestJetStreamMirrorDeliverByStartTime" => mirror_deliver_by_start_time);
fn mirror_deliver_by_start_time() {
    use ported::jetstream::now_nanos;
    use ported::js_context::go_time;
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "S", "subjects": ["data.>"], "storage": storage}))
            .unwrap();

        // Seed the origin with old messages straight into its store, each at its own
        // time and sequence (Go's `StoreRawMsg`, then the stream's last sequence set):
        // natsd's `store_mirrored` does both.
        let mset = s
            .shared()
            .jetstream()
            .unwrap()
            .account("$G")
            .unwrap()
            .stream("S")
            .unwrap();
        const MINUTE: i128 = 60 * SECOND as i128;
        let month_ago = now_nanos() - 30 * 24 * 60 * MINUTE;
        let base = month_ago - month_ago.rem_euclid(MINUTE);
        let payload = bytes::Bytes::from(vec![b'A'; 64 * 1024]);
        const UNITS: u64 = 200; // matching messages
        const GAP: u64 = 20; // others between each
        let mut seq = 0;
        for i in 0..UNITS {
            seq += 1;
            let ts = (base + i128::from(i) * MINUTE) as i64;
            let stored = |subject: &str, msg: bytes::Bytes, seq: u64, ts: i64| {
                mset.store_mirrored(&natsd_store::StoreMsg {
                    subject: subject.into(),
                    hdr: bytes::Bytes::new(),
                    msg,
                    seq,
                    ts,
                })
                .unwrap();
            };
            stored("data.one", payload.clone(), seq, ts);
            for g in 0..GAP {
                seq += 1;
                let fts = ts + (g as i64 + 1) * SECOND;
                stored("data.other", bytes::Bytes::from_static(b"O"), seq, fts);
            }
        }

        // A filtered mirror backfills every matching message.
        js.add_stream(json!({"name": "M", "storage": storage,
            "mirror": {"name": "S", "filter_subject": "data.one"}}))
            .unwrap();
        check_for(Duration::from_secs(30), Duration::from_millis(100), || {
            let st = js.stream_state("M");
            if st.msgs == UNITS {
                Ok(())
            } else {
                Err(format!("mirror has {} msgs, want {UNITS}", st.msgs))
            }
        });

        // A start time about 2/3 into the data.
        let start_idx: u64 = 130;
        let start = base + i128::from(start_idx) * MINUTE;
        let info = js
            .add_consumer(
                "M",
                json!({"deliver_policy": "by_start_time", "opt_start_time": go_time(start),
                    "ack_policy": "explicit", "replay_policy": "instant"}),
            )
            .unwrap();
        let mut sub = js.pull_bind("M", &info.name);
        let msgs = js.fetch(&mut sub, 1, Duration::from_secs(1)).unwrap();
        assert_eq!(msgs.len(), 1);
        let meta = msgs[0].ack_info();
        assert_eq!(i128::from(meta.timestamp), start);
        // The mirror keeps the origin's sequences: exactly the message at the start time,
        // not a later one.
        assert_eq!(meta.stream_seq, start_idx * (GAP + 1) + 1);
    }
}
