//! Updates, create requests and the checks of adding a consumer to a stream.

use super::*;

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
