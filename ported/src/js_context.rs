//! A JetStream context as nats.go's `nats.JetStreamContext` behaves for the consumer
//! ports: the consumer API (`js.AddConsumer`, `js.UpdateConsumer`, `js.ConsumerInfo`,
//! ...), subscriptions (`js.PullSubscribe` with `sub.Fetch`, `js.SubscribeSync` with
//! `sub.NextMsg`) and the acks a delivered message takes (`m.Ack`, `m.AckSync`,
//! `m.Nak`, `m.NakWithDelay`, `m.InProgress`, `m.Term`).
//!
//! Each call sends on the wire what nats.go sends for it — the consumer config with
//! nats.go's zero values, the create subject `upsertConsumer` picks, the pull request
//! `Fetch` builds (no-wait first, then a waiting one) — so a port reads like its Go test
//! and checks the server the way that client sees it. [`JsContext`] wraps the plain
//! [`JsClient`] (streams, publishes) and derefs to it. Requests are built with
//! `serde_json::json!`, answers read as JSON.

use crate::jetstream::{api_result, ApiError, JsClient, NatsMsg, RequestError, API_TIMEOUT};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One millisecond in nanoseconds (Go's `time.Millisecond` in a JSON config).
pub const MS: i64 = 1_000_000;
/// One second in nanoseconds.
pub const SEC: i64 = 1_000_000_000;

/// Why a JetStream client call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsError {
    /// The server answered with an API error.
    Api(ApiError),
    /// nats.go refused on its own; the text of its error.
    Client(String),
    /// Nothing came in time (nats.go's `ErrTimeout`).
    Timeout,
    NoResponders,
    /// A status ended a fetch (`nats: <description>`).
    Status(u16, String),
}

impl JsError {
    /// The API error, panicking on any other failure.
    #[track_caller]
    pub fn api(self) -> ApiError {
        match self {
            JsError::Api(e) => e,
            other => panic!("expected an API error, got {other:?}"),
        }
    }
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsError::Api(e) => write!(f, "{e}"),
            JsError::Client(text) => write!(f, "{text}"),
            JsError::Timeout => write!(f, "nats: timeout"),
            JsError::NoResponders => write!(f, "nats: no responders available for request"),
            JsError::Status(_, d) => write!(f, "nats: {d}"),
        }
    }
}

impl From<ApiError> for JsError {
    fn from(e: ApiError) -> JsError {
        JsError::Api(e)
    }
}

impl From<RequestError> for JsError {
    fn from(e: RequestError) -> JsError {
        match e {
            RequestError::NoResponders => JsError::NoResponders,
            RequestError::Timeout => JsError::Timeout,
        }
    }
}

/// What a delivered message's ack subject says (nats.go's `MsgMetadata`, Go's
/// `ackReplyInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgMetadata {
    pub domain: String,
    pub stream: String,
    pub consumer: String,
    pub num_delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    /// Nanoseconds since the Unix epoch.
    pub timestamp: i64,
    pub num_pending: u64,
}

/// Parses an ack subject as nats.go does: the 9-token form
/// `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>` or the form of 11 or
/// more tokens with the domain and account hash after `$JS.ACK`.
pub fn parse_ack_reply(reply: &str) -> Option<MsgMetadata> {
    let t: Vec<&str> = reply.split('.').collect();
    if t.len() < 9 || t[0] != "$JS" || t[1] != "ACK" {
        return None;
    }
    let (domain, rest): (&str, &[&str]) = if t.len() == 9 {
        ("", &t[2..])
    } else if t.len() >= 11 {
        (if t[2] == "_" { "" } else { t[2] }, &t[4..])
    } else {
        return None;
    };
    let num = |s: &str| s.parse::<u64>().ok();
    Some(MsgMetadata {
        domain: domain.to_string(),
        stream: rest[0].to_string(),
        consumer: rest[1].to_string(),
        num_delivered: num(rest[2])?,
        stream_seq: num(rest[3])?,
        consumer_seq: num(rest[4])?,
        timestamp: rest[5].parse().ok()?,
        num_pending: num(rest[6])?,
    })
}

/// What nats.go reads off a received message.
pub trait MsgExt {
    /// `m.Metadata()`; panics when the reply is not an ack subject.
    fn metadata(&self) -> MsgMetadata;
    /// The `Description` nats.go takes from the status line (`NATS/1.0 404 No Messages`).
    fn description(&self) -> String;
    /// A status message as nats.go's `checkMsg` tells them: no payload and a status.
    fn is_status_msg(&self) -> bool;
}

impl MsgExt for NatsMsg {
    #[track_caller]
    fn metadata(&self) -> MsgMetadata {
        parse_ack_reply(&self.reply)
            .unwrap_or_else(|| panic!("not a JetStream message, reply {:?}", self.reply))
    }

    fn description(&self) -> String {
        let text = String::from_utf8_lossy(&self.header);
        let first = text.split("\r\n").next().unwrap_or_default();
        let rest = first.strip_prefix("NATS/1.0").unwrap_or_default().trim();
        match rest.split_once(' ') {
            Some((_, d)) => d.trim().to_string(),
            None => String::new(),
        }
    }

    fn is_status_msg(&self) -> bool {
        self.payload.is_empty() && self.status().is_some()
    }
}

/// A time as Go writes `time.Time` in JSON (RFC 3339 with nanoseconds, UTC), from
/// nanoseconds since the Unix epoch.
pub fn go_time(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let nanos = ns.rem_euclid(1_000_000_000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A consumer config as nats.go marshals its `ConsumerConfig`: `deliver_policy`,
/// `ack_policy`, `replay_policy` and `num_replicas` are always there (their zero values
/// being all, none, instant and 0), everything else only when set.
pub fn nats_consumer_config(cfg: Value) -> Value {
    let mut map = match cfg {
        Value::Object(m) => m,
        other => panic!("a consumer config is an object, got {other}"),
    };
    for (key, zero) in [
        ("deliver_policy", json!("all")),
        ("ack_policy", json!("none")),
        ("replay_policy", json!("instant")),
        ("num_replicas", json!(0)),
    ] {
        map.entry(key).or_insert(zero);
    }
    Value::Object(map)
}

/// nats.go's `checkConfig`: a field the user set that differs from the consumer's.
fn check_config(server: &Value, user: &Map<String, Value>) -> Result<(), JsError> {
    const FIELDS: &[(&str, &str)] = &[
        ("durable_name", "durable"),
        ("description", "description"),
        ("deliver_policy", "deliver policy"),
        ("opt_start_seq", "optional start sequence"),
        ("opt_start_time", "optional start time"),
        ("ack_policy", "ack policy"),
        ("ack_wait", "ack wait"),
        ("max_deliver", "max deliver"),
        ("replay_policy", "replay policy"),
        ("rate_limit_bps", "rate limit"),
        ("sample_freq", "sample frequency"),
        ("max_waiting", "max waiting"),
        ("max_ack_pending", "max ack pending"),
        ("flow_control", "flow control"),
        ("idle_heartbeat", "heartbeat"),
        ("num_replicas", "replicas"),
        ("mem_storage", "memory storage"),
    ];
    // A zero value is "not set" for nats.go.
    let unset = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64().is_some_and(|n| n <= 0),
        Value::Bool(b) => !b,
        _ => false,
    };
    for (key, what) in FIELDS {
        let Some(u) = user.get(*key).filter(|u| !unset(u)) else {
            continue;
        };
        let s = server.get(*key).unwrap_or(&Value::Null);
        let same = match (*key, u, s) {
            ("opt_start_time", Value::String(a), Value::String(b)) => {
                crate::jetstream::parse_go_time(a) == crate::jetstream::parse_go_time(b)
            }
            _ => u == s,
        };
        if !same {
            return Err(JsError::Client(format!(
                "nats: configuration requests {what} to be {u}, but consumer's value is {s}"
            )));
        }
    }
    Ok(())
}

/// How a subscription reaches its consumer (the nats.go `SubOpt`s the ports use).
#[derive(Debug, Clone, Default)]
pub struct SubOpts {
    /// `nats.Bind(stream, _)` / `nats.BindStream(stream)`.
    pub stream: Option<String>,
    /// `nats.Bind(_, consumer)`: the consumer must exist.
    pub bind: Option<String>,
    /// `nats.ConsumerName(name)`.
    pub name: Option<String>,
    /// Consumer config fields options set (`nats.Durable`, `nats.AckWait`,
    /// `nats.MaxDeliver`, `nats.DeliverLastPerSubject`, ...), as JSON.
    pub config: Map<String, Value>,
}

impl SubOpts {
    /// `nats.Bind(stream, consumer)`.
    pub fn bind(stream: &str, consumer: &str) -> SubOpts {
        SubOpts {
            stream: Some(stream.to_string()),
            bind: Some(consumer.to_string()),
            ..Default::default()
        }
    }

    /// `nats.BindStream(stream)`.
    pub fn bind_stream(stream: &str) -> SubOpts {
        SubOpts {
            stream: Some(stream.to_string()),
            ..Default::default()
        }
    }

    /// Options that only set config fields (`cfg` is a JSON object).
    pub fn config(cfg: Value) -> SubOpts {
        SubOpts::default().with(cfg)
    }

    /// Adds config fields (`cfg` is a JSON object).
    pub fn with(mut self, cfg: Value) -> SubOpts {
        match cfg {
            Value::Object(m) => self.config.extend(m),
            other => panic!("options are a JSON object, got {other}"),
        }
        self
    }
}

/// A JetStream subscription (nats.go's `*nats.Subscription` and its `jsi`).
#[derive(Debug, Clone)]
pub struct JsSub {
    pub stream: String,
    pub consumer: String,
    pub sid: u64,
    /// Push: the deliver subject. Pull: the wildcard inbox (`<inbox>.*`).
    pub deliver: String,
    pub pull: bool,
    /// The library created the consumer: unsubscribing deletes it.
    created: bool,
    /// Fetches made (each fetch has its own reply subject).
    fetches: u64,
}

/// A fresh inbox subject (nats.go's `nats.NewInbox()`).
pub fn new_inbox() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "_INBOX.ctx{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A unique 8-character name for an ephemeral the library creates (nats.go hashes a
/// nuid; any name unique to the stream does).
fn ephemeral_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = NEXT.fetch_add(1, Ordering::Relaxed) + (u64::from(std::process::id()) << 24);
    (0..8)
        .map(|_| {
            let c = ALPHABET[(x % 62) as usize] as char;
            x /= 62;
            c
        })
        .collect()
}

/// A connection with nats.go's JetStream context on it.
pub struct JsContext {
    pub js: JsClient,
    /// Messages read off the connection for a subscription and not taken yet.
    queues: HashMap<u64, VecDeque<NatsMsg>>,
}

impl std::ops::Deref for JsContext {
    type Target = JsClient;
    fn deref(&self) -> &JsClient {
        &self.js
    }
}

impl std::ops::DerefMut for JsContext {
    fn deref_mut(&mut self) -> &mut JsClient {
        &mut self.js
    }
}

impl JsContext {
    /// Go's `jsClientConnect`.
    pub fn connect(addr: SocketAddr) -> JsContext {
        JsContext {
            js: JsClient::connect(addr),
            queues: HashMap::new(),
        }
    }

    // ---- plain NATS ----

    /// `nc.SubscribeSync(subject)`; the sid.
    pub fn subscribe_sync_core(&mut self, subject: &str) -> u64 {
        let sid = self.js.conn.subscribe(subject);
        self.js.conn.flush();
        sid
    }

    /// `nc.Flush()`.
    pub fn flush(&mut self) {
        self.js.conn.flush();
    }

    /// `sub.Unsubscribe()` of a core subscription (after a round trip, as nats.go's
    /// following `Flush` in the tests makes sure it registered).
    pub fn unsubscribe_core(&mut self, sid: u64) {
        self.js.conn.unsubscribe(sid);
        self.js.conn.flush();
        self.queues.remove(&sid);
    }

    /// Moves what arrived for `sid` into its queue.
    fn gather(&mut self, sid: u64) {
        let q = self.queues.entry(sid).or_default();
        while let Some(m) = self.js.conn.next_msg(sid, Duration::ZERO) {
            q.push_back(m);
        }
    }

    /// `sub.Pending()`: messages received on `sid` and not taken, once everything the
    /// server sent before a round trip is in.
    pub fn pending(&mut self, sid: u64) -> usize {
        self.js.conn.flush();
        self.gather(sid);
        self.queues.get(&sid).map_or(0, VecDeque::len)
    }

    /// `sub.NextMsg(timeout)` on a core subscription.
    pub fn next_msg_core(&mut self, sid: u64, timeout: Duration) -> Option<NatsMsg> {
        if let Some(m) = self.queues.get_mut(&sid).and_then(VecDeque::pop_front) {
            return Some(m);
        }
        self.js.conn.next_msg(sid, timeout)
    }

    /// Go's `checkSubsPending`: waits up to 10 s for `sid` to hold exactly `n` messages.
    #[track_caller]
    pub fn check_subs_pending(&mut self, sid: u64, n: usize) {
        self.check_pending_within(sid, n, Duration::from_secs(10));
    }

    /// Waits up to `total` for `sid` to hold exactly `n` messages not taken.
    #[track_caller]
    pub fn check_pending_within(&mut self, sid: u64, n: usize, total: Duration) {
        let deadline = Instant::now() + total;
        loop {
            let got = self.pending(sid);
            if got == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Did not receive correct number of messages: {got} vs {n}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    // ---- the consumer API ----

    /// Sends a whole request body to `subject`; the raw JSON answer.
    #[track_caller]
    pub fn request_json(&mut self, subject: &str, body: Value) -> Value {
        self.js.request(subject, Some(&body))
    }

    /// nats.go's `js.AddStream(cfg)`: the name is checked by the client first (no dot
    /// nor space), then `STREAM.CREATE`.
    pub fn add_stream_checked(&mut self, cfg: Value) -> Result<Value, JsError> {
        let name = cfg["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            return Err(JsError::Client("nats: stream name is required".into()));
        }
        if name.contains(['.', ' ']) {
            return Err(JsError::Client("nats: invalid stream name".into()));
        }
        Ok(self.js.add_stream(cfg)?)
    }

    /// What Go's `mset.addConsumer(cfg)` asks, through the API: a named consumer on
    /// `CONSUMER.CREATE.<stream>.<name>`, a durable on `DURABLE.CREATE.<stream>.<durable>`,
    /// an ephemeral on `CONSUMER.CREATE.<stream>`. `config` is the server's
    /// `ConsumerConfig` as JSON with the fields the Go test sets (the server's zero values
    /// are its defaults). The consumer info.
    pub fn add_consumer_direct(&mut self, stream: &str, config: Value) -> Result<Value, ApiError> {
        self.add_consumer_with_action(stream, config, "")
    }

    /// [`Self::add_consumer_direct`] with an action (`create`, `update` or empty), as Go's
    /// `mset.addConsumerWithAction`.
    pub fn add_consumer_with_action(
        &mut self,
        stream: &str,
        config: Value,
        action: &str,
    ) -> Result<Value, ApiError> {
        let name = config["name"].as_str().unwrap_or_default().to_string();
        let durable = config["durable_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let subject = if !name.is_empty() {
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}")
        } else if !durable.is_empty() {
            format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}")
        } else {
            format!("$JS.API.CONSUMER.CREATE.{stream}")
        };
        let mut req = json!({"stream_name": stream, "config": config});
        if !action.is_empty() {
            req["action"] = json!(action);
        }
        api_result(self.js.request(&subject, Some(&req)))
    }

    /// nats.go's `upsertConsumer`: the create subject it picks for a consumer (with the
    /// filter subject when there is one other than `>`).
    fn upsert_consumer(&mut self, stream: &str, name: &str, cfg: &Value) -> Result<Value, JsError> {
        let filter = cfg["filter_subject"].as_str().unwrap_or_default();
        let subject = if name.is_empty() {
            format!("$JS.API.CONSUMER.CREATE.{stream}")
        } else if filter.is_empty() || filter == ">" {
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}")
        } else {
            if filter.starts_with('.') || filter.ends_with('.') {
                return Err(JsError::Client(format!(
                    "nats: invalid filter subject: {filter:?}"
                )));
            }
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.{filter}")
        };
        let body = json!({"stream_name": stream, "config": cfg});
        let resp = self
            .js
            .try_request(&subject, Some(&body))
            .map_err(|e| match e {
                RequestError::NoResponders => JsError::Client("nats: jetstream not enabled".into()),
                RequestError::Timeout => JsError::Timeout,
            })?;
        Ok(api_result(resp)?)
    }

    /// The consumer name nats.go takes from a config: `name`, else `durable_name`.
    fn config_name(cfg: &Value) -> String {
        [&cfg["name"], &cfg["durable_name"]]
            .iter()
            .filter_map(|v| v.as_str())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_string()
    }

    /// nats.go's `js.AddConsumer(stream, cfg)`: `cfg` holds the fields the Go test sets
    /// (nats.go's zero values are added). An existing consumer whose config does not
    /// match is refused by the client, as nats.go does.
    pub fn add_consumer(&mut self, stream: &str, cfg: Value) -> Result<Value, JsError> {
        let user = cfg.as_object().cloned().unwrap_or_default();
        let cfg = nats_consumer_config(cfg);
        let name = Self::config_name(&cfg);
        if !name.is_empty() {
            match self.consumer_info(stream, &name) {
                Ok(info) => {
                    return match check_config(&info["config"], &user) {
                        Ok(()) => Ok(info),
                        Err(_) => Err(JsError::Client(format!(
                            "nats: consumer name already in use: creating consumer {name:?} on stream {stream:?}"
                        ))),
                    }
                }
                // Not found (consumer or stream): create it.
                Err(e) if e.err_code == 10014 || e.err_code == 10059 => {}
                Err(e) => return Err(JsError::Api(e)),
            }
        }
        self.upsert_consumer(stream, &name, &cfg)
    }

    /// nats.go's `js.UpdateConsumer(stream, cfg)`.
    pub fn update_consumer(&mut self, stream: &str, cfg: Value) -> Result<Value, JsError> {
        let cfg = nats_consumer_config(cfg);
        let name = Self::config_name(&cfg);
        if name.is_empty() {
            return Err(JsError::Client("nats: consumer name is required".into()));
        }
        self.upsert_consumer(stream, &name, &cfg)
    }

    /// `CONSUMER.INFO.<stream>.<consumer>`.
    pub fn consumer_info(&mut self, stream: &str, consumer: &str) -> Result<Value, ApiError> {
        api_result(
            self.js
                .request(&format!("$JS.API.CONSUMER.INFO.{stream}.{consumer}"), None),
        )
    }

    /// `CONSUMER.INFO` of a consumer that must exist.
    #[track_caller]
    pub fn info(&mut self, stream: &str, consumer: &str) -> Value {
        self.consumer_info(stream, consumer)
            .unwrap_or_else(|e| panic!("consumer info {stream} > {consumer}: {e:?}"))
    }

    /// `CONSUMER.DELETE.<stream>.<consumer>`.
    pub fn delete_consumer(&mut self, stream: &str, consumer: &str) -> Result<Value, ApiError> {
        api_result(self.js.request(
            &format!("$JS.API.CONSUMER.DELETE.{stream}.{consumer}"),
            None,
        ))
    }

    /// `CONSUMER.NAMES.<stream>`, every page (nats.go's `js.ConsumerNames`).
    pub fn consumer_names(&mut self, stream: &str) -> Result<Vec<String>, ApiError> {
        let mut names = Vec::new();
        loop {
            let resp = api_result(self.js.request(
                &format!("$JS.API.CONSUMER.NAMES.{stream}"),
                Some(&json!({"offset": names.len()})),
            ))?;
            let page: Vec<String> = resp["consumers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let total = resp["total"].as_u64().unwrap_or(0) as usize;
            let done = page.is_empty();
            names.extend(page);
            if done || names.len() >= total {
                return Ok(names);
            }
        }
    }

    /// nats.go's `StreamNameBySubject`.
    pub fn stream_name_by_subject(&mut self, subject: &str) -> Result<String, JsError> {
        let resp = api_result(
            self.js
                .request("$JS.API.STREAM.NAMES", Some(&json!({"subject": subject}))),
        )?;
        resp["streams"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .ok_or_else(|| JsError::Client("nats: no stream matches subject".into()))
    }

    // ---- subscriptions ----

    /// nats.go's `js.subscribe`: finds or creates the consumer, then subscribes its
    /// deliver subject (push) or a wildcard inbox for fetches (pull).
    fn js_subscribe(&mut self, subject: &str, pull: bool, opts: SubOpts) -> Result<JsSub, JsError> {
        if subject.is_empty() && opts.stream.is_none() {
            return Err(JsError::Client("nats: subject required".into()));
        }
        let user = opts.config.clone();
        let durable = user
            .get("durable_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let consumer = opts.bind.clone().unwrap_or_else(|| durable.clone());
        let stream = match &opts.stream {
            Some(s) => s.clone(),
            None => self.stream_name_by_subject(subject)?,
        };
        let info = if consumer.is_empty() {
            None
        } else {
            match self.consumer_info(&stream, &consumer) {
                Ok(info) => Some(info),
                Err(e) if opts.bind.is_some() => return Err(JsError::Api(e)),
                Err(e) if e.err_code == 10014 => None,
                Err(e) => return Err(JsError::Api(e)),
            }
        };
        let (name, deliver, created) = match info {
            Some(info) => {
                let ccfg = &info["config"];
                let filter = ccfg["filter_subject"].as_str().unwrap_or_default();
                if !filter.is_empty() && subject != filter {
                    return Err(JsError::Client(
                        "nats: subject does not match consumer".into(),
                    ));
                }
                let dsubj = ccfg["deliver_subject"].as_str().unwrap_or_default();
                if pull && !dsubj.is_empty() {
                    return Err(JsError::Client(
                        "nats: cannot pull subscribe to push based consumer".into(),
                    ));
                }
                if !pull && dsubj.is_empty() {
                    return Err(JsError::Client(
                        "nats: must use pull subscribe to bind to pull based consumer".into(),
                    ));
                }
                if !pull && info["push_bound"].as_bool().unwrap_or(false) {
                    return Err(JsError::Client(
                        "consumer is already bound to a subscription".into(),
                    ));
                }
                check_config(ccfg, &user)?;
                (consumer.clone(), dsubj.to_string(), false)
            }
            None => {
                let mut cfg = user.clone();
                let deliver = if pull {
                    String::new()
                } else {
                    match cfg.get("deliver_subject").and_then(Value::as_str) {
                        Some(d) if !d.is_empty() => d.to_string(),
                        _ => {
                            let d = new_inbox();
                            cfg.insert("deliver_subject".into(), json!(d));
                            d
                        }
                    }
                };
                // nats.go always filters; the server clears what it must.
                if !subject.is_empty() {
                    cfg.insert("filter_subject".into(), json!(subject));
                }
                cfg.entry("deliver_policy").or_insert(json!("all"));
                cfg.entry("ack_policy").or_insert(json!("explicit"));
                cfg.entry("replay_policy").or_insert(json!("instant"));
                let cfg = nats_consumer_config(Value::Object(cfg));
                let name = if !durable.is_empty() {
                    durable.clone()
                } else {
                    opts.name.clone().unwrap_or_else(ephemeral_name)
                };
                // Push: subscribe before the consumer exists so nothing is missed.
                let early = (!pull).then(|| self.js.conn.subscribe(&deliver));
                let info = match self.upsert_consumer(&stream, &name, &cfg) {
                    Ok(info) => info,
                    Err(e) => {
                        if let Some(sid) = early {
                            self.js.conn.unsubscribe(sid);
                        }
                        return Err(e);
                    }
                };
                let name = info["name"].as_str().unwrap_or(&name).to_string();
                if let Some(sid) = early {
                    self.js.conn.flush();
                    return Ok(JsSub {
                        stream,
                        consumer: name,
                        sid,
                        deliver,
                        pull,
                        created: true,
                        fetches: 0,
                    });
                }
                (name, deliver, true)
            }
        };
        let deliver = if pull {
            format!("{}.*", new_inbox())
        } else {
            deliver
        };
        let sid = self.js.conn.subscribe(&deliver);
        self.js.conn.flush();
        Ok(JsSub {
            stream,
            consumer: name,
            sid,
            deliver,
            pull,
            created,
            fetches: 0,
        })
    }

    /// nats.go's `js.PullSubscribe(subject, durable, opts...)`.
    pub fn pull_subscribe(
        &mut self,
        subject: &str,
        durable: &str,
        opts: SubOpts,
    ) -> Result<JsSub, JsError> {
        let opts = if durable.is_empty() {
            opts
        } else {
            opts.with(json!({"durable_name": durable}))
        };
        self.js_subscribe(subject, true, opts)
    }

    /// nats.go's `js.SubscribeSync(subject, opts...)` (push).
    pub fn subscribe_sync(&mut self, subject: &str, opts: SubOpts) -> Result<JsSub, JsError> {
        self.js_subscribe(subject, false, opts)
    }

    /// nats.go's `sub.Unsubscribe()`: a consumer the library created is deleted.
    pub fn unsubscribe(&mut self, sub: &JsSub) {
        self.unsubscribe_core(sub.sid);
        if sub.created {
            let _ = self.delete_consumer(&sub.stream, &sub.consumer);
        }
    }

    /// nats.go's `sub.ConsumerInfo()`.
    #[track_caller]
    pub fn sub_info(&mut self, sub: &JsSub) -> Value {
        let (stream, consumer) = (sub.stream.clone(), sub.consumer.clone());
        self.info(&stream, &consumer)
    }

    /// nats.go's `sub.Fetch(batch, nats.MaxWait(wait))`: messages already received
    /// first, then a pull request expiring a little before `wait` (no-wait first when
    /// more than one message is wanted, and a waiting one if that found nothing), then
    /// messages until the batch is full, a status ends it, or `wait` passes. Statuses are
    /// not returned; an error only when no message came.
    pub fn fetch(
        &mut self,
        sub: &mut JsSub,
        batch: usize,
        wait: Duration,
    ) -> Result<Vec<NatsMsg>, JsError> {
        self.fetch_with(sub, batch, wait, 0)
    }

    /// [`Self::fetch`] with nats.go's `PullMaxBytes` (0: none).
    pub fn fetch_with(
        &mut self,
        sub: &mut JsSub,
        batch: usize,
        wait: Duration,
        max_bytes: i64,
    ) -> Result<Vec<NatsMsg>, JsError> {
        assert!(sub.pull, "fetch on a push subscription");
        assert!(batch >= 1, "nats: invalid argument");
        let deadline = Instant::now() + wait;
        let mut msgs = Vec::new();
        while msgs.len() < batch {
            match self.next_msg_core(sub.sid, Duration::ZERO) {
                Some(m) if !m.is_status_msg() => msgs.push(m),
                Some(_) => {}
                None => break,
            }
        }
        if msgs.len() >= batch {
            return Ok(msgs);
        }
        let next = format!("$JS.API.CONSUMER.MSG.NEXT.{}.{}", sub.stream, sub.consumer);
        let prefix = sub.deliver.trim_end_matches('*').to_string();
        let send = |ctx: &mut JsContext, sub: &mut JsSub, left: usize, no_wait: bool| {
            let ttl = deadline.saturating_duration_since(Instant::now());
            let expires = ttl.saturating_sub((ttl / 10).min(Duration::from_secs(5)));
            sub.fetches += 1;
            let reply = format!("{prefix}{}", sub.fetches);
            let mut req = Map::new();
            req.insert("expires".into(), json!(expires.as_nanos() as i64));
            req.insert("batch".into(), json!(left));
            if no_wait {
                req.insert("no_wait".into(), json!(true));
            }
            if max_bytes > 0 {
                req.insert("max_bytes".into(), json!(max_bytes));
            }
            let body = Value::Object(req).to_string();
            ctx.js.conn.publish_msg(&next, &reply, &[], body.as_bytes());
        };
        let mut no_wait = batch - msgs.len() > 1;
        send(self, sub, batch - msgs.len(), no_wait);
        let mut err: Option<JsError> = None;
        while msgs.len() < batch {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.next_msg_core(sub.sid, left) else {
                err = Some(JsError::Timeout);
                break;
            };
            if !m.is_status_msg() {
                msgs.push(m);
                continue;
            }
            match m.status() {
                Some(100) => {}
                Some(404) | Some(408) if no_wait && msgs.is_empty() => {
                    no_wait = false;
                    send(self, sub, batch, no_wait);
                }
                Some(408) if msgs.is_empty() => {}
                Some(408) => {
                    err = Some(JsError::Timeout);
                    break;
                }
                Some(404) => {
                    err = Some(JsError::Timeout);
                    break;
                }
                Some(503) => {
                    err = Some(JsError::NoResponders);
                    break;
                }
                Some(code) => {
                    err = Some(JsError::Status(code, m.description()));
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
    pub fn fetch_msgs(&mut self, sub: &mut JsSub, n: usize, total: Duration) -> Vec<NatsMsg> {
        let start = Instant::now();
        let mut out = Vec::new();
        while out.len() < n {
            let left = total.saturating_sub(start.elapsed());
            match self.fetch(sub, n - out.len(), left) {
                Ok(mut m) => out.append(&mut m),
                Err(e) => panic!("Fetch error: {e}"),
            }
            if start.elapsed() >= total {
                break;
            }
        }
        assert_eq!(out.len(), n, "Unexpected msg count");
        out
    }

    /// nats.go's `sub.NextMsg(timeout)` on a push subscription: heartbeats are passed
    /// over and flow control requests answered, as the library does.
    pub fn next_msg(&mut self, sub: &JsSub, timeout: Duration) -> Option<NatsMsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.next_msg_core(sub.sid, left)?;
            if m.status() == Some(100) && m.payload.is_empty() {
                if !m.reply.is_empty() {
                    // A flow control request: the answer lets the server go on.
                    self.js.conn.publish_msg(&m.reply, "", &[], b"");
                }
                continue;
            }
            return Some(m);
        }
    }

    /// [`Self::next_msg`] that must deliver.
    #[track_caller]
    pub fn must_next(&mut self, sub: &JsSub, timeout: Duration) -> NatsMsg {
        self.next_msg(sub, timeout)
            .unwrap_or_else(|| panic!("no message on {} within {timeout:?}", sub.deliver))
    }

    // ---- acks ----

    fn ack_with(&mut self, m: &NatsMsg, body: &[u8]) {
        assert!(!m.reply.is_empty(), "nats: message does not have a reply");
        self.js.conn.publish_msg(&m.reply, "", &[], body);
    }

    /// `m.Ack()`.
    pub fn ack(&mut self, m: &NatsMsg) {
        self.ack_with(m, b"+ACK");
    }

    /// `m.Respond(nil)`: an empty body, which the server takes as an ack.
    pub fn respond_nil(&mut self, m: &NatsMsg) {
        self.ack_with(m, b"");
    }

    /// `m.Nak()`.
    pub fn nak(&mut self, m: &NatsMsg) {
        self.ack_with(m, b"-NAK");
    }

    /// `m.NakWithDelay(delay)`.
    pub fn nak_with_delay(&mut self, m: &NatsMsg, delay: Duration) {
        let body = format!("-NAK {{\"delay\": {}}}", delay.as_nanos());
        self.ack_with(m, body.as_bytes());
    }

    /// `m.InProgress()`.
    pub fn in_progress(&mut self, m: &NatsMsg) {
        self.ack_with(m, b"+WPI");
    }

    /// `m.Term()`.
    pub fn term(&mut self, m: &NatsMsg) {
        self.ack_with(m, b"+TERM");
    }

    /// `m.AckSync()`: the ack as a request, answered once the server applied it.
    pub fn ack_sync(&mut self, m: &NatsMsg) -> Result<(), JsError> {
        assert!(!m.reply.is_empty(), "nats: message does not have a reply");
        self.js.conn.request(&m.reply, &[], b"+ACK", API_TIMEOUT)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ack_subjects_parse_in_both_forms() {
        let v1 = parse_ack_reply("$JS.ACK.S.C.2.10.7.1700000000.3").unwrap();
        assert_eq!(
            (v1.stream.as_str(), v1.consumer.as_str(), v1.num_delivered),
            ("S", "C", 2)
        );
        assert_eq!((v1.stream_seq, v1.consumer_seq, v1.num_pending), (10, 7, 3));
        let v2 = parse_ack_reply("$JS.ACK.hub.acc.S.C.1.4.4.0.0.random").unwrap();
        assert_eq!((v2.domain.as_str(), v2.stream_seq), ("hub", 4));
        assert!(parse_ack_reply("$JS.ACK.S.C.1").is_none());
    }

    #[test]
    fn status_descriptions_are_read() {
        let m = NatsMsg {
            subject: String::new(),
            sid: 0,
            reply: String::new(),
            header: b"NATS/1.0 409 Consumer Deleted\r\n\r\n".to_vec(),
            payload: Vec::new(),
        };
        assert_eq!(m.status(), Some(409));
        assert_eq!(m.description(), "Consumer Deleted");
        assert!(m.is_status_msg());
    }

    #[test]
    fn times_format_as_go_writes_them() {
        for t in [
            "2024-02-29T12:00:00.000000001Z",
            "1970-01-01T00:00:01.5Z",
            "2026-11-27T06:30:00Z",
        ] {
            assert_eq!(go_time(crate::jetstream::parse_go_time(t)), t);
        }
    }

    #[test]
    fn nats_configs_carry_their_zero_values() {
        let c = nats_consumer_config(json!({"durable_name": "d"}));
        assert_eq!(c["ack_policy"], "none");
        assert_eq!(c["deliver_policy"], "all");
        assert_eq!(c["num_replicas"], 0);
    }

    #[test]
    fn a_set_field_that_differs_is_refused() {
        let server = json!({"durable_name": "d", "ack_policy": "explicit", "max_deliver": -1});
        let user = |v: Value| v.as_object().cloned().unwrap();
        assert!(check_config(&server, &user(json!({"durable_name": "d"}))).is_ok());
        // nats.go's zero values are "not set".
        assert!(check_config(&server, &user(json!({"max_deliver": 0}))).is_ok());
        assert!(check_config(&server, &user(json!({"ack_policy": "all"}))).is_err());
    }
}
