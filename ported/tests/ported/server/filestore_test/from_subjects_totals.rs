//! Ports of `server/filestore_test.go`, in Go's file order from
//! `TestFileStoreSubjectsTotals` on (split from `mod.rs` for size).

use super::*;

port!("server/filestore_test.go::TestFileStoreSubjectsTotals" => file_store_subjects_totals);
fn file_store_subjects_totals() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*.*".to_string()]));
    let mut fmap = std::collections::HashMap::new();
    let mut bmap = std::collections::HashMap::new();
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..10_000 {
        let (ft, m) = if rand(2) == 0 {
            ("foo", &mut fmap)
        } else {
            ("bar", &mut bmap)
        };
        let dt = rand(100);
        *m.entry(dt).or_insert(0u64) += 1;
        fs.store_msg(&format!("{ft}.{dt}"), b"", b"Hello World", 0)
            .unwrap();
    }
    for (dt, total) in &fmap {
        let subj = format!("foo.{dt}");
        assert_eq!(fs.subjects_totals(&subj)[&subj], *total);
    }
    for (prefix, map) in [("foo", &fmap), ("bar", &bmap)] {
        let st = fs.subjects_totals(&format!("{prefix}.*"));
        assert_eq!(st.len(), map.len());
        assert_eq!(st.values().sum::<u64>(), map.values().sum::<u64>());
    }
    assert_eq!(fs.subjects_totals("*.*").len(), fmap.len() + bmap.len());
}

port!("server/filestore_test.go::TestFileStoreConsumerStoreEncodeAfterRestart" => file_store_consumer_store_encode_after_restart);
fn file_store_consumer_store_encode_after_restart() {
    all_permutations(|fcfg| {
        let cfg = ConsumerConfig {
            ack_policy: AckPolicy::Explicit,
            ..ConsumerConfig::default()
        };
        let mut state = ConsumerState::default();
        {
            let fs = fcfg.open(zzz());
            let o = fs.consumer_store("o22", 0, &cfg).unwrap();
            state.delivered.consumer = 22;
            state.delivered.stream = 22;
            state.ack_floor.consumer = 11;
            state.ack_floor.stream = 11;
            o.update(&state).unwrap();
            o.stop().unwrap();
            fs.stop().unwrap();
        }
        let fs = fcfg.open(zzz());
        let o = fs.consumer_store("o22", 0, &cfg).unwrap();
        let got = o.state().unwrap();
        assert_eq!(got.delivered, state.delivered);
        assert_eq!(got.ack_floor, state.ack_floor);
        o.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreNumPendingLargeNumBlks" => file_store_num_pending_large_num_blks);
fn file_store_num_pending_large_num_blks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["zzz".to_string()]));
    let msg = b"X".repeat(100);
    for _ in 0..10_000 {
        fs.store_msg("zzz", b"", &msg, 0).unwrap();
    }
    let timed = |sseq: u64, limit_ms: u128, expected: u64| {
        let start = std::time::Instant::now();
        let (total, _) = fs.num_pending(sseq, "zzz", false).unwrap();
        assert!(
            start.elapsed().as_millis() < limit_ms,
            "{:?}",
            start.elapsed()
        );
        assert_eq!(total, expected);
    };
    timed(4000, 15, 6001);
    timed(6000, 25, 4001);
    fs.remove_msg(1000).unwrap();
    fs.remove_msg(9000).unwrap();
    timed(4000, 50, 6000);
    timed(6000, 50, 4000);
}

port!("server/filestore_test.go::TestFileStoreSkipMsgAndNumBlocks" => file_store_skip_msg_and_num_blocks);
fn file_store_skip_msg_and_num_blocks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = vec!["zzz".to_string()]));
    let msg = b"X".repeat(100);
    fs.store_msg("zzz", b"", &msg, 0).unwrap();
    fs.skip_msgs(0, 10_000).unwrap();
    fs.store_msg("zzz", b"", &msg, 0).unwrap();
    assert_eq!(fs.block_indexes().len(), 3);
}

port!("server/filestore_test.go::TestFileStoreRestoreEncryptedWithNoKeyFuncFails" => file_store_restore_encrypted_with_no_key_func_fails);
fn file_store_restore_encrypted_with_no_key_func_fails() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.cipher = StoreCipher::Aes;
    let cfg = zzz_with(|c| c.subjects = vec!["zzz".to_string()]);
    let fs = fcfg.open(cfg.clone());
    let msg = b"X".repeat(100);
    for _ in 0..100 {
        fs.store_msg("zzz", b"", &msg, 0).unwrap();
    }
    fs.stop().unwrap();
    // Without a key generator the encrypted store does not open.
    let no_key = FileStoreConfig {
        prf: None,
        ..fcfg.store_config()
    };
    assert!(FileStore::open(no_key, fcfg.stream(cfg), system_clock()).is_err());
}

port!("server/filestore_test.go::TestFileStoreKeepWithDeletedMsgsBug" => file_store_keep_with_deleted_msgs_bug);
fn file_store_keep_with_deleted_msgs_bug() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["*".to_string()]));
    let msg = b"A".repeat(19);
    for _ in 0..5 {
        fs.store_msg("A", b"", &msg, 0).unwrap();
        fs.store_msg("B", b"", &msg, 0).unwrap();
    }
    assert_eq!(fs.purge_ex("A", 0, 0).unwrap(), 5);
    // Purge with keep.
    assert_eq!(fs.purge_ex("", 0, 2).unwrap(), 3);
}

port!("server/filestore_test.go::TestFileStoreRestartWithExpireAndLockingBug" => file_store_restart_with_expire_and_locking_bug);
fn file_store_restart_with_expire_and_locking_bug() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let mut scfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
    let fs = fcfg.open(scfg.clone());
    for _ in 0..10 {
        fs.store_msg("A", b"", b"HELLO WORLD", 0).unwrap();
        fs.store_msg("B", b"", b"HELLO WORLD", 0).unwrap();
    }
    fs.stop().unwrap();
    // New limits under the stored messages: they are enforced while opening.
    scfg.max_msgs = 15;
    scfg.max_msgs_per_subject = 2;
    let fs = fcfg.open(scfg);
    let state = fs.state();
    assert_eq!(state.msgs, 4);
    assert_eq!(fs.subjects_totals("*").values().max(), Some(&2));
}

port!("server/filestore_test.go::TestFileStoreSkipMsgs" => file_store_skip_msgs);
fn file_store_skip_msgs() {
    let cfg = zzz_with(|c| c.subjects = vec!["*".to_string()]);
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 1024;
    let fs = fcfg.open(cfg.clone());
    assert_eq!(
        fs.skip_msgs(10, 100).unwrap_err(),
        StoreError::SequenceMismatch
    );
    fs.skip_msgs(1, 100).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq), (101, 100));
    assert_eq!(fs.block_indexes().len(), 1);
    fs.skip_msgs(101, 100_000).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq), (100_101, 100_100));
    assert_eq!(fs.block_indexes().len(), 1);

    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 1024;
    let fs = fcfg.open(cfg);
    fs.store_msg("foo", b"", b"", 0).unwrap();
    fs.skip_msgs(2, 10).unwrap();
    let state = fs.state();
    assert_eq!((state.first_seq, state.last_seq, state.msgs), (1, 11, 1));
    assert_eq!((state.num_deleted, state.deleted.len()), (10, 10));
    let state = fs.fast_state();
    assert_eq!((state.first_seq, state.last_seq, state.msgs), (1, 11, 1));
    assert_eq!(state.num_deleted, 10);
}

port!("server/filestore_test.go::TestFileStoreReloadAndLoseLastSequence" => file_store_reload_and_lose_last_sequence);
fn file_store_reload_and_lose_last_sequence() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let fs = fcfg.open(cfg.clone());
    for _ in 0..22 {
        fs.skip_msg(0).unwrap();
    }
    let mut fs = fs;
    for _ in 0..5 {
        fs.stop().unwrap();
        fs = fcfg.open(cfg.clone());
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq), (23, 22));
    }
}

port!("server/filestore_test.go::TestFileStoreReloadAndLoseLastSequenceWithSkipMsgs" => file_store_reload_and_lose_last_sequence_with_skip_msgs);
fn file_store_reload_and_lose_last_sequence_with_skip_msgs() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| c.subjects = vec!["foo.*".to_string()]);
    let mut fs = fcfg.open(cfg.clone());
    fs.skip_msgs(0, 22).unwrap();
    for _ in 0..5 {
        fs.stop().unwrap();
        fs = fcfg.open(cfg.clone());
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq), (23, 22));
    }
}

port!("server/filestore_test.go::TestFileStoreMessageTTL" => file_store_message_ttl);
fn file_store_message_ttl() {
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let fs = plain_fcfg(&dir).open_with_clock(
        zzz_with(|c| {
            c.subjects = vec!["test".to_string()];
            c.allow_msg_ttl = true;
        }),
        clock.clone(),
    );
    let ttl = 1; // One second.
    for _ in 1..=10 {
        fs.store_msg("test", b"", b"", ttl).unwrap();
    }
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (11, 10, 0));
}

port!("server/filestore_test.go::TestFileStoreAllLastSeqs" => file_store_all_last_seqs);
fn file_store_all_last_seqs() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = vec!["*.*".to_string()];
        c.max_msgs_per_subject = 50;
    }));
    let subjs = [
        "foo.foo", "foo.bar", "foo.baz", "bar.foo", "bar.bar", "bar.baz",
    ];
    let mut x = SystemClock.now_ns() as u64 | 1;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        fs.store_msg(subjs[(x % subjs.len() as u64) as usize], b"", b"abc", 0)
            .unwrap();
    }
    let mut expected: Vec<u64> = subjs
        .iter()
        .map(|s| fs.load_last_msg(s).unwrap().seq)
        .collect();
    expected.sort_unstable();
    assert_eq!(fs.all_last_seqs().unwrap(), expected);
}

port!("server/filestore_test.go::TestFileStoreMessageTTLRestart" => file_store_message_ttl_restart);
fn file_store_message_ttl_restart() {
    let dir = TempDir::new();
    let fcfg = plain_fcfg(&dir);
    let cfg = zzz_with(|c| {
        c.subjects = vec!["test".to_string()];
        c.allow_msg_ttl = true;
    });
    let clock = ManualClock::starting_now();
    // Before the restart.
    {
        let fs = fcfg.open_with_clock(cfg.clone(), clock.clone());
        for _ in 1..=10 {
            fs.store_msg("test", b"", b"", 1).unwrap();
        }
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
        fs.stop().unwrap();
    }
    // After the restart.
    let fs = fcfg.open_with_clock(cfg, clock.clone());
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 10, 10));
    clock.advance(Duration::from_secs(2));
    run_expiry(&fs, &clock);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (11, 10, 0));
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqs" => file_store_multi_last_seqs);
fn file_store_multi_last_seqs() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    // Small blocks to test multi-block selections with a max sequence.
    fcfg.block_size = 256;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*", "bar.*"])));
    for prefix in ["foo", "bar"] {
        for _ in 0..33 {
            for last in ["foo", "bar", "baz"] {
                fs.store_msg(&format!("{prefix}.{last}"), b"", b"abc", 0)
                    .unwrap();
            }
        }
    }
    // Go passes -1 for "no limit"; the Rust API takes 0.
    let check = |filters: &[&str], max_seq: u64, expected: &[u64]| {
        let seqs = fs.multi_last_seqs(&strings(filters), max_seq, 0).unwrap();
        assert_eq!(seqs, expected, "{filters:?} up to {max_seq}");
    };
    check(&["foo.*"], 3, &[1, 2, 3]);
    check(&["foo.*"], 0, &[97, 98, 99]);
    check(&["bar.*"], 0, &[196, 197, 198]);
    check(&["bar.*"], 99, &[]);
    check(&["foo.foo", "foo.bar", "foo.baz"], 3, &[1, 2, 3]);
    check(&["foo.foo", "foo.bar", "foo.baz"], 0, &[97, 98, 99]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 99, &[]);
    check(&["foo.foo"], 3, &[1]);
    check(&["foo.*", "foo.bar"], 3, &[1, 2, 3]);
    check(&["bar.>", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    check(&[">"], 0, &[97, 98, 99, 196, 197, 198]);
    check(&[">"], 99, &[97, 98, 99]);
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqsMaxAllowed" => file_store_multi_last_seqs_max_allowed);
fn file_store_multi_last_seqs_max_allowed() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&["foo.*"])));
    for i in 1..=100 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    assert_eq!(
        fs.multi_last_seqs(&strings(&["foo.*"]), 0, 10),
        Err(StoreError::TooManyResults)
    );
}

port!("server/filestore_test.go::TestFileStoreSubjectForSeq" => file_store_subject_for_seq);
fn file_store_subject_for_seq() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(StreamConfig {
        name: "foo".to_string(),
        subjects: strings(&["foo.>"]),
        ..zzz()
    });
    assert_eq!(fs.store_msg("foo.bar", b"", b"", 0).unwrap().0, 1);
    assert_eq!(fs.subject_for_seq(0), Err(StoreError::MsgNotFound));
    assert_eq!(fs.subject_for_seq(1).unwrap(), "foo.bar");
    assert_eq!(fs.subject_for_seq(2), Err(StoreError::MsgNotFound));
}

port!("server/filestore_test.go::TestFileStoreLoadLastWildcardWithPresenceMultipleBlocks" => file_store_load_last_wildcard_with_presence_multiple_blocks);
fn file_store_load_last_wildcard_with_presence_multiple_blocks() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 64;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*.*"])));
    fs.store_msg("foo.22.bar", b"", b"hello", 0).unwrap();
    fs.store_msg("foo.22.baz", b"", b"ok", 0).unwrap();
    fs.store_msg("foo.22.baz", b"", b"ok", 0).unwrap();
    fs.store_msg("foo.22.bar", b"", b"hello22", 0).unwrap();
    assert!(fs.block_indexes().len() > 1);
    assert_eq!(
        fs.load_last_msg("foo.*.bar").unwrap().msg.as_ref(),
        b"hello22"
    );
}

port!("server/filestore_test.go::TestFileStoreCheckSkipFirstBlockBug" => file_store_check_skip_first_block_bug);
fn file_store_check_skip_first_block_bug() {
    let dir = TempDir::new();
    let mut fcfg = plain_fcfg(&dir);
    fcfg.block_size = 128;
    let fs = fcfg.open(zzz_with(|c| c.subjects = strings(&["foo.*.*"])));
    let msg = b"hello";
    fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    for _ in 0..5 {
        fs.store_msg("foo.BB.bar", b"", msg, 0).unwrap();
    }
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    fs.store_msg("foo.AA.bar", b"", msg, 0).unwrap();
    // BB BB | AA BB | BB BB | BB BB | AA AA
    assert_eq!(fs.block_indexes().len(), 5);
    fs.remove_msg(3).unwrap();
    fs.remove_msg(4).unwrap();
    // BB BB | -- -- | BB BB | BB BB | AA AA
    assert_eq!(fs.block_indexes().len(), 4);
    fs.load_next_msg("foo.AA.bar", false, 4).unwrap();
}

port!("server/filestore_test.go::TestFileStoreNumPendingMulti" => file_store_num_pending_multi);
fn file_store_num_pending_multi() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&["ev.*"])));
    let total_msgs = 100_000u64;
    let total_subjects = 10_000u64;
    let num_filtered = 5000;
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let start_seq = 5_000 + rand(90_000);
    let subjects: Vec<String> = (0..total_subjects)
        .map(|i| format!("ev.{:016x}{i}", rand(u64::MAX)))
        .collect();
    let msg = b"ZZZ".repeat(333);
    for _ in 0..total_msgs {
        fs.store_msg(&subjects[rand(total_subjects) as usize], b"", &msg, 0)
            .unwrap();
    }
    let mut filters = SubjectFilters::new();
    let mut count = 0;
    while count < num_filtered {
        let filter = &subjects[rand(total_subjects) as usize];
        if !filters.has_interest(filter) {
            filters.insert(filter);
            count += 1;
        }
    }
    let (total, _) = fs.num_pending_multi(start_seq, &filters, false).unwrap();
    let mut check_total = 0;
    for seq in start_seq..=total_msgs {
        let sm = fs.load_msg(seq).unwrap();
        if filters.has_interest(&sm.subject) {
            check_total += 1;
        }
    }
    assert_eq!(total, check_total);
}

port!("server/filestore_test.go::TestFileStoreSubjectDeleteMarkers" => file_store_subject_delete_markers);
fn file_store_subject_delete_markers() {
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let fs = std::sync::Arc::new(plain_fcfg(&dir).open_with_clock(
        zzz_with(|c| {
            c.subjects = strings(&["test"]);
            c.max_age = Duration::from_secs(1);
            c.allow_msg_ttl = true;
            c.subject_delete_marker_ttl = Duration::from_secs(1);
        }),
        clock.clone(),
    ));
    // Capture subject delete marker proposals.
    let (tx, rx) = std::sync::mpsc::channel();
    let weak = std::sync::Arc::downgrade(&fs);
    fs.register_storage_remove_msg(std::sync::Arc::new(move |seq| {
        if let Some(fs) = weak.upgrade() {
            fs.remove_msg(seq).unwrap();
        }
    }));
    let tx = std::sync::Mutex::new(tx);
    fs.register_process_jetstream_msg(std::sync::Arc::new(move |im| {
        let _ = tx.lock().unwrap().send(im);
    }));
    for _ in 0..3 {
        fs.store_msg("test", b"", b"", 0).unwrap();
    }
    // Let max age pass.
    clock.advance(Duration::from_millis(1500));
    run_expiry(&fs, &clock);
    let im = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        header_value(&im.hdr, JS_MARKER_REASON).unwrap(),
        JS_MARKER_REASON_MAX_AGE.as_bytes()
    );
    assert_eq!(header_value(&im.hdr, JS_MESSAGE_TTL).unwrap(), b"1s");
}

port!("server/filestore_test.go::TestFileStoreMultiLastSeqsDoesNotReorderConfigSubjects" => file_store_multi_last_seqs_does_not_reorder_config_subjects);
fn file_store_multi_last_seqs_does_not_reorder_config_subjects() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| {
        c.subjects = strings(&["orders.*", "billing.*"])
    }));
    fs.store_msg("orders.1", b"", b"x", 0).unwrap();
    fs.store_msg("billing.1", b"", b"x", 0).unwrap();
    // As many filters as configured subjects.
    fs.multi_last_seqs(&strings(&["orders.*", "billing.*"]), 0, 0)
        .unwrap();
    let cfg = fs.config();
    assert_eq!(cfg.subjects[0], "orders.*");
    assert_eq!(cfg.subjects[1], "billing.*");
}

port!("server/filestore_test.go::TestFileStoreCompactStoreMsgRace" => file_store_compact_store_msg_race);
fn file_store_compact_store_msg_race() {
    let dir = TempDir::new();
    let fs = std::sync::Arc::new(plain_fcfg(&dir).open(zzz()));
    fs.store_msg("foo", b"", b"first", 0).unwrap();
    let compactor = {
        let fs = fs.clone();
        std::thread::spawn(move || fs.compact(2))
    };
    let storer = {
        let fs = fs.clone();
        std::thread::spawn(move || fs.store_msg("foo", b"", b"second", 0))
    };
    assert_eq!(compactor.join().unwrap().unwrap(), 1);
    assert_eq!(storer.join().unwrap().unwrap().0, 2);
    assert_eq!(fs.load_msg(2).unwrap().seq, 2);
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 2, 2));
}

port!("server/filestore_test.go::TestFileStoreLargeFullStatePSIM" => file_store_large_full_state_psim);
fn file_store_large_full_state_psim() {
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = strings(&[">"])));
    let mut x = SystemClock.now_ns() as u64 | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..100_000 {
        // 1-6 tokens of 2-9 random bytes in hex.
        let tokens: Vec<String> = (0..rand(6) + 1)
            .map(|_| {
                (0..rand(8) + 2)
                    .map(|_| format!("{:02x}", rand(256)))
                    .collect()
            })
            .collect();
        fs.store_msg(&tokens.join("."), b"", b"", 0).unwrap();
    }
    fs.stop().unwrap();
}
