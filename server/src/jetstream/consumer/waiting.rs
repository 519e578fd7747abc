//! Pull requests waiting for messages (Go's `waitQueue`), and the pure half of what Go
//! does with them: reading a request (`nextReqFromMsg`), expiring, heart-beating and
//! dropping them (`processWaiting`), and picking the one a message goes to
//! (`nextWaiting` with `pop`), with the priority group policies: the pin of a pinned
//! client, overflow thresholds, requests sorted by priority. The consumer publishes the
//! statuses these return.
//!
//! Times are nanoseconds since the epoch, passed in.

use super::priority::{wrong_pin_status, Pin, PriorityGroup};
use crate::jetstream::api::types::{NextRequest, PriorityPolicy};
use std::collections::VecDeque;

/// Headers on a status that ends a pull request: what it still asked for.
pub const PENDING_MSGS_HDR: &str = "Nats-Pending-Messages";
pub const PENDING_BYTES_HDR: &str = "Nats-Pending-Bytes";
/// Headers of an idle heartbeat: the last consumer and stream sequences delivered.
pub const LAST_CONSUMER_HDR: &str = "Nats-Last-Consumer";
pub const LAST_STREAM_HDR: &str = "Nats-Last-Stream";

/// An outstanding pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub reply: String,
    /// Messages still to send (Go's `n`; a request may ask for 0 and still gets one).
    pub batch: i64,
    /// Bytes still allowed (0: no limit; Go's `b`).
    pub max_bytes: i64,
    /// When it expires (ns), if it does.
    pub expires: Option<i64>,
    pub no_wait: bool,
    /// Idle heartbeat interval (ns), 0 for none, and when the next one is due.
    pub heartbeat: i64,
    pub next_heartbeat: i64,
    /// Messages delivered on it so far (Go's `d`).
    pub delivered: i64,
    /// Its priority part; `None` when the request was not JSON (Go's nil
    /// `priorityGroup`).
    pub priority: Option<PriorityGroup>,
}

impl PullRequest {
    /// A request read from `req`, received at `now`.
    pub fn new(reply: &str, req: &NextRequest, now: i64) -> PullRequest {
        PullRequest {
            reply: reply.to_string(),
            batch: req.batch,
            max_bytes: req.max_bytes,
            expires: (req.expires > 0).then(|| now.saturating_add(req.expires)),
            no_wait: req.no_wait,
            heartbeat: req.idle_heartbeat.max(0),
            next_heartbeat: now.saturating_add(req.idle_heartbeat.max(0)),
            delivered: 0,
            priority: None,
        }
    }

    /// The pin the request holds ("" for none).
    pub fn pin_id(&self) -> &str {
        self.priority.as_ref().map_or("", |p| p.id.as_str())
    }

    /// Its priority; a request without a priority part comes last (Go: MaxInt32).
    pub fn priority_level(&self) -> i64 {
        self.priority
            .as_ref()
            .map_or(i64::from(i32::MAX), |p| p.priority)
    }

    /// A status header carrying what the request still asked for.
    pub fn status_with_pending(&self, code: u16, description: &str) -> String {
        format!(
            "NATS/1.0 {code} {description}\r\n{PENDING_MSGS_HDR}: {}\r\n{PENDING_BYTES_HDR}: {}\r\n\r\n",
            self.batch, self.max_bytes
        )
    }
}

/// A status to publish to a request's reply subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub reply: String,
    pub header: String,
}

impl Status {
    fn new(reply: &str, header: String) -> Status {
        Status {
            reply: reply.to_string(),
            header,
        }
    }
}

/// The heartbeat header Go sends on an idle pull request.
pub fn idle_heartbeat(last_consumer: u64, last_stream: u64) -> String {
    format!(
        "NATS/1.0 100 Idle Heartbeat\r\n{LAST_CONSUMER_HDR}: {last_consumer}\r\n{LAST_STREAM_HDR}: {last_stream}\r\n\r\n"
    )
}

/// Why a pull request body is refused (Go answers `400 Bad Request - <this>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

/// Reads a pull request body as Go's `nextReqFromMsg`: empty asks for one message, a
/// number for that many, JSON for a full request; anything else asks for one. A
/// heartbeat needs an expiry at least twice as long.
pub fn parse_next_request(body: &[u8]) -> Result<NextRequest, BadRequest> {
    let text = body.trim_ascii();
    let one = NextRequest {
        batch: 1,
        ..Default::default()
    };
    if text.is_empty() {
        return Ok(one);
    }
    if text.first() == Some(&b'{') {
        let req: NextRequest =
            crate::jetstream::api::decode_like_go(text).map_err(|e| BadRequest(e.to_string()))?;
        if req.idle_heartbeat > 0 && req.idle_heartbeat.saturating_mul(2) > req.expires {
            return Err(BadRequest("heartbeat value too large".into()));
        }
        return Ok(req);
    }
    match std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()) {
        Some(n) => Ok(NextRequest {
            batch: n,
            ..Default::default()
        }),
        None => Ok(one),
    }
}

/// The priority part of a pull request body: what a JSON body names (Go's
/// `nextReqFromMsg` gives every JSON request one), `None` for other bodies.
pub fn parse_priority_group(body: &[u8]) -> Option<PriorityGroup> {
    let text = body.trim_ascii();
    if text.first() != Some(&b'{') {
        return None;
    }
    crate::jetstream::api::decode_like_go(text).ok()
}

/// What the consumer holds when a message is to go out, for overflow thresholds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Messages pending for the consumer, counting the one to go out (Go's `npc+1`).
    pub num_pending: u64,
    /// Messages delivered and not acknowledged.
    pub ack_pending: usize,
}

/// Requests in arrival order; a request that got a message and wants more goes to the
/// back, so messages go round the requests one at a time (Go's `waitQueue.pop`). Under
/// the prioritized policy they are kept sorted by priority instead, arrival order within
/// one priority. The pin of a pinned-client consumer lives here too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitQueue {
    requests: VecDeque<PullRequest>,
    pub policy: PriorityPolicy,
    /// How long a pin lasts without a request holding it (ns).
    pub pinned_ttl: i64,
    pub pin: Pin,
}

impl WaitQueue {
    /// The peeked-at first request (Go's `peek`).
    pub fn peek(&self) -> Option<&PullRequest> {
        self.requests.front()
    }

    /// Drops the first request (Go's `removeCurrent`).
    pub fn remove_current(&mut self) -> Option<PullRequest> {
        self.requests.pop_front()
    }

    /// Adds a request behind those of the same or a lower priority number (Go's
    /// `addPrioritized`): sorted, stable.
    pub fn add_prioritized(&mut self, req: PullRequest) {
        let level = req.priority_level();
        let at = self
            .requests
            .iter()
            .position(|r| r.priority_level() > level)
            .unwrap_or(self.requests.len());
        self.requests.insert(at, req);
    }

    /// Adds a request as the policy orders them.
    pub fn add(&mut self, req: PullRequest) {
        if self.policy == PriorityPolicy::Prioritized {
            self.add_prioritized(req);
        } else {
            self.push(req);
        }
    }

    /// Takes a message for the first request: it leaves when done, or else goes behind
    /// the other requests of its priority (Go's `popAndRequeue`). The request as it is
    /// after taking it.
    pub fn pop_and_requeue(&mut self) -> Option<PullRequest> {
        let mut w = self.requests.pop_front()?;
        w.delivered += 1;
        w.batch -= 1;
        if w.batch > 0 {
            self.add_prioritized(w.clone());
        }
        Some(w)
    }

    /// Unpins (an admin request or the pin ran out): the group it was for, if any.
    pub fn unpin(&mut self) -> Option<String> {
        let was = std::mem::take(&mut self.pin);
        was.is_set().then_some(was.group)
    }

    /// The pin ran out by `now`: unpinned; the group it was for.
    pub fn pin_expired(&mut self, now: i64) -> Option<String> {
        if self.pin.deadline().is_some_and(|t| now >= t) {
            self.unpin()
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub fn push(&mut self, req: PullRequest) {
        self.requests.push_back(req);
    }

    pub fn iter(&self) -> impl Iterator<Item = &PullRequest> {
        self.requests.iter()
    }

    /// Takes every request out (consumer deleted, server shutting down).
    pub fn drain(&mut self) -> Vec<PullRequest> {
        self.requests.drain(..).collect()
    }

    /// Messages the requests still ask for (Go's batch requests pending).
    pub fn batch_pending(&self) -> i64 {
        self.requests.iter().map(|r| r.batch.max(0)).sum()
    }

    /// The earliest expiry, heartbeat or end of the pin.
    pub fn next_deadline(&self) -> Option<i64> {
        self.requests
            .iter()
            .flat_map(|w| {
                let hb = (w.heartbeat > 0).then_some(w.next_heartbeat);
                w.expires.into_iter().chain(hb)
            })
            .chain(self.pin.deadline())
            .min()
    }

    /// Go's `processWaiting`: expired requests end with a 408; at the end of the stream
    /// (`eos`) a no-wait request that cannot wait (no expiry, or it got messages
    /// already) ends with a 404; requests nobody listens to any more go silently;
    /// heartbeats due go out. `last` is the last consumer and stream sequence delivered.
    pub fn process(
        &mut self,
        now: i64,
        eos: bool,
        has_interest: &dyn Fn(&str) -> bool,
        last: (u64, u64),
        out: &mut Vec<Status>,
    ) {
        let base = out.len();
        let mut keep = VecDeque::with_capacity(self.requests.len());
        let mut expired = Vec::new();
        for mut w in self.requests.drain(..) {
            if let Some(e) = w.expires.filter(|&e| now >= e) {
                expired.push((e, w));
                continue;
            }
            if eos && w.no_wait && (w.expires.is_none() || w.delivered > 0) {
                out.push(Status::new(
                    &w.reply,
                    "NATS/1.0 404 No Messages\r\n\r\n".into(),
                ));
                continue;
            }
            if !has_interest(&w.reply) {
                continue;
            }
            if w.heartbeat > 0 && now >= w.next_heartbeat {
                out.push(Status::new(&w.reply, idle_heartbeat(last.0, last.1)));
                w.next_heartbeat = now.saturating_add(w.heartbeat);
            }
            keep.push_back(w);
        }
        self.requests = keep;
        // Requests that expired since the last pass end in the order they expired.
        expired.sort_by_key(|(e, _)| *e);
        let timeouts = expired
            .into_iter()
            .map(|(_, w)| Status::new(&w.reply, w.status_with_pending(408, "Request Timeout")));
        // Their timeouts go before the other statuses of this pass, as Go's timers fire
        // first.
        out.splice(base..base, timeouts);
    }

    /// Go's `nextWaiting` and `pop`: the request a message of `size` bytes goes to, as it
    /// is after taking it. Requests expired, too small for the message, without interest,
    /// or holding a stale pin are dropped on the way (with their statuses). Under the
    /// priority policies a request that may not have it now (not the pin holder, under
    /// its overflow thresholds) goes to the back; when all did, nobody takes the message.
    /// A pinned-client consumer without a pin pins the first request without one, with
    /// an id from `new_pin_id`. The request goes to the back if it wants more, or leaves
    /// the queue when done.
    pub fn next(
        &mut self,
        size: i64,
        now: i64,
        has_interest: &dyn Fn(&str) -> bool,
        out: &mut Vec<Status>,
        load: Load,
        new_pin_id: &mut dyn FnMut() -> String,
    ) -> Option<PullRequest> {
        let need_new_pin = !self.pin.is_set() && self.policy == PriorityPolicy::PinnedClient;
        let mut cycled = 0;
        while let Some(mut w) = self.requests.pop_front() {
            if w.expires.is_some_and(|e| now >= e) {
                out.push(Status::new(
                    &w.reply,
                    w.status_with_pending(408, "Request Timeout"),
                ));
                continue;
            }
            let mut took_pin = false;
            if need_new_pin {
                if !w.pin_id().is_empty() {
                    // It holds a pin that is gone (Go: probably the old one).
                    out.push(Status::new(
                        &w.reply,
                        wrong_pin_status(w.batch, w.max_bytes),
                    ));
                    continue;
                }
                // Only a request naming its group is pinned (a plain one is served
                // without a pin).
                if let Some(pg) = w.priority.as_mut().filter(|p| !p.group.is_empty()) {
                    pg.id = new_pin_id();
                    self.pin = Pin {
                        id: pg.id.clone(),
                        group: pg.group.clone(),
                        since: now,
                        expires: now.saturating_add(self.pinned_ttl),
                    };
                }
                took_pin = true;
            } else if self.pin.is_set() && w.pin_id() != self.pin.id {
                if !w.pin_id().is_empty() {
                    out.push(Status::new(
                        &w.reply,
                        wrong_pin_status(w.batch, w.max_bytes),
                    ));
                    continue;
                }
                // Not the pin holder: it waits its turn.
                self.requests.push_back(w);
                cycled += 1;
                if cycled >= self.requests.len() {
                    return None;
                }
                continue;
            }
            if self.policy == PriorityPolicy::Overflow {
                let waits = w.priority.as_ref().is_some_and(|p| {
                    let by_pending = p.min_pending > 0 && p.min_pending as u64 <= load.num_pending;
                    let by_acks = p.min_ack_pending > 0
                        && p.min_ack_pending as u64 <= load.ack_pending as u64;
                    (p.min_pending > 0 || p.min_ack_pending > 0) && !(by_pending || by_acks)
                });
                if waits {
                    self.requests.push_back(w);
                    cycled += 1;
                    if cycled >= self.requests.len() {
                        return None;
                    }
                    continue;
                }
            }
            if w.max_bytes > 0 {
                if size > w.max_bytes {
                    out.push(Status::new(
                        &w.reply,
                        w.status_with_pending(409, "Message Size Exceeds MaxBytes"),
                    ));
                    // The pin it just took goes with it.
                    if took_pin {
                        self.pin = Pin::default();
                    }
                    continue;
                }
                w.max_bytes -= size;
                // Exactly used up: this message is the last one.
                if w.max_bytes == 0 {
                    w.batch = 1;
                }
            }
            if !has_interest(&w.reply) {
                continue;
            }
            w.delivered += 1;
            w.batch -= 1;
            if w.heartbeat > 0 {
                w.next_heartbeat = now.saturating_add(w.heartbeat);
            }
            if w.batch > 0 {
                if self.policy == PriorityPolicy::Prioritized {
                    self.add_prioritized(w.clone());
                } else {
                    self.requests.push_back(w.clone());
                }
            }
            return Some(w);
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn req(reply: &str, batch: i64) -> PullRequest {
        PullRequest::new(
            reply,
            &NextRequest {
                batch,
                ..Default::default()
            },
            0,
        )
    }

    fn all(_: &str) -> bool {
        true
    }

    fn no_pin() -> String {
        unreachable!("no pin without the pinned-client policy")
    }

    #[test]
    fn bodies_parse_like_go() {
        assert_eq!(parse_next_request(b"").unwrap().batch, 1);
        assert_eq!(parse_next_request(b" 7 ").unwrap().batch, 7);
        assert_eq!(parse_next_request(b"junk").unwrap().batch, 1);
        let r = parse_next_request(br#"{"batch":3,"no_wait":true,"expires":1000}"#).unwrap();
        assert_eq!((r.batch, r.no_wait, r.expires), (3, true, 1000));
        // A heartbeat needs an expiry of at least twice its interval.
        assert_eq!(
            parse_next_request(br#"{"idle_heartbeat":100}"#),
            Err(BadRequest("heartbeat value too large".into()))
        );
        assert!(parse_next_request(br#"{"idle_heartbeat":50,"expires":100}"#).is_ok());
        assert!(parse_next_request(br#"{"batch":"x"}"#).is_err());
    }

    #[test]
    fn messages_go_round_the_requests_one_at_a_time() {
        let mut q = WaitQueue::default();
        q.push(req("a", 2));
        q.push(req("b", 2));
        let mut out = Vec::new();
        let order: Vec<String> = (0..5)
            .filter_map(|_| {
                q.next(10, 0, &all, &mut out, Load::default(), &mut no_pin)
                    .map(|w| w.reply)
            })
            .collect();
        assert_eq!(order, ["a", "b", "a", "b"]);
        assert!(q.is_empty() && out.is_empty());
    }

    #[test]
    fn max_bytes_ends_a_request_with_409_or_a_last_message() {
        let mut q = WaitQueue::default();
        let mut r = req("a", 10);
        r.max_bytes = 100;
        q.push(r);
        let mut out = Vec::new();
        // Too big: the request goes with a 409 telling what it still wanted.
        assert!(q
            .next(101, 0, &all, &mut out, Load::default(), &mut no_pin)
            .is_none());
        assert_eq!(
            out[0].header,
            "NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 10\r\nNats-Pending-Bytes: 100\r\n\r\n"
        );
        let mut r = req("b", 10);
        r.max_bytes = 100;
        q.push(r);
        let w = q
            .next(60, 0, &all, &mut out, Load::default(), &mut no_pin)
            .unwrap();
        assert_eq!((w.batch, w.max_bytes), (9, 40));
        // Exactly the bytes left: delivered, and the request is done.
        let w = q
            .next(40, 0, &all, &mut out, Load::default(), &mut no_pin)
            .unwrap();
        assert_eq!((w.batch, w.max_bytes), (0, 0));
        assert!(q.is_empty());
    }

    #[test]
    fn no_wait_requests_end_at_the_end_of_the_stream_unless_they_can_wait() {
        let mut q = WaitQueue::default();
        let mut plain = req("plain", 1);
        plain.no_wait = true;
        let mut one_shot = req("one-shot", 1);
        one_shot.no_wait = true;
        one_shot.expires = Some(500 * MS);
        q.push(plain);
        q.push(one_shot);
        let mut out = Vec::new();
        q.process(100 * MS, true, &all, (0, 0), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].reply, "plain");
        assert!(out[0].header.starts_with("NATS/1.0 404 No Messages"));
        out.clear();
        q.process(500 * MS, true, &all, (0, 0), &mut out);
        assert_eq!(
            out[0].header,
            "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n"
        );
        assert!(q.is_empty());
    }

    #[test]
    fn requests_expired_together_end_in_expiry_order() {
        let mut q = WaitQueue::default();
        for (reply, expires) in [("200", 200), ("100", 100), ("75", 75)] {
            let mut r = req(reply, 1);
            r.expires = Some(expires * MS);
            q.push(r);
        }
        let mut out = Vec::new();
        q.process(150 * MS, false, &all, (0, 0), &mut out);
        let order: Vec<&str> = out.iter().map(|s| s.reply.as_str()).collect();
        assert_eq!(order, ["75", "100"]);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn requests_without_interest_go_and_heartbeats_carry_the_last_sequences() {
        let mut q = WaitQueue::default();
        q.push(req("gone", 1));
        let mut hb = PullRequest::new(
            "here",
            &NextRequest {
                batch: 1,
                expires: 1000 * MS,
                idle_heartbeat: 100 * MS,
                ..Default::default()
            },
            0,
        );
        hb.delivered = 0;
        q.push(hb);
        let mut out = Vec::new();
        q.process(100 * MS, false, &|r| r == "here", (3, 7), &mut out);
        assert_eq!(q.len(), 1);
        assert_eq!(
            out[0].header,
            "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\nNats-Last-Stream: 7\r\n\r\n"
        );
        assert_eq!(q.next_deadline(), Some(200 * MS));
    }

    fn grouped(reply: &str, batch: i64, f: impl FnOnce(&mut PriorityGroup)) -> PullRequest {
        let mut w = req(reply, batch);
        let mut pg = PriorityGroup {
            group: "A".into(),
            ..Default::default()
        };
        f(&mut pg);
        w.priority = Some(pg);
        w
    }

    #[test]
    fn a_pinned_client_gets_every_message_until_unpinned() {
        let mut q = WaitQueue {
            policy: PriorityPolicy::PinnedClient,
            pinned_ttl: 10 * MS,
            ..Default::default()
        };
        q.push(grouped("one", 5, |_| {}));
        q.push(grouped("two", 5, |_| {}));
        let mut out = Vec::new();
        let mut ids = 0;
        let mut new_id = || {
            ids += 1;
            format!("P{ids}")
        };
        let load = Load::default();
        for _ in 0..3 {
            let w = q.next(1, 0, &all, &mut out, load, &mut new_id).unwrap();
            assert_eq!((w.reply.as_str(), w.pin_id()), ("one", "P1"));
        }
        assert_eq!(q.pin.deadline(), Some(10 * MS));
        // Without the holder, nobody takes a message.
        let one_gone = |r: &str| r != "one";
        assert!(q
            .next(1, MS, &one_gone, &mut out, load, &mut new_id)
            .is_none());
        assert_eq!(q.len(), 1);
        // The pin runs out: the other request is pinned.
        assert_eq!(q.pin_expired(10 * MS), Some("A".into()));
        let w = q
            .next(1, 10 * MS, &all, &mut out, load, &mut new_id)
            .unwrap();
        assert_eq!((w.reply.as_str(), w.pin_id()), ("two", "P2"));
        assert!(out.is_empty());
        // Unpinned: requests holding a pin are told (423) when a message is there for
        // them, and the first one without a pin takes a new one.
        q.push(grouped("old", 1, |p| p.id = "P1".into()));
        q.push(grouped("fresh", 1, |_| {}));
        assert_eq!(q.unpin(), Some("A".into()));
        let w = q
            .next(1, 11 * MS, &all, &mut out, load, &mut new_id)
            .unwrap();
        let told: Vec<&str> = out.iter().map(|s| s.reply.as_str()).collect();
        assert_eq!(told, ["two", "old"]);
        assert!(out[0]
            .header
            .starts_with("NATS/1.0 423 Nats-Wrong-Pin-Id\r\nNats-Pending-Messages: 4"));
        assert_eq!((w.reply.as_str(), w.pin_id()), ("fresh", "P3"));
    }

    #[test]
    fn overflow_requests_wait_for_their_thresholds() {
        let mut q = WaitQueue {
            policy: PriorityPolicy::Overflow,
            ..Default::default()
        };
        q.push(grouped("acks", 1, |p| p.min_ack_pending = 2));
        q.push(grouped("pending", 1, |p| p.min_pending = 10));
        let mut out = Vec::new();
        let mut none = no_pin;
        let few = Load {
            num_pending: 3,
            ack_pending: 1,
        };
        assert!(q.next(1, 0, &all, &mut out, few, &mut none).is_none());
        assert_eq!(q.len(), 2);
        let many = Load {
            num_pending: 10,
            ack_pending: 1,
        };
        assert_eq!(
            q.next(1, 0, &all, &mut out, many, &mut none).unwrap().reply,
            "pending"
        );
        let acks = Load {
            num_pending: 0,
            ack_pending: 2,
        };
        assert_eq!(
            q.next(1, 0, &all, &mut out, acks, &mut none).unwrap().reply,
            "acks"
        );
    }

    #[test]
    fn prioritized_requests_are_served_lowest_number_first() {
        let mut q = WaitQueue {
            policy: PriorityPolicy::Prioritized,
            ..Default::default()
        };
        q.add(grouped("p3", 1, |p| p.priority = 3));
        q.add(grouped("p1", 2, |p| p.priority = 1));
        q.add(grouped("p2", 1, |p| p.priority = 2));
        let mut out = Vec::new();
        let mut none = no_pin;
        let order: Vec<String> = (0..4)
            .filter_map(|_| {
                q.next(1, 0, &all, &mut out, Load::default(), &mut none)
                    .map(|w| w.reply)
            })
            .collect();
        assert_eq!(order, ["p1", "p1", "p2", "p3"]);
    }
}
