//! Ports of `server/filestore_test.go` about tombstones, truncation and recovery, in
//! Go's file order.

use super::*;

/// Stores one message per block into `blocks` blocks (Go forces the new blocks with
/// `newMsgBlockForWrite`).
fn one_per_block(fs: &FileStore, blocks: usize, subj: &str, hdr: &[u8], msg: &[u8], ttl: i64) {
    for i in 0..blocks {
        if i > 0 {
            fs.new_block_for_write().unwrap();
        }
        fs.store_msg(subj, hdr, msg, ttl).unwrap();
    }
    assert_eq!(fs.block_paths().len(), blocks);
}

port!("server/filestore_test.go::TestFileStoreTruncateRemovedBlock" => file_store_truncate_removed_block);
fn file_store_truncate_removed_block() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        one_per_block(&fs, 3, "foo", b"", b"", 0);
        let state = fs.state();
        assert_eq!(
            (
                state.msgs,
                state.first_seq,
                state.last_seq,
                state.num_deleted
            ),
            (3, 1, 3, 0)
        );
        assert!(fs.remove_msg(2).unwrap());
        assert_eq!(fs.block_paths().len(), 2);
        let state = fs.state();
        assert_eq!(
            (
                state.msgs,
                state.first_seq,
                state.last_seq,
                state.num_deleted
            ),
            (2, 1, 3, 1)
        );
        fs.truncate(2).unwrap();
        let state = fs.state();
        assert_eq!(
            (
                state.msgs,
                state.first_seq,
                state.last_seq,
                state.num_deleted
            ),
            (1, 1, 2, 1)
        );
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreEraseMsgDoesNotLoseTombstones" => file_store_erase_msg_does_not_lose_tombstones);
fn file_store_erase_msg_does_not_lose_tombstones() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        // The first stays throughout, the second is removed (a tombstone), the third is
        // a secret that gets erased.
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.store_msg("foo", b"", b"secret!", 0).unwrap();
        fs.remove_msg(2).unwrap();
        // A fourth after the tombstone.
        fs.store_msg("foo", b"", b"", 0).unwrap();
        // Erasing the third must not lose the tombstone after it.
        fs.erase_msg(3).unwrap();
        let check = |fs: &FileStore| {
            for seq in [2, 3] {
                assert_eq!(fs.load_msg(seq).unwrap_err(), StoreError::MsgNotFound);
            }
        };
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (2, 1, 4));
        assert_eq!(before.deleted, vec![2, 3]);
        check(&fs);
        fs.stop().unwrap();
        // Recovered without the state file, as Go.
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        check(&fs);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreTombstonesNoFirstSeqRollback" => file_store_tombstones_no_first_seq_rollback);
fn file_store_tombstones_no_first_seq_rollback() {
    all_permutations(|fcfg| {
        // Ten messages per block.
        let fcfg = Fcfg {
            block_size: 10 * 33,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        for _ in 0..20 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        let before = fs.state();
        assert_eq!(
            (before.msgs, before.first_seq, before.last_seq),
            (20, 1, 20)
        );
        assert_eq!(fs.block_paths().len(), 2);
        // Remove everything: tombstones across blocks.
        for seq in 1..=20 {
            fs.remove_msg(seq).unwrap();
        }
        let before = fs.state();
        assert_eq!(
            (before.msgs, before.first_seq, before.last_seq),
            (0, 21, 20)
        );
        // One block left, holding only tombstones.
        assert_eq!(fs.block_paths().len(), 1);
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreEraseMsgDoesNotLoseTombstonesInEmptyBlock" => file_store_erase_msg_does_not_lose_tombstones_in_empty_block);
fn file_store_erase_msg_does_not_lose_tombstones_in_empty_block() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.new_block_for_write().unwrap();
        let secret = b"secret!";
        fs.store_msg("foo", b"", secret, 0).unwrap();
        // The tombstone of 2 goes into the new block, which the erase then empties.
        fs.remove_msg(2).unwrap();
        fs.erase_msg(3).unwrap();
        let check = |fs: &FileStore| {
            for seq in [2, 3] {
                assert_eq!(fs.load_msg(seq).unwrap_err(), StoreError::MsgNotFound);
            }
        };
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (1, 1, 3));
        assert_eq!(before.deleted, vec![2, 3]);
        check(&fs);
        // The message is erased from the block.
        let plain = fs.block_plaintext(1).unwrap();
        assert!(!plain.windows(secret.len()).any(|w| w == secret));
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        check(&fs);
        fs.stop().unwrap();
    });
}

/// Go's `TestFileStoreTombstonesSelectNextFirstCleanup*`: fifty messages in blocks of
/// ten, 2-49 removed, fifty more in a new block, 50-100 removed.
fn tombstones_select_next_first(fcfg: &Fcfg, cfg: &StreamConfig) -> FileStore {
    let fs = fcfg.open(cfg.clone());
    for _ in 0..50 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    for seq in 2..=49 {
        fs.remove_msg(seq).unwrap();
    }
    fs.new_block_for_write().unwrap();
    for _ in 0..50 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    for seq in 50..=100 {
        fs.remove_msg(seq).unwrap();
    }
    let before = fs.state();
    assert_eq!(
        (before.msgs, before.first_seq, before.last_seq),
        (1, 1, 100)
    );
    fs
}

port!("server/filestore_test.go::TestFileStoreTombstonesSelectNextFirstCleanup" => file_store_tombstones_select_next_first_cleanup);
fn file_store_tombstones_select_next_first_cleanup() {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 10 * 33,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = tombstones_select_next_first(&fcfg, &cfg);
        fs.remove_msg(1).unwrap();
        let before = fs.state();
        assert_eq!(
            (before.msgs, before.first_seq, before.last_seq),
            (0, 101, 100)
        );
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreTombstonesSelectNextFirstCleanupOnRecovery" => file_store_tombstones_select_next_first_cleanup_on_recovery);
fn file_store_tombstones_select_next_first_cleanup_on_recovery() {
    // Go writes the last tombstone by hand and recovers as after a hard kill; natsd's
    // counterpart removes the message and drops the store without stopping it.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 10 * 33,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = tombstones_select_next_first(&fcfg, &cfg);
        let last_time = fs.state().last_time;
        fs.remove_msg(1).unwrap();
        drop(fs);
        let fs = fcfg.open(cfg);
        let want = StreamState {
            first_seq: 101,
            last_seq: 100,
            last_time,
            ..StreamState::default()
        };
        assert_eq!(fs.state(), want);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreDetectDeleteGapWithLastSkipMsg" => file_store_detect_delete_gap_with_last_skip_msg);
fn file_store_detect_delete_gap_with_last_skip_msg() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        fs.store_msg("foo", b"", b"", 0).unwrap();
        // Skips leave a gap that counts as deleted messages.
        fs.skip_msgs(2, 3).unwrap();
        let before = fs.state();
        assert_eq!(
            (
                before.msgs,
                before.first_seq,
                before.last_seq,
                before.num_deleted
            ),
            (1, 1, 4, 3)
        );
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        let (first, _, _, _) = fs.block_info(0).unwrap();
        assert_eq!(first, 1);
        assert_eq!(fs.block_last_seq(0), Some(4));
        assert_eq!(fs.dmap_entries(), 3);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreDetectDeleteGapWithOnlySkipMsg" => file_store_detect_delete_gap_with_only_skip_msg);
fn file_store_detect_delete_gap_with_only_skip_msg() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.skip_msg(1).unwrap(), 1);
        fs.skip_msgs(2, 3).unwrap();
        // Skips alone only move the sequences up: no deletes.
        let before = fs.state();
        assert_eq!(
            (
                before.msgs,
                before.first_seq,
                before.last_seq,
                before.num_deleted
            ),
            (0, 5, 4, 0)
        );
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        assert_eq!(fs.state(), before);
        // The block holds no message (Go: first 5 past last 4) and no deletes.
        let (first_live, _, _, _) = fs.block_info(0).unwrap();
        assert_eq!(first_live, 0, "no live message in the block");
        assert_eq!(fs.block_last_seq(0), Some(4));
        assert_eq!(fs.dmap_entries(), 0);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStorePreserveLastSeqAfterCompact" => file_store_preserve_last_seq_after_compact);
fn file_store_preserve_last_seq_after_compact() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        fs.store_msg("foo", b"", b"", 0).unwrap();
        fs.compact(2).unwrap();
        let before = fs.state();
        assert_eq!((before.msgs, before.first_seq, before.last_seq), (0, 2, 1));
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(zzz());
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreSkipMsgAndCompactRequiresAppend" => file_store_skip_msg_and_compact_requires_append);
fn file_store_skip_msg_and_compact_requires_append() {
    // Go reloads the block from disk at the end; natsd's counterpart is reopening the
    // store, which verifies every record.
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        // One long message.
        fs.store_msg("foo", b"", &vec![0u8; 256 * 1024], 0).unwrap();
        // Skip and compact to it.
        assert_eq!(fs.skip_msg(2).unwrap(), 2);
        fs.compact(2).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 3, 2));
        // Skipping again appends at the end of what is in the block.
        assert_eq!(fs.skip_msg(3).unwrap(), 3);
        let before = fs.state();
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        assert!(
            fs.recovery_report().is_clean(),
            "{:?}",
            fs.recovery_report()
        );
        assert_eq!(fs.state(), before);
        fs.stop().unwrap();
    });
}

/// Twenty messages of 33 bytes in two blocks of ten; then the first block is purged
/// whole. Go calls `purgeMsgBlock` directly (what its limits use); natsd's path for a
/// block emptied at once is a bulk removal, here a compact to sequence 11.
fn purge_first_of_two_blocks(fcfg: Fcfg) -> (Fcfg, FileStore) {
    let fcfg = Fcfg {
        block_size: 10 * 33,
        ..fcfg
    };
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
    for _ in 0..20 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    (fcfg, fs)
}

port!("server/filestore_test.go::TestFileStorePurgeMsgBlock" => file_store_purge_msg_block);
fn file_store_purge_msg_block() {
    all_permutations(|fcfg| {
        let (_fcfg, fs) = purge_first_of_two_blocks(fcfg);
        assert_eq!(fs.block_paths().len(), 2);
        let state = fs.state();
        assert_eq!(
            (state.first_seq, state.last_seq, state.msgs, state.bytes),
            (1, 20, 20, 20 * 33)
        );
        // Purging the block removes it and does the accounting.
        assert_eq!(fs.compact(11).unwrap(), 10);
        assert_eq!(fs.block_paths().len(), 1);
        let state = fs.state();
        assert_eq!(
            (state.first_seq, state.last_seq, state.msgs, state.bytes),
            (11, 20, 10, 10 * 33)
        );
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStorePurgeMsgBlockUpdatesSubjects" => file_store_purge_msg_block_updates_subjects);
fn file_store_purge_msg_block_updates_subjects() {
    all_permutations(|fcfg| {
        let (_fcfg, fs) = purge_first_of_two_blocks(fcfg);
        assert_eq!(fs.subjects_totals("foo")["foo"], 20);
        fs.compact(11).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq), (10, 11));
        assert_eq!(fs.subjects_totals("foo")["foo"], 10);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreIdxAccountingForSkipMsgs" => file_store_idx_accounting_for_skip_msgs);
fn file_store_idx_accounting_for_skip_msgs() {
    // Go reads the block's cache index; natsd's block index is checked through loads
    // and its delete count.
    for skip_many in [false, true] {
        all_permutations(|fcfg| {
            let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
            fs.store_msg("foo", b"", b"", 0).unwrap();
            if skip_many {
                fs.skip_msgs(2, 10).unwrap();
            } else {
                for i in 0..10 {
                    assert_eq!(fs.skip_msg(i + 2).unwrap(), i + 2);
                }
            }
            fs.store_msg("foo", b"", b"", 0).unwrap();
            assert_eq!(fs.block_paths().len(), 1);
            for seq in 1..=12 {
                let res = fs.load_msg(seq);
                if (2..=11).contains(&seq) {
                    assert_eq!(res.unwrap_err(), StoreError::MsgNotFound, "seq {seq}");
                } else {
                    res.unwrap();
                }
            }
            // The block indexes all twelve sequences: two messages and ten deletes.
            assert_eq!(fs.block_last_seq(0), Some(12));
            assert_eq!(fs.dmap_entries(), 10);
            fs.stop().unwrap();
        });
    }
}

/// The stream's delete blocks as replication encodes them (Go's `fs.deleteBlocks()`):
/// `(is a range, first, last, num)` each.
fn delete_blocks(fs: &FileStore) -> Vec<(bool, u64, u64, u64)> {
    let buf = fs.encoded_stream_state(0).unwrap();
    let ss = decode_stream_state(&buf, &decode_avl_delete_block).unwrap();
    ss.deleted
        .iter()
        .map(|db| {
            let (first, last, num) = db.state();
            let is_range = format!("{db:?}").starts_with("DeleteRange");
            (is_range, first, last, num)
        })
        .collect()
}

/// Expected delete ranges `(first, num)`.
fn ranges(list: &[(u64, u64)]) -> Vec<(bool, u64, u64, u64)> {
    list.iter()
        .map(|&(first, num)| (true, first, first + num - 1, num))
        .collect()
}

/// Twenty messages, one per block of 256 bytes, no cipher or compression.
fn twenty_single_message_blocks(dir: &TempDir) -> FileStore {
    let fcfg = Fcfg {
        block_size: 256,
        ..plain_fcfg(dir)
    };
    let fs = fcfg.open(zzz());
    for _ in 0..20 {
        fs.store_msg("foo", b"", &[0u8; 256], 0).unwrap();
    }
    assert_eq!(fs.block_paths().len(), 20);
    fs
}

port!("server/filestore_test.go::TestFileStoreDeleteRangeTwoGaps" => file_store_delete_range_two_gaps);
fn file_store_delete_range_two_gaps() {
    let dir = TempDir::new();
    let fs = twenty_single_message_blocks(&dir);
    // Two gaps: [1,9] [11,14] [16,20].
    fs.remove_msg(10).unwrap();
    fs.remove_msg(15).unwrap();
    assert_eq!(delete_blocks(&fs), ranges(&[(10, 1), (15, 1)]));
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreDeleteBlocksWithSingleMessageBlocks" => file_store_delete_blocks_with_single_message_blocks);
fn file_store_delete_blocks_with_single_message_blocks() {
    let dir = TempDir::new();
    let fs = twenty_single_message_blocks(&dir);
    /// Sequences to remove, then the delete ranges `(first, num)` expected.
    type Step = (&'static [u64], &'static [(u64, u64)]);
    let steps: [Step; 8] = [
        (&[10], &[(10, 1)]),
        (&[11], &[(10, 2)]),
        (&[5], &[(5, 1), (10, 2)]),
        (&[6, 7, 8, 9], &[(5, 7)]),
        (&[3, 16, 17, 18], &[(3, 1), (5, 7), (16, 3)]),
        // Removing the first sequence changes no gap.
        (&[1], &[(3, 1), (5, 7), (16, 3)]),
        // Removing the last sequence makes a gap.
        (&[20], &[(3, 1), (5, 7), (16, 3), (20, 1)]),
        (&[19], &[(3, 1), (5, 7), (16, 5)]),
    ];
    for (remove, want) in steps {
        for &seq in remove {
            fs.remove_msg(seq).unwrap();
        }
        assert_eq!(
            delete_blocks(&fs),
            ranges(want),
            "after removing {remove:?}"
        );
    }
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRemovePerSubjectWithMultipleBlocks" => file_store_remove_per_subject_with_multiple_blocks);
fn file_store_remove_per_subject_with_multiple_blocks() {
    // Go asks `firstSeqForSubj`; natsd's subject index gives the subject's first.
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec![">".to_string()]));
    one_per_block(&fs, 2, "foo", b"", b"", 0);
    assert_eq!(fs.subjects_state("foo")["foo"].first, 1);
    // After removing the last, the first is still found.
    assert!(fs.remove_msg(2).unwrap());
    assert_eq!(fs.subjects_state("foo")["foo"].first, 1);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreSelectMsgBlockBinarySearch" => file_store_select_msg_block_binary_search);
fn file_store_select_msg_block_binary_search() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec![">".to_string()]);
        let fs = fcfg.open(cfg.clone());
        for i in 0..33 {
            if i > 0 {
                fs.new_block_for_write().unwrap();
            }
            for _ in 0..2 {
                fs.store_msg("foo", b"", b"", 0).unwrap();
            }
            if i == 15 {
                // Two blocks holding only a tombstone each.
                for seq in [2, 5] {
                    fs.new_block_for_write().unwrap();
                    fs.remove_msg(seq).unwrap();
                }
            }
        }
        // `(position, block index)` of the block selected for `seq`.
        let select = |fs: &FileStore, seq: u64| {
            let position = fs.block_position_for(seq).expect("a block");
            (position, fs.block_indexes()[position])
        };
        let test = |fs: &FileStore| {
            // Blocks of the two deleted messages.
            assert_eq!(select(fs, 2), (0, 1));
            assert_eq!(select(fs, 5), (2, 3));
            // The first block and message.
            assert_eq!(select(fs, 1), (0, 1));
            // Before the tombstone blocks, after the deleted sequences.
            assert_eq!(select(fs, 10), (4, 5));
            // After the tombstone blocks and the deleted sequences.
            assert_eq!(select(fs, 64), (33, 34));
        };
        test(&fs);
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        test(&fs);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCompactRewritesFileWithSwap" => file_store_compact_rewrites_file_with_swap);
fn file_store_compact_rewrites_file_with_swap() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz());
    for _ in 0..20 {
        fs.store_msg("foo", b"", &vec![0u8; 256 * 1024], 0).unwrap();
    }
    // Most of the block's data goes: the file is rewritten rather than given tombstones.
    fs.compact(20).unwrap();
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 20, 20));
    // Go reloads the block and finds one record at offset 0; natsd's block holds only
    // the one message, and the store recovers it from the rewritten file.
    let (raw, live) = fs.block_bytes(0).unwrap();
    assert_eq!(raw, live);
    let (first, last, _, _) = fs.block_info(0).unwrap();
    assert_eq!((first, last), (20, 20));
    fs.stop().unwrap();
    let fs = plain_fcfg(&dir).open(zzz());
    assert!(fs.recovery_report().is_clean());
    assert_eq!(fs.state(), state);
    assert_eq!(fs.dmap_entries(), 0);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreCompactHeadReclaimRecompressedBlock" => file_store_compact_head_reclaim_recompressed_block);
fn file_store_compact_head_reclaim_recompressed_block() {
    // Go first recompresses its active block on disk; natsd compresses a block only when
    // it is sealed, so the active one is plain and the rewrite keeps it so.
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 8 * 1024 * 1024,
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["zzz".to_string()]);
        let fs = fcfg.open(cfg.clone());
        // Payloads that do not compress.
        let mut x = SystemClock.now_ns() as u64 | 1;
        let num = 50u64;
        let msgs: Vec<Vec<u8>> = (0..num)
            .map(|_| {
                (0..64 * 1024)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            })
            .collect();
        for m in &msgs {
            fs.store_msg("zzz", b"", m, 0).unwrap();
        }
        let (raw, _) = fs.block_bytes(0).unwrap();
        assert!(raw > 2 * 1024 * 1024);
        // Compact away most of the block: the head space is reclaimed by a rewrite.
        fs.compact(num - 5).unwrap();
        let check = |fs: &FileStore| {
            for seq in num - 5..=num {
                assert_eq!(
                    fs.load_msg(seq).unwrap().msg.as_ref(),
                    &msgs[seq as usize - 1][..]
                );
            }
        };
        check(&fs);
        fs.stop().unwrap();
        let fs = fcfg.open(cfg);
        assert_eq!(fs.fast_state().msgs, 6);
        check(&fs);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreRebuildStateDmapAccountingBug" => file_store_rebuild_state_dmap_accounting_bug);
fn file_store_rebuild_state_dmap_accounting_bug() {
    all_permutations(|fcfg| {
        let fcfg = Fcfg {
            block_size: 1024 * 1024,
            ..fcfg
        };
        let fs = fcfg.open(zzz());
        for _ in 0..100 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        for seq in 2..=40 {
            fs.remove_msg(seq).unwrap();
        }
        assert_eq!(fs.block_paths().len(), 1);
        // The block's live count is its span less its deletes.
        let check = |fs: &FileStore| {
            let (first, _, _, _) = fs.block_info(0).unwrap();
            let last = fs.block_last_seq(0).unwrap();
            let live = fs.block_msgs_for(first).unwrap();
            let dmap = fs.dmap_entries() as u64;
            assert_eq!(live, (last - first + 1) - dmap, "first {first} last {last}");
        };
        check(&fs);
        fs.compact_block_at(0).unwrap();
        fs.remove_msg(1).unwrap();
        check(&fs);
        // Go rebuilds the block's state from its file; natsd does so on open.
        fs.stop().unwrap();
        let fs = fcfg.open(zzz());
        check(&fs);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreLeftoverSkipMsgInDmap" => file_store_leftover_skip_msg_in_dmap);
fn file_store_leftover_skip_msg_in_dmap() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| {
        c.subjects = vec!["test.*".to_string()];
        c.max_msgs_per_subject = 1;
    });
    let fs = fcfg.open(cfg.clone());
    // Only a skip.
    fs.skip_msg(0).unwrap();
    // State, and the last block: first 2 past last 1 (no message), no deletes.
    let check = |fs: &FileStore| {
        let state = fs.state();
        assert_eq!(
            (state.first_seq, state.last_seq, state.num_deleted),
            (2, 1, 0)
        );
        let last = fs.block_paths().len() - 1;
        let (first_live, _, _, _) = fs.block_info(last).unwrap();
        assert_eq!(first_live, 0, "no message in the block");
        assert_eq!(fs.block_last_seq(last), Some(1));
        assert_eq!(fs.dmap_entries(), 0);
    };
    check(&fs);
    // Go stops without writing its index.db; natsd writes none, and dropping the store
    // without stopping it is the harder case.
    drop(fs);
    let fs = fcfg.open(cfg);
    check(&fs);
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreAtomicEraseMsg" => file_store_atomic_erase_msg);
fn file_store_atomic_erase_msg() {
    for in_last_block in [true, false] {
        all_permutations(|fcfg| {
            let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
            let fs = fcfg.open(cfg.clone());
            for _ in 0..3 {
                fs.store_msg("foo", b"", b"", 0).unwrap();
            }
            let compresses = fcfg.compression != StoreCompression::None;
            if !in_last_block {
                // A new last block: it is not compressed, the sealed one is (if asked).
                fs.new_block_for_write().unwrap();
                assert_eq!(fs.block_compressed(1), Some(false));
                assert_eq!(fs.block_compressed(0), Some(compresses));
            }
            let before = fs.state();
            assert_eq!(
                (
                    before.msgs,
                    before.first_seq,
                    before.last_seq,
                    before.num_deleted
                ),
                (3, 1, 3, 0)
            );
            assert!(fs.erase_msg(2).unwrap());
            let before = fs.state();
            assert_eq!(
                (
                    before.msgs,
                    before.first_seq,
                    before.last_seq,
                    before.num_deleted
                ),
                (2, 1, 3, 1)
            );
            let (seq, _) = fs.store_msg("foo", b"", b"", 0).unwrap();
            assert_eq!(seq, 4);
            let before = fs.state();
            // Only sealed blocks are compressed, and they stay so after the erase.
            let validate_compressed = |fs: &FileStore| {
                let n = fs.block_paths().len();
                for position in 0..n {
                    let want = position + 1 < n && compresses;
                    assert_eq!(
                        fs.block_compressed(position),
                        Some(want),
                        "block {position}"
                    );
                }
            };
            validate_compressed(&fs);
            // The same after each of Go's three recoveries: a restart, then without the
            // state file twice (natsd: two scans of the blocks).
            fs.stop().unwrap();
            for round in 0..3 {
                if round > 0 {
                    remove_state_file(&fcfg);
                }
                let fs = fcfg.open(cfg.clone());
                assert_eq!(fs.state(), before, "round {round}");
                validate_compressed(&fs);
                fs.stop().unwrap();
            }
        });
    }
}

port!("server/filestore_test.go::TestFileStoreRemoveBlockWithStaleStreamState" => file_store_remove_block_with_stale_stream_state);
fn file_store_remove_block_with_stale_stream_state() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        one_per_block(&fs, 3, "foo", b"", b"", 0);
        let middle = fs.block_paths()[1].clone();
        fs.stop().unwrap();
        std::fs::remove_file(middle).unwrap();
        let fs = fcfg.open(cfg);
        for seq in 1..=3 {
            let res = fs.load_msg(seq);
            if seq == 2 {
                assert_eq!(res.unwrap_err(), StoreError::MsgNotFound);
            } else {
                res.unwrap();
            }
        }
        fs.stop().unwrap();
    });
}
