//! Ports of `server/filestore_test.go`.
//!
//! Go runs most of these over every cipher × compression permutation
//! (`testFileStoreAllPermutations`); [`all_permutations`] does the same. natsd's blocks
//! use LZ4 where the stream asks for S2 (see `natsd_store::file`). Stores run with natsd's
//! default, durable (group-committed) writes, in a directory on tmpfs when there is one so
//! that syncs cost nothing. Go's stores expire on timers; ours are driven by their owner
//! (`next_expiration`, `expire_msgs`), so the ports that sleep for a timer in Go advance a
//! manual clock and make that call.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use natsd_store::file::record::record_len;
use natsd_store::file::{js_key_gen, FileStore, FileStoreConfig, StoreCipher, MSGS_DIR, PURGE_DIR};
use natsd_store::*;
use ported::port;

mod consumer;
mod more;
mod recovery;
mod snapshot;

/// A directory removed when dropped (Go's `t.TempDir()`).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "natsd-filestore-test-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            SystemClock.now_ns()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Go's `FileStoreConfig` as the tests use it, with the stream's compression.
#[derive(Clone)]
struct Fcfg {
    dir: PathBuf,
    block_size: u64,
    cipher: StoreCipher,
    compression: StoreCompression,
}

impl Fcfg {
    fn store_config(&self) -> FileStoreConfig {
        FileStoreConfig {
            block_size: self.block_size,
            cipher: self.cipher,
            // Go's test `prf`: HMAC-SHA256 keyed by "dlc22".
            prf: Some(js_key_gen("dlc22", "")),
            ..FileStoreConfig::new(&self.dir)
        }
    }

    fn stream(&self, mut cfg: StreamConfig) -> StreamConfig {
        cfg.compression = self.compression;
        cfg
    }

    fn open(&self, cfg: StreamConfig) -> FileStore {
        self.open_with_clock(cfg, system_clock())
    }

    fn try_open(&self, cfg: StreamConfig) -> Result<FileStore, StoreError> {
        FileStore::open(self.store_config(), self.stream(cfg), system_clock())
    }

    fn open_with_clock(&self, cfg: StreamConfig, clock: SharedClock) -> FileStore {
        FileStore::open(self.store_config(), self.stream(cfg), clock).unwrap()
    }

    fn msgs_dir(&self) -> PathBuf {
        self.dir.join(MSGS_DIR)
    }
}

/// Runs `f` once per cipher × compression permutation, each in a fresh directory.
fn all_permutations(mut f: impl FnMut(Fcfg)) {
    for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
        for compression in [StoreCompression::None, StoreCompression::S2] {
            let dir = TempDir::new();
            f(Fcfg {
                dir: dir.0.clone(),
                block_size: 0,
                cipher,
                compression,
            });
        }
    }
}

/// Go's `fileStoreMsgSize`.
fn msg_size(subj: &str, hdr: &[u8], msg: &[u8]) -> u64 {
    record_len(subj.len(), hdr.len(), msg.len()) as u64
}

fn zzz() -> StreamConfig {
    StreamConfig {
        name: "zzz".to_string(),
        storage: StorageType::File,
        ..StreamConfig::default()
    }
}

fn zzz_with(f: impl FnOnce(&mut StreamConfig)) -> StreamConfig {
    let mut cfg = zzz();
    f(&mut cfg);
    cfg
}

port!("server/filestore_test.go::TestFileStoreBasics" => file_store_basics);
fn file_store_basics() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let (subj, msg) = ("foo", b"Hello World");
        for i in 1..=5u64 {
            let now = SystemClock.now_ns();
            let (seq, ts) = fs.store_msg(subj, b"", msg, 0).unwrap();
            assert_eq!(seq, i);
            // Go allows 1ms; a durable store call includes a sync, so allow a little more.
            assert!(ts >= now && ts <= now + 50_000_000, "timestamp not current");
        }
        let state = fs.state();
        assert_eq!(state.msgs, 5);
        assert_eq!(state.bytes, 5 * msg_size(subj, b"", msg));
        let sm = fs.load_msg(2).unwrap();
        assert_eq!(sm.subject, subj);
        assert_eq!(sm.msg.as_ref(), msg);
        fs.load_msg(3).unwrap();
        let remove = |seq: u64, expected: u64| {
            assert!(fs.remove_msg(seq).unwrap(), "remove of {seq}");
            assert_eq!(fs.state().msgs, expected);
        };
        remove(1, 4);
        remove(5, 3);
        remove(3, 2);
    });
}

port!("server/filestore_test.go::TestFileStoreMsgHeaders" => file_store_msg_headers);
fn file_store_msg_headers() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let (subj, hdr, msg) = ("foo", b"name:derek", b"Hello World");
        let elen = 22 + subj.len() + 4 + hdr.len() + msg.len() + 8;
        assert_eq!(msg_size(subj, hdr, msg) as usize, elen);
        fs.store_msg(subj, hdr, msg, 0).unwrap();
        let sm = fs.load_msg(1).unwrap();
        assert_eq!(sm.msg.as_ref(), msg);
        assert_eq!(sm.hdr.as_ref(), hdr);
        assert!(fs.erase_msg(1).unwrap());
    });
}

port!("server/filestore_test.go::TestFileStoreBasicWriteMsgsAndRestore" => file_store_basic_write_msgs_and_restore);
fn file_store_basic_write_msgs_and_restore() {
    all_permutations(|fcfg| {
        assert!(fcfg
            .try_open(StreamConfig {
                storage: StorageType::Memory,
                ..zzz()
            })
            .is_err());
        assert!(fcfg
            .try_open(StreamConfig {
                storage: StorageType::File,
                ..StreamConfig::default()
            })
            .is_err());
        let fs = fcfg.open(zzz());
        let subj = "foo";
        let to_store = 100u64;
        for i in 1..=to_store {
            let msg = format!("[{i:08}] Hello World!");
            let (seq, _) = fs.store_msg(subj, b"", msg.as_bytes(), 0).unwrap();
            assert_eq!(seq, i);
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        let msg22 = format!("[{:08}] Hello World!", 22);
        let expected_size = to_store * msg_size(subj, b"", msg22.as_bytes());
        assert_eq!(state.bytes, expected_size);
        fs.stop().unwrap();
        assert!(fs.store_msg(subj, b"", b"no work", 0).is_err());

        let fs = fcfg.open(zzz());
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, expected_size);
        for i in to_store + 1..=to_store * 2 {
            let msg = format!("[{i:08}] Hello World!");
            let (seq, _) = fs.store_msg(subj, b"", msg.as_bytes(), 0).unwrap();
            assert_eq!(seq, i);
        }
        assert_eq!(fs.state().msgs, to_store * 2);
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let state = fs.state();
        assert_eq!(state.msgs, to_store * 2);
        assert_eq!(state.bytes, expected_size * 2);
        fs.purge().unwrap();
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert_eq!(state.bytes, 0);
        let (seq, _) = fs.store_msg(subj, b"", b"Hello", 0).unwrap();
        fs.remove_msg(seq).unwrap();
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        assert_eq!(fs.state().first_seq, seq + 1);
    });
}

port!("server/filestore_test.go::TestFileStoreSelectNextFirst" => file_store_select_next_first);
fn file_store_select_next_first() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 256;
        let fs = fcfg.open(zzz());
        let num_msgs = 10;
        let (subj, msg) = ("zzz", b"Hello World");
        for _ in 0..num_msgs {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, num_msgs);
        // The 256 byte block holds 5 of these messages.
        assert_eq!(fs.block_msgs_for(1), Some(5));
        for i in 2..=7 {
            fs.remove_msg(i).unwrap();
        }
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq), (4, 1));
        fs.remove_msg(1).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq), (3, 8));
    });
}

port!("server/filestore_test.go::TestFileStoreSkipMsg" => file_store_skip_msg);
fn file_store_skip_msg() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 256;
        let fs = fcfg.open(zzz());
        let num_skips = 10u64;
        for _ in 0..num_skips {
            fs.skip_msg(0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert_eq!(
            (state.first_seq, state.last_seq),
            (num_skips + 1, num_skips)
        );

        fs.store_msg("zzz", b"", b"Hello World!", 0).unwrap();
        fs.skip_msg(0).unwrap();
        fs.skip_msg(0).unwrap();
        fs.store_msg("zzz", b"", b"Hello World!", 0).unwrap();
        fs.skip_msg(0).unwrap();
        let state = fs.state();
        assert_eq!(state.msgs, 2);
        assert_eq!(
            (state.first_seq, state.last_seq),
            (num_skips + 1, num_skips + 5)
        );
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let state = fs.state();
        assert_eq!(state.msgs, 2);
        assert_eq!(
            (state.first_seq, state.last_seq),
            (num_skips + 1, num_skips + 5)
        );
        let sm = fs.load_msg(11).unwrap();
        assert_eq!(
            (sm.subject.as_str(), sm.msg.as_ref()),
            ("zzz", &b"Hello World!"[..])
        );
        fs.skip_msg(0).unwrap();
        let (nseq, _) = fs.store_msg("AAA", b"", b"Skip?", 0).unwrap();
        assert_eq!(nseq, 17);
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let sm = fs.load_msg(nseq).unwrap();
        assert_eq!(
            (sm.subject.as_str(), sm.msg.as_ref()),
            ("AAA", &b"Skip?"[..])
        );
    });
}

port!("server/filestore_test.go::TestFileStoreWriteExpireWrite" => file_store_write_expire_write);
fn file_store_write_expire_write() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let to_send = 10u64;
        for _ in 0..to_send {
            fs.store_msg("zzz", b"", b"Hello World!", 0).unwrap();
        }
        // Go waits for its write cache to expire; natsd keeps no copy of the last block.
        assert_eq!(fs.cache_size(), 0);
        for _ in 0..to_send {
            fs.store_msg("zzz", b"", b"Hello World! - 22", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_send * 2);
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        assert_eq!(fs.state().msgs, to_send * 2);
        for i in 1..=to_send * 2 {
            let sm = fs.load_msg(i).unwrap();
            let expected: &[u8] = if i > to_send {
                b"Hello World! - 22"
            } else {
                b"Hello World!"
            };
            assert_eq!((sm.subject.as_str(), sm.msg.as_ref()), ("zzz", expected));
        }
    });
}

port!("server/filestore_test.go::TestFileStoreMsgLimit" => file_store_msg_limit);
fn file_store_msg_limit() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.max_msgs = 10));
        let (subj, msg) = ("foo", b"Hello World");
        for _ in 0..10 {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 10);
        fs.store_msg(subj, b"", msg, 0).unwrap();
        let state = fs.state();
        assert_eq!(state.msgs, 10);
        assert_eq!(state.last_seq, 11);
        assert_eq!(state.first_seq, 2);
        assert!(fs.load_msg(1).is_err());
    });
}

port!("server/filestore_test.go::TestFileStoreMsgLimitBug" => file_store_msg_limit_bug);
fn file_store_msg_limit_bug() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.max_msgs = 1);
        let fs = fcfg.open(cfg.clone());
        let (subj, msg) = ("foo", b"Hello World");
        fs.store_msg(subj, b"", msg, 0).unwrap();
        fs.store_msg(subj, b"", msg, 0).unwrap();
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        fs.store_msg(subj, b"", msg, 0).unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreBytesLimit" => file_store_bytes_limit);
fn file_store_bytes_limit() {
    let (subj, msg) = ("foo", vec![0u8; 512]);
    let stored = msg_size(subj, b"", &msg);
    let to_store = 1024u64;
    let max_bytes = stored * to_store;
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.max_bytes = max_bytes as i64));
        for _ in 0..to_store {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, stored * to_store);
        for _ in 0..10 {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, stored * to_store);
        assert_eq!(state.first_seq, 11);
        assert_eq!(state.last_seq, to_store + 10);
    });
}

port!("server/filestore_test.go::TestFileStoreBytesLimitWithDiscardNew" => file_store_bytes_limit_with_discard_new);
fn file_store_bytes_limit_with_discard_new() {
    let (subj, msg) = ("tiny", vec![0u8; 7]);
    let stored = msg_size(subj, b"", &msg);
    let to_store = 2u64;
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| {
            c.max_bytes = 100;
            c.discard = DiscardPolicy::New;
        }));
        for i in 0..10 {
            let res = fs.store_msg(subj, b"", &msg, 0);
            if i < to_store {
                res.unwrap();
            } else {
                assert_eq!(res.unwrap_err(), StoreError::MaxBytes);
            }
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, stored * to_store);
    });
}

/// Expires what is due now, as the store's owner does when `next_expiration` comes.
fn run_expiry(fs: &FileStore, clock: &ManualClock) {
    if let Some(at) = fs.next_expiration() {
        if at <= clock.now_ns() {
            fs.expire_msgs();
        }
    }
}

port!("server/filestore_test.go::TestFileStoreAgeLimit" => file_store_age_limit);
fn file_store_age_limit() {
    let max_age = Duration::from_secs(1);
    // Go skips the cipher and compression permutations here only because they are slow
    // in its CI; with a manual clock they run like the others.
    all_permutations(|mut fcfg| {
        fcfg.block_size = 256;
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(zzz_with(|c| c.max_age = max_age), clock.clone());
        let (subj, msg) = ("foo", b"Hello World");
        let to_store = 500u64;
        for _ in 0..to_store {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        let check_expired = || {
            clock.advance(max_age);
            run_expiry(&fs, &clock);
            let state = fs.state();
            assert_eq!(state.msgs, 0);
            assert_eq!(state.bytes, 0);
        };
        check_expired();
        for _ in 0..to_store {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        for seq in [502, 602, 702, 802] {
            fs.remove_msg(seq).unwrap();
        }
        check_expired();
    });
}

port!("server/filestore_test.go::TestFileStoreTimeStamps" => file_store_time_stamps);
fn file_store_time_stamps() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let mut last = SystemClock.now_ns();
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(5));
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        for seq in 1..=10 {
            let sm = fs.load_msg(seq).unwrap();
            assert!(sm.ts > last, "expected different timestamps");
            last = sm.ts;
        }
    });
}

port!("server/filestore_test.go::TestFileStorePurge" => file_store_purge);
fn file_store_purge() {
    all_permutations(|mut fcfg| {
        let blk_size = 64 * 1024u64;
        fcfg.block_size = blk_size;
        let fs = fcfg.open(zzz());
        let (subj, msg) = ("foo", vec![0u8; 8 * 1024]);
        let stored = msg_size(subj, b"", &msg);
        let to_store = 1024u64;
        for _ in 0..to_store {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, stored * to_store);
        let expected_blocks = (stored * to_store / blk_size) as usize;
        assert!(fs.block_indexes().len() > expected_blocks);

        fs.purge().unwrap();
        assert_eq!(fs.block_indexes().len(), 1);
        let check_purge_state = |fs: &FileStore, stored: u64| {
            let state = fs.state();
            assert_eq!(state.msgs, 0);
            assert_eq!(state.bytes, 0);
            assert_eq!(state.last_seq, stored);
            assert_eq!(state.first_seq, stored + 1);
        };
        check_purge_state(&fs, to_store);
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        assert_eq!(fs.block_indexes().len(), 1);
        check_purge_state(&fs, to_store);
        for _ in 0..to_store {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store);
        assert_eq!(state.bytes, stored * to_store);

        // Simulate a crash before the purge directory is cleared.
        let mdir = fcfg.msgs_dir();
        let pdir = fcfg.dir.join("ptest");
        std::fs::rename(&mdir, &pdir).unwrap();
        std::fs::create_dir_all(&mdir).unwrap();
        fs.purge().unwrap();
        check_purge_state(&fs, to_store * 2);
        fs.stop().unwrap();
        let purge_dir = fcfg.dir.join(PURGE_DIR);
        std::fs::rename(&pdir, &purge_dir).unwrap();

        let fs = fcfg.open(zzz());
        assert_eq!(fs.block_indexes().len(), 1);
        check_purge_state(&fs, to_store * 2);
        assert!(!purge_dir.exists(), "purge directory still present");
    });
}

port!("server/filestore_test.go::TestFileStoreCompact" => file_store_compact);
fn file_store_compact() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 350;
        let fs = fcfg.open(zzz());
        for _ in 0..10 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 10);
        assert_eq!(fs.compact(6).unwrap(), 5);
        let state = fs.state();
        assert_eq!(state.msgs, 5);
        assert_eq!(state.first_seq, 6);
        // Compact past the end resets first.
        assert_eq!(fs.compact(100).unwrap(), 5);
        assert_eq!(fs.state().first_seq, 100);
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        assert_eq!(fs.state().first_seq, 100);
    });
}

port!("server/filestore_test.go::TestFileStoreCompactLastPlusOne" => file_store_compact_last_plus_one);
fn file_store_compact_last_plus_one() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 8192;
        let fs = fcfg.open(zzz());
        let (subj, msg) = ("foo", vec![0u8; 10_000]);
        for _ in 0..10_000 {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        fs.flush_all_pending().unwrap();
        assert_eq!(fs.state().msgs, 10_000);
        fs.compact(10_001).unwrap();
        assert_eq!(fs.state().msgs, 0);
        fs.store_msg(subj, b"", &msg, 0).unwrap();
        assert_eq!(fs.state().msgs, 1);
    });
}

port!("server/filestore_test.go::TestFileStoreCompactMsgCountBug" => file_store_compact_msg_count_bug);
fn file_store_compact_msg_count_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        for _ in 0..10 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 10);
        for seq in [2, 3, 4] {
            fs.erase_msg(seq).unwrap();
        }
        for seq in [7, 8, 9] {
            fs.remove_msg(seq).unwrap();
        }
        // 1 and 5.
        assert_eq!(fs.compact(6).unwrap(), 2);
        assert_eq!(fs.state().msgs, 2);
    });
}

port!("server/filestore_test.go::TestFileStoreStreamTruncate" => file_store_stream_truncate);
fn file_store_stream_truncate() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 350;
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let mut tseq = 50u64;
        let to_store = 100u64;
        for _ in 1..tseq {
            fs.store_msg("foo", b"", b"ok", 0).unwrap();
        }
        for _ in tseq..=to_store {
            fs.store_msg("bar", b"", b"ok", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        fs.truncate(tseq).unwrap();
        assert_eq!(fs.state().msgs, tseq);
        for seq in [10, 20, 30, 40] {
            fs.remove_msg(seq).unwrap();
        }
        tseq = 25;
        fs.truncate(tseq).unwrap();
        let state = fs.state();
        assert_eq!(state.msgs, tseq - 2);
        assert_eq!(state.deleted, vec![10, 20]);
        let before = state;
        fs.stop().unwrap();

        // natsd always recovers from the blocks (there is no index.db to remove).
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.state(), before);
        let first = fs.block_indexes()[0];
        assert!(first > 0);
        for seq in 1..=tseq {
            if !before.deleted.contains(&seq) {
                fs.load_msg(seq).unwrap();
            }
        }
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
    });
}

port!("server/filestore_test.go::TestFileStoreRemovePartialRecovery" => file_store_remove_partial_recovery);
fn file_store_remove_partial_recovery() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let to_store = 100u64;
        for _ in 0..to_store {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        for seq in 1..=to_store / 2 {
            fs.remove_msg(seq).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store / 2);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), state);
    });
}

port!("server/filestore_test.go::TestFileStoreRemoveOutOfOrderRecovery" => file_store_remove_out_of_order_recovery);
fn file_store_remove_out_of_order_recovery() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let to_store = 100u64;
        for _ in 0..to_store {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        for seq in (2..=to_store).step_by(2) {
            assert!(fs.remove_msg(seq).unwrap());
        }
        let state = fs.state();
        assert_eq!(state.msgs, to_store / 2);
        fs.load_msg(1).unwrap();
        for seq in (2..=to_store).step_by(2) {
            assert!(fs.load_msg(seq).is_err());
        }
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), state);
        fs.load_msg(1).unwrap();
        for seq in (2..=to_store).step_by(2) {
            assert!(fs.load_msg(seq).is_err());
        }
    });
}

port!("server/filestore_test.go::TestFileStoreAgeLimitRecovery" => file_store_age_limit_recovery);
fn file_store_age_limit_recovery() {
    let max_age = Duration::from_secs(1);
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| {
            c.subjects = vec!["foo".to_string()];
            c.max_age = max_age;
        });
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        let to_store = 100u64;
        for _ in 0..to_store {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        fs.stop().unwrap();
        clock.advance(max_age);
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        run_expiry(&fs, &clock);
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert_eq!(state.bytes, 0);
    });
}

/// Go's `bits.Reverse8`.
fn reverse8(b: u8) -> u8 {
    b.reverse_bits()
}

port!("server/filestore_test.go::TestFileStoreBitRot" => file_store_bit_rot);
fn file_store_bit_rot() {
    let mut rng = SystemClock.now_ns() as u64 | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let to_store = 100u64;
        for _ in 0..to_store {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        assert!(fs.check_msgs().msgs.is_empty());
        let lmb = fs.block_paths().pop().unwrap();
        for i in 0..10 {
            let mut contents = std::fs::read(&lmb).unwrap();
            assert!(!contents.is_empty());
            let index = loop {
                let index = (next() % contents.len() as u64) as usize;
                let b = contents[index];
                contents[index] = reverse8(b);
                if b != contents[index] {
                    break index;
                }
            };
            std::fs::write(&lmb, &contents).unwrap();
            let ld = fs.check_msgs();
            if !ld.msgs.is_empty() || fs.state().msgs == 0 {
                break;
            }
            assert!(i < 9, "expected corrupt msgs, got none: changed [{index}]");
        }
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let ld = fs.check_msgs();
        if fs.state().msgs > 0 {
            assert!(
                ld.msgs.is_empty(),
                "expected a clean store after restore: {ld:?}"
            );
        }
        // What is left loads intact.
        let state = fs.state();
        for seq in state.first_seq..=state.last_seq {
            if let Ok(sm) = fs.load_msg(seq) {
                assert_eq!(
                    (sm.subject.as_str(), sm.msg.as_ref()),
                    ("foo", &b"Hello World"[..])
                );
            }
        }
    });
}

port!("server/filestore_test.go::TestFileStoreEraseAndNoIndexRecovery" => file_store_erase_and_no_index_recovery);
fn file_store_erase_and_no_index_recovery() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let to_store = 100u64;
        for _ in 0..to_store {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, to_store);
        for seq in (2..=to_store).step_by(2) {
            assert!(fs.erase_msg(seq).unwrap());
        }
        assert_eq!(fs.state().msgs, to_store / 2);
        fs.stop().unwrap();
        // There is no index file to remove: natsd always rebuilds from the blocks.
        let fs = fcfg.open(zzz());
        assert_eq!(fs.state().msgs, to_store / 2);
        for seq in (2..=to_store).step_by(2) {
            assert!(fs.load_msg(seq).is_err());
        }
    });
}

port!("server/filestore_test.go::TestFileStoreWriteAndReadSameBlock" => file_store_write_and_read_same_block);
fn file_store_write_and_read_same_block() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        for i in 1..=10 {
            fs.store_msg("foo", b"", b"Hello World!", 0).unwrap();
            fs.load_msg(i).unwrap();
        }
    });
}

port!("server/filestore_test.go::TestFileStoreAndRetrieveMultiBlock" => file_store_and_retrieve_multi_block);
fn file_store_and_retrieve_multi_block() {
    all_permutations(|mut fcfg| {
        let (subj, msg) = ("foo", b"Hello World!");
        fcfg.block_size = 4 * msg_size(subj, b"", msg);
        let fs = fcfg.open(zzz());
        for _ in 0..20 {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 20);
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        for i in 1..=20 {
            fs.load_msg(i).unwrap();
        }
    });
}

port!("server/filestore_test.go::TestFileStoreEraseMsg" => file_store_erase_msg);
fn file_store_erase_msg() {
    // Just no encryption, etc., as in Go.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        dir: dir.0.clone(),
        block_size: 0,
        cipher: StoreCipher::None,
        compression: StoreCompression::None,
    };
    let fs = fcfg.open(zzz());
    let (subj, msg) = ("foo", b"Hello World");
    fs.store_msg(subj, b"", msg, 0).unwrap();
    fs.store_msg(subj, b"", msg, 0).unwrap(); // Keeps the block from being removed.
    let sm = fs.load_msg(1).unwrap();
    assert_eq!(sm.msg.as_ref(), msg);
    assert!(fs.erase_msg(1).unwrap());
    assert!(fs.load_msg(1).is_err(), "expected msg to be erased");
    fs.flush_all_pending().unwrap();

    // Now look on disk as well.
    let rl = msg_size(subj, b"", msg) as usize;
    let raw = std::fs::read(fcfg.msgs_dir().join("1.blk")).unwrap();
    let hasher = natsd_store::file::record::BlockHasher::new("zzz", 1);
    let rec = natsd_store::file::record::decode(&raw[..rl], &hasher).unwrap();
    assert_ne!(
        rec.subject,
        subj.as_bytes(),
        "expected the subjects to be different"
    );
    assert_eq!(rec.kind, natsd_store::file::record::RecordKind::Erased);
    assert_eq!(rec.ts, 0);
    assert_ne!(
        rec.payload,
        &msg[..],
        "expected message body to be randomized"
    );
}

port!("server/filestore_test.go::TestFileStoreCollapseDmap" => file_store_collapse_dmap);
fn file_store_collapse_dmap() {
    all_permutations(|mut fcfg| {
        let (subj, msg) = ("foo", b"Hello World!");
        fcfg.block_size = 4 * msg_size(subj, b"", msg);
        let fs = fcfg.open(zzz());
        for _ in 0..10 {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 10);
        let check_dmap_total = |total: usize| assert_eq!(fs.dmap_entries(), total);
        let check_first_seq = |seq: u64| assert_eq!(fs.state().first_seq, seq);
        fs.remove_msg(2).unwrap();
        check_first_seq(1);
        fs.remove_msg(4).unwrap();
        check_first_seq(1);
        fs.remove_msg(8).unwrap();
        check_first_seq(1);
        assert_eq!(fs.state().msgs, 7);
        check_dmap_total(3);
        fs.remove_msg(1).unwrap();
        check_dmap_total(2);
        check_first_seq(3);
        fs.remove_msg(3).unwrap();
        check_dmap_total(1);
        check_first_seq(5);
        fs.remove_msg(5).unwrap();
        check_dmap_total(1);
        check_first_seq(6);
        fs.remove_msg(7).unwrap();
        check_dmap_total(2);
        fs.remove_msg(6).unwrap();
        check_dmap_total(0);
    });
}

port!("server/filestore_test.go::TestFileStoreStreamStateDeleted" => file_store_stream_state_deleted);
fn file_store_stream_state_deleted() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let to_store = 10u64;
        for i in 1..=to_store {
            fs.store_msg("foo", b"", format!("[{i:08}] Hello World!").as_bytes(), 0)
                .unwrap();
        }
        assert!(fs.state().deleted.is_empty());
        let mut expected = Vec::new();
        for seq in (2..to_store).step_by(2) {
            fs.remove_msg(seq).unwrap();
            expected.push(seq);
        }
        assert_eq!(fs.state().deleted, expected);
        fs.remove_msg(1).unwrap();
        fs.remove_msg(3).unwrap();
        let expected = expected[2..].to_vec();
        let state = fs.state();
        assert_eq!(state.deleted, expected);
        assert_eq!(state.first_seq, 5);
        fs.purge().unwrap();
        assert!(fs.state().deleted.is_empty());
    });
}

port!("server/filestore_test.go::TestFileStoreStreamDeleteDirNotEmpty" => file_store_stream_delete_dir_not_empty);
fn file_store_stream_delete_dir_not_empty() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        for i in 1..=10u64 {
            fs.store_msg("foo", b"", format!("[{i:08}] Hello World!").as_bytes(), 0)
                .unwrap();
        }
        let g = fcfg.dir.join("g");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            ready_tx.send(()).unwrap();
            for _ in 0..100 {
                let _ = std::fs::write(&g, b"OK");
            }
        });
        ready_rx.recv().unwrap();
        fs.delete(true).unwrap();
        writer.join().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreStreamDeleteCacheBug" => file_store_stream_delete_cache_bug);
fn file_store_stream_delete_cache_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        fs.erase_msg(1).unwrap();
        // Go waits for its cache to expire (50ms) before the load.
        std::thread::sleep(Duration::from_millis(100));
        fs.load_msg(2).unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreStreamFailToRollBug" => file_store_stream_fail_to_roll_bug);
fn file_store_stream_fail_to_roll_bug() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 512;
        let fs = fcfg.open(zzz_with(|c| c.max_bytes = 300));
        let msg = b"ABC".repeat(33);
        for _ in 0..200 {
            fs.store_msg("zzz", b"", &msg, 0).unwrap();
        }
        let indexes = fs.block_indexes();
        assert_eq!(indexes.len(), 1, "expected only one block, got {indexes:?}");
        assert!(
            indexes[0] >= 60,
            "expected a block index > 60, got {}",
            indexes[0]
        );
        let path = fs.block_paths().pop().unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        // natsd's block header (cipher/compression) is not part of the block budget.
        let header =
            if fcfg.cipher == StoreCipher::None && fcfg.compression == StoreCompression::None {
                0
            } else {
                128
            };
        assert!(
            size <= 512 + header,
            "expected block to be <= 512, got {size}"
        );
    });
}

port!("server/filestore_test.go::TestFileStoreBadConsumerState" => file_store_bad_consumer_state);
fn file_store_bad_consumer_state() {
    let bs = b"\x16\x02\x01\x01\x03\x02\x01\x98\xf4\x8a\x8a\x0c\x01\x03\x86\xfa\n\x01\x00\x01";
    decode_consumer_state(bs).unwrap();
}

port!("server/filestore_test.go::TestFileStoreSparseCompactionWithInteriorDeletes" => file_store_sparse_compaction_with_interior_deletes);
fn file_store_sparse_compaction_with_interior_deletes() {
    all_permutations(|fcfg| {
        let cfg = StreamConfig {
            name: "KV".to_string(),
            subjects: vec!["kv.>".to_string()],
            ..zzz()
        };
        let fs = fcfg.open(cfg);
        for i in 1..=1000 {
            fs.store_msg(&format!("kv.{}", i % 10), b"", b"OK", 0)
                .unwrap();
        }
        for seq in [500, 600, 700, 800] {
            assert!(fs.remove_msg(seq).unwrap());
        }
        fs.load_msg(900).unwrap();
        // Compact the last block by hand; messages past the interior deletes still load.
        let last = fs.block_indexes().len() - 1;
        fs.compact_block_at(last).unwrap();
        fs.load_msg(900).unwrap();
    });
}

port!("server/filestore_test.go::TestFileStorePurgeExKeepOneBug" => file_store_purge_ex_keep_one_bug);
fn file_store_purge_ex_keep_one_bug() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 128;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
        let fill = b"X".repeat(128);
        fs.store_msg("A", b"", b"META", 0).unwrap();
        fs.store_msg("B", b"", &fill, 0).unwrap();
        fs.store_msg("A", b"", b"META", 0).unwrap();
        fs.store_msg("B", b"", &fill, 0).unwrap();
        assert_eq!(fs.filtered_state(1, "A").unwrap().msgs, 2);
        assert_eq!(fs.purge_ex("A", 0, 1).unwrap(), 1);
        assert_eq!(fs.filtered_state(1, "A").unwrap().msgs, 1);
    });
}

port!("server/filestore_test.go::TestFileStoreFilteredPendingBug" => file_store_filtered_pending_bug);
fn file_store_filtered_pending_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
        fs.store_msg("foo", b"", b"msg", 0).unwrap();
        fs.store_msg("bar", b"", b"msg", 0).unwrap();
        fs.store_msg("baz", b"", b"msg", 0).unwrap();
        // Go asks the last block for "foo" from sequence 3; all three are in it.
        let ss = fs.filtered_state(3, "foo").unwrap();
        assert_eq!(ss.msgs, 0);
        assert_eq!((ss.first, ss.last), (0, 0));
    });
}

port!("server/filestore_test.go::TestFileStoreCompactReclaimHeadSpace" => file_store_compact_reclaim_head_space);
fn file_store_compact_reclaim_head_space() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 4 * 1024 * 1024;
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let fs = fcfg.open(cfg.clone());
        // Random payload, to tell corruption from repetition.
        let mut x = SystemClock.now_ns() as u64 | 1;
        let msg: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let subj = "z";
        for _ in 0..100 {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let check_num_blocks = |fs: &FileStore, n: usize| assert_eq!(fs.block_indexes().len(), n);
        let check_block = |fs: &FileStore, position: usize| {
            let (first, last, raw_bytes, path) = fs.block_info(position).unwrap();
            if fcfg.compression == StoreCompression::None {
                assert_eq!(raw_bytes, std::fs::metadata(&path).unwrap().len());
            }
            assert_eq!(fs.load_msg(first).unwrap().msg.as_ref(), msg.as_slice());
            assert_eq!(fs.load_msg(last).unwrap().msg.as_ref(), msg.as_slice());
        };
        check_num_blocks(&fs, 2);
        fs.compact(33).unwrap();
        check_num_blocks(&fs, 2);
        check_block(&fs, 0);
        check_block(&fs, 1);
        fs.compact(85).unwrap();
        check_num_blocks(&fs, 1);
        check_block(&fs, 0);
        fs.store_msg(subj, b"", &msg, 0).unwrap();
        check_num_blocks(&fs, 1);
        check_block(&fs, 0);
        fs.stop().unwrap();

        let fs = fcfg.open(cfg);
        check_num_blocks(&fs, 1);
        check_block(&fs, 0);
        fs.store_msg(subj, b"", &msg, 0).unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreRememberLastMsgTime" => file_store_remember_last_msg_time);
fn file_store_remember_last_msg_time() {
    all_permutations(|fcfg| {
        let cfg = StreamConfig {
            name: "TEST".to_string(),
            max_age: Duration::from_secs(1),
            ..zzz()
        };
        let clock = ManualClock::starting_now();
        let open = || fcfg.open_with_clock(cfg.clone(), clock.clone());
        let msg = b"X".repeat(2 * 1024 * 1024);

        let fs = open();
        let (seq, ts) = fs.store_msg("foo", b"", &msg, 0).unwrap();
        assert!(fs.remove_msg(seq).unwrap());
        assert_eq!(fs.state().last_time, ts);
        fs.stop().unwrap();
        let fs = open();
        assert_eq!(fs.state().last_time, ts);

        clock.advance(Duration::from_millis(1));
        let (seq, ts) = fs.store_msg("foo", b"", &msg, 0).unwrap();
        fs.load_msg(seq).unwrap();
        fs.purge().unwrap();
        fs.stop().unwrap();
        let fs = open();
        assert_eq!(fs.state().last_time, ts);

        clock.advance(Duration::from_millis(1));
        fs.store_msg("foo", b"", &msg, 0).unwrap();
        clock.advance(Duration::from_millis(1));
        let (seq, ts) = fs.store_msg("foo", b"", &msg, 0).unwrap();
        assert_eq!(seq, 4);
        // Wait until the messages expire.
        clock.advance(Duration::from_secs(2));
        run_expiry(&fs, &clock);
        assert_eq!(fs.state().msgs, 0);
        fs.stop().unwrap();
        let fs = open();
        assert_eq!(fs.state().last_time, ts);

        // Now make sure we retain the true last seq.
        clock.advance(Duration::from_millis(1));
        fs.store_msg("foo", b"", &msg, 0).unwrap();
        clock.advance(Duration::from_millis(1));
        let (seq, ts) = fs.store_msg("foo", b"", &msg, 0).unwrap();
        assert_eq!(seq, 6);
        assert!(fs.remove_msg(seq).unwrap());
        assert!(fs.remove_msg(seq - 1).unwrap());
        fs.stop().unwrap();
        let fs = open();
        assert_eq!(fs.state().last_time, ts);
        assert_eq!(fs.state().last_seq, 6);
    });
}

port!("server/filestore_test.go::TestFileStorePurgeExWithSubject" => file_store_purge_ex_with_subject);
fn file_store_purge_ex_with_subject() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 1000;
        let cfg = StreamConfig {
            name: "TEST".to_string(),
            subjects: vec!["foo.>".to_string()],
            ..zzz()
        };
        let fs = fcfg.open(cfg.clone());
        let payload = [0u8; 20];
        fs.store_msg("foo.0", b"", &payload, 0).unwrap();
        let total = 200u64;
        for _ in 0..total {
            fs.store_msg("foo.1", b"", &payload, 0).unwrap();
        }
        fs.store_msg("foo.2", b"", b"xxxxxx", 0).unwrap();
        assert_eq!(fs.purge_ex("foo.1", 0, 0).unwrap(), total);
        let state = fs.state();
        assert_eq!(state.msgs, 2);
        assert_eq!(state.first_seq, 1);
        fs.stop().unwrap();
        // natsd has no index.db: every restart recovers from the blocks, which must keep
        // the effect of the subject purge.
        let before = state;
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
    });
}

port!("server/filestore_test.go::TestFileStorePurgeExNoTombsOnBlockRemoval" => file_store_purge_ex_no_tombs_on_block_removal);
fn file_store_purge_ex_no_tombs_on_block_removal() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 1000;
        let cfg = StreamConfig {
            name: "TEST".to_string(),
            subjects: vec!["foo.>".to_string()],
            ..zzz()
        };
        let fs = fcfg.open(cfg.clone());
        let payload = [0u8; 20];
        let total = 100u64;
        for _ in 0..total {
            fs.store_msg("foo.1", b"", &payload, 0).unwrap();
        }
        fs.store_msg("foo.2", b"", &payload, 0).unwrap();
        assert_eq!(fs.block_indexes().len(), 6);
        // Purging all "foo.1" removes whole blocks: no tombstone per message.
        assert_eq!(fs.purge_ex("foo.1", 0, 0).unwrap(), total);
        let state = fs.state();
        assert_eq!(state.msgs, 1);
        assert_eq!(state.first_seq, 101);
        assert_eq!(fs.block_indexes().len(), 1);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        let state = fs.state();
        assert_eq!(state.msgs, 1);
        assert_eq!(state.first_seq, 101);
    });
}

port!("server/filestore_test.go::TestFileStoreMaxMsgsPerSubject" => file_store_max_msgs_per_subject);
fn file_store_max_msgs_per_subject() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 128;
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["kv.>".to_string()];
            c.max_msgs_per_subject = 1;
        }));
        let ns = 100;
        for _ in 0..2 {
            for i in 1..=ns {
                fs.store_msg(&format!("kv.{i}"), b"", b"value", 0).unwrap();
            }
        }
        let state = fs.state();
        assert_eq!(
            (
                state.msgs,
                state.first_seq,
                state.last_seq,
                state.deleted.len()
            ),
            (100, 101, 200, 0),
            "bad state: {state:?}"
        );
        assert_eq!(fs.block_indexes().len(), 34);
    });
}

port!("server/filestore_test.go::TestFileStoreMaxMsgsAndMaxMsgsPerSubject" => file_store_max_msgs_and_max_msgs_per_subject);
fn file_store_max_msgs_and_max_msgs_per_subject() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 128;
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["kv.>".to_string()];
            c.discard = DiscardPolicy::New;
            c.max_msgs = 100;
            c.discard_new_per_subject = true;
            c.max_msgs_per_subject = 1;
        }));
        for i in 1..=101 {
            let res = fs.store_msg(&format!("kv.{i}"), b"", b"value", 0);
            if i == 101 {
                assert!(res.is_err());
            } else {
                res.unwrap();
            }
        }
        for i in 1..=100 {
            assert!(fs.store_msg(&format!("kv.{i}"), b"", b"value", 0).is_err());
        }
        let state = fs.state();
        assert_eq!(
            (
                state.msgs,
                state.first_seq,
                state.last_seq,
                state.deleted.len()
            ),
            (100, 1, 100, 0),
            "bad state: {state:?}"
        );
    });
}

port!("server/filestore_test.go::TestFileStoreEncrypted" => file_store_encrypted);
fn file_store_encrypted() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        for _ in 0..50 {
            fs.store_msg("foo", b"", b"aes ftw", 0).unwrap();
        }
        let o = fs
            .consumer_store("o22", 0, &ConsumerConfig::default())
            .unwrap();
        let mut state = ConsumerState::default();
        state.delivered.consumer = 22;
        state.delivered.stream = 22;
        state.ack_floor.consumer = 11;
        state.ack_floor.stream = 11;
        o.update(&state).unwrap();
        o.stop().unwrap();
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        assert_eq!(fs.load_msg(10).unwrap().msg.as_ref(), b"aes ftw");
        let o = fs
            .consumer_store("o22", 0, &ConsumerConfig::default())
            .unwrap();
        let rstate = o.state().unwrap();
        assert_eq!(rstate.delivered, state.delivered);
        assert_eq!(rstate.ack_floor, state.ack_floor);
        // With a cipher, neither messages nor consumer state are readable on disk.
        if fcfg.cipher != StoreCipher::None {
            let o_dat = std::fs::read(fcfg.dir.join("obs").join("o22").join("o.dat")).unwrap();
            assert_ne!(o_dat, o.encoded_state().unwrap());
            for path in fs.block_paths() {
                let raw = std::fs::read(path).unwrap();
                assert!(!raw.windows(7).any(|w| w == b"aes ftw"));
            }
        }
    });
}

port!("server/filestore_test.go::TestFileStoreFSSCloseAndKeepOnExpireOnRecoverBug" => file_store_fss_close_and_keep_on_expire_on_recover_bug);
fn file_store_fss_close_and_keep_on_expire_on_recover_bug() {
    all_permutations(|fcfg| {
        let ttl = Duration::from_millis(100);
        let cfg = zzz_with(|c| {
            c.subjects = vec!["foo".to_string()];
            c.max_age = ttl;
        });
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.stop().unwrap();
        clock.advance(2 * ttl);
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        run_expiry(&fs, &clock);
        assert_eq!(fs.state().num_subjects, 0);
    });
}

port!("server/filestore_test.go::TestFileStoreExpireOnRecoverSubjectAccounting" => file_store_expire_on_recover_subject_accounting);
fn file_store_expire_on_recover_subject_accounting() {
    let msg = b"A".repeat(19);
    all_permutations(|mut fcfg| {
        fcfg.block_size = 100;
        let ttl = Duration::from_millis(200);
        let cfg = zzz_with(|c| {
            c.subjects = vec!["*".to_string()];
            c.max_age = ttl;
        });
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        // These are in the first block.
        fs.store_msg("A", b"", &msg, 0).unwrap();
        fs.store_msg("B", b"", &msg, 0).unwrap();
        clock.advance(ttl / 2);
        // This one in the second.
        fs.store_msg("C", b"", &msg, 0).unwrap();
        assert_eq!(fs.block_indexes().len(), 2);
        fs.stop().unwrap();
        clock.advance(ttl / 2 + Duration::from_millis(10));
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        run_expiry(&fs, &clock);
        assert_eq!(fs.state().num_subjects, 1);
    });
}

port!("server/filestore_test.go::TestFileStoreFSSExpireNumPendingBug" => file_store_fss_expire_num_pending_bug);
fn file_store_fss_expire_num_pending_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["KV.>".to_string()];
            c.max_msgs_per_subject = 1;
        }));
        // Go lets its per-block subject state expire first; natsd keeps none to expire.
        std::thread::sleep(Duration::from_millis(200));
        fs.store_msg("KV.X", b"", b"Y", 0).unwrap();
        assert_eq!(fs.filtered_state(1, "KV.X").unwrap().msgs, 1);
    });
}

port!("server/filestore_test.go::TestFileStoreFilteredFirstMatchingBug" => file_store_filtered_first_matching_bug);
fn file_store_filtered_first_matching_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.>".to_string()]));
        fs.store_msg("foo.foo", b"", b"A", 0).unwrap();
        fs.store_msg("foo.foo", b"", b"B", 0).unwrap();
        fs.store_msg("foo.foo", b"", b"C", 0).unwrap();
        // Go rebuilds its per-block subject state here; natsd's index is always complete.
        fs.store_msg("foo.bar", b"", b"X", 0).unwrap();
        let res = fs.load_next_msg("foo.foo", false, 4);
        assert!(
            res.is_err(),
            "loaded filtered message with wrong subject: {res:?}"
        );
    });
}

port!("server/filestore_test.go::TestFileStoreOutOfSpaceRebuildState" => file_store_out_of_space_rebuild_state);
fn file_store_out_of_space_rebuild_state() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
        fs.store_msg("foo", b"", b"A", 0).unwrap();
        fs.store_msg("bar", b"", b"B", 0).unwrap();
        let state = fs.state();
        let ss = fs.subjects_state(">");
        fs.fail_next_write();
        let err = fs.store_msg("baz", b"", b"C", 0).unwrap_err();
        assert!(err.to_string().contains("mock write error"), "{err}");
        assert_eq!(fs.state(), state);
        assert_eq!(fs.subjects_state(">"), ss);
    });
}

port!("server/filestore_test.go::TestFileStoreRebuildStateProperlyWithMaxMsgsPerSubject" => file_store_rebuild_state_properly_with_max_msgs_per_subject);
fn file_store_rebuild_state_properly_with_max_msgs_per_subject() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 4096;
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["foo".to_string(), "bar".to_string(), "baz".to_string()];
            c.max_msgs_per_subject = 1;
        }));
        fs.store_msg("baz", b"", b"", 0).unwrap();
        for _ in 1..=1000 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
            fs.store_msg("bar", b"", b"", 0).unwrap();
        }
        let ss = fs.fast_state();
        assert_eq!(ss.num_subjects, 3);
        assert_eq!(ss.msgs, 3);
    });
}

port!("server/filestore_test.go::TestFileStoreUpdateMaxMsgsPerSubject" => file_store_update_max_msgs_per_subject);
fn file_store_update_max_msgs_per_subject() {
    all_permutations(|fcfg| {
        let mut cfg = StreamConfig {
            name: "TEST".to_string(),
            subjects: vec!["foo".to_string()],
            max_msgs_per_subject: 10,
            ..zzz()
        };
        let fs = fcfg.open(cfg.clone());
        cfg.max_msgs_per_subject = 50;
        cfg.compression = fcfg.compression;
        fs.update_config(&mut cfg).unwrap();
        let num_stored = 22;
        for _ in 0..num_stored {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        assert_eq!(fs.subjects_state("foo")["foo"].msgs, num_stored);
        cfg.max_msgs_per_subject = 10;
        fs.update_config(&mut cfg).unwrap();
        assert_eq!(fs.subjects_state("foo")["foo"].msgs, 10);
    });
}

port!("server/filestore_test.go::TestFileStoreBadFirstAndFailedExpireAfterRestart" => file_store_bad_first_and_failed_expire_after_restart);
fn file_store_bad_first_and_failed_expire_after_restart() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 256;
        let ttl = Duration::from_secs(1);
        let cfg = zzz_with(|c| {
            c.subjects = vec!["foo".to_string()];
            c.max_age = ttl;
        });
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        let (subj, msg) = ("foo", b"ZZ");
        for _ in 0..7 {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        clock.advance(Duration::from_millis(1500));
        let (seq, _) = fs.store_msg(subj, b"", msg, 0).unwrap();
        fs.store_msg(subj, b"", msg, 0).unwrap();
        // Sequence 8 starts the second block.
        let last = fs.block_indexes().len() - 1;
        assert_eq!(fs.block_info(last).unwrap().0, 8);
        fs.remove_msg(seq).unwrap();
        fs.stop().unwrap();
        // Until the first block has expired, but not the second.
        clock.advance(Duration::from_millis(500));
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        run_expiry(&fs, &clock);
        let state = fs.fast_state();
        let ts = state.first_time;
        assert_eq!(state.msgs, 1);
        assert_eq!(state.first_seq, 9);
        assert_ne!(ts, 0);
        // The expiry keeps working.
        clock.advance(2 * ttl);
        run_expiry(&fs, &clock);
        let state = fs.fast_state();
        assert_eq!(state.msgs, 0);
        assert_eq!(state.first_seq, 10);
        assert_eq!(state.last_seq, 9);
        assert_eq!(state.last_time, ts);
    });
}

port!("server/filestore_test.go::TestFileStoreCompactAllWithDanglingLMB" => file_store_compact_all_with_dangling_lmb);
fn file_store_compact_all_with_dangling_lmb() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        for _ in 0..100 {
            fs.store_msg("foo", b"", b"ZZ", 0).unwrap();
        }
        fs.remove_msg(100).unwrap();
        assert_eq!(fs.compact(100).unwrap(), 99);
        fs.store_msg("foo", b"", b"ZZ", 0).unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreStateWithBlkFirstDeleted" => file_store_state_with_blk_first_deleted);
fn file_store_state_with_blk_first_deleted() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 4096;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        for _ in 0..500 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert!(fs.block_indexes().len() > 2);
        let fseq = fs.block_info(1).unwrap().0;
        for seq in fseq..fseq + 10 {
            assert!(fs.remove_msg(seq).unwrap());
        }
        assert_eq!(fs.fast_state().num_deleted, 10);
        assert_eq!(fs.state().num_deleted, 10);
    });
}

port!("server/filestore_test.go::TestFileStoreAllFilteredStateWithDeleted" => file_store_all_filtered_state_with_deleted);
fn file_store_all_filtered_state_with_deleted() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 1024;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        for _ in 0..100 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        let remove = |seqs: &[u64]| {
            for &seq in seqs {
                assert!(fs.remove_msg(seq).unwrap());
            }
        };
        let check = |start: u64, msgs: u64, first: u64, last: u64| {
            let fss = fs.filtered_state(start, "").unwrap();
            assert_eq!(
                (fss.msgs, fss.first, fss.last),
                (msgs, first, last),
                "from {start}"
            );
        };
        check(1, 100, 1, 100);
        remove(&[2]);
        check(2, 98, 3, 100);
        remove(&[3, 4, 5]);
        check(2, 95, 6, 100);
        check(6, 95, 6, 100);
        remove(&[8, 10, 12, 14, 16, 18]);
        check(7, 88, 7, 100);
        fs.purge().unwrap();
        check(0, 0, 101, 100);
    });
}

port!("server/filestore_test.go::TestFileStoreStreamTruncateResetMultiBlock" => file_store_stream_truncate_reset_multi_block);
fn file_store_stream_truncate_reset_multi_block() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 128;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        for _ in 0..1000 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        fs.flush_all_pending().unwrap();
        assert_eq!(fs.block_indexes().len(), 500);
        fs.truncate(0).unwrap();
        assert_eq!(fs.block_indexes().len(), 0);
        let state = fs.state();
        assert_eq!(
            (state.msgs, state.bytes, state.first_seq, state.last_seq),
            (0, 0, 0, 0)
        );
        assert_eq!((state.num_subjects, state.num_deleted), (0, 0));
        for _ in 0..1000 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        fs.flush_all_pending().unwrap();
        let state = fs.state();
        assert_eq!(
            (state.msgs, state.bytes, state.first_seq, state.last_seq),
            (1000, 44000, 1, 1000)
        );
        assert_eq!((state.num_subjects, state.num_deleted), (1, 0));
    });
}

port!("server/filestore_test.go::TestFileStoreStreamCompactMultiBlockSubjectInfo" => file_store_stream_compact_multi_block_subject_info);
fn file_store_stream_compact_multi_block_subject_info() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 128;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
        for i in 0..1000 {
            fs.store_msg(&format!("foo.{i}"), b"", b"Hello World", 0)
                .unwrap();
        }
        assert_eq!(fs.block_indexes().len(), 500);
        assert_eq!(fs.compact(501).unwrap(), 500);
        assert_eq!(fs.block_indexes().len(), 250);
        assert_eq!(fs.state().num_subjects, 500);
    });
}

port!("server/filestore_test.go::TestFileStoreInitialFirstSeq" => file_store_initial_first_seq);
fn file_store_initial_first_seq() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.first_seq = 1000));
        assert_eq!(fs.store_msg("A", b"", b"OK", 0).unwrap().0, 1000);
        assert_eq!(fs.store_msg("B", b"", b"OK", 0).unwrap().0, 1001);
        let state = fs.fast_state();
        assert_eq!(
            (state.msgs, state.first_seq, state.last_seq),
            (2, 1000, 1001)
        );
    });
}

/// A store without cipher or compression, as Go's tests that skip the permutations.
fn plain_fcfg(dir: &TempDir) -> Fcfg {
    Fcfg {
        dir: dir.0.clone(),
        block_size: 0,
        cipher: StoreCipher::None,
        compression: StoreCompression::None,
    }
}

port!("server/filestore_test.go::TestFileStoreSubjectsTotals" => file_store_subjects_totals);
fn file_store_subjects_totals() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*.*".to_string()]));
    let mut fmap = std::collections::HashMap::new();
    let mut bmap = std::collections::HashMap::new();
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..10_000 {
        let (ft, m) = if rand(2) == 0 {
            ("foo", &mut fmap)
        } else {
            ("bar", &mut bmap)
        };
        let dt = rand(100);
        *m.entry(dt).or_insert(0u64) += 1;
        fs.store_msg(&format!("{ft}.{dt}"), b"", b"Hello World", 0)
            .unwrap();
    }
    for (dt, total) in &fmap {
        let subj = format!("foo.{dt}");
        assert_eq!(fs.subjects_totals(&subj)[&subj], *total);
    }
    for (prefix, map) in [("foo", &fmap), ("bar", &bmap)] {
        let st = fs.subjects_totals(&format!("{prefix}.*"));
        assert_eq!(st.len(), map.len());
        assert_eq!(st.values().sum::<u64>(), map.values().sum::<u64>());
    }
    assert_eq!(fs.subjects_totals("*.*").len(), fmap.len() + bmap.len());
}

port!("server/filestore_test.go::TestFileStoreConsumerStoreEncodeAfterRestart" => file_store_consumer_store_encode_after_restart);
fn file_store_consumer_store_encode_after_restart() {
    all_permutations(|fcfg| {
        let cfg = ConsumerConfig {
            ack_policy: AckPolicy::Explicit,
            ..ConsumerConfig::default()
        };
        let mut state = ConsumerState::default();
        {
            let fs = fcfg.open(zzz());
            let o = fs.consumer_store("o22", 0, &cfg).unwrap();
            state.delivered.consumer = 22;
            state.delivered.stream = 22;
            state.ack_floor.consumer = 11;
            state.ack_floor.stream = 11;
            o.update(&state).unwrap();
            o.stop().unwrap();
            fs.stop().unwrap();
        }
        let fs = fcfg.open(zzz());
        let o = fs.consumer_store("o22", 0, &cfg).unwrap();
        let got = o.state().unwrap();
        assert_eq!(got.delivered, state.delivered);
        assert_eq!(got.ack_floor, state.ack_floor);
        o.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreNumPendingLargeNumBlks" => file_store_num_pending_large_num_blks);
fn file_store_num_pending_large_num_blks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["zzz".to_string()]));
    let msg = b"X".repeat(100);
    for _ in 0..10_000 {
        fs.store_msg("zzz", b"", &msg, 0).unwrap();
    }
    let timed = |sseq: u64, limit_ms: u128, expected: u64| {
        let start = std::time::Instant::now();
        let (total, _) = fs.num_pending(sseq, "zzz", false).unwrap();
        assert!(
            start.elapsed().as_millis() < limit_ms,
            "{:?}",
            start.elapsed()
        );
        assert_eq!(total, expected);
    };
    timed(4000, 15, 6001);
    timed(6000, 25, 4001);
    fs.remove_msg(1000).unwrap();
    fs.remove_msg(9000).unwrap();
    timed(4000, 50, 6000);
    timed(6000, 50, 4000);
}

port!("server/filestore_test.go::TestFileStoreSkipMsgAndNumBlocks" => file_store_skip_msg_and_num_blocks);
fn file_store_skip_msg_and_num_blocks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["zzz".to_string()]));
    let msg = b"X".repeat(100);
    fs.store_msg("zzz", b"", &msg, 0).unwrap();
    fs.skip_msgs(0, 10_000).unwrap();
    fs.store_msg("zzz", b"", &msg, 0).unwrap();
    assert_eq!(fs.block_indexes().len(), 3);
}

port!("server/filestore_test.go::TestFileStoreRestoreEncryptedWithNoKeyFuncFails" => file_store_restore_encrypted_with_no_key_func_fails);
fn file_store_restore_encrypted_with_no_key_func_fails() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.cipher = StoreCipher::Aes;
    let cfg = zzz_with(|c| c.subjects = vec!["zzz".to_string()]);
    let fs = fcfg.open(cfg.clone());
    let msg = b"X".repeat(100);
    for _ in 0..100 {
        fs.store_msg("zzz", b"", &msg, 0).unwrap();
    }
    fs.stop().unwrap();
    // Without a key generator the encrypted store does not open.
    let no_key = FileStoreConfig {
        prf: None,
        ..fcfg.store_config()
    };
    assert!(FileStore::open(no_key, fcfg.stream(cfg), system_clock()).is_err());
}

port!("server/filestore_test.go::TestFileStoreKeepWithDeletedMsgsBug" => file_store_keep_with_deleted_msgs_bug);
fn file_store_keep_with_deleted_msgs_bug() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
    let msg = b"A".repeat(19);
    for _ in 0..5 {
        fs.store_msg("A", b"", &msg, 0).unwrap();
        fs.store_msg("B", b"", &msg, 0).unwrap();
    }
    assert_eq!(fs.purge_ex("A", 0, 0).unwrap(), 5);
    // Purge with keep.
    assert_eq!(fs.purge_ex("", 0, 2).unwrap(), 3);
}

port!("server/filestore_test.go::TestFileStoreRestartWithExpireAndLockingBug" => file_store_restart_with_expire_and_locking_bug);
fn file_store_restart_with_expire_and_locking_bug() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let mut scfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
    let fs = fcfg.open(scfg.clone());
    for _ in 0..10 {
        fs.store_msg("A", b"", b"HELLO WORLD", 0).unwrap();
        fs.store_msg("B", b"", b"HELLO WORLD", 0).unwrap();
    }
    fs.stop().unwrap();
    // New limits under the stored messages: they are enforced while opening.
    scfg.max_msgs = 15;
    scfg.max_msgs_per_subject = 2;
    let fs = fcfg.open(scfg);
    let state = fs.state();
    assert_eq!(state.msgs, 4);
    assert_eq!(fs.subjects_totals("*").values().max(), Some(&2));
}

port!("server/filestore_test.go::TestFileStoreSkipMsgs" => file_store_skip_msgs);
fn file_store_skip_msgs() {
    let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 1024;
    let fs = fcfg.open(cfg.clone());
    assert_eq!(
        fs.skip_msgs(10, 100).unwrap_err(),
        StoreError::SequenceMismatch
    );
    fs.skip_msgs(1, 100).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq), (101, 100));
    assert_eq!(fs.block_indexes().len(), 1);
    fs.skip_msgs(101, 100_000).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq), (100_101, 100_100));
    assert_eq!(fs.block_indexes().len(), 1);

    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 1024;
    let fs = fcfg.open(cfg);
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.skip_msgs(2, 10).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq, state.msgs), (1, 11, 1));
    assert_eq!((state.num_deleted, state.deleted.len()), (10, 10));
    let state = fs.fast_state();
    assert_eq!((state.first_seq, state.last_seq, state.msgs), (1, 11, 1));
    assert_eq!(state.num_deleted, 10);
}

port!("server/filestore_test.go::TestFileStoreReloadAndLoseLastSequence" => file_store_reload_and_lose_last_sequence);
fn file_store_reload_and_lose_last_sequence() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    for _ in 0..22 {
        fs.skip_msg(0).unwrap();
    }
    let mut fs = fs;
    for _ in 0..5 {
        fs.stop().unwrap();
        fs = fcfg.open(cfg.clone());
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq), (23, 22));
    }
}

port!("server/filestore_test.go::TestFileStoreReloadAndLoseLastSequenceWithSkipMsgs" => file_store_reload_and_lose_last_sequence_with_skip_msgs);
fn file_store_reload_and_lose_last_sequence_with_skip_msgs() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let mut fs = fcfg.open(cfg.clone());
    fs.skip_msgs(0, 22).unwrap();
    for _ in 0..5 {
        fs.stop().unwrap();
        fs = fcfg.open(cfg.clone());
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq), (23, 22));
    }
}

port!("server/filestore_test.go::TestFileStoreMessageTTL" => file_store_message_ttl);
fn file_store_message_ttl() {
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let fs = plain_fcfg(&dir).open_with_clock(
        zzz_with(|c| {
            c.subjects = vec!["test".to_string()];
            c.allow_msg_ttl = true;
        }),
        clock.clone(),
    );
    let ttl = 1; // One second.
    for _ in 1..=10 {
        fs.store_msg("test", b"", b"", ttl).unwrap();
    }
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (11, 10, 0));
}

port!("server/filestore_test.go::TestFileStoreAllLastSeqs" => file_store_all_last_seqs);
fn file_store_all_last_seqs() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = vec!["*.*".to_string()];
        c.max_msgs_per_subject = 50;
    }));
    let subjs = [
        "foo.foo", "foo.bar", "foo.baz", "bar.foo", "bar.bar", "bar.baz",
    ];
    let mut x = SystemClock.now_ns() as u64 | 1;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        fs.store_msg(subjs[(x % subjs.len() as u64) as usize], b"", b"abc", 0)
            .unwrap();
    }
    let mut expected: Vec<u64> = subjs
        .iter()
        .map(|s| fs.load_last_msg(s).unwrap().seq)
        .collect();
    expected.sort_unstable();
    assert_eq!(fs.all_last_seqs().unwrap(), expected);
}

port!("server/filestore_test.go::TestFileStoreMessageTTLRestart" => file_store_message_ttl_restart);
fn file_store_message_ttl_restart() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| {
        c.subjects = vec!["test".to_string()];
        c.allow_msg_ttl = true;
    });
    let clock = ManualClock::starting_now();
    // Before the restart.
    {
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        for _ in 1..=10 {
            fs.store_msg("test", b"", b"", 1).unwrap();
        }
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
        fs.stop().unwrap();
    }
    // After the restart.
    let fs = fcfg.open_with_clock(cfg, clock.clone());
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (11, 10, 0));
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqs" => file_store_multi_last_seqs);
fn file_store_multi_last_seqs() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    // Small blocks to test multi-block selections with a max sequence.
    fcfg.block_size = 256;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*", "bar.*"])));
    for prefix in ["foo", "bar"] {
        for _ in 0..33 {
            for last in ["foo", "bar", "baz"] {
                fs.store_msg(&format!("{prefix}.{last}"), b"", b"abc", 0)
                    .unwrap();
            }
        }
    }
    // Go passes -1 for "no limit"; the Rust API takes 0.
    let check = |filters: &[&str], max_seq: u64, expected: &[u64]| {
        let seqs = fs.multi_last_seqs(&strings(filters), max_seq, 0).unwrap();
        assert_eq!(seqs, expected, "{filters:?} up to {max_seq}");
    };
    check(&["foo.*"], 3, &[1, 2, 3]);
    check(&["foo.*"], 0, &[97, 98, 99]);
    check(&["bar.*"], 0, &[196, 197, 198]);
    check(&["bar.*"], 99, &[]);
    check(&["foo.foo", "foo.bar", "foo.baz"], 3, &[1, 2, 3]);
    check(&["foo.foo", "foo.bar", "foo.baz"], 0, &[97, 98, 99]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 99, &[]);
    check(&["foo.foo"], 3, &[1]);
    check(&["foo.*", "foo.bar"], 3, &[1, 2, 3]);
    check(&["bar.>", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    check(&[">"], 0, &[97, 98, 99, 196, 197, 198]);
    check(&[">"], 99, &[97, 98, 99]);
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqsMaxAllowed" => file_store_multi_last_seqs_max_allowed);
fn file_store_multi_last_seqs_max_allowed() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&["foo.*"])));
    for i in 1..=100 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    assert_eq!(
        fs.multi_last_seqs(&strings(&["foo.*"]), 0, 10),
        Err(StoreError::TooManyResults)
    );
}

port!("server/filestore_test.go::TestFileStoreSubjectForSeq" => file_store_subject_for_seq);
fn file_store_subject_for_seq() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(StreamConfig {
        name: "foo".to_string(),
        subjects: strings(&["foo.>"]),
        ..zzz()
    });
    assert_eq!(fs.store_msg("foo.bar", b"", b"", 0).unwrap().0, 1);
    assert_eq!(fs.subject_for_seq(0), Err(StoreError::MsgNotFound));
    assert_eq!(fs.subject_for_seq(1).unwrap(), "foo.bar");
    assert_eq!(fs.subject_for_seq(2), Err(StoreError::MsgNotFound));
}

port!("server/filestore_test.go::TestFileStoreLoadLastWildcardWithPresenceMultipleBlocks" => file_store_load_last_wildcard_with_presence_multiple_blocks);
fn file_store_load_last_wildcard_with_presence_multiple_blocks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 64;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*.*"])));
    fs.store_msg("foo.22.bar", b"", b"hello", 0).unwrap();
    fs.store_msg("foo.22.baz", b"", b"ok", 0).unwrap();
    fs.store_msg("foo.22.baz", b"", b"ok", 0).unwrap();
    fs.store_msg("foo.22.bar", b"", b"hello22", 0).unwrap();
    assert!(fs.block_indexes().len() > 1);
    assert_eq!(
        fs.load_last_msg("foo.*.bar").unwrap().msg.as_ref(),
        b"hello22"
    );
}

port!("server/filestore_test.go::TestFileStoreCheckSkipFirstBlockBug" => file_store_check_skip_first_block_bug);
fn file_store_check_skip_first_block_bug() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*.*"])));
    let msg = b"hello";
    fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    for _ in 0..5 {
        fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    }
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    // BB BB | AA BB | BB BB | BB BB | AA AA
    assert_eq!(fs.block_indexes().len(), 5);
    fs.remove_msg(3).unwrap();
    fs.remove_msg(4).unwrap();
    // BB BB | -- -- | BB BB | BB BB | AA AA
    assert_eq!(fs.block_indexes().len(), 4);
    fs.load_next_msg("foo.AA.bar", false, 4).unwrap();
}

port!("server/filestore_test.go::TestFileStoreNumPendingMulti" => file_store_num_pending_multi);
fn file_store_num_pending_multi() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&["ev.*"])));
    let total_msgs = 100_000u64;
    let total_subjects = 10_000u64;
    let num_filtered = 5000;
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let start_seq = 5_000 + rand(90_000);
    let subjects: Vec<String> = (0..total_subjects)
        .map(|i| format!("ev.{:016x}{i}", rand(u64::MAX)))
        .collect();
    let msg = b"ZZZ".repeat(333);
    for _ in 0..total_msgs {
        fs.store_msg(&subjects[rand(total_subjects) as usize], b"", &msg, 0)
            .unwrap();
    }
    let mut filters = SubjectFilters::new();
    let mut count = 0;
    while count < num_filtered {
        let filter = &subjects[rand(total_subjects) as usize];
        if !filters.has_interest(filter) {
            filters.insert(filter);
            count += 1;
        }
    }
    let (total, _) = fs.num_pending_multi(start_seq, &filters, false).unwrap();
    let mut check_total = 0;
    for seq in start_seq..=total_msgs {
        let sm = fs.load_msg(seq).unwrap();
        if filters.has_interest(&sm.subject) {
            check_total += 1;
        }
    }
    assert_eq!(total, check_total);
}

port!("server/filestore_test.go::TestFileStoreSubjectDeleteMarkers" => file_store_subject_delete_markers);
fn file_store_subject_delete_markers() {
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let fs = std::sync::Arc::new(plain_fcfg(&dir).open_with_clock(
        zzz_with(|c| {
            c.subjects = strings(&["test"]);
            c.max_age = Duration::from_secs(1);
            c.allow_msg_ttl = true;
            c.subject_delete_marker_ttl = Duration::from_secs(1);
        }),
        clock.clone(),
    ));
    // Capture subject delete marker proposals.
    let (tx, rx) = std::sync::mpsc::channel();
    let weak = std::sync::Arc::downgrade(&fs);
    fs.register_storage_remove_msg(std::sync::Arc::new(move |seq| {
        if let Some(fs) = weak.upgrade() {
            fs.remove_msg(seq).unwrap();
        }
    }));
    let tx = std::sync::Mutex::new(tx);
    fs.register_process_jetstream_msg(std::sync::Arc::new(move |im| {
        let _ = tx.lock().unwrap().send(im);
    }));
    for _ in 0..3 {
        fs.store_msg("test", b"", b"", 0).unwrap();
    }
    // Let max age pass.
    clock.advance(Duration::from_millis(1500));
    run_expiry(&fs, &clock);
    let im = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        header_value(&im.hdr, JS_MARKER_REASON).unwrap(),
        JS_MARKER_REASON_MAX_AGE.as_bytes()
    );
    assert_eq!(header_value(&im.hdr, JS_MESSAGE_TTL).unwrap(), b"1s");
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqsDoesNotReorderConfigSubjects" => file_store_multi_last_seqs_does_not_reorder_config_subjects);
fn file_store_multi_last_seqs_does_not_reorder_config_subjects() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = strings(&["orders.*", "billing.*"])
    }));
    fs.store_msg("orders.1", b"", b"x", 0).unwrap();
    fs.store_msg("billing.1", b"", b"x", 0).unwrap();
    // As many filters as configured subjects.
    fs.multi_last_seqs(&strings(&["orders.*", "billing.*"]), 0, 0)
        .unwrap();
    let cfg = fs.config();
    assert_eq!(cfg.subjects[0], "orders.*");
    assert_eq!(cfg.subjects[1], "billing.*");
}

port!("server/filestore_test.go::TestFileStoreCompactStoreMsgRace" => file_store_compact_store_msg_race);
fn file_store_compact_store_msg_race() {
    let dir = TempDir::new();
    let fs = std::sync::Arc::new(plain_fcfg(&dir).open(zzz()));
    fs.store_msg("foo", b"", b"first", 0).unwrap();
    let compactor = {
        let fs = fs.clone();
        std::thread::spawn(move || fs.compact(2))
    };
    let storer = {
        let fs = fs.clone();
        std::thread::spawn(move || fs.store_msg("foo", b"", b"second", 0))
    };
    assert_eq!(compactor.join().unwrap().unwrap(), 1);
    assert_eq!(storer.join().unwrap().unwrap().0, 2);
    assert_eq!(fs.load_msg(2).unwrap().seq, 2);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 2, 2));
}

port!("server/filestore_test.go::TestFileStoreLargeFullStatePSIM" => file_store_large_full_state_psim);
fn file_store_large_full_state_psim() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&[">"])));
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..100_000 {
        // 1-6 tokens of 2-9 random bytes in hex.
        let tokens: Vec<String> = (0..rand(6) + 1)
            .map(|_| {
                (0..rand(8) + 2)
                    .map(|_| format!("{:02x}", rand(256)))
                    .collect()
            })
            .collect();
        fs.store_msg(&tokens.join("."), b"", b"", 0).unwrap();
    }
    fs.stop().unwrap();
}
