use super::*;
use std::time::Instant;

static FAKE_NOW: AtomicI64 = AtomicI64::new(1_000);

fn fake_clock() -> i64 {
    FAKE_NOW.load(Ordering::SeqCst)
}

/// Polls until `f` holds, for at most two seconds.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f()
}

#[test]
fn ticks_follow_the_clock_only_while_registered() {
    let at = AccessTime::with_clock(Duration::from_millis(1), fake_clock);
    assert_eq!(at.live_tickers(), 0);
    at.register();
    at.register();
    assert_eq!(at.refs(), 2);
    assert_eq!(at.live_tickers(), 1);
    let first = at.access_time();
    assert_eq!(first, FAKE_NOW.load(Ordering::SeqCst));
    FAKE_NOW.fetch_add(5_000, Ordering::SeqCst);
    assert!(eventually(|| at.access_time() == fake_clock()));

    at.unregister();
    assert_eq!(at.live_tickers(), 1);
    at.unregister();
    assert_eq!(at.refs(), 0);
    assert_eq!(at.live_tickers(), 0);
    let frozen = at.access_time();
    FAKE_NOW.fetch_add(5_000, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(at.access_time(), frozen);
}

#[test]
fn dropping_a_registered_clock_stops_its_ticker() {
    let at = AccessTime::with_clock(Duration::from_millis(1), fake_clock);
    at.register();
    let live = Arc::clone(&at.live_tickers);
    drop(at);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn unbalanced_unregister_panics_and_leaves_the_clock_usable() {
    let at = AccessTime::with_clock(Duration::from_millis(1), fake_clock);
    assert!(std::panic::catch_unwind(|| at.unregister()).is_err());
    assert_eq!(at.refs(), 0);
    at.register();
    assert_eq!(at.refs(), 1);
    at.unregister();
}

#[test]
fn the_process_wide_clock_always_reads_a_time() {
    assert!(access_time() > 0);
}
