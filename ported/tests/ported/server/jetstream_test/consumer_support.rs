//! Helpers shared by the consumer ports: Go's `workerModeConfig`, pending counts on a
//! subscription polled as Go's `checkFor` does, a consumer's next delivery sequence.

use ported::jetstream::{check_for, JsClient};
use serde_json::{json, Value};
use std::time::Duration;

/// Go's `workerModeConfig(name)`: a durable pull consumer with explicit acks.
pub fn worker_mode_config(name: &str) -> Value {
    json!({"durable_name": name, "ack_policy": "explicit"})
}

/// Waits until subscription `sid` holds exactly `n` messages not taken yet (Go's
/// `checkFor` over `sub.Pending()`).
#[track_caller]
pub fn check_sub_pending(js: &mut JsClient, sid: u64, n: usize, total: Duration) {
    check_for(total, Duration::from_millis(10), || {
        let got = js.conn.pending(sid);
        if got == n {
            Ok(())
        } else {
            Err(format!(
                "Did not receive correct number of messages: {got} vs {n}"
            ))
        }
    });
}

/// Go's `o.nextSeq()`: the consumer sequence of the next delivery.
#[track_caller]
pub fn next_seq(js: &mut JsClient, stream: &str, consumer: &str) -> u64 {
    js.cinfo(stream, consumer).delivered.consumer + 1
}

/// Waits until the consumer reports `n` pull requests waiting (Go's `expectWaiting`).
#[track_caller]
pub fn expect_waiting(js: &mut JsClient, stream: &str, consumer: &str, n: u64) {
    check_for(Duration::from_secs(5), Duration::from_millis(25), || {
        let got = js.cinfo(stream, consumer).num_waiting;
        if got == n {
            Ok(())
        } else {
            Err(format!("Expected {n} waiting, got {got}"))
        }
    });
}

/// A small pseudo-random sequence (the Go tests use `math/rand`; any spread will do).
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(seed | 1)
    }

    /// A number in `0..n` (Go's `rand.Intn`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
