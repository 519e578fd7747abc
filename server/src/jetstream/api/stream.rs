//! `$JS.API.INFO` and the `$JS.API.STREAM.*` verbs (Go's `jsStream*Request`).

use super::errors;
use super::types::{
    response_type as rt, ApiPaged, JetStreamAccountStats, JetStreamApiStats, JetStreamTier,
    MsgDeleteRequest, MsgGetRequest, StoredMsg, StreamConfigRequest, StreamInfo, StreamInfoRequest,
    StreamListRequest, StreamPurgeRequest,
};
use super::Request;
use crate::jetstream::stream::Stream;
use crate::jetstream::stream_config::{self, ServerLimits};
use crate::jetstream::{JsAccount, API_LEVEL};
use serde::Serialize;
use std::sync::Arc;

use super::types::ApiResponse;

/// Go's `JSApiNamesLimit` and `JSApiListLimit`.
const NAMES_LIMIT: usize = 1024;
const LIST_LIMIT: usize = 256;

fn server_limits(req: &Request<'_>) -> ServerLimits {
    ServerLimits {
        duplicates: req.js.settings.max_duplicates_window,
        max_payload: i64::from(req.server.opts().max_payload),
    }
}

/// The header a client sends to ask for at least this API level.
const REQUIRED_API_LEVEL_HEADER: &str = "Nats-Required-Api-Level";

/// Refuses (answering `kind` with [`errors::REQUIRED_API_LEVEL`]) a request whose
/// `Nats-Required-Api-Level` header asks for more than this server's API level or is not
/// a number. Every verb checks this first, as Go does. Whether it refused.
fn refused_for_api_level(req: &Request<'_>, kind: &'static str) -> bool {
    let value = req.msg.header.as_deref().and_then(|hdr| {
        crate::client::header::slice_header(REQUIRED_API_LEVEL_HEADER, hdr)
            .map(String::from_utf8_lossy)
    });
    if stream_config::error_on_required_api_level(value.as_deref()) {
        req.fail(kind, errors::REQUIRED_API_LEVEL.new());
        return true;
    }
    false
}

/// A stream's info for a response: its configuration with this server's version and API
/// level in the metadata (Go's `setDynamicStreamMetadata`).
fn info_for_response(info: StreamInfo) -> StreamInfo {
    StreamInfo {
        config: stream_config::with_dynamic_stream_metadata(&info.config),
        ..info
    }
}

/// `$JS.API.INFO`: the account's usage, limits and API counters.
pub fn account_info(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    if refused_for_api_level(req, rt::ACCOUNT_INFO) {
        return;
    }
    let (memory, store) = jsa.usage();
    let (mut streams, mut consumers, mut reserved_memory, mut reserved_store) = (0, 0, 0, 0);
    for s in jsa.streams.read().values() {
        streams += 1;
        consumers += s.consumers.read().len() as u64;
        let cfg = s.config();
        if cfg.max_bytes > 0 {
            match cfg.storage {
                super::types::StorageType::Memory => reserved_memory += cfg.max_bytes as u64,
                super::types::StorageType::File => reserved_store += cfg.max_bytes as u64,
            }
        }
    }
    let stats = JetStreamAccountStats {
        tier: JetStreamTier {
            memory,
            store,
            reserved_memory,
            reserved_store,
            streams,
            consumers,
            limits: jsa.limits,
        },
        domain: req.js.settings.domain.clone(),
        // Go reports the account's own API counters.
        api: JetStreamApiStats {
            level: API_LEVEL,
            total: jsa.api_total.load(std::sync::atomic::Ordering::Relaxed),
            errors: jsa.api_errors.load(std::sync::atomic::Ordering::Relaxed),
            inflight: 0,
        },
        tiers: Default::default(),
    };
    req.respond(&ApiResponse::ok(rt::ACCOUNT_INFO, stats));
}

/// Go's `JSApiStreamCreateResponse` body: the info and `did_create`.
#[derive(Serialize)]
struct CreateBody {
    #[serde(flatten)]
    info: StreamInfo,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    did_create: bool,
}

/// The stream's subjects overlap with another stream of the account.
fn overlaps(jsa: &JsAccount, name: &str, subjects: &[String]) -> bool {
    jsa.streams.read().values().any(|s| {
        s.name != name
            && s.config().subjects.iter().any(|theirs| {
                subjects
                    .iter()
                    .any(|ours| crate::subject::subjects_collide(ours, theirs))
            })
    })
}

/// What natsd cannot run yet; refused rather than accepted and ignored.
fn unsupported(cfg: &super::types::StreamConfig) -> Option<&'static str> {
    // Mirrors and sources run for origins in the same account, read from their store.
    let remote = |s: &super::types::StreamSource| s.external.is_some() || s.consumer.is_some();
    if cfg.mirror.as_ref().is_some_and(remote) || cfg.sources.iter().any(remote) {
        Some("mirrors and sources in other accounts or domains, or through consumers,")
    } else if cfg.replicas > 1 {
        Some("replicas > 1")
    } else {
        None
    }
}

/// Go's limits check before a stream is created (`jsNonClusteredStreamLimitsCheck`), on
/// the configuration as requested: the account's other streams against `max_streams`,
/// then `max_consumers` and the bytes the stream would reserve.
fn check_limits_before_create(
    req: &Request<'_>,
    jsa: &JsAccount,
    cfg: &super::types::StreamConfig,
) -> Result<(), errors::ApiError> {
    let limits = &jsa.limits;
    if limits.max_streams > 0 {
        // A stream of the same name does not count: the request may be a repeat.
        let others = jsa
            .streams
            .read()
            .keys()
            .filter(|n| **n != cfg.name)
            .count();
        if others as i64 >= limits.max_streams {
            return Err(errors::MAXIMUM_STREAMS_LIMIT.new());
        }
    }
    req.js.check_stream_limits(jsa, cfg)
}

/// `$JS.API.STREAM.CREATE.<name>`, in Go's order (see the top of
/// [`crate::jetstream::stream_config`]).
pub fn create(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_CREATE;
    if refused_for_api_level(req, kind) {
        return;
    }
    let mut request: StreamConfigRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    stream_config::set_static_stream_metadata(&mut request.config);
    let name = req.name_token();
    if let Err(e) = stream_config::check_create_request(name, &request.config) {
        return req.fail(kind, e);
    }
    if let Err(e) = check_limits_before_create(req, jsa, &request.config) {
        return req.fail(kind, e);
    }
    let mut cfg = match stream_config::check_stream_config_in(
        &request.config,
        &server_limits(req),
        request.pedantic,
        jsa.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => return req.fail(kind, e),
    };
    // natsd runs without a cluster, where Go refuses more than one replica.
    if cfg.replicas > 1 {
        return req.fail(kind, errors::STREAM_REPLICAS_NOT_SUPPORTED.new());
    }
    if let Some(existing) = jsa.stream(name) {
        // A repeat of the create answers the stream; the versioning metadata of the one
        // in force is kept (a stream made by an older server has none).
        let existing_cfg = existing.config();
        stream_config::copy_stream_metadata(&mut cfg, Some(&existing_cfg));
        if cfg != existing_cfg {
            return req.fail(kind, errors::STREAM_NAME_EXIST.new());
        }
        return req.respond(&ApiResponse::ok(
            kind,
            CreateBody {
                info: info_for_response(existing.info(None, false)),
                did_create: true,
            },
        ));
    }
    if let Err(e) = req.js.check_stream_limits(jsa, &cfg) {
        return req.fail(kind, e);
    }
    if let Err(e) = stream_config::check_create_filters(&cfg) {
        return req.fail(kind, e);
    }
    if overlaps(jsa, name, &cfg.subjects) {
        return req.fail(kind, errors::STREAM_SUBJECT_OVERLAP.new());
    }
    if let Some(what) = unsupported(&cfg) {
        return req.fail(
            kind,
            errors::STREAM_CREATE.with_err(&format!("{what} are not supported by this server yet")),
        );
    }
    match req.js.create_stream(req.server, jsa, cfg) {
        Ok(s) => req.respond(&ApiResponse::ok(
            kind,
            CreateBody {
                info: info_for_response(s.info(None, false)),
                did_create: true,
            },
        )),
        Err(e) => req.fail(kind, e),
    }
}

/// The consumers (named, comma-separated) whose inactive threshold or max ack pending is
/// above a consumer limit the update sets or changes, if any (Go refuses the update).
fn consumers_over_new_limits(
    s: &Stream,
    old: &super::types::StreamConfig,
    new: &super::types::StreamConfig,
) -> Option<String> {
    let (old_limits, new_limits) = (&old.consumer_limits, &new.consumer_limits);
    let threshold = new_limits.inactive_threshold;
    let ack_pending = new_limits.max_ack_pending;
    let changed = (threshold > 0 && threshold != old_limits.inactive_threshold)
        || (ack_pending > 0 && ack_pending != old_limits.max_ack_pending);
    if !changed {
        return None;
    }
    let over: Vec<String> = s
        .consumers
        .read()
        .values()
        .filter(|c| {
            let cfg = c.config();
            (threshold > 0 && cfg.inactive_threshold > threshold)
                || (ack_pending > 0 && cfg.max_ack_pending > ack_pending)
        })
        .map(|c| c.name.clone())
        .collect();
    (!over.is_empty()).then(|| over.join(", "))
}

/// `$JS.API.STREAM.UPDATE.<name>`, in Go's order (see the top of
/// [`crate::jetstream::stream_config`]).
pub fn update(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_UPDATE;
    if refused_for_api_level(req, kind) {
        return;
    }
    let request: StreamConfigRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let limits = server_limits(req);
    let mut checked = match stream_config::check_stream_config_in(
        &request.config,
        &limits,
        request.pedantic,
        jsa.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => return req.fail(kind, e),
    };
    let name = req.name_token();
    if name != checked.name {
        return req.fail(kind, errors::STREAM_MISMATCH.new());
    }
    let Some(s) = jsa.stream(name) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    stream_config::set_static_stream_metadata(&mut checked);
    let old = s.config();
    let cfg = match stream_config::check_update_in(
        &old,
        &checked,
        &limits,
        request.pedantic,
        jsa.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => return req.fail(kind, e),
    };
    // Go reserves only what the new byte limit adds to the old one: the stream's own
    // reservation is left out and the new limit (none counts as nothing) added.
    let reserving = super::types::StreamConfig {
        max_bytes: cfg.max_bytes.max(0),
        ..cfg.clone()
    };
    if let Err(e) = req.js.check_stream_limits(jsa, &reserving) {
        return req.fail(kind, e);
    }
    if let Some(names) = consumers_over_new_limits(&s, &old, &cfg) {
        return req.fail(
            kind,
            errors::STREAM_UPDATE
                .with_err(&format!("change to limits violates consumers: {names}")),
        );
    }
    if overlaps(jsa, name, &cfg.subjects) {
        return req.fail(kind, errors::STREAM_SUBJECT_OVERLAP.new());
    }
    if let Some(what) = unsupported(&cfg) {
        return req.fail(
            kind,
            errors::STREAM_UPDATE.with_err(&format!("{what} are not supported by this server yet")),
        );
    }
    if let Err(e) = s.update(req.server, cfg) {
        return req.fail(kind, e);
    }
    let mut info = info_for_response(s.info(None, false));
    info.domain = req.js.settings.domain.clone();
    req.respond(&ApiResponse::ok(kind, info));
}

#[derive(Serialize)]
struct SuccessBody {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    success: bool,
}

/// `$JS.API.STREAM.DELETE.<name>`.
pub fn delete(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_DELETE;
    if refused_for_api_level(req, kind) {
        return;
    }
    let name = req.name_token();
    let Some(s) = jsa.streams.write().remove(name) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    if let Err(e) = s.delete(req.server) {
        return req.fail(kind, errors::STREAM_DELETE.with_err(&e));
    }
    req.respond(&ApiResponse::ok(kind, SuccessBody { success: true }));
}

#[derive(Serialize)]
struct InfoBody {
    #[serde(flatten)]
    paged: ApiPaged,
    #[serde(flatten)]
    info: StreamInfo,
}

/// `$JS.API.STREAM.INFO.<name>`.
pub fn info(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_INFO;
    if refused_for_api_level(req, kind) {
        return;
    }
    let request: StreamInfoRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    // What the requester published before asking is in the state it reads.
    s.ingest_queued(req.server);
    let filter = (!request.subjects_filter.is_empty()).then_some(request.subjects_filter.as_str());
    let mut info = info_for_response(s.info(filter, request.deleted_details));
    info.domain = req.js.settings.domain.clone();
    let mut paged = ApiPaged::default();
    if filter.is_some() {
        // Go pages the subject details, at most 100,000 per response.
        const MAX_SUBJECT_DETAILS: usize = 100_000;
        let total = info.state.subjects.len();
        let offset = request.offset.min(total);
        if offset > 0 || total > MAX_SUBJECT_DETAILS {
            info.state.subjects = std::mem::take(&mut info.state.subjects)
                .into_iter()
                .skip(offset)
                .take(MAX_SUBJECT_DETAILS)
                .collect();
        }
        paged = ApiPaged {
            total,
            offset,
            limit: MAX_SUBJECT_DETAILS,
        };
    }
    req.respond(&ApiResponse::ok(kind, InfoBody { paged, info }));
}

/// The names of the account's streams, filtered by subject, sorted.
fn stream_names(jsa: &JsAccount, subject: &str) -> Vec<String> {
    jsa.streams
        .read()
        .values()
        .filter(|s| {
            subject.is_empty()
                || s.config()
                    .subjects
                    .iter()
                    .any(|theirs| crate::subject::subjects_collide(subject, theirs))
        })
        .map(|s| s.name.clone())
        .collect()
}

#[derive(Serialize)]
struct NamesBody {
    #[serde(flatten)]
    paged: ApiPaged,
    streams: Vec<String>,
}

/// `$JS.API.STREAM.NAMES`.
pub fn names(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_NAMES;
    if refused_for_api_level(req, kind) {
        return;
    }
    let request: StreamListRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let all = stream_names(jsa, &request.subject);
    let total = all.len();
    let offset = request.offset.min(total);
    let streams = all.into_iter().skip(offset).take(NAMES_LIMIT).collect();
    req.respond(&ApiResponse::ok(
        kind,
        NamesBody {
            paged: ApiPaged {
                total,
                offset,
                limit: NAMES_LIMIT,
            },
            streams,
        },
    ));
}

#[derive(Serialize)]
struct ListBody {
    #[serde(flatten)]
    paged: ApiPaged,
    streams: Vec<StreamInfo>,
}

/// `$JS.API.STREAM.LIST`.
pub fn list(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_LIST;
    if refused_for_api_level(req, kind) {
        return;
    }
    let request: StreamListRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let all = stream_names(jsa, &request.subject);
    let total = all.len();
    let offset = request.offset.min(total);
    let streams = all
        .iter()
        .skip(offset)
        .take(LIST_LIMIT)
        .filter_map(|n| jsa.stream(n))
        // Go lists the configurations as kept, without the dynamic metadata.
        .map(|s| StreamInfo {
            domain: req.js.settings.domain.clone(),
            ..s.info(None, false)
        })
        .collect();
    req.respond(&ApiResponse::ok(
        kind,
        ListBody {
            paged: ApiPaged {
                total,
                offset,
                limit: LIST_LIMIT,
            },
            streams,
        },
    ));
}

#[derive(Serialize)]
struct PurgeBody {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    success: bool,
    purged: u64,
}

/// `$JS.API.STREAM.PURGE.<name>`.
pub fn purge(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_PURGE;
    if refused_for_api_level(req, kind) {
        return;
    }
    let request: Option<StreamPurgeRequest> = match req.body() {
        Some(b) if matches!(b.first(), Some(b'{' | b'[')) => match req.decode() {
            Ok(r) => Some(r),
            Err(e) => return req.fail(kind, e),
        },
        _ => None,
    };
    if request
        .as_ref()
        .is_some_and(|r| r.sequence > 0 && r.keep > 0)
    {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let cfg = s.config();
    if cfg.sealed {
        return req.fail(kind, errors::STREAM_SEALED.new());
    }
    if cfg.deny_purge {
        return req.fail(
            kind,
            errors::STREAM_PURGE_FAILED.with_err(&"stream purge not permitted"),
        );
    }
    match s.purge(request.as_ref()) {
        Ok(purged) => req.respond(&ApiResponse::ok(
            kind,
            PurgeBody {
                success: true,
                purged,
            },
        )),
        Err(e) => req.fail(kind, errors::STREAM_GENERAL_ERROR.with_err(&e)),
    }
}

/// `$JS.API.STREAM.MSG.DELETE.<name>`.
pub fn msg_delete(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_MSG_DELETE;
    if refused_for_api_level(req, kind) {
        return;
    }
    if req.body().is_none() {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let request: MsgDeleteRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let cfg = s.config();
    if cfg.sealed {
        return req.fail(kind, errors::STREAM_SEALED.new());
    }
    if cfg.deny_delete {
        return req.fail(
            kind,
            errors::STREAM_MSG_DELETE_FAILED.with_err(&"message delete not permitted"),
        );
    }
    let removed = {
        let _guard = s.inner.lock();
        if request.no_erase {
            s.store().remove_msg(request.seq)
        } else {
            s.store().erase_msg(request.seq)
        }
    };
    match removed {
        Ok(true) => req.respond(&ApiResponse::ok(kind, SuccessBody { success: true })),
        Ok(false) => req.fail(
            kind,
            errors::SEQUENCE_NOT_FOUND.with(&[("{seq}", &request.seq)]),
        ),
        Err(e) => req.fail(kind, errors::STREAM_MSG_DELETE_FAILED.with_err(&e)),
    }
}

#[derive(Serialize)]
struct MsgGetBody {
    message: StoredMsg,
}

/// `$JS.API.STREAM.MSG.GET.<name>`.
pub fn msg_get(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_MSG_GET;
    if refused_for_api_level(req, kind) {
        return;
    }
    if req.body().is_none() {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let r: MsgGetRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    if r.batch > 0 || r.max_bytes > 0 {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let has_start = r.start_time.is_some();
    if (r.seq > 0 && !r.last_for.is_empty())
        || (r.seq == 0 && r.last_for.is_empty() && r.next_for.is_empty() && !has_start)
        || (r.seq > 0 && has_start)
        || (has_start && !r.last_for.is_empty())
        || (!r.last_for.is_empty() && !r.next_for.is_empty())
    {
        return req.fail(kind, errors::BAD_REQUEST.new());
    }
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    s.ingest_queued(req.server);
    let store = s.store();
    let seq = match r.start_time {
        Some(t) => store.get_seq_from_time(t.unix_nanos()),
        None => r.seq,
    };
    let loaded = if seq > 0 && r.next_for.is_empty() {
        store.load_msg(seq)
    } else if !r.next_for.is_empty() {
        let wc = natsd_store::subject_has_wildcard(&r.next_for);
        store
            .load_next_msg(&r.next_for, wc, seq)
            .map(|(m, _)| m)
            .map_err(|(e, _)| e)
    } else {
        store.load_last_msg(&r.last_for)
    };
    let Ok(m) = loaded else {
        return req.fail(kind, errors::NO_MESSAGE_FOUND.new());
    };
    let message = StoredMsg {
        subject: m.subject,
        sequence: m.seq,
        header: if r.no_headers {
            bytes::Bytes::new()
        } else {
            m.hdr
        },
        data: m.msg,
        time: super::types::store_time(m.ts),
    };
    // Go answers a found message outside its API layer: not counted in the API stats.
    if req.msg.reply.is_empty() {
        return;
    }
    let body =
        crate::monitor::http::to_go_json_compact(&ApiResponse::ok(kind, MsgGetBody { message }));
    crate::events::internal::publish(
        req.server,
        req.js.api_client(),
        req.account,
        &req.msg.reply,
        None,
        None,
        &body,
    );
}
