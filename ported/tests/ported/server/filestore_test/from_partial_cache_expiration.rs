//! Ports of `server/filestore_test.go`, in Go's file order from
//! `TestFileStorePartialCacheExpiration` to `TestFileStoreUpdateConfigTTLState` (tests that
//! read Go internals check the same fact through the store's doc-hidden accessors).

use std::time::Duration;

use super::*;
use natsd_store::file::state_file::STATE_FILE;

port!("server/filestore_test.go::TestFileStorePartialCacheExpiration" => file_store_partial_cache_expiration);
fn file_store_partial_cache_expiration() {
    // Go expires its block cache after 10ms here; natsd has no timed cache, so the fact
    // left is that a message loads after the same writes and waits.
    let cexp = Duration::from_millis(10);
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        fs.store_msg("foo", b"", b"msg1", 0).unwrap();
        std::thread::sleep(2 * cexp);
        fs.store_msg("bar", b"", b"msg2", 0).unwrap();
        std::thread::sleep(2 * cexp);
        assert_eq!(fs.load_msg(1).unwrap().msg.as_ref(), b"msg1");
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreShortIndexWriteBug" => file_store_short_index_write_bug);
fn file_store_short_index_write_bug() {
    all_permutations(|fcfg| {
        let cfg = StreamConfig {
            name: "TEST".to_string(),
            max_age: Duration::from_secs(1),
            ..zzz()
        };
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        for _ in 0..100 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        // Every message ages out.
        clock.advance(Duration::from_millis(1100));
        run_expiry(&fs, &clock);
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert_eq!(state.first_seq, 101);

        fs.stop().unwrap();
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        let state = fs.state();
        assert_eq!((state.first_seq, state.last_seq), (101, 100));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreDoubleCompactWithWriteInBetweenEncryptedBug" => file_store_double_compact_with_write_in_between_encrypted_bug);
fn file_store_double_compact_with_write_in_between_encrypted_bug() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        for _ in 0..5 {
            fs.store_msg("foo", b"", b"ouch", 0).unwrap();
        }
        fs.compact(5).unwrap();
        assert_eq!(fs.state().last_seq, 5);
        for _ in 0..5 {
            fs.store_msg("foo", b"", b"ouch", 0).unwrap();
        }
        fs.compact(10).unwrap();
        assert_eq!(fs.state().last_seq, 10);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreExpireSubjectMeta" => file_store_expire_subject_meta);
fn file_store_expire_subject_meta() {
    // Go also waits for its per-block subject caches to be dropped after a timeout.
    // natsd keeps no per-block subject state (one subject index for the stream), so
    // there is nothing to drop; what a stream reports must still be right.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 1024,
            ..fcfg
        };
        let cfg = zzz_with(|c| {
            c.subjects = vec!["kv.>".to_string()];
            c.max_msgs_per_subject = 1;
        });
        let fs = fcfg.open(cfg.clone());
        let ns = 100;
        for i in 1..=ns {
            fs.store_msg(&format!("kv.{i}"), b"", b"value", 0).unwrap();
        }
        // After a restart the subject count is right.
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.fast_state().num_subjects, ns);
        // The last message per subject loads (what KV does).
        let sm = fs.load_last_msg("kv.22").unwrap();
        assert_eq!(sm.subject, "kv.22");
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreSubjectStateCacheExpiration" => file_store_subject_state_cache_expiration);
fn file_store_subject_state_cache_expiration() {
    // Go first waits for its per-block subject caches to expire; natsd has none (see
    // TestFileStoreExpireSubjectMeta), the subject state must be right all the same.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 32,
            ..fcfg
        };
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["kv.>".to_string()];
            c.max_msgs_per_subject = 2;
        }));
        for i in 1..=100 {
            fs.store_msg(&format!("kv.foo.{i}"), b"", b"value", 0)
                .unwrap();
        }
        for i in 1..=100 {
            fs.store_msg(&format!("kv.bar.{i}"), b"", b"value", 0)
                .unwrap();
        }
        assert_eq!(fs.subjects_state("kv.bar.>").len(), 100);
        let fss = fs.subjects_state("kv.bar.99");
        assert_eq!(fss.len(), 1);
        let expected = SimpleState {
            msgs: 1,
            first: 199,
            last: 199,
        };
        assert_eq!(fss["kv.bar.99"], expected);

        // One more at the end, and a literal subject.
        fs.store_msg("kv.foo.1", b"", b"value22", 0).unwrap();
        assert_eq!(fs.state().msgs, 201);
        let fss = fs.subjects_state("kv.foo.1");
        assert_eq!(fss.len(), 1);
        let expected = SimpleState {
            msgs: 2,
            first: 1,
            last: 201,
        };
        assert_eq!(fss["kv.foo.1"], expected);
        fs.stop().unwrap();
    });
}

/// Go's `testFileStoreFullStatePurge`. With `full_recovery` Go removes the state file
/// before reopening, then also rebuilds the state in place; natsd removes it and
/// reopens from the blocks twice.
fn full_state_purge(full_recovery: bool) {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 132,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let mut fs = fcfg.open(cfg.clone());
        let reopen = |fs: FileStore, state: &StreamState| -> FileStore {
            fs.stop().unwrap();
            let rounds = if full_recovery { 2 } else { 1 };
            if full_recovery {
                remove_state_file(&fcfg);
            }
            let mut fs = fcfg.open(cfg.clone());
            assert_eq!(fs.recovery_report().from_state_file, !full_recovery);
            for round in 0..rounds {
                if round > 0 {
                    fs.stop().unwrap();
                    remove_state_file(&fcfg);
                    fs = fcfg.open(cfg.clone());
                }
                assert_eq!(
                    &fs.state(),
                    state,
                    "restore state after purge does not match"
                );
            }
            fs
        };
        let msg = [b'A'; 19];
        // Two per block, so five blocks.
        for _ in 0..10 {
            fs.store_msg("A", b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.purge().unwrap(), 10);
        let state = fs.state();
        fs = reopen(fs, &state);

        // Ten more, some B some C.
        for _ in 0..5 {
            fs.store_msg("B", b"", &msg, 0).unwrap();
            fs.store_msg("C", b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.purge_ex("B", 0, 0).unwrap(), 5);
        let state = fs.state();
        fs = reopen(fs, &state);

        // Purge with keep.
        assert_eq!(fs.purge_ex("", 0, 2).unwrap(), 3);
        let state = fs.state();
        assert_eq!(state.msgs, 2);
        assert_eq!(state.first_seq, 18);
        assert_eq!(state.last_seq, 20);
        fs = reopen(fs, &state);

        // A purge keeps the first sequence across a restart.
        assert_eq!(fs.purge().unwrap(), 2);
        let state = fs.state();
        fs = reopen(fs, &state);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreFullStatePurge" => file_store_full_state_purge);
fn file_store_full_state_purge() {
    full_state_purge(false);
}

port!("server/filestore_test.go::TestFileStoreFullStatePurgeFullRecovery" => file_store_full_state_purge_full_recovery);
fn file_store_full_state_purge_full_recovery() {
    full_state_purge(true);
}

port!("server/filestore_test.go::TestFileStoreFullStateTestSysRemovals" => file_store_full_state_test_sys_removals);
fn file_store_full_state_test_sys_removals() {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 100,
            ..fcfg
        };
        let cfg = zzz_with(|c| {
            c.subjects = vec!["*".to_string()];
            c.max_msgs = 10;
            c.max_msgs_per_subject = 1;
        });
        let msg = [b'A'; 19];
        let restart_same = |fs: FileStore, state: &StreamState| -> FileStore {
            fs.stop().unwrap();
            let fs = fcfg.open(cfg.clone());
            assert_eq!(&fs.state(), state, "restore state does not match");
            fs
        };
        let fs = fcfg.open(cfg.clone());
        for subj in ["A", "B", "A", "B"] {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, 2);
        assert_eq!(state.first_seq, 3);
        assert_eq!(state.last_seq, 4);
        let fs = restart_same(fs, &state);

        for subj in ["C", "D", "E", "F", "G", "H", "I", "J"] {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        let state = fs.state();
        assert_eq!(state.msgs, 10);
        assert_eq!(state.first_seq, 3);
        assert_eq!(state.last_seq, 12);
        let fs = restart_same(fs, &state);

        // Over the limit.
        fs.store_msg("ZZZ", b"", &msg, 0).unwrap();
        let state = fs.state();
        assert_eq!(state.msgs, 10);
        assert_eq!(state.first_seq, 4);
        assert_eq!(state.last_seq, 13);
        let fs = restart_same(fs, &state);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreNoDirectoryNotEmptyError" => file_store_no_directory_not_empty_error);
fn file_store_no_directory_not_empty_error() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(StreamConfig {
        name: "TEST_DELETE".to_string(),
        subjects: vec!["foo".to_string()],
        ..zzz()
    });
    let ocfg = ConsumerConfig {
        ack_policy: AckPolicy::Explicit,
        ..ConsumerConfig::default()
    };
    let mut x = SystemClock.now_ns() as u64 | 1;
    for i in 0..100 {
        let obs = fs
            .consumer_store(&format!("delcons_{i}"), 0, &ocfg)
            .unwrap();
        // Another thread keeps changing the consumer's state while it is deleted.
        let writer = {
            let obs = obs.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while obs.set_starting(i + 1).is_ok() {
                    i += 1;
                }
            })
        };
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(x % 10));
        obs.delete().unwrap();
        writer.join().unwrap();
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreEncryptedKeepIndexNeedBekResetBug" => file_store_encrypted_keep_index_need_bek_reset_bug);
fn file_store_encrypted_keep_index_need_bek_reset_bug() {
    // Go also drops the last block's cache before the load; natsd reads an open block
    // from its file on every load, so the load below is always from disk.
    all_permutations(|fcfg| {
        let cfg = StreamConfig {
            max_age: Duration::from_secs(1),
            ..zzz()
        };
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg, clock.clone());
        for _ in 0..5 {
            fs.store_msg("foo", b"", b"ouch", 0).unwrap();
        }
        // All age out, leaving only the marker of the last sequence.
        clock.advance(Duration::from_millis(1100));
        run_expiry(&fs, &clock);
        assert_eq!(fs.state().msgs, 0);
        for _ in 0..5 {
            fs.store_msg("foo", b"", b"ouch", 0).unwrap();
        }
        let sm = fs.load_msg(10).unwrap();
        assert_eq!(sm.msg.as_ref(), b"ouch");
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreNoFSSBugAfterRemoveFirst" => file_store_no_fss_bug_after_remove_first);
fn file_store_no_fss_bug_after_remove_first() {
    // Go reads the block's own subject state; natsd keeps one subject index for the
    // stream, which must hold no entry for the removed subject either.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 8 * 1024 * 1024,
            ..fcfg
        };
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.bar.*".to_string()]));
        let msg = b"ZZZ".repeat(33);
        for i in 0..100 {
            fs.store_msg(&format!("foo.bar.{i}"), b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 100);
        // Go lets its subject cache expire here.
        std::thread::sleep(Duration::from_millis(250));
        fs.remove_msg(1).unwrap();
        let (sm, _) = fs.load_next_msg("foo.>", true, 1).unwrap();
        assert_eq!(sm.subject, "foo.bar.1");
        assert!(
            fs.subjects_state("foo.bar.0").is_empty(),
            "expected no state for foo.bar.0"
        );
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreNoFSSAfterRecover" => file_store_no_fss_after_recover);
fn file_store_no_fss_after_recover() {
    // Messages without a subject (raft state) have no subject state, after recovery too.
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        for _ in 0..100 {
            fs.store_msg("", b"", b"no fss for you!", 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 100);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state().msgs, 100);
        assert!(
            fs.subjects_state(">").is_empty(),
            "expected no fss post recover"
        );
        assert_eq!(fs.state().num_subjects, 0);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreRecaluclateFirstForSubjBug" => file_store_recaluclate_first_for_subj_bug);
fn file_store_recaluclate_first_for_subj_bug() {
    // Go drives the block's lazy first-sequence recalculation directly; natsd keeps the
    // subject's first exact, so the same result is read from the subject state.
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
    fs.store_msg("foo", b"", b"", 0).unwrap(); // 1
    fs.store_msg("bar", b"", b"", 0).unwrap(); // 2
    fs.store_msg("foo", b"", b"", 0).unwrap(); // 3
    fs.remove_msg(1).unwrap();
    fs.remove_msg(2).unwrap();
    let ss = fs.subjects_state("foo");
    assert_eq!(
        ss["foo"],
        SimpleState {
            msgs: 1,
            first: 3,
            last: 3
        }
    );
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRecalcFirstSequenceBug" => file_store_recalc_first_sequence_bug);
fn file_store_recalc_first_sequence_bug() {
    let dir = TempDir::new();
    let fs = std::sync::Arc::new(plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = vec!["*".to_string()];
        c.max_msgs_per_subject = 2;
    })));
    let msg = [b'A'; 22];
    for subj in ["A", "A", "B", "B"] {
        fs.store_msg(subj, b"", &msg, 0).unwrap();
    }
    fs.store_msg("A", b"", &msg, 0).unwrap();
    // Loads of the last "A" race stores of "A" (which push the oldest out).
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let loader = {
        let (fs, start) = (fs.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            for _ in 0..1_000 {
                let sm = fs.load_last_msg("A").unwrap();
                assert_eq!(sm.subject, "A");
            }
        })
    };
    start.wait();
    for _ in 0..1_000 {
        fs.store_msg("A", b"", &msg, 0).unwrap();
    }
    loader.join().unwrap();
    assert_eq!(fs.subjects_state("A")["A"].msgs, 2);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreErrPartialLoad" => file_store_err_partial_load);
fn file_store_err_partial_load() {
    // Go drops the last block's cache every 100 loads; natsd has no cache for the block
    // being written, so loads race the writers directly.
    let dir = TempDir::new();
    let fs = std::sync::Arc::new(
        plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*".to_string()])),
    );
    let put = |fs: &FileStore, n: usize| {
        for _ in 0..n {
            fs.store_msg("Z", b"", b"ZZZZZZZZZZZZZ", 0).unwrap();
        }
    };
    put(&fs, 100);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..10)
        .map(|_| {
            let (fs, stop) = (fs.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    put(&fs, 5);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut x = SystemClock.now_ns() as u64 | 1;
    for _ in 0..10_000 {
        let state = fs.fast_state();
        let spread = state.last_seq - state.first_seq;
        if spread > 0 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = state.first_seq + x % spread;
            fs.load_msg(seq).unwrap();
        }
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreErrPartialLoadOnSyncClose" => file_store_err_partial_load_on_sync_close);
fn file_store_err_partial_load_on_sync_close() {
    // Go has its sync timer close the last block; natsd's counterpart is the background
    // syncer of `sync_interval`, so the store waits for it to run.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 500,
        ..plain_fcfg(&dir)
    };
    let fs = FileStore::open(
        FileStoreConfig {
            sync_interval: Some(Duration::from_millis(10)),
            ..fcfg.store_config()
        },
        fcfg.stream(zzz_with(|c| c.subjects = vec!["*".to_string()])),
        system_clock(),
    )
    .unwrap();
    // Half a block.
    let msg = [b'A'; 19];
    for subj in ["A", "B", "C", "D", "E"] {
        fs.store_msg(subj, b"", &msg, 0).unwrap();
    }
    let start = std::time::Instant::now();
    while fs.needs_sync() && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!fs.needs_sync(), "the background sync did not run");
    fs.store_msg("Z", b"", &msg, 0).unwrap();
    fs.load_msg(1).unwrap();
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreSyncIntervals" => file_store_sync_intervals);
fn file_store_sync_intervals() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = fcfg.stream(zzz_with(|c| c.subjects = vec!["*".to_string()]));
    let fs = FileStore::open(
        FileStoreConfig {
            sync_interval: Some(Duration::from_millis(250)),
            ..fcfg.store_config()
        },
        cfg.clone(),
        system_clock(),
    )
    .unwrap();
    assert!(!fs.needs_sync());
    fs.store_msg("Z", b"", b"hello", 0).unwrap();
    assert!(fs.needs_sync());
    std::thread::sleep(Duration::from_millis(400));
    assert!(!fs.needs_sync());
    fs.stop().unwrap();
    drop(fs);

    // Go's SyncAlways is natsd's default: every store returns synced.
    let fs = FileStore::open(fcfg.store_config(), cfg, system_clock()).unwrap();
    assert!(!fs.needs_sync());
    fs.store_msg("Z", b"", b"hello", 0).unwrap();
    assert!(!fs.needs_sync());
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreSelectBlockWithFirstSeqRemovals" => file_store_select_block_with_first_seq_removals);
fn file_store_select_block_with_first_seq_removals() {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 100,
            ..fcfg
        };
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["*".to_string()];
            c.max_msgs_per_subject = 1;
        }));
        // Records of 50 bytes: two per block.
        let msg = [b'A'; 19];
        let subjects = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+@$^";
        // 65 messages, 33 blocks (Go's binary search starts past 32).
        for c in subjects.chars().take(65) {
            fs.store_msg(&c.to_string(), b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.block_paths().len(), 33);
        // Remove the first message of each block through the per-subject limit (a
        // system removal, not a user one).
        for c in subjects.chars().step_by(2) {
            fs.store_msg(&c.to_string(), b"", &msg, 0).unwrap();
        }
        let ss = fs.fast_state();
        for seq in ss.first_seq..=ss.last_seq {
            let index = fs
                .block_position_for(seq)
                .expect("a block for every sequence");
            assert_eq!((seq - 1) / 2, index as u64, "seq {seq}");
        }
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreMsgBlockCompactionAndHoles" => file_store_msg_block_compaction_and_holes);
fn file_store_msg_block_compaction_and_holes() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = vec!["*".to_string()];
        c.max_msgs_per_subject = 1;
    }));
    let msg = [b'Z'; 1024];
    for subj in ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"] {
        fs.store_msg(subj, b"", &msg, 0).unwrap();
    }
    // Keep the first (and the last), delete the rest.
    for seq in 2..10 {
        fs.remove_msg(seq).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 1);
    let (_, used_before) = fs.utilization().unwrap();
    // Compaction removes everything not needed.
    fs.compact_block_at(0).unwrap();
    let (total_after, used_after) = fs.utilization().unwrap();
    assert_eq!(used_before, used_after);
    assert_eq!(total_after, used_after);
    fs.stop().unwrap();
}

/// Go's `FullState*PastWAL` tests put back a stream state file older than the blocks
/// and check that recovery walks past it (natsd: the blocks changed since, so they are
/// scanned, and the old state reports nothing lost).
fn past_wal(
    subjects_before: &[&str],
    subjects_after: &[&str],
    remove: Option<u64>,
    blocks: (usize, usize),
) {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 100,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let (msg_a, msg_z) = ([b'A'; 19], [b'Z'; 19]);
        let msg = |i: usize| if i.is_multiple_of(2) { &msg_a } else { &msg_z };
        for (i, subj) in subjects_before.iter().enumerate() {
            fs.store_msg(subj, b"", msg(i), 0).unwrap();
        }
        assert_eq!(fs.block_paths().len(), blocks.0);
        fs.stop().unwrap();
        let sfile = fcfg.msgs_dir().join(STATE_FILE);
        let old_state = std::fs::read(&sfile).unwrap();
        let fs = fcfg.open(cfg.clone());
        for (i, subj) in subjects_after.iter().enumerate() {
            fs.store_msg(subj, b"", msg(i), 0).unwrap();
        }
        if let Some(seq) = remove {
            fs.remove_msg(seq).unwrap();
        }
        assert_eq!(fs.block_paths().len(), blocks.1);
        let state = fs.state();
        fs.stop().unwrap();
        // The old state put back: recovery walks past it.
        std::fs::write(&sfile, &old_state).unwrap();
        let fs = fcfg.open(cfg);
        assert!(!fs.recovery_report().from_state_file);
        assert_eq!(fs.state(), state, "restore state does not match");
        assert_ne!(state.first_time, 0);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreFullStateMultiBlockPastWAL" => file_store_full_state_multi_block_past_wal);
fn file_store_full_state_multi_block_past_wal() {
    past_wal(&["A", "B"], &["C", "D", "E", "F", "G", "H"], None, (1, 4));
}

port!("server/filestore_test.go::TestFileStoreFullStateMidBlockPastWAL" => file_store_full_state_mid_block_past_wal);
fn file_store_full_state_mid_block_past_wal() {
    // Go finally checks that its state file survived the recovery (it is deleted only
    // when found corrupt). natsd removes its state file at every open by design, used or
    // not; the same fact, that the old state was not taken as damage, is that it
    // reports nothing lost.
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| {
            c.subjects = vec!["*".to_string()];
            c.max_msgs_per_subject = 1;
        });
        let msg = [b'Z'; 19];
        let fs = fcfg.open(cfg.clone());
        for subj in ["A", "B", "C", "D", "E"] {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.block_paths().len(), 1);
        fs.stop().unwrap();
        let sfile = fcfg.msgs_dir().join(STATE_FILE);
        let old_state = std::fs::read(&sfile).unwrap();
        let fs = fcfg.open(cfg.clone());
        // Five more, then remove seq 2, "B".
        for subj in ["F", "G", "H", "I", "J"] {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        fs.remove_msg(2).unwrap();
        assert_eq!(fs.block_paths().len(), 1);
        let state = fs.state();
        fs.stop().unwrap();
        // The old state put back: recovery walks past it.
        std::fs::write(&sfile, &old_state).unwrap();
        let fs = fcfg.open(cfg);
        assert!(!fs.recovery_report().from_state_file);
        let mut new_state = fs.state();
        assert_eq!(new_state.lost.take(), None);
        assert_eq!(new_state, state, "restore state does not match");
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCompactAndPSIMWhenDeletingBlocks" => file_store_compact_and_psim_when_deleting_blocks);
fn file_store_compact_and_psim_when_deleting_blocks() {
    // Go also checks its per-subject block hints, which may stay stale; natsd keeps no
    // such hints, only the subject's count and bounds.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 512,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
    let msg = b"ABC".repeat(33);
    for _ in 0..10 {
        fs.store_msg("A", b"", &msg, 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 4);
    // Leaves one.
    assert_eq!(fs.compact(10).unwrap(), 9);
    assert_eq!(fs.block_paths().len(), 1);
    assert_eq!(fs.subjects_totals("A")["A"], 1);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreTrackSubjLenForPSIM" => file_store_track_subj_len_for_psim);
fn file_store_track_subj_len_for_psim() {
    // Go tracks the total length of its subjects (`tsl`); natsd's equivalent is the
    // subjects its index holds, whose lengths must add up the same.
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec![">".to_string()]);
    let fs = fcfg.open(cfg.clone());
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut smap = std::collections::HashMap::new();
    for _ in 0..1000 {
        let tokens: Vec<String> = (0..rand(6) + 1)
            .map(|_| {
                (0..rand(4) + 2)
                    .map(|_| format!("{:02x}", rand(256)))
                    .collect()
            })
            .collect();
        let subj = tokens.join(".");
        if smap.contains_key(&subj) {
            continue;
        }
        smap.insert(subj.clone(), subj.len());
        fs.store_msg(&subj, b"", b"", 0).unwrap();
    }
    let check = |fs: &FileStore, smap: &std::collections::HashMap<String, usize>| {
        let want: usize = smap.values().sum();
        let got: usize = fs.subjects_totals(">").keys().map(String::len).sum();
        assert_eq!(got, want);
    };
    check(&fs, &smap);
    // Delete about half.
    for _ in 0..500 {
        let seq = rand(1000) + 1;
        let Ok(sm) = fs.load_msg(seq) else {
            continue;
        };
        fs.remove_msg(seq).unwrap();
        smap.remove(&sm.subject);
    }
    check(&fs, &smap);
    // The same after a restart.
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    check(&fs, &smap);
    // Drain the rest.
    fs.purge().unwrap();
    check(&fs, &std::collections::HashMap::new());
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreSubjectCorruption" => file_store_subject_corruption);
fn file_store_subject_corruption() {
    // Go removes its stream state file before the restart, so the subjects are rebuilt
    // from the blocks.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 2 * 1024 * 1024,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    let msgs = [b"ABC".repeat(333), b"ABC".repeat(888), b"ABC".repeat(555)];
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..10_000 {
        let subj = format!("foo.{}", rand(100) + 1);
        let msg = &msgs[rand(3) as usize];
        fs.store_msg(&subj, b"", msg, 0).unwrap();
    }
    fs.stop().unwrap();
    remove_state_file(&fcfg);
    let fs = fcfg.open(cfg);
    for subj in fs.subjects_totals(">").keys() {
        let n = subj.strip_prefix("foo.").expect("a foo.N subject");
        n.parse::<u64>()
            .unwrap_or_else(|_| panic!("corrupt subject {subj:?}"));
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreNumPendingLastBySubject" => file_store_num_pending_last_by_subject);
fn file_store_num_pending_last_by_subject() {
    // Go also checks that no block was loaded for the first count; natsd answers it from
    // its subject index, which has no block loads to count.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 1024,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let msg = b"ABC".repeat(25);
    for i in 1..=1000 {
        fs.store_msg(&format!("foo.{}.{i}", rand(20) + 1), b"", &msg, 0)
            .unwrap();
    }
    // About 8 messages per block.
    assert!(fs.block_paths().len() > 100);
    let (total, _) = fs.num_pending(0, "foo.*.*", true).unwrap();
    assert_eq!(total, 1000);
    // Partial counts.
    for filter in ["foo.10.*", "*.22.*", "*.*.222", "foo.5.999", "*.2.*"] {
        let sseq = rand(250) + 200;
        let (np, _) = fs.num_pending(sseq, filter, true).unwrap();
        let mut check_total = 0;
        for seq in sseq..=1000 {
            let sm = fs.load_msg(seq).unwrap();
            if subject_matches(&sm.subject, filter) {
                check_total += 1;
            }
        }
        assert_eq!(np, check_total, "{filter} from {sseq}");
    }
    fs.stop().unwrap();
}

/// Go's `TestFileStoreEraseMsgWith*DbitSlots`: compacting away skips leaves deleted
/// slots in the block's index; erasing a message afterwards must still work.
fn erase_after_compacting_skips(payloads: &[&[u8]], skips_between: bool, erase: u64) {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
    fs.store_msg("foo", b"", payloads[0], 0).unwrap();
    if skips_between {
        for _ in 0..10 {
            fs.skip_msg(0).unwrap();
        }
    }
    for p in &payloads[1..] {
        fs.store_msg("foo", b"", p, 0).unwrap();
    }
    if !skips_between {
        for _ in 0..10 {
            fs.skip_msg(0).unwrap();
        }
    }
    fs.compact_block_at(0).unwrap();
    assert!(fs.erase_msg(erase).unwrap());
    assert_eq!(fs.load_msg(erase).unwrap_err(), StoreError::MsgNotFound);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreEraseMsgWithDbitSlots" => file_store_erase_msg_with_dbit_slots);
fn file_store_erase_msg_with_dbit_slots() {
    erase_after_compacting_skips(&[b"abd", b"abd"], true, 1);
}

port!("server/filestore_test.go::TestFileStoreEraseMsgWithAllTrailingDbitSlots" => file_store_erase_msg_with_all_trailing_dbit_slots);
fn file_store_erase_msg_with_all_trailing_dbit_slots() {
    erase_after_compacting_skips(&[b"abc", b"abcdefg"], false, 2);
}

port!("server/filestore_test.go::TestFileStoreWriteFullStateAfterPurgeEx" => file_store_write_full_state_after_purge_ex);
fn file_store_write_full_state_after_purge_ex() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    for i in 1..=10 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    for seq in [8, 9, 10] {
        fs.remove_msg(seq).unwrap();
    }
    assert_eq!(fs.purge_ex(">", 8, 0).unwrap(), 7);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq), (11, 10));
    // Writing the state must not reset it for a skew with the blocks (Go ignores the
    // error; natsd's would say the totals were rebuilt, so none is allowed).
    fs.write_full_state().unwrap();
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq), (11, 10));
    // And a restart that opens from the state of a clean stop has the same.
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert!(fs.recovery_report().from_state_file);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq), (11, 10));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRecoverWithRemovesAndNoIndexDB" => file_store_recover_with_removes_and_no_index_db);
fn file_store_recover_with_removes_and_no_index_db() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 250,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    for i in 1..=10 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    for seq in [1, 2, 8] {
        fs.remove_msg(seq).unwrap();
    }
    let check = |fs: &FileStore| {
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (3, 10, 7));
    };
    check(&fs);
    // Compact the last block; stop, remove the state file and recover with the default
    // block size.
    let last = fs.block_paths().len() - 1;
    fs.compact_block_at(last).unwrap();
    fs.stop().unwrap();
    remove_state_file(&fcfg);
    let fs = plain_fcfg(&dir).open(cfg);
    check(&fs);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreLoadLastWildcard" => file_store_load_last_wildcard);
fn file_store_load_last_wildcard() {
    // Go also counts that only one block was loaded; natsd finds the last message of
    // each subject in its index and reads that one record.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 512,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    fs.store_msg("foo.22.baz", b"", b"hello", 0).unwrap();
    fs.store_msg("foo.22.bar", b"", b"hello", 0).unwrap();
    for _ in 0..1000 {
        fs.store_msg("foo.11.foo", b"", b"hello", 0).unwrap();
    }
    let sm = fs.load_last_msg("foo.22.*").unwrap();
    assert_eq!(sm.seq, 2);
    fs.stop().unwrap();
}

/// `(total, first block index, last block index)` of a subject (Go's `psim` entry).
fn subject_blocks(fs: &FileStore, subj: &str) -> (u64, u32, u32) {
    let ss = fs.subjects_state(subj)[subj];
    let indexes = fs.block_indexes();
    let block = |seq| indexes[fs.block_position_for(seq).expect("a block")];
    (ss.msgs, block(ss.first), block(ss.last))
}

port!("server/filestore_test.go::TestFileStoreFilteredPendingPSIMFirstBlockUpdate" => file_store_filtered_pending_psim_first_block_update);
fn file_store_filtered_pending_psim_first_block_update() {
    // Go's per-subject first block may lag (1) until a filtered count updates it (84);
    // natsd keeps the subject's first sequence exact, so it is 84 at once.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 512,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
    fs.store_msg("foo.baz", b"", b"hello", 0).unwrap();
    for _ in 0..1000 {
        fs.store_msg("foo.foo", b"", b"hello", 0).unwrap();
    }
    fs.store_msg("foo.baz", b"", b"hello", 0).unwrap();
    fs.store_msg("foo.baz", b"", b"hello", 0).unwrap();
    assert!(fs.remove_msg(1).unwrap());
    assert_eq!(fs.block_paths().len(), 84);
    let ss = fs.filtered_state(1, "foo.baz").unwrap();
    assert_eq!((ss.msgs, ss.first, ss.last), (2, 1002, 1003));
    assert_eq!(subject_blocks(&fs, "foo.baz"), (2, 84, 84));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreWildcardFilteredPendingPSIMFirstBlockUpdate" => file_store_wildcard_filtered_pending_psim_first_block_update);
fn file_store_wildcard_filtered_pending_psim_first_block_update() {
    // As TestFileStoreFilteredPendingPSIMFirstBlockUpdate, with a wildcard filter.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 512,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    fs.store_msg("foo.22.baz", b"", b"hello", 0).unwrap();
    fs.store_msg("foo.22.bar", b"", b"hello", 0).unwrap();
    for _ in 0..1000 {
        fs.store_msg("foo.1.foo", b"", b"hello", 0).unwrap();
    }
    for subj in ["foo.22.baz", "foo.22.baz", "foo.22.bar", "foo.22.bar"] {
        fs.store_msg(subj, b"", b"hello", 0).unwrap();
    }
    assert!(fs.remove_msg(1).unwrap());
    assert!(fs.remove_msg(2).unwrap());
    assert_eq!(fs.block_paths().len(), 92);
    let ss = fs.filtered_state(1, "foo.22.*").unwrap();
    assert_eq!((ss.msgs, ss.first, ss.last), (4, 1003, 1006));
    assert_eq!(subject_blocks(&fs, "foo.22.baz"), (2, 92, 92));
    assert_eq!(subject_blocks(&fs, "foo.22.bar"), (2, 92, 92));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreFilteredPendingPSIMFirstBlockUpdateNextBlock" => file_store_filtered_pending_psim_first_block_update_next_block);
fn file_store_filtered_pending_psim_first_block_update_next_block() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 128,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    // Four blocks of two messages.
    for _ in 0..4 {
        fs.store_msg("foo.22.bar", b"", b"hello", 0).unwrap();
        fs.store_msg("foo.22.baz", b"", b"hello", 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 4);
    assert_eq!(subject_blocks(&fs, "foo.22.bar"), (4, 1, 4));

    // Remove the first "foo.22.bar".
    assert!(fs.remove_msg(1).unwrap());
    let ss = fs.filtered_state(1, "foo.22.bar").unwrap();
    assert_eq!((ss.msgs, ss.first, ss.last), (3, 3, 7));
    assert_eq!(subject_blocks(&fs, "foo.22.bar"), (3, 2, 4));

    // Removing the first "foo.22.baz" empties and removes the first block.
    assert!(fs.remove_msg(2).unwrap());
    assert_eq!(fs.block_paths().len(), 3);
    let ss = fs.filtered_state(1, "foo.*.baz").unwrap();
    assert_eq!((ss.msgs, ss.first, ss.last), (3, 4, 8));
    assert_eq!(subject_blocks(&fs, "foo.22.baz"), (3, 2, 4));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreTombstoneRbytes" => file_store_tombstone_rbytes);
fn file_store_tombstone_rbytes() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 1024,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
    // 24 per block: one block and part of another.
    for _ in 0..34 {
        fs.store_msg("foo.22", b"", b"hello", 0).unwrap();
    }
    assert!(fs.block_paths().len() > 1);
    // Deleting the second half of the first block puts tombstones in the second.
    for seq in 11..=24 {
        fs.remove_msg(seq).unwrap();
    }
    let (raw, live) = fs.block_bytes(1).unwrap();
    assert!(raw > live, "raw {raw} live {live}");
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreDmapBlockRecoverAfterCompact" => file_store_dmap_block_recover_after_compact);
fn file_store_dmap_block_recover_after_compact() {
    // Go empties the block's delete map and rebuilds it from the file; natsd rebuilds
    // every block's index from its file when the store opens.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 256,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| {
        c.subjects = vec!["foo.*".to_string()];
        c.max_msgs_per_subject = 1;
    });
    let fs = fcfg.open(cfg.clone());
    // Six per block: fill the first.
    for i in 1..=6 {
        fs.store_msg(&format!("foo.{i}"), b"", b"hello", 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 1);
    // Holes in the first block through the per-subject limit.
    for i in 2..6 {
        fs.store_msg(&format!("foo.{i}"), b"", b"hello", 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 2);
    fs.compact_block_at(0).unwrap();
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert!(fs.recovery_report().is_clean());
    assert_eq!(fs.dmap_entries(), 4);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRestoreIndexWithMatchButLeftOverBlocks" => file_store_restore_index_with_match_but_left_over_blocks);
fn file_store_restore_index_with_match_but_left_over_blocks() {
    // Go puts back a stream state file that matches a block the limits have since made
    // the first.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 256,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| {
        c.subjects = vec!["foo.*".to_string()];
        c.max_msgs_per_subject = 1;
    });
    let fs = fcfg.open(cfg.clone());
    // Six per block: two blocks.
    for i in 1..=12 {
        fs.store_msg(&format!("foo.{i}"), b"", b"hello", 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 2);
    fs.stop().unwrap();
    let sfile = fcfg.msgs_dir().join(STATE_FILE);
    let old_state = std::fs::read(&sfile).unwrap();
    let fs = fcfg.open(cfg.clone());
    // A third block; the per-subject limit empties (and removes) the first.
    for i in 1..=6 {
        fs.store_msg(&format!("foo.{i}"), b"", b"hello", 0).unwrap();
    }
    let check = |fs: &FileStore| {
        let state = fs.fast_state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (12, 7, 18));
    };
    check(&fs);
    assert_eq!(fs.block_paths().len(), 2);
    fs.stop().unwrap();
    // The old state put back.
    std::fs::write(&sfile, &old_state).unwrap();
    let fs = fcfg.open(cfg);
    check(&fs);
    fs.stop().unwrap();
}

/// A `Nats-TTL` header of `secs` seconds.
fn ttl_header(secs: i64) -> Vec<u8> {
    format!("NATS/1.0\r\n{JS_MESSAGE_TTL}: {secs}\r\n\r\n").into_bytes()
}

fn ttl_stream() -> StreamConfig {
    zzz_with(|c| {
        c.subjects = vec!["test".to_string()];
        c.allow_msg_ttl = true;
    })
}

port!("server/filestore_test.go::TestFileStoreMessageTTLRecovered" => file_store_message_ttl_recovered);
fn file_store_message_ttl_recovered() {
    // Go runs a JetStream server only to hand it to the store; natsd's store needs none.
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let clock = ManualClock::starting_now();
    {
        let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
        // A first message without a TTL (a recovery bug once).
        fs.store_msg("test", b"", b"", 0).unwrap();
        for _ in 0..9 {
            // The TTL must be in the header: the TTL file is removed below.
            fs.store_msg("test", &ttl_header(1), b"", 1).unwrap();
        }
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
        fs.stop().unwrap();
    }
    // Without the saved TTLs recovery reads them from the headers.
    std::fs::remove_file(dir.0.join(natsd_store::file::core::TTL_FILE)).unwrap();
    let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
    assert_eq!(fs.block_paths().len(), 1);
    assert_eq!(fs.ttl_count(), 9);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 1));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreMessageTTLRecoveredSingleMessageWithoutStreamState" => file_store_message_ttl_recovered_single_message_without_stream_state);
fn file_store_message_ttl_recovered_single_message_without_stream_state() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let clock = ManualClock::starting_now();
    {
        let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
        fs.store_msg("test", &ttl_header(1), b"", 1).unwrap();
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 1, 1));
        fs.stop().unwrap();
    }
    // Without the stream state file, as Go; natsd keeps caller-given TTLs apart, in its
    // TTL file, which goes too.
    remove_state_file(&fcfg);
    std::fs::remove_file(dir.0.join(natsd_store::file::core::TTL_FILE)).unwrap();
    let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 1, 1));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (2, 1, 0));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreMessageTTLWriteTombstone" => file_store_message_ttl_write_tombstone);
fn file_store_message_ttl_write_tombstone() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let clock = ManualClock::starting_now();
    let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
    fs.store_msg("test", &ttl_header(1), b"", 1).unwrap();
    // Another without a TTL.
    fs.store_msg("test", b"", b"", 0).unwrap();
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (2, 1, 2));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 2, 2));
    fs.stop().unwrap();
    // The expiry wrote a tombstone: right after opening without the state file, the
    // message is still gone.
    remove_state_file(&fcfg);
    let fs = fcfg.open_with_clock(ttl_stream(), clock.clone());
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 2, 2));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreMaxMsgsPerSubjectOneStaleFblkAfterRestart" => file_store_max_msgs_per_subject_one_stale_fblk_after_restart);
fn file_store_max_msgs_per_subject_one_stale_fblk_after_restart() {
    // The stop writes the stream state file, which the restart opens from (as Go).
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 256,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| {
        c.subjects = vec!["foo.*".to_string()];
        c.max_msgs_per_subject = 1;
    });
    let fs = fcfg.open(cfg.clone());
    fs.store_msg("foo.0", b"", b"hello", 0).unwrap();
    // Other subjects until a second block starts.
    let mut i = 1;
    while fs.block_paths().len() < 2 {
        fs.store_msg(&format!("foo.{i}"), b"", b"hello", 0).unwrap();
        i += 1;
    }
    // "foo.0" again, in the second block; the limit removes the first copy.
    let (seq, _) = fs.store_msg("foo.0", b"", b"hello", 0).unwrap();
    assert_eq!(fs.load_last_msg("foo.0").unwrap().seq, seq);
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert!(fs.recovery_report().from_state_file);
    let sm = fs.load_last_msg("foo.0").unwrap();
    assert_eq!((sm.subject.as_str(), sm.seq), ("foo.0", seq));
    assert_eq!(subject_blocks(&fs, "foo.0"), (1, 2, 2));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRecoverOnlyBlkFiles" => file_store_recover_only_blk_files);
fn file_store_recover_only_blk_files() {
    // Go also checks that its stream state file survives the junk files; natsd's is
    // removed by every open by design, so the same fact is that the open takes it.
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        fs.store_msg("foo", b"", b"", 0).unwrap();
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (1, 1, 1));
        fs.stop().unwrap();
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
        // Files whose names merely contain ".blk" are not blocks.
        std::fs::write(fcfg.msgs_dir().join("10.blk.random"), b"").unwrap();
        std::fs::write(fcfg.msgs_dir().join("10.blk.tmp"), b"").unwrap();
        for _ in 0..2 {
            let fs = fcfg.open(cfg.clone());
            assert!(fs.recovery_report().from_state_file);
            assert_eq!(fs.state(), before);
            assert!(fs.recovery_report().is_clean());
            fs.stop().unwrap();
        }
    });
}

/// Reopens the store three times and checks the state each time, as Go: a restart
/// (from the state file), a recovery without the state file, and a rebuild (natsd: a
/// second scan of the blocks).
fn reopen_thrice_same(
    fcfg: &Fcfg,
    cfg: &StreamConfig,
    fs: FileStore,
    before: &StreamState,
    label: &str,
) {
    fs.stop().unwrap();
    for round in 0..3 {
        if round > 0 {
            remove_state_file(fcfg);
        }
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.recovery_report().from_state_file, round == 0, "{label}");
        assert_eq!(&fs.state(), before, "{label} round {round}");
        fs.stop().unwrap();
    }
}

port!("server/filestore_test.go::TestFileStoreRecoverAfterRemoveOperation" => file_store_recover_after_remove_operation);
fn file_store_recover_after_remove_operation() {
    type Action = fn(&FileStore);
    type Validate = fn(&StreamState);
    let tests: [(&str, Action, Validate); 8] = [
        (
            "None",
            |_| {},
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (4, 1, 4));
            },
        ),
        (
            "RemoveMsg",
            |fs| assert!(fs.remove_msg(1).unwrap()),
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (3, 2, 4));
            },
        ),
        (
            "EraseMsg",
            |fs| assert!(fs.erase_msg(1).unwrap()),
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (3, 2, 4));
            },
        ),
        (
            "Purge",
            |fs| assert_eq!(fs.purge().unwrap(), 4),
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (0, 5, 4));
            },
        ),
        (
            "PurgeEx-0",
            |fs| assert_eq!(fs.purge_ex("foo.0", 0, 0).unwrap(), 2),
            |s| {
                assert_eq!(
                    (s.msgs, s.first_seq, s.last_seq, s.num_deleted),
                    (2, 2, 4, 1)
                );
            },
        ),
        (
            "PurgeEx-1",
            |fs| assert_eq!(fs.purge_ex("foo.1", 0, 0).unwrap(), 2),
            |s| {
                assert_eq!(
                    (s.msgs, s.first_seq, s.last_seq, s.num_deleted),
                    (2, 1, 4, 2)
                );
            },
        ),
        (
            "Compact",
            |fs| assert_eq!(fs.compact(3).unwrap(), 2),
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (2, 3, 4));
            },
        ),
        (
            "Truncate",
            |fs| fs.truncate(2).unwrap(),
            |s| {
                assert_eq!((s.msgs, s.first_seq, s.last_seq), (2, 1, 2));
            },
        ),
    ];
    for (title, action, validate) in tests {
        all_permutations(|fcfg| {
            let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
            let fs = fcfg.open(cfg.clone());
            for i in 0..4 {
                fs.store_msg(&format!("foo.{}", i % 2), b"", b"", 0)
                    .unwrap();
            }
            action(&fs);
            let before = fs.state();
            validate(&before);
            reopen_thrice_same(&fcfg, &cfg, fs, &before, title);
        });
    }
}

port!("server/filestore_test.go::TestFileStoreRecoverAfterCompact" => file_store_recover_after_compact);
fn file_store_recover_after_compact() {
    // A compaction either rewrites the block (big enough) or writes tombstones; either
    // way recovery from the blocks must give the same state.
    let empty = natsd_store::file::record::EMPTY_RECORD_LEN as u64;
    for (payload_size, uses_tombstones) in [(1024usize, true), (1024 * 1024, false)] {
        all_permutations(|fcfg| {
            let plain =
                fcfg.cipher == StoreCipher::None && fcfg.compression == StoreCompression::None;
            let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
            let fs = fcfg.open(cfg.clone());
            let payload = vec![0u8; payload_size];
            for _ in 0..4 {
                fs.store_msg("foo", b"", &payload, 0).unwrap();
            }
            let one = empty + 3 + payload_size as u64;
            let before = fs.state();
            assert_eq!((before.msgs, before.first_seq, before.last_seq), (4, 1, 4));
            assert_eq!(before.bytes, one * 4);
            let last = fs.block_paths().len() - 1;
            if plain {
                assert_eq!(fs.block_bytes(last).unwrap(), (one * 4, one * 4));
            }
            assert_eq!(fs.compact(4).unwrap(), 3);
            let before = fs.state();
            assert_eq!((before.msgs, before.first_seq, before.last_seq), (1, 4, 4));
            assert_eq!(before.bytes, one);
            if plain {
                let (raw, live) = fs.block_bytes(last).unwrap();
                assert_eq!(live, one);
                // Four messages and three tombstones, or the rewritten block.
                let want = if uses_tombstones {
                    one * 4 + empty * 3
                } else {
                    one
                };
                assert_eq!(raw, want, "payload {payload_size}");
            }
            reopen_thrice_same(&fcfg, &cfg, fs, &before, &payload_size.to_string());
        });
    }
}

port!("server/filestore_test.go::TestFileStoreRecoverWithEmptyMessageBlock" => file_store_recover_with_empty_message_block);
fn file_store_recover_with_empty_message_block() {
    all_permutations(|fcfg| {
        // Four messages with subject "foo" and no payload per block.
        let fcfg = Fcfg {
            block_size: 33 * 4,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        for _ in 0..4 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        assert_eq!(fs.block_paths().len(), 1);
        // A second block holds only the two tombstones.
        for seq in 1..=2 {
            assert!(fs.remove_msg(seq).unwrap());
        }
        assert_eq!(fs.block_paths().len(), 2);
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (2, 3, 4));
        reopen_thrice_same(&fcfg, &cfg, fs, &before, "empty block");
    });
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgBlockFirst" => file_store_remove_msg_block_first);
fn file_store_remove_msg_block_first() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["test".to_string()]);
    let fs = fcfg.open(cfg.clone());
    fs.store_msg("test", b"", b"", 0).unwrap();
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 1, 1));
    fs.stop().unwrap();
    // The block goes, and the state file with it.
    for f in [natsd_store::file::state_file::STATE_FILE, "1.blk"] {
        std::fs::remove_file(fcfg.msgs_dir().join(f)).unwrap();
    }
    let fs = fcfg.open(StreamConfig {
        allow_msg_ttl: true,
        ..cfg
    });
    // Nothing to recover: the store starts out empty.
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (0, 0, 0));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreUpdateConfigTTLState" => file_store_update_config_ttl_state);
fn file_store_update_config_ttl_state() {
    // Go checks whether its TTL wheel exists; natsd's equivalent is whether a TTL given
    // with a message is tracked and expires it.
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let mut cfg = zzz_with(|c| c.subjects = vec![">".to_string()]);
    let fs = plain_fcfg(&dir).open_with_clock(cfg.clone(), clock.clone());
    let ttl_expires = |fs: &FileStore| {
        let (seq, _) = fs.store_msg("foo", b"", b"", 1).unwrap();
        let tracked = fs.ttl_count() > 0;
        clock.advance(Duration::from_secs(2));
        fs.expire_msgs();
        let gone = fs.load_msg(seq).is_err();
        assert_eq!(tracked, gone);
        gone
    };
    assert!(!ttl_expires(&fs));
    cfg.allow_msg_ttl = true;
    fs.update_config(&mut cfg).unwrap();
    assert!(ttl_expires(&fs));
    cfg.allow_msg_ttl = false;
    fs.update_config(&mut cfg).unwrap();
    assert!(!ttl_expires(&fs));
    fs.stop().unwrap();
}
