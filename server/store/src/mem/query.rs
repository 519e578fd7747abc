//! Read paths of the memory store: scans, filtered and per-subject state, last sequences.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{recalculate, Counters, Inner, SubjectState};
use crate::store::*;
use crate::stree::SubjectTree;

/// Which subjects of the index a query is about.
#[derive(Clone, Copy)]
enum SubjectMatch<'a> {
    All,
    Literal(&'a str),
    Wildcard(&'a str),
    Set(&'a SubjectFilters),
}

impl<'a> SubjectMatch<'a> {
    fn of(filter: &'a str) -> Self {
        if filter.is_empty() || filter == FULL_WILDCARD {
            SubjectMatch::All
        } else if subject_is_literal(filter) {
            SubjectMatch::Literal(filter)
        } else {
            SubjectMatch::Wildcard(filter)
        }
    }
}

/// Calls `f` with every indexed subject matching `m`, its stale first/last recalculated
/// first when `recalc`.
fn visit(
    fss: &mut SubjectTree<SubjectState>,
    msgs: &BTreeMap<u64, StoreMsg>,
    state: &Counters,
    m: SubjectMatch<'_>,
    recalc: bool,
    mut f: impl FnMut(&str, &mut SubjectState),
) {
    let mut one = |subject: &[u8], ss: &mut SubjectState| {
        // Subjects are stored from `&str`, so they are UTF-8.
        let Ok(subject) = std::str::from_utf8(subject) else {
            return;
        };
        if recalc && (ss.first_needs_update || ss.last_needs_update) {
            recalculate(msgs, state, subject, ss);
        }
        f(subject, ss);
    };
    match m {
        SubjectMatch::Literal(subject) => {
            if let Some(ss) = fss.find_mut(subject.as_bytes()) {
                one(subject.as_bytes(), ss);
            }
        }
        SubjectMatch::All => fss.for_each_match_mut(FULL_WILDCARD.as_bytes(), one),
        SubjectMatch::Wildcard(filter) => fss.for_each_match_mut(filter.as_bytes(), one),
        SubjectMatch::Set(set) => {
            // Find the matches on the pruned walk, then visit them mutably.
            let mut matched: Vec<Vec<u8>> = Vec::new();
            crate::stree::intersect_gsl(fss, set, |subject, _| {
                matched.push(subject.to_vec());
                true
            });
            for subject in matched {
                if let Some(ss) = fss.find_mut(&subject) {
                    one(&subject, ss);
                }
            }
        }
    }
}

impl Inner {
    pub(super) fn load_next(&mut self, filter: &str, wc: bool, start: u64) -> ScanResult {
        let start = start.max(self.state.first_seq);
        if start > self.state.last_seq || self.state.msgs == 0 {
            return Err((StoreError::Eof, self.state.last_seq));
        }
        let filter = if filter.is_empty() {
            FULL_WILDCARD
        } else {
            filter
        };
        let is_all = filter == FULL_WILDCARD;
        let (mut fseq, mut lseq) = (start, self.state.last_seq);
        if !self.should_linear_scan(filter, wc, start) {
            let (first, last, found) = if wc {
                self.next_wildcard_match(filter, start)
            } else {
                self.next_literal_match(filter, start)
            };
            if !found {
                return Err((StoreError::Eof, self.state.last_seq));
            }
            (fseq, lseq) = (first, last);
        }
        self.msgs
            .range(fseq..=lseq)
            .find(|(_, sm)| {
                is_all
                    || if wc {
                        subject_matches(&sm.subject, filter)
                    } else {
                        sm.subject == filter
                    }
            })
            .map(|(&s, sm)| (sm.clone(), s))
            .ok_or((StoreError::Eof, self.state.last_seq))
    }

    /// Whether a scan should walk the messages rather than narrow the range by the index
    /// first: the whole stream, few messages left compared to subjects, or a wildcard over
    /// many subjects.
    pub(super) fn should_linear_scan(&self, filter: &str, wc: bool, start: u64) -> bool {
        const LINEAR_SCAN_MAX_SUBJECTS: usize = 256;
        let remaining = self.state.last_seq.saturating_sub(start);
        filter == FULL_WILDCARD
            || remaining.saturating_mul(2) < self.fss.len() as u64
            || (wc && self.fss.len() > LINEAR_SCAN_MAX_SUBJECTS)
    }

    /// Bounds `(first, last, found)` of the subjects matching a wildcard `filter` that have
    /// messages at or after `start`, with `start <= first <= last`.
    pub(super) fn next_wildcard_match(&mut self, filter: &str, start: u64) -> (u64, u64, bool) {
        let mut found = false;
        let (mut first, mut last) = (self.state.last_seq, 0u64);
        visit(
            &mut self.fss,
            &self.msgs,
            &self.state,
            SubjectMatch::Wildcard(filter),
            true,
            |_, ss| {
                if start > ss.last {
                    return;
                }
                found = true;
                first = first.min(ss.first);
                last = last.max(ss.last);
            },
        );
        if !found {
            return (0, 0, false);
        }
        (first.max(start), last, true)
    }

    /// Bounds of the literal subject `filter` from `start`, as [`Self::next_wildcard_match`].
    pub(super) fn next_literal_match(&mut self, filter: &str, start: u64) -> (u64, u64, bool) {
        let Some(ss) = self.fss.find_mut(filter.as_bytes()) else {
            return (0, 0, false);
        };
        recalculate(&self.msgs, &self.state, filter, ss);
        if start > ss.last {
            return (0, 0, false);
        }
        (start.max(ss.first), ss.last, true)
    }

    pub(super) fn load_last(&mut self, subject: &str) -> Result<StoreMsg, StoreError> {
        let seq = if subject.is_empty() || subject == FULL_WILDCARD {
            Some(self.state.last_seq)
        } else if subject_is_literal(subject) {
            match self.fss.find_mut(subject.as_bytes()) {
                Some(ss) if ss.msgs > 0 => {
                    if ss.last_needs_update {
                        recalculate(&self.msgs, &self.state, subject, ss);
                    }
                    Some(ss.last)
                }
                _ => None,
            }
        } else {
            let ss = self.filtered_state(1, subject, true);
            (ss.msgs > 0).then_some(ss.last)
        };
        seq.and_then(|s| self.msgs.get(&s))
            .cloned()
            .ok_or(StoreError::MsgNotFound)
    }

    /// The first sequence whose message is at or after `ts`; last + 1 when none is.
    pub(super) fn seq_from_time(&self, ts: i64) -> u64 {
        let (Some((&first, first_msg)), Some((&last, last_msg))) =
            (self.msgs.first_key_value(), self.msgs.last_key_value())
        else {
            return self.state.last_seq + 1;
        };
        if ts <= first_msg.ts {
            return self.state.first_seq;
        }
        if ts == last_msg.ts {
            return last;
        }
        if ts > last_msg.ts {
            return self.state.last_seq + 1;
        }
        // Binary search over the sequence space, probing the first present message at or
        // after the middle (timestamps grow with sequences).
        let (mut lo, mut hi) = (first, last);
        let mut answer = last;
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            match self.msgs.range(mid..=hi).next() {
                None => {
                    if mid == 0 {
                        break;
                    }
                    hi = mid - 1;
                }
                Some((&s, sm)) => {
                    if sm.ts >= ts {
                        answer = s;
                        if mid == 0 {
                            break;
                        }
                        hi = mid - 1;
                    } else {
                        lo = s + 1;
                    }
                }
            }
        }
        answer
    }

    /// State of the messages matching `filter` from `sseq` on; with `last_per_subject`
    /// each matching subject counts once.
    pub(super) fn filtered_state(
        &mut self,
        sseq: u64,
        filter: &str,
        last_per_subject: bool,
    ) -> SimpleState {
        let sseq = sseq.max(self.state.first_seq);
        if sseq > self.state.last_seq {
            return SimpleState::default();
        }
        let m = SubjectMatch::of(filter);
        if matches!(m, SubjectMatch::All) && sseq <= self.state.first_seq {
            return SimpleState {
                msgs: if last_per_subject {
                    self.fss.len() as u64
                } else {
                    self.state.msgs
                },
                first: self.state.first_seq,
                last: self.state.last_seq,
            };
        }
        self.filtered_state_matching(sseq, last_per_subject, m)
    }

    /// As [`Self::filtered_state`] for the subjects any of `filters` matches.
    pub(super) fn filtered_state_set(
        &mut self,
        sseq: u64,
        last_per_subject: bool,
        filters: &SubjectFilters,
    ) -> SimpleState {
        let sseq = sseq.max(self.state.first_seq);
        if sseq > self.state.last_seq {
            return SimpleState::default();
        }
        self.filtered_state_matching(sseq, last_per_subject, SubjectMatch::Set(filters))
    }

    fn filtered_state_matching(
        &mut self,
        sseq: u64,
        last_per_subject: bool,
        m: SubjectMatch<'_>,
    ) -> SimpleState {
        let mut out = SimpleState::default();
        // Subjects with messages both before and from sseq: counted by a scan below.
        let mut partial: HashSet<String> = HashSet::new();
        let mut partial_last = 0u64;
        let add = |out: &mut SimpleState, msgs: u64, first: u64, last: u64| {
            out.msgs += msgs;
            if out.first == 0 || first < out.first {
                out.first = first;
            }
            out.last = out.last.max(last);
        };
        visit(
            &mut self.fss,
            &self.msgs,
            &self.state,
            m,
            true,
            |subject, ss| {
                if last_per_subject {
                    if sseq <= ss.last {
                        add(&mut out, 1, ss.last, ss.last);
                    }
                } else if sseq <= ss.first {
                    add(&mut out, ss.msgs, ss.first, ss.last);
                } else if sseq <= ss.last {
                    partial.insert(subject.to_string());
                    partial_last = partial_last.max(ss.last);
                    out.last = out.last.max(ss.last);
                }
            },
        );
        if !partial.is_empty() {
            for (&seq, sm) in self.msgs.range(sseq..=partial_last) {
                if partial.contains(&sm.subject) {
                    out.msgs += 1;
                    if out.first == 0 || seq < out.first {
                        out.first = seq;
                    }
                }
            }
        }
        out
    }

    pub(super) fn subjects_state(&mut self, filter: &str) -> HashMap<String, SimpleState> {
        let mut out = HashMap::new();
        visit(
            &mut self.fss,
            &self.msgs,
            &self.state,
            SubjectMatch::of(filter),
            true,
            |subject, ss| {
                out.insert(subject.to_string(), ss.simple());
            },
        );
        out
    }

    pub(super) fn subjects_totals(&mut self, filter: &str) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        visit(
            &mut self.fss,
            &self.msgs,
            &self.state,
            SubjectMatch::of(filter),
            false,
            |subject, ss| {
                out.insert(subject.to_string(), ss.msgs);
            },
        );
        out
    }

    pub(super) fn all_last_seqs(&mut self) -> Vec<u64> {
        if self.msgs.is_empty() {
            return Vec::new();
        }
        let mut seqs = Vec::with_capacity(self.fss.len());
        let (msgs, state) = (&self.msgs, &self.state);
        self.fss.iter_fast_mut(|subject, ss| {
            if ss.last_needs_update {
                if let Ok(subject) = std::str::from_utf8(subject) {
                    recalculate(msgs, state, subject, ss);
                }
            }
            seqs.push(ss.last);
            true
        });
        seqs.sort_unstable();
        seqs
    }

    /// Whether `filters` cover exactly the stream's subjects (clients often send them).
    fn filter_is_all(&self, filters: &[String]) -> bool {
        if filters.len() != self.cfg.subjects.len() {
            return false;
        }
        let mut filters: Vec<&str> = filters.iter().map(String::as_str).collect();
        let mut subjects: Vec<&str> = self.cfg.subjects.iter().map(String::as_str).collect();
        filters.sort_unstable();
        subjects.sort_unstable();
        subjects
            .iter()
            .zip(&filters)
            .all(|(subject, filter)| subject_is_subset_match(subject, filter))
    }

    pub(super) fn multi_last_seqs(
        &mut self,
        filters: &[String],
        max_seq: u64,
        max_allowed: usize,
    ) -> Result<Vec<u64>, StoreError> {
        if self.msgs.is_empty() {
            return Ok(Vec::new());
        }
        if max_seq == 0 && max_allowed == 0 && self.filter_is_all(filters) {
            return Ok(self.all_last_seqs());
        }
        let max_seq = if max_seq == 0 {
            self.state.last_seq
        } else {
            max_seq
        };
        let mut seqs = Vec::new();
        let mut seen = HashSet::new();
        for filter in filters {
            let m = if filter == FULL_WILDCARD {
                SubjectMatch::All
            } else {
                SubjectMatch::of(filter)
            };
            let msgs = &self.msgs;
            visit(&mut self.fss, msgs, &self.state, m, true, |subject, ss| {
                let found = if ss.last <= max_seq {
                    Some(ss.last)
                } else if ss.msgs > 1 {
                    msgs.range(..=max_seq)
                        .rev()
                        .find(|(_, sm)| sm.subject == subject)
                        .map(|(&s, _)| s)
                } else {
                    None
                };
                if let Some(s) = found {
                    if seen.insert(s) {
                        seqs.push(s);
                    }
                }
            });
            if max_allowed > 0 && seqs.len() > max_allowed {
                return Err(StoreError::TooManyResults);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }
}
