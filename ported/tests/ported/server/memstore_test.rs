//! Ports of `server/memstore_test.go`.
//!
//! Go's memory store runs its age/TTL expiry on a timer; ours is driven by its owner
//! (`next_expiration` says when, `expire_msgs` does it). The ports that wait for a timer in
//! Go advance a manual clock and make the call the owner's timer makes.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use natsd_store::mem::schedule::{
    format_rfc3339_nano, gen_header, parse_rfc3339, JS_SCHEDULER, JS_SCHEDULE_NEXT,
    JS_SCHEDULE_NEXT_PURGE, JS_SCHEDULE_PATTERN, JS_SCHEDULE_TARGET,
};
use natsd_store::mem::{mem_store_msg_size, MemStore};
use natsd_store::*;
use ported::port;

/// A small deterministic-per-run PRNG (xorshift64*), for the Go tests that use math/rand.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Self {
        let seed = SystemClock.now_ns() as u64 | 1;
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub(crate) fn intn(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn mem_cfg() -> StreamConfig {
    StreamConfig {
        storage: StorageType::Memory,
        ..Default::default()
    }
}

fn new_mem(cfg: StreamConfig) -> MemStore {
    MemStore::new(cfg).unwrap()
}

fn named(name: &str, subjects: &[&str]) -> StreamConfig {
    StreamConfig {
        name: name.to_string(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        ..mem_cfg()
    }
}

/// The value of a header, as Go's `getHeader`.
fn get_header<'a>(hdr: &'a [u8], key: &str) -> &'a [u8] {
    header_value(hdr, key).unwrap_or_default()
}

port!("server/memstore_test.go::TestMemStoreBasics" => mem_store_basics);
fn mem_store_basics() {
    let clock = ManualClock::starting_now();
    let ms = MemStore::with_clock(mem_cfg(), clock.clone()).unwrap();
    let (subj, msg) = ("foo", b"Hello World");
    let now = clock.now_ns();
    let (seq, ts) = ms.store_msg(subj, &[], msg, 0).unwrap();
    assert_eq!(seq, 1);
    // The store stamps messages with its clock's current time.
    assert_eq!(ts, now, "expected timestamp to be current");
    let state = ms.state();
    assert_eq!(state.msgs, 1);
    assert_eq!(state.bytes, mem_store_msg_size(subj, &[], msg));
    let sm = ms.load_msg(1).unwrap();
    assert_eq!(sm.subject, subj);
    assert_eq!(&sm.msg[..], msg);
    ms.stop().unwrap();
}

port!("server/memstore_test.go::TestMemStoreMsgLimit" => mem_store_msg_limit);
fn mem_store_msg_limit() {
    let ms = new_mem(StreamConfig {
        max_msgs: 10,
        ..mem_cfg()
    });
    let (subj, msg) = ("foo", b"Hello World");
    for _ in 0..10 {
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    assert_eq!(ms.state().msgs, 10);
    ms.store_msg(subj, &[], msg, 0).unwrap();
    let state = ms.state();
    assert_eq!(state.msgs, 10);
    assert_eq!(state.last_seq, 11);
    assert_eq!(state.first_seq, 2);
    assert!(ms.load_msg(1).is_err(), "expected error looking up seq 1");
}

port!("server/memstore_test.go::TestMemStoreBytesLimit" => mem_store_bytes_limit);
fn mem_store_bytes_limit() {
    let (subj, msg) = ("foo", vec![0u8; 512]);
    let stored = mem_store_msg_size(subj, &[], &msg);
    let to_store = 1024u64;
    let max_bytes = stored * to_store;
    let ms = new_mem(StreamConfig {
        max_bytes: max_bytes as i64,
        ..mem_cfg()
    });
    for _ in 0..to_store {
        ms.store_msg(subj, &[], &msg, 0).unwrap();
    }
    let state = ms.state();
    assert_eq!(state.msgs, to_store);
    assert_eq!(state.bytes, stored * to_store);
    for _ in 0..10 {
        ms.store_msg(subj, &[], &msg, 0).unwrap();
    }
    let state = ms.state();
    assert_eq!(state.msgs, to_store);
    assert_eq!(state.bytes, stored * to_store);
    assert_eq!(state.first_seq, 11);
    assert_eq!(state.last_seq, to_store + 10);
}

port!("server/memstore_test.go::TestMemStoreBytesLimitWithDiscardNew" => mem_store_bytes_limit_with_discard_new);
fn mem_store_bytes_limit_with_discard_new() {
    let (subj, msg) = ("tiny", vec![0u8; 7]);
    let stored = mem_store_msg_size(subj, &[], &msg);
    let to_store = 3u64;
    let ms = new_mem(StreamConfig {
        max_bytes: 100,
        discard: DiscardPolicy::New,
        ..mem_cfg()
    });
    for i in 0..10 {
        let r = ms.store_msg(subj, &[], &msg, 0);
        if i < to_store {
            r.unwrap();
        } else {
            assert_eq!(r.unwrap_err(), StoreError::MaxBytes);
        }
    }
    let state = ms.state();
    assert_eq!(state.msgs, to_store);
    assert_eq!(state.bytes, stored * to_store);
}

port!("server/memstore_test.go::TestMemStoreAgeLimit" => mem_store_age_limit);
fn mem_store_age_limit() {
    let max_age = Duration::from_millis(10);
    let clock = ManualClock::starting_now();
    let ms = MemStore::with_clock(
        StreamConfig {
            max_age,
            ..mem_cfg()
        },
        clock.clone(),
    )
    .unwrap();
    let (subj, msg) = ("foo", b"Hello World");
    let to_store = 100u64;
    let check_expired = || {
        // The expiry timer is due once the oldest message reaches max age.
        let due = ms.next_expiration().expect("an expiry must be scheduled");
        assert_eq!(due, clock.now_ns() + max_age.as_nanos() as i64);
        clock.advance(max_age);
        ms.expire_msgs();
        let state = ms.state();
        assert_eq!(state.msgs, 0, "expected no msgs");
        assert_eq!(state.bytes, 0, "expected no bytes");
        assert_eq!(ms.next_expiration(), None);
    };
    for _ in 0..to_store {
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    assert_eq!(ms.state().msgs, to_store);
    check_expired();
    // More messages: the expiry must be scheduled again.
    for _ in 0..to_store {
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    assert_eq!(ms.state().msgs, to_store);
    check_expired();
}

port!("server/memstore_test.go::TestMemStoreTimeStamps" => mem_store_time_stamps);
fn mem_store_time_stamps() {
    let ms = new_mem(mem_cfg());
    let mut last = SystemClock.now_ns();
    let (subj, msg) = ("foo", b"Hello World");
    for _ in 0..10 {
        std::thread::sleep(Duration::from_micros(5));
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    for seq in 1..=10 {
        let sm = ms.load_msg(seq).unwrap();
        assert!(sm.ts > last, "expected different timestamps, got {}", sm.ts);
        last = sm.ts;
    }
}

port!("server/memstore_test.go::TestMemStorePurge" => mem_store_purge);
fn mem_store_purge() {
    let ms = new_mem(mem_cfg());
    for _ in 0..10 {
        ms.store_msg("foo", &[], b"Hello World", 0).unwrap();
    }
    assert_eq!(ms.state().msgs, 10);
    ms.purge().unwrap();
    assert_eq!(ms.state().msgs, 0);
}

port!("server/memstore_test.go::TestMemStoreCompact" => mem_store_compact);
fn mem_store_compact() {
    let ms = new_mem(mem_cfg());
    for _ in 0..10 {
        ms.store_msg("foo", &[], b"Hello World", 0).unwrap();
    }
    assert_eq!(ms.state().msgs, 10);
    assert_eq!(ms.compact(6).unwrap(), 5);
    let state = ms.state();
    assert_eq!(state.msgs, 5);
    assert_eq!(state.first_seq, 6);
    // Compacting past the end resets first.
    assert_eq!(ms.compact(100).unwrap(), 5);
    assert_eq!(ms.state().first_seq, 100);
}

port!("server/memstore_test.go::TestMemStoreEraseMsg" => mem_store_erase_msg);
fn mem_store_erase_msg() {
    let ms = new_mem(mem_cfg());
    let msg = b"Hello World";
    ms.store_msg("foo", &[], msg, 0).unwrap();
    let sm = ms.load_msg(1).unwrap();
    assert_eq!(&sm.msg[..], msg);
    assert!(
        ms.erase_msg(1).unwrap(),
        "expected erase msg to return success"
    );
}

port!("server/memstore_test.go::TestMemStoreMsgHeaders" => mem_store_msg_headers);
fn mem_store_msg_headers() {
    let ms = new_mem(mem_cfg());
    let (subj, hdr, msg) = ("foo", b"name:derek", b"Hello World");
    assert_eq!(
        mem_store_msg_size(subj, hdr, msg) as usize,
        subj.len() + hdr.len() + msg.len() + 16,
        "wrong size for stored msg with header"
    );
    ms.store_msg(subj, hdr, msg, 0).unwrap();
    let sm = ms.load_msg(1).unwrap();
    assert_eq!(&sm.msg[..], msg);
    assert_eq!(&sm.hdr[..], hdr);
    assert!(ms.erase_msg(1).unwrap());
}

port!("server/memstore_test.go::TestMemStoreStreamStateDeleted" => mem_store_stream_state_deleted);
fn mem_store_stream_state_deleted() {
    let ms = new_mem(mem_cfg());
    let to_store = 10u64;
    for i in 1..=to_store {
        let msg = format!("[{i:08}] Hello World!");
        ms.store_msg("foo", &[], msg.as_bytes(), 0).unwrap();
    }
    assert!(ms.state().deleted.is_empty());
    let mut expected = Vec::new();
    let mut seq = 2;
    while seq < to_store {
        ms.remove_msg(seq).unwrap();
        expected.push(seq);
        seq += 2;
    }
    assert_eq!(ms.state().deleted, expected);
    // Fill the gap by deleting 1 and 3.
    ms.remove_msg(1).unwrap();
    ms.remove_msg(3).unwrap();
    let expected = expected[2..].to_vec();
    let state = ms.state();
    assert_eq!(state.deleted, expected);
    assert_eq!(state.first_seq, 5);
    ms.purge().unwrap();
    assert!(ms.state().deleted.is_empty());
}

port!("server/memstore_test.go::TestMemStoreStreamTruncate" => mem_store_stream_truncate);
fn mem_store_stream_truncate() {
    let ms = new_mem(mem_cfg());
    let mut tseq = 50u64;
    let to_store = 100u64;
    for _ in 1..tseq {
        ms.store_msg("foo", &[], b"ok", 0).unwrap();
    }
    for _ in tseq..=to_store {
        ms.store_msg("bar", &[], b"ok", 0).unwrap();
    }
    assert_eq!(ms.state().msgs, to_store);
    ms.truncate(tseq).unwrap();
    assert_eq!(ms.state().msgs, tseq);

    // Interior deletes are reported properly.
    for seq in [10, 20, 30, 40] {
        ms.remove_msg(seq).unwrap();
    }
    tseq = 25;
    ms.truncate(tseq).unwrap();
    let state = ms.state();
    assert_eq!(state.msgs, tseq - 2);
    assert_eq!(state.num_subjects, 1);
    assert_eq!(state.deleted, vec![10, 20]);
}

port!("server/memstore_test.go::TestMemStorePurgeExWithSubject" => mem_store_purge_ex_with_subject);
fn mem_store_purge_ex_with_subject() {
    let ms = new_mem(mem_cfg());
    for _ in 0..100 {
        ms.store_msg("foo", &[], &[], 0).unwrap();
    }
    // This purges all.
    ms.purge_ex("foo", 0, 0).unwrap();
    assert_eq!(ms.state().msgs, 0);
}

port!("server/memstore_test.go::TestMemStoreUpdateMaxMsgsPerSubject" => mem_store_update_max_msgs_per_subject);
fn mem_store_update_max_msgs_per_subject() {
    let mut cfg = StreamConfig {
        max_msgs_per_subject: 10,
        ..named("TEST", &["foo"])
    };
    let ms = new_mem(cfg.clone());
    // Honoured on an update.
    cfg.max_msgs_per_subject = 50;
    ms.update_config(&mut cfg).unwrap();
    let num_stored = 22u64;
    for _ in 0..num_stored {
        ms.store_msg("foo", &[], &[], 0).unwrap();
    }
    assert_eq!(ms.subjects_state("foo")["foo"].msgs, num_stored);
    // A lower value truncates.
    cfg.max_msgs_per_subject = 10;
    ms.update_config(&mut cfg).unwrap();
    assert_eq!(ms.subjects_state("foo")["foo"].msgs, 10);
}

port!("server/memstore_test.go::TestMemStoreStreamTruncateReset" => mem_store_stream_truncate_reset);
fn mem_store_stream_truncate_reset() {
    let ms = new_mem(named("TEST", &["foo"]));
    let (subj, msg) = ("foo", b"Hello World");
    for _ in 0..1000 {
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    // Reset everything.
    ms.truncate(0).unwrap();
    let state = ms.state();
    assert_eq!(state.msgs, 0);
    assert_eq!(state.bytes, 0);
    assert_eq!(state.first_seq, 0);
    assert_eq!(state.last_seq, 0);
    assert_eq!(state.num_subjects, 0);
    assert_eq!(state.num_deleted, 0);
    for _ in 0..1000 {
        ms.store_msg(subj, &[], msg, 0).unwrap();
    }
    let state = ms.state();
    assert_eq!(state.msgs, 1000);
    assert_eq!(state.bytes, 30000);
    assert_eq!(state.first_seq, 1);
    assert_eq!(state.last_seq, 1000);
    assert_eq!(state.num_subjects, 1);
    assert_eq!(state.num_deleted, 0);
}

port!("server/memstore_test.go::TestMemStoreStreamCompactMultiBlockSubjectInfo" => mem_store_stream_compact_multi_block_subject_info);
fn mem_store_stream_compact_multi_block_subject_info() {
    let ms = new_mem(named("TEST", &["foo.*"]));
    for i in 0..1000 {
        ms.store_msg(&format!("foo.{i}"), &[], b"Hello World", 0)
            .unwrap();
    }
    assert_eq!(ms.compact(501).unwrap(), 500);
    assert_eq!(ms.state().num_subjects, 500);
}

port!("server/memstore_test.go::TestMemStoreSubjectsTotals" => mem_store_subjects_totals);
fn mem_store_subjects_totals() {
    let ms = new_mem(named("TEST", &["*.*"]));
    let mut rng = Rng::new();
    let mut fmap: HashMap<usize, u64> = HashMap::new();
    let mut bmap: HashMap<usize, u64> = HashMap::new();
    for _ in 0..10_000 {
        let (ft, m) = if rng.intn(2) == 0 {
            ("foo", &mut fmap)
        } else {
            ("bar", &mut bmap)
        };
        let dt = rng.intn(100);
        *m.entry(dt).or_default() += 1;
        ms.store_msg(&format!("{ft}.{dt}"), &[], b"Hello World", 0)
            .unwrap();
    }
    for (dt, total) in &fmap {
        let subj = format!("foo.{dt}");
        let m = ms.subjects_totals(&subj);
        assert_eq!(m.get(&subj).copied().unwrap_or(0), *total, "{subj}");
    }
    for (filter, map) in [("foo.*", &fmap), ("bar.*", &bmap)] {
        let st = ms.subjects_totals(filter);
        assert_eq!(st.len(), map.len(), "subjects for {filter}");
        let expected: u64 = map.values().sum();
        let received: u64 = st.values().sum();
        assert_eq!(received, expected);
    }
    assert_eq!(ms.subjects_totals("*.*").len(), fmap.len() + bmap.len());
}

/// Go's brute-force reference for filtered state: scan every message from `sseq`.
fn scan_filtered(ms: &dyn Store, last_seq: u64, sseq: u64, filter: &str) -> SimpleState {
    let mut ss = SimpleState::default();
    for seq in sseq.max(1)..=last_seq {
        let Ok(sm) = ms.load_msg(seq) else { continue };
        if subject_is_subset_match(&sm.subject, filter) {
            ss.msgs += 1;
            ss.last = seq;
            if ss.first == 0 || seq < ss.first {
                ss.first = seq;
            }
        }
    }
    ss
}

/// Go's brute-force reference for last-per-subject pending counts.
fn scan_last_only(ms: &dyn Store, last_seq: u64, sseq: u64, filter: &str) -> SimpleState {
    let mut ss = SimpleState::default();
    let mut seen = std::collections::HashSet::new();
    let mut seq = last_seq;
    while seq >= sseq.max(1) {
        if let Ok(sm) = ms.load_msg(seq) {
            if !seen.contains(&sm.subject) && subject_is_subset_match(&sm.subject, filter) {
                ss.msgs += 1;
                if ss.last == 0 {
                    ss.last = seq;
                }
                if ss.first == 0 || seq < ss.first {
                    ss.first = seq;
                }
                seen.insert(sm.subject);
            }
        }
        seq -= 1;
    }
    ss
}

port!("server/memstore_test.go::TestMemStoreNumPending" => mem_store_num_pending);
fn mem_store_num_pending() {
    let ms = new_mem(named("TEST", &["*.*.*.*"]));
    let tokens = ["foo", "bar", "baz"];
    let mut rng = Rng::new();
    for _ in 0..50_000 {
        let subj = format!(
            "{}.{}.{}.{}",
            tokens[rng.intn(3)],
            tokens[rng.intn(3)],
            tokens[rng.intn(3)],
            tokens[rng.intn(3)]
        );
        ms.store_msg(&subj, &[], b"Hello World", 0).unwrap();
    }
    let state = ms.state();
    let start_seqs = [
        0u64, 1, 2, 200, 444, 555, 2222, 8888, 12_345, 28_222, 33_456, 44_400, 49_999,
    ];
    let filters = [
        "foo.>",
        "*.bar.>",
        "foo.bar.*.baz",
        "*.bar.>",
        "*.foo.bar.*",
        "foo.foo.bar.baz",
    ];
    for filter in filters {
        for start in start_seqs {
            let (np, lvs) = ms.num_pending(start, filter, false).unwrap();
            let ss = ms.filtered_state(start, filter).unwrap();
            let sss = scan_filtered(&ms, state.last_seq, start, filter);
            assert_eq!(lvs, state.last_seq, "valid through");
            assert_eq!(ss.msgs, np, "num pending vs filtered state");
            assert_eq!(ss, sss, "sanity check for {filter} from {start}");

            let (np, lvs) = ms.num_pending(start, filter, true).unwrap();
            let ss = scan_last_only(&ms, state.last_seq, start, filter);
            assert_eq!(lvs, state.last_seq);
            assert_eq!(ss.msgs, np, "last only for {filter} from {start}");
        }
    }
}

port!("server/memstore_test.go::TestMemStoreInitialFirstSeq" => mem_store_initial_first_seq);
fn mem_store_initial_first_seq() {
    let ms = new_mem(StreamConfig {
        first_seq: 1000,
        ..named("zzz", &[])
    });
    assert_eq!(ms.store_msg("A", &[], b"OK", 0).unwrap().0, 1000);
    assert_eq!(ms.store_msg("B", &[], b"OK", 0).unwrap().0, 1001);
    let state = ms.fast_state();
    assert_eq!(state.msgs, 2);
    assert_eq!(state.first_seq, 1000);
    assert_eq!(state.last_seq, 1001);
}

port!("server/memstore_test.go::TestMemStoreDeleteBlocks" => mem_store_delete_blocks);
fn mem_store_delete_blocks() {
    let ms = new_mem(named("zzz", &["*"]));
    let total = 10_000usize;
    for _ in 0..total {
        ms.store_msg("A", &[], b"OK", 0).unwrap();
    }
    let mut rng = Rng::new();
    let mut delete = std::collections::HashSet::new();
    while delete.len() < 5000 {
        delete.insert(rng.intn(total) as u64 + 1);
    }
    for seq in delete {
        ms.remove_msg(seq).unwrap();
    }
    let state = ms.fast_state();
    // One deleted-sequence set tracks every interior delete.
    assert_eq!(ms.dmap_size(), state.num_deleted);
}

port!("server/memstore_test.go::TestMemStoreGetSeqFromTimeWithLastDeleted" => mem_store_get_seq_from_time_with_last_deleted);
fn mem_store_get_seq_from_time_with_last_deleted() {
    let clock = ManualClock::starting_now();
    let ms = MemStore::with_clock(named("zzz", &["*"]), clock.clone()).unwrap();
    let total = 1000u64;
    let mut st = 0;
    for i in 1..=total {
        ms.store_msg("A", &[], b"OK", 0).unwrap();
        clock.advance(Duration::from_micros(1));
        if i == total / 2 {
            clock.advance(Duration::from_millis(100));
            st = clock.now_ns();
        }
    }
    // Delete the last 100.
    for seq in total - 100..=total {
        ms.remove_msg(seq).unwrap();
    }
    // No panic with the last sequence gone, and the right answer.
    assert_eq!(ms.get_seq_from_time(st), 501);
}

port!("server/memstore_test.go::TestMemStoreSkipMsgs" => mem_store_skip_msgs);
fn mem_store_skip_msgs() {
    let cfg = named("zzz", &["*"]);
    let ms = new_mem(cfg.clone());
    // A wrong starting sequence fails.
    assert_eq!(ms.skip_msgs(10, 100), Err(StoreError::SequenceMismatch));
    ms.skip_msgs(1, 100).unwrap();
    let state = ms.state();
    assert_eq!(state.first_seq, 101);
    assert_eq!(state.last_seq, 100);
    ms.skip_msgs(101, 100_000).unwrap();
    let state = ms.state();
    assert_eq!(state.first_seq, 100_101);
    assert_eq!(state.last_seq, 100_100);

    // With a message stored, skips are interior deletes.
    let ms = new_mem(cfg);
    ms.store_msg("foo", &[], &[], 0).unwrap();
    ms.skip_msgs(2, 10).unwrap();
    let state = ms.state();
    assert_eq!(state.first_seq, 1);
    assert_eq!(state.last_seq, 11);
    assert_eq!(state.msgs, 1);
    assert_eq!(state.num_deleted, 10);
    assert_eq!(state.deleted.len(), 10);
    let state = ms.fast_state();
    assert_eq!(state.first_seq, 1);
    assert_eq!(state.last_seq, 11);
    assert_eq!(state.msgs, 1);
    assert_eq!(state.num_deleted, 10);
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

port!("server/memstore_test.go::TestMemStoreMultiLastSeqs" => mem_store_multi_last_seqs);
fn mem_store_multi_last_seqs() {
    let ms = new_mem(named("zzz", &["foo.*", "bar.*"]));
    let msg = b"abc";
    for _ in 0..33 {
        for s in ["foo.foo", "foo.bar", "foo.baz"] {
            ms.store_msg(s, &[], msg, 0).unwrap();
        }
    }
    for _ in 0..33 {
        for s in ["bar.foo", "bar.bar", "bar.baz"] {
            ms.store_msg(s, &[], msg, 0).unwrap();
        }
    }
    let check = |filters: &[&str], max_seq: u64, expected: &[u64]| {
        let seqs = ms.multi_last_seqs(&strings(filters), max_seq, 0).unwrap();
        assert_eq!(seqs, expected, "{filters:?} up to {max_seq}");
    };
    // Up to sequence 3.
    check(&["foo.*"], 3, &[1, 2, 3]);
    // Up to the last sequence of the stream.
    check(&["foo.*"], 0, &[97, 98, 99]);
    check(&["bar.*"], 0, &[196, 197, 198]);
    // Nothing.
    check(&["bar.*"], 99, &[]);
    // Several subjects explicitly.
    check(&["foo.foo", "foo.bar", "foo.baz"], 3, &[1, 2, 3]);
    check(&["foo.foo", "foo.bar", "foo.baz"], 0, &[97, 98, 99]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    check(&["bar.foo", "bar.bar", "bar.baz"], 99, &[]);
    // A single one.
    check(&["foo.foo"], 3, &[1]);
    // De-duplicated between filters.
    check(&["foo.*", "foo.bar"], 3, &[1, 2, 3]);
    check(&["bar.>", "bar.bar", "bar.baz"], 0, &[196, 197, 198]);
    // All.
    check(&[">"], 0, &[97, 98, 99, 196, 197, 198]);
    check(&[">"], 99, &[97, 98, 99]);
}

port!("server/memstore_test.go::TestMemStoreMultiLastSeqsMaxAllowed" => mem_store_multi_last_seqs_max_allowed);
fn mem_store_multi_last_seqs_max_allowed() {
    let ms = new_mem(named("zzz", &["foo.*"]));
    for i in 1..=100 {
        ms.store_msg(&format!("foo.{i}"), &[], b"abc", 0).unwrap();
    }
    assert_eq!(
        ms.multi_last_seqs(&strings(&["foo.*"]), 0, 10),
        Err(StoreError::TooManyResults)
    );
}

port!("server/memstore_test.go::TestMemStorePurgeExWithDeletedMsgs" => mem_store_purge_ex_with_deleted_msgs);
fn mem_store_purge_ex_with_deleted_msgs() {
    let ms = new_mem(named("zzz", &["foo"]));
    for _ in 1..=10 {
        ms.store_msg("foo", &[], b"abc", 0).unwrap();
    }
    ms.remove_msg(2).unwrap();
    ms.remove_msg(9).unwrap(); // This was the bug.
    assert_eq!(ms.purge_ex("", 9, 0).unwrap(), 7);
    let state = ms.fast_state();
    assert_eq!(state.first_seq, 10);
    assert_eq!(state.last_seq, 10);
    assert_eq!(state.msgs, 1);
}

port!("server/memstore_test.go::TestMemStoreDeleteAllFirstSequenceCheck" => mem_store_delete_all_first_sequence_check);
fn mem_store_delete_all_first_sequence_check() {
    let ms = new_mem(named("zzz", &["foo"]));
    for _ in 1..=10 {
        ms.store_msg("foo", &[], b"abc", 0).unwrap();
    }
    for seq in 1..=10 {
        ms.remove_msg(seq).unwrap();
    }
    let state = ms.fast_state();
    assert_eq!(state.first_seq, 11);
    assert_eq!(state.last_seq, 10);
    assert_eq!(state.msgs, 0);
}

/// A random 22-character token (Go's nuid).
fn random_token(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| ALPHABET[rng.intn(ALPHABET.len())] as char)
        .collect()
}

port!("server/memstore_test.go::TestMemStoreNumPendingMulti" => mem_store_num_pending_multi);
fn mem_store_num_pending_multi() {
    let ms = new_mem(named("zzz", &["ev.*"]));
    let mut rng = Rng::new();
    let total_msgs = 100_000u64;
    let total_subjects = 10_000;
    let num_filtered = 5000;
    let start_seq = 5_000 + rng.intn(90_000) as u64;
    let subjects: Vec<String> = (0..total_subjects)
        .map(|_| format!("ev.{}", random_token(&mut rng)))
        .collect();
    let msg = b"ZZZ".repeat(333);
    for _ in 0..total_msgs {
        ms.store_msg(&subjects[rng.intn(total_subjects)], &[], &msg, 0)
            .unwrap();
    }
    let mut filters = SubjectFilters::new();
    let mut count = 0;
    while count < num_filtered {
        let f = &subjects[rng.intn(total_subjects)];
        if !filters.has_interest(f) {
            filters.insert(f);
            count += 1;
        }
    }
    let (total, _) = ms.num_pending_multi(start_seq, &filters, false).unwrap();
    let mut check_total = 0u64;
    for seq in start_seq..=total_msgs {
        let sm = ms.load_msg(seq).unwrap();
        if filters.has_interest(&sm.subject) {
            check_total += 1;
        }
    }
    assert_eq!(total, check_total);
}

port!("server/memstore_test.go::TestMemStoreNumPendingBug" => mem_store_num_pending_bug);
fn mem_store_num_pending_bug() {
    let ms = new_mem(named("zzz", &["foo.*"]));
    // 12 messages in all.
    for subj in ["foo.foo", "foo.bar", "foo.baz", "foo.zzz"] {
        ms.store_msg("foo.aaa", &[], &[], 0).unwrap();
        ms.store_msg(subj, &[], &[], 0).unwrap();
        ms.store_msg(subj, &[], &[], 0).unwrap();
    }
    let (total, _) = ms.num_pending(4, "foo.*", false).unwrap();
    let mut check_total = 0;
    for seq in 4..=12 {
        let sm = ms.load_msg(seq).unwrap();
        if subject_is_subset_match(&sm.subject, "foo.*") {
            check_total += 1;
        }
    }
    assert_eq!(total, check_total);
}

port!("server/memstore_test.go::TestMemStorePurgeLeaksDmap" => mem_store_purge_leaks_dmap);
fn mem_store_purge_leaks_dmap() {
    let ms = new_mem(named("TEST", &["foo"]));
    for _ in 0..10 {
        ms.store_msg("foo", &[], &[], 0).unwrap();
    }
    for seq in 2..=9 {
        ms.remove_msg(seq).unwrap();
    }
    assert_eq!(ms.dmap_size(), 8);
    assert_eq!(ms.purge().unwrap(), 2);
    assert_eq!(ms.dmap_size(), 0);
}

port!("server/memstore_test.go::TestMemStoreMessageTTL" => mem_store_message_ttl);
fn mem_store_message_ttl() {
    let clock = ManualClock::starting_now();
    let ms = MemStore::with_clock(
        StreamConfig {
            allow_msg_ttl: true,
            ..named("zzz", &["test"])
        },
        clock.clone(),
    )
    .unwrap();
    let ttl = 1; // One second.
    for _ in 1..=10 {
        ms.store_msg("test", &[], &[], ttl).unwrap();
    }
    let ss = ms.fast_state();
    assert_eq!(ss.first_seq, 1);
    assert_eq!(ss.last_seq, 10);
    assert_eq!(ss.msgs, 10);

    // The timer is due when the TTL runs out; two seconds later it has fired.
    assert_eq!(ms.next_expiration(), Some(clock.now_ns() + NANOS_PER_SEC));
    clock.advance(Duration::from_secs(2));
    ms.expire_msgs();

    let ss = ms.fast_state();
    assert_eq!(ss.first_seq, 11);
    assert_eq!(ss.last_seq, 10);
    assert_eq!(ss.msgs, 0);
}

port!("server/memstore_test.go::TestMemStoreSubjectDeleteMarkers" => mem_store_subject_delete_markers);
fn mem_store_subject_delete_markers() {
    let clock = ManualClock::starting_now();
    let ms = Arc::new(
        MemStore::with_clock(
            StreamConfig {
                max_age: Duration::from_secs(1),
                allow_msg_ttl: true,
                subject_delete_marker_ttl: Duration::from_secs(1),
                ..named("zzz", &["test"])
            },
            clock.clone(),
        )
        .unwrap(),
    );
    // Removal proposals are applied at once; marker proposals are captured.
    let weak = Arc::downgrade(&ms);
    ms.register_storage_remove_msg(Arc::new(move |seq| {
        let ms = weak.upgrade().unwrap();
        ms.remove_msg(seq).unwrap();
    }));
    let (tx, rx) = mpsc::sync_channel::<InMsg>(1);
    ms.register_process_jetstream_msg(Arc::new(move |im| {
        let _ = tx.try_send(im);
    }));

    // Three messages that expire by max age.
    for _ in 0..3 {
        ms.store_msg("test", &[], &[], 0).unwrap();
    }
    clock.advance(Duration::from_millis(1500));
    ms.expire_msgs();

    let im = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a subject delete marker");
    assert_eq!(
        get_header(&im.hdr, JS_MARKER_REASON),
        JS_MARKER_REASON_MAX_AGE.as_bytes()
    );
    assert_eq!(get_header(&im.hdr, JS_MESSAGE_TTL), b"1s");
}

port!("server/memstore_test.go::TestMemStoreAllLastSeqs" => mem_store_all_last_seqs);
fn mem_store_all_last_seqs() {
    let ms = new_mem(StreamConfig {
        max_msgs_per_subject: 50,
        ..named("zzz", &["*.*"])
    });
    let subjs = [
        "foo.foo", "foo.bar", "foo.baz", "bar.foo", "bar.bar", "bar.baz",
    ];
    let mut rng = Rng::new();
    for _ in 0..100_000 {
        ms.store_msg(subjs[rng.intn(subjs.len())], &[], b"abc", 0)
            .unwrap();
    }
    let mut expected: Vec<u64> = subjs
        .iter()
        .map(|s| ms.load_last_msg(s).unwrap().seq)
        .collect();
    expected.sort_unstable();
    assert_eq!(ms.all_last_seqs().unwrap(), expected);
}

port!("server/memstore_test.go::TestMemStoreUpdateConfigTTLState" => mem_store_update_config_ttl_state);
fn mem_store_update_config_ttl_state() {
    let mut cfg = named("zzz", &[">"]);
    let ms = new_mem(cfg.clone());
    assert!(!ms.has_ttl_index());
    cfg.allow_msg_ttl = true;
    ms.update_config(&mut cfg).unwrap();
    assert!(ms.has_ttl_index());
    cfg.allow_msg_ttl = false;
    ms.update_config(&mut cfg).unwrap();
    assert!(!ms.has_ttl_index());
}

port!("server/memstore_test.go::TestMemStoreSubjectForSeq" => mem_store_subject_for_seq);
fn mem_store_subject_for_seq() {
    let ms = new_mem(named("foo", &["foo.>"]));
    assert_eq!(ms.store_msg("foo.bar", &[], &[], 0).unwrap().0, 1);
    assert_eq!(ms.subject_for_seq(0), Err(StoreError::MsgNotFound));
    assert_eq!(ms.subject_for_seq(1).unwrap(), "foo.bar");
    assert_eq!(ms.subject_for_seq(2), Err(StoreError::MsgNotFound));
}

fn store_n(ms: &MemStore, subj: &str, n: usize) {
    for _ in 0..n {
        ms.store_msg(subj, &[], b"msg", 0).unwrap();
    }
}

port!("server/memstore_test.go::TestMemStoreNextWildcardMatch" => mem_store_next_wildcard_match);
fn mem_store_next_wildcard_match() {
    let ms = new_mem(named("zzz", &["foo.>"]));
    store_n(&ms, "foo.bar.a", 1);
    store_n(&ms, "foo.baz.bar", 10);
    store_n(&ms, "foo.bar.b", 1);
    store_n(&ms, "foo.baz.bar", 10);
    store_n(&ms, "foo.baz.bar.no.match", 10);

    assert_eq!(ms.next_wildcard_match("foo.bar.*", 0), (1, 12, true));
    assert_eq!(ms.next_wildcard_match("foo.bar.*", 1), (1, 12, true));
    assert_eq!(ms.next_wildcard_match("foo.bar.*", 2), (12, 12, true));
    assert!(!ms.next_wildcard_match("foo.bar.*", 13).2);
    assert_eq!(ms.next_wildcard_match("foo.baz.*", 1), (2, 22, true));
    assert_eq!(ms.next_wildcard_match("foo.baz.*", 11), (11, 22, true));
    assert_eq!(ms.next_wildcard_match("foo.baz.*", 12), (12, 22, true));
    assert_eq!(ms.next_wildcard_match("foo.baz.*", 22), (22, 22, true));
    assert_eq!(ms.next_wildcard_match("foo.baz.*", 23), (0, 0, false));
    assert_eq!(ms.next_wildcard_match("foo.nope.*", 1), (0, 0, false));
    assert_eq!(ms.next_wildcard_match("foo.>", 1), (1, 32, true));
}

port!("server/memstore_test.go::TestMemStoreNextLiteralMatch" => mem_store_next_literal_match);
fn mem_store_next_literal_match() {
    let ms = new_mem(named("zzz", &["foo.>"]));
    store_n(&ms, "foo.bar.a", 1); // seq 1
    store_n(&ms, "foo.baz.bar", 10); // seqs 2-11
    store_n(&ms, "foo.bar.b", 1); // seq 12
    store_n(&ms, "foo.baz.bar", 10); // seqs 13-22
    store_n(&ms, "foo.baz.bar.no.match", 10); // seqs 23-32

    assert_eq!(ms.next_literal_match("foo.bar.a", 0), (1, 1, true));
    assert!(!ms.next_literal_match("foo.bar.a", 2).2);
    assert_eq!(ms.next_literal_match("foo.baz.bar", 1), (2, 22, true));
    assert_eq!(ms.next_literal_match("foo.baz.bar", 11), (11, 22, true));
    assert_eq!(ms.next_literal_match("foo.baz.bar", 22), (22, 22, true));
    assert_eq!(ms.next_literal_match("foo.baz.bar", 23), (0, 0, false));
    assert_eq!(ms.next_literal_match("foo.nope", 1), (0, 0, false));
}

port!("server/memstore_test.go::TestMemStoreMultiLastSeqsDoesNotUseStaleLastValue" => mem_store_multi_last_seqs_does_not_use_stale_last_value);
fn mem_store_multi_last_seqs_does_not_use_stale_last_value() {
    let ms = new_mem(named("zzz", &["foo", "bar", "baz"]));
    let subjects = [
        "foo", "bar", "foo", " baz", "foo", "foo", "bar", "foo", "bar", "baz",
    ];
    for s in subjects {
        ms.store_msg(s, &[], &[], 0).unwrap();
    }
    // The last of `foo` is 8.
    let seqs = ms.multi_last_seqs(&strings(&["foo", "bar"]), 0, 0).unwrap();
    assert_eq!(seqs.len(), 2);
    assert_eq!(seqs[0], 8);
    // Remove it: the last of `foo` becomes 6.
    assert!(ms.remove_msg(8).unwrap());
    let seqs = ms.multi_last_seqs(&strings(&["foo", "bar"]), 0, 0).unwrap();
    assert_eq!(seqs.len(), 2);
    assert_eq!(seqs[0], 6);
}

port!("server/memstore_test.go::TestMemStoreMultiLastSeqsDoesNotReorderConfigSubjects" => mem_store_multi_last_seqs_does_not_reorder_config_subjects);
fn mem_store_multi_last_seqs_does_not_reorder_config_subjects() {
    let ms = new_mem(named("zzz", &["orders.*", "billing.*"]));
    ms.store_msg("orders.1", &[], b"x", 0).unwrap();
    ms.store_msg("billing.1", &[], b"x", 0).unwrap();
    // As many filters as subjects: the "filter is all" path.
    ms.multi_last_seqs(&strings(&["orders.*", "billing.*"]), 0, 0)
        .unwrap();
    // The configured subjects keep their order.
    let cfg = ms.config();
    assert_eq!(cfg.subjects[0], "orders.*");
    assert_eq!(cfg.subjects[1], "billing.*");
}

/// A memory store with message schedules whose scheduled messages are captured.
fn schedule_store(clock: &Arc<ManualClock>) -> (MemStore, mpsc::Receiver<InMsg>) {
    let ms = MemStore::with_clock(
        StreamConfig {
            allow_msg_schedules: true,
            ..named("TEST", &["foo.*"])
        },
        clock.clone(),
    )
    .unwrap();
    let (tx, rx) = mpsc::sync_channel::<InMsg>(1);
    ms.register_process_jetstream_msg(Arc::new(move |im| {
        let _ = tx.try_send(im);
    }));
    (ms, rx)
}

port!("server/memstore_test.go::TestMemStoreMessageSchedule" => mem_store_message_schedule);
fn mem_store_message_schedule() {
    let clock = ManualClock::starting_now();
    let (ms, rx) = schedule_store(&clock);
    // A single schedule, a second from now.
    let at = clock.now_ns() + NANOS_PER_SEC;
    let schedule = format_rfc3339_nano(at);
    let hdr = gen_header(&[], JS_SCHEDULE_PATTERN, &format!("@at {schedule}"));
    let hdr = gen_header(&hdr, JS_SCHEDULE_TARGET, "foo.target");
    ms.store_msg("foo.schedule", &hdr, &[], 0).unwrap();

    // The schedule's timer is due then; when it fires, the message is published.
    assert_eq!(ms.next_msg_schedule(), Some(at));
    clock.advance(Duration::from_secs(1));
    ms.run_msg_scheduling();
    let im = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a scheduled message");
    assert_eq!(im.subject, "foo.target");
    assert_eq!(get_header(&im.hdr, JS_SCHEDULER), b"foo.schedule");
    assert_eq!(
        get_header(&im.hdr, JS_SCHEDULE_NEXT),
        JS_SCHEDULE_NEXT_PURGE.as_bytes()
    );
}

port!("server/memstore_test.go::TestMemStoreMessageScheduleEverySubSecondPrecision" => mem_store_message_schedule_every_sub_second_precision);
fn mem_store_message_schedule_every_sub_second_precision() {
    let clock = ManualClock::starting_now();
    let (ms, rx) = schedule_store(&clock);
    // A repeating schedule with a sub-second remainder.
    let hdr = gen_header(&[], JS_SCHEDULE_PATTERN, "@every 1500ms");
    let hdr = gen_header(&hdr, JS_SCHEDULE_TARGET, "foo.target");
    let (_, ts) = ms.store_msg("foo.schedule", &hdr, &[], 0).unwrap();

    // Each fire time is the previous one rounded to the second (halves up) plus the
    // interval: first round(store time) + 1.5 s, then round(first) + 1.5 s.
    let interval = 1_500_000_000i64;
    let round = |ns: i64| (ns + NANOS_PER_SEC / 2).div_euclid(NANOS_PER_SEC) * NANOS_PER_SEC;
    let first = round(ts) + interval;
    let expected = round(first) + interval;
    assert_eq!(ms.next_msg_schedule(), Some(first));
    clock.set(first);
    ms.run_msg_scheduling();
    let im = rx
        .recv_timeout(Duration::from_secs(3))
        .expect("a scheduled message");
    assert_eq!(im.subject, "foo.target");
    assert_eq!(get_header(&im.hdr, JS_SCHEDULER), b"foo.schedule");
    // The re-arm header keeps the sub-second part through RFC 3339 with nanoseconds.
    let next = std::str::from_utf8(get_header(&im.hdr, JS_SCHEDULE_NEXT)).unwrap();
    assert_eq!(parse_rfc3339(next), Some(expected), "next {next}");
}
