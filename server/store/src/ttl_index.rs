//! The stores' per-message TTLs, ordered by expiry (the next due first) and found by
//! sequence, so that dropping one message's TTL on removal does not walk all of them.

use std::collections::{btree_set, BTreeSet, HashMap};
use std::fmt;

/// `(expires at ns, seq)` of messages with a TTL; one entry per sequence.
#[derive(Default, Clone)]
pub struct TtlIndex {
    by_expiry: BTreeSet<(i64, u64)>,
    by_seq: HashMap<u64, i64>,
}

impl TtlIndex {
    /// Sets the expiry of `seq`, replacing one it had.
    pub fn insert(&mut self, (expires, seq): (i64, u64)) {
        if let Some(old) = self.by_seq.insert(seq, expires) {
            self.by_expiry.remove(&(old, seq));
        }
        self.by_expiry.insert((expires, seq));
    }

    /// Drops the TTL of `seq`; whether it had one.
    pub fn remove_seq(&mut self, seq: u64) -> bool {
        match self.by_seq.remove(&seq) {
            Some(expires) => self.by_expiry.remove(&(expires, seq)),
            None => false,
        }
    }

    /// Keeps the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&(i64, u64)) -> bool) {
        let by_seq = &mut self.by_seq;
        self.by_expiry.retain(|entry| {
            let kept = keep(entry);
            if !kept {
                by_seq.remove(&entry.1);
            }
            kept
        });
    }

    pub fn clear(&mut self) {
        self.by_expiry.clear();
        self.by_seq.clear();
    }

    pub fn len(&self) -> usize {
        self.by_expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_expiry.is_empty()
    }

    /// When the next TTL is due.
    pub fn next_expiration(&self) -> Option<i64> {
        self.by_expiry.first().map(|&(expires, _)| expires)
    }

    /// Entries due at `now`, as `(expires, seq)`.
    pub fn due(&self, now: i64) -> Vec<(i64, u64)> {
        self.by_expiry.range(..=(now, u64::MAX)).copied().collect()
    }

    /// Entries by expiry, the next due first.
    pub fn iter(&self) -> btree_set::Iter<'_, (i64, u64)> {
        self.by_expiry.iter()
    }
}

impl<'a> IntoIterator for &'a TtlIndex {
    type Item = &'a (i64, u64);
    type IntoIter = btree_set::Iter<'a, (i64, u64)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<(i64, u64)> for TtlIndex {
    fn from_iter<I: IntoIterator<Item = (i64, u64)>>(iter: I) -> Self {
        let mut index = TtlIndex::default();
        for entry in iter {
            index.insert(entry);
        }
        index
    }
}

impl fmt::Debug for TtlIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.by_expiry.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_sequence_found_both_ways() {
        let mut ttls: TtlIndex = [(30, 1), (10, 2), (20, 3)].into_iter().collect();
        assert_eq!(ttls.iter().next(), Some(&(10, 2)));
        // A new expiry for a sequence replaces its old one.
        ttls.insert((5, 3));
        assert_eq!(ttls.len(), 3);
        assert_eq!(ttls.iter().next(), Some(&(5, 3)));
        assert!(ttls.remove_seq(3));
        assert!(!ttls.remove_seq(3));
        assert_eq!(
            ttls.iter().copied().collect::<Vec<_>>(),
            vec![(10, 2), (30, 1)]
        );
        ttls.retain(|&(_, seq)| seq != 2);
        assert!(!ttls.remove_seq(2));
        assert_eq!(ttls.len(), 1);
        ttls.clear();
        assert!(ttls.is_empty() && !ttls.remove_seq(1));
    }
}
