//! Consumer state of a file stream: `obs/<name>/o.dat` holds the encoded state (Go's
//! binary layout, encrypted like the blocks when the store is).
//!
//! The state machine itself is the memory store's consumer store; this wrapper loads its
//! state on open and writes it back after every change (written to a side file and
//! renamed over, so a reader never sees half a state). Writes are not synced one by one:
//! a crash may lose the last acknowledgements, which makes those messages redelivered —
//! at-least-once, never lost. `stop` syncs.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::block::sync_dir;
use super::codec::BlockCodec;
use crate::mem::MemStore;
use crate::store::{
    decode_consumer_state, ConsumerConfig, ConsumerState, ConsumerStore, SharedClock, StorageType,
    Store, StoreError, StreamConfig,
};

/// Directory of the consumers of a stream.
pub const CONSUMER_DIR: &str = "obs";
/// A consumer's state file.
pub const CONSUMER_STATE_FILE: &str = "o.dat";

/// A consumer's state, persisted in the stream directory.
pub struct FileConsumerStore {
    inner: Arc<dyn ConsumerStore>,
    dir: PathBuf,
    codec: BlockCodec,
    context: String,
    /// Serialises writes of the state file.
    write: Mutex<bool>,
    stream_consumers: Arc<AtomicUsize>,
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
        stream_consumers: Arc<AtomicUsize>,
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
        let store = FileConsumerStore {
            inner,
            dir,
            codec,
            context: format!("{stream}/{name}"),
            write: Mutex::new(false),
            stream_consumers,
        };
        if let Some(state) = store.read_state()? {
            store.inner.force_update(&state)?;
        }
        store.stream_consumers.fetch_add(1, Ordering::SeqCst);
        Ok(store)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(CONSUMER_STATE_FILE)
    }

    fn read_state(&self) -> Result<Option<ConsumerState>, StoreError> {
        let raw = match fs::read(self.path()) {
            Ok(raw) => raw,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        if raw.is_empty() {
            return Ok(None);
        }
        let (_, plain) = self.codec.decode_block(&raw, &self.context, 0)?;
        decode_consumer_state(&plain).map(Some)
    }

    /// Writes the current state aside and renames it over the state file.
    fn persist(&self, sync: bool) -> Result<(), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let plain = self.inner.encoded_state()?;
        let (_, bytes) = self.codec.encode_block(&self.context, 0, &plain, false)?;
        let tmp = self.dir.join(format!("{CONSUMER_STATE_FILE}.tmp"));
        fs::write(&tmp, &bytes)?;
        if sync {
            fs::File::open(&tmp)?.sync_all()?;
        }
        fs::rename(&tmp, self.path())?;
        if sync {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn changed<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let value = result?;
        self.persist(false)?;
        Ok(value)
    }
}

impl ConsumerStore for FileConsumerStore {
    fn set_starting(&self, sseq: u64) -> Result<(), StoreError> {
        self.changed(self.inner.set_starting(sseq))
    }

    fn update_starting(&self, sseq: u64) {
        self.inner.update_starting(sseq);
        let _ = self.persist(false);
    }

    fn reset(&self, sseq: u64) -> Result<(), StoreError> {
        self.changed(self.inner.reset(sseq))
    }

    fn has_state(&self) -> bool {
        self.inner.has_state()
    }

    fn update_delivered(&self, dseq: u64, sseq: u64, dc: u64, ts: i64) -> Result<(), StoreError> {
        self.changed(self.inner.update_delivered(dseq, sseq, dc, ts))
    }

    fn update_acks(&self, dseq: u64, sseq: u64) -> Result<(), StoreError> {
        self.changed(self.inner.update_acks(dseq, sseq))
    }

    fn remove_redelivered_below(&self, seq: u64) {
        self.inner.remove_redelivered_below(seq);
        let _ = self.persist(false);
    }

    fn update_config(&self, cfg: &ConsumerConfig) -> Result<(), StoreError> {
        self.inner.update_config(cfg)
    }

    fn update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        self.changed(self.inner.update(state))
    }

    fn force_update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        self.changed(self.inner.force_update(state))
    }

    fn state(&self) -> Result<ConsumerState, StoreError> {
        self.inner.state()
    }

    fn encoded_state(&self) -> Result<Vec<u8>, StoreError> {
        self.inner.encoded_state()
    }

    fn storage_type(&self) -> StorageType {
        StorageType::File
    }

    fn stop(&self) -> Result<(), StoreError> {
        if self.inner.state().is_err() {
            return Ok(());
        }
        self.persist(true)?;
        self.stream_consumers.fetch_sub(1, Ordering::SeqCst);
        self.inner.stop()
    }

    fn delete(&self) -> Result<(), StoreError> {
        // No state write may run while the directory goes (it would leave a file behind
        // and make the removal fail with "directory not empty").
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        if self.inner.state().is_ok() {
            self.stream_consumers.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.delete()?;
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    fn stream_delete(&self) -> Result<(), StoreError> {
        self.inner.stream_delete()
    }
}
