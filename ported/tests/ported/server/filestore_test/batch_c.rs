//! Ports of `server/filestore_test.go` about compaction, truncation, recovery of odd
//! block contents and permissions, in Go's file order.
//!
//! Several Go tests here read a block's `first.seq`/`last.seq`/`dmap` after a compaction.
//! natsd's block keeps a record of the highest sequence it ever held (an erased marker
//! when that message is gone), so that recovery from the blocks alone keeps the stream's
//! last sequence; Go's block shrinks to its last message and keeps the stream's last
//! sequence in `index.db`. Where that matters the ports check natsd's exact block state
//! and that a recovery from the files derives the very same state.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

use natsd_store::file::codec::BlockCodec;
use natsd_store::file::record::{self, BlockHasher};
use natsd_store::file::BlockCompression;

use super::*;
use natsd_store::file::state_file::STATE_FILE;

/// Stores `n` empty messages on `subj`.
fn store_n(fs: &FileStore, subj: &str, n: usize) -> Vec<i64> {
    (0..n)
        .map(|_| fs.store_msg(subj, b"", b"", 0).unwrap().1)
        .collect()
}

/// `(msgs, first, last, num_deleted)` of the stream.
fn counts(fs: &FileStore) -> (u64, u64, u64, usize) {
    let s = fs.state();
    (s.msgs, s.first_seq, s.last_seq, s.num_deleted)
}

/// The block file's inode: it changes exactly when the block is rewritten (a compaction
/// writes the new file aside and renames it over the old one).
fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

port!("server/filestore_test.go::TestFileStoreDontSpamCompactWhenMostlyTombstones" => file_store_dont_spam_compact_when_mostly_tombstones);
fn file_store_dont_spam_compact_when_mostly_tombstones() {
    // Go's scenario first: six 4MB blocks, everything before the last block removed.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 4 * 1024 * 1024,
        ..plain_fcfg(&dir)
    };
    let cfg = StreamConfig {
        name: "TEST".to_string(),
        subjects: vec!["foo".to_string()],
        storage: StorageType::File,
        ..StreamConfig::default()
    };
    let fs = fcfg.open(cfg);
    let msg = [b'X'; 100];
    let total_blocks = 6;
    let expected_lseq = 31_536 * (total_blocks as u64 - 1) + 2;
    for _ in 1..=expected_lseq {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), total_blocks);
    // The last block holds the last two messages.
    let (fseq, lseq, _, _) = fs.block_info(total_blocks - 1).unwrap();
    assert_eq!((fseq, lseq), (expected_lseq - 1, expected_lseq));
    for seq in 1..fseq {
        assert!(fs.remove_msg(seq).unwrap(), "remove {seq}");
    }
    // The old last block filled up with tombstones; a new one holds the rest.
    assert_eq!(fs.block_paths().len(), 2);
    // Go marks the last message deleted by hand; natsd removes it. The block then holds
    // one message of 133 bytes and ~4MB of tombstones, so it is compacted — and natsd's
    // compaction drops the tombstones whose targets are gone (Go's keeps them), so the
    // block is not mostly dead afterwards and nothing would compact it again.
    assert!(fs.remove_msg(expected_lseq).unwrap());
    let (raw, live) = fs.block_bytes(0).unwrap();
    assert_eq!(live, 133);
    assert!(
        raw < 2 * live,
        "block not compacted: {raw} bytes for {live} live"
    );
    fs.stop().unwrap();

    // Where compaction cannot help — the tombstones are still needed because the removed
    // records are still in older blocks — a compaction must not be repeated on every
    // delete (Go's `cbytes`): only once the block's live bytes have halved again. These
    // blocks are under 2 MiB, so (as in Go) the periodic pass compacts them, not the
    // delete itself: each delete is followed by that pass.
    let dir = TempDir::new();
    let per_block = 250u64;
    let fcfg = Fcfg {
        block_size: per_block * 133,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
    for _ in 0..3 * per_block {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 3);
    fs.new_block_for_write().unwrap();
    // 40% of each full block: not enough to rewrite them, so their records stay and the
    // 300 tombstones in the fourth block stay needed.
    for block in 0..3 {
        for i in 0..100 {
            fs.remove_msg(block * per_block + 1 + i).unwrap();
        }
    }
    let first_b = fs.state().last_seq + 1;
    store_n_with(&fs, &msg, 4);
    fs.new_block_for_write().unwrap();
    let b = fs.block_paths()[3].clone();
    let before = inode(&b);
    // The first delete rewrites the mostly dead block (it may free something).
    fs.remove_msg(first_b).unwrap();
    assert_eq!(fs.block_should_compact_sync(3), Some(true));
    fs.sync_now().unwrap();
    let after_first = inode(&b);
    assert_ne!(after_first, before, "first delete did not compact");
    let (raw, live) = fs.block_bytes(3).unwrap();
    assert!(raw > 2 * live, "still mostly tombstones: {raw} / {live}");
    // The rewrite reclaimed nothing: the next delete must not rewrite it again.
    assert_eq!(fs.block_should_compact_sync(3), Some(false));
    fs.remove_msg(first_b + 1).unwrap();
    assert_eq!(fs.block_should_compact_sync(3), Some(false));
    fs.sync_now().unwrap();
    assert_eq!(
        inode(&b),
        after_first,
        "compacted again though nothing changed"
    );
    // Once the live bytes have halved since, compacting is allowed again.
    fs.remove_msg(first_b + 2).unwrap();
    assert_eq!(fs.block_should_compact_sync(3), Some(true));
    fs.sync_now().unwrap();
    assert_ne!(
        inode(&b),
        after_first,
        "not compacted after enough was removed"
    );
    // Nothing was lost on the way.
    let state = fs.state();
    assert_eq!(state.msgs, 3 * per_block - 300 + 1);
    fs.load_msg(first_b + 3).unwrap();
    fs.stop().unwrap();
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
    assert_eq!(fs.state(), state);
    fs.stop().unwrap();
}

fn store_n_with(fs: &FileStore, msg: &[u8], n: usize) {
    for _ in 0..n {
        fs.store_msg("foo", b"", msg, 0).unwrap();
    }
}

/// Sets `mode` on `dir` and everything under it (Go's `changeDirectoryPermission`).
fn chmod_tree(dir: &Path, dir_mode: u32, file_mode: u32) {
    let mode = if dir.is_dir() { dir_mode } else { file_mode };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            chmod_tree(&entry.unwrap().path(), dir_mode, file_mode);
        }
    }
}

port!("server/filestore_test.go::TestFileStoreStoreRawMessageThrowsPermissionErrorIfFSModeReadOnly" => file_store_store_raw_message_throws_permission_error_if_fs_mode_read_only);
fn file_store_store_raw_message_throws_permission_error_if_fs_mode_read_only() {
    // The tests run as root, which file modes do not stop. The writes run on a thread
    // whose filesystem user is `nobody` (setfsuid is per thread and drops the thread's
    // override capabilities), so the modes apply to them as to any unprivileged server.
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 1024,
        ..plain_fcfg(&dir)
    };
    let fs = Arc::new(fcfg.open(zzz_with(|c| c.subjects = vec!["ev.1".to_string()])));
    chmod_tree(&fcfg.dir, 0o555, 0o555);
    let writer = {
        let fs = fs.clone();
        let msgs_dir = fcfg.msgs_dir();
        std::thread::spawn(move || {
            nix::unistd::setfsuid(nix::unistd::Uid::from_raw(65534));
            // The modes are in force for this thread.
            let probe = std::fs::File::create(msgs_dir.join("probe"));
            assert_eq!(
                probe.map(|_| ()).unwrap_err().kind(),
                std::io::ErrorKind::PermissionDenied
            );
            let msg = [b'Z'; 1024];
            let mut stored = 0u64;
            for _ in 0..10_000 {
                match fs.store_msg("ev.1", b"", &msg, 0) {
                    Ok(_) => stored += 1,
                    Err(err) => return (stored, Some(err)),
                }
            }
            (stored, None)
        })
    };
    let (stored, err) = writer.join().unwrap();
    chmod_tree(&fcfg.dir, 0o755, 0o644);
    match err {
        Some(StoreError::Io(kind, _)) => assert_eq!(kind, std::io::ErrorKind::PermissionDenied),
        other => panic!("expected a permission error, got {other:?}"),
    }
    // What was stored before the failure is intact.
    assert_eq!(fs.state().msgs, stored);
    for seq in 1..=stored {
        fs.load_msg(seq).unwrap();
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgBlockLast" => file_store_remove_msg_block_last);
fn file_store_remove_msg_block_last() {
    // Go empties its last block, which makes it write a new last block (2.blk) and then
    // delete 1.blk. natsd never deletes its last block; its counterpart is an older block
    // emptied by a removal: the last block first records the removal durably, then the
    // old block is deleted. A hard kill in between leaves 1.blk behind.
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["test".to_string()]);
    let fs = fcfg.open(cfg.clone());
    fs.store_msg("test", b"", b"", 0).unwrap();
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 1, 1));
    fs.new_block_for_write().unwrap();
    let ofn = fcfg.msgs_dir().join("1.blk");
    let nfn = fcfg.msgs_dir().join("1.blk.cp");
    std::fs::copy(&ofn, &nfn).unwrap();
    assert!(fs.remove_msg(1).unwrap());
    assert!(fcfg.msgs_dir().join("2.blk").exists());
    assert!(!ofn.exists());
    // 2.blk holds the record of the removal.
    assert_eq!(fs.block_last_seq(0), Some(1));
    fs.stop().unwrap();
    // Go removes its state file so that the blocks are what recovery finds.
    remove_state_file(&fcfg);

    // Put 1.blk back, as a hard kill right after 2.blk was written would leave it.
    std::fs::rename(&nfn, &ofn).unwrap();
    assert!(ofn.exists());
    let fs = fcfg.open(zzz_with(|c| {
        c.subjects = vec!["test".to_string()];
        c.allow_msg_ttl = true;
    }));
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (0, 2, 1));
    // Recovery recognises the block as dead and removes it.
    assert!(!ofn.exists());
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRecoverDoesNotResetStreamState" => file_store_recover_does_not_reset_stream_state);
fn file_store_recover_does_not_reset_stream_state() {
    // Go removes the one block left so that it must recover the sequences from its
    // stream state file.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 1024,
            ..fcfg
        };
        let cfg = zzz_with(|c| {
            c.subjects = vec!["ev.1".to_string()];
            c.max_age = Duration::from_secs(2);
        });
        let clock = ManualClock::starting_now();
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        for _ in 0..500 {
            fs.store_msg("foo", b"", b"Hello World", 0).unwrap();
        }
        assert!(fs.block_paths().len() > 1);
        // Everything expires.
        clock.advance(Duration::from_millis(2500));
        run_expiry(&fs, &clock);
        assert_eq!(fs.state().msgs, 0);
        let paths = fs.block_paths();
        assert_eq!(paths.len(), 1);
        // The stream state file exists after the stop; the block goes.
        fs.stop().unwrap();
        assert!(fcfg.msgs_dir().join(STATE_FILE).exists());
        std::fs::remove_file(&paths[0]).unwrap();

        let fs = fcfg.open_with_clock(cfg, clock.clone());
        let state = fs.state();
        assert!(state.first_seq | state.last_seq != 0);
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 501, 500));
        fs.stop().unwrap();
    });
}

/// The store with writes synced in the background (Go's `AsyncFlush`), with an interval
/// long enough that the background never runs during the test.
fn open_async(fcfg: &Fcfg, cfg: StreamConfig) -> FileStore {
    let store_cfg = FileStoreConfig {
        sync_interval: Some(Duration::from_secs(3600)),
        ..fcfg.store_config()
    };
    FileStore::open(store_cfg, fcfg.stream(cfg), system_clock()).unwrap()
}

port!("server/filestore_test.go::TestFileStoreAsyncTruncate" => file_store_async_truncate);
fn file_store_async_truncate() {
    // Go stops its flusher so that the writes are still buffered when it truncates.
    // natsd has no write buffer: writes reach the file at once and only the sync waits.
    // That nothing is left pending is checked by recovering without a stop.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 8192,
            ..fcfg
        };
        let fs = open_async(&fcfg, zzz());
        let msg = [0u8; 100];
        for i in 1..=2 {
            let (seq, _) = fs.store_msg("foo", b"", &msg, 0).unwrap();
            assert_eq!(seq, i);
        }
        fs.truncate(1).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 1));
        drop(fs);
        let fs = open_async(&fcfg, zzz());
        assert_eq!(fs.state(), state);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCompressionAfterTruncate" => file_store_compression_after_truncate);
fn file_store_compression_after_truncate() {
    // Go's third case removes through its internal `removeMsg` with the same arguments
    // `RemoveMsg` uses; its `Recompress` flag is not used by the test body.
    for erase in [false, true, false] {
        all_permutations(|fcfg| {
            let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
            let fs = fcfg.open(cfg.clone());
            store_n(&fs, "foo", 2);
            let compresses = fcfg.compression != StoreCompression::None;
            assert_eq!(fs.block_compressed(0), Some(false));
            fs.new_block_for_write().unwrap();
            // The sealed block is compressed (natsd does it while sealing).
            assert_eq!(fs.block_compressed(0), Some(compresses));
            fs.store_msg("foo", b"", b"", 0).unwrap();
            if erase {
                assert!(fs.erase_msg(2).unwrap());
            } else {
                assert!(fs.remove_msg(2).unwrap());
            }
            assert_eq!(counts(&fs), (2, 1, 3, 1));
            fs.truncate(2).unwrap();
            assert_eq!(counts(&fs), (1, 1, 2, 1));
            // natsd keeps its last block on truncate, so a sealed (compressed) block never
            // becomes the block written to: Go's branch where they differ.
            let n = fs.block_paths().len();
            assert!(n > 1);
            assert_eq!(fs.block_compressed(n - 1), Some(false));
            assert_eq!(fs.block_compressed(0), Some(compresses));
            let (seq, _) = fs.store_msg("foo", b"", b"", 0).unwrap();
            assert_eq!(seq, 3);
            let state = fs.state();
            fs.stop().unwrap();

            // Go reloads the block from disk; natsd recovers the store.
            let fs = fcfg.open(cfg.clone());
            assert!(fs.recovery_report().is_clean());
            assert_eq!(fs.state(), state);
            let n = fs.block_paths().len();
            assert_eq!(fs.block_compressed(0), Some(compresses));
            assert_eq!(fs.block_compressed(n - 1), Some(false));
            fs.load_msg(1).unwrap();
            assert_eq!(fs.load_msg(2).unwrap_err(), StoreError::MsgNotFound);
            fs.load_msg(3).unwrap();
            fs.stop().unwrap();
        });
    }
}

/// The codec of the stores `all_permutations` opens.
fn codec_of(fcfg: &Fcfg) -> BlockCodec {
    BlockCodec {
        cipher: fcfg.cipher,
        compression: match fcfg.compression {
            StoreCompression::None => BlockCompression::None,
            StoreCompression::S2 => BlockCompression::Lz4,
        },
        prf: fcfg.store_config().prf,
        old_prf: None,
    }
}

port!("server/filestore_test.go::TestFileStoreCorruptedNonOrderedSequences" => file_store_corrupted_non_ordered_sequences);
fn file_store_corrupted_non_ordered_sequences() {
    // Go writes the records by hand into its last block and rebuilds the block's state.
    // natsd's counterpart writes the same records into the block file and recovers.
    let cases: [(&[u64], u64, usize); 2] = [(&[1, 3, 2, 4], 3, 1), (&[1, 2, 2, 3], 3, 0)];
    for (seqs, msgs, deleted) in cases {
        all_permutations(|fcfg| {
            let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
            let fs = fcfg.open(cfg.clone());
            assert_eq!(fs.block_indexes(), vec![1]);
            fs.stop().unwrap();
            let hasher = BlockHasher::new("zzz", 1);
            let mut plain = Vec::new();
            for &seq in seqs {
                record::encode(&mut plain, &hasher, seq, 0, b"", b"", b"");
            }
            let (_, file) = codec_of(&fcfg)
                .encode_block("zzz", 1, &plain, false)
                .unwrap();
            std::fs::write(fcfg.msgs_dir().join("1.blk"), file).unwrap();

            let fs = fcfg.open(cfg);
            let state = fs.state();
            assert_eq!(state.msgs, msgs, "{seqs:?}");
            assert_eq!(state.num_deleted, deleted, "{seqs:?}");
            assert_eq!(fs.block_msgs_for(1), Some(msgs));
            assert_eq!(fs.dmap_entries(), deleted);
            // Indexing agrees: the sequences kept load, the one dropped does not.
            let mut kept = 0;
            for seq in 1..=state.last_seq {
                match fs.load_msg(seq) {
                    Ok(sm) => {
                        assert_eq!(sm.seq, seq);
                        kept += 1;
                    }
                    Err(err) => assert_eq!(err, StoreError::MsgNotFound),
                }
            }
            assert_eq!(kept, msgs);
            fs.stop().unwrap();
        });
    }
}

port!("server/filestore_test.go::TestFileStoreEraseMsgErr" => file_store_erase_msg_err);
fn file_store_erase_msg_err() {
    // Go breaks the block's file name so that the erase's file operations fail, and
    // only checks that nothing panics. natsd's counterpart makes the erase's write fail
    // (the tombstone after overwriting the last message) and checks that the store stays
    // consistent: the message is gone or still there, never half of each, and the same
    // after a restart.
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        store_n(&fs, "foo", 2);
        fs.fail_next_write();
        let res = fs.erase_msg(2);
        let state = fs.state();
        let totals = fs.subjects_totals("foo");
        match fs.load_msg(2) {
            Ok(_) => {
                assert!(res.is_err(), "erase reported done: {res:?}");
                assert_eq!(state.msgs, 2);
                assert_eq!(totals["foo"], 2);
            }
            Err(err) => {
                assert_eq!(err, StoreError::MsgNotFound);
                assert_eq!(state.msgs, 1);
                assert_eq!(state.bytes, msg_size("foo", b"", b""));
                assert_eq!(totals["foo"], 1);
            }
        }
        fs.load_msg(1).unwrap();
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        let after = fs.state();
        assert_eq!(
            (after.msgs, after.bytes, after.first_seq, after.last_seq),
            (state.msgs, state.bytes, state.first_seq, state.last_seq)
        );
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreMissingDeletesAfterCompact" => file_store_missing_deletes_after_compact);
fn file_store_missing_deletes_after_compact() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        // Six messages, then the first and last removed and a gap in the middle.
        store_n(&fs, "foo", 6);
        for seq in [1, 3, 4, 6] {
            fs.remove_msg(seq).unwrap();
        }
        // Compacted later, but not as the last block.
        fs.new_block_for_write().unwrap();
        // `(first live, highest seq, live msgs, deletes)` of the first block.
        let block = |fs: &FileStore| {
            let (first, _, _, _) = fs.block_info(0).unwrap();
            let last = fs.block_last_seq(0).unwrap();
            (
                first,
                last,
                fs.block_msgs_for(first).unwrap(),
                fs.dmap_entries(),
            )
        };
        assert_eq!(block(&fs), (2, 6, 2, 3));
        assert_eq!(fs.state().deleted, vec![3, 4, 6]);

        // Compact, then recover from the files: the deletes are still known. natsd's
        // block keeps an erased record of 6, its highest sequence (see the module doc),
        // so 6 stays among its deletes where Go's block ends at 5.
        fs.compact_block_at(0).unwrap();
        assert_eq!(block(&fs), (2, 6, 2, 3));
        let state = fs.state();
        assert_eq!(state.deleted, vec![3, 4, 6]);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg.clone());
        assert_eq!(block(&fs), (2, 6, 2, 3));
        assert_eq!(fs.state(), state);
        for seq in [3, 4, 6] {
            assert_eq!(fs.load_msg(seq).unwrap_err(), StoreError::MsgNotFound);
        }

        // Remove 5 so that the block compacts down to one message.
        fs.remove_msg(5).unwrap();
        fs.compact_block_at(0).unwrap();
        let (first, last_live, _, _) = fs.block_info(0).unwrap();
        assert_eq!((first, last_live), (2, 2));
        assert_eq!(fs.block_msgs_for(2), Some(1));
        // Only the erased record of 6 is left past the message: no record of 3, 4, 5.
        let (raw, live) = fs.block_bytes(0).unwrap();
        assert_eq!(raw - live, record::EMPTY_RECORD_LEN as u64);
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 2, 6));
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), state);
        let (first, last_live, _, _) = fs.block_info(0).unwrap();
        assert_eq!((first, last_live), (2, 2));
        assert_eq!(fs.block_msgs_for(2), Some(1));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreEmptyBlockContainsPriorTombstones" => file_store_empty_block_contains_prior_tombstones);
fn file_store_empty_block_contains_prior_tombstones() {
    // Go starts a new last block when the last block's only message is removed, so it
    // has three blocks where natsd (which writes that tombstone into the last block
    // itself) has two; the last one holds no message and only prior tombstones.
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        store_n(&fs, "foo", 2);
        fs.new_block_for_write().unwrap();
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.remove_msg(2).unwrap();
        fs.remove_msg(3).unwrap();
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (1, 1, 3));
        assert_eq!(before.deleted, vec![2, 3]);
        let check = |fs: &FileStore| {
            assert_eq!(fs.block_paths().len(), 2);
            let (first_live, _, _, _) = fs.block_info(1).unwrap();
            assert_eq!(first_live, 0, "the last block holds no message");
            // natsd has one error for a message that is not there (Go: errDeletedMsg for
            // 2, ErrStoreMsgNotFound for 3).
            assert_eq!(fs.load_msg(2).unwrap_err(), StoreError::MsgNotFound);
            assert_eq!(fs.load_msg(3).unwrap_err(), StoreError::MsgNotFound);
        };
        check(&fs);
        fs.stop().unwrap();
        // Recovered without the state file, as Go.
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        check(&fs);
        fs.store_msg("foo", b"", b"", 0).unwrap();
        assert_eq!(fs.block_paths().len(), 2);
        // Removing the first message moves the first sequence up and drops the block
        // that held nothing but that message.
        fs.remove_msg(1).unwrap();
        assert_eq!(fs.block_paths().len(), 1);
        assert_eq!(counts(&fs), (1, 4, 4, 0));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCompactTombstonesBelowFirstSeq" => file_store_compact_tombstones_below_first_seq);
fn file_store_compact_tombstones_below_first_seq() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        store_n(&fs, "foo", 3);
        fs.new_block_for_write().unwrap();
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.remove_msg(3).unwrap();
        fs.remove_msg(2).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (2, 1, 4));
        assert_eq!(state.deleted, vec![2, 3]);
        assert_eq!(fs.block_paths().len(), 2);
        // The last block's two tombstones are for messages of the first block.
        assert_eq!(fs.block_tombstones(1), Some((2, 2)));
        // The first sequence moves up: the tombstones are not needed any more.
        fs.remove_msg(1).unwrap();
        let last = fs.block_paths().len() - 1;
        assert_eq!(fs.block_tombstones(last), Some((2, 0)));
        // A new last block so that the old one can be compacted; the periodic sync
        // (natsd's `sync_now`, Go's `syncBlocks`) rewrites it without them.
        fs.new_block_for_write().unwrap();
        let position = fs.block_paths().len() - 2;
        let (raw, live) = fs.block_bytes(position).unwrap();
        assert!(live * 2 < raw);
        fs.sync_now().unwrap();
        let (raw_after, live_after) = fs.block_bytes(position).unwrap();
        assert_ne!(raw_after, raw);
        assert_eq!((raw_after, live_after), (live, live));
        assert_eq!(fs.block_tombstones(position), Some((0, 0)));
        fs.load_msg(4).unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreSyncBlocksFlushesAndSyncsMessages" => file_store_sync_blocks_flushes_and_syncs_messages);
fn file_store_sync_blocks_flushes_and_syncs_messages() {
    // Go stops its flusher so that the write stays buffered until `syncBlocks`. natsd
    // writes at once and with a sync interval leaves only the sync for later: the sync
    // call makes it durable, and the message then reads back from the file.
    all_permutations(|fcfg| {
        let fs = open_async(&fcfg, zzz());
        let (seq, _) = fs.store_msg("foo", b"", b"", 0).unwrap();
        assert_eq!(seq, 1);
        assert!(fs.needs_sync());
        fs.sync_now().unwrap();
        assert!(!fs.needs_sync());
        let sm = fs.load_msg(1).unwrap();
        assert_eq!((sm.seq, sm.subject.as_str()), (1, "foo"));
        drop(fs);
        let fs = open_async(&fcfg, zzz());
        let sm = fs.load_msg(1).unwrap();
        assert_eq!((sm.seq, sm.subject.as_str()), (1, "foo"));
        fs.stop().unwrap();
    });
}

/// `(block position, record offset, record length, live)` of `seq`.
fn slot(fs: &FileStore, seq: u64) -> (usize, u64, u64, bool) {
    fs.slot_of(seq).unwrap()
}

port!("server/filestore_test.go::TestFileStoreIndexCacheBufTombstoneMismatch" => file_store_index_cache_buf_tombstone_mismatch);
fn file_store_index_cache_buf_tombstone_mismatch() {
    // Go clears its block's delete map and cache and re-indexes the block from the file;
    // natsd indexes blocks only from the files, on open.
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        store_n(&fs, "foo", 3);
        fs.remove_msg(2).unwrap();
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        // The three records in place, the second one deleted by the tombstone after them.
        assert_eq!(slot(&fs, 1), (0, 0, 33, true));
        assert_eq!(slot(&fs, 2), (0, 33, 33, false));
        assert_eq!(slot(&fs, 3), (0, 66, 33, true));
        assert_eq!(fs.dmap_entries(), 1);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreIndexCacheBufTombstoneMismatchAfterCompact" => file_store_index_cache_buf_tombstone_mismatch_after_compact);
fn file_store_index_cache_buf_tombstone_mismatch_after_compact() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        store_n(&fs, "foo", 3);
        fs.remove_msg(2).unwrap();
        fs.compact_block_at(0).unwrap();
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        assert_eq!(fs.dmap_entries(), 1);
        assert_eq!(fs.state().deleted, vec![2]);
        assert_eq!(slot(&fs, 1), (0, 0, 33, true));
        // No record of the second any more (Go's `dbit` slot) ...
        assert_eq!(slot(&fs, 2), (0, 0, 0, false));
        // ... so the third is one record earlier in the file.
        assert_eq!(slot(&fs, 3), (0, 33, 33, true));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreIndexCacheBufEraseMsgMismatch" => file_store_index_cache_buf_erase_msg_mismatch);
fn file_store_index_cache_buf_erase_msg_mismatch() {
    // Go makes its in-memory message count stale and its block re-index the file, and
    // waits for the state to be right again. natsd's state is only ever derived from the
    // files, on open: the recovered state is the one before.
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let fs = fcfg.open(zzz());
    store_n(&fs, "foo", 3);
    assert!(fs.erase_msg(2).unwrap());
    let before = fs.state();
    assert_eq!(before.msgs, 2);
    fs.stop().unwrap();
    let fs = fcfg.open(zzz());
    // The erased record keeps its place: the third is still the third record.
    assert_eq!(slot(&fs, 1), (0, 0, 33, true));
    assert!(!slot(&fs, 2).3);
    assert_eq!(slot(&fs, 3), (0, 66, 33, true));
    assert_eq!(fs.state(), before);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreCompactRestoresLastSeq" => file_store_compact_restores_last_seq);
fn file_store_compact_restores_last_seq() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let tss = store_n(&fs, "foo", 4);
        // `(first live, last live, highest seq, live msgs, deletes)` of the block, and
        // the timestamps of its first and last messages.
        let check = |fs: &FileStore, fseq: u64, lseq: u64, top: u64, msgs: u64| {
            let (first, last, _, _) = fs.block_info(0).unwrap();
            assert_eq!((first, last), (fseq, lseq));
            assert_eq!(fs.block_last_seq(0), Some(top));
            assert_eq!(fs.block_msgs_for(first), Some(msgs));
            assert_eq!(fs.load_msg(first).unwrap().ts, tss[fseq as usize - 1]);
            assert_eq!(fs.load_msg(last).unwrap().ts, tss[lseq as usize - 1]);
            let deletes = top - fseq + 1 - msgs;
            assert_eq!(fs.dmap_entries() as u64, deletes);
        };
        check(&fs, 1, 4, 4, 4);
        fs.remove_msg(1).unwrap();
        check(&fs, 2, 4, 4, 3);
        fs.remove_msg(4).unwrap();
        check(&fs, 2, 3, 4, 2);
        // After the compaction the block's last message is 3 with its own time; natsd's
        // block still records 4 (an erased record, see the module doc).
        fs.compact_block_at(0).unwrap();
        check(&fs, 2, 3, 4, 2);
        let state = fs.state();
        assert_eq!(state.last_time, tss[3]);
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        check(&fs, 2, 3, 4, 2);
        assert_eq!(fs.state(), state);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCompactFullyResetsFirstAndLastSeq" => file_store_compact_fully_resets_first_and_last_seq);
fn file_store_compact_fully_resets_first_and_last_seq() {
    // Go deletes the block's messages by hand so that only the compaction can fix its
    // bounds; natsd removes them (the tombstones go into the same block) and compacts.
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let tss = store_n(&fs, "foo", 2);
        let (first, last, _, _) = fs.block_info(0).unwrap();
        assert_eq!((first, last), (1, 2));
        assert_eq!(fs.block_msgs_for(1), Some(2));
        assert_eq!(fs.load_msg(1).unwrap().ts, tss[0]);
        assert_eq!(fs.load_msg(2).unwrap().ts, tss[1]);
        fs.remove_msg(1).unwrap();
        fs.remove_msg(2).unwrap();
        fs.compact_block_at(0).unwrap();
        // Nothing left: no first or last message, no deletes, only the erased record of
        // the highest sequence (the tombstones of its own records are dropped).
        let check = |fs: &FileStore| {
            let (first, last, _, _) = fs.block_info(0).unwrap();
            assert_eq!((first, last), (0, 0));
            assert_eq!(fs.block_last_seq(0), Some(2));
            assert_eq!(fs.dmap_entries(), 0);
            assert_eq!(
                fs.block_bytes(0).unwrap(),
                (record::EMPTY_RECORD_LEN as u64, 0)
            );
            assert_eq!(counts(fs), (0, 3, 2, 0));
        };
        check(&fs);
        let state = fs.state();
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        check(&fs);
        assert_eq!(fs.state(), state);
        fs.stop().unwrap();
    });
}

/// Go's `TestFileStoreLoadNext*SkipAhead` stream: ten messages two per block (all "a",
/// or "c","a" pairs), then "b" alone in the sixth block.
fn skip_ahead_store(fcfg: &Fcfg, single_subject_per_block: bool) -> FileStore {
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec![">".to_string()]));
    for i in 0..10 {
        let subj = if !single_subject_per_block && i % 2 == 0 {
            "c"
        } else {
            "a"
        };
        fs.store_msg(subj, b"", b"", 0).unwrap();
        if (i + 1) % 2 == 0 {
            fs.new_block_for_write().unwrap();
        }
    }
    fs.store_msg("b", b"", b"", 0).unwrap();
    assert_eq!(fs.block_indexes(), vec![1, 2, 3, 4, 5, 6]);
    fs
}

/// Checks that finding "b" read only the block holding it. Go reads block 2 too when
/// it starts inside it (at 3); natsd's index finds the match without reading blocks.
fn check_skip_ahead(fs: &FileStore, find: impl Fn(u64) -> ScanResult) {
    for start in [0, 3] {
        let before: Vec<u64> = (0..6).map(|p| fs.block_reads(p).unwrap()).collect();
        let (sm, nseq) = find(start).unwrap();
        assert_eq!((sm.seq, nseq), (11, 11));
        for (position, was) in before.into_iter().enumerate() {
            let reads = fs.block_reads(position).unwrap() - was;
            if position == 5 {
                assert!(reads > 0, "the sixth block was not read");
            } else {
                assert_eq!(reads, 0, "block {} read, start {start}", position + 1);
            }
        }
    }
}

port!("server/filestore_test.go::TestFileStoreLoadNextMsgSkipAhead" => file_store_load_next_msg_skip_ahead);
fn file_store_load_next_msg_skip_ahead() {
    for single in [true, false] {
        all_permutations(|fcfg| {
            let fs = skip_ahead_store(&fcfg, single);
            check_skip_ahead(&fs, |start| fs.load_next_msg("b", false, start));
            fs.stop().unwrap();
        });
    }
}

port!("server/filestore_test.go::TestFileStoreLoadNextMsgMultiSkipAhead" => file_store_load_next_msg_multi_skip_ahead);
fn file_store_load_next_msg_multi_skip_ahead() {
    for single in [true, false] {
        all_permutations(|fcfg| {
            let fs = skip_ahead_store(&fcfg, single);
            let mut filters = SubjectFilters::new();
            filters.insert("b");
            filters.insert("d");
            check_skip_ahead(&fs, |start| fs.load_next_msg_multi(&filters, start));
            fs.stop().unwrap();
        });
    }
}
