//! Times and durations the way Go's monitoring JSON shows them: `time.Time` as RFC 3339
//! with nanoseconds (trailing zeros trimmed), `time.Duration.String()` (`1.5ms`, `2m3s`),
//! and the server's own uptime format (`1d2h3m4s`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// A point in time as Go's `time.Time` marshals it. Go's zero time (year 1) is kept apart
/// since it does not fit in nanoseconds since 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoTime(Option<i64>);

impl GoTime {
    /// Go's zero `time.Time` (`0001-01-01T00:00:00Z`).
    pub const ZERO: GoTime = GoTime(None);

    pub fn from_unix_nanos(n: i64) -> GoTime {
        GoTime(Some(n))
    }

    pub fn now() -> GoTime {
        GoTime(Some(now_nanos()))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_none()
    }

    /// Nanoseconds since the Unix epoch; Go's zero time maps to `i64::MIN`.
    pub fn unix_nanos(&self) -> i64 {
        self.0.unwrap_or(i64::MIN)
    }

    /// `self - earlier` in nanoseconds, saturating (Go's `Time.Sub`).
    pub fn sub(&self, earlier: GoTime) -> i64 {
        self.unix_nanos().saturating_sub(earlier.unix_nanos())
    }

    /// This time moved by `nanos` (negative moves back).
    pub fn add_nanos(&self, nanos: i64) -> GoTime {
        match self.0 {
            Some(n) => GoTime(Some(n.saturating_add(nanos))),
            None => GoTime(None),
        }
    }

    /// RFC 3339 with up to nine fractional digits, trailing zeros trimmed, in UTC.
    pub fn to_rfc3339(&self) -> String {
        let Some(n) = self.0 else {
            return "0001-01-01T00:00:00Z".to_string();
        };
        let secs = n.div_euclid(NANOS_PER_SEC);
        let nsec = n.rem_euclid(NANOS_PER_SEC) as u32;
        let Some(dt) = chrono::DateTime::from_timestamp(secs, nsec) else {
            return "0001-01-01T00:00:00Z".to_string();
        };
        let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
        if nsec > 0 {
            let frac = format!("{nsec:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }

    /// Parses RFC 3339 (any offset) as Go's `time.Time` unmarshals it.
    pub fn parse_rfc3339(s: &str) -> Result<GoTime, String> {
        let dt = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| format!("{s}: {e}"))?;
        if dt.timestamp() <= -62_135_596_800 {
            return Ok(GoTime::ZERO);
        }
        let n = dt
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("{s}: out of range"))?;
        Ok(GoTime(Some(n)))
    }
}

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GoTime, D::Error> {
        let s = String::deserialize(d)?;
        GoTime::parse_rfc3339(&s).map_err(D::Error::custom)
    }
}

/// Go's `time.Duration.String()` for a duration in nanoseconds.
pub fn go_duration_string(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Below a second: one unit with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        push_fraction(&mut out, u, div);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let hours = secs / 3600;
    let mins = (secs / 60) % 60;
    let s = secs % 60;
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || mins > 0 {
        let _ = write!(out, "{mins}m");
    }
    push_fraction(&mut out, s * 1_000_000_000 + frac, 1_000_000_000);
    out.push('s');
    out
}

/// `v / div` with the remainder as trimmed decimals.
fn push_fraction(out: &mut String, v: u64, div: u64) {
    let _ = write!(out, "{}", v / div);
    let rem = v % div;
    if rem > 0 {
        let width = div.ilog10() as usize;
        let digits = format!("{rem:0width$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Go's `time.ParseDuration` (units ns, us, µs, ms, s, m, h; decimals; a sign).
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration \"{s}\"");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration \"{s}\""))?;
        if num_end == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{s}\"")),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

/// The server's uptime format: whole seconds shown as `[Ny][Nd][Nh][Nm]Ns`, starting from
/// the largest non-zero unit (Go's `myUptime`).
pub fn my_uptime(d: Duration) -> String {
    let tsecs = d.as_secs();
    let tmins = tsecs / 60;
    let thrs = tmins / 60;
    let tdays = thrs / 24;
    let tyrs = tdays / 365;
    if tyrs > 0 {
        format!(
            "{tyrs}y{}d{}h{}m{}s",
            tdays % 365,
            thrs % 24,
            tmins % 60,
            tsecs % 60
        )
    } else if tdays > 0 {
        format!("{tdays}d{}h{}m{}s", thrs % 24, tmins % 60, tsecs % 60)
    } else if thrs > 0 {
        format!("{thrs}h{}m{}s", tmins % 60, tsecs % 60)
    } else if tmins > 0 {
        format!("{tmins}m{}s", tsecs % 60)
    } else {
        format!("{tsecs}s")
    }
}

/// [`my_uptime`] for a span in nanoseconds (negative spans show as `0s`).
pub fn my_uptime_nanos(nanos: i64) -> String {
    my_uptime(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

/// Serializes an `f64` as Go's `encoding/json` does: integral values without a fraction
/// (`2`, not `2.0`).
pub fn go_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Go marshals `time.Duration` as integer nanoseconds.
pub fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_like_go() {
        assert_eq!(GoTime::ZERO.to_rfc3339(), "0001-01-01T00:00:00Z");
        assert_eq!(
            GoTime::from_unix_nanos(0).to_rfc3339(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            GoTime::from_unix_nanos(1_500_000_000).to_rfc3339(),
            "1970-01-01T00:00:01.5Z"
        );
        assert_eq!(
            GoTime::from_unix_nanos(1_700_000_000_123_456_789).to_rfc3339(),
            "2023-11-14T22:13:20.123456789Z"
        );
        for n in [0, 1, 1_500_000_000, 1_700_000_000_123_456_789, -5] {
            let t = GoTime::from_unix_nanos(n);
            assert_eq!(GoTime::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
        assert!(GoTime::parse_rfc3339("0001-01-01T00:00:00Z")
            .unwrap()
            .is_zero());
        assert_eq!(
            GoTime::parse_rfc3339("1970-01-01T01:00:01+01:00").unwrap(),
            GoTime::from_unix_nanos(1_000_000_000)
        );
    }

    #[test]
    fn duration_strings_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * 1_000_000_000 + 5_000_000_000, "4m5s"),
            (
                5 * 3600 * 1_000_000_000 + 6 * 60 * 1_000_000_000 + 7_001_000_000,
                "5h6m7.001s",
            ),
            (3600 * 1_000_000_000, "1h0m0s"),
            (-1_500_000, "-1.5ms"),
        ];
        for (n, s) in cases {
            assert_eq!(go_duration_string(*n), *s);
            assert_eq!(parse_go_duration(s).unwrap(), *n, "{s}");
        }
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("1").is_err());
        assert!(parse_go_duration("1x").is_err());
    }

    #[test]
    fn uptime_like_go() {
        let mut d = Duration::from_secs(22);
        assert_eq!(my_uptime(d), "22s");
        d += Duration::from_secs(4 * 60);
        assert_eq!(my_uptime(d), "4m22s");
        d += Duration::from_secs(4 * 3600);
        assert_eq!(my_uptime(d), "4h4m22s");
        d += Duration::from_secs(32 * 24 * 3600);
        assert_eq!(my_uptime(d), "32d4h4m22s");
        d += Duration::from_secs(22 * 365 * 24 * 3600);
        assert_eq!(my_uptime(d), "22y32d4h4m22s");
    }
}
