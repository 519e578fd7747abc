//! Consumer state of a file stream: `obs/<name>/o.dat` holds the encoded state (Go's
//! binary layout, encrypted like the blocks when the store is).
//!
//! The state machine itself is the memory store's consumer store, so reads of the state
//! are always exact. Writing it back is coalesced as in Go: deliveries, acks and state
//! updates mark it dirty and wake the background flusher ([`flush`]), which writes at
//! most once per [`STATE_FLUSH_INTERVAL`]; starting sequences, resets and forced updates
//! are written at once, and `stop` writes and fsyncs. Every write goes to a side file
//! renamed over the state file, so a reader never sees half a state.
//!
//! Crash semantics: after a crash the file holds the state as of a write at most about
//! one interval old (never a state that did not happen); deliveries and acknowledgements
//! after it are lost, so those messages are redelivered — at-least-once, as in Go.

mod flush;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::flush::{FlushStep, Flusher, Schedule};
pub use self::flush::{OpenConsumers, STATE_FLUSH_INTERVAL};
use super::block::sync_dir;
use super::codec::{BlockCodec, StoreCipher};
use crate::mem::MemStore;
use crate::store::{
    decode_consumer_state, ConsumerConfig, ConsumerState, ConsumerStore, SharedClock, StorageType,
    Store, StoreError, StreamConfig,
};

/// Directory of the consumers of a stream.
pub const CONSUMER_DIR: &str = "obs";
/// A consumer's state file.
pub const CONSUMER_STATE_FILE: &str = "o.dat";

/// A consumer's state and its file; shared with the flusher (which holds it weakly).
struct StateFile {
    inner: Arc<dyn ConsumerStore>,
    dir: PathBuf,
    codec: BlockCodec,
    context: String,
    /// Serialises writes of the file, and removal of the directory against them.
    io: Mutex<()>,
    schedule: Mutex<Schedule>,
    /// Signalled whenever the schedule may have become settled.
    settled: Condvar,
    /// Writes of the state file so far.
    writes: AtomicU64,
}

impl StateFile {
    fn path(&self) -> PathBuf {
        self.dir.join(CONSUMER_STATE_FILE)
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn io(&self) -> MutexGuard<'_, ()> {
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.schedule().closed
    }

    /// The saved state, and whether its file is to be rewritten under the store's current
    /// key and cipher (written in the clear before the store had a key, or sealed with
    /// the previous key or another cipher).
    fn read_state(&self) -> Result<Option<(ConsumerState, bool)>, StoreError> {
        let raw = match fs::read(self.path()) {
            Ok(raw) => raw,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        if raw.is_empty() {
            return Ok(None);
        }
        let (header, plain) = self.codec.decode_block(&raw, &self.context, 0)?;
        let reseal = self.codec.cipher != StoreCipher::None
            && header.key.as_ref().is_none_or(|key| key.is_stale());
        Ok(Some((decode_consumer_state(&plain)?, reseal)))
    }

    /// Records a change and makes sure the flusher will write it.
    fn changed(self: &Arc<Self>) -> Result<(), StoreError> {
        let due = {
            let mut schedule = self.schedule();
            if schedule.closed {
                return Err(StoreError::Closed);
            }
            schedule.changed(Instant::now())
        };
        match (due, Flusher::get()) {
            (Some(at), Some(flusher)) => flusher.queue(at, Arc::downgrade(self)),
            // No flusher thread: write now, as every change was before coalescing.
            (Some(_), None) => {
                let _io = self.io();
                let result = self.write_locked(false);
                self.schedule().queued = false;
                self.settled.notify_all();
                result?;
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// The flusher's visit.
    fn flush_due(self: &Arc<Self>, flusher: &Flusher) {
        let step = self.schedule().due(Instant::now());
        match step {
            FlushStep::Idle => self.settled.notify_all(),
            FlushStep::Later(at) => flusher.queue(at, Arc::downgrade(self)),
            FlushStep::Write => {
                let ok = {
                    let _io = self.io();
                    self.write_locked(false).is_ok()
                };
                let again = self.schedule().after_flush(Instant::now(), ok);
                match again {
                    Some(at) => flusher.queue(at, Arc::downgrade(self)),
                    None => self.settled.notify_all(),
                }
            }
        }
    }

    /// Writes the state now if it changed since the last write (`sync`: and fsyncs the
    /// file, written or not).
    fn flush_now(&self, sync: bool) -> Result<(), StoreError> {
        let _io = self.io();
        let dirty = self.schedule().dirty;
        if dirty || sync {
            self.write_locked(sync)?;
        }
        self.settled.notify_all();
        Ok(())
    }

    /// Writes the state aside and renames it over the state file; the caller holds `io`.
    /// Nothing is written once closed: a deleted consumer's directory must stay gone.
    fn write_locked(&self, sync: bool) -> Result<(), StoreError> {
        {
            let mut schedule = self.schedule();
            if schedule.closed {
                return Ok(());
            }
            schedule.writing();
        }
        let result = self.write_file(sync);
        self.schedule().wrote(Instant::now(), result.is_ok());
        result
    }

    fn write_file(&self, sync: bool) -> Result<(), StoreError> {
        let plain = self.inner.encoded_state()?;
        let (_, bytes) = self.codec.encode_block(&self.context, 0, &plain, false)?;
        // Writing never creates the directory: a flush racing a removal fails instead.
        let tmp = self.dir.join(format!("{CONSUMER_STATE_FILE}.tmp"));
        fs::write(&tmp, &bytes)?;
        if sync {
            fs::File::open(&tmp)?.sync_all()?;
        }
        fs::rename(&tmp, self.path())?;
        if sync {
            sync_dir(&self.dir)?;
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// No write may happen from now on; waits for one in progress.
    fn close(&self) {
        let _io = self.io();
        self.schedule().closed = true;
        self.settled.notify_all();
    }

    /// Waits up to `timeout` until every change is on disk (or the store closed).
    fn wait_settled(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut schedule = self.schedule();
        while !schedule.settled() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            schedule = self
                .settled
                .wait_timeout(schedule, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}

/// A consumer's state, persisted in the stream directory.
pub struct FileConsumerStore {
    file: Arc<StateFile>,
    stream_consumers: Arc<OpenConsumers>,
}

impl FileConsumerStore {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open(
        stream_dir: &Path,
        stream: &str,
        name: &str,
        created: i64,
        cfg: &ConsumerConfig,
        codec: BlockCodec,
        clock: SharedClock,
        stream_consumers: Arc<OpenConsumers>,
    ) -> Result<FileConsumerStore, StoreError> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(StoreError::Other("bad consumer name".to_string()));
        }
        // The consumer state machine of the memory store, held by a private stream.
        let holder = MemStore::with_clock(
            StreamConfig {
                name: stream.to_string(),
                storage: StorageType::Memory,
                ..StreamConfig::default()
            },
            clock,
        )?;
        let inner = holder.consumer_store(name, created, cfg)?;
        let dir = stream_dir.join(CONSUMER_DIR).join(name);
        fs::create_dir_all(&dir)?;
        let file = Arc::new(StateFile {
            inner,
            dir,
            codec,
            context: format!("{stream}/{name}"),
            io: Mutex::new(()),
            schedule: Mutex::new(Schedule::default()),
            settled: Condvar::new(),
            writes: AtomicU64::new(0),
        });
        if let Some((state, reseal)) = file.read_state()? {
            file.inner.force_update(&state)?;
            if reseal {
                let _io = file.io();
                file.write_locked(true)?;
            }
        }
        stream_consumers.opened(&file);
        Ok(FileConsumerStore {
            file,
            stream_consumers,
        })
    }

    /// Writes the state now if it changed since the last write (no fsync).
    pub fn flush_now(&self) -> Result<(), StoreError> {
        self.file.flush_now(false)
    }

    /// Waits up to `timeout` for the background flusher to have written every change;
    /// false on timeout.
    pub fn wait_flushed(&self, timeout: Duration) -> bool {
        self.file.wait_settled(timeout)
    }

    /// How many times the state file was written since open.
    pub fn writes(&self) -> u64 {
        self.file.writes.load(Ordering::Relaxed)
    }

    /// Written at once, as Go does for the rare, structural changes.
    fn written<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let value = result?;
        let _io = self.file.io();
        if self.file.is_closed() {
            return Err(StoreError::Closed);
        }
        self.file.write_locked(false)?;
        Ok(value)
    }

    /// Written by the flusher.
    fn changed<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let value = result?;
        self.file.changed()?;
        Ok(value)
    }
}

impl Drop for FileConsumerStore {
    fn drop(&mut self) {
        // Dropped without a stop: what the flusher has not written yet is written now
        // (best effort, unsynced), as if it had been written change by change.
        let _ = self.file.flush_now(false);
    }
}

impl ConsumerStore for FileConsumerStore {
    fn set_starting(&self, sseq: u64) -> Result<(), StoreError> {
        self.written(self.file.inner.set_starting(sseq))
    }

    fn update_starting(&self, sseq: u64) {
        self.file.inner.update_starting(sseq);
        let _ = self.file.changed();
    }

    fn reset(&self, sseq: u64) -> Result<(), StoreError> {
        self.written(self.file.inner.reset(sseq))
    }

    fn has_state(&self) -> bool {
        self.file.inner.has_state()
    }

    fn update_delivered(&self, dseq: u64, sseq: u64, dc: u64, ts: i64) -> Result<(), StoreError> {
        self.changed(self.file.inner.update_delivered(dseq, sseq, dc, ts))
    }

    fn update_acks(&self, dseq: u64, sseq: u64) -> Result<(), StoreError> {
        self.changed(self.file.inner.update_acks(dseq, sseq))
    }

    fn remove_redelivered_below(&self, seq: u64) {
        self.file.inner.remove_redelivered_below(seq);
        let _ = self.file.changed();
    }

    fn update_config(&self, cfg: &ConsumerConfig) -> Result<(), StoreError> {
        self.file.inner.update_config(cfg)
    }

    fn update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        self.changed(self.file.inner.update(state))
    }

    fn force_update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        self.written(self.file.inner.force_update(state))
    }

    fn state(&self) -> Result<ConsumerState, StoreError> {
        self.file.inner.state()
    }

    fn encoded_state(&self) -> Result<Vec<u8>, StoreError> {
        self.file.inner.encoded_state()
    }

    fn storage_type(&self) -> StorageType {
        StorageType::File
    }

    fn stop(&self) -> Result<(), StoreError> {
        if self.file.inner.state().is_err() {
            return Ok(());
        }
        {
            // The last state, synced, then no more writes: the flusher may still visit,
            // and must find nothing to do.
            let _io = self.file.io();
            self.file.write_locked(true)?;
            self.file.schedule().closed = true;
        }
        self.file.settled.notify_all();
        self.stream_consumers.closed();
        self.file.inner.stop()
    }

    fn delete(&self) -> Result<(), StoreError> {
        // Closed under the I/O lock: no state write is in progress and none can start,
        // so nothing is left behind and the removal cannot fail with "not empty".
        let _io = self.file.io();
        self.file.schedule().closed = true;
        self.file.settled.notify_all();
        if self.file.inner.state().is_ok() {
            self.stream_consumers.closed();
        }
        self.file.inner.delete()?;
        match fs::remove_dir_all(&self.file.dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    fn stream_delete(&self) -> Result<(), StoreError> {
        // The stream removes the directory; no write may race it.
        self.file.close();
        self.file.inner.stream_delete()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
