//! When to PING a client and when to give up on it as stale, as nats-server decides it.
//!
//! Pure bookkeeping: the reader feeds it events with the current time and asks it what to
//! do when the deadline passes; it never touches the socket or the clock itself.

use std::time::{Duration, Instant};

/// How long an RTT measurement stays fresh; past it, the next timer tick pings even if the
/// client has been busy (nats-server's `DEFAULT_RTT_MEASUREMENT_INTERVAL`).
pub const RTT_MEASUREMENT_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// What the reader should do when the ping deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingAction {
    /// The client was heard from recently: no PING this round.
    Skip,
    /// Send a PING.
    SendPing,
    /// Too many PINGs went unanswered: send `-ERR 'Stale Connection'` and close.
    Stale,
}

/// PING accounting of one connection.
#[derive(Debug, Clone)]
pub struct PingTimer {
    interval: Duration,
    max_out: u32,
    /// PINGs sent and not answered by a PONG yet.
    out: u32,
    /// The last round-trip estimate; `None` until CONNECT or a PONG gives one.
    rtt: Option<Duration>,
    /// When the last PING went out.
    rtt_start: Option<Instant>,
    /// When the client last showed activity that makes a PING unnecessary: a PING of its
    /// own, or a read batch with messages or (un)subscriptions. PONGs do not count.
    last_in: Option<Instant>,
    deadline: Instant,
}

impl PingTimer {
    /// Armed at accept time with the plain interval, as nats-server does before CONNECT.
    pub fn new(now: Instant, interval: Duration, max_out: u32) -> Self {
        PingTimer {
            interval,
            max_out,
            out: 0,
            rtt: None,
            rtt_start: None,
            last_in: None,
            deadline: now + interval,
        }
    }

    /// A reload changed `ping_interval` or `ping_max`: they apply from the next firing on.
    pub fn set_limits(&mut self, interval: Duration, max_out: u32) {
        self.interval = interval;
        self.max_out = max_out;
    }

    /// When the timer fires next.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// PINGs sent and not yet answered.
    pub fn pings_out(&self) -> u32 {
        self.out
    }

    /// CONNECT was processed: the time since accept is the first RTT estimate, and the timer
    /// is re-armed with `first` (the caller applies the short first ping and jitter).
    pub fn on_connect(&mut self, now: Instant, accepted: Instant, first: Duration) {
        self.rtt = Some(non_zero(now.saturating_duration_since(accepted)));
        self.deadline = now + first;
    }

    /// The client sent a PING: it is alive, no need to ping it for a while.
    pub fn on_ping_received(&mut self, now: Instant) {
        self.last_in = Some(now);
    }

    /// A read batch carried messages or subscription changes.
    pub fn on_activity(&mut self, now: Instant) {
        self.last_in = Some(now);
    }

    /// The client sent a PONG. An unprompted one still clears the count, but without a PING
    /// of ours to time it, it gives no usable RTT, so the next tick pings anyway.
    pub fn on_pong(&mut self, now: Instant) {
        self.out = 0;
        self.rtt = Some(match self.rtt_start {
            Some(start) => non_zero(now.saturating_duration_since(start)),
            None => Duration::MAX,
        });
    }

    /// The deadline passed: re-arm and say what to do.
    pub fn fire(&mut self, now: Instant) -> PingAction {
        self.deadline = now + self.interval;
        let rtt_fresh = self
            .rtt_start
            .is_some_and(|s| now.saturating_duration_since(s) <= RTT_MEASUREMENT_INTERVAL);
        let need_rtt = self.rtt.is_none() || !rtt_fresh;
        let recently_heard = self
            .last_in
            .is_some_and(|l| now.saturating_duration_since(l) < self.interval);
        if recently_heard && !need_rtt {
            return PingAction::Skip;
        }
        if self.out + 1 > self.max_out {
            return PingAction::Stale;
        }
        self.out += 1;
        self.rtt_start = Some(now);
        PingAction::SendPing
    }
}

/// An RTT of zero means "not measured", so a measured one is at least 1ns.
fn non_zero(d: Duration) -> Duration {
    d.max(Duration::from_nanos(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn connected(t0: Instant, interval: Duration, max: u32) -> PingTimer {
        let mut p = PingTimer::new(t0, interval, max);
        p.on_connect(t0 + MS, t0, interval);
        p
    }

    #[test]
    fn unanswered_pings_up_to_max_then_stale() {
        let t0 = Instant::now();
        let mut p = connected(t0, 50 * MS, 2);
        assert_eq!(p.deadline(), t0 + 51 * MS);
        assert_eq!(p.fire(t0 + 51 * MS), PingAction::SendPing);
        assert_eq!(p.deadline(), t0 + 101 * MS);
        assert_eq!(p.fire(t0 + 101 * MS), PingAction::SendPing);
        assert_eq!(p.pings_out(), 2);
        assert_eq!(p.fire(t0 + 151 * MS), PingAction::Stale);
    }

    #[test]
    fn unprompted_pongs_do_not_suppress_pings() {
        let t0 = Instant::now();
        let mut p = connected(t0, 50 * MS, 2);
        for _ in 0..100 {
            p.on_pong(t0 + MS);
        }
        assert_eq!(p.fire(t0 + 51 * MS), PingAction::SendPing);
        assert_eq!(p.fire(t0 + 101 * MS), PingAction::SendPing);
        assert_eq!(p.fire(t0 + 151 * MS), PingAction::Stale);
    }

    #[test]
    fn client_ping_after_measured_rtt_suppresses_ours() {
        let t0 = Instant::now();
        let mut p = connected(t0, 100 * MS, 2);
        assert_eq!(p.fire(t0 + 110 * MS), PingAction::SendPing);
        p.on_pong(t0 + 111 * MS);
        assert_eq!(p.pings_out(), 0);
        p.on_ping_received(t0 + 160 * MS);
        assert_eq!(p.fire(t0 + 210 * MS), PingAction::Skip);
        // Quiet for a full interval: ping again.
        assert_eq!(p.fire(t0 + 310 * MS), PingAction::SendPing);
    }

    #[test]
    fn activity_without_rtt_still_pings() {
        let t0 = Instant::now();
        // Before CONNECT there is no RTT: activity does not hold the PING back.
        let mut p = PingTimer::new(t0, 100 * MS, 2);
        p.on_activity(t0 + 90 * MS);
        assert_eq!(p.fire(t0 + 100 * MS), PingAction::SendPing);
    }

    #[test]
    fn stale_rtt_forces_a_ping_despite_activity() {
        let t0 = Instant::now();
        let mut p = connected(t0, 100 * MS, 2);
        assert_eq!(p.fire(t0 + 100 * MS), PingAction::SendPing);
        p.on_pong(t0 + 101 * MS);
        let later = t0 + RTT_MEASUREMENT_INTERVAL + 200 * MS;
        p.on_activity(later - MS);
        assert_eq!(p.fire(later), PingAction::SendPing);
    }
}
