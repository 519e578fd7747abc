//! The connection tasks: the reader parses and processes what the client sends, delivering
//! each publish straight into the subscribers' outbound buffers; the writer drains this
//! client's outbound buffer to the socket.

mod imports;

use super::connect::{ConnectInfo, CLIENT_PROTO_INFO, CLIENT_PROTO_ZERO};
use super::outbound::Queued;
use super::ping::{PingAction, PingTimer};
use super::trace::{self, Dir};
use super::{Client, SubRef, Subscription};
use crate::closed::ClosedState;
use crate::config::options::WriteTimeoutPolicy;
use crate::protocol::parser::{go_quote_into, Parser, ParserConfig};
use crate::protocol::{encode, ClientOp, PubMsg};
use crate::server::ServerShared;
use crate::subject;
use crate::sublist::SublistResult;
use bytes::{Buf, Bytes, BytesMut};
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read buffer growth step; also the most a single read asks for.
const READ_SIZE: usize = 64 * 1024;
/// The first PING to a client goes out this soon (unless `disable_short_first_ping`).
const FIRST_CLIENT_PING_INTERVAL: Duration = Duration::from_secs(2);
/// Most subjects a reader keeps in its own match cache (as Go's per-client cache).
const L1_MAX: usize = 512;
/// Queue group reserved for the server's internal subscriptions; clients may not join it.
const SYS_GROUP: &[u8] = b"_sys_";
/// Header block of the 503 no-responders status, before the subject.
const NO_RESPONDERS_HDR: &[u8] = b"NATS/1.0 503\r\nNats-Subject: ";

/// Processing one read for longer than this is logged as a warning (Go's
/// `readLoopReportThreshold`, 2s).
static READ_LOOP_REPORT_NANOS: AtomicU64 = AtomicU64::new(2_000_000_000);

/// Changes the read-processing time above which connections warn (process-wide; for
/// tests, as Go's tests lower `readLoopReportThreshold`).
pub fn set_read_loop_report_threshold(d: Duration) {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    READ_LOOP_REPORT_NANOS.store(ns, Ordering::Relaxed);
}

/// Subject prefix of replies routed through gateways; clients may not publish to it.
const GW_REPLY_PREFIX: &[u8] = b"_GR_.";
/// Subject prefix of the servers' own Raft traffic, reserved to the system account.
const NRG_PREFIX: &[u8] = b"$NRG.";
/// Reply prefixes the server hands out itself (service imports, JetStream acks, gateway
/// replies); a client may not set them as the reply of its own publish.
const RESERVED_REPLY_PREFIXES: [&[u8]; 3] = [b"_R_.", b"$JS.ACK.", GW_REPLY_PREFIX];

/// Why a publish is refused before delivery.
#[derive(Debug, PartialEq, Eq)]
enum PublishViolation<'a> {
    Subject(&'a [u8]),
    Reply(&'a [u8]),
}

/// A prefix match that leaves at least one byte after the prefix, as Go checks them.
fn has_prefix(s: &[u8], prefix: &[u8]) -> bool {
    s.len() > prefix.len() && s.starts_with(prefix)
}

/// Go's checks of reserved subjects and replies on a client's publish; `$NRG.` subjects
/// are open to clients of the system account.
fn check_reserved<'a>(
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    in_system_account: bool,
) -> Result<(), PublishViolation<'a>> {
    if has_prefix(subject, GW_REPLY_PREFIX)
        || (subject.starts_with(NRG_PREFIX) && !in_system_account)
    {
        return Err(PublishViolation::Subject(subject));
    }
    match reply {
        Some(r) if RESERVED_REPLY_PREFIXES.iter().any(|p| has_prefix(r, p)) => {
            Err(PublishViolation::Reply(r))
        }
        _ => Ok(()),
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Serves one accepted client connection until it closes.
pub async fn run_connection(server: Arc<ServerShared>, stream: TcpStream, client: Arc<Client>) {
    let _ = stream.set_nodelay(true);
    // Plain TCP splits without a lock between the halves.
    let (rd, wr) = stream.into_split();
    run_halves(server, client, rd, wr).await;
}

/// Serves a connection over any byte stream (TLS, or a test's in-memory socket).
pub async fn run_stream<S>(server: Arc<ServerShared>, stream: S, client: Arc<Client>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    run_halves(server, client, rd, wr).await;
}

async fn run_halves<R, W>(server: Arc<ServerShared>, client: Arc<Client>, rd: R, wr: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let writer = tokio::spawn(write_loop(server.clone(), client.clone(), wr));
    let mut reader = Reader::new(server.clone(), client.clone());
    let reason = reader.read_loop(rd).await;
    server.close_client(&client, reason, true);
    let _ = writer.await;
}

/// Drains the client's outbound buffer; exits once the connection is closed and flushed.
async fn write_loop<W>(server: Arc<ServerShared>, client: Arc<Client>, mut wr: W)
where
    W: AsyncWrite + Unpin,
{
    let server_deadline = server.opts().write_deadline;
    let policy = client.write_timeout_policy();
    let mut spare = BytesMut::with_capacity(READ_SIZE);
    loop {
        let closed = {
            let mut out = client.out.lock();
            // After a partial write (retry policy) the rest goes out before anything newer.
            if spare.is_empty() {
                out.take(&mut spare);
            }
            out.is_closed()
        };
        if closed && !client.flush_on_close.load(Ordering::Acquire) {
            break;
        }
        if spare.is_empty() {
            if closed {
                break;
            }
            client.writer_wake.notified().await;
            continue;
        }
        let n = spare.len();
        let deadline = client.write_deadline().unwrap_or(server_deadline);
        let mut written = 0;
        let at = tokio::time::Instant::now() + deadline;
        // As with Go's socket deadlines, a deadline already past fails the write before it
        // is tried (tokio's timeout would let a write that completes at once through).
        let result = if tokio::time::Instant::now() >= at {
            None
        } else {
            tokio::time::timeout_at(at, async {
                while written < n {
                    match wr.write(&spare[written..]).await {
                        Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                        Ok(k) => written += k,
                        Err(e) => return Err(e),
                    }
                }
                Ok::<(), std::io::Error>(())
            })
            .await
            .ok()
        };
        client.out.lock().written(written);
        match result {
            Some(Ok(())) => spare.clear(),
            Some(Err(_)) => {
                server.close_client(&client, ClosedState::WriteError, false);
                break;
            }
            // A client that has not sent CONNECT to a server requiring authentication is
            // closed without counting a slow consumer, which would mislead (as Go).
            None if !client.connect_received() && crate::auth::auth_required(&server.opts()) => {
                server.close_client(&client, ClosedState::SlowConsumerWriteDeadline, false);
                break;
            }
            None => {
                let state = if client.is_slow_consumer() {
                    "State"
                } else {
                    "Detected"
                };
                crate::notice!(
                    server.logging,
                    "{} - Slow Consumer {state}: WriteDeadline of {:?} exceeded with 1 chunks of {} total bytes.",
                    client.label(),
                    deadline,
                    n
                );
                server.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                // Go closes a client unless its policy is retry and some bytes went out.
                if policy == WriteTimeoutPolicy::Close || written == 0 {
                    server.close_client(&client, ClosedState::SlowConsumerWriteDeadline, false);
                    break;
                }
                client.mark_slow_consumer();
                spare.advance(written);
            }
        }
        if closed {
            // Everything queued before the close has been written.
            if client.out.lock().pending() == 0 {
                break;
            }
        }
    }
    let _ = wr.shutdown().await;
}

/// Connection-local state of the reader task.
struct Reader {
    server: Arc<ServerShared>,
    client: Arc<Client>,
    /// The client's account: whose sublist its publishes and subscriptions go to.
    acc: Arc<crate::account::Account>,
    parser: Parser,
    connect: ConnectInfo,
    connect_received: bool,
    /// The PONG answering the client's first PING has gone out.
    first_pong_sent: bool,
    /// Writers to wake at the end of this read batch (each at most once).
    touched: Vec<Arc<Client>>,
    /// Subscriptions that reached their auto-unsubscribe limit during this batch.
    expired: Vec<SubRef>,
    /// When the connection was accepted: CONNECT takes the time since as its first RTT.
    accepted: Instant,
    /// When to PING the client and when it is stale (pure; fed with the current time).
    ping: PingTimer,
    batch_in_msgs: u64,
    batch_in_bytes: u64,
    batch_out_msgs: u64,
    batch_out_bytes: u64,
    /// SUB/UNSUB operations in this read batch (client activity, like messages).
    batch_subs: u64,
    /// This connection's own match cache, valid while the sublist's generation is
    /// `l1_genid`: a hit costs no shared lock and no shared counter.
    l1: HashMap<Bytes, Arc<SublistResult<SubRef>>, foldhash::fast::RandomState>,
    l1_genid: u64,
    /// Whether the server traces protocol (`-V`), read once per read batch.
    trace: bool,
    /// Until the client has authenticated: when it must have (`auth_timeout`).
    auth_deadline: Option<tokio::time::Instant>,
    /// When the client's authentication expires (a deadline the embedding program's
    /// authenticator set).
    auth_expiry: Option<tokio::time::Instant>,
    /// This client's permissions, once authenticated with some.
    perms: Option<Arc<crate::auth::ClientPerms>>,
    /// The options generation this reader last applied (see `options_reloaded`).
    opts_gen: u64,
    /// The message being processed is traced (Go's `c.pa.trace`); only for messages
    /// with headers that ask for it.
    msg_trace: Option<Box<crate::msgtrace::MsgTrace>>,
}

impl Reader {
    fn new(server: Arc<ServerShared>, client: Arc<Client>) -> Self {
        let opts = &server.opts();
        let parser = Parser::new(ParserConfig {
            max_control_line: usize::try_from(opts.max_control_line).unwrap_or(usize::MAX),
            max_payload: usize::try_from(opts.max_payload).unwrap_or(usize::MAX),
            headers: !opts.no_header_support,
        });
        let ping = PingTimer::new(Instant::now(), opts.ping_interval, opts.max_pings_out);
        let auth_deadline = crate::auth::auth_required(opts)
            .then(|| tokio::time::Instant::now() + opts.auth_timeout);
        let mut parser = parser;
        parser.set_awaiting_connect(auth_deadline.is_some());
        Reader {
            auth_deadline,
            auth_expiry: None,
            perms: None,
            opts_gen: server.opts_generation(),
            acc: client
                .account()
                .unwrap_or_else(|| server.global_account().clone()),
            server,
            client,
            parser,
            connect: ConnectInfo::default(),
            connect_received: false,
            first_pong_sent: false,
            touched: Vec::new(),
            expired: Vec::new(),
            accepted: Instant::now(),
            ping,
            batch_in_msgs: 0,
            batch_in_bytes: 0,
            batch_out_msgs: 0,
            batch_out_bytes: 0,
            batch_subs: 0,
            l1: HashMap::default(),
            l1_genid: 0,
            trace: false,
            msg_trace: None,
        }
    }

    /// Subscriptions matching `subject`, from this connection's cache when still valid.
    fn match_subject(&mut self, subject: &[u8]) -> Arc<SublistResult<SubRef>> {
        let genid = self.acc.sublist.genid();
        if genid != self.l1_genid {
            self.l1.clear();
            self.l1_genid = genid;
        } else if let Some(r) = self.l1.get(subject) {
            return r.clone();
        }
        let r = self.acc.sublist.match_bytes(subject);
        if self.l1.len() >= L1_MAX {
            // Bounded like Go's: drop everything rather than track recency.
            self.l1.clear();
        }
        // The key is copied: a slice of the read buffer would keep it from being reused.
        self.l1.insert(Bytes::copy_from_slice(subject), r.clone());
        r
    }

    /// Reads until the connection closes; returns why.
    async fn read_loop<R: AsyncRead + Unpin>(&mut self, mut rd: R) -> ClosedState {
        let mut buf = BytesMut::with_capacity(READ_SIZE);
        loop {
            if buf.capacity() - buf.len() < READ_SIZE / 4 {
                buf.reserve(READ_SIZE);
            }
            let auth_deadline = self.auth_deadline;
            let auth_expiry = self.auth_expiry;
            tokio::select! {
                biased;
                _ = self.client.reader_kill.notified() => {
                    return self.client.close_reason().unwrap_or(ClosedState::ServerShutdown);
                }
                r = rd.read_buf(&mut buf) => match r {
                    Ok(0) => return ClosedState::ClientClosed,
                    Ok(_) => {
                        let start = Instant::now();
                        self.trace = self.server.logging.is_trace();
                        let result = self.process(&mut buf);
                        self.end_batch();
                        self.report_slow_batch(start);
                        if let Err(reason) = result {
                            return reason;
                        }
                    }
                    Err(_) => return ClosedState::ReadError,
                },
                _ = sleep_until_some(auth_deadline), if auth_deadline.is_some() => {
                    crate::debug!(self.server.logging, "{} - Authentication Timeout", self.client.label());
                    self.send_err("Authentication Timeout");
                    return ClosedState::AuthenticationTimeout;
                }
                _ = sleep_until_some(auth_expiry), if auth_expiry.is_some() => {
                    crate::debug!(self.server.logging, "{} - User Authentication Expired", self.client.label());
                    self.send_err("User Authentication Expired");
                    return ClosedState::AuthenticationExpired;
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(self.ping.deadline())) => {
                    if let Err(reason) = self.ping_timer() {
                        return reason;
                    }
                }
            }
        }
    }

    /// Warns when processing one read took too long (a stalled subscriber, say), as Go's
    /// read loop does.
    fn report_slow_batch(&self, start: Instant) {
        let dur = start.elapsed();
        if dur.as_nanos() >= u128::from(READ_LOOP_REPORT_NANOS.load(Ordering::Relaxed)) {
            crate::warn!(
                self.server.logging,
                "{} - Readloop processing time: {}",
                self.client.label(),
                crate::monitor::gotime::go_duration_string(
                    i64::try_from(dur.as_nanos()).unwrap_or(i64::MAX)
                )
            );
        }
    }

    /// Processes every complete operation in `buf`.
    fn process(&mut self, buf: &mut BytesMut) -> Result<(), ClosedState> {
        let gen = self.server.opts_generation();
        if gen != self.opts_gen {
            self.opts_gen = gen;
            self.options_reloaded();
        }
        loop {
            match self.parser.parse(buf) {
                Ok(Some(op)) => {
                    if self.trace {
                        self.trace_in(&op);
                    }
                    self.handle(op)?
                }
                Ok(None) => return Ok(()),
                Err(e)
                    if e.kind() == crate::protocol::parser::ProtocolErrorKind::AuthRequired
                        && self.auth_as_no_auth_user() => {}
                Err(e) => {
                    if let Some(hpub) = e.oversized_hpub() {
                        self.trace_oversized(hpub);
                    }
                    crate::error!(self.server.logging, "{} - {}", self.client.label(), e);
                    if let Some(text) = e.client_err_text() {
                        self.send_err(text);
                    }
                    return Err(e.close_reason());
                }
            }
        }
    }

    /// A reload replaced the options: take on the limits Go applies to open connections.
    fn options_reloaded(&mut self) {
        let o = self.server.opts();
        let max_payload = self.max_payload();
        self.parser.set_max_payload(max_payload);
        self.parser
            .set_max_control_line(usize::try_from(o.max_control_line).unwrap_or(usize::MAX));
        self.ping.set_limits(o.ping_interval, o.max_pings_out);
        // A reload may have changed this client's permissions.
        if self.connect_received {
            self.perms = self.client.auth.perms();
        }
    }

    fn handle(&mut self, op: ClientOp) -> Result<(), ClosedState> {
        match op {
            ClientOp::Pub(msg) => {
                self.process_pub(msg);
                Ok(())
            }
            ClientOp::Ping => {
                self.send_out_proto("PONG", encode::PONG);
                self.ping.on_ping_received(Instant::now());
                self.after_first_pong();
                Ok(())
            }
            ClientOp::Pong => {
                self.client
                    .activity
                    .on_pong(crate::monitor::gotime::now_nanos());
                self.ping.on_pong(Instant::now());
                Ok(())
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                self.batch_subs += 1;
                self.process_sub(subject, queue, sid);
                Ok(())
            }
            ClientOp::Unsub { sid, max } => {
                self.batch_subs += 1;
                self.process_unsub(sid, max);
                Ok(())
            }
            ClientOp::Connect(json) => self.process_connect(&json),
            ClientOp::Ok => Ok(()),
            // A client reporting an error is closed, as Go does.
            ClientOp::Err(text) => {
                crate::error!(
                    self.server.logging,
                    "{} - Client Error {}",
                    self.client.label(),
                    String::from_utf8_lossy(&text)
                );
                Err(ClosedState::ParseError)
            }
            // Go decodes a client's INFO into its Info struct and ignores it, but a body that
            // does not decode closes the connection.
            ClientOp::Info(json) => match serde_json::from_slice::<serde_json::Value>(&json) {
                Ok(serde_json::Value::Object(_) | serde_json::Value::Null) => Ok(()),
                Ok(other) => {
                    crate::error!(
                        self.server.logging,
                        "{} - json: cannot unmarshal {} into Go value of type server.Info",
                        self.client.label(),
                        json_kind(&other)
                    );
                    Err(ClosedState::ProtocolViolation)
                }
                Err(e) => {
                    crate::error!(self.server.logging, "{} - {}", self.client.label(), e);
                    Err(ClosedState::ProtocolViolation)
                }
            },
        }
    }

    fn process_connect(&mut self, json: &[u8]) -> Result<(), ClosedState> {
        // Go decodes each CONNECT into the options it already has.
        let mut info = self.connect.clone();
        if let Err(e) = info.apply(json) {
            crate::error!(self.server.logging, "{} - {}", self.client.label(), e);
            return Err(ClosedState::ProtocolViolation);
        }
        self.client.set_connect_opts(info.clone());
        self.client
            .activity
            .on_connect(crate::monitor::gotime::now_nanos());
        // A repeated CONNECT may move the client to another account: its subscriptions
        // are dropped first so none stays behind in the old account (Go drops them on
        // every CONNECT after the first).
        if self.connect_received {
            let subs: Vec<_> = self.client.subs.lock().values().cloned().collect();
            for sub in subs {
                self.server.unsubscribe(&SubRef(sub));
            }
        }
        // Credentials are checked before the label takes the client's info, as in Go.
        let user_label = self.authenticate(&info)?;
        if !self.connect_received {
            self.client.label_with_client_info(&info);
            if let Some(user) = &user_label {
                self.client.label_with_auth_user(user);
            }
        }
        if info.protocol < CLIENT_PROTO_ZERO || info.protocol > CLIENT_PROTO_INFO {
            self.send_err("invalid client protocol");
            return Err(ClosedState::BadClientProtocolVersion);
        }
        let headers = info.headers && !self.server.opts().no_header_support;
        if info.no_responders && !headers {
            self.send_err("no responders requires headers support");
            return Err(ClosedState::NoRespondersRequiresHeaders);
        }
        self.parser.set_headers(headers);
        self.client.set_echo(info.echo);
        self.client.set_headers(headers);
        if info.verbose {
            self.send_ok();
        }
        self.connect = info;
        self.connect_received = true;
        // Every CONNECT restarts PING timing, with the short first interval, as Go does.
        self.ping
            .on_connect(Instant::now(), self.accepted, self.first_ping_interval());
        Ok(())
    }

    /// Checks the CONNECT's credentials (closing with `Authorization Violation` when they
    /// fail) and takes on the user's permissions.
    /// Returns who the client is, for the connection's label.
    fn authenticate(&mut self, info: &ConnectInfo) -> Result<Option<String>, ClosedState> {
        let opts = &self.server.opts();
        let result = if let Some(custom) = &opts.custom_client_authentication {
            self.authenticate_by_program(custom, info)
        } else if crate::auth::tls_map::maps_user(opts, info) {
            self.authenticate_by_certificate(info)
        } else {
            crate::auth::check_client(opts, info, &self.client.auth.context())
        };
        match result {
            Ok(ok) => {
                self.check_account_connections(&ok.account)?;
                let user = ok.user_label.clone();
                self.authenticated(ok);
                Ok(user)
            }
            Err(failure) => {
                let label = self.client.label();
                if let Some(why) = failure.debug_text() {
                    crate::debug!(self.server.logging, "{label} - {why}");
                }
                match crate::auth::auth_user_label(info) {
                    Some(user) => crate::error!(
                        self.server.logging,
                        "{label} - authentication error - {user}"
                    ),
                    None => crate::error!(self.server.logging, "{label} - authentication error"),
                }
                self.send_err("Authorization Violation");
                let reason = failure.closed_state();
                crate::events::auth_failed(&self.server, &self.client, reason);
                Err(reason)
            }
        }
    }

    /// Refuses a client whose account already has its `max_connections` (Go's
    /// `maxAccountConnExceeded`).
    fn check_account_connections(&self, account: &str) -> Result<(), ClosedState> {
        let name = if account.is_empty() {
            crate::account::GLOBAL_ACCOUNT
        } else {
            account
        };
        let Some(acc) = self.server.accounts.lookup(name) else {
            return Ok(());
        };
        let max = acc.limits().max_connections;
        if max < 0 {
            return Ok(());
        }
        let bound_here = self.client.account().is_some_and(|a| Arc::ptr_eq(&a, &acc));
        let others = self.server.num_account_clients(&acc) - usize::from(bound_here);
        if (others as i64) < max {
            return Ok(());
        }
        const TEXT: &str = "maximum account active connections exceeded";
        crate::error!(self.server.logging, "{} - {TEXT}", self.client.label());
        self.send_err(TEXT);
        Err(ClosedState::MaxAccountConnectionsExceeded)
    }

    /// The largest payload this client may publish: the server's `max_payload`, or its
    /// account's when smaller (Go's `applyAccountLimits`).
    fn max_payload(&self) -> usize {
        let server = self.server.opts().max_payload;
        let limit = crate::account::min_limit(i64::from(server), self.acc.limits().max_payload);
        limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(0))
    }

    /// The embedding program's authenticator decides; a deadline it sets closes the
    /// connection then.
    fn authenticate_by_program(
        &mut self,
        custom: &crate::auth::custom::CustomClientAuth,
        info: &ConnectInfo,
    ) -> Result<crate::auth::Authenticated, crate::auth::AuthFailure> {
        let request = crate::auth::custom::ClientAuthRequest::new(&self.client, info);
        let accepted = crate::auth::custom::check(custom, &request)?;
        // A registered user's name is the one events and monitoring show (Go's
        // `RegisterUser`).
        let registered = accepted.authenticated.user_label.as_deref();
        if let Some(name) = registered.and_then(|l| l.strip_prefix("user:")) {
            self.client.set_implied_user(name.to_string());
        }
        self.auth_expiry = accepted.deadline.map(|at| {
            let left = at
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        Ok(accepted.authenticated)
    }

    /// `verify_and_map`: the user is the one the client's certificate names.
    fn authenticate_by_certificate(
        &self,
        info: &ConnectInfo,
    ) -> Result<crate::auth::Authenticated, crate::auth::AuthFailure> {
        use crate::auth::tls_map::{check_certificate, CertLog};
        let cert = self.client.tls.get().and_then(|t| t.peer.as_ref());
        let logging = &self.server.logging;
        let label = self.client.label();
        let ctx = self.client.auth.context();
        check_certificate(&self.server.opts(), info, cert, &ctx, |line| match line {
            CertLog::Debug(m) => crate::debug!(logging, "{label} - {m}"),
            CertLog::Warn(m) => crate::warn!(logging, "{m}"),
        })
    }

    fn authenticated(&mut self, ok: crate::auth::Authenticated) {
        let name = if ok.account.is_empty() {
            crate::account::GLOBAL_ACCOUNT
        } else {
            ok.account.as_str()
        };
        if name != self.acc.name {
            if let Some(acc) = self.server.accounts.lookup(name) {
                self.client.bind_account(acc.clone());
                let old = std::mem::replace(&mut self.acc, acc);
                // The match cache belongs to the previous account's sublist.
                self.l1.clear();
                self.l1_genid = 0;
                crate::events::account_conns_changed(&self.server, &old);
                crate::events::account_conns_changed(&self.server, &self.acc);
                let max_payload = self.max_payload();
                self.parser.set_max_payload(max_payload);
            }
        }
        *self.client.auth.proxy_key.lock() = ok.proxy_key.clone();
        self.auth_deadline = None;
        self.parser.set_awaiting_connect(false);
        let c = &self.connect;
        if c.user.is_empty() && c.nkey.is_empty() && c.auth_token.is_empty() {
            // Only `no_auth_user` names a client that sent no credentials.
            if let Some(name) = ok.user_label.as_deref().and_then(|l| l.split_once(':')) {
                self.client.set_implied_user(name.1.to_string());
            }
        }
        if let Some(p) = ok.perms {
            self.client.auth.set_perms(Some(p.clone()));
            self.perms = Some(p);
        }
        crate::events::client_connected(&self.server, &self.client);
    }

    /// Something other than CONNECT came first: with `no_auth_user` the client is that
    /// user, as Go lets simple clients (telnet) skip CONNECT.
    fn auth_as_no_auth_user(&mut self) -> bool {
        let opts = &self.server.opts();
        if opts.no_auth_user.is_empty() {
            return false;
        }
        let ctx = crate::auth::ConnContext {
            nonce: None,
            ..self.client.auth.context()
        };
        match crate::auth::check_client(opts, &self.connect, &ctx) {
            Ok(ok) => {
                self.authenticated(ok);
                true
            }
            Err(_) => false,
        }
    }

    /// Logs one trace line for `client` (the label names the connection).
    fn trace_line(&self, client: &Client, line: &str) {
        crate::trace!(self.server.logging, "{} - {}", client.label(), line);
    }

    /// Traces an operation received from the client, and the payload of a message.
    fn trace_in(&self, op: &ClientOp) {
        if let Some(line) = trace::client_op(op) {
            self.trace_line(&self.client, &line);
        }
        if let ClientOp::Pub(m) = op {
            let o = &self.server.opts();
            if let Some(line) = trace::msg_payload(
                Dir::In,
                &m.payload,
                m.header_len.unwrap_or(0),
                o.max_traced_msg_len,
                o.trace_headers,
            ) {
                self.trace_line(&self.client, &line);
            }
        }
    }

    /// Traces a message just queued for `client`.
    fn trace_delivery(
        &self,
        client: &Client,
        subject: &[u8],
        sid: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        data: &[u8],
    ) {
        if !client.traced(&self.server.logging) {
            return;
        }
        trace::log_delivery(
            &self.server.logging,
            &self.server.opts(),
            &client.label(),
            subject,
            sid,
            reply,
            header_len,
            data,
        );
    }

    /// Sends `-ERR '<text>'` (traced).
    fn send_err(&self, text: &str) {
        if self.trace {
            self.trace_line(
                &self.client,
                &trace::op(Dir::Out, "-ERR", Some(text.as_bytes())),
            );
        }
        self.client.send_err(text);
    }

    /// Sends a protocol line without argument (`PONG`, `PING`; traced by `name`).
    fn send_out_proto(&self, name: &str, proto: &[u8]) {
        if self.trace {
            self.trace_line(&self.client, &trace::op(Dir::Out, name, None));
        }
        self.client.send_proto(proto);
    }

    /// After the PONG to a client's first PING (once CONNECT is in), a client speaking
    /// protocol 1 or later gets an INFO with `connect_info` and its account, as in Go.
    fn after_first_pong(&mut self) {
        if self.first_pong_sent || !self.connect_received {
            return;
        }
        self.first_pong_sent = true;
        self.client.set_first_pong_sent();
        if self.connect.protocol < CLIENT_PROTO_INFO {
            return;
        }
        self.client.set_accepts_async_info();
        let mut b = BytesMut::new();
        encode::info(&mut b, &self.server.connect_info_json_for(&self.client));
        self.client.send_proto(&b);
    }

    fn send_ok(&self) {
        self.send_out_proto("OK", encode::OK);
    }

    fn send_ok_if_verbose(&self) {
        if self.connect.verbose {
            self.send_ok();
        }
    }

    fn process_sub(&mut self, subject: Bytes, queue: Option<Bytes>, sid: Bytes) {
        let (max_subs, max_tokens) = {
            let o = self.server.opts();
            let account = self.acc.limits().max_subs;
            let max_subs = crate::account::min_limit(o.max_subs, account).unwrap_or(0);
            (max_subs, o.max_sub_tokens)
        };
        let subj_str = match std::str::from_utf8(&subject) {
            Ok(s) => s,
            Err(_) => {
                self.send_err("Invalid Subject");
                return;
            }
        };
        let queue_str = match queue.as_deref().map(std::str::from_utf8) {
            None => None,
            Some(Ok(q)) => Some(q),
            Some(Err(_)) => {
                self.send_err("Invalid Subject");
                return;
            }
        };
        // The subscription goes into the sublist and the connection's map under the map's
        // lock, after checking the connection is still open: a close (which drains the
        // map) may come from another task in the middle of this read batch.
        let mut subs = self.client.subs.lock();
        if self.client.is_closed() {
            return;
        }
        // The queue group Go reserves for the system's own subscriptions.
        if queue.as_deref() == Some(SYS_GROUP) {
            drop(subs);
            self.sub_permission_violation(&subject, queue.as_deref(), &sid);
            return;
        }
        if let Some(p) = &self.perms {
            if !p.can_subscribe(subj_str, queue_str) {
                drop(subs);
                self.sub_permission_violation(&subject, queue.as_deref(), &sid);
                return;
            }
        }
        if max_tokens > 0 && subject.split(|b| *b == b'.').count() > usize::from(max_tokens) {
            drop(subs);
            self.max_tokens_violation(&subject, &sid);
            return;
        }
        if subs.contains_key(&sid) {
            drop(subs);
            self.send_ok_if_verbose();
            return;
        }
        if max_subs > 0 && subs.len() as i64 >= max_subs {
            drop(subs);
            crate::error!(
                self.server.logging,
                "{} - maximum subscriptions exceeded",
                self.client.label()
            );
            self.send_err("maximum subscriptions exceeded");
            return;
        }
        let sub = Arc::new(Subscription {
            client: self.client.clone(),
            account: self.acc.clone(),
            subject: subject.clone(),
            queue: queue.clone(),
            sid: sid.clone(),
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        if self
            .acc
            .sublist
            .insert(subj_str, queue_str, SubRef(sub.clone()))
            .is_err()
        {
            drop(subs);
            self.send_err("Invalid Subject");
            return;
        }
        subs.insert(sid, sub);
        drop(subs);
        self.send_ok_if_verbose();
    }

    /// Refuses a publish: `-ERR` to the client and an error in the log, in Go's words.
    /// A traced message's event reports the refusal.
    fn publish_violation(&mut self, violation: PublishViolation<'_>) {
        self.publish_violation_untraced(&violation);
        if self.msg_trace.is_some() {
            self.send_msg_trace();
        }
    }

    fn publish_violation_untraced(&mut self, violation: &PublishViolation<'_>) {
        let (mut err, mut log, what) = match violation {
            PublishViolation::Subject(s) => (
                String::from("Permissions Violation for Publish to "),
                String::from("Publish Violation - Subject "),
                s,
            ),
            PublishViolation::Reply(r) => (
                String::from("Permissions Violation for Publish with Reply of "),
                String::from("Publish Violation - Reply "),
                r,
            ),
        };
        go_quote_into(&mut err, what);
        go_quote_into(&mut log, what);
        if let Some(t) = self.msg_trace.as_mut() {
            t.set_ingress_error(&err);
        }
        self.send_err(&err);
        crate::error!(self.server.logging, "{} - {}", self.client.label(), log);
    }

    /// Refuses a subscription: `-ERR` to the client and an error in the log, in Go's words.
    fn sub_permission_violation(&self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) {
        let mut err = String::from("Permissions Violation for Subscription to ");
        let mut log = String::from("Subscription Violation - Subject ");
        go_quote_into(&mut err, subject);
        go_quote_into(&mut log, subject);
        if let Some(q) = queue {
            err.push_str(" using queue ");
            go_quote_into(&mut err, q);
            log.push_str(", Queue: ");
            go_quote_into(&mut log, q);
        }
        log.push_str(", SID ");
        log.push_str(&String::from_utf8_lossy(sid));
        self.send_err(&err);
        crate::error!(self.server.logging, "{} - {}", self.client.label(), log);
    }

    /// Refuses a subscription whose subject has more tokens than `max_sub_tokens`.
    fn max_tokens_violation(&self, subject: &[u8], sid: &[u8]) {
        let mut err = String::from("Permissions Violation for Subscription to ");
        go_quote_into(&mut err, subject);
        err.push_str(", too many tokens");
        let mut log = String::from("Subscription Violation Too Many Tokens - Subject ");
        go_quote_into(&mut log, subject);
        log.push_str(", SID ");
        log.push_str(&String::from_utf8_lossy(sid));
        self.send_err(&err);
        crate::error!(self.server.logging, "{} - {}", self.client.label(), log);
    }

    fn process_unsub(&mut self, sid: Bytes, max: Option<u64>) {
        let sub = self.client.subs.lock().get(&sid).cloned();
        self.send_ok_if_verbose();
        let Some(sub) = sub else { return };
        match max {
            Some(m) if m > 0 && m > sub.delivered.load(Ordering::Relaxed) => {
                sub.max.store(m, Ordering::Relaxed);
            }
            _ => self.server.unsubscribe(&SubRef(sub)),
        }
    }

    /// Sends the message on the subject the account maps its subject to, if any (Go's
    /// `selectMappedSubject`): permissions and delivery then use the mapped subject.
    fn map_subject(&mut self, msg: &mut PubMsg) {
        let subject = String::from_utf8_lossy(&msg.subject).into_owned();
        let pick = rand::thread_rng().gen_range(0..100u8);
        // natsd has no cluster name, so cluster-scoped destinations never apply.
        let Some(mapped) = self.acc.mappings.select(&subject, "", pick) else {
            return;
        };
        if self.trace {
            let arg = format!("{subject} -> {mapped}");
            self.trace_line(
                &self.client,
                &trace::op(Dir::In, "MAPPING", Some(arg.as_bytes())),
            );
        }
        if let Some(t) = self.msg_trace.as_mut() {
            t.add_subject_mapping(mapped.as_bytes());
        }
        msg.subject = Bytes::from(mapped);
    }

    fn process_pub(&mut self, mut msg: PubMsg) {
        // Go only warns a pedantic client here: the message is still acknowledged and
        // delivered (a wildcard token then matches like a literal one).
        if self.connect.pedantic
            && !std::str::from_utf8(&msg.subject).is_ok_and(subject::is_valid_literal_subject)
        {
            self.send_err("Invalid Publish Subject");
        }
        // Only a message with headers may ask to be traced; one that cannot be is dropped.
        if msg.header_len.is_some() && self.start_msg_trace(&mut msg) {
            return;
        }
        if self.acc.mappings.any() {
            self.map_subject(&mut msg);
        }
        self.batch_in_msgs += 1;
        self.batch_in_bytes += msg.payload.len() as u64;
        if let Some(p) = &self.perms {
            let subject = String::from_utf8_lossy(&msg.subject);
            if !p.pub_allowed(&subject, Instant::now()) {
                self.publish_violation(PublishViolation::Subject(&msg.subject));
                return;
            }
        }
        let in_system_account = self.server.accounts.is_system(&self.acc);
        if let Err(violation) =
            check_reserved(&msg.subject, msg.reply.as_deref(), in_system_account)
        {
            self.publish_violation(violation);
            return;
        }
        self.send_ok_if_verbose();
        let result = self.match_subject(&msg.subject);
        let reply = msg.reply.as_deref();
        let mut delivered =
            self.deliver_result(&result, &msg.subject, reply, msg.header_len, &msg.payload);
        if self.acc.has_imports_or_exports() {
            let acc = self.acc.clone();
            delivered |=
                self.route_imports(&acc, &msg.subject, reply, msg.header_len, &msg.payload);
        }
        if !delivered {
            self.no_responders(&msg);
        }
        if self.msg_trace.is_some() {
            self.send_msg_trace();
        }
    }

    /// Delivers a message to the subscribers of `result`: every plain subscriber and one
    /// member of each queue group. True if anyone took it.
    fn deliver_result(
        &mut self,
        result: &SublistResult<SubRef>,
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
    ) -> bool {
        let echo = self.client.echo();
        let mut delivered = false;
        for sub in result.psubs.iter() {
            if !echo && Arc::ptr_eq(&sub.client, &self.client) {
                self.trace_egress(sub, crate::msgtrace::ERR_NO_ECHO);
                continue;
            }
            delivered |= self.deliver(sub, subject, reply, header_len, payload);
        }
        for group in result.qsubs.iter() {
            if group.is_empty() {
                continue;
            }
            // Pick a random member; if it cannot take the message, try the next ones.
            let start = rand::thread_rng().gen_range(0..group.len());
            for i in 0..group.len() {
                let sub = &group[(start + i) % group.len()];
                if !echo && Arc::ptr_eq(&sub.client, &self.client) {
                    self.trace_egress(sub, crate::msgtrace::ERR_NO_ECHO);
                    continue;
                }
                if self.deliver(sub, subject, reply, header_len, payload) {
                    delivered = true;
                    break;
                }
            }
        }
        delivered
    }

    /// Tells a requester nobody listens: a 503 status on its reply subscription, when the
    /// client asked for it in CONNECT.
    fn no_responders(&mut self, msg: &PubMsg) {
        let Some(reply) = msg.reply.as_deref() else {
            return;
        };
        if !self.connect.no_responders {
            return;
        }
        let r = self.acc.sublist.match_bytes(reply);
        let Some(sub) = r
            .psubs
            .iter()
            .find(|s| Arc::ptr_eq(&s.client, &self.client))
        else {
            return;
        };
        let mut hdr = Vec::with_capacity(NO_RESPONDERS_HDR.len() + msg.subject.len() + 4);
        hdr.extend_from_slice(NO_RESPONDERS_HDR);
        hdr.extend_from_slice(&msg.subject);
        hdr.extend_from_slice(b"\r\n\r\n");
        let sid = sub.sid.clone();
        let q = self
            .client
            .queue_msg(|b| encode::hmsg(b, reply, &sid, None, hdr.len(), &hdr), 0);
        self.after_deliver_queue(&self.client.clone(), q);
    }

    /// Appends one message to a subscriber's outbound buffer. False if it was not delivered
    /// (closed connection, auto-unsubscribe limit passed, slow consumer).
    fn deliver(
        &mut self,
        sub: &SubRef,
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
    ) -> bool {
        if self.msg_trace.as_ref().is_some_and(|t| t.trace_only)
            && sub.client.kind() != crate::protocol::parser::ConnKind::System
        {
            return self.trace_only_delivery(sub, subject);
        }
        let d = match super::try_queue_delivery(
            sub,
            subject,
            reply,
            header_len,
            payload,
            self.client.cid,
            &mut self.expired,
        ) {
            Ok(d) => d,
            Err(why) => {
                if self.msg_trace.is_some() {
                    self.trace_egress(sub, crate::msgtrace::not_queued_error(why));
                }
                return false;
            }
        };
        let (client, sid, hdr, data) = (&sub.client, &sub.sid, d.header_len, d.data);
        let q = d.queued;
        if self.msg_trace.is_some() {
            let err = match q {
                Queued::Closed => crate::msgtrace::ERR_CLIENT_CLOSED,
                _ => "",
            };
            self.trace_egress(sub, err);
        }
        let ok = self.after_deliver_queue(client, q);
        if ok && self.trace {
            self.trace_delivery(client, subject, sid, reply, hdr, data);
        }
        if ok {
            // What went out: without the headers for a subscriber that does not take them,
            // matching the connection's own count (and Go's).
            self.batch_out_msgs += 1;
            self.batch_out_bytes += data.len() as u64;
        }
        ok
    }

    fn after_deliver_queue(&mut self, client: &Arc<Client>, q: Queued) -> bool {
        match q {
            Queued::Appended => true,
            Queued::WakeWriter => {
                self.touched.push(client.clone());
                true
            }
            Queued::Closed => false,
            Queued::SlowConsumer => {
                crate::notice!(
                    self.server.logging,
                    "{} - Slow Consumer Detected: MaxPending of {} Exceeded",
                    client.label(),
                    client.max_pending()
                );
                self.server
                    .stats
                    .slow_consumers
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(acc) = client.account() {
                    acc.slow_consumers.fetch_add(1, Ordering::Relaxed);
                }
                self.server
                    .close_client(client, ClosedState::SlowConsumerPendingBytes, false);
                false
            }
        }
    }

    /// End of a read batch: wake each touched writer once, apply auto-unsubscribes, and
    /// publish the batch's counters.
    fn end_batch(&mut self) {
        // Activity for monitoring: the publisher's messages and (un)subscriptions, and a
        // delivery to each subscriber woken. One clock read per batch.
        let activity_now =
            (self.batch_in_msgs > 0 || self.batch_subs > 0 || !self.touched.is_empty())
                .then(crate::monitor::gotime::now_nanos);
        if self.batch_in_msgs > 0 || self.batch_subs > 0 {
            self.ping.on_activity(Instant::now());
            self.batch_subs = 0;
            if let Some(now) = activity_now {
                self.client.activity.touch(now);
            }
        }
        for c in self.touched.drain(..) {
            if let Some(now) = activity_now {
                c.activity.touch(now);
            }
            c.wake_writer();
        }
        for sub in self.expired.drain(..) {
            self.server.unsubscribe(&sub);
        }
        if self.batch_in_msgs > 0 {
            let s = &self.server.stats;
            s.in_msgs.fetch_add(self.batch_in_msgs, Ordering::Relaxed);
            s.in_bytes.fetch_add(self.batch_in_bytes, Ordering::Relaxed);
            self.acc
                .received
                .add(self.batch_in_msgs, self.batch_in_bytes);
            self.client
                .in_msgs
                .fetch_add(self.batch_in_msgs, Ordering::Relaxed);
            self.client
                .in_bytes
                .fetch_add(self.batch_in_bytes, Ordering::Relaxed);
            self.batch_in_msgs = 0;
            self.batch_in_bytes = 0;
        }
        if self.batch_out_msgs > 0 {
            let s = &self.server.stats;
            s.out_msgs.fetch_add(self.batch_out_msgs, Ordering::Relaxed);
            s.out_bytes
                .fetch_add(self.batch_out_bytes, Ordering::Relaxed);
            // Subscribers are in the publisher's account (no imports yet).
            self.acc.sent.add(self.batch_out_msgs, self.batch_out_bytes);
            self.batch_out_msgs = 0;
            self.batch_out_bytes = 0;
        }
    }

    /// The PING timer fired: ping the client unless it was recently heard from, and close it
    /// as stale when too many PINGs went unanswered.
    fn ping_timer(&mut self) -> Result<(), ClosedState> {
        self.trace = self.server.logging.is_trace();
        match self.ping.fire(Instant::now()) {
            PingAction::Skip => Ok(()),
            PingAction::Stale => {
                crate::debug!(
                    self.server.logging,
                    "{} - Stale Client Connection - Closing",
                    self.client.label()
                );
                self.send_err("Stale Connection");
                self.server
                    .stats
                    .stale_connections
                    .fetch_add(1, Ordering::Relaxed);
                Err(ClosedState::StaleConnection)
            }
            PingAction::SendPing => {
                self.client
                    .activity
                    .on_ping_sent(crate::monitor::gotime::now_nanos());
                self.send_out_proto("PING", encode::PING);
                Ok(())
            }
        }
    }

    /// The first PING after CONNECT comes sooner (unless `disable_short_first_ping`), spread
    /// by up to 20% so many clients don't ping in lockstep.
    fn first_ping_interval(&self) -> Duration {
        let opts = &self.server.opts();
        let mut first = opts.ping_interval;
        if !opts.disable_short_first_ping && first > FIRST_CLIENT_PING_INTERVAL {
            first = FIRST_CLIENT_PING_INTERVAL;
        }
        let jitter_ns = u64::try_from(first.as_nanos() / 5).unwrap_or(u64::MAX);
        if jitter_ns > 0 {
            first += Duration::from_nanos(rand::thread_rng().gen_range(0..jitter_ns));
        }
        first
    }
}

/// Message tracing (see `crate::msgtrace`): the reader's side.
impl Reader {
    /// Starts tracing `msg` when its headers ask for it (Go's `initMsgTrace`). True when
    /// the message must be dropped.
    fn start_msg_trace(&mut self, msg: &mut PubMsg) -> bool {
        let Some(hdr_len) = msg.header_len else {
            return false;
        };
        let hdr = &msg.payload[..hdr_len.min(msg.payload.len())];
        // The one header scan every message with headers pays; the rest only when traced.
        if crate::msgtrace::detect(hdr).is_none() {
            return false;
        }
        let r = self.init_msg_trace(hdr, &msg.subject, msg.payload.len(), None);
        if r.disable_header {
            let (m, n) = crate::msgtrace::disable_trace_dest(&msg.payload, hdr_len);
            msg.payload = Bytes::from(m);
            msg.header_len = Some(n);
        }
        self.msg_trace = r.trace;
        r.skip
    }

    /// An HPUB over `max_payload`: traced with the ingress error when its header (as far
    /// as it arrived) asks for it.
    fn trace_oversized(&mut self, hpub: &crate::protocol::parser::OversizedHpub) {
        if hpub.header.is_empty() {
            return;
        }
        let err = Some(crate::msgtrace::ERR_MAX_PAYLOAD);
        self.msg_trace = self
            .init_msg_trace(&hpub.header, &hpub.subject, hpub.size, err)
            .trace;
        self.send_msg_trace();
    }

    fn init_msg_trace(
        &mut self,
        hdr: &[u8],
        subject: &[u8],
        size: usize,
        ingress_error: Option<&str>,
    ) -> crate::msgtrace::InitResult {
        let name = self.client.connect_opts().name;
        let incoming = crate::msgtrace::Incoming {
            hdr,
            subject,
            size,
            cid: self.client.cid,
            name: &name,
        };
        let host = TraceHost {
            server: &self.server,
            acc: &self.acc,
            perms: self.perms.as_deref(),
        };
        let r = crate::msgtrace::init(incoming, &self.acc, ingress_error, &host);
        if let Some(e) = &r.log_error {
            crate::error!(self.server.logging, "{} - {}", self.client.label(), e);
        }
        if let Some(dest) = &r.dest_denied {
            self.publish_violation_untraced(&PublishViolation::Subject(dest.as_bytes()));
        }
        r
    }

    /// Records `sub` as an egress of the traced message (internal subscriptions are not
    /// reported, as in Go).
    fn trace_egress(&mut self, sub: &SubRef, err: &str) {
        let Some(t) = self.msg_trace.as_mut() else {
            return;
        };
        let client = &sub.client;
        if client.kind() == crate::protocol::parser::ConnKind::System {
            return;
        }
        let name = client.connect_opts().name;
        t.add_egress(
            crate::msgtrace::Subscriber {
                kind: crate::msgtrace::KIND_CLIENT,
                cid: client.cid,
                name: &name,
                account: &sub.account.name,
                subject: &sub.subject,
                queue: sub.queue.as_deref(),
            },
            err,
        );
    }

    /// A trace-only message reaches `sub`: reported, not sent (and not counted against an
    /// auto-unsubscribe limit). A subscriber whose permissions deny the subject is
    /// reported as such.
    fn trace_only_delivery(&mut self, sub: &SubRef, subject: &[u8]) -> bool {
        if super::delivery_denied(sub, subject) {
            self.trace_egress(sub, crate::msgtrace::ERR_SUB_DENY);
            return false;
        }
        if sub.is_closed() {
            self.trace_egress(sub, crate::msgtrace::ERR_SUB_CLOSED);
            return false;
        }
        self.trace_egress(sub, "");
        true
    }

    /// Publishes the traced message's event to its destination, in its account, as the
    /// server (Go sends it from the system's internal client).
    fn send_msg_trace(&mut self) {
        let Some(t) = self.msg_trace.take() else {
            return;
        };
        let Some(sys) = self.server.events.system() else {
            return;
        };
        let (acc, dest) = (t.account.clone(), t.dest.clone());
        let (hdr, body) = t.finish_encoded(sys.server_info(&self.server));
        sys.publish_raw(&self.server, &acc, &dest, None, hdr.as_deref(), &body);
    }
}

/// What tracing asks of the server for one client's message.
struct TraceHost<'a> {
    server: &'a ServerShared,
    acc: &'a crate::account::Account,
    perms: Option<&'a crate::auth::ClientPerms>,
}

impl crate::msgtrace::InitHost for TraceHost<'_> {
    fn account_dest(&self) -> (String, i64) {
        let opts = self.server.opts();
        opts.accounts
            .iter()
            .find(|a| a.name == self.acc.name)
            .map(|a| (a.trace_dest.clone(), a.trace_dest_sampling))
            .unwrap_or_default()
    }

    fn sample(&self, sampling: i64) -> bool {
        crate::msgtrace::sampled(sampling, rand::thread_rng().gen_range(0..100))
    }

    /// The reserved subjects a client may not publish to, and its publish permissions.
    fn dest_allowed(&self, dest: &str) -> bool {
        let in_system_account = self.server.accounts.is_system(self.acc);
        check_reserved(dest.as_bytes(), None, in_system_account).is_ok()
            && self
                .perms
                .is_none_or(|p| p.pub_allowed(dest, Instant::now()))
    }
}

/// How Go's JSON decoder names a value it cannot put into a struct.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{check_reserved, PublishViolation};

    #[test]
    fn reserved_subjects_and_replies() {
        assert_eq!(check_reserved(b"foo", Some(b"bar"), false), Ok(()));
        assert_eq!(
            check_reserved(b"_GR_.x", None, false),
            Err(PublishViolation::Subject(b"_GR_.x"))
        );
        // The bare prefix is not a reserved subject.
        assert_eq!(check_reserved(b"_GR_.", None, false), Ok(()));
        assert_eq!(
            check_reserved(b"$NRG.x", None, false),
            Err(PublishViolation::Subject(b"$NRG.x"))
        );
        // Clients of the system account may publish to $NRG subjects, not to _GR_.
        assert_eq!(check_reserved(b"$NRG.x", None, true), Ok(()));
        assert_eq!(
            check_reserved(b"_GR_.x", None, true),
            Err(PublishViolation::Subject(b"_GR_.x"))
        );
        for r in [&b"_R_.a"[..], b"$JS.ACK.s.c.1", b"_GR_.abc"] {
            assert_eq!(
                check_reserved(b"foo", Some(r), false),
                Err(PublishViolation::Reply(r))
            );
        }
        assert_eq!(check_reserved(b"foo", Some(b"_INBOX.x"), false), Ok(()));
    }

    use crate::config::Options;
    use crate::server::BackgroundServer;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    fn ping_server() -> BackgroundServer {
        BackgroundServer::start(Options {
            host: "127.0.0.1".to_string(),
            port: -1,
            no_log: true,
            no_sigs: true,
            ping_interval: Duration::from_millis(50),
            disable_short_first_ping: true,
            ..Options::default()
        })
        .unwrap()
    }

    fn read_line(r: &mut BufReader<TcpStream>) -> String {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        l
    }

    /// A second CONNECT drops the subscriptions made before it.
    #[test]
    fn repeated_connect_drops_subscriptions() {
        let srv = ping_server();
        let mut w = TcpStream::connect(srv.addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut r = BufReader::new(w.try_clone().unwrap());
        assert!(read_line(&mut r).starts_with("INFO "));
        w.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPING\r\n")
            .unwrap();
        assert_eq!(read_line(&mut r), "PONG\r\n");
        let global = srv.shared().global_account().clone();
        assert_eq!(global.sublist.match_subject("foo").psubs.len(), 1);
        w.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
            .unwrap();
        assert_eq!(read_line(&mut r), "PONG\r\n");
        assert!(global.sublist.match_subject("foo").psubs.is_empty());
        assert!(srv.shared().clients()[0].subs.lock().is_empty());
    }

    /// Once the RTT is known, a PONG alone is no activity: PINGs keep their interval.
    #[test]
    fn pong_does_not_delay_the_next_ping() {
        let srv = ping_server();
        let mut w = TcpStream::connect(srv.addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut r = BufReader::new(w.try_clone().unwrap());
        assert!(read_line(&mut r).starts_with("INFO "));
        w.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
            .unwrap();
        assert_eq!(read_line(&mut r), "PONG\r\n");
        assert_eq!(read_line(&mut r), "PING\r\n");
        for _ in 0..2 {
            w.write_all(b"PONG\r\n").unwrap();
            let start = Instant::now();
            assert_eq!(read_line(&mut r), "PING\r\n");
            assert!(
                start.elapsed() < Duration::from_millis(80),
                "{:?}",
                start.elapsed()
            );
        }
    }

    /// A client that keeps pinging (or publishing) needs no PINGs from the server.
    #[test]
    fn client_activity_delays_pings() {
        let srv = ping_server();
        let mut w = TcpStream::connect(srv.addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut r = BufReader::new(w.try_clone().unwrap());
        assert!(read_line(&mut r).starts_with("INFO "));
        w.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
        assert_eq!(read_line(&mut r), "PING\r\n");
        w.write_all(b"PONG\r\n").unwrap();
        for i in 0..10 {
            let op: &[u8] = if i % 2 == 0 {
                b"PING\r\n"
            } else {
                b"PUB x 0\r\n\r\nPING\r\n"
            };
            w.write_all(op).unwrap();
            assert_eq!(read_line(&mut r), "PONG\r\n");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
