//! Ports of the filestore tests about the stream state file (Go's `msgs/index.db`,
//! natsd's `natsd_store::file::state_file`).

use super::*;
use natsd_store::file::state_file::STATE_FILE;

/// Index of the block file holding `seq` (Go's `psi.fblk` / `psi.lblk` for a subject's
/// first and last message).
fn block_index_of(fs: &FileStore, seq: u64) -> u32 {
    let (position, _, _, live) = fs.slot_of(seq).unwrap();
    assert!(live, "seq {seq} is not live");
    fs.block_indexes()[position]
}

/// Files in the blocks directory with one of Go's old per-block extensions.
fn old_index_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy().into_owned();
            name.ends_with(".fss") || name.ends_with(".idx")
        })
        .count()
}

port!("server/filestore_test.go::TestFileStoreFullStateBasics" => file_store_full_state_basics);
fn file_store_full_state_basics() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 100;
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let fs = fcfg.open(cfg.clone());
        // A record of 50 bytes: two per block.
        let (subj, rec_len) = ("A", 50u64);
        let msg_a = [b'A'; 19];
        let msg_z = [b'Z'; 19];
        assert_eq!(msg_size(subj, b"", &msg_a), rec_len);

        // Two messages, then a stop: the state file is there.
        fs.store_msg(subj, b"", &msg_a, 0).unwrap();
        fs.store_msg(subj, b"", &msg_z, 0).unwrap();
        assert_eq!(fs.block_indexes().len(), 1);
        fs.stop().unwrap();
        let sfile = fcfg.msgs_dir().join(STATE_FILE);
        let buf = std::fs::read(&sfile).expect("a stream state file after a stop");
        assert!(!buf.is_empty());

        // Recovered from it.
        let fs = fcfg.open(cfg.clone());
        assert!(fs.recovery_report().from_state_file);
        assert_eq!(old_index_files(&fcfg.msgs_dir()), 0);
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (2, 1, 2));
        assert_eq!(fs.load_msg(1).unwrap().msg.as_ref(), msg_a);
        assert_eq!(fs.load_msg(2).unwrap().msg.as_ref(), msg_z);

        // One more splits the last block; keep the state of this stop.
        fs.store_msg(subj, b"", &msg_z, 0).unwrap();
        fs.stop().unwrap();
        let buf = std::fs::read(&sfile).unwrap();

        // One more again, then the older state (3 messages) put back.
        let fs = fcfg.open(cfg.clone());
        fs.store_msg(subj, b"", &msg_z, 0).unwrap();
        fs.stop().unwrap();
        std::fs::write(&sfile, &buf).unwrap();
        let fs = fcfg.open(cfg.clone());
        // The old state does not describe the blocks: they are scanned.
        assert!(!fs.recovery_report().from_state_file);
        let state = fs.state();
        assert_eq!(
            (state.msgs, state.bytes, state.first_seq, state.last_seq),
            (4, 4 * rec_len, 1, 4)
        );
        assert_eq!(fs.block_indexes().len(), 2);
        let psi = fs.subjects_state(subj)[subj];
        assert_eq!(psi.msgs, 4);
        assert_eq!(block_index_of(&fs, psi.first), 1);
        assert_eq!(block_index_of(&fs, psi.last), 2);

        // And once more, into a third block, with the 3-message state put back again.
        fs.store_msg(subj, b"", &msg_a, 0).unwrap();
        fs.stop().unwrap();
        std::fs::write(&sfile, &buf).unwrap();
        let fs = fcfg.open(cfg.clone());
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (5, 1, 5));
        assert_eq!(fs.block_indexes().len(), 3);
        let psi = fs.subjects_state(subj)[subj];
        assert_eq!(psi.msgs, 5);
        assert_eq!(block_index_of(&fs, psi.first), 1);
        assert_eq!(block_index_of(&fs, psi.last), 3);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreTrailingSkipMsgsFromStreamStateFile" => file_store_trailing_skip_msgs_from_stream_state_file);
fn file_store_trailing_skip_msgs_from_stream_state_file() {
    all_permutations(|fcfg| {
        let cfg = zzz_with(|c| c.subjects = vec![">".to_string()]);
        let fs = fcfg.open(cfg.clone());
        for _ in 0..10 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        let paths = fs.block_paths();
        let mfn = paths.last().unwrap().clone();
        // The stop writes the state file, which remembers the last sequence.
        fs.stop().unwrap();
        // Cut the block to its first five records (33 bytes each, Go's numbers).
        assert_eq!(msg_size("foo", b"", b""), 33);
        // The last block is never compressed while it is written to, and encryption is a
        // stream cipher: cutting at a record boundary behind the header keeps five.
        let header = std::fs::metadata(&mfn).unwrap().len() - 10 * 33;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&mfn)
            .unwrap()
            .set_len(header + 33 * 5)
            .unwrap();

        let fs = fcfg.open(cfg.clone());
        // Messages from the blocks, the last sequence from the state file.
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (5, 1, 10));
        for seq in 1..=10 {
            let loaded = fs.load_msg(seq);
            if seq <= 5 {
                loaded.unwrap();
            } else {
                assert_eq!(loaded.unwrap_err(), StoreError::MsgNotFound, "seq {seq}");
            }
        }
        // A new block stands for the lost tail: empty (no deletes of its own), first 11,
        // last 10.
        assert_eq!(fs.block_indexes().len(), 2);
        assert_eq!(fs.block_bounds().last().copied(), Some((11, 10)));
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreMsgBlkFailOnKernelFaultLostDataReporting" => file_store_msg_blk_fail_on_kernel_fault_lost_data_reporting);
fn file_store_msg_blk_fail_on_kernel_fault_lost_data_reporting() {
    all_permutations(|mut fcfg| {
        fcfg.block_size = 4096;
        let cfg = zzz_with(|c| c.subjects = vec!["foo".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let (subj, msg) = ("foo", b"Hello World");
        for _ in 0..500 {
            fs.store_msg(subj, b"", msg, 0).unwrap();
        }
        // 93 records of 44 bytes per 4096-byte block, as in Go.
        assert_eq!(msg_size(subj, b"", msg), 44);

        // Each scenario removes one block file after a clean stop: the first, the last,
        // then an interior one. The stop's state file says what the blocks held, so the
        // next open reports what went missing as lost.
        let remove_block = |fs: FileStore, pick: fn(&[PathBuf]) -> PathBuf| {
            let paths = fs.block_paths();
            let victim = pick(&paths);
            fs.stop().unwrap();
            std::fs::remove_file(victim).unwrap();
            fcfg.open(cfg.clone())
        };

        // First block.
        let fs = remove_block(fs, |p| p[0].clone());
        assert_eq!(fs.load_msg(1).unwrap_err(), StoreError::MsgNotFound);
        let state = fs.state();
        assert_eq!(state.first_seq, 94);
        let lost = state.lost.expect("lost data reported");
        assert_eq!(lost.msgs, (1..=93).collect::<Vec<u64>>());

        // Last block (the one holding messages: the open may have started an empty one).
        let fs = remove_block(fs, |p| {
            p.iter()
                .rev()
                .find(|p| std::fs::metadata(p).unwrap().len() > 200)
                .unwrap()
                .clone()
        });
        let state = fs.state();
        assert_eq!(state.first_seq, 94);
        // The last sequence is not lost with its block.
        assert_eq!(state.last_seq, 500);
        // These are interior deletes now.
        assert_eq!(state.num_deleted, 35);
        assert_eq!(state.lost.expect("lost data reported").msgs.len(), 35);

        // An interior block: Go needs checkMsgs to notice; natsd notices at the open,
        // and checking the messages finds nothing more.
        let fs = remove_block(fs, |p| p[p.len() - 3].clone());
        let state = fs.state();
        let lost = state.lost.clone().expect("lost data reported");
        assert!(fs.check_msgs().msgs.is_empty());
        assert_eq!(state.first_seq, 94);
        assert_eq!(state.last_seq, 500);
        assert_eq!(state.num_deleted, 128);
        assert_eq!(lost.msgs.len(), 93);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreFullStateTestUserRemoveWAL" => file_store_full_state_test_user_remove_wal);
fn file_store_full_state_test_user_remove_wal() {
    all_permutations(|mut fcfg| {
        // Room for two records of 50 bytes and tombstones.
        fcfg.block_size = 132;
        let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
        let fs = fcfg.open(cfg.clone());
        let msg_a = [b'A'; 19];
        let msg_z = [b'Z'; 19];

        // Two messages, the first removed: the block holds a tombstone for it.
        fs.store_msg("A", b"", &msg_a, 0).unwrap();
        fs.store_msg("Z", b"", &msg_z, 0).unwrap();
        assert!(fs.remove_msg(1).unwrap());
        assert_eq!(fs.load_msg(2).unwrap().msg.as_ref(), msg_z);
        assert_eq!(fs.block_indexes().len(), 1);
        let state = fs.state();
        fs.stop().unwrap();
        // The state file of this stop.
        let sfile = fcfg.msgs_dir().join(STATE_FILE);
        let buf = std::fs::read(&sfile).unwrap();

        let fs = fcfg.open(cfg.clone());
        fs.load_msg(2).unwrap();
        assert_eq!(fs.load_msg(1).unwrap_err(), StoreError::MsgNotFound);
        assert_eq!(fs.state(), state);
        assert_ne!(state.first_time, 0);

        // Two more, then 2 and 4 removed.
        fs.store_msg("A", b"", &msg_a, 0).unwrap();
        fs.store_msg("Z", b"", &msg_z, 0).unwrap();
        assert!(fs.remove_msg(2).unwrap());
        assert!(fs.remove_msg(4).unwrap());
        let state = fs.state();
        assert_eq!(state.deleted.len(), state.num_deleted);
        fs.stop().unwrap();

        let fs = fcfg.open(cfg.clone());
        assert_eq!(fs.state(), state);
        assert_ne!(state.first_time, 0);

        // The old state put back: the removals are remembered from the tombstones.
        fs.stop().unwrap();
        std::fs::write(&sfile, &buf).unwrap();
        let fs = fcfg.open(cfg.clone());
        let mut new_state = fs.state();
        // Sequence 2 is reported lost: the old state holds it, and its block and
        // tombstone went when the block emptied (Go reports it the same way).
        let lost = new_state.lost.take().expect("lost data detected");
        assert_eq!(lost.msgs, vec![2]);
        assert_eq!(new_state, state);
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreCorruptPSIMOnDisk" => file_store_corrupt_psim_on_disk);
fn file_store_corrupt_psim_on_disk() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    fs.store_msg("foo.bar", b"", b"ABC", 0).unwrap();
    fs.store_msg("foo.baz", b"", b"XYZ", 0).unwrap();

    // A bad subject in the per-subject index, in place of "foo.bar".
    let mut bad: Vec<char> = "foo.bar".chars().collect();
    bad[3] = char::REPLACEMENT_CHARACTER;
    let bad: String = bad.into_iter().collect();
    fs.corrupt_subject_index("foo.bar", &bad);

    // A restart does not carry the damage over.
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert_eq!(fs.load_last_msg("foo.bar").unwrap().msg.as_ref(), b"ABC");
    assert_eq!(fs.load_last_msg("foo.baz").unwrap().msg.as_ref(), b"XYZ");
    fs.stop().unwrap();
}

port!("server/filestore_test.go::TestFileStoreRecoverFullStateDetectCorruptState" => file_store_recover_full_state_detect_corrupt_state);
fn file_store_recover_full_state_detect_corrupt_state() {
    use sha2::{Digest, Sha256};
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    for i in 1..=10 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    fs.stop().unwrap();

    // A state that contradicts itself under a digest that matches: Go zeroes its message
    // count; natsd's state holds no count (it is derived), so its last sequence, the
    // first field after the name, goes to 0 while the blocks hold sequences up to 10.
    let sfile = fcfg.msgs_dir().join(STATE_FILE);
    let mut buf = std::fs::read(&sfile).unwrap();
    let body_len = buf.len() - 32;
    let last_seq_at = 4 + 1 + 1 + "zzz".len();
    assert_eq!(buf[last_seq_at], 10);
    buf[last_seq_at] = 0;
    let digest = Sha256::digest(&buf[..body_len]);
    buf[body_len..].copy_from_slice(&digest);
    std::fs::write(&sfile, &buf).unwrap();

    // Detected: the open does not take it, and the scan of the blocks is right.
    let fs = fcfg.open(cfg);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (10, 1, 10));
    assert!(state.lost.is_none());
    assert_eq!(fs.load_msg(10).unwrap().subject, "foo.10");
    fs.stop().unwrap();
}
