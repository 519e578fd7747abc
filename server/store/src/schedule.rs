//! Message schedules (Go's `MsgScheduling`): a message with a `Nats-Schedule` header asks the
//! stream to publish a message to `Nats-Schedule-Target` at a time (`@at <RFC 3339>`) or on
//! an interval (`@every <duration>`). The store keeps one schedule per subject, due times
//! ordered, and produces the messages to publish when they are due.
//!
//! Shared by the memory and file stores.
//!
//! Patterns: `@at <RFC 3339>`, `@every <duration>`, six-field cron patterns and Go's
//! predefined ones (`@hourly`, ...; see [`crate::cron`]), cron in the zone
//! `Nats-Schedule-Time-Zone` names ([`crate::tz`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;

use crate::store::{
    header_value, parse_go_duration, parse_message_ttl, InMsg, StoreMsg, JS_MESSAGE_TTL,
    JS_MSG_ROLLUP, NANOS_PER_SEC,
};
use crate::tz::Zone;

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

/// Parses a schedule pattern relative to `ts` (the last fire or the store time) in `zone`
/// (`None`: no `Nats-Schedule-Time-Zone`, UTC). `Ok(None)` for no pattern, `Err(())` for
/// an invalid one: `@at` and `@every` take no time zone. A schedule that would have fired
/// already while nobody looked fires once, after `now`.
#[allow(clippy::result_unit_err)]
pub fn parse_msg_schedule(
    pattern: &str,
    zone: Option<&Zone>,
    ts: i64,
    now: i64,
) -> Result<Option<NextFire>, ()> {
    if pattern.is_empty() {
        return Ok(None);
    }
    if let Some(at) = pattern.strip_prefix("@at ") {
        if zone.is_some() {
            return Err(());
        }
        let at = parse_rfc3339(at).ok_or(())?;
        return Ok(Some(NextFire { at, repeat: false }));
    }
    if let Some(every) = pattern.strip_prefix("@every ") {
        if zone.is_some() {
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
    let pattern = crate::cron::expand_predefined(pattern);
    let utc = Zone::utc();
    let zone = zone.unwrap_or(&utc);
    let mut at = crate::cron::next_cron(pattern, zone, ts).map_err(|_| ())?;
    if at < now {
        at = crate::cron::next_cron(pattern, zone, round_to_second(now)).map_err(|_| ())?;
    }
    Ok(Some(NextFire { at, repeat: true }))
}

/// The zone a message's schedule runs in (Go's `loadMessageScheduleLocation`):
/// `Ok(None)` without `Nats-Schedule-Time-Zone`, `Err(())` when it is empty or names no
/// zone.
#[allow(clippy::result_unit_err)]
pub fn message_schedule_zone(hdr: &[u8]) -> Result<Option<Zone>, ()> {
    match header_value(hdr, JS_SCHEDULE_TIME_ZONE) {
        None => Ok(None),
        Some(tz) => {
            let name = std::str::from_utf8(tz).map_err(|_| ())?;
            if name.is_empty() {
                return Err(());
            }
            Zone::load(name).map(Some).ok_or(())
        }
    }
}

/// The next fire time of a message's schedule (Go's `nextMessageSchedule`): `Ok(None)` when
/// it has none.
#[allow(clippy::result_unit_err)]
pub fn next_message_schedule(hdr: &[u8], ts: i64, now: i64) -> Result<Option<i64>, ()> {
    if hdr.is_empty() {
        return Ok(None);
    }
    let zone = message_schedule_zone(hdr)?;
    let pattern = header_str(hdr, JS_SCHEDULE_PATTERN);
    Ok(parse_msg_schedule(pattern, zone.as_ref(), ts, now)?.map(|n| n.at))
}

/// The subject of the schedule that produced a message (`Nats-Scheduler`), empty if none.
pub fn message_scheduler(hdr: &[u8]) -> &str {
    header_str(hdr, JS_SCHEDULER)
}

/// Version byte of the saved scheduling state.
const STATE_VERSION: u8 = 1;
/// Bytes of the saved state before its entries: version, count, high sequence.
pub const STATE_HEADER_LEN: usize = 17;

/// Why a saved scheduling state could not be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleStateError {
    /// Shorter than its fixed header (Go's `io.ErrShortBuffer`).
    ShortBuffer,
    /// A version this build does not know (Go's `ErrMsgScheduleInvalidVersion`).
    InvalidVersion,
    /// An entry is cut short (Go's `io.ErrUnexpectedEOF`).
    UnexpectedEof,
    /// A subject that is not UTF-8, so not one natsd stored.
    InvalidSubject,
}

impl std::fmt::Display for ScheduleStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScheduleStateError::ShortBuffer => "msg scheduling: short buffer",
            ScheduleStateError::InvalidVersion => "msg scheduling: encoded version not known",
            ScheduleStateError::UnexpectedEof => "msg scheduling: unexpected end of state",
            ScheduleStateError::InvalidSubject => "msg scheduling: subject is not UTF-8",
        })
    }
}

impl std::error::Error for ScheduleStateError {}

/// Go's `binary.AppendUvarint`: seven bits a byte, low first, high bit = more follows.
fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Go's `binary.Uvarint`: the value and the bytes it took; `None` when cut short or
/// longer than a u64.
fn read_uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Go's signed varint mapping: small magnitudes of either sign stay short.
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
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
        // One message is one schedule: a sequence claimed by another subject (only a
        // damaged saved state says so) takes that schedule away.
        if let Some(other) = self.seq_to_subject.get(&seq).cloned() {
            if other != subject {
                self.remove_subject(&other);
            }
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

    /// Number of schedules.
    pub fn len(&self) -> usize {
        self.schedules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty()
    }

    /// `(sequence of its message, next fire time)` of `subject`'s schedule.
    pub fn get(&self, subject: &str) -> Option<(u64, i64)> {
        self.schedules.get(subject).copied()
    }

    /// The subject of the schedule whose message is `seq`.
    pub fn subject_of(&self, seq: u64) -> Option<&str> {
        self.seq_to_subject.get(&seq).map(String::as_str)
    }

    /// Every schedule as `(subject, sequence, next fire time)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64, i64)> + '_ {
        self.schedules
            .iter()
            .map(|(subject, &(seq, ts))| (subject.as_str(), seq, ts))
    }

    /// Drops the schedules whose message sequence `keep` refuses.
    pub fn retain_seqs(&mut self, keep: impl Fn(u64) -> bool) {
        let gone: Vec<u64> = self
            .seq_to_subject
            .keys()
            .copied()
            .filter(|&seq| !keep(seq))
            .collect();
        for seq in gone {
            self.remove(seq);
        }
    }

    /// Follows a stored message (Go's bookkeeping in `storeRawMsg`): a schedule message
    /// (re)arms its subject's schedule, any other message on that subject ends it unless
    /// the scheduler itself produced it, and a produced message moves its schedule to the
    /// next fire time it carries in `Nats-Schedule-Next`. `now` is the time a repeating
    /// schedule that would have fired already while nobody looked is moved past.
    pub fn track(&mut self, subject: &str, hdr: &[u8], seq: u64, ts: i64, now: i64) {
        match next_message_schedule(hdr, ts, now) {
            Ok(Some(at)) => self.add(seq, subject, at),
            _ => {
                if message_scheduler(hdr).is_empty() {
                    self.remove_subject(subject);
                }
            }
        }
        let next = header_str(hdr, JS_SCHEDULE_NEXT);
        if !next.is_empty() && next != JS_SCHEDULE_NEXT_PURGE {
            let scheduler = message_scheduler(hdr);
            if let (Some(at), false) = (parse_rfc3339(next), scheduler.is_empty()) {
                self.update(scheduler, at);
            }
        }
    }

    /// The schedules as Go's saved scheduling state (`sched.db`): a version byte, the
    /// entry count and `high_seq` as little-endian u64s, then per schedule the subject
    /// (u16 length first), the fire time as a zig-zag varint and the sequence as a
    /// varint. `high_seq` is the first sequence the state does not cover (last + 1).
    /// `None` when a subject is too long for the format's length field.
    pub fn encode(&self, high_seq: u64) -> Option<Vec<u8>> {
        let mut entries: Vec<(&str, u64, i64)> = self.iter().collect();
        // Sorted, so that the same state always saves to the same bytes.
        entries.sort_unstable();
        let mut out = Vec::with_capacity(STATE_HEADER_LEN + entries.len() * 32);
        out.push(STATE_VERSION);
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        out.extend_from_slice(&high_seq.to_le_bytes());
        for (subject, seq, ts) in entries {
            let len = u16::try_from(subject.len()).ok()?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(subject.as_bytes());
            put_uvarint(&mut out, zigzag(ts));
            put_uvarint(&mut out, seq);
        }
        Some(out)
    }

    /// Reads back what [`MsgScheduling::encode`] wrote: the schedules and the first
    /// sequence they do not cover.
    pub fn decode(buf: &[u8]) -> Result<(MsgScheduling, u64), ScheduleStateError> {
        if buf.len() < STATE_HEADER_LEN {
            return Err(ScheduleStateError::ShortBuffer);
        }
        if buf[0] != STATE_VERSION {
            return Err(ScheduleStateError::InvalidVersion);
        }
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let (count, high_seq) = (word(1), word(9));
        let mut rest = &buf[STATE_HEADER_LEN..];
        let mut sched = MsgScheduling::new();
        let eof = ScheduleStateError::UnexpectedEof;
        // The count is not trusted for an allocation: a damaged one just runs out of bytes.
        for _ in 0..count {
            let (len, tail) = rest.split_first_chunk::<2>().ok_or(eof)?;
            let len = usize::from(u16::from_le_bytes(*len));
            if tail.len() < len {
                return Err(eof);
            }
            let (subject, tail) = tail.split_at(len);
            let subject =
                std::str::from_utf8(subject).map_err(|_| ScheduleStateError::InvalidSubject)?;
            let (ts, n) = read_uvarint(tail).ok_or(eof)?;
            let tail = &tail[n..];
            let (seq, n) = read_uvarint(tail).ok_or(eof)?;
            rest = &tail[n..];
            sched.add(seq, subject, unzigzag(ts));
        }
        Ok((sched, high_seq))
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
        if pattern.is_empty() {
            return None;
        }
        let zone = message_schedule_zone(&sm.hdr).ok()?;
        let next = parse_msg_schedule(pattern, zone.as_ref(), ts, now).ok()??;
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
        let n = parse_msg_schedule("@every 1500ms", None, ts, ts)
            .unwrap()
            .unwrap();
        assert_eq!(n.at, 11 * NANOS_PER_SEC + 1_500_000_000);
        assert!(n.repeat);
        let later = 100 * NANOS_PER_SEC;
        let n = parse_msg_schedule("@every 2s", None, ts, later)
            .unwrap()
            .unwrap();
        assert_eq!(n.at, 102 * NANOS_PER_SEC);
        assert!(parse_msg_schedule("@every 500ms", None, ts, ts).is_err());
        assert!(parse_msg_schedule("@every 5s", Some(&Zone::utc()), ts, ts).is_err());
        assert!(parse_msg_schedule("0 * * * *", None, ts, ts).is_err());
    }

    #[test]
    fn state_round_trips() {
        let mut ms = MsgScheduling::new();
        ms.add(1, "foo.a", -5);
        ms.add(u64::MAX, "foo.b", i64::MAX);
        ms.add(300, "foo.c", 1_700_000_000_000_000_000);
        let buf = ms.encode(42).unwrap();
        let (back, high) = MsgScheduling::decode(&buf).unwrap();
        assert_eq!(high, 42);
        let mut a: Vec<_> = ms.iter().collect();
        let mut b: Vec<_> = back.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
        assert_eq!(back.next_fire(), Some(-5));
        assert_eq!(back.subject_of(u64::MAX), Some("foo.b"));
        // The same state always saves to the same bytes.
        assert_eq!(back.encode(42).unwrap(), buf);
    }

    #[test]
    fn state_rejects_damage() {
        let mut ms = MsgScheduling::new();
        ms.add(7, "foo", 1234);
        let buf = ms.encode(8).unwrap();
        for cut in 0..buf.len() {
            let err = MsgScheduling::decode(&buf[..cut]).unwrap_err();
            let expected = if cut < STATE_HEADER_LEN {
                ScheduleStateError::ShortBuffer
            } else {
                ScheduleStateError::UnexpectedEof
            };
            assert_eq!(err, expected, "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[0] = 2;
        assert_eq!(
            MsgScheduling::decode(&bad).unwrap_err(),
            ScheduleStateError::InvalidVersion
        );
        // A varint longer than a u64 is damage, not a wrapped value.
        let mut long = buf[..STATE_HEADER_LEN + 5].to_vec();
        long.extend_from_slice(&[0xff; 10]);
        assert_eq!(
            MsgScheduling::decode(&long).unwrap_err(),
            ScheduleStateError::UnexpectedEof
        );
    }

    #[test]
    fn one_sequence_is_one_schedule() {
        let mut ms = MsgScheduling::new();
        ms.add(5, "foo.a", 10);
        ms.add(5, "foo.b", 20);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms.get("foo.a"), None);
        assert_eq!(ms.subject_of(5), Some("foo.b"));
        assert_eq!(ms.next_fire(), Some(20));
        ms.remove(5);
        assert!(ms.is_empty());
        assert_eq!(ms.next_fire(), None);
    }

    #[test]
    fn tracking_follows_the_stream() {
        let mut ms = MsgScheduling::new();
        let hdr = gen_header(&[], JS_SCHEDULE_PATTERN, "@at 2030-01-01T00:00:00Z");
        ms.track("foo.s", &hdr, 1, 0, 0);
        let at = parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        assert_eq!(ms.get("foo.s"), Some((1, at)));
        // A produced message moves the schedule to the time it carries.
        let produced = gen_header(&[], JS_SCHEDULER, "foo.s");
        let produced = gen_header(&produced, JS_SCHEDULE_NEXT, "2031-01-01T00:00:00Z");
        ms.track("foo.t", &produced, 2, 0, 0);
        let next = parse_rfc3339("2031-01-01T00:00:00Z").unwrap();
        assert_eq!(ms.get("foo.s"), Some((1, next)));
        // A plain message on the schedule's subject ends it.
        ms.track("foo.s", b"", 3, 0, 0);
        assert!(ms.is_empty());
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
