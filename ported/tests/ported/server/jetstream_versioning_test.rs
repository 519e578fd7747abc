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

// ---------------------------------------------------------------------------------------
// Requests carrying `Nats-Required-Api-Level`
// ---------------------------------------------------------------------------------------

/// The header asking the server for a minimum API level, with Go's `math.MaxInt`.
const REQUIRE_MAX_LEVEL: (&str, &str) = ("Nats-Required-Api-Level", "9223372036854775807");

/// The subjects Go's server registers in `apiSubs` (its `pairs` and `infopairs`), which
/// Go's test walks: natsd must serve every one of them.
const GO_API_SUBJECTS: [&str; 24] = [
    "$JS.API.STREAM.CREATE.*",
    "$JS.API.STREAM.UPDATE.*",
    "$JS.API.STREAM.DELETE.*",
    "$JS.API.STREAM.PURGE.*",
    "$JS.API.STREAM.SNAPSHOT.*",
    "$JS.API.STREAM.RESTORE.*",
    "$JS.API.STREAM.PEER.REMOVE.*",
    "$JS.API.STREAM.LEADER.STEPDOWN.*",
    "$JS.API.CONSUMER.LEADER.STEPDOWN.*.*",
    "$JS.API.STREAM.MSG.DELETE.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.CONSUMER.CREATE.*.>",
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.CONSUMER.DURABLE.CREATE.*.*",
    "$JS.API.CONSUMER.DELETE.*.*",
    "$JS.API.CONSUMER.PAUSE.*.*",
    "$JS.API.CONSUMER.UNPIN.*.*",
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.CONSUMER.NAMES.*",
    "$JS.API.CONSUMER.LIST.*",
    "$JS.API.CONSUMER.INFO.*.*",
];

port!("server/jetstream_versioning_test.go::TestJetStreamApiErrorOnRequiredApiLevel" => api_error_on_required_api_level);
fn api_error_on_required_api_level() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();

    // Go walks the server's own API subscriptions; natsd's are its routes.
    let subjects: Vec<&str> = natsd::jetstream::api::ROUTES
        .iter()
        .map(|&(subject, _)| subject)
        .collect();
    assert!(!subjects.is_empty());
    for go_subject in GO_API_SUBJECTS {
        assert!(
            subjects.contains(&go_subject),
            "natsd does not serve {go_subject}"
        );
    }
    for subject in subjects {
        // The subject is sent as it is subscribed, wildcards and all, as Go does.
        let msg = js
            .conn
            .request(subject, &[REQUIRE_MAX_LEVEL], b"", Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{subject}: no answer: {e:?}"));
        let resp: Value = serde_json::from_slice(&msg.payload)
            .unwrap_or_else(|e| panic!("{subject}: answer is not JSON: {e}"));
        let err = api_result(resp.clone())
            .err()
            .unwrap_or_else(|| panic!("{subject}: expected an error, got {resp}"));
        // Peer removal and leader step-down need a cluster.
        let (code, err_code, description) =
            if subject.contains(".STEPDOWN.") || subject.contains(".PEER.") {
                (503, 10010, "JetStream clustering support required")
            } else {
                (412, 10185, "JetStream minimum api level required")
            };
        assert_eq!(
            (err.code, err.err_code, err.description.as_str()),
            (code, err_code, description),
            "{subject}: {resp}"
        );
    }
}

/// A request with [`REQUIRE_MAX_LEVEL`] must be answered by a bare 412 status.
#[track_caller]
fn expect_required_api_level_status(js: &mut JsClient, subject: &str) {
    let msg = js
        .conn
        .request(subject, &[REQUIRE_MAX_LEVEL], b"", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("{subject}: no answer: {e:?}"));
    // nats.go turns the status line into its `Status` and `Description` headers.
    assert_eq!(msg.status(), Some(412), "{msg:?}");
    let header = String::from_utf8_lossy(&msg.header);
    let description = header
        .split("\r\n")
        .next()
        .and_then(|line| line.strip_prefix("NATS/1.0 412"))
        .map(str::trim);
    assert_eq!(description, Some("Required Api Level"), "{msg:?}");
}

port!("server/jetstream_versioning_test.go::TestJetStreamApiErrorOnRequiredApiLevelDirectGet" => api_error_on_required_api_level_direct_get);
fn api_error_on_required_api_level_direct_get() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "allow_direct": true}))
        .unwrap();

    expect_required_api_level_status(&mut js, "$JS.API.DIRECT.GET.TEST");
    expect_required_api_level_status(&mut js, "$JS.API.DIRECT.GET.TEST.foo");
}

port!("server/jetstream_versioning_test.go::TestJetStreamApiErrorOnRequiredApiLevelPullConsumerNextMsg" => api_error_on_required_api_level_pull_consumer_next_msg);
fn api_error_on_required_api_level_pull_consumer_next_msg() {
    let s = run_basic_jetstream_server();
    let mut js = s.client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "allow_direct": true}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    expect_required_api_level_status(&mut js, "$JS.API.CONSUMER.MSG.NEXT.TEST.CONSUMER");
}
