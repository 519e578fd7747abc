//! The subscription trie with `*`/`>` wildcards, queue groups and a match-result cache.
//!
//! [`Sublist::match_subject`] is the server's hot path. Results are cached per literal
//! subject (misses included) and shared as `Arc`s, so a cache hit costs one read lock, one
//! hash lookup and a reference-count increment. Inserts patch the cached results they
//! affect and removals drop them, so the cache never serves stale subscribers. The cache is
//! bounded: past [`CACHE_MAX`] entries it is swept down to [`CACHE_SWEEP`].
//! [`Sublist::genid`] changes on every modification, for callers that keep their own
//! per-connection cache on top.

mod notify;
mod result;
mod trie;

pub use notify::{InterestListener, Listener};
pub use result::SublistResult;

use crate::subject::{is_fwc_token, is_pwc_token, match_literal, subject_has_wildcard};
use notify::{notify_key, NotifyMaps};
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use trie::{EntrySet, Level};

/// Above this many cached results the cache is swept.
pub const CACHE_MAX: usize = 1024;
/// A sweep drops cached results until this many are left.
pub const CACHE_SWEEP: usize = 256;

/// What a sublist stores: a subscription handle compared by identity.
///
/// For `Arc<Subscription>` wrap it in a newtype whose `Eq`/`Hash` use `Arc::ptr_eq` and
/// `Arc::as_ptr`. Equal values are the same subscription.
pub trait SubEntry: Clone + Eq + Hash {
    /// How many times this entry shows in its queue group of a match result. A queue
    /// subscription received from a route or leafnode stands for that many remote members;
    /// a local one counts once. Read at match time, so after changing it call
    /// [`Sublist::update_remote_qsub`].
    fn queue_weight(&self) -> u32 {
        1
    }
}

/// Errors of sublist operations (texts as Go's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SublistError {
    /// The subject has an empty token or a `>` that is not last.
    InvalidSubject,
    /// Nothing to remove.
    NotFound,
    /// This listener is already registered for this subject and queue.
    AlreadyRegistered,
}

impl std::fmt::Display for SublistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SublistError::InvalidSubject => "sublist: invalid subject",
            SublistError::NotFound => "sublist: no matches found",
            SublistError::AlreadyRegistered => "sublist: notification already registered",
        })
    }
}

impl std::error::Error for SublistError {}

/// Sublist statistics, as reported by the monitoring endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SublistStats {
    #[serde(rename = "num_subscriptions")]
    pub num_subs: u32,
    pub num_cache: u32,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u32,
    pub avg_fanout: f64,
    #[serde(skip)]
    tot_fanout: usize,
    #[serde(skip)]
    cache_cnt: usize,
    #[serde(skip)]
    cache_hits: u64,
}

impl SublistStats {
    /// Folds another sublist's stats into these (e.g. summing over accounts); the rates
    /// and averages are recomputed from the underlying totals.
    pub fn add(&mut self, other: &SublistStats) {
        self.num_subs += other.num_subs;
        self.num_cache += other.num_cache;
        self.num_inserts += other.num_inserts;
        self.num_removes += other.num_removes;
        self.num_matches += other.num_matches;
        self.cache_hits += other.cache_hits;
        self.max_fanout = self.max_fanout.max(other.max_fanout);
        self.tot_fanout += other.tot_fanout;
        self.cache_cnt += other.cache_cnt;
        if self.tot_fanout > 0 {
            self.avg_fanout = self.tot_fanout as f64 / self.cache_cnt as f64;
        }
        if self.num_matches > 0 {
            self.cache_hit_rate = self.cache_hits as f64 / self.num_matches as f64;
        }
    }

    /// Matches served from the cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits
    }
}

/// Cached results by subject. The cache is bounded, so a fast hasher with a random seed
/// is enough here; it is the hot path of every publish.
type Cache<T> = HashMap<Box<str>, Arc<SublistResult<T>>, foldhash::fast::RandomState>;

fn new_cache<T>() -> Cache<T> {
    HashMap::with_hasher(foldhash::fast::RandomState::default())
}

struct Inner<T> {
    root: Level<T>,
    cache: Option<Cache<T>>,
    notify: Option<NotifyMaps>,
    count: u32,
    inserts: u64,
    removes: u64,
}

/// Tokens of a subject, kept on the stack for the usual short subjects.
struct Tokens<'a> {
    buf: [&'a str; 32],
    len: usize,
    spill: Vec<&'a str>,
}

impl<'a> Tokens<'a> {
    fn new(subject: &'a str) -> Self {
        let mut t = Tokens {
            buf: [""; 32],
            len: 0,
            spill: Vec::new(),
        };
        for tok in subject.split('.') {
            if t.len < t.buf.len() {
                t.buf[t.len] = tok;
            } else {
                if t.spill.is_empty() {
                    t.spill.extend_from_slice(&t.buf);
                }
                t.spill.push(tok);
            }
            t.len += 1;
        }
        t
    }

    fn as_slice(&self) -> &[&'a str] {
        if self.len <= self.buf.len() {
            &self.buf[..self.len]
        } else {
            &self.spill
        }
    }

    /// A literal subject to match must not have empty tokens.
    fn valid_for_match(&self) -> bool {
        self.as_slice().iter().all(|t| !t.is_empty())
    }

    /// A subscription subject: no empty tokens, and `>` only last.
    fn valid_for_sub(&self) -> bool {
        let toks = self.as_slice();
        toks.iter()
            .enumerate()
            .all(|(i, t)| !t.is_empty() && (i + 1 == toks.len() || !is_fwc_token(t)))
    }

    fn has_wildcard(&self) -> bool {
        self.as_slice()
            .iter()
            .any(|t| is_pwc_token(t) || is_fwc_token(t))
    }
}

/// The subscription trie. All methods take `&self` and are safe to call concurrently.
pub struct Sublist<T> {
    inner: RwLock<Inner<T>>,
    genid: AtomicU64,
    matches: AtomicU64,
    cache_hits: AtomicU64,
    /// Shared by every empty result, cached or not.
    empty: Arc<SublistResult<T>>,
}

impl<T: SubEntry> Default for Sublist<T> {
    fn default() -> Self {
        Sublist::new()
    }
}

impl<T> std::fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sublist").finish_non_exhaustive()
    }
}

impl<T: SubEntry> Sublist<T> {
    /// A sublist with the match cache.
    pub fn new() -> Self {
        Sublist::with_cache_enabled(true)
    }

    /// A sublist, with or without the match cache. Without it every match walks the trie,
    /// which suits sublists whose interest changes far more often than it is matched
    /// (Go's `no_sublist_cache` option).
    pub fn with_cache_enabled(enable_cache: bool) -> Self {
        Sublist {
            inner: RwLock::new(Inner {
                root: Level::default(),
                cache: enable_cache.then(new_cache),
                notify: None,
                count: 0,
                inserts: 0,
                removes: 0,
            }),
            genid: AtomicU64::new(0),
            matches: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            empty: Arc::new(SublistResult::default()),
        }
    }

    /// A sublist with the match cache.
    pub fn with_cache() -> Self {
        Sublist::with_cache_enabled(true)
    }

    /// A sublist without the match cache.
    pub fn no_cache() -> Self {
        Sublist::with_cache_enabled(false)
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<T>> {
        self.inner.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<T>> {
        self.inner.write()
    }

    /// Whether match results are cached.
    pub fn cache_enabled(&self) -> bool {
        self.read().cache.is_some()
    }

    /// Changes on every insert and removal.
    pub fn genid(&self) -> u64 {
        self.genid.load(Ordering::Acquire)
    }

    /// Adds `value` on `subject` (wildcards allowed), in queue group `queue` if given.
    /// Inserting a value that is already there changes nothing.
    pub fn insert(&self, subject: &str, queue: Option<&str>, value: T) -> Result<(), SublistError> {
        let toks = Tokens::new(subject);
        if !toks.valid_for_sub() {
            return Err(SublistError::InvalidSubject);
        }
        let has_wildcard = toks.has_wildcard();
        let mut guard = self.write();
        let inner = &mut *guard;
        let node = inner
            .root
            .node_for_insert(toks.as_slice())
            .ok_or(SublistError::InvalidSubject)?;
        let (added, first) = match queue {
            None => {
                let added = node.psubs.insert(value.clone());
                (added, added && node.psubs.len() == 1)
            }
            Some(q) => match node.qsubs.get_mut(q) {
                Some(group) => (group.insert(value.clone()), false),
                None => {
                    let mut group = EntrySet::default();
                    group.insert(value.clone());
                    node.qsubs.insert(Arc::from(q), group);
                    (true, true)
                }
            },
        };
        if !added {
            return Ok(());
        }
        inner.count += 1;
        inner.inserts += 1;
        add_to_cache(&mut inner.cache, subject, queue, &value);
        self.genid.fetch_add(1, Ordering::AcqRel);
        if first && !has_wildcard {
            if let Some(nm) = inner.notify.as_mut().filter(|nm| !nm.insert.is_empty()) {
                nm.interest_appeared(&notify_key(subject, queue));
            }
        }
        Ok(())
    }

    /// Removes `value` from `subject` / `queue`.
    pub fn remove(
        &self,
        subject: &str,
        queue: Option<&str>,
        value: &T,
    ) -> Result<(), SublistError> {
        let mut guard = self.write();
        let inner = &mut *guard;
        inner.remove(subject, queue, value)?;
        remove_from_cache(&mut inner.cache, subject);
        self.genid.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Removes many subscriptions under one lock (a closing connection). Every removal is
    /// attempted; the first error is returned. The cache is emptied rather than patched.
    pub fn remove_batch<'a, I>(&self, subs: I) -> Result<(), SublistError>
    where
        I: IntoIterator<Item = (&'a str, Option<&'a str>, &'a T)>,
        T: 'a,
    {
        let mut subs = subs.into_iter().peekable();
        if subs.peek().is_none() {
            return Ok(());
        }
        let mut guard = self.write();
        let inner = &mut *guard;
        let had_cache = inner.cache.take().is_some();
        let mut first_err = None;
        for (subject, queue, value) in subs {
            if let Err(e) = inner.remove(subject, queue, value) {
                first_err.get_or_insert(e);
            }
        }
        self.genid.fetch_add(1, Ordering::AcqRel);
        if had_cache {
            inner.cache = Some(new_cache());
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The weight of a remote queue subscription on `subject` changed: drop the cached
    /// results that include it.
    pub fn update_remote_qsub(&self, subject: &str) {
        let mut guard = self.write();
        remove_from_cache(&mut guard.cache, subject);
        self.genid.fetch_add(1, Ordering::AcqRel);
    }

    /// All subscriptions matching the literal `subject`.
    pub fn match_subject(&self, subject: &str) -> Arc<SublistResult<T>> {
        self.matches.fetch_add(1, Ordering::Relaxed);
        {
            let guard = self.read();
            match &guard.cache {
                Some(cache) => {
                    if let Some(r) = cache.get(subject) {
                        self.cache_hits.fetch_add(1, Ordering::Relaxed);
                        return Arc::clone(r);
                    }
                }
                None => return self.walk(&guard.root, subject),
            }
        }
        let toks = Tokens::new(subject);
        if !toks.valid_for_match() {
            return Arc::clone(&self.empty);
        }
        let mut guard = self.write();
        let result = self.walk_tokens(&guard.root, toks.as_slice());
        if let Some(cache) = guard.cache.as_mut() {
            cache.insert(subject.into(), Arc::clone(&result));
            if cache.len() > CACHE_MAX {
                let mut excess = cache.len() - CACHE_SWEEP;
                cache.retain(|_, _| {
                    let keep = excess == 0;
                    excess = excess.saturating_sub(1);
                    keep
                });
            }
        }
        result
    }

    /// Matches a subject given as bytes; not UTF-8 means no match.
    pub fn match_bytes(&self, subject: &[u8]) -> Arc<SublistResult<T>> {
        match std::str::from_utf8(subject) {
            Ok(s) => self.match_subject(s),
            Err(_) => Arc::clone(&self.empty),
        }
    }

    fn walk(&self, root: &Level<T>, subject: &str) -> Arc<SublistResult<T>> {
        let toks = Tokens::new(subject);
        if !toks.valid_for_match() {
            return Arc::clone(&self.empty);
        }
        self.walk_tokens(root, toks.as_slice())
    }

    fn walk_tokens(&self, root: &Level<T>, toks: &[&str]) -> Arc<SublistResult<T>> {
        let mut result = SublistResult::default();
        trie::match_level(Some(root), toks, &mut result);
        self.share(result)
    }

    fn share(&self, result: SublistResult<T>) -> Arc<SublistResult<T>> {
        if result.is_empty() {
            Arc::clone(&self.empty)
        } else {
            Arc::new(result)
        }
    }

    /// Whether anything matches `subject`; cheaper than a match on a cache miss.
    pub fn has_interest(&self, subject: &str) -> bool {
        self.interest(subject, None)
    }

    /// Numbers of plain and queue subscriptions interested in `subject`. Like Go, the walk
    /// stops at the first `>` subscription level it meets, so counts are a lower bound
    /// when several wildcards overlap.
    pub fn num_interest(&self, subject: &str) -> (usize, usize) {
        let mut counts = (0, 0);
        self.interest(subject, Some(&mut counts));
        counts
    }

    fn interest(&self, subject: &str, mut counts: Option<&mut (usize, usize)>) -> bool {
        let guard = self.read();
        if let Some(r) = guard.cache.as_ref().and_then(|c| c.get(subject)) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            if let Some((np, nq)) = counts {
                *np += r.psubs.len();
                *nq += r.qsubs.iter().map(Vec::len).sum::<usize>();
            }
            return !r.is_empty();
        }
        let toks = Tokens::new(subject);
        if !toks.valid_for_match() {
            return false;
        }
        trie::match_level_for_any(Some(&guard.root), toks.as_slice(), &mut counts)
    }

    /// Subscriptions whose subjects would be matched by `subject`, which may have wildcards.
    pub fn reverse_match(&self, subject: &str) -> Arc<SublistResult<T>> {
        let toks = Tokens::new(subject);
        let mut result = SublistResult::default();
        let guard = self.read();
        trie::reverse_match_level(Some(&guard.root), toks.as_slice(), None, &mut result);
        drop(guard);
        self.share(result)
    }

    /// Number of subscriptions.
    pub fn count(&self) -> u32 {
        self.read().count
    }

    /// Number of cached match results.
    pub fn cache_count(&self) -> usize {
        self.read().cache.as_ref().map_or(0, HashMap::len)
    }

    /// Matches served from the cache so far (also counts cache-served interest checks).
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// Depth of the trie: the most tokens of any stored subject.
    pub fn num_levels(&self) -> usize {
        self.read().root.depth()
    }

    /// Every stored subscription.
    pub fn all(&self) -> Vec<T> {
        self.all_filtered(&|_| true)
    }

    /// Every stored subscription that `keep` accepts.
    pub fn all_filtered(&self, keep: &dyn Fn(&T) -> bool) -> Vec<T> {
        let mut out = Vec::new();
        trie::collect_all(&self.read().root, &mut out, keep);
        out
    }

    /// Current statistics; fanout figures are taken over the cached results.
    pub fn stats(&self) -> SublistStats {
        let guard = self.read();
        let mut st = SublistStats {
            num_subs: guard.count,
            num_inserts: guard.inserts,
            num_removes: guard.removes,
            ..SublistStats::default()
        };
        st.num_matches = self.matches.load(Ordering::Relaxed);
        st.cache_hits = self.cache_hits.load(Ordering::Relaxed);
        if st.num_matches > 0 {
            st.cache_hit_rate = st.cache_hits as f64 / st.num_matches as f64;
        }
        if let Some(cache) = &guard.cache {
            st.num_cache = u32::try_from(cache.len()).unwrap_or(u32::MAX);
            let fanouts = cache.values().map(|r| r.psubs.len() + r.qsubs.len());
            let (tot, max) = fanouts.fold((0, 0), |(t, m), f| (t + f, m.max(f)));
            st.tot_fanout = tot;
            st.cache_cnt = cache.len();
            st.max_fanout = u32::try_from(max).unwrap_or(u32::MAX);
            if tot > 0 {
                st.avg_fanout = tot as f64 / cache.len() as f64;
            }
        }
        st
    }

    /// Registers `listener` to hear when plain interest in the literal `subject` appears
    /// (`true`) and vanishes (`false`). It is told the current state right away. Only
    /// subscriptions on exactly this subject count; wildcards never trigger it.
    pub fn register_notification(
        &self,
        subject: &str,
        listener: Listener,
    ) -> Result<(), SublistError> {
        self.register(subject, None, listener)
    }

    /// Like [`Self::register_notification`] for members of queue group `queue`.
    pub fn register_queue_notification(
        &self,
        subject: &str,
        queue: &str,
        listener: Listener,
    ) -> Result<(), SublistError> {
        self.register(subject, Some(queue), listener)
    }

    fn register(
        &self,
        subject: &str,
        queue: Option<&str>,
        listener: Listener,
    ) -> Result<(), SublistError> {
        if subject_has_wildcard(subject) {
            return Err(SublistError::InvalidSubject);
        }
        let key = notify_key(subject, queue);
        let has_interest = {
            let mut guard = self.write();
            let inner = &mut *guard;
            let has_interest = inner.exact_interest(subject, queue);
            let nm = inner.notify.get_or_insert_with(NotifyMaps::default);
            let map = if has_interest {
                &mut nm.remove
            } else {
                &mut nm.insert
            };
            if !NotifyMaps::add(map, key, Arc::clone(&listener)) {
                return Err(SublistError::AlreadyRegistered);
            }
            has_interest
        };
        listener.notify(has_interest);
        Ok(())
    }

    /// Removes a registration; false if there was none.
    pub fn clear_notification(&self, subject: &str, listener: &Listener) -> bool {
        self.clear(subject, None, listener)
    }

    /// Removes a queue registration; false if there was none.
    pub fn clear_queue_notification(
        &self,
        subject: &str,
        queue: &str,
        listener: &Listener,
    ) -> bool {
        self.clear(subject, Some(queue), listener)
    }

    fn clear(&self, subject: &str, queue: Option<&str>, listener: &Listener) -> bool {
        let mut guard = self.write();
        let Some(nm) = guard.notify.as_mut() else {
            return false;
        };
        let key = notify_key(subject, queue);
        let removed = NotifyMaps::take(&mut nm.remove, &key, listener)
            || NotifyMaps::take(&mut nm.insert, &key, listener);
        if nm.is_empty() {
            guard.notify = None;
        }
        removed
    }

    /// Numbers of keys waiting for interest to appear and to vanish; None when no
    /// notification is registered at all.
    pub fn notification_counts(&self) -> Option<(usize, usize)> {
        self.read()
            .notify
            .as_ref()
            .map(|nm| (nm.insert.len(), nm.remove.len()))
    }
}

impl<T: SubEntry> Inner<T> {
    /// Trie removal with bookkeeping and notifications; the cache is the caller's job.
    fn remove(
        &mut self,
        subject: &str,
        queue: Option<&str>,
        value: &T,
    ) -> Result<(), SublistError> {
        let toks = Tokens::new(subject);
        if !toks.valid_for_sub() {
            return Err(SublistError::InvalidSubject);
        }
        let removed = self
            .root
            .remove(toks.as_slice(), queue, value)
            .ok_or(SublistError::NotFound)?;
        self.count -= 1;
        self.removes += 1;
        if removed.last && !toks.has_wildcard() {
            let key = notify_key(subject, queue);
            let waiting = self
                .notify
                .as_ref()
                .is_some_and(|nm| nm.remove.get(&key).is_some_and(|l| !l.is_empty()));
            if waiting && !self.exact_interest(subject, queue) {
                if let Some(nm) = self.notify.as_mut() {
                    nm.interest_vanished(&key);
                }
            }
        }
        Ok(())
    }

    fn exact_interest(&self, subject: &str, queue: Option<&str>) -> bool {
        let toks = Tokens::new(subject);
        trie::has_exact_interest(&self.root, toks.as_slice(), queue)
    }
}

/// Patches the cached results that a new subscription on `subject` joins.
fn add_to_cache<T: SubEntry>(
    cache: &mut Option<Cache<T>>,
    subject: &str,
    queue: Option<&str>,
    sub: &T,
) {
    let Some(cache) = cache else {
        return;
    };
    if !subject_has_wildcard(subject) {
        if let Some(r) = cache.get_mut(subject) {
            *r = Arc::new(r.with_added(queue, sub));
        }
        return;
    }
    for (key, r) in cache.iter_mut() {
        if match_literal(key, subject) {
            *r = Arc::new(r.with_added(queue, sub));
        }
    }
}

/// Drops the cached results that a subscription on `subject` was part of.
fn remove_from_cache<T>(cache: &mut Option<Cache<T>>, subject: &str) {
    let Some(cache) = cache else {
        return;
    };
    if !subject_has_wildcard(subject) {
        cache.remove(subject);
    } else {
        cache.retain(|key, _| !match_literal(key, subject));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
