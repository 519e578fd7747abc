//! Ports of `server/gsl/gsl_test.go`.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::gsl::{GenericSublist, GslError, SimpleSublist};
use ported::port;
use std::hash::Hash;

/// Go's `require_Matches`: the number of values matching `subject`.
#[track_caller]
fn require_matches<T: Eq + Hash>(s: &GenericSublist<T>, subject: &str, c: usize) {
    let mut matches = 0;
    s.match_subject(subject, |_| matches += 1);
    assert_eq!(matches, c, "matches for {subject:?}");
}

port!("server/gsl/gsl_test.go::TestGenericSublistInit" => generic_sublist_init);
fn generic_sublist_init() {
    let s = SimpleSublist::new();
    assert_eq!(s.count(), 0);
    assert_eq!(s.num_levels(), 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistInsertCount" => generic_sublist_insert_count);
fn generic_sublist_insert_count() {
    let s = SimpleSublist::new();
    s.insert("foo", ()).unwrap();
    s.insert("bar", ()).unwrap();
    s.insert("foo.bar", ()).unwrap();
    assert_eq!(s.count(), 3);
}

port!("server/gsl/gsl_test.go::TestGenericSublistSimple" => generic_sublist_simple);
fn generic_sublist_simple() {
    let s = SimpleSublist::new();
    s.insert("foo", ()).unwrap();
    require_matches(&s, "foo", 1);
}

port!("server/gsl/gsl_test.go::TestGenericSublistSimpleMultiTokens" => generic_sublist_simple_multi_tokens);
fn generic_sublist_simple_multi_tokens() {
    let s = SimpleSublist::new();
    s.insert("foo.bar.baz", ()).unwrap();
    require_matches(&s, "foo.bar.baz", 1);
}

port!("server/gsl/gsl_test.go::TestGenericSublistPartialWildcard" => generic_sublist_partial_wildcard);
fn generic_sublist_partial_wildcard() {
    let s = SimpleSublist::new();
    s.insert("a.b.c", ()).unwrap();
    s.insert("a.*.c", ()).unwrap();
    require_matches(&s, "a.b.c", 2);
}

port!("server/gsl/gsl_test.go::TestGenericSublistPartialWildcardAtEnd" => generic_sublist_partial_wildcard_at_end);
fn generic_sublist_partial_wildcard_at_end() {
    let s = SimpleSublist::new();
    s.insert("a.b.c", ()).unwrap();
    s.insert("a.b.*", ()).unwrap();
    require_matches(&s, "a.b.c", 2);
}

port!("server/gsl/gsl_test.go::TestGenericSublistFullWildcard" => generic_sublist_full_wildcard);
fn generic_sublist_full_wildcard() {
    let s = SimpleSublist::new();
    s.insert("a.b.c", ()).unwrap();
    s.insert("a.>", ()).unwrap();
    require_matches(&s, "a.b.c", 2);
    require_matches(&s, "a.>", 1);
}

port!("server/gsl/gsl_test.go::TestGenericSublistRemove" => generic_sublist_remove);
fn generic_sublist_remove() {
    let s = SimpleSublist::new();
    s.insert("a.b.c.d", ()).unwrap();
    assert_eq!(s.count(), 1);
    require_matches(&s, "a.b.c.d", 1);

    s.remove("a.b.c.d", &()).unwrap();
    assert_eq!(s.count(), 0);
    require_matches(&s, "a.b.c.d", 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistRemoveWildcard" => generic_sublist_remove_wildcard);
fn generic_sublist_remove_wildcard() {
    let s = GenericSublist::<i32>::new();
    s.insert("a.b.c.d", 11).unwrap();
    s.insert("a.b.*.d", 22).unwrap();
    s.insert("a.b.>", 33).unwrap();
    assert_eq!(s.count(), 3);
    require_matches(&s, "a.b.c.d", 3);

    s.remove("a.b.*.d", &22).unwrap();
    assert_eq!(s.count(), 2);
    require_matches(&s, "a.b.c.d", 2);

    s.remove("a.b.>", &33).unwrap();
    assert_eq!(s.count(), 1);
    require_matches(&s, "a.b.c.d", 1);

    s.remove("a.b.c.d", &11).unwrap();
    assert_eq!(s.count(), 0);
    require_matches(&s, "a.b.c.d", 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistRemoveCleanup" => generic_sublist_remove_cleanup);
fn generic_sublist_remove_cleanup() {
    let s = SimpleSublist::new();
    assert_eq!(s.num_levels(), 0);
    s.insert("a.b.c.d.e.f", ()).unwrap();
    assert_eq!(s.num_levels(), 6);
    s.remove("a.b.c.d.e.f", &()).unwrap();
    assert_eq!(s.num_levels(), 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistRemoveCleanupWildcards" => generic_sublist_remove_cleanup_wildcards);
fn generic_sublist_remove_cleanup_wildcards() {
    let s = SimpleSublist::new();
    assert_eq!(s.num_levels(), 0);
    s.insert("a.b.*.d.e.>", ()).unwrap();
    assert_eq!(s.num_levels(), 6);
    s.remove("a.b.*.d.e.>", &()).unwrap();
    assert_eq!(s.num_levels(), 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistInvalidSubjectsInsert" => generic_sublist_invalid_subjects_insert);
fn generic_sublist_invalid_subjects_insert() {
    let s = SimpleSublist::new();
    // Wildcards are fine, but not empty tokens nor a `>` before the end.
    for bad in [".foo", "foo.", "foo..bar", "foo.bar..baz", "foo.>.baz"] {
        assert_eq!(s.insert(bad, ()), Err(GslError::InvalidSubject), "{bad:?}");
    }
    assert_eq!(GslError::InvalidSubject.to_string(), "gsl: invalid subject");
}

port!("server/gsl/gsl_test.go::TestGenericSublistBadSubjectOnRemove" => generic_sublist_bad_subject_on_remove);
fn generic_sublist_bad_subject_on_remove() {
    let s = SimpleSublist::new();
    assert_eq!(s.insert("a.b..d", ()), Err(GslError::InvalidSubject));
    assert_eq!(s.remove("a.b..d", &()), Err(GslError::InvalidSubject));
    assert_eq!(s.remove("a.>.b", &()), Err(GslError::InvalidSubject));
}

port!("server/gsl/gsl_test.go::TestGenericSublistTwoTokenPubMatchSingleTokenSub" => generic_sublist_two_token_pub_match_single_token_sub);
fn generic_sublist_two_token_pub_match_single_token_sub() {
    let s = SimpleSublist::new();
    s.insert("foo", ()).unwrap();
    require_matches(&s, "foo", 1);
    require_matches(&s, "foo.bar", 0);
}

port!("server/gsl/gsl_test.go::TestGenericSublistInsertWithWildcardsAsLiterals" => generic_sublist_insert_with_wildcards_as_literals);
fn generic_sublist_insert_with_wildcards_as_literals() {
    let s = GenericSublist::<usize>::new();
    for (i, subject) in ["foo.*-", "foo.>-"].into_iter().enumerate() {
        s.insert(subject, i).unwrap();
        require_matches(&s, "foo.bar", 0);
        require_matches(&s, subject, 1);
    }
}

port!("server/gsl/gsl_test.go::TestGenericSublistRemoveWithWildcardsAsLiterals" => generic_sublist_remove_with_wildcards_as_literals);
fn generic_sublist_remove_with_wildcards_as_literals() {
    let s = GenericSublist::<usize>::new();
    for (i, subject) in ["foo.*-", "foo.>-"].into_iter().enumerate() {
        s.insert(subject, i).unwrap();
        require_matches(&s, "foo.bar", 0);
        require_matches(&s, subject, 1);
        assert_eq!(s.remove("foo.bar", &i), Err(GslError::NotFound));
        assert_eq!(GslError::NotFound.to_string(), "gsl: no matches found");
        assert_eq!(s.count(), 1);
        s.remove(subject, &i).unwrap();
        assert_eq!(s.count(), 0);
    }
}

port!("server/gsl/gsl_test.go::TestGenericSublistMatchWithEmptyTokens" => generic_sublist_match_with_empty_tokens);
fn generic_sublist_match_with_empty_tokens() {
    let s = SimpleSublist::new();
    s.insert(">", ()).unwrap();
    for subject in [".foo", "..foo", "foo..", "foo.", "foo..bar", "foo...bar"] {
        require_matches(&s, subject, 0);
    }
}

port!("server/gsl/gsl_test.go::TestGenericSublistHasInterest" => generic_sublist_has_interest);
fn generic_sublist_has_interest() {
    let s = GenericSublist::<i32>::new();
    s.insert("foo", 11).unwrap();

    assert!(s.has_interest("foo"));
    assert!(!s.has_interest("bar"));

    require_matches(&s, "bar", 0);
    assert!(!s.has_interest("bar"));

    s.remove("foo", &11).unwrap();
    assert!(!s.has_interest("foo"));

    s.insert("foo.*", 22).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(s.has_interest("foo.bar"));
    assert!(!s.has_interest("foo.bar.baz"));

    s.remove("foo.*", &22).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(!s.has_interest("foo.bar"));
    assert!(!s.has_interest("foo.bar.baz"));

    s.insert("foo.>", 33).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(s.has_interest("foo.bar"));
    assert!(s.has_interest("foo.bar.baz"));

    s.remove("foo.>", &33).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(!s.has_interest("foo.bar"));
    assert!(!s.has_interest("foo.bar.baz"));

    s.insert("*.>", 44).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(s.has_interest("foo.bar"));
    assert!(s.has_interest("foo.baz"));
    s.remove("*.>", &44).unwrap();

    s.insert("*.bar", 55).unwrap();
    assert!(!s.has_interest("foo"));
    assert!(s.has_interest("foo.bar"));
    assert!(!s.has_interest("foo.baz"));
    s.remove("*.bar", &55).unwrap();

    s.insert("*", 66).unwrap();
    assert!(s.has_interest("foo"));
    assert!(!s.has_interest("foo.bar"));
    s.remove("*", &66).unwrap();
}

port!("server/gsl/gsl_test.go::TestGenericSublistHasInterestOverlapping" => generic_sublist_has_interest_overlapping);
fn generic_sublist_has_interest_overlapping() {
    let s = GenericSublist::<i32>::new();
    s.insert("stream.A.child", 11).unwrap();
    s.insert("stream.*", 11).unwrap();
    assert!(s.has_interest("stream.A.child"));
    assert!(s.has_interest("stream.A"));
}

port!("server/gsl/gsl_test.go::TestGenericSublistMatchesFullWildcard" => generic_sublist_matches_full_wildcard);
fn generic_sublist_matches_full_wildcard() {
    let s = GenericSublist::<i32>::new();
    s.insert("stream.A.child", 11).unwrap();
    s.insert("stream.*", 11).unwrap();
    assert!(s.has_interest("stream.A.child"));
    assert!(s.has_interest("stream.A"));
    assert!(!s.matches_full_wildcard());

    s.insert(">", 11).unwrap();
    assert!(s.matches_full_wildcard());
}

port!("server/gsl/gsl_test.go::TestGenericSublistSingleFilter" => generic_sublist_single_filter);
fn generic_sublist_single_filter() {
    // Go calls the method on a nil sublist; the Rust equivalent is having no sublist.
    let sn: Option<GenericSublist<i32>> = None;
    assert_eq!(
        sn.as_ref().and_then(GenericSublist::matches_single_filter),
        None
    );

    let s = GenericSublist::<i32>::new();
    assert_eq!(s.matches_single_filter(), None);

    s.insert("stream.A.child", 11).unwrap();
    assert_eq!(s.matches_single_filter().as_deref(), Some("stream.A.child"));

    s.insert("stream.A.child", 22).unwrap();
    assert_eq!(s.matches_single_filter().as_deref(), Some("stream.A.child"));

    s.insert("stream.A.other", 22).unwrap();
    assert_eq!(s.matches_single_filter(), None);

    s.insert("stream.*", 33).unwrap();
    assert_eq!(s.matches_single_filter(), None);

    // An ancestor with descendants is not a single filter.
    let s2 = GenericSublist::<i32>::new();
    s2.insert("foo", 1).unwrap();
    s2.insert("foo.bar", 2).unwrap();
    s2.insert("foo.baz", 3).unwrap();
    assert_eq!(s2.matches_single_filter(), None);

    // Nor are siblings below a shared prefix.
    let s3 = GenericSublist::<i32>::new();
    s3.insert("foo.bar", 2).unwrap();
    s3.insert("foo.baz", 3).unwrap();
    assert_eq!(s3.matches_single_filter(), None);
}

port!("server/gsl/gsl_test.go::TestGenericSublistHasInterestStartingInRace" => generic_sublist_has_interest_starting_in_race);
fn generic_sublist_has_interest_starting_in_race() {
    let s = GenericSublist::<i32>::new();
    for i in 0..10 {
        s.insert("foo.bar.baz", i).unwrap();
        s.insert("foo.*.baz", i + 10).unwrap();
        s.insert("foo.>", i + 20).unwrap();
    }
    const ITERATIONS: i32 = 1000;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..ITERATIONS {
                // The pre-populated patterns stay, so these answers never change.
                assert!(s.has_interest_starting_in("foo"));
                assert!(s.has_interest_starting_in("foo.bar"));
                assert!(s.has_interest_starting_in("foo.bar.baz"));
                assert!(!s.has_interest_starting_in("other.subject"));
            }
        });
        scope.spawn(|| {
            for i in 0..ITERATIONS {
                let val = 1000 + i;
                let subj = format!("test.subject.{}", char::from(b'a' + (i % 26) as u8));
                s.insert(&subj, val).unwrap();
                s.insert("foo.*.test", val).unwrap();
                s.remove(&subj, &val).unwrap();
                s.remove("foo.*.test", &val).unwrap();
            }
        });
        scope.spawn(|| {
            for _ in 0..ITERATIONS {
                assert!(s.has_interest("foo.bar.baz"));
                assert!(s.has_interest("foo.something.baz"));
            }
        });
    });
    assert_eq!(s.count(), 30);
}

port!("server/gsl/gsl_test.go::TestGenericSublistNumInterest" => generic_sublist_num_interest);
fn generic_sublist_num_interest() {
    let s = GenericSublist::<i32>::new();
    s.insert("foo", 11).unwrap();

    #[track_caller]
    fn require_num_interest(s: &GenericSublist<i32>, subj: &str, wnp: usize) {
        require_matches(s, subj, wnp);
        assert_eq!(s.num_interest(subj), wnp, "NumInterest({subj:?})");
    }

    require_num_interest(&s, "foo", 1);
    require_num_interest(&s, "bar", 0);

    s.remove("foo", &11).unwrap();
    require_num_interest(&s, "foo", 0);

    s.insert("foo.*", 22).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 1);
    require_num_interest(&s, "foo.bar.baz", 0);

    s.remove("foo.*", &22).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 0);
    require_num_interest(&s, "foo.bar.baz", 0);

    s.insert("foo.>", 33).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 1);
    require_num_interest(&s, "foo.bar.baz", 1);

    s.remove("foo.>", &33).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 0);
    require_num_interest(&s, "foo.bar.baz", 0);

    s.insert("*.>", 44).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 1);
    require_num_interest(&s, "foo.bar.baz", 1);
    s.remove("*.>", &44).unwrap();

    s.insert("*.bar", 55).unwrap();
    require_num_interest(&s, "foo", 0);
    require_num_interest(&s, "foo.bar", 1);
    require_num_interest(&s, "foo.bar.baz", 0);
    s.remove("*.bar", &55).unwrap();

    s.insert("*", 66).unwrap();
    require_num_interest(&s, "foo", 1);
    require_num_interest(&s, "foo.bar", 0);
    s.remove("*", &66).unwrap();
}
