//! Consumers for the JetStream test client: the consumer API (create, info, delete,
//! names), pull requests on `$JS.API.CONSUMER.MSG.NEXT` the way nats.go's `Fetch` sends
//! them, push subscriptions the way `js.SubscribeSync` sets them up, and acks.
//!
//! As in the rest of the client, requests are built with `serde_json::json!` and answers
//! read into structs of this crate, never natsd's own API types.

use super::{api_result, ApiError, JsClient, NatsConn, NatsMsg, API_TIMEOUT};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A fresh inbox subject (nats.go's `nats.NewInbox()`).
pub fn new_inbox() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "_INBOX.c{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// What the reply subject of a delivery says
/// (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`; Go's
/// `ackReplyInfo` and nats.go's `Msg.Metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckReply {
    pub stream: String,
    pub consumer: String,
    /// How many times the message was delivered.
    pub delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    /// When it was stored (ns since the epoch).
    pub timestamp: i64,
    /// Messages left for the consumer after this one.
    pub pending: u64,
}

/// Parses an ack reply subject; every field is zero when it is not one (as Go's
/// `ackReplyInfo` answers).
pub fn ack_reply_info(reply: &str) -> AckReply {
    let tokens: Vec<&str> = reply.split('.').collect();
    if tokens.len() != 9 || tokens[0] != "$JS" || tokens[1] != "ACK" {
        return AckReply::default();
    }
    let num = |i: usize| tokens[i].parse::<u64>().unwrap_or(0);
    AckReply {
        stream: tokens[2].to_string(),
        consumer: tokens[3].to_string(),
        delivered: num(4),
        stream_seq: num(5),
        consumer_seq: num(6),
        timestamp: tokens[7].parse().unwrap_or(0),
        pending: num(8),
    }
}

impl NatsMsg {
    /// The delivery's ack reply decoded (nats.go's `Msg.Metadata`).
    pub fn ack_info(&self) -> AckReply {
        ack_reply_info(&self.reply)
    }

    /// The description after the status code (`NATS/1.0 409 Consumer Deleted`), as
    /// nats.go reads its `Description` header.
    pub fn status_description(&self) -> String {
        let text = String::from_utf8_lossy(&self.header);
        let first = text.split("\r\n").next().unwrap_or_default();
        let rest = first.strip_prefix("NATS/1.0").unwrap_or_default().trim();
        match rest.split_once(' ') {
            Some((_, d)) => d.trim().to_string(),
            None => String::new(),
        }
    }

    /// A status message rather than a user message (nats.go's `checkMsg`: no payload and
    /// a status).
    pub fn is_status(&self) -> bool {
        self.payload.is_empty() && self.status().is_some()
    }
}

impl NatsConn {
    /// Publishes with a reply subject (nats.go's `PublishRequest`).
    pub fn publish_request(&mut self, subject: &str, reply: &str, payload: &[u8]) {
        self.publish_msg(subject, reply, &[], payload);
    }

    /// Subscribes to `subject` in queue group `queue`; returns the sid.
    pub fn queue_subscribe(&mut self, subject: &str, queue: &str) -> u64 {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.send(format!("SUB {subject} {queue} {sid}\r\n").as_bytes());
        sid
    }

    /// How many messages have arrived on `sid` and are not taken yet, after a round trip
    /// (nats.go's `Subscription.Pending` once the flusher caught up).
    pub fn pending(&mut self, sid: u64) -> usize {
        self.flush();
        self.queued.iter().filter(|m| m.sid == sid).count()
    }

    /// The oldest message already received on `sid`, without waiting.
    pub fn take_queued(&mut self, sid: u64) -> Option<NatsMsg> {
        let i = self.queued.iter().position(|m| m.sid == sid)?;
        self.queued.remove(i)
    }
}

/// One end of a consumer sequence pair as the consumer info reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct SequenceInfo {
    #[serde(rename = "consumer_seq", default)]
    pub consumer: u64,
    #[serde(rename = "stream_seq", default)]
    pub stream: u64,
    #[serde(default)]
    pub last_active: Option<String>,
}

/// A consumer's info (Go's `ConsumerInfo` JSON); the config stays JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConsumerInfo {
    #[serde(rename = "stream_name")]
    pub stream: String,
    pub name: String,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub delivered: SequenceInfo,
    #[serde(default)]
    pub ack_floor: SequenceInfo,
    #[serde(default)]
    pub num_ack_pending: u64,
    #[serde(default)]
    pub num_redelivered: u64,
    #[serde(default)]
    pub num_waiting: u64,
    #[serde(default)]
    pub num_pending: u64,
    #[serde(default)]
    pub push_bound: bool,
}

impl ConsumerInfo {
    fn of(v: Value) -> ConsumerInfo {
        serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("malformed consumer info {v}: {e}"))
    }
}

/// Why a fetch returned no messages (nats.go's errors of `Fetch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Nothing came before the wait ran out (`nats: timeout`).
    Timeout,
    /// A 404 on a waiting request (`errNoMessages`).
    NoMessages,
    /// Another status (`nats: <description>`), e.g. `409 Exceeded MaxWaiting`.
    Status(u16, String),
    /// Nobody answered the pull request.
    NoResponders,
}

/// A pull subscription (nats.go's `js.PullSubscribe`): the consumer it pulls from and
/// the wildcard inbox its fetches are answered on.
#[derive(Debug, Clone)]
pub struct PullSub {
    pub stream: String,
    pub consumer: String,
    pub sid: u64,
    inbox: String,
    requests: u64,
    /// The library created the consumer (and deletes it on unsubscribe).
    created: bool,
}

impl PullSub {
    /// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`.
    pub fn next_subject(&self) -> String {
        next_subject(&self.stream, &self.consumer)
    }
}

/// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` (Go's `requestNextMsgSubject`).
pub fn next_subject(stream: &str, consumer: &str) -> String {
    format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}")
}

/// A push subscription (nats.go's `js.SubscribeSync`): the deliver subject subscribed
/// on this connection.
#[derive(Debug, Clone)]
pub struct PushSub {
    pub stream: String,
    pub consumer: String,
    pub deliver: String,
    pub sid: u64,
    created: bool,
}

/// Merges `extra` (an object) into `base` (an object).
fn merge(base: &mut Value, extra: &Value) {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
}

impl JsClient {
    /// Creates (or updates) a consumer as nats.go's `upsertConsumer` does: named
    /// (`name`, else `durable`) on `CONSUMER.CREATE.<stream>.<name>[.<filter>]`, unnamed on
    /// the legacy `CONSUMER.CREATE.<stream>`. This is also how the ports create what Go
    /// creates with `mset.addConsumer`.
    pub fn add_consumer(&mut self, stream: &str, config: Value) -> Result<ConsumerInfo, ApiError> {
        let name = config["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .or_else(|| config["durable_name"].as_str())
            .unwrap_or_default()
            .to_string();
        self.upsert_consumer(stream, &name, config)
    }

    /// nats.go's `upsertConsumer`: `name` (may be empty) goes in the subject only.
    fn upsert_consumer(
        &mut self,
        stream: &str,
        name: &str,
        config: Value,
    ) -> Result<ConsumerInfo, ApiError> {
        let filter = config["filter_subject"].as_str().unwrap_or_default();
        let subject = if name.is_empty() {
            format!("$JS.API.CONSUMER.CREATE.{stream}")
        } else if filter.is_empty() || filter == ">" {
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}")
        } else {
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.{filter}")
        };
        let req = json!({"stream_name": stream, "config": config});
        api_result(self.request(&subject, Some(&req))).map(ConsumerInfo::of)
    }

    /// A create request with an explicit `action` ("create" or "update") on
    /// `CONSUMER.CREATE.<stream>.<name>`.
    pub fn add_consumer_action(
        &mut self,
        stream: &str,
        config: Value,
        action: &str,
    ) -> Result<ConsumerInfo, ApiError> {
        let name = config["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .or_else(|| config["durable_name"].as_str())
            .unwrap_or_default()
            .to_string();
        let req = json!({"stream_name": stream, "config": config, "action": action});
        api_result(self.request(
            &format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
            Some(&req),
        ))
        .map(ConsumerInfo::of)
    }

    /// `CONSUMER.INFO`.
    pub fn consumer_info(&mut self, stream: &str, name: &str) -> Result<ConsumerInfo, ApiError> {
        api_result(self.request(&format!("$JS.API.CONSUMER.INFO.{stream}.{name}"), None))
            .map(ConsumerInfo::of)
    }

    /// `CONSUMER.INFO` of a consumer that must exist.
    #[track_caller]
    pub fn cinfo(&mut self, stream: &str, name: &str) -> ConsumerInfo {
        self.consumer_info(stream, name)
            .unwrap_or_else(|e| panic!("consumer info {stream} > {name}: {e}"))
    }

    /// `CONSUMER.DELETE`.
    pub fn delete_consumer(&mut self, stream: &str, name: &str) -> Result<(), ApiError> {
        api_result(self.request(&format!("$JS.API.CONSUMER.DELETE.{stream}.{name}"), None))
            .map(|_| ())
    }

    /// `CONSUMER.NAMES` of a stream.
    pub fn consumer_names(&mut self, stream: &str) -> Result<Vec<String>, ApiError> {
        let resp = api_result(self.request(&format!("$JS.API.CONSUMER.NAMES.{stream}"), None))?;
        Ok(resp["consumers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n.as_str().expect("a name").to_string())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// nats.go's `StreamNameBySubject`: the stream whose subjects take `subject`.
    pub fn stream_name_by_subject(&mut self, subject: &str) -> Option<String> {
        self.stream_names(Some(subject)).into_iter().next()
    }

    /// nats.go's `js.PullSubscribe(subject, durable, opts...)`: finds the stream, binds
    /// to the durable when it exists, else creates it with nats.go's defaults (deliver
    /// all, ack explicit, replay instant, the subject as filter) and `extra` config.
    pub fn pull_subscribe(
        &mut self,
        subject: &str,
        durable: &str,
        extra: Value,
    ) -> Result<PullSub, ApiError> {
        let stream = self
            .stream_name_by_subject(subject)
            .ok_or_else(|| ApiError {
                code: 404,
                err_code: 0,
                description: "no stream matches subject".into(),
            })?;
        let mut cfg = json!({
            "filter_subject": subject,
            "deliver_policy": "all",
            "ack_policy": "explicit",
            "replay_policy": "instant",
        });
        if !durable.is_empty() {
            cfg["durable_name"] = json!(durable);
        }
        merge(&mut cfg, &extra);
        // Without a durable, nats.go skips the lookup and creates one under a name of
        // its own.
        let existing = if durable.is_empty() {
            None
        } else {
            match self.consumer_info(&stream, durable) {
                Ok(info) => Some(info.name),
                Err(e) if e.err_code == 10014 => None,
                Err(e) => return Err(e),
            }
        };
        let created = existing.is_none();
        let name = match existing {
            Some(name) => name,
            None => {
                let name = if durable.is_empty() {
                    new_name()
                } else {
                    durable.to_string()
                };
                self.upsert_consumer(&stream, &name, cfg)?.name
            }
        };
        let inbox = new_inbox();
        let sid = self.conn.subscribe(&format!("{inbox}.*"));
        Ok(PullSub {
            stream,
            consumer: name,
            sid,
            inbox,
            requests: 0,
            created,
        })
    }

    /// A pull subscription bound to an existing consumer (nats.go's `nats.Bind`).
    pub fn pull_bind(&mut self, stream: &str, consumer: &str) -> PullSub {
        let inbox = new_inbox();
        let sid = self.conn.subscribe(&format!("{inbox}.*"));
        PullSub {
            stream: stream.to_string(),
            consumer: consumer.to_string(),
            sid,
            inbox,
            requests: 0,
            created: false,
        }
    }

    /// nats.go's `Fetch(batch, nats.MaxWait(wait))`: takes what already arrived, then
    /// sends a pull request that expires a little before `wait` (no-wait first when
    /// more than one message is wanted, then a waiting one if that found nothing) and
    /// collects messages until `batch` or a status ends it. Messages come back when there
    /// are any; an error only when there are none.
    pub fn fetch(
        &mut self,
        sub: &mut PullSub,
        batch: usize,
        wait: Duration,
    ) -> Result<Vec<NatsMsg>, FetchError> {
        self.fetch_with(sub, batch, wait, 0)
    }

    /// [`Self::fetch`] with `nats.PullMaxBytes(max_bytes)` (0: none).
    pub fn fetch_with(
        &mut self,
        sub: &mut PullSub,
        batch: usize,
        wait: Duration,
        max_bytes: i64,
    ) -> Result<Vec<NatsMsg>, FetchError> {
        let mut msgs = Vec::new();
        while msgs.len() < batch {
            match self.conn.take_queued(sub.sid) {
                Some(m) if !m.is_status() => msgs.push(m),
                Some(_) => {}
                None => break,
            }
        }
        if msgs.len() >= batch {
            return Ok(msgs);
        }
        let deadline = Instant::now() + wait;
        let mut no_wait = batch - msgs.len() > 1;
        sub.requests += 1;
        let reply = format!("{}.{}", sub.inbox, sub.requests);
        let send = |js: &mut JsClient, no_wait: bool, left: usize| {
            let ttl = deadline.saturating_duration_since(Instant::now());
            let diff = (ttl / 10).min(Duration::from_secs(5));
            let mut req = json!({
                "batch": left,
                "expires": (ttl - diff).as_nanos() as u64,
            });
            if no_wait {
                req["no_wait"] = json!(true);
            }
            if max_bytes > 0 {
                req["max_bytes"] = json!(max_bytes);
            }
            js.conn
                .publish_request(&sub.next_subject(), &reply, req.to_string().as_bytes());
        };
        send(self, no_wait, batch - msgs.len());
        let mut err = None;
        while msgs.len() < batch {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.conn.next_msg(sub.sid, left) else {
                err = Some(FetchError::Timeout);
                break;
            };
            if !m.is_status() {
                msgs.push(m);
                continue;
            }
            // A status for an earlier request is not ours.
            if m.subject != reply {
                continue;
            }
            match m.status() {
                Some(100) => {}
                Some(503) => {
                    err = Some(FetchError::NoResponders);
                    break;
                }
                Some(404) | Some(408) if no_wait && msgs.is_empty() => {
                    no_wait = false;
                    send(self, false, batch);
                }
                Some(408) if msgs.is_empty() => {}
                Some(404) => {
                    err = Some(FetchError::NoMessages);
                    break;
                }
                Some(408) => {
                    err = Some(FetchError::Timeout);
                    break;
                }
                Some(code) => {
                    err = Some(FetchError::Status(code, m.status_description()));
                    break;
                }
                None => {}
            }
        }
        match err {
            Some(e) if msgs.is_empty() => Err(e),
            _ => Ok(msgs),
        }
    }

    /// Go's `fetchMsgs`: fetches until `n` messages came, failing after `total`.
    #[track_caller]
    pub fn fetch_msgs(&mut self, sub: &mut PullSub, n: usize, total: Duration) -> Vec<NatsMsg> {
        let start = Instant::now();
        let mut out = Vec::new();
        while out.len() < n {
            let left = total.saturating_sub(start.elapsed());
            assert!(!left.is_zero(), "fetched {} of {n} messages", out.len());
            match self.fetch(sub, n - out.len(), left) {
                Ok(mut m) => out.append(&mut m),
                Err(FetchError::Timeout) | Err(FetchError::NoMessages) => {}
                Err(e) => panic!("fetch: {e:?}"),
            }
        }
        out
    }

    /// Unsubscribes; a consumer the subscription created is deleted (as nats.go does).
    pub fn pull_unsubscribe(&mut self, sub: PullSub) {
        self.conn.unsubscribe(sub.sid);
        if sub.created {
            let _ = self.delete_consumer(&sub.stream, &sub.consumer);
        }
    }

    /// nats.go's `js.SubscribeSync(subject, opts...)`: finds the stream, binds to the
    /// durable (`extra["durable_name"]`) when it exists, else subscribes a new inbox and creates
    /// a push consumer delivering there with nats.go's defaults and `extra` config.
    pub fn subscribe_sync(&mut self, subject: &str, extra: Value) -> Result<PushSub, ApiError> {
        let stream = self
            .stream_name_by_subject(subject)
            .ok_or_else(|| ApiError {
                code: 404,
                err_code: 0,
                description: "no stream matches subject".into(),
            })?;
        let durable = extra["durable_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !durable.is_empty() {
            match self.consumer_info(&stream, &durable) {
                Ok(info) => {
                    let deliver = info.config["deliver_subject"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let sid = self.conn.subscribe(&deliver);
                    self.conn.flush();
                    return Ok(PushSub {
                        stream,
                        consumer: info.name,
                        deliver,
                        sid,
                        created: false,
                    });
                }
                Err(e) if e.err_code == 10014 => {}
                Err(e) => return Err(e),
            }
        }
        let deliver = extra["deliver_subject"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(new_inbox);
        let sid = self.conn.subscribe(&deliver);
        let mut cfg = json!({
            "deliver_subject": deliver,
            "filter_subject": subject,
            "deliver_policy": "all",
            "ack_policy": "explicit",
            "replay_policy": "instant",
        });
        merge(&mut cfg, &extra);
        let name = match cfg["name"].as_str() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ if !durable.is_empty() => durable.clone(),
            _ => new_name(),
        };
        match self.upsert_consumer(&stream, &name, cfg) {
            Ok(info) => Ok(PushSub {
                stream,
                consumer: info.name,
                deliver,
                sid,
                created: true,
            }),
            Err(e) => {
                self.conn.unsubscribe(sid);
                Err(e)
            }
        }
    }

    /// The next message on a push subscription.
    pub fn next_msg(&mut self, sub: &PushSub, timeout: Duration) -> Option<NatsMsg> {
        self.conn.next_msg(sub.sid, timeout)
    }

    /// Unsubscribes; a consumer the subscription created is deleted (as nats.go does).
    pub fn push_unsubscribe(&mut self, sub: PushSub) {
        self.conn.unsubscribe(sub.sid);
        if sub.created {
            let _ = self.delete_consumer(&sub.stream, &sub.consumer);
        }
    }

    /// `m.Ack()`: `+ACK` on the reply, not waiting.
    pub fn ack(&mut self, m: &NatsMsg) {
        self.conn.publish(&m.reply, b"+ACK");
    }

    /// `m.AckSync()`: `+ACK` as a request, answered once the server applied it.
    #[track_caller]
    pub fn ack_sync(&mut self, m: &NatsMsg) {
        self.conn
            .request(&m.reply, &[], b"+ACK", API_TIMEOUT)
            .unwrap_or_else(|e| panic!("ack of {:?} not answered: {e:?}", m.reply));
    }

    /// `m.Nak()`.
    pub fn nak(&mut self, m: &NatsMsg) {
        self.conn.publish(&m.reply, b"-NAK");
    }

    /// `m.NakWithDelay(delay)`.
    pub fn nak_with_delay(&mut self, m: &NatsMsg, delay: Duration) {
        let body = format!("-NAK {{\"delay\": {}}}", delay.as_nanos());
        self.conn.publish(&m.reply, body.as_bytes());
    }

    /// `m.InProgress()`.
    pub fn in_progress(&mut self, m: &NatsMsg) {
        self.conn.publish(&m.reply, b"+WPI");
    }

    /// `m.Term()`.
    pub fn term(&mut self, m: &NatsMsg) {
        self.conn.publish(&m.reply, b"+TERM");
    }
}

/// A unique consumer name as nats.go picks one for an ephemeral subscription.
pub fn new_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "eph{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ack_replies_are_decoded() {
        let a = ack_reply_info("$JS.ACK.S.C.2.10.7.1700000000000000000.3");
        assert_eq!((a.stream.as_str(), a.consumer.as_str()), ("S", "C"));
        assert_eq!(
            (a.delivered, a.stream_seq, a.consumer_seq, a.pending),
            (2, 10, 7, 3)
        );
        assert_eq!(ack_reply_info("foo.bar"), AckReply::default());
    }

    #[test]
    fn status_descriptions_are_read() {
        let m = NatsMsg {
            subject: String::new(),
            sid: 0,
            reply: String::new(),
            header: b"NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n".to_vec(),
            payload: Vec::new(),
        };
        assert!(m.is_status());
        assert_eq!(m.status(), Some(409));
        assert_eq!(m.status_description(), "Exceeded MaxWaiting");
    }
}
