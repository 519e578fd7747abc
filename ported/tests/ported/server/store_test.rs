//! Ports of `server/store_test.go`.
//!
//! Most Go tests here run against the memory and the file store
//! (`testAllStoreAllPermutations`); [`test_all_stores`] does the same, and with
//! `permutations` runs the file store under every cipher and compression, as Go's
//! `testFileStoreAllPermutations`. Go's stores expire on timers; ours are driven by their
//! owner (`expire_msgs`), so ports that sleep for a timer in Go advance a manual clock and
//! make that call.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use natsd_store::file::state_file::STATE_FILE;
use natsd_store::file::{js_key_gen, FileStore, FileStoreConfig, StoreCipher, MSGS_DIR};
use natsd_store::mem::MemStore;
use natsd_store::*;
use ported::port;

/// A directory removed when dropped (Go's `t.TempDir()`).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "natsd-store-test-{}-{}-{}",
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

/// One store under test, with what a test needs to reach its kind-specific parts.
struct TestStore {
    store: Arc<dyn Store>,
    mem: Option<Arc<MemStore>>,
    file: Option<(Arc<FileStore>, FileStoreConfig)>,
    clock: SharedClock,
    _dir: Option<TempDir>,
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl TestStore {
    fn storage(&self) -> StorageType {
        self.store.storage_type()
    }

    /// Interior deletes the store tracks (Go's `dmapEntries` / memory store `dmap.Size`).
    fn dmap_entries(&self) -> usize {
        match (&self.mem, &self.file) {
            (Some(ms), _) => ms.dmap_size(),
            (_, Some((fs, _))) => fs.dmap_entries(),
            _ => unreachable!("a test store is a memory or a file store"),
        }
    }

    /// The stream config for this kind (Go sets `cfg.Storage` per store type).
    fn cfg_for(&self, mut cfg: StreamConfig) -> StreamConfig {
        cfg.storage = self.storage();
        cfg
    }
}

/// The file store configurations Go's `testFileStoreAllPermutations` runs.
fn file_permutations() -> Vec<(StoreCipher, StoreCompression)> {
    let mut out = Vec::new();
    for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
        for compression in [StoreCompression::None, StoreCompression::S2] {
            out.push((cipher, compression));
        }
    }
    out
}

fn open_file_store(
    cfg: &StreamConfig,
    cipher: StoreCipher,
    clock: SharedClock,
) -> (Arc<FileStore>, FileStoreConfig, TempDir) {
    let dir = TempDir::new();
    let mut fcfg = FileStoreConfig::new(dir.0.clone());
    fcfg.cipher = cipher;
    if cipher != StoreCipher::None {
        // Go's test key generator: HMAC-SHA256 keyed by "dlc22".
        fcfg.prf = Some(js_key_gen("dlc22", ""));
    }
    let fs = Arc::new(FileStore::open(fcfg.clone(), cfg.clone(), clock).unwrap());
    (fs, fcfg, dir)
}

/// Runs `f` against a memory store and a file store (every cipher and compression when
/// `permutations`), all reading time from `clock`.
fn test_all_stores_with_clock(
    permutations: bool,
    cfg: StreamConfig,
    clock: SharedClock,
    f: impl Fn(&TestStore),
) {
    let mut mcfg = cfg.clone();
    mcfg.storage = StorageType::Memory;
    let mem = Arc::new(MemStore::with_clock(mcfg, clock.clone()).unwrap());
    let ms = TestStore {
        store: mem.clone(),
        mem: Some(mem),
        file: None,
        clock: clock.clone(),
        _dir: None,
    };
    run_labelled("Memory", || f(&ms));
    ms.stop().unwrap();

    let variants = if permutations {
        file_permutations()
    } else {
        vec![(StoreCipher::None, cfg.compression)]
    };
    for (cipher, compression) in variants {
        let mut fcfg_stream = cfg.clone();
        fcfg_stream.storage = StorageType::File;
        fcfg_stream.compression = compression;
        let (fs, fcfg, dir) = open_file_store(&fcfg_stream, cipher, clock.clone());
        let ts = TestStore {
            store: fs.clone(),
            mem: None,
            file: Some((fs, fcfg)),
            clock: clock.clone(),
            _dir: Some(dir),
        };
        run_labelled(&format!("File/{cipher:?}-{compression:?}"), || f(&ts));
        ts.stop().unwrap();
    }
}

/// Runs one store kind's subtest, naming the kind if it fails (Go's `t.Run` name).
fn run_labelled(kind: &str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        eprintln!("subtest {kind} failed");
        std::panic::resume_unwind(panic);
    }
}

fn test_all_stores(permutations: bool, cfg: StreamConfig, f: impl Fn(&TestStore)) {
    test_all_stores_with_clock(permutations, cfg, system_clock(), f);
}

fn named(name: &str, subjects: &[&str]) -> StreamConfig {
    StreamConfig {
        name: name.to_string(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

port!("server/store_test.go::TestStoreMsgLoadNextMsgMulti" => store_msg_load_next_msg_multi);
fn store_msg_load_next_msg_multi() {
    test_all_stores(false, named("zzz", &["foo.*"]), |fs| {
        for i in 0..1000 {
            fs.store_msg(&format!("foo.{i}"), &[], b"ZZZ", 0).unwrap();
        }
        // One wildcard entry.
        let sl: SubjectFilters = ["foo.>"].into_iter().collect();
        for (i, seq) in (1..=1000u64).enumerate() {
            let (sm, nseq) = fs.load_next_msg_multi(&sl, seq).unwrap();
            assert_eq!(sm.subject, format!("foo.{i}"));
            assert_eq!(nseq, seq);
        }
        // A thousand literal subjects.
        let sl: SubjectFilters = (0..1000).map(|i| format!("foo.{i}")).collect();
        for (i, seq) in (1..=1000u64).enumerate() {
            let (sm, nseq) = fs.load_next_msg_multi(&sl, seq).unwrap();
            assert_eq!(sm.subject, format!("foo.{i}"));
            assert_eq!(nseq, seq);
        }
        // Three individuals.
        let sl: SubjectFilters = ["foo.2", "foo.222", "foo.999"].into_iter().collect();
        let (sm, seq) = fs.load_next_msg_multi(&sl, 1).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.2", 3));
        let (sm, seq) = fs.load_next_msg_multi(&sl, seq + 1).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.222", 223));
        let (sm, seq) = fs.load_next_msg_multi(&sl, seq + 1).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.999", 1000));
        let (_, seq) = fs.load_next_msg_multi(&sl, seq + 1).unwrap_err();
        assert_eq!(seq, 1000);
    });
}

port!("server/store_test.go::TestStoreLoadNextMsgWildcardStartBeforeFirstMatch" => store_load_next_msg_wildcard_start_before_first_match);
fn store_load_next_msg_wildcard_start_before_first_match() {
    test_all_stores(false, named("zzz", &["bar.*", "foo.*"]), |fs| {
        // Non-matching subjects first, so the first match is after the start.
        for i in 0..100 {
            fs.store_msg(&format!("bar.{i}"), &[], &[], 0).unwrap();
        }
        let (seq, _) = fs.store_msg("foo.1", &[], &[], 0).unwrap();
        assert_eq!(seq, 101);
        let (sm, nseq) = fs.load_next_msg("foo.*", true, 1).unwrap();
        assert_eq!(sm.subject, "foo.1");
        assert_eq!(nseq, 101);
        let (_, nseq) = fs.load_next_msg("foo.*", true, nseq + 1).unwrap_err();
        assert_eq!(nseq, 101);
    });
}

port!("server/store_test.go::TestStoreDeleteSlice" => store_delete_slice);
fn store_delete_slice() {
    let ds = DeleteSlice(vec![2]);
    let mut deletes = Vec::new();
    ds.range(&mut |seq| {
        deletes.push(seq);
        true
    });
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0], 2);
    assert_eq!(ds.state(), (2, 2, 1));
}

port!("server/store_test.go::TestStoreDeleteRange" => store_delete_range);
fn store_delete_range() {
    let dr = DeleteRange { first: 2, num: 1 };
    let mut deletes = Vec::new();
    dr.range(&mut |seq| {
        deletes.push(seq);
        true
    });
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0], 2);
    assert_eq!(dr.state(), (2, 2, 1));
}

port!("server/store_test.go::TestStoreSubjectStateConsistency" => store_subject_state_consistency);
fn store_subject_state_consistency() {
    test_all_stores(false, named("TEST", &["foo"]), |fs| {
        let subject_state = || fs.subjects_state("foo")["foo"];
        let expect_first_seq = |eseq: u64| {
            let (sm, _) = fs.load_next_msg("foo", false, 0).unwrap();
            assert_eq!(sm.seq, eseq);
        };
        let expect_last_seq = |eseq: u64| {
            assert_eq!(fs.load_last_msg("foo").unwrap().seq, eseq);
        };
        let check = |msgs: u64, first: u64, last: u64| {
            let ss = subject_state();
            assert_eq!(ss.msgs, msgs);
            assert_eq!(ss.first, first);
            expect_first_seq(first);
            assert_eq!(ss.last, last);
            expect_last_seq(last);
        };
        let remove = |seq: u64| assert!(fs.remove_msg(seq).unwrap());

        for _ in 0..4 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        check(4, 1, 4);
        // Removing the first marks it lazy; reading corrects it to 2.
        remove(1);
        check(3, 2, 4);
        // Removing the last marks it lazy; reading corrects it to 3.
        remove(4);
        check(2, 2, 3);
        // One message left: first and last agree.
        remove(2);
        check(1, 3, 3);

        for _ in 0..3 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        check(4, 3, 7);
        // Last, then first, then the new first: both need recalculating and agree.
        remove(7);
        remove(3);
        remove(5);
        check(1, 6, 6);

        // A new last removed, then another new last.
        fs.store_msg("foo", &[], &[], 0).unwrap();
        remove(8);
        fs.store_msg("foo", &[], &[], 0).unwrap();
        check(2, 6, 9);
    });
}

port!("server/store_test.go::TestStoreSubjectStateConsistencyOptimization" => store_subject_state_consistency_optimization);
fn store_subject_state_consistency_optimization() {
    // Go checks that removals leave a subject's first/last stale and flagged for a lazy
    // recount rather than scanning, and that reads then find the right messages. natsd's
    // subject state has no stale form: the same facts are checked as the exact bounds the
    // lazy recount must arrive at, plus the same loads.
    test_all_stores(false, named("TEST", &["foo"]), |fs| {
        let fill = |count: usize| {
            for _ in 0..count {
                fs.store_msg("foo", &[], &[], 0).unwrap();
            }
        };
        let remove = |seqs: &[u64]| {
            for &seq in seqs {
                assert!(fs.remove_msg(seq).unwrap());
            }
        };
        let expect = |msgs: u64, seq: u64| {
            let ss = fs.subjects_state("foo")["foo"];
            assert_eq!(ss.msgs, msgs);
            assert_eq!((ss.first, ss.last), (seq, seq));
            let (sm, _) = fs.load_next_msg("foo", false, 0).unwrap();
            assert_eq!(sm.seq, seq);
            assert_eq!(fs.load_last_msg("foo").unwrap().seq, seq);
        };

        // Down to one message from the front.
        fill(3);
        remove(&[2, 1]);
        expect(1, 3);

        // First removed, then last: the one left is in the middle.
        fill(2);
        remove(&[3, 5]);
        expect(1, 4);

        // Last removed, then first.
        fill(2);
        remove(&[7, 4]);
        expect(1, 6);

        // Both new messages removed, newest first: the old one is first and last.
        fill(2);
        remove(&[9, 8]);
        expect(1, 6);
    });
}

port!("server/store_test.go::TestStoreMaxMsgsPerUpdateBug" => store_max_msgs_per_update_bug);
fn store_max_msgs_per_update_bug() {
    let config = || StreamConfig {
        max_msgs_per_subject: 0,
        ..named("TEST", &["foo"])
    };
    test_all_stores(false, config(), |fs| {
        for _ in 0..5 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        let ss = fs.state();
        assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (5, 1, 5));

        // From unlimited to 1: the update removes the extra messages.
        let mut cfg = fs.cfg_for(config());
        cfg.max_msgs_per_subject = 1;
        fs.update_config(&mut cfg).unwrap();
        let ss = fs.state();
        assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 5, 5));

        // An invalid limit (< -1) is normalized to -1.
        cfg.max_msgs_per_subject = -2;
        fs.update_config(&mut cfg).unwrap();
        assert_eq!(cfg.max_msgs_per_subject, -1);
    });
}

port!("server/store_test.go::TestStoreMaxMsgsPerUpdateToOneRemoveNewest" => store_max_msgs_per_update_to_one_remove_newest);
fn store_max_msgs_per_update_to_one_remove_newest() {
    let config = || StreamConfig {
        max_msgs_per_subject: -1,
        ..named("TEST", &["foo.*"])
    };
    test_all_stores(false, config(), |fs| {
        fs.store_msg("foo.0", &[], &[], 0).unwrap();
        // Fillers big enough that the file store rolls to new blocks, so the copies of
        // "foo.0" live in different blocks.
        let msg = vec![0u8; 1024 * 1024];
        let fill_block = |expected_blocks: usize| {
            for i in 1..=9 {
                fs.store_msg(&format!("foo.{i}"), &[], &msg, 0).unwrap();
            }
            if let Some((f, _)) = &fs.file {
                assert!(f.block_indexes().len() >= expected_blocks);
            }
        };
        fill_block(2);
        let (nseq, _) = fs.store_msg("foo.0", &[], &[], 0).unwrap();
        // A third copy in its own block, removed again.
        fill_block(3);
        let (lseq, _) = fs.store_msg("foo.0", &[], &[], 0).unwrap();
        assert!(fs.remove_msg(lseq).unwrap());

        let mut cfg = fs.cfg_for(config());
        cfg.max_msgs_per_subject = 1;
        fs.update_config(&mut cfg).unwrap();

        let ss = fs.subjects_state("foo.0")["foo.0"];
        assert_eq!((ss.msgs, ss.first, ss.last), (1, nseq, nseq));
        assert_eq!(fs.load_last_msg("foo.0").unwrap().seq, nseq);
        assert_eq!(fs.load_next_msg("foo.0", false, 0).unwrap().0.seq, nseq);

        // The remaining copy is also found after a restart.
        if let Some((f, fcfg)) = &fs.file {
            f.stop().unwrap();
            let f = FileStore::open(fcfg.clone(), cfg.clone(), fs.clock.clone()).unwrap();
            assert_eq!(f.load_last_msg("foo.0").unwrap().seq, nseq);
            f.stop().unwrap();
        }
    });
}

port!("server/store_test.go::TestStoreCompactFullyDeletedRange" => store_compact_fully_deleted_range);
fn store_compact_fully_deleted_range() {
    test_all_stores(false, named("TEST", &["foo"]), |fs| {
        for _ in 0..3 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        // Remove the range about to be compacted, keeping the first message.
        fs.remove_msg(2).unwrap();
        fs.remove_msg(3).unwrap();
        let state = fs.state();
        assert_eq!(state.first_seq, 1);
        assert_eq!(state.last_seq, 3);
        // Compacting to a deleted sequence leaves the stream empty.
        fs.compact(2).unwrap();
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert_eq!(state.last_seq, 3);
        assert_eq!(state.first_seq, state.last_seq + 1);
        assert_eq!(state.first_time, 0, "first time must be zero");
    });
}

port!("server/store_test.go::TestStorePurgeExZero" => store_purge_ex_zero);
fn store_purge_ex_zero() {
    test_all_stores(false, named("TEST", &["foo"]), |fs| {
        fs.purge().unwrap();
        let ss = fs.state();
        assert_eq!((ss.first_seq, ss.last_seq), (1, 0));
        // PurgeEx with sequence 0 is the same.
        fs.purge_ex("", 0, 0).unwrap();
        let ss = fs.state();
        assert_eq!((ss.first_seq, ss.last_seq), (1, 0));
    });
}

port!("server/store_test.go::TestStorePurgeExSequenceOne" => store_purge_ex_sequence_one);
fn store_purge_ex_sequence_one() {
    test_all_stores(true, named("TEST", &["foo", "bar"]), |fs| {
        for _ in 0..5 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
            fs.store_msg("bar", &[], &[], 0).unwrap();
        }
        let before = fs.state();
        for (subject, keep) in [("", 0), (">", 0), ("foo", 0), ("", 3), ("foo", 3)] {
            assert_eq!(
                fs.purge_ex(subject, 1, keep).unwrap(),
                0,
                "{subject:?} keep {keep}"
            );
            let after = fs.state();
            assert_eq!(after.msgs, before.msgs);
            assert_eq!(after.first_seq, before.first_seq);
            assert_eq!(after.last_seq, before.last_seq);
        }
    });
}

port!("server/store_test.go::TestStorePurgeExKeepWithInteriorDeletes" => store_purge_ex_keep_with_interior_deletes);
fn store_purge_ex_keep_with_interior_deletes() {
    test_all_stores(false, named("TEST", &["foo"]), |fs| {
        for _ in 0..50 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        // Every other message removed: interior gaps.
        for seq in (2..=50).step_by(2) {
            fs.remove_msg(seq).unwrap();
        }
        let ss = fs.state();
        assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (25, 1, 50));
        // Keep the newest 5: 41, 43, 45, 47, 49.
        assert_eq!(fs.purge_ex("", 0, 5).unwrap(), 20);
        let ss = fs.state();
        assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (5, 41, 50));
    });
}

port!("server/store_test.go::TestStoreUpdateConfigTTLState" => store_update_config_ttl_state);
fn store_update_config_ttl_state() {
    let clock = ManualClock::starting_now();
    let config = || named("TEST", &["foo"]);
    test_all_stores_with_clock(false, config(), clock.clone(), |fs| {
        let mut cfg = fs.cfg_for(config());
        // Two seconds pass and the store's expiry runs (Go sleeps for its timer).
        let wait = || {
            clock.advance(Duration::from_secs(2));
            fs.expire_msgs();
        };
        // TTLs disabled: the message survives.
        let (seq, _) = fs.store_msg("foo", &[], &[], 1).unwrap();
        wait();
        fs.load_msg(seq).unwrap();
        // TTLs enabled: the message is removed.
        cfg.allow_msg_ttl = true;
        fs.update_config(&mut cfg).unwrap();
        let (seq, _) = fs.store_msg("foo", &[], &[], 1).unwrap();
        wait();
        assert!(fs.load_msg(seq).is_err());
        // Disabled again: the message survives.
        cfg.allow_msg_ttl = false;
        fs.update_config(&mut cfg).unwrap();
        let (seq, _) = fs.store_msg("foo", &[], &[], 1).unwrap();
        wait();
        fs.load_msg(seq).unwrap();
    });
}

port!("server/store_test.go::TestStoreMsgLoadPrevMsgMulti" => store_msg_load_prev_msg_multi);
fn store_msg_load_prev_msg_multi() {
    test_all_stores(false, named("zzz", &["foo.*"]), |fs| {
        for i in 0..1000 {
            fs.store_msg(&format!("foo.{}", i + 1), &[], b"ZZZ", 0)
                .unwrap();
        }
        let state = fs.fast_state();
        let sl: SubjectFilters = ["foo.5", "foo.15", "foo.105"].into_iter().collect();
        let mut count = 0;
        let mut seq = state.last_seq;
        while seq > 5 {
            let (sm, found) = fs.load_prev_msg_multi(&sl, seq).unwrap();
            assert_eq!(sm.subject, format!("foo.{}", sm.seq));
            count += 1;
            seq = found - 1;
        }
        assert_eq!(
            fs.load_prev_msg_multi(&sl, 4).unwrap_err().0,
            StoreError::Eof
        );
        assert_eq!(count, 3);
    });
}

port!("server/store_test.go::TestStoreGetSeqFromTimeWithInteriorDeletesGap" => store_get_seq_from_time_with_interior_deletes_gap);
fn store_get_seq_from_time_with_interior_deletes_gap() {
    test_all_stores(false, named("zzz", &["foo"]), |fs| {
        let mut start = 0;
        for i in 0..10 {
            let (_, ts) = fs.store_msg("foo", &[], &[], 0).unwrap();
            if i == 1 {
                start = ts;
            }
        }
        // A gap of deletes that a plain binary search over sequences would land in.
        for seq in 4..=7 {
            fs.remove_msg(seq).unwrap();
        }
        assert_eq!(fs.get_seq_from_time(start), 2);
    });
}

port!("server/store_test.go::TestStoreGetSeqFromTimeWithTrailingDeletes" => store_get_seq_from_time_with_trailing_deletes);
fn store_get_seq_from_time_with_trailing_deletes() {
    test_all_stores(false, named("zzz", &["foo"]), |fs| {
        let mut start = 0;
        for i in 0..3 {
            let (_, ts) = fs.store_msg("foo", &[], &[], 0).unwrap();
            if i == 1 {
                start = ts;
            }
        }
        fs.remove_msg(3).unwrap();
        assert_eq!(fs.get_seq_from_time(start), 2);
    });
}

port!("server/store_test.go::TestStoreSkipMsgNoInterestAdvancesLastTime" => store_skip_msg_no_interest_advances_last_time);
fn store_skip_msg_no_interest_advances_last_time() {
    let clock = ManualClock::starting_now();
    test_all_stores_with_clock(false, named("zzz", &["foo"]), clock.clone(), |fs| {
        // A skip without interest still takes a sequence.
        assert_eq!(fs.skip_msg_no_interest(0).unwrap(), 1);
        let ss = fs.fast_state();
        assert_eq!((ss.msgs, ss.last_seq), (0, 1));
        let first = ss.last_time;
        // Past the access-time granularity, the next one moves the time too.
        clock.advance(Duration::from_millis(200));
        assert_eq!(fs.skip_msg_no_interest(0).unwrap(), 2);
        let ss = fs.fast_state();
        assert_eq!((ss.msgs, ss.last_seq), (0, 2));
        assert!(ss.last_time > first);
    });
}

port!("server/store_test.go::TestFileStoreMultiLastSeqsAndLoadLastMsgWithLazySubjectState" => file_store_multi_last_seqs_and_load_last_msg_with_lazy_subject_state);
fn file_store_multi_last_seqs_and_load_last_msg_with_lazy_subject_state() {
    test_all_stores(false, named("zzz", &["foo"]), |fs| {
        for _ in 0..3 {
            fs.store_msg("foo", &[], &[], 0).unwrap();
        }
        let only_foo = strings(&["foo"]);
        assert_eq!(fs.multi_last_seqs(&only_foo, 0, 0).unwrap(), vec![3]);
        fs.remove_msg(3).unwrap();
        assert_eq!(fs.multi_last_seqs(&only_foo, 0, 0).unwrap(), vec![2]);
        fs.store_msg("foo", &[], &[], 0).unwrap();
        assert_eq!(fs.load_last_msg("foo").unwrap().seq, 4);
        fs.remove_msg(4).unwrap();
        assert_eq!(fs.load_last_msg("foo").unwrap().seq, 2);
    });
}

port!("server/store_test.go::TestStoreNumPendingLastPerSubjectExcludeOvercount" => store_num_pending_last_per_subject_exclude_overcount);
fn store_num_pending_last_per_subject_exclude_overcount() {
    test_all_stores(false, named("zzz", &["foo.*"]), |fs| {
        let put = |subj: &str| {
            fs.store_msg(subj, &[], b"x", 0).unwrap();
        };
        // foo.A is seqs 1-10, all below the start.
        for _ in 0..10 {
            put("foo.A");
        }
        put("foo.B"); // 11
        put("foo.C"); // 12
        fs.skip_msgs(13, 87).unwrap(); // 13-99
        put("foo.B"); // 100
        fs.skip_msgs(101, 899).unwrap(); // 101-999
        put("foo.C"); // 1000

        // From 13, one per subject: foo.A contributes nothing, foo.B and foo.C one each.
        let (total, _) = fs.num_pending(13, "foo.*", true).unwrap();
        assert_eq!(total, 2);
        let filters: SubjectFilters = ["foo.*"].into_iter().collect();
        let (total, _) = fs.num_pending_multi(13, &filters, true).unwrap();
        assert_eq!(total, 2);
    });
}

const DAY_NS: i64 = 24 * 3600 * NANOS_PER_SEC;

port!("server/store_test.go::TestStoreDiscardNew" => store_discard_new);
fn store_discard_new() {
    /// A subtest: its name, how it changes the config, and the error the leader gets.
    type Case = (&'static str, fn(&mut StreamConfig), Option<StoreError>);
    let cases: [Case; 8] = [
        ("MaxMsgs", |c| c.max_msgs = 1, Some(StoreError::MaxMsgs)),
        ("MaxBytes", |c| c.max_bytes = 33, Some(StoreError::MaxBytes)),
        ("MaxMsgsPer", |c| c.max_msgs_per_subject = 1, None),
        (
            "MaxMsgsPer_DiscardNewPer",
            |c| {
                c.discard_new_per_subject = true;
                c.max_msgs_per_subject = 1;
            },
            Some(StoreError::MaxMsgsPerSubject),
        ),
        // Without discard-new-per-subject the message replaces the old one if it fits.
        (
            "MaxMsgsPer_MaxMsgs",
            |c| {
                c.max_msgs = 1;
                c.max_msgs_per_subject = 1;
            },
            None,
        ),
        (
            "MaxMsgsPer_MaxBytes",
            |c| {
                c.max_bytes = 33;
                c.max_msgs_per_subject = 1;
            },
            None,
        ),
        (
            "MaxMsgsPer_MaxMsgs_DiscardNewPer",
            |c| {
                c.discard_new_per_subject = true;
                c.max_msgs = 1;
                c.max_msgs_per_subject = 1;
            },
            Some(StoreError::MaxMsgsPerSubject),
        ),
        (
            "MaxMsgsPer_MaxBytes_DiscardNewPer",
            |c| {
                c.discard_new_per_subject = true;
                c.max_bytes = 33;
                c.max_msgs_per_subject = 1;
            },
            Some(StoreError::MaxMsgsPerSubject),
        ),
    ];
    for (name, update, expected_err) in cases {
        let mut cfg = StreamConfig {
            discard: DiscardPolicy::New,
            ..named("zzz", &["foo"])
        };
        update(&mut cfg);
        let per_subject = cfg.max_msgs_per_subject > 0;
        test_all_stores(false, cfg, |fs| {
            let ts = SystemClock.now_ns();
            let mut expected_seq = 1u64;
            let require_state = |expected_seq: u64| {
                let state = fs.state();
                assert_eq!(state.msgs, 1, "{name}");
                assert_eq!(state.first_seq, expected_seq, "{name}");
                assert_eq!(state.last_seq, expected_seq, "{name}");
            };
            fs.store_msg("foo", &[], &[], 0).unwrap();
            let r = fs.store_raw_msg("foo", &[], &[], 0, ts, 0, true);
            match &expected_err {
                None => {
                    r.unwrap();
                    expected_seq += 1;
                }
                Some(e) => assert_eq!(r.unwrap_err(), *e, "{name}"),
            }
            require_state(expected_seq);

            // Followers always accept what the leader sent: no discard-new check.
            fs.store_raw_msg("foo", &[], &[], 0, ts, 0, false).unwrap();
            expected_seq += 1;
            // Discard new only adds; it does not act like discard old on the message and
            // byte limits, unless a per-subject limit is set.
            if per_subject {
                require_state(expected_seq);
            } else {
                let state = fs.state();
                assert_eq!(state.msgs, 2, "{name}");
                assert_eq!(state.first_seq, expected_seq - 1, "{name}");
                assert_eq!(state.last_seq, expected_seq, "{name}");
            }
        });
    }
}

port!("server/store_test.go::TestStoreMsgLoadPrevMsg" => store_msg_load_prev_msg);
fn store_msg_load_prev_msg() {
    test_all_stores(false, named("zzz", &["foo.*", "bar.*"]), |fs| {
        for subj in ["foo.1", "bar.1", "foo.2", "bar.2", "foo.3"] {
            fs.store_msg(subj, &[], b"ZZZ", 0).unwrap();
        }
        let (sm, seq) = fs.load_prev_msg("", false, 5).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.3", 5));
        let (sm, seq) = fs.load_prev_msg("foo.2", false, 5).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.2", 3));
        let (sm, seq) = fs.load_prev_msg("foo.*", true, 5).unwrap();
        assert_eq!((sm.subject.as_str(), seq), ("foo.3", 5));
        let (err, seq) = fs.load_prev_msg("baz.*", true, 5).unwrap_err();
        assert_eq!(err, StoreError::Eof);
        assert_eq!(seq, 1);
    });
}

port!("server/store_test.go::TestStoreMsgLoadPrevMsgMultiFullWildcardSkip" => store_msg_load_prev_msg_multi_full_wildcard_skip);
fn store_msg_load_prev_msg_multi_full_wildcard_skip() {
    test_all_stores(false, named("zzz", &["foo.*"]), |fs| {
        for i in 0..10 {
            fs.store_msg(&format!("foo.{}", i + 1), &[], b"ZZZ", 0)
                .unwrap();
        }
        let state = fs.fast_state();
        let sl: SubjectFilters = [">"].into_iter().collect();
        let mut got = Vec::new();
        let mut seq = state.last_seq;
        loop {
            match fs.load_prev_msg_multi(&sl, seq) {
                Err((err, nseq)) => {
                    assert_eq!(err, StoreError::Eof);
                    assert_eq!(nseq, state.first_seq);
                    break;
                }
                Ok((sm, nseq)) => {
                    assert_eq!(sm.seq, nseq);
                    got.push(nseq);
                    if nseq == state.first_seq {
                        let (err, nseq) = fs.load_prev_msg_multi(&sl, nseq - 1).unwrap_err();
                        assert_eq!(err, StoreError::Eof);
                        assert_eq!(nseq, state.first_seq);
                        break;
                    }
                    seq = nseq - 1;
                }
            }
        }
        assert_eq!(got, vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    });
}

port!("server/store_test.go::TestStoreSkipMsgsCarryForwardLastTime" => store_skip_msgs_carry_forward_last_time);
fn store_skip_msgs_carry_forward_last_time() {
    test_all_stores(false, named("zzz", &["foo"]), |fs| {
        // A message with an old timestamp, whole seconds.
        let now = SystemClock.now_ns();
        let old = (now - 30 * DAY_NS) / NANOS_PER_SEC * NANOS_PER_SEC;
        fs.store_raw_msg("foo", &[], &[], 1, old, 0, false).unwrap();
        let ss = fs.fast_state();
        assert_eq!(ss.last_seq, 1);
        assert_eq!(ss.last_time, old);

        // Skips do not move the last time forward.
        fs.skip_msgs(2, 10).unwrap();
        let ss = fs.fast_state();
        assert_eq!((ss.last_seq, ss.last_time), (11, old));
        assert_eq!(fs.skip_msg(12).unwrap(), 12);
        let ss = fs.fast_state();
        assert_eq!((ss.last_seq, ss.last_time), (12, old));
        fs.skip_msgs(13, 5).unwrap();
        let ss = fs.fast_state();
        assert_eq!((ss.last_seq, ss.last_time), (17, old));

        // Time lookups resolve across the skipped gaps.
        let newer = old + 15 * DAY_NS;
        fs.store_raw_msg("foo", &[], &[], 18, newer, 0, false)
            .unwrap();
        assert_eq!(fs.get_seq_from_time(old), 1);
        assert_eq!(fs.get_seq_from_time(old + 5 * DAY_NS), 18);
        assert_eq!(fs.get_seq_from_time(newer), 18);
    });
}

port!("server/store_test.go::TestStoreSkipMsgsCarryForwardLastTimeFromEmpty" => store_skip_msgs_carry_forward_last_time_from_empty);
fn store_skip_msgs_carry_forward_last_time_from_empty() {
    // Go's access-time service ticks every 100 ms; the clock moves two ticks.
    let tick = Duration::from_millis(100);
    let clock = ManualClock::starting_now();
    // SkipMsg from an empty store.
    test_all_stores_with_clock(false, named("zzz", &["foo"]), clock.clone(), |fs| {
        let ss = fs.fast_state();
        assert_eq!(ss.last_seq, 0);
        assert_eq!(ss.last_time, 0);
        // With no last time, the skip takes the current time.
        let before = clock.now_ns();
        assert_eq!(fs.skip_msg(0).unwrap(), 1);
        let ss = fs.fast_state();
        assert_eq!(ss.last_seq, 1);
        assert_ne!(ss.last_time, 0);
        assert!(ss.last_time >= before && ss.last_time <= clock.now_ns());
        let first = ss.last_time;
        // Later skips keep it.
        clock.advance(2 * tick);
        assert_eq!(fs.skip_msg(0).unwrap(), 2);
        let ss = fs.fast_state();
        assert_eq!((ss.last_seq, ss.last_time), (2, first));
    });
    // SkipMsgs from an empty store.
    test_all_stores_with_clock(false, named("zzz", &["foo"]), clock.clone(), |fs| {
        let ss = fs.fast_state();
        assert_eq!(ss.last_seq, 0);
        assert_eq!(ss.last_time, 0);
        let before = clock.now_ns();
        fs.skip_msgs(1, 5).unwrap();
        let ss = fs.fast_state();
        assert_eq!(ss.last_seq, 5);
        assert_ne!(ss.last_time, 0);
        assert!(ss.last_time >= before && ss.last_time <= clock.now_ns());
        let first = ss.last_time;
        clock.advance(2 * tick);
        assert_eq!(fs.skip_msg(0).unwrap(), 6);
        let ss = fs.fast_state();
        assert_eq!((ss.last_seq, ss.last_time), (6, first));
    });
}

port!("server/store_test.go::TestStoreCompactCleansUpDmap" => store_compact_cleans_up_dmap);
fn store_compact_cleans_up_dmap() {
    for cseq in 2..=4u64 {
        test_all_stores(false, named("TEST", &["foo"]), |fs| {
            // No interior deletes yet.
            for _ in 0..3 {
                fs.store_msg("foo", &[], &[], 0).unwrap();
            }
            assert_eq!(fs.dmap_entries(), 0, "Compact({cseq})");
            // A removal in the middle is an interior delete.
            fs.remove_msg(2).unwrap();
            assert_eq!(fs.dmap_entries(), 1, "Compact({cseq})");
            // Compacting always cleans it up.
            fs.compact(cseq).unwrap();
            assert_eq!(fs.dmap_entries(), 0, "Compact({cseq})");
            let state = fs.state();
            assert_eq!(state.first_seq, cseq.max(3), "Compact({cseq})");
            assert_eq!(state.last_seq, 3, "Compact({cseq})");
        });
    }
}

port!("server/store_test.go::TestStoreTruncateCleansUpDmap" => store_truncate_cleans_up_dmap);
fn store_truncate_cleans_up_dmap() {
    for tseq in 0..=1u64 {
        test_all_stores(false, named("TEST", &["foo"]), |fs| {
            for _ in 0..3 {
                fs.store_msg("foo", &[], &[], 0).unwrap();
            }
            assert_eq!(fs.dmap_entries(), 0, "Truncate({tseq})");
            fs.remove_msg(2).unwrap();
            assert_eq!(fs.dmap_entries(), 1, "Truncate({tseq})");
            // Truncating always cleans up the interior delete.
            fs.truncate(tseq).unwrap();
            assert_eq!(fs.dmap_entries(), 0, "Truncate({tseq})");
            let state = fs.state();
            assert_eq!(state.first_seq, tseq.min(1), "Truncate({tseq})");
            assert_eq!(state.last_seq, tseq, "Truncate({tseq})");
        });
    }
}

port!("server/store_test.go::TestStoreStreamInteriorDeleteAccounting" => store_stream_interior_delete_accounting);
fn store_stream_interior_delete_accounting() {
    // Each action leaves sequence `lseq` used but without a message.
    type Action = fn(&TestStore, u64);
    let actions: [(&str, Action); 5] = [
        ("TruncateWithRemove", |s, lseq| {
            let (seq, _) = s.store_msg("foo", &[], &[], 0).unwrap();
            assert_eq!(seq, lseq);
            assert!(s.remove_msg(lseq).unwrap());
            s.truncate(lseq).unwrap();
        }),
        ("TruncateWithErase", |s, lseq| {
            let (seq, _) = s.store_msg("foo", &[], &[], 0).unwrap();
            assert_eq!(seq, lseq);
            assert!(s.erase_msg(lseq).unwrap());
            s.truncate(lseq).unwrap();
        }),
        // Go forces a tombstone here through an internal call; the file store always
        // writes one when a client removes the last message, so RemoveMsg is the same.
        ("TruncateWithTombstone", |s, lseq| {
            let (seq, _) = s.store_msg("foo", &[], &[], 0).unwrap();
            assert_eq!(seq, lseq);
            assert!(s.remove_msg(lseq).unwrap());
            s.truncate(lseq).unwrap();
        }),
        ("SkipMsg", |s, _| {
            s.skip_msg(0).unwrap();
        }),
        ("SkipMsgs", |s, lseq| {
            s.skip_msgs(lseq, 1).unwrap();
        }),
    ];
    for empty in [false, true] {
        for (title, action) in actions {
            let cfg = named("zzz", &["foo"]);
            test_all_stores(true, cfg.clone(), |s| {
                let label = format!("Empty={empty}/{title}");
                let mut lseq = 0;
                if !empty {
                    lseq = s.store_msg("foo", &[], &[], 0).unwrap().0;
                    assert_eq!(lseq, 1, "{label}");
                }
                lseq += 1;
                action(s, lseq);

                let before = s.state();
                if empty {
                    assert_eq!(
                        (before.msgs, before.first_seq, before.last_seq),
                        (0, 2, 1),
                        "{label}"
                    );
                } else {
                    assert_eq!(
                        (before.msgs, before.first_seq, before.last_seq),
                        (1, 1, 2),
                        "{label}"
                    );
                }
                let Some((fs, fcfg)) = &s.file else {
                    return;
                };
                let scfg = s.cfg_for(fs.config());
                // A restart gives the same state (from the state file), and so do Go's
                // second and third steps, recovery without the state file and a rebuild
                // (natsd: two scans of the blocks).
                fs.stop().unwrap();
                for round in 0..3 {
                    if round > 0 {
                        let state_file = fcfg.store_dir.join(MSGS_DIR).join(STATE_FILE);
                        std::fs::remove_file(state_file).unwrap();
                    }
                    let fs = FileStore::open(fcfg.clone(), scfg.clone(), s.clock.clone()).unwrap();
                    assert_eq!(fs.recovery_report().from_state_file, round == 0, "{label}");
                    assert_eq!(fs.state(), before, "{label} round {round}");
                    fs.stop().unwrap();
                }
            });
        }
    }
}
