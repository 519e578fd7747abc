//! System account events and requests, as nats-server sends and answers them: client
//! connect/disconnect and account connection counts, periodic server statistics, the
//! shutdown notice, and the `$SYS.REQ.*` monitoring requests.
//!
//! The server's own subscriptions belong to an internal client without a socket (see
//! [`internal`]): they sit in the system account's sublist like any client's, so delivery
//! needs nothing special; the internal client's "writer" parses what was delivered to it
//! and runs the handlers.

pub mod internal;
pub mod messages;
mod requests;
mod statsz;

use crate::account::Account;
use crate::client::{Client, Subscription};
use crate::closed::ClosedState;
use crate::monitor::accounts::{AccountStat, DataStats};
use crate::monitor::gotime::GoTime;
use crate::server::ServerShared;
use internal::{Handler, InternalClient};
use messages::*;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Intervals of the periodic events (Go keeps them in package variables its tests change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The first statsz goes out after this; the interval then doubles up to `statsz`.
    pub statsz_first: Duration,
    /// Longest interval between statsz broadcasts (Go's `statsHBInterval`).
    pub statsz: Duration,
    /// Broadcasts closer than this are skipped (Go's `statszRateLimit`).
    pub statsz_rate_limit: Duration,
    /// How often an account with connections repeats its connection count (Go's
    /// `eventsHBInterval`).
    pub account_conns: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            statsz_first: Duration::from_millis(250),
            statsz: Duration::from_secs(10),
            statsz_rate_limit: Duration::from_secs(1),
            account_conns: Duration::from_secs(30),
        }
    }
}

/// The events state of a server; `system()` is set while events run.
#[derive(Debug, Default)]
pub struct Events {
    system: Mutex<Option<Arc<System>>>,
    timing: Mutex<Timing>,
}

impl Events {
    pub fn new() -> Events {
        Events::default()
    }

    /// The running system state, if the server has a system account and is up.
    pub fn system(&self) -> Option<Arc<System>> {
        self.system.lock().clone()
    }

    /// Whether events run (Go's `EventsEnabled`).
    pub fn enabled(&self) -> bool {
        self.system.lock().is_some()
    }

    pub fn timing(&self) -> Timing {
        *self.timing.lock()
    }

    /// Changes the intervals; running timers pick them up at their next tick.
    pub fn set_timing(&self, t: Timing) {
        *self.timing.lock() = t;
    }
}

/// What runs while events are on: the internal client, the message sequence, timers.
#[derive(Debug)]
pub struct System {
    pub account: Arc<Account>,
    pub internal: Arc<InternalClient>,
    /// Sequence stamped on each message carrying server info (Go's `sys.seq`).
    seq: AtomicU64,
    statsz: Mutex<statsz::StatszState>,
    statsz_sent: AtomicU64,
    /// The internal `$SYS.SERVER.*.STATSZ` subscription: alone, it is no interest.
    remote_stats_sub: Mutex<Option<Arc<Subscription>>>,
    /// Accounts whose connection count repeats while they have connections.
    conns_timers: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    statsz_timer: Mutex<Option<tokio::task::AbortHandle>>,
    /// Accounts that have their system import subscriptions.
    imports_done: Mutex<Vec<Weak<Account>>>,
    /// Hash of the server name, for server-targeted inboxes (Go's `sys.shash`).
    pub shash: String,
    server: Weak<ServerShared>,
}

impl System {
    /// The server info block of the next message, with the next sequence number.
    pub fn server_info(&self, s: &ServerShared) -> ServerInfo {
        let opts = s.opts();
        let jetstream = s.jetstream().is_some();
        ServerInfo {
            name: s.name.clone(),
            host: s.info().host,
            id: s.id.clone(),
            domain: opts.jetstream_domain.clone(),
            version: crate::VERSION.to_string(),
            jetstream,
            // Go's capability flags with JetStream: enabled, binary stream snapshots,
            // account NRG (allowed by default).
            flags: if jetstream { 0b111 } else { 0 },
            tags: opts.tags.clone(),
            metadata: opts.metadata.clone(),
            feature_flags: crate::monitor::varz::merged_feature_flags(&opts.feature_flags),
            seq: self.seq.fetch_add(1, Ordering::AcqRel) + 1,
            time: GoTime::now(),
            ..ServerInfo::default()
        }
    }

    /// Stops the periodic statsz broadcasts.
    pub fn stop_statsz_timer(&self) {
        if let Some(t) = self.statsz_timer.lock().take() {
            t.abort();
        }
    }

    /// Records a statsz broadcast as sent now (the rate limit counts from here).
    pub fn mark_statsz_sent(&self) {
        self.statsz.lock().last = Some(std::time::Instant::now());
    }

    /// Handles a statsz request as if it arrived on `$SYS.REQ.SERVER.PING` (Go's
    /// `statszReq`): without a reply it forces a broadcast.
    pub fn statsz_request(&self, s: &ServerShared, reply: &str, body: &[u8]) {
        let msg = internal::InMsg {
            subject: "$SYS.REQ.SERVER.PING".to_string(),
            reply: reply.to_string(),
            header: None,
            payload: bytes::Bytes::copy_from_slice(body),
            publisher: 0,
        };
        requests::statsz_request(s, self, &msg);
    }

    /// Statistics messages sent (broadcasts and replies).
    pub fn statsz_sent(&self) -> u64 {
        self.statsz_sent.load(Ordering::Relaxed)
    }

    /// Messages the internal client published.
    pub fn published(&self) -> u64 {
        self.internal.published.load(Ordering::Relaxed)
    }

    /// Subscribes the internal client in the system account.
    pub fn subscribe(&self, subject: &str, handler: Handler) -> Result<Arc<Subscription>, String> {
        self.internal
            .subscribe(&self.account, subject, None, handler)
    }

    pub fn unsubscribe(&self, s: &ServerShared, sub: &Arc<Subscription>) {
        self.internal.unsubscribe(s, sub)
    }

    /// Publishes raw bytes into `acc` as the server (Go's `sendInternalAccountMsg`).
    pub fn publish_raw(
        &self,
        s: &ServerShared,
        acc: &Account,
        subject: &str,
        reply: Option<&str>,
        header: Option<&[u8]>,
        payload: &[u8],
    ) -> usize {
        internal::publish(s, &self.internal, acc, subject, reply, header, payload)
    }

    /// Publishes `msg` as JSON into the system account.
    pub fn publish_json<T: Serialize>(&self, s: &ServerShared, subject: &str, msg: &T) {
        let body = serde_json::to_vec(msg).unwrap_or_default();
        self.publish_raw(s, &self.account, subject, None, None, &body);
    }
}

/// Starts events when the server has a system account (Go's `setSystemAccount`): the
/// internal client and its subscriptions, the statsz timer, and a connection count
/// request for each account.
pub fn start(s: &Arc<ServerShared>) {
    let Some(account) = s.accounts.system().cloned() else {
        return;
    };
    let internal = Arc::new(InternalClient::new(0, account.clone()));
    let sys = Arc::new(System {
        account,
        internal: internal.clone(),
        seq: AtomicU64::new(1),
        statsz: Mutex::new(statsz::StatszState::new(s.events.timing().statsz_first)),
        statsz_sent: AtomicU64::new(0),
        remote_stats_sub: Mutex::new(None),
        conns_timers: Mutex::new(HashMap::new()),
        tasks: Mutex::new(Vec::new()),
        statsz_timer: Mutex::new(None),
        imports_done: Mutex::new(Vec::new()),
        shash: hash8(&s.name),
        server: Arc::downgrade(s),
    });
    let dispatcher = tokio::spawn(internal::dispatch_loop(Arc::downgrade(s), internal));
    sys.tasks.lock().push(dispatcher.abort_handle());
    if let Err(e) = requests::subscribe_all(s, &sys) {
        crate::error!(s.logging, "Error setting up internal tracking: {e}");
    }
    *s.events.system.lock() = Some(sys.clone());
    let timer = tokio::spawn(statsz::timer_loop(Arc::downgrade(s)));
    *sys.statsz_timer.lock() = Some(timer.abort_handle());
    // Ask who else tracks each account (Go's `enableAccountTracking`); alone, this only
    // reaches our own handler, which answers for accounts with connections.
    for acc in s.accounts.all() {
        let m = AccNumConnsReq {
            server: sys.server_info(s),
            account: acc.name.clone(),
        };
        let body = serde_json::to_vec(&m).unwrap_or_default();
        let reply = format!("$SYS._INBOX_.{}", s.id);
        sys.publish_raw(
            s,
            &sys.account,
            &format!("$SYS.REQ.ACCOUNT.{}.CONNS", acc.name),
            Some(&reply),
            None,
            &body,
        );
    }
}

/// The accounts changed (a reload): accounts new to the server get the system imports,
/// as Go registers them for each account it adds.
pub fn accounts_changed(s: &Arc<ServerShared>) {
    if let Some(sys) = s.events.system() {
        if let Err(e) = requests::subscribe_account_imports(s, &sys) {
            crate::error!(s.logging, "Error setting up system service imports: {e}");
        }
    }
}

/// Stops events: the shutdown notice goes out first, then timers and the internal
/// client stop (Go's `shutdownEventing`).
pub fn shutdown(s: &ServerShared) {
    let Some(sys) = s.events.system.lock().take() else {
        return;
    };
    let si = sys.server_info(s);
    sys.publish_json(s, &format!("$SYS.SERVER.{}.SHUTDOWN", s.id), &si);
    sys.stop_statsz_timer();
    for t in sys.tasks.lock().drain(..) {
        t.abort();
    }
    for (_, t) in sys.conns_timers.lock().drain() {
        t.abort();
    }
    sys.internal.close(s);
}

/// Lame duck mode announced (Go's `sendLDMShutdownEventLocked`).
pub fn lame_duck(s: &ServerShared) {
    if let Some(sys) = s.events.system() {
        let si = sys.server_info(s);
        sys.publish_json(s, &format!("$SYS.SERVER.{}.LAMEDUCK", s.id), &si);
    }
}

fn client_info(s: &ServerShared, c: &Client) -> ClientInfo {
    let o = c.connect_opts();
    let acc = c.account().unwrap_or_else(|| s.global_account().clone());
    ClientInfo {
        start: Some(c.activity.start()),
        host: c.remote_host().to_string(),
        id: c.cid,
        account: acc.name.clone(),
        user: c.raw_auth_user(),
        name: o.name,
        lang: o.lang,
        version: o.version,
        name_tag: acc.name_tag().to_string(),
        kind: "Client".to_string(),
        client_type: "nats".to_string(),
        ..ClientInfo::default()
    }
}

/// A client authenticated (each CONNECT): `$SYS.ACCOUNT.<acc>.CONNECT`.
pub fn client_connected(s: &ServerShared, c: &Client) {
    let Some(sys) = s.events.system() else {
        return;
    };
    let client = client_info(s, c);
    let subject = format!("$SYS.ACCOUNT.{}.CONNECT", client.account);
    let m = ConnectEventMsg {
        kind: CONNECT_EVENT_TYPE.to_string(),
        id: next_event_id(),
        timestamp: GoTime::now(),
        server: sys.server_info(s),
        client,
    };
    sys.publish_json(s, &subject, &m);
}

fn disconnect_msg(
    s: &ServerShared,
    sys: &System,
    c: &Client,
    reason: ClosedState,
) -> DisconnectEventMsg {
    let now = GoTime::now();
    let (out_msgs, out_bytes) = c.out_stats();
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut client = client_info(s, c);
    client.stop = Some(now);
    client.rtt = c.activity.rtt_nanos();
    DisconnectEventMsg {
        kind: DISCONNECT_EVENT_TYPE.to_string(),
        id: next_event_id(),
        timestamp: now,
        server: sys.server_info(s),
        client,
        sent: DataStats {
            msgs: i(c.in_msgs.load(Ordering::Relaxed)),
            bytes: i(c.in_bytes.load(Ordering::Relaxed)),
            ..DataStats::default()
        },
        received: DataStats {
            msgs: i(out_msgs),
            bytes: i(out_bytes),
            ..DataStats::default()
        },
        reason: reason.to_string(),
    }
}

/// A client connection closed: `$SYS.ACCOUNT.<acc>.DISCONNECT`, then the account's new
/// connection count.
pub fn client_closed(s: &ServerShared, c: &Client, reason: ClosedState) {
    let Some(sys) = s.events.system() else {
        return;
    };
    let m = disconnect_msg(s, &sys, c, reason);
    sys.publish_json(
        s,
        &format!("$SYS.ACCOUNT.{}.DISCONNECT", m.client.account),
        &m,
    );
    if let Some(acc) = c.account() {
        account_conns_changed(s, &acc);
    }
}

/// Authentication failed: `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`.
pub fn auth_failed(s: &ServerShared, c: &Client, reason: ClosedState) {
    let Some(sys) = s.events.system() else {
        return;
    };
    let m = disconnect_msg(s, &sys, c, reason);
    sys.publish_json(s, &format!("$SYS.SERVER.{}.CLIENT.AUTH.ERR", s.id), &m);
}

/// The connection count of `acc` changed (a client joined or left it): sent for every
/// account but the global one, and repeated while it has connections (Go's
/// `accConnsUpdate`).
pub fn account_conns_changed(s: &ServerShared, acc: &Arc<Account>) {
    if Arc::ptr_eq(acc, s.global_account()) {
        return;
    }
    if let Some(sys) = s.events.system() {
        send_account_conns(
            s,
            &sys,
            acc,
            &[
                format!("$SYS.SERVER.ACCOUNT.{}.CONNS", acc.name),
                format!("$SYS.ACCOUNT.{}.SERVER.CONNS", acc.name),
            ],
        );
    }
}

/// Go's `Account.statz`.
pub fn account_stat(s: &ServerShared, acc: &Account) -> AccountStat {
    let conns = s.num_account_clients(acc) as i64;
    let (in_msgs, in_bytes) = acc.received.load();
    let (out_msgs, out_bytes) = acc.sent.load();
    let zero = || Some(crate::monitor::accounts::MsgBytes::default());
    AccountStat {
        account: acc.name.clone(),
        name: acc.name_tag().to_string(),
        conns,
        leaf_nodes: 0,
        total_conns: conns,
        num_subs: acc.sublist.count(),
        received: DataStats {
            msgs: in_msgs,
            bytes: in_bytes,
            gateways: zero(),
            routes: zero(),
            leafs: zero(),
        },
        sent: DataStats {
            msgs: out_msgs,
            bytes: out_bytes,
            gateways: zero(),
            routes: zero(),
            leafs: zero(),
        },
        slow_consumers: i64::try_from(acc.slow_consumers.load(Ordering::Relaxed))
            .unwrap_or(i64::MAX),
    }
}

/// Sends `acc`'s connection count to `subjects` and keeps (or stops) its heartbeat
/// (Go's `sendAccConnsUpdate`).
fn send_account_conns(
    s: &ServerShared,
    sys: &Arc<System>,
    acc: &Arc<Account>,
    subjects: &[String],
) {
    let stat = account_stat(s, acc);
    let total = stat.total_conns;
    let m = AccountNumConns {
        kind: ACCOUNT_CONNS_TYPE.to_string(),
        id: next_event_id(),
        timestamp: GoTime::now(),
        server: sys.server_info(s),
        stat,
    };
    {
        let acc_name = acc.name.clone();
        let mut timers = sys.conns_timers.lock();
        if let Some(t) = timers.remove(&acc.name) {
            t.abort();
        }
        if total > 0 {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let every = s.events.timing().account_conns;
                let acc = acc.clone();
                let server = sys.server.clone();
                let h = rt.spawn(async move {
                    tokio::time::sleep(every).await;
                    if let Some(s) = server.upgrade() {
                        account_conns_changed(&s, &acc);
                    }
                });
                timers.insert(acc_name, h.abort_handle());
            }
        }
    }
    for subj in subjects {
        sys.publish_json(s, subj, &m);
    }
}

/// An 8-character hash of a server name (Go's `getHash`), for server-targeted subjects.
pub fn hash8(name: &str) -> String {
    use sha2::{Digest, Sha256};
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let sum = Sha256::digest(name.as_bytes());
    sum.iter()
        .take(8)
        .map(|b| DIGITS[(*b as usize) % 62] as char)
        .collect()
}
