//! Counter streams (`allow_msg_counter`): increments, their checks and limits, and
//! counters copied by mirrors and sources (verbatim, or aggregated through the
//! `Nats-Counter-Sources` header).
//!
//! Go runs each of these once on one server (`R1`) and once on a three-server cluster
//! (`R3`); natsd has no clustering, so the ports run the `R1` case.

use super::*;
use ported::jetstream::{
    check_for, require_error, run_basic_jetstream_server, run_jetstream_server, server_error_text,
    PubError, StoredMsg,
};
use ported::port;
use ported::support::default_test_options;
use serde_json::json;
use std::collections::BTreeMap;

const INCR: &str = "Nats-Incr";
const COUNTER_SOURCES: &str = "Nats-Counter-Sources";

/// Go's `require_Error(t, err, expected)` for a refused publish.
#[track_caller]
fn require_pub_error(result: Result<PubAck, PubError>, description: &str, err_code: u16) {
    let err = result.expect_err("require error, but got none").api();
    require_error(
        &err.server_text(),
        &[&server_error_text(description, err_code)],
    );
}

/// The total of a counter message (Go's `CounterValue`).
#[track_caller]
fn counter_value(data: &[u8]) -> String {
    let v: Value = serde_json::from_slice(data)
        .unwrap_or_else(|e| panic!("JSON error: {e}: {:?}", String::from_utf8_lossy(data)));
    v["val"]
        .as_str()
        .unwrap_or_else(|| panic!("no counter value in {v}"))
        .to_string()
}

/// The `Nats-Counter-Sources` header of a message, decoded (Go's `CounterSources`).
#[track_caller]
fn counter_sources(m: &StoredMsg) -> BTreeMap<String, Option<BTreeMap<String, String>>> {
    let text = m.header_value(COUNTER_SOURCES).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("sources {text:?}: {e}"))
}

/// Go's `validateTotal`: the last message on `foo` of TEST is `seq` and holds `total`.
#[track_caller]
fn validate_total(js: &mut JsClient, seq: u64, total: i64) {
    let rsm = js.get_last_msg("TEST", "foo").unwrap();
    assert_eq!(rsm.seq, seq);
    let value: i64 = counter_value(&rsm.data).parse().unwrap();
    assert_eq!(value, total);
}

/// Go's `increment`: a request with `Nats-Incr: incr` is acknowledged at `seq` with the
/// new total, which the stream then holds.
#[track_caller]
fn increment(js: &mut JsClient, incr: &str, seq: u64, total: i64) {
    let ack = request_msg(js, "foo", &[(INCR, incr)], b"");
    assert_eq!(ack["seq"].as_u64(), Some(seq), "{ack}");
    assert_eq!(
        ack["val"].as_str(),
        Some(total.to_string().as_str()),
        "{ack}"
    );
    validate_total(js, seq, total);
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounter" => allow_msg_counter,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut cfg = json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_msg_counter": false,
    });
    js.add_stream(cfg.clone()).unwrap();

    // A normal publish will succeed, as it's not a counter.
    let pa = js.publish("foo", &[("Key", "Value")], b"").unwrap();
    assert_eq!(pa.sequence, 1);

    // A stream without counters refuses increments.
    let r = js.publish("foo", &[(INCR, "1")], b"");
    require_pub_error(r, "message counters is disabled", 10168);

    // Counters cannot be turned on.
    cfg["allow_msg_counter"] = json!(true);
    let err = js.update_stream(cfg.clone()).unwrap_err();
    require_error(
        &err.server_text(),
        &[&server_error_text(
            "stream configuration update can not change message counter setting",
            10052,
        )],
    );

    // Recreate the stream with counters on.
    js.delete_stream("TEST").unwrap();
    js.add_stream(cfg).unwrap();

    // The increment is missing.
    let r = js.publish("foo", &[], b"");
    require_pub_error(r, "message counter increment is missing", 10169);
    let r = js.publish("foo", &[("Key", "Value")], b"");
    require_pub_error(r, "message counter increment is missing", 10169);

    // An increment with a payload.
    let r = js.publish("foo", &[("Key", "Value"), (INCR, "1")], b"data");
    require_pub_error(r, "message counter has payload", 10170);

    // An invalid increment.
    let r = js.publish("foo", &[(INCR, "bogus")], b"");
    require_pub_error(r, "message counter increment is invalid", 10171);

    increment(&mut js, "1", 1, 1);
    increment(&mut js, "2", 2, 3);
    // Decrements and resets.
    increment(&mut js, "-3", 3, 0);
    increment(&mut js, "1", 4, 1);
    increment(&mut js, "-1", 5, 0);

    // De-duplication.
    let headers = [(INCR, "1"), ("Nats-Msg-Id", "dedupe")];
    let ack1 = request_msg(&mut js, "foo", &headers, b"");
    assert!(!ack1["duplicate"].as_bool().unwrap_or(false), "{ack1}");
    assert_eq!(ack1["seq"].as_u64(), Some(6), "{ack1}");
    assert_eq!(ack1["val"].as_str(), Some("1"), "{ack1}");
    validate_total(&mut js, 6, 1);
    // A resend counts nothing, and does not tell the current value either.
    let ack2 = request_msg(&mut js, "foo", &headers, b"");
    assert_eq!(ack2["duplicate"].as_bool(), Some(true), "{ack2}");
    assert_eq!(ack2["seq"].as_u64(), Some(6), "{ack2}");
    assert_eq!(ack2["val"].as_str().unwrap_or_default(), "", "{ack2}");
    validate_total(&mut js, 6, 1);

    // Headers an increment may not come with.
    for header in [
        "Nats-Rollup",
        "Nats-Expected-Last-Sequence",
        "Nats-Expected-Last-Subject-Sequence",
        "Nats-Expected-Last-Subject-Sequence-Subject",
        "Nats-Expected-Last-Msg-Id",
    ] {
        let r = js.publish("foo", &[(INCR, "1"), (header, "1")], b"");
        require_pub_error(r, "message counter increment is invalid", 10171);
    }

    // Break the counter in the store itself.
    let stream = s
        .shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream("TEST"))
        .unwrap();
    let (seq, _) = stream.store().store_msg("foo", b"", b"", 0).unwrap();
    assert_eq!(seq, 7);

    // Now refused: the counter is broken.
    let r = js.publish("foo", &[(INCR, "1")], b"");
    require_pub_error(r, "message counter is broken", 10172);
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounterMaxPayloadAndSize" => allow_msg_counter_max_payload_and_size,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter_max_payload_and_size() {
    let mut opts = default_test_options();
    opts.max_payload = 1024;
    let s = run_jetstream_server(opts);
    let mut js = s.client();
    let mut cfg = json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_msg_counter": true,
    });
    js.add_stream(cfg.clone()).unwrap();

    // Over the max payload, upwards.
    increment(&mut js, "1", 1, 1);
    let too_large = "1".repeat(500);
    let r = js.publish("foo", &[(INCR, &too_large)], b"");
    require_pub_error(r, "message size exceeds maximum allowed", 10054);

    // And downwards.
    increment(&mut js, "-2", 2, -1);
    let r = js.publish("foo", &[(INCR, &format!("-{too_large}"))], b"");
    require_pub_error(r, "message size exceeds maximum allowed", 10054);

    // Back to zero.
    increment(&mut js, "1", 3, 0);

    // Exactly the size of the first message.
    cfg["max_msg_size"] = json!(37);
    js.update_stream(cfg).unwrap();
    increment(&mut js, "1", 4, 1);

    // The next total takes it over max_msg_size.
    let r = js.publish("foo", &[(INCR, "10")], b"");
    require_pub_error(r, "message size exceeds maximum allowed", 10054);
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounterMirror" => allow_msg_counter_mirror,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter_mirror() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({
        "name": "O", "subjects": ["foo"], "storage": "file", "allow_msg_counter": true,
    }))
    .unwrap();

    // A mirror may not calculate counters.
    let mut mirror_cfg = json!({
        "name": "M", "mirror": {"name": "O"}, "storage": "file", "allow_msg_counter": true,
    });
    let err = js.add_stream(mirror_cfg.clone()).unwrap_err();
    require_error(
        &err.server_text(),
        &[&server_error_text(
            "stream mirrors can not also calculate counters",
            10173,
        )],
    );

    // It copies counters as they are.
    mirror_cfg["allow_msg_counter"] = json!(false);
    js.add_stream(mirror_cfg).unwrap();

    let pa = js.publish("foo", &[(INCR, "1")], b"").unwrap();
    assert_eq!(pa.sequence, 1);

    check_for(Duration::from_secs(2), Duration::from_millis(200), || {
        let rsm = js.get_msg("M", 1).map_err(|e| e.to_string())?;
        let incr = rsm.header_value(INCR).unwrap_or_default();
        if incr != "1" {
            return Err(format!("incorrect increment: {incr:?}"));
        }
        let value = counter_value(&rsm.data);
        if value != "1" {
            return Err(format!(
                "unexpected value: {}",
                String::from_utf8_lossy(&rsm.data)
            ));
        }
        Ok(())
    });
}

/// Two counter origins, O1 on `foo.1` and O2 on `foo.2`.
fn add_counter_origins(js: &mut JsClient, max_msgs_per: Option<i64>) {
    for (name, subject) in [("O1", "foo.1"), ("O2", "foo.2")] {
        let mut cfg = json!({
            "name": name, "subjects": [subject], "storage": "file", "allow_msg_counter": true,
        });
        if let Some(n) = max_msgs_per {
            cfg["max_msgs_per_subject"] = json!(n);
        }
        js.add_stream(cfg).unwrap();
    }
}

/// Sources of O1 and O2 whose subjects become `foo`.
fn counter_sources_cfg() -> Value {
    json!([
        {"name": "O1", "subject_transforms": [{"src": "foo.*", "dest": "foo"}]},
        {"name": "O2", "subject_transforms": [{"src": "foo.*", "dest": "foo"}]},
    ])
}

/// Waits until message `seq` of `stream` holds the counter total `want`.
#[track_caller]
fn wait_counter(js: &mut JsClient, stream: &str, seq: u64, want: &str) {
    check_for(Duration::from_secs(2), Duration::from_millis(200), || {
        let rsm = js.get_msg(stream, seq).map_err(|e| e.to_string())?;
        let value = counter_value(&rsm.data);
        if value != want {
            return Err(format!(
                "unexpected value: {}",
                String::from_utf8_lossy(&rsm.data)
            ));
        }
        Ok(())
    });
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounterSourceAggregates" => allow_msg_counter_source_aggregates,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter_source_aggregates() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    add_counter_origins(&mut js, None);
    js.add_stream(json!({
        "name": "M", "sources": counter_sources_cfg(), "storage": "file",
        "allow_msg_counter": true,
    }))
    .unwrap();

    let pa = js.publish("foo.1", &[(INCR, "1")], b"").unwrap();
    assert_eq!(pa.sequence, 1);
    let pa = js.publish("foo.2", &[(INCR, "2")], b"").unwrap();
    assert_eq!(pa.sequence, 1);

    // The source adds them up.
    wait_counter(&mut js, "M", 2, "3");
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounterSourceVerbatim" => allow_msg_counter_source_verbatim,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter_source_verbatim() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    add_counter_origins(&mut js, None);
    js.add_stream(json!({
        "name": "M", "sources": counter_sources_cfg(), "storage": "file",
        "allow_msg_counter": false,
    }))
    .unwrap();

    let pa = js.publish("foo.1", &[(INCR, "1")], b"").unwrap();
    assert_eq!(pa.sequence, 1);
    // Stored as it is.
    wait_counter(&mut js, "M", 1, "1");

    let pa = js.publish("foo.2", &[(INCR, "2")], b"").unwrap();
    assert_eq!(pa.sequence, 1);
    wait_counter(&mut js, "M", 2, "2");
}

port!(
    "server/jetstream_test.go::TestJetStreamAllowMsgCounterSourceStartingAboveZero" => allow_msg_counter_source_starting_above_zero,
    partial = "Go runs the same body with replicas 1 on one server and replicas 3 on a 3-node cluster; natsd has no clustering, so only the replicas-1 run is ported"
);
fn allow_msg_counter_source_starting_above_zero() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    add_counter_origins(&mut js, Some(1));
    for i in 0..5u64 {
        let pa = js.publish("foo.1", &[(INCR, "1")], b"").unwrap();
        assert_eq!(pa.sequence, i + 1);
        let pa = js.publish("foo.2", &[(INCR, "2")], b"").unwrap();
        assert_eq!(pa.sequence, i + 1);
    }

    js.add_stream(json!({
        "name": "M", "subjects": ["foo"], "storage": "file", "allow_msg_counter": true,
    }))
    .unwrap();

    // A local increment first.
    let pa = js.publish("foo", &[(INCR, "1")], b"").unwrap();
    assert_eq!(pa.sequence, 1);

    js.update_stream(json!({
        "name": "M", "subjects": ["foo"], "sources": counter_sources_cfg(), "storage": "file",
        "allow_msg_counter": true,
    }))
    .unwrap();

    // The sources aggregate.
    let mut got: Vec<StoredMsg> = Vec::new();
    check_for(Duration::from_secs(2), Duration::from_millis(200), || {
        got.clear();
        for seq in 1..=3 {
            got.push(js.get_msg("M", seq).map_err(|e| e.to_string())?);
        }
        Ok(())
    });

    // Another local increment.
    let pa = js.publish("foo", &[(INCR, "1")], b"").unwrap();
    assert_eq!(pa.sequence, 4);
    let mut fourth = None;
    check_for(Duration::from_secs(2), Duration::from_millis(200), || {
        fourth = Some(js.get_msg("M", 4).map_err(|e| e.to_string())?);
        Ok(())
    });
    let fourth = fourth.unwrap();

    // No other local increments: the rest of the total is the sources'.
    assert_eq!(counter_value(&fourth.data), "17");

    // The latest message knows both sources.
    let sources = counter_sources(&fourth);
    let o1 = sources
        .get("O1")
        .cloned()
        .flatten()
        .expect("O1 in the sources");
    let o2 = sources
        .get("O2")
        .cloned()
        .flatten()
        .expect("O2 in the sources");
    assert_eq!(o1.get("foo.1").map(String::as_str), Some("5"));
    assert_eq!(o2.get("foo.2").map(String::as_str), Some("10"));

    // The first message seen from each source carries the change it made.
    got.push(fourth);
    for (i, rsm) in got.iter().enumerate() {
        assert_eq!(rsm.subject, "foo"); // Transformed.
        let incr = rsm.header_value(INCR).unwrap_or_default();
        match i {
            0 | 3 => assert_eq!(incr, "1"),
            // Either source may have been copied first.
            _ => assert!(incr == "5" || incr == "10", "increment {incr:?}"),
        }
    }
}
