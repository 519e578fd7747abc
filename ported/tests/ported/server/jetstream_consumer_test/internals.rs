//! Consumer internals Go reads directly (pending count, filters, the interest check,
//! messages out of deliveries): the ports read the same facts from the server's
//! [`Cursor`](natsd::jetstream::consumer::Cursor) and stream.

use super::*;
use natsd::jetstream::consumer::{single_filter, PendingCount};
use ported::js_context::{MsgExt, SubOpts, SEC};
use ported::port;
use serde_json::json;
use std::time::{Duration, Instant};

/// The stream `name` of the global account (Go's `acc.lookupStream`).
#[track_caller]
fn stream_of(s: &JsServer, name: &str) -> std::sync::Arc<natsd::jetstream::stream::Stream> {
    s.shared()
        .jetstream()
        .and_then(|j| j.account("$G"))
        .and_then(|a| a.stream(name))
        .unwrap_or_else(|| panic!("stream {name}"))
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerEfficientInterestStateCheck" => consumer_efficient_interest_state_check);
fn consumer_efficient_interest_state_check() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "retention": "interest", "subjects": ["foo"]}))
        .unwrap();
    let mut sub = js
        .pull_subscribe("", "CONSUMER", SubOpts::bind_stream("TEST"))
        .unwrap();
    let mset = stream_of(&s, "TEST");
    // Straight into the store, as Go's test does: two messages, ten million sequences
    // skipped, one more.
    mset.store().store_msg("foo", &[], &[], 0).unwrap();
    mset.store().store_msg("foo", &[], &[], 0).unwrap();
    mset.store().skip_msgs(3, 10_000_000).unwrap();
    mset.store().store_msg("foo", &[], &[], 0).unwrap();

    // Only the first is acknowledged; the other two stay delivered, far apart.
    let msgs = js.fetch(&mut sub, 3, Duration::from_secs(5)).unwrap();
    assert_eq!(msgs.len(), 3);
    js.ack_sync(&msgs[0]).unwrap();

    // Go's checkStateForInterestStream for this consumer: skipping the gap must not
    // cost a scan of every sequence in it.
    let _ = s.consumer("TEST", "CONSUMER");
    let start = Instant::now();
    mset.check_interest_state();
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(50),
        "the interest check took {elapsed:?}"
    );
    js.unsubscribe_core(sub.sid);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerOnlyRecalculatePendingIfFilterSubjectUpdated" => consumer_only_recalculate_pending_if_filter_subject_updated);
fn consumer_only_recalculate_pending_if_filter_subject_updated() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    let cfg = json!({"durable_name": "DURABLE"});
    js.add_consumer("TEST", cfg.clone()).unwrap();

    // The message counts as pending for the consumer.
    send_stream_msg(&mut js, "foo", "");
    let o = s.consumer("TEST", "DURABLE");
    // natsd counts pending when asked (Go keeps its count from the creation on).
    assert_eq!(o.info(s.shared()).num_pending, 1);
    let counted = o.cursor.lock().npc.expect("a pending count");
    assert_eq!(counted.count, 1);
    // Go tells a kept count from a new one by the floor it was taken at (npf); here a
    // kept count keeps a value planted in it (0, within what the stream holds), a new
    // one is the stream's real count.
    let planted = PendingCount {
        count: 0,
        ..counted
    };
    o.cursor.lock().npc = Some(planted);

    // The same config again: the count is kept.
    js.update_consumer("TEST", cfg.clone()).unwrap();
    assert_eq!(o.cursor.lock().npc, Some(planted));

    // A new filter subject: counted again.
    let mut cfg = cfg;
    cfg["filter_subject"] = json!("foo");
    js.update_consumer("TEST", cfg).unwrap();
    let npc = o.cursor.lock().npc;
    assert!(
        npc.is_none_or(|k| k.count == 1),
        "the pending count was not taken again: {npc:?}"
    );
    assert_eq!(o.info(s.shared()).num_pending, 1);
    assert_eq!(o.cursor.lock().npc.map(|k| k.count), Some(1));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerCheckNumPending" => consumer_check_num_pending);
fn consumer_check_num_pending() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "DURABLE"}))
        .unwrap();
    for _ in 0..5 {
        send_stream_msg(&mut js, "foo", "");
    }
    let o = s.consumer("TEST", "DURABLE");
    // The consumer's num pending as its info reports it (Go's checkNumPending).
    let num_pending = || o.info(s.shared()).num_pending;

    // At the first message, all five pending.
    assert_eq!(o.cursor.lock().next_sseq, 1);
    assert_eq!(num_pending(), 5);

    // Two went out: the next is 3, three are pending.
    o.cursor.lock().next_sseq = 3;
    assert_eq!(num_pending(), 3);

    // A sequence far past the stream: nothing pending (and no panic).
    o.cursor.lock().next_sseq = 100;
    assert_eq!(num_pending(), 0);

    // The stream's tail goes.
    for seq in 2..=5 {
        js.delete_msg("TEST", seq).unwrap();
    }
    // One went out, and only one message is left in the stream. A count of 4 kept as
    // if it were current (Go sets npc to 4) is not recounted, but is no more than the
    // stream holds.
    {
        let mut c = o.cursor.lock();
        c.next_sseq = 2;
        c.npc = Some(PendingCount {
            count: 4,
            next_sseq: 2,
            first_seq: 1,
            last_seq: 5,
            msgs: 1,
        });
    }
    assert_eq!(num_pending(), 1);
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerSingleFilterSubjectInFilterSubjects" => consumer_single_filter_subject_in_filter_subjects);
fn consumer_single_filter_subject_in_filter_subjects() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer(
        "TEST",
        json!({"durable_name": "CONSUMER", "filter_subjects": ["foo"]}),
    )
    .unwrap();
    let o = s.consumer("TEST", "CONSUMER");
    let c = o.cursor.lock();
    // One filter (Go: one entry in subjf) ...
    assert_eq!(c.filters.filters().collect::<Vec<_>>(), vec!["foo"]);
    // ... that the store is asked for as one subject, not through a set of filters (Go:
    // no filter sublist, so LoadNextMsg rather than LoadNextMsgMulti).
    assert_eq!(single_filter(&c.filters), Some(("foo", false)));
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerCheckRedeliveredUpdatesRdc" => consumer_check_redelivered_updates_rdc);
fn consumer_check_redelivered_updates_rdc() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    for _ in 0..5 {
        send_stream_msg(&mut js, "foo", "");
    }
    let opts = SubOpts::bind_stream("TEST")
        .with(json!({"max_deliver": 2, "ack_policy": "explicit", "ack_wait": SEC}));
    let mut sub = js.pull_subscribe("", "CONSUMER", opts).unwrap();
    let o = s.consumer("TEST", "CONSUMER");
    let seqs = |msgs: &[ported::jetstream::NatsMsg]| -> Vec<(u64, u64)> {
        msgs.iter()
            .map(|m| {
                let meta = m.metadata();
                (meta.stream_seq, meta.num_delivered)
            })
            .collect()
    };

    // Go plants the state messages 1 to 3 are in once out of deliveries, with 4 queued
    // for redelivery above the ack floor; here the consumer gets there itself: 1 to 3
    // are nak'd twice (max deliver 2), 4 once, 5 acknowledged.
    let msgs = js.fetch(&mut sub, 5, Duration::from_secs(2)).unwrap();
    assert_eq!(seqs(&msgs), vec![(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]);
    js.ack_sync(&msgs[4]).unwrap();
    for m in &msgs[..3] {
        js.nak(m);
    }
    let again = js.fetch(&mut sub, 3, Duration::from_secs(2)).unwrap();
    assert_eq!(seqs(&again), vec![(1, 2), (2, 2), (3, 2)]);
    for m in &again {
        js.nak(m);
    }
    js.nak(&msgs[3]);
    js.flush();

    // The next delivery is 4: 1 to 3 are done with (Go drops them from its redelivery
    // queue, being at or below the ack floor) ...
    let next = js.fetch(&mut sub, 1, Duration::from_secs(2)).unwrap();
    assert_eq!(seqs(&next), vec![(4, 2)]);
    {
        let c = o.cursor.lock();
        assert_eq!(c.ack_floor.1, 3, "ack floor");
        assert!(
            c.redeliver.is_empty(),
            "redelivery queue: {:?}",
            c.redeliver
        );
        // ... but their delivery counts stay while they are in the stream (Go's rdc),
        // as does 4's.
        let kept: Vec<(u64, u64)> = c.max_delivered.iter().map(|(&s, &d)| (s, d)).collect();
        assert_eq!(kept, vec![(1, 2), (2, 2), (3, 2)]);
        assert_eq!(c.delivery_count(4), 2);
    }
    assert_eq!(o.info(s.shared()).num_redelivered, 4);

    // Once the stream moves past them, they are forgotten, in the store too.
    js.purge_stream("TEST", None).unwrap();
    let _ = o.info(s.shared());
    assert!(
        o.cursor.lock().max_delivered.is_empty(),
        "delivery counts left after the purge"
    );
    let stored = o.stored_state().expect("the consumer's stored state");
    assert!(
        stored.redelivered.is_empty(),
        "stored delivery counts left after the purge: {:?}",
        stored.redelivered
    );
}
