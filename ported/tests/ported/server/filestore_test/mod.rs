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

mod batch_b;
mod batch_c;
mod batch_d;
mod compaction;
mod consumer;
mod from_bad_consumer_state;
mod from_partial_cache_expiration;
mod from_subjects_totals;
mod jetstream_api;
mod meta;
mod recovery;
mod schedule_ttl;
mod snapshot;
mod state_file;

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

/// Removes the stream state file a clean stop leaves (Go: `os.Remove` of
/// `msgs/index.db`), so that the next open recovers from the blocks. It must be there.
fn remove_state_file(fcfg: &Fcfg) {
    let path = fcfg
        .msgs_dir()
        .join(natsd_store::file::state_file::STATE_FILE);
    std::fs::remove_file(&path).expect("the state file of a clean stop");
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

        // The same state after a restart, then without the state file.
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
        remove_state_file(&fcfg);
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

/// A store without cipher or compression, as Go's tests that skip the permutations.
fn plain_fcfg(dir: &TempDir) -> Fcfg {
    Fcfg {
        dir: dir.0.clone(),
        block_size: 0,
        cipher: StoreCipher::None,
        compression: StoreCompression::None,
    }
}
