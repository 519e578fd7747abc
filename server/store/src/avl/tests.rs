// Unit tests fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use super::*;

fn sample() -> SequenceSet {
    [2u64, 4, 22, 222, 2000, 2047, 2048, 4096, 100_000, 1_000_000]
        .into_iter()
        .collect()
}

#[test]
fn iter_matches_range_in_ascending_order() {
    let ss = sample();
    let mut ranged = Vec::new();
    ss.range(|s| {
        ranged.push(s);
        true
    });
    let iterated: Vec<u64> = ss.iter().collect();
    assert_eq!(ranged, iterated);
    assert_eq!(
        iterated,
        vec![2, 4, 22, 222, 2000, 2047, 2048, 4096, 100_000, 1_000_000]
    );
    assert_eq!(SequenceSet::new().iter().next(), None);
}

#[test]
fn encode_decode_round_trip_keeps_shape_and_contents() {
    let mut ss = SequenceSet::new();
    for i in (0..50 * NUM_ENTRIES).step_by(7) {
        ss.insert(i);
    }
    let enc = ss.encode();
    assert_eq!(enc.len(), ss.encode_len());
    let (back, used) = decode(&enc).unwrap();
    assert_eq!(used, enc.len());
    assert_eq!(back.nodes(), ss.nodes());
    assert_eq!(back.size(), ss.size());
    assert_eq!(back.heights(), ss.heights());
    assert!(back.is_balanced());
    assert_eq!(back, ss);
    // Trailing bytes are left for the caller.
    let mut longer = enc.clone();
    longer.extend_from_slice(b"tail");
    assert_eq!(decode(&longer).unwrap().1, enc.len());
}

#[test]
fn decode_rejects_damage() {
    let ss = sample();
    let enc = ss.encode();
    assert_eq!(decode(&enc[..5]).unwrap_err(), SeqSetError::BadEncoding);
    let mut bad = enc.clone();
    bad[0] = 23;
    assert_eq!(decode(&bad).unwrap_err(), SeqSetError::BadEncoding);
    bad = enc.clone();
    bad[1] = 3;
    assert_eq!(decode(&bad).unwrap_err(), SeqSetError::BadVersion);
    // A truncated body.
    assert_eq!(
        decode(&enc[..enc.len() - 1]).unwrap_err(),
        SeqSetError::BadEncoding
    );
    // A flipped bit in a bucket no longer matches the sequence count.
    bad = enc.clone();
    bad[MIN_LEN_FOR_TESTS + 8] ^= 0x40;
    assert_eq!(decode(&bad).unwrap_err(), SeqSetError::BadEncoding);
}

const MIN_LEN_FOR_TESTS: usize = 10;

#[test]
fn decode_rejects_a_degenerate_deep_tree() {
    // Nodes in ascending order without rebalancing would form a list 1,000 deep.
    let count = 1_000u32;
    let mut buf = vec![22u8, 2];
    buf.extend_from_slice(&count.to_le_bytes());
    buf.extend_from_slice(&count.to_le_bytes());
    for i in 0..u64::from(count) {
        buf.extend_from_slice(&(i * NUM_ENTRIES).to_le_bytes());
        buf.extend_from_slice(&1u64.to_le_bytes());
        buf.extend_from_slice(&[0u8; 31 * 8]);
        buf.extend_from_slice(&1u16.to_le_bytes());
    }
    assert_eq!(decode(&buf).unwrap_err(), SeqSetError::BadEncoding);
}

#[test]
fn bases_near_the_top_of_the_range_do_not_overflow() {
    let mut ss = SequenceSet::new();
    ss.set_initial_min(u64::MAX - 10).unwrap();
    ss.insert(u64::MAX);
    ss.insert(u64::MAX - 10);
    ss.insert(5);
    assert!(ss.exists(u64::MAX));
    assert!(ss.exists(5));
    assert_eq!(ss.min_max(), (5, u64::MAX));
    assert!(ss.delete(u64::MAX));
    assert!(!ss.exists(u64::MAX));
}

#[test]
fn set_initial_min_needs_an_empty_set() {
    let mut ss = sample();
    assert_eq!(ss.set_initial_min(3), Err(SeqSetError::SetNotEmpty));
    assert_eq!(ss.state(), (2, 1_000_000, 10));
}

#[test]
fn union_of_nothing_is_none_and_picks_all_members() {
    assert!(union(&[]).is_none());
    let a: SequenceSet = [1u64, 2, 3].into_iter().collect();
    let b: SequenceSet = [3u64, 5000].into_iter().collect();
    let u = union(&[&b, &a]).unwrap();
    assert_eq!(u.iter().collect::<Vec<_>>(), vec![1, 2, 3, 5000]);
}

#[test]
fn tree_stays_shallow_under_random_inserts_and_whole_node_deletes() {
    // Deletes that empty nodes are where the tree shape changes on removal; the height
    // must stay logarithmic so that decoding's depth limit never refuses a real set.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut ss = SequenceSet::new();
    let mut max_height = 0;
    for round in 0..20_000 {
        let node = rand(4_000);
        if round % 3 == 0 {
            for s in node * NUM_ENTRIES..node * NUM_ENTRIES + 4 {
                ss.delete(s);
            }
        } else {
            // Few sequences per node, so emptying one is cheap.
            ss.insert(node * NUM_ENTRIES + rand(4));
        }
        let (l, r) = ss.heights();
        max_height = max_height.max(l.max(r) + 1);
    }
    assert!(ss.nodes() > 1_000);
    // An AVL tree of n nodes is at most 1.44 log2(n) high; allow twice log2(n).
    let log2_nodes = 64 - (ss.nodes() as u64).leading_zeros() as usize;
    assert!(
        max_height <= 2 * log2_nodes,
        "height {max_height} for {} nodes",
        ss.nodes()
    );
    let (back, _) = decode(&ss.encode()).unwrap();
    assert_eq!(back, ss);
}

#[test]
fn decode_rejects_nodes_out_of_tree_order() {
    // Three nodes: the root holds the middle range, its children the low and high ones.
    let mut ss = SequenceSet::new();
    for seq in [5_000, 100, 10_000] {
        ss.insert(seq);
    }
    assert_eq!(ss.nodes(), 3);
    let good = ss.encode();
    assert_eq!(decode(&good).unwrap().0, ss);

    // Swap the two children: the low node now follows the high one, out of place.
    let node_len = (good.len() - 10) / 3;
    let mut bad = good.clone();
    let (second, third) = (10 + node_len, 10 + 2 * node_len);
    bad[second..third].copy_from_slice(&good[third..]);
    bad[third..].copy_from_slice(&good[second..third]);
    assert_eq!(decode(&bad).unwrap_err(), SeqSetError::BadEncoding);
}

#[test]
fn emptied_nodes_are_reused_and_a_mostly_vacant_arena_is_compacted() {
    let mut ss = SequenceSet::new();
    for node in 0..1_000u64 {
        ss.insert(node * NUM_ENTRIES);
    }
    let full = ss.heap_size();
    // Emptying a node frees its slot for the next new node: no new slot (the list of
    // vacant slots takes a few bytes).
    assert!(ss.delete(0));
    ss.insert(5_000 * NUM_ENTRIES);
    assert!(
        ss.heap_size() - full < 64,
        "{} after {full}",
        ss.heap_size()
    );
    // Emptying most nodes shrinks the arena to what is left, contents and shape intact.
    for node in 1..900u64 {
        assert!(ss.delete(node * NUM_ENTRIES));
    }
    assert_eq!(ss.nodes(), 101);
    assert!(ss.heap_size() < full / 4, "{} of {full}", ss.heap_size());
    assert!(ss.is_balanced());
    let left: Vec<u64> = ss.iter().collect();
    let expected: Vec<u64> = (900..1_000u64)
        .chain([5_000])
        .map(|n| n * NUM_ENTRIES)
        .collect();
    assert_eq!(left, expected);
    // Still a working tree after the move.
    ss.insert(1);
    assert!(ss.exists(1) && ss.exists(950 * NUM_ENTRIES));
    assert_eq!(decode(&ss.encode()).unwrap().0, ss);
}
