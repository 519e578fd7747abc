//! The stores' per-message TTLs, ordered by expiry (the next due first) and found by
//! sequence, so that dropping one message's TTL on removal does not walk all of them.
//! Messages whose TTL says they never expire (`Nats-TTL: never`) are kept apart: they
//! have no expiry, but the age limit must pass over them.

use std::collections::{btree_set, BTreeSet, HashMap};
use std::fmt;

/// `(expires at ns, seq)` of messages with a TTL; one entry per sequence. Plus the
/// sequences of messages that never expire.
#[derive(Default, Clone)]
pub struct TtlIndex {
    by_expiry: BTreeSet<(i64, u64)>,
    by_seq: HashMap<u64, i64>,
    never: BTreeSet<u64>,
}

impl TtlIndex {
    /// Sets the expiry of `seq`, replacing one it had.
    pub fn insert(&mut self, (expires, seq): (i64, u64)) {
        if let Some(old) = self.by_seq.insert(seq, expires) {
            self.by_expiry.remove(&(old, seq));
        }
        self.by_expiry.insert((expires, seq));
    }

    /// Marks `seq` as never expiring: the age limit passes over it.
    pub fn insert_never(&mut self, seq: u64) {
        self.never.insert(seq);
    }

    /// Whether `seq` never expires.
    pub fn is_never(&self, seq: u64) -> bool {
        self.never.contains(&seq)
    }

    /// The sequences that never expire, ascending.
    pub fn never_seqs(&self) -> btree_set::Iter<'_, u64> {
        self.never.iter()
    }

    /// Drops the TTL of `seq` (an expiry or "never"); whether it had an expiry.
    pub fn remove_seq(&mut self, seq: u64) -> bool {
        self.never.remove(&seq);
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

    /// Keeps the sequences (with an expiry or "never") that `keep` accepts.
    pub fn retain_seqs(&mut self, mut keep: impl FnMut(u64) -> bool) {
        self.retain(|&(_, seq)| keep(seq));
        self.never.retain(|&seq| keep(seq));
    }

    pub fn clear(&mut self) {
        self.by_expiry.clear();
        self.by_seq.clear();
        self.never.clear();
    }

    /// Messages with an expiry (those that never expire are not counted).
    pub fn len(&self) -> usize {
        self.by_expiry.len()
    }

    /// No message has an expiry (some may never expire).
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
        if self.never.is_empty() {
            return self.by_expiry.fmt(f);
        }
        write!(f, "{:?} never {:?}", self.by_expiry, self.never)
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

    #[test]
    fn never_expiring_sequences_have_no_expiry_and_go_with_their_message() {
        let mut ttls: TtlIndex = [(10, 1)].into_iter().collect();
        ttls.insert_never(2);
        ttls.insert_never(3);
        assert!(ttls.is_never(2) && !ttls.is_never(1));
        // Not counted as expiries and never due.
        assert_eq!(ttls.len(), 1);
        assert_eq!(ttls.next_expiration(), Some(10));
        assert_eq!(ttls.due(i64::MAX), vec![(10, 1)]);
        // Removal says whether there was an expiry, and drops "never" as well.
        assert!(!ttls.remove_seq(2));
        assert!(!ttls.is_never(2));
        ttls.insert_never(4);
        ttls.retain_seqs(|seq| seq != 4);
        assert_eq!(ttls.never_seqs().copied().collect::<Vec<_>>(), vec![3]);
        assert_eq!(format!("{ttls:?}"), "{(10, 1)} never {3}");
        ttls.clear();
        assert!(!ttls.is_never(3));
        assert_eq!(format!("{ttls:?}"), "{}");
    }
}
