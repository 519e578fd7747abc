//! `$JS.API.INFO` and the `$JS.API.STREAM.*` verbs (Go's `jsStream*Request`).

use super::errors;
use super::types::{
    response_type as rt, ApiPaged, JetStreamAccountStats, JetStreamApiStats, JetStreamTier,
    MsgDeleteRequest, MsgGetRequest, StoredMsg, StreamConfigRequest, StreamInfo, StreamInfoRequest,
    StreamListRequest, StreamPurgeRequest,
};
use super::Request;
use crate::jetstream::stream_config::{self, ServerLimits};
use crate::jetstream::{JsAccount, API_LEVEL, MAX_NAME_LEN};
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

/// `$JS.API.INFO`: the account's usage, limits and API counters.
pub fn account_info(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let (memory, store) = jsa.usage();
    let streams = jsa.streams.read().len() as u64;
    let stats = JetStreamAccountStats {
        tier: JetStreamTier {
            memory,
            store,
            reserved_memory: 0,
            reserved_store: 0,
            streams,
            consumers: 0,
            limits: jsa.limits,
        },
        domain: req.js.settings.domain.clone(),
        api: JetStreamApiStats {
            level: API_LEVEL,
            total: req.js.api_total.load(std::sync::atomic::Ordering::Relaxed),
            errors: req.js.api_errors.load(std::sync::atomic::Ordering::Relaxed),
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
    } else if cfg.republish.is_some() {
        Some("republish")
    } else if cfg.subject_transform.is_some() {
        Some("subject transforms")
    } else if cfg.allow_msg_counter {
        Some("message counters")
    } else if cfg.allow_atomic_publish || cfg.allow_batch_publish {
        Some("batch publishing")
    } else if cfg.allow_msg_schedules {
        Some("message schedules")
    } else if cfg.replicas > 1 {
        Some("replicas > 1")
    } else {
        None
    }
}

/// `$JS.API.STREAM.CREATE.<name>`.
pub fn create(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_CREATE;
    let request: StreamConfigRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let name = req.name_token();
    if name != request.config.name {
        return req.fail(kind, errors::STREAM_MISMATCH.new());
    }
    if name.contains(['\\', '/']) {
        return req.fail(kind, errors::STREAM_NAME_CONTAINS_PATH_SEPARATORS.new());
    }
    if request.config.sealed {
        return req.fail(
            kind,
            errors::STREAM_INVALID_CONFIG
                .with_err(&"stream configuration for create can not be sealed"),
        );
    }
    if request.config.mirror_direct && request.config.mirror.is_none() {
        return req.fail(
            kind,
            errors::STREAM_INVALID_CONFIG
                .with_err(&"stream has no mirror but does have mirror direct"),
        );
    }
    {
        let limits = &jsa.limits;
        if limits.max_streams > 0
            && jsa.streams.read().len() as i64 >= limits.max_streams
            && jsa.stream(name).is_none()
        {
            return req.fail(kind, errors::MAXIMUM_STREAMS_LIMIT.new());
        }
        if let Err(e) = req.js.check_stream_limits(jsa, &request.config) {
            return req.fail(kind, e);
        }
    }
    if name.len() > MAX_NAME_LEN {
        return req.fail(
            kind,
            errors::STREAM_INVALID_CONFIG.with_err(&format!(
                "stream name is too long, maximum allowed is {MAX_NAME_LEN}"
            )),
        );
    }
    let cfg = match stream_config::check_stream_config(
        &request.config,
        &server_limits(req),
        request.pedantic,
    ) {
        Ok(c) => c,
        Err(e) => return req.fail(kind, e),
    };
    if let Some(what) = unsupported(&cfg) {
        return req.fail(
            kind,
            errors::STREAM_CREATE.with_err(&format!("{what} are not supported by this server yet")),
        );
    }
    if let Some(existing) = jsa.stream(name) {
        if existing.config() != cfg {
            return req.fail(kind, errors::STREAM_NAME_EXIST.new());
        }
        let info = existing.info(None, false);
        return req.respond(&ApiResponse::ok(
            kind,
            CreateBody {
                info,
                did_create: true,
            },
        ));
    }
    if overlaps(jsa, name, &cfg.subjects) {
        return req.fail(kind, errors::STREAM_SUBJECT_OVERLAP.new());
    }
    match req.js.create_stream(req.server, jsa, cfg) {
        Ok(s) => req.respond(&ApiResponse::ok(
            kind,
            CreateBody {
                info: s.info(None, false),
                did_create: true,
            },
        )),
        Err(e) => req.fail(kind, e),
    }
}

/// `$JS.API.STREAM.UPDATE.<name>`.
pub fn update(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_UPDATE;
    let request: StreamConfigRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let name = req.name_token();
    if name != request.config.name {
        return req.fail(kind, errors::STREAM_MISMATCH.new());
    }
    let Some(s) = jsa.stream(name) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let old = s.config();
    let cfg = match stream_config::check_update(
        &old,
        &request.config,
        &server_limits(req),
        request.pedantic,
    ) {
        Ok(c) => c,
        Err(e) => return req.fail(kind, e),
    };
    if let Some(what) = unsupported(&cfg) {
        return req.fail(
            kind,
            errors::STREAM_UPDATE.with_err(&format!("{what} are not supported by this server yet")),
        );
    }
    if overlaps(jsa, name, &cfg.subjects) {
        return req.fail(kind, errors::STREAM_SUBJECT_OVERLAP.new());
    }
    if let Err(e) = req.js.check_stream_limits(jsa, &cfg) {
        return req.fail(kind, e);
    }
    if let Err(e) = s.update(req.server, cfg) {
        return req.fail(kind, e);
    }
    req.respond(&ApiResponse::ok(kind, s.info(None, false)));
}

#[derive(Serialize)]
struct SuccessBody {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    success: bool,
}

/// `$JS.API.STREAM.DELETE.<name>`.
pub fn delete(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::STREAM_DELETE;
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
    let request: StreamInfoRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let Some(s) = jsa.stream(req.name_token()) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let filter = (!request.subjects_filter.is_empty()).then_some(request.subjects_filter.as_str());
    let mut info = s.info(filter, request.deleted_details);
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
        .map(|s| s.info(None, false))
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
    req.respond(&ApiResponse::ok(kind, MsgGetBody { message }));
}
