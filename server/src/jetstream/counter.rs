//! Counter streams (`allow_msg_counter`): a message carries `Nats-Incr: <n>` and the
//! stream stores the subject's new total as `{"val":"<total>"}`. Totals are arbitrary
//! precision integers, as Go's `big.Int`; this is the little decimal arithmetic they need.
//!
//! A counter stream that sources other counter streams adds up their totals: each stored
//! message carries, in `Nats-Counter-Sources`, the last total seen from every origin
//! subject (`{"<stream>":{"<subject>":"<total>"}}`), and a sourced message adds the
//! difference between its origin's new total and the one recorded, so a source that
//! starts part way through an origin (or copies a message again) still counts right.

use crate::client::header::{set_header, slice_header};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// The header holding the per-origin totals a counter aggregated.
pub const COUNTER_SOURCES: &str = "Nats-Counter-Sources";
/// The header of a counter increment.
const INCR: &str = "Nats-Incr";
/// The header a sourced message carries (`<origin> <seq> <filter> <dest> <subject>`).
const STREAM_SOURCE: &str = "Nats-Stream-Source";

/// A signed decimal integer of any size.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BigInt {
    negative: bool,
    /// Decimal digits, most significant first, no leading zeros; empty is zero.
    digits: Vec<u8>,
}

impl BigInt {
    /// Parses like Go's `big.Int.SetString(s, 10)`: an optional sign and decimal digits.
    pub fn parse(text: &str) -> Option<BigInt> {
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: Vec<u8> = body
            .bytes()
            .map(|b| b - b'0')
            .skip_while(|&d| d == 0)
            .collect();
        let negative = negative && !digits.is_empty();
        Some(BigInt { negative, digits })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// `self + other`.
    pub fn add(&self, other: &BigInt) -> BigInt {
        if self.negative == other.negative {
            return BigInt {
                negative: self.negative,
                digits: add_mag(&self.digits, &other.digits),
            }
            .normalized();
        }
        match cmp_mag(&self.digits, &other.digits) {
            Ordering::Equal => BigInt::default(),
            Ordering::Greater => BigInt {
                negative: self.negative,
                digits: sub_mag(&self.digits, &other.digits),
            }
            .normalized(),
            Ordering::Less => BigInt {
                negative: other.negative,
                digits: sub_mag(&other.digits, &self.digits),
            }
            .normalized(),
        }
    }

    /// `-self`.
    pub fn negated(&self) -> BigInt {
        BigInt {
            negative: !self.negative && !self.digits.is_empty(),
            digits: self.digits.clone(),
        }
    }

    /// Go's `SetString` into a fresh `big.Int`: what does not parse is zero.
    fn parse_or_zero(text: &str) -> BigInt {
        BigInt::parse(text).unwrap_or_default()
    }

    fn normalized(mut self) -> BigInt {
        let zeros = self.digits.iter().take_while(|&&d| d == 0).count();
        self.digits.drain(..zeros);
        if self.digits.is_empty() {
            self.negative = false;
        }
        self
    }
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let x = if i > 0 {
            i -= 1;
            a[i]
        } else {
            0
        };
        let y = if j > 0 {
            j -= 1;
            b[j]
        } else {
            0
        };
        let s = x + y + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    out.reverse();
    out
}

/// `a - b` for `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut j, mut borrow) = (a.len(), b.len(), 0i8);
    while i > 0 {
        i -= 1;
        let y = if j > 0 {
            j -= 1;
            b[j] as i8
        } else {
            0
        };
        let mut d = a[i] as i8 - y - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(d as u8);
    }
    out.reverse();
    out
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        for d in &self.digits {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The total a counter message holds (`{"val":"<n>"}`); `None` when it is not one.
/// As Go decodes it into `{Value string}`: a body that is not JSON, not an object (or
/// `null`), or whose `val` is not a string is broken; a missing `val` or one that is not a
/// number reads as zero.
pub fn stored_total(payload: &[u8]) -> Option<BigInt> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    match v {
        serde_json::Value::Null => Some(BigInt::default()),
        serde_json::Value::Object(fields) => match fields.get("val") {
            None | Some(serde_json::Value::Null) => Some(BigInt::default()),
            Some(serde_json::Value::String(text)) => Some(BigInt::parse_or_zero(text)),
            Some(_) => None,
        },
        _ => None,
    }
}

/// The body of `Nats-Counter-Sources`: per origin stream, per origin subject, the last
/// total seen. An origin may map to `null` (a header written by a client); it reads as
/// no subjects yet.
pub type CounterSources = BTreeMap<String, Option<BTreeMap<String, String>>>;

/// A counter's stored data could not be read (Go's `JSMessageCounterBrokenError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterBroken;

/// A subject's running counter: its total and the totals seen from each origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Running {
    pub total: BigInt,
    pub sources: CounterSources,
}

/// A counter message as it is to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The message's header, rewritten when the increment or the sources changed.
    pub header: Vec<u8>,
    /// `{"val":"<new total>"}`.
    pub payload: Vec<u8>,
}

impl Running {
    /// The counter a subject's last stored message (header, body) holds; zero when the
    /// subject has none.
    pub fn from_last(last: Option<(&[u8], &[u8])>) -> Result<Running, CounterBroken> {
        let Some((hdr, payload)) = last else {
            return Ok(Running::default());
        };
        let total = stored_total(payload).ok_or(CounterBroken)?;
        let sources = match slice_header(COUNTER_SOURCES, hdr) {
            Some(body) if !body.is_empty() => {
                serde_json::from_slice::<Option<CounterSources>>(body)
                    .map_err(|_| CounterBroken)?
                    .unwrap_or_default()
            }
            _ => CounterSources::new(),
        };
        Ok(Running { total, sources })
    }

    /// Applies one message (its header and body, `subject` as stored, increment `incr`)
    /// and gives it as it is to be stored. A sourced message (one with a
    /// `Nats-Stream-Source` header) adds the change of its origin's total since the one
    /// recorded for that origin subject, and that change replaces its `Nats-Incr`.
    pub fn apply(
        &mut self,
        hdr: &[u8],
        payload: &[u8],
        subject: &str,
        incr: &BigInt,
    ) -> Result<Applied, CounterBroken> {
        let mut header = hdr.to_vec();
        let mut incr = incr.clone();
        if let Some(source) = slice_header(STREAM_SOURCE, hdr).filter(|v| !v.is_empty()) {
            let source = String::from_utf8_lossy(source);
            let fields: Vec<&str> = source.split(' ').collect();
            let origin = fields.first().copied().unwrap_or_default().to_string();
            let origin_subject = fields.get(4).copied().unwrap_or(subject).to_string();
            let sourced = stored_total(payload).ok_or(CounterBroken)?;
            let seen = self
                .sources
                .entry(origin)
                .or_default()
                .get_or_insert_default();
            let previous = seen
                .insert(origin_subject, sourced.to_string())
                .map(|p| BigInt::parse_or_zero(&p))
                .unwrap_or_default();
            incr = sourced.add(&previous.negated());
            header = set_header(INCR, &incr.to_string(), &mut header).into_owned();
        }
        self.total = self.total.add(&incr);
        if !self.sources.is_empty() {
            let body = sources_json(&self.sources);
            header = set_header(COUNTER_SOURCES, &body, &mut header).into_owned();
        }
        Ok(Applied {
            header,
            payload: total_payload(&self.total),
        })
    }
}

/// The sources as Go's `json.Marshal` writes them: keys sorted, `<`, `>` and `&` (and
/// the two JSON-hostile line separators) escaped.
fn sources_json(sources: &CounterSources) -> String {
    let text = serde_json::to_string(sources).unwrap_or_else(|_| "{}".to_string());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The payload stored for a counter total.
pub fn total_payload(total: &BigInt) -> Vec<u8> {
    format!("{{\"val\":\"{total}\"}}").into_bytes()
}

/// Whether a counter message (its header and new total) is larger than the stream's
/// `max_msg_size` (negative: no limit). Checked once the total is known, as Go does.
pub fn exceeds_max_msg_size(hdr_len: usize, payload_len: usize, max_msg_size: i64) -> bool {
    let Ok(max) = usize::try_from(max_msg_size) else {
        return false;
    };
    hdr_len > max || payload_len > max - hdr_len
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_total_counts_against_the_message_size_limit() {
        let hdr = b"NATS/1.0\r\nNats-Incr: 1\r\n\r\n".len();
        let one = total_payload(&BigInt::parse("1").unwrap()).len();
        // Go's TestJetStreamAllowMsgCounterMaxPayloadAndSize: exactly 37 bytes fit 37.
        assert_eq!(hdr + one, 37);
        assert!(!exceeds_max_msg_size(hdr, one, 38));
        assert!(!exceeds_max_msg_size(hdr, one, 37));
        assert!(exceeds_max_msg_size(hdr, one, 36));
        // A total of 11 after an increment of 10 no longer fits.
        let ten = b"NATS/1.0\r\nNats-Incr: 10\r\n\r\n".len();
        let eleven = total_payload(&BigInt::parse("11").unwrap()).len();
        assert!(exceeds_max_msg_size(ten, eleven, 37));
        assert!(exceeds_max_msg_size(hdr, 0, 10));
        assert!(!exceeds_max_msg_size(hdr, one, -1));
    }

    fn n(s: &str) -> BigInt {
        BigInt::parse(s).unwrap()
    }

    #[test]
    fn parses_like_go_set_string() {
        assert_eq!(n("+7").to_string(), "7");
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(n("007").to_string(), "7");
        assert!(BigInt::parse("bogus").is_none());
        assert!(BigInt::parse("").is_none());
        assert!(BigInt::parse("-").is_none());
        assert!(BigInt::parse("1_000").is_none());
    }

    #[test]
    fn adds_with_signs_and_carries() {
        assert_eq!(n("1").add(&n("2")).to_string(), "3");
        assert_eq!(n("3").add(&n("-3")).to_string(), "0");
        assert_eq!(n("-1").add(&n("0")).to_string(), "-1");
        assert_eq!(n("5").add(&n("-12")).to_string(), "-7");
        assert_eq!(n("999").add(&n("1")).to_string(), "1000");
        let big = "340282366920938463463374607431768211456"; // 2^128
        assert_eq!(
            n(big).add(&n(big)).to_string(),
            "680564733841876926926749214863536422912"
        );
        assert_eq!(n(big).add(&n(&format!("-{big}"))).to_string(), "0");
    }

    /// A counter message as a client publishes it.
    fn incr_hdr(n: &str) -> Vec<u8> {
        format!("NATS/1.0\r\nNats-Incr: {n}\r\n\r\n").into_bytes()
    }

    /// A counter message as a source copies it from origin `stream` (its total `total`).
    fn sourced(stream: &str, seq: u64, subject: &str, incr: &str) -> Vec<u8> {
        format!(
            "NATS/1.0\r\nNats-Incr: {incr}\r\nNats-Stream-Source: {stream} {seq} foo.* foo {subject}\r\n\r\n"
        )
        .into_bytes()
    }

    fn header(hdr: &[u8], key: &str) -> Option<String> {
        slice_header(key, hdr).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn a_sourced_total_adds_what_changed_since_it_was_last_seen() {
        // Go's TestJetStreamAllowMsgCounterSourceStartingAboveZero: a local +1, then the
        // origins' totals 5 and 10 (their increments were 1 and 2), then a local +1.
        let mut r = Running::from_last(None).unwrap();
        let a = r.apply(&incr_hdr("1"), b"", "foo", &n("1")).unwrap();
        assert_eq!(a.payload, br#"{"val":"1"}"#);
        assert_eq!(header(&a.header, COUNTER_SOURCES), None);
        let a = r
            .apply(
                &sourced("O1", 5, "foo.1", "1"),
                br#"{"val":"5"}"#,
                "foo",
                &n("1"),
            )
            .unwrap();
        assert_eq!(a.payload, br#"{"val":"6"}"#);
        assert_eq!(header(&a.header, "Nats-Incr").as_deref(), Some("5"));
        let a = r
            .apply(
                &sourced("O2", 5, "foo.2", "2"),
                br#"{"val":"10"}"#,
                "foo",
                &n("2"),
            )
            .unwrap();
        assert_eq!(header(&a.header, "Nats-Incr").as_deref(), Some("10"));
        assert_eq!(a.payload, br#"{"val":"16"}"#);
        // Read back from what was stored: the sources carry over to a local increment.
        let mut r = Running::from_last(Some((&a.header, &a.payload))).unwrap();
        let a = r.apply(&incr_hdr("1"), b"", "foo", &n("1")).unwrap();
        assert_eq!(a.payload, br#"{"val":"17"}"#);
        assert_eq!(header(&a.header, "Nats-Incr").as_deref(), Some("1"));
        assert_eq!(
            header(&a.header, COUNTER_SOURCES).as_deref(),
            Some(r#"{"O1":{"foo.1":"5"},"O2":{"foo.2":"10"}}"#)
        );
        // The same origin total again changes nothing; a lower one takes away.
        let a = r
            .apply(
                &sourced("O1", 6, "foo.1", "0"),
                br#"{"val":"5"}"#,
                "foo",
                &n("0"),
            )
            .unwrap();
        assert_eq!(a.payload, br#"{"val":"17"}"#);
        assert_eq!(header(&a.header, "Nats-Incr").as_deref(), Some("0"));
        let a = r
            .apply(
                &sourced("O1", 7, "foo.1", "-3"),
                br#"{"val":"2"}"#,
                "foo",
                &n("-3"),
            )
            .unwrap();
        assert_eq!(a.payload, br#"{"val":"14"}"#);
        assert_eq!(header(&a.header, "Nats-Incr").as_deref(), Some("-3"));
    }

    #[test]
    fn a_null_origin_in_the_sources_header_reads_as_no_subjects() {
        // Go's TestJetStreamCounterNullSourcesHeaderDoesNotPanic.
        let stored = b"NATS/1.0\r\nNats-Incr: 1\r\nNats-Counter-Sources: {\"O1\":null}\r\n\r\n";
        let mut r = Running::from_last(Some((stored, br#"{"val":"1"}"#))).unwrap();
        assert_eq!(r.sources.get("O1"), Some(&None));
        let a = r
            .apply(
                &sourced("O1", 1, "foo.1", "5"),
                br#"{"val":"5"}"#,
                "foo",
                &n("5"),
            )
            .unwrap();
        assert_eq!(a.payload, br#"{"val":"6"}"#);
        assert_eq!(
            header(&a.header, COUNTER_SOURCES).as_deref(),
            Some(r#"{"O1":{"foo.1":"5"}}"#)
        );
        // Another origin leaves a null one as it was, as Go writes a nil map.
        let mut r = Running::from_last(Some((stored, br#"{"val":"1"}"#))).unwrap();
        let a = r
            .apply(
                &sourced("O2", 1, "foo.2", "2"),
                br#"{"val":"2"}"#,
                "foo",
                &n("2"),
            )
            .unwrap();
        assert_eq!(
            header(&a.header, COUNTER_SOURCES).as_deref(),
            Some(r#"{"O1":null,"O2":{"foo.2":"2"}}"#)
        );
    }

    #[test]
    fn broken_counters_are_refused() {
        let ok = incr_hdr("1");
        assert_eq!(Running::from_last(Some((&ok, b""))), Err(CounterBroken));
        assert_eq!(
            Running::from_last(Some((&ok, br#"{"val":1}"#))),
            Err(CounterBroken)
        );
        let bad_sources = b"NATS/1.0\r\nNats-Counter-Sources: [1]\r\n\r\n";
        assert_eq!(
            Running::from_last(Some((bad_sources, br#"{"val":"1"}"#))),
            Err(CounterBroken)
        );
        // Valid JSON without a number reads as zero, as Go's SetString leaves it.
        assert_eq!(
            Running::from_last(Some((&ok, br#"{"val":"x"}"#)))
                .unwrap()
                .total,
            BigInt::default()
        );
        assert_eq!(
            Running::from_last(Some((&ok, b"{}"))).unwrap().total,
            BigInt::default()
        );
        // A sourced message must hold a total.
        let mut r = Running::default();
        assert_eq!(
            r.apply(&sourced("O1", 1, "foo.1", "1"), b"", "foo", &n("1")),
            Err(CounterBroken)
        );
    }

    #[test]
    fn sources_are_written_like_go_json() {
        let mut s = CounterSources::new();
        s.insert(
            "B".into(),
            Some([("a<b>&".to_string(), "1".to_string())].into()),
        );
        s.insert("A".into(), None);
        assert_eq!(
            sources_json(&s),
            r#"{"A":null,"B":{"a\u003cb\u003e\u0026":"1"}}"#
        );
    }

    #[test]
    fn totals_round_trip_through_the_payload() {
        let p = total_payload(&n("-42"));
        assert_eq!(p, br#"{"val":"-42"}"#);
        assert_eq!(stored_total(&p), Some(n("-42")));
        assert_eq!(stored_total(b"not json"), None);
    }
}
