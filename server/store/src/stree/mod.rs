//! Subject tree: an adaptive radix tree from literal subjects to values, with wildcard
//! matching.
//!
//! The stores keep one entry per distinct subject (per-subject totals, first/last
//! sequences), possibly millions of them, and need to answer "which stored subjects match
//! `orders.*.eu.>`" without looking at every subject. A radix tree shares the common
//! leading bytes of subjects (path compression), only splits where subjects differ (lazy
//! expansion), and sizes each inner node to its fan-out ([`node`]), so memory per subject
//! stays flat and a wildcard match only visits the branches that can match.
//!
//! Behaviour follows Go's `server/stree` package: same results for insert, find, delete,
//! match (including its treatment of wildcards that are not whole tokens), lexical and
//! fast iteration, and the two intersections.

#[doc(hidden)]
pub mod node;
#[doc(hidden)]
pub mod parts;
mod path;
#[cfg(test)]
mod tests;

use std::fmt;

pub use node::NO_PIVOT;
use node::{common_prefix_len, pivot, Node};
use parts::{gen_parts, match_parts, Parts, FWC, PWC, TSEP};

/// A map from literal subjects to values that answers wildcard queries.
///
/// Subjects are bytes; they are not validated, but a subject containing the byte 127
/// (DEL, [`NO_PIVOT`]) can not be stored: [`SubjectTree::insert`] ignores it, as Go does.
#[derive(Clone)]
pub struct SubjectTree<T> {
    root: Option<Node<T>>,
    size: usize,
}

impl<T> Default for SubjectTree<T> {
    fn default() -> Self {
        SubjectTree {
            root: None,
            size: 0,
        }
    }
}

impl<T> SubjectTree<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of subjects stored.
    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.root = None;
        self.size = 0;
    }

    /// Stores `value` under `subject` and returns the value it replaced, if any. A subject
    /// containing [`NO_PIVOT`] is not stored (and `None` is returned).
    pub fn insert(&mut self, subject: &[u8], value: T) -> Option<T> {
        if subject.contains(&NO_PIVOT) {
            return None;
        }
        let old = match &mut self.root {
            None => {
                self.root = Some(Node::new_leaf(subject, value));
                None
            }
            Some(root) => insert_at(root, subject, value, 0),
        };
        if old.is_none() {
            self.size += 1;
        }
        old
    }

    /// The value stored under the literal `subject` (wildcards are plain bytes here).
    pub fn find(&self, subject: &[u8]) -> Option<&T> {
        let mut n = self.root.as_ref()?;
        let mut si = 0;
        loop {
            if let Node::Leaf(leaf) = n {
                return leaf.matches(&subject[si..]).then_some(&leaf.value);
            }
            let prefix = n.path();
            if !subject[si..].starts_with(prefix) {
                return None;
            }
            si += prefix.len();
            n = n.find_child(pivot(subject, si))?;
        }
    }

    /// The value stored under the literal `subject`, mutably.
    pub fn find_mut(&mut self, subject: &[u8]) -> Option<&mut T> {
        let mut n = self.root.as_mut()?;
        let mut si = 0;
        loop {
            if n.is_leaf() {
                return match n {
                    Node::Leaf(leaf) if leaf.matches(&subject[si..]) => Some(&mut leaf.value),
                    _ => None,
                };
            }
            let prefix = n.path();
            if !subject[si..].starts_with(prefix) {
                return None;
            }
            si += prefix.len();
            n = n.find_child_mut(pivot(subject, si))?;
        }
    }

    /// Removes `subject` and returns its value. Inner nodes left sparse shrink to a
    /// smaller kind, and a node left with one child merges into it.
    pub fn delete(&mut self, subject: &[u8]) -> Option<T> {
        let value = delete_at(&mut self.root, subject, 0);
        if value.is_some() {
            self.size -= 1;
        }
        value
    }

    /// Calls `cb` with each stored subject matching `filter` (which may hold `*` and `>`
    /// tokens) and its value.
    pub fn for_each_match(&self, filter: &[u8], mut cb: impl FnMut(&[u8], &T)) {
        self.match_until(filter, |subject, value| {
            cb(subject, value);
            true
        });
    }

    /// Like [`SubjectTree::for_each_match`], but stops as soon as `cb` returns false.
    /// Returns true if the walk ran to the end, false if `cb` stopped it.
    pub fn match_until(&self, filter: &[u8], mut cb: impl FnMut(&[u8], &T) -> bool) -> bool {
        let Some(root) = &self.root else { return true };
        if filter.is_empty() {
            return true;
        }
        let list = gen_parts(filter);
        let mut pre = Vec::with_capacity(256);
        match_node(root, Parts::new(&list), &mut pre, &mut cb)
    }

    /// [`SubjectTree::for_each_match`] with mutable access to the values.
    pub fn for_each_match_mut(&mut self, filter: &[u8], mut cb: impl FnMut(&[u8], &mut T)) {
        self.match_until_mut(filter, |subject, value| {
            cb(subject, value);
            true
        });
    }

    /// [`SubjectTree::match_until`] with mutable access to the values.
    pub fn match_until_mut(
        &mut self,
        filter: &[u8],
        mut cb: impl FnMut(&[u8], &mut T) -> bool,
    ) -> bool {
        let Some(root) = &mut self.root else {
            return true;
        };
        if filter.is_empty() {
            return true;
        }
        let list = gen_parts(filter);
        let mut pre = Vec::with_capacity(256);
        match_node_mut(root, Parts::new(&list), &mut pre, &mut cb)
    }

    /// Walks every entry in lexical order of subjects until `cb` returns false.
    pub fn iter_ordered(&self, mut cb: impl FnMut(&[u8], &T) -> bool) {
        if let Some(root) = &self.root {
            iter_node(root, &mut Vec::with_capacity(256), true, &mut cb);
        }
    }

    /// Walks every entry, in no particular order, until `cb` returns false. Cheaper than
    /// [`SubjectTree::iter_ordered`].
    pub fn iter_fast(&self, mut cb: impl FnMut(&[u8], &T) -> bool) {
        if let Some(root) = &self.root {
            iter_node(root, &mut Vec::with_capacity(256), false, &mut cb);
        }
    }

    /// [`SubjectTree::iter_fast`] with mutable access to the values.
    pub fn iter_fast_mut(&mut self, mut cb: impl FnMut(&[u8], &mut T) -> bool) {
        if let Some(root) = &mut self.root {
            iter_node_mut(root, &mut Vec::with_capacity(256), &mut cb);
        }
    }

    /// The root node, for tests that check the tree's shape.
    #[doc(hidden)]
    pub fn root(&self) -> Option<&Node<T>> {
        self.root.as_ref()
    }
}

impl<T: fmt::Debug> SubjectTree<T> {
    /// Writes the tree's structure, one node per line, as Go's `Dump` does.
    pub fn dump(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match &self.root {
            None => writeln!(w, "EMPTY")?,
            Some(root) => dump_node(w, root, 0)?,
        }
        writeln!(w)
    }
}

impl<T: fmt::Debug> fmt::Debug for SubjectTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.iter_ordered(|subject, value| {
            map.entry(&String::from_utf8_lossy(subject), value);
            true
        });
        map.finish()
    }
}

fn dump_node<T: fmt::Debug>(w: &mut impl fmt::Write, n: &Node<T>, depth: usize) -> fmt::Result {
    if depth == 0 {
        write!(w, "-- ")?;
    } else {
        write!(w, "{}|__ ", "  ".repeat(depth))?;
    }
    if let Node::Leaf(leaf) = n {
        return writeln!(
            w,
            "LEAF: Suffix: {:?} Value: {:?}",
            String::from_utf8_lossy(&leaf.suffix),
            leaf.value
        );
    }
    writeln!(
        w,
        "{} Prefix: {:?}",
        n.kind(),
        String::from_utf8_lossy(n.path())
    )?;
    for child in n.children().iter().flatten() {
        dump_node(w, child, depth + 1)?;
    }
    Ok(())
}

/// Inserts below `n`, which matched `subject[..si]`.
fn insert_at<T>(n: &mut Node<T>, subject: &[u8], value: T, si: usize) -> Option<T> {
    let rest = &subject[si..];
    if let Node::Leaf(leaf) = n {
        if leaf.matches(rest) {
            return Some(std::mem::replace(&mut leaf.value, value));
        }
        // Split the leaf: a node4 takes the shared bytes, the two leaves keep the rest.
        // They differ right after the shared bytes (or one ends there), so their keys
        // differ.
        let shared = common_prefix_len(&leaf.suffix, rest);
        leaf.suffix = leaf.suffix[shared..].into();
        let old_key = pivot(&leaf.suffix, 0);
        let new_rest = &rest[shared..];
        let old = std::mem::replace(n, Node::new_node4(&rest[..shared]));
        n.add_child(pivot(new_rest, 0), Node::new_leaf(new_rest, value));
        n.add_child(old_key, old);
        return None;
    }
    let prefix = n.path();
    let shared = common_prefix_len(prefix, rest);
    if shared < prefix.len() {
        // The subject leaves this node's path part way: a new node4 takes the shared
        // bytes, with this node (its prefix shortened) and a new leaf below it.
        let tail = path::Path::new(&prefix[shared..]);
        let old_key = pivot(&tail, 0);
        n.set_prefix(&tail);
        let new_rest = &rest[shared..];
        let old = std::mem::replace(n, Node::new_node4(&rest[..shared]));
        n.add_child(old_key, old);
        n.add_child(pivot(new_rest, 0), Node::new_leaf(new_rest, value));
        return None;
    }
    let si = si + prefix.len();
    let key = pivot(subject, si);
    if let Some(child) = n.find_child_mut(key) {
        return insert_at(child, subject, value, si);
    }
    if n.is_full() {
        let grown = n.grow();
        *n = grown;
    }
    n.add_child(key, Node::new_leaf(&subject[si..], value));
    None
}

/// Deletes `subject` from the subtree in `slot`, which matched `subject[..si]`.
fn delete_at<T>(slot: &mut Option<Node<T>>, subject: &[u8], si: usize) -> Option<T> {
    if subject.is_empty() {
        return None;
    }
    let n = slot.as_mut()?;
    if let Node::Leaf(leaf) = n {
        if !leaf.matches(&subject[si..]) {
            return None;
        }
        return match slot.take() {
            Some(Node::Leaf(leaf)) => Some(leaf.value),
            _ => None,
        };
    }
    let prefix = n.path();
    if !subject[si..].starts_with(prefix) {
        return None;
    }
    let si = si + prefix.len();
    let key = pivot(subject, si);
    let child = n.find_child(key)?;
    if let Some(leaf) = child.as_leaf() {
        if !leaf.matches(&subject[si..]) {
            return None;
        }
        let removed = n.delete_child(key);
        if let Some(smaller) = n.shrink() {
            *slot = Some(smaller);
        }
        return match removed {
            Some(Node::Leaf(leaf)) => Some(leaf.value),
            _ => None,
        };
    }
    delete_at(n.slot_mut(key)?, subject, si)
}

/// Generates the wildcard walk for shared (`&`) or exclusive (`&mut`) access to values.
macro_rules! match_walk {
    ($name:ident, $children:ident, $iter:ident, $find:ident $(, $m:ident)?) => {
        /// Calls `cb` for each leaf below `n` that matches `parts`; `pre` holds the
        /// subject bytes above `n` and is restored before returning. Returns false if
        /// `cb` stopped the walk.
        fn $name<T, F>(mut n: &$($m)? Node<T>, mut parts: Parts<'_>, pre: &mut Vec<u8>, cb: &mut F) -> bool
        where
            F: FnMut(&[u8], &$($m)? T) -> bool,
        {
            // A terminal `>` matches anything below once the parts before it matched.
            let has_fwc = parts.ends_with_fwc();
            let base = pre.len();
            let keep_going = 'walk: loop {
                let Some(mut rest) = match_parts(parts, n.path()) else { break 'walk true };
                if let Node::Leaf(leaf) = &$($m)? *n {
                    if rest.is_empty() || (has_fwc && rest.len() == 1) {
                        pre.extend_from_slice(&leaf.suffix);
                        break 'walk cb(pre, &$($m)? leaf.value);
                    }
                    break 'walk true;
                }
                pre.extend_from_slice(n.path());
                if rest.is_empty() && !has_fwc {
                    // The parts end at this node: children that end here match, and with a
                    // terminal `*` so do children completing the last token.
                    let term_pwc = parts.ends_with_pwc();
                    let last = parts.last();
                    for child in n.$children().$iter().flatten() {
                        if let Node::Leaf(leaf) = child {
                            if leaf.suffix.is_empty() || (term_pwc && !leaf.suffix.contains(&TSEP)) {
                                let at = pre.len();
                                pre.extend_from_slice(&leaf.suffix);
                                let go = cb(pre, &$($m)? leaf.value);
                                pre.truncate(at);
                                if !go {
                                    break 'walk false;
                                }
                            }
                        } else if term_pwc && !$name(child, last, pre, cb) {
                            break 'walk false;
                        }
                    }
                    break 'walk true;
                }
                if has_fwc && rest.is_empty() {
                    rest = parts.last();
                }
                let first = rest.get(0);
                let key = pivot(first, 0);
                if first.len() == 1 && (key == PWC || key == FWC) {
                    // A wildcard here: any child may match further down.
                    for child in n.$children().$iter().flatten() {
                        if !$name(child, rest, pre, cb) {
                            break 'walk false;
                        }
                    }
                    break 'walk true;
                }
                match n.$find(key) {
                    Some(child) => {
                        n = child;
                        parts = rest;
                    }
                    None => break 'walk true,
                }
            };
            pre.truncate(base);
            keep_going
        }
    };
}

match_walk!(match_node, children, iter, find_child);
match_walk!(match_node_mut, children_mut, iter_mut, find_child_mut, mut);

/// Calls `cb` for each leaf below `n`, in lexical order if `ordered`; `pre` holds the
/// subject bytes above `n` and is restored before returning. Returns false if `cb`
/// stopped the walk.
fn iter_node<T, F>(n: &Node<T>, pre: &mut Vec<u8>, ordered: bool, cb: &mut F) -> bool
where
    F: FnMut(&[u8], &T) -> bool,
{
    let base = pre.len();
    pre.extend_from_slice(n.path());
    let keep_going = match n {
        Node::Leaf(leaf) => cb(pre, &leaf.value),
        _ if ordered => n.for_each_ordered(|child| iter_node(child, pre, true, cb)),
        _ => n
            .children()
            .iter()
            .flatten()
            .all(|child| iter_node(child, pre, false, cb)),
    };
    pre.truncate(base);
    keep_going
}

/// [`iter_node`] in storage order with mutable access to the values.
fn iter_node_mut<T, F>(n: &mut Node<T>, pre: &mut Vec<u8>, cb: &mut F) -> bool
where
    F: FnMut(&[u8], &mut T) -> bool,
{
    let base = pre.len();
    pre.extend_from_slice(n.path());
    let keep_going = match n {
        Node::Leaf(leaf) => cb(pre, &mut leaf.value),
        _ => n
            .children_mut()
            .iter_mut()
            .flatten()
            .all(|child| iter_node_mut(child, pre, cb)),
    };
    pre.truncate(base);
    keep_going
}

/// Calls `cb` with each subject stored in both trees and its two values. Walks the
/// smaller tree and looks each subject up in the larger one.
pub fn lazy_intersect<L, R>(
    left: &SubjectTree<L>,
    right: &SubjectTree<R>,
    mut cb: impl FnMut(&[u8], &L, &R),
) {
    if left.root.is_none() || right.root.is_none() {
        return;
    }
    if left.len() <= right.len() {
        left.iter_fast(|subject, l| {
            if let Some(r) = right.find(subject) {
                cb(subject, l, r);
            }
            true
        });
    } else {
        right.iter_fast(|subject, r| {
            if let Some(l) = left.find(subject) {
                cb(subject, l, r);
            }
            true
        });
    }
}

/// A set of subscriptions that [`intersect_gsl`] can ask about interest, such as natsd's
/// generic sublist.
pub trait SubjectInterest {
    /// Whether any subscription matches the literal `subject`.
    fn has_interest(&self, subject: &[u8]) -> bool;
    /// Whether any subscription could match a subject whose leading tokens are
    /// `subject` (whole tokens, without the trailing separator).
    fn has_interest_starting_in(&self, subject: &[u8]) -> bool;
}

/// Calls `cb` once for each subject of `tree` that `interest` has interest in, until `cb`
/// returns false. Branches are pruned as soon as their leading tokens can not match.
pub fn intersect_gsl<T, S: SubjectInterest + ?Sized>(
    tree: &SubjectTree<T>,
    interest: &S,
    mut cb: impl FnMut(&[u8], &T) -> bool,
) {
    if let Some(root) = &tree.root {
        intersect_node(root, &mut Vec::with_capacity(256), interest, &mut cb);
    }
}

fn intersect_node<T, S, F>(n: &Node<T>, pre: &mut Vec<u8>, interest: &S, cb: &mut F) -> bool
where
    S: SubjectInterest + ?Sized,
    F: FnMut(&[u8], &T) -> bool,
{
    let base = pre.len();
    pre.extend_from_slice(n.path());
    let keep_going = match n {
        Node::Leaf(leaf) => !interest.has_interest(pre) || cb(pre, &leaf.value),
        _ => {
            let above = pre.len();
            n.children().iter().flatten().all(|child| {
                // Only whole tokens can be asked about, so check each token the child's
                // path completes.
                pre.extend_from_slice(child.path());
                let wanted = (above..pre.len())
                    .filter(|&i| pre[i] == TSEP)
                    .all(|i| interest.has_interest_starting_in(&pre[..i]));
                pre.truncate(above);
                !wanted || intersect_node(child, pre, interest, cb)
            })
        }
    };
    pre.truncate(base);
    keep_going
}
