//! Ports of `server/jetstream_consumer_test.go`.
//!
//! The ports talk to the server as a client does, through [`JsContext`] (nats.go's
//! JetStream context: consumer API, pull and push subscriptions, acks). Where Go calls
//! `mset.addConsumer` / `mset.addConsumerWithAction` the ports send the consumer create
//! request that carries the same config; where Go reads a consumer's internals
//! (`o.info()`, `o.isActive()`) they ask `CONSUMER.INFO` (`push_bound` is Go's
//! `o.isPushMode() && o.active`).

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use ported::jetstream::{run_basic_jetstream_server, JsServer, PubAck};
use ported::js_context::JsContext;

mod acks;
mod config;
mod consumer_api;
mod cross_account;
mod filter_checks;
mod filters;
mod internals;
mod misc;
mod pacing;
mod pause;
mod pending_state;
mod priority;
mod pull;
mod push;
mod store;
mod teardown;

/// The two storage kinds Go's table tests run over: (sub-test name, JSON value).
const STORAGES: [(&str, &str); 2] = [("MemoryStore", "memory"), ("FileStore", "file")];

/// Go's `RunBasicJetStreamServer` and `jsClientConnect`.
fn server_and_client() -> (JsServer, JsContext) {
    let s = run_basic_jetstream_server();
    let js = JsContext::connect(s.addr());
    (s, js)
}

/// Go's `sendStreamMsg`: a publish answered by an ack without error.
#[track_caller]
fn send_stream_msg(js: &mut JsContext, subject: &str, msg: &str) -> PubAck {
    js.publish(subject, &[], msg.as_bytes())
        .unwrap_or_else(|e| panic!("publish {msg:?} on {subject}: {e:?}"))
}
