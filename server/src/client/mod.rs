//! One client connection: shared state that publishers deliver into, a reader task that
//! parses and processes what the client sends, and a writer task that drains the outbound
//! buffer to the socket.

pub mod connect;
pub mod header;
pub mod outbound;
pub mod ping;
mod reader;
#[cfg(test)]
mod tests;
pub mod tls_conn;
pub mod trace;

use crate::account::Account;
use crate::closed::ClosedState;
use crate::config::options::WriteTimeoutPolicy;
use crate::protocol::encode;
use bytes::{Bytes, BytesMut};
use connect::ConnectInfo;
use outbound::{Outbound, Queued};
use parking_lot::Mutex;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long after accept a client that has not had its first PONG may still be spared an
/// RTT PING (Go's `maxNoRTTPingBeforeFirstPong`).
pub const MAX_NO_RTT_PING_BEFORE_FIRST_PONG: Duration = Duration::from_secs(2);

pub use reader::{run_connection, run_stream, set_read_loop_report_threshold};

/// The part of a connection other tasks touch: publishers append to `out`, the server
/// closes it. Everything the reader alone needs stays in the reader.
#[derive(Debug)]
pub struct Client {
    pub cid: u64,
    /// A connection from a client, or one of the server's internal clients.
    kind: crate::protocol::parser::ConnKind,
    pub host: String,
    pub port: u16,
    pub start: Instant,
    out: Mutex<Outbound>,
    /// Wakes the writer: bytes were queued, or the connection is closing.
    writer_wake: Notify,
    /// Wakes the reader when the connection is closed by someone else.
    reader_kill: Notify,
    closed: AtomicBool,
    /// See [`Client::accepts_async_info`].
    async_info: AtomicBool,
    /// See [`Client::is_slow_consumer`].
    slow_consumer: AtomicBool,
    /// See [`Client::write_timeout_policy`].
    write_timeout: std::sync::OnceLock<WriteTimeoutPolicy>,
    /// Whether the writer should write what is still queued before closing the socket.
    flush_on_close: AtomicBool,
    close_reason: Mutex<Option<ClosedState>>,
    /// Deliver this client's own publishes back to it (CONNECT `echo`).
    echo: AtomicBool,
    /// The client accepts HMSG (CONNECT `headers`).
    headers: AtomicBool,
    pub(crate) subs: Mutex<HashMap<Bytes, Arc<Subscription>>>,
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    /// The options of the last CONNECT, applied over the previous ones (Go's `c.opts`).
    opts: Mutex<ConnectInfo>,
    /// How log lines name this connection (Go's `c.ncs`).
    label: Mutex<String>,
    /// Start, last activity and RTT, as monitoring reports them.
    pub activity: crate::monitor::ClientActivity,
    /// This connection's own write deadline in nanoseconds; 0 means the server's.
    write_deadline_ns: AtomicU64,
    /// Nonce and permissions (see `crate::auth`).
    pub auth: crate::auth::ClientAuth,
    /// What the TLS handshake established (TLS connections only).
    pub tls: std::sync::OnceLock<crate::tls::TlsState>,
    /// See [`Client::set_implied_user`].
    implied_user: std::sync::OnceLock<String>,
    /// The client's address from a PROXY protocol header, when a proxy sent one.
    proxied: std::sync::OnceLock<(String, u16)>,
    /// The account the client is bound to (the server binds every client it registers).
    account: Mutex<Option<Arc<Account>>>,
    /// See [`Client::connect_received`].
    connect_received: AtomicBool,
    /// The PONG answering the client's first PING has gone out (see `send_rtt_ping`).
    first_pong_sent: AtomicBool,
}

impl Client {
    pub fn new(cid: u64, host: String, port: u16, max_pending: usize) -> Self {
        Client {
            cid,
            kind: crate::protocol::parser::ConnKind::Client,
            port,
            start: Instant::now(),
            out: Mutex::new(Outbound::new(max_pending)),
            writer_wake: Notify::new(),
            reader_kill: Notify::new(),
            closed: AtomicBool::new(false),
            async_info: AtomicBool::new(false),
            slow_consumer: AtomicBool::new(false),
            write_timeout: std::sync::OnceLock::new(),
            flush_on_close: AtomicBool::new(true),
            close_reason: Mutex::new(None),
            echo: AtomicBool::new(true),
            headers: AtomicBool::new(false),
            subs: Mutex::new(HashMap::new()),
            in_msgs: AtomicU64::new(0),
            in_bytes: AtomicU64::new(0),
            opts: Mutex::new(ConnectInfo::default()),
            activity: crate::monitor::ClientActivity::new(),
            write_deadline_ns: AtomicU64::new(0),
            auth: crate::auth::ClientAuth::default(),
            tls: std::sync::OnceLock::new(),
            proxied: std::sync::OnceLock::new(),
            implied_user: std::sync::OnceLock::new(),
            account: Mutex::new(None),
            connect_received: AtomicBool::new(false),
            first_pong_sent: AtomicBool::new(false),
            label: Mutex::new(format!(
                "{} - cid:{cid}",
                crate::server::join_host_port(&host, port)
            )),
            host,
        }
    }

    /// The same client, of another kind (the server's internal clients).
    pub fn with_kind(mut self, kind: crate::protocol::parser::ConnKind) -> Self {
        self.kind = kind;
        if kind == crate::protocol::parser::ConnKind::System {
            // Go names the system client so in its log lines.
            *self.label.get_mut() = "SYSTEM".to_string();
        }
        self
    }

    /// Whether protocol tracing covers this connection: the system client only with
    /// `trace_verbose` (Go's `traceSysAcc`).
    pub fn traced(&self, logging: &crate::logging::Logging) -> bool {
        logging.is_trace()
            && (self.kind != crate::protocol::parser::ConnKind::System
                || logging.is_trace_sys_acc())
    }

    /// What kind of connection this is (Go's `c.kind`).
    pub fn kind(&self) -> crate::protocol::parser::ConnKind {
        self.kind
    }

    /// The account the client is bound to, once the server has registered it.
    pub fn account(&self) -> Option<Arc<Account>> {
        self.account.lock().clone()
    }

    /// Who the client authenticated as, as monitoring shows it (Go's `getRawAuthUser`):
    /// its nkey, its user name, `[REDACTED]` for a token, or empty.
    pub fn raw_auth_user(&self) -> String {
        if let Some(u) = self.implied_user.get() {
            return u.clone();
        }
        let o = self.opts.lock();
        if !o.nkey.is_empty() {
            o.nkey.clone()
        } else if !o.user.is_empty() {
            o.user.clone()
        } else if !o.auth_token.is_empty() {
            "[REDACTED]".to_string()
        } else {
            String::new()
        }
    }

    /// Records the `no_auth_user` (user name or nkey) a client without credentials became;
    /// Go writes it into the client's CONNECT options, which monitoring and events read.
    pub fn set_implied_user(&self, user: String) {
        let _ = self.implied_user.set(user);
    }

    /// The name of the client's account (`$G` until bound).
    pub fn account_name(&self) -> String {
        self.account.lock().as_ref().map_or_else(
            || crate::account::GLOBAL_ACCOUNT.to_string(),
            |a| a.name.clone(),
        )
    }

    /// Binds the client to `acc` (at registration, and when it authenticates as a user of
    /// another account).
    pub fn bind_account(&self, acc: Arc<Account>) {
        *self.account.lock() = Some(acc);
    }

    /// How log lines name this connection: `host:port - cid:N` (IPv6 hosts in brackets),
    /// followed after the first CONNECT by what the client said about itself, as Go does.
    pub fn label(&self) -> String {
        self.label.lock().clone()
    }

    /// Adds `"v<version>:<lang>:<name>"` (the parts the client gave) to the label; called
    /// on the first CONNECT only, as Go does.
    pub(crate) fn label_with_client_info(&self, opts: &ConnectInfo) {
        let parts: Vec<String> = [
            (!opts.version.is_empty()).then(|| format!("v{}", opts.version)),
            (!opts.lang.is_empty()).then(|| opts.lang.clone()),
            (!opts.name.is_empty()).then(|| opts.name.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            return;
        }
        let mut label = self.label.lock();
        label.push_str(" - ");
        crate::protocol::parser::go_quote_into(&mut label, parts.join(":").as_bytes());
    }

    /// Adds who the client authenticated as, `"$G/user:x"` (account, then user), to the
    /// label after the client info; called on the first CONNECT only, as Go does.
    pub(crate) fn label_with_auth_user(&self, user: &str) {
        let mut label = self.label.lock();
        label.push_str(" - ");
        crate::protocol::parser::go_quote_into(
            &mut label,
            format!("{}/{user}", self.account_name()).as_bytes(),
        );
    }

    /// The write deadline set for this connection alone, if any.
    pub fn write_deadline(&self) -> Option<Duration> {
        match self.write_deadline_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Gives this connection its own write deadline (Go's `c.out.wdl`), from its next write.
    pub fn set_write_deadline(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.write_deadline_ns.store(ns, Ordering::Relaxed);
    }

    /// The options of the CONNECTs received so far (Go's defaults before the first).
    pub fn connect_opts(&self) -> ConnectInfo {
        self.opts.lock().clone()
    }

    pub(crate) fn set_connect_opts(&self, opts: ConnectInfo) {
        *self.opts.lock() = opts;
        self.connect_received.store(true, Ordering::Release);
    }

    /// Marks the first PONG as sent (the reader does, once).
    pub(crate) fn set_first_pong_sent(&self) {
        self.first_pong_sent.store(true, Ordering::Release);
    }

    /// Sends a PING to measure the round trip, as Go's `sendRTTPing`: only once the client
    /// has had its first PONG (most clients send CONNECT+PING and wait for it) or
    /// [`MAX_NO_RTT_PING_BEFORE_FIRST_PONG`] after it connected, so a client still setting
    /// up is not sent a PING it does not expect. Returns whether the PING went out.
    ///
    /// The reader's PING accounting does not count it; its PONG updates the RTT.
    pub fn send_rtt_ping(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        if !self.first_pong_sent.load(Ordering::Acquire)
            && self.start.elapsed() <= MAX_NO_RTT_PING_BEFORE_FIRST_PONG
        {
            return false;
        }
        self.activity
            .on_ping_sent(crate::monitor::gotime::now_nanos());
        self.send_proto(encode::PING);
        true
    }

    /// Whether the client has sent CONNECT.
    pub fn connect_received(&self) -> bool {
        self.connect_received.load(Ordering::Acquire)
    }

    /// Whether the server may send this client INFO updates (lame duck mode): it speaks
    /// protocol 1 or later and has had the PONG to its first PING, as Go requires.
    pub fn accepts_async_info(&self) -> bool {
        self.async_info.load(Ordering::Acquire)
    }

    /// What this connection does when a write misses its deadline (Go's `c.out.wtp`):
    /// the server's `write_timeout`, where "default" means close for clients.
    pub fn write_timeout_policy(&self) -> WriteTimeoutPolicy {
        self.write_timeout
            .get()
            .copied()
            .unwrap_or(WriteTimeoutPolicy::Close)
    }

    pub(crate) fn set_write_timeout_policy(&self, p: WriteTimeoutPolicy) {
        let _ = self.write_timeout.set(p);
    }

    /// A write missed its deadline and the connection stayed up (retry policy).
    pub fn is_slow_consumer(&self) -> bool {
        self.slow_consumer.load(Ordering::Acquire)
    }

    pub(crate) fn mark_slow_consumer(&self) {
        self.slow_consumer.store(true, Ordering::Release)
    }

    pub(crate) fn set_accepts_async_info(&self) {
        self.async_info.store(true, Ordering::Release)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub fn close_reason(&self) -> Option<ClosedState> {
        *self.close_reason.lock()
    }

    pub fn echo(&self) -> bool {
        self.echo.load(Ordering::Relaxed)
    }

    pub(crate) fn set_echo(&self, on: bool) {
        self.echo.store(on, Ordering::Relaxed)
    }

    pub fn headers(&self) -> bool {
        self.headers.load(Ordering::Relaxed)
    }

    pub(crate) fn set_headers(&self, on: bool) {
        self.headers.store(on, Ordering::Relaxed)
    }

    /// Holds this connection's outbound buffer (Go's client lock, as far as delivery is
    /// concerned): publishers delivering to it wait until the guard is dropped. For tests
    /// that stall a subscriber on purpose.
    #[doc(hidden)]
    pub fn lock_outbound(&self) -> parking_lot::MutexGuard<'_, Outbound> {
        self.out.lock()
    }

    /// Bytes queued for this client and not yet written.
    pub fn pending_bytes(&self) -> usize {
        self.out.lock().pending()
    }

    /// Messages and bytes delivered to this client.
    pub fn out_stats(&self) -> (u64, u64) {
        let o = self.out.lock();
        (o.msgs, o.bytes)
    }

    pub fn num_subs(&self) -> usize {
        self.subs.lock().len()
    }

    /// Queues a protocol line and wakes the writer at once (not on the delivery hot path).
    /// Returns false if the connection turned out to be a slow consumer.
    pub fn send_proto(&self, data: &[u8]) -> bool {
        let q = self.out.lock().queue(data);
        self.after_queue(q)
    }

    /// Queues `-ERR '<text>'`.
    pub fn send_err(&self, text: &str) -> bool {
        let mut b = BytesMut::with_capacity(text.len() + 9);
        encode::err(&mut b, text);
        self.send_proto(&b)
    }

    fn after_queue(&self, q: Queued) -> bool {
        match q {
            Queued::WakeWriter => {
                self.writer_wake.notify_one();
                true
            }
            Queued::Appended => true,
            Queued::Closed => false,
            Queued::SlowConsumer => false,
        }
    }

    /// Appends an encoded message for delivery. The caller wakes the writer (once per batch)
    /// when this returns `Queued::WakeWriter`.
    pub(crate) fn queue_msg(
        &self,
        encode: impl FnOnce(&mut BytesMut),
        payload_len: usize,
    ) -> Queued {
        let mut out = self.out.lock();
        let q = out.queue_with(encode);
        if matches!(q, Queued::Appended | Queued::WakeWriter) {
            out.msgs += 1;
            out.bytes += payload_len as u64;
        }
        q
    }

    /// The connection's subscriptions.
    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.subs.lock().values().cloned().collect()
    }

    /// Closes the outbound side only, as a connection is between being marked closed
    /// and losing its subscriptions: deliveries to it fail. For tests (Go's tests set the
    /// connection's closed flag directly).
    #[doc(hidden)]
    pub fn close_outbound(&self) {
        self.out.lock().close();
        self.writer_wake.notify_one();
    }

    pub(crate) fn wake_writer(&self) {
        self.writer_wake.notify_one();
    }

    /// For a connection without a socket (the server's internal system client): takes
    /// everything queued into `into` as if written. Returns whether the connection is
    /// closed.
    pub(crate) fn take_queued(&self, into: &mut BytesMut) -> bool {
        let mut out = self.out.lock();
        out.take(into);
        out.written(into.len());
        out.is_closed()
    }

    /// Waits until something is queued or the connection closes (socketless connections).
    pub(crate) async fn queued(&self) {
        self.writer_wake.notified().await
    }

    pub(crate) fn max_pending(&self) -> usize {
        self.out.lock().max_pending()
    }

    /// Marks the connection closed. Returns true for the caller that actually closed it, who
    /// then owns the cleanup (subscriptions, registry). `flush` lets the writer send what is
    /// queued (e.g. a final -ERR) before the socket closes.
    pub(crate) fn mark_closed(&self, reason: ClosedState, flush: bool) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        *self.close_reason.lock() = Some(reason);
        self.flush_on_close.store(flush, Ordering::Release);
        self.out.lock().close();
        self.writer_wake.notify_one();
        self.reader_kill.notify_one();
        true
    }
}

/// The client's address behind a proxy (PROXY protocol).
impl Client {
    /// Records the client's address from a PROXY header (once per connection). Log lines
    /// keep the socket's address, as nats-server's do.
    pub(crate) fn set_proxied_addr(&self, host: String, port: u16) {
        let _ = self.proxied.set((host, port));
    }

    /// The client's host as connz and INFO `client_ip` report it: the PROXY header's
    /// source if a proxy sent one, else the socket's peer (nats-server's `c.host`).
    pub fn remote_host(&self) -> &str {
        self.proxied.get().map_or(&self.host, |(h, _)| h)
    }

    /// The client's port, as [`Client::remote_host`].
    pub fn remote_port(&self) -> u16 {
        self.proxied.get().map_or(self.port, |(_, p)| *p)
    }

    /// Returns once the connection is closed (before its reader runs).
    pub(crate) async fn wait_closed(&self) {
        loop {
            let notified = self.reader_kill.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

/// A subscription as stored in the sublist. Compared by identity.
#[derive(Debug)]
pub struct Subscription {
    pub client: Arc<Client>,
    /// The account whose sublist holds the subscription.
    pub account: Arc<Account>,
    pub subject: Bytes,
    pub queue: Option<Bytes>,
    pub sid: Bytes,
    /// Auto-unsubscribe after this many deliveries; 0 means no limit.
    pub max: AtomicU64,
    pub delivered: AtomicU64,
    /// Removed: a match result taken just before must not deliver to it (Go's
    /// `sub.isClosed`).
    pub closed: AtomicBool,
}

impl Subscription {
    /// Marks the subscription removed (Go's `sub.close`).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Subject and queue as the sublist keys them (they were valid UTF-8 when inserted,
    /// so this borrows).
    pub fn sublist_key(&self) -> (Cow<'_, str>, Option<Cow<'_, str>>) {
        (
            String::from_utf8_lossy(&self.subject),
            self.queue.as_deref().map(String::from_utf8_lossy),
        )
    }
}

/// What [`queue_delivery`] queued: the header length and body that went out (without the
/// headers for a subscriber that does not take them).
pub(crate) struct QueuedDelivery<'a> {
    pub queued: Queued,
    pub header_len: Option<usize>,
    pub data: &'a [u8],
}

/// Queues one message for `sub`'s connection (Go's `deliverMsg` up to the write), for the
/// reader's publishes and the server's own alike. `None` when it is not delivered: the
/// subscriber's deny list refuses the subject, or its auto-unsubscribe limit is passed.
/// A subscription reaching its limit is pushed onto `expired`; a reply subject is
/// remembered for a subscriber with response permissions. `publisher` is the cid of the
/// publishing client, 0 for the server itself.
#[inline]
pub(crate) fn queue_delivery<'a>(
    sub: &SubRef,
    subject: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    payload: &'a [u8],
    publisher: u64,
    expired: &mut Vec<SubRef>,
) -> Option<QueuedDelivery<'a>> {
    try_queue_delivery(sub, subject, reply, header_len, payload, publisher, expired).ok()
}

/// Why [`try_queue_delivery`] did not queue a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotQueued {
    /// The subscriber's deny list refuses the subject.
    SubDeny,
    /// The subscription's auto-unsubscribe limit is passed.
    AutoUnsubExceeded,
    /// The subscription was removed after the subscribers were matched.
    SubClosed,
}

/// Whether `sub`'s connection may not receive `subject` (a subscribe deny clause).
#[inline]
pub(crate) fn delivery_denied(sub: &SubRef, subject: &[u8]) -> bool {
    sub.client.auth.perms().is_some_and(|p| {
        p.has_sub_deny() && {
            let q = sub.queue.as_deref().map(String::from_utf8_lossy);
            p.delivery_denied(&String::from_utf8_lossy(subject), q.as_deref())
        }
    })
}

/// [`queue_delivery`], saying why a message was not queued (message tracing reports it).
#[inline]
pub(crate) fn try_queue_delivery<'a>(
    sub: &SubRef,
    subject: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    payload: &'a [u8],
    publisher: u64,
    expired: &mut Vec<SubRef>,
) -> Result<QueuedDelivery<'a>, NotQueued> {
    let client = &sub.client;
    if delivery_denied(sub, subject) {
        return Err(NotQueued::SubDeny);
    }
    if sub.is_closed() {
        return Err(NotQueued::SubClosed);
    }
    if let Some(p) = client.auth.perms() {
        if let Some(r) = reply.filter(|_| p.tracks_replies()) {
            p.track_reply(&String::from_utf8_lossy(r), Instant::now());
        }
    }
    let max = sub.max.load(Ordering::Relaxed);
    let n = sub.delivered.fetch_add(1, Ordering::Relaxed) + 1;
    if max > 0 {
        if n > max {
            return Err(NotQueued::AutoUnsubExceeded);
        }
        if n == max {
            expired.push(sub.clone());
        }
    }
    // The server's internal client learns who published (its handlers answer about the
    // requester, as Go's do with the publishing client).
    let tagged;
    let sid: &[u8] = if client.kind() == crate::protocol::parser::ConnKind::System {
        tagged = crate::events::internal::tag_sid(&sub.sid, publisher);
        &tagged
    } else {
        &sub.sid
    };
    // A subscriber without header support gets the body only, as in Go.
    let (hdr, data) = match header_len {
        Some(h) if client.headers() => (Some(h), payload),
        Some(h) => (None, &payload[h.min(payload.len())..]),
        None => (None, payload),
    };
    let queued = match hdr {
        Some(h) => client.queue_msg(
            |b| encode::hmsg(b, subject, sid, reply, h, data),
            data.len(),
        ),
        None => client.queue_msg(|b| encode::msg(b, subject, sid, reply, data), data.len()),
    };
    Ok(QueuedDelivery {
        queued,
        header_len: hdr,
        data,
    })
}

/// Handle stored in the sublist: equality is pointer identity, so two subscriptions with
/// the same subject and sid on different connections stay distinct.
#[derive(Debug, Clone)]
pub struct SubRef(pub Arc<Subscription>);

impl PartialEq for SubRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for SubRef {}

impl std::hash::Hash for SubRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state)
    }
}

impl crate::sublist::SubEntry for SubRef {}

impl std::ops::Deref for SubRef {
    type Target = Subscription;
    fn deref(&self) -> &Subscription {
        &self.0
    }
}
