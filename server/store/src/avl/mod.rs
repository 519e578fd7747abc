//! A compact set of sequence numbers (the behaviour of Go's `server/avl`).
//!
//! Sequences are kept in nodes that each cover 2,048 consecutive values with a bitmap; the
//! nodes form an AVL tree ordered by their base. A dense run of sequences costs about one
//! bit each, which is why the stores use it for deleted-message maps. The binary encoding
//! is the one Go's stores persist, so sets written by either server read back in the other.

mod codec;
mod iter;
mod node;

pub use codec::{decode, SeqSetError};
pub use iter::Iter;

use node::{Link, Node};
use std::cmp::Ordering;

/// Sequences covered by one tree node.
pub const NUM_ENTRIES: u64 = node::NUM_ENTRIES;

/// A set of `u64` sequences. Not thread safe; wrap it in a lock to share it.
#[derive(Clone, Debug, Default)]
pub struct SequenceSet {
    root: Link,
    size: usize,
    nodes: usize,
}

impl SequenceSet {
    /// An empty set.
    pub fn new() -> SequenceSet {
        SequenceSet::default()
    }

    /// Adds `seq` to the set, rebalancing the tree when a node is added.
    pub fn insert(&mut self, seq: u64) {
        // A node already covering `seq` only needs a bit set: the shape cannot change.
        let mut cur = self.root.as_deref_mut();
        while let Some(n) = cur {
            match n.locate(seq) {
                Ordering::Less => cur = n.left.as_deref_mut(),
                Ordering::Greater => cur = n.right.as_deref_mut(),
                Ordering::Equal => {
                    if n.set(seq) {
                        self.size += 1;
                    }
                    return;
                }
            }
        }
        let mut inserted = false;
        self.root = Some(node::insert(
            self.root.take(),
            seq,
            &mut inserted,
            &mut self.nodes,
        ));
        if inserted {
            self.size += 1;
        }
    }

    /// Whether `seq` is in the set.
    pub fn exists(&self, seq: u64) -> bool {
        let mut cur = self.root.as_deref();
        while let Some(n) = cur {
            match n.locate(seq) {
                Ordering::Less => cur = n.left.as_deref(),
                Ordering::Greater => cur = n.right.as_deref(),
                Ordering::Equal => return n.exists(seq),
            }
        }
        false
    }

    /// Starts an empty set with a first node based exactly at `min` (rather than at the
    /// 2,048-aligned value below it), which uses space better when the lowest sequence is
    /// known up front.
    pub fn set_initial_min(&mut self, min: u64) -> Result<(), SeqSetError> {
        if !self.is_empty() {
            return Err(SeqSetError::SetNotEmpty);
        }
        self.root = Some(Box::new(Node::new(min)));
        self.nodes = 1;
        Ok(())
    }

    /// Removes `seq`; returns whether it was in the set. A node left empty is removed.
    pub fn delete(&mut self, seq: u64) -> bool {
        if self.root.is_none() {
            return false;
        }
        let mut deleted = false;
        self.root = node::delete(self.root.take(), seq, &mut deleted, &mut self.nodes);
        if deleted {
            self.size -= 1;
            if self.size == 0 {
                self.empty();
            }
        }
        deleted
    }

    /// Number of sequences in the set.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of nodes in the tree.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Removes everything.
    pub fn empty(&mut self) {
        self.root = None;
        self.size = 0;
        self.nodes = 0;
    }

    /// Whether the tree has no node. (A set started with [`Self::set_initial_min`] has a
    /// node before it has any sequence, as in Go.)
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// Calls `f` with each sequence in ascending order until it returns false.
    pub fn range(&self, mut f: impl FnMut(u64) -> bool) {
        node::for_each_seq(&self.root, &mut f);
    }

    /// The sequences in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.root)
    }

    /// Heights of the root's left and right subtrees.
    pub fn heights(&self) -> (usize, usize) {
        match &self.root {
            None => (0, 0),
            Some(n) => (
                node::height(&n.left) as usize,
                node::height(&n.right) as usize,
            ),
        }
    }

    /// `(min, max, number of sequences)`, all zero for an empty set.
    pub fn state(&self) -> (u64, u64, u64) {
        if self.root.is_none() {
            return (0, 0, 0);
        }
        let (min, max) = self.min_max();
        (min, max, self.size as u64)
    }

    /// Smallest and largest sequence, `(0, 0)` for an empty set.
    pub fn min_max(&self) -> (u64, u64) {
        let Some(root) = self.root.as_deref() else {
            return (0, 0);
        };
        let mut lo = root;
        while let Some(l) = lo.left.as_deref() {
            lo = l;
        }
        let mut hi = root;
        while let Some(r) = hi.right.as_deref() {
            hi = r;
        }
        (lo.min(), hi.max())
    }

    /// Adds every sequence of each of `others` to this set.
    pub fn union_with(&mut self, others: &[&SequenceSet]) {
        for other in others {
            node::for_each_node_preorder(&other.root, &mut |n: &Node| {
                n.for_each_seq(&mut |seq| {
                    self.insert(seq);
                    true
                });
            });
        }
    }

    /// Bytes held on the heap by the tree: one allocation per node.
    pub fn heap_size(&self) -> usize {
        self.nodes * std::mem::size_of::<Node>()
    }

    /// Base of the root node, for tests that check where the first node starts.
    #[doc(hidden)]
    pub fn root_base(&self) -> Option<u64> {
        self.root.as_ref().map(|n| n.base)
    }

    /// Whether every node's stored height matches its children's, and the root's balance
    /// factor is within one: the invariants Go's tests check on the tree.
    #[doc(hidden)]
    pub fn is_balanced(&self) -> bool {
        let mut heights_ok = true;
        node::for_each_node_preorder(&self.root, &mut |n: &Node| {
            heights_ok &= n.height == n.expected_height();
        });
        let bf = self.root.as_ref().map_or(0, |n| n.balance_factor());
        heights_ok && (-1..=1).contains(&bf)
    }
}

/// Two sets are equal when they hold the same sequences, whatever their tree shapes.
impl PartialEq for SequenceSet {
    fn eq(&self, other: &SequenceSet) -> bool {
        if self.is_empty() || other.is_empty() {
            return self.is_empty() && other.is_empty();
        }
        // Equal sizes make a one-way membership check enough.
        self.size == other.size && self.iter().all(|seq| other.exists(seq))
    }
}

impl Eq for SequenceSet {}

impl<'a> IntoIterator for &'a SequenceSet {
    type Item = u64;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<u64> for SequenceSet {
    fn from_iter<I: IntoIterator<Item = u64>>(seqs: I) -> SequenceSet {
        let mut ss = SequenceSet::new();
        for seq in seqs {
            ss.insert(seq);
        }
        ss
    }
}

/// The union of `sets`, `None` when there are none. The largest set is cloned and the
/// others are added to it.
pub fn union(sets: &[&SequenceSet]) -> Option<SequenceSet> {
    let (largest_at, _) = sets.iter().enumerate().max_by_key(|(i, s)| {
        // Ties go to the earliest set.
        (s.size(), std::cmp::Reverse(*i))
    })?;
    let mut out = sets[largest_at].clone();
    for (i, s) in sets.iter().enumerate() {
        if i != largest_at {
            s.range(|seq| {
                out.insert(seq);
                true
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
