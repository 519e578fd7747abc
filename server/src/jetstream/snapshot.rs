//! Stream snapshots and restores (`$JS.API.STREAM.SNAPSHOT.<stream>`,
//! `$JS.API.STREAM.RESTORE.<stream>`) and the system account's
//! `$JS.API.ACCOUNT.PURGE.<account>` (Go's `jsStreamSnapshotRequest`,
//! `jsStreamRestoreRequest`, `jsLeaderAccountPurgeRequest`).
//!
//! A snapshot is written in Go's layout ([`format`]) by a thread of its own and sent to
//! the requester's deliver subject in chunks. Each chunk's reply subject
//! (`$JS.SNAPSHOT.ACK.<stream>.<id>.<len>.<index>`) is the flow-control ack: at most a
//! window's worth of chunks is unacknowledged. The end is an empty message with a status
//! header: `204` when complete, `408 No Interest` when the receiver went away, `408 No
//! Flow Response` when acks stopped for 5 s, `500 <error>` when the snapshot failed.
//!
//! A restore answers with a deliver subject (`$JS.SNAPSHOT.RESTORE.<stream>.<id>`); each
//! chunk sent there is acked with an empty reply and fed to a thread that unpacks the
//! archive into `__snapshots__/` of the account, checking the account's limits as it
//! goes. The empty chunk that ends the upload is answered with the new stream's info (a
//! stream create response) or the error. A restore that gets no chunk for 5 s is dropped.
//!
//! natsd snapshots memory streams too (Go's memory store refuses with "no impl"); a
//! restore into memory storage loads the messages but not the consumers.

pub mod format;

use super::api::errors;
use super::api::types::{response_type as rt, ApiResponse, StreamConfig, StreamInfo, StreamState};
use super::api::Request;
use super::meta::{ConsumerMeta, StreamMeta};
use super::stream::{self, StoreSetup, Stream};
use super::{JetStream, JsAccount};
use crate::account::Account;
use crate::events::internal::{self, Handler, InMsg, InternalClient};
use crate::server::ServerShared;
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Response types of these verbs.
const SNAPSHOT_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_snapshot_response";
const RESTORE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_restore_response";
const ACCOUNT_PURGE_RESPONSE: &str = "io.nats.jetstream.api.v1.account_purge_response";

/// The system account's purge subject.
pub const ACCOUNT_PURGE_SUBJECT: &str = "$JS.API.ACCOUNT.PURGE.*";

/// Go's defaults and bounds for chunks and the unacknowledged window.
const DEFAULT_CHUNK: usize = 128 * 1024;
const DEFAULT_WINDOW: usize = 8 * 1024 * 1024;
/// How long the snapshot waits for an ack, and a restore for its next chunk.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const RESTORE_IDLE: Duration = Duration::from_secs(5);
/// How long a snapshot waits for someone to listen on its deliver subject.
const INTEREST_WAIT: Duration = Duration::from_secs(2);
/// Where restores unpack, in the account's directory (Go's `snapsDir`).
const SNAPSHOTS_DIR: &str = "__snapshots__";

/// Go's `JSApiStreamSnapshotRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
struct SnapshotRequest {
    #[serde(default)]
    deliver_subject: String,
    #[serde(default)]
    no_consumers: bool,
    #[serde(default)]
    chunk_size: i64,
    #[serde(default)]
    window_size: i64,
    #[serde(default, rename = "jsck")]
    check_msgs: bool,
}

impl super::api::strict::ApiRequest for SnapshotRequest {}
impl super::api::strict::ApiRequest for RestoreRequest {}

/// Go's `JSApiStreamRestoreRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
struct RestoreRequest {
    #[serde(default)]
    config: StreamConfig,
    /// Sent by clients, not needed here; named so that strict mode accepts it.
    #[serde(default)]
    #[allow(dead_code)]
    state: Option<serde::de::IgnoredAny>,
}

#[derive(Serialize)]
struct SnapshotBody {
    config: StreamConfig,
    state: StreamState,
}

#[derive(Serialize)]
struct RestoreBody {
    deliver_subject: String,
}

#[derive(Serialize)]
struct PurgeBody {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    initiated: bool,
}

/// A random token for the subjects of one snapshot or restore (Go uses a nuid).
fn unique_token() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..22)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Refuses a request that asks for a higher API level than this server's.
fn refused_for_api_level(req: &Request<'_>, kind: &'static str) -> bool {
    let value = req.msg.header.as_deref().and_then(|hdr| {
        crate::client::header::slice_header("Nats-Required-Api-Level", hdr)
            .map(String::from_utf8_lossy)
    });
    if super::stream_config::error_on_required_api_level(value.as_deref()) {
        req.fail(kind, errors::REQUIRED_API_LEVEL.new());
        return true;
    }
    false
}

/// Streams with a snapshot under way, by account and name (Go allows one at a time).
fn in_progress() -> &'static Mutex<HashSet<(String, String)>> {
    static SET: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

/// The FileStreamInfo JSON of a stream, as Go writes `meta.inf`.
fn stream_meta_json(s: &Stream) -> io::Result<Vec<u8>> {
    serde_json::to_vec(&StreamMeta {
        created: s.created,
        config: s.config(),
    })
    .map_err(io::Error::other)
}

/// The consumers' part of a snapshot: configuration and state of each.
fn consumer_entries(s: &Stream) -> io::Result<Vec<format::ConsumerEntry>> {
    let now = crate::monitor::gotime::now_nanos();
    let consumers: Vec<_> = s.consumers.read().values().cloned().collect();
    let mut out = Vec::with_capacity(consumers.len());
    for c in consumers {
        let mut config = c.config();
        if config.name.is_empty() {
            config.name = c.name.clone();
        }
        let meta = ConsumerMeta {
            created: c.created,
            name: c.name.clone(),
            config,
        };
        let state = c.cursor.lock().stored_state();
        out.push(format::ConsumerEntry {
            name: c.name.clone(),
            meta_json: serde_json::to_vec(&meta).map_err(io::Error::other)?,
            state: natsd_store::encode_consumer_state(&state, now),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// A bounded pipe of chunks between two threads
// ---------------------------------------------------------------------------------------

enum Piece {
    Data(Vec<u8>),
    End,
}

/// The writing end of a snapshot: hands its bytes to the streaming thread.
struct PipeWriter(SyncSender<Piece>);

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.0
                .send(Piece::Data(buf.to_vec()))
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: an end without [`Piece::End`] is an error (the other side quit).
struct PipeReader {
    rx: Receiver<Piece>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl PipeReader {
    fn new(rx: Receiver<Piece>) -> Self {
        PipeReader {
            rx,
            current: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Piece::Data(d)) => {
                    self.current = d;
                    self.pos = 0;
                }
                Ok(Piece::End) => self.done = true,
                Err(_) => return Err(io::Error::other("connection closed")),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends (Go's `io.ReadFull`).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------

/// `$JS.API.STREAM.SNAPSHOT.<stream>`.
pub fn snapshot(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = SNAPSHOT_RESPONSE;
    if refused_for_api_level(req, kind) {
        return;
    }
    if req.body().is_none() {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let request: SnapshotRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    if !crate::subject::is_valid_publish_subject(&request.deliver_subject) {
        return req.fail(kind, errors::SNAPSHOT_DELIVER_SUBJECT_INVALID.new());
    }
    let key = (jsa.account.name.clone(), s.name.clone());
    if !in_progress().lock().insert(key.clone()) {
        return req.fail(
            kind,
            errors::STREAM_SNAPSHOT.with_err(&natsd_store::StoreError::SnapshotInProgress),
        );
    }
    let job = SnapshotJob {
        server: req.server.clone(),
        js: req.js.clone(),
        account: req.account.clone(),
        reply: req.msg.reply.clone(),
        stream: s,
        request,
        runtime: tokio::runtime::Handle::current(),
    };
    let spawned = std::thread::Builder::new()
        .name("natsd-js-snapshot".into())
        .spawn(move || {
            job.run();
            in_progress().lock().remove(&key);
        });
    if let Err(e) = spawned {
        crate::warn!(req.server.logging, "Could not start a snapshot: {e}");
    }
}

struct SnapshotJob {
    server: Arc<ServerShared>,
    js: Arc<JetStream>,
    account: Arc<Account>,
    reply: String,
    stream: Arc<Stream>,
    request: SnapshotRequest,
    runtime: tokio::runtime::Handle,
}

/// Acks received and chunks allowed in flight.
struct Window {
    slots: Mutex<usize>,
    acked: Condvar,
}

impl SnapshotJob {
    fn respond<T: Serialize>(&self, resp: &ApiResponse<T>) {
        super::count_account_api(&self.js, &self.account.name, resp.error.is_some());
        if self.reply.is_empty() {
            return;
        }
        let body = crate::monitor::http::to_go_json_compact(resp);
        internal::publish(
            &self.server,
            self.js.api_client(),
            &self.account,
            &self.reply,
            None,
            None,
            &body,
        );
    }

    fn has_interest(&self) -> bool {
        let r = self
            .account
            .sublist
            .match_bytes(self.request.deliver_subject.as_bytes());
        !r.psubs.is_empty() || r.qsubs.iter().any(|g| !g.is_empty())
    }

    fn run(self) {
        let acc = self.account.name.clone();
        let name = self.stream.name.clone();
        let logging = self.server.logging.clone();
        if self.request.check_msgs {
            crate::notice!(
                logging,
                "Starting health check and snapshot for stream '{acc} > {name}'"
            );
        } else {
            crate::notice!(logging, "Starting snapshot for stream '{acc} > {name}'");
        }
        let started = Instant::now();
        // Only file stores can be snapshotted (Go's memory store has no snapshot).
        if let Some(e) = memory_snapshot_refused(&self.stream.store) {
            crate::warn!(logging, "Snapshot of stream '{acc} > {name}' failed: {e}");
            return self.respond(&ApiResponse::<()>::err(
                SNAPSHOT_RESPONSE,
                errors::STREAM_SNAPSHOT.with_err(&e),
            ));
        }
        if self.request.check_msgs {
            if let stream::StreamStore::File(fs) = &self.stream.store {
                let lost = fs.check_msgs();
                if !lost.msgs.is_empty() {
                    let e = format!("snapshot check detected {} bad messages", lost.msgs.len());
                    crate::warn!(logging, "Snapshot of stream '{acc} > {name}' failed: {e}");
                    return self.respond(&ApiResponse::<()>::err(
                        SNAPSHOT_RESPONSE,
                        errors::STREAM_SNAPSHOT.with_err(&e),
                    ));
                }
            }
        }
        let info = self.stream.info(None, false);
        let bytes = info.state.bytes;
        self.respond(&ApiResponse::ok(
            SNAPSHOT_RESPONSE,
            SnapshotBody {
                config: self.stream.config(),
                state: info.state,
            },
        ));
        let meta = match stream_meta_json(&self.stream) {
            Ok(m) => m,
            Err(e) => return self.finish_with(&format!("NATS/1.0 500 {e}\r\n\r\n")),
        };
        let consumers = if self.request.no_consumers {
            Vec::new()
        } else {
            match consumer_entries(&self.stream) {
                Ok(c) => c,
                Err(e) => return self.finish_with(&format!("NATS/1.0 500 {e}\r\n\r\n")),
            }
        };
        let (tx, rx) = sync_channel::<Piece>(4);
        let writer_stream = self.stream.clone();
        let failure: Arc<Mutex<Option<String>>> = Arc::default();
        let writer_failure = failure.clone();
        let writer = std::thread::Builder::new()
            .name("natsd-js-snapshot-writer".into())
            .spawn(move || {
                let mut out = PipeWriter(tx);
                let store = writer_stream.store.store();
                let result =
                    format::write_snapshot(&mut out, &writer_stream.name, &meta, store, &consumers);
                match result {
                    Ok(()) => {
                        let _ = out.0.send(Piece::End);
                    }
                    Err(e) => *writer_failure.lock() = Some(e.to_string()),
                }
            });
        if let Err(e) = writer {
            return self.finish_with(&format!("NATS/1.0 500 {e}\r\n\r\n"));
        }
        let end = self.send_chunks(PipeReader::new(rx), &failure);
        self.finish_with(&end);
        crate::notice!(
            logging,
            "Completed snapshot of {} for stream '{acc} > {name}' in {:?}",
            super::banner::friendly_bytes(bytes as i64),
            started.elapsed()
        );
    }

    /// Sends the end-of-snapshot message with `hdr`.
    fn finish_with(&self, hdr: &str) {
        internal::publish(
            &self.server,
            self.js.api_client(),
            &self.account,
            &self.request.deliver_subject,
            None,
            Some(hdr.as_bytes()),
            b"",
        );
    }

    /// Streams the chunks under the ack window; the status header to end with.
    fn send_chunks(&self, mut reader: PipeReader, failure: &Mutex<Option<String>>) -> String {
        let chunk_size = match self.request.chunk_size {
            0 => DEFAULT_CHUNK,
            n => (n.clamp(1024, 1024 * 1024)) as usize,
        };
        let window = match self.request.window_size {
            0 => DEFAULT_WINDOW,
            n => (n.clamp(1024, 32 * 1024 * 1024)) as usize,
        }
        .max(chunk_size);
        let window = Arc::new(Window {
            slots: Mutex::new(window / chunk_size),
            acked: Condvar::new(),
        });
        if !self.has_interest() {
            let until = Instant::now() + INTEREST_WAIT;
            while !self.has_interest() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let ack_subject = format!("$JS.SNAPSHOT.ACK.{}.{}", self.stream.name, unique_token());
        let acks = Arc::new(InternalClient::new(0, self.account.clone()));
        let on_ack = window.clone();
        let handler: Handler = Arc::new(move |_, _, _| {
            *on_ack.slots.lock() += 1;
            on_ack.acked.notify_all();
        });
        if let Err(e) = acks.subscribe(&self.account, &format!("{ack_subject}.>"), None, handler) {
            return format!("NATS/1.0 500 {e}\r\n\r\n");
        }
        let dispatcher = self.runtime.spawn(internal::dispatch_loop(
            Arc::downgrade(&self.server),
            acks.clone(),
        ));
        let mut status = "NATS/1.0 204\r\n\r\n".to_string();
        let mut chunk = vec![0u8; chunk_size];
        let mut last_progress = Instant::now();
        for index in 1u64.. {
            // A slot, or the receiver gone, or no ack for too long.
            let mut slots = window.slots.lock();
            let got_slot = loop {
                if *slots > 0 {
                    *slots -= 1;
                    break true;
                }
                if !self.has_interest() || last_progress.elapsed() >= ACK_TIMEOUT {
                    break false;
                }
                window.acked.wait_for(&mut slots, Duration::from_millis(50));
            };
            drop(slots);
            if !got_slot {
                status = if self.has_interest() {
                    "NATS/1.0 408 No Flow Response\r\n\r\n".into()
                } else {
                    "NATS/1.0 408 No Interest\r\n\r\n".into()
                };
                break;
            }
            if !self.has_interest() {
                status = "NATS/1.0 408 No Interest\r\n\r\n".into();
                break;
            }
            let n = match read_full(&mut reader, &mut chunk) {
                Ok(n) => n,
                Err(_) => {
                    let why = failure
                        .lock()
                        .clone()
                        .unwrap_or_else(|| "snapshot failed".into());
                    status = format!("NATS/1.0 500 {why}\r\n\r\n");
                    break;
                }
            };
            if n == 0 {
                break;
            }
            let reply = format!("{ack_subject}.{n}.{index}");
            internal::publish(
                &self.server,
                &acks,
                &self.account,
                &self.request.deliver_subject,
                Some(&reply),
                None,
                &chunk[..n],
            );
            last_progress = Instant::now();
            if n < chunk.len() {
                break;
            }
        }
        // Dropping the reader stops the writer thread.
        drop(reader);
        acks.close(&self.server);
        dispatcher.abort();
        status
    }
}

// ---------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------

/// `$JS.API.STREAM.RESTORE.<stream>`.
pub fn restore(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = RESTORE_RESPONSE;
    if refused_for_api_level(req, kind) {
        return;
    }
    if req.body().is_none() {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let request: RestoreRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let name = req.name_token().to_string();
    let mut config = request.config;
    if config.name.is_empty() {
        config.name = name.clone();
    }
    if config.name != name {
        return req.fail(kind, errors::STREAM_MISMATCH.new());
    }
    if name.contains(['/', '\\']) {
        return req.fail(kind, errors::STREAM_NAME_CONTAINS_PATH_SEPARATORS.new());
    }
    let limits = super::stream_config::ServerLimits {
        duplicates: req.js.settings.max_duplicates_window,
        max_payload: i64::from(req.server.opts().max_payload),
    };
    let cfg =
        match super::stream_config::check_stream_config_in(&config, &limits, false, jsa.as_ref()) {
            Ok(c) => c,
            Err(e) => return req.fail(kind, e),
        };
    let max_streams = jsa.limits.max_streams;
    if max_streams > 0 && jsa.streams.read().len() as i64 >= max_streams {
        return req.fail(kind, errors::MAXIMUM_STREAMS_LIMIT.new());
    }
    if let Err(e) = req.js.check_stream_limits(jsa, &cfg) {
        return req.fail(kind, e);
    }
    if cfg.replicas > 1 {
        return req.fail(kind, errors::STREAM_REPLICAS_NOT_SUPPORTED.new());
    }
    if jsa.stream(&name).is_some() {
        return req.fail(kind, errors::STREAM_NAME_EXIST_RESTORE_FAILED.new());
    }
    start_restore(req, jsa, cfg);
}

/// What the restore's chunk handler and its watchdog share.
struct RestoreState {
    /// Feeds the unpacking thread; `None` once the upload ended or was dropped.
    pipe: Mutex<Option<SyncSender<Piece>>>,
    /// The unpacking thread's result, once it is done.
    result: Mutex<Option<Result<Arc<Stream>, String>>>,
    finished: Condvar,
    last_chunk: Mutex<Instant>,
    /// The upload has ended (last chunk, error or stall): no more chunks are taken.
    closed: std::sync::atomic::AtomicBool,
}

fn start_restore(req: &Request<'_>, jsa: &Arc<JsAccount>, cfg: StreamConfig) {
    let kind = RESTORE_RESPONSE;
    let name = cfg.name.clone();
    crate::notice!(
        req.server.logging,
        "Starting restore for stream '{} > {}'",
        jsa.account.name,
        name
    );
    let subject = format!("$JS.SNAPSHOT.RESTORE.{name}.{}", unique_token());
    let (tx, rx) = sync_channel::<Piece>(0);
    let state = Arc::new(RestoreState {
        pipe: Mutex::new(Some(tx)),
        result: Mutex::new(None),
        finished: Condvar::new(),
        last_chunk: Mutex::new(Instant::now()),
        closed: std::sync::atomic::AtomicBool::new(false),
    });
    let client = Arc::new(InternalClient::new(0, req.account.clone()));

    // The unpacking thread.
    let worker = {
        let state = state.clone();
        let server = req.server.clone();
        let js = req.js.clone();
        let jsa = jsa.clone();
        let cfg = cfg.clone();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("natsd-js-restore".into())
            .spawn(move || {
                // The new stream starts its tasks on the server's runtime.
                let _runtime = runtime.enter();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    restore_stream(&server, &js, &jsa, cfg, PipeReader::new(rx))
                }))
                .unwrap_or_else(|_| Err("restore failed unexpectedly".into()));
                *state.result.lock() = Some(result);
                state.finished.notify_all();
            })
    };
    if let Err(e) = worker {
        return req.fail(kind, errors::RESTORE_SUBSCRIBE_FAILED.with_err(&e));
    }

    let handler: Handler = {
        let state = state.clone();
        let client = client.clone();
        let js = req.js.clone();
        let account_name = jsa.account.name.clone();
        let stream_name = name.clone();
        Arc::new(move |server, acc, msg| {
            on_restore_chunk(
                server,
                &js,
                acc,
                msg,
                &state,
                &client,
                &account_name,
                &stream_name,
            )
        })
    };
    if let Err(e) = client.subscribe(req.account, &subject, None, handler) {
        close_pipe(&state, false);
        return req.fail(
            kind,
            errors::RESTORE_SUBSCRIBE_FAILED.with_err(&format_args!("{subject}: {e}")),
        );
    }
    let runtime = tokio::runtime::Handle::current();
    let dispatcher = runtime.spawn(internal::dispatch_loop_blocking(
        Arc::downgrade(req.server),
        client.clone(),
    ));
    // The watchdog: a restore that stops getting chunks is dropped.
    {
        let state = state.clone();
        let client = client.clone();
        let server = Arc::downgrade(req.server);
        let account_name = jsa.account.name.clone();
        let _ = std::thread::Builder::new()
            .name("natsd-js-restore-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    if state.closed.load(std::sync::atomic::Ordering::Acquire) {
                        break;
                    }
                    if state.last_chunk.lock().elapsed() >= RESTORE_IDLE {
                        close_pipe(&state, false);
                        if let Some(server) = server.upgrade() {
                            crate::warn!(
                                server.logging,
                                "restore for stream '{account_name} > {name}' is stalled"
                            );
                        }
                        break;
                    }
                }
                // Wait for the unpacking thread, then drop the subscription.
                let mut result = state.result.lock();
                while result.is_none() {
                    state.finished.wait(&mut result);
                }
                drop(result);
                if let Some(server) = server.upgrade() {
                    client.close(&server);
                }
                dispatcher.abort();
            });
    }
    req.respond(&ApiResponse::ok(
        kind,
        RestoreBody {
            deliver_subject: subject,
        },
    ));
}

/// Ends the upload: with the end mark when it was whole, else the unpacking thread sees
/// the pipe closed and fails.
fn close_pipe(state: &RestoreState, whole: bool) {
    state
        .closed
        .store(true, std::sync::atomic::Ordering::Release);
    if let Some(tx) = state.pipe.lock().take() {
        if whole {
            let _ = tx.send(Piece::End);
        }
    }
}

fn wait_result(state: &RestoreState) -> Result<Arc<Stream>, String> {
    let mut result = state.result.lock();
    while result.is_none() {
        state.finished.wait(&mut result);
    }
    result
        .clone()
        .unwrap_or_else(|| Err("restore failed".into()))
}

#[allow(clippy::too_many_arguments)]
fn on_restore_chunk(
    server: &Arc<ServerShared>,
    js: &Arc<JetStream>,
    acc: &Arc<Account>,
    msg: &InMsg,
    state: &RestoreState,
    client: &Arc<InternalClient>,
    account_name: &str,
    stream_name: &str,
) {
    if state.closed.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    *state.last_chunk.lock() = Instant::now();
    let create = rt::STREAM_CREATE;
    let send = |body: &[u8]| {
        internal::publish(server, js.api_client(), acc, &msg.reply, None, None, body);
    };
    if msg.reply.is_empty() {
        crate::warn!(
            server.logging,
            "restore for stream '{account_name} > {stream_name}' requires reply subject for each chunk"
        );
        close_pipe(state, false);
        client.close(server);
        return;
    }
    if msg.payload.is_empty() {
        close_pipe(state, true);
        let resp = match wait_result(state) {
            Ok(s) => {
                let info = s.info(None, false);
                ApiResponse::ok(
                    create,
                    StreamInfo {
                        config: super::stream_config::with_dynamic_stream_metadata(&info.config),
                        ..info
                    },
                )
            }
            Err(e) => {
                crate::warn!(
                    server.logging,
                    "Restore failed for stream '{account_name} > {stream_name}': {e}"
                );
                ApiResponse::err(create, errors::STREAM_RESTORE.with_err(&e))
            }
        };
        super::count_account_api(js, account_name, resp.error.is_some());
        send(&crate::monitor::http::to_go_json_compact(&resp));
        return;
    }
    let tx = state.pipe.lock().clone();
    let sent = tx.is_some_and(|tx| tx.send(Piece::Data(msg.payload.to_vec())).is_ok());
    if !sent {
        close_pipe(state, false);
        let e = wait_result(state)
            .err()
            .unwrap_or_else(|| "restore ended".into());
        let resp = ApiResponse::<()>::err(create, errors::STREAM_RESTORE.with_err(&e));
        send(&crate::monitor::http::to_go_json_compact(&resp));
        client.close(server);
        return;
    }
    send(b"");
}

/// Why a stream cannot be snapshotted: a memory store cannot (Go answers "no impl").
fn memory_snapshot_refused(store: &stream::StreamStore) -> Option<&'static str> {
    matches!(store, stream::StreamStore::Memory(_)).then_some("no impl")
}

/// The account's limits on the bytes unpacked so far (Go's `checkAllLimits` with the
/// restore's byte count).
fn check_restore_limits(
    js: &JetStream,
    jsa: &JsAccount,
    cfg: &StreamConfig,
    bytes: u64,
) -> Result<(), String> {
    use super::api::types::StorageType;
    let (mem, file) = jsa.usage();
    let (srv_mem, srv_file) = js.usage();
    let over = |limit: i64, used: u64| limit >= 0 && used.saturating_add(bytes) > limit as u64;
    match cfg.storage {
        StorageType::Memory => {
            if over(jsa.limits.max_memory, mem) || over(js.settings.max_memory, srv_mem) {
                return Err(errors::MEMORY_RESOURCES_EXCEEDED.new().description);
            }
        }
        StorageType::File => {
            if over(jsa.limits.max_store, file) || over(js.settings.max_store, srv_file) {
                return Err(errors::STORAGE_RESOURCES_EXCEEDED.new().description);
            }
        }
    }
    Ok(())
}

/// Unpacks the snapshot read from `input` and opens the stream from it (Go's
/// `RestoreStream`).
fn restore_stream(
    server: &Arc<ServerShared>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    cfg: StreamConfig,
    input: impl Read,
) -> Result<Arc<Stream>, String> {
    let sdir = jsa.dir.join(SNAPSHOTS_DIR);
    std::fs::create_dir_all(&sdir)
        .map_err(|e| format!("could not create snapshots directory - {e}"))?;
    let tmp = sdir.join(format!("snap-{}", unique_token()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let result = unpack_and_open(server, js, jsa, cfg, input, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn unpack_and_open(
    server: &Arc<ServerShared>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    cfg: StreamConfig,
    mut input: impl Read,
    tmp: &Path,
) -> Result<Arc<Stream>, String> {
    let unpacked = format::unpack(&mut input, tmp, &mut |bytes| {
        check_restore_limits(js, jsa, &cfg, bytes)
    });
    if let Err(e) = unpacked {
        // Take the rest of the upload so that the sender is not left waiting.
        let _ = io::copy(&mut input, &mut io::sink());
        return Err(match e {
            format::UnpackError::Unexpected => {
                let e = format!("unexpected content (account={})", jsa.account.name);
                crate::error!(server.logging, "Stream restore failed due to {e}");
                e
            }
            other => other.to_string(),
        });
    }
    let _ = io::copy(&mut input, &mut io::sink());
    let meta_path = tmp.join(format::META_FILE);
    let json =
        std::fs::read(&meta_path).map_err(|e| format!("open {}: {e}", meta_path.display()))?;
    let meta: StreamMeta = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    if meta.config.name != cfg.name {
        return Err("stream names do not match".into());
    }
    if jsa.stream(&cfg.name).is_some() {
        return Err(errors::STREAM_NAME_EXIST_RESTORE_FAILED.new().description);
    }
    let dir = jsa.stream_dir(&cfg.name);
    if dir.exists() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let created = if meta.created.is_zero() {
        crate::monitor::gotime::GoTime::now()
    } else {
        meta.created
    };
    // Snapshots are in the clear: a restore into an encrypted server seals everything.
    let setup = StoreSetup {
        dir: dir.clone(),
        sync_interval: js.settings.sync_interval,
        keys: js.account_keys(&jsa.account.name),
    };
    let store = stream::open_store(&cfg, created, &setup).map_err(|e| e.to_string())?;
    let cleanup = |store: &stream::StreamStore| {
        let _ = store.store().delete(true);
        let _ = std::fs::remove_dir_all(&dir);
    };
    if let Err(e) = format::load_messages(tmp, &cfg.name, store.store()) {
        cleanup(&store);
        return Err(e);
    }
    if let Err(e) = restore_consumer_states(tmp, &store, &dir, &cfg.name) {
        cleanup(&store);
        return Err(e);
    }
    let is_file = matches!(store, stream::StreamStore::File(_));
    let s = Stream::new(
        jsa.account.clone(),
        cfg,
        created,
        is_file.then(|| dir.clone()),
        store,
        js.settings.domain.clone(),
    );
    s.set_account(jsa);
    if let Err(e) = s.start(server) {
        let _ = s.delete(server);
        return Err(e);
    }
    jsa.streams.write().insert(s.name.clone(), s.clone());
    super::consumer::recover_consumers(server, &s);
    s.check_interest_state();
    crate::notice!(
        server.logging,
        "Completed restore for stream '{} > {}'",
        jsa.account.name,
        s.name
    );
    Ok(s)
}

/// Writes each consumer of the snapshot (configuration and state) into the new file
/// stream's directory, where opening the stream's consumers finds them.
fn restore_consumer_states(
    tmp: &Path,
    store: &stream::StreamStore,
    dir: &Path,
    stream_name: &str,
) -> Result<(), String> {
    let stream::StreamStore::File(_) = store else {
        return Ok(());
    };
    let odir = tmp.join(format::CONSUMER_DIR);
    let Ok(entries) = std::fs::read_dir(&odir) else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    for cdir in dirs {
        let name = cdir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let fail = |e: &dyn std::fmt::Display| format!("error restoring consumer [{name:?}]: {e}");
        let json = std::fs::read(cdir.join(format::META_FILE)).map_err(|e| fail(&e))?;
        std::fs::metadata(cdir.join(format::META_SUM_FILE)).map_err(|e| fail(&e))?;
        let mut meta: ConsumerMeta = serde_json::from_slice(&json).map_err(|e| fail(&e))?;
        // An ephemeral consumer comes back as a durable of the same name (as in Go).
        if meta.config.durable.is_empty() {
            meta.config.durable = name.clone();
        }
        meta.name = name.clone();
        let state = match std::fs::read(cdir.join(format::CONSUMER_STATE_FILE)) {
            Ok(b) => natsd_store::decode_consumer_state(&b).map_err(|e| fail(&e))?,
            Err(_) => natsd_store::ConsumerState::default(),
        };
        let cs = stream::open_consumer_store(
            store,
            Some(dir),
            stream_name,
            &name,
            meta.created,
            &meta.config,
        )
        .map_err(|e| fail(&e))?;
        cs.force_update(&state).map_err(|e| fail(&e))?;
        cs.stop().map_err(|e| fail(&e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Account purge
// ---------------------------------------------------------------------------------------

/// Subscribes `$JS.API.ACCOUNT.PURGE.*` in the system account (standalone JetStream).
pub fn subscribe_account_purge(
    js: &Arc<JetStream>,
    server: &Arc<ServerShared>,
) -> Result<(), String> {
    let Some(system) = server.accounts.system().cloned() else {
        return Ok(());
    };
    let weak = Arc::downgrade(js);
    let handler: Handler = Arc::new(move |server, acc, msg| {
        if let Some(js) = weak.upgrade() {
            account_purge(&js, server, acc, msg);
        }
    });
    js.api_client()
        .subscribe(&system, ACCOUNT_PURGE_SUBJECT, None, handler)
        .map(|_| ())
}

/// `$JS.API.ACCOUNT.PURGE.<account>`: deletes every stream of the account and its
/// JetStream directory.
fn account_purge(js: &Arc<JetStream>, server: &Arc<ServerShared>, acc: &Arc<Account>, msg: &InMsg) {
    let name = msg
        .subject
        .splitn(5, '.')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    let respond = |resp: &ApiResponse<PurgeBody>| {
        super::count_api(js, resp.error.is_some());
        if !msg.reply.is_empty() {
            let body = crate::monitor::http::to_go_json_compact(resp);
            internal::publish(server, js.api_client(), acc, &msg.reply, None, None, &body);
        }
    };
    if name.contains(['/', '\\']) {
        return respond(&ApiResponse::err(
            ACCOUNT_PURGE_RESPONSE,
            errors::STREAM_GENERAL_ERROR.with_err(&"account name can not contain path separators"),
        ));
    }
    let streams: Vec<Arc<Stream>> = match js.account(&name) {
        Some(jsa) => std::mem::take(&mut *jsa.streams.write())
            .into_values()
            .collect(),
        None => Vec::new(),
    };
    crate::notice!(
        server.logging,
        "Purge request for account {name} (streams: {}, hasAccount: {})",
        streams.len(),
        server.accounts.lookup(&name).is_some()
    );
    for s in streams {
        if let Err(e) = s.delete(server) {
            return respond(&ApiResponse::err(
                ACCOUNT_PURGE_RESPONSE,
                errors::STREAM_DELETE.with_err(&e),
            ));
        }
    }
    match std::fs::remove_dir_all(js.settings.store_dir.join(&name)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return respond(&ApiResponse::err(
                ACCOUNT_PURGE_RESPONSE,
                errors::STREAM_GENERAL_ERROR.with_err(&e),
            ))
        }
    }
    respond(&ApiResponse::ok(
        ACCOUNT_PURGE_RESPONSE,
        PurgeBody { initiated: true },
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn only_file_streams_are_snapshotted() {
        let ms = natsd_store::mem::MemStore::new(natsd_store::StreamConfig {
            name: "S".into(),
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        let store = stream::StreamStore::Memory(Arc::new(ms));
        assert_eq!(memory_snapshot_refused(&store), Some("no impl"));
    }
}
