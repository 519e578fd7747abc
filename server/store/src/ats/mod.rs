//! A coarse shared clock for access times (the behaviour of Go's `server/ats`).
//!
//! Stores stamp blocks and caches with "last accessed" times on hot paths; reading the
//! system clock each time costs more than the precision is worth. While at least one user
//! is registered, a background thread refreshes a shared Unix-nanosecond value every
//! [`TICK_INTERVAL`]; reads are a single atomic load. With no users the thread is stopped
//! and the value stays where it was.
//!
//! [`AccessTime`] is one such clock; [`register`], [`unregister`] and [`access_time`] use
//! the process-wide one, as Go's package-level functions do.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the shared time is refreshed while users are registered.
pub const TICK_INTERVAL: Duration = Duration::from_millis(100);

/// Reads the wall clock as Unix nanoseconds.
pub type Clock = fn() -> i64;

/// The system clock in Unix nanoseconds (0 if it is set before 1970).
pub fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Stop flag shared with the ticker thread; the condvar wakes it at once.
type StopSignal = Arc<(Mutex<bool>, Condvar)>;

struct Ticker {
    stop: StopSignal,
    /// `None` if the thread could not be started: readers then get the time of the
    /// registration, stale but valid, as they would from a slow ticker.
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Users {
    refs: u64,
    ticker: Option<Ticker>,
}

/// A coarse clock refreshed in the background while it has registered users.
pub struct AccessTime {
    now: Arc<AtomicI64>,
    users: Mutex<Users>,
    live_tickers: Arc<AtomicUsize>,
    tick: Duration,
    clock: Clock,
}

impl Default for AccessTime {
    fn default() -> AccessTime {
        AccessTime::new()
    }
}

impl std::fmt::Debug for AccessTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTime")
            .field("now", &self.now.load(Ordering::Relaxed))
            .field("refs", &self.refs())
            .field("tick", &self.tick)
            .finish()
    }
}

impl AccessTime {
    /// A clock on system time ticking every [`TICK_INTERVAL`].
    pub fn new() -> AccessTime {
        AccessTime::with_clock(TICK_INTERVAL, system_clock)
    }

    /// A clock reading `clock` every `tick` while users are registered.
    pub fn with_clock(tick: Duration, clock: Clock) -> AccessTime {
        AccessTime {
            now: Arc::new(AtomicI64::new(0)),
            users: Mutex::new(Users::default()),
            live_tickers: Arc::new(AtomicUsize::new(0)),
            tick,
            clock,
        }
    }

    fn lock_users(&self) -> MutexGuard<'_, Users> {
        // Nothing can be left half-updated under this lock, so a poisoned one is usable.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a user; the first one starts the background refresh.
    pub fn register(&self) {
        let mut users = self.lock_users();
        users.refs += 1;
        if users.refs == 1 {
            self.now.store((self.clock)(), Ordering::Relaxed);
            users.ticker = Some(self.spawn_ticker());
        }
    }

    /// Removes a user; the last one stops the background refresh and waits for it to end.
    ///
    /// # Panics
    ///
    /// When called more often than [`Self::register`]: that is a bug in the caller.
    pub fn unregister(&self) {
        let ticker = {
            let mut users = self.lock_users();
            if users.refs == 0 {
                None
            } else {
                users.refs -= 1;
                Some(if users.refs == 0 {
                    users.ticker.take()
                } else {
                    None
                })
            }
        };
        match ticker {
            None => panic!("unbalanced unregister for access time state"),
            Some(Some(t)) => stop_ticker(t),
            Some(None) => {}
        }
    }

    /// The last refreshed time in Unix nanoseconds. If it was never set, the clock is read
    /// once and kept: the worst case is a stale time, never zero.
    pub fn access_time(&self) -> i64 {
        let v = self.now.load(Ordering::Relaxed);
        if v != 0 {
            return v;
        }
        let v = (self.clock)();
        self.now.store(v, Ordering::Relaxed);
        v
    }

    /// Number of registered users.
    pub fn refs(&self) -> u64 {
        self.lock_users().refs
    }

    /// Number of background refresh threads alive (0 or 1).
    pub fn live_tickers(&self) -> usize {
        self.live_tickers.load(Ordering::SeqCst)
    }

    /// Forgets the current time, so the next read takes it from the clock again.
    #[doc(hidden)]
    pub fn reset(&self) {
        self.now.store(0, Ordering::Relaxed);
    }

    fn spawn_ticker(&self) -> Ticker {
        let stop: StopSignal = Arc::new((Mutex::new(false), Condvar::new()));
        let (now, live, tick, clock) = (
            Arc::clone(&self.now),
            Arc::clone(&self.live_tickers),
            self.tick,
            self.clock,
        );
        let signal = Arc::clone(&stop);
        live.fetch_add(1, Ordering::SeqCst);
        let thread = std::thread::Builder::new()
            .name("ats-ticker".into())
            .spawn(move || {
                let (lock, cv) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped {
                    let (guard, timeout) = cv
                        .wait_timeout(stopped, tick)
                        .unwrap_or_else(|e| e.into_inner());
                    stopped = guard;
                    if !*stopped && timeout.timed_out() {
                        now.store(clock(), Ordering::Relaxed);
                    }
                }
                live.fetch_sub(1, Ordering::SeqCst);
            });
        if thread.is_err() {
            self.live_tickers.fetch_sub(1, Ordering::SeqCst);
        }
        Ticker {
            stop,
            thread: thread.ok(),
        }
    }
}

fn stop_ticker(t: Ticker) {
    let (lock, cv) = &*t.stop;
    *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
    cv.notify_all();
    if let Some(thread) = t.thread {
        // The ticker never panics; a join error would only mean it is already gone.
        let _ = thread.join();
    }
}

impl Drop for AccessTime {
    fn drop(&mut self) {
        if let Some(t) = self.lock_users().ticker.take() {
            stop_ticker(t);
        }
    }
}

fn global() -> &'static AccessTime {
    static GLOBAL: OnceLock<AccessTime> = OnceLock::new();
    GLOBAL.get_or_init(AccessTime::new)
}

/// Registers a user of the process-wide clock (a store being opened).
pub fn register() {
    global().register();
}

/// Unregisters a user of the process-wide clock (a store being closed).
///
/// # Panics
///
/// When called more often than [`register`].
pub fn unregister() {
    global().unregister();
}

/// The process-wide coarse time in Unix nanoseconds.
pub fn access_time() -> i64 {
    global().access_time()
}

#[cfg(test)]
mod tests;
