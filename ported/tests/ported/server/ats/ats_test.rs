//! Ports of `server/ats/ats_test.go`.
//!
//! Go's tests use the package-level clock. The ports use their own [`AccessTime`], the same
//! type behind natsd's process-wide clock, so stores opened by other tests running at the
//! same time cannot change the counts they check.

use natsd_store::ats::{AccessTime, TICK_INTERVAL};
use ported::port;
use std::thread::sleep;

port!("server/ats/ats_test.go::TestNotRunningValue" => not_running_value);
fn not_running_value() {
    let ats = AccessTime::new();
    // Back to zero, as Go does in case the test runs more than once.
    ats.reset();
    let at = ats.access_time();
    assert_ne!(at, 0, "Expected non-zero access time");

    let atn = ats.access_time();
    assert_eq!(atn, at, "Did not expect updates to access time");
}

port!("server/ats/ats_test.go::TestRegisterAndUnregister" => register_and_unregister);
fn register_and_unregister() {
    let ats = AccessTime::new();
    // Go counts goroutines; the equivalent here is the clock's background threads.
    let ngrp = ats.live_tickers();

    ats.register();
    assert_eq!(ats.refs(), 1, "Expected refs to be 1");
    // A non-zero time.
    let at = ats.access_time();
    assert_ne!(at, 0, "Expected non-zero access time");
    // The time is being refreshed.
    sleep(2 * TICK_INTERVAL);
    let atn = ats.access_time();
    assert_ne!(atn, at, "Expected access time to be updated but it was not");

    // Unregister.
    ats.unregister();
    assert_eq!(ats.refs(), 0, "Expected refs to be 0");
    sleep(TICK_INTERVAL);

    let at = ats.access_time();
    sleep(2 * TICK_INTERVAL);
    let atn = ats.access_time();
    assert_eq!(atn, at, "Did not expect updates to access time");

    // No background thread left.
    let ngra = ats.live_tickers();
    assert_eq!(
        ngra, ngrp,
        "Expected same number of background threads after removing all registered"
    );

    // Going from zero to one user again starts it again.
    ats.register();
    let at = ats.access_time();
    sleep(2 * TICK_INTERVAL);
    let atn = ats.access_time();
    assert_ne!(atn, at, "Expected access time to be updated but it was not");
    let ngra = ats.live_tickers();
    assert_eq!(
        ngra,
        ngrp + 1,
        "Expected to see an additional background thread"
    );
    ats.unregister();
}

port!("server/ats/ats_test.go::TestUnbalancedUnregister" => unbalanced_unregister);
fn unbalanced_unregister() {
    let ats = AccessTime::new();
    let result = std::panic::catch_unwind(|| ats.unregister());
    assert!(
        result.is_err(),
        "Expected function to panic, but it did not"
    );
}
