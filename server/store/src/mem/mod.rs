//! The memory store: Go's `memStore` semantics over a sequence-ordered map.
//!
//! Messages live in a `BTreeMap` keyed by sequence, so every "walk the sequence range" of
//! Go's store becomes a range scan over present messages only. A per-subject index keeps
//! count, first and last sequence of each subject; like Go, first/last are recalculated
//! lazily after removals. Deleted sequences inside the range are kept in an
//! [`avl::SequenceSet`](crate::avl::SequenceSet), as Go does.
//!
//! All state sits behind one mutex. Callbacks (storage updates, removal proposals, subject
//! delete markers) are collected while it is held and run after it is released.

mod consumer;
mod query;
/// Message schedules live in the crate's [`crate::schedule`], shared with the file store.
pub use crate::schedule;
mod store_impl;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::avl::SequenceSet;
use crate::store::*;
use crate::stree::SubjectTree;
use crate::ttl_index::TtlIndex;

pub use consumer::ConsumerMemStore;
use schedule::MsgScheduling;

/// Bytes a message counts for in a memory store: subject, header, payload and 16 bytes for
/// sequence and timestamp.
pub fn mem_store_msg_size(subject: &str, hdr: &[u8], msg: &[u8]) -> u64 {
    (subject.len() + hdr.len() + msg.len() + 16) as u64
}

/// Per-subject state with Go's lazy first/last flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubjectState {
    pub msgs: u64,
    pub first: u64,
    pub last: u64,
    /// `first` is stale and must be recalculated before use.
    pub first_needs_update: bool,
    /// `last` is stale and must be recalculated before use.
    pub last_needs_update: bool,
}

impl SubjectState {
    fn simple(&self) -> SimpleState {
        SimpleState {
            msgs: self.msgs,
            first: self.first,
            last: self.last,
        }
    }
}

/// Pending subject-delete-marker or removal proposals (Go's `SDMMeta`).
#[derive(Debug, Default)]
struct SdmMeta {
    /// Subject → number of proposals pending for it.
    totals: HashMap<String, u64>,
    /// Sequence → (was last of its subject, when proposed).
    pending: HashMap<u64, (bool, i64)>,
}

impl SdmMeta {
    fn empty(&mut self) {
        self.totals.clear();
        self.pending.clear();
    }

    fn track_pending(&mut self, seq: u64, subject: &str, last: bool, now: i64) -> bool {
        if let Some(&(was_last, _)) = self.pending.get(&seq) {
            return was_last;
        }
        self.pending.insert(seq, (last, now));
        *self.totals.entry(subject.to_string()).or_default() += 1;
        last
    }

    fn remove_seq_and_subject(&mut self, seq: u64, subject: &str) {
        if self.pending.remove(&seq).is_some() {
            if let Some(n) = self.totals.get_mut(subject) {
                if *n <= 1 {
                    self.totals.remove(subject);
                } else {
                    *n -= 1;
                }
            }
        }
    }
}

/// The counters of Go's `StreamState` the store maintains.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    msgs: u64,
    bytes: u64,
    first_seq: u64,
    first_time: i64,
    last_seq: u64,
    last_time: i64,
}

/// A callback invocation deferred until the lock is released.
enum Effect {
    Update(i64, i64, u64, String),
}

pub(crate) struct Inner {
    cfg: StreamConfig,
    state: Counters,
    msgs: BTreeMap<u64, StoreMsg>,
    fss: SubjectTree<SubjectState>,
    dmap: SequenceSet,
    maxp: i64,
    closed: bool,
    scb: Option<StorageUpdateHandler>,
    rmcb: Option<StorageRemoveMsgHandler>,
    pmsgcb: Option<ProcessJetStreamMsgHandler>,
    /// Per-message expiry times; `None` unless TTLs are allowed.
    ttls: Option<TtlIndex>,
    sdm: SdmMeta,
    /// Message schedules; `None` unless allowed.
    scheduling: Option<MsgScheduling>,
    effects: Vec<Effect>,
}

/// A stream store held in memory.
pub struct MemStore {
    inner: Mutex<Inner>,
    clock: SharedClock,
    consumers: Arc<AtomicUsize>,
}

impl std::fmt::Debug for MemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemStore").finish_non_exhaustive()
    }
}

fn check_memory_config(cfg: &StreamConfig) -> Result<(), StoreError> {
    if cfg.storage != StorageType::Memory {
        return Err(StoreError::Other(
            "memStore requires memory storage type in config".to_string(),
        ));
    }
    Ok(())
}

impl MemStore {
    /// A memory store on the wall clock.
    pub fn new(cfg: StreamConfig) -> Result<Self, StoreError> {
        Self::with_clock(cfg, system_clock())
    }

    /// A memory store reading time from `clock`.
    pub fn with_clock(cfg: StreamConfig, clock: SharedClock) -> Result<Self, StoreError> {
        check_memory_config(&cfg)?;
        let inner = Inner {
            maxp: cfg.max_msgs_per_subject,
            ttls: cfg.allow_msg_ttl.then(TtlIndex::default),
            cfg,
            state: Counters::default(),
            msgs: BTreeMap::new(),
            fss: SubjectTree::new(),
            dmap: SequenceSet::new(),
            closed: false,
            scb: None,
            rmcb: None,
            pmsgcb: None,
            sdm: SdmMeta::default(),
            scheduling: None,
            effects: Vec::new(),
        };
        let mut inner = inner;
        if inner.cfg.allow_msg_schedules {
            inner.scheduling = Some(MsgScheduling::new());
        }
        let first_seq = inner.cfg.first_seq;
        let ms = MemStore {
            inner: Mutex::new(inner),
            clock,
            consumers: Arc::new(AtomicUsize::new(0)),
        };
        if first_seq > 0 {
            ms.purge_to(first_seq)?;
        }
        Ok(ms)
    }

    fn now(&self) -> i64 {
        self.clock.now_ns()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the state as it was at the panic; carry on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` under the lock, then runs the callbacks it queued.
    fn locked<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let (r, effects) = {
            let mut inner = self.lock();
            let r = f(&mut inner);
            (r, std::mem::take(&mut inner.effects))
        };
        self.run_effects(effects);
        r
    }

    fn run_effects(&self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let Some(scb) = self.lock().scb.clone() else {
            return;
        };
        for Effect::Update(msgs, bytes, seq, subj) in effects {
            scb(msgs, bytes, seq, &subj);
        }
    }

    /// The store's current config (for tests and the stream layer).
    pub fn config(&self) -> StreamConfig {
        self.lock().cfg.clone()
    }

    /// The raw per-subject entry, lazy flags included (Go tests read `fss` directly).
    #[doc(hidden)]
    pub fn raw_subject_state(&self, subject: &str) -> Option<SubjectState> {
        self.lock().fss.find(subject.as_bytes()).copied()
    }

    /// Number of sequences in the deleted-sequence set (Go tests read `dmap` directly).
    #[doc(hidden)]
    pub fn dmap_size(&self) -> usize {
        self.lock().dmap.size()
    }

    /// Whether per-message TTLs are being tracked (Go tests read `ttls` directly).
    #[doc(hidden)]
    pub fn has_ttl_index(&self) -> bool {
        self.lock().ttls.is_some()
    }

    /// Messages with a per-message TTL being tracked (Go's `ms.ttls.Count()`).
    #[doc(hidden)]
    pub fn ttl_count(&self) -> usize {
        self.lock().ttls.as_ref().map_or(0, TtlIndex::len)
    }

    /// Go's `nextWildcardMatchLocked`: sequence bounds of the subjects matching `filter` with
    /// messages at or after `start`.
    #[doc(hidden)]
    pub fn next_wildcard_match(&self, filter: &str, start: u64) -> (u64, u64, bool) {
        self.lock().next_wildcard_match(filter, start)
    }

    /// Go's `nextLiteralMatchLocked`.
    #[doc(hidden)]
    pub fn next_literal_match(&self, filter: &str, start: u64) -> (u64, u64, bool) {
        self.lock().next_literal_match(filter, start)
    }

    /// Go's `shouldLinearScan`.
    #[doc(hidden)]
    pub fn should_linear_scan(&self, filter: &str, wc: bool, start: u64) -> bool {
        self.lock().should_linear_scan(filter, wc, start)
    }

    fn purge_to(&self, fseq: u64) -> Result<u64, StoreError> {
        self.locked(|inner| {
            let purged = inner.msgs.len() as u64;
            let bytes = inner.state.bytes;
            let fseq = if fseq == 0 {
                inner.state.last_seq + 1
            } else if fseq < inner.state.last_seq {
                return Err(StoreError::Other(
                    "partial purges not supported on memory store".to_string(),
                ));
            } else {
                fseq
            };
            inner.state.first_seq = fseq;
            inner.state.last_seq = fseq - 1;
            inner.state.first_time = 0;
            inner.state.bytes = 0;
            inner.state.msgs = 0;
            inner.msgs.clear();
            inner.fss.clear();
            inner.dmap.empty();
            inner.sdm.empty();
            inner.effects.push(Effect::Update(
                -(purged as i64),
                -(bytes as i64),
                0,
                String::new(),
            ));
            Ok(purged)
        })
    }

    fn compact_to(&self, seq: u64) -> Result<u64, StoreError> {
        if seq == 0 {
            return self.purge_to(0);
        }
        self.locked(|inner| {
            if inner.state.first_seq > seq {
                return Ok(0);
            }
            let (mut purged, mut bytes) = (0u64, 0u64);
            if seq <= inner.state.last_seq {
                let fseq = inner.state.first_seq;
                // Everything below the first message at or after seq goes.
                let next = inner.msgs.range(seq..).next().map(|(&s, sm)| (s, sm.ts));
                let new_first = match next {
                    Some((nseq, ts)) => {
                        inner.state.first_seq = nseq;
                        inner.state.first_time = ts;
                        nseq
                    }
                    None => inner.state.last_seq + 1,
                };
                let gone: Vec<u64> = inner.msgs.range(fseq..new_first).map(|(&s, _)| s).collect();
                for s in gone {
                    if let Some(sm) = inner.msgs.get(&s) {
                        bytes += mem_store_msg_size(&sm.subject, &sm.hdr, &sm.msg);
                        purged += 1;
                        let subject = sm.subject.clone();
                        inner.remove_seq_per_subject(&subject, s);
                        inner.msgs.remove(&s);
                    }
                }
                if !inner.dmap.is_empty() {
                    let stale: Vec<u64> =
                        inner.dmap.iter().take_while(|&d| d < new_first).collect();
                    for d in stale {
                        inner.dmap.delete(d);
                    }
                }
                purged = purged.min(inner.state.msgs);
                inner.state.msgs -= purged;
                if inner.state.msgs == 0 {
                    inner.state.first_seq = inner.state.last_seq + 1;
                    inner.state.first_time = 0;
                }
                bytes = bytes.min(inner.state.bytes);
                inner.state.bytes -= bytes;
            } else {
                // Past the end: empty the store so that the next message gets `seq`.
                purged = inner.msgs.len() as u64;
                bytes = inner.state.bytes;
                inner.state.bytes = 0;
                inner.state.msgs = 0;
                inner.state.first_seq = seq;
                inner.state.first_time = 0;
                inner.state.last_seq = seq - 1;
                inner.msgs.clear();
                inner.fss.clear();
                inner.dmap.empty();
                inner.sdm.empty();
            }
            inner.effects.push(Effect::Update(
                -(purged as i64),
                -(bytes as i64),
                0,
                String::new(),
            ));
            Ok(purged)
        })
    }

    fn reset(&self) {
        let now = self.now();
        self.locked(|inner| {
            let purged = inner.msgs.len() as u64;
            let bytes: u64 = inner
                .msgs
                .values()
                .map(|sm| mem_store_msg_size(&sm.subject, &sm.hdr, &sm.msg))
                .sum();
            inner.state.first_seq = 0;
            inner.state.first_time = 0;
            inner.state.last_seq = 0;
            inner.state.last_time = now;
            inner.state.msgs = 0;
            inner.state.bytes = 0;
            inner.msgs.clear();
            inner.fss.clear();
            inner.dmap.empty();
            inner.sdm.empty();
            inner.effects.push(Effect::Update(
                -(purged as i64),
                -(bytes as i64),
                0,
                String::new(),
            ));
        });
    }

    fn skip(&self, seq: u64, no_interest: bool) -> Result<u64, StoreError> {
        let now = self.now();
        let mut inner = self.lock();
        let seq = inner.check_next_seq(seq)?;
        inner.state.last_seq = seq;
        if no_interest || inner.state.last_time == 0 {
            inner.state.last_time = now;
        }
        if inner.state.msgs == 0 {
            inner.state.first_seq = seq + 1;
            inner.state.first_time = 0;
        } else {
            inner.dmap.insert(seq);
        }
        Ok(seq)
    }

    /// Expiry by age: removes (or proposes markers for) messages older than max age.
    fn expire_by_age(&self, max_age: i64, sdm_ttl: i64) {
        let sdm_enabled = sdm_ttl > 0;
        let mut min_age = self.now() - max_age;
        let mut next = self.lock().first_candidate(0);
        while let Some((seq, sm)) = next {
            if sm.ts > min_age {
                break;
            }
            let never = !sm.hdr.is_empty() && matches!(message_ttl(&sm.hdr), Ok(t) if t < 0);
            if !never {
                if sdm_enabled {
                    self.process_sdm(seq, &sm, sdm_ttl);
                } else {
                    self.locked(|inner| inner.remove_msg(seq, false));
                }
            }
            min_age = self.now() - max_age;
            next = self.lock().first_candidate(seq + 1);
        }
    }

    /// Decides between a subject delete marker and a plain removal proposal for `sm`.
    fn process_sdm(&self, seq: u64, sm: &StoreMsg, sdm_ttl: i64) {
        let now = self.now();
        let (decision, rmcb, pmsgcb) = {
            let mut inner = self.lock();
            let d = inner.should_process_sdm(seq, &sm.subject, now);
            (d, inner.rmcb.clone(), inner.pmsgcb.clone())
        };
        let (last, ok) = decision;
        if !ok {
            return;
        }
        let marker = last && !is_subject_delete_marker(&sm.hdr);
        match (marker, rmcb, pmsgcb) {
            (true, _, Some(pmsgcb)) => {
                let hdr = format!(
                    "NATS/1.0\r\n{JS_MARKER_REASON}: {JS_MARKER_REASON_MAX_AGE}\r\n{JS_MESSAGE_TTL}: {}\r\n{JS_MSG_ROLLUP}: {JS_MSG_ROLLUP_SUBJECT}\r\n\r\n",
                    format_go_duration_secs(sdm_ttl)
                );
                pmsgcb(InMsg {
                    subject: sm.subject.clone(),
                    hdr: Bytes::from(hdr),
                    msg: Bytes::new(),
                });
            }
            (false, Some(rmcb), _) => rmcb(seq),
            _ => {}
        }
    }
}

impl Inner {
    /// Go's sequence check: 0 means "next", anything else must be last + 1.
    fn check_next_seq(&self, seq: u64) -> Result<u64, StoreError> {
        if seq != self.state.last_seq + 1 {
            if seq > 0 {
                return Err(StoreError::SequenceMismatch);
            }
            return Ok(self.state.last_seq + 1);
        }
        Ok(seq)
    }

    /// The first message at or after `start` (a clone, so the lock can be dropped).
    fn first_candidate(&self, start: u64) -> Option<(u64, StoreMsg)> {
        self.msgs
            .range(start..)
            .next()
            .map(|(&s, sm)| (s, sm.clone()))
    }

    #[allow(clippy::too_many_arguments)]
    fn store_raw(
        &mut self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        seq: u64,
        ts: i64,
        ttl: i64,
        discard_new_check: bool,
        now: i64,
    ) -> Result<u64, StoreError> {
        if self.closed {
            return Err(StoreError::Closed);
        }
        let size = mem_store_msg_size(subject, hdr, msg);
        // At the per-subject limit: a new message will replace the oldest of its subject.
        let at_subject_limit = !subject.is_empty()
            && self.maxp > 0
            && self
                .fss
                .find(subject.as_bytes())
                .is_some_and(|ss| ss.msgs >= self.maxp as u64);

        if discard_new_check && self.cfg.discard == DiscardPolicy::New {
            // Rollups go through: they purge the subject after storing.
            if at_subject_limit
                && self.cfg.discard_new_per_subject
                && header_value(hdr, JS_MSG_ROLLUP).is_none_or(|v| v.is_empty())
            {
                return Err(StoreError::MaxMsgsPerSubject);
            }
            if self.cfg.max_msgs > 0
                && self.state.msgs >= self.cfg.max_msgs as u64
                && !at_subject_limit
            {
                return Err(StoreError::MaxMsgs);
            }
            if self.cfg.max_bytes > 0 && self.state.bytes + size > self.cfg.max_bytes as u64 {
                if !at_subject_limit {
                    return Err(StoreError::MaxBytes);
                }
                // Dropping the subject's oldest message must make enough room.
                self.recalculate_subject(subject);
                let first = self.fss.find(subject.as_bytes()).map_or(0, |ss| ss.first);
                let room = self
                    .msgs
                    .get(&first)
                    .map(|sm| mem_store_msg_size(&sm.subject, &sm.hdr, &sm.msg));
                if room.is_none_or(|r| r < size) {
                    return Err(StoreError::MaxBytes);
                }
            }
        }

        let seq = self.check_next_seq(seq)?;
        if self.state.msgs == 0 {
            self.state.first_seq = seq;
            self.state.first_time = ts;
        }
        let sm = StoreMsg {
            subject: subject.to_string(),
            hdr: Bytes::copy_from_slice(hdr),
            msg: Bytes::copy_from_slice(msg),
            seq,
            ts,
        };
        self.msgs.insert(seq, sm);
        self.state.msgs += 1;
        self.state.bytes += size;
        self.state.last_seq = seq;
        self.state.last_time = ts;

        if !subject.is_empty() {
            match self.fss.find_mut(subject.as_bytes()) {
                Some(ss) => {
                    ss.msgs += 1;
                    ss.last = seq;
                    ss.last_needs_update = false;
                    if self.maxp > 0 && ss.msgs > self.maxp as u64 {
                        self.enforce_per_subject_limit(subject);
                    }
                }
                None => {
                    self.fss.insert(
                        subject.as_bytes(),
                        SubjectState {
                            msgs: 1,
                            first: seq,
                            last: seq,
                            ..Default::default()
                        },
                    );
                }
            }
        }

        self.enforce_msg_limit();
        self.enforce_bytes_limit();

        if ttl > 0 {
            if let Some(ttls) = &mut self.ttls {
                ttls.insert((ts.saturating_add(ttl.saturating_mul(NANOS_PER_SEC)), seq));
            }
        }
        if let Some(sched) = &mut self.scheduling {
            sched.track(subject, hdr, seq, ts, now);
        }
        Ok(seq)
    }

    fn enforce_per_subject_limit(&mut self, subject: &str) {
        if self.maxp <= 0 {
            return;
        }
        while let Some(ss) = self.fss.find(subject.as_bytes()) {
            if ss.msgs <= self.maxp as u64 {
                break;
            }
            self.recalculate_subject(subject);
            let first = self.fss.find(subject.as_bytes()).map_or(0, |ss| ss.first);
            if !self.remove_msg(first, false) {
                break;
            }
        }
    }

    fn enforce_msg_limit(&mut self) {
        if self.cfg.discard != DiscardPolicy::Old || self.cfg.max_msgs <= 0 {
            return;
        }
        while self.state.msgs > self.cfg.max_msgs as u64 {
            if !self.remove_msg(self.state.first_seq, false) {
                break;
            }
        }
    }

    fn enforce_bytes_limit(&mut self) {
        if self.cfg.discard != DiscardPolicy::Old || self.cfg.max_bytes <= 0 {
            return;
        }
        while self.state.bytes > self.cfg.max_bytes as u64 {
            if !self.remove_msg(self.state.first_seq, false) {
                break;
            }
        }
    }

    /// Removes `seq` and queues the storage update; false if it was not there.
    fn remove_msg(&mut self, seq: u64, secure: bool) -> bool {
        match self.remove_msg_no_cb(seq, secure) {
            Some((subject, size)) => {
                self.effects
                    .push(Effect::Update(-1, -(size as i64), seq, subject));
                true
            }
            None => false,
        }
    }

    /// Removes `seq` without a storage update; returns its subject and size.
    fn remove_msg_no_cb(&mut self, seq: u64, secure: bool) -> Option<(String, u64)> {
        let sm = self.msgs.get(&seq)?;
        let mut size = mem_store_msg_size(&sm.subject, &sm.hdr, &sm.msg);
        let subject = sm.subject.clone();
        if self.state.msgs > 0 {
            self.state.msgs -= 1;
            size = size.min(self.state.bytes);
            self.state.bytes -= size;
        }
        self.dmap.insert(seq);
        self.update_first_seq(seq);
        self.remove_seq_per_subject(&subject, seq);
        if let Some(ttls) = &mut self.ttls {
            ttls.remove_seq(seq);
        }
        if let Some(sm) = self.msgs.remove(&seq) {
            if secure {
                overwrite(sm.hdr);
                overwrite(sm.msg);
            }
        }
        Some((subject, size))
    }

    /// After removing the first message, moves first to the next present one.
    fn update_first_seq(&mut self, seq: u64) {
        if seq != self.state.first_seq {
            return;
        }
        let old_first = self.state.first_seq;
        let next = self
            .msgs
            .range(old_first + 1..)
            .next()
            .map(|(&s, sm)| (s, sm.ts));
        match next {
            Some((s, ts)) => {
                self.state.first_seq = s;
                self.state.first_time = ts;
            }
            None => {
                self.state.first_seq = self.state.last_seq + 1;
                self.state.first_time = 0;
            }
        }
        // Deleted markers below the new first are no longer interior.
        let stale: Vec<u64> = self
            .dmap
            .iter()
            .take_while(|&d| d < self.state.first_seq)
            .filter(|&d| d >= old_first)
            .collect();
        for d in stale {
            self.dmap.delete(d);
        }
    }

    /// Drops `seq` from its subject's entry, marking first/last stale where needed.
    fn remove_seq_per_subject(&mut self, subject: &str, seq: u64) {
        let Some(ss) = self.fss.find_mut(subject.as_bytes()) else {
            return;
        };
        self.sdm.remove_seq_and_subject(seq, subject);
        if ss.msgs == 1 {
            self.fss.delete(subject.as_bytes());
            return;
        }
        ss.msgs -= 1;
        if ss.msgs == 1 {
            if !ss.last_needs_update && seq != ss.last {
                ss.first = ss.last;
                ss.first_needs_update = false;
                return;
            }
            if !ss.first_needs_update && seq != ss.first {
                ss.last = ss.first;
                ss.last_needs_update = false;
                return;
            }
        }
        ss.first_needs_update = seq == ss.first || ss.first_needs_update;
        ss.last_needs_update = seq == ss.last || ss.last_needs_update;
    }

    /// Recalculates a subject's stale first/last sequence.
    fn recalculate_subject(&mut self, subject: &str) {
        if let Some(ss) = self.fss.find_mut(subject.as_bytes()) {
            recalculate(&self.msgs, &self.state, subject, ss);
        }
    }

    fn should_process_sdm(&mut self, seq: u64, subject: &str, now: i64) -> (bool, bool) {
        if let Some(&(mut last, ts)) = self.sdm.pending.get(&seq) {
            // Not again so soon for the same sequence.
            if now - ts < 2 * NANOS_PER_SEC {
                return (last, false);
            }
            if last {
                let msgs = self.fss.find(subject.as_bytes()).map_or(0, |ss| ss.msgs);
                let pending = self.sdm.totals.get(subject).copied().unwrap_or(0);
                if msgs.saturating_sub(pending) > 0 {
                    last = false;
                }
            }
            self.sdm.pending.insert(seq, (last, now));
            return (last, true);
        }
        let msgs = self.fss.find(subject.as_bytes()).map_or(0, |ss| ss.msgs);
        if msgs == 0 {
            return (false, true);
        }
        let pending = self.sdm.totals.get(subject).copied().unwrap_or(0);
        let remaining = msgs.saturating_sub(pending);
        (
            self.sdm.track_pending(seq, subject, remaining == 1, now),
            true,
        )
    }

    /// Recreates the schedules from the stored messages' headers.
    fn recover_msg_scheduling_state(&mut self, now: i64) {
        let mut sched = MsgScheduling::new();
        for (&seq, sm) in &self.msgs {
            if let Ok(Some(at)) = schedule::next_message_schedule(&sm.hdr, sm.ts, now) {
                sched.add(seq, &sm.subject, at);
            }
        }
        self.scheduling = Some(sched);
    }

    /// Recreates the TTL index from the stored messages' headers.
    fn recover_ttl_state(&mut self) {
        let mut ttls = TtlIndex::default();
        for (&seq, sm) in &self.msgs {
            if sm.hdr.is_empty() {
                continue;
            }
            if let Ok(ttl) = message_ttl(&sm.hdr) {
                if ttl > 0 {
                    ttls.insert((sm.ts.saturating_add(ttl.saturating_mul(NANOS_PER_SEC)), seq));
                }
            }
        }
        self.ttls = Some(ttls);
    }
}

/// The last message of `subject`, without updating its (possibly stale) index entry.
fn last_of_subject(
    msgs: &BTreeMap<u64, StoreMsg>,
    subject: &str,
    ss: &SubjectState,
) -> Option<StoreMsg> {
    if !ss.last_needs_update {
        return msgs.get(&ss.last).cloned();
    }
    msgs.range(..=ss.last)
        .rev()
        .find(|(_, sm)| sm.subject == subject)
        .map(|(_, sm)| sm.clone())
}

/// Recalculates stale first/last of `ss` for `subject` by scanning present messages.
fn recalculate(
    msgs: &BTreeMap<u64, StoreMsg>,
    state: &Counters,
    subject: &str,
    ss: &mut SubjectState,
) {
    if ss.first_needs_update {
        let from = (ss.first + 1).max(state.first_seq);
        if from <= ss.last {
            if let Some((&s, _)) = msgs
                .range(from..=ss.last)
                .find(|(_, sm)| sm.subject == subject)
            {
                ss.first = s;
                ss.first_needs_update = false;
                if ss.msgs == 1 {
                    ss.last = s;
                    ss.last_needs_update = false;
                    return;
                }
            }
        }
    }
    if ss.last_needs_update {
        let to = ss.last.saturating_sub(1).min(state.last_seq);
        if ss.first <= to {
            if let Some((&s, _)) = msgs
                .range(ss.first..=to)
                .rev()
                .find(|(_, sm)| sm.subject == subject)
            {
                ss.last = s;
                ss.last_needs_update = false;
                if ss.msgs == 1 {
                    ss.first = s;
                    ss.first_needs_update = false;
                }
            }
        }
    }
}

/// Overwrites a removed message's bytes when no one else holds them (erase).
fn overwrite(b: Bytes) {
    if let Ok(mut m) = b.try_into_mut() {
        m.fill(0);
    }
}
