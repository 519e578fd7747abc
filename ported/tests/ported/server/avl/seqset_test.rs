//! Ports of `server/avl/seqset_test.go`.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use super::Rng;
use base64::Engine;
use natsd_store::avl::{self, SeqSetError, SequenceSet, NUM_ENTRIES};
use ported::port;
use std::collections::HashSet;

/// Go's `0..n` shuffled with `rand.Shuffle`.
fn shuffled(n: u64, rng: &mut Rng) -> Vec<u64> {
    let mut nums: Vec<u64> = (0..n).collect();
    rng.shuffle(&mut nums);
    nums
}

fn collect_range(ss: &SequenceSet, mut keep_going: impl FnMut(u64) -> bool) -> Vec<u64> {
    let mut got = Vec::new();
    ss.range(|n| {
        if !keep_going(n) {
            return false;
        }
        got.push(n);
        true
    });
    got
}

port!("server/avl/seqset_test.go::TestSeqSetBasics" => seq_set_basics);
fn seq_set_basics() {
    let mut ss = SequenceSet::new();
    let seqs = [22u64, 222, 2000, 2, 2, 4];
    for seq in seqs {
        ss.insert(seq);
        assert!(ss.exists(seq));
    }
    assert_eq!(ss.nodes(), 1);
    assert_eq!(ss.size(), seqs.len() - 1); // One duplicate.
    assert_eq!(ss.heights(), (0, 0));
}

port!("server/avl/seqset_test.go::TestSeqSetLeftLean" => seq_set_left_lean);
fn seq_set_left_lean() {
    let mut ss = SequenceSet::new();
    for i in (1..=4 * NUM_ENTRIES).rev() {
        ss.insert(i);
    }
    assert_eq!(ss.nodes(), 5);
    assert_eq!(ss.size() as u64, 4 * NUM_ENTRIES);
    assert_eq!(ss.heights(), (2, 1));
}

port!("server/avl/seqset_test.go::TestSeqSetRightLean" => seq_set_right_lean);
fn seq_set_right_lean() {
    let mut ss = SequenceSet::new();
    for i in 0..4 * NUM_ENTRIES {
        ss.insert(i);
    }
    assert_eq!(ss.nodes(), 4);
    assert_eq!(ss.size() as u64, 4 * NUM_ENTRIES);
    assert_eq!(ss.heights(), (1, 2));
}

port!("server/avl/seqset_test.go::TestSeqSetCorrectness" => seq_set_correctness);
fn seq_set_correctness() {
    // 100k sequences across a 500k range.
    let (num, max) = (100_000, 500_000u64);
    let mut rng = Rng::from_clock();
    let mut set = HashSet::with_capacity(num);
    let mut ss = SequenceSet::new();
    for _ in 0..num {
        let n = rng.below(max + 1);
        ss.insert(n);
        set.insert(n);
    }
    for i in 0..=max {
        assert_eq!(
            ss.exists(i),
            set.contains(&i),
            "seq {i}, seed {}",
            rng.seed()
        );
    }
}

port!("server/avl/seqset_test.go::TestSeqSetRange" => seq_set_range);
fn seq_set_range() {
    let num = 2 * NUM_ENTRIES + 22;
    let mut rng = Rng::from_clock();
    let mut ss = SequenceSet::new();
    for n in shuffled(num, &mut rng) {
        ss.insert(n);
    }

    let nums = collect_range(&ss, |_| true);
    assert_eq!(nums, (0..num).collect::<Vec<_>>());

    // Stopping the range early.
    let nums = collect_range(&ss, |n| n < 10);
    assert_eq!(nums, (0..10).collect::<Vec<_>>());
}

port!("server/avl/seqset_test.go::TestSeqSetDelete" => seq_set_delete);
fn seq_set_delete() {
    let mut ss = SequenceSet::new();
    // A single node.
    let seqs = [22u64, 222, 2222, 2, 2, 4];
    for seq in seqs {
        ss.insert(seq);
    }
    for seq in seqs {
        ss.delete(seq);
        assert!(!ss.exists(seq));
    }
    // Go checks `ss.root == nil`.
    assert!(ss.is_empty());
    assert_eq!(ss.root_base(), None);
}

port!("server/avl/seqset_test.go::TestSeqSetInsertAndDeletePedantic" => seq_set_insert_and_delete_pedantic);
fn seq_set_insert_and_delete_pedantic() {
    let num = 50 * NUM_ENTRIES + 22;
    let mut rng = Rng::from_clock();
    let nums = shuffled(num, &mut rng);
    let mut ss = SequenceSet::new();

    // Every node's height is consistent and the root is balanced, after every change.
    for &n in &nums {
        ss.insert(n);
        assert!(
            ss.is_balanced(),
            "unbalanced after insert of {n}, seed {}",
            rng.seed()
        );
    }
    assert!(!ss.is_empty());

    for &n in &nums {
        ss.delete(n);
        assert!(
            ss.is_balanced(),
            "unbalanced after delete of {n}, seed {}",
            rng.seed()
        );
        assert!(!ss.exists(n));
        if ss.size() > 0 {
            assert!(!ss.is_empty());
        }
    }
    assert!(ss.is_empty());
}

port!("server/avl/seqset_test.go::TestSeqSetMinMax" => seq_set_min_max);
fn seq_set_min_max() {
    let mut ss = SequenceSet::new();
    // A single node.
    for seq in [22u64, 222, 2222, 2, 2, 4] {
        ss.insert(seq);
    }
    assert_eq!(ss.min_max(), (2, 2222));

    // Many nodes.
    ss.empty();
    let num = 22 * NUM_ENTRIES + 22;
    let mut rng = Rng::from_clock();
    for n in shuffled(num, &mut rng) {
        ss.insert(n);
    }
    assert_eq!(ss.min_max(), (0, num - 1));
}

port!("server/avl/seqset_test.go::TestSeqSetClone" => seq_set_clone);
fn seq_set_clone() {
    let (num, max) = (100_000, 500_000u64);
    let mut rng = Rng::from_clock();
    let mut ss = SequenceSet::new();
    for _ in 0..num {
        ss.insert(rng.below(max + 1));
    }
    let ssc = ss.clone();
    assert_eq!(ss.size(), ssc.size());
    assert_eq!(ss.nodes(), ssc.nodes());
}

port!("server/avl/seqset_test.go::TestSeqSetEqual" => seq_set_equal);
fn seq_set_equal() {
    let (mut ss1, mut ss2, mut ss3) = (SequenceSet::new(), SequenceSet::new(), SequenceSet::new());

    // Empty sets are equal. Rust has no nil set: Go's nil set behaves as an empty one,
    // which is what a fresh `SequenceSet` is.
    let nil_set = SequenceSet::new();
    assert!(ss1 == ss2);
    assert!(ss1 == nil_set);
    assert!(nil_set == ss1);

    // Same first, last and size but different contents.
    for seq in [1u64, 3, 5] {
        ss1.insert(seq);
    }
    for seq in [1u64, 4, 5] {
        ss2.insert(seq);
    }
    assert!(ss1 != ss2);
    assert!(ss2 != ss1);
    assert!(ss1 != nil_set);
    assert!(nil_set != ss1);

    // Same contents; insertion order does not matter.
    for seq in [5u64, 1, 3] {
        ss3.insert(seq);
    }
    assert!(ss1 == ss3);
    assert!(ss3 == ss1);

    // Different sizes.
    ss3.insert(7);
    assert!(ss1 != ss3);
}

port!("server/avl/seqset_test.go::TestSeqSetUnion" => seq_set_union);
fn seq_set_union() {
    let (mut ss1, mut ss2) = (SequenceSet::new(), SequenceSet::new());
    let seqs1 = [22u64, 222, 2222, 2, 2, 4];
    for seq in seqs1 {
        ss1.insert(seq);
    }
    let seqs2 = [33u64, 333, 3333, 3, 33_333, 333_333];
    for seq in seqs2 {
        ss2.insert(seq);
    }
    let ss = avl::union(&[&ss1, &ss2]).unwrap();
    assert_eq!(ss.size(), 11);
    for n in seqs1.iter().chain(&seqs2) {
        assert!(ss.exists(*n));
    }
}

port!("server/avl/seqset_test.go::TestSeqSetFirst" => seq_set_first);
fn seq_set_first() {
    let mut ss = SequenceSet::new();
    for seq in [22u64, 222, 2222, 222_222] {
        // Normally the first node is based at the aligned value below.
        ss.insert(seq);
        assert_eq!(ss.root_base(), Some((seq / NUM_ENTRIES) * NUM_ENTRIES));
        ss.empty();
        // With a known minimum it is based there.
        ss.set_initial_min(seq).unwrap();
        ss.insert(seq);
        assert_eq!(ss.root_base(), Some(seq));
        ss.empty();
    }
}

port!("server/avl/seqset_test.go::TestSeqSetDistinctUnion" => seq_set_distinct_union);
fn seq_set_distinct_union() {
    // Union node by node of disjoint sets.
    let mut ss1 = SequenceSet::new();
    let seqs1 = [1u64, 10, 100, 200];
    for seq in seqs1 {
        ss1.insert(seq);
    }
    let mut ss2 = SequenceSet::new();
    let seqs2 = [5000u64, 6100, 6200, 6222];
    for seq in seqs2 {
        ss2.insert(seq);
    }
    let mut ss = ss1.clone();
    let all: Vec<u64> = seqs1.iter().chain(&seqs2).copied().collect();
    ss.union_with(&[&ss2]);
    assert_eq!(ss.size(), all.len());
    for seq in all {
        assert!(ss.exists(seq));
    }
}

/// A version 1 encoding (64 buckets per node) written by an older Go server.
const V1_ENCODING: &str = "FgEDAAAABQAAAABgAwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAADgIQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAA==";

port!("server/avl/seqset_test.go::TestSeqSetDecodeV1" => seq_set_decode_v1);
fn seq_set_decode_v1() {
    let seqs = [22u64, 222, 2222, 222_222, 2_222_222];
    let enc = base64::engine::general_purpose::STANDARD
        .decode(V1_ENCODING)
        .unwrap();
    let (ss, _) = avl::decode(&enc).unwrap();
    assert_eq!(ss.size(), seqs.len());
    for seq in seqs {
        assert!(ss.exists(seq));
    }
}

port!("server/avl/seqset_test.go::TestSeqSetDecodeNodeCountOverflow" => seq_set_decode_node_count_overflow);
fn seq_set_decode_node_count_overflow() {
    // A node count read from a peer's bytes must be checked against the bytes present,
    // for both versions, without the check itself overflowing.
    const MIN_LEN: usize = 10;
    for ver in [1u8, 2] {
        let mut buf = vec![0u8; MIN_LEN];
        buf[0] = 22;
        buf[1] = ver;
        buf[2..6].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        assert_eq!(
            avl::decode(&buf).err(),
            Some(SeqSetError::BadEncoding),
            "v{ver} oversized count"
        );
        buf[2..6].copy_from_slice(&0x0080_0000u32.to_le_bytes());
        assert_eq!(
            avl::decode(&buf).err(),
            Some(SeqSetError::BadEncoding),
            "v{ver} overflowing count"
        );
    }

    // A well-formed single-node v2 buffer still decodes.
    let mut valid = vec![0u8; MIN_LEN + (32 + 1) * 8 + 2];
    valid[0] = 22;
    valid[1] = 2;
    valid[2..6].copy_from_slice(&1u32.to_le_bytes());
    assert!(avl::decode(&valid).is_ok());
}

port!("server/avl/seqset_test.go::TestSeqSetInsertExistingNodeFastPath" => seq_set_insert_existing_node_fast_path);
fn seq_set_insert_existing_node_fast_path() {
    let mut ss = SequenceSet::new();
    // Several nodes holding only even sequences.
    for i in (0..8 * NUM_ENTRIES).step_by(2) {
        ss.insert(i);
    }
    let (nodes, size) = (ss.nodes(), ss.size());

    // Filling in existing nodes keeps the tree structure.
    for i in (1..8 * NUM_ENTRIES).step_by(2) {
        ss.insert(i);
        assert!(ss.exists(i));
    }
    assert_eq!(ss.nodes(), nodes);
    assert_eq!(ss.size() as u64, size as u64 + 4 * NUM_ENTRIES);

    // Duplicates do not change the size.
    for i in 0..8 * NUM_ENTRIES {
        ss.insert(i);
    }
    assert_eq!(ss.size() as u64, 8 * NUM_ENTRIES);

    // Heights and balance still hold.
    assert!(ss.is_balanced());
}

port!("server/avl/seqset_test.go::TestSeqSetInsertUnalignedBase" => seq_set_insert_unaligned_base);
fn seq_set_insert_unaligned_base() {
    let mut ss = SequenceSet::new();
    // set_initial_min makes a node whose base is not a multiple of NUM_ENTRIES.
    ss.set_initial_min(1000).unwrap();
    for seq in [1000, 1001, 1000 + NUM_ENTRIES - 1] {
        ss.insert(seq);
        assert!(ss.exists(seq));
    }
    assert_eq!(ss.nodes(), 1);
    assert_eq!(ss.size(), 3);

    // Past the node's range a new node is made.
    ss.insert(1000 + NUM_ENTRIES);
    assert!(ss.exists(1000 + NUM_ENTRIES));
    assert_eq!(ss.nodes(), 2);
    assert_eq!(ss.size(), 4);
}

port!("server/avl/seqset_test.go::TestSeqSetDeleteNotPresent" => seq_set_delete_not_present);
fn seq_set_delete_not_present() {
    let mut ss = SequenceSet::new();
    let seqs = [22u64, 222, 2222, 222_222];
    for seq in seqs {
        ss.insert(seq);
    }
    let (nodes, size) = (ss.nodes(), ss.size());

    // Deleting absent sequences, inside and outside node ranges, changes nothing.
    for seq in [0u64, 23, 2223, 5000, 100_000, 999_999] {
        assert!(!ss.delete(seq));
    }
    assert_eq!(ss.nodes(), nodes);
    assert_eq!(ss.size(), size);
    for seq in seqs {
        assert!(ss.exists(seq));
    }

    // Real deletes work and empty the set.
    for seq in seqs {
        assert!(ss.delete(seq));
    }
    assert!(ss.is_empty());
}

port!("server/avl/seqset_test.go::TestSeqSetRangeSparse" => seq_set_range_sparse);
fn seq_set_range_sparse() {
    // Bucket and node boundaries and large gaps.
    let seqs = [
        0u64, 1, 63, 64, 127, 128, 2047, 2048, 4095, 4096, 100_000, 1_000_000,
    ];
    let mut ss = SequenceSet::new();
    for seq in seqs {
        ss.insert(seq);
    }
    assert_eq!(collect_range(&ss, |_| true), seqs);

    // Stopping in the middle of a bucket stops at once.
    let mut got = Vec::new();
    ss.range(|n| {
        got.push(n);
        n != 64
    });
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], 64);
}
