//! Odds and ends around consumers: reading a pull request's expiry, an encrypted store
//! read back through a consumer after restarts, a subject purge clearing acks pending on
//! an unfiltered consumer.

use super::*;
use ported::jetstream::{now_nanos, run_basic_jetstream_server, run_jetstream_server_with_conf};
use ported::port;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamNextReqFromMsg" => next_req_from_msg);
fn next_req_from_msg() {
    use natsd::jetstream::consumer::{parse_next_request, PullRequest};
    // Go's nextReqFromMsg returns the expiry as a time; natsd reads the duration and the
    // waiting request takes it from the time it is queued.
    let before = now_nanos() as i64;
    let req = parse_next_request(br#"{"expires":5000000000}"#).unwrap();
    let pr = PullRequest::new("reply", &req, now_nanos() as i64);
    let now = now_nanos() as i64;
    let expires = pr.expires.expect("an expiry");
    assert!(
        expires >= before + 5 * SECOND && expires <= now + 5 * SECOND,
        "Expires out of expected range"
    );
}

port!("server/jetstream_test.go::TestJetStreamServerEncryptionServerRestarts" => server_encryption_server_restarts);
fn server_encryption_server_restarts() {
    // Go sets JS_KEY in the environment for the configuration to read.
    std::env::set_var("JS_KEY", "s3cr3t!!");
    for cipher in ["", ", cipher: chacha", ", cipher: aes"] {
        let mut s = run_jetstream_server_with_conf(|dir| {
            format!(
                "server_name: S22\nlisten: 127.0.0.1:-1\njetstream: {{key: $JS_KEY, store_dir: '{}' {cipher}}}\n",
                dir.display()
            )
        });
        let mut js = s.client();
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "storage": "file"}))
            .unwrap();
        // Restarts drop what adding the stream and publishing kept in memory.
        drop(js);
        s.restart();
        let mut js = s.client();
        js.publish("foo", &[], b"ENCRYPTED PAYLOAD!!").unwrap();
        drop(js);
        s.restart();
        let mut js = s.client();
        // The data is still there.
        let sub = js.subscribe_sync("foo", json!({})).unwrap();
        let m = js
            .next_msg(&sub, Duration::from_secs(1))
            .expect("a message");
        assert_eq!(m.ack_info().stream_seq, 1);
    }
}

port!("server/jetstream_test.go::TestJetStreamSubjectFilteredPurgeClearsPendingAcks" => subject_filtered_purge_clears_pending_acks);
fn subject_filtered_purge_clears_pending_acks() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar"]}))
        .unwrap();
    for _ in 0..5 {
        let _ = js.publish("foo", &[], b"OK");
        let _ = js.publish("bar", &[], b"OK");
    }
    // No filter on purpose: unfiltered consumers are purged too.
    let ci = js
        .add_consumer(
            "TEST",
            json!({"name": "my_consumer", "ack_policy": "explicit", "max_ack_pending": 10}),
        )
        .unwrap();
    assert_eq!((ci.num_pending, ci.num_ack_pending), (10, 0));
    let mut sub = js.pull_bind("TEST", "my_consumer");
    let msgs = js.fetch(&mut sub, 10, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), 10);
    let ci = js.cinfo("TEST", "my_consumer");
    assert_eq!((ci.num_pending, ci.num_ack_pending), (0, 10));
    js.purge_stream("TEST", Some(json!({"filter": "foo"})))
        .unwrap();
    let ci = js.cinfo("TEST", "my_consumer");
    assert_eq!((ci.num_pending, ci.num_ack_pending), (0, 5));
    for _ in 0..5 {
        let _ = js.publish("foo", &[], b"OK");
    }
    let msgs = js.fetch(&mut sub, 5, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), 5);
    let ci = js.cinfo("TEST", "my_consumer");
    assert_eq!((ci.num_pending, ci.num_ack_pending), (0, 10));
}
