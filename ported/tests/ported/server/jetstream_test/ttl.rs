//! Per-message TTLs (`Nats-TTL`), subject delete markers and the settings that go with
//! them. Go sleeps past an expiry and then looks; these ports poll until the state is
//! reached, then check all of it.

use super::*;
use ported::jetstream::{
    check_for, require_error, run_basic_jetstream_server, server_error_text, ApiError, StreamState,
};
use ported::port;
use serde_json::json;

/// Waits (up to `within`) for stream TEST to hold `msgs` messages; its state then.
fn wait_for_msgs(js: &mut JsClient, msgs: u64, within: Duration) -> StreamState {
    let mut last = StreamState::default();
    check_for(within, Duration::from_millis(50), || {
        last = js.stream_state("TEST");
        if last.msgs == msgs {
            Ok(())
        } else {
            Err(format!("{} messages, want {msgs}", last.msgs))
        }
    });
    last
}

fn ttl_stream(storage: &str) -> Value {
    json!({"name": "TEST", "storage": storage, "subjects": ["test"], "allow_msg_ttl": true})
}

/// Go's `jsStreamCreate`: the server's answer to a create, as an error or the config.
fn js_stream_create(js: &mut JsClient, cfg: Value) -> Result<Value, ApiError> {
    js.add_stream(cfg).map(|si| si["config"].clone())
}

port!("server/jetstream_test.go::TestJetStreamMessageTTL" => message_ttl);
fn message_ttl() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js_stream_create(&mut js, ttl_stream(storage)).unwrap();
        for _ in 1..=10 {
            js.publish("test", &[("Nats-TTL", "1s")], b"").unwrap();
        }
        let st = js.stream_state("TEST");
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 1, 10));

        let st = wait_for_msgs(&mut js, 0, Duration::from_secs(3));
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq),
            (0, 11, 10),
            "{storage}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLRestart" => message_ttl_restart);
fn message_ttl_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js_stream_create(&mut js, ttl_stream("file")).unwrap();
    for _ in 1..=10 {
        js.publish("test", &[("Nats-TTL", "1s")], b"").unwrap();
    }
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 1, 10));

    drop(js);
    s.restart();
    let mut js = s.client();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 1, 10));

    let st = wait_for_msgs(&mut js, 0, Duration::from_secs(3));
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 11, 10));
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLRecovered" => message_ttl_recovered);
fn message_ttl_recovered() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    js_stream_create(&mut js, ttl_stream("file")).unwrap();
    for _ in 1..=10 {
        js.publish("test", &[("Nats-TTL", "1s")], b"").unwrap();
    }
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 1, 10));

    drop(js);
    s.shutdown();
    // Without the TTL state file the TTLs are recovered from the messages.
    let ttl_file = s
        .store_dir()
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join("TEST")
        .join("msgs")
        .join("thw.db");
    let _ = std::fs::remove_file(ttl_file);
    s.restart();

    let mut js = s.client();
    let st = js.stream_state("TEST");
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (10, 1, 10));
    let st = wait_for_msgs(&mut js, 0, Duration::from_secs(3));
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 11, 10));
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLInvalid" => message_ttl_invalid);
fn message_ttl_invalid() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js_stream_create(&mut js, ttl_stream(storage)).unwrap();
        // Under a second, and not a duration at all.
        assert!(js.publish("test", &[("Nats-TTL", "500ms")], b"").is_err());
        assert!(js
            .publish("test", &[("Nats-TTL", "something")], b"")
            .is_err());
    }
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLNotUpdatable" => message_ttl_not_updatable);
fn message_ttl_not_updatable() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js_stream_create(&mut js, ttl_stream("file")).unwrap();
    let mut cfg = ttl_stream("file");
    cfg["allow_msg_ttl"] = json!(false);
    assert!(js.update_stream(cfg).is_err());
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLDisabled" => message_ttl_disabled);
fn message_ttl_disabled() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js_stream_create(
            &mut js,
            json!({"name": "TEST", "storage": storage, "subjects": ["test"]}),
        )
        .unwrap();
        assert!(js.publish("test", &[("Nats-TTL", "1s")], b"").is_err());
    }
}

/// Go's `addStreamPedanticWithError` / `updateStreamPedanticWithError`: the request with
/// its `pedantic` flag; the answer must be of the verb's type.
fn pedantic_request(
    js: &mut JsClient,
    verb: &str,
    cfg: &Value,
    pedantic: bool,
) -> Result<Value, ApiError> {
    let mut req = cfg.clone();
    req["pedantic"] = json!(pedantic);
    let name = cfg["name"].as_str().unwrap();
    let resp = js.request(&format!("$JS.API.STREAM.{verb}.{name}"), Some(&req));
    let want = format!(
        "io.nats.jetstream.api.v1.stream_{}_response",
        verb.to_lowercase()
    );
    assert_eq!(resp["type"], json!(want), "Invalid response type");
    ported::jetstream::api_result(resp)
}

#[track_caller]
fn expect_error(r: Result<Value, ApiError>, text: &str) {
    let err = r.expect_err("expected an error");
    require_error(&err.server_text(), &[text]);
}

port!("server/jetstream_test.go::TestJetStreamCreateStreamWithSubjectDeleteMarkersOptions" => create_stream_with_subject_delete_markers_options);
fn create_stream_with_subject_delete_markers_options() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut cfg = json!({
        "name": "PEDANTIC", "storage": "file", "subjects": ["pedantic"],
        "subject_delete_marker_ttl": -1_000_000,
    });
    let create =
        |js: &mut JsClient, cfg: &Value, pedantic| pedantic_request(js, "CREATE", cfg, pedantic);
    expect_error(
        create(&mut js, &cfg, true),
        "subject delete marker TTL must not be negative",
    );
    cfg["subject_delete_marker_ttl"] = json!(1_000_000);
    expect_error(
        create(&mut js, &cfg, true),
        "subject delete marker TTL must be at least 1 second",
    );
    cfg["subject_delete_marker_ttl"] = json!(SECOND);
    expect_error(
        create(&mut js, &cfg, true),
        "subject delete marker cannot be set if message TTLs are disabled",
    );
    cfg["allow_msg_ttl"] = json!(true);
    expect_error(
        create(&mut js, &cfg, true),
        "subject delete marker cannot be set if roll-ups are disabled",
    );
    cfg["allow_rollup_hdrs"] = json!(true);
    cfg["deny_purge"] = json!(true);
    expect_error(
        create(&mut js, &cfg, true),
        "roll-ups require the purge permission",
    );
    cfg["deny_purge"] = json!(false);
    create(&mut js, &cfg, true).expect("unexpected error");

    // Without pedantic the server sets up what markers need.
    let cfg = json!({
        "name": "AUTO", "storage": "file", "subjects": ["auto"],
        "subject_delete_marker_ttl": SECOND,
    });
    let si = create(&mut js, &cfg, false).expect("unexpected error");
    let c = &si["config"];
    assert_eq!(c["subject_delete_marker_ttl"], json!(SECOND));
    assert_eq!(c["allow_msg_ttl"], json!(true));
    assert_eq!(c["allow_rollup_hdrs"], json!(true));
    assert_ne!(c["deny_purge"], json!(true));

    // An update may turn markers and TTLs on.
    let mut cfg = json!({"name": "UPDATE", "storage": "file", "subjects": ["update"]});
    let si = create(&mut js, &cfg, false).expect("unexpected error");
    let c = &si["config"];
    assert_ne!(c["allow_msg_ttl"], json!(true));
    assert_ne!(c["allow_rollup_hdrs"], json!(true));
    assert_ne!(c["deny_purge"], json!(true));

    cfg["subject_delete_marker_ttl"] = json!(SECOND);
    let si = pedantic_request(&mut js, "UPDATE", &cfg, false).expect("unexpected error");
    let c = si["config"].clone();
    assert_eq!(c["subject_delete_marker_ttl"], json!(SECOND));
    assert_eq!(c["allow_msg_ttl"], json!(true));
    assert_eq!(c["allow_rollup_hdrs"], json!(true));
    assert_ne!(c["deny_purge"], json!(true));

    // But not turn TTLs off again.
    let mut cfg = c;
    cfg["subject_delete_marker_ttl"] = json!(0);
    cfg["allow_msg_ttl"] = json!(false);
    expect_error(
        pedantic_request(&mut js, "UPDATE", &cfg, true),
        "message TTL status can not be disabled",
    );
}

port!("server/jetstream_test.go::TestJetStreamScheduledPurgeHeadersRequiresSchedulingEnabled" => scheduled_purge_headers_requires_scheduling_enabled);
fn scheduled_purge_headers_requires_scheduling_enabled() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js_stream_create(
        &mut js,
        json!({
            "name": "TEST", "storage": "file", "subjects": ["foo.*"],
            "allow_msg_schedules": false,
        }),
    )
    .unwrap();
    js.publish("foo.victim", &[], b"OK").unwrap();
    let err = js
        .publish(
            "foo.attacker",
            &[
                ("Nats-Schedule-Next", "purge"),
                ("Nats-Scheduler", "foo.victim"),
            ],
            b"",
        )
        .unwrap_err()
        .api();
    // Go's NewJSMessageSchedulesDisabledError.
    require_error(
        &err.to_string(),
        &[&server_error_text("message schedules is disabled", 10188)],
    );
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLNotExpiring" => message_ttl_not_expiring);
fn message_ttl_not_expiring() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "TEST", "subjects": ["foo"], "storage": storage, "allow_msg_ttl": true,
        }))
        .unwrap();
        // Arms the expiry timer once, for an hour away.
        js.publish("foo", &[("Nats-TTL", "1h")], b"").unwrap();

        // Messages stored with a TTL keep resetting the timer (Go stores them straight
        // into the stream's store, as this does).
        let stream = s
            .shared()
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream("TEST"))
            .expect("stream TEST");
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = stream.store().store_msg("foo", b"", b"", 3600);
                }
            })
        };

        // The message still expires on time.
        let pa = js.publish("foo", &[("Nats-TTL", "1s")], b"").unwrap();
        let mut outcome = Ok(());
        check_for(Duration::from_secs(3), Duration::from_millis(100), || {
            match js.get_msg("TEST", pa.sequence) {
                Ok(_) => Err("message not removed yet".to_string()),
                // Go: nats.ErrMsgNotFound.
                Err(e) if e.err_code == 10037 => Ok(()),
                Err(e) => {
                    outcome = Err(e);
                    Ok(())
                }
            }
        });
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        outcome.unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamMessageTTLNeverExpire" => message_ttl_never_expire);
fn message_ttl_never_expire() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        let mut cfg = ttl_stream(storage);
        cfg["max_age"] = json!(SECOND);
        js_stream_create(&mut js, cfg).unwrap();

        // The first message never expires, so it outlives the max age.
        js.publish("test", &[("Nats-TTL", "never")], b"").unwrap();
        // The others age out.
        for _ in 1..=10 {
            js.publish("test", &[], b"").unwrap();
        }
        let published = std::time::Instant::now();
        let st = js.stream_state("TEST");
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq),
            (11, 1, 11),
            "{storage}"
        );

        let st = wait_for_msgs(&mut js, 1, Duration::from_secs(3));
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq),
            (1, 1, 11),
            "{storage}"
        );
        // Go looks two seconds after the publishes, well past the max age: still there.
        std::thread::sleep(Duration::from_secs(2).saturating_sub(published.elapsed()));
        let st = js.stream_state("TEST");
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq),
            (1, 1, 11),
            "{storage}"
        );
    }
}
