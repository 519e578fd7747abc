//! Server statistics (`$SYS.SERVER.<id>.STATSZ`): built on request and broadcast on a
//! timer that starts fast and backs off, only when someone listens.

use super::messages::{KindCounts, ServerStats, ServerStatsMsg};
use super::System;
use crate::monitor::accounts::DataStats;
use crate::server::ServerShared;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The broadcast timer's state (Go's `cstatsz` and `lastStatsz`).
#[derive(Debug)]
pub struct StatszState {
    /// The current interval, doubling up to the configured one.
    pub current: Duration,
    /// When the last broadcast went out; `None` lets the next one through at once.
    pub last: Option<Instant>,
}

impl StatszState {
    pub fn new(first: Duration) -> StatszState {
        StatszState {
            current: first,
            last: None,
        }
    }

    /// Whether a broadcast at `now` comes too soon after the last one (within the rate
    /// limit, or the current interval when shorter); if not, records it as sent.
    pub fn limited(&mut self, now: Instant, rate_limit: Duration) -> bool {
        let interval = rate_limit.min(self.current);
        if let Some(last) = self.last {
            if now.duration_since(last) < interval {
                return true;
            }
        }
        self.last = Some(now);
        false
    }

    /// The next timer interval: double, up to `max`.
    pub fn back_off(&mut self, max: Duration) -> Duration {
        if self.current < max {
            self.current = (self.current * 2).min(max);
        }
        self.current
    }
}

/// The broadcast subject of this server's statistics.
pub fn broadcast_subject(s: &ServerShared) -> String {
    format!("$SYS.SERVER.{}.STATSZ", s.id)
}

/// Sends statsz periodically until events stop.
pub async fn timer_loop(server: Weak<ServerShared>) {
    let mut wait = match server.upgrade() {
        Some(s) => s.events.timing().statsz_first,
        None => return,
    };
    loop {
        tokio::time::sleep(wait).await;
        let Some(s) = server.upgrade() else { return };
        let Some(sys) = s.events.system() else { return };
        wait = sys.statsz.lock().back_off(s.events.timing().statsz);
        send_statsz(&s, &sys, &broadcast_subject(&s));
    }
}

/// Forgets the last broadcast so the next is not rate limited (a request without reply).
pub fn reset_limit(sys: &System) {
    sys.statsz.lock().last = None;
}

/// Whether anyone but ourselves listens on `subject` in the system account (Go checks
/// this only for a standalone server).
fn has_interest(sys: &System, subject: &str) -> bool {
    let r = sys.account.sublist.match_bytes(subject.as_bytes());
    let total = r.psubs.len() + r.qsubs.len();
    if total == 0 {
        return false;
    }
    if total == 1 && r.psubs.len() == 1 {
        if let Some(own) = sys.remote_stats_sub.lock().as_ref() {
            if Arc::ptr_eq(&r.psubs[0].0, own) {
                return false;
            }
        }
    }
    true
}

/// Go's `sendStatsz`: builds and sends the statistics to `subject`, unless it is the
/// rate-limited broadcast subject or nobody listens.
pub fn send_statsz(s: &ServerShared, sys: &System, subject: &str) {
    if subject == broadcast_subject(s) {
        let limit = s.events.timing().statsz_rate_limit;
        if sys.statsz.lock().limited(Instant::now(), limit) {
            return;
        }
    }
    if !has_interest(sys, subject) {
        return;
    }
    let m = ServerStatsMsg {
        server: sys.server_info(s),
        stats: server_stats(s),
    };
    sys.publish_json(s, subject, &m);
    sys.statsz_sent.fetch_add(1, Ordering::Relaxed);
}

/// Go's `ServerStats` for this server.
pub fn server_stats(s: &ServerShared) -> ServerStats {
    let (cpu, mem) = crate::monitor::misc::process_usage();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1);
    let st = &s.stats;
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let received = DataStats {
        msgs: i(st.in_msgs.load(Ordering::Relaxed)),
        bytes: i(st.in_bytes.load(Ordering::Relaxed)),
        ..DataStats::default()
    };
    let sent = DataStats {
        msgs: i(st.out_msgs.load(Ordering::Relaxed)),
        bytes: i(st.out_bytes.load(Ordering::Relaxed)),
        ..DataStats::default()
    };
    let slow = st.slow_consumers.load(Ordering::Relaxed);
    let stale = st.stale_connections.load(Ordering::Relaxed);
    let active_accounts = s
        .accounts
        .all()
        .iter()
        .filter(|a| s.num_account_clients(a) > 0)
        .count() as i64;
    ServerStats {
        start: s.monitor.start_time(),
        mem,
        cores,
        cpu,
        connections: s.num_clients() as i64,
        total_connections: st.total_connections.load(Ordering::Relaxed),
        active_accounts,
        num_subs: s.num_subscriptions(),
        sent: sent.clone(),
        sent_to_clients: sent,
        received: received.clone(),
        received_from_clients: received,
        slow_consumers: i(slow),
        slow_consumers_stats: (slow > 0).then(|| KindCounts {
            clients: slow,
            ..KindCounts::default()
        }),
        stale_connections: i(stale),
        stale_connection_stats: (stale > 0).then(|| KindCounts {
            clients: stale,
            ..KindCounts::default()
        }),
        active_servers: 1,
        jetstream: crate::monitor::jsz::statsz_section(s),
        max_procs: cores,
        ..ServerStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_are_rate_limited() {
        let mut st = StatszState::new(Duration::from_millis(250));
        let t0 = Instant::now();
        assert!(!st.limited(t0, Duration::from_secs(1)));
        // Within the current interval (shorter than the rate limit): skipped.
        assert!(st.limited(t0 + Duration::from_millis(100), Duration::from_secs(1)));
        assert!(!st.limited(t0 + Duration::from_millis(300), Duration::from_secs(1)));
        st.last = None;
        assert!(!st.limited(t0 + Duration::from_millis(301), Duration::from_secs(1)));
    }

    #[test]
    fn interval_doubles_up_to_the_maximum() {
        let mut st = StatszState::new(Duration::from_millis(250));
        let max = Duration::from_secs(1);
        assert_eq!(st.back_off(max), Duration::from_millis(500));
        assert_eq!(st.back_off(max), Duration::from_secs(1));
        assert_eq!(st.back_off(max), Duration::from_secs(1));
    }
}
