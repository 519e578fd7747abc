//! Ports of `server/filestore_test.go`: compaction, recovery of hand-made blocks, and
//! the tests of which blocks an operation reads or keeps decompressed in memory.

use natsd_store::file::record::{self, BlockHasher};
use natsd_store::file::NEW_MSGS_DIR;

use super::*;

/// Copies the files of `from` into a new directory `to` (Go's `copyDir`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

port!("server/filestore_test.go::TestFileStoreEncryptedPurgeRecoveryAfterKeyRename" => file_store_encrypted_purge_recovery_after_key_rename);
fn file_store_encrypted_purge_recovery_after_key_rename() {
    // Go's purge moves block and key files one by one, and the test stops it between
    // the key and the block. natsd's purge builds the whole new blocks directory (its
    // encrypted tombstone block carries its key in the header) as `__new_msgs__` and
    // swaps it in with renames; the equivalent crash is after the new directory is
    // complete and before the swap. Recovery must roll back to the pre-purge messages
    // and remove what the purge left behind.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        dir: dir.0.clone(),
        block_size: 64 * 1024,
        cipher: StoreCipher::Aes,
        compression: StoreCompression::None,
    };
    let fs = fcfg.open(zzz());
    let (subj, msg) = ("foo", vec![0u8; 8 * 1024]);
    for _ in 0..1024 {
        fs.store_msg(subj, b"", &msg, 0).unwrap();
    }
    let baseline = fs.state();

    let mdir = fcfg.msgs_dir();
    let pre_msgs = fcfg.dir.join("msgs.pre");
    copy_dir(&mdir, &pre_msgs);

    // A real purge, to get a valid encrypted tombstone block.
    fs.purge().unwrap();
    let tomb_blk = fs
        .block_paths()
        .last()
        .unwrap()
        .file_name()
        .unwrap()
        .to_owned();
    fs.stop().unwrap();

    let post_msgs = fcfg.dir.join("msgs.post");
    std::fs::rename(&mdir, &post_msgs).unwrap();
    copy_dir(&pre_msgs, &mdir);
    let ndir = fcfg.dir.join(NEW_MSGS_DIR);
    std::fs::create_dir_all(&ndir).unwrap();
    std::fs::rename(post_msgs.join(&tomb_blk), ndir.join(&tomb_blk)).unwrap();

    let fs = fcfg.open(zzz());
    let state = fs.state();
    assert_eq!(state.msgs, baseline.msgs);
    assert_eq!(state.bytes, baseline.bytes);
    assert_eq!(state.first_seq, baseline.first_seq);
    assert_eq!(state.last_seq, baseline.last_seq);
    assert!(
        !mdir.join(&tomb_blk).exists(),
        "rollback should not keep the purge's block {tomb_blk:?}"
    );
    assert!(!ndir.exists(), "rollback should remove {ndir:?}");
    // Every message of the pre-purge blocks still loads (the key is the stream's).
    for seq in [1, 512, 1024] {
        assert_eq!(fs.load_msg(seq).unwrap().msg.as_ref(), &msg[..]);
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreSparseCompaction" => file_store_sparse_compaction);
fn file_store_sparse_compaction() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 1024 * 1024;
        let cfg = StreamConfig {
            name: "KV".to_string(),
            subjects: vec!["kv.>".to_string()],
            ..zzz()
        };
        let fs = fcfg.open(cfg);
        let msg = b"ABC".repeat(33);
        for i in 1..=1000 {
            fs.store_msg(&format!("kv.{}", i % 10), b"", &msg, 0)
                .unwrap();
        }
        let check_state = |msgs: u64, first: u64, last: u64| {
            let state = fs.state();
            assert_eq!(
                (state.msgs, state.first_seq, state.last_seq),
                (msgs, first, last)
            );
        };
        check_state(1000, 1, 1000);

        // Compacts the first block; `total_before_removal` is the disk use before the
        // messages were removed. natsd rewrites a compressed block at once when a message
        // in it is erased, so there the removal itself may already have reclaimed.
        let compact = |total_before_removal: u64| {
            assert!(fs.block_indexes().len() >= 2, "not enough blocks");
            let ssb = fs.fast_state();
            let (tb, ub) = fs.utilization().unwrap();
            fs.compact_block_at(0).unwrap();
            let ssa = fs.fast_state();
            assert_eq!(ssb, ssa, "states do not match");
            let (ta, ua) = fs.utilization().unwrap();
            assert_eq!(ub, ua, "used changed");
            assert!(
                ta < total_before_removal,
                "total after {ta} not below {total_before_removal}"
            );
            if !fs.block_compressed(0).unwrap() {
                assert!(ta < tb, "total after {ta} not below {tb}");
            }
        };

        // The first block is full of messages; start a new last block, since Go does not
        // compact the one being written.
        assert_eq!(fs.block_indexes().len(), 1);
        fs.new_block_for_write().unwrap();

        let (t0, _) = fs.utilization().unwrap();
        assert!(fs.remove_msg(1).unwrap());
        compact(t0);

        let (t0, _) = fs.utilization().unwrap();
        for seq in [1000, 999, 998, 997] {
            assert!(fs.remove_msg(seq).unwrap(), "remove of {seq}");
        }
        compact(t0);

        let (t0, _) = fs.utilization().unwrap();
        for seq in [500, 502, 504, 506, 508, 510] {
            assert!(fs.erase_msg(seq).unwrap(), "erase of {seq}");
        }
        compact(t0);
        check_state(989, 2, 1000);
    });
}

/// Appends records `(seq, subject)` (payload = subject) to block file `index` of a
/// stream named "zzz" without cipher or compression.
fn append_records(msgs_dir: &Path, index: u32, records: &[(u64, &str)]) {
    let hasher = BlockHasher::new("zzz", index);
    let mut out = Vec::new();
    for &(seq, subj) in records {
        record::encode(
            &mut out,
            &hasher,
            seq,
            SystemClock.now_ns(),
            subj.as_bytes(),
            b"",
            subj.as_bytes(),
        );
    }
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(msgs_dir.join(format!("{index}.blk")))
        .unwrap();
    file.write_all(&out).unwrap();
}

port!("server/filestore_test.go::TestFileStoreMsgBlockHolesAndIndexing" => file_store_msg_block_holes_and_indexing);
fn file_store_msg_block_holes_and_indexing() {
    // Go writes records with chosen sequences into the block by hand and rebuilds the
    // block's state from it; natsd rebuilds its state from the blocks when opened, so the
    // records are appended to the block file while the store is stopped.
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| {
        c.subjects = vec!["*".to_string()];
        c.max_msgs_per_subject = 1;
    });
    let fs = fcfg.open(cfg.clone());
    let first_block = fs.block_indexes()[0];
    fs.stop().unwrap();

    let write_msg = |subj: &str, seq: u64| -> FileStore {
        append_records(&fcfg.msgs_dir(), first_block, &[(seq, subj)]);
        let fs = fcfg.open(cfg.clone());
        let report = fs.recovery_report();
        assert!(report.is_clean(), "{report:?}");
        assert!(report.lost.msgs.is_empty() && report.lost.bytes == 0);
        fs
    };
    // `(first, last)` sequences the (only) block records.
    let bounds = |fs: &FileStore| {
        assert_eq!(fs.block_indexes(), vec![first_block]);
        let (first, _, _, _) = fs.block_info(0).unwrap();
        (first, fs.block_last_seq(0).unwrap())
    };
    let read_msg = |fs: &FileStore, seq: u64, subj: &str| {
        let sm = fs.load_msg(seq).unwrap();
        assert_eq!(sm.subject, subj);
        assert_eq!(sm.msg.as_ref(), subj.as_bytes());
    };

    let fs = write_msg("A", 2);
    assert_eq!(bounds(&fs), (2, 2));
    fs.stop().unwrap();

    let fs = write_msg("B", 4);
    assert_eq!(bounds(&fs), (2, 4));
    fs.stop().unwrap();

    let fs = write_msg("C", 12);
    read_msg(&fs, 4, "B");
    let deleted: Vec<u64> = std::iter::once(3).chain(5..12).collect();
    assert_eq!(fs.state().deleted, deleted);
    read_msg(&fs, 12, "C");
    read_msg(&fs, 2, "A");
    assert_eq!(bounds(&fs), (2, 12));
    // The holes are deleted messages; seq 1 precedes the block.
    assert_eq!(fs.dmap_entries(), deleted.len());
    for seq in std::iter::once(1).chain(deleted.iter().copied()) {
        assert_eq!(
            fs.load_msg(seq).unwrap_err(),
            StoreError::MsgNotFound,
            "seq {seq}"
        );
    }
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (3, 2, 12));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRemoveLastNoDoubleTombstones" => file_store_remove_last_no_double_tombstones);
fn file_store_remove_last_no_double_tombstones() {
    // Go calls its limits removal directly; natsd's limits removals are reached through
    // the limits, here the age limit with a manual clock.
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let cfg = zzz_with(|c| {
        c.subjects = vec!["*".to_string()];
        c.max_msgs_per_subject = 1;
        c.max_age = Duration::from_secs(1);
    });
    let fs = plain_fcfg(&dir).open_with_clock(cfg, clock.clone());
    fs.store_msg("A", b"", b"hello", 0).unwrap();
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 2, 1));
    assert_eq!(fs.block_indexes().len(), 1);
    // One empty record remembers the last sequence; nothing else stays on disk.
    let (total, _) = fs.utilization().unwrap();
    assert_eq!(total, record::EMPTY_RECORD_LEN as u64);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreMsgBlockShouldCompact" => file_store_msg_block_should_compact);
fn file_store_msg_block_should_compact() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
    // 127 fit in a block.
    let msg = vec![b'Z'; 64 * 1024];
    for _ in 0..190 {
        fs.store_msg("foo.22", b"", &msg, 0).unwrap();
    }
    assert!(fs.block_indexes().len() > 1);
    // The second half of the first block; the tombstones go to the second block.
    for seq in 64..=127 {
        assert!(fs.remove_msg(seq).unwrap());
    }
    // Compaction has been done already.
    let (raw, live) = fs.block_bytes(0).unwrap();
    assert_eq!(raw, live);
    assert!(!fs.block_should_compact(0).unwrap());
    assert!(!fs.block_should_compact(1).unwrap());
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRestoreDeleteTombstonesExceedingMaxBlkSize" => file_store_restore_delete_tombstones_exceeding_max_blk_size);
fn file_store_restore_delete_tombstones_exceeding_max_blk_size() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 256;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
        assert_eq!(fs.purge_ex("", 1_000_000_000, 0).unwrap(), 0);
        let msg = b"hello";
        // 6 per block.
        for i in 1..=10_000 {
            fs.store_msg(&format!("foo.{i}"), b"", msg, 0).unwrap();
        }
        for seq in 1_000_000_001..1_000_000_101u64 {
            assert!(fs.remove_msg(seq).unwrap(), "remove of {seq}");
        }
        // No block, the tombstones' included, exceeds the block size; Go keeps blocks
        // left without messages until a later sync, natsd deletes them at once.
        let blocks = fs.block_indexes().len();
        let mut empty = Vec::new();
        for pos in 0..blocks {
            let (raw, live) = fs.block_bytes(pos).unwrap();
            assert!(live < 256, "block {pos} live {live}");
            assert!(raw < 256, "block {pos} raw {raw}");
            if live == 0 && pos + 1 != blocks {
                empty.push(fs.block_indexes()[pos]);
            }
        }
        // Go's block compaction keeps every tombstone, so compacting these changes
        // nothing there; natsd's drops the tombstones whose targets are gone from disk
        // and keeps the others, so compacting never grows them, keeps them empty, and
        // loses no delete (the state survives a restart below).
        let state = fs.state();
        for &index in &empty {
            let Some(pos) = fs.block_indexes().iter().position(|&i| i == index) else {
                continue;
            };
            let (raw, _) = fs.block_bytes(pos).unwrap();
            fs.compact_block_at(pos).unwrap();
            if let Some(pos) = fs.block_indexes().iter().position(|&i| i == index) {
                let (nraw, nlive) = fs.block_bytes(pos).unwrap();
                assert_eq!(nlive, 0);
                assert!(nraw <= raw, "block {index} grew: {nraw} > {raw}");
            }
        }
        assert_eq!(fs.state(), state);
        // Removing the first message makes the tombstones useless: such blocks go.
        assert!(fs.remove_msg(1_000_000_000).unwrap());
        fs.sync_now().unwrap();
        let indexes = fs.block_indexes();
        for index in &empty {
            assert!(!indexes.contains(index), "block {index} still there");
        }
        let state = fs.state();
        assert_eq!(
            (state.msgs, state.first_seq, state.last_seq),
            (9_899, 1_000_000_101, 1_000_009_999)
        );
        fs.stop().unwrap();
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
        assert_eq!(fs.state(), state);
        fs.stop().unwrap();
    });
}

/// Reads of each block so far (by position).
fn reads_now(fs: &FileStore) -> Vec<u64> {
    (0..fs.block_indexes().len())
        .map(|p| fs.block_reads(p).unwrap())
        .collect()
}

/// Blocks (by position) read since `before` was taken; no block may have gone since.
fn blocks_read_since(fs: &FileStore, before: &[u64]) -> Vec<usize> {
    let now = reads_now(fs);
    assert_eq!(now.len(), before.len(), "blocks changed");
    (0..now.len()).filter(|&p| now[p] > before[p]).collect()
}

port!("server/filestore_test.go::TestFileStoreNoFSSWhenNoSubjects" => file_store_no_fss_when_no_subjects);
fn file_store_no_fss_when_no_subjects() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let msg = b"raft state";
        for _ in 0..100 {
            fs.store_msg("", b"", msg, 0).unwrap();
        }
        assert_eq!(fs.state().msgs, 100);
        fs.stop().unwrap();

        let fs = fcfg.open(zzz());
        let state = fs.state();
        assert_eq!(state.msgs, 100);
        // Opening read no message of the block, and no per-subject state was made for
        // messages without a subject.
        assert_eq!(reads_now(&fs), vec![0]);
        assert_eq!(fs.cache_size(), 0);
        assert_eq!(state.num_subjects, 0);
        assert!(fs.subjects_totals(">").is_empty());
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStorePurgeExBufPool" => file_store_purge_ex_buf_pool);
fn file_store_purge_ex_buf_pool() {
    // Go checks that the purge leaves the cache of no block but the last loaded; natsd
    // holds decompressed copies of compressed blocks only, so this runs with every
    // cipher and compression.
    all_permutations(|mut fcfg| {
        fcfg.block_size = 1024;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
        let msg = b"ABC".repeat(33);
        for _ in 0..1000 {
            fs.store_msg("foo.foo", b"", &msg, 0).unwrap();
            fs.store_msg("foo.bar", b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.purge_ex("foo.bar", 0, 0).unwrap(), 1000);
        assert_eq!(fs.cache_size(), 0, "blocks left decompressed in memory");
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq), (1000, 1));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreFSSMeta" => file_store_fss_meta);
fn file_store_fss_meta() {
    // Go also checks that its per-block subject state expires on its timer; natsd keeps
    // one subject index for the stream and no per-block subject state. What stays is
    // the purge and that it leaves no block decompressed in memory (natsd holds
    // decompressed copies of compressed blocks only, so every permutation runs).
    all_permutations(|mut fcfg| {
        fcfg.block_size = 100;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
        // A record of 50 bytes: |A-Z| |Z-Z| |Z-Z| |Z-A|
        let msg = [b'Z'; 19];
        fs.store_msg("A", b"", &msg, 0).unwrap();
        for _ in 0..6 {
            fs.store_msg("Z", b"", &msg, 0).unwrap();
        }
        fs.store_msg("A", b"", &msg, 0).unwrap();
        assert_eq!(fs.block_indexes().len(), 4);
        // Read everything once so that compressed blocks are decompressed before.
        for seq in 1..=8 {
            fs.load_msg(seq).unwrap();
        }
        assert_eq!(fs.purge_ex("A", 0, 0).unwrap(), 2);
        assert_eq!(fs.cache_size(), 0, "blocks left decompressed in memory");
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (6, 2, 8));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreExpireCacheOnLinearWalk" => file_store_expire_cache_on_linear_walk);
fn file_store_expire_cache_on_linear_walk() {
    // Go's comment expects 5 blocks of two records; it leaves the block size at its
    // default, which gives one. Here the blocks are small so that the walk crosses
    // them, and every cipher and compression runs, since natsd keeps decompressed
    // copies of compressed blocks only.
    all_permutations(|mut fcfg| {
        fcfg.block_size = 100;
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
        let (subj, msg) = ("Z", [b'Z'; 19]);
        for _ in 0..10 {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.block_indexes().len(), 5);
        let check_no_cache = || assert_eq!(fs.cache_size(), 0, "blocks left in memory");

        for seq in 1..=10 {
            fs.load_msg(seq).unwrap();
        }
        check_no_cache();
        for seq in (1..=10).rev() {
            fs.load_msg(seq).unwrap();
        }
        check_no_cache();

        assert!(fs.remove_msg(2).unwrap());
        assert!(fs.remove_msg(9).unwrap());
        for seq in 1..=10 {
            let res = fs.load_msg(seq);
            if seq == 2 || seq == 9 {
                assert_eq!(res.unwrap_err(), StoreError::MsgNotFound);
            } else {
                res.unwrap();
            }
        }
        check_no_cache();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreOptimizeFirstLoadNextMsgWithSequenceZero" => file_store_optimize_first_load_next_msg_with_sequence_zero);
fn file_store_optimize_first_load_next_msg_with_sequence_zero() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 4096,
        ..plain_fcfg(&dir)
    };
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    let msg = b"ZZZ".repeat(33);
    for _ in 0..5000 {
        fs.store_msg("foo.A", b"", &msg, 0).unwrap();
    }
    // About 167 blocks of foo.A, then 10 of foo.B at the end.
    for _ in 0..10 {
        fs.store_msg("foo.B", b"", &msg, 0).unwrap();
    }
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert!(fs.block_indexes().len() > 150);
    let before = reads_now(&fs);
    let (sm, nseq) = fs.load_next_msg("foo.B", false, 0).unwrap();
    assert_eq!((nseq, sm.seq, sm.subject.as_str()), (5001, 5001, "foo.B"));
    // Only the block holding the message was read.
    let read = blocks_read_since(&fs, &before);
    assert_eq!(read, vec![fs.block_position_for(5001).unwrap()]);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreLargeSparseMsgsDoNotLoadAfterLast" => file_store_large_sparse_msgs_do_not_load_after_last);
fn file_store_large_sparse_msgs_do_not_load_after_last() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 128,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    let msg = b"hello";
    // Two blocks of bar and baz, two messages each.
    for _ in 0..2 {
        fs.store_msg("foo.22.bar", b"", msg, 0).unwrap();
        fs.store_msg("foo.22.baz", b"", msg, 0).unwrap();
    }
    // Eight more blocks with only baz: no match for "foo.22.bar".
    for _ in 0..8 {
        fs.store_msg("foo.22.baz", b"", msg, 0).unwrap();
        fs.store_msg("foo.22.baz", b"", msg, 0).unwrap();
    }
    assert_eq!(fs.block_indexes().len(), 10);
    let before = reads_now(&fs);
    // "foo.22.bar" is at 1 and 3: nothing from 4 on.
    let err = fs.load_next_msg("foo.*.bar", true, 4).unwrap_err();
    assert_eq!(err.0, StoreError::Eof);
    // Go reads the block holding the start (the second); natsd's index answers without
    // reading any, and in no case is a block after the last match read.
    assert_eq!(blocks_read_since(&fs, &before), Vec::<usize>::new());
    assert_eq!(fs.cache_size(), 0);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreCheckSkipFirstBlockNotLoadOldBlocks" => file_store_check_skip_first_block_not_load_old_blocks);
fn file_store_check_skip_first_block_not_load_old_blocks() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 128,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*.*".to_string()]));
    let msg = b"hello";
    fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    for _ in 0..6 {
        fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    }
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap(); // 9
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap(); // 10
    for _ in 0..4 {
        fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    }
    // BB AA | BB BB | BB BB | BB BB | AA AA | BB BB | BB BB
    assert_eq!(fs.block_indexes().len(), 7);
    assert!(fs.remove_msg(1).unwrap());
    assert!(fs.remove_msg(2).unwrap());
    // The first block is gone.
    assert_eq!(fs.block_indexes().len(), 6);
    let before = reads_now(&fs);
    // From 11 on there is no AA; an up to date consumer asks exactly this.
    let err = fs.load_next_msg("foo.AA.bar", false, 11).unwrap_err();
    assert_eq!(err.0, StoreError::Eof);
    // Go may read the last block; it must not read the older ones. natsd reads none.
    assert_eq!(blocks_read_since(&fs, &before), Vec::<usize>::new());
    assert_eq!(fs.cache_size(), 0);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreIndexDBExistsAfterShutdown" => file_store_index_db_exists_after_shutdown);
fn file_store_index_db_exists_after_shutdown() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec![">".to_string()]));
    for _ in 0..1000 {
        fs.store_msg("foo.bar.baz", b"", b"", 0).unwrap();
    }
    // Go removes the file while the store runs; natsd writes it only at a clean stop,
    // so it is not there now, and the stop must write it.
    let idx_file = fcfg
        .msgs_dir()
        .join(natsd_store::file::state_file::STATE_FILE);
    match std::fs::remove_file(&idx_file) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => panic!("{err}"),
        _ => {}
    }
    fs.stop().unwrap();
    assert!(idx_file.exists(), "{idx_file:?} does not exist");
}
