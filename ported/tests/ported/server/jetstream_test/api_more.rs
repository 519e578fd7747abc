//! Ports of `server/jetstream_test.go` about how the API answers: strict decoding of
//! requests, accounts with JetStream turned on and off, and JetStream across a reload.
//! Where Go calls `acc.EnableJetStream` / `DisableJetStream` these ports call
//! `JetStream::enable_account` / `disable_account`; where Go reads
//! `JetStreamReservedResources` they read the monitor's usage stats (the bytes streams
//! reserve).

use super::send_stream_msg;
use natsd::jetstream::api::types::JetStreamAccountLimits;
use ported::jetstream::{
    api_result, check_for, run_basic_jetstream_server, run_jetstream_server_with_conf, JsClient,
    NatsConn,
};
use ported::port;
use ported::support::{create_conf_file, load_config, run_server};
use serde_json::{json, Value};
use std::time::Duration;

/// Bytes reserved by streams on the server: (memory, store) (Go's
/// `JetStreamReservedResources`).
fn reserved_resources(js: &natsd::jetstream::JetStream) -> (u64, u64) {
    let stats = natsd::monitor::jsz::snapshot(js, Default::default()).stats();
    (stats.reserved_memory, stats.reserved_storage)
}

port!("server/jetstream_test.go::TestJetStreamStrictMode" => jet_stream_strict_mode);
fn jet_stream_strict_mode() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		jetstream: {{
			strict: true
			enabled: true
			max_file_store: 100MB
			store_dir: {dir:?}
			limits: {{duplicate_window: "1m", max_request_batch: 250}}
		}}
	"#
        )
    });
    let mut nc = NatsConn::connect(s.addr());
    let tests = [
        (
            "Stream Create",
            "$JS.API.STREAM.CREATE.TEST_STREAM",
            r#"{"name":"TEST_STREAM","subjects":["test.>"],"extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
        (
            "Stream Update",
            "$JS.API.STREAM.UPDATE.TEST_STREAM",
            r#"{"name":"TEST_STREAM","subjects":["test.>"],"extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
        (
            "Stream Delete",
            "$JS.API.STREAM.DELETE.TEST_STREAM",
            r#"{"extra_field":"unexpected"}"#,
            "expected an empty request payload",
        ),
        (
            "Stream Info",
            "$JS.API.STREAM.INFO.TEST_STREAM",
            r#"{"extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
        (
            "Consumer Create",
            "$JS.API.CONSUMER.CREATE.TEST_STREAM.TEST_CONSUMER",
            r#"{"durable_name":"TEST_CONSUMER","ack_policy":"explicit","extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
        (
            "Consumer Delete",
            "$JS.API.CONSUMER.DELETE.TEST_STREAM.TEST_CONSUMER",
            r#"{"extra_field":"unexpected"}"#,
            "expected an empty request payload",
        ),
        (
            "Consumer Info",
            "$JS.API.CONSUMER.INFO.TEST_STREAM.TEST_CONSUMER",
            r#"{"extra_field":"unexpected"}"#,
            "expected an empty request payload",
        ),
        (
            "Stream List",
            "$JS.API.STREAM.LIST",
            r#"{"extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
        (
            "Consumer List",
            "$JS.API.CONSUMER.LIST.TEST_STREAM",
            r#"{"extra_field":"unexpected"}"#,
            "invalid JSON",
        ),
    ];
    for (name, subject, payload, expected) in tests {
        let resp = nc
            .request(subject, &[], payload.as_bytes(), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{name}: Request failed: {e:?}"));
        let api: Value = serde_json::from_slice(&resp.payload)
            .unwrap_or_else(|e| panic!("{name}: Error unmarshalling response: {e}"));
        let description = api["error"]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: expected an error description, got {api}"));
        assert!(
            description.contains(expected),
            "{name}: {description:?} does not contain {expected:?}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamEnableAndDisableAccount" => jet_stream_enable_and_disable_account);
fn jet_stream_enable_and_disable_account() {
    let s = run_basic_jetstream_server();
    let server = s.shared().clone();
    let js = server.jetstream().expect("JetStream is on");

    // Global in simple setup should be enabled already.
    assert!(
        js.account("$G").is_some(),
        "Expected to have jetstream enabled on global account"
    );
    assert_eq!(js.accounts().len(), 1, "Expected 1 account");

    js.disable_account(&server, "$G")
        .unwrap_or_else(|e| panic!("Did not expect error on disabling account: {e}"));
    assert_eq!(js.accounts().len(), 0, "Expected no accounts");
    // Make sure we unreserved resources.
    assert_eq!(
        reserved_resources(&js),
        (0, 0),
        "Expected reserved memory and store to be 0"
    );

    let foo_acc = server.accounts.register("$FOO").expect("register $FOO");
    js.enable_account(&server, &foo_acc, JetStreamAccountLimits::UNLIMITED)
        .unwrap_or_else(|e| panic!("Did not expect error on enabling account: {e}"));
    assert_eq!(js.accounts().len(), 1, "Expected 1 account");
    js.disable_account(&server, "$FOO")
        .unwrap_or_else(|e| panic!("Did not expect error on disabling account: {e}"));
    assert_eq!(js.accounts().len(), 0, "Expected no accounts");

    // We should get error if disabling something not enabled.
    server.accounts.register("$BAR").expect("register $BAR");
    assert!(
        js.disable_account(&server, "$BAR").is_err(),
        "Expected error on disabling account that was not enabled"
    );
    // Should get an error for trying to enable a non-registered account.
    let unregistered = std::sync::Arc::new(natsd::account::Account::new("$BAZ", "", true));
    assert!(
        js.enable_account(&server, &unregistered, JetStreamAccountLimits::UNLIMITED)
            .is_err(),
        "Expected error on enabling account that was not registered"
    );
}

port!("server/jetstream_test.go::TestJetStreamServerReload" => jet_stream_server_reload);
fn jet_stream_server_reload() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		listen: 127.0.0.1:-1
		jetstream: {{max_mem_store: 64GB, max_file_store: 10TB, store_dir: {dir:?} }}
		accounts: {{
			A: {{ users: [ {{user: ua, password: pwd}} ] }},
			B: {{
				jetstream: {{max_mem: 1GB, max_store: 1TB, max_streams: 10, max_consumers: 1k}}
				users: [ {{user: ub, password: pwd}} ]
			}},
			SYS: {{ users: [ {{user: uc, password: pwd}} ] }},
		}}
		no_auth_user: ub
		system_account: SYS
	"#
        )
    });
    let server = s.shared().clone();
    assert!(
        server.jetstream().is_some(),
        "Expected JetStream to be enabled"
    );

    // Client for API requests.
    let mut js = JsClient::connect(s.addr());
    let check_js_account = |js: &mut JsClient| {
        let resp = js.request("$JS.API.INFO", None);
        assert_eq!(
            resp["type"], "io.nats.jetstream.api.v1.account_info_response",
            "{resp}"
        );
    };
    check_js_account(&mut js);

    // Go adds the stream on the account itself; the port asks as the account's user.
    api_result(js.request(
        "$JS.API.STREAM.CREATE.22",
        Some(&json!({"name": "22", "storage": "file"})),
    ))
    .unwrap_or_else(|e| panic!("add stream: {e}"));

    let to_send: u64 = 10;
    for i in 0..to_send {
        send_stream_msg(&mut js, "22", &format!("MSG: {}", i + 1));
    }
    let stream = server
        .jetstream()
        .and_then(|j| j.account("B"))
        .and_then(|a| a.stream("22"))
        .expect("stream 22 of B");
    let msgs = stream.store().fast_state().msgs;
    assert_eq!(msgs, to_send, "Expected {to_send} messages, got {msgs}");

    server
        .reload()
        .unwrap_or_else(|e| panic!("Error on server reload: {e}"));

    // The client stays connected through a reload that changes nothing.
    check_for(Duration::from_secs(5), Duration::from_millis(10), || {
        js.conn.flush();
        Ok(())
    });

    check_js_account(&mut js);
    send_stream_msg(&mut js, "22", "MSG: 22");
}

port!("server/jetstream_test.go::TestJetStreamConfigReloadWithGlobalAccount" => jet_stream_config_reload_with_global_account);
fn jet_stream_config_reload_with_global_account() {
    let tdir = tempfile::tempdir().unwrap();
    let template = |pwd: &str| {
        format!(
            r#"
		listen: 127.0.0.1:-1
		authorization {{
			users [
				{{user: anonymous}}
				{{user: user1, password: {pwd}}}
			]
		}}
		no_auth_user: anonymous
		jetstream {{
			store_dir = {:?}
		}}
	"#,
            tdir.path()
        )
    };
    let conf = create_conf_file(template("pwd").as_bytes());
    let srv = run_server(load_config(&conf));

    // Client for API requests.
    let mut js = JsClient::connect(srv.addr);
    let check_js_account = |js: &mut JsClient| {
        js.account_info()
            .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    };
    check_js_account(&mut js);

    js.add_stream(json!({"name": "foo"}))
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    let to_send: u64 = 10;
    for i in 0..to_send {
        js.publish_ok("foo", format!("MSG: {}", i + 1).as_bytes());
    }
    let state = js.stream_state("foo");
    assert_eq!(
        state.msgs, to_send,
        "Expected {to_send} msgs after restart, got {}",
        state.msgs
    );

    std::fs::write(&conf, template("pwd2")).expect("Error writing config");
    srv.shared()
        .reload()
        .unwrap_or_else(|e| panic!("Error during config reload: {e}"));

    let mut js = JsClient::connect(srv.addr);
    // Try to add a new stream to the global account.
    js.add_stream(json!({"name": "bar"}))
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    check_js_account(&mut js);
}

port!("server/jetstream_test.go::TestIsJSONObjectOrArray" => is_json_object_or_array);
fn is_json_object_or_array() {
    let tests: &[(&str, &[u8], bool)] = &[
        ("empty", b"", false),
        ("empty_object", b"{}", true),
        ("empty object, not trimmed", b"\t\n\r{ }", true),
        ("empty_array", b"[]", true),
        ("empty array, not trimmed", b"\t\n\r[ ]", true),
        // This is a valid JSON, but it's not a JSON object or array.
        ("empty_string", b"\"\"", false),
        ("whitespace_only", b"   ", false),
        ("object_with_whitespace", b"{   }", true),
        ("array_with_whitespace", b"[   ]", true),
        ("string_with_whitespace", b"   \"text\"", false),
        ("number", b"123", false),
        ("boolean_true", b"true", false),
        ("boolean_false", b"false", false),
        ("null_value", b"null", false),
        ("invalid JSON", b"invalid", false),
    ];
    for (name, data, valid) in tests {
        assert_eq!(
            natsd::jetstream::api::is_json_object_or_array(data),
            *valid,
            "{name}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamStoreDirectoryFix" => jet_stream_store_directory_fix);
fn jet_stream_store_directory_fix() {
    let base = tempfile::tempdir().unwrap();
    let sd = base.path().join("sd_test");
    let conf = create_conf_file(
        format!("listen: 127.0.0.1:-1\njetstream: {{store_dir: {sd:?}}}\n").as_bytes(),
    );

    let mut srv = run_server(load_config(&conf));
    let mut js = JsClient::connect(srv.addr);
    js.add_stream(json!({"name": "TEST"}))
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    js.publish_ok("TEST", b"TSS");
    // Push based.
    js.subscribe_sync("TEST", json!({"durable_name": "dlc"}))
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));

    // Now shutdown the server.
    drop(js);
    srv.shutdown();

    // Now move stuff up from the jetstream directory etc.
    let jssd = sd.join("jetstream");
    for fi in std::fs::read_dir(&jssd).unwrap() {
        let name = fi.unwrap().file_name();
        std::fs::rename(jssd.join(&name), sd.join(&name)).unwrap();
    }
    std::fs::remove_dir_all(&jssd).unwrap();

    // Restart our server. Make sure our assets got moved.
    let srv = run_server(load_config(&conf));
    let mut js = JsClient::connect(srv.addr);
    let names = js.stream_names(None);
    assert_eq!(names.len(), 1, "Expected only 1 stream but got {names:?}");
    let names = js.consumer_names("TEST").unwrap();
    assert_eq!(names.len(), 1, "Expected only 1 consumer but got {names:?}");
}
