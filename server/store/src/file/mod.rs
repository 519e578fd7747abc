//! The file store: a stream's messages in checksummed block files on disk.
//!
//! # Layout and the decision on Go compatibility
//!
//! ```text
//! <store_dir>/msgs/<index>.blk   message blocks, index from 1, the highest is written
//! <store_dir>/msgs/index.db      the whole index, after a clean stop or a
//!                                `write_full_state` until the next change (state_file)
//! <store_dir>/msgs/sched.db      message schedules, after a clean stop only
//! ```
//!
//! **Decision: keep Go's record framing, not Go's checksum input.** Records have
//! nats-server's byte layout (see [`record`]): length, sequence, timestamp, subject,
//! headers, payload and a HighwayHash-64 keyed per block exactly as Go keys it, with Go's
//! erased and tombstone bits and Go's block file names. But Go's checksum does not cover
//! the subject and header length fields, so one flipped bit there re-splits a record into
//! a different subject/headers/payload that still verifies — a wrong message returned as
//! good. Correctness comes first, so natsd's checksum covers every byte of the record
//! (same key, same place, same size). Consequences: Go cannot verify blocks natsd wrote,
//! and natsd cannot yet open a Go stream directory (a one-time migration that verifies
//! Go's checksum plus sanity checks and rewrites the blocks is the planned path; not
//! done). natsd's `index.db` has Go's name and purpose, not Go's format (see
//! [`state_file`]).
//!
//! # Durability
//!
//! By default a store call returns only after its record is on stable storage: writers
//! append under the store lock, then wait in [`commit::GroupCommit`], where one of them
//! fsyncs the last block for everyone who wrote before the sync began. A block is synced
//! when it is sealed (rotation), a new block's directory entry is synced when created,
//! and compaction rewrites a block aside and renames it over the old one. Purge swaps the
//! whole `msgs` directory the same way (`__new_msgs__` → `msgs`, old one to `__msgs__`).
//! [`FileStoreConfig::sync_interval`] opts out: calls return after the write and a
//! background thread syncs every interval, so a crash may lose the last interval.
//! Deletes (tombstones) do not wait for a sync; a crash may bring back a message removed
//! just before it, never lose one that was acknowledged. As in Go, removals by limits
//! (max msgs/bytes/per subject, age) write no tombstone — recovery re-applies the
//! limits — and a removal that empties an older block deletes the block instead. A
//! per-message TTL removal does write one, as in Go (a caller-given TTL is not in the
//! record, so recovery could not re-apply it). So after
//! a crash a message removed by a limit can reappear if later deletes brought the stream
//! back under that limit (at-least-once, as with Go without its `index.db`).
//!
//! # Recovery
//!
//! After a clean stop the index is read from [`state_file`] — only if every block file
//! still has the length and times it had then — and the file is removed as it is read,
//! so it can never describe a store that changed since. One written while running
//! ([`FileStore::write_full_state`]) is removed before the next change for the same
//! reason. Otherwise (a crash, a block
//! changed or removed on disk) every block is scanned and every record verified; a stale
//! state file still says which messages went missing (reported as lost) and how far the
//! stream got (those sequences stay used).
//!
//! In a scan every record is verified. A record that fails (bad framing or
//! checksum) is skipped by searching forward for the next record that verifies; bytes
//! after the last valid record of a block (a torn write, a truncated file) are cut off.
//! Both are reported in [`RecoveryReport`] and in the stream state's `lost` field.
//! Loads verify the checksum again, so bit rot after open is an error, never a wrong
//! message.

pub mod block;
pub mod codec;
pub mod commit;
pub mod consumer;
mod convert;
pub mod core;
pub mod deletes;
pub mod meta_key;
pub mod record;
pub mod schedule;
pub mod snapshot;
pub mod state_file;
mod store_impl;
mod subject_index;
pub use self::store_impl::PendingDurable;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use self::codec::BlockCodec;
pub use self::codec::{js_key_gen, BlockCompression, KeyGen, StoreCipher};
use self::commit::GroupCommit;
use self::core::Core;
pub use self::core::{RecoveryReport, SubjectInfo};
pub use self::deletes::BlockDeletes;
pub use self::meta_key::StoreKeys;
use crate::store::{
    ProcessJetStreamMsgHandler, SharedClock, StorageRemoveMsgHandler, StorageUpdateHandler,
    StoreCompression, StoreError, StreamConfig,
};

/// Directory of the message blocks.
pub const MSGS_DIR: &str = "msgs";
/// Where a purge builds the new blocks directory before swapping it in.
pub const NEW_MSGS_DIR: &str = "__new_msgs__";
/// Where a purge moves the old blocks directory before removing it.
pub const PURGE_DIR: &str = "__msgs__";
/// Default block size (Go's large block).
pub const DEFAULT_BLOCK_SIZE: u64 = 8 * 1024 * 1024;
/// Smallest block size accepted.
pub const MIN_BLOCK_SIZE: u64 = 32 * 1000;
/// Largest block size accepted.
pub const MAX_BLOCK_SIZE: u64 = DEFAULT_BLOCK_SIZE;

/// Options of a file store (Go's `FileStoreConfig`).
#[derive(Clone)]
pub struct FileStoreConfig {
    /// The stream's directory.
    pub store_dir: PathBuf,
    /// Block file size; 0 picks one from the stream's limits.
    pub block_size: u64,
    /// `None` (the default): every store call returns after its record is synced (group
    /// commit). `Some(interval)`: return after the write and sync in the background every
    /// `interval` — faster, and a crash may lose what was written since the last sync.
    pub sync_interval: Option<Duration>,
    /// Encryption at rest; needs `prf`.
    pub cipher: StoreCipher,
    /// The server's key generator (see [`js_key_gen`]).
    pub prf: Option<KeyGen>,
    /// The previous server key's generator (Go's `prev_key`): what it sealed still
    /// opens, and is rewritten with `prf` when the store opens.
    pub old_prf: Option<KeyGen>,
}

impl std::fmt::Debug for FileStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStoreConfig")
            .field("store_dir", &self.store_dir)
            .field("block_size", &self.block_size)
            .field("sync_interval", &self.sync_interval)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl FileStoreConfig {
    pub fn new(store_dir: impl Into<PathBuf>) -> Self {
        FileStoreConfig {
            store_dir: store_dir.into(),
            block_size: 0,
            sync_interval: None,
            cipher: StoreCipher::None,
            prf: None,
            old_prf: None,
        }
    }

    /// Seals what the store writes with `keys` (and opens what the previous key sealed).
    pub fn set_keys(&mut self, keys: &StoreKeys) {
        self.cipher = keys.cipher;
        self.prf = Some(keys.prf.clone());
        self.old_prf = keys.old_prf.clone();
    }
}

/// Picks a block size for a stream, as Go does: big enough for the byte limit's quarter,
/// within bounds.
pub fn block_size_for(cfg: &StreamConfig, requested: u64) -> u64 {
    if requested > 0 {
        // Tests ask for tiny blocks to get many of them, as Go allows.
        return requested.min(MAX_BLOCK_SIZE);
    }
    if cfg.max_bytes > 0 {
        let quarter = (cfg.max_bytes as u64) / 4 + 1;
        let rounded = quarter.div_ceil(100) * 100;
        return rounded.clamp(MIN_BLOCK_SIZE, DEFAULT_BLOCK_SIZE);
    }
    DEFAULT_BLOCK_SIZE
}

/// How blocks of a store with these options are encoded.
fn codec_for(fcfg: &FileStoreConfig, cfg: &StreamConfig) -> Result<BlockCodec, StoreError> {
    if fcfg.cipher != StoreCipher::None && fcfg.prf.is_none() {
        return Err(StoreError::Other(
            "encryption requires a server key".to_string(),
        ));
    }
    Ok(BlockCodec {
        cipher: fcfg.cipher,
        // The stream asks for S2 as Go names it; blocks are compressed with LZ4.
        compression: match cfg.compression {
            StoreCompression::None => BlockCompression::None,
            StoreCompression::S2 => BlockCompression::Lz4,
        },
        prf: fcfg.prf.clone(),
        old_prf: fcfg.old_prf.clone(),
    })
}

/// Registered callbacks, called without the store lock held.
#[derive(Default)]
struct Callbacks {
    update: Option<StorageUpdateHandler>,
    remove: Option<StorageRemoveMsgHandler>,
    process: Option<ProcessJetStreamMsgHandler>,
}

/// What the lock guards.
struct Locked {
    core: Core,
    cfg: StreamConfig,
    closed: bool,
}

struct Shared {
    locked: Mutex<Locked>,
    commit: GroupCommit,
    durable: bool,
    dir: PathBuf,
    clock: SharedClock,
    callbacks: Mutex<Callbacks>,
    /// Wakes the background syncer early when the store stops.
    stopping: (Mutex<bool>, Condvar),
    /// Open consumer stores.
    consumers: Arc<self::consumer::OpenConsumers>,
    /// A snapshot is being written (one at a time, as in Go).
    snapshotting: std::sync::atomic::AtomicBool,
}

/// A stream store on disk. Cheap to share: all methods take `&self`.
pub struct FileStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.shared.dir)
            .field("durable", &self.shared.durable)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens the store in `fcfg.store_dir`, creating it if needed, and recovers its state
    /// from the blocks.
    pub fn open(
        fcfg: FileStoreConfig,
        cfg: StreamConfig,
        clock: SharedClock,
    ) -> Result<FileStore, StoreError> {
        if cfg.name.is_empty() {
            return Err(StoreError::Other("name required".to_string()));
        }
        if cfg.storage != crate::store::StorageType::File {
            return Err(StoreError::WrongType);
        }
        let dir = fcfg.store_dir.clone();
        if dir.join(snapshot::RESTORE_MARKER).exists() {
            return Err(StoreError::Other(format!(
                "{}: a restore into this directory did not complete",
                dir.display()
            )));
        }
        fs::create_dir_all(&dir)?;
        finish_interrupted_purge(&dir)?;
        let block_size = block_size_for(&cfg, fcfg.block_size);
        let codec = codec_for(&fcfg, &cfg)?;
        let mut key_rotated = false;
        if let (StoreCipher::ChaCha | StoreCipher::Aes, Some(prf)) = (fcfg.cipher, &fcfg.prf) {
            key_rotated = check_key(&dir, &cfg.name, prf, fcfg.old_prf.as_ref())?;
        }
        let mut core = Core::open(&cfg.name, &dir.join(MSGS_DIR), block_size, codec)?;
        core.load_ttls(&dir);
        if !cfg.allow_msg_ttl {
            // A scan of the blocks indexes every `Nats-TTL` header it meets; with TTLs off
            // (turned off since those were stored) nothing may expire by them.
            core.ttls = Default::default();
        }
        core.seal_blocks_with_current_key()?;
        if key_rotated {
            // Every block is under the current key now: only it may open the store.
            if let Some(prf) = &fcfg.prf {
                write_key_check(&dir, &cfg.name, prf)?;
            }
        }
        core.recover_schedules(cfg.allow_msg_schedules, clock.now_ns())?;
        if core.last_seq == 0 && cfg.first_seq > 1 {
            core.reset_to(cfg.first_seq, &|_| {})?;
        }
        let shared = Arc::new(Shared {
            locked: Mutex::new(Locked {
                core,
                cfg,
                closed: false,
            }),
            commit: GroupCommit::default(),
            durable: fcfg.sync_interval.is_none(),
            dir,
            clock,
            callbacks: Mutex::new(Callbacks::default()),
            stopping: (Mutex::new(false), Condvar::new()),
            consumers: Arc::default(),
            snapshotting: std::sync::atomic::AtomicBool::new(false),
        });
        if let Some(interval) = fcfg.sync_interval {
            let weak = Arc::downgrade(&shared);
            std::thread::Builder::new()
                .name("natsd-fs-sync".to_string())
                .spawn(move || background_sync(weak, interval))?;
        }
        let store = FileStore { shared };
        // Limits may have changed while closed.
        store.enforce_all_limits()?;
        store.expire_on_open()?;
        Ok(store)
    }

    /// The stream configuration the store runs with.
    pub fn config(&self) -> StreamConfig {
        self.lock().cfg.clone()
    }

    /// What recovery found damaged when the store was opened.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.lock().core.report.clone()
    }

    /// Writes now the state of every open consumer that changed since the flusher last
    /// wrote it (tests and benchmarks: the flusher otherwise writes within an interval).
    #[doc(hidden)]
    pub fn flush_consumer_states(&self) -> Result<(), StoreError> {
        self.shared.consumers.flush_all(false)
    }

    /// The keys the store encrypts with (`None`: in the clear), for the files kept
    /// beside it (`meta.inf`).
    pub fn at_rest_keys(&self) -> Option<StoreKeys> {
        let guard = self.lock();
        let codec = &guard.core.codec;
        match (codec.cipher, &codec.prf) {
            (StoreCipher::None, _) | (_, None) => None,
            (cipher, Some(prf)) => Some(StoreKeys {
                cipher,
                prf: prf.clone(),
                old_prf: codec.old_prf.clone(),
            }),
        }
    }

    /// The stream directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Indexes of the block files, oldest first.
    pub fn block_indexes(&self) -> Vec<u32> {
        self.lock().core.blocks.iter().map(|b| b.index).collect()
    }

    /// Verifies every stored message against the files; returns those that no longer
    /// verify (they are dropped). Go's `checkMsgs`.
    pub fn check_msgs(&self) -> crate::store::LostStreamData {
        self.lock().core.check_msgs()
    }

    /// The deleted sequences as blocks: deletes inside each block file and the runs
    /// between block files (Go's `deleteBlocks`).
    pub fn delete_blocks(&self) -> Vec<BlockDeletes> {
        self.lock().core.delete_blocks()
    }

    /// `(first, last)` of each block, oldest first, as Go's `mb.first.seq` and
    /// `mb.last.seq` (an empty block has `first == last + 1`).
    #[doc(hidden)]
    pub fn block_bounds(&self) -> Vec<(u64, u64)> {
        self.lock().core.block_bounds()
    }

    /// Bytes held in decompressed copies of blocks (Go's `cacheSize`).
    #[doc(hidden)]
    pub fn cache_size(&self) -> u64 {
        let locked = self.lock();
        locked
            .core
            .blocks
            .iter()
            .map(|b| {
                b.plain
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map_or(0, |p| p.len() as u64)
            })
            .sum()
    }

    /// Live messages in the block holding `seq` (Go's `selectMsgBlock(seq).msgs`).
    #[doc(hidden)]
    pub fn block_msgs_for(&self, seq: u64) -> Option<u64> {
        let locked = self.lock();
        let core = &locked.core;
        core.block_of(seq).map(|bi| core.blocks[bi].live_msgs)
    }

    /// Deleted sequences inside blocks, between each block's first live message and the
    /// last sequence recorded in it, skips included (Go's `dmapEntries`).
    #[doc(hidden)]
    pub fn dmap_entries(&self) -> usize {
        let locked = self.lock();
        locked
            .core
            .blocks
            .iter()
            .filter_map(|b| {
                let first = b.first_live()?;
                let skip = (first - b.base_seq) as usize;
                let in_slots = b.slots[skip..].iter().filter(|s| !s.is_live()).count();
                // Sequences past the last slot that a later record (a skip) used.
                let past_slots = b.max_seq.saturating_sub(b.slot_range().end - 1);
                Some(in_slots + past_slots as usize)
            })
            .sum()
    }

    /// The plaintext records of the block at `position` (Go's `mb.loadBlock`, decrypted
    /// and decompressed).
    #[doc(hidden)]
    pub fn block_plaintext(&self, position: usize) -> Result<Vec<u8>, StoreError> {
        let locked = self.lock();
        let b = locked
            .core
            .blocks
            .get(position)
            .ok_or_else(|| StoreError::Other("no such block".to_string()))?;
        Ok(b.read_plain()?.to_vec())
    }

    /// Whether the block at `position` is stored compressed.
    #[doc(hidden)]
    pub fn block_compressed(&self, position: usize) -> Option<bool> {
        Some(self.lock().core.blocks.get(position)?.compressed)
    }

    /// The highest sequence the block at `position` records, skips and tombstones
    /// included (Go's `mb.last.seq`).
    #[doc(hidden)]
    pub fn block_last_seq(&self, position: usize) -> Option<u64> {
        Some(self.lock().core.blocks.get(position)?.max_seq)
    }

    /// Rewrites the block at `position` (oldest first) with only what it still needs, as
    /// Go's `mb.compact()`.
    #[doc(hidden)]
    pub fn compact_block_at(&self, position: usize) -> Result<(), StoreError> {
        let mut locked = self.lock();
        if position >= locked.core.blocks.len() {
            return Err(StoreError::Other("no such block".to_string()));
        }
        locked.core.compact_block(position)?;
        Ok(())
    }

    /// `(first live seq, last live seq, bytes the block accounts for including its
    /// header, file path)` of the block at `position` (Go's `mb.first.seq`,
    /// `mb.last.seq`, `mb.rbytes`, `mb.mfn`).
    #[doc(hidden)]
    pub fn block_info(&self, position: usize) -> Option<(u64, u64, u64, PathBuf)> {
        let locked = self.lock();
        let b = locked.core.blocks.get(position)?;
        Some((
            b.first_live().unwrap_or(0),
            b.last_live().unwrap_or(0),
            b.header_len + b.size,
            b.path.clone(),
        ))
    }

    /// `(bytes in the file's records, bytes of live messages)` of the block at `position`
    /// (Go's `mb.rbytes`, `mb.bytes`).
    #[doc(hidden)]
    pub fn block_bytes(&self, position: usize) -> Option<(u64, u64)> {
        let locked = self.lock();
        let b = locked.core.blocks.get(position)?;
        Some((b.size, b.live_bytes))
    }

    /// Whether a delete in the block at `position` would now rewrite it (Go's
    /// `shouldCompactInline`); the last block is never rewritten that way.
    #[doc(hidden)]
    pub fn block_should_compact(&self, position: usize) -> Option<bool> {
        let locked = self.lock();
        let core = &locked.core;
        if position >= core.blocks.len() {
            return None;
        }
        Some(position + 1 < core.blocks.len() && core.should_compact(position))
    }

    /// Whether the periodic pass ([`FileStore::sync_now`]) would rewrite the block at
    /// `position` (Go's `shouldCompactSync`); never the last block.
    #[doc(hidden)]
    pub fn block_should_compact_sync(&self, position: usize) -> Option<bool> {
        let locked = self.lock();
        let core = &locked.core;
        (position < core.blocks.len()).then(|| core.should_compact_sync(position))
    }

    /// Whether compacting the block at `position` is held back because its last
    /// compaction reclaimed too little (Go's `noCompact`): see [`block::Block::compact_floor`].
    #[doc(hidden)]
    pub fn block_compaction_held(&self, position: usize) -> Option<bool> {
        Some(
            self.lock()
                .core
                .blocks
                .get(position)?
                .compact_floor
                .is_some(),
        )
    }

    /// Sequences the tombstones of the block at `position` delete, in the order they
    /// are recorded (Go's `mb.tombs()`).
    #[doc(hidden)]
    pub fn block_tombstone_seqs(&self, position: usize) -> Option<Vec<u64>> {
        Some(self.lock().core.blocks.get(position)?.tombstones.clone())
    }

    /// Makes the next write to the last block fail as a full disk would.
    #[doc(hidden)]
    pub fn fail_next_write(&self) {
        if let Some(b) = self.lock().core.blocks.last_mut() {
            b.fail_next_append = true;
        }
    }

    /// Paths of the block files, oldest first.
    #[doc(hidden)]
    pub fn block_paths(&self) -> Vec<PathBuf> {
        self.lock()
            .core
            .blocks
            .iter()
            .map(|b| b.path.clone())
            .collect()
    }

    /// Bytes of all block files.
    pub fn disk_bytes(&self) -> u64 {
        self.lock().core.disk_bytes()
    }

    /// Position (oldest first) of the block whose records cover `seq` (Go's
    /// `selectMsgBlockWithIndex`).
    #[doc(hidden)]
    pub fn block_position_for(&self, seq: u64) -> Option<usize> {
        self.lock().core.block_of(seq)
    }

    /// Seals the last block and starts a new one (Go's `newMsgBlockForWrite`).
    #[doc(hidden)]
    pub fn new_block_for_write(&self) -> Result<(), StoreError> {
        Ok(self.lock().core.rotate()?)
    }

    /// Whether a write is acknowledged only once it is on stable storage; false with
    /// `sync_interval` (Go's tests read `fcfg.AsyncFlush` for that).
    #[doc(hidden)]
    pub fn is_durable(&self) -> bool {
        self.shared.durable
    }

    /// Messages with a per-message TTL being tracked (Go's `mb.ttls` summed).
    #[doc(hidden)]
    pub fn ttl_count(&self) -> usize {
        self.lock().core.ttls.len()
    }

    /// Whether something written is not synced yet (Go's `lmb.needSync`).
    #[doc(hidden)]
    pub fn needs_sync(&self) -> bool {
        let written = self.lock().core.written;
        written > self.shared.commit.synced()
    }

    /// Syncs everything written so far, then rewrites older blocks that are mostly dead
    /// (Go's periodic `syncBlocks`). With `sync_interval` a background thread does this
    /// every interval; otherwise the owner calls it now and then (Go runs it every two
    /// minutes by default), since deletes rewrite only blocks bigger than 2 MiB at once.
    pub fn sync_now(&self) -> Result<(), StoreError> {
        let work = self.lock().core.take_sync_work();
        work.run()?;
        self.shared.commit.mark_synced(work.ticket);
        self.lock().core.compact_sealed()?;
        Ok(())
    }

    /// Records read from the block at `position` since the store was opened.
    #[doc(hidden)]
    pub fn block_reads(&self, position: usize) -> Option<u64> {
        let locked = self.lock();
        let b = locked.core.blocks.get(position)?;
        Some(b.reads.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// `(block position, record offset, record length, live)` of the slot of `seq`; the
    /// length is 0 when the block holds no record of it.
    #[doc(hidden)]
    pub fn slot_of(&self, seq: u64) -> Option<(usize, u64, u64, bool)> {
        let locked = self.lock();
        let core = &locked.core;
        let bi = core.block_of(seq)?;
        let s = core.blocks[bi].slot(seq)?;
        Some((bi, u64::from(s.offset), u64::from(s.len), s.is_live()))
    }

    /// `(tombstones, tombstones still needed)` of the block at `position`: a tombstone is
    /// needed while the record it deletes is still in another block file (Go's
    /// `numPriorTombs`).
    #[doc(hidden)]
    pub fn block_tombstones(&self, position: usize) -> Option<(usize, usize)> {
        let locked = self.lock();
        let core = &locked.core;
        let b = core.blocks.get(position)?;
        Some((b.tombstones.len(), core.tombstones_needed(position).len()))
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.shared
            .locked
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Waits until the record with `ticket` is durable (no-op with `sync_interval`).
    fn wait_durable(&self, ticket: u64) -> Result<(), StoreError> {
        if !self.shared.durable {
            return Ok(());
        }
        let shared = &self.shared;
        shared
            .commit
            .wait(ticket, || {
                let mut locked = shared
                    .locked
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                locked.core.take_sync_work()
            })
            .map_err(StoreError::from)
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        let (flag, wake) = &self.shared.stopping;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }
}

/// File holding a digest of the stream's key, to tell a wrong server key from damage.
pub const KEY_CHECK_FILE: &str = "natsd.keycheck";

/// Refuses a server key other than the one the store was created with; records it for a
/// new store.
fn key_digest(stream: &str, prf: &KeyGen) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(prf(format!("natsd-keycheck:{stream}").as_bytes())).to_vec()
}

/// Refuses a server key the store was not written with (a wrong key must fail clearly,
/// never read garbage). `Ok(true)`: the store is still under `old_prf`, the previous key,
/// and its files are to be rewritten with the current one.
fn check_key(
    dir: &Path,
    stream: &str,
    prf: &KeyGen,
    old_prf: Option<&KeyGen>,
) -> Result<bool, StoreError> {
    let path = dir.join(KEY_CHECK_FILE);
    match fs::read(&path) {
        Ok(stored) if stored == key_digest(stream, prf) => Ok(false),
        Ok(stored) if old_prf.is_some_and(|old| stored == key_digest(stream, old)) => Ok(true),
        Ok(_) => Err(StoreError::Other(
            "encryption key does not match the stream's key".to_string(),
        )),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            write_key_check(dir, stream, prf)?;
            Ok(false)
        }
        Err(err) => Err(err.into()),
    }
}

fn write_key_check(dir: &Path, stream: &str, prf: &KeyGen) -> io::Result<()> {
    let path = dir.join(KEY_CHECK_FILE);
    let tmp = dir.join(format!("{KEY_CHECK_FILE}.tmp"));
    fs::write(&tmp, key_digest(stream, prf))?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, &path)?;
    block::sync_dir(dir)
}

/// Completes or rolls back a purge interrupted by a crash: if the new directory was
/// swapped in, the old one is only garbage; if not, the old one is still the truth.
fn finish_interrupted_purge(dir: &Path) -> io::Result<()> {
    let msgs = dir.join(MSGS_DIR);
    let staged = dir.join(NEW_MSGS_DIR);
    let old = dir.join(PURGE_DIR);
    if !msgs.exists() && staged.exists() {
        fs::rename(&staged, &msgs)?;
    }
    if !msgs.exists() && old.exists() {
        fs::rename(&old, &msgs)?;
    }
    for leftover in [staged, old] {
        if leftover.exists() {
            fs::remove_dir_all(leftover)?;
        }
    }
    Ok(())
}

/// The `sync_interval` syncer: syncs the last block every interval until the store goes.
fn background_sync(shared: Weak<Shared>, interval: Duration) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        {
            let (flag, wake) = &strong.stopping;
            let guard = flag.lock().unwrap_or_else(|p| p.into_inner());
            if *guard {
                return;
            }
            let (guard, _) = wake
                .wait_timeout(guard, interval)
                .unwrap_or_else(|p| p.into_inner());
            if *guard {
                return;
            }
        }
        let work = {
            let mut locked = strong
                .locked
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if locked.closed {
                return;
            }
            locked.core.take_sync_work()
        };
        if work.run().is_ok() {
            strong.commit.mark_synced(work.ticket);
            // As `sync_now`: the periodic sync also rewrites mostly dead older blocks
            // (best effort; a failed rewrite leaves the block as it was).
            let mut locked = strong
                .locked
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if !locked.closed {
                let _ = locked.core.compact_sealed();
            }
        }
    }
}

#[cfg(test)]
mod tests;
