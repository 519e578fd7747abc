//! The versioning metadata and the API level checks.

use super::*;

// ---- versioning metadata ----

#[test]
fn required_api_level_follows_the_newest_feature_used() {
    type Set = fn(&mut StreamConfig);
    let cases: [(Set, i64); 9] = [
        (|_| {}, 0),
        (|c| c.allow_msg_ttl = true, 1),
        (|c| c.subject_delete_marker_ttl = S, 1),
        (|c| c.allow_msg_counter = true, 2),
        (|c| c.allow_atomic_publish = true, 2),
        (|c| c.allow_msg_schedules = true, 2),
        (|c| c.persist_mode = PersistMode::Async, 2),
        (|c| c.allow_batch_publish = true, 4),
        (
            |c| {
                c.allow_msg_ttl = true;
                c.allow_batch_publish = true;
            },
            4,
        ),
    ];
    for (i, (set, level)) in cases.into_iter().enumerate() {
        let mut c = stream();
        set(&mut c);
        assert_eq!(required_api_level(&c), level, "case {i}");
    }
}

#[test]
fn static_metadata_records_the_required_level_and_drops_response_only_keys() {
    let mut c = with(|c| {
        c.allow_msg_ttl = true;
        c.metadata.insert("_nats.ver".into(), "1.0.0".into());
        c.metadata.insert("_nats.level".into(), "9".into());
        c.metadata.insert("_nats.req.level".into(), "7".into());
        c.metadata.insert("mine".into(), "kept".into());
    });
    set_static_stream_metadata(&mut c);
    let want: BTreeMap<String, String> = [("_nats.req.level", "1"), ("mine", "kept")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(c.metadata, want);
    let mut plain = stream();
    set_static_stream_metadata(&mut plain);
    assert_eq!(
        plain.metadata.get("_nats.req.level").map(String::as_str),
        Some("0")
    );
}

#[test]
fn dynamic_metadata_adds_server_version_and_level_to_a_copy() {
    let mut c = stream();
    set_static_stream_metadata(&mut c);
    let shown = with_dynamic_stream_metadata(&c);
    assert_eq!(shown.metadata.get("_nats.ver").unwrap(), crate::VERSION);
    assert_eq!(
        shown.metadata.get("_nats.level").unwrap(),
        &crate::jetstream::API_LEVEL.to_string()
    );
    assert_eq!(shown.metadata.get("_nats.req.level").unwrap(), "0");
    assert!(!c.metadata.contains_key("_nats.ver"));
}

#[test]
fn copying_metadata_takes_the_previous_required_level_or_none() {
    let mut prev = stream();
    prev.metadata.insert("_nats.req.level".into(), "1".into());
    let mut c = stream();
    c.metadata.insert("_nats.req.level".into(), "2".into());
    c.metadata.insert("_nats.ver".into(), "x".into());
    copy_stream_metadata(&mut c, Some(&prev));
    assert_eq!(c.metadata.len(), 1);
    assert_eq!(c.metadata.get("_nats.req.level").unwrap(), "1");
    copy_stream_metadata(&mut c, Some(&stream()));
    assert!(c.metadata.is_empty());
    c.metadata.insert("_nats.req.level".into(), "2".into());
    copy_stream_metadata(&mut c, None);
    assert!(c.metadata.is_empty());
}

#[test]
fn the_required_level_is_read_as_written() {
    let meta = |v: &str| BTreeMap::from([("_nats.req.level".to_owned(), v.to_owned())]);
    assert_eq!(metadata_required_api_level(&BTreeMap::new()), "");
    assert_eq!(metadata_required_api_level(&meta("")), "");
    assert_eq!(metadata_required_api_level(&meta("1")), "1");
    assert_eq!(metadata_required_api_level(&meta("text")), "text");
}

#[test]
fn a_required_level_above_ours_or_unreadable_is_not_supported() {
    let meta = |v: &str| BTreeMap::from([("_nats.req.level".to_owned(), v.to_owned())]);
    let ours = crate::jetstream::API_LEVEL;
    assert!(supports_required_api_level(&BTreeMap::new()));
    assert!(supports_required_api_level(&meta("")));
    assert!(supports_required_api_level(&meta("0")));
    assert!(supports_required_api_level(&meta(&ours.to_string())));
    assert!(!supports_required_api_level(&meta(&(ours + 1).to_string())));
    assert!(!supports_required_api_level(&meta("one")));
}

#[test]
fn requests_needing_a_higher_api_level_are_refused() {
    let ours = crate::jetstream::API_LEVEL;
    assert!(!error_on_required_api_level(None));
    assert!(!error_on_required_api_level(Some("")));
    assert!(!error_on_required_api_level(Some("0")));
    assert!(!error_on_required_api_level(Some(&ours.to_string())));
    assert!(error_on_required_api_level(Some(&(ours + 1).to_string())));
    assert!(error_on_required_api_level(Some("x")));
    assert!(error_on_required_api_level(Some(" 1")));
}
