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

mod requests;

#[test]
fn a_purged_subject_covers_filters_equal_to_it_or_within_it() {
    assert!(!is_equal_or_subset_match(&[], "foo.bar"));
    assert!(is_equal_or_subset_match(&["foo.baz", "foo.bar"], "foo.bar"));
    assert!(!is_equal_or_subset_match(
        &["foo.baz", "foo.bar"],
        "foo.ban"
    ));
    assert!(is_equal_or_subset_match(&["bar.>", "foo.>"], "foo.>"));
    assert!(is_equal_or_subset_match(
        &["bar.foo.>", "foo.bar.>"],
        "bar.>"
    ));
    assert!(!is_equal_or_subset_match(&["bar.>", "foo.>"], "baz.foo.>"));
    // A filter wider than the subject is not within it.
    assert!(!is_equal_or_subset_match(&["foo.>"], "foo.bar"));
}

#[test]
fn filters_equal_to_the_stream_subjects_in_any_order_are_no_filter() {
    let subjects = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(!is_filtered(&subjects(&["one"]), &[]));
    assert!(!is_filtered(&subjects(&["one"]), &["one"]));
    assert!(is_filtered(&subjects(&["one.>"]), &["one.filter"]));
    assert!(!is_filtered(
        &subjects(&["multi", "foo", "bar.>"]),
        &["multi", "bar.>", "foo"]
    ));
    assert!(is_filtered(&subjects(&["events", "data"]), &["data"]));
    assert!(is_filtered(&subjects(&["a", "b"]), &["a", "c"]));
}
