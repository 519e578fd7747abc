//! Message schedules at the stream layer (ADR-51): the checks a schedule message passes
//! when it is published (Go's block in `processJetStreamMsg`), in Go's order. Pure: the
//! stream's configuration and the time come in.
//!
//! Patterns, cron and time zones are parsed by the store crate, which keeps the schedules
//! and produces the messages when due (`natsd_store::schedule`, `cron`, `tz`); the stream
//! stores those as sourced messages.

use super::api::errors::{self, ApiError};
use super::api::types::StreamConfig;
use crate::client::header::{gen_header, slice_header};

pub const SCHEDULE: &str = "Nats-Schedule";
pub const SCHEDULE_TIME_ZONE: &str = "Nats-Schedule-Time-Zone";
pub const SCHEDULE_TTL: &str = "Nats-Schedule-TTL";
pub const SCHEDULE_ROLLUP: &str = "Nats-Schedule-Rollup";
pub const SCHEDULE_TARGET: &str = "Nats-Schedule-Target";
pub const SCHEDULE_SOURCE: &str = "Nats-Schedule-Source";
pub const SCHEDULER: &str = "Nats-Scheduler";
pub const SCHEDULE_NEXT: &str = "Nats-Schedule-Next";
/// The one value a client may give `Nats-Schedule-Next`: the schedule message goes.
pub const SCHEDULE_NEXT_PURGE: &str = "purge";
const ROLLUP: &str = "Nats-Rollup";
const ROLLUP_SUBJECT: &str = "sub";

fn header_str<'a>(hdr: &'a [u8], key: &str) -> &'a str {
    slice_header(key, hdr)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or_default()
}

/// When the schedule of a message next fires (ns), `Ok(None)` when it has none (Go's
/// `nextMessageSchedule`): an empty or unknown time zone, or a pattern that does not
/// parse (or takes no zone), is refused.
pub fn next_message_schedule(hdr: &[u8], now: i64) -> Result<Option<i64>, ApiError> {
    if hdr.is_empty() {
        return Ok(None);
    }
    let zone = natsd_store::schedule::message_schedule_zone(hdr)
        .map_err(|()| errors::MESSAGE_SCHEDULES_TIME_ZONE_INVALID.new())?;
    let pattern = header_str(hdr, SCHEDULE);
    natsd_store::schedule::parse_msg_schedule(pattern, zone.as_ref(), now, now)
        .map(|next| next.map(|n| n.at))
        .map_err(|()| errors::MESSAGE_SCHEDULES_PATTERN_INVALID.new())
}

/// Checks the schedule headers of a message published on `subject` (not a sourced one).
/// `Ok(Some(header))` when the header must be stored changed (a schedule message rolls up
/// its subject: `Nats-Rollup: sub` is added), `Ok(None)` when it is stored as is.
pub fn check_publish(
    cfg: &StreamConfig,
    subject: &str,
    hdr: &[u8],
    now: i64,
) -> Result<Option<Vec<u8>>, ApiError> {
    let at = match next_message_schedule(hdr, now) {
        Err(_) if !cfg.allow_msg_schedules => {
            return Err(errors::MESSAGE_SCHEDULES_DISABLED.new());
        }
        Err(e) => return Err(e),
        Ok(at) => at,
    };
    let mut changed = None;
    if at.is_some() {
        if !cfg.allow_msg_schedules {
            return Err(errors::MESSAGE_SCHEDULES_DISABLED.new());
        }
        let ttl = header_str(hdr, SCHEDULE_TTL);
        if !ttl.is_empty() && natsd_store::parse_message_ttl(ttl.as_bytes()).is_err() {
            return Err(errors::MESSAGE_SCHEDULES_TTL_INVALID.new());
        }
        let rollup = header_str(hdr, SCHEDULE_ROLLUP);
        if !rollup.is_empty() && rollup != ROLLUP_SUBJECT {
            return Err(errors::MESSAGE_SCHEDULES_ROLLUP_INVALID.new());
        }
        if !ttl.is_empty() && !cfg.allow_msg_ttl {
            return Err(errors::MESSAGE_TTL_DISABLED.new());
        }
        let target = header_str(hdr, SCHEDULE_TARGET);
        if target.is_empty()
            || !crate::subject::is_valid_publish_subject(target)
            || target == subject
        {
            return Err(errors::MESSAGE_SCHEDULES_TARGET_INVALID.new());
        }
        let source = header_str(hdr, SCHEDULE_SOURCE);
        if !source.is_empty()
            && (source == target
                || source == subject
                || !crate::subject::is_valid_publish_subject(source))
        {
            return Err(errors::MESSAGE_SCHEDULES_SOURCE_INVALID.new());
        }
        let in_stream = |s: &str| {
            cfg.subjects
                .iter()
                .any(|ours| crate::subject::subjects_collide(ours, s))
        };
        if !in_stream(target) {
            return Err(errors::MESSAGE_SCHEDULES_TARGET_INVALID.new());
        }
        if !source.is_empty() && !in_stream(source) {
            return Err(errors::MESSAGE_SCHEDULES_SOURCE_INVALID.new());
        }
        // A schedule message replaces the earlier ones on its subject.
        match header_str(hdr, ROLLUP) {
            "" => changed = Some(gen_header(hdr, ROLLUP, ROLLUP_SUBJECT)),
            ROLLUP_SUBJECT => {}
            _ => return Err(errors::MESSAGE_SCHEDULES_ROLLUP_INVALID.new()),
        }
    }
    Ok(changed)
}

/// Checks `Nats-Schedule-Next` and `Nats-Scheduler` on a published (not sourced) message:
/// a client may only use them together, to purge the schedule on another subject, whose
/// last message (when there is one) must be a schedule. `last_is_schedule` tells whether
/// the last message of a subject carries a schedule (`None`: no message). Returns the
/// subject of the schedule to purge once the message is stored.
pub fn check_scheduler_headers(
    cfg: &StreamConfig,
    subject: &str,
    hdr: &[u8],
    last_is_schedule: impl Fn(&str) -> Option<bool>,
) -> Result<Option<String>, ApiError> {
    let next = slice_header(SCHEDULE_NEXT, hdr).unwrap_or_default();
    let scheduler = header_str(hdr, SCHEDULER);
    if next.is_empty() {
        if slice_header(SCHEDULER, hdr).is_some_and(|v| !v.is_empty()) {
            return Err(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new());
        }
        return Ok(None);
    }
    if next != SCHEDULE_NEXT_PURGE.as_bytes()
        || scheduler.is_empty()
        || scheduler == subject
        || !crate::subject::is_valid_publish_subject(scheduler)
    {
        return Err(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new());
    }
    if !cfg.allow_msg_schedules {
        return Err(errors::MESSAGE_SCHEDULES_DISABLED.new());
    }
    if last_is_schedule(scheduler) == Some(false) {
        return Err(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new());
    }
    Ok(Some(scheduler.to_string()))
}

/// The schedule a stored message asks to purge (`Nats-Schedule-Next: purge` with its
/// `Nats-Scheduler`), whoever produced it.
pub fn schedule_to_purge(hdr: &[u8]) -> Option<String> {
    if slice_header(SCHEDULE_NEXT, hdr) != Some(SCHEDULE_NEXT_PURGE.as_bytes()) {
        return None;
    }
    let scheduler = header_str(hdr, SCHEDULER);
    (!scheduler.is_empty()).then(|| scheduler.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg() -> StreamConfig {
        StreamConfig {
            name: "S".into(),
            subjects: vec!["foo.>".into()],
            allow_msg_schedules: true,
            allow_rollup: true,
            ..Default::default()
        }
    }

    fn hdr(lines: &[(&str, &str)]) -> Vec<u8> {
        lines
            .iter()
            .fold(Vec::new(), |h, (k, v)| gen_header(&h, k, v))
    }

    const AT: &str = "@at 2030-01-01T00:00:00Z";

    #[test]
    fn a_schedule_message_gets_a_subject_rollup() {
        let h = hdr(&[(SCHEDULE, AT), (SCHEDULE_TARGET, "foo.t")]);
        let out = check_publish(&cfg(), "foo.s", &h, 0).unwrap().unwrap();
        assert_eq!(slice_header(ROLLUP, &out), Some(&b"sub"[..]));
        // Already rolling up its subject: stored as is; any other rollup is refused.
        let h = hdr(&[(SCHEDULE, AT), (SCHEDULE_TARGET, "foo.t"), (ROLLUP, "sub")]);
        assert_eq!(check_publish(&cfg(), "foo.s", &h, 0), Ok(None));
        let h = hdr(&[(SCHEDULE, AT), (SCHEDULE_TARGET, "foo.t"), (ROLLUP, "all")]);
        assert_eq!(
            check_publish(&cfg(), "foo.s", &h, 0),
            Err(errors::MESSAGE_SCHEDULES_ROLLUP_INVALID.new())
        );
        // No schedule, nothing to check.
        assert_eq!(check_publish(&cfg(), "foo.s", b"", 0), Ok(None));
    }

    #[test]
    fn targets_sources_and_settings_are_checked_in_gos_order() {
        let check = |c: &StreamConfig, h: &[(&str, &str)]| check_publish(c, "foo.s", &hdr(h), 0);
        let mut off = cfg();
        off.allow_msg_schedules = false;
        assert_eq!(
            check(&off, &[(SCHEDULE, "bad")]),
            Err(errors::MESSAGE_SCHEDULES_DISABLED.new())
        );
        assert_eq!(
            check(&cfg(), &[(SCHEDULE, "bad")]),
            Err(errors::MESSAGE_SCHEDULES_PATTERN_INVALID.new())
        );
        assert_eq!(
            check(&cfg(), &[(SCHEDULE, AT), (SCHEDULE_TTL, "x")]),
            Err(errors::MESSAGE_SCHEDULES_TTL_INVALID.new())
        );
        assert_eq!(
            check(&cfg(), &[(SCHEDULE, AT), (SCHEDULE_TTL, "1s")]),
            Err(errors::MESSAGE_TTL_DISABLED.new())
        );
        for target in ["", "foo.*", "foo.s", "bar"] {
            assert_eq!(
                check(&cfg(), &[(SCHEDULE, AT), (SCHEDULE_TARGET, target)]),
                Err(errors::MESSAGE_SCHEDULES_TARGET_INVALID.new()),
                "{target:?}"
            );
        }
        for source in ["foo.t", "foo.s", "foo.>", "bar"] {
            assert_eq!(
                check(
                    &cfg(),
                    &[
                        (SCHEDULE, AT),
                        (SCHEDULE_TARGET, "foo.t"),
                        (SCHEDULE_SOURCE, source)
                    ]
                ),
                Err(errors::MESSAGE_SCHEDULES_SOURCE_INVALID.new()),
                "{source:?}"
            );
        }
        assert_eq!(
            check(
                &cfg(),
                &[
                    (SCHEDULE, AT),
                    (SCHEDULE_TARGET, "foo.t"),
                    (SCHEDULE_TIME_ZONE, "")
                ]
            ),
            Err(errors::MESSAGE_SCHEDULES_TIME_ZONE_INVALID.new())
        );
    }

    #[test]
    fn scheduler_headers_only_purge_another_schedule() {
        let check = |h: &[(&str, &str)], last: Option<bool>| {
            check_scheduler_headers(&cfg(), "foo.p", &hdr(h), |_| last)
        };
        let invalid = Err(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new());
        assert_eq!(check(&[(SCHEDULER, "foo.s")], None), invalid);
        assert_eq!(
            check(&[(SCHEDULE_NEXT, "later"), (SCHEDULER, "foo.s")], None),
            invalid
        );
        assert_eq!(check(&[(SCHEDULE_NEXT, "purge")], None), invalid);
        assert_eq!(
            check(&[(SCHEDULE_NEXT, "purge"), (SCHEDULER, "foo.p")], None),
            invalid
        );
        assert_eq!(
            check(
                &[(SCHEDULE_NEXT, "purge"), (SCHEDULER, "foo.s")],
                Some(false)
            ),
            invalid
        );
        assert_eq!(
            check(
                &[(SCHEDULE_NEXT, "purge"), (SCHEDULER, "foo.s")],
                Some(true)
            ),
            Ok(Some("foo.s".to_string()))
        );
        assert_eq!(check(&[], None), Ok(None));
    }
}
