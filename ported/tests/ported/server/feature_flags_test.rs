//! Ports of `server/feature_flags_test.go`.
//!
//! Go's tests add a flag to the server's global table for a while; natsd's functions take
//! the table as an argument (the server passes `feature_flags::DEFAULTS`), so the ports
//! hand in the same tables.

use natsd::config::file::process_config_file;
use natsd::feature_flags;
use ported::port;
use ported::support::create_conf_file;
use std::collections::BTreeMap;

fn flags(kv: &[(&str, bool)]) -> BTreeMap<String, bool> {
    kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

port!("server/feature_flags_test.go::TestGetFeatureFlag" => get_feature_flag);
fn get_feature_flag() {
    let with_test_flag = [("test_flag", true)];
    // Unset feature flags gets defaults.
    let none = BTreeMap::new();
    assert!(!feature_flags::get(&with_test_flag, &none, ""));
    assert!(feature_flags::get(&with_test_flag, &none, "test_flag"));

    // User disables the feature flag, it takes precedence.
    let off = flags(&[("test_flag", false)]);
    assert!(!feature_flags::get(&with_test_flag, &off, "test_flag"));

    // User enables the feature flag, but it is no longer supported: a stale flag is
    // allowed, but never reported enabled.
    let on = flags(&[("test_flag", true)]);
    assert!(!feature_flags::get(&[], &on, "test_flag"));
}

port!("server/feature_flags_test.go::TestFeatureFlagsConfigParseNonBool" => feature_flags_config_parse_non_bool);
fn feature_flags_config_parse_non_bool() {
    let conf = create_conf_file(b"\n\t\tfeature_flags {\n\t\t    opt_in_flag: \"true\"\n\t\t}\n\t");
    let err = process_config_file(&conf.to_string_lossy())
        .expect_err("a string is not a feature flag value");
    let text = err.to_string();
    assert!(
        text.contains(r#"error parsing feature flag "opt_in_flag": expected bool, got string"#),
        "{text}"
    );
}

port!("server/feature_flags_test.go::TestGetMergedFeatureFlags" => get_merged_feature_flags);
fn get_merged_feature_flags() {
    let defaults = [("test_flag", true), ("test_flag_default", true)];
    let configured = flags(&[("test_flag", false), ("unknown_flag", false)]);
    // The merged flags contain only known flags, with the user's values taking precedence.
    let merged = feature_flags::merged(&defaults, &configured);
    assert_eq!(
        merged,
        flags(&[("test_flag", false), ("test_flag_default", true)]),
        "Feature flags are incorrect"
    );
}
