//! Node kinds of the subject tree.
//!
//! Inner nodes come in five sizes (4, 10, 16, 48 and 256 children) so that a node only
//! pays for the fan-out it has; a node grows to the next kind when full and shrinks back
//! when deletes leave it sparse. Each inner node carries a compressed path (`prefix`) that
//! every subject below it shares; a leaf carries the rest of its subject (`suffix`) and the
//! value. Children are keyed by the first byte of their path; a leaf whose subject ends
//! exactly at its parent has an empty suffix and sits under [`NO_PIVOT`].
//!
//! The node API is public (but hidden from the docs) so that the ported Go tests can check
//! the shape of the tree; the stable interface is [`super::SubjectTree`].

use super::path::Path;
use std::fmt;

/// The key of a child whose subject ends where its parent's path ends. Subjects containing
/// this byte (DEL) are refused by the tree, so it can never collide with a real byte.
pub const NO_PIVOT: u8 = 127;

/// The byte at `pos` of `subject`, or [`NO_PIVOT`] past its end.
#[inline]
pub(crate) fn pivot(subject: &[u8], pos: usize) -> u8 {
    subject.get(pos).copied().unwrap_or(NO_PIVOT)
}

/// Length of the common prefix of `a` and `b`.
#[inline]
pub(crate) fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A terminal node: the tail of one subject and its value.
#[derive(Clone)]
pub struct Leaf<T> {
    pub(crate) value: T,
    pub(crate) suffix: Path,
}

impl<T> Leaf<T> {
    /// The part of the subject below the leaf's parent.
    pub fn suffix(&self) -> &[u8] {
        &self.suffix
    }

    /// The stored value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Whether the rest of a subject is exactly this leaf's suffix.
    pub fn matches(&self, rest: &[u8]) -> bool {
        *self.suffix == *rest
    }
}

/// An inner node with up to `N` children kept in insertion order (4, 10 or 16).
#[derive(Clone)]
pub struct SmallNode<T, const N: usize> {
    pub(crate) prefix: Path,
    pub(crate) size: u16,
    keys: [u8; N],
    children: [Option<Node<T>>; N],
}

impl<T, const N: usize> SmallNode<T, N> {
    fn new(prefix: &[u8]) -> Self {
        SmallNode {
            prefix: prefix.into(),
            size: 0,
            keys: [0; N],
            children: std::array::from_fn(|_| None),
        }
    }

    fn add_child(&mut self, key: u8, child: Node<T>, kind: &str) {
        let at = usize::from(self.size);
        if at >= N {
            panic!("{} full!", kind.to_ascii_lowercase());
        }
        self.keys[at] = key;
        self.children[at] = Some(child);
        self.size += 1;
    }

    fn index_of(&self, key: u8) -> Option<usize> {
        self.keys[..usize::from(self.size)]
            .iter()
            .position(|&k| k == key)
    }

    /// Removes the child under `key`; the last child takes its slot so the live children
    /// stay packed at the front.
    fn delete_child(&mut self, key: u8) -> Option<Node<T>> {
        let at = self.index_of(key)?;
        let last = usize::from(self.size) - 1;
        let removed = self.children[at].take();
        if at < last {
            self.keys[at] = self.keys[last];
            self.children[at] = self.children[last].take();
        }
        self.keys[last] = 0;
        self.size -= 1;
        removed
    }

    /// Moves every child, in slot order, into `into`.
    fn drain_into(&mut self, into: &mut Node<T>) {
        let live = usize::from(self.size);
        for (key, slot) in self.keys[..live].iter().zip(&mut self.children[..live]) {
            if let Some(child) = slot.take() {
                into.add_child(*key, child);
            }
        }
        self.size = 0;
    }

    /// `(key, slot)` of the live children, sorted for lexical order: [`NO_PIVOT`] (the
    /// empty path) first, then by key byte.
    fn sorted_slots(&self) -> ([(u8, u8); 16], usize) {
        let live = usize::from(self.size);
        let mut order = [(0u8, 0u8); 16];
        for (i, key) in self.keys[..live].iter().enumerate() {
            // N is at most 16, so the slot index fits a byte.
            order[i] = (*key, i as u8);
        }
        order[..live].sort_unstable_by_key(|(key, _)| lexical_rank(*key));
        (order, live)
    }
}

/// Sort rank of a child key: the empty path (under [`NO_PIVOT`]) sorts before any byte.
#[inline]
fn lexical_rank(key: u8) -> u16 {
    if key == NO_PIVOT {
        0
    } else {
        u16::from(key) + 1
    }
}

/// An inner node with up to 48 children: a 256-entry index maps a key byte to a slot.
#[derive(Clone)]
pub struct Node48<T> {
    pub(crate) prefix: Path,
    pub(crate) size: u16,
    /// Slot of each key byte plus one; zero means no child.
    keys: [u8; 256],
    children: [Option<Node<T>>; 48],
}

impl<T> Node48<T> {
    fn new(prefix: &[u8]) -> Self {
        Node48 {
            prefix: prefix.into(),
            size: 0,
            keys: [0; 256],
            children: std::array::from_fn(|_| None),
        }
    }

    fn add_child(&mut self, key: u8, child: Node<T>) {
        let at = usize::from(self.size);
        if at >= 48 {
            panic!("node48 full!");
        }
        self.children[at] = Some(child);
        // at < 48, so at + 1 fits a byte.
        self.keys[usize::from(key)] = (at + 1) as u8;
        self.size += 1;
    }

    fn index_of(&self, key: u8) -> Option<usize> {
        match self.keys[usize::from(key)] {
            0 => None,
            i => Some(usize::from(i) - 1),
        }
    }

    /// Removes the child under `key`; the last slot moves into the hole.
    fn delete_child(&mut self, key: u8) -> Option<Node<T>> {
        let at = self.index_of(key)?;
        let last = usize::from(self.size) - 1;
        let removed = self.children[at].take();
        if at < last {
            self.children[at] = self.children[last].take();
            // at < 48, so at + 1 fits a byte (likewise last + 1).
            if let Some(moved) = self.keys.iter_mut().find(|k| usize::from(**k) == last + 1) {
                *moved = (at + 1) as u8;
            }
        }
        self.keys[usize::from(key)] = 0;
        self.size -= 1;
        removed
    }

    /// Moves every child, in key order, into `into`.
    fn drain_into(&mut self, into: &mut Node<T>) {
        for key in 0..=255u8 {
            if let Some(at) = self.index_of(key) {
                if let Some(child) = self.children[at].take() {
                    into.add_child(key, child);
                }
                self.keys[usize::from(key)] = 0;
            }
        }
        self.size = 0;
    }
}

/// An inner node with a slot for every key byte.
#[derive(Clone)]
pub struct Node256<T> {
    pub(crate) prefix: Path,
    pub(crate) size: u16,
    children: [Option<Node<T>>; 256],
}

impl<T> Node256<T> {
    fn new(prefix: &[u8]) -> Self {
        Node256 {
            prefix: prefix.into(),
            size: 0,
            children: std::array::from_fn(|_| None),
        }
    }

    fn add_child(&mut self, key: u8, child: Node<T>) {
        if self.children[usize::from(key)].replace(child).is_none() {
            self.size += 1;
        }
    }

    fn delete_child(&mut self, key: u8) -> Option<Node<T>> {
        let removed = self.children[usize::from(key)].take();
        if removed.is_some() {
            self.size -= 1;
        }
        removed
    }

    /// Moves every child, in key order, into `into`.
    fn drain_into(&mut self, into: &mut Node<T>) {
        for (key, slot) in (0..=255u8).zip(self.children.iter_mut()) {
            if let Some(child) = slot.take() {
                into.add_child(key, child);
            }
        }
        self.size = 0;
    }
}

/// A node of the subject tree. Each kind is boxed so a child slot is two words.
#[derive(Clone)]
pub enum Node<T> {
    Leaf(Box<Leaf<T>>),
    Node4(Box<SmallNode<T, 4>>),
    Node10(Box<SmallNode<T, 10>>),
    Node16(Box<SmallNode<T, 16>>),
    Node48(Box<Node48<T>>),
    Node256(Box<Node256<T>>),
}

/// Dispatches `$body` over the inner node kinds with `$n` bound to the node; `$leaf` is
/// evaluated for a leaf.
macro_rules! inner {
    ($self:expr, $n:ident => $body:expr, leaf => $leaf:expr) => {
        match $self {
            Node::Leaf(_) => $leaf,
            Node::Node4($n) => $body,
            Node::Node10($n) => $body,
            Node::Node16($n) => $body,
            Node::Node48($n) => $body,
            Node::Node256($n) => $body,
        }
    };
}

impl<T> Node<T> {
    /// A leaf holding the tail `suffix` of a subject and its value.
    pub fn new_leaf(suffix: &[u8], value: T) -> Self {
        Node::Leaf(Box::new(Leaf {
            value,
            suffix: suffix.into(),
        }))
    }

    pub fn new_node4(prefix: &[u8]) -> Self {
        Node::Node4(Box::new(SmallNode::new(prefix)))
    }

    pub fn new_node10(prefix: &[u8]) -> Self {
        Node::Node10(Box::new(SmallNode::new(prefix)))
    }

    pub fn new_node16(prefix: &[u8]) -> Self {
        Node::Node16(Box::new(SmallNode::new(prefix)))
    }

    pub fn new_node48(prefix: &[u8]) -> Self {
        Node::Node48(Box::new(Node48::new(prefix)))
    }

    pub fn new_node256(prefix: &[u8]) -> Self {
        Node::Node256(Box::new(Node256::new(prefix)))
    }

    pub fn is_leaf(&self) -> bool {
        matches!(self, Node::Leaf(_))
    }

    /// The leaf, if this is one.
    pub fn as_leaf(&self) -> Option<&Leaf<T>> {
        match self {
            Node::Leaf(leaf) => Some(leaf),
            _ => None,
        }
    }

    /// Kind name as Go's dump prints it: `LEAF`, `NODE4`, `NODE10`, `NODE16`, `NODE48`,
    /// `NODE256`.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Leaf(_) => "LEAF",
            Node::Node4(_) => "NODE4",
            Node::Node10(_) => "NODE10",
            Node::Node16(_) => "NODE16",
            Node::Node48(_) => "NODE48",
            Node::Node256(_) => "NODE256",
        }
    }

    /// The compressed path this node contributes: an inner node's prefix or a leaf's
    /// suffix.
    pub fn path(&self) -> &[u8] {
        match self {
            Node::Leaf(leaf) => &leaf.suffix,
            other => other.prefix().unwrap_or_default(),
        }
    }

    /// An inner node's prefix; `None` for a leaf.
    pub fn prefix(&self) -> Option<&[u8]> {
        inner!(self, n => Some(&n.prefix), leaf => None)
    }

    /// Replaces an inner node's prefix. Panics on a leaf, which has a suffix instead.
    pub fn set_prefix(&mut self, prefix: &[u8]) {
        inner!(self, n => n.prefix = prefix.into(), leaf => panic!("set_prefix called on leaf"))
    }

    pub(crate) fn prefix_mut(&mut self) -> Option<&mut Path> {
        inner!(self, n => Some(&mut n.prefix), leaf => None)
    }

    pub fn num_children(&self) -> u16 {
        inner!(self, n => n.size, leaf => 0)
    }

    /// Whether adding a child needs [`Node::grow`] first. A leaf is always full; a
    /// node256 never is.
    pub fn is_full(&self) -> bool {
        match self {
            Node::Leaf(_) => true,
            Node::Node4(n) => n.size >= 4,
            Node::Node10(n) => n.size >= 10,
            Node::Node16(n) => n.size >= 16,
            Node::Node48(n) => n.size >= 48,
            Node::Node256(_) => false,
        }
    }

    /// Adds `child` under `key`. Panics on a leaf or a full node.
    pub fn add_child(&mut self, key: u8, child: Node<T>) {
        match self {
            Node::Leaf(_) => panic!("add_child called on leaf"),
            Node::Node4(n) => n.add_child(key, child, "NODE4"),
            Node::Node10(n) => n.add_child(key, child, "NODE10"),
            Node::Node16(n) => n.add_child(key, child, "NODE16"),
            Node::Node48(n) => n.add_child(key, child),
            Node::Node256(n) => n.add_child(key, child),
        }
    }

    /// Slot (in [`Node::slots`]) of the child under `key`. Panics on a leaf.
    pub fn child_index(&self, key: u8) -> Option<usize> {
        match self {
            Node::Leaf(_) => panic!("find_child called on leaf"),
            Node::Node4(n) => n.index_of(key),
            Node::Node10(n) => n.index_of(key),
            Node::Node16(n) => n.index_of(key),
            Node::Node48(n) => n.index_of(key),
            Node::Node256(n) => n.children[usize::from(key)]
                .as_ref()
                .map(|_| usize::from(key)),
        }
    }

    /// The child under `key`. Panics on a leaf.
    pub fn find_child(&self, key: u8) -> Option<&Node<T>> {
        let at = self.child_index(key)?;
        self.slots()[at].as_ref()
    }

    /// The child under `key`, mutably. Panics on a leaf.
    pub fn find_child_mut(&mut self, key: u8) -> Option<&mut Node<T>> {
        let at = self.child_index(key)?;
        inner!(self, n => n.children[at].as_mut(), leaf => None)
    }

    /// The live child in slot `at` (as found by [`Node::child_index`]).
    pub(crate) fn child_at_mut(&mut self, at: usize) -> &mut Node<T> {
        let slot = inner!(self, n => n.children.get_mut(at), leaf => None);
        slot.and_then(Option::as_mut)
            .expect("child_index points at a live child slot")
    }

    /// Removes and returns the child under `key`. Panics on a leaf.
    pub fn delete_child(&mut self, key: u8) -> Option<Node<T>> {
        match self {
            Node::Leaf(_) => panic!("delete_child called on leaf"),
            Node::Node4(n) => n.delete_child(key),
            Node::Node10(n) => n.delete_child(key),
            Node::Node16(n) => n.delete_child(key),
            Node::Node48(n) => n.delete_child(key),
            Node::Node256(n) => n.delete_child(key),
        }
    }

    /// The next larger kind with the same prefix, holding all of this node's children
    /// (which are moved out of `self`). Panics on a leaf or a node256.
    pub fn grow(&mut self) -> Node<T> {
        let mut grown = match self {
            Node::Leaf(_) => panic!("grow called on leaf"),
            Node::Node4(n) => Node::new_node10(&n.prefix),
            Node::Node10(n) => Node::new_node16(&n.prefix),
            Node::Node16(n) => Node::new_node48(&n.prefix),
            Node::Node48(n) => Node::new_node256(&n.prefix),
            Node::Node256(_) => panic!("grow can not be called on node256"),
        };
        self.drain_into(&mut grown);
        grown
    }

    /// After a delete: the replacement for this node if it became sparse enough, its
    /// children moved out of `self`. A node4 with one child is replaced by that child
    /// with this node's prefix in front of its path; a larger node by the next smaller
    /// kind with the same prefix. `None` when this node should stay. Panics on a leaf.
    pub fn shrink(&mut self) -> Option<Node<T>> {
        let (mut smaller, prefix) = match self {
            Node::Leaf(_) => panic!("shrink called on leaf"),
            Node::Node4(n) if n.size == 1 => {
                let mut only = n.children[0].take()?;
                n.size = 0;
                prepend_path(&mut only, &n.prefix);
                return Some(only);
            }
            Node::Node4(_) => return None,
            Node::Node10(n) if n.size <= 4 => (Node::new_node4(&[]), &mut n.prefix),
            Node::Node16(n) if n.size <= 10 => (Node::new_node10(&[]), &mut n.prefix),
            Node::Node48(n) if n.size <= 16 => (Node::new_node16(&[]), &mut n.prefix),
            Node::Node256(n) if n.size <= 48 => (Node::new_node48(&[]), &mut n.prefix),
            _ => return None,
        };
        if let Some(p) = smaller.prefix_mut() {
            *p = std::mem::take(prefix);
        }
        self.drain_into(&mut smaller);
        Some(smaller)
    }

    fn drain_into(&mut self, into: &mut Node<T>) {
        match self {
            Node::Leaf(_) => {}
            Node::Node4(n) => n.drain_into(into),
            Node::Node10(n) => n.drain_into(into),
            Node::Node16(n) => n.drain_into(into),
            Node::Node48(n) => n.drain_into(into),
            Node::Node256(n) => n.drain_into(into),
        }
    }

    /// Every child slot of an inner node, live or not (4, 10, 16, 48 or 256 of them);
    /// empty for a leaf.
    pub fn slots(&self) -> &[Option<Node<T>>] {
        inner!(self, n => &n.children[..], leaf => &[])
    }

    /// The child slots that may be live: the packed front of a node4/10/16/48 and all
    /// 256 slots of a node256; empty for a leaf.
    pub fn children(&self) -> &[Option<Node<T>>] {
        match self {
            Node::Leaf(_) => &[],
            Node::Node256(n) => &n.children[..],
            other => &other.slots()[..usize::from(other.num_children())],
        }
    }

    pub(crate) fn children_mut(&mut self) -> &mut [Option<Node<T>>] {
        match self {
            Node::Leaf(_) => &mut [],
            Node::Node4(n) => &mut n.children[..usize::from(n.size)],
            Node::Node10(n) => &mut n.children[..usize::from(n.size)],
            Node::Node16(n) => &mut n.children[..usize::from(n.size)],
            Node::Node48(n) => &mut n.children[..usize::from(n.size)],
            Node::Node256(n) => &mut n.children[..],
        }
    }

    /// Calls `f` on each child in storage order until it returns false. Does nothing on a
    /// leaf.
    pub fn iter(&self, mut f: impl FnMut(&Node<T>) -> bool) {
        for child in self.children().iter().flatten() {
            if !f(child) {
                return;
            }
        }
    }

    /// Calls `f` on each child in lexical order of their paths until it returns false;
    /// returns false if `f` stopped the walk.
    pub(crate) fn for_each_ordered<'a>(&'a self, mut f: impl FnMut(&'a Node<T>) -> bool) -> bool {
        fn small<'a, T, const N: usize>(
            n: &'a SmallNode<T, N>,
            f: &mut impl FnMut(&'a Node<T>) -> bool,
        ) -> bool {
            let (order, live) = n.sorted_slots();
            order[..live]
                .iter()
                .filter_map(|(_, slot)| n.children[usize::from(*slot)].as_ref())
                .all(f)
        }
        // Key order with the empty path (NO_PIVOT) first.
        let keys = std::iter::once(NO_PIVOT).chain((0..=255u8).filter(|k| *k != NO_PIVOT));
        match self {
            Node::Leaf(_) => true,
            Node::Node4(n) => small(n, &mut f),
            Node::Node10(n) => small(n, &mut f),
            Node::Node16(n) => small(n, &mut f),
            Node::Node48(n) => keys
                .filter_map(|k| n.index_of(k).and_then(|at| n.children[at].as_ref()))
                .all(f),
            Node::Node256(n) => keys
                .filter_map(|k| n.children[usize::from(k)].as_ref())
                .all(f),
        }
    }
}

/// Puts `front` ahead of a node's path (a leaf's suffix or an inner node's prefix).
pub(crate) fn prepend_path<T>(node: &mut Node<T>, front: &[u8]) {
    if front.is_empty() {
        return;
    }
    let path = match node {
        Node::Leaf(leaf) => &mut leaf.suffix,
        other => match other.prefix_mut() {
            Some(p) => p,
            None => return,
        },
    };
    *path = path.prepended(front);
}

impl<T: fmt::Debug> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Leaf(leaf) => f
                .debug_struct("Leaf")
                .field("suffix", &String::from_utf8_lossy(&leaf.suffix))
                .field("value", &leaf.value)
                .finish(),
            other => f
                .debug_struct(other.kind())
                .field("prefix", &String::from_utf8_lossy(other.path()))
                .field("children", &other.num_children())
                .finish(),
        }
    }
}
