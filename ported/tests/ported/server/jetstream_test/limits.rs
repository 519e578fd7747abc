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
