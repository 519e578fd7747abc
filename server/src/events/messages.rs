//! The JSON payloads of system events and replies, with nats-server's field names.

use crate::monitor::accounts::DataStats;
use crate::monitor::gotime::GoTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema type of a connect event.
pub const CONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_connect";
/// Schema type of a disconnect event.
pub const DISCONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_disconnect";
/// Schema type of an account connections event.
pub const ACCOUNT_CONNS_TYPE: &str = "io.nats.server.advisory.v1.account_connections";

/// Who sent a system message (Go's `ServerInfo`); `seq` and `time` are stamped per message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub name: String,
    pub host: String,
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(rename = "ver")]
    pub version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_flags: BTreeMap<String, bool>,
    pub jetstream: bool,
    pub flags: u64,
    pub seq: u64,
    pub time: GoTime,
}

/// A client as events describe it (Go's `ClientInfo`; empty fields are left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<GoTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub id: u64,
    #[serde(rename = "acc", skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(rename = "svc", skip_serializing_if = "String::is_empty")]
    pub service: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(rename = "ver", skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Nanoseconds, as Go's `time.Duration`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub rtt: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<GoTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_type: String,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// `$SYS.ACCOUNT.<acc>.CONNECT` (Go's `ConnectEventMsg`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectEventMsg {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub server: ServerInfo,
    pub client: ClientInfo,
}

/// `$SYS.ACCOUNT.<acc>.DISCONNECT` and auth errors (Go's `DisconnectEventMsg`). `sent` is
/// what the client published, `received` what it was delivered, as Go counts them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisconnectEventMsg {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub server: ServerInfo,
    pub client: ClientInfo,
    pub sent: DataStats,
    pub received: DataStats,
    pub reason: String,
}

/// `$SYS.ACCOUNT.<acc>.SERVER.CONNS` (Go's `AccountNumConns`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountNumConns {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: GoTime,
    pub server: ServerInfo,
    #[serde(flatten)]
    pub stat: crate::monitor::accounts::AccountStat,
}

/// Go's `SlowConsumersStats` / `StaleConnectionStats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindCounts {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

/// Go's `ServerStats` as a standalone server fills it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerStats {
    pub start: GoTime,
    pub mem: i64,
    pub cores: i64,
    #[serde(serialize_with = "crate::monitor::gotime::go_f64")]
    pub cpu: f64,
    pub connections: i64,
    pub total_connections: u64,
    pub active_accounts: i64,
    #[serde(rename = "subscriptions")]
    pub num_subs: u32,
    pub sent: DataStats,
    pub sent_to_clients: DataStats,
    pub received: DataStats,
    pub received_from_clients: DataStats,
    pub slow_consumers: i64,
    #[serde(
        rename = "slow_consumer_stats",
        skip_serializing_if = "Option::is_none"
    )]
    pub slow_consumers_stats: Option<KindCounts>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub stale_connections: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_connection_stats: Option<KindCounts>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub stalled_clients: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub active_servers: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jetstream: Option<crate::monitor::jsz::JetStreamVarz>,
    #[serde(rename = "gomemlimit", skip_serializing_if = "is_zero_i64")]
    pub mem_limit: i64,
    #[serde(rename = "gomaxprocs", skip_serializing_if = "is_zero_i64")]
    pub max_procs: i64,
}

/// `$SYS.SERVER.<id>.STATSZ` and statsz replies (Go's `ServerStatsMsg`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerStatsMsg {
    pub server: ServerInfo,
    #[serde(rename = "statsz")]
    pub stats: ServerStats,
}

/// The error of a request (Go's `ApiError`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiError {
    pub code: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The reply to a monitoring request (Go's `ServerAPIResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerApiResponse {
    pub server: ServerInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// `$SYS.REQ.SERVER.PING.IDZ` (Go's `ServerID`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerId {
    pub name: String,
    pub host: String,
    pub id: String,
}

/// A request for an account's connection count (Go's `accNumConnsReq`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccNumConnsReq {
    pub server: ServerInfo,
    #[serde(rename = "acc")]
    pub account: String,
}

/// A 22-character unique event id, like Go's NUID.
pub fn next_event_id() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..22)
        .map(|_| DIGITS[r.gen_range(0..DIGITS.len())] as char)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn client_info_leaves_out_empty_fields() {
        let v = serde_json::to_value(ClientInfo {
            id: 3,
            account: "A".into(),
            ..ClientInfo::default()
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"id": 3, "acc": "A"}));
    }

    #[test]
    fn event_ids_are_22_base62_chars() {
        let a = next_event_id();
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, next_event_id());
    }

    #[test]
    fn account_conns_is_flat() {
        let m = AccountNumConns {
            kind: ACCOUNT_CONNS_TYPE.into(),
            stat: crate::monitor::accounts::AccountStat {
                account: "ACC".into(),
                conns: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["acc"], "ACC");
        assert_eq!(v["conns"], 1);
        assert_eq!(v["type"], ACCOUNT_CONNS_TYPE);
        let back: AccountNumConns = serde_json::from_value(v).unwrap();
        assert_eq!(back.stat.account, "ACC");
    }
}
