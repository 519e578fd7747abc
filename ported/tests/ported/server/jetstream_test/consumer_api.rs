//! The JetStream API with consumers in the picture: creating and listing them by hand,
//! message deletes and headers seen through a consumer, pull requests nobody waits for,
//! consumer type changes, account usage drained by a consumer.

use super::consumer_support::{check_sub_pending, worker_mode_config};
use super::*;
use ported::jetstream::{
    check_for, new_inbox, next_subject, parse_go_time, run_basic_jetstream_server,
    run_jetstream_server_with_conf, JsClient, RequestError, StreamState,
};
use ported::port;
use serde_json::json;

/// Go's `JSApiLevel`.
const JS_API_LEVEL: u64 = 4;
/// Go's `JSApiNamesLimit` and `JSApiListLimit`.
const NAMES_LIMIT: u64 = 1024;
const LIST_LIMIT: u64 = 256;

/// Go's `checkNatsError`: the response's error has the error code `err_code`.
#[track_caller]
fn check_nats_error(resp: &Value, err_code: u64) {
    assert_eq!(
        resp["error"]["err_code"], err_code,
        "Did not get NATS Error {err_code}: {resp}"
    );
}

/// A `created` time within a second of now (Go: `time.Since(created) > time.Second`).
#[track_caller]
fn check_created(v: &Value) {
    let created = parse_go_time(v["created"].as_str().expect("created time"));
    let since = ported::jetstream::now_nanos() - created;
    assert!(since <= 1_000_000_000, "Created time seems wrong: {v}");
}

port!("server/jetstream_test.go::TestJetStreamRequestAPI" => request_api);
fn request_api() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let info = js.request("$JS.API.INFO", None);
    assert_eq!(info["api"]["level"], JS_API_LEVEL);

    // A stream.
    let mut cfg = json!({
        "name": "MSET22", "storage": "file", "subjects": ["foo", "bar", "baz"], "max_msgs": 100,
    });
    let resp = js.request("$JS.API.STREAM.CREATE.MSET22", Some(&cfg));
    assert!(
        resp.get("error").is_none() && resp.get("config").is_some(),
        "Did not receive correct response: {resp}"
    );
    check_created(&resp);
    // The name in the subject must be the config's.
    let resp = js.request("$JS.API.STREAM.CREATE.BOB", Some(&cfg));
    check_nats_error(&resp, 10056);
    // Update.
    cfg["max_bytes"] = json!(2222222);
    let resp = js.request("$JS.API.STREAM.UPDATE.MSET22", Some(&cfg));
    assert!(
        resp.get("error").is_none() && resp.get("config").is_some(),
        "Did not receive correct response: {resp}"
    );
    // Updating a stream that is not there.
    let unknown = json!({"name": "UNKNOWN_STREAM", "storage": "file", "subjects": ["foo"]});
    let resp = js.request("$JS.API.STREAM.UPDATE.UNKNOWN_STREAM", Some(&unknown));
    assert!(
        resp.get("config").is_none() && resp["error"]["code"] == 404,
        "Unexpected error: {resp}"
    );
    let info = js.request("$JS.API.INFO", None);
    assert_eq!(info["streams"], 1, "Expected to see 1 Stream");

    // Names.
    let names = js.request("$JS.API.STREAM.NAMES", None);
    assert_eq!(
        names["streams"].as_array().map(Vec::len),
        Some(1),
        "Expected only 1 stream"
    );
    assert_eq!(names["total"], 1, "Expected total to be 1");
    assert_eq!(names["offset"], 0, "Expected offset to be 0");
    assert_eq!(
        names["limit"], NAMES_LIMIT,
        "Expected limit to be {NAMES_LIMIT}"
    );
    assert_eq!(names["streams"][0], "MSET22");
    // The detailed list.
    let list = js.request("$JS.API.STREAM.LIST", None);
    assert_eq!(
        list["streams"].as_array().map(Vec::len),
        Some(1),
        "Expected only 1 stream"
    );
    assert_eq!(list["total"], 1, "Expected total to be 1");
    assert_eq!(list["offset"], 0, "Expected offset to be 0");
    assert_eq!(
        list["limit"], LIST_LIMIT,
        "Expected limit to be {LIST_LIMIT}"
    );
    assert_eq!(list["streams"][0]["config"]["name"], "MSET22");

    // Messages, then info.
    let to_send = 10;
    for _ in 0..to_send {
        let _ = js
            .conn
            .request("foo", &[], b"WELCOME JETSTREAM", Duration::from_secs(1));
    }
    let msi = js.request("$JS.API.STREAM.INFO.MSET22", None);
    assert_eq!(
        msi["state"]["messages"], to_send,
        "Expected to get {to_send} msgs"
    );
    check_created(&msi);
    let resp = js.request("$JS.API.STREAM.INFO.BOB", None);
    check_nats_error(&resp, 10059);

    // An ephemeral consumer nobody listens to yet.
    let delivery = new_inbox();
    let req = json!({"stream_name": "MSET22", "config": {"deliver_subject": delivery}});
    let resp = js.request("$JS.API.CONSUMER.CREATE.MSET22", Some(&req));
    assert!(
        resp.get("error").is_none() && resp.get("name").is_some(),
        "Got a bad response {resp}"
    );
    check_created(&resp);
    let sid = js.conn.subscribe(&delivery);
    js.conn.flush();
    check_sub_pending(&mut js, sid, to_send, Duration::from_secs(2));
    // The stream in the subject must be the request's.
    let resp = js.request("$JS.API.CONSUMER.CREATE.BOB", Some(&req));
    check_nats_error(&resp, 10056);

    // The consumers of the stream.
    let names = js.request("$JS.API.CONSUMER.NAMES.MSET22", None);
    let consumers = names["consumers"].as_array().cloned().unwrap_or_default();
    assert_eq!(consumers.len(), 1, "Expected only 1 consumer");
    let c_name = consumers[0].as_str().unwrap().to_string();
    let oinfo = js.cinfo("MSET22", &c_name);
    assert_eq!(
        oinfo.name.len(),
        8,
        "Expected ephemeral name, got {:?}",
        oinfo.name
    );
    assert!(
        oinfo.config["durable_name"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "Expected no durable name"
    );
    assert_eq!(oinfo.config["deliver_subject"], json!(delivery));
    assert_eq!(
        oinfo.delivered.consumer, 10,
        "Expected consumer delivered sequence of 10"
    );
    assert_eq!(oinfo.ack_floor.consumer, 10, "Expected ack floor to be 10");

    let resp = js.request(&format!("$JS.API.CONSUMER.DELETE.MSET22.{c_name}"), None);
    assert!(
        resp["success"] == true && resp.get("error").is_none(),
        "Got a bad response {resp}"
    );

    // No durable through the ephemeral endpoint.
    let req = json!({"stream_name": "MSET22", "config": {"durable_name": "myd", "deliver_subject": delivery}});
    let resp = js.request("$JS.API.CONSUMER.CREATE.MSET22", Some(&req));
    check_nats_error(&resp, 10020);
    // The durable endpoint with the right name.
    let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.MSET22.myd", Some(&req));
    assert!(
        resp.get("error").is_none() && resp.get("name").is_some(),
        "Did not receive correct response: {resp}"
    );
    // The durable endpoint without a durable name in the config.
    let req2 = json!({"stream_name": "MSET22", "config": {"deliver_subject": delivery}});
    let resp = js.request("$JS.API.CONSUMER.DURABLE.CREATE.MSET22.myd", Some(&req2));
    check_nats_error(&resp, 10018);

    // Delete a message.
    let resp = js.request("$JS.API.STREAM.MSG.DELETE.MSET22", Some(&json!({"seq": 2})));
    assert!(
        resp["success"] == true && resp.get("error").is_none(),
        "Got a bad response {resp}"
    );
    // Purge.
    let resp = js.request("$JS.API.STREAM.PURGE.MSET22", None);
    assert!(
        resp["success"] == true && resp.get("error").is_none(),
        "Got a bad response {resp}"
    );
    assert_eq!(resp["purged"], 9, "Expected 9 purged");
    // Delete the stream.
    let resp = js.request("$JS.API.STREAM.DELETE.MSET22", None);
    assert!(
        resp["success"] == true && resp.get("error").is_none(),
        "Got a bad response {resp}"
    );
    let info = js.request("$JS.API.INFO", None);
    assert_eq!(info["streams"], 0, "Expected no remaining streams");

    // Requests without arguments take nothing or an empty JSON object.
    for arg in ["", "{}", " {} ", " { } "] {
        let resp = js.request_raw("$JS.API.STREAM.DELETE.foo_bar_baz", arg.as_bytes());
        assert_eq!(
            resp["error"]["code"], 404,
            "Got a bad response, expected a 404 response {resp}"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamDeleteMsg" => delete_msg);
fn delete_msg() {
    for (_, storage) in STORAGES {
        let mut s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "retention": "limits", "max_age": HOUR, "storage": storage,
            "num_replicas": 1,
        }))
        .unwrap();
        let pub_ten = |js: &mut JsClient| {
            for _ in 0..10 {
                let _ = js.publish("foo", &[], b"Hello World!");
            }
        };
        pub_ten(&mut js);
        let state = js.stream_state("foo");
        assert_eq!(state.msgs, 10);
        let bytes_per_msg = state.bytes / 10;
        assert!(bytes_per_msg > 0, "Expected non-zero bytes for msg size");

        // Without the deleted details, times compared as instants.
        let comparable = |mut st: StreamState| {
            st.deleted.clear();
            st.num_deleted = 0;
            st.subjects.clear();
            let first = parse_go_time(&st.first_ts);
            let last = parse_go_time(&st.last_ts);
            st.first_ts.clear();
            st.last_ts.clear();
            (st, first, last)
        };
        let delete_and_check = |js: &mut JsClient, seq: u64, expected_first: u64| {
            let before = js.stream_state("foo");
            js.delete_msg("foo", seq).unwrap_or_else(|e| {
                panic!("Expected the delete of sequence {seq} to succeed: {e}")
            });
            let mut expected = before;
            expected.msgs -= 1;
            expected.bytes -= bytes_per_msg;
            expected.first_seq = expected_first;
            let sm = js.get_msg("foo", expected_first).unwrap_or_else(|e| {
                panic!("Error fetching message for seq: {expected_first} - {e}")
            });
            expected.first_ts = sm.time;
            let after = js.stream_state("foo");
            assert_eq!(
                comparable(after),
                comparable(expected),
                "Stats not what we expected"
            );
        };
        // The middle, the first, the last, gaps.
        delete_and_check(&mut js, 5, 1);
        delete_and_check(&mut js, 1, 2);
        delete_and_check(&mut js, 10, 2);
        delete_and_check(&mut js, 3, 2);
        delete_and_check(&mut js, 2, 4);
        js.purge_stream("foo", None).unwrap();
        pub_ten(&mut js);
        delete_and_check(&mut js, 11, 12);
        delete_and_check(&mut js, 15, 12);
        delete_and_check(&mut js, 16, 12);
        delete_and_check(&mut js, 20, 12);

        // File storage only from here: after a restart.
        if storage == "memory" {
            continue;
        }
        drop(js);
        s.restart();
        let mut js = s.client();
        let mut state = js.stream_state("foo");
        state.first_ts.clear();
        state.last_ts.clear();
        state.deleted.clear();
        state.num_deleted = 0;
        let expected = StreamState {
            msgs: 6,
            bytes: 6 * bytes_per_msg,
            first_seq: 12,
            last_seq: 20,
            num_subjects: 1,
            ..Default::default()
        };
        assert_eq!(state, expected, "State not what we expected");

        // A consumer gets the right sequences.
        let delivery = new_inbox();
        let sid = js.conn.subscribe(&delivery);
        js.conn.flush();
        js.add_consumer(
            "foo",
            json!({"deliver_subject": delivery, "filter_subject": "foo"}),
        )
        .unwrap();
        for expected in [12, 13, 14, 17, 18, 19] {
            let m = js.conn.next_msg(sid, Duration::from_secs(1)).unwrap();
            assert_eq!(
                m.ack_info().stream_seq,
                expected,
                "Expected store seq of {expected}"
            );
        }
    }
}

/// A request on a fresh inbox subscribed only while it waits (nats.go's old-style
/// request, `clientConnectWithOldRequest`).
fn old_request(
    js: &mut JsClient,
    subject: &str,
    timeout: Duration,
) -> Result<ported::jetstream::NatsMsg, RequestError> {
    let inbox = new_inbox();
    let sid = js.conn.subscribe(&inbox);
    js.conn.publish_request(subject, &inbox, b"");
    let m = js.conn.next_msg(sid, timeout);
    js.conn.unsubscribe(sid);
    m.ok_or(RequestError::Timeout)
}

port!("server/jetstream_test.go::TestJetStreamNextMsgNoInterest" => next_msg_no_interest);
fn next_msg_no_interest() {
    // Go's table runs the same file stream twice.
    for _ in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({"name": "foo", "storage": "file"}))
            .unwrap();
        js.add_consumer("foo", worker_mode_config("WQ")).unwrap();
        let next = next_subject("foo", "WQ");
        // A worker with a short timeout.
        assert_eq!(
            old_request(&mut js, &next, Duration::from_millis(1)).err(),
            Some(RequestError::Timeout),
            "Expected a timeout error and no response with acks suppressed"
        );
        // The worker above is gone: the next one gets the message.
        js.conn.publish("foo", b"OK");
        let msg = old_request(&mut js, &next, Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
        js.conn.publish(&msg.reply, b"");
        // Ten workers that go away.
        for _ in 0..10 {
            assert_eq!(
                old_request(&mut js, &next, Duration::from_micros(1)).err(),
                Some(RequestError::Timeout),
                "Expected a timeout error and no response with acks suppressed"
            );
        }
        for _ in 0..10 {
            js.conn.publish("foo", b"OK");
        }
        js.conn.flush();
        for i in 0..10 {
            let msg = old_request(&mut js, &next, Duration::from_secs(1))
                .unwrap_or_else(|e| panic!("Unexpected error for {i}: {e:?}"));
            js.conn.publish(&msg.reply, b"");
        }
        js.conn.flush();
        check_for(Duration::from_secs(1), Duration::from_millis(10), || {
            let o = js.cinfo("foo", "WQ");
            if o.ack_floor.stream != 11 || o.num_ack_pending > 0 {
                Err(format!("Inconsistent ack state: {o:?}"))
            } else {
                Ok(())
            }
        });
    }
}

port!("server/jetstream_test.go::TestJetStreamMsgHeaders" => msg_headers);
fn msg_headers() {
    for (_, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        js.add_stream(json!({
            "name": "foo", "retention": "limits", "max_age": HOUR, "storage": storage,
            "num_replicas": 1,
        }))
        .unwrap();
        let data = b"Hello JetStream Headers - #1!";
        js.conn.publish_msg(
            "foo",
            "",
            &[("Accept-Encoding", "json"), ("Authorization", "s3cr3t")],
            data,
        );
        js.conn.flush();
        check_for(Duration::from_secs(2), Duration::from_millis(250), || {
            let st = js.stream_state("foo");
            if st.msgs != 1 {
                Err(format!("Expected 1 message, got {}", st.msgs))
            } else if st.bytes == 0 {
                Err("Expected non-zero bytes".into())
            } else {
                Ok(())
            }
        });
        // The stored message: the header block as the client wrote it (keys sorted, as
        // http.Header.Write does).
        let sm = js.get_msg("foo", 1).unwrap();
        let hdr = b"NATS/1.0\r\nAccept-Encoding: json\r\nAuthorization: s3cr3t\r\n\r\n";
        assert_eq!(sm.header, hdr, "Message headers do not match");
        assert_eq!(sm.data, data, "Message data do not match");

        // Through a consumer.
        let inbox = new_inbox();
        let sid = js.conn.subscribe(&inbox);
        js.conn.flush();
        js.add_consumer("foo", json!({"deliver_subject": inbox}))
            .unwrap();
        let cm = js
            .conn
            .next_msg(sid, Duration::from_secs(1))
            .expect("Error getting message");
        assert!(
            cm.header_value("Accept-Encoding").as_deref() == Some("json")
                && cm.header_value("Authorization").as_deref() == Some("s3cr3t"),
            "Original headers not present"
        );
        assert_eq!(cm.payload, data, "Message payloads are not the same");
    }
}

port!("server/jetstream_test.go::TestJetStreamPushConsumersPullError" => push_consumers_pull_error);
fn push_consumers_pull_error() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    js.publish("TEST", &[], b"TSS").unwrap();
    let sub = js.subscribe_sync("TEST", json!({})).unwrap();
    let ci = js.cinfo(&sub.stream, &sub.consumer);
    // A pull on a push consumer.
    let m = js
        .conn
        .request(
            &next_subject("TEST", &ci.name),
            &[],
            b"",
            Duration::from_secs(1),
        )
        .unwrap();
    assert_eq!(m.status(), Some(409), "Expected a 409 status code");
}

port!("server/jetstream_test.go::TestJetStreamChangeConsumerType" => change_consumer_type);
fn change_consumer_type() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["test.*"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"name": "pull", "ack_policy": "explicit"}))
        .unwrap();
    // Pull to push: refused.
    let err = js
        .add_consumer(
            "TEST",
            json!({"name": "pull", "ack_policy": "explicit", "deliver_subject": "foo"}),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("can not update pull consumer to push based"),
        "{err}"
    );
    js.add_consumer(
        "TEST",
        json!({"name": "push", "ack_policy": "explicit", "deliver_subject": "foo"}),
    )
    .unwrap();
    // Push to pull: refused.
    let err = js
        .add_consumer("TEST", json!({"name": "push", "ack_policy": "explicit"}))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("can not update push consumer to pull based"),
        "{err}"
    );
}

/// A server whose account `A` (the default user's) has the JetStream limits `limits`;
/// Go sets them on the global account, which takes no configuration.
fn run_with_account_limits(limits: &str) -> ported::jetstream::JsServer {
    let limits = limits.to_string();
    run_jetstream_server_with_conf(move |dir| {
        format!(
            "listen: 127.0.0.1:-1\n\
             jetstream: {{store_dir: {:?}}}\n\
             accounts: {{ A: {{ jetstream: {{{limits}}}, \
             users: [{{user: a, password: a}}] }} }}\n\
             no_auth_user: a\n",
            dir.display().to_string()
        )
    })
}

/// Memory (`storage` false) or file usage of the account, and its stream count.
fn usage(js: &mut JsClient) -> (u64, u64, u64) {
    let info = js.account_info().unwrap();
    (
        info["memory"].as_u64().unwrap_or(0),
        info["storage"].as_u64().unwrap_or(0),
        info["streams"].as_u64().unwrap_or(0),
    )
}

/// The shared body of the memory and file tracking tests; the server and client at its
/// end.
fn storage_tracking(
    storage: &str,
    limits: &str,
    max_memory: u64,
) -> (ported::jetstream::JsServer, JsClient) {
    let s = run_with_account_limits(limits);
    let mut js = s.client();
    let used = |u: (u64, u64, u64)| if storage == "memory" { u.0 } else { u.1 };
    js.add_stream(json!({"name": "LIMITS", "storage": storage, "retention": "workqueue"}))
        .unwrap();
    let to_send = 100;
    for _ in 0..to_send {
        send_stream_msg(&mut js, "LIMITS", "Hello World!");
    }
    let state = js.stream_state("LIMITS");
    let u = usage(&mut js);
    assert_eq!(
        state.bytes,
        used(u),
        "Expected to have stream bytes match the usage"
    );
    assert_eq!(u.2, 1, "Expected to have 1 stream");

    // A second stream.
    js.add_stream(json!({"name": "NUM22", "storage": storage, "retention": "workqueue"}))
        .unwrap();
    for _ in 0..to_send {
        send_stream_msg(&mut js, "NUM22", "Hello World!");
    }
    let stats2 = js.stream_state("NUM22");
    let u = usage(&mut js);
    assert_eq!(
        used(u),
        state.bytes + stats2.bytes,
        "Expected to track both streams"
    );
    // Deleted: its bytes are no longer counted.
    js.delete_stream("NUM22").unwrap();
    let u = usage(&mut js);
    assert_eq!(used(u), state.bytes, "Expected to track both streams");

    // Drain the first one through a consumer.
    js.add_consumer("LIMITS", worker_mode_config("WQ")).unwrap();
    for _ in 0..to_send {
        let msg = js
            .conn
            .request(
                &next_subject("LIMITS", "WQ"),
                &[],
                b"",
                Duration::from_secs(1),
            )
            .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
        js.conn.publish(&msg.reply, b"");
    }
    js.conn.flush();
    check_for(Duration::from_secs(1), Duration::from_millis(15), || {
        let m = usage(&mut js).0;
        if m == 0 {
            Ok(())
        } else {
            Err(format!("Expected usage memory to be 0, got {m}"))
        }
    });

    // Twice as many: an error at some point (Go compares the answers with "+OK", which
    // a publish acknowledgement never is, so the first answer ends the loop).
    let mut err_seen = String::new();
    for _ in 0..to_send * 2 {
        let resp = js.conn.request(
            "LIMITS",
            &[],
            b"The quick brown fox jumped over the...",
            Duration::from_secs(1),
        );
        let data = resp.map(|m| m.payload).unwrap_or_default();
        if data != b"+OK" {
            err_seen = String::from_utf8_lossy(&data).into_owned();
            break;
        }
    }
    assert!(
        !err_seen.is_empty(),
        "Expected to see an error when exceeding the account limits"
    );
    check_for(Duration::from_secs(1), Duration::from_millis(15), || {
        let m = usage(&mut js).0;
        if m > max_memory {
            Err(format!(
                "Expected memory to not exceed limit of {max_memory}, got {m}"
            ))
        } else {
            Ok(())
        }
    });
    (s, js)
}

port!("server/jetstream_test.go::TestJetStreamStreamStorageTrackingAndLimits" => stream_storage_tracking_and_limits);
fn stream_storage_tracking_and_limits() {
    let (_s, mut js) = storage_tracking(
        "memory",
        "max_mem: 8192, max_file: -1, max_streams: -1, max_consumers: -1",
        8192,
    );
    // Go then updates the limits with the map it did not change (so with the same
    // limits) and sends 100 more, which fit.
    for _ in 0..100 {
        send_stream_msg(&mut js, "LIMITS", "Hello World!");
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamFileTrackingAndLimits" => stream_file_tracking_and_limits);
fn stream_file_tracking_and_limits() {
    let _ = storage_tracking(
        "file",
        "max_mem: 8192, max_file: 9600, max_streams: -1, max_consumers: -1",
        8192,
    );
}
