//! Pacing deliveries: the gaps of a replay at the original rate, and the rate limit of a
//! push consumer (Go's token bucket). Pure: times are nanoseconds passed in, and the
//! answers are how long to wait.

/// Go skips replay gaps of a millisecond or less.
const MIN_REPLAY_GAP: i64 = 1_000_000;

/// A replay at the original rate (Go's `o.replay` with `lts`): messages go out spaced as
/// they were stored, until the consumer caught up with what the stream held when it
/// started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    pub active: bool,
    /// The stream's last sequence when the consumer started.
    pub until_seq: u64,
    /// The stored time of the last message that went out.
    pub last_ts: i64,
}

impl Replay {
    /// A replay of everything up to `until_seq`.
    pub fn new(until_seq: u64) -> Replay {
        Replay {
            active: true,
            until_seq,
            last_ts: 0,
        }
    }

    /// How long to wait before sending a message stored at `ts` (ns); 0 to send now.
    pub fn gap(&self, ts: i64) -> i64 {
        if !self.active || self.last_ts <= 0 {
            return 0;
        }
        let gap = ts.saturating_sub(self.last_ts);
        if gap > MIN_REPLAY_GAP {
            gap
        } else {
            0
        }
    }

    /// A message stored at `ts` went out; `next_seq` is the next stream sequence to look
    /// at: past `until_seq` the replay is over.
    pub fn sent(&mut self, ts: i64, next_seq: u64) {
        self.last_ts = ts;
        if next_seq > self.until_seq {
            self.active = false;
        }
    }
}

/// A token bucket in bytes (Go's `rate.Limiter`): `rate` bytes a second, up to `burst`
/// at once; a reservation may take the bucket below zero and waits for it to refill.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimiter {
    bytes_per_ns: f64,
    burst: f64,
    tokens: f64,
    last: i64,
}

impl RateLimiter {
    /// A limiter of `bits_per_sec` (the config's `rate_limit_bps`), full at `now`.
    pub fn new(bits_per_sec: u64, burst: i64, now: i64) -> RateLimiter {
        let burst = burst.max(1) as f64;
        RateLimiter {
            bytes_per_ns: (bits_per_sec / 8) as f64 / 1e9,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes `n` bytes at `now`; how long (ns) to wait before sending them.
    pub fn reserve(&mut self, n: i64, now: i64) -> i64 {
        if self.bytes_per_ns <= 0.0 {
            return 0;
        }
        let elapsed = now.saturating_sub(self.last).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.bytes_per_ns).min(self.burst);
        self.last = now.max(self.last);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            0
        } else {
            (-self.tokens / self.bytes_per_ns).ceil() as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn a_replay_spaces_messages_as_stored_until_caught_up() {
        let mut r = Replay::new(3);
        // The first goes at once.
        assert_eq!(r.gap(100 * MS), 0);
        r.sent(100 * MS, 2);
        assert_eq!(r.gap(130 * MS), 30 * MS);
        // A millisecond or less is not waited for.
        assert_eq!(r.gap(100 * MS + MS), 0);
        r.sent(130 * MS, 4);
        assert!(!r.active);
        assert_eq!(r.gap(500 * MS), 0);
    }

    #[test]
    fn the_rate_limit_lets_a_burst_through_then_waits() {
        // 8000 bits a second: 1000 bytes a second, 1 per millisecond.
        let mut l = RateLimiter::new(8000, 500, 0);
        assert_eq!(l.reserve(500, 0), 0);
        assert_eq!(l.reserve(100, 0), 100 * MS);
        // 100 ms later the debt is paid.
        assert_eq!(l.reserve(0, 100 * MS), 0);
        assert_eq!(l.reserve(50, 100 * MS), 50 * MS);
    }
}
