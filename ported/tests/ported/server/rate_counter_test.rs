//! Ports of `server/rate_counter_test.go`.

use natsd::rate_counter::RateCounter;
use ported::port;
use std::time::{Duration, Instant};

port!("server/rate_counter_test.go::TestRateCounter" => rate_counter);
fn rate_counter() {
    let mut counter = RateCounter::with_interval(10, Duration::from_millis(100));

    let start = Instant::now();
    for i in 0..10 {
        assert!(
            counter.allow(Instant::now()),
            "counter should allow (iteration {i})"
        );
    }
    for i in 0..5 {
        assert!(
            !counter.allow(Instant::now()),
            "counter should not allow (iteration {i})"
        );
    }
    // The whole burst has to fit in the window for the checks above to mean anything.
    assert!(start.elapsed() < Duration::from_millis(100));

    let blocked = counter.count_blocked();
    assert_eq!(blocked, 5, "Expected blocked = 5, got {blocked}");
    let blocked = counter.count_blocked();
    assert_eq!(blocked, 0, "Expected blocked = 0, got {blocked}");

    std::thread::sleep(Duration::from_millis(150));
    assert!(
        counter.allow(Instant::now()),
        "Expected true after current time window expired"
    );
}
