//! The server's internal client: subscriptions that sit in account sublists like any
//! other, whose deliveries land in a socketless connection's outbound buffer and are
//! handed to handlers; and the internal publish that delivers the server's own messages.

use crate::account::Account;
use crate::client::outbound::Queued;
use crate::client::{Client, SubRef, Subscription};
use crate::closed::ClosedState;
use crate::server::ServerShared;
use bytes::{Buf, Bytes, BytesMut};
use parking_lot::Mutex;
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// One message delivered to an internal subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMsg {
    pub subject: String,
    pub reply: String,
    /// The header block (`NATS/1.0 ...\r\n\r\n`), when the publisher sent one.
    pub header: Option<Bytes>,
    pub payload: Bytes,
    /// The cid of the client that published it; 0 when the server did.
    pub publisher: u64,
}

/// What runs for a message on an internal subscription; `acc` is the account whose
/// sublist holds the subscription (replies go back there).
pub type Handler = Arc<dyn Fn(&Arc<ServerShared>, &Arc<Account>, &InMsg) + Send + Sync>;

/// The internal client and its handlers, by sid.
pub struct InternalClient {
    pub client: Arc<Client>,
    handlers: Mutex<HashMap<Bytes, (Arc<Account>, Handler)>>,
    next_sid: AtomicU64,
    /// Messages this client published (Go's system client `outMsgs`).
    pub published: AtomicU64,
    /// Held while queued frames are taken and handled, so frames run in the order they
    /// were queued whichever thread handles them ([`InternalClient::drain`]).
    dispatching: Mutex<()>,
}

impl std::fmt::Debug for InternalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalClient")
            .field("cid", &self.client.cid)
            .finish()
    }
}

impl InternalClient {
    /// A socketless client bound to `account`; it takes headers and never hears its own
    /// publishes.
    pub fn new(cid: u64, account: Arc<Account>) -> InternalClient {
        let client = Arc::new(
            Client::new(cid, String::new(), 0, usize::MAX)
                .with_kind(crate::protocol::parser::ConnKind::System),
        );
        client.bind_account(account);
        client.set_headers(true);
        client.set_echo(false);
        InternalClient {
            client,
            handlers: Mutex::new(HashMap::new()),
            next_sid: AtomicU64::new(1),
            published: AtomicU64::new(0),
            dispatching: Mutex::new(()),
        }
    }

    /// Subscribes in `account`'s sublist; `handler` runs for each delivery.
    pub fn subscribe(
        &self,
        account: &Arc<Account>,
        subject: &str,
        queue: Option<&str>,
        handler: Handler,
    ) -> Result<Arc<Subscription>, String> {
        let sid = Bytes::from(self.next_sid.fetch_add(1, Ordering::Relaxed).to_string());
        let sub = Arc::new(Subscription {
            client: self.client.clone(),
            account: account.clone(),
            subject: Bytes::copy_from_slice(subject.as_bytes()),
            queue: queue.map(|q| Bytes::copy_from_slice(q.as_bytes())),
            sid: sid.clone(),
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        account
            .sublist
            .insert(subject, queue, SubRef(sub.clone()))
            .map_err(|e| format!("{e:?}"))?;
        self.client.subs.lock().insert(sid.clone(), sub.clone());
        self.handlers.lock().insert(sid, (account.clone(), handler));
        Ok(sub)
    }

    /// Removes an internal subscription; its handler no longer runs.
    pub fn unsubscribe(&self, server: &ServerShared, sub: &Arc<Subscription>) {
        server.unsubscribe(&SubRef(sub.clone()));
        self.handlers.lock().remove(&sub.sid);
    }

    /// Drops every subscription and handler (shutdown).
    pub fn close(&self, server: &ServerShared) {
        // Not through `close_client`: the internal client is no connection to report.
        if self.client.mark_closed(ClosedState::ServerShutdown, false) {
            let subs: Vec<_> = self.client.subs.lock().drain().map(|(_, s)| s).collect();
            for s in subs {
                server.unsubscribe(&SubRef(s));
            }
        }
        self.handlers.lock().clear();
    }

    fn handler(&self, sid: &[u8]) -> Option<(Arc<Account>, Handler)> {
        self.handlers.lock().get(sid).cloned()
    }

    /// Runs, on the calling thread, the handlers of everything queued to this client so
    /// far, after any batch its dispatcher is running. A caller that must see the effect
    /// of messages that reached the server before it (a consumer's acks before an info or
    /// update request from the same connection) drains first. Returns whether the client
    /// is closed, and how many messages were handled.
    pub fn drain(&self, server: &Arc<ServerShared>) -> (bool, usize) {
        self.drain_with(|frames| {
            for (sid, msg) in frames {
                if let Some((acc, h)) = self.handler(&sid) {
                    h(server, &acc, &msg);
                }
            }
        })
    }

    /// As [`InternalClient::drain`], with `process` taking the whole batch of queued
    /// messages (a stream's ingest stores them together). It is not called when nothing
    /// is queued.
    pub fn drain_with(&self, process: impl FnOnce(Vec<(Bytes, InMsg)>)) -> (bool, usize) {
        let _order = self.dispatching.lock();
        let mut buf = BytesMut::new();
        let closed = self.client.take_queued(&mut buf);
        let frames = parse_frames(&mut buf);
        let handled = frames.len();
        if handled > 0 {
            process(frames);
        }
        (closed, handled)
    }
}

/// Waits for the next frames queued to a socketless client: `None` once the client is
/// closed and drained, or the server is gone.
pub(crate) async fn next_frames(
    server: &Weak<ServerShared>,
    client: &Client,
    buf: &mut BytesMut,
) -> Option<(Arc<ServerShared>, Vec<(Bytes, InMsg)>)> {
    loop {
        let closed = client.take_queued(buf);
        if buf.is_empty() {
            if closed {
                return None;
            }
            client.queued().await;
            continue;
        }
        let server = server.upgrade()?;
        let frames = parse_frames(buf);
        buf.clear();
        return Some((server, frames));
    }
}

/// Runs the internal client's "writer": parses the MSG/HMSG frames delivered into its
/// outbound buffer and runs their handlers, until the client is closed.
pub async fn dispatch_loop(server: Weak<ServerShared>, internal: Arc<InternalClient>) {
    let mut buf = BytesMut::new();
    while let Some((server, frames)) = next_frames(&server, &internal.client, &mut buf).await {
        for (sid, msg) in frames {
            if let Some((acc, h)) = internal.handler(&sid) {
                h(&server, &acc, &msg);
            }
        }
    }
}

/// As [`dispatch_loop`], but each batch's handlers run on a blocking thread, in order:
/// for handlers that touch the disk (the JetStream API), so they never stall a runtime
/// worker. Batches are taken through [`InternalClient::drain`], so a caller draining the
/// same client in between keeps the order.
pub async fn dispatch_loop_blocking(server: Weak<ServerShared>, internal: Arc<InternalClient>) {
    loop {
        // Every delivery wakes the client; a wake-up that came while the last batch ran
        // is kept, so nothing queued is left waiting.
        internal.client.queued().await;
        let Some(shared) = server.upgrade() else {
            return;
        };
        let client = internal.clone();
        let batch = tokio::task::spawn_blocking(move || client.drain(&shared));
        // A panicking handler is a bug; the loop keeps serving the next requests.
        if let Ok((true, 0)) = batch.await {
            return;
        }
    }
}

/// The sid written into a frame for the internal client: the subscription's sid and the
/// publisher's cid (`<sid>:<cid>`), split again by [`parse_frames`].
pub fn tag_sid(sid: &[u8], publisher: u64) -> Vec<u8> {
    let mut tagged = Vec::with_capacity(sid.len() + 21);
    tagged.extend_from_slice(sid);
    tagged.push(b':');
    tagged.extend_from_slice(publisher.to_string().as_bytes());
    tagged
}

/// Splits a frame's sid into the subscription's sid and the publisher's cid (0 when the
/// frame carries none).
fn untag_sid(tagged: &[u8]) -> (Bytes, u64) {
    match memchr::memrchr(b':', tagged) {
        Some(i) => (
            Bytes::copy_from_slice(&tagged[..i]),
            parse_usize(&tagged[i + 1..]).unwrap_or_default() as u64,
        ),
        None => (Bytes::copy_from_slice(tagged), 0),
    }
}

/// Splits the frames natsd encoded (`MSG`/`HMSG`) into (sid, message). Anything else is
/// skipped line by line; an incomplete tail is dropped (frames are always whole here).
pub fn parse_frames(buf: &mut BytesMut) -> Vec<(Bytes, InMsg)> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = memchr::memmem::find(buf, b"\r\n") else {
            return out;
        };
        let line = buf.split_to(eol).freeze();
        buf.advance(2);
        let parts: Vec<&[u8]> = line
            .split(|&c| c == b' ')
            .filter(|p| !p.is_empty())
            .collect();
        let (hdr_len, total, reply) = match parts.first().copied() {
            Some(b"MSG") if parts.len() == 4 || parts.len() == 5 => {
                let total = parse_usize(parts[parts.len() - 1]);
                let reply = (parts.len() == 5).then(|| parts[3]);
                (None, total, reply)
            }
            Some(b"HMSG") if parts.len() == 5 || parts.len() == 6 => {
                let n = parts.len();
                let reply = (n == 6).then(|| parts[3]);
                (parse_usize(parts[n - 2]), parse_usize(parts[n - 1]), reply)
            }
            _ => continue,
        };
        let Some(total) = total else { continue };
        if buf.len() < total + 2 {
            buf.clear();
            return out;
        }
        let mut body = buf.split_to(total).freeze();
        buf.advance(2);
        let header = match hdr_len {
            Some(h) if h <= body.len() => Some(body.split_to(h)),
            _ => None,
        };
        let (sid, publisher) = untag_sid(parts[2]);
        out.push((
            sid,
            InMsg {
                subject: String::from_utf8_lossy(parts[1]).into_owned(),
                reply: reply
                    .map(|r| String::from_utf8_lossy(r).into_owned())
                    .unwrap_or_default(),
                header,
                payload: body,
                publisher,
            },
        ));
    }
}

fn parse_usize(b: &[u8]) -> Option<usize> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Delivers a message the server publishes itself into `account`: to every matching
/// subscriber (one member per queue group), never to the internal client (no echo),
/// counting it as a delivery the way a client's publish is counted. Returns how many
/// subscribers got it.
pub fn publish(
    server: &ServerShared,
    internal: &InternalClient,
    account: &Account,
    subject: &str,
    reply: Option<&str>,
    header: Option<&[u8]>,
    payload: &[u8],
) -> usize {
    publish_as(
        server, internal, account, subject, subject, reply, header, payload,
    )
}

/// As [`publish`], but routed by `route` while the delivered message carries `subject`
/// (JetStream deliveries: routed to a consumer's deliver subject or a pull request's
/// inbox, with the stored message's own subject).
#[allow(clippy::too_many_arguments)]
pub fn publish_as(
    server: &ServerShared,
    internal: &InternalClient,
    account: &Account,
    route: &str,
    subject: &str,
    reply: Option<&str>,
    header: Option<&[u8]>,
    payload: &[u8],
) -> usize {
    internal.published.fetch_add(1, Ordering::Relaxed);
    let mut full = Vec::new();
    let data: &[u8] = match header {
        Some(h) => {
            full.extend_from_slice(h);
            full.extend_from_slice(payload);
            &full
        }
        None => payload,
    };
    let trace = server.logging.is_trace();
    if trace && internal.client.traced(&server.logging) {
        trace_publish(server, subject, reply, header.map_or(0, <[u8]>::len), data);
    }
    let mut sink = InternalSink {
        server,
        internal,
        // A JetStream delivery keeps its stored subject wherever it is routed.
        subject: (route != subject).then_some(subject),
        header_len: header.map(<[u8]>::len),
        data,
        trace,
        count: 0,
    };
    let r = reply.map(str::as_bytes);
    sink.deliver(account, route, r);
    if account.has_imports_or_exports() {
        // The routing rules need the account's `Arc` (responses find their way back
        // to it); it is the one registered under its name.
        if let Some(acc) = server
            .accounts
            .lookup(&account.name)
            .filter(|a| std::ptr::eq(Arc::as_ptr(a), account))
        {
            crate::account::routing::route_imports(&mut sink, &acc, route, r);
        }
    }
    sink.count
}

/// The internal client's message, handed to the subscribers of any account.
struct InternalSink<'a> {
    server: &'a ServerShared,
    internal: &'a InternalClient,
    /// The subject delivered messages carry when it is not the one they are routed by.
    subject: Option<&'a str>,
    header_len: Option<usize>,
    data: &'a [u8],
    trace: bool,
    /// Subscribers that got it, over every account.
    count: usize,
}

impl InternalSink<'_> {
    /// Delivers to every matching subscriber of `account` (one member per queue
    /// group), never to the internal client itself; returns how many got it.
    fn deliver(&mut self, account: &Account, route: &str, reply: Option<&[u8]>) -> usize {
        let result = account.sublist.match_bytes(route.as_bytes());
        let server = self.server;
        let is_self = |s: &SubRef| Arc::ptr_eq(&s.client, &self.internal.client);
        let mut d = Delivery {
            server,
            subject: self.subject.unwrap_or(route).as_bytes(),
            reply,
            header_len: self.header_len,
            data: self.data,
            count: 0,
            bytes: 0,
            expired: Vec::new(),
            trace: self.trace,
        };
        for sub in result.psubs.iter().filter(|s| !is_self(s)) {
            d.deliver(sub);
        }
        for group in result.qsubs.iter() {
            let members: Vec<&SubRef> = group.iter().filter(|s| !is_self(s)).collect();
            if members.is_empty() {
                continue;
            }
            let start = rand::thread_rng().gen_range(0..members.len());
            for i in 0..members.len() {
                if d.deliver(members[(start + i) % members.len()]) {
                    break;
                }
            }
        }
        let (count, bytes) = (d.count, d.bytes);
        for sub in d.expired {
            server.unsubscribe(&sub);
        }
        if count > 0 {
            let st = &server.stats;
            st.out_msgs.fetch_add(count as u64, Ordering::Relaxed);
            st.out_bytes.fetch_add(bytes, Ordering::Relaxed);
            account.sent.add(count as u64, bytes);
        }
        self.count += count;
        count
    }
}

impl crate::account::routing::ImportSink for InternalSink<'_> {
    fn deliver_in_account(
        &mut self,
        acc: &Arc<Account>,
        route: &str,
        reply: Option<&[u8]>,
    ) -> bool {
        self.deliver(acc, route, reply) > 0
    }

    fn body_len(&self) -> usize {
        self.data.len() - self.header_len.unwrap_or(0)
    }
}

struct Delivery<'a> {
    server: &'a ServerShared,
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    header_len: Option<usize>,
    data: &'a [u8],
    count: usize,
    bytes: u64,
    expired: Vec<SubRef>,
    /// Protocol tracing is on (`-V`).
    trace: bool,
}

/// Traces the system client's publish as Go does (`SYSTEM - <<- [PUB subject reply
/// size]` and its payload); only with `trace_verbose`.
fn trace_publish(
    server: &ServerShared,
    subject: &str,
    reply: Option<&str>,
    header_len: usize,
    data: &[u8],
) {
    use crate::client::trace::{msg_payload, op, Dir};
    let arg = format!("{subject} {} {}", reply.unwrap_or_default(), data.len());
    let line = op(Dir::In, "PUB", Some(arg.as_bytes()));
    crate::trace!(server.logging, "SYSTEM - {line}");
    let opts = server.opts();
    if let Some(line) = msg_payload(
        Dir::In,
        data,
        header_len,
        opts.max_traced_msg_len,
        opts.trace_headers,
    ) {
        crate::trace!(server.logging, "SYSTEM - {line}");
    }
}

impl Delivery<'_> {
    fn deliver(&mut self, sub: &SubRef) -> bool {
        let client = &sub.client;
        let Some(d) = crate::client::queue_delivery(
            sub,
            self.subject,
            self.reply,
            self.header_len,
            self.data,
            0,
            &mut self.expired,
        ) else {
            return false;
        };
        let (q, data) = (d.queued, d.data);
        match q {
            Queued::WakeWriter | Queued::Appended => {
                if self.trace && client.traced(&self.server.logging) {
                    crate::client::trace::log_delivery(
                        &self.server.logging,
                        &self.server.opts(),
                        &client.label(),
                        self.subject,
                        &sub.sid,
                        self.reply,
                        d.header_len,
                        data,
                    );
                }
                client.wake_writer();
                client.activity.touch(crate::monitor::gotime::now_nanos());
                self.count += 1;
                self.bytes += data.len() as u64;
                true
            }
            Queued::Closed => false,
            Queued::SlowConsumer => {
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::protocol::encode;

    #[test]
    fn frames_are_split_into_messages() {
        let mut b = BytesMut::new();
        encode::msg(&mut b, b"foo", b"1", None, b"hello");
        encode::msg(&mut b, b"bar", b"22", Some(b"inbox.1"), b"");
        encode::hmsg(&mut b, b"baz", b"3", Some(b"r"), 12, b"NATS/1.0\r\n\r\n{}");
        let msgs = parse_frames(&mut b);
        assert_eq!(msgs.len(), 3);
        assert_eq!(&msgs[0].0[..], b"1");
        assert_eq!(msgs[0].1.subject, "foo");
        assert_eq!(msgs[0].1.reply, "");
        assert_eq!(&msgs[0].1.payload[..], b"hello");
        assert_eq!(&msgs[1].0[..], b"22");
        assert_eq!(msgs[1].1.reply, "inbox.1");
        assert!(msgs[1].1.payload.is_empty());
        assert_eq!(msgs[2].1.header.as_deref(), Some(&b"NATS/1.0\r\n\r\n"[..]));
        assert_eq!(&msgs[2].1.payload[..], b"{}");
        assert!(b.is_empty());
    }

    #[test]
    fn payload_with_crlf_is_kept_whole() {
        let mut b = BytesMut::new();
        encode::msg(&mut b, b"a", b"1", None, b"x\r\ny");
        let msgs = parse_frames(&mut b);
        assert_eq!(&msgs[0].1.payload[..], b"x\r\ny");
    }
}
