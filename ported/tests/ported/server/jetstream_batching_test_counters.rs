//! Ports of `server/jetstream_batching_test.go` about counters that aggregate their
//! sources (`Nats-Counter-Sources`). Where Go runs its batch staging check
//! (`checkMsgHeadersPreClusteredProposal`) on a stored record, these ports run natsd's
//! counter step (`natsd::jetstream::counter::Running`, which the batch commit check and
//! the stream's ingest both use) on the record the stream stored.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::client::header::gen_header;
use natsd::jetstream::counter::{BigInt, Running};
use ported::jetstream::{check_for, run_basic_jetstream_server};
use ported::port;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const INCR: &str = "Nats-Incr";
const COUNTER_SOURCES: &str = "Nats-Counter-Sources";

port!("server/jetstream_batching_test.go::TestJetStreamCounterNullSourcesHeaderDoesNotPanic" => counter_null_sources_header_does_not_panic);
fn counter_null_sources_header_does_not_panic() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();

    // The origin counter, sourced below.
    js.add_stream(json!({
        "name": "O1", "subjects": ["foo.*"], "storage": "memory", "allow_msg_counter": true,
    }))
    .unwrap();
    js.publish("foo.1", &[(INCR, "5")], b"").unwrap();

    js.add_stream(json!({
        "name": "M", "subjects": ["foo"], "storage": "memory", "allow_msg_counter": true,
    }))
    .unwrap();

    // A sources header naming the origin with `null` is stored as it came.
    js.publish(
        "foo",
        &[(INCR, "1"), (COUNTER_SOURCES, r#"{"O1":null}"#)],
        b"",
    )
    .unwrap();
    let stream = s
        .shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream("M"))
        .unwrap();
    let sm = stream.store().load_last_msg("foo").unwrap();
    let stored = natsd::client::header::slice_header(COUNTER_SOURCES, &sm.hdr).unwrap();
    assert_eq!(stored, br#"{"O1":null}"#);

    // The counter step over that record records a sourced count in a usable map.
    let hdr = gen_header(b"", INCR, "5");
    let hdr = gen_header(&hdr, "Nats-Stream-Source", "O1 1 > > foo.1");
    let mut running = Running::from_last(Some((&sm.hdr, &sm.msg))).unwrap();
    running
        .apply(&hdr, br#"{"val":"5"}"#, "foo", &BigInt::parse("5").unwrap())
        .unwrap();
    let recorded = running.sources.get("O1").cloned().flatten().unwrap();
    assert_eq!(recorded.get("foo.1").map(String::as_str), Some("5"));

    // And through sourcing itself.
    js.update_stream(json!({
        "name": "M", "subjects": ["foo"],
        "sources": [{"name": "O1", "subject_transforms": [{"src": "foo.*", "dest": "foo"}]}],
        "storage": "memory", "allow_msg_counter": true,
    }))
    .unwrap();
    check_for(Duration::from_secs(5), Duration::from_millis(50), || {
        let msgs = js.stream_state("M").msgs;
        if msgs == 2 {
            Ok(())
        } else {
            Err(format!("expected 2 messages, got {msgs}"))
        }
    });

    // The sourced increment was added, and the header rewritten with a usable map.
    let rsm = js.get_msg("M", 2).unwrap();
    let count: Value = serde_json::from_slice(&rsm.data).unwrap();
    assert_eq!(count["val"], "6");
    let text = rsm.header_value(COUNTER_SOURCES).unwrap_or_default();
    let sources: BTreeMap<String, Option<BTreeMap<String, String>>> =
        serde_json::from_str(&text).unwrap();
    let o1 = sources.get("O1").cloned().flatten().unwrap_or_default();
    assert_eq!(o1.get("foo.1").map(String::as_str), Some("5"));
}
