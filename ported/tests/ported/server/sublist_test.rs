//! Ports of `server/sublist_test.go`.

// Ports fail by panicking; unwrapping is how they assert success.
#![allow(clippy::unwrap_used)]

use natsd::subject::{
    is_valid_literal_subject, is_valid_subject, is_valid_subject_checked, match_literal,
    subject_is_literal, subject_is_subset_match, subjects_collide, token_at,
};
use natsd::subject_transform::{validate_mapping, MappingErrorKind, TransformError};
use natsd::sublist::{
    InterestListener, Listener, SubEntry, Sublist, SublistError, SublistResult, SublistStats,
    CACHE_MAX,
};
use ported::port;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

// ---- test subscriptions -------------------------------------------------------------

/// The kind of connection a subscription belongs to (Go's `client.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Client,
    Router,
    Leaf,
}

#[derive(Debug)]
struct SubData {
    subject: String,
    queue: Option<String>,
    kind: Mutex<Kind>,
    /// Queue weight of a remote queue subscription (Go's `qw`).
    qw: AtomicU32,
}

/// A subscription compared by identity, like Go's `*subscription`.
#[derive(Debug, Clone)]
struct Sub(Arc<SubData>);

impl PartialEq for Sub {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Sub {}
impl Hash for Sub {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}

impl SubEntry for Sub {
    fn queue_weight(&self) -> u32 {
        let kind = *self.0.kind.lock().unwrap();
        if self.0.queue.is_some() && matches!(kind, Kind::Router | Kind::Leaf) {
            self.0.qw.load(Ordering::Relaxed)
        } else {
            1
        }
    }
}

fn mk(subject: &str, queue: Option<&str>, kind: Kind, qw: u32) -> Sub {
    Sub(Arc::new(SubData {
        subject: subject.to_string(),
        queue: queue.map(str::to_string),
        kind: Mutex::new(kind),
        qw: AtomicU32::new(qw),
    }))
}

fn new_sub(subject: &str) -> Sub {
    mk(subject, None, Kind::Client, 0)
}

fn new_qsub(subject: &str, queue: &str) -> Sub {
    if queue.is_empty() {
        return new_sub(subject);
    }
    mk(subject, Some(queue), Kind::None, 0)
}

fn new_remote_qsub(subject: &str, queue: &str, num: u32) -> Sub {
    if queue.is_empty() {
        return new_sub(subject);
    }
    mk(subject, Some(queue), Kind::Router, num)
}

type Sl = Sublist<Sub>;

fn insert(s: &Sl, sub: &Sub) -> Result<(), SublistError> {
    s.insert(&sub.0.subject, sub.0.queue.as_deref(), sub.clone())
}

fn remove(s: &Sl, sub: &Sub) -> Result<(), SublistError> {
    s.remove(&sub.0.subject, sub.0.queue.as_deref(), sub)
}

fn remove_batch(s: &Sl, subs: &[Sub]) -> Result<(), SublistError> {
    s.remove_batch(
        subs.iter()
            .map(|x| (x.0.subject.as_str(), x.0.queue.as_deref(), x)),
    )
}

#[track_caller]
fn verify_count(s: &Sl, count: u32) {
    assert_eq!(
        s.count(),
        count,
        "Count is {}, should be {}",
        s.count(),
        count
    );
}

#[track_caller]
fn verify_len(r: &[Sub], l: usize) {
    assert_eq!(r.len(), l, "Results len is {}, should be {}", r.len(), l);
}

#[track_caller]
fn verify_qlen(r: &[Vec<Sub>], l: usize) {
    assert_eq!(
        r.len(),
        l,
        "Queue Results len is {}, should be {}",
        r.len(),
        l
    );
}

#[track_caller]
fn verify_num_levels(s: &Sl, expected: usize) {
    assert_eq!(
        s.num_levels(),
        expected,
        "NumLevels is {}, should be {}",
        s.num_levels(),
        expected
    );
}

#[track_caller]
fn verify_member(r: &[Sub], val: &Sub) {
    assert!(
        r.contains(val),
        "Subscription for [{} : {:?}] not found in results",
        val.0.subject,
        val.0.queue
    );
}

#[track_caller]
fn verify_qmember(r: &SublistResult<Sub>, val: &Sub) {
    let q = val.0.queue.as_deref().expect("queue subscription");
    let slot = r.queue_slot(q).expect("queue group in results");
    verify_member(&r.qsubs[slot], val);
}

// ---- tests ---------------------------------------------------------------------------

port!("server/sublist_test.go::TestSublistInit" => sublist_init);
fn sublist_init() {
    let s = Sl::with_cache();
    verify_count(&s, 0);
}

fn sublist_insert_count_with(s: Sl) {
    insert(&s, &new_sub("foo")).unwrap();
    insert(&s, &new_sub("bar")).unwrap();
    insert(&s, &new_sub("foo.bar")).unwrap();
    verify_count(&s, 3);
}

port!("server/sublist_test.go::TestSublistInsertCount" => sublist_insert_count);
fn sublist_insert_count() {
    sublist_insert_count_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistInsertCountNoCache" => sublist_insert_count_no_cache);
fn sublist_insert_count_no_cache() {
    sublist_insert_count_with(Sl::no_cache());
}

fn sublist_simple_with(s: Sl) {
    let subject = "foo";
    let sub = new_sub(subject);
    insert(&s, &sub).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub);
}

port!("server/sublist_test.go::TestSublistSimple" => sublist_simple);
fn sublist_simple() {
    sublist_simple_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistSimpleNoCache" => sublist_simple_no_cache);
fn sublist_simple_no_cache() {
    sublist_simple_with(Sl::no_cache());
}

fn sublist_simple_multi_tokens_with(s: Sl) {
    let subject = "foo.bar.baz";
    let sub = new_sub(subject);
    insert(&s, &sub).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub);
}

port!("server/sublist_test.go::TestSublistSimpleMultiTokens" => sublist_simple_multi_tokens);
fn sublist_simple_multi_tokens() {
    sublist_simple_multi_tokens_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistSimpleMultiTokensNoCache" => sublist_simple_multi_tokens_no_cache);
fn sublist_simple_multi_tokens_no_cache() {
    sublist_simple_multi_tokens_with(Sl::no_cache());
}

fn sublist_partial_wildcard_with(s: Sl) {
    let lsub = new_sub("a.b.c");
    let psub = new_sub("a.*.c");
    insert(&s, &lsub).unwrap();
    insert(&s, &psub).unwrap();
    let r = s.match_subject("a.b.c");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &lsub);
    verify_member(&r.psubs, &psub);
}

port!("server/sublist_test.go::TestSublistPartialWildcard" => sublist_partial_wildcard);
fn sublist_partial_wildcard() {
    sublist_partial_wildcard_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistPartialWildcardNoCache" => sublist_partial_wildcard_no_cache);
fn sublist_partial_wildcard_no_cache() {
    sublist_partial_wildcard_with(Sl::no_cache());
}

fn sublist_partial_wildcard_at_end_with(s: Sl) {
    let lsub = new_sub("a.b.c");
    let psub = new_sub("a.b.*");
    insert(&s, &lsub).unwrap();
    insert(&s, &psub).unwrap();
    let r = s.match_subject("a.b.c");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &lsub);
    verify_member(&r.psubs, &psub);
}

port!("server/sublist_test.go::TestSublistPartialWildcardAtEnd" => sublist_partial_wildcard_at_end);
fn sublist_partial_wildcard_at_end() {
    sublist_partial_wildcard_at_end_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistPartialWildcardAtEndNoCache" => sublist_partial_wildcard_at_end_no_cache);
fn sublist_partial_wildcard_at_end_no_cache() {
    sublist_partial_wildcard_at_end_with(Sl::no_cache());
}

fn sublist_full_wildcard_with(s: Sl) {
    let lsub = new_sub("a.b.c");
    let fsub = new_sub("a.>");
    insert(&s, &lsub).unwrap();
    insert(&s, &fsub).unwrap();
    let r = s.match_subject("a.b.c");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &lsub);
    verify_member(&r.psubs, &fsub);

    let r = s.match_subject("a.>");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &fsub);
}

port!("server/sublist_test.go::TestSublistFullWildcard" => sublist_full_wildcard);
fn sublist_full_wildcard() {
    sublist_full_wildcard_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistFullWildcardNoCache" => sublist_full_wildcard_no_cache);
fn sublist_full_wildcard_no_cache() {
    sublist_full_wildcard_with(Sl::no_cache());
}

fn sublist_remove_with(s: Sl) {
    let subject = "a.b.c.d";
    let sub = new_sub(subject);
    insert(&s, &sub).unwrap();
    verify_count(&s, 1);
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    assert_eq!(remove(&s, &new_sub("a.b.c")), Err(SublistError::NotFound));
    verify_count(&s, 1);
    remove(&s, &sub).unwrap();
    verify_count(&s, 0);
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
}

port!("server/sublist_test.go::TestSublistRemove" => sublist_remove);
fn sublist_remove() {
    sublist_remove_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveNoCache" => sublist_remove_no_cache);
fn sublist_remove_no_cache() {
    sublist_remove_with(Sl::no_cache());
}

fn sublist_remove_wildcard_with(s: Sl) {
    let subject = "a.b.c.d";
    let sub = new_sub(subject);
    let psub = new_sub("a.b.*.d");
    let fsub = new_sub("a.b.>");
    insert(&s, &sub).unwrap();
    insert(&s, &psub).unwrap();
    insert(&s, &fsub).unwrap();
    verify_count(&s, 3);
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 3);
    remove(&s, &sub).unwrap();
    verify_count(&s, 2);
    remove(&s, &fsub).unwrap();
    verify_count(&s, 1);
    remove(&s, &psub).unwrap();
    verify_count(&s, 0);
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
}

port!("server/sublist_test.go::TestSublistRemoveWildcard" => sublist_remove_wildcard);
fn sublist_remove_wildcard() {
    sublist_remove_wildcard_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveWildcardNoCache" => sublist_remove_wildcard_no_cache);
fn sublist_remove_wildcard_no_cache() {
    sublist_remove_wildcard_with(Sl::no_cache());
}

fn sublist_remove_cleanup_with(s: Sl) {
    let literal = "a.b.c.d.e.f";
    let depth = literal.split('.').count();
    let sub = new_sub(literal);
    verify_num_levels(&s, 0);
    insert(&s, &sub).unwrap();
    verify_num_levels(&s, depth);
    remove(&s, &sub).unwrap();
    verify_num_levels(&s, 0);
}

port!("server/sublist_test.go::TestSublistRemoveCleanup" => sublist_remove_cleanup);
fn sublist_remove_cleanup() {
    sublist_remove_cleanup_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveCleanupNoCache" => sublist_remove_cleanup_no_cache);
fn sublist_remove_cleanup_no_cache() {
    sublist_remove_cleanup_with(Sl::no_cache());
}

fn sublist_remove_cleanup_wildcards_with(s: Sl) {
    let subject = "a.b.*.d.e.>";
    let depth = subject.split('.').count();
    let sub = new_sub(subject);
    verify_num_levels(&s, 0);
    insert(&s, &sub).unwrap();
    verify_num_levels(&s, depth);
    remove(&s, &sub).unwrap();
    verify_num_levels(&s, 0);
}

port!("server/sublist_test.go::TestSublistRemoveCleanupWildcards" => sublist_remove_cleanup_wildcards);
fn sublist_remove_cleanup_wildcards() {
    sublist_remove_cleanup_wildcards_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveCleanupWildcardsNoCache" => sublist_remove_cleanup_wildcards_no_cache);
fn sublist_remove_cleanup_wildcards_no_cache() {
    sublist_remove_cleanup_wildcards_with(Sl::no_cache());
}

/// Go's `plistMin`: the node size at which Go switches to a flat list of subscribers.
const PLIST_MIN: usize = 256;

fn sublist_remove_with_large_subs_with(s: Sl) {
    let subject = "foo";
    for _ in 0..PLIST_MIN * 2 {
        insert(&s, &new_sub(subject)).unwrap();
    }
    let r = s.match_subject(subject);
    verify_len(&r.psubs, PLIST_MIN * 2);
    // Remove one in the middle, the first and the last.
    remove(&s, &r.psubs[PLIST_MIN]).unwrap();
    remove(&s, &r.psubs[0]).unwrap();
    remove(&s, &r.psubs[r.psubs.len() - 1]).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, PLIST_MIN * 2 - 3);
}

port!("server/sublist_test.go::TestSublistRemoveWithLargeSubs" => sublist_remove_with_large_subs);
fn sublist_remove_with_large_subs() {
    sublist_remove_with_large_subs_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveWithLargeSubsNoCache" => sublist_remove_with_large_subs_no_cache);
fn sublist_remove_with_large_subs_no_cache() {
    sublist_remove_with_large_subs_with(Sl::no_cache());
}

fn sublist_invalid_subjects_insert_with(s: Sl) {
    // Subscriptions may have wildcards, but no empty tokens and no `>` before the end.
    for bad in [".foo", "foo.", "foo..bar", "foo.bar..baz", "foo.>.bar"] {
        assert_eq!(
            insert(&s, &new_sub(bad)),
            Err(SublistError::InvalidSubject),
            "Expected invalid subject error for {bad:?}"
        );
    }
    verify_count(&s, 0);
}

port!("server/sublist_test.go::TestSublistInvalidSubjectsInsert" => sublist_invalid_subjects_insert);
fn sublist_invalid_subjects_insert() {
    sublist_invalid_subjects_insert_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistInvalidSubjectsInsertNoCache" => sublist_invalid_subjects_insert_no_cache);
fn sublist_invalid_subjects_insert_no_cache() {
    sublist_invalid_subjects_insert_with(Sl::no_cache());
}

port!("server/sublist_test.go::TestSublistNoCacheRemoveBatch" => sublist_no_cache_remove_batch);
fn sublist_no_cache_remove_batch() {
    let s = Sl::no_cache();
    insert(&s, &new_sub("foo")).unwrap();
    let sub = new_sub("bar");
    insert(&s, &sub).unwrap();
    remove_batch(&s, &[sub]).unwrap();
    // The batch must not have turned the cache on.
    for _ in 0..10 {
        s.match_subject("foo");
    }
    assert!(!s.cache_enabled(), "Cache should not be enabled");
    assert_eq!(s.cache_count(), 0);
}

port!("server/sublist_test.go::TestSublistRemoveBatchWithError" => sublist_remove_batch_with_error);
fn sublist_remove_batch_with_error() {
    let s = Sl::no_cache();
    let sub1 = new_sub("foo");
    let sub2 = new_sub("bar");
    let sub3 = new_sub("baz");
    insert(&s, &sub1).unwrap();
    insert(&s, &sub2).unwrap();
    insert(&s, &sub3).unwrap();
    let sub_not_present = new_sub("not.inserted");
    // The missing one is reported, yet the others are still removed.
    let err = remove_batch(&s, &[sub_not_present, sub1, sub3]);
    assert_eq!(err, Err(SublistError::NotFound));
    verify_count(&s, 1);
    let r = s.match_subject("bar");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub2);
    let r = s.match_subject("foo");
    verify_len(&r.psubs, 0);
    let r = s.match_subject("baz");
    verify_len(&r.psubs, 0);
}

port!("server/sublist_test.go::TestSublistCache" => sublist_cache);
fn sublist_cache() {
    let s = Sl::with_cache();

    let subject = "a.b.c.d";
    let sub = new_sub(subject);
    let psub = new_sub("a.b.*.d");
    let fsub = new_sub("a.b.>");
    insert(&s, &sub).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    insert(&s, &psub).unwrap();
    insert(&s, &fsub).unwrap();
    verify_count(&s, 3);
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 3);
    remove(&s, &sub).unwrap();
    verify_count(&s, 2);
    remove(&s, &fsub).unwrap();
    verify_count(&s, 1);
    remove(&s, &psub).unwrap();
    verify_count(&s, 0);

    assert_eq!(s.cache_count(), 0, "Cache should be zero");

    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);

    for i in 0..2 * CACHE_MAX {
        s.match_subject(&format!("foo-{i}\n"));
    }
    // Go sweeps in the background and polls for up to 2s; natsd sweeps inline, so the
    // bound holds at once.
    let cc = s.cache_count();
    assert!(
        cc <= CACHE_MAX,
        "Cache should be constrained by cacheMax, got {cc} for current count"
    );

    // Adding to a wildcard updates the cache.
    let s = Sl::with_cache();
    insert(&s, &new_sub("foo.*")).unwrap();
    insert(&s, &new_sub("foo.bar")).unwrap();
    let r = s.match_subject("foo.baz");
    verify_len(&r.psubs, 1);
    let r = s.match_subject("foo.bar");
    verify_len(&r.psubs, 2);
    insert(&s, &new_sub("foo.>")).unwrap();
    let r = s.match_subject("foo.bar");
    verify_len(&r.psubs, 3);
}

fn sublist_basic_queue_results_with(s: Sl) {
    let subject = "foo";
    let sub = new_sub(subject);
    let sub1 = new_qsub(subject, "bar");
    let sub2 = new_qsub(subject, "baz");

    insert(&s, &sub1).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], 1);
    verify_qmember(&r, &sub1);

    insert(&s, &sub2).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 2);
    verify_len(&r.qsubs[0], 1);
    verify_len(&r.qsubs[1], 1);
    verify_qmember(&r, &sub1);
    verify_qmember(&r, &sub2);

    insert(&s, &sub).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    verify_qlen(&r.qsubs, 2);
    verify_len(&r.qsubs[0], 1);
    verify_len(&r.qsubs[1], 1);
    verify_qmember(&r, &sub1);
    verify_qmember(&r, &sub2);
    verify_member(&r.psubs, &sub);

    let sub3 = new_qsub(subject, "bar");
    let sub4 = new_qsub(subject, "baz");
    insert(&s, &sub3).unwrap();
    insert(&s, &sub4).unwrap();

    let r = s.match_subject(subject);
    verify_len(&r.psubs, 1);
    verify_qlen(&r.qsubs, 2);
    verify_len(&r.qsubs[0], 2);
    verify_len(&r.qsubs[1], 2);
    verify_qmember(&r, &sub1);
    verify_qmember(&r, &sub2);
    verify_qmember(&r, &sub3);
    verify_qmember(&r, &sub4);
    verify_member(&r.psubs, &sub);

    // Now removal.
    remove(&s, &sub).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 2);
    verify_len(&r.qsubs[0], 2);
    verify_len(&r.qsubs[1], 2);
    verify_qmember(&r, &sub1);
    verify_qmember(&r, &sub2);

    remove(&s, &sub1).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 2);
    verify_len(r.queue_group("bar").unwrap(), 1);
    verify_len(r.queue_group("baz").unwrap(), 2);
    verify_qmember(&r, &sub2);
    verify_qmember(&r, &sub3);
    verify_qmember(&r, &sub4);

    remove(&s, &sub3).unwrap(); // last of "bar"
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], 2); // the "baz" group
    verify_qmember(&r, &sub2);

    remove(&s, &sub2).unwrap();
    remove(&s, &sub4).unwrap();
    let r = s.match_subject(subject);
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 0);
}

port!("server/sublist_test.go::TestSublistBasicQueueResults" => sublist_basic_queue_results);
fn sublist_basic_queue_results() {
    sublist_basic_queue_results_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistBasicQueueResultsNoCache" => sublist_basic_queue_results_no_cache);
fn sublist_basic_queue_results_no_cache() {
    sublist_basic_queue_results_with(Sl::no_cache());
}

#[track_caller]
fn check_bool(b: bool, expected: bool) {
    assert_eq!(b, expected, "Expected {expected}, but got {b}");
}

port!("server/sublist_test.go::TestSublistValidLiteralSubjects" => sublist_valid_literal_subjects);
fn sublist_valid_literal_subjects() {
    check_bool(is_valid_literal_subject("foo"), true);
    check_bool(is_valid_literal_subject(".foo"), false);
    check_bool(is_valid_literal_subject("foo."), false);
    check_bool(is_valid_literal_subject("foo..bar"), false);
    check_bool(is_valid_literal_subject("foo.bar.*"), false);
    check_bool(is_valid_literal_subject("foo.bar.>"), false);
    check_bool(is_valid_literal_subject("*"), false);
    check_bool(is_valid_literal_subject(">"), false);
    // Wildcard characters that are not whole tokens are not wildcards.
    check_bool(is_valid_literal_subject("foo*"), true);
    check_bool(is_valid_literal_subject("foo**"), true);
    check_bool(is_valid_literal_subject("foo.**"), true);
    check_bool(is_valid_literal_subject("foo*bar"), true);
    check_bool(is_valid_literal_subject("foo.*bar"), true);
    check_bool(is_valid_literal_subject("foo*.bar"), true);
    check_bool(is_valid_literal_subject("*bar"), true);
    check_bool(is_valid_literal_subject("foo>"), true);
    check_bool(is_valid_literal_subject("foo>>"), true);
    check_bool(is_valid_literal_subject("foo.>>"), true);
    check_bool(is_valid_literal_subject("foo>bar"), true);
    check_bool(is_valid_literal_subject("foo.>bar"), true);
    check_bool(is_valid_literal_subject("foo>.bar"), true);
    check_bool(is_valid_literal_subject(">bar"), true);
}

port!("server/sublist_test.go::TestSublistValidSubjects" => sublist_valid_subjects);
fn sublist_valid_subjects() {
    check_bool(is_valid_subject("."), false);
    check_bool(is_valid_subject(".foo"), false);
    check_bool(is_valid_subject("foo."), false);
    check_bool(is_valid_subject("foo..bar"), false);
    check_bool(is_valid_subject(">.bar"), false);
    check_bool(is_valid_subject("foo.>.bar"), false);
    check_bool(is_valid_subject("foo"), true);
    check_bool(is_valid_subject("foo.bar.*"), true);
    check_bool(is_valid_subject("foo.bar.>"), true);
    check_bool(is_valid_subject("*"), true);
    check_bool(is_valid_subject(">"), true);
    check_bool(is_valid_subject("foo*"), true);
    check_bool(is_valid_subject("foo**"), true);
    check_bool(is_valid_subject("foo.**"), true);
    check_bool(is_valid_subject("foo*bar"), true);
    check_bool(is_valid_subject("foo.*bar"), true);
    check_bool(is_valid_subject("foo*.bar"), true);
    check_bool(is_valid_subject("*bar"), true);
    check_bool(is_valid_subject("foo>"), true);
    check_bool(is_valid_subject("foo.>>"), true);
    check_bool(is_valid_subject("foo>bar"), true);
    check_bool(is_valid_subject("foo.>bar"), true);
    check_bool(is_valid_subject("foo>.bar"), true);
    check_bool(is_valid_subject(">bar"), true);

    // Embedded NUL.
    check_bool(is_valid_subject_checked("foo.bar.baz.\0", true), false);
}

port!("server/sublist_test.go::TestSublistMatchLiterals" => sublist_match_literals);
fn sublist_match_literals() {
    check_bool(match_literal("foo", "foo"), true);
    check_bool(match_literal("foo", "bar"), false);
    check_bool(match_literal("foo", "*"), true);
    check_bool(match_literal("foo", ">"), true);
    check_bool(match_literal("foo.bar", ">"), true);
    check_bool(match_literal("foo.bar", "foo.>"), true);
    check_bool(match_literal("foo.bar", "bar.>"), false);
    check_bool(match_literal("stats.test.22", "stats.>"), true);
    check_bool(match_literal("stats.test.22", "stats.*.*"), true);
    check_bool(match_literal("foo.bar", "foo"), false);
    check_bool(match_literal("stats.test.foos", "stats.test.foos"), true);
    check_bool(match_literal("stats.test.foos", "stats.test.foo"), false);
    check_bool(match_literal("stats.test", "stats.test.*"), false);
    check_bool(match_literal("stats.test.foos", "stats.*"), false);
    check_bool(match_literal("stats.test.foos", "stats.*.*.foos"), false);

    // Wildcard characters that do not form a whole token are plain characters.
    check_bool(match_literal("*bar", "*bar"), true);
    check_bool(match_literal("foo*", "foo*"), true);
    check_bool(match_literal("foo*bar", "foo*bar"), true);
    check_bool(match_literal("foo.***.bar", "foo.***.bar"), true);
    check_bool(match_literal(">bar", ">bar"), true);
    check_bool(match_literal("foo>", "foo>"), true);
    check_bool(match_literal("foo>bar", "foo>bar"), true);
    check_bool(match_literal("foo.>>>.bar", "foo.>>>.bar"), true);
}

port!("server/sublist_test.go::TestSubjectIsLiteral" => subject_is_literal_test);
fn subject_is_literal_test() {
    check_bool(subject_is_literal("foo"), true);
    check_bool(subject_is_literal("foo.bar"), true);
    check_bool(subject_is_literal("foo*.bar"), true);
    check_bool(subject_is_literal("*"), false);
    check_bool(subject_is_literal(">"), false);
    check_bool(subject_is_literal("foo.*"), false);
    check_bool(subject_is_literal("foo.>"), false);
    check_bool(subject_is_literal("foo.*.>"), false);
    check_bool(subject_is_literal("foo.*.bar"), false);
    check_bool(subject_is_literal("foo.bar.>"), false);
}

port!("server/sublist_test.go::TestValidateDestinationSubject" => validate_destination_subject);
fn validate_destination_subject() {
    // Go's checkError also accepts nil for the error cases; these assert the exact error.
    for (src, dest) in [
        ("bar", "foo"),
        ("foo", "foo.bar"),
        ("*", "{{wildcard(1)}}"),
        ("foo.>", ">"),
        ("foo.*", "bar.{{wildcard(1)}}"),
        ("foo.>", "bar.>"),
        ("foo.*.>", "bar.{{wildcard(1)}}.>"),
        ("foo.*.bar", "bar.{{wildcard(1)}}.foo"),
        ("foo.bar.>", "foo.bar.foo.>"),
        ("*", "foo.{{wildcard(1)}}"),
        ("*", "foo.{{ wildcard(1) }}"),
        ("*", "foo.{{wildcard( 1 )}}"),
        ("*", "foo.{{partition(2,1)}}"),
        ("*.*", "foo.{{SplitFromLeft(2,1)}}"),
        ("*.*", "foo.{{SplitFromRight(2,1)}}"),
    ] {
        assert_eq!(validate_mapping(src, dest), Ok(()), "{src} -> {dest}");
    }
    let err = validate_mapping("*", "foo.{{unknown(1)}}").unwrap_err();
    assert!(err.is_invalid_mapping_destination(), "{err}");
    assert_eq!(err.mapping_kind(), Some(MappingErrorKind::UnknownFunction));

    let err = validate_mapping("foo", "foo..}").unwrap_err();
    assert!(err.is_invalid_mapping_destination(), "{err}");

    // Go expects ErrInvalidMappingDestinationSubject itself.
    let err = validate_mapping("foo", "foo. bar}").unwrap_err();
    assert_eq!(
        err,
        TransformError::Mapping {
            kind: MappingErrorKind::InvalidSubject,
            token: String::new()
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid mapping destination: invalid transform"
    );
}

port!("server/sublist_test.go::TestSubjectToken" => subject_token);
fn subject_token() {
    assert_eq!(token_at("foo.bar.baz.*", 0), "");
    assert_eq!(token_at("foo.bar.baz.*", 1), "foo");
    assert_eq!(token_at("foo.bar.baz.*", 2), "bar");
    assert_eq!(token_at("foo.bar.baz.*", 3), "baz");
    assert_eq!(token_at("foo.bar.baz.*", 4), "*");
    assert_eq!(token_at("foo.bar.baz.*", 5), "");
}

fn sublist_bad_subject_on_remove_with(s: Sl) {
    let sub = new_sub("a.b..d");
    assert_eq!(insert(&s, &sub), Err(SublistError::InvalidSubject));
    assert_eq!(remove(&s, &sub), Err(SublistError::InvalidSubject));
    assert_eq!(
        remove(&s, &new_sub("a.>.b")),
        Err(SublistError::InvalidSubject)
    );
}

port!("server/sublist_test.go::TestSublistBadSubjectOnRemove" => sublist_bad_subject_on_remove);
fn sublist_bad_subject_on_remove() {
    sublist_bad_subject_on_remove_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistBadSubjectOnRemoveNoCache" => sublist_bad_subject_on_remove_no_cache);
fn sublist_bad_subject_on_remove_no_cache() {
    sublist_bad_subject_on_remove_with(Sl::no_cache());
}

fn sublist_two_token_pub_match_single_token_sub_with(s: Sl) {
    let sub = new_sub("foo");
    insert(&s, &sub).unwrap();
    let r = s.match_subject("foo");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub);
    let r = s.match_subject("foo.bar");
    verify_len(&r.psubs, 0);
}

port!("server/sublist_test.go::TestSublistTwoTokenPubMatchSingleTokenSub" => sublist_two_token_pub_match_single_token_sub);
fn sublist_two_token_pub_match_single_token_sub() {
    sublist_two_token_pub_match_single_token_sub_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistTwoTokenPubMatchSingleTokenSubNoCache" => sublist_two_token_pub_match_single_token_sub_no_cache);
fn sublist_two_token_pub_match_single_token_sub_no_cache() {
    sublist_two_token_pub_match_single_token_sub_with(Sl::no_cache());
}

fn sublist_insert_with_wildcards_as_literals_with(s: Sl) {
    for subject in ["foo.*-", "foo.>-"] {
        let sub = new_sub(subject);
        insert(&s, &sub).unwrap();
        let r = s.match_subject("foo.bar");
        verify_len(&r.psubs, 0);
        let r = s.match_subject(subject);
        verify_len(&r.psubs, 1);
    }
}

port!("server/sublist_test.go::TestSublistInsertWithWildcardsAsLiterals" => sublist_insert_with_wildcards_as_literals);
fn sublist_insert_with_wildcards_as_literals() {
    sublist_insert_with_wildcards_as_literals_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistInsertWithWildcardsAsLiteralsNoCache" => sublist_insert_with_wildcards_as_literals_no_cache);
fn sublist_insert_with_wildcards_as_literals_no_cache() {
    sublist_insert_with_wildcards_as_literals_with(Sl::no_cache());
}

fn sublist_remove_with_wildcards_as_literals_with(s: Sl) {
    for subject in ["foo.*-", "foo.>-"] {
        let sub = new_sub(subject);
        insert(&s, &sub).unwrap();
        let rsub = new_sub("foo.bar");
        assert_eq!(remove(&s, &rsub), Err(SublistError::NotFound));
        assert_eq!(s.count(), 1, "Expected sublist to still contain sub");
        remove(&s, &sub).unwrap();
        assert_eq!(s.count(), 0, "Expected sublist to be empty");
    }
}

port!("server/sublist_test.go::TestSublistRemoveWithWildcardsAsLiterals" => sublist_remove_with_wildcards_as_literals);
fn sublist_remove_with_wildcards_as_literals() {
    sublist_remove_with_wildcards_as_literals_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoveWithWildcardsAsLiteralsNoCache" => sublist_remove_with_wildcards_as_literals_no_cache);
fn sublist_remove_with_wildcards_as_literals_no_cache() {
    sublist_remove_with_wildcards_as_literals_with(Sl::no_cache());
}

fn sublist_race_on_remove_with(s: Sl) {
    let total = 100;
    // Go ranges over a map for a random order; a fixed order is as good for this race.
    let qsubs: Vec<Sub> = (0..total).map(|_| new_qsub("foo", "bar")).collect();
    for i in 0..2 {
        for sub in &qsubs {
            insert(&s, sub).unwrap();
        }
        if i == 1 {
            s.match_subject("foo");
        }
        // From the cache when i == 1.
        let r = s.match_subject("foo");
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for sub in &qsubs {
                    remove(&s, sub).unwrap();
                }
            });
            for group in &r.qsubs {
                for sub in group {
                    assert_eq!(
                        sub.0.queue.as_deref(),
                        Some("bar"),
                        "Queue name should be bar"
                    );
                }
            }
        });
    }

    // Again with plain subscriptions.
    let subs: Vec<Sub> = (0..total).map(|_| new_sub("foo")).collect();
    for i in 0..2 {
        for sub in &subs {
            insert(&s, sub).unwrap();
        }
        if i == 1 {
            s.match_subject("foo");
        }
        let r = s.match_subject("foo");
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for sub in &subs {
                    remove(&s, sub).unwrap();
                }
            });
            for sub in &r.psubs {
                assert_eq!(sub.0.subject, "foo", "Subject should be foo");
            }
        });
    }
}

port!("server/sublist_test.go::TestSublistRaceOnRemove" => sublist_race_on_remove);
fn sublist_race_on_remove() {
    sublist_race_on_remove_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRaceOnRemoveNoCache" => sublist_race_on_remove_no_cache);
fn sublist_race_on_remove_no_cache() {
    sublist_race_on_remove_with(Sl::no_cache());
}

fn sublist_race_on_insert_with(s: Sl) {
    let total = 100;
    let qsubs: Vec<Sub> = (0..total).map(|_| new_qsub("foo", "bar")).collect();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for sub in &qsubs {
                insert(&s, sub).unwrap();
            }
        });
        for _ in 0..1000 {
            let r = s.match_subject("foo");
            for group in &r.qsubs {
                for sub in group {
                    assert_eq!(
                        sub.0.queue.as_deref(),
                        Some("bar"),
                        "Expected queue name to be bar"
                    );
                }
            }
        }
    });

    let subs: Vec<Sub> = (0..total).map(|_| new_sub("foo")).collect();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for sub in &subs {
                insert(&s, sub).unwrap();
            }
        });
        for _ in 0..1000 {
            let r = s.match_subject("foo");
            for sub in &r.psubs {
                assert_eq!(sub.0.subject, "foo", "Expected subject to be foo");
            }
        }
    });
    // Everything inserted is matched in the end.
    let r = s.match_subject("foo");
    verify_len(&r.psubs, total);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], total);
}

port!("server/sublist_test.go::TestSublistRaceOnInsert" => sublist_race_on_insert);
fn sublist_race_on_insert() {
    sublist_race_on_insert_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRaceOnInsertNoCache" => sublist_race_on_insert_no_cache);
fn sublist_race_on_insert_no_cache() {
    sublist_race_on_insert_with(Sl::no_cache());
}

port!("server/sublist_test.go::TestSublistRaceOnMatch" => sublist_race_on_match);
fn sublist_race_on_match() {
    let s = Sl::no_cache();
    insert(&s, &new_qsub("foo.*", "workers")).unwrap();
    insert(&s, &new_qsub("foo.bar", "workers")).unwrap();
    insert(&s, &new_sub("foo.*")).unwrap();
    insert(&s, &new_sub("foo.bar")).unwrap();

    let check = || -> Result<(), String> {
        for _ in 0..10 {
            let r = s.match_subject("foo.bar");
            for sub in &r.psubs {
                if !sub.0.subject.starts_with("foo.") {
                    return Err(format!("Wrong subject: {}", sub.0.subject));
                }
            }
            for group in &r.qsubs {
                for sub in group {
                    if sub.0.queue.as_deref() != Some("workers") {
                        return Err(format!("Wrong queue name: {:?}", sub.0.queue));
                    }
                }
            }
            verify_len(&r.psubs, 2);
            verify_len(r.queue_group("workers").unwrap(), 2);
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let a = scope.spawn(check);
        let b = scope.spawn(check);
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
    });
}

fn sublist_remote_queue_subscriptions_with(s: Sl) {
    // Local members.
    let s1 = new_qsub("foo", "bar");
    let s2 = new_qsub("foo", "bar");
    insert(&s, &s1).unwrap();
    insert(&s, &s2).unwrap();

    // Weighted remote members.
    let rs1 = new_remote_qsub("foo", "bar", 10);
    insert(&s, &rs1).unwrap();
    let rs2 = new_remote_qsub("foo", "bar", 10);
    insert(&s, &rs2).unwrap();

    // Remote members are shadowed in results but count once each.
    verify_count(&s, 4);

    let r = s.match_subject("foo");
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], 22);

    remove(&s, &s1).unwrap();
    remove(&s, &rs1).unwrap();
    verify_count(&s, 2);

    let r = s.match_subject("foo");
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], 11);

    // Change the weight of an existing remote member.
    rs2.0.qw.store(1, Ordering::Relaxed);
    s.update_remote_qsub(&rs2.0.subject);

    let r = s.match_subject("foo");
    verify_len(&r.psubs, 0);
    verify_qlen(&r.qsubs, 1);
    verify_len(&r.qsubs[0], 2);
}

port!("server/sublist_test.go::TestSublistRemoteQueueSubscriptions" => sublist_remote_queue_subscriptions);
fn sublist_remote_queue_subscriptions() {
    sublist_remote_queue_subscriptions_with(Sl::with_cache());
}

port!("server/sublist_test.go::TestSublistRemoteQueueSubscriptionsNoCache" => sublist_remote_queue_subscriptions_no_cache);
fn sublist_remote_queue_subscriptions_no_cache() {
    sublist_remote_queue_subscriptions_with(Sl::no_cache());
}

port!("server/sublist_test.go::TestSublistSharedEmptyResult" => sublist_shared_empty_result);
fn sublist_shared_empty_result() {
    let s = Sl::with_cache();
    let r1 = s.match_subject("foo");
    verify_len(&r1.psubs, 0);
    verify_qlen(&r1.qsubs, 0);

    let r2 = s.match_subject("bar");
    verify_len(&r2.psubs, 0);
    verify_qlen(&r2.qsubs, 0);

    assert!(
        Arc::ptr_eq(&r1, &r2),
        "Expected empty result to be a shared result set"
    );
}

port!("server/sublist_test.go::TestSublistNoCacheStats" => sublist_no_cache_stats);
fn sublist_no_cache_stats() {
    let s = Sl::no_cache();
    insert(&s, &new_sub("foo")).unwrap();
    insert(&s, &new_sub("bar")).unwrap();
    insert(&s, &new_sub("baz")).unwrap();
    insert(&s, &new_sub("foo.bar.baz")).unwrap();
    s.match_subject("a.b.c");
    s.match_subject("bar");
    let stats = s.stats();
    assert_eq!(
        stats.num_cache, 0,
        "Expected 0 for NumCache stat, got {}",
        stats.num_cache
    );
}

port!("server/sublist_test.go::TestSublistAll" => sublist_all);
fn sublist_all() {
    let s = Sl::no_cache();
    let subs = [new_sub("foo.bar.baz"), new_sub("foo"), new_sub("baz")];
    // A leafnode subscription is still part of All.
    *subs[0].0.kind.lock().unwrap() = Kind::Leaf;
    for sub in &subs {
        insert(&s, sub).unwrap();
    }
    let output = s.all();
    assert_eq!(
        output.len(),
        subs.len(),
        "Expected {} for All, got {}",
        subs.len(),
        output.len()
    );
    for sub in &subs {
        verify_member(&output, sub);
    }
}

port!("server/sublist_test.go::TestIsSubsetMatch" => is_subset_match);
fn is_subset_match() {
    for (subject, test, result) in [
        ("foo.bar", "foo.bar", true),
        ("foo.*", ">", true),
        ("foo.*", "*.*", true),
        ("foo.*", "foo.*", true),
        ("foo.*", "foo.bar", false),
        ("foo.>", ">", true),
        ("foo.>", "*.>", true),
        ("foo.>", "foo.>", true),
        ("foo.>", "foo.bar", false),
        ("foo..bar", "foo.*", false), // bad subject
        ("foo.*", "foo..bar", false), // bad subject
    ] {
        assert_eq!(
            subject_is_subset_match(subject, test),
            result,
            "Subject {test:?} subset match of {subject:?}, should be {result}"
        );
    }
}

/// A bounded channel of booleans with Go's `len(ch)`, receive with timeout and non-blocking
/// send semantics, standing in for the `chan bool` of the Go test.
struct TestChan {
    buf: Mutex<VecDeque<bool>>,
    cap: usize,
    cv: Condvar,
}

impl TestChan {
    fn new(cap: usize) -> Arc<TestChan> {
        Arc::new(TestChan {
            buf: Mutex::new(VecDeque::new()),
            cap,
            cv: Condvar::new(),
        })
    }

    fn len(&self) -> usize {
        self.buf.lock().unwrap().len()
    }

    fn recv_timeout(&self, d: Duration) -> Option<bool> {
        let guard = self.buf.lock().unwrap();
        let (mut guard, _) = self
            .cv
            .wait_timeout_while(guard, d, |b| b.is_empty())
            .unwrap();
        guard.pop_front()
    }
}

impl InterestListener for TestChan {
    fn notify(&self, has_interest: bool) {
        let mut b = self.buf.lock().unwrap();
        if b.len() < self.cap {
            b.push_back(has_interest);
            self.cv.notify_all();
        }
    }
}

port!("server/sublist_test.go::TestSublistRegisterInterestNotification" => sublist_register_interest_notification);
fn sublist_register_interest_notification() {
    let s = Sl::with_cache();
    let chan = TestChan::new(1);
    let ch: Listener = chan.clone();

    // A literal subject is required.
    for subject in ["foo.*", ">"] {
        assert_eq!(
            s.register_notification(subject, ch.clone()),
            Err(SublistError::InvalidSubject)
        );
    }
    // Go also rejects a nil channel (ErrNilChan); a `Listener` is an `Arc` and cannot be
    // null, so that case does not exist here.

    // Clearing one that is not there returns false.
    assert!(
        !s.clear_notification("foo", &ch),
        "Expected to return false on non-existent notification entry"
    );

    s.register_notification("foo", ch.clone()).unwrap();

    #[track_caller]
    fn expect_bool_with(c: &TestChan, b: bool) {
        match c.recv_timeout(Duration::from_secs(1)) {
            Some(v) => assert_eq!(v, b, "Expected {b}, got {v}"),
            None => panic!("Timeout waiting for expected value"),
        }
    }
    #[track_caller]
    fn expect_one_with(c: &TestChan) {
        assert_eq!(c.len(), 1, "Expected 1 notification");
    }
    let expect_false = || expect_bool_with(&chan, false);
    let expect_true = || expect_bool_with(&chan, true);
    let expect_one = || expect_one_with(&chan);
    let expect_none = || {
        let l = chan.len();
        assert_eq!(l, 0, "Expected no notifications, had {l}");
    };

    expect_one();
    expect_false();
    let sub = new_sub("foo");
    insert(&s, &sub).unwrap();
    expect_true();

    let sub2 = new_sub("foo");
    insert(&s, &sub2).unwrap();
    expect_none();

    s.register_notification("bar", ch.clone()).unwrap();
    expect_false();

    let sub3 = new_sub("foo");
    insert(&s, &sub3).unwrap();
    expect_none();

    // Now remove literals.
    remove(&s, &sub).unwrap();
    expect_none();
    remove(&s, &sub2).unwrap();
    expect_none();
    remove(&s, &sub3).unwrap();
    expect_false();

    s.register_notification("test.node", ch.clone()).unwrap();
    expect_one();
    expect_false();

    let tn_sub1 = new_sub("test.node.already.exist");
    insert(&s, &tn_sub1).unwrap();
    expect_none();

    let tn_sub2 = new_sub("test.node");
    insert(&s, &tn_sub2).unwrap();
    expect_true();

    let tn_sub3 = new_sub("test.node");
    insert(&s, &tn_sub3).unwrap();
    expect_none();

    remove(&s, &tn_sub1).unwrap();
    expect_none();
    remove(&s, &tn_sub2).unwrap();
    expect_none();
    remove(&s, &tn_sub3).unwrap();
    expect_false();

    assert!(
        s.clear_notification("test.node", &ch),
        "Expected to return true"
    );

    let sub4 = new_sub("bar");
    insert(&s, &sub4).unwrap();
    expect_true();

    assert!(s.clear_notification("bar", &ch), "Expected to return true");
    let (_, lnr) = s.notification_counts().expect("notify maps");
    assert_eq!(lnr, 0, "Expected zero entries for remove notify, got {lnr}");
    assert!(s.clear_notification("foo", &ch), "Expected to return true");
    assert!(
        s.notification_counts().is_none(),
        "Expected the notify map to be nil"
    );

    // Wildcards never trigger interest.
    let subpwc = new_sub("*");
    insert(&s, &subpwc).unwrap();
    expect_none();

    s.register_notification("foo", ch.clone()).unwrap();
    expect_false();

    insert(&s, &sub).unwrap();
    expect_true();

    remove(&s, &sub).unwrap();
    expect_false();

    remove(&s, &subpwc).unwrap();
    expect_none();

    let subfwc = new_sub(">");
    insert(&s, &subfwc).unwrap();
    expect_none();

    insert(&s, &subpwc).unwrap();
    expect_none();

    remove(&s, &subpwc).unwrap();
    expect_none();

    remove(&s, &subfwc).unwrap();
    expect_none();

    // Batch removal.
    let subs = [
        sub.clone(),
        sub2.clone(),
        sub3.clone(),
        sub4.clone(),
        subpwc.clone(),
        subfwc.clone(),
    ];
    for x in &subs {
        insert(&s, x).unwrap();
    }
    expect_true();

    remove_batch(&s, &subs).unwrap();
    expect_one();
    expect_false();

    // Queue subscriptions trigger only a registration naming their queue.
    let qsub = new_qsub("foo.bar.baz", "1");
    insert(&s, &qsub).unwrap();
    expect_none();

    s.register_notification("foo.bar.baz", ch.clone()).unwrap();
    expect_false();

    let wcqsub = new_qsub("foo.bar.>", "1");
    insert(&s, &wcqsub).unwrap();
    expect_none();

    remove(&s, &qsub).unwrap();
    expect_none();

    remove(&s, &wcqsub).unwrap();
    expect_none();

    insert(&s, &wcqsub).unwrap();
    expect_none();

    s.register_queue_notification("queue.test.node", "q22", ch.clone())
        .unwrap();
    expect_one();
    expect_false();

    let qsub1 = new_qsub("queue.test.node.already.exist", "queue");
    insert(&s, &qsub1).unwrap();
    expect_none();

    let qsub2 = new_qsub("queue.test.node", "q22");
    insert(&s, &qsub2).unwrap();
    expect_true();

    let qsub3 = new_qsub("queue.test.node", "otherqueue");
    insert(&s, &qsub3).unwrap();
    expect_none();

    let qsub4 = new_qsub("queue.different.node", "q22");
    insert(&s, &qsub4).unwrap();
    expect_none();

    let qsub5 = new_qsub("queue.test.node", "q22");
    insert(&s, &qsub5).unwrap();
    expect_none();

    remove(&s, &qsub3).unwrap();
    expect_none();
    remove(&s, &qsub1).unwrap();
    expect_none();
    remove(&s, &qsub2).unwrap();
    expect_none();
    remove(&s, &qsub4).unwrap();
    expect_none();
    remove(&s, &qsub5).unwrap();
    expect_false();

    assert!(
        s.clear_queue_notification("queue.test.node", "q22", &ch),
        "Expected to return true"
    );

    s.register_queue_notification("some.subject", "queue1", ch.clone())
        .unwrap();
    expect_one();
    expect_false();

    let qsub1 = new_qsub("some.subject", "queue1");
    insert(&s, &qsub1).unwrap();
    expect_true();

    // A second channel for the other queue.
    let chan2 = TestChan::new(1);
    let ch2: Listener = chan2.clone();
    s.register_queue_notification("some.subject", "queue2", ch2.clone())
        .unwrap();
    expect_one_with(&chan2);
    expect_bool_with(&chan2, false);

    let qsub2 = new_qsub("some.subject", "queue2");
    insert(&s, &qsub2).unwrap();
    expect_bool_with(&chan2, true);

    // Nothing for queue1.
    expect_none();

    remove(&s, &qsub1).unwrap();
    expect_false();
    remove(&s, &qsub2).unwrap();
    expect_bool_with(&chan2, false);

    assert!(
        s.clear_queue_notification("some.subject", "queue1", &ch),
        "Expected to return true"
    );
    assert!(
        s.clear_queue_notification("some.subject", "queue2", &ch2),
        "Expected to return true"
    );

    // Notifications never block: the channel holds one value and drops the rest.
    s.register_notification("bar", ch.clone()).unwrap();
    s.register_notification("baz", ch.clone()).unwrap();

    insert(&s, &new_sub("baz")).unwrap();
    insert(&s, &new_sub("bar")).unwrap();
    insert(&s, &subpwc).unwrap();
    expect_one();
    expect_false();
}

port!("server/sublist_test.go::TestSublistReverseMatch" => sublist_reverse_match);
fn sublist_reverse_match() {
    let s = Sl::with_cache();
    let foo_sub = new_sub("foo");
    let bar_sub = new_sub("bar");
    let foo_bar_sub = new_sub("foo.bar");
    let foo_baz_sub = new_sub("foo.baz");
    let foo_bar_baz_sub = new_sub("foo.bar.baz");
    for x in [
        &foo_sub,
        &bar_sub,
        &foo_bar_sub,
        &foo_baz_sub,
        &foo_bar_baz_sub,
    ] {
        insert(&s, x).unwrap();
    }

    let r = s.reverse_match("foo");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &foo_sub);

    let r = s.reverse_match("bar");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &bar_sub);

    let r = s.reverse_match("*");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &foo_sub);
    verify_member(&r.psubs, &bar_sub);

    let r = s.reverse_match("baz");
    verify_len(&r.psubs, 0);

    let r = s.reverse_match("foo.*");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &foo_bar_sub);
    verify_member(&r.psubs, &foo_baz_sub);

    let r = s.reverse_match("*.*");
    verify_len(&r.psubs, 2);
    verify_member(&r.psubs, &foo_bar_sub);
    verify_member(&r.psubs, &foo_baz_sub);

    let r = s.reverse_match("*.bar");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &foo_bar_sub);

    let r = s.reverse_match("*.baz");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &foo_baz_sub);

    let r = s.reverse_match("bar.*");
    verify_len(&r.psubs, 0);

    let r = s.reverse_match("*.bat");
    verify_len(&r.psubs, 0);

    let r = s.reverse_match("foo.>");
    verify_len(&r.psubs, 3);
    verify_member(&r.psubs, &foo_bar_sub);
    verify_member(&r.psubs, &foo_baz_sub);
    verify_member(&r.psubs, &foo_bar_baz_sub);

    let r = s.reverse_match(">");
    verify_len(&r.psubs, 5);
    for x in [
        &foo_sub,
        &bar_sub,
        &foo_bar_sub,
        &foo_baz_sub,
        &foo_bar_baz_sub,
    ] {
        verify_member(&r.psubs, x);
    }
}

port!("server/sublist_test.go::TestSublistReverseMatchWider" => sublist_reverse_match_wider);
fn sublist_reverse_match_wider() {
    let s = Sl::with_cache();
    let sub = new_sub("uplink.*.*.>");
    insert(&s, &sub).unwrap();

    let r = s.reverse_match("uplink.1.*.*.>");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub);

    let r = s.reverse_match("uplink.1.2.3.>");
    verify_len(&r.psubs, 1);
    verify_member(&r.psubs, &sub);
}

port!("server/sublist_test.go::TestSublistMatchWithEmptyTokens" => sublist_match_with_empty_tokens);
fn sublist_match_with_empty_tokens() {
    // Go's subtests "cache" and "no cache" both build a cached sublist (NewSublist(true));
    // both kinds are checked here.
    for cache in [true, false] {
        let sl = Sl::with_cache_enabled(cache);
        insert(&sl, &new_sub(">")).unwrap();
        insert(&sl, &new_qsub(">", "queue")).unwrap();
        for subj in [".foo", "..foo", "foo..", "foo.", "foo..bar", "foo...bar"] {
            let r = sl.match_subject(subj);
            assert!(
                r.psubs.is_empty(),
                "cache={cache} {subj:?}: psubs {}",
                r.psubs.len()
            );
            assert!(
                r.qsubs.is_empty(),
                "cache={cache} {subj:?}: qsubs {}",
                r.qsubs.len()
            );
        }
    }
}

port!("server/sublist_test.go::TestSublistSubjectCollide" => sublist_subject_collide);
fn sublist_subject_collide() {
    assert!(!subjects_collide("foo.*", "foo.*.bar.>"));
    assert!(!subjects_collide("foo.*.bar.>", "foo.*"));
    assert!(subjects_collide("foo.*", "foo.foo"));
    assert!(subjects_collide("foo.*", "*.foo"));
    assert!(subjects_collide("foo.bar.>", "*.bar.foo"));
}

port!("server/sublist_test.go::TestSublistAddCacheHitRate" => sublist_add_cache_hit_rate);
fn sublist_add_cache_hit_rate() {
    let sl1 = Sl::with_cache();
    insert(&sl1, &new_sub("foo")).unwrap();
    for _ in 0..4 {
        sl1.match_subject("foo");
    }
    let stats1 = sl1.stats();
    assert_eq!(stats1.cache_hit_rate, 0.75);

    let sl2 = Sl::with_cache();
    insert(&sl2, &new_sub("bar")).unwrap();
    for _ in 0..4 {
        sl2.match_subject("bar");
    }
    let stats2 = sl2.stats();
    assert_eq!(stats2.cache_hit_rate, 0.75);

    let mut ts = SublistStats::default();
    ts.add(&stats1);
    ts.add(&stats2);
    assert_eq!(ts.cache_hit_rate, 0.75);
}

port!("server/sublist_test.go::TestSublistHasInterest" => sublist_has_interest);
fn sublist_has_interest() {
    let sl = Sl::with_cache();
    let foo_sub = new_sub("foo");
    insert(&sl, &foo_sub).unwrap();

    // Nothing cached yet.
    assert!(sl.has_interest("foo"));
    assert!(!sl.has_interest("bar"));
    assert_eq!(sl.cache_hits(), 0);

    // A match fills the cache.
    sl.match_subject("foo");
    assert_eq!(sl.cache_hits(), 0);

    // Interest checks are now served from the cache.
    for i in 1..=5u64 {
        assert!(sl.has_interest("foo"));
        assert_eq!(sl.cache_hits(), i);
    }

    // Negative results are cached too.
    let hits = sl.cache_hits();
    sl.match_subject("bar");
    assert!(!sl.has_interest("bar"));
    assert_eq!(sl.cache_hits(), hits + 1);

    remove(&sl, &foo_sub).unwrap();
    assert!(!sl.has_interest("foo"));

    #[track_caller]
    fn check(sl: &Sl, cases: &[(&str, bool)]) {
        for (subj, want) in cases {
            assert_eq!(sl.has_interest(subj), *want, "HasInterest({subj:?})");
        }
    }

    // Plain wildcard subscriptions.
    let sub = new_sub("foo.*");
    insert(&sl, &sub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", true), ("foo.bar.baz", false)],
    );
    remove(&sl, &sub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", false), ("foo.bar.baz", false)],
    );

    let sub = new_sub("foo.>");
    insert(&sl, &sub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", true), ("foo.bar.baz", true)],
    );
    remove(&sl, &sub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", false), ("foo.bar.baz", false)],
    );

    let sub = new_sub("*.>");
    insert(&sl, &sub).unwrap();
    check(&sl, &[("foo", false), ("foo.bar", true), ("foo.baz", true)]);
    remove(&sl, &sub).unwrap();

    let sub = new_sub("*.bar");
    insert(&sl, &sub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", true), ("foo.baz", false)],
    );
    remove(&sl, &sub).unwrap();

    let sub = new_sub("*");
    insert(&sl, &sub).unwrap();
    check(&sl, &[("foo", true), ("foo.bar", false)]);
    remove(&sl, &sub).unwrap();

    // Literal queue subscriptions, two groups.
    let qsub = new_qsub("foo", "bar");
    insert(&sl, &qsub).unwrap();
    check(&sl, &[("foo", true), ("foo.bar", false)]);
    let qsub2 = new_qsub("foo", "baz");
    insert(&sl, &qsub2).unwrap();
    check(&sl, &[("foo", true), ("foo.bar", false)]);
    remove(&sl, &qsub).unwrap();
    check(&sl, &[("foo", true), ("foo.bar", false)]);
    remove(&sl, &qsub2).unwrap();
    check(&sl, &[("foo", false), ("foo.bar", false)]);

    // Wildcard queue subscriptions, two groups.
    for (wc, deep) in [("foo.*", false), ("foo.>", true)] {
        let qsub = new_qsub(wc, "bar");
        insert(&sl, &qsub).unwrap();
        check(
            &sl,
            &[("foo", false), ("foo.bar", true), ("foo.bar.baz", deep)],
        );
        let qsub2 = new_qsub(wc, "baz");
        insert(&sl, &qsub2).unwrap();
        check(
            &sl,
            &[("foo", false), ("foo.bar", true), ("foo.bar.baz", deep)],
        );
        remove(&sl, &qsub).unwrap();
        check(
            &sl,
            &[("foo", false), ("foo.bar", true), ("foo.bar.baz", deep)],
        );
        remove(&sl, &qsub2).unwrap();
        check(
            &sl,
            &[("foo", false), ("foo.bar", false), ("foo.bar.baz", false)],
        );
    }

    let qsub = new_qsub("*.>", "bar");
    insert(&sl, &qsub).unwrap();
    check(&sl, &[("foo", false), ("foo.bar", true), ("foo.baz", true)]);
    remove(&sl, &qsub).unwrap();

    let qsub = new_qsub("*.bar", "bar");
    insert(&sl, &qsub).unwrap();
    check(
        &sl,
        &[("foo", false), ("foo.bar", true), ("foo.baz", false)],
    );
    remove(&sl, &qsub).unwrap();

    let qsub = new_qsub("*", "bar");
    insert(&sl, &qsub).unwrap();
    check(&sl, &[("foo", true), ("foo.bar", false)]);
    remove(&sl, &qsub).unwrap();
}

port!("server/sublist_test.go::TestSublistHasInterestOverlapping" => sublist_has_interest_overlapping);
fn sublist_has_interest_overlapping() {
    let sl = Sl::with_cache();
    insert(&sl, &new_sub("stream.A.child")).unwrap();
    insert(&sl, &new_sub("stream.*")).unwrap();
    assert!(sl.has_interest("stream.A.child"));
    assert!(sl.has_interest("stream.A"));
}

port!("server/sublist_test.go::TestSublistNumInterest" => sublist_num_interest);
fn sublist_num_interest() {
    let sl = Sl::with_cache();
    let foo_sub = new_sub("foo");
    insert(&sl, &foo_sub).unwrap();

    #[track_caller]
    fn ni(sl: &Sl, subj: &str, wnp: usize, wnq: usize) {
        assert_eq!(sl.num_interest(subj), (wnp, wnq), "NumInterest({subj:?})");
    }

    // Nothing cached yet.
    ni(&sl, "foo", 1, 0);
    ni(&sl, "bar", 0, 0);
    assert_eq!(sl.cache_hits(), 0);

    sl.match_subject("foo");
    assert_eq!(sl.cache_hits(), 0);

    for i in 1..=5u64 {
        ni(&sl, "foo", 1, 0);
        assert_eq!(sl.cache_hits(), i);
    }

    let hits = sl.cache_hits();
    sl.match_subject("bar");
    ni(&sl, "bar", 0, 0);
    assert_eq!(sl.cache_hits(), hits + 1);

    remove(&sl, &foo_sub).unwrap();
    ni(&sl, "foo", 0, 0);

    // Plain wildcard subscriptions.
    let sub = new_sub("foo.*");
    insert(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 1, 0);
    ni(&sl, "foo.bar.baz", 0, 0);
    remove(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 0, 0);
    ni(&sl, "foo.bar.baz", 0, 0);

    let sub = new_sub("foo.>");
    insert(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 1, 0);
    ni(&sl, "foo.bar.baz", 1, 0);
    remove(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 0, 0);
    ni(&sl, "foo.bar.baz", 0, 0);

    let sub = new_sub("*.>");
    insert(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 1, 0);
    ni(&sl, "foo.bar.baz", 1, 0);
    remove(&sl, &sub).unwrap();

    let sub = new_sub("*.bar");
    insert(&sl, &sub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 1, 0);
    ni(&sl, "foo.bar.baz", 0, 0);
    remove(&sl, &sub).unwrap();

    let sub = new_sub("*");
    insert(&sl, &sub).unwrap();
    ni(&sl, "foo", 1, 0);
    ni(&sl, "foo.bar", 0, 0);
    remove(&sl, &sub).unwrap();

    // Literal queue subscriptions.
    let qsub = new_qsub("foo", "bar");
    insert(&sl, &qsub).unwrap();
    ni(&sl, "foo", 0, 1);
    ni(&sl, "foo.bar", 0, 0);
    let qsub2 = new_qsub("foo", "baz");
    insert(&sl, &qsub2).unwrap();
    ni(&sl, "foo", 0, 2);
    ni(&sl, "foo.bar", 0, 0);
    let qsub3 = new_qsub("foo", "baz");
    insert(&sl, &qsub3).unwrap();
    ni(&sl, "foo", 0, 3);
    ni(&sl, "foo.bar", 0, 0);
    remove(&sl, &qsub).unwrap();
    ni(&sl, "foo", 0, 2);
    ni(&sl, "foo.bar", 0, 0);
    remove(&sl, &qsub2).unwrap();
    ni(&sl, "foo", 0, 1);
    ni(&sl, "foo.bar", 0, 0);
    remove(&sl, &qsub3).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 0, 0);

    // Wildcard queue subscriptions.
    for wc in ["foo.*", "foo.>"] {
        let deep = usize::from(wc == "foo.>");
        let qsub = new_qsub(wc, "bar");
        insert(&sl, &qsub).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 1);
        ni(&sl, "foo.bar.baz", 0, deep);
        let qsub2 = new_qsub(wc, "baz");
        insert(&sl, &qsub2).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 2);
        ni(&sl, "foo.bar.baz", 0, 2 * deep);
        let qsub3 = new_qsub(wc, "baz");
        insert(&sl, &qsub3).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 3);
        ni(&sl, "foo.bar.baz", 0, 3 * deep);
        remove(&sl, &qsub).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 2);
        ni(&sl, "foo.bar.baz", 0, 2 * deep);
        remove(&sl, &qsub2).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 1);
        ni(&sl, "foo.bar.baz", 0, deep);
        remove(&sl, &qsub3).unwrap();
        ni(&sl, "foo", 0, 0);
        ni(&sl, "foo.bar", 0, 0);
        ni(&sl, "foo.bar.baz", 0, 0);
    }

    let qsub = new_qsub("*.>", "bar");
    insert(&sl, &qsub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 0, 1);
    ni(&sl, "foo.bar.baz", 0, 1);
    remove(&sl, &qsub).unwrap();

    let qsub = new_qsub("*.bar", "bar");
    insert(&sl, &qsub).unwrap();
    ni(&sl, "foo", 0, 0);
    ni(&sl, "foo.bar", 0, 1);
    ni(&sl, "foo.bar.baz", 0, 0);
    remove(&sl, &qsub).unwrap();

    let qsub = new_qsub("*", "bar");
    insert(&sl, &qsub).unwrap();
    ni(&sl, "foo", 0, 1);
    ni(&sl, "foo.bar", 0, 0);
    remove(&sl, &qsub).unwrap();
}
