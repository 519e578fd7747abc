//! Ports about JetStream's server-wide configuration and who may use it: the memory and
//! storage budgets (from a configuration file, from code, or worked out from the
//! machine), the domain, and the system account. Where Go reads `s.JetStreamConfig()`
//! these ports read the configuration natsd's JetStream started with
//! (`ServerShared::jetstream().config`); where Go calls `s.dynJetStreamConfig` they call
//! natsd's `config::jetstream::resolve`.

use ported::jetstream::run_jetstream_server_with_conf;
use ported::jetstream::{run_basic_jetstream_server, run_jetstream_server, JsServer};
use ported::port;
use ported::support::{create_conf_file, default_test_options, load_config, run_server};

use natsd::config::jetstream::{resolve, system_memory, JetStreamConfig};
use natsd::config::Options;
use natsd::server::validate_options;

const GB: i64 = 1024 * 1024 * 1024;

/// The configuration JetStream started with (Go's `s.JetStreamConfig()`); panics when
/// JetStream is not enabled (Go's `s.JetStreamEnabled()` checked first).
#[track_caller]
fn jetstream_config(s: &JsServer) -> JetStreamConfig {
    let js = s
        .shared()
        .jetstream()
        .expect("Expected JetStream to be enabled");
    js.config.clone()
}

/// A server started from `jetstream: {<settings>, store_dir: <temp>}`.
fn run_with_jetstream_block(settings: &str) -> JsServer {
    run_jetstream_server_with_conf(|dir| {
        format!(
            "listen: 127.0.0.1:-1\njetstream: {{{settings}, store_dir: {:?}}}\n",
            dir.display().to_string()
        )
    })
}

port!("server/jetstream_test.go::TestJetStreamServerResourcesConfig" => server_resources_config);
fn server_resources_config() {
    let s = run_with_jetstream_block("max_mem_store: 2GB, max_file_store: 1TB");
    let jsc = jetstream_config(&s);
    assert_eq!(jsc.max_memory, 2 * GB, "MaxMemory");
    assert_eq!(jsc.max_store, 1024 * GB, "MaxStore");
}

port!("server/jetstream_test.go::TestJetStreamProgrammaticMaxStoreAndMaxMemory" => programmatic_max_store_and_max_memory);
fn programmatic_max_store_and_max_memory() {
    for (name, max_mem, max_store) in [
        ("only-max-store", 0, GB),
        ("only-max-memory", 2 * GB, 0),
        ("both", 2 * GB, GB),
        ("neither", 0, 0),
    ] {
        let mut opts = default_test_options();
        opts.port = -1;
        opts.jetstream_max_memory = max_mem;
        opts.jetstream_max_store = max_store;
        let s = run_jetstream_server(opts);
        let jsc = jetstream_config(&s);
        if max_store > 0 {
            assert_eq!(jsc.max_store, max_store, "{name}: MaxStore");
        } else {
            assert!(jsc.max_store > 0, "{name}: MaxStore {}", jsc.max_store);
        }
        if max_mem > 0 {
            assert_eq!(jsc.max_memory, max_mem, "{name}: MaxMemory");
        } else {
            assert!(jsc.max_memory > 0, "{name}: MaxMemory {}", jsc.max_memory);
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamDynConfigBothPositive" => dyn_config_both_positive);
fn dyn_config_both_positive() {
    let s = run_basic_jetstream_server();
    // Neither limit counts as set: the options come from code, not a config file.
    let opts = s.shared().opts();
    assert!(!opts.jetstream_max_memory_set);
    assert!(!opts.jetstream_max_store_set);

    const MAX_STORE: i64 = GB;
    const MAX_MEM: i64 = 2 * GB;
    let dir = tempfile::tempdir().unwrap();
    let mut asked: Options = (*opts).clone();
    asked.store_dir = Some(dir.path().to_path_buf());
    asked.jetstream_max_store = MAX_STORE;
    asked.jetstream_max_memory = MAX_MEM;
    let jsc = resolve(&asked, system_memory(), None).unwrap();
    assert_eq!(jsc.max_store, MAX_STORE);
    assert_eq!(jsc.max_memory, MAX_MEM);
}

port!("server/jetstream_test.go::TestJetStreamConfigNegativeLimitsFallBackToDynamic" => config_negative_limits_fall_back_to_dynamic);
fn config_negative_limits_fall_back_to_dynamic() {
    let s = run_with_jetstream_block("max_mem_store: -1, max_file_store: -1");
    let jsc = jetstream_config(&s);
    // -1 means "not set": the limits are worked out from the machine.
    assert!(jsc.max_memory > 0, "MaxMemory {}", jsc.max_memory);
    assert!(jsc.max_store > 0, "MaxStore {}", jsc.max_store);
}

port!("server/jetstream_test.go::TestJetStreamConfigExplicitZeroLimits" => config_explicit_zero_limits);
fn config_explicit_zero_limits() {
    let s = run_with_jetstream_block("max_mem_store: 0, max_file_store: 0");
    let jsc = jetstream_config(&s);
    assert_eq!(jsc.max_memory, 0);
    assert_eq!(jsc.max_store, 0);
}

port!("server/jetstream_test.go::TestJetStreamServerDomainBadConfig" => server_domain_bad_config);
fn server_domain_bad_config() {
    for domain in [
        "HU..B",
        "HU B",
        " ",
        "\t",
        "CORE.",
        ".CORE",
        "C.*.O. RE",
        "C.ORE",
    ] {
        let mut opts = default_test_options();
        opts.jetstream_domain = domain.to_string();
        match validate_options(&opts) {
            Err(e) if e.contains("invalid domain name") => {}
            other => panic!("Expected bad domain error for {domain:?}, got {other:?}"),
        }
    }
}

port!("server/jetstream_test.go::TestJetStreamServerDomainConfig" => server_domain_config);
fn server_domain_config() {
    let s = run_with_jetstream_block("domain: \"HUB\"");
    let jsc = jetstream_config(&s);
    assert_eq!(jsc.domain, "HUB");
}

port!("server/jetstream_test.go::TestJetStreamServerDomainConfigButDisabled" => server_domain_config_but_disabled);
fn server_domain_config_but_disabled() {
    let conf =
        create_conf_file(b"listen: 127.0.0.1:-1\njetstream: {domain: \"HUB\", enabled: false}\n");
    let s = run_server(load_config(conf));
    assert!(
        s.shared().jetstream().is_none(),
        "Expected JetStream NOT to be enabled"
    );
    assert_eq!(s.shared().opts().jetstream_domain, "HUB");
}

port!("server/jetstream_test.go::TestJetStreamCanNotEnableOnSystemAccount" => can_not_enable_on_system_account);
fn can_not_enable_on_system_account() {
    let s = run_basic_jetstream_server();
    let shared = s.shared();
    let sys = shared.accounts.system().expect("a system account").clone();
    let js = shared.jetstream().expect("JetStream enabled");
    let err = js
        .enable_account(shared, &sys, Default::default())
        .expect_err("Expected an error trying to enable on the system account");
    assert!(err.contains("system account"), "{err}");
}

port!("server/jetstream_test.go::TestJetStreamBasicNilConfig" => basic_nil_config);
fn basic_nil_config() {
    // Go enables JetStream without a configuration: everything is worked out, the store
    // under the temporary directory.
    let mut opts = default_test_options();
    opts.jetstream = true;
    let s = run_server(opts);
    let shared = s.shared();
    let js = shared
        .jetstream()
        .expect("Expected JetStream to be enabled");
    assert!(
        shared.accounts.system().is_some(),
        "Expected system account to be created automatically"
    );
    let config = &js.config;
    let hw_mem = system_memory();
    if hw_mem != 0 {
        // About 75% of the machine's memory.
        let est = i64::try_from(hw_mem / 4 * 3).unwrap();
        assert_eq!(
            config.max_memory, est,
            "Expected memory to be 75 percent of system memory"
        );
    }
    let md = std::fs::metadata(&config.store_dir)
        .unwrap_or_else(|e| panic!("Expected the store directory to be present, {e}"));
    assert!(md.is_dir(), "Expected a directory");
}

port!("server/jetstream_test.go::TestJetStreamAccountReservation" => account_reservation_cases);
fn account_reservation_cases() {
    use natsd::jetstream::account_reservation;
    const MAX: i64 = i64::MAX;
    for (name, tier, replicas, bytes, expected) in [
        // No byte limit reserves nothing, whatever the tier or replicas.
        ("zero bytes", "", 3, 0, 0),
        ("negative bytes untiered", "", 3, -100, 0),
        ("negative bytes tiered", "R3", 3, -1, 0),
        // A flat account limit pays for every replica.
        ("untiered R1", "", 1, 100, 100),
        ("untiered R0 treated as single", "", 0, 100, 100),
        ("untiered R3", "", 3, 100, 300),
        ("untiered R5", "", 5, 100, 500),
        // A tiered limit already includes replication.
        ("tiered R1", "R1", 1, 100, 100),
        ("tiered R3", "R3", 3, 100, 100),
        // The product saturates instead of wrapping.
        ("untiered R3 saturates", "", 3, MAX, MAX),
        ("untiered R2 saturates", "", 2, MAX / 2 + 1, MAX),
        ("tiered large no multiply", "R3", 3, MAX, MAX),
    ] {
        assert_eq!(
            account_reservation(tier, replicas, bytes),
            expected,
            "{name}: account_reservation({tier:?}, {replicas}, {bytes})"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamCheckBytesLimitsOverflow" => check_bytes_limits_overflow);
fn check_bytes_limits_overflow() {
    use natsd::jetstream::api::types::{JetStreamAccountLimits, StorageType};
    use natsd::jetstream::{check_bytes_limits, BytesRequest, ServerBudget};

    let s = run_basic_jetstream_server();
    let js = s.shared().jetstream().unwrap();
    let limits = JetStreamAccountLimits {
        max_store: 1024,
        max_memory: 1024,
        ..Default::default()
    };
    let request = |add_bytes, storage, max_bytes_offset| BytesRequest {
        tier: "",
        add_bytes,
        replicas: 1,
        storage,
        account_reserved: 0,
        max_bytes_offset,
    };

    // The bytes asked for plus an offset (a restore's archive) past i64::MAX must not
    // wrap to a negative number that slips under the limit.
    for storage in [StorageType::File, StorageType::Memory] {
        let err = check_bytes_limits(&limits, &request(i64::MAX, storage, 1), None);
        assert!(err.is_err(), "{storage:?}: {err:?}");
    }

    // The server's reservation plus the new bytes past i64::MAX.
    let err = check_bytes_limits(
        &limits,
        &request(2, StorageType::File, 0),
        Some(ServerBudget {
            reserved: i64::MAX - 1,
            max: js.config.max_store,
        }),
    );
    assert!(err.is_err(), "file: {err:?}");
    let err = check_bytes_limits(
        &limits,
        &request(2, StorageType::Memory, 0),
        Some(ServerBudget {
            reserved: i64::MAX - 1,
            max: js.config.max_memory,
        }),
    );
    assert!(err.is_err(), "memory: {err:?}");
}

/// `/varz`'s `jetstream` object of a server with monitoring.
fn jetstream_varz(s: &JsServer) -> serde_json::Value {
    let addr = s.shared().monitor.addr().expect("monitoring runs");
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(5))
        .build();
    let body = agent
        .get(&format!("http://{addr}/varz"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["jetstream"].clone()
}

port!("server/jetstream_test.go::TestJetStreamStorageReservedBytes" => storage_reserved_bytes);
fn storage_reserved_bytes() {
    use serde_json::json;
    const SYSTEM_LIMIT: i64 = 1024;
    let pct66 = |n: i64| (n as f64 * 0.666).round() as i64;
    struct Case {
        name: &'static str,
        account_limit: i64,
        storage: &'static str,
        create_max_bytes: i64,
        update_max_bytes: i64,
        want_update_error: bool,
    }
    let case = |name, account_limit, storage, create, update, want_update_error| Case {
        name,
        account_limit,
        storage,
        create_max_bytes: create,
        update_max_bytes: update,
        want_update_error,
    };
    let half = SYSTEM_LIMIT / 2;
    let cases = [
        case(
            "file reserve 66% of system limit",
            -1,
            "file",
            pct66(SYSTEM_LIMIT),
            pct66(SYSTEM_LIMIT) + 1,
            false,
        ),
        case(
            "memory reserve 66% of system limit",
            -1,
            "memory",
            pct66(SYSTEM_LIMIT),
            pct66(SYSTEM_LIMIT) + 1,
            false,
        ),
        case(
            "file update past system limit",
            -1,
            "file",
            SYSTEM_LIMIT,
            SYSTEM_LIMIT + 1,
            true,
        ),
        case(
            "memory update past system limit",
            -1,
            "memory",
            SYSTEM_LIMIT,
            SYSTEM_LIMIT + 1,
            true,
        ),
        case(
            "file update to system limit",
            -1,
            "file",
            SYSTEM_LIMIT - 1,
            SYSTEM_LIMIT,
            false,
        ),
        case(
            "memory update to system limit",
            -1,
            "memory",
            SYSTEM_LIMIT - 1,
            SYSTEM_LIMIT,
            false,
        ),
        case(
            "file reserve 66% of account limit",
            half,
            "file",
            pct66(half),
            pct66(half) + 1,
            false,
        ),
        case(
            "memory reserve 66% of account limit",
            half,
            "memory",
            pct66(half),
            pct66(half) + 1,
            false,
        ),
        case(
            "file update past account limit",
            half,
            "file",
            half,
            half + 1,
            true,
        ),
        case(
            "memory update past account limit",
            half,
            "memory",
            half,
            half + 1,
            true,
        ),
        case(
            "file update to account limit",
            half,
            "file",
            half - 1,
            half,
            false,
        ),
        case(
            "memory update to account limit",
            half,
            "memory",
            half - 1,
            half,
            false,
        ),
    ];
    for c in cases {
        // Go changes the global account's limits between cases on one server; natsd sets
        // account limits from the configuration, so each case starts a server whose only
        // account (the default user's) has them.
        let account_js = if c.account_limit < 0 {
            "enabled".to_string()
        } else {
            format!("{{max_mem: {0}, max_store: {0}}}", c.account_limit)
        };
        let s = run_jetstream_server_with_conf(|dir| {
            format!(
                "listen: 127.0.0.1:-1\n\
                 http: 127.0.0.1:-1\n\
                 jetstream: {{max_mem_store: {SYSTEM_LIMIT}, max_file_store: {SYSTEM_LIMIT}, store_dir: {:?}}}\n\
                 no_auth_user: u\n\
                 accounts: {{ A: {{ users: [{{user: u, password: p}}], jetstream: {account_js} }} }}\n",
                dir.display().to_string()
            )
        });
        let jsv = jetstream_varz(&s);
        assert_eq!(
            jsv["config"]["max_memory"],
            json!(SYSTEM_LIMIT),
            "{}",
            c.name
        );
        assert_eq!(
            jsv["config"]["max_storage"],
            json!(SYSTEM_LIMIT),
            "{}",
            c.name
        );
        let reserved_key = if c.storage == "memory" {
            "reserved_memory"
        } else {
            "reserved_storage"
        };
        let reserved = || {
            jetstream_varz(&s)["stats"][reserved_key]
                .as_u64()
                .unwrap_or(0)
        };

        let mut js = s.client();
        let mut cfg = json!({"name": "TEST", "subjects": ["foo"], "storage": c.storage, "max_bytes": c.create_max_bytes});
        js.add_stream(cfg.clone())
            .unwrap_or_else(|e| panic!("{}: create: {e:?}", c.name));
        cfg["max_bytes"] = json!(c.update_max_bytes);
        let updated = js.update_stream(cfg);
        match (&updated, c.want_update_error) {
            (Ok(info), true) => panic!(
                "{}: Unexpected update success, newMaxBytes={}; systemLimit={SYSTEM_LIMIT}; accountLimit={}",
                c.name, info["config"]["max_bytes"], c.account_limit
            ),
            (Err(e), false) => panic!("{}: Unexpected update error: {e:?}", c.name),
            (Ok(_), false) => {
                // The reservation follows the new limit.
                assert_eq!(reserved(), c.update_max_bytes as u64, "{}: reserved", c.name);
            }
            (Err(_), true) => {}
        }
        js.delete_stream("TEST").unwrap();
        // Nothing stays reserved once the stream is gone.
        assert_eq!(reserved(), 0, "{}: reserved after delete", c.name);
    }
}

port!("server/jetstream_test.go::TestJetStreamStreamConfigClone" => stream_config_clone);
fn stream_config_clone() {
    use natsd::jetstream::api::types::{
        Placement, RePublish, StreamConfig, StreamSource, SubjectTransformConfig,
    };
    let cfg = StreamConfig {
        name: "name".into(),
        placement: Some(Placement {
            cluster: "placement".into(),
            tags: vec!["tag".into()],
            ..Default::default()
        }),
        mirror: Some(StreamSource {
            name: "mirror".into(),
            ..Default::default()
        }),
        sources: vec![StreamSource {
            name: "source".into(),
            ..Default::default()
        }],
        subject_transform: Some(SubjectTransformConfig {
            source: "source".into(),
            destination: "dest".into(),
        }),
        republish: Some(RePublish {
            source: "source".into(),
            destination: "dest".into(),
            headers_only: false,
        }),
        metadata: Default::default(),
        ..Default::default()
    };

    // A copy is complete.
    let mut clone = cfg.clone();
    assert_eq!(cfg, clone);

    // Changing the copy leaves the original alone.
    clone.placement.as_mut().unwrap().cluster = "diff".into();
    assert_ne!(cfg.placement, clone.placement);
    clone.mirror.as_mut().unwrap().name = "diff".into();
    assert_ne!(cfg.mirror, clone.mirror);
    clone.sources[0].name = "diff".into();
    assert_ne!(cfg.sources, clone.sources);
    clone.subject_transform.as_mut().unwrap().source = "diff".into();
    assert_ne!(cfg.subject_transform, clone.subject_transform);
    clone.republish.as_mut().unwrap().source = "diff".into();
    assert_ne!(cfg.republish, clone.republish);
    clone.metadata.insert("key".into(), "value".into());
    assert_ne!(cfg.metadata, clone.metadata);
}

port!("server/jetstream_test.go::TestJetStreamWouldExceedLimits" => would_exceed_limits);
fn would_exceed_limits() {
    use natsd::jetstream::api::types::StorageType;
    let s = run_basic_jetstream_server();
    let js = s.shared().jetstream().expect("JetStream enabled");
    let jsc = jetstream_config(&s);
    // Storing exactly up to the server's limit fits.
    assert!(!js.would_exceed_limits(StorageType::Memory, jsc.max_memory));
    assert!(!js.would_exceed_limits(StorageType::File, jsc.max_store));
    // One more byte does not.
    assert!(js.would_exceed_limits(StorageType::Memory, jsc.max_memory + 1));
    assert!(js.would_exceed_limits(StorageType::File, jsc.max_store + 1));
}

port!("server/jetstream_test.go::TestJetStreamDisabledLimitsEnforcement" => disabled_limits_enforcement);
fn disabled_limits_enforcement() {
    use serde_json::json;
    let s = run_jetstream_server_with_conf(|dir| {
        format!(
            r#"
            listen: 127.0.0.1:-1
            jetstream: {{max_mem_store: 256MB, max_file_store: 2GB, store_dir: {:?}}}
            accounts {{
                one {{
                    jetstream: {{
                        mem: 1024
                        disk: 0
                        streams: 1
                        consumers: 2
                    }}
                    users [{{user: one, password: password}}]
                }}
            }}
            no_auth_user: one
            "#,
            dir.display().to_string()
        )
    });
    let mut js = s.client();
    // No disk for the account: a file stream is refused.
    let err = js.add_stream(json!({"name": "disk", "storage": "file", "subjects": ["disk"]}));
    assert!(err.is_err(), "{err:?}");
}
