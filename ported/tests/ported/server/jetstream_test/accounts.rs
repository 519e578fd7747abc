//! Ports of `server/jetstream_test.go` where JetStream is reached from, or delivers to,
//! other accounts through exports and imports.
//! Where Go calls `acc.addStream` / `mset.addConsumer` these ports use a client of the
//! JetStream account; where Go reads `o.info()` they ask `CONSUMER.INFO`.

use super::send_stream_msg;
use ported::jetstream::{
    api_result, check_for, run_jetstream_server_with_conf, JsClient, NatsConn,
};
use ported::port;
use ported::support::{create_conf_file, run_server_with_config};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// A JetStream context for `user` (nats.go's `jsClientConnect` with `UserInfo`).
fn js_as(addr: std::net::SocketAddr, user: &str, pass: &str) -> JsClient {
    JsClient {
        conn: NatsConn::connect_as(addr, user, pass),
    }
}

/// The parsed JSON answer to a request on `subject` from `nc`.
#[track_caller]
fn request_json(nc: &mut NatsConn, subject: &str) -> Value {
    let m = nc
        .request(subject, &[], b"", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("request on {subject}: {e:?}"));
    serde_json::from_slice(&m.payload).expect("answer is JSON")
}

port!("server/jetstream_test.go::TestJetStreamAccountImportBasics" => jet_stream_account_import_basics);
fn jet_stream_account_import_basics() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		listen: 127.0.0.1:-1
		no_auth_user: rip
		jetstream: {{max_mem_store: 64GB, max_file_store: 10TB, store_dir: {dir:?}}}
		accounts: {{
			JS: {{
				jetstream: enabled
				users: [ {{user: dlc, password: foo}} ]
				exports [
					# This is for sending into a stream from other accounts.
					{{ service: "ORDERS.*" }}
					# This is for accessing a pull based consumer.
					{{ service: "$JS.API.CONSUMER.MSG.NEXT.*.*" }}
					# This is streaming to a delivery subject for a push based consumer.
					{{ stream: "deliver.ORDERS" }}
					# This is to ack received messages. This is a service to ack acks..
					{{ service: "$JS.ACK.ORDERS.*.>" }}
					{{ service: "$JS.ACK.*.*.ORDERS.*.>" }}
				]
			}},
			IU: {{
				users: [ {{user: rip, password: bar}} ]
				imports [
					{{ service: {{ subject: "ORDERS.*", account: JS }}, to: "my.orders.$1" }}
					{{ service: {{ subject: "$JS.API.CONSUMER.MSG.NEXT.ORDERS.d", account: JS }}, to: "nxt.msg" }}
					{{ stream:  {{ subject: "deliver.ORDERS", account: JS }}, to: "d" }}
					{{ service: {{ subject: "$JS.ACK.ORDERS.*.>", account: JS }} }}
					{{ service: {{ subject: "$JS.ACK.*.*.ORDERS.*.>", account: JS }} }}
				]
			}},
		}}
	"#,
            dir = dir.to_string_lossy()
        )
    });
    // Go adds the stream and consumers to the JS account directly.
    let mut owner = js_as(s.addr(), "dlc", "foo");
    owner
        .add_stream(json!({"name": "ORDERS", "subjects": ["ORDERS.*"]}))
        .unwrap();

    // The rip user (no_auth_user), who imports some of JS.
    let mut nc = JsClient::connect(s.addr());
    let pa = send_stream_msg(&mut nc, "my.orders.foo", "ORDERS-1");
    assert!(
        pa.stream == "ORDERS" && pa.sequence == 1,
        "Bad pubAck received: {pa:?}"
    );
    assert_eq!(owner.stream_state("ORDERS").msgs, 1, "Expected 1 message");
    let total = 2;
    for i in 2..=total {
        send_stream_msg(&mut nc, "my.orders.bar", &format!("ORDERS-{i}"));
    }
    assert_eq!(owner.stream_state("ORDERS").msgs, total as u64);

    // A pull consumer through the mapped next message request.
    owner
        .add_consumer(
            "ORDERS",
            json!({"durable_name": "d", "ack_policy": "explicit"}),
        )
        .unwrap();
    let m = nc
        .conn
        .request("nxt.msg", &[], b"", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("next message request: {e:?}"));
    assert_eq!(m.payload, b"ORDERS-1");

    // A push consumer delivering through the stream import (deliver.ORDERS -> d).
    owner
        .add_consumer(
            "ORDERS",
            json!({"durable_name": "p", "deliver_subject": "deliver.ORDERS", "ack_policy": "explicit"}),
        )
        .unwrap();
    let sid = nc.conn.subscribe("d");
    check_for(
        Duration::from_millis(250),
        Duration::from_millis(10),
        || match nc.conn.pending(sid) {
            n if n == total => Ok(()),
            n => Err(format!(
                "Did not receive correct number of messages: {n} vs {total}"
            )),
        },
    );
    let m = nc.conn.take_queued(sid).unwrap();
    // The subject stays the stored one across the account boundary.
    assert_eq!(m.subject, "ORDERS.foo");
    // An ack through the service import.
    nc.conn.publish(&m.reply, b"+ACK");
    nc.conn.flush();
    assert_eq!(
        owner.cinfo("ORDERS", "p").ack_floor.consumer,
        1,
        "Did not receive the ack properly"
    );

    let m = nc.conn.take_queued(sid).unwrap();
    assert_eq!(m.subject, "ORDERS.bar");
    // An ack with a reply: its answer comes back across the boundary too.
    let resp = nc
        .conn
        .request(&m.reply, &[], b"", Duration::from_millis(100));
    assert!(resp.is_ok(), "No response (error: {resp:?})");
    assert_eq!(
        owner.cinfo("ORDERS", "p").ack_floor.consumer,
        2,
        "Did not receive the ack properly"
    );
}

port!("server/jetstream_test.go::TestJetStreamAccountImportAll" => jet_stream_account_import_all);
fn jet_stream_account_import_all() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		listen: 127.0.0.1:-1
		no_auth_user: rip
		jetstream: {{max_mem_store: 64GB, max_file_store: 10TB, store_dir: {dir:?}}}
		accounts: {{
			JS: {{
				jetstream: enabled
				users: [ {{user: dlc, password: foo}} ]
				exports [ {{ service: "$JS.API.>" }} ]
			}},
			IU: {{
				users: [ {{user: rip, password: bar}} ]
				imports [ {{ service: {{ subject: "$JS.API.>", account: JS }}, to: "jsapi.>"}} ]
			}},
		}}
	"#,
            dir = dir.to_string_lossy()
        )
    });
    let mut owner = js_as(s.addr(), "dlc", "foo");
    owner
        .add_stream(json!({"name": "ORDERS", "subjects": ["ORDERS.*"]}))
        .unwrap();
    // The rip user, who imports all of JS.
    let mut nc = NatsConn::connect(s.addr());
    let map_subj = |subject: &str| subject.replacen("$JS.API.", "jsapi.", 1);
    let info = request_json(&mut nc, &map_subj("$JS.API.INFO"));
    assert!(info.get("error").is_none(), "Unexpected error: {info}");
    let names = request_json(&mut nc, &map_subj("$JS.API.STREAM.NAMES"));
    assert!(names.get("error").is_none(), "Unexpected error: {names}");
}

port!("server/jetstream_test.go::TestJetStreamCrossAccountsDeliverSubjectInterest" => jet_stream_cross_accounts_deliver_subject_interest);
fn jet_stream_cross_accounts_deliver_subject_interest() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		listen: 127.0.0.1:-1
		jetstream: {{max_mem_store: 4GB, max_file_store: 1TB, store_dir: {dir:?}}}
		accounts: {{
			A: {{
				jetstream: enabled
				users: [ {{user: a, password: pwd}} ]
				exports [
					{{ stream: "_d_" }}   # For the delivery subject for the consumer
				]
			}},
			B: {{
				users: [ {{user: b, password: pwd}} ]
				imports [
					{{ stream: {{ account: A, subject: "_d_"}}, to: "foo" }}
				]
			}},
		}}
	"#,
            dir = dir.to_string_lossy()
        )
    });
    let mut js = js_as(s.addr(), "a", "pwd");
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let to_send = 100;
    let msgs: Vec<(&str, &[u8])> = (0..to_send).map(|_| ("foo", &b"OK"[..])).collect();
    for ack in js.publish_async(&msgs) {
        assert!(
            ack.get("error").is_none(),
            "Unexpected publish error: {ack}"
        );
    }
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "deliver_subject": "_d_"}),
    )
    .unwrap();
    // The stream import alone must not look like interest.
    std::thread::sleep(Duration::from_millis(200));
    let ci = js.cinfo("TEST", "dlc");
    assert!(
        ci.num_pending == to_send && ci.delivered.consumer == 0,
        "Bad consumer info, looks like we started delivering: {ci:?}"
    );

    // Interest in the delivery subject through the import in B.
    let mut nc = NatsConn::connect_as(s.addr(), "b", "pwd");
    let sid = nc.subscribe("foo");
    check_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || match nc.pending(sid) {
            n if n as u64 == to_send => Ok(()),
            n => Err(format!(
                "Did not receive correct number of messages: {n} vs {to_send}"
            )),
        },
    );
    let ci = js.cinfo("TEST", "dlc");
    assert!(
        ci.num_pending == 0 && ci.delivered.consumer == to_send,
        "Bad consumer info, looks like we did not deliver: {ci:?}"
    );
}

/// Writes `text` as the configuration file and starts a server from it; the file's
/// path comes back for reloads.
fn run_with_conf_file(text: &str) -> (natsd::server::BackgroundServer, std::path::PathBuf) {
    let path = create_conf_file(text.as_bytes());
    let (s, _) = run_server_with_config(&path);
    (s, path)
}

/// Rewrites the configuration file and reloads (Go's `reloadUpdateConfig`).
fn reload_update_config(s: &natsd::server::BackgroundServer, path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    natsd::reload::reload(s.shared()).unwrap_or_else(|e| panic!("Error on reload: {e}"));
}

port!("server/jetstream_test.go::TestJetStreamImportReload" => jet_stream_import_reload);
fn jet_stream_import_reload() {
    let store_dir = tempfile::tempdir().unwrap();
    let dir = store_dir.path().to_string_lossy().into_owned();
    let (s, path) = run_with_conf_file(&format!(
        r#"
		listen: 127.0.0.1:-1
		jetstream: {{max_mem_store: 2MB, max_file_store: 8MB, store_dir: '{dir}'}}
		accounts: {{
			account_a: {{
				users: [{{user: user_a, password: pwd}}]
				exports: [{{stream: news.>}}]
			}}
			account_b: {{
				users: [{{user: user_b, password: pwd}}]
				jetstream: enabled
				imports: [{{stream: {{subject: news.>, account: account_a}}}}]
			}}
		}}"#
    ));
    let mut nc_a = NatsConn::connect_as(s.addr, "user_a", "pwd");
    let mut js_b = js_as(s.addr, "user_b", "pwd");
    js_b.add_stream(json!({"name": "news", "subjects": ["news.>"]}))
        .unwrap();
    nc_a.publish("news.article", b"");
    check_for(Duration::from_secs(1), Duration::from_millis(100), || {
        let si = api_result(js_b.request("$JS.API.STREAM.INFO.news", None))
            .map_err(|e| e.to_string())?;
        match si["state"]["messages"].as_u64() {
            Some(1) => Ok(()),
            n => Err(format!("require uint64 equal, but got: {n:?} != 1")),
        }
    });

    // The exports and imports go.
    reload_update_config(
        &s,
        &path,
        &format!(
            r#"
		listen: 127.0.0.1:-1
		jetstream: {{max_mem_store: 2MB, max_file_store: 8MB, store_dir: '{dir}'}}
		accounts: {{
			account_a: {{
				users: [{{user: user_a, password: pwd}}]
			}}
			account_b: {{
				users: [{{user: user_b, password: pwd}}]
				jetstream: enabled
			}}
		}}"#
        ),
    );
    nc_a.publish("news.article", b"");
    nc_a.flush();
    assert_eq!(js_b.stream_state("news").msgs, 1);
}

/// A key-value bucket as nats.go's `KeyValue` reaches it: the API under `api` (`$JS.API`
/// or an imported prefix), puts under `put_prefix` + `$KV.<bucket>.` (nats.go puts the
/// API prefix in front when it is not the default).
struct Kv {
    nc: NatsConn,
    api: String,
    put_prefix: String,
    bucket: String,
}

impl Kv {
    fn new(nc: NatsConn, api: &str, bucket: &str) -> Kv {
        let put_prefix = if api == "$JS.API" {
            String::new()
        } else {
            format!("{api}.")
        };
        Kv {
            nc,
            api: api.to_string(),
            put_prefix,
            bucket: bucket.to_string(),
        }
    }

    fn stream(&self) -> String {
        format!("KV_{}", self.bucket)
    }

    fn key_subject(&self, key: &str) -> String {
        format!("$KV.{}.{key}", self.bucket)
    }

    /// An API request; the JSON answer (it must come within Go's second).
    #[track_caller]
    fn api(&mut self, verb: &str, body: &Value) -> Value {
        let subject = format!("{}.{verb}", self.api);
        let m = self
            .nc
            .request(
                &subject,
                &[],
                body.to_string().as_bytes(),
                Duration::from_secs(1),
            )
            .unwrap_or_else(|e| panic!("request on {subject}: {e:?}"));
        serde_json::from_slice(&m.payload).expect("answer is JSON")
    }

    /// nats.go's `CreateKeyValue` (the stream it makes for `history`).
    fn create(&mut self, history: u64) {
        let stream = self.stream();
        let cfg = json!({
            "name": stream,
            "subjects": [format!("$KV.{}.>", self.bucket)],
            "max_msgs_per_subject": history,
            "max_bytes": -1, "max_age": 0, "max_msg_size": -1, "max_msgs": -1,
            "max_consumers": -1, "storage": "file", "num_replicas": 1, "discard": "new",
            "duplicate_window": 120_000_000_000i64, "allow_rollup_hdrs": true,
            "deny_delete": true, "allow_direct": true,
        });
        let resp = self.api(&format!("STREAM.CREATE.{stream}"), &cfg);
        assert!(
            resp.get("error").is_none(),
            "Error creating kv store: {resp}"
        );
    }

    /// A publish on the key with `headers`; the revision, or the error.
    fn publish(
        &mut self,
        key: &str,
        headers: &[(&str, &str)],
        value: &[u8],
    ) -> Result<u64, String> {
        let subject = format!("{}{}", self.put_prefix, self.key_subject(key));
        let m = self
            .nc
            .request(&subject, headers, value, Duration::from_secs(1))
            .map_err(|e| format!("{e:?}"))?;
        let ack: Value = serde_json::from_slice(&m.payload).map_err(|e| e.to_string())?;
        match ack.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(ack["seq"].as_u64().unwrap_or_default()),
        }
    }

    fn put(&mut self, key: &str, value: &[u8]) -> u64 {
        self.publish(key, &[], value)
            .unwrap_or_else(|e| panic!("Error on put: {e}"))
    }

    /// The key's last entry by direct get: (operation, value, revision); None when the
    /// key has no message.
    fn last(&mut self, key: &str) -> Option<(String, Vec<u8>, u64)> {
        let subject = format!(
            "{}.DIRECT.GET.{}.{}",
            self.api,
            self.stream(),
            self.key_subject(key)
        );
        let m = self
            .nc
            .request(&subject, &[], b"", Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("direct get {subject}: {e:?}"));
        if m.status() == Some(404) {
            return None;
        }
        let op = m
            .header_value("KV-Operation")
            .unwrap_or_else(|| "PUT".to_string());
        let seq = m
            .header_value("Nats-Sequence")
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        Some((op, m.payload, seq))
    }

    /// nats.go's `kv.Get`: the value, or None when the key is gone (no entry, or a
    /// delete or purge marker: `ErrKeyNotFound`).
    #[track_caller]
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        match self.last(key) {
            Some((op, value, _)) if op == "PUT" => Some(value),
            _ => None,
        }
    }

    /// nats.go's `kv.Watch(key)`: an ordered push consumer of the key's last entry on
    /// the inbox `deliver`. nats.go hands out a nil entry at once when nothing is there
    /// yet: the consumer has nothing pending.
    fn watch(&mut self, key: &str, deliver: &str) -> u64 {
        let sid = self.nc.subscribe(deliver);
        let stream = self.stream();
        let req = json!({"stream_name": stream, "config": {
            "deliver_subject": deliver, "deliver_policy": "last_per_subject",
            "ack_policy": "none", "filter_subject": self.key_subject(key),
            "flow_control": true, "idle_heartbeat": 5_000_000_000i64,
            "mem_storage": true, "num_replicas": 1,
        }});
        let info = self.api(&format!("CONSUMER.CREATE.{stream}"), &req);
        assert!(
            info.get("error").is_none(),
            "Error creating watcher: {info}"
        );
        assert_eq!(
            (
                info["num_pending"].as_u64(),
                info["delivered"]["stream_seq"].as_u64()
            ),
            (Some(0), Some(0)),
            "Expected nil entry, got {info}"
        );
        sid
    }

    /// The watcher's next entry within a second: (operation, value).
    #[track_caller]
    fn watch_next(&mut self, sid: u64) -> (String, Vec<u8>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let m = self
                .nc
                .next_msg(sid, left)
                .expect("Fail to get the next update");
            if m.status().is_some() {
                continue; // heartbeats and flow control
            }
            let op = m
                .header_value("KV-Operation")
                .unwrap_or_else(|| "PUT".to_string());
            return (op, m.payload);
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamCrossAccounts" => jet_stream_cross_accounts);
fn jet_stream_cross_accounts() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
		listen: 127.0.0.1:-1
        jetstream {{
			store_dir = {dir:?}
		}}
        accounts: {{
           A: {{
               users: [ {{user: a, password: a}} ]
               jetstream: enabled
               exports: [
                   {{service: '$JS.API.>' }}
                   {{service: '$KV.>'}}
                   {{stream: 'accI.>'}}
               ]
           }},
           I: {{
               users: [ {{user: i, password: i}} ]
               imports: [
                   {{service: {{account: A, subject: '$JS.API.>'}}, to: 'fromA.>' }}
                   {{service: {{account: A, subject: '$KV.>'}}, to: 'fromA.$KV.>' }}
                   {{stream: {{subject: 'accI.>', account: A}}}}
               ]
           }}
		}}"#,
            dir = dir.to_string_lossy()
        )
    });
    let mut kv1 = Kv::new(NatsConn::connect_as(s.addr(), "a", "a"), "$JS.API", "Map");
    kv1.create(10);
    let w1 = kv1.watch("map", "_INBOX.cross.w1");

    // Account I reaches A's JetStream through the imports; its inboxes start with accI
    // (nats.go's CustomInboxPrefix), which A exports back.
    let mut kv2 = Kv::new(NatsConn::connect_as(s.addr(), "i", "i"), "fromA", "Map");
    kv2.create(10);
    let w2 = kv2.watch("map", "accI.cross.w2");

    let rev = kv2.put("map", b"value");
    assert_eq!(
        kv1.get("map").as_deref(),
        Some(&b"value"[..]),
        "Unexpected entry"
    );
    assert_eq!(
        kv2.get("map").as_deref(),
        Some(&b"value"[..]),
        "Unexpected entry"
    );
    assert_eq!(kv1.watch_next(w1), ("PUT".to_string(), b"value".to_vec()));
    assert_eq!(kv2.watch_next(w2), ("PUT".to_string(), b"value".to_vec()));

    kv2.publish(
        "map",
        &[("Nats-Expected-Last-Subject-Sequence", &rev.to_string())],
        b"updated",
    )
    .unwrap_or_else(|e| panic!("Failed to update: {e}"));
    assert_eq!(kv1.get("map").as_deref(), Some(&b"updated"[..]));
    assert_eq!(kv2.get("map").as_deref(), Some(&b"updated"[..]));
    assert_eq!(kv1.watch_next(w1), ("PUT".to_string(), b"updated".to_vec()));
    assert_eq!(kv2.watch_next(w2), ("PUT".to_string(), b"updated".to_vec()));

    kv2.publish(
        "map",
        &[("KV-Operation", "PURGE"), ("Nats-Rollup", "sub")],
        b"",
    )
    .unwrap_or_else(|e| panic!("Error on purge: {e}"));
    assert_eq!(kv1.watch_next(w1).0, "PURGE", "Unexpected entry");
    assert_eq!(kv2.watch_next(w2).0, "PURGE", "Unexpected entry");

    // nats.go's PurgeDeletes(DeleteMarkersOlderThan(-1)): every key whose last entry is
    // a delete or purge marker is purged with nothing kept.
    let (op, _, _) = kv2.last("map").expect("the purge marker");
    assert_eq!(op, "PURGE");
    let stream = kv2.stream();
    let resp = kv2.api(
        &format!("STREAM.PURGE.{stream}"),
        &json!({"filter": "$KV.Map.map", "keep": 0}),
    );
    assert!(
        resp.get("error").is_none(),
        "Error on purge deletes: {resp}"
    );
    let si = kv1.api(&format!("STREAM.INFO.{stream}"), &json!({}));
    assert_eq!(
        si["state"]["messages"].as_u64(),
        Some(0),
        "Error getting stream info: {si}"
    );

    kv2.publish("map", &[("KV-Operation", "DEL")], b"")
        .unwrap_or_else(|e| panic!("Error on delete: {e}"));
    assert_eq!(kv1.get("map"), None, "Expected key not found");
}
