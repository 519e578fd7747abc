//! The consumer state store of a memory stream (Go's `consumerMemStore`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::*;

struct ConsumerInner {
    cfg: ConsumerConfig,
    state: ConsumerState,
    closed: bool,
}

/// Consumer state kept in memory.
pub struct ConsumerMemStore {
    inner: Mutex<ConsumerInner>,
    /// The stream's consumer count, decremented on stop.
    stream_consumers: Arc<AtomicUsize>,
    clock: SharedClock,
}

impl ConsumerMemStore {
    pub(super) fn new(
        cfg: ConsumerConfig,
        stream_consumers: Arc<AtomicUsize>,
        clock: SharedClock,
    ) -> Self {
        Self {
            inner: Mutex::new(ConsumerInner {
                cfg,
                state: ConsumerState::default(),
                closed: false,
            }),
            stream_consumers,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConsumerInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Go's sanity checks of a replacement state.
fn check_state(state: &ConsumerState) -> Result<(), StoreError> {
    if state.ack_floor.consumer > state.delivered.consumer {
        return Err(StoreError::Other("bad ack floor for consumer".to_string()));
    }
    if state.ack_floor.stream > state.delivered.stream {
        return Err(StoreError::Other("bad ack floor for stream".to_string()));
    }
    for &seq in state.pending.keys() {
        if seq <= state.ack_floor.stream || seq > state.delivered.stream {
            return Err(StoreError::Other(format!(
                "bad pending entry, sequence [{seq}] out of range"
            )));
        }
    }
    Ok(())
}

impl ConsumerStore for ConsumerMemStore {
    fn set_starting(&self, sseq: u64) -> Result<(), StoreError> {
        let mut o = self.lock();
        o.state.delivered.stream = sseq;
        o.state.ack_floor.stream = sseq;
        Ok(())
    }

    fn update_starting(&self, sseq: u64) {
        let mut o = self.lock();
        if sseq > o.state.delivered.stream {
            o.state.delivered.stream = sseq;
            // Without acks, delivered is also acknowledged.
            if o.cfg.ack_policy == AckPolicy::None {
                o.state.ack_floor.stream = sseq;
            }
        }
    }

    fn reset(&self, sseq: u64) -> Result<(), StoreError> {
        self.lock().state = ConsumerState::default();
        self.set_starting(sseq)
    }

    fn has_state(&self) -> bool {
        let o = self.lock();
        o.state.delivered.consumer != 0 || o.state.delivered.stream != 0
    }

    fn update_delivered(&self, dseq: u64, sseq: u64, dc: u64, ts: i64) -> Result<(), StoreError> {
        let mut o = self.lock();
        if dc != 1 && o.cfg.ack_policy == AckPolicy::None {
            return Err(StoreError::NoAckPolicy);
        }
        // An old leader may replay deliveries it already recorded.
        if dseq <= o.state.ack_floor.consumer {
            return Ok(());
        }
        if o.cfg.ack_policy != AckPolicy::None {
            if sseq <= o.state.delivered.stream {
                // A redelivery: keep the original consumer sequence, refresh the time.
                if let Some(p) = o.state.pending.get_mut(&sseq) {
                    p.timestamp = ts;
                }
            } else {
                o.state.pending.insert(
                    sseq,
                    Pending {
                        sequence: dseq,
                        timestamp: ts,
                    },
                );
            }
            if dseq > o.state.delivered.consumer {
                o.state.delivered.consumer = dseq;
            }
            if sseq > o.state.delivered.stream {
                o.state.delivered.stream = sseq;
            }
            if dc > 1 {
                let max_deliver = o.cfg.max_deliver;
                if max_deliver > 0 && dc > max_deliver as u64 {
                    o.state.pending.remove(&sseq);
                }
                let entry = o.state.redelivered.entry(sseq).or_insert(0);
                if *entry < dc - 1 {
                    *entry = dc - 1;
                }
            }
        } else {
            if dseq > o.state.delivered.consumer {
                o.state.delivered.consumer = dseq;
                o.state.ack_floor.consumer = dseq;
            }
            if sseq > o.state.delivered.stream {
                o.state.delivered.stream = sseq;
                o.state.ack_floor.stream = sseq;
            }
        }
        Ok(())
    }

    fn update_acks(&self, dseq: u64, sseq: u64) -> Result<(), StoreError> {
        let mut o = self.lock();
        if o.cfg.ack_policy == AckPolicy::None {
            return Err(StoreError::NoAckPolicy);
        }
        o.state.redelivered.remove(&sseq);
        // An old leader may replay acks below the floor.
        if dseq <= o.state.ack_floor.consumer {
            return Ok(());
        }
        if !o.state.pending.contains_key(&sseq) {
            return Err(StoreError::MsgNotFound);
        }
        if matches!(o.cfg.ack_policy, AckPolicy::All | AckPolicy::FlowControl) {
            let gap = sseq.saturating_sub(o.state.ack_floor.stream);
            o.state.ack_floor.consumer = dseq;
            o.state.ack_floor.stream = sseq;
            if gap > o.state.pending.len() as u64 {
                let acked: Vec<u64> = o.state.pending.range(..=sseq).map(|(&s, _)| s).collect();
                for s in acked {
                    o.state.pending.remove(&s);
                    o.state.redelivered.remove(&s);
                }
            } else {
                let mut s = sseq;
                while s > sseq - gap && !o.state.pending.is_empty() {
                    o.state.pending.remove(&s);
                    o.state.redelivered.remove(&s);
                    s -= 1;
                }
            }
            return Ok(());
        }
        // Explicit acks.
        let mut dseq = dseq;
        if let Some(p) = o.state.pending.remove(&sseq) {
            if dseq > p.sequence && p.sequence > 0 {
                dseq = p.sequence;
            }
        }
        if o.state.pending.is_empty() {
            o.state.ack_floor = o.state.delivered;
        } else if dseq == o.state.ack_floor.consumer + 1 {
            o.state.ack_floor.consumer = dseq;
            o.state.ack_floor.stream = sseq;
            if o.state.delivered.consumer > dseq {
                // The floor moves up to just below the next pending message.
                let delivered = o.state.delivered.stream;
                let next = o
                    .state
                    .pending
                    .range(sseq + 1..)
                    .next()
                    .filter(|(&s, _)| s <= delivered)
                    .map(|(&s, p)| (s, p.sequence));
                if let Some((s, pseq)) = next {
                    if pseq > 0 {
                        o.state.ack_floor.consumer = pseq - 1;
                        o.state.ack_floor.stream = s - 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn remove_redelivered_below(&self, seq: u64) {
        if seq == 0 {
            return;
        }
        self.lock().state.redelivered.retain(|&s, _| s >= seq);
    }

    fn update_config(&self, cfg: &ConsumerConfig) -> Result<(), StoreError> {
        self.lock().cfg = cfg.clone();
        Ok(())
    }

    fn update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        check_state(state)?;
        let mut o = self.lock();
        if state.delivered.consumer < o.state.delivered.consumer
            || state.ack_floor.stream < o.state.ack_floor.stream
        {
            return Err(StoreError::OldUpdate);
        }
        o.state = state.clone();
        Ok(())
    }

    fn force_update(&self, state: &ConsumerState) -> Result<(), StoreError> {
        check_state(state)?;
        self.lock().state = state.clone();
        Ok(())
    }

    fn state(&self) -> Result<ConsumerState, StoreError> {
        let o = self.lock();
        if o.closed {
            return Err(StoreError::Closed);
        }
        Ok(o.state.clone())
    }

    fn encoded_state(&self) -> Result<Vec<u8>, StoreError> {
        let o = self.lock();
        if o.closed {
            return Err(StoreError::Closed);
        }
        Ok(encode_consumer_state(&o.state, self.clock.now_ns()))
    }

    fn storage_type(&self) -> StorageType {
        StorageType::Memory
    }

    fn stop(&self) -> Result<(), StoreError> {
        self.lock().closed = true;
        // Like Go, every stop tells the stream, which never counts below zero.
        let _ = self
            .stream_consumers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        Ok(())
    }

    fn delete(&self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stream_delete(&self) -> Result<(), StoreError> {
        self.stop()
    }
}
