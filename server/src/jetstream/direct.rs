//! Direct get (`allow_direct`): `$JS.API.DIRECT.GET.<stream>` answers a message get
//! request with the message itself (stream, subject, sequence and time in headers), and
//! `$JS.API.DIRECT.GET.<stream>.<subject>` with the last message on that subject. Key-value
//! clients read through it. Errors are status headers, as Go sends them.

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

/// One answer: a header block and a payload.
pub type Reply = (Vec<u8>, Vec<u8>);

fn status(text: &str) -> Reply {
    (format!("NATS/1.0 {text}\r\n\r\n").into_bytes(), Vec::new())
}

/// A stored message with the direct-get headers added.
fn message_reply(stream: &str, m: &StoreMsg, batch: Option<(u64, u64)>, no_hdr: bool) -> Reply {
    if no_hdr {
        return (Vec::new(), m.msg.to_vec());
    }
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

/// Answers a direct get request (pure over the store): the replies to send, in order.
/// `last_by_subject` is the subject in the request subject, for the second form.
pub fn answer(
    stream: &str,
    store: &dyn Store,
    body: &[u8],
    last_by_subject: Option<&str>,
    max_pending: i64,
) -> Vec<Reply> {
    let body = body.trim_ascii();
    let mut req = if body.is_empty() {
        if last_by_subject.is_none() {
            return vec![status("408 Empty Request")];
        }
        MsgGetRequest::default()
    } else {
        match super::api::decode_like_go::<MsgGetRequest>(body) {
            Ok(r) => r,
            Err(_) => return vec![status("408 Malformed Request")],
        }
    };
    if let Some(key) = last_by_subject {
        if key.is_empty()
            || !req.last_for.is_empty()
            || !req.next_for.is_empty()
            || !req.multi_last_for.is_empty()
            || req.seq != 0
            || req.batch != 0
            || req.start_time.is_some()
            || req.up_to_seq != 0
            || req.up_to_time.is_some()
        {
            return vec![status("408 Bad Request")];
        }
        req.last_for = key.to_string();
    } else {
        if req.seq == 0
            && req.last_for.is_empty()
            && req.next_for.is_empty()
            && req.multi_last_for.is_empty()
            && req.start_time.is_none()
        {
            return vec![status("408 Empty Request")];
        }
        let has_start = req.start_time.is_some();
        let last_for = !req.last_for.is_empty();
        // Options that cannot go together (Go's list).
        let conflicting = [
            req.seq > 0 && (last_for || has_start),
            has_start && last_for,
            last_for && (!req.next_for.is_empty() || req.batch > 0),
            !req.multi_last_for.is_empty() && (last_for || !req.next_for.is_empty()),
            req.up_to_seq > 0 && req.up_to_time.is_some(),
        ];
        if conflicting.iter().any(|&c| c) {
            return vec![status("408 Bad Request")];
        }
    }
    if !req.multi_last_for.is_empty() {
        return multi_last(stream, store, &req);
    }
    let mut seq = match req.start_time {
        Some(t) => store.get_seq_from_time(t.unix_nanos()),
        None => req.seq,
    };
    let is_batch = req.batch > 0;
    let batch = req.batch.max(1);
    let mut pending = if is_batch {
        match store.num_pending(seq, &req.next_for, false) {
            Ok((n, _)) => n,
            Err(_) => return Vec::new(),
        }
    } else {
        0
    };
    let max_bytes = if req.max_bytes > 0 {
        req.max_bytes
    } else {
        max_pending
    };
    let wc = natsd_store::subject_has_wildcard(&req.next_for);
    let mut out = Vec::new();
    let mut last = 0u64;
    let mut sent = 0i64;
    for i in 0..batch {
        let loaded = if seq > 0 && req.next_for.is_empty() {
            if i == 0 && !is_batch {
                store.load_msg(seq)
            } else {
                // Later batch steps walk over deleted sequences.
                store
                    .load_next_msg(">", true, seq)
                    .map(|(m, _)| m)
                    .map_err(|(e, _)| e)
            }
        } else if !req.next_for.is_empty() {
            store
                .load_next_msg(&req.next_for, wc, seq)
                .map(|(m, _)| m)
                .map_err(|(e, _)| e)
        } else {
            store.load_last_msg(&req.last_for)
        };
        let m = match loaded {
            Ok(m) => m,
            Err(_) => {
                if batch > 1 && i > 0 {
                    break;
                }
                return vec![status("404 Message Not Found")];
            }
        };
        seq = m.seq + 1;
        if is_batch {
            pending = pending.saturating_sub(1);
        }
        let batch_hdrs = is_batch.then_some((pending, last));
        out.push(message_reply(stream, &m, batch_hdrs, req.no_headers));
        last = m.seq;
        sent += (m.subject.len() + m.hdr.len() + m.msg.len()) as i64;
        if sent >= max_bytes {
            break;
        }
    }
    if is_batch {
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

/// The last message of every subject matching the request's filters (up to a sequence
/// or time), then an end-of-batch status.
fn multi_last(stream: &str, store: &dyn Store, req: &MsgGetRequest) -> Vec<Reply> {
    let up_to = match req.up_to_time {
        Some(t) => store.get_seq_from_time(t.unix_nanos()).saturating_sub(1),
        None => req.up_to_seq,
    };
    let seqs = match store.multi_last_seqs(&req.multi_last_for, up_to, 1024) {
        Ok(s) => s,
        Err(natsd_store::StoreError::TooManyResults) => {
            return vec![status("413 Too Many Results")];
        }
        Err(_) => return vec![status("404 No Results")],
    };
    if seqs.is_empty() {
        return vec![status("404 No Results")];
    }
    let limit = if req.batch > 0 {
        req.batch as usize
    } else {
        seqs.len()
    };
    let mut out = Vec::new();
    let mut last = 0;
    let total = seqs.len().min(limit);
    for (i, &s) in seqs.iter().take(limit).enumerate() {
        if let Ok(m) = store.load_msg(s) {
            let pending = (total - i - 1) as u64;
            out.push(message_reply(
                stream,
                &m,
                Some((pending, last)),
                req.no_headers,
            ));
            last = m.seq;
        }
    }
    let up_to_seq = if up_to > 0 {
        up_to
    } else {
        store.fast_state().last_seq
    };
    out.push((
        format!(
            "NATS/1.0 204 EOB\r\n{NUM_PENDING_HDR}: 0\r\n{LAST_SEQ_HDR}: {last}\r\nNats-UpTo-Sequence: {up_to_seq}\r\n\r\n"
        )
        .into_bytes(),
        Vec::new(),
    ));
    out
}

/// The direct-get subscriptions of one stream.
pub struct DirectGet {
    client: Arc<InternalClient>,
    subs: Vec<Arc<Subscription>>,
    task: tokio::task::AbortHandle,
}

impl DirectGet {
    /// Subscribes the stream's direct-get subjects.
    pub fn start(server: &Arc<ServerShared>, stream: &Arc<Stream>) -> Result<DirectGet, String> {
        let client = Arc::new(InternalClient::new(0, stream.account.clone()));
        let base = format!("$JS.API.DIRECT.GET.{}", stream.name);
        let mut subs = Vec::new();
        for (subject, by_subject) in [(base.clone(), false), (format!("{base}.>"), true)] {
            let weak: Weak<Stream> = Arc::downgrade(stream);
            let prefix_len = base.len() + 1;
            let handler: Handler = Arc::new(move |server, acc, msg: &InMsg| {
                let Some(s) = weak.upgrade() else { return };
                if msg.reply.is_empty() {
                    return;
                }
                let key = by_subject.then(|| msg.subject.get(prefix_len..).unwrap_or_default());
                let max_pending = server.opts().max_pending;
                let replies = answer(&s.name, s.store(), &msg.payload, key, max_pending);
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
        let task = tokio::spawn(crate::events::internal::dispatch_loop_blocking(
            Arc::downgrade(server),
            client.clone(),
        ))
        .abort_handle();
        Ok(DirectGet { client, subs, task })
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

    fn header_of(r: &Reply) -> String {
        String::from_utf8(r.0.clone()).unwrap()
    }

    #[test]
    fn by_sequence_and_last_by_subject() {
        let ms = store();
        let r = answer("KV", &ms, br#"{"seq":2}"#, None, 1 << 20);
        assert_eq!(r.len(), 1);
        let h = header_of(&r[0]);
        assert!(h.starts_with("NATS/1.0\r\nNats-Stream: KV\r\nNats-Subject: kv.b\r\nNats-Sequence: 2\r\nNats-Time-Stamp: "), "{h}");
        assert_eq!(r[0].1, b"2");
        let r = answer("KV", &ms, b"", Some("kv.a"), 1 << 20);
        let h = header_of(&r[0]);
        assert!(h.starts_with("NATS/1.0\r\nX: y\r\nNats-Stream: KV"), "{h}");
        assert_eq!(r[0].1, b"3");
    }

    #[test]
    fn statuses_for_bad_and_missing() {
        let ms = store();
        assert_eq!(
            header_of(&answer("KV", &ms, b"", None, 1)[0]),
            "NATS/1.0 408 Empty Request\r\n\r\n"
        );
        assert_eq!(
            header_of(&answer("KV", &ms, b"{x", None, 1)[0]),
            "NATS/1.0 408 Malformed Request\r\n\r\n"
        );
        assert_eq!(
            header_of(&answer("KV", &ms, br#"{"seq":1,"last_by_subj":"kv.a"}"#, None, 1)[0]),
            "NATS/1.0 408 Bad Request\r\n\r\n"
        );
        assert_eq!(
            header_of(&answer("KV", &ms, br#"{"seq":9}"#, None, 1 << 20)[0]),
            "NATS/1.0 404 Message Not Found\r\n\r\n"
        );
    }

    #[test]
    fn batches_end_with_eob() {
        let ms = store();
        let r = answer("KV", &ms, br#"{"seq":1,"batch":5}"#, None, 1 << 20);
        assert_eq!(r.len(), 4);
        assert!(header_of(&r[0]).contains("Nats-Num-Pending: 2\r\nNats-Last-Sequence: 0\r\n"));
        assert_eq!(
            header_of(&r[3]),
            "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\nNats-Last-Sequence: 3\r\n\r\n"
        );
        let r = answer("KV", &ms, br#"{"multi_last":["kv.>"]}"#, None, 1 << 20);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].1, b"2");
        assert_eq!(r[1].1, b"3");
    }
}
