//! A consumer's pending state when stream messages go away under it: Go edits its
//! consumer's fields and calls `getNextMsg` / `decStreamPending`; natsd's equivalents are
//! the consumer's [`Cursor`](natsd::jetstream::consumer::Cursor) (pending map,
//! redelivery queue, floors, pending count) and `Consumer::message_removed`, with a pull
//! request driving the next delivery pass.

use super::*;
use natsd::jetstream::consumer::{PendingCount, PendingMsg};
use ported::jetstream::check_for;
use ported::js_context::{new_inbox, SubOpts, SEC};
use ported::port;
use serde_json::json;
use std::time::Duration;

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerMessageDeletedDuringRedelivery" => consumer_message_deleted_during_redelivery);
fn consumer_message_deleted_during_redelivery() {
    for (name, storage) in STORAGES {
        let (s, mut js) = server_and_client();
        js.add_stream(json!({"name": "TEST", "subjects": ["foo"], "storage": storage}))
            .unwrap();
        for _ in 0..3 {
            js.publish_ok("foo", b"");
        }
        let mut sub = js
            .pull_subscribe(
                "foo",
                "CONSUMER",
                SubOpts::config(json!({"ack_policy": "explicit", "ack_wait": SEC})),
            )
            .unwrap();
        let o = s.consumer("TEST", "CONSUMER");

        let msgs = js.fetch(&mut sub, 3, Duration::from_secs(5)).unwrap();
        assert_eq!(msgs.len(), 3, "{name}");

        js.delete_msg("TEST", 2).unwrap();

        // The removal takes the message out of pending (Go's decStreamPending); the
        // consumer's info applies it, as any delivery pass does.
        check_for(Duration::from_secs(2), Duration::from_millis(100), || {
            let n = js.info("TEST", "CONSUMER")["num_ack_pending"]
                .as_u64()
                .unwrap_or(0);
            if n == 2 {
                Ok(())
            } else {
                Err(format!("expected 2 pending, but got {n}"))
            }
        });

        // Now only the deleted message is pending and queued for redelivery, with the
        // floors reset and the consumer past sequence 10 (Go's dseq and sseq of 11 are
        // the next ones to hand out).
        {
            let mut c = o.cursor.lock();
            c.redeliver.clear();
            c.pending.clear();
            c.pending.insert(
                2,
                PendingMsg {
                    dseq: 0,
                    ts: 0,
                    dc: 1,
                    deadline: i64::MAX,
                },
            );
            c.redeliver.push_back(2);
            c.ack_floor = (0, 0);
            c.dseq = 10;
            c.delivered_sseq = 10;
            c.next_sseq = 11;
        }

        // Getting the next message skips seq 2, deleted, and finds nothing else (Go's
        // ErrStoreEOF: a no-wait request hears 404).
        let inbox = new_inbox();
        let sid = js.subscribe_sync_core(&inbox);
        js.conn.publish_msg(
            "$JS.API.CONSUMER.MSG.NEXT.TEST.CONSUMER",
            &inbox,
            &[],
            json!({"batch": 1, "no_wait": true}).to_string().as_bytes(),
        );
        let m = js
            .next_msg_core(sid, Duration::from_secs(1))
            .expect("an answer to the pull request");
        assert_eq!(m.status(), Some(404), "{name}: {m:?}");

        let c = o.cursor.lock();
        assert_eq!(c.pending.len(), 0, "{name}");
        assert_eq!(c.ack_floor, (10, 10), "{name}: (adflr, asflr)");
    }
}

port!("server/jetstream_consumer_test.go::TestJetStreamConsumerDontDecrementPendingCountOnSkippedMsg" => consumer_dont_decrement_pending_count_on_skipped_msg);
fn consumer_dont_decrement_pending_count_on_skipped_msg() {
    let (s, mut js) = server_and_client();
    js.add_stream(json!({"name": "TEST", "subjects": ["foo"]}))
        .unwrap();
    js.add_consumer("TEST", json!({"durable_name": "CONSUMER"}))
        .unwrap();
    let o = s.consumer("TEST", "CONSUMER");

    // Go reads the consumer's pending count (o.npc), which its info reports.
    let require_expected = |js: &mut JsContext, expected: u64| {
        check_for(Duration::from_secs(1), Duration::from_millis(10), || {
            let npc = js.info("TEST", "CONSUMER")["num_pending"].as_u64();
            if npc == Some(expected) {
                Ok(())
            } else {
                Err(format!("expected npc={expected}, got {npc:?}"))
            }
        });
    };

    // Nothing available at first.
    require_expected(&mut js, 0);
    // A new message is pending.
    js.publish_ok("foo", b"");
    require_expected(&mut js, 1);
    // Deleted, it is not.
    js.delete_msg("TEST", 1).unwrap();
    require_expected(&mut js, 0);
    // Two more.
    js.publish_ok("foo", b"");
    js.publish_ok("foo", b"");
    require_expected(&mut js, 2);

    // As if the consumer had moved past both (to 100) while delivering seq 2, still
    // pending, and skipping seq 3: the count is one less (Go's o.sseq = 100, o.npc--,
    // o.pending = {2}). natsd keeps the count with the stream state it was taken at.
    {
        let st = js.stream_state("TEST");
        let mut c = o.cursor.lock();
        c.next_sseq = 100;
        c.npc = Some(PendingCount {
            count: 1,
            next_sseq: 100,
            first_seq: st.first_seq,
            last_seq: st.last_seq,
            msgs: st.msgs,
        });
        c.pending.clear();
        c.pending.insert(
            2,
            PendingMsg {
                dseq: 0,
                ts: 0,
                dc: 1,
                deadline: i64::MAX,
            },
        );
    }

    // The pending message goes: the count already left it out.
    o.message_removed(2);
    require_expected(&mut js, 1);

    // The skipped message goes: counting it off again could count it off twice (when
    // an ack of an interest or work-queue stream removed it), so the count stays.
    o.message_removed(3);
    require_expected(&mut js, 1);
}
