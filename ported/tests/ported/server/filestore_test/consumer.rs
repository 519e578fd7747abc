//! Consumer-state ports of `server/filestore_test.go`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;

/// Go's `ConsumerConfig{}`: its zero ack policy is none.
fn no_ack() -> ConsumerConfig {
    ConsumerConfig {
        ack_policy: AckPolicy::None,
        ..ConsumerConfig::default()
    }
}

fn explicit(max_deliver: i64) -> ConsumerConfig {
    ConsumerConfig {
        ack_policy: AckPolicy::Explicit,
        max_deliver,
        ..ConsumerConfig::default()
    }
}

fn pair(consumer: u64, stream: u64) -> SequencePair {
    SequencePair { consumer, stream }
}

port!("server/filestore_test.go::TestFileStoreConsumer" => file_store_consumer);
fn file_store_consumer() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let o = fs.consumer_store("obs22", 0, &no_ack()).unwrap();
        assert_eq!(o.state().unwrap().delivered.consumer, 0);

        let mut state = ConsumerState::default();
        let update_and_check = |state: &ConsumerState| {
            o.update(state).unwrap();
            assert_eq!(&o.state().unwrap(), state, "state is not the same");
        };
        let should_fail = |state: &ConsumerState| {
            assert!(o.update(state).is_err(), "expected an error and got none");
        };

        state.delivered = pair(1, 22);
        update_and_check(&state);

        state.delivered = pair(100, 122);
        state.ack_floor = pair(50, 123);
        // Bad state: the ack floor is past delivered.
        should_fail(&state);
        state.ack_floor = pair(200, 100);
        should_fail(&state);

        state.ack_floor = pair(50, 72);
        update_and_check(&state);

        // Pending below the ack floor or above delivered is refused, and so is pending
        // exactly on the floor.
        let tn = SystemClock.now_ns();
        for seq in [70, 140, 72] {
            state.pending = BTreeMap::from([(
                seq,
                Pending {
                    sequence: seq,
                    timestamp: tn,
                },
            )]);
            should_fail(&state);
        }

        // Timestamps a second apart: they are kept to the second.
        let mut ago = (SystemClock.now_ns() - 30 * NANOS_PER_SEC) / NANOS_PER_SEC * NANOS_PER_SEC;
        let mut nt = move || {
            ago += NANOS_PER_SEC;
            Pending {
                sequence: 0,
                timestamp: ago,
            }
        };
        state.pending = [75, 80, 83, 90, 111]
            .into_iter()
            .map(|s| (s, nt()))
            .collect();
        update_and_check(&state);

        // Redeliveries, first with no pending.
        state.pending.clear();
        state.redelivered = BTreeMap::from([(22, 3), (44, 8)]);
        update_and_check(&state);

        // All together.
        state.pending = [75, 80, 83, 90, 111]
            .into_iter()
            .map(|s| (s, nt()))
            .collect();
        update_and_check(&state);

        // A large one: 8k pending.
        state.delivered = pair(10_000, 10_000);
        state.ack_floor = pair(100, 100);
        state.pending.clear();
        let mut x = SystemClock.now_ns() as u64 | 1;
        while state.pending.len() < 8192 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = x % 9890 + 101;
            state.pending.entry(seq).or_insert_with(&mut nt);
        }
        update_and_check(&state);

        state.pending.clear();
        state.ack_floor = pair(10_000, 10_000);
        update_and_check(&state);
        o.stop().unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreConsumerEncodeDecodeRedelivered" => file_store_consumer_encode_decode_redelivered);
fn file_store_consumer_encode_decode_redelivered() {
    let state = ConsumerState {
        delivered: pair(100, 100),
        ack_floor: pair(50, 50),
        redelivered: BTreeMap::from([(122, 3), (144, 8)]),
        ..ConsumerState::default()
    };
    let buf = encode_consumer_state(&state, SystemClock.now_ns());
    let rstate = decode_consumer_state(&buf).unwrap();
    assert_eq!(rstate, state, "states do not match");
}

port!("server/filestore_test.go::TestFileStoreConsumerEncodeDecodePendingBelowStreamAckFloor" => file_store_consumer_encode_decode_pending_below_stream_ack_floor);
fn file_store_consumer_encode_decode_pending_below_stream_ack_floor() {
    let now_rounded = (SystemClock.now_ns() + NANOS_PER_SEC / 2) / NANOS_PER_SEC * NANOS_PER_SEC;
    let now = now_rounded - 10 * NANOS_PER_SEC;
    let mut state = ConsumerState {
        delivered: pair(1192, 10185),
        ack_floor: pair(1189, 10815),
        ..ConsumerState::default()
    };
    state.pending = BTreeMap::from([
        (
            10782,
            Pending {
                sequence: 1190,
                timestamp: now,
            },
        ),
        (
            10810,
            Pending {
                sequence: 1191,
                timestamp: now + NANOS_PER_SEC,
            },
        ),
        (
            10815,
            Pending {
                sequence: 1192,
                timestamp: now + 2 * NANOS_PER_SEC,
            },
        ),
    ]);
    let buf = encode_consumer_state(&state, SystemClock.now_ns());
    let mut rstate = decode_consumer_state(&buf).unwrap();
    assert_eq!(
        rstate.pending.len(),
        3,
        "invalid pending: {:?}",
        rstate.pending
    );
    for (k, v) in &state.pending {
        let rv = rstate
            .pending
            .get(k)
            .unwrap_or_else(|| panic!("did not find sseq={k}"));
        assert_eq!(rv, v, "pending for sseq={k}");
    }
    state.pending.clear();
    rstate.pending.clear();
    assert_eq!(rstate, state, "states do not match");
}

port!("server/filestore_test.go::TestFileStoreConsumerRedeliveredLost" => file_store_consumer_redelivered_lost);
fn file_store_consumer_redelivered_lost() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let cfg = explicit(0);
        let mut o = fs.consumer_store("o22", 0, &cfg).unwrap();
        let restart = |o: &mut Arc<dyn ConsumerStore>| {
            o.stop().unwrap();
            *o = fs.consumer_store("o22", 0, &cfg).unwrap();
            // Redelivered came back.
            let state = o.state().unwrap();
            assert!(!state.redelivered.is_empty(), "did not recover redelivered");
        };
        let ts = SystemClock.now_ns();
        o.update_delivered(1, 1, 1, ts).unwrap();
        o.update_delivered(2, 1, 2, ts).unwrap();
        o.update_delivered(3, 1, 3, ts).unwrap();
        o.update_delivered(4, 1, 4, ts).unwrap();
        o.update_delivered(5, 2, 1, ts).unwrap();
        restart(&mut o);

        o.update_delivered(6, 2, 2, ts).unwrap();
        o.update_delivered(7, 3, 1, ts).unwrap();
        restart(&mut o);
        assert_eq!(
            o.state().unwrap().pending.len(),
            3,
            "did not recover pending correctly"
        );

        o.update_acks(7, 3).unwrap();
        o.update_acks(6, 2).unwrap();
        restart(&mut o);
        o.update_acks(4, 1).unwrap();

        let state = o.state().unwrap();
        assert!(state.pending.is_empty(), "did not clear pending correctly");
        assert!(
            state.redelivered.is_empty(),
            "did not clear redelivered correctly"
        );
        o.stop().unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreConsumerUpdateAcksFlushesRedelivered" => file_store_consumer_update_acks_flushes_redelivered);
fn file_store_consumer_update_acks_flushes_redelivered() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        // With max deliver 1 the second delivery drops the message from pending while
        // it stays in redelivered.
        let cfg = explicit(1);
        let mut o = fs.consumer_store("o22", 0, &cfg).unwrap();
        let restart = |o: &mut Arc<dyn ConsumerStore>| {
            o.stop().unwrap();
            *o = fs.consumer_store("o22", 0, &cfg).unwrap();
        };
        let ts = SystemClock.now_ns();
        o.update_delivered(1, 1, 1, ts).unwrap();
        o.update_delivered(2, 1, 2, ts).unwrap();

        // On disk after a restart.
        restart(&mut o);
        let state = o.state().unwrap();
        assert_eq!(state.pending.len(), 0);
        assert_eq!(state.redelivered.len(), 1);

        // The ack removes it from redelivered though the call fails (no longer
        // pending); the removal must still be persisted.
        assert_eq!(o.update_acks(2, 1).unwrap_err(), StoreError::MsgNotFound);
        restart(&mut o);
        assert_eq!(o.state().unwrap().redelivered.len(), 0);
        o.stop().unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreConsumerDeliveredUpdates" => file_store_consumer_delivered_updates);
fn file_store_consumer_delivered_updates() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        // No ack policy.
        let o = fs.consumer_store("o22", 0, &no_ack()).unwrap();
        let test_delivered = |dseq: u64, sseq: u64| {
            o.update_delivered(dseq, sseq, 1, SystemClock.now_ns())
                .unwrap();
            let state = o.state().unwrap();
            assert_eq!(state.delivered, pair(dseq, sseq));
            assert_eq!(state.ack_floor, pair(dseq, sseq), "ack floor");
            assert!(state.pending.is_empty(), "did not expect any pending");
        };
        test_delivered(1, 100);
        test_delivered(2, 110);
        test_delivered(5, 130);

        // Acks and redeliveries need an ack policy.
        assert_eq!(o.update_acks(1, 100).unwrap_err(), StoreError::NoAckPolicy);
        assert_eq!(
            o.update_delivered(5, 130, 2, SystemClock.now_ns())
                .unwrap_err(),
            StoreError::NoAckPolicy
        );
        o.stop().unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreConsumerDeliveredAndAckUpdates" => file_store_consumer_delivered_and_ack_updates);
fn file_store_consumer_delivered_and_ack_updates() {
    all_permutations(|fcfg| {
        let fs = fcfg.open(zzz());
        let o = fs.consumer_store("o22", 0, &explicit(0)).unwrap();
        let pending = std::cell::Cell::new(0usize);

        let test_delivered = |dseq: u64, sseq: u64| {
            let ts = (SystemClock.now_ns() + NANOS_PER_SEC / 2) / NANOS_PER_SEC * NANOS_PER_SEC;
            o.update_delivered(dseq, sseq, 1, ts).unwrap();
            pending.set(pending.get() + 1);
            let state = o.state().unwrap();
            assert_eq!(state.delivered, pair(dseq, sseq), "delivered");
            assert_eq!(state.pending.len(), pending.get());
        };
        test_delivered(1, 100);
        test_delivered(2, 110);
        test_delivered(3, 130);
        test_delivered(4, 150);
        test_delivered(5, 165);

        for (dseq, sseq) in [(3, 101), (1, 1)] {
            assert!(o.update_acks(dseq, sseq).is_err(), "expected error");
        }

        let test_ack = |dseq: u64, sseq: u64, dflr: u64, sflr: u64| {
            o.update_acks(dseq, sseq).unwrap();
            pending.set(pending.get() - 1);
            let state = o.state().unwrap();
            assert_eq!(state.pending.len(), pending.get());
            assert_eq!(state.ack_floor, pair(dflr, sflr), "ack floor");
        };
        test_ack(1, 100, 1, 109);
        test_ack(3, 130, 1, 109);
        // Earlier stream floors are not tracked: the floor is the last known one - 1.
        test_ack(2, 110, 3, 149);
        test_ack(5, 165, 3, 149);
        test_ack(4, 150, 5, 165);

        test_delivered(6, 170);
        test_delivered(7, 171);
        test_delivered(8, 172);
        test_delivered(9, 173);
        test_delivered(10, 200);

        test_ack(7, 171, 5, 165);
        test_ack(8, 172, 5, 165);

        let state = o.state().unwrap();
        o.stop().unwrap();
        let o = fs.consumer_store("o22", 0, &explicit(0)).unwrap();
        assert_eq!(o.state().unwrap(), state, "states don't match");
        o.stop().unwrap();
        fs.stop().unwrap();
    });
}

port!("server/filestore_test.go::TestFileStoreResetConsumerToStreamState" => file_store_reset_consumer_to_stream_state);
fn file_store_reset_consumer_to_stream_state() {
    // Go also zeroes the stream's first and last sequence in memory before the updates;
    // natsd's consumer state does not read the stream's, so that step has no counterpart.
    let dir = TempDir::new();
    let fs = plain_fcfg(&dir).open(zzz_with(|c| c.subjects = vec!["foo.*".to_string()]));
    for i in 1..=30 {
        fs.store_msg(&format!("foo.{i}"), b"", b"abc", 0).unwrap();
    }
    let obs = fs
        .consumer_store("c1", SystemClock.now_ns(), &no_ack())
        .unwrap();
    let state = ConsumerState {
        delivered: pair(5, 5),
        ack_floor: pair(5, 5),
        ..ConsumerState::default()
    };
    obs.update(&state).unwrap();
    let curr = obs.state().unwrap();
    let fs_state = fs.state();
    assert_eq!((fs_state.first_seq, fs_state.last_seq), (1, 30));
    assert_eq!(curr.ack_floor, state.ack_floor);
    assert_eq!(curr.delivered, state.delivered);
    assert_eq!(curr.redelivered.len(), state.redelivered.len());
    assert_eq!(curr.pending.len(), state.pending.len());

    // Lower values: an update is refused as old, a forced one is taken.
    let new_state = ConsumerState {
        delivered: pair(1, 4),
        ack_floor: pair(1, 3),
        ..ConsumerState::default()
    };
    assert_eq!(obs.update(&new_state).unwrap_err(), StoreError::OldUpdate);
    obs.force_update(&new_state).unwrap();
    let curr = obs.state().unwrap();
    assert_eq!(curr.ack_floor, new_state.ack_floor);
    assert_eq!(curr.delivered, new_state.delivered);
    assert_eq!(curr.redelivered.len(), new_state.redelivered.len());
    assert_eq!(curr.pending.len(), new_state.pending.len());
    obs.stop().unwrap();
    fs.stop().unwrap();
}
