//! Time zones for message schedules (`Nats-Schedule-Time-Zone`): the IANA zone files
//! (TZif) Go's `time.LoadLocation` reads, and civil-time arithmetic in a zone the way Go's
//! `time.Date` normalises it, which cron schedules step through.
//!
//! Parsing is pure ([`Zone::parse`]); only [`Zone::load`] reads the system's zone
//! directory. Past the last transition a zone file lists, the POSIX TZ rule of its footer
//! (`CET-1CEST,M3.5.0,M10.5.0/3`) gives the offsets, as Go's `tzset` does.

use std::path::PathBuf;

/// A time zone: its offsets from UTC and when each starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// `(unix second the period starts, index into offsets)`, ascending.
    transitions: Vec<(i64, usize)>,
    /// Seconds east of UTC.
    offsets: Vec<i32>,
    /// The offset before the first transition.
    first: usize,
    /// The footer's rule, for times past the last transition.
    rule: Option<Rule>,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            transitions: Vec::new(),
            offsets: vec![0],
            first: 0,
            rule: None,
        }
    }

    /// Loads the zone `name` as Go's `time.LoadLocation` does: `UTC` (or empty), `Local`,
    /// or a file under `$ZONEINFO` or the system zone directories. `None` for a name that
    /// could escape the directory or names no zone file.
    pub fn load(name: &str) -> Option<Zone> {
        if name.is_empty() || name == "UTC" {
            return Some(Zone::utc());
        }
        if name == "Local" {
            return Some(
                std::fs::read("/etc/localtime")
                    .ok()
                    .and_then(|b| Zone::parse(&b))
                    .unwrap_or_else(Zone::utc),
            );
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return None;
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("ZONEINFO") {
            dirs.push(dir.into());
        }
        for dir in [
            "/usr/share/zoneinfo/",
            "/usr/share/lib/zoneinfo/",
            "/usr/lib/locale/TZ/",
            "/etc/zoneinfo/",
        ] {
            dirs.push(dir.into());
        }
        dirs.iter()
            .find_map(|d| std::fs::read(d.join(name)).ok())
            .and_then(|b| Zone::parse(&b))
    }

    /// Reads a TZif file (version 1, or the 64-bit data of versions 2 and later).
    pub fn parse(data: &[u8]) -> Option<Zone> {
        let (version, counts, body) = header(data)?;
        if version == 0 {
            return read_data(body, counts, 4);
        }
        // Skip the 32-bit block to the second header and its 64-bit data.
        let (_, counts64, body64) = header(body.get(block_len(counts, 4)?..)?)?;
        let mut zone = read_data(body64, counts64, 8)?;
        // The footer follows the 64-bit data: `\n<rule>\n`.
        zone.rule = body64
            .get(block_len(counts64, 8)?..)
            .and_then(|f| f.strip_prefix(b"\n"))
            .and_then(|f| f.split(|&b| b == b'\n').next())
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(Rule::parse);
        Some(zone)
    }

    /// The offset in force at `unix` (seconds) and the period it holds for, `[start,
    /// end)` (Go's `Location.lookup`).
    pub fn lookup(&self, unix: i64) -> (i32, i64, i64) {
        let first_at = self.transitions.first().map(|t| t.0);
        match first_at {
            None => return (self.offsets[self.first], i64::MIN, i64::MAX),
            Some(at) if unix < at => return (self.offsets[self.first], i64::MIN, at),
            Some(_) => {}
        }
        let i = self.transitions.partition_point(|&(at, _)| at <= unix) - 1;
        let (start, idx) = self.transitions[i];
        let end = self.transitions.get(i + 1).map_or(i64::MAX, |t| t.0);
        if end == i64::MAX {
            if let Some(found) = self.rule.as_ref().and_then(|r| r.lookup(unix)) {
                return found;
            }
        }
        (self.offsets[idx], start, end)
    }

    /// The unix second of a civil time in this zone (Go's `time.Date` with nanoseconds
    /// apart): fields out of range carry over, and a time in a gap or overlap takes the
    /// offset Go's lookup finds.
    pub fn date(&self, year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> i64 {
        let m0 = month - 1;
        let year = year + m0.div_euclid(12);
        let month = m0.rem_euclid(12) + 1;
        let days = days_from_civil(year, month, 1) + day - 1;
        let mut unix = days * 86_400 + hour * 3600 + min * 60 + sec;
        let (mut offset, start, end) = self.lookup(unix);
        if offset != 0 {
            let utc = unix - i64::from(offset);
            if utc < start || utc >= end {
                offset = self.lookup(utc).0;
            }
            unix -= i64::from(offset);
        }
        unix
    }

    /// The civil fields of `unix` (seconds) in this zone.
    pub fn civil(&self, unix: i64) -> Civil {
        let local = unix + i64::from(self.lookup(unix).0);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: (sod / 60) % 60,
            second: sod % 60,
            weekday: (days + 4).rem_euclid(7),
        }
    }
}

/// A civil time's fields; `weekday` 0 is Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub weekday: i64,
}

/// `(isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt)`.
type Counts = [usize; 6];

fn header(data: &[u8]) -> Option<(u8, Counts, &[u8])> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let version = match *data.get(4)? {
        0 => 0,
        v @ b'2'..=b'9' => v,
        _ => return None,
    };
    let mut counts = [0usize; 6];
    for (i, c) in counts.iter_mut().enumerate() {
        let at = 20 + i * 4;
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        *c = u32::from_be_bytes(b) as usize;
    }
    Some((version, counts, data.get(44..)?))
}

fn block_len(c: Counts, time_len: usize) -> Option<usize> {
    let [isut, isstd, leap, time, types, chars] = c;
    time.checked_mul(time_len + 1)?
        .checked_add(types.checked_mul(6)?)?
        .checked_add(chars)?
        .checked_add(leap.checked_mul(time_len + 4)?)?
        .checked_add(isstd)?
        .checked_add(isut)
}

fn read_data(body: &[u8], c: Counts, time_len: usize) -> Option<Zone> {
    let [_, _, _, timecnt, typecnt, _] = c;
    if typecnt == 0 || body.len() < block_len(c, time_len)? {
        return None;
    }
    let times = &body[..timecnt * time_len];
    let idxs = &body[timecnt * time_len..timecnt * (time_len + 1)];
    let types = &body[timecnt * (time_len + 1)..timecnt * (time_len + 1) + typecnt * 6];
    let mut offsets = Vec::with_capacity(typecnt);
    let mut dst = Vec::with_capacity(typecnt);
    for t in types.chunks_exact(6) {
        offsets.push(i32::from_be_bytes([t[0], t[1], t[2], t[3]]));
        dst.push(t[4] != 0);
    }
    let mut transitions = Vec::with_capacity(timecnt);
    for (i, &idx) in idxs.iter().enumerate() {
        let raw = &times[i * time_len..(i + 1) * time_len];
        let at = if time_len == 4 {
            i64::from(i32::from_be_bytes(raw.try_into().ok()?))
        } else {
            i64::from_be_bytes(raw.try_into().ok()?)
        };
        let idx = usize::from(idx);
        if idx >= typecnt {
            return None;
        }
        transitions.push((at, idx));
    }
    // Before the first transition: the first standard-time offset (Go's lookupFirstZone,
    // simplified to its common case).
    let first = dst.iter().position(|d| !d).unwrap_or(0);
    Some(Zone {
        transitions,
        offsets,
        first,
        rule: None,
    })
}

/// A day of the year in a POSIX TZ rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleDay {
    /// `Jn`: 1..=365, February 29th never counted.
    Julian(i64),
    /// `n`: 0..=365, leap days counted.
    Zero(i64),
    /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5: the last) of month `m`.
    Month(i64, i64, i64),
}

/// A POSIX TZ rule (a zone file's footer): standard offset, and a daylight offset with
/// when it starts and ends (local times, seconds into the day).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    std: i32,
    dst: Option<(i32, RuleDay, i64, RuleDay, i64)>,
}

impl Rule {
    fn parse(text: &str) -> Option<Rule> {
        let mut p = text;
        skip_name(&mut p)?;
        let std = -offset(&mut p)?;
        if p.is_empty() {
            return Some(Rule { std, dst: None });
        }
        skip_name(&mut p)?;
        let dst = if p.starts_with(',') {
            std + 3600
        } else {
            -offset(&mut p)?
        };
        let (start, start_time) = rule_date(p.strip_prefix(',')?, &mut p)?;
        let (end, end_time) = rule_date(p.strip_prefix(',')?, &mut p)?;
        if !p.is_empty() {
            return None;
        }
        Some(Rule {
            std,
            dst: Some((dst, start, start_time, end, end_time)),
        })
    }

    /// Go's `tzset`: the offset at `unix` and the period it holds for.
    fn lookup(&self, unix: i64) -> Option<(i32, i64, i64)> {
        let Some((dst, start, start_time, end, end_time)) = self.dst else {
            return Some((self.std, i64::MIN, i64::MAX));
        };
        let year = civil_from_days((unix + i64::from(self.std)).div_euclid(86_400)).0;
        // The changes of the years around, in order: (instant, offset after).
        let mut changes = Vec::with_capacity(6);
        for y in year - 1..=year + 1 {
            let on = day_of(y, start) * 86_400 + start_time - i64::from(self.std);
            let off = day_of(y, end) * 86_400 + end_time - i64::from(dst);
            changes.push((on, dst));
            changes.push((off, self.std));
        }
        changes.sort_unstable();
        let i = changes.partition_point(|&(at, _)| at <= unix);
        let (from, offset) = *changes.get(i.checked_sub(1)?)?;
        let to = changes.get(i).map_or(i64::MAX, |c| c.0);
        Some((offset, from, to))
    }
}

/// A time zone name: letters, or anything within `<...>`.
fn skip_name(p: &mut &str) -> Option<()> {
    let len = if let Some(rest) = p.strip_prefix('<') {
        rest.find('>')? + 2
    } else {
        p.find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(p.len())
    };
    if len < 3 {
        return None;
    }
    *p = &p[len..];
    Some(())
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn offset(p: &mut &str) -> Option<i32> {
    let (sign, rest) = match p.as_bytes().first()? {
        b'-' => (-1, &p[1..]),
        b'+' => (1, &p[1..]),
        _ => (1, *p),
    };
    let len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let mut secs = 0i64;
    for (i, part) in rest[..len].split(':').enumerate() {
        if i > 2 || part.is_empty() {
            return None;
        }
        secs += part.parse::<i64>().ok()? * [3600, 60, 1][i];
    }
    *p = &rest[len..];
    i32::try_from(sign * secs).ok()
}

/// A rule's day and its time of day (default 02:00); leaves `p` after them.
fn rule_date<'a>(text: &'a str, p: &mut &'a str) -> Option<(RuleDay, i64)> {
    let end = text.find([',', '/']).unwrap_or(text.len());
    let day = &text[..end];
    let day = if let Some(n) = day.strip_prefix('J') {
        RuleDay::Julian(n.parse().ok()?)
    } else if let Some(m) = day.strip_prefix('M') {
        let mut it = m.split('.').map(str::parse::<i64>);
        let (m, w, d) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
        if it.next().is_some() || !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
            return None;
        }
        RuleDay::Month(m, w, d)
    } else {
        RuleDay::Zero(day.parse().ok()?)
    };
    let mut rest = &text[end..];
    let mut time = 7200;
    if let Some(t) = rest.strip_prefix('/') {
        rest = t;
        time = i64::from(offset(&mut rest)?);
    }
    *p = rest;
    Some((day, time))
}

/// Days since 1970-01-01 of a rule's day in `year`.
fn day_of(year: i64, day: RuleDay) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match day {
        RuleDay::Julian(n) => jan1 + n - 1 + i64::from(leap && n >= 60),
        RuleDay::Zero(n) => jan1 + n,
        RuleDay::Month(m, w, d) => {
            let first = days_from_civil(year, m, 1);
            let first_wd = (first + 4).rem_euclid(7);
            let mut day = first + (d - first_wd).rem_euclid(7) + (w - 1) * 7;
            let next_month = days_from_civil(year + i64::from(m == 12), m % 12 + 1, 1);
            while day >= next_month {
                day -= 7;
            }
            day
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A version 2 TZif file: one zone switching between +1h (standard) and +2h (DST) at
    /// the given instants.
    fn tzif(transitions: &[(i64, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        let head = |out: &mut Vec<u8>, timecnt: u32| {
            out.extend_from_slice(b"TZif2");
            out.extend_from_slice(&[0u8; 15]);
            for c in [0u32, 0, 0, timecnt, 2, 8] {
                out.extend_from_slice(&c.to_be_bytes());
            }
        };
        let types = |out: &mut Vec<u8>| {
            out.extend_from_slice(&3600i32.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&7200i32.to_be_bytes());
            out.extend_from_slice(&[1, 4]);
            out.extend_from_slice(b"CET\0CES\0");
        };
        // An empty 32-bit block, then the 64-bit one.
        head(&mut out, 0);
        types(&mut out);
        head(&mut out, transitions.len() as u32);
        for (at, _) in transitions {
            out.extend_from_slice(&at.to_be_bytes());
        }
        for (_, idx) in transitions {
            out.push(*idx);
        }
        types(&mut out);
        out.extend_from_slice(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
        out
    }

    #[test]
    fn offsets_follow_the_transitions() {
        // 2025-03-30T01:00Z to DST, 2025-10-26T01:00Z back.
        let on = days_from_civil(2025, 3, 30) * 86_400 + 3600;
        let off = days_from_civil(2025, 10, 26) * 86_400 + 3600;
        let z = Zone::parse(&tzif(&[(on, 1), (off, 0)])).unwrap();
        assert_eq!(z.lookup(on - 1), (3600, i64::MIN, on));
        assert_eq!(z.lookup(on), (7200, on, off));
        // After the table, the footer's rule says when the next change is.
        let on26 = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        assert_eq!(z.lookup(off + 10), (3600, off, on26));
        let c = z.civil(on);
        assert_eq!((c.month, c.day, c.hour), (3, 30, 3));
        // Civil times round trip, carry over, and a time in the spring gap moves on.
        assert_eq!(z.date(2025, 3, 30, 3, 0, 0), on);
        assert_eq!(z.date(2025, 14, 1, 0, 0, 0), z.date(2026, 2, 1, 0, 0, 0));
        assert_eq!(z.date(2025, 3, 30, 2, 30, 0), on + 1800);
        assert!(Zone::parse(b"TZif2 but not really").is_none());
    }

    #[test]
    fn the_footer_rule_goes_on_where_the_table_ends() {
        // Only the 2025 changes in the table; 2026 on comes from the rule.
        let on = days_from_civil(2025, 3, 30) * 86_400 + 3600;
        let off = days_from_civil(2025, 10, 26) * 86_400 + 3600;
        let z = Zone::parse(&tzif(&[(on, 1), (off, 0)])).unwrap();
        let on26 = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        let off26 = days_from_civil(2026, 10, 25) * 86_400 + 3600;
        assert_eq!(z.lookup(off + 100).0, 3600);
        assert_eq!(z.lookup(on26 - 1), (3600, off, on26));
        assert_eq!(z.lookup(on26), (7200, on26, off26));
        assert_eq!(
            z.lookup(off26),
            (3600, off26, days_from_civil(2027, 3, 28) * 86_400 + 3600)
        );
        // Southern rules wrap the year; a zone without daylight time has one offset.
        let r = Rule::parse("<-03>3<-02>,M9.1.0/0,M4.1.0/0").unwrap();
        let jan = days_from_civil(2030, 1, 15) * 86_400;
        assert_eq!(r.lookup(jan).unwrap().0, -7200);
        assert_eq!(r.lookup(jan + 180 * 86_400).unwrap().0, -10_800);
        assert_eq!(
            Rule::parse("JST-9").unwrap().lookup(0),
            Some((32_400, i64::MIN, i64::MAX))
        );
        assert_eq!(Rule::parse("EST5EDT,M3.2.0,M11.1.0").unwrap().std, -18_000);
        assert!(Rule::parse("X1").is_none());
    }

    #[test]
    fn system_zones_agree_with_their_rules() {
        // Where the system has zone files: the table and the rule agree in 2030.
        let Some(z) = Zone::load("Europe/Amsterdam") else {
            return;
        };
        let Some(rule) = z.rule.clone() else { return };
        for day in (0..365).step_by(7) {
            let t = (days_from_civil(2030, 1, 1) + day) * 86_400 + 43_200;
            assert_eq!(z.lookup(t).0, rule.lookup(t).unwrap().0, "day {day}");
        }
    }

    #[test]
    fn utc_and_names() {
        let z = Zone::utc();
        assert_eq!(z.date(1970, 1, 2, 0, 0, 0), 86_400);
        assert_eq!(z.civil(86_400 * 3).weekday, 0, "1970-01-04 was a Sunday");
        assert_eq!(Zone::load("UTC"), Some(Zone::utc()));
        assert!(Zone::load("../etc/passwd").is_none());
        assert!(Zone::load("/etc/localtime").is_none());
        assert!(Zone::load("No/Such_Zone").is_none());
    }
}
