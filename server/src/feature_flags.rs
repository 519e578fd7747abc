//! Feature flags (`feature_flags { ... }`): behaviours a release ships switched off (or
//! on) that operators may flip. A flag the server does not know is accepted and ignored,
//! so a configuration may outlive the flag.

use std::collections::BTreeMap;

/// The flags nats-server v2.14.5 knows and their defaults (all off).
pub const DEFAULTS: &[(&str, bool)] = &[("js_ack_fc_v2", false), ("js_raft_delete_range", false)];

/// Whether flag `key` is on: the operator's value, else the default; off for a flag that
/// is not in `defaults` whatever the operator says (Go's `getFeatureFlag`).
pub fn get(defaults: &[(&str, bool)], configured: &BTreeMap<String, bool>, key: &str) -> bool {
    let Some(&(_, default)) = defaults.iter().find(|(k, _)| *k == key) else {
        return false;
    };
    configured.get(key).copied().unwrap_or(default)
}

/// Every known flag with its value in force (Go's `getMergedFeatureFlags`, shown by
/// `/varz` and STATSZ).
pub fn merged(
    defaults: &[(&str, bool)],
    configured: &BTreeMap<String, bool>,
) -> BTreeMap<String, bool> {
    defaults
        .iter()
        .map(|&(k, default)| (k.to_string(), configured.get(k).copied().unwrap_or(default)))
        .collect()
}

/// The startup log lines naming the configured flags (Go's `printFeatureFlags`); none
/// when no flag is configured.
pub fn startup_lines(
    defaults: &[(&str, bool)],
    configured: &BTreeMap<String, bool>,
) -> Vec<String> {
    if configured.is_empty() {
        return Vec::new();
    }
    let mut known = Vec::new();
    let mut unsupported = Vec::new();
    for (k, &v) in configured {
        match defaults.iter().find(|(d, _)| d == k) {
            None => unsupported.push(k.clone()),
            Some(&(_, default)) => {
                let state = match (default, v) {
                    (true, true) => "enabled",
                    (true, false) => "opt-out",
                    (false, true) => "opt-in",
                    (false, false) => "disabled",
                };
                known.push(format!("{k} ({state})"));
            }
        }
    }
    let configured = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    let mut lines = vec![
        "  Feature flags:".to_string(),
        format!("    Configured:    {configured}"),
    ];
    if !unsupported.is_empty() {
        lines.push(format!("    Unsupported:   {}", unsupported.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(kv: &[(&str, bool)]) -> BTreeMap<String, bool> {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn startup_lines_name_each_configured_flag() {
        let defaults = [("on", true), ("off", false)];
        assert!(startup_lines(&defaults, &BTreeMap::new()).is_empty());
        let lines = startup_lines(
            &defaults,
            &flags(&[("on", false), ("off", true), ("gone", true)]),
        );
        assert_eq!(
            lines,
            [
                "  Feature flags:",
                "    Configured:    off (opt-in), on (opt-out)",
                "    Unsupported:   gone",
            ]
        );
        let lines = startup_lines(&defaults, &flags(&[("gone", false)]));
        assert_eq!(lines[1], "    Configured:    none");
        let lines = startup_lines(&defaults, &flags(&[("on", true), ("off", false)]));
        assert_eq!(lines[1], "    Configured:    off (disabled), on (enabled)");
        assert_eq!(lines.len(), 2);
    }
}
