//! The file store's state under its lock: the blocks, the in-memory index of every
//! sequence, per-subject counts, and the operations that change them on disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::block::{self, Block};
use super::codec::BlockCodec;
use super::record::{self, RecordKind, ERASED_BIT, TOMBSTONE_BIT};
use super::state_file::Recovered;
use crate::store::{message_ttl, LostStreamData, StoreError, StoreMsg, NANOS_PER_SEC};

/// Counts and bounds of one subject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubjectInfo {
    pub msgs: u64,
    pub first: u64,
    pub last: u64,
}

/// What recovery found wrong on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// `(block index, offset, length)` of damaged ranges that were skipped.
    pub damaged: Vec<(u32, u64, u64)>,
    /// `(block index, bytes cut)` of torn or truncated tails that were cut off.
    pub truncated: Vec<(u32, u64)>,
    /// Sequences that had no record left after damage (lost messages).
    pub lost: LostStreamData,
    /// The index came from the state file of a clean stop; no block was read.
    pub from_state_file: bool,
}

impl RecoveryReport {
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty() && self.truncated.is_empty()
    }
}

/// The state of a file store.
#[derive(Debug)]
pub struct Core {
    pub name: String,
    pub msgs_dir: PathBuf,
    pub block_size: u64,
    pub codec: BlockCodec,
    pub blocks: Vec<Block>,
    pub first_seq: u64,
    pub last_seq: u64,
    pub last_ts: i64,
    pub msgs: u64,
    pub bytes: u64,
    pub subjects: super::subject_index::SubjectIndex,
    /// `(expires at ns, seq)` of messages with a TTL.
    pub ttls: crate::ttl_index::TtlIndex,
    /// Message schedules; `None` unless the stream allows them (see [`super::schedule`]).
    pub schedules: Option<crate::schedule::MsgScheduling>,
    /// Messages with schedule headers the recovery scan saw, for rebuilding schedules;
    /// `None` when the blocks were not scanned (the index came from a state file).
    pub schedule_seqs: Option<Vec<u64>>,
    /// Count of records written; a writer's ticket for group commit.
    pub written: u64,
    /// Index for the next block file (past every file seen, readable or not).
    pub next_index: u32,
    /// Sealed blocks written since the last sync.
    pending_sync: Vec<Arc<std::fs::File>>,
    /// A block file was created since the last sync.
    dir_dirty: bool,
    pub report: RecoveryReport,
    /// Loads so far: which compressed block keeps its decompressed copy.
    reads: std::sync::Mutex<ReadCursor>,
    /// Scratch buffer for encoding.
    scratch: Vec<u8>,
    /// A state file written while the store runs (`FileStore::write_full_state`) still
    /// describes it exactly; the next change removes it first (see
    /// [`Core::before_change`]).
    pub(super) saved_state: bool,
}

/// Where loads have been, to bound the decompressed copies of compressed blocks: only
/// the block loaded last keeps one, and a walk that reaches the end of a block (its last
/// sequence coming up, its first going down) drops it there (Go expires its block cache
/// the same way on linear scans, and the others on a timer natsd does not have).
#[derive(Debug, Default)]
struct ReadCursor {
    /// Index of the block whose decompressed copy is kept.
    cached: Option<u32>,
    /// The sequence the previous load asked for, found or not.
    last_asked: u64,
}

/// File of per-message TTLs kept across a clean stop.
pub const TTL_FILE: &str = "thw.db";
const TTL_MAGIC: &[u8; 4] = b"TTL1";

/// A block bigger than this that a bulk removal would leave mostly dead is rewritten
/// instead of given tombstones (Go's `compactMinimum`).
const COMPACT_MINIMUM: u64 = 2 * 1024 * 1024;

/// A last block shorter than this whose header does not parse was torn while created.
const TORN_HEADER_MAX: usize = 512;

/// Deleted sequences a block holding messages may cover before a skip starts a new
/// block (Go's `maxDeletes` in SkipMsgs).
const MAX_BLOCK_DELETES: u64 = 64 * 1024;

/// The file system is full (or the user's quota is).
fn is_out_of_space(err: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(err.raw_os_error(), Some(ENOSPC | EDQUOT))
}

/// The message's `Nats-TTL` header says it never expires.
fn never_expires(hdr: &[u8]) -> bool {
    !hdr.is_empty() && matches!(message_ttl(hdr), Ok(ttl) if ttl < 0)
}

fn io_err(e: io::Error) -> StoreError {
    StoreError::from(e)
}

impl Core {
    /// A store with no blocks yet.
    pub fn empty(name: &str, msgs_dir: &Path, block_size: u64, codec: BlockCodec) -> Core {
        Core {
            name: name.to_string(),
            msgs_dir: msgs_dir.to_path_buf(),
            block_size,
            codec,
            blocks: Vec::new(),
            first_seq: 0,
            last_seq: 0,
            last_ts: 0,
            msgs: 0,
            bytes: 0,
            subjects: Default::default(),
            ttls: Default::default(),
            schedules: None,
            schedule_seqs: None,
            written: 0,
            next_index: 1,
            pending_sync: Vec::new(),
            dir_dirty: false,
            report: RecoveryReport::default(),
            reads: Default::default(),
            scratch: Vec::new(),
            saved_state: false,
        }
    }

    /// Called before anything changes the store. A state file written while the store
    /// runs describes it only until then: it goes first, durably, so that a crash after
    /// the change never opens from a state that misses it. (A change in place within the
    /// file system's timestamp granularity would keep a block's length and times, and a
    /// stale state is read as damage done after a clean stop, with its messages reported
    /// lost.)
    pub(super) fn before_change(&mut self) -> io::Result<()> {
        if self.saved_state {
            super::state_file::discard(&self.msgs_dir)?;
            self.saved_state = false;
        }
        Ok(())
    }

    /// Recounts the stream from its blocks: each block's live counts from its slots, then
    /// the stream's messages, bytes, first sequence and per-subject counts from the
    /// blocks (Go's `rebuildState`). For when the totals are found to disagree with the
    /// blocks; the slots are what loads read, so they are the truth.
    pub(super) fn rebuild_totals(&mut self) {
        for blk in &mut self.blocks {
            let live = blk.slots.iter().filter(|s| s.is_live());
            let (msgs, bytes) = live.fold((0u64, 0u64), |(m, b), s| (m + 1, b + u64::from(s.len)));
            blk.live_msgs = msgs;
            blk.live_bytes = bytes;
        }
        let highest = self.blocks.iter().map(|b| b.max_seq).max().unwrap_or(0);
        if highest > self.last_seq {
            self.last_seq = highest;
        }
        self.msgs = 0;
        self.bytes = 0;
        self.subjects.clear();
        self.count_live();
        self.first_seq = self.first_live().unwrap_or(if self.last_seq == 0 {
            0
        } else {
            self.last_seq + 1
        });
        let mut ttls = std::mem::take(&mut self.ttls);
        ttls.retain_seqs(|seq| self.is_live(seq));
        self.ttls = ttls;
    }

    /// Opens (creating if needed) the blocks under `msgs_dir` and rebuilds the index from
    /// them, cutting torn tails and stepping over damaged records.
    pub fn open(
        name: &str,
        msgs_dir: &Path,
        block_size: u64,
        codec: BlockCodec,
    ) -> io::Result<Core> {
        fs::create_dir_all(msgs_dir)?;
        let stale = match super::state_file::load(name, msgs_dir, block_size, &codec)? {
            // A clean stop left the whole index behind: no block needs reading.
            Recovered::Store(core) => {
                super::state_file::discard(msgs_dir)?;
                return Ok(*core);
            }
            Recovered::Stale(stale) => Some(stale),
            Recovered::Nothing => None,
        };
        let mut indexes: Vec<u32> = fs::read_dir(msgs_dir)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                let name = name.to_str()?;
                name.strip_suffix(".blk")?.parse().ok()
            })
            .collect();
        indexes.sort_unstable();
        // Leftovers of an interrupted compaction: the .blk is still the whole truth.
        for entry in fs::read_dir(msgs_dir)?.flatten() {
            if entry.path().extension().is_some_and(|e| e == "new") {
                fs::remove_file(entry.path())?;
            }
        }
        let mut core = Core::empty(name, msgs_dir, block_size, codec);
        // The scan notes the messages with schedule headers.
        core.schedule_seqs = Some(Vec::new());
        let mut tombstones = Vec::new();
        let mut names: std::collections::HashMap<Box<[u8]>, Arc<str>> = Default::default();
        // Sequences some valid record says are not messages (erased or deleted).
        let mut accounted = std::collections::HashSet::new();
        let mut damaged_neighbours = Vec::new();
        // The end of the slots of the blocks scanned so far.
        let mut slots_end = 0u64;
        let last_index = indexes.last().copied().unwrap_or(0);
        core.next_index = last_index + 1;
        for index in indexes {
            // Only the last block keeps a descriptor.
            if let Some(prev) = core.blocks.last_mut() {
                prev.release_handle();
            }
            let path = block::block_path(msgs_dir, index);
            let file = fs::OpenOptions::new().read(true).write(true).open(&path)?;
            let raw = fs::read(&path)?;
            let mut blk = Block::with_file(index, path, file, name, &core.codec);
            let torn_new_block = index == last_index && raw.len() < TORN_HEADER_MAX;
            let header = match core.codec.read_header(&raw, name, index) {
                Ok(h) => h,
                // A new last block whose header a crash cut short holds no records yet.
                Err(_) if torn_new_block => {
                    core.report.truncated.push((index, raw.len() as u64));
                    drop(blk);
                    core.blocks
                        .push(Block::create(msgs_dir, name, index, &core.codec)?);
                    continue;
                }
                Err(_) => {
                    // The key is known to be right (checked by the caller), so a header
                    // that does not open is damage; its block is skipped whole and kept.
                    core.report.damaged.push((index, 0, raw.len() as u64));
                    core.report.lost.bytes += raw.len() as u64;
                    damaged_neighbours.push((core.last_seq, u64::MAX));
                    continue;
                }
            };
            if header.is_none() && core.codec.has_header() && !raw.is_empty() {
                // No magic. A bare block written before the store had a cipher or
                // compression starts with a valid record; otherwise the magic is damaged.
                if record::decode(&raw, &blk.hasher).is_err() {
                    if torn_new_block {
                        core.report.truncated.push((index, raw.len() as u64));
                        drop(blk);
                        core.blocks
                            .push(Block::create(msgs_dir, name, index, &core.codec)?);
                        continue;
                    }
                    core.report.damaged.push((index, 0, raw.len() as u64));
                    core.report.lost.bytes += raw.len() as u64;
                    damaged_neighbours.push((core.last_seq, u64::MAX));
                    continue;
                }
            }
            if raw.is_empty() && core.codec.has_header() {
                core.blocks
                    .push(Block::create(msgs_dir, name, index, &core.codec)?);
                continue;
            }
            let bytes = match core.codec.decode_block(&raw, name, index) {
                Ok((_, plain)) => plain,
                Err(err) if header.as_ref().is_some_and(|h| h.compressed) => {
                    // The compressed body is damaged as a whole: nothing in it is usable.
                    let _ = err;
                    core.report.damaged.push((index, 0, raw.len() as u64));
                    core.report.lost.bytes += raw.len() as u64;
                    damaged_neighbours.push((core.last_seq, u64::MAX));
                    Vec::new()
                }
                Err(err) => return Err(err),
            };
            if let Some(h) = header {
                blk.set_header(h);
            }
            let scan = record::scan(&bytes, &blk.hasher);
            let mut prev_seq = core.last_seq;
            // Message sequences rise from block to block: one at or below what an older
            // block holds is a stray copy (damage, or a file put back), kept out.
            let older_end = core.blocks.last().map(|_| slots_end);
            let mut damage = scan.damage.iter().peekable();
            for rec in &scan.records {
                // Remember the sequences around damage to name what was lost.
                while let Some(d) = damage.peek() {
                    if (d.offset as u64) < rec.offset as u64 {
                        damaged_neighbours.push((prev_seq, rec.seq));
                        core.report
                            .damaged
                            .push((index, d.offset as u64, d.len as u64));
                        core.report.lost.bytes += d.len as u64;
                        damage.next();
                    } else {
                        break;
                    }
                }
                match rec.kind {
                    RecordKind::Message => {
                        if older_end.is_some_and(|end| rec.seq < end) {
                            core.report
                                .damaged
                                .push((index, rec.offset as u64, rec.len as u64));
                            continue;
                        }
                        // One shared name per subject, as the store shares them while it
                        // runs (the subject index is filled only after the scan).
                        let subject = match names.get::<[u8]>(&rec.subject) {
                            Some(name) => Arc::clone(name),
                            None => {
                                let name = core.intern(&rec.subject);
                                names.insert(rec.subject.to_vec().into_boxed_slice(), name.clone());
                                name
                            }
                        };
                        blk.index_message(rec.seq, rec.ts, rec.offset as u64, rec.len, subject);
                        if rec.has_headers {
                            let headers = &bytes[rec.offset..rec.offset + rec.len];
                            if let Ok(r) = record::decode(headers, &blk.hasher) {
                                match message_ttl(r.headers) {
                                    Ok(ttl) if ttl > 0 => {
                                        core.ttls.insert((rec.ts + ttl * NANOS_PER_SEC, rec.seq));
                                    }
                                    Ok(ttl) if ttl < 0 => core.ttls.insert_never(rec.seq),
                                    _ => {}
                                }
                                if super::schedule::has_schedule_headers(r.headers) {
                                    core.schedule_seqs.get_or_insert_default().push(rec.seq);
                                }
                            }
                        }
                    }
                    RecordKind::Erased => {
                        blk.note_seq(rec.seq, rec.ts);
                        accounted.insert(rec.seq);
                    }
                    RecordKind::Tombstone => {
                        blk.tombstones.push(rec.seq);
                        tombstones.push(rec.seq);
                        blk.note_seq(rec.seq, rec.ts);
                    }
                }
                prev_seq = prev_seq.max(rec.seq);
            }
            if (scan.valid_end as u64) < bytes.len() as u64 {
                let cut = bytes.len() as u64 - scan.valid_end as u64;
                core.report.lost.bytes += cut;
                // Only the last block can have a torn write; damage at the end of an
                // older block is reported and left on disk.
                if blk.compressed || index != last_index {
                    core.report
                        .damaged
                        .push((index, scan.valid_end as u64, cut));
                } else {
                    core.report.truncated.push((index, cut));
                    let file = blk.handle()?;
                    file.set_len(blk.header_len + scan.valid_end as u64)?;
                    file.sync_all()?;
                }
                damaged_neighbours.push((prev_seq, u64::MAX));
            }
            blk.size = scan.valid_end as u64;
            if blk.max_seq > core.last_seq {
                core.last_seq = blk.max_seq;
                core.last_ts = blk.max_seq_ts;
            }
            slots_end = slots_end.max(blk.slot_range().end);
            core.blocks.push(blk);
        }
        // Tombstones delete what older blocks still hold.
        for seq in tombstones {
            accounted.insert(seq);
            if let Some(bi) = core.block_of(seq) {
                core.blocks[bi].unindex(seq);
            }
        }
        core.count_live();
        // Sequences between the neighbours of damage that no record names were lost.
        for (before, after) in damaged_neighbours {
            let end = after.min(core.last_seq + 1);
            for seq in before + 1..end {
                // Not a message any more and no record says why: the damage took it.
                // (A sequence whose delete was compacted away is counted here too.)
                if !core.is_live(seq) && !accounted.contains(&seq) {
                    core.report.lost.msgs.push(seq);
                }
            }
        }
        core.settle(last_index)?;
        if let Some(stale) = stale {
            // The blocks changed after a clean stop. What its state held and no record
            // accounts for was lost since (a removed or cut block file).
            // Damage the scan found is reported already.
            let known: std::collections::HashSet<u64> =
                core.report.lost.msgs.iter().copied().collect();
            let lost = stale.lost(
                |seq| core.is_live(seq),
                |seq| accounted.contains(&seq) || known.contains(&seq),
            );
            if let Some(lost) = lost {
                core.report.lost.bytes += lost.bytes;
                core.report.lost.msgs.extend(lost.msgs);
                core.report.lost.msgs.sort_unstable();
            }
            // Messages lost off the end keep their sequences used, recorded in a new
            // block as Go does, and synced before the state file that told us goes.
            if stale.last_seq > core.last_seq {
                core.rotate()?;
                core.skip(stale.last_seq, stale.last_ts, &|_| {})
                    .map_err(io::Error::other)?;
                core.take_sync_work().run()?;
            }
        }
        super::state_file::discard(msgs_dir)?;
        let older = core.blocks.len().saturating_sub(1);
        // An older block with nothing needed left was being deleted when the store went
        // down (after the last block recorded the delete, before the file was removed).
        // Not when damage was skipped: a tombstone's target may be in a skipped block.
        if core.report.damaged.is_empty() {
            let dead: Vec<u32> = (0..older)
                .filter(|&bi| {
                    core.blocks[bi].live_msgs == 0 && core.tombstones_needed(bi).is_empty()
                })
                .map(|bi| core.blocks[bi].index)
                .collect();
            for index in dead {
                if let Some(bi) = core.blocks.iter().position(|b| b.index == index) {
                    core.delete_block(bi)?;
                }
            }
        }
        Ok(core)
    }

    /// Counts the live messages of the blocks into the stream's totals and the
    /// per-subject index.
    fn count_live(&mut self) {
        // Counted per shared name first (every slot of a subject points to one), then
        // entered into the subject tree once per subject rather than once per message.
        let mut per_name: std::collections::HashMap<*const u8, (Arc<str>, SubjectInfo)> =
            Default::default();
        let (mut msgs, mut bytes) = (0u64, 0u64);
        for blk in &self.blocks {
            for (i, slot) in blk.slots.iter().enumerate() {
                let Some(subject) = &slot.subject else {
                    continue;
                };
                msgs += 1;
                bytes += u64::from(slot.len);
                if subject.is_empty() {
                    continue;
                }
                let seq = blk.base_seq + i as u64;
                let (_, info) = per_name
                    .entry(Arc::as_ptr(subject).cast::<u8>())
                    .or_insert_with(|| (subject.clone(), SubjectInfo::default()));
                if info.msgs == 0 {
                    info.first = seq;
                }
                info.msgs += 1;
                info.last = seq;
            }
        }
        self.msgs += msgs;
        self.bytes += bytes;
        for (name, counted) in per_name.into_values() {
            // Two names with the same text (not shared) add up.
            let info = self.subjects.entry(name);
            if info.msgs == 0 {
                *info = counted;
            } else {
                info.msgs += counted.msgs;
                info.first = info.first.min(counted.first);
                info.last = info.last.max(counted.last);
            }
        }
        self.subjects.retain(|_, info| info.msgs > 0);
    }

    /// The last steps of an open: the first sequence, TTLs only of messages still here, a
    /// last block to write to past every file (`last_index` is the highest on disk), and
    /// descriptors only for that one.
    fn settle(&mut self, last_index: u32) -> io::Result<()> {
        // A store that never used a sequence starts at 0, as Go's and the memory store.
        self.first_seq = self.first_live().unwrap_or(if self.last_seq == 0 {
            0
        } else {
            self.last_seq + 1
        });
        // Drop ttl entries of messages that did not survive.
        let mut ttls = std::mem::take(&mut self.ttls);
        ttls.retain_seqs(|seq| self.is_live(seq));
        self.ttls = ttls;
        // Writes go to a block past every file, so a skipped damaged last block is never
        // appended to or overwritten.
        if self.blocks.last().is_none_or(|b| b.index != last_index) {
            let index = self.next_index;
            self.next_index += 1;
            let blk = Block::create(&self.msgs_dir, &self.name, index, &self.codec)?;
            self.blocks.push(blk);
        }
        let older = self.blocks.len().saturating_sub(1);
        for blk in &mut self.blocks[..older] {
            blk.release_handle();
        }
        Ok(())
    }

    /// Completes an open from the state file: its blocks and TTLs are set, the rest is
    /// derived as after a scan.
    pub fn finish_open(&mut self, ttls: crate::ttl_index::TtlIndex) -> io::Result<()> {
        self.ttls = ttls;
        self.count_live();
        let last_index = self.blocks.last().map_or(0, |b| b.index);
        self.settle(last_index)
    }

    pub fn intern(&mut self, subject: &[u8]) -> Arc<str> {
        let text = String::from_utf8_lossy(subject);
        match self.subjects.name(text.as_ref()) {
            Some(name) => name,
            None => Arc::from(text.as_ref()),
        }
    }

    /// Index of the block whose slots cover `seq`.
    pub fn block_of(&self, seq: u64) -> Option<usize> {
        let i = self
            .blocks
            .partition_point(|b| b.slots.is_empty() || b.slot_range().end <= seq);
        // Blocks without slots sort anywhere; fall back to a scan when needed.
        if let Some(b) = self.blocks.get(i) {
            if b.slot_range().contains(&seq) {
                return Some(i);
            }
        }
        self.blocks
            .iter()
            .position(|b| b.slot_range().contains(&seq))
    }

    pub fn is_live(&self, seq: u64) -> bool {
        self.block_of(seq)
            .and_then(|bi| self.blocks[bi].slot(seq))
            .is_some_and(|s| s.is_live())
    }

    pub fn first_live(&self) -> Option<u64> {
        self.blocks.iter().find_map(Block::first_live)
    }

    pub fn last_live(&self) -> Option<u64> {
        self.blocks.iter().rev().find_map(Block::last_live)
    }

    /// Timestamp of a live message.
    pub fn ts_of(&self, seq: u64) -> Option<i64> {
        let blk = &self.blocks[self.block_of(seq)?];
        blk.slot(seq).filter(|s| s.is_live()).map(|s| s.ts)
    }

    pub fn subject_of(&self, seq: u64) -> Option<&Arc<str>> {
        let blk = &self.blocks[self.block_of(seq)?];
        blk.slot(seq).and_then(|s| s.subject.as_ref())
    }

    /// The last block. Callers make sure one exists ([`Core::ensure_lmb`]).
    fn lmb(&mut self) -> &mut Block {
        let last = self.blocks.len().saturating_sub(1);
        &mut self.blocks[last]
    }

    /// Creates a last block when there is none (after a reset).
    fn ensure_lmb(&mut self) -> io::Result<()> {
        if self.blocks.is_empty() {
            self.before_change()?;
            let index = self.next_index;
            self.next_index += 1;
            let blk = Block::create(&self.msgs_dir, &self.name, index, &self.codec)?;
            self.blocks.push(blk);
            self.dir_dirty = true;
        }
        Ok(())
    }

    /// Hands over what must be synced to make every write so far durable.
    pub fn take_sync_work(&mut self) -> super::commit::SyncWork {
        let mut files = std::mem::take(&mut self.pending_sync);
        files.extend(self.blocks.last().and_then(|b| b.file.clone()));
        let dir = std::mem::take(&mut self.dir_dirty).then(|| self.msgs_dir.clone());
        super::commit::SyncWork {
            ticket: self.written,
            files,
            dir,
        }
    }

    /// Starts a new last block when `len` more bytes would not fit. The sealed block joins
    /// the files the next sync covers.
    fn rotate_if_needed(&mut self, len: usize, _synced: &dyn Fn(u64)) -> io::Result<()> {
        self.ensure_lmb()?;
        let block_size = self.block_size;
        let lmb = self.lmb();
        if lmb.size == 0 || lmb.size + len as u64 <= block_size {
            return Ok(());
        }
        self.rotate()
    }

    /// Seals the last block and starts a new one (Go's `newMsgBlockForWrite`).
    pub fn rotate(&mut self) -> io::Result<()> {
        self.before_change()?;
        self.ensure_lmb()?;
        let lmb = self.lmb();
        let sealed_file = lmb.handle()?;
        lmb.release_handle();
        let index = self.next_index;
        self.next_index += 1;
        self.pending_sync.push(sealed_file);
        self.dir_dirty = true;
        let blk = Block::create(&self.msgs_dir, &self.name, index, &self.codec)?;
        self.blocks.push(blk);
        // Compressing the sealed block is an optimisation: if it fails the block stays
        // as it is, intact.
        let sealed = self.blocks.len() - 2;
        let msgs_dir = self.msgs_dir.clone();
        let _ = self.blocks[sealed].seal(&msgs_dir);
        Ok(())
    }

    /// Writes a message at `seq` (which must be `last_seq + 1`) and indexes it.
    #[allow(clippy::too_many_arguments)]
    pub fn append_msg(
        &mut self,
        seq: u64,
        ts: i64,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        ttl: i64,
        synced: &dyn Fn(u64),
    ) -> Result<(), StoreError> {
        self.before_change().map_err(io_err)?;
        let len = record::record_len(subject.len(), hdr.len(), msg.len());
        self.rotate_if_needed(len, synced).map_err(io_err)?;
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let lmb_hasher = self.lmb().hasher.clone();
        record::encode(&mut out, &lmb_hasher, seq, ts, subject.as_bytes(), hdr, msg);
        let interned = self.intern(subject.as_bytes());
        let lmb = self.lmb();
        let offset = lmb.size;
        let res = lmb.append(&out);
        self.scratch = out;
        res.map_err(io_err)?;
        self.lmb()
            .index_message(seq, ts, offset, len, interned.clone());
        self.written += 1;
        if self.msgs == 0 {
            self.first_seq = seq;
        }
        self.msgs += 1;
        self.bytes += len as u64;
        self.last_seq = seq;
        self.last_ts = ts;
        // Messages without a subject (raft state) are not tracked per subject, as in Go.
        if !interned.is_empty() {
            let info = self.subjects.entry(interned);
            if info.msgs == 0 {
                info.first = seq;
            }
            info.msgs += 1;
            info.last = seq;
        }
        if ttl > 0 {
            self.ttls.insert((ts + ttl * NANOS_PER_SEC, seq));
        }
        // Whether a message never expires is read from its header, as recovery reads it
        // again (Go looks at the header when expiring by age).
        if never_expires(hdr) {
            self.ttls.insert_never(seq);
        }
        Ok(())
    }

    /// Writes a record with no message: a tombstone (`TOMBSTONE_BIT`) or an erased /
    /// skipped sequence (`ERASED_BIT`).
    pub fn append_marker(
        &mut self,
        raw_seq: u64,
        ts: i64,
        synced: &dyn Fn(u64),
    ) -> Result<(), StoreError> {
        self.before_change().map_err(io_err)?;
        self.rotate_if_needed(record::EMPTY_RECORD_LEN, synced)
            .map_err(io_err)?;
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let hasher = self.lmb().hasher.clone();
        record::encode(&mut out, &hasher, raw_seq, ts, b"", b"", b"");
        let res = self.lmb().append(&out);
        self.scratch = out;
        res.map_err(io_err)?;
        self.written += 1;
        let seq = raw_seq & !(TOMBSTONE_BIT | ERASED_BIT);
        let lmb = self.lmb();
        if raw_seq & TOMBSTONE_BIT != 0 {
            lmb.tombstones.push(seq);
        }
        lmb.note_seq(seq, ts);
        Ok(())
    }

    /// Uses up sequences `first..=last` without messages.
    pub fn skip(&mut self, last: u64, ts: i64, synced: &dyn Fn(u64)) -> Result<(), StoreError> {
        // A long run of skipped sequences after messages in the last block goes into a new
        // block (Go caps a block's deletes at 64K the same way): in the old one, every
        // sequence of the run would take an index slot once a message follows it.
        self.ensure_lmb().map_err(io_err)?;
        let lmb = self.lmb();
        if lmb.live_msgs > 0 {
            let spanned = lmb.max_seq.max(lmb.slot_range().end.saturating_sub(1)) + 1;
            let deletes = spanned.saturating_sub(lmb.base_seq) - lmb.live_msgs;
            if deletes + last.saturating_sub(self.last_seq) > MAX_BLOCK_DELETES {
                self.rotate().map_err(io_err)?;
            }
        }
        self.append_marker(last | ERASED_BIT, ts, synced)?;
        self.last_seq = last;
        self.last_ts = ts;
        if self.msgs == 0 {
            self.first_seq = last + 1;
        }
        Ok(())
    }

    /// Loads a live message.
    pub fn load(&self, seq: u64) -> Result<StoreMsg, StoreError> {
        if seq > self.last_seq {
            return Err(StoreError::Eof);
        }
        let bi = self.block_of(seq).ok_or(StoreError::MsgNotFound)?;
        let blk = &self.blocks[bi];
        let loaded = if blk.slot(seq).is_some_and(|s| s.is_live()) {
            let mut buf = Vec::new();
            blk.read_record(seq, &mut buf)
                .map_err(io_err)
                .map(|rec| StoreMsg {
                    subject: String::from_utf8_lossy(rec.subject).into_owned(),
                    hdr: Bytes::copy_from_slice(rec.headers),
                    msg: Bytes::copy_from_slice(rec.payload),
                    seq,
                    ts: rec.ts,
                })
        } else {
            Err(StoreError::MsgNotFound)
        };
        self.release_block_copies(bi, seq);
        loaded
    }

    /// After a load of `seq` from block `bi`: keeps a decompressed copy of that block
    /// only, and not even that once a walk has reached the block's end (see
    /// [`ReadCursor`]).
    fn release_block_copies(&self, bi: usize, seq: u64) {
        let blk = &self.blocks[bi];
        let mut cursor = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        let prev = std::mem::replace(&mut cursor.last_asked, seq);
        if cursor.cached != Some(blk.index) {
            if let Some(old) = cursor.cached {
                if let Ok(at) = self.blocks.binary_search_by_key(&old, |b| b.index) {
                    self.blocks[at].drop_cache();
                }
            }
            cursor.cached = blk.compressed.then_some(blk.index);
        }
        let walked_to_end = (seq == blk.max_seq && prev.checked_add(1) == Some(seq))
            || (seq == blk.base_seq && seq.checked_add(1) == Some(prev));
        if walked_to_end {
            blk.drop_cache();
            cursor.cached = None;
        }
    }

    /// Removes a live message: unindexes it, records the delete on disk (a tombstone, or
    /// an in-place overwrite when `erase`), and reclaims space. Returns the subject and
    /// record length, or `None` if the message was not there.
    ///
    /// Like Go, a removal `via_limits` (max msgs/bytes/per subject, age) writes no
    /// tombstone: recovery re-applies the same limits and removes the same messages. Nor
    /// does a removal that empties an older block, which is deleted at once instead.
    pub fn remove(
        &mut self,
        seq: u64,
        erase: bool,
        via_limits: bool,
        now: i64,
        synced: &dyn Fn(u64),
    ) -> Result<Option<(Arc<str>, u64)>, StoreError> {
        let Some(bi) = self.block_of(seq) else {
            return Ok(None);
        };
        if !self.blocks[bi].slot(seq).is_some_and(|s| s.is_live()) {
            return Ok(None);
        }
        self.before_change().map_err(io_err)?;
        if erase {
            let ts = self.blocks[bi].slot(seq).map_or(now, |s| s.ts);
            self.blocks[bi].erase_in_place(seq).map_err(io_err)?;
            let Some((subject, len)) = self.blocks[bi].unindex(seq) else {
                return Ok(None);
            };
            // A compressed block is rewritten without the record instead. If that fails
            // the record is still there: a tombstone at least keeps it removed.
            let rewritten = if self.blocks[bi].compressed {
                self.compact_block(bi).map_err(io_err)
            } else {
                Ok(())
            };
            if rewritten.is_err() || seq == self.last_seq {
                // The erased record keeps no time; a tombstone tells recovery when the
                // stream's last message was stored (Go writes one for every erase). If it
                // cannot be written the erase still stands (the erased record keeps the
                // sequence); only that time would be lost on a restart.
                let _ = self.append_marker(seq | TOMBSTONE_BIT, ts, synced);
            }
            // The message is out of the index whatever failed: account for it.
            let removed = self.after_remove(seq, bi, subject, len);
            rewritten?;
            return Ok(Some(removed));
        }
        let empties_older_block = self.blocks[bi].live_msgs == 1
            && bi + 1 < self.blocks.len()
            && self.tombstones_needed(bi).is_empty();
        if empties_older_block {
            let Some((subject, len)) = self.blocks[bi].unindex(seq) else {
                return Ok(None);
            };
            if self.delete_block(bi).is_err() {
                self.append_marker(seq | TOMBSTONE_BIT, now, synced)?;
            }
            self.msgs -= 1;
            self.bytes -= len;
            self.unaccount_subject(&subject, seq);
            if seq == self.first_seq {
                self.first_seq = self.next_live_from(seq).unwrap_or(self.last_seq + 1);
            }
            return Ok(Some((subject, len)));
        }
        if !via_limits {
            // The tombstone carries the message's time, so that a tombstone of the last
            // message still tells recovery when the last message was stored.
            let ts = self.blocks[bi].slot(seq).map_or(now, |s| s.ts);
            self.append_marker(seq | TOMBSTONE_BIT, ts, synced)?;
        }
        // The write may have rotated blocks; the target block index is unchanged.
        let Some((subject, len)) = self.blocks[bi].unindex(seq) else {
            return Ok(None);
        };
        Ok(Some(self.after_remove(seq, bi, subject, len)))
    }

    fn after_remove(
        &mut self,
        seq: u64,
        bi: usize,
        subject: Arc<str>,
        len: u64,
    ) -> (Arc<str>, u64) {
        self.msgs -= 1;
        self.bytes -= len;
        self.unaccount_subject(&subject, seq);
        self.ttls.remove_seq(seq);
        self.forget_schedules([seq]);
        if seq == self.first_seq {
            self.first_seq = self.next_live_from(seq).unwrap_or(self.last_seq + 1);
        }
        // Reclaiming is best effort: if it fails the dead bytes stay, which is safe.
        let _ = self.reclaim(bi);
        (subject, len)
    }

    /// Removes many live messages at once (purge by subject, compact, expiry). Where a
    /// block loses more than a few messages it is rewritten without them, or deleted when
    /// nothing in it is needed any more, instead of writing a tombstone per message; the
    /// rewrite is atomic, so a crash leaves either the old block or the new one. Returns
    /// what was removed.
    pub fn remove_bulk(
        &mut self,
        seqs: &[u64],
        via_limits: bool,
        now: i64,
        synced: &dyn Fn(u64),
    ) -> Result<Vec<(u64, Arc<str>, u64)>, StoreError> {
        self.remove_bulk_with(seqs, via_limits, false, now, synced)
    }

    /// [`Core::remove_bulk`]; with `rewrite`, every block that loses messages is
    /// rewritten without them (or deleted), however few: no tombstones are written, and
    /// the removal is on disk, atomically, when this returns.
    pub fn remove_bulk_with(
        &mut self,
        seqs: &[u64],
        via_limits: bool,
        rewrite: bool,
        now: i64,
        synced: &dyn Fn(u64),
    ) -> Result<Vec<(u64, Arc<str>, u64)>, StoreError> {
        const TOMBSTONES_UP_TO: usize = 16;
        if !seqs.is_empty() {
            self.before_change().map_err(io_err)?;
        }
        let mut by_block: Vec<(u32, Vec<u64>)> = Vec::new();
        for &seq in seqs {
            let Some(bi) = self.block_of(seq) else {
                continue;
            };
            if !self.blocks[bi].slot(seq).is_some_and(|s| s.is_live()) {
                continue;
            }
            let index = self.blocks[bi].index;
            match by_block.last_mut() {
                Some((i, list)) if *i == index => list.push(seq),
                _ => by_block.push((index, vec![seq])),
            }
        }
        let mut removed = Vec::with_capacity(seqs.len());
        for (index, list) in by_block {
            let Some(bi) = self.blocks.iter().position(|b| b.index == index) else {
                continue;
            };
            let whole = list.len() as u64 == self.blocks[bi].live_msgs;
            // As Go's Compact: a big block that would be mostly dead is rewritten rather
            // than given tombstones.
            let blk = &self.blocks[bi];
            let removed_bytes: u64 = list
                .iter()
                .filter_map(|&s| blk.slot(s))
                .map(|s| u64::from(s.len))
                .sum();
            let mostly_dead = blk.size > COMPACT_MINIMUM
                && blk.live_bytes.saturating_sub(removed_bytes) * 2 < blk.size;
            if !rewrite && !whole && !mostly_dead && list.len() <= TOMBSTONES_UP_TO {
                for seq in list {
                    if let Some((subject, len)) =
                        self.remove(seq, false, via_limits, now, synced)?
                    {
                        removed.push((seq, subject, len));
                    }
                }
                continue;
            }
            let mut gone = Vec::with_capacity(list.len());
            for &seq in &list {
                if let Some((subject, len)) = self.blocks[bi].unindex(seq) {
                    gone.push((seq, subject, len));
                }
            }
            let is_last = bi + 1 == self.blocks.len();
            let on_disk = if whole && !is_last && self.tombstones_needed(bi).is_empty() {
                self.delete_block(bi)
            } else {
                self.compact_block(bi)
            };
            if on_disk.is_err() && !via_limits {
                // The block could not be rewritten: record the deletes as tombstones.
                for (seq, _, _) in &gone {
                    self.append_marker(seq | TOMBSTONE_BIT, now, synced)?;
                }
            }
            for (seq, subject, len) in gone {
                self.msgs -= 1;
                self.bytes -= len;
                self.unaccount_subject(&subject, seq);
                removed.push((seq, subject, len));
            }
        }
        if self.msgs == 0 {
            self.first_seq = self.last_seq + 1;
        } else if !self.is_live(self.first_seq) {
            self.first_seq = self
                .next_live_from(self.first_seq)
                .unwrap_or(self.last_seq + 1);
        }
        let gone: std::collections::HashSet<u64> = removed.iter().map(|r| r.0).collect();
        for &seq in &gone {
            self.ttls.remove_seq(seq);
        }
        self.forget_schedules(gone);
        Ok(removed)
    }

    /// Updates per-subject counts for a removed message.
    fn unaccount_subject(&mut self, subject: &Arc<str>, seq: u64) {
        let Some(info) = self.subjects.get(subject) else {
            return;
        };
        if info.msgs <= 1 {
            self.subjects.remove(subject);
            return;
        }
        let mut info = info;
        info.msgs -= 1;
        if seq == info.first {
            info.first = self
                .scan_subject(subject, seq + 1, info.last, true)
                .unwrap_or(info.last);
        }
        if seq == info.last {
            info.last = self
                .scan_subject(subject, info.first, seq.saturating_sub(1), false)
                .unwrap_or(info.first);
        }
        self.subjects.set(subject.clone(), info);
    }

    /// First (or last) live sequence in `from..=to` with this subject.
    fn scan_subject(&self, subject: &Arc<str>, from: u64, to: u64, forward: bool) -> Option<u64> {
        let matches = |seq: u64| {
            self.subject_of(seq)
                .is_some_and(|s| Arc::ptr_eq(s, subject) || **s == **subject)
        };
        if from > to {
            return None;
        }
        if forward {
            self.live_seqs_from(from)
                .take_while(|&s| s <= to)
                .find(|&s| matches(s))
        } else {
            self.live_seqs_back_from(to)
                .take_while(|&s| s >= from)
                .find(|&s| matches(s))
        }
    }

    pub fn next_live_from(&self, seq: u64) -> Option<u64> {
        self.live_seqs_from(seq).next()
    }

    /// Live sequences from `start` upwards.
    pub fn live_seqs_from(&self, start: u64) -> impl Iterator<Item = u64> + '_ {
        let bi = self
            .blocks
            .iter()
            .position(|b| !b.slots.is_empty() && b.slot_range().end > start)
            .unwrap_or(self.blocks.len());
        self.blocks[bi..].iter().flat_map(move |b| {
            let from = start.max(b.base_seq);
            let skip = (from - b.base_seq) as usize;
            b.slots
                .iter()
                .enumerate()
                .skip(skip)
                .filter(|(_, s)| s.is_live())
                .map(move |(i, _)| b.base_seq + i as u64)
        })
    }

    /// Live sequences from `start` downwards.
    pub fn live_seqs_back_from(&self, start: u64) -> impl Iterator<Item = u64> + '_ {
        let end = self
            .blocks
            .iter()
            .rposition(|b| !b.slots.is_empty() && b.base_seq <= start)
            .map_or(0, |i| i + 1);
        self.blocks[..end].iter().rev().flat_map(move |b| {
            let upto = start.min(b.slot_range().end.saturating_sub(1));
            let n = if b.slots.is_empty() || upto < b.base_seq {
                0
            } else {
                (upto - b.base_seq + 1) as usize
            };
            b.slots[..n]
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, s)| s.is_live())
                .map(move |(i, _)| b.base_seq + i as u64)
        })
    }

    /// Frees disk space in block `bi` after a delete: an older block without live messages
    /// is deleted once none of its tombstones are needed; one mostly dead is rewritten.
    pub fn reclaim(&mut self, bi: usize) -> io::Result<()> {
        if bi + 1 >= self.blocks.len() {
            return Ok(());
        }
        let blk = &self.blocks[bi];
        if blk.live_msgs == 0 && self.tombstones_needed(bi).is_empty() {
            return self.delete_block(bi);
        }
        if self.should_compact(bi) {
            self.compact_block(bi)?;
        }
        Ok(())
    }

    /// Whether an older block is dead enough to be rewritten at once, by the delete that
    /// made it so (Go's `shouldCompactInline`): worth compacting (see
    /// [`Block::worth_compacting`]) and bigger than [`COMPACT_MINIMUM`]. Smaller blocks
    /// wait for the periodic pass ([`Core::compact_sealed`]), so that a run of deletes
    /// rewrites a small block once rather than every time it becomes mostly dead again.
    pub fn should_compact(&self, bi: usize) -> bool {
        let blk = &self.blocks[bi];
        blk.size > COMPACT_MINIMUM && blk.worth_compacting()
    }

    /// Whether the periodic pass would rewrite an older block (Go's `shouldCompactSync`).
    pub fn should_compact_sync(&self, bi: usize) -> bool {
        bi + 1 < self.blocks.len() && self.blocks[bi].worth_compacting()
    }

    /// Rewrites older blocks that are mostly dead, however small (Go's periodic
    /// `syncBlocks` compaction), and deletes those with nothing needed left. Oldest
    /// first: tombstones name older sequences, so a rewritten older block may leave a
    /// later block's tombstones unneeded in the same pass.
    pub fn compact_sealed(&mut self) -> io::Result<()> {
        let sealed = self.blocks.len().saturating_sub(1);
        let older: Vec<u32> = self.blocks[..sealed].iter().map(|b| b.index).collect();
        for index in older {
            // Earlier rewrites may have deleted blocks: look each one up again.
            let Some(bi) = self.blocks.iter().position(|b| b.index == index) else {
                continue;
            };
            if bi + 1 >= self.blocks.len() {
                continue;
            }
            if self.blocks[bi].live_msgs == 0 && self.tombstones_needed(bi).is_empty() {
                self.delete_block(bi)?;
            } else if self.blocks[bi].worth_compacting() {
                self.compact_block(bi)?;
            }
        }
        Ok(())
    }

    /// Tombstones of block `bi` whose target record is still in some other block file.
    pub(super) fn tombstones_needed(&self, bi: usize) -> Vec<u64> {
        self.blocks[bi]
            .tombstones
            .iter()
            .copied()
            .filter(|&t| self.target_on_disk(t, bi))
            .collect()
    }

    fn target_on_disk(&self, seq: u64, holder: usize) -> bool {
        self.blocks
            .iter()
            .enumerate()
            .any(|(i, b)| i != holder && b.slot(seq).is_some_and(|s| s.has_bytes()))
    }

    pub fn compact_block(&mut self, bi: usize) -> io::Result<()> {
        self.before_change()?;
        let needed = self.tombstones_needed(bi);
        let msgs_dir = self.msgs_dir.clone();
        let max_seq = self.blocks[bi].max_seq;
        let later_goes_as_far = self.blocks[bi + 1..].iter().any(|b| b.max_seq >= max_seq);
        self.blocks[bi].compact(&msgs_dir, |t| needed.contains(&t), !later_goes_as_far)?;
        let (index, floor) = (self.blocks[bi].index, self.blocks[bi].compact_floor);
        // Removed messages of this block are gone from disk: tombstones naming them in
        // other blocks are no longer needed, which may free those blocks.
        self.delete_freed_blocks()?;
        self.tombstones_may_be_stale();
        // This block's own floor stands: nothing changed for it.
        if let Some(blk) = self.blocks.iter_mut().find(|b| b.index == index) {
            blk.compact_floor = floor;
        }
        Ok(())
    }

    /// Deletes every older block left with no live message and no needed tombstone:
    /// records leaving the disk make the tombstones naming them unneeded, which may free
    /// the blocks holding those (and so on).
    fn delete_freed_blocks(&mut self) -> io::Result<()> {
        loop {
            let sealed = self.blocks.len().saturating_sub(1);
            let freed = (0..sealed)
                .find(|&i| self.blocks[i].live_msgs == 0 && self.tombstones_needed(i).is_empty());
            match freed {
                Some(i) => self.delete_one_block(i)?,
                None => return Ok(()),
            }
        }
    }

    /// Records left the disk: tombstones naming them elsewhere may no longer be needed,
    /// so a block compacted to no avail may be worth compacting again.
    fn tombstones_may_be_stale(&mut self) {
        for blk in &mut self.blocks {
            blk.compact_floor = None;
        }
    }

    /// Deletes an older block that holds nothing needed. The block may be the only record
    /// of the last sequence (tombstones of earlier ones went to a later block), so the
    /// last block is first made to remember it, durably. Blocks this frees (see
    /// [`Core::delete_freed_blocks`]) go too.
    fn delete_block(&mut self, bi: usize) -> io::Result<()> {
        self.delete_one_block(bi)?;
        self.delete_freed_blocks()
    }

    /// [`Core::delete_block`] without looking at the other blocks.
    fn delete_one_block(&mut self, bi: usize) -> io::Result<()> {
        self.before_change()?;
        let written = self.written;
        self.remember_last_seq(&|_| {})
            .map_err(|e| io::Error::other(e.to_string()))?;
        if self.written != written {
            self.take_sync_work().run()?;
        }
        let blk = self.blocks.remove(bi);
        fs::remove_file(&blk.path)?;
        self.tombstones_may_be_stale();
        block::sync_dir(&self.msgs_dir)
    }

    /// Makes sure the last block records `last_seq`, so that deleting older blocks does
    /// not forget how far sequences went.
    pub fn remember_last_seq(&mut self, synced: &dyn Fn(u64)) -> Result<(), StoreError> {
        if self
            .blocks
            .last()
            .is_some_and(|b| b.max_seq < self.last_seq)
            && self.last_seq > 0
        {
            let (seq, ts) = (self.last_seq, self.last_ts);
            let raw = if self.is_live(seq) {
                seq | ERASED_BIT
            } else {
                seq | TOMBSTONE_BIT
            };
            self.append_marker(raw, ts, synced)?;
        }
        Ok(())
    }

    /// Removes everything and starts over at `next_first` (purge, or compact past the
    /// end). Atomic on disk: the new block directory is built aside and swapped in.
    pub fn reset_to(&mut self, next_first: u64, synced: &dyn Fn(u64)) -> Result<u64, StoreError> {
        self.before_change().map_err(io_err)?;
        let purged = self.msgs;
        let next_index = self.next_index;
        self.next_index += 1;
        let remembered = next_first.saturating_sub(1);
        let parent = self
            .msgs_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let staging = parent.join(super::NEW_MSGS_DIR);
        let old = parent.join(super::PURGE_DIR);
        let staged = (|| -> io::Result<Block> {
            let _ = fs::remove_dir_all(&staging);
            fs::create_dir_all(&staging)?;
            let mut blk = Block::create(&staging, &self.name, next_index, &self.codec)?;
            let out = self.purge_marker(&blk, remembered);
            if !out.is_empty() {
                blk.append(&out)?;
                blk.note_seq(remembered, self.last_ts);
                blk.tombstones.push(remembered);
            }
            blk.handle()?.sync_all()?;
            block::sync_dir(&staging)?;
            Ok(blk)
        })();
        let mut blk = match staged {
            Ok(blk) => blk,
            // A purge is how a full disk gets room again: the new directory does not fit,
            // so the old blocks make room for what must stay, in place.
            Err(err) if is_out_of_space(&err) => {
                let _ = fs::remove_dir_all(&staging);
                self.next_index -= 1;
                return self.reset_in_place(remembered, synced);
            }
            Err(err) => return Err(io_err(err)),
        };
        fs::rename(&self.msgs_dir, &old).map_err(io_err)?;
        fs::rename(&staging, &self.msgs_dir).map_err(io_err)?;
        block::sync_dir(&parent).map_err(io_err)?;
        let _ = fs::remove_dir_all(&old);
        synced(self.written);
        blk.path = block::block_path(&self.msgs_dir, next_index);
        self.blocks = vec![blk];
        self.forget_messages(remembered);
        Ok(purged)
    }

    /// The record a purged store's only block starts with: the tombstone of the last
    /// sequence used (`remembered`), so that sequences go on after it; none when no
    /// sequence was used.
    fn purge_marker(&self, blk: &Block, remembered: u64) -> Vec<u8> {
        let mut out = Vec::new();
        if remembered > 0 {
            let raw_seq = remembered | TOMBSTONE_BIT;
            record::encode(&mut out, &blk.hasher, raw_seq, self.last_ts, b"", b"", b"");
        }
        out
    }

    /// The index after a purge: no messages, sequences go on after `remembered`.
    fn forget_messages(&mut self, remembered: u64) {
        self.msgs = 0;
        self.bytes = 0;
        self.subjects.clear();
        self.ttls.clear();
        self.clear_schedules();
        self.last_seq = self.last_seq.max(remembered);
        self.first_seq = self.last_seq + 1;
    }

    /// A purge without free space ([`Core::reset_to`] when its new directory does not
    /// fit): the older blocks are deleted, then the last one is overwritten with the one
    /// record that must stay, the tombstone of the last sequence. A crash part way brings
    /// back some purged messages (never loses an acknowledged one) and always keeps the
    /// last sequence: the older blocks go first while the last block still holds it, and
    /// the tombstone is written over the start of the last block before it is cut.
    pub(crate) fn reset_in_place(
        &mut self,
        remembered: u64,
        synced: &dyn Fn(u64),
    ) -> Result<u64, StoreError> {
        self.before_change().map_err(io_err)?;
        let purged = self.msgs;
        let Some(last) = self.blocks.len().checked_sub(1) else {
            return Err(StoreError::Other("purge: no block to reuse".to_string()));
        };
        if self.blocks[last].compressed {
            // Overwriting part of a compressed block would ruin all of it.
            return Err(StoreError::Other(
                "purge: out of space and the last block is compressed".to_string(),
            ));
        }
        for blk in &self.blocks[..last] {
            match fs::remove_file(&blk.path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(io_err(err)),
                _ => {}
            }
        }
        self.blocks.drain(..last);
        block::sync_dir(&self.msgs_dir).map_err(io_err)?;
        let out = self.purge_marker(&self.blocks[0], remembered);
        let (last_ts, lmb) = (self.last_ts, &mut self.blocks[0]);
        lmb.overwrite_with(&out).map_err(io_err)?;
        if remembered > 0 {
            lmb.note_seq(remembered, last_ts);
            lmb.tombstones.push(remembered);
        }
        synced(self.written);
        self.forget_messages(remembered);
        Ok(purged)
    }

    /// Re-reads and verifies every live message against the files (Go's `checkMsgs`).
    /// Messages whose records no longer verify are dropped from the index and returned
    /// as lost (and added to the recovery report).
    pub fn check_msgs(&mut self) -> LostStreamData {
        let mut lost = LostStreamData::default();
        let mut buf = Vec::new();
        let live: Vec<u64> = self.live_seqs_from(0).collect();
        for blk in &self.blocks {
            // Verify what is on disk now, not a copy decompressed earlier.
            blk.drop_cache();
        }
        for seq in live {
            let Some(bi) = self.block_of(seq) else {
                continue;
            };
            if self.blocks[bi].read_record(seq, &mut buf).is_ok() {
                continue;
            }
            // Best effort: a state that still lists these messages leads only to loads
            // that find the same damage again.
            let _ = self.before_change();
            if let Some((subject, len)) = self.blocks[bi].unindex(seq) {
                self.msgs -= 1;
                self.bytes -= len;
                self.unaccount_subject(&subject, seq);
                self.ttls.remove_seq(seq);
                self.forget_schedules([seq]);
                lost.msgs.push(seq);
                lost.bytes += len;
            }
        }
        if self.msgs == 0 {
            self.first_seq = self.last_seq + 1;
        } else if !self.is_live(self.first_seq) {
            self.first_seq = self
                .next_live_from(self.first_seq)
                .unwrap_or(self.last_seq + 1);
        }
        self.report.lost.msgs.extend(&lost.msgs);
        self.report.lost.bytes += lost.bytes;
        lost
    }

    /// Forgets everything, sequences included (truncate to 0): the blocks directory is
    /// swapped for an empty one, atomically.
    pub fn reset_all(&mut self, synced: &dyn Fn(u64)) -> Result<(), StoreError> {
        self.before_change().map_err(io_err)?;
        let parent = self
            .msgs_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let staging = parent.join(super::NEW_MSGS_DIR);
        let old = parent.join(super::PURGE_DIR);
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(io_err)?;
        block::sync_dir(&staging).map_err(io_err)?;
        fs::rename(&self.msgs_dir, &old).map_err(io_err)?;
        fs::rename(&staging, &self.msgs_dir).map_err(io_err)?;
        block::sync_dir(&parent).map_err(io_err)?;
        let _ = fs::remove_dir_all(&old);
        synced(self.written);
        self.blocks.clear();
        self.pending_sync.clear();
        self.msgs = 0;
        self.bytes = 0;
        self.subjects.clear();
        self.ttls.clear();
        self.clear_schedules();
        self.first_seq = 0;
        self.last_seq = 0;
        self.last_ts = 0;
        Ok(())
    }

    /// Saves the per-message TTLs (Go's `thw.db`): a TTL given by the caller rather than
    /// a `Nats-TTL` header is not in the records, so it is kept here across a clean stop.
    /// Each entry carries its message's timestamp and is only taken back for that same
    /// message.
    pub fn save_ttls(&self, dir: &Path) -> io::Result<()> {
        let path = dir.join(TTL_FILE);
        let Some(out) = self.encode_ttls() else {
            return match fs::remove_file(&path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            };
        };
        let tmp = dir.join(format!("{TTL_FILE}.tmp"));
        fs::write(&tmp, &out)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &path)
    }

    /// The TTL file's contents, `None` when no message has a TTL.
    pub fn encode_ttls(&self) -> Option<Vec<u8>> {
        if self.ttls.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(4 + self.ttls.len() * 24);
        out.extend_from_slice(TTL_MAGIC);
        for &(expires, seq) in &self.ttls {
            let ts = self.ts_of(seq).unwrap_or(0);
            out.extend_from_slice(&seq.to_le_bytes());
            out.extend_from_slice(&ts.to_le_bytes());
            out.extend_from_slice(&expires.to_le_bytes());
        }
        Some(out)
    }

    /// Takes back the TTLs saved by [`Core::save_ttls`] for messages still stored.
    pub fn load_ttls(&mut self, dir: &Path) {
        let Ok(raw) = fs::read(dir.join(TTL_FILE)) else {
            return;
        };
        let Some(body) = raw.strip_prefix(TTL_MAGIC.as_slice()) else {
            return;
        };
        for entry in body.chunks_exact(24) {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&entry[i * 8..i * 8 + 8]);
                b
            };
            let seq = u64::from_le_bytes(word(0));
            let ts = i64::from_le_bytes(word(1));
            let expires = i64::from_le_bytes(word(2));
            if self.ts_of(seq) == Some(ts) {
                self.ttls.insert((expires, seq));
            }
        }
    }

    /// Sequences that are used but have no message, between first and last.
    pub fn deleted(&self) -> Vec<u64> {
        let mut out = Vec::new();
        if self.msgs == 0 {
            return out;
        }
        let mut expect = self.first_seq;
        for seq in self.live_seqs_from(self.first_seq) {
            out.extend(expect..seq);
            expect = seq + 1;
        }
        out.extend(expect..=self.last_seq);
        out
    }

    /// Live messages stored at or before `cutoff` that the age limit removes: those that
    /// never expire are passed over, the first younger one ends the list.
    pub fn aged_out(&self, cutoff: i64) -> Vec<u64> {
        self.live_seqs_from(self.first_seq)
            .filter(|&s| !self.ttls.is_never(s))
            .take_while(|&s| self.ts_of(s).is_some_and(|ts| ts <= cutoff))
            .collect()
    }

    /// The timestamp of the first live message the age limit can remove (one that may
    /// expire); `None` when every message never expires.
    pub fn first_aging_ts(&self) -> Option<i64> {
        if self.msgs == 0 {
            return None;
        }
        self.live_seqs_from(self.first_seq)
            .find(|&s| !self.ttls.is_never(s))
            .and_then(|s| self.ts_of(s))
    }

    /// The first live sequence's timestamp.
    pub fn first_ts(&self) -> i64 {
        if self.msgs == 0 {
            return 0;
        }
        self.ts_of(self.first_seq).unwrap_or(0)
    }

    /// Total bytes of block files.
    pub fn disk_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.size).sum()
    }

    /// Removes every live message above `seq` (truncate). Blocks entirely above are
    /// deleted, the straddling one is rewritten; tombstones for lower sequences survive.
    pub fn truncate_above(&mut self, seq: u64, synced: &dyn Fn(u64)) -> Result<(), StoreError> {
        self.before_change().map_err(io_err)?;
        let doomed: Vec<u64> = self.live_seqs_from(seq + 1).collect();
        let last_ts = self.ts_of(seq).unwrap_or(self.last_ts);
        for s in doomed {
            if let Some(bi) = self.block_of(s) {
                if let Some((subject, len)) = self.blocks[bi].unindex(s) {
                    self.msgs -= 1;
                    self.bytes -= len;
                    self.unaccount_subject(&subject, s);
                }
            }
        }
        self.ttls.retain_seqs(|s| s <= seq);
        if let Some(sched) = &mut self.schedules {
            sched.retain_seqs(|s| s <= seq);
        }
        // Rewrite every block holding records above `seq`, keeping what is below.
        let msgs_dir = self.msgs_dir.clone();
        for bi in 0..self.blocks.len() {
            if self.blocks[bi].max_seq > seq {
                let blk = &mut self.blocks[bi];
                blk.tombstones.retain(|&t| t <= seq);
                blk.max_seq = blk.last_live().unwrap_or(0).min(seq);
                let keep: Vec<u64> = blk.tombstones.clone();
                blk.compact(&msgs_dir, |t| keep.contains(&t), true)
                    .map_err(io_err)?;
                // The block no longer spans the truncated sequences: deletes above `seq`
                // are not interior deletes any more.
                if blk.base_seq > seq {
                    blk.slots.clear();
                    blk.base_seq = 0;
                } else if !blk.slots.is_empty() {
                    blk.slots.truncate((seq - blk.base_seq + 1) as usize);
                }
            }
        }
        self.last_seq = seq;
        self.last_ts = last_ts;
        if self.msgs == 0 {
            self.first_seq = seq + 1;
        }
        self.remember_last_seq(synced)?;
        Ok(())
    }
}
