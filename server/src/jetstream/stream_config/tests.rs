//! The stream configuration checks, one test per behaviour; the expected errors are the
//! whole API error (code, error code and description) Go answers.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::*;
use crate::jetstream::api::errors::ErrorCode;
use crate::jetstream::api::types::{
    ExternalStream, RePublish, StreamConsumerSource, StreamSource, SubjectTransformConfig,
};
use crate::monitor::gotime::GoTime;

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;

fn named(name: &str) -> StreamConfig {
    StreamConfig {
        name: name.to_owned(),
        ..Default::default()
    }
}

fn stream() -> StreamConfig {
    named("S")
}

fn with(f: impl FnOnce(&mut StreamConfig)) -> StreamConfig {
    let mut c = stream();
    f(&mut c);
    c
}

fn source(name: &str) -> StreamSource {
    StreamSource {
        name: name.to_owned(),
        ..Default::default()
    }
}

fn transform(src: &str, dest: &str) -> SubjectTransformConfig {
    SubjectTransformConfig {
        source: src.to_owned(),
        destination: dest.to_owned(),
    }
}

fn external(api: &str, deliver: &str) -> Option<ExternalStream> {
    Some(ExternalStream {
        api_prefix: api.to_owned(),
        deliver_prefix: deliver.to_owned(),
    })
}

fn durable(name: &str, deliver: &str) -> Option<StreamConsumerSource> {
    Some(StreamConsumerSource {
        name: name.to_owned(),
        deliver_subject: deliver.to_owned(),
    })
}

fn check(c: &StreamConfig) -> Result<StreamConfig, ApiError> {
    check_stream_config(c, &ServerLimits::default(), false)
}

fn check_pedantic(c: &StreamConfig) -> Result<StreamConfig, ApiError> {
    check_stream_config(c, &ServerLimits::default(), true)
}

fn check_with(c: &StreamConfig, account: &FakeAccount) -> Result<StreamConfig, ApiError> {
    check_stream_config_in(c, &ServerLimits::default(), false, account)
}

fn ok(r: Result<StreamConfig, ApiError>) -> StreamConfig {
    match r {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[track_caller]
fn assert_err(r: Result<StreamConfig, ApiError>, want: ApiError) {
    match r {
        Ok(c) => panic!("expected {want}, got a configuration: {c:?}"),
        Err(e) => assert_eq!(e, want),
    }
}

#[track_caller]
fn assert_invalid(r: Result<StreamConfig, ApiError>, text: &str) {
    assert_err(r, errors::STREAM_INVALID_CONFIG.with_err(&text));
}

#[track_caller]
fn assert_code(r: Result<StreamConfig, ApiError>, code: ErrorCode) {
    assert_err(r, code.new());
}

#[derive(Default)]
struct FakeAccount {
    streams: BTreeMap<String, StreamConfig>,
    limits: Option<JetStreamAccountLimits>,
}

impl FakeAccount {
    fn with_stream(mut self, c: StreamConfig) -> Self {
        self.streams.insert(c.name.clone(), c);
        self
    }
}

impl AccountView for FakeAccount {
    fn stream_config(&self, name: &str) -> Option<StreamConfig> {
        self.streams.get(name).cloned()
    }
    fn stream_limits(&self, _replicas: i64) -> Option<JetStreamAccountLimits> {
        self.limits
    }
}

// ---- name, description, metadata ----

#[test]
fn stream_name_must_be_present_and_free_of_dots_wildcards_separators_and_whitespace() {
    let text = "stream name is required and can not contain '.', '*', '>', '\\', '/'";
    for name in [
        "", "a.b", "a*b", "a>b", "a\\b", "a/b", "a b", "a\tb", "a\nb", "a\rb", "a\x0cb",
    ] {
        assert_invalid(check(&named(name)), text);
    }
    // Go's list of whitespace leaves out the vertical tab.
    for name in ["ok-name_1:x", "a\x0bb", "ünïcode"] {
        ok(check(&named(name)));
    }
}

#[test]
fn stream_name_longer_than_255_bytes_is_refused() {
    ok(check(&named(&"x".repeat(255))));
    assert_invalid(
        check(&named(&"x".repeat(256))),
        "stream name is too long, maximum allowed is 255",
    );
}

#[test]
fn description_longer_than_4k_is_refused() {
    ok(check(&with(|c| c.description = "d".repeat(4096))));
    assert_invalid(
        check(&with(|c| c.description = "d".repeat(4097))),
        "stream description is too long, maximum allowed is 4096",
    );
}

#[test]
fn metadata_keys_and_values_together_over_128k_are_refused() {
    let sized = |n: usize| {
        with(|c| {
            c.metadata.insert("k".into(), "v".repeat(n - 1 - 2));
            c.metadata.insert("k2".into(), String::new());
        })
    };
    ok(check(&sized(131_072)));
    assert_invalid(
        check(&sized(131_073)),
        "stream metadata exceeds maximum size of 131072 bytes",
    );
}

#[test]
fn name_is_checked_before_description_and_metadata() {
    let c = with(|c| {
        c.name = "a.b".into();
        c.description = "d".repeat(5000);
    });
    assert_invalid(
        check(&c),
        "stream name is required and can not contain '.', '*', '>', '\\', '/'",
    );
}

// ---- replicas and limits ----

#[test]
fn replicas_default_to_one() {
    assert_eq!(ok(check(&stream())).replicas, 1);
    assert_eq!(ok(check(&with(|c| c.replicas = 3))).replicas, 3);
}

#[test]
fn replicas_above_five_are_refused() {
    ok(check(&with(|c| c.replicas = 5)));
    assert_invalid(check(&with(|c| c.replicas = 6)), "maximum replicas is 5");
}

#[test]
fn negative_replicas_are_refused_with_their_own_error() {
    assert_code(
        check(&with(|c| c.replicas = -1)),
        errors::REPLICAS_COUNT_CANNOT_BE_NEGATIVE,
    );
}

#[test]
fn replicas_are_checked_before_limits() {
    let c = with(|c| {
        c.replicas = 9;
        c.max_age = -1;
    });
    assert_invalid(check(&c), "maximum replicas is 5");
}

#[test]
fn unset_or_too_negative_limits_become_unlimited() {
    for value in [0, -2, -100] {
        let c = ok(check(&with(|c| {
            c.max_msgs = value;
            c.max_msgs_per = value;
            c.max_bytes = value;
            c.max_msg_size = value as i32;
            c.max_consumers = value;
        })));
        assert_eq!(
            (
                c.max_msgs,
                c.max_msgs_per,
                c.max_bytes,
                c.max_msg_size,
                c.max_consumers
            ),
            (-1, -1, -1, -1, -1),
            "from {value}"
        );
    }
    let c = ok(check(&with(|c| {
        c.max_msgs = 10;
        c.max_msgs_per = -1;
        c.max_bytes = 1024;
        c.max_msg_size = 512;
        c.max_consumers = 3;
    })));
    assert_eq!(
        (
            c.max_msgs,
            c.max_msgs_per,
            c.max_bytes,
            c.max_msg_size,
            c.max_consumers
        ),
        (10, -1, 1024, 512, 3)
    );
}

#[test]
fn pedantic_mode_refuses_limits_below_minus_one() {
    type Set = fn(&mut StreamConfig);
    let cases: [(Set, &str); 5] = [
        (|c| c.max_msgs = -2, "max_msgs must be set to -1"),
        (
            |c| c.max_msgs_per = -2,
            "max_msgs_per_subject must be set to -1",
        ),
        (|c| c.max_bytes = -2, "max_bytes must be set to -1"),
        (|c| c.max_msg_size = -2, "max_msg_size must be set to -1"),
        (|c| c.max_consumers = -2, "max_consumers must be set to -1"),
    ];
    for (set, text) in cases {
        let mut c = stream();
        set(&mut c);
        assert_err(check_pedantic(&c), errors::PEDANTIC.with_err(&text));
    }
    // Zero is "unset", not a value to correct: pedantic mode fills it in too.
    let c = ok(check_pedantic(&stream()));
    assert_eq!((c.max_msgs, c.max_bytes), (-1, -1));
}

#[test]
fn negative_max_age_is_refused() {
    assert_invalid(
        check(&with(|c| c.max_age = -1)),
        "max age can not be negative",
    );
}

#[test]
fn max_age_below_100ms_is_refused() {
    assert_invalid(
        check(&with(|c| c.max_age = 99 * MS)),
        "max age needs to be >= 100ms",
    );
    ok(check(&with(|c| c.max_age = 100 * MS)));
}

// ---- duplicate window ----

#[test]
fn duplicate_window_defaults_to_two_minutes() {
    assert_eq!(ok(check(&stream())).duplicates, 120 * S);
    assert_eq!(
        ok(check(&with(|c| c.max_age = 300 * S))).duplicates,
        120 * S
    );
}

#[test]
fn duplicate_window_default_is_capped_by_the_server_limit() {
    let limits = ServerLimits {
        duplicates: 30 * S,
        ..Default::default()
    };
    let c = check_stream_config(&stream(), &limits, false).unwrap();
    assert_eq!(c.duplicates, 30 * S);
    assert_err(
        check_stream_config(&stream(), &limits, true),
        errors::PEDANTIC.with_err(&"duplicate window limits are higher than current limits"),
    );
}

#[test]
fn duplicate_window_default_follows_a_shorter_max_age() {
    assert_eq!(ok(check(&with(|c| c.max_age = S))).duplicates, S);
    assert_err(
        check_pedantic(&with(|c| c.max_age = S)),
        errors::PEDANTIC.with_err(&"duplicate window cannot be bigger than max age"),
    );
}

#[test]
fn mirrors_and_sources_get_no_default_duplicate_window() {
    let mirror = ok(check(&with(|c| c.mirror = Some(source("O")))));
    assert_eq!(mirror.duplicates, 0);
    let sourcing = ok(check(&with(|c| c.sources = vec![source("O")])));
    assert_eq!(sourcing.duplicates, 0);
}

#[test]
fn negative_duplicate_window_is_refused() {
    assert_invalid(
        check(&with(|c| c.duplicates = -1)),
        "duplicates window can not be negative",
    );
}

#[test]
fn duplicate_window_longer_than_max_age_is_refused() {
    let c = with(|c| {
        c.max_age = S;
        c.duplicates = 2 * S;
    });
    assert_invalid(
        check(&c),
        "duplicates window can not be larger then max age",
    );
}

#[test]
fn duplicate_window_above_the_server_limit_is_refused() {
    let limits = ServerLimits {
        duplicates: 60 * S,
        ..Default::default()
    };
    let c = with(|c| c.duplicates = 90 * S);
    assert_invalid(
        check_stream_config(&c, &limits, false),
        "duplicates window can not be larger then server limit of 1m0s",
    );
}

#[test]
fn duplicate_window_below_100ms_is_refused() {
    assert_invalid(
        check(&with(|c| c.duplicates = 99 * MS)),
        "duplicates window needs to be >= 100ms",
    );
    assert_eq!(
        ok(check(&with(|c| c.duplicates = 100 * MS))).duplicates,
        100 * MS
    );
}

// ---- features ----

#[test]
fn rollups_need_the_purge_permission() {
    let c = with(|c| {
        c.deny_purge = true;
        c.allow_rollup = true;
    });
    assert_invalid(check(&c), "roll-ups require the purge permission");
}

#[test]
fn counters_refuse_discard_new_ttls_schedules_and_non_limits_retention() {
    type Set = fn(&mut StreamConfig);
    let cases: [(Set, &str); 5] = [
        (
            |c| c.discard = DiscardPolicy::New,
            "counter stream cannot use discard new",
        ),
        (
            |c| c.allow_msg_ttl = true,
            "counter stream cannot use message TTLs",
        ),
        (
            |c| c.allow_msg_schedules = true,
            "counter stream cannot use message schedules",
        ),
        (
            |c| c.retention = RetentionPolicy::Interest,
            "counter stream can only use limits retention",
        ),
        (
            |c| c.retention = RetentionPolicy::WorkQueue,
            "counter stream can only use limits retention",
        ),
    ];
    for (set, text) in cases {
        let mut c = with(|c| c.allow_msg_counter = true);
        set(&mut c);
        assert_invalid(check(&c), text);
    }
    ok(check(&with(|c| c.allow_msg_counter = true)));
}

#[test]
fn discard_new_per_subject_needs_discard_new_and_a_per_subject_limit() {
    assert_invalid(
        check(&with(|c| {
            c.discard_new_per = true;
            c.max_msgs_per = 1;
        })),
        "discard new per subject requires discard new policy to be set",
    );
    assert_invalid(
        check(&with(|c| {
            c.discard_new_per = true;
            c.discard = DiscardPolicy::New;
        })),
        "discard new per subject requires max msgs per subject > 0",
    );
    ok(check(&with(|c| {
        c.discard_new_per = true;
        c.discard = DiscardPolicy::New;
        c.max_msgs_per = 1;
    })));
}

#[test]
fn subject_delete_marker_ttl_must_be_at_least_a_second() {
    assert_invalid(
        check(&with(|c| c.subject_delete_marker_ttl = 999 * MS)),
        "subject delete marker TTL must be at least 1 second",
    );
}

#[test]
fn negative_subject_delete_marker_ttl_is_refused() {
    assert_invalid(
        check(&with(|c| c.subject_delete_marker_ttl = -1)),
        "subject delete marker TTL must not be negative",
    );
}

#[test]
fn subject_delete_markers_turn_on_message_ttls_and_rollups() {
    let c = ok(check(&with(|c| {
        c.subject_delete_marker_ttl = S;
        c.deny_purge = true;
    })));
    assert!(c.allow_msg_ttl);
    assert!(c.allow_rollup);
    assert!(!c.deny_purge);
}

#[test]
fn pedantic_subject_delete_markers_need_ttls_and_rollups_already_on() {
    assert_invalid(
        check_pedantic(&with(|c| {
            c.subject_delete_marker_ttl = S;
            c.allow_rollup = true;
        })),
        "subject delete marker cannot be set if message TTLs are disabled",
    );
    assert_invalid(
        check_pedantic(&with(|c| {
            c.subject_delete_marker_ttl = S;
            c.allow_msg_ttl = true;
        })),
        "subject delete marker cannot be set if roll-ups are disabled",
    );
    ok(check_pedantic(&with(|c| {
        c.subject_delete_marker_ttl = S;
        c.allow_msg_ttl = true;
        c.allow_rollup = true;
    })));
}

#[test]
fn message_schedules_refuse_discard_new() {
    assert_invalid(
        check(&with(|c| {
            c.allow_msg_schedules = true;
            c.discard = DiscardPolicy::New;
        })),
        "message scheduling cannot use discard new",
    );
}

#[test]
fn message_schedules_turn_on_rollups() {
    let c = ok(check(&with(|c| {
        c.allow_msg_schedules = true;
        c.deny_purge = true;
    })));
    assert!(c.allow_rollup);
    assert!(!c.deny_purge);
    assert_invalid(
        check_pedantic(&with(|c| c.allow_msg_schedules = true)),
        "message scheduling cannot be set if roll-ups are disabled",
    );
}

#[test]
fn async_persist_needs_one_file_replica_without_atomic_publish() {
    let asynchronous = |f: fn(&mut StreamConfig)| {
        with(|c| {
            c.persist_mode = PersistMode::Async;
            f(c);
        })
    };
    assert_invalid(
        check(&asynchronous(|c| c.storage = StorageType::Memory)),
        "async persist mode is only supported on file storage",
    );
    assert_invalid(
        check(&asynchronous(|c| c.replicas = 3)),
        "async persist mode is not supported on replicated streams",
    );
    assert_invalid(
        check(&asynchronous(|c| c.allow_atomic_publish = true)),
        "async persist mode is not supported with atomic batch publish",
    );
    ok(check(&asynchronous(|_| {})));
}

// ---- mirrors ----

fn mirroring(f: impl FnOnce(&mut StreamConfig, &mut StreamSource)) -> StreamConfig {
    let mut c = stream();
    let mut m = source("O");
    f(&mut c, &mut m);
    c.mirror = Some(m);
    c
}

#[test]
fn mirrors_refuse_settings_that_would_diverge_from_the_origin() {
    type Set = fn(&mut StreamConfig);
    let cases: [(Set, ErrorCode); 7] = [
        (|c| c.first_seq = 10, errors::MIRROR_WITH_FIRST_SEQ),
        (
            |c| c.subjects = vec!["foo".into()],
            errors::MIRROR_WITH_SUBJECTS,
        ),
        (
            |c| c.sources = vec![source("X")],
            errors::MIRROR_WITH_SOURCES,
        ),
        (|c| c.allow_msg_counter = true, errors::MIRROR_WITH_COUNTERS),
        (
            |c| c.allow_atomic_publish = true,
            errors::MIRROR_WITH_ATOMIC_PUBLISH,
        ),
        (
            |c| c.allow_batch_publish = true,
            errors::MIRROR_WITH_BATCH_PUBLISH,
        ),
        (
            |c| c.allow_msg_schedules = true,
            errors::MIRROR_WITH_MSG_SCHEDULES,
        ),
    ];
    for (set, code) in cases {
        assert_code(check(&mirroring(|c, _| set(c))), code);
    }
}

#[test]
fn mirror_durable_consumer_must_be_a_plain_named_push_consumer() {
    type Set = fn(&mut StreamSource);
    let bad: [Set; 7] = [
        |m| m.consumer = durable("a.b", "deliver"),
        |m| m.consumer = durable("", "deliver"),
        |m| m.consumer = durable("C", "deliver.*"),
        |m| m.consumer = durable("C", ""),
        |m| m.opt_start_seq = 5,
        |m| m.opt_start_time = Some(GoTime::from_unix_nanos(1)),
        |m| m.filter_subject = "foo".into(),
    ];
    for set in bad {
        let c = mirroring(|_, m| {
            m.consumer = durable("C", "deliver");
            set(m);
        });
        assert_code(check(&c), errors::MIRROR_DURABLE_CONSUMER_CFG_INVALID);
    }
    ok(check(&mirroring(|_, m| {
        m.consumer = durable("C", "deliver")
    })));
}

#[test]
fn mirror_filter_and_transforms_are_exclusive() {
    let c = mirroring(|_, m| {
        m.filter_subject = "foo".into();
        m.subject_transforms = vec![transform("bar", "baz")];
    });
    assert_code(check(&c), errors::MIRROR_MULTIPLE_FILTERS_NOT_ALLOWED);
}

#[test]
fn mirrors_refuse_subject_delete_markers() {
    let c = mirroring(|c, _| c.subject_delete_marker_ttl = S);
    assert_invalid(check(&c), "subject delete markers forbidden on mirrors");
}

#[test]
fn mirror_transforms_must_be_valid_and_not_overlap() {
    assert_err(
        check(&mirroring(|_, m| {
            m.subject_transforms = vec![transform("foo..bar", "")]
        })),
        errors::MIRROR_INVALID_SUBJECT_FILTER.with_err(&"invalid subject foo..bar"),
    );
    assert_err(
        check(&mirroring(|_, m| {
            m.subject_transforms = vec![transform("foo", "x.{{bogus()}}")]
        })),
        errors::MIRROR_INVALID_TRANSFORM_DESTINATION
            .with_err(&"invalid mapping destination: unknown function in {{bogus()}}"),
    );
    assert_code(
        check(&mirroring(|_, m| {
            m.subject_transforms = vec![transform("foo.*", ""), transform("*.bar", "")]
        })),
        errors::MIRROR_OVERLAPPING_SUBJECT_FILTERS,
    );
    let c = ok(check(&mirroring(|_, m| {
        m.subject_transforms = vec![
            transform("foo.*", "x.{{wildcard(1)}}"),
            transform("bar", ""),
        ]
    })));
    assert!(c.subjects.is_empty());
}

#[test]
fn mirror_name_must_be_valid_unless_external() {
    assert_code(
        check(&mirroring(|_, m| m.name = "a.b".into())),
        errors::MIRROR_INVALID_STREAM_NAME,
    );
    ok(check(&mirroring(|_, m| {
        m.name = "a.b".into();
        m.external = external("$JS.hub.API", "");
    })));
}

#[test]
fn mirror_max_msg_size_must_hold_the_origins_messages() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        max_msg_size: 1000,
        subjects: vec!["o".into()],
        ..named("O")
    });
    assert_code(
        check_with(&mirroring(|c, _| c.max_msg_size = 500), &account),
        errors::MIRROR_MAX_MESSAGE_SIZE_TOO_BIG,
    );
    ok(check_with(
        &mirroring(|c, _| c.max_msg_size = 1000),
        &account,
    ));
    ok(check_with(&mirroring(|_, _| {}), &account));
    // An origin that does not exist yet is not held against the mirror.
    ok(check(&mirroring(|c, _| c.max_msg_size = 500)));
}

#[test]
fn mirror_serves_direct_gets_as_its_origin_does() {
    let direct = FakeAccount::default().with_stream(StreamConfig {
        allow_direct: true,
        ..named("O")
    });
    let plain = FakeAccount::default().with_stream(named("O"));
    assert!(ok(check_with(&mirroring(|_, _| {}), &direct)).mirror_direct);
    assert!(
        !ok(check_with(
            &mirroring(|c, _| c.mirror_direct = true),
            &plain
        ))
        .mirror_direct
    );
    // Without a visible origin the request's value stays.
    assert!(ok(check(&mirroring(|c, _| c.mirror_direct = true))).mirror_direct);
    assert_err(
        check_stream_config_in(
            &mirroring(|_, _| {}),
            &ServerLimits::default(),
            true,
            &direct,
        ),
        errors::PEDANTIC.with_err(&"origin stream has direct get set, mirror has it disabled"),
    );
}

// ---- sources ----

fn sourcing(sources: Vec<StreamSource>) -> StreamConfig {
    with(|c| c.sources = sources)
}

#[test]
fn sources_refuse_message_schedules() {
    let c = with(|c| {
        c.sources = vec![source("O")];
        c.allow_msg_schedules = true;
    });
    assert_code(check(&c), errors::SOURCE_WITH_MSG_SCHEDULES);
}

#[test]
fn source_name_must_be_valid() {
    for name in ["", "a.b", "a b"] {
        assert_code(
            check(&sourcing(vec![source(name)])),
            errors::SOURCE_INVALID_STREAM_NAME,
        );
    }
}

#[test]
fn the_same_source_twice_is_refused() {
    assert_code(
        check(&sourcing(vec![source("O"), source("O")])),
        errors::SOURCE_DUPLICATE_DETECTED,
    );
    // No filter and `>` take the same messages.
    let all = StreamSource {
        filter_subject: ">".into(),
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![source("O"), all])),
        errors::SOURCE_DUPLICATE_DETECTED,
    );
    let empty_transform = StreamSource {
        subject_transforms: vec![transform("", "")],
        ..source("O")
    };
    let all_transform = StreamSource {
        subject_transforms: vec![transform(">", ">")],
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![empty_transform, all_transform])),
        errors::SOURCE_DUPLICATE_DETECTED,
    );
    // Other filters, other domains or other durable consumers are other sources.
    let a = StreamSource {
        filter_subject: "a".into(),
        ..source("O")
    };
    let b = StreamSource {
        filter_subject: "b".into(),
        ..source("O")
    };
    let remote = StreamSource {
        external: external("$JS.hub.API", ""),
        ..source("O")
    };
    let via_consumer = StreamSource {
        consumer: durable("C", "deliver"),
        ..source("O")
    };
    ok(check(&sourcing(vec![
        source("O"),
        a,
        b,
        remote,
        via_consumer,
    ])));
}

#[test]
fn source_filter_and_transforms_are_exclusive() {
    let s = StreamSource {
        filter_subject: "foo".into(),
        subject_transforms: vec![transform("bar", "")],
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![s])),
        errors::SOURCE_MULTIPLE_FILTERS_NOT_ALLOWED,
    );
}

#[test]
fn source_transforms_must_be_valid_and_not_contain_each_other() {
    let transforms = |t: Vec<SubjectTransformConfig>| {
        sourcing(vec![StreamSource {
            subject_transforms: t,
            ..source("O")
        }])
    };
    assert_err(
        check(&transforms(vec![transform("foo..bar", "")])),
        errors::SOURCE_INVALID_SUBJECT_FILTER.with_err(&"invalid subject foo..bar"),
    );
    assert_err(
        check(&transforms(vec![transform("foo", "x.{{bogus()}}")])),
        errors::SOURCE_INVALID_TRANSFORM_DESTINATION
            .with_err(&"invalid mapping destination: unknown function in {{bogus()}}"),
    );
    assert_err(
        check(&transforms(vec![transform("foo.*", "bar.>")])),
        errors::SOURCE_INVALID_TRANSFORM_DESTINATION.with_err(&"invalid subject"),
    );
    assert_code(
        check(&transforms(vec![
            transform("foo.*", ""),
            transform("foo.bar", ""),
        ])),
        errors::SOURCE_OVERLAPPING_SUBJECT_FILTERS,
    );
    // Sources only refuse a filter inside another; merely colliding filters are kept
    // (mirrors refuse those too).
    ok(check(&transforms(vec![
        transform("foo.*", ""),
        transform("*.bar", ""),
    ])));
}

#[test]
fn source_durable_consumer_must_be_plain_and_not_shared() {
    let bad = StreamSource {
        consumer: durable("C", "deliver.>"),
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![bad])),
        errors::SOURCE_DURABLE_CONSUMER_CFG_INVALID,
    );
    let started = StreamSource {
        consumer: durable("C", "deliver"),
        opt_start_seq: 2,
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![started])),
        errors::SOURCE_DURABLE_CONSUMER_CFG_INVALID,
    );
    let part = |filter: &str| StreamSource {
        consumer: durable("C", "deliver"),
        subject_transforms: vec![transform(filter, "")],
        ..source("O")
    };
    assert_code(
        check(&sourcing(vec![part("a.>"), part("b.>")])),
        errors::SOURCE_DURABLE_CONSUMER_DUPLICATE_DETECTED,
    );
}

#[test]
fn source_max_msg_size_must_hold_the_sourced_messages() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        max_msg_size: 1000,
        ..named("O")
    });
    let c = with(|c| {
        c.sources = vec![source("O")];
        c.max_msg_size = 999;
    });
    assert_code(
        check_with(&c, &account),
        errors::SOURCE_MAX_MESSAGE_SIZE_TOO_BIG,
    );
    // External sources are not looked up.
    let c = with(|c| {
        c.sources = vec![StreamSource {
            external: external("$JS.hub.API", ""),
            ..source("O")
        }];
        c.max_msg_size = 999;
    });
    ok(check_with(&c, &account));
}

#[test]
fn transform_errors_carry_the_mapping_errors_text() {
    let sourced = |t: SubjectTransformConfig| {
        sourcing(vec![StreamSource {
            subject_transforms: vec![t],
            ..source("mapping")
        }])
    };
    assert_err(
        check(&sourced(transform(
            "events.*",
            "events.{{wildcard(1)}}{{split(3,1)}}",
        ))),
        errors::SOURCE_INVALID_TRANSFORM_DESTINATION.with_err(
            &"invalid mapping destination: too many arguments passed to the function in {{wildcard(1)}}{{split(3,1)}}",
        ),
    );
    assert_err(
        check(&sourced(transform("events.>.*", "events.{{split(1,1)}}"))),
        errors::SOURCE_INVALID_SUBJECT_FILTER.with_err(&"invalid subject events.>.*"),
    );
    assert_err(
        check(&sourced(transform("src", ".invalid"))),
        errors::SOURCE_INVALID_TRANSFORM_DESTINATION
            .with_err(&"invalid mapping destination: invalid transform"),
    );
    assert_err(
        check(&mirroring(|_, m| {
            m.name = "mapping".into();
            m.subject_transforms = vec![transform("events.*", "events.{{split(3,1)}}")];
        })),
        errors::MIRROR_INVALID_TRANSFORM_DESTINATION.with_err(
            &"invalid mapping destination: wildcard index out of range in {{split(3,1)}}: [3]",
        ),
    );
    assert_err(
        check(&with(|c| {
            c.subject_transform = Some(transform("events.*", "events.{{split(3,1)}}"))
        })),
        errors::STREAM_TRANSFORM_INVALID_DESTINATION.with_err(
            &"invalid mapping destination: wildcard index out of range in {{split(3,1)}}: [3]",
        ),
    );
}

#[test]
fn external_sources_are_checked_like_local_ones() {
    for ext in [None, external("", "")] {
        let with_source = |s: StreamSource| {
            sourcing(vec![StreamSource {
                external: ext.clone(),
                ..s
            }])
        };
        assert_code(
            check(&with_source(StreamSource {
                filter_subject: "filter".into(),
                subject_transforms: vec![transform("filter", "")],
                ..source("ORIGIN")
            })),
            errors::SOURCE_MULTIPLE_FILTERS_NOT_ALLOWED,
        );
        assert_err(
            check(&with_source(StreamSource {
                subject_transforms: vec![transform(".invalid", "")],
                ..source("ORIGIN")
            })),
            errors::SOURCE_INVALID_SUBJECT_FILTER.with_err(&"invalid subject .invalid"),
        );
        assert_code(
            check(&with_source(StreamSource {
                subject_transforms: vec![transform("src", ""), transform("src", "")],
                ..source("ORIGIN")
            })),
            errors::SOURCE_OVERLAPPING_SUBJECT_FILTERS,
        );
    }
}

// ---- external prefixes ----

#[test]
fn external_delivery_prefix_must_be_literal() {
    let c = sourcing(vec![StreamSource {
        external: external("", "foo.*"),
        ..source("O")
    }]);
    assert_err(
        check(&c),
        errors::STREAM_INVALID_EXTERNAL_DELIVERY_SUBJ.with(&[("{prefix}", &"foo.*")]),
    );
}

#[test]
fn external_delivery_prefix_must_not_capture_local_upstream_subjects() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        subjects: vec!["foo.>".into()],
        ..named("L")
    });
    let c = sourcing(vec![
        source("L"),
        StreamSource {
            external: external("", "foo"),
            ..source("R")
        },
    ]);
    assert_err(
        check_with(&c, &account),
        errors::STREAM_EXTERNAL_DEL_PREFIX_OVERLAPS
            .with(&[("{prefix}", &"foo"), ("{subject}", &"foo.>")]),
    );
    let elsewhere = sourcing(vec![
        source("L"),
        StreamSource {
            external: external("", "bar"),
            ..source("R")
        },
    ]);
    ok(check_with(&elsewhere, &account));
}

#[test]
fn external_api_prefix_must_be_literal_and_clear_of_the_jetstream_api() {
    let c = mirroring(|_, m| m.external = external("$JS.*", ""));
    assert_invalid(
        check(&c),
        "stream external api prefix \"$JS.*\" must be a valid subject without wildcards",
    );
    let c = sourcing(vec![StreamSource {
        external: external("$JS.API", ""),
        ..source("O")
    }]);
    assert_err(
        check(&c),
        errors::STREAM_EXTERNAL_API_OVERLAP
            .with(&[("{prefix}", &"$JS.API"), ("{subject}", &"$JS.API")]),
    );
    ok(check(&mirroring(|_, m| {
        m.external = external("$JS.hub.API", "deliver.hub")
    })));
}

// ---- cycles ----

#[test]
fn sourcing_a_stream_that_sources_back_is_a_cycle() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        subjects: vec!["b".into()],
        sources: vec![source("A")],
        ..named("B")
    });
    let a = StreamConfig {
        subjects: vec!["a".into()],
        sources: vec![source("B")],
        ..named("A")
    };
    assert_invalid(check_with(&a, &account), "detected cycle");
}

#[test]
fn a_filtered_loop_that_takes_none_of_the_subjects_is_not_a_cycle() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        subjects: vec!["b".into()],
        sources: vec![StreamSource {
            filter_subject: "x".into(),
            ..source("A")
        }],
        ..named("B")
    });
    let a = StreamConfig {
        subjects: vec!["a".into()],
        sources: vec![source("B")],
        ..named("A")
    };
    ok(check_with(&a, &account));
}

#[test]
fn mirroring_a_stream_that_leads_back_is_a_cycle() {
    let account = FakeAccount::default().with_stream(StreamConfig {
        mirror: Some(source("A")),
        ..named("B")
    });
    let a = StreamConfig {
        mirror: Some(source("B")),
        ..named("A")
    };
    assert_invalid(check_with(&a, &account), "detected cycle");
    // A mirror of itself.
    assert_invalid(
        check(&StreamConfig {
            mirror: Some(source("A")),
            ..named("A")
        }),
        "detected cycle",
    );
}

// ---- subjects ----

#[test]
fn subjects_default_to_the_stream_name() {
    assert_eq!(ok(check(&stream())).subjects, vec!["S".to_owned()]);
    assert!(ok(check(&mirroring(|_, _| {}))).subjects.is_empty());
    assert!(ok(check(&sourcing(vec![source("O")]))).subjects.is_empty());
}

#[test]
fn invalid_subjects_are_refused() {
    for subject in ["", "foo..bar", "foo.>.bar", "foo bar", ".foo"] {
        assert_invalid(
            check(&with(|c| c.subjects = vec![subject.into()])),
            "invalid subject",
        );
    }
}

#[test]
fn a_subject_listed_twice_is_reported_as_overlapping() {
    // Go's duplicate check comes after the overlap check of the first of the two.
    let c = with(|c| c.subjects = vec!["foo".into(), "foo".into()]);
    assert_invalid(check(&c), "subject \"foo\" overlaps with \"foo\"");
}

#[test]
fn overlapping_subjects_are_refused() {
    let c = with(|c| c.subjects = vec!["foo.*".into(), "bar".into(), "foo.bar".into()]);
    assert_invalid(check(&c), "subject \"foo.*\" overlaps with \"foo.bar\"");
}

#[test]
fn capturing_all_subjects_needs_no_ack_and_one_replica() {
    assert_invalid(
        check(&with(|c| c.subjects = vec![">".into()])),
        "capturing all subjects requires no-ack to be true",
    );
    assert_invalid(
        check(&with(|c| {
            c.subjects = vec![">".into()];
            c.no_ack = true;
            c.replicas = 3;
        })),
        "capturing all subjects requires replicas of 1",
    );
    ok(check(&with(|c| {
        c.subjects = vec![">".into()];
        c.no_ack = true;
    })));
}

#[test]
fn subjects_overlapping_the_jetstream_api_need_no_ack() {
    let text = "subjects that overlap with jetstream api require no-ack to be true";
    for subject in ["$JS.API.>", "$JS.>", "$JSC.foo", "$NRG.x.y", "*.API", "*.>"] {
        assert_invalid(check(&with(|c| c.subjects = vec![subject.into()])), text);
        ok(check(&with(|c| {
            c.subjects = vec![subject.into()];
            c.no_ack = true;
        })));
    }
    // Advisories were allowed before the rule.
    for subject in ["$JS.EVENT.>", "$JS.EVENT.ADVISORY.foo"] {
        ok(check(&with(|c| c.subjects = vec![subject.into()])));
    }
}

#[test]
fn subjects_overlapping_the_system_api_need_no_ack() {
    let text = "subjects that overlap with system api require no-ack to be true";
    for subject in ["$SYS.>", "$SYS.REQ.SERVER.PING"] {
        assert_invalid(check(&with(|c| c.subjects = vec![subject.into()])), text);
    }
    ok(check(&with(|c| c.subjects = vec!["$SYS.ACCOUNT.>".into()])));
    ok(check(&with(|c| {
        c.subjects = vec!["$SYS.>".into()];
        c.no_ack = true;
    })));
}

// ---- account byte limits ----

#[test]
fn account_may_require_max_bytes() {
    let account = FakeAccount {
        limits: Some(JetStreamAccountLimits {
            max_bytes_required: true,
            ..JetStreamAccountLimits::UNLIMITED
        }),
        ..Default::default()
    };
    assert_code(
        check_with(&stream(), &account),
        errors::STREAM_MAX_BYTES_REQUIRED,
    );
    ok(check_with(&with(|c| c.max_bytes = 1), &account));
}

#[test]
fn max_bytes_above_the_accounts_per_stream_limit_for_its_storage_is_refused() {
    let account = FakeAccount {
        limits: Some(JetStreamAccountLimits {
            memory_max_stream_bytes: 100,
            store_max_stream_bytes: 1000,
            ..JetStreamAccountLimits::UNLIMITED
        }),
        ..Default::default()
    };
    let sized = |storage, max_bytes| {
        with(|c| {
            c.storage = storage;
            c.max_bytes = max_bytes;
        })
    };
    assert_code(
        check_with(&sized(StorageType::Memory, 101), &account),
        errors::STREAM_MAX_STREAM_BYTES_EXCEEDED,
    );
    ok(check_with(&sized(StorageType::Memory, 100), &account));
    assert_code(
        check_with(&sized(StorageType::File, 1001), &account),
        errors::STREAM_MAX_STREAM_BYTES_EXCEEDED,
    );
    ok(check_with(&sized(StorageType::File, 1000), &account));
    // Unlimited max_bytes is not above a limit.
    ok(check_with(&sized(StorageType::File, 0), &account));
}

// ---- subject transform ----

#[test]
fn stream_subject_transform_must_be_valid() {
    assert_err(
        check(&with(|c| {
            c.subject_transform = Some(transform("foo..bar", "baz"))
        })),
        errors::STREAM_TRANSFORM_INVALID_SOURCE.with_err(&"invalid subject foo..bar"),
    );
    assert_err(
        check(&with(|c| {
            c.subject_transform = Some(transform("foo", "x.{{bogus()}}"))
        })),
        errors::STREAM_TRANSFORM_INVALID_DESTINATION
            .with_err(&"invalid mapping destination: unknown function in {{bogus()}}"),
    );
    ok(check(&with(|c| {
        c.subjects = vec!["foo.*".into()];
        c.subject_transform = Some(transform("foo.*", "bar.{{wildcard(1)}}"));
    })));
}

// ---- republish ----

fn republishing(src: &str, dest: &str) -> StreamConfig {
    with(|c| {
        c.subjects = vec!["foo.>".into()];
        c.republish = Some(RePublish {
            source: src.into(),
            destination: dest.into(),
            headers_only: false,
        });
    })
}

#[test]
fn republish_source_defaults_to_everything() {
    let c = ok(check(&republishing("", "out.>")));
    assert_eq!(c.republish.unwrap().source, ">");
    assert_err(
        check_pedantic(&republishing("", "out.>")),
        errors::PEDANTIC.with_err(&"republish source can not be empty"),
    );
}

#[test]
fn republish_of_everything_on_a_transformed_stream_republishes_the_transformed_subjects() {
    let mut c = republishing(">", ">");
    c.subject_transform = Some(transform("foo.>", "bar.>"));
    let checked = ok(check(&c));
    let r = checked.republish.unwrap();
    assert_eq!(
        (r.source.as_str(), r.destination.as_str()),
        ("bar.>", "bar.>")
    );
    assert_err(
        check_pedantic(&c),
        errors::PEDANTIC.with_err(&"implicit republish based on subject transform"),
    );
}

#[test]
fn republish_into_the_streams_own_subjects_is_a_cycle() {
    assert_invalid(
        check(&republishing(">", "foo.x")),
        "stream configuration for republish destination forms a cycle",
    );
    assert_invalid(
        check(&republishing(">", ">")),
        "stream configuration for republish destination forms a cycle",
    );
}

#[test]
fn republish_source_and_destination_must_make_a_transform() {
    assert_invalid(
        check(&republishing("foo.*", "out.>")),
        "stream configuration for republish with transform from 'foo.*' to 'out.>' not valid",
    );
    ok(check(&republishing("foo.*", "out.{{wildcard(1)}}")));
}

// ---- placement ----

#[test]
fn empty_placement_is_dropped() {
    let c = ok(check(&with(|c| c.placement = Some(Placement::default()))));
    assert_eq!(c.placement, None);
    let cluster = Placement {
        cluster: "C1".into(),
        ..Default::default()
    };
    let c = ok(check(&with(|c| c.placement = Some(cluster.clone()))));
    assert_eq!(c.placement, Some(cluster));
}

#[test]
fn preferred_server_in_placement_is_refused() {
    let c = with(|c| {
        c.placement = Some(Placement {
            preferred: "n1".into(),
            ..Default::default()
        })
    });
    assert_invalid(check(&c), "preferred server not permitted in placement");
}

#[test]
fn a_minimal_configuration_gets_gos_defaults() {
    let c = ok(check(&stream()));
    let want = StreamConfig {
        name: "S".into(),
        subjects: vec!["S".into()],
        retention: RetentionPolicy::Limits,
        max_consumers: -1,
        max_msgs: -1,
        max_bytes: -1,
        max_age: 0,
        max_msgs_per: -1,
        max_msg_size: -1,
        discard: DiscardPolicy::Old,
        storage: StorageType::File,
        replicas: 1,
        duplicates: 120 * S,
        ..Default::default()
    };
    assert_eq!(c, want);
    // Checking again changes nothing.
    assert_eq!(ok(check(&c)), want);
    assert_eq!(ok(check_pedantic(&c)), want);
}

// ---- helpers ----

#[test]
fn go_quote_escapes_like_go() {
    assert_eq!(go_quote("foo.*"), "\"foo.*\"");
    assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_eq!(
        go_quote("\t\n\r\x07\x08\x0b\x0c"),
        "\"\\t\\n\\r\\a\\b\\v\\f\""
    );
    assert_eq!(go_quote("\x01\x7f"), "\"\\x01\\x7f\"");
    assert_eq!(go_quote("é\u{a0}"), "\"é\\u00a0\"");
}

#[test]
fn a_recovered_mirror_loses_its_subjects() {
    let mut c = with(|c| {
        c.subjects = vec!["foo".into(), "bar".into()];
        c.mirror = Some(source("S"));
    });
    assert!(drop_recovered_mirror_subjects(&mut c));
    assert!(c.subjects.is_empty());
    assert!(!drop_recovered_mirror_subjects(&mut c));
    // Other streams keep theirs.
    let mut plain = with(|c| c.subjects = vec!["foo".into()]);
    assert!(!drop_recovered_mirror_subjects(&mut plain));
    assert_eq!(plain.subjects, vec!["foo".to_string()]);
}

mod update;
mod versioning;
