//! Ports of `server/jetstream_test.go` that run through the JetStream API over the NATS
//! protocol: stream create/update/delete/info/names/purge, publishes and their acks,
//! message get/delete and account info. Where Go reads a stream's internals
//! (`mset.state()`, `mset.config()`) these ports ask `STREAM.INFO`; where Go calls
//! `acc.addStream` or `mset.update` they send `STREAM.CREATE` / `STREAM.UPDATE`.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use ported::jetstream::{JsClient, NatsMsg, PubAck};
use serde_json::Value;
use std::time::Duration;

mod accounts;
mod acks;
mod api_more;
mod config;
mod consumer_api;
mod consumer_misc;
mod consumer_state;
mod consumer_support;
mod counters;
mod delete_markers;
mod delivery;
mod direct_get;
mod encryption;
mod filters_purges;
mod flow_control;
mod health;
mod heartbeats;
mod kv;
mod limits;
mod mirrors_sources;
mod persist_mode;
mod publish;
mod purge_info;
mod republish;
mod schedules;
pub(crate) mod snapshots;
mod sources_more;
mod streams;
mod ttl;
mod work_queue;

/// The two storage kinds Go's table tests run over: (sub-test name, JSON value).
const STORAGES: [(&str, &str); 2] = [("MemoryStore", "memory"), ("FileStore", "file")];

/// One hour in nanoseconds (Go's `time.Hour` in a stream config).
const HOUR: i64 = 3_600_000_000_000;
/// One second in nanoseconds.
const SECOND: i64 = 1_000_000_000;

/// How long a raw publish request waits for its ack. Go's tests use 100-500 ms; the ports
/// allow more so that a loaded two-core machine does not turn a slow ack into a failure.
const ACK_WAIT: Duration = Duration::from_secs(2);

/// The JSON answer to a publish request (Go's `getPubAckResponse`).
fn pub_ack_response(m: &NatsMsg) -> Value {
    serde_json::from_slice(&m.payload).unwrap_or_else(|e| {
        panic!(
            "publish answer is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&m.payload)
        )
    })
}

/// Go's `sendStreamMsg`: a request on `subject` answered by a publish ack without error.
#[track_caller]
fn send_stream_msg(js: &mut JsClient, subject: &str, msg: &str) -> PubAck {
    let resp = js
        .conn
        .request(subject, &[], msg.as_bytes(), ACK_WAIT)
        .unwrap_or_else(|e| panic!("No response for {msg:?} (error: {e:?})"));
    let pa = pub_ack_response(&resp);
    assert!(
        pa.get("error").is_none(),
        "Expected a valid JetStreamPubAck, got {pa}"
    );
    serde_json::from_value(pa.clone()).unwrap_or_else(|e| panic!("invalid pub ack {pa}: {e}"))
}

/// A publish request with headers; the JSON answer.
#[track_caller]
fn request_msg(js: &mut JsClient, subject: &str, headers: &[(&str, &str)], msg: &[u8]) -> Value {
    let resp = js
        .conn
        .request(subject, headers, msg, ACK_WAIT)
        .unwrap_or_else(|e| panic!("no answer on {subject}: {e:?}"));
    pub_ack_response(&resp)
}
