//! Tree nodes of the sequence set: each covers `NUM_ENTRIES` consecutive sequences
//! starting at `base` with a bitmap, and the nodes form an AVL tree ordered by `base`.

use std::cmp::Ordering;

/// Bits in one bucket word.
pub(crate) const BITS_PER_BUCKET: u64 = 64;
/// Bucket words per node.
pub(crate) const NUM_BUCKETS: usize = 32;
/// Sequences covered by one node.
pub(crate) const NUM_ENTRIES: u64 = NUM_BUCKETS as u64 * BITS_PER_BUCKET;

pub(crate) type Link = Option<Box<Node>>;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) base: u64,
    pub(crate) bits: [u64; NUM_BUCKETS],
    pub(crate) left: Link,
    pub(crate) right: Link,
    /// Height of the subtree rooted here; a leaf is 1.
    pub(crate) height: i32,
}

impl Node {
    pub(crate) fn new(base: u64) -> Node {
        Node {
            base,
            bits: [0; NUM_BUCKETS],
            left: None,
            right: None,
            height: 1,
        }
    }

    /// Where `seq` lies relative to this node's range. Written without `base + NUM_ENTRIES`
    /// so that a base near `u64::MAX` cannot overflow.
    #[inline]
    pub(crate) fn locate(&self, seq: u64) -> Ordering {
        if seq < self.base {
            Ordering::Less
        } else if seq - self.base >= NUM_ENTRIES {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    /// Bucket index and bit mask of `seq`, which must be inside this node's range.
    #[inline]
    fn slot(&self, seq: u64) -> (usize, u64) {
        let off = seq - self.base;
        (
            (off / BITS_PER_BUCKET) as usize,
            1u64 << (off % BITS_PER_BUCKET),
        )
    }

    /// Sets the bit of `seq`; true when it was not set before.
    #[inline]
    pub(crate) fn set(&mut self, seq: u64) -> bool {
        let (i, mask) = self.slot(seq);
        let fresh = self.bits[i] & mask == 0;
        self.bits[i] |= mask;
        fresh
    }

    #[inline]
    pub(crate) fn exists(&self, seq: u64) -> bool {
        let (i, mask) = self.slot(seq);
        self.bits[i] & mask != 0
    }

    /// Clears the bit of `seq`. Returns (was set, node is now empty).
    fn clear(&mut self, seq: u64) -> (bool, bool) {
        let (i, mask) = self.slot(seq);
        if self.bits[i] & mask == 0 {
            // Nodes in the tree hold at least one bit, so nothing else to check.
            return (false, false);
        }
        self.bits[i] &= !mask;
        (true, self.bits.iter().all(|&b| b == 0))
    }

    /// Smallest sequence held by this node (the base when it holds none).
    pub(crate) fn min(&self) -> u64 {
        self.bits
            .iter()
            .enumerate()
            .find(|(_, &b)| b != 0)
            .map_or(0, |(i, b)| {
                self.base + i as u64 * BITS_PER_BUCKET + u64::from(b.trailing_zeros())
            })
    }

    /// Largest sequence held by this node (0 when it holds none).
    pub(crate) fn max(&self) -> u64 {
        self.bits
            .iter()
            .enumerate()
            .rev()
            .find(|(_, &b)| b != 0)
            .map_or(0, |(i, b)| {
                self.base + i as u64 * BITS_PER_BUCKET + u64::from(63 - b.leading_zeros())
            })
    }

    pub(crate) fn count(&self) -> usize {
        // A plain loop: decoding counts every node, and this stays fast unoptimised too.
        let (mut total, mut i) = (0u32, 0);
        while i < NUM_BUCKETS {
            total += self.bits[i].count_ones();
            i += 1;
        }
        total as usize
    }

    /// Calls `f` with every sequence of this node in ascending order; false stops.
    pub(crate) fn for_each_seq(&self, f: &mut impl FnMut(u64) -> bool) -> bool {
        for (i, &word) in self.bits.iter().enumerate() {
            let base = self.base + i as u64 * BITS_PER_BUCKET;
            let mut b = word;
            while b != 0 {
                if !f(base + u64::from(b.trailing_zeros())) {
                    return false;
                }
                b &= b - 1;
            }
        }
        true
    }

    fn child_heights(&self) -> (i32, i32) {
        (height(&self.left), height(&self.right))
    }

    /// The height this node should have given its children.
    pub(crate) fn expected_height(&self) -> i32 {
        let (l, r) = self.child_heights();
        l.max(r) + 1
    }

    fn fix_height(&mut self) {
        self.height = self.expected_height();
    }

    pub(crate) fn balance_factor(&self) -> i32 {
        let (l, r) = self.child_heights();
        l - r
    }
}

pub(crate) fn height(link: &Link) -> i32 {
    link.as_ref().map_or(0, |n| n.height)
}

fn balance_factor(link: &Link) -> i32 {
    link.as_ref().map_or(0, |n| n.balance_factor())
}

fn rotate_left(mut n: Box<Node>) -> Box<Node> {
    match n.right.take() {
        Some(mut r) => {
            n.right = r.left.take();
            n.fix_height();
            r.left = Some(n);
            r.fix_height();
            r
        }
        None => {
            n.fix_height();
            n
        }
    }
}

fn rotate_right(mut n: Box<Node>) -> Box<Node> {
    match n.left.take() {
        Some(mut l) => {
            n.left = l.right.take();
            n.fix_height();
            l.right = Some(n);
            l.fix_height();
            l
        }
        None => {
            n.fix_height();
            n
        }
    }
}

/// Restores the height of `n` and, when one side is two or more taller, rotates.
fn rebalance(mut n: Box<Node>) -> Box<Node> {
    n.fix_height();
    let bf = n.balance_factor();
    if bf > 1 {
        if balance_factor(&n.left) < 0 {
            n.left = n.left.take().map(rotate_left);
        }
        rotate_right(n)
    } else if bf < -1 {
        if balance_factor(&n.right) > 0 {
            n.right = n.right.take().map(rotate_right);
        }
        rotate_left(n)
    } else {
        n
    }
}

/// Inserts `seq` below `link`, creating a node aligned to `NUM_ENTRIES` if no node covers
/// it. Sets `*inserted` when the sequence was new and bumps `*nodes` for a new node.
pub(crate) fn insert(link: Link, seq: u64, inserted: &mut bool, nodes: &mut usize) -> Box<Node> {
    let Some(mut n) = link else {
        let mut n = Box::new(Node::new((seq / NUM_ENTRIES) * NUM_ENTRIES));
        *inserted = n.set(seq);
        *nodes += 1;
        return n;
    };
    match n.locate(seq) {
        Ordering::Less => n.left = Some(insert(n.left.take(), seq, inserted, nodes)),
        Ordering::Greater => n.right = Some(insert(n.right.take(), seq, inserted, nodes)),
        Ordering::Equal => *inserted = n.set(seq),
    }
    rebalance(n)
}

/// Removes `seq` below `link`; a node left empty is taken out of the tree.
pub(crate) fn delete(link: Link, seq: u64, deleted: &mut bool, nodes: &mut usize) -> Link {
    let mut n = link?;
    let replaced: Link = match n.locate(seq) {
        Ordering::Less => {
            n.left = delete(n.left.take(), seq, deleted, nodes);
            Some(n)
        }
        Ordering::Greater => {
            n.right = delete(n.right.take(), seq, deleted, nodes);
            Some(n)
        }
        Ordering::Equal => {
            let (was_set, empty) = n.clear(seq);
            *deleted = was_set;
            if empty {
                *nodes -= 1;
                match (n.left.take(), n.right.take()) {
                    (None, right) => right,
                    (left, None) => left,
                    (Some(left), Some(right)) => Some(insert_leftmost(right, left)),
                }
            } else {
                Some(n)
            }
        }
    };
    replaced.map(rebalance)
}

/// Hangs `sub`, whose sequences are all below those of `n`, as the leftmost subtree of
/// `n`, rebalancing on the way back up.
fn insert_leftmost(mut n: Box<Node>, sub: Box<Node>) -> Box<Node> {
    n.left = Some(match n.left.take() {
        None => sub,
        Some(l) => insert_leftmost(l, sub),
    });
    rebalance(n)
}

/// Visits every node in tree order (node, then left, then right): the encoding order.
pub(crate) fn for_each_node_preorder(link: &Link, f: &mut impl FnMut(&Node)) {
    if let Some(n) = link {
        f(n);
        for_each_node_preorder(&n.left, f);
        for_each_node_preorder(&n.right, f);
    }
}

/// Calls `f` with every sequence below `link` in ascending order; false stops.
pub(crate) fn for_each_seq(link: &Link, f: &mut impl FnMut(u64) -> bool) -> bool {
    match link {
        None => true,
        Some(n) => for_each_seq(&n.left, f) && n.for_each_seq(f) && for_each_seq(&n.right, f),
    }
}
