//! The `jetstream` key of a configuration file, at the top level (nats-server's
//! `parseJetStream`, `parseJetStreamLimits`, `parseJetStreamTPM`) and inside an account
//! (`parseJetStreamForAccount`), with the reference's error texts and positions.
//!
//! Where the reference asserts a value's type without checking, a value of the wrong type
//! makes it panic and report the runtime's message at the top-level `jetstream` key; the
//! same text and position are reported here. Checked values are reported where they are
//! written.

use super::{
    JetStreamAccountLimits, JsLimitOpts, JsTpmOpts, MAX_CONCURRENT_IOS, MIN_CONCURRENT_IOS,
};
use crate::account::AccountConfig;
use crate::config::cli::go_quote;
use crate::config::conf::duration::{parse_duration, to_std, SECOND};
use crate::config::conf::{Kind, Pos, Value};
use crate::config::file::{ConfigErrors, ConfigIssue, IssueKind};
use crate::config::Options;
use natsd_store::file::StoreCipher;
use std::path::PathBuf;
use std::time::Duration;

fn issue(pos: &Pos, reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: Some(pos.clone()),
        kind: IssueKind::Error(reason.into()),
    }
}

/// A problem the reference reports without a position (its value was unwrapped before).
fn issue_without_pos(reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: None,
        kind: IssueKind::Error(reason.into()),
    }
}

fn unknown_field(key: &str, v: &Value) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::UnknownField(key.to_string()),
    }
}

/// The runtime's message for a failed type assertion on `got`, reported at the top-level
/// key `top` (where the reference recovers from the panic).
fn bad_type(top: &Value, got: &Value, want: &str) -> ConfigIssue {
    issue(
        &top.pos,
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            got.go_type()
        ),
    )
}

fn string_of<'a>(top: &Value, v: &'a Value) -> Result<&'a str, ConfigIssue> {
    v.as_str().ok_or_else(|| bad_type(top, v, "string"))
}

fn int_of(top: &Value, v: &Value) -> Result<i64, ConfigIssue> {
    v.as_i64().ok_or_else(|| bad_type(top, v, "int64"))
}

fn bool_of(top: &Value, v: &Value) -> Result<bool, ConfigIssue> {
    v.as_bool().ok_or_else(|| bad_type(top, v, "bool"))
}

/// Go's `%v` of a float64: the shortest form, in exponent form below 1e-4 or from 1e21.
fn go_float(f: f64) -> String {
    let a = f.abs();
    if f.is_finite() && a != 0.0 && !(1e-4..1e21).contains(&a) {
        let e = format!("{f:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}e{sign}{digits:0>2}");
    }
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{f}")
}

/// A value as Go's `%v` prints it (containers are best effort: the reference prints its
/// parser's internal tokens there).
pub(crate) fn go_v(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) => s.clone(),
        Kind::Bool(b) => b.to_string(),
        Kind::Integer(i) => i.to_string(),
        Kind::Float(f) => go_float(*f),
        Kind::DateTime(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
            d.year, d.month, d.day, d.hour, d.minute, d.second
        ),
        Kind::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Kind::Map(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", go_v(v))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// A value as Go's `%s` prints it: strings as they are, other kinds as `%!s(type=value)`.
fn go_s(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) => s.clone(),
        Kind::Array(_) | Kind::Map(_) => go_v(v),
        _ => format!("%!s({}={})", v.go_type(), go_v(v)),
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)` with its error texts.
fn go_parse_int(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    })
}

/// A size given as a number of bytes or as a string with a binary unit (`"512M"`, `"2G"`;
/// K, M, G and T only), as the reference's `getStorageSize`. An empty string is 0.
pub fn storage_size(v: &Value) -> Result<i64, String> {
    let s = match &v.kind {
        Kind::Integer(n) => return Ok(*n),
        Kind::String(s) => s,
        _ => return Err("must be int64 or string".into()),
    };
    if s.is_empty() {
        return Ok(0);
    }
    // The unit is the last byte; what is before it must be a whole number.
    let bytes = s.as_bytes();
    let (prefix, suffix) = bytes.split_at(bytes.len() - 1);
    let n = go_parse_int(&String::from_utf8_lossy(prefix))?;
    let shift = match suffix {
        b"K" => 10,
        b"M" => 20,
        b"G" => 30,
        b"T" => 40,
        _ => return Err("sizes defined as strings must end in K, M, G, T".into()),
    };
    Ok(n.wrapping_mul(1 << shift))
}

/// A duration value: a Go duration string, or (deprecated, a warning) a number of
/// seconds. A bad string is an error and the duration 0, and parsing goes on.
fn duration_of(
    field: &str,
    top: &Value,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<i64, ConfigIssue> {
    if let Some(s) = v.as_str() {
        return Ok(match parse_duration(s) {
            Ok(d) => d,
            Err(e) => {
                out.errors
                    .push(issue(&v.pos, format!("error parsing {field}: {e}")));
                0
            }
        });
    }
    out.warnings.push(ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Warning {
            field: field.to_string(),
            reason: format!("{field} should be converted to a duration"),
        },
    });
    Ok(int_of(top, v)?.wrapping_mul(SECOND))
}

/// A duration string of the `limits` block; a bad one is reported without a position
/// (as the reference does) and is 0.
fn limits_duration(
    top: &Value,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<Duration, ConfigIssue> {
    match parse_duration(string_of(top, v)?) {
        Ok(d) => Ok(to_std(d)),
        Err(e) => {
            out.errors.push(issue_without_pos(e));
            Ok(Duration::ZERO)
        }
    }
}

fn cipher_of(top: &Value, v: &Value) -> Result<StoreCipher, ConfigIssue> {
    let s = string_of(top, v)?;
    match s.to_lowercase().as_str() {
        "chacha" | "chachapoly" => Ok(StoreCipher::ChaCha),
        "aes" => Ok(StoreCipher::Aes),
        _ => Err(issue(
            &v.pos,
            format!("Unknown cipher type: {}", go_quote(s)),
        )),
    }
}

fn parseable_size(key: &str, v: &Value) -> Result<i64, ConfigIssue> {
    v.as_i64().ok_or_else(|| {
        issue(
            &v.pos,
            format!(
                "Expected a parseable size for {}, got {}",
                go_quote(key),
                go_v(v)
            ),
        )
    })
}

fn absolute_size(key: &str, v: &Value) -> ConfigIssue {
    issue(
        &v.pos,
        format!(
            "Expected an absolute size for {}, got {}",
            go_quote(key),
            go_v(v)
        ),
    )
}

/// The top-level `jetstream` key: `true`/`false`, `"enabled"`/`"disabled"`, or a block
/// of settings, which enables JetStream unless it says `enabled: false`.
pub fn apply_jetstream(
    o: &mut Options,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    match &v.kind {
        Kind::Bool(b) => o.jetstream = *b,
        Kind::String(s) => match s.to_lowercase().as_str() {
            "enabled" | "enable" => o.jetstream = true,
            "disabled" | "disable" => o.jetstream = false,
            _ => {
                return Err(issue(
                    &v.pos,
                    format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
                ))
            }
        },
        Kind::Map(m) => {
            let mut enable = true;
            for (mk, mv) in m.iter() {
                apply_block_key(o, v, mk, mv, &mut enable, out)?;
            }
            o.jetstream = enable;
        }
        _ => {
            return Err(issue(
                &v.pos,
                format!(
                    "Expected map, bool or string to define JetStream, got {}",
                    v.go_type()
                ),
            ))
        }
    }
    Ok(())
}

/// One key of the `jetstream` block (`top` is the block, where type panics are reported).
fn apply_block_key(
    o: &mut Options,
    top: &Value,
    mk: &str,
    mv: &Value,
    enable: &mut bool,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    let size = |prefix: &str| storage_size(mv).map_err(|e| issue(&mv.pos, format!("{prefix} {e}")));
    let lower = mk.to_lowercase();
    match lower.as_str() {
        "strict" => match mv.as_bool() {
            Some(b) => o.jetstream_strict = b,
            None => {
                return Err(issue(
                    &mv.pos,
                    format!("Expected 'true' or 'false' for bool value, got '{}'", go_s(mv)),
                ))
            }
        },
        "store" | "store_dir" | "storedir" => {
            // The top level may set it too; two places would be ambiguous.
            if o.store_dir.is_some() {
                return Err(issue(&mv.pos, "Duplicate 'store_dir' configuration"));
            }
            let dir = string_of(top, mv)?;
            o.store_dir = (!dir.is_empty()).then(|| PathBuf::from(dir));
        }
        "sync" | "sync_interval" => {
            match mv.as_str() {
                Some(s) if s.to_lowercase() == "always" => {
                    o.sync_interval = Some(super::DEFAULT_SYNC_INTERVAL);
                    o.sync_always = true;
                }
                _ => o.sync_interval = Some(to_std(duration_of(mk, top, mv, out)?)),
            }
        }
        "max_memory_store" | "max_mem_store" | "max_mem" => {
            o.jetstream_max_memory = size("max_mem_store")?;
            o.jetstream_max_memory_set = true;
        }
        "max_file_store" | "max_file" => {
            o.jetstream_max_store = size("max_file_store")?;
            o.jetstream_max_store_set = true;
        }
        "domain" => o.jetstream_domain = string_of(top, mv)?.to_string(),
        "enable" | "enabled" => *enable = bool_of(top, mv)?,
        "key" | "ek" | "encryption_key" => o.jetstream_key = string_of(top, mv)?.to_string(),
        "prev_key" | "prev_ek" | "prev_encryption_key" => {
            o.jetstream_old_key = string_of(top, mv)?.to_string()
        }
        "cipher" => o.jetstream_cipher = cipher_of(top, mv)?,
        "extension_hint" => o.jetstream_ext_hint = string_of(top, mv)?.to_string(),
        "limits" => apply_limits(o, top, mv, out)?,
        "tpm" => apply_tpm(o, top, mv, out)?,
        "unique_tag" => o.jetstream_unique_tag = string_of(top, mv)?.trim().to_lowercase(),
        "max_outstanding_catchup" => o.jetstream_max_catchup = size(&lower)?,
        "max_buffered_size" => o.stream_max_buffered_size = size(&lower)?,
        "max_buffered_msgs" => o.stream_max_buffered_msgs = parseable_size(mk, mv)?,
        "request_queue_limit" => o.jetstream_request_queue_limit = parseable_size(mk, mv)?,
        "info_queue_limit" => o.jetstream_info_queue_limit = parseable_size(mk, mv)?,
        "meta_compact" => match mv.as_i64().and_then(|n| u64::try_from(n).ok()) {
            Some(n) => o.jetstream_meta_compact = n,
            None => return Err(absolute_size(mk, mv)),
        },
        "meta_compact_size" => {
            let n = size(&lower)?;
            o.jetstream_meta_compact_size =
                u64::try_from(n).map_err(|_| absolute_size(mk, mv))?;
        }
        "meta_compact_sync" => o.jetstream_meta_compact_sync = bool_of(top, mv)?,
        "max_concurrent_io" => match mv.as_i64() {
            Some(n) if (MIN_CONCURRENT_IOS..=MAX_CONCURRENT_IOS).contains(&n) => {
                o.jetstream_concurrent_ios = n
            }
            _ => {
                return Err(issue(
                    &mv.pos,
                    format!(
                        "Expected an absolute size for {} between {MIN_CONCURRENT_IOS} and {MAX_CONCURRENT_IOS}, got {}",
                        go_quote(mk),
                        go_v(mv)
                    ),
                ))
            }
        },
        _ if mv.used_variable => {}
        _ => out.errors.push(unknown_field(mk, mv)),
    }
    Ok(())
}

/// `jetstream { limits { ... } }`; replaces any limits set before.
fn apply_limits(
    o: &mut Options,
    top: &Value,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    o.jetstream_limits = JsLimitOpts::default();
    let Some(m) = v.as_map() else {
        return Err(issue(
            &v.pos,
            format!(
                "Expected a map to define JetStreamLimits, got {}",
                v.go_type()
            ),
        ));
    };
    for (mk, mv) in m.iter() {
        let l = &mut o.jetstream_limits;
        match mk.to_lowercase().as_str() {
            "max_ack_pending" => l.max_ack_pending = int_of(top, mv)?,
            "max_ha_assets" => l.max_ha_assets = int_of(top, mv)?,
            "max_request_batch" => l.max_request_batch = int_of(top, mv)?,
            "duplicate_window" => l.duplicates = limits_duration(top, mv, out)?,
            "batch" => apply_batch_limits(l, top, mv, out)?,
            _ if mv.used_variable => {}
            _ => out.errors.push(unknown_field(mk, mv)),
        }
    }
    Ok(())
}

/// `jetstream { limits { batch { ... } } }`.
fn apply_batch_limits(
    l: &mut JsLimitOpts,
    top: &Value,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(issue(
            &v.pos,
            format!("Expected a map to define batch limits, got {}", v.go_type()),
        ));
    };
    for (mk, mv) in m.iter() {
        match mk.to_lowercase().as_str() {
            "max_inflight_per_stream" => l.max_batch_inflight_per_stream = int_of(top, mv)?,
            "max_inflight_total" => l.max_batch_inflight_total = int_of(top, mv)?,
            "max_msgs" => l.max_batch_size = int_of(top, mv)?,
            "timeout" => l.max_batch_timeout = limits_duration(top, mv, out)?,
            _ if mv.used_variable => {}
            _ => out.errors.push(unknown_field(mk, mv)),
        }
    }
    Ok(())
}

/// `jetstream { tpm { ... } }`; replaces any TPM settings made before.
fn apply_tpm(
    o: &mut Options,
    top: &Value,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    o.jetstream_tpm = JsTpmOpts::default();
    let Some(m) = v.as_map() else {
        // The reference's text, which names the limits block.
        return Err(issue(
            &v.pos,
            format!(
                "Expected a map to define JetStreamLimits, got {}",
                v.go_type()
            ),
        ));
    };
    for (mk, mv) in m.iter() {
        match mk.to_lowercase().as_str() {
            "keys_file" => o.jetstream_tpm.keys_file = string_of(top, mv)?.to_string(),
            "encryption_password" => o.jetstream_tpm.key_password = string_of(top, mv)?.to_string(),
            "srk_password" => o.jetstream_tpm.srk_password = string_of(top, mv)?.to_string(),
            "pcr" => o.jetstream_tpm.pcr = int_of(top, mv)?,
            "cipher" => o.jetstream_cipher = cipher_of(top, mv)?,
            _ if mv.used_variable => {}
            _ => out.errors.push(unknown_field(mk, mv)),
        }
    }
    Ok(())
}

/// An account's `jetstream`: `true`/`"enabled"` (no limits), `false`, `"disabled"`, or a
/// map of limits (unset ones unlimited). The reference reports the problems of the value
/// itself without a position, those of the map's entries where they are.
pub fn apply_account_jetstream(
    acc: &mut AccountConfig,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    match &v.kind {
        Kind::Bool(true) => acc.jetstream = Some(JetStreamAccountLimits::UNLIMITED),
        Kind::Bool(false) => {}
        Kind::String(s) => match s.to_lowercase().as_str() {
            "enabled" | "enable" => acc.jetstream = Some(JetStreamAccountLimits::UNLIMITED),
            "disabled" | "disable" => acc.jetstream = None,
            _ => {
                return Err(issue_without_pos(format!(
                    "Expected 'enabled' or 'disabled' for string value, got '{s}'"
                )))
            }
        },
        Kind::Map(m) => {
            let mut limits = JetStreamAccountLimits::UNLIMITED;
            for (mk, mv) in m.iter() {
                match mk.to_lowercase().as_str() {
                    "max_memory" | "max_mem" | "mem" | "memory" => {
                        limits.max_memory = parseable_size(mk, mv)?
                    }
                    "max_store" | "max_file" | "max_disk" | "store" | "disk" => {
                        limits.max_store = parseable_size(mk, mv)?
                    }
                    "max_streams" | "streams" => limits.max_streams = parseable_size(mk, mv)?,
                    "max_consumers" | "consumers" => limits.max_consumers = parseable_size(mk, mv)?,
                    "max_bytes_required" | "max_stream_bytes" | "max_bytes" => {
                        limits.max_bytes_required = mv.as_bool().ok_or_else(|| {
                            issue(
                                &mv.pos,
                                format!(
                                    "Expected a parseable bool for {}, got {}",
                                    go_quote(mk),
                                    go_v(mv)
                                ),
                            )
                        })?
                    }
                    "mem_max_stream_bytes" | "memory_max_stream_bytes" => {
                        limits.memory_max_stream_bytes = parseable_size(mk, mv)?
                    }
                    "disk_max_stream_bytes" | "store_max_stream_bytes" => {
                        limits.store_max_stream_bytes = parseable_size(mk, mv)?
                    }
                    "max_ack_pending" => limits.max_ack_pending = parseable_size(mk, mv)?,
                    "cluster_traffic" => {
                        let Some(s) = mv.as_str() else {
                            return Err(issue(
                                &mv.pos,
                                format!(
                                    "Expected either 'system' or 'owner' string value for {}, got {}",
                                    go_quote(mk),
                                    go_v(mv)
                                ),
                            ));
                        };
                        acc.jetstream_cluster_traffic_owner = match s {
                            "system" | "" => false,
                            "owner" => true,
                            _ => {
                                return Err(issue(
                                    &mv.pos,
                                    format!(
                                        "Expected 'system' or 'owner' string value for {}, got {s}",
                                        go_quote(mk)
                                    ),
                                ))
                            }
                        };
                    }
                    _ if mv.used_variable => {}
                    _ => out.errors.push(unknown_field(mk, mv)),
                }
            }
            acc.jetstream = Some(limits);
        }
        _ => {
            return Err(issue_without_pos(format!(
                "Expected map, bool or string to define JetStream, got {}",
                v.go_type()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::{apply_config_string, ConfigFileError};

    fn load(text: &str) -> Options {
        let mut o = Options::default();
        match apply_config_string(&mut o, text) {
            Ok(w) => assert!(w.is_empty(), "{w:?}"),
            Err(e) => panic!("{text:?}: {e}"),
        }
        o
    }

    fn load_with_warnings(text: &str) -> (Options, Vec<String>) {
        let mut o = Options::default();
        let w = apply_config_string(&mut o, text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (o, w.iter().map(ToString::to_string).collect())
    }

    fn errors_of(text: &str) -> Vec<String> {
        let mut o = Options::default();
        match apply_config_string(&mut o, text) {
            Err(ConfigFileError::Invalid(e)) => e.errors.iter().map(ToString::to_string).collect(),
            other => panic!("{text:?}: expected errors, got {other:?}"),
        }
    }

    const GB: i64 = 1 << 30;

    #[test]
    fn switch_forms() {
        assert!(load("jetstream: true").jetstream);
        assert!(!load("jetstream: false").jetstream);
        assert!(load("jetstream: enabled").jetstream);
        assert!(load("jetstream: Enable").jetstream);
        assert!(!load("jetstream: disabled").jetstream);
        assert!(!load("jetstream: disable").jetstream);
        assert_eq!(
            errors_of("jetstream: \"maybe\""),
            [":1:0: Expected 'enabled' or 'disabled' for string value, got 'maybe'"]
        );
        assert_eq!(
            errors_of("jetstream: 5"),
            [":1:0: Expected map, bool or string to define JetStream, got int64"]
        );
        assert_eq!(
            errors_of("jetstream: 1.5"),
            [":1:0: Expected map, bool or string to define JetStream, got float64"]
        );
    }

    #[test]
    fn a_block_enables_unless_it_says_otherwise() {
        assert!(load("jetstream {}").jetstream);
        assert!(load("jetstream { max_mem: 1GB }").jetstream);
        // Go's TestJetStreamServerDomainConfigButDisabled: off, the domain still read.
        let o = load("jetstream: {domain: \"HUB\", enabled: false}");
        assert!(!o.jetstream);
        assert_eq!(o.jetstream_domain, "HUB");
        assert!(load("jetstream { enable: true }").jetstream);
    }

    #[test]
    fn sizes_and_store_dir() {
        // Go's TestJetStreamServerResourcesConfig.
        let o = load("jetstream: {max_mem_store: 2GB, max_file_store: 1TB, store_dir: \"/data\"}");
        assert_eq!(o.jetstream_max_memory, 2 * GB);
        assert_eq!(o.jetstream_max_store, 1024 * GB);
        assert!(o.jetstream_max_memory_set && o.jetstream_max_store_set);
        assert_eq!(o.store_dir, Some(PathBuf::from("/data")));
        let o = load("jetstream { max_memory_store: \"512M\", max_file: \"2T\", storedir: /x }");
        assert_eq!(o.jetstream_max_memory, 512 << 20);
        assert_eq!(o.jetstream_max_store, 2 << 40);
        assert_eq!(o.store_dir, Some(PathBuf::from("/x")));
        let o = load("jetstream { max_mem: \"4K\", max_file: \"\", store: /y }");
        assert_eq!((o.jetstream_max_memory, o.jetstream_max_store), (4096, 0));
        assert!(o.jetstream_max_store_set);
        assert_eq!(o.store_dir, Some(PathBuf::from("/y")));
        // Go's TestJetStreamConfigExplicitZeroLimits and ...NegativeLimitsFallBackToDynamic.
        let o = load("jetstream: {max_mem_store: 0, max_file_store: 0}");
        assert_eq!((o.jetstream_max_memory, o.jetstream_max_store), (0, 0));
        assert!(o.jetstream_max_memory_set && o.jetstream_max_store_set);
        let o = load("jetstream: {max_mem_store: -1, max_file_store: -1}");
        assert_eq!((o.jetstream_max_memory, o.jetstream_max_store), (-1, -1));
        // Not set: dynamic.
        let o = load("jetstream: {}");
        assert!(!o.jetstream_max_memory_set && !o.jetstream_max_store_set);
        assert_eq!(o.store_dir, None);
    }

    #[test]
    fn size_errors() {
        assert_eq!(
            errors_of("jetstream {\n max_file: \"12\"\n}"),
            [":2:2: max_file_store sizes defined as strings must end in K, M, G, T"]
        );
        assert_eq!(
            errors_of("jetstream {\n max_file: true\n}"),
            [":2:2: max_file_store must be int64 or string"]
        );
        assert_eq!(
            errors_of("jetstream {\n max_file: \"K\"\n}"),
            [":2:2: max_file_store strconv.ParseInt: parsing \"\": invalid syntax"]
        );
        assert_eq!(
            errors_of("jetstream {\n max_file: \"99999999999999999999K\"\n}"),
            [":2:2: max_file_store strconv.ParseInt: parsing \"99999999999999999999\": value out of range"]
        );
        assert_eq!(
            errors_of("jetstream {\n  max_mem: \"1X\"\n}"),
            [":2:3: max_mem_store sizes defined as strings must end in K, M, G, T"]
        );
        assert_eq!(
            errors_of("jetstream {\n  max_outstanding_catchup: \"1k\"\n}"),
            [":2:3: max_outstanding_catchup sizes defined as strings must end in K, M, G, T"]
        );
        assert_eq!(
            errors_of("jetstream {\n  Max_Buffered_Size: true\n}"),
            [":2:3: max_buffered_size must be int64 or string"]
        );
    }

    #[test]
    fn store_dir_in_two_places_is_ambiguous() {
        assert_eq!(
            errors_of("store_dir: \"foo\"\njetstream {\n  store_dir: \"bar\"\n}"),
            [":3:3: Duplicate 'store_dir' configuration"]
        );
        assert_eq!(
            errors_of("jetstream {\n  store_dir: \"bar\"\n}\nstore_dir: \"foo\""),
            [":4:1: Duplicate 'store_dir' configuration"]
        );
    }

    #[test]
    fn sync_interval() {
        // Go's TestJetStreamSyncInterval: not set, a duration, always.
        let o = load("jetstream {}");
        assert_eq!((o.sync_interval, o.sync_always), (None, false));
        let o = load("jetstream { sync_interval: 10s }");
        assert_eq!(o.sync_interval, Some(Duration::from_secs(10)));
        assert!(!o.sync_always);
        let o = load("jetstream { sync_interval: always }");
        assert_eq!(o.sync_interval, Some(super::super::DEFAULT_SYNC_INTERVAL));
        assert!(o.sync_always);
        let o = load("jetstream { sync: \"ALWAYS\" }");
        assert!(o.sync_always);
        let (o, w) = load_with_warnings("jetstream {\n  sync: 5\n}");
        assert_eq!(o.sync_interval, Some(Duration::from_secs(5)));
        assert_eq!(
            w,
            [":2:3: invalid use of field \"sync\": sync should be converted to a duration"]
        );
        assert_eq!(
            errors_of("jetstream {\n  sync_interval: \"bad\"\n}"),
            [":2:3: error parsing sync_interval: time: invalid duration \"bad\""]
        );
        // Neither a string nor a number: warned about, then the type fails at the block.
        assert_eq!(
            errors_of("jetstream {\n  sync_interval: true\n}"),
            [":1:0: interface conversion: interface {} is bool, not int64"]
        );
    }

    #[test]
    fn strings_and_switches() {
        let o = load(
            "jetstream {\n domain: HUB\n key: k1\n prev_key: k0\n extension_hint: will_extend\n \
             unique_tag: \" AZ \"\n strict: false\n meta_compact_sync: true\n}",
        );
        assert_eq!(o.jetstream_domain, "HUB");
        assert_eq!(
            (o.jetstream_key.as_str(), o.jetstream_old_key.as_str()),
            ("k1", "k0")
        );
        assert_eq!(o.jetstream_ext_hint, "will_extend");
        assert_eq!(o.jetstream_unique_tag, "az");
        assert!(!o.jetstream_strict && o.jetstream_meta_compact_sync);
        let o = load("jetstream { ek: a, prev_ek: b }");
        assert_eq!(
            (o.jetstream_key.as_str(), o.jetstream_old_key.as_str()),
            ("a", "b")
        );
        let o = load("jetstream { encryption_key: a, prev_encryption_key: b, strict: true }");
        assert_eq!(
            (o.jetstream_key.as_str(), o.jetstream_old_key.as_str()),
            ("a", "b")
        );
        assert!(o.jetstream_strict);
        assert_eq!(
            errors_of("jetstream {\n  strict: 1\n}"),
            [":2:3: Expected 'true' or 'false' for bool value, got '%!s(int64=1)'"]
        );
        assert_eq!(
            errors_of("jetstream {\n  strict: \"yes\"\n}"),
            [":2:3: Expected 'true' or 'false' for bool value, got 'yes'"]
        );
        // Unchecked types fail at the `jetstream` key, as the reference's panics do.
        assert_eq!(
            errors_of("port: 4222\njetstream {\n  max_mem: 1G\n  domain: 1\n}"),
            [":2:1: interface conversion: interface {} is int64, not string"]
        );
        for key in [
            "key",
            "prev_key",
            "extension_hint",
            "unique_tag",
            "store_dir",
        ] {
            assert_eq!(
                errors_of(&format!("jetstream {{\n  {key}: 1\n}}")),
                [":1:0: interface conversion: interface {} is int64, not string"],
                "{key}"
            );
        }
        for key in ["enabled", "meta_compact_sync"] {
            assert_eq!(
                errors_of(&format!("jetstream {{\n  {key}: 1\n}}")),
                [":1:0: interface conversion: interface {} is int64, not bool"],
                "{key}"
            );
        }
    }

    #[test]
    fn ciphers() {
        assert_eq!(
            load("jetstream { key: k }").jetstream_cipher,
            StoreCipher::ChaCha
        );
        assert_eq!(
            load("jetstream { cipher: AES }").jetstream_cipher,
            StoreCipher::Aes
        );
        assert_eq!(
            load("jetstream { cipher: aes, cipher: chachapoly }").jetstream_cipher,
            StoreCipher::ChaCha
        );
        assert_eq!(
            load("jetstream { cipher: ChaCha }").jetstream_cipher,
            StoreCipher::ChaCha
        );
        assert_eq!(
            errors_of("jetstream {\n  cipher: \"des\"\n}"),
            [":2:3: Unknown cipher type: \"des\""]
        );
        assert_eq!(
            errors_of("jetstream {\n  cipher: 1\n}"),
            [":1:0: interface conversion: interface {} is int64, not string"]
        );
    }

    #[test]
    fn queue_and_buffer_limits() {
        let o = load(
            "jetstream {\n request_queue_limit: 500\n info_queue_limit: 50\n max_buffered_msgs: 7\n \
             max_buffered_size: \"1M\"\n max_outstanding_catchup: 32MB\n meta_compact: 100\n \
             meta_compact_size: \"2K\"\n max_concurrent_io: 16\n}",
        );
        assert_eq!(o.jetstream_request_queue_limit, 500);
        assert_eq!(o.jetstream_info_queue_limit, 50);
        assert_eq!(o.stream_max_buffered_msgs, 7);
        assert_eq!(o.stream_max_buffered_size, 1 << 20);
        assert_eq!(o.jetstream_max_catchup, 32 << 20);
        assert_eq!(o.jetstream_meta_compact, 100);
        assert_eq!(o.jetstream_meta_compact_size, 2048);
        assert_eq!(o.jetstream_concurrent_ios, 16);
        assert_eq!(
            errors_of("jetstream {\n  max_buffered_msgs: \"x\"\n}"),
            [":2:3: Expected a parseable size for \"max_buffered_msgs\", got x"]
        );
        assert_eq!(
            errors_of("jetstream {\n  Request_Queue_Limit: 1.5\n}"),
            [":2:3: Expected a parseable size for \"Request_Queue_Limit\", got 1.5"]
        );
        assert_eq!(
            errors_of("jetstream {\n  info_queue_limit: true\n}"),
            [":2:3: Expected a parseable size for \"info_queue_limit\", got true"]
        );
        assert_eq!(
            errors_of("jetstream {\n  meta_compact: -1\n}"),
            [":2:3: Expected an absolute size for \"meta_compact\", got -1"]
        );
        assert_eq!(
            errors_of("jetstream {\n  meta_compact_size: -1\n}"),
            [":2:3: Expected an absolute size for \"meta_compact_size\", got -1"]
        );
        assert_eq!(
            errors_of("jetstream {\n  meta_compact_size: \"1Q\"\n}"),
            [":2:3: meta_compact_size sizes defined as strings must end in K, M, G, T"]
        );
        for bad in ["3", "8193", "\"x\""] {
            assert_eq!(
                errors_of(&format!("jetstream {{\n  max_concurrent_io: {bad}\n}}")),
                [format!(
                    ":2:3: Expected an absolute size for \"max_concurrent_io\" between 4 and 8192, got {}",
                    bad.trim_matches('"')
                )]
            );
        }
        assert_eq!(
            load("jetstream { max_concurrent_io: 4 }").jetstream_concurrent_ios,
            4
        );
        assert_eq!(
            load("jetstream { max_concurrent_io: 8192 }").jetstream_concurrent_ios,
            8192
        );
    }

    #[test]
    fn limits_block() {
        let o = load(
            "jetstream { limits {\n max_ack_pending: 100\n max_ha_assets: 2\n max_request_batch: 50\n \
             duplicate_window: \"1m\"\n batch {\n  max_inflight_per_stream: 3\n  max_inflight_total: 30\n  \
             max_msgs: 1000\n  timeout: \"5s\"\n }\n} }",
        );
        assert_eq!(
            o.jetstream_limits,
            JsLimitOpts {
                max_request_batch: 50,
                max_ack_pending: 100,
                max_ha_assets: 2,
                duplicates: Duration::from_secs(60),
                max_batch_inflight_per_stream: 3,
                max_batch_inflight_total: 30,
                max_batch_size: 1000,
                max_batch_timeout: Duration::from_secs(5),
            }
        );
        assert_eq!(
            errors_of("jetstream {\n limits: 5\n}"),
            [":2:2: Expected a map to define JetStreamLimits, got int64"]
        );
        assert_eq!(
            errors_of("jetstream {\n limits { batch: [] }\n}"),
            [":2:11: Expected a map to define batch limits, got []interface {}"]
        );
        // A bad duration there has no position, as in the reference.
        assert_eq!(
            errors_of(
                "jetstream {\n limits {\n  duplicate_window: \"x\"\n  max_ha_assets: 2\n }\n}"
            ),
            ["time: invalid duration \"x\""]
        );
        assert_eq!(
            errors_of("jetstream {\n limits { batch { timeout: \"y\" } }\n}"),
            ["time: invalid duration \"y\""]
        );
        assert_eq!(
            errors_of("jetstream {\n limits {\n  max_ack_pending: \"x\"\n }\n}"),
            [":1:0: interface conversion: interface {} is string, not int64"]
        );
        assert_eq!(
            errors_of("jetstream {\n limits {\n  foo: 1\n  batch { bar: 2 }\n }\n}"),
            [
                ":3:3: unknown field \"foo\"",
                ":4:11: unknown field \"bar\""
            ]
        );
    }

    #[test]
    fn tpm_block() {
        let o = load(
            "jetstream { tpm {\n keys_file: \"keys.json\"\n encryption_password: pw\n srk_password: srk\n \
             pcr: 22\n cipher: aes\n} }",
        );
        assert_eq!(
            o.jetstream_tpm,
            JsTpmOpts {
                keys_file: "keys.json".into(),
                key_password: "pw".into(),
                srk_password: "srk".into(),
                pcr: 22,
            }
        );
        assert_eq!(o.jetstream_cipher, StoreCipher::Aes);
        assert_eq!(
            errors_of("jetstream {\n tpm: true\n}"),
            [":2:2: Expected a map to define JetStreamLimits, got bool"]
        );
        assert_eq!(
            errors_of("jetstream {\n tpm { pcr: \"x\", other: 1 }\n}"),
            [":1:0: interface conversion: interface {} is string, not int64"]
        );
        assert_eq!(
            errors_of("jetstream {\n tpm { other: 1 }\n}"),
            [":2:8: unknown field \"other\""]
        );
    }

    #[test]
    fn unknown_keys_are_reported_and_parsing_goes_on() {
        assert_eq!(
            errors_of("jetstream {\n  foo: 2\n  max_file: \"1Z\"\n}"),
            [
                ":2:3: unknown field \"foo\"",
                ":3:3: max_file_store sizes defined as strings must end in K, M, G, T"
            ]
        );
        assert_eq!(
            errors_of("jetstream {\n  compress_ok: true\n}"),
            [":2:3: unknown field \"compress_ok\""]
        );
        // A key that only a variable reference used is not unknown.
        let o = load("jetstream {\n  SIZE: 1GB\n  max_mem: $SIZE\n}");
        assert_eq!(o.jetstream_max_memory, GB);
    }

    #[test]
    fn storage_size_like_the_reference() {
        let v = |k: Kind| Value::plain(k);
        assert_eq!(storage_size(&v(Kind::Integer(-5))), Ok(-5));
        assert_eq!(storage_size(&v(Kind::String("".into()))), Ok(0));
        assert_eq!(storage_size(&v(Kind::String("+3K".into()))), Ok(3072));
        assert_eq!(storage_size(&v(Kind::String("-1G".into()))), Ok(-(1 << 30)));
        assert_eq!(
            storage_size(&v(Kind::String("1k".into()))),
            Err("sizes defined as strings must end in K, M, G, T".into())
        );
        assert_eq!(
            storage_size(&v(Kind::String("1 G".into()))),
            Err("strconv.ParseInt: parsing \"1 \": invalid syntax".into())
        );
        assert_eq!(
            storage_size(&v(Kind::Float(1.0))),
            Err("must be int64 or string".into())
        );
    }

    #[test]
    fn go_value_formats() {
        let v = |k: Kind| go_v(&Value::plain(k));
        assert_eq!(v(Kind::Float(1.5)), "1.5");
        assert_eq!(v(Kind::Float(1e21)), "1e+21");
        assert_eq!(v(Kind::Float(1e-5)), "1e-05");
        assert_eq!(v(Kind::Float(100.0)), "100");
        assert_eq!(v(Kind::Bool(false)), "false");
    }

    #[test]
    fn account_jetstream() {
        let acc = |text: &str| {
            let o = load(&format!("accounts {{ A {{ {text} }} }}"));
            o.accounts[0].clone()
        };
        let unlimited = Some(JetStreamAccountLimits::UNLIMITED);
        assert_eq!(acc("jetstream: enabled").jetstream, unlimited);
        assert_eq!(acc("jetstream: Enable").jetstream, unlimited);
        assert_eq!(acc("jetstream: true").jetstream, unlimited);
        assert_eq!(acc("jetstream: false").jetstream, None);
        assert_eq!(acc("jetstream: disabled").jetstream, None);
        assert_eq!(acc("jetstream: {}").jetstream, unlimited);
        let a = acc(
            "jetstream { max_mem: 1GB, max_file: 2GB, max_streams: 10, max_consumers: 20, \
             max_bytes_required: true, mem_max_stream_bytes: 100, disk_max_stream_bytes: 200, \
             max_ack_pending: 30, cluster_traffic: owner }",
        );
        assert_eq!(
            a.jetstream,
            Some(JetStreamAccountLimits {
                max_memory: GB,
                max_store: 2 * GB,
                max_streams: 10,
                max_consumers: 20,
                max_ack_pending: 30,
                memory_max_stream_bytes: 100,
                store_max_stream_bytes: 200,
                max_bytes_required: true,
            })
        );
        assert!(a.jetstream_cluster_traffic_owner);
        let a = acc(
            "jetstream { memory: 1, store: 2, streams: 3, consumers: 4, max_bytes: false, \
             memory_max_stream_bytes: 5, store_max_stream_bytes: 6, cluster_traffic: system }",
        );
        let l = a.jetstream.expect("enabled");
        assert_eq!(
            (l.max_memory, l.max_store, l.max_streams, l.max_consumers),
            (1, 2, 3, 4)
        );
        assert_eq!(
            (l.memory_max_stream_bytes, l.store_max_stream_bytes),
            (5, 6)
        );
        assert_eq!(l.max_ack_pending, -1);
        assert!(!a.jetstream_cluster_traffic_owner);
        for (k, want) in [
            ("mem", 1),
            ("max_memory", 1),
            ("disk", 2),
            ("max_disk", 2),
            ("max_store", 2),
            ("max_stream_bytes", 0),
        ] {
            let l = acc(&format!(
                "jetstream {{ {k}: {} }}",
                if want == 0 {
                    "true".to_string()
                } else {
                    want.to_string()
                }
            ))
            .jetstream
            .expect("enabled");
            match want {
                1 => assert_eq!(l.max_memory, 1, "{k}"),
                2 => assert_eq!(l.max_store, 2, "{k}"),
                _ => assert!(l.max_bytes_required, "{k}"),
            }
        }
    }

    #[test]
    fn account_jetstream_errors() {
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: 5\n }\n}"),
            ["Expected map, bool or string to define JetStream, got int64"]
        );
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: \"foo\"\n }\n}"),
            ["Expected 'enabled' or 'disabled' for string value, got 'foo'"]
        );
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: { max_bytes_required: 1 }\n }\n}"),
            [":3:16: Expected a parseable bool for \"max_bytes_required\", got 1"]
        );
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: { max_streams: \"10\" }\n }\n}"),
            [":3:16: Expected a parseable size for \"max_streams\", got 10"]
        );
        assert_eq!(
            errors_of("accounts {\n  A {\n    jetstream: { bar: 1, max_mem: \"x\" }\n  }\n}"),
            [
                ":3:18: unknown field \"bar\"",
                ":3:26: Expected a parseable size for \"max_mem\", got x"
            ]
        );
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: { cluster_traffic: 1 }\n }\n}"),
            [":3:16: Expected either 'system' or 'owner' string value for \"cluster_traffic\", got 1"]
        );
        assert_eq!(
            errors_of("accounts {\n A {\n  jetstream: { cluster_traffic: other }\n }\n}"),
            [":3:16: Expected 'system' or 'owner' string value for \"cluster_traffic\", got other"]
        );
    }
}
