#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::Duration;

use super::*;

fn store() -> MemStore {
    MemStore::new(StreamConfig {
        storage: StorageType::Memory,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn requires_memory_storage() {
    assert!(MemStore::new(StreamConfig::default()).is_err());
}

#[test]
fn store_load_remove_and_lazy_subject_state() {
    let ms = store();
    for subj in ["a", "b", "a", "a"] {
        ms.store_msg(subj, b"h", b"m", 0).unwrap();
    }
    assert_eq!(ms.load_msg(5), Err(StoreError::Eof));
    assert!(ms.remove_msg(1).unwrap());
    assert!(!ms.remove_msg(1).unwrap());
    assert_eq!(ms.load_msg(1), Err(StoreError::MsgNotFound));
    let raw = ms.raw_subject_state("a").unwrap();
    assert!(raw.first_needs_update);
    let ss = ms.subjects_state("a")["a"];
    assert_eq!((ss.msgs, ss.first, ss.last), (2, 3, 4));
    assert_eq!(ms.state().first_seq, 2);
    let (sm, seq) = ms.load_next_msg("a", false, 0).unwrap();
    assert_eq!((sm.subject.as_str(), seq), ("a", 3));
    assert_eq!(
        ms.load_next_msg("c", false, 0).unwrap_err(),
        (StoreError::Eof, 4)
    );
}

#[test]
fn storage_updates_are_reported_after_unlock() {
    let ms = Arc::new(store());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (seen2, weak) = (seen.clone(), Arc::downgrade(&ms));
    ms.register_storage_updates(Arc::new(move |m, b, seq, subj: &str| {
        // Calling back into the store must not deadlock.
        let _ = weak.upgrade().map(|ms| ms.fast_state());
        seen2.lock().unwrap().push((m, b, seq, subj.to_string()));
    }));
    ms.store_msg("x", &[], b"12", 0).unwrap();
    ms.remove_msg(1).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], (1, 19, 1, "x".to_string()));
    assert_eq!(seen[1], (-1, -19, 1, "x".to_string()));
}

#[test]
fn store_raw_checks_sequence_and_closed() {
    let ms = store();
    assert_eq!(
        ms.store_raw_msg("a", &[], &[], 5, 1, 0, false),
        Err(StoreError::SequenceMismatch)
    );
    ms.store_raw_msg("a", &[], &[], 1, 1, 0, false).unwrap();
    ms.stop().unwrap();
    assert_eq!(ms.store_msg("a", &[], &[], 0), Err(StoreError::Closed));
    assert_eq!(ms.state().msgs, 0);
}

#[test]
fn discard_new_per_subject_and_rollup() {
    let ms = MemStore::new(StreamConfig {
        storage: StorageType::Memory,
        discard: DiscardPolicy::New,
        discard_new_per_subject: true,
        max_msgs_per_subject: 1,
        ..Default::default()
    })
    .unwrap();
    ms.store_msg("a", &[], &[], 0).unwrap();
    assert_eq!(
        ms.store_msg("a", &[], &[], 0),
        Err(StoreError::MaxMsgsPerSubject)
    );
    ms.store_msg("a", b"NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", &[], 0)
        .unwrap();
    assert_eq!(ms.state().msgs, 1);
}

#[test]
fn encoded_stream_state_decodes() {
    let ms = store();
    for _ in 0..5 {
        ms.store_msg("a", &[], &[], 0).unwrap();
    }
    ms.remove_msg(2).unwrap();
    ms.remove_msg(4).unwrap();
    let enc = ms.encoded_stream_state(0).unwrap();
    let ss = decode_stream_state(&enc, &decode_avl_delete_block).unwrap();
    assert_eq!((ss.msgs, ss.first_seq, ss.last_seq), (3, 1, 5));
    assert_eq!(num_deleted(&ss.deleted), 2);

    let other = store();
    for _ in 0..5 {
        other.store_msg("a", &[], &[], 0).unwrap();
    }
    other.sync_deleted(&ss.deleted).unwrap();
    assert_eq!(other.state().deleted, vec![2, 4]);
}

#[test]
fn consumer_store_acks_and_counts() {
    let ms = store();
    let cfg = ConsumerConfig {
        name: "c".into(),
        ack_policy: AckPolicy::Explicit,
        max_deliver: 0,
    };
    let o = ms.consumer_store("c", 0, &cfg).unwrap();
    assert_eq!(ms.state().consumers, 1);
    for i in 1..=3 {
        o.update_delivered(i, i, 1, 0).unwrap();
    }
    o.update_delivered(4, 2, 2, 0).unwrap();
    o.update_acks(1, 1).unwrap();
    let st = o.state().unwrap();
    assert_eq!(
        st.ack_floor,
        SequencePair {
            consumer: 1,
            stream: 1
        }
    );
    assert_eq!(st.redelivered.get(&2), Some(&1));
    o.update_acks(2, 2).unwrap();
    o.update_acks(3, 3).unwrap();
    let st = o.state().unwrap();
    assert!(st.pending.is_empty());
    assert_eq!(
        st.ack_floor,
        SequencePair {
            consumer: 4,
            stream: 3
        }
    );
    let dec = decode_consumer_state(&o.encoded_state().unwrap()).unwrap();
    assert_eq!(dec.ack_floor, st.ack_floor);
    o.stop().unwrap();
    assert_eq!(ms.state().consumers, 0);
    assert_eq!(o.state(), Err(StoreError::Closed));
}

fn store_with(cfg: StreamConfig, clock: SharedClock) -> MemStore {
    MemStore::with_clock(
        StreamConfig {
            storage: StorageType::Memory,
            ..cfg
        },
        clock,
    )
    .unwrap()
}

#[test]
fn seq_from_time_skips_gaps() {
    let clock = ManualClock::new(1_000);
    let ms = store_with(StreamConfig::default(), clock.clone());
    for _ in 0..20 {
        ms.store_msg("a", &[], &[], 0).unwrap();
        clock.advance(Duration::from_nanos(10));
    }
    for seq in 5..=15 {
        ms.remove_msg(seq).unwrap();
    }
    // Message n was stored at 1000 + 10 * (n - 1).
    assert_eq!(ms.get_seq_from_time(0), 1);
    assert_eq!(ms.get_seq_from_time(1_000 + 10 * 4), 16);
    assert_eq!(ms.get_seq_from_time(1_000 + 10 * 3 + 1), 16);
    assert_eq!(ms.get_seq_from_time(1_000 + 10 * 3), 4);
    assert_eq!(ms.get_seq_from_time(1_000 + 10 * 19), 20);
    assert_eq!(ms.get_seq_from_time(1_000 + 10 * 19 + 1), 21);
}

#[test]
fn ttl_expiry_with_markers_uses_the_handlers() {
    let clock = ManualClock::new(NANOS_PER_SEC);
    let ms = Arc::new(store_with(
        StreamConfig {
            allow_msg_ttl: true,
            subject_delete_marker_ttl: Duration::from_secs(60),
            ..Default::default()
        },
        clock.clone(),
    ));
    ms.store_msg("a", b"NATS/1.0\r\nNats-TTL: 1s\r\n\r\n", &[], 1)
        .unwrap();
    ms.store_msg("b", &[], &[], 0).unwrap();
    ms.store_msg("b", b"NATS/1.0\r\nNats-TTL: 1s\r\n\r\n", &[], 1)
        .unwrap();
    clock.advance(Duration::from_secs(2));
    // Without handlers nothing happens yet.
    ms.expire_msgs();
    assert_eq!(ms.state().msgs, 3);

    let removed = Arc::new(Mutex::new(Vec::new()));
    let markers = Arc::new(Mutex::new(Vec::new()));
    let (r, m) = (removed.clone(), markers.clone());
    ms.register_storage_remove_msg(Arc::new(move |seq| r.lock().unwrap().push(seq)));
    ms.register_process_jetstream_msg(Arc::new(move |im: InMsg| {
        m.lock().unwrap().push((im.subject, im.hdr))
    }));
    ms.expire_msgs();
    // `a` was the last of its subject: a marker; `b` at 3 is not the last: a removal.
    assert_eq!(*removed.lock().unwrap(), vec![3]);
    let markers = markers.lock().unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].0, "a");
    assert_eq!(
        header_value(&markers[0].1, JS_MESSAGE_TTL),
        Some(&b"1m0s"[..])
    );
    // Proposed again only after two seconds.
    ms.expire_msgs();
    assert_eq!(removed.lock().unwrap().len(), 1);
}

#[test]
fn purge_ex_keep_and_subject() {
    let ms = store();
    for i in 0..10 {
        ms.store_msg(if i % 2 == 0 { "a" } else { "b" }, &[], &[], 0)
            .unwrap();
    }
    assert_eq!(ms.purge_ex("a", 0, 2).unwrap(), 3);
    assert_eq!(ms.subjects_totals("a")["a"], 2);
    assert_eq!(ms.subjects_state("a")["a"].first, 7);
    assert_eq!(ms.purge_ex("b", 6, 0).unwrap(), 2);
    assert_eq!(ms.subjects_state("b")["b"].first, 6);
    assert_eq!(ms.state().msgs, 5);
}

#[test]
fn concurrent_writers_and_readers() {
    let ms = Arc::new(store());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let ms = ms.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    ms.store_msg(&format!("w.{w}.{}", i % 7), &[], b"x", 0)
                        .unwrap();
                    let _ = ms.num_pending(1, "w.>", false).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let state = ms.state();
    assert_eq!(
        (state.msgs, state.last_seq, state.num_subjects),
        (2000, 2000, 28)
    );
    assert_eq!(ms.num_pending(1, "w.1.*", false).unwrap().0, 500);
}

#[test]
fn a_message_that_never_expires_outlives_the_max_age() {
    let clock = ManualClock::new(NANOS_PER_SEC);
    let ms = store_with(
        StreamConfig {
            max_age: Duration::from_secs(1),
            allow_msg_ttl: true,
            ..Default::default()
        },
        clock.clone(),
    );
    ms.store_msg("foo", b"NATS/1.0\r\nNats-TTL: never\r\n\r\n", b"", -1)
        .unwrap();
    clock.advance(Duration::from_millis(100));
    ms.store_msg("foo", b"", b"", 0).unwrap();
    ms.store_msg("bar", b"", b"", 0).unwrap();
    // The age limit is due for the first message that can expire.
    assert_eq!(
        ms.next_expiration(),
        Some(NANOS_PER_SEC + 100_000_000 + NANOS_PER_SEC)
    );
    clock.advance(Duration::from_secs(2));
    ms.expire_msgs();
    let state = ms.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 3));
    // Nothing left that can expire: no expiry to wake for.
    assert_eq!(ms.next_expiration(), None);
    // A new message ages out around it.
    ms.store_msg("foo", b"", b"", 0).unwrap();
    clock.advance(Duration::from_secs(2));
    ms.expire_msgs();
    let state = ms.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 4));
    assert_eq!(ms.next_expiration(), None);
}
