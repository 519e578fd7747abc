//! Pausing consumers: `pause_until` in the config, `$JS.API.CONSUMER.PAUSE`, what a paused
//! consumer delivers (nothing, heartbeats aside), pause advisories, and restarts.

use super::*;
use ported::jetstream::{now_nanos, parse_go_time};
use ported::js_context::{go_time, MsgExt, SubOpts, MS, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// Go's `jsTestPause_CreateOrUpdateConsumer`: a create request with an action on
/// `CONSUMER.CREATE.<stream>.<name>`; the answer, which must carry a config.
fn create_or_update(js: &mut JsContext, action: &str, stream: &str, cfg: Value) -> Value {
    let name = cfg["name"].as_str().unwrap_or_default().to_string();
    let r = js.request_json(
        &format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
        json!({"stream_name": stream, "config": cfg, "action": action}),
    );
    assert!(r["config"].is_object(), "no config in {r}");
    r
}

/// Go's `jsTestPause_PauseConsumer`: the `pause_until` of the answer (nanoseconds; Go's
/// zero time when resumed).
fn pause_consumer(
    js: &mut JsContext,
    stream: &str,
    consumer: &str,
    deadline: Option<i128>,
) -> i128 {
    let until = deadline.map_or("0001-01-01T00:00:00Z".to_string(), go_time);
    let r = js.request_json(
        &format!("$JS.API.CONSUMER.PAUSE.{stream}.{consumer}"),
        json!({"pause_until": until}),
    );
    parse_go_time(
        r["pause_until"]
            .as_str()
            .unwrap_or_else(|| panic!("no pause_until in {r}")),
    )
}

/// Go's zero `time.Time` in nanoseconds since the epoch.
fn zero_time() -> i128 {
    parse_go_time("0001-01-01T00:00:00Z")
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseViaConfig" => consumer_pause_via_config);
fn consumer_pause_via_config() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();

    // CreateShouldSucceed
    let deadline = now_nanos() + 3600 * SEC as i128;
    let ci = create_or_update(
        &mut js,
        "create",
        "TEST",
        json!({"name": "my_consumer_1", "pause_until": go_time(deadline)}),
    );
    let until = ci["config"]["pause_until"]
        .as_str()
        .expect("pause_until set");
    assert_eq!(parse_go_time(until), deadline);

    // UpdateShouldFail: an update does not change the pause.
    let ci = create_or_update(&mut js, "create", "TEST", json!({"name": "my_consumer_2"}));
    let pu = &ci["config"]["pause_until"];
    assert!(
        pu.is_null() || parse_go_time(pu.as_str().unwrap()) == zero_time(),
        "{ci}"
    );
    let mut cc = ci["config"].clone();
    cc["pause_until"] = json!(go_time(now_nanos() + 3600 * SEC as i128));
    let ci2 = create_or_update(&mut js, "update", "TEST", cc);
    let pu = &ci2["config"]["pause_until"];
    assert!(
        pu.is_null() || parse_go_time(pu.as_str().unwrap()) == zero_time(),
        "{ci2}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseViaEndpoint" => consumer_pause_via_endpoint);
fn consumer_pause_via_endpoint() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["push", "pull"]}))
        .unwrap();

    // PullConsumer
    js.add_consumer("TEST", json!({"name": "pull_consumer"}))
        .unwrap();
    let mut sub = js
        .pull_subscribe("pull", "", SubOpts::bind("TEST", "pull_consumer"))
        .unwrap();
    let publish10 = |js: &mut JsContext, subject: &str| {
        for _ in 0..10 {
            js.publish_ok(subject, b"OK");
        }
    };
    // Not paused: quick.
    publish10(&mut js, "pull");
    let msgs = js.fetch(&mut sub, 10, SECOND).unwrap();
    assert_eq!(msgs.len(), 10);
    // Paused for 3 seconds.
    let deadline = now_nanos() + 3 * SEC as i128;
    assert_eq!(
        pause_consumer(&mut js, "TEST", "pull_consumer", Some(deadline)),
        deadline
    );
    // Waiting half the pause gets nothing.
    publish10(&mut js, "pull");
    let half = Duration::from_nanos(((deadline - now_nanos()) / 2) as u64);
    assert_eq!(
        js.fetch(&mut sub, 10, half).map(|m| m.len()),
        Err(ported::js_context::JsError::Timeout)
    );
    // Waiting past the deadline gets them.
    let msgs = js.fetch(&mut sub, 10, 10 * SECOND).unwrap();
    assert_eq!(msgs.len(), 10);
    assert!(now_nanos() > deadline);
    // Not paused: quick again.
    publish10(&mut js, "pull");
    let msgs = js.fetch(&mut sub, 10, SECOND).unwrap();
    assert_eq!(msgs.len(), 10);
    // Resumed by hand.
    assert_eq!(
        pause_consumer(&mut js, "TEST", "pull_consumer", None),
        zero_time()
    );
    publish10(&mut js, "pull");
    let msgs = js.fetch(&mut sub, 10, SECOND).unwrap();
    assert_eq!(msgs.len(), 10);

    // PushConsumer
    let sub = js
        .subscribe_sync(
            "push",
            SubOpts {
                stream: Some("TEST".into()),
                name: Some("push_consumer".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let read10 = |js: &mut JsContext, timeout: Duration, after: Option<i128>| {
        for _ in 0..10 {
            js.must_next(&sub, timeout);
            if let Some(d) = after {
                assert!(now_nanos() > d, "delivered before the pause ended");
            }
        }
    };
    publish10(&mut js, "push");
    read10(&mut js, SECOND, None);
    let deadline = now_nanos() + 3 * SEC as i128;
    assert_eq!(
        pause_consumer(&mut js, "TEST", "push_consumer", Some(deadline)),
        deadline
    );
    // Delivered after the deadline.
    publish10(&mut js, "push");
    read10(&mut js, 5 * SECOND, Some(deadline));
    publish10(&mut js, "push");
    read10(&mut js, SECOND, None);
    assert_eq!(
        pause_consumer(&mut js, "TEST", "push_consumer", None),
        zero_time()
    );
    publish10(&mut js, "push");
    read10(&mut js, SECOND, None);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseResumeViaEndpoint" => consumer_pause_resume_via_endpoint);
fn consumer_pause_resume_via_endpoint() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["TEST"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"name": "CONSUMER"}))
        .unwrap();
    let paused = |js: &mut JsContext| {
        js.info("TEST", "CONSUMER")["paused"]
            .as_bool()
            .unwrap_or(false)
    };
    assert!(!paused(&mut js), "not paused yet");
    let deadline = now_nanos() + 30 * SEC as i128;
    assert_eq!(
        pause_consumer(&mut js, "TEST", "CONSUMER", Some(deadline)),
        deadline
    );
    assert!(paused(&mut js), "paused");
    // An empty request resumes.
    js.js
        .conn
        .request("$JS.API.CONSUMER.PAUSE.TEST.CONSUMER", &[], b"", SECOND)
        .unwrap();
    assert!(!paused(&mut js), "resumed");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseMetadataRace" => consumer_pause_metadata_race);
fn consumer_pause_metadata_race() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    let deadline = now_nanos() + 60 * SEC as i128;
    // 32 at once, 50 pauses each.
    let addr = s.addr();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            std::thread::spawn(move || {
                let mut js = JsContext::connect(addr);
                for _ in 0..50 {
                    pause_consumer(&mut js, "TEST", "CONSUMER", Some(deadline));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseHeartbeats" => consumer_pause_heartbeats);
fn consumer_pause_heartbeats() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let deadline = now_nanos() + 3600 * SEC as i128;
    let dsubj = "deliver_subj";
    let ci = create_or_update(
        &mut js,
        "create",
        "TEST",
        json!({
            "name": "my_consumer", "pause_until": go_time(deadline),
            "idle_heartbeat": 100 * MS, "deliver_subject": dsubj,
        }),
    );
    assert_eq!(
        parse_go_time(ci["config"]["pause_until"].as_str().unwrap()),
        deadline
    );
    let sid = js.subscribe_sync_core(dsubj);
    for _ in 0..20 {
        let m = js
            .next_msg_core(sid, Duration::from_millis(200))
            .expect("a heartbeat within 200ms");
        assert_eq!(m.status(), Some(100));
        assert_eq!(m.description(), "Idle Heartbeat");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPauseAdvisories" => consumer_pause_advisories);
fn consumer_pause_advisories() {
    let (_s, mut js) = server_and_client();
    let check_advisory = |m: &ported::jetstream::NatsMsg, paused: bool, deadline: i128| {
        let a: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(a["stream"], "TEST", "{a}");
        assert_eq!(a["consumer"], "my_consumer", "{a}");
        assert_eq!(a["paused"], paused, "{a}");
        assert_eq!(
            parse_go_time(a["pause_until"].as_str().unwrap()),
            deadline,
            "{a}"
        );
    };
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let sid = js.subscribe_sync_core("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.TEST.my_consumer");
    let deadline = now_nanos() + SEC as i128;
    create_or_update(
        &mut js,
        "create",
        "TEST",
        json!({"name": "my_consumer", "pause_until": go_time(deadline)}),
    );
    // Paused on creation, then unpaused.
    let m = js.next_msg_core(sid, 2 * SECOND).expect("pause advisory");
    check_advisory(&m, true, deadline);
    let m = js.next_msg_core(sid, 2 * SECOND).expect("unpause advisory");
    check_advisory(&m, false, deadline);
    // Paused through the API, then unpaused.
    let deadline = now_nanos() + SEC as i128;
    assert_eq!(
        pause_consumer(&mut js, "TEST", "my_consumer", Some(deadline)),
        deadline
    );
    let m = js.next_msg_core(sid, 2 * SECOND).expect("pause advisory");
    check_advisory(&m, true, deadline);
    let m = js.next_msg_core(sid, 2 * SECOND).expect("unpause advisory");
    check_advisory(&m, false, deadline);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerSurvivesRestart" => consumer_survives_restart);
fn consumer_survives_restart() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let deadline = now_nanos() + 3600 * SEC as i128;
    create_or_update(
        &mut js,
        "create",
        "TEST",
        json!({"name": "my_consumer", "pause_until": go_time(deadline)}),
    );
    drop(js);
    s.restart();
    // The consumer is there and the end of its pause is timed again (Go's uptmr).
    let c = s.consumer("TEST", "my_consumer");
    assert!(
        c.pause_timer().is_some(),
        "no pause timer after the restart"
    );
}
