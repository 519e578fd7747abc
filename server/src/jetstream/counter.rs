//! Counter streams (`allow_msg_counter`): a message carries `Nats-Incr: <n>` and the
//! stream stores the subject's new total as `{"val":"<total>"}`. Totals are arbitrary
//! precision integers, as Go's `big.Int`; this is the little decimal arithmetic they need.

use std::cmp::Ordering;
use std::fmt;

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
pub fn stored_total(payload: &[u8]) -> Option<BigInt> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let text = v.get("val")?.as_str()?;
    // Go reads a broken value as zero only when it is not JSON at all; an unparsable
    // number inside valid JSON counts as zero too (`SetString` failing leaves 0).
    Some(BigInt::parse(text).unwrap_or_default())
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

    #[test]
    fn totals_round_trip_through_the_payload() {
        let p = total_payload(&n("-42"));
        assert_eq!(p, br#"{"val":"-42"}"#);
        assert_eq!(stored_total(&p), Some(n("-42")));
        assert_eq!(stored_total(b"not json"), None);
    }
}
