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

impl<T> Drop for SubjectTree<T> {
    fn drop(&mut self) {
        drop_nodes(self.root.take());
    }
}

impl<T: Clone> Clone for SubjectTree<T> {
    /// Rebuilds the entries into a new tree (a walk, not a recursive copy of nodes).
    fn clone(&self) -> Self {
        let mut copy = SubjectTree::new();
        self.iter_fast(|subject, value| {
            copy.insert(subject, value.clone());
            true
        });
        copy
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
        drop_nodes(self.root.take());
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
            Some(root) => insert_at(root, subject, value),
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
        let value = delete_at(&mut self.root, subject);
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
        match_node(root, Parts::new(&list), &mut cb)
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
        match_node_mut(root, Parts::new(&list), &mut cb)
    }

    /// Walks every entry in lexical order of subjects until `cb` returns false.
    pub fn iter_ordered(&self, mut cb: impl FnMut(&[u8], &T) -> bool) {
        if let Some(root) = &self.root {
            iter_node(root, true, &mut cb);
        }
    }

    /// Walks every entry, in no particular order, until `cb` returns false. Cheaper than
    /// [`SubjectTree::iter_ordered`].
    pub fn iter_fast(&self, mut cb: impl FnMut(&[u8], &T) -> bool) {
        if let Some(root) = &self.root {
            iter_node(root, false, &mut cb);
        }
    }

    /// [`SubjectTree::iter_fast`] with mutable access to the values.
    pub fn iter_fast_mut(&mut self, mut cb: impl FnMut(&[u8], &mut T) -> bool) {
        if let Some(root) = &mut self.root {
            iter_node_mut(root, &mut cb);
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
            Some(root) => dump_tree(w, root)?,
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

/// Writes one line per node, depth first in storage order.
fn dump_tree<T: fmt::Debug>(w: &mut impl fmt::Write, root: &Node<T>) -> fmt::Result {
    let mut stack = vec![(root, 0usize)];
    while let Some((n, depth)) = stack.pop() {
        if depth == 0 {
            write!(w, "-- ")?;
        } else {
            write!(w, "{}|__ ", "  ".repeat(depth))?;
        }
        if let Node::Leaf(leaf) = n {
            writeln!(
                w,
                "LEAF: Suffix: {:?} Value: {:?}",
                String::from_utf8_lossy(&leaf.suffix),
                leaf.value
            )?;
            continue;
        }
        writeln!(
            w,
            "{} Prefix: {:?}",
            n.kind(),
            String::from_utf8_lossy(n.path())
        )?;
        let start = stack.len();
        stack.extend(
            n.children()
                .iter()
                .flatten()
                .map(|child| (child, depth + 1)),
        );
        stack[start..].reverse();
    }
    Ok(())
}

// The walks below keep their own stacks instead of recursing: a tree is as deep as its
// longest subject, and subjects can be kilobytes long.

/// Drops a subtree node by node, so a deep tree can not overflow the stack.
fn drop_nodes<T>(root: Option<Node<T>>) {
    let mut stack: Vec<Node<T>> = root.into_iter().collect();
    while let Some(mut n) = stack.pop() {
        stack.extend(n.children_mut().iter_mut().filter_map(Option::take));
    }
}

/// Inserts `subject` below the inner node or leaf `n` (the root).
fn insert_at<T>(mut n: &mut Node<T>, subject: &[u8], value: T) -> Option<T> {
    let mut si = 0;
    loop {
        let rest = &subject[si..];
        if let Node::Leaf(leaf) = n {
            if leaf.matches(rest) {
                return Some(std::mem::replace(&mut leaf.value, value));
            }
            // Split the leaf: a node4 takes the shared bytes, the two leaves keep the
            // rest. They differ right after the shared bytes (or one ends there), so
            // their keys differ.
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
        si += prefix.len();
        let key = pivot(subject, si);
        match n.child_index(key) {
            Some(at) => n = n.child_at_mut(at),
            None => {
                if n.is_full() {
                    let grown = n.grow();
                    *n = grown;
                }
                n.add_child(key, Node::new_leaf(&subject[si..], value));
                return None;
            }
        }
    }
}

/// Deletes `subject` from the tree rooted in `root`. The leaf is removed from its parent,
/// which then shrinks (or merges into its last child) if it became sparse.
fn delete_at<T>(root: &mut Option<Node<T>>, subject: &[u8]) -> Option<T> {
    if subject.is_empty() {
        return None;
    }
    if root.as_ref()?.is_leaf() {
        if !root
            .as_ref()
            .and_then(Node::as_leaf)
            .is_some_and(|leaf| leaf.matches(subject))
        {
            return None;
        }
        return match root.take() {
            Some(Node::Leaf(leaf)) => Some(leaf.value),
            _ => None,
        };
    }
    let mut n = root.as_mut()?;
    let mut si = 0;
    loop {
        let prefix = n.path();
        if !subject[si..].starts_with(prefix) {
            return None;
        }
        si += prefix.len();
        let key = pivot(subject, si);
        let at = n.child_index(key)?;
        if let Some(leaf) = n.slots()[at].as_ref().and_then(Node::as_leaf) {
            if !leaf.matches(&subject[si..]) {
                return None;
            }
            let removed = n.delete_child(key);
            if let Some(smaller) = n.shrink() {
                *n = smaller;
            }
            return match removed {
                Some(Node::Leaf(leaf)) => Some(leaf.value),
                _ => None,
            };
        }
        n = n.child_at_mut(at);
    }
}

/// Generates the wildcard walk for shared (`&`) or exclusive (`&mut`) access to values.
macro_rules! match_walk {
    ($name:ident, $children:ident, $iter:ident, $find:ident $(, $m:ident)?) => {
        /// Calls `cb` for each leaf below `root` that matches `parts`. Returns false if
        /// `cb` stopped the walk.
        fn $name<T, F>(root: &$($m)? Node<T>, parts: Parts<'_>, cb: &mut F) -> bool
        where
            F: FnMut(&[u8], &$($m)? T) -> bool,
        {
            let mut pre = Vec::with_capacity(256);
            // Pending branches: a node, the parts left for it, and the length of its
            // parent's subject bytes in `pre`.
            let mut stack = vec![(root, parts, 0)];
            while let Some((mut n, mut parts, base)) = stack.pop() {
                pre.truncate(base);
                // A terminal `>` matches anything below once the parts before it matched.
                let has_fwc = parts.ends_with_fwc();
                loop {
                    let Some(mut rest) = match_parts(parts, n.path()) else { break };
                    if let Node::Leaf(leaf) = &$($m)? *n {
                        if rest.is_empty() || (has_fwc && rest.len() == 1) {
                            pre.extend_from_slice(&leaf.suffix);
                            if !cb(&pre, &$($m)? leaf.value) {
                                return false;
                            }
                        }
                        break;
                    }
                    pre.extend_from_slice(n.path());
                    let above = pre.len();
                    if rest.is_empty() && !has_fwc {
                        // The parts end at this node: children that end here match, and
                        // with a terminal `*` so do children completing the last token.
                        let term_pwc = parts.ends_with_pwc();
                        let last = parts.last();
                        let start = stack.len();
                        for child in n.$children().$iter().flatten() {
                            match child {
                                Node::Leaf(leaf)
                                    if leaf.suffix.is_empty()
                                        || (term_pwc && !leaf.suffix.contains(&TSEP)) =>
                                {
                                    pre.extend_from_slice(&leaf.suffix);
                                    let go_on = cb(&pre, &$($m)? leaf.value);
                                    pre.truncate(above);
                                    if !go_on {
                                        return false;
                                    }
                                }
                                Node::Leaf(_) => {}
                                _ if term_pwc => stack.push((child, last, above)),
                                _ => {}
                            }
                        }
                        stack[start..].reverse();
                        break;
                    }
                    if has_fwc && rest.is_empty() {
                        rest = parts.last();
                    }
                    let first = rest.get(0);
                    let key = pivot(first, 0);
                    if first.len() == 1 && (key == PWC || key == FWC) {
                        // A wildcard here: any child may match further down.
                        let start = stack.len();
                        stack.extend(n.$children().$iter().flatten().map(|child| (child, rest, above)));
                        stack[start..].reverse();
                        break;
                    }
                    match n.$find(key) {
                        Some(child) => {
                            n = child;
                            parts = rest;
                        }
                        None => break,
                    }
                }
            }
            true
        }
    };
}

match_walk!(match_node, children, iter, find_child);
match_walk!(match_node_mut, children_mut, iter_mut, find_child_mut, mut);

/// Calls `cb` for each leaf below `root`, in lexical order if `ordered`, else in storage
/// order. Returns false if `cb` stopped the walk.
fn iter_node<T, F>(root: &Node<T>, ordered: bool, cb: &mut F) -> bool
where
    F: FnMut(&[u8], &T) -> bool,
{
    let mut pre = Vec::with_capacity(256);
    let mut stack = vec![(root, 0)];
    while let Some((n, base)) = stack.pop() {
        pre.truncate(base);
        pre.extend_from_slice(n.path());
        if let Node::Leaf(leaf) = n {
            if !cb(&pre, &leaf.value) {
                return false;
            }
            continue;
        }
        let above = pre.len();
        let start = stack.len();
        if ordered {
            n.for_each_ordered(|child| {
                stack.push((child, above));
                true
            });
        } else {
            stack.extend(n.children().iter().flatten().map(|child| (child, above)));
        }
        stack[start..].reverse();
    }
    true
}

/// [`iter_node`] in storage order with mutable access to the values.
fn iter_node_mut<T, F>(root: &mut Node<T>, cb: &mut F) -> bool
where
    F: FnMut(&[u8], &mut T) -> bool,
{
    let mut pre = Vec::with_capacity(256);
    let mut stack = vec![(root, 0)];
    while let Some((n, base)) = stack.pop() {
        pre.truncate(base);
        pre.extend_from_slice(n.path());
        let above = pre.len();
        match n {
            Node::Leaf(leaf) => {
                if !cb(&pre, &mut leaf.value) {
                    return false;
                }
            }
            inner => {
                let start = stack.len();
                stack.extend(
                    inner
                        .children_mut()
                        .iter_mut()
                        .flatten()
                        .map(|child| (child, above)),
                );
                stack[start..].reverse();
            }
        }
    }
    true
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
        intersect_node(root, interest, &mut cb);
    }
}

fn intersect_node<T, S, F>(root: &Node<T>, interest: &S, cb: &mut F)
where
    S: SubjectInterest + ?Sized,
    F: FnMut(&[u8], &T) -> bool,
{
    let mut pre = Vec::with_capacity(256);
    let mut stack = vec![(root, 0)];
    while let Some((n, base)) = stack.pop() {
        pre.truncate(base);
        pre.extend_from_slice(n.path());
        if let Node::Leaf(leaf) = n {
            if interest.has_interest(&pre) && !cb(&pre, &leaf.value) {
                return;
            }
            continue;
        }
        let above = pre.len();
        let start = stack.len();
        for child in n.children().iter().flatten() {
            // Only whole tokens can be asked about, so check each token the child's path
            // completes.
            pre.extend_from_slice(child.path());
            let wanted = (above..pre.len())
                .filter(|&i| pre[i] == TSEP)
                .all(|i| interest.has_interest_starting_in(&pre[..i]));
            pre.truncate(above);
            if wanted {
                stack.push((child, above));
            }
        }
        stack[start..].reverse();
    }
}
