//! What a consumer leaves behind when it goes: the internal client and subscriptions of
//! deleted ephemerals, the tasks of a consumer replaying at the original rate.

use super::*;
use ported::jetstream::{check_for, JsClient, NatsConn};
use ported::js_context::MS;
use ported::port;
use serde_json::json;
use std::time::Duration;

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerInternalClientLeak" => consumer_internal_client_leak);
fn consumer_internal_client_leak() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "storage": "memory"}))
        .unwrap();
    let shared = s.shared().clone();
    let ga = shared.global_account().clone();
    let sa = shared.accounts.system().cloned().expect("a system account");
    let (ncb, nscb) = (
        shared.num_account_clients(&ga),
        shared.num_account_clients(&sa),
    );
    // natsd's internal clients are not connections: what they would leak is their
    // subscriptions in the account.
    let subs_before = ga.sublist.count();

    // Ten ephemerals, each deleted 500ms after its interest is gone.
    for _ in 0..10 {
        let ci = js
            .add_consumer("TEST", json!({"deliver_subject": "x"}))
            .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
        let name = ci["name"].as_str().unwrap().to_string();
        let o = s.consumer("TEST", &name);
        o.cursor.lock().config.inactive_threshold = 500 * MS;
        o.notify();
    }

    // They all go.
    check_for(Duration::from_secs(2), Duration::from_millis(100), || {
        let si = js.stream_info("TEST", None).unwrap();
        match si["state"]["consumer_count"].as_u64() {
            Some(0) => Ok(()),
            _ => Err("Consumers still present".into()),
        }
    });
    // No client or connection leaked.
    let nca = shared.num_account_clients(&ga);
    assert_eq!(nca, ncb, "Leaked clients in global account: {ncb} vs {nca}");
    let nsca = shared.num_account_clients(&sa);
    assert_eq!(
        nsca, nscb,
        "Leaked clients in system account: {nscb} vs {nsca}"
    );
    let subs_after = ga.sublist.count();
    assert_eq!(
        subs_after, subs_before,
        "Leaked subscriptions in global account"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerReplayQuit" => consumer_replay_quit);
fn consumer_replay_quit() {
    for (name, storage) in STORAGES {
        let s = run_basic_jetstream_server();
        let mut jsc = JsClient {
            conn: NatsConn::connect(s.addr()),
        };
        jsc.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        let shared = s.shared().clone();
        let mset = shared
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream("DC"))
            .expect("stream DC");

        // Two messages 100ms apart.
        let mut nc = NatsConn::connect(s.addr());
        let _ = nc.request("DC", &[], b"OK!", Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(100));
        let _ = nc.request("DC", &[], b"OK!", Duration::from_secs(1));
        let msgs = mset.store().state().msgs;
        assert_eq!(msgs, 2, "{name}: Expected 2 messages, got {msgs}");

        let inbox = ported::js_context::new_inbox();
        let sid = nc.subscribe(&inbox);
        nc.flush();

        // Replayed at the rate they came in.
        let ci = jsc
            .add_consumer(
                "DC",
                json!({"deliver_subject": inbox, "replay_policy": "original"}),
            )
            .unwrap_or_else(|e| panic!("{name}: Unexpected error: {e:?}"));
        let o = s.consumer("DC", &ci.name);

        // Its tasks are running; once it is deleted (Go's o.delete()) they end.
        std::thread::sleep(Duration::from_millis(50));
        let base = s.background().alive_tasks();
        let removed = mset.consumers.write().remove(&ci.name);
        assert!(removed.is_some(), "{name}: consumer not in its stream");
        o.delete(&shared);
        mset.consumer_deleted(o.cursor.lock().ack_floor.1);

        check_for(
            Duration::from_millis(100),
            Duration::from_millis(10),
            || match s.background().alive_tasks() {
                n if n < base => Ok(()),
                n => Err(format!(
                    "{name}: Consumer tasks still running ({n}, {base} before)"
                )),
            },
        );
        nc.unsubscribe(sid);
    }
}
