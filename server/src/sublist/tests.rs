use super::*;
use std::sync::atomic::AtomicU32;

/// A test subscription compared by identity.
#[derive(Debug, Clone)]
struct Sub(Arc<AtomicU32>);

impl Sub {
    fn new() -> Self {
        Sub(Arc::new(AtomicU32::new(1)))
    }
}

impl PartialEq for Sub {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Sub {}
impl Hash for Sub {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}
impl SubEntry for Sub {
    fn queue_weight(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

#[test]
fn cache_is_patched_on_insert_and_dropped_on_remove() {
    let sl = Sublist::with_cache();
    let a = Sub::new();
    sl.insert("a.b", None, a.clone()).unwrap();
    assert_eq!(sl.match_subject("a.b").psubs.len(), 1);
    assert_eq!(sl.cache_count(), 1);
    let w = Sub::new();
    sl.insert("a.*", Some("q"), w.clone()).unwrap();
    let r = sl.match_subject("a.b");
    assert_eq!(
        sl.cache_hits(),
        1,
        "patched entry must still be served from cache"
    );
    assert_eq!(r.queue_group("q"), Some(&[w.clone()][..]));
    sl.remove("a.*", Some("q"), &w).unwrap();
    assert_eq!(sl.cache_count(), 0);
    assert!(sl.match_subject("a.b").qsubs.is_empty());
}

#[test]
fn duplicate_insert_changes_nothing() {
    let sl = Sublist::with_cache();
    let a = Sub::new();
    sl.insert("x", None, a.clone()).unwrap();
    sl.match_subject("x");
    sl.insert("x", None, a.clone()).unwrap();
    assert_eq!(sl.count(), 1);
    assert_eq!(sl.match_subject("x").psubs.len(), 1);
}

#[test]
fn invalid_insert_leaves_no_nodes() {
    let sl: Sublist<Sub> = Sublist::no_cache();
    assert_eq!(
        sl.insert("a.>.b", None, Sub::new()),
        Err(SublistError::InvalidSubject)
    );
    assert_eq!(sl.num_levels(), 0);
}

#[test]
fn large_node_uses_index_and_removes() {
    let sl = Sublist::no_cache();
    let subs: Vec<Sub> = (0..100).map(|_| Sub::new()).collect();
    for s in &subs {
        sl.insert("foo", None, s.clone()).unwrap();
    }
    for s in subs.iter().step_by(2) {
        sl.remove("foo", None, s).unwrap();
    }
    let r = sl.match_subject("foo");
    assert_eq!(r.psubs.len(), 50);
    for s in subs.iter().skip(1).step_by(2) {
        assert!(r.psubs.contains(s));
    }
    assert_eq!(
        sl.remove("foo", None, &subs[0]),
        Err(SublistError::NotFound)
    );
}

#[test]
fn weighted_queue_members_repeat() {
    let sl = Sublist::with_cache();
    sl.match_subject("foo");
    let remote = Sub::new();
    remote.0.store(3, Ordering::Relaxed);
    sl.insert("foo", Some("q"), remote.clone()).unwrap();
    assert_eq!(sl.match_subject("foo").qsubs[0].len(), 3);
    remote.0.store(0, Ordering::Relaxed);
    sl.update_remote_qsub("foo");
    assert_eq!(sl.match_subject("foo").qsubs[0].len(), 0);
}

#[test]
fn cache_sweeps_when_full() {
    let sl: Sublist<Sub> = Sublist::with_cache();
    for i in 0..=CACHE_MAX {
        sl.match_subject(&format!("s.{i}"));
    }
    assert_eq!(sl.cache_count(), CACHE_SWEEP);
}

#[test]
fn long_subjects_spill_tokens() {
    let sl = Sublist::with_cache();
    let subject = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(".");
    let s = Sub::new();
    sl.insert(&subject, None, s.clone()).unwrap();
    assert_eq!(sl.num_levels(), 40);
    assert_eq!(sl.match_subject(&subject).psubs, vec![s]);
}

#[test]
fn stats_serialize_with_go_names() {
    let sl: Sublist<Sub> = Sublist::with_cache();
    let v = serde_json::to_value(sl.stats()).unwrap();
    for k in [
        "num_subscriptions",
        "num_cache",
        "num_inserts",
        "num_removes",
        "num_matches",
        "cache_hit_rate",
        "max_fanout",
        "avg_fanout",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
}
