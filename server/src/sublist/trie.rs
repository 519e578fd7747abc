//! The trie behind [`super::Sublist`]: one level per token, with the `*` and `>` children
//! kept apart from the literal ones. Not thread-safe by itself; the sublist locks around it.

use super::{SubEntry, SublistResult};
use crate::subject::{is_fwc_token, is_pwc_token};
use std::hash::Hash;
use std::sync::Arc;

/// Trie maps use a fast randomly seeded hasher, like Go's maps; SipHash costs a good part
/// of a trie walk.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Above this many entries an [`EntrySet`] keeps a hash index for O(1) removal.
const INDEX_THRESHOLD: usize = 16;

/// A set with contiguous storage (fast to copy into match results) and O(1) removal.
#[derive(Debug)]
pub(super) struct EntrySet<T> {
    items: Vec<T>,
    index: Option<HashMap<T, usize>>,
}

impl<T> Default for EntrySet<T> {
    fn default() -> Self {
        EntrySet {
            items: Vec::new(),
            index: None,
        }
    }
}

impl<T: Clone + Eq + Hash> EntrySet<T> {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn as_slice(&self) -> &[T] {
        &self.items
    }

    fn position(&self, v: &T) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(v).copied(),
            None => self.items.iter().position(|x| x == v),
        }
    }

    /// Adds `v`; false if it was already present.
    pub(super) fn insert(&mut self, v: T) -> bool {
        if self.position(&v).is_some() {
            return false;
        }
        if let Some(ix) = &mut self.index {
            ix.insert(v.clone(), self.items.len());
        }
        self.items.push(v);
        if self.index.is_none() && self.items.len() > INDEX_THRESHOLD {
            let ix = self
                .items
                .iter()
                .enumerate()
                .map(|(i, x)| (x.clone(), i))
                .collect();
            self.index = Some(ix);
        }
        true
    }

    /// Removes `v`; false if it was not present.
    pub(super) fn remove(&mut self, v: &T) -> bool {
        let Some(pos) = self.position(v) else {
            return false;
        };
        self.items.swap_remove(pos);
        if let Some(ix) = &mut self.index {
            ix.remove(v);
            if let Some(moved) = self.items.get(pos) {
                ix.insert(moved.clone(), pos);
            }
        }
        true
    }
}

/// A trie node: the subscriptions whose subject ends here, and the level below.
#[derive(Debug)]
pub(super) struct Node<T> {
    pub(super) next: Option<Box<Level<T>>>,
    pub(super) psubs: EntrySet<T>,
    pub(super) qsubs: HashMap<Arc<str>, EntrySet<T>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            next: None,
            psubs: EntrySet::default(),
            qsubs: HashMap::default(),
        }
    }
}

/// One level of the trie: literal children by token, plus the `*` and `>` children.
#[derive(Debug)]
pub(super) struct Level<T> {
    pub(super) nodes: HashMap<Box<str>, Node<T>>,
    pub(super) pwc: Option<Box<Node<T>>>,
    pub(super) fwc: Option<Box<Node<T>>>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Level {
            nodes: HashMap::default(),
            pwc: None,
            fwc: None,
        }
    }
}

/// Where a token lives in a level.
enum Slot<'a> {
    Pwc,
    Fwc,
    Literal(&'a str),
}

fn slot(token: &str) -> Slot<'_> {
    if is_pwc_token(token) {
        Slot::Pwc
    } else if is_fwc_token(token) {
        Slot::Fwc
    } else {
        Slot::Literal(token)
    }
}

/// What a removal found, for interest notifications.
pub(super) struct Removed {
    /// The last plain subscription of the subject, or the last member of the queue group.
    pub(super) last: bool,
}

impl<T> Level<T> {
    pub(super) fn num_nodes(&self) -> usize {
        self.nodes.len() + usize::from(self.pwc.is_some()) + usize::from(self.fwc.is_some())
    }

    fn child_mut(&mut self, token: &str) -> Option<&mut Node<T>> {
        match slot(token) {
            Slot::Pwc => self.pwc.as_deref_mut(),
            Slot::Fwc => self.fwc.as_deref_mut(),
            Slot::Literal(t) => self.nodes.get_mut(t),
        }
    }

    fn child_or_insert(&mut self, token: &str) -> &mut Node<T> {
        match slot(token) {
            Slot::Pwc => self.pwc.get_or_insert_with(Box::default),
            Slot::Fwc => self.fwc.get_or_insert_with(Box::default),
            Slot::Literal(t) => self.nodes.entry(t.into()).or_default(),
        }
    }

    fn prune(&mut self, token: &str) {
        match slot(token) {
            Slot::Pwc => self.pwc = None,
            Slot::Fwc => self.fwc = None,
            Slot::Literal(t) => {
                self.nodes.remove(t);
            }
        }
    }

    /// Depth of the deepest non-empty level below and including this one.
    pub(super) fn depth(&self) -> usize {
        if self.num_nodes() == 0 {
            return 0;
        }
        let below = self
            .nodes
            .values()
            .chain(self.pwc.as_deref())
            .chain(self.fwc.as_deref())
            .filter_map(|n| n.next.as_deref())
            .map(Level::depth)
            .max()
            .unwrap_or(0);
        1 + below
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.psubs.items.is_empty()
            && self.qsubs.is_empty()
            && self.next.as_ref().is_none_or(|l| l.num_nodes() == 0)
    }

    fn has_subs(&self) -> bool {
        !self.psubs.items.is_empty() || !self.qsubs.is_empty()
    }

    /// Adds this node's plain count and queue member count to the tallies.
    fn count_into(&self, counts: &mut Option<&mut (usize, usize)>) {
        if let Some((np, nq)) = counts.as_deref_mut() {
            *np += self.psubs.items.len();
            *nq += self.qsubs.values().map(|q| q.items.len()).sum::<usize>();
        }
    }
}

impl<T: SubEntry> Level<T> {
    /// The node for `tokens` (already validated), created as needed; None for no tokens.
    pub(super) fn node_for_insert(&mut self, tokens: &[&str]) -> Option<&mut Node<T>> {
        let mut level = self;
        let mut rest = tokens;
        loop {
            let (t, tail) = rest.split_first()?;
            let node = level.child_or_insert(t);
            if tail.is_empty() {
                return Some(node);
            }
            level = node.next.get_or_insert_with(Box::default);
            rest = tail;
        }
    }

    /// Removes `value` at `tokens` (already validated) and prunes emptied nodes.
    pub(super) fn remove(
        &mut self,
        tokens: &[&str],
        queue: Option<&str>,
        value: &T,
    ) -> Option<Removed> {
        let (t, tail) = tokens.split_first()?;
        let node = self.child_mut(t)?;
        let removed = if tail.is_empty() {
            node.remove_entry(queue, value)?
        } else {
            node.next.as_deref_mut()?.remove(tail, queue, value)?
        };
        if node.is_empty() {
            self.prune(t);
        }
        Some(removed)
    }

    /// The node at a literal path, if any.
    pub(super) fn literal_node(&self, tokens: &[&str]) -> Option<&Node<T>> {
        let (t, tail) = tokens.split_first()?;
        let node = self.nodes.get(*t)?;
        if tail.is_empty() {
            Some(node)
        } else {
            node.next.as_deref()?.literal_node(tail)
        }
    }
}

impl<T: SubEntry> Node<T> {
    pub(super) fn remove_entry(&mut self, queue: Option<&str>, value: &T) -> Option<Removed> {
        match queue {
            None => {
                if !self.psubs.remove(value) {
                    return None;
                }
                Some(Removed {
                    last: self.psubs.is_empty(),
                })
            }
            Some(q) => {
                let group = self.qsubs.get_mut(q)?;
                if !group.remove(value) {
                    return None;
                }
                let last = group.is_empty();
                if last {
                    self.qsubs.remove(q);
                }
                Some(Removed { last })
            }
        }
    }

    /// Appends this node's subscriptions to a match result.
    pub(super) fn add_to_result(&self, result: &mut SublistResult<T>) {
        result.psubs.extend_from_slice(self.psubs.as_slice());
        for (name, group) in &self.qsubs {
            if group.is_empty() {
                continue;
            }
            let slot = result.queue_slot_or_insert(name);
            result.qsubs[slot].reserve(group.len());
            for sub in group.as_slice() {
                push_weighted(&mut result.qsubs[slot], sub);
            }
        }
    }

    /// Appends every subscription of this node to `out`, keeping those `keep` accepts.
    fn collect(&self, out: &mut Vec<T>, keep: &dyn Fn(&T) -> bool) {
        out.extend(self.psubs.as_slice().iter().filter(|s| keep(s)).cloned());
        for group in self.qsubs.values() {
            out.extend(group.as_slice().iter().filter(|s| keep(s)).cloned());
        }
    }
}

/// Pushes a queue member as many times as its weight (remote members stand for several).
pub(super) fn push_weighted<T: SubEntry>(group: &mut Vec<T>, sub: &T) {
    for _ in 0..sub.queue_weight() {
        group.push(sub.clone());
    }
}

/// Collects the subscriptions matching the literal `toks` below `level`.
pub(super) fn match_level<T: SubEntry>(
    mut level: Option<&Level<T>>,
    toks: &[&str],
    result: &mut SublistResult<T>,
) {
    let mut pwc: Option<&Node<T>> = None;
    let mut node: Option<&Node<T>> = None;
    for (i, t) in toks.iter().enumerate() {
        let Some(l) = level else {
            return;
        };
        if let Some(f) = l.fwc.as_deref() {
            f.add_to_result(result);
        }
        pwc = l.pwc.as_deref();
        if let Some(p) = pwc {
            match_level(p.next.as_deref(), &toks[i + 1..], result);
        }
        node = l.nodes.get(*t);
        level = node.and_then(|n| n.next.as_deref());
    }
    if let Some(n) = node {
        n.add_to_result(result);
    }
    if let Some(p) = pwc {
        p.add_to_result(result);
    }
}

/// True if anything matches `toks`; with `counts`, tallies plain and queue subscriptions
/// of the nodes it looked at. Stops at the first level with a `>` child, as Go does.
pub(super) fn match_level_for_any<T>(
    mut level: Option<&Level<T>>,
    toks: &[&str],
    counts: &mut Option<&mut (usize, usize)>,
) -> bool {
    let mut pwc: Option<&Node<T>> = None;
    let mut node: Option<&Node<T>> = None;
    for (i, t) in toks.iter().enumerate() {
        let Some(l) = level else {
            return false;
        };
        if let Some(f) = l.fwc.as_deref() {
            f.count_into(counts);
            return true;
        }
        pwc = l.pwc.as_deref();
        if let Some(p) = pwc {
            if match_level_for_any(p.next.as_deref(), &toks[i + 1..], counts) {
                return true;
            }
        }
        node = l.nodes.get(*t);
        level = node.and_then(|n| n.next.as_deref());
    }
    if let Some(n) = node {
        n.count_into(counts);
        if n.has_subs() {
            return true;
        }
    }
    if let Some(p) = pwc {
        p.count_into(counts);
        return p.has_subs();
    }
    false
}

/// Collects everything stored below `level`, filtered by `keep`.
pub(super) fn collect_all<T: SubEntry>(
    level: &Level<T>,
    out: &mut Vec<T>,
    keep: &dyn Fn(&T) -> bool,
) {
    for n in level
        .nodes
        .values()
        .chain(level.pwc.as_deref())
        .chain(level.fwc.as_deref())
    {
        n.collect(out, keep);
        if let Some(next) = n.next.as_deref() {
            collect_all(next, out, keep);
        }
    }
}

/// Collects the subscriptions whose subjects would be matched by `toks`, which may hold
/// wildcards: the reverse of [`match_level`].
pub(super) fn reverse_match_level<'a, T: SubEntry>(
    level: Option<&'a Level<T>>,
    toks: &[&str],
    mut node: Option<&'a Node<T>>,
    result: &mut SublistResult<T>,
) {
    // Go keeps an (empty) level below every node; a missing level here behaves like one.
    let Some(mut l) = level else {
        if toks.is_empty() {
            if let Some(n) = node {
                n.add_to_result(result);
            }
        }
        return;
    };
    for (i, t) in toks.iter().enumerate() {
        if is_fwc_token(t) {
            add_all_nodes(Some(l), result);
            return;
        }
        if is_pwc_token(t) {
            for n in l.nodes.values() {
                reverse_match_level(n.next.as_deref(), &toks[i + 1..], Some(n), result);
            }
            // Like Go, the node handed down is the parent's, not the `*` node itself; kept
            // as is so leafnode permission checks built on this behave the same.
            if let Some(p) = l.pwc.as_deref() {
                reverse_match_level(p.next.as_deref(), &toks[i + 1..], node, result);
            }
            if l.fwc.is_some() {
                add_all_nodes(Some(l), result);
            }
            return;
        }
        // A `>` subscription at this position matches whatever follows.
        if l.fwc.is_some() {
            add_all_nodes(Some(l), result);
            return;
        }
        if let Some(p) = l.pwc.as_deref() {
            reverse_match_level(p.next.as_deref(), &toks[i + 1..], node, result);
        }
        node = l.nodes.get(*t);
        let Some(n) = node else {
            break;
        };
        match n.next.as_deref() {
            Some(next) => l = next,
            None => {
                // Nothing below: only a subject ending here can match.
                if i + 1 == toks.len() {
                    break;
                }
                return;
            }
        }
    }
    if let Some(n) = node {
        n.add_to_result(result);
    }
}

/// Adds every node at and below `level` to the result.
fn add_all_nodes<T: SubEntry>(level: Option<&Level<T>>, result: &mut SublistResult<T>) {
    let Some(l) = level else {
        return;
    };
    if let Some(p) = l.pwc.as_deref() {
        p.add_to_result(result);
    }
    if let Some(f) = l.fwc.as_deref() {
        f.add_to_result(result);
    }
    for n in l.nodes.values() {
        n.add_to_result(result);
        add_all_nodes(n.next.as_deref(), result);
    }
}

/// Whether the literal node at `tokens` holds plain interest, or members of `queue`.
pub(super) fn has_exact_interest<T: SubEntry>(
    root: &Level<T>,
    tokens: &[&str],
    queue: Option<&str>,
) -> bool {
    match root.literal_node(tokens) {
        None => false,
        Some(n) => match queue {
            None => !n.psubs.is_empty(),
            Some(q) => n.qsubs.get(q).is_some_and(|g| !g.is_empty()),
        },
    }
}
