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

/// `certs`: a list of `{cert_file, key_file}` pairs, served by the name the client asks
/// for (Go's texts; the two keys are matched exactly, as Go does).
fn parse_cert_pairs(v: &Value) -> Result<Vec<(String, String)>, BlockError> {
    let unsupported_type = |v: &Value| {
        err(
            v,
            format!(
                "error parsing certificates config: unsupported type {}",
                v.go_type()
            ),
        )
    };
    let arr = v.as_array().ok_or_else(|| unsupported_type(v))?;
    let mut pairs = Vec::with_capacity(arr.len());
    for entry in arr {
        let m = entry.as_map().ok_or_else(|| unsupported_type(entry))?;
        let (mut cert, mut key) = (String::new(), String::new());
        for (k, fv) in m.iter() {
            let file = fv.as_str().ok_or_else(|| unsupported_type(fv))?.to_string();
            match k {
                "cert_file" => cert = file,
                "key_file" => key = file,
                _ => {
                    return Err(err(
                        fv,
                        format!("error parsing tls certs config, unknown field {k:?}"),
                    ))
                }
            }
        }
        if cert.is_empty() || key.is_empty() {
            return Err(err(
                entry,
                "error parsing certificates config: both 'cert_file' and 'cert_key' options are required",
            ));
        }
        pairs.push((cert, key));
    }
    Ok(pairs)
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
            "certs" | "certificates" => tc.certificates = parse_cert_pairs(mv)?,
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
    if !tc.certificates.is_empty() && !tc.cert_file.is_empty() {
        return Err(err(
            v,
            "error parsing tls config, cannot combine 'cert_file' option with 'certs' option",
        ));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::file::{apply_config_string, ConfigFileError};
    use crate::config::Options;
    use std::time::Duration;

    fn certs() -> String {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs/").to_string()
    }

    fn block(extra: &str) -> String {
        let c = certs();
        format!(
            "tls {{\n  cert_file: \"{c}server-cert.pem\"\n  key_file: \"{c}server-key.pem\"\n  {extra}\n}}\n"
        )
    }

    fn load(text: &str) -> Result<Options, String> {
        let mut o = Options::default();
        match apply_config_string(&mut o, text) {
            Ok(_) => Ok(o),
            Err(ConfigFileError::Invalid(e)) => Err(e.to_string().trim_end().to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn a_full_block() {
        let o = load(&block(
            "ca_file: \"CA\"\n verify_and_map: true\n timeout: \"3s\"\n handshake_first: auto\n \
             min_version: \"1.3\"\n cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n \
             curve_preferences: [\"CurveP256\", \"X25519\"]\n \
             pinned_certs: [\"7F83B1657FF1FC53B92DC18148A1D65DFC2D4B1FA3D677284ADDD200126D9069\"]"
                .replace("CA", &format!("{}ca.pem", certs()))
                .as_str(),
        ))
        .unwrap();
        let tc = o.tls_config.as_ref().unwrap();
        assert!(tc.verify && o.tls_map);
        assert_eq!(o.tls_timeout, Duration::from_secs(3));
        assert_eq!(o.auth_timeout, Duration::from_secs(4));
        assert!(o.tls_handshake_first);
        assert_eq!(
            o.tls_handshake_first_fallback,
            crate::tls::DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY
        );
        assert_eq!(tc.min_version, crate::tls::TlsVersion::Tls13);
        assert_eq!(tc.cipher_ids, vec![0xc02f]);
        assert_eq!(
            tc.curves,
            vec![crate::tls::Curve::P256, crate::tls::Curve::X25519]
        );
        // Lower-cased, as Go keeps them.
        assert!(o
            .tls_pinned_certs
            .as_ref()
            .unwrap()
            .contains("7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"));
    }

    #[test]
    fn several_certificates() {
        let c = certs();
        let o = load(&format!(
            "tls {{\n certs = [\n {{cert_file: \"{c}srva-cert.pem\", key_file: \"{c}srva-key.pem\"}}\n \
             {{cert_file: \"{c}srvb-cert.pem\", key_file: \"{c}srvb-key.pem\"}}\n ]\n}}\n"
        ))
        .unwrap();
        let tc = o.tls_config_opts.unwrap();
        assert_eq!(tc.certificates.len(), 2);
        assert!(tc.certificates[1].0.ends_with("srvb-cert.pem"));
        assert!(o.tls_config.is_some());
        let e = load(&format!(
            "tls {{\n cert_file: \"{c}server-cert.pem\"\n key_file: \"{c}server-key.pem\"\n \
             certs = [ {{cert_file: \"{c}srva-cert.pem\", key_file: \"{c}srva-key.pem\"}} ]\n}}\n"
        ))
        .unwrap_err();
        assert!(
            e.ends_with(
                "error parsing tls config, cannot combine 'cert_file' option with 'certs' option"
            ),
            "{e}"
        );
        let e = load("tls {\n certs = [ {cert_file: \"a.pem\"} ]\n}\n").unwrap_err();
        assert!(
            e.ends_with("error parsing certificates config: both 'cert_file' and 'cert_key' options are required"),
            "{e}"
        );
        let e = load("tls {\n certs = [ {cert: \"a.pem\"} ]\n}\n").unwrap_err();
        assert!(
            e.ends_with("error parsing tls certs config, unknown field \"cert\""),
            "{e}"
        );
        let e = load("tls {\n certs = 1\n}\n").unwrap_err();
        assert!(
            e.ends_with("error parsing certificates config: unsupported type int64"),
            "{e}"
        );
        let e = load(&format!(
            "tls {{\n certs = [ {{cert_file: \"{c}srva-cert.pem\", key_file: \"{c}srva-key.pem\"}}\n \
             {{cert_file: \"/nonexistent.pem\", key_file: \"{c}srvb-key.pem\"}} ]\n}}\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("error parsing X509 certificate/key pair 2/2: "),
            "{e}"
        );
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = load(&block("cipher_suites: [\"TLS_NOPE\"]")).unwrap_err();
        assert_eq!(e, ":4:20: unrecognized cipher TLS_NOPE");
        let e = load(&block(
            "cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\"]",
        ))
        .unwrap_err();
        assert!(
            e.starts_with(":4:20: cipher suites not supported by natsd")
                && e.ends_with("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            "{e}"
        );
        let e = load(&block("cipher_suites: [\"TLS_RSA_WITH_RC4_128_SHA\"]")).unwrap_err();
        assert!(
            e.contains("insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: TLS_RSA_WITH_RC4_128_SHA"),
            "{e}"
        );
        let e = load(&block("curve_preferences: [\"CurveP521\"]")).unwrap_err();
        assert_eq!(
            e,
            ":4:24: curve preferences not supported by natsd: CurveP521"
        );
        let e = load(&block("curve_preferences: [\"P999\"]")).unwrap_err();
        assert_eq!(e, ":4:24: unrecognized curve preference P999");
        let e = load(&block("min_version: \"1.0\"")).unwrap_err();
        assert_eq!(
            e,
            ":4:3: error parsing tls config: unsupported TLS version: TLS 1.0"
        );
        let e = load(&block("timeout: true")).unwrap_err();
        assert_eq!(e, ":4:3: error parsing tls config, 'timeout' wrong type");
        let e = load(&block("first: maybe")).unwrap_err();
        assert_eq!(e, ":4:3: field \"first\"'s value \"maybe\" is invalid");
        let e = load(&block("nope: 1")).unwrap_err();
        assert_eq!(e, ":4:3: error parsing tls config, unknown field \"nope\"");
        let e = load(&block("pinned_certs: [\"abc\"]")).unwrap_err();
        assert!(
            e.starts_with(":4:19: error parsing tls config, 'pinned_certs' key abc"),
            "{e}"
        );
        let e = load(&block("cert_store: \"WindowsCurrentUser\"")).unwrap_err();
        assert!(e.contains("not supported yet (certificate stores)"), "{e}");
        // Loading the files fails at the block.
        let e = load("tls {\n cert_file: \"/nonexistent.pem\"\n key_file: \"/k.pem\"\n}\n")
            .unwrap_err();
        assert!(
            e.starts_with(":1:0: error parsing X509 certificate/key pair: open /nonexistent.pem"),
            "{e}"
        );
        let e = load("tls {\n cert_file: \"/nonexistent.pem\"\n}\n").unwrap_err();
        assert_eq!(e, ":1:0: missing 'key_file' in TLS configuration");
    }

    #[test]
    fn allow_non_tls_and_info() {
        let o = load(&format!(
            "{}allow_non_tls: true\n",
            block(
                "verify: true\n ca_file: \"CA\""
                    .replace("CA", &format!("{}ca.pem", certs()))
                    .as_str()
            )
        ))
        .unwrap();
        assert!(o.allow_non_tls);
        assert_eq!(crate::tls::info_flags(&o), (false, true, true));
        let o = load(&block("")).unwrap();
        assert_eq!(crate::tls::info_flags(&o), (true, false, false));
        assert_eq!(
            crate::tls::info_flags(&Options::default()),
            (false, false, false)
        );
    }
}
