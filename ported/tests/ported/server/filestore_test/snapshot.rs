//! Snapshot ports of `server/filestore_test.go`.

use std::io::Read;
use std::time::{Duration, Instant};

use super::*;

/// Go's `fs.Snapshot` read whole.
fn read_snapshot(fs: &FileStore, check_msgs: bool, consumers: bool) -> Vec<u8> {
    let mut snap = fs
        .snapshot(Duration::from_secs(5), consumers, check_msgs)
        .expect("error creating snapshot");
    let mut out = Vec::new();
    snap.reader
        .read_to_end(&mut out)
        .expect("error reading snapshot");
    out
}

/// Waits up to `total` for `f` to hold (Go's `checkFor`).
fn wait_for(total: Duration, f: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < total {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

port!("server/filestore_test.go::TestFileStoreSnapshot" => file_store_snapshot);
fn file_store_snapshot() {
    all_permutations(|fcfg| {
        let (subj, msg) = ("foo", b"Hello Snappy!");
        let scfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(scfg.clone());
        let to_send = 2233u64;
        for _ in 0..to_send {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }

        // A few consumers.
        let o1 = fs
            .consumer_store("o22", 0, &ConsumerConfig::default())
            .unwrap();
        let o2 = fs
            .consumer_store("o33", 0, &ConsumerConfig::default())
            .unwrap();
        let mut state = ConsumerState::default();
        state.delivered.consumer = 100;
        state.delivered.stream = 100;
        state.ack_floor.consumer = 22;
        state.ack_floor.stream = 22;
        o1.update(&state).unwrap();
        state.ack_floor.consumer = 33;
        state.ack_floor.stream = 33;
        o2.update(&state).unwrap();

        // Restores the snapshot into a new directory with the same options and compares
        // the recovered state with the live one. The upper layer recovers consumers, so
        // the count is left out, as in Go; their states are compared as well.
        let mut round = 0;
        let mut verify_snapshot = |snap: &[u8]| {
            round += 1;
            let rdir = TempDir::new();
            let rfcfg = Fcfg {
                dir: rdir.0.join("restored"),
                ..fcfg.clone()
            };
            let fsr = FileStore::restore(
                snap,
                rfcfg.store_config(),
                rfcfg.stream(scfg.clone()),
                system_clock(),
            )
            .unwrap();
            let mut state = fs.state();
            state.consumers = 0;
            let rstate = fsr.state();
            assert_eq!(
                rstate, state,
                "restored state does not match (round {round})"
            );
            for (name, o) in [("o22", &o1), ("o33", &o2)] {
                let ro = fsr
                    .consumer_store(name, 0, &ConsumerConfig::default())
                    .unwrap();
                assert_eq!(ro.state().unwrap(), o.state().unwrap(), "{name}");
                ro.stop().unwrap();
            }
            fsr.stop().unwrap();
        };

        // Simple case first.
        verify_snapshot(&read_snapshot(&fs, true, true));

        // Remove the first 100 messages.
        for i in 1..=100 {
            fs.remove_msg(i).unwrap();
        }
        verify_snapshot(&read_snapshot(&fs, true, true));

        // Now 50 sporadic deletes inside the stream.
        let total = to_send - 100;
        let mut x = SystemClock.now_ns() as u64 | 1;
        for _ in 0..50 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            fs.remove_msg(x % total + 101).unwrap();
        }
        verify_snapshot(&read_snapshot(&fs, true, true));

        // Compaction works with snapshots: compact every block but the last.
        let blocks = fs.block_paths().len();
        for position in 0..blocks.saturating_sub(1) {
            fs.compact_block_at(position).unwrap();
        }
        verify_snapshot(&read_snapshot(&fs, true, true));

        // Messages can still be removed while a snapshot is in progress.
        let sr = fs.snapshot(Duration::from_secs(5), true, false).unwrap();
        // (122 may be one of the random deletes above, as in Go.)
        fs.remove_msg(122).unwrap();
        assert_eq!(fs.load_msg(122).unwrap_err(), StoreError::MsgNotFound);
        // Closing the reader releases the snapshot.
        drop(sr);
        assert!(
            wait_for(Duration::from_secs(1), || !fs.snapshot_in_progress()),
            "snapshot is not finished"
        );

        // A snapshot nobody reads before its deadline fails: reading it then errors.
        let mut sr = fs
            .snapshot(Duration::from_millis(25), false, false)
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 32];
        assert!(
            sr.reader.read(&mut buf).is_err(),
            "expected read to produce an error, got none"
        );
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreSnapshotAndSyncBlocks" => file_store_snapshot_and_sync_blocks);
fn file_store_snapshot_and_sync_blocks() {
    // Go checks that its periodic block sync re-arms its timer while a snapshot is in
    // progress. natsd syncs on demand (group commit) or from a background syncer; the
    // same fact is that syncing blocks still works, and durable stores still return,
    // while a snapshot nobody is reading is in progress.
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo".to_string()]));
        fs.store_msg("foo", b"", b"before", 0).unwrap();
        fs.sync_now().unwrap();
        let _sr = fs.snapshot(Duration::from_secs(5), false, false).unwrap();
        assert!(fs.snapshot_in_progress());
        let (seq, _) = fs.store_msg("foo", b"", b"during", 0).unwrap();
        assert_eq!(seq, 2);
        fs.sync_now().unwrap();
        assert!(fs.snapshot_in_progress());
        fs.stop().unwrap();
    });
}
