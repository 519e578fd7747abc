//! Go's stream snapshot layout, so that a snapshot taken by nats-server restores into
//! natsd and one taken by natsd restores into nats-server.
//!
//! A snapshot is an S2 stream around a tar archive:
//!
//! ```text
//! meta.inf            the stream's FileStreamInfo JSON (creation time and config)
//! meta.sum            hex HighwayHash-64 of meta.inf, keyed by sha256(stream name)
//! msgs/<index>.blk    message blocks, plaintext, in Go's record layout and checksum
//! msgs/index.db       Go's full stream state (Go writes it; natsd reads it if present)
//! obs/<name>/meta.inf the consumer's FileConsumerInfo JSON, meta.sum beside it
//! obs/<name>/o.dat    the consumer's state in Go's binary layout
//! ```
//!
//! natsd writes the messages present; a short run of deleted sequences between them as
//! erased-sequence records (Go's own marks for skipped sequences), a long one as the end
//! of a block (the next block starts after it); and, when the stream's last sequence is
//! not a message any more, an erased record for it, as Go does to remember its last
//! sequence. Every Go version reads these blocks back.
//! It does not write `index.db`: Go rebuilds the state from the blocks.
//!
//! Go's block records differ from natsd's own file store in what the checksum covers
//! (Go leaves out the length fields), so they are encoded and checked here.

use highway::{HighwayHash, HighwayHasher, Key};
use natsd_store::avl::SequenceSet;
use natsd_store::{read_uvarint, read_varint, Store, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The stream's configuration file.
pub const META_FILE: &str = "meta.inf";
/// Its checksum.
pub const META_SUM_FILE: &str = "meta.sum";
/// Message blocks live here.
pub const MSGS_DIR: &str = "msgs";
/// Go's full stream state file in `msgs/`.
pub const STATE_FILE: &str = "index.db";
/// Consumers live here.
pub const CONSUMER_DIR: &str = "obs";
/// A consumer's state file.
pub const CONSUMER_STATE_FILE: &str = "o.dat";

/// Go's default block size for large streams: natsd cuts its blocks there.
const BLOCK_TARGET: usize = 8 * 1024 * 1024;
/// The longest run of deleted sequences written as erased records inside a block.
const MAX_FILLED_GAP: u64 = 1024;
/// Fixed part of a record before the subject: length, sequence, time, subject length.
const RECORD_HEADER: usize = 22;
/// The record checksum.
const RECORD_HASH: usize = 8;
/// Length bit: a header block follows the subject.
const HEADERS_BIT: u32 = 1 << 31;
/// Sequence bit: an erased (skipped or removed) sequence.
const ERASED_BIT: u64 = 1 << 63;
/// Sequence bit: a tombstone for a message removed from an older block.
const TOMBSTONE_BIT: u64 = 1 << 62;
/// Go refuses records longer than this as damaged (`rlBadThresh`).
const MAX_RECORD: usize = 32 * 1024 * 1024;
/// Go's `fullStateMagic` and the versions of `index.db` natsd reads.
const FULL_STATE_MAGIC: u8 = 11;
const FULL_STATE_MAX_VERSION: u8 = 4;

/// A HighwayHash key from the SHA-256 of `name`, as Go keys its hashes.
pub fn hash_key(name: &str) -> Key {
    let digest = Sha256::digest(name.as_bytes());
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_le_bytes(bytes);
    }
    Key(words)
}

fn highway64(key: Key, parts: &[&[u8]]) -> [u8; 8] {
    let mut h = HighwayHasher::new(key);
    for p in parts {
        h.append(p);
    }
    h.finalize64().to_le_bytes()
}

/// The hex checksum Go keeps in `meta.sum` for `json`; `key_name` is the stream name or
/// `stream/consumer`.
pub fn meta_sum(key_name: &str, json: &[u8]) -> String {
    highway64(hash_key(key_name), &[json])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Go's message records
// ---------------------------------------------------------------------------------------

/// Appends one record in Go's layout; `seq` may carry the erased bit.
fn encode_record(
    out: &mut Vec<u8>,
    key: Key,
    seq: u64,
    ts: i64,
    subject: &[u8],
    hdr: &[u8],
    msg: &[u8],
) {
    let has_hdr = !hdr.is_empty();
    let len = RECORD_HEADER
        + subject.len()
        + if has_hdr { 4 + hdr.len() } else { 0 }
        + msg.len()
        + RECORD_HASH;
    let mut rl = len as u32;
    if has_hdr {
        rl |= HEADERS_BIT;
    }
    let start = out.len();
    out.extend_from_slice(&rl.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(subject);
    if has_hdr {
        out.extend_from_slice(&(hdr.len() as u32).to_le_bytes());
        out.extend_from_slice(hdr);
    }
    out.extend_from_slice(msg);
    // Go hashes sequence and time, subject, headers and payload: not the lengths.
    let seq_ts = out[start + 4..start + 20].to_vec();
    let sum = highway64(key, &[&seq_ts, subject, hdr, msg]);
    out.extend_from_slice(&sum);
}

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Msg {
        seq: u64,
        ts: i64,
        subject: String,
        hdr: Vec<u8>,
        msg: Vec<u8>,
    },
    /// A sequence used without a message (skipped, or erased in place).
    Erased { seq: u64, ts: i64 },
    /// The removal of a message kept in an older block.
    Tombstone { seq: u64 },
}

/// Decodes every record of a plaintext block, checking Go's checksum.
pub fn decode_block(buf: &[u8], key: Key) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let rest = &buf[at..];
        if rest.len() < RECORD_HEADER + RECORD_HASH {
            return Err(format!("message overrun at {at}"));
        }
        let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let rl_raw = word(0);
        let has_hdr = rl_raw & HEADERS_BIT != 0;
        let rl = (rl_raw & !HEADERS_BIT) as usize;
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&rest[4..12]);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(&rest[12..20]);
        let raw_seq = u64::from_le_bytes(seq_bytes);
        let ts = i64::from_le_bytes(ts_bytes);
        let slen = usize::from(u16::from_le_bytes([rest[20], rest[21]]));
        if rl < RECORD_HEADER + RECORD_HASH
            || rl > rest.len()
            || rl > MAX_RECORD
            || slen + if has_hdr { 4 } else { 0 } > rl - RECORD_HEADER - RECORD_HASH
        {
            return Err(format!("bad record length at {at}"));
        }
        let body = &rest[RECORD_HEADER..rl - RECORD_HASH];
        let subject = &body[..slen];
        let (hdr, msg) = if has_hdr {
            let hlen = word(RECORD_HEADER + slen) as usize;
            let after = &body[slen + 4..];
            if hlen > after.len() {
                return Err(format!("bad header length at {at}"));
            }
            after.split_at(hlen)
        } else {
            (&[][..], &body[slen..])
        };
        let sum = highway64(key, &[&rest[4..20], subject, hdr, msg]);
        if sum[..] != rest[rl - RECORD_HASH..rl] {
            return Err(format!("invalid checksum at {at}"));
        }
        let record = if raw_seq & TOMBSTONE_BIT != 0 {
            Record::Tombstone {
                seq: raw_seq & !TOMBSTONE_BIT,
            }
        } else if raw_seq & ERASED_BIT != 0 || raw_seq == 0 {
            Record::Erased {
                seq: raw_seq & !ERASED_BIT,
                ts,
            }
        } else {
            Record::Msg {
                seq: raw_seq,
                ts,
                subject: String::from_utf8(subject.to_vec())
                    .map_err(|_| format!("subject is not UTF-8 at {at}"))?,
                hdr: hdr.to_vec(),
                msg: msg.to_vec(),
            }
        };
        out.push(record);
        at += rl;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// A consumer's part of a snapshot.
#[derive(Debug, Clone)]
pub struct ConsumerEntry {
    pub name: String,
    /// Its FileConsumerInfo JSON.
    pub meta_json: Vec<u8>,
    /// Its state in Go's binary layout.
    pub state: Vec<u8>,
}

struct TarOut<W: Write> {
    tar: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> TarOut<W> {
    fn add(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        // Go names the owner; harmless and makes the archives alike.
        let _ = header.set_username("nats");
        let _ = header.set_groupname("nats");
        self.tar.append_data(&mut header, path, data)
    }
}

/// Writes a snapshot of `store` (stream `stream`, whose FileStreamInfo JSON is
/// `meta_json`) and of `consumers` to `out`, S2-compressed. Messages stored after the
/// call began are left out; messages removed meanwhile may or may not be in.
pub fn write_snapshot<W: Write>(
    out: W,
    stream: &str,
    meta_json: &[u8],
    store: &dyn Store,
    consumers: &[ConsumerEntry],
) -> io::Result<()> {
    let state = store.fast_state();
    let mut enc = minlz::Writer::new(out);
    {
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut tar = TarOut {
            tar: tar::Builder::new(&mut enc),
            mtime,
        };
        tar.add(META_FILE, meta_json)?;
        tar.add(META_SUM_FILE, meta_sum(stream, meta_json).as_bytes())?;

        let mut index = 1u32;
        let mut block = Vec::new();
        let mut key = hash_key(&format!("{stream}-{index}"));
        let mut next = state.first_seq.max(1);
        let mut last_written = 0u64;
        while state.last_seq > 0 && next <= state.last_seq {
            let m = match store.load_next_msg("", false, next) {
                Ok((m, _)) => m,
                Err((StoreError::Eof | StoreError::MsgNotFound, _)) => break,
                Err((e, _)) => return Err(io::Error::other(e.to_string())),
            };
            if m.seq > state.last_seq {
                break;
            }
            // Deleted sequences between two messages of a block: a short run is written
            // as erased records (what every Go version reads), a long one starts a new
            // block (a gap between blocks costs nothing).
            if !block.is_empty() && m.seq > last_written + 1 {
                if m.seq - last_written - 1 <= MAX_FILLED_GAP {
                    for seq in last_written + 1..m.seq {
                        encode_record(&mut block, key, seq | ERASED_BIT, m.ts, b"", b"", b"");
                    }
                } else {
                    tar.add(&format!("{MSGS_DIR}/{index}.blk"), &block)?;
                    block.clear();
                    index += 1;
                    key = hash_key(&format!("{stream}-{index}"));
                }
            }
            encode_record(
                &mut block,
                key,
                m.seq,
                m.ts,
                m.subject.as_bytes(),
                &m.hdr,
                &m.msg,
            );
            last_written = m.seq;
            next = m.seq + 1;
            if block.len() >= BLOCK_TARGET {
                tar.add(&format!("{MSGS_DIR}/{index}.blk"), &block)?;
                block.clear();
                index += 1;
                key = hash_key(&format!("{stream}-{index}"));
            }
        }
        // The last sequence is no message any more (or there never were any kept):
        // an erased record keeps it, as Go keeps it.
        if state.last_seq > last_written {
            if !block.is_empty() && state.last_seq - last_written - 1 > MAX_FILLED_GAP {
                tar.add(&format!("{MSGS_DIR}/{index}.blk"), &block)?;
                block.clear();
                index += 1;
                key = hash_key(&format!("{stream}-{index}"));
            } else if !block.is_empty() {
                for seq in last_written + 1..state.last_seq {
                    encode_record(
                        &mut block,
                        key,
                        seq | ERASED_BIT,
                        state.last_time,
                        b"",
                        b"",
                        b"",
                    );
                }
            }
            encode_record(
                &mut block,
                key,
                state.last_seq | ERASED_BIT,
                state.last_time,
                b"",
                b"",
                b"",
            );
        }
        if !block.is_empty() {
            tar.add(&format!("{MSGS_DIR}/{index}.blk"), &block)?;
        }
        for c in consumers {
            let dir = format!("{CONSUMER_DIR}/{}", c.name);
            tar.add(&format!("{dir}/{META_FILE}"), &c.meta_json)?;
            let sum = meta_sum(&format!("{stream}/{}", c.name), &c.meta_json);
            tar.add(&format!("{dir}/{META_SUM_FILE}"), sum.as_bytes())?;
            tar.add(&format!("{dir}/{CONSUMER_STATE_FILE}"), &c.state)?;
        }
        tar.tar.finish()?;
    }
    enc.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// Why unpacking a snapshot stopped.
#[derive(Debug)]
pub enum UnpackError {
    /// An entry that is not a regular file, or whose path leaves the directory (Go:
    /// "unexpected content").
    Unexpected,
    /// The size check refused the bytes so far.
    Limit(String),
    Io(io::Error),
}

impl std::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnpackError::Unexpected => f.write_str("unexpected content"),
            UnpackError::Limit(e) => f.write_str(e),
            UnpackError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The path of a tar entry inside `dir`, or `None` when it would leave it.
fn entry_path(dir: &Path, name: &Path) -> Option<PathBuf> {
    let mut out = dir.to_path_buf();
    let mut depth = 0usize;
    for part in name.components() {
        match part {
            Component::Normal(p) => {
                out.push(p);
                depth += 1;
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                out.pop();
                depth -= 1;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (depth > 0).then_some(out)
}

/// Unpacks a snapshot (S2 around tar) into `dir`, as Go does before it opens the stream.
/// `check` gets the total bytes unpacked so far before each entry is written (Go checks
/// them against the account's limits).
pub fn unpack(
    input: impl Read,
    dir: &Path,
    check: &mut dyn FnMut(u64) -> Result<(), String>,
) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(minlz::Reader::new(input));
    let entries = archive.entries().map_err(UnpackError::Io)?;
    let mut total = 0u64;
    for entry in entries {
        let mut entry = entry.map_err(UnpackError::Io)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(UnpackError::Unexpected);
        }
        total = total.saturating_add(entry.header().size().map_err(UnpackError::Io)?);
        check(total).map_err(UnpackError::Limit)?;
        let name = entry.path().map_err(UnpackError::Io)?.into_owned();
        let path = entry_path(dir, &name).ok_or(UnpackError::Unexpected)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(UnpackError::Io)?;
        }
        let mut file = std::fs::File::create(&path).map_err(UnpackError::Io)?;
        io::copy(&mut entry, &mut file).map_err(UnpackError::Io)?;
    }
    Ok(())
}

/// One block's range and deleted sequences, as Go's `index.db` keeps them.
#[derive(Debug)]
struct BlockState {
    index: u32,
    first: u64,
    last: u64,
    deleted: Option<SequenceSet>,
}

/// What natsd uses of Go's `index.db`.
#[derive(Debug)]
struct FullState {
    first_seq: u64,
    last_seq: u64,
    blocks: Vec<BlockState>,
}

/// Reads Go's full stream state; `None` when it is missing, damaged or of an unknown
/// version (the blocks alone are then the truth, as for Go).
fn read_full_state(buf: &[u8], stream: &str) -> Option<FullState> {
    if buf.len() < 32 {
        return None;
    }
    let (body, sum) = buf.split_at(buf.len() - RECORD_HASH);
    if highway64(hash_key(stream), &[body])[..] != *sum {
        return None;
    }
    let version = *body.get(1)?;
    if body[0] != FULL_STATE_MAGIC || version == 0 || version > FULL_STATE_MAX_VERSION {
        return None;
    }
    let mut at = 2usize;
    let u = |at: &mut usize| -> Option<u64> {
        let (v, n) = read_uvarint(body.get(*at..)?)?;
        *at += n;
        Some(v)
    };
    let ivar = |at: &mut usize| -> Option<i64> {
        let (v, n) = read_varint(body.get(*at..)?)?;
        *at += n;
        Some(v)
    };
    let _msgs = u(&mut at)?;
    let _bytes = u(&mut at)?;
    let first_seq = u(&mut at)?;
    let _first_ts = ivar(&mut at)?;
    let last_seq = u(&mut at)?;
    let _last_ts = ivar(&mut at)?;
    let subjects = u(&mut at)?;
    for _ in 0..subjects {
        let len = usize::try_from(u(&mut at)?).ok()?;
        at = at.checked_add(len)?;
        let total = u(&mut at)?;
        let _fblk = u(&mut at)?;
        if total > 1 || version >= 4 {
            let _lblk = u(&mut at)?;
        }
    }
    let nblocks = u(&mut at)?;
    let mut blocks = Vec::new();
    for _ in 0..nblocks {
        let index = u32::try_from(u(&mut at)?).ok()?;
        let _bytes = u(&mut at)?;
        let first = u(&mut at)?;
        let _fts = ivar(&mut at)?;
        let last = u(&mut at)?;
        let _lts = ivar(&mut at)?;
        let num_deleted = u(&mut at)?;
        if version >= 2 {
            let _ttls = u(&mut at)?;
        }
        if version >= 3 {
            let _schedules = u(&mut at)?;
        }
        let deleted = if num_deleted > 0 {
            let (set, n) = natsd_store::avl::decode(body.get(at..)?).ok()?;
            at += n;
            Some(set)
        } else {
            None
        };
        blocks.push(BlockState {
            index,
            first,
            last,
            deleted,
        });
    }
    Some(FullState {
        first_seq,
        last_seq,
        blocks,
    })
}

/// The block files of an unpacked snapshot, by index.
fn block_files(dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    let mdir = dir.join(MSGS_DIR);
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&mdir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".blk"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        out.push((index, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Stores the messages of an unpacked snapshot of stream `stream` into the empty
/// `store`, keeping their sequences and times, the deleted sequences between them and
/// the stream's last sequence.
pub fn load_messages(dir: &Path, stream: &str, store: &dyn Store) -> Result<(), String> {
    let blocks = block_files(dir).map_err(|e| e.to_string())?;
    let full = std::fs::read(dir.join(MSGS_DIR).join(STATE_FILE))
        .ok()
        .and_then(|b| read_full_state(&b, stream));
    let read = |index: u32, path: &Path| -> Result<Vec<Record>, String> {
        let buf = std::fs::read(path).map_err(|e| e.to_string())?;
        decode_block(&buf, hash_key(&format!("{stream}-{index}")))
            .map_err(|e| format!("message block {index}: {e}"))
    };
    // Removals of older messages sit in later blocks: gather them first.
    let mut removed = HashSet::new();
    let mut last_seen = 0u64;
    for (index, path) in &blocks {
        for r in read(*index, path)? {
            match r {
                Record::Tombstone { seq } => {
                    removed.insert(seq);
                    last_seen = last_seen.max(seq);
                }
                Record::Erased { seq, .. } | Record::Msg { seq, .. } => {
                    last_seen = last_seen.max(seq)
                }
            }
        }
    }
    let live = |index: u32, seq: u64| -> bool {
        if removed.contains(&seq) {
            return false;
        }
        let Some(full) = &full else {
            return true;
        };
        if seq < full.first_seq {
            return false;
        }
        match full.blocks.iter().find(|b| b.index == index) {
            // A block written after the state file holds only new messages.
            None => seq > full.last_seq,
            Some(b) => {
                seq >= b.first
                    && seq <= b.last
                    && !b.deleted.as_ref().is_some_and(|d| d.exists(seq))
            }
        }
    };
    let mut stored_last = 0u64;
    let err = |e: StoreError| e.to_string();
    for (index, path) in &blocks {
        for r in read(*index, path)? {
            let Record::Msg {
                seq,
                ts,
                subject,
                hdr,
                msg,
            } = r
            else {
                continue;
            };
            if seq <= stored_last || !live(*index, seq) {
                continue;
            }
            if seq > stored_last + 1 {
                store
                    .skip_msgs(stored_last + 1, seq - stored_last - 1)
                    .map_err(err)?;
            }
            let ttl = if hdr.is_empty() {
                0
            } else {
                natsd_store::message_ttl(&hdr).unwrap_or(0)
            };
            store
                .store_raw_msg(&subject, &hdr, &msg, seq, ts, ttl, false)
                .map_err(err)?;
            stored_last = seq;
        }
    }
    let last = full.as_ref().map_or(0, |f| f.last_seq).max(last_seen);
    if last > stored_last {
        store
            .skip_msgs(stored_last + 1, last - stored_last)
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use natsd_store::mem::MemStore;

    fn mem(name: &str) -> MemStore {
        MemStore::new(natsd_store::StreamConfig {
            name: name.to_string(),
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn records_round_trip_and_detect_damage() {
        let key = hash_key("S-1");
        let mut b = Vec::new();
        encode_record(&mut b, key, 1, 10, b"foo", b"", b"hello");
        encode_record(
            &mut b,
            key,
            2,
            11,
            b"bar",
            b"NATS/1.0\r\nA: b\r\n\r\n",
            b"x",
        );
        encode_record(&mut b, key, 5 | ERASED_BIT, 12, b"", b"", b"");
        encode_record(&mut b, key, 1 | TOMBSTONE_BIT, 13, b"", b"", b"");
        let recs = decode_block(&b, key).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(
            recs[1],
            Record::Msg {
                seq: 2,
                ts: 11,
                subject: "bar".into(),
                hdr: b"NATS/1.0\r\nA: b\r\n\r\n".to_vec(),
                msg: b"x".to_vec()
            }
        );
        assert_eq!(recs[2], Record::Erased { seq: 5, ts: 12 });
        assert_eq!(recs[3], Record::Tombstone { seq: 1 });
        // Another block's key, or a changed payload byte: refused.
        assert!(decode_block(&b, hash_key("S-2")).is_err());
        let mut bad = b.clone();
        bad[30] ^= 1;
        assert!(decode_block(&bad, key).is_err());
        assert!(decode_block(&b[..b.len() - 1], key).is_err());
    }

    #[test]
    fn entry_paths_stay_inside() {
        let d = Path::new("/x");
        assert_eq!(
            entry_path(d, Path::new("msgs/1.blk")),
            Some(PathBuf::from("/x/msgs/1.blk"))
        );
        for bad in ["../a", "/etc/passwd", "a/../../b", ".", "a/.."] {
            assert_eq!(entry_path(d, Path::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_snapshot_restores_messages_gaps_and_last_sequence() {
        let src = mem("S");
        for i in 1..=10u64 {
            src.store_msg(&format!("s.{}", i % 3), &[], format!("m{i}").as_bytes(), 0)
                .unwrap();
        }
        src.remove_msg(1).unwrap();
        src.remove_msg(5).unwrap();
        src.remove_msg(10).unwrap();
        let consumers = vec![ConsumerEntry {
            name: "C".into(),
            meta_json: b"{}".to_vec(),
            state: vec![22, 2, 0, 0, 0, 0, 0, 0],
        }];
        let mut snap = Vec::new();
        write_snapshot(&mut snap, "S", b"{\"name\":\"S\"}", &src, &consumers).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut seen = 0;
        unpack(&snap[..], dir.path(), &mut |n| {
            seen = n;
            Ok(())
        })
        .unwrap();
        assert!(seen > 0);
        assert_eq!(
            std::fs::read(dir.path().join(META_SUM_FILE)).unwrap(),
            meta_sum("S", b"{\"name\":\"S\"}").as_bytes()
        );
        assert!(dir.path().join("obs/C/o.dat").exists());
        let dst = mem("S");
        load_messages(dir.path(), "S", &dst).unwrap();
        let (a, b) = (src.state(), dst.state());
        assert_eq!(
            (a.msgs, a.bytes, a.first_seq, a.last_seq, a.num_deleted),
            (b.msgs, b.bytes, b.first_seq, b.last_seq, b.num_deleted)
        );
        assert_eq!(a.deleted, b.deleted);
        assert_eq!(src.load_msg(7).unwrap(), dst.load_msg(7).unwrap());
    }

    #[test]
    fn long_runs_of_deletes_split_blocks() {
        let src = mem("S");
        for _ in 0..3000 {
            src.store_msg("a", &[], b"x", 0).unwrap();
        }
        for seq in (10..=1500).chain(1600..=3000) {
            src.remove_msg(seq).unwrap();
        }
        let mut snap = Vec::new();
        write_snapshot(&mut snap, "S", b"{}", &src, &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        unpack(&snap[..], dir.path(), &mut |_| Ok(())).unwrap();
        // Messages 1-9, then 1501-1599; the tail's last sequence in a block of its own.
        let blocks = block_files(dir.path()).unwrap();
        assert_eq!(blocks.len(), 3);
        let dst = mem("S");
        load_messages(dir.path(), "S", &dst).unwrap();
        let (a, b) = (src.state(), dst.state());
        assert_eq!(
            (a.msgs, a.first_seq, a.last_seq, a.num_deleted),
            (b.msgs, b.first_seq, b.last_seq, b.num_deleted)
        );
        assert_eq!((b.msgs, b.last_seq), (108, 3000));
    }

    #[test]
    fn an_empty_purged_stream_keeps_its_sequence() {
        let src = mem("S");
        for _ in 0..5 {
            src.store_msg("a", &[], b"x", 0).unwrap();
        }
        src.purge().unwrap();
        let mut snap = Vec::new();
        write_snapshot(&mut snap, "S", b"{}", &src, &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        unpack(&snap[..], dir.path(), &mut |_| Ok(())).unwrap();
        let dst = mem("S");
        load_messages(dir.path(), "S", &dst).unwrap();
        let s = dst.state();
        assert_eq!((s.msgs, s.first_seq, s.last_seq), (0, 6, 5));
    }

    #[test]
    fn unpack_refuses_escaping_paths_and_limits() {
        let mut tar_bytes = Vec::new();
        {
            let mut b = tar::Builder::new(&mut tar_bytes);
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o600);
            h.set_entry_type(tar::EntryType::Regular);
            // `append_data` refuses `..`; write the name by hand as a hostile tool would.
            h.as_gnu_mut().unwrap().name[..11].copy_from_slice(b"../fail.txt");
            h.set_cksum();
            b.append(&h, &b"x"[..]).unwrap();
            b.finish().unwrap();
        }
        let mut snap = Vec::new();
        {
            let mut w = minlz::Writer::new(&mut snap);
            w.write_all(&tar_bytes).unwrap();
            w.flush().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("in");
        std::fs::create_dir(&inner).unwrap();
        assert!(matches!(
            unpack(&snap[..], &inner, &mut |_| Ok(())),
            Err(UnpackError::Unexpected)
        ));
        assert!(!dir.path().join("fail.txt").exists());
        assert!(matches!(
            unpack(&snap[..], &inner, &mut |_| Err("too big".into())),
            Err(UnpackError::Limit(_))
        ));
    }
}
