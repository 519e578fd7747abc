//! Checking a stream configuration and filling in its defaults (Go's `checkStreamCfg`),
//! checking an update against the configuration in force (Go's `configUpdateCheck`), the
//! request-level checks Go's create handler makes around them, and the versioning metadata
//! (`_nats.req.level`, `_nats.ver`, `_nats.level`).
//!
//! Everything here is pure: the server's limits come in as [`ServerLimits`], and what the
//! account knows (the other streams' configurations, the account's limits) comes in
//! through an [`AccountView`]. The checks run in Go's order and answer Go's errors with
//! Go's texts, so the first problem reported for a bad configuration is the one Go reports.
//!
//! # What the handlers do around these checks, in Go's order
//!
//! `STREAM.CREATE` (Go's `jsStreamCreateRequest` then `addStreamWithAssignment`):
//! 1. reject on a `Nats-Required-Api-Level` header above ours ([`error_on_required_api_level`]);
//! 2. decode; [`set_static_stream_metadata`] on the request's configuration;
//! 3. [`check_create_request`] (name in the subject, path separators, sealed, mirror direct);
//! 4. account state, on the configuration *before* defaults (Go's
//!    `jsNonClusteredStreamLimitsCheck`): the other streams (a stream of the same name
//!    does not count) against `max_streams`: [`errors::MAXIMUM_STREAMS_LIMIT`]; then
//!    `max_consumers` and the byte reservations, sent as [`errors::STREAM_LIMITS`] unless
//!    already an API error;
//! 5. [`check_stream_config_in`] with the account as [`AccountView`];
//! 6. replicas > 1 on a server without a cluster: [`errors::STREAM_REPLICAS_NOT_SUPPORTED`];
//! 7. an existing stream of that name: equal after [`copy_stream_metadata`] from the
//!    existing one answers it, otherwise [`errors::STREAM_NAME_EXIST`];
//! 8. account limits again (no applicable tier: [`errors::NO_LIMITS`]; `max_consumers`
//!    above the account's; memory/storage reservations);
//! 9. [`check_create_filters`] (mirror and source filters not covered by step 5);
//! 10. subject overlap with the account's other streams: [`errors::STREAM_SUBJECT_OVERLAP`];
//! 11. errors that are not already API errors are sent as [`errors::STREAM_CREATE`]; the
//!     response's configuration goes through [`with_dynamic_stream_metadata`].
//!
//! `STREAM.UPDATE` (Go's `jsStreamUpdateRequest` then `updateWithAdvisory`):
//! 1. the API level header; decode;
//! 2. [`check_stream_config_in`] on the request as sent, *before* the name check;
//! 3. the name in the subject against the checked configuration's:
//!    [`errors::STREAM_MISMATCH`]; then the stream must exist: [`errors::STREAM_NOT_FOUND`];
//! 4. [`set_static_stream_metadata`] on the checked configuration;
//! 5. [`check_update_in`] with the stream's configuration in force (this checks the
//!    configuration a second time, as Go does);
//! 6. account limits for the grown `max_bytes` only (Go reserves the difference between the
//!    new and the old `max_bytes`): [`errors::NO_LIMITS`], `max_consumers`, reservations;
//! 7. consumers whose `inactive_threshold` / `max_ack_pending` exceed the new consumer
//!    limits: a plain error `change to limits violates consumers: a, b` (sent as
//!    [`errors::STREAM_UPDATE`]);
//! 8. subject overlap with the account's other streams;
//! 9. errors that are not already API errors are sent as [`errors::STREAM_UPDATE`]; the
//!    response's configuration goes through [`with_dynamic_stream_metadata`].

use super::api::errors::{self, ApiError};
use super::api::types::{
    DiscardPolicy, JetStreamAccountLimits, PersistMode, Placement, RetentionPolicy, StorageType,
    StreamConfig, StreamSource, SubjectTransformConfig,
};
use crate::monitor::gotime::go_duration_string;
use crate::subject::{
    is_valid_publish_subject, is_valid_subject, subject_is_literal, subject_is_subset_match,
    subjects_collide, FWCS,
};
use crate::subject_transform::{validate_mapping, SubjectTransform};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write as _;

const MILLISECOND: i64 = 1_000_000;
const SECOND: i64 = 1_000 * MILLISECOND;

/// Go's default duplicate window: two minutes.
pub const DEFAULT_DUPLICATES_WINDOW: i64 = 120 * SECOND;
/// Most replicas a stream may have (Go's `StreamMaxReplicas`).
pub const MAX_REPLICAS: i64 = 5;
/// Longest stream or consumer description, in bytes (Go's `JSMaxDescriptionLen`).
pub const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
/// Largest metadata, as the sum of its keys' and values' lengths (Go's `JSMaxMetadataLen`).
pub const MAX_METADATA_LEN: usize = 128 * 1024;
/// Shortest `max_age` and `duplicate_window` other than "unset".
const MIN_WINDOW: i64 = 100 * MILLISECOND;
/// Shortest `subject_delete_marker_ttl`.
const MIN_DELETE_MARKER_TTL: i64 = SECOND;
/// The JetStream API subjects an external API prefix must stay clear of.
const JS_API_PREFIX: &str = "$JS.API";

/// Metadata key: the API level a stream needs from a server to run.
pub const REQUIRED_LEVEL_METADATA_KEY: &str = "_nats.req.level";
/// Metadata key, in responses only: the version of the server answering.
pub const SERVER_VERSION_METADATA_KEY: &str = "_nats.ver";
/// Metadata key, in responses only: the API level of the server answering.
pub const SERVER_LEVEL_METADATA_KEY: &str = "_nats.level";

/// The server-wide limits a stream configuration is checked against (Go's
/// `JSLimitOpts` and the server's max payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerLimits {
    /// Longest duplicate window, nanoseconds; 0 = no limit.
    pub duplicates: i64,
    /// The server's `max_payload`. Go does not check a stream's `max_msg_size` against
    /// it when the stream is configured, only each message when it is published.
    pub max_payload: i64,
}

/// What the checks need to know about the account the stream belongs to.
pub trait AccountView {
    /// The configuration of the account's stream `name`, when there is one.
    fn stream_config(&self, name: &str) -> Option<StreamConfig>;
    /// The account's limits for a stream of `replicas` replicas (Go's `selectLimits`:
    /// the account-wide limits, or those of the tier `R<replicas>`); `None` when no limits
    /// apply.
    fn stream_limits(&self, replicas: i64) -> Option<JetStreamAccountLimits>;
}

/// An account that has no other streams and no limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccount;

impl AccountView for NoAccount {
    fn stream_config(&self, _name: &str) -> Option<StreamConfig> {
        None
    }
    fn stream_limits(&self, _replicas: i64) -> Option<JetStreamAccountLimits> {
        None
    }
}

/// Reads the account's streams through their locks: call it without holding the
/// account's stream map for writing.
impl AccountView for super::JsAccount {
    fn stream_config(&self, name: &str) -> Option<StreamConfig> {
        self.stream(name).map(|s| s.config())
    }
    fn stream_limits(&self, _replicas: i64) -> Option<JetStreamAccountLimits> {
        // natsd has no tiered limits yet: the account's limits apply to every stream.
        Some(self.limits)
    }
}

fn invalid(text: &str) -> ApiError {
    errors::STREAM_INVALID_CONFIG.with_err(&text)
}

fn pedantic_error(text: &str) -> ApiError {
    errors::PEDANTIC.with_err(&text)
}

/// Go's `isValidAssetName`: not empty, and none of `.`, `*`, `>`, `\`, `/` or the
/// whitespace space, tab, CR, LF, form feed.
pub fn is_valid_asset_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| b" \t\r\n\x0c.*>\\/".contains(&b))
}

/// Go's `%q` of a string: double-quoted, `"` and `\` escaped, control characters as
/// `\n`, `\t`, ..., `\xNN` or `\uNNNN`. (Go keeps every printable character; here the
/// non-ASCII characters that are not printable are approximated by control characters
/// and whitespace other than the space.)
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c != ' ' && (c.is_control() || c.is_whitespace() || c == '\u{ad}') => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A limit left at 0 or set below -1 means "unlimited" (-1); pedantic mode refuses the
/// values below -1 instead of correcting them.
fn default_unlimited(value: &mut i64, pedantic: bool, field: &str) -> Result<(), ApiError> {
    if *value == 0 || *value < -1 {
        if pedantic && *value < -1 {
            return Err(pedantic_error(&format!("{field} must be set to -1")));
        }
        *value = -1;
    }
    Ok(())
}

/// Checks `config` and returns it with Go's defaults filled in, for an account without
/// other streams or limits (see [`check_stream_config_in`]).
pub fn check_stream_config(
    config: &StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
) -> Result<StreamConfig, ApiError> {
    check_stream_config_in(config, limits, pedantic, &NoAccount)
}

/// Checks `config` and returns it with Go's defaults filled in (Go's `checkStreamCfg`).
/// `account` gives the configurations of the streams a mirror or source names (for their
/// `max_msg_size`, subjects, direct get and cycles) and the account's per-stream byte
/// limits. With `pedantic`, defaults that would change what was asked for are refused.
pub fn check_stream_config_in(
    config: &StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
    account: &dyn AccountView,
) -> Result<StreamConfig, ApiError> {
    check_identity(config)?;
    let mut cfg = config.clone();
    // Go also refuses out-of-range retention, discard, compression and storage values
    // here; the Rust enums cannot hold one (a bad JSON value fails to decode). Go's unset
    // storage becomes file, which is the Rust default.
    check_limits(&mut cfg, limits, pedantic)?;
    check_features(&mut cfg, pedantic)?;
    let upstream = check_mirror_and_sources(&mut cfg, pedantic, account)?;
    check_external_prefixes(&upstream)?;
    check_cycles(&cfg, account)?;
    check_subjects(&mut cfg)?;
    if let Some(account_limits) = account.stream_limits(cfg.replicas) {
        let max_stream_bytes = match cfg.storage {
            StorageType::Memory => account_limits.memory_max_stream_bytes,
            StorageType::File => account_limits.store_max_stream_bytes,
        };
        if account_limits.max_bytes_required && cfg.max_bytes <= 0 {
            return Err(errors::STREAM_MAX_BYTES_REQUIRED.new());
        } else if max_stream_bytes > 0 && cfg.max_bytes > max_stream_bytes {
            return Err(errors::STREAM_MAX_STREAM_BYTES_EXCEEDED.new());
        }
    }
    check_subject_transform(&cfg)?;
    check_republish(&mut cfg, pedantic)?;
    if cfg
        .placement
        .as_ref()
        .is_some_and(|p| *p == Placement::default())
    {
        cfg.placement = None;
    }
    if cfg
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return Err(invalid("preferred server not permitted in placement"));
    }
    Ok(cfg)
}

/// Name, description and metadata sizes.
fn check_identity(cfg: &StreamConfig) -> Result<(), ApiError> {
    if !is_valid_asset_name(&cfg.name) {
        return Err(invalid(
            "stream name is required and can not contain '.', '*', '>', '\\', '/'",
        ));
    }
    if cfg.name.len() > super::MAX_NAME_LEN {
        return Err(invalid(&format!(
            "stream name is too long, maximum allowed is {}",
            super::MAX_NAME_LEN
        )));
    }
    if cfg.description.len() > MAX_DESCRIPTION_LEN {
        return Err(invalid(&format!(
            "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
        )));
    }
    let metadata_len: usize = cfg.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if metadata_len > MAX_METADATA_LEN {
        return Err(invalid(&format!(
            "stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes"
        )));
    }
    Ok(())
}

/// Replicas, the size and count limits, max age and the duplicate window.
fn check_limits(
    cfg: &mut StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
) -> Result<(), ApiError> {
    if cfg.replicas == 0 {
        cfg.replicas = 1;
    }
    if cfg.replicas > MAX_REPLICAS {
        return Err(invalid(&format!("maximum replicas is {MAX_REPLICAS}")));
    }
    if cfg.replicas < 0 {
        return Err(errors::REPLICAS_COUNT_CANNOT_BE_NEGATIVE.new());
    }
    default_unlimited(&mut cfg.max_msgs, pedantic, "max_msgs")?;
    default_unlimited(&mut cfg.max_msgs_per, pedantic, "max_msgs_per_subject")?;
    default_unlimited(&mut cfg.max_bytes, pedantic, "max_bytes")?;
    let mut max_msg_size = i64::from(cfg.max_msg_size);
    default_unlimited(&mut max_msg_size, pedantic, "max_msg_size")?;
    // Either unchanged or -1, so it fits.
    cfg.max_msg_size = i32::try_from(max_msg_size).unwrap_or(-1);
    default_unlimited(&mut cfg.max_consumers, pedantic, "max_consumers")?;
    if cfg.max_age < 0 {
        return Err(invalid("max age can not be negative"));
    }
    if cfg.max_age != 0 && cfg.max_age < MIN_WINDOW {
        return Err(invalid("max age needs to be >= 100ms"));
    }

    // Mirrors and sources keep the duplicate window they are given (0: none).
    if cfg.duplicates == 0 && cfg.mirror.is_none() && cfg.sources.is_empty() {
        let mut window = DEFAULT_DUPLICATES_WINDOW;
        if limits.duplicates > 0 && window > limits.duplicates {
            if pedantic {
                return Err(pedantic_error(
                    "duplicate window limits are higher than current limits",
                ));
            }
            window = limits.duplicates;
        }
        if cfg.max_age != 0 && cfg.max_age < window {
            if pedantic {
                return Err(pedantic_error(
                    "duplicate window cannot be bigger than max age",
                ));
            }
            cfg.duplicates = cfg.max_age;
        } else {
            cfg.duplicates = window;
        }
    }
    if cfg.duplicates < 0 {
        return Err(invalid("duplicates window can not be negative"));
    }
    if cfg.max_age != 0 && cfg.duplicates > cfg.max_age {
        return Err(invalid("duplicates window can not be larger then max age"));
    }
    if limits.duplicates > 0 && cfg.duplicates > limits.duplicates {
        return Err(invalid(&format!(
            "duplicates window can not be larger then server limit of {}",
            go_duration_string(limits.duplicates)
        )));
    }
    if cfg.duplicates > 0 && cfg.duplicates < MIN_WINDOW {
        return Err(invalid("duplicates window needs to be >= 100ms"));
    }
    Ok(())
}

/// Roll-ups, counters, discard new per subject, delete markers, schedules, persist mode.
fn check_features(cfg: &mut StreamConfig, pedantic: bool) -> Result<(), ApiError> {
    if cfg.deny_purge && cfg.allow_rollup {
        return Err(invalid("roll-ups require the purge permission"));
    }
    if cfg.allow_msg_counter {
        if cfg.discard == DiscardPolicy::New {
            return Err(invalid("counter stream cannot use discard new"));
        }
        if cfg.allow_msg_ttl {
            return Err(invalid("counter stream cannot use message TTLs"));
        }
        if cfg.allow_msg_schedules {
            return Err(invalid("counter stream cannot use message schedules"));
        }
        if cfg.retention != RetentionPolicy::Limits {
            return Err(invalid("counter stream can only use limits retention"));
        }
    }
    check_discard_new_per(cfg)?;

    if cfg.subject_delete_marker_ttl > 0 {
        if cfg.subject_delete_marker_ttl < MIN_DELETE_MARKER_TTL {
            return Err(invalid(
                "subject delete marker TTL must be at least 1 second",
            ));
        }
        // Markers are messages with a TTL that roll up their subject.
        if !cfg.allow_msg_ttl {
            if pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if message TTLs are disabled",
                ));
            }
            cfg.allow_msg_ttl = true;
        }
        if !cfg.allow_rollup {
            if pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if roll-ups are disabled",
                ));
            }
            cfg.allow_rollup = true;
            cfg.deny_purge = false;
        }
    } else if cfg.subject_delete_marker_ttl < 0 {
        return Err(invalid("subject delete marker TTL must not be negative"));
    }

    if cfg.allow_msg_schedules {
        if cfg.discard == DiscardPolicy::New {
            return Err(invalid("message scheduling cannot use discard new"));
        }
        if !cfg.allow_rollup {
            if pedantic {
                return Err(invalid(
                    "message scheduling cannot be set if roll-ups are disabled",
                ));
            }
            cfg.allow_rollup = true;
            cfg.deny_purge = false;
        }
    }

    if cfg.persist_mode == PersistMode::Async {
        if cfg.storage != StorageType::File {
            return Err(invalid(
                "async persist mode is only supported on file storage",
            ));
        }
        if cfg.replicas > 1 {
            return Err(invalid(
                "async persist mode is not supported on replicated streams",
            ));
        }
        if cfg.allow_atomic_publish {
            return Err(invalid(
                "async persist mode is not supported with atomic batch publish",
            ));
        }
    }
    Ok(())
}

fn check_discard_new_per(cfg: &StreamConfig) -> Result<(), ApiError> {
    if cfg.discard_new_per {
        if cfg.discard != DiscardPolicy::New {
            return Err(invalid(
                "discard new per subject requires discard new policy to be set",
            ));
        }
        if cfg.max_msgs_per <= 0 {
            return Err(invalid(
                "discard new per subject requires max msgs per subject > 0",
            ));
        }
    }
    Ok(())
}

/// What the mirror and sources contribute to the later checks: the subjects of the local
/// streams they read from, and the prefixes of the external ones.
#[derive(Default)]
struct Upstream {
    subjects: Vec<String>,
    deliver_prefixes: Vec<String>,
    api_prefixes: Vec<String>,
}

impl Upstream {
    fn add_external(&mut self, source: &StreamSource) {
        if let Some(ext) = &source.external {
            if !ext.deliver_prefix.is_empty() {
                self.deliver_prefixes.push(ext.deliver_prefix.clone());
            }
            if !ext.api_prefix.is_empty() {
                self.api_prefixes.push(ext.api_prefix.clone());
            }
        }
    }
}

/// Go's `%w %s` of its bad-subject error and the subject.
fn bad_subject(subject: &str) -> String {
    format!("invalid subject {subject}")
}

/// A durable consumer named for a mirror or source: a valid name, a literal deliver
/// subject, and no start position or filter of its own.
fn durable_consumer_is_valid(source: &StreamSource) -> bool {
    let Some(c) = &source.consumer else {
        return true;
    };
    is_valid_asset_name(&c.name)
        && subject_is_literal(&c.deliver_subject)
        && is_valid_subject(&c.deliver_subject)
        && source.opt_start_seq == 0
        && source.opt_start_time.is_none()
        && source.filter_subject.is_empty()
}

/// Identifies a source for duplicate detection (Go's `composeIName`): the stream, where
/// it lives, the durable consumer, and what it takes (`>` when unfiltered).
fn source_identity(src: &StreamSource) -> (String, Option<String>, Option<String>, String, String) {
    let (from, to) = if src.subject_transforms.is_empty() {
        let filter = if src.filter_subject.is_empty() {
            FWCS
        } else {
            src.filter_subject.as_str()
        };
        (filter.to_owned(), FWCS.to_owned())
    } else {
        let or_all = |s: &str| if s.is_empty() { FWCS } else { s }.to_owned();
        let froms: Vec<String> = src
            .subject_transforms
            .iter()
            .map(|t| or_all(&t.source))
            .collect();
        let tos: Vec<String> = src
            .subject_transforms
            .iter()
            .map(|t| or_all(&t.destination))
            .collect();
        (froms.join("\x0c"), tos.join("\x0c"))
    };
    (
        src.name.clone(),
        src.external.as_ref().map(|e| e.api_prefix.clone()),
        src.consumer.as_ref().map(|c| c.name.clone()),
        from,
        to,
    )
}

/// Mirror and source checks (Go checks the mirror before looking at the subjects so
/// that a clustered meta layer cannot be led into a cycle).
fn check_mirror_and_sources(
    cfg: &mut StreamConfig,
    pedantic: bool,
    account: &dyn AccountView,
) -> Result<Upstream, ApiError> {
    let mut upstream = Upstream::default();
    if let Some(mirror) = cfg.mirror.clone() {
        check_mirror(cfg, &mirror, pedantic, account, &mut upstream)?;
    }
    if !cfg.sources.is_empty() && cfg.allow_msg_schedules {
        return Err(errors::SOURCE_WITH_MSG_SCHEDULES.new());
    }
    let mut identities = HashSet::new();
    let mut consumers = HashSet::new();
    for src in &cfg.sources {
        if !is_valid_asset_name(&src.name) {
            return Err(errors::SOURCE_INVALID_STREAM_NAME.new());
        }
        if !identities.insert(source_identity(src)) {
            return Err(errors::SOURCE_DUPLICATE_DETECTED.new());
        }
        if !src.filter_subject.is_empty() && !src.subject_transforms.is_empty() {
            return Err(errors::SOURCE_MULTIPLE_FILTERS_NOT_ALLOWED.new());
        }
        for tr in &src.subject_transforms {
            if !tr.source.is_empty() && !is_valid_subject(&tr.source) {
                return Err(
                    errors::SOURCE_INVALID_SUBJECT_FILTER.with_err(&bad_subject(&tr.source))
                );
            }
            if let Err(e) = validate_mapping(&tr.source, &tr.destination) {
                return Err(errors::SOURCE_INVALID_TRANSFORM_DESTINATION.with_err(&e));
            }
        }
        for (i, outer) in src.subject_transforms.iter().enumerate() {
            for (j, inner) in src.subject_transforms.iter().enumerate() {
                if i != j && subject_is_subset_match(&outer.source, &inner.source) {
                    return Err(errors::SOURCE_OVERLAPPING_SUBJECT_FILTERS.new());
                }
            }
        }
        if let Some(c) = &src.consumer {
            if !durable_consumer_is_valid(src) {
                return Err(errors::SOURCE_DURABLE_CONSUMER_CFG_INVALID.new());
            }
            // One durable consumer can feed one source of a stream, not several.
            let key = (
                src.name.clone(),
                src.external.as_ref().map(|e| e.api_prefix.clone()),
                c.name.clone(),
            );
            if !consumers.insert(key) {
                return Err(errors::SOURCE_DURABLE_CONSUMER_DUPLICATE_DETECTED.new());
            }
        }
        if src.external.is_none() {
            // The sourced stream need not exist yet; when it does, its messages must fit.
            if let Some(origin) = account.stream_config(&src.name) {
                upstream.subjects.extend(origin.subjects.iter().cloned());
                if cfg.max_msg_size > 0
                    && origin.max_msg_size > 0
                    && cfg.max_msg_size < origin.max_msg_size
                {
                    return Err(errors::SOURCE_MAX_MESSAGE_SIZE_TOO_BIG.new());
                }
            }
        } else {
            upstream.add_external(src);
        }
    }
    Ok(upstream)
}

fn check_mirror(
    cfg: &mut StreamConfig,
    mirror: &StreamSource,
    pedantic: bool,
    account: &dyn AccountView,
    upstream: &mut Upstream,
) -> Result<(), ApiError> {
    if cfg.first_seq > 0 {
        return Err(errors::MIRROR_WITH_FIRST_SEQ.new());
    }
    if !cfg.subjects.is_empty() {
        return Err(errors::MIRROR_WITH_SUBJECTS.new());
    }
    if !cfg.sources.is_empty() {
        return Err(errors::MIRROR_WITH_SOURCES.new());
    }
    if cfg.allow_msg_counter {
        return Err(errors::MIRROR_WITH_COUNTERS.new());
    }
    if cfg.allow_atomic_publish {
        return Err(errors::MIRROR_WITH_ATOMIC_PUBLISH.new());
    }
    if cfg.allow_batch_publish {
        return Err(errors::MIRROR_WITH_BATCH_PUBLISH.new());
    }
    if cfg.allow_msg_schedules {
        return Err(errors::MIRROR_WITH_MSG_SCHEDULES.new());
    }
    if !durable_consumer_is_valid(mirror) {
        return Err(errors::MIRROR_DURABLE_CONSUMER_CFG_INVALID.new());
    }
    if !mirror.filter_subject.is_empty() && !mirror.subject_transforms.is_empty() {
        return Err(errors::MIRROR_MULTIPLE_FILTERS_NOT_ALLOWED.new());
    }
    if cfg.subject_delete_marker_ttl > 0 {
        // A marker would take a sequence number the origin does not have.
        return Err(invalid("subject delete markers forbidden on mirrors"));
    }
    for (i, outer) in mirror.subject_transforms.iter().enumerate() {
        if !outer.source.is_empty() && !is_valid_subject(&outer.source) {
            return Err(errors::MIRROR_INVALID_SUBJECT_FILTER.with_err(&bad_subject(&outer.source)));
        }
        if let Err(e) = validate_mapping(&outer.source, &outer.destination) {
            return Err(errors::MIRROR_INVALID_TRANSFORM_DESTINATION.with_err(&e));
        }
        for (j, inner) in mirror.subject_transforms.iter().enumerate() {
            if i != j && subjects_collide(&outer.source, &inner.source) {
                return Err(errors::MIRROR_OVERLAPPING_SUBJECT_FILTERS.new());
            }
        }
    }
    // An external origin is not looked up: a stream of the same name may be this one.
    if mirror.external.is_some() {
        upstream.add_external(mirror);
        return Ok(());
    }
    if !is_valid_asset_name(&mirror.name) {
        return Err(errors::MIRROR_INVALID_STREAM_NAME.new());
    }
    // The origin need not exist yet; when it does, its messages must fit and the mirror
    // serves direct gets as the origin does.
    if let Some(origin) = account.stream_config(&mirror.name) {
        upstream.subjects.extend(origin.subjects.iter().cloned());
        if cfg.max_msg_size > 0 && origin.max_msg_size > 0 && cfg.max_msg_size < origin.max_msg_size
        {
            return Err(errors::MIRROR_MAX_MESSAGE_SIZE_TOO_BIG.new());
        }
        if pedantic && cfg.mirror_direct != origin.allow_direct {
            return Err(pedantic_error(
                "origin stream has direct get set, mirror has it disabled",
            ));
        }
        cfg.mirror_direct = origin.allow_direct;
    }
    Ok(())
}

/// External delivery prefixes must be literal and not capture the local upstream
/// subjects; external API prefixes must be literal and clear of our own API.
fn check_external_prefixes(upstream: &Upstream) -> Result<(), ApiError> {
    for prefix in &upstream.deliver_prefixes {
        if !is_valid_publish_subject(prefix) {
            return Err(errors::STREAM_INVALID_EXTERNAL_DELIVERY_SUBJ.with(&[("{prefix}", prefix)]));
        }
        for subject in &upstream.subjects {
            if subjects_collide(subject, &format!("{prefix}.{subject}")) {
                return Err(errors::STREAM_EXTERNAL_DEL_PREFIX_OVERLAPS
                    .with(&[("{prefix}", prefix), ("{subject}", subject)]));
            }
        }
    }
    for prefix in &upstream.api_prefixes {
        if !is_valid_publish_subject(prefix) {
            return Err(invalid(&format!(
                "stream external api prefix {} must be a valid subject without wildcards",
                go_quote(prefix)
            )));
        }
        if subjects_collide(prefix, JS_API_PREFIX) {
            return Err(errors::STREAM_EXTERNAL_API_OVERLAP
                .with(&[("{prefix}", prefix), ("{subject}", &JS_API_PREFIX)]));
        }
    }
    Ok(())
}

/// Follows the local sources and mirrors from `cfg` through the account's streams and
/// refuses a configuration that would read its own messages back: a source leading
/// back to a stream already visited whose filter takes that stream's subjects, or any
/// mirror leading back.
fn check_cycles(cfg: &StreamConfig, account: &dyn AccountView) -> Result<(), ApiError> {
    let cycle = || invalid("detected cycle");
    let takes = |subjects: &[String], filter: &str| {
        filter.is_empty() || subjects.iter().any(|s| subjects_collide(s, filter))
    };
    let mut to_visit = VecDeque::from([cfg.clone()]);
    let mut visited = HashSet::new();
    while let Some(current) = to_visit.pop_front() {
        visited.insert(current.name.clone());
        for src in current.sources.iter().filter(|s| s.external.is_none()) {
            if visited.contains(&src.name) {
                if takes(&current.subjects, &src.filter_subject) {
                    return Err(cycle());
                }
            } else if let Some(next) = account.stream_config(&src.name) {
                to_visit.push_back(next);
            }
        }
        if let Some(m) = current.mirror.as_ref().filter(|m| m.external.is_none()) {
            if visited.contains(&m.name) {
                return Err(cycle());
            }
            if let Some(next) = account.stream_config(&m.name) {
                to_visit.push_back(next);
            }
        }
    }
    Ok(())
}

/// The stream's own subjects: the name when none is given (unless it is fed by a mirror
/// or sources), valid, distinct, not overlapping each other, and clear of the JetStream
/// and system API subjects unless the stream does not acknowledge.
fn check_subjects(cfg: &mut StreamConfig) -> Result<(), ApiError> {
    if cfg.subjects.is_empty() {
        if cfg.mirror.is_none() && cfg.sources.is_empty() {
            cfg.subjects.push(cfg.name.clone());
        }
    } else {
        if cfg.mirror.is_some() {
            return Err(errors::MIRROR_WITH_SUBJECTS.new());
        }
        let mut seen = HashSet::with_capacity(cfg.subjects.len());
        for (i, subject) in cfg.subjects.iter().enumerate() {
            if !is_valid_subject(subject) {
                return Err(invalid("invalid subject"));
            }
            if seen.contains(subject.as_str()) {
                return Err(invalid("duplicate subjects detected"));
            }
            if subject == FWCS {
                if !cfg.no_ack {
                    return Err(invalid("capturing all subjects requires no-ack to be true"));
                }
                if cfg.replicas != 1 {
                    return Err(invalid("capturing all subjects requires replicas of 1"));
                }
            }
            if !cfg.no_ack {
                for api in ["$JS.>", "$JSC.>", "$NRG.>"] {
                    // Streams on JetStream advisories predate this rule and stay allowed.
                    if subjects_collide(subject, api)
                        && !subject_is_subset_match(subject, "$JS.EVENT.>")
                    {
                        return Err(invalid(
                            "subjects that overlap with jetstream api require no-ack to be true",
                        ));
                    }
                }
                if subjects_collide(subject, "$SYS.>")
                    && !subject_is_subset_match(subject, "$SYS.ACCOUNT.>")
                {
                    return Err(invalid(
                        "subjects that overlap with system api require no-ack to be true",
                    ));
                }
            }
            // Overlapping subjects would store a message twice.
            if let Some(other) = cfg.subjects[i + 1..]
                .iter()
                .find(|other| subjects_collide(other, subject))
            {
                return Err(invalid(&format!(
                    "subject {} overlaps with {}",
                    go_quote(subject),
                    go_quote(other)
                )));
            }
            seen.insert(subject.as_str());
        }
    }
    if cfg.subjects.is_empty() && cfg.sources.is_empty() && cfg.mirror.is_none() {
        return Err(invalid(
            "stream needs at least one configured subject or be a source/mirror",
        ));
    }
    Ok(())
}

fn check_subject_transform(cfg: &StreamConfig) -> Result<(), ApiError> {
    let Some(SubjectTransformConfig {
        source,
        destination,
    }) = &cfg.subject_transform
    else {
        return Ok(());
    };
    if !source.is_empty() && !is_valid_subject(source) {
        return Err(errors::STREAM_TRANSFORM_INVALID_SOURCE.with_err(&bad_subject(source)));
    }
    if let Err(e) = validate_mapping(source, destination) {
        return Err(errors::STREAM_TRANSFORM_INVALID_DESTINATION.with_err(&e));
    }
    Ok(())
}

/// Republish: an empty source means every subject; the destination may not feed the
/// stream again; source and destination must make a transform.
fn check_republish(cfg: &mut StreamConfig, pedantic: bool) -> Result<(), ApiError> {
    let Some(mut republish) = cfg.republish.take() else {
        return Ok(());
    };
    if republish.source.is_empty() {
        if pedantic {
            return Err(pedantic_error("republish source can not be empty"));
        }
        republish.source = FWCS.to_owned();
    }
    // `>` to `>` on a stream whose one subject is transformed republishes the
    // transformed subjects, which is not a cycle.
    if let Some(tr) = &cfg.subject_transform {
        if republish.destination == FWCS
            && republish.source == FWCS
            && cfg.subjects.len() == 1
            && tr.source == cfg.subjects[0]
        {
            if pedantic {
                return Err(pedantic_error(
                    "implicit republish based on subject transform",
                ));
            }
            republish.source = tr.destination.clone();
            republish.destination = tr.destination.clone();
        }
    }
    if cfg
        .subjects
        .iter()
        .any(|s| subjects_collide(&republish.destination, s))
    {
        return Err(invalid(
            "stream configuration for republish destination forms a cycle",
        ));
    }
    if SubjectTransform::new(&republish.source, &republish.destination).is_err() {
        return Err(invalid(&format!(
            "stream configuration for republish with transform from '{}' to '{}' not valid",
            republish.source, republish.destination
        )));
    }
    cfg.republish = Some(republish);
    Ok(())
}

/// Checks an update of `old` to `new` for an account without other streams or limits
/// (see [`check_update_in`]).
pub fn check_update(
    old: &StreamConfig,
    new: &StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
) -> Result<StreamConfig, ApiError> {
    check_update_in(old, new, limits, pedantic, &NoAccount)
}

/// Checks an update of `old` to `new` and returns the configuration to apply (Go's
/// `configUpdateCheck` without its account limit checks, which the handler makes).
pub fn check_update_in(
    old: &StreamConfig,
    new: &StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
    account: &dyn AccountView,
) -> Result<StreamConfig, ApiError> {
    let mut cfg = check_stream_config_in(new, limits, pedantic, account)?;
    if cfg.name != old.name {
        return Err(invalid("stream configuration name must match original"));
    }
    if cfg.storage != old.storage {
        return Err(invalid(
            "stream configuration update can not change storage type",
        ));
    }
    // Limits and interest retention may be swapped; work queues keep their retention.
    if cfg.retention != old.retention
        && (old.retention == RetentionPolicy::WorkQueue
            || cfg.retention == RetentionPolicy::WorkQueue)
    {
        return Err(invalid(
            "stream configuration update can not change retention policy to/from workqueue",
        ));
    }
    // Sealing and the deny flags are one-way.
    if !cfg.sealed && old.sealed {
        return Err(invalid(
            "stream configuration update can not unseal a sealed stream",
        ));
    }
    if !cfg.deny_delete && old.deny_delete {
        return Err(invalid(
            "stream configuration update can not cancel deny message deletes",
        ));
    }
    if !cfg.deny_purge && old.deny_purge {
        return Err(invalid(
            "stream configuration update can not cancel deny purge",
        ));
    }
    // Removing the mirror promotes the stream; changing it is not allowed.
    if cfg.mirror.is_some() && cfg.mirror != old.mirror {
        return Err(errors::STREAM_MIRROR_NOT_UPDATABLE.new());
    }
    check_discard_new_per(&cfg)?;
    if old.allow_msg_ttl && !cfg.allow_msg_ttl {
        return Err(invalid("message TTL status can not be disabled"));
    }
    if cfg.allow_msg_counter != old.allow_msg_counter {
        return Err(invalid(
            "stream configuration update can not change message counter setting",
        ));
    }
    if old.allow_msg_schedules && !cfg.allow_msg_schedules {
        return Err(invalid("message schedules can not be disabled"));
    }
    if old.persist_mode != cfg.persist_mode {
        return Err(invalid(
            "stream configuration update can not change persist mode",
        ));
    }
    // A sealed stream keeps everything it has and takes nothing more; these follow from
    // sealing, so they are applied even in pedantic mode.
    if cfg.sealed {
        cfg.max_age = 0;
        cfg.discard = DiscardPolicy::New;
        cfg.deny_delete = true;
        cfg.deny_purge = true;
        cfg.allow_rollup = false;
    }
    Ok(cfg)
}

/// The checks Go's create handler makes on the request before the configuration checks:
/// `subject_name` is the stream name token of the request subject.
pub fn check_create_request(subject_name: &str, config: &StreamConfig) -> Result<(), ApiError> {
    if subject_name != config.name {
        return Err(errors::STREAM_MISMATCH.new());
    }
    if subject_name.contains(['\\', '/']) {
        return Err(errors::STREAM_NAME_CONTAINS_PATH_SEPARATORS.new());
    }
    if config.sealed {
        return Err(invalid("stream configuration for create can not be sealed"));
    }
    if config.mirror_direct && config.mirror.is_none() {
        return Err(invalid("stream has no mirror but does have mirror direct"));
    }
    Ok(())
}

/// The mirror and source filter checks Go's stream creation makes after the account
/// limits: a filter given without transforms must be a valid subject (the
/// configuration checks only look at transforms). Errors are [`errors::STREAM_CREATE`].
pub fn check_create_filters(cfg: &StreamConfig) -> Result<(), ApiError> {
    let fail = |text: String| Err(errors::STREAM_CREATE.with_err(&text));
    if let Some(mirror) = &cfg.mirror {
        if mirror.subject_transforms.is_empty() {
            let filter = &mirror.filter_subject;
            if !filter.is_empty() && !is_valid_subject(filter) {
                return fail(format!(
                    "subject filter '{filter}' for the mirror invalid subject"
                ));
            }
        }
        for tr in &mirror.subject_transforms {
            if !tr.source.is_empty() && !is_valid_subject(&tr.source) {
                return fail(format!(
                    "invalid subject transform source '{}' for the mirror: invalid subject",
                    tr.source
                ));
            }
            if !tr.destination.is_empty() {
                if let Err(e) = SubjectTransform::new(&tr.source, &tr.destination) {
                    return fail(format!(
                        "subject transform from '{}' to '{}' for the mirror: {e}",
                        tr.source, tr.destination
                    ));
                }
            }
        }
    }
    for src in &cfg.sources {
        if src.subject_transforms.is_empty() {
            let filter = &src.filter_subject;
            if !filter.is_empty() && !is_valid_subject(filter) {
                return fail(format!(
                    "subject filter '{filter}' for the source: invalid subject"
                ));
            }
        }
        for tr in &src.subject_transforms {
            if !tr.source.is_empty() && !is_valid_subject(&tr.source) {
                return fail(format!(
                    "subject filter '{}' for the source: invalid subject",
                    tr.source
                ));
            }
            if !tr.destination.is_empty() {
                if let Err(e) = SubjectTransform::new(&tr.source, &tr.destination) {
                    return fail(format!(
                        "subject transform from '{}' to '{}' for the source: {e}",
                        tr.source, tr.destination
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The API level a stream configuration needs from a server: 1 for message TTLs and
/// delete markers (2.11), 2 for counters, atomic publish, schedules and async persist
/// (2.12), 4 for batch publish (2.14).
pub fn required_api_level(cfg: &StreamConfig) -> i64 {
    let mut level = 0;
    if cfg.allow_msg_ttl || cfg.subject_delete_marker_ttl > 0 {
        level = level.max(1);
    }
    if cfg.allow_msg_counter
        || cfg.allow_atomic_publish
        || cfg.allow_msg_schedules
        || cfg.persist_mode == PersistMode::Async
    {
        level = level.max(2);
    }
    if cfg.allow_batch_publish {
        level = level.max(4);
    }
    level
}

fn remove_dynamic_metadata(metadata: &mut BTreeMap<String, String>) {
    metadata.remove(SERVER_VERSION_METADATA_KEY);
    metadata.remove(SERVER_LEVEL_METADATA_KEY);
}

/// Go's `setStaticStreamMetadata`: drops the response-only keys and records the API
/// level the configuration needs under `_nats.req.level` (always, `"0"` included).
pub fn set_static_stream_metadata(cfg: &mut StreamConfig) {
    remove_dynamic_metadata(&mut cfg.metadata);
    let level = required_api_level(cfg);
    cfg.metadata
        .insert(REQUIRED_LEVEL_METADATA_KEY.to_owned(), level.to_string());
}

/// Go's `setDynamicStreamMetadata`: a copy of `cfg` for a response, its metadata with
/// this server's version (`_nats.ver`) and API level (`_nats.level`).
pub fn with_dynamic_stream_metadata(cfg: &StreamConfig) -> StreamConfig {
    let mut out = cfg.clone();
    out.metadata.insert(
        SERVER_VERSION_METADATA_KEY.to_owned(),
        crate::VERSION.to_owned(),
    );
    out.metadata.insert(
        SERVER_LEVEL_METADATA_KEY.to_owned(),
        super::API_LEVEL.to_string(),
    );
    out
}

/// Go's `copyStreamMetadata`, for comparing a requested configuration with the one in
/// force without their versioning metadata: drops the response-only keys from `cfg` and
/// gives it `prev`'s `_nats.req.level`, or none when `prev` has none.
pub fn copy_stream_metadata(cfg: &mut StreamConfig, prev: Option<&StreamConfig>) {
    remove_dynamic_metadata(&mut cfg.metadata);
    match prev.and_then(|p| p.metadata.get(REQUIRED_LEVEL_METADATA_KEY)) {
        Some(level) => {
            cfg.metadata
                .insert(REQUIRED_LEVEL_METADATA_KEY.to_owned(), level.clone());
        }
        None => {
            cfg.metadata.remove(REQUIRED_LEVEL_METADATA_KEY);
        }
    }
}

/// Go's `strconv.Atoi`: optional sign and decimal digits, nothing else.
fn go_atoi(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// The `_nats.req.level` of `metadata` as written, or `""` when it is missing or empty
/// (Go's `getRequiredApiLevel`).
pub fn metadata_required_api_level(metadata: &BTreeMap<String, String>) -> &str {
    metadata
        .get(REQUIRED_LEVEL_METADATA_KEY)
        .map_or("", String::as_str)
}

/// Whether this server can run an asset with `metadata`: its `_nats.req.level`, when set
/// and not empty, must be a number no higher than our API level. A stream recovered
/// with a higher level is not run (Go keeps it offline).
pub fn supports_required_api_level(metadata: &BTreeMap<String, String>) -> bool {
    match metadata_required_api_level(metadata) {
        "" => true,
        level => go_atoi(level).is_some_and(|level| level <= super::API_LEVEL),
    }
}

/// Whether a request must be refused with [`errors::REQUIRED_API_LEVEL`] for its
/// `Nats-Required-Api-Level` header value: a value that is not a number, or a level
/// above ours. No header, or an empty one, is fine.
pub fn error_on_required_api_level(header_value: Option<&str>) -> bool {
    match header_value {
        None | Some("") => false,
        Some(v) => go_atoi(v).is_none_or(|level| level > super::API_LEVEL),
    }
}

/// Repairs what older servers could store for a mirror: subjects (a mirror takes no
/// publishes). Go drops them when it recovers the stream, with a warning; whether any
/// were dropped.
pub fn drop_recovered_mirror_subjects(cfg: &mut StreamConfig) -> bool {
    if cfg.mirror.is_none() || cfg.subjects.is_empty() {
        return false;
    }
    cfg.subjects.clear();
    true
}

#[cfg(test)]
mod tests;
