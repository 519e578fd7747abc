//! The HTTP monitoring server (`-m`/`--http_port`): `/varz`, `/connz`, `/subsz`, `/healthz`
//! and the rest of nats-server's endpoints, with Go's JSON field names, types and query
//! options.
//!
//! Each endpoint is a plain function from the server state and its options to a
//! serializable struct (`connz`, `varz`, `subsz`, ...), so it can be called and tested
//! without HTTP, as Go's `Server.Connz()` etc. can; `http.rs` only decodes the query,
//! calls them and writes the response. Nothing here takes a lock that the delivery path
//! holds for longer than a copy of a few counters.

pub mod accounts;
pub mod connz;
pub mod gotime;
mod head_deadline;
pub mod http;
pub mod jsz;
pub mod metrics;
pub mod misc;
#[cfg(test)]
mod server_tests;
pub mod subsz;
pub mod varz;

pub use accounts::{accountz, accstatz, AccountStatz, AccountStatzOptions, Accountz};
pub use connz::{
    connz, ClosedClient, ConnInfo, ConnState, Connz, ConnzOptions, SortOpt, SubDetail,
};
pub use gotime::GoTime;
pub use http::{start, Response};
pub use misc::{
    gatewayz, healthz, jsz, leafz, raftz, routez, Gatewayz, HealthStatus, HealthzOptions, JsInfo,
    JszOptions, Leafz, Routez,
};
pub use subsz::{subsz, Subsz, SubszOptions};
pub use varz::{varz, Varz};

use crate::client::Client;
use crate::closed::ClosedState;
use crate::ring::ClosedRingBuffer;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::OnceLock;
use tokio::sync::watch;

/// Endpoint paths, relative to `http_base_path`.
pub const ROOT_PATH: &str = "/";
pub const VARZ_PATH: &str = "/varz";
pub const CONNZ_PATH: &str = "/connz";
pub const ROUTEZ_PATH: &str = "/routez";
pub const GATEWAYZ_PATH: &str = "/gatewayz";
pub const LEAFZ_PATH: &str = "/leafz";
pub const SUBSZ_PATH: &str = "/subsz";
pub const STACKSZ_PATH: &str = "/stacksz";
pub const ACCOUNTZ_PATH: &str = "/accountz";
pub const ACCOUNT_STATZ_PATH: &str = "/accstatz";
pub const JSZ_PATH: &str = "/jsz";
pub const HEALTHZ_PATH: &str = "/healthz";
pub const IPQUEUES_PATH: &str = "/ipqueuesz";
pub const RAFTZ_PATH: &str = "/raftz";
pub const EXPVARZ_PATH: &str = "/debug/vars";
pub const METRICS_PATH: &str = "/metrics";

/// The only account natsd has so far (Go's global account).
pub const GLOBAL_ACCOUNT: &str = "$G";

/// What the monitor keeps about the server: closed connections, request counts, its own
/// listener.
#[derive(Debug)]
pub struct MonitorState {
    closed: Mutex<ClosedRingBuffer<ClosedClient>>,
    http_req_stats: Mutex<BTreeMap<String, u64>>,
    addr: OnceLock<SocketAddr>,
    /// True while the HTTP server runs (Go's `HTTPHandler() != nil`).
    serving: AtomicBool,
    stop_tx: watch::Sender<bool>,
    /// When the server was created and its configuration loaded (wall clock).
    start: GoTime,
    /// When the configuration was last loaded: at start, then at each reload (Go's
    /// `configTime`).
    config_load_time: Mutex<GoTime>,
}

impl MonitorState {
    pub fn new(max_closed_clients: usize) -> Self {
        let (stop_tx, _) = watch::channel(false);
        let now = GoTime::now();
        MonitorState {
            closed: Mutex::new(ClosedRingBuffer::new(max_closed_clients)),
            http_req_stats: Mutex::new(BTreeMap::new()),
            addr: OnceLock::new(),
            serving: AtomicBool::new(false),
            stop_tx,
            start: now,
            config_load_time: Mutex::new(now),
        }
    }

    /// When the configuration was last loaded (`/varz` `config_load_time`).
    pub fn config_load_time(&self) -> GoTime {
        *self.config_load_time.lock()
    }

    /// Records a successful configuration reload.
    pub(crate) fn set_config_load_time(&self, t: GoTime) {
        *self.config_load_time.lock() = t;
    }

    /// Where the monitoring listener is bound, once started.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr.get().copied()
    }

    /// Whether the HTTP server is running.
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Stops the HTTP server (on shutdown); from here on there is no handler.
    pub fn stop(&self) {
        self.serving.store(false, Ordering::Release);
        let _ = self.stop_tx.send(true);
    }

    pub fn start_time(&self) -> GoTime {
        self.start
    }

    /// Records a closed client connection for `/connz?state=closed` (Go's
    /// `saveClosedClient`); `client`'s subscriptions must still be attached.
    pub fn save_closed_client(&self, client: &Client, reason: ClosedState) {
        if self.closed.lock().capacity() == 0 {
            return;
        }
        let record = connz::closed_record(client, reason, GoTime::now());
        self.closed.lock().append(record);
    }

    /// Adds a closed-connection record as is (tests inject records this way).
    pub fn append_closed(&self, record: ClosedClient) {
        self.closed.lock().append(record);
    }

    /// A copy of the closed connections held, oldest first.
    pub fn closed_clients(&self) -> Vec<ClosedClient> {
        self.closed.lock().closed_clients()
    }

    /// How many closed connections are held.
    pub fn num_closed(&self) -> usize {
        self.closed.lock().len()
    }

    /// How many closed connections were ever recorded, including those dropped from the ring
    /// (Go's `totalClosedConns`).
    pub fn total_closed(&self) -> u64 {
        self.closed.lock().total_conns()
    }

    /// Edits the held closed connections in place (tests change stop times and reasons).
    pub fn with_closed_mut(&self, f: impl FnOnce(&mut dyn Iterator<Item = &mut ClosedClient>)) {
        let mut ring = self.closed.lock();
        f(&mut ring.iter_mut());
    }

    /// Counts one HTTP request to `path` (without the base path).
    pub(crate) fn count_request(&self, path: &str) {
        *self
            .http_req_stats
            .lock()
            .entry(path.to_string())
            .or_insert(0) += 1;
    }

    pub fn http_req_stats(&self) -> BTreeMap<String, u64> {
        self.http_req_stats.lock().clone()
    }
}

/// Per-connection times the monitor reports, kept as wall-clock nanoseconds in atomics so
/// the reader can update them without a lock: when the connection started, its last
/// activity (messages, subscriptions, deliveries) and its round-trip time.
#[derive(Debug)]
pub struct ClientActivity {
    start: AtomicI64,
    last: AtomicI64,
    rtt: AtomicI64,
    rtt_start: AtomicI64,
}

impl ClientActivity {
    pub fn new() -> Self {
        let now = gotime::now_nanos();
        ClientActivity {
            start: AtomicI64::new(now),
            last: AtomicI64::new(now),
            rtt: AtomicI64::new(0),
            rtt_start: AtomicI64::new(0),
        }
    }

    pub fn start(&self) -> GoTime {
        GoTime::from_unix_nanos(self.start.load(Ordering::Relaxed))
    }

    /// Moves the start time (tests set up uptimes this way, as Go's tests do).
    pub fn set_start(&self, t: GoTime) {
        self.start.store(t.unix_nanos(), Ordering::Relaxed);
    }

    pub fn last_activity(&self) -> GoTime {
        GoTime::from_unix_nanos(self.last.load(Ordering::Relaxed))
    }

    pub fn set_last_activity(&self, t: GoTime) {
        self.last.store(t.unix_nanos(), Ordering::Relaxed);
    }

    /// Records activity at `now_nanos` (wall clock).
    pub fn touch(&self, now_nanos: i64) {
        self.last.store(now_nanos, Ordering::Relaxed);
    }

    /// The last measured round-trip time in nanoseconds; 0 before any measurement.
    pub fn rtt_nanos(&self) -> i64 {
        self.rtt.load(Ordering::Relaxed)
    }

    /// A CONNECT arrived: it counts as activity and gives a first RTT estimate (the time
    /// since the connection was accepted), as in Go.
    pub fn on_connect(&self, now_nanos: i64) {
        self.touch(now_nanos);
        let since = now_nanos - self.start.load(Ordering::Relaxed);
        self.rtt.store(since.max(1), Ordering::Relaxed);
    }

    /// The server sent a PING: a PONG will measure the RTT from now.
    pub fn on_ping_sent(&self, now_nanos: i64) {
        self.rtt_start.store(now_nanos, Ordering::Relaxed);
    }

    /// A PONG arrived: the RTT is the time since the last server PING.
    pub fn on_pong(&self, now_nanos: i64) {
        let sent = self.rtt_start.load(Ordering::Relaxed);
        if sent != 0 {
            self.rtt.store((now_nanos - sent).max(1), Ordering::Relaxed);
        }
    }
}

impl Default for ClientActivity {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends a PING to measure the client's RTT (Go's `sendPing`), e.g. from a test.
pub fn send_rtt_ping(client: &Client) {
    client.activity.on_ping_sent(gotime::now_nanos());
    client.send_proto(crate::protocol::encode::PING);
}

/// The host monitoring listens on: `http_host`, or the client host when unset (as Go's
/// option defaults have it).
pub fn http_host(opts: &crate::config::Options) -> &str {
    if opts.http_host.is_empty() {
        &opts.host
    } else {
        &opts.http_host
    }
}

/// `base + p` as Go's `path.Join` would join them.
pub fn base_path(base: &str, p: &str) -> String {
    let joined = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        p.trim_start_matches('/')
    );
    clean_path(&joined)
}

/// Normalizes `http_base_path`: a leading slash, no trailing one, `.`/`..` resolved (Go's
/// `normalizeBasePath`).
pub fn normalize_base_path(p: &str) -> String {
    if p.is_empty() {
        return "/".to_string();
    }
    if p.starts_with('/') {
        clean_path(p)
    } else {
        clean_path(&format!("/{p}"))
    }
}

/// Go's `path.Clean` for rooted paths.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_like_go() {
        assert_eq!(normalize_base_path(""), "/");
        assert_eq!(normalize_base_path("nats"), "/nats");
        assert_eq!(normalize_base_path("/nats/"), "/nats");
        assert_eq!(normalize_base_path("/a/../b/./c"), "/b/c");
        assert_eq!(base_path("/", VARZ_PATH), "/varz");
        assert_eq!(base_path("/nats", VARZ_PATH), "/nats/varz");
        assert_eq!(base_path("/nats", ROOT_PATH), "/nats");
        assert_eq!(base_path("/", ROOT_PATH), "/");
    }

    #[test]
    fn rtt_from_connect_then_pong() {
        let a = ClientActivity::new();
        let start = a.start().unix_nanos();
        a.on_connect(start + 500);
        assert_eq!(a.rtt_nanos(), 500);
        assert_eq!(a.last_activity().unix_nanos(), start + 500);
        // A PONG without a PING sent does not change it.
        a.on_pong(start + 9_000);
        assert_eq!(a.rtt_nanos(), 500);
        a.on_ping_sent(start + 10_000);
        a.on_pong(start + 10_250);
        assert_eq!(a.rtt_nanos(), 250);
    }
}
