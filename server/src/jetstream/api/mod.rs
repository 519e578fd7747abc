//! The JetStream API: its JSON types and errors, and one handler per `$JS.API` verb.
//!
//! Each JetStream account gets one internal subscription per verb (as Go subscribes
//! them), so a request for a verb natsd does not serve gets "no responders" at once
//! instead of a timeout. Handlers run on a blocking thread, one request at a time, and
//! answer on the request's reply subject in the requester's account.

pub mod consumer;
pub mod errors;
pub mod stream;
pub mod strict;
pub mod types;

use super::JetStream;
use crate::account::Account;
use crate::client::Subscription;
use crate::events::internal::{Handler, InMsg};
use crate::server::ServerShared;
use errors::ApiError;
use serde::Serialize;
use std::sync::Arc;
use types::ApiResponse;

/// The verbs natsd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Info,
    StreamCreate,
    StreamUpdate,
    StreamDelete,
    StreamInfo,
    StreamNames,
    StreamList,
    StreamPurge,
    StreamMsgDelete,
    StreamMsgGet,
    ConsumerCreate,
    ConsumerInfo,
    ConsumerDelete,
    ConsumerNames,
    ConsumerList,
    ConsumerPause,
    ConsumerUnpin,
    StreamSnapshot,
    StreamRestore,
    StreamLeaderStepDown,
    StreamPeerRemove,
    ConsumerLeaderStepDown,
}

/// `$JS.API.INFO` (Go's `JSApiAccountInfo`).
pub const ACCOUNT_INFO_SUBJECT: &str = "$JS.API.INFO";

/// Subjects and their verbs (Go's `JSApi*` subjects).
pub const ROUTES: &[(&str, Verb)] = &[
    ("$JS.API.INFO", Verb::Info),
    ("$JS.API.STREAM.CREATE.*", Verb::StreamCreate),
    ("$JS.API.STREAM.UPDATE.*", Verb::StreamUpdate),
    ("$JS.API.STREAM.DELETE.*", Verb::StreamDelete),
    ("$JS.API.STREAM.INFO.*", Verb::StreamInfo),
    ("$JS.API.STREAM.NAMES", Verb::StreamNames),
    ("$JS.API.STREAM.LIST", Verb::StreamList),
    ("$JS.API.STREAM.PURGE.*", Verb::StreamPurge),
    ("$JS.API.STREAM.MSG.DELETE.*", Verb::StreamMsgDelete),
    ("$JS.API.STREAM.MSG.GET.*", Verb::StreamMsgGet),
    ("$JS.API.CONSUMER.CREATE.*", Verb::ConsumerCreate),
    ("$JS.API.CONSUMER.CREATE.*.>", Verb::ConsumerCreate),
    ("$JS.API.CONSUMER.DURABLE.CREATE.*.*", Verb::ConsumerCreate),
    ("$JS.API.CONSUMER.INFO.*.*", Verb::ConsumerInfo),
    ("$JS.API.CONSUMER.DELETE.*.*", Verb::ConsumerDelete),
    ("$JS.API.CONSUMER.NAMES.*", Verb::ConsumerNames),
    ("$JS.API.CONSUMER.LIST.*", Verb::ConsumerList),
    ("$JS.API.CONSUMER.PAUSE.*.*", Verb::ConsumerPause),
    ("$JS.API.CONSUMER.UNPIN.*.*", Verb::ConsumerUnpin),
    ("$JS.API.STREAM.SNAPSHOT.*", Verb::StreamSnapshot),
    ("$JS.API.STREAM.RESTORE.*", Verb::StreamRestore),
    (
        "$JS.API.STREAM.LEADER.STEPDOWN.*",
        Verb::StreamLeaderStepDown,
    ),
    ("$JS.API.STREAM.PEER.REMOVE.*", Verb::StreamPeerRemove),
    (
        "$JS.API.CONSUMER.LEADER.STEPDOWN.*.*",
        Verb::ConsumerLeaderStepDown,
    ),
];

/// The response type of each verb (Go's `JSApi*ResponseType`).
fn verb_response_type(verb: Verb) -> &'static str {
    use types::response_type as rt;
    match verb {
        Verb::Info => rt::ACCOUNT_INFO,
        Verb::StreamCreate => rt::STREAM_CREATE,
        Verb::StreamUpdate => rt::STREAM_UPDATE,
        Verb::StreamDelete => rt::STREAM_DELETE,
        Verb::StreamInfo => rt::STREAM_INFO,
        Verb::StreamNames => rt::STREAM_NAMES,
        Verb::StreamList => rt::STREAM_LIST,
        Verb::StreamPurge => rt::STREAM_PURGE,
        Verb::StreamMsgDelete => rt::STREAM_MSG_DELETE,
        Verb::StreamMsgGet => rt::STREAM_MSG_GET,
        Verb::ConsumerCreate => rt::CONSUMER_CREATE,
        Verb::ConsumerInfo => rt::CONSUMER_INFO,
        Verb::ConsumerDelete => rt::CONSUMER_DELETE,
        Verb::ConsumerNames => rt::CONSUMER_NAMES,
        Verb::ConsumerList => rt::CONSUMER_LIST,
        Verb::ConsumerPause => rt::CONSUMER_PAUSE,
        Verb::ConsumerUnpin => "io.nats.jetstream.api.v1.consumer_unpin_response",
        Verb::StreamSnapshot => "io.nats.jetstream.api.v1.stream_snapshot_response",
        Verb::StreamRestore => "io.nats.jetstream.api.v1.stream_restore_response",
        Verb::StreamLeaderStepDown => "io.nats.jetstream.api.v1.stream_leader_stepdown_response",
        Verb::StreamPeerRemove => "io.nats.jetstream.api.v1.stream_remove_peer_response",
        Verb::ConsumerLeaderStepDown => {
            "io.nats.jetstream.api.v1.consumer_leader_stepdown_response"
        }
    }
}

/// Whether the request's `Nats-Required-Api-Level` header asks for more than this
/// server's API level (or is not a number): Go refuses such a request before anything
/// else the verb checks.
pub(crate) fn requires_higher_api_level(msg: &InMsg) -> bool {
    let value = msg.header.as_deref().and_then(|hdr| {
        crate::client::header::slice_header("Nats-Required-Api-Level", hdr)
            .map(String::from_utf8_lossy)
    });
    super::stream_config::error_on_required_api_level(value.as_deref())
}

/// Subscribes the API of `account`.
pub fn subscribe(
    js: &Arc<JetStream>,
    _server: &Arc<ServerShared>,
    account: &Arc<Account>,
) -> Result<Vec<Arc<Subscription>>, String> {
    let mut subs = Vec::with_capacity(ROUTES.len());
    for &(subject, verb) in ROUTES {
        let weak = Arc::downgrade(js);
        let handler: Handler = Arc::new(move |server, acc, msg| {
            if let Some(js) = weak.upgrade() {
                dispatch(&js, server, acc, verb, msg);
            }
        });
        subs.push(js.api_client().subscribe(account, subject, None, handler)?);
    }
    Ok(subs)
}

/// Subscribes the system account's catch-all: it never has JetStream, and its clients are
/// told so on every API subject (Go's `apiDispatch` for a request without client info)
/// but the system-level ones it serves elsewhere.
pub fn subscribe_system(
    js: &Arc<JetStream>,
    system: &Arc<Account>,
) -> Result<Arc<Subscription>, String> {
    let weak = Arc::downgrade(js);
    let handler: Handler = Arc::new(move |server, acc, msg| {
        if let Some(js) = weak.upgrade() {
            answer_system_account(&js, server, acc, msg);
        }
    });
    js.api_client()
        .subscribe(system, "$JS.API.>", None, handler)
}

fn answer_system_account(
    js: &Arc<JetStream>,
    server: &Arc<ServerShared>,
    account: &Arc<Account>,
    msg: &InMsg,
) {
    let subject = msg.subject.as_str();
    if subject == "$JS.API.META.LEADER.STEPDOWN"
        || subject == "$JS.API.SERVER.REMOVE"
        || subject.starts_with("$JS.API.ACCOUNT.")
    {
        return;
    }
    let req = Request {
        js,
        server,
        account,
        msg,
    };
    if subject != ACCOUNT_INFO_SUBJECT {
        return req.fail(
            types::response_type::SYSTEM,
            errors::NOT_ENABLED_FOR_ACCOUNT.new(),
        );
    }
    let kind = types::response_type::ACCOUNT_INFO;
    if requires_higher_api_level(msg) {
        return req.fail(kind, errors::REQUIRED_API_LEVEL.new());
    }
    req.fail(kind, errors::NOT_ENABLED_FOR_ACCOUNT.new());
}

/// One request being answered.
pub struct Request<'a> {
    pub js: &'a Arc<JetStream>,
    pub server: &'a Arc<ServerShared>,
    pub account: &'a Arc<Account>,
    pub msg: &'a InMsg,
}

impl Request<'_> {
    /// The last token of the subject: the stream name of `STREAM.<VERB>.<name>`.
    pub fn name_token(&self) -> &str {
        self.msg.subject.rsplit('.').next().unwrap_or_default()
    }

    /// The request body, or `None` when it is empty (whitespace only counts as empty,
    /// as in Go).
    pub fn body(&self) -> Option<&[u8]> {
        let b = self.msg.payload.trim_ascii();
        (!b.is_empty()).then_some(b)
    }

    /// Decodes the body as `T`; an empty body is `T::default()`.
    pub fn decode<T: strict::ApiRequest>(&self) -> Result<T, ApiError> {
        match self.body() {
            None => Ok(T::default()),
            Some(b) => self.decode_body(b),
        }
    }

    /// Decodes `b` as `T`. In strict mode (Go's default) a field `T` does not have makes
    /// the request invalid JSON, worded as Go's decoder words it.
    pub fn decode_body<T: strict::ApiRequest>(&self, b: &[u8]) -> Result<T, ApiError> {
        let value: serde_json::Value =
            decode_like_go(b).map_err(|e| errors::INVALID_JSON.with_err(&e))?;
        if self.js.config.strict {
            if let Some(field) = T::unknown_field(&value) {
                return Err(
                    errors::INVALID_JSON.with_err(&format!("json: unknown field {field:?}"))
                );
            }
        }
        serde_json::from_value(value).map_err(|e| errors::INVALID_JSON.with_err(&e))
    }

    /// Sends the response and counts the request.
    pub fn respond<T: Serialize>(&self, resp: &ApiResponse<T>) {
        // Go counts requests only of accounts with JetStream.
        if self.js.account(&self.account.name).is_some() {
            super::count_account_api(self.js, &self.account.name, resp.error.is_some());
        }
        if self.msg.reply.is_empty() {
            return;
        }
        let body = crate::monitor::http::to_go_json_compact(resp);
        crate::events::internal::publish(
            self.server,
            self.js.api_client(),
            self.account,
            &self.msg.reply,
            None,
            None,
            &body,
        );
    }

    /// Sends an error response of type `kind`.
    pub fn fail(&self, kind: &'static str, error: ApiError) {
        self.respond(&ApiResponse::<()>::err(kind, error));
    }
}

/// Whether `b` starts, after whitespace, like a JSON object or array (Go's
/// `isJSONObjectOrArray`): the requests that take an optional body read only those.
pub fn is_json_object_or_array(b: &[u8]) -> bool {
    let is_json_space = |c: &&u8| matches!(**c, b' ' | b'\t' | b'\n' | b'\r');
    matches!(b.iter().find(|c| !is_json_space(c)), Some(b'{' | b'['))
}

/// Whether a request body is empty for the verbs that take none (Go's
/// `isEmptyRequest`): nothing at all, or a JSON object without keys. Whitespace alone is
/// not empty.
pub fn is_empty_request(b: &[u8]) -> bool {
    b.is_empty()
        || b == b"{}"
        || serde_json::from_slice::<serde_json::Value>(b)
            .is_ok_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
}

/// Decodes JSON as Go's `encoding/json` fills a struct: a `null` leaves the field at its
/// zero value, whatever its type.
pub fn decode_like_go<T: serde::de::DeserializeOwned>(b: &[u8]) -> serde_json::Result<T> {
    fn drop_nulls(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(b)?;
    if value.is_null() {
        // A request of `null` leaves every field at its zero value.
        value = serde_json::Value::Object(Default::default());
    }
    drop_nulls(&mut value);
    serde_json::from_value(value)
}

fn dispatch(
    js: &Arc<JetStream>,
    server: &Arc<ServerShared>,
    account: &Arc<Account>,
    verb: Verb,
    msg: &InMsg,
) {
    let req = Request {
        js,
        server,
        account,
        msg,
    };
    let kind = verb_response_type(verb);
    // Consumer info refuses a body before anything else, as in Go.
    if verb == Verb::ConsumerInfo && !is_empty_request(&msg.payload) {
        return req.fail(kind, errors::NOT_EMPTY_REQUEST.new());
    }
    match verb {
        // Without a cluster these verbs fail whatever the request asks for.
        Verb::StreamLeaderStepDown | Verb::StreamPeerRemove | Verb::ConsumerLeaderStepDown => {
            return req.fail(kind, errors::CLUSTER_REQUIRED.new());
        }
        _ if requires_higher_api_level(msg) => {
            return req.fail(kind, errors::REQUIRED_API_LEVEL.new());
        }
        _ => {}
    }
    // An account without JetStream subscribes the API too, to be told so (as Go answers
    // through the import every account has of the system account's API).
    let Some(jsa) = js.account(&account.name) else {
        return req.fail(kind, errors::NOT_ENABLED_FOR_ACCOUNT.new());
    };
    if matches!(verb, Verb::StreamDelete | Verb::ConsumerDelete) && !is_empty_request(&msg.payload)
    {
        return req.fail(kind, errors::NOT_EMPTY_REQUEST.new());
    }
    match verb {
        Verb::Info => stream::account_info(&req, &jsa),
        Verb::StreamCreate => stream::create(&req, &jsa),
        Verb::StreamUpdate => stream::update(&req, &jsa),
        Verb::StreamDelete => stream::delete(&req, &jsa),
        Verb::StreamInfo => stream::info(&req, &jsa),
        Verb::StreamNames => stream::names(&req, &jsa),
        Verb::StreamList => stream::list(&req, &jsa),
        Verb::StreamPurge => stream::purge(&req, &jsa),
        Verb::StreamMsgDelete => stream::msg_delete(&req, &jsa),
        Verb::StreamMsgGet => stream::msg_get(&req, &jsa),
        Verb::ConsumerCreate => consumer::create(&req, &jsa),
        Verb::ConsumerInfo => consumer::info(&req, &jsa),
        Verb::ConsumerDelete => consumer::delete(&req, &jsa),
        Verb::ConsumerNames => consumer::names(&req, &jsa),
        Verb::ConsumerList => consumer::list(&req, &jsa),
        Verb::ConsumerPause => consumer::pause(&req, &jsa),
        Verb::ConsumerUnpin => consumer::unpin(&req, &jsa),
        Verb::StreamSnapshot => super::snapshot::snapshot(&req, &jsa),
        Verb::StreamRestore => super::snapshot::restore(&req, &jsa),
        Verb::StreamLeaderStepDown | Verb::StreamPeerRemove | Verb::ConsumerLeaderStepDown => {}
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn empty_requests_are_nothing_or_an_empty_object() {
        assert!(is_empty_request(b""));
        assert!(is_empty_request(b"{}"));
        assert!(is_empty_request(b" { } "));
        assert!(!is_empty_request(b"  "));
        assert!(!is_empty_request(b"[]"));
        assert!(!is_empty_request(b"null"));
        assert!(!is_empty_request(br#"{"extra_field":"unexpected"}"#));
    }

    #[test]
    fn json_objects_and_arrays_are_told_after_json_whitespace() {
        assert!(is_json_object_or_array(b"\t\n\r{ }"));
        assert!(is_json_object_or_array(b"[]"));
        assert!(!is_json_object_or_array(b"\x0c{}"));
        assert!(!is_json_object_or_array(b"   "));
        assert!(!is_json_object_or_array(b"null"));
    }
}
