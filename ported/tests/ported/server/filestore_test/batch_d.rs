//! Ports of `server/filestore_test.go`: delete blocks (Go's `deleteBlocks`, what a
//! follower compares with its leader's deleted state), checksums after truncation, a bad
//! header bit, and Go's race tests as real threads checking the behaviour each one asserts.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use natsd_store::avl::SequenceSet;
use natsd_store::file::record::{self, BlockHasher, RecordError, HEADERS_BIT};
use natsd_store::file::BlockDeletes;

use super::*;

/// A store without cipher or compression, with blocks of `block_size` bytes.
fn plain_store(dir: &TempDir, block_size: u64, cfg: StreamConfig) -> FileStore {
    Fcfg {
        block_size,
        ..plain_fcfg(dir)
    }
    .open(cfg)
}

/// What a Go `DeleteBlocks` entry is: a per-block `*avl.SequenceSet` (interior deletes)
/// or a `*DeleteRange` (a gap between blocks), with its state.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Expect {
    Set(u64, u64, u64),
    Range(u64, u64, u64),
}

fn set(seqs: &[u64]) -> Expect {
    let s: SequenceSet = seqs.iter().copied().collect();
    let (f, l, n) = s.state();
    Expect::Set(f, l, n)
}

fn range(first: u64, num: u64) -> Expect {
    Expect::Range(first, first + num - 1, num)
}

pub(super) fn check_delete_blocks(fs: &FileStore, expected: &[Expect]) {
    let found: Vec<Expect> = fs
        .delete_blocks()
        .iter()
        .map(|db| {
            let (f, l, n) = db.state();
            match db {
                BlockDeletes::Interior(_) => Expect::Set(f, l, n),
                BlockDeletes::Gap(_) => Expect::Range(f, l, n),
            }
        })
        .collect();
    assert_eq!(found, expected);
}

/// Rewrites each block but the last without what it no longer needs (Go's
/// `mb.compact()` over a snapshot of `fs.blks`). A rewrite may free and remove other
/// blocks; those are passed over.
fn compact_older_blocks(fs: &FileStore) {
    let mut indexes = fs.block_indexes();
    indexes.pop();
    for index in indexes {
        if let Some(position) = fs.block_indexes().iter().position(|&i| i == index) {
            fs.compact_block_at(position).unwrap();
        }
    }
}

port!("server/filestore_test.go::TestPruneDeleteBlock" => prune_delete_block_test);
fn prune_delete_block_test() {
    let ss = |seqs: &[u64]| -> Box<dyn DeleteBlock> {
        Box::new(seqs.iter().copied().collect::<SequenceSet>())
    };
    let dr = |first, num| -> Box<dyn DeleteBlock> { Box::new(DeleteRange { first, num }) };
    let dbs = [
        dr(5, 1),
        ss(&[8]),
        dr(9, 2),
        dr(47, 92),
        dr(139, 22),
        dr(200, 21),
    ];
    let local_blocks = vec![ss(&[8]), dr(9, 2), dr(139, 22), dr(170, 6), dr(200, 11)];
    let local: &[Box<dyn DeleteBlock>] = &local_blocks;

    // An earlier block than any local one is not pruned.
    let (prune, local) = prune_delete_block(dbs[0].as_ref(), local);
    assert!(!prune);
    assert_eq!(local.len(), 5);
    // An exact sequence set match is pruned.
    let (prune, local) = prune_delete_block(dbs[1].as_ref(), local);
    assert!(prune);
    assert_eq!(local.len(), 4);
    // An exact range match is pruned.
    let (prune, local) = prune_delete_block(dbs[2].as_ref(), local);
    assert!(prune);
    assert_eq!(local.len(), 3);
    // Overlap alone is not enough.
    let (prune, local) = prune_delete_block(dbs[3].as_ref(), local);
    assert!(!prune);
    assert_eq!(local.len(), 3);
    // A later exact match is still pruned after that.
    let (prune, local) = prune_delete_block(dbs[4].as_ref(), local);
    assert!(prune);
    assert_eq!(local.len(), 2);
    // Local blocks that cannot match any more are passed over.
    let (prune, local) = prune_delete_block(dbs[5].as_ref(), local);
    assert!(!prune);
    assert_eq!(local.len(), 1);
    // All remaining local blocks behind: they are used up.
    let (prune, local) = prune_delete_block(dr(300, 1).as_ref(), local);
    assert!(!prune);
    assert_eq!(local.len(), 0);
    // Nothing local left.
    let (prune, local) = prune_delete_block(dr(301, 1).as_ref(), local);
    assert!(!prune);
    assert_eq!(local.len(), 0);

    // Sparse sets with the same state but other sequences are not pruned.
    let local_blocks = vec![ss(&[1, 4, 5])];
    let (prune, local) = prune_delete_block(ss(&[1, 3, 5]).as_ref(), &local_blocks);
    assert!(!prune);
    assert_eq!(local.len(), 1);
    // The same sequences are.
    let (prune, local) = prune_delete_block(ss(&[1, 4, 5]).as_ref(), local);
    assert!(prune);
    assert_eq!(local.len(), 0);

    // A range matching a dense set is pruned, and the other way round.
    let local_blocks = vec![ss(&[7, 8, 9])];
    let (prune, local) = prune_delete_block(dr(7, 3).as_ref(), &local_blocks);
    assert!(prune);
    assert_eq!(local.len(), 0);
    let local_blocks = vec![dr(7, 3)];
    let (prune, local) = prune_delete_block(ss(&[7, 8, 9]).as_ref(), &local_blocks);
    assert!(prune);
    assert_eq!(local.len(), 0);
}

port!("server/filestore_test.go::TestFileStoreDeleteBlocks" => file_store_delete_blocks);
fn file_store_delete_blocks() {
    let dir = TempDir::new();
    let fs = plain_store(&dir, 256, zzz());
    let msg = [0u8; 20];
    for _ in 0..20 {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    // Five blocks of four: [1,4] [5,8] [9,12] [13,16] [17,20].
    assert_eq!(fs.block_indexes().len(), 5);
    assert_eq!(
        fs.block_bounds(),
        vec![(1, 4), (5, 8), (9, 12), (13, 16), (17, 20)]
    );
    let remove = |seqs: &[u64]| {
        for &seq in seqs {
            fs.remove_msg(seq).unwrap();
        }
    };

    // A gap between blocks 2 and 3, then wider.
    remove(&[9]);
    check_delete_blocks(&fs, &[range(9, 1)]);
    remove(&[10]);
    check_delete_blocks(&fs, &[range(9, 2)]);
    // The last of block 2: an interior delete of that block.
    remove(&[8]);
    check_delete_blocks(&fs, &[set(&[8]), range(9, 2)]);
    // A gap at the start of block 5.
    remove(&[18, 17]);
    check_delete_blocks(&fs, &[set(&[8]), range(9, 2), range(17, 2)]);
    // Block 2 emptied: one gap from 5 to 10.
    remove(&[6, 5, 7]);
    check_delete_blocks(&fs, &[range(5, 6), range(17, 2)]);
    // The last message.
    remove(&[20]);
    check_delete_blocks(&fs, &[range(5, 6), range(17, 2), set(&[20])]);
    remove(&[19]);
    check_delete_blocks(&fs, &[range(5, 6), range(17, 4)]);
    // A block in the middle.
    remove(&[11, 12]);
    check_delete_blocks(&fs, &[range(5, 8), range(17, 4)]);
    // The first block.
    remove(&[1, 2, 3, 4]);
    check_delete_blocks(&fs, &[range(17, 4)]);
}

/// Removes `first..=last` as a leader's deleted range (Go's `removeMsgsInRange`, which
/// `SyncDeleted` runs for a `DeleteRange`).
fn remove_range(fs: &FileStore, first: u64, last: u64) {
    let db: Vec<Box<dyn DeleteBlock>> = vec![Box::new(DeleteRange {
        first,
        num: last - first + 1,
    })];
    fs.sync_deleted(&db).unwrap();
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgsInRange" => file_store_remove_msgs_in_range);
fn file_store_remove_msgs_in_range() {
    let dir = TempDir::new();
    let fs = plain_store(&dir, 256, zzz());
    let msg = [0u8; 256];
    for _ in 0..20 {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    let blocks = || fs.block_indexes().len();
    let first_of_first_block = || fs.block_bounds()[0].0;
    assert_eq!(blocks(), 20);

    remove_range(&fs, 1, 1);
    assert_eq!(blocks(), 19);
    assert_eq!(first_of_first_block(), 2);
    // Again: nothing to do.
    remove_range(&fs, 1, 1);
    assert_eq!(blocks(), 19);
    assert_eq!(first_of_first_block(), 2);
    remove_range(&fs, 1, 2);
    assert_eq!(blocks(), 18);
    assert_eq!(first_of_first_block(), 3);
    remove_range(&fs, 3, 4);
    assert_eq!(blocks(), 16);
    assert_eq!(first_of_first_block(), 5);
    // [5,8] [14,20]
    remove_range(&fs, 9, 13);
    assert_eq!(blocks(), 11);
    check_delete_blocks(&fs, &[range(9, 5)]);
    // [5,7] [14,20]
    remove_range(&fs, 8, 8);
    assert_eq!(blocks(), 10);
    check_delete_blocks(&fs, &[range(8, 6)]);
    // [5,7] [14,16] [18,20]
    remove_range(&fs, 17, 17);
    assert_eq!(blocks(), 9);
    check_delete_blocks(&fs, &[range(8, 6), range(17, 1)]);
    // The last message: [5,7] [14,16] [18,19] and an empty last block.
    remove_range(&fs, 20, 20);
    check_delete_blocks(&fs, &[range(8, 6), range(17, 1), range(20, 1)]);
    // [5,6] [19]
    remove_range(&fs, 7, 18);
    assert_eq!(blocks(), 4);
    check_delete_blocks(&fs, &[range(7, 12), range(20, 1)]);
    // Everything: one empty block is left.
    remove_range(&fs, 1, 20);
    assert_eq!(blocks(), 1);
    assert_eq!(fs.block_msgs_for(20).unwrap_or(0), 0);
    assert_eq!(fs.state().msgs, 0);
}

port!("server/filestore_test.go::TestFileStoreCorrectChecksumAfterTruncate" => file_store_correct_checksum_after_truncate);
fn file_store_correct_checksum_after_truncate() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        // The last checksum of the first block is the last 8 bytes of its records.
        let last_checksum = || {
            let plain = fs.block_plaintext(0).unwrap();
            plain[plain.len() - 8..].to_vec()
        };
        let mut after_third = Vec::new();
        for i in 0..5 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
            if i == 2 {
                after_third = last_checksum();
            }
        }
        assert_ne!(last_checksum(), after_third);
        // Truncating back to 3 returns the block to the checksum it had then.
        fs.truncate(3).unwrap();
        assert_eq!(last_checksum(), after_third);
    });
}

port!("server/filestore_test.go::TestFileStoreCorruptionSetsHbitWithoutHeaders" => file_store_corruption_sets_hbit_without_headers);
fn file_store_corruption_sets_hbit_without_headers() {
    // A record of the empty length with the headers bit set has no room for the header
    // length: every reader must refuse its framing (Go's "sanity check failed") rather
    // than read past it.
    let hasher = BlockHasher::new("zzz", 1);
    let mut rec = Vec::new();
    record::encode(&mut rec, &hasher, 1, 1, b"", b"", b"");
    let rl = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]) | HEADERS_BIT;
    rec[..4].copy_from_slice(&rl.to_le_bytes());
    // Loading one message (Go's msgFromBuf).
    assert_eq!(record::decode(&rec, &hasher), Err(RecordError::BadFraming));
    // Indexing or rebuilding a block (Go's indexCacheBuf, rebuildStateFromBuf).
    let scan = record::scan(&rec, &hasher);
    assert!(scan.records.is_empty());
    assert_eq!(scan.valid_end, 0);

    // And through a store: the record written into its block is not taken as message 1.
    all_permutations(|fcfg| {
        let codec = natsd_store::file::codec::BlockCodec {
            cipher: fcfg.cipher,
            compression: natsd_store::file::BlockCompression::None,
            prf: Some(js_key_gen("dlc22", "")),
            old_prf: None,
        };
        let msgs_dir = fcfg.msgs_dir();
        std::fs::create_dir_all(&msgs_dir).unwrap();
        {
            let mut blk =
                natsd_store::file::block::Block::create(&msgs_dir, "zzz", 1, &codec).unwrap();
            blk.append(&rec).unwrap();
        }
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec![">".to_string()]));
        assert!(fs.load_msg(1).is_err());
        let state = fs.state();
        assert_eq!(state.msgs, 0);
        assert!(!fs.recovery_report().is_clean());
    });
}

port!("server/filestore_test.go::TestFileStoreRemoveMsgViaLimitsCallbackAliasedSubj" => file_store_remove_msg_via_limits_callback_aliased_subj);
fn file_store_remove_msg_via_limits_callback_aliased_subj() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(StreamConfig {
        name: "TEST".to_string(),
        storage: StorageType::File,
        max_msgs: 1,
        discard: DiscardPolicy::Old,
        ..StreamConfig::default()
    });
    // Keep what the removal callback was given; it must stay the subject after the
    // store has gone on (Go checks that it does not alias the block cache).
    let removed: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let seen = removed.clone();
    fs.register_storage_updates(Arc::new(move |md, _, seq, subj| {
        if md == -1 {
            seen.lock().unwrap().push((seq, subj.to_string()));
        }
    }));
    fs.store_msg("foo.bar", b"", b"payload-1", 0).unwrap();
    // Over MaxMsgs=1: the first is removed through the callback.
    fs.store_msg("foo.bar", b"", b"payload-2", 0).unwrap();
    // Load other messages so that any buffer the store used is reused.
    fs.store_msg("zzz.zzz", b"", b"payload-3", 0).unwrap();
    fs.load_msg(3).unwrap();
    let removed = removed.lock().unwrap().clone();
    assert_eq!(
        removed,
        vec![(1, "foo.bar".to_string()), (2, "foo.bar".to_string())]
    );
}

port!("server/filestore_test.go::TestFileStoreSubjectForSeqAliasRace" => file_store_subject_for_seq_alias_race);
fn file_store_subject_for_seq_alias_race() {
    let dir = TempDir::new();
    let fs = Arc::new(plain_store(
        &dir,
        1024,
        StreamConfig {
            name: "TEST".to_string(),
            subjects: vec!["foo.>".to_string()],
            storage: StorageType::File,
            ..StreamConfig::default()
        },
    ));
    const N: u64 = 256;
    let subjects: Arc<Vec<String>> = Arc::new(
        (1..=N)
            .map(|seq| format!("foo.seq-{seq:05}-{}", "A".repeat(40)))
            .collect(),
    );
    for subj in subjects.iter() {
        fs.store_msg(subj, b"", b"payload", 0).unwrap();
    }
    assert!(fs.block_indexes().len() >= 4);

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for r in 0..4u64 {
        let (fs, subjects, stop) = (fs.clone(), subjects.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ r;
            let mut lookups = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let seq = x % N + 1;
                let got = fs.subject_for_seq(seq).unwrap();
                assert_eq!(got, subjects[(seq - 1) as usize], "subject of {seq}");
                lookups += 1;
            }
            lookups
        }));
    }
    // Churn the blocks' read state meanwhile: re-verify every block from disk (drops
    // decompressed copies) and load across all blocks.
    let churn = {
        let (fs, subjects, stop) = (fs.clone(), subjects.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(fs.check_msgs().msgs.is_empty());
                for seq in (1..=N).step_by(7) {
                    let sm = fs.load_msg(seq).unwrap();
                    assert_eq!(sm.subject, subjects[(seq - 1) as usize]);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    for t in threads {
        assert!(t.join().unwrap() > 0);
    }
}

port!("server/filestore_test.go::TestFileStoreUpdateConfigSyncAlwaysRace" => file_store_update_config_sync_always_race);
fn file_store_update_config_sync_always_race() {
    let dir = TempDir::new();
    let cfg = StreamConfig {
        name: "zzz".to_string(),
        storage: StorageType::File,
        subjects: vec!["foo".to_string()],
        ..StreamConfig::default()
    };
    // Go's async persist mode: writes return before their sync.
    let fs = Arc::new(
        FileStore::open(
            FileStoreConfig {
                sync_interval: Some(Duration::from_millis(5)),
                ..plain_fcfg(&dir).store_config()
            },
            cfg.clone(),
            system_clock(),
        )
        .unwrap(),
    );
    fs.store_msg("foo", b"", b"hello", 0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stored = Arc::new(AtomicU64::new(0));
    let writer = {
        let (fs, stop, stored) = (fs.clone(), stop.clone(), stored.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                fs.store_msg("foo", b"", b"data", 0).unwrap();
                fs.flush_all_pending().unwrap();
                stored.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let updater = {
        let (fs, stop, stored) = (fs.clone(), stop.clone(), stored.clone());
        std::thread::spawn(move || {
            // Start once the writer is under way, so that the two overlap.
            while stored.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            for _ in 0..3000 {
                let mut ncfg = cfg.clone();
                fs.update_config(&mut ncfg).unwrap();
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    updater.join().unwrap();
    writer.join().unwrap();
    let stored = stored.load(Ordering::SeqCst);
    let state = fs.state();
    assert_eq!(state.msgs, stored + 1);
    assert_eq!(state.last_seq, stored + 1);
}

port!("server/filestore_test.go::TestFileStoreSyncDeletedDmapAliasRace" => file_store_sync_deleted_dmap_alias_race);
fn file_store_sync_deleted_dmap_alias_race() {
    let dir = TempDir::new();
    let fs = Arc::new(plain_store(&dir, 1024, zzz()));
    let msg = [b'Z'; 50];
    const TOTAL: u64 = 600;
    for _ in 0..TOTAL {
        fs.store_msg("foo", b"", &msg, 0).unwrap();
    }
    // Interior deletes in many blocks.
    let mut deleted = Vec::new();
    for seq in (2..TOTAL).step_by(3) {
        assert!(fs.remove_msg(seq).unwrap());
        deleted.push(seq);
    }
    // Rewrite every block but the last without the removed records: real holes.
    compact_older_blocks(&fs);
    let dbs: Arc<Vec<Box<dyn DeleteBlock>>> = Arc::new(
        fs.delete_blocks()
            .into_iter()
            .map(|db| Box::new(db) as Box<dyn DeleteBlock>)
            .collect(),
    );
    assert!(!dbs.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..3 {
        let (fs, dbs, stop) = (fs.clone(), dbs.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                fs.sync_deleted(&dbs).unwrap();
            }
        }));
    }
    for _ in 0..4 {
        let (fs, stop) = (fs.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // Re-read every block from disk.
                assert!(fs.check_msgs().msgs.is_empty());
                for seq in (1..=TOTAL).step_by(12) {
                    let _ = fs.load_msg(seq);
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    // The store is still consistent: syncing its own deletes removed nothing.
    let state = fs.state();
    assert_eq!(state.msgs, TOTAL - deleted.len() as u64);
    assert_eq!(state.deleted, deleted);
    fs.store_msg("foo", b"", &msg, 0).unwrap();
}

port!("server/filestore_test.go::TestFileStoreStoreRawMsgVsConcurrentBlockRemovalNoWriteErr" => file_store_store_raw_msg_vs_concurrent_block_removal_no_write_err);
fn file_store_store_raw_msg_vs_concurrent_block_removal_no_write_err() {
    let dir = TempDir::new();
    let fs = Arc::new(plain_store(
        &dir,
        256,
        zzz_with(|c| {
            c.subjects = vec!["foo.>".to_string()];
            c.max_msgs_per_subject = 1;
        }),
    ));
    const WRITERS: usize = 4;
    const READERS: usize = 4;
    let stop = Arc::new(AtomicBool::new(false));
    let last_seq = Arc::new(AtomicU64::new(0));
    let msg = [0u8; 128];
    let mut threads = Vec::new();
    // Writers push out their own previous message on every store; removers race them
    // for that same sequence, deleting its single-message block.
    for w in 0..WRITERS {
        let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(64);
        let (fs_w, stop_w, last_w) = (fs.clone(), stop.clone(), last_seq.clone());
        threads.push(std::thread::spawn(move || {
            let subj = format!("foo.{w}");
            while !stop_w.load(Ordering::Relaxed) {
                let (seq, _) = fs_w.store_msg(&subj, b"", &msg, 0).unwrap();
                last_w.store(seq, Ordering::Relaxed);
                let _ = tx.try_send(seq);
            }
        }));
        let fs_r = fs.clone();
        threads.push(std::thread::spawn(move || {
            for seq in rx {
                fs_r.remove_msg(seq).unwrap();
            }
        }));
    }
    // Readers load just behind the writers.
    for _ in 0..READERS {
        let (fs, stop, last_seq) = (fs.clone(), stop.clone(), last_seq.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let seq = last_seq.load(Ordering::Relaxed);
                if seq > 2 {
                    let _ = fs.load_msg(seq - 2);
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    // At most one message per subject, and the store still takes writes.
    assert!(fs.state().msgs <= WRITERS as u64);
    fs.store_msg("foo.healthy", b"", &msg, 0).unwrap();
    assert_eq!(fs.subjects_totals("foo.healthy")["foo.healthy"], 1);
}

port!("server/filestore_test.go::TestFileStoreSyncBlocksNoErrorOnConcurrentRemovedBlock" => file_store_sync_blocks_no_error_on_concurrent_removed_block);
fn file_store_sync_blocks_no_error_on_concurrent_removed_block() {
    let dir = TempDir::new();
    let fs = Arc::new(plain_fcfg(&dir).open(zzz()));
    // 1.blk
    for _ in 0..2 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    // 2.blk: message 3 and the tombstone of 2.
    fs.new_block_for_write().unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.remove_msg(2).unwrap();
    // 3.blk: message 4 and the tombstone of 3.
    fs.new_block_for_write().unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.remove_msg(3).unwrap();
    // Block 2 holds nothing live: worth compacting (Go's shouldCompactSync).
    assert_eq!(fs.block_indexes()[1], 2);
    let (rbytes, live) = fs.block_bytes(1).unwrap();
    assert!(live * 2 < rbytes);

    // Sync passes while blocks, sealed and waiting for their sync, are removed.
    let stop = Arc::new(AtomicBool::new(false));
    let syncer = {
        let (fs, stop) = (fs.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut passes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                fs.sync_now().unwrap();
                passes += 1;
            }
            passes
        })
    };
    let remover = {
        let fs = fs.clone();
        std::thread::spawn(move || {
            // Message 1 empties block 1, which frees block 2's tombstone: compacting
            // block 2 then removes it.
            fs.remove_msg(1).unwrap();
            fs.compact_block_at(0).unwrap();
            for _ in 0..300 {
                let (seq, _) = fs.store_msg("foo", b"", b"", 0).unwrap();
                fs.new_block_for_write().unwrap();
                fs.remove_msg(seq).unwrap();
            }
        })
    };
    remover.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(syncer.join().unwrap() > 0);
    // No write error: the store takes writes and keeps what it had.
    fs.sync_now().unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    let state = fs.state();
    assert_eq!(state.msgs, 2);
    assert!(fs.load_msg(4).is_ok());
}

port!("server/filestore_test.go::TestFileStoreDeleteMapView" => file_store_delete_map_view);
fn file_store_delete_map_view() {
    let msg = b"hello";
    let dir = TempDir::new();
    // Blocks of 10 messages.
    let fs = plain_store(
        &dir,
        10 * msg_size("foo", b"", msg),
        zzz_with(|c| c.subjects = vec!["foo".to_string()]),
    );
    const NUM_MSGS: u64 = 100;
    for _ in 0..NUM_MSGS {
        fs.store_msg("foo", b"", msg, 0).unwrap();
    }
    // Interior deletes in every block: each block keeps its first and last message.
    let mut expected = std::collections::BTreeSet::new();
    for seq in 1..=NUM_MSGS {
        if seq % 10 == 1 || seq % 10 == 0 {
            continue;
        }
        fs.remove_msg(seq).unwrap();
        expected.insert(seq);
    }
    // The interior deletes of the blocks as they are now (Go's `deleteMap`).
    let check_view = |expected: &std::collections::BTreeSet<u64>| {
        let sets: Vec<SequenceSet> = fs
            .delete_blocks()
            .into_iter()
            .filter_map(|db| match db {
                BlockDeletes::Interior(set) => Some(set),
                BlockDeletes::Gap(_) => None,
            })
            .collect();
        let total: usize = sets.iter().map(SequenceSet::size).sum();
        assert_eq!(total, expected.len());
        let exists = |seq: u64| sets.iter().any(|s| s.exists(seq));
        for seq in 0..=NUM_MSGS + 1 {
            assert_eq!(exists(seq), expected.contains(&seq), "seq {seq}");
        }
    };
    check_view(&expected);

    // Empty one interior block completely: it is removed, its deletes become a gap.
    let position = 3;
    let (first, last) = fs.block_bounds()[position];
    let emptied = fs.block_indexes()[position];
    let holding_msgs = |fs: &FileStore| -> Vec<u32> {
        fs.block_indexes()
            .into_iter()
            .zip(fs.block_bounds())
            .filter(|&(_, (first, last))| first <= last)
            .map(|(index, _)| index)
            .collect()
    };
    let with_msgs_before = holding_msgs(&fs);
    let blocks = fs.block_indexes().len();
    for seq in first..=last {
        if !expected.contains(&seq) {
            fs.remove_msg(seq).unwrap();
        }
        expected.remove(&seq);
    }
    // That block is gone and every other block with messages is still there. (natsd
    // may also drop a block holding only tombstones that no longer name anything on
    // disk, here those of the emptied block: Go keeps such blocks until a later sync.)
    assert!(!fs.block_indexes().contains(&emptied));
    let mut with_msgs_expected = with_msgs_before;
    with_msgs_expected.retain(|&i| i != emptied);
    assert_eq!(holding_msgs(&fs), with_msgs_expected);
    assert!(fs.block_indexes().len() < blocks);
    check_view(&expected);

    // Blocks removed whole by a compaction take their deletes with them.
    fs.compact(41).unwrap();
    expected.retain(|&seq| seq >= 41);
    check_view(&expected);
}

port!("server/filestore_test.go::TestFileStoreConvertToEncryptedDoesNotResurrectXoredCache" => file_store_convert_to_encrypted_does_not_resurrect_xored_cache);
fn file_store_convert_to_encrypted_does_not_resurrect_xored_cache() {
    let dir = TempDir::new();
    let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
    let mut fcfg = Fcfg {
        block_size: 8192,
        ..plain_fcfg(&dir)
    };
    let plaintext = b"MARKER-PLAINTEXT-PAYLOAD-".repeat(32);
    {
        let fs = fcfg.open(cfg.clone());
        fs.store_msg("foo", b"", &plaintext, 0).unwrap();
        fs.stop().unwrap();
    }
    let on_disk_in_clear = |dir: &Path| {
        std::fs::read_dir(dir).unwrap().any(|entry| {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            raw.windows(25).any(|w| w == b"MARKER-PLAINTEXT-PAYLOAD-")
        })
    };
    assert!(on_disk_in_clear(&fcfg.msgs_dir()));

    // Reopened with encryption, the existing block is converted: encrypted on disk, and
    // the message is still there.
    fcfg.cipher = StoreCipher::Aes;
    {
        let fs = fcfg.open(cfg.clone());
        assert!(!on_disk_in_clear(&fcfg.msgs_dir()));
        assert_eq!(fs.load_msg(1).unwrap().msg.as_ref(), &plaintext[..]);
        fs.store_msg("foo", b"", b"after", 0).unwrap();
        fs.stop().unwrap();
    }
    let fs = fcfg.open(cfg);
    assert!(fs.recovery_report().is_clean());
    assert_eq!(fs.state().msgs, 2);
    assert_eq!(fs.load_msg(1).unwrap().msg.as_ref(), &plaintext[..]);
    assert_eq!(fs.load_msg(2).unwrap().msg.as_ref(), b"after");
    assert!(!on_disk_in_clear(&fcfg.msgs_dir()));
}

port!("server/filestore_test.go::TestFileStoreMsgBlockWErrNotSetOnReadErrors" => file_store_msg_block_werr_not_set_on_read_errors);
fn file_store_msg_block_werr_not_set_on_read_errors() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
    fs.store_msg("foo", b"", b"hello", 0).unwrap();
    // Zero the stored record on disk (Go zeroes the loaded copy): reading it now fails
    // as bad data.
    let path = fs.block_paths()[0].clone();
    let len = msg_size("foo", b"", b"hello") as usize;
    let mut raw = std::fs::read(&path).unwrap();
    let start = raw.len() - len;
    raw[start..].fill(0);
    std::fs::write(&path, &raw).unwrap();
    let err = fs.load_msg(1).unwrap_err();
    assert!(
        !matches!(err, StoreError::MsgNotFound | StoreError::Eof),
        "a read error, got {err:?}"
    );
    // The read error does not disable writes (natsd's store path reads nothing back, so
    // unlike Go the store itself does not see it).
    fs.store_msg("foo", b"", b"world", 0).unwrap();
    fs.store_msg("foo", b"", b"again", 0).unwrap();
    assert_eq!(fs.load_msg(3).unwrap().msg.as_ref(), b"again");
    // A genuine write error does come back from the store.
    fs.fail_next_write();
    assert!(fs.store_msg("foo", b"", b"again", 0).is_err());
    assert_eq!(fs.state().last_seq, 3);
}
