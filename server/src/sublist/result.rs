//! The outcome of a match: plain subscribers, and queue subscribers grouped per queue.

use super::trie::push_weighted;
use super::SubEntry;
use std::sync::Arc;

/// Subscriptions matching a subject. Queue subscribers come grouped by queue name so the
/// caller can pick one member per group; `qsubs[i]` belongs to `queue_names()[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SublistResult<T> {
    /// Plain subscribers: each gets the message.
    pub psubs: Vec<T>,
    /// Queue groups: one member of each gets the message. A remote member whose weight is n
    /// appears n times.
    pub qsubs: Vec<Vec<T>>,
    qnames: Vec<Arc<str>>,
}

impl<T> Default for SublistResult<T> {
    fn default() -> Self {
        SublistResult {
            psubs: Vec::new(),
            qsubs: Vec::new(),
            qnames: Vec::new(),
        }
    }
}

impl<T> SublistResult<T> {
    /// True when nothing matched.
    pub fn is_empty(&self) -> bool {
        self.psubs.is_empty() && self.qsubs.is_empty()
    }

    /// Queue names, index-aligned with `qsubs`.
    pub fn queue_names(&self) -> &[Arc<str>] {
        &self.qnames
    }

    /// Index in `qsubs` of the group for `queue` (Go's `findQSlot`).
    pub fn queue_slot(&self, queue: &str) -> Option<usize> {
        self.qnames.iter().position(|n| &**n == queue)
    }

    /// Members of the group for `queue`.
    pub fn queue_group(&self, queue: &str) -> Option<&[T]> {
        self.queue_slot(queue).map(|i| self.qsubs[i].as_slice())
    }

    /// `(queue name, members)` for each group.
    pub fn queue_groups(&self) -> impl Iterator<Item = (&str, &[T])> {
        self.qnames
            .iter()
            .map(|n| &**n)
            .zip(self.qsubs.iter().map(Vec::as_slice))
    }

    pub(super) fn queue_slot_or_insert(&mut self, queue: &Arc<str>) -> usize {
        match self.queue_slot(queue) {
            Some(i) => i,
            None => {
                self.qnames.push(Arc::clone(queue));
                self.qsubs.push(Vec::new());
                self.qsubs.len() - 1
            }
        }
    }
}

impl<T: SubEntry> SublistResult<T> {
    /// A copy of this result with one more subscription (results are shared, never mutated).
    pub(super) fn with_added(&self, queue: Option<&str>, sub: &T) -> SublistResult<T> {
        let mut r = self.clone();
        match queue {
            None => r.psubs.push(sub.clone()),
            Some(q) => {
                let slot = r.queue_slot_or_insert(&Arc::from(q));
                push_weighted(&mut r.qsubs[slot], sub);
            }
        }
        r
    }
}
