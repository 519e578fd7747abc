//! Coalesced writes of consumer state files.
//!
//! A change to a consumer's state marks it dirty and queues it with one background
//! flusher, which writes the state at most once per [`STATE_FLUSH_INTERVAL`] per
//! consumer (Go's consumer flush loop keeps the same pace): a burst of deliveries and
//! acks costs one encode and one write per interval instead of one per change.
//!
//! **One flusher thread for the whole process**, not one per consumer: a server can hold
//! thousands of consumers, and a thread each would cost a stack and a wake-up apiece for
//! work that is small (encode, write, rename — no fsync). A flusher that falls behind
//! only leaves the files older than one interval; recovery tolerates any older state
//! (those messages are redelivered), so the cost of sharing is latency, not correctness.
//!
//! [`Schedule`] is the per-consumer bookkeeping, pure (time is an input).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::StateFile;

/// Least time between two background writes of one consumer's state (Go's `minTime` of
/// its consumer flush loop).
pub const STATE_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// When a consumer's state is due on disk.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    /// The state changed since it was last written (or a write failed).
    pub dirty: bool,
    /// The flusher holds an entry for this consumer (at most one at a time).
    pub queued: bool,
    /// When the last write finished.
    pub last_write: Option<Instant>,
    /// No write may happen any more (stopped or deleted).
    pub closed: bool,
}

/// What the flusher does with a consumer whose entry came due.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FlushStep {
    /// Nothing to write; the entry is dropped.
    Idle,
    /// Write the state now.
    Write,
    /// Too soon after the last write: come back then.
    Later(Instant),
}

impl Schedule {
    /// Earliest time the next background write may happen.
    fn earliest_write(&self, now: Instant) -> Instant {
        match self.last_write {
            Some(last) => (last + STATE_FLUSH_INTERVAL).max(now),
            None => now,
        }
    }

    /// Records a change. Returns when the flusher must come if no entry is queued yet
    /// (the caller queues one), `None` if one already is.
    pub fn changed(&mut self, now: Instant) -> Option<Instant> {
        self.dirty = true;
        if self.queued || self.closed {
            return None;
        }
        self.queued = true;
        Some(self.earliest_write(now))
    }

    /// The consumer's entry came due.
    pub fn due(&mut self, now: Instant) -> FlushStep {
        if !self.dirty || self.closed {
            self.queued = false;
            return FlushStep::Idle;
        }
        let at = self.earliest_write(now);
        if at > now {
            FlushStep::Later(at)
        } else {
            FlushStep::Write
        }
    }

    /// A write starts: what changes from here on is written by a later one.
    pub fn writing(&mut self) {
        self.dirty = false;
    }

    /// A write ended at `now`. A failed write leaves the state dirty; like Go, it is
    /// retried on the next change (or by stop), not in a loop.
    pub fn wrote(&mut self, now: Instant, ok: bool) {
        if ok {
            self.last_write = Some(now);
        } else {
            self.dirty = true;
        }
    }

    /// The flusher's write (ok or not) is over: when to come back for the changes made
    /// meanwhile, if any.
    pub fn after_flush(&mut self, now: Instant, ok: bool) -> Option<Instant> {
        if self.dirty && ok && !self.closed {
            return Some(self.earliest_write(now));
        }
        self.queued = false;
        None
    }

    /// Neither dirty nor waiting for the flusher.
    pub fn settled(&self) -> bool {
        self.closed || (!self.dirty && !self.queued)
    }
}

/// A consumer due at `at`; `order` breaks ties first come, first served.
struct Due {
    at: Instant,
    order: u64,
    file: Weak<StateFile>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

#[derive(Default)]
struct Queue {
    due: BinaryHeap<Reverse<Due>>,
    next_order: u64,
}

/// The process-wide flusher: a queue of consumers by due time and the thread that
/// writes them.
pub(super) struct Flusher {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Flusher {
    /// The flusher, started on first use; `None` if its thread could not be started
    /// (callers then write synchronously, as before coalescing).
    pub fn get() -> Option<&'static Flusher> {
        static FLUSHER: OnceLock<Option<&'static Flusher>> = OnceLock::new();
        *FLUSHER.get_or_init(|| {
            let flusher: &'static Flusher = Box::leak(Box::new(Flusher {
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("natsd-consumer-flush".to_string())
                .spawn(move || flusher.run())
                .ok()
                .map(|_| flusher)
        })
    }

    /// Queues `file` to be looked at `at`.
    pub fn queue(&self, at: Instant, file: Weak<StateFile>) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let order = q.next_order;
        q.next_order += 1;
        let first = q.due.peek().is_none_or(|Reverse(d)| at < d.at);
        q.due.push(Reverse(Due { at, order, file }));
        drop(q);
        if first {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        loop {
            let file = self.next_due();
            if let Some(file) = file.upgrade() {
                file.flush_due(self);
            }
        }
    }

    /// Waits for the earliest entry to come due and takes it.
    fn next_due(&self) -> Weak<StateFile> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            let wait = match q.due.peek() {
                None => None,
                Some(Reverse(d)) if d.at <= now => {
                    if let Some(Reverse(d)) = q.due.pop() {
                        return d.file;
                    }
                    continue;
                }
                Some(Reverse(d)) => Some(d.at - now),
            };
            q = match wait {
                None => self.wake.wait(q).unwrap_or_else(|p| p.into_inner()),
                Some(wait) => {
                    self.wake
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

/// The consumer state files a stream store has open: their count (the stream state's
/// `consumers`) and a way to bring every one of them up to date on disk.
#[derive(Default)]
pub struct OpenConsumers {
    count: AtomicUsize,
    files: Mutex<Vec<Weak<StateFile>>>,
}

impl OpenConsumers {
    /// Consumers opened and not yet stopped or deleted.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub(super) fn opened(&self, file: &Arc<StateFile>) {
        self.count.fetch_add(1, Ordering::SeqCst);
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.retain(|f| f.upgrade().is_some_and(|f| !f.is_closed()));
        files.push(Arc::downgrade(file));
    }

    pub(super) fn closed(&self) {
        let _ = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    fn open_files(&self) -> Vec<Arc<StateFile>> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.iter().filter_map(Weak::upgrade).collect()
    }

    /// Writes every open consumer's state that changed since its last write, now
    /// (fsynced if `sync`): what a snapshot or a stop of the stream reads must not lag.
    pub fn flush_all(&self, sync: bool) -> Result<(), crate::store::StoreError> {
        let mut first_err = None;
        for file in self.open_files() {
            if let Err(err) = file.flush_now(sync) {
                first_err.get_or_insert(err);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The stream is being removed: no consumer may write into its directory any more.
    pub fn close_all(&self) {
        for file in self.open_files() {
            file.close();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_change_is_due_at_once_and_later_ones_wait_out_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        assert_eq!(s.changed(t0), Some(t0), "nothing written yet: due now");
        assert_eq!(s.changed(t0 + MS), None, "already queued");
        assert_eq!(s.due(t0 + MS), FlushStep::Write);
        s.writing();
        s.wrote(t0 + 2 * MS, true);
        assert_eq!(s.after_flush(t0 + 2 * MS, true), None);
        assert!(s.settled());
        // A change 10 ms after the write is due one interval after the write.
        assert_eq!(
            s.changed(t0 + 12 * MS),
            Some(t0 + 2 * MS + STATE_FLUSH_INTERVAL)
        );
        // A change long after the last write is due at once.
        let mut s = Schedule {
            last_write: Some(t0),
            ..Schedule::default()
        };
        let late = t0 + 5 * STATE_FLUSH_INTERVAL;
        assert_eq!(s.changed(late), Some(late));
    }

    #[test]
    fn an_entry_that_comes_early_is_put_back_and_a_clean_one_dropped() {
        let t0 = Instant::now();
        let mut s = Schedule {
            last_write: Some(t0),
            ..Schedule::default()
        };
        s.changed(t0 + MS);
        assert_eq!(
            s.due(t0 + 50 * MS),
            FlushStep::Later(t0 + STATE_FLUSH_INTERVAL)
        );
        assert!(s.queued, "still queued while put back");
        // Written meanwhile by someone else (stop, snapshot): nothing left to do.
        s.writing();
        s.wrote(t0 + 60 * MS, true);
        assert_eq!(s.due(t0 + 160 * MS), FlushStep::Idle);
        assert!(!s.queued && s.settled());
    }

    #[test]
    fn changes_during_a_write_are_queued_for_one_interval_later() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.changed(t0);
        assert_eq!(s.due(t0), FlushStep::Write);
        s.writing();
        // Changes while the write runs: no second entry.
        assert_eq!(s.changed(t0 + MS), None);
        s.wrote(t0 + 3 * MS, true);
        assert_eq!(
            s.after_flush(t0 + 3 * MS, true),
            Some(t0 + 3 * MS + STATE_FLUSH_INTERVAL)
        );
        assert!(s.queued && s.dirty);
    }

    #[test]
    fn a_failed_write_stays_dirty_and_waits_for_the_next_change() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.changed(t0);
        s.writing();
        s.wrote(t0 + MS, false);
        assert!(s.dirty);
        assert_eq!(s.after_flush(t0 + MS, false), None, "no retry loop");
        assert!(!s.queued);
        // The next change queues it again (nothing was written: due at once).
        assert_eq!(s.changed(t0 + 2 * MS), Some(t0 + 2 * MS));
    }

    #[test]
    fn a_closed_consumer_is_never_queued_or_written() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.changed(t0);
        s.closed = true;
        assert_eq!(s.due(t0), FlushStep::Idle);
        assert_eq!(s.changed(t0 + MS), None);
        assert!(s.settled());
    }
}
