//! The stream state file, `msgs/index.db` (Go's name): the whole in-memory index, written
//! at a clean stop (and on request while running, `FileStore::write_full_state`, until
//! the next change removes it) so that the next open reads one file instead of reading
//! and verifying every block.
//!
//! It is trusted only when it describes the directory exactly as it is: the same block
//! files, each with the length and times it had when the state was saved, no leftovers of an interrupted compaction, and a SHA-256
//! over its own contents that matches. Anything else (a crash after it was written, an
//! old copy put back, damage) falls back to the scan of the blocks, which is always right.
//! The file is removed as soon as it has been read, before the store can change: a block
//! rewritten in place (erase) keeps its length, so a state file that outlived its open
//! could otherwise describe records that are no longer there.
//!
//! The state is encoded as the body of a block with index 0, which no block file uses
//! (they start at 1), so an encrypted store's state is encrypted with its own key, and a
//! compressed store's is compressed, exactly as its blocks are.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::block::{self, Block, Slot};
use super::codec::BlockCodec;
use super::core::Core;

/// Name of the state file inside the blocks directory.
pub const STATE_FILE: &str = "index.db";
const MAGIC: &[u8; 4] = b"NIDX";
/// 2: the sequences of messages that never expire follow the TTLs.
const VERSION: u8 = 2;
/// The block index the state is encoded under (see the module comment).
const STATE_BLOCK_INDEX: u32 = 0;
const DIGEST_LEN: usize = 32;
/// A block header (magic, flags, sealed key) fits in this many bytes.
const HEADER_READ_MAX: u64 = 4096;

/// Slot tags: a sequence without record bytes, a removed message whose record is still in
/// the file, and a live message (tag minus `SLOT_LIVE` is its subject's number).
const SLOT_GAP: u64 = 0;
const SLOT_REMOVED: u64 = 1;
const SLOT_LIVE: u64 = 2;

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// Signed values (timestamp deltas) zigzag-encoded, so small negatives stay short.
    fn signed(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

#[derive(Clone, Copy)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn signed(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (b, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(b)
    }
}

/// What identifies a block file's contents without reading them: its length and its
/// modification and change times. Any write after the state was saved (more records, a
/// test or a tool altering bytes, a copy put back) changes them, and the state is not
/// used. Bit rot does not; loads verify every record's checksum for that.
#[derive(PartialEq, Eq)]
struct FileStamp {
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: meta.len(),
            mtime_ns: meta
                .mtime()
                .wrapping_mul(1_000_000_000)
                .wrapping_add(meta.mtime_nsec()),
            ctime_ns: meta
                .ctime()
                .wrapping_mul(1_000_000_000)
                .wrapping_add(meta.ctime_nsec()),
        }
    }

    fn write(&self, w: &mut Writer) {
        w.varint(self.len);
        w.signed(self.mtime_ns);
        w.signed(self.ctime_ns);
    }

    fn read(r: &mut Reader<'_>) -> Option<FileStamp> {
        Some(FileStamp {
            len: r.varint()?,
            mtime_ns: r.signed()?,
            ctime_ns: r.signed()?,
        })
    }
}

/// What the state says of one block before its slots.
struct BlockHead {
    index: u32,
    stamp: FileStamp,
    size: u64,
    header_len: u64,
    base_seq: u64,
    max_seq: u64,
    max_seq_ts: i64,
    tombstones: Vec<u64>,
    slots: u64,
}

impl BlockHead {
    fn read(r: &mut Reader<'_>) -> Option<BlockHead> {
        let index = r.u32()?;
        let stamp = FileStamp::read(r)?;
        let (size, header_len, base_seq, max_seq) =
            (r.varint()?, r.varint()?, r.varint()?, r.varint()?);
        let max_seq_ts = r.signed()?;
        let count = r.varint()?;
        // Each tombstone takes at least a byte: a count past the rest is damage.
        if count > r.0.len() as u64 {
            return None;
        }
        let tombstones = (0..count)
            .map(|_| r.varint())
            .collect::<Option<Vec<u64>>>()?;
        Some(BlockHead {
            index,
            stamp,
            size,
            header_len,
            base_seq,
            max_seq,
            max_seq_ts,
            tombstones,
            slots: r.varint()?,
        })
    }
}

/// One slot as stored: its tag, offset, length and time (delta-coded against
/// `prev_ts`, which it advances).
fn read_slot(r: &mut Reader<'_>, prev_ts: &mut i64) -> Option<(u64, u64, u32, i64)> {
    let tag = r.varint()?;
    let offset = r.varint()?;
    let len = r.u32()?;
    let ts = prev_ts.wrapping_add(r.signed()?);
    *prev_ts = ts;
    Some((tag, offset, len, ts))
}

/// The state's plain encoding, digest included.
fn encode(core: &Core) -> io::Result<Vec<u8>> {
    let mut w = Writer(Vec::with_capacity(64 + core.msgs as usize * 8));
    w.0.extend_from_slice(MAGIC);
    w.0.push(VERSION);
    w.bytes(core.name.as_bytes());
    w.varint(core.last_seq);
    w.signed(core.last_ts);
    w.varint(u64::from(core.next_index));

    // Every subject a live slot names, numbered once.
    let mut numbers: HashMap<&str, u64> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for blk in &core.blocks {
        for subject in blk.slots.iter().filter_map(|s| s.subject.as_deref()) {
            numbers.entry(subject).or_insert_with(|| {
                names.push(subject);
                names.len() as u64 - 1
            });
        }
    }
    w.varint(names.len() as u64);
    for name in &names {
        w.bytes(name.as_bytes());
    }

    w.varint(core.blocks.len() as u64);
    for blk in &core.blocks {
        w.varint(u64::from(blk.index));
        FileStamp::of(&fs::metadata(&blk.path)?).write(&mut w);
        w.varint(blk.size);
        w.varint(blk.header_len);
        w.varint(blk.base_seq);
        w.varint(blk.max_seq);
        w.signed(blk.max_seq_ts);
        w.varint(blk.tombstones.len() as u64);
        for &seq in &blk.tombstones {
            w.varint(seq);
        }
        w.varint(blk.slots.len() as u64);
        let mut prev_ts = 0i64;
        for slot in &blk.slots {
            let tag = match slot.subject.as_deref() {
                Some(subject) => SLOT_LIVE + numbers[subject],
                None if slot.has_bytes() => SLOT_REMOVED,
                None => SLOT_GAP,
            };
            w.varint(tag);
            w.varint(u64::from(slot.offset));
            w.varint(u64::from(slot.len));
            w.signed(slot.ts.wrapping_sub(prev_ts));
            prev_ts = slot.ts;
        }
    }

    w.varint(core.ttls.len() as u64);
    for &(expires, seq) in &core.ttls {
        w.signed(expires);
        w.varint(seq);
    }
    // Ascending, so each is stored as its distance from the one before.
    let never: Vec<u64> = core.ttls.never_seqs().copied().collect();
    w.varint(never.len() as u64);
    let mut prev = 0u64;
    for seq in never {
        w.varint(seq - prev);
        prev = seq;
    }

    let digest = Sha256::digest(&w.0);
    w.0.extend_from_slice(&digest);
    Ok(w.0)
}

/// Writes the state file of `core` (at a clean stop, after the final sync). The file is
/// written aside, synced and renamed into place, so a crash leaves the old state or none.
pub fn save(core: &Core) -> io::Result<()> {
    check_consistent(core)?;
    let plain = encode(core)?;
    let (_, bytes) = core
        .codec
        .encode_block(&core.name, STATE_BLOCK_INDEX, &plain, true)?;
    let path = core.msgs_dir.join(STATE_FILE);
    let tmp = core.msgs_dir.join(format!("{STATE_FILE}.tmp"));
    let result = (|| {
        fs::write(&tmp, &bytes)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &path)?;
        block::sync_dir(&core.msgs_dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Refuses to persist an index whose totals disagree with its blocks: a bug or memory
/// damage must not outlive the process. Without a state file the next open scans.
fn check_consistent(core: &Core) -> io::Result<()> {
    let (mut msgs, mut bytes) = (0u64, 0u64);
    for blk in &core.blocks {
        let live: Vec<&Slot> = blk.slots.iter().filter(|s| s.is_live()).collect();
        let live_bytes: u64 = live.iter().map(|s| u64::from(s.len)).sum();
        if live.len() as u64 != blk.live_msgs || live_bytes != blk.live_bytes {
            return Err(corrupt(format!("block {} counts disagree", blk.index)));
        }
        if blk.max_seq > core.last_seq {
            return Err(corrupt(format!(
                "block {} is past the last sequence",
                blk.index
            )));
        }
        msgs += blk.live_msgs;
        bytes += blk.live_bytes;
    }
    if msgs != core.msgs || bytes != core.bytes {
        return Err(corrupt(
            "stream totals disagree with the blocks".to_string(),
        ));
    }
    let mut subject_msgs = 0u64;
    core.subjects.for_each(|_, info| subject_msgs += info.msgs);
    let unnamed = core
        .blocks
        .iter()
        .flat_map(|b| b.slots.iter())
        .filter(|s| s.subject.as_deref() == Some(""))
        .count() as u64;
    if subject_msgs + unnamed != msgs {
        return Err(corrupt(
            "subject counts disagree with the blocks".to_string(),
        ));
    }
    Ok(())
}

fn corrupt(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt state: {what}"))
}

/// Removes the state file, making sure the removal is on disk: from here on the store
/// may change, and only the blocks tell the truth.
pub fn discard(msgs_dir: &Path) -> io::Result<()> {
    match fs::remove_file(msgs_dir.join(STATE_FILE)) {
        Ok(()) => block::sync_dir(msgs_dir),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// What the state file of a directory can do for an open.
pub enum Recovered {
    /// No state file, or one that cannot be read as a state at all.
    Nothing,
    /// The state describes the blocks exactly: the store, ready.
    Store(Box<Core>),
    /// A true state whose blocks changed after it was written (truncated, damaged,
    /// removed or replaced on disk). The blocks must be scanned, but the state still
    /// says how far the stream got and which messages it held.
    Stale(StaleState),
}

/// Reads the state file, if any. The caller removes it with [`discard`] once the store it
/// opened is settled (see the module comment).
pub fn load(
    name: &str,
    msgs_dir: &Path,
    block_size: u64,
    codec: &BlockCodec,
) -> io::Result<Recovered> {
    let raw = match fs::read(msgs_dir.join(STATE_FILE)) {
        Ok(raw) => raw,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Recovered::Nothing),
        Err(err) => return Err(err),
    };
    let Ok((_, plain)) = codec.decode_block(&raw, name, STATE_BLOCK_INDEX) else {
        return Ok(Recovered::Nothing);
    };
    Ok(decode(&plain, name, msgs_dir, block_size, codec))
}
/// The block files in the directory, and whether anything else there would make the
/// state untrustworthy (leftovers of an interrupted compaction).
fn blocks_on_disk(msgs_dir: &Path) -> Option<HashSet<u32>> {
    let mut indexes = HashSet::new();
    for entry in fs::read_dir(msgs_dir).ok()? {
        let name = entry.ok()?.file_name();
        let name = name.to_str()?;
        if let Some(index) = name.strip_suffix(".blk") {
            indexes.insert(index.parse().ok()?);
        } else if name.ends_with(".new") {
            return None;
        }
    }
    Some(indexes)
}

fn decode(
    plain: &[u8],
    name: &str,
    msgs_dir: &Path,
    block_size: u64,
    codec: &BlockCodec,
) -> Recovered {
    let Some(body) = verified_body(plain, name) else {
        return Recovered::Nothing;
    };
    let mut r = Reader(body);
    let (Some(last_seq), Some(last_ts)) = (r.varint(), r.signed()) else {
        return Recovered::Nothing;
    };
    let rest = r.0;
    match decode_blocks(r, name, msgs_dir, block_size, codec, last_seq, last_ts) {
        Some(core) => Recovered::Store(Box::new(core)),
        None => Recovered::Stale(StaleState {
            last_seq,
            last_ts,
            rest: rest.to_vec(),
        }),
    }
}

/// A state file that no longer describes the blocks (see [`Recovered::Stale`]).
pub struct StaleState {
    /// The stream's last sequence and its time when the state was written.
    pub last_seq: u64,
    pub last_ts: i64,
    /// The encoded blocks section and what follows, read again by [`StaleState::lost`].
    rest: Vec<u8>,
}

impl StaleState {
    /// Messages the state held that the blocks no longer have, where no record says they
    /// were removed (`accounted`): what was lost after the state was written. `None`
    /// when the state's blocks section does not parse.
    pub fn lost(
        &self,
        live_now: impl Fn(u64) -> bool,
        accounted: impl Fn(u64) -> bool,
    ) -> Option<crate::store::LostStreamData> {
        let mut lost = crate::store::LostStreamData::default();
        let mut r = Reader(&self.rest);
        r.u32()?; // next block index
        for _ in 0..r.varint()? {
            r.bytes()?; // subject names
        }
        for _ in 0..r.varint()? {
            let head = BlockHead::read(&mut r)?;
            let mut prev_ts = 0i64;
            for i in 0..head.slots {
                let (tag, _, len, _) = read_slot(&mut r, &mut prev_ts)?;
                let seq = head.base_seq.checked_add(i)?;
                if tag >= SLOT_LIVE && !live_now(seq) && !accounted(seq) {
                    lost.msgs.push(seq);
                    lost.bytes += u64::from(len);
                }
            }
        }
        Some(lost)
    }
}

/// The body after the magic, version and stream name, when the digest and those match.
fn verified_body<'a>(plain: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let body_len = plain.len().checked_sub(DIGEST_LEN)?;
    let (body, digest) = plain.split_at(body_len);
    if Sha256::digest(body).as_slice() != digest {
        return None;
    }
    let mut r = Reader(body.strip_prefix(MAGIC.as_slice())?);
    let (&version, rest) = r.0.split_first()?;
    if version != VERSION {
        return None;
    }
    r.0 = rest;
    if r.bytes()? != name.as_bytes() {
        return None;
    }
    Some(r.0)
}

/// The store the state describes, if the blocks on disk are still exactly those.
fn decode_blocks(
    mut r: Reader<'_>,
    name: &str,
    msgs_dir: &Path,
    block_size: u64,
    codec: &BlockCodec,
    last_seq: u64,
    last_ts: i64,
) -> Option<Core> {
    let mut core = Core::empty(name, msgs_dir, block_size, codec.clone());
    core.last_seq = last_seq;
    core.last_ts = last_ts;
    core.next_index = r.u32()?;

    let subject_count = r.varint()?;
    let mut subjects: Vec<Arc<str>> = Vec::new();
    for _ in 0..subject_count {
        subjects.push(Arc::from(std::str::from_utf8(r.bytes()?).ok()?));
    }

    let mut on_disk = blocks_on_disk(msgs_dir)?;
    let mut prev_live = 0u64;
    let block_count = r.varint()?;
    for _ in 0..block_count {
        let head = BlockHead::read(&mut r)?;
        let index = head.index;
        if index == STATE_BLOCK_INDEX || index >= core.next_index || !on_disk.remove(&index) {
            return None;
        }
        let path = block::block_path(msgs_dir, index);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .ok()?;
        if FileStamp::of(&file.metadata().ok()?) != head.stamp {
            return None;
        }
        let file_len = head.stamp.len;
        let mut head_bytes = Vec::new();
        (&file)
            .take(HEADER_READ_MAX.min(file_len))
            .read_to_end(&mut head_bytes)
            .ok()?;
        let mut blk = Block::with_file(index, path, file, name, codec);
        blk.size = head.size;
        match codec.read_header(&head_bytes, name, index).ok()? {
            Some(header) if header.len == head.header_len => blk.set_header(header),
            None if head.header_len == 0 => {}
            _ => return None,
        }
        // A compressed block's size counts its plaintext; a plain one's is the file.
        if !blk.compressed && blk.header_len.checked_add(blk.size)? != file_len {
            return None;
        }
        // Nothing in a block lies past the stream's last sequence.
        if head.max_seq > core.last_seq {
            return None;
        }
        blk.base_seq = head.base_seq;
        blk.max_seq = head.max_seq;
        blk.max_seq_ts = head.max_seq_ts;
        blk.tombstones = head.tombstones;
        let mut prev_ts = 0i64;
        for _ in 0..head.slots {
            let (tag, offset, len, ts) = read_slot(&mut r, &mut prev_ts)?;
            if offset.checked_add(u64::from(len))? > blk.size {
                return None;
            }
            let subject = match tag {
                SLOT_GAP | SLOT_REMOVED => None,
                live => Some(
                    subjects
                        .get(usize::try_from(live - SLOT_LIVE).ok()?)?
                        .clone(),
                ),
            };
            if subject.is_some() {
                // Live sequences rise through the whole state and stay within the
                // stream: counts derived from them cannot exceed its span.
                let seq = blk.base_seq.checked_add(blk.slots.len() as u64)?;
                if seq <= prev_live || seq > last_seq {
                    return None;
                }
                prev_live = seq;
                blk.live_msgs += 1;
                blk.live_bytes += u64::from(len);
            }
            blk.slots.push(Slot {
                offset: u32::try_from(offset).ok()?,
                len,
                ts,
                subject,
            });
        }
        core.blocks.push(blk);
    }
    // A block file the state does not know: written after it, so it is stale.
    if !on_disk.is_empty() {
        return None;
    }

    let ttl_count = r.varint()?;
    let mut ttls = crate::ttl_index::TtlIndex::default();
    for _ in 0..ttl_count {
        let expires = r.signed()?;
        ttls.insert((expires, r.varint()?));
    }
    let never_count = r.varint()?;
    let mut prev = 0u64;
    for _ in 0..never_count {
        let seq = prev.checked_add(r.varint()?)?;
        if seq > last_seq {
            return None;
        }
        ttls.insert_never(seq);
        prev = seq;
    }
    if !r.0.is_empty() {
        return None;
    }
    core.finish_open(ttls).ok()?;
    core.report.from_state_file = true;
    Some(core)
}

impl super::FileStore {
    /// Writes the state file (and the TTLs file) now, while the store runs (Go's
    /// `writeFullState`), so that
    /// an open after a crash need not scan the blocks if nothing changed since. What was
    /// written so far is synced first: the state never describes records that a crash
    /// could still take. The state stays on disk only until the next change of the store,
    /// which removes it first ([`Core::before_change`]), so an open after a crash reads
    /// either a state that is exactly the blocks or none. The store lock is held
    /// throughout, so no change can slip in between the encoding and the rename.
    ///
    /// Totals that disagree with the blocks (a bug, memory damage) are not written: the
    /// stream's counts are rebuilt from the blocks and [`StoreError::CorruptState`] is
    /// returned, as Go does. A closed store, or one unchanged since its last state, has
    /// nothing to write.
    pub fn write_full_state(&self) -> Result<(), crate::store::StoreError> {
        let mut guard = self.lock();
        if guard.closed || guard.core.saved_state {
            return Ok(());
        }
        let core = &mut guard.core;
        if check_consistent(core).is_err() {
            core.rebuild_totals();
            return Err(crate::store::StoreError::CorruptState);
        }
        let work = core.take_sync_work();
        work.run()?;
        self.shared.commit.mark_synced(work.ticket);
        save(core)?;
        core.saved_state = true;
        // As at a stop, the TTLs callers gave (not in the records) go along. Each is
        // taken back only for the very message it was saved with, so the file needs no
        // removal when the store changes.
        core.save_ttls(&self.shared.dir)?;
        Ok(())
    }

    /// Takes the live message `seq` out of its block's index and the block's own counts
    /// only, leaving the stream's totals and subject counts as they were: a change to a
    /// block the stream did not see (Go's test lowers one block's `msgs`). Returns
    /// whether `seq` was live. For tests.
    #[doc(hidden)]
    pub fn drop_from_block_only(&self, seq: u64) -> bool {
        let mut locked = self.lock();
        let core = &mut locked.core;
        let Some(bi) = core.block_of(seq) else {
            return false;
        };
        core.blocks[bi].unindex(seq).is_some()
    }

    /// Moves the counts of `from` to `to` in the in-memory per-subject index only, as
    /// memory damage would (Go's test corrupts its `psim` this way). For tests.
    #[doc(hidden)]
    pub fn corrupt_subject_index(&self, from: &str, to: &str) {
        let mut locked = self.lock();
        let subjects = &mut locked.core.subjects;
        if let Some(info) = subjects.get(from) {
            subjects.remove(from);
            subjects.set(Arc::from(to), info);
        }
    }
}

/// Fuzzing entry: decodes `body` as the part of a state after the stream name (as if its
/// digest matched) against the blocks of `msgs_dir`, and walks a stale state's blocks for
/// lost messages. Returns a count so the work is not optimised away.
#[doc(hidden)]
pub fn fuzz_decode(body: &[u8], msgs_dir: &Path) -> usize {
    let name = "fuzz";
    let mut w = Writer(Vec::with_capacity(body.len() + 48));
    w.0.extend_from_slice(MAGIC);
    w.0.push(VERSION);
    w.bytes(name.as_bytes());
    w.0.extend_from_slice(body);
    let digest = Sha256::digest(&w.0);
    w.0.extend_from_slice(&digest);
    match decode(&w.0, name, msgs_dir, 1024, &BlockCodec::default()) {
        Recovered::Store(core) => core.msgs as usize + core.blocks.len(),
        Recovered::Stale(stale) => stale
            .lost(|seq| seq % 3 == 0, |seq| seq % 5 == 0)
            .map_or(0, |lost| lost.msgs.len()),
        Recovered::Nothing => 0,
    }
}

/// What the index of a store says about its messages, in a comparable form (tests compare
/// a store opened from its state file with the same store opened by scanning its blocks).
#[doc(hidden)]
pub fn fingerprint(core: &Core) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "first {} last {} last_ts {} msgs {} bytes {} next_index {} ttls {:?}",
        core.first_seq,
        core.last_seq,
        core.last_ts,
        core.msgs,
        core.bytes,
        core.next_index,
        core.ttls
    );
    for blk in &core.blocks {
        let _ = writeln!(
            out,
            "block {} size {} header {} compressed {} base {} max {}@{} live {}/{} tombstones {:?}",
            blk.index,
            blk.size,
            blk.header_len,
            blk.compressed,
            blk.base_seq,
            blk.max_seq,
            blk.max_seq_ts,
            blk.live_msgs,
            blk.live_bytes,
            blk.tombstones
        );
        // Only live messages: what a removed sequence left in the file is known exactly
        // to the store that removed it, and only approximately to a scan.
        for (i, s) in blk.slots.iter().enumerate().filter(|(_, s)| s.is_live()) {
            let _ = writeln!(
                out,
                "  {} @{} +{} ts {} {:?}",
                blk.base_seq + i as u64,
                s.offset,
                s.len,
                s.ts,
                s.subject
            );
        }
    }
    let mut subjects = Vec::new();
    core.subjects
        .for_each(|name, info| subjects.push(format!("{name} {info:?}")));
    subjects.sort();
    let _ = writeln!(out, "subjects {subjects:?}");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::file::tests::permutations;
    use crate::file::{js_key_gen, FileStore, FileStoreConfig, MSGS_DIR};
    use crate::store::{ManualClock, SharedClock, Store, StreamConfig};

    /// Equal fingerprints, or the first lines that differ.
    fn assert_same(a: &FileStore, b: &FileStore, what: &str) {
        let (a, b) = (fingerprint(&a.lock().core), fingerprint(&b.lock().core));
        for (x, y) in a.lines().zip(b.lines()) {
            assert_eq!(x, y, "{what}");
        }
        assert_eq!(a, b, "{what}");
    }

    fn open(fcfg: &FileStoreConfig, cfg: &StreamConfig) -> FileStore {
        open_with(fcfg, cfg, ManualClock::starting_now())
    }

    fn open_with(fcfg: &FileStoreConfig, cfg: &StreamConfig, clock: SharedClock) -> FileStore {
        FileStore::open(fcfg.clone(), cfg.clone(), clock).unwrap()
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// Messages over several blocks with every kind of hole: removed, erased, skipped,
    /// purged by subject, compacted, with TTLs, and without a subject.
    fn fill(fs: &FileStore) {
        for i in 0..300u64 {
            let subject = format!("orders.{}", i % 7);
            // The caller passes the TTL its header gives, as the stream does.
            let (hdr, ttl): (&[u8], i64) = if i % 50 == 0 {
                (b"NATS/1.0\r\nNats-TTL: 1h\r\n\r\n", 3600)
            } else {
                (b"", 0)
            };
            fs.store_msg(&subject, hdr, format!("payload {i}").as_bytes(), ttl)
                .unwrap();
        }
        for seq in [5, 77, 150, 151, 299] {
            assert!(fs.remove_msg(seq).unwrap());
        }
        assert!(fs.erase_msg(100).unwrap());
        fs.skip_msgs(301, 5).unwrap();
        fs.store_msg("", b"", b"no subject", 0).unwrap();
        fs.purge_ex("orders.3", 0, 0).unwrap();
        fs.compact(20).unwrap();
        fs.store_msg("orders.9", b"", b"after compact", 30).unwrap();
    }

    #[test]
    fn a_clean_stop_opens_from_the_state_as_a_scan_would() {
        for (cipher, compression) in permutations() {
            let root = tempfile::tempdir().unwrap();
            let fcfg = FileStoreConfig {
                block_size: 1024,
                cipher,
                prf: Some(js_key_gen("dlc22", "test")),
                ..FileStoreConfig::new(root.path().join("fast"))
            };
            let cfg = StreamConfig {
                name: "S".to_string(),
                compression,
                allow_msg_ttl: true,
                ..StreamConfig::default()
            };
            let fs = open(&fcfg, &cfg);
            fill(&fs);
            fs.stop().unwrap();
            let state_path = fcfg.store_dir.join(MSGS_DIR).join(STATE_FILE);
            assert!(state_path.exists(), "{cipher:?} {compression:?}");

            // The same directory without its state file must be scanned.
            let scan_dir = root.path().join("scan");
            copy_dir(&fcfg.store_dir, &scan_dir);
            fs::remove_file(scan_dir.join(MSGS_DIR).join(STATE_FILE)).unwrap();
            let scan_fcfg = FileStoreConfig {
                store_dir: scan_dir,
                ..fcfg.clone()
            };

            let what = format!("{cipher:?} {compression:?}");
            // One clock, so that what both stores write next has the same times.
            let clock = ManualClock::starting_now();
            let fast = open_with(&fcfg, &cfg, clock.clone());
            assert!(!state_path.exists(), "the state is consumed by the open");
            assert!(fast.recovery_report().from_state_file, "{what}");
            let scanned = open_with(&scan_fcfg, &cfg, clock);
            assert!(!scanned.recovery_report().from_state_file);
            assert_same(&fast, &scanned, &what);
            let (a, b) = (fast.state(), scanned.state());
            assert_eq!(a, b);
            assert!(a.msgs > 200 && a.first_seq == 20, "{a:?}");
            for seq in a.first_seq..=a.last_seq {
                let (x, y) = (fast.load_msg(seq), scanned.load_msg(seq));
                assert_eq!(x.is_ok(), y.is_ok(), "seq {seq}");
                if let (Ok(x), Ok(y)) = (x, y) {
                    assert_eq!((x.subject, x.hdr, x.msg), (y.subject, y.hdr, y.msg));
                }
            }
            // Both go on alike.
            for fs in [&fast, &scanned] {
                fs.store_msg("orders.1", b"", b"more", 0).unwrap();
                assert!(fs.remove_msg(26).unwrap());
            }
            assert_same(&fast, &scanned, &what);
        }
    }

    #[test]
    fn a_state_that_does_not_match_the_blocks_is_not_used() {
        let root = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig {
            block_size: 1024,
            ..FileStoreConfig::new(root.path())
        };
        let cfg = StreamConfig {
            name: "S".to_string(),
            ..StreamConfig::default()
        };
        let state_path = root.path().join(MSGS_DIR).join(STATE_FILE);

        let fs = open(&fcfg, &cfg);
        for i in 0..50 {
            fs.store_msg("a", b"", format!("{i}").as_bytes(), 0)
                .unwrap();
        }
        fs.stop().unwrap();
        let old_state = fs::read(&state_path).unwrap();

        // More written after the state: the old state put back must not hide it.
        let fs = open(&fcfg, &cfg);
        fs.store_msg("a", b"", b"later", 0).unwrap();
        fs.stop().unwrap();
        fs::write(&state_path, &old_state).unwrap();
        let fs = open(&fcfg, &cfg);
        assert_eq!(fs.state().msgs, 51);
        assert_eq!(fs.load_msg(51).unwrap().msg.as_ref(), b"later");
        assert!(!state_path.exists());
        fs.stop().unwrap();

        // One flipped bit in the state: refused by its digest, the scan is right.
        let mut damaged = fs::read(&state_path).unwrap();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x10;
        fs::write(&state_path, &damaged).unwrap();
        let fs = open(&fcfg, &cfg);
        assert_eq!(fs.state().msgs, 51);
        assert!(fs.recovery_report().is_clean());
        fs.stop().unwrap();

        // Messages cut off the end of the last block after the stop: the scan finds
        // fewer, but their sequences stay used and are never handed out again.
        let fs = open(&fcfg, &cfg);
        let last_block = fs.block_indexes().into_iter().max().unwrap();
        fs.stop().unwrap();
        let path = block::block_path(&root.path().join(MSGS_DIR), last_block);
        let len = fs::metadata(&path).unwrap().len();
        let record = crate::file::record::record_len(1, 0, b"later".len()) as u64;
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - record)
            .unwrap();
        let fs = open(&fcfg, &cfg);
        let state = fs.state();
        assert_eq!((state.msgs, state.last_seq), (50, 51));
        assert!(!state_path.exists());
        drop(fs);
        // The high-water mark is on disk: a scan without any state file keeps it too.
        let fs = open(&fcfg, &cfg);
        assert_eq!(fs.state().last_seq, 51);
        assert_eq!(fs.store_msg("a", b"", b"next", 0).unwrap().0, 52);
        fs.stop().unwrap();

        // A crash after an open (no clean stop): no state file, so a scan.
        let fs = open(&fcfg, &cfg);
        assert!(fs.remove_msg(1).unwrap());
        drop(fs);
        assert!(!state_path.exists());
        let fs = open(&fcfg, &cfg);
        assert_eq!(fs.state().msgs, 50);
    }

    #[test]
    fn an_index_that_disagrees_with_itself_is_not_saved() {
        let root = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig::new(root.path());
        let cfg = StreamConfig {
            name: "S".to_string(),
            ..StreamConfig::default()
        };
        let state_path = root.path().join(MSGS_DIR).join(STATE_FILE);
        type Damage = fn(&mut Core);
        let damages: [Damage; 3] = [
            |core| core.blocks[0].live_msgs -= 1,
            |core| core.msgs += 1,
            |core| core.subjects.remove("foo.1"),
        ];
        for damage in damages {
            let fs = open(&fcfg, &cfg);
            for i in 0..10 {
                fs.store_msg(&format!("foo.{}", i % 3), b"", b"x", 0)
                    .unwrap();
            }
            damage(&mut fs.lock().core);
            fs.stop().unwrap();
            assert!(!state_path.exists());
            // The next open scans and has it right.
            let fs = open(&fcfg, &cfg);
            assert_eq!(fs.state().msgs, 10);
            assert_eq!(fs.subjects_state("foo.1")["foo.1"].msgs, 3);
            fs.purge().unwrap();
            fs.stop().unwrap();
        }
    }

    /// Every live message as `(seq, subject, payload)`.
    fn contents(fs: &FileStore) -> Vec<(u64, String, Vec<u8>)> {
        let state = fs.state();
        (state.first_seq..=state.last_seq)
            .filter_map(|seq| fs.load_msg(seq).ok())
            .map(|sm| (sm.seq, sm.subject.to_string(), sm.msg.to_vec()))
            .collect()
    }

    #[test]
    fn a_state_written_while_running_goes_before_the_next_change() {
        type Change = fn(&FileStore);
        let changes: [(&str, Change); 11] = [
            ("store", |fs| {
                fs.store_msg("orders.1", b"", b"more", 0).unwrap();
            }),
            ("remove", |fs| assert!(fs.remove_msg(33).unwrap())),
            ("erase", |fs| assert!(fs.erase_msg(34).unwrap())),
            ("skip", |fs| {
                fs.skip_msg(fs.state().last_seq + 1).unwrap();
            }),
            ("purge by subject", |fs| {
                assert!(fs.purge_ex("orders.2", 0, 0).unwrap() > 0);
            }),
            ("compact", |fs| {
                assert!(fs.compact(60).unwrap() > 0);
            }),
            ("truncate", |fs| fs.truncate(200).unwrap()),
            ("purge", |fs| {
                assert!(fs.purge().unwrap() > 0);
            }),
            ("new block", |fs| fs.new_block_for_write().unwrap()),
            ("limits", |fs| {
                let mut cfg = fs.config();
                cfg.max_msgs = 50;
                fs.update_config(&mut cfg).unwrap();
            }),
            ("block rewrite", |fs| fs.compact_block_at(0).unwrap()),
        ];
        for (what, change) in changes {
            let root = tempfile::tempdir().unwrap();
            let fcfg = FileStoreConfig {
                block_size: 1024,
                ..FileStoreConfig::new(root.path())
            };
            let cfg = StreamConfig {
                name: "S".to_string(),
                allow_msg_ttl: true,
                ..StreamConfig::default()
            };
            let state_path = root.path().join(MSGS_DIR).join(STATE_FILE);
            let fs = open(&fcfg, &cfg);
            fill(&fs);
            fs.write_full_state().unwrap();
            assert!(state_path.exists(), "{what}");
            change(&fs);
            assert!(!state_path.exists(), "{what}: the change left the state");
            let (before, last_seq, cfg_now) = (contents(&fs), fs.state().last_seq, fs.config());
            // A crash: no stop.
            drop(fs);
            let fs = open(&fcfg, &cfg_now);
            let report = fs.recovery_report();
            assert!(!report.from_state_file, "{what}");
            assert!(report.lost.msgs.is_empty(), "{what}: {:?}", report.lost);
            assert_eq!(contents(&fs), before, "{what}");
            assert_eq!(fs.state().last_seq, last_seq, "{what}");
        }
    }

    #[test]
    fn a_crash_after_a_running_state_write_loses_nothing() {
        for (cipher, compression) in permutations() {
            let what = format!("{cipher:?} {compression:?}");
            let root = tempfile::tempdir().unwrap();
            let fcfg = FileStoreConfig {
                block_size: 1024,
                cipher,
                prf: Some(js_key_gen("dlc22", "test")),
                ..FileStoreConfig::new(root.path().join("fast"))
            };
            let cfg = StreamConfig {
                name: "S".to_string(),
                compression,
                allow_msg_ttl: true,
                ..StreamConfig::default()
            };
            let state_path = fcfg.store_dir.join(MSGS_DIR).join(STATE_FILE);
            let fs = open(&fcfg, &cfg);
            fill(&fs);
            fs.write_full_state().unwrap();
            // Unchanged since: a second call has nothing to do.
            fs.write_full_state().unwrap();
            drop(fs);

            // Nothing changed after the write: the open takes the state, which says what
            // a scan of the same blocks says.
            let scan_dir = root.path().join("scan");
            copy_dir(&fcfg.store_dir, &scan_dir);
            fs::remove_file(scan_dir.join(MSGS_DIR).join(STATE_FILE)).unwrap();
            let fs = open(&fcfg, &cfg);
            assert!(fs.recovery_report().from_state_file, "{what}");
            assert!(!state_path.exists(), "{what}");
            let scanned = open(
                &FileStoreConfig {
                    store_dir: scan_dir,
                    ..fcfg.clone()
                },
                &cfg,
            );
            assert!(!scanned.recovery_report().from_state_file);
            assert_same(&fs, &scanned, &what);

            // Write the state, go on storing and removing, then crash: every message
            // acknowledged since is there, none reported lost.
            fs.write_full_state().unwrap();
            assert!(state_path.exists(), "{what}");
            for i in 0..200u64 {
                fs.store_msg(&format!("later.{}", i % 5), b"", b"after the state", 0)
                    .unwrap();
            }
            let last = fs.state().last_seq;
            assert!(fs.remove_msg(last - 3).unwrap());
            assert!(fs.erase_msg(last - 5).unwrap());
            assert!(!state_path.exists(), "{what}");
            let before = contents(&fs);
            drop(fs);
            let fs = open(&fcfg, &cfg);
            let report = fs.recovery_report();
            assert!(!report.from_state_file, "{what}");
            assert!(report.lost.msgs.is_empty(), "{what}");
            assert_eq!(contents(&fs), before, "{what}");
            assert_eq!(fs.state().last_seq, last, "{what}");
        }
    }

    #[test]
    fn totals_that_disagree_with_the_blocks_are_rebuilt_not_written() {
        let root = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig::new(root.path());
        let cfg = StreamConfig {
            name: "S".to_string(),
            ..StreamConfig::default()
        };
        let state_path = root.path().join(MSGS_DIR).join(STATE_FILE);
        let fs = open(&fcfg, &cfg);
        for i in 1..=10 {
            fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
        }
        let all_bytes = fs.state().bytes;
        let foo_2 = crate::file::record::record_len("foo.2".len(), 0, 3) as u64;
        assert!(fs.drop_from_block_only(2));
        let ss = fs.fast_state();
        assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (10, 1, 10));

        assert_eq!(
            fs.write_full_state().unwrap_err(),
            crate::store::StoreError::CorruptState
        );
        assert!(!state_path.exists());
        let ss = fs.fast_state();
        assert_eq!(
            (ss.msgs, ss.bytes, ss.first_seq, ss.last_seq),
            (9, all_bytes - foo_2, 1, 10)
        );
        assert!(fs.subjects_state("foo.2").is_empty());
        assert_eq!(fs.subjects_totals("foo.*").values().sum::<u64>(), 9);

        // Consistent again: the state is written, and a crash opens from it.
        fs.write_full_state().unwrap();
        assert!(state_path.exists());
        drop(fs);
        let fs = open(&fcfg, &cfg);
        assert!(fs.recovery_report().from_state_file);
        assert_eq!(fs.state().msgs, 9);
    }
}
