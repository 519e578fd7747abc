//! Fast batch publish on a stream (`fast_batch.rs` holds the state machine): the
//! stream's own checks before a message reaches its batch, the publish checks in
//! between, storing, and turning the state machine's answers into messages on the
//! publisher's reply. Like every answer of the ingest, they go out once what was
//! stored is durable.

use super::super::api::errors;
use super::super::batch;
use super::super::fast_batch::{self, CheckFailure, FastOp, Next, Out, Parsed};
use super::super::publish::{self, Check};
use super::{transform_subject, PendingDurable, Republished, Stream, StreamInner};
use crate::client::header::{remove_header_if_present, slice_header};
use crate::events::internal::InMsg;
use crate::server::ServerShared;

/// Where the ingest collects what a message produced: pending syncs, republished
/// messages, answers.
type FastOutputs<'a> = (
    &'a mut Vec<PendingDurable>,
    &'a mut Vec<Republished>,
    &'a mut Vec<(String, Vec<u8>)>,
);

impl Stream {
    /// How many fast batches are open on this stream.
    pub fn open_fast_batches(&self) -> usize {
        self.fast_batches.lock().len()
    }

    /// Whether `msg` is a fast batch message, and what its reply asks for. The reply's
    /// ending is checked first, so other publishes pay one comparison; a request that
    /// came through a service import has a `_R_.` reply and the requester's reply is
    /// read from the import's response mapping (Go reads it from the request's client
    /// info header).
    pub(super) fn fast_batch_of(&self, msg: &InMsg) -> Option<Parsed> {
        if fast_batch::is_fast_reply(&msg.reply) {
            return Some(fast_batch::parse_reply(&msg.reply));
        }
        if !msg.reply.starts_with(crate::account::imports::REPLY_PREFIX) {
            return None;
        }
        let original = self.account.response_reply(&msg.reply)?;
        fast_batch::is_fast_reply(&original).then(|| fast_batch::parse_reply(&original))
    }

    /// Takes one fast batch message; answers go to `replies`. Returns whether the
    /// message is in the stream now.
    pub(super) fn process_fast(
        &self,
        inner: &mut StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        parsed: &Parsed,
        now: i64,
        (pending, republish, replies): FastOutputs<'_>,
    ) -> bool {
        let can_respond = !inner.config.no_ack && !msg.reply.is_empty();
        let mut outs = Vec::new();
        let mut stored = false;
        let op = match self.fast_precheck(inner, server, msg, parsed) {
            Ok(op) => Some(op),
            Err(e) => {
                outs.push(Out::Error(e));
                None
            }
        };
        if let Some(op) = op {
            stored = self.fast_step(
                inner,
                server,
                msg,
                op,
                now,
                can_respond,
                (pending, republish),
                &mut outs,
            );
        }
        if msg.reply.is_empty() {
            return stored;
        }
        let id = op.map(|o| o.id.as_str()).unwrap_or_default();
        for out in outs {
            let body = match out {
                Out::Error(e) if can_respond => self.reject(e).body,
                Out::Error(_) => continue,
                Out::ErrorAlways(e) => self.reject(e).body,
                Out::Flow(body) => body,
                Out::PubAck { seq, count } => {
                    batch::ack_with_batch(&self.ack(seq, false).body, id, count)
                }
                Out::StoredAck { seq, count } if can_respond => {
                    batch::ack_with_batch(&self.ack(seq, false).body, id, count)
                }
                Out::StoredAck { .. } => continue,
                Out::Duplicate { seq, count } => {
                    batch::ack_with_batch(&self.ack(seq, true).body, id, count)
                }
            };
            replies.push((msg.reply.clone(), body));
        }
        stored
    }

    /// Go's checks before a fast batch message reaches its batch, in its order.
    fn fast_precheck<'p>(
        &self,
        inner: &StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        parsed: &'p Parsed,
    ) -> Result<&'p FastOp, errors::ApiError> {
        let cfg = &inner.config;
        if cfg.sealed {
            return Err(errors::STREAM_SEALED.new());
        }
        if let Some(js) = server.jetstream() {
            if js.limits_exceeded(cfg.storage) {
                js.resources_exceeded_error(server, cfg.storage);
                return Err(errors::INSUFFICIENT_RESOURCES.new());
            }
        }
        let hdr: &[u8] = msg.header.as_deref().unwrap_or_default();
        if self.would_exceed_account_limits(cfg.storage, &msg.subject, hdr, &msg.payload) {
            return Err(errors::ACCOUNT_RESOURCES_EXCEEDED.new());
        }
        let max = i64::from(cfg.max_msg_size);
        let (hlen, mlen) = (hdr.len() as i64, msg.payload.len() as i64);
        if max >= 0 && (hlen > max || mlen > max - hlen) {
            return Err(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new());
        }
        fast_batch::precheck(cfg.allow_batch_publish, parsed)
    }

    /// The batch's part, then the publish checks and the store.
    #[allow(clippy::too_many_arguments)]
    fn fast_step(
        &self,
        inner: &mut StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        op: &FastOp,
        now: i64,
        can_respond: bool,
        (pending, republish): (&mut Vec<PendingDurable>, &mut Vec<Republished>),
        outs: &mut Vec<Out>,
    ) -> bool {
        let hdr: &[u8] = msg.header.as_deref().unwrap_or_default();
        // The required API level may refuse the batch; the header is never stored.
        let level = slice_header(batch::REQUIRED_API_LEVEL, hdr).filter(|v| !v.is_empty());
        let refuse = level.is_some_and(|v| {
            super::super::stream_config::error_on_required_api_level(std::str::from_utf8(v).ok())
        });
        let limits = fast_batch::Limits::from_opts(&server.opts().jetstream_limits);
        let next = self
            .fast_batches
            .lock()
            .accept(op, &limits, now, can_respond, refuse, outs);
        if next == Next::Done {
            return false;
        }
        let owned;
        let msg = if level.is_some() {
            owned = InMsg {
                header: Some(
                    remove_header_if_present(hdr.to_vec(), batch::REQUIRED_API_LEVEL).into(),
                ),
                ..msg.clone()
            };
            &owned
        } else {
            msg
        };
        if let Some(failure) = self.fast_check(inner, server, msg, now) {
            self.fast_batches.lock().check_failed(op, failure, outs);
            return false;
        }
        self.fast_batches.lock().will_store(&op.id);
        let before = inner.last_seq;
        let origin = publish::Origin {
            now,
            ..Default::default()
        };
        let answer = self.process_one(inner, server, msg, origin, pending, republish);
        if inner.last_seq != before {
            self.fast_batches.lock().stored(op, inner.last_seq, outs);
            return answer.is_some_and(|a| a.stored);
        }
        // Not stored (the store refused it): answered like a single publish, and the
        // batch waits for it no longer than its timeout (as Go's does).
        if let Some(a) = answer {
            if can_respond && !a.body.is_empty() {
                outs.push(Out::Flow(a.body));
            }
        }
        false
    }

    /// The publish checks of one message as Go makes them before proposing a batch
    /// message: the stream's usual checks, then (as for an atomic batch of one) the
    /// counter's size and the discard-new limits, which must refuse it before it is
    /// stored rather than fail in the store.
    fn fast_check(
        &self,
        inner: &StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        now: i64,
    ) -> Option<CheckFailure> {
        let cfg = &inner.config;
        let subject = transform_subject(cfg.subject_transform.as_ref(), &msg.subject)
            .unwrap_or_else(|| msg.subject.clone());
        let hdr: &[u8] = msg.header.as_deref().unwrap_or_default();
        let store = self.store();
        let max_payload = server.opts().max_payload as i64;
        let check = publish::check(
            cfg,
            inner.last_seq,
            &inner.last_msg_id,
            &inner.dedup,
            &subject,
            hdr,
            &msg.payload,
            max_payload,
            publish::Origin {
                now,
                ..Default::default()
            },
            |s| store.load_last_msg(s),
        );
        match check {
            Check::Duplicate(seq) => {
                let error = if seq > 0 {
                    errors::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE.new()
                } else {
                    errors::STREAM_DUPLICATE_MESSAGE_CONFLICT.new()
                };
                return Some(CheckFailure::Duplicate { seq, error });
            }
            Check::Reject(e) => return Some(CheckFailure::Error(e)),
            Check::Accept(_) => {}
        }
        // The batch checks refuse an expected last message id (atomic batches cannot
        // use it); a fast batch message had it checked above already.
        if slice_header(publish::EXPECTED_LAST_MSG_ID, hdr).is_some() {
            return None;
        }
        let state = store.fast_state();
        let last_of = |s: &str| store.load_last_msg(s);
        let subject_total = |s: &str| store.subjects_totals(s).get(s).copied().unwrap_or(0);
        let transform = |s: &str| transform_subject(cfg.subject_transform.as_ref(), s);
        let view = batch::StreamView {
            cfg,
            last_seq: inner.last_seq,
            last_msg_id: &inner.last_msg_id,
            dedup: &inner.dedup,
            max_payload,
            msgs: state.msgs,
            bytes: state.bytes,
            now,
            last_of: &last_of,
            subject_total: &subject_total,
            transform: &transform,
        };
        let one = [batch::StagedMsg {
            subject: msg.subject.clone(),
            header: hdr.to_vec(),
            payload: msg.payload.to_vec(),
        }];
        batch::check_commit(&view, &one)
            .err()
            .map(CheckFailure::Error)
    }
}
