//! Republish (`republish`: every stored message published again on a mapped subject, or
//! only its headers) and stream subject transforms.

use super::direct_get::check_subs_pending;
use super::*;
use ported::jetstream::{run_basic_jetstream_server, ApiError};
use ported::port;
use serde_json::json;

/// 100 messages of 512 bytes on `subject`, all acknowledged.
fn publish_100(js: &mut JsClient, subject: &str) {
    let msg = vec![b'Z'; 512];
    let msgs: Vec<(&str, &[u8])> = (0..100).map(|_| (subject, &msg[..])).collect();
    for ack in js.publish_async(&msgs) {
        assert!(ack.get("error").is_none(), "{ack}");
    }
}

/// The error Go's `NewJSStreamInvalidConfigError` gives for a republish cycle.
#[track_caller]
fn require_cycle_error(r: Result<Value, ApiError>) {
    let e = r.expect_err("Expected error but got none");
    assert_eq!(e.err_code, 10052, "{e}");
    assert!(
        e.description
            .contains("republish destination forms a cycle"),
        "Expected cycle error, got {:?}",
        e.description
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishCycle" => stream_republish_cycle);
fn stream_republish_cycle() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    for (src, dest) in [
        ("foo.>", "foo.>"),
        ("bar.bar", "foo.bar"),
        ("baz", "bar.bar"),
    ] {
        let cfg = json!({"name": "RPC", "storage": "memory", "subjects": ["foo.>", "bar.*", "baz"],
            "republish": {"src": src, "dest": dest}});
        let resp = js.request("$JS.API.STREAM.CREATE.RPC", Some(&cfg));
        assert_eq!(
            resp["type"], "io.nats.jetstream.api.v1.stream_create_response",
            "Invalid response type"
        );
        require_cycle_error(ported::jetstream::api_result(resp));
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishOneTokenMatch" => stream_republish_one_token_match);
fn stream_republish_one_token_match() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(
        json!({"name": "Stream1", "storage": "memory", "subjects": ["one", "four"],
        "republish": {"src": "one", "dest": "uno", "headers_only": false}}),
    )
    .unwrap();
    let sid = js.conn.subscribe("uno");
    js.conn.flush();
    publish_100(&mut js, "one");
    check_subs_pending(&mut js.conn, sid, 100);
    let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
    assert!(!m.payload.is_empty(), "Expected msg data");
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishSuppressesInvalidSubject" => stream_republish_suppresses_invalid_subject);
fn stream_republish_suppresses_invalid_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(
        json!({"name": "Stream1", "storage": "memory", "subjects": ["one"],
        "republish": {"src": "one", "dest": "uno\r\nPUB hijack.subject 8\r\nhijacked!\r\n"}}),
    )
    .unwrap();
    let hijack = js.conn.subscribe("hijack.subject");
    let repub = js.conn.subscribe("uno");
    js.conn.flush();
    js.publish_ok("one", b"payload");
    // Nothing on either the hijack or the republish subject.
    assert!(js
        .conn
        .next_msg(hijack, Duration::from_millis(250))
        .is_none());
    assert!(js
        .conn
        .next_msg(repub, Duration::from_millis(250))
        .is_none());
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishLeftRightMappingFunctions" => stream_republish_left_right_mapping_functions);
fn stream_republish_left_right_mapping_functions() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    for (i, (dest, want)) in [("{{left(1,3)}}", "abc"), ("{{right(1,3)}}", "def")]
        .into_iter()
        .enumerate()
    {
        let in_subj = format!("in{i}.*");
        js.add_stream(
            json!({"name": format!("S{i}"), "storage": "memory", "subjects": [in_subj],
            "republish": {"src": in_subj, "dest": dest}}),
        )
        .unwrap();
        let sid = js.conn.subscribe(">");
        js.conn.flush();
        let published = format!("in{i}.abcdef");
        js.publish_ok(&published, b"x");
        // Both the original and the republished message arrive; the republished one on
        // the mapped subject (Go accepts any other subject).
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut got_repub = false;
        while !got_repub && std::time::Instant::now() < deadline {
            match js.conn.next_msg(sid, Duration::from_millis(100)) {
                Some(m) if m.subject == want => got_repub = true,
                _ => {}
            }
        }
        assert!(got_repub, "{dest}: no message on {want}");
        js.conn.unsubscribe(sid);
    }
}

/// One of the token-match tests: a stream on `subjects` republishing `src` to `dest`,
/// 100 messages on `publish_on`, and how many reach `listen`.
fn republish_count(
    subjects: Value,
    republish: Value,
    listen: &str,
    publish_on: &str,
    expected: usize,
) {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(
        json!({"name": "Stream1", "storage": "memory", "subjects": subjects,
        "republish": republish}),
    )
    .unwrap();
    let sid = js.conn.subscribe(listen);
    js.conn.flush();
    publish_100(&mut js, publish_on);
    check_subs_pending(&mut js.conn, sid, expected);
    if expected > 0 {
        let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
        assert!(!m.payload.is_empty(), "Expected msg data");
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishMultiTokenMatch" => stream_republish_multi_token_match);
fn stream_republish_multi_token_match() {
    republish_count(
        json!(["one.>", "four.>"]),
        json!({"src": "one.two.>", "dest": "uno.dos.>", "headers_only": false}),
        "uno.dos.>",
        "one.two.three",
        100,
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishAnySubjectMatch" => stream_republish_any_subject_match);
fn stream_republish_any_subject_match() {
    republish_count(
        json!(["one.>", "four.>"]),
        json!({"dest": "uno.dos.>", "headers_only": false}),
        "uno.dos.>",
        "one.two.three",
        100,
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishMultiTokenNoMatch" => stream_republish_multi_token_no_match);
fn stream_republish_multi_token_no_match() {
    republish_count(
        json!(["one.>", "four.>"]),
        json!({"src": "one.two.>", "dest": "uno.dos.>", "headers_only": true}),
        "uno.dos.>",
        "four.five.six",
        0,
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishOneTokenNoMatch" => stream_republish_one_token_no_match);
fn stream_republish_one_token_no_match() {
    republish_count(
        json!(["one", "four"]),
        json!({"src": "one", "dest": "uno", "headers_only": true}),
        "uno",
        "four",
        0,
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamRepublishHeadersOnly" => stream_republish_headers_only);
fn stream_republish_headers_only() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(
        json!({"name": "RPC", "storage": "memory", "subjects": ["foo", "bar", "baz"],
        "republish": {"dest": "RP.>", "headers_only": true}}),
    )
    .unwrap();
    let sid = js.conn.subscribe("RP.>");
    js.conn.flush();
    publish_100(&mut js, "foo");
    check_subs_pending(&mut js.conn, sid, 100);
    let mut last = "0".to_string();
    for _ in 0..100 {
        let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
        assert!(
            m.payload.is_empty(),
            "Expected no msg just headers, but got {} bytes",
            m.payload.len()
        );
        assert_eq!(m.header_value("Nats-Msg-Size").as_deref(), Some("512"));
        assert_eq!(
            m.header_value("Nats-Last-Sequence").unwrap_or_default(),
            last
        );
        last = m.header_value("Nats-Sequence").unwrap_or_default();
    }
}

port!("server/jetstream_test.go::TestJetStreamImplicitRePublishAfterSubjectTransform" => implicit_republish_after_subject_transform);
fn implicit_republish_after_subject_transform() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut cfg = json!({"name": "TEST", "subjects": ["a.>", "c.>"],
        "subject_transform": {"src": "a.>", "dest": "b.>"},
        // Republishes 'b.>' implicitly.
        "republish": {"dest": ">"}});
    // A cycle: the republish takes in 'c.>' too.
    require_cycle_error(js.add_stream(cfg.clone()));

    // No cycle once 'a.>' is all there is, mapped to 'b.>'.
    cfg["subjects"] = json!(["a.>"]);
    js.add_stream(cfg.clone()).unwrap();
    let sid = js.conn.subscribe("b.>");
    js.conn.flush();
    js.publish_ok("a.hello", b"");
    let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
    assert_eq!(m.subject, "b.hello");

    // A cycle again: the republish would now publish on 'c.>'.
    cfg["subjects"] = json!(["c.>"]);
    require_cycle_error(js.update_stream(cfg));
}

port!("server/jetstream_test.go::TestJetStreamInputTransform" => input_transform);
fn input_transform() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "T1", "subjects": ["foo"],
        "subject_transform": {"src": ">", "dest": "transformed.>"}, "storage": "memory"}))
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    js.publish_ok("foo", b"OK");
    let m = js.get_msg("T1", 1).unwrap();
    assert_eq!(
        m.subject, "transformed.foo",
        "Expected message subject transformed.foo"
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamTransformOverlap" => stream_transform_overlap);
fn stream_transform_overlap() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo.>"]}))
        .unwrap();
    let e = js
        .add_stream(
            json!({"name": "MIRROR", "mirror": {"name": "TEST", "subject_transforms": [
                {"src": "foo.*.bar", "dest": "baz"},
                {"src": "foo.bar.*", "dest": "baz"},
            ]}}),
        )
        .unwrap_err();
    assert!(e.to_string().contains("overlap"), "{e}");
}
