//! The binary snapshot of a hash wheel, as Go's stores persist it.
//!
//! Layout: version byte `1`, entry count `u64` LE, a caller's high sequence `u64` LE, then
//! per entry the expiry as a zig-zag varint and the sequence as an unsigned varint.

use super::{HashWheel, ThwError};

/// Length of the snapshot header.
pub const ENCODED_HEADER_LEN: usize = 17;
const VERSION: u8 = 1;
/// Longest varint of a 64-bit value.
const MAX_VARINT_LEN: usize = 10;

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    // Zig-zag: small magnitudes of either sign encode short.
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads an unsigned varint; `None` when the bytes end early or it overflows 64 bits.
fn get_uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(MAX_VARINT_LEN) {
        if i == MAX_VARINT_LEN - 1 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

fn get_varint(buf: &[u8]) -> Option<(i64, usize)> {
    let (u, n) = get_uvarint(buf)?;
    Some((((u >> 1) as i64) ^ -((u & 1) as i64), n))
}

impl HashWheel {
    /// A snapshot of the wheel stamped with `high_seq`, which [`Self::decode`] returns.
    pub fn encode(&self, high_seq: u64) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(ENCODED_HEADER_LEN + self.count as usize * 2 * MAX_VARINT_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&high_seq.to_le_bytes());
        for slot in self.wheel.iter().flatten() {
            for (&seq, &expires) in &slot.entries {
                put_varint(&mut out, expires);
                put_uvarint(&mut out, seq);
            }
        }
        out
    }

    /// Replaces the contents of this wheel with a snapshot and returns its high sequence.
    /// On error the wheel is left unchanged.
    pub fn decode(&mut self, buf: &[u8]) -> Result<u64, ThwError> {
        if buf.len() < ENCODED_HEADER_LEN {
            return Err(ThwError::ShortBuffer);
        }
        if buf[0] != VERSION {
            return Err(ThwError::InvalidVersion);
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[1..9]);
        let count = u64::from_le_bytes(word);
        word.copy_from_slice(&buf[9..17]);
        let high_seq = u64::from_le_bytes(word);
        let mut rest = &buf[ENCODED_HEADER_LEN..];
        let mut wheel = HashWheel::new();
        // Bounded by the bytes present, whatever count the header claims.
        for _ in 0..count {
            let (expires, tn) = get_varint(rest).ok_or(ThwError::UnexpectedEof)?;
            let (seq, sn) = get_uvarint(&rest[tn..]).ok_or(ThwError::UnexpectedEof)?;
            wheel.add(seq, expires);
            rest = &rest[tn + sn..];
        }
        *self = wheel;
        Ok(high_seq)
    }
}

#[cfg(test)]
mod varint_tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_match_go_bytes() {
        for v in [0i64, 1, -1, 63, -64, 64, 1 << 40, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(get_varint(&b), Some((v, b.len())));
        }
        for v in [0u64, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(get_uvarint(&b), Some((v, b.len())));
        }
        // Go's binary.AppendVarint(nil, 12345) and AppendUvarint(nil, 300).
        let mut b = Vec::new();
        put_varint(&mut b, 12345);
        assert_eq!(b, [0xf2, 0xc0, 0x01]);
        b.clear();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        // Overlong and truncated forms are refused.
        assert_eq!(get_uvarint(&[0x80; 11]), None);
        assert_eq!(
            get_uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
        assert_eq!(get_uvarint(&[0x80]), None);
    }
}
