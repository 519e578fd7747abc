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

port!("server/filestore_test.go::TestFileStoreWriteFullStateDetectCorruptState" => file_store_write_full_state_detect_corrupt_state);
fn file_store_write_full_state_detect_corrupt_state() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
    for i in 1..=10 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }

    // A change in a block the stream's totals did not see: Go lowers the message count
    // of the block holding seq 2; natsd's block forgets that message, its own counts
    // following, while the stream's totals and subject counts stay as they were.
    assert!(fs.drop_from_block_only(2));
    let ss = fs.fast_state();
    assert_eq!(ss.first_seq, 1);
    assert_eq!(ss.last_seq, 10);
    assert_eq!(ss.msgs, 10);

    // Writing the state detects it and rebuilds the totals from the blocks.
    assert_eq!(fs.write_full_state(), Err(StoreError::CorruptState));
    let ss = fs.fast_state();
    assert_eq!(ss.first_seq, 1);
    assert_eq!(ss.last_seq, 10);
    assert_eq!(ss.msgs, 9);
    fs.stop().unwrap();
}

/// Set in a copy of this test binary that runs one trial as [`NOBODY`]: the directory it
/// works in.
const UNPRIVILEGED_DIR_ENV: &str = "NATSD_PORT_UNPRIVILEGED_DIR";
/// The uid and gid of `nobody`.
const NOBODY: u32 = 65534;

/// Runs `body` in a fresh directory as a user that file permissions apply to. Root
/// ignores them, so as root this binary runs the trial `go_test` again, alone, as
/// `nobody`, in a directory `nobody` owns, and fails with its output if that fails.
fn run_without_root(go_test: &str, body: fn(&Path)) {
    if let Some(work) = std::env::var_os(UNPRIVILEGED_DIR_ENV) {
        return body(Path::new(&work));
    }
    let dir = TempDir::new();
    if !nix::unistd::geteuid().is_root() {
        return body(&dir.0);
    }
    use std::os::unix::process::CommandExt;
    let work = dir.0.join("work");
    std::fs::create_dir(&work).unwrap();
    let nobody = (
        nix::unistd::Uid::from_raw(NOBODY),
        nix::unistd::Gid::from_raw(NOBODY),
    );
    nix::unistd::chown(&work, Some(nobody.0), Some(nobody.1)).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", go_test, "--test-threads", "1", "--nocapture"])
        .env(UNPRIVILEGED_DIR_ENV, &work)
        // The child's results go to its own database, not the workspace's.
        .env("PARITY_DB", work.join("parity.db"))
        .current_dir(&work)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{go_test} as nobody: {}\n{stdout}\n{stderr}",
        out.status
    );
}

/// Go's `changeDirectoryPermission`: `mode` on the directory and everything under it.
fn change_directory_permission(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            change_directory_permission(&entry.path(), mode)?;
        } else {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

port!("server/filestore_test.go::TestFileStoreWriteFullStateThrowsPermissionErrorIfFSModeReadOnly" => file_store_write_full_state_throws_permission_error_if_fs_mode_read_only);
fn file_store_write_full_state_throws_permission_error_if_fs_mode_read_only() {
    run_without_root(
        "server/filestore_test.go::TestFileStoreWriteFullStateThrowsPermissionErrorIfFSModeReadOnly",
        |work| {
            use std::os::unix::fs::PermissionsExt;
            let fcfg = Fcfg {
                dir: work.join("store"),
                block_size: 0,
                cipher: StoreCipher::None,
                compression: StoreCompression::None,
            };
            let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["ev.1".to_string()]));
            let original = std::fs::metadata(&fcfg.dir).unwrap().permissions().mode() & 0o7777;

            let msg = [b'Z'; 1024];
            for _ in 0..10_000 {
                if fs.store_msg("ev.1", b"", &msg, 0).is_err() {
                    break;
                }
            }

            change_directory_permission(&fcfg.dir, 0o555).unwrap();
            let err = fs.write_full_state().unwrap_err();
            assert!(
                matches!(err, StoreError::Io(std::io::ErrorKind::PermissionDenied, _)),
                "expected a permission error, got {err:?}"
            );
            change_directory_permission(&fcfg.dir, original).unwrap();
            fs.stop().unwrap();
        },
    );
}
