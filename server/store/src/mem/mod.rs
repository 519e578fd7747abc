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
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use crate::avl::SequenceSet;
use crate::store::*;
use crate::stree::SubjectTree;

pub use consumer::ConsumerMemStore;

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

/// Per-message expiry times, ordered by time and findable by sequence.
#[derive(Debug, Default)]
struct TtlIndex {
    by_time: BTreeSet<(i64, u64)>,
    by_seq: HashMap<u64, i64>,
}

impl TtlIndex {
    fn add(&mut self, seq: u64, expires: i64) {
        if let Some(old) = self.by_seq.insert(seq, expires) {
            self.by_time.remove(&(old, seq));
        }
        self.by_time.insert((expires, seq));
    }

    fn remove(&mut self, seq: u64) {
        if let Some(expires) = self.by_seq.remove(&seq) {
            self.by_time.remove(&(expires, seq));
        }
    }

    fn next_expiration(&self) -> Option<i64> {
        self.by_time.first().map(|&(expires, _)| expires)
    }

    /// Entries due at `now`, as `(expires, seq)`.
    fn due(&self, now: i64) -> Vec<(i64, u64)> {
        self.by_time.range(..=(now, u64::MAX)).copied().collect()
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
            effects: Vec::new(),
        };
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
                // The new first is the first message at or after seq.
                if let Some((&nseq, sm)) = inner.msgs.range(seq..=inner.state.last_seq).next() {
                    inner.state.first_seq = nseq;
                    inner.state.first_time = sm.ts;
                }
                let gone: Vec<u64> = inner.msgs.range(fseq..seq).map(|(&s, _)| s).collect();
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
                    let stale: Vec<u64> = inner.dmap.iter().take_while(|&d| d < seq).collect();
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
                ttls.add(seq, ts.saturating_add(ttl.saturating_mul(NANOS_PER_SEC)));
            }
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
            ttls.remove(seq);
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

    /// Recreates the TTL index from the stored messages' headers.
    fn recover_ttl_state(&mut self) {
        let mut ttls = TtlIndex::default();
        for (&seq, sm) in &self.msgs {
            if sm.hdr.is_empty() {
                continue;
            }
            if let Ok(ttl) = message_ttl(&sm.hdr) {
                if ttl > 0 {
                    ttls.add(seq, sm.ts.saturating_add(ttl.saturating_mul(NANOS_PER_SEC)));
                }
            }
        }
        self.ttls = Some(ttls);
    }
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

impl Store for MemStore {
    fn store_msg(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        ttl: i64,
    ) -> Result<(u64, i64), StoreError> {
        let ts = self.now();
        self.locked(|inner| {
            let seq = inner.state.last_seq + 1;
            let seq = inner.store_raw(subject, hdr, msg, seq, ts, ttl, true)?;
            inner.effects.push(Effect::Update(
                1,
                mem_store_msg_size(subject, hdr, msg) as i64,
                seq,
                subject.to_string(),
            ));
            Ok((seq, ts))
        })
    }

    fn store_raw_msg(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        seq: u64,
        ts: i64,
        ttl: i64,
        discard_new_check: bool,
    ) -> Result<(), StoreError> {
        self.locked(|inner| {
            inner.store_raw(subject, hdr, msg, seq, ts, ttl, discard_new_check)?;
            inner.effects.push(Effect::Update(
                1,
                mem_store_msg_size(subject, hdr, msg) as i64,
                seq,
                subject.to_string(),
            ));
            Ok(())
        })
    }

    fn skip_msg(&self, seq: u64) -> Result<u64, StoreError> {
        self.skip(seq, false)
    }

    fn skip_msg_no_interest(&self, seq: u64) -> Result<u64, StoreError> {
        self.skip(seq, true)
    }

    fn skip_msgs(&self, seq: u64, num: u64) -> Result<(), StoreError> {
        let now = self.now();
        let mut inner = self.lock();
        let seq = inner.check_next_seq(seq)?;
        let lseq = (seq + num).saturating_sub(1);
        inner.state.last_seq = lseq;
        if inner.state.last_time == 0 {
            inner.state.last_time = now;
        }
        if inner.state.msgs == 0 {
            inner.state.first_seq = lseq + 1;
            inner.state.first_time = 0;
        } else {
            for s in seq..=lseq {
                inner.dmap.insert(s);
            }
        }
        Ok(())
    }

    fn flush_all_pending(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn load_msg(&self, seq: u64) -> Result<StoreMsg, StoreError> {
        let inner = self.lock();
        match inner.msgs.get(&seq) {
            Some(sm) => Ok(sm.clone()),
            None if seq <= inner.state.last_seq => Err(StoreError::MsgNotFound),
            None => Err(StoreError::Eof),
        }
    }

    fn load_next_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult {
        self.lock().load_next(filter, wc, start)
    }

    fn load_next_msg_multi(&self, filters: &SubjectFilters, start: u64) -> ScanResult {
        let inner = self.lock();
        let start = start.max(inner.state.first_seq);
        if start > inner.state.last_seq || inner.state.msgs == 0 {
            return Err((StoreError::Eof, inner.state.last_seq));
        }
        inner
            .msgs
            .range(start..=inner.state.last_seq)
            .find(|(_, sm)| filters.has_interest(&sm.subject))
            .map(|(&s, sm)| (sm.clone(), s))
            .ok_or((StoreError::Eof, inner.state.last_seq))
    }

    fn load_last_msg(&self, subject: &str) -> Result<StoreMsg, StoreError> {
        self.lock().load_last(subject)
    }

    fn load_prev_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult {
        let inner = self.lock();
        if inner.closed {
            return Err((StoreError::Closed, 0));
        }
        if inner.state.msgs == 0 || start < inner.state.first_seq {
            return Err((StoreError::Eof, inner.state.first_seq));
        }
        let start = start.min(inner.state.last_seq);
        let (filter, wc) = if filter.is_empty() {
            (FULL_WILDCARD, true)
        } else {
            (filter, wc)
        };
        let is_all = filter == FULL_WILDCARD;
        inner
            .msgs
            .range(inner.state.first_seq..=start)
            .rev()
            .find(|(_, sm)| {
                is_all
                    || if wc {
                        subject_matches(&sm.subject, filter)
                    } else {
                        sm.subject == filter
                    }
            })
            .map(|(&s, sm)| (sm.clone(), s))
            .ok_or((StoreError::Eof, inner.state.first_seq))
    }

    fn load_prev_msg_multi(&self, filters: &SubjectFilters, start: u64) -> ScanResult {
        let inner = self.lock();
        let start = start.min(inner.state.last_seq);
        if start < inner.state.first_seq || inner.state.msgs == 0 {
            return Err((StoreError::Eof, inner.state.first_seq));
        }
        inner
            .msgs
            .range(inner.state.first_seq..=start)
            .rev()
            .find(|(_, sm)| filters.has_interest(&sm.subject))
            .map(|(&s, sm)| (sm.clone(), s))
            .ok_or((StoreError::Eof, inner.state.first_seq))
    }

    fn remove_msg(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.locked(|inner| inner.remove_msg(seq, false)))
    }

    fn erase_msg(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.locked(|inner| inner.remove_msg(seq, true)))
    }

    fn purge(&self) -> Result<u64, StoreError> {
        self.purge_to(0)
    }

    fn purge_ex(&self, subject: &str, seq: u64, keep: u64) -> Result<u64, StoreError> {
        // Below sequence 1 there is nothing to purge.
        if seq == 1 {
            return Ok(0);
        }
        let mut subject = subject;
        if subject.is_empty() || subject == FULL_WILDCARD {
            if keep == 0 && seq == 0 {
                return self.purge_to(0);
            }
            if seq > 1 {
                return self.compact_to(seq);
            }
            subject = FULL_WILDCARD;
        }
        self.locked(|inner| {
            let ss = inner.filtered_state(1, subject, false);
            if ss.msgs == 0 {
                return Ok(0);
            }
            let max_purge = if keep > 0 {
                if keep >= ss.msgs {
                    return Ok(0);
                }
                ss.msgs - keep
            } else {
                0
            };
            let last = if seq >= 1 { seq - 1 } else { ss.last };
            if ss.first > last {
                return Ok(0);
            }
            let wildcard = subject_has_wildcard(subject);
            let candidates: Vec<u64> = inner
                .msgs
                .range(ss.first..=last)
                .filter(|(_, sm)| {
                    if wildcard {
                        subject_matches(&sm.subject, subject)
                    } else {
                        sm.subject == subject
                    }
                })
                .map(|(&s, _)| s)
                .collect();
            let (mut purged, mut bytes) = (0u64, 0u64);
            let mut low: Option<(u64, String)> = None;
            for s in candidates {
                if let Some((subj, size)) = inner.remove_msg_no_cb(s, false) {
                    purged += 1;
                    bytes += size;
                    if low.is_none() {
                        low = Some((s, subj));
                    }
                    if max_purge > 0 && purged >= max_purge {
                        break;
                    }
                }
            }
            if purged == 1 {
                if let Some((s, subj)) = low {
                    inner
                        .effects
                        .push(Effect::Update(-1, -(bytes as i64), s, subj));
                }
            } else if purged > 1 {
                inner.effects.push(Effect::Update(
                    -(purged as i64),
                    -(bytes as i64),
                    0,
                    String::new(),
                ));
            }
            Ok(purged)
        })
    }

    fn compact(&self, seq: u64) -> Result<u64, StoreError> {
        self.compact_to(seq)
    }

    fn truncate(&self, seq: u64) -> Result<(), StoreError> {
        if seq == 0 {
            self.reset();
            return Ok(());
        }
        self.locked(|inner| {
            let last_time = inner
                .msgs
                .get(&seq)
                .map_or(inner.state.last_time, |sm| sm.ts);
            let (mut purged, mut bytes) = (0u64, 0u64);
            let gone: Vec<u64> = inner.msgs.range(seq + 1..).map(|(&s, _)| s).collect();
            for s in gone {
                if let Some(sm) = inner.msgs.get(&s) {
                    purged += 1;
                    bytes += mem_store_msg_size(&sm.subject, &sm.hdr, &sm.msg);
                    let subject = sm.subject.clone();
                    inner.remove_seq_per_subject(&subject, s);
                    inner.msgs.remove(&s);
                }
            }
            if !inner.dmap.is_empty() {
                let stale: Vec<u64> = inner.dmap.iter().filter(|&d| d > seq).collect();
                for d in stale {
                    inner.dmap.delete(d);
                }
            }
            inner.state.last_seq = seq;
            inner.state.last_time = last_time;
            purged = purged.min(inner.state.msgs);
            inner.state.msgs -= purged;
            bytes = bytes.min(inner.state.bytes);
            inner.state.bytes -= bytes;
            inner.effects.push(Effect::Update(
                -(purged as i64),
                -(bytes as i64),
                0,
                String::new(),
            ));
            Ok(())
        })
    }

    fn get_seq_from_time(&self, ts: i64) -> u64 {
        self.lock().seq_from_time(ts)
    }

    fn filtered_state(&self, seq: u64, subject: &str) -> Result<SimpleState, StoreError> {
        Ok(self.lock().filtered_state(seq, subject, false))
    }

    fn subjects_state(&self, filter: &str) -> HashMap<String, SimpleState> {
        self.lock().subjects_state(filter)
    }

    fn subjects_totals(&self, filter: &str) -> HashMap<String, u64> {
        self.lock().subjects_totals(filter)
    }

    fn all_last_seqs(&self) -> Result<Vec<u64>, StoreError> {
        Ok(self.lock().all_last_seqs())
    }

    fn multi_last_seqs(
        &self,
        filters: &[String],
        max_seq: u64,
        max_allowed: usize,
    ) -> Result<Vec<u64>, StoreError> {
        self.lock().multi_last_seqs(filters, max_seq, max_allowed)
    }

    fn subject_for_seq(&self, seq: u64) -> Result<String, StoreError> {
        let inner = self.lock();
        if seq < inner.state.first_seq {
            return Err(StoreError::MsgNotFound);
        }
        inner
            .msgs
            .get(&seq)
            .map(|sm| sm.subject.clone())
            .ok_or(StoreError::MsgNotFound)
    }

    fn num_pending(
        &self,
        sseq: u64,
        filter: &str,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError> {
        let mut inner = self.lock();
        let ss = inner.filtered_state(sseq, filter, last_per_subject);
        Ok((ss.msgs, inner.state.last_seq))
    }

    fn num_pending_multi(
        &self,
        sseq: u64,
        filters: &SubjectFilters,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError> {
        let mut inner = self.lock();
        let ss = inner.filtered_state_set(sseq, last_per_subject, filters);
        Ok((ss.msgs, inner.state.last_seq))
    }

    fn state(&self) -> StreamState {
        let mut inner = self.lock();
        let c = inner.state;
        let mut state = StreamState {
            msgs: c.msgs,
            bytes: c.bytes,
            first_seq: c.first_seq,
            first_time: c.first_time,
            last_seq: c.last_seq,
            last_time: c.last_time,
            num_subjects: inner.fss.len(),
            consumers: self.consumers.load(Ordering::SeqCst),
            ..Default::default()
        };
        let span = i128::from(c.last_seq) - i128::from(c.first_seq) + 1;
        if span - i128::from(c.msgs) > 0 {
            let (fseq, lseq) = (c.first_seq, c.last_seq);
            let mut out_of_range = Vec::new();
            for seq in inner.dmap.iter() {
                if seq < fseq || seq > lseq {
                    out_of_range.push(seq);
                } else {
                    state.deleted.push(seq);
                }
            }
            for seq in out_of_range {
                inner.dmap.delete(seq);
            }
        }
        state.num_deleted = state.deleted.len();
        state
    }

    fn fast_state(&self) -> StreamState {
        let inner = self.lock();
        let c = inner.state;
        let mut state = StreamState {
            msgs: c.msgs,
            bytes: c.bytes,
            first_seq: c.first_seq,
            first_time: c.first_time,
            last_seq: c.last_seq,
            last_time: c.last_time,
            num_subjects: inner.fss.len(),
            consumers: self.consumers.load(Ordering::SeqCst),
            ..Default::default()
        };
        if c.last_seq > c.first_seq {
            let span = c.last_seq - c.first_seq + 1;
            state.num_deleted = span.saturating_sub(c.msgs) as usize;
        }
        state
    }

    fn encoded_stream_state(&self, failed: u64) -> Result<Vec<u8>, StoreError> {
        let inner = self.lock();
        let c = inner.state;
        let span = i128::from(c.last_seq) - i128::from(c.first_seq) + 1;
        let num_deleted = u64::try_from((span - i128::from(c.msgs)).max(0)).unwrap_or(0);
        let mut b = Vec::with_capacity(HDR_LEN + 60 + inner.dmap.encode_len());
        b.push(STREAM_STATE_MAGIC);
        b.push(STREAM_STATE_VERSION);
        for v in [
            c.msgs,
            c.bytes,
            c.first_seq,
            c.last_seq,
            failed,
            num_deleted,
        ] {
            put_uvarint(&mut b, v);
        }
        if num_deleted > 0 {
            inner.dmap.encode_into(&mut b);
        }
        Ok(b)
    }

    fn sync_deleted(&self, dbs: &[Box<dyn DeleteBlock>]) -> Result<(), StoreError> {
        if dbs.is_empty() {
            return Ok(());
        }
        self.locked(|inner| {
            if dbs.len() == 1 && dbs[0].state() == inner.dmap.state() {
                return;
            }
            let lseq = inner.state.last_seq;
            for db in dbs {
                if db.state().0 > lseq {
                    continue;
                }
                let mut seqs = Vec::new();
                db.range(&mut |seq| {
                    seqs.push(seq);
                    true
                });
                for seq in seqs {
                    inner.remove_msg(seq, false);
                }
            }
        });
        Ok(())
    }

    fn storage_type(&self) -> StorageType {
        StorageType::Memory
    }

    fn register_storage_updates(&self, cb: StorageUpdateHandler) {
        self.lock().scb = Some(cb);
    }

    fn register_storage_remove_msg(&self, cb: StorageRemoveMsgHandler) {
        self.lock().rmcb = Some(cb);
    }

    fn register_process_jetstream_msg(&self, cb: ProcessJetStreamMsgHandler) {
        self.lock().pmsgcb = Some(cb);
    }

    fn update_config(&self, cfg: &mut StreamConfig) -> Result<(), StoreError> {
        check_memory_config(cfg)?;
        if cfg.max_msgs_per_subject < -1 {
            cfg.max_msgs_per_subject = -1;
        }
        let expire = cfg.max_age > Duration::ZERO || cfg.allow_msg_ttl;
        self.locked(|inner| {
            inner.cfg = cfg.clone();
            if cfg.allow_msg_ttl && inner.ttls.is_none() {
                inner.recover_ttl_state();
            } else if !cfg.allow_msg_ttl {
                inner.ttls = None;
            }
            inner.enforce_msg_limit();
            inner.enforce_bytes_limit();
            let old_maxp = inner.maxp;
            inner.maxp = cfg.max_msgs_per_subject;
            // A new or lower per-subject limit applies to what is stored.
            if inner.maxp > 0 && (old_maxp <= 0 || inner.maxp < old_maxp) {
                let limit = inner.maxp as u64;
                let mut over: Vec<String> = Vec::new();
                inner.fss.iter_fast(|subject, ss| {
                    if ss.msgs > limit {
                        over.push(String::from_utf8_lossy(subject).into_owned());
                    }
                    true
                });
                for subject in over {
                    inner.enforce_per_subject_limit(&subject);
                }
            }
        });
        if expire {
            self.expire_msgs();
        }
        Ok(())
    }

    fn delete(&self, _inline: bool) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&self) -> Result<(), StoreError> {
        {
            let mut inner = self.lock();
            if inner.closed {
                return Ok(());
            }
            inner.closed = true;
        }
        // Stopped memory cannot come back: stop is delete.
        self.purge_to(0)?;
        Ok(())
    }

    fn consumer_store(
        &self,
        name: &str,
        _created: i64,
        cfg: &ConsumerConfig,
    ) -> Result<Arc<dyn ConsumerStore>, StoreError> {
        if self.lock().closed {
            return Err(StoreError::Closed);
        }
        if name.is_empty() {
            return Err(StoreError::Other("bad consumer config".to_string()));
        }
        self.consumers.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(ConsumerMemStore::new(
            cfg.clone(),
            self.consumers.clone(),
            self.clock.clone(),
        )))
    }

    fn snapshot(
        &self,
        _deadline: Duration,
        _include_consumers: bool,
        _check_msgs: bool,
    ) -> Result<SnapshotResult, StoreError> {
        Err(StoreError::Other("no impl".to_string()))
    }

    fn utilization(&self) -> Result<(u64, u64), StoreError> {
        let bytes = self.lock().state.bytes;
        Ok((bytes, bytes))
    }

    fn reset_state(&self) {}

    fn next_expiration(&self) -> Option<i64> {
        let inner = self.lock();
        let max_age = i64::try_from(inner.cfg.max_age.as_nanos()).unwrap_or(i64::MAX);
        let by_age = if max_age > 0 {
            inner
                .msgs
                .values()
                .find(|sm| sm.hdr.is_empty() || !matches!(message_ttl(&sm.hdr), Ok(t) if t < 0))
                .map(|sm| sm.ts.saturating_add(max_age))
        } else {
            None
        };
        let by_ttl = inner.ttls.as_ref().and_then(TtlIndex::next_expiration);
        match (by_age, by_ttl) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        }
    }

    fn expire_msgs(&self) {
        let (max_age, sdm_ttl, handlers_ready) = {
            let inner = self.lock();
            let max_age = i64::try_from(inner.cfg.max_age.as_nanos()).unwrap_or(i64::MAX);
            let sdm_ttl = inner.cfg.subject_delete_marker_ttl.as_secs() as i64;
            (
                max_age,
                sdm_ttl,
                inner.rmcb.is_some() && inner.pmsgcb.is_some(),
            )
        };
        let sdm_enabled = sdm_ttl > 0;
        // Markers need the stream layer's handlers; until registered, try again later.
        if sdm_enabled && !handlers_ready {
            return;
        }
        if max_age > 0 {
            self.expire_by_age(max_age, sdm_ttl);
        }
        let now = self.now();
        let due: Vec<(i64, u64)> = {
            let inner = self.lock();
            inner.ttls.as_ref().map_or_else(Vec::new, |t| t.due(now))
        };
        if !sdm_enabled {
            self.locked(|inner| {
                for &(_, seq) in &due {
                    inner.remove_msg(seq, false);
                    // Due and handled, whether or not the message was still there.
                    if let Some(ttls) = &mut inner.ttls {
                        ttls.remove(seq);
                    }
                }
            });
            return;
        }
        let mut due = due;
        due.sort_by_key(|&(_, seq)| seq);
        for (_, seq) in due {
            let sm = {
                let mut inner = self.lock();
                match inner.msgs.get(&seq) {
                    Some(sm) => Some(sm.clone()),
                    None => {
                        if let Some(ttls) = &mut inner.ttls {
                            ttls.remove(seq);
                        }
                        None
                    }
                }
            };
            if let Some(sm) = sm {
                self.process_sdm(seq, &sm, sdm_ttl);
            }
        }
    }
}
