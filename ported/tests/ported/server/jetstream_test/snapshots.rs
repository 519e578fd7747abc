//! Stream snapshots and restores through `$JS.API.STREAM.SNAPSHOT` / `STREAM.RESTORE`
//! (Go's `mset.snapshot` and `acc.RestoreStream` are reached the way `nats stream
//! backup` and `restore` reach them: chunks on a deliver subject, acked one by one).

use super::send_stream_msg;
use ported::jetstream::consumers::ConsumerInfo;
use ported::jetstream::{api_result, run_basic_jetstream_server, ApiError, JsClient};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

/// A small xorshift generator seeded from the clock (Go's `rand.Intn`).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(seed | 1)
    }

    /// Uniform in `0..n`.
    fn intn(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// What a snapshot through the API gave: the response, the bytes and the status of the
/// closing message.
pub(crate) struct Snapshot {
    pub(crate) response: Value,
    pub(crate) data: Vec<u8>,
    pub(crate) end_status: Option<u16>,
}

/// Requests a snapshot of `stream` delivered to a fresh inbox, acks every chunk and
/// collects them until the empty closing message.
pub(crate) fn take_snapshot(
    js: &mut JsClient,
    stream: &str,
    request: Value,
) -> Result<Snapshot, ApiError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let deliver = format!(
        "_SNAP.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let sid = js.conn.subscribe(&deliver);
    let mut request = request;
    request["deliver_subject"] = json!(deliver);
    let response =
        api_result(js.request(&format!("$JS.API.STREAM.SNAPSHOT.{stream}"), Some(&request)))?;
    let mut data = Vec::new();
    let end_status = loop {
        let m = js
            .conn
            .next_msg(sid, Duration::from_secs(5))
            .expect("Did not receive our snapshot in time");
        if m.payload.is_empty() {
            break m.status();
        }
        data.extend_from_slice(&m.payload);
        // The flow ack.
        js.conn.publish(&m.reply, b"");
    };
    js.conn.unsubscribe(sid);
    Ok(Snapshot {
        response,
        data,
        end_status,
    })
}

/// Starts a restore of `stream` with `config`; the deliver subject for the chunks.
pub(crate) fn start_restore(
    js: &mut JsClient,
    stream: &str,
    config: &Value,
) -> Result<String, ApiError> {
    let resp = api_result(js.request(
        &format!("$JS.API.STREAM.RESTORE.{stream}"),
        Some(&json!({ "config": config })),
    ))?;
    Ok(resp["deliver_subject"].as_str().unwrap().to_string())
}

/// Uploads `data` in `chunk`-byte pieces to `deliver` (each acked) and the empty end;
/// the stream create response to the end, or the first error a chunk got.
fn upload(js: &mut JsClient, deliver: &str, data: &[u8], chunk: usize) -> Result<Value, ApiError> {
    for piece in data.chunks(chunk) {
        let m = js
            .conn
            .request(deliver, &[], piece, Duration::from_secs(5))
            .expect("Restore not honoring reply subjects for ack flow");
        if !m.payload.is_empty() {
            api_result(serde_json::from_slice(&m.payload).unwrap())?;
        }
    }
    let m = js
        .conn
        .request(deliver, &[], b"", Duration::from_secs(10))
        .expect("Got an error restoring stream");
    api_result(serde_json::from_slice(&m.payload).unwrap())
}

/// Restores `data` as `stream` with `config`, the whole way.
pub(crate) fn restore(
    js: &mut JsClient,
    stream: &str,
    config: &Value,
    data: &[u8],
) -> Result<Value, ApiError> {
    let deliver = start_restore(js, stream, config)?;
    upload(js, &deliver, data, 512)
}

/// The account usage Go's `acc.JetStreamUsage()` reports, less the API counters (the
/// port's own requests move them; Go's test calls the server directly).
fn usage(js: &mut JsClient) -> Value {
    let mut info = js.account_info().unwrap();
    info.as_object_mut().unwrap().remove("api");
    info.as_object_mut().unwrap().remove("type");
    info
}

/// A pull request for one message of a work-queue consumer, acked (Go's
/// `nc.Request(o.requestNextMsgSubject())` then `resp.Respond(nil)`).
fn pull_and_ack(js: &mut JsClient, stream: &str, consumer: &str) {
    let m = js
        .conn
        .request(
            &format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
            &[],
            b"",
            Duration::from_secs(1),
        )
        .unwrap_or_else(|e| panic!("Unexpected error: {e:?}"));
    js.conn.publish(&m.reply, b"");
}

port!("server/jetstream_test.go::TestJetStreamSnapshots" => jet_stream_snapshots);
fn jet_stream_snapshots() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let mut rng = Rng::new();
    let mname = "MY-STREAM";
    let subjects = ["foo", "bar", "baz"];
    let cfg = json!({"name": mname, "storage": "file", "subjects": subjects, "max_msgs": 1000});
    js.add_stream(cfg).unwrap();

    // Make sure we send some as floor.
    let to_send = rng.intn(200) + 22;
    for i in 1..=to_send {
        let subj = subjects[rng.intn(subjects.len())];
        send_stream_msg(&mut js, subj, &format!("Hello World {i}"));
    }

    // Create up to 10 consumers, each having taken some messages.
    let num_consumers = rng.intn(10) + 1;
    let mut obs = Vec::new();
    for i in 1..=num_consumers {
        let cname = format!("WQ-{i}");
        js.add_consumer(
            mname,
            json!({"durable_name": cname, "ack_policy": "explicit"}),
        )
        .unwrap();
        let to_receive = rng.intn(to_send / 2) + 1;
        for _ in 0..to_receive {
            pull_and_ack(&mut js, mname, &cname);
        }
        obs.push((cname, to_receive as u64));
    }
    js.conn.flush();

    // The stream's config and state (Go's `mset.config()`, `mset.state()`).
    let info = js.stream_info(mname, None).unwrap();
    let (config, state) = (info["config"].clone(), info["state"].clone());

    let snap = take_snapshot(&mut js, mname, json!({})).unwrap();
    assert_eq!(snap.end_status, Some(204), "snapshot did not end complete");
    assert!(!snap.data.is_empty());
    // The response carries the stream's config and state.
    assert_eq!(snap.response["config"]["name"], json!(mname));
    assert_eq!(snap.response["state"]["last_seq"], state["last_seq"]);

    // Restoring over the existing stream is refused.
    let err = restore(&mut js, mname, &config, &snap.data).unwrap_err();
    assert!(
        err.description.contains("name already in use"),
        "Incorrect error received: {err:?}"
    );

    // Delete, then restore.
    let pusage = usage(&mut js);
    js.delete_stream(mname).unwrap();
    restore(&mut js, mname, &config, &snap.data).unwrap();

    assert_eq!(usage(&mut js), pusage, "Usage does not match after restore");
    let info = js.stream_info(mname, None).unwrap();
    assert_eq!(info["state"], state, "State does not match");
    assert_eq!(info["config"], config, "Configs do not match");
    // Consumers.
    assert_eq!(
        info["state"]["consumer_count"].as_u64(),
        Some(obs.len() as u64),
        "Number of consumers do not match"
    );
    for (name, acked) in &obs {
        let ci: ConsumerInfo = js
            .consumer_info(mname, name)
            .unwrap_or_else(|e| panic!("Expected to get an consumer: {e:?}"));
        // Go's `o.nextSeq()`: the stream sequence after the last one delivered.
        assert_eq!(
            ci.delivered.stream + 1,
            acked + 1,
            "[{name}] Consumer next seq is not correct"
        );
    }

    // Now restore into another server.
    let s2 = run_basic_jetstream_server();
    let mut js2 = s2.client();
    restore(&mut js2, mname, &config, &snap.data).unwrap();
    js2.consumer_info(mname, "WQ-1")
        .unwrap_or_else(|e| panic!("Could not lookup consumer: {e:?}"));
    // Make sure we can read messages.
    js2.conn
        .request(
            &format!("$JS.API.CONSUMER.MSG.NEXT.{mname}.WQ-1"),
            &[],
            b"",
            Duration::from_secs(5),
        )
        .unwrap_or_else(|e| panic!("Unexpected error getting next message: {e:?}"));
}

port!("server/jetstream_test.go::TestJetStreamSnapshotRejectsWildcardDeliverSubject" => snapshot_rejects_wildcard_deliver_subject);
fn snapshot_rejects_wildcard_deliver_subject() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST"})).unwrap();
    for deliver in ["snap.*", "snap.>"] {
        let resp = js.request(
            "$JS.API.STREAM.SNAPSHOT.TEST",
            Some(&json!({ "deliver_subject": deliver })),
        );
        let err = api_result(resp).expect_err("wildcard deliver subject accepted");
        // JSSnapshotDeliverSubjectInvalidErr.
        assert_eq!(
            err.err_code, 10015,
            "Expected wildcard deliver subject {deliver:?} to be rejected, got {err:?}"
        );
    }
}

/// The test fixture Go keeps in `test/configs/jetstream/restore_bad_stream`.
fn bad_stream_fixture(file: &str) -> Vec<u8> {
    let path = format!(
        "{}/testdata/jetstream/restore_bad_stream/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

port!("server/jetstream_test.go::TestJetStreamRestoreBadStream" => restore_bad_stream);
fn restore_bad_stream() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    let backup = bad_stream_fixture("backup.json");
    let data = bad_stream_fixture("stream.tar.s2");
    let rreq: Value = serde_json::from_slice(&backup).unwrap();
    let name = rreq["config"]["name"].as_str().unwrap();

    let resp = js.request_raw(&format!("$JS.API.STREAM.RESTORE.{name}"), &backup);
    let resp = api_result(resp).unwrap_or_else(|e| panic!("Error on restore: {e:?}"));
    let deliver = resp["deliver_subject"].as_str().unwrap().to_string();

    let mut got_chunk_err = false;
    for chunk in data.chunks(1024) {
        let m = js
            .conn
            .request(&deliver, &[], chunk, Duration::from_secs(5))
            .unwrap();
        if m.payload.is_empty() {
            continue;
        }
        assert_ne!(&m.payload[..], b"-ERR 'restore stalled'");
        if let Err(e) = api_result(serde_json::from_slice(&m.payload).unwrap()) {
            assert!(e.description.contains("unexpected"), "{e:?}");
            got_chunk_err = true;
            break;
        }
    }
    if !got_chunk_err {
        let m = js
            .conn
            .request(&deliver, &[], b"", Duration::from_secs(5))
            .unwrap();
        assert_ne!(&m.payload[..], b"-ERR 'restore stalled'");
        let e = api_result(serde_json::from_slice(&m.payload).unwrap())
            .expect_err("the bad stream restored");
        assert!(e.description.contains("unexpected"), "{e:?}");
    }

    // Nothing of the archive landed outside the restore's directory.
    let dir = s.store_dir().join("jetstream").join("$G");
    for f in ["fail1.txt", "fail2.txt"] {
        assert!(
            !dir.join(f).exists(),
            "Found file {}",
            dir.join(f).display()
        );
    }
}
