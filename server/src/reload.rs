//! Configuration reload (SIGHUP, `--signal reload`): re-read the configuration file, apply
//! the command line over it again, and apply live what nats-server applies live. A change
//! nats-server refuses to apply live is refused with its error naming the option, and the
//! server keeps its current configuration.
//!
//! What is applied: logging and tracing, authentication and authorization (clients whose
//! credentials no longer hold are disconnected, others take their new permissions and lose
//! the subscriptions those no longer allow), accounts, connection limits, payload and
//! control line limits, PING settings, write deadline, TLS (new connections use the new
//! configuration), tags and metadata, pid and ports files.

use crate::client::Client;
use crate::closed::ClosedState;
use crate::config::Options;
use crate::server::ServerShared;
use std::sync::Arc;

/// Why a reload was refused; the text is what nats-server says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadError(pub String);

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReloadError {}

/// What a reload changes, in the order it is applied and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Logging(String),
    Auth(String),
    MaxConnections(i64),
    Limit(String),
    PidFile,
    /// The directory the ports file was in before.
    PortsFile(Option<std::path::PathBuf>),
    Info(String),
    Quiet,
    /// Trusted proxy keys removed and added.
    Proxies(Vec<String>, Vec<String>),
}

/// Re-reads the configuration file and applies it (nats-server's `Server.Reload`).
pub fn reload(s: &Arc<ServerShared>) -> Result<(), ReloadError> {
    let cur = s.opts();
    let Some(path) = cur.config_file.clone() else {
        return Err(ReloadError(
            "can only reload config when a file is provided using -c or --config".into(),
        ));
    };
    let mut new = Options::default();
    crate::config::file::apply_config_file(&mut new, &path.to_string_lossy())
        .map_err(|e| ReloadError(e.to_string().trim_end().to_string()))?;
    if let Some(flags) = s.command_line() {
        flags
            .apply(&mut new)
            .map_err(|e| ReloadError(e.message().to_string()))?;
    }
    reload_options(s, new)
}

/// Applies `new` over the server's current options (nats-server's `ReloadOptions`).
pub fn reload_options(s: &Arc<ServerShared>, mut new: Options) -> Result<(), ReloadError> {
    let mut cur = (*s.opts()).clone();
    // As in nats-server, the options in force name the port that was bound, and a random
    // port in the file keeps it.
    cur.port = bound_port(cur.port, s.client_addr().map(|a| a.port()));
    if new.port == crate::config::options::RANDOM_PORT {
        new.port = cur.port;
    } else if new.port == 0 {
        new.port = i32::from(crate::config::options::DEFAULT_PORT);
    }
    // Only used by tests and embedding: they are not in files.
    new.no_log = cur.no_log;
    new.no_sigs = cur.no_sigs;
    new.disable_short_first_ping = cur.disable_short_first_ping;
    new.check_config = cur.check_config;
    new.custom_client_authentication = cur.custom_client_authentication.clone();
    crate::server::validate_options(&new).map_err(ReloadError)?;
    crate::auth::normalize_connection_types(&mut new);
    let missing = crate::config::cli::unsupported_features(&new);
    if !missing.is_empty() {
        return Err(ReloadError(format!(
            "not supported yet: {}",
            missing.join(", ")
        )));
    }
    let changes = diff_options(&cur, &new)?;
    s.accounts.sync_with(&new);
    crate::events::accounts_changed(s);
    let new = Arc::new(new);
    s.set_opts(new.clone());
    apply(s, &new, &changes);
    s.monitor
        .set_config_load_time(crate::monitor::gotime::GoTime::now());
    let digest = if new.config_digest.is_empty() {
        String::new()
    } else {
        format!("({})", new.config_digest)
    };
    crate::notice!(s.logging, "Reloaded server configuration {digest}");
    Ok(())
}

/// The port the options in force name: the bound one when a random (or the default, 0)
/// port was asked for.
fn bound_port(configured: i32, bound: Option<u16>) -> i32 {
    match bound {
        Some(b) if configured == crate::config::options::RANDOM_PORT || configured == 0 => {
            i32::from(b)
        }
        _ => configured,
    }
}

/// Sets each option nats-server reloads live from `old` into `new`, so that what is left
/// different can only be something it refuses to reload.
fn mask_reloadable(new: &Options, old: &Options) -> Options {
    let mut m = new.clone();
    m.config_file = old.config_file.clone();
    m.config_digest = old.config_digest.clone();
    m.trace = old.trace;
    m.trace_verbose = old.trace_verbose;
    m.trace_headers = old.trace_headers;
    m.debug = old.debug;
    m.logtime = old.logtime;
    m.logtime_utc = old.logtime_utc;
    m.log_file = old.log_file.clone();
    m.syslog = old.syslog;
    m.remote_syslog = old.remote_syslog.clone();
    m.max_traced_msg_len = old.max_traced_msg_len;
    m.tls = old.tls;
    m.tls_verify = old.tls_verify;
    m.tls_cert = old.tls_cert.clone();
    m.tls_key = old.tls_key.clone();
    m.tls_ca_cert = old.tls_ca_cert.clone();
    m.tls_config = old.tls_config.clone();
    m.tls_config_opts = old.tls_config_opts.clone();
    m.tls_timeout = old.tls_timeout;
    m.tls_map = old.tls_map;
    m.tls_pinned_certs = old.tls_pinned_certs.clone();
    m.tls_handshake_first = old.tls_handshake_first;
    m.tls_handshake_first_fallback = old.tls_handshake_first_fallback;
    m.tls_rate_limit = old.tls_rate_limit;
    m.allow_non_tls = old.allow_non_tls;
    m.username = old.username.clone();
    m.password = old.password.clone();
    m.authorization = old.authorization.clone();
    m.auth_block_defined = old.auth_block_defined;
    m.users = old.users.clone();
    m.nkeys = old.nkeys.clone();
    m.proxies = old.proxies.clone();
    m.default_permissions = old.default_permissions.clone();
    m.accounts = old.accounts.clone();
    m.mappings = old.mappings.clone();
    m.auth_timeout = old.auth_timeout;
    m.tags = old.tags.clone();
    m.metadata = old.metadata.clone();
    m.max_connections = old.max_connections;
    m.pid_file = old.pid_file.clone();
    m.ports_file_dir = old.ports_file_dir.clone();
    m.max_control_line = old.max_control_line;
    m.max_payload = old.max_payload;
    m.ping_interval = old.ping_interval;
    m.max_pings_out = old.max_pings_out;
    m.write_deadline = old.write_deadline;
    m.client_advertise = old.client_advertise.clone();
    m.connect_error_reports = old.connect_error_reports;
    m.reconnect_error_reports = old.reconnect_error_reports;
    m
}

/// The changes from `old` to `new`, or nats-server's refusal naming the first option it
/// does not reload (`config reload not supported for <Field>: old=<v>, new=<v>`).
fn diff_options(old: &Options, new: &Options) -> Result<Vec<Change>, ReloadError> {
    // `no_auth_user` may only go away together with that user; `system_account` may only
    // go from the default to unset.
    if old.no_auth_user != new.no_auth_user {
        let removed_with_user = !old.no_auth_user.is_empty()
            && new.no_auth_user.is_empty()
            && !new.users.iter().any(|u| u.username == old.no_auth_user);
        if !removed_with_user {
            return Err(not_supported(
                "NoAuthUser",
                &old.no_auth_user,
                &new.no_auth_user,
            ));
        }
    }
    if old.system_account != new.system_account
        && !(old.system_account == crate::account::DEFAULT_SYSTEM_ACCOUNT
            && new.system_account.is_empty())
    {
        return Err(not_supported(
            "SystemAccount",
            &old.system_account,
            &new.system_account,
        ));
    }
    let mut masked = mask_reloadable(new, old);
    masked.no_auth_user = old.no_auth_user.clone();
    masked.system_account = old.system_account.clone();
    let (a, b) = (format!("{old:#?}"), format!("{masked:#?}"));
    if a != b {
        let (field, old_v, new_v) = first_difference(&a, &b);
        return Err(not_supported(&go_field_name(&field), &old_v, &new_v));
    }

    let mut out = Vec::new();
    let log_changed = old.trace != new.trace
        || old.trace_verbose != new.trace_verbose
        || old.trace_headers != new.trace_headers
        || old.debug != new.debug
        || old.logtime != new.logtime
        || old.logtime_utc != new.logtime_utc
        || old.log_file != new.log_file
        || old.syslog != new.syslog
        || old.remote_syslog != new.remote_syslog;
    if old.trace != new.trace {
        out.push(Change::Logging(format!("trace = {}", new.trace)));
    }
    if old.trace_verbose != new.trace_verbose {
        out.push(Change::Logging(format!(
            "trace_verbose = {}",
            new.trace_verbose
        )));
    }
    if old.debug != new.debug {
        out.push(Change::Logging(format!("debug = {}", new.debug)));
    }
    if old.logtime != new.logtime {
        out.push(Change::Logging(format!("logtime = {}", new.logtime)));
    }
    if old.log_file != new.log_file {
        out.push(Change::Logging(format!(
            "log_file = {}",
            new.log_file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )));
    }
    if old.syslog != new.syslog {
        out.push(Change::Logging(format!("syslog = {}", new.syslog)));
    }
    if old.remote_syslog != new.remote_syslog {
        out.push(Change::Logging(format!(
            "remote_syslog = {}",
            new.remote_syslog
        )));
    }
    if log_changed && out.iter().all(|c| !matches!(c, Change::Logging(_))) {
        out.push(Change::Logging(String::new()));
    }
    let auth_changed = old.username != new.username
        || old.password != new.password
        || old.authorization != new.authorization
        || old.users != new.users
        || old.nkeys != new.nkeys
        || old.default_permissions != new.default_permissions
        || old.accounts != new.accounts
        || old.no_auth_user != new.no_auth_user
        || old.tls_map != new.tls_map;
    if old.authorization != new.authorization {
        out.push(Change::Auth("authorization".into()));
    }
    if old.username != new.username || old.password != new.password {
        out.push(Change::Auth("authorization username/password".into()));
    }
    if old.users != new.users {
        out.push(Change::Auth("authorization users".into()));
    }
    if old.nkeys != new.nkeys {
        out.push(Change::Auth("authorization nkey users".into()));
    }
    if old.accounts != new.accounts {
        out.push(Change::Auth("accounts".into()));
    }
    if auth_changed && out.iter().all(|c| !matches!(c, Change::Auth(_))) {
        out.push(Change::Auth(String::new()));
    }
    let (removed, added) = crate::auth::proxy::diff_trusted(old, new);
    if !removed.is_empty() || !added.is_empty() {
        out.push(Change::Proxies(removed, added));
    }
    if old.max_connections != new.max_connections {
        out.push(Change::MaxConnections(new.max_connections));
    }
    if old.max_payload != new.max_payload {
        out.push(Change::Limit(format!("max_payload = {}", new.max_payload)));
    }
    if old.max_control_line != new.max_control_line {
        out.push(Change::Limit(format!(
            "max_control_line = {}",
            new.max_control_line
        )));
    }
    if old.ping_interval != new.ping_interval {
        out.push(Change::Limit(format!(
            "ping_interval = {}",
            crate::config::conf::duration::format_duration(
                i64::try_from(new.ping_interval.as_nanos()).unwrap_or(i64::MAX)
            )
        )));
    }
    if old.max_pings_out != new.max_pings_out {
        out.push(Change::Limit(format!("ping_max = {}", new.max_pings_out)));
    }
    if old.write_deadline != new.write_deadline {
        out.push(Change::Limit(format!(
            "write_deadline = {}",
            crate::config::conf::duration::format_duration(
                i64::try_from(new.write_deadline.as_nanos()).unwrap_or(i64::MAX)
            )
        )));
    }
    if old.auth_timeout != new.auth_timeout {
        out.push(Change::Limit(format!(
            "auth_timeout = {}",
            new.auth_timeout.as_secs_f64()
        )));
    }
    if old.pid_file != new.pid_file {
        out.push(Change::PidFile);
    }
    if old.ports_file_dir != new.ports_file_dir {
        out.push(Change::PortsFile(old.ports_file_dir.clone()));
    }
    if old.tags != new.tags {
        out.push(Change::Info("tags".into()));
    }
    if old.metadata != new.metadata {
        out.push(Change::Info("metadata".into()));
    }
    if old.client_advertise != new.client_advertise {
        out.push(Change::Info(format!(
            "client_advertise = {}",
            new.client_advertise
        )));
    }
    if old.tls_config_opts != new.tls_config_opts
        || old.tls_timeout != new.tls_timeout
        || old.tls_pinned_certs != new.tls_pinned_certs
        || old.tls_handshake_first != new.tls_handshake_first
    {
        out.push(Change::Info("tls".into()));
    }
    if old.connect_error_reports != new.connect_error_reports
        || old.reconnect_error_reports != new.reconnect_error_reports
        || old.max_traced_msg_len != new.max_traced_msg_len
    {
        out.push(Change::Quiet);
    }
    Ok(out)
}

fn not_supported(field: &str, old: &str, new: &str) -> ReloadError {
    ReloadError(format!(
        "config reload not supported for {field}: old={old}, new={new}"
    ))
}

/// The first top-level field whose pretty `Debug` differs, with both values.
fn first_difference(a: &str, b: &str) -> (String, String, String) {
    let field_of = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("    ")?;
        if rest.starts_with(' ') {
            return None;
        }
        rest.split_once(':').map(|(f, _)| f.to_string())
    };
    let value_of = |text: &str, field: &str| -> String {
        let prefix = format!("    {field}: ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| go_value(v.trim_end_matches(',')))
            .unwrap_or_default()
    };
    let mut current = String::new();
    for (la, lb) in a.lines().zip(b.lines()) {
        if let Some(f) = field_of(la) {
            current = f;
        }
        if la != lb {
            return (
                current.clone(),
                value_of(a, &current),
                value_of(b, &current),
            );
        }
    }
    (current, String::new(), String::new())
}

/// A Rust `Debug` value as Go's `%v` prints the simple ones.
fn go_value(v: &str) -> String {
    let v = v.trim();
    if let Some(s) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return s.to_string();
    }
    if let Some(inner) = v.strip_prefix("Some(").and_then(|s| s.strip_suffix(')')) {
        return go_value(inner);
    }
    if v == "None" {
        return String::new();
    }
    v.to_string()
}

/// nats-server's `Options` field name for one of ours.
fn go_field_name(rust: &str) -> String {
    let known = [
        ("server_name", "ServerName"),
        ("host", "Host"),
        ("port", "Port"),
        ("http_host", "HTTPHost"),
        ("http_port", "HTTPPort"),
        ("https_port", "HTTPSPort"),
        ("http_base_path", "HTTPBasePath"),
        ("max_subs", "MaxSubs"),
        ("max_pending", "MaxPending"),
        ("log_size_limit", "LogSizeLimit"),
        ("log_max_files", "LogMaxFiles"),
        ("write_timeout", "WriteTimeout"),
        ("lame_duck_duration", "LameDuckDuration"),
        ("lame_duck_grace_period", "LameDuckGracePeriod"),
        ("max_closed_clients", "MaxClosedClients"),
        ("no_header_support", "NoHeaderSupport"),
        ("feature_flags", "FeatureFlags"),
        ("jetstream", "JetStream"),
        ("store_dir", "StoreDir"),
        ("always_enable_nonce", "AlwaysEnableNonce"),
        ("no_system_account", "NoSystemAccount"),
        ("prof_port", "ProfPort"),
        ("routes_str", "RoutesStr"),
        ("routes", "Routes"),
        ("cluster", "Cluster"),
        ("no_sublist_cache", "NoSublistCache"),
        ("proxy_protocol", "ProxyProtocol"),
    ];
    if let Some((_, go)) = known.iter().find(|(r, _)| *r == rust) {
        return go.to_string();
    }
    rust.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Applies the changes to the running server and logs each as nats-server does.
fn apply(s: &Arc<ServerShared>, new: &Options, changes: &[Change]) {
    let mut auth = false;
    let mut logging_configured = false;
    for c in changes {
        match c {
            Change::Logging(line) => {
                // Once for all the logging options that changed.
                if !new.no_log && !std::mem::replace(&mut logging_configured, true) {
                    if let Err(e) = s
                        .logging
                        .configure(&crate::logging::LogConfig::from_options(new))
                    {
                        crate::error!(s.logging, "Failed to reload logging: {e}");
                    }
                }
                if !line.is_empty() {
                    crate::notice!(s.logging, "Reloaded: {line}");
                }
            }
            Change::Auth(what) => {
                auth = true;
                if !what.is_empty() {
                    crate::notice!(s.logging, "Reloaded: {what}");
                }
            }
            Change::MaxConnections(max) => {
                close_over_max_connections(s, *max);
                crate::notice!(s.logging, "Reloaded: max_connections = {max}");
            }
            Change::Limit(line) => crate::notice!(s.logging, "Reloaded: {line}"),
            Change::PidFile => {
                if let Some(p) = &new.pid_file {
                    if let Err(e) = crate::server::write_pid_file(p) {
                        crate::error!(s.logging, "Failed to write pidfile: {e}");
                    }
                    crate::notice!(s.logging, "Reloaded: pid_file = {}", p.display());
                }
            }
            Change::PortsFile(old_dir) => {
                move_ports_file(s, old_dir.as_deref(), new);
                crate::notice!(
                    s.logging,
                    "Reloaded: ports_file_dir = {}",
                    new.ports_file_dir
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
            }
            Change::Info(line) => crate::notice!(s.logging, "Reloaded: {line}"),
            Change::Quiet => {}
            Change::Proxies(removed, added) => reload_proxies(s, removed, added),
        }
    }
    s.refresh_info();
    if auth {
        reload_authorization(s, new);
    }
    // Connections take on the limits and permissions at their next read.
    s.bump_opts_generation();
}

/// Closes connections until at most `max` remain (nats-server closes arbitrary ones); a
/// negative `max` (a configured 0) refuses every connection, so all are closed.
fn close_over_max_connections(s: &Arc<ServerShared>, max: i64) {
    let clients = s.clients();
    let to_close = connections_over_max(clients.len(), max);
    if to_close == 0 {
        return;
    }
    for c in clients.iter().take(to_close) {
        crate::error!(s.logging, "{} - maximum connections exceeded", c.label());
        c.send_err("maximum connections exceeded");
        s.close_client(c, ClosedState::MaxConnectionsExceeded, true);
    }
    crate::notice!(
        s.logging,
        "Closed {to_close} connections to fall within max_connections"
    );
}

/// Removes the ports file from the old directory and writes it in the new one.
fn move_ports_file(s: &Arc<ServerShared>, old_dir: Option<&std::path::Path>, new: &Options) {
    if let Some(dir) = old_dir {
        let _ = std::fs::remove_file(crate::server::ports_file_path(dir));
    }
    let (Some(dir), Some(addr)) = (&new.ports_file_dir, s.client_addr()) else {
        return;
    };
    if let Err(e) = crate::server::write_ports_file(dir, &new.host, addr.port(), s.monitor.addr()) {
        crate::error!(
            s.logging,
            "Error writing ports file ({}): {e}",
            crate::server::ports_file_path(dir).display()
        );
    }
}

/// How many of `connected` clients a new `max_connections` leaves over the limit.
fn connections_over_max(connected: usize, max: i64) -> usize {
    let keep = usize::try_from(max.max(0)).unwrap_or(usize::MAX);
    connected.saturating_sub(keep)
}

/// Re-checks every connected client against the new users (nats-server's
/// `reloadAuthorization`): a client whose credentials fail is closed with `Authorization
/// Violation`, one whose user moved to another account is closed, and the others take
/// their new permissions, losing subscriptions these no longer allow.
fn reload_authorization(s: &Arc<ServerShared>, new: &Options) {
    for c in s.clients() {
        if !c.connect_received() {
            continue;
        }
        let connect = c.connect_opts();
        let ctx = c.auth.context();
        let result = if let Some(custom) = &new.custom_client_authentication {
            let request = crate::auth::custom::ClientAuthRequest::new(&c, &connect);
            crate::auth::custom::check(custom, &request).map(|a| a.authenticated)
        } else if crate::auth::tls_map::maps_user(new, &connect) {
            let cert = c.tls.get().and_then(|t| t.peer.as_ref());
            crate::auth::tls_map::check_certificate(new, &connect, cert, &ctx, |_| {})
        } else {
            crate::auth::check_client(new, &connect, &ctx)
        };
        let ok = match result {
            Ok(ok) => ok,
            Err(failure) => {
                auth_violation(s, &c, failure);
                continue;
            }
        };
        let account = if ok.account.is_empty() {
            crate::account::GLOBAL_ACCOUNT.to_string()
        } else {
            ok.account.clone()
        };
        if account != c.account_name() {
            s.close_client(&c, ClosedState::ClientClosed, true);
            continue;
        }
        c.auth.set_perms(ok.perms.clone());
        remove_unauthorized_subs(s, &c);
    }
}

/// Closes a client whose credentials no longer hold, as Go's `authViolation`.
fn auth_violation(s: &Arc<ServerShared>, c: &Arc<Client>, failure: crate::auth::AuthFailure) {
    match crate::auth::auth_user_label(&c.connect_opts()) {
        Some(user) => crate::error!(s.logging, "{} - authentication error - {user}", c.label()),
        None => crate::error!(s.logging, "{} - authentication error", c.label()),
    }
    c.send_err("Authorization Violation");
    s.close_client(c, failure.closed_state(), true);
}

/// Closes the clients that came through a proxy whose key is no longer trusted (Go's
/// `proxiesReload`), and logs the keys removed and added.
fn reload_proxies(s: &Arc<ServerShared>, removed: &[String], added: &[String]) {
    let quoted = |keys: &[String]| {
        let q: Vec<String> = keys
            .iter()
            .map(|k| crate::config::cli::go_quote(k))
            .collect();
        format!("[{}]", q.join(" "))
    };
    if !removed.is_empty() {
        for c in s.clients() {
            let through = c.auth.proxy_key.lock().clone();
            if through.is_some_and(|k| removed.contains(&k)) {
                auth_violation(s, &c, crate::auth::AuthFailure::ProxyNotTrusted);
            }
        }
        crate::notice!(
            s.logging,
            "Reloaded: proxies trusted keys {} were removed",
            quoted(removed)
        );
    }
    if !added.is_empty() {
        crate::notice!(
            s.logging,
            "Reloaded: proxies trusted keys {} were added",
            quoted(added)
        );
    }
}

/// Drops the client's subscriptions its permissions no longer allow, telling it and
/// logging each as nats-server does.
fn remove_unauthorized_subs(s: &Arc<ServerShared>, c: &Arc<Client>) {
    let Some(perms) = c.auth.perms() else {
        return;
    };
    let subs: Vec<_> = c.subs.lock().values().cloned().collect();
    let user = crate::auth::auth_user(&c.connect_opts());
    for sub in subs {
        let subject = String::from_utf8_lossy(&sub.subject).into_owned();
        let queue = sub
            .queue
            .as_deref()
            .map(|q| String::from_utf8_lossy(q).into_owned());
        if perms.can_subscribe(&subject, queue.as_deref()) {
            continue;
        }
        s.unsubscribe(&crate::client::SubRef(sub.clone()));
        let sid = String::from_utf8_lossy(&sub.sid);
        match &queue {
            Some(q) => {
                c.send_err(&format!(
                    "Permissions Violation for Subscription to {subject:?} using queue {q:?} (sid {sid:?})"
                ));
                crate::notice!(
                    s.logging,
                    "Removed sub {subject:?} using queue {q:?} (sid {sid:?}) for {user} - not authorized"
                );
            }
            None => {
                c.send_err(&format!(
                    "Permissions Violation for Subscription to {subject:?} (sid {sid:?})"
                ));
                crate::notice!(
                    s.logging,
                    "Removed sub {subject:?} (sid {sid:?}) for {user} - not authorized"
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reloadable_changes_are_listed() {
        let old = Options::default();
        let new = Options {
            trace: true,
            max_payload: 10,
            max_connections: 5,
            ..Options::default()
        };
        let c = diff_options(&old, &new).unwrap();
        assert!(c.contains(&Change::Logging("trace = true".into())));
        assert!(c.contains(&Change::Limit("max_payload = 10".into())));
        assert!(c.contains(&Change::MaxConnections(5)));
    }

    #[test]
    fn other_changes_are_refused_naming_the_option() {
        let old = Options::default();
        let new = Options {
            host: "127.0.0.2".into(),
            ..Options::default()
        };
        assert_eq!(
            diff_options(&old, &new).unwrap_err().0,
            "config reload not supported for Host: old=0.0.0.0, new=127.0.0.2"
        );
        let new = Options {
            max_subs: 3,
            ..Options::default()
        };
        assert_eq!(
            diff_options(&old, &new).unwrap_err().0,
            "config reload not supported for MaxSubs: old=0, new=3"
        );
        let new = Options {
            no_auth_user: "derek".into(),
            ..Options::default()
        };
        assert_eq!(
            diff_options(&old, &new).unwrap_err().0,
            "config reload not supported for NoAuthUser: old=, new=derek"
        );
    }

    #[test]
    fn max_connections_closes_the_excess_and_all_when_refusing_all() {
        assert_eq!(connections_over_max(2, 1), 1);
        assert_eq!(connections_over_max(2, 5), 0);
        // A configured 0 is stored as -1: no connection is allowed.
        assert_eq!(connections_over_max(2, -1), 2);
        assert_eq!(connections_over_max(0, -1), 0);
    }

    #[test]
    fn removing_the_authorization_block_is_reloadable() {
        let old = Options {
            authorization: "secret".into(),
            auth_block_defined: true,
            ..Options::default()
        };
        let c = diff_options(&old, &Options::default()).unwrap();
        assert!(c.iter().any(|c| matches!(c, Change::Auth(_))));
    }

    #[test]
    fn ports_file_change_remembers_the_old_directory() {
        let old = Options {
            ports_file_dir: Some("/tmp/a".into()),
            ..Options::default()
        };
        let new = Options {
            ports_file_dir: Some("/tmp/b".into()),
            ..Options::default()
        };
        assert_eq!(
            diff_options(&old, &new).unwrap(),
            vec![Change::PortsFile(Some("/tmp/a".into()))]
        );
    }

    #[test]
    fn a_random_port_is_the_bound_one() {
        assert_eq!(bound_port(-1, Some(4567)), 4567);
        assert_eq!(bound_port(-1, None), -1);
        assert_eq!(bound_port(4222, Some(4222)), 4222);
        assert_eq!(bound_port(0, Some(4222)), 4222);
    }

    #[test]
    fn unchanged_options_change_nothing() {
        let o = Options::default();
        assert!(diff_options(&o, &o.clone()).unwrap().is_empty());
    }

    /// Reads from an in-process connection until `want` has been received.
    async fn read_until(conn: &mut tokio::io::DuplexStream, want: &[u8]) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(want.len()).any(|w| w == want) {
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf));
            let n = read.await.expect("read in time").expect("read");
            assert!(
                n > 0,
                "closed before {:?}: {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[tokio::test]
    async fn dropping_a_trusted_proxy_key_closes_its_clients() {
        use base64::Engine;
        use tokio::io::AsyncWriteExt;
        let (p1, p2) = (nkeys::KeyPair::new_user(), nkeys::KeyPair::new_user());
        let trusting = |keys: &[&nkeys::KeyPair]| Options {
            host: "127.0.0.1".into(),
            port: -1,
            no_log: true,
            no_sigs: true,
            username: "user".into(),
            password: "pwd".into(),
            proxy_required: true,
            proxies: Some(crate::auth::proxy::ProxiesConfig {
                trusted: keys.iter().map(|k| k.public_key()).collect(),
            }),
            ..Options::default()
        };
        let server = crate::server::Server::new(trusting(&[&p1, &p2])).unwrap();
        server.start().await.unwrap();
        let s = server.shared().clone();
        // Connects through the proxy `kp` (signing the INFO's nonce).
        let connect = |kp: &nkeys::KeyPair| {
            let s = s.clone();
            let seed = kp.seed().unwrap();
            async move {
                let kp = nkeys::KeyPair::from_seed(&seed).unwrap();
                let mut conn = s.in_process_conn();
                let info = read_until(&mut conn, b"\r\n").await;
                let info: serde_json::Value =
                    serde_json::from_slice(&info[5..info.len() - 2]).unwrap();
                let nonce = info["nonce"]
                    .as_str()
                    .expect("a nonce with trusted proxies");
                let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(kp.sign(nonce.as_bytes()).unwrap());
                let connect = format!(
                    "CONNECT {{\"user\":\"user\",\"pass\":\"pwd\",\"proxy_sig\":\"{sig}\"}}\r\nPING\r\n"
                );
                conn.write_all(connect.as_bytes()).await.unwrap();
                conn
            }
        };
        let mut c1 = connect(&p1).await;
        read_until(&mut c1, b"PONG\r\n").await;
        let mut c2 = connect(&p2).await;
        read_until(&mut c2, b"PONG\r\n").await;
        // Monitoring shows the trusted keys, and which one each client came through.
        let trusted = |s: &ServerShared| -> Vec<String> {
            crate::monitor::varz::varz(s)
                .proxies
                .map(|p| p.trusted.into_iter().map(|t| t.key).collect())
                .unwrap_or_default()
        };
        assert_eq!(trusted(&s), [p1.public_key(), p2.public_key()]);
        let connz = crate::monitor::connz::connz(&s, &Default::default()).unwrap();
        let mut keys: Vec<String> = connz
            .conns
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.proxy.as_ref().map(|p| p.key.clone()))
            .collect();
        keys.sort();
        let mut want = vec![p1.public_key(), p2.public_key()];
        want.sort();
        assert_eq!(keys, want);
        // Without a proxy, the user is refused.
        let mut direct = s.in_process_conn();
        read_until(&mut direct, b"\r\n").await;
        direct
            .write_all(b"CONNECT {\"user\":\"user\",\"pass\":\"pwd\"}\r\nPING\r\n")
            .await
            .unwrap();
        read_until(&mut direct, b"-ERR 'Authorization Violation'\r\n").await;

        reload_options(&s, trusting(&[&p2])).unwrap();
        read_until(&mut c1, b"-ERR 'Authorization Violation'\r\n").await;
        assert_eq!(trusted(&s), [p2.public_key()]);
        // The client of the key still trusted stays.
        c2.write_all(b"PING\r\n").await.unwrap();
        read_until(&mut c2, b"PONG\r\n").await;
        let reasons: Vec<String> = s
            .monitor
            .closed_clients()
            .iter()
            .map(|c| c.info.reason.clone())
            .collect();
        assert!(
            reasons.contains(&"Proxy Required".to_string()),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&"Proxy Not Trusted".to_string()),
            "{reasons:?}"
        );
        // A signature of the dropped key is no longer trusted.
        let mut c3 = connect(&p1).await;
        read_until(&mut c3, b"-ERR 'Authorization Violation'\r\n").await;
        server.shutdown();
    }
}
