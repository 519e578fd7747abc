//! Message schedules (`allow_msg_schedules`, ADR-51): a message with `Nats-Schedule`
//! publishes a message to its `Nats-Schedule-Target` when due; a one-off schedule is
//! purged once it fired, a plain message on its subject ends it.

use super::*;
use ported::jetstream::{check_for, run_basic_jetstream_server};
use ported::port;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Go's `delay(d)` of these tests: `@at` the time `d` from now, as RFC 3339 with
/// nanoseconds.
fn delay(d: Duration) -> String {
    let at = ported::jetstream::now_nanos() + d.as_nanos() as i128;
    format!(
        "@at {}",
        natsd_store::schedule::format_rfc3339_nano(at as i64)
    )
}

fn schedule_stream(js: &mut JsClient, storage: &str) {
    js.add_stream(json!({
        "name": "TEST", "subjects": ["foo.>"], "storage": storage, "allow_msg_schedules": true,
    }))
    .unwrap();
}

/// Whether `STREAM.MSG.GET` answers "no message found" (nats.go's `ErrMsgNotFound`).
#[track_caller]
fn is_not_found(r: Result<ported::jetstream::StoredMsg, ported::jetstream::ApiError>) -> bool {
    match r {
        Ok(_) => false,
        Err(e) if e.err_code == 10037 => true,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

port!("server/jetstream_test.go::TestJetStreamScheduledMessageNotTriggering" => scheduled_message_not_triggering);
fn scheduled_message_not_triggering() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        schedule_stream(&mut js, storage);

        // Arms the schedule timer for an hour from now.
        js.publish(
            "foo.schedule.first",
            &[
                ("Nats-Schedule", &delay(Duration::from_secs(3600))),
                ("Nats-Schedule-Target", "foo.msg"),
            ],
            b"",
        )
        .unwrap();

        // New schedules keep coming while the one below must fire on time.
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = {
            let stop = stop.clone();
            let mut js = s.client();
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    i += 1;
                    let _ = js.publish(
                        &format!("foo.schedule.{i}"),
                        &[
                            ("Nats-Schedule", &delay(Duration::from_secs(3600))),
                            ("Nats-Schedule-Target", "foo.msg"),
                        ],
                        b"",
                    );
                }
            })
        };

        let validate = |js: &mut JsClient| {
            js.publish(
                "foo.schedule.validate",
                &[
                    ("Nats-Schedule", &delay(Duration::from_secs(1))),
                    ("Nats-Schedule-Target", "foo.msg"),
                ],
                b"",
            )
            .unwrap()
        };
        validate(&mut js);
        let pub_ack = validate(&mut js);
        // Fired in time (Go's 3 s), not after the hour the other schedules keep asking for.
        check_for(Duration::from_secs(3), Duration::from_millis(100), || {
            if is_not_found(js.get_msg("TEST", pub_ack.sequence)) {
                Ok(())
            } else {
                Err(format!("{storage}: message not removed yet"))
            }
        });
        stop.store(true, Ordering::Relaxed);
        publisher.join().unwrap();
    }
}

port!("server/jetstream_test.go::TestJetStreamScheduledMessageNotDeactivated" => scheduled_message_not_deactivated);
fn scheduled_message_not_deactivated() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        schedule_stream(&mut js, storage);

        // The schedule fires.
        js.publish(
            "foo.schedule",
            &[
                ("Nats-Schedule", &delay(Duration::from_secs(1))),
                ("Nats-Schedule-Target", "foo.msg1"),
            ],
            b"",
        )
        .unwrap();
        check_for(Duration::from_secs(2), Duration::from_millis(100), || {
            js.get_last_msg("TEST", "foo.msg1")
                .map(|_| ())
                .map_err(|e| e.to_string())
        });

        // A new schedule on the subject, then a plain message that ends it.
        js.publish(
            "foo.schedule",
            &[
                ("Nats-Schedule", &delay(Duration::from_secs(1))),
                ("Nats-Schedule-Target", "foo.msg2"),
            ],
            b"",
        )
        .unwrap();
        js.publish_ok("foo.schedule", b"");

        // Past its time, it did not fire.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            is_not_found(js.get_last_msg("TEST", "foo.msg2")),
            "{storage}: the ended schedule fired"
        );
    }
}

port!("server/jetstream_test.go::TestJetStreamScheduledMessageDeliveryPreservesTargetSchedule" => scheduled_message_delivery_preserves_target_schedule);
fn scheduled_message_delivery_preserves_target_schedule() {
    for storage in ["file", "memory"] {
        let s = run_basic_jetstream_server();
        let mut js = s.client();
        schedule_stream(&mut js, storage);

        // foo.A fires soon onto foo.B.
        js.publish(
            "foo.A",
            &[
                ("Nats-Schedule", &delay(Duration::from_millis(500))),
                ("Nats-Schedule-Target", "foo.B"),
            ],
            b"",
        )
        .unwrap();
        // foo.B has a schedule of its own, later, onto foo.C: the delivery from foo.A
        // onto foo.B must not end it.
        js.publish(
            "foo.B",
            &[
                ("Nats-Schedule", &delay(Duration::from_secs(2))),
                ("Nats-Schedule-Target", "foo.C"),
            ],
            b"",
        )
        .unwrap();

        // The delivery from foo.A, not foo.B's own schedule message.
        check_for(
            Duration::from_secs(2),
            Duration::from_millis(200),
            || match js.get_last_msg("TEST", "foo.B") {
                Ok(m) if m.header_value("Nats-Scheduler").as_deref() == Some("foo.A") => Ok(()),
                Ok(_) => Err(format!("{storage}: foo.A did not fire yet")),
                Err(e) => Err(e.to_string()),
            },
        );
        check_for(Duration::from_secs(4), Duration::from_millis(200), || {
            js.get_last_msg("TEST", "foo.C")
                .map(|_| ())
                .map_err(|e| format!("{storage}: {e}"))
        });
    }
}

port!("server/jetstream_test.go::TestJetStreamScheduledMessageParse" => scheduled_message_parse);
fn scheduled_message_parse() {
    use natsd_store::schedule::{format_rfc3339_nano, parse_msg_schedule, NextFire};
    use natsd_store::tz::Zone;
    const SEC: i64 = 1_000_000_000;
    let real_now = || ported::jetstream::now_nanos() as i64;
    // Go's Time.Round(time.Second) and Truncate(time.Second).
    let round = |ns: i64| (ns + SEC / 2).div_euclid(SEC) * SEC;
    let truncate = |ns: i64| ns.div_euclid(SEC) * SEC;
    let parse = |pattern: &str, zone: Option<&Zone>, ts: i64| {
        parse_msg_schedule(pattern, zone, ts, real_now())
    };

    // @at <ts>
    let ts = real_now();
    let sts = parse(&format!("@at {}", format_rfc3339_nano(ts)), None, 0);
    assert_eq!(
        sts,
        Ok(Some(NextFire {
            at: ts,
            repeat: false
        }))
    );

    // @every <duration>
    let now = round(real_now());
    let sts = parse("@every 5s", None, now).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, now + 5 * SEC);
    // Not run in a long while: fires once, not for every interval missed.
    let now = round(real_now());
    let sts = parse("@every 5s", None, 0).unwrap().unwrap();
    assert!(sts.repeat);
    assert!(
        sts.at >= now + 5 * SEC,
        "{} before {}",
        sts.at,
        now + 5 * SEC
    );
    // At most once a second.
    assert!(parse("@every 999ms", None, 0).is_err());
    // The next fire anchors on the previous one rounded to the second, plus the interval.
    let interval = 1_500_000_000;
    let anchor = real_now() + SEC;
    let sts = parse("@every 1500ms", None, anchor).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, round(anchor) + interval);
    // Re-arming from that fire time rounds again.
    let prev = sts.at;
    let sts = parse("@every 1500ms", None, prev).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, round(prev) + interval);

    // <cron> pattern
    let now = round(real_now());
    let sts = parse("* * * * * *", None, now).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, now + SEC);
    // The earliest next second.
    let now = truncate(real_now()) + SEC - 1;
    let sts = parse("* * * * * *", None, now).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, truncate(now) + SEC);
    // Not run in a long while: fires once.
    let now = round(real_now());
    let sts = parse("* * * * * *", None, 0).unwrap().unwrap();
    assert!(sts.repeat);
    assert!(sts.at >= now + SEC);

    // Predefined patterns, from midnight of January 1st two years on.
    let utc = Zone::utc();
    let this_year = utc.civil(real_now().div_euclid(SEC)).year;
    let date = |y: i64, m: i64, d: i64| utc.date(y, m, d, 0, 0, 0) * SEC;
    for (pattern, delay) in [
        ("@yearly", (1, 0, 0)),
        ("@annually", (1, 0, 0)),
        ("@monthly", (0, 1, 0)),
        ("@weekly", (0, 0, 7)),
        ("@daily", (0, 0, 1)),
        ("@midnight", (0, 0, 1)),
        ("@hourly", (0, 0, 0)),
    ] {
        let (y, mut m, mut d) = (this_year + 2, 1, 1);
        // A Sunday, for @weekly.
        if pattern == "@weekly" {
            while utc.civil(date(y, m, d) / SEC).weekday != 0 {
                (m, d) = (1, d + 1);
            }
        }
        let now = date(y, m, d);
        let sts = parse(pattern, None, now).unwrap().unwrap();
        assert!(sts.repeat, "{pattern}");
        let want = if pattern == "@hourly" {
            now + 3600 * SEC
        } else {
            date(y + delay.0, m + delay.1, d + delay.2)
        };
        assert_eq!(sts.at, want, "{pattern}");
    }

    // <cron> pattern in a time zone.
    let loc = Zone::load("Europe/Amsterdam").expect("zone Europe/Amsterdam");
    let now = round(real_now());
    let sts = parse("* * * * * *", Some(&loc), now).unwrap().unwrap();
    assert!(sts.repeat);
    assert_eq!(sts.at, now + SEC);
    assert_eq!(loc.civil(sts.at / SEC), loc.civil(now / SEC + 1));
}
