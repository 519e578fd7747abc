//! Message tracing (ADR-41): a message whose headers carry `Nats-Trace-Dest` (or a sampled
//! W3C `traceparent` in an account with a trace destination) makes the server publish a
//! JSON event describing what it did with the message: where it came in and to whom it
//! went (or why not). With `Nats-Trace-Only` the message is traced but not delivered.
//!
//! This module holds the pure parts: header detection, the decision whether to trace, the
//! event and its JSON form (Go's `MsgTraceEvent` field for field). The connection reader
//! calls in only for messages with headers.

use crate::account::Account;
use crate::events::messages::ServerInfo;
use crate::monitor::gotime::GoTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Header naming the subject trace events go to.
pub const MSG_TRACE_DEST: &str = "Nats-Trace-Dest";
/// Value of `Nats-Trace-Dest` that turns tracing off (not a valid subject on purpose).
pub const MSG_TRACE_DEST_DISABLED: &str = "trace disabled";
/// Header carrying the hop id between servers.
pub const MSG_TRACE_HOP: &str = "Nats-Trace-Hop";
/// Header of servers before 2.11's tracing rework; a message carrying it is not traced.
pub const MSG_TRACE_ORIGIN_ACCOUNT: &str = "Nats-Trace-Origin-Account";
/// Header asking to trace without delivering.
pub const MSG_TRACE_ONLY: &str = "Nats-Trace-Only";
/// The W3C trace context header; matched in any letter case.
pub const TRACE_PARENT_HDR: &str = "traceparent";

/// Event type of each entry of the `events` list.
pub const INGRESS_TYPE: &str = "in";
pub const SUBJECT_MAPPING_TYPE: &str = "sm";
pub const STREAM_EXPORT_TYPE: &str = "se";
pub const SERVICE_IMPORT_TYPE: &str = "si";
pub const JETSTREAM_TYPE: &str = "js";
pub const EGRESS_TYPE: &str = "eg";

/// Egress errors, in Go's words.
pub const ERR_ONLY_NO_SUPPORT: &str =
    "Not delivered because remote does not support message tracing";
pub const ERR_NO_SUPPORT: &str = "Message delivered but remote does not support message tracing so no trace event generated from there";
pub const ERR_NO_ECHO: &str = "Not delivered because of no echo";
pub const ERR_PUB_VIOLATION: &str = "Not delivered because publish denied for this subject";
pub const ERR_SUB_DENY: &str = "Not delivered because subscription denies this subject";
pub const ERR_SUB_CLOSED: &str = "Not delivered because subscription is closed";
pub const ERR_CLIENT_CLOSED: &str = "Not delivered because client is closed";
pub const ERR_AUTO_SUB_EXCEEDED: &str = "Not delivered because auto-unsubscribe exceeded";
pub const ERR_FAST_PROD_NO_STALL: &str =
    "Not delivered because fast producer not stalled and consumer is slow";

/// Header of the traced message naming how the event may be compressed.
pub const ACCEPT_ENCODING_HDR: &str = "Accept-Encoding";
/// Header of a compressed event naming its compression.
pub const CONTENT_ENCODING_HDR: &str = "Content-Encoding";

/// How a trace event is compressed, from the traced message's `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// The snappy framing format (Go writes S2 in snappy-compatible mode).
    Snappy,
    Gzip,
    /// Asked for, but none natsd knows: sent as is, marked `identity`.
    Unsupported,
}

impl Compression {
    /// Go's `getCompressionType`: any mention of snappy or s2, else gzip.
    pub fn from_accept_encoding(v: &str) -> Compression {
        if v.is_empty() {
            return Compression::None;
        }
        let v = v.to_ascii_lowercase();
        if v.contains("snappy") || v.contains("s2") {
            Compression::Snappy
        } else if v.contains("gzip") {
            Compression::Gzip
        } else {
            Compression::Unsupported
        }
    }

    /// The event's header block and body for `json`.
    fn encode(self, json: Vec<u8>) -> (Option<Vec<u8>>, Vec<u8>) {
        use std::io::Write;
        let (name, body) = match self {
            Compression::None => return (None, json),
            Compression::Unsupported => ("identity", json),
            Compression::Gzip => {
                let mut w =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                match w.write_all(&json).and_then(|()| w.finish()) {
                    Ok(b) => ("gzip", b),
                    Err(_) => return (None, json),
                }
            }
            Compression::Snappy => {
                let mut w = snap::write::FrameEncoder::new(Vec::new());
                match w
                    .write_all(&json)
                    .map_err(|e| e.to_string())
                    .and_then(|()| w.into_inner().map_err(|e| e.to_string()))
                {
                    Ok(b) => ("snappy", b),
                    Err(_) => return (None, json),
                }
            }
        };
        let hdr = format!("NATS/1.0\r\n{CONTENT_ENCODING_HDR}: {name}\r\n\r\n");
        (Some(hdr.into_bytes()), body)
    }
}

/// Ingress error of a message over `max_payload` (Go's `ErrMaxPayload`).
pub const ERR_MAX_PAYLOAD: &str = "maximum payload exceeded";

/// Go's connection kinds as the events number them.
pub const KIND_CLIENT: i32 = 0;
pub const KIND_ROUTER: i32 = 1;
pub const KIND_GATEWAY: i32 = 2;
pub const KIND_SYSTEM: i32 = 3;
pub const KIND_LEAF: i32 = 4;

const HDR_LINE: &[u8] = b"NATS/1.0\r\n";

/// The request's headers, by name as sent (case kept), each with its values in order.
pub type HeaderMap = BTreeMap<String, Vec<String>>;

/// The event sent to the trace destination (Go's `MsgTraceEvent`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceEvent {
    pub server: ServerInfo,
    pub request: MsgTraceRequest,
    #[serde(skip_serializing_if = "is_zero")]
    pub hops: i64,
    pub events: Vec<MsgTraceEntry>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The traced message: its headers and size (headers included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMap>,
    #[serde(rename = "msgsize", skip_serializing_if = "is_zero")]
    pub msg_size: i64,
}

/// One entry of the `events` list, told apart by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MsgTraceEntry {
    #[serde(rename = "in")]
    Ingress(MsgTraceIngress),
    #[serde(rename = "sm")]
    SubjectMapping(MsgTraceSubjectMapping),
    #[serde(rename = "se")]
    StreamExport(MsgTraceStreamExport),
    #[serde(rename = "si")]
    ServiceImport(MsgTraceServiceImport),
    #[serde(rename = "js")]
    JetStream(MsgTraceJetStream),
    #[serde(rename = "eg")]
    Egress(MsgTraceEgress),
}

/// Where the message came in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceIngress {
    pub ts: GoTime,
    pub kind: i32,
    pub cid: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub acc: String,
    pub subj: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceSubjectMapping {
    pub ts: GoTime,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceStreamExport {
    pub ts: GoTime,
    pub acc: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceServiceImport {
    pub ts: GoTime,
    pub acc: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceJetStream {
    pub ts: GoTime,
    pub stream: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nointerest: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// One subscriber the message went to (or why it did not).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTraceEgress {
    pub ts: GoTime,
    pub kind: i32,
    pub cid: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hop: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub acc: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sub: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub queue: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl MsgTraceEvent {
    /// The ingress entry, always first.
    pub fn ingress(&self) -> Option<&MsgTraceIngress> {
        match self.events.first() {
            Some(MsgTraceEntry::Ingress(i)) => Some(i),
            _ => None,
        }
    }

    pub fn subject_mapping(&self) -> Option<&MsgTraceSubjectMapping> {
        self.events.iter().find_map(|e| match e {
            MsgTraceEntry::SubjectMapping(m) => Some(m),
            _ => None,
        })
    }

    pub fn stream_exports(&self) -> Vec<&MsgTraceStreamExport> {
        self.events
            .iter()
            .filter_map(|e| match e {
                MsgTraceEntry::StreamExport(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn service_imports(&self) -> Vec<&MsgTraceServiceImport> {
        self.events
            .iter()
            .filter_map(|e| match e {
                MsgTraceEntry::ServiceImport(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    pub fn jetstream(&self) -> Option<&MsgTraceJetStream> {
        self.events.iter().find_map(|e| match e {
            MsgTraceEntry::JetStream(m) => Some(m),
            _ => None,
        })
    }

    pub fn egresses(&self) -> Vec<&MsgTraceEgress> {
        self.events
            .iter()
            .filter_map(|e| match e {
                MsgTraceEntry::Egress(m) => Some(m),
                _ => None,
            })
            .collect()
    }
}

/// The `key: value` lines of a header block, split as nats-server does: the key is
/// everything up to the next `:` (which may lie on a later line), the value is trimmed of
/// spaces and tabs and ends at the next CRLF. Lines with an empty key or value are
/// skipped; a value without CRLF ends the block.
struct HeaderLines<'a> {
    hdr: &'a [u8],
    at: usize,
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let hdr = self.hdr;
        loop {
            let i = self.at;
            let del = memchr::memchr(b':', hdr.get(i..)?)?;
            let key = &hdr[i..i + del];
            let mut v = i + del + 1;
            while v < hdr.len() && (hdr[v] == b' ' || hdr[v] == b'\t') {
                v += 1;
            }
            let Some(nl) = find_crlf(&hdr[v..]) else {
                self.at = hdr.len();
                return None;
            };
            let mut end = v + nl;
            while end > v && (hdr[end - 1] == b' ' || hdr[end - 1] == b'\t') {
                end -= 1;
            }
            self.at = v + nl + 2;
            if !key.is_empty() && end > v {
                return Some((key, &hdr[v..end]));
            }
        }
    }
}

/// Where the first CRLF starts.
fn find_crlf(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\r', &b[from..]) {
        let at = from + i;
        if b.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn header_lines(hdr: &[u8]) -> Option<HeaderLines<'_>> {
    hdr.starts_with(HDR_LINE).then_some(HeaderLines {
        hdr,
        at: HDR_LINE.len(),
    })
}

/// Whether a `traceparent` value asks for sampling: four `-` separated fields, the last
/// two hex digits (as a signed byte, like Go's `ParseInt(.., 16, 8)`) with bit 0 set.
fn traceparent_sampled(val: &[u8]) -> bool {
    let mut fields = val.split(|&b| b == b'-');
    let flags = match (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) {
        (Some(_), Some(_), Some(_), Some(f), None) if f.len() == 2 => f,
        _ => return false,
    };
    std::str::from_utf8(flags)
        .ok()
        .and_then(|s| i8::from_str_radix(s, 16).ok())
        .is_some_and(|v| v & 1 == 1)
}

/// One pass over the header lines: `Some(external)` when the message asks to be traced,
/// `external` meaning only a sampled `traceparent` asks (the destination is then the
/// account's). Allocates nothing: this runs for every message with headers.
pub fn detect(hdr: &[u8]) -> Option<bool> {
    let (mut dest_found, mut parent_found) = (false, false);
    for (key, val) in header_lines(hdr)? {
        if !parent_found && key.eq_ignore_ascii_case(TRACE_PARENT_HDR.as_bytes()) {
            parent_found = traceparent_sampled(val);
        } else if !dest_found && key == MSG_TRACE_DEST.as_bytes() {
            if val == MSG_TRACE_DEST_DISABLED.as_bytes() {
                return None;
            }
            dest_found = true;
        }
    }
    (dest_found || parent_found).then_some(!dest_found)
}

/// The headers as a map when the message asks to be traced, and whether only the external
/// `traceparent` header asks (Go's `genHeaderMapIfTraceHeadersPresent`).
pub fn gen_header_map_if_trace_headers_present(hdr: &[u8]) -> Option<(HeaderMap, bool)> {
    let external = detect(hdr)?;
    let mut m = HeaderMap::new();
    for (key, val) in header_lines(hdr)? {
        m.entry(String::from_utf8_lossy(key).into_owned())
            .or_default()
            .push(String::from_utf8_lossy(val).into_owned());
    }
    Some((m, external))
}

/// Go's `sample`: true for `sampling` percent of calls (always outside 1..99); `roll` is
/// a number in 0..100.
pub fn sampled(sampling: i64, roll: i64) -> bool {
    if sampling <= 0 || sampling >= 100 {
        return true;
    }
    roll <= sampling
}

/// The traced message as it came in.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The header block.
    pub hdr: &'a [u8],
    pub subject: &'a [u8],
    /// Headers and body.
    pub size: usize,
    pub cid: u64,
    /// The client's CONNECT name.
    pub name: &'a str,
}

/// What the reader must do with a message after [`init`].
#[derive(Debug)]
pub struct InitResult {
    /// Drop the message (a trace-only message that cannot be traced, or a destination the
    /// client may not publish to).
    pub skip: bool,
    pub trace: Option<Box<MsgTrace>>,
    /// Set `Nats-Trace-Dest: trace disabled` in the message before delivering it, so no
    /// other server traces it.
    pub disable_header: bool,
    /// An error to log for the connection.
    pub log_error: Option<String>,
    /// The client may not publish to this destination: a publish violation to report.
    pub dest_denied: Option<String>,
}

impl InitResult {
    fn untraced(skip: bool) -> InitResult {
        InitResult {
            skip,
            trace: None,
            disable_header: false,
            log_error: None,
            dest_denied: None,
        }
    }
}

/// What [`init`] asks of the server.
pub trait InitHost {
    /// The account's `msg_trace` destination and sampling.
    fn account_dest(&self) -> (String, i64);
    /// Whether this message is picked at `sampling` percent.
    fn sample(&self, sampling: i64) -> bool;
    /// Whether the client may publish to the trace destination.
    fn dest_allowed(&self, dest: &str) -> bool;
}

/// Decides whether and where a client's message is traced (Go's `initMsgTrace`).
/// `ingress_error` is set when the message is refused before it is parsed (max payload).
pub fn init(
    msg: Incoming<'_>,
    account: &Arc<Account>,
    ingress_error: Option<&str>,
    host: &dyn InitHost,
) -> InitResult {
    let Some((headers, external)) = gen_header_map_if_trace_headers_present(msg.hdr) else {
        return InitResult::untraced(false);
    };
    let first = |key: &str| {
        headers
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or_default()
    };
    let mut trace_only = false;
    let mut dest = String::new();
    if !external {
        trace_only = matches!(
            first(MSG_TRACE_ONLY).to_ascii_lowercase().as_str(),
            "1" | "true" | "on"
        );
        dest = first(MSG_TRACE_DEST).to_string();
        if dest.is_empty() {
            return InitResult::untraced(trace_only);
        }
    }
    let origin = first(MSG_TRACE_ORIGIN_ACCOUNT);
    if !origin.is_empty() {
        let mut r = InitResult::untraced(trace_only);
        r.log_error = Some(format!(
            "Message tracing disabled because of header {} with value={}",
            go_quote(MSG_TRACE_ORIGIN_ACCOUNT),
            go_quote(origin)
        ));
        r.disable_header = ingress_error.is_none() && !trace_only;
        return r;
    }
    if external {
        let sampling;
        (dest, sampling) = host.account_dest();
        if dest.is_empty() {
            return InitResult::untraced(false);
        }
        if !host.sample(sampling) {
            let mut r = InitResult::untraced(false);
            r.disable_header = ingress_error.is_none();
            return r;
        }
    }
    if !crate::subject::is_valid_publish_subject(&dest) {
        let mut r = InitResult::untraced(trace_only);
        r.log_error = Some(format!(
            "Destination {} is not valid, won't be able to trace events",
            go_quote(&dest)
        ));
        return r;
    }
    if !host.dest_allowed(&dest) {
        let mut r = InitResult::untraced(true);
        r.dest_denied = Some(dest);
        return r;
    }
    let ingress = MsgTraceIngress {
        ts: GoTime::now(),
        kind: KIND_CLIENT,
        cid: msg.cid,
        name: msg.name.to_string(),
        acc: account.name.clone(),
        subj: String::from_utf8_lossy(msg.subject).into_owned(),
        error: ingress_error.unwrap_or_default().to_string(),
    };
    let compression = Compression::from_accept_encoding(first(ACCEPT_ENCODING_HDR));
    let trace = MsgTrace {
        account: account.clone(),
        dest,
        trace_only,
        compression,
        event: MsgTraceEvent {
            server: ServerInfo::default(),
            request: MsgTraceRequest {
                header: Some(headers),
                msg_size: i64::try_from(msg.size).unwrap_or(i64::MAX),
            },
            hops: 0,
            events: vec![MsgTraceEntry::Ingress(ingress)],
        },
    };
    InitResult {
        skip: false,
        trace: Some(Box::new(trace)),
        disable_header: false,
        log_error: None,
        dest_denied: None,
    }
}

/// Go's `%q` of a string.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::protocol::parser::go_quote_into(&mut out, s.as_bytes());
    out
}

/// A message being traced: the event built up while it is processed.
#[derive(Debug)]
pub struct MsgTrace {
    /// The account the event is published in.
    pub account: Arc<Account>,
    pub dest: String,
    /// Trace without delivering.
    pub trace_only: bool,
    /// How the event is compressed.
    pub compression: Compression,
    pub event: MsgTraceEvent,
}

/// A subscriber as an egress entry describes it.
#[derive(Debug, Clone, Copy)]
pub struct Subscriber<'a> {
    pub kind: i32,
    pub cid: u64,
    pub name: &'a str,
    pub account: &'a str,
    pub subject: &'a [u8],
    pub queue: Option<&'a [u8]>,
}

impl MsgTrace {
    /// Records why the message was refused on the way in.
    pub fn set_ingress_error(&mut self, err: &str) {
        if let Some(MsgTraceEntry::Ingress(i)) = self.event.events.first_mut() {
            i.error = err.to_string();
        }
    }

    /// Records that the account's mappings sent the message on to subject `to`.
    pub fn add_subject_mapping(&mut self, to: &[u8]) {
        self.event
            .events
            .push(MsgTraceEntry::SubjectMapping(MsgTraceSubjectMapping {
                ts: GoTime::now(),
                to: String::from_utf8_lossy(to).into_owned(),
            }));
    }

    /// Records one subscriber the message went to; `err` says why it did not.
    pub fn add_egress(&mut self, to: Subscriber<'_>, err: &str) {
        let mut e = MsgTraceEgress {
            ts: GoTime::now(),
            kind: to.kind,
            cid: to.cid,
            name: to.name.to_string(),
            error: err.to_string(),
            ..MsgTraceEgress::default()
        };
        if to.kind == KIND_CLIENT {
            e.sub = String::from_utf8_lossy(to.subject).into_owned();
            if let Some(q) = to.queue.filter(|q| !q.is_empty()) {
                e.queue = String::from_utf8_lossy(q).into_owned();
            }
        }
        // Named only when it differs from the publisher's (service imports).
        if to.kind == KIND_CLIENT || to.kind == KIND_LEAF {
            if let Some(i) = self.event.ingress() {
                if i.acc != to.account {
                    e.acc = to.account.to_string();
                }
            }
        }
        self.event.events.push(MsgTraceEntry::Egress(e));
    }

    /// The event's JSON, stamped with the sending server's info.
    pub fn finish(mut self, server: ServerInfo) -> Vec<u8> {
        self.event.server = server;
        serde_json::to_vec(&self.event).unwrap_or_default()
    }

    /// The event as sent: a header block naming its compression (when the traced
    /// message asked for one) and the (compressed) JSON.
    pub fn finish_encoded(self, server: ServerInfo) -> (Option<Vec<u8>>, Vec<u8>) {
        let compression = self.compression;
        compression.encode(self.finish(server))
    }
}

/// The egress error of a message a subscription did not take.
pub(crate) fn not_queued_error(why: crate::client::NotQueued) -> &'static str {
    match why {
        crate::client::NotQueued::SubDeny => ERR_SUB_DENY,
        crate::client::NotQueued::AutoUnsubExceeded => ERR_AUTO_SUB_EXCEEDED,
        crate::client::NotQueued::SubClosed => ERR_SUB_CLOSED,
    }
}

/// A copy of the message (`hdr_len` bytes of headers, then the body) with
/// `Nats-Trace-Dest: trace disabled`, and its new header length.
pub fn disable_trace_dest(msg: &[u8], hdr_len: usize) -> (Vec<u8>, usize) {
    let hdr_len = hdr_len.min(msg.len());
    let mut hdr = msg[..hdr_len].to_vec();
    let new_hdr =
        crate::client::header::set_header(MSG_TRACE_DEST, MSG_TRACE_DEST_DISABLED, &mut hdr)
            .into_owned();
    let mut out = Vec::with_capacity(new_hdr.len() + msg.len() - hdr_len);
    out.extend_from_slice(&new_hdr);
    out.extend_from_slice(&msg[hdr_len..]);
    (out, new_hdr.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    struct Host {
        dest: &'static str,
        sample: bool,
        allowed: bool,
    }

    impl InitHost for Host {
        fn account_dest(&self) -> (String, i64) {
            (self.dest.to_string(), 100)
        }
        fn sample(&self, _: i64) -> bool {
            self.sample
        }
        fn dest_allowed(&self, _: &str) -> bool {
            self.allowed
        }
    }

    fn incoming(hdr: &[u8]) -> Incoming<'_> {
        Incoming {
            hdr,
            subject: b"foo",
            size: hdr.len() + 5,
            cid: 7,
            name: "n",
        }
    }

    fn acc() -> Arc<Account> {
        Arc::new(Account::new("A", "", true))
    }

    const OPEN: Host = Host {
        dest: "",
        sample: true,
        allowed: true,
    };

    #[test]
    fn detection_needs_a_header_line_and_a_trace_header() {
        assert_eq!(detect(b"Nats-Trace-Dest: x\r\n"), None);
        assert_eq!(detect(b"NATS/1.0\r\nA: b\r\n\r\n"), None);
        assert_eq!(
            detect(b"NATS/1.0\r\nNats-Trace-Dest: x\r\n\r\n"),
            Some(false)
        );
        let h = format!("NATS/1.0\r\nTraceParent: {TP}\r\n\r\n");
        assert_eq!(detect(h.as_bytes()), Some(true));
        // The disabled value turns tracing off.
        assert_eq!(
            detect(b"NATS/1.0\r\nNats-Trace-Dest: trace disabled\r\n\r\n"),
            None
        );
    }

    #[test]
    fn crlf_is_found_past_lone_crs() {
        assert_eq!(find_crlf(b"a\rb\r\n"), Some(3));
        assert_eq!(find_crlf(b"a\r"), None);
        assert_eq!(find_crlf(b"\r\n"), Some(0));
        // A value with a lone CR keeps it, as Go's search for CRLF does.
        let h = b"NATS/1.0\r\nNats-Trace-Dest: a\rb\r\n\r\n";
        let (m, _) = gen_header_map_if_trace_headers_present(h).unwrap();
        assert_eq!(m[MSG_TRACE_DEST], vec!["a\rb".to_string()]);
    }

    #[test]
    fn traceparent_flags_are_a_signed_hex_byte() {
        assert!(traceparent_sampled(TP.as_bytes()));
        assert!(traceparent_sampled(b"00-a-b-27"));
        assert!(!traceparent_sampled(b"00-a-b-22"));
        // Out of a signed byte's range: not sampled, as Go's ParseInt(.., 16, 8).
        assert!(!traceparent_sampled(b"00-a-b-ff"));
        assert!(!traceparent_sampled(b"00-a-b-1"));
        assert!(!traceparent_sampled(b"00-a-01"));
    }

    #[test]
    fn trace_only_and_destination() {
        let h = b"NATS/1.0\r\nNats-Trace-Dest: t.d\r\nNats-Trace-Only: ON\r\n\r\n";
        let r = init(incoming(h), &acc(), None, &OPEN);
        let t = r.trace.unwrap();
        assert!(t.trace_only && !r.skip);
        assert_eq!(t.dest, "t.d");
        let i = t.event.ingress().unwrap();
        assert_eq!((i.cid, i.name.as_str(), i.acc.as_str()), (7, "n", "A"));
        assert_eq!(i.subj, "foo");
    }

    #[test]
    fn invalid_or_denied_destination() {
        let h = b"NATS/1.0\r\nNats-Trace-Dest: a.*\r\nNats-Trace-Only: true\r\n\r\n";
        let r = init(incoming(h), &acc(), None, &OPEN);
        assert!(r.trace.is_none() && r.skip);
        assert!(r.log_error.unwrap().contains("\"a.*\" is not valid"));
        let h = b"NATS/1.0\r\nNats-Trace-Dest: a.b\r\n\r\n";
        let deny = Host {
            allowed: false,
            ..OPEN
        };
        let r = init(incoming(h), &acc(), None, &deny);
        assert!(r.trace.is_none() && r.skip);
        assert_eq!(r.dest_denied.as_deref(), Some("a.b"));
    }

    #[test]
    fn external_header_uses_the_account_destination_when_sampled() {
        let h = format!("NATS/1.0\r\n{TRACE_PARENT_HDR}: {TP}\r\nNats-Trace-Only: true\r\n\r\n");
        let r = init(incoming(h.as_bytes()), &acc(), None, &OPEN);
        assert!(r.trace.is_none() && !r.skip && !r.disable_header);
        let host = Host {
            dest: "acc.dest",
            ..OPEN
        };
        let t = init(incoming(h.as_bytes()), &acc(), None, &host)
            .trace
            .unwrap();
        assert_eq!(t.dest, "acc.dest");
        assert!(!t.trace_only);
        let host = Host {
            dest: "acc.dest",
            sample: false,
            allowed: true,
        };
        let r = init(incoming(h.as_bytes()), &acc(), None, &host);
        assert!(r.trace.is_none() && !r.skip && r.disable_header);
    }

    #[test]
    fn origin_account_header_disables_tracing() {
        let h = b"NATS/1.0\r\nNats-Trace-Dest: a\r\nNats-Trace-Origin-Account: B\r\n\r\n";
        let r = init(incoming(h), &acc(), None, &OPEN);
        assert!(r.trace.is_none() && !r.skip && r.disable_header);
        assert!(r.log_error.unwrap().contains(MSG_TRACE_ORIGIN_ACCOUNT));
        let (m, n) = disable_trace_dest(&[&h[..], b"body"].concat(), h.len());
        assert_eq!(&m[n..], b"body");
        assert_eq!(
            crate::client::header::slice_header(MSG_TRACE_DEST, &m[..n]),
            Some(&b"trace disabled"[..])
        );
    }

    #[test]
    fn compression_follows_accept_encoding() {
        use std::io::Read;
        assert_eq!(Compression::from_accept_encoding(""), Compression::None);
        assert_eq!(Compression::from_accept_encoding("S2"), Compression::Snappy);
        assert_eq!(
            Compression::from_accept_encoding("br, GZIP"),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_accept_encoding("br"),
            Compression::Unsupported
        );
        let json = br#"{"a":1}"#.to_vec();
        assert_eq!(Compression::None.encode(json.clone()), (None, json.clone()));
        let (h, b) = Compression::Unsupported.encode(json.clone());
        assert_eq!(
            h.unwrap(),
            b"NATS/1.0\r\nContent-Encoding: identity\r\n\r\n"
        );
        assert_eq!(b, json);
        let (h, b) = Compression::Gzip.encode(json.clone());
        assert!(String::from_utf8(h.unwrap()).unwrap().contains("gzip"));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&b[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, json);
        let (h, b) = Compression::Snappy.encode(json.clone());
        assert!(String::from_utf8(h.unwrap()).unwrap().contains("snappy"));
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(&b[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, json);
    }

    #[test]
    fn subject_mapping_entry() {
        let h = b"NATS/1.0\r\nNats-Trace-Dest: t\r\n\r\n";
        let mut t = init(incoming(h), &acc(), None, &OPEN).trace.unwrap();
        t.add_subject_mapping(b"bar");
        let v: serde_json::Value =
            serde_json::from_slice(&t.finish(ServerInfo::default())).unwrap();
        assert_eq!(v["events"][1]["type"], "sm");
        assert_eq!(v["events"][1]["to"], "bar");
        assert!(v["events"][1].get("ts").is_some());
        let back: MsgTraceEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back.subject_mapping().unwrap().to, "bar");
    }

    #[test]
    fn json_shape_is_gos() {
        let h = b"NATS/1.0\r\nNats-Trace-Dest: t\r\n\r\n";
        let mut t = init(incoming(h), &acc(), Some("boom"), &OPEN)
            .trace
            .unwrap();
        t.add_egress(
            Subscriber {
                kind: KIND_CLIENT,
                cid: 9,
                name: "",
                account: "A",
                subject: b"foo",
                queue: Some(b"q"),
            },
            ERR_NO_ECHO,
        );
        let v: serde_json::Value =
            serde_json::from_slice(&t.finish(ServerInfo::default())).unwrap();
        assert_eq!(v["request"]["header"]["Nats-Trace-Dest"][0], "t");
        assert_eq!(v["request"]["msgsize"], h.len() + 5);
        assert!(v.get("hops").is_none());
        let ev = &v["events"];
        assert_eq!(ev[0]["type"], "in");
        assert_eq!(ev[0]["kind"], 0);
        assert_eq!(ev[0]["acc"], "A");
        assert_eq!(ev[0]["subj"], "foo");
        assert_eq!(ev[0]["error"], "boom");
        assert!(ev[0].get("name").is_some());
        assert_eq!(ev[1]["type"], "eg");
        assert_eq!(ev[1]["cid"], 9);
        assert_eq!(ev[1]["sub"], "foo");
        assert_eq!(ev[1]["queue"], "q");
        assert_eq!(ev[1]["error"], ERR_NO_ECHO);
        assert!(ev[1].get("acc").is_none() && ev[1].get("name").is_none());
        let back: MsgTraceEvent = serde_json::from_value(v).unwrap();
        assert!(back.subject_mapping().is_none());
        assert_eq!(back.egresses().len(), 1);
        assert_eq!(back.ingress().unwrap().error, "boom");
    }
}
