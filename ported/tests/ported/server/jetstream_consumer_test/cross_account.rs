//! Pull requests that reach a consumer through service imports from other accounts.

use super::*;
use ported::jetstream::{check_for, run_jetstream_server_with_conf, JsClient, NatsConn};
use ported::js_context::MS;
use ported::port;
use serde_json::json;
use std::time::Duration;

/// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` (Go's `JSApiRequestNextT`).
fn next_subject(stream: &str, consumer: &str) -> String {
    format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}")
}

/// Go's `checkSubsPending` on a plain connection: `n` messages arrive on `sid` within
/// 10s.
#[track_caller]
fn check_subs_pending(nc: &mut NatsConn, sid: u64, n: usize) {
    check_for(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || match nc.pending(sid) {
            got if got == n => Ok(()),
            got => Err(format!(
                "Did not receive correct number of messages {got} vs {n}"
            )),
        },
    );
}

/// Sets the inactive threshold of consumer `name` of stream `stream` in account `acc`,
/// counted from now (Go's `o.setInActiveDeleteThreshold` starts its timer again).
fn set_inactive_threshold(s: &JsServer, acc: &str, stream: &str, name: &str, ns: i64) {
    let o = s
        .shared()
        .jetstream()
        .and_then(|j| j.account(acc))
        .and_then(|a| a.stream(stream))
        .and_then(|st| st.consumers.read().get(name).cloned())
        .unwrap_or_else(|| panic!("Error looking up consumer {name:?}"));
    o.cursor.lock().config.inactive_threshold = ns;
    o.touch(natsd::monitor::gotime::now_nanos());
    o.notify();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPullCrossAccountExpires" => consumer_pull_cross_account_expires);
fn consumer_pull_cross_account_expires() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
            listen: 127.0.0.1:-1
            jetstream: {{max_mem_store: 4GB, max_file_store: 1TB, store_dir: {dir:?}}}
            accounts: {{
                JS: {{
                    jetstream: enabled
                    users: [ {{user: dlc, password: foo}} ]
                    exports [ {{ service: "$JS.API.CONSUMER.MSG.NEXT.>", response: stream }} ]
                }},
                IU: {{
                    users: [ {{user: mh, password: bar}} ]
                    imports [ {{ service: {{ subject: "$JS.API.CONSUMER.MSG.NEXT.*.*", account: JS }} }}]
                    # Exported again for the daisy chain below.
                    exports [ {{ service: "$JS.API.CONSUMER.MSG.NEXT.>", response: stream }} ]
                }},
                IU2: {{
                    users: [ {{user: ik, password: bar}} ]
                    imports [ {{ service: {{ subject: "$JS.API.CONSUMER.MSG.NEXT.*.*", account: IU }} }} ]
                }},
            }}
            "#
        )
    });

    // The JS account: a stream with messages.
    let mut js = JsClient {
        conn: NatsConn::connect_as(s.addr(), "dlc", "foo"),
    };
    js.add_stream(json!({"name": "PC", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..50 {
        js.publish_ok("foo", b"OK");
    }
    js.add_consumer(
        "PC",
        json!({"durable_name": "PC", "ack_policy": "explicit"}),
    )
    .unwrap();

    // From the importing account: a batch, answered as a stream of responses.
    let mut nc2 = NatsConn::connect_as(s.addr(), "mh", "bar");
    let req = json!({"batch": 10}).to_string();
    let rsubj = next_subject("PC", "PC");
    let sid = nc2.subscribe("xx");
    nc2.flush();
    nc2.publish_request(&rsubj, "xx", req.as_bytes());
    check_subs_pending(&mut nc2, sid, 10);

    // Requests queued up go when their requester's interest goes.
    js.purge_stream("PC", None).unwrap();
    for _ in 0..10 {
        nc2.publish_request(&rsubj, "xx", req.as_bytes());
    }
    nc2.flush();
    let ci = js.cinfo("PC", "PC");
    assert_eq!(
        ci.num_waiting, 10,
        "Expected to see 10 waiting requests, got {}",
        ci.num_waiting
    );
    nc2.unsubscribe(sid);
    check_for(
        Duration::from_secs(5),
        Duration::from_millis(10),
        || match js.cinfo("PC", "PC").num_waiting {
            0 => Ok(()),
            _ => Err("Requests still present".into()),
        },
    );

    // An ephemeral goes too once no interest is left.
    let ci = js
        .add_consumer("PC", json!({"ack_policy": "explicit"}))
        .unwrap();
    set_inactive_threshold(&s, "JS", "PC", &ci.name, 50 * MS);
    let rsubj = next_subject("PC", &ci.name);
    let sid = nc2.subscribe("zz");
    nc2.flush();
    nc2.publish_request(&rsubj, "zz", req.as_bytes());
    // Past the threshold it stays: its request has an interested requester.
    std::thread::sleep(Duration::from_millis(100));
    let got = js
        .consumer_info("PC", &ci.name)
        .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
    assert_eq!(
        got.num_waiting, 1,
        "Expected to see 1 waiting request, got {}",
        got.num_waiting
    );
    nc2.unsubscribe(sid);
    check_for(
        Duration::from_secs(5),
        Duration::from_millis(10),
        || match js.consumer_info("PC", &ci.name) {
            Ok(_) => Err("Consumer still present".into()),
            Err(_) => Ok(()),
        },
    );

    // Daisy chained: IU2 imports from IU, which imports from JS.
    for _ in 0..10 {
        js.publish_ok("foo", b"OK");
    }
    let ci = js
        .add_consumer("PC", json!({"ack_policy": "explicit"}))
        .unwrap();
    // Longer, to see requests purged and the ephemeral gone in one go.
    set_inactive_threshold(&s, "JS", "PC", &ci.name, 500 * MS);
    let mut nc3 = NatsConn::connect_as(s.addr(), "ik", "bar");
    let sid = nc3.subscribe("yy");
    nc3.flush();
    let rsubj = next_subject("PC", &ci.name);
    nc3.publish_request(&rsubj, "yy", req.as_bytes());
    check_subs_pending(&mut nc3, sid, 10);

    js.purge_stream("PC", None).unwrap();
    for _ in 0..10 {
        nc3.publish_request(&rsubj, "yy", req.as_bytes());
    }
    nc3.flush();
    let got = js.cinfo("PC", &ci.name);
    assert_eq!(
        got.num_waiting, 10,
        "Expected to see 10 waiting requests, got {}",
        got.num_waiting
    );
    nc3.unsubscribe(sid);
    check_for(
        Duration::from_secs(5),
        Duration::from_millis(10),
        || match js.cinfo("PC", &ci.name).num_waiting {
            0 => Ok(()),
            _ => Err("Requests still present".into()),
        },
    );
    // Ephemerals are deleted up to 1s late (Go's jitter).
    check_for(
        Duration::from_secs(6),
        Duration::from_millis(10),
        || match js.consumer_info("PC", &ci.name) {
            Ok(_) => Err("Consumer still present".into()),
            Err(_) => Ok(()),
        },
    );
}
