//! The binary form of a sequence set, as Go's stores persist it.
//!
//! Layout (little endian): magic `22`, version `2`, node count `u32`, sequence count `u32`,
//! then per node in tree order (node, left subtree, right subtree): base `u64`, 32 bucket
//! words `u64`, height `u16` (not trusted when read: heights are recomputed from the shape).
//! Version 1 had 64 buckets per node and is still read.

use super::node::{Arena, Link, Node, BITS_PER_BUCKET, NIL, NUM_BUCKETS};
use super::SequenceSet;
use std::fmt;

const MAGIC: u8 = 22;
const VERSION: u8 = 2;
const HEADER_LEN: usize = 2;
/// Magic, version, node count and sequence count.
const MIN_LEN: usize = HEADER_LEN + 8;
/// Encoded bytes per node in version 2.
const NODE_LEN: usize = (NUM_BUCKETS + 1) * 8 + 2;
const V1_NUM_BUCKETS: usize = 64;
const V1_NODE_LEN: usize = (V1_NUM_BUCKETS + 1) * 8 + 2;
/// Deepest tree accepted from an encoding. Trees built by inserts and deletes stay
/// logarithmic; anything deeper is damage and would make the recursive operations unsafe.
const MAX_DECODED_DEPTH: usize = 256;

/// Errors of the sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqSetError {
    /// The bytes are not a sequence set encoding, or are damaged.
    BadEncoding,
    /// The encoding has an unknown version.
    BadVersion,
    /// [`SequenceSet::set_initial_min`] on a set that already has nodes.
    SetNotEmpty,
}

impl fmt::Display for SeqSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SeqSetError::BadEncoding => "ss: bad encoding",
            SeqSetError::BadVersion => "ss: bad version",
            SeqSetError::SetNotEmpty => "ss: set not empty",
        })
    }
}

impl std::error::Error for SeqSetError {}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Appends `words` little endian. On little-endian machines that is their memory as is.
fn extend_le_words(out: &mut Vec<u8>, words: &[u64; NUM_BUCKETS]) {
    #[cfg(target_endian = "little")]
    out.extend_from_slice(zerocopy::IntoBytes::as_bytes(words));
    #[cfg(not(target_endian = "little"))]
    out.extend_from_slice(words.map(u64::to_le_bytes).as_flattened());
}

/// The words of little-endian `bytes`, which hold exactly as many.
fn le_words(bytes: &[u8]) -> [u64; NUM_BUCKETS] {
    let mut words = [0u64; NUM_BUCKETS];
    zerocopy::IntoBytes::as_mut_bytes(&mut words).copy_from_slice(bytes);
    #[cfg(not(target_endian = "little"))]
    for w in words.iter_mut() {
        *w = u64::from_le(*w);
    }
    words
}

impl SequenceSet {
    /// Bytes [`Self::encode`] produces.
    pub fn encode_len(&self) -> usize {
        MIN_LEN + self.nodes() * NODE_LEN
    }

    /// The encoding of this set.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of this set to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encode_len());
        out.push(MAGIC);
        out.push(VERSION);
        // The format holds 32-bit counts; a set that large cannot be persisted by Go either.
        out.extend_from_slice(&(self.nodes() as u32).to_le_bytes());
        out.extend_from_slice(&(self.size() as u32).to_le_bytes());
        self.arena
            .for_each_node_preorder(self.root, &mut |n: &Node| {
                out.extend_from_slice(&n.base.to_le_bytes());
                // One copy per node: this runs on every index write of a block.
                extend_le_words(out, &n.bits);
                out.extend_from_slice(&(n.height as u16).to_le_bytes());
            });
    }
}

/// Decodes a set from the start of `buf`; returns it and the number of bytes it used.
pub fn decode(buf: &[u8]) -> Result<(SequenceSet, usize), SeqSetError> {
    if buf.len() < MIN_LEN || buf[0] != MAGIC {
        return Err(SeqSetError::BadEncoding);
    }
    match buf[1] {
        1 => decode_v1(buf),
        2 => decode_v2(buf),
        _ => Err(SeqSetError::BadVersion),
    }
}

fn decode_v2(buf: &[u8]) -> Result<(SequenceSet, usize), SeqSetError> {
    let node_count = u32_at(buf, HEADER_LEN) as usize;
    let size = u32_at(buf, HEADER_LEN + 4) as usize;
    // Division, not multiplication, so a huge count cannot wrap around the check.
    if node_count > (buf.len() - MIN_LEN) / NODE_LEN {
        return Err(SeqSetError::BadEncoding);
    }
    let end = MIN_LEN + node_count * NODE_LEN;
    let mut reader = PreorderReader {
        nodes: &buf[MIN_LEN..end],
        counted: 0,
        arena: Arena::with_capacity(node_count),
    };
    let root = reader.subtree(None, None, 0)?;
    // Every node must have found its place in the tree, and the counts must agree.
    if !reader.nodes.is_empty() || reader.counted != size {
        return Err(SeqSetError::BadEncoding);
    }
    let ss = SequenceSet {
        arena: reader.arena,
        root,
        size,
        nodes: node_count,
    };
    Ok((ss, end))
}

/// Rebuilds a tree from its nodes in pre-order (node, left subtree, right subtree) in one
/// pass: each subtree takes the following nodes whose bases lie within its bounds. A node
/// out of order is left over, which makes the encoding bad. Heights are recomputed from
/// the shape rather than trusted from the bytes.
struct PreorderReader<'a> {
    /// Encoded nodes not yet placed.
    nodes: &'a [u8],
    /// Sequences in the nodes placed so far.
    counted: usize,
    /// Where the placed nodes go, in encoding order.
    arena: Arena,
}

impl PreorderReader<'_> {
    fn subtree(
        &mut self,
        above: Option<u64>,
        below: Option<u64>,
        depth: usize,
    ) -> Result<Link, SeqSetError> {
        if self.nodes.len() < NODE_LEN {
            return Ok(NIL);
        }
        let base = u64_at(self.nodes, 0);
        if above.is_some_and(|bound| base <= bound) || below.is_some_and(|bound| base >= bound) {
            return Ok(NIL);
        }
        if depth >= MAX_DECODED_DEPTH {
            return Err(SeqSetError::BadEncoding);
        }
        // The node is written once, with its words: no zeroed node to overwrite.
        let n = Node {
            bits: le_words(&self.nodes[8..8 + NUM_BUCKETS * 8]),
            ..Node::new(base)
        };
        self.nodes = &self.nodes[NODE_LEN..];
        self.counted += n.count();
        let at = self.arena.alloc(n);
        let left = self.subtree(above, Some(base), depth + 1)?;
        let right = self.subtree(Some(base), below, depth + 1)?;
        let height = self.arena.height(left).max(self.arena.height(right)) + 1;
        let n = &mut self.arena[at];
        (n.left, n.right, n.height) = (left, right, height);
        Ok(at)
    }
}

/// Version 1 nodes held 64 buckets; their sequences are inserted one by one.
fn decode_v1(buf: &[u8]) -> Result<(SequenceSet, usize), SeqSetError> {
    let node_count = u32_at(buf, HEADER_LEN) as usize;
    let size = u32_at(buf, HEADER_LEN + 4) as usize;
    if node_count > (buf.len() - MIN_LEN) / V1_NODE_LEN {
        return Err(SeqSetError::BadEncoding);
    }
    let mut ss = SequenceSet::new();
    let mut at = MIN_LEN;
    for _ in 0..node_count {
        let base = u64_at(buf, at);
        at += 8;
        for bucket in 0..V1_NUM_BUCKETS as u64 {
            let mut word = u64_at(buf, at);
            at += 8;
            while word != 0 {
                let seq = base
                    .wrapping_add(bucket * BITS_PER_BUCKET)
                    .wrapping_add(u64::from(word.trailing_zeros()));
                ss.insert(seq);
                word &= word - 1;
            }
        }
        // The stored height is not needed: inserts build the tree afresh.
        at += 2;
    }
    if ss.size() != size {
        return Err(SeqSetError::BadEncoding);
    }
    Ok((ss, at))
}
