//! The consumer's delivery state, [`Cursor`], and the pure rules around it: reading acks
//! and their subjects, where a new consumer starts, where a reset may take it, which
//! subjects its filters take, ack sampling. Times are nanoseconds passed in.

use super::flow::FlowControl;
use super::waiting::WaitQueue;
use crate::jetstream::api::types::{AckPolicy, ConsumerConfig, DeliverPolicy};
use natsd_store::{Store, SubjectFilters};
use std::collections::{BTreeMap, VecDeque};

/// Go's default ack wait: 30 s.
pub const DEFAULT_ACK_WAIT: i64 = 30_000_000_000;
/// Go's header for the bytes of a message delivered headers-only.
pub const MSG_SIZE_HDR: &str = "Nats-Msg-Size";

/// A message delivered but not acknowledged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingMsg {
    /// The consumer sequence of its latest delivery.
    pub dseq: u64,
    /// When it was last delivered (ns).
    pub ts: i64,
    /// How many times it was delivered.
    pub dc: u64,
    /// When it is due again (ns).
    pub deadline: i64,
}

/// A message that reached `max_deliver` and left pending (kept in
/// [`Cursor::max_delivered`]): what the consumer store is told of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxDelivered {
    pub sseq: u64,
    /// The consumer sequence of its last delivery, when that was (ns) and how many
    /// deliveries it had.
    pub dseq: u64,
    pub ts: i64,
    pub dc: u64,
}

/// What an ack message asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckKind {
    Ack,
    /// Redeliver, after the delay (ns) when given.
    Nak(Option<i64>),
    /// Still working on it: restart its ack wait.
    Progress,
    /// Never redeliver.
    Term,
    /// Ack, then serve this many more on the ack's reply (pull consumers).
    Next(i64),
}

/// Parses an ack payload as Go does (`+ACK`, empty, `-NAK [delay]`, `+WPI`, `+TERM
/// [reason]`, `+NXT [n]`); `None` for anything else.
pub fn parse_ack(payload: &[u8]) -> Option<AckKind> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    // "+OK" is an old spelling of an ack.
    if text.is_empty() || text == "+ACK" || text == "+OK" {
        return Some(AckKind::Ack);
    }
    let (head, rest) = match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    };
    match head {
        "+ACK" => Some(AckKind::Ack),
        "+WPI" => Some(AckKind::Progress),
        "+TERM" => Some(AckKind::Term),
        "-NAK" => {
            let delay = if rest.is_empty() {
                None
            } else if rest.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(rest)
                    .ok()
                    .and_then(|v| v.get("delay").and_then(|d| d.as_i64()))
            } else {
                natsd_store::parse_go_duration(rest)
            };
            Some(AckKind::Nak(delay))
        }
        "+NXT" => {
            let n = if rest.is_empty() {
                1
            } else if rest.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(rest)
                    .ok()
                    .and_then(|v| v.get("batch").and_then(|d| d.as_i64()))
                    .unwrap_or(1)
            } else {
                rest.parse().unwrap_or(1)
            };
            Some(AckKind::Next(n.max(1)))
        }
        _ => None,
    }
}

/// The reason a `+TERM` gives, "" for none.
pub fn term_reason(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    text.trim()
        .strip_prefix("+TERM")
        .map_or(String::new(), |r| r.trim().to_string())
}

/// The delivery count, stream and consumer sequences in an ack reply subject (Go's
/// `ackReplyInfo`): `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`
/// (9 tokens), or the v2 form with the domain and account hash after `$JS.ACK` (11 or
/// more tokens, the extra ones ignored).
pub fn parse_ack_subject(subject: &str) -> Option<(u64, u64, u64)> {
    let tokens: Vec<&str> = subject.split('.').collect();
    if (tokens.len() != 9 && tokens.len() < 11) || tokens[0] != "$JS" || tokens[1] != "ACK" {
        return None;
    }
    let offset = if tokens.len() >= 11 { 4 } else { 2 };
    let dc = tokens[offset + 2].parse().ok()?;
    let sseq = tokens[offset + 3].parse().ok()?;
    let dseq = tokens[offset + 4].parse().ok()?;
    Some((dc, sseq, dseq))
}

/// Where `$JS.API.CONSUMER.RESET` may move a consumer (Go's `resetStartingSeqLocked`):
/// `seq` 0 is just past the ack floor `ack_floor_sseq`; otherwise deliver-all allows
/// any sequence, a start sequence or start time (whose first sequence is
/// `start_time_seq`) nothing below it, other policies nothing. The sequence, at least 1.
pub fn reset_target(
    cfg: &ConsumerConfig,
    ack_floor_sseq: u64,
    seq: u64,
    start_time_seq: impl FnOnce() -> u64,
) -> Result<u64, &'static str> {
    let seq = if seq == 0 {
        ack_floor_sseq + 1
    } else {
        match cfg.deliver_policy {
            DeliverPolicy::All => seq,
            DeliverPolicy::ByStartSequence if seq < cfg.opt_start_seq => {
                return Err("below start seq")
            }
            DeliverPolicy::ByStartSequence => seq,
            DeliverPolicy::ByStartTime if seq < start_time_seq() => return Err("below start time"),
            DeliverPolicy::ByStartTime => seq,
            _ => return Err("not allowed"),
        }
    };
    Ok(seq.max(1))
}

/// Whether messages on `subject` are for a consumer with `filters` (Go's
/// `isFilteredMatch`): no filter takes everything.
pub fn is_filtered_match(filters: &SubjectFilters, subject: &str) -> bool {
    filters.is_empty() || filters.has_interest(subject)
}

/// The percentage of a `sample_freq` ("50%" or "50"); 0 for none (Go's `sfreq`).
pub fn sample_frequency(text: &str) -> u32 {
    text.trim_end_matches('%').parse().unwrap_or(0)
}

/// Whether an ack is sampled at `freq` percent, `roll` being a random number below 100
/// (Go's `shouldSample`).
pub fn should_sample(freq: u32, roll: u32) -> bool {
    match freq {
        0 => false,
        f if f >= 100 => true,
        f => roll <= f,
    }
}

/// The consumer's delivery state (pure).
#[derive(Debug, Clone)]
pub struct Cursor {
    pub config: ConsumerConfig,
    /// The subjects the config selects (none: the whole stream).
    pub filters: SubjectFilters,
    /// The next stream sequence to look at for new messages.
    pub next_sseq: u64,
    /// The last consumer sequence handed out and the stream sequence it carried.
    pub dseq: u64,
    pub delivered_sseq: u64,
    pub last_delivered: i64,
    /// Keyed by stream sequence.
    pub pending: BTreeMap<u64, PendingMsg>,
    /// Stream sequences to deliver again, in order.
    pub redeliver: VecDeque<u64>,
    /// Messages delivered as often as `max_deliver` allows and no longer pending, with
    /// their delivery count (Go keeps them in its redelivered map): the consumer still
    /// holds them in an interest or work-queue stream, and its info counts them as
    /// redelivered, until they are acknowledged or leave the stream.
    pub max_delivered: BTreeMap<u64, u64>,
    /// Acked floor: consumer and stream sequence, and when it last moved.
    pub ack_floor: (u64, u64),
    pub last_ack: i64,
    /// Last-per-subject sequences still to deliver first (deliver policy).
    pub lps: VecDeque<u64>,
    pub waiting: WaitQueue,
    /// When anything last showed interest (pull request, ack); for inactivity.
    pub last_activity: i64,
    /// When the push deliver subject last got something (a message or a heartbeat); an
    /// idle heartbeat is due `config.heartbeat` later.
    pub last_push: i64,
    /// The messages from `next_sseq` on that the filters take, counted once and kept up
    /// to date (Go's `npc`); `None` when it must be counted again.
    pub npc: Option<PendingCount>,
    /// No pending message is due before this (ns; `i64::MAX` for none). It may be
    /// early — a message acknowledged since keeps it — but never late, so looking for
    /// due messages scans `pending` only once something may be due, not on every pass.
    earliest_ack_deadline: i64,
    /// Flow control of a push consumer (off unless the config asks for it).
    pub flow: FlowControl,
}

/// A count of the stream's messages for a consumer from `next_sseq` on, with the stream
/// state it was taken at: while the stream only grew it stays right (the new messages are
/// counted on top), anything else (removals, purges) means counting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCount {
    pub count: u64,
    pub next_sseq: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub msgs: u64,
}

impl PendingCount {
    /// Whether the stream went from this count's state to `st` by appending only.
    pub(super) fn only_appended(&self, first_seq: u64, last_seq: u64, msgs: u64) -> bool {
        first_seq == self.first_seq
            && last_seq >= self.last_seq
            && msgs.checked_sub(self.msgs) == Some(last_seq - self.last_seq)
    }
}

impl Cursor {
    pub fn new(config: ConsumerConfig, start: u64, now: i64) -> Cursor {
        let mut waiting = WaitQueue::default();
        waiting.policy = config.priority_policy;
        waiting.pinned_ttl = config.pinned_ttl;
        Cursor {
            filters: config_filters(&config),
            config,
            next_sseq: start.max(1),
            dseq: 0,
            delivered_sseq: start.saturating_sub(1),
            last_delivered: 0,
            pending: BTreeMap::new(),
            redeliver: VecDeque::new(),
            max_delivered: BTreeMap::new(),
            ack_floor: (0, start.saturating_sub(1)),
            last_ack: 0,
            lps: VecDeque::new(),
            waiting,
            last_activity: now,
            last_push: now,
            npc: None,
            earliest_ack_deadline: i64::MAX,
            flow: FlowControl::default(),
        }
    }

    /// When a pause set in the config ends (ns), if it is in the future of `now`.
    pub fn paused_until(&self, now: i64) -> Option<i64> {
        self.config
            .pause_until
            .filter(|t| !t.is_zero())
            .map(|t| t.unix_nanos())
            .filter(|&t| t > now)
    }

    /// When the next push idle heartbeat is due, if the config asks for them.
    pub fn push_heartbeat_due(&self) -> Option<i64> {
        (!self.is_pull() && self.config.heartbeat > 0)
            .then(|| self.last_push.saturating_add(self.config.heartbeat))
    }

    pub fn is_pull(&self) -> bool {
        self.config.deliver_subject.is_empty()
    }

    /// Takes an updated configuration (and the filters it selects).
    pub fn set_config(&mut self, config: ConsumerConfig) {
        self.filters = config_filters(&config);
        self.waiting.policy = config.priority_policy;
        self.waiting.pinned_ttl = config.pinned_ttl;
        self.config = config;
        self.npc = None;
    }

    /// A new message at `seq` is delivered: it leaves the pending count.
    pub(super) fn npc_delivered(&mut self, seq: u64) {
        self.npc = match self.npc {
            Some(mut k) if k.next_sseq <= seq && seq <= k.last_seq => {
                k.count = k.count.saturating_sub(1);
                k.next_sseq = seq + 1;
                Some(k)
            }
            _ => None,
        };
    }

    fn ack_wait(&self) -> i64 {
        if self.config.ack_wait > 0 {
            self.config.ack_wait
        } else {
            DEFAULT_ACK_WAIT
        }
    }

    /// How long before a message delivered `dc` times is due again (Go: `backoff`
    /// overrides `ack_wait`).
    pub(super) fn wait_for(&self, dc: u64) -> i64 {
        let b = &self.config.backoff;
        if b.is_empty() {
            return self.ack_wait();
        }
        let i = (dc.saturating_sub(1) as usize).min(b.len() - 1);
        b[i]
    }

    /// How many deliveries a message may have, 0 for no limit (Go's `maxdc`: a negative
    /// `max_deliver` is none).
    pub fn max_deliveries(&self) -> u64 {
        u64::try_from(self.config.max_deliver).unwrap_or(0)
    }

    /// How many times `sseq` was delivered, as far as the consumer still tracks it: 1
    /// when it does not (Go's `deliveryCount`).
    pub fn delivery_count(&self, sseq: u64) -> u64 {
        self.pending
            .get(&sseq)
            .map(|p| p.dc)
            .or_else(|| self.max_delivered.get(&sseq).copied())
            .unwrap_or(1)
            .max(1)
    }

    /// There is room for another delivery under `max_ack_pending`.
    pub fn has_room(&self) -> bool {
        self.config.ack_policy == AckPolicy::None
            || self.config.max_ack_pending <= 0
            || (self.pending.len() as i64) < self.config.max_ack_pending
    }

    /// Records a delivery of `sseq` at `now`; returns (consumer seq, delivery count).
    pub fn record_delivery(&mut self, sseq: u64, now: i64) -> (u64, u64) {
        self.dseq += 1;
        let dseq = self.dseq;
        let dc = self.pending.get(&sseq).map_or(1, |p| p.dc + 1);
        if sseq > self.delivered_sseq {
            self.delivered_sseq = sseq;
        }
        self.last_delivered = now;
        if self.config.ack_policy == AckPolicy::None {
            // Nothing to wait for: the floor follows the deliveries.
            self.ack_floor = (dseq, self.delivered_sseq);
        } else {
            let deadline = now.saturating_add(self.wait_for(dc));
            self.earliest_ack_deadline = self.earliest_ack_deadline.min(deadline);
            self.pending.insert(
                sseq,
                PendingMsg {
                    dseq,
                    ts: now,
                    dc,
                    deadline,
                },
            );
        }
        (dseq, dc)
    }

    /// Moves the ack floor after acks: below the oldest pending message, or up to the
    /// last delivery when nothing is pending.
    pub(super) fn update_floor(&mut self) {
        match self.pending.iter().next() {
            Some((&sseq, p)) => {
                self.ack_floor = (p.dseq.saturating_sub(1), sseq.saturating_sub(1));
            }
            None => self.ack_floor = (self.dseq, self.delivered_sseq),
        }
    }

    /// Applies an ack of `sseq` (delivered as `dseq`); returns the stream sequences it
    /// acknowledged.
    pub fn ack(&mut self, kind: &AckKind, sseq: u64, dseq: u64, now: i64) -> Vec<u64> {
        self.last_activity = now;
        let mut acked = Vec::new();
        match kind {
            AckKind::Ack | AckKind::Next(_) => match self.config.ack_policy {
                // Acks by flow control answers work as ack-all (Go).
                AckPolicy::All | AckPolicy::FlowControl => {
                    let upto: Vec<u64> = self.pending.range(..=sseq).map(|(&s, _)| s).collect();
                    for s in upto {
                        self.pending.remove(&s);
                        acked.push(s);
                    }
                    let above = self.max_delivered.split_off(&(sseq + 1));
                    acked.extend(std::mem::replace(&mut self.max_delivered, above).into_keys());
                    // Everything below was delivered and is acknowledged with it.
                    if self.pending.is_empty() || sseq > self.ack_floor.1 {
                        self.ack_floor = (dseq.max(self.ack_floor.0), sseq.max(self.ack_floor.1));
                    }
                }
                AckPolicy::None => {}
                _ => {
                    if self.ack_one(sseq) {
                        acked.push(sseq);
                    }
                }
            },
            AckKind::Term => {
                if self.ack_one(sseq) {
                    acked.push(sseq);
                }
            }
            AckKind::Nak(delay) => {
                if let Some(p) = self.pending.get_mut(&sseq) {
                    match delay.filter(|&d| d > 0) {
                        // Due again after the delay, not before: off the queue.
                        Some(d) => {
                            p.deadline = now.saturating_add(d);
                            self.earliest_ack_deadline = self.earliest_ack_deadline.min(p.deadline);
                            self.redeliver.retain(|&s| s != sseq);
                        }
                        // Queued for redelivery, it stays pending until then: a message
                        // out of deliveries is only dropped when its redelivery comes
                        // up (Go checks it as it takes a redelivery).
                        None => {
                            p.deadline = i64::MAX;
                            if !self.redeliver.contains(&sseq) {
                                self.redeliver.push_back(sseq);
                            }
                        }
                    }
                }
            }
            AckKind::Progress => {
                let wait = self.pending.get(&sseq).map(|p| self.wait_for(p.dc));
                if let (Some(p), Some(wait)) = (self.pending.get_mut(&sseq), wait) {
                    p.deadline = now.saturating_add(wait);
                    self.earliest_ack_deadline = self.earliest_ack_deadline.min(p.deadline);
                }
            }
        }
        if !acked.is_empty() {
            self.last_ack = now;
            self.redeliver.retain(|s| self.pending.contains_key(s));
            // With ack-all and nothing left pending, the floor was set to the ack above.
            let ack_all = matches!(
                self.config.ack_policy,
                AckPolicy::All | AckPolicy::FlowControl
            );
            if !ack_all || !self.pending.is_empty() {
                self.update_floor();
            }
        }
        acked
    }

    /// Acknowledges one message, pending or out of deliveries; whether it was either.
    fn ack_one(&mut self, sseq: u64) -> bool {
        let pending = self.pending.remove(&sseq).is_some();
        let max_delivered = self.max_delivered.remove(&sseq).is_some();
        pending || max_delivered
    }

    /// A pending message delivered as often as allowed leaves pending and is kept as
    /// [`Cursor::max_delivered`] (Go's `hasMaxDeliveries`); the floor is the caller's.
    pub(super) fn exhaust(&mut self, sseq: u64) -> Option<MaxDelivered> {
        let p = self.pending.remove(&sseq)?;
        self.max_delivered.insert(sseq, p.dc);
        Some(MaxDelivered {
            sseq,
            dseq: p.dseq,
            ts: p.ts,
            dc: p.dc,
        })
    }

    /// Queues the pending messages whose ack wait ran out; those delivered as often as
    /// `max_deliver` allows leave pending instead (returned). Messages already queued
    /// (a nak) wait for their redelivery.
    pub fn collect_due(&mut self, now: i64) -> Vec<MaxDelivered> {
        let mut exhausted = Vec::new();
        if now < self.earliest_ack_deadline {
            return exhausted;
        }
        let max = self.max_deliveries();
        let mut due = Vec::new();
        let mut earliest = i64::MAX;
        for (&s, p) in &self.pending {
            if p.deadline <= now {
                due.push(s);
            } else {
                earliest = earliest.min(p.deadline);
            }
        }
        // What is due now waits for its redelivery (deadline `i64::MAX`) or leaves.
        self.earliest_ack_deadline = earliest;
        for s in due {
            let dc = self.pending.get(&s).map_or(0, |p| p.dc);
            if self.redeliver.contains(&s) {
                if let Some(p) = self.pending.get_mut(&s) {
                    p.deadline = i64::MAX;
                }
            } else if max > 0 && dc >= max {
                exhausted.extend(self.exhaust(s));
            } else {
                if let Some(p) = self.pending.get_mut(&s) {
                    // Not due again until redelivered.
                    p.deadline = i64::MAX;
                }
                self.redeliver.push_back(s);
            }
        }
        if !exhausted.is_empty() {
            self.update_floor();
        }
        exhausted
    }

    /// The earliest time something is due: an ack deadline, a pull request's expiry or
    /// heartbeat. It may be early (an acknowledged message's deadline), never late.
    pub fn next_deadline(&self) -> Option<i64> {
        let acks = (self.earliest_ack_deadline != i64::MAX).then_some(self.earliest_ack_deadline);
        acks.into_iter()
            .chain(self.waiting.next_deadline())
            .chain(self.push_heartbeat_due())
            .min()
    }

    /// The stream lost messages past `last_seq` (data loss): the consumer comes back
    /// to what the stream holds, keeping its consumer sequences moving forward (Go's
    /// `reconcileStateWithStream`).
    pub fn reconcile_with_stream(&mut self, last_seq: u64) {
        self.npc = None;
        if self.ack_floor.1 > last_seq {
            self.ack_floor = (self.dseq, last_seq);
            self.pending.clear();
            self.max_delivered.clear();
        }
        self.pending.retain(|&s, _| s <= last_seq);
        self.max_delivered.retain(|&s, _| s <= last_seq);
        self.redeliver.retain(|&s| s <= last_seq);
        self.lps.retain(|&s| s <= last_seq);
        match self.pending.iter().next_back() {
            None => {
                self.next_sseq = self.ack_floor.1 + 1;
                self.delivered_sseq = self.ack_floor.1;
                self.dseq = self.ack_floor.0;
            }
            Some((&max_sseq, _)) => {
                let max_dseq = self.pending.values().map(|p| p.dseq).max().unwrap_or(0);
                self.next_sseq = max_sseq + 1;
                self.delivered_sseq = max_sseq;
                self.dseq = max_dseq;
            }
        }
    }

    /// The state to save (the consumer store's form).
    pub fn stored_state(&self) -> natsd_store::ConsumerState {
        natsd_store::ConsumerState {
            delivered: natsd_store::SequencePair {
                consumer: self.dseq,
                stream: self.delivered_sseq,
            },
            ack_floor: natsd_store::SequencePair {
                consumer: self.ack_floor.0,
                stream: self.ack_floor.1,
            },
            pending: self
                .pending
                .iter()
                .map(|(&s, p)| {
                    let pending = natsd_store::Pending {
                        sequence: p.dseq,
                        timestamp: p.ts,
                    };
                    (s, pending)
                })
                .collect(),
            // Messages out of deliveries are kept with their count (Go's store records
            // them with one delivery more than they had pending).
            redelivered: self
                .pending
                .iter()
                .filter(|(_, p)| p.dc > 1)
                .map(|(&s, p)| (s, p.dc - 1))
                .chain(self.max_delivered.iter().map(|(&s, &dc)| (s, dc)))
                .collect(),
        }
    }

    /// Starts over at stream sequence `seq`: nothing pending or delivered, the floors
    /// just below it (Go's `resetLocalStartingSeq`).
    pub fn reset_to(&mut self, seq: u64) {
        self.npc = None;
        self.pending.clear();
        self.redeliver.clear();
        self.max_delivered.clear();
        self.lps.clear();
        self.next_sseq = seq;
        self.dseq = 0;
        self.delivered_sseq = seq.saturating_sub(1);
        self.ack_floor = (0, seq.saturating_sub(1));
        self.last_delivered = 0;
        self.last_ack = 0;
    }

    /// Every pending message is due now (Go's `forceExpirePending`, on a new deliver
    /// subject): queued for redelivery in order, except those delivered as often as
    /// allowed, which are done with (returned).
    pub fn force_expire_pending(&mut self) -> Vec<MaxDelivered> {
        let max = self.max_deliveries();
        let mut exhausted = Vec::new();
        let seqs: Vec<u64> = self.pending.keys().copied().collect();
        for s in seqs {
            if self.redeliver.contains(&s) {
                continue;
            }
            let dc = self.pending.get(&s).map_or(0, |p| p.dc);
            if max > 0 && dc >= max {
                exhausted.extend(self.exhaust(s));
                continue;
            }
            if let Some(p) = self.pending.get_mut(&s) {
                p.deadline = i64::MAX;
            }
            self.redeliver.push_back(s);
        }
        if !exhausted.is_empty() {
            self.update_floor();
        }
        self.earliest_ack_deadline = self
            .pending
            .values()
            .map(|p| p.deadline)
            .filter(|&d| d != i64::MAX)
            .min()
            .unwrap_or(i64::MAX);
        exhausted
    }

    /// The stream's messages below `first_seq` are gone (expired, purged): nothing to
    /// deliver or wait for there, and the ack floor moves past those that were pending
    /// (Go treats a pending message removed from the stream as acknowledged). Whether
    /// messages out of deliveries went with them (the store is to forget them too).
    pub fn drop_gone_below(&mut self, first_seq: u64) -> bool {
        let mut max_delivered_gone = false;
        if self
            .max_delivered
            .keys()
            .next()
            .is_some_and(|&s| s < first_seq)
        {
            self.max_delivered = self.max_delivered.split_off(&first_seq);
            max_delivered_gone = true;
        }
        if self.next_sseq < first_seq {
            self.next_sseq = first_seq;
            self.npc = None;
        }
        self.redeliver.retain(|&s| s >= first_seq);
        self.lps.retain(|&s| s >= first_seq);
        // Pending is ordered: look further only when its first message is gone.
        if self.pending.keys().next().is_some_and(|&s| s < first_seq) {
            self.pending = self.pending.split_off(&first_seq);
            self.update_floor();
        }
        max_delivered_gone
    }

    /// Messages of the stream gone above its first sequence (a purge of one subject
    /// under a wider filter): they leave pending and redelivery, and the ack floor moves
    /// as after an ack (Go's purge with isWider).
    pub fn drop_gone(&mut self, gone: &[u64]) {
        let before = self.pending.len();
        for s in gone {
            self.pending.remove(s);
            self.max_delivered.remove(s);
        }
        self.redeliver.retain(|s| !gone.contains(s));
        if self.pending.len() != before {
            self.update_floor();
        }
    }

    /// Messages delivered more than once and still pending, and those out of deliveries
    /// still in the stream (Go counts its redelivered map).
    pub fn num_redelivered(&self) -> u64 {
        (self.pending.values().filter(|p| p.dc > 1).count() + self.max_delivered.len()) as u64
    }
}

/// Where a new consumer starts (Go's `selectStartingSeqNo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartPosition {
    /// The first stream sequence it looks at; the floors sit just below it.
    pub start: u64,
    /// Last-per-subject: the sequences to deliver first, in order ...
    pub lps: Vec<u64>,
    /// ... and where new messages start after them.
    pub resume: Option<u64>,
}

/// The first stream sequence a new consumer delivers, from its deliver policy (Go's
/// `selectStartingSeqNo`). `max_msgs_per` is the stream's per-subject limit: with one
/// message a subject, last-per-subject is deliver-all.
pub fn start_sequence(
    cfg: &ConsumerConfig,
    store: &dyn Store,
    filters: &SubjectFilters,
    max_msgs_per: i64,
) -> StartPosition {
    let state = store.fast_state();
    let filter_list: Vec<String> = filters.filters().map(str::to_string).collect();
    let mut pos = StartPosition::default();
    let mut sseq = if cfg.opt_start_seq != 0 {
        cfg.opt_start_seq
    } else {
        match cfg.deliver_policy {
            DeliverPolicy::All => state.first_seq,
            DeliverPolicy::Last if filter_list.is_empty() => state.last_seq,
            DeliverPolicy::Last => filter_list
                .iter()
                .filter_map(|f| store.filtered_state(1, f).ok())
                .map(|ss| ss.last)
                .max()
                .unwrap_or(0),
            DeliverPolicy::LastPerSubject if max_msgs_per == 1 => state.first_seq,
            DeliverPolicy::LastPerSubject => {
                let list = if filter_list.is_empty() {
                    vec![">".to_string()]
                } else {
                    filter_list.clone()
                };
                let seqs = store.multi_last_seqs(&list, 0, 0).unwrap_or_default();
                let first = seqs.first().copied().unwrap_or(state.last_seq);
                if !seqs.is_empty() {
                    pos.lps = seqs;
                    pos.resume = Some(state.last_seq + 1);
                }
                first
            }
            DeliverPolicy::ByStartTime => {
                let ts = cfg.opt_start_time.map_or(0, |t| t.unix_nanos());
                let mut sseq = store.get_seq_from_time(ts);
                // Filtered: skip ahead to the first message a filter takes.
                if !filter_list.is_empty() {
                    let mut nseq = state.last_seq;
                    for f in &filter_list {
                        if let Ok(ss) = store.filtered_state(state.first_seq, f) {
                            if ss.first >= sseq && ss.first < nseq {
                                nseq = ss.first;
                            }
                        }
                    }
                    if nseq > sseq && nseq < state.last_seq {
                        sseq = nseq;
                    }
                }
                sseq
            }
            DeliverPolicy::New | DeliverPolicy::ByStartSequence => state.last_seq + 1,
        }
    };
    if state.first_seq == 0 && (cfg.direct || cfg.opt_start_seq == 0) {
        // An empty stream: deliver what comes.
        sseq = 1;
    } else if sseq > state.last_seq && (cfg.direct || cfg.opt_start_seq == 0) {
        // In the future: back to the next message.
        sseq = state.last_seq + 1;
    } else if sseq < state.first_seq {
        // The messages before the first are gone.
        sseq = state.first_seq;
    }
    pos.start = sseq;
    pos
}

impl Cursor {
    /// A new consumer's cursor at `pos`.
    pub fn at(config: ConsumerConfig, pos: StartPosition, now: i64) -> Cursor {
        let mut c = Cursor::new(config, pos.start, now);
        if let Some(resume) = pos.resume {
            c.next_sseq = resume;
        }
        c.lps = pos.lps.into();
        c
    }
}

/// The filters a consumer config selects (none: the whole stream).
pub fn config_filters(cfg: &ConsumerConfig) -> SubjectFilters {
    let mut f = SubjectFilters::new();
    if !cfg.filter_subject.is_empty() {
        f.insert(&cfg.filter_subject);
    }
    for s in &cfg.filter_subjects {
        f.insert(s);
    }
    f
}

/// The only filter of `filters` when there is exactly one, with whether it has
/// wildcards: the store is then asked with that subject, through its per-subject index,
/// rather than with a set of filters (Go keeps no filter sublist for one subject).
pub fn single_filter(filters: &SubjectFilters) -> Option<(&str, bool)> {
    let mut all = filters.filters();
    match (all.next(), all.next()) {
        (Some(only), None) => Some((only, natsd_store::subject_has_wildcard(only))),
        _ => None,
    }
}

/// The first message from `start` on that `filters` take (none: any).
pub fn load_next_filtered(
    store: &dyn Store,
    filters: &SubjectFilters,
    start: u64,
) -> natsd_store::ScanResult {
    match single_filter(filters) {
        Some((subject, wc)) => store.load_next_msg(subject, wc, start),
        None if filters.is_empty() => store.load_next_msg("", false, start),
        None => store.load_next_msg_multi(filters, start),
    }
}

/// How many messages from `start` on `filters` take (none: all); 0 when the store
/// cannot tell.
pub fn count_filtered(store: &dyn Store, filters: &SubjectFilters, start: u64) -> u64 {
    let counted = match single_filter(filters) {
        Some((subject, _)) => store.num_pending(start, subject, false),
        None if filters.is_empty() => store.num_pending(start, "", false),
        None => store.num_pending_multi(start, filters, false),
    };
    counted.map(|(n, _)| n).unwrap_or(0)
}

/// A kept pending count, bounded by what the stream can still hold from `next_sseq` on
/// (Go's checkNumPending): a count that drifted never reports more messages than the
/// stream has, nor more than the sequences left. Past the stream's end a count is
/// taken again anyway (it is no longer current), so that case needs no rule here.
pub fn bounded_pending(count: u64, next_sseq: u64, msgs: u64, last_seq: u64) -> u64 {
    let left = (last_seq + 1).saturating_sub(next_sseq);
    count
        .min(msgs)
        .min(if next_sseq > last_seq { msgs } else { left })
}

/// The sequences from `first` to `last` of messages the store holds that `filters` take
/// (none: all), found through the store's own lookups: a run of deleted sequences costs
/// one lookup, not one per sequence (Go's checkStateForInterestStream walks with
/// LoadNextMsg for this reason).
pub fn stored_between<'a>(
    store: &'a dyn Store,
    filters: &'a SubjectFilters,
    first: u64,
    last: u64,
) -> impl Iterator<Item = u64> + 'a {
    let mut next = first;
    std::iter::from_fn(move || {
        if next > last {
            return None;
        }
        match load_next_filtered(store, filters, next) {
            Ok((m, _)) if m.seq >= next && m.seq <= last => {
                next = m.seq + 1;
                Some(m.seq)
            }
            _ => {
                next = last.saturating_add(1);
                None
            }
        }
    })
}

/// A cursor rebuilt from a consumer's saved state.
pub fn restore_cursor(cfg: ConsumerConfig, state: &natsd_store::ConsumerState, now: i64) -> Cursor {
    let mut c = Cursor::new(cfg, state.delivered.stream + 1, now);
    c.dseq = state.delivered.consumer;
    c.delivered_sseq = state.delivered.stream;
    c.ack_floor = (state.ack_floor.consumer, state.ack_floor.stream);
    for (&sseq, &dc) in &state.redelivered {
        if !state.pending.contains_key(&sseq) {
            c.max_delivered.insert(sseq, dc);
        }
    }
    for (&sseq, p) in &state.pending {
        let dc = state.redelivered.get(&sseq).map_or(1, |r| r + 1);
        let deadline = p.timestamp.saturating_add(c.wait_for(dc));
        c.earliest_ack_deadline = c.earliest_ack_deadline.min(deadline);
        c.pending.insert(
            sseq,
            PendingMsg {
                dseq: p.sequence,
                ts: p.timestamp,
                dc,
                deadline,
            },
        );
    }
    c
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::monitor::gotime::GoTime;

    const SEC: i64 = 1_000_000_000;

    fn cfg(ack: AckPolicy) -> ConsumerConfig {
        ConsumerConfig {
            ack_policy: ack,
            ack_wait: 2 * SEC,
            max_deliver: -1,
            max_ack_pending: 2,
            ..Default::default()
        }
    }

    #[test]
    fn acks_parse_like_go() {
        assert_eq!(parse_ack(b""), Some(AckKind::Ack));
        assert_eq!(parse_ack(b"+ACK"), Some(AckKind::Ack));
        assert_eq!(parse_ack(b"-NAK"), Some(AckKind::Nak(None)));
        assert_eq!(
            parse_ack(b"-NAK {\"delay\": 5000}"),
            Some(AckKind::Nak(Some(5000)))
        );
        assert_eq!(parse_ack(b"-NAK 1s"), Some(AckKind::Nak(Some(SEC))));
        assert_eq!(parse_ack(b"+WPI"), Some(AckKind::Progress));
        assert_eq!(parse_ack(b"+TERM too bad"), Some(AckKind::Term));
        assert_eq!(parse_ack(b"+NXT 5"), Some(AckKind::Next(5)));
        assert_eq!(parse_ack(b"bogus"), None);
        assert_eq!(
            parse_ack_subject("$JS.ACK.S.C.2.10.7.1700000000.3"),
            Some((2, 10, 7))
        );
        assert_eq!(parse_ack_subject("$JS.ACK.S.C.x"), None);
        // The v2 form, with extra tokens after it; 10 tokens is neither form.
        assert_eq!(
            parse_ack_subject("$JS.ACK._.szMpdrwD.S.C.1.3.3.0.0.random"),
            Some((1, 3, 3))
        );
        assert_eq!(parse_ack_subject("$JS.ACK._.h.S.C.1.3.3.0"), None);
        assert_eq!(parse_ack(b"+OK"), Some(AckKind::Ack));
        assert_eq!(term_reason(b"+TERM with reason "), "with reason");
        assert_eq!(term_reason(b"+TERM"), "");
    }

    #[test]
    fn explicit_acks_move_the_floor_and_unacked_messages_come_back() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        assert_eq!(c.record_delivery(1, 0), (1, 1));
        assert_eq!(c.record_delivery(2, 0), (2, 1));
        assert!(!c.has_room(), "max_ack_pending reached");
        assert_eq!(c.ack(&AckKind::Ack, 2, 2, SEC), vec![2]);
        // 1 is still pending: the floor stays below it.
        assert_eq!(c.ack_floor, (0, 0));
        assert!(c.collect_due(SEC).is_empty());
        assert!(c.redeliver.is_empty());
        c.collect_due(2 * SEC);
        assert_eq!(c.redeliver, VecDeque::from([1]));
        assert_eq!(c.record_delivery(1, 2 * SEC), (3, 2));
        assert_eq!(c.num_redelivered(), 1);
        assert_eq!(c.ack(&AckKind::Ack, 1, 3, 3 * SEC), vec![1]);
        assert_eq!(c.ack_floor, (3, 2));
    }

    #[test]
    fn ack_all_acknowledges_everything_below() {
        let mut c = Cursor::new(cfg(AckPolicy::All), 1, 0);
        c.config.max_ack_pending = 10;
        for s in 1..=3 {
            c.record_delivery(s, 0);
        }
        assert_eq!(c.ack(&AckKind::Ack, 2, 2, 0), vec![1, 2]);
        assert_eq!(c.pending.len(), 1);
        assert_eq!(c.ack_floor, (2, 2));
    }

    #[test]
    fn max_deliver_stops_redelivery_and_nak_redelivers_at_once() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_deliver = 2;
        c.record_delivery(1, 0);
        c.ack(&AckKind::Nak(None), 1, 1, SEC);
        assert_eq!(c.redeliver, VecDeque::from([1]));
        c.redeliver.clear();
        c.record_delivery(1, SEC);
        // Delivered twice: when the wait runs out it leaves pending, not queued again,
        // and is kept as out of deliveries.
        let out = c.collect_due(10 * SEC);
        assert_eq!(
            out,
            vec![MaxDelivered {
                sseq: 1,
                dseq: 2,
                ts: SEC,
                dc: 2
            }]
        );
        assert!(c.pending.is_empty() && c.redeliver.is_empty());
        assert_eq!(c.ack_floor, (2, 1));
        assert_eq!(c.max_delivered, BTreeMap::from([(1, 2)]));
        assert_eq!(c.num_redelivered(), 1);
        assert_eq!(c.stored_state().redelivered, BTreeMap::from([(1, 2)]));
        assert_eq!((c.delivery_count(1), c.delivery_count(9)), (2, 1));
        c.config.max_deliver = -1;
        assert_eq!(c.max_deliveries(), 0);
    }

    #[test]
    fn a_nak_at_max_deliver_stays_pending_until_its_redelivery_comes_up() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_deliver = 1;
        c.record_delivery(1, 0);
        c.ack(&AckKind::Nak(None), 1, 1, SEC);
        // Queued, not due: neither now nor when its ack wait runs out.
        assert_eq!(c.next_deadline(), Some(2 * SEC));
        assert!(c.collect_due(SEC).is_empty());
        assert!(c.collect_due(10 * SEC).is_empty());
        assert!(c.force_expire_pending().is_empty());
        assert_eq!(c.pending.len(), 1);
        assert_eq!(c.redeliver, VecDeque::from([1]));
        // A nak with a delay takes it off the queue: due after the delay, when it is
        // out of deliveries.
        c.ack(&AckKind::Nak(Some(SEC)), 1, 1, 10 * SEC);
        assert!(c.redeliver.is_empty());
        assert!(c.collect_due(10 * SEC).is_empty());
        assert_eq!(c.collect_due(11 * SEC).len(), 1);
        assert!(c.pending.is_empty());
        // With max_deliver 1 it was never redelivered, yet Go counts it.
        assert_eq!(c.num_redelivered(), 1);
    }

    #[test]
    fn messages_out_of_deliveries_go_on_ack_or_when_gone_from_the_stream() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_deliver = 1;
        c.config.max_ack_pending = 10;
        for s in 1..=4 {
            c.record_delivery(s, 0);
        }
        c.record_delivery(5, 5 * SEC);
        assert_eq!(c.collect_due(2 * SEC).len(), 4);
        assert_eq!(c.ack_floor, (4, 4));
        assert_eq!(c.num_redelivered(), 4);
        // An ack of one out of deliveries is an ack: it goes.
        assert_eq!(c.ack(&AckKind::Ack, 2, 2, 3 * SEC), vec![2]);
        assert_eq!(c.ack(&AckKind::Term, 3, 3, 3 * SEC), vec![3]);
        assert_eq!(c.max_delivered.keys().copied().collect::<Vec<_>>(), [1, 4]);
        assert_eq!(c.ack_floor, (4, 4));
        // Removed from the stream: forgotten.
        c.drop_gone(&[4]);
        assert!(!c.drop_gone_below(1));
        assert!(c.drop_gone_below(2));
        assert!(c.max_delivered.is_empty());
        assert_eq!(c.num_redelivered(), 0);
        // Restored from the store's state.
        let mut st = c.stored_state();
        st.redelivered.insert(1, 1);
        let r = restore_cursor(c.config.clone(), &st, 0);
        assert_eq!(r.max_delivered, BTreeMap::from([(1, 1)]));
        assert_eq!(r.pending.len(), 1);
        // A reset forgets them.
        let mut r = r;
        r.reset_to(1);
        assert!(r.max_delivered.is_empty());
    }

    #[test]
    fn ack_all_takes_messages_out_of_deliveries_below_it() {
        let mut c = Cursor::new(cfg(AckPolicy::All), 1, 0);
        c.config.max_ack_pending = 10;
        c.config.max_deliver = 1;
        c.record_delivery(1, 0);
        c.record_delivery(2, 5 * SEC);
        assert_eq!(c.collect_due(2 * SEC).len(), 1);
        assert_eq!(c.ack(&AckKind::Ack, 2, 2, 3 * SEC), vec![2, 1]);
        assert!(c.max_delivered.is_empty());
    }

    #[test]
    fn progress_restarts_the_ack_wait_and_term_ends_it() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.record_delivery(1, 0);
        c.ack(&AckKind::Progress, 1, 1, SEC);
        assert_eq!(c.pending[&1].deadline, 3 * SEC);
        assert_eq!(c.ack(&AckKind::Term, 1, 1, SEC), vec![1]);
        assert!(c.pending.is_empty());
    }

    fn events_store() -> natsd_store::mem::MemStore {
        let ms = natsd_store::mem::MemStore::new(natsd_store::StreamConfig {
            name: "S".into(),
            subjects: vec!["events.>".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        for subject in ["events.foo", "events.bar", "events.baz", "events.biz"] {
            ms.store_msg(subject, b"", b"", 0).unwrap();
        }
        ms
    }

    #[test]
    fn a_kept_pending_count_stays_within_the_stream() {
        // Right counts pass.
        assert_eq!(bounded_pending(3, 3, 5, 5), 3);
        // More than the stream holds, or than the sequences left.
        assert_eq!(bounded_pending(4, 2, 1, 5), 1);
        assert_eq!(bounded_pending(9, 4, 7, 5), 2);
        // Past the stream's end only the messages bound it.
        assert_eq!(bounded_pending(1, 100, 2, 3), 1);
        assert_eq!(bounded_pending(0, 1, 0, 0), 0);
    }

    #[test]
    fn one_filter_is_asked_as_a_subject() {
        let one: SubjectFilters = ["events.foo"].into_iter().collect();
        assert_eq!(single_filter(&one), Some(("events.foo", false)));
        let wc: SubjectFilters = ["events.*"].into_iter().collect();
        assert_eq!(single_filter(&wc), Some(("events.*", true)));
        let two: SubjectFilters = ["events.foo", "events.bar"].into_iter().collect();
        assert_eq!(single_filter(&two), None);
        assert_eq!(single_filter(&SubjectFilters::new()), None);
        // The same answers whichever way the store is asked.
        let ms = events_store();
        for filters in [one, wc, two, SubjectFilters::new()] {
            let first = load_next_filtered(&ms, &filters, 2)
                .map(|(m, _)| m.seq)
                .ok();
            let multi = if filters.is_empty() {
                ms.load_next_msg("", false, 2)
            } else {
                ms.load_next_msg_multi(&filters, 2)
            };
            assert_eq!(first, multi.map(|(m, _)| m.seq).ok());
            let n = ms.num_pending_multi(1, &filters, false).unwrap().0;
            let all = ms.num_pending(1, "", false).unwrap().0;
            let want = if filters.is_empty() { all } else { n };
            assert_eq!(count_filtered(&ms, &filters, 1), want);
        }
    }

    #[test]
    fn stored_between_jumps_over_deleted_runs() {
        let ms = events_store();
        // Ten million sequences used up without a message, then one more message.
        ms.skip_msgs(5, 10_000_000).unwrap();
        ms.store_msg("events.foo", b"", b"", 0).unwrap();
        let none = SubjectFilters::new();
        let started = std::time::Instant::now();
        let all: Vec<u64> = stored_between(&ms, &none, 1, u64::MAX).collect();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(all, vec![1, 2, 3, 4, 10_000_005]);
        let foo: SubjectFilters = ["events.foo"].into_iter().collect();
        let seqs: Vec<u64> = stored_between(&ms, &foo, 1, u64::MAX).collect();
        assert_eq!(seqs, vec![1, 10_000_005]);
        // Bounded on both sides.
        let seqs: Vec<u64> = stored_between(&ms, &none, 2, 10_000_004).collect();
        assert_eq!(seqs, vec![2, 3, 4]);
        assert_eq!(stored_between(&ms, &none, 5, 4).count(), 0);
    }

    fn start_of(cfg: &ConsumerConfig, store: &dyn Store, mmp: i64) -> StartPosition {
        start_sequence(cfg, store, &config_filters(cfg), mmp)
    }

    #[test]
    fn start_positions_follow_go() {
        let ms = events_store();
        let mut c = ConsumerConfig::default();
        assert_eq!(start_of(&c, &ms, 0).start, 1);
        c.deliver_policy = DeliverPolicy::New;
        assert_eq!(start_of(&c, &ms, 0).start, 5);
        // Last with filters: the latest message any filter takes.
        c.deliver_policy = DeliverPolicy::Last;
        c.filter_subjects = vec!["events.foo".into(), "events.baz".into()];
        assert_eq!(start_of(&c, &ms, 0).start, 3);
        // By time, filtered: skipped ahead to the first message a filter takes.
        c.deliver_policy = DeliverPolicy::ByStartTime;
        c.opt_start_time = Some(GoTime::from_unix_nanos(1));
        c.filter_subjects = vec!["events.bar".into(), "events.baz".into()];
        assert_eq!(start_of(&c, &ms, 0).start, 2);
        // By time in the future: the next message.
        c.opt_start_time = Some(GoTime::from_unix_nanos(i64::MAX / 2));
        assert_eq!(start_of(&c, &ms, 0).start, 5);
        // Last per subject: the list first, then new messages.
        c.deliver_policy = DeliverPolicy::LastPerSubject;
        c.opt_start_time = None;
        c.filter_subjects.clear();
        let pos = start_of(&c, &ms, 0);
        assert_eq!((pos.start, pos.lps.len(), pos.resume), (1, 4, Some(5)));
        // With one message a subject it is deliver-all.
        assert_eq!(
            start_of(&c, &ms, 1),
            StartPosition {
                start: 1,
                ..Default::default()
            }
        );
        let cur = Cursor::at(c, pos, 0);
        assert_eq!(
            (cur.next_sseq, cur.delivered_sseq, cur.ack_floor.1),
            (5, 0, 0)
        );
    }

    #[test]
    fn messages_gone_from_the_stream_leave_pending_and_move_the_floor() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_ack_pending = 10;
        for s in 1..=3 {
            c.record_delivery(s, 0);
        }
        c.drop_gone_below(3);
        assert_eq!(c.pending.keys().copied().collect::<Vec<_>>(), vec![3]);
        assert_eq!(c.ack_floor, (2, 2));
        c.drop_gone_below(10);
        assert!(c.pending.is_empty());
        assert_eq!((c.ack_floor, c.next_sseq), ((3, 3), 10));
    }

    #[test]
    fn the_next_ack_deadline_may_be_early_after_acks_but_never_late() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.record_delivery(1, 0);
        c.record_delivery(2, SEC);
        assert_eq!(c.next_deadline(), Some(2 * SEC));
        c.ack(&AckKind::Ack, 1, 1, SEC);
        // Still the acked message's deadline: the check then finds nothing due.
        assert_eq!(c.next_deadline(), Some(2 * SEC));
        assert!(c.collect_due(2 * SEC).is_empty());
        assert!(c.redeliver.is_empty());
        assert_eq!(c.next_deadline(), Some(3 * SEC));
        // Nothing is looked at before then.
        assert!(c.collect_due(3 * SEC - 1).is_empty());
        assert!(c.redeliver.is_empty());
        assert!(c.collect_due(3 * SEC).is_empty());
        assert_eq!(c.redeliver, VecDeque::from([2]));
        // Waiting for its redelivery, it is not due again.
        assert_eq!(c.next_deadline(), None);
        // A nak with a delay brings the deadline forward.
        c.record_delivery(2, 4 * SEC);
        c.ack(&AckKind::Nak(Some(SEC / 2)), 2, 3, 4 * SEC);
        assert_eq!(c.next_deadline(), Some(4 * SEC + SEC / 2));
    }

    #[test]
    fn a_new_deliver_subject_redelivers_everything_pending() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_ack_pending = 10;
        c.config.max_deliver = 2;
        for s in 1..=3 {
            c.record_delivery(s, 0);
        }
        c.record_delivery(2, 0);
        let out: Vec<u64> = c.force_expire_pending().iter().map(|m| m.sseq).collect();
        assert_eq!(out, vec![2]);
        assert_eq!(c.redeliver, VecDeque::from([1, 3]));
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn pauses_and_push_heartbeats_are_timed_from_the_config() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        assert_eq!(c.paused_until(0), None);
        c.config.pause_until = Some(GoTime::from_unix_nanos(10 * SEC));
        assert_eq!(c.paused_until(5 * SEC), Some(10 * SEC));
        assert_eq!(c.paused_until(10 * SEC), None);
        // Pull consumers have no push heartbeats; push ones one interval after the
        // last thing sent.
        c.config.heartbeat = SEC;
        assert_eq!(c.push_heartbeat_due(), None);
        c.config.deliver_subject = "d".into();
        c.last_push = 3 * SEC;
        assert_eq!(c.push_heartbeat_due(), Some(4 * SEC));
        assert_eq!(c.next_deadline(), Some(4 * SEC));
    }

    #[test]
    fn acks_are_sampled_at_the_configured_rate() {
        assert_eq!(sample_frequency("50%"), 50);
        assert_eq!(sample_frequency("100"), 100);
        assert_eq!(sample_frequency(""), 0);
        assert!(!should_sample(0, 0));
        assert!(should_sample(100, 99));
        assert!(should_sample(50, 50) && !should_sample(50, 51));
    }

    #[test]
    fn resets_follow_the_deliver_policy() {
        let mut cfg = ConsumerConfig::default();
        assert_eq!(reset_target(&cfg, 4, 0, || 0), Ok(5));
        assert_eq!(reset_target(&cfg, 4, 2, || 0), Ok(2));
        cfg.deliver_policy = DeliverPolicy::ByStartSequence;
        cfg.opt_start_seq = 3;
        assert_eq!(reset_target(&cfg, 0, 2, || 0), Err("below start seq"));
        assert_eq!(reset_target(&cfg, 0, 3, || 0), Ok(3));
        cfg.deliver_policy = DeliverPolicy::ByStartTime;
        assert_eq!(reset_target(&cfg, 0, 2, || 3), Err("below start time"));
        cfg.deliver_policy = DeliverPolicy::New;
        assert_eq!(reset_target(&cfg, 0, 2, || 0), Err("not allowed"));
        let mut c = Cursor::new(cfg, 1, 0);
        c.record_delivery(1, 0);
        c.reset_to(3);
        assert_eq!(
            (c.dseq, c.delivered_sseq, c.ack_floor, c.next_sseq),
            (0, 2, (0, 2), 3)
        );
        assert!(c.pending.is_empty());
    }

    #[test]
    fn a_stream_that_lost_data_brings_the_consumer_back() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_ack_pending = 10;
        for s in 1..=2 {
            c.record_delivery(s, 0);
            c.ack(&AckKind::Ack, s, s, 0);
        }
        assert_eq!((c.dseq, c.ack_floor), (2, (2, 2)));
        c.reconcile_with_stream(1);
        // Message 2 is next again; consumer sequences keep going up.
        assert_eq!(
            (c.next_sseq, c.delivered_sseq, c.dseq, c.ack_floor),
            (2, 1, 2, (2, 1))
        );
        let st = c.stored_state();
        assert_eq!((st.delivered.stream, st.ack_floor.stream), (1, 1));
    }

    #[test]
    fn the_pending_count_follows_deliveries_and_knows_when_to_count_again() {
        let k = PendingCount {
            count: 5,
            next_sseq: 3,
            first_seq: 1,
            last_seq: 10,
            msgs: 10,
        };
        // Appends only.
        assert!(k.only_appended(1, 12, 12));
        // A removal (fewer messages than the sequences grew by), a purge.
        assert!(!k.only_appended(1, 12, 11));
        assert!(!k.only_appended(4, 12, 9));
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 3, 0);
        c.npc = Some(k);
        c.npc_delivered(7);
        assert_eq!(c.npc.map(|k| (k.count, k.next_sseq)), Some((4, 8)));
        // Past what was counted: count again.
        c.npc_delivered(11);
        assert_eq!(c.npc, None);
    }

    #[test]
    fn ack_none_keeps_nothing_pending() {
        let mut c = Cursor::new(cfg(AckPolicy::None), 5, 0);
        c.record_delivery(5, 0);
        c.record_delivery(6, 0);
        assert!(c.pending.is_empty());
        assert_eq!(c.ack_floor, (2, 6));
        assert!(c.has_room());
    }
}
