//! `server/jetstream_test.go` tests of JetStream's health check (Go's `s.healthz`, here
//! `natsd::monitor::healthz`). Go's `s.DisableJetStream()` is `natsd::jetstream::shutdown`.

use super::send_stream_msg;
use natsd::monitor::{self, HealthzOptions};
use ported::jetstream::{run_basic_jetstream_server, JsServer};
use ported::port;
use serde_json::json;

/// Go's `NewJSNotEnabledError().Error()`: the description and the error code.
const JS_NOT_ENABLED: &str = "JetStream not enabled (10076)";

fn healthz(s: &JsServer) -> monitor::HealthStatus {
    monitor::healthz(s.shared(), &HealthzOptions::default())
}

port!("server/jetstream_test.go::TestJetStreamDisabledHealthz" => jetstream_disabled_healthz);
fn jetstream_disabled_healthz() {
    let s = run_basic_jetstream_server();
    assert!(
        s.shared().jetstream().is_some(),
        "Expected JetStream to be enabled"
    );
    natsd::jetstream::shutdown(s.shared());
    let hs = monitor::healthz(
        s.shared(),
        &HealthzOptions {
            js_enabled_only: true,
            ..HealthzOptions::default()
        },
    );
    assert!(
        hs.status == "unavailable" && hs.error == JS_NOT_ENABLED,
        "Expected healthz to return error if JetStream is disabled, got status: {} ({:?})",
        hs.status,
        hs.error
    );
}

port!("server/jetstream_test.go::TestJetStreamSnapshotRestoreStallAndHealthz" => jetstream_snapshot_restore_stall_and_healthz);
fn jetstream_snapshot_restore_stall_and_healthz() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "ORDERS", "subjects": ["orders.*"]}))
        .unwrap();
    for _ in 0..1000 {
        send_stream_msg(&mut js, "orders.created", "new order");
    }
    let hs = healthz(&s);
    assert!(
        hs.status == "ok" && hs.error.is_empty(),
        "Expected health to be ok, got {hs:?}"
    );
    // A restore's staging directory at the top of the store directory (Go's
    // `snapStagingDir` in `js.config.StoreDir`) is not an account.
    let jetstream_dir = s.shared().jetstream().unwrap().config.store_dir.clone();
    assert_eq!(jetstream_dir, s.store_dir().join("jetstream"));
    std::fs::create_dir_all(jetstream_dir.join(".snap-staging")).unwrap();
    let hs = healthz(&s);
    assert!(
        hs.status == "ok" && hs.error.is_empty(),
        "Expected health to be ok, got {hs:?}"
    );
}

port!("server/jetstream_test.go::TestJetStreamMetaDataFailOnKernelFault" => jetstream_meta_data_fail_on_kernel_fault);
fn jetstream_meta_data_fail_on_kernel_fault() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    let cfg = json!({"name": "TEST", "subjects": ["foo"]});
    js.add_stream(cfg.clone()).unwrap();
    for _ in 0..10 {
        send_stream_msg(&mut js, "foo", "OK");
    }
    drop(js);
    let sdir = s
        .store_dir()
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join("TEST");
    s.shutdown();

    // As if the kernel never wrote out the meta information: both files empty.
    std::fs::write(sdir.join("meta.inf"), b"").unwrap();
    std::fs::write(sdir.join("meta.sum"), b"").unwrap();

    s.restart();
    let mut js = s.client();
    // The stream was not recovered.
    assert!(js.stream_info("TEST", None).is_err());

    let hs = healthz(&s);
    let expected = "JetStream stream '$G > TEST' could not be recovered";
    assert!(
        hs.status == "unavailable" && !hs.error.is_empty(),
        "Expected healthz to return an error, got {hs:?}"
    );
    assert_eq!(hs.error, expected, "Expected healthz error");

    // Adding it back recovers the messages.
    js.add_stream(cfg).unwrap();
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(si["state"]["messages"], 10);

    // After a restart the meta data is right and the stream is restored.
    drop(js);
    s.restart();
    let mut js = s.client();
    let si = js.stream_info("TEST", None).unwrap();
    assert_eq!(si["state"]["messages"], 10);
}
