//! Checking a consumer configuration and filling in its defaults (Go's
//! `setConsumerConfigDefaults` and `checkConsumerCfg`), checking an update against the
//! configuration in force (Go's `checkNewConsumerConfig`), the checks of a consumer create
//! request (Go's `jsConsumerCreateRequest`) and of adding a consumer to a stream (Go's
//! `addConsumerWithAssignment`), and the consumer's versioning metadata.
//!
//! Everything here is pure: the stream's configuration, the server's and the account's
//! limits and the stream's other consumers come in as plain data. The checks run in Go's
//! order and answer Go's errors with Go's texts, so the first problem reported for a bad
//! configuration is the one Go reports.
//!
//! # What the create handler does, in Go's order (single server)
//!
//! `$JS.API.CONSUMER.CREATE.<stream>[.<consumer>[.<filter>]]` and
//! `$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>`:
//! 1. reject on a `Nats-Required-Api-Level` header above ours
//!    (`stream_config::error_on_required_api_level`); decode the request
//!    ([`errors::INVALID_JSON`]);
//! 2. [`parse_create_subject`] (`None`: no answer, Go only logs the bad request), then
//!    [`check_create_request`], which names the consumer;
//! 3. [`check_single_server_replicas`];
//! 4. the stream must exist: [`errors::STREAM_NOT_FOUND`];
//! 5. [`upgrade_direct_sourcing`] for a direct sourcing consumer with a name;
//! 6. when a consumer of that name exists: [`carry_over_existing`];
//! 7. [`set_static_consumer_metadata`];
//! 8. [`consumer_replicas`] selects the account's limits ([`errors::NO_LIMITS`] when none
//!    apply); [`set_consumer_config_defaults`]; [`check_consumer_config`];
//! 9. an existing consumer of the configured name ([`configured_name`]): with the action
//!    `create`, [`check_create_action`]; on a work-queue stream
//!    [`check_work_queue_partition`]; then [`check_consumer_update`] and the update;
//! 10. otherwise: action `update` answers [`errors::CONSUMER_DOES_NOT_EXIST`];
//!     [`check_max_consumers`] (not when recovering); [`check_work_queue_consumer`];
//!     the name ([`check_consumer_name`]); the store; [`inactive_threshold`] stamps
//!     ephemerals with their default threshold;
//! 11. the response's configuration goes through [`with_dynamic_consumer_metadata`].

use super::api::errors::{self, ApiError};
use super::api::types::{
    AckPolicy, ConsumerConfig, DeliverPolicy, PriorityPolicy, RetentionPolicy, StreamConfig,
};
use super::stream_config::{
    is_valid_asset_name, MAX_DESCRIPTION_LEN, MAX_METADATA_LEN, REQUIRED_LEVEL_METADATA_KEY,
    SERVER_LEVEL_METADATA_KEY, SERVER_VERSION_METADATA_KEY,
};
use crate::config::cli::go_quote;
use crate::config::jetstream::{JetStreamAccountLimits, JsLimitOpts};
use crate::monitor::gotime::go_duration_string;
use crate::subject::{
    is_valid_subject, num_tokens, subject_is_literal, subject_is_subset_match, subjects_collide,
    token_at,
};

const MILLISECOND: i64 = 1_000_000;
const SECOND: i64 = 1_000 * MILLISECOND;

/// `ack_wait` of a consumer with explicit or all acks that sets none (Go's
/// `JsAckWaitDefault`).
pub const DEFAULT_ACK_WAIT: i64 = 30 * SECOND;
/// How long an ephemeral consumer without an `inactive_threshold` lives without interest
/// (Go's `JsDeleteWaitTimeDefault`).
pub const DEFAULT_DELETE_WAIT: i64 = 5 * SECOND;
/// `max_ack_pending` of an acknowledging consumer that sets none (Go's
/// `JsDefaultMaxAckPending`).
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
/// `priority_timeout` of a pinned-client consumer that sets none (Go's
/// `JsDefaultPinnedTTL`).
pub const DEFAULT_PINNED_TTL: i64 = 120 * SECOND;
/// `max_waiting` of a pull consumer that sets none (Go's `JSWaitQueueDefaultMax`).
pub const DEFAULT_MAX_WAITING: i64 = 512;
/// The heartbeat a flow-control-acked consumer must use (Go's `sourceHealthHB`).
pub const FLOW_CONTROL_HEARTBEAT: i64 = SECOND;
/// Shortest idle heartbeat of a push consumer.
const MIN_HEARTBEAT: i64 = 100 * MILLISECOND;
/// Shortest `max_expires` other than "unset".
const MIN_REQUEST_EXPIRES: i64 = MILLISECOND;
/// Longest priority group name.
const MAX_GROUP_NAME_LEN: usize = 16;
/// Extra time before an ephemeral without interest is deleted, on top of its threshold;
/// the caller adds a random part below [`DELETE_JITTER_RANDOM_MS`] milliseconds.
const DELETE_JITTER_BASE: i64 = 100 * MILLISECOND;
/// Exclusive bound, in milliseconds, of the random part of the deletion delay.
pub const DELETE_JITTER_RANDOM_MS: i64 = 900;

fn invalid_config(text: &str) -> ApiError {
    errors::STREAM_INVALID_CONFIG.with_err(&text)
}

fn pedantic_error(text: &str) -> ApiError {
    errors::PEDANTIC.with_err(&text)
}

fn invalid_policy(text: &str) -> ApiError {
    errors::CONSUMER_INVALID_POLICY.with_err(&text)
}

/// The consumer's filters: `filter_subjects`, then `filter_subject` when set (Go's
/// `gatherSubjectFilters`). Empty means the whole stream.
pub fn subject_filters(cfg: &ConsumerConfig) -> Vec<&str> {
    let mut filters: Vec<&str> = cfg.filter_subjects.iter().map(String::as_str).collect();
    if !cfg.filter_subject.is_empty() {
        filters.push(&cfg.filter_subject);
    }
    filters
}

/// Whether `subject` equals one of a consumer's literal `filters` or takes in one of
/// them (Go's `isEqualOrSubsetMatch`): a purge of `subject` then covers everything the
/// consumer sees of it. No filter never matches.
pub fn is_equal_or_subset_match(filters: &[&str], subject: &str) -> bool {
    filters
        .iter()
        .any(|f| *f == subject || subject_is_subset_match(f, subject))
}

/// Whether a consumer with `filters` sees less than its whole stream with
/// `stream_subjects` (Go's `isFiltered`): no filter, or filters that are exactly the
/// stream's subjects (in any order), is not filtered.
pub fn is_filtered(stream_subjects: &[String], filters: &[&str]) -> bool {
    if filters.is_empty() {
        return false;
    }
    if stream_subjects.len() != filters.len() {
        return true;
    }
    let filters: std::collections::HashSet<&str> = filters.iter().copied().collect();
    stream_subjects
        .iter()
        .any(|s| !filters.contains(s.as_str()))
}

/// Whether the configuration is of a durable consumer (it has a durable name).
pub fn is_durable(cfg: &ConsumerConfig) -> bool {
    !cfg.durable.is_empty()
}

/// Whether the consumer is pulled (no deliver subject).
pub fn is_pull(cfg: &ConsumerConfig) -> bool {
    cfg.deliver_subject.is_empty()
}

/// How many replicas the consumer runs with (Go's `ConsumerConfig.replicas`): its own
/// count when set and within the stream's, one for an old-style ephemeral on a limits
/// stream, the stream's count otherwise. Selects the account's limits tier.
pub fn consumer_replicas(cfg: &ConsumerConfig, stream: &StreamConfig) -> i64 {
    if cfg.replicas == 0 || cfg.replicas > stream.replicas {
        if !is_durable(cfg) && stream.retention == RetentionPolicy::Limits && cfg.replicas == 0 {
            return 1;
        }
        return stream.replicas;
    }
    cfg.replicas
}

/// The name the consumer is configured with: its durable name, else its name; empty for
/// an ephemeral whose name the server picks.
pub fn configured_name(cfg: &ConsumerConfig) -> &str {
    if is_durable(cfg) {
        &cfg.durable
    } else {
        &cfg.name
    }
}

/// A negative value is corrected to 0, or refused in pedantic mode.
fn not_negative(value: &mut i64, pedantic: bool, field: &str) -> Result<(), ApiError> {
    if *value < 0 {
        if pedantic {
            return Err(pedantic_error(&format!("{field} must not be negative")));
        }
        *value = 0;
    }
    Ok(())
}

/// Fills in Go's defaults (Go's `setConsumerConfigDefaults`): no delivery limit
/// (`max_deliver` -1), negative values corrected, 512 waiting pulls, a 30s `ack_wait` for
/// acknowledging consumers (the first back-off value when there is a back-off), the
/// stream's consumer limits, a `max_ack_pending` of 1000 capped by the server's and the
/// account's limits, the server's `max_request_batch` for pull consumers, a two-minute
/// pin for pinned-client consumers, and flow control with a 1s heartbeat for the
/// flow-control ack policy. In pedantic mode a value that would be changed is refused
/// instead, with [`errors::PEDANTIC`].
pub fn set_consumer_config_defaults(
    cfg: &mut ConsumerConfig,
    stream: &StreamConfig,
    server: &JsLimitOpts,
    account: &JetStreamAccountLimits,
    pedantic: bool,
) -> Result<(), ApiError> {
    if cfg.max_deliver == 0 || cfg.max_deliver < -1 {
        if pedantic && cfg.max_deliver < -1 {
            return Err(pedantic_error("max_deliver must be set to -1"));
        }
        cfg.max_deliver = -1;
    }
    not_negative(&mut cfg.max_waiting, pedantic, "max_waiting")?;
    if cfg.max_ack_pending < -1 {
        if pedantic {
            return Err(pedantic_error("max_ack_pending must be set to -1"));
        }
        cfg.max_ack_pending = -1;
    }
    not_negative(&mut cfg.max_request_batch, pedantic, "max_batch")?;
    not_negative(&mut cfg.max_request_expires, pedantic, "max_expires")?;
    not_negative(&mut cfg.max_request_max_bytes, pedantic, "max_bytes")?;
    not_negative(&mut cfg.heartbeat, pedantic, "idle_heartbeat")?;
    not_negative(&mut cfg.inactive_threshold, pedantic, "inactive_threshold")?;
    not_negative(&mut cfg.pinned_ttl, pedantic, "priority_timeout")?;

    if is_pull(cfg) && cfg.max_waiting == 0 {
        cfg.max_waiting = DEFAULT_MAX_WAITING;
    }
    if cfg.ack_wait == 0 && matches!(cfg.ack_policy, AckPolicy::Explicit | AckPolicy::All) {
        cfg.ack_wait = DEFAULT_ACK_WAIT;
    }
    // A back-off overrides the ack wait: its first value is the first wait.
    if let Some(&first) = cfg.backoff.first() {
        if pedantic && cfg.ack_wait != first {
            return Err(pedantic_error(
                "first backoff value has to equal batch AckWait",
            ));
        }
        cfg.ack_wait = first;
    }
    let limits = &stream.consumer_limits;
    if cfg.max_ack_pending == 0 {
        if pedantic && limits.max_ack_pending > 0 {
            return Err(pedantic_error(
                "max_ack_pending must be set if it's configured in stream limits",
            ));
        }
        cfg.max_ack_pending = limits.max_ack_pending;
    }
    if cfg.inactive_threshold == 0 {
        if pedantic && limits.inactive_threshold > 0 {
            return Err(pedantic_error(
                "inactive_threshold must be set if it's configured in stream limits",
            ));
        }
        cfg.inactive_threshold = limits.inactive_threshold;
    }
    if cfg.max_ack_pending == 0 && cfg.ack_policy != AckPolicy::None {
        let mut ack_pending = DEFAULT_MAX_ACK_PENDING;
        if server.max_ack_pending > 0 && server.max_ack_pending < ack_pending {
            ack_pending = server.max_ack_pending;
        }
        if account.max_ack_pending > 0 && account.max_ack_pending < ack_pending {
            ack_pending = account.max_ack_pending;
        }
        cfg.max_ack_pending = ack_pending;
    }
    if is_pull(cfg) && cfg.max_request_batch == 0 && server.max_request_batch > 0 {
        if pedantic {
            return Err(pedantic_error(
                "max_request_batch must be set if it's JetStream limits are set",
            ));
        }
        cfg.max_request_batch = server.max_request_batch;
    }
    if cfg.priority_policy == PriorityPolicy::PinnedClient && cfg.pinned_ttl == 0 {
        cfg.pinned_ttl = DEFAULT_PINNED_TTL;
    }
    // Pedantic mode leaves these for the checks to require instead.
    if cfg.ack_policy == AckPolicy::FlowControl && !pedantic {
        cfg.flow_control = true;
        cfg.heartbeat = FLOW_CONTROL_HEARTBEAT;
    }
    Ok(())
}

/// Go's `strconv.Atoi`, with Go's error text (`strconv.Atoi: parsing "x": invalid
/// syntax`, `... value out of range`).
fn go_atoi(text: &str) -> Result<i64, String> {
    text.parse::<i64>().map_err(|e| {
        let reason = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {}: {reason}", go_quote(text))
    })
}

/// The sampling percentage of a `sample_freq` (`"50%"` or `"50"`), or the text of the
/// error Go reports for it: the parse error, or `<nil>` for a negative number (Go has no
/// error value to show there).
pub fn parse_sample_frequency(text: &str) -> Result<i64, String> {
    let digits = text.strip_suffix('%').unwrap_or(text);
    match go_atoi(digits) {
        Ok(n) if n >= 0 => Ok(n),
        Ok(_) => Err("<nil>".to_owned()),
        Err(e) => Err(e),
    }
}

/// Go's `validGroupName`: 1 to 16 of `A-Z a-z 0-9 / _ = -`.
pub fn is_valid_group_name(group: &str) -> bool {
    (1..=MAX_GROUP_NAME_LEN).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'=' | b'-'))
}

/// Whether delivering to `deliver_subject` would feed the stream its own deliveries.
fn delivery_forms_cycle(stream: &StreamConfig, deliver_subject: &str) -> bool {
    stream
        .subjects
        .iter()
        .any(|subject| subject_is_subset_match(deliver_subject, subject))
}

/// Checks a configuration whose defaults are filled in (Go's `checkConsumerCfg`), in
/// Go's order. `account` are the account's limits for the consumer's replicas (see
/// [`consumer_replicas`]); `is_recovering` is set when the consumer is loaded from disk,
/// where a replica count an older server allowed is accepted.
pub fn check_consumer_config(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    server: &JsLimitOpts,
    account: &JetStreamAccountLimits,
    is_recovering: bool,
) -> Result<(), ApiError> {
    if !cfg.name.is_empty() && !is_valid_asset_name(&cfg.name) {
        return Err(invalid_config(
            "consumer name can not contain '.', '*', '>', '\\', '/'",
        ));
    }
    if !cfg.durable.is_empty() && !is_valid_asset_name(&cfg.durable) {
        return Err(invalid_config(
            "consumer durable name can not contain '.', '*', '>', '\\', '/'",
        ));
    }

    if cfg.replicas > 0 && cfg.replicas > stream.replicas {
        return Err(errors::CONSUMER_REPLICAS_EXCEEDS_STREAM.new());
    }
    if cfg.replicas < 0 {
        return Err(errors::REPLICAS_COUNT_CANNOT_BE_NEGATIVE.new());
    }
    if matches!(
        stream.retention,
        RetentionPolicy::Interest | RetentionPolicy::WorkQueue
    ) && !is_recovering
        && cfg.replicas != 0
        && cfg.replicas != stream.replicas
    {
        return Err(errors::CONSUMER_REPLICAS_SHOULD_MATCH_STREAM.new());
    }

    // Go refuses ack and replay policies it cannot encode here; decoding already refuses
    // them in Rust (the enums have no other values).

    if cfg.backoff.iter().any(|&b| b < 0) {
        return Err(errors::CONSUMER_BACK_OFF_NEGATIVE.new());
    }
    if cfg.ack_wait < 0 {
        return Err(errors::CONSUMER_ACK_WAIT_NEGATIVE.new());
    }

    if cfg.ack_policy == AckPolicy::FlowControl {
        if is_pull(cfg) {
            return Err(errors::CONSUMER_ACK_FC_REQUIRES_PUSH.new());
        }
        if !cfg.flow_control {
            return Err(errors::CONSUMER_ACK_FC_REQUIRES_FC.new());
        }
        if cfg.heartbeat != FLOW_CONTROL_HEARTBEAT {
            return Err(invalid_config(
                "flow control ack policy heartbeat needs to be 1s",
            ));
        }
        if cfg.max_ack_pending <= 0 {
            return Err(errors::CONSUMER_ACK_FC_REQUIRES_MAX_ACK_PENDING.new());
        }
        if cfg.ack_wait != 0 || !cfg.backoff.is_empty() {
            return Err(errors::CONSUMER_ACK_FC_REQUIRES_NO_ACK_WAIT.new());
        }
        if cfg.max_deliver > 0 {
            return Err(errors::CONSUMER_ACK_FC_REQUIRES_NO_MAX_DELIVER.new());
        }
    }

    check_backoff_within_max_deliver(cfg)?;

    if cfg.description.len() > MAX_DESCRIPTION_LEN {
        return Err(errors::CONSUMER_DESCRIPTION_TOO_LONG.with(&[("{max}", &MAX_DESCRIPTION_LEN)]));
    }

    check_delivery_mode(cfg, stream, server)?;

    let excess = |limit: i64| errors::CONSUMER_MAX_PENDING_ACK_EXCESS.with(&[("{limit}", &limit)]);
    if server.max_ack_pending > 0 && cfg.max_ack_pending > server.max_ack_pending {
        return Err(excess(server.max_ack_pending));
    }
    if account.max_ack_pending > 0 && cfg.max_ack_pending > account.max_ack_pending {
        return Err(excess(account.max_ack_pending));
    }
    let limits = &stream.consumer_limits;
    if limits.max_ack_pending > 0 && cfg.max_ack_pending > limits.max_ack_pending {
        return Err(excess(limits.max_ack_pending));
    }
    if limits.inactive_threshold > 0 && cfg.inactive_threshold > limits.inactive_threshold {
        return Err(errors::CONSUMER_INACTIVE_THRESHOLD_EXCESS
            .with(&[("{limit}", &go_duration_string(limits.inactive_threshold))]));
    }

    // Direct consumers serve sourcing and mirroring: pushed and never durable.
    if cfg.direct {
        if is_pull(cfg) {
            return Err(errors::CONSUMER_DIRECT_REQUIRES_PUSH.new());
        }
        if is_durable(cfg) {
            return Err(errors::CONSUMER_DIRECT_REQUIRES_EPHEMERAL.new());
        }
    }

    check_filters(cfg)?;
    check_start_position(cfg)?;

    if !cfg.sample_frequency.is_empty() {
        if let Err(e) = parse_sample_frequency(&cfg.sample_frequency) {
            return Err(errors::CONSUMER_INVALID_SAMPLING.with_err(&e));
        }
    }

    if cfg.flow_control && cfg.heartbeat == 0 {
        return Err(errors::CONSUMER_WITH_FLOW_CONTROL_NEEDS_HEARTBEATS.new());
    }

    if !cfg.durable.is_empty() && !cfg.name.is_empty() && cfg.name != cfg.durable {
        return Err(errors::CONSUMER_CREATE_DURABLE_AND_NAME_MISMATCH.new());
    }

    let metadata_len: usize = cfg.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if metadata_len > MAX_METADATA_LEN {
        let limit = format!("{}KB", MAX_METADATA_LEN / 1024);
        return Err(errors::CONSUMER_METADATA_LENGTH.with(&[("{limit}", &limit)]));
    }

    check_priority(cfg)?;

    if stream
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return Err(invalid_config(
            "preferred server not permitted in placement",
        ));
    }
    Ok(())
}

/// A back-off longer than the deliveries allowed could never be used up.
fn check_backoff_within_max_deliver(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    let backoffs = i64::try_from(cfg.backoff.len()).unwrap_or(i64::MAX);
    if backoffs > 0 && cfg.max_deliver != -1 && backoffs > cfg.max_deliver {
        return Err(errors::CONSUMER_MAX_DELIVER_BACKOFF.new());
    }
    Ok(())
}

/// The rules of push consumers (deliver subject set) and of pull consumers.
fn check_delivery_mode(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    server: &JsLimitOpts,
) -> Result<(), ApiError> {
    if !is_pull(cfg) {
        if !subject_is_literal(&cfg.deliver_subject) {
            return Err(errors::CONSUMER_DELIVER_TO_WILDCARDS.new());
        }
        if !is_valid_subject(&cfg.deliver_subject) {
            return Err(errors::CONSUMER_INVALID_DELIVER_SUBJECT.new());
        }
        if delivery_forms_cycle(stream, &cfg.deliver_subject) {
            return Err(errors::CONSUMER_DELIVER_CYCLE.new());
        }
        if cfg.max_waiting != 0 {
            return Err(errors::CONSUMER_PUSH_MAX_WAITING.new());
        }
        if cfg.max_ack_pending > 0 && cfg.ack_policy == AckPolicy::None {
            return Err(errors::CONSUMER_MAX_PENDING_ACK_POLICY_REQUIRED.new());
        }
        if cfg.heartbeat > 0 && cfg.heartbeat < MIN_HEARTBEAT {
            return Err(errors::CONSUMER_SMALL_HEARTBEAT.new());
        }
        return Ok(());
    }
    if cfg.ack_policy == AckPolicy::None && stream.retention == RetentionPolicy::WorkQueue {
        return Err(errors::CONSUMER_PULL_REQUIRES_ACK.new());
    }
    if cfg.rate_limit > 0 {
        return Err(errors::CONSUMER_PULL_WITH_RATE_LIMIT.new());
    }
    if cfg.max_waiting < 0 {
        return Err(errors::CONSUMER_MAX_WAITING_NEGATIVE.new());
    }
    if cfg.heartbeat > 0 {
        return Err(errors::CONSUMER_HB_REQUIRES_PUSH.new());
    }
    if cfg.flow_control {
        return Err(errors::CONSUMER_FC_REQUIRES_PUSH.new());
    }
    if cfg.max_request_batch < 0 {
        return Err(errors::CONSUMER_MAX_REQUEST_BATCH_NEGATIVE.new());
    }
    if cfg.max_request_expires != 0 && cfg.max_request_expires < MIN_REQUEST_EXPIRES {
        return Err(errors::CONSUMER_MAX_REQUEST_EXPIRES_TOO_SMALL.new());
    }
    if server.max_request_batch > 0 && cfg.max_request_batch > server.max_request_batch {
        return Err(errors::CONSUMER_MAX_REQUEST_BATCH_EXCEEDED
            .with(&[("{limit}", &server.max_request_batch)]));
    }
    Ok(())
}

/// `filter_subject` and `filter_subjects`: not both, valid, not empty, not overlapping.
fn check_filters(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    if !cfg.filter_subject.is_empty() && !cfg.filter_subjects.is_empty() {
        return Err(errors::CONSUMER_DUPLICATE_FILTER_SUBJECTS.new());
    }
    if !cfg.filter_subject.is_empty() && !is_valid_subject(&cfg.filter_subject) {
        return Err(invalid_config("invalid subject"));
    }
    if cfg.filter_subjects.iter().any(String::is_empty) {
        return Err(errors::CONSUMER_EMPTY_FILTER.new());
    }
    let filters = subject_filters(cfg);
    for (outer, subject) in filters.iter().enumerate() {
        if !is_valid_subject(subject) {
            return Err(invalid_config("invalid subject"));
        }
        let overlaps = filters
            .iter()
            .enumerate()
            .any(|(inner, other)| inner != outer && subject_is_subset_match(subject, other));
        if overlaps {
            return Err(errors::CONSUMER_OVERLAPPING_SUBJECT_FILTERS.new());
        }
    }
    Ok(())
}

/// The deliver policy against `opt_start_seq` / `opt_start_time`.
fn check_start_position(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    let also_set = |policy: &str, start: &str| {
        invalid_policy(&format!(
            "consumer delivery policy is deliver {policy}, but optional start {start} is also set"
        ))
    };
    let not_set = |policy: &str, missing: &str| {
        invalid_policy(&format!(
            "consumer delivery policy is deliver {policy}, but optional {missing} is not set"
        ))
    };
    let has_seq = cfg.opt_start_seq > 0;
    let has_time = cfg.opt_start_time.is_some();
    // The policies that start on their own refuse both start options.
    let own_start = match cfg.deliver_policy {
        DeliverPolicy::All => Some("all"),
        DeliverPolicy::Last => Some("last"),
        DeliverPolicy::LastPerSubject => Some("last per subject"),
        DeliverPolicy::New => Some("new"),
        DeliverPolicy::ByStartSequence | DeliverPolicy::ByStartTime => None,
    };
    if let Some(policy) = own_start {
        if has_seq {
            return Err(also_set(policy, "sequence"));
        }
        if has_time {
            return Err(also_set(policy, "time"));
        }
        if cfg.deliver_policy == DeliverPolicy::LastPerSubject
            && cfg.filter_subject.is_empty()
            && cfg.filter_subjects.is_empty()
        {
            return Err(not_set(policy, "filter subject"));
        }
        return Ok(());
    }
    if cfg.deliver_policy == DeliverPolicy::ByStartSequence {
        if !has_seq {
            return Err(not_set("by start sequence", "start sequence"));
        }
        if has_time {
            return Err(also_set("by start sequence", "time"));
        }
    } else {
        if !has_time {
            return Err(not_set("by start time", "start time"));
        }
        if has_seq {
            return Err(also_set("by start time", "start sequence"));
        }
    }
    Ok(())
}

/// Priority groups need a policy (and a pull consumer), and a policy needs groups.
fn check_priority(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    if cfg.priority_policy != PriorityPolicy::None {
        if !is_pull(cfg) {
            return Err(errors::CONSUMER_PUSH_WITH_PRIORITY_GROUP.new());
        }
        if cfg.priority_groups.is_empty() {
            return Err(errors::CONSUMER_PRIORITY_POLICY_WITHOUT_GROUP.new());
        }
        for group in &cfg.priority_groups {
            if group.is_empty() {
                return Err(errors::CONSUMER_EMPTY_GROUP_NAME.new());
            }
            if !is_valid_group_name(group) {
                return Err(errors::CONSUMER_INVALID_GROUP_NAME.new());
            }
        }
        return Ok(());
    }
    if !cfg.priority_groups.is_empty() {
        return Err(errors::CONSUMER_PRIORITY_GROUP_WITH_POLICY_NONE.new());
    }
    if cfg.pinned_ttl > 0 {
        return Err(errors::CONSUMER_PINNED_TTL_WITHOUT_PRIORITY_POLICY_NONE.new());
    }
    Ok(())
}

/// Checks what an update changes (Go's `checkNewConsumerConfig`): the deliver policy and
/// start position, storage, ack and replay policies, heartbeat, flow control and
/// `max_waiting` are fixed; a push consumer stays push and a pull consumer pull, and a
/// push consumer's deliver subject may only change while nobody listens on the old one
/// (`old_deliver_subject_has_interest`). Refusals are [`errors::CONSUMER_CREATE`] with
/// Go's text, as the create handler sends them.
pub fn check_consumer_update(
    old: &ConsumerConfig,
    new: &ConsumerConfig,
    old_deliver_subject_has_interest: bool,
) -> Result<(), ApiError> {
    if old == new {
        return Ok(());
    }
    let refuse = |text: &str| errors::CONSUMER_CREATE.with_err(&text);
    if old.deliver_policy != new.deliver_policy {
        return Err(refuse("deliver policy can not be updated"));
    }
    if old.memory_storage != new.memory_storage {
        return Err(refuse("storage type can not be updated"));
    }
    if old.opt_start_seq != new.opt_start_seq {
        return Err(refuse("start sequence can not be updated"));
    }
    // Times compare as instants (Go's `Time.Equal`), which `GoTime` equality is.
    if old.opt_start_time != new.opt_start_time {
        return Err(refuse("start time can not be updated"));
    }
    if old.ack_policy != new.ack_policy {
        return Err(refuse("ack policy can not be updated"));
    }
    if old.replay_policy != new.replay_policy {
        return Err(refuse("replay policy can not be updated"));
    }
    if old.heartbeat != new.heartbeat {
        return Err(refuse("heart beats can not be updated"));
    }
    if old.flow_control != new.flow_control {
        return Err(refuse("flow control can not be updated"));
    }
    if old.deliver_subject != new.deliver_subject {
        if old.deliver_subject.is_empty() {
            return Err(refuse("can not update pull consumer to push based"));
        }
        if new.deliver_subject.is_empty() {
            return Err(refuse("can not update push consumer to pull based"));
        }
        if old_deliver_subject_has_interest {
            return Err(errors::CONSUMER_NAME_EXIST.new());
        }
    }
    if old.max_waiting != new.max_waiting {
        return Err(refuse("max waiting can not be updated"));
    }
    check_backoff_within_max_deliver(new)
}

/// Which of the create subjects a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateSubjectKind {
    /// `$JS.API.CONSUMER.CREATE.<stream>.<consumer>[.<filter>]`.
    Named,
    /// `$JS.API.CONSUMER.CREATE.<stream>`: the name, if any, is in the configuration.
    LegacyEphemeral,
    /// `$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>`.
    LegacyDurable,
}

/// What the subject of a consumer create request says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateSubject<'a> {
    pub kind: CreateSubjectKind,
    pub stream: &'a str,
    /// The consumer named in the subject; empty for [`CreateSubjectKind::LegacyEphemeral`].
    pub consumer: &'a str,
    /// The filter at the end of a [`CreateSubjectKind::Named`] subject; empty when none.
    pub filter: &'a str,
    /// Tokens of the subject (a durable create subject must have exactly 7).
    tokens: usize,
}

/// Reads a consumer create subject. `None` for fewer than five tokens, which Go does not
/// answer (it only logs the request as bad).
pub fn parse_create_subject(subject: &str) -> Option<CreateSubject<'_>> {
    let tokens = num_tokens(subject);
    if tokens < 5 {
        return None;
    }
    let mut parsed = CreateSubject {
        kind: CreateSubjectKind::LegacyEphemeral,
        stream: token_at(subject, 5),
        consumer: "",
        filter: "",
        tokens,
    };
    if tokens == 5 {
        return Some(parsed);
    }
    if token_at(subject, 4) == "DURABLE" {
        parsed.kind = CreateSubjectKind::LegacyDurable;
        parsed.stream = token_at(subject, 6);
        parsed.consumer = token_at(subject, 7);
        return Some(parsed);
    }
    parsed.kind = CreateSubjectKind::Named;
    parsed.consumer = token_at(subject, 6);
    // Everything after the sixth token, dots included.
    parsed.filter = subject.splitn(7, '.').nth(6).unwrap_or("");
    Some(parsed)
}

/// The create request's subject against its body (Go's `jsConsumerCreateRequest`), in
/// Go's order: a durable subject's token count, the stream name, path separators in the
/// consumer name, the durable name against the subject, a durable name on a legacy
/// ephemeral request, and the subject's filter against the configuration's. Names the
/// consumer as Go does (`cfg.name` becomes the name in the subject) and returns the
/// consumer name the handler looks up (empty for an unnamed ephemeral).
pub fn check_create_request(
    subject: &CreateSubject<'_>,
    request_stream: &str,
    cfg: &mut ConsumerConfig,
) -> Result<String, ApiError> {
    if subject.kind == CreateSubjectKind::LegacyDurable && subject.tokens != 7 {
        return Err(errors::CONSUMER_DURABLE_NAME_NOT_IN_SUBJECT.new());
    }
    let consumer = match subject.kind {
        CreateSubjectKind::LegacyEphemeral => cfg.name.clone(),
        _ => subject.consumer.to_owned(),
    };
    if subject.stream != request_stream {
        return Err(errors::STREAM_MISMATCH.new());
    }
    if consumer.contains(['\\', '/']) {
        return Err(errors::CONSUMER_NAME_CONTAINS_PATH_SEPARATORS.new());
    }
    match subject.kind {
        CreateSubjectKind::LegacyDurable => {
            if cfg.durable.is_empty() {
                return Err(errors::CONSUMER_DURABLE_NAME_NOT_SET.new());
            }
            if consumer != cfg.durable {
                return Err(errors::CONSUMER_DURABLE_NAME_NOT_MATCH_SUBJECT.new());
            }
            cfg.name.clone_from(&consumer);
        }
        CreateSubjectKind::Named => {
            if !cfg.durable.is_empty() && consumer != cfg.durable {
                return Err(errors::CONSUMER_DURABLE_NAME_NOT_MATCH_SUBJECT.new());
            }
            cfg.name.clone_from(&consumer);
        }
        CreateSubjectKind::LegacyEphemeral => {
            if !cfg.durable.is_empty() {
                return Err(errors::CONSUMER_EPHEMERAL_WITH_DURABLE_NAME.new());
            }
        }
    }
    if !subject.filter.is_empty() {
        if !cfg.filter_subjects.is_empty() {
            return Err(errors::CONSUMER_MULTIPLE_FILTERS_NOT_ALLOWED.new());
        }
        if cfg.filter_subject != subject.filter {
            return Err(errors::CONSUMER_CREATE_FILTER_SUBJECT_MISMATCH.new());
        }
    }
    Ok(consumer)
}

/// A server without a cluster runs consumers with one replica only.
pub fn check_single_server_replicas(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    if cfg.replicas > 1 {
        return Err(errors::STREAM_REPLICAS_NOT_SUPPORTED.new());
    }
    Ok(())
}

/// A direct sourcing consumer with a name (another stream sourcing this one): on a
/// single server with an interest or work-queue stream it becomes a durable with the
/// flow-control ack policy, so the stream keeps its messages for it; otherwise its name
/// gets `random_suffix` (Go uses a fresh consumer name) as the source's name is stable.
/// Returns the consumer name the handler looks up from now on, when it changed.
pub fn upgrade_direct_sourcing(
    cfg: &mut ConsumerConfig,
    stream_retention: RetentionPolicy,
    clustered: bool,
    random_suffix: &str,
) -> Option<String> {
    if !(cfg.direct && cfg.sourcing && !cfg.name.is_empty()) {
        return None;
    }
    if !clustered && stream_retention != RetentionPolicy::Limits {
        cfg.direct = false;
        cfg.durable.clone_from(&cfg.name);
        cfg.ack_policy = AckPolicy::FlowControl;
        cfg.ack_wait = 0;
        cfg.max_deliver = 0;
        cfg.inactive_threshold = 0;
        return None;
    }
    cfg.name = format!("{}-{random_suffix}", cfg.name);
    Some(cfg.name.clone())
}

/// A request for a consumer that exists keeps the consumer's `pause_until` (pausing has
/// its own request), and a durable sourcing consumer keeps its start position.
pub fn carry_over_existing(cfg: &mut ConsumerConfig, existing: &ConsumerConfig) {
    cfg.pause_until = existing.pause_until;
    if cfg.sourcing && !cfg.durable.is_empty() {
        cfg.deliver_policy = existing.deliver_policy;
        cfg.opt_start_seq = existing.opt_start_seq;
        cfg.opt_start_time = existing.opt_start_time;
    }
}

/// The action `create` on a consumer that exists succeeds only when the configuration
/// (defaults filled in) is the existing one, versioning metadata aside:
/// [`errors::CONSUMER_ALREADY_EXISTS`] otherwise. Like Go, this leaves `cfg` with the
/// existing consumer's versioning metadata.
pub fn check_create_action(
    cfg: &mut ConsumerConfig,
    existing: &ConsumerConfig,
) -> Result<(), ApiError> {
    copy_consumer_metadata(cfg, Some(existing));
    if cfg != existing {
        return Err(errors::CONSUMER_ALREADY_EXISTS.new());
    }
    Ok(())
}

/// Whether none of `filters` can take a message from another consumer of a work-queue
/// stream (Go's `partitionUnique`). `others` are the stream's consumers by name; the
/// consumer `name` itself, and direct and sourcing consumers, are skipped; an unfiltered
/// consumer overlaps everything.
pub fn partition_unique(name: &str, filters: &[&str], others: &[(&str, &ConsumerConfig)]) -> bool {
    if filters.is_empty() {
        return true;
    }
    others
        .iter()
        .filter(|(other, cfg)| *other != name && !cfg.direct && !cfg.sourcing)
        .all(|(_, cfg)| {
            let theirs = subject_filters(cfg);
            !theirs.is_empty()
                && filters
                    .iter()
                    .all(|mine| theirs.iter().all(|t| !subjects_collide(mine, t)))
        })
}

/// On a work-queue stream, an update of consumer `name` must keep its filters apart from
/// the other consumers': [`errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE`].
pub fn check_work_queue_partition(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    name: &str,
    others: &[(&str, &ConsumerConfig)],
) -> Result<(), ApiError> {
    if stream.retention == RetentionPolicy::WorkQueue
        && !partition_unique(name, &subject_filters(cfg), others)
    {
        return Err(errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE.new());
    }
    Ok(())
}

/// How many of the stream's consumers count against `max_consumers`: all but the direct
/// and sourcing ones.
pub fn limitable_consumers(others: &[(&str, &ConsumerConfig)]) -> usize {
    others
        .iter()
        .filter(|(_, cfg)| !cfg.direct && !cfg.sourcing)
        .count()
}

/// A new consumer must fit under the stream's `max_consumers`, or the account's when that
/// is lower or the stream sets none: [`errors::MAXIMUM_CONSUMERS_LIMIT`]. Go does not
/// check this when recovering consumers from disk. `limitable` is
/// [`limitable_consumers`] of the stream.
pub fn check_max_consumers(
    stream: &StreamConfig,
    account: &JetStreamAccountLimits,
    limitable: usize,
) -> Result<(), ApiError> {
    let mut max = stream.max_consumers;
    if max <= 0 || (account.max_consumers > 0 && account.max_consumers < max) {
        max = account.max_consumers;
    }
    if max > 0 && i64::try_from(limitable).unwrap_or(i64::MAX) >= max {
        return Err(errors::MAXIMUM_CONSUMERS_LIMIT.new());
    }
    Ok(())
}

/// The rules of a new consumer on a work-queue stream (direct and sourcing consumers
/// aside): explicit (or flow-control) acks, deliver all, and when the stream has other
/// consumers a filter that overlaps none of theirs. `name` is [`configured_name`].
/// When recovering, an overlap an older server let through is not refused: the result
/// is then the warning Go logs.
pub fn check_work_queue_consumer(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    name: &str,
    others: &[(&str, &ConsumerConfig)],
    is_recovering: bool,
) -> Result<Option<String>, ApiError> {
    if stream.retention != RetentionPolicy::WorkQueue || cfg.direct || cfg.sourcing {
        return Ok(None);
    }
    if !matches!(cfg.ack_policy, AckPolicy::Explicit | AckPolicy::FlowControl) {
        return Err(errors::CONSUMER_WQ_REQUIRES_EXPLICIT_ACK.new());
    }
    if cfg.deliver_policy != DeliverPolicy::All {
        return Err(errors::CONSUMER_WQ_CONSUMER_NOT_DELIVER_ALL.new());
    }
    if limitable_consumers(others) == 0 {
        return Ok(None);
    }
    let filters = subject_filters(cfg);
    if filters.is_empty() {
        return Err(errors::CONSUMER_WQ_MULTIPLE_UNFILTERED.new());
    }
    if partition_unique(name, &filters, others) {
        return Ok(None);
    }
    if is_recovering {
        return Ok(Some(format!(
            "Consumer {} > {} has a filter subject that overlaps with other consumers, \
             which is not allowed for a stream with WorkQueue policy, it should be \
             administratively deleted",
            go_quote(&stream.name),
            go_quote(name)
        )));
    }
    Err(errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE.new())
}

/// The name a new consumer gets (its durable name, its given name or a generated one):
/// a durable name longer than 255 bytes is [`errors::CONSUMER_NAME_TOO_LONG`], and any
/// name with `.`, `*`, `>`, path separators or whitespace is
/// [`errors::CONSUMER_BAD_DURABLE_NAME`].
pub fn check_consumer_name(cfg: &ConsumerConfig, name: &str) -> Result<(), ApiError> {
    if is_durable(cfg) && cfg.durable.len() > super::MAX_NAME_LEN {
        return Err(errors::CONSUMER_NAME_TOO_LONG.with(&[("{max}", &super::MAX_NAME_LEN)]));
    }
    if !is_valid_asset_name(name) {
        return Err(errors::CONSUMER_BAD_DURABLE_NAME.new());
    }
    Ok(())
}

/// How long the consumer may go without interest before it is deleted, in nanoseconds;
/// 0: never. An ephemeral without a threshold gets the default of 5s, written into
/// `cfg` as Go does; `random_ms` is the caller's random number below
/// [`DELETE_JITTER_RANDOM_MS`], spreading the deletions of ephemerals and pull consumers
/// (Go adds 100ms plus that many milliseconds).
pub fn inactive_threshold(cfg: &mut ConsumerConfig, random_ms: i64) -> i64 {
    let jitter = DELETE_JITTER_BASE + random_ms.clamp(0, DELETE_JITTER_RANDOM_MS - 1) * MILLISECOND;
    if !is_durable(cfg) && cfg.inactive_threshold <= 0 {
        cfg.inactive_threshold = DEFAULT_DELETE_WAIT;
        return DEFAULT_DELETE_WAIT + jitter;
    }
    if cfg.inactive_threshold > 0 {
        if is_pull(cfg) {
            return cfg.inactive_threshold.saturating_add(jitter);
        }
        return cfg.inactive_threshold;
    }
    0
}

/// The API level a consumer configuration needs: 1 for pausing and priority groups,
/// 4 for the flow-control ack policy.
pub fn required_api_level(cfg: &ConsumerConfig) -> i64 {
    let mut level = 0;
    if cfg.pause_until.is_some_and(|t| !t.is_zero()) {
        level = level.max(1);
    }
    if cfg.priority_policy != PriorityPolicy::None
        || cfg.pinned_ttl != 0
        || !cfg.priority_groups.is_empty()
    {
        level = level.max(1);
    }
    if cfg.ack_policy == AckPolicy::FlowControl {
        level = level.max(4);
    }
    level
}

/// Go's `setStaticConsumerMetadata`: drops the response-only keys (`_nats.ver`,
/// `_nats.level`) and records the API level the configuration needs as
/// `_nats.req.level`.
pub fn set_static_consumer_metadata(cfg: &mut ConsumerConfig) {
    cfg.metadata.remove(SERVER_VERSION_METADATA_KEY);
    cfg.metadata.remove(SERVER_LEVEL_METADATA_KEY);
    let level = required_api_level(cfg);
    cfg.metadata
        .insert(REQUIRED_LEVEL_METADATA_KEY.to_owned(), level.to_string());
}

/// Go's `setDynamicConsumerMetadata`: a copy of `cfg` for a response, its metadata with
/// this server's version (`_nats.ver`) and API level (`_nats.level`).
pub fn with_dynamic_consumer_metadata(cfg: &ConsumerConfig) -> ConsumerConfig {
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

/// Go's `copyConsumerMetadata`, for comparing a requested configuration with the one in
/// force without their versioning metadata: drops the response-only keys from `cfg` and
/// gives it `prev`'s `_nats.req.level`, or none when `prev` has none.
pub fn copy_consumer_metadata(cfg: &mut ConsumerConfig, prev: Option<&ConsumerConfig>) {
    cfg.metadata.remove(SERVER_VERSION_METADATA_KEY);
    cfg.metadata.remove(SERVER_LEVEL_METADATA_KEY);
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

#[cfg(test)]
mod tests;
