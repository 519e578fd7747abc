//! Tree nodes of the sequence set: each covers `NUM_ENTRIES` consecutive sequences
//! starting at `base` with a bitmap, and the nodes form an AVL tree ordered by `base`.

use std::cmp::Ordering;

/// Bits in one bucket word.
pub(crate) const BITS_PER_BUCKET: u64 = 64;
/// Bucket words per node.
pub(crate) const NUM_BUCKETS: usize = 32;
/// Sequences covered by one node.
pub(crate) const NUM_ENTRIES: u64 = NUM_BUCKETS as u64 * BITS_PER_BUCKET;

/// Index of a node in its set's [`Arena`]; [`NIL`] is no node.
pub(crate) type Link = u32;
pub(crate) const NIL: Link = u32::MAX;

/// `repr(C)` keeps what a search reads at every level (base and links) in the first cache
/// line, ahead of the bitmap.
#[derive(Clone, Debug)]
#[repr(C)]
pub(crate) struct Node {
    pub(crate) base: u64,
    pub(crate) left: Link,
    pub(crate) right: Link,
    /// Height of the subtree rooted here; a leaf is 1.
    pub(crate) height: i32,
    pub(crate) bits: [u64; NUM_BUCKETS],
}

impl Node {
    pub(crate) fn new(base: u64) -> Node {
        Node {
            base,
            bits: [0; NUM_BUCKETS],
            left: NIL,
            right: NIL,
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
}

/// The nodes of one set, in one allocation: links are indices into it, so a set costs one
/// allocation rather than one per node, decoding writes its nodes in a single pass, and
/// dropping or cloning a set is one operation. Slots of removed nodes are reused, and the
/// arena is compacted when most of it is vacant.
#[derive(Clone, Debug, Default)]
pub(crate) struct Arena {
    pub(crate) nodes: Vec<Node>,
    /// Vacant slots.
    free: Vec<Link>,
}

impl std::ops::Index<Link> for Arena {
    type Output = Node;
    #[inline]
    fn index(&self, i: Link) -> &Node {
        &self.nodes[i as usize]
    }
}

impl std::ops::IndexMut<Link> for Arena {
    #[inline]
    fn index_mut(&mut self, i: Link) -> &mut Node {
        &mut self.nodes[i as usize]
    }
}

impl Arena {
    /// An arena that will hold `n` nodes without growing.
    pub(crate) fn with_capacity(n: usize) -> Arena {
        Arena {
            nodes: Vec::with_capacity(n),
            free: Vec::new(),
        }
    }

    /// Bytes held, vacant slots included.
    pub(crate) fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.free.capacity() * std::mem::size_of::<Link>()
    }

    /// Stores `n` and returns its index.
    pub(crate) fn alloc(&mut self, n: Node) -> Link {
        if let Some(i) = self.free.pop() {
            self[i] = n;
            return i;
        }
        if self.nodes.len() == self.nodes.capacity() {
            // Grow by an eighth rather than doubling, so a set holds at most ~12% more than
            // its nodes (a set can be one of a stream's largest structures). Large buffers
            // are remapped on growth, not copied.
            self.nodes.reserve_exact((self.nodes.len() / 8).max(1));
        }
        // Fewer than u32::MAX nodes: that many would need over a terabyte.
        let i = self.nodes.len() as Link;
        self.nodes.push(n);
        i
    }

    fn release(&mut self, i: Link) {
        // The last slot is simply dropped: a set's only node, or the newest, needs no
        // entry in the vacant list (an allocation of its own).
        if i as usize + 1 == self.nodes.len() {
            self.nodes.pop();
        } else {
            self.free.push(i);
        }
    }

    pub(crate) fn height(&self, link: Link) -> i32 {
        if link == NIL {
            0
        } else {
            self[link].height
        }
    }

    /// The height node `i` should have given its children.
    pub(crate) fn expected_height(&self, i: Link) -> i32 {
        let n = &self[i];
        self.height(n.left).max(self.height(n.right)) + 1
    }

    fn fix_height(&mut self, i: Link) {
        self[i].height = self.expected_height(i);
    }

    pub(crate) fn balance_factor(&self, link: Link) -> i32 {
        if link == NIL {
            return 0;
        }
        let n = &self[link];
        self.height(n.left) - self.height(n.right)
    }

    fn rotate_left(&mut self, i: Link) -> Link {
        let r = self[i].right;
        if r == NIL {
            self.fix_height(i);
            return i;
        }
        self[i].right = self[r].left;
        self.fix_height(i);
        self[r].left = i;
        self.fix_height(r);
        r
    }

    fn rotate_right(&mut self, i: Link) -> Link {
        let l = self[i].left;
        if l == NIL {
            self.fix_height(i);
            return i;
        }
        self[i].left = self[l].right;
        self.fix_height(i);
        self[l].right = i;
        self.fix_height(l);
        l
    }

    /// Restores the height of `i` and, when one side is two or more taller, rotates.
    fn rebalance(&mut self, i: Link) -> Link {
        self.fix_height(i);
        let bf = self.balance_factor(i);
        if bf > 1 {
            let l = self[i].left;
            if self.balance_factor(l) < 0 {
                self[i].left = self.rotate_left(l);
            }
            self.rotate_right(i)
        } else if bf < -1 {
            let r = self[i].right;
            if self.balance_factor(r) > 0 {
                self[i].right = self.rotate_right(r);
            }
            self.rotate_left(i)
        } else {
            i
        }
    }

    /// Inserts `seq` below `link`, creating a node aligned to `NUM_ENTRIES` if no node
    /// covers it. Sets `*inserted` when the sequence was new and bumps `*count` for a new
    /// node. Returns the subtree's new root.
    pub(crate) fn insert(
        &mut self,
        link: Link,
        seq: u64,
        inserted: &mut bool,
        count: &mut usize,
    ) -> Link {
        if link == NIL {
            let mut n = Node::new((seq / NUM_ENTRIES) * NUM_ENTRIES);
            *inserted = n.set(seq);
            *count += 1;
            return self.alloc(n);
        }
        match self[link].locate(seq) {
            Ordering::Less => {
                let l = self.insert(self[link].left, seq, inserted, count);
                self[link].left = l;
            }
            Ordering::Greater => {
                let r = self.insert(self[link].right, seq, inserted, count);
                self[link].right = r;
            }
            Ordering::Equal => *inserted = self[link].set(seq),
        }
        self.rebalance(link)
    }

    /// Removes `seq` below `link`; a node left empty is taken out of the tree. Returns the
    /// subtree's new root.
    pub(crate) fn delete(
        &mut self,
        link: Link,
        seq: u64,
        deleted: &mut bool,
        count: &mut usize,
    ) -> Link {
        if link == NIL {
            return NIL;
        }
        let replaced = match self[link].locate(seq) {
            Ordering::Less => {
                let l = self.delete(self[link].left, seq, deleted, count);
                self[link].left = l;
                link
            }
            Ordering::Greater => {
                let r = self.delete(self[link].right, seq, deleted, count);
                self[link].right = r;
                link
            }
            Ordering::Equal => {
                let (was_set, empty) = self[link].clear(seq);
                *deleted = was_set;
                if empty {
                    *count -= 1;
                    let (left, right) = (self[link].left, self[link].right);
                    self.release(link);
                    match (left, right) {
                        (NIL, right) => right,
                        (left, NIL) => left,
                        (left, right) => self.insert_leftmost(right, left),
                    }
                } else {
                    link
                }
            }
        };
        if replaced == NIL {
            NIL
        } else {
            self.rebalance(replaced)
        }
    }

    /// Hangs `sub`, whose sequences are all below those of `i`, as the leftmost subtree of
    /// `i`, rebalancing on the way back up.
    fn insert_leftmost(&mut self, i: Link, sub: Link) -> Link {
        let l = self[i].left;
        self[i].left = if l == NIL {
            sub
        } else {
            self.insert_leftmost(l, sub)
        };
        self.rebalance(i)
    }

    /// When most slots are vacant, copies the tree under `root` into a fresh arena of its
    /// size and returns the new root.
    pub(crate) fn compact_if_sparse(&mut self, root: Link) -> Link {
        let live = self.nodes.len() - self.free.len();
        if self.free.len() < 16 || self.free.len() <= live {
            return root;
        }
        let mut fresh = Vec::with_capacity(live);
        let new_root = copy_subtree(&self.nodes, root, &mut fresh);
        *self = Arena {
            nodes: fresh,
            free: Vec::new(),
        };
        new_root
    }

    /// Visits every node in tree order (node, then left, then right): the encoding order.
    pub(crate) fn for_each_node_preorder(&self, link: Link, f: &mut impl FnMut(&Node)) {
        if link != NIL {
            let n = &self[link];
            f(n);
            self.for_each_node_preorder(n.left, f);
            self.for_each_node_preorder(n.right, f);
        }
    }

    /// Calls `f` with every sequence below `link` in ascending order; false stops.
    pub(crate) fn for_each_seq(&self, link: Link, f: &mut impl FnMut(u64) -> bool) -> bool {
        if link == NIL {
            return true;
        }
        let n = &self[link];
        self.for_each_seq(n.left, f) && n.for_each_seq(f) && self.for_each_seq(n.right, f)
    }
}

/// Copies the subtree at `i` of `from` into `to` in pre-order; returns its new index.
fn copy_subtree(from: &[Node], i: Link, to: &mut Vec<Node>) -> Link {
    if i == NIL {
        return NIL;
    }
    let n = &from[i as usize];
    let at = to.len() as Link;
    to.push(n.clone());
    let left = copy_subtree(from, n.left, to);
    let right = copy_subtree(from, n.right, to);
    to[at as usize].left = left;
    to[at as usize].right = right;
    at
}
