//! Message schedules (Go's `MsgScheduling`): a message with a `Nats-Schedule` header asks the
//! stream to publish a message to `Nats-Schedule-Target` at a time (`@at <RFC 3339>`) or on
//! an interval (`@every <duration>`). The store keeps one schedule per subject, due times
//! ordered, and produces the messages to publish when they are due.
//!
//! Supported patterns: `@at` and `@every`. Cron patterns and `Nats-Schedule-Time-Zone` are
//! not supported yet; such schedules are treated as invalid.

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;

use crate::store::{
    header_value, parse_go_duration, parse_message_ttl, InMsg, StoreMsg, JS_MESSAGE_TTL,
    JS_MSG_ROLLUP, NANOS_PER_SEC,
};

pub const JS_SCHEDULE_PATTERN: &str = "Nats-Schedule";
pub const JS_SCHEDULE_TIME_ZONE: &str = "Nats-Schedule-Time-Zone";
pub const JS_SCHEDULE_TTL: &str = "Nats-Schedule-TTL";
pub const JS_SCHEDULE_ROLLUP: &str = "Nats-Schedule-Rollup";
pub const JS_SCHEDULE_TARGET: &str = "Nats-Schedule-Target";
pub const JS_SCHEDULE_SOURCE: &str = "Nats-Schedule-Source";
pub const JS_SCHEDULER: &str = "Nats-Scheduler";
pub const JS_SCHEDULE_NEXT: &str = "Nats-Schedule-Next";
/// `Nats-Schedule-Next` of a one-off schedule: the schedule message is purged.
pub const JS_SCHEDULE_NEXT_PURGE: &str = "purge";
pub const JS_MSG_ID: &str = "Nats-Msg-Id";

const HDR_LINE: &str = "NATS/1.0\r\n";

/// A header value as text, empty when absent or not UTF-8.
fn header_str<'a>(hdr: &'a [u8], key: &str) -> &'a str {
    header_value(hdr, key)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or_default()
}

/// Removes every header line whose key starts with `prefix` (Go's
/// `removeHeaderIfPrefixPresent`); an emptied header block becomes empty.
pub fn remove_header_prefix(hdr: &[u8], prefix: &str) -> Vec<u8> {
    remove_lines(hdr, |line| line.starts_with(prefix.as_bytes()))
}

/// Removes the header `key` (Go's `removeHeaderIfPresent`).
pub fn remove_header(hdr: &[u8], key: &str) -> Vec<u8> {
    remove_lines(hdr, |line| {
        line.starts_with(key.as_bytes()) && line.get(key.len()) == Some(&b':')
    })
}

fn remove_lines(hdr: &[u8], drop: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(hdr.len());
    let mut rest = hdr;
    let mut first = true;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |i| i + 2);
        let (line, tail) = rest.split_at(end);
        if first || !drop(line) {
            out.extend_from_slice(line);
        }
        first = false;
        rest = tail;
    }
    if out.len() <= HDR_LINE.len() + 2 {
        return Vec::new();
    }
    out
}

/// Appends `key: value` to a header block, creating it if empty (Go's `genHeader`).
pub fn gen_header(hdr: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(hdr.len() + key.len() + value.len() + 16);
    if hdr.len() > 2 {
        out.extend_from_slice(&hdr[..hdr.len() - 2]);
    } else {
        out.extend_from_slice(HDR_LINE.as_bytes());
    }
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Parses an RFC 3339 time (with optional fraction) into nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        frac_ns = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset_secs = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let secs = num(i + 1, 2)? * 3600 + num(i + 4, 2)? * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac_ns)
}

/// Formats nanoseconds since the epoch as Go's `time.RFC3339Nano` in UTC (fraction without
/// trailing zeros).
pub fn format_rfc3339_nano(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let frac = ns.rem_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac > 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Rounds to the nearest second, halves away from zero (Go's `Round(time.Second)`).
fn round_to_second(ns: i64) -> i64 {
    let half = NANOS_PER_SEC / 2;
    let r = ns.rem_euclid(NANOS_PER_SEC);
    let down = ns - r;
    if r >= half {
        down.saturating_add(NANOS_PER_SEC)
    } else {
        down
    }
}

/// A parsed schedule: when it next fires and whether it repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextFire {
    pub at: i64,
    pub repeat: bool,
}

/// Parses a schedule pattern relative to `ts` (the last fire or the store time). `Ok(None)`
/// for no pattern, `Err(())` for an invalid (or unsupported) one. A schedule that would
/// have fired already while nobody looked fires once, now.
#[allow(clippy::result_unit_err)]
pub fn parse_msg_schedule(
    pattern: &str,
    has_time_zone: bool,
    ts: i64,
    now: i64,
) -> Result<Option<NextFire>, ()> {
    if pattern.is_empty() {
        return Ok(None);
    }
    if let Some(at) = pattern.strip_prefix("@at ") {
        if has_time_zone {
            return Err(());
        }
        let at = parse_rfc3339(at).ok_or(())?;
        return Ok(Some(NextFire { at, repeat: false }));
    }
    if let Some(every) = pattern.strip_prefix("@every ") {
        if has_time_zone {
            return Err(());
        }
        let interval = parse_go_duration(every).ok_or(())?;
        if interval < NANOS_PER_SEC {
            return Err(());
        }
        let mut at = round_to_second(ts).saturating_add(interval);
        if at < now {
            at = round_to_second(now).saturating_add(interval);
        }
        return Ok(Some(NextFire { at, repeat: true }));
    }
    // Cron patterns are not supported yet.
    Err(())
}

/// The next fire time of a message's schedule (Go's `nextMessageSchedule`): `Ok(None)` when
/// it has none.
#[allow(clippy::result_unit_err)]
pub fn next_message_schedule(hdr: &[u8], ts: i64, now: i64) -> Result<Option<i64>, ()> {
    if hdr.is_empty() {
        return Ok(None);
    }
    let has_time_zone = match header_value(hdr, JS_SCHEDULE_TIME_ZONE) {
        None => false,
        // Time zones are not supported yet; an empty one is invalid in Go too.
        Some(_) => return Err(()),
    };
    let pattern = header_str(hdr, JS_SCHEDULE_PATTERN);
    Ok(parse_msg_schedule(pattern, has_time_zone, ts, now)?.map(|n| n.at))
}

/// The subject of the schedule that produced a message (`Nats-Scheduler`), empty if none.
pub fn message_scheduler(hdr: &[u8]) -> &str {
    header_str(hdr, JS_SCHEDULER)
}

/// The schedules of a stream.
#[derive(Debug, Default)]
pub struct MsgScheduling {
    /// Schedule subject → (sequence of its message, next fire time).
    schedules: HashMap<String, (u64, i64)>,
    seq_to_subject: HashMap<u64, String>,
    /// Schedules whose message was handed out and not stored back yet.
    inflight: HashSet<String>,
    /// `(fire time, sequence)`, earliest first.
    due: BTreeSet<(i64, u64)>,
}

impl MsgScheduling {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or moves) the schedule of `subject` to message `seq` firing at `ts`.
    pub fn add(&mut self, seq: u64, subject: &str, ts: i64) {
        if let Some(&(old_seq, old_ts)) = self.schedules.get(subject) {
            self.seq_to_subject.remove(&old_seq);
            self.due.remove(&(old_ts, old_seq));
        }
        self.schedules.insert(subject.to_string(), (seq, ts));
        self.due.insert((ts, seq));
        self.seq_to_subject.insert(seq, subject.to_string());
        self.inflight.remove(subject);
    }

    /// Moves the next fire time of `subject`'s schedule.
    pub fn update(&mut self, subject: &str, ts: i64) {
        if let Some(entry) = self.schedules.get_mut(subject) {
            self.due.remove(&(entry.1, entry.0));
            self.due.insert((ts, entry.0));
            entry.1 = ts;
            self.inflight.remove(subject);
        }
    }

    pub fn remove(&mut self, seq: u64) {
        if let Some(subject) = self.seq_to_subject.get(&seq).cloned() {
            self.remove_subject(&subject);
        }
    }

    pub fn remove_subject(&mut self, subject: &str) {
        if let Some((seq, ts)) = self.schedules.remove(subject) {
            self.due.remove(&(ts, seq));
            self.seq_to_subject.remove(&seq);
            self.inflight.remove(subject);
        }
    }

    pub fn clear_inflight(&mut self) {
        self.inflight.clear();
    }

    /// When the earliest schedule fires.
    pub fn next_fire(&self) -> Option<i64> {
        self.due.first().map(|&(ts, _)| ts)
    }

    /// The messages of every schedule due at `now`, in sequence order. `load_msg` loads a
    /// stored message, `load_last` the last message of a subject (for a schedule source).
    pub fn scheduled_messages(
        &mut self,
        now: i64,
        load_msg: impl Fn(u64) -> Option<StoreMsg>,
        load_last: impl Fn(&str) -> Option<StoreMsg>,
    ) -> Vec<(u64, InMsg)> {
        let due: Vec<(i64, u64)> = self.due.range(..=(now, u64::MAX)).copied().collect();
        let mut out = Vec::new();
        for (ts, seq) in due {
            let Some(sm) = load_msg(seq) else {
                self.remove(seq);
                continue;
            };
            let subject = sm.subject.clone();
            // Already handed out: do not duplicate it while it is on its way.
            if self.inflight.contains(&subject) {
                continue;
            }
            match self.build_message(&sm, ts, now, &load_last) {
                Some(msg) => {
                    out.push((seq, msg));
                    if self.schedules.contains_key(&subject) {
                        self.inflight.insert(subject);
                    }
                }
                None => self.remove(seq),
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        out
    }

    fn build_message(
        &self,
        sm: &StoreMsg,
        ts: i64,
        now: i64,
        load_last: &impl Fn(&str) -> Option<StoreMsg>,
    ) -> Option<InMsg> {
        let pattern = header_str(&sm.hdr, JS_SCHEDULE_PATTERN);
        if pattern.is_empty() || header_value(&sm.hdr, JS_SCHEDULE_TIME_ZONE).is_some() {
            return None;
        }
        let next = parse_msg_schedule(pattern, false, ts, now).ok()??;
        let ttl = header_str(&sm.hdr, JS_SCHEDULE_TTL).to_string();
        if !ttl.is_empty() && parse_message_ttl(ttl.as_bytes()).is_err() {
            return None;
        }
        let target = header_str(&sm.hdr, JS_SCHEDULE_TARGET).to_string();
        if target.is_empty() {
            return None;
        }
        let rollup = header_str(&sm.hdr, JS_SCHEDULE_ROLLUP).to_string();
        let source = header_str(&sm.hdr, JS_SCHEDULE_SOURCE);
        // Content comes from the source's last message, or the schedule's own.
        let content = if source.is_empty() {
            None
        } else {
            load_last(source)
        };
        let content = content.as_ref().unwrap_or(sm);

        let mut hdr = remove_header_prefix(&content.hdr, "Nats-Schedule");
        hdr = remove_header_prefix(&hdr, "Nats-Expected-");
        hdr = remove_header(&hdr, JS_MSG_ID);
        hdr = remove_header(&hdr, JS_MESSAGE_TTL);
        hdr = remove_header(&hdr, JS_MSG_ROLLUP);
        hdr = gen_header(&hdr, JS_SCHEDULER, &sm.subject);
        let next_value = if next.repeat {
            format_rfc3339_nano(next.at)
        } else {
            JS_SCHEDULE_NEXT_PURGE.to_string()
        };
        hdr = gen_header(&hdr, JS_SCHEDULE_NEXT, &next_value);
        if !ttl.is_empty() {
            hdr = gen_header(&hdr, JS_MESSAGE_TTL, &ttl);
        }
        if !rollup.is_empty() {
            hdr = gen_header(&hdr, JS_MSG_ROLLUP, &rollup);
        }
        Some(InMsg {
            subject: target,
            hdr: Bytes::from(hdr),
            msg: content.msg.clone(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let ns = parse_rfc3339("2025-03-04T05:06:07.5Z").unwrap();
        assert_eq!(format_rfc3339_nano(ns), "2025-03-04T05:06:07.5Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets are applied"
        );
        assert_eq!(format_rfc3339_nano(1), "1970-01-01T00:00:00.000000001Z");
        assert!(parse_rfc3339("2025-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn every_rounds_and_skips_ahead() {
        let ts = 10 * NANOS_PER_SEC + 600_000_000;
        let n = parse_msg_schedule("@every 1500ms", false, ts, ts)
            .unwrap()
            .unwrap();
        assert_eq!(n.at, 11 * NANOS_PER_SEC + 1_500_000_000);
        assert!(n.repeat);
        let later = 100 * NANOS_PER_SEC;
        let n = parse_msg_schedule("@every 2s", false, ts, later)
            .unwrap()
            .unwrap();
        assert_eq!(n.at, 102 * NANOS_PER_SEC);
        assert!(parse_msg_schedule("@every 500ms", false, ts, ts).is_err());
        assert!(parse_msg_schedule("0 * * * * *", false, ts, ts).is_err());
    }

    #[test]
    fn headers_are_rewritten() {
        let hdr = b"NATS/1.0\r\nNats-Schedule: @at x\r\nFoo: 1\r\nNats-Msg-Id: a\r\n\r\n";
        let h = remove_header_prefix(hdr, "Nats-Schedule");
        let h = remove_header(&h, JS_MSG_ID);
        assert_eq!(h, b"NATS/1.0\r\nFoo: 1\r\n\r\n");
        let h = gen_header(&h, "Bar", "2");
        assert_eq!(h, b"NATS/1.0\r\nFoo: 1\r\nBar: 2\r\n\r\n");
        assert!(remove_header(b"NATS/1.0\r\nFoo: 1\r\n\r\n", "Foo").is_empty());
    }
}
