//! Consumers and what is on disk: corrupt consumer state, a stream that lost data, a
//! compacted stream, and consumers of a purged stream.

use super::*;
use ported::jetstream::{check_for, run_jetstream_server_with_conf};
use ported::js_context::{new_inbox, MsgExt, SubOpts, SEC};
use ported::port;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// A server from a configuration file with JetStream in a new store directory (Go's
/// `createConfFile` with `jetstream: {store_dir: ...}` and `RunServerWithConfig`).
fn conf_server() -> JsServer {
    run_jetstream_server_with_conf(|dir: &Path| {
        format!(
            "listen: 127.0.0.1:-1\njetstream: {{store_dir: {:?}}}\n",
            dir.display().to_string()
        )
    })
}

/// The directory of stream `name` of the global account under `store_dir`.
fn stream_dir(store_dir: &Path, name: &str) -> PathBuf {
    store_dir
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join(name)
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerWithCorruptStateIsDeleted" => consumer_with_corrupt_state_is_deleted);
fn consumer_with_corrupt_state_is_deleted() {
    let mut s = conf_server();
    let mut js = JsContext::connect(s.addr());
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "DURABLE"}))
        .unwrap();
    // In names and info.
    assert_eq!(js.consumer_names("TEST").unwrap(), ["DURABLE"]);
    js.consumer_info("TEST", "DURABLE").unwrap();
    let ifn = stream_dir(s.store_dir(), "TEST")
        .join("obs")
        .join("DURABLE")
        .join("o.dat");
    // Stop the server and zero the consumer's state file.
    drop(js);
    s.shutdown();
    let size = std::fs::metadata(&ifn).unwrap().len();
    assert!(size > 0, "empty state file");
    std::fs::write(&ifn, vec![0u8; size as usize]).unwrap();
    s.restart();
    let mut js = JsContext::connect(s.addr());
    // Corrupt state: the consumer is gone.
    assert!(js.consumer_names("TEST").unwrap().is_empty());
    let e = js
        .consumer_info("TEST", "DURABLE")
        .expect_err("consumer not found");
    assert_eq!(e.err_code, 10014, "{e:?}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerReconcileConsumerAfterStreamDataLoss" => consumer_reconcile_consumer_after_stream_data_loss);
fn consumer_reconcile_consumer_after_stream_data_loss() {
    for total in [1u64, 2] {
        let mut s = conf_server();
        let mut js = JsContext::connect(s.addr());
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
            .unwrap();
        for _ in 0..total {
            js.publish_ok("foo", b"");
        }
        js.add_consumer(
            "TEST",
            json!({"durable_name": "DURABLE", "ack_policy": "explicit"}),
        )
        .unwrap();
        let mut sub = js
            .pull_subscribe("", "CONSUMER", SubOpts::bind_stream("TEST"))
            .unwrap();
        // Everything consumed.
        let msgs = js
            .fetch(&mut sub, total as usize, Duration::from_millis(200))
            .unwrap();
        assert_eq!(msgs.len() as u64, total);
        for m in &msgs {
            js.ack_sync(m).unwrap();
        }
        let lseq = total;
        let ci = js.info("TEST", "CONSUMER");
        assert_eq!(ci["num_pending"], 0, "{ci}");
        assert_eq!(ci["num_ack_pending"], 0, "{ci}");
        assert_eq!(ci["delivered"]["stream_seq"], lseq, "{ci}");
        assert_eq!(ci["ack_floor"]["stream_seq"], lseq, "{ci}");
        assert_eq!(ci["delivered"]["consumer_seq"], lseq, "{ci}");
        // Data loss: the block truncated (or gone) and the index removed.
        let msgs_dir = stream_dir(s.store_dir(), "TEST").join("msgs");
        drop(js);
        s.shutdown();
        let blk = msgs_dir.join("1.blk");
        if total > 1 {
            let size = std::fs::metadata(&blk).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&blk).unwrap();
            f.set_len(size / 2 + 1).unwrap();
        } else {
            std::fs::remove_file(&blk).unwrap();
        }
        std::fs::remove_file(msgs_dir.join("index.db")).unwrap();
        s.restart();
        let mut js = JsContext::connect(s.addr());
        // The stream counts on from what is left.
        let pa = js.publish_ok("foo", b"");
        assert_eq!(pa.sequence, lseq, "total {total}");
        let mut sub = js
            .pull_subscribe("", "CONSUMER", SubOpts::bind_stream("TEST"))
            .unwrap();
        // The consumer gets it (its state was brought back to the stream's).
        let msgs = js
            .fetch(&mut sub, 1, Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("total {total}: {e}"));
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].metadata().stream_seq, lseq);
        js.ack_sync(&msgs[0]).unwrap();
        // Delivered and acked; the consumer sequence kept going up.
        let ci = js.info("TEST", "CONSUMER");
        assert_eq!(ci["num_pending"], 0, "{ci}");
        assert_eq!(ci["num_ack_pending"], 0, "{ci}");
        assert_eq!(ci["delivered"]["stream_seq"], lseq, "{ci}");
        assert_eq!(ci["ack_floor"]["stream_seq"], lseq, "{ci}");
        assert_eq!(ci["delivered"]["consumer_seq"], lseq + 1, "{ci}");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPendingLowerThanStreamFirstSeq" => consumer_pending_lower_than_stream_first_seq);
fn consumer_pending_lower_than_stream_first_seq() {
    let (mut s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..10 {
        send_stream_msg(&mut js, "foo", "msg");
    }
    let inbox = new_inbox();
    js.add_consumer(
        "TEST",
        json!({"deliver_subject": inbox, "durable_name": "dur", "ack_policy": "explicit", "deliver_policy": "all"}),
    )
    .unwrap();
    let sid = js.subscribe_sync_core(&inbox);
    for _ in 0..10 {
        let m = js.next_msg_core(sid, SECOND).expect("a message");
        js.ack_sync(&m).unwrap();
    }
    // The consumer stops, then the stream's store is compacted far ahead (Go calls
    // o.stop() and mset.store.Compact directly).
    s.consumer("TEST", "dur").stop(s.shared());
    {
        let jsr = s.shared().jetstream().unwrap();
        let st = jsr.account("$G").and_then(|a| a.stream("TEST")).unwrap();
        st.store().compact(1_000_000).unwrap();
    }
    drop(js);
    s.restart();
    let mut js = JsContext::connect(s.addr());
    let state = js.stream_state("TEST");
    assert_eq!(state.first_seq, 1_000_000, "{state:?}");
    assert_eq!(state.last_seq, 999_999, "{state:?}");
    js.subscribe_sync_core(&inbox);
    check_for(2 * SECOND, Duration::from_millis(15), || {
        let ci = js.info("TEST", "dur");
        if ci["num_ack_pending"] != 0 {
            return Err(format!("NumAckPending should be 0, got {ci}"));
        }
        // Delivered is what was delivered, not moved by compacts.
        if ci["delivered"]["stream_seq"] != 10 {
            return Err(format!("Delivered.Stream should be 10, got {ci}"));
        }
        // The starting sequence skips ahead past the compact.
        let sseq = s.consumer("TEST", "dur").cursor.lock().next_sseq;
        if sseq != 1_000_000 {
            return Err(format!("o.sseq should be 1,000,000, got {sseq}"));
        }
        Ok(())
    });
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerLongSubjectHang" => consumer_long_subject_hang);
fn consumer_long_subject_hang() {
    let (_s, mut js) = server_and_client();
    let (read, purge) = ("a1.", "a2.");
    js.add_stream(json!({
        "name": "TEST", "subjects": [format!("{read}>"), format!("{purge}>")],
        "allow_rollup_hdrs": true,
    }))
    .unwrap();
    let prefix = "a".repeat(22);
    for i in 0..2 {
        js.publish_ok(&format!("{read}{prefix}{i}"), b"hello");
        js.publish_ok(&format!("{purge}{i}"), b"contents");
    }
    js.purge_stream("TEST", Some(json!({"filter": format!("{purge}>")})))
        .unwrap();
    // Two messages left after the purge.
    assert_eq!(js.stream_state("TEST").msgs, 2);
    // nats.go's ordered consumer: flow control, heartbeats, no acks, one delivery, in
    // memory, one replica; here with deliver last per subject.
    let sub = js
        .subscribe_sync(
            &format!("{read}>"),
            SubOpts::config(json!({
                "flow_control": true, "ack_policy": "none", "max_deliver": 1,
                "ack_wait": 22 * 3600 * SEC, "num_replicas": 1, "mem_storage": true,
                "idle_heartbeat": 5 * SEC, "deliver_policy": "last_per_subject",
            })),
        )
        .unwrap();
    for _ in 0..2 {
        let m = js.must_next(&sub, Duration::from_millis(500));
        assert_eq!(m.payload, b"hello");
    }
    js.unsubscribe(&sub);
}
