//! JetStream test support: Go's `RunBasicJetStreamServer` and a small synchronous
//! JetStream client that speaks the `$JS.API` over a plain NATS connection.
//!
//! The client builds its requests with `serde_json::json!` and reads the answers as
//! `serde_json::Value` (or small structs of its own), never through natsd's API types, so a
//! mistake in those types cannot hide on both sides of a port.

pub mod consumers;
pub use consumers::*;

use crate::support::{default_test_options, run_server};
use natsd::config::Options;
use natsd::server::{BackgroundServer, ServerShared};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an API request or a publish waits for its answer (Go's tests connect with
/// `nats.MaxWait(10 * time.Second)`).
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A server with JetStream on and its store in a temporary directory (Go's
/// `RunBasicJetStreamServer`). It can be restarted on the same store.
pub struct JsServer {
    server: Option<BackgroundServer>,
    opts: Options,
    store_dir: tempfile::TempDir,
}

/// Go's `RunBasicJetStreamServer`: the default test options with JetStream on.
pub fn run_basic_jetstream_server() -> JsServer {
    run_jetstream_server(default_test_options())
}

/// A new temporary store directory, on tmpfs when there is one: a durable publish syncs,
/// and syncs cost nothing there.
fn temp_store_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("natsd-js-test-")
            .tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp store dir")
}

/// Starts a server from a configuration file whose text `conf` writes around a new
/// temporary store directory (Go's `createConfFile` + `RunServerWithConfig` with
/// `store_dir: t.TempDir()`).
pub fn run_jetstream_server_with_conf(conf: impl FnOnce(&Path) -> String) -> JsServer {
    let store_dir = temp_store_dir();
    let path = crate::support::create_conf_file(conf(store_dir.path()).as_bytes());
    let opts = crate::support::load_config(path);
    let server = run_server(opts.clone());
    JsServer {
        server: Some(server),
        opts,
        store_dir,
    }
}

/// Starts `opts` with JetStream on and the store in a new temporary directory.
pub fn run_jetstream_server(mut opts: Options) -> JsServer {
    let store_dir = temp_store_dir();
    opts.jetstream = true;
    opts.store_dir = Some(store_dir.path().to_path_buf());
    let server = run_server(opts.clone());
    JsServer {
        server: Some(server),
        opts,
        store_dir,
    }
}

impl JsServer {
    fn running(&self) -> &BackgroundServer {
        self.server.as_ref().expect("the server is running")
    }

    pub fn addr(&self) -> SocketAddr {
        self.running().addr
    }

    pub fn shared(&self) -> &Arc<ServerShared> {
        self.running().shared()
    }

    /// The running server itself (to stop it without dropping it, or count its tasks).
    pub fn background(&self) -> &BackgroundServer {
        self.running()
    }

    pub fn store_dir(&self) -> &Path {
        self.store_dir.path()
    }

    /// Stops the server (its streams save their state); the store stays.
    pub fn shutdown(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.shutdown();
        }
    }

    /// Starts the server again with the same options and store (on a new port).
    pub fn restart(&mut self) {
        self.shutdown();
        self.server = Some(run_server(self.opts.clone()));
    }

    /// A client connected to this server (Go's `jsClientConnect`).
    pub fn client(&self) -> JsClient {
        JsClient::connect(self.addr())
    }

    /// The server's consumer `name` of `stream` in the global account (Go's
    /// `mset.lookupConsumer`); panics naming what is missing.
    #[track_caller]
    pub fn consumer(&self, stream: &str, name: &str) -> Arc<natsd::jetstream::consumer::Consumer> {
        let st = self
            .shared()
            .jetstream()
            .and_then(|j| j.account("$G"))
            .and_then(|a| a.stream(stream))
            .unwrap_or_else(|| panic!("stream {stream}"));
        let c = st.consumers.read().get(name).cloned();
        c.unwrap_or_else(|| panic!("consumer {name} of stream {stream}"))
    }
}

impl Drop for JsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsMsg {
    pub subject: String,
    pub sid: u64,
    pub reply: String,
    /// The raw header block (`NATS/1.0...\r\n\r\n`), empty without headers.
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
}

impl NatsMsg {
    /// The first value of header `key` (keys compare without case, as `nats.Header.Get`
    /// canonicalises them).
    pub fn header_value(&self, key: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.header);
        text.split("\r\n").skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().to_string())
        })
    }

    /// The status code of the header line (`NATS/1.0 503`), if any.
    pub fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.header);
        let first = text.split("\r\n").next()?;
        first
            .strip_prefix("NATS/1.0")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Nobody listens on the subject (a `503` status).
    NoResponders,
    Timeout,
}

/// What the server sent, one protocol operation.
enum Op {
    Msg(NatsMsg),
    Ping,
    Pong,
    Err(String),
    Other,
}

/// Reads one operation off the front of `buf`: the operation and the bytes it took, or
/// `None` while it is incomplete.
fn parse_op(buf: &[u8]) -> Option<(Op, usize)> {
    let eol = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[..eol]).into_owned();
    let after = eol + 2;
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or_default().to_ascii_uppercase();
    let args: Vec<&str> = words.collect();
    let number =
        |s: &str| -> usize { s.parse().unwrap_or_else(|_| panic!("bad size in {line:?}")) };
    match verb.as_str() {
        "MSG" | "HMSG" => {
            let headers = verb == "HMSG";
            let (subject, sid) = (args[0].to_string(), args[1].parse().unwrap_or(0));
            let sizes = if headers { 2 } else { 1 };
            let reply = if args.len() == 2 + sizes + 1 {
                args[2].to_string()
            } else {
                String::new()
            };
            let total = number(args[args.len() - 1]);
            let hlen = if headers {
                number(args[args.len() - 2])
            } else {
                0
            };
            if buf.len() < after + total + 2 {
                return None;
            }
            let body = &buf[after..after + total];
            let msg = NatsMsg {
                subject,
                sid,
                reply,
                header: body[..hlen].to_vec(),
                payload: body[hlen..].to_vec(),
            };
            Some((Op::Msg(msg), after + total + 2))
        }
        "PING" => Some((Op::Ping, after)),
        "PONG" => Some((Op::Pong, after)),
        "-ERR" => Some((Op::Err(line), after)),
        _ => Some((Op::Other, after)),
    }
}

/// A plain NATS client connection (headers and no-responders on), synchronous.
pub struct NatsConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Messages read while waiting for something else.
    queued: VecDeque<NatsMsg>,
    next_sid: u64,
    pongs: usize,
    /// The wildcard subscription answering requests: (sid, prefix).
    responses: Option<(u64, String)>,
    next_request: u64,
    /// `-ERR` lines received, kept instead of failing when [`Self::keep_errors`] is on
    /// (a client with an error handler, e.g. for permission violations).
    pub errors: Vec<String>,
    pub keep_errors: bool,
}

impl NatsConn {
    /// Connects, sends CONNECT and waits for the PONG that confirms it.
    pub fn connect(addr: SocketAddr) -> NatsConn {
        Self::connect_with(addr, "")
    }

    /// [`Self::connect`] as a user with a password (nats.go's `nats.UserInfo`). Errors the
    /// server sends (e.g. permission violations) are kept in [`Self::errors`].
    pub fn connect_as(addr: SocketAddr, user: &str, pass: &str) -> NatsConn {
        let fields = format!(
            ",\"user\":{},\"pass\":{}",
            serde_json::Value::from(user),
            serde_json::Value::from(pass)
        );
        let mut c = Self::connect_with(addr, &fields);
        c.keep_errors = true;
        c
    }

    fn connect_with(addr: SocketAddr, extra_fields: &str) -> NatsConn {
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect to server");
        let _ = stream.set_nodelay(true);
        let mut c = NatsConn {
            stream,
            buf: Vec::new(),
            queued: VecDeque::new(),
            next_sid: 1,
            pongs: 0,
            responses: None,
            next_request: 0,
            errors: Vec::new(),
            keep_errors: false,
        };
        c.send(
            format!("CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1{extra_fields}}}\r\n")
                .as_bytes(),
        );
        c.flush();
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Reads at least one more chunk; false on timeout.
    fn read_more(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        self.stream
            .set_read_timeout(Some(deadline - now))
            .expect("set read timeout");
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => panic!("the server closed the connection"),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(e) => panic!("read from server: {e}"),
        }
    }

    /// The next operation worth returning (PINGs are answered here); None on timeout.
    fn next_op(&mut self, deadline: Instant) -> Option<Op> {
        loop {
            if let Some((op, used)) = parse_op(&self.buf) {
                self.buf.drain(..used);
                match op {
                    Op::Ping => self.send(b"PONG\r\n"),
                    Op::Other => {}
                    Op::Err(e) if self.keep_errors => self.errors.push(e),
                    Op::Err(e) => panic!("server error: {e}"),
                    op => return Some(op),
                }
                continue;
            }
            if !self.read_more(deadline) {
                return None;
            }
        }
    }

    /// A PING/PONG round trip: everything sent before is processed by the server.
    pub fn flush(&mut self) {
        self.send(b"PING\r\n");
        let want = self.pongs + 1;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pongs < want {
            match self.next_op(deadline) {
                Some(Op::Pong) => self.pongs += 1,
                Some(Op::Msg(m)) => self.queued.push_back(m),
                Some(_) => {}
                None => panic!("no PONG from the server"),
            }
        }
    }

    /// Subscribes to `subject`; returns the sid.
    pub fn subscribe(&mut self, subject: &str) -> u64 {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.send(format!("SUB {subject} {sid}\r\n").as_bytes());
        sid
    }

    pub fn unsubscribe(&mut self, sid: u64) {
        self.send(format!("UNSUB {sid}\r\n").as_bytes());
    }

    /// Publishes a message, with `headers` when there are any.
    pub fn publish_msg(
        &mut self,
        subject: &str,
        reply: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) {
        let reply = if reply.is_empty() {
            String::new()
        } else {
            format!(" {reply}")
        };
        let mut out = Vec::new();
        if headers.is_empty() {
            out.extend_from_slice(format!("PUB {subject}{reply} {}\r\n", payload.len()).as_bytes());
        } else {
            let mut hdr = String::from("NATS/1.0\r\n");
            for (k, v) in headers {
                hdr.push_str(&format!("{k}: {v}\r\n"));
            }
            hdr.push_str("\r\n");
            out.extend_from_slice(
                format!(
                    "HPUB {subject}{reply} {} {}\r\n",
                    hdr.len(),
                    hdr.len() + payload.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(hdr.as_bytes());
        }
        out.extend_from_slice(payload);
        out.extend_from_slice(b"\r\n");
        self.send(&out);
    }

    pub fn publish(&mut self, subject: &str, payload: &[u8]) {
        self.publish_msg(subject, "", &[], payload);
    }

    /// The next message on subscription `sid`, or None after `timeout`.
    pub fn next_msg(&mut self, sid: u64, timeout: Duration) -> Option<NatsMsg> {
        if let Some(i) = self.queued.iter().position(|m| m.sid == sid) {
            return self.queued.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_op(deadline)? {
                Op::Msg(m) if m.sid == sid => return Some(m),
                Op::Msg(m) => self.queued.push_back(m),
                Op::Pong => self.pongs += 1,
                _ => {}
            }
        }
    }

    /// Sends a request and waits for its answer.
    pub fn request(
        &mut self,
        subject: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
        timeout: Duration,
    ) -> Result<NatsMsg, RequestError> {
        let (sid, prefix) = match &self.responses {
            Some(r) => r.clone(),
            None => {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let prefix = format!(
                    "_INBOX.{}x{}",
                    std::process::id(),
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                let sid = self.subscribe(&format!("{prefix}.*"));
                self.responses = Some((sid, prefix.clone()));
                (sid, prefix)
            }
        };
        self.next_request += 1;
        let reply = format!("{prefix}.{}", self.next_request);
        self.publish_msg(subject, &reply, headers, payload);
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.next_msg(sid, left) else {
                return Err(RequestError::Timeout);
            };
            // An answer to an earlier request that timed out is dropped. A message whose
            // subject is not an inbox one was rewritten by the server (a JetStream delivery
            // keeps its stream subject): with one request outstanding it is the answer, as
            // nats.go's response handler takes it.
            if m.subject != reply && m.subject.starts_with(&prefix) {
                continue;
            }
            if m.status() == Some(503) && m.payload.is_empty() {
                return Err(RequestError::NoResponders);
            }
            return Ok(m);
        }
    }
}

/// A JetStream API error (the `error` object of a response).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub code: u16,
    #[serde(default)]
    pub err_code: u16,
    #[serde(default)]
    pub description: String,
}

impl ApiError {
    /// The text of the server's `ApiError.Error()`: `<description> (<err_code>)`.
    pub fn server_text(&self) -> String {
        format!("{} ({})", self.description, self.err_code)
    }
}

/// nats.go's `APIError.Error()`: `nats: <description>`.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nats: {}", self.description)
    }
}

/// Go's `require_Error(t, err, expected...)`: the error's text, less a leading `nats: `,
/// contains one of `expected` or is contained in it.
#[track_caller]
pub fn require_error(err: &str, expected: &[&str]) {
    let text = err.strip_prefix("nats: ").unwrap_or(err);
    assert!(
        expected
            .iter()
            .any(|e| *e == err || text.contains(e) || e.contains(text)),
        "Expected one of {expected:?}, got '{err}'"
    );
}

/// The text of a server `ApiError` built from `description` and `err_code` (Go's
/// `NewJS...Error(...).Error()`), for [`require_error`].
pub fn server_error_text(description: &str, err_code: u16) -> String {
    format!("{description} ({err_code})")
}

/// A response's error, or the response.
pub fn api_result(resp: Value) -> Result<Value, ApiError> {
    match resp.get("error") {
        Some(e) if !e.is_null() => Err(serde_json::from_value(e.clone())
            .unwrap_or_else(|err| panic!("malformed API error {e}: {err}"))),
        _ => Ok(resp),
    }
}

/// A publish acknowledgement (Go's `nats.PubAck`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PubAck {
    pub stream: String,
    #[serde(rename = "seq")]
    pub sequence: u64,
    #[serde(default)]
    pub duplicate: bool,
    #[serde(default)]
    pub domain: String,
}

/// Why a JetStream publish was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubError {
    /// The stream refused it.
    Api(ApiError),
    /// No stream listens on the subject (nats.go's `ErrNoStreamResponse`).
    NoResponders,
    Timeout,
}

impl PubError {
    /// The API error, panicking on any other failure.
    #[track_caller]
    pub fn api(self) -> ApiError {
        match self {
            PubError::Api(e) => e,
            other => panic!("expected an API error, got {other:?}"),
        }
    }
}

/// A stream's state as `STREAM.INFO` reports it (Go's `StreamState` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct StreamState {
    #[serde(rename = "messages")]
    pub msgs: u64,
    pub bytes: u64,
    pub first_seq: u64,
    #[serde(default)]
    pub first_ts: String,
    pub last_seq: u64,
    #[serde(default)]
    pub last_ts: String,
    #[serde(default)]
    pub num_subjects: u64,
    #[serde(default)]
    pub subjects: BTreeMap<String, u64>,
    #[serde(default)]
    pub num_deleted: u64,
    #[serde(default)]
    pub deleted: Vec<u64>,
    pub consumer_count: u64,
}

impl StreamState {
    /// The `state` of a stream info response.
    pub fn of(info: &Value) -> StreamState {
        serde_json::from_value(info["state"].clone())
            .unwrap_or_else(|e| panic!("malformed stream state in {info}: {e}"))
    }
}

/// A message as `STREAM.MSG.GET` returns it (Go's `StoredMsg`, payloads decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMsg {
    pub subject: String,
    pub seq: u64,
    pub header: Vec<u8>,
    pub data: Vec<u8>,
    pub time: String,
}

impl StoredMsg {
    /// The first value of header `key`.
    pub fn header_value(&self, key: &str) -> Option<String> {
        NatsMsg {
            subject: String::new(),
            sid: 0,
            reply: String::new(),
            header: self.header.clone(),
            payload: Vec::new(),
        }
        .header_value(key)
    }
}

fn base64_field(v: &Value, key: &str) -> Vec<u8> {
    use base64::Engine;
    match v.get(key).and_then(Value::as_str) {
        None => Vec::new(),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .unwrap_or_else(|e| panic!("field {key} is not base64: {e}")),
    }
}

/// A JetStream context over one connection (Go's `nats.JetStreamContext` as the tests use
/// it): each call is one API request, answered as JSON.
pub struct JsClient {
    pub conn: NatsConn,
}

impl JsClient {
    pub fn connect(addr: SocketAddr) -> JsClient {
        JsClient {
            conn: NatsConn::connect(addr),
        }
    }

    /// Sends `body` (nothing when `None`) to `subject`; the parsed answer, or why none came.
    pub fn try_request(
        &mut self,
        subject: &str,
        body: Option<&Value>,
    ) -> Result<Value, RequestError> {
        let payload = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let m = self.conn.request(subject, &[], &payload, API_TIMEOUT)?;
        Ok(serde_json::from_slice(&m.payload).unwrap_or_else(|e| {
            panic!(
                "answer on {subject} is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&m.payload)
            )
        }))
    }

    /// [`Self::try_request`] that must be answered.
    #[track_caller]
    pub fn request(&mut self, subject: &str, body: Option<&Value>) -> Value {
        self.try_request(subject, body)
            .unwrap_or_else(|e| panic!("request on {subject}: {e:?}"))
    }

    /// Sends raw bytes to `subject` and returns the answer's JSON.
    #[track_caller]
    pub fn request_raw(&mut self, subject: &str, payload: &[u8]) -> Value {
        let m = self
            .conn
            .request(subject, &[], payload, API_TIMEOUT)
            .unwrap_or_else(|e| panic!("request on {subject}: {e:?}"));
        serde_json::from_slice(&m.payload).expect("answer is JSON")
    }

    /// `STREAM.CREATE` with `config` (must name the stream); the stream info.
    pub fn add_stream(&mut self, config: Value) -> Result<Value, ApiError> {
        let name = config["name"].as_str().unwrap_or_default().to_string();
        api_result(self.request(&format!("$JS.API.STREAM.CREATE.{name}"), Some(&config)))
    }

    /// `STREAM.UPDATE` with `config`; the stream info.
    pub fn update_stream(&mut self, config: Value) -> Result<Value, ApiError> {
        let name = config["name"].as_str().unwrap_or_default().to_string();
        api_result(self.request(&format!("$JS.API.STREAM.UPDATE.{name}"), Some(&config)))
    }

    /// `STREAM.INFO` (with `request`, e.g. a subjects filter). Like nats.go, a filtered
    /// request pages through every subject and merges them.
    pub fn stream_info(&mut self, name: &str, request: Option<Value>) -> Result<Value, ApiError> {
        let subject = format!("$JS.API.STREAM.INFO.{name}");
        let Some(mut req) = request else {
            return api_result(self.request(&subject, None));
        };
        let mut info = api_result(self.request(&subject, Some(&req)))?;
        let mut subjects = info["state"]["subjects"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let total = info["total"].as_u64().unwrap_or(0) as usize;
        while subjects.len() < total {
            req["offset"] = json!(subjects.len());
            let page = api_result(self.request(&subject, Some(&req)))?;
            let more = page["state"]["subjects"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if more.is_empty() {
                break;
            }
            subjects.extend(more);
        }
        if !subjects.is_empty() {
            info["state"]["subjects"] = Value::Object(subjects);
        }
        Ok(info)
    }

    /// The state of stream `name`, which must exist.
    #[track_caller]
    pub fn stream_state(&mut self, name: &str) -> StreamState {
        let info = self
            .stream_info(name, None)
            .unwrap_or_else(|e| panic!("stream info {name}: {e}"));
        StreamState::of(&info)
    }

    pub fn delete_stream(&mut self, name: &str) -> Result<Value, ApiError> {
        api_result(self.request(&format!("$JS.API.STREAM.DELETE.{name}"), None))
    }

    /// `STREAM.PURGE`, all of it or as `request` says; the answer (`purged`).
    pub fn purge_stream(&mut self, name: &str, request: Option<Value>) -> Result<Value, ApiError> {
        api_result(self.request(&format!("$JS.API.STREAM.PURGE.{name}"), request.as_ref()))
    }

    /// nats.go's `DeleteMsg`: removes without erasing.
    pub fn delete_msg(&mut self, name: &str, seq: u64) -> Result<Value, ApiError> {
        api_result(self.request(
            &format!("$JS.API.STREAM.MSG.DELETE.{name}"),
            Some(&json!({"seq": seq, "no_erase": true})),
        ))
    }

    /// nats.go's `SecureDeleteMsg`: removes and overwrites.
    pub fn secure_delete_msg(&mut self, name: &str, seq: u64) -> Result<Value, ApiError> {
        api_result(self.request(
            &format!("$JS.API.STREAM.MSG.DELETE.{name}"),
            Some(&json!({"seq": seq})),
        ))
    }

    /// `STREAM.MSG.GET` with `request` (`seq`, `last_by_subj`, `next_by_subj`, ...).
    pub fn get_msg_with(&mut self, name: &str, request: Value) -> Result<StoredMsg, ApiError> {
        let resp =
            api_result(self.request(&format!("$JS.API.STREAM.MSG.GET.{name}"), Some(&request)))?;
        let m = &resp["message"];
        Ok(StoredMsg {
            subject: m["subject"].as_str().expect("message subject").to_string(),
            seq: m["seq"].as_u64().expect("message seq"),
            header: base64_field(m, "hdrs"),
            data: base64_field(m, "data"),
            time: m["time"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// nats.go's `GetMsg`.
    pub fn get_msg(&mut self, name: &str, seq: u64) -> Result<StoredMsg, ApiError> {
        self.get_msg_with(name, json!({"seq": seq}))
    }

    /// nats.go's `GetLastMsg`.
    pub fn get_last_msg(&mut self, name: &str, subject: &str) -> Result<StoredMsg, ApiError> {
        self.get_msg_with(name, json!({"last_by_subj": subject}))
    }

    /// `$JS.API.INFO`.
    pub fn account_info(&mut self) -> Result<Value, ApiError> {
        api_result(self.request("$JS.API.INFO", None))
    }

    /// `STREAM.NAMES` (optionally filtered by subject): the names.
    pub fn stream_names(&mut self, subject: Option<&str>) -> Vec<String> {
        let body = subject.map(|s| json!({"subject": s}));
        let resp = api_result(self.request("$JS.API.STREAM.NAMES", body.as_ref()))
            .unwrap_or_else(|e| panic!("stream names: {e}"));
        resp["streams"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n.as_str().expect("a name").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Publishes and waits for the stream's acknowledgement (nats.go's `js.Publish` /
    /// `js.PublishMsg`, the options given as their headers).
    pub fn publish(
        &mut self,
        subject: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<PubAck, PubError> {
        let m = match self.conn.request(subject, headers, payload, API_TIMEOUT) {
            Ok(m) => m,
            Err(RequestError::NoResponders) => return Err(PubError::NoResponders),
            Err(RequestError::Timeout) => return Err(PubError::Timeout),
        };
        let v: Value = serde_json::from_slice(&m.payload).unwrap_or_else(|e| {
            panic!(
                "publish answer is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&m.payload)
            )
        });
        api_result(v).map_err(PubError::Api).map(|v| {
            let ack: PubAck = serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("invalid publish ack {v}: {e}"));
            assert!(!ack.stream.is_empty(), "invalid publish ack {v}");
            ack
        })
    }

    /// Publishes every message at once, each with its own reply subject, then waits for
    /// all the answers (nats.go's `PublishAsync` and `PublishAsyncComplete`). The answers
    /// come back in publish order, as JSON.
    pub fn publish_async(&mut self, msgs: &[(&str, &[u8])]) -> Vec<Value> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let prefix = format!(
            "_INBOX.async{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let sid = self.conn.subscribe(&format!("{prefix}.*"));
        for (i, (subject, payload)) in msgs.iter().enumerate() {
            self.conn
                .publish_msg(subject, &format!("{prefix}.{i}"), &[], payload);
        }
        let mut answers: Vec<Option<Value>> = vec![None; msgs.len()];
        let mut left = msgs.len();
        let deadline = Instant::now() + API_TIMEOUT;
        while left > 0 {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.conn.next_msg(sid, wait) else {
                panic!("{left} of {} async publishes unanswered", msgs.len());
            };
            let i: usize = m
                .subject
                .rsplit('.')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("reply token");
            let v = if m.status() == Some(503) {
                json!({"error": {"code": 503, "description": "no responders"}})
            } else {
                serde_json::from_slice(&m.payload).expect("publish answer is JSON")
            };
            if answers[i].replace(v).is_none() {
                left -= 1;
            }
        }
        self.conn.unsubscribe(sid);
        answers.into_iter().flatten().collect()
    }

    /// [`Self::publish`] without headers that must be acknowledged.
    #[track_caller]
    pub fn publish_ok(&mut self, subject: &str, payload: &[u8]) -> PubAck {
        self.publish(subject, &[], payload)
            .unwrap_or_else(|e| panic!("publish on {subject}: {e:?}"))
    }
}

/// Go's `fileStoreMsgSizeRaw`: the bytes a message record takes in a file store (the
/// record header of 22 bytes, the subject, the header block with its 4-byte length when
/// there is one, the payload and an 8-byte checksum).
pub fn file_store_msg_size_raw(slen: usize, hlen: usize, mlen: usize) -> u64 {
    if hlen == 0 {
        (22 + slen + mlen + 8) as u64
    } else {
        (22 + slen + 4 + hlen + mlen + 8) as u64
    }
}

/// Go's `fileStoreMsgSize`.
pub fn file_store_msg_size(subject: &str, hdr: &[u8], msg: &[u8]) -> u64 {
    file_store_msg_size_raw(subject.len(), hdr.len(), msg.len())
}

/// Nanoseconds since the Unix epoch of an RFC 3339 time as Go writes `time.Time` in JSON
/// (Go's zero time, `0001-01-01T00:00:00Z`, is far negative).
pub fn parse_go_time(text: &str) -> i128 {
    try_parse_go_time(text).unwrap_or_else(|| panic!("not an RFC 3339 time: {text:?}"))
}

fn try_parse_go_time(text: &str) -> Option<i128> {
    let num = |s: &str| -> Option<i64> { s.parse().ok() };
    let (date, rest) = text.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let zone_at = rest.find(['Z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':');
    let (hh, mm, ss) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let nanos = if frac.is_empty() {
        0
    } else {
        num(format!("{frac:0<9}").get(..9)?)?
    };
    let offset_secs = match zone {
        "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z.get(1..)?.split_once(':')?;
            sign * (num(oh)? * 3600 + num(om)? * 60)
        }
    };
    // Days from the civil date (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// Nanoseconds since the Unix epoch now.
pub fn now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Polls `f` until it holds or `total` passes (Go's `checkFor`).
pub fn check_for(total: Duration, interval: Duration, f: impl FnMut() -> Result<(), String>) {
    crate::support::check_for(total, interval, f);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_parsed_by_their_sizes() {
        let buf = b"HMSG a.b 3 _INBOX.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nMSG c 1 5\r\nab\r\nc\r\n";
        let Some((Op::Msg(m), used)) = parse_op(buf) else {
            panic!()
        };
        assert_eq!(
            (m.subject.as_str(), m.sid, m.reply.as_str()),
            ("a.b", 3, "_INBOX.x")
        );
        assert_eq!(m.payload, b"hi");
        let Some((Op::Msg(m), _)) = parse_op(&buf[used..]) else {
            panic!()
        };
        assert_eq!(m.payload, b"ab\r\nc");
        assert!(parse_op(b"MSG c 1 5\r\nab").is_none());
    }

    #[test]
    fn go_times_are_parsed() {
        assert_eq!(parse_go_time("1970-01-01T00:00:01.5Z"), 1_500_000_000);
        assert_eq!(parse_go_time("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(
            parse_go_time("2024-02-29T12:00:00.000000001Z"),
            1_709_208_000_000_000_001
        );
        assert!(parse_go_time("0001-01-01T00:00:00Z") < 0);
    }

    #[test]
    fn status_and_headers_are_read() {
        let m = NatsMsg {
            subject: String::new(),
            sid: 0,
            reply: String::new(),
            header: b"NATS/1.0 503\r\nNats-Msg-Id: x\r\n\r\n".to_vec(),
            payload: Vec::new(),
        };
        assert_eq!(m.status(), Some(503));
        assert_eq!(m.header_value("nats-msg-id").as_deref(), Some("x"));
    }
}
