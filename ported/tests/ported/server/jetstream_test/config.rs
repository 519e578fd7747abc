//! Ports whose server is set up by a configuration file: a JetStream domain, account
//! limits, the server's duplicate-window limit.

use super::*;
use ported::jetstream::run_jetstream_server_with_conf;
use ported::port;
use serde_json::json;

port!("server/jetstream_test.go::TestJetStreamDomainInPubAck" => domain_in_pub_ack);
fn domain_in_pub_ack() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            "listen: 127.0.0.1:-1\njetstream: {{domain: \"HUB\", store_dir: {:?}}}\n",
            dir.display().to_string()
        )
    });
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "storage": "memory", "subjects": ["foo"]}))
        .unwrap();
    // By hand, as Go does.
    let am = js
        .conn
        .request("foo", &[], b"", Duration::from_secs(1))
        .unwrap();
    let pa = pub_ack_response(&am);
    assert_eq!(
        pa["domain"],
        json!("HUB"),
        "Expected PubAck to have domain of HUB, got {pa}"
    );
}

port!("server/jetstream_test.go::TestJetStreamStreamLimitUpdate" => stream_limit_update);
fn stream_limit_update() {
    // Go sets these limits on the global account; a configured account with a default
    // user stands in for it (the global account takes no configuration).
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            "listen: 127.0.0.1:-1\n\
             jetstream: {{store_dir: {:?}}}\n\
             accounts: {{ A: {{ jetstream: {{max_mem: 128, max_file: 128, max_streams: 1}}, \
             users: [{{user: a, password: a}}] }} }}\n\
             no_auth_user: a\n",
            dir.display().to_string()
        )
    });
    let mut js = s.client();
    // The account's limits are in force.
    let limits = js.account_info().unwrap()["limits"].clone();
    assert_eq!(
        (
            &limits["max_memory"],
            &limits["max_storage"],
            &limits["max_streams"]
        ),
        (&json!(128), &json!(128), &json!(1)),
        "{limits}"
    );
    for storage in ["memory", "file"] {
        let mut cfg = json!({
            "name": "TEST", "subjects": ["foo"], "storage": storage, "max_bytes": 32,
        });
        js.add_stream(cfg.clone()).unwrap();
        // The same config again is fine, and does not count against max streams.
        js.add_stream(cfg.clone()).unwrap();
        cfg["max_bytes"] = json!(16);
        js.update_stream(cfg).unwrap();
        js.delete_stream("TEST").unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamCreatePedanticMode" => stream_create_pedantic_mode);
fn stream_create_pedantic_mode() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            "jetstream: {{\n enabled: true\n max_file_store: 100MB\n store_dir: {:?}\n \
             limits: {{duplicate_window: \"1m\", max_request_batch: 250}}\n}}\n\
             accounts: {{ myacc: {{ jetstream: enabled\n users: [ {{ user: user, password: pass }} ] }} }}\n\
             no_auth_user: user\n",
            dir.display().to_string()
        )
    });
    let mut js = s.client();
    let minute = 60 * SECOND;
    // (name, max_age, duplicates, pedantic, update, should fail)
    let cases = [
        ("too_high_duplicate", minute, HOUR, true, false, true),
        ("duplicate_over_limits", 60 * HOUR, HOUR, false, false, true),
        (
            "duplicate_window_within_limits",
            60 * HOUR,
            30 * SECOND,
            false,
            false,
            false,
        ),
        ("update_too_high_duplicate", minute, HOUR, true, true, true),
    ];
    for (name, max_age, duplicates, pedantic, update, should_err) in cases {
        let req = json!({
            "name": "TEST", "max_age": max_age, "duplicate_window": duplicates,
            "storage": "file", "pedantic": pedantic,
        });
        let verb = if update { "UPDATE" } else { "CREATE" };
        let resp = js.request(&format!("$JS.API.STREAM.{verb}.TEST"), Some(&req));
        let want = format!(
            "io.nats.jetstream.api.v1.stream_{}_response",
            verb.to_lowercase()
        );
        assert_eq!(resp["type"], json!(want), "{name}: Invalid response type");
        let failed = ported::jetstream::api_result(resp.clone()).is_err();
        assert_eq!(failed, should_err, "{name}: {resp}");
    }
}

port!("server/jetstream_test.go::TestJetStreamBadSubjectMappingStream" => bad_subject_mapping_stream);
fn bad_subject_mapping_stream() {
    use ported::jetstream::{require_error, server_error_text};
    let s = ported::jetstream::run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "test"})).unwrap();
    // JSStreamUpdateErrF
    const UPDATE_ERR: u16 = 10069;
    let cases = [
        (
            json!({"name": "test", "sources": [{"name": "mapping", "subject_transforms": [
                {"src": "events.*", "dest": "events.{{wildcard(1)}}{{split(3,1)}}"}]}]}),
            "nats: source transform: invalid mapping destination: too many arguments passed to the function in {{wildcard(1)}}{{split(3,1)}}",
        ),
        (
            json!({"name": "test", "sources": [{"name": "mapping", "subject_transforms": [
                {"src": "events.>.*", "dest": "events.{{split(1,1)}}"}]}]}),
            "nats: source transform source: invalid subject events.>.*",
        ),
        (
            json!({"name": "test", "mirror": {"name": "mapping", "subject_transforms": [
                {"src": "events.*", "dest": "events.{{split(3,1)}}"}]}}),
            "nats: mirror transform: invalid mapping destination: wildcard index out of range in {{split(3,1)}}: [3]",
        ),
        (
            json!({"name": "test", "mirror": {"name": "mapping", "subject_transforms": [
                {"src": "events.>.*", "dest": "events.{{split(1,1)}}"}]}}),
            "nats: mirror transform source: invalid subject events.>.*",
        ),
        (
            json!({"name": "test", "subject_transform":
                {"src": "events.*", "dest": "events.{{split(3,1)}}"}}),
            "nats: stream transform: invalid mapping destination: wildcard index out of range in {{split(3,1)}}: [3]",
        ),
        (
            json!({"name": "test", "subject_transform":
                {"src": "events.>.*", "dest": "events.{{split(1,1)}}"}}),
            "nats: stream transform source: invalid subject events.>.*",
        ),
    ];
    for (config, expected) in cases {
        let e = js
            .update_stream(config.clone())
            .expect_err("the update must fail");
        require_error(&e.to_string(), &[&server_error_text(expected, UPDATE_ERR)]);
    }
}
