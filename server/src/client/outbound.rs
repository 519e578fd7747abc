//! A connection's outbound side: the buffer publishers append encoded messages to, and the
//! accounting that detects slow consumers.
//!
//! Delivery never goes through a per-message channel. A publisher's reader locks the
//! subscriber's `Outbound` for a moment, appends the encoded MSG, and remembers that the
//! writer needs waking; it wakes each touched writer once per read batch.

use bytes::BytesMut;

/// What happened when bytes were queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Appended; the writer was already scheduled to flush.
    Appended,
    /// Appended, and the caller must wake the writer (first bytes since its last flush).
    WakeWriter,
    /// Pending bytes went over the limit: the connection is a slow consumer.
    SlowConsumer,
    /// The connection is closing; nothing was queued.
    Closed,
}

/// The outbound buffer and its accounting. Lives behind the client's mutex.
#[derive(Debug)]
pub struct Outbound {
    buf: BytesMut,
    /// Bytes handed to the writer but not yet written to the socket.
    in_flight: usize,
    /// Maximum of `buf.len() + in_flight` before the connection is a slow consumer.
    max_pending: usize,
    flush_scheduled: bool,
    closed: bool,
    pub msgs: u64,
    pub bytes: u64,
}

impl Outbound {
    pub fn new(max_pending: usize) -> Self {
        Outbound {
            buf: BytesMut::with_capacity(4096),
            in_flight: 0,
            max_pending,
            flush_scheduled: false,
            closed: false,
            msgs: 0,
            bytes: 0,
        }
    }

    /// Bytes queued but not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.in_flight
    }

    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Appends with `encode`, then checks the pending limit as Go's `queueOutbound` does
    /// (the check follows the append, so a single message over the limit is detected).
    /// Over the limit, the bytes are taken back out: they are never sent, and pending
    /// bytes stay what was really queued.
    pub fn queue_with(&mut self, encode: impl FnOnce(&mut BytesMut)) -> Queued {
        if self.closed {
            return Queued::Closed;
        }
        let before = self.buf.len();
        encode(&mut self.buf);
        if self.pending() > self.max_pending {
            self.buf.truncate(before);
            return Queued::SlowConsumer;
        }
        if self.flush_scheduled {
            Queued::Appended
        } else {
            self.flush_scheduled = true;
            Queued::WakeWriter
        }
    }

    /// Queues a protocol line (INFO, PONG, -ERR...).
    pub fn queue(&mut self, data: &[u8]) -> Queued {
        self.queue_with(|b| b.extend_from_slice(data))
    }

    /// Hands everything queued to the writer, swapping in its spare buffer.
    pub fn take(&mut self, spare: &mut BytesMut) {
        debug_assert!(spare.is_empty());
        std::mem::swap(&mut self.buf, spare);
        self.in_flight += spare.len();
        self.flush_scheduled = false;
    }

    /// The writer finished writing `n` bytes it took.
    pub fn written(&mut self, n: usize) {
        self.in_flight = self.in_flight.saturating_sub(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_append_wakes_writer_then_not_until_taken() {
        let mut o = Outbound::new(1024);
        assert_eq!(o.queue(b"PONG\r\n"), Queued::WakeWriter);
        assert_eq!(o.queue(b"PONG\r\n"), Queued::Appended);
        let mut spare = BytesMut::new();
        o.take(&mut spare);
        assert_eq!(&spare[..], b"PONG\r\nPONG\r\n");
        assert_eq!(o.pending(), 12);
        assert_eq!(o.queue(b"PING\r\n"), Queued::WakeWriter);
        o.written(12);
        assert_eq!(o.pending(), 6);
    }

    #[test]
    fn over_max_pending_is_slow_consumer() {
        let mut o = Outbound::new(10);
        assert_eq!(o.queue(b"0123456789"), Queued::WakeWriter);
        assert_eq!(o.queue(b"x"), Queued::SlowConsumer);
        // What went over the limit was not kept.
        assert_eq!(o.pending(), 10);
        let mut o = Outbound::new(100);
        assert_eq!(o.queue(&[0; 200]), Queued::SlowConsumer);
        assert_eq!(o.pending(), 0);
    }

    #[test]
    fn closed_queues_nothing() {
        let mut o = Outbound::new(10);
        o.close();
        assert_eq!(o.queue(b"x"), Queued::Closed);
        assert_eq!(o.pending(), 0);
    }
}
