//! More mirror and source ports: rollups and schedules copied by mirrors and sources,
//! promoting a mirror, removing and re-adding a source, work-queue sources across a
//! restart, a recovered mirror config, and source config checks. natsd reads origins in
//! the same account straight from their store (Go runs a consumer on the origin); the
//! ports check what a client sees: what gets copied, and the errors.
//!
//! Go runs the rollup, schedule and promote tests once on one server (`R1`) and once on a
//! three-server cluster (`R3`); natsd has no clustering, so the ports run the `R1` case.

use super::*;
use natsd::monitor::{self, HealthzOptions};
use ported::jetstream::consumers::FetchError;
use ported::jetstream::{
    check_for, require_error, run_basic_jetstream_server, server_error_text, JsServer,
};
use ported::port;
use serde_json::json;

/// Waits until stream `name` holds `msgs` messages.
#[track_caller]
fn wait_msgs(js: &mut JsClient, name: &str, msgs: u64, within: Duration) {
    check_for(within, Duration::from_millis(200), || {
        let st = js.stream_state(name);
        if st.msgs == msgs {
            Ok(())
        } else {
            Err(format!("Do not have all msgs yet, {} of {msgs}", st.msgs))
        }
    });
}

/// Waits until the server reports healthy (Go's `s.healthz(nil)` polled).
#[track_caller]
fn wait_healthy(s: &JsServer) {
    check_for(Duration::from_secs(10), Duration::from_millis(200), || {
        let hs = monitor::healthz(s.shared(), &HealthzOptions::default());
        if hs.status == "ok" && hs.error.is_empty() {
            Ok(())
        } else {
            Err(format!("healthz {} {}", hs.error, hs.status))
        }
    });
}

port!(
    "server/jetstream_test.go::TestJetStreamRollupMirrorOrSource" => rollup_mirror_or_source,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn rollup_mirror_or_source() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "O", "subjects": ["O"], "storage": "file", "allow_rollup_hdrs": true,
    }))
    .unwrap();
    js.add_stream(json!({"name": "M", "storage": "file", "mirror": {"name": "O"}}))
        .unwrap();
    js.add_stream(json!({"name": "S", "storage": "file", "sources": [{"name": "O"}]}))
        .unwrap();

    let rollup = [("Nats-Rollup", "sub")];
    js.publish("O", &rollup, b"").unwrap();

    // Neither the mirror nor the source rolls up (they do not allow it): both keep all.
    let check_sequence = |js: &mut JsClient, seq: u64| {
        check_for(Duration::from_secs(5), Duration::from_millis(200), || {
            for (what, name) in [("mirror", "M"), ("source", "S")] {
                let st = js.stream_state(name);
                if st.msgs != seq || st.first_seq != 1 || st.last_seq != seq {
                    return Err(format!("{what}: expected seq {seq}, got {st:?}"));
                }
            }
            Ok(())
        });
    };
    check_sequence(&mut js, 1);

    js.publish("O", &rollup, b"").unwrap();
    check_sequence(&mut js, 2);
}

port!(
    "server/jetstream_test.go::TestJetStreamScheduledMirrorOrSource" => scheduled_mirror_or_source,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn scheduled_mirror_or_source() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let expect = |js: &mut JsClient, cfg: Value, description: &str, code: u16| {
        let err = js.add_stream(cfg).expect_err("require error, but got none");
        require_error(&err.server_text(), &[&server_error_text(description, code)]);
    };
    expect(
        &mut js,
        json!({"name": "M", "storage": "file", "mirror": {"name": "O"}, "allow_msg_schedules": true}),
        "stream mirrors can not also schedule messages",
        10186,
    );
    expect(
        &mut js,
        json!({"name": "S", "storage": "file", "sources": [{"name": "O"}], "allow_msg_schedules": true}),
        "stream source can not also schedule messages",
        10187,
    );

    js.add_stream(json!({
        "name": "O", "subjects": ["O.>"], "storage": "file", "allow_msg_schedules": true,
    }))
    .unwrap();
    js.add_stream(json!({"name": "M", "storage": "file", "mirror": {"name": "O"}}))
        .unwrap();
    js.add_stream(json!({"name": "S", "storage": "file", "sources": [{"name": "O"}]}))
        .unwrap();

    // A schedule one second from now (Go's RFC 3339 with nanoseconds, UTC).
    let at = natsd::monitor::gotime::GoTime::from_unix_nanos(
        natsd::monitor::gotime::now_nanos() + 1_000_000_000,
    );
    let pattern = format!("@at {}", at.to_rfc3339());
    js.publish(
        "O.schedule",
        &[
            ("Nats-Schedule", &pattern),
            ("Nats-Schedule-Target", "O.target"),
        ],
        b"",
    )
    .unwrap();

    // Message 2 first: had it rolled up the schedule, message 1 would be gone.
    let check = |js: &mut JsClient, name: &str| -> Result<(), String> {
        let sm = js.get_msg(name, 2).map_err(|e| e.to_string())?;
        if sm.subject != "O.target" {
            return Err(format!("expected subject 'O.target', got '{}'", sm.subject));
        }
        let sm = js.get_msg(name, 1).map_err(|e| e.to_string())?;
        if sm.subject != "O.schedule" {
            return Err(format!(
                "expected subject 'O.schedule', got '{}'",
                sm.subject
            ));
        }
        Ok(())
    };
    check_for(Duration::from_secs(5), Duration::from_millis(200), || {
        check(&mut js, "M").map_err(|e| format!("mirror: {e}"))?;
        check(&mut js, "S").map_err(|e| format!("source: {e}"))
    });
}

/// Go's promote steps shared by both promote tests: origin O on `foo`, mirror M with one
/// message copied, and a promotion refused while O still listens on `foo`. Returns M's
/// config as promoted (no mirror, subject `foo`).
fn mirror_refused_promotion(js: &mut JsClient) -> Value {
    js.add_stream(json!({"name": "O", "subjects": ["foo"], "storage": "file"}))
        .unwrap();
    let info = js
        .add_stream(json!({"name": "M", "mirror": {"name": "O"}, "storage": "file"}))
        .unwrap();
    let pa = js.publish("foo", &[], b"").unwrap();
    assert_eq!(pa.sequence, 1);

    // The mirror gets it.
    check_for(Duration::from_secs(2), Duration::from_millis(200), || {
        js.get_msg("M", 1).map(|_| ()).map_err(|e| e.to_string())
    });

    // Promoting it onto `foo` overlaps the origin, which still listens there.
    let mut cfg = info["config"].clone();
    cfg.as_object_mut().unwrap().remove("mirror");
    cfg["subjects"] = json!(["foo"]);
    let err = js
        .update_stream(cfg.clone())
        .expect_err("require error, but got none");
    assert_eq!(err.err_code, 10065, "{err:?}");
    cfg
}

/// Updates M to `cfg` (promoted) and waits until its mirror status is gone.
fn promote(js: &mut JsClient, cfg: Value) {
    let info = js.update_stream(cfg).unwrap();
    assert_eq!(info["config"]["subjects"].as_array().map(Vec::len), Some(1));
    assert!(info["config"].get("mirror").is_none_or(Value::is_null));

    check_for(Duration::from_secs(5), Duration::from_millis(200), || {
        let si = js.stream_info("M", None).map_err(|e| e.to_string())?;
        match si.get("mirror") {
            Some(m) if !m.is_null() => Err(format!("expecting no mirror status, got {m}")),
            _ => Ok(()),
        }
    });
}

port!(
    "server/jetstream_test.go::TestJetStreamPromoteMirrorDeletingOrigin" => promote_mirror_deleting_origin,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn promote_mirror_deleting_origin() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let cfg = mirror_refused_promotion(&mut js);

    // Without the origin there is no overlap.
    js.delete_stream("O").unwrap();
    promote(&mut js, cfg);

    // The promoted mirror takes publishes now...
    let pa = js.publish("foo", &[], b"").unwrap();
    assert_eq!(pa.sequence, 2);
    // ... and holds them.
    js.get_msg("M", 2).unwrap();
}

port!(
    "server/jetstream_test.go::TestJetStreamPromoteMirrorUpdatingOrigin" => promote_mirror_updating_origin,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn promote_mirror_updating_origin() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let cfg = mirror_refused_promotion(&mut js);

    // The origin moves off `foo`: no overlap.
    js.update_stream(json!({"name": "O", "subjects": ["bar"], "storage": "file"}))
        .unwrap();
    promote(&mut js, cfg);

    // The origin's new messages are not mirrored any more...
    let pa = js.publish("bar", &[], b"").unwrap();
    assert_eq!(pa.sequence, 2);
    // ... so the promoted mirror's next sequence is 2, not 3.
    let pa = js.publish("foo", &[], b"").unwrap();
    assert_eq!(pa.sequence, 2);
}

port!("server/jetstream_test.go::TestJetStreamSourceRemovalAndReAdd" => source_removal_and_re_add);
fn source_removal_and_re_add() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "SRC", "subjects": ["foo.*"]}))
        .unwrap();
    js.add_stream(json!({"name": "TEST", "sources": [{"name": "SRC"}]}))
        .unwrap();
    for i in 0..10 {
        js.publish_ok(&format!("foo.{i}"), b"test");
    }
    wait_msgs(&mut js, "TEST", 10, Duration::from_secs(1));

    // No longer sourcing.
    js.update_stream(json!({"name": "TEST"})).unwrap();
    for i in 0..10 {
        js.publish_ok(&format!("foo.{}", i + 10), b"test");
    }
    // Still 10.
    assert_eq!(js.stream_state("TEST").msgs, 10);

    // Sourcing again: it catches up.
    js.update_stream(json!({"name": "TEST", "sources": [{"name": "SRC"}]}))
        .unwrap();
    wait_msgs(&mut js, "TEST", 20, Duration::from_secs(1));

    // In order, each once. (`foo.*` is on SRC, as nats.go finds the stream by subject.)
    let mut sub = js.pull_subscribe("foo.*", "d", json!({})).unwrap();
    let msgs = js.fetch(&mut sub, 20, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), 20);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.subject, format!("foo.{i}"));
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueSourceRestart" => work_queue_source_restart);
fn work_queue_source_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let sent = 10;
    js.add_stream(json!({"name": "FOO", "num_replicas": 1, "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..sent {
        js.publish_ok("foo", b"");
    }
    js.add_stream(json!({
        "name": "TEST", "num_replicas": 1, "retention": "workqueue",
        "sources": [{"name": "FOO"}],
    }))
    .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dur", "ack_policy": "explicit"}),
    )
    .unwrap();
    let mut sub = js.pull_bind("TEST", "dur");

    // Go sleeps a second, then expects every message pending.
    check_for(Duration::from_secs(1), Duration::from_millis(100), || {
        let pending = js.cinfo("TEST", "dur").num_pending;
        if pending == sent as u64 {
            Ok(())
        } else {
            Err(format!("pending {pending}"))
        }
    });

    let msgs = js.fetch(&mut sub, sent, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), sent);
    for m in &msgs {
        js.ack_sync(m);
    }
    assert_eq!(js.cinfo("TEST", "dur").num_pending, 0);
    assert_eq!(js.stream_state("TEST").msgs, 0);

    // Restart.
    drop(js);
    s.restart();
    wait_healthy(&s);
    let mut js = s.client();

    // The source does not copy what the work queue consumed again.
    let msgs = js.stream_state("TEST").msgs;
    assert_eq!(msgs, 0, "Expected 0 messages on restart, got {msgs}");
    let pending = js.cinfo("TEST", "dur").num_pending;
    assert_eq!(pending, 0, "Expected pending of 0 but got {pending}");

    let mut sub = js.pull_bind("TEST", "dur");
    match js.fetch(&mut sub, 1, Duration::from_secs(1)) {
        Ok(_) | Err(FetchError::Timeout) => {}
        Err(e) => panic!("fetch after restart: {e:?}"),
    }
}

port!("server/jetstream_test.go::TestJetStreamWorkQueueSourceNamingRestart" => work_queue_source_naming_restart);
fn work_queue_source_naming_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "C1", "subjects": ["foo.*"]}))
        .unwrap();
    js.add_stream(json!({"name": "C2", "subjects": ["bar.*"]}))
        .unwrap();
    let send_count = 10;
    for i in 0..send_count {
        js.publish_ok(&format!("foo.{i}"), b"");
        js.publish_ok(&format!("bar.{i}"), b"");
    }

    let pending = 1;
    let streams = 2;
    let total_pending = (streams * pending) as u64;
    let total_msgs = (streams * send_count) as u64;
    let total_non_pending = streams * (send_count - pending);

    // Named to be recovered after C1 and C2 (Go reads stream directories sorted).
    let src = "D";
    js.add_stream(json!({
        "name": src, "retention": "workqueue",
        "sources": [{"name": "C1"}, {"name": "C2"}],
    }))
    .unwrap();
    js.add_consumer(
        src,
        json!({"durable_name": "dur", "ack_policy": "explicit"}),
    )
    .unwrap();
    let mut sub = js.pull_bind(src, "dur");

    check_for(Duration::from_secs(5), Duration::from_millis(200), || {
        let ci = js.consumer_info(src, "dur").map_err(|e| e.to_string())?;
        if ci.num_pending == total_msgs {
            Ok(())
        } else {
            Err(format!("not enough messages: {}", ci.num_pending))
        }
    });

    // Consume all but the ones to leave pending.
    let msgs = js
        .fetch(&mut sub, total_non_pending, Duration::from_secs(5))
        .unwrap();
    assert_eq!(msgs.len(), total_non_pending);
    for m in &msgs {
        js.ack_sync(m);
    }
    assert_eq!(js.cinfo(src, "dur").num_pending, total_pending);
    assert_eq!(js.stream_state(src).msgs, total_pending);

    drop(js);
    s.restart();
    wait_healthy(&s);
    let mut js = s.client();

    let msgs = js.stream_state(src).msgs;
    assert_eq!(
        msgs, total_pending,
        "Expected {total_pending} messages on restart, got {msgs}"
    );
}

port!("server/jetstream_test.go::TestJetStreamRecoverBadMirrorConfigWithSubjects" => recover_bad_mirror_config_with_subjects);
fn recover_bad_mirror_config_with_subjects() {
    use natsd::jetstream::meta::{checksum, META_FILE, META_SUM_FILE};
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    // The origin, and a mirror of it.
    js.add_stream(json!({"name": "S", "subjects": ["foo"]}))
        .unwrap();
    js.add_stream(json!({"name": "M", "mirror": {"name": "S"}}))
        .unwrap();
    drop(js);
    s.shutdown();

    // The mirror's stored config gets subjects (mirrors must have none), as a server that
    // did not check them could have written it. Go writes such a store from scratch.
    let dir = s
        .store_dir()
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join("M");
    let mut meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join(META_FILE)).unwrap()).unwrap();
    meta["subjects"] = json!(["foo", "bar", "baz"]);
    assert_eq!(meta["mirror"]["name"], "S", "{meta}");
    let bytes = serde_json::to_vec(&meta).unwrap();
    std::fs::write(dir.join(META_FILE), &bytes).unwrap();
    std::fs::write(dir.join(META_SUM_FILE), checksum("M", &bytes)).unwrap();

    s.restart();
    let mut js = s.client();
    let si = js.stream_info("M", None).unwrap();
    let subjects = si["config"]["subjects"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(subjects, 0, "Expected to have NO subjects on mirror");
}

port!("server/jetstream_test.go::TestJetStreamStreamCheckSourcesWithExternal" => stream_check_sources_with_external);
fn stream_check_sources_with_external() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ORIGIN"})).unwrap();

    // Each case is refused the same with no `external` and with an empty one.
    let mut expect = |src: Value, description: &str, code: u16| {
        for external in [None, Some(json!({}))] {
            let mut src = src.clone();
            if let Some(e) = external {
                src["external"] = e;
            }
            let cfg = json!({"name": "SOURCE", "sources": [src]});
            let err = js.add_stream(cfg).expect_err("require error, but got none");
            require_error(&err.server_text(), &[&server_error_text(description, code)]);
        }
    };

    // A filter and transforms both.
    expect(
        json!({"name": "ORIGIN", "filter_subject": "filter", "subject_transforms": [{"src": "filter"}]}),
        "source with multiple subject transforms cannot also have a single subject filter",
        10144,
    );
    // An invalid transform source.
    expect(
        json!({"name": "ORIGIN", "subject_transforms": [{"src": ".invalid"}]}),
        "source transform source: invalid subject .invalid",
        10145,
    );
    // An invalid transform destination.
    expect(
        json!({"name": "ORIGIN", "subject_transforms": [{"src": "src", "dest": ".invalid"}]}),
        "source transform: invalid mapping destination: invalid transform",
        10146,
    );
    // Overlapping transform sources.
    expect(
        json!({"name": "ORIGIN", "subject_transforms": [{"src": "src"}, {"src": "src"}]}),
        "source filters can not overlap",
        10147,
    );
}
