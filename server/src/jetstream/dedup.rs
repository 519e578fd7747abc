//! The duplicate window of a stream: message ids (`Nats-Msg-Id`) seen recently and the
//! sequence each was stored at. Time is passed in.

use std::collections::{HashMap, VecDeque};

/// Ids seen within the stream's `duplicate_window`, oldest first.
#[derive(Debug, Default)]
pub struct DedupWindow {
    by_id: HashMap<String, (u64, i64)>,
    /// (id, timestamp) in arrival order, for expiry.
    order: VecDeque<(String, i64)>,
}

impl DedupWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sequence `id` was stored at, if it is still in the window.
    pub fn check(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).map(|&(seq, _)| seq)
    }

    /// Remembers `id` as stored at `seq` at time `ts` (ns).
    pub fn store(&mut self, id: &str, seq: u64, ts: i64) {
        if self.by_id.insert(id.to_string(), (seq, ts)).is_none() {
            self.order.push_back((id.to_string(), ts));
        }
    }

    /// Forgets ids older than `window` ns at time `now` (ns). A window of 0 or less keeps
    /// nothing.
    pub fn expire(&mut self, now: i64, window: i64) {
        let cutoff = now.saturating_sub(window.max(0));
        while let Some((id, ts)) = self.order.front() {
            if window > 0 && *ts > cutoff {
                break;
            }
            // The entry may have been stored again later with a newer time.
            if self
                .by_id
                .get(id)
                .is_some_and(|&(_, t)| t <= cutoff || window <= 0)
            {
                self.by_id.remove(id);
            }
            self.order.pop_front();
        }
    }

    /// When the oldest id leaves the window (ns), if any.
    pub fn next_expiry(&self, window: i64) -> Option<i64> {
        self.order.front().map(|(_, ts)| ts.saturating_add(window))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn clear(&mut self) {
        self.by_id.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn ids_are_found_until_the_window_passes() {
        let mut d = DedupWindow::new();
        d.store("a", 1, 10 * SEC);
        d.store("b", 2, 11 * SEC);
        assert_eq!(d.check("a"), Some(1));
        d.expire(12 * SEC - 1, 2 * SEC);
        assert_eq!(d.check("a"), Some(1));
        // Gone once its time plus the window is no longer ahead (Go's rule).
        d.expire(12 * SEC, 2 * SEC);
        assert_eq!(d.check("a"), None);
        assert_eq!(d.check("b"), Some(2));
        assert_eq!(d.next_expiry(2 * SEC), Some(13 * SEC));
        d.expire(20 * SEC, 2 * SEC);
        assert!(d.is_empty());
    }

    #[test]
    fn a_zero_window_keeps_nothing() {
        let mut d = DedupWindow::new();
        d.store("a", 1, 10 * SEC);
        d.expire(10 * SEC, 0);
        assert!(d.is_empty());
    }
}
