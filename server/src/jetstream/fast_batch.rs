//! Fast batch publish (ADR-50, `allow_batched`): a publisher streams messages into a
//! stream without waiting for an ack per message. Each message names its batch in its
//! reply subject, `<prefix>.<batch id>.<flow>.<gap mode>.<batch seq>.<op>.$FI`, and the
//! stream answers on that reply with flow messages: `{"type":"ack"}` every `msgs`
//! persisted messages (the publisher may have that many in flight), `{"type":"gap"}`
//! when batch sequences were lost, `{"type":"err"}` when a message failed its checks;
//! the commit gets the batch's publish ack (`"batch"`, `"count"`).
//!
//! Unlike atomic batches nothing is staged: each message is checked and stored as it
//! comes. [`FastBatches`] holds the per-batch counters (Go's `fastBatch`) and decides
//! what to answer; the stream does the checks and the storing in between
//! ([`FastBatches::accept`], then [`FastBatches::check_failed`] or
//! [`FastBatches::will_store`] + [`FastBatches::stored`]). Pure: time comes in as an
//! argument, answers go out as [`Out`] values.

use super::api::errors::{self, ApiError};
use super::batch::InflightSlot;
use crate::config::jetstream::JsLimitOpts;
use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

/// The reply subject of a fast batch message ends with this.
pub const REPLY_SUFFIX: &str = ".$FI";
const GAP_FAIL: &str = "fail";
const GAP_OK: &str = "ok";
const OP_START: u64 = 0;
const OP_APPEND: u64 = 1;
const OP_COMMIT: u64 = 2;
const OP_COMMIT_EOB: u64 = 3;
const OP_PING: u64 = 4;
/// The flow a publisher gets when its reply asks for none (or an unreadable one).
const DEFAULT_FLOW: u16 = 10;
/// The most messages between acks the server hands out (shared by the open batches).
const MAX_FLOW: u16 = 500;
const MAX_BATCH_ID_LEN: usize = 64;

pub const DEFAULT_MAX_INFLIGHT_PER_STREAM: usize = 1000;
pub const DEFAULT_MAX_INFLIGHT_TOTAL: i64 = 50_000;

/// Fast batches open in this process, over all streams (apart from atomic batches).
static INFLIGHT_TOTAL: AtomicI64 = AtomicI64::new(0);

/// What a fast batch reply subject asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastOp {
    pub id: String,
    /// The message's batch sequence (the ping's: the last one sent).
    pub seq: u64,
    /// The most messages the publisher lets go between acks.
    pub flow: u16,
    /// Lost messages do not end the batch (`ok`), or do (`fail`).
    pub gap_ok: bool,
    /// Asks for the last flow ack again; carries no message.
    pub ping: bool,
    pub commit: bool,
    /// The commit is an end-of-batch marker, not stored itself.
    pub commit_eob: bool,
}

/// How a reply subject reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a fast batch reply.
    NotFast,
    /// Ends like one, but does not follow the pattern.
    Invalid,
    Op(FastOp),
}

/// Go's `parseInt64`: digits only, else -1.
fn go_parse_int(s: &str) -> i64 {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return -1;
    }
    s.bytes().fold(0i64, |n, b| {
        n.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
    })
}

/// Whether `reply` ends like a fast batch reply (cheap; the full read is [`parse_reply`]).
pub fn is_fast_reply(reply: &str) -> bool {
    reply.len() > REPLY_SUFFIX.len() && reply.ends_with(REPLY_SUFFIX)
}

/// Reads a reply subject `<prefix>.<id>.<flow>.<gap>.<seq>.<op>.$FI` (Go's `getFastBatch`).
pub fn parse_reply(reply: &str) -> Parsed {
    if !is_fast_reply(reply) {
        return Parsed::NotFast;
    }
    let rest = &reply[..reply.len() - REPLY_SUFFIX.len()];
    // Token by token from the right; the id must have a prefix before it.
    let mut tokens = rest.rsplitn(6, '.');
    let (Some(op), Some(seq), Some(gap), Some(flow), Some(id), Some(_prefix)) = (
        tokens.next(),
        tokens.next(),
        tokens.next(),
        tokens.next(),
        tokens.next(),
        tokens.next(),
    ) else {
        return Parsed::Invalid;
    };
    let op = go_parse_int(op);
    if !(0..=OP_PING as i64).contains(&op) {
        return Parsed::Invalid;
    }
    let op = op as u64;
    let seq = match seq.parse::<u64>() {
        // The largest sequence is refused: the next one would wrap to zero.
        Ok(s) if s != 0 && s != u64::MAX && seq.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => return Parsed::Invalid,
    };
    let commit_eob = op == OP_COMMIT_EOB;
    if (seq == 1 && commit_eob) || (op == OP_START && seq != 1) || (op == OP_APPEND && seq <= 1) {
        return Parsed::Invalid;
    }
    let gap_ok = match gap {
        GAP_FAIL => false,
        GAP_OK => true,
        _ => return Parsed::Invalid,
    };
    let flow = match go_parse_int(flow) {
        f if f <= 0 => DEFAULT_FLOW,
        f => u16::try_from(f).unwrap_or(u16::MAX),
    };
    Parsed::Op(FastOp {
        id: id.to_string(),
        seq,
        flow,
        gap_ok,
        ping: op == OP_PING,
        commit: commit_eob || op == OP_COMMIT,
        commit_eob,
    })
}

/// The checks made before a message reaches its batch, after the stream's own (sealed,
/// resources, size): batch publish on, a readable reply, a short enough id.
pub fn precheck(allow_batched: bool, parsed: &Parsed) -> Result<&FastOp, ApiError> {
    if !allow_batched {
        return Err(errors::BATCH_PUBLISH_DISABLED.new());
    }
    let Parsed::Op(op) = parsed else {
        return Err(errors::BATCH_PUBLISH_INVALID_PATTERN.new());
    };
    if op.id.len() > MAX_BATCH_ID_LEN {
        return Err(errors::BATCH_PUBLISH_INVALID_BATCH_ID.new());
    }
    Ok(op)
}

/// `{"type":"ack","seq":N,"msgs":M}`: messages up to `seq` are persisted (some of them
/// with gaps allowed); send `msgs` more before the next ack.
pub fn flow_ack(seq: u64, msgs: u16) -> Vec<u8> {
    format!("{{\"type\":\"ack\",\"seq\":{seq},\"msgs\":{msgs}}}").into_bytes()
}

/// `{"type":"gap","last_seq":E,"seq":C}`: the messages from `E` up to before `C` were lost.
pub fn flow_gap(expected: u64, current: u64) -> Vec<u8> {
    format!("{{\"type\":\"gap\",\"last_seq\":{expected},\"seq\":{current}}}").into_bytes()
}

/// `{"type":"err","seq":N,"error":{...}}`: message `seq` failed its checks.
pub fn flow_err(seq: u64, error: &ApiError) -> Vec<u8> {
    let mut out = format!("{{\"type\":\"err\",\"seq\":{seq},\"error\":").into_bytes();
    out.extend_from_slice(&crate::monitor::http::to_go_json_compact(error));
    out.push(b'}');
    out
}

/// The server's fast batch limits (`jetstream { limits { batch { ... } } }`, shared
/// with atomic batches), defaults for those not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_inflight_per_stream: usize,
    pub max_inflight_total: i64,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflight_per_stream: DEFAULT_MAX_INFLIGHT_PER_STREAM,
            max_inflight_total: DEFAULT_MAX_INFLIGHT_TOTAL,
            timeout: super::batch::DEFAULT_TIMEOUT,
        }
    }
}

impl Limits {
    pub fn from_opts(o: &JsLimitOpts) -> Limits {
        let d = Limits::default();
        Limits {
            max_inflight_per_stream: usize::try_from(o.max_batch_inflight_per_stream)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(d.max_inflight_per_stream),
            max_inflight_total: Some(o.max_batch_inflight_total)
                .filter(|v| *v > 0)
                .unwrap_or(d.max_inflight_total),
            timeout: Some(o.max_batch_timeout)
                .filter(|v| !v.is_zero())
                .unwrap_or(d.timeout),
        }
    }
}

/// An answer for the publisher, on the reply of the message being handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// A publish error answer; only when the stream acks (`no_ack` off).
    Error(ApiError),
    /// A publish error answer sent even without acks (a batch ended on its first message).
    ErrorAlways(ApiError),
    /// A flow message (ack, gap, err).
    Flow(Vec<u8>),
    /// The batch's publish ack: the last stream sequence stored and the batch's count.
    PubAck { seq: u64, count: u64 },
    /// The same, for the message just stored; only when the stream acks.
    StoredAck { seq: u64, count: u64 },
    /// The batch's only message was a duplicate of stream sequence `seq`.
    Duplicate { seq: u64, count: u64 },
}

/// What to do with the message after [`FastBatches::accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing more (answered, skipped, or a ping).
    Done,
    /// Check it against the stream, then store it or report why not.
    Check,
}

/// Why a message failed the stream's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckFailure {
    /// A duplicate (`Nats-Msg-Id`) of stream sequence `seq` (0: not stored yet).
    Duplicate {
        seq: u64,
        error: ApiError,
    },
    Error(ApiError),
}

/// One open fast batch (Go's `fastBatch`).
#[derive(Debug)]
struct Open {
    /// When the batch goes unless another message comes (ns since the epoch).
    deadline: i64,
    /// The highest batch sequence taken.
    lseq: u64,
    /// The last stream sequence stored for the batch.
    sseq: u64,
    /// The highest batch sequence persisted (never above `lseq`).
    pseq: u64,
    /// The batch sequence of the last flow ack (never above `pseq`).
    fseq: u64,
    /// Messages checked and on their way into the store.
    pending: u32,
    /// An ack goes out every this many messages.
    ack_messages: u16,
    /// The most the publisher allows.
    max_ack_messages: u16,
    gap_ok: bool,
    /// Committing: no more messages are taken, the ack goes once all are persisted.
    commit: bool,
    _slot: Option<InflightSlot>,
}

/// The open fast batches of one stream.
#[derive(Debug, Default)]
pub struct FastBatches {
    open: HashMap<String, Open>,
}

impl FastBatches {
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Ends batch `id` without an answer; whether it was open.
    pub fn remove(&mut self, id: &str) -> bool {
        self.open.remove(id).is_some()
    }

    /// Drops every open batch (the stream stops, or batch publish was turned off).
    pub fn clear(&mut self) {
        self.open.clear();
    }

    /// Forgets the batches that saw no message before their deadline (silently: a
    /// publisher finds out from its next message, or from missing acks).
    pub fn expire(&mut self, now: i64) {
        self.open.retain(|_, b| b.deadline > now);
    }

    /// The earliest deadline of an open batch.
    pub fn next_deadline(&self) -> Option<i64> {
        self.open.values().map(|b| b.deadline).min()
    }

    /// The flow a batch gets now: what its publisher allows (at most 500) when it is
    /// alone, else one message, to ramp up from beside the others.
    fn initial_flow(&self, max_ack_messages: u16) -> u16 {
        if self.open.len() > 1 {
            1
        } else {
            MAX_FLOW.min(max_ack_messages)
        }
    }

    /// Opens batch `id` (no limits checked; [`FastBatches::accept`] checks them).
    /// Returns its initial flow.
    pub fn open_batch(
        &mut self,
        id: &str,
        gap_ok: bool,
        max_ack_messages: u16,
        now: i64,
        timeout: Duration,
    ) -> u16 {
        self.insert(id, gap_ok, max_ack_messages, now, timeout, None)
    }

    fn insert(
        &mut self,
        id: &str,
        gap_ok: bool,
        max_ack_messages: u16,
        now: i64,
        timeout: Duration,
        slot: Option<InflightSlot>,
    ) -> u16 {
        self.open.insert(
            id.to_string(),
            Open {
                deadline: deadline(now, timeout),
                lseq: 0,
                sseq: 0,
                pseq: 0,
                fseq: 0,
                pending: 0,
                ack_messages: 1,
                max_ack_messages,
                gap_ok,
                commit: false,
                _slot: slot,
            },
        );
        self.reinit_flow(id)
    }

    /// Sets batch `id`'s flow as for a new batch (Go's `fastBatchInit`); returns it.
    pub fn reinit_flow(&mut self, id: &str) -> u16 {
        let Some(max) = self.open.get(id).map(|b| b.max_ack_messages) else {
            return 0;
        };
        let flow = self.initial_flow(max);
        if let Some(b) = self.open.get_mut(id) {
            b.ack_messages = flow;
        }
        flow
    }

    /// Batch `id`'s current flow (acks every this many messages).
    pub fn flow_of(&self, id: &str) -> Option<u16> {
        self.open.get(id).map(|b| b.ack_messages)
    }

    /// Restarts batch `id` from what is persisted, with a new initial flow, and returns
    /// the flow ack to send (Go's `fastBatchReset`, when a server takes over a stream).
    pub fn reset(&mut self, id: &str, now: i64, timeout: Duration) -> Option<Out> {
        self.reinit_flow(id);
        let b = self.open.get_mut(id)?;
        b.deadline = deadline(now, timeout);
        b.commit = false;
        b.pending = 0;
        b.fseq = b.pseq;
        b.lseq = b.pseq;
        Some(Out::Flow(flow_ack(b.fseq, b.ack_messages)))
    }

    /// Takes a fast batch message (Go's `processJetStreamFastBatchMsg` up to the checks):
    /// finds or opens its batch, handles pings, gaps and commits. `can_respond`: the
    /// stream acks and the message has a reply; `refuse_api_level`: its
    /// `Nats-Required-Api-Level` is above the server's.
    pub fn accept(
        &mut self,
        op: &FastOp,
        limits: &Limits,
        now: i64,
        can_respond: bool,
        refuse_api_level: bool,
        out: &mut Vec<Out>,
    ) -> Next {
        self.expire(now);
        if !self.open.contains_key(&op.id) {
            if op.seq != 1 {
                out.push(Out::Error(errors::BATCH_PUBLISH_UNKNOWN_BATCH_ID.new()));
                return Next::Done;
            }
            if self.open.len() + 1 > limits.max_inflight_per_stream {
                out.push(Out::Error(errors::BATCH_PUBLISH_TOO_MANY_INFLIGHT.new()));
                return Next::Done;
            }
            let Some(slot) = InflightSlot::take(&INFLIGHT_TOTAL, limits.max_inflight_total) else {
                out.push(Out::Error(errors::BATCH_PUBLISH_TOO_MANY_INFLIGHT.new()));
                return Next::Done;
            };
            self.insert(&op.id, op.gap_ok, op.flow, now, limits.timeout, Some(slot));
        }
        // The required API level may end the batch (the header itself is never stored).
        if refuse_api_level {
            self.open.remove(&op.id);
            out.push(Out::Error(errors::REQUIRED_API_LEVEL.new()));
            return Next::Done;
        }
        let n_open = self.open.len();
        let Some(b) = self.open.get_mut(&op.id) else {
            return Next::Done;
        };
        // Every message keeps the batch alive; a committing one waits for its ack.
        if !b.commit {
            b.deadline = deadline(now, limits.timeout);
        }
        if op.ping {
            let mut resend = true;
            if op.seq > b.lseq {
                // Messages were lost: always told, in the sequences of the next message.
                out.push(Out::Flow(flow_gap(b.lseq + 1, op.seq + 1)));
                if b.gap_ok {
                    b.lseq = op.seq;
                    if b.pending == 0 {
                        b.pseq = b.lseq;
                    }
                    resend = !check_flow(b, n_open, out);
                } else if commit(b, out) {
                    self.open.remove(&op.id);
                    resend = false;
                }
            }
            if resend {
                if let Some(b) = self.open.get(&op.id) {
                    out.push(Out::Flow(flow_ack(b.fseq, b.ack_messages)));
                }
            }
            return Next::Done;
        }
        // Committing already (after an error): the publisher waits for the ack.
        if b.commit {
            return Next::Done;
        }
        if op.seq != b.lseq + 1 {
            let expected = b.lseq + 1;
            if op.seq > expected {
                out.push(Out::Flow(flow_gap(expected, op.seq)));
            }
            if b.gap_ok && op.seq > expected {
                b.lseq = op.seq;
            } else {
                // A gap that ends the batch, or a sequence going backwards.
                if commit(b, out) {
                    self.open.remove(&op.id);
                }
                return Next::Done;
            }
        } else {
            b.lseq = op.seq;
        }
        if op.commit {
            if op.commit_eob {
                // The marker is not a message: the batch ends with the one before.
                b.lseq -= 1;
                if b.pending == 0 {
                    b.pseq = b.lseq;
                }
            }
            let done = commit(b, out);
            if op.commit_eob {
                if done {
                    self.open.remove(&op.id);
                }
                return Next::Done;
            }
        }
        // The first message is answered with the flow the batch runs with.
        if op.seq == 1 && can_respond && !op.commit {
            out.push(Out::Flow(flow_ack(0, b.ack_messages)));
        }
        Next::Check
    }

    /// The message [`FastBatches::accept`] let through failed the stream's checks.
    pub fn check_failed(&mut self, op: &FastOp, failure: CheckFailure, out: &mut Vec<Out>) {
        let n_open = self.open.len();
        let Some(b) = self.open.get_mut(&op.id) else {
            return;
        };
        let duplicate = matches!(failure, CheckFailure::Duplicate { .. });
        if duplicate {
            // Nothing to persist: it counts as persisted when nothing else is on its way.
            if b.pending == 0 {
                b.pseq = op.seq;
                check_flow(b, n_open, out);
            }
            if !op.commit {
                return;
            }
        }
        // A batch that fails on its first message is answered like a single publish.
        if !op.gap_ok && b.lseq == 1 {
            out.push(match failure {
                CheckFailure::Duplicate { seq, .. } if seq > 0 => {
                    Out::Duplicate { seq, count: op.seq }
                }
                CheckFailure::Duplicate { error, .. } | CheckFailure::Error(error) => {
                    Out::ErrorAlways(error)
                }
            });
            self.open.remove(&op.id);
            return;
        }
        if let CheckFailure::Error(error) = &failure {
            out.push(Out::Flow(flow_err(op.seq, error)));
        }
        if op.gap_ok && !op.commit {
            return;
        }
        if !duplicate {
            // The batch ends before this message.
            b.lseq -= 1;
            if b.pending == 0 {
                b.pseq = b.lseq;
            }
        }
        if commit(b, out) {
            self.open.remove(&op.id);
        }
    }

    /// The message passed its checks and goes into the store.
    pub fn will_store(&mut self, id: &str) {
        if let Some(b) = self.open.get_mut(id) {
            b.pending += 1;
        }
    }

    /// The message is persisted at stream sequence `stream_seq` (Go's
    /// `fastBatchRegisterSequences` on the leader): acks flow, and a committing batch
    /// whose messages are all persisted gets its publish ack.
    pub fn stored(&mut self, op: &FastOp, stream_seq: u64, out: &mut Vec<Out>) {
        let n_open = self.open.len();
        let Some(b) = self.open.get_mut(&op.id) else {
            return;
        };
        b.pending = b.pending.saturating_sub(1);
        b.sseq = stream_seq;
        // Nothing else on its way: duplicates skipped meanwhile count as persisted.
        let caught_up = b.pending == 0;
        b.pseq = if caught_up { b.lseq } else { op.seq };
        if b.lseq == b.pseq && b.commit {
            let (sseq, lseq) = (b.sseq, b.lseq);
            self.open.remove(&op.id);
            out.push(if caught_up {
                Out::PubAck {
                    seq: sseq,
                    count: lseq,
                }
            } else {
                Out::StoredAck {
                    seq: stream_seq,
                    count: op.seq,
                }
            });
            return;
        }
        check_flow(b, n_open, out);
    }
}

fn deadline(now: i64, timeout: Duration) -> i64 {
    now.saturating_add(i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX))
}

/// Marks the batch committing; when everything taken is persisted, answers with the
/// publish ack and returns true (the caller removes the batch).
fn commit(b: &mut Open, out: &mut Vec<Out>) -> bool {
    b.commit = true;
    if b.lseq == b.pseq {
        out.push(Out::PubAck {
            seq: b.sseq,
            count: b.lseq,
        });
        return true;
    }
    false
}

/// Sends a flow ack once `ack_messages` more messages are persisted (one ack for
/// several steps reached at once), moving the flow toward the batch's share of 500:
/// doubling up to it, halving down to it. Returns whether an ack went out.
fn check_flow(b: &mut Open, n_open: usize, out: &mut Vec<Out>) -> bool {
    let every = u64::from(b.ack_messages.max(1));
    if b.pseq < b.fseq.saturating_add(every) {
        return false;
    }
    b.fseq += (b.pseq - b.fseq) / every * every;
    let share = u16::try_from(usize::from(MAX_FLOW) / n_open.max(1))
        .unwrap_or(MAX_FLOW)
        .max(1)
        .min(b.max_ack_messages);
    if b.ack_messages < share {
        b.ack_messages = b.ack_messages.saturating_mul(2).min(share);
    } else if b.ack_messages > share {
        b.ack_messages = (b.ack_messages / 2).max(share);
    }
    out.push(Out::Flow(flow_ack(b.fseq, b.ack_messages)));
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
