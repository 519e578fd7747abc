//! Ack sampling, filter matching, pending counts, and several consumers at once.

use super::*;
use ported::jetstream::check_for;
use ported::js_context::{new_inbox, SubOpts, SEC};
use ported::port;
use serde_json::{json, Value};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// The ack metric of the first message of consumer `dlc` on `TEST`.
fn check_ack_metric(metric: &ported::jetstream::NatsMsg) {
    let am: Value = serde_json::from_slice(&metric.payload).unwrap();
    assert!(
        am["stream"] == "TEST" && am["consumer"] == "dlc" && am["consumer_seq"] == 1,
        "Not a proper ack metric: {am}"
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckSampling" => consumer_ack_sampling);
fn consumer_ack_sampling() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "filter_subject": "foo", "sample_freq": "100%"}),
    )
    .unwrap();
    let mut sub = js.pull_subscribe("foo", "dlc", SubOpts::default()).unwrap();
    js.publish_ok("foo", b"Hello");
    let msub = js.subscribe_sync_core("$JS.EVENT.METRIC.>");
    for m in js.fetch_msgs(&mut sub, 1, SECOND) {
        js.ack_sync(&m).unwrap();
    }
    let metric = js.next_msg_core(msub, SECOND).expect("an ack metric");
    check_ack_metric(&metric);

    // Less than 100%.
    js.add_consumer(
        "TEST",
        json!({"durable_name": "alps", "ack_policy": "explicit", "filter_subject": "foo", "sample_freq": "50%"}),
    )
    .unwrap();
    let mut asub = js
        .pull_subscribe("foo", "alps", SubOpts::default())
        .unwrap();
    let total = 500;
    for _ in 0..total {
        js.publish_ok("foo", b"Hello");
    }
    let mut mp = 0;
    for m in js.fetch_msgs(&mut asub, total, SECOND) {
        js.ack_sync(&m).unwrap();
        mp += 1;
    }
    js.flush();
    assert_eq!(mp, total, "Got only {mp} msgs out of {total}");
    // About 250.
    let n = js.pending(msub);
    assert!((200..=300).contains(&n), "Expected about 250, got {n}");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerAckSamplingSpecifiedUsingUpdateConsumer" => consumer_ack_sampling_specified_using_update_consumer);
fn consumer_ack_sampling_specified_using_update_consumer() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "filter_subject": "foo"}),
    )
    .unwrap();
    js.update_consumer(
        "TEST",
        json!({"durable_name": "dlc", "ack_policy": "explicit", "filter_subject": "foo", "sample_freq": "100%"}),
    )
    .unwrap();
    let mut sub = js.pull_subscribe("foo", "dlc", SubOpts::default()).unwrap();
    js.publish_ok("foo", b"Hello");
    let msub = js.subscribe_sync_core("$JS.EVENT.METRIC.>");
    for m in js.fetch_msgs(&mut sub, 1, SECOND) {
        js.ack_sync(&m).unwrap();
    }
    let metric = js.next_msg_core(msub, SECOND).expect("an ack metric");
    check_ack_metric(&metric);
}

/// Go's `filterSubjects(n)`: `n` filters from 5-token literals, each followed by its
/// variants with one token made `*`.
pub(super) fn filter_subjects(n: usize) -> Vec<String> {
    let mut fs = Vec::with_capacity(n);
    let mut i = 0u64;
    loop {
        i += 1;
        let unique = format!("u{i}x{}", std::process::id());
        let literals = ["foo", "bar", unique.as_str(), "xyz", "abcdef"];
        fs.push(literals.join("."));
        if fs.len() == n {
            return fs;
        }
        for wc in 0..literals.len() {
            let e: Vec<&str> = literals
                .iter()
                .enumerate()
                .map(|(j, l)| if j == wc { "*" } else { *l })
                .collect();
            fs.push(e.join("."));
            if fs.len() == n {
                return fs;
            }
        }
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerIsFilteredMatch" => consumer_is_filtered_match);
fn consumer_is_filtered_match() {
    use natsd::jetstream::api::types::ConsumerConfig;
    use natsd::jetstream::consumer::{config_filters, is_filtered_match};
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for (name, filters, subject, result) in [
        ("no filter", s(&[]), "foo.bar", true),
        ("literal match", s(&["foo.baz", "foo.bar"]), "foo.bar", true),
        (
            "literal mismatch",
            s(&["foo.baz", "foo.bar"]),
            "foo.ban",
            false,
        ),
        ("wildcard > match", s(&["bar.>", "foo.>"]), "foo.bar", true),
        ("wildcard > match", s(&["bar.>", "foo.>"]), "bar.foo", true),
        (
            "wildcard > mismatch",
            s(&["bar.>", "foo.>"]),
            "baz.foo",
            false,
        ),
        ("wildcard * match", s(&["bar.*", "foo.*"]), "foo.bar", true),
        ("wildcard * match", s(&["bar.*", "foo.*"]), "bar.foo", true),
        (
            "wildcard * mismatch",
            s(&["bar.*", "foo.*"]),
            "baz.foo",
            false,
        ),
        (
            "wildcard * match",
            s(&["foo.*.x", "foo.*.y"]),
            "foo.bar.x",
            true,
        ),
        (
            "wildcard * match",
            s(&["foo.*.x", "foo.*.y", "foo.*.z"]),
            "foo.bar.z",
            true,
        ),
        (
            "many mismatch",
            filter_subjects(100),
            "foo.bar.do.not.match.any.filter.subject",
            false,
        ),
        // Matched by "foo.bar.*.xyz.abcdef".
        (
            "many match",
            filter_subjects(100),
            "foo.bar.12345.xyz.abcdef",
            true,
        ),
    ] {
        let cfg = ConsumerConfig {
            filter_subjects: filters.clone(),
            ..Default::default()
        };
        assert_eq!(
            is_filtered_match(&config_filters(&cfg), subject),
            result,
            "{name}: Subject {subject:?} filtered match of {filters:?}"
        );
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerPendingCountAfterMsgAckAboveFloor" => consumer_pending_count_after_msg_ack_above_floor);
fn consumer_pending_count_after_msg_ack_above_floor() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "retention": "workqueue"}))
        .unwrap();
    for _ in 0..2 {
        js.publish_ok("foo", b"");
    }
    let mut sub = js
        .pull_subscribe("foo", "CONSUMER", SubOpts::default())
        .unwrap();
    // Go reads the consumer's pending count (o.npc), which its info reports.
    let require_expected = |js: &mut JsContext, expected: u64| {
        check_for(SECOND, Duration::from_millis(10), || {
            let npc = js.info("TEST", "CONSUMER")["num_pending"].as_u64();
            if npc == Some(expected) {
                Ok(())
            } else {
                Err(format!("expected npc={expected}, got {npc:?}"))
            }
        });
    };
    require_expected(&mut js, 2);
    // Fetch both, ack the last.
    let msgs = js.fetch(&mut sub, 2, 5 * SECOND).unwrap();
    assert_eq!(msgs.len(), 2);
    js.ack_sync(&msgs[1]).unwrap();
    // Both fetched: nothing pending.
    require_expected(&mut js, 0);
}

/// Go's two tests of several push consumers with filters while messages come at random
/// intervals: `consumers` (name, filters, expected deliveries) each ack what they get on
/// a connection of their own (Go's callbacks); `subjects` (subject, count, with a random
/// last token) are published asynchronously by a thread each. With `wait_acks` the
/// publish acks are awaited (within 15 s) before the check; the check then polls for
/// `total` every `interval` until every consumer delivered and acknowledged its count.
fn consumers_while_publishing(
    subjects: &[(&'static str, usize, bool)],
    consumers: &[(&'static str, Vec<&'static str>, u64)],
    wait_acks: bool,
    total: Duration,
    interval: Duration,
) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let (s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits",
        "subjects": ["one", "two", "three", "four", "five.>"], "max_age": 90 * SEC,
    }))
    .unwrap();
    let mut counters = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for (name, filters, _) in consumers {
        let name = *name;
        let inbox = new_inbox();
        js.add_consumer_direct(
            "TEST",
            json!({
                "durable_name": name, "filter_subjects": filters, "ack_policy": "explicit",
                "deliver_policy": "all", "ack_wait": 30 * SEC, "deliver_subject": inbox,
            }),
        )
        .unwrap();
        let delivered = Arc::new(AtomicU64::new(0));
        counters.push(delivered.clone());
        let (addr, stop) = (s.addr(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut c = JsContext::connect(addr);
            let sub = c.subscribe_sync("", SubOpts::bind("TEST", name)).unwrap();
            while !stop.load(Ordering::Relaxed) {
                if let Some(m) = c.next_msg(&sub, Duration::from_millis(50)) {
                    c.ack(&m);
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let publishers: Vec<_> = subjects
        .iter()
        .enumerate()
        .map(|(k, &(subject, n, wc))| {
            let addr = s.addr();
            std::thread::spawn(move || {
                let mut p = JsContext::connect(addr);
                let mut x = 0x9E37_79B9u64 ^ ((k as u64 + 1) * 0x1234_5678);
                let mut next = |m: u64| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x % m
                };
                std::thread::sleep(Duration::from_millis(next(1000) + 1));
                // Async publishes, each with its own reply.
                let inbox = new_inbox();
                let acks = p.subscribe_sync_core(&format!("{inbox}.*"));
                for i in 0..n {
                    std::thread::sleep(Duration::from_micros(next(1000) + 1));
                    let subj = if wc {
                        format!("{}.{}", subject.trim_end_matches(".>"), next(10))
                    } else {
                        subject.to_string()
                    };
                    p.js.conn
                        .publish_msg(&subj, &format!("{inbox}.{i}"), &[], b"data");
                }
                if wait_acks {
                    for _ in 0..n {
                        let a = p
                            .next_msg_core(acks, Duration::from_secs(15))
                            .expect("Timed out waiting for acks");
                        let v: Value = serde_json::from_slice(&a.payload).unwrap();
                        assert!(v["error"].is_null(), "{v}");
                    }
                } else {
                    p.flush();
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    check_for(total, interval, || {
        for (i, (name, _, expected)) in consumers.iter().enumerate() {
            let info = js.info("TEST", name);
            let delivered = counters[i].load(Ordering::Relaxed);
            if info["delivered"]["consumer_seq"] != *expected {
                return Err(format!(
                    "{name}: expected consumer delivered seq {expected}, got {info}"
                ));
            }
            if info["ack_floor"]["consumer_seq"] != *expected {
                return Err(format!(
                    "{name}: expected consumer ack floor {expected}, got {info}"
                ));
            }
            if delivered != *expected {
                return Err(format!("{name}: expected {expected}, got {delivered}"));
            }
        }
        Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleConsumersMultipleFilters" => consumer_multiple_consumers_multiple_filters);
fn consumer_multiple_consumers_multiple_filters() {
    consumers_while_publishing(
        &[
            ("one", 50, false),
            ("two", 75, false),
            ("three", 250, false),
            ("four", 10, false),
            ("five.>", 300, true),
        ],
        &[
            ("C1", vec!["one", "two"], 125),
            ("C2", vec!["two", "three"], 325),
            ("C3", vec!["one", "three"], 300),
            ("C4", vec!["one", "five.>"], 350),
        ],
        true,
        Duration::from_secs(15),
        SECOND,
    );
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleConsumersSingleFilter" => consumer_multiple_consumers_single_filter);
fn consumer_multiple_consumers_single_filter() {
    consumers_while_publishing(
        &[
            ("one", 5000, false),
            ("two", 7500, false),
            ("three", 2500, false),
            ("four", 1000, false),
            ("five.>", 3000, true),
        ],
        &[
            ("C1", vec!["one"], 5000),
            ("C2", vec!["two"], 7500),
            ("C3", vec!["one"], 5000),
            ("C4", vec!["one"], 5000),
        ],
        false,
        Duration::from_secs(10),
        Duration::from_millis(500),
    );
}

/// Go's `JSApiConsumerResetRequest` on `$JS.API.CONSUMER.RESET.TEST.CONSUMER`.
fn reset_consumer(js: &mut JsContext, seq: u64) -> Value {
    let r = js.request_json("$JS.API.CONSUMER.RESET.TEST.CONSUMER", json!({"seq": seq}));
    assert_eq!(
        r["type"], "io.nats.jetstream.api.v1.consumer_reset_response",
        "{r}"
    );
    r
}

/// The part both reset tests share after their consumer is set up: the first of
/// `msg3`, a refused reset to 2 (`why`), a reset to 3, `msg3` again.
fn reset_below_and_at_start(js: &mut JsContext, sub: &mut ported::js_context::JsSub, why: &str) {
    let msgs = js.fetch(sub, 1, SECOND).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].payload, b"msg3");
    js.ack_sync(&msgs[0]).unwrap();
    // Below the configured start: refused.
    let r = reset_consumer(js, 2);
    assert_eq!(r["error"]["err_code"], 10204, "{r}");
    assert_eq!(
        r["error"]["description"],
        format!("invalid reset: {why}"),
        "{r}"
    );
    // At or above it: done.
    let r = reset_consumer(js, 3);
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(r["reset_seq"], 3, "{r}");
    assert_eq!(r["delivered"]["stream_seq"], 2, "{r}");
    assert!(r["delivered"]["last_active"].is_null(), "{r}");
    assert_eq!(r["ack_floor"]["stream_seq"], 2, "{r}");
    assert!(r["ack_floor"]["last_active"].is_null(), "{r}");
    // The same message again.
    let msgs = js.fetch(sub, 1, SECOND).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].payload, b"msg3");
    js.ack_sync(&msgs[0]).unwrap();
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerResetToSequenceConstraintOnStartSeq" => consumer_reset_to_sequence_constraint_on_start_seq);
fn consumer_reset_to_sequence_constraint_on_start_seq() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let mut sub = js
        .pull_subscribe(
            "",
            "CONSUMER",
            SubOpts::bind_stream("TEST")
                .with(json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 3})),
        )
        .unwrap();
    for i in 0..4 {
        js.publish_ok("foo", format!("msg{}", i + 1).as_bytes());
    }
    reset_below_and_at_start(&mut js, &mut sub, "below start seq");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerResetToSequenceConstraintOnStartTime" => consumer_reset_to_sequence_constraint_on_start_time);
fn consumer_reset_to_sequence_constraint_on_start_time() {
    let (_s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for i in 0..2 {
        js.publish_ok("foo", format!("msg{}", i + 1).as_bytes());
    }
    let now = ported::js_context::go_time(ported::jetstream::now_nanos());
    let mut sub = js
        .pull_subscribe(
            "",
            "CONSUMER",
            SubOpts::bind_stream("TEST")
                .with(json!({"deliver_policy": "by_start_time", "opt_start_time": now})),
        )
        .unwrap();
    for i in 0..2 {
        js.publish_ok("foo", format!("msg{}", i + 3).as_bytes());
    }
    reset_below_and_at_start(&mut js, &mut sub, "below start time");
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMultipleFiltersRace" => consumer_multiple_filters_race);
fn consumer_multiple_filters_race() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let (s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST", "retention": "limits", "subjects": ["one", "two", "three", "four"],
        "max_age": 90 * SEC,
    }))
    .unwrap();
    let total = 10_000;
    let senders: Vec<_> = ["one", "two", "three", "four"]
        .into_iter()
        .map(|subj| {
            let addr = s.addr();
            std::thread::spawn(move || {
                let mut p = JsContext::connect(addr);
                for _ in 0..total {
                    send_stream_msg(&mut p, subj, "data");
                }
            })
        })
        .collect();
    for t in senders {
        t.join().unwrap();
    }
    js.add_consumer_direct(
        "TEST",
        json!({"durable_name": "consumer", "filter_subjects": ["one", "two", "three"], "ack_policy": "explicit"}),
    )
    .unwrap();
    let seqs = Arc::new(Mutex::new(Vec::<u64>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let fetchers: Vec<_> = (0..10)
        .map(|_| {
            let (addr, seqs, done) = (s.addr(), seqs.clone(), done.clone());
            std::thread::spawn(move || {
                let mut c = JsContext::connect(addr);
                let mut sub = c
                    .pull_subscribe("", "consumer", SubOpts::bind("TEST", "consumer"))
                    .unwrap();
                while !done.load(Ordering::Relaxed) {
                    // Timeouts are fine: more messages than expected are what is tested.
                    let msgs = match c.fetch(&mut sub, 10, 2 * SECOND) {
                        Ok(m) => m,
                        Err(ported::js_context::JsError::Timeout) => continue,
                        Err(e) => panic!("error while fetching messages: {e}"),
                    };
                    for m in &msgs {
                        seqs.lock()
                            .unwrap()
                            .push(ported::js_context::MsgExt::metadata(m).consumer_seq);
                        c.ack(m);
                    }
                }
            })
        })
        .collect();
    check_for(Duration::from_secs(30), Duration::from_millis(100), || {
        let mut seqs = seqs.lock().unwrap();
        if seqs.len() != 3 * total {
            return Err(format!(
                "found {} messages instead of {}",
                seqs.len(),
                3 * total
            ));
        }
        seqs.sort_unstable();
        for i in 1..seqs.len() {
            if seqs[i] != seqs[i - 1] + 1 {
                return Err(format!("sequence mismatch at {i}"));
            }
        }
        Ok(())
    });
    done.store(true, Ordering::Relaxed);
    for f in fetchers {
        f.join().unwrap();
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerStuckAckPending" => consumer_stuck_ack_pending, opt_in = "stress: 50,000 publishes acknowledged one at a time, each durable (fsync) by natsd's default; ~80 s alone in a debug build, past the 120 s limit on a loaded 2-core CI");
fn consumer_stuck_ack_pending() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    let (s, mut js) = server_and_client();
    js.add_stream(json!({
        "name": "TEST_ACTIVE_WORK_ITEMS", "discard": "old", "max_msgs_per_subject": 1,
        "subjects": ["TEST_ACTIVE_WORK_ITEMS.>"],
    }))
    .unwrap();
    js.add_consumer(
        "TEST_ACTIVE_WORK_ITEMS",
        json!({
            "durable_name": "testactiveworkitemsconsumer", "ack_policy": "explicit",
            "max_ack_pending": -1, "max_waiting": 20000, "ack_wait": 15 * SEC,
        }),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (err_tx, err_rx) = mpsc::channel::<String>();
    // The worker: items not expired yet are NAK'd until their expiry, the others acked.
    let worker = {
        let (addr, stop) = (s.addr(), stop.clone());
        std::thread::spawn(move || {
            let mut w = JsContext::connect(addr);
            let mut sub = w
                .pull_subscribe(
                    "TEST_ACTIVE_WORK_ITEMS.>",
                    "testactiveworkitemsconsumer",
                    SubOpts::bind_stream("TEST_ACTIVE_WORK_ITEMS"),
                )
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let msgs = match w.fetch(&mut sub, 200, Duration::from_secs(5)) {
                    Ok(m) => m,
                    Err(ported::js_context::JsError::Timeout) => continue,
                    Err(e) => {
                        let _ = err_tx.send(e.to_string());
                        return;
                    }
                };
                for m in &msgs {
                    let item: Value = match serde_json::from_slice(&m.payload) {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = err_tx.send(e.to_string());
                            return;
                        }
                    };
                    let expiry = ported::jetstream::parse_go_time(item["Expiry"].as_str().unwrap());
                    let now = ported::jetstream::now_nanos();
                    if expiry > now {
                        w.nak_with_delay(m, Duration::from_nanos((expiry - now) as u64));
                    } else {
                        w.ack(m);
                    }
                }
            }
        })
    };
    let go_time = ported::js_context::go_time;
    for i in 0..25_000 {
        let subj = format!("TEST_ACTIVE_WORK_ITEMS.{i}");
        // Published with an expiry, then again with a nearer one.
        let item =
            json!({"ID": i, "Expiry": go_time(ported::jetstream::now_nanos() + 30 * SEC as i128)});
        js.publish(&subj, &[], item.to_string().as_bytes()).unwrap();
        let item =
            json!({"ID": i, "Expiry": go_time(ported::jetstream::now_nanos() + 3 * SEC as i128)});
        js.publish(&subj, &[], item.to_string().as_bytes()).unwrap();
    }
    let mut probe = js
        .pull_subscribe(
            "TEST_ACTIVE_WORK_ITEMS.>",
            "testactiveworkitemsconsumer",
            SubOpts::bind_stream("TEST_ACTIVE_WORK_ITEMS"),
        )
        .unwrap();
    let mut no_change = false;
    let mut last_ack_pending = 0;
    check_for(Duration::from_secs(60), Duration::from_secs(3), || {
        if let Ok(e) = err_rx.try_recv() {
            panic!("consumer worker failed: {e}");
        }
        let ci = js.info("TEST_ACTIVE_WORK_ITEMS", "testactiveworkitemsconsumer");
        let ack_pending = ci["num_ack_pending"].as_u64().unwrap_or(0);
        let pending = ci["num_pending"].as_u64().unwrap_or(0);
        if last_ack_pending != 0 && last_ack_pending == ack_pending {
            no_change = true;
        }
        last_ack_pending = ack_pending;
        // No change since the last check: fail before the total wait if stuck.
        if ack_pending > 0 && pending == 0 {
            if no_change
                && js.fetch(&mut probe, 1, Duration::from_secs(5))
                    == Err(ported::js_context::JsError::Timeout)
            {
                panic!("num ack pending: {ack_pending}\t num pending: {pending}");
            }
            return Err(format!(
                "num ack pending: {ack_pending}\t num pending: {pending}"
            ));
        }
        Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
}

port!("server/jetstream_consumer_test.go::TestPriorityGroupNameRegex" => priority_group_name_regex);
fn priority_group_name_regex() {
    use natsd::jetstream::consumer_config::is_valid_group_name;
    for (name, group, valid) in [
        ("valid-short", "A", true),
        (
            "valid-with-accepted-special-chars",
            "group/consumer=A",
            true,
        ),
        ("empty", "", false),
        ("with-space", "A B", false),
        ("with-tab", "A   B", false),
        ("too-long-name", "group-name-that-is-too-long", false),
        ("line-termination", "\r\n", false),
    ] {
        assert_eq!(is_valid_group_name(group), valid, "{name}");
    }
}
