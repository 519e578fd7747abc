//! A fixed-window rate limiter: at most `limit` events per interval (nats-server uses it to
//! limit TLS handshakes per second, `tls { rate_limit }`). Time is passed in.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateCounter {
    limit: u64,
    interval: Duration,
    /// Events allowed or refused in the current window, after the first.
    count: u64,
    /// Events refused since the last `count_blocked`.
    blocked: u64,
    /// End of the current window; `None` before the first event.
    window_end: Option<Instant>,
}

impl RateCounter {
    /// At most `limit` events per second.
    pub fn new(limit: u64) -> Self {
        Self::with_interval(limit, Duration::from_secs(1))
    }

    pub fn with_interval(limit: u64, interval: Duration) -> Self {
        RateCounter {
            limit,
            interval,
            count: 0,
            blocked: 0,
            window_end: None,
        }
    }

    /// Whether an event at `now` is allowed. The first event after a window ends starts a
    /// new window.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.window_end {
            Some(end) if now <= end => self.count += 1,
            _ => {
                self.count = 0;
                self.window_end = Some(now + self.interval);
            }
        }
        let allowed = self.count < self.limit;
        if !allowed {
            self.blocked += 1;
        }
        allowed
    }

    /// How many events were refused since the last call (resets the count).
    pub fn count_blocked(&mut self) -> u64 {
        std::mem::take(&mut self.blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limit_refuses_everything() {
        let mut r = RateCounter::new(0);
        let now = Instant::now();
        assert!(!r.allow(now));
        assert!(!r.allow(now + Duration::from_secs(5)));
        assert_eq!(r.count_blocked(), 2);
    }

    #[test]
    fn window_restarts_after_interval() {
        let mut r = RateCounter::with_interval(2, Duration::from_millis(10));
        let t0 = Instant::now();
        assert!(r.allow(t0));
        assert!(r.allow(t0));
        assert!(!r.allow(t0 + Duration::from_millis(10)));
        assert!(r.allow(t0 + Duration::from_millis(11)));
    }
}
