//! The consumer configuration checks, one test per behaviour; the expected errors are the
//! whole API error (code, error code and description) Go answers.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::*;
use crate::jetstream::api::errors::ErrorCode;
use crate::jetstream::api::types::{Placement, ReplayPolicy, StreamConsumerLimits};
use crate::monitor::gotime::GoTime;
use std::collections::BTreeMap;

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;

fn stream() -> StreamConfig {
    StreamConfig {
        name: "S".to_owned(),
        subjects: vec!["foo.>".to_owned()],
        replicas: 1,
        ..Default::default()
    }
}

fn stream_with(f: impl FnOnce(&mut StreamConfig)) -> StreamConfig {
    let mut s = stream();
    f(&mut s);
    s
}

fn work_queue() -> StreamConfig {
    stream_with(|s| s.retention = RetentionPolicy::WorkQueue)
}

fn no_limits() -> JsLimitOpts {
    JsLimitOpts::default()
}

fn account() -> JetStreamAccountLimits {
    JetStreamAccountLimits::UNLIMITED
}

/// A durable pull consumer with explicit acks: the most common request.
fn consumer() -> ConsumerConfig {
    ConsumerConfig {
        durable: "C".to_owned(),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

fn consumer_with(f: impl FnOnce(&mut ConsumerConfig)) -> ConsumerConfig {
    let mut c = consumer();
    f(&mut c);
    c
}

fn push(f: impl FnOnce(&mut ConsumerConfig)) -> ConsumerConfig {
    consumer_with(|c| {
        c.deliver_subject = "dlv".to_owned();
        f(c);
    })
}

/// The configuration with defaults filled in (not pedantic, no limits).
fn defaulted(mut cfg: ConsumerConfig, stream: &StreamConfig) -> ConsumerConfig {
    set_consumer_config_defaults(&mut cfg, stream, &no_limits(), &account(), false).unwrap();
    cfg
}

/// Defaults, then the checks, as the create path runs them.
fn check(cfg: ConsumerConfig) -> Result<(), ApiError> {
    check_in(cfg, &stream())
}

fn check_in(cfg: ConsumerConfig, stream: &StreamConfig) -> Result<(), ApiError> {
    let cfg = defaulted(cfg, stream);
    check_consumer_config(&cfg, stream, &no_limits(), &account(), false)
}

/// The checks alone, on a configuration taken as is.
fn check_raw(cfg: &ConsumerConfig) -> Result<(), ApiError> {
    check_consumer_config(cfg, &stream(), &no_limits(), &account(), false)
}

fn assert_err(result: Result<(), ApiError>, code: ErrorCode) {
    match result {
        Err(e) => assert_eq!(e, code.new()),
        Ok(()) => panic!("expected {:?}, got Ok", code.description),
    }
}

fn assert_err_text(result: Result<(), ApiError>, code: ErrorCode, description: &str) {
    match result {
        Err(e) => {
            assert_eq!(e.code, code.code);
            assert_eq!(e.err_code, code.err_code);
            assert_eq!(e.description, description);
        }
        Ok(()) => panic!("expected {description:?}, got Ok"),
    }
}

fn pedantic(
    mut cfg: ConsumerConfig,
    stream: &StreamConfig,
    server: &JsLimitOpts,
) -> Result<(), ApiError> {
    set_consumer_config_defaults(&mut cfg, stream, server, &account(), true)
}

// ---- defaults ----

#[test]
fn defaults_of_a_durable_pull_consumer() {
    let cfg = defaulted(consumer(), &stream());
    assert_eq!(cfg.max_deliver, -1);
    assert_eq!(cfg.max_waiting, 512);
    assert_eq!(cfg.ack_wait, 30 * S);
    assert_eq!(cfg.max_ack_pending, 1000);
    assert_eq!(cfg.max_request_batch, 0);
    assert_eq!(cfg.inactive_threshold, 0);
    assert_eq!(cfg.pinned_ttl, 0);
    assert!(!cfg.flow_control);
    assert_eq!(cfg.heartbeat, 0);
}

#[test]
fn defaults_of_a_push_consumer_without_acks() {
    let cfg = defaulted(push(|c| c.ack_policy = AckPolicy::None), &stream());
    assert_eq!(cfg.max_waiting, 0, "push consumers have no waiting pulls");
    assert_eq!(cfg.ack_wait, 0, "no ack wait without acks");
    assert_eq!(cfg.max_ack_pending, 0, "no ack pending limit without acks");
    assert_eq!(cfg.max_deliver, -1);
}

#[test]
fn ack_all_gets_the_default_ack_wait_and_a_set_one_is_kept() {
    let cfg = defaulted(consumer_with(|c| c.ack_policy = AckPolicy::All), &stream());
    assert_eq!(cfg.ack_wait, 30 * S);
    let cfg = defaulted(consumer_with(|c| c.ack_wait = 2 * S), &stream());
    assert_eq!(cfg.ack_wait, 2 * S);
}

#[test]
fn negative_values_are_corrected() {
    let cfg = defaulted(
        consumer_with(|c| {
            c.max_deliver = -5;
            c.max_waiting = -1;
            c.max_ack_pending = -7;
            c.max_request_batch = -1;
            c.max_request_expires = -1;
            c.max_request_max_bytes = -1;
            c.heartbeat = -1;
            c.inactive_threshold = -1;
            c.pinned_ttl = -1;
        }),
        &stream(),
    );
    assert_eq!(cfg.max_deliver, -1);
    // Corrected to 0, then the pull default applies.
    assert_eq!(cfg.max_waiting, 512);
    assert_eq!(cfg.max_ack_pending, -1);
    assert_eq!(cfg.max_request_batch, 0);
    assert_eq!(cfg.max_request_expires, 0);
    assert_eq!(cfg.max_request_max_bytes, 0);
    assert_eq!(cfg.heartbeat, 0);
    assert_eq!(cfg.inactive_threshold, 0);
    assert_eq!(cfg.pinned_ttl, 0);
    // -1 for max_ack_pending is kept (unlimited).
    let cfg = defaulted(consumer_with(|c| c.max_ack_pending = -1), &stream());
    assert_eq!(cfg.max_ack_pending, -1);
    // A positive max_deliver is kept.
    let cfg = defaulted(consumer_with(|c| c.max_deliver = 3), &stream());
    assert_eq!(cfg.max_deliver, 3);
}

#[test]
fn backoff_sets_the_ack_wait() {
    let cfg = defaulted(consumer_with(|c| c.backoff = vec![S, 5 * S]), &stream());
    assert_eq!(cfg.ack_wait, S);
    // Even over an ack wait that was set.
    let cfg = defaulted(
        consumer_with(|c| {
            c.ack_wait = 10 * S;
            c.backoff = vec![2 * S];
        }),
        &stream(),
    );
    assert_eq!(cfg.ack_wait, 2 * S);
}

#[test]
fn stream_consumer_limits_are_the_defaults() {
    let s = stream_with(|s| {
        s.consumer_limits = StreamConsumerLimits {
            inactive_threshold: 60 * S,
            max_ack_pending: 100,
        }
    });
    let cfg = defaulted(consumer(), &s);
    assert_eq!(cfg.max_ack_pending, 100);
    assert_eq!(cfg.inactive_threshold, 60 * S);
    // Set values stay.
    let cfg = defaulted(
        consumer_with(|c| {
            c.max_ack_pending = 10;
            c.inactive_threshold = S;
        }),
        &s,
    );
    assert_eq!(cfg.max_ack_pending, 10);
    assert_eq!(cfg.inactive_threshold, S);
    // The stream's max_ack_pending applies to consumers without acks too.
    let cfg = defaulted(push(|c| c.ack_policy = AckPolicy::None), &s);
    assert_eq!(cfg.max_ack_pending, 100);
}

#[test]
fn default_max_ack_pending_is_capped_by_server_and_account_limits() {
    let server = JsLimitOpts {
        max_ack_pending: 500,
        ..Default::default()
    };
    let mut cfg = consumer();
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &account(), false).unwrap();
    assert_eq!(cfg.max_ack_pending, 500);

    let acc = JetStreamAccountLimits {
        max_ack_pending: 200,
        ..JetStreamAccountLimits::UNLIMITED
    };
    let mut cfg = consumer();
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &acc, false).unwrap();
    assert_eq!(cfg.max_ack_pending, 200);

    // Limits above the default do not raise it.
    let server = JsLimitOpts {
        max_ack_pending: 5000,
        ..Default::default()
    };
    let mut cfg = consumer();
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &account(), false).unwrap();
    assert_eq!(cfg.max_ack_pending, 1000);
}

#[test]
fn server_max_request_batch_is_the_pull_default() {
    let server = JsLimitOpts {
        max_request_batch: 250,
        ..Default::default()
    };
    let mut cfg = consumer();
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &account(), false).unwrap();
    assert_eq!(cfg.max_request_batch, 250);
    // Not for push consumers.
    let mut cfg = push(|_| {});
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &account(), false).unwrap();
    assert_eq!(cfg.max_request_batch, 0);
    // A set value stays.
    let mut cfg = consumer_with(|c| c.max_request_batch = 10);
    set_consumer_config_defaults(&mut cfg, &stream(), &server, &account(), false).unwrap();
    assert_eq!(cfg.max_request_batch, 10);
}

#[test]
fn pinned_client_gets_the_default_pin_ttl() {
    let cfg = defaulted(
        consumer_with(|c| {
            c.priority_policy = PriorityPolicy::PinnedClient;
            c.priority_groups = vec!["A".to_owned()];
        }),
        &stream(),
    );
    assert_eq!(cfg.pinned_ttl, 120 * S);
    let cfg = defaulted(
        consumer_with(|c| c.priority_policy = PriorityPolicy::Overflow),
        &stream(),
    );
    assert_eq!(cfg.pinned_ttl, 0);
}

#[test]
fn flow_control_ack_policy_turns_on_flow_control_and_a_1s_heartbeat() {
    let cfg = defaulted(
        push(|c| {
            c.ack_policy = AckPolicy::FlowControl;
            c.heartbeat = 5 * S;
        }),
        &stream(),
    );
    assert!(cfg.flow_control);
    assert_eq!(cfg.heartbeat, S);
    assert_eq!(cfg.ack_wait, 0, "flow-control acks have no ack wait");
    assert_eq!(cfg.max_ack_pending, 1000);
    // Pedantic mode leaves them as sent.
    let mut cfg = push(|c| c.ack_policy = AckPolicy::FlowControl);
    set_consumer_config_defaults(&mut cfg, &stream(), &no_limits(), &account(), true).unwrap();
    assert!(!cfg.flow_control);
    assert_eq!(cfg.heartbeat, 0);
}

#[test]
fn pedantic_refuses_every_corrected_value() {
    let s = stream();
    let l = no_limits();
    let cases: Vec<(ConsumerConfig, &str)> = vec![
        (
            consumer_with(|c| c.max_deliver = -2),
            "max_deliver must be set to -1",
        ),
        (
            consumer_with(|c| c.max_waiting = -1),
            "max_waiting must not be negative",
        ),
        (
            consumer_with(|c| c.max_ack_pending = -2),
            "max_ack_pending must be set to -1",
        ),
        (
            consumer_with(|c| c.max_request_batch = -1),
            "max_batch must not be negative",
        ),
        (
            consumer_with(|c| c.max_request_expires = -1),
            "max_expires must not be negative",
        ),
        (
            consumer_with(|c| c.max_request_max_bytes = -1),
            "max_bytes must not be negative",
        ),
        (
            consumer_with(|c| c.heartbeat = -1),
            "idle_heartbeat must not be negative",
        ),
        (
            consumer_with(|c| c.inactive_threshold = -1),
            "inactive_threshold must not be negative",
        ),
        (
            consumer_with(|c| c.pinned_ttl = -1),
            "priority_timeout must not be negative",
        ),
        (
            consumer_with(|c| c.backoff = vec![S, 2 * S]),
            "first backoff value has to equal batch AckWait",
        ),
    ];
    for (cfg, text) in cases {
        assert_err_text(
            pedantic(cfg, &s, &l),
            errors::PEDANTIC,
            &format!("pedantic mode: {text}"),
        );
    }
    // max_deliver 0 is not an error: 0 means "unset".
    pedantic(consumer(), &s, &l).unwrap();
    // A back-off whose first value is the ack wait passes.
    pedantic(
        consumer_with(|c| {
            c.ack_wait = S;
            c.backoff = vec![S, 2 * S];
        }),
        &s,
        &l,
    )
    .unwrap();
}

#[test]
fn pedantic_requires_values_the_limits_would_set() {
    let s = stream_with(|s| s.consumer_limits.max_ack_pending = 100);
    assert_err_text(
        pedantic(consumer(), &s, &no_limits()),
        errors::PEDANTIC,
        "pedantic mode: max_ack_pending must be set if it's configured in stream limits",
    );
    pedantic(consumer_with(|c| c.max_ack_pending = 50), &s, &no_limits()).unwrap();

    let s = stream_with(|s| s.consumer_limits.inactive_threshold = 60 * S);
    assert_err_text(
        pedantic(consumer(), &s, &no_limits()),
        errors::PEDANTIC,
        "pedantic mode: inactive_threshold must be set if it's configured in stream limits",
    );

    let server = JsLimitOpts {
        max_request_batch: 250,
        ..Default::default()
    };
    assert_err_text(
        pedantic(consumer(), &stream(), &server),
        errors::PEDANTIC,
        "pedantic mode: max_request_batch must be set if it's JetStream limits are set",
    );
    pedantic(
        consumer_with(|c| c.max_request_batch = 10),
        &stream(),
        &server,
    )
    .unwrap();
}

// ---- checks ----

#[test]
fn a_default_consumer_passes() {
    check(consumer()).unwrap();
    check(push(|_| {})).unwrap();
    check(ConsumerConfig::default()).unwrap();
}

#[test]
fn names_may_not_hold_separators_or_wildcards() {
    for bad in ["a.b", "a*", "a>", "a\\b", "a/b", "a b", "a\tb"] {
        assert_err_text(
            check(consumer_with(|c| {
                c.durable = String::new();
                c.name = bad.to_owned();
            })),
            errors::STREAM_INVALID_CONFIG,
            "consumer name can not contain '.', '*', '>', '\\', '/'",
        );
        assert_err_text(
            check(consumer_with(|c| c.durable = bad.to_owned())),
            errors::STREAM_INVALID_CONFIG,
            "consumer durable name can not contain '.', '*', '>', '\\', '/'",
        );
    }
}

#[test]
fn replicas_rules() {
    assert_err(
        check(consumer_with(|c| c.replicas = 3)),
        errors::CONSUMER_REPLICAS_EXCEEDS_STREAM,
    );
    assert_err(
        check(consumer_with(|c| c.replicas = -1)),
        errors::REPLICAS_COUNT_CANNOT_BE_NEGATIVE,
    );
    // Interest and work-queue streams need the stream's replica count.
    let s = stream_with(|s| {
        s.replicas = 3;
        s.retention = RetentionPolicy::Interest;
    });
    assert_err(
        check_in(consumer_with(|c| c.replicas = 1), &s),
        errors::CONSUMER_REPLICAS_SHOULD_MATCH_STREAM,
    );
    check_in(consumer_with(|c| c.replicas = 3), &s).unwrap();
    check_in(consumer(), &s).unwrap();
    // Not refused when recovering.
    let cfg = defaulted(consumer_with(|c| c.replicas = 1), &s);
    check_consumer_config(&cfg, &s, &no_limits(), &account(), true).unwrap();
    // Limits streams allow fewer.
    let s = stream_with(|s| s.replicas = 3);
    check_in(consumer_with(|c| c.replicas = 1), &s).unwrap();
}

#[test]
fn negative_backoff_and_ack_wait() {
    assert_err(
        check(consumer_with(|c| {
            c.backoff = vec![S, -S];
        })),
        errors::CONSUMER_BACK_OFF_NEGATIVE,
    );
    assert_err(
        check_raw(&consumer_with(|c| c.ack_wait = -1)),
        errors::CONSUMER_ACK_WAIT_NEGATIVE,
    );
}

#[test]
fn flow_control_ack_policy_rules() {
    let fc = |f: fn(&mut ConsumerConfig)| {
        let mut c = push(|c| c.ack_policy = AckPolicy::FlowControl);
        c = defaulted(c, &stream());
        f(&mut c);
        check_raw(&c)
    };
    fc(|_| {}).unwrap();
    assert_err(
        fc(|c| {
            c.deliver_subject = String::new();
        }),
        errors::CONSUMER_ACK_FC_REQUIRES_PUSH,
    );
    assert_err(
        fc(|c| c.flow_control = false),
        errors::CONSUMER_ACK_FC_REQUIRES_FC,
    );
    assert_err_text(
        fc(|c| c.heartbeat = 2 * S),
        errors::STREAM_INVALID_CONFIG,
        "flow control ack policy heartbeat needs to be 1s",
    );
    assert_err(
        fc(|c| c.max_ack_pending = -1),
        errors::CONSUMER_ACK_FC_REQUIRES_MAX_ACK_PENDING,
    );
    assert_err(
        fc(|c| c.ack_wait = S),
        errors::CONSUMER_ACK_FC_REQUIRES_NO_ACK_WAIT,
    );
    assert_err(
        fc(|c| c.backoff = vec![S]),
        errors::CONSUMER_ACK_FC_REQUIRES_NO_ACK_WAIT,
    );
    assert_err(
        fc(|c| c.max_deliver = 5),
        errors::CONSUMER_ACK_FC_REQUIRES_NO_MAX_DELIVER,
    );
    // A pull request for flow-control acks: the defaults leave it pull.
    assert_err(
        check(consumer_with(|c| c.ack_policy = AckPolicy::FlowControl)),
        errors::CONSUMER_ACK_FC_REQUIRES_PUSH,
    );
}

#[test]
fn backoff_longer_than_max_deliver() {
    assert_err(
        check(consumer_with(|c| {
            c.backoff = vec![S, 2 * S, 3 * S];
            c.max_deliver = 2;
        })),
        errors::CONSUMER_MAX_DELIVER_BACKOFF,
    );
    check(consumer_with(|c| {
        c.backoff = vec![S, 2 * S, 3 * S];
        c.max_deliver = 3;
    }))
    .unwrap();
    check(consumer_with(|c| c.backoff = vec![S, 2 * S, 3 * S])).unwrap();
}

#[test]
fn description_length() {
    check(consumer_with(|c| c.description = "x".repeat(4096))).unwrap();
    assert_err_text(
        check(consumer_with(|c| c.description = "x".repeat(4097))),
        errors::CONSUMER_DESCRIPTION_TOO_LONG,
        "consumer description is too long, maximum allowed is 4096",
    );
}

#[test]
fn push_consumer_rules() {
    assert_err(
        check(push(|c| c.deliver_subject = "dlv.*".to_owned())),
        errors::CONSUMER_DELIVER_TO_WILDCARDS,
    );
    assert_err(
        check(push(|c| c.deliver_subject = "dlv.>".to_owned())),
        errors::CONSUMER_DELIVER_TO_WILDCARDS,
    );
    assert_err(
        check(push(|c| c.deliver_subject = "dlv..x".to_owned())),
        errors::CONSUMER_INVALID_DELIVER_SUBJECT,
    );
    assert_err(
        check(push(|c| c.deliver_subject = "foo.bar".to_owned())),
        errors::CONSUMER_DELIVER_CYCLE,
    );
    assert_err(
        check(push(|c| c.max_waiting = 10)),
        errors::CONSUMER_PUSH_MAX_WAITING,
    );
    assert_err(
        check(push(|c| {
            c.ack_policy = AckPolicy::None;
            c.max_ack_pending = 10;
        })),
        errors::CONSUMER_MAX_PENDING_ACK_POLICY_REQUIRED,
    );
    assert_err(
        check(push(|c| c.heartbeat = 50 * MS)),
        errors::CONSUMER_SMALL_HEARTBEAT,
    );
    check(push(|c| c.heartbeat = 100 * MS)).unwrap();
    // Go checks only max_waiting of the pull options on push consumers.
    check(push(|c| {
        c.max_request_batch = 10;
        c.max_request_expires = S;
        c.max_request_max_bytes = 1024;
    }))
    .unwrap();
}

#[test]
fn pull_consumer_rules() {
    assert_err(
        check_in(
            consumer_with(|c| c.ack_policy = AckPolicy::None),
            &work_queue(),
        ),
        errors::CONSUMER_PULL_REQUIRES_ACK,
    );
    check(consumer_with(|c| c.ack_policy = AckPolicy::None)).unwrap();
    assert_err(
        check(consumer_with(|c| c.rate_limit = 1000)),
        errors::CONSUMER_PULL_WITH_RATE_LIMIT,
    );
    assert_err(
        check_raw(&consumer_with(|c| c.max_waiting = -1)),
        errors::CONSUMER_MAX_WAITING_NEGATIVE,
    );
    assert_err(
        check(consumer_with(|c| c.heartbeat = S)),
        errors::CONSUMER_HB_REQUIRES_PUSH,
    );
    assert_err(
        check(consumer_with(|c| c.flow_control = true)),
        errors::CONSUMER_FC_REQUIRES_PUSH,
    );
    assert_err(
        check_raw(&consumer_with(|c| c.max_request_batch = -1)),
        errors::CONSUMER_MAX_REQUEST_BATCH_NEGATIVE,
    );
    assert_err(
        check(consumer_with(|c| c.max_request_expires = MS - 1)),
        errors::CONSUMER_MAX_REQUEST_EXPIRES_TOO_SMALL,
    );
    check(consumer_with(|c| c.max_request_expires = MS)).unwrap();
    let server = JsLimitOpts {
        max_request_batch: 100,
        ..Default::default()
    };
    let cfg = defaulted(consumer_with(|c| c.max_request_batch = 101), &stream());
    assert_err_text(
        check_consumer_config(&cfg, &stream(), &server, &account(), false),
        errors::CONSUMER_MAX_REQUEST_BATCH_EXCEEDED,
        "consumer max request batch exceeds server limit of 100",
    );
}

#[test]
fn max_ack_pending_limits() {
    let cfg = defaulted(consumer_with(|c| c.max_ack_pending = 2000), &stream());
    let server = JsLimitOpts {
        max_ack_pending: 1500,
        ..Default::default()
    };
    assert_err_text(
        check_consumer_config(&cfg, &stream(), &server, &account(), false),
        errors::CONSUMER_MAX_PENDING_ACK_EXCESS,
        "consumer max ack pending exceeds system limit of 1500",
    );
    let acc = JetStreamAccountLimits {
        max_ack_pending: 1200,
        ..JetStreamAccountLimits::UNLIMITED
    };
    assert_err_text(
        check_consumer_config(&cfg, &stream(), &no_limits(), &acc, false),
        errors::CONSUMER_MAX_PENDING_ACK_EXCESS,
        "consumer max ack pending exceeds system limit of 1200",
    );
    let s = stream_with(|s| s.consumer_limits.max_ack_pending = 1000);
    assert_err_text(
        check_consumer_config(&cfg, &s, &no_limits(), &account(), false),
        errors::CONSUMER_MAX_PENDING_ACK_EXCESS,
        "consumer max ack pending exceeds system limit of 1000",
    );
    // The server's limit is reported first.
    assert_err_text(
        check_consumer_config(&cfg, &s, &server, &acc, false),
        errors::CONSUMER_MAX_PENDING_ACK_EXCESS,
        "consumer max ack pending exceeds system limit of 1500",
    );
}

#[test]
fn inactive_threshold_limit_of_the_stream() {
    let s = stream_with(|s| s.consumer_limits.inactive_threshold = 60 * S);
    assert_err_text(
        check_in(consumer_with(|c| c.inactive_threshold = 61 * S), &s),
        errors::CONSUMER_INACTIVE_THRESHOLD_EXCESS,
        "consumer inactive threshold exceeds system limit of 1m0s",
    );
    check_in(consumer_with(|c| c.inactive_threshold = 60 * S), &s).unwrap();
}

#[test]
fn direct_consumers_are_pushed_ephemerals() {
    assert_err(
        check(consumer_with(|c| c.direct = true)),
        errors::CONSUMER_DIRECT_REQUIRES_PUSH,
    );
    assert_err(
        check(push(|c| c.direct = true)),
        errors::CONSUMER_DIRECT_REQUIRES_EPHEMERAL,
    );
    check(push(|c| {
        c.direct = true;
        c.durable = String::new();
    }))
    .unwrap();
}

#[test]
fn filter_rules() {
    assert_err(
        check(consumer_with(|c| {
            c.filter_subject = "foo.a".to_owned();
            c.filter_subjects = vec!["foo.b".to_owned()];
        })),
        errors::CONSUMER_DUPLICATE_FILTER_SUBJECTS,
    );
    assert_err_text(
        check(consumer_with(|c| c.filter_subject = "foo..a".to_owned())),
        errors::STREAM_INVALID_CONFIG,
        "invalid subject",
    );
    assert_err(
        check(consumer_with(|c| {
            c.filter_subjects = vec!["foo.a".to_owned(), String::new()];
        })),
        errors::CONSUMER_EMPTY_FILTER,
    );
    assert_err_text(
        check(consumer_with(|c| {
            c.filter_subjects = vec!["foo.>.b".to_owned(), "foo.a".to_owned()];
        })),
        errors::STREAM_INVALID_CONFIG,
        "invalid subject",
    );
    // Each filter is validated just before its overlaps are checked, as in Go: here
    // `foo.a` is found inside the invalid `foo.>.b` first.
    assert_err(
        check(consumer_with(|c| {
            c.filter_subjects = vec!["foo.a".to_owned(), "foo.>.b".to_owned()];
        })),
        errors::CONSUMER_OVERLAPPING_SUBJECT_FILTERS,
    );
    assert_err(
        check(consumer_with(|c| {
            c.filter_subjects = vec!["foo.a".to_owned(), "foo.*".to_owned()];
        })),
        errors::CONSUMER_OVERLAPPING_SUBJECT_FILTERS,
    );
    assert_err(
        check(consumer_with(|c| {
            c.filter_subjects = vec!["foo.a".to_owned(), "foo.a".to_owned()];
        })),
        errors::CONSUMER_OVERLAPPING_SUBJECT_FILTERS,
    );
    check(consumer_with(|c| {
        c.filter_subjects = vec!["foo.a".to_owned(), "foo.b.*".to_owned()];
    }))
    .unwrap();
    // Go does not check filters against the stream's subjects here.
    check(consumer_with(|c| c.filter_subject = "bar".to_owned())).unwrap();
}

#[test]
fn start_position_against_deliver_policy() {
    let t = Some(GoTime::from_unix_nanos(1_700_000_000 * S));
    let policy = |p: DeliverPolicy, seq: u64, time: Option<GoTime>| {
        check(consumer_with(|c| {
            c.deliver_policy = p;
            c.opt_start_seq = seq;
            c.opt_start_time = time;
        }))
    };
    let text = |r: Result<(), ApiError>| r.unwrap_err().description;
    for (p, name) in [
        (DeliverPolicy::All, "all"),
        (DeliverPolicy::Last, "last"),
        (DeliverPolicy::New, "new"),
    ] {
        policy(p, 0, None).unwrap();
        assert_eq!(
            text(policy(p, 5, t)),
            format!("consumer delivery policy is deliver {name}, but optional start sequence is also set")
        );
        assert_eq!(
            text(policy(p, 0, t)),
            format!(
                "consumer delivery policy is deliver {name}, but optional start time is also set"
            )
        );
    }
    let lps = DeliverPolicy::LastPerSubject;
    assert_eq!(
        text(policy(lps, 5, None)),
        "consumer delivery policy is deliver last per subject, but optional start sequence is also set"
    );
    assert_eq!(
        text(policy(lps, 0, t)),
        "consumer delivery policy is deliver last per subject, but optional start time is also set"
    );
    assert_err_text(
        policy(lps, 0, None),
        errors::CONSUMER_INVALID_POLICY,
        "consumer delivery policy is deliver last per subject, but optional filter subject is not set",
    );
    check(consumer_with(|c| {
        c.deliver_policy = lps;
        c.filter_subjects = vec!["foo.a".to_owned()];
    }))
    .unwrap();

    let seq = DeliverPolicy::ByStartSequence;
    assert_eq!(
        text(policy(seq, 0, None)),
        "consumer delivery policy is deliver by start sequence, but optional start sequence is not set"
    );
    assert_eq!(
        text(policy(seq, 5, t)),
        "consumer delivery policy is deliver by start sequence, but optional start time is also set"
    );
    policy(seq, 5, None).unwrap();

    let time = DeliverPolicy::ByStartTime;
    assert_eq!(
        text(policy(time, 0, None)),
        "consumer delivery policy is deliver by start time, but optional start time is not set"
    );
    assert_eq!(
        text(policy(time, 5, t)),
        "consumer delivery policy is deliver by start time, but optional start start sequence is also set"
    );
    policy(time, 0, t).unwrap();
    assert_eq!(policy(time, 0, None).unwrap_err().err_code, 10094);
}

#[test]
fn sample_frequency_parsing() {
    assert_eq!(parse_sample_frequency("50%"), Ok(50));
    assert_eq!(parse_sample_frequency("50"), Ok(50));
    assert_eq!(parse_sample_frequency("+7"), Ok(7));
    assert_eq!(parse_sample_frequency("0%"), Ok(0));
    check(consumer_with(|c| c.sample_frequency = "100%".to_owned())).unwrap();
    assert_err_text(
        check(consumer_with(|c| c.sample_frequency = "abc".to_owned())),
        errors::CONSUMER_INVALID_SAMPLING,
        "failed to parse consumer sampling configuration: strconv.Atoi: parsing \"abc\": invalid syntax",
    );
    // Only one '%' is taken off.
    assert_err_text(
        check(consumer_with(|c| c.sample_frequency = "5%%".to_owned())),
        errors::CONSUMER_INVALID_SAMPLING,
        "failed to parse consumer sampling configuration: strconv.Atoi: parsing \"5%\": invalid syntax",
    );
    assert_err_text(
        check(consumer_with(|c| c.sample_frequency = "%".to_owned())),
        errors::CONSUMER_INVALID_SAMPLING,
        "failed to parse consumer sampling configuration: strconv.Atoi: parsing \"\": invalid syntax",
    );
    assert_err_text(
        check(consumer_with(|c| c.sample_frequency = "99999999999999999999".to_owned())),
        errors::CONSUMER_INVALID_SAMPLING,
        "failed to parse consumer sampling configuration: strconv.Atoi: parsing \"99999999999999999999\": value out of range",
    );
    // A negative number has no parse error to show: Go prints a nil error.
    assert_err_text(
        check(consumer_with(|c| c.sample_frequency = "-5%".to_owned())),
        errors::CONSUMER_INVALID_SAMPLING,
        "failed to parse consumer sampling configuration: <nil>",
    );
}

#[test]
fn flow_control_needs_heartbeats() {
    assert_err(
        check(push(|c| c.flow_control = true)),
        errors::CONSUMER_WITH_FLOW_CONTROL_NEEDS_HEARTBEATS,
    );
    check(push(|c| {
        c.flow_control = true;
        c.heartbeat = S;
    }))
    .unwrap();
}

#[test]
fn durable_and_name_must_agree() {
    assert_err(
        check(consumer_with(|c| c.name = "D".to_owned())),
        errors::CONSUMER_CREATE_DURABLE_AND_NAME_MISMATCH,
    );
    check(consumer_with(|c| c.name = "C".to_owned())).unwrap();
}

#[test]
fn metadata_size() {
    let mut big = BTreeMap::new();
    big.insert("k".to_owned(), "v".repeat(128 * 1024 - 1));
    check(consumer_with(|c| c.metadata = big.clone())).unwrap();
    big.insert("k2".to_owned(), String::new());
    assert_err_text(
        check(consumer_with(|c| c.metadata = big)),
        errors::CONSUMER_METADATA_LENGTH,
        "consumer metadata exceeds maximum size of 128KB",
    );
}

#[test]
fn priority_group_rules() {
    let groups = |p: PriorityPolicy, g: &[&str]| {
        consumer_with(|c| {
            c.priority_policy = p;
            c.priority_groups = g.iter().map(|s| (*s).to_owned()).collect();
        })
    };
    check(groups(PriorityPolicy::Overflow, &["A", "b-1/_="])).unwrap();
    check(groups(PriorityPolicy::PinnedClient, &["A"])).unwrap();
    check(groups(PriorityPolicy::Prioritized, &["A"])).unwrap();
    let mut pushed = groups(PriorityPolicy::Overflow, &["A"]);
    pushed.deliver_subject = "dlv".to_owned();
    assert_err(check(pushed), errors::CONSUMER_PUSH_WITH_PRIORITY_GROUP);
    assert_err(
        check(groups(PriorityPolicy::Overflow, &[])),
        errors::CONSUMER_PRIORITY_POLICY_WITHOUT_GROUP,
    );
    assert_err(
        check(groups(PriorityPolicy::Overflow, &["A", ""])),
        errors::CONSUMER_EMPTY_GROUP_NAME,
    );
    for bad in ["group name", "a.b", "12345678901234567", "grp\n", "é"] {
        assert_err(
            check(groups(PriorityPolicy::Overflow, &[bad])),
            errors::CONSUMER_INVALID_GROUP_NAME,
        );
    }
    assert!(is_valid_group_name("1234567890123456"));
    assert_err(
        check(groups(PriorityPolicy::None, &["A"])),
        errors::CONSUMER_PRIORITY_GROUP_WITH_POLICY_NONE,
    );
    assert_err(
        check(consumer_with(|c| c.pinned_ttl = S)),
        errors::CONSUMER_PINNED_TTL_WITHOUT_PRIORITY_POLICY_NONE,
    );
}

#[test]
fn preferred_placement_is_refused() {
    let s = stream_with(|s| {
        s.placement = Some(Placement {
            preferred: "S1".to_owned(),
            ..Default::default()
        })
    });
    assert_err_text(
        check_in(consumer(), &s),
        errors::STREAM_INVALID_CONFIG,
        "preferred server not permitted in placement",
    );
    let s = stream_with(|s| {
        s.placement = Some(Placement {
            cluster: "C".to_owned(),
            ..Default::default()
        })
    });
    check_in(consumer(), &s).unwrap();
}

#[test]
fn checks_run_in_gos_order() {
    // A bad name is reported before everything else.
    let cfg = consumer_with(|c| {
        c.durable = "a.b".to_owned();
        c.replicas = -1;
        c.description = "x".repeat(5000);
    });
    assert_eq!(
        check(cfg).unwrap_err().err_code,
        errors::STREAM_INVALID_CONFIG.err_code
    );
    // Description before the push rules, push rules before the filters, filters before
    // the start position, the start position before the sampling.
    let cfg = push(|c| {
        c.description = "x".repeat(5000);
        c.max_waiting = 1;
    });
    assert_err_text(
        check(cfg),
        errors::CONSUMER_DESCRIPTION_TOO_LONG,
        "consumer description is too long, maximum allowed is 4096",
    );
    let cfg = push(|c| {
        c.max_waiting = 1;
        c.filter_subjects = vec![String::new()];
    });
    assert_err(check(cfg), errors::CONSUMER_PUSH_MAX_WAITING);
    let cfg = consumer_with(|c| {
        c.filter_subjects = vec![String::new()];
        c.opt_start_seq = 4;
    });
    assert_err(check(cfg), errors::CONSUMER_EMPTY_FILTER);
    let cfg = consumer_with(|c| {
        c.opt_start_seq = 4;
        c.sample_frequency = "x".to_owned();
    });
    assert_eq!(
        check(cfg).unwrap_err().err_code,
        errors::CONSUMER_INVALID_POLICY.err_code
    );
}

#[test]
fn replay_and_headers_only_have_no_rules() {
    check(consumer_with(|c| {
        c.replay_policy = ReplayPolicy::Original;
        c.headers_only = true;
        c.pause_until = Some(GoTime::from_unix_nanos(1));
        c.deliver_group = "q".to_owned();
    }))
    .unwrap();
}

// ---- updates ----

fn update(old: &ConsumerConfig, f: impl FnOnce(&mut ConsumerConfig)) -> Result<(), ApiError> {
    let mut new = old.clone();
    f(&mut new);
    check_consumer_update(old, &new, false)
}

/// A change made to a configuration.
type Change = fn(&mut ConsumerConfig);

#[test]
fn update_of_fixed_fields_is_refused() {
    let old = defaulted(consumer(), &stream());
    let cases: Vec<(Change, &str)> = vec![
        (
            |c| c.deliver_policy = DeliverPolicy::New,
            "deliver policy can not be updated",
        ),
        (
            |c| c.memory_storage = true,
            "storage type can not be updated",
        ),
        (|c| c.opt_start_seq = 3, "start sequence can not be updated"),
        (
            |c| c.opt_start_time = Some(GoTime::from_unix_nanos(5)),
            "start time can not be updated",
        ),
        (
            |c| c.ack_policy = AckPolicy::All,
            "ack policy can not be updated",
        ),
        (
            |c| c.replay_policy = ReplayPolicy::Original,
            "replay policy can not be updated",
        ),
        (|c| c.heartbeat = S, "heart beats can not be updated"),
        (|c| c.flow_control = true, "flow control can not be updated"),
        (
            |c| c.deliver_subject = "dlv".to_owned(),
            "can not update pull consumer to push based",
        ),
        (|c| c.max_waiting = 10, "max waiting can not be updated"),
    ];
    for (change, text) in cases {
        assert_err_text(update(&old, change), errors::CONSUMER_CREATE, text);
    }
    // Start times compare as instants, and removing one is a change.
    let old = consumer_with(|c| {
        c.deliver_policy = DeliverPolicy::ByStartTime;
        c.opt_start_time = Some(GoTime::from_unix_nanos(5));
    });
    update(&old, |_| {}).unwrap();
    assert_err_text(
        update(&old, |c| c.opt_start_time = None),
        errors::CONSUMER_CREATE,
        "start time can not be updated",
    );
}

#[test]
fn update_of_deliver_subject() {
    let old = defaulted(push(|_| {}), &stream());
    assert_err_text(
        update(&old, |c| c.deliver_subject = String::new()),
        errors::CONSUMER_CREATE,
        "can not update push consumer to pull based",
    );
    update(&old, |c| c.deliver_subject = "other".to_owned()).unwrap();
    let mut new = old.clone();
    new.deliver_subject = "other".to_owned();
    assert_err(
        check_consumer_update(&old, &new, true),
        errors::CONSUMER_NAME_EXIST,
    );
}

#[test]
fn update_of_changeable_fields_and_backoff() {
    let old = defaulted(consumer(), &stream());
    update(&old, |c| {
        c.description = "d".to_owned();
        c.max_ack_pending = 5;
        c.ack_wait = S;
        c.max_deliver = 4;
        c.filter_subject = "foo.x".to_owned();
        c.sample_frequency = "10%".to_owned();
        c.headers_only = true;
        c.inactive_threshold = S;
        c.max_request_batch = 9;
        c.metadata.insert("a".to_owned(), "b".to_owned());
    })
    .unwrap();
    assert_err(
        update(&old, |c| {
            c.backoff = vec![S, S, S];
            c.max_deliver = 2;
        }),
        errors::CONSUMER_MAX_DELIVER_BACKOFF,
    );
}

// ---- create requests ----

#[test]
fn create_subjects() {
    assert_eq!(parse_create_subject("$JS.API.CONSUMER"), None);
    assert_eq!(parse_create_subject("$JS.API.CONSUMER.CREATE"), None);
    let s = parse_create_subject("$JS.API.CONSUMER.CREATE.S").unwrap();
    assert_eq!(s.kind, CreateSubjectKind::LegacyEphemeral);
    assert_eq!((s.stream, s.consumer, s.filter), ("S", "", ""));
    let s = parse_create_subject("$JS.API.CONSUMER.CREATE.S.C").unwrap();
    assert_eq!(s.kind, CreateSubjectKind::Named);
    assert_eq!((s.stream, s.consumer, s.filter), ("S", "C", ""));
    let s = parse_create_subject("$JS.API.CONSUMER.CREATE.S.C.foo.*.>").unwrap();
    assert_eq!(s.kind, CreateSubjectKind::Named);
    assert_eq!((s.stream, s.consumer, s.filter), ("S", "C", "foo.*.>"));
    let s = parse_create_subject("$JS.API.CONSUMER.DURABLE.CREATE.S.D").unwrap();
    assert_eq!(s.kind, CreateSubjectKind::LegacyDurable);
    assert_eq!((s.stream, s.consumer, s.filter), ("S", "D", ""));
}

fn create(subject: &str, stream: &str, cfg: &mut ConsumerConfig) -> Result<String, ApiError> {
    check_create_request(&parse_create_subject(subject).unwrap(), stream, cfg)
}

#[test]
fn create_request_names_the_consumer() {
    // New style: the subject's name becomes the configuration's.
    let mut cfg = ConsumerConfig::default();
    assert_eq!(
        create("$JS.API.CONSUMER.CREATE.S.C", "S", &mut cfg).unwrap(),
        "C"
    );
    assert_eq!(cfg.name, "C");
    let mut cfg = consumer_with(|c| c.durable = "C".to_owned());
    assert_eq!(
        create("$JS.API.CONSUMER.CREATE.S.C", "S", &mut cfg).unwrap(),
        "C"
    );
    assert_eq!(cfg.name, "C");
    // Legacy durable.
    let mut cfg = consumer_with(|c| c.durable = "D".to_owned());
    assert_eq!(
        create("$JS.API.CONSUMER.DURABLE.CREATE.S.D", "S", &mut cfg).unwrap(),
        "D"
    );
    assert_eq!(cfg.name, "D");
    // Legacy ephemeral: the configuration's name, if any.
    let mut cfg = ConsumerConfig {
        name: "E".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        create("$JS.API.CONSUMER.CREATE.S", "S", &mut cfg).unwrap(),
        "E"
    );
    let mut cfg = ConsumerConfig::default();
    assert_eq!(
        create("$JS.API.CONSUMER.CREATE.S", "S", &mut cfg).unwrap(),
        ""
    );
    // With the filter in the subject.
    let mut cfg = ConsumerConfig {
        filter_subject: "foo.>".to_owned(),
        ..Default::default()
    };
    create("$JS.API.CONSUMER.CREATE.S.C.foo.>", "S", &mut cfg).unwrap();
}

#[test]
fn create_request_errors() {
    let err = |subject: &str, stream: &str, cfg: ConsumerConfig| {
        let mut cfg = cfg;
        create(subject, stream, &mut cfg).unwrap_err()
    };
    let plain = ConsumerConfig::default;
    let durable = |d: &str| ConsumerConfig {
        durable: d.to_owned(),
        ..Default::default()
    };
    assert_eq!(
        err("$JS.API.CONSUMER.DURABLE.CREATE.S", "S", durable("D")),
        errors::CONSUMER_DURABLE_NAME_NOT_IN_SUBJECT.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.DURABLE.CREATE.S.D.x", "S", durable("D")),
        errors::CONSUMER_DURABLE_NAME_NOT_IN_SUBJECT.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.C", "T", plain()),
        errors::STREAM_MISMATCH.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S", "", plain()),
        errors::STREAM_MISMATCH.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.DURABLE.CREATE.S.D", "X", durable("D")),
        errors::STREAM_MISMATCH.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.a/b", "S", plain()),
        errors::CONSUMER_NAME_CONTAINS_PATH_SEPARATORS.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.a\\b", "S", plain()),
        errors::CONSUMER_NAME_CONTAINS_PATH_SEPARATORS.new()
    );
    // A legacy ephemeral's name comes from the configuration.
    let named = ConsumerConfig {
        name: "x/y".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S", "S", named),
        errors::CONSUMER_NAME_CONTAINS_PATH_SEPARATORS.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.DURABLE.CREATE.S.D", "S", plain()),
        errors::CONSUMER_DURABLE_NAME_NOT_SET.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.DURABLE.CREATE.S.D", "S", durable("E")),
        errors::CONSUMER_DURABLE_NAME_NOT_MATCH_SUBJECT.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.C", "S", durable("E")),
        errors::CONSUMER_DURABLE_NAME_NOT_MATCH_SUBJECT.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S", "S", durable("E")),
        errors::CONSUMER_EPHEMERAL_WITH_DURABLE_NAME.new()
    );
    let multi = ConsumerConfig {
        filter_subjects: vec!["foo.a".to_owned()],
        ..Default::default()
    };
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.C.foo.a", "S", multi),
        errors::CONSUMER_MULTIPLE_FILTERS_NOT_ALLOWED.new()
    );
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.C.foo.a", "S", plain()),
        errors::CONSUMER_CREATE_FILTER_SUBJECT_MISMATCH.new()
    );
    let other = ConsumerConfig {
        filter_subject: "foo.b".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        err("$JS.API.CONSUMER.CREATE.S.C.foo.a", "S", other),
        errors::CONSUMER_CREATE_FILTER_SUBJECT_MISMATCH.new()
    );
}

#[test]
fn single_server_replicas() {
    check_single_server_replicas(&consumer_with(|c| c.replicas = 1)).unwrap();
    assert_err(
        check_single_server_replicas(&consumer_with(|c| c.replicas = 3)),
        errors::STREAM_REPLICAS_NOT_SUPPORTED,
    );
}

#[test]
fn direct_sourcing_consumers() {
    let sourcing = || ConsumerConfig {
        name: "src".to_owned(),
        direct: true,
        sourcing: true,
        ack_policy: AckPolicy::None,
        ack_wait: S,
        max_deliver: 3,
        inactive_threshold: S,
        ..Default::default()
    };
    // Interest stream on a single server: a durable with flow-control acks.
    let mut cfg = sourcing();
    assert_eq!(
        upgrade_direct_sourcing(&mut cfg, RetentionPolicy::Interest, false, "RND"),
        None
    );
    assert!(!cfg.direct);
    assert_eq!(cfg.durable, "src");
    assert_eq!(cfg.name, "src");
    assert_eq!(cfg.ack_policy, AckPolicy::FlowControl);
    assert_eq!(
        (cfg.ack_wait, cfg.max_deliver, cfg.inactive_threshold),
        (0, 0, 0)
    );
    // Limits stream: a unique name.
    let mut cfg = sourcing();
    assert_eq!(
        upgrade_direct_sourcing(&mut cfg, RetentionPolicy::Limits, false, "RND"),
        Some("src-RND".to_owned())
    );
    assert_eq!(cfg.name, "src-RND");
    assert!(cfg.direct);
    // Not a named direct sourcing consumer: untouched.
    let mut cfg = ConsumerConfig {
        sourcing: true,
        ..sourcing()
    };
    cfg.direct = false;
    let before = cfg.clone();
    assert_eq!(
        upgrade_direct_sourcing(&mut cfg, RetentionPolicy::Interest, false, "RND"),
        None
    );
    assert_eq!(cfg, before);
}

#[test]
fn existing_consumer_keeps_pause_and_sourcing_start() {
    let existing = consumer_with(|c| {
        c.pause_until = Some(GoTime::from_unix_nanos(10));
        c.deliver_policy = DeliverPolicy::ByStartSequence;
        c.opt_start_seq = 7;
    });
    let mut cfg = consumer();
    carry_over_existing(&mut cfg, &existing);
    assert_eq!(cfg.pause_until, Some(GoTime::from_unix_nanos(10)));
    assert_eq!(cfg.deliver_policy, DeliverPolicy::All);
    let mut cfg = consumer_with(|c| {
        c.sourcing = true;
        c.pause_until = Some(GoTime::from_unix_nanos(99));
    });
    carry_over_existing(&mut cfg, &existing);
    assert_eq!(cfg.pause_until, Some(GoTime::from_unix_nanos(10)));
    assert_eq!(cfg.deliver_policy, DeliverPolicy::ByStartSequence);
    assert_eq!(cfg.opt_start_seq, 7);
}

#[test]
fn create_action_on_an_existing_consumer() {
    let mut existing = defaulted(consumer(), &stream());
    set_static_consumer_metadata(&mut existing);
    // The same configuration (versioning metadata aside) is fine.
    let mut cfg = defaulted(consumer(), &stream());
    cfg.metadata
        .insert(SERVER_VERSION_METADATA_KEY.to_owned(), "x".to_owned());
    check_create_action(&mut cfg, &existing).unwrap();
    assert_eq!(cfg, existing);
    let mut cfg = defaulted(consumer_with(|c| c.description = "d".to_owned()), &stream());
    assert_err(
        check_create_action(&mut cfg, &existing),
        errors::CONSUMER_ALREADY_EXISTS,
    );
}

fn filtered(filters: &[&str]) -> ConsumerConfig {
    consumer_with(|c| c.filter_subjects = filters.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn work_queue_partitions() {
    let a = filtered(&["foo.a"]);
    let all = consumer();
    let direct = ConsumerConfig {
        direct: true,
        ..consumer()
    };
    let others = [("A", &a), ("DIRECT", &direct)];
    assert!(partition_unique("B", &["foo.b"], &others));
    assert!(!partition_unique("B", &["foo.*"], &others));
    // The consumer itself is skipped (an update).
    assert!(partition_unique("A", &["foo.*"], &others));
    // An unfiltered consumer overlaps everything.
    assert!(!partition_unique("B", &["foo.b"], &[("ALL", &all)]));
    // Nothing to partition.
    assert!(partition_unique("B", &[], &others));
    // Wildcards on both sides.
    let wild = filtered(&["foo.*.bar"]);
    assert!(!partition_unique("B", &["foo.>"], &[("W", &wild)]));

    let wq = work_queue();
    check_work_queue_partition(&filtered(&["foo.b"]), &wq, "B", &others).unwrap();
    assert_err(
        check_work_queue_partition(&filtered(&["foo.>"]), &wq, "B", &others),
        errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE,
    );
    check_work_queue_partition(&filtered(&["foo.>"]), &stream(), "B", &others).unwrap();
}

#[test]
fn work_queue_new_consumer_rules() {
    let wq = work_queue();
    let a = filtered(&["foo.a"]);
    let others = [("A", &a)];
    let run = |cfg: ConsumerConfig, others: &[(&str, &ConsumerConfig)], recovering: bool| {
        check_work_queue_consumer(&cfg, &wq, configured_name(&cfg), others, recovering)
    };
    assert_eq!(
        run(consumer_with(|c| c.ack_policy = AckPolicy::All), &[], false).unwrap_err(),
        errors::CONSUMER_WQ_REQUIRES_EXPLICIT_ACK.new()
    );
    assert_eq!(
        run(
            consumer_with(|c| c.deliver_policy = DeliverPolicy::New),
            &[],
            false
        )
        .unwrap_err(),
        errors::CONSUMER_WQ_CONSUMER_NOT_DELIVER_ALL.new()
    );
    assert_eq!(run(consumer(), &[], false), Ok(None));
    assert_eq!(
        run(push(|c| c.ack_policy = AckPolicy::FlowControl), &[], false),
        Ok(None)
    );
    assert_eq!(
        run(
            consumer_with(|c| c.durable = "B".to_owned()),
            &others,
            false
        )
        .unwrap_err(),
        errors::CONSUMER_WQ_MULTIPLE_UNFILTERED.new()
    );
    let b = consumer_with(|c| {
        c.durable = "B".to_owned();
        c.filter_subject = "foo.*".to_owned();
    });
    assert_eq!(
        run(b.clone(), &others, false).unwrap_err(),
        errors::CONSUMER_WQ_CONSUMER_NOT_UNIQUE.new()
    );
    assert_eq!(
        run(b, &others, true),
        Ok(Some(
            "Consumer \"S\" > \"B\" has a filter subject that overlaps with other consumers, \
             which is not allowed for a stream with WorkQueue policy, it should be \
             administratively deleted"
                .to_owned()
        ))
    );
    let c = consumer_with(|c| {
        c.durable = "B".to_owned();
        c.filter_subject = "foo.b".to_owned();
    });
    assert_eq!(run(c, &others, false), Ok(None));
    // Direct and sourcing consumers, and their presence, are not limited.
    let direct = push(|c| {
        c.durable = String::new();
        c.direct = true;
        c.ack_policy = AckPolicy::None;
    });
    assert_eq!(run(direct.clone(), &others, false), Ok(None));
    assert_eq!(run(consumer(), &[("D", &direct)], false), Ok(None));
    // Not a work queue: no rules.
    assert_eq!(
        check_work_queue_consumer(
            &consumer_with(|c| c.ack_policy = AckPolicy::None),
            &stream(),
            "C",
            &others,
            false
        ),
        Ok(None)
    );
}

#[test]
fn max_consumers_of_stream_and_account() {
    let s = stream_with(|s| s.max_consumers = 2);
    check_max_consumers(&s, &account(), 1).unwrap();
    assert_err(
        check_max_consumers(&s, &account(), 2),
        errors::MAXIMUM_CONSUMERS_LIMIT,
    );
    let acc = JetStreamAccountLimits {
        max_consumers: 1,
        ..JetStreamAccountLimits::UNLIMITED
    };
    assert_err(
        check_max_consumers(&s, &acc, 1),
        errors::MAXIMUM_CONSUMERS_LIMIT,
    );
    // The stream sets none: the account's applies.
    let unlimited = stream_with(|s| s.max_consumers = -1);
    assert_err(
        check_max_consumers(&unlimited, &acc, 1),
        errors::MAXIMUM_CONSUMERS_LIMIT,
    );
    check_max_consumers(&unlimited, &account(), 1000).unwrap();
    // A higher account limit does not raise the stream's.
    let acc = JetStreamAccountLimits {
        max_consumers: 10,
        ..JetStreamAccountLimits::UNLIMITED
    };
    assert_err(
        check_max_consumers(&s, &acc, 2),
        errors::MAXIMUM_CONSUMERS_LIMIT,
    );
    let a = consumer();
    let d = ConsumerConfig {
        direct: true,
        ..consumer()
    };
    let so = ConsumerConfig {
        sourcing: true,
        ..consumer()
    };
    assert_eq!(limitable_consumers(&[("A", &a), ("D", &d), ("S", &so)]), 1);
}

#[test]
fn consumer_names() {
    check_consumer_name(&consumer(), "C").unwrap();
    let long = "x".repeat(256);
    assert_err_text(
        check_consumer_name(&consumer_with(|c| c.durable = long.clone()), &long),
        errors::CONSUMER_NAME_TOO_LONG,
        "consumer name is too long, maximum allowed is 255",
    );
    // Only durable names have a length limit here.
    let eph = ConsumerConfig {
        name: long.clone(),
        ..Default::default()
    };
    check_consumer_name(&eph, &long).unwrap();
    assert_err(
        check_consumer_name(&ConsumerConfig::default(), "a.b"),
        errors::CONSUMER_BAD_DURABLE_NAME,
    );
}

#[test]
fn replicas_of_a_consumer() {
    let s = stream_with(|s| s.replicas = 3);
    assert_eq!(consumer_replicas(&ConsumerConfig::default(), &s), 1);
    assert_eq!(consumer_replicas(&consumer(), &s), 3);
    assert_eq!(consumer_replicas(&consumer_with(|c| c.replicas = 2), &s), 2);
    assert_eq!(consumer_replicas(&consumer_with(|c| c.replicas = 5), &s), 3);
    let interest = stream_with(|s| {
        s.replicas = 3;
        s.retention = RetentionPolicy::Interest;
    });
    assert_eq!(consumer_replicas(&ConsumerConfig::default(), &interest), 3);
}

#[test]
fn inactive_thresholds() {
    // Ephemerals default to 5s, stamped into the configuration.
    let mut eph = ConsumerConfig::default();
    assert_eq!(inactive_threshold(&mut eph, 0), 5 * S + 100 * MS);
    assert_eq!(eph.inactive_threshold, 5 * S);
    let mut eph = ConsumerConfig::default();
    assert_eq!(inactive_threshold(&mut eph, 899), 5 * S + 999 * MS);
    // A pull consumer's own threshold gets the jitter, a push consumer's does not.
    let mut pull = consumer_with(|c| c.inactive_threshold = 10 * S);
    assert_eq!(inactive_threshold(&mut pull, 50), 10 * S + 150 * MS);
    let mut pushed = push(|c| c.inactive_threshold = 10 * S);
    assert_eq!(inactive_threshold(&mut pushed, 50), 10 * S);
    // Durables without one are never deleted.
    let mut durable = consumer();
    assert_eq!(inactive_threshold(&mut durable, 50), 0);
    assert_eq!(durable.inactive_threshold, 0);
}

#[test]
fn versioning_metadata() {
    let mut cfg = consumer();
    cfg.metadata
        .insert(SERVER_LEVEL_METADATA_KEY.to_owned(), "9".to_owned());
    set_static_consumer_metadata(&mut cfg);
    assert_eq!(
        cfg.metadata,
        BTreeMap::from([(REQUIRED_LEVEL_METADATA_KEY.to_owned(), "0".to_owned())])
    );
    let level = |f: fn(&mut ConsumerConfig)| {
        let mut c = consumer();
        f(&mut c);
        required_api_level(&c)
    };
    assert_eq!(
        level(|c| c.pause_until = Some(GoTime::from_unix_nanos(1))),
        1
    );
    assert_eq!(level(|c| c.pause_until = Some(GoTime::ZERO)), 0);
    assert_eq!(level(|c| c.priority_policy = PriorityPolicy::Overflow), 1);
    assert_eq!(level(|c| c.pinned_ttl = 1), 1);
    assert_eq!(level(|c| c.priority_groups = vec!["A".to_owned()]), 1);
    assert_eq!(level(|c| c.ack_policy = AckPolicy::FlowControl), 4);

    let shown = with_dynamic_consumer_metadata(&cfg);
    assert_eq!(shown.metadata[SERVER_VERSION_METADATA_KEY], crate::VERSION);
    assert_eq!(shown.metadata[SERVER_LEVEL_METADATA_KEY], "4");
    assert_eq!(shown.metadata[REQUIRED_LEVEL_METADATA_KEY], "0");

    let mut copy = shown.clone();
    copy_consumer_metadata(&mut copy, None);
    assert!(copy.metadata.is_empty());
    let mut copy = shown;
    let prev = consumer_with(|c| {
        c.metadata
            .insert(REQUIRED_LEVEL_METADATA_KEY.to_owned(), "1".to_owned());
    });
    copy_consumer_metadata(&mut copy, Some(&prev));
    assert_eq!(
        copy.metadata,
        BTreeMap::from([(REQUIRED_LEVEL_METADATA_KEY.to_owned(), "1".to_owned())])
    );
}

#[test]
fn subject_filters_order() {
    let cfg = consumer_with(|c| {
        c.filter_subjects = vec!["a".to_owned(), "b".to_owned()];
        c.filter_subject = "c".to_owned();
    });
    assert_eq!(subject_filters(&cfg), vec!["a", "b", "c"]);
    assert!(subject_filters(&consumer()).is_empty());
}
