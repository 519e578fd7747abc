//! Snapshot and restore of a file store as a stream of bytes.
//!
//! # Format
//!
//! An LZ4 frame (with its content checksum) around a tar archive; Go uses S2 around a
//! tar, natsd does not promise Go's bytes. Entries, in order:
//!
//! ```text
//! natsd-snapshot          "natsd stream snapshot 1\nstream <name>\n"
//! msgs/<index>.blk        the block's plaintext records (decrypted, decompressed)
//! thw.db                  caller-given per-message TTLs, when there are any
//! obs/<name>/o.dat        each consumer's encoded state (with consumers)
//! natsd-snapshot.sum      "<sha256 hex> <size> <path>\n" for every entry above
//! ```
//!
//! As in Go, blocks go out as plaintext: a snapshot is portable to a server with another
//! key, and whoever holds it can read it. Restore encrypts again with the target store's
//! cipher. The closing digest list makes a truncated snapshot (which ends on an entry
//! boundary as easily as anywhere) or a changed byte a refused restore, never a store
//! with less in it.
//!
//! # Consistency
//!
//! Blocks are read one at a time under the store lock, oldest first, so stores and
//! removals may go on while the snapshot streams (as in Go). Every removal that is not
//! by a limit writes its tombstone into the last block, which is read last, so the
//! restored store holds each message stored before the snapshot began unless it was
//! removed before the last block was read.
//!
//! # Deadline
//!
//! Like Go's pipe with a write deadline: everything must be handed to the reader before
//! the deadline, or the snapshot fails and the reader gets an error (what was buffered
//! and not read yet is dropped: a partial snapshot is of no use).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::block::sync_dir;
use super::consumer::{CONSUMER_DIR, CONSUMER_STATE_FILE};
use super::core::TTL_FILE;
use super::{codec_for, FileStore, FileStoreConfig, MSGS_DIR};
use crate::store::{SharedClock, SnapshotResult, Store, StoreError, StreamConfig};

/// First entry: format and stream name.
pub const SNAPSHOT_HEADER: &str = "natsd-snapshot";
/// Last entry: the digest of every other entry.
pub const SNAPSHOT_SUMS: &str = "natsd-snapshot.sum";
/// Present in a store directory while a restore writes it; such a store does not open.
pub const RESTORE_MARKER: &str = "natsd-restore.incomplete";
const FORMAT_LINE: &str = "natsd stream snapshot 1";
/// Bytes buffered between the snapshot writer and its reader.
const PIPE_CAPACITY: usize = 256 * 1024;
/// Largest entry a restore accepts (a block holding one very large message).
const MAX_ENTRY: u64 = 256 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// The pipe between the snapshot thread and the reader
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Vec<u8>>,
    buffered: usize,
    /// The writer handed over everything.
    done: bool,
    /// Why the snapshot failed; the reader gets it as an error.
    failed: Option<String>,
    reader_gone: bool,
}

struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
    deadline: Option<Instant>,
}

impl Pipe {
    fn lock(&self) -> std::sync::MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a change, up to the deadline; false once the deadline has passed.
    fn wait<'a>(
        &self,
        guard: std::sync::MutexGuard<'a, PipeState>,
    ) -> (std::sync::MutexGuard<'a, PipeState>, bool) {
        match self.deadline {
            None => (
                self.changed.wait(guard).unwrap_or_else(|p| p.into_inner()),
                true,
            ),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return (guard, false);
                }
                let (guard, _) = self
                    .changed
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(|p| p.into_inner());
                (guard, true)
            }
        }
    }

    fn fail(&self, state: &mut PipeState, why: &str) {
        if state.failed.is_none() && !state.done {
            state.failed = Some(why.to_string());
        }
        state.chunks.clear();
        state.buffered = 0;
        self.changed.notify_all();
    }
}

/// The reading end handed to the caller. Dropping it stops the snapshot.
struct SnapshotReader {
    pipe: Arc<Pipe>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for SnapshotReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.current.len() {
            let mut state = self.pipe.lock();
            loop {
                // Past the deadline with data still to hand over, the snapshot has failed
                // even if the writer has not woken up to say so yet.
                if !state.done
                    && state.failed.is_none()
                    && self.pipe.deadline.is_some_and(|d| Instant::now() >= d)
                {
                    self.pipe.fail(&mut state, "deadline passed");
                }
                if let Some(why) = &state.failed {
                    return Err(io::Error::other(format!("snapshot failed: {why}")));
                }
                if let Some(chunk) = state.chunks.pop_front() {
                    state.buffered -= chunk.len();
                    self.pipe.changed.notify_all();
                    self.current = chunk;
                    self.pos = 0;
                    break;
                }
                if state.done {
                    return Ok(0);
                }
                // The reader waits without a deadline: the writer fails the pipe when
                // its deadline passes, which wakes this wait.
                state = self
                    .pipe
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for SnapshotReader {
    fn drop(&mut self) {
        let mut state = self.pipe.lock();
        state.reader_gone = true;
        self.pipe.fail(&mut state, "reader closed");
    }
}

/// An error of the writing end. Plain kinds only: lz4_flex's frame encoder panics when
/// converting an I/O error that carries a message of another type (lz4_flex 0.11.7,
/// `From<io::Error> for frame::Error`).
fn pipe_error(kind: io::ErrorKind) -> io::Error {
    io::Error::from(kind)
}

/// The writing end, used by the snapshot thread.
struct PipeWriter {
    pipe: Arc<Pipe>,
    /// The store, marked as no longer snapshotting before the reader sees the end (so a
    /// caller that read a snapshot to its end can start the next one at once).
    store: Arc<super::Shared>,
}

impl PipeWriter {
    /// Waits until the reader has taken everything, within the deadline.
    fn finish(&self) -> io::Result<()> {
        let mut state = self.pipe.lock();
        loop {
            if state.failed.is_some() || state.reader_gone {
                return Err(pipe_error(io::ErrorKind::BrokenPipe));
            }
            if state.buffered == 0 {
                self.store.snapshotting.store(false, Ordering::SeqCst);
                state.done = true;
                self.pipe.changed.notify_all();
                return Ok(());
            }
            let (next, in_time) = self.pipe.wait(state);
            state = next;
            if !in_time {
                self.pipe.fail(&mut state, "deadline passed");
                return Err(pipe_error(io::ErrorKind::TimedOut));
            }
        }
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let mut state = self.pipe.lock();
        loop {
            if state.failed.is_some() || state.reader_gone {
                return Err(pipe_error(io::ErrorKind::BrokenPipe));
            }
            if self.pipe.deadline.is_some_and(|d| Instant::now() >= d) {
                self.pipe.fail(&mut state, "deadline passed");
                return Err(pipe_error(io::ErrorKind::TimedOut));
            }
            if state.buffered < PIPE_CAPACITY {
                break;
            }
            let (next, _) = self.pipe.wait(state);
            state = next;
        }
        let n = data.len().min(PIPE_CAPACITY);
        state.chunks.push_back(data[..n].to_vec());
        state.buffered += n;
        self.pipe.changed.notify_all();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let mut state = self.pipe.lock();
        if !state.done {
            self.pipe.fail(&mut state, "snapshot writer stopped");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Taking a snapshot
// ---------------------------------------------------------------------------------------

/// Marks the store's snapshot finished when dropped.
struct ClearOnDrop(Arc<super::Shared>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.snapshotting.store(false, Ordering::SeqCst);
    }
}

/// Writes tar entries and remembers their digests for the closing list.
struct EntryWriter<W: Write> {
    tar: tar::Builder<W>,
    sums: String,
    mtime: u64,
}

impl<W: Write> EntryWriter<W> {
    fn add(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut header, path, data)?;
        if path != SNAPSHOT_SUMS {
            let digest = Sha256::digest(data);
            self.sums
                .push_str(&format!("{} {} {path}\n", hex(&digest), data.len()));
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FileStore {
    /// Starts a snapshot (see the module docs); Go's `Snapshot`.
    pub(super) fn start_snapshot(
        &self,
        deadline: Duration,
        include_consumers: bool,
        check_msgs: bool,
    ) -> Result<SnapshotResult, StoreError> {
        {
            let locked = self.lock();
            if locked.closed {
                return Err(StoreError::Closed);
            }
        }
        if include_consumers {
            // The snapshot reads the consumers' files: bring them up to date first.
            self.shared.consumers.flush_all(false)?;
        }
        if self
            .shared
            .snapshotting
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(StoreError::SnapshotInProgress);
        }
        let clear = || self.shared.snapshotting.store(false, Ordering::SeqCst);
        if check_msgs {
            let lost = self.check_msgs();
            if !lost.msgs.is_empty() {
                clear();
                return Err(StoreError::Other(format!(
                    "snapshot check detected {} bad messages",
                    lost.msgs.len()
                )));
            }
        }
        let state = self.fast_state();
        let pipe = Arc::new(Pipe {
            state: Mutex::new(PipeState::default()),
            changed: Condvar::new(),
            deadline: (!deadline.is_zero()).then(|| Instant::now() + deadline),
        });
        let writer = PipeWriter {
            pipe: pipe.clone(),
            store: self.shared.clone(),
        };
        let store = FileStore {
            shared: self.shared.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("natsd-fs-snapshot".to_string())
            .spawn(move || {
                // Cleared however the thread ends, a panic included.
                let _clear = ClearOnDrop(store.shared.clone());
                // A failure is already in the pipe for the reader to see.
                let _ = store.stream_snapshot(writer, include_consumers);
            });
        if let Err(err) = spawned {
            clear();
            return Err(err.into());
        }
        Ok(SnapshotResult {
            reader: Box::new(SnapshotReader {
                pipe,
                current: Vec::new(),
                pos: 0,
            }),
            state,
        })
    }

    /// Whether a snapshot is still being written (Go's `sips`).
    #[doc(hidden)]
    pub fn snapshot_in_progress(&self) -> bool {
        self.shared.snapshotting.load(Ordering::SeqCst)
    }

    fn stream_snapshot(&self, writer: PipeWriter, include_consumers: bool) -> io::Result<()> {
        let pipe = writer.pipe.clone();
        let result = self.write_entries(writer, include_consumers);
        if let Err(err) = &result {
            let mut state = pipe.lock();
            pipe.fail(&mut state, &err.to_string());
        }
        result
    }

    fn write_entries(&self, writer: PipeWriter, include_consumers: bool) -> io::Result<()> {
        let frame = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let encoder = lz4_flex::frame::FrameEncoder::with_frame_info(frame, writer);
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut out = EntryWriter {
            tar: tar::Builder::new(Fused {
                inner: encoder,
                failed: false,
            }),
            sums: String::new(),
            mtime,
        };
        let (name, indexes, codec) = {
            let locked = self.lock();
            let indexes: Vec<u32> = locked.core.blocks.iter().map(|b| b.index).collect();
            (locked.cfg.name.clone(), indexes, locked.core.codec.clone())
        };
        out.add(
            SNAPSHOT_HEADER,
            format!("{FORMAT_LINE}\nstream {name}\n").as_bytes(),
        )?;
        for index in indexes {
            // One block at a time under the lock; a block deleted since is skipped (it
            // held nothing needed any more).
            let plain = {
                let locked = self.lock();
                let Some(blk) = locked.core.blocks.iter().find(|b| b.index == index) else {
                    continue;
                };
                let plain = blk.read_plain()?;
                let end = (blk.size as usize).min(plain.len());
                let copy = plain[..end].to_vec();
                // The snapshot reads each block once: keeping every decompressed block
                // would hold the whole stream in memory.
                blk.drop_cache();
                copy
            };
            out.add(&format!("{MSGS_DIR}/{index}.blk"), &plain)?;
        }
        let ttls = self.lock().core.encode_ttls();
        if let Some(ttls) = ttls {
            out.add(TTL_FILE, &ttls)?;
        }
        if include_consumers {
            for (consumer, state) in read_consumer_states(&self.shared.dir, &name, &codec)? {
                out.add(
                    &format!("{CONSUMER_DIR}/{consumer}/{CONSUMER_STATE_FILE}"),
                    &state,
                )?;
            }
        }
        let sums = std::mem::take(&mut out.sums);
        out.add(SNAPSHOT_SUMS, sums.as_bytes())?;
        let encoder = out.tar.into_inner()?.inner;
        let writer = encoder
            .finish()
            .map_err(|e| io::Error::other(e.to_string()))?;
        writer.finish()
    }
}

/// Passes writes through until one fails, then refuses every later one without touching
/// the inner writer. The tar builder writes its trailer when dropped after an error, and
/// lz4_flex's frame encoder must not be written to after a failed write (its block
/// compressor asserts on the state such a write leaves).
struct Fused<W: Write> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Fused<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(pipe_error(io::ErrorKind::BrokenPipe));
        }
        let res = self.inner.write(data);
        self.failed = res.is_err();
        res
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(pipe_error(io::ErrorKind::BrokenPipe));
        }
        let res = self.inner.flush();
        self.failed = res.is_err();
        res
    }
}

/// Every consumer's plaintext state file, by consumer name.
fn read_consumer_states(
    stream_dir: &Path,
    stream: &str,
    codec: &super::codec::BlockCodec,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let dir = stream_dir.join(CONSUMER_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let raw = match fs::read(entry.path().join(CONSUMER_STATE_FILE)) {
            Ok(raw) => raw,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        if raw.is_empty() {
            continue;
        }
        let (_, plain) = codec.decode_block(&raw, &format!("{stream}/{name}"), 0)?;
        out.push((name, plain));
    }
    out.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Restoring
// ---------------------------------------------------------------------------------------

/// What a snapshot entry is, from its path; `None` for a path a snapshot never has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryKind {
    Header,
    Block(u32),
    Ttls,
    Consumer(String),
    Sums,
}

fn entry_kind(path: &str) -> Option<EntryKind> {
    match path {
        SNAPSHOT_HEADER => return Some(EntryKind::Header),
        SNAPSHOT_SUMS => return Some(EntryKind::Sums),
        TTL_FILE => return Some(EntryKind::Ttls),
        _ => {}
    }
    if let Some(file) = path.strip_prefix(&format!("{MSGS_DIR}/")) {
        let index = file.strip_suffix(".blk")?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return index.parse().ok().map(EntryKind::Block);
    }
    let rest = path.strip_prefix(&format!("{CONSUMER_DIR}/"))?;
    let name = rest.strip_suffix(&format!("/{CONSUMER_STATE_FILE}"))?;
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return None;
    }
    Some(EntryKind::Consumer(name.to_string()))
}

fn bad(why: impl Into<String>) -> StoreError {
    StoreError::Other(format!("invalid snapshot: {}", why.into()))
}

/// Parses the closing digest list: path → (size, sha256 hex).
fn parse_sums(text: &str) -> Result<HashMap<String, (u64, String)>, StoreError> {
    let mut sums = HashMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(digest), Some(size), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("malformed digest list"));
        };
        let size: u64 = size.parse().map_err(|_| bad("malformed digest list"))?;
        if sums
            .insert(path.to_string(), (size, digest.to_string()))
            .is_some()
        {
            return Err(bad("digest list names a file twice"));
        }
    }
    Ok(sums)
}

impl FileStore {
    /// Restores a snapshot taken by [`Store::snapshot`] into `fcfg.store_dir` (which
    /// must not exist or be empty) and opens it. Blocks and consumer states are
    /// encrypted with `fcfg`'s cipher. A snapshot that is truncated, altered, of another
    /// stream or not a snapshot at all is refused with an error and leaves nothing behind.
    pub fn restore(
        snapshot: impl Read,
        fcfg: FileStoreConfig,
        cfg: StreamConfig,
        clock: SharedClock,
    ) -> Result<FileStore, StoreError> {
        let dir = fcfg.store_dir.clone();
        let existed = dir.exists();
        if existed && fs::read_dir(&dir)?.next().is_some() {
            return Err(StoreError::Other(format!(
                "restore target {} is not empty",
                dir.display()
            )));
        }
        fs::create_dir_all(&dir)?;
        match restore_into(snapshot, &fcfg, &cfg, clock) {
            Ok(store) => Ok(store),
            Err(err) => {
                // Nothing of a refused snapshot stays.
                if existed {
                    if let Ok(entries) = fs::read_dir(&dir) {
                        for entry in entries.flatten() {
                            let path = entry.path();
                            let _ = if path.is_dir() {
                                fs::remove_dir_all(&path)
                            } else {
                                fs::remove_file(&path)
                            };
                        }
                    }
                } else {
                    let _ = fs::remove_dir_all(&dir);
                }
                Err(err)
            }
        }
    }
}

fn restore_into(
    snapshot: impl Read,
    fcfg: &FileStoreConfig,
    cfg: &StreamConfig,
    clock: SharedClock,
) -> Result<FileStore, StoreError> {
    let dir = fcfg.store_dir.clone();
    let marker = dir.join(RESTORE_MARKER);
    fs::write(&marker, b"")?;
    sync_dir(&dir)?;
    let codec = codec_for(fcfg, cfg)?;
    let msgs_dir = dir.join(MSGS_DIR);
    fs::create_dir_all(&msgs_dir)?;

    let decoder = lz4_flex::frame::FrameDecoder::new(FrameEnd::new(snapshot));
    let mut archive = tar::Archive::new(decoder);
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut sums = None;
    let mut header_seen = false;
    let mut written: Vec<PathBuf> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a snapshot: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        if sums.is_some() {
            return Err(bad("data after the digest list"));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad("entry is not a regular file"));
        }
        let path = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_str()
            .ok_or_else(|| bad("entry name is not UTF-8"))?
            .to_string();
        let kind = entry_kind(&path).ok_or_else(|| bad(format!("unexpected entry {path:?}")))?;
        if !header_seen && kind != EntryKind::Header {
            return Err(bad("missing header"));
        }
        let size = entry.header().size().map_err(|e| bad(e.to_string()))?;
        if size > MAX_ENTRY {
            return Err(bad(format!("entry {path:?} too large")));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_ENTRY + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("entry {path:?}: {e}")))?;
        if data.len() as u64 != size {
            return Err(bad(format!("entry {path:?} is truncated")));
        }
        if kind != EntryKind::Sums {
            let digest = hex(&Sha256::digest(&data));
            if seen.insert(path.clone(), (size, digest)).is_some() {
                return Err(bad(format!("entry {path:?} appears twice")));
            }
        }
        match kind {
            EntryKind::Header => {
                if header_seen {
                    return Err(bad("second header"));
                }
                header_seen = true;
                let text = std::str::from_utf8(&data).map_err(|_| bad("header"))?;
                let mut lines = text.lines();
                if lines.next() != Some(FORMAT_LINE) {
                    return Err(bad("unknown format"));
                }
                let stream = lines
                    .next()
                    .and_then(|l| l.strip_prefix("stream "))
                    .ok_or_else(|| bad("header names no stream"))?;
                if stream != cfg.name {
                    return Err(StoreError::Other(format!(
                        "snapshot is of stream {stream:?}, not {:?}",
                        cfg.name
                    )));
                }
            }
            EntryKind::Block(index) => {
                let (_, bytes) = codec.encode_block(&cfg.name, index, &data, false)?;
                let path = super::block::block_path(&msgs_dir, index);
                fs::write(&path, &bytes)?;
                written.push(path);
            }
            EntryKind::Ttls => {
                let path = dir.join(TTL_FILE);
                fs::write(&path, &data)?;
                written.push(path);
            }
            EntryKind::Consumer(name) => {
                let cdir = dir.join(CONSUMER_DIR).join(&name);
                fs::create_dir_all(&cdir)?;
                let context = format!("{}/{name}", cfg.name);
                let (_, bytes) = codec.encode_block(&context, 0, &data, false)?;
                let path = cdir.join(CONSUMER_STATE_FILE);
                fs::write(&path, &bytes)?;
                written.push(path);
            }
            EntryKind::Sums => {
                let text = std::str::from_utf8(&data).map_err(|_| bad("digest list"))?;
                sums = Some(parse_sums(text)?);
            }
        }
    }
    let sums = sums.ok_or_else(|| bad("truncated: no digest list"))?;
    if sums != seen {
        return Err(bad("contents do not match the digest list"));
    }
    // The LZ4 frame ends after the tar; reading it to the end checks its content
    // checksum.
    let mut decoder = archive.into_inner();
    io::copy(&mut decoder, &mut io::sink()).map_err(|e| bad(e.to_string()))?;
    // The decoder takes a stream that stops between two blocks for its end; a snapshot
    // is whole only with the frame's end mark (and content checksum).
    if !decoder.get_ref().complete() {
        return Err(bad("truncated: the compressed stream has no end"));
    }

    for path in &written {
        fs::File::open(path)?.sync_all()?;
    }
    sync_dir(&msgs_dir)?;
    let obs = dir.join(CONSUMER_DIR);
    if obs.exists() {
        for entry in fs::read_dir(&obs)?.flatten() {
            sync_dir(&entry.path())?;
        }
        sync_dir(&obs)?;
    }
    fs::remove_file(&marker)?;
    sync_dir(&dir)?;
    let store = FileStore::open(fcfg.clone(), cfg.clone(), clock)?;
    let report = store.recovery_report();
    if !report.is_clean() || !report.lost.msgs.is_empty() {
        let _ = store.stop();
        return Err(bad(format!("records do not verify: {report:?}")));
    }
    Ok(store)
}

/// Follows the LZ4 frame layout of the bytes read through it (header, blocks with their
/// optional checksums, end mark, content checksum) to tell whether the frame was read to
/// its end.
struct FrameEnd<R> {
    inner: R,
    /// Bytes of the part being read (header or block size) collected so far.
    part: Vec<u8>,
    /// Frame descriptor flags, once the header is read.
    flags: Option<u8>,
    /// Bytes to pass over before the next block size (block data and checksum).
    skip: u64,
    /// Bytes of the content checksum still to come after the end mark.
    trailer: Option<usize>,
    done: bool,
}

const LZ4_FLAG_BLOCK_CHECKSUM: u8 = 0x10;
const LZ4_FLAG_CONTENT_SIZE: u8 = 0x08;
const LZ4_FLAG_CONTENT_CHECKSUM: u8 = 0x04;
const LZ4_FLAG_DICT_ID: u8 = 0x01;

impl<R> FrameEnd<R> {
    fn new(inner: R) -> Self {
        FrameEnd {
            inner,
            part: Vec::with_capacity(16),
            flags: None,
            skip: 0,
            trailer: None,
            done: false,
        }
    }

    /// The frame's end mark (and content checksum, when the frame has one) went by.
    fn complete(&self) -> bool {
        self.done
    }

    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.done {
            if let Some(left) = self.trailer {
                let n = left.min(bytes.len());
                bytes = &bytes[n..];
                self.trailer = Some(left - n);
                self.done = left == n;
                continue;
            }
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[n..];
                self.skip -= n as u64;
                continue;
            }
            self.part.push(bytes[0]);
            bytes = &bytes[1..];
            match self.flags {
                None => {
                    // Magic (4), flags, block descriptor, optional fields, header checksum.
                    if self.part.len() < 6 {
                        continue;
                    }
                    let flg = self.part[4];
                    let mut len = 7;
                    if flg & LZ4_FLAG_CONTENT_SIZE != 0 {
                        len += 8;
                    }
                    if flg & LZ4_FLAG_DICT_ID != 0 {
                        len += 4;
                    }
                    if self.part.len() == len {
                        self.flags = Some(flg);
                        self.part.clear();
                    }
                }
                Some(flg) => {
                    if self.part.len() < 4 {
                        continue;
                    }
                    let size = u32::from_le_bytes([
                        self.part[0],
                        self.part[1],
                        self.part[2],
                        self.part[3],
                    ]);
                    self.part.clear();
                    if size == 0 {
                        if flg & LZ4_FLAG_CONTENT_CHECKSUM != 0 {
                            self.trailer = Some(4);
                        } else {
                            self.done = true;
                        }
                    } else {
                        self.skip = u64::from(size & 0x7FFF_FFFF);
                        if flg & LZ4_FLAG_BLOCK_CHECKSUM != 0 {
                            self.skip += 4;
                        }
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for FrameEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    #[test]
    fn frame_end_is_seen_only_at_the_end() {
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(
            lz4_flex::frame::FrameInfo::new().content_checksum(true),
            Vec::new(),
        );
        enc.write_all(&[7u8; 200_000]).unwrap();
        let frame = enc.finish().unwrap();
        for cut in [frame.len() - 8, frame.len() - 4, frame.len() - 1] {
            let mut f = FrameEnd::new(&frame[..cut]);
            io::copy(&mut f, &mut io::sink()).unwrap();
            assert!(!f.complete(), "cut at {cut} of {}", frame.len());
        }
        let mut f = FrameEnd::new(&frame[..]);
        io::copy(&mut f, &mut io::sink()).unwrap();
        assert!(f.complete());
    }

    #[test]
    fn entry_paths_are_only_what_a_snapshot_writes() {
        assert_eq!(entry_kind("msgs/12.blk"), Some(EntryKind::Block(12)));
        assert_eq!(
            entry_kind("obs/dur/o.dat"),
            Some(EntryKind::Consumer("dur".to_string()))
        );
        for bad in [
            "msgs/../x.blk",
            "msgs/+1.blk",
            "msgs/.blk",
            "/etc/passwd",
            "obs/../o.dat",
            "obs/a/b/o.dat",
            "obs//o.dat",
            "msgs/1.blk/x",
        ] {
            assert_eq!(entry_kind(bad), None, "{bad}");
        }
    }
}
