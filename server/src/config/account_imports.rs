//! An account's `exports` and `imports` in a configuration file (Go's
//! `parseAccountExports`, `parseAccountImports`, `parseExportStreamOrService`,
//! `parseImportStreamOrService`), with Go's texts. Whether each import is allowed is
//! checked once every account is read (`check_imports_exports`).

use super::cli::go_quote;
use super::file::{ConfigIssue, IssueKind};
use crate::account::imports::{apply_configured, ExportConfig, ImportConfig, ResponseType};
use crate::account::{Account, AccountConfig};
use crate::config::conf::{Kind, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

fn error(v: &Value, reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Error(reason.into()),
    }
}

fn unknown(v: &Value, key: &str) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::UnknownField(key.to_string()),
    }
}

/// Go's `%q` of a config value: a quoted string, else `%!q(type=value)`.
fn quoted(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) => go_quote(s),
        Kind::Integer(i) => format!("%!q(int64={i})"),
        Kind::Bool(b) => format!("%!q(bool={b})"),
        _ => format!("%!q({})", v.go_type()),
    }
}

/// Go's conversion of a value its parser asserts the type of: a mistake is an error
/// where Go recovers from the panic.
fn expect<T>(v: &Value, got: Option<T>, what: &str) -> Result<T, ConfigIssue> {
    got.ok_or_else(|| {
        error(
            v,
            format!(
                "interface conversion: interface {{}} is {}, not {what}",
                v.go_type()
            ),
        )
    })
}

/// `exports: [ {stream: ...} | {service: ...} ]`.
pub fn parse_exports(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Vec<ExportConfig>, ConfigIssue> {
    let Some(items) = v.as_array() else {
        return Err(error(
            v,
            format!("Exports should be an array, got {}", v.go_type()),
        ));
    };
    let mut out = Vec::new();
    for item in items {
        match parse_export(item, errors) {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    Ok(out)
}

fn parse_export(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Option<ExportConfig>, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(error(
            v,
            format!(
                "Export Items should be a map with type entry, got {}",
                v.go_type()
            ),
        ));
    };
    let mut e = ExportConfig::default();
    let (mut stream, mut service) = (false, false);
    let (mut rt_at, mut lat_at, mut trace_at): (Option<&Value>, Option<&Value>, Option<&Value>) =
        (None, None, None);
    let mut thresh_seen = false;
    for (k, mv) in m.iter() {
        match k.to_lowercase().as_str() {
            "stream" => {
                if service {
                    errors.push(error(
                        mv,
                        format!("Detected stream {} but already saw a service", quoted(mv)),
                    ));
                    continue;
                }
                let directive = [
                    (rt_at, "Detected response directive on non-service"),
                    (lat_at, "Detected latency directive on non-service"),
                    (trace_at, "Detected allow_trace directive on non-service"),
                ];
                if let Some((at, text)) = directive.iter().find(|(a, _)| a.is_some()) {
                    if let Some(at) = at {
                        errors.push(error(at, *text));
                    }
                    continue;
                }
                let Some(s) = mv.as_str() else {
                    errors.push(error(
                        mv,
                        format!("Expected stream name to be string, got {}", mv.go_type()),
                    ));
                    continue;
                };
                stream = true;
                e.subject = s.to_string();
            }
            "service" => {
                if stream {
                    errors.push(error(
                        mv,
                        format!("Detected service {} but already saw a stream", quoted(mv)),
                    ));
                    continue;
                }
                let Some(s) = mv.as_str() else {
                    errors.push(error(
                        mv,
                        format!("Expected service name to be string, got {}", mv.go_type()),
                    ));
                    continue;
                };
                service = true;
                e.subject = s.to_string();
            }
            "response" | "response_type" => {
                if rt_at.is_some() {
                    errors.push(error(mv, "Duplicate response type definition"));
                    continue;
                }
                rt_at = Some(mv);
                let Some(s) = mv.as_str() else {
                    errors.push(error(
                        mv,
                        format!("Expected response type to be string, got {}", mv.go_type()),
                    ));
                    continue;
                };
                e.response_type = match s.to_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Streamed,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    _ => {
                        errors.push(error(mv, format!("Unknown response type: {}", go_quote(s))));
                        continue;
                    }
                };
                if stream {
                    errors.push(error(mv, "Detected response directive on non-service"));
                }
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                if thresh_seen {
                    errors.push(error(mv, "Duplicate response threshold detected"));
                    continue;
                }
                thresh_seen = true;
                let Some(s) = mv.as_str() else {
                    errors.push(error(
                        mv,
                        format!(
                            "Expected response threshold to be a parseable time duration, got {}",
                            mv.go_type()
                        ),
                    ));
                    continue;
                };
                match super::conf::duration::parse_duration(s) {
                    Ok(n) => {
                        e.response_threshold =
                            Some(Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
                    }
                    Err(_) => {
                        errors.push(error(
                            mv,
                            format!(
                                "Expected response threshold to be a parseable time duration, got {}",
                                go_quote(s)
                            ),
                        ));
                        continue;
                    }
                }
                if stream {
                    errors.push(error(mv, "Detected response directive on non-service"));
                }
            }
            "accounts" => {
                let list = expect(mv, mv.as_array(), "[]interface {}")?;
                let mut names = Vec::new();
                for n in list {
                    names.push(expect(n, n.as_str(), "string")?.to_string());
                }
                e.accounts = Some(names);
            }
            "latency" => {
                lat_at = Some(mv);
                match parse_service_latency(mv) {
                    Ok(l) => e.latency = Some(l),
                    Err(err) => {
                        errors.push(err);
                        continue;
                    }
                }
                if stream {
                    errors.push(error(mv, "Detected latency directive on non-service"));
                }
            }
            "account_token_position" => {
                let n = expect(mv, mv.as_i64(), "int64")?;
                e.account_token_position = usize::try_from(n).unwrap_or(0);
            }
            "allow_trace" => {
                trace_at = Some(mv);
                e.allow_trace = expect(mv, mv.as_bool(), "bool")?;
                if stream {
                    errors.push(error(mv, "Detected allow_trace directive on non-service"));
                }
            }
            _ if mv.used_variable => {}
            _ => errors.push(unknown(mv, k)),
        }
    }
    if !stream && !service {
        return Ok(None);
    }
    e.service = service;
    if !service {
        e.response_type = ResponseType::Singleton;
        e.response_threshold = None;
        e.latency = None;
        e.allow_trace = false;
    }
    Ok(Some(e))
}

/// Go's default latency sampling percentage.
const DEFAULT_LATENCY_SAMPLING: i64 = 100;

/// `latency: "subject"` or `latency: { sampling, subject }`: (subject, sampling).
pub fn parse_service_latency(v: &Value) -> Result<(String, i64), ConfigIssue> {
    if let Some(s) = v.as_str() {
        return Ok((s.to_string(), DEFAULT_LATENCY_SAMPLING));
    }
    let Some(m) = v.as_map() else {
        return Err(error(
            v,
            format!(
                "Expected latency entry to be a map/struct or string, got {}",
                v.go_type()
            ),
        ));
    };
    let mut sampling = DEFAULT_LATENCY_SAMPLING;
    if let Some(sv) = m.get("sampling") {
        let mut headers = false;
        sampling = match &sv.kind {
            Kind::Integer(i) => *i,
            Kind::String(s) if s.trim().eq_ignore_ascii_case("headers") => {
                headers = true;
                0
            }
            Kind::String(s) => {
                let n = s.strip_suffix('%').unwrap_or(s);
                n.parse::<i64>().map_err(|_| {
                    error(
                        sv,
                        format!(
                            "Failed to parse latency sample: strconv.Atoi: parsing {}: invalid syntax",
                            go_quote(n)
                        ),
                    )
                })?
            }
            _ => {
                return Err(error(
                    sv,
                    format!(
                        "Expected latency sample to be a string or map/struct, got {}",
                        sv.go_type()
                    ),
                ))
            }
        };
        if !headers && !(1..=100).contains(&sampling) {
            return Err(error(sv, "sampling value should be in range [1..100]"));
        }
    }
    let Some(sv) = m.get("subject") else {
        return Err(error(v, "Latency subject required, but missing"));
    };
    let Some(subject) = sv.as_str() else {
        return Err(error(
            sv,
            "Expected latency subject to be a string, got string",
        ));
    };
    Ok((subject.to_string(), sampling))
}

/// `imports: [ {stream: {account, subject}, prefix|to} | {service: {...}, to, share} ]`.
pub fn parse_imports(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Vec<ImportConfig>, ConfigIssue> {
    let Some(items) = v.as_array() else {
        return Err(error(
            v,
            format!("Imports should be an array, got {}", v.go_type()),
        ));
    };
    let mut out = Vec::new();
    // Local service subjects already imported, by exporting account and subject.
    let mut services: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for item in items {
        let im = match parse_import(item, errors) {
            Ok(Some(im)) => im,
            Ok(None) => continue,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if im.service {
            let seen = services.entry(im.to.clone()).or_default();
            if let Some((an, sub)) = seen.iter().find(|(an, _)| *an == im.account) {
                errors.push(error(
                    item,
                    format!(
                        "Duplicate service import subject {}, previously used in import for account {}, subject {}",
                        go_quote(&im.to),
                        go_quote(an),
                        go_quote(sub)
                    ),
                ));
                continue;
            }
            seen.push((im.account.clone(), im.subject.clone()));
        }
        out.push(im);
    }
    Ok(out)
}

/// `{account: A, subject: S}` of an import: (account, subject).
fn parse_import_account(
    m: &crate::config::conf::Map,
    errors: &mut Vec<ConfigIssue>,
) -> Result<(String, String), ConfigIssue> {
    let (mut account, mut subject) = (String::new(), String::new());
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "account" => account = expect(v, v.as_str(), "string")?.to_string(),
            "subject" => subject = expect(v, v.as_str(), "string")?.to_string(),
            _ if v.used_variable => {}
            _ => errors.push(unknown(v, k)),
        }
    }
    Ok((account, subject))
}

fn parse_import(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Option<ImportConfig>, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(error(
            v,
            format!(
                "Import Items should be a map with type entry, got {}",
                v.go_type()
            ),
        ));
    };
    let mut im = ImportConfig::default();
    let (mut stream, mut service) = (false, false);
    let mut trace_at: Option<&Value> = None;
    for (k, mv) in m.iter() {
        match k.to_lowercase().as_str() {
            kind @ ("stream" | "service") => {
                let is_service = kind == "service";
                if is_service && stream {
                    errors.push(error(mv, "Detected service but already saw a stream"));
                    continue;
                }
                if !is_service && service {
                    errors.push(error(mv, "Detected stream but already saw a service"));
                    continue;
                }
                if is_service {
                    if let Some(at) = trace_at {
                        errors.push(error(at, "Detected allow_trace directive on a non-stream"));
                        continue;
                    }
                }
                let Some(am) = mv.as_map() else {
                    let what = if is_service { "Service" } else { "Stream" };
                    errors.push(error(
                        mv,
                        format!(
                            "{what} entry should be an account map, got {}",
                            mv.go_type()
                        ),
                    ));
                    continue;
                };
                let (account, subject) = parse_import_account(am, errors)?;
                if account.is_empty() || subject.is_empty() {
                    errors.push(error(mv, "Expect an account name and a subject"));
                    continue;
                }
                im.account = account;
                im.subject = subject;
                if is_service {
                    service = true;
                } else {
                    stream = true;
                }
            }
            "prefix" => {
                im.prefix = expect(mv, mv.as_str(), "string")?.to_string();
            }
            "to" => {
                im.to = expect(mv, mv.as_str(), "string")?.to_string();
                if stream && !im.prefix.is_empty() {
                    errors.push(error(
                        mv,
                        "Stream import can not have a 'prefix' and a 'to' property",
                    ));
                    continue;
                }
            }
            "share" => im.share = expect(mv, mv.as_bool(), "bool")?,
            "allow_trace" => {
                if service {
                    errors.push(error(mv, "Detected allow_trace directive on a non-stream"));
                    continue;
                }
                im.allow_trace = expect(mv, mv.as_bool(), "bool")?;
                trace_at = Some(mv);
            }
            _ if mv.used_variable => {}
            _ => errors.push(unknown(mv, k)),
        }
    }
    if !stream && !service {
        return Ok(None);
    }
    im.service = service;
    if service {
        if im.to.is_empty() {
            im.to = im.subject.clone();
        }
        im.prefix.clear();
        im.allow_trace = false;
    } else {
        im.share = false;
    }
    Ok(Some(im))
}

/// Checks the exports and imports of `accounts` the way Go sets them up once every
/// account is read: accounts named must exist, imports must be authorized, prefixes
/// literal, no cycles. Each refusal is reported at `at` (the `accounts` block).
pub fn check_imports_exports(
    accounts: &[AccountConfig],
    no_system_account: bool,
    at: &Value,
) -> Vec<ConfigIssue> {
    if accounts
        .iter()
        .all(|a| a.exports.is_empty() && a.imports.is_empty())
    {
        return Vec::new();
    }
    let by_name: BTreeMap<String, Arc<Account>> = accounts
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                Arc::new(Account::new(&a.name, &a.nkey, false)),
            )
        })
        .collect();
    apply_configured(&by_name, accounts, no_system_account)
        .into_iter()
        .map(|e| error(at, e))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::file::apply_config_string;
    use crate::config::Options;

    fn load(conf: &str) -> Result<Options, String> {
        let mut o = Options::default();
        apply_config_string(&mut o, conf)
            .map(|_| o)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn exports_and_imports_are_parsed() {
        let o = load(
            "accounts { A { exports: [{stream: \"foo.>\"}, {service: \"req.*\", response_type: stream, response_threshold: \"5s\", accounts: [B]}] }\n\
             B { imports: [{stream: {account: A, subject: \"foo.>\"}, prefix: imp}, {service: {account: A, subject: \"req.x\"}, to: \"x\"}] } }",
        )
        .unwrap();
        let a = &o.accounts.iter().find(|a| a.name == "A").unwrap();
        assert_eq!(a.exports.len(), 2);
        let svc = a.exports.iter().find(|e| e.service).unwrap();
        assert_eq!(svc.accounts.as_deref(), Some(&["B".to_string()][..]));
        assert_eq!(
            svc.response_threshold,
            Some(std::time::Duration::from_secs(5))
        );
        let b = &o.accounts.iter().find(|a| a.name == "B").unwrap();
        assert_eq!(b.imports[0].prefix, "imp");
        assert_eq!(b.imports[1].to, "x");
    }

    #[test]
    fn refusals_have_go_texts() {
        for (conf, want) in [
            (
                "accounts { A { imports: [{stream: {account: B, subject: foo}}] } }",
                "\"B\" account not defined for stream import",
            ),
            (
                "accounts { A {}, B { imports: [{stream: {account: A, subject: foo}}] } }",
                "Error adding stream import \"foo\": stream import not authorized",
            ),
            (
                "accounts { A { exports: [{stream: \"c.>\"}] }, B { imports: [{stream: {account: A, subject: \"c.>\"}, prefix: \"e.>\"}] } }",
                "stream import prefix can not contain wildcard tokens",
            ),
            (
                "accounts { A { exports: [{service: foo, wat: true}] } }",
                "unknown field \"wat\"",
            ),
            (
                "accounts { A { exports: [{stream: foo, response_type: stream}] } }",
                "Detected response directive on non-service",
            ),
            (
                "accounts { A { exports: [{service: foo, response_type: bogus}] } }",
                "Unknown response type: \"bogus\"",
            ),
            (
                "accounts { A { imports: [{service: {account: A}}] } }",
                "Expect an account name and a subject",
            ),
        ] {
            let e = load(conf).unwrap_err();
            assert!(e.contains(want), "{conf}: {e}");
        }
    }
}
