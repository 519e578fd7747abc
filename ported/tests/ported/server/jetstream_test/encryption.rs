//! Encryption at rest (`jetstream { key, prev_key, cipher }`): what a stream and its
//! consumers write is sealed, survives restarts, follows key and cipher changes, and
//! snapshots are in the clear.
//!
//! Go keeps each message block's key in `msgs/<n>.key`; natsd seals it in the block's
//! header instead (see `natsd_store::file::codec`), so where Go checks that the key file
//! exists these ports check the same fact in natsd's layout: the block starts with the
//! sealed header naming the configured cipher, none of the plaintext is in it, and it
//! decrypts after a restart.
//!
//! TestJetStreamServerEncryptionServerRestarts is ported in `consumer_misc.rs`.

use super::snapshots::{restore, take_snapshot};
use ported::jetstream::{run_basic_jetstream_server, JsClient};
use ported::port;
use ported::support::{create_conf_file, load_config, run_server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

use natsd::server::BackgroundServer;

/// The header magic of a natsd block file with a cipher or compression.
const BLOCK_MAGIC: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, b'N', b'B', b'L', b'K'];
/// The header's cipher byte (Go's numbering: ChaCha 0, AES 1).
const CHACHA: u8 = 0;
const AES: u8 = 1;

/// Go's three cases: no cipher named (ChaCha), ChaCha, AES.
const CASES: [(&str, &str, u8); 3] = [
    ("Default", "", CHACHA),
    ("ChaCha", ", cipher: chacha", CHACHA),
    ("AES", ", cipher: aes", AES),
];

/// A store directory for a test, on tmpfs when there is one (syncs cost nothing there).
fn store_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("natsd-enc-test-")
            .tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap()
}

/// Go's `RunServerWithConfig(createConfFile(conf))`.
fn start(conf: &str) -> BackgroundServer {
    run_server(load_config(create_conf_file(conf.as_bytes())))
}

/// Go's template of these tests: a named server with a key (from `$JS_KEY` in Go).
fn key_conf(store: &Path, extra: &str) -> String {
    format!(
        "server_name: S22\nlisten: 127.0.0.1:-1\njetstream: {{key: \"s3cr3t!!\", store_dir: '{}' {extra}}}\n",
        store.display()
    )
}

/// `<store_dir>/jetstream/$G/streams/<name>`.
fn stream_dir(store: &Path, name: &str) -> PathBuf {
    store
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join(name)
}

/// `STREAM.INFO` without the time it was answered (Go's `StreamInfo` compared with
/// `reflect.DeepEqual` has no such field).
fn stream_info(js: &mut JsClient, name: &str) -> Value {
    let mut si = js.stream_info(name, None).unwrap();
    si.as_object_mut().unwrap().remove("ts");
    si
}

/// `CONSUMER.INFO` less what Go blanks before comparing (creation time, last activity,
/// cluster) and the time it was answered.
fn consumer_info(js: &mut JsClient, stream: &str, name: &str) -> Value {
    let mut ci = js.request(&format!("$JS.API.CONSUMER.INFO.{stream}.{name}"), None);
    assert!(ci.get("error").is_none(), "consumer info: {ci}");
    let obj = ci.as_object_mut().unwrap();
    for key in ["created", "ts", "cluster"] {
        obj.remove(key);
    }
    for seqs in ["delivered", "ack_floor"] {
        if let Some(o) = obj.get_mut(seqs).and_then(Value::as_object_mut) {
            o.remove("last_active");
        }
    }
    ci
}

/// Fails when `file` holds any of `texts` (Go's `checkFor`).
#[track_caller]
fn check_not_in(file: &Path, texts: &[&str]) {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    for text in texts {
        assert!(
            !data.windows(text.len()).any(|w| w == text.as_bytes()),
            "Found {text:?} in body of file contents of {}",
            file.display()
        );
    }
}

#[track_caller]
fn check_key_file(file: &Path) {
    assert!(file.exists(), "Expected a key file at {:?}", file.display());
}

/// natsd's equivalent of Go's `msgs/1.key` check: block 1 is sealed with the cipher
/// configured (its header magic, then the cipher byte).
#[track_caller]
fn check_block_sealed(block: &Path, cipher: u8) {
    let raw = std::fs::read(block).unwrap();
    assert!(raw.len() > 12, "block {} too short", block.display());
    assert_eq!(
        raw[..8],
        BLOCK_MAGIC,
        "block {} is not sealed",
        block.display()
    );
    assert_eq!(
        raw[9],
        cipher,
        "block {} has another cipher",
        block.display()
    );
}

/// Go's `checkEncrypted` of TestJetStreamServerEncryption.
#[track_caller]
fn check_encrypted(sdir: &Path, cipher: u8) {
    check_key_file(&sdir.join("meta.key"));
    check_not_in(
        &sdir.join("meta.inf"),
        &["TEST", "foo", "bar", "baz", "max_msgs", "max_bytes"],
    );
    // A message block.
    let block = sdir.join("msgs").join("1.blk");
    check_block_sealed(&block, cipher);
    check_not_in(&block, &["ENCRYPTED PAYLOAD!!", "foo", "bar", "baz"]);
    // Consumer meta and state.
    let odir = sdir.join("obs").join("dlc");
    check_key_file(&odir.join("meta.key"));
    check_not_in(
        &odir.join("meta.inf"),
        &["TEST", "dlc", "foo", "bar", "baz", "max_msgs", "ack_policy"],
    );
    let state = std::fs::read(odir.join("o.dat")).unwrap();
    assert!(
        natsd_store::decode_consumer_state(&state).is_err(),
        "Expected decoding consumer state to fail"
    );
}

fn server_encryption() {
    for (case, cstr, cipher) in CASES {
        let store = store_dir();
        let conf = key_conf(store.path(), cstr);
        let mut s = start(&conf);
        let mut js = JsClient::connect(s.addr);
        js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar", "baz"]}))
            .unwrap();
        let msg = b"ENCRYPTED PAYLOAD!!";
        for _ in 0..10 {
            js.publish_ok("foo", msg);
        }
        // Now create a consumer.
        let mut sub = js.pull_subscribe("foo", "dlc", json!({})).unwrap();
        let msgs = js.fetch_msgs(&mut sub, 10, Duration::from_secs(5));
        assert_eq!(msgs.len(), 10, "[{case}]");
        for m in &msgs[..5] {
            js.ack_sync(m);
        }
        // Our state to compare after restart.
        let si = stream_info(&mut js, "TEST");
        let ci = consumer_info(&mut js, "TEST", "dlc");

        let sdir = stream_dir(store.path(), "TEST");
        drop(js);
        s.shutdown();
        check_encrypted(&sdir, cipher);

        // Restart.
        let mut s = start(&conf);
        let mut js = JsClient::connect(s.addr);
        let si2 = stream_info(&mut js, "TEST");
        assert_eq!(si, si2, "[{case}] Stream infos did not match");
        let ci2 = consumer_info(&mut js, "TEST", "dlc");
        assert_eq!(ci, ci2, "[{case}] Consumer infos did not match");

        // Send 10 more msgs.
        for _ in 0..10 {
            js.publish_ok("foo", msg);
        }
        let si = stream_info(&mut js, "TEST");
        assert_eq!(si["state"]["messages"], json!(20), "[{case}]");

        // Now snapshots.
        let scfg = si["config"].clone();
        let snap = take_snapshot(&mut js, "TEST", json!({})).unwrap();
        assert_eq!(snap.end_status, Some(204), "[{case}] snapshot did not end");

        // A server without encryption restores it (encryption was stripped).
        let ns = run_basic_jetstream_server();
        let mut njs = ns.client();
        restore(&mut njs, "TEST", &scfg, &snap.data).unwrap();
        let check_state = |js: &mut JsClient| {
            let ss = js.stream_info("TEST", None).unwrap()["state"].clone();
            for field in ["messages", "first_seq", "last_seq"] {
                assert_eq!(
                    ss[field], si["state"][field],
                    "[{case}] Stream states do not match: {ss} vs {}",
                    si["state"]
                );
            }
        };
        check_state(&mut njs);

        // Now restore to our encrypted server as well.
        js.delete_stream("TEST").unwrap();
        restore(&mut js, "TEST", &scfg, &snap.data).unwrap();
        check_state(&mut js);
        // Everything is sealed as above: a snapshot is always in the clear, so the
        // restore had to encrypt it.
        check_encrypted(&sdir, cipher);
        drop(js);
        s.shutdown();
    }
}

port!("server/jetstream_test.go::TestJetStreamServerEncryption" => server_encryption);

fn server_encryption_recovery_without_stream_state_file() {
    for (case, cstr, _) in CASES {
        let store = store_dir();
        let conf = key_conf(store.path(), cstr);
        let mut s = start(&conf);
        let mut js = JsClient::connect(s.addr);
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
            .unwrap();
        js.publish_ok("foo", b"");
        let before = js.stream_info("TEST", None).unwrap()["state"].clone();
        assert_eq!(before["messages"], json!(1), "[{case}]");
        assert_eq!(before["first_seq"], json!(1), "[{case}]");
        assert_eq!(before["last_seq"], json!(1), "[{case}]");

        for i in 0..2 {
            drop(js);
            s.shutdown();
            // Without the index the keys must still be found, and the stream's key file
            // must not be replaced by a new one the next stop would write.
            if i == 0 {
                let state_file = stream_dir(store.path(), "TEST")
                    .join("msgs")
                    .join("index.db");
                std::fs::remove_file(&state_file).unwrap();
            }
            s = start(&conf);
            js = JsClient::connect(s.addr);
            let si = js
                .stream_info("TEST", None)
                .unwrap_or_else(|e| panic!("[{case}] stream not found after restart {i}: {e:?}"));
            assert_eq!(
                si["state"], before,
                "[{case}] Expected state of {before}, got {} without index.db state",
                si["state"]
            );
        }
        drop(js);
        s.shutdown();
    }
}

port!("server/jetstream_test.go::TestJetStreamServerEncryptionRecoveryWithoutStreamStateFile" => server_encryption_recovery_without_stream_state_file);

/// Go's `checkStream` of TestJetStreamServerReencryption: every message is there and
/// reads back through a new consumer.
fn check_stream(js: &mut JsClient, stream: &str, subject: &str, expected: usize, what: &str) {
    let si = js
        .stream_info(stream, None)
        .unwrap_or_else(|e| panic!("[{what}] {e:?}"));
    assert_eq!(
        si["state"]["messages"],
        json!(expected),
        "[{what}] Should be {expected} messages"
    );
    let mut sub = js.pull_subscribe(subject, "", json!({})).unwrap();
    let msgs = js.fetch_msgs(&mut sub, expected, Duration::from_secs(5));
    for m in &msgs {
        js.ack_sync(m);
    }
    assert_eq!(
        msgs.len(),
        expected,
        "[{what}] Should have read back {expected} messages"
    );
    js.pull_unsubscribe(sub);
}

fn server_reencryption() {
    let store = store_dir();
    let mut i = 0;
    let algos = [
        ("aes", "aes"),
        ("aes", "chacha"),
        ("chacha", "chacha"),
        ("chacha", "aes"),
    ];
    for (from, to) in algos {
        for compression in ["none", "s2"] {
            i += 1;
            let what = format!("{from}_to_{to}/{compression}");
            let stream = format!("TEST_{i}");
            let subject = format!("foo_{i}");
            let expected = 30;
            let conf = |key: &str, cipher: &str, prev: Option<&str>| {
                let prev = prev
                    .map(|k| format!("prev_key: \"{k}\"\n"))
                    .unwrap_or_default();
                format!(
                    "server_name: S22\nlisten: 127.0.0.1:-1\njetstream: {{\nkey: \"{key}\"\ncipher: {cipher}\n{prev}store_dir: \"{}\"\n}}\n",
                    store.path().display()
                )
            };

            // Setup: the original key and cipher, a stream with some messages.
            {
                let mut s = start(&conf("firstencryptionkey", from, None));
                let mut js = JsClient::connect(s.addr);
                js.add_stream(json!({
                    "name": stream,
                    "subjects": [subject],
                    "storage": "file",
                    "compression": compression,
                }))
                .unwrap();
                let payload = vec![b'A'; 512 * 1024];
                for _ in 0..expected {
                    js.publish_ok(&subject, &payload);
                }
                check_stream(&mut js, &stream, &subject, expected, &what);
                drop(js);
                s.shutdown();
            }

            // Reencrypt: the new key and cipher with the old key as the previous one.
            {
                let mut s = start(&conf("secondencryptionkey", to, Some("firstencryptionkey")));
                let mut js = JsClient::connect(s.addr);
                check_stream(&mut js, &stream, &subject, expected, &what);
                drop(js);
                s.shutdown();
            }

            // Restart with only the new key: everything was re-encrypted.
            {
                let mut s = start(&conf("secondencryptionkey", to, None));
                let mut js = JsClient::connect(s.addr);
                check_stream(&mut js, &stream, &subject, expected, &what);
                drop(js);
                s.shutdown();
            }
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamServerReencryption" => server_reencryption);

fn server_cipher_convert() {
    let store = store_dir();
    let conf = |cipher: &str| {
        format!(
            "server_name: S22\nlisten: 127.0.0.1:-1\njetstream: {{key: s3cr3t, store_dir: '{}', cipher: {cipher}}}\n",
            store.path().display()
        )
    };
    // A stream and a consumer under one cipher, then a restart with another.
    let mut s = start(&conf("AES"));
    let mut js = JsClient::connect(s.addr);
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for i in 0..1000 {
        js.publish_ok("foo", format!("TOP SECRET DOCUMENT #{}", i + 1).as_bytes());
    }
    // Consumers convert as well.
    let mut sub = js.pull_subscribe("foo", "dlc", json!({})).unwrap();
    let msgs = js.fetch_msgs(&mut sub, 100, Duration::from_secs(5));
    assert_eq!(msgs.len(), 100);
    for m in &msgs {
        js.ack_sync(m);
    }
    let si = stream_info(&mut js, "TEST");
    let ci = consumer_info(&mut js, "TEST", "dlc");
    drop(js);
    s.shutdown();

    let mut s = start(&conf("ChaCha"));
    let mut js = JsClient::connect(s.addr);
    let si2 = stream_info(&mut js, "TEST");
    assert_eq!(si, si2, "Stream infos did not match");
    let ci2 = consumer_info(&mut js, "TEST", "dlc");
    assert_eq!(ci, ci2, "Consumer infos did not match");
    drop(js);
    s.shutdown();
}

port!("server/jetstream_test.go::TestJetStreamServerCipherConvert" => server_cipher_convert);

fn no_race_encryption_enabled_on_restart_with_expire() {
    let store = store_dir();
    let mut s = start(&format!(
        "listen: 127.0.0.1:-1\njetstream {{\nstore_dir = \"{}\"\n}}\n",
        store.path().display()
    ));
    let mut js = JsClient::connect(s.addr);
    let to_send = 10_000;
    js.add_stream(json!({"name": "TEST", "subjects": ["foo", "bar"], "max_msgs": to_send}))
        .unwrap();
    // 4K random payloads.
    let mut data = vec![0u8; 4 * 1024];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    for _ in 0..to_send / 500 {
        let batch: Vec<(&str, &[u8])> = (0..500)
            .flat_map(|_| [("foo", &data[..]), ("bar", &data[..])])
            .collect();
        for ack in js.publish_async(&batch) {
            assert!(ack.get("error").is_none(), "{ack}");
        }
    }
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit"}),
    )
    .unwrap();

    // Restart with a key: the store is encrypted at start.
    drop(js);
    s.shutdown();
    let conf = format!(
        "\nlisten: 127.0.0.1:-1\njetstream: {{key: \"s3cr3t!\", store_dir: \"{}\"}}\n",
        store.path().display()
    );
    let started = std::time::Instant::now();
    let mut s = start(&conf);
    let took = started.elapsed();
    assert!(
        took <= Duration::from_secs(5),
        "Restart took longer than expected: {took:?}"
    );
    // What the restart encrypted is all there (not in Go's test: it only times the start).
    let mut js = JsClient::connect(s.addr);
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(si["state"]["messages"], json!(to_send));
    drop(js);
    s.shutdown();
}

port!("server/norace_1_test.go::TestNoRaceJetStreamEncryptionEnabledOnRestartWithExpire" => no_race_encryption_enabled_on_restart_with_expire, opt_in = "stress: 20,000 4 KB messages published, then a restart that encrypts the 80 MB store within Go's 5 s bound; a debug build on a loaded 2-core CI machine may miss it");
