//! `/connz`: open and recently closed client connections, with Go's sorting, paging and
//! filters.

use super::gotime::{go_duration_string, my_uptime_nanos, GoTime};
use super::GLOBAL_ACCOUNT;
use crate::client::Client;
use crate::closed::ClosedState;
use crate::server::ServerShared;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Default and most connections returned when no `limit` is given.
pub const DEFAULT_CONN_LIST_SIZE: i64 = 1024;

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Go's `Connz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(rename = "num_connections")]
    pub num_conns: i64,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    /// `null` (None) only when an unknown account was asked for, as in Go.
    #[serde(rename = "connections")]
    pub conns: Option<Vec<ConnInfo>>,
}

impl Connz {
    /// The connections returned (none for `null`).
    pub fn conns(&self) -> &[ConnInfo] {
        self.conns.as_deref().unwrap_or(&[])
    }
}

/// Go's `ConnInfo`: one connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnInfo {
    pub cid: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub conn_type: String,
    pub ip: String,
    pub port: i64,
    pub start: GoTime,
    pub last_activity: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<GoTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    #[serde(rename = "pending_bytes")]
    pub pending: i64,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub stalls: i64,
    #[serde(rename = "subscriptions")]
    pub num_subs: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_version: String,
    #[serde(rename = "tls_cipher_suite", skip_serializing_if = "String::is_empty")]
    pub tls_cipher: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_peer_certs: Vec<TlsPeerCert>,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_first: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authorized_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<String>,
    #[serde(
        rename = "subscriptions_list_detail",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subs_detail: Vec<SubDetail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mqtt_client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyInfo>,
    /// The RTT in nanoseconds, for sorting.
    #[serde(skip)]
    pub rtt_nanos: i64,
}

/// Go's `TLSPeerCert`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsPeerCert {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(rename = "spki_sha256", skip_serializing_if = "String::is_empty")]
    pub subject_pki_sha256: String,
    #[serde(rename = "cert_sha256", skip_serializing_if = "String::is_empty")]
    pub cert_sha256: String,
}

/// Go's `ProxyInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyInfo {
    pub key: String,
}

/// Go's `SubDetail`: one subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubDetail {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_tag: String,
    pub subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    pub queue: String,
    pub sid: String,
    pub msgs: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max: i64,
    pub cid: u64,
}

impl SubDetail {
    /// A subscription as listed under its connection (no account).
    pub fn of(sub: &crate::client::Subscription) -> SubDetail {
        let max = sub.max.load(Ordering::Relaxed);
        let mut delivered = sub.delivered.load(Ordering::Relaxed);
        if max > 0 {
            delivered = delivered.min(max);
        }
        SubDetail {
            account: String::new(),
            account_tag: String::new(),
            subject: String::from_utf8_lossy(&sub.subject).into_owned(),
            queue: sub
                .queue
                .as_ref()
                .map(|q| String::from_utf8_lossy(q).into_owned())
                .unwrap_or_default(),
            sid: String::from_utf8_lossy(&sub.sid).into_owned(),
            msgs: i64::try_from(delivered).unwrap_or(i64::MAX),
            max: i64::try_from(max).unwrap_or(i64::MAX),
            cid: sub.client.cid,
        }
    }

    /// A subscription with its account, as `/subsz` and closed connections list it.
    pub fn with_account(sub: &crate::client::Subscription) -> SubDetail {
        SubDetail {
            account: sub.account.name.clone(),
            account_tag: sub.account.name_tag().to_string(),
            ..SubDetail::of(sub)
        }
    }
}

/// Which connections `/connz` reports (`state=open|closed|any`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Open,
    Closed,
    All,
}

impl ConnState {
    /// Decodes the `state` query value (case-insensitive; empty is open).
    pub fn parse(s: &str) -> Result<ConnState, String> {
        match s.to_ascii_lowercase().as_str() {
            "" | "open" => Ok(ConnState::Open),
            "closed" => Ok(ConnState::Closed),
            "any" | "all" => Ok(ConnState::All),
            _ => Err(format!("Error decoding state for {s}")),
        }
    }
}

/// Go's sort options for `/connz` (`sort=`). Only `cid`/`start` and `uptime` and `reason`
/// are ascending; the rest are descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOpt {
    Cid,
    Start,
    Subs,
    Pending,
    OutMsgs,
    InMsgs,
    OutBytes,
    InBytes,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
    Rtt,
}

impl SortOpt {
    /// Decodes a sort option; empty means by cid.
    pub fn parse(s: &str) -> Result<SortOpt, String> {
        Ok(match s {
            "" | "cid" => SortOpt::Cid,
            "start" => SortOpt::Start,
            "subs" => SortOpt::Subs,
            "pending" => SortOpt::Pending,
            "msgs_to" => SortOpt::OutMsgs,
            "msgs_from" => SortOpt::InMsgs,
            "bytes_to" => SortOpt::OutBytes,
            "bytes_from" => SortOpt::InBytes,
            "last" => SortOpt::Last,
            "idle" => SortOpt::Idle,
            "uptime" => SortOpt::Uptime,
            "stop" => SortOpt::Stop,
            "reason" => SortOpt::Reason,
            "rtt" => SortOpt::Rtt,
            _ => return Err(format!("invalid sorting option: {s}")),
        })
    }
}

/// Go's `ConnzOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnzOptions {
    /// A sort option as given (validated by [`connz`]).
    pub sort: String,
    /// Include the authorized user and account (`auth=1`).
    pub username: bool,
    pub subscriptions: bool,
    pub subscriptions_detail: bool,
    pub offset: i64,
    pub limit: i64,
    pub cid: u64,
    pub mqtt_client: String,
    pub state: ConnState,
    pub user: String,
    pub account: String,
    pub filter_subject: String,
}

/// A closed connection as kept in the ring (Go's `closedClient`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedClient {
    pub info: ConnInfo,
    pub subs: Vec<SubDetail>,
    pub user: String,
    /// Account name unless it was the global account.
    pub acc: String,
}

/// The RTT as Go rounds it for display: microseconds between 1µs and 1ms.
fn display_rtt(rtt: i64) -> i64 {
    if rtt > 1_000 && rtt < 1_000_000 {
        rtt - rtt % 1_000
    } else {
        rtt
    }
}

/// Fills a [`ConnInfo`] from a live (or just closed) connection at `now`.
fn fill(client: &Client, now: GoTime) -> ConnInfo {
    let act = &client.activity;
    let opts = client.connect_opts();
    // No RTT yet from a real client (one that named its language): measure it now, as Go.
    if act.rtt_nanos() == 0 && !opts.lang.is_empty() {
        client.send_rtt_ping();
    }
    let rtt = display_rtt(act.rtt_nanos());
    let start = act.start();
    let last = act.last_activity();
    let (out_msgs, out_bytes) = client.out_stats();
    let mut ci = ConnInfo {
        cid: client.cid,
        kind: "Client".to_string(),
        conn_type: "nats".to_string(),
        start,
        last_activity: last,
        uptime: my_uptime_nanos(now.sub(start)),
        idle: my_uptime_nanos(now.sub(last)),
        rtt: go_duration_string(rtt),
        rtt_nanos: rtt,
        out_msgs: i64::try_from(out_msgs).unwrap_or(i64::MAX),
        out_bytes: i64::try_from(out_bytes).unwrap_or(i64::MAX),
        num_subs: u32::try_from(client.num_subs()).unwrap_or(u32::MAX),
        pending: i64::try_from(client.pending_bytes()).unwrap_or(i64::MAX),
        name: opts.name,
        lang: opts.lang,
        version: opts.version,
        in_msgs: i64::try_from(client.in_msgs.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
        in_bytes: i64::try_from(client.in_bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
        ..ConnInfo::default()
    };
    if client.remote_port() != 0 {
        ci.port = i64::from(client.remote_port());
        ci.ip = client.remote_host().to_string();
    }
    // The trusted proxy the client came through.
    if let Some(key) = client.auth.proxy_key.lock().clone() {
        ci.proxy = Some(ProxyInfo { key });
    }
    // Set once the TLS handshake has completed (empty while it runs, as in Go).
    if let Some(tls) = client.tls.get() {
        ci.tls_version = tls.version.clone();
        ci.tls_cipher = tls.cipher.clone();
        ci.tls_first = tls.first;
    }
    ci
}

/// The client's certificates, shown with `auth` (Go's `makePeerCerts`).
fn peer_certs(client: &Client) -> Vec<TlsPeerCert> {
    client.tls.get().map_or_else(Vec::new, |tls| {
        tls.peer_certs
            .iter()
            .map(|c| TlsPeerCert {
                subject: c.subject.clone(),
                subject_pki_sha256: c.spki_sha256.clone(),
                cert_sha256: c.cert_sha256.clone(),
            })
            .collect()
    })
}

/// The record kept for a connection that just closed (subscriptions still attached).
pub(crate) fn closed_record(client: &Client, reason: ClosedState, now: GoTime) -> ClosedClient {
    let subs: Vec<SubDetail> = client
        .subs
        .lock()
        .values()
        .map(|s| SubDetail::with_account(s))
        .collect();
    let mut info = fill(client, now);
    info.num_subs = u32::try_from(subs.len()).unwrap_or(u32::MAX);
    info.stop = Some(now);
    info.reason = reason.to_string();
    let acc = client.account_name();
    ClosedClient {
        info,
        subs,
        user: client.raw_auth_user(),
        acc: if acc == GLOBAL_ACCOUNT {
            String::new()
        } else {
            acc
        },
    }
}

/// Go's `Server.Connz`: connections as `opts` select, sort and page them.
pub fn connz(s: &ServerShared, opts: &ConnzOptions) -> Result<Connz, String> {
    let sort = SortOpt::parse(&opts.sort)?;
    let auth = opts.username;
    let offset = opts.offset.max(0);
    let mut limit = if opts.limit <= 0 {
        DEFAULT_CONN_LIST_SIZE
    } else {
        opts.limit
    };
    let state = opts.state;
    if sort == SortOpt::Stop && state != ConnState::Closed {
        return Err("sort by stop only valid on closed connections".to_string());
    }
    if sort == SortOpt::Reason && state != ConnState::Closed {
        return Err("sort by reason only valid on closed connections".to_string());
    }
    let cid = opts.cid;
    if cid > 0 {
        limit = 1;
    }
    let acc = opts.account.as_str();
    let mut filter = "";
    if !opts.filter_subject.is_empty() && opts.filter_subject != ">" {
        if acc.is_empty() {
            return Err("filter by subject only valid with account filtering".to_string());
        }
        filter = opts.filter_subject.as_str();
    }
    let now = GoTime::now();
    let mut c = Connz {
        offset,
        limit,
        now,
        ..Connz::default()
    };
    // An unknown account: Go answers with what it has so far (no server id, no list).
    let mut clist = s.clients();
    if !acc.is_empty() {
        let Some(a) = s.accounts.lookup(acc) else {
            return Ok(c);
        };
        clist.retain(|cl| cl.account().is_some_and(|ca| Arc::ptr_eq(&ca, &a)));
    }
    c.id = s.id.clone();
    let mut closed: Vec<ClosedClient> = Vec::new();
    match state {
        ConnState::Open => c.total = clist.len() as i64,
        ConnState::Closed => {
            closed = s.monitor.closed_clients();
            c.total = closed.len() as i64;
        }
        ConnState::All => {
            closed = s.monitor.closed_clients();
            c.total = (clist.len() + closed.len()) as i64;
        }
    }
    // Closed records keep the account only when it is not the global one, so asking for
    // the global account leaves none of them (as in Go).
    if !acc.is_empty() && !closed.is_empty() {
        let before = closed.len();
        closed.retain(|cc| cc.acc == acc);
        c.total -= (before - closed.len()) as i64;
    }
    let mut total = c.total;
    if cid > 0 {
        total = 1;
    }
    let mut open: Vec<Arc<Client>> = Vec::new();
    if cid > 0 {
        if matches!(state, ConnState::Open | ConnState::All) {
            if let Some(cl) = clist.iter().find(|cl| cl.cid == cid) {
                open.push(cl.clone());
                closed.clear();
            }
        }
        if open.is_empty() && matches!(state, ConnState::Closed | ConnState::All) {
            closed.retain(|cc| cc.info.cid == cid);
            closed.truncate(1);
        } else if open.is_empty() {
            closed.clear();
        }
    } else if matches!(state, ConnState::Open | ConnState::All) {
        // MQTT client ids do not exist yet: a filter on them keeps nobody.
        if opts.mqtt_client.is_empty() {
            open = clist;
            if !opts.user.is_empty() {
                open.retain(|cl| cl.raw_auth_user() == opts.user);
            }
        }
    }
    if !filter.is_empty() {
        open.retain(|cl| {
            cl.subs.lock().values().any(|sub| {
                std::str::from_utf8(&sub.subject)
                    .is_ok_and(|subj| crate::subject::subjects_collide(filter, subj))
            })
        });
    }
    if open.is_empty() && closed.is_empty() {
        c.conns = Some(Vec::new());
        return Ok(c);
    }
    let mut conns: Vec<ConnInfo> = Vec::with_capacity(open.len() + closed.len());
    for cl in &open {
        let mut ci = fill(cl, now);
        if ci.num_subs > 0 {
            let subs = cl.subs.lock();
            if opts.subscriptions_detail {
                ci.subs_detail = subs.values().map(|s| SubDetail::of(s)).collect();
            } else if opts.subscriptions {
                ci.subs = subs
                    .values()
                    .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
                    .collect();
            }
        }
        if auth {
            ci.tls_peer_certs = peer_certs(cl);
            ci.authorized_user = cl.raw_auth_user();
            let name = cl.account_name();
            if name != GLOBAL_ACCOUNT {
                ci.account = name.clone();
            }
            ci.name_tag = name;
        }
        conns.push(ci);
    }
    for cc in closed {
        if !acc.is_empty() && cc.acc != acc {
            continue;
        }
        if !opts.user.is_empty() && cc.user != opts.user {
            continue;
        }
        if !opts.mqtt_client.is_empty() && cc.info.mqtt_client != opts.mqtt_client {
            continue;
        }
        let mut ci = cc.info;
        if !cc.subs.is_empty() {
            if opts.subscriptions_detail {
                ci.subs_detail = cc.subs.clone();
            } else if opts.subscriptions {
                ci.subs = cc.subs.iter().map(|s| s.subject.clone()).collect();
            }
        }
        if auth {
            ci.authorized_user = cc.user.clone();
            if !cc.acc.is_empty() && cc.acc != GLOBAL_ACCOUNT {
                ci.account = cc.acc.clone();
            }
        }
        conns.push(ci);
    }
    if conns.len() as i64 != total {
        total = conns.len() as i64;
    }
    sort_conns(&mut conns, sort, now, GoTime::now());
    let min_off = offset.min(total);
    let max_off = min_off + limit.min(total - min_off);
    let page: Vec<ConnInfo> = conns
        .drain(usize::try_from(min_off).unwrap_or(0)..usize::try_from(max_off).unwrap_or(0))
        .collect();
    c.num_conns = page.len() as i64;
    c.conns = Some(page);
    Ok(c)
}

/// Sorts as Go's `/connz` does. `now` is the report's time (idle), `uptime_now` the time
/// uptime is measured to for open connections.
pub fn sort_conns(conns: &mut [ConnInfo], sort: SortOpt, now: GoTime, uptime_now: GoTime) {
    use std::cmp::Reverse;
    match sort {
        SortOpt::Cid | SortOpt::Start => conns.sort_by_key(|c| c.cid),
        SortOpt::Subs => conns.sort_by_key(|c| Reverse(c.num_subs)),
        SortOpt::Pending => conns.sort_by_key(|c| Reverse(c.pending)),
        SortOpt::OutMsgs => conns.sort_by_key(|c| Reverse(c.out_msgs)),
        SortOpt::InMsgs => conns.sort_by_key(|c| Reverse(c.in_msgs)),
        SortOpt::OutBytes => conns.sort_by_key(|c| Reverse(c.out_bytes)),
        SortOpt::InBytes => conns.sort_by_key(|c| Reverse(c.in_bytes)),
        SortOpt::Last => conns.sort_by_key(|c| Reverse(c.last_activity.unix_nanos())),
        SortOpt::Idle => conns.sort_by_key(|c| Reverse(now.sub(c.last_activity))),
        SortOpt::Uptime => conns.sort_by_key(|c| match c.stop {
            Some(stop) if !stop.is_zero() => stop.sub(c.start),
            _ => uptime_now.sub(c.start),
        }),
        SortOpt::Stop => conns.sort_by_key(|c| Reverse(c.stop.unwrap_or_default())),
        SortOpt::Reason => conns.sort_by(|a, b| a.reason.cmp(&b.reason)),
        SortOpt::Rtt => conns.sort_by_key(|c| Reverse(c.rtt_nanos)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sort_options_like_go() {
        for s in [
            "",
            "cid",
            "start",
            "subs",
            "pending",
            "msgs_to",
            "msgs_from",
            "bytes_to",
            "bytes_from",
            "last",
            "idle",
            "uptime",
            "stop",
            "reason",
            "rtt",
        ] {
            assert!(SortOpt::parse(s).is_ok(), "{s}");
        }
        assert_eq!(
            SortOpt::parse("foo").unwrap_err(),
            "invalid sorting option: foo"
        );
    }

    #[test]
    fn states_like_go() {
        assert_eq!(ConnState::parse(""), Ok(ConnState::Open));
        assert_eq!(ConnState::parse("OPEN"), Ok(ConnState::Open));
        assert_eq!(ConnState::parse("closed"), Ok(ConnState::Closed));
        assert_eq!(ConnState::parse("ALL"), Ok(ConnState::All));
        assert_eq!(ConnState::parse("any"), Ok(ConnState::All));
        assert!(ConnState::parse("xxx").is_err());
    }

    #[test]
    fn rtt_display_truncates_to_micros_below_a_millisecond() {
        assert_eq!(display_rtt(1_234_567), 1_234_567);
        assert_eq!(display_rtt(234_567), 234_000);
        assert_eq!(display_rtt(999), 999);
    }

    #[test]
    fn idle_sorts_longest_first_and_uptime_shortest_first() {
        let now = GoTime::from_unix_nanos(1_000_000_000_000);
        let mk = |cid, start: i64, last: i64| ConnInfo {
            cid,
            start: now.add_nanos(-start),
            last_activity: now.add_nanos(-last),
            ..ConnInfo::default()
        };
        let mut v = vec![mk(1, 10, 5), mk(2, 20, 10), mk(3, 3, 2), mk(4, 30, 20)];
        sort_conns(&mut v, SortOpt::Idle, now, now);
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [4, 2, 1, 3]);
        sort_conns(&mut v, SortOpt::Uptime, now, now);
        assert_eq!(v.iter().map(|c| c.cid).collect::<Vec<_>>(), [3, 1, 2, 4]);
    }
}
