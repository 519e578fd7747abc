//! Direct get (`allow_direct`, ADR-31): `$JS.API.DIRECT.GET.<stream>` answers a message
//! get request with the message itself (stream, subject, sequence and time in headers),
//! and `$JS.API.DIRECT.GET.<stream>.<subject>` with the last message on that subject.
//! Batches (`batch`, `max_bytes`) and multi-last gets (`multi_last`, `up_to_seq`,
//! `up_to_time`) send several messages and then an end-of-batch status (`204 EOB`).
//! A mirror with `mirror_direct` answers its origin's direct gets too, in the same queue
//! group. Key-value clients read through all this. Errors are status headers, as Go
//! sends them; a request the server cannot count pending messages for gets no answer.

use super::api::types::MsgGetRequest;
use super::stream::Stream;
use crate::client::header::gen_header;
use crate::client::Subscription;
use crate::events::internal::{Handler, InMsg, InternalClient};
use crate::server::ServerShared;
use natsd_store::{Store, StoreMsg};
use std::sync::{Arc, Weak};

/// The queue group of direct-get subscriptions (Go's `_sys_`).
pub const QUEUE: &str = "_sys_";
const STREAM_HDR: &str = "Nats-Stream";
const SUBJECT_HDR: &str = "Nats-Subject";
const SEQUENCE_HDR: &str = "Nats-Sequence";
const TIME_HDR: &str = "Nats-Time-Stamp";
const NUM_PENDING_HDR: &str = "Nats-Num-Pending";
const LAST_SEQ_HDR: &str = "Nats-Last-Sequence";
const REQUIRED_API_LEVEL_HDR: &str = "Nats-Required-Api-Level";
/// Most messages one multi-last get may answer with (Go's `maxAllowedResponses`).
const MAX_MULTI_RESULTS: usize = 1024;

/// One answer: a header block (empty for none) and a payload.
pub type Reply = (Vec<u8>, Vec<u8>);

/// A direct get request as it arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct Incoming<'a> {
    /// The request's header block, if any.
    pub header: Option<&'a [u8]>,
    pub body: &'a [u8],
    /// The subject after the stream name in the second form (`DIRECT.GET.<stream>.<subject>`).
    pub last_by_subject: Option<&'a str>,
}

fn status(text: &str) -> Reply {
    (format!("NATS/1.0 {text}\r\n\r\n").into_bytes(), Vec::new())
}

/// A stored message with the direct-get headers added; `batch` adds the pending count and
/// the previous sequence sent.
fn message_reply(stream: &str, m: &StoreMsg, batch: Option<(u64, u64)>) -> Reply {
    let ts = crate::jetstream::api::types::store_time(m.ts).to_rfc3339();
    let base: &[u8] = if m.hdr.is_empty() {
        b"NATS/1.0\r\n\r\n"
    } else {
        &m.hdr
    };
    let mut hdr = gen_header(base, STREAM_HDR, stream);
    hdr = gen_header(&hdr, SUBJECT_HDR, &m.subject);
    hdr = gen_header(&hdr, SEQUENCE_HDR, &m.seq.to_string());
    hdr = gen_header(&hdr, TIME_HDR, &ts);
    if let Some((pending, last)) = batch {
        hdr = gen_header(&hdr, NUM_PENDING_HDR, &pending.to_string());
        hdr = gen_header(&hdr, LAST_SEQ_HDR, &last.to_string());
    }
    (hdr, m.msg.to_vec())
}

/// Whether a `Nats-Required-Api-Level` header asks for more than this server offers.
fn refused_for_api_level(header: Option<&[u8]>) -> bool {
    let value = header.and_then(|h| {
        crate::client::header::slice_header(REQUIRED_API_LEVEL_HDR, h).map(String::from_utf8_lossy)
    });
    crate::jetstream::stream_config::error_on_required_api_level(value.as_deref())
}

/// The request, or the status refusing it (Go's checks, in Go's order).
fn parse_request(req: &Incoming<'_>) -> Result<MsgGetRequest, Reply> {
    if refused_for_api_level(req.header) {
        return Err(status("412 Required Api Level"));
    }
    let decode = |body: &[u8]| {
        super::api::decode_like_go::<MsgGetRequest>(body)
            .map_err(|_| status("408 Malformed Request"))
    };
    if let Some(key) = req.last_by_subject {
        let mut r = if req.body.is_empty() {
            MsgGetRequest::default()
        } else {
            decode(req.body)?
        };
        // Only options that make sense for the last message on one subject.
        if key.is_empty()
            || !r.last_for.is_empty()
            || !r.next_for.is_empty()
            || !r.multi_last_for.is_empty()
            || r.seq != 0
            || r.batch != 0
            || r.start_time.is_some()
            || r.up_to_seq != 0
            || r.up_to_time.is_some()
        {
            return Err(status("408 Bad Request"));
        }
        r.last_for = key.to_string();
        return Ok(r);
    }
    if req.body.is_empty() {
        return Err(status("408 Empty Request"));
    }
    let r = decode(req.body)?;
    if r.seq == 0
        && r.last_for.is_empty()
        && r.next_for.is_empty()
        && r.multi_last_for.is_empty()
        && r.start_time.is_none()
    {
        return Err(status("408 Empty Request"));
    }
    let has_start = r.start_time.is_some();
    let last_for = !r.last_for.is_empty();
    let multi = !r.multi_last_for.is_empty();
    // Options that cannot go together (no batches of the last message either).
    let conflicting = [
        r.seq > 0 && last_for,
        r.seq > 0 && has_start,
        has_start && last_for,
        last_for && !r.next_for.is_empty(),
        last_for && r.batch > 0,
        last_for && multi,
        !r.next_for.is_empty() && multi,
        r.up_to_seq > 0 && r.up_to_time.is_some(),
    ];
    if conflicting.iter().any(|&c| c) {
        return Err(status("408 Bad Request"));
    }
    Ok(r)
}

/// Answers a direct get request (pure over the store): the replies to send, in order.
/// `max_pending` is the server's `max_pending`, the byte budget of a batch that sets none.
pub fn answer(stream: &str, store: &dyn Store, req: &Incoming<'_>, max_pending: i64) -> Vec<Reply> {
    let r = match parse_request(req) {
        Ok(r) => r,
        Err(refusal) => return vec![refusal],
    };
    if r.multi_last_for.is_empty() {
        get_messages(stream, store, &r, max_pending)
    } else {
        multi_last(stream, store, &r, max_pending)
    }
}

/// One message, or a batch of them followed by an end-of-batch status.
fn get_messages(
    stream: &str,
    store: &dyn Store,
    r: &MsgGetRequest,
    max_pending: i64,
) -> Vec<Reply> {
    let mut seq = match r.start_time {
        Some(t) => store.get_seq_from_time(t.unix_nanos()),
        None => r.seq,
    };
    // Any batch size, even a negative one, makes a batch request (answered with an EOB).
    let is_batch = r.batch != 0;
    let batch = if is_batch { r.batch } else { 1 };
    let (mut pending, valid_through) = if is_batch {
        match store.num_pending(seq, &r.next_for, false) {
            Ok(counts) => counts,
            Err(_) => return Vec::new(),
        }
    } else {
        (0, 0)
    };
    let max_bytes = if r.max_bytes > 0 {
        r.max_bytes
    } else {
        max_pending
    };
    let wc = natsd_store::subject_has_wildcard(&r.next_for);
    let mut out = Vec::new();
    let mut last = 0u64;
    let mut sent = 0i64;
    let mut i = 0;
    while i < batch {
        let loaded = if seq > 0 && r.next_for.is_empty() {
            if i == 0 && !is_batch {
                store.load_msg(seq)
            } else {
                // Batches step over deleted sequences.
                store
                    .load_next_msg(">", true, seq)
                    .map(|(m, _)| m)
                    .map_err(|(e, _)| e)
            }
        } else if !r.next_for.is_empty() {
            store
                .load_next_msg(&r.next_for, wc, seq)
                .map(|(m, _)| m)
                .map_err(|(e, _)| e)
        } else {
            store.load_last_msg(&r.last_for)
        };
        let m = match loaded {
            Ok(m) => m,
            // A batch that already sent something ends with its EOB.
            Err(_) if batch > 1 && i > 0 => break,
            Err(_) => return vec![status("404 Message Not Found")],
        };
        seq = m.seq + 1;
        if r.no_headers {
            // Go counts pending messages down only while it writes the headers.
            out.push((Vec::new(), m.msg.to_vec()));
        } else if is_batch {
            pending = pending.saturating_sub(1);
            out.push(message_reply(stream, &m, Some((pending, last))));
        } else {
            out.push(message_reply(stream, &m, None));
        }
        last = m.seq;
        sent += (m.subject.len() + m.hdr.len() + m.msg.len()) as i64;
        if sent >= max_bytes {
            break;
        }
        i += 1;
    }
    if is_batch {
        // Messages stored meanwhile count as pending too.
        if store.fast_state().last_seq > valid_through {
            match store.num_pending(seq, &r.next_for, false) {
                Ok((n, _)) => pending = n,
                Err(_) => return out,
            }
        }
        out.push((
            format!(
                "NATS/1.0 204 EOB\r\n{NUM_PENDING_HDR}: {pending}\r\n{LAST_SEQ_HDR}: {last}\r\n\r\n"
            )
            .into_bytes(),
            Vec::new(),
        ));
    }
    out
}

/// The last message of every subject matching the request's filters, up to a sequence
/// or a time, from `seq` on (for paging), within `batch` and `max_bytes`; then an EOB
/// status with what is left and the ceiling used. Headers are always sent here.
fn multi_last(stream: &str, store: &dyn Store, r: &MsgGetRequest, max_pending: i64) -> Vec<Reply> {
    let max_bytes = if r.max_bytes > 0 {
        r.max_bytes
    } else {
        max_pending
    };
    let mut up_to = r.up_to_seq;
    if let Some(t) = r.up_to_time {
        // The first message at or after that time; nothing before it is none at all.
        let first_at = store.get_seq_from_time(t.unix_nanos());
        if first_at <= store.fast_state().first_seq {
            return vec![status("404 No Results")];
        }
        up_to = first_at - 1;
    }
    if up_to == 0 {
        up_to = store.fast_state().last_seq;
    }
    let seqs = match store.multi_last_seqs(&r.multi_last_for, up_to, MAX_MULTI_RESULTS) {
        Ok(s) => s,
        Err(natsd_store::StoreError::TooManyResults) => {
            return vec![status("413 Too Many Results")];
        }
        Err(e) => return vec![status(&format!("500 {e}"))],
    };
    if seqs.is_empty() {
        return vec![status("404 No Results")];
    }
    let mut pending = seqs.len() as u64;
    let (mut last, mut sent_bytes, mut sent) = (0u64, 0i64, 0i64);
    let mut out = Vec::new();
    for s in seqs {
        pending = pending.saturating_sub(1);
        if s < r.seq {
            continue;
        }
        let Ok(m) = store.load_msg(s) else {
            return vec![status("404 Message Not Found")];
        };
        out.push(message_reply(stream, &m, Some((pending, last))));
        last = m.seq;
        sent_bytes += (m.subject.len() + m.hdr.len() + m.msg.len()) as i64;
        if sent_bytes >= max_bytes {
            break;
        }
        sent += 1;
        if r.batch > 0 && sent >= r.batch {
            break;
        }
    }
    out.push((
        format!(
            "NATS/1.0 204 EOB\r\n{NUM_PENDING_HDR}: {pending}\r\n{LAST_SEQ_HDR}: {last}\r\nNats-UpTo-Sequence: {up_to}\r\n\r\n"
        )
        .into_bytes(),
        Vec::new(),
    ));
    out
}

/// The stream names whose direct gets a stream answers: its own with `allow_direct`, its
/// origin's when it mirrors with `mirror_direct`.
pub fn served_names(stream: &str, cfg: &super::api::types::StreamConfig) -> Vec<String> {
    let mut names = Vec::new();
    if cfg.allow_direct {
        names.push(stream.to_string());
    }
    if cfg.mirror_direct {
        if let Some(origin) = &cfg.mirror {
            names.push(origin.name.clone());
        }
    }
    names
}

/// The direct-get subscriptions of one stream.
pub struct DirectGet {
    /// The stream names served (see [`served_names`]).
    names: Vec<String>,
    client: Arc<InternalClient>,
    subs: Vec<Arc<Subscription>>,
    task: tokio::task::AbortHandle,
}

/// Brings a stream's direct-get subscriptions in line with its configuration.
pub fn sync(
    slot: &mut Option<DirectGet>,
    server: &Arc<ServerShared>,
    stream: &Arc<Stream>,
) -> Result<(), String> {
    let want = served_names(&stream.name, &stream.config());
    if slot.as_ref().map_or(want.is_empty(), |d| d.names == want) {
        return Ok(());
    }
    if let Some(d) = slot.take() {
        d.stop(server);
    }
    if !want.is_empty() {
        *slot = Some(DirectGet::start(server, stream, want)?);
    }
    Ok(())
}

impl DirectGet {
    /// Subscribes the direct-get subjects of each of `names`; the stream answers them all.
    pub fn start(
        server: &Arc<ServerShared>,
        stream: &Arc<Stream>,
        names: Vec<String>,
    ) -> Result<DirectGet, String> {
        let client = Arc::new(InternalClient::new(0, stream.account.clone()));
        let mut subs = Vec::new();
        for name in &names {
            let base = format!("$JS.API.DIRECT.GET.{name}");
            for (subject, by_subject) in [(base.clone(), false), (format!("{base}.>"), true)] {
                let weak: Weak<Stream> = Arc::downgrade(stream);
                let prefix_len = base.len() + 1;
                let handler: Handler = Arc::new(move |server, acc, msg: &InMsg| {
                    let Some(s) = weak.upgrade() else { return };
                    if msg.reply.is_empty() {
                        return;
                    }
                    let incoming = Incoming {
                        header: msg.header.as_deref(),
                        body: &msg.payload,
                        last_by_subject: by_subject
                            .then(|| msg.subject.get(prefix_len..).unwrap_or_default()),
                    };
                    let max_pending = server.opts().max_pending;
                    let replies = answer(&s.name, s.store(), &incoming, max_pending);
                    let Some(js) = server.jetstream() else { return };
                    for (hdr, payload) in replies {
                        crate::events::internal::publish(
                            server,
                            js.api_client(),
                            acc,
                            &msg.reply,
                            None,
                            (!hdr.is_empty()).then_some(&hdr[..]),
                            &payload,
                        );
                    }
                });
                subs.push(client.subscribe(&stream.account, &subject, Some(QUEUE), handler)?);
            }
        }
        let task = tokio::spawn(crate::events::internal::dispatch_loop_blocking(
            Arc::downgrade(server),
            client.clone(),
        ))
        .abort_handle();
        Ok(DirectGet {
            names,
            client,
            subs,
            task,
        })
    }

    /// Drops the subscriptions.
    pub fn stop(self, server: &ServerShared) {
        for sub in &self.subs {
            self.client.unsubscribe(server, sub);
        }
        self.client.close(server);
        self.task.abort();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use natsd_store::mem::MemStore;

    fn store() -> MemStore {
        let ms = MemStore::new(natsd_store::StreamConfig {
            name: "KV".into(),
            subjects: vec!["kv.>".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        ms.store_msg("kv.a", b"", b"1", 0).unwrap();
        ms.store_msg("kv.b", b"", b"2", 0).unwrap();
        ms.store_msg("kv.a", b"NATS/1.0\r\nX: y\r\n\r\n", b"3", 0)
            .unwrap();
        ms
    }

    fn ask(ms: &MemStore, body: &[u8], max_pending: i64) -> Vec<Reply> {
        let req = Incoming {
            body,
            ..Default::default()
        };
        answer("KV", ms, &req, max_pending)
    }

    fn header_of(r: &Reply) -> String {
        String::from_utf8(r.0.clone()).unwrap()
    }

    #[test]
    fn by_sequence_and_last_by_subject() {
        let ms = store();
        let r = ask(&ms, br#"{"seq":2}"#, 1 << 20);
        assert_eq!(r.len(), 1);
        let h = header_of(&r[0]);
        assert!(h.starts_with("NATS/1.0\r\nNats-Stream: KV\r\nNats-Subject: kv.b\r\nNats-Sequence: 2\r\nNats-Time-Stamp: "), "{h}");
        assert_eq!(r[0].1, b"2");
        let req = Incoming {
            last_by_subject: Some("kv.a"),
            ..Default::default()
        };
        let r = answer("KV", &ms, &req, 1 << 20);
        let h = header_of(&r[0]);
        assert!(h.starts_with("NATS/1.0\r\nX: y\r\nNats-Stream: KV"), "{h}");
        assert_eq!(r[0].1, b"3");
    }

    #[test]
    fn statuses_for_bad_and_missing() {
        let ms = store();
        let first = |body: &[u8]| header_of(&ask(&ms, body, 1 << 20)[0]);
        assert_eq!(first(b""), "NATS/1.0 408 Empty Request\r\n\r\n");
        assert_eq!(first(b"{}"), "NATS/1.0 408 Empty Request\r\n\r\n");
        // Go only calls an absent body empty; blanks are not JSON.
        assert_eq!(first(b"  "), "NATS/1.0 408 Malformed Request\r\n\r\n");
        assert_eq!(first(b"{x"), "NATS/1.0 408 Malformed Request\r\n\r\n");
        for bad in [
            &br#"{"seq":1,"last_by_subj":"kv.a"}"#[..],
            br#"{"last_by_subj":"kv.a","batch":2}"#,
            br#"{"next_by_subj":"kv.a","multi_last":["kv.a"]}"#,
            br#"{"multi_last":["kv.a"],"up_to_seq":1,"up_to_time":"2024-01-01T00:00:00Z"}"#,
        ] {
            assert_eq!(first(bad), "NATS/1.0 408 Bad Request\r\n\r\n");
        }
        assert_eq!(
            first(br#"{"seq":9}"#),
            "NATS/1.0 404 Message Not Found\r\n\r\n"
        );
        let req = Incoming {
            header: Some(b"NATS/1.0\r\nNats-Required-Api-Level: 999\r\n\r\n"),
            body: br#"{"seq":1}"#,
            last_by_subject: None,
        };
        assert_eq!(
            header_of(&answer("KV", &ms, &req, 1)[0]),
            "NATS/1.0 412 Required Api Level\r\n\r\n"
        );
        let req = Incoming {
            body: br#"{"seq":1}"#,
            last_by_subject: Some("kv.a"),
            ..Default::default()
        };
        assert_eq!(
            header_of(&answer("KV", &ms, &req, 1)[0]),
            "NATS/1.0 408 Bad Request\r\n\r\n"
        );
    }

    #[test]
    fn batches_end_with_eob() {
        let ms = store();
        let r = ask(&ms, br#"{"seq":1,"batch":5}"#, 1 << 20);
        assert_eq!(r.len(), 4);
        assert!(header_of(&r[0]).contains("Nats-Num-Pending: 2\r\nNats-Last-Sequence: 0\r\n"));
        assert_eq!(
            header_of(&r[3]),
            "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\nNats-Last-Sequence: 3\r\n\r\n"
        );
        // The byte budget stops a batch after the message that reaches it.
        let r = ask(&ms, br#"{"seq":1,"batch":5,"max_bytes":6}"#, 1 << 20);
        assert_eq!(r.len(), 3);
        assert_eq!(
            header_of(&r[2]),
            "NATS/1.0 204 EOB\r\nNats-Num-Pending: 1\r\nNats-Last-Sequence: 2\r\n\r\n"
        );
        // Without headers, nothing but the payloads (and the EOB).
        let r = ask(&ms, br#"{"seq":2,"batch":5,"no_hdr":true}"#, 1 << 20);
        assert_eq!(r.len(), 3);
        assert!(r[0].0.is_empty() && r[1].0.is_empty());
        assert_eq!((&r[0].1[..], &r[1].1[..]), (&b"2"[..], &b"3"[..]));
    }

    #[test]
    fn multi_last_pages_and_reports_the_ceiling() {
        let ms = store();
        let r = ask(&ms, br#"{"multi_last":["kv.>"]}"#, 1 << 20);
        assert_eq!(r.len(), 3);
        assert_eq!((&r[0].1[..], &r[1].1[..]), (&b"2"[..], &b"3"[..]));
        assert!(header_of(&r[0]).contains("Nats-Num-Pending: 1\r\nNats-Last-Sequence: 0\r\n"));
        assert_eq!(
            header_of(&r[2]),
            "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\nNats-Last-Sequence: 3\r\nNats-UpTo-Sequence: 3\r\n\r\n"
        );
        // One at a time: what is left stays pending, and `seq` picks up from there.
        let r = ask(&ms, br#"{"multi_last":["kv.>"],"batch":1}"#, 1 << 20);
        assert_eq!(
            header_of(&r[1]),
            "NATS/1.0 204 EOB\r\nNats-Num-Pending: 1\r\nNats-Last-Sequence: 2\r\nNats-UpTo-Sequence: 3\r\n\r\n"
        );
        let r = ask(&ms, br#"{"multi_last":["kv.>"],"seq":3}"#, 1 << 20);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1, b"3");
        // Headers always go with a multi-last get; no_hdr is not for it.
        let r = ask(&ms, br#"{"multi_last":["kv.b"],"no_hdr":true}"#, 1 << 20);
        assert!(header_of(&r[0]).contains("Nats-Sequence: 2\r\n"));
        assert_eq!(
            header_of(&ask(&ms, br#"{"multi_last":["x.>"]}"#, 1 << 20)[0]),
            "NATS/1.0 404 No Results\r\n\r\n"
        );
        // A time at or before the first message finds nothing.
        assert_eq!(
            header_of(
                &ask(
                    &ms,
                    br#"{"multi_last":["kv.>"],"up_to_time":"2000-01-01T00:00:00Z"}"#,
                    1 << 20
                )[0]
            ),
            "NATS/1.0 404 No Results\r\n\r\n"
        );
    }
}
