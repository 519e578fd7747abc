//! Paced deliveries: replay at the original rate, and the rate limit.

use super::*;
use ported::jetstream::check_for;
use ported::js_context::new_inbox;
use ported::port;
use serde_json::json;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// A small pseudo-random sequence (Go's `rand.Intn`).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        Rng(ported::jetstream::now_nanos() as u64 | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerReplayRate" => consumer_replay_rate);
fn consumer_replay_rate() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        let total = 10;
        let mut rng = Rng::new();
        let mut gaps = Vec::with_capacity(total);
        let mut lst = Instant::now();
        for _ in 0..total {
            gaps.push(lst.elapsed());
            lst = Instant::now();
            js.js.conn.publish("DC", b"OK!");
            // A gap between messages.
            std::thread::sleep(Duration::from_millis(10 + rng.below(20)));
        }
        check_for(SECOND, Duration::from_millis(5), || {
            match js.stream_state("DC").msgs as usize {
                n if n == total => Ok(()),
                n => Err(format!("Expected {total} messages, got {n}")),
            }
        });
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.add_consumer_direct("DC", json!({"deliver_subject": inbox}))
            .unwrap();
        // Instant, the default.
        let mut last = Instant::now();
        for i in 0..total {
            js.next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Unexpected error"));
            let now = Instant::now();
            // Deliveries start as the consumer starts: more tolerance for the first.
            let limit = Duration::from_millis(if i == 0 { 10 } else { 5 });
            assert!(
                now - last <= limit,
                "{name}: Expected firehose/instant delivery, got message gap of {:?}",
                now - last
            );
            last = now;
        }
        // Now the original rate.
        js.add_consumer_direct(
            "DC",
            json!({"deliver_subject": inbox, "replay_policy": "original"}),
        )
        .unwrap();
        for (i, gap_want) in gaps.iter().enumerate() {
            let start = Instant::now();
            js.next_msg_core(sid, SECOND)
                .unwrap_or_else(|| panic!("{name}: Unexpected error"));
            let gap = start.elapsed();
            let lo = gap_want.saturating_sub(Duration::from_millis(10));
            let hi = *gap_want + Duration::from_millis(15);
            assert!(
                gap >= lo && gap <= hi,
                "{name}: Gap is off for {i}, expected {gap_want:?} got {gap:?}"
            );
        }
        // Pull based.
        js.add_consumer_direct(
            "DC",
            json!({"durable_name": "PM", "ack_policy": "explicit", "replay_policy": "original"}),
        )
        .unwrap();
        let next = "$JS.API.CONSUMER.MSG.NEXT.DC.PM";
        for (i, gap_want) in gaps.iter().enumerate() {
            let start = Instant::now();
            js.js
                .conn
                .request(next, &[], b"", SECOND)
                .unwrap_or_else(|e| panic!("{name}: Unexpected error: {e:?}"));
            let gap = start.elapsed();
            let lo = gap_want.saturating_sub(Duration::from_millis(5));
            let hi = *gap_want + Duration::from_millis(10);
            assert!(
                gap >= lo && gap <= hi,
                "{name}: Gap is incorrect for {i}, expected {gap_want:?} got {gap:?}"
            );
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerReplayRateNoAck" => consumer_replay_rate_no_ack);
fn consumer_replay_rate_no_ack() {
    for (name, storage) in STORAGES {
        let (_s, mut js) = server_and_client();
        js.add_stream(json!({"name": "DC", "storage": storage}))
            .unwrap();
        let total = 10;
        let mut rng = Rng::new();
        for _ in 0..total {
            js.js
                .conn
                .request("DC", &[], b"Hello World", SECOND)
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.below(5)));
        }
        assert_eq!(js.stream_state("DC").msgs, total as u64);
        let subj = "d.dc";
        js.add_consumer_direct(
            "DC",
            json!({"durable_name": "derek", "deliver_subject": subj, "ack_policy": "none", "replay_policy": "original"}),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        let sid = js.subscribe_sync_core(subj);
        check_for(SECOND, Duration::from_millis(25), || {
            match js.pending(sid) {
                n if n == total => Ok(()),
                n => Err(format!(
                    "{name}: Did not receive correct number of messages: {n} vs {total}"
                )),
            }
        });
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerRateLimit" => consumer_rate_limit);
fn consumer_rate_limit() {
    let (_s, mut js) = server_and_client();
    let mname = "RATELIMIT";
    js.add_stream(json!({"name": mname, "storage": "file"}))
        .unwrap();
    let msg_size = 128 * 1024;
    let mut rng = Rng::new();
    let msg: Vec<u8> = (0..msg_size).map(|_| rng.below(256) as u8).collect();
    // 10 MB.
    let total_size = 10 * 1024 * 1024;
    let to_send = total_size / msg_size;
    for _ in 0..to_send {
        js.js.conn.publish(mname, &msg);
    }
    js.flush();
    check_for(5 * SECOND, Duration::from_millis(100), || {
        match js.stream_state(mname).msgs as usize {
            n if n == to_send => Ok(()),
            n => Err(format!("Expected {to_send} messages, got {n}")),
        }
    });
    // 100 Mbit.
    let rate_limit: u64 = 100 * 1024 * 1024;
    // Not for a pull consumer.
    js.add_consumer_direct(
        mname,
        json!({"durable_name": "to", "ack_policy": "explicit", "rate_limit_bps": rate_limit}),
    )
    .expect_err("a rate limit on a pull consumer");
    js.add_consumer_direct(
        mname,
        json!({"durable_name": "rate", "deliver_subject": "to", "rate_limit_bps": rate_limit, "ack_policy": "none"}),
    )
    .unwrap();
    let start = Instant::now();
    let sid = js.subscribe_sync_core("to");
    let mut received = 0;
    while received < to_send {
        js.next_msg_core(sid, 5 * SECOND)
            .expect("Did not receive all the messages in time");
        received += 1;
        assert!(
            start.elapsed() < 5 * SECOND,
            "Did not receive all the messages in time"
        );
    }
    let tt = start.elapsed();
    let rate = (8 * to_send * msg_size) as f64 / tt.as_secs_f64();
    assert!(
        rate <= rate_limit as f64 * 1.25,
        "Exceeded desired rate of {} mbps, got {:.0} mbps",
        rate_limit / (1024 * 1024),
        rate / (1024.0 * 1024.0)
    );
}
