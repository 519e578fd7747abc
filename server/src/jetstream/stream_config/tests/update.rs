//! Update checks and the create handler's own checks.

use super::*;

// ---- update ----

fn updated(
    old: impl FnOnce(&mut StreamConfig),
    new: impl FnOnce(&mut StreamConfig),
) -> Result<StreamConfig, ApiError> {
    let old = ok(check(&with(old)));
    let mut next = old.clone();
    new(&mut next);
    check_update(&old, &next, &ServerLimits::default(), false)
}

#[test]
fn update_checks_the_new_configuration_first() {
    assert_invalid(
        updated(|_| {}, |c| c.max_age = -1),
        "max age can not be negative",
    );
}

#[test]
fn update_cannot_rename_the_stream() {
    assert_invalid(
        updated(|_| {}, |c| c.name = "T".into()),
        "stream configuration name must match original",
    );
}

#[test]
fn update_cannot_change_storage() {
    assert_invalid(
        updated(|_| {}, |c| c.storage = StorageType::Memory),
        "stream configuration update can not change storage type",
    );
}

#[test]
fn update_can_swap_limits_and_interest_but_not_touch_work_queue_retention() {
    let text = "stream configuration update can not change retention policy to/from workqueue";
    assert_invalid(
        updated(|_| {}, |c| c.retention = RetentionPolicy::WorkQueue),
        text,
    );
    assert_invalid(
        updated(
            |c| c.retention = RetentionPolicy::WorkQueue,
            |c| c.retention = RetentionPolicy::Interest,
        ),
        text,
    );
    let c = ok(updated(|_| {}, |c| c.retention = RetentionPolicy::Interest));
    assert_eq!(c.retention, RetentionPolicy::Interest);
    ok(updated(
        |c| c.retention = RetentionPolicy::Interest,
        |c| c.retention = RetentionPolicy::Limits,
    ));
}

#[test]
fn update_cannot_unseal_or_lift_deny_flags() {
    assert_invalid(
        updated(|c| c.sealed = true, |c| c.sealed = false),
        "stream configuration update can not unseal a sealed stream",
    );
    assert_invalid(
        updated(|c| c.deny_delete = true, |c| c.deny_delete = false),
        "stream configuration update can not cancel deny message deletes",
    );
    assert_invalid(
        updated(|c| c.deny_purge = true, |c| c.deny_purge = false),
        "stream configuration update can not cancel deny purge",
    );
    let c = ok(updated(|_| {}, |c| c.deny_delete = true));
    assert!(c.deny_delete);
}

#[test]
fn update_cannot_change_a_mirror_but_can_remove_it() {
    let old = |c: &mut StreamConfig| c.mirror = Some(source("O"));
    assert_code(
        updated(old, |c| c.mirror = Some(source("P"))),
        errors::STREAM_MIRROR_NOT_UPDATABLE,
    );
    // A mirror cannot be added to a stream either.
    assert_code(
        updated(
            |_| {},
            |c| {
                c.subjects.clear();
                c.mirror = Some(source("O"));
            },
        ),
        errors::STREAM_MIRROR_NOT_UPDATABLE,
    );
    ok(updated(old, |_| {}));
    let promoted = ok(updated(old, |c| {
        c.mirror = None;
        c.subjects = vec!["new".into()];
    }));
    assert_eq!(promoted.mirror, None);
}

#[test]
fn update_cannot_turn_off_message_ttls() {
    assert_invalid(
        updated(|c| c.allow_msg_ttl = true, |c| c.allow_msg_ttl = false),
        "message TTL status can not be disabled",
    );
    assert!(ok(updated(|_| {}, |c| c.allow_msg_ttl = true)).allow_msg_ttl);
}

#[test]
fn update_cannot_change_counters() {
    let text = "stream configuration update can not change message counter setting";
    assert_invalid(updated(|_| {}, |c| c.allow_msg_counter = true), text);
    assert_invalid(
        updated(
            |c| c.allow_msg_counter = true,
            |c| c.allow_msg_counter = false,
        ),
        text,
    );
}

#[test]
fn update_cannot_turn_off_message_schedules() {
    assert_invalid(
        updated(
            |c| c.allow_msg_schedules = true,
            |c| c.allow_msg_schedules = false,
        ),
        "message schedules can not be disabled",
    );
    assert!(ok(updated(|_| {}, |c| c.allow_msg_schedules = true)).allow_msg_schedules);
}

#[test]
fn update_cannot_change_persist_mode() {
    assert_invalid(
        updated(|_| {}, |c| c.persist_mode = PersistMode::Async),
        "stream configuration update can not change persist mode",
    );
}

#[test]
fn sealing_keeps_everything_and_takes_nothing_more() {
    let c = ok(updated(
        |c| {
            c.max_age = S;
            c.allow_rollup = true;
        },
        |c| c.sealed = true,
    ));
    assert!(c.sealed);
    assert_eq!(c.max_age, 0);
    assert_eq!(c.discard, DiscardPolicy::New);
    assert!(c.deny_delete && c.deny_purge);
    assert!(!c.allow_rollup);
    // Pedantic mode applies the same.
    let old = ok(check(&stream()));
    let mut next = old.clone();
    next.sealed = true;
    let c = check_update(&old, &next, &ServerLimits::default(), true).unwrap();
    assert!(c.deny_delete && c.deny_purge && c.discard == DiscardPolicy::New);
}

#[test]
fn update_may_change_limits_and_subjects() {
    let c = ok(updated(
        |_| {},
        |c| {
            c.max_msgs = 10;
            c.subjects = vec!["a".into(), "b".into()];
            c.description = "new".into();
        },
    ));
    assert_eq!(c.max_msgs, 10);
    assert_eq!(c.subjects, vec!["a".to_owned(), "b".to_owned()]);
}

// ---- create request ----

#[test]
fn create_request_name_must_match_the_subject() {
    assert_eq!(
        check_create_request("T", &stream()),
        Err(errors::STREAM_MISMATCH.new())
    );
}

#[test]
fn create_request_name_cannot_contain_path_separators() {
    for name in ["a/b", "a\\b"] {
        assert_eq!(
            check_create_request(name, &named(name)),
            Err(errors::STREAM_NAME_CONTAINS_PATH_SEPARATORS.new())
        );
    }
}

#[test]
fn create_request_cannot_be_sealed() {
    assert_eq!(
        check_create_request("S", &with(|c| c.sealed = true)),
        Err(errors::STREAM_INVALID_CONFIG
            .with_err(&"stream configuration for create can not be sealed"))
    );
}

#[test]
fn create_request_mirror_direct_needs_a_mirror() {
    assert_eq!(
        check_create_request("S", &with(|c| c.mirror_direct = true)),
        Err(errors::STREAM_INVALID_CONFIG
            .with_err(&"stream has no mirror but does have mirror direct"))
    );
    assert_eq!(
        check_create_request("S", &mirroring(|c, _| c.mirror_direct = true)),
        Ok(())
    );
}

#[test]
fn create_checks_plain_mirror_and_source_filters() {
    let create = |text: &str| Err(errors::STREAM_CREATE.with_err(&text));
    assert_eq!(
        check_create_filters(&mirroring(|_, m| m.filter_subject = "foo..bar".into())),
        create("subject filter 'foo..bar' for the mirror invalid subject")
    );
    assert_eq!(
        check_create_filters(&mirroring(|_, m| {
            m.subject_transforms = vec![transform("a..b", "")]
        })),
        create("invalid subject transform source 'a..b' for the mirror: invalid subject")
    );
    assert_eq!(
        check_create_filters(&mirroring(|_, m| {
            m.subject_transforms = vec![transform("a.*", "b.>")]
        })),
        create("subject transform from 'a.*' to 'b.>' for the mirror: invalid subject")
    );
    let filtered = |filter: &str| {
        sourcing(vec![StreamSource {
            filter_subject: filter.into(),
            ..source("O")
        }])
    };
    assert_eq!(
        check_create_filters(&filtered("foo bar")),
        create("subject filter 'foo bar' for the source: invalid subject")
    );
    let transformed = |t: SubjectTransformConfig| {
        sourcing(vec![StreamSource {
            subject_transforms: vec![t],
            ..source("O")
        }])
    };
    assert_eq!(
        check_create_filters(&transformed(transform("a..b", ""))),
        create("subject filter 'a..b' for the source: invalid subject")
    );
    assert_eq!(
        check_create_filters(&transformed(transform("a.*", "b.>"))),
        create("subject transform from 'a.*' to 'b.>' for the source: invalid subject")
    );
    assert_eq!(check_create_filters(&filtered("foo.*")), Ok(()));
    assert_eq!(
        check_create_filters(&transformed(transform("a.*", "b.{{wildcard(1)}}"))),
        Ok(())
    );
}
