//! JetStream in the monitoring output: `/jsz` (Go's `Jsz`/`JszAccount`), the `jetstream`
//! section of `/varz` and of statsz, and the JetStream checks of `/healthz` for a
//! standalone server.
//!
//! The JSON is built by pure functions from a [`JsSnapshot`] (a copy of the numbers and
//! configurations of JetStream taken at one moment) and, for health, a [`HealthView`] (what
//! the store directory holds and whether each entry is loaded). Only [`snapshot`] and
//! [`health_view`] read the live server.

use super::gotime::GoTime;
use super::misc::{HealthStatus, HealthzError, HealthzOptions, SKIP_ZREQ};
use crate::config::jetstream::{JetStreamConfig, JsLimitOpts};
use crate::jetstream::api::types::{
    ClusterInfo, JetStreamApiStats, StorageType, StreamConfig, StreamSourceInfo, StreamState,
};
use crate::jetstream::{JetStream, API_LEVEL};
use crate::server::ServerShared;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// Go's `%q` of a name in an error text.
fn go_quote(s: &str) -> String {
    let mut out = String::new();
    crate::protocol::parser::go_quote_into(&mut out, s.as_bytes());
    out
}

/// Go's `JSzOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JszOptions {
    pub account: String,
    pub accounts: bool,
    pub streams: bool,
    pub consumer: bool,
    pub direct_consumer: bool,
    pub config: bool,
    pub leader_only: bool,
    pub offset: i64,
    pub limit: i64,
    pub raft_groups: bool,
    pub stream_leader_only: bool,
}

/// Go's `JetStreamStats`: usage, reservations and API counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JetStreamStats {
    pub memory: u64,
    pub storage: u64,
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    pub accounts: i64,
    pub ha_assets: i64,
    pub api: JetStreamApiStats,
}

/// Go's `JetStreamVarz`: the `jetstream` section of `/varz` and statsz; empty when
/// JetStream is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JetStreamVarz {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<JetStreamConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<JetStreamStats>,
    /// The meta group (clustered JetStream only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<JsLimitOpts>,
}

/// Go's `StreamDetail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamDetail {
    pub name: String,
    pub created: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<StreamConfig>,
    pub state: StreamState,
    #[serde(rename = "consumer_detail", skip_serializing_if = "Vec::is_empty")]
    pub consumer: Vec<serde_json::Value>,
    #[serde(
        rename = "direct_consumer_detail",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub direct_consumer: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSourceInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSourceInfo>,
    #[serde(rename = "stream_raft_group", skip_serializing_if = "String::is_empty")]
    pub raft_group: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumer_raft_groups: Vec<serde_json::Value>,
}

/// Go's `AccountDetail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountDetail {
    pub name: String,
    pub id: String,
    #[serde(flatten)]
    pub stats: JetStreamStats,
    #[serde(rename = "stream_detail", skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamDetail>,
}

/// Go's `JSInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JsInfo {
    #[serde(flatten)]
    pub stats: JetStreamStats,
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    pub config: JetStreamConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<JsLimitOpts>,
    pub streams: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub streams_leader: i64,
    pub consumers: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub consumers_leader: i64,
    pub messages: u64,
    pub bytes: u64,
    #[serde(rename = "meta_cluster", skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    #[serde(rename = "account_details", skip_serializing_if = "Vec::is_empty")]
    pub account_details: Vec<AccountDetail>,
    pub total: i64,
}

/// One stream as the monitor sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamSnapshot {
    pub name: String,
    pub created: GoTime,
    pub config: StreamConfig,
    /// The store's fast state (no per-subject or deleted details).
    pub state: StreamState,
    /// Its consumers' info, as `$JS.API.CONSUMER.INFO` gives it.
    pub consumers: Vec<serde_json::Value>,
}

/// One JetStream account as the monitor sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountSnapshot {
    pub name: String,
    /// The account's limits: Go reports them as the account's reservation.
    pub max_memory: i64,
    pub max_store: i64,
    pub memory: u64,
    pub store: u64,
    pub api_total: u64,
    pub api_errors: u64,
    pub streams: Vec<StreamSnapshot>,
}

/// JetStream of a server at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsSnapshot {
    pub config: JetStreamConfig,
    pub limits: JsLimitOpts,
    pub api_total: u64,
    pub api_errors: u64,
    /// Sorted by name.
    pub accounts: Vec<AccountSnapshot>,
}

impl JsSnapshot {
    /// Go's `usageStats`: bytes used, bytes reserved by streams with a byte limit, the
    /// number of accounts and the API counters.
    pub fn stats(&self) -> JetStreamStats {
        let mut st = JetStreamStats {
            accounts: self.accounts.len() as i64,
            api: JetStreamApiStats {
                level: API_LEVEL,
                total: self.api_total,
                errors: self.api_errors,
                inflight: 0,
            },
            ..JetStreamStats::default()
        };
        for a in &self.accounts {
            st.memory += a.memory;
            st.storage += a.store;
            for s in a.streams.iter().filter(|s| s.config.max_bytes > 0) {
                let bytes = s.config.max_bytes as u64;
                match s.config.storage {
                    StorageType::Memory => st.reserved_memory += bytes,
                    StorageType::File => st.reserved_storage += bytes,
                }
            }
        }
        st
    }
}

/// Copies what the monitor reports from the running JetStream.
pub fn snapshot(js: &JetStream, limits: JsLimitOpts) -> JsSnapshot {
    let accounts = js
        .accounts()
        .iter()
        .map(|jsa| {
            let (memory, store) = jsa.usage();
            let streams = jsa
                .streams
                .read()
                .values()
                .map(|s| {
                    let mut state: crate::jetstream::api::types::StreamState =
                        (&s.store().fast_state()).into();
                    state.consumers = s.consumers.read().len() as u64;
                    StreamSnapshot {
                        name: s.name.clone(),
                        created: s.created,
                        config: s.config(),
                        state,
                        // Consumer details need the server (pull-request interest).
                        consumers: Vec::new(),
                    }
                })
                .collect();
            AccountSnapshot {
                name: jsa.account.name.clone(),
                max_memory: jsa.limits.max_memory,
                max_store: jsa.limits.max_store,
                memory,
                store,
                api_total: jsa.api_total.load(Ordering::Relaxed),
                api_errors: jsa.api_errors.load(Ordering::Relaxed),
                streams,
            }
        })
        .collect();
    JsSnapshot {
        config: js.config.clone(),
        limits,
        api_total: js.api_total.load(Ordering::Relaxed),
        api_errors: js.api_errors.load(Ordering::Relaxed),
        accounts,
    }
}

/// What of an account's detail to include (Go's `accountDetail` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetailOptions {
    pub streams: bool,
    pub consumers: bool,
    pub direct_consumers: bool,
    pub config: bool,
    pub raft: bool,
    pub stream_leader_only: bool,
}

impl From<&JszOptions> for DetailOptions {
    fn from(o: &JszOptions) -> Self {
        DetailOptions {
            streams: o.streams,
            consumers: o.consumer,
            direct_consumers: o.direct_consumer,
            config: o.config,
            raft: o.raft_groups,
            stream_leader_only: o.stream_leader_only,
        }
    }
}

/// Go's `accountDetail` for a standalone server named `server_name`: every stream is led
/// here, and none has a Raft group, mirror or sources.
pub fn account_detail(
    a: &AccountSnapshot,
    opts: DetailOptions,
    server_name: &str,
) -> AccountDetail {
    let mut d = AccountDetail {
        name: a.name.clone(),
        id: a.name.clone(),
        stats: JetStreamStats {
            memory: a.memory,
            storage: a.store,
            // Go reports the account's limits here, converted to unsigned (so -1, no
            // limit, shows as 2^64-1).
            reserved_memory: a.max_memory as u64,
            reserved_storage: a.max_store as u64,
            api: JetStreamApiStats {
                total: a.api_total,
                errors: a.api_errors,
                ..JetStreamApiStats::default()
            },
            ..JetStreamStats::default()
        },
        streams: Vec::new(),
    };
    if !opts.streams {
        return d;
    }
    for s in &a.streams {
        let consumer = if opts.consumers {
            s.consumers
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    if !opts.config {
                        if let Some(m) = c.as_object_mut() {
                            m.remove("config");
                        }
                    }
                    c
                })
                .collect()
        } else {
            Vec::new()
        };
        d.streams.push(StreamDetail {
            name: s.name.clone(),
            created: s.created,
            cluster: Some(ClusterInfo {
                leader: server_name.to_string(),
                ..ClusterInfo::default()
            }),
            config: opts.config.then(|| s.config.clone()),
            state: s.state.clone(),
            consumer,
            ..StreamDetail::default()
        });
    }
    d
}

/// Go's `Jsz` from a snapshot (`None`: JetStream is off).
pub fn build_jsz(
    id: &str,
    server_name: &str,
    now: GoTime,
    snap: Option<&JsSnapshot>,
    opts: &JszOptions,
) -> Result<JsInfo, String> {
    let mut opts = opts.clone();
    opts.offset = opts.offset.max(0);
    if opts.limit == 0 {
        opts.limit = 1024;
    }
    if opts.consumer {
        opts.streams = true;
    }
    if opts.streams && opts.account.is_empty() {
        opts.accounts = true;
    }
    let mut info = JsInfo {
        id: id.to_string(),
        now,
        ..JsInfo::default()
    };
    let Some(snap) = snap else {
        if opts.leader_only {
            return Err(SKIP_ZREQ.to_string());
        }
        info.disabled = true;
        return Ok(info);
    };
    info.limits = Some(snap.limits);
    info.config = snap.config.clone();
    info.total = snap.accounts.len() as i64;
    info.stats = snap.stats();
    for a in &snap.accounts {
        info.streams += a.streams.len() as i64;
        for s in &a.streams {
            info.messages += s.state.msgs;
            info.bytes += s.state.bytes;
            info.consumers += s.state.consumers as i64;
            if opts.raft_groups {
                // Without Raft every stream and consumer is led by this server.
                info.streams_leader += 1;
                info.consumers_leader += s.consumers.len() as i64;
            }
        }
    }
    let chosen: Vec<&AccountSnapshot> =
        if let Some(a) = snap.accounts.iter().find(|a| a.name == opts.account) {
            vec![a]
        } else if opts.accounts {
            let all = snap.accounts.iter();
            if opts.limit > 0 {
                let offset = usize::try_from(opts.offset).unwrap_or(usize::MAX);
                let limit = usize::try_from(opts.limit).unwrap_or(usize::MAX);
                all.skip(offset).take(limit).collect()
            } else {
                all.collect()
            }
        } else {
            Vec::new()
        };
    let detail = DetailOptions::from(&opts);
    info.account_details = chosen
        .into_iter()
        .map(|a| account_detail(a, detail, server_name))
        .collect();
    Ok(info)
}

/// Go's `Server.Jsz`.
pub fn jsz(s: &ServerShared, opts: &JszOptions) -> Result<JsInfo, String> {
    let snap = s
        .jetstream()
        .map(|js| snapshot(&js, s.opts().jetstream_limits));
    build_jsz(&s.id, &s.name, GoTime::now(), snap.as_ref(), opts)
}

/// Go's `JszAccount` from a snapshot: one account's detail.
pub fn build_jsz_account(
    snap: Option<&JsSnapshot>,
    account_exists: bool,
    server_name: &str,
    opts: &JszOptions,
) -> Result<AccountDetail, String> {
    let Some(snap) = snap else {
        return Err("jetstream not enabled".to_string());
    };
    let acc = &opts.account;
    if !account_exists {
        return Err(format!("account {} not found", go_quote(acc)));
    }
    let Some(a) = snap.accounts.iter().find(|a| &a.name == acc) else {
        return Err(format!("account {} not jetstream enabled", go_quote(acc)));
    };
    Ok(account_detail(a, DetailOptions::from(opts), server_name))
}

/// Go's `Server.JszAccount` (`$SYS.REQ.ACCOUNT.<acc>.JSZ`).
pub fn jsz_account(s: &ServerShared, opts: &JszOptions) -> Result<AccountDetail, String> {
    let snap = s
        .jetstream()
        .map(|js| snapshot(&js, s.opts().jetstream_limits));
    let exists = s.accounts.lookup(&opts.account).is_some();
    build_jsz_account(snap.as_ref(), exists, &s.name, opts)
}

/// The `jetstream` section of `/varz`: the configuration, usage and limits (Go's
/// `updateJszVarz`); empty when JetStream is off.
pub fn jetstream_varz(s: &ServerShared) -> JetStreamVarz {
    match s.jetstream() {
        None => JetStreamVarz::default(),
        Some(js) => varz_section(&snapshot(&js, s.opts().jetstream_limits)),
    }
}

/// [`jetstream_varz`] from a snapshot.
pub fn varz_section(snap: &JsSnapshot) -> JetStreamVarz {
    JetStreamVarz {
        config: Some(snap.config.clone()),
        stats: Some(snap.stats()),
        meta: None,
        limits: Some(snap.limits),
    }
}

/// The `jetstream` section of statsz: as in `/varz` but without the store directory
/// (Go's `sendStatsz`); `None` when JetStream is off.
pub fn statsz_section(s: &ServerShared) -> Option<JetStreamVarz> {
    let js = s.jetstream()?;
    let mut v = varz_section(&snapshot(&js, s.opts().jetstream_limits));
    if let Some(c) = v.config.as_mut() {
        c.store_dir = Default::default();
    }
    Some(v)
}

/// The directory a restore stages its files in, at the top of the store directory;
/// health checks pass over it.
pub const SNAP_STAGING_DIR: &str = ".snap-staging";

/// A stream directory of an account, and whether a stream runs from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamEntry {
    pub name: String,
    /// The stream is loaded (Go's `lookupStream` succeeds).
    pub loaded: bool,
    /// The stream's last write error, if any.
    pub write_error: Option<String>,
    /// Names of its consumers.
    pub consumers: Vec<String>,
}

/// An entry of the JetStream store directory: an account directory and its streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountEntry {
    pub name: String,
    /// The server knows an account of that name.
    pub resolved: bool,
    pub streams: Vec<StreamEntry>,
}

/// What a standalone health check looks at: the store directory's entries in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthView {
    pub accounts: Vec<AccountEntry>,
}

fn dir_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Reads the store directory of `js` and looks each entry up in the server.
pub fn health_view(s: &ServerShared, js: &JetStream) -> HealthView {
    let root = &js.settings.store_dir;
    let accounts = dir_names(root)
        .into_iter()
        .filter(|n| n != SNAP_STAGING_DIR)
        .map(|name| {
            let resolved = s.accounts.lookup(&name).is_some();
            let jsa = js.account(&name);
            let streams = if resolved {
                dir_names(&root.join(&name).join(crate::jetstream::STREAMS_DIR))
                    .into_iter()
                    .map(|sname| {
                        let stream = jsa.as_ref().and_then(|a| a.stream(&sname));
                        let consumers = stream
                            .as_ref()
                            .map(|st| st.consumers.read().keys().cloned().collect())
                            .unwrap_or_default();
                        StreamEntry {
                            loaded: stream.is_some(),
                            name: sname,
                            write_error: None,
                            consumers,
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            AccountEntry {
                name,
                resolved,
                streams,
            }
        })
        .collect();
    HealthView { accounts }
}

const UNAVAILABLE: &str = "unavailable";

/// Records a failed check: in detail mode as an error entry, else as the status.
fn report(h: &mut HealthStatus, details: bool, e: HealthzError) {
    if details {
        h.errors.push(e);
    } else {
        h.status = UNAVAILABLE.to_string();
        h.error = e.error;
    }
}

/// Replaces everything found so far by a 404 for what was asked for and is missing.
fn not_found(h: &mut HealthStatus, details: bool, e: HealthzError) {
    h.status_code = 404;
    if details {
        h.errors = vec![e];
    } else {
        h.status = UNAVAILABLE.to_string();
        h.error = e.error;
    }
}

fn health_error(
    kind: &str,
    account: &str,
    stream: &str,
    consumer: &str,
    error: String,
) -> HealthzError {
    HealthzError {
        kind: kind.to_string(),
        account: account.to_string(),
        stream: stream.to_string(),
        consumer: consumer.to_string(),
        error,
    }
}

/// JetStream is configured but not running: 503 (Go's `NewJSNotEnabledError`).
pub fn jetstream_unavailable(h: &mut HealthStatus, details: bool) {
    h.status_code = 503;
    h.status = UNAVAILABLE.to_string();
    let text = crate::jetstream::api::errors::NOT_ENABLED.new().to_string();
    if details {
        h.errors.push(health_error("JETSTREAM", "", "", "", text));
    } else {
        h.error = text;
    }
}

/// Go's standalone JetStream health check: every stream directory has its stream
/// loaded, and the account, stream and consumer asked for exist.
pub fn standalone_health(view: &HealthView, opts: &HealthzOptions, h: &mut HealthStatus) {
    let details = opts.details;
    let (mut acc_found, mut stream_found, mut consumer_found) = (false, false, false);
    for acc in &view.accounts {
        if !opts.account.is_empty() {
            if acc.name != opts.account {
                continue;
            }
            acc_found = true;
        }
        if !acc.resolved {
            let text = format!("JetStream account '{}' could not be resolved", acc.name);
            report(h, details, health_error("ACCOUNT", &acc.name, "", "", text));
            if !details {
                return;
            }
            continue;
        }
        for st in &acc.streams {
            if !opts.stream.is_empty() {
                if st.name != opts.stream {
                    continue;
                }
                stream_found = true;
            }
            if !st.loaded {
                let text = format!(
                    "JetStream stream '{} > {}' could not be recovered",
                    acc.name, st.name
                );
                report(
                    h,
                    details,
                    health_error("STREAM", &acc.name, &st.name, "", text),
                );
                if !details {
                    return;
                }
                continue;
            }
            if let Some(werr) = &st.write_error {
                let text = format!(
                    "JetStream stream '{} > {}' write error: {werr}",
                    acc.name, st.name
                );
                report(
                    h,
                    details,
                    health_error("STREAM", &acc.name, &st.name, "", text),
                );
                if !details {
                    return;
                }
                continue;
            }
            if stream_found {
                if !opts.consumer.is_empty() && st.consumers.contains(&opts.consumer) {
                    consumer_found = true;
                }
                break;
            }
        }
        if acc_found {
            break;
        }
    }
    if !opts.account.is_empty() && !acc_found {
        let text = format!("JetStream account {} not found", go_quote(&opts.account));
        not_found(
            h,
            details,
            health_error("ACCOUNT", &opts.account, "", "", text),
        );
        return;
    }
    if !opts.stream.is_empty() && !stream_found {
        let text = format!(
            "JetStream stream {} not found on account {}",
            go_quote(&opts.stream),
            go_quote(&opts.account)
        );
        not_found(
            h,
            details,
            health_error("STREAM", &opts.account, &opts.stream, "", text),
        );
        return;
    }
    if !opts.consumer.is_empty() && !consumer_found {
        let text = format!(
            "JetStream consumer {} not found for stream {} on account {}",
            go_quote(&opts.consumer),
            go_quote(&opts.stream),
            go_quote(&opts.account)
        );
        not_found(
            h,
            details,
            health_error(
                "CONSUMER",
                &opts.account,
                &opts.stream,
                &opts.consumer,
                text,
            ),
        );
    }
}

#[cfg(test)]
#[path = "jsz_tests.rs"]
mod tests;
