//! Ports of the `server/filestore_test.go` tests of message schedules and per-message TTLs:
//! what the file store keeps of them, and what it recovers after a restart.
//!
//! Go fires schedules on a timer; natsd's owner asks [`Store::next_msg_schedule`] when and
//! calls [`Store::run_msg_scheduling`], so these ports advance a manual clock and make that
//! call. Go counts schedules and TTLs per block (`mb.schedules`, `mb.ttls`); natsd tracks
//! them per store, so a port checks the tracked messages and which block holds them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use natsd_store::file::block::{block_path, Block};
use natsd_store::file::codec::BlockCodec;
use natsd_store::file::record;
use natsd_store::file::schedule::SCHEDULE_FILE;
use natsd_store::file::{js_key_gen, BlockCompression, StoreCipher};
use natsd_store::schedule::{
    format_rfc3339_nano, gen_header, MsgScheduling, ScheduleStateError, JS_SCHEDULER,
    JS_SCHEDULE_NEXT, JS_SCHEDULE_NEXT_PURGE, JS_SCHEDULE_PATTERN, JS_SCHEDULE_TARGET,
    STATE_HEADER_LEN,
};

use super::*;

/// A store directory with Go's default (plain) file store options.
fn plain(dir: &TempDir) -> Fcfg {
    Fcfg {
        dir: dir.0.clone(),
        block_size: 0,
        cipher: StoreCipher::None,
        compression: StoreCompression::None,
    }
}

fn stream(name: &str, subjects: &[&str], f: impl FnOnce(&mut StreamConfig)) -> StreamConfig {
    let mut cfg = StreamConfig {
        name: name.to_string(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        storage: StorageType::File,
        ..StreamConfig::default()
    };
    f(&mut cfg);
    cfg
}

/// Headers of a schedule firing once at `at` (ns) into `target`.
fn at_schedule(at: i64, target: &str) -> Vec<u8> {
    let hdr = gen_header(
        &[],
        JS_SCHEDULE_PATTERN,
        &format!("@at {}", format_rfc3339_nano(at)),
    );
    gen_header(&hdr, JS_SCHEDULE_TARGET, target)
}

/// Schedules whose message is in the block at `position` (Go's `mb.schedules`).
fn schedules_in_block(fs: &FileStore, position: usize) -> usize {
    fs.schedules()
        .iter()
        .filter(|(_, seq, _)| fs.block_position_for(*seq) == Some(position))
        .count()
}

port!("server/filestore_test.go::TestFileStoreMessageSchedule" => file_store_message_schedule);
fn file_store_message_schedule() {
    let dir = TempDir::new();
    let clock = ManualClock::starting_now();
    let cfg = stream("TEST", &["foo.*"], |c| c.allow_msg_schedules = true);
    let fs = plain(&dir).open_with_clock(cfg, clock.clone());

    // Capture the scheduled messages the store hands to the stream.
    let (tx, rx) = mpsc::sync_channel::<InMsg>(1);
    fs.register_process_jetstream_msg(Arc::new(move |im| {
        let _ = tx.try_send(im);
    }));

    // A single schedule, a second from now.
    let at = clock.now_ns() + NANOS_PER_SEC;
    fs.store_msg("foo.schedule", &at_schedule(at, "foo.target"), &[], 0)
        .unwrap();

    // Go's timer fires then; the owner's does the same.
    assert_eq!(fs.next_msg_schedule(), Some(at));
    clock.advance(Duration::from_secs(1));
    fs.run_msg_scheduling();
    let im = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a scheduled message");
    assert_eq!(im.subject, "foo.target");
    assert_eq!(
        header_value(&im.hdr, JS_SCHEDULER),
        Some(&b"foo.schedule"[..])
    );
    assert_eq!(
        header_value(&im.hdr, JS_SCHEDULE_NEXT),
        Some(JS_SCHEDULE_NEXT_PURGE.as_bytes())
    );
}

port!("server/filestore_test.go::TestFileStoreMessageScheduleRecovered" => file_store_message_schedule_recovered);
fn file_store_message_schedule_recovered() {
    let dir = TempDir::new();
    let fcfg = plain(&dir);
    let cfg = stream("TEST", &["foo.*"], |c| c.allow_msg_schedules = true);
    // Before the restart.
    {
        let fs = fcfg.open(cfg.clone());
        let at = SystemClock.now_ns() + NANOS_PER_SEC;
        fs.store_msg("foo.schedule", &at_schedule(at, "foo.target"), &[], 0)
            .unwrap();
        let ss = fs.fast_state();
        assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 1, 1));
        fs.stop().unwrap();
    }
    // After: without the saved scheduling state, recovery finds the schedule in the
    // blocks.
    std::fs::remove_file(fcfg.msgs_dir().join(SCHEDULE_FILE)).unwrap();
    let fs = fcfg.open(cfg);
    assert_eq!(fs.block_indexes().len(), 1);
    assert_eq!(schedules_in_block(&fs, 0), 1);
    let ss = fs.fast_state();
    assert_eq!((ss.first_seq, ss.last_seq, ss.msgs), (1, 1, 1));
}

port!("server/filestore_test.go::TestFileStoreMessageScheduleEncodeDecode" => file_store_message_schedule_encode_decode);
fn file_store_message_schedule_encode_decode() {
    let mut ms = MsgScheduling::new();
    let now = SystemClock.now_ns();
    // Many schedules.
    let num = 100_000u64;
    for seq in 0..num {
        let ts = now + seq as i64 * NANOS_PER_SEC;
        ms.add(seq, &format!("foo.{seq}"), ts);
    }

    let b = ms.encode(12345).unwrap();
    // More than the header alone.
    assert!(b.len() > STATE_HEADER_LEN);

    let (nms, stamp) = MsgScheduling::decode(&b).unwrap();
    assert_eq!(stamp, 12345);
    assert_eq!(ms.next_fire(), nms.next_fire());

    assert_eq!(ms.len(), nms.len());
    for seq in 0..num {
        assert_eq!(ms.subject_of(seq), nms.subject_of(seq));
    }
    for (subject, seq, ts) in ms.iter() {
        assert_eq!(nms.get(subject), Some((seq, ts)), "schedule of {subject}");
    }
}

port!("server/filestore_test.go::TestFileStoreMessageScheduleDecodeRejectsMalformed" => file_store_message_schedule_decode_rejects_malformed);
fn file_store_message_schedule_decode_rejects_malformed() {
    // A valid header claiming `count` entries.
    let header = |count: u64| {
        let mut b = vec![0u8; STATE_HEADER_LEN];
        b[0] = 1; // version
        b[1..9].copy_from_slice(&count.to_le_bytes());
        b[9..17].copy_from_slice(&0u64.to_le_bytes()); // high sequence stamp
        b
    };
    let with = |mut b: Vec<u8>, tail: &[u8]| {
        b.extend_from_slice(tail);
        b
    };
    // Go's binary.AppendVarint(nil, 12345): zig-zag, seven bits a byte.
    let varint_12345 = [0xf2, 0xc0, 0x01];
    let cases: Vec<(&str, Vec<u8>, ScheduleStateError)> = vec![
        (
            "ShortHeader",
            vec![0u8; STATE_HEADER_LEN - 1],
            ScheduleStateError::ShortBuffer,
        ),
        (
            "BadVersion",
            {
                let mut b = header(0);
                b[0] = 2;
                b
            },
            ScheduleStateError::InvalidVersion,
        ),
        // One entry claimed, the buffer ends after the header.
        (
            "TruncatedAtSubjLen",
            header(1),
            ScheduleStateError::UnexpectedEof,
        ),
        // The subject length is there, its bytes are not.
        (
            "TruncatedSubj",
            with(header(1), &[5, 0]),
            ScheduleStateError::UnexpectedEof,
        ),
        // The subject is there, the time and sequence are not.
        (
            "TruncatedVarints",
            with(header(1), &[3, 0, b'f', b'o', b'o']),
            ScheduleStateError::UnexpectedEof,
        ),
        // The time is there, the sequence is not.
        (
            "TruncatedSeq",
            with(with(header(1), &[3, 0, b'f', b'o', b'o']), &varint_12345),
            ScheduleStateError::UnexpectedEof,
        ),
    ];
    for (title, buf, expected) in cases {
        let err = MsgScheduling::decode(&buf).err();
        assert_eq!(err, Some(expected), "{title}");
    }
}

port!("server/filestore_test.go::TestFileStorePurgeMsgBlockRemovesSchedules" => file_store_purge_msg_block_removes_schedules);
fn file_store_purge_msg_block_removes_schedules() {
    all_permutations(|mut fcfg| {
        let at = SystemClock.now_ns() + 3600 * NANOS_PER_SEC;
        let hdr = at_schedule(at, "foo.target.0");
        // Two blocks of five messages.
        fcfg.block_size = msg_size("foo.sched.0", &hdr, b"x") * 5;
        let cfg = stream("zzz", &["foo.*"], |c| c.allow_msg_schedules = true);
        let fs = fcfg.open(cfg);
        for i in 0..10 {
            let hdr = at_schedule(at, &format!("foo.target.{i}"));
            fs.store_msg(&format!("foo.sched.{i}"), &hdr, b"x", 0)
                .unwrap();
        }
        assert!(fs.block_indexes().len() >= 2);
        let msgs = fs.state().msgs;
        assert_eq!(fs.schedules().len() as u64, msgs);
        for seq in 1..=10u64 {
            assert_eq!(
                fs.schedule_subject_for_seq(seq),
                Some(format!("foo.sched.{}", seq - 1))
            );
        }

        fs.purge_block_at(0).unwrap();

        let state = fs.state();
        assert_eq!(state.msgs, 5);
        assert_eq!(fs.schedules().len() as u64, state.msgs);
        for seq in 1..state.first_seq {
            assert_eq!(
                fs.schedule_subject_for_seq(seq),
                None,
                "schedule for seq {seq} should be removed"
            );
        }
    });
}

port!("server/filestore_test.go::TestFileStoreRecoverTTLAndScheduleStateAndCounters" => file_store_recover_ttl_and_schedule_state_and_counters);
fn file_store_recover_ttl_and_schedule_state_and_counters() {
    all_permutations(|fcfg| {
        let cfg = stream("zzz", &[">"], |c| {
            c.allow_msg_ttl = true;
            c.allow_msg_schedules = true;
        });
        let fs = fcfg.open(cfg.clone());
        let ttl = 5i64;
        // Go formats the schedule as RFC 3339 with whole seconds.
        let at = (SystemClock.now_ns() / NANOS_PER_SEC + 5) * NANOS_PER_SEC;
        let hdr = gen_header(&[], JS_MESSAGE_TTL, &ttl.to_string());
        let hdr = gen_header(
            &hdr,
            JS_SCHEDULE_PATTERN,
            &format!("@at {}", format_rfc3339_nano(at)),
        );
        fs.store_msg("foo", &hdr, &[], ttl).unwrap();

        // One TTL and one schedule, both of the message in the first block.
        let check = |fs: &FileStore| {
            assert_eq!(fs.block_position_for(1), Some(0));
            assert_eq!(fs.ttl_count(), 1);
            assert_eq!(schedules_in_block(fs, 0), 1);
            assert_eq!(fs.schedules(), vec![("foo".to_string(), 1, at)]);
        };
        check(&fs);

        // Go removes its stream state file so the counters come from the blocks.
        fs.stop().unwrap();
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg.clone());
        check(&fs);

        // Stronger than Go: without the saved TTL and scheduling state either.
        fs.stop().unwrap();
        let _ = std::fs::remove_file(fcfg.dir.join(natsd_store::file::core::TTL_FILE));
        let _ = std::fs::remove_file(fcfg.msgs_dir().join(SCHEDULE_FILE));
        remove_state_file(&fcfg);
        let fs = fcfg.open(cfg);
        check(&fs);
    });
}

port!("server/filestore_test.go::TestFileStoreSchedulingRecoveryAliasCorruption" => file_store_scheduling_recovery_alias_corruption);
fn file_store_scheduling_recovery_alias_corruption() {
    let dir = TempDir::new();
    // Small blocks and padded messages, so that recovery crosses blocks.
    let mut fcfg = plain(&dir);
    fcfg.block_size = 4 * 1024;
    let cfg = stream("SCHED", &["sched.>"], |c| c.allow_msg_schedules = true);
    const N: usize = 40;
    let subjects: Vec<String> = (0..N)
        .map(|i| format!("sched.AAAA-{i:05}-{}", "A".repeat(40)))
        .collect();

    let fs = fcfg.open(cfg.clone());
    let future = SystemClock.now_ns() + 24 * 3600 * NANOS_PER_SEC;
    for (i, subject) in subjects.iter().enumerate() {
        let hdr = at_schedule(future, &format!("target.{i}"));
        let hdr = gen_header(&hdr, "Pad", &"X".repeat(200));
        fs.store_msg(subject, &hdr, &[], 0).unwrap();
    }
    fs.stop().unwrap();

    // Without the saved scheduling state, recovery reads the schedules from the blocks.
    std::fs::remove_file(fcfg.msgs_dir().join(SCHEDULE_FILE)).unwrap();
    let fs = fcfg.open(cfg);
    assert!(fs.block_indexes().len() >= 2);

    let expected: HashSet<&str> = subjects.iter().map(String::as_str).collect();
    let schedules = fs.schedules();
    assert_eq!(schedules.len(), N);
    for (subject, seq, _) in &schedules {
        assert!(expected.contains(subject.as_str()), "unexpected {subject}");
        // Both directions of the index agree, and with the stored message.
        assert_eq!(
            fs.schedule_subject_for_seq(*seq).as_deref(),
            Some(subject.as_str())
        );
        assert_eq!(&fs.load_msg(*seq).unwrap().subject, subject);
    }
}

port!("server/filestore_test.go::TestFileStoreMessageTTLRecoveredOffByOne" => file_store_message_ttl_recovered_off_by_one);
fn file_store_message_ttl_recovered_off_by_one() {
    let dir = TempDir::new();
    let fcfg = plain(&dir);
    let cfg = stream("zzz", &["test"], |c| c.allow_msg_ttl = true);
    let fs = fcfg.open(cfg.clone());
    let ts = SystemClock.now_ns();
    // Two minutes. The TTL is in the headers too: without saved state, they are the only
    // place recovery can find it.
    let ttl = 120i64;
    let hdr = format!("NATS/1.0\r\n{JS_MESSAGE_TTL}: {ttl}\r\n").into_bytes();
    fs.store_raw_msg("test", &hdr, &[], 1, ts, ttl, false)
        .unwrap();
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 1, 1));
    assert_eq!(fs.ttl_count(), 1);
    // Tracking a TTL twice is harmless, so drop it to see whether the restart brings it
    // back: the saved state covers the message, so recovery must not read it again.
    assert!(fs.forget_ttl(1));
    fs.stop().unwrap();

    let fs = fcfg.open(cfg);
    let ss = fs.fast_state();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (1, 1, 1));
    assert_eq!(fs.ttl_count(), 0);
}

port!("server/filestore_test.go::TestFileStoreNoPanicOnRecoverTTLWithCorruptBlocks" => file_store_no_panic_on_recover_ttl_with_corrupt_blocks);
fn file_store_no_panic_on_recover_ttl_with_corrupt_blocks() {
    all_permutations(|fcfg| {
        let cfg = stream("zzz", &[], |c| c.allow_msg_ttl = true);
        let fs = fcfg.open(cfg.clone());
        let hdr = gen_header(&[], JS_MESSAGE_TTL, "1");
        for i in 0..3 {
            if i > 0 {
                fs.new_block_for_write().unwrap();
            }
            fs.store_msg("foo", &hdr, b"A", 1).unwrap();
        }
        let indexes = fs.block_indexes();
        assert_eq!(indexes.len(), 3, "expected 3 blocks");
        let first_ts = fs.load_msg(1).unwrap().ts;
        fs.stop().unwrap();

        // Go corrupts its block list: the second block goes, and the last one claims the
        // first one's sequences. The same on disk: remove the second block file and
        // rewrite the last one to hold sequence 1 again.
        let msgs_dir = fcfg.msgs_dir();
        std::fs::remove_file(block_path(&msgs_dir, indexes[1])).unwrap();
        let codec = BlockCodec {
            cipher: fcfg.cipher,
            compression: match fcfg.compression {
                StoreCompression::None => BlockCompression::None,
                StoreCompression::S2 => BlockCompression::Lz4,
            },
            prf: Some(js_key_gen("dlc22", "")),
            old_prf: None,
        };
        let mut last = Block::create(&msgs_dir, "zzz", indexes[2], &codec).unwrap();
        let mut rec = Vec::new();
        record::encode(&mut rec, &last.hasher, 1, first_ts, b"foo", &hdr, b"A");
        last.append(&rec).unwrap();
        last.handle().unwrap().sync_all().unwrap();
        drop(last);
        // Go checks its TTL recovery over the damaged blocks alone; natsd's stream state
        // file (written at the stop) would describe the blocks as they were.
        let _ = std::fs::remove_file(msgs_dir.join(natsd_store::file::state_file::STATE_FILE));

        // Recovering the TTLs of what is left neither fails nor panics, and leaves a
        // consistent store.
        let fs = fcfg.open(cfg);
        let state = fs.state();
        assert_eq!((state.first_seq, state.last_seq, state.msgs), (1, 1, 1));
        assert_eq!(fs.load_msg(1).unwrap().msg.as_ref(), b"A");
        assert_eq!(fs.ttl_count(), 1);
        fs.expire_msgs();
    });
}

port!("server/filestore_test.go::TestFileStoreStoreRawMsgTTLsRace" => file_store_store_raw_msg_ttls_race);
fn file_store_store_raw_msg_ttls_race() {
    let dir = TempDir::new();
    // One big block: every message lands in the block the readers read from.
    let mut fcfg = plain(&dir);
    fcfg.block_size = 8 * 1024 * 1024;
    let cfg = stream("zzz", &["test"], |c| c.allow_msg_ttl = true);
    let fs = fcfg.open(cfg.clone());
    // A long TTL, so nothing expires during the test.
    let ttl = 3600i64;
    let hdr = format!("NATS/1.0\r\n{JS_MESSAGE_TTL}: {ttl}\r\n\r\n").into_bytes();
    fs.store_msg("test", &hdr, b"hello", ttl).unwrap();

    // Writers store TTL messages while readers load from the same block.
    const PER_WRITER: u64 = 300;
    let stop = AtomicBool::new(false);
    let loads = AtomicU64::new(0);
    // Writers and readers start together, so that they overlap even on a busy machine.
    let start = std::sync::Barrier::new(5);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    for _ in 0..PER_WRITER {
                        fs.store_msg("test", &hdr, b"hello", ttl).unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..3 {
            s.spawn(|| {
                start.wait();
                loop {
                    let first = fs.fast_state().first_seq;
                    let sm = fs.load_msg(first).unwrap();
                    assert_eq!(sm.msg.as_ref(), b"hello");
                    loads.fetch_add(1, Ordering::SeqCst);
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });
    assert!(loads.load(Ordering::SeqCst) >= 3);

    // Every message's TTL is tracked, once, and still after a restart.
    let msgs = 1 + 2 * PER_WRITER;
    assert_eq!(fs.state().msgs, msgs);
    assert_eq!(fs.ttl_count() as u64, msgs);
    fs.stop().unwrap();
    let fs = fcfg.open(cfg);
    assert_eq!(fs.state().msgs, msgs);
    assert_eq!(fs.ttl_count() as u64, msgs);
}

port!("server/filestore_test.go::TestFileStoreStoreRawMsgVsAgeExpiryNoWriteErr" => file_store_store_raw_msg_vs_age_expiry_no_write_err);
fn file_store_store_raw_msg_vs_age_expiry_no_write_err() {
    let dir = TempDir::new();
    let mut fcfg = plain(&dir);
    fcfg.block_size = 256;
    let cfg = stream("zzz", &["foo.>"], |c| {
        c.max_msgs_per_subject = 1;
        c.max_age = Duration::from_millis(1);
    });
    let clock = ManualClock::starting_now();
    let fs = fcfg.open_with_clock(cfg, clock.clone());

    const WRITERS: usize = 16;
    const READERS: usize = 4;
    const PER_WRITER: usize = 40;
    let msg = vec![0u8; 128];
    let prev_seqs: Vec<AtomicU64> = (0..WRITERS).map(|_| AtomicU64::new(0)).collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (fs, msg, prev_seqs) = (&fs, &msg, &prev_seqs);
                s.spawn(move || {
                    let subject = format!("foo.{w}");
                    for _ in 0..PER_WRITER {
                        // Every store succeeds while age expiry and the per-subject limit
                        // remove the previous messages concurrently (Go: no write error
                        // ever disables the store).
                        let (seq, _) = fs.store_msg(&subject, &[], msg, 0).unwrap();
                        prev_seqs[w].store(seq, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        // Readers load the messages the removals target.
        for r in 0..READERS {
            let (fs, prev_seqs, stop) = (&fs, &prev_seqs, &stop);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let seq = prev_seqs[(r + i) % WRITERS].load(Ordering::SeqCst);
                    if seq > 0 {
                        let _ = fs.load_msg(seq);
                    }
                    i += 1;
                }
            });
        }
        // The expiry sweep, run continuously as Go's test does, a millisecond of store
        // time apart so that the previous messages are due while the next are stored.
        {
            let (fs, stop, clock) = (&fs, &stop, &clock);
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    clock.advance(Duration::from_millis(1));
                    fs.expire_msgs();
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });

    fs.store_msg("foo.healthy", &[], &msg, 0).unwrap();
}

port!("server/filestore_test.go::TestFileStoreExpireMsgsOnStart" => file_store_expire_msgs_on_start);
fn file_store_expire_msgs_on_start() {
    // Go skips the compressed and encrypted permutations for CI flakiness; with a manual
    // clock nothing is timing-dependent, so every permutation runs.
    all_permutations(|mut fcfg| {
        fcfg.block_size = 8 * 1024;
        let ttl = Duration::from_millis(250);
        let cfg = stream("ORDERS", &["orders.*"], |c| c.max_age = ttl);
        let clock = ManualClock::starting_now();
        let start = || fcfg.open_with_clock(cfg.clone(), clock.clone());
        // A fresh store in an emptied directory.
        let new_fs = |fs: Option<FileStore>| {
            if let Some(fs) = fs {
                fs.stop().unwrap();
            }
            let _ = std::fs::remove_dir_all(&fcfg.dir);
            start()
        };
        // Go stops, sleeps `delay`, and opens again.
        let restart = |fs: FileStore, delay: Duration| {
            fs.stop().unwrap();
            clock.advance(delay);
            start()
        };
        let msg = "ABC".repeat(33);
        let load_msgs = |fs: &FileStore, n: u64| {
            for i in 1..=n {
                fs.store_msg(&format!("orders.{}", i % 10), &[], msg.as_bytes(), 0)
                    .unwrap();
            }
        };
        let check_state = |fs: &FileStore, msgs: u64, first: u64, last: u64| {
            let state = fs.state();
            assert_eq!(state.msgs, msgs, "msgs");
            assert_eq!(state.first_seq, first, "first");
            assert_eq!(state.last_seq, last, "last");
        };
        let check_num_blks = |fs: &FileStore, expected: usize| {
            assert_eq!(fs.block_indexes().len(), expected, "msg blks");
        };
        let check_filtered = |fs: &FileStore, subject: &str, msgs: u64, first: u64, last: u64| {
            let ss = fs.filtered_state(1, subject).unwrap();
            assert_eq!(ss, SimpleState { msgs, first, last }, "filtered {subject}");
        };
        let check_blk_state = |fs: &FileStore, index: usize| {
            assert!(index < fs.block_indexes().len(), "no block {index}");
        };
        let half = ttl - Duration::from_millis(100) + Duration::from_millis(25);

        let fs = new_fs(None);
        load_msgs(&fs, 500);
        let fs = restart(fs, ttl + Duration::from_millis(100));
        check_state(&fs, 0, 501, 500);
        // The last one is kept to remember the starting sequence.
        check_num_blks(&fs, 1);

        // Partial expiry and the per-subject state; small numbers stay in one block.
        let fs = new_fs(Some(fs));
        load_msgs(&fs, 10);
        clock.advance(Duration::from_millis(100));
        load_msgs(&fs, 10);
        check_filtered(&fs, "orders.*", 20, 1, 20);
        let fs = restart(fs, half);
        check_state(&fs, 10, 11, 20);
        check_num_blks(&fs, 1);
        check_filtered(&fs, "orders.*", 10, 11, 20);
        check_filtered(&fs, "orders.5", 1, 15, 15);
        check_blk_state(&fs, 0);

        let fs = new_fs(Some(fs));
        load_msgs(&fs, 5);
        clock.advance(Duration::from_millis(100));
        load_msgs(&fs, 15);
        let fs = restart(fs, half);
        check_state(&fs, 15, 6, 20);
        check_filtered(&fs, "orders.*", 15, 6, 20);
        check_filtered(&fs, "orders.5", 2, 10, 20);

        // The end of a block all deleted messages.
        let fs = new_fs(Some(fs));
        load_msgs(&fs, 150);
        clock.advance(Duration::from_millis(100));
        load_msgs(&fs, 100);
        check_num_blks(&fs, 5);
        // Delete the last 10 messages of the first block, which expires on restart.
        let lseq = fs.block_last_seq(0).unwrap();
        for seq in (lseq - 9..=lseq).rev() {
            assert!(fs.remove_msg(seq).unwrap(), "remove {seq}");
        }
        let fs = restart(fs, half);
        check_state(&fs, 100, 151, 250);
        // Only 3 blocks are left.
        check_num_blks(&fs, 3);
        check_blk_state(&fs, 0);

        // Sparse deletes inside the expired range.
        let fs = new_fs(Some(fs));
        load_msgs(&fs, 10);
        for seq in [2, 4, 6] {
            fs.remove_msg(seq).unwrap();
        }
        clock.advance(Duration::from_millis(100));
        load_msgs(&fs, 10);
        let fs = restart(fs, half);
        check_state(&fs, 10, 11, 20);
        check_num_blks(&fs, 1);
        check_blk_state(&fs, 0);

        // Expiring a block whose tail was deleted.
        let fs = new_fs(Some(fs));
        load_msgs(&fs, 7);
        clock.advance(Duration::from_millis(100));
        load_msgs(&fs, 3);
        for seq in [8, 9, 10] {
            fs.remove_msg(seq).unwrap();
        }
        let fs = restart(fs, half);
        check_state(&fs, 0, 11, 10);

        // Compact keeps the per-subject state too.
        let fs = new_fs(Some(fs));
        load_msgs(&fs, 100);
        check_filtered(&fs, "orders.*", 100, 1, 100);
        check_filtered(&fs, "orders.5", 10, 5, 95);
        fs.compact(51).unwrap();
        check_filtered(&fs, "orders.*", 50, 51, 100);
        check_filtered(&fs, "orders.5", 5, 55, 95);
        check_blk_state(&fs, 0);
        fs.stop().unwrap();
    });
}
