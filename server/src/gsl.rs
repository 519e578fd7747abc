//! A generic sublist (Go's `server/gsl`): a subject trie with `*`/`>` wildcards that maps
//! subjects to plain values, without queue groups or a match cache. Used for filter sets
//! (consumer filters, multi-subject loads) and permission lists, where values are small
//! keys and `()` tracks interest alone.

use crate::subject::{is_fwc_token, is_pwc_token};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Errors of generic sublist operations (texts as Go's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GslError {
    /// The subject has an empty token or a `>` that is not last.
    InvalidSubject,
    /// Nothing to remove.
    NotFound,
}

impl std::fmt::Display for GslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GslError::InvalidSubject => "gsl: invalid subject",
            GslError::NotFound => "gsl: no matches found",
        })
    }
}

impl std::error::Error for GslError {}

struct Node<T> {
    next: Option<Box<Level<T>>>,
    subs: HashSet<T>,
    /// The full subject of the values stored here.
    subject: Option<Box<str>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            next: None,
            subs: HashSet::new(),
            subject: None,
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.subs.is_empty() && self.next.as_ref().is_none_or(|l| l.num_nodes() == 0)
    }
}

struct Level<T> {
    nodes: HashMap<Box<str>, Node<T>>,
    pwc: Option<Box<Node<T>>>,
    fwc: Option<Box<Node<T>>>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Level {
            nodes: HashMap::new(),
            pwc: None,
            fwc: None,
        }
    }
}

impl<T> Level<T> {
    fn num_nodes(&self) -> usize {
        self.nodes.len() + usize::from(self.pwc.is_some()) + usize::from(self.fwc.is_some())
    }

    fn child_mut(&mut self, token: &str) -> Option<&mut Node<T>> {
        if is_pwc_token(token) {
            self.pwc.as_deref_mut()
        } else if is_fwc_token(token) {
            self.fwc.as_deref_mut()
        } else {
            self.nodes.get_mut(token)
        }
    }

    fn child_or_insert(&mut self, token: &str) -> &mut Node<T> {
        if is_pwc_token(token) {
            self.pwc.get_or_insert_with(Box::default)
        } else if is_fwc_token(token) {
            self.fwc.get_or_insert_with(Box::default)
        } else {
            self.nodes.entry(token.into()).or_default()
        }
    }

    fn prune(&mut self, token: &str) {
        if is_pwc_token(token) {
            self.pwc = None;
        } else if is_fwc_token(token) {
            self.fwc = None;
        } else {
            self.nodes.remove(token);
        }
    }

    fn children(&self) -> impl Iterator<Item = &Node<T>> {
        self.nodes
            .values()
            .chain(self.pwc.as_deref())
            .chain(self.fwc.as_deref())
    }

    fn depth(&self) -> usize {
        if self.num_nodes() == 0 {
            return 0;
        }
        let below = self
            .children()
            .filter_map(|n| n.next.as_deref())
            .map(Level::depth)
            .max()
            .unwrap_or(0);
        1 + below
    }
}

impl<T: Eq + Hash> Level<T> {
    fn remove(&mut self, tokens: &[&str], value: &T) -> bool {
        let Some((t, tail)) = tokens.split_first() else {
            return false;
        };
        let Some(node) = self.child_mut(t) else {
            return false;
        };
        let removed = if tail.is_empty() {
            node.subs.remove(value)
        } else {
            node.next
                .as_deref_mut()
                .is_some_and(|next| next.remove(tail, value))
        };
        if removed && node.is_empty() {
            self.prune(t);
        }
        removed
    }
}

/// Tokens of a subject that may be stored: none empty, `>` only last.
fn sub_tokens(subject: &str) -> Option<Vec<&str>> {
    let toks: Vec<&str> = subject.split('.').collect();
    let last = toks.len() - 1;
    let ok = toks
        .iter()
        .enumerate()
        .all(|(i, t)| !t.is_empty() && (i == last || !is_fwc_token(t)));
    ok.then_some(toks)
}

/// Tokens of a literal subject to match; None if a token is empty.
fn match_tokens(subject: &str) -> Option<Vec<&str>> {
    let toks: Vec<&str> = subject.split('.').collect();
    toks.iter().all(|t| !t.is_empty()).then_some(toks)
}

fn match_level<T>(mut level: Option<&Level<T>>, toks: &[&str], cb: &mut dyn FnMut(&T)) {
    let mut pwc: Option<&Node<T>> = None;
    let mut node: Option<&Node<T>> = None;
    for (i, t) in toks.iter().enumerate() {
        let Some(l) = level else {
            return;
        };
        if let Some(f) = l.fwc.as_deref() {
            f.subs.iter().for_each(&mut *cb);
        }
        pwc = l.pwc.as_deref();
        if let Some(p) = pwc {
            match_level(p.next.as_deref(), &toks[i + 1..], cb);
        }
        node = l.nodes.get(*t);
        level = node.and_then(|n| n.next.as_deref());
    }
    if let Some(n) = node {
        n.subs.iter().for_each(&mut *cb);
    }
    if let Some(p) = pwc {
        p.subs.iter().for_each(&mut *cb);
    }
}

/// Like Go, stops at the first level holding a `>` child, so `count` may be a lower bound.
fn match_level_for_any<T>(mut level: Option<&Level<T>>, toks: &[&str], count: &mut usize) -> bool {
    let mut pwc: Option<&Node<T>> = None;
    let mut node: Option<&Node<T>> = None;
    for (i, t) in toks.iter().enumerate() {
        let Some(l) = level else {
            return false;
        };
        if let Some(f) = l.fwc.as_deref() {
            *count += f.subs.len();
            return true;
        }
        pwc = l.pwc.as_deref();
        if let Some(p) = pwc {
            if match_level_for_any(p.next.as_deref(), &toks[i + 1..], count) {
                return true;
            }
        }
        node = l.nodes.get(*t);
        level = node.and_then(|n| n.next.as_deref());
    }
    if let Some(n) = node {
        *count += n.subs.len();
        if !n.subs.is_empty() {
            return true;
        }
    }
    if let Some(p) = pwc {
        *count += p.subs.len();
        return !p.subs.is_empty();
    }
    false
}

fn has_interest_starting_in<T>(level: Option<&Level<T>>, tokens: &[&str]) -> bool {
    // A missing level below a node acts as an empty one: interest if no tokens are left.
    let Some(l) = level else {
        return tokens.is_empty();
    };
    let Some((t, tail)) = tokens.split_first() else {
        return true;
    };
    if l.fwc.is_some() {
        return true;
    }
    let via_pwc = l
        .pwc
        .as_deref()
        .is_some_and(|p| has_interest_starting_in(p.next.as_deref(), tail));
    via_pwc
        || l.nodes
            .get(*t)
            .is_some_and(|n| has_interest_starting_in(n.next.as_deref(), tail))
}

fn single_filter<T>(level: Option<&Level<T>>, filter: Option<&str>) -> Option<String> {
    let Some(l) = level else {
        return filter.map(str::to_string);
    };
    if l.num_nodes() != 1 {
        return None;
    }
    let next = l.children().next()?;
    let filter = if next.subs.is_empty() {
        filter
    } else {
        next.subject.as_deref().filter(|s| !s.is_empty())
    };
    match (next.next.as_deref(), filter) {
        (None, f) => f.map(str::to_string),
        (Some(below), Some(f)) => (below.num_nodes() == 0).then(|| f.to_string()),
        (Some(below), None) => single_filter(Some(below), None),
    }
}

struct Inner<T> {
    root: Level<T>,
    count: u32,
}

/// A subject trie of values. All methods take `&self` and are safe to call concurrently.
pub struct GenericSublist<T> {
    inner: RwLock<Inner<T>>,
}

/// Interest tracking only.
pub type SimpleSublist = GenericSublist<()>;

impl<T> Default for GenericSublist<T> {
    fn default() -> Self {
        GenericSublist {
            inner: RwLock::new(Inner {
                root: Level::default(),
                count: 0,
            }),
        }
    }
}

impl<T> std::fmt::Debug for GenericSublist<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericSublist")
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

impl<T> GenericSublist<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored (subject, value) pairs.
    pub fn count(&self) -> u32 {
        self.inner.read().count
    }

    /// Depth of the trie: the most tokens of any stored subject.
    pub fn num_levels(&self) -> usize {
        self.inner.read().root.depth()
    }

    /// Calls `cb` with every value whose subject matches the literal `subject`.
    pub fn match_subject(&self, subject: &str, mut cb: impl FnMut(&T)) {
        let Some(toks) = match_tokens(subject) else {
            return;
        };
        let guard = self.inner.read();
        match_level(Some(&guard.root), &toks, &mut cb);
    }

    /// [`Self::match_subject`] for a subject in bytes; not UTF-8 matches nothing.
    pub fn match_bytes(&self, subject: &[u8], cb: impl FnMut(&T)) {
        if let Ok(s) = std::str::from_utf8(subject) {
            self.match_subject(s, cb);
        }
    }

    /// Whether any value matches `subject`.
    pub fn has_interest(&self, subject: &str) -> bool {
        let mut n = 0;
        self.interest(subject, &mut n)
    }

    /// How many values match `subject` (see [`match_level_for_any`] for the `>` caveat).
    pub fn num_interest(&self, subject: &str) -> usize {
        let mut n = 0;
        self.interest(subject, &mut n);
        n
    }

    fn interest(&self, subject: &str, count: &mut usize) -> bool {
        let Some(toks) = match_tokens(subject) else {
            return false;
        };
        let guard = self.inner.read();
        match_level_for_any(Some(&guard.root), &toks, count)
    }

    /// True if a top-level `>` is stored.
    pub fn matches_full_wildcard(&self) -> bool {
        self.inner.read().root.fwc.is_some()
    }

    /// The subject, when exactly one distinct subject is stored.
    pub fn matches_single_filter(&self) -> Option<String> {
        let guard = self.inner.read();
        single_filter(Some(&guard.root), None)
    }

    /// Whether some stored subject could match a subject starting with the tokens of
    /// `subj` (used to prune subject-tree walks).
    pub fn has_interest_starting_in(&self, subj: &str) -> bool {
        let tokens: Vec<&str> = subj.split('.').collect();
        let guard = self.inner.read();
        has_interest_starting_in(Some(&guard.root), &tokens)
    }
}

impl<T: Eq + Hash> GenericSublist<T> {
    /// Stores `value` under `subject` (wildcards allowed). Storing an existing pair again
    /// changes nothing.
    pub fn insert(&self, subject: &str, value: T) -> Result<(), GslError> {
        let toks = sub_tokens(subject).ok_or(GslError::InvalidSubject)?;
        let mut guard = self.inner.write();
        let inner = &mut *guard;
        let mut level = &mut inner.root;
        let (last, init) = toks.split_last().ok_or(GslError::InvalidSubject)?;
        for t in init {
            level = level
                .child_or_insert(t)
                .next
                .get_or_insert_with(Box::default);
        }
        let node = level.child_or_insert(last);
        if node.subject.is_none() {
            node.subject = Some(subject.into());
        }
        if node.subs.insert(value) {
            inner.count += 1;
        }
        Ok(())
    }

    /// Removes `value` from `subject`.
    pub fn remove(&self, subject: &str, value: &T) -> Result<(), GslError> {
        let toks = sub_tokens(subject).ok_or(GslError::InvalidSubject)?;
        let mut guard = self.inner.write();
        if !guard.root.remove(&toks, value) {
            return Err(GslError::NotFound);
        }
        guard.count -= 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_insert_is_counted_once() {
        let s = SimpleSublist::new();
        s.insert("foo", ()).unwrap();
        s.insert("foo", ()).unwrap();
        assert_eq!(s.count(), 1);
        s.remove("foo", &()).unwrap();
        assert_eq!(s.count(), 0);
        assert_eq!(s.num_levels(), 0);
    }

    #[test]
    fn starting_in() {
        let s = GenericSublist::new();
        s.insert("foo.*.baz", 1).unwrap();
        assert!(s.has_interest_starting_in("foo"));
        assert!(s.has_interest_starting_in("foo.bar"));
        assert!(!s.has_interest_starting_in("foo.bar.qux"));
        assert!(!s.has_interest_starting_in("bar"));
        assert!(s.has_interest_starting_in("foo.x.baz"));
    }

    #[test]
    fn single_filter_with_wildcard() {
        let s = GenericSublist::new();
        s.insert("foo.>", 1).unwrap();
        assert_eq!(s.matches_single_filter().as_deref(), Some("foo.>"));
    }
}
