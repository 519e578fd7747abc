//! Pull requests waiting for messages (Go's `waitQueue`), and the pure half of what Go
//! does with them: reading a request (`nextReqFromMsg`), expiring, heart-beating and
//! dropping them (`processWaiting`), and picking the one a message goes to
//! (`nextWaiting` with `pop`). The consumer publishes the statuses these return.
//!
//! Times are nanoseconds since the epoch, passed in.

use crate::jetstream::api::types::NextRequest;
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
        }
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

/// Requests in arrival order; a request that got a message and wants more goes to the
/// back, so messages go round the requests one at a time (Go's `waitQueue.pop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitQueue {
    requests: VecDeque<PullRequest>,
}

impl WaitQueue {
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

    /// The earliest expiry or heartbeat.
    pub fn next_deadline(&self) -> Option<i64> {
        self.requests
            .iter()
            .flat_map(|w| {
                let hb = (w.heartbeat > 0).then_some(w.next_heartbeat);
                w.expires.into_iter().chain(hb)
            })
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
    /// is after taking it. Requests expired, too small for the message, or without
    /// interest are dropped on the way (with their statuses). The request goes to the
    /// back if it wants more, or leaves the queue when done.
    pub fn next(
        &mut self,
        size: i64,
        now: i64,
        has_interest: &dyn Fn(&str) -> bool,
        out: &mut Vec<Status>,
    ) -> Option<PullRequest> {
        while let Some(mut w) = self.requests.pop_front() {
            if w.expires.is_some_and(|e| now >= e) {
                out.push(Status::new(
                    &w.reply,
                    w.status_with_pending(408, "Request Timeout"),
                ));
                continue;
            }
            if w.max_bytes > 0 {
                if size > w.max_bytes {
                    out.push(Status::new(
                        &w.reply,
                        w.status_with_pending(409, "Message Size Exceeds MaxBytes"),
                    ));
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
                self.requests.push_back(w.clone());
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
            .filter_map(|_| q.next(10, 0, &all, &mut out).map(|w| w.reply))
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
        assert!(q.next(101, 0, &all, &mut out).is_none());
        assert_eq!(
            out[0].header,
            "NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 10\r\nNats-Pending-Bytes: 100\r\n\r\n"
        );
        let mut r = req("b", 10);
        r.max_bytes = 100;
        q.push(r);
        let w = q.next(60, 0, &all, &mut out).unwrap();
        assert_eq!((w.batch, w.max_bytes), (9, 40));
        // Exactly the bytes left: delivered, and the request is done.
        let w = q.next(40, 0, &all, &mut out).unwrap();
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
}
