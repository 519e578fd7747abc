//! Message records as they sit in a block file: encoding, checked decoding and the scan
//! that recovers a block's records while stepping over damage.
//!
//! Layout (little endian, the same bytes as nats-server writes):
//!
//! ```text
//! rl:u32  seq:u64  ts:i64  slen:u16  subject  [hlen:u32 hdr]  payload  hash:u64
//! ```
//!
//! `rl` is the whole record length; its top bit says a header block is present. The top
//! bit of `seq` marks an erased (skipped or overwritten) sequence and the next one a
//! tombstone (a delete of a message that lives in an older block). The hash is a
//! HighwayHash-64 keyed by the SHA-256 of `"<stream>-<block index>"` (as Go keys it), so a
//! record copied into another block or stream does not verify.
//!
//! One deliberate difference from Go: Go hashes seq+ts, subject, headers and payload, but
//! not the length fields, so a flipped bit in `slen` or `hlen` moves the boundary between
//! subject, headers and payload without changing the hashed byte stream — a wrong message
//! that verifies. natsd hashes every byte before the checksum instead.

use highway::{HighwayHash, HighwayHasher, Key};
use sha2::{Digest, Sha256};

/// Fixed part before the subject: rl, seq, ts, slen.
pub const HEADER_LEN: usize = 22;
/// Trailing checksum.
pub const HASH_LEN: usize = 8;
/// Length of a record with no subject, headers or payload (tombstones, erased slots).
pub const EMPTY_RECORD_LEN: usize = HEADER_LEN + HASH_LEN;
/// Record length bit saying a header block follows the subject.
pub const HEADERS_BIT: u32 = 1 << 31;
/// Sequence bit for an erased (skipped or overwritten) sequence.
pub const ERASED_BIT: u64 = 1 << 63;
/// Sequence bit for a tombstone.
pub const TOMBSTONE_BIT: u64 = 1 << 62;
/// A record longer than this is taken as a damaged length field.
pub const MAX_RECORD_LEN: usize = 32 * 1024 * 1024;

/// Size a message takes in a block, which is also what byte limits count.
pub fn record_len(subject_len: usize, header_len: usize, payload_len: usize) -> usize {
    if header_len == 0 {
        HEADER_LEN + subject_len + payload_len + HASH_LEN
    } else {
        HEADER_LEN + subject_len + 4 + header_len + payload_len + HASH_LEN
    }
}

/// The keyed checksum of one block.
#[derive(Clone)]
pub struct BlockHasher {
    key: Key,
}

impl BlockHasher {
    /// The hasher of block `index` of stream `stream`.
    pub fn new(stream: &str, index: u32) -> Self {
        let digest = Sha256::digest(format!("{stream}-{index}").as_bytes());
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_le_bytes(bytes);
        }
        BlockHasher { key: Key(words) }
    }

    /// Checksum of a record's bytes before the checksum itself.
    fn checksum(&self, record_body: &[u8]) -> [u8; 8] {
        let mut hasher = HighwayHasher::new(self.key);
        hasher.append(record_body);
        hasher.finalize64().to_le_bytes()
    }
}

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A stored message.
    Message,
    /// A used sequence without a message (skipped or erased).
    Erased,
    /// The delete of a message held in an older block.
    Tombstone,
}

/// A decoded record borrowing from the block bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: RecordKind,
    /// The sequence with the kind bits cleared.
    pub seq: u64,
    pub ts: i64,
    pub subject: &'a [u8],
    pub headers: &'a [u8],
    pub payload: &'a [u8],
    /// Whole length in the block.
    pub len: usize,
}

/// Why bytes at an offset are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes left than the record needs: a torn or truncated tail.
    Short,
    /// The length fields contradict each other.
    BadFraming,
    /// The framing holds but the checksum does not match: flipped bits.
    BadChecksum,
}

/// Appends one record to `out`. `seq` may carry [`ERASED_BIT`] or [`TOMBSTONE_BIT`].
pub fn encode(
    out: &mut Vec<u8>,
    hasher: &BlockHasher,
    seq: u64,
    ts: i64,
    subject: &[u8],
    headers: &[u8],
    payload: &[u8],
) {
    let len = record_len(subject.len(), headers.len(), payload.len());
    let mut rl = len as u32;
    if !headers.is_empty() {
        rl |= HEADERS_BIT;
    }
    let start = out.len();
    out.reserve(len);
    out.extend_from_slice(&rl.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(subject);
    if !headers.is_empty() {
        out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
        out.extend_from_slice(headers);
    }
    out.extend_from_slice(payload);
    let sum = hasher.checksum(&out[start..]);
    out.extend_from_slice(&sum);
}

/// Decodes and verifies the record at the start of `buf`.
pub fn decode<'a>(buf: &'a [u8], hasher: &BlockHasher) -> Result<Record<'a>, RecordError> {
    if buf.len() < HEADER_LEN {
        return Err(RecordError::Short);
    }
    let raw_rl = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let has_headers = raw_rl & HEADERS_BIT != 0;
    let len = (raw_rl & !HEADERS_BIT) as usize;
    let subject_len = u16::from_le_bytes([buf[20], buf[21]]) as usize;
    let fixed = HEADER_LEN + subject_len + if has_headers { 4 } else { 0 } + HASH_LEN;
    if len < fixed || len > MAX_RECORD_LEN {
        return Err(RecordError::BadFraming);
    }
    if buf.len() < len {
        return Err(RecordError::Short);
    }
    let body = &buf[HEADER_LEN..len - HASH_LEN];
    let subject = &body[..subject_len];
    let (headers, payload) = if has_headers {
        let hl = &body[subject_len..subject_len + 4];
        let header_len = u32::from_le_bytes([hl[0], hl[1], hl[2], hl[3]]) as usize;
        let rest = &body[subject_len + 4..];
        if header_len > rest.len() {
            return Err(RecordError::BadFraming);
        }
        rest.split_at(header_len)
    } else {
        (&body[..0], &body[subject_len..])
    };
    if hasher.checksum(&buf[..len - HASH_LEN])[..] != buf[len - HASH_LEN..len] {
        return Err(RecordError::BadChecksum);
    }
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(&buf[4..12]);
    let raw_seq = u64::from_le_bytes(seq_bytes);
    let mut ts_bytes = [0u8; 8];
    ts_bytes.copy_from_slice(&buf[12..20]);
    let kind = if raw_seq & TOMBSTONE_BIT != 0 {
        RecordKind::Tombstone
    } else if raw_seq & ERASED_BIT != 0 || raw_seq == 0 {
        RecordKind::Erased
    } else {
        RecordKind::Message
    };
    Ok(Record {
        kind,
        seq: raw_seq & !(ERASED_BIT | TOMBSTONE_BIT),
        ts: i64::from_le_bytes(ts_bytes),
        subject,
        headers,
        payload,
        len,
    })
}

/// A record found by [`scan`], by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub offset: usize,
    pub len: usize,
    pub kind: RecordKind,
    pub seq: u64,
    pub ts: i64,
    pub subject: Vec<u8>,
    pub has_headers: bool,
}

/// A byte range of a block that held no valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    pub offset: usize,
    pub len: usize,
    pub cause: RecordError,
}

/// Everything [`scan`] learned about a block.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanResult {
    pub records: Vec<Scanned>,
    /// Damaged ranges between valid records, each skipped.
    pub damage: Vec<Damage>,
    /// End of the last valid record: bytes past it are a torn tail (truncate to here).
    pub valid_end: usize,
}

/// Reads every valid record of a block. A damaged record is stepped over by searching
/// forward for the next offset where a record verifies; the keyed 64-bit checksum makes a
/// false resynchronisation practically impossible. Damage with no valid record after it
/// is a torn tail: it is not listed in `damage`, and `valid_end` marks where it starts.
pub fn scan(buf: &[u8], hasher: &BlockHasher) -> ScanResult {
    let mut result = ScanResult::default();
    let mut offset = 0;
    while offset < buf.len() {
        match decode(&buf[offset..], hasher) {
            Ok(record) => {
                result.records.push(Scanned {
                    offset,
                    len: record.len,
                    kind: record.kind,
                    seq: record.seq,
                    ts: record.ts,
                    subject: record.subject.to_vec(),
                    has_headers: !record.headers.is_empty(),
                });
                offset += record.len;
                result.valid_end = offset;
            }
            Err(cause) => {
                let Some(next) = resync(buf, offset + 1, hasher) else {
                    break;
                };
                result.damage.push(Damage {
                    offset,
                    len: next - offset,
                    cause,
                });
                offset = next;
            }
        }
    }
    result
}

/// The first offset at or after `from` where a record verifies.
fn resync(buf: &[u8], from: usize, hasher: &BlockHasher) -> Option<usize> {
    (from..buf.len().saturating_sub(EMPTY_RECORD_LEN - 1)).find(|&at| {
        let raw_rl = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let len = (raw_rl & !HEADERS_BIT) as usize;
        // Cheap pre-check before hashing.
        len >= EMPTY_RECORD_LEN && len <= buf.len() - at && decode(&buf[at..], hasher).is_ok()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hasher() -> BlockHasher {
        BlockHasher::new("TEST", 1)
    }

    #[test]
    fn highway_matches_the_reference_vector() {
        // Reference HighwayHash-64 of empty input with key bytes 0..32 (the vector that
        // the Go and C++ implementations test against).
        let key = Key([
            0x0706050403020100,
            0x0F0E0D0C0B0A0908,
            0x1716151413121110,
            0x1F1E1D1C1B1A1918,
        ]);
        assert_eq!(HighwayHasher::new(key).finalize64(), 0x907A56DE22C26E53);
    }

    #[test]
    fn round_trip_with_and_without_headers() {
        let h = hasher();
        let mut buf = Vec::new();
        encode(&mut buf, &h, 7, 99, b"foo.bar", b"", b"hello");
        encode(
            &mut buf,
            &h,
            8,
            100,
            b"foo",
            b"NATS/1.0\r\nA: b\r\n\r\n",
            b"x",
        );
        let first = decode(&buf, &h).unwrap();
        assert_eq!(first.len, record_len(7, 0, 5));
        assert_eq!(
            (first.seq, first.ts, first.kind),
            (7, 99, RecordKind::Message)
        );
        assert_eq!(
            (first.subject, first.payload),
            (&b"foo.bar"[..], &b"hello"[..])
        );
        let second = decode(&buf[first.len..], &h).unwrap();
        assert_eq!(second.headers, b"NATS/1.0\r\nA: b\r\n\r\n");
        assert_eq!(second.payload, b"x");
        assert_eq!(second.len, record_len(3, 18, 1));
    }

    #[test]
    fn kinds_come_from_the_sequence_bits() {
        let h = hasher();
        let mut buf = Vec::new();
        encode(&mut buf, &h, 5 | TOMBSTONE_BIT, 1, b"", b"", b"");
        encode(&mut buf, &h, 6 | ERASED_BIT, 1, b"", b"", b"");
        let scan = scan(&buf, &h);
        let kinds: Vec<_> = scan.records.iter().map(|r| (r.kind, r.seq)).collect();
        assert_eq!(
            kinds,
            vec![(RecordKind::Tombstone, 5), (RecordKind::Erased, 6)]
        );
    }

    #[test]
    fn another_blocks_key_does_not_verify() {
        let mut buf = Vec::new();
        encode(&mut buf, &hasher(), 1, 1, b"a", b"", b"b");
        let other = BlockHasher::new("TEST", 2);
        assert_eq!(decode(&buf, &other), Err(RecordError::BadChecksum));
    }

    #[test]
    fn every_flipped_bit_is_caught_and_skipped() {
        let h = hasher();
        for headers in [&b""[..], &b"NATS/1.0\r\n\r\n"[..]] {
            flip_every_bit_of_the_middle_record(&h, headers);
        }
    }

    fn flip_every_bit_of_the_middle_record(h: &BlockHasher, headers: &[u8]) {
        let h = h.clone();
        let mut clean = Vec::new();
        for seq in 1..=3 {
            encode(
                &mut clean, &h, seq, seq as i64, b"subj", headers, b"payload",
            );
        }
        let one = record_len(4, headers.len(), 7);
        for bit in 0..one * 8 {
            let mut buf = clean.clone();
            buf[one + bit / 8] ^= 1 << (bit % 8);
            let result = scan(&buf, &h);
            let seqs: Vec<_> = result.records.iter().map(|r| r.seq).collect();
            assert_eq!(seqs, vec![1, 3], "bit {bit}");
            assert_eq!(result.damage.len(), 1, "bit {bit}");
            assert_eq!(result.damage[0].offset, one);
            assert_eq!(result.damage[0].len, one);
            assert_eq!(result.valid_end, buf.len());
        }
    }

    #[test]
    fn torn_tail_is_not_damage_but_ends_the_valid_part() {
        let h = hasher();
        let mut buf = Vec::new();
        encode(&mut buf, &h, 1, 1, b"a", b"", b"one");
        let end = buf.len();
        encode(&mut buf, &h, 2, 2, b"a", b"", b"two");
        for cut in end..buf.len() {
            let result = scan(&buf[..cut], &h);
            assert_eq!(result.records.len(), 1);
            assert!(result.damage.is_empty());
            assert_eq!(result.valid_end, end);
        }
    }
}
