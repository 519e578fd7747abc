//! A consumer: a cursor over a stream that delivers its messages, tracks their acks and
//! redelivers what is not acknowledged in time.
//!
//! The bookkeeping is [`Cursor`] (pure, time passed in): what to deliver next, what is
//! pending, what is due again, what the acks change. [`Consumer`] wraps it with I/O: a
//! socketless internal client subscribed to the consumer's ack subject and (pull
//! consumers) its `MSG.NEXT` subject, the deliveries published into the account, the
//! state saved in the consumer store, and a task that wakes on new messages, requests,
//! acks and deadlines.

use super::api::types::{
    AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy, NextRequest, RetentionPolicy,
    SequenceInfo,
};
use super::stream::Stream;
use crate::account::Account;
use crate::client::Subscription;
use crate::events::internal::{Handler, InMsg, InternalClient};
use crate::monitor::gotime::{now_nanos, GoTime};
use crate::server::ServerShared;
use crate::sublist::{InterestListener, Listener};
use natsd_store::{ConsumerStore, Store, StoreMsg, SubjectFilters};
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

mod pacing;
mod waiting;
pub use pacing::{RateLimiter, Replay};
pub use waiting::{parse_next_request, BadRequest, PullRequest, Status, WaitQueue};

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
    fn only_appended(&self, first_seq: u64, last_seq: u64, msgs: u64) -> bool {
        first_seq == self.first_seq
            && last_seq >= self.last_seq
            && msgs.checked_sub(self.msgs) == Some(last_seq - self.last_seq)
    }
}

impl Cursor {
    pub fn new(config: ConsumerConfig, start: u64, now: i64) -> Cursor {
        Cursor {
            filters: config_filters(&config),
            config,
            next_sseq: start.max(1),
            dseq: 0,
            delivered_sseq: start.saturating_sub(1),
            last_delivered: 0,
            pending: BTreeMap::new(),
            redeliver: VecDeque::new(),
            ack_floor: (0, start.saturating_sub(1)),
            last_ack: 0,
            lps: VecDeque::new(),
            waiting: WaitQueue::default(),
            last_activity: now,
            last_push: now,
            npc: None,
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
        self.config = config;
        self.npc = None;
    }

    /// A new message at `seq` is delivered: it leaves the pending count.
    fn npc_delivered(&mut self, seq: u64) {
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
    fn wait_for(&self, dc: u64) -> i64 {
        let b = &self.config.backoff;
        if b.is_empty() {
            return self.ack_wait();
        }
        let i = (dc.saturating_sub(1) as usize).min(b.len() - 1);
        b[i]
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
    fn update_floor(&mut self) {
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
                AckPolicy::All => {
                    let upto: Vec<u64> = self.pending.range(..=sseq).map(|(&s, _)| s).collect();
                    for s in upto {
                        self.pending.remove(&s);
                        acked.push(s);
                    }
                    // Everything below was delivered and is acknowledged with it.
                    if self.pending.is_empty() || sseq > self.ack_floor.1 {
                        self.ack_floor = (dseq.max(self.ack_floor.0), sseq.max(self.ack_floor.1));
                    }
                }
                AckPolicy::None => {}
                _ => {
                    if self.pending.remove(&sseq).is_some() {
                        acked.push(sseq);
                    }
                }
            },
            AckKind::Term => {
                if self.pending.remove(&sseq).is_some() {
                    acked.push(sseq);
                }
            }
            AckKind::Nak(delay) => {
                if let Some(p) = self.pending.get_mut(&sseq) {
                    p.deadline = now.saturating_add(delay.unwrap_or(0).max(0));
                    if delay.unwrap_or(0) <= 0 && !self.redeliver.contains(&sseq) {
                        self.redeliver.push_back(sseq);
                    }
                }
            }
            AckKind::Progress => {
                let wait = self.pending.get(&sseq).map(|p| self.wait_for(p.dc));
                if let (Some(p), Some(wait)) = (self.pending.get_mut(&sseq), wait) {
                    p.deadline = now.saturating_add(wait);
                }
            }
        }
        if !acked.is_empty() {
            self.last_ack = now;
            self.redeliver.retain(|s| self.pending.contains_key(s));
            // With ack-all and nothing left pending, the floor was set to the ack above.
            if self.config.ack_policy != AckPolicy::All || !self.pending.is_empty() {
                self.update_floor();
            }
        }
        acked
    }

    /// Queues the pending messages whose ack wait ran out; those past `max_deliver`
    /// are dropped from pending (returned) instead.
    pub fn collect_due(&mut self, now: i64) -> Vec<u64> {
        let mut exhausted = Vec::new();
        let max = self.config.max_deliver;
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(&s, _)| s)
            .collect();
        for s in due {
            let dc = self.pending.get(&s).map_or(0, |p| p.dc);
            if max > 0 && dc >= max as u64 {
                // Delivered as often as allowed: it stays acknowledged-as-failed.
                self.pending.remove(&s);
                exhausted.push(s);
            } else if !self.redeliver.contains(&s) {
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
    /// heartbeat.
    pub fn next_deadline(&self) -> Option<i64> {
        let acks = self
            .pending
            .values()
            .map(|p| p.deadline)
            .filter(|&d| d != i64::MAX);
        acks.chain(self.waiting.next_deadline())
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
        }
        self.pending.retain(|&s, _| s <= last_seq);
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
            redelivered: self
                .pending
                .iter()
                .filter(|(_, p)| p.dc > 1)
                .map(|(&s, p)| (s, p.dc - 1))
                .collect(),
        }
    }

    /// Starts over at stream sequence `seq`: nothing pending or delivered, the floors
    /// just below it (Go's `resetLocalStartingSeq`).
    pub fn reset_to(&mut self, seq: u64) {
        self.npc = None;
        self.pending.clear();
        self.redeliver.clear();
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
    pub fn force_expire_pending(&mut self) -> Vec<u64> {
        let max = self.config.max_deliver;
        let mut exhausted = Vec::new();
        let seqs: Vec<u64> = self.pending.keys().copied().collect();
        for s in seqs {
            if self.redeliver.contains(&s) {
                continue;
            }
            let dc = self.pending.get(&s).map_or(0, |p| p.dc);
            if max > 0 && dc >= max as u64 {
                self.pending.remove(&s);
                exhausted.push(s);
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
        exhausted
    }

    /// The stream's messages below `first_seq` are gone (expired, purged): nothing to
    /// deliver or wait for there, and the ack floor moves past those that were pending
    /// (Go treats a pending message removed from the stream as acknowledged).
    pub fn drop_gone_below(&mut self, first_seq: u64) {
        if self.next_sseq < first_seq {
            self.next_sseq = first_seq;
            self.npc = None;
        }
        self.redeliver.retain(|&s| s >= first_seq);
        self.lps.retain(|&s| s >= first_seq);
        let before = self.pending.len();
        self.pending.retain(|&s, _| s >= first_seq);
        if self.pending.len() != before {
            self.update_floor();
        }
    }

    /// Messages of the stream gone above its first sequence (a purge of one subject
    /// under a wider filter): they leave pending and redelivery, and the ack floor moves
    /// as after an ack (Go's purge with isWider).
    pub fn drop_gone(&mut self, gone: &[u64]) {
        let before = self.pending.len();
        for s in gone {
            self.pending.remove(s);
        }
        self.redeliver.retain(|s| !gone.contains(s));
        if self.pending.len() != before {
            self.update_floor();
        }
    }

    /// Messages delivered more than once and still pending.
    pub fn num_redelivered(&self) -> u64 {
        self.pending.values().filter(|p| p.dc > 1).count() as u64
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

/// A consumer of a stream.
pub struct Consumer {
    server: Weak<ServerShared>,
    pub name: String,
    pub stream_name: String,
    pub created: GoTime,
    stream: Weak<Stream>,
    account: Arc<Account>,
    client: Arc<InternalClient>,
    store: Arc<dyn ConsumerStore>,
    /// Ack replies in the v2 form (feature flag `js_ack_fc_v2`) and the domain they name.
    ack_v2: bool,
    domain: String,
    pub cursor: Mutex<Cursor>,
    wake: Arc<tokio::sync::Notify>,
    /// A push consumer's listener is there (Go's `active`), kept by the sublist's
    /// interest notifications on the deliver subject.
    active: Arc<AtomicBool>,
    interest_lost_at: Arc<AtomicI64>,
    interest: Mutex<Option<(String, String, Listener)>>,
    /// When a pause ends and its advisory is due (ns), 0 for none (Go's pause timer).
    unpause_at: AtomicI64,
    /// Replay at the original rate and the rate limit (push), as the config asks.
    pacing: Mutex<(Replay, Option<RateLimiter>)>,
    subs: Mutex<Vec<Arc<Subscription>>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.stream_name)
            .field("name", &self.name)
            .finish_non_exhaustive()
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

/// What [`Consumer::next_message`] found.
enum Next {
    Msg(StoreMsg, Source),
    /// Only redeliveries may go out: `max_ack_pending` is reached.
    NoRoom,
    /// Nothing more in the stream for this consumer.
    Eof,
}

/// Where a message to deliver came from, to put it back when no request takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Redelivery,
    LastPerSubject,
    New,
}

/// The sublist listener of a push consumer's deliver subject: keeps the consumer's
/// `active` flag and wakes it when a listener comes. It must not block (it runs under
/// the sublist's lock).
struct InterestWatch {
    active: Arc<AtomicBool>,
    /// When the listener last went (ns): an inactive threshold counts from there.
    lost_at: Arc<AtomicI64>,
    wake: Arc<tokio::sync::Notify>,
}

impl InterestListener for InterestWatch {
    fn notify(&self, has_interest: bool) {
        let was = self.active.swap(has_interest, Ordering::AcqRel);
        if was != has_interest {
            if !has_interest {
                self.lost_at.store(now_nanos(), Ordering::Release);
            }
            // Deliver now, or time an inactive threshold from now.
            self.wake.notify_one();
        }
    }
}

impl Consumer {
    /// A consumer over `stream` with a cursor already positioned; `start` subscribes it.
    pub fn new(
        server: &Arc<ServerShared>,
        stream: &Arc<Stream>,
        name: &str,
        created: GoTime,
        cursor: Cursor,
        store: Arc<dyn ConsumerStore>,
    ) -> Arc<Consumer> {
        let opts = server.opts();
        let ack_v2 = crate::feature_flags::get(
            crate::feature_flags::DEFAULTS,
            &opts.feature_flags,
            "js_ack_fc_v2",
        );
        Arc::new(Consumer {
            server: Arc::downgrade(server),
            name: name.to_string(),
            stream_name: stream.name.clone(),
            created,
            stream: Arc::downgrade(stream),
            account: stream.account.clone(),
            client: Arc::new(InternalClient::new(0, stream.account.clone())),
            store,
            ack_v2,
            domain: opts.jetstream_domain.clone(),
            cursor: Mutex::new(cursor),
            wake: Arc::new(tokio::sync::Notify::new()),
            active: Arc::new(AtomicBool::new(false)),
            interest_lost_at: Arc::new(AtomicI64::new(0)),
            interest: Mutex::new(None),
            unpause_at: AtomicI64::new(0),
            pacing: Mutex::new((Replay::default(), None)),
            subs: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    pub fn config(&self) -> ConsumerConfig {
        self.cursor.lock().config.clone()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The subject acks of this consumer are published on.
    fn ack_prefix(&self) -> String {
        if self.ack_v2 {
            format!(
                "$JS.ACK.{}.{}.{}.{}",
                self.domain_token(),
                crate::events::hash8(&self.account.name),
                self.stream_name,
                self.name
            )
        } else {
            format!("$JS.ACK.{}.{}", self.stream_name, self.name)
        }
    }

    /// The JetStream domain as ack subjects carry it (`_` for none).
    fn domain_token(&self) -> String {
        if self.domain.is_empty() {
            "_".to_string()
        } else {
            self.domain.clone()
        }
    }

    /// Subscribes the ack subject (and `MSG.NEXT` for pull consumers) and starts the
    /// delivery task.
    pub fn start(self: &Arc<Self>, server: &Arc<ServerShared>) -> Result<(), String> {
        let mut subs = self.subs.lock();
        // Acks come in both forms, whichever the replies use (Go subscribes both); a
        // consumer without acks takes none.
        if self.cursor.lock().config.ack_policy != AckPolicy::None {
            let v1 = format!("$JS.ACK.{}.{}.*.*.*.*.*", self.stream_name, self.name);
            let v2 = format!(
                "$JS.ACK.{}.{}.{}.{}.*.*.*.*.>",
                self.domain_token(),
                crate::events::hash8(&self.account.name),
                self.stream_name,
                self.name
            );
            for subject in [v1, v2] {
                let weak = Arc::downgrade(self);
                let on_ack: Handler = Arc::new(move |server, _acc, msg| {
                    if let Some(c) = weak.upgrade() {
                        c.process_ack(server, msg);
                    }
                });
                subs.push(
                    self.client
                        .subscribe(&self.account, &subject, None, on_ack)?,
                );
            }
        }
        let weak = Arc::downgrade(self);
        let on_next: Handler = Arc::new(move |server, _acc, msg| {
            if let Some(c) = weak.upgrade() {
                c.process_next_request(server, &msg.reply, &msg.payload);
            }
        });
        subs.push(self.client.subscribe(
            &self.account,
            &format!(
                "$JS.API.CONSUMER.MSG.NEXT.{}.{}",
                self.stream_name, self.name
            ),
            None,
            on_next,
        )?);
        let weak = Arc::downgrade(self);
        let on_reset: Handler = Arc::new(move |server, _acc, msg| {
            if let Some(c) = weak.upgrade() {
                c.process_reset(server, &msg.reply, &msg.payload);
            }
        });
        subs.push(self.client.subscribe(
            &self.account,
            &format!("$JS.API.CONSUMER.RESET.{}.{}", self.stream_name, self.name),
            None,
            on_reset,
        )?);
        drop(subs);
        self.watch_interest();
        self.arm_pause(now_nanos());
        self.set_pacing(server, true);
        let dispatcher = tokio::spawn(crate::events::internal::dispatch_loop_blocking(
            Arc::downgrade(server),
            self.client.clone(),
        ));
        let delivery = tokio::spawn(delivery_loop(Arc::downgrade(server), Arc::downgrade(self)));
        let mut tasks = self.tasks.lock();
        tasks.push(dispatcher.abort_handle());
        tasks.push(delivery.abort_handle());
        Ok(())
    }

    /// Wakes the delivery task (new messages, requests, acks).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Follows interest in the deliver subject of a push consumer (Go registers an
    /// interest notification), replacing any earlier registration.
    fn watch_interest(&self) {
        let (deliver, group) = {
            let c = self.cursor.lock();
            (
                c.config.deliver_subject.clone(),
                c.config.deliver_group.clone(),
            )
        };
        let mut reg = self.interest.lock();
        if let Some((d, g, l)) = reg.take() {
            if g.is_empty() {
                self.account.sublist.clear_notification(&d, &l);
            } else {
                self.account.sublist.clear_queue_notification(&d, &g, &l);
            }
        }
        if deliver.is_empty() {
            self.active.store(false, Ordering::Release);
            return;
        }
        let listener: Listener = Arc::new(InterestWatch {
            active: self.active.clone(),
            lost_at: self.interest_lost_at.clone(),
            wake: self.wake.clone(),
        });
        let registered = if group.is_empty() {
            self.account
                .sublist
                .register_notification(&deliver, listener.clone())
        } else {
            self.account
                .sublist
                .register_queue_notification(&deliver, &group, listener.clone())
        };
        if registered.is_ok() {
            *reg = Some((deliver, group, listener));
        }
    }

    /// Takes an updated configuration: filters, deliver subject and limits apply from
    /// now on.
    pub fn update_config(&self, cfg: ConsumerConfig) {
        self.persist_config(&cfg);
        let pause_changed = self.cursor.lock().config.pause_until != cfg.pause_until;
        let (deliver_changed, exhausted) = {
            let mut c = self.cursor.lock();
            let changed = c.config.deliver_subject != cfg.deliver_subject
                || c.config.deliver_group != cfg.deliver_group;
            // What was out on the old deliver subject goes to the new one.
            let exhausted = if changed
                && !c.config.deliver_subject.is_empty()
                && !cfg.deliver_subject.is_empty()
            {
                c.force_expire_pending()
            } else {
                Vec::new()
            };
            c.set_config(cfg);
            (changed, exhausted)
        };
        if !exhausted.is_empty() {
            if let Some(stream) = self.stream.upgrade() {
                stream.acked_by_consumer(&self.name, &exhausted);
            }
        }
        if deliver_changed {
            self.watch_interest();
        }
        if pause_changed {
            self.arm_pause(now_nanos());
            self.send_pause_advisory();
        }
        if let Some(server) = self.server.upgrade() {
            self.set_pacing(&server, false);
        }
        self.notify();
    }

    /// Sets up the rate limit from the config, and at the start a replay at the original
    /// rate of what the stream holds (Go: `setRateLimit`, `o.replay`).
    fn set_pacing(&self, server: &ServerShared, starting: bool) {
        let cfg = self.config();
        let now = now_nanos();
        let stream = self.stream.upgrade();
        let mut pacing = self.pacing.lock();
        if starting && cfg.replay_policy == super::api::types::ReplayPolicy::Original {
            let last = stream
                .as_ref()
                .map_or(0, |s| s.store().fast_state().last_seq);
            pacing.0 = Replay::new(last);
        }
        pacing.1 = (cfg.rate_limit > 0).then(|| {
            // The burst is the largest message there can be (Go).
            let max_msg = stream
                .as_ref()
                .map_or(0, |s| s.config().max_msg_size)
                .max(0);
            let burst = if max_msg > 0 {
                i64::from(max_msg)
            } else {
                server.opts().max_payload as i64
            };
            RateLimiter::new(cfg.rate_limit, burst, now)
        });
    }

    /// Times the end of a pause in the config (Go's `updatePauseState`).
    fn arm_pause(&self, now: i64) {
        let until = self.cursor.lock().paused_until(now).unwrap_or(0);
        self.unpause_at.store(until, Ordering::Release);
    }

    /// Go's pause advisory on `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<stream>.<consumer>`:
    /// whether the consumer is paused now and until when; only when someone listens.
    pub fn send_pause_advisory(&self) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.PAUSE.{}.{}",
            self.stream_name, self.name
        );
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        let until = self
            .cursor
            .lock()
            .config
            .pause_until
            .unwrap_or(GoTime::ZERO);
        let paused = !until.is_zero() && until.unix_nanos() > now_nanos();
        let mut advisory = serde_json::json!({
            "type": "io.nats.jetstream.advisory.v1.consumer_pause",
            "id": crate::events::messages::next_event_id(),
            "timestamp": GoTime::now(),
            "stream": self.stream_name,
            "consumer": self.name,
            "paused": paused,
            "pause_until": until,
        });
        if !self.domain.is_empty() {
            advisory["domain"] = serde_json::json!(self.domain);
        }
        let body = crate::monitor::http::to_go_json_compact(&advisory);
        let Some(server) = self.server.upgrade() else {
            return;
        };
        crate::events::internal::publish(
            &server,
            &self.client,
            &self.account,
            &subject,
            None,
            None,
            &body,
        );
    }

    /// When the running pause ends and is announced (ns), if one is timed (Go's `uptmr`).
    pub fn pause_timer(&self) -> Option<i64> {
        Some(self.unpause_at.load(Ordering::Acquire)).filter(|&t| t > 0)
    }

    /// A paused consumer (Go's `Paused` and `PauseRemaining` of its info).
    pub fn pause_state(&self, now: i64) -> (bool, i64) {
        match self.cursor.lock().paused_until(now) {
            Some(until) => (true, until - now),
            None => (false, 0),
        }
    }

    /// Keeps an updated configuration in the consumer store and, for a file stream, in
    /// the consumer's `meta.inf` (Go's `UpdateConfig`), so it survives a restart.
    fn persist_config(&self, cfg: &ConsumerConfig) {
        let mut config = cfg.clone();
        if config.name.is_empty() {
            config.name = self.name.clone();
        }
        let scfg = natsd_store::ConsumerConfig {
            name: self.name.clone(),
            ack_policy: match config.ack_policy {
                AckPolicy::None => natsd_store::AckPolicy::None,
                AckPolicy::All => natsd_store::AckPolicy::All,
                AckPolicy::Explicit => natsd_store::AckPolicy::Explicit,
                AckPolicy::FlowControl => natsd_store::AckPolicy::FlowControl,
            },
            max_deliver: config.max_deliver,
        };
        let _ = self.store.update_config(&scfg);
        let Some(dir) = self.stream.upgrade().and_then(|s| s.dir.clone()) else {
            return;
        };
        let meta = super::meta::ConsumerMeta {
            created: self.created,
            name: self.name.clone(),
            config,
        };
        let odir = dir.join(super::meta::CONSUMER_DIR).join(&self.name);
        let _ = super::meta::write_consumer_meta(&odir, &self.stream_name, &meta);
    }

    /// Stops the consumer; its state stays in the store.
    pub fn stop(&self, server: &ServerShared) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Pull requests still waiting are told the server is going (Go's
        // signalPullConsumers; a deleted consumer has told them already).
        let waiting = self.cursor.lock().waiting.drain();
        for w in waiting {
            let hdr = w.status_with_pending(409, "Server Shutdown");
            self.publish_status(server, &w.reply, &hdr);
        }
        if let Some((d, g, l)) = self.interest.lock().take() {
            if g.is_empty() {
                self.account.sublist.clear_notification(&d, &l);
            } else {
                self.account.sublist.clear_queue_notification(&d, &g, &l);
            }
        }
        for sub in self.subs.lock().drain(..) {
            self.client.unsubscribe(server, &sub);
        }
        self.client.close(server);
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        let _ = self.store.stop();
    }

    /// Stops the consumer and removes its state; pull requests waiting get Go's 409.
    pub fn delete(&self, server: &ServerShared) {
        let waiting = self.cursor.lock().waiting.drain();
        for w in waiting {
            self.publish_status(server, &w.reply, "NATS/1.0 409 Consumer Deleted\r\n\r\n");
        }
        self.stop(server);
        let _ = self.store.delete();
    }

    /// The consumer's info as the API reports it.
    pub fn info(&self, server: &ServerShared) -> ConsumerInfo {
        let mut statuses = Vec::new();
        let (cfg, delivered, ack_floor, pending, redelivered, waiting, num_pending, last, last_ack) = {
            let mut c = self.cursor.lock();
            if let Some(s) = self.stream.upgrade() {
                c.drop_gone_below(s.store().fast_state().first_seq);
            }
            // Go drops expired requests and those nobody listens to before counting.
            if c.is_pull() {
                self.process_waiting(&mut c, now_nanos(), false, &mut statuses);
            }
            (
                c.config.clone(),
                (c.dseq, c.delivered_sseq),
                c.ack_floor,
                c.pending.len() as u64,
                c.num_redelivered(),
                c.waiting.len() as u64,
                self.num_pending(&mut c),
                c.last_delivered,
                c.last_ack,
            )
        };
        self.publish_statuses(server, statuses);
        let when = |ns: i64| (ns != 0).then(|| GoTime::from_unix_nanos(ns));
        // Redeliveries are off with max_deliver 1: Go does not report them then.
        let redelivered = if cfg.max_deliver == 1 { 0 } else { redelivered };
        let push_bound = !cfg.deliver_subject.is_empty() && self.active.load(Ordering::Acquire);
        let (paused, pause_remaining) = self.pause_state(now_nanos());
        ConsumerInfo {
            stream: self.stream_name.clone(),
            name: self.name.clone(),
            created: self.created,
            config: Some(cfg),
            delivered: SequenceInfo {
                consumer: delivered.0,
                stream: delivered.1,
                last: when(last),
            },
            ack_floor: SequenceInfo {
                consumer: ack_floor.0,
                stream: ack_floor.1,
                last: when(last_ack),
            },
            num_ack_pending: pending,
            num_redelivered: redelivered,
            num_waiting: waiting,
            num_pending,
            cluster: None,
            push_bound,
            paused,
            pause_remaining,
            timestamp: GoTime::now(),
        }
    }

    fn publish_status(&self, server: &ServerShared, reply: &str, header: &str) {
        crate::events::internal::publish(
            server,
            &self.client,
            &self.account,
            reply,
            None,
            Some(header.as_bytes()),
            b"",
        );
    }

    /// An empty message (the answer to an ack sent as a request).
    fn publish_empty(&self, server: &ServerShared, reply: &str) {
        crate::events::internal::publish(
            server,
            &self.client,
            &self.account,
            reply,
            None,
            None,
            b"",
        );
    }

    fn publish_statuses(&self, server: &ServerShared, statuses: Vec<Status>) {
        for st in statuses {
            self.publish_status(server, &st.reply, &st.header);
        }
    }

    /// Whether anyone listens on `reply` (a pull request nobody waits for any more is
    /// dropped, as Go does).
    fn reply_has_interest(&self, reply: &str) -> bool {
        self.account.sublist.has_interest(reply)
    }

    /// Go's `processWaiting` on the consumer: expiries, heartbeats, requests nobody
    /// listens to; at the end of the stream (`eos`) no-wait requests that cannot wait.
    fn process_waiting(&self, c: &mut Cursor, now: i64, eos: bool, out: &mut Vec<Status>) {
        if c.waiting.is_empty() {
            return;
        }
        let last = (c.dseq, c.next_sseq.saturating_sub(1));
        c.waiting
            .process(now, eos, &|r| self.reply_has_interest(r), last, out);
    }

    /// Handles a pull request on `MSG.NEXT` (Go's `processNextMsgRequest`).
    fn process_next_request(&self, server: &ServerShared, reply: &str, body: &[u8]) {
        if reply.is_empty() {
            return;
        }
        let now = now_nanos();
        let mut c = self.cursor.lock();
        let refuse = |c: parking_lot::MutexGuard<'_, Cursor>, hdr: String| {
            drop(c);
            self.publish_status(server, reply, &hdr);
        };
        if !c.is_pull() {
            return refuse(c, "NATS/1.0 409 Consumer is push based\r\n\r\n".into());
        }
        let req = match parse_next_request(body) {
            Ok(r) => r,
            Err(BadRequest(e)) => {
                return refuse(c, format!("NATS/1.0 400 Bad Request - {e}\r\n\r\n"));
            }
        };
        let cfg = &c.config;
        if cfg.max_request_batch > 0 && req.batch > cfg.max_request_batch {
            let hdr = format!(
                "NATS/1.0 409 Exceeded MaxRequestBatch of {}\r\n\r\n",
                cfg.max_request_batch
            );
            return refuse(c, hdr);
        }
        if req.expires > 0 && cfg.max_request_expires > 0 && req.expires > cfg.max_request_expires {
            let hdr = format!(
                "NATS/1.0 409 Exceeded MaxRequestExpires of {}\r\n\r\n",
                crate::monitor::gotime::go_duration_string(cfg.max_request_expires)
            );
            return refuse(c, hdr);
        }
        if req.max_bytes > 0
            && cfg.max_request_max_bytes > 0
            && req.max_bytes > cfg.max_request_max_bytes
        {
            let hdr = format!(
                "NATS/1.0 409 Exceeded MaxRequestMaxBytes of {}\r\n\r\n",
                cfg.max_request_max_bytes
            );
            return refuse(c, hdr);
        }
        let max_waiting = cfg.max_waiting;
        let mut statuses = Vec::new();
        if max_waiting > 0 && c.waiting.len() as i64 >= max_waiting {
            // Full: expired requests may make room.
            self.process_waiting(&mut c, now, false, &mut statuses);
        }
        if req.no_wait {
            let pending = self.num_pending(&mut c) + c.redeliver.len() as u64;
            if pending == 0 && req.expires <= 0 {
                // A request answered at once still counts as activity (Go's
                // waiting.last): an idle consumer polled this way is not deleted.
                c.last_activity = now;
                drop(c);
                self.publish_statuses(server, statuses);
                return self.publish_status(server, reply, "NATS/1.0 404 No Messages\r\n\r\n");
            }
            if pending > 0 {
                self.process_waiting(&mut c, now, false, &mut statuses);
                if (pending as i64) < c.waiting.batch_pending() {
                    c.last_activity = now;
                    drop(c);
                    self.publish_statuses(server, statuses);
                    return self.publish_status(
                        server,
                        reply,
                        "NATS/1.0 408 Requests Pending\r\n\r\n",
                    );
                }
            }
            // Otherwise a one-shot: it waits for its expiry but ends with what it gets.
        }
        if max_waiting > 0 && c.waiting.len() as i64 >= max_waiting {
            drop(c);
            self.publish_statuses(server, statuses);
            // A client that asked for heartbeats waits for them to miss instead of
            // being told (it would ask again at once).
            if req.idle_heartbeat == 0 {
                self.publish_status(server, reply, "NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n");
            }
            return;
        }
        c.last_activity = now;
        c.waiting.push(PullRequest::new(reply, &req, now));
        drop(c);
        self.publish_statuses(server, statuses);
        self.notify();
    }

    /// Messages of the stream the consumer has not looked at yet.
    fn num_pending(&self, c: &mut Cursor) -> u64 {
        let Some(stream) = self.stream.upgrade() else {
            return 0;
        };
        let store = stream.store();
        let count_from = |seq: u64| {
            let r = if c.filters.is_empty() {
                store.num_pending(seq, "", false)
            } else {
                store.num_pending_multi(seq, &c.filters, false)
            };
            r.map(|(n, _)| n).unwrap_or(0)
        };
        let st = store.fast_state();
        let (first, last, msgs) = (st.first_seq, st.last_seq, st.msgs);
        let count = match c.npc {
            // Still right: add what the stream appended since.
            Some(k) if k.next_sseq == c.next_sseq && k.only_appended(first, last, msgs) => {
                let from = (k.last_seq + 1).max(c.next_sseq);
                k.count + if last >= from { count_from(from) } else { 0 }
            }
            _ => count_from(c.next_sseq),
        };
        c.npc = Some(PendingCount {
            count,
            next_sseq: c.next_sseq,
            first_seq: first,
            last_seq: last,
            msgs,
        });
        count + c.lps.len() as u64
    }

    /// Handles `$JS.API.CONSUMER.RESET.<stream>.<consumer>` (Go's `processResetReq`):
    /// back to the ack floor, or to the sequence asked for when the deliver policy
    /// allows it; the answer is the consumer info with `reset_seq`.
    fn process_reset(&self, server: &ServerShared, reply: &str, body: &[u8]) {
        use super::api::errors;
        const KIND: &str = "io.nats.jetstream.api.v1.consumer_reset_response";
        let answer = |resp: serde_json::Value| {
            if !reply.is_empty() {
                let body = crate::monitor::http::to_go_json_compact(&resp);
                crate::events::internal::publish(
                    server,
                    &self.client,
                    &self.account,
                    reply,
                    None,
                    None,
                    &body,
                );
            }
        };
        let fail = |e: errors::ApiError| {
            answer(serde_json::json!({"type": KIND, "error": e, "reset_seq": 0}));
        };
        let body = body.trim_ascii();
        let seq = if body.is_empty() {
            0
        } else {
            #[derive(serde::Deserialize)]
            struct ResetRequest {
                #[serde(default)]
                seq: u64,
            }
            match super::api::decode_like_go::<ResetRequest>(body) {
                Ok(r) => r.seq,
                Err(e) => return fail(errors::INVALID_JSON.with_err(&e)),
            }
        };
        let Some(stream) = self.stream.upgrade() else {
            return;
        };
        let target = {
            let mut c = self.cursor.lock();
            let start_time = c.config.opt_start_time;
            let target = reset_target(&c.config, c.ack_floor.1, seq, || {
                stream
                    .store()
                    .get_seq_from_time(start_time.map_or(0, |t| t.unix_nanos()))
            });
            if let Ok(t) = target {
                c.reset_to(t);
            }
            target
        };
        let seq = match target {
            Ok(t) => t,
            Err(why) => return fail(errors::CONSUMER_INVALID_RESET.with_err(&why)),
        };
        let _ = self.store.reset(seq - 1);
        self.notify();
        let mut resp = serde_json::to_value(self.info(server)).unwrap_or_default();
        resp["type"] = serde_json::json!(KIND);
        resp["reset_seq"] = serde_json::json!(seq);
        answer(resp);
    }

    /// Handles an ack published on the ack subject.
    fn process_ack(&self, server: &ServerShared, msg: &InMsg) {
        let Some((_dc, sseq, dseq)) = parse_ack_subject(&msg.subject) else {
            return;
        };
        let Some(kind) = parse_ack(&msg.payload) else {
            // Not an ack Go knows: it still answers a request for it.
            if sseq != 0 && !msg.reply.is_empty() {
                self.publish_empty(server, &msg.reply);
            }
            return;
        };
        let now = now_nanos();
        let mut sample = None;
        let acked = {
            let mut c = self.cursor.lock();
            // Explicit acks of pending messages may be sampled (Go's sampleAck).
            if matches!(kind, AckKind::Ack | AckKind::Next(_))
                && c.config.ack_policy == AckPolicy::Explicit
            {
                if let Some(p) = c.pending.get(&sseq) {
                    let freq = sample_frequency(&c.config.sample_frequency);
                    if should_sample(freq, rand::random::<u32>() % 100) {
                        sample = Some((now - p.ts, p.dc));
                    }
                }
            }
            let acked = c.ack(&kind, sseq, dseq, now);
            if !acked.is_empty() {
                let (fd, fs) = c.ack_floor;
                let _ = self.store.update_acks(dseq.max(fd), sseq.max(fs));
            }
            if let AckKind::Next(n) = kind {
                if !msg.reply.is_empty() && c.is_pull() {
                    let req = NextRequest {
                        batch: n,
                        ..Default::default()
                    };
                    c.waiting.push(PullRequest::new(&msg.reply, &req, now));
                }
            }
            acked
        };
        if !acked.is_empty() {
            if let Some(stream) = self.stream.upgrade() {
                stream.acked_by_consumer(&self.name, &acked);
            }
        }
        if let Some((delay, dc)) = sample {
            self.send_ack_metric(server, sseq, dseq, dc, delay);
        }
        // An ack with a reply is answered once applied (a +NXT's reply takes messages).
        if !matches!(kind, AckKind::Next(_)) && sseq != 0 && !msg.reply.is_empty() {
            self.publish_empty(server, &msg.reply);
        }
        self.notify();
    }

    /// Go's ack metric on `$JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<consumer>`, only
    /// when someone listens.
    fn send_ack_metric(&self, server: &ServerShared, sseq: u64, dseq: u64, dc: u64, delay: i64) {
        let subject = format!(
            "$JS.EVENT.METRIC.CONSUMER.ACK.{}.{}",
            self.stream_name, self.name
        );
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        let mut metric = serde_json::json!({
            "type": "io.nats.jetstream.metric.v1.consumer_ack",
            "id": crate::events::messages::next_event_id(),
            "timestamp": GoTime::now(),
            "stream": self.stream_name,
            "consumer": self.name,
            "consumer_seq": dseq,
            "stream_seq": sseq,
            "ack_time": delay,
            "deliveries": dc,
        });
        if !self.domain.is_empty() {
            metric["domain"] = serde_json::json!(self.domain);
        }
        let body = crate::monitor::http::to_go_json_compact(&metric);
        crate::events::internal::publish(
            server,
            &self.client,
            &self.account,
            &subject,
            None,
            None,
            &body,
        );
    }

    /// Whether this consumer still needs stream sequence `sseq` (interest retention):
    /// not yet delivered, or delivered and not acknowledged.
    pub fn needs(&self, sseq: u64, subject: &str) -> bool {
        let c = self.cursor.lock();
        if !is_filtered_match(&c.filters, subject) {
            return false;
        }
        sseq >= c.next_sseq || c.pending.contains_key(&sseq) || c.lps.contains(&sseq)
    }

    /// Whether messages on `subject` are for this consumer (its filters).
    pub fn interested_in(&self, subject: &str) -> bool {
        is_filtered_match(&self.cursor.lock().filters, subject)
    }

    /// After a purge: skip what is gone.
    pub fn purged(&self, first_seq: u64) {
        let mut c = self.cursor.lock();
        c.drop_gone_below(first_seq);
        // Go reports the stream sequence delivered as one below its next sequence, which
        // a purge moves past what it removed (o.sseq in Go's consumer purge): after a
        // full purge of 100 messages it is 100 whatever had been delivered.
        if c.delivered_sseq < first_seq.saturating_sub(1) {
            c.delivered_sseq = first_seq - 1;
        }
        if c.ack_floor.1 < first_seq.saturating_sub(1) {
            c.update_floor();
            if c.pending.is_empty() {
                c.ack_floor.1 = c.ack_floor.1.max(first_seq - 1);
            }
        }
        drop(c);
        self.notify();
    }

    /// The next message to deliver and where it came from: redeliveries first (even at
    /// `max_ack_pending`, as Go), then last-per-subject, then the next new message
    /// matching the filters.
    fn next_message(&self, c: &mut Cursor, store: &dyn Store, exhausted: &mut Vec<u64>) -> Next {
        let max_deliver = c.config.max_deliver;
        while let Some(s) = c.redeliver.pop_front() {
            let Some(dc) = c.pending.get(&s).map(|p| p.dc) else {
                continue;
            };
            // A NAK'd message delivered as often as allowed is done with (Go checks
            // the count as it takes a redelivery).
            if max_deliver > 0 && dc >= max_deliver as u64 {
                c.pending.remove(&s);
                c.update_floor();
                exhausted.push(s);
                continue;
            }
            match store.load_msg(s) {
                Ok(m) => return Next::Msg(m, Source::Redelivery),
                Err(_) => {
                    // Gone from the stream: nothing to redeliver.
                    c.pending.remove(&s);
                    c.update_floor();
                }
            }
        }
        if !c.has_room() {
            return Next::NoRoom;
        }
        while let Some(s) = c.lps.pop_front() {
            if let Ok(m) = store.load_msg(s) {
                return Next::Msg(m, Source::LastPerSubject);
            }
        }
        let found = if c.filters.is_empty() {
            store.load_next_msg("", false, c.next_sseq)
        } else {
            store.load_next_msg_multi(&c.filters, c.next_sseq)
        };
        match found {
            Ok((m, _)) => {
                c.npc_delivered(m.seq);
                c.next_sseq = m.seq + 1;
                Next::Msg(m, Source::New)
            }
            Err(_) => Next::Eof,
        }
    }

    /// A push consumer with a listener on its deliver subject (Go's `isActive`,
    /// reported as `push_bound`).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire) && !self.cursor.lock().is_pull()
    }

    /// Delivers what can be delivered now and answers expired or finished pull requests.
    fn deliver(&self, server: &ServerShared) {
        let Some(stream) = self.stream.upgrade() else {
            return;
        };
        let store = stream.store();
        let mut now = now_nanos();
        let mut statuses: Vec<Status> = Vec::new();
        // A pause that ended is announced (Go's pause timer).
        let unpause_at = self.unpause_at.load(Ordering::Acquire);
        if unpause_at > 0
            && now >= unpause_at
            && self
                .unpause_at
                .compare_exchange(unpause_at, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.send_pause_advisory();
        }
        let (mut exhausted, paused) = {
            let mut c = self.cursor.lock();
            c.drop_gone_below(store.fast_state().first_seq);
            let exhausted = c.collect_due(now);
            self.process_waiting(&mut c, now, false, &mut statuses);
            // An idle push consumer tells its listener it is alive (paused too).
            if c.push_heartbeat_due().is_some_and(|t| now >= t) {
                c.last_push = now;
                if self.active.load(Ordering::Acquire) {
                    let last = (c.dseq, c.next_sseq.saturating_sub(1));
                    statuses.push(Status {
                        reply: c.config.deliver_subject.clone(),
                        header: waiting::idle_heartbeat(last.0, last.1),
                    });
                }
            }
            (exhausted, c.paused_until(now).is_some())
        };
        self.publish_statuses(server, std::mem::take(&mut statuses));
        if paused {
            // Nothing goes out until the pause ends; requests still expire.
            if !exhausted.is_empty() {
                stream.acked_by_consumer(&self.name, &exhausted);
            }
            return;
        }
        loop {
            if !exhausted.is_empty() {
                stream.acked_by_consumer(&self.name, &std::mem::take(&mut exhausted));
            }
            if self.is_closed() {
                return;
            }
            let mut c = self.cursor.lock();
            // Paused meanwhile: nothing more goes out (Go checks on every message).
            if c.paused_until(now_nanos()).is_some() {
                break;
            }
            let pull = c.is_pull();
            if pull {
                if c.waiting.is_empty() {
                    return;
                }
            } else if !self.active.load(Ordering::Acquire) {
                // Push consumers deliver only while someone listens.
                return;
            }
            let (m, source) = match self.next_message(&mut c, store, &mut exhausted) {
                Next::Msg(m, source) => (m, source),
                Next::NoRoom => break,
                Next::Eof => {
                    // The end of the stream: no-wait requests that cannot wait end here.
                    if pull {
                        self.process_waiting(&mut c, now, true, &mut statuses);
                    }
                    drop(c);
                    self.publish_statuses(server, std::mem::take(&mut statuses));
                    break;
                }
            };
            let dc = c.pending.get(&m.seq).map_or(1, |p| p.dc + 1);
            let dseq = c.dseq + 1;
            let pending_after = self.num_pending(&mut c);
            let reply = format!(
                "{}.{dc}.{}.{dseq}.{}.{pending_after}",
                self.ack_prefix(),
                m.seq,
                m.ts
            );
            let headers_only = c.config.headers_only;
            let (hdr, payload): (Vec<u8>, &[u8]) = if headers_only {
                let base: &[u8] = if m.hdr.is_empty() {
                    b"NATS/1.0\r\n\r\n"
                } else {
                    &m.hdr
                };
                (
                    crate::client::header::gen_header(base, MSG_SIZE_HDR, &m.msg.len().to_string()),
                    b"",
                )
            } else {
                (m.hdr.to_vec(), &m.msg)
            };
            // Go counts the subject, the ack reply, the header and the payload.
            let size = (m.subject.len() + reply.len() + hdr.len() + payload.len()) as i64;
            let (target, request) = if pull {
                let interest = |r: &str| self.reply_has_interest(r);
                match c.waiting.next(size, now, &interest, &mut statuses) {
                    Some(w) => (w.reply.clone(), Some(w)),
                    None => {
                        // Nobody takes it now: it is next again.
                        match source {
                            Source::New => {
                                c.next_sseq = m.seq;
                                c.npc = None;
                            }
                            Source::LastPerSubject => c.lps.push_front(m.seq),
                            Source::Redelivery => c.redeliver.push_front(m.seq),
                        }
                        drop(c);
                        self.publish_statuses(server, std::mem::take(&mut statuses));
                        continue;
                    }
                }
            } else {
                (c.config.deliver_subject.clone(), None)
            };
            // Paced: the original gaps of a replay, then the rate limit (Go sleeps with
            // its lock released; so does this delivery thread).
            let wait = {
                let mut pacing = self.pacing.lock();
                let gap = pacing.0.gap(m.ts);
                pacing.0.sent(m.ts, c.next_sseq);
                let limited = match pacing.1.as_mut() {
                    Some(l) => l.reserve(size, now.saturating_add(gap)),
                    None => 0,
                };
                gap.saturating_add(limited)
            };
            if wait > 0 {
                drop(c);
                self.publish_statuses(server, std::mem::take(&mut statuses));
                std::thread::sleep(Duration::from_nanos(wait as u64));
                if self.is_closed() {
                    return;
                }
                now = now_nanos();
                c = self.cursor.lock();
            }
            let recorded = c.record_delivery(m.seq, now);
            c.last_push = now;
            debug_assert_eq!(recorded, (dseq, dc));
            let ack_none = c.config.ack_policy == AckPolicy::None;
            drop(c);
            self.publish_statuses(server, std::mem::take(&mut statuses));
            let _ = self.store.update_delivered(dseq, m.seq, dc, now);
            crate::events::internal::publish_as(
                server,
                &self.client,
                &self.account,
                &target,
                &m.subject,
                Some(&reply),
                (!hdr.is_empty()).then_some(&hdr[..]),
                payload,
            );
            // A request done with bytes to spare is told so (Go's "Batch Completed").
            if let Some(w) = request {
                if w.batch <= 0 && w.max_bytes > 0 {
                    let hdr = w.status_with_pending(409, "Batch Completed");
                    self.publish_status(server, &w.reply, &hdr);
                }
            }
            if ack_none {
                stream.acked_by_consumer(&self.name, &[m.seq]);
            }
        }
        if !exhausted.is_empty() {
            stream.acked_by_consumer(&self.name, &exhausted);
        }
    }

    /// Whether an ephemeral consumer has been idle past its inactive threshold.
    pub fn inactive(&self, now: i64) -> bool {
        let mut c = self.cursor.lock();
        let threshold = c.config.inactive_threshold;
        if threshold <= 0 {
            return false;
        }
        let listening = if c.is_pull() {
            // Requests nobody waits for do not count.
            let mut out = Vec::new();
            c.waiting.process(
                now,
                false,
                &|r| self.reply_has_interest(r),
                (0, 0),
                &mut out,
            );
            !c.waiting.is_empty()
        } else {
            self.active.load(Ordering::Acquire)
        };
        if listening {
            // Interest now: the threshold counts from when it goes away.
            c.last_activity = now;
            return false;
        }
        let since = c
            .last_activity
            .max(self.interest_lost_at.load(Ordering::Acquire));
        if now.saturating_sub(since) < threshold {
            return false;
        }
        // A pull consumer's message out for processing may still be acknowledged: the
        // threshold counts from when its ack wait ends (Go's deleteNotActive).
        !c.is_pull()
            || !c.pending.values().any(|p| {
                p.ts.saturating_add(c.wait_for(p.dc))
                    .saturating_add(threshold)
                    > now
            })
    }

    /// Deletes the consumer from its stream for inactivity (Go's `deleteNotActive`).
    fn delete_inactive(&self, server: &ServerShared) {
        let Some(stream) = self.stream.upgrade() else {
            return;
        };
        let removed = {
            let mut consumers = stream.consumers.write();
            match consumers.get(&self.name) {
                Some(c) if std::ptr::eq(Arc::as_ptr(c), self) => consumers.remove(&self.name),
                _ => None,
            }
        };
        if let Some(c) = removed {
            c.delete(server);
        }
    }

    /// Keeps the last time something showed interest (push: a listener is there).
    pub fn touch(&self, now: i64) {
        self.cursor.lock().last_activity = now;
    }

    /// The retention of the stream requires acks to remove messages.
    pub fn retention(&self) -> RetentionPolicy {
        self.stream
            .upgrade()
            .map(|s| s.config().retention)
            .unwrap_or_default()
    }
}

/// Wakes for new messages, requests and acks, and at the next deadline; delivers on a
/// blocking thread.
async fn delivery_loop(server: Weak<ServerShared>, consumer: Weak<Consumer>) {
    loop {
        let wait = {
            let Some(c) = consumer.upgrade() else { return };
            if c.is_closed() {
                return;
            }
            let now = now_nanos();
            let (next, threshold) = {
                let cur = c.cursor.lock();
                (cur.next_deadline(), cur.config.inactive_threshold)
            };
            let unpause = c.unpause_at.load(Ordering::Acquire);
            let next = match (next, unpause > 0) {
                (Some(t), true) => Some(t.min(unpause)),
                (None, true) => Some(unpause),
                (n, false) => n,
            };
            // An inactive threshold is checked at least that often (Go's delete timer).
            let mut longest = Duration::from_secs(1);
            if threshold > 0 {
                longest = longest.min(Duration::from_nanos(threshold as u64));
            }
            let wait = match next {
                Some(t) if t <= now => Duration::ZERO,
                Some(t) => Duration::from_nanos((t - now) as u64).min(longest),
                None => longest,
            };
            if !wait.is_zero() {
                // Holding the consumer while waiting only delays its drop by the wait.
                let _ = tokio::time::timeout(wait, c.wake.notified()).await;
            }
            wait
        };
        let _ = wait;
        let (Some(c), Some(s)) = (consumer.upgrade(), server.upgrade()) else {
            return;
        };
        let work = tokio::task::spawn_blocking(move || {
            c.deliver(&s);
            // Idle past its inactive threshold: the consumer goes.
            if c.inactive(now_nanos()) {
                c.delete_inactive(&s);
            }
        });
        let _ = work.await;
    }
}

/// A cursor rebuilt from a consumer's saved state.
pub fn restore_cursor(cfg: ConsumerConfig, state: &natsd_store::ConsumerState, now: i64) -> Cursor {
    let mut c = Cursor::new(cfg, state.delivered.stream + 1, now);
    c.dseq = state.delivered.consumer;
    c.delivered_sseq = state.delivered.stream;
    c.ack_floor = (state.ack_floor.consumer, state.ack_floor.stream);
    for (&sseq, p) in &state.pending {
        let dc = state.redelivered.get(&sseq).map_or(1, |r| r + 1);
        let deadline = p.timestamp.saturating_add(c.wait_for(dc));
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

/// Reopens the consumers kept in a file stream's `obs/` directory (Go's
/// `doConsumers` at restore).
pub fn recover_consumers(server: &Arc<ServerShared>, stream: &Arc<Stream>) {
    let Some(dir) = stream.dir.as_ref() else {
        return;
    };
    let odir = dir.join(super::meta::CONSUMER_DIR);
    let Ok(entries) = std::fs::read_dir(&odir) else {
        return;
    };
    let mut dirs: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    if dirs.is_empty() {
        return;
    }
    dirs.sort();
    crate::notice!(
        server.logging,
        "  Recovering {} consumers for stream - '{} > {}'",
        dirs.len(),
        stream.account.name,
        stream.name
    );
    for cdir in dirs {
        let meta = match super::meta::read_consumer_meta(&cdir, &stream.name) {
            Ok(m) => m,
            Err(e) => {
                crate::warn!(
                    server.logging,
                    "    Error reading consumer metafile {:?}: {e}",
                    cdir.join(super::meta::META_FILE).display().to_string()
                );
                continue;
            }
        };
        let store = match super::stream::open_consumer_store(
            &stream.store,
            Some(dir),
            &stream.name,
            &meta.name,
            meta.created,
            &meta.config,
        ) {
            Ok(s) => s,
            Err(e) => {
                crate::warn!(
                    server.logging,
                    "    Error adding consumer '{} > {} > {}': {e}",
                    stream.account.name,
                    stream.name,
                    meta.name
                );
                continue;
            }
        };
        let now = now_nanos();
        // The saved state decides where it is, also when nothing was delivered yet (its
        // starting point was saved at creation; Go's readStoredState).
        let cursor = match store.state() {
            Ok(state) => {
                let mut c = restore_cursor(meta.config.clone(), &state, now);
                // Delivered past what the stream holds: the stream lost data.
                let last = stream.store().fast_state().last_seq;
                if c.delivered_sseq > last {
                    crate::warn!(
                        server.logging,
                        "JetStream consumer '{} > {} > {}' delivered sequence {} past last stream sequence of {}",
                        stream.account.name,
                        stream.name,
                        meta.name,
                        c.delivered_sseq,
                        last
                    );
                    c.reconcile_with_stream(last);
                    let _ = store.force_update(&c.stored_state());
                }
                c
            }
            _ => {
                let filters = config_filters(&meta.config);
                let mmp = stream.config().max_msgs_per;
                let pos = start_sequence(&meta.config, stream.store(), &filters, mmp);
                Cursor::at(meta.config.clone(), pos, now)
            }
        };
        let c = Consumer::new(server, stream, &meta.name, meta.created, cursor, store);
        if let Err(e) = c.start(server) {
            crate::warn!(
                server.logging,
                "    Error adding consumer '{} > {} > {}': {e}",
                stream.account.name,
                stream.name,
                meta.name
            );
            c.stop(server);
            continue;
        }
        stream.consumers.write().insert(meta.name.clone(), c);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
        // Delivered twice: when the wait runs out it is dropped, not queued again.
        assert_eq!(c.collect_due(10 * SEC), vec![1]);
        assert!(c.pending.is_empty() && c.redeliver.is_empty());
        assert_eq!(c.ack_floor, (2, 1));
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
    fn a_new_deliver_subject_redelivers_everything_pending() {
        let mut c = Cursor::new(cfg(AckPolicy::Explicit), 1, 0);
        c.config.max_ack_pending = 10;
        c.config.max_deliver = 2;
        for s in 1..=3 {
            c.record_delivery(s, 0);
        }
        c.record_delivery(2, 0);
        assert_eq!(c.force_expire_pending(), vec![2]);
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
