//! Ascending iteration over a sequence set without recursion.

use super::node::{Arena, Link, Node, BITS_PER_BUCKET, NIL, NUM_BUCKETS};

/// Iterator over the sequences of a [`super::SequenceSet`] in ascending order.
#[derive(Debug)]
pub struct Iter<'a> {
    arena: &'a Arena,
    /// Ancestors still to visit (their left subtrees are done or being done).
    stack: Vec<&'a Node>,
    /// Node whose bits are being read.
    current: Option<&'a Node>,
    /// Bucket index in `current` and the bits of that bucket not yet returned.
    bucket: usize,
    word: u64,
}

impl<'a> Iter<'a> {
    pub(crate) fn new(arena: &'a Arena, root: Link) -> Iter<'a> {
        let mut it = Iter {
            arena,
            stack: Vec::new(),
            current: None,
            bucket: 0,
            word: 0,
        };
        it.push_left(root);
        it.advance_node();
        it
    }

    fn push_left(&mut self, mut link: Link) {
        while link != NIL {
            let node = &self.arena[link];
            self.stack.push(node);
            link = node.left;
        }
    }

    /// Moves to the next node in order, or to the end.
    fn advance_node(&mut self) {
        self.current = self.stack.pop();
        if let Some(n) = self.current {
            self.push_left(n.right);
            self.bucket = 0;
            self.word = n.bits[0];
        }
    }
}

impl Iterator for Iter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            let n = self.current?;
            if self.word != 0 {
                let bit = self.word.trailing_zeros();
                self.word &= self.word - 1;
                return Some(n.base + self.bucket as u64 * BITS_PER_BUCKET + u64::from(bit));
            }
            self.bucket += 1;
            if self.bucket < NUM_BUCKETS {
                self.word = n.bits[self.bucket];
            } else {
                self.advance_node();
            }
        }
    }
}
