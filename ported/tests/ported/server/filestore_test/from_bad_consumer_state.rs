//! Ports of `server/filestore_test.go`, in Go's file order from
//! `TestFileStoreBadConsumerState` to `TestFileStoreInitialFirstSeq` (split from `mod.rs`
//! for size).

use super::*;

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
        // The same state after a restart (Go writes its state file before the purge, natsd
        // at the stop), and without the state file, from the blocks, which must keep the
        // effect of the subject purge.
        let before = state;
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
        remove_state_file(&fcfg);
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
        // The state file before the purge (Go writes it while running; natsd at a stop).
        fs.stop().unwrap();
        let sfile = fcfg
            .msgs_dir()
            .join(natsd_store::file::state_file::STATE_FILE);
        let old_state = std::fs::read(&sfile).unwrap();
        assert!(!old_state.is_empty());
        let fs = fcfg.open(cfg.clone());
        // Purging all "foo.1" removes whole blocks: no tombstone per message.
        assert_eq!(fs.purge_ex("foo.1", 0, 0).unwrap(), total);
        let state = fs.state();
        assert_eq!(state.msgs, 1);
        assert_eq!(state.first_seq, 101);
        assert_eq!(fs.block_indexes().len(), 1);
        // The old state put back: recovery is right without the removed blocks'
        // tombstones.
        fs.stop().unwrap();
        std::fs::write(&sfile, &old_state).unwrap();
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
