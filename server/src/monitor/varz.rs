//! `/varz`: the server's configuration and runtime counters, with Go's field names.
//! Sections for features natsd does not have yet (cluster, gateway, leafnodes, MQTT,
//! websocket) carry the empty shape Go shows when they are off; JetStream's section is
//! built in `jsz.rs`.

use super::gotime::{duration_nanos, my_uptime_nanos, GoTime};
use crate::server::ServerShared;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

fn is_false(v: &bool) -> bool {
    !*v
}
fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// Go's `Varz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Varz {
    #[serde(rename = "server_id")]
    pub id: String,
    #[serde(rename = "server_name")]
    pub name: String,
    pub version: String,
    pub proto: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    #[serde(rename = "go")]
    pub go_version: String,
    pub host: String,
    pub port: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_ocsp_peer_verify: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    #[serde(rename = "connect_urls", skip_serializing_if = "Vec::is_empty")]
    pub client_connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    #[serde(rename = "max_connections")]
    pub max_conn: i64,
    #[serde(rename = "max_subscriptions", skip_serializing_if = "is_zero_i64")]
    pub max_subs: i64,
    /// Nanoseconds, as Go marshals `time.Duration`.
    pub ping_interval: i64,
    #[serde(rename = "ping_max")]
    pub max_pings_out: i64,
    pub http_host: String,
    pub http_port: i64,
    pub http_base_path: String,
    pub https_port: i64,
    /// Seconds.
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub auth_timeout: f64,
    pub max_control_line: i32,
    pub max_payload: i64,
    pub max_pending: i64,
    pub cluster: ClusterOptsVarz,
    pub gateway: GatewayOptsVarz,
    #[serde(rename = "leaf")]
    pub leafnode: LeafNodeOptsVarz,
    pub mqtt: MqttOptsVarz,
    pub websocket: WebsocketOptsVarz,
    pub jetstream: JetStreamVarz,
    /// Seconds.
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub tls_timeout: f64,
    /// Nanoseconds.
    pub write_deadline: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
    pub start: GoTime,
    pub now: GoTime,
    pub uptime: String,
    pub mem: i64,
    pub cores: i64,
    #[serde(rename = "gomaxprocs")]
    pub max_procs: i64,
    #[serde(rename = "gomemlimit", skip_serializing_if = "is_zero_i64")]
    pub mem_limit: i64,
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub cpu: f64,
    pub connections: i64,
    pub total_connections: u64,
    pub routes: i64,
    pub remotes: i64,
    #[serde(rename = "leafnodes")]
    pub leafs: i64,
    pub in_msgs: i64,
    pub in_bytes: i64,
    pub in_client_msgs: i64,
    pub in_client_bytes: i64,
    pub out_msgs: i64,
    pub out_bytes: i64,
    pub out_client_msgs: i64,
    pub out_client_bytes: i64,
    pub slow_consumers: i64,
    pub stale_connections: i64,
    pub stalled_clients: i64,
    pub subscriptions: u32,
    pub http_req_stats: BTreeMap<String, u64>,
    pub config_load_time: GoTime,
    pub config_digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_flags: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    #[serde(rename = "pinned_account_fails", skip_serializing_if = "is_zero_u64")]
    pub pinned_account_fail: u64,
    #[serde(rename = "slow_consumer_stats")]
    pub slow_consumers_stats: Option<ConnKindStats>,
    #[serde(
        rename = "stale_connection_stats",
        skip_serializing_if = "Option::is_none"
    )]
    pub stale_connection_stats: Option<ConnKindStats>,
    pub disk_io_wait_stats: Option<DiskIoWaitStats>,
    /// The trusted proxies, when `proxies` is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxies: Option<ProxiesOptsVarz>,
}

/// Go's `ProxiesOptsVarz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxiesOptsVarz {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted: Vec<ProxyOptsVarz>,
}

/// Go's `ProxyOptsVarz`: one trusted proxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyOptsVarz {
    pub key: String,
}

/// Go's `ClusterOptsVarz`; empty when no cluster is configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterOptsVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "addr", skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(rename = "cluster_port", skip_serializing_if = "is_zero_i64")]
    pub port: i64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub auth_timeout: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pool_size: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub write_deadline: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
}

/// Go's `GatewayOptsVarz`; empty when gateways are off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayOptsVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub auth_timeout: f64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub advertise: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub connect_retries: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub reject_unknown: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub write_deadline: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
}

/// Go's `LeafNodeOptsVarz`; empty when leafnodes are off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeafNodeOptsVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub auth_timeout: f64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    #[serde(serialize_with = "super::gotime::go_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_ocsp_peer_verify: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub write_deadline: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
}

/// Go's `MQTTOptsVarz`; empty when MQTT is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttOptsVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
}

/// Go's `WebsocketOptsVarz`; empty when websocket is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebsocketOptsVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub port: i64,
}

pub use super::jsz::JetStreamVarz;

/// Go's `SlowConsumersStats` / `StaleConnectionStats`: counts per connection kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnKindStats {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

/// Go's `DiskIOWaitStats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiskIoWaitStats {
    pub waiters: i64,
    pub waits: u64,
    pub wait_time: u64,
    pub max_wait_time: u64,
}

/// The default feature flags with the configured values of the known ones on top.
pub fn merged_feature_flags(configured: &BTreeMap<String, bool>) -> BTreeMap<String, bool> {
    crate::feature_flags::merged(crate::feature_flags::DEFAULTS, configured)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Go's `Server.Varz`.
pub fn varz(s: &ServerShared) -> Varz {
    let opts = &s.opts();
    let info = s.info();
    let (cpu, rss) = super::misc::process_usage();
    let now = GoTime::now();
    let start = s.monitor.start_time();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1);
    let st = &s.stats;
    let in_msgs = to_i64(st.in_msgs.load(Ordering::Relaxed));
    let in_bytes = to_i64(st.in_bytes.load(Ordering::Relaxed));
    let out_msgs = to_i64(st.out_msgs.load(Ordering::Relaxed));
    let out_bytes = to_i64(st.out_bytes.load(Ordering::Relaxed));
    let slow = st.slow_consumers.load(Ordering::Relaxed);
    let stale = st.stale_connections.load(Ordering::Relaxed);
    Varz {
        id: info.server_id.clone(),
        name: info.server_name.clone(),
        version: info.version.clone(),
        proto: i64::from(info.proto),
        git_commit: info.git_commit.clone(),
        go_version: info.go.clone(),
        host: info.host.clone(),
        port: i64::from(info.port),
        auth_required: info.auth_required,
        tls_required: info.tls_required,
        tls_verify: info.tls_verify,
        client_connect_urls: info.connect_urls.clone(),
        max_conn: opts.max_connections,
        max_subs: opts.max_subs,
        ping_interval: duration_nanos(opts.ping_interval),
        max_pings_out: i64::from(opts.max_pings_out),
        http_host: super::http_host(opts).to_string(),
        http_port: i64::from(opts.http_port),
        http_base_path: opts.http_base_path.clone(),
        https_port: i64::from(opts.https_port),
        auth_timeout: opts.auth_timeout.as_secs_f64(),
        max_control_line: opts.max_control_line,
        max_payload: i64::from(opts.max_payload),
        max_pending: opts.max_pending,
        tls_timeout: opts.tls_timeout.as_secs_f64(),
        write_deadline: duration_nanos(opts.write_deadline),
        start,
        now,
        uptime: my_uptime_nanos(now.sub(start)),
        mem: rss,
        cores,
        max_procs: cores,
        cpu,
        connections: s.num_clients() as i64,
        total_connections: st.total_connections.load(Ordering::Relaxed),
        in_msgs,
        in_bytes,
        in_client_msgs: in_msgs,
        in_client_bytes: in_bytes,
        out_msgs,
        out_bytes,
        out_client_msgs: out_msgs,
        out_client_bytes: out_bytes,
        slow_consumers: to_i64(slow),
        subscriptions: s.num_subscriptions(),
        http_req_stats: s.monitor.http_req_stats(),
        config_load_time: s.monitor.config_load_time(),
        config_digest: opts.config_digest.clone(),
        tags: opts.tags.clone(),
        metadata: opts.metadata.clone(),
        feature_flags: merged_feature_flags(&opts.feature_flags),
        slow_consumers_stats: Some(ConnKindStats {
            clients: slow,
            ..ConnKindStats::default()
        }),
        stale_connections: to_i64(stale),
        stale_connection_stats: Some(ConnKindStats {
            clients: stale,
            ..ConnKindStats::default()
        }),
        disk_io_wait_stats: Some(DiskIoWaitStats::default()),
        system_account: s
            .accounts
            .system()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        jetstream: super::jsz::jetstream_varz(s),
        proxies: opts.proxies.as_ref().map(|p| ProxiesOptsVarz {
            trusted: p
                .trusted
                .iter()
                .map(|k| ProxyOptsVarz { key: k.clone() })
                .collect(),
        }),
        ..Varz::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn feature_flags_merge_known_keys_only() {
        let mut cfg = BTreeMap::new();
        cfg.insert("js_ack_fc_v2".to_string(), true);
        cfg.insert("unknown".to_string(), true);
        let m = merged_feature_flags(&cfg);
        assert_eq!(m.len(), 2);
        assert!(m["js_ack_fc_v2"]);
        assert!(!m["js_raft_delete_range"]);
    }
}
