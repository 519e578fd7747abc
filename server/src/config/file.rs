//! Options from a configuration file (nats-server's `ProcessConfigFile` and
//! `processConfigFileLine`): each top-level key is mapped onto [`Options`], with the
//! reference's validation and error texts, and every problem is reported with the file,
//! line and column of its key.
//!
//! Keys of features natsd does not have yet (accounts, TLS, clustering, ...) are
//! recognised and reported as errors, never ignored. Unknown keys are errors too, as in
//! nats-server, unless the key is a variable that a `$reference` used.

use super::cli::go_quote;
use super::conf::duration::{format_duration, parse_duration, to_std, SECOND};
use super::conf::{self, Kind, Map, Pos, Value};
use super::options::{self, Options};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One problem in a configuration file, printed as nats-server prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where (the key's position); `None` for problems of the whole file.
    pub pos: Option<Pos>,
    pub kind: IssueKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// A bad value: `file:line:col: reason`.
    Error(String),
    /// A key nats-server does not know: `file:line:col: unknown field "key"`.
    UnknownField(String),
    /// An accepted but deprecated form:
    /// `file:line:col: invalid use of field "key": reason`.
    Warning { field: String, reason: String },
}

impl ConfigIssue {
    fn error(pos: &Pos, reason: impl Into<String>) -> ConfigIssue {
        ConfigIssue {
            pos: Some(pos.clone()),
            kind: IssueKind::Error(reason.into()),
        }
    }

    /// The reason without the position.
    pub fn reason(&self) -> String {
        match &self.kind {
            IssueKind::Error(r) => r.clone(),
            IssueKind::UnknownField(f) => format!("unknown field {}", go_quote(f)),
            IssueKind::Warning { field, reason } => {
                format!("invalid use of field {}: {reason}", go_quote(field))
            }
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(p) => write!(f, "{p}: {}", self.reason()),
            None => f.write_str(&self.reason()),
        }
    }
}

/// Everything wrong with a configuration: warnings first, then errors, one per line
/// (nats-server's `processConfigErr`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigIssue>,
    pub warnings: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in self.warnings.iter().chain(&self.errors) {
            writeln!(f, "{w}")?;
        }
        Ok(())
    }
}

/// Why a configuration file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFileError {
    /// Unreadable or not valid configuration syntax.
    Parse(conf::ParseError),
    /// Parsed, but some values are wrong (or there are only warnings, when that matters).
    Invalid(ConfigErrors),
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Parse(e) => write!(f, "{e}"),
            ConfigFileError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ConfigFileError {}

/// Loads `path` into `opts` (on top of what `opts` holds, like nats-server's
/// `Options.ProcessConfigFile`): sets `config_file` and `config_digest`. Returns the
/// warnings when there are no errors; the caller decides whether warnings matter (`-t`
/// fails on them, a normal start prints them and goes on).
pub fn apply_config_file(
    opts: &mut Options,
    path: &str,
) -> Result<Vec<ConfigIssue>, ConfigFileError> {
    opts.config_file = (!path.is_empty()).then(|| PathBuf::from(path));
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let (m, digest) = conf::parse_file_with_checks_digest(path).map_err(ConfigFileError::Parse)?;
    opts.config_digest = digest;
    apply_tree(opts, path, &m)
}

/// Loads `path` into default options (nats-server's `ProcessConfigFile`); warnings alone
/// do not fail.
pub fn process_config_file(path: &str) -> Result<Options, ConfigFileError> {
    // Go starts from zero-valued options here: timestamps are on by default only through
    // the command line's `-T`, so a file without `logtime` logs without them.
    let mut opts = Options {
        logtime: false,
        ..Options::default()
    };
    apply_config_file(&mut opts, path)?;
    Ok(opts)
}

/// Loads configuration text into `opts` (nats-server's `ProcessConfigString`).
pub fn apply_config_string(
    opts: &mut Options,
    data: &str,
) -> Result<Vec<ConfigIssue>, ConfigFileError> {
    let m = conf::parse_with_checks(data).map_err(ConfigFileError::Parse)?;
    apply_tree(opts, "", &m)
}

/// Applies a parsed tree; errors and warnings are collected over all keys.
fn apply_tree(
    opts: &mut Options,
    path: &str,
    m: &Map,
) -> Result<Vec<ConfigIssue>, ConfigFileError> {
    let mut out = ConfigErrors::default();
    if m.is_empty() {
        out.warnings.push(ConfigIssue {
            pos: None,
            kind: IssueKind::Error(format!("{path}: config has no values or is empty")),
        });
    }
    for (k, v) in m.iter() {
        apply_key(opts, k, v, &mut out);
    }
    // The accounts a callout may place users in must be configured (checked once all
    // keys are read, as Go does).
    if let Some(ac) = &opts.auth_callout {
        for acc in &ac.allowed_accounts {
            if !opts.accounts.iter().any(|a| &a.name == acc) {
                out.errors.push(ConfigIssue {
                    pos: None,
                    kind: IssueKind::Error(format!(
                        "auth_callout allowed account {} not found in configured accounts",
                        go_quote(acc)
                    )),
                });
            }
        }
    }
    if out.errors.is_empty() {
        Ok(out.warnings)
    } else {
        Err(ConfigFileError::Invalid(out))
    }
}

/// A value of the wrong type, worded like the Go runtime's failed type assertion.
fn wrong_type(v: &Value, want: &str) -> ConfigIssue {
    ConfigIssue::error(
        &v.pos,
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            v.go_type()
        ),
    )
}

fn want_str(v: &Value) -> Result<&str, ConfigIssue> {
    v.as_str().ok_or_else(|| wrong_type(v, "string"))
}

fn want_i64(v: &Value) -> Result<i64, ConfigIssue> {
    v.as_i64().ok_or_else(|| wrong_type(v, "int64"))
}

fn want_bool(v: &Value) -> Result<bool, ConfigIssue> {
    v.as_bool().ok_or_else(|| wrong_type(v, "bool"))
}

fn path_or_none(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// Go's `int` to our narrower fields: saturate.
fn to_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

/// Features natsd does not have yet, by the top-level keys that configure them.
fn unsupported_feature(key: &str) -> Option<&'static str> {
    Some(match key {
        "default_sentinel" => "authorization (JWT sentinel)",
        "default_js_domain" => "accounts",
        "operator"
        | "operators"
        | "roots"
        | "root"
        | "root_operators"
        | "root_operator"
        | "resolver"
        | "account_resolver"
        | "accounts_resolver"
        | "resolver_tls"
        | "resolver_preload"
        | "resolver_pinned_accounts" => "operator mode (JWT)",
        "ocsp" | "ocsp_cache" => "OCSP",
        "cluster" => "clustering",
        "gateway" => "gateways",
        "leaf" | "leafnodes" => "leafnodes",
        "websocket" | "ws" => "websocket",
        "mqtt" => "MQTT",
        "write_timeout" => "write timeout policies",
        "no_fast_producer_stall" => "fast producer stalls",
        "prof_block_rate" => "profiling",
        _ => return None,
    })
}

/// One top-level key (nats-server's `processConfigFileLine`); keys match in any case.
fn apply_key(o: &mut Options, k: &str, v: &Value, out: &mut ConfigErrors) {
    if let Err(e) = apply_key_inner(o, k, v, out) {
        out.errors.push(e);
    }
}

fn apply_key_inner(
    o: &mut Options,
    k: &str,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    let key = k.to_lowercase();
    match key.as_str() {
        "listen" => {
            let (host, port) = parse_listen(v)?;
            o.host = host_or_default(&host);
            o.port = port;
        }
        "client_advertise" => o.client_advertise = want_str(v)?.to_string(),
        // natsd reads 0 as the default port and -1 as random, like nats-server.
        "port" => o.port = to_i32(want_i64(v)?),
        "server_name" => {
            let sn = want_str(v)?;
            if sn.contains(' ') {
                return Err(ConfigIssue::error(
                    &v.pos,
                    "server name cannot contain spaces",
                ));
            }
            o.server_name = sn.to_string();
        }
        "host" | "net" => o.host = host_or_default(want_str(v)?),
        "no_auth_user" => o.no_auth_user = want_str(v)?.to_string(),
        "debug" => o.debug = want_bool(v)?,
        "trace" => o.trace = want_bool(v)?,
        "trace_verbose" => {
            let b = want_bool(v)?;
            o.trace_verbose = b;
            o.trace = b;
        }
        "logtime" => o.logtime = want_bool(v)?,
        "logtime_utc" => o.logtime_utc = want_bool(v)?,
        "disable_sublist_cache" | "no_sublist_cache" => o.no_sublist_cache = want_bool(v)?,
        "proxy_protocol" => o.proxy_protocol = want_bool(v)?,
        "http" => {
            let (host, port) = parse_listen(v)?;
            o.http_host = host;
            o.http_port = port;
        }
        "https" => {
            let (host, port) = parse_listen(v)?;
            o.http_host = host;
            o.https_port = port;
        }
        "http_port" | "monitor_port" => o.http_port = to_i32(want_i64(v)?),
        "http_base_path" => o.http_base_path = want_str(v)?.to_string(),
        "authorization" => apply_authorization(o, v, out)?,
        "proxies" => match crate::auth::conf::parse_proxies(v, &mut out.errors) {
            Ok(p) => o.proxies = Some(p),
            Err(e) => out.errors.push(e),
        },
        "tls" => super::tls_block::apply_tls_block(o, v)
            .map_err(|(pos, e)| ConfigIssue::error(&pos, e))?,
        "allow_non_tls" => o.allow_non_tls = want_bool(v)?,
        "accounts" => super::accounts::apply_accounts(o, v, out),
        "mappings" | "maps" => o.mappings = super::mappings::parse_mappings(v, &mut out.errors),
        "system_account" | "system" => super::accounts::apply_system_account(o, v)?,
        "no_system_account" | "no_system" | "no_sys_acc" => o.no_system_account = want_bool(v)?,
        "server_tags" => apply_server_tags(o, v)?,
        "server_metadata" => {
            let m = v.as_map().ok_or_else(|| {
                ConfigIssue::error(
                    &v.pos,
                    format!("error parsing metadata: unsupported type {}", v.go_type()),
                )
            })?;
            for (mk, mv) in m.iter() {
                o.metadata.insert(mk.to_string(), want_str(mv)?.to_string());
            }
        }
        "feature_flags" => {
            let m = v.as_map().ok_or_else(|| {
                ConfigIssue::error(
                    &v.pos,
                    format!(
                        "error parsing feature flags: unsupported type {}",
                        v.go_type()
                    ),
                )
            })?;
            for (mk, mv) in m.iter() {
                let b = mv.as_bool().ok_or_else(|| {
                    ConfigIssue::error(
                        &mv.pos,
                        format!(
                            "error parsing feature flag {}: expected bool, got {}",
                            go_quote(mk),
                            mv.go_type()
                        ),
                    )
                })?;
                o.feature_flags.insert(mk.to_string(), b);
            }
        }
        "https_port" => o.https_port = to_i32(want_i64(v)?),
        "store_dir" | "storedir" => {
            if o.store_dir.is_some() {
                return Err(ConfigIssue::error(
                    &v.pos,
                    "Duplicate 'store_dir' configuration",
                ));
            }
            o.store_dir = path_or_none(want_str(v)?);
        }
        "jetstream" => super::jetstream::parse::apply_jetstream(o, v, out)?,
        "logfile" | "log_file" => o.log_file = path_or_none(want_str(v)?),
        "logfile_size_limit" | "log_size_limit" => o.log_size_limit = want_i64(v)?,
        "logfile_max_num" | "log_max_num" => o.log_max_files = want_i64(v)?,
        "syslog" => o.syslog = want_bool(v)?,
        "remote_syslog" => o.remote_syslog = want_str(v)?.to_string(),
        "pidfile" | "pid_file" => o.pid_file = path_or_none(want_str(v)?),
        "ports_file_dir" => o.ports_file_dir = path_or_none(want_str(v)?),
        "prof_port" => o.prof_port = to_i32(want_i64(v)?),
        "max_control_line" => {
            let n = want_i64(v)?;
            if n > i64::from(i32::MAX) {
                return Err(ConfigIssue::error(&v.pos, format!("{k} value is too big")));
            }
            // Like Go's int32 conversion; 0 means the default.
            o.max_control_line = match n as i32 {
                0 => options::MAX_CONTROL_LINE as i32,
                n => n,
            };
        }
        "max_payload" => {
            let n = want_i64(v)?;
            if n > i64::from(i32::MAX) {
                return Err(ConfigIssue::error(&v.pos, format!("{k} value is too big")));
            }
            o.max_payload = match n as i32 {
                0 => options::MAX_PAYLOAD as i32,
                n => n,
            };
        }
        "write_timeout" => {
            o.write_timeout = options::WriteTimeoutPolicy::parse(want_str(v)?).ok_or_else(|| {
                ConfigIssue::error(
                    &v.pos,
                    "write_timeout must be 'default', 'close' or 'retry'",
                )
            })?
        }
        "max_pending" => {
            o.max_pending = match want_i64(v)? {
                0 => options::MAX_PENDING as i64,
                n => n,
            }
        }
        // 0 means "no connections allowed" (-1); the default is only used when unset.
        "max_connections" | "max_conn" => {
            o.max_connections = match want_i64(v)? {
                0 => -1,
                n => n,
            }
        }
        "max_traced_msg_len" => o.max_traced_msg_len = to_usize(want_i64(v)?),
        "trace_headers" => o.trace_headers = want_bool(v)?,
        "max_subscriptions" | "max_subs" => o.max_subs = want_i64(v)?,
        "trusted" | "trusted_keys" => {
            let keys = crate::auth::conf::parse_string_array("trusted", v, &mut out.errors)
                .unwrap_or_default();
            for key in &keys {
                // Operator keys have the prefix byte 14 << 3 ('O').
                if nkeys::from_public_key(key).ok().map(|(p, _)| p) != Some(14 << 3) {
                    out.errors.push(ConfigIssue::error(
                        &v.pos,
                        format!(
                            "trust key {} required to be a valid public operator nkey",
                            go_quote(key)
                        ),
                    ));
                }
            }
            o.trusted_keys = keys;
        }
        "max_sub_tokens" | "max_subscription_tokens" => {
            let n = want_i64(v)?;
            o.max_sub_tokens = match u8::try_from(n) {
                Err(_) if n > 0 => {
                    return Err(ConfigIssue::error(&v.pos, format!("{k} value is too big")))
                }
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(ConfigIssue::error(
                        &v.pos,
                        format!("{k} value can not be negative"),
                    ))
                }
            };
        }
        "ping_interval" => {
            let d = parse_duration_value("ping_interval", v, out)?;
            o.ping_interval = if d == 0 {
                options::DEFAULT_PING_INTERVAL
            } else {
                to_std(d)
            };
        }
        "ping_max" => {
            o.max_pings_out = match want_i64(v)? {
                0 => options::DEFAULT_PING_MAX_OUT,
                n => u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX }),
            }
        }
        "write_deadline" => {
            let d = parse_duration_value("write_deadline", v, out)?;
            o.write_deadline = if d == 0 {
                options::DEFAULT_WRITE_DEADLINE
            } else {
                to_std(d)
            };
        }
        "lame_duck_duration" => {
            let d = parse_duration(want_str(v)?).map_err(|e| {
                ConfigIssue::error(&v.pos, format!("error parsing lame_duck_duration: {e}"))
            })?;
            if d < 30 * SECOND {
                return Err(ConfigIssue::error(
                    &v.pos,
                    format!(
                        "invalid lame_duck_duration of {}, minimum is 30 seconds",
                        format_duration(d)
                    ),
                ));
            }
            o.lame_duck_duration = to_std(d);
        }
        "lame_duck_grace_period" => {
            let d = parse_duration(want_str(v)?).map_err(|e| {
                ConfigIssue::error(&v.pos, format!("error parsing lame_duck_grace_period: {e}"))
            })?;
            if d < 0 {
                return Err(ConfigIssue::error(
                    &v.pos,
                    "invalid lame_duck_grace_period, needs to be positive",
                ));
            }
            o.lame_duck_grace_period = if d == 0 {
                options::DEFAULT_LAME_DUCK_GRACE_PERIOD
            } else {
                to_std(d)
            };
        }
        "no_header_support" => o.no_header_support = want_bool(v)?,
        "connect_error_reports" => {
            o.connect_error_reports = match want_i64(v)? {
                0 => options::DEFAULT_CONNECT_ERROR_REPORTS,
                n => n,
            }
        }
        "reconnect_error_reports" => {
            o.reconnect_error_reports = match want_i64(v)? {
                0 => options::DEFAULT_RECONNECT_ERROR_REPORTS,
                n => n,
            }
        }
        "max_closed_clients" => {
            o.max_closed_clients = match want_i64(v)? {
                0 => options::DEFAULT_MAX_CLOSED_CLIENTS,
                n => to_usize(n),
            }
        }
        other => {
            if let Some(feature) = unsupported_feature(other) {
                return Err(not_supported(k, v, feature));
            }
            // A top-level key that only serves as a variable is fine.
            if !v.used_variable {
                out.errors.push(ConfigIssue {
                    pos: Some(v.pos.clone()),
                    kind: IssueKind::UnknownField(k.to_string()),
                });
            }
        }
    }
    Ok(())
}

/// The `authorization` block: single user, password, token, timeout, users (with
/// passwords or nkeys) and permissions (parsed in `crate::auth::conf`); callouts are not
/// supported yet.
fn apply_authorization(
    o: &mut Options,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<(), ConfigIssue> {
    let m = v
        .as_map()
        .ok_or_else(|| wrong_type(v, "map[string]interface {}"))?;
    let (mut user, mut pass, mut token) = (String::new(), String::new(), String::new());
    let mut timeout = 0f64;
    let (mut users, mut nkeys, mut default_perms) = (Vec::new(), Vec::new(), None);
    let mut proxy_required = false;
    for (mk, mv) in m.iter() {
        match mk.to_lowercase().as_str() {
            "user" | "username" => user = want_str(mv)?.to_string(),
            "pass" | "password" => pass = want_str(mv)?.to_string(),
            "token" => token = want_str(mv)?.to_string(),
            "timeout" => {
                timeout = match &mv.kind {
                    Kind::Integer(i) => *i as f64,
                    Kind::Float(f) => *f,
                    Kind::String(s) => {
                        let d = parse_duration(s).map_err(|e| {
                            ConfigIssue::error(
                                &mv.pos,
                                format!("error parsing authorization config, 'timeout' {e}"),
                            )
                        })?;
                        d as f64 / SECOND as f64
                    }
                    _ => {
                        return Err(ConfigIssue::error(
                            &mv.pos,
                            "error parsing authorization config, 'timeout' wrong type",
                        ))
                    }
                };
                if timeout > 60.0 {
                    let shown = match &mv.kind {
                        Kind::Integer(i) => i.to_string(),
                        Kind::Float(f) => f.to_string(),
                        Kind::String(s) => s.clone(),
                        _ => String::new(),
                    };
                    out.warnings.push(ConfigIssue {
                        pos: Some(mv.pos.clone()),
                        kind: IssueKind::Warning {
                            field: mk.to_string(),
                            reason: format!(
                                "timeout of {shown} ({timeout:.6} seconds) is high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example"
                            ),
                        },
                    });
                }
            }
            "users" => match crate::auth::conf::parse_users(mv, &mut out.errors) {
                Ok((n, u)) => (nkeys, users) = (n, u),
                Err(e) => out.errors.push(e),
            },
            "default_permission" | "default_permissions" | "permissions" => {
                match crate::auth::conf::parse_permissions(mv, &mut out.errors) {
                    Ok(p) => default_perms = Some(p),
                    Err(e) => out.errors.push(e),
                }
            }
            "proxy_required" => proxy_required = crate::auth::conf::bool_of(mv)?,
            "auth_callout" | "auth_hook" => {
                match crate::auth::conf::parse_auth_callout(mv, &mut out.errors) {
                    Ok(ac) => o.auth_callout = Some(ac),
                    Err(e) => out.errors.push(e),
                }
            }
            _ => {
                if !mv.used_variable {
                    out.errors.push(ConfigIssue {
                        pos: Some(mv.pos.clone()),
                        kind: IssueKind::UnknownField(mk.to_string()),
                    });
                }
            }
        }
    }
    if (!user.is_empty() || !pass.is_empty()) && !token.is_empty() {
        return Err(ConfigIssue::error(
            &v.pos,
            "Cannot have a user/pass and token",
        ));
    }
    if (!users.is_empty() || !nkeys.is_empty()) && !token.is_empty() {
        return Err(ConfigIssue::error(
            &v.pos,
            "Can not have a token and a users array",
        ));
    }
    crate::auth::conf::fill_default_permissions(&mut users, &mut nkeys, default_perms.as_ref());
    super::accounts::merge_authorization_users(o, users, nkeys, &user, &token, v)?;
    o.auth_block_defined = true;
    o.default_permissions = default_perms;
    o.username = user;
    o.password = pass;
    o.authorization = token;
    o.proxy_required = proxy_required;
    if timeout > 0.0 {
        o.auth_timeout = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX);
    }
    Ok(())
}

/// `server_tags`: a string or a list of strings, kept trimmed, lower-cased and unique
/// (the reference's `TagList.Add`).
fn apply_server_tags(o: &mut Options, v: &Value) -> Result<(), ConfigIssue> {
    let mut add = |t: &str| {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !o.tags.contains(&t) {
            o.tags.push(t);
        }
    };
    match &v.kind {
        Kind::String(s) => add(s),
        Kind::Array(items) => {
            for item in items {
                // The reference prints the type of its wrapper here, not of the value.
                let s = item.as_str().ok_or_else(|| {
                    ConfigIssue::error(
                        &v.pos,
                        "error parsing tags: unsupported type *conf.token where string is expected",
                    )
                })?;
                add(s);
            }
        }
        _ => {
            return Err(ConfigIssue::error(
                &v.pos,
                format!("error parsing tags: unsupported type {}", v.go_type()),
            ))
        }
    }
    Ok(())
}

fn not_supported(k: &str, v: &Value, feature: &str) -> ConfigIssue {
    ConfigIssue::error(
        &v.pos,
        format!("{} is not supported yet ({feature})", go_quote(k)),
    )
}

fn host_or_default(h: &str) -> String {
    if h.is_empty() {
        options::DEFAULT_HOST.to_string()
    } else {
        h.to_string()
    }
}

/// A duration given as a string (`"2m"`), or, deprecated, as a number of seconds (a
/// warning).
fn parse_duration_value(
    field: &str,
    v: &Value,
    out: &mut ConfigErrors,
) -> Result<i64, ConfigIssue> {
    if let Some(s) = v.as_str() {
        return parse_duration(s)
            .map_err(|e| ConfigIssue::error(&v.pos, format!("error parsing {field}: {e}")));
    }
    // The warning comes first: a value that is not a number then fails as well.
    out.warnings.push(ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Warning {
            field: field.to_string(),
            reason: format!("{field} should be converted to a duration"),
        },
    });
    Ok(want_i64(v)?.wrapping_mul(SECOND))
}

/// `listen`-style values: a port, or `host:port` (nats-server's `parseListen`).
fn parse_listen(v: &Value) -> Result<(String, i32), ConfigIssue> {
    match &v.kind {
        Kind::Integer(p) => Ok((String::new(), to_i32(*p))),
        Kind::String(s) => {
            let (host, port) = split_host_port(s).ok_or_else(|| {
                ConfigIssue::error(
                    &v.pos,
                    format!("could not parse address string {}", go_quote(s)),
                )
            })?;
            let port: i64 = go_atoi(port).ok_or_else(|| {
                ConfigIssue::error(&v.pos, format!("could not parse port {}", go_quote(port)))
            })?;
            Ok((host.to_string(), to_i32(port)))
        }
        _ => Err(ConfigIssue::error(
            &v.pos,
            format!("expected port or host:port, got {}", v.go_type()),
        )),
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, 64-bit range.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `net.SplitHostPort`; `None` where it fails.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn load(text: &str) -> Result<(Options, Vec<ConfigIssue>), ConfigFileError> {
        let mut o = Options::default();
        let w = apply_config_string(&mut o, text)?;
        Ok((o, w))
    }

    #[test]
    fn process_config_file_starts_without_log_timestamps() {
        let path = std::env::temp_dir().join(format!("natsd-logtime-{}.conf", std::process::id()));
        std::fs::write(&path, "port: -1\n").expect("write conf");
        let o = process_config_file(&path.to_string_lossy()).expect("loads");
        assert!(!o.logtime);
        std::fs::write(&path, "logtime: true\n").expect("write conf");
        let o = process_config_file(&path.to_string_lossy()).expect("loads");
        assert!(o.logtime);
        let _ = std::fs::remove_file(&path);
    }

    fn errors_of(text: &str) -> Vec<String> {
        match load(text) {
            Err(ConfigFileError::Invalid(e)) => e.errors.iter().map(|e| e.to_string()).collect(),
            other => panic!("expected errors, got {other:?}"),
        }
    }

    #[test]
    fn users_connection_types_and_proxies() {
        let key = "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3";
        let (o, _) = load(&format!(
            "authorization {{ users [\n\
               {{user: a, password: p, allowed_connection_types: [\"websocket\", STANDARD]}}\n\
               {{user: b, password: p, proxy_required: true}}\n\
               {{nkey: {key}, clients: in_process, proxy_required: true}}\n\
             ] }}\nproxies {{ trusted [ {{key: {key}}} ] }}\n"
        ))
        .expect("loads");
        let types: Vec<&str> = o.users[0]
            .allowed_connection_types
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(types, ["STANDARD", "WEBSOCKET"]);
        assert!(!o.users[0].proxy_required && o.users[1].proxy_required);
        assert!(o.nkeys[0].proxy_required);
        assert!(o.nkeys[0].allowed_connection_types.contains("IN_PROCESS"));
        assert_eq!(o.proxies.expect("proxies").trusted, [key]);
        let (o, _) =
            load("authorization { user: u, password: p, proxy_required: true }").expect("loads");
        assert!(o.proxy_required);
        let e = errors_of(
            "authorization { users [ {user: a, password: p, allowed_connection_types: [ \"UNKNOWN\" ]} ] }",
        );
        assert!(
            e[0].ends_with(r#"invalid connection types ["UNKNOWN"]"#),
            "{e:?}"
        );
        let e = errors_of(
            "authorization { users [ {user: a, password: p, allowed_connection_types: 123} ] }",
        );
        assert!(
            e[0].ends_with("error parsing allowed connection types: unsupported type int64"),
            "{e:?}"
        );
        let e = errors_of("proxies { trusted [ {key: bad} ] }");
        assert!(e[0].ends_with(r#"invalid proxy key "bad""#), "{e:?}");
        let e = errors_of("proxies { trusted: 1 }");
        assert!(
            e[0].ends_with("expected proxies' trusted field to be an array, got int64"),
            "{e:?}"
        );
    }

    #[test]
    fn auth_callout_is_read_and_checked_but_not_run() {
        let issuer = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
        let (o, _) = load(&format!(
            "accounts {{ AUTH {{ users = [ {{user: auth, password: auth}} ] }} }}\n\
             authorization {{ auth_callout {{ issuer: {issuer}, account: AUTH, auth_users: [ auth ], allowed_accounts: [ AUTH ] }} }}"
        ))
        .expect("loads");
        let ac = o.auth_callout.clone().expect("callout");
        assert_eq!(ac.issuer, issuer);
        assert_eq!(ac.account, "AUTH");
        assert_eq!(ac.auth_users, ["auth"]);
        assert_eq!(ac.allowed_accounts, ["AUTH"]);
        // A server does not start with a callout it cannot run.
        assert_eq!(
            crate::server::validate_options(&o),
            Err("authorization callouts (auth_callout) are not supported yet".into())
        );
        let e = errors_of("authorization { auth_callout { issuer: bad, auth_users: [a] } }");
        assert!(
            e[0].ends_with(r#"Expected callout user to be a valid public account nkey, got "bad""#),
            "{e:?}"
        );
        let e = errors_of(&format!(
            "authorization {{ auth_callout {{ issuer: {issuer} }} }}"
        ));
        assert!(
            e[0].ends_with("Authorization callouts require authorized users to be specified"),
            "{e:?}"
        );
        let e = errors_of("authorization { auth_callout { auth_users: [a] } }");
        assert!(
            e[0].ends_with("Authorization callouts require an issuer to be specified"),
            "{e:?}"
        );
        let e = errors_of(&format!(
            "authorization {{ auth_callout {{ issuer: {issuer}, auth_users: [a], xkey: {issuer} }} }}"
        ));
        assert!(
            e[0].contains("Expected callout xkey to be a valid public xkey"),
            "{e:?}"
        );
    }

    #[test]
    fn max_sub_tokens() {
        let (o, _) = load("max_sub_tokens: 4").expect("loads");
        assert_eq!(o.max_sub_tokens, 4);
        let (o, _) = load("max_subscription_tokens: 255").expect("loads");
        assert_eq!(o.max_sub_tokens, 255);
        let e = errors_of("max_sub_tokens: 256");
        assert!(e[0].ends_with("max_sub_tokens value is too big"), "{e:?}");
        let e = errors_of("max_sub_tokens: 0");
        assert!(
            e[0].ends_with("max_sub_tokens value can not be negative"),
            "{e:?}"
        );
    }

    #[test]
    fn trusted_keys_are_read_and_checked_but_not_run() {
        let key = "OBYEOZQ46VZMFMNETBAW2H6VGDSOBLP67VUEZJ5LPR3PIZBWWRIY4UI4";
        let (o, _) = load(&format!("trusted_keys: [{key}]")).expect("loads");
        assert_eq!(o.trusted_keys, [key]);
        assert_eq!(
            crate::server::validate_options(&o),
            Err("operator mode (trusted keys) is not supported yet".into())
        );
        let e = errors_of("trusted = UD6AYQSOIN2IN5OGC6VQZCR4H3UFMIOXSW6NNS6N53CLJA4PB56CEJJI");
        assert!(
            e[0].ends_with(
                "trust key \"UD6AYQSOIN2IN5OGC6VQZCR4H3UFMIOXSW6NNS6N53CLJA4PB56CEJJI\" required to be a valid public operator nkey"
            ),
            "{e:?}"
        );
        let e = errors_of("trusted = 1");
        assert!(
            e[0].ends_with("error parsing trusted: unsupported type int64"),
            "{e:?}"
        );
    }

    #[test]
    fn maps_known_keys() {
        let (o, w) = load(
            "listen: 10.0.0.1:4333\nserver_name: n1\ndebug: true\ntrace_verbose: yes\n\
             max_payload: 2MB\nmax_pending: 64MB\nmax_connections: 0\nping_interval: \"30s\"\n\
             write_deadline: \"3s\"\nlame_duck_duration: \"1m\"\nlame_duck_grace_period: \"5s\"\n\
             logfile: /tmp/x.log\nhttp: 127.0.0.1:8222\nno_header_support: true\n",
        )
        .expect("loads");
        assert!(w.is_empty());
        assert_eq!((o.host.as_str(), o.port), ("10.0.0.1", 4333));
        assert_eq!(o.server_name, "n1");
        assert!(o.debug && o.trace && o.trace_verbose);
        assert_eq!(o.max_payload, 2 * 1024 * 1024);
        assert_eq!(o.max_connections, -1);
        assert_eq!(o.ping_interval, Duration::from_secs(30));
        assert_eq!(o.write_deadline, Duration::from_secs(3));
        assert_eq!(o.lame_duck_duration, Duration::from_secs(60));
        assert_eq!(o.lame_duck_grace_period, Duration::from_secs(5));
        assert_eq!(o.log_file, Some(PathBuf::from("/tmp/x.log")));
        assert_eq!((o.http_host.as_str(), o.http_port), ("127.0.0.1", 8222));
        assert!(o.no_header_support);
    }

    #[test]
    fn proxy_protocol_is_a_bool() {
        assert!(!Options::default().proxy_protocol);
        let (o, w) = load("proxy_protocol: true").expect("loads");
        assert!(o.proxy_protocol && w.is_empty());
        assert_eq!(
            errors_of("proxy_protocol: 1"),
            [":1:0: interface conversion: interface {} is int64, not bool"]
        );
    }

    #[test]
    fn ping_interval_in_seconds_is_a_warning() {
        let (o, w) = load("ping_interval: 5").expect("loads");
        assert_eq!(o.ping_interval, Duration::from_secs(5));
        assert_eq!(
            w[0].to_string(),
            ":1:0: invalid use of field \"ping_interval\": ping_interval should be converted to a duration"
        );
    }

    #[test]
    fn errors_point_at_keys() {
        assert_eq!(
            errors_of("port: 4222\n  max_payload: \"x\""),
            [":2:3: interface conversion: interface {} is string, not int64"]
        );
        assert_eq!(errors_of("foo: 1"), [":1:0: unknown field \"foo\""]);
        assert_eq!(
            errors_of("cluster { port: 6222 }"),
            [":1:0: \"cluster\" is not supported yet (clustering)"]
        );
        assert_eq!(
            errors_of("lame_duck_duration: \"10s\""),
            [":1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds"]
        );
        assert_eq!(
            errors_of("ping_interval: \"nope\""),
            [":1:0: error parsing ping_interval: time: invalid duration \"nope\""]
        );
        assert_eq!(
            errors_of("listen: \"a:b:c\""),
            [":1:0: could not parse address string \"a:b:c\""]
        );
        assert_eq!(
            errors_of("max_payload: 3GB"),
            [":1:0: max_payload value is too big"]
        );
    }

    #[test]
    fn a_duration_of_the_wrong_type_warns_then_fails() {
        match load("write_deadline: true") {
            Err(ConfigFileError::Invalid(e)) => {
                assert_eq!(e.warnings.len(), 1);
                assert_eq!(
                    e.to_string(),
                    ":1:0: invalid use of field \"write_deadline\": write_deadline should be converted to a duration\n\
                     :1:0: interface conversion: interface {} is bool, not int64\n"
                );
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn tags_metadata_and_feature_flags() {
        let (o, _) = load(
            "server_tags: [\" A \", b, a]\nserver_metadata { k1: v1 }\nfeature_flags { f: true }\nhttp_base_path: /nats",
        )
        .expect("loads");
        assert_eq!(o.tags, ["a", "b"]);
        assert_eq!(o.metadata.get("k1").map(String::as_str), Some("v1"));
        assert_eq!(o.feature_flags.get("f"), Some(&true));
        assert_eq!(o.http_base_path, "/nats");
        assert_eq!(
            errors_of("feature_flags { f: 1 }"),
            [":1:16: error parsing feature flag \"f\": expected bool, got int64"]
        );
        assert_eq!(
            errors_of("server_tags: [1, \"x\"]"),
            [":1:0: error parsing tags: unsupported type *conf.token where string is expected"]
        );
    }

    #[test]
    fn authorization_single_user() {
        let (o, _) =
            load("authorization { user: derek, password: porkchop, timeout: 1 }").expect("loads");
        assert_eq!(
            (o.username.as_str(), o.password.as_str()),
            ("derek", "porkchop")
        );
        assert_eq!(o.auth_timeout, Duration::from_secs(1));
        assert_eq!(
            errors_of("authorization { user: a, token: t }"),
            [":1:0: Cannot have a user/pass and token"]
        );
    }

    #[test]
    fn variables_are_not_unknown_fields() {
        let (o, _) = load("PORT_VAR = 4333\nport: $PORT_VAR").expect("loads");
        assert_eq!(o.port, 4333);
    }

    #[test]
    fn empty_config_warns() {
        let (_, w) = load("").expect("loads");
        assert_eq!(w[0].to_string(), ": config has no values or is empty");
    }
}
