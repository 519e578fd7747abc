//! Endpoints for features natsd does not have yet, answering with the shape Go gives when
//! the feature is off (`/routez`, `/gatewayz`, `/leafz`, `/raftz`, `/ipqueuesz`),
//! plus `/healthz`, `/stacksz`, `/debug/vars` and process usage for `/varz`.

use super::gotime::GoTime;
use crate::server::ServerShared;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// Go's `Routez` (no routes: an empty list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Routez {
    #[serde(rename = "server_id")]
    pub id: String,
    #[serde(rename = "server_name")]
    pub name: String,
    pub now: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
    pub num_routes: i64,
    pub routes: Vec<serde_json::Value>,
}

/// Go's `Server.Routez`.
pub fn routez(s: &ServerShared) -> Routez {
    Routez {
        id: s.id.clone(),
        name: s.name.clone(),
        now: GoTime::now(),
        ..Routez::default()
    }
}

/// Go's `Gatewayz` (gateways off: empty maps).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gatewayz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
    pub outbound_gateways: BTreeMap<String, serde_json::Value>,
    pub inbound_gateways: BTreeMap<String, serde_json::Value>,
}

/// Go's `Server.Gatewayz`.
pub fn gatewayz(s: &ServerShared) -> Gatewayz {
    Gatewayz {
        id: s.id.clone(),
        now: GoTime::now(),
        ..Gatewayz::default()
    }
}

/// Go's `Leafz` (no leafnodes: an empty list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Leafz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(rename = "leafnodes")]
    pub num_leafs: i64,
    pub leafs: Vec<serde_json::Value>,
}

/// Go's `Server.Leafz`.
pub fn leafz(s: &ServerShared) -> Leafz {
    Leafz {
        id: s.id.clone(),
        now: GoTime::now(),
        ..Leafz::default()
    }
}

/// Why a `/jsz` request has no answer from this server (Go's `errSkipZreq`).
pub const SKIP_ZREQ: &str = "filtered response: not leader";

pub use super::jsz::{jsz, JsInfo, JszOptions};

/// Go's `HealthzOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthzOptions {
    pub js_enabled: bool,
    pub js_enabled_only: bool,
    pub js_server_only: bool,
    pub js_meta_only: bool,
    pub account: String,
    pub stream: String,
    pub consumer: String,
    pub details: bool,
}

/// Go's `HealthStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthStatus {
    pub status: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub status_code: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthzError>,
}

/// Go's `HealthzError`; `type` is one of CONNECTION, BAD_REQUEST, JETSTREAM, ACCOUNT,
/// STREAM, CONSUMER.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthzError {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stream: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consumer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Go's `Server.Healthz`: bad parameter combinations fail with 400, a server not accepting
/// clients with 500; then, when JetStream is configured, that it runs (503) and, unless
/// only that was asked, that the streams in its store directory were recovered and the
/// account, stream and consumer asked for exist (404).
pub fn healthz(s: &ServerShared, opts: &HealthzOptions) -> HealthStatus {
    let mut h = HealthStatus {
        status: "ok".to_string(),
        ..HealthStatus::default()
    };
    healthz_checks(s, opts, &mut h);
    if opts.details {
        h.status = if h.errors.is_empty() { "ok" } else { "error" }.to_string();
    }
    if h.status_code == 0 {
        h.status_code = if h.error.is_empty() && h.errors.is_empty() {
            200
        } else {
            503
        };
    }
    h
}

/// The checks of [`healthz`] in Go's order; each failure ends them.
fn healthz_checks(s: &ServerShared, opts: &HealthzOptions, h: &mut HealthStatus) {
    let fail = |h: &mut HealthStatus, code: i64, kind: &str, err: String| {
        h.status_code = code;
        if opts.details {
            h.errors.push(HealthzError {
                kind: kind.to_string(),
                error: err,
                ..HealthzError::default()
            });
        } else {
            h.status = "error".to_string();
            h.error = err;
        }
    };
    if opts.account.is_empty() && !opts.stream.is_empty() {
        fail(
            h,
            400,
            "BAD_REQUEST",
            "\"account\" must not be empty when checking stream health".to_string(),
        );
        return;
    }
    if opts.stream.is_empty() && !opts.consumer.is_empty() {
        fail(
            h,
            400,
            "BAD_REQUEST",
            "\"stream\" must not be empty when checking consumer health".to_string(),
        );
        return;
    }
    if s.client_addr().is_none() || s.is_shutting_down() {
        fail(
            h,
            500,
            "CONNECTION",
            "failed to be ready for connections after 1ms: server".to_string(),
        );
        h.status = "error".to_string();
        return;
    }
    if opts.js_server_only || !s.opts().jetstream {
        return;
    }
    let Some(js) = s.jetstream() else {
        super::jsz::jetstream_unavailable(h, opts.details);
        return;
    };
    if opts.js_enabled_only || opts.js_enabled {
        return;
    }
    let view = super::jsz::health_view(s, &js);
    super::jsz::standalone_health(&view, opts, h);
}

/// Go's `/raftz` answer when no Raft group exists: 404 with this text.
pub const NO_RAFT_NODES: &str = "No Raft nodes registered";

/// Go's `/raftz` while no Raft nodes exist.
pub fn raftz(_s: &ServerShared) -> Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>> {
    None
}

/// Go's `/ipqueuesz`: natsd has no internal queues, so the map is empty.
pub fn ipqueuesz(_s: &ServerShared) -> BTreeMap<String, serde_json::Value> {
    BTreeMap::new()
}

/// `/debug/vars` (Go's expvar): the command line and memory figures.
pub fn expvarz(_s: &ServerShared) -> serde_json::Value {
    let cmdline: Vec<String> = std::env::args().collect();
    let (_, rss) = process_usage();
    serde_json::json!({
        "cmdline": cmdline,
        "memstats": { "Sys": rss, "HeapInuse": rss },
    })
}

/// `/stacksz`: the stack of the thread serving the request (Rust has no portable way to
/// dump every thread's stack).
pub fn stacksz() -> String {
    std::backtrace::Backtrace::force_capture().to_string()
}

/// CPU use (percent since the process started) and resident memory (bytes), from /proc.
pub fn process_usage() -> (f64, i64) {
    process_usage_of("self")
}

/// [`process_usage`] of the process `pid` (`"self"` for this one).
pub fn process_usage_of(pid: &str) -> (f64, i64) {
    let page = 4096i64;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map(|pages| pages * page)
        .unwrap_or(0);
    let cpu = proc_cpu_percent(pid).unwrap_or(0.0);
    (cpu, rss)
}

fn proc_cpu_percent(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at index 2.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0;
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let start_ticks: f64 = f.get(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let elapsed = uptime - start_ticks / ticks;
    if elapsed <= 0.0 {
        return Some(0.0);
    }
    let pct = (utime + stime) / ticks / elapsed * 100.0;
    Some((pct * 10.0).round() / 10.0)
}
