//! Async persistence of a stream (`persist_mode: async`): file storage only, fixed once
//! created, and its writes acknowledged before they are synced.

use ported::jetstream::{run_basic_jetstream_server, JsServer};
use ported::port;
use serde_json::json;

/// The stream `name` of the global account, inside the server.
fn stream_of(s: &JsServer, name: &str) -> std::sync::Arc<natsd::jetstream::stream::Stream> {
    s.shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream(name))
        .unwrap_or_else(|| panic!("stream {name}"))
}

port!("server/jetstream_test.go::TestJetStreamPersistModeAsync" => persist_mode_async);
fn persist_mode_async() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut cfg = json!({
        "name": "TEST", "subjects": ["foo"], "storage": "memory", "persist_mode": "async",
    });
    let err = js.add_stream(cfg.clone()).unwrap_err();
    ported::jetstream::require_error(
        &err.server_text(),
        &["async persist mode is only supported on file storage"],
    );
    assert_eq!(err.err_code, 10052, "stream invalid config: {err}");

    cfg["storage"] = json!("file");
    let si = js.add_stream(cfg.clone()).unwrap();
    assert_eq!(si["config"]["persist_mode"], json!("async"));

    let pub_ack = js.publish_ok("foo", b"");
    assert_eq!(pub_ack.sequence, 1);

    // Go's fs.fcfg.AsyncFlush: acknowledged before it is on stable storage.
    match &stream_of(&s, "TEST").store {
        natsd::jetstream::stream::StreamStore::File(fs) => assert!(!fs.is_durable()),
        natsd::jetstream::stream::StreamStore::Memory(_) => panic!("not a file store"),
    }

    cfg["persist_mode"] = json!("default");
    let err = js.update_stream(cfg).unwrap_err();
    ported::jetstream::require_error(
        &err.server_text(),
        &["stream configuration update can not change persist mode"],
    );
    assert_eq!(err.err_code, 10052, "stream invalid config: {err}");
}
