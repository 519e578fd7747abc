//! Unit tests of the subject tree beyond the ported Go tests: a model check against a
//! `BTreeMap` and a token-by-token wildcard matcher.

use super::node::Node;
use super::*;
use std::collections::BTreeMap;

/// Small deterministic generator so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A subject of 1-5 tokens drawn from a small alphabet, so subjects share prefixes and
/// tokens often are prefixes of each other.
fn random_subject(rng: &mut Rng) -> String {
    // The long ones outgrow a node's inline path bytes.
    const TOKENS: [&str; 14] = [
        "a",
        "ab",
        "abc",
        "b",
        "ba",
        "foo",
        "foobar",
        "1",
        "12",
        "123",
        "z",
        "zz",
        "a_token_longer_than_the_inline_path_bytes",
        "a_token_longer_than_the_inline_path_bytes_too",
    ];
    let n = 1 + rng.below(5);
    (0..n)
        .map(|_| match rng.below(4) {
            // A wide fan-out of one-byte tokens drives nodes up to node256 and back.
            0 => char::from(b'A' + rng.below(60) as u8).to_string(),
            _ => TOKENS[rng.below(TOKENS.len() as u64)].to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// NATS matching, one whole token at a time.
fn reference_match(filter: &str, subject: &str) -> bool {
    let f: Vec<&str> = filter.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, ft) in f.iter().enumerate() {
        if *ft == ">" && i == f.len() - 1 {
            return s.len() > i;
        }
        match s.get(i) {
            Some(st) if *ft == "*" || ft == st => {}
            _ => return false,
        }
    }
    f.len() == s.len()
}

/// A filter made from a random subject with some tokens replaced by `*` and maybe the
/// tail by `>`.
fn random_filter(rng: &mut Rng) -> String {
    let subject = random_subject(rng);
    let mut tokens: Vec<&str> = subject.split('.').collect();
    for t in tokens.iter_mut() {
        if rng.below(3) == 0 {
            *t = "*";
        }
    }
    if rng.below(3) == 0 {
        let keep = rng.below(tokens.len() as u64);
        tokens.truncate(keep);
        tokens.push(">");
    }
    tokens.join(".")
}

fn check_against_model(tree: &SubjectTree<usize>, model: &BTreeMap<String, usize>) {
    assert_eq!(tree.len(), model.len());
    for (subject, value) in model {
        assert_eq!(tree.find(subject.as_bytes()), Some(value), "find {subject}");
    }
    let mut ordered = Vec::new();
    tree.iter_ordered(|subject, value| {
        ordered.push((String::from_utf8(subject.to_vec()).expect("utf8"), *value));
        true
    });
    let expected: Vec<(String, usize)> = model.iter().map(|(s, v)| (s.clone(), *v)).collect();
    assert_eq!(ordered, expected);
    let mut fast = Vec::new();
    tree.iter_fast(|subject, value| {
        fast.push((String::from_utf8(subject.to_vec()).expect("utf8"), *value));
        true
    });
    fast.sort();
    assert_eq!(fast, expected);
}

#[test]
fn random_inserts_and_deletes_agree_with_a_btreemap() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tree = SubjectTree::new();
    let mut model = BTreeMap::new();
    for round in 0..4000 {
        let subject = random_subject(&mut rng);
        if rng.below(3) == 0 {
            assert_eq!(
                tree.delete(subject.as_bytes()),
                model.remove(&subject),
                "delete {subject}"
            );
        } else {
            assert_eq!(
                tree.insert(subject.as_bytes(), round),
                model.insert(subject.clone(), round)
            );
        }
        if round % 97 == 0 {
            check_against_model(&tree, &model);
        }
    }
    check_against_model(&tree, &model);
    // Drain to empty: every node must collapse away.
    let subjects: Vec<String> = model.keys().cloned().collect();
    for subject in subjects {
        assert_eq!(tree.delete(subject.as_bytes()), model.remove(&subject));
        if model.len() % 13 == 0 {
            check_against_model(&tree, &model);
        }
    }
    assert!(tree.root().is_none());
    assert!(tree.is_empty());
}

#[test]
fn random_wildcard_matches_agree_with_token_matching() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut tree = SubjectTree::new();
    let mut model = BTreeMap::new();
    for i in 0..600 {
        let subject = random_subject(&mut rng);
        tree.insert(subject.as_bytes(), i);
        model.insert(subject, i);
    }
    for _ in 0..600 {
        let filter = random_filter(&mut rng);
        let mut got = Vec::new();
        tree.for_each_match(filter.as_bytes(), |subject, value| {
            got.push((String::from_utf8(subject.to_vec()).expect("utf8"), *value));
        });
        got.sort();
        let want: Vec<(String, usize)> = model
            .iter()
            .filter(|(s, _)| reference_match(&filter, s))
            .map(|(s, v)| (s.clone(), *v))
            .collect();
        assert_eq!(got, want, "filter {filter}");
        let mut got_mut = Vec::new();
        tree.for_each_match_mut(filter.as_bytes(), |subject, value| {
            got_mut.push((String::from_utf8(subject.to_vec()).expect("utf8"), *value));
        });
        got_mut.sort();
        assert_eq!(got_mut, want, "filter {filter} (mutable walk)");
    }
}

#[test]
fn mutable_access_updates_values_in_place() {
    let mut tree = SubjectTree::new();
    for (i, s) in ["foo.bar", "foo.baz", "foo.bar.x", "bar"]
        .iter()
        .enumerate()
    {
        tree.insert(s.as_bytes(), i);
    }
    *tree.find_mut(b"foo.baz").expect("present") += 10;
    assert_eq!(tree.find(b"foo.baz"), Some(&11));
    assert!(tree.find_mut(b"foo.ba").is_none());
    tree.for_each_match_mut(b"foo.*", |_, v| *v += 100);
    assert_eq!(tree.find(b"foo.bar"), Some(&100));
    assert_eq!(tree.find(b"foo.baz"), Some(&111));
    assert_eq!(tree.find(b"foo.bar.x"), Some(&2));
    let mut seen = 0;
    assert!(!tree.match_until_mut(b">", |_, _| {
        seen += 1;
        seen < 2
    }));
    assert_eq!(seen, 2);
    tree.iter_fast_mut(|_, v| {
        *v = 7;
        true
    });
    let mut all = Vec::new();
    tree.iter_ordered(|_, v| {
        all.push(*v);
        true
    });
    assert_eq!(all, [7, 7, 7, 7]);
}

#[test]
fn refuses_subjects_with_the_no_pivot_byte() {
    let mut tree = SubjectTree::new();
    assert_eq!(tree.insert(b"foo\x7f", 1), None);
    assert!(tree.is_empty());
    assert!(tree.find(b"foo\x7f").is_none());
}

#[test]
fn dump_prints_one_line_per_node() {
    let mut tree = SubjectTree::new();
    let mut out = String::new();
    tree.dump(&mut out).expect("write");
    assert_eq!(out, "EMPTY\n\n");
    tree.insert(b"foo.bar", 1);
    tree.insert(b"foo.baz", 2);
    out.clear();
    tree.dump(&mut out).expect("write");
    assert_eq!(
        out,
        "-- NODE4 Prefix: \"foo.ba\"\n  |__ LEAF: Suffix: \"z\" Value: 2\n  |__ LEAF: Suffix: \"r\" Value: 1\n\n"
    );
}

#[test]
fn a_child_slot_is_two_words() {
    // Flat memory per subject depends on slots staying small.
    assert_eq!(
        std::mem::size_of::<Option<Node<u64>>>(),
        2 * std::mem::size_of::<usize>()
    );
}

#[test]
fn debug_lists_entries_in_order() {
    let mut tree = SubjectTree::new();
    tree.insert(b"b", 2);
    tree.insert(b"a", 1);
    assert_eq!(format!("{tree:?}"), "{\"a\": 1, \"b\": 2}");
}

#[test]
fn a_deep_tree_of_nested_subjects_walks_without_trouble() {
    // Each subject extends the previous one by a byte: one tree level per subject, as deep
    // as a subject can be long in practice (the default max control line is 4 KiB).
    let mut tree = SubjectTree::new();
    let mut subject = Vec::new();
    for i in 0..4096 {
        subject.push(b'a');
        tree.insert(&subject, i);
    }
    assert_eq!(tree.len(), 4096);
    assert_eq!(tree.find(&subject), Some(&4095));
    let mut count = 0;
    tree.iter_ordered(|_, _| {
        count += 1;
        true
    });
    assert_eq!(count, 4096);
    tree.for_each_match(b">", |_, _| count -= 1);
    assert_eq!(count, 0);
    tree.for_each_match_mut(b">", |_, v| *v += 1);
    tree.iter_fast_mut(|_, v| {
        *v -= 1;
        true
    });
    struct Everything;
    impl SubjectInterest for Everything {
        fn has_interest(&self, _: &[u8]) -> bool {
            true
        }
        fn has_interest_starting_in(&self, _: &[u8]) -> bool {
            true
        }
    }
    intersect_gsl(&tree, &Everything, |_, _| {
        count += 1;
        true
    });
    assert_eq!(count, 4096);
    let copy = tree.clone();
    let mut same = 0;
    lazy_intersect(&tree, &copy, |_, a, b| same += usize::from(a == b));
    assert_eq!(same, 4096);
    drop(copy);
    while !subject.is_empty() {
        assert!(tree.delete(&subject).is_some());
        subject.pop();
    }
    assert!(tree.is_empty());
}
