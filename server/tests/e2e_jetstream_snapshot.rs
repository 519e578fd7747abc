//! End-to-end stream snapshots and restores with the real async-nats client, the way
//! `nats stream backup` / `restore` drive them: `$JS.API.STREAM.SNAPSHOT` with chunks
//! acked on their reply subjects, `$JS.API.STREAM.RESTORE` with chunks sent as requests.
//!
//! Opt-in (`--ignored`, needs Go's `nats-server`: `/usr/sbin/nats-server` or
//! `NATS_SERVER_BIN`): snapshots also go from Go to natsd and from natsd to Go, checking
//! the format is Go's.

use async_nats::Client;
use bytes::Bytes;
use futures::StreamExt;
use natsd::server::BackgroundServer;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;
use common::jetstream_options as opts;

async fn request(nc: &Client, subject: String, body: Value) -> Value {
    let m = tokio::time::timeout(
        Duration::from_secs(10),
        nc.request(subject.clone(), Bytes::from(body.to_string())),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer on {subject}"))
    .unwrap_or_else(|e| panic!("request on {subject}: {e}"));
    serde_json::from_slice(&m.payload).expect("JSON answer")
}

/// Takes a snapshot of `stream`: the response and the bytes.
async fn snapshot(nc: &Client, stream: &str) -> (Value, Vec<u8>) {
    let inbox = nc.new_inbox();
    let mut sub = nc.subscribe(inbox.clone()).await.expect("subscribe");
    let resp = request(
        nc,
        format!("$JS.API.STREAM.SNAPSHOT.{stream}"),
        json!({"deliver_subject": inbox, "chunk_size": 4096}),
    )
    .await;
    assert!(resp.get("error").is_none(), "snapshot refused: {resp}");
    let mut data = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("snapshot chunk in time")
            .expect("subscription open");
        if m.payload.is_empty() {
            break;
        }
        data.extend_from_slice(&m.payload);
        let reply = m.reply.expect("chunks carry an ack subject");
        nc.publish(reply, Bytes::new()).await.expect("ack");
    }
    (resp, data)
}

/// Restores `data` as `stream` with `config`: the final (stream create) response.
async fn restore(nc: &Client, stream: &str, config: Value, data: &[u8]) -> Value {
    let resp = request(
        nc,
        format!("$JS.API.STREAM.RESTORE.{stream}"),
        json!({ "config": config }),
    )
    .await;
    assert!(resp.get("error").is_none(), "restore refused: {resp}");
    let deliver = resp["deliver_subject"]
        .as_str()
        .expect("deliver subject")
        .to_string();
    for chunk in data.chunks(8 * 1024) {
        let m = tokio::time::timeout(
            Duration::from_secs(10),
            nc.request(deliver.clone(), Bytes::copy_from_slice(chunk)),
        )
        .await
        .expect("chunk ack in time")
        .expect("chunk ack");
        assert!(
            m.payload.is_empty(),
            "chunk refused: {}",
            String::from_utf8_lossy(&m.payload)
        );
    }
    let m = tokio::time::timeout(Duration::from_secs(20), nc.request(deliver, Bytes::new()))
        .await
        .expect("restore result in time")
        .expect("restore result");
    serde_json::from_slice(&m.payload).expect("JSON result")
}

/// Fills stream `S` (file storage, `s.>`): 50 messages, some with headers, and a durable
/// that has taken and acked 10; the message at sequence 20 is deleted when `delete`.
async fn fill(nc: &Client, delete: bool) {
    let created = request(
        nc,
        "$JS.API.STREAM.CREATE.S".into(),
        json!({"name": "S", "subjects": ["s.>"], "storage": "file"}),
    )
    .await;
    assert!(created.get("error").is_none(), "{created}");
    for i in 1..=50u32 {
        let subject = format!("s.{}", i % 5);
        let ack = if i % 3 == 0 {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("X-Index", i.to_string().as_str());
            nc.request_with_headers(subject, headers, format!("msg {i}").into())
                .await
        } else {
            nc.request(subject, format!("msg {i}").into()).await
        }
        .expect("publish ack");
        let ack: Value = serde_json::from_slice(&ack.payload).expect("JSON ack");
        assert_eq!(ack["seq"], json!(i), "{ack}");
    }
    if delete {
        let r = request(nc, "$JS.API.STREAM.MSG.DELETE.S".into(), json!({"seq": 20})).await;
        assert_eq!(r["success"], json!(true), "{r}");
    }
    let c = request(
        nc,
        "$JS.API.CONSUMER.DURABLE.CREATE.S.D".into(),
        json!({"stream_name": "S", "config": {"durable_name": "D", "ack_policy": "explicit"}}),
    )
    .await;
    assert!(c.get("error").is_none(), "{c}");
    for _ in 0..10 {
        let m = next_msg(nc).await;
        let reply = m.reply.expect("ack subject");
        nc.request(reply, Bytes::new()).await.expect("ack");
    }
}

/// Checks that `nc`'s stream `S` is what [`fill`] made.
async fn check_filled(nc: &Client, deleted: bool) {
    let info = request(nc, "$JS.API.STREAM.INFO.S".into(), json!({})).await;
    let state = &info["state"];
    assert_eq!(
        state["messages"],
        json!(if deleted { 49 } else { 50 }),
        "{info}"
    );
    assert_eq!(state["first_seq"], json!(1), "{info}");
    assert_eq!(state["last_seq"], json!(50), "{info}");
    assert_eq!(
        state["num_deleted"].as_u64().unwrap_or(0),
        u64::from(deleted),
        "{info}"
    );
    for seq in [1u64, 21, 30, 50] {
        let m = request(nc, "$JS.API.STREAM.MSG.GET.S".into(), json!({"seq": seq})).await;
        let msg = &m["message"];
        assert_eq!(msg["subject"], json!(format!("s.{}", seq % 5)), "{m}");
        let data = base64_decode(msg["data"].as_str().expect("data"));
        assert_eq!(data, format!("msg {seq}").into_bytes());
        if seq % 3 == 0 {
            let hdrs = base64_decode(msg["hdrs"].as_str().expect("headers kept"));
            let text = String::from_utf8(hdrs).expect("UTF-8 headers");
            assert!(text.contains(&format!("X-Index: {seq}")), "{text}");
        }
    }
    if deleted {
        let m = request(nc, "$JS.API.STREAM.MSG.GET.S".into(), json!({"seq": 20})).await;
        assert_eq!(m["error"]["code"], json!(404), "{m}");
    }
    let ci = request(nc, "$JS.API.CONSUMER.INFO.S.D".into(), json!({})).await;
    assert_eq!(ci["ack_floor"]["stream_seq"], json!(10), "{ci}");
    assert_eq!(ci["delivered"]["stream_seq"], json!(10), "{ci}");
    // The consumer goes on where it was.
    let m = next_msg(nc).await;
    assert_eq!(&m.payload[..], b"msg 11");
}

/// One message of durable `D` by a pull request (the delivery keeps the stream subject,
/// so it is read from an inbox subscription rather than as a request's answer).
async fn next_msg(nc: &Client) -> async_nats::Message {
    let inbox = nc.new_inbox();
    let mut sub = nc.subscribe(inbox.clone()).await.expect("subscribe");
    nc.publish_with_reply("$JS.API.CONSUMER.MSG.NEXT.S.D", inbox, Bytes::new())
        .await
        .expect("pull");
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a message in time")
        .expect("subscription open")
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn a_snapshot_restores_messages_deletes_and_consumers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    fill(&nc, true).await;
    let (resp, data) = snapshot(&nc, "S").await;
    assert_eq!(resp["state"]["messages"], json!(49), "{resp}");
    // Go's layout: an S2 stream ("sTuff" magic chunk first).
    assert_eq!(&data[..4], &[0xff, 0x06, 0x00, 0x00]);
    let del = request(&nc, "$JS.API.STREAM.DELETE.S".into(), json!({})).await;
    assert_eq!(del["success"], json!(true));
    let restored = restore(
        &nc,
        "S",
        json!({"name": "S", "subjects": ["s.>"], "storage": "file"}),
        &data,
    )
    .await;
    assert!(restored.get("error").is_none(), "{restored}");
    assert_eq!(
        restored["type"],
        json!("io.nats.jetstream.api.v1.stream_create_response")
    );
    check_filled(&nc, true).await;
}

// ---------------------------------------------------------------------------------------
// Go interop
// ---------------------------------------------------------------------------------------

/// Go's server binary, when this machine has one.
fn go_server_bin() -> Option<PathBuf> {
    let path = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    path.exists().then_some(path)
}

/// A Go nats-server with JetStream, killed on drop.
struct GoServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl GoServer {
    async fn start(bin: &Path) -> GoServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start Go's nats-server");
        let s = GoServer {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        s
    }

    async fn client(&self) -> Client {
        async_nats::connect(format!("nats://127.0.0.1:{}", self.port))
            .await
            .expect("connect to Go's server")
    }
}

impl Drop for GoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs Go's nats-server (apt-get install -y nats-server, or NATS_SERVER_BIN); run with --ignored"]
async fn snapshots_go_from_go_to_natsd_and_back() {
    let bin = go_server_bin().expect(
        "Go's nats-server is not installed: apt-get install -y nats-server, or set NATS_SERVER_BIN",
    );
    let go = GoServer::start(&bin).await;
    let go_nc = go.client().await;
    // Go's snapshot of a stream without deletes (older servers keep deletes in per-block
    // index files natsd does not read).
    fill(&go_nc, false).await;
    let (_, go_snapshot) = snapshot(&go_nc, "S").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    let config = json!({"name": "S", "subjects": ["s.>"], "storage": "file"});
    let restored = restore(&nc, "S", config.clone(), &go_snapshot).await;
    assert!(restored.get("error").is_none(), "{restored}");
    check_filled(&nc, false).await;

    // And back: natsd's snapshot (with a delete) restores into Go.
    let del = request(&nc, "$JS.API.STREAM.DELETE.S".into(), json!({})).await;
    assert_eq!(del["success"], json!(true));
    fill(&nc, true).await;
    let (_, natsd_snapshot) = snapshot(&nc, "S").await;
    let del = request(&go_nc, "$JS.API.STREAM.DELETE.S".into(), json!({})).await;
    assert_eq!(del["success"], json!(true));
    let restored = restore(&go_nc, "S", config, &natsd_snapshot).await;
    assert!(restored.get("error").is_none(), "{restored}");
    check_filled(&go_nc, true).await;
}

// ---------------------------------------------------------------------------------------
// The API's refusals (Go's TestJetStreamSnapshotsAPI, without its leafnode half)
// ---------------------------------------------------------------------------------------

async fn raw_request(nc: &Client, subject: &str, payload: &[u8]) -> Value {
    let m = tokio::time::timeout(
        Duration::from_secs(10),
        nc.request(subject.to_string(), Bytes::copy_from_slice(payload)),
    )
    .await
    .expect("answer in time")
    .expect("answer");
    serde_json::from_slice(&m.payload).expect("JSON answer")
}

fn error_of(resp: &Value) -> (u64, String) {
    (
        resp["error"]["code"].as_u64().unwrap_or(0),
        resp["error"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn snapshot_and_restore_requests_are_checked_like_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    fill(&nc, false).await;

    let r = raw_request(&nc, "$JS.API.STREAM.SNAPSHOT.foo", b"").await;
    assert_eq!(error_of(&r), (400, "bad request".into()), "{r}");
    let r = raw_request(&nc, "$JS.API.STREAM.SNAPSHOT.foo", b"{}").await;
    assert_eq!(error_of(&r), (404, "stream not found".into()), "{r}");
    let r = raw_request(&nc, "$JS.API.STREAM.SNAPSHOT.S", b"{}").await;
    assert_eq!(
        error_of(&r),
        (400, "deliver subject not valid".into()),
        "{r}"
    );

    // A health-checked snapshot.
    let inbox = nc.new_inbox();
    let mut sub = nc.subscribe(inbox.clone()).await.expect("subscribe");
    let r = request(
        &nc,
        "$JS.API.STREAM.SNAPSHOT.S".into(),
        json!({"deliver_subject": inbox, "jsck": true}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["config"]["name"], json!("S"));
    assert_eq!(r["state"]["messages"], json!(50));
    let mut data = Vec::new();
    let end = loop {
        let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("chunk")
            .expect("open");
        if m.payload.is_empty() {
            break m;
        }
        data.extend_from_slice(&m.payload);
        nc.publish(m.reply.expect("ack subject"), Bytes::new())
            .await
            .expect("ack");
    };
    assert_eq!(
        end.status,
        Some(async_nats::StatusCode::from_u16(204).expect("status"))
    );

    let config = json!({"name": "S", "subjects": ["s.>"], "storage": "file"});
    let body = json!({ "config": config }).to_string();
    let r = raw_request(&nc, "$JS.API.STREAM.RESTORE.S", body.as_bytes()).await;
    assert_eq!(r["error"]["err_code"], json!(10130), "{r}");
    let del = request(&nc, "$JS.API.STREAM.DELETE.S".into(), json!({})).await;
    assert_eq!(del["success"], json!(true));
    let r = raw_request(&nc, "$JS.API.STREAM.RESTORE.S", b"").await;
    assert_eq!(error_of(&r), (400, "bad request".into()), "{r}");

    // A chunk without a reply subject ends the restore: its subject goes away.
    let r = raw_request(&nc, "$JS.API.STREAM.RESTORE.S", body.as_bytes()).await;
    let deliver = r["deliver_subject"].as_str().expect("deliver").to_string();
    nc.publish(deliver.clone(), Bytes::copy_from_slice(&data[..512]))
        .await
        .expect("publish");
    nc.flush().await.expect("flush");
    let mut closed = false;
    for _ in 0..50 {
        match nc
            .request(deliver.clone(), Bytes::copy_from_slice(&data[512..1024]))
            .await
        {
            Err(e) if matches!(e.kind(), async_nats::RequestErrorKind::NoResponders) => {
                closed = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(closed, "Expected restore subscription to be closed");

    // A snapshot of S restored under another name is refused at its end.
    let other = json!({"config": {"name": "NEW_STREAM", "subjects": ["s.>"], "storage": "file"}});
    let r = request(&nc, "$JS.API.STREAM.RESTORE.NEW_STREAM".into(), other).await;
    let deliver = r["deliver_subject"].as_str().expect("deliver").to_string();
    for chunk in data.chunks(512) {
        nc.request(deliver.clone(), Bytes::copy_from_slice(chunk))
            .await
            .expect("chunk ack");
    }
    let m = nc.request(deliver, Bytes::new()).await.expect("end answer");
    let r: Value = serde_json::from_slice(&m.payload).expect("JSON");
    let (_, description) = error_of(&r);
    assert!(description.contains("names do not match"), "{r}");
    // Nothing was left behind.
    let names = request(&nc, "$JS.API.STREAM.NAMES".into(), json!({})).await;
    assert_eq!(names["total"], json!(0), "{names}");
}

// ---------------------------------------------------------------------------------------
// Account purge
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_system_account_purges_an_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    natsd::config::file::apply_config_string(
        &mut o,
        r#"
        accounts {
            ONE { users = [ { user: one, password: one } ], jetstream: enabled }
            SYS { users = [ { user: sys, password: sys } ] }
        }
        system_account: SYS
        "#,
    )
    .expect("configuration");
    let s = BackgroundServer::start(o).expect("start");
    let connect = |user: &'static str| {
        async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
            .connect(format!("nats://{}", s.addr))
    };
    let one = connect("one").await.expect("connect one");
    let sys = connect("sys").await.expect("connect sys");
    fill(&one, false).await;
    let streams_dir = dir.path().join("jetstream").join("ONE").join("streams");
    assert_eq!(std::fs::read_dir(&streams_dir).expect("streams").count(), 1);

    let r = raw_request(&sys, "$JS.API.ACCOUNT.PURGE.ONE", b"").await;
    assert_eq!(r["initiated"], json!(true), "{r}");
    assert_eq!(
        r["type"],
        json!("io.nats.jetstream.api.v1.account_purge_response")
    );
    assert!(!dir.path().join("jetstream").join("ONE").exists());
    let names = request(&one, "$JS.API.STREAM.NAMES".into(), json!({})).await;
    assert_eq!(names["total"], json!(0), "{names}");

    // The account goes on using JetStream.
    fill(&one, false).await;
    assert_eq!(std::fs::read_dir(&streams_dir).expect("streams").count(), 1);

    let r = raw_request(&sys, "$JS.API.ACCOUNT.PURGE.foo/hello", b"").await;
    assert_eq!(
        r["error"]["description"],
        json!("account name can not contain path separators"),
        "{r}"
    );
    // Other accounts cannot reach it.
    let err = one
        .request("$JS.API.ACCOUNT.PURGE.ONE", Bytes::new())
        .await
        .expect_err("no responder outside the system account");
    assert!(matches!(
        err.kind(),
        async_nats::RequestErrorKind::NoResponders
    ));
}

/// The single-server half of Go's TestJetStreamInvalidRestoreRequests: a restore request
/// is checked like a stream create against the account's limits.
#[tokio::test]
async fn restore_requests_are_checked_against_account_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    natsd::config::file::apply_config_string(
        &mut o,
        r#"
        jetstream: {max_mem_store: 2MB, max_file_store: 8MB}
        no_auth_user: u
        accounts {
            ONE {
                users = [ { user: "u", pass: "s3cr3t!" } ]
                jetstream: { max_store: 1Mb, max_streams: 1 }
            }
            $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
        }
        "#,
    )
    .expect("configuration");
    o.store_dir = Some(dir.path().to_path_buf());
    let s = BackgroundServer::start(o).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    let fail = |cfg: Value| {
        let nc = nc.clone();
        async move {
            let body = json!({ "config": cfg }).to_string();
            let r = raw_request(&nc, "$JS.API.STREAM.RESTORE.fail", body.as_bytes()).await;
            error_of(&r).1
        }
    };
    assert_eq!(
        fail(json!({"name": "fail", "max_bytes": 1024, "storage": "file", "num_replicas": 6}))
            .await,
        "maximum replicas is 5"
    );
    assert_eq!(
        fail(json!({"name": "fail", "max_bytes": 2 * 1012 * 1024, "storage": "file", "num_replicas": 1}))
            .await,
        "insufficient storage resources available"
    );
    let created = request(
        &nc,
        "$JS.API.STREAM.CREATE.stream".into(),
        json!({"name": "stream", "max_bytes": 1024, "storage": "file", "num_replicas": 1}),
    )
    .await;
    assert!(created.get("error").is_none(), "{created}");
    assert_eq!(
        fail(json!({"name": "fail", "max_bytes": 1024, "storage": "file"})).await,
        "maximum number of streams reached"
    );
}
