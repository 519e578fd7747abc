//! Ports of `server/jetstream_versioning_test.go`: the stream and consumer versioning
//! metadata helpers (`_nats.req.level`, `_nats.ver`, `_nats.level`), through their Rust
//! equivalents in `natsd::jetstream::stream_config` and `consumer_config`. The tests that
//! need clusters, direct gets or every API verb are not ported yet.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::jetstream::api::types::{
    AckPolicy, ConsumerConfig, PersistMode, PriorityPolicy, StreamConfig,
};
use natsd::jetstream::consumer_config::{
    copy_consumer_metadata, set_static_consumer_metadata, with_dynamic_consumer_metadata,
};
use natsd::jetstream::stream_config::{
    copy_stream_metadata, metadata_required_api_level, set_static_stream_metadata,
    supports_required_api_level, with_dynamic_stream_metadata, REQUIRED_LEVEL_METADATA_KEY,
    SERVER_LEVEL_METADATA_KEY, SERVER_VERSION_METADATA_KEY,
};
use natsd::jetstream::API_LEVEL;
use ported::port;
use std::collections::BTreeMap;

type Metadata = BTreeMap<String, String>;

/// Go's `metadataAtLevel`.
fn metadata_at_level(level: &str) -> Metadata {
    Metadata::from([(REQUIRED_LEVEL_METADATA_KEY.to_string(), level.to_string())])
}

/// Go's `metadataPrevious`.
fn metadata_previous() -> Metadata {
    metadata_at_level("previous-level")
}

/// The response-only keys with placeholder values.
fn dynamic_metadata() -> Metadata {
    Metadata::from([
        (
            SERVER_VERSION_METADATA_KEY.to_string(),
            "dynamic-version".to_string(),
        ),
        (
            SERVER_LEVEL_METADATA_KEY.to_string(),
            "dynamic-version".to_string(),
        ),
    ])
}

fn with_metadata(metadata: Metadata) -> StreamConfig {
    StreamConfig {
        metadata,
        ..Default::default()
    }
}

port!("server/jetstream_versioning_test.go::TestGetAndSupportsRequiredApiLevel" => get_and_supports_required_api_level);
fn get_and_supports_required_api_level() {
    // Go's nil and empty maps are both the empty map here.
    assert_eq!(metadata_required_api_level(&Metadata::new()), "");
    assert_eq!(metadata_required_api_level(&metadata_at_level("1")), "1");
    assert_eq!(
        metadata_required_api_level(&metadata_at_level("text")),
        "text"
    );

    assert!(supports_required_api_level(&Metadata::new()));
    assert!(supports_required_api_level(&metadata_at_level("1")));
    assert!(supports_required_api_level(&metadata_at_level(
        &API_LEVEL.to_string()
    )));
    assert!(!supports_required_api_level(&metadata_at_level("text")));
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetStaticStreamMetadata" => set_static_stream_metadata_levels);
fn set_static_stream_metadata_levels() {
    let cases: Vec<(&str, StreamConfig, &str)> = vec![
        ("empty", StreamConfig::default(), "0"),
        (
            "overwrite-user-provided",
            with_metadata(metadata_previous()),
            "0",
        ),
        (
            "empty-prev-metadata/delete-user-provided",
            with_metadata(metadata_previous()),
            "0",
        ),
        (
            "AllowMsgTTL",
            StreamConfig {
                allow_msg_ttl: true,
                ..Default::default()
            },
            "1",
        ),
        (
            "SubjectDeleteMarkerTTL",
            StreamConfig {
                subject_delete_marker_ttl: 1_000_000_000,
                ..Default::default()
            },
            "1",
        ),
        (
            "AllowMsgCounter",
            StreamConfig {
                allow_msg_counter: true,
                ..Default::default()
            },
            "2",
        ),
        (
            "AllowAtomicPublish",
            StreamConfig {
                allow_atomic_publish: true,
                ..Default::default()
            },
            "2",
        ),
        (
            "AllowMsgSchedules",
            StreamConfig {
                allow_msg_schedules: true,
                ..Default::default()
            },
            "2",
        ),
        (
            "AsyncPersistMode",
            StreamConfig {
                persist_mode: PersistMode::Async,
                ..Default::default()
            },
            "2",
        ),
        (
            "AllowBatchPublish",
            StreamConfig {
                allow_batch_publish: true,
                ..Default::default()
            },
            "4",
        ),
    ];
    for (desc, mut cfg, expected) in cases {
        set_static_stream_metadata(&mut cfg);
        let level = cfg.metadata[REQUIRED_LEVEL_METADATA_KEY].clone();
        assert_eq!(level, expected, "{desc}");
        // A feature that needs a level must not need more than the server's.
        let level: i64 = level
            .parse()
            .unwrap_or_else(|e| panic!("{desc}: {level:?}: {e}"));
        assert!(
            level <= API_LEVEL,
            "{desc}: level {level} above {API_LEVEL}"
        );
    }
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetStaticStreamMetadataRemoveDynamicFields" => set_static_stream_metadata_remove_dynamic_fields);
fn set_static_stream_metadata_remove_dynamic_fields() {
    let mut cfg = with_metadata(dynamic_metadata());
    set_static_stream_metadata(&mut cfg);
    assert_eq!(cfg.metadata, metadata_at_level("0"));
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetDynamicStreamMetadata" => set_dynamic_stream_metadata);
fn set_dynamic_stream_metadata() {
    let cfg = with_metadata(metadata_at_level("0"));
    let new_cfg = with_dynamic_stream_metadata(&cfg);

    // Only the copy gets the dynamic fields.
    let mut metadata = metadata_at_level("0");
    assert_eq!(cfg.metadata, metadata);
    metadata.insert(
        SERVER_VERSION_METADATA_KEY.to_string(),
        natsd::VERSION.to_string(),
    );
    metadata.insert(SERVER_LEVEL_METADATA_KEY.to_string(), API_LEVEL.to_string());
    assert_eq!(new_cfg.metadata, metadata);
}

port!("server/jetstream_versioning_test.go::TestJetStreamCopyStreamMetadata" => copy_stream_metadata_cases);
fn copy_stream_metadata_cases() {
    // (description, metadata of the config, metadata of the previous config if any).
    // Go's nil metadata is the empty map here.
    let cases: Vec<(&str, Metadata, Option<Metadata>)> = vec![
        ("no-previous-ignore", metadata_at_level("-1"), None),
        (
            "nil-previous-metadata-ignore",
            metadata_at_level("-1"),
            Some(Metadata::new()),
        ),
        (
            "nil-current-metadata-ignore",
            Metadata::new(),
            Some(metadata_previous()),
        ),
        (
            "copy-previous",
            metadata_at_level("-1"),
            Some(metadata_previous()),
        ),
        (
            "delete-missing-fields",
            metadata_at_level("-1"),
            Some(Metadata::new()),
        ),
    ];
    for (desc, metadata, prev) in cases {
        let mut cfg = with_metadata(metadata);
        let prev = prev.map(with_metadata);
        copy_stream_metadata(&mut cfg, prev.as_ref());

        let expected = prev
            .as_ref()
            .and_then(|p| p.metadata.get(REQUIRED_LEVEL_METADATA_KEY));
        match expected {
            Some(value) => assert_eq!(
                cfg.metadata.get(REQUIRED_LEVEL_METADATA_KEY),
                Some(value),
                "{desc}"
            ),
            // The key must not exist.
            None => assert!(
                !cfg.metadata.contains_key(REQUIRED_LEVEL_METADATA_KEY),
                "{desc}: {:?}",
                cfg.metadata
            ),
        }
    }
}

port!("server/jetstream_versioning_test.go::TestJetStreamCopyStreamMetadataRemoveDynamicFields" => copy_stream_metadata_remove_dynamic_fields);
fn copy_stream_metadata_remove_dynamic_fields() {
    let mut cfg = with_metadata(dynamic_metadata());
    copy_stream_metadata(&mut cfg, None);
    assert_eq!(cfg.metadata.len(), 0);

    let mut cfg = with_metadata(dynamic_metadata());
    let prev = with_metadata(metadata_at_level("0"));
    copy_stream_metadata(&mut cfg, Some(&prev));
    assert_eq!(cfg.metadata, metadata_at_level("0"));
}

fn consumer_with_metadata(metadata: Metadata) -> ConsumerConfig {
    ConsumerConfig {
        metadata,
        ..Default::default()
    }
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetStaticConsumerMetadata" => set_static_consumer_metadata_levels);
fn set_static_consumer_metadata_levels() {
    use natsd::monitor::gotime::GoTime;
    let cases: Vec<(&str, ConsumerConfig, &str)> = vec![
        ("empty", ConsumerConfig::default(), "0"),
        (
            "overwrite-user-provided",
            consumer_with_metadata(metadata_previous()),
            "0",
        ),
        (
            "PauseUntil/zero",
            ConsumerConfig {
                pause_until: Some(GoTime::ZERO),
                ..Default::default()
            },
            "0",
        ),
        (
            // The Unix epoch is not Go's zero time.
            "PauseUntil",
            ConsumerConfig {
                pause_until: Some(GoTime::from_unix_nanos(0)),
                ..Default::default()
            },
            "1",
        ),
        (
            "Pinned",
            ConsumerConfig {
                priority_policy: PriorityPolicy::PinnedClient,
                priority_groups: vec!["a".into()],
                ..Default::default()
            },
            "1",
        ),
        (
            "AckFlowControl",
            ConsumerConfig {
                ack_policy: AckPolicy::FlowControl,
                ..Default::default()
            },
            "4",
        ),
    ];
    for (desc, mut cfg, expected) in cases {
        set_static_consumer_metadata(&mut cfg);
        let level = cfg.metadata[REQUIRED_LEVEL_METADATA_KEY].clone();
        assert_eq!(level, expected, "{desc}");
        // A feature that needs a level must not need more than the server's.
        let level: i64 = level
            .parse()
            .unwrap_or_else(|e| panic!("{desc}: {level:?}: {e}"));
        assert!(
            level <= API_LEVEL,
            "{desc}: level {level} above {API_LEVEL}"
        );
    }
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetStaticConsumerMetadataRemoveDynamicFields" => set_static_consumer_metadata_remove_dynamic_fields);
fn set_static_consumer_metadata_remove_dynamic_fields() {
    let mut cfg = consumer_with_metadata(dynamic_metadata());
    set_static_consumer_metadata(&mut cfg);
    assert_eq!(cfg.metadata, metadata_at_level("0"));
}

port!("server/jetstream_versioning_test.go::TestJetStreamSetDynamicConsumerMetadata" => set_dynamic_consumer_metadata);
fn set_dynamic_consumer_metadata() {
    let cfg = consumer_with_metadata(metadata_at_level("0"));
    let new_cfg = with_dynamic_consumer_metadata(&cfg);

    // Only the copy gets the dynamic fields.
    let mut metadata = metadata_at_level("0");
    assert_eq!(cfg.metadata, metadata);
    metadata.insert(
        SERVER_VERSION_METADATA_KEY.to_string(),
        natsd::VERSION.to_string(),
    );
    metadata.insert(SERVER_LEVEL_METADATA_KEY.to_string(), API_LEVEL.to_string());
    assert_eq!(new_cfg.metadata, metadata);
}

port!("server/jetstream_versioning_test.go::TestJetStreamCopyConsumerMetadata" => copy_consumer_metadata_cases);
fn copy_consumer_metadata_cases() {
    // (description, metadata of the config, metadata of the previous config if any).
    // Go's nil metadata is the empty map here.
    let cases: Vec<(&str, Metadata, Option<Metadata>)> = vec![
        ("no-previous-ignore", metadata_at_level("-1"), None),
        (
            "nil-previous-metadata-ignore",
            metadata_at_level("-1"),
            Some(Metadata::new()),
        ),
        (
            "nil-current-metadata-ignore",
            Metadata::new(),
            Some(metadata_previous()),
        ),
        (
            "copy-previous",
            metadata_at_level("-1"),
            Some(metadata_previous()),
        ),
        (
            "delete-missing-fields",
            metadata_at_level("-1"),
            Some(Metadata::new()),
        ),
    ];
    for (desc, metadata, prev) in cases {
        let mut cfg = consumer_with_metadata(metadata);
        let prev = prev.map(consumer_with_metadata);
        copy_consumer_metadata(&mut cfg, prev.as_ref());

        let expected = prev
            .as_ref()
            .and_then(|p| p.metadata.get(REQUIRED_LEVEL_METADATA_KEY));
        match expected {
            Some(value) => assert_eq!(
                cfg.metadata.get(REQUIRED_LEVEL_METADATA_KEY),
                Some(value),
                "{desc}"
            ),
            // The key must not exist.
            None => assert!(
                !cfg.metadata.contains_key(REQUIRED_LEVEL_METADATA_KEY),
                "{desc}: {:?}",
                cfg.metadata
            ),
        }
    }
}

port!("server/jetstream_versioning_test.go::TestJetStreamCopyConsumerMetadataRemoveDynamicFields" => copy_consumer_metadata_remove_dynamic_fields);
fn copy_consumer_metadata_remove_dynamic_fields() {
    let mut cfg = consumer_with_metadata(dynamic_metadata());
    copy_consumer_metadata(&mut cfg, None);
    assert_eq!(cfg.metadata.len(), 0);

    let mut cfg = consumer_with_metadata(dynamic_metadata());
    let prev = consumer_with_metadata(metadata_at_level("0"));
    copy_consumer_metadata(&mut cfg, Some(&prev));
    assert_eq!(cfg.metadata, metadata_at_level("0"));
}

// ---------------------------------------------------------------------------------------
// Stream restore (through `$JS.API.STREAM.RESTORE`)
// ---------------------------------------------------------------------------------------

use ported::jetstream::{api_result, run_basic_jetstream_server, JsClient};
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// Go's `restoreEmptyStream`: restores `STREAM` (file, limits) from an archive holding
/// only `meta.inf`, and checks the create response's metadata.
fn restore_empty_stream(js: &mut JsClient, replicas: u64) {
    let config = json!({"name": "STREAM", "retention": "limits", "storage": "file", "num_replicas": replicas});
    let deliver = super::jetstream_test::snapshots::start_restore(js, "STREAM", &config)
        .unwrap_or_else(|e| panic!("Error on restore: {e:?}"));

    // An S2 stream around a tar holding only meta.inf (a FileStreamInfo).
    let mut fsi = config.clone();
    fsi["Created"] = json!("0001-01-01T00:00:00Z");
    let fsij = serde_json::to_vec(&fsi).unwrap();
    let mut archive = Vec::new();
    {
        let mut tw = tar::Builder::new(&mut archive);
        let mut hdr = tar::Header::new_ustar();
        hdr.set_size(fsij.len() as u64);
        hdr.set_mode(0o600);
        hdr.set_username("nats").unwrap();
        hdr.set_groupname("nats").unwrap();
        hdr.set_entry_type(tar::EntryType::Regular);
        tw.append_data(&mut hdr, "meta.inf", &fsij[..]).unwrap();
        tw.finish().unwrap();
    }
    let mut data = Vec::new();
    {
        let mut enc = minlz::Writer::new(&mut data);
        enc.write_all(&archive).unwrap();
        enc.flush().unwrap();
    }
    let m = js
        .conn
        .request(&deliver, &[], &data, Duration::from_secs(5))
        .unwrap();
    if !m.payload.is_empty() {
        api_result(serde_json::from_slice(&m.payload).unwrap())
            .unwrap_or_else(|e| panic!("Error on restore: {e:?}"));
    }
    let m = js
        .conn
        .request(&deliver, &[], b"", Duration::from_secs(5))
        .unwrap();
    let cresp = api_result(serde_json::from_slice(&m.payload).unwrap()).unwrap();
    assert_eq!(cresp["config"]["metadata"], expected_dynamic_metadata());
}

/// Only the response-time keys: the server's version and API level.
fn expected_dynamic_metadata() -> Value {
    json!({
        "_nats.ver": natsd::VERSION,
        "_nats.level": API_LEVEL.to_string(),
    })
}

port!("server/jetstream_versioning_test.go::TestJetStreamMetadataStreamRestoreAndRestart" => metadata_stream_restore_and_restart);
fn metadata_stream_restore_and_restart() {
    let mut s = run_basic_jetstream_server();
    let mut js = s.client();
    restore_empty_stream(&mut js, 1);

    // A restored stream keeps its (empty) metadata; only the dynamic keys are added.
    let si = js.stream_info("STREAM", None).unwrap();
    assert_eq!(si["config"]["metadata"], expected_dynamic_metadata());

    // Restart on the same store.
    drop(js);
    s.restart();
    let mut js = s.client();
    let started = Instant::now();
    let si = loop {
        match js.stream_info("STREAM", None) {
            Ok(si) => break si,
            Err(e) if started.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("stream info after restart: {e:?}"),
        }
    };
    assert_eq!(si["config"]["metadata"], expected_dynamic_metadata());
}
