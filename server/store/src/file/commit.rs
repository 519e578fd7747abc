//! Group commit: writers that need their record on stable storage wait here, and one of
//! them syncs for all who wrote before the sync began.
//!
//! Every write gets a ticket (a counter taken under the store lock). A writer waits until
//! `synced >= its ticket`. If no sync is running, the waiter becomes the leader: it takes
//! the newest ticket and the file to sync (both under the store lock, through the `target`
//! callback), syncs without any lock held, publishes the new `synced` and wakes everyone.
//! Writers that arrive during a sync wait for it and the next leader covers them all, so
//! N concurrent writers cost about two syncs, not N.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

/// What one sync must cover: the files written since the last sync (sealed blocks and the
/// last block) and the directory when a block file was created.
#[derive(Debug, Default)]
pub struct SyncWork {
    /// The newest ticket this work makes durable.
    pub ticket: u64,
    pub files: Vec<Arc<File>>,
    pub dir: Option<PathBuf>,
}

impl SyncWork {
    pub fn run(&self) -> io::Result<()> {
        for file in &self.files {
            file.sync_data()?;
        }
        if let Some(dir) = &self.dir {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct State {
    synced: u64,
    syncing: bool,
    /// A failed sync poisons the store: the page cache may no longer match the disk.
    failed: Option<String>,
}

/// Coordinates syncs between concurrent writers.
#[derive(Debug, Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    /// Returns once everything up to `ticket` is synced. `target` hands over what the
    /// writes so far still need synced.
    pub fn wait(&self, ticket: u64, target: impl Fn() -> SyncWork) -> io::Result<()> {
        let mut state = self.lock();
        loop {
            if let Some(err) = &state.failed {
                return Err(io::Error::other(err.clone()));
            }
            if state.synced >= ticket {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(|poison| poison.into_inner());
                continue;
            }
            state.syncing = true;
            drop(state);
            let work = target();
            let newest = work.ticket;
            let result = work.run();
            state = self.lock();
            state.syncing = false;
            match result {
                Ok(()) => state.synced = state.synced.max(newest),
                Err(err) => state.failed = Some(format!("sync failed: {err}")),
            }
            self.done.notify_all();
        }
    }

    /// Records that everything up to `ticket` is synced (a block sealed with a sync).
    pub fn mark_synced(&self, ticket: u64) {
        let mut state = self.lock();
        state.synced = state.synced.max(ticket);
        self.done.notify_all();
    }

    /// The sync failure that poisoned the store, if any.
    pub fn failure(&self) -> Option<String> {
        self.lock().failed.clone()
    }

    pub fn synced(&self) -> u64 {
        self.lock().synced
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn concurrent_waiters_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(File::create(dir.path().join("f")).unwrap());
        let commit = Arc::new(GroupCommit::default());
        let written = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (commit, written, syncs, file) =
                    (commit.clone(), written.clone(), syncs.clone(), file.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let ticket = written.fetch_add(1, Ordering::SeqCst) + 1;
                        commit
                            .wait(ticket, || {
                                syncs.fetch_add(1, Ordering::SeqCst);
                                SyncWork {
                                    ticket: written.load(Ordering::SeqCst),
                                    files: vec![file.clone()],
                                    dir: None,
                                }
                            })
                            .unwrap();
                        assert!(commit.synced() >= ticket);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(commit.synced(), 400);
        assert!(syncs.load(Ordering::SeqCst) <= 400);
    }
}
