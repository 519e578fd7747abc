//! Unit tests of the file store through its public surface.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::{Clock, ManualClock, Store, StreamConfig};

fn cfg(name: &str) -> StreamConfig {
    StreamConfig {
        name: name.to_string(),
        ..StreamConfig::default()
    }
}

fn open(dir: &Path, cfg: StreamConfig) -> FileStore {
    FileStore::open(FileStoreConfig::new(dir), cfg, ManualClock::starting_now()).unwrap()
}

#[test]
fn store_load_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    {
        let fs = open(dir.path(), cfg("S"));
        for i in 1..=10u64 {
            let (seq, _) = fs
                .store_msg("foo", b"", format!("m{i}").as_bytes(), 0)
                .unwrap();
            assert_eq!(seq, i);
        }
        assert!(fs.remove_msg(3).unwrap());
        fs.stop().unwrap();
    }
    let fs = open(dir.path(), cfg("S"));
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (9, 1, 10));
    assert_eq!(state.deleted, vec![3]);
    assert_eq!(fs.load_msg(7).unwrap().msg.as_ref(), b"m7");
    assert!(fs.recovery_report().is_clean());
}

/// The six cipher × compression permutations Go's tests run over.
pub(crate) fn permutations() -> Vec<(StoreCipher, crate::store::StoreCompression)> {
    use crate::store::StoreCompression as C;
    let mut out = Vec::new();
    for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
        for compression in [C::None, C::S2] {
            out.push((cipher, compression));
        }
    }
    out
}

#[test]
fn every_permutation_rotates_recovers_and_erases() {
    for (cipher, compression) in permutations() {
        let dir = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig {
            block_size: 4096,
            cipher,
            prf: Some(js_key_gen("dlc22", "test")),
            ..FileStoreConfig::new(dir.path())
        };
        let scfg = StreamConfig {
            compression,
            ..cfg("P")
        };
        let payload = |i: u64| format!("payload-{i}-").repeat(1 + (i % 9) as usize);
        {
            let fs =
                FileStore::open(fcfg.clone(), scfg.clone(), ManualClock::starting_now()).unwrap();
            for i in 1..=300u64 {
                fs.store_msg(&format!("s.{}", i % 3), b"", payload(i).as_bytes(), 0)
                    .unwrap();
            }
            assert!(fs.block_indexes().len() > 3, "{cipher:?} {compression:?}");
            assert!(fs.erase_msg(5).unwrap());
            assert!(fs.remove_msg(250).unwrap());
            fs.stop().unwrap();
        }
        // Nothing of the payloads is readable on disk when encrypted.
        if cipher != StoreCipher::None {
            for entry in std::fs::read_dir(dir.path().join(MSGS_DIR)).unwrap() {
                let raw = std::fs::read(entry.unwrap().path()).unwrap();
                assert!(!raw.windows(8).any(|w| w == b"payload-"));
            }
        }
        let fs = FileStore::open(fcfg.clone(), scfg.clone(), ManualClock::starting_now()).unwrap();
        assert!(
            fs.recovery_report().is_clean(),
            "{:?}",
            fs.recovery_report()
        );
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (298, 1, 300));
        assert_eq!(state.deleted, vec![5, 250]);
        for i in (1..=300u64).filter(|i| *i != 5 && *i != 250) {
            let m = fs.load_msg(i).unwrap();
            assert_eq!(
                m.msg.as_ref(),
                payload(i).as_bytes(),
                "{cipher:?} {compression:?} {i}"
            );
        }
        // A different server key cannot open an encrypted store.
        if cipher != StoreCipher::None {
            fs.stop().unwrap();
            let wrong = FileStoreConfig {
                prf: Some(js_key_gen("other", "test")),
                ..fcfg
            };
            assert!(FileStore::open(wrong, scfg, ManualClock::starting_now()).is_err());
        }
    }
}

#[test]
fn discard_new_never_removes_old_messages_for_msg_or_byte_limits() {
    let dir = tempfile::tempdir().unwrap();
    let scfg = StreamConfig {
        max_msgs: 1,
        discard: crate::store::DiscardPolicy::New,
        ..cfg("D")
    };
    let fs = open(dir.path(), scfg);
    fs.store_msg("foo", b"", b"", 0).unwrap();
    // Stored without the discard-new check (as a follower does): both stay.
    fs.store_raw_msg("foo", b"", b"", 0, 1, 0, false).unwrap();
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (2, 1, 2));
}

#[test]
fn skips_keep_the_last_time_and_a_backward_walk_ends_at_the_first_seq() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let fs = FileStore::open(FileStoreConfig::new(dir.path()), cfg("K"), clock.clone()).unwrap();
    fs.store_raw_msg("foo", b"", b"", 1, 1_000, 0, false)
        .unwrap();
    fs.skip_msgs(2, 3).unwrap();
    fs.skip_msg(0).unwrap();
    assert_eq!(fs.fast_state().last_time, 1_000);
    fs.skip_msg_no_interest(0).unwrap();
    assert_eq!(fs.fast_state().last_time, clock.now_ns());
    // Recovery finds the same last time the skips carried.
    fs.stop().unwrap();
    let fs = FileStore::open(FileStoreConfig::new(dir.path()), cfg("K"), clock.clone()).unwrap();
    assert_eq!(fs.fast_state().last_time, clock.now_ns());
    let (err, seq) = fs.load_prev_msg("bar", false, 6).unwrap_err();
    assert_eq!((err, seq), (StoreError::Eof, 1));
}

#[test]
fn a_long_skip_after_messages_goes_into_a_new_block() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("S"));
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.skip_msgs(3, 10_000_000).unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    // The run lies between the blocks, not inside the first one.
    assert_eq!(fs.block_indexes().len(), 2);
    assert_eq!(fs.load_next_msg("foo", false, 3).unwrap().1, 10_000_003);
    // A short run stays in the block.
    fs.skip_msgs(0, 10).unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    assert_eq!(fs.block_indexes().len(), 2);
    let check = |fs: &FileStore| {
        let st = fs.fast_state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (4, 1, 10_000_014));
        assert_eq!(st.num_deleted, 10_000_010);
        assert_eq!(fs.load_msg(10_000_014).unwrap().seq, 10_000_014);
        assert_eq!(fs.load_prev_msg("foo", false, 10_000_002).unwrap().1, 2);
    };
    check(&fs);
    fs.stop().unwrap();
    let fs = open(dir.path(), cfg("S"));
    check(&fs);
    assert!(fs.recovery_report().is_clean());
}

/// Takes a whole snapshot of `fs` into memory.
fn snapshot_bytes(fs: &FileStore, consumers: bool) -> Vec<u8> {
    let mut snap = fs
        .snapshot(std::time::Duration::from_secs(10), consumers, true)
        .unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut snap.reader, &mut out).unwrap();
    out
}

#[test]
fn snapshot_restores_messages_deletes_ttls_and_consumers_under_another_cipher() {
    use crate::store::{ConsumerConfig, ConsumerState, SequencePair};
    for (cipher, compression) in permutations() {
        let dir = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig {
            block_size: 2048,
            cipher,
            prf: Some(js_key_gen("dlc22", "")),
            ..FileStoreConfig::new(dir.path().join("src"))
        };
        let scfg = StreamConfig {
            compression,
            allow_msg_ttl: true,
            ..cfg("SNAP")
        };
        let clock = ManualClock::starting_now();
        let fs = FileStore::open(fcfg.clone(), scfg.clone(), clock.clone()).unwrap();
        for i in 1..=200u64 {
            let ttl = if i == 150 { 3600 } else { 0 };
            fs.store_msg(
                &format!("s.{}", i % 5),
                b"",
                format!("m{i}").as_bytes(),
                ttl,
            )
            .unwrap();
        }
        for seq in [1, 2, 50, 51, 199] {
            assert!(fs.remove_msg(seq).unwrap());
        }
        assert!(fs.erase_msg(100).unwrap());
        let o = fs
            .consumer_store("dur", 0, &ConsumerConfig::default())
            .unwrap();
        let cstate = ConsumerState {
            delivered: SequencePair {
                consumer: 10,
                stream: 10,
            },
            ack_floor: SequencePair {
                consumer: 5,
                stream: 5,
            },
            ..ConsumerState::default()
        };
        o.update(&cstate).unwrap();
        let snap = snapshot_bytes(&fs, true);
        assert!(
            !fs.snapshot_in_progress() || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                !fs.snapshot_in_progress()
            }
        );

        // Restore under the other ciphers too: blocks go out as plaintext.
        let target = FileStoreConfig {
            cipher: StoreCipher::ChaCha,
            ..FileStoreConfig::new(dir.path().join("dst"))
        };
        let target = FileStoreConfig {
            prf: Some(js_key_gen("other-key", "")),
            ..target
        };
        let restored = FileStore::restore(&snap[..], target, scfg.clone(), clock.clone()).unwrap();
        let mut want = fs.state();
        want.consumers = 0;
        assert_eq!(restored.state(), want, "{cipher:?} {compression:?}");
        for seq in want.first_seq..=want.last_seq {
            match fs.load_msg(seq) {
                Ok(m) => assert_eq!(restored.load_msg(seq).unwrap(), m),
                Err(e) => assert_eq!(restored.load_msg(seq).unwrap_err(), e),
            }
        }
        assert_eq!(restored.next_expiration(), fs.next_expiration());
        let ro = restored
            .consumer_store("dur", 0, &ConsumerConfig::default())
            .unwrap();
        assert_eq!(ro.state().unwrap(), o.state().unwrap());
    }
}

#[test]
fn damaged_snapshots_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let fs = FileStore::open(
        FileStoreConfig::new(dir.path().join("src")),
        cfg("D"),
        clock.clone(),
    )
    .unwrap();
    for i in 0..500u64 {
        fs.store_msg("foo", b"", format!("payload {i}").as_bytes(), 0)
            .unwrap();
    }
    let snap = snapshot_bytes(&fs, true);
    let restore = |bytes: &[u8], name: &str| {
        let target = dir.path().join(name);
        let res = FileStore::restore(
            bytes,
            FileStoreConfig::new(&target),
            cfg("D"),
            clock.clone(),
        );
        (res, target)
    };
    // The whole snapshot restores.
    let (ok, _) = restore(&snap, "whole");
    assert_eq!(ok.unwrap().state().msgs, 500);
    // Every truncation is refused, and the target is left absent.
    let step = (snap.len() / 97).max(1);
    for (n, cut) in (0..snap.len()).step_by(step).enumerate() {
        let (res, target) = restore(&snap[..cut], &format!("cut{n}"));
        assert!(res.is_err(), "cut at {cut} of {}", snap.len());
        assert!(!target.exists());
    }
    // A flipped byte is refused, unless it did not change what the snapshot holds (an
    // LZ4 match offset moved within a run of equal bytes decompresses the same): then
    // the restored store is the original.
    let want = fs.state();
    for (n, at) in (0..snap.len()).step_by(step).enumerate() {
        let mut bad = snap.clone();
        bad[at] ^= 0x40;
        let (res, target) = restore(&bad, &format!("flip{n}"));
        match res {
            Err(_) => assert!(!target.exists()),
            Ok(restored) => {
                assert_eq!(restored.state(), want, "flip at {at} of {}", snap.len());
                for seq in 1..=500 {
                    assert_eq!(restored.load_msg(seq).unwrap(), fs.load_msg(seq).unwrap());
                }
            }
        }
    }
    // Another stream's snapshot is refused, and so is a non-empty target.
    let target = dir.path().join("other");
    assert!(FileStore::restore(
        &snap[..],
        FileStoreConfig::new(&target),
        cfg("E"),
        clock.clone()
    )
    .is_err());
    let (res, _) = restore(&snap, "whole");
    assert!(res.is_err());
}

#[test]
fn snapshot_fails_for_a_reader_past_the_deadline_and_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("T"));
    for _ in 0..100 {
        fs.store_msg("foo", b"", b"hello", 0).unwrap();
    }
    let mut snap = fs
        .snapshot(std::time::Duration::from_millis(25), false, false)
        .unwrap();
    assert_eq!(
        fs.snapshot(std::time::Duration::from_secs(1), false, false)
            .unwrap_err(),
        StoreError::SnapshotInProgress
    );
    std::thread::sleep(std::time::Duration::from_millis(60));
    let mut buf = [0u8; 32];
    assert!(std::io::Read::read(&mut snap.reader, &mut buf).is_err());
    // Dropping the reader ends it; the next snapshot may start.
    drop(snap);
    for _ in 0..100 {
        if !fs.snapshot_in_progress() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!fs.snapshot_in_progress());
    // An interrupted restore leaves a directory that does not open.
    let target = dir.path().join("half");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join(snapshot::RESTORE_MARKER), b"").unwrap();
    assert!(FileStore::open(
        FileStoreConfig::new(&target),
        cfg("T"),
        ManualClock::starting_now()
    )
    .is_err());
}

#[test]
fn erasing_the_last_message_keeps_the_last_time_across_recovery_and_truncate_drops_deletes_above() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("E"));
    for _ in 0..3 {
        fs.store_msg("foo", b"", b"x", 0).unwrap();
    }
    assert!(fs.erase_msg(3).unwrap());
    let before = fs.state();
    assert_ne!(before.last_time, 0);
    fs.stop().unwrap();
    let fs = open(dir.path(), cfg("E"));
    assert_eq!(fs.state(), before);
    // Truncating below a delete leaves no interior delete behind.
    assert!(fs.remove_msg(2).unwrap());
    fs.truncate(1).unwrap();
    assert_eq!(fs.dmap_entries(), 0);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 1));
}

#[test]
fn restore_from_a_failing_reader_is_an_error_not_a_panic() {
    struct Failing(Vec<u8>, usize);
    impl std::io::Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.1 >= self.0.len() / 2 {
                return Err(std::io::Error::other("link dropped"));
            }
            let n = out.len().min(self.0.len() / 2 - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let fs = open(&dir.path().join("src"), cfg("F"));
    for _ in 0..300 {
        fs.store_msg("foo", b"", b"some payload", 0).unwrap();
    }
    let snap = snapshot_bytes(&fs, false);
    let target = dir.path().join("dst");
    let res = FileStore::restore(
        Failing(snap, 0),
        FileStoreConfig::new(&target),
        cfg("F"),
        ManualClock::starting_now(),
    );
    assert!(res.is_err());
    assert!(!target.exists());
    // A snapshot that failed (deadline) gives its reader's error to the restore.
    let sr = fs
        .snapshot(std::time::Duration::from_millis(1), false, false)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let res = FileStore::restore(
        sr.reader,
        FileStoreConfig::new(&target),
        cfg("F"),
        ManualClock::starting_now(),
    );
    assert!(res.is_err());
}

#[test]
fn dropping_a_snapshot_reader_midway_ends_the_snapshot_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("R"));
    // Payloads that do not compress, so that the snapshot outgrows the pipe.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..400 {
        let payload: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fs.store_msg("foo", b"", &payload, 0).unwrap();
    }
    for read_first in [0usize, 1, 1000, 70_000, 300_000] {
        let mut snap = fs
            .snapshot(std::time::Duration::from_secs(5), true, false)
            .unwrap();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut snap.reader, read_first as u64),
            &mut buf,
        )
        .unwrap();
        drop(snap);
        let mut waited = 0;
        while fs.snapshot_in_progress() && waited < 200 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            waited += 1;
        }
        assert!(!fs.snapshot_in_progress(), "after reading {read_first}");
    }
}

#[test]
fn a_snapshot_read_to_its_end_allows_the_next_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("N"));
    fs.store_msg("foo", b"", b"x", 0).unwrap();
    for _ in 0..50 {
        let snap = snapshot_bytes(&fs, false);
        assert!(!snap.is_empty());
    }
}

#[test]
fn deleting_the_block_that_held_the_last_sequence_keeps_it_across_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 10 * 33,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("L"), ManualClock::starting_now()).unwrap();
    for _ in 0..20 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    // Tombstones go to a third block; the second, emptied, is deleted with seq 20.
    for seq in 1..=20 {
        fs.remove_msg(seq).unwrap();
    }
    let before = fs.state();
    assert_eq!((before.first_seq, before.last_seq), (21, 20));
    fs.stop().unwrap();
    let fs = FileStore::open(fcfg, cfg("L"), ManualClock::starting_now()).unwrap();
    assert_eq!(fs.state(), before);
}

/// The block file's inode, which changes exactly when the block is rewritten.
fn block_inode(fs: &FileStore, position: usize) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(&fs.block_paths()[position]).unwrap().ino()
}

#[test]
fn a_compaction_that_reclaims_nothing_is_not_repeated_until_live_bytes_halve() {
    let dir = tempfile::tempdir().unwrap();
    // 100 records of 33 bytes per block.
    let fcfg = FileStoreConfig {
        block_size: 3300,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    for _ in 0..300 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    fs.new_block_for_write().unwrap();
    // 30 of each block removed: not worth rewriting those, so the 90 tombstones in the
    // fourth block stay needed.
    for block in 0..3 {
        for i in 1..=30 {
            fs.remove_msg(block * 100 + i).unwrap();
        }
    }
    for _ in 0..4 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    fs.new_block_for_write().unwrap();
    let ino = block_inode(&fs, 3);
    fs.remove_msg(301).unwrap();
    // A small block is not rewritten by the delete itself, only by the periodic pass.
    assert_eq!(block_inode(&fs, 3), ino);
    assert_eq!(fs.block_should_compact(3), Some(false));
    assert_eq!(fs.block_should_compact_sync(3), Some(true));
    fs.sync_now().unwrap();
    let compacted = block_inode(&fs, 3);
    assert_ne!(compacted, ino);
    assert_eq!(fs.block_compaction_held(3), Some(true));
    fs.sync_now().unwrap();
    fs.remove_msg(302).unwrap();
    fs.sync_now().unwrap();
    assert_eq!(
        block_inode(&fs, 3),
        compacted,
        "rewritten again for nothing"
    );
    fs.remove_msg(303).unwrap();
    assert_eq!(fs.block_should_compact_sync(3), Some(true));
    fs.sync_now().unwrap();
    assert_ne!(block_inode(&fs, 3), compacted);
    assert_eq!(fs.state().msgs, 300 - 90 + 1);
}

#[test]
fn a_delete_rewrites_at_once_only_a_block_bigger_than_the_compact_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 4 * 1024 * 1024,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    // 1 KiB payloads: about 2.6 MB in the first block, then a second block.
    let payload = vec![b'x'; 1024];
    for _ in 0..2500 {
        fs.store_msg("foo", b"", &payload, 0).unwrap();
    }
    fs.new_block_for_write().unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    let ino = block_inode(&fs, 0);
    // Removing past half of a block over 2 MiB rewrites it with the delete that did it.
    for seq in 2..=1251 {
        fs.remove_msg(seq).unwrap();
    }
    // Exactly half dead: not yet.
    assert_eq!(block_inode(&fs, 0), ino);
    fs.remove_msg(1252).unwrap();
    assert_ne!(block_inode(&fs, 0), ino);
    let (size, live) = fs.block_bytes(0).unwrap();
    assert_eq!(size, live);
    assert_eq!(fs.state().msgs, 2501 - 1251);
}

#[test]
fn recovery_deletes_an_older_block_a_crash_left_dead() {
    let dir = tempfile::tempdir().unwrap();
    let msgs = dir.path().join(MSGS_DIR);
    let fs = open(dir.path(), cfg("S"));
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.new_block_for_write().unwrap();
    let saved = fs::read(msgs.join("1.blk")).unwrap();
    fs.remove_msg(1).unwrap();
    assert!(!msgs.join("1.blk").exists());
    fs.stop().unwrap();
    // The crash came after the last block recorded the delete, before 1.blk went.
    fs::write(msgs.join("1.blk"), saved).unwrap();
    let fs = open(dir.path(), cfg("S"));
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 2, 1));
    assert!(!msgs.join("1.blk").exists());
}

#[test]
fn an_erase_whose_tombstone_cannot_be_written_still_removes_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("S"));
    fs.store_msg("foo", b"", b"a", 0).unwrap();
    fs.store_msg("foo", b"", b"b", 0).unwrap();
    fs.fail_next_write();
    assert!(fs.erase_msg(2).unwrap());
    let state = fs.state();
    assert_eq!((state.msgs, state.last_seq), (1, 2));
    assert_eq!(fs.subjects_totals("foo")["foo"], 1);
    assert_eq!(fs.load_msg(2).unwrap_err(), StoreError::MsgNotFound);
    fs.stop().unwrap();
    let fs = open(dir.path(), cfg("S"));
    let after = fs.state();
    assert_eq!((after.msgs, after.last_seq), (1, 2));
}

#[test]
fn sync_now_compacts_an_older_block_of_stale_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let fs = open(dir.path(), cfg("S"));
    for _ in 0..3 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    fs.new_block_for_write().unwrap();
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.remove_msg(3).unwrap();
    fs.remove_msg(2).unwrap();
    // Deletes the first block: the two tombstones in the second are stale.
    fs.remove_msg(1).unwrap();
    fs.new_block_for_write().unwrap();
    assert_eq!(fs.block_tombstones(0), Some((2, 0)));
    fs.sync_now().unwrap();
    assert_eq!(fs.block_tombstones(0), Some((0, 0)));
    assert_eq!(fs.block_bytes(0), Some((33, 33)));
    assert_eq!(fs.load_msg(4).unwrap().seq, 4);
}

/// A compressed store of `n` two-record blocks (the last one is not compressed).
fn compressed_blocks(dir: &Path, n: u64) -> FileStore {
    let fcfg = FileStoreConfig {
        block_size: 100,
        ..FileStoreConfig::new(dir)
    };
    let stream = StreamConfig {
        compression: crate::store::StoreCompression::S2,
        ..cfg("S")
    };
    let fs = FileStore::open(fcfg, stream, ManualClock::starting_now()).unwrap();
    for _ in 0..2 * n {
        fs.store_msg("Z", b"", &[b'Z'; 19], 0).unwrap();
    }
    assert_eq!(fs.block_indexes().len() as u64, n);
    fs
}

#[test]
fn loads_keep_at_most_one_block_decompressed_and_none_after_a_walk() {
    let dir = tempfile::tempdir().unwrap();
    let fs = compressed_blocks(dir.path(), 6);
    assert!(fs.block_compressed(0).unwrap());
    // Jumping between blocks keeps the copy of the block loaded last only.
    for seq in [1, 5, 3, 9, 7] {
        fs.load_msg(seq).unwrap();
        assert!(fs.cache_size() <= 100, "more than one block held");
    }
    assert!(fs.cache_size() > 0);
    // A walk forward, and one backward, leave nothing behind.
    for seq in 1..=12 {
        fs.load_msg(seq).unwrap();
    }
    assert_eq!(fs.cache_size(), 0);
    for seq in (1..=12).rev() {
        fs.load_msg(seq).unwrap();
    }
    assert_eq!(fs.cache_size(), 0);
    // A snapshot reads every block once and keeps none.
    let _ = snapshot_bytes(&fs, false);
    assert_eq!(fs.cache_size(), 0);
}

#[test]
fn compacting_an_older_block_keeps_no_marker_when_a_later_block_goes_further() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 100,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("S"), ManualClock::starting_now()).unwrap();
    for _ in 0..4 {
        fs.store_msg("Z", b"", &[b'Z'; 19], 0).unwrap();
    }
    assert!(fs.remove_msg(2).unwrap());
    fs.compact_block_at(0).unwrap();
    // Only message 1 is left in the first block: seq 2 is known from the second.
    assert_eq!(fs.block_bytes(0).unwrap(), (50, 50));
    let state = fs.state();
    assert_eq!(state.deleted, vec![2]);
    fs.stop().unwrap();
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    assert_eq!(fs.state(), state);
}

#[test]
fn a_compacted_block_is_indexed_as_a_scan_of_its_new_file_would() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 100,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("S"), ManualClock::starting_now()).unwrap();
    // Two 50-byte records per block: [1,2] [3,4] [5,6].
    for _ in 0..6 {
        fs.store_msg("Z", b"", &[b'Z'; 19], 0).unwrap();
    }
    // Seq 2 and the first block's tail go; seq 4 too, the second block then holding 3.
    assert!(fs.remove_msg(2).unwrap());
    assert!(fs.remove_msg(4).unwrap());
    fs.compact_block_at(0).unwrap();
    fs.compact_block_at(1).unwrap();
    // No marker was kept (later blocks go further), so neither block names its old
    // highest sequence any more: each ends at its last message, in memory as on disk.
    assert_eq!(fs.block_last_seq(0), Some(1));
    assert_eq!(fs.block_last_seq(1), Some(3));
    let bounds = fs.block_bounds();
    assert_eq!(&bounds[..2], &[(1, 1), (3, 3)]);
    let deletes = fs.delete_blocks();
    let state = fs.state();
    assert_eq!(state.deleted, vec![2, 4]);
    // A crash (no state file): the scan finds exactly what memory held.
    drop(fs);
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    assert_eq!(fs.block_bounds(), bounds);
    assert_eq!(fs.delete_blocks(), deletes);
    assert_eq!(fs.state(), state);
}

#[test]
fn sync_deleted_rewrites_blocks_and_the_removal_survives_a_crash() {
    use crate::store::{DeleteBlock, DeleteRange};
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 100,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("S"), ManualClock::starting_now()).unwrap();
    // [1,2] [3,4] [5,6]
    for _ in 0..6 {
        fs.store_msg("Z", b"", &[b'Z'; 19], 0).unwrap();
    }
    let dbs: Vec<Box<dyn DeleteBlock>> = vec![Box::new(DeleteRange { first: 2, num: 2 })];
    fs.sync_deleted(&dbs).unwrap();
    // No tombstones (so no block only for them): the two blocks were rewritten.
    assert_eq!(fs.block_indexes().len(), 3);
    for position in 0..3 {
        assert_eq!(fs.block_tombstone_seqs(position), Some(vec![]));
    }
    assert_eq!(fs.block_bounds(), vec![(1, 1), (4, 4), (5, 6)]);
    let state = fs.state();
    assert_eq!((state.msgs, state.deleted.clone()), (4, vec![2, 3]));
    drop(fs);
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    assert_eq!(fs.state(), state);
}

#[test]
fn deleting_a_block_also_deletes_blocks_of_tombstones_it_made_unneeded() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 10 * 33,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("S"), ManualClock::starting_now()).unwrap();
    for _ in 0..20 {
        fs.store_msg("foo", b"", b"", 0).unwrap();
    }
    // The tombstones of 1..9 fill a third block; removing 10 deletes the first block, so
    // they are unneeded, and so are those of the second block once it goes with 20.
    for seq in 1..=20 {
        fs.remove_msg(seq).unwrap();
    }
    assert_eq!(fs.block_indexes().len(), 1);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 21, 20));
    drop(fs);
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    assert_eq!(fs.state(), state);
}

#[test]
fn a_purge_without_room_reuses_the_last_block_and_keeps_the_last_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let fcfg = FileStoreConfig {
        block_size: 1024,
        ..FileStoreConfig::new(dir.path())
    };
    let fs = FileStore::open(fcfg.clone(), cfg("S"), ManualClock::starting_now()).unwrap();
    for i in 0..100 {
        fs.store_msg("foo", b"", format!("m{i}").as_bytes(), 0)
            .unwrap();
    }
    let before = fs.block_paths();
    assert!(before.len() > 2);
    // What a purge does when its new directory finds no room.
    let purged = fs.lock().core.reset_in_place(100, &|_| {}).unwrap();
    assert_eq!(purged, 100);
    let after = fs.block_paths();
    assert_eq!(after, vec![before.last().unwrap().clone()]);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 101, 100));
    assert_eq!(fs.store_msg("foo", b"", b"next", 0).unwrap().0, 101);
    // A crash now (no clean stop): the scan finds the same.
    drop(fs);
    let fs = FileStore::open(fcfg, cfg("S"), ManualClock::starting_now()).unwrap();
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 101, 101));
    assert!(fs.recovery_report().is_clean());
    assert_eq!(fs.load_msg(101).unwrap().msg.as_ref(), b"next");
}

/// A header whose `Nats-TTL` says the message never expires.
const NEVER_HDR: &[u8] = b"NATS/1.0\r\nNats-TTL: never\r\n\r\n";

#[test]
fn a_message_that_never_expires_outlives_the_max_age_also_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let scfg = StreamConfig {
        max_age: Duration::from_secs(1),
        allow_msg_ttl: true,
        ..cfg("S")
    };
    let clock = ManualClock::starting_now();
    let reopen = || {
        FileStore::open(
            FileStoreConfig::new(dir.path()),
            scfg.clone(),
            clock.clone(),
        )
    };
    let mut fs = reopen().unwrap();
    let (_, never_ts) = fs.store_msg("foo", NEVER_HDR, b"", -1).unwrap();
    clock.advance(Duration::from_millis(100));
    let (_, aging_ts) = fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.store_msg("bar", b"", b"", 0).unwrap();
    // The age limit is due for the first message that can expire, not the first one.
    assert_eq!(fs.next_expiration(), Some(aging_ts + 1_000_000_000));
    assert!(aging_ts > never_ts);

    clock.advance(Duration::from_secs(2));
    fs.expire_msgs();
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 3));
    // Nothing left that can expire: no expiry to wake for (no busy loop on seq 1).
    assert_eq!(fs.next_expiration(), None);

    // A clean stop (state file) and a crash (scan of the blocks) both remember it, and
    // the expiry at open passes over it.
    for clean in [true, false] {
        let (seq, _) = fs.store_msg("foo", b"", b"", 0).unwrap();
        if clean {
            fs.stop().unwrap();
        }
        drop(fs);
        clock.advance(Duration::from_secs(2));
        let reopened = reopen().unwrap();
        assert_eq!(reopened.recovery_report().from_state_file, clean);
        let state = reopened.state();
        assert_eq!(
            (state.msgs, state.first_seq, state.last_seq),
            (1, 1, seq),
            "clean stop {clean}"
        );
        assert_eq!(reopened.next_expiration(), None, "clean stop {clean}");
        // A new message ages out around it.
        let (_, ts) = reopened.store_msg("foo", b"", b"", 0).unwrap();
        assert_eq!(reopened.next_expiration(), Some(ts + 1_000_000_000));
        clock.advance(Duration::from_secs(2));
        reopened.expire_msgs();
        assert_eq!(reopened.state().msgs, 1, "clean stop {clean}");
        assert_eq!(reopened.next_expiration(), None, "clean stop {clean}");
        fs = reopened;
    }
}

#[test]
fn ttls_stored_before_they_were_turned_off_do_not_expire_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let open = |allow_msg_ttl: bool| {
        let scfg = StreamConfig {
            allow_msg_ttl,
            ..cfg("S")
        };
        FileStore::open(FileStoreConfig::new(dir.path()), scfg, clock.clone()).unwrap()
    };
    let fs = open(true);
    fs.store_msg("foo", b"NATS/1.0\r\nNats-TTL: 1\r\n\r\n", b"", 1)
        .unwrap();
    fs.store_msg("bar", b"", b"", 0).unwrap();
    assert_eq!(fs.ttl_count(), 1);
    // A crash (no state file), then the stream comes back with TTLs turned off.
    drop(fs);
    for clean in [false, true] {
        let fs = open(false);
        assert_eq!(fs.recovery_report().from_state_file, clean);
        assert_eq!(fs.ttl_count(), 0, "clean stop {clean}");
        assert_eq!(fs.next_expiration(), None, "clean stop {clean}");
        clock.advance(Duration::from_secs(2));
        fs.expire_msgs();
        assert_eq!(fs.state().msgs, 2, "clean stop {clean}");
        fs.stop().unwrap();
    }
}
