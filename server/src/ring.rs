//! A fixed-size ring of the most recently closed connections, kept for `/connz?state=closed`.

use std::collections::VecDeque;

/// Holds at most `capacity` entries; appending to a full ring drops the oldest. Counts every
/// entry ever appended.
#[derive(Debug, Clone)]
pub struct ClosedRingBuffer<T> {
    entries: VecDeque<T>,
    capacity: usize,
    total: u64,
}

impl<T: Clone> ClosedRingBuffer<T> {
    /// A ring keeping the last `capacity` closed connections (nats-server's
    /// `max_closed_clients`).
    pub fn new(capacity: usize) -> Self {
        ClosedRingBuffer {
            entries: VecDeque::with_capacity(capacity),
            capacity,
            total: 0,
        }
    }

    /// Records a closed connection, dropping the oldest when full.
    pub fn append(&mut self, entry: T) {
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// How many entries are held (at most the capacity).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The held entries, oldest first, for editing in place.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut()
    }

    /// How many connections were ever appended.
    pub fn total_conns(&self) -> u64 {
        self.total
    }

    /// A copy of the held entries, oldest first.
    pub fn closed_clients(&self) -> Vec<T> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_only_counts() {
        let mut rb = ClosedRingBuffer::new(0);
        rb.append(1);
        assert_eq!(rb.len(), 0);
        assert_eq!(rb.total_conns(), 1);
        assert!(rb.closed_clients().is_empty());
    }

    #[test]
    fn keeps_the_newest_in_order() {
        let mut rb = ClosedRingBuffer::new(3);
        for i in 1..=7 {
            rb.append(i);
        }
        assert_eq!(rb.closed_clients(), vec![5, 6, 7]);
        assert_eq!(rb.total_conns(), 7);
    }
}
