//! Cron patterns of message schedules (Go's `parseCron`, after robfig/cron): six fields,
//! `second minute hour day-of-month month day-of-week`, each a comma list of `*`, `?`,
//! `N`, `N-M` and `/step`, months and weekdays also by name. The next fire time is found
//! by stepping the civil time in the schedule's zone field by field, as Go does, so the
//! same pattern fires at the same instants.

use crate::tz::Zone;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Set when a field was given as `*` or `?` (matters for the day fields).
const STAR_BIT: u64 = 1 << 63;

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const SECONDS: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const MINUTES: Bounds = SECONDS;
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// The six fields of a pattern as bit sets.
#[derive(Debug, Clone, Copy)]
struct Fields {
    second: u64,
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

fn parse_fields(pattern: &str) -> Result<Fields, String> {
    let parts: Vec<&str> = pattern.split_whitespace().collect();
    if parts.len() != 6 {
        return Err(format!("pattern requires 6 fields, got {}", parts.len()));
    }
    Ok(Fields {
        second: field(parts[0], &SECONDS)?,
        minute: field(parts[1], &MINUTES)?,
        hour: field(parts[2], &HOURS)?,
        dom: field(parts[3], &DOM)?,
        month: field(parts[4], &MONTHS)?,
        dow: field(parts[5], &DOW)?,
    })
}

fn field(text: &str, b: &Bounds) -> Result<u64, String> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0u64, |bits, r| Ok(bits | range(r, b)?))
}

fn number(text: &str) -> Result<u64, String> {
    let n: i64 = text
        .parse()
        .map_err(|e| format!("failed to parse int from {text}: {e}"))?;
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {text}"))
}

fn number_or_name(text: &str, b: &Bounds) -> Result<u64, String> {
    let lower = text.to_ascii_lowercase();
    match b.names.iter().find(|(n, _)| *n == lower) {
        Some(&(_, v)) => Ok(v),
        None => number(text),
    }
}

/// `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let steps: Vec<&str> = expr.split('/').collect();
    let bounds: Vec<&str> = steps[0].split('-').collect();
    let single = bounds.len() == 1;
    let mut extra = 0;
    let (start, mut end) = if bounds[0] == "*" || bounds[0] == "?" {
        extra = STAR_BIT;
        (b.min, b.max)
    } else {
        let start = number_or_name(bounds[0], b)?;
        match bounds.len() {
            1 => (start, start),
            2 => (start, number_or_name(bounds[1], b)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match steps.len() {
        1 => 1,
        2 => {
            let step = number(steps[1])?;
            // `N/step` means `N-max/step`.
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    let mut i = start;
    while i <= end {
        bits |= 1 << i;
        i += step;
    }
    Ok(bits | extra)
}

fn has(bits: u64, v: i64) -> bool {
    (0..64).contains(&v) && bits & (1 << v) != 0
}

/// With either day field given as `*`, both must match; otherwise either.
fn day_matches(f: &Fields, zone: &Zone, unix: i64) -> bool {
    let c = zone.civil(unix);
    let dom = has(f.dom, c.day);
    let dow = has(f.dow, c.weekday);
    if f.dom & STAR_BIT != 0 || f.dow & STAR_BIT != 0 {
        dom && dow
    } else {
        dom || dow
    }
}

/// The first instant (ns) after `ts` that `pattern` names in `zone`; an error for a bad
/// pattern or none within five years.
pub fn next_cron(pattern: &str, zone: &Zone, ts: i64) -> Result<i64, String> {
    let f = parse_fields(pattern)?;
    // Whole seconds from here on: the earliest candidate is the next second.
    let mut t = ts.div_euclid(NANOS_PER_SEC) + 1;
    let mut truncated = false;
    let year_limit = zone.civil(t).year + 5;
    'wrap: loop {
        if zone.civil(t).year > year_limit {
            return Err("pattern exceeds maximum range".into());
        }
        while !has(f.month, zone.civil(t).month) {
            let c = zone.civil(t);
            if !truncated {
                truncated = true;
                t = zone.date(c.year, c.month, 1, 0, 0, 0);
            }
            let c = zone.civil(t);
            t = zone.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second);
            if zone.civil(t).month == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(&f, zone, t) {
            let c = zone.civil(t);
            if !truncated {
                truncated = true;
                t = zone.date(c.year, c.month, c.day, 0, 0, 0);
            }
            let c = zone.civil(t);
            t = zone.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second);
            if zone.civil(t).day == 1 {
                continue 'wrap;
            }
        }
        while !has(f.hour, zone.civil(t).hour) {
            let c = zone.civil(t);
            if !truncated {
                truncated = true;
                t = zone.date(c.year, c.month, c.day, c.hour, 0, 0);
            }
            t += 3600;
            if zone.civil(t).hour == 0 {
                continue 'wrap;
            }
        }
        while !has(f.minute, zone.civil(t).minute) {
            if !truncated {
                truncated = true;
                t -= t.rem_euclid(60);
            }
            t += 60;
            if zone.civil(t).minute == 0 {
                continue 'wrap;
            }
        }
        while !has(f.second, zone.civil(t).second) {
            truncated = true;
            t += 1;
            if zone.civil(t).second == 0 {
                continue 'wrap;
            }
        }
        return Ok(t * NANOS_PER_SEC);
    }
}

/// Go's predefined patterns.
pub fn expand_predefined(pattern: &str) -> &str {
    match pattern {
        "@yearly" | "@annually" => "0 0 0 1 1 *",
        "@monthly" => "0 0 0 1 * *",
        "@weekly" => "0 0 0 * * 0",
        "@daily" | "@midnight" => "0 0 0 * * *",
        "@hourly" => "0 0 * * * *",
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tz::days_from_civil;

    fn at(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
        (days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s) * NANOS_PER_SEC
    }

    #[test]
    fn steps_to_the_next_matching_second() {
        let utc = Zone::utc();
        let now = at(2030, 5, 17, 10, 20, 30);
        assert_eq!(next_cron("* * * * * *", &utc, now), Ok(now + NANOS_PER_SEC));
        assert_eq!(
            next_cron("0 */15 * * * *", &utc, now),
            Ok(at(2030, 5, 17, 10, 30, 0))
        );
        assert_eq!(
            next_cron("0 0 9 * * mon-fri", &utc, now),
            Ok(at(2030, 5, 20, 9, 0, 0)),
            "2030-05-17 is a Friday"
        );
        assert_eq!(
            next_cron(expand_predefined("@monthly"), &utc, now),
            Ok(at(2030, 6, 1, 0, 0, 0))
        );
        // Day of month or day of week when neither is a star.
        assert_eq!(
            next_cron("0 0 0 1 * 0", &utc, now),
            Ok(at(2030, 5, 19, 0, 0, 0))
        );
        assert_eq!(
            next_cron("0 0 0 29 feb *", &utc, now),
            Ok(at(2032, 2, 29, 0, 0, 0))
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        let utc = Zone::utc();
        for p in [
            "* * * * *",
            "60 * * * * *",
            "* * * 0 * *",
            "5-1 * * * * *",
            "*/0 * * * * *",
            "1-2-3 * * * * *",
            "x * * * * *",
            "-1 * * * * *",
            "0 0 0 30 feb *",
        ] {
            assert!(next_cron(p, &utc, 0).is_err(), "{p}");
        }
    }
}
