//! Mirrors and sources: a stream that copies another stream's messages.
//!
//! A mirror keeps the origin's sequences and times; a source stores the origin's
//! messages as new ones, marked with a `Nats-Stream-Source` header (`<origin> <seq>
//! <filter> <destination> <subject>`, Go's format), which also tells a restarted stream
//! where to resume. natsd reads origins in the same account straight from their store,
//! woken by the origin's new messages, instead of through an internal consumer as Go
//! does; origins in other accounts or domains (`external`) are not supported yet.

use super::api::errors::{self, ApiError};
use super::api::types::{StreamSource, StreamSourceInfo, SubjectTransformConfig};
use super::stream::Stream;
use crate::events::internal::InMsg;
use crate::monitor::gotime::now_nanos;
use crate::server::ServerShared;
use crate::subject_transform::SubjectTransform;
use natsd_store::{Store, StoreMsg};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The taps of the streams sourcing from a stream (see [`Tap`]).
#[derive(Default)]
pub struct Taps(Mutex<Vec<Weak<Tap>>>);

impl Taps {
    /// The origin stored messages from `first` on: each tap takes them.
    pub fn stored(&self, store: &dyn Store, first: u64) {
        let taps: Vec<Arc<Tap>> = {
            let mut list = self.0.lock();
            list.retain(|t| t.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        if taps.is_empty() {
            return;
        }
        let last = store.fast_state().last_seq;
        for seq in first..=last {
            let Ok(m) = store.load_msg(seq) else {
                continue;
            };
            for t in &taps {
                t.take(&m);
            }
        }
    }

    fn add(&self, tap: &Arc<Tap>) {
        let mut list = self.0.lock();
        if !list
            .iter()
            .any(|t| std::ptr::eq(t.as_ptr(), Arc::as_ptr(tap)))
        {
            list.push(Arc::downgrade(tap));
        }
    }
}

/// The origin's new messages for one source, taken as the origin stores them: the copy
/// task finds a message here when the origin removed it before the task got to it (a
/// key-value bucket keeping one revision per key), as Go's source consumer, signalled as
/// the origin stores, does not miss it. Bounded: past the bound the store is all there is.
pub struct Tap {
    filters: natsd_store::SubjectFilters,
    msgs: Mutex<std::collections::BTreeMap<u64, StoreMsg>>,
}

/// How many messages a tap holds for a source that lags.
const TAP_LIMIT: usize = 10_000;

impl Tap {
    fn new(origin: &Origin) -> Tap {
        let mut filters = natsd_store::SubjectFilters::new();
        for f in origin.filters() {
            filters.insert(&f);
        }
        Tap {
            filters,
            msgs: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    fn take(&self, m: &StoreMsg) {
        if !self.filters.is_empty() && !self.filters.has_interest(&m.subject) {
            return;
        }
        let mut msgs = self.msgs.lock();
        if msgs.len() < TAP_LIMIT {
            msgs.insert(m.seq, m.clone());
        }
    }

    /// The first message held at `seq` or later, forgetting those before it.
    fn next_from(&self, seq: u64) -> Option<StoreMsg> {
        let mut msgs = self.msgs.lock();
        *msgs = msgs.split_off(&seq);
        msgs.values().next().cloned()
    }
}

/// The source header's name.
pub const SOURCE_HDR: &str = "Nats-Stream-Source";
/// Messages copied per pass before the task yields.
const PASS: usize = 1024;

/// What a stream copies from one origin.
#[derive(Debug, Clone)]
pub struct Origin {
    pub spec: StreamSource,
    /// Go's index name: `<name> <filter or >> <destination or >>`.
    pub iname: String,
    pub mirror: bool,
}

impl Origin {
    pub fn new(spec: &StreamSource, mirror: bool) -> Origin {
        let (src, dest) = if spec.subject_transforms.is_empty() {
            let src = if spec.filter_subject.is_empty() {
                ">".to_string()
            } else {
                spec.filter_subject.clone()
            };
            (src, ">".to_string())
        } else {
            let or_all = |s: &str| {
                if s.is_empty() {
                    ">".to_string()
                } else {
                    s.to_string()
                }
            };
            let srcs: Vec<String> = spec
                .subject_transforms
                .iter()
                .map(|t| or_all(&t.source))
                .collect();
            let dests: Vec<String> = spec
                .subject_transforms
                .iter()
                .map(|t| or_all(&t.destination))
                .collect();
            (srcs.join("\x0c"), dests.join("\x0c"))
        };
        Origin {
            spec: spec.clone(),
            iname: format!("{} {src} {dest}", spec.name),
            mirror,
        }
    }

    /// The filters selecting the origin's messages (none: all).
    fn filters(&self) -> Vec<String> {
        if !self.spec.filter_subject.is_empty() {
            return vec![self.spec.filter_subject.clone()];
        }
        self.spec
            .subject_transforms
            .iter()
            .map(|t| {
                if t.source.is_empty() {
                    ">".to_string()
                } else {
                    t.source.clone()
                }
            })
            .filter(|s| s != ">")
            .collect()
    }

    fn transforms(&self) -> Vec<SubjectTransform> {
        self.spec
            .subject_transforms
            .iter()
            .filter_map(|t: &SubjectTransformConfig| {
                let src = if t.source.is_empty() { ">" } else { &t.source };
                SubjectTransform::new(src, &t.destination).ok().flatten()
            })
            .collect()
    }
}

/// What the stream info shows of one origin.
#[derive(Debug, Clone, Default)]
pub struct OriginStatus {
    pub name: String,
    pub filter_subject: String,
    pub subject_transforms: Vec<SubjectTransformConfig>,
    pub lag: u64,
    /// When a message was last copied (ns), 0 never.
    pub last_active: i64,
    pub error: Option<ApiError>,
}

impl OriginStatus {
    pub fn info(&self, now: i64) -> StreamSourceInfo {
        StreamSourceInfo {
            name: self.name.clone(),
            external: None,
            lag: self.lag,
            active: if self.last_active == 0 {
                -1
            } else {
                now.saturating_sub(self.last_active)
            },
            error: self.error.clone(),
            filter_subject: self.filter_subject.clone(),
            subject_transforms: self.subject_transforms.clone(),
        }
    }
}

/// The sequence of the origin message a source header records, if the header is this
/// origin's.
pub fn sourced_seq(hdr: &[u8], iname: &str) -> Option<u64> {
    let v = crate::client::header::slice_header(SOURCE_HDR, hdr)?;
    let text = std::str::from_utf8(v).ok()?;
    let fields: Vec<&str> = text.split(' ').collect();
    if fields.len() == 2 {
        // The pre-2.10 form, `<stream> <seq>`: any origin of that name.
        let name = iname.split(' ').next().unwrap_or_default();
        return (fields[0] == name)
            .then(|| fields[1].parse().ok())
            .flatten();
    }
    if fields.len() < 4 {
        return None;
    }
    let key = format!("{} {} {}", fields[0], fields[2], fields[3]);
    let ours: Vec<&str> = iname.splitn(3, ' ').collect();
    let wanted = ours.join(" ");
    (key == wanted).then(|| fields[1].parse().ok()).flatten()
}

/// Where a source resumes: after the last origin sequence the stream holds from it.
fn resume_after(target: &dyn Store, iname: &str) -> u64 {
    let state = target.fast_state();
    let mut seq = state.last_seq;
    let mut scanned = 0;
    while seq >= state.first_seq.max(1) && scanned < 100_000 {
        match target.load_prev_msg("", false, seq) {
            Ok((m, _)) => {
                if let Some(s) = sourced_seq(&m.hdr, iname) {
                    return s;
                }
                if m.seq == 0 {
                    break;
                }
                seq = m.seq - 1;
            }
            Err(_) => break,
        }
        scanned += 1;
    }
    0
}

/// Starts one copying task per origin of `stream`; returns their handles.
pub fn start(server: &Arc<ServerShared>, stream: &Arc<Stream>) -> Vec<tokio::task::AbortHandle> {
    let cfg = stream.config();
    let mut origins = Vec::new();
    if let Some(m) = &cfg.mirror {
        origins.push(Origin::new(m, true));
    }
    for s in &cfg.sources {
        origins.push(Origin::new(s, false));
    }
    let mut status = stream.sourcing.lock();
    status.clear();
    let mut handles = Vec::new();
    for (i, o) in origins.into_iter().enumerate() {
        status.push(OriginStatus {
            name: o.spec.name.clone(),
            filter_subject: o.spec.filter_subject.clone(),
            subject_transforms: o.spec.subject_transforms.clone(),
            ..Default::default()
        });
        let task = tokio::spawn(copy_loop(
            Arc::downgrade(server),
            Arc::downgrade(stream),
            o,
            i,
        ));
        handles.push(task.abort_handle());
    }
    handles
}

/// Copies from one origin for as long as the stream lives.
async fn copy_loop(server: Weak<ServerShared>, target: Weak<Stream>, origin: Origin, index: usize) {
    // Where to continue: 0 until worked out on the first pass.
    let next = Arc::new(Mutex::new(0u64));
    let tap = Arc::new(Tap::new(&origin));
    loop {
        let (Some(s), Some(t)) = (server.upgrade(), target.upgrade()) else {
            return;
        };
        if t.is_closed() {
            return;
        }
        let found = s
            .jetstream()
            .and_then(|js| js.account(&t.account.name))
            .and_then(|jsa| jsa.stream(&origin.spec.name));
        let Some(src) = found else {
            if let Some(st) = t.sourcing.lock().get_mut(index) {
                st.error = Some(errors::STREAM_NOT_FOUND.new());
            }
            drop((s, t));
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        src.source_taps.add(&tap);
        let watch = src.watch();
        let notified = watch.notified();
        tokio::pin!(notified);
        // Register before copying, so nothing stored meanwhile is missed.
        notified.as_mut().enable();
        let o = origin.clone();
        let n = next.clone();
        let tp = tap.clone();
        let work = tokio::task::spawn_blocking(move || copy_pass(&s, &t, &src, &o, index, &n, &tp));
        match work.await.unwrap_or(Pass::Idle) {
            Pass::More => {}
            // Room comes from consumers and limits, not from the origin: look again soon.
            Pass::Refused => tokio::time::sleep(REFUSED_RETRY).await,
            Pass::Idle => {
                let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
            }
        }
    }
}

/// How a copy pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// It stopped at its size: there may be more now.
    More,
    /// It copied everything there was (or met an error).
    Idle,
    /// The target refused a message (e.g. a work queue at its limit with discard new).
    Refused,
}

/// How soon a source whose target refused a message tries it again.
const REFUSED_RETRY: Duration = Duration::from_millis(100);

/// One pass: copies what the origin has beyond `next`.
fn copy_pass(
    server: &Arc<ServerShared>,
    target: &Arc<Stream>,
    src: &Arc<Stream>,
    origin: &Origin,
    index: usize,
    next: &Mutex<u64>,
    tap: &Tap,
) -> Pass {
    let origin_store = src.store();
    let mut next_seq = *next.lock();
    if next_seq == 0 {
        next_seq = if origin.mirror {
            mirror_start(origin, &target.store().fast_state(), origin_store)
        } else {
            match resume_after(target.store(), &origin.iname) {
                0 => fresh_source_start(origin, &target.store().fast_state(), origin_store),
                s => s + 1,
            }
        };
    }
    let filters = origin.filters();
    let mut filter_set = natsd_store::SubjectFilters::new();
    for f in &filters {
        filter_set.insert(f);
    }
    let transforms = origin.transforms();
    let mut copied = 0;
    let mut more = false;
    let mut refused = false;
    let mut failed = None;
    while copied < PASS {
        let found = if filters.is_empty() {
            origin_store.load_next_msg("", false, next_seq)
        } else {
            origin_store.load_next_msg_multi(&filter_set, next_seq)
        };
        // The next message is in the store or, removed from it since, in the tap.
        let m = match (found, tap.next_from(next_seq)) {
            (Ok((m, _)), Some(t)) if t.seq < m.seq => t,
            (Ok((m, _)), _) => m,
            (Err(_), Some(t)) => t,
            (Err(_), None) => break,
        };
        let subject = transforms
            .iter()
            .find_map(|t| t.match_subject(&m.subject).ok())
            .unwrap_or_else(|| m.subject.clone());
        let result = if origin.mirror {
            // A mirror's subject transforms apply too (its sequences stay the origin's).
            let hdr = mirrored_header(&m.hdr);
            if subject == m.subject && hdr.is_none() {
                target.store_mirrored(&m)
            } else {
                target.store_mirrored(&StoreMsg {
                    subject,
                    hdr: hdr.map(bytes::Bytes::from).unwrap_or_else(|| m.hdr.clone()),
                    ..m.clone()
                })
            }
        } else if store_sourced(server, target, origin, &m, subject) {
            Ok(())
        } else {
            // Refused (a work queue at its limit with discard new, ...): copied again
            // from this message on the next pass, as Go retries its source consumer at
            // the sequence it could not store. Nothing is skipped.
            refused = true;
            break;
        };
        if let Err(e) = result {
            failed = Some(errors::STREAM_GENERAL_ERROR.with_err(&e));
            break;
        }
        next_seq = m.seq + 1;
        copied += 1;
        if copied == PASS {
            more = true;
        }
    }
    *next.lock() = next_seq;
    let origin_last = origin_store.fast_state().last_seq;
    if let Some(st) = target.sourcing.lock().get_mut(index) {
        st.error = failed;
        st.lag = origin_last.saturating_sub(next_seq.saturating_sub(1));
        // Active when it copied, or first reached the origin.
        if copied > 0 || st.last_active == 0 {
            st.last_active = now_nanos();
        }
    }
    if refused {
        Pass::Refused
    } else if more {
        Pass::More
    } else {
        Pass::Idle
    }
}

/// The header a mirror stores for an origin message, when it differs: without the
/// origin's publish expectations (not checked again) and batch headers (batches do not
/// carry over), as Go strips them from what its mirror consumer delivers.
fn mirrored_header(hdr: &[u8]) -> Option<Vec<u8>> {
    if hdr.is_empty() {
        return None;
    }
    let without = strip_origin_only_headers(hdr.to_vec());
    (without != hdr).then_some(without)
}

/// Removes the headers that only meant something to the origin's publisher.
fn strip_origin_only_headers(hdr: Vec<u8>) -> Vec<u8> {
    let hdr = crate::client::header::remove_header_if_prefix_present(hdr, "Nats-Expected-");
    crate::client::header::remove_header_if_prefix_present(hdr, "Nats-Batch-")
}

/// The first origin sequence a mirror copies: from its start options while it has never
/// held anything (Go applies them only then), else the one after its last.
fn mirror_start(origin: &Origin, mirror: &natsd_store::StreamState, store: &dyn Store) -> u64 {
    if mirror.msgs == 0 && mirror.first_seq == 0 {
        start_of(origin, store)
    } else {
        mirror.last_seq + 1
    }
}

/// The first origin sequence a new source copies (its start options), kept within what
/// the origin holds.
fn start_of(origin: &Origin, store: &dyn Store) -> u64 {
    let state = store.fast_state();
    let wanted = if origin.spec.opt_start_seq > 0 {
        origin.spec.opt_start_seq
    } else if let Some(t) = origin.spec.opt_start_time {
        store.get_seq_from_time(t.unix_nanos())
    } else {
        state.first_seq.max(1)
    };
    clip_start(wanted, state.first_seq, state.last_seq)
}

/// The first origin sequence a source copies when the stream holds nothing copied from
/// it, as Go places its source consumer then: its start sequence, else its start time
/// (not before the stream's last message), else, when the stream has lost its first
/// messages (a work queue that consumed them), from its last message's time (what came
/// before was copied already), else the origin's first message.
fn fresh_source_start(
    origin: &Origin,
    target: &natsd_store::StreamState,
    store: &dyn Store,
) -> u64 {
    let state = store.fast_state();
    let wanted = if origin.spec.opt_start_seq > 0 {
        origin.spec.opt_start_seq
    } else if let Some(t) = origin.spec.opt_start_time {
        let t = t.unix_nanos();
        let t = if target.last_time != 0 && t < target.last_time {
            target.last_time
        } else {
            t
        };
        store.get_seq_from_time(t)
    } else if target.first_seq > 1 && target.last_time != 0 {
        store.get_seq_from_time(target.last_time)
    } else {
        state.first_seq.max(1)
    };
    clip_start(wanted, state.first_seq, state.last_seq)
}

/// Where copying starts for a wanted start sequence, given the origin's first and last
/// sequences (as Go places its sourcing consumer): an empty origin from 1, a start
/// beyond the origin's end at the next message it stores, one before its first message
/// at that message.
pub fn clip_start(wanted: u64, first_seq: u64, last_seq: u64) -> u64 {
    if first_seq == 0 {
        1
    } else if wanted > last_seq {
        last_seq + 1
    } else {
        wanted.max(first_seq)
    }
}

/// Stores a sourced message as a new message of `target`; whether it is there now
/// (stored, or a duplicate of a stored one).
fn store_sourced(
    server: &Arc<ServerShared>,
    target: &Arc<Stream>,
    origin: &Origin,
    m: &StoreMsg,
    subject: String,
) -> bool {
    let parts: Vec<&str> = origin.iname.splitn(3, ' ').collect();
    let value = format!(
        "{} {} {} {} {}",
        parts.first().copied().unwrap_or_default(),
        m.seq,
        parts.get(1).copied().unwrap_or(">"),
        parts.get(2).copied().unwrap_or(">"),
        m.subject
    );
    let base: &[u8] = if m.hdr.is_empty() {
        b"NATS/1.0\r\n\r\n"
    } else {
        &m.hdr
    };
    let without = crate::client::header::remove_header_if_present(base.to_vec(), SOURCE_HDR);
    // The origin's publish expectations (a KV update's last subject sequence) are not
    // checked again here, and batches do not carry over (Go drops both).
    let without = strip_origin_only_headers(without);
    let hdr = crate::client::header::gen_header(&without, SOURCE_HDR, &value);
    target
        .store_batch(
            server,
            vec![InMsg {
                subject,
                reply: String::new(),
                header: Some(bytes::Bytes::from(hdr)),
                payload: m.msg.clone(),
                publisher: 0,
            }],
        )
        .first()
        .copied()
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_and_source_headers_match_go() {
        let spec = StreamSource {
            name: "ORDERS".into(),
            filter_subject: "orders.eu.>".into(),
            ..Default::default()
        };
        let o = Origin::new(&spec, false);
        assert_eq!(o.iname, "ORDERS orders.eu.> >");
        let hdr = b"NATS/1.0\r\nNats-Stream-Source: ORDERS 42 orders.eu.> > orders.eu.1\r\n\r\n";
        assert_eq!(sourced_seq(hdr, &o.iname), Some(42));
        let other = Origin::new(
            &StreamSource {
                name: "ORDERS".into(),
                ..Default::default()
            },
            false,
        );
        assert_eq!(sourced_seq(hdr, &other.iname), None);
        // Before 2.10 the header held the stream name and sequence only.
        let old = b"NATS/1.0\r\nNats-Stream-Source: ORDERS 7\r\n\r\n";
        assert_eq!(sourced_seq(old, &other.iname), Some(7));
        assert_eq!(sourced_seq(old, "OTHER > >"), None);
    }

    #[test]
    fn a_mirror_drops_the_origins_expectations_and_batch_headers() {
        let hdr = b"NATS/1.0\r\nNats-Expected-Last-Sequence: 1\r\nA: b\r\nNats-Batch-Id: x\r\nNats-Expected-Stream: O\r\n\r\n";
        assert_eq!(
            mirrored_header(hdr).as_deref(),
            Some(&b"NATS/1.0\r\nA: b\r\n\r\n"[..])
        );
        // Nothing else left: no header at all.
        let only = b"NATS/1.0\r\nNats-Expected-Last-Msg-Id: x\r\n\r\n";
        assert_eq!(mirrored_header(only).as_deref(), Some(&b""[..]));
        // Unchanged: stored as it is.
        assert_eq!(mirrored_header(b"NATS/1.0\r\nNats-Incr: 1\r\n\r\n"), None);
        assert_eq!(mirrored_header(b""), None);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_source_without_copies_in_a_stream_that_lost_its_first_messages_starts_at_its_last_time() {
        let origin_store = natsd_store::mem::MemStore::new(natsd_store::StreamConfig {
            name: "S1".into(),
            subjects: vec!["foo".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        let mut times = Vec::new();
        for _ in 0..4 {
            times.push(origin_store.store_msg("foo", b"", b"", 0).unwrap().1);
        }
        let plain = Origin::new(
            &StreamSource {
                name: "S1".into(),
                ..Default::default()
            },
            false,
        );
        // A new stream, or one still holding its first message: from the start.
        let fresh = natsd_store::StreamState::default();
        assert_eq!(fresh_source_start(&plain, &fresh, &origin_store), 1);
        let holding = natsd_store::StreamState {
            msgs: 1,
            first_seq: 1,
            last_seq: 1,
            last_time: times[3] + 1,
            ..Default::default()
        };
        assert_eq!(fresh_source_start(&plain, &holding, &origin_store), 1);
        // A work queue emptied after its last copy: nothing older than that comes again.
        let emptied = natsd_store::StreamState {
            first_seq: 5,
            last_seq: 4,
            last_time: times[3] + 1,
            ..Default::default()
        };
        assert_eq!(fresh_source_start(&plain, &emptied, &origin_store), 5);
        let partly = natsd_store::StreamState {
            last_time: times[2],
            ..emptied.clone()
        };
        let first_at = times.iter().position(|&t| t >= times[2]).unwrap() as u64 + 1;
        assert_eq!(fresh_source_start(&plain, &partly, &origin_store), first_at);
        // A start sequence wins.
        let by_seq = Origin::new(
            &StreamSource {
                name: "S1".into(),
                opt_start_seq: 2,
                ..Default::default()
            },
            false,
        );
        assert_eq!(fresh_source_start(&by_seq, &emptied, &origin_store), 2);
    }

    #[test]
    fn a_start_sequence_is_clipped_to_the_origin() {
        // Past the end: the next message the origin stores.
        assert_eq!(clip_start(20, 1, 10), 11);
        assert_eq!(clip_start(11, 1, 10), 11);
        // Within.
        assert_eq!(clip_start(5, 1, 10), 5);
        // Before the first message still held.
        assert_eq!(clip_start(2, 4, 10), 4);
        // An empty origin, never written: from 1; purged: after its last.
        assert_eq!(clip_start(20, 0, 0), 1);
        assert_eq!(clip_start(20, 11, 10), 11);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_tap_keeps_what_its_origin_stored_even_once_removed() {
        let store = natsd_store::mem::MemStore::new(natsd_store::StreamConfig {
            name: "S1".into(),
            subjects: vec!["foo".into(), "bar".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        let spec = StreamSource {
            name: "S1".into(),
            filter_subject: "foo".into(),
            ..Default::default()
        };
        let taps = Taps::default();
        let tap = Arc::new(Tap::new(&Origin::new(&spec, false)));
        taps.add(&tap);
        taps.add(&tap);
        for subject in ["foo", "bar", "foo"] {
            store.store_msg(subject, b"", b"", 0).unwrap();
        }
        taps.stored(&store, 1);
        store.remove_msg(1).unwrap();
        // Filtered, in order, removed ones too.
        assert_eq!(tap.next_from(1).map(|m| m.seq), Some(1));
        assert_eq!(tap.next_from(2).map(|m| m.seq), Some(3));
        assert_eq!(tap.next_from(4).map(|m| m.seq), None);
        // A dropped tap is forgotten.
        drop(tap);
        taps.stored(&store, 1);
        assert!(taps.0.lock().is_empty());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_mirror_uses_its_start_sequence_only_while_empty() {
        let origin_store = natsd_store::mem::MemStore::new(natsd_store::StreamConfig {
            name: "S1".into(),
            subjects: vec!["foo".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..10 {
            origin_store.store_msg("foo", b"", b"", 0).unwrap();
        }
        let spec = StreamSource {
            name: "S1".into(),
            opt_start_seq: 5,
            ..Default::default()
        };
        let o = Origin::new(&spec, true);
        let empty = natsd_store::StreamState::default();
        assert_eq!(mirror_start(&o, &empty, &origin_store), 5);
        let holding = natsd_store::StreamState {
            msgs: 2,
            first_seq: 5,
            last_seq: 6,
            ..Default::default()
        };
        assert_eq!(mirror_start(&o, &holding, &origin_store), 7);
        // Without start options, from the origin's first message.
        let plain = Origin::new(
            &StreamSource {
                name: "S1".into(),
                ..Default::default()
            },
            true,
        );
        assert_eq!(mirror_start(&plain, &empty, &origin_store), 1);
    }
}
