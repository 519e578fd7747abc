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
    AckPolicy, ConsumerConfig, ConsumerInfo, NextRequest, PriorityGroupState, PriorityPolicy,
    RetentionPolicy, SequenceInfo,
};
use super::stream::Stream;
use crate::account::Account;
use crate::client::Subscription;
use crate::events::internal::{Handler, InMsg, InternalClient};
use crate::monitor::gotime::{now_nanos, GoTime};
use crate::server::ServerShared;
use natsd_store::{ConsumerStore, Store, StoreMsg};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

mod cursor;
mod events;
mod flow;
mod interest;
mod pacing;
mod priority;
mod recovery;
mod waiting;
pub use cursor::*;
pub use flow::{FlowControl, DEFAULT_MAX_PENDING_BYTES};
pub use pacing::{RateLimiter, Replay};
pub use priority::{Pin, PriorityGroup, PIN_ID_HDR};
pub use recovery::recover_consumers;
pub use waiting::{
    parse_next_request, parse_priority_group, BadRequest, Load, PullRequest, Status, WaitQueue,
};

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
    interest: Mutex<Vec<interest::Registration>>,
    /// When a pause ends and its advisory is due (ns), 0 for none (Go's pause timer).
    unpause_at: AtomicI64,
    /// Replay at the original rate and the rate limit (push), as the config asks.
    pacing: Mutex<(Replay, Option<RateLimiter>)>,
    /// Held for a whole delivery pass: passes from the delivery task and from the
    /// stream's ingest thread never interleave, so messages go out in order.
    delivering: Mutex<()>,
    /// When the delivery task plans to wake next (ns): a delivery made elsewhere with an
    /// earlier deadline must wake it sooner.
    planned_wake: AtomicI64,
    subs: Mutex<Vec<Arc<Subscription>>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    closed: AtomicBool,
    /// Stream sequences removed from the stream since the last delivery pass (Go's
    /// `decStreamPending`): applied under the cursor's lock by the next pass or info.
    gone: Mutex<Vec<u64>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.stream_name)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
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
            interest: Mutex::new(Vec::new()),
            unpause_at: AtomicI64::new(0),
            pacing: Mutex::new((Replay::default(), None)),
            delivering: Mutex::new(()),
            planned_wake: AtomicI64::new(0),
            subs: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            gone: Mutex::new(Vec::new()),
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
        // Flow control answers, in both forms as for acks (Go's fcSubOld and fcSub).
        if self.cursor.lock().config.flow_control {
            self.cursor.lock().flow = FlowControl::with_limit(DEFAULT_MAX_PENDING_BYTES);
            let v1 = format!("$JS.FC.{}.{}.*", self.stream_name, self.name);
            let v2 = format!(
                "$JS.FC.{}.{}.{}.{}.*",
                self.domain_token(),
                crate::events::hash8(&self.account.name),
                self.stream_name,
                self.name
            );
            for subject in [v1, v2] {
                let weak = Arc::downgrade(self);
                let on_answer: Handler = Arc::new(move |server, _acc, msg| {
                    if let Some(c) = weak.upgrade() {
                        c.process_flow_control(server, msg);
                    }
                });
                subs.push(
                    self.client
                        .subscribe(&self.account, &subject, None, on_answer)?,
                );
            }
        }
        let weak = Arc::downgrade(self);
        let on_next: Handler = Arc::new(move |server, _acc, msg| {
            if let Some(c) = weak.upgrade() {
                let too_new = super::api::requires_higher_api_level(msg);
                c.process_next_request(server, &msg.reply, &msg.payload, too_new);
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
                let too_new = super::api::requires_higher_api_level(msg);
                c.process_reset(server, &msg.reply, &msg.payload, too_new);
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

    /// Applies the acks (and other messages on the consumer's subjects) that reached the
    /// server before now: an info or update request sees every ack its client sent
    /// before it, as the dispatcher may not have run them yet.
    pub fn apply_queued(&self, server: &Arc<ServerShared>) {
        self.client.drain(server);
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
        interest::clear(std::mem::take(&mut *reg));
        if deliver.is_empty() {
            self.active.store(false, Ordering::Release);
            return;
        }
        let state = interest::InterestState::new(
            self.active.clone(),
            self.interest_lost_at.clone(),
            self.wake.clone(),
        );
        *reg = interest::register(&self.account, &deliver, &group, &state);
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
        self.store_max_delivered(&exhausted);
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

    /// Unpins `group` (`$JS.API.CONSUMER.UNPIN`): the next request without a pin gets a
    /// new one; the old holder is told with a 423 when a message is there for it.
    pub fn unpin(&self, group: &str) {
        self.cursor.lock().waiting.unpin();
        self.send_unpinned_advisory(group, "admin");
        self.notify();
    }

    /// The id of the current pin, "" for none (Go's `currentPinId`).
    pub fn pin_id(&self) -> String {
        self.cursor.lock().waiting.pin.id.clone()
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
        let Some(stream) = self.stream.upgrade() else {
            return;
        };
        let Some(dir) = stream.dir.clone() else {
            return;
        };
        let meta = super::meta::ConsumerMeta {
            created: self.created,
            name: self.name.clone(),
            config,
        };
        let odir = dir.join(super::meta::CONSUMER_DIR).join(&self.name);
        let keys = stream.store.at_rest_keys();
        let _ = super::meta::write_consumer_meta(&odir, &self.stream_name, &meta, keys.as_ref());
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
        interest::clear(std::mem::take(&mut *self.interest.lock()));
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
        let terminated;
        let (
            cfg,
            delivered,
            ack_floor,
            pending,
            redelivered,
            waiting,
            num_pending,
            last,
            last_ack,
            pin,
        ) = {
            let mut c = self.cursor.lock();
            if let Some(s) = self.stream.upgrade() {
                self.drop_gone_below(&mut c, s.store().fast_state().first_seq);
            }
            terminated = self.apply_gone(&mut c);
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
                c.waiting.pin.clone(),
            )
        };
        // Go reports the first group with its pin (one pin per consumer today).
        let priority_groups = cfg
            .priority_groups
            .first()
            .map(|g| PriorityGroupState {
                group: g.clone(),
                pinned_client_id: pin.id.clone(),
                pinned_ts: if pin.is_set() {
                    GoTime::from_unix_nanos(pin.since)
                } else {
                    GoTime::ZERO
                },
            })
            .into_iter()
            .collect();
        self.publish_statuses(server, statuses);
        self.send_gone_advisories(&terminated);
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
            priority_groups,
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
        self.account.has_reply_interest(reply)
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
    /// `too_new`: the request's `Nats-Required-Api-Level` is above this server's.
    fn process_next_request(&self, server: &ServerShared, reply: &str, body: &[u8], too_new: bool) {
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
        if too_new {
            return refuse(c, "NATS/1.0 412 Required Api Level\r\n\r\n".into());
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
        let priority = parse_priority_group(body);
        let (policy, groups, ttl) = (
            cfg.priority_policy,
            cfg.priority_groups.clone(),
            cfg.pinned_ttl,
        );
        if let Err(priority::Refusal(code, why)) = priority::check_request(
            policy,
            &groups,
            priority.as_ref(),
            &mut c.waiting.pin,
            ttl,
            now,
        ) {
            return refuse(c, format!("NATS/1.0 {code} {why}\r\n\r\n"));
        }
        let max_waiting = c.config.max_waiting;
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
        let mut w = PullRequest::new(reply, &req, now);
        w.priority = priority;
        c.waiting.add(w);
        drop(c);
        self.publish_statuses(server, statuses);
        // Served here, on the consumer's own thread: no hop to the delivery task.
        self.deliver_new(server);
    }

    /// Messages of the stream the consumer has not looked at yet.
    fn num_pending(&self, c: &mut Cursor) -> u64 {
        let Some(stream) = self.stream.upgrade() else {
            return 0;
        };
        let store = stream.store();
        let count_from = |seq: u64| count_filtered(store, &c.filters, seq);
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
        let count = bounded_pending(count, c.next_sseq, msgs, last);
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
    fn process_reset(&self, server: &ServerShared, reply: &str, body: &[u8], too_new: bool) {
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
        if too_new {
            return fail(errors::REQUIRED_API_LEVEL.new());
        }
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
        let Some((dc, sseq, dseq)) = parse_ack_subject(&msg.subject) else {
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
        let (acked, naked) = {
            let mut c = self.cursor.lock();
            // Go tells of a nak of a message still pending.
            let naked = matches!(kind, AckKind::Nak(_)) && c.pending.contains_key(&sseq);
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
            (acked, naked)
        };
        if !acked.is_empty() {
            if let Some(stream) = self.stream.upgrade() {
                stream.acked_by_consumer(&self.name, &acked);
            }
        }
        if let Some((delay, dc)) = sample {
            self.send_ack_metric(server, sseq, dseq, dc, delay);
        }
        if naked {
            self.send_nak_advisory(sseq, dseq, dc);
        }
        if kind == AckKind::Term {
            self.send_terminated_advisory(sseq, dseq, dc, &term_reason(&msg.payload));
        }
        // An ack with a reply is answered once applied (a +NXT's reply takes messages).
        if !matches!(kind, AckKind::Next(_)) && sseq != 0 && !msg.reply.is_empty() {
            self.publish_empty(server, &msg.reply);
        }
        self.notify();
    }

    /// Whether this consumer still needs stream sequence `sseq` (interest retention):
    /// not yet delivered, or delivered and not acknowledged.
    pub fn needs(&self, sseq: u64, subject: &str) -> bool {
        let c = self.cursor.lock();
        if !is_filtered_match(&c.filters, subject) {
            return false;
        }
        sseq >= c.next_sseq
            || c.pending.contains_key(&sseq)
            || c.lps.contains(&sseq)
            || c.max_delivered.contains_key(&sseq)
    }

    /// The stream's messages below `first_seq` are gone: the cursor skips them and the
    /// store forgets those out of deliveries (Go's `removeRedeliveredBelow`).
    fn drop_gone_below(&self, c: &mut Cursor, first_seq: u64) {
        if c.drop_gone_below(first_seq) {
            self.store.remove_redelivered_below(first_seq);
        }
    }

    /// Whether messages on `subject` are for this consumer (its filters).
    pub fn interested_in(&self, subject: &str) -> bool {
        is_filtered_match(&self.cursor.lock().filters, subject)
    }

    /// After a purge: skip what is gone.
    pub fn purged(&self, first_seq: u64) {
        let mut c = self.cursor.lock();
        self.drop_gone_below(&mut c, first_seq);
        // Go forgets the messages out of deliveries once nothing is pending after a purge.
        if c.pending.is_empty() && !c.max_delivered.is_empty() {
            c.max_delivered.clear();
            self.store.remove_redelivered_below(u64::MAX);
        }
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
    fn next_message(
        &self,
        c: &mut Cursor,
        store: &dyn Store,
        exhausted: &mut Vec<MaxDelivered>,
    ) -> Next {
        let max_deliver = c.max_deliveries();
        while let Some(s) = c.redeliver.pop_front() {
            let Some(dc) = c.pending.get(&s).map(|p| p.dc) else {
                continue;
            };
            // A NAK'd message delivered as often as allowed is done with (Go checks
            // the count as it takes a redelivery).
            if max_deliver > 0 && dc >= max_deliver {
                exhausted.extend(c.exhaust(s));
                c.update_floor();
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
        match load_next_filtered(store, &c.filters, c.next_sseq) {
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
    /// Delivers on the caller's thread: the stream's ingest, before it acks the
    /// publishers (a push listener or a waiting pull request has a message by the time its
    /// publisher is told it is stored), or the consumer's own thread for a new pull
    /// request. A paced consumer, or one whose delivery task is busy, is only woken: that
    /// task delivers next.
    pub fn deliver_new(&self, server: &ServerShared) {
        let paced = {
            let pacing = self.pacing.lock();
            pacing.0.active || pacing.1.is_some()
        };
        if paced || self.is_closed() {
            self.notify();
            return;
        }
        match self.delivering.try_lock() {
            Some(_pass) => self.deliver(server),
            None => return self.notify(),
        }
        // What went out is due again (ack wait) maybe before the task's planned wake.
        let next = self.cursor.lock().next_deadline();
        if next.is_some_and(|t| t < self.planned_wake.load(Ordering::Acquire)) {
            self.notify();
        }
    }

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
        let mut fc_requests: Vec<(String, String)> = Vec::new();
        let terminated;
        let (mut exhausted, paused) = {
            let mut c = self.cursor.lock();
            // A pin nobody renewed in time goes (Go's pinned TTL timer).
            if let Some(group) = c.waiting.pin_expired(now) {
                self.send_unpinned_advisory(&group, "timeout");
            }
            self.drop_gone_below(&mut c, store.fast_state().first_seq);
            terminated = self.apply_gone(&mut c);
            let exhausted = c.collect_due(now);
            self.process_waiting(&mut c, now, false, &mut statuses);
            // An idle push consumer tells its listener it is alive (paused too).
            if let Some(due) = c.push_heartbeat_due().filter(|&t| now >= t) {
                // Timed from when it was due: a late wake does not stretch the interval.
                c.last_push = if now - due < c.config.heartbeat {
                    due
                } else {
                    now
                };
                if self.active.load(Ordering::Acquire) {
                    let last = (c.dseq, c.next_sseq.saturating_sub(1));
                    let mut header = waiting::idle_heartbeat(last.0, last.1);
                    // Waiting for a flow control answer: the client is told which.
                    if let Some(fc) = c.flow.outstanding() {
                        header = flow::stalled_heartbeat(&header, fc);
                    }
                    statuses.push(Status {
                        reply: c.config.deliver_subject.clone(),
                        header,
                    });
                    // Acked by flow control: an idle consumer asks for the acks of what
                    // it still holds.
                    if c.config.ack_policy == AckPolicy::FlowControl
                        && !c.pending.is_empty()
                        && c.flow.outstanding().is_none()
                    {
                        let reply = self.flow_control_reply();
                        c.flow.request_sent(reply.clone());
                        fc_requests.push((c.config.deliver_subject.clone(), reply));
                    }
                }
            }
            (exhausted, c.paused_until(now).is_some())
        };
        self.publish_statuses(server, std::mem::take(&mut statuses));
        self.send_gone_advisories(&terminated);
        for (deliver, reply) in fc_requests.drain(..) {
            self.publish_flow_control(server, &deliver, &reply);
        }
        if paused {
            // Nothing goes out until the pause ends; requests still expire.
            self.store_max_delivered(&exhausted);
            return;
        }
        loop {
            self.store_max_delivered(&std::mem::take(&mut exhausted));
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
            } else if !self.active.load(Ordering::Acquire) || c.flow.stalled() {
                // Push consumers deliver only while someone listens, and under flow
                // control only while the window has room.
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
            let (mut hdr, payload): (Vec<u8>, &[u8]) = if headers_only {
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
                let load = Load {
                    num_pending: pending_after + 1,
                    ack_pending: c.pending.len(),
                };
                let pinned_before = c.waiting.pin.id.clone();
                let mut new_pin = crate::events::messages::next_event_id;
                let next = c
                    .waiting
                    .next(size, now, &interest, &mut statuses, load, &mut new_pin);
                let pin = &c.waiting.pin;
                if pin.is_set() && pin.id != pinned_before {
                    self.send_pinned_advisory(&pin.group, &pin.id);
                }
                match next {
                    Some(w) => {
                        // A pinned client's deliveries name the pin (Go adds it whoever
                        // holds it, empty for a plain request).
                        if c.config.priority_policy == PriorityPolicy::PinnedClient {
                            hdr = crate::client::header::gen_header(
                                &hdr,
                                priority::PIN_ID_HDR,
                                &c.waiting.pin.id,
                            );
                        }
                        (w.reply.clone(), Some(w))
                    }
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
                        // The requests left may not take it yet (a pin held by another,
                        // overflow thresholds): wait for something to change.
                        break;
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
            // Flow control counts what goes to the deliver subject (Go's pmsg size).
            let fc_request = if !pull && c.flow.is_on() {
                let sent = (target.len() + reply.len() + hdr.len() + payload.len()) as i64;
                let full = c.config.ack_policy == AckPolicy::FlowControl
                    && c.config.max_ack_pending > 0
                    && c.pending.len() as i64 >= c.config.max_ack_pending;
                c.flow.delivered(sent, full).then(|| {
                    let r = self.flow_control_reply();
                    c.flow.request_sent(r.clone());
                    r
                })
            } else {
                None
            };
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
            if let Some(fc) = fc_request {
                self.publish_flow_control(server, &target, &fc);
            }
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
        self.store_max_delivered(&exhausted);
    }

    /// A message left the stream (deleted, expired, acknowledged by another consumer of
    /// a work queue...): the next pass forgets it (Go's `decStreamPending`).
    pub fn message_removed(&self, seq: u64) {
        self.gone.lock().push(seq);
    }

    /// Applies the removals of [`Consumer::message_removed`]: a pending message is done
    /// with as if terminated, one out of deliveries forgotten, in the store too. Returns
    /// the pending ones (stream and consumer sequence, deliveries) for their advisories.
    fn apply_gone(&self, c: &mut Cursor) -> Vec<(u64, u64, u64)> {
        let gone = std::mem::take(&mut *self.gone.lock());
        if gone.is_empty() {
            return Vec::new();
        }
        let terminated: Vec<(u64, u64, u64)> = gone
            .iter()
            .filter_map(|&s| c.pending.get(&s).map(|p| (s, p.dseq, p.dc)))
            .collect();
        let max_delivered: Vec<u64> = gone
            .iter()
            .copied()
            .filter(|s| c.max_delivered.contains_key(s))
            .collect();
        c.drop_gone(&gone);
        for &(sseq, dseq, _) in &terminated {
            let _ = self.store.update_acks(dseq, sseq);
        }
        // A consumer sequence of 0 only forgets the redelivery count (as Go).
        for sseq in max_delivered {
            let _ = self.store.update_acks(0, sseq);
        }
        terminated
    }

    fn send_gone_advisories(&self, terminated: &[(u64, u64, u64)]) {
        for &(sseq, dseq, dc) in terminated {
            self.send_terminated_advisory(sseq, dseq, dc, "Unacknowledged message was deleted");
        }
    }

    /// Every pending message is due now (Go's `forceExpirePending`): queued for
    /// redelivery, or out of deliveries.
    pub fn force_expire_pending(&self) {
        let exhausted = self.cursor.lock().force_expire_pending();
        self.store_max_delivered(&exhausted);
        self.notify();
    }

    /// The state the consumer store holds (Go's `o.store.State()`).
    pub fn stored_state(&self) -> Option<natsd_store::ConsumerState> {
        self.store.state().ok()
    }

    /// Tells the consumer store of messages out of deliveries: no longer pending, still
    /// redelivered (Go records them as one more delivery). The stream keeps them: they
    /// were not acknowledged.
    fn store_max_delivered(&self, msgs: &[MaxDelivered]) {
        for m in msgs {
            self.send_max_deliveries_advisory(m.sseq, m.dc);
            let _ = self.store.update_delivered(m.dseq, m.sseq, m.dc + 1, m.ts);
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
            // Until the wake is planned, a delivery made elsewhere always wakes the task.
            c.planned_wake.store(i64::MAX, Ordering::Release);
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
            c.planned_wake.store(
                now.saturating_add(wait.as_nanos() as i64),
                Ordering::Release,
            );
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
            {
                let _pass = c.delivering.lock();
                c.deliver(&s);
            }
            // Idle past its inactive threshold: the consumer goes.
            if c.inactive(now_nanos()) {
                c.delete_inactive(&s);
            }
        });
        let _ = work.await;
    }
}
