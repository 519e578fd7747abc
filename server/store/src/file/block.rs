//! One block file (`msgs/<index>.blk`) and the in-memory index of what it holds.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::codec::{self, BlockCodec, BodyKey};
use super::record::{self, BlockHasher, Record, RecordKind, ERASED_BIT, TOMBSTONE_BIT};

/// Where one sequence of this block is.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Offset of the record in the block file.
    pub offset: u32,
    /// Record length; 0 when the sequence has no record bytes here (a gap, or reclaimed).
    pub len: u32,
    pub ts: i64,
    /// Subject of a live message; `None` once removed.
    pub subject: Option<Arc<str>>,
}

impl Slot {
    pub fn is_live(&self) -> bool {
        self.subject.is_some()
    }

    /// The record of this sequence is still in the file (live or removed but not reclaimed).
    pub fn has_bytes(&self) -> bool {
        self.len > 0
    }

    fn gap() -> Self {
        Slot {
            offset: 0,
            len: 0,
            ts: 0,
            subject: None,
        }
    }
}

/// A block: its file and index.
#[derive(Debug)]
pub struct Block {
    pub index: u32,
    pub path: PathBuf,
    /// Open handle of the last block; older blocks are opened per use so that a
    /// stream with many blocks does not hold a descriptor for each.
    pub file: Option<Arc<File>>,
    pub hasher: BlockHasher,
    /// Bytes of valid records in the file; the next record is written here.
    pub size: u64,
    /// Sequence of `slots[0]`.
    pub base_seq: u64,
    /// One slot per sequence from `base_seq` to the last message sequence written here.
    pub slots: Vec<Slot>,
    pub live_msgs: u64,
    /// Record bytes of live messages (what byte limits count).
    pub live_bytes: u64,
    /// Targets of the tombstones written in this block.
    pub tombstones: Vec<u64>,
    /// Highest sequence any record here names (message, erased or tombstone).
    pub max_seq: u64,
    /// Timestamp of the record with `max_seq`.
    pub max_seq_ts: i64,
    /// Bytes of the file header before the records (0 for a bare block).
    pub header_len: u64,
    /// Key stream of an encrypted body.
    pub key: Option<BodyKey>,
    /// The body is compressed (a sealed block); reads go through `plain`.
    pub compressed: bool,
    /// Decompressed records of a compressed block, kept while it is being read.
    pub plain: Mutex<Option<Arc<Vec<u8>>>>,
    pub codec: BlockCodec,
    pub stream: Arc<str>,
    /// Test hook: the next append fails as a full disk would (Go's `mockWriteErr`).
    pub fail_next_append: bool,
    /// Live bytes when a compaction last left the block still mostly dead (its
    /// tombstones were needed): it is not compacted again until its live bytes have
    /// halved since, so that deletes do not rewrite it each time (Go's `cbytes`).
    pub compact_floor: Option<u64>,
    /// Records read from this block since it was opened (Go's `lsts` tells the same:
    /// whether a lookup touched the block).
    pub reads: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for BlockHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockHasher")
    }
}

/// Path of block `index` under `msgs_dir`.
pub fn block_path(msgs_dir: &Path, index: u32) -> PathBuf {
    msgs_dir.join(format!("{index}.blk"))
}

impl Block {
    /// Creates an empty block file, header included. Neither the file nor its directory
    /// entry is synced here: the first group commit that covers a record of this block
    /// syncs both, and recovery recreates a last block whose header was torn.
    pub fn create(
        msgs_dir: &Path,
        stream: &str,
        index: u32,
        codec: &BlockCodec,
    ) -> io::Result<Block> {
        let path = block_path(msgs_dir, index);
        let (header, bytes) = codec.encode_block(stream, index, &[], false)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        file.write_all_at(&bytes, 0)?;
        let mut blk = Block::with_file(index, path, file, stream, codec);
        blk.set_header(header);
        Ok(blk)
    }

    pub fn with_file(
        index: u32,
        path: PathBuf,
        file: File,
        stream: &str,
        codec: &BlockCodec,
    ) -> Block {
        Block {
            index,
            path,
            file: Some(Arc::new(file)),
            hasher: BlockHasher::new(stream, index),
            size: 0,
            base_seq: 0,
            slots: Vec::new(),
            live_msgs: 0,
            live_bytes: 0,
            tombstones: Vec::new(),
            max_seq: 0,
            max_seq_ts: 0,
            header_len: 0,
            key: None,
            compressed: false,
            plain: Mutex::new(None),
            codec: codec.clone(),
            stream: Arc::from(stream),
            fail_next_append: false,
            compact_floor: None,
            reads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The file, from the kept handle or opened for this use.
    pub fn handle(&self) -> io::Result<Arc<File>> {
        match &self.file {
            Some(file) => Ok(file.clone()),
            None => Ok(Arc::new(
                OpenOptions::new().read(true).write(true).open(&self.path)?,
            )),
        }
    }

    /// Stops keeping the file open (a sealed block).
    pub fn release_handle(&mut self) {
        self.file = None;
    }

    pub fn set_header(&mut self, header: codec::BlockHeader) {
        self.header_len = header.len;
        self.key = header.key;
        self.compressed = header.compressed;
        *self.plain.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Drops the decompressed copy of a compressed block.
    pub fn drop_cache(&self) {
        *self.plain.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The plaintext records of the whole block.
    pub fn read_plain(&self) -> io::Result<Arc<Vec<u8>>> {
        let mut cache = self.plain.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plain) = cache.as_ref() {
            return Ok(plain.clone());
        }
        let raw = fs::read(&self.path)?;
        let (_, plain) = self.codec.decode_block(&raw, &self.stream, self.index)?;
        let plain = Arc::new(plain);
        if self.compressed {
            *cache = Some(plain.clone());
        }
        Ok(plain)
    }

    /// First sequence with a live message here.
    pub fn first_live(&self) -> Option<u64> {
        self.slots
            .iter()
            .position(Slot::is_live)
            .map(|i| self.base_seq + i as u64)
    }

    /// Last sequence with a live message here.
    pub fn last_live(&self) -> Option<u64> {
        self.slots
            .iter()
            .rposition(Slot::is_live)
            .map(|i| self.base_seq + i as u64)
    }

    /// Sequence range of the slots (empty when there are none).
    pub fn slot_range(&self) -> std::ops::Range<u64> {
        self.base_seq..self.base_seq + self.slots.len() as u64
    }

    pub fn slot(&self, seq: u64) -> Option<&Slot> {
        let i = seq.checked_sub(self.base_seq)?;
        self.slots.get(usize::try_from(i).ok()?)
    }

    pub fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        let i = seq.checked_sub(self.base_seq)?;
        self.slots.get_mut(usize::try_from(i).ok()?)
    }

    /// Indexes a message record found at `offset`. Sequences must rise within a block;
    /// a repeated or lower sequence is ignored.
    pub fn index_message(&mut self, seq: u64, ts: i64, offset: u64, len: usize, subject: Arc<str>) {
        if self.slots.is_empty() {
            self.base_seq = seq;
        } else if seq < self.slot_range().end {
            return;
        }
        while self.slot_range().end < seq {
            self.slots.push(Slot::gap());
        }
        self.slots.push(Slot {
            offset: offset as u32,
            len: len as u32,
            ts,
            subject: Some(subject),
        });
        self.live_msgs += 1;
        self.live_bytes += len as u64;
        self.note_seq(seq, ts);
    }

    pub fn note_seq(&mut self, seq: u64, ts: i64) {
        if seq >= self.max_seq {
            self.max_seq = seq;
            self.max_seq_ts = ts;
        }
    }

    /// Marks a live message removed in the index. Returns its subject and record length.
    pub fn unindex(&mut self, seq: u64) -> Option<(Arc<str>, u64)> {
        let slot = self.slot_mut(seq)?;
        let subject = slot.subject.take()?;
        let len = u64::from(slot.len);
        self.live_msgs -= 1;
        self.live_bytes -= len;
        Some((subject, len))
    }

    /// Appends already-encoded records at the end of the file.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if std::mem::take(&mut self.fail_next_append) {
            return Err(io::Error::other("mock write error"));
        }
        let at = self.size;
        let file_at = self.header_len + at;
        let res = match &self.key {
            Some(key) => {
                let mut sealed = bytes.to_vec();
                key.apply(at, &mut sealed);
                self.handle()?.write_all_at(&sealed, file_at)
            }
            None => self.handle()?.write_all_at(bytes, file_at),
        };
        if let Err(err) = res {
            // Do not leave a partial record where the next one would follow it.
            let _ = self.handle()?.set_len(file_at);
            return Err(err);
        }
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Replaces every record of this uncompressed block with `record` (may be empty), in
    /// place, needing no free space: `record` is written over the start of the body and
    /// synced, then the file is cut after it and synced. A crash between the two leaves
    /// `record` followed by what is left of the old records, which a scan still reads.
    pub fn overwrite_with(&mut self, record: &[u8]) -> io::Result<()> {
        let file = self.handle()?;
        if !record.is_empty() {
            let mut sealed = record.to_vec();
            if let Some(key) = &self.key {
                key.apply(0, &mut sealed);
            }
            file.write_all_at(&sealed, self.header_len)?;
            file.sync_data()?;
        }
        file.set_len(self.header_len + record.len() as u64)?;
        file.sync_data()?;
        self.size = record.len() as u64;
        self.slots.clear();
        self.base_seq = 0;
        self.live_msgs = 0;
        self.live_bytes = 0;
        self.tombstones.clear();
        self.drop_cache();
        Ok(())
    }

    /// Reads and verifies the record of `seq`; `buf` receives the record bytes.
    pub fn read_record<'b>(&self, seq: u64, buf: &'b mut Vec<u8>) -> io::Result<Record<'b>> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = self
            .slot(seq)
            .filter(|s| s.has_bytes())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no record"))?;
        let (offset, len) = (u64::from(slot.offset), slot.len as usize);
        if self.compressed {
            let plain = self.read_plain()?;
            let bytes = plain
                .get(offset as usize..offset as usize + len)
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "record past block end")
                })?;
            buf.clear();
            buf.extend_from_slice(bytes);
        } else {
            buf.resize(len, 0);
            self.handle()?
                .read_exact_at(buf, self.header_len + offset)?;
            if let Some(key) = &self.key {
                key.apply(offset, buf);
            }
        }
        let rec = record::decode(buf, &self.hasher).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("block {} seq {seq}: {e:?}", self.index),
            )
        })?;
        if rec.seq != seq || rec.kind != RecordKind::Message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "block {} seq {seq}: record names seq {}",
                    self.index, rec.seq
                ),
            ));
        }
        Ok(rec)
    }

    /// Overwrites the record of `seq` in place with an erased record of the same length
    /// whose payload is random-looking filler, and syncs it.
    /// A compressed block cannot be patched in place: the caller rewrites it instead.
    pub fn erase_in_place(&self, seq: u64) -> io::Result<()> {
        let Some(slot) = self.slot(seq).filter(|s| s.has_bytes()) else {
            return Ok(());
        };
        if self.compressed {
            return Ok(());
        }
        let len = slot.len as usize;
        let payload_len = len - record::EMPTY_RECORD_LEN;
        let mut filler = vec![0u8; payload_len];
        codec::fill_random(&mut filler)?;
        let mut out = Vec::with_capacity(len);
        record::encode(
            &mut out,
            &self.hasher,
            seq | ERASED_BIT,
            // Like Go, an erased record keeps no trace of when the message was stored.
            0,
            b"",
            b"",
            &filler,
        );
        if let Some(key) = &self.key {
            key.apply(u64::from(slot.offset), &mut out);
        }
        let file = self.handle()?;
        file.write_all_at(&out, self.header_len + u64::from(slot.offset))?;
        file.sync_data()
    }

    /// Rewrites the file with only live messages and the tombstones `keep_tombstone`
    /// accepts, atomically (write aside, sync, rename, sync directory). A record of the
    /// block's highest sequence is kept as an erased marker when its message is gone and
    /// `keep_max_marker` (no later block records as high a sequence), so the store still
    /// remembers how far sequences went. Afterwards the index describes the new file
    /// exactly as a scan of it would: slots end at the last live message and `max_seq` is
    /// the highest sequence a kept record names (Go's compaction lowers `mb.last` the same
    /// way), so memory and disk agree before and after a restart.
    pub fn compact(
        &mut self,
        msgs_dir: &Path,
        keep_tombstone: impl Fn(u64) -> bool,
        keep_max_marker: bool,
    ) -> io::Result<()> {
        let mut out = Vec::with_capacity(self.live_bytes as usize + 64);
        let mut buf = Vec::new();
        let mut new_slots = Vec::with_capacity(self.slots.len());
        let mut first_kept = None;
        for i in 0..self.slots.len() {
            let seq = self.base_seq + i as u64;
            let slot = &self.slots[i];
            if !slot.is_live() {
                if first_kept.is_some() {
                    new_slots.push(Slot::gap());
                }
                continue;
            }
            let rec = self.read_record(seq, &mut buf)?;
            let offset = out.len();
            record::encode(
                &mut out,
                &self.hasher,
                seq,
                rec.ts,
                rec.subject,
                rec.headers,
                rec.payload,
            );
            first_kept.get_or_insert(seq);
            new_slots.push(Slot {
                offset: offset as u32,
                len: (out.len() - offset) as u32,
                ts: slot.ts,
                subject: slot.subject.clone(),
            });
        }
        // Trailing removed slots stay: the block still spans up to its last message.
        let tombstones: Vec<u64> = self
            .tombstones
            .iter()
            .copied()
            .filter(|&t| keep_tombstone(t))
            .collect();
        for &t in &tombstones {
            // A tombstone of the block's highest sequence keeps its time: recovery may
            // take the stream's last time from it.
            let ts = if t == self.max_seq {
                self.max_seq_ts
            } else {
                0
            };
            record::encode(&mut out, &self.hasher, t | TOMBSTONE_BIT, ts, b"", b"", b"");
        }
        let last_live = self.last_live();
        let marker = keep_max_marker
            && self.max_seq > 0
            && last_live != Some(self.max_seq)
            && !tombstones.contains(&self.max_seq);
        if marker {
            record::encode(
                &mut out,
                &self.hasher,
                self.max_seq | ERASED_BIT,
                self.max_seq_ts,
                b"",
                b"",
                b"",
            );
        }
        self.replace_file(msgs_dir, &out, self.compressed)?;
        self.size = out.len() as u64;
        self.base_seq = first_kept.unwrap_or(0);
        // Removed slots past the last live message name no record any more.
        while new_slots.last().is_some_and(|s| !s.is_live()) {
            new_slots.pop();
        }
        self.slots = new_slots;
        let names_max =
            marker || last_live == Some(self.max_seq) || tombstones.contains(&self.max_seq);
        if !names_max {
            // The highest sequence the new file names: its last message, or a kept
            // tombstone (written without a time), or none (0, an empty file).
            let last = last_live.map(|seq| (seq, self.slot(seq).map_or(0, |s| s.ts)));
            let tomb = tombstones.iter().max().map(|&seq| (seq, 0));
            let (seq, ts) = last.max(tomb).unwrap_or((0, 0));
            self.max_seq = seq;
            self.max_seq_ts = ts;
        }
        self.tombstones = tombstones;
        self.compact_floor = self.mostly_dead().then_some(self.live_bytes);
        Ok(())
    }

    /// Writes `plain` as this block's new file (fresh key, compressed if asked) aside,
    /// then renames it over the old one.
    pub(crate) fn replace_file(
        &mut self,
        msgs_dir: &Path,
        plain: &[u8],
        compress: bool,
    ) -> io::Result<()> {
        let (header, bytes) = self
            .codec
            .encode_block(&self.stream, self.index, plain, compress)?;
        let tmp = self.path.with_extension("new");
        {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            file.write_all_at(&bytes, 0)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        sync_dir(msgs_dir)?;
        // Only the last block keeps its file open.
        if self.file.is_some() {
            let file = OpenOptions::new().read(true).write(true).open(&self.path)?;
            self.file = Some(Arc::new(file));
        }
        self.set_header(header);
        Ok(())
    }

    /// Compresses a block that will not be appended to any more (no-op without
    /// compression).
    pub fn seal(&mut self, msgs_dir: &Path) -> io::Result<()> {
        if self.compressed || self.codec.compression == codec::BlockCompression::None {
            return Ok(());
        }
        let plain = self.read_plain()?;
        let plain = plain[..self.size as usize].to_vec();
        self.replace_file(msgs_dir, &plain, true)
    }

    /// Bytes in the file that no live message or needed record uses.
    pub fn reclaimable(&self) -> u64 {
        self.size.saturating_sub(self.live_bytes)
    }

    /// Whether more than half of the file is not live messages.
    pub fn mostly_dead(&self) -> bool {
        self.reclaimable() > self.size / 2
    }

    /// Whether a compaction may pay off: mostly dead, and not just compacted to no avail
    /// (see [`Block::compact_floor`]).
    pub fn worth_compacting(&self) -> bool {
        self.mostly_dead() && self.compact_floor.is_none_or(|f| self.live_bytes * 2 < f)
    }
}

/// Makes changes to a directory's entries durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
