//! [`Store`] for [`FileStore`]: stream semantics (limits, filters, state) over the core.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{FileStore, Locked};
use crate::store::{
    encode_stream_state, header_value, subject_has_wildcard, subject_matches, ConsumerConfig,
    ConsumerStore, DeleteBlock, DeleteRange, DiscardPolicy, InMsg, ProcessJetStreamMsgHandler,
    ScanResult, SimpleState, SnapshotResult, StorageRemoveMsgHandler, StorageType,
    StorageUpdateHandler, Store, StoreError, StoreMsg, StreamConfig, StreamState, JS_MARKER_REASON,
    JS_MARKER_REASON_MAX_AGE, JS_MESSAGE_TTL, JS_MSG_ROLLUP,
};
use crate::store::{format_go_duration_secs, is_subject_delete_marker, JS_MSG_ROLLUP_SUBJECT};

/// A storage-update event collected under the lock and delivered after it.
type Update = (i64, i64, u64, String);

/// A message stored by [`FileStore::store_msg_pipelined`] that may not be durable yet.
#[must_use = "a pipelined message is acknowledged only after wait_durable_for"]
#[derive(Debug)]
pub struct PendingDurable {
    /// The group-commit ticket of its record.
    ticket: u64,
    /// Storage-update events, delivered once it is durable.
    updates: Vec<Update>,
}

fn matches(filter: &str, wc: bool, subject: &str) -> bool {
    if filter.is_empty() || filter == ">" {
        return true;
    }
    if wc {
        subject_matches(subject, filter)
    } else {
        subject == filter
    }
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl FileStore {
    fn notify(&self, updates: Vec<Update>) {
        if updates.is_empty() {
            return;
        }
        let cb = self
            .shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .update
            .clone();
        if let Some(cb) = cb {
            for (msgs, bytes, seq, subject) in updates {
                cb(msgs, bytes, seq, &subject);
            }
        }
    }

    fn open_lock(&self) -> Result<std::sync::MutexGuard<'_, Locked>, StoreError> {
        let locked = self.lock();
        if locked.closed {
            return Err(StoreError::Closed);
        }
        Ok(locked)
    }

    /// Removes one message under the lock and records the update.
    fn remove_locked(
        &self,
        locked: &mut Locked,
        seq: u64,
        erase: bool,
        via_limits: bool,
        updates: &mut Vec<Update>,
    ) -> Result<bool, StoreError> {
        let now = self.shared.clock.now_ns();
        let commit = &self.shared.commit;
        let removed = locked
            .core
            .remove(seq, erase, via_limits, now, &|t| commit.mark_synced(t))?;
        Ok(match removed {
            Some((subject, len)) => {
                updates.push((-1, -(len as i64), seq, subject.to_string()));
                true
            }
            None => false,
        })
    }

    /// Removes many messages under the lock and records the updates.
    fn remove_bulk_locked(
        &self,
        locked: &mut Locked,
        seqs: &[u64],
        via_limits: bool,
        updates: &mut Vec<Update>,
    ) -> Result<u64, StoreError> {
        self.remove_bulk_with_locked(locked, seqs, via_limits, false, updates)
    }

    /// [`FileStore::remove_bulk_locked`]; with `rewrite`, blocks are rewritten without the
    /// messages instead of given tombstones (see [`super::core::Core::remove_bulk_with`]).
    fn remove_bulk_with_locked(
        &self,
        locked: &mut Locked,
        seqs: &[u64],
        via_limits: bool,
        rewrite: bool,
        updates: &mut Vec<Update>,
    ) -> Result<u64, StoreError> {
        let now = self.shared.clock.now_ns();
        let commit = &self.shared.commit;
        let removed = locked
            .core
            .remove_bulk_with(seqs, via_limits, rewrite, now, &|t| commit.mark_synced(t))?;
        let n = removed.len() as u64;
        for (seq, subject, len) in removed {
            updates.push((-1, -(len as i64), seq, subject.to_string()));
        }
        Ok(n)
    }

    /// Removes what the leader's delete blocks `dbs` (ascending) name and this store still
    /// holds. Blocks this store already has exactly are skipped without looking at their
    /// sequences (Go's `SyncDeleted`). Go removes these as limits do, without tombstones,
    /// so a crash can bring them back; here each block that loses messages is rewritten
    /// without them (or deleted), so the removal is durable and, as in Go, leaves no
    /// tombstones behind.
    fn sync_deleted_locked(
        &self,
        locked: &mut Locked,
        dbs: &[Box<dyn DeleteBlock>],
        updates: &mut Vec<Update>,
    ) -> Result<(), StoreError> {
        let local = locked.core.delete_blocks();
        let mut rest: &[super::BlockDeletes] = &local;
        for db in dbs {
            let (first, last, num) = db.state();
            if first > locked.core.last_seq {
                continue;
            }
            let (pruned, next) = crate::store::prune_delete_block(db.as_ref(), rest);
            rest = next;
            if pruned {
                continue;
            }
            let core = &locked.core;
            let seqs: Vec<u64> = if num == last - first + 1 {
                // Dense: only the live messages in the range, however long it is.
                core.live_seqs_from(first)
                    .take_while(|&s| s <= last)
                    .collect()
            } else {
                let mut seqs = Vec::new();
                db.range(&mut |s| {
                    if core.is_live(s) {
                        seqs.push(s);
                    }
                    true
                });
                seqs
            };
            self.remove_bulk_with_locked(locked, &seqs, false, true, updates)?;
        }
        Ok(())
    }

    /// Enforces max msgs / bytes / per-subject after a change (discard old).
    fn enforce_limits_locked(
        &self,
        locked: &mut Locked,
        updates: &mut Vec<Update>,
    ) -> Result<(), StoreError> {
        // Discard new refuses at store time instead; a message stored without that check
        // (a follower's) never pushes older ones out (Go: only discard old enforces).
        if locked.cfg.discard != DiscardPolicy::Old {
            return Ok(());
        }
        let max_msgs = locked.cfg.max_msgs;
        let max_bytes = locked.cfg.max_bytes;
        while max_msgs > 0 && locked.core.msgs > max_msgs as u64 {
            let first = locked.core.first_seq;
            if !self.remove_locked(locked, first, false, true, updates)? {
                break;
            }
        }
        while max_bytes > 0 && locked.core.bytes > max_bytes as u64 {
            let first = locked.core.first_seq;
            if !self.remove_locked(locked, first, false, true, updates)? {
                break;
            }
        }
        Ok(())
    }

    fn enforce_per_subject_locked(
        &self,
        locked: &mut Locked,
        subject: &str,
        updates: &mut Vec<Update>,
    ) -> Result<(), StoreError> {
        let max = locked.cfg.max_msgs_per_subject;
        if max <= 0 {
            return Ok(());
        }
        while let Some(info) = locked.core.subjects.get(subject) {
            if info.msgs <= max as u64 {
                break;
            }
            if !self.remove_locked(locked, info.first, false, true, updates)? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn enforce_all_limits(&self) -> Result<(), StoreError> {
        let mut updates = Vec::new();
        {
            let mut locked = self.lock();
            let locked = &mut *locked;
            if locked.cfg.max_msgs_per_subject > 0 {
                let mut subjects = Vec::new();
                locked
                    .core
                    .subjects
                    .for_each(|s, _| subjects.push(s.clone()));
                for s in subjects {
                    self.enforce_per_subject_locked(locked, &s, &mut updates)?;
                }
            }
            self.enforce_limits_locked(locked, &mut updates)?;
        }
        self.notify(updates);
        Ok(())
    }

    fn load_filtered(&self, start: u64, forward: bool, pred: impl Fn(&str) -> bool) -> ScanResult {
        let locked = self.open_lock().map_err(|e| (e, 0))?;
        let core = &locked.core;
        if forward {
            let start = start.max(core.first_seq);
            if start > core.last_seq || core.msgs == 0 {
                return Err((StoreError::Eof, core.last_seq));
            }
            let found = core
                .live_seqs_from(start)
                .find(|&s| core.subject_of(s).is_some_and(|sub| pred(sub)));
            match found {
                Some(seq) => core.load(seq).map(|m| (m, seq)).map_err(|e| (e, seq)),
                None => Err((StoreError::Eof, core.last_seq)),
            }
        } else {
            // Go reports the first sequence as where a backwards walk ended.
            if start < core.first_seq || core.msgs == 0 {
                return Err((StoreError::Eof, core.first_seq));
            }
            let start = start.min(core.last_seq);
            let found = core
                .live_seqs_back_from(start)
                .find(|&s| core.subject_of(s).is_some_and(|sub| pred(sub)));
            match found {
                Some(seq) => core.load(seq).map(|m| (m, seq)).map_err(|e| (e, seq)),
                None => Err((StoreError::Eof, core.first_seq)),
            }
        }
    }

    fn state_locked(locked: &Locked, with_deleted: bool) -> StreamState {
        let core = &locked.core;
        let mut state = StreamState {
            msgs: core.msgs,
            bytes: core.bytes,
            first_seq: core.first_seq,
            first_time: core.first_ts(),
            last_seq: core.last_seq,
            last_time: core.last_ts,
            num_subjects: core.subjects.len(),
            ..StreamState::default()
        };
        if core.msgs > 0 {
            let span = core.last_seq - core.first_seq + 1;
            state.num_deleted = (span - core.msgs) as usize;
            if with_deleted && state.num_deleted > 0 {
                state.deleted = core.deleted();
            }
        }
        if !core.report.lost.msgs.is_empty() || core.report.lost.bytes > 0 {
            state.lost = Some(core.report.lost.clone());
        }
        state
    }

    fn filtered_locked(locked: &Locked, seq: u64, filter: &str) -> SimpleState {
        let core = &locked.core;
        let wc = subject_has_wildcard(filter);
        let mut ss = SimpleState::default();
        let is_all = filter.is_empty() || filter == ">";
        if is_all && seq <= core.first_seq {
            // Like Go: the stream's bounds, even when it holds nothing.
            return SimpleState {
                msgs: core.msgs,
                first: core.first_seq,
                last: core.last_seq,
            };
        }
        if seq > core.last_seq {
            return ss;
        }
        if seq <= core.first_seq {
            core.subjects.for_each_match(filter, |_, info| {
                ss.msgs += info.msgs;
                if ss.first == 0 || info.first < ss.first {
                    ss.first = info.first;
                }
                ss.last = ss.last.max(info.last);
            });
            return ss;
        }
        for s in core.live_seqs_from(seq) {
            if core
                .subject_of(s)
                .is_some_and(|sub| matches(filter, wc, sub))
            {
                ss.msgs += 1;
                if ss.first == 0 {
                    ss.first = s;
                }
                ss.last = s;
            }
        }
        ss
    }

    /// Last sequence at or below `max_seq` with this subject.
    fn last_for_subject_locked(locked: &Locked, subject: &str, max_seq: u64) -> Option<u64> {
        let core = &locked.core;
        let info = core.subjects.get(subject)?;
        if max_seq == 0 || max_seq >= info.last {
            return Some(info.last);
        }
        if max_seq < info.first {
            return None;
        }
        core.live_seqs_back_from(max_seq)
            .take_while(|&s| s >= info.first)
            .find(|&s| core.subject_of(s).is_some_and(|sub| &**sub == subject))
    }

    #[allow(clippy::too_many_arguments)]
    fn store_locked(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        seq: u64,
        ts: Option<i64>,
        ttl: i64,
        discard_new_check: bool,
    ) -> Result<(u64, i64), StoreError> {
        let (seq, ts, pending) =
            self.store_unsynced(subject, hdr, msg, seq, ts, ttl, discard_new_check)?;
        self.wait_durable_for(pending)?;
        Ok((seq, ts))
    }

    /// Stores a message like [`Store::store_msg`] but returns before its record is synced:
    /// the caller acknowledges it only after [`FileStore::wait_durable_for`]. Many
    /// messages stored this way and then waited for share one sync (the server pipelines
    /// publishes so, keeping durable throughput near the unsynced path). Listeners hear of
    /// the message when it is durable.
    pub fn store_msg_pipelined(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        ttl: i64,
    ) -> Result<(u64, i64, PendingDurable), StoreError> {
        self.store_unsynced(subject, hdr, msg, 0, None, ttl, true)
    }

    /// Returns once the message of `pending` (and every one stored before it) is on
    /// stable storage; a no-op with `sync_interval`.
    pub fn wait_durable_for(&self, pending: PendingDurable) -> Result<(), StoreError> {
        self.wait_durable(pending.ticket)?;
        self.notify(pending.updates);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn store_unsynced(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        seq: u64,
        ts: Option<i64>,
        ttl: i64,
        discard_new_check: bool,
    ) -> Result<(u64, i64, PendingDurable), StoreError> {
        let mut updates = Vec::new();
        let ticket;
        let (seq, ts) = {
            let mut guard = self.open_lock()?;
            let locked = &mut *guard;
            let len = super::record::record_len(subject.len(), hdr.len(), msg.len()) as u64;
            let cfg = &locked.cfg;
            let info = locked.core.subjects.get(subject);
            let at_subject_limit = cfg.max_msgs_per_subject > 0
                && info.is_some_and(|i| i.msgs >= cfg.max_msgs_per_subject as u64);
            if discard_new_check && cfg.discard == DiscardPolicy::New {
                let rollup = header_value(hdr, JS_MSG_ROLLUP).is_some();
                if at_subject_limit && cfg.discard_new_per_subject && !rollup {
                    return Err(StoreError::MaxMsgsPerSubject);
                }
                if cfg.max_msgs > 0 && locked.core.msgs >= cfg.max_msgs as u64 && !at_subject_limit
                {
                    return Err(StoreError::MaxMsgs);
                }
                if cfg.max_bytes > 0 && locked.core.bytes + len > cfg.max_bytes as u64 {
                    if !at_subject_limit {
                        return Err(StoreError::MaxBytes);
                    }
                    let first = info.map_or(0, |i| i.first);
                    let first_len = locked
                        .core
                        .block_of(first)
                        .and_then(|bi| locked.core.blocks[bi].slot(first))
                        .map_or(0, |s| u64::from(s.len));
                    if first_len < len {
                        return Err(StoreError::MaxBytes);
                    }
                }
            }
            let seq = if seq != locked.core.last_seq + 1 {
                if seq > 0 {
                    return Err(StoreError::SequenceMismatch);
                }
                locked.core.last_seq + 1
            } else {
                seq
            };
            let ts = ts.unwrap_or_else(|| self.shared.clock.now_ns());
            let ttl = if locked.cfg.allow_msg_ttl { ttl } else { 0 };
            let commit = &self.shared.commit;
            locked
                .core
                .append_msg(seq, ts, subject, hdr, msg, ttl, &|t| commit.mark_synced(t))?;
            ticket = locked.core.written;
            if let Some(sched) = &mut locked.core.schedules {
                sched.track(subject, hdr, seq, ts, self.shared.clock.now_ns());
            }
            updates.push((1, len as i64, seq, subject.to_string()));
            self.enforce_per_subject_locked(locked, subject, &mut updates)?;
            self.enforce_limits_locked(locked, &mut updates)?;
            (seq, ts)
        };
        Ok((seq, ts, PendingDurable { ticket, updates }))
    }

    /// Uses up `num` sequences from `seq`. The skip keeps the stream's last time when one
    /// is set, so that time lookups still resolve to the last real message; with
    /// `no_interest` (or no last time yet) it takes the current time, as in Go.
    fn skip_locked(&self, seq: u64, num: u64, no_interest: bool) -> Result<u64, StoreError> {
        let ticket;
        let last = {
            let mut guard = self.open_lock()?;
            let locked = &mut *guard;
            let next = locked.core.last_seq + 1;
            let first = if seq != next {
                if seq > 0 {
                    return Err(StoreError::SequenceMismatch);
                }
                next
            } else {
                seq
            };
            let last = first + num.max(1) - 1;
            let ts = if no_interest || locked.core.last_ts == 0 {
                self.shared.clock.now_ns()
            } else {
                locked.core.last_ts
            };
            let commit = &self.shared.commit;
            locked.core.skip(last, ts, &|t| commit.mark_synced(t))?;
            ticket = locked.core.written;
            last
        };
        self.wait_durable(ticket)?;
        Ok(last)
    }

    /// Removes messages below `seq` (Go's Compact).
    fn compact_locked(&self, seq: u64) -> Result<u64, StoreError> {
        if seq == 0 {
            return self.purge();
        }
        let mut updates = Vec::new();
        let purged = {
            let mut guard = self.open_lock()?;
            let locked = &mut *guard;
            let commit = &self.shared.commit;
            let synced = |t| commit.mark_synced(t);
            if seq > locked.core.last_seq + 1 || locked.core.last_live().is_none_or(|l| l < seq) {
                let (msgs, bytes) = (locked.core.msgs, locked.core.bytes);
                let next_first = seq.max(locked.core.last_seq + 1);
                let purged = locked.core.reset_to(next_first, &synced)?;
                if seq > locked.core.last_seq + 1 {
                    // Nothing at or past seq: the stream continues from seq.
                }
                if msgs > 0 {
                    updates.push((-(msgs as i64), -(bytes as i64), 0, String::new()));
                }
                purged
            } else {
                let doomed: Vec<u64> = locked
                    .core
                    .live_seqs_from(0)
                    .take_while(|&s| s < seq)
                    .collect();
                let purged = self.remove_bulk_locked(locked, &doomed, false, &mut updates)?;
                if locked.core.first_seq < seq {
                    locked.core.first_seq = locked
                        .core
                        .next_live_from(seq)
                        .unwrap_or(locked.core.last_seq + 1);
                }
                purged
            }
        };
        let (msgs, bytes) = updates.iter().fold((0, 0), |(m, b), u| (m + u.0, b + u.1));
        if !updates.is_empty() {
            self.notify(vec![(msgs, bytes, 0, String::new())]);
        }
        Ok(purged)
    }

    /// Age expiry when the store opens (Go's `expireMsgsOnRecover`): what aged out while
    /// the store was closed is gone before anyone reads it. Not with subject delete
    /// markers, which the stream layer must propose (Go skips them too).
    pub(super) fn expire_on_open(&self) -> Result<(), StoreError> {
        let mut updates = Vec::new();
        {
            let mut guard = self.lock();
            let locked = &mut *guard;
            let max_age = duration_ns(locked.cfg.max_age);
            if max_age <= 0 || !locked.cfg.subject_delete_marker_ttl.is_zero() {
                return Ok(());
            }
            let expired = locked.core.aged_out(self.shared.clock.now_ns() - max_age);
            self.remove_bulk_locked(locked, &expired, true, &mut updates)?;
        }
        self.notify(updates);
        Ok(())
    }

    /// Age and TTL expiry due at `now`.
    fn expire_locked(&self, locked: &mut Locked, now: i64, updates: &mut Vec<Update>) {
        let max_age = duration_ns(locked.cfg.max_age);
        let aged = if max_age > 0 {
            locked.core.aged_out(now - max_age)
        } else {
            Vec::new()
        };
        let due: Vec<u64> = locked
            .core
            .ttls
            .iter()
            .take_while(|&&(at, _)| at <= now)
            .map(|&(_, s)| s)
            .collect();
        let marker_ttl = locked.cfg.subject_delete_marker_ttl;
        if marker_ttl.is_zero() {
            let _ = self.remove_bulk_locked(locked, &aged, true, updates);
            // A TTL removal writes a tombstone (Go: not a limits removal), so the message
            // does not come back after a restart that lost the caller-given TTLs.
            for s in due {
                let _ = self.remove_locked(locked, s, false, false, updates);
            }
            return;
        }
        // With subject delete markers (Go's expireMsgs with handleRemovalOrSdm), what
        // expires goes in sequence order, except the last message of a subject: the
        // stream stores a marker in its place, whose subject rollup removes it. A marker
        // itself just goes.
        let mut candidates = aged;
        candidates.extend(due);
        candidates.sort_unstable();
        candidates.dedup();
        let mut markers = Vec::new();
        for seq in candidates {
            let Some(subject) = locked.core.subject_of(seq).cloned() else {
                continue;
            };
            let left = locked.core.subjects.get(&subject).map_or(0, |i| i.msgs);
            let is_marker = locked
                .core
                .load(seq)
                .is_ok_and(|sm| is_subject_delete_marker(&sm.hdr));
            if left == 1 && !is_marker {
                markers.push(subject.to_string());
            } else {
                let _ = self.remove_locked(locked, seq, false, false, updates);
            }
        }
        if markers.is_empty() {
            return;
        }
        let cb = self
            .shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .process
            .clone();
        let Some(cb) = cb else {
            return;
        };
        let hdr = format!(
            "NATS/1.0\r\n{JS_MARKER_REASON}: {JS_MARKER_REASON_MAX_AGE}\r\n{JS_MESSAGE_TTL}: {}\r\n{JS_MSG_ROLLUP}: {JS_MSG_ROLLUP_SUBJECT}\r\n\r\n",
            format_go_duration_secs(marker_ttl.as_secs() as i64)
        );
        for subject in markers {
            cb(InMsg {
                subject,
                hdr: hdr.clone().into_bytes().into(),
                msg: Default::default(),
            });
        }
    }
}

/// Indexes the TTLs of the stored messages from their headers (Go's `recoverTTLState`
/// when TTLs are turned on): what was stored while they were off expires as it says.
fn recover_ttls(core: &mut super::core::Core) {
    let seqs: Vec<u64> = core.live_seqs_from(0).collect();
    for seq in seqs {
        let Ok(sm) = core.load(seq) else { continue };
        if sm.hdr.is_empty() {
            continue;
        }
        match crate::store::message_ttl(&sm.hdr) {
            Ok(ttl) if ttl > 0 => core
                .ttls
                .insert((sm.ts + ttl * crate::store::NANOS_PER_SEC, seq)),
            Ok(ttl) if ttl < 0 => core.ttls.insert_never(seq),
            _ => {}
        }
    }
}

impl Store for FileStore {
    fn store_msg(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        ttl: i64,
    ) -> Result<(u64, i64), StoreError> {
        self.store_locked(subject, hdr, msg, 0, None, ttl, true)
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
        self.store_locked(subject, hdr, msg, seq, Some(ts), ttl, discard_new_check)
            .map(|_| ())
    }

    fn skip_msg(&self, seq: u64) -> Result<u64, StoreError> {
        self.skip_locked(seq, 1, false)
    }

    fn skip_msg_no_interest(&self, seq: u64) -> Result<u64, StoreError> {
        self.skip_locked(seq, 1, true)
    }

    fn skip_msgs(&self, seq: u64, num: u64) -> Result<(), StoreError> {
        if num == 0 {
            return Ok(());
        }
        self.skip_locked(seq, num, false).map(|_| ())
    }

    fn flush_all_pending(&self) -> Result<(), StoreError> {
        self.sync_now()
    }

    fn load_msg(&self, seq: u64) -> Result<StoreMsg, StoreError> {
        let locked = self.open_lock()?;
        if seq < locked.core.first_seq && seq <= locked.core.last_seq {
            return Err(StoreError::MsgNotFound);
        }
        locked.core.load(seq)
    }

    fn load_next_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult {
        self.load_filtered(start, true, |s| matches(filter, wc, s))
    }

    fn load_next_msg_multi(
        &self,
        filters: &crate::store::SubjectFilters,
        start: u64,
    ) -> ScanResult {
        self.load_filtered(start, true, |s| filters.has_interest(s))
    }

    fn load_last_msg(&self, subject: &str) -> Result<StoreMsg, StoreError> {
        let locked = self.open_lock()?;
        let core = &locked.core;
        let seq = if subject.is_empty() || subject == ">" {
            core.last_live()
        } else if subject_has_wildcard(subject) {
            let mut last = None;
            core.subjects.for_each_match(subject, |_, i| {
                last = last.max(Some(i.last));
            });
            last
        } else {
            core.subjects.get(subject).map(|i| i.last)
        };
        core.load(seq.ok_or(StoreError::MsgNotFound)?)
    }

    fn load_prev_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult {
        self.load_filtered(start, false, |s| matches(filter, wc, s))
    }

    fn load_prev_msg_multi(
        &self,
        filters: &crate::store::SubjectFilters,
        start: u64,
    ) -> ScanResult {
        self.load_filtered(start, false, |s| filters.has_interest(s))
    }

    fn remove_msg(&self, seq: u64) -> Result<bool, StoreError> {
        let mut updates = Vec::new();
        let removed = {
            let mut guard = self.open_lock()?;
            self.remove_locked(&mut guard, seq, false, false, &mut updates)?
        };
        self.notify(updates);
        Ok(removed)
    }

    fn erase_msg(&self, seq: u64) -> Result<bool, StoreError> {
        let mut updates = Vec::new();
        let removed = {
            let mut guard = self.open_lock()?;
            self.remove_locked(&mut guard, seq, true, false, &mut updates)?
        };
        self.notify(updates);
        Ok(removed)
    }

    fn purge(&self) -> Result<u64, StoreError> {
        let (purged, bytes) = {
            let mut guard = self.open_lock()?;
            let bytes = guard.core.bytes;
            let next = guard.core.last_seq + 1;
            let commit = &self.shared.commit;
            let purged = guard.core.reset_to(next, &|t| commit.mark_synced(t))?;
            (purged, bytes)
        };
        if purged > 0 {
            self.notify(vec![(-(purged as i64), -(bytes as i64), 0, String::new())]);
        }
        Ok(purged)
    }

    fn purge_ex(&self, subject: &str, seq: u64, keep: u64) -> Result<u64, StoreError> {
        if seq == 1 {
            return Ok(0);
        }
        let mut subject = subject;
        if subject.is_empty() || subject == ">" {
            if keep == 0 && seq == 0 {
                return self.purge();
            }
            if seq > 1 {
                return self.compact_locked(seq);
            }
            subject = ">";
        }
        let mut updates = Vec::new();
        let purged = {
            let mut guard = self.open_lock()?;
            let locked = &mut *guard;
            let ss = Self::filtered_locked(locked, 0, subject);
            if ss.msgs == 0 {
                return Ok(0);
            }
            let mut max_purge = 0;
            if keep > 0 {
                if keep >= ss.msgs {
                    return Ok(0);
                }
                max_purge = ss.msgs - keep;
            }
            let last = if seq >= 1 { seq - 1 } else { ss.last };
            let wc = subject_has_wildcard(subject);
            let candidates: Vec<u64> = locked
                .core
                .live_seqs_from(ss.first)
                .take_while(|&s| s <= last)
                .filter(|&s| {
                    locked
                        .core
                        .subject_of(s)
                        .is_some_and(|sub| matches(subject, wc, sub))
                })
                .collect();
            let mut candidates = candidates;
            if max_purge > 0 {
                candidates.truncate(max_purge as usize);
            }
            self.remove_bulk_locked(locked, &candidates, false, &mut updates)?
        };
        let (msgs, bytes) = updates.iter().fold((0, 0), |(m, b), u| (m + u.0, b + u.1));
        if purged > 0 {
            self.notify(vec![(msgs, bytes, 0, String::new())]);
        }
        Ok(purged)
    }

    fn compact(&self, seq: u64) -> Result<u64, StoreError> {
        self.compact_locked(seq)
    }

    fn truncate(&self, seq: u64) -> Result<(), StoreError> {
        let (msgs, bytes) = {
            let mut guard = self.open_lock()?;
            let (m, b) = (guard.core.msgs, guard.core.bytes);
            let commit = &self.shared.commit;
            if seq == 0 {
                guard.core.reset_all(&|t| commit.mark_synced(t))?;
            } else {
                guard.core.truncate_above(seq, &|t| commit.mark_synced(t))?;
            }
            (m - guard.core.msgs, b - guard.core.bytes)
        };
        if msgs > 0 {
            self.notify(vec![(-(msgs as i64), -(bytes as i64), 0, String::new())]);
        }
        Ok(())
    }

    fn get_seq_from_time(&self, ts: i64) -> u64 {
        let locked = self.lock();
        let core = &locked.core;
        let found = core
            .live_seqs_from(core.first_seq)
            .find(|&s| core.ts_of(s).is_some_and(|t| t >= ts));
        found.unwrap_or(core.last_seq + 1)
    }

    fn filtered_state(&self, seq: u64, subject: &str) -> Result<SimpleState, StoreError> {
        let locked = self.open_lock()?;
        Ok(Self::filtered_locked(&locked, seq, subject))
    }

    fn subjects_state(&self, filter: &str) -> HashMap<String, SimpleState> {
        let locked = self.lock();
        let mut out = HashMap::new();
        locked.core.subjects.for_each_match(filter, |s, i| {
            out.insert(
                s.to_string(),
                SimpleState {
                    msgs: i.msgs,
                    first: i.first,
                    last: i.last,
                },
            );
        });
        out
    }

    fn subjects_totals(&self, filter: &str) -> HashMap<String, u64> {
        let locked = self.lock();
        let mut out = HashMap::new();
        locked.core.subjects.for_each_match(filter, |s, i| {
            out.insert(s.to_string(), i.msgs);
        });
        out
    }

    fn all_last_seqs(&self) -> Result<Vec<u64>, StoreError> {
        let locked = self.open_lock()?;
        let mut seqs = Vec::with_capacity(locked.core.subjects.len());
        locked.core.subjects.for_each(|_, i| seqs.push(i.last));
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn multi_last_seqs(
        &self,
        filters: &[String],
        max_seq: u64,
        max_allowed: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let locked = self.open_lock()?;
        let mut seqs = Vec::new();
        // Each filter walks only the subjects it can match; overlapping filters may find
        // a subject twice.
        let mut subjects: Vec<Arc<str>> = Vec::new();
        for f in filters {
            locked
                .core
                .subjects
                .for_each_match(f, |s, _| subjects.push(s.clone()));
        }
        subjects.sort_unstable();
        subjects.dedup();
        for s in subjects {
            if let Some(seq) = Self::last_for_subject_locked(&locked, &s, max_seq) {
                seqs.push(seq);
                if max_allowed > 0 && seqs.len() > max_allowed {
                    return Err(StoreError::TooManyResults);
                }
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        Ok(seqs)
    }

    fn subject_for_seq(&self, seq: u64) -> Result<String, StoreError> {
        let locked = self.open_lock()?;
        locked
            .core
            .subject_of(seq)
            .map(|s| s.to_string())
            .ok_or(StoreError::MsgNotFound)
    }

    fn num_pending(
        &self,
        sseq: u64,
        filter: &str,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError> {
        let wc = subject_has_wildcard(filter);
        self.num_pending_by(sseq, last_per_subject, |s| matches(filter, wc, s))
    }

    fn num_pending_multi(
        &self,
        sseq: u64,
        filters: &crate::store::SubjectFilters,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError> {
        self.num_pending_by(sseq, last_per_subject, |s| filters.has_interest(s))
    }

    fn state(&self) -> StreamState {
        let locked = self.lock();
        let mut state = Self::state_locked(&locked, true);
        state.consumers = self.shared.consumers.count();
        state
    }

    fn fast_state(&self) -> StreamState {
        let locked = self.lock();
        let mut state = Self::state_locked(&locked, false);
        state.consumers = self.shared.consumers.count();
        state
    }

    fn encoded_stream_state(&self, failed: u64) -> Result<Vec<u8>, StoreError> {
        let locked = self.open_lock()?;
        let core = &locked.core;
        let mut ranges: Vec<DeleteRange> = Vec::new();
        for seq in core.deleted() {
            match ranges.last_mut() {
                Some(r) if r.first + r.num == seq => r.num += 1,
                _ => ranges.push(DeleteRange { first: seq, num: 1 }),
            }
        }
        Ok(encode_stream_state(
            core.msgs,
            core.bytes,
            core.first_seq,
            core.last_seq,
            failed,
            &ranges,
        ))
    }

    fn sync_deleted(&self, dbs: &[Box<dyn DeleteBlock>]) -> Result<(), StoreError> {
        if dbs.is_empty() {
            return Ok(());
        }
        let mut updates = Vec::new();
        let result = self
            .open_lock()
            .and_then(|mut guard| self.sync_deleted_locked(&mut guard, dbs, &mut updates));
        self.notify(updates);
        result
    }

    fn storage_type(&self) -> StorageType {
        StorageType::File
    }

    fn register_storage_updates(&self, cb: StorageUpdateHandler) {
        self.shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .update = Some(cb);
    }

    fn register_storage_remove_msg(&self, cb: StorageRemoveMsgHandler) {
        self.shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove = Some(cb);
    }

    fn register_process_jetstream_msg(&self, cb: ProcessJetStreamMsgHandler) {
        self.shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .process = Some(cb);
    }

    fn update_config(&self, cfg: &mut StreamConfig) -> Result<(), StoreError> {
        if cfg.max_msgs_per_subject < -1 {
            cfg.max_msgs_per_subject = -1;
        }
        {
            let mut guard = self.open_lock()?;
            let had_ttls = guard.cfg.allow_msg_ttl;
            guard.cfg = cfg.clone();
            let now = self.shared.clock.now_ns();
            match (had_ttls, cfg.allow_msg_ttl) {
                (false, true) => recover_ttls(&mut guard.core),
                (true, false) => guard.core.ttls = Default::default(),
                _ => {}
            }
            guard.core.allow_schedules(cfg.allow_msg_schedules, now);
            let compression = match cfg.compression {
                crate::store::StoreCompression::None => super::BlockCompression::None,
                crate::store::StoreCompression::S2 => super::BlockCompression::Lz4,
            };
            guard.core.codec.compression = compression;
            for blk in &mut guard.core.blocks {
                blk.codec.compression = compression;
            }
        }
        self.enforce_all_limits()?;
        let mut updates = Vec::new();
        {
            let mut guard = self.open_lock()?;
            let now = self.shared.clock.now_ns();
            self.expire_locked(&mut guard, now, &mut updates);
        }
        self.notify(updates);
        Ok(())
    }

    fn delete(&self, _inline: bool) -> Result<(), StoreError> {
        self.stop()?;
        // Consumers still open must not write into the directory being removed.
        self.shared.consumers.close_all();
        // Something may still be writing into the directory (Go's test does exactly
        // that); retry a few times before giving up.
        let mut last_err = None;
        for _ in 0..10 {
            match std::fs::remove_dir_all(&self.shared.dir) {
                Ok(()) => return Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(err) => last_err = Some(err),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(last_err.map_or(StoreError::Closed, StoreError::from))
    }

    fn stop(&self) -> Result<(), StoreError> {
        let work = {
            let mut guard = self.lock();
            if guard.closed {
                return Ok(());
            }
            guard.closed = true;
            // Best effort: without it, caller-given TTLs are not restored.
            let _ = guard.core.save_ttls(&self.shared.dir);
            // Best effort too: without it, schedules are rebuilt from the blocks.
            let _ = guard.core.save_schedules();
            guard.core.take_sync_work()
        };
        // Consumer states go to disk, synced, with the stream's (best effort, as the
        // files above; their own stop normally came first and left nothing to do).
        let _ = self.shared.consumers.flush_all(true);
        let (flag, wake) = &self.shared.stopping;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        work.run()?;
        self.shared.commit.mark_synced(work.ticket);
        // Best effort: without it the next open scans the blocks, which is slower only.
        let _ = super::state_file::save(&self.lock().core);
        Ok(())
    }

    fn consumer_store(
        &self,
        name: &str,
        created: i64,
        cfg: &ConsumerConfig,
    ) -> Result<Arc<dyn ConsumerStore>, StoreError> {
        let (stream, codec) = {
            let guard = self.open_lock()?;
            (guard.cfg.name.clone(), guard.core.codec.clone())
        };
        let store = super::consumer::FileConsumerStore::open(
            &self.shared.dir,
            &stream,
            name,
            created,
            cfg,
            codec,
            self.shared.clock.clone(),
            self.shared.consumers.clone(),
        )?;
        Ok(Arc::new(store))
    }

    fn snapshot(
        &self,
        deadline: Duration,
        include_consumers: bool,
        check_msgs: bool,
    ) -> Result<SnapshotResult, StoreError> {
        self.start_snapshot(deadline, include_consumers, check_msgs)
    }

    fn utilization(&self) -> Result<(u64, u64), StoreError> {
        let locked = self.open_lock()?;
        Ok((locked.core.disk_bytes(), locked.core.bytes))
    }

    fn reset_state(&self) {
        self.clear_schedules_inflight();
    }

    fn next_expiration(&self) -> Option<i64> {
        let locked = self.lock();
        let max_age = duration_ns(locked.cfg.max_age);
        // Messages that never expire do not count: the age limit passes over them.
        let age = (max_age > 0)
            .then(|| locked.core.first_aging_ts())
            .flatten()
            .map(|ts| ts + max_age);
        let ttl = locked.core.ttls.iter().next().map(|&(at, _)| at);
        match (age, ttl) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        }
    }

    fn expire_msgs(&self) {
        let mut updates = Vec::new();
        {
            let mut guard = self.lock();
            if guard.closed {
                return;
            }
            let now = self.shared.clock.now_ns();
            self.expire_locked(&mut guard, now, &mut updates);
        }
        self.notify(updates);
    }

    fn next_msg_schedule(&self) -> Option<i64> {
        self.next_schedule_fire()
    }

    fn run_msg_scheduling(&self) {
        self.fire_due_schedules();
    }
}

impl FileStore {
    fn num_pending_by(
        &self,
        sseq: u64,
        last_per_subject: bool,
        pred: impl Fn(&str) -> bool,
    ) -> Result<(u64, u64), StoreError> {
        let locked = self.open_lock()?;
        let core = &locked.core;
        let valid_through = core.last_seq;
        if sseq > core.last_seq {
            return Ok((0, valid_through));
        }
        if last_per_subject {
            let mut total = 0;
            core.subjects.for_each(|s, i| {
                if i.last >= sseq && pred(s) {
                    total += 1;
                }
            });
            return Ok((total, valid_through));
        }
        if sseq <= core.first_seq {
            let mut total = 0;
            core.subjects.for_each(|s, i| {
                if pred(s) {
                    total += i.msgs;
                }
            });
            return Ok((total, valid_through));
        }
        let total = core
            .live_seqs_from(sseq)
            .filter(|&s| core.subject_of(s).is_some_and(|sub| pred(sub)))
            .count() as u64;
        Ok((total, valid_through))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod pipelined_tests {
    use super::*;
    use crate::file::FileStoreConfig;
    use crate::{system_clock, StorageType};
    use std::sync::atomic::{AtomicU64, Ordering};

    fn open(dir: &std::path::Path) -> FileStore {
        let cfg = StreamConfig {
            name: "pipelined".into(),
            subjects: vec!["p.>".into()],
            storage: StorageType::File,
            ..StreamConfig::default()
        };
        FileStore::open(FileStoreConfig::new(dir), cfg, system_clock()).unwrap()
    }

    #[test]
    fn pipelined_messages_share_syncs_and_are_announced_when_durable() {
        let dir = tempfile::tempdir().unwrap();
        let fs = open(dir.path());
        let announced = Arc::new(AtomicU64::new(0));
        let counter = announced.clone();
        fs.register_storage_updates(Arc::new(move |msgs, _, _, _| {
            counter.fetch_add(msgs as u64, Ordering::SeqCst);
        }));
        let synced_before = fs.shared.commit.synced();
        let pending: Vec<_> = (1..=100u64)
            .map(|i| {
                let (seq, _, p) = fs.store_msg_pipelined("p.x", &[], b"hello", 0).unwrap();
                assert_eq!(seq, i);
                p
            })
            .collect();
        // Nothing is announced (nor acknowledged) before it is durable.
        assert_eq!(announced.load(Ordering::SeqCst), 0);
        let mut pending = pending.into_iter();
        fs.wait_durable_for(pending.next().unwrap()).unwrap();
        // The first wait's sync covered every record written so far.
        assert!(fs.shared.commit.synced() >= synced_before + 100);
        for p in pending {
            fs.wait_durable_for(p).unwrap();
        }
        assert_eq!(announced.load(Ordering::SeqCst), 100);
        drop(fs);
        let fs = open(dir.path());
        assert_eq!(fs.state().msgs, 100);
        assert_eq!(fs.load_msg(100).unwrap().msg.as_ref(), b"hello");
    }
}
