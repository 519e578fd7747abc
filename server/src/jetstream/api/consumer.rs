//! The `$JS.API.CONSUMER.*` verbs (Go's `jsConsumer*Request`): create (named,
//! ephemeral, legacy durable), info, delete, names, list. Pull requests
//! (`CONSUMER.MSG.NEXT`) go to the consumer's own subscription.

use super::errors;
use super::types::{
    response_type as rt, ApiPaged, ApiResponse, ConsumerAction, ConsumerInfo,
    CreateConsumerRequest, StreamListRequest,
};
use super::Request;
use crate::jetstream::consumer::{self, Consumer, Cursor};
use crate::jetstream::consumer_config as cc;
use crate::jetstream::stream::{open_consumer_store, Stream};
use crate::jetstream::JsAccount;
use crate::monitor::gotime::{now_nanos, GoTime};
use serde::Serialize;
use std::sync::Arc;

/// Go's `JSApiNamesLimit` and `JSApiListLimit`.
const NAMES_LIMIT: usize = 1024;
const LIST_LIMIT: usize = 256;

/// The `n`th token (1-based) of a subject.
fn token(subject: &str, n: usize) -> &str {
    subject.split('.').nth(n - 1).unwrap_or_default()
}

/// An ephemeral consumer's generated name (Go: 8 characters from a random id).
fn generated_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `$JS.API.CONSUMER.CREATE.<stream>[.<consumer>[.<filter>]]` and
/// `$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>`.
pub fn create(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_CREATE;
    let Some(subject) = cc::parse_create_subject(&req.msg.subject) else {
        return req.fail(kind, errors::BAD_REQUEST.new());
    };
    let mut request: CreateConsumerRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let name = match cc::check_create_request(&subject, &request.stream, &mut request.config) {
        Ok(n) => n,
        Err(e) => return req.fail(kind, e),
    };
    let Some(stream) = jsa.stream(subject.stream) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let mut cfg = request.config;
    let stream_cfg = stream.config();
    let limits = &req.server.opts().jetstream_limits;
    if let Err(e) = cc::set_consumer_config_defaults(
        &mut cfg,
        &stream_cfg,
        limits,
        &jsa.limits,
        request.pedantic,
    ) {
        return req.fail(kind, e);
    }
    if let Err(e) = cc::check_consumer_config(&cfg, &stream_cfg, limits, &jsa.limits, false) {
        return req.fail(kind, e);
    }
    if let Err(e) = cc::check_single_server_replicas(&cfg) {
        return req.fail(kind, e);
    }
    let name = if name.is_empty() {
        if cfg.durable.is_empty() {
            generated_name()
        } else {
            cfg.durable.clone()
        }
    } else {
        name
    };
    if let Some(existing) = stream.consumers.read().get(&name).cloned() {
        return update_existing(req, &stream, &existing, cfg, request.action);
    }
    if request.action == ConsumerAction::Update {
        return req.fail(kind, errors::CONSUMER_DOES_NOT_EXIST.new());
    }
    {
        let consumers = stream.consumers.read();
        let others: Vec<(String, super::types::ConsumerConfig)> = consumers
            .iter()
            .map(|(n, c)| (n.clone(), c.config()))
            .collect();
        let others_ref: Vec<(&str, &super::types::ConsumerConfig)> =
            others.iter().map(|(n, c)| (n.as_str(), c)).collect();
        if let Err(e) = cc::check_max_consumers(
            &stream_cfg,
            &jsa.limits,
            cc::limitable_consumers(&others_ref),
        ) {
            return req.fail(kind, e);
        }
        // A new consumer on a work queue: explicit acks, deliver all, and a filter apart
        // from the others' (Go's checks in addConsumerWithAssignment).
        let wq = cc::check_work_queue_consumer(&cfg, &stream_cfg, &name, &others_ref, false);
        if let Err(e) = wq {
            return req.fail(kind, e);
        }
    }
    // A new ephemeral gets Go's default inactive threshold written into its config
    // (after the comparison with an existing consumer, as Go stamps it on the consumer).
    let _ = cc::inactive_threshold(&mut cfg, 0);
    match add_consumer(req, &stream, &name, cfg) {
        Ok(c) => {
            req.respond(&ApiResponse::ok(kind, c.info(req.server)));
            // Created paused: announced after the answer, as Go does.
            if c.pause_state(now_nanos()).0 {
                c.send_pause_advisory();
            }
        }
        Err(e) => req.fail(kind, e),
    }
}

/// A create for a consumer that exists: the same configuration answers its info, a
/// different one is an update (unless the action forbids it).
fn update_existing(
    req: &Request<'_>,
    stream: &Arc<Stream>,
    existing: &Arc<Consumer>,
    mut cfg: super::types::ConsumerConfig,
    action: ConsumerAction,
) {
    let kind = rt::CONSUMER_CREATE;
    existing.apply_queued(req.server);
    let old = existing.config();
    cc::carry_over_existing(&mut cfg, &old);
    if action == ConsumerAction::Create {
        if let Err(e) = cc::check_create_action(&mut cfg, &old) {
            return req.fail(kind, e);
        }
        return req.respond(&ApiResponse::ok(kind, existing.info(req.server)));
    }
    // On a work queue the new filters must stay apart from the other consumers'.
    let stream_cfg = stream.config();
    if stream_cfg.retention == super::types::RetentionPolicy::WorkQueue {
        let others: Vec<(String, super::types::ConsumerConfig)> = stream
            .consumers
            .read()
            .iter()
            .map(|(n, c)| (n.clone(), c.config()))
            .collect();
        let others_ref: Vec<(&str, &super::types::ConsumerConfig)> =
            others.iter().map(|(n, c)| (n.as_str(), c)).collect();
        let filters = cc::subject_filters(&cfg);
        if !cc::partition_unique(&existing.name, &filters, &others_ref) {
            return req.fail(kind, errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE.new());
        }
    }
    cc::copy_consumer_metadata(&mut cfg, Some(&old));
    if cfg == old {
        return req.respond(&ApiResponse::ok(kind, existing.info(req.server)));
    }
    let interest = !old.deliver_subject.is_empty()
        && !req
            .account
            .sublist
            .match_bytes(old.deliver_subject.as_bytes())
            .is_empty();
    if let Err(e) = cc::check_consumer_update(&old, &cfg, interest) {
        return req.fail(kind, e);
    }
    // An ephemeral keeps Go's default inactive threshold when the update has none.
    let _ = cc::inactive_threshold(&mut cfg, 0);
    let filters_changed =
        cfg.filter_subject != old.filter_subject || cfg.filter_subjects != old.filter_subjects;
    existing.update_config(cfg);
    if filters_changed {
        let floor = existing.cursor.lock().ack_floor.1;
        stream.consumer_filters_changed(floor);
    }
    req.respond(&ApiResponse::ok(kind, existing.info(req.server)));
}

/// Creates and starts a consumer on `stream` with a checked configuration.
pub fn add_consumer(
    req: &Request<'_>,
    stream: &Arc<Stream>,
    name: &str,
    cfg: super::types::ConsumerConfig,
) -> Result<Arc<Consumer>, errors::ApiError> {
    let created = GoTime::now();
    let store = open_consumer_store(
        &stream.store,
        stream.dir.as_deref(),
        &stream.name,
        name,
        created,
        &cfg,
    )
    .map_err(|e| errors::CONSUMER_STORE_FAILED.with_err(&e))?;
    let filters = consumer::config_filters(&cfg);
    let max_msgs_per = stream.config().max_msgs_per;
    let pos = consumer::start_sequence(&cfg, stream.store(), &filters, max_msgs_per);
    let _ = store.set_starting(pos.start.saturating_sub(1));
    let cursor = Cursor::at(cfg, pos, now_nanos());
    let c = Consumer::new(req.server, stream, name, created, cursor, store);
    c.start(req.server)
        .map_err(|e| errors::CONSUMER_CREATE.with_err(&e))?;
    stream.consumers.write().insert(name.to_string(), c.clone());
    stream.wake_housekeeping();
    Ok(c)
}

/// `$JS.API.CONSUMER.INFO.<stream>.<consumer>`.
pub fn info(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_INFO;
    let (stream, name) = (token(&req.msg.subject, 5), token(&req.msg.subject, 6));
    let Some(s) = jsa.stream(stream) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let Some(c) = s.consumers.read().get(name).cloned() else {
        return req.fail(kind, errors::CONSUMER_NOT_FOUND.new());
    };
    c.apply_queued(req.server);
    req.respond(&ApiResponse::ok(kind, c.info(req.server)));
}

#[derive(Serialize)]
struct SuccessBody {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    success: bool,
}

/// `$JS.API.CONSUMER.DELETE.<stream>.<consumer>`.
pub fn delete(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_DELETE;
    let (stream, name) = (token(&req.msg.subject, 5), token(&req.msg.subject, 6));
    let Some(s) = jsa.stream(stream) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let Some(c) = s.consumers.write().remove(name) else {
        return req.fail(kind, errors::CONSUMER_NOT_FOUND.new());
    };
    let floor = c.cursor.lock().ack_floor.1;
    c.delete(req.server);
    s.consumer_deleted(floor);
    req.respond(&ApiResponse::ok(kind, SuccessBody { success: true }));
}

#[derive(Serialize)]
struct NamesBody {
    #[serde(flatten)]
    paged: ApiPaged,
    consumers: Vec<String>,
}

#[derive(Serialize)]
struct ListBody {
    #[serde(flatten)]
    paged: ApiPaged,
    consumers: Vec<ConsumerInfo>,
}

/// The names of a stream's consumers, sorted, with the request's paging.
fn names_of(s: &Stream, offset: usize, limit: usize) -> (ApiPaged, Vec<Arc<Consumer>>) {
    let all: Vec<Arc<Consumer>> = s.consumers.read().values().cloned().collect();
    let total = all.len();
    let offset = offset.min(total);
    let page = all.into_iter().skip(offset).take(limit).collect();
    (
        ApiPaged {
            total,
            offset,
            limit,
        },
        page,
    )
}

/// `$JS.API.CONSUMER.NAMES.<stream>`.
pub fn names(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_NAMES;
    let request: StreamListRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let Some(s) = jsa.stream(token(&req.msg.subject, 5)) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let (paged, page) = names_of(&s, request.offset, NAMES_LIMIT);
    let consumers = page.iter().map(|c| c.name.clone()).collect();
    req.respond(&ApiResponse::ok(kind, NamesBody { paged, consumers }));
}

/// `$JS.API.CONSUMER.LIST.<stream>`.
pub fn list(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_LIST;
    let request: StreamListRequest = match req.decode() {
        Ok(r) => r,
        Err(e) => return req.fail(kind, e),
    };
    let Some(s) = jsa.stream(token(&req.msg.subject, 5)) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let (paged, page) = names_of(&s, request.offset, LIST_LIMIT);
    let consumers = page.iter().map(|c| c.info(req.server)).collect();
    req.respond(&ApiResponse::ok(kind, ListBody { paged, consumers }));
}

/// Go's `JSApiConsumerPauseResponse`.
#[derive(Serialize)]
struct PauseBody {
    paused: bool,
    pause_until: GoTime,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pause_remaining: i64,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// Go's `JSApiConsumerPauseRequest`.
#[derive(serde::Deserialize, Default)]
struct PauseRequest {
    #[serde(default)]
    pause_until: Option<GoTime>,
}

impl super::strict::ApiRequest for PauseRequest {}

/// `$JS.API.CONSUMER.PAUSE.<stream>.<consumer>`: pauses the consumer until the time given,
/// or resumes it when there is none (Go's `jsConsumerPauseRequest`).
pub fn pause(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = rt::CONSUMER_PAUSE;
    // Only a JSON object or array is read; anything else resumes.
    let request: PauseRequest = match req.body() {
        Some(b) if matches!(b.first(), Some(b'{') | Some(b'[')) => match req.decode_body(b) {
            Ok(r) => r,
            Err(e) => return req.fail(kind, e),
        },
        _ => PauseRequest::default(),
    };
    let (stream, name) = (token(&req.msg.subject, 5), token(&req.msg.subject, 6));
    let Some(s) = jsa.stream(stream) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let Some(c) = s.consumers.read().get(name).cloned() else {
        return req.fail(kind, errors::CONSUMER_NOT_FOUND.new());
    };
    let until = request.pause_until.filter(|t| !t.is_zero());
    let mut cfg = c.config();
    cfg.pause_until = until;
    cc::set_static_consumer_metadata(&mut cfg);
    c.update_config(cfg);
    let now = now_nanos();
    let (paused, pause_remaining) = c.pause_state(now);
    req.respond(&ApiResponse::ok(
        kind,
        PauseBody {
            paused,
            pause_until: until.unwrap_or(GoTime::ZERO),
            pause_remaining,
        },
    ));
}

/// Go's `JSApiConsumerUnpinResponseType`.
const CONSUMER_UNPIN: &str = "io.nats.jetstream.api.v1.consumer_unpin_response";

/// Go's `JSApiConsumerUnpinRequest`.
#[derive(serde::Deserialize, Default)]
struct UnpinRequest {
    #[serde(default)]
    group: String,
}

/// `$JS.API.CONSUMER.UNPIN.<stream>.<consumer>`: drops the pin of a priority group, so
/// that the next request without one is pinned (Go's `jsConsumerUnpinRequest`).
pub fn unpin(req: &Request<'_>, jsa: &Arc<JsAccount>) {
    let kind = CONSUMER_UNPIN;
    // An empty body is not JSON either (Go unmarshals it).
    let request: UnpinRequest = match super::decode_like_go(req.msg.payload.trim_ascii()) {
        Ok(r) => r,
        Err(e) => return req.fail(kind, errors::INVALID_JSON.with_err(&e)),
    };
    if request.group.is_empty() {
        return req.fail(
            kind,
            errors::INVALID_JSON.with_err(&"consumer group not specified"),
        );
    }
    if !cc::is_valid_group_name(&request.group) {
        return req.fail(kind, errors::CONSUMER_INVALID_GROUP_NAME.new());
    }
    let (stream, name) = (token(&req.msg.subject, 5), token(&req.msg.subject, 6));
    let Some(s) = jsa.stream(stream) else {
        return req.fail(kind, errors::STREAM_NOT_FOUND.new());
    };
    let Some(c) = s.consumers.read().get(name).cloned() else {
        return req.fail(kind, errors::CONSUMER_NOT_FOUND.new());
    };
    if !c.config().priority_groups.contains(&request.group) {
        return req.fail(kind, errors::CONSUMER_INVALID_PRIORITY_GROUP.new());
    }
    c.unpin(&request.group);
    req.respond(&ApiResponse::ok(kind, serde_json::json!({})));
}
