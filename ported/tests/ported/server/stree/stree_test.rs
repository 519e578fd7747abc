//! Ports of `server/stree/stree_test.go`.
//!
//! Go's tests read the node structs directly; these read the same facts through the
//! (doc-hidden) node API of `natsd_store::stree`. Go's nil `*SubjectTree` has no Rust
//! counterpart: a tree that was never filled (`SubjectTree::default()`, which allocates
//! nothing) stands in for it.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::gsl::GenericSublist;
use natsd_store::stree::node::Node;
use natsd_store::stree::parts::{gen_parts, match_parts, Parts};
use natsd_store::stree::{intersect_gsl, lazy_intersect, SubjectInterest, SubjectTree, NO_PIVOT};
use ported::port;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// Small deterministic generator standing in for Go's `math/rand` and `crypto/rand`.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Like Go's `rand.Intn(n)`.
    fn intn(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Go's `match` helper: the number of callbacks for `filter`.
#[track_caller]
fn require_matches(st: &SubjectTree<i32>, filter: &str, expected: usize) {
    let mut matches = 0;
    st.for_each_match(filter.as_bytes(), |_, _| matches += 1);
    assert_eq!(matches, expected, "matches for {filter:?}");
}

/// `(kind, path, children)` of a node, for comparing shapes.
fn shape<T>(n: Option<&Node<T>>) -> Option<(&'static str, String, u16)> {
    n.map(|n| {
        (
            n.kind(),
            String::from_utf8_lossy(n.path()).into_owned(),
            n.num_children(),
        )
    })
}

fn root_kind<T>(st: &SubjectTree<T>) -> Option<&'static str> {
    st.root().map(Node::kind)
}

/// The value of a leaf node.
#[track_caller]
fn leaf_value<T: Copy>(n: Option<&Node<T>>) -> T {
    *n.expect("node present").as_leaf().expect("a leaf").value()
}

/// The panic message of `f`, or `None` if it did not panic.
fn panic_message(f: impl FnOnce()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(f)).err()?;
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .or(Some(String::new()))
}

fn leaf(suffix: &[u8], value: i32) -> Node<i32> {
    Node::new_leaf(suffix, value)
}

fn count_children(n: &Node<i32>, stop_after: Option<usize>) -> usize {
    let mut count = 0;
    n.iter(|_| {
        count += 1;
        stop_after.is_none_or(|stop| count < stop)
    });
    count
}

port!("server/stree/stree_test.go::TestSubjectTreeBasics" => subject_tree_basics);
fn subject_tree_basics() {
    let mut st = SubjectTree::new();
    assert_eq!(st.len(), 0);
    // Single leaf.
    assert_eq!(st.insert(b"foo.bar.baz", 22), None);
    assert_eq!(st.len(), 1);
    // Find is literal: a wildcard does not match.
    assert_eq!(st.find(b"foo.bar.*"), None);
    assert_eq!(st.find(b"foo.bar.baz"), Some(&22));
    // Update the single leaf.
    assert_eq!(st.insert(b"foo.bar.baz", 33), Some(22));
    assert_eq!(st.len(), 1);
    // Split the tree.
    assert_eq!(st.insert(b"foo.bar", 22), None);
    assert_eq!(st.len(), 2);
    // Now a node4 with two leaves.
    assert_eq!(root_kind(&st), Some("NODE4"));
    assert_eq!(st.find(b"foo.bar"), Some(&22));
    assert_eq!(st.find(b"foo.bar.baz"), Some(&33));
}

port!("server/stree/stree_test.go::TestSubjectTreeNodeGrow" => subject_tree_node_grow);
fn subject_tree_node_grow() {
    let mut st = SubjectTree::new();
    let subject = |i: u8| format!("foo.bar.{}", char::from(b'A' + i));
    for i in 0..4 {
        assert_eq!(st.insert(subject(i).as_bytes(), 22), None);
    }
    // A full node4.
    assert_eq!(root_kind(&st), Some("NODE4"));
    assert_eq!(st.insert(b"foo.bar.E", 22), None);
    assert_eq!(root_kind(&st), Some("NODE10"));
    for i in 5..10 {
        assert_eq!(st.insert(subject(i).as_bytes(), 22), None);
    }
    assert_eq!(st.insert(b"foo.bar.K", 22), None);
    assert_eq!(root_kind(&st), Some("NODE16"));
    for i in 11..16 {
        assert_eq!(st.insert(subject(i).as_bytes(), 22), None);
    }
    assert_eq!(st.insert(b"foo.bar.Q", 22), None);
    assert_eq!(root_kind(&st), Some("NODE48"));
    for i in 17..48 {
        assert_eq!(st.insert(subject(i).as_bytes(), 22), None);
    }
    assert_eq!(st.insert(subject(49).as_bytes(), 22), None);
    assert_eq!(root_kind(&st), Some("NODE256"));
    assert_eq!(st.len(), 49);
}

port!("server/stree/stree_test.go::TestSubjectTreeNodePrefixMismatch" => subject_tree_node_prefix_mismatch);
fn subject_tree_node_prefix_mismatch() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.A", 11);
    st.insert(b"foo.bar.B", 22);
    st.insert(b"foo.bar.C", 33);
    assert_eq!(shape(st.root()), Some(("NODE4", "foo.bar.".into(), 3)));
    // This one splits the root: a new root above the old node.
    st.insert(b"foo.foo.A", 44);
    let root = st.root();
    assert_eq!(shape(root), Some(("NODE4", "foo.".into(), 2)));
    assert_eq!(
        shape(root.unwrap().find_child(b'b')),
        Some(("NODE4", "bar.".into(), 3))
    );
    assert_eq!(st.find(b"foo.bar.A"), Some(&11));
    assert_eq!(st.find(b"foo.bar.B"), Some(&22));
    assert_eq!(st.find(b"foo.bar.C"), Some(&33));
    assert_eq!(st.find(b"foo.foo.A"), Some(&44));
}

port!("server/stree/stree_test.go::TestSubjectTreeNodeDelete" => subject_tree_node_delete);
fn subject_tree_node_delete() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.A", 22);
    assert_eq!(st.delete(b"foo.bar.A"), Some(22));
    assert!(st.root().is_none());
    assert_eq!(st.delete(b"foo.bar.A"), None);
    assert_eq!(st.find(b"foo.foo.A"), None);
    // Kick to a node4.
    st.insert(b"foo.bar.A", 11);
    st.insert(b"foo.bar.B", 22);
    st.insert(b"foo.bar.C", 33);
    // Delete and shrink back to a leaf.
    assert_eq!(st.delete(b"foo.bar.C"), Some(33));
    assert_eq!(st.delete(b"foo.bar.B"), Some(22));
    assert!(st.root().unwrap().is_leaf());
    assert_eq!(st.delete(b"foo.bar.A"), Some(11));
    assert!(st.root().is_none());
    let subject = |i: u8| format!("foo.bar.{}", char::from(b'A' + i));
    // Up to a node10 and back down.
    for i in 0..5 {
        st.insert(subject(i).as_bytes(), 22);
    }
    assert_eq!(root_kind(&st), Some("NODE10"));
    assert_eq!(st.delete(b"foo.bar.A"), Some(22));
    assert_eq!(root_kind(&st), Some("NODE4"));
    // Up to a node16.
    for i in 0..11 {
        st.insert(subject(i).as_bytes(), 22);
    }
    assert_eq!(root_kind(&st), Some("NODE16"));
    assert_eq!(st.delete(b"foo.bar.A"), Some(22));
    assert_eq!(root_kind(&st), Some("NODE10"));
    assert_eq!(st.find(b"foo.bar.B"), Some(&22));
    // Up to a node48.
    let mut st = SubjectTree::new();
    for i in 0..17 {
        st.insert(subject(i).as_bytes(), 22);
    }
    assert_eq!(root_kind(&st), Some("NODE48"));
    assert_eq!(st.delete(b"foo.bar.A"), Some(22));
    assert_eq!(root_kind(&st), Some("NODE16"));
    assert_eq!(st.find(b"foo.bar.B"), Some(&22));
    // Up to a node256.
    let mut st = SubjectTree::new();
    for i in 0..49 {
        st.insert(subject(i).as_bytes(), 22);
    }
    assert_eq!(root_kind(&st), Some("NODE256"));
    assert_eq!(st.delete(b"foo.bar.A"), Some(22));
    assert_eq!(root_kind(&st), Some("NODE48"));
    assert_eq!(st.find(b"foo.bar.B"), Some(&22));
}

port!("server/stree/stree_test.go::TestSubjectTreeNodesAndPaths" => subject_tree_nodes_and_paths);
fn subject_tree_nodes_and_paths() {
    let mut st = SubjectTree::new();
    let check = |st: &SubjectTree<i32>, subject: &str| {
        assert_eq!(st.find(subject.as_bytes()), Some(&22), "find {subject}");
    };
    st.insert(b"foo.bar.A", 22);
    st.insert(b"foo.bar.B", 22);
    st.insert(b"foo.bar.C", 22);
    st.insert(b"foo.bar", 22);
    for s in ["foo.bar.A", "foo.bar.B", "foo.bar.C", "foo.bar"] {
        check(&st, s);
    }
    // Shrinks and prunes; the new top node must get its prefix right.
    st.delete(b"foo.bar");
    for s in ["foo.bar.A", "foo.bar.B", "foo.bar.C"] {
        check(&st, s);
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeConstruction" => subject_tree_construction);
fn subject_tree_construction() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.A", 1);
    st.insert(b"foo.bar.B", 2);
    st.insert(b"foo.bar.C", 3);
    st.insert(b"foo.baz.A", 11);
    st.insert(b"foo.baz.B", 22);
    st.insert(b"foo.baz.C", 33);
    st.insert(b"foo.bar", 42);

    let node = |kind: &'static str, path: &str, n: u16| Some((kind, path.to_string(), n));
    let root = st.root().unwrap();
    assert_eq!(shape(Some(root)), node("NODE4", "foo.ba", 2));
    let nn = root.find_child(b'r').unwrap();
    assert_eq!(shape(Some(nn)), node("NODE4", "r", 2));
    assert_eq!(shape(nn.find_child(NO_PIVOT)), node("LEAF", "", 0));
    let rnn = nn.find_child(b'.').unwrap();
    assert_eq!(shape(Some(rnn)), node("NODE4", ".", 3));
    assert_eq!(shape(rnn.find_child(b'A')), node("LEAF", "A", 0));
    assert_eq!(shape(rnn.find_child(b'B')), node("LEAF", "B", 0));
    assert_eq!(shape(rnn.find_child(b'C')), node("LEAF", "C", 0));
    let znn = root.find_child(b'z').unwrap();
    assert_eq!(shape(Some(znn)), node("NODE4", "z.", 3));
    assert_eq!(shape(znn.find_child(b'A')), node("LEAF", "A", 0));
    assert_eq!(shape(znn.find_child(b'B')), node("LEAF", "B", 0));
    assert_eq!(shape(znn.find_child(b'C')), node("LEAF", "C", 0));

    // Delete "foo.bar": the tree must put itself back together.
    assert_eq!(st.delete(b"foo.bar"), Some(42));
    let root = st.root().unwrap();
    assert_eq!(shape(Some(root)), node("NODE4", "foo.ba", 2));
    let nn = root.find_child(b'r').unwrap();
    assert_eq!(shape(Some(nn)), node("NODE4", "r.", 3));
    assert_eq!(shape(nn.find_child(b'A')), node("LEAF", "A", 0));
    assert_eq!(shape(nn.find_child(b'B')), node("LEAF", "B", 0));
    assert_eq!(shape(nn.find_child(b'C')), node("LEAF", "C", 0));
    let znn = root.find_child(b'z').unwrap();
    assert_eq!(shape(Some(znn)), node("NODE4", "z.", 3));
    assert_eq!(shape(znn.find_child(b'A')), node("LEAF", "A", 0));
    assert_eq!(shape(znn.find_child(b'B')), node("LEAF", "B", 0));
    assert_eq!(shape(znn.find_child(b'C')), node("LEAF", "C", 0));
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchLeafOnly" => subject_tree_match_leaf_only);
fn subject_tree_match_leaf_only() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.baz.A", 1);
    // Every placement of `*`.
    require_matches(&st, "foo.bar.*.A", 1);
    require_matches(&st, "foo.*.baz.A", 1);
    require_matches(&st, "foo.*.*.A", 1);
    require_matches(&st, "foo.*.*.*", 1);
    require_matches(&st, "*.*.*.*", 1);
    // `>`.
    require_matches(&st, ">", 1);
    require_matches(&st, "foo.>", 1);
    require_matches(&st, "foo.*.>", 1);
    require_matches(&st, "foo.bar.>", 1);
    require_matches(&st, "foo.bar.*.>", 1);
    // Partials do not match a leaf.
    require_matches(&st, "foo.bar.baz", 0);
}

fn six_subjects() -> SubjectTree<i32> {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.A", 1);
    st.insert(b"foo.bar.B", 2);
    st.insert(b"foo.bar.C", 3);
    st.insert(b"foo.baz.A", 11);
    st.insert(b"foo.baz.B", 22);
    st.insert(b"foo.baz.C", 33);
    st
}

fn seven_subjects() -> SubjectTree<i32> {
    let mut st = six_subjects();
    st.insert(b"foo.bar", 42);
    st
}

fn seven_subject_values() -> HashMap<&'static str, i32> {
    HashMap::from([
        ("foo.bar.A", 1),
        ("foo.bar.B", 2),
        ("foo.bar.C", 3),
        ("foo.baz.A", 11),
        ("foo.baz.B", 22),
        ("foo.baz.C", 33),
        ("foo.bar", 42),
    ])
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchNodes" => subject_tree_match_nodes);
fn subject_tree_match_nodes() {
    let mut st = six_subjects();
    // Literals.
    require_matches(&st, "foo.bar.A", 1);
    require_matches(&st, "foo.baz.A", 1);
    require_matches(&st, "foo.bar", 0);
    // Inner `*`.
    require_matches(&st, "foo.*.A", 2);
    // Terminal `*`.
    require_matches(&st, "foo.bar.*", 3);
    require_matches(&st, "foo.baz.*", 3);
    // `>`.
    require_matches(&st, ">", 6);
    require_matches(&st, "foo.>", 6);
    require_matches(&st, "foo.bar.>", 3);
    require_matches(&st, "foo.baz.>", 3);
    // No false positives on prefixes.
    require_matches(&st, "foo.ba", 0);

    // A more complex shape with "foo.bar" added.
    st.insert(b"foo.bar", 42);
    require_matches(&st, "foo.bar.A", 1);
    require_matches(&st, "foo.baz.A", 1);
    require_matches(&st, "foo.bar", 1);
    require_matches(&st, "foo.*.A", 2);
    require_matches(&st, "foo.bar.*", 3);
    require_matches(&st, "foo.baz.*", 3);
    require_matches(&st, ">", 7);
    require_matches(&st, "foo.>", 7);
    require_matches(&st, "foo.bar.>", 3);
    require_matches(&st, "foo.baz.>", 3);
}

/// Go's `matchUntilCount`: callbacks until the `stop_after`th, and whether the walk ran to
/// the end.
fn match_until_count(st: &SubjectTree<i32>, filter: &str, stop_after: usize) -> (usize, bool) {
    let mut n = 0;
    let completed = st.match_until(filter.as_bytes(), |_, _| {
        n += 1;
        n < stop_after
    });
    (n, completed)
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchUntil" => subject_tree_match_until);
fn subject_tree_match_until() {
    let st = seven_subjects();
    // An early stop ends the walk.
    assert_eq!(match_until_count(&st, "foo.>", 3), (3, false));
    // Walks that complete.
    assert_eq!(match_until_count(&st, "foo.bar", 3), (1, true));
    assert_eq!(match_until_count(&st, "foo.baz.*", 4), (3, true));
}

port!("server/stree/stree_test.go::TestSubjectTreeNoPrefix" => subject_tree_no_prefix);
fn subject_tree_no_prefix() {
    let mut st = SubjectTree::new();
    for i in 0..26u8 {
        assert_eq!(st.insert(&[b'A' + i], 22), None);
    }
    assert_eq!(shape(st.root()), Some(("NODE48", String::new(), 26)));
    assert_eq!(st.delete(b"B"), Some(22));
    // Still the same node48, one child less.
    assert_eq!(shape(st.root()), Some(("NODE48", String::new(), 25)));
    assert_eq!(st.delete(b"Z"), Some(22));
    assert_eq!(shape(st.root()), Some(("NODE48", String::new(), 24)));
}

port!("server/stree/stree_test.go::TestSubjectTreePartialTerminalWildcardBugMatch" => subject_tree_partial_terminal_wildcard_bug_match);
fn subject_tree_partial_terminal_wildcard_bug_match() {
    let mut st = SubjectTree::new();
    st.insert(b"STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-A", 5);
    st.insert(b"STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-B", 1);
    st.insert(b"STATE.GLOBAL.CELL1.7PDSGAALXNN000010.PROPERTY-C", 2);
    require_matches(&st, "STATE.GLOBAL.CELL1.7PDSGAALXNN000010.*", 3);
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchSubjectParam" => subject_tree_match_subject_param);
fn subject_tree_match_subject_param() {
    let st = seven_subjects();
    let expected = seven_subject_values();
    // Each callback gets its own full subject with that subject's value.
    let mut seen = HashSet::new();
    st.for_each_match(b">", |subject, v| {
        let subject = std::str::from_utf8(subject).unwrap().to_string();
        assert_eq!(
            expected.get(subject.as_str()),
            Some(v),
            "value for {subject:?}"
        );
        seen.insert(subject);
    });
    assert_eq!(seen.len(), expected.len());
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchRandomDoublePWC" => subject_tree_match_random_double_pwc);
fn subject_tree_match_random_double_pwc() {
    let mut rng = Rng::seeded();
    let mut st = SubjectTree::new();
    for i in 1..=10_000 {
        let subject = format!("foo.{}.{}", rng.intn(20) + 1, i);
        st.insert(subject.as_bytes(), 42);
    }
    require_matches(&st, "foo.*.*", 10_000);

    // `*` with a short inner token, checked against a full walk.
    for (filter, token, literal) in [("*.2.*", 1, "2"), ("*.*.222", 2, "222")] {
        let mut seen = 0;
        st.for_each_match(filter.as_bytes(), |_, _| seen += 1);
        let mut verified = 0;
        st.iter_ordered(|subject, _| {
            let subject = std::str::from_utf8(subject).unwrap();
            let tokens: Vec<&str> = subject.split('.').collect();
            assert_eq!(tokens.len(), 3);
            if tokens[token] == literal {
                verified += 1;
            }
            true
        });
        assert_eq!(seen, verified, "filter {filter}");
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeIterOrdered" => subject_tree_iter_ordered);
fn subject_tree_iter_ordered() {
    let st = seven_subjects();
    let values = seven_subject_values();
    let order = [
        "foo.bar",
        "foo.bar.A",
        "foo.bar.B",
        "foo.bar.C",
        "foo.baz.A",
        "foo.baz.B",
        "foo.baz.C",
    ];
    let mut received = 0;
    st.iter_ordered(|subject, v| {
        let subject = std::str::from_utf8(subject).unwrap();
        assert_eq!(subject, order[received], "item {received}");
        assert_eq!(values[subject], *v, "value for {subject:?}");
        received += 1;
        true
    });
    assert_eq!(received, order.len());

    // Stops when asked.
    let mut received = 0;
    st.iter_ordered(|_, _| {
        received += 1;
        received != 4
    });
    assert_eq!(received, 4);
}

port!("server/stree/stree_test.go::TestSubjectTreeIterFast" => subject_tree_iter_fast);
fn subject_tree_iter_fast() {
    let st = seven_subjects();
    let values = seven_subject_values();
    let mut received = 0;
    let mut seen = HashSet::new();
    st.iter_fast(|subject, v| {
        let subject = std::str::from_utf8(subject).unwrap();
        assert_eq!(values.get(subject), Some(v), "value for {subject:?}");
        seen.insert(subject.to_string());
        received += 1;
        true
    });
    assert_eq!(received, values.len());
    assert_eq!(seen.len(), values.len());

    // Stops when asked.
    let mut received = 0;
    st.iter_fast(|_, _| {
        received += 1;
        received != 4
    });
    assert_eq!(received, 4);
}

port!("server/stree/stree_test.go::TestSubjectTreeInsertSamePivotBug" => subject_tree_insert_same_pivot_bug);
fn subject_tree_insert_same_pivot_bug() {
    let subjects: [&[u8]; 6] = [
        b"0d00.2abbb82c1d.6e16.fa7f85470e.3e46",
        b"534b12.3486c17249.4dde0666",
        b"6f26aabd.920ee3.d4d3.5ffc69f6",
        b"8850.ade3b74c31.aa533f77.9f59.a4bd8415.b3ed7b4111",
        b"5a75047dcb.5548e845b6.76024a34.14d5b3.80c426.51db871c3a",
        b"825fa8acfc.5331.00caf8bbbd.107c4b.c291.126d1d010e",
    ];
    let mut st = SubjectTree::new();
    for subject in subjects {
        assert_eq!(st.insert(subject, 22), None);
        assert!(
            st.find(subject).is_some(),
            "could not find {:?}",
            String::from_utf8_lossy(subject)
        );
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchTsepSecondThenPartialPartBug" => subject_tree_match_tsep_second_then_partial_part_bug);
fn subject_tree_match_tsep_second_then_partial_part_bug() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.xxxxx.foo1234.zz", 22);
    st.insert(b"foo.yyy.foo123.zz", 22);
    st.insert(b"foo.yyybar789.zz", 22);
    st.insert(b"foo.yyy.foo12345.zz", 22);
    st.insert(b"foo.yyy.foo12345.yy", 22);
    st.insert(b"foo.yyy.foo123456789.zz", 22);
    require_matches(&st, "foo.*.foo123456789.*", 1);
    require_matches(&st, "foo.*.*.zzz.foo.>", 0);
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchMultipleWildcardBasic" => subject_tree_match_multiple_wildcard_basic);
fn subject_tree_match_multiple_wildcard_basic() {
    let mut st = SubjectTree::new();
    st.insert(b"A.B.C.D.0.G.H.I.0", 22);
    st.insert(b"A.B.C.D.1.G.H.I.0", 22);
    require_matches(&st, "A.B.*.D.1.*.*.I.0", 1);
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchInvalidWildcard" => subject_tree_match_invalid_wildcard);
fn subject_tree_match_invalid_wildcard() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.123", 22);
    st.insert(b"one.two.three.four.five", 22);
    st.insert(b"'*.123", 22);
    st.insert(b"bar", 22);
    require_matches(&st, "invalid.>", 0);
    require_matches(&st, "foo.>.bar", 0);
    require_matches(&st, ">", 4);
    require_matches(&st, "'*.*", 1);
    require_matches(&st, "'*.*.*'", 0);
    // None of these match.
    require_matches(&st, "`>`", 0);
    require_matches(&st, "\">\"", 0);
    require_matches(&st, "'>'", 0);
    require_matches(&st, "'*.>'", 0);
    require_matches(&st, "'*.>.", 0);
    require_matches(&st, "`invalid.>`", 0);
    require_matches(&st, "'*.*'", 0);
}

port!("server/stree/stree_test.go::TestSubjectTreeRandomTrackEntries" => subject_tree_random_track_entries);
fn subject_tree_random_track_entries() {
    let mut rng = Rng::seeded();
    let mut st = SubjectTree::new();
    let mut smap: HashSet<String> = HashSet::with_capacity(1000);
    for _ in 0..1000 {
        // 1-6 tokens of 2-5 random bytes in hex.
        let num_tokens = rng.intn(6) + 1;
        let subject = (0..num_tokens)
            .map(|_| {
                let len = rng.intn(4) + 2;
                (0..len)
                    .map(|_| format!("{:02x}", rng.next() as u8))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(".");
        if !smap.insert(subject.clone()) {
            continue;
        }
        assert_eq!(st.insert(subject.as_bytes(), 22), None);
        assert_eq!(st.len(), smap.len());
        for s in &smap {
            assert!(st.find(s.as_bytes()).is_some(), "could not find {s:?}");
        }
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeLongTokens" => subject_tree_long_tokens);
fn subject_tree_long_tokens() {
    let mut st = SubjectTree::new();
    st.insert(b"a1.aaaaaaaaaaaaaaaaaaaaaa0", 1);
    st.insert(b"a2.0", 2);
    st.insert(b"a1.aaaaaaaaaaaaaaaaaaaaaa1", 3);
    st.insert(b"a2.1", 4);
    // As a purge of a2.> would.
    st.delete(b"a2.0");
    st.delete(b"a2.1");
    assert_eq!(st.len(), 2);
    assert_eq!(st.find(b"a1.aaaaaaaaaaaaaaaaaaaaaa0"), Some(&1));
    assert_eq!(st.find(b"a1.aaaaaaaaaaaaaaaaaaaaaa1"), Some(&3));
}

/// A million subjects `subj.<1..100>.<i>`, as Go's perf tests build them.
fn million_subjects() -> SubjectTree<i32> {
    let mut rng = Rng::seeded();
    let mut st = SubjectTree::new();
    for i in 0..1_000_000 {
        st.insert(format!("subj.{}.{}", rng.intn(100) + 1, i).as_bytes(), 22);
    }
    st
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchAllPerf" => subject_tree_match_all_perf, opt_in = "perf: a million subjects; Go runs it only with --results");
fn subject_tree_match_all_perf() {
    let st = million_subjects();
    // Go only logs; the counts are checked here too.
    for (filter, expected) in [
        (">", Some(1_000_000)),
        ("subj.>", Some(1_000_000)),
        ("subj.*.*", Some(1_000_000)),
        ("*.*.*", Some(1_000_000)),
        ("subj.1.*", None),
        ("subj.1.>", None),
        ("subj.*.1", Some(1)),
        ("*.*.1", Some(1)),
    ] {
        let start = Instant::now();
        let mut count = 0;
        st.for_each_match(filter.as_bytes(), |_, _| count += 1);
        eprintln!(
            "Match {filter:?} took {:?} and matched {count} entries",
            start.elapsed()
        );
        if let Some(expected) = expected {
            assert_eq!(count, expected, "filter {filter}");
        }
    }
    let mut in_one = 0;
    st.iter_fast(|s, _| {
        in_one += usize::from(s.starts_with(b"subj.1."));
        true
    });
    let mut matched = 0;
    st.for_each_match(b"subj.1.*", |_, _| matched += 1);
    assert_eq!(matched, in_one);
    st.for_each_match(b"subj.1.>", |_, _| matched -= 1);
    assert_eq!(matched, 0);
}

port!("server/stree/stree_test.go::TestSubjectTreeIterPerf" => subject_tree_iter_perf, opt_in = "perf: a million subjects; Go runs it only with --results");
fn subject_tree_iter_perf() {
    let st = million_subjects();
    let start = Instant::now();
    let mut count = 0;
    st.iter_ordered(|_, _| {
        count += 1;
        true
    });
    eprintln!(
        "Iter took {:?} and matched {count} entries",
        start.elapsed()
    );
    assert_eq!(count, 1_000_000);
}

port!("server/stree/stree_test.go::TestSubjectTreeMemoryPerf" => subject_tree_memory_perf, opt_in = "perf: 250k subjects and timed rounds; Go runs it only with --results");
fn subject_tree_memory_perf() {
    const ENTRIES: usize = 250_000;
    let subjects: Vec<Vec<u8>> = (0..ENTRIES)
        .map(|i| format!("account.{}.stream.{}", i % 1000, i).into_bytes())
        .collect();

    let start = Instant::now();
    let mut st = SubjectTree::new();
    for (i, subject) in subjects.iter().enumerate() {
        st.insert(subject, i);
    }
    let build = start.elapsed();
    assert_eq!(st.len(), ENTRIES);

    const LOOKUP_ROUNDS: usize = 8;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..LOOKUP_ROUNDS {
        found += subjects.iter().filter(|s| st.find(s).is_some()).count();
    }
    let find = start.elapsed();
    assert_eq!(found, ENTRIES * LOOKUP_ROUNDS);

    const TRAVERSAL_ROUNDS: usize = 20;
    let start = Instant::now();
    let mut iterated = 0;
    for _ in 0..TRAVERSAL_ROUNDS {
        st.iter_fast(|_, _| {
            iterated += 1;
            true
        });
    }
    let iter = start.elapsed();
    assert_eq!(iterated, ENTRIES * TRAVERSAL_ROUNDS);

    let start = Instant::now();
    let mut matched = 0;
    for _ in 0..TRAVERSAL_ROUNDS {
        st.for_each_match(b"account.*.stream.>", |_, _| matched += 1);
    }
    let matching = start.elapsed();
    assert_eq!(matched, ENTRIES * TRAVERSAL_ROUNDS);

    // Go also reports heap bytes and allocations per walk from its runtime; the walks here
    // reuse one subject buffer, and memory per subject is covered by the store benches.
    eprintln!("Build took {build:?} for {} entries", st.len());
    eprintln!(
        "Find took {find:?} for {} lookups and found {found} entries",
        ENTRIES * LOOKUP_ROUNDS
    );
    eprintln!("IterFast took {iter:?} for {iterated} entries");
    eprintln!("Match took {matching:?} for {matched} entries");
}

port!("server/stree/stree_test.go::TestSubjectTreeNode48" => subject_tree_node48);
fn subject_tree_node48() {
    // Leaves told apart by value (Go compares their addresses).
    let (a, b, c) = (1, 2, 3);
    let mut n = Node::new_node48(b"");

    n.add_child(b'A', leaf(b"a", a));
    // Go's 1-based key index 1 is slot 0.
    assert_eq!(n.child_index(b'A'), Some(0));
    assert_eq!(leaf_value(n.slots()[0].as_ref()), a);
    assert_eq!(n.children().len(), 1);
    assert_eq!(leaf_value(n.find_child(b'A')), a);

    n.add_child(b'B', leaf(b"b", b));
    assert_eq!(n.child_index(b'B'), Some(1));
    assert_eq!(leaf_value(n.slots()[1].as_ref()), b);
    assert_eq!(n.children().len(), 2);
    assert_eq!(leaf_value(n.find_child(b'B')), b);

    n.add_child(b'C', leaf(b"c", c));
    assert_eq!(n.child_index(b'C'), Some(2));
    assert_eq!(leaf_value(n.slots()[2].as_ref()), c);
    assert_eq!(n.children().len(), 3);
    assert_eq!(leaf_value(n.find_child(b'C')), c);

    assert_eq!(leaf_value(n.delete_child(b'A').as_ref()), a);
    assert_eq!(n.children().len(), 2);
    assert_eq!(n.child_index(b'A'), None); // Deleted.
    assert_eq!(n.child_index(b'B'), Some(1)); // Untouched.
    assert_eq!(n.child_index(b'C'), Some(0)); // Moved to where A was.

    assert!(n.find_child(b'A').is_none());
    assert_eq!(leaf_value(n.slots()[0].as_ref()), c);
    assert_eq!(leaf_value(n.find_child(b'B')), b);
    assert_eq!(leaf_value(n.slots()[1].as_ref()), b);
    assert_eq!(leaf_value(n.find_child(b'C')), c);
    assert!(n.slots()[2].is_none());

    let (mut got_b, mut got_c, mut iterations) = (false, false, 0);
    n.iter(|child| {
        iterations += 1;
        let v = *child.as_leaf().unwrap().value();
        got_b |= v == b;
        got_c |= v == c;
        true
    });
    assert_eq!(iterations, 2);
    assert!(got_b);
    assert!(got_c);

    // Byte 255 must survive grow and shrink (an off-by-one Go once had).
    n.add_child(255, leaf(b"\xff", c));
    assert_eq!(n.child_index(255), Some(2));
    let grown = n.clone().grow();
    assert_eq!(grown.kind(), "NODE256");
    assert!(grown.find_child(255).is_some());
    let shrunk = n.clone().shrink().unwrap();
    assert_eq!(shrunk.kind(), "NODE16");
    assert!(shrunk.find_child(255).is_some());
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchNoCallbackDupe" => subject_tree_match_no_callback_dupe);
fn subject_tree_match_no_callback_dupe() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.A", 1);
    st.insert(b"foo.bar.B", 1);
    st.insert(b"foo.bar.C", 1);
    st.insert(b"foo.bar.>", 1);
    // Go only logs a duplicate; here it fails, and the counts are checked too.
    for (filter, expected) in [(">", 4), ("foo.>", 4), ("foo.bar.>", 4)] {
        let mut seen = HashSet::new();
        st.for_each_match(filter.as_bytes(), |subject, _| {
            assert!(
                seen.insert(subject.to_vec()),
                "callback twice for {:?}",
                String::from_utf8_lossy(subject)
            );
        });
        assert_eq!(seen.len(), expected, "filter {filter}");
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeNilNoPanic" => subject_tree_nil_no_panic);
fn subject_tree_nil_no_panic() {
    // No nil trees in Rust: a never-filled tree answers like Go's nil tree.
    let st = SubjectTree::<i32>::default();
    let mut called = false;
    st.for_each_match(b"foo", |_, _| called = true);
    assert!(!called);
    assert_eq!(st.find(b"foo"), None);
    let mut st = SubjectTree::<i32>::default();
    assert_eq!(st.delete(b"foo"), None);
    assert_eq!(st.insert(b"foo", 22), None);
}

port!("server/stree/stree_test.go::TestSubjectTreeInsertLongerLeafSuffixWithTrailingNulls" => subject_tree_insert_longer_leaf_suffix_with_trailing_nulls);
fn subject_tree_insert_longer_leaf_suffix_with_trailing_nulls() {
    let mut st = SubjectTree::new();
    let mut subject = b"foo.bar.baz_".to_vec();
    subject.extend([0u8; 10]);
    st.insert(&subject, 1);
    // Go's loop re-appends to the first subject each time: one more null.
    let mut subject2 = subject.clone();
    subject2.push(0);
    st.insert(&subject2, 2);
    assert_eq!(st.find(&subject), Some(&1));
    assert_eq!(st.find(&subject2), Some(&2));
    // And a subject ten nulls longer, as the test's comment intends.
    let mut subject3 = subject.clone();
    subject3.extend([0u8; 10]);
    st.insert(&subject3, 3);
    assert_eq!(st.find(&subject), Some(&1));
    assert_eq!(st.find(&subject2), Some(&2));
    assert_eq!(st.find(&subject3), Some(&3));
}

port!("server/stree/stree_test.go::TestSubjectTreeInsertWithNoPivot" => subject_tree_insert_with_no_pivot);
fn subject_tree_insert_with_no_pivot() {
    let mut st = SubjectTree::new();
    let mut subject = b"foo.bar.baz.".to_vec();
    subject.push(NO_PIVOT);
    assert_eq!(st.insert(&subject, 22), None);
    assert_eq!(st.len(), 0);
    assert!(st.root().is_none());
}

port!("server/stree/stree_test.go::TestSubjectTreeMatchHasFWCNoPanic" => subject_tree_match_has_fwc_no_panic);
fn subject_tree_match_has_fwc_no_panic() {
    let mut st = SubjectTree::new();
    st.insert(b"foo", 1);
    let mut matches = 0;
    let panicked = panic_message(|| st.for_each_match(b".", |_, _| matches += 1));
    assert_eq!(panicked, None);
    assert_eq!(matches, 0);
}

port!("server/stree/stree_test.go::TestSubjectTreeLazyIntersect" => subject_tree_lazy_intersect);
fn subject_tree_lazy_intersect() {
    let mut st1 = SubjectTree::new();
    let mut st2 = SubjectTree::new();
    // Intersect.
    st1.insert(b"foo.bar", 1);
    st2.insert(b"foo.bar", 1);
    st1.insert(b"foo.bar.baz.qux", 1);
    st2.insert(b"foo.bar.baz.qux", 1);
    // Do not.
    st1.insert(b"bar", 1);
    st2.insert(b"baz", 1);
    st1.insert(b"a.b.c", 1);
    st2.insert(b"a.b.d", 1);
    st1.insert(b"a.b.ee", 1);
    st2.insert(b"a.b.e", 1);
    st1.insert(b"bb.c.d", 1);
    st2.insert(b"b.c.d", 1);
    st2.insert(b"foo.bar.baz.qux.alice", 1);
    st2.insert(b"foo.bar.baz.qux.bob", 1);

    let mut intersected: HashMap<String, i32> = HashMap::new();
    lazy_intersect(&st1, &st2, |key, _, _| {
        *intersected
            .entry(String::from_utf8(key.to_vec()).unwrap())
            .or_default() += 1;
    });
    assert_eq!(intersected.len(), 2);
    assert_eq!(intersected["foo.bar"], 1);
    assert_eq!(intersected["foo.bar.baz.qux"], 1);
}

/// natsd's generic sublist as the interest side of `intersect_gsl`.
struct Sublist(GenericSublist<i32>);

impl SubjectInterest for Sublist {
    fn has_interest(&self, subject: &[u8]) -> bool {
        std::str::from_utf8(subject).is_ok_and(|s| self.0.has_interest(s))
    }

    fn has_interest_starting_in(&self, subject: &[u8]) -> bool {
        std::str::from_utf8(subject).is_ok_and(|s| self.0.has_interest_starting_in(s))
    }
}

port!("server/stree/stree_test.go::TestSubjectTreeGSLIntersection" => subject_tree_gsl_intersection);
fn subject_tree_gsl_intersection() {
    let mut st = SubjectTree::new();
    for s in [
        "one.two.three.four",
        "one.two.three.five",
        "one.two.six",
        "one.two.seven",
        "eight.nine",
        "stream.A",
        "stream.A.child",
    ] {
        st.insert(s.as_bytes(), ());
    }

    /// Intersects `st` with a sublist of `subs` and checks the number of distinct
    /// subjects, each reported once.
    #[track_caller]
    fn check(st: &SubjectTree<()>, name: &str, subs: &[(&str, i32)], expected: usize) {
        let sl = Sublist(GenericSublist::new());
        for (subject, value) in subs {
            sl.0.insert(subject, *value).unwrap();
        }
        let mut got: HashMap<Vec<u8>, usize> = HashMap::new();
        intersect_gsl(st, &sl, |subject, _| {
            *got.entry(subject.to_vec()).or_default() += 1;
            true
        });
        assert_eq!(got.len(), expected, "{name}: {got:?}");
        assert!(
            got.values().all(|c| *c == 1),
            "{name}: duplicates in {got:?}"
        );
    }

    check(
        &st,
        "Literals",
        &[("one.two.six", 11), ("eight.nine", 22)],
        2,
    );
    check(&st, "PWC", &[("one.two.*.*", 11)], 2);
    check(
        &st,
        "PWCOverlapping",
        &[("one.two.*.four", 11), ("one.two.*.*", 22)],
        2,
    );
    {
        let sl = GenericSublist::new();
        sl.insert("*.*", 11).unwrap();
        sl.insert("*.*.*", 22).unwrap();
        sl.insert("*.*.*.*", 33).unwrap();
        assert!(sl.has_interest("foo.bar"));
        assert!(sl.has_interest("foo.bar.baz"));
        assert!(sl.has_interest("foo.bar.baz.qux"));
    }
    check(
        &st,
        "PWCAll",
        &[("*.*", 11), ("*.*.*", 22), ("*.*.*.*", 33)],
        7,
    );
    check(&st, "FWC", &[("one.>", 11)], 4);
    check(
        &st,
        "FWCOverlapping",
        &[("one.two.three.four", 11), ("one.>", 22), (">", 33)],
        7,
    );
    check(
        &st,
        "FWCExtended",
        &[("stream.A.>", 11), ("stream.A", 22)],
        2,
    );
    check(
        &st,
        "PWCExtended",
        &[("stream.*.child", 11), ("stream.A", 22)],
        2,
    );
    check(
        &st,
        "PWCExtendedAggressive",
        &[
            ("stream.A.child", 11),
            ("*.A.child", 22),
            ("stream.*.child", 22),
            ("stream.A.*", 22),
            ("stream.*.*", 22),
            ("*.A.*", 22),
            ("*.*.child", 22),
        ],
        1,
    );
    check(
        &st,
        "PWCExtendedAggressive2",
        &[
            ("stream.A.child", 11),
            ("*.A.child", 22),
            ("stream.A.*", 22),
            ("*.A.*", 22),
            ("*.*.child", 22),
        ],
        1,
    );
    check(
        &st,
        "PWCExtendedAggressive3",
        &[("stream.A.child", 11), ("stream.*.*", 22)],
        1,
    );
    check(
        &st,
        "PWCExtendedAggressive4",
        &[("stream.A.child", 11), ("stream.*.>", 22)],
        1,
    );
    check(
        &st,
        "PWCExtendedAggressive5",
        &[("stream.A.child", 11), ("*.*", 22)],
        3,
    );
    check(
        &st,
        "PWCExtendedAggressive6",
        &[("stream.A.child", 11), ("stream.*", 22)],
        2,
    );
    check(
        &st,
        "PWCExtendedAggressive7",
        &[("stream.A", 11), ("*.*.*", 22)],
        4,
    );
    check(&st, "FWCAll", &[(">", 11)], 7);
    {
        // StopsWhenCallbackReturnsFalse.
        let sl = Sublist(GenericSublist::new());
        sl.0.insert(">", 11).unwrap();
        let mut got = 0;
        intersect_gsl(&st, &sl, |_, _| {
            got += 1;
            false
        });
        assert_eq!(got, 1);
    }
    check(&st, "NoMatch", &[("one", 11)], 0);
    check(
        &st,
        "NoMatches",
        &[("one", 11), ("eight", 22), ("ten", 33)],
        0,
    );
    check(
        &st,
        "NoMatchPartial",
        &[("stream.A.not-child", 11), ("stream.A.child.>", 22)],
        0,
    );
    check(
        &st,
        "PWCDoesntHideLiteral",
        &[("one.*.six", 11), ("one.two.seven", 22)],
        2,
    );
    check(
        &st,
        "PWCDoesntHideLiteral2",
        &[
            ("one.*.*.four", 11),
            ("one.*.*.five", 22),
            ("one.*.three", 33),
        ],
        2,
    );
    check(
        &st,
        "DisjointWildcardPositions",
        &[("one.two.*.*", 33), ("*.two.three.four", 55)],
        2,
    );
    check(
        &st,
        "LiteralMatchWithOverlappingPWCs",
        &[("one.*.four.five", 11), ("one.two.three.four", 22)],
        1,
    );
}

port!("server/stree/stree_test.go::TestSubjectTreeDeleteShortSubjectNoPanic" => subject_tree_delete_short_subject_no_panic);
fn subject_tree_delete_short_subject_no_panic() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.baz", 1);
    st.insert(b"foo.bar.qux", 2);
    let mut deleted = Some(0);
    assert_eq!(panic_message(|| deleted = st.delete(b"foo.bar")), None);
    assert_eq!(deleted, None);
    assert_eq!(st.find(b"foo.bar.baz"), Some(&1));
    assert_eq!(st.find(b"foo.bar.qux"), Some(&2));
}

port!("server/stree/stree_test.go::TestSubjectTreeEmpty" => subject_tree_empty);
fn subject_tree_empty() {
    // Go's Empty on a nil tree makes a new one; a never-filled tree is that here.
    let mut st = SubjectTree::<i32>::default();
    st.clear();
    assert_eq!(st.len(), 0);

    // On a new tree, in place.
    let mut st = SubjectTree::new();
    assert_eq!(st.len(), 0);
    let before: *const SubjectTree<i32> = &st;
    st.clear();
    assert!(std::ptr::eq(before, &st));
    assert_eq!(st.len(), 0);

    // On a tree with data.
    st.insert(b"foo.bar", 1);
    st.insert(b"foo.baz", 2);
    st.insert(b"bar.baz", 3);
    assert_eq!(st.len(), 3);
    st.clear();
    assert!(std::ptr::eq(before, &st));
    assert_eq!(st.len(), 0);
    assert!(st.root().is_none());

    // Old entries are gone.
    assert_eq!(st.find(b"foo.bar"), None);
    assert_eq!(st.find(b"foo.baz"), None);
    assert_eq!(st.find(b"bar.baz"), None);

    // And new ones go in.
    assert_eq!(st.insert(b"new.entry", 42), None);
    assert_eq!(st.len(), 1);
    assert_eq!(st.find(b"new.entry"), Some(&42));
}

port!("server/stree/stree_test.go::TestSubjectTreeLazyIntersectComprehensive" => subject_tree_lazy_intersect_comprehensive);
fn subject_tree_lazy_intersect_comprehensive() {
    // Never-filled trees stand in for Go's nil trees.
    let mut st1 = SubjectTree::<i32>::default();
    let mut st2 = SubjectTree::<String>::default();
    let mut count = 0;
    lazy_intersect(&st1, &st2, |_, _, _| count += 1);
    assert_eq!(count, 0);

    // One side empty.
    st1.insert(b"foo", 1);
    lazy_intersect(&st1, &st2, |_, _, _| count += 1);
    assert_eq!(count, 0);
    lazy_intersect(&st1, &SubjectTree::<String>::new(), |_, _, _| count += 1);
    assert_eq!(count, 0);

    // Different value types.
    let mut st1 = SubjectTree::new();
    st1.insert(b"foo.bar", 42);
    st2.insert(b"foo.bar", "hello".to_string());
    st1.insert(b"baz.qux", 100);
    st2.insert(b"baz.qux", "world".to_string());
    st1.insert(b"only.in.st1", 1);
    st2.insert(b"only.in.st2", "two".to_string());
    let mut results: HashMap<String, (i32, String)> = HashMap::new();
    lazy_intersect(&st1, &st2, |key, v1, v2| {
        results.insert(String::from_utf8(key.to_vec()).unwrap(), (*v1, v2.clone()));
    });
    assert_eq!(results.len(), 2);
    assert_eq!(results["foo.bar"], (42, "hello".to_string()));
    assert_eq!(results["baz.qux"], (100, "world".to_string()));

    // A large and a small tree, in either order.
    let mut large = SubjectTree::new();
    for i in 0..100 {
        large.insert(format!("large.{i}").as_bytes(), i);
    }
    let mut small = SubjectTree::new();
    small.insert(b"large.5", 500);
    small.insert(b"large.10", 1000);
    small.insert(b"large.50", 5000);
    small.insert(b"small.only", 999);
    let mut intersect_count = 0;
    lazy_intersect(&large, &small, |key, v1, v2| {
        intersect_count += 1;
        match key {
            b"large.5" => assert_eq!((*v1, *v2), (5, 500)),
            b"large.10" => assert_eq!((*v1, *v2), (10, 1000)),
            b"large.50" => assert_eq!((*v1, *v2), (50, 5000)),
            other => panic!("unexpected key {:?}", String::from_utf8_lossy(other)),
        }
    });
    assert_eq!(intersect_count, 3);

    // Deep subjects; partial overlaps do not intersect.
    let mut st3 = SubjectTree::new();
    let mut st4 = SubjectTree::new();
    st3.insert(b"a.b.c.d.e.f.g", 1);
    st4.insert(b"a.b.c.d.e.f.g", 2);
    st3.insert(b"a.b.c.d", 3);
    st4.insert(b"a.b.c.d.e", 4);
    st3.insert(b"prefix.suffix1", 5);
    st4.insert(b"prefix.suffix2", 6);
    let mut intersections = 0;
    lazy_intersect(&st3, &st4, |key, v1, v2| {
        intersections += 1;
        assert_eq!(key, b"a.b.c.d.e.f.g");
        assert_eq!((*v1, *v2), (1, 2));
    });
    assert_eq!(intersections, 1);
}

port!("server/stree/stree_test.go::TestNode256Operations" => node256_operations);
fn node256_operations() {
    let mut n = Node::new_node256(b"prefix");
    assert!(!n.is_full()); // A node256 is never full.
    assert!(n.find_child(b'a').is_none());

    n.add_child(b'a', leaf(b"suffix", 42));
    assert_eq!(leaf_value(n.find_child(b'a')), 42);
    assert_eq!(n.num_children(), 1);
    assert_eq!(count_children(&n, None), 1);

    n.add_child(b'b', leaf(b"suffix2", 43));
    n.add_child(b'c', leaf(b"suffix3", 44));
    assert_eq!(count_children(&n, Some(1)), 1);

    assert_eq!(n.children().len(), 256);

    assert_eq!(
        panic_message(|| drop(n.grow())).as_deref(),
        Some("grow can not be called on node256")
    );
}

port!("server/stree/stree_test.go::TestNode256Shrink" => node256_shrink);
fn node256_shrink() {
    let mut n256 = Node::new_node256(b"prefix");
    for i in 0..49u8 {
        n256.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert_eq!(n256.num_children(), 49);
    // More than 48 children: stays.
    assert!(n256.shrink().is_none());
    assert_eq!(n256.num_children(), 49);

    n256.delete_child(0);
    assert_eq!(n256.num_children(), 48);
    let shrunk = n256.shrink().unwrap();
    assert_eq!(shrunk.kind(), "NODE48");
    assert_eq!(shrunk.path(), b"prefix");
    for i in 1..49u8 {
        assert_eq!(leaf_value(shrunk.find_child(i)), i32::from(i));
    }
}

port!("server/stree/stree_test.go::TestLeafPanicMethods" => leaf_panic_methods);
fn leaf_panic_methods() {
    let mut l = leaf(b"test", 42);
    assert_eq!(
        panic_message(|| l.set_prefix(b"prefix")).as_deref(),
        Some("set_prefix called on leaf")
    );
    assert_eq!(
        panic_message(|| l.add_child(b'a', leaf(b"", 0))).as_deref(),
        Some("add_child called on leaf")
    );
    assert_eq!(
        panic_message(|| {
            let _ = l.find_child(b'a');
        })
        .as_deref(),
        Some("find_child called on leaf")
    );
    assert_eq!(
        panic_message(|| drop(l.grow())).as_deref(),
        Some("grow called on leaf")
    );
    assert_eq!(
        panic_message(|| drop(l.delete_child(b'a'))).as_deref(),
        Some("delete_child called on leaf")
    );
    assert_eq!(
        panic_message(|| drop(l.shrink())).as_deref(),
        Some("shrink called on leaf")
    );

    // What does work on a leaf.
    assert!(l.is_full());
    assert!(l.prefix().is_none());
    assert_eq!(l.num_children(), 0);
    assert!(l.children().is_empty());
    let mut called = false;
    l.iter(|_| {
        called = true;
        true
    });
    assert!(!called);
}

port!("server/stree/stree_test.go::TestSizeOnNilTree" => size_on_nil_tree);
fn size_on_nil_tree() {
    // A never-filled tree stands in for Go's nil tree.
    let st = SubjectTree::<i32>::default();
    assert_eq!(st.len(), 0);
    assert!(st.is_empty());
}

port!("server/stree/stree_test.go::TestFindEdgeCases" => find_edge_cases);
fn find_edge_cases() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.baz", 1);
    st.insert(b"foo", 2);
    assert_eq!(st.find(b""), None);
}

port!("server/stree/stree_test.go::TestNodeIterMethods" => node_iter_methods);
fn node_iter_methods() {
    let mut n4 = Node::new_node4(b"prefix");
    n4.add_child(b'a', leaf(b"1", 1));
    n4.add_child(b'b', leaf(b"2", 2));
    assert_eq!(count_children(&n4, None), 2);
    // Early termination.
    assert_eq!(count_children(&n4, Some(1)), 1);

    let mut n10 = Node::new_node10(b"prefix");
    for i in 0..5u8 {
        n10.add_child(b'a' + i, leaf(&[b'0' + i], i32::from(i)));
    }
    assert_eq!(count_children(&n10, None), 5);

    let mut n16 = Node::new_node16(b"prefix");
    for i in 0..8u8 {
        n16.add_child(b'a' + i, leaf(&[b'0' + i], i32::from(i)));
    }
    assert_eq!(count_children(&n16, None), 8);
}

port!("server/stree/stree_test.go::TestIterOrderedAndIterFastNilRoot" => iter_ordered_and_iter_fast_nil_root);
fn iter_ordered_and_iter_fast_nil_root() {
    let st = SubjectTree::<i32>::new();
    let mut count = 0;
    st.iter_ordered(|_, _| {
        count += 1;
        true
    });
    assert_eq!(count, 0);
    st.iter_fast(|_, _| {
        count += 1;
        true
    });
    assert_eq!(count, 0);
}

port!("server/stree/stree_test.go::TestNodeAddChildPanic" => node_add_child_panic);
fn node_add_child_panic() {
    let mut n4 = Node::new_node4(b"prefix");
    for (i, key) in (b'a'..=b'd').enumerate() {
        n4.add_child(key, leaf(&[key], i as i32));
    }
    assert_eq!(
        panic_message(|| n4.add_child(b'e', leaf(b"5", 5))).as_deref(),
        Some("node4 full!")
    );
}

port!("server/stree/stree_test.go::TestNodeAddChildPanicOthers" => node_add_child_panic_others);
fn node_add_child_panic_others() {
    let mut n10 = Node::new_node10(b"prefix");
    for i in 0..10u8 {
        n10.add_child(b'a' + i, leaf(&[b'0' + i], i32::from(i)));
    }
    assert_eq!(
        panic_message(|| n10.add_child(b'k', leaf(b"11", 11))).as_deref(),
        Some("node10 full!")
    );

    let mut n16 = Node::new_node16(b"prefix");
    for i in 0..16u8 {
        n16.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert_eq!(
        panic_message(|| n16.add_child(16, leaf(b"16", 16))).as_deref(),
        Some("node16 full!")
    );

    let mut n48 = Node::new_node48(b"prefix");
    for i in 0..48u8 {
        n48.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert_eq!(
        panic_message(|| n48.add_child(48, leaf(b"48", 48))).as_deref(),
        Some("node48 full!")
    );
}

port!("server/stree/stree_test.go::TestNodeDeleteChildNotFound" => node_delete_child_not_found);
fn node_delete_child_not_found() {
    let mut n10 = Node::new_node10(b"prefix");
    n10.add_child(b'a', leaf(b"1", 1));
    n10.add_child(b'b', leaf(b"2", 2));
    assert!(n10.delete_child(b'z').is_none());
    assert_eq!(n10.num_children(), 2);

    let mut n16 = Node::new_node16(b"prefix");
    n16.add_child(b'a', leaf(b"1", 1));
    n16.add_child(b'b', leaf(b"2", 2));
    assert!(n16.delete_child(b'z').is_none());
    assert_eq!(n16.num_children(), 2);

    let mut n48 = Node::new_node48(b"prefix");
    n48.add_child(0, leaf(b"1", 1));
    n48.add_child(1, leaf(b"2", 2));
    assert!(n48.delete_child(255).is_none());
    assert_eq!(n48.num_children(), 2);
}

port!("server/stree/stree_test.go::TestNodeShrinkNotNeeded" => node_shrink_not_needed);
fn node_shrink_not_needed() {
    // A node10 with more than 4 children stays.
    let mut n10 = Node::new_node10(b"prefix");
    for i in 0..5u8 {
        n10.add_child(b'a' + i, leaf(&[b'0' + i], i32::from(i)));
    }
    assert!(n10.shrink().is_none());
    assert_eq!(n10.num_children(), 5);

    // A node16 with more than 10 children stays.
    let mut n16 = Node::new_node16(b"prefix");
    for i in 0..11u8 {
        n16.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert!(n16.shrink().is_none());
    assert_eq!(n16.num_children(), 11);
}

port!("server/stree/stree_test.go::TestNode48IterEarlyTermination" => node48_iter_early_termination);
fn node48_iter_early_termination() {
    let mut n48 = Node::new_node48(b"prefix");
    for i in 0..10u8 {
        n48.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert_eq!(count_children(&n48, Some(1)), 1);
}

port!("server/stree/stree_test.go::TestNode10And16IterEarlyTermination" => node10_and16_iter_early_termination);
fn node10_and16_iter_early_termination() {
    let mut n10 = Node::new_node10(b"prefix");
    for i in 0..5u8 {
        n10.add_child(b'a' + i, leaf(&[b'0' + i], i32::from(i)));
    }
    assert_eq!(count_children(&n10, Some(2)), 2);

    let mut n16 = Node::new_node16(b"prefix");
    for i in 0..8u8 {
        n16.add_child(i, leaf(&[i], i32::from(i)));
    }
    assert_eq!(count_children(&n16, Some(3)), 3);
}

port!("server/stree/stree_test.go::TestMatchPartsEdgeCases" => match_parts_edge_cases);
fn match_parts_edge_cases() {
    let list = gen_parts(b"foo.*.bar.>");
    assert_eq!(list, [&b"foo."[..], b"*", b"bar.", b">"]);
    // "foo." matches and the `*` stays open past the fragment's end.
    let rest = match_parts(Parts::new(&list), b"foo.test").expect("matched");
    assert!(!rest.is_empty());
    assert_eq!(rest.len(), 3);
    assert_eq!(rest.get(0), b"*");
}

port!("server/stree/stree_test.go::TestInsertEdgeCases" => insert_edge_cases);
fn insert_edge_cases() {
    let mut st = SubjectTree::new();
    // A subject with the no-pivot byte is not stored.
    assert_eq!(st.insert(b"foo\x7fbar", 1), None);
    assert_eq!(st.len(), 0);

    let mut st = SubjectTree::new();
    st.insert(b"a.b", 1);
    st.insert(b"a.c", 2);
    assert_eq!(st.len(), 2);
    assert_eq!(st.find(b"a.b"), Some(&1));
    assert_eq!(st.find(b"a.c"), Some(&2));
}

port!("server/stree/stree_test.go::TestDeleteEdgeCases" => delete_edge_cases);
fn delete_edge_cases() {
    let mut st = SubjectTree::new();
    // Empty tree.
    assert_eq!(st.delete(b"foo"), None);
    // Empty subject.
    st.insert(b"foo", 1);
    assert_eq!(st.delete(b""), None);
    assert_eq!(st.len(), 1);
    // Subject shorter than a prefix.
    let mut st = SubjectTree::new();
    st.insert(b"verylongprefix.suffix", 1);
    st.insert(b"verylongprefix.suffix2", 2);
    assert_eq!(st.delete(b"very"), None);
    assert_eq!(st.len(), 2);
}

port!("server/stree/stree_test.go::TestMatchEdgeCases" => match_edge_cases);
fn match_edge_cases() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar", 1);
    // Go passes a nil callback; Rust has none, so a callback that does nothing.
    st.for_each_match(b"foo.*", |_, _| {});
    // An empty filter matches nothing.
    let mut count = 0;
    st.for_each_match(b"", |_, _| count += 1);
    assert_eq!(count, 0);
    assert!(st.match_until(b"", |_, _| {
        count += 1;
        true
    }));
    assert_eq!(count, 0);
}

port!("server/stree/stree_test.go::TestIterEdgeCases" => iter_edge_cases);
fn iter_edge_cases() {
    let mut st = SubjectTree::new();
    st.insert(b"a.b.c", 1);
    st.insert(b"a.b.d", 2);
    st.insert(b"a.c.d", 3);
    st.insert(b"b.c.d", 4);
    // Go calls the internal unordered walk from the root.
    let mut count = 0;
    st.iter_fast(|_, _| {
        count += 1;
        count < 2
    });
    assert_eq!(count, 2);
}

port!("server/stree/stree_test.go::TestLeafIter" => leaf_iter);
fn leaf_iter() {
    let l = leaf(b"test", 42);
    let mut called = false;
    l.iter(|_| {
        called = true;
        true
    });
    assert!(!called);
    l.iter(|_| {
        called = true;
        false
    });
    assert!(!called);
    let lf = l.as_leaf().unwrap();
    assert!(lf.matches(b"test"));
    assert_eq!(*lf.value(), 42);
}

port!("server/stree/stree_test.go::TestDeleteChildEdgeCasesMore" => delete_child_edge_cases_more);
fn delete_child_edge_cases_more() {
    // Deleting the last child of a node10 and a node16 (no swap needed).
    let mut n10 = Node::new_node10(b"prefix");
    n10.add_child(b'a', leaf(b"1", 1));
    n10.add_child(b'b', leaf(b"2", 2));
    n10.add_child(b'c', leaf(b"3", 3));
    assert_eq!(leaf_value(n10.delete_child(b'c').as_ref()), 3);
    assert_eq!(n10.num_children(), 2);
    assert_eq!(leaf_value(n10.find_child(b'a')), 1);
    assert_eq!(leaf_value(n10.find_child(b'b')), 2);

    let mut n16 = Node::new_node16(b"prefix");
    n16.add_child(b'a', leaf(b"1", 1));
    n16.add_child(b'b', leaf(b"2", 2));
    n16.add_child(b'c', leaf(b"3", 3));
    assert_eq!(leaf_value(n16.delete_child(b'c').as_ref()), 3);
    assert_eq!(n16.num_children(), 2);
    assert_eq!(leaf_value(n16.find_child(b'a')), 1);
    assert_eq!(leaf_value(n16.find_child(b'b')), 2);
}

port!("server/stree/stree_test.go::TestMatchPartsMoreEdgeCases" => match_parts_more_edge_cases);
fn match_parts_more_edge_cases() {
    // An empty fragment leaves all parts.
    let list = gen_parts(b"foo.*");
    let rest = match_parts(Parts::new(&list), b"").expect("matched");
    assert_eq!(rest.len(), list.len());
    assert_eq!(rest.get(0), b"foo.");
}

port!("server/stree/stree_test.go::TestInsertComplexEdgeCases" => insert_complex_edge_cases);
fn insert_complex_edge_cases() {
    let mut st = SubjectTree::new();
    st.insert(b"a", 1);
    st.insert(b"aa", 2); // Splits.
    st.insert(b"aaa", 3);
    assert_eq!(st.len(), 3);
    assert_eq!(st.find(b"a"), Some(&1));
    assert_eq!(st.find(b"aa"), Some(&2));
    assert_eq!(st.find(b"aaa"), Some(&3));
}

port!("server/stree/stree_test.go::TestDeleteNilNodePointer" => delete_nil_node_pointer);
fn delete_nil_node_pointer() {
    // Deleting from an empty slot (the empty root here) finds nothing.
    let mut st = SubjectTree::<i32>::new();
    assert!(st.root().is_none());
    assert_eq!(st.delete(b"foo"), None);
    assert_eq!(st.len(), 0);
}

port!("server/stree/stree_test.go::TestMatchComplexEdgeCases" => match_complex_edge_cases);
fn match_complex_edge_cases() {
    let mut st = SubjectTree::new();
    st.insert(b"foo.bar.baz", 1);
    st.insert(b"foo.bar.qux", 2);
    st.insert(b"foo.baz.bar", 3);
    st.insert(b"bar.foo.baz", 4);
    let mut got = Vec::new();
    st.for_each_match(b"foo.bar.>", |subject, v| got.push((subject.to_vec(), *v)));
    got.sort();
    assert_eq!(
        got,
        [(b"foo.bar.baz".to_vec(), 1), (b"foo.bar.qux".to_vec(), 2)]
    );
}

port!("server/stree/stree_test.go::TestIterComplexTree" => iter_complex_tree);
fn iter_complex_tree() {
    let mut st = SubjectTree::new();
    for i in 0..20 {
        st.insert(format!("level1.level2.level3.item{i}").as_bytes(), i);
    }
    let mut subjects = Vec::new();
    st.iter_ordered(|subject, _| {
        subjects.push(subject.to_vec());
        true
    });
    assert_eq!(subjects.len(), 20);
    // And in lexical order.
    let mut sorted = subjects.clone();
    sorted.sort();
    assert_eq!(subjects, sorted);
}
