//! The [`Store`] implementation of the memory store.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::*;

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
            let seq = inner.store_raw(subject, hdr, msg, seq, ts, ttl, true, ts)?;
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
        let now = self.now();
        self.locked(|inner| {
            inner.store_raw(subject, hdr, msg, seq, ts, ttl, discard_new_check, now)?;
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
        let lseq = seq.saturating_add(num).saturating_sub(1);
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
        let schedules = cfg.allow_msg_schedules;
        let now = self.now();
        self.locked(|inner| {
            inner.cfg = cfg.clone();
            if cfg.allow_msg_ttl && inner.ttls.is_none() {
                inner.recover_ttl_state();
            } else if !cfg.allow_msg_ttl {
                inner.ttls = None;
            }
            if cfg.allow_msg_schedules && inner.scheduling.is_none() {
                inner.recover_msg_scheduling_state(now);
            } else if !cfg.allow_msg_schedules {
                inner.scheduling = None;
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
        if schedules {
            self.run_msg_scheduling();
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

    fn reset_state(&self) {
        if let Some(sched) = &mut self.lock().scheduling {
            sched.clear_inflight();
        }
    }

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
                        ttls.remove_seq(seq);
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
                            ttls.remove_seq(seq);
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

    fn next_msg_schedule(&self) -> Option<i64> {
        self.lock().scheduling.as_ref().and_then(|s| s.next_fire())
    }

    fn run_msg_scheduling(&self) {
        let now = self.now();
        let (msgs, pmsgcb) = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            // Scheduled messages need the stream layer's handler; until then, later.
            let (Some(sched), Some(pmsgcb)) = (&mut inner.scheduling, inner.pmsgcb.clone()) else {
                return;
            };
            let msgs_map = &inner.msgs;
            let fss = &inner.fss;
            let msgs = sched.scheduled_messages(
                now,
                |seq| msgs_map.get(&seq).cloned(),
                |subject| {
                    fss.find(subject.as_bytes())
                        .and_then(|ss| last_of_subject(msgs_map, subject, ss))
                },
            );
            (msgs, pmsgcb)
        };
        for (_, msg) in msgs {
            pmsgcb(msg);
        }
    }
}
