//! Ports of the `server/filestore_test.go` tests that run a JetStream server and check
//! the file store through the JetStream API (Go reads `mset.state()` and the account's
//! usage; these ports ask `STREAM.INFO` and `$JS.API.INFO`).

use ported::jetstream::{file_store_msg_size_raw, run_basic_jetstream_server, StreamState};
use ported::port;
use serde_json::{json, Value};

port!("server/filestore_test.go::TestFileStorePurgeMsgBlockAccounting" => file_store_purge_msg_block_accounting);
fn file_store_purge_msg_block_accounting() {
    let test = |update: &dyn Fn(&mut Value)| {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        let mut cfg = json!({"name": "TEST", "subjects": ["foo"], "storage": "file"});
        js.add_stream(cfg.clone()).unwrap();

        let (subj, data) = ("foo", vec![0u8; 1024 * 1024]);
        for _ in 0..10 {
            js.publish(subj, &[], &data).unwrap();
        }
        let store_usage = |js: &mut ported::jetstream::JsClient| {
            js.account_info().unwrap()["storage"]
                .as_u64()
                .expect("account storage")
        };
        let state = js.stream_state("TEST");
        assert_eq!(state.bytes, store_usage(&mut js));

        update(&mut cfg);
        js.update_stream(cfg).unwrap();

        let state: StreamState = js.stream_state("TEST");
        assert_eq!(
            state.bytes,
            file_store_msg_size_raw(subj.len(), 0, data.len())
        );
        assert_eq!(state.bytes, store_usage(&mut js));
    };

    // MaxMsgs
    test(&|cfg| cfg["max_msgs"] = json!(1));
    // MaxBytes
    test(&|cfg| cfg["max_bytes"] = json!(file_store_msg_size_raw(3, 0, 1024 * 1024)));
}

port!("server/filestore_test.go::TestJetStreamFileStoreSubjectsRemovedAfterSecureErase" => js_file_store_subjects_removed_after_secure_erase);
fn js_file_store_subjects_removed_after_secure_erase() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["test.*"], "storage": "file"}))
        .unwrap();
    js.publish("test.1", &[], b"msg1").unwrap();
    js.publish("test.2", &[], b"msg2").unwrap();
    js.publish("test.3", &[], b"msg3").unwrap();

    let si = js
        .stream_info("TEST", Some(json!({"subjects_filter": ">"})))
        .unwrap();
    let state = StreamState::of(&si);
    assert_eq!(state.num_subjects, 3);
    assert_eq!(state.subjects.len(), 3);

    // An erase must not lose the subject the per-subject accounting removes it from.
    js.secure_delete_msg("TEST", 1).unwrap();

    let si = js
        .stream_info("TEST", Some(json!({"subjects_filter": ">"})))
        .unwrap();
    let state = StreamState::of(&si);
    assert_eq!(state.num_subjects, 2);
    assert_eq!(state.subjects.len(), 2);
    assert!(!state.subjects.contains_key("test.1"));
    assert_eq!(state.subjects["test.2"], 1);
    assert_eq!(state.subjects["test.3"], 1);
}
