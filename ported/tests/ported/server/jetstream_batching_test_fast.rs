//! Ports of `server/jetstream_batching_test.go` for fast batch publish (`allow_batched`):
//! batch messages carry their batch in the reply subject
//! (`<inbox>.<id>.<flow>.<gap>.<seq>.<op>.$FI`) and the stream answers on it with flow
//! messages and the batch's publish ack. Black-box over the NATS protocol, except
//! TestJetStreamFastBatchInitAckMessages, which Go runs on its batch state directly and
//! the port on `natsd::jetstream::fast_batch::FastBatches`.
//!
//! TestJetStreamFastBatchPublishMaxUint64SequenceRejected runs a three-server cluster in
//! Go, with an R1 stream only; its assertions are all about that stream's answers, so the
//! port runs one server. The tests Go runs for R1 and R3 alike (same body) are not
//! ported: natsd has no clustering.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::jetstream::fast_batch::FastBatches;
use ported::jetstream::{run_basic_jetstream_server, run_jetstream_server_with_conf, NatsConn};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

const OP_START: u8 = 0;
const OP_APPEND: u8 = 1;
const OP_COMMIT: u8 = 2;
const OP_COMMIT_EOB: u8 = 3;
const OP_PING: u8 = 4;
const GAP_FAIL: &str = "fail";
const GAP_OK: &str = "ok";

/// Go's `generateFastBatchReply`.
fn fast_reply(inbox: &str, id: &str, seq: u64, flow: u16, gap: &str, op: u8) -> String {
    format!("{inbox}.{id}.{flow}.{gap}.{seq}.{op}.$FI")
}

/// A client subscribed to `<inbox>.>` (Go's `nc.SubscribeSync(inbox + ".>")`).
struct Publisher {
    nc: NatsConn,
    sid: u64,
    inbox: String,
}

impl Publisher {
    fn new(nc: NatsConn, inbox: &str) -> Publisher {
        let mut nc = nc;
        let sid = nc.subscribe(&format!("{inbox}.>"));
        nc.flush();
        Publisher {
            nc,
            sid,
            inbox: inbox.to_string(),
        }
    }

    /// Publishes an empty message on `subject` with batch reply `(seq, flow, gap, op)`.
    fn publish(
        &mut self,
        subject: &str,
        headers: &[(&str, &str)],
        seq: u64,
        flow: u16,
        gap: &str,
        op: u8,
    ) {
        let reply = fast_reply(&self.inbox, "uuid", seq, flow, gap, op);
        self.nc.publish_msg(subject, &reply, headers, b"");
    }

    /// `sub.NextMsg(time.Second)`, parsed as JSON.
    #[track_caller]
    fn next(&mut self) -> Value {
        let m = self
            .nc
            .next_msg(self.sid, Duration::from_secs(1))
            .expect("no message within a second");
        serde_json::from_slice(&m.payload)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&m.payload)))
    }

    /// The raw text of the next message.
    #[track_caller]
    fn next_text(&mut self) -> String {
        let m = self
            .nc
            .next_msg(self.sid, Duration::from_secs(1))
            .expect("no message within a second");
        String::from_utf8(m.payload.to_vec()).unwrap()
    }
}

fn create_batched_stream(addr: std::net::SocketAddr) {
    let mut js = ported::jetstream::JsClient::connect(addr);
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_batched": true,
    }))
    .unwrap();
}

/// Go's `json.Unmarshal` into `BatchFlowAck`, then the checked fields.
#[track_caller]
fn require_flow_ack(v: &Value, seq: u64, msgs: u64) {
    assert_eq!(v["type"], json!("ack"), "{v}");
    assert_eq!(v["seq"].as_u64(), Some(seq), "{v}");
    assert_eq!(v["msgs"].as_u64(), Some(msgs), "{v}");
}

#[track_caller]
fn require_flow_gap(v: &Value, last_seq: u64, seq: u64) {
    assert_eq!(v["type"], json!("gap"), "{v}");
    assert_eq!(v["last_seq"].as_u64(), Some(last_seq), "{v}");
    assert_eq!(v["seq"].as_u64(), Some(seq), "{v}");
}

/// A publish ack without error for batch `uuid` of `count` messages; returns its `seq`.
#[track_caller]
fn require_batch_ack(v: &Value, count: u64) -> u64 {
    assert!(v.get("error").is_none(), "unexpected error in {v}");
    assert_eq!(v["batch"], json!("uuid"), "{v}");
    assert_eq!(v["count"].as_u64(), Some(count), "{v}");
    v["seq"].as_u64().unwrap_or(0)
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchPublishPing" => fast_batch_publish_ping);
fn fast_batch_publish_ping() {
    let s = run_basic_jetstream_server();
    create_batched_stream(s.addr());
    let mut p = Publisher::new(NatsConn::connect(s.addr()), "_INBOX.ping");

    // The first message.
    p.publish("foo", &[], 1, 2, GAP_OK, OP_START);
    let v = p.next();
    assert_eq!(v["msgs"].as_u64(), Some(2), "{v}");

    // The second one triggers the flow control message.
    p.publish("foo", &[], 2, 2, GAP_OK, OP_APPEND);
    let mut v = p.next();

    // A ping sends the flow control message again.
    p.publish("foo", &[], 2, 2, GAP_OK, OP_PING);
    for i in 0..2 {
        if i > 0 {
            v = p.next();
        }
        require_flow_ack(&v, 2, 2);
    }

    // A lost message, found by a ping.
    p.publish("foo", &[], 3, 2, GAP_OK, OP_PING);
    require_flow_gap(&p.next(), 3, 4);
    // Then the last flow control message, which might have been lost too.
    require_flow_ack(&p.next(), 2, 2);

    p.publish("foo", &[], 4, 2, GAP_OK, OP_APPEND);
    require_flow_ack(&p.next(), 4, 2);

    // Many lost messages: the gap, then the flow control message it moves on.
    p.publish("foo", &[], 100, 2, GAP_OK, OP_PING);
    require_flow_gap(&p.next(), 5, 101);
    require_flow_ack(&p.next(), 100, 2);

    p.publish("foo", &[], 101, 2, GAP_OK, OP_COMMIT_EOB);
    let ack = p.next();
    assert_eq!(require_batch_ack(&ack, 100), 3, "{ack}");
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchPublishGapOkBackwardSeq" => fast_batch_publish_gap_ok_backward_seq);
fn fast_batch_publish_gap_ok_backward_seq() {
    let s = run_basic_jetstream_server();
    create_batched_stream(s.addr());
    let mut p = Publisher::new(NatsConn::connect(s.addr()), "_INBOX.backward");

    // Start in gap-ok mode.
    p.publish("foo", &[], 1, 0, GAP_OK, OP_START);
    let v = p.next();
    assert_eq!(v["type"], json!("ack"), "{v}");

    // Forward to 5: the gap is accepted.
    p.publish("foo", &[], 5, 0, GAP_OK, OP_APPEND);
    require_flow_gap(&p.next(), 2, 5);

    // Going back to 3 ends the batch, without a gap message.
    p.publish("foo", &[], 3, 0, GAP_OK, OP_APPEND);
    let ack = p.next();
    assert!(ack.get("error").is_none(), "unexpected error in {ack}");
    assert_eq!(ack["batch"], json!("uuid"), "{ack}");

    // Nothing else came with the publish ack.
    assert!(
        p.nc.next_msg(p.sid, Duration::from_millis(200)).is_none(),
        "a stray message followed the publish ack"
    );
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchSequentialDuplicateAndErrorPubAck" => fast_batch_sequential_duplicate_and_error_pub_ack);
fn fast_batch_sequential_duplicate_and_error_pub_ack() {
    let s = run_basic_jetstream_server();
    create_batched_stream(s.addr());

    // The first message, a plain publish.
    let mut nc = NatsConn::connect(s.addr());
    nc.request(
        "foo",
        &[("Nats-Msg-Id", "msgId")],
        b"",
        Duration::from_secs(1),
    )
    .expect("publish ack");

    let mut p = Publisher::new(nc, "_INBOX.dup");
    // The batch's first message is a duplicate.
    p.publish("foo", &[("Nats-Msg-Id", "msgId")], 1, 2, GAP_FAIL, OP_START);
    let v = p.next();
    assert_eq!(v["msgs"].as_u64(), Some(2), "{v}");

    // The second fails its checks, which ends the batch.
    p.publish(
        "foo",
        &[("Nats-Expected-Last-Sequence", "100")],
        2,
        2,
        GAP_FAIL,
        OP_APPEND,
    );
    let v = p.next();
    assert_eq!(v["type"], json!("err"), "{v}");
    assert_eq!(v["seq"].as_u64(), Some(2), "{v}");
    let e = &v["error"];
    assert!(e.is_object(), "{v}");
    assert_eq!(
        ported::jetstream::server_error_text(
            e["description"].as_str().unwrap(),
            e["err_code"].as_u64().unwrap() as u16
        ),
        "wrong last sequence: 1 (10071)",
        "{v}"
    );

    // Then the publish ack: the batch holds only the duplicate, so its sequence is 0.
    let ack = p.next();
    assert_eq!(require_batch_ack(&ack, 1), 0, "{ack}");
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchPublishAccImportExport" => fast_batch_publish_acc_import_export);
fn fast_batch_publish_acc_import_export() {
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
            listen: 127.0.0.1:-1
            jetstream: {{max_mem_store: 1MB, max_file_store: 1MB, store_dir: {:?}}}
            accounts: {{
                A: {{
                    jetstream: enabled
                    users: [ {{user: a, password: a}} ]
                    exports [
                        {{ service: "foo" }}
                    ]
                }},
                B: {{
                    users: [ {{user: b, password: b}} ]
                    imports [
                        {{ service: {{ subject: "foo", account: A }} }}
                    ]
                }},
            }}
            "#,
            dir.display().to_string()
        )
    });
    let mut js = ported::jetstream::JsClient {
        conn: NatsConn::connect_as(s.addr(), "a", "a"),
    };
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo"], "storage": "file", "allow_batched": true,
    }))
    .unwrap();

    for user in ["a", "b"] {
        let inbox = format!("_INBOX.{user}");
        let mut p = Publisher::new(NatsConn::connect_as(s.addr(), user, user), &inbox);
        p.publish("foo", &[], 1, 0, GAP_FAIL, OP_COMMIT);
        let ack = p.next();
        require_batch_ack(&ack, 1);
        assert!(p.nc.errors.is_empty(), "{:?}", p.nc.errors);
    }
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchPublishMaxUint64SequenceRejected" => fast_batch_publish_max_uint64_sequence_rejected);
fn fast_batch_publish_max_uint64_sequence_rejected() {
    for commit_eob in [false, true] {
        let s = run_basic_jetstream_server();
        create_batched_stream(s.addr());
        let mut p = Publisher::new(NatsConn::connect(s.addr()), "_INBOX.max");

        p.publish("foo", &[], 1, 1, GAP_OK, OP_START);
        require_flow_ack(&p.next(), 0, 1);
        let text = p.next_text();
        assert!(text.starts_with("{\"type\":\"ack\","), "{text}");
        require_flow_ack(&serde_json::from_str(&text).unwrap(), 1, 1);

        p.publish("foo", &[], u64::MAX - 1, 1, GAP_OK, OP_APPEND);
        let text = p.next_text();
        assert!(text.starts_with("{\"type\":\"gap\","), "{text}");
        require_flow_gap(&serde_json::from_str(&text).unwrap(), 2, u64::MAX - 1);
        let text = p.next_text();
        assert!(text.starts_with("{\"type\":\"ack\","), "{text}");
        require_flow_ack(&serde_json::from_str(&text).unwrap(), u64::MAX - 1, 1);

        // The largest sequence is refused: the batch's next sequence would wrap to 0.
        let op = if commit_eob { OP_COMMIT_EOB } else { OP_COMMIT };
        p.publish("foo", &[], u64::MAX, 1, GAP_OK, op);
        let ack = p.next();
        let e = &ack["error"];
        assert!(e.is_object(), "expected an error, got {ack}");
        assert_eq!(
            ported::jetstream::server_error_text(
                e["description"].as_str().unwrap(),
                e["err_code"].as_u64().unwrap() as u16
            ),
            "batch publish pattern is invalid (10206)",
            "{ack}"
        );
    }
}

port!("server/jetstream_batching_test.go::TestJetStreamFastBatchInitAckMessages" => fast_batch_init_ack_messages);
fn fast_batch_init_ack_messages() {
    // Go stops each batch's timer at once; an hour stands for that here.
    let hour = Duration::from_secs(3600);
    let mut batches = FastBatches::default();

    // The first batch, alone: the client's maximum, at most 500.
    assert_eq!(batches.open_batch("b1", false, 1000, 0, hour), 500);
    // A second one beside it starts at one message.
    assert_eq!(batches.open_batch("b2", false, 1000, 0, hour), 1);
    // Resetting b1 while b2 is there starts it at one as well.
    assert!(batches.reset("b1", 0, hour).is_some());
    assert_eq!(batches.flow_of("b1"), Some(1));
    // Without the sibling it is back to the full window.
    assert!(batches.remove("b2"));
    assert_eq!(batches.reinit_flow("b1"), 500);

    // A client maximum below 500 holds.
    assert!(batches.remove("b1"));
    assert_eq!(batches.open_batch("b3", false, 50, 0, hour), 50);
    // And a sibling brings it down to one.
    assert_eq!(batches.open_batch("b4", false, 50, 0, hour), 1);
}
