//! The byte string a node contributes to its subjects (a leaf's suffix or an inner node's
//! prefix).
//!
//! Most of these are a few bytes (the tail of a token), so they live inside the node when
//! they fit and on the heap only when they do not. That saves an allocation and a pointer
//! chase per leaf, which is most of what a subject costs the tree.

use std::ops::Deref;

/// Inline capacity: the enum stays three words, like a boxed slice plus a tag would.
const INLINE: usize = 22;

#[derive(Clone)]
pub(crate) enum Path {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Path {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut inline = [0; INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Path::Inline { len, bytes: inline }
            }
            _ => Path::Heap(bytes.into()),
        }
    }

    /// `front` followed by this path.
    pub(crate) fn prepended(&self, front: &[u8]) -> Self {
        let mut joined = Vec::with_capacity(front.len() + self.len());
        joined.extend_from_slice(front);
        joined.extend_from_slice(self);
        Path::new(&joined)
    }
}

impl Default for Path {
    fn default() -> Self {
        Path::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

impl Deref for Path {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Path::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Path::Heap(bytes) => bytes,
        }
    }
}

impl From<&[u8]> for Path {
    fn from(bytes: &[u8]) -> Self {
        Path::new(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_paths_are_inline_and_long_ones_on_the_heap() {
        assert_eq!(std::mem::size_of::<Path>(), 24);
        let short = Path::new(b"stream.");
        assert!(matches!(short, Path::Inline { .. }));
        assert_eq!(&*short, b"stream.");
        let edge = Path::new(&[b'x'; INLINE]);
        assert!(matches!(edge, Path::Inline { .. }));
        assert_eq!(edge.len(), INLINE);
        let long = Path::new(&[b'y'; INLINE + 1]);
        assert!(matches!(long, Path::Heap(_)));
        assert_eq!(long.len(), INLINE + 1);
        assert_eq!(&*short.prepended(b"account.1."), b"account.1.stream.");
        assert!(Path::default().is_empty());
    }
}
