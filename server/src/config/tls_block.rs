//! The `tls { }` block of a configuration file (nats-server's `parseTLS` for the client
//! listener), with Go's error texts; each error carries the position of the value at
//! fault, which `config::file` turns into a `file:line:col` issue.

use super::conf::duration::{parse_duration, to_std, SECOND};
use super::conf::{Kind, Pos, Value};
use crate::tls::{self, Curve, TlsConfigOpts, TlsVersion};
use std::collections::BTreeSet;

/// An error in the block, at a position.
pub type BlockError = (Pos, String);

fn err(v: &Value, msg: impl Into<String>) -> BlockError {
    (v.pos.clone(), msg.into())
}

fn conversion(v: &Value, want: &str) -> BlockError {
    err(
        v,
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            v.go_type()
        ),
    )
}

fn want_bool(v: &Value, key: &str) -> Result<bool, BlockError> {
    v.as_bool().ok_or_else(|| {
        err(
            v,
            format!("error parsing tls config, expected '{key}' to be a boolean"),
        )
    })
}

fn want_file(v: &Value, key: &str) -> Result<String, BlockError> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        err(
            v,
            format!("error parsing tls config, expected '{key}' to be filename"),
        )
    })
}

fn want_array(v: &Value) -> Result<&[Value], BlockError> {
    v.as_array().ok_or_else(|| conversion(v, "[]interface {}"))
}

fn want_entry_str(v: &Value) -> Result<&str, BlockError> {
    v.as_str().ok_or_else(|| conversion(v, "string"))
}

/// Keys of the block that configure what natsd does not have yet.
fn unsupported(key: &str) -> Option<&'static str> {
    Some(match key {
        "cert_store"
        | "cert_match_by"
        | "cert_match"
        | "ca_certs_match"
        | "cert_match_skip_invalid" => "certificate stores",
        "ocsp_peer" => "OCSP",
        "certs" | "certificates" => "multiple certificates",
        _ => return None,
    })
}

/// Parses the block (the client listener's, where `verify_cert_and_check_known_urls`
/// is refused as in Go).
pub fn parse_tls_block(v: &Value) -> Result<TlsConfigOpts, BlockError> {
    let m = v
        .as_map()
        .ok_or_else(|| conversion(v, "map[string]interface {}"))?;
    let mut tc = TlsConfigOpts::default();
    let mut insecure_found: Vec<&'static str> = Vec::new();
    // The first entry of a suite or curve natsd cannot offer, and all their names.
    let mut unsupported_at: Option<Pos> = None;
    for (mk, mv) in m.iter() {
        let key = mk.to_lowercase();
        match key.as_str() {
            "cert_file" => tc.cert_file = want_file(mv, "cert_file")?,
            "key_file" => tc.key_file = want_file(mv, "key_file")?,
            "ca_file" => tc.ca_file = want_file(mv, "ca_file")?,
            "insecure" => tc.insecure = want_bool(mv, "insecure")?,
            "verify" => tc.verify = want_bool(mv, "verify")?,
            "verify_and_map" => {
                let b = want_bool(mv, "verify_and_map")?;
                if b {
                    tc.verify = true;
                }
                tc.map = b;
            }
            "verify_cert_and_check_known_urls" => {
                if want_bool(mv, "verify_cert_and_check_known_urls")? {
                    return Err(err(
                        mv,
                        "verify_cert_and_check_known_urls not supported in this context",
                    ));
                }
            }
            "allow_insecure_cipher_suites" => {
                tc.allow_insecure_ciphers = want_bool(mv, "allow_insecure_cipher_suites")?
            }
            "cipher_suites" => {
                let ra = want_array(mv)?;
                if ra.is_empty() {
                    return Err(err(
                        mv,
                        "error parsing tls config, 'cipher_suites' cannot be empty",
                    ));
                }
                let mut ids = Vec::with_capacity(ra.len());
                for r in ra {
                    let name = want_entry_str(r)?;
                    let c = tls::go_cipher(name)
                        .ok_or_else(|| err(r, format!("unrecognized cipher {name}")))?;
                    ids.push(c.id);
                    if c.insecure {
                        insecure_found.push(c.name);
                    }
                    if tls::check_supported(&[c.id], &[]).is_err() && unsupported_at.is_none() {
                        unsupported_at = Some(r.pos.clone());
                    }
                }
                tc.ciphers = Some(ids);
            }
            "curve_preferences" => {
                let ra = want_array(mv)?;
                if ra.is_empty() {
                    return Err(err(
                        mv,
                        "error parsing tls config, 'curve_preferences' cannot be empty",
                    ));
                }
                let mut curves = Vec::with_capacity(ra.len());
                for r in ra {
                    let name = want_entry_str(r)?;
                    let c = Curve::parse(name)
                        .ok_or_else(|| err(r, format!("unrecognized curve preference {name}")))?;
                    if tls::check_supported(&[], &[c]).is_err() && unsupported_at.is_none() {
                        unsupported_at = Some(r.pos.clone());
                    }
                    curves.push(c);
                }
                tc.curves = Some(curves);
            }
            "timeout" => {
                tc.timeout = match &mv.kind {
                    Kind::Integer(i) => *i as f64,
                    Kind::Float(f) => *f,
                    Kind::String(s) => {
                        let d = parse_duration(s).map_err(|e| {
                            err(mv, format!("error parsing tls config, 'timeout' {e}"))
                        })?;
                        d as f64 / SECOND as f64
                    }
                    _ => return Err(err(mv, "error parsing tls config, 'timeout' wrong type")),
                }
            }
            "connection_rate_limit" => {
                tc.rate_limit = mv.as_i64().ok_or_else(|| {
                    err(
                        mv,
                        "error parsing tls config, 'connection_rate_limit' wrong type",
                    )
                })?
            }
            "pinned_certs" => {
                let ra = mv.as_array().ok_or_else(|| {
                    err(mv, "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo")
                })?;
                if !ra.is_empty() {
                    let mut set = BTreeSet::new();
                    for r in ra {
                        let entry = want_entry_str(r)?.to_lowercase();
                        if entry.len() != 64 || !entry.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(err(r, format!("error parsing tls config, 'pinned_certs' key {entry} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo")));
                        }
                        set.insert(entry);
                    }
                    tc.pinned_certs = Some(set);
                }
            }
            "handshake_first" | "first" | "immediate" => match &mv.kind {
                Kind::Bool(b) => tc.handshake_first = *b,
                Kind::String(s) => match s.to_lowercase().as_str() {
                    "true" | "on" => tc.handshake_first = true,
                    "false" | "off" => tc.handshake_first = false,
                    "auto" | "auto_fallback" => {
                        tc.handshake_first = true;
                        tc.fallback_delay = tls::DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY;
                    }
                    _ => match parse_duration(s) {
                        Ok(d) => {
                            tc.handshake_first = true;
                            tc.fallback_delay = to_std(d);
                        }
                        Err(_) => {
                            return Err(err(mv, format!("field {mk:?}'s value {s:?} is invalid")))
                        }
                    },
                },
                _ => {
                    return Err(err(
                        mv,
                        format!(
                            "field {mk:?} should be a boolean or a string, got {}",
                            mv.go_type()
                        ),
                    ))
                }
            },
            "min_version" => {
                let s = mv.as_str().ok_or_else(|| {
                    err(
                        mv,
                        format!(
                            "error parsing tls config: 'min_version' wrong type: {}",
                            mv.go_type()
                        ),
                    )
                })?;
                let ver = TlsVersion::parse(s)
                    .map_err(|e| err(mv, format!("error parsing tls config: {e}")))?;
                if ver < TlsVersion::Tls12 {
                    return Err(err(
                        mv,
                        format!(
                            "error parsing tls config: unsupported TLS version: {}",
                            ver.go_name()
                        ),
                    ));
                }
                tc.min_version = Some(ver);
            }
            other => {
                if let Some(feature) = unsupported(other) {
                    return Err(err(
                        mv,
                        format!("tls option {mk:?} is not supported yet ({feature})"),
                    ));
                }
                return Err(err(
                    mv,
                    format!("error parsing tls config, unknown field {mk:?}"),
                ));
            }
        }
    }
    if !tc.allow_insecure_ciphers && !insecure_found.is_empty() {
        return Err(err(
            v,
            format!(
                "insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: {}",
                insecure_found.join(", ")
            ),
        ));
    }
    if let Some(pos) = unsupported_at {
        let e = tls::check_supported(
            tc.ciphers.as_deref().unwrap_or_default(),
            tc.curves.as_deref().unwrap_or_default(),
        )
        .err()
        .unwrap_or_default();
        return Err((pos, e));
    }
    Ok(tc)
}

/// Applies a `tls` block to the options: parses it, loads the files (Go's
/// `GenTLSConfig`, whose errors point at the block) and sets the TLS options.
pub fn apply_tls_block(o: &mut super::Options, v: &Value) -> Result<(), BlockError> {
    let tc = parse_tls_block(v)?;
    let cfg = tls::gen_tls_config(&tc).map_err(|e| err(v, e))?;
    o.tls_timeout = if tc.timeout > 0.0 {
        std::time::Duration::try_from_secs_f64(tc.timeout).unwrap_or(tls::DEFAULT_TLS_TIMEOUT)
    } else {
        tls::DEFAULT_TLS_TIMEOUT
    };
    o.tls_map = tc.map;
    o.tls_pinned_certs = tc.pinned_certs.clone();
    o.tls_rate_limit = tc.rate_limit;
    o.tls_handshake_first = tc.handshake_first;
    o.tls_handshake_first_fallback = tc.fallback_delay;
    o.tls_config = Some(std::sync::Arc::new(cfg));
    o.tls_config_opts = Some(tc);
    default_auth_timeout_for_tls(o);
    Ok(())
}

/// With TLS, a client gets the TLS timeout plus a second to authenticate unless a timeout
/// was configured (Go's `getDefaultAuthTimeout`; a configured timeout equal to the
/// plain default is taken as not configured).
pub fn default_auth_timeout_for_tls(o: &mut super::Options) {
    if o.tls_config.is_some() && o.auth_timeout == super::options::DEFAULT_AUTH_TIMEOUT {
        o.auth_timeout = o.tls_timeout + std::time::Duration::from_secs(1);
    }
}
