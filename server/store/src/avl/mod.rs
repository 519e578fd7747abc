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

use node::{Arena, Link, Node, NIL};
use std::cmp::Ordering;

/// Sequences covered by one tree node.
pub const NUM_ENTRIES: u64 = node::NUM_ENTRIES;

/// A set of `u64` sequences. Not thread safe; wrap it in a lock to share it.
#[derive(Clone, Debug)]
pub struct SequenceSet {
    arena: Arena,
    root: Link,
    size: usize,
    nodes: usize,
}

impl Default for SequenceSet {
    fn default() -> SequenceSet {
        SequenceSet {
            arena: Arena::default(),
            root: NIL,
            size: 0,
            nodes: 0,
        }
    }
}

impl SequenceSet {
    /// An empty set.
    pub fn new() -> SequenceSet {
        SequenceSet::default()
    }

    /// Adds `seq` to the set, rebalancing the tree when a node is added.
    pub fn insert(&mut self, seq: u64) {
        // A node already covering `seq` only needs a bit set: the shape cannot change.
        let mut cur = self.root;
        while cur != NIL {
            let n = &mut self.arena[cur];
            match n.locate(seq) {
                Ordering::Less => cur = n.left,
                Ordering::Greater => cur = n.right,
                Ordering::Equal => {
                    if n.set(seq) {
                        self.size += 1;
                    }
                    return;
                }
            }
        }
        let mut inserted = false;
        self.root = self
            .arena
            .insert(self.root, seq, &mut inserted, &mut self.nodes);
        if inserted {
            self.size += 1;
        }
    }

    /// Whether `seq` is in the set.
    pub fn exists(&self, seq: u64) -> bool {
        let mut cur = self.root;
        while cur != NIL {
            let n = &self.arena[cur];
            match n.locate(seq) {
                Ordering::Less => cur = n.left,
                Ordering::Greater => cur = n.right,
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
        self.root = self.arena.alloc(Node::new(min));
        self.nodes = 1;
        Ok(())
    }

    /// Removes `seq`; returns whether it was in the set. A node left empty is removed.
    pub fn delete(&mut self, seq: u64) -> bool {
        if self.root == NIL {
            return false;
        }
        let (mut deleted, nodes_before) = (false, self.nodes);
        self.root = self
            .arena
            .delete(self.root, seq, &mut deleted, &mut self.nodes);
        if deleted {
            self.size -= 1;
            if self.size == 0 {
                self.empty();
            } else if self.nodes < nodes_before {
                self.root = self.arena.compact_if_sparse(self.root);
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
        *self = SequenceSet::default();
    }

    /// Whether the tree has no node. (A set started with [`Self::set_initial_min`] has a
    /// node before it has any sequence, as in Go.)
    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    /// Calls `f` with each sequence in ascending order until it returns false.
    pub fn range(&self, mut f: impl FnMut(u64) -> bool) {
        self.arena.for_each_seq(self.root, &mut f);
    }

    /// The sequences in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.arena, self.root)
    }

    /// Heights of the root's left and right subtrees.
    pub fn heights(&self) -> (usize, usize) {
        if self.root == NIL {
            return (0, 0);
        }
        let n = &self.arena[self.root];
        (
            self.arena.height(n.left) as usize,
            self.arena.height(n.right) as usize,
        )
    }

    /// `(min, max, number of sequences)`, all zero for an empty set.
    pub fn state(&self) -> (u64, u64, u64) {
        if self.root == NIL {
            return (0, 0, 0);
        }
        let (min, max) = self.min_max();
        (min, max, self.size as u64)
    }

    /// Smallest and largest sequence, `(0, 0)` for an empty set.
    pub fn min_max(&self) -> (u64, u64) {
        if self.root == NIL {
            return (0, 0);
        }
        let mut lo = self.root;
        while self.arena[lo].left != NIL {
            lo = self.arena[lo].left;
        }
        let mut hi = self.root;
        while self.arena[hi].right != NIL {
            hi = self.arena[hi].right;
        }
        (self.arena[lo].min(), self.arena[hi].max())
    }

    /// Adds every sequence of each of `others` to this set.
    pub fn union_with(&mut self, others: &[&SequenceSet]) {
        for other in others {
            other.range(|seq| {
                self.insert(seq);
                true
            });
        }
    }

    /// Bytes held on the heap by the tree's nodes (one allocation, vacant slots included).
    pub fn heap_size(&self) -> usize {
        self.arena.heap_size()
    }

    /// Base of the root node, for tests that check where the first node starts.
    #[doc(hidden)]
    pub fn root_base(&self) -> Option<u64> {
        (self.root != NIL).then(|| self.arena[self.root].base)
    }

    /// Whether every node's stored height matches its children's, and the root's balance
    /// factor is within one: the invariants Go's tests check on the tree.
    #[doc(hidden)]
    pub fn is_balanced(&self) -> bool {
        let mut heights_ok = true;
        let arena = &self.arena;
        arena.for_each_node_preorder(self.root, &mut |n: &Node| {
            let expected = arena.height(n.left).max(arena.height(n.right)) + 1;
            heights_ok &= n.height == expected;
        });
        let bf = arena.balance_factor(self.root);
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
