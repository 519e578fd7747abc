//! Ports of `server/filestore_test.go`: when blocks are compacted (by a delete, or by the
//! periodic pass Go runs from its sync timer and natsd from `sync_now` or the
//! `sync_interval` thread), what a compacted block then holds, and range removals.

use super::batch_d::{check_delete_blocks, Expect};
use natsd_store::avl::SequenceSet;

use super::*;

/// A store without cipher or compression, with blocks of `block_size` bytes.
fn plain_store(dir: &TempDir, block_size: u64, cfg: StreamConfig) -> FileStore {
    Fcfg {
        block_size,
        ..plain_fcfg(dir)
    }
    .open(cfg)
}

/// Removes `first..=last` as a leader's deleted range: what Go's `SyncDeleted` does for a
/// `DeleteRange`, by `removeMsgsInRange(first, last, viaLimits=true)`.
fn remove_range(fs: &FileStore, first: u64, last: u64) {
    let db: Vec<Box<dyn DeleteBlock>> = vec![Box::new(DeleteRange {
        first,
        num: last - first + 1,
    })];
    fs.sync_deleted(&db).unwrap();
}

port!("server/filestore_test.go::TestFileStoreCompactingBlocksOnSync" => file_store_compacting_blocks_on_sync);
fn file_store_compacting_blocks_on_sync() {
    all_permutations(|mut fcfg| {
        // 50-byte records: 20 per block.
        fcfg.block_size = 1000;
        let fs = fcfg.open(zzz_with(|c| {
            c.subjects = vec!["*".to_string()];
            c.max_msgs_per_subject = 1;
        }));
        let msg = [b'Z'; 19];
        let subjects: Vec<String> = "ABCDEFGHIJKLMNOPQRST"
            .chars()
            .map(|c| c.to_string())
            .collect();
        for subj in &subjects {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.block_indexes().len(), 1);
        let (total, reported) = fs.utilization().unwrap();
        assert_eq!(total, reported);

        // B..S again: the old ones go by the per-subject limit, leaving A and T in the
        // first block. The block is small, so no delete rewrites it.
        for subj in &subjects[1..19] {
            fs.store_msg(subj, b"", &msg, 0).unwrap();
        }
        assert_eq!(fs.block_indexes().len(), 2);
        let (raw, live) = fs.block_bytes(0).unwrap();
        assert_eq!(live, 100);
        // natsd counts the block's record bytes before compression: exactly 1000 either
        // way (Go's compressed file is smaller but still more than the live bytes).
        assert_eq!(raw, 1000);
        let on_disk = std::fs::metadata(&fs.block_paths()[0]).unwrap().len();
        assert!(on_disk > live, "{on_disk} bytes on disk for {live} live");

        // The periodic pass (Go's sync timer) compacts it down to the live bytes.
        fs.sync_now().unwrap();
        let (raw, live) = fs.block_bytes(0).unwrap();
        assert!(raw <= live, "not compacted: raw {raw} vs live {live}");
        assert_eq!(live, 100);
        assert_eq!(fs.load_msg(1).unwrap().subject, "A");
        assert_eq!(fs.load_msg(20).unwrap().subject, "T");
        assert_eq!(fs.state().msgs, 20);
    });
}

port!("server/filestore_test.go::TestFileStoreSyncCompressOnlyIfDirty" => file_store_sync_compress_only_if_dirty);
fn file_store_sync_compress_only_if_dirty() {
    let dir = TempDir::new();
    let fs = plain_store(
        &dir,
        256,
        zzz_with(|c| c.subjects = vec!["foo.*".to_string()]),
    );
    let msg = b"hello";
    // Six 41-byte messages per block: two full blocks and one message in a third.
    for _ in 0..13 {
        fs.store_msg("foo.BB", b"", msg, 0).unwrap();
    }
    assert_eq!(fs.block_indexes().len(), 3);
    // Tombstones fill the third block (and start a fourth).
    for seq in [2, 3, 4, 5, 8, 9, 10, 11] {
        fs.remove_msg(seq).unwrap();
    }
    for _ in 0..6 {
        fs.store_msg("foo.BB", b"", msg, 0).unwrap();
    }
    assert_eq!(fs.block_indexes().len(), 5);
    // The first three blocks are mostly dead: the periodic pass would rewrite them.
    for position in 0..3 {
        assert_eq!(
            fs.block_should_compact_sync(position),
            Some(true),
            "block {position}"
        );
    }
    // After the pass (Go waits up to 2 s of 250 ms syncs; one pass does it here) no block
    // is worth rewriting any more.
    fs.sync_now().unwrap();
    let blocks = fs.block_indexes().len();
    for position in 0..blocks {
        assert_eq!(
            fs.block_should_compact_sync(position),
            Some(false),
            "block {position}"
        );
    }
    // A delete in the third block: compaction there is not held back any more.
    fs.remove_msg(13).unwrap();
    assert_eq!(fs.block_compaction_held(2), Some(false));
    assert_eq!(fs.state().msgs, 13 - 8 - 1 + 6);
}

port!("server/filestore_test.go::TestFileStoreDeleteBlocksWithManyEmptyBlocks" => file_store_delete_blocks_with_many_empty_blocks);
fn file_store_delete_blocks_with_many_empty_blocks() {
    let dir = TempDir::new();
    let fs = plain_store(&dir, 33 * 6, zzz());
    // The first block: six messages.
    for _ in 0..6 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    // Each next block: the tombstone of one message of the first block, the tombstones
    // of the previous block's two messages, and two messages of its own (not the last).
    for i in 0..5u64 {
        fs.new_block_for_write().unwrap();
        fs.remove_msg(i + 2).unwrap();
        if i > 0 {
            for j in 0..2 {
                fs.remove_msg(7 + (i - 1) * 2 + j).unwrap();
            }
        }
        if i < 4 {
            for _ in 0..2 {
                fs.store_msg("foo", b"", b"", 0).unwrap();
            }
        }
    }
    let interior: SequenceSet = [2, 3, 4, 5, 6].into_iter().collect();
    let (f, l, n) = interior.state();
    check_delete_blocks(&fs, &[Expect::Set(f, l, n), Expect::Range(7, 14, 8)]);

    // Compact every block (Go's `mb.compact()` over `fs.blks`); a rewrite may free and
    // delete other blocks, which are passed over.
    for index in fs.block_indexes() {
        if let Some(position) = fs.block_indexes().iter().position(|&i| i == index) {
            fs.compact_block_at(position).unwrap();
        }
    }
    // The first block now ends at its last message: everything after is one gap.
    check_delete_blocks(&fs, &[Expect::Range(2, 14, 13)]);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 14));
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgsInRangePartialBlocks" => file_store_remove_msgs_in_range_partial_blocks);
fn file_store_remove_msgs_in_range_partial_blocks() {
    let dir = TempDir::new();
    let fs = plain_store(&dir, 256, zzz());
    let msg = [0u8; 16];
    for _ in 0..20 {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    let blocks = || fs.block_indexes().len();
    let bounds = |position: usize| fs.block_bounds()[position];
    // [1,5] [6,10] [11,15] [16,20]
    assert_eq!(blocks(), 4);

    // [1,4] [7,10] [11,15] [16,20]
    remove_range(&fs, 5, 6);
    fs.compact_block_at(0).unwrap();
    assert_eq!(blocks(), 4);
    assert_eq!(bounds(0), (1, 4));
    assert_eq!(bounds(1), (7, 10));

    // [1,3] [12,15] [16,20]
    remove_range(&fs, 4, 11);
    fs.compact_block_at(0).unwrap();
    assert_eq!(blocks(), 3);
    assert_eq!(bounds(0), (1, 3));
    assert_eq!(bounds(1), (12, 15));

    // [1,3] {12,15} [16,20]
    remove_range(&fs, 13, 14);
    fs.compact_block_at(1).unwrap();
    assert_eq!(blocks(), 3);
    assert_eq!(bounds(0), (1, 3));
    assert_eq!(fs.block_msgs_for(12), Some(2));
    assert_eq!(bounds(1), (12, 15));

    // [1,3] {12} and an empty last block
    remove_range(&fs, 13, 20);
    fs.compact_block_at(1).unwrap();
    assert_eq!(blocks(), 3);
    assert_eq!(bounds(0), (1, 3));
    assert_eq!(fs.block_msgs_for(12), Some(1));
    assert_eq!(bounds(1), (12, 12));

    // [1,3] and the empty last block
    remove_range(&fs, 10, 20);
    assert_eq!(blocks(), 2);

    // Everything: the empty last block remembers the last sequence.
    remove_range(&fs, 1, 30);
    assert_eq!(blocks(), 1);
    assert_eq!(bounds(0), (21, 20));
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgsInRangeWithTombstones" => file_store_remove_msgs_in_range_with_tombstones);
fn file_store_remove_msgs_in_range_with_tombstones() {
    let dir = TempDir::new();
    let fcfg = Fcfg {
        block_size: 256,
        ..plain_fcfg(&dir)
    };
    let fs = fcfg.open(zzz());
    let store4 = || {
        for _ in 0..4 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
    };
    // [1,4]
    store4();
    // [5,8]
    fs.new_block_for_write().unwrap();
    store4();
    // [9,12], tombstones of 4, 3, 2, 10
    fs.new_block_for_write().unwrap();
    store4();
    for seq in [4, 3, 2, 10] {
        fs.remove_msg(seq).unwrap();
    }
    // [13,16], tombstones of 14, 15
    fs.new_block_for_write().unwrap();
    store4();
    fs.remove_msg(14).unwrap();
    fs.remove_msg(15).unwrap();
    // [17,20]
    fs.new_block_for_write().unwrap();
    store4();

    let check = |position: usize, bounds: (u64, u64), tombs: &[u64]| {
        assert_eq!(fs.block_bounds()[position], bounds, "block {position}");
        assert_eq!(
            fs.block_tombstone_seqs(position).unwrap(),
            tombs,
            "block {position}"
        );
    };
    assert_eq!(fs.block_indexes().len(), 5);
    check(0, (1, 4), &[]);
    check(1, (5, 8), &[]);
    check(2, (9, 12), &[4, 3, 2, 10]);
    check(3, (13, 16), &[14, 15]);
    check(4, (17, 20), &[]);

    // Remove 4..=17. The first block: its tail is already gone. The second: nothing in
    // it is needed, it goes. The third: its tombstones of the first block's messages
    // are still needed, so it stays. The fourth: its tombstones name only its own
    // messages, it goes. The last: its first message goes.
    //
    // Go removes these with tombstones in the last block (9, 11, 17) and leaves the
    // third block as it was (its stale tombstone of 10 included). natsd's range removal
    // rewrites the blocks instead: the third keeps only the tombstones still needed and
    // the last none; the removals are on disk all the same (checked after a crash).
    remove_range(&fs, 4, 17);
    assert_eq!(fs.block_indexes().len(), 3);
    check(0, (1, 4), &[]);
    assert_eq!(fs.block_tombstones(1), Some((3, 3)));
    assert_eq!(fs.block_tombstone_seqs(1).unwrap(), [4, 3, 2]);
    assert_eq!(fs.block_msgs_for(12).unwrap_or(0), 0);
    assert_eq!(fs.block_bounds()[2], (18, 20));
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (4, 1, 20));
    assert_eq!(state.deleted, (2..=17).collect::<Vec<u64>>());
    // A crash (no state file): nothing removed comes back.
    drop(fs);
    let fs = fcfg.open(zzz());
    assert_eq!(fs.state(), state);
    assert_eq!(fs.block_indexes().len(), 3);

    // Everything (past the last sequence): one empty block remembering the last one.
    remove_range(&fs, 1, 100);
    assert_eq!(fs.block_indexes().len(), 1);
    assert_eq!(fs.block_bounds()[0], (21, 20));
    // Again: nothing changes.
    remove_range(&fs, 1, 100);
    assert_eq!(fs.block_indexes().len(), 1);
    assert_eq!(fs.block_bounds()[0], (21, 20));
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 21, 20));
    // A crash (no state file): nothing removed comes back.
    drop(fs);
    let fs = fcfg.open(zzz());
    assert_eq!(fs.state(), state);
}

/// A 32 KiB tmpfs mounted for the test and unmounted when dropped (Go's test needs one at
/// `/jswf_test`, set up by hand in a container).
/// Records of `rec` bytes that still fit after a block file of `len` bytes in the file
/// system at `mount`: its free pages plus the pages the file already holds.
fn fits(mount: &Path, len: u64, rec: u64) -> u64 {
    let vfs = nix::sys::statvfs::statvfs(mount).unwrap();
    let page = vfs.fragment_size();
    let budget = (len.div_ceil(page) + vfs.blocks_available()) * page;
    (budget - len) / rec
}

struct SmallFs(PathBuf);

impl SmallFs {
    fn mount() -> SmallFs {
        let dir = TempDir::new();
        let path = dir.0.clone();
        // Keep the directory: the mount point outlives the guard of its creation.
        std::mem::forget(dir);
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=32k", "tmpfs"])
            .arg(&path)
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "this test needs a 32 KiB filesystem: mounting a tmpfs at {} failed ({status:?}); \
             run it as root with mount rights",
            path.display()
        );
        SmallFs(path)
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

port!("server/filestore_test.go::TestFileStoreWriteFailures" => file_store_write_failures, opt_in = "needs a full filesystem: mounts a 32 KiB tmpfs (root with mount rights), as Go's test needs a 32k tmpfs at /jswf_test");
fn file_store_write_failures() {
    let small = SmallFs::mount();
    let mut n = 0;
    all_permutations(|fcfg| {
        n += 1;
        let fcfg = Fcfg {
            dir: small.0.join(format!("jetstream-{n}")),
            ..fcfg
        };
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let (subj, msg) = ("foo", b"Hello Write Failures!");
        // The empty block (its header only) and the records that will fit after it.
        let first_len = std::fs::metadata(&fs.block_paths()[0]).unwrap().len();
        let predicted_first = fits(&small.0, first_len, msg_size(subj, b"", msg)) + 1;
        // About 54 bytes each: 1000 do not fit in 32 KiB.
        let fill = |fs: &FileStore, tries: u64| {
            (1..=tries).find(|_| fs.store_msg(subj, b"", msg, 0).is_err())
        };
        let lseq = fill(&fs, 1000).expect("expected a write to fail");
        let first_failure = lseq;
        let mut state = fs.state();
        assert_eq!(state.last_seq, lseq - 1);
        assert_eq!(state.msgs, lseq - 1);
        assert!(fs.load_msg(lseq).is_err());
        fs.load_msg(1).unwrap();

        // The same state after a restart.
        fs.stop().unwrap();
        let fs = fcfg.open(cfg.clone());
        let mut state2 = fs.state();
        state.lost = None;
        state2.lost = None;
        assert_eq!(state2, state);

        // Still full.
        assert!(fill(&fs, 100).is_some(), "expected a write to fail");
        let lseq = fs.state().last_seq + 1;

        // A purge frees the space: the writes fail again at the same count, less what
        // the purge must keep. Go asserts the same spot for its layout; natsd keeps the
        // last sequence's tombstone behind its block header (Go: a tombstone, no header),
        // so the exact spot is computed from the room the file system reports and
        // checked with the same rule against the first fill.
        let rec = msg_size(subj, b"", msg);
        assert_eq!(first_failure, predicted_first);
        fs.purge().unwrap();
        let paths = fs.block_paths();
        assert_eq!(paths.len(), 1);
        let kept = std::fs::metadata(&paths[0]).unwrap().len();
        assert_eq!(
            kept,
            first_len + msg_size("", b"", b""),
            "only the tombstone stays"
        );
        let expected = fits(&small.0, kept, rec) + 1;
        assert!(
            expected == lseq || expected + 1 == lseq,
            "{expected} vs {lseq}"
        );
        assert_eq!(fill(&fs, 1000), Some(expected));
        fs.stop().unwrap();
        drop(fs);
        std::fs::remove_dir_all(&fcfg.dir).unwrap();
    });
}
