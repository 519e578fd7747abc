use super::*;
use crate::client::header::gen_header;

fn cfg() -> StreamConfig {
    StreamConfig {
        name: "S".into(),
        subjects: vec!["foo".into(), "bar".into()],
        max_msg_size: -1,
        max_msgs: -1,
        max_bytes: -1,
        max_msgs_per: -1,
        allow_atomic_publish: true,
        ..Default::default()
    }
}

fn msg(subject: &str, headers: &[(&str, &str)]) -> StagedMsg {
    let mut hdr = Vec::new();
    for (k, v) in headers {
        hdr = gen_header(&hdr, k, v);
    }
    StagedMsg {
        subject: subject.into(),
        header: hdr,
        payload: Vec::new(),
    }
}

fn batch_msg(id: &str, seq: u64, commit: Option<&str>) -> StagedMsg {
    let seq = seq.to_string();
    let mut h = vec![(BATCH_ID, id), (BATCH_SEQ, seq.as_str())];
    if let Some(c) = commit {
        h.push((BATCH_COMMIT, c));
    }
    msg("foo", &h)
}

fn accept(b: &mut Batches, limits: &Limits, m: StagedMsg, now: i64) -> Step {
    let id = batch_id(&m.header).unwrap_or_default().to_string();
    b.accept(&cfg(), limits, &id, m, now, None)
}

fn error_of(step: Step) -> ApiError {
    match step {
        Step::Rejected { error, .. } => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn batch_sequences_are_digits_within_u64() {
    let h = |v: &str| gen_header(&[], BATCH_SEQ, v);
    assert_eq!(batch_sequence(&[]), None);
    assert_eq!(batch_sequence(&h("")), None);
    assert_eq!(batch_sequence(&h("42")), Some(42));
    assert_eq!(batch_sequence(&h("abc")), None);
    assert_eq!(batch_sequence(&h("-1")), None);
    assert_eq!(batch_sequence(&h("+1")), None);
    assert_eq!(batch_sequence(&h("18446744073709551616")), None);
}

#[test]
fn a_batch_is_staged_until_its_commit() {
    let (mut b, l) = (Batches::default(), Limits::default());
    assert!(matches!(
        accept(&mut b, &l, batch_msg("a", 1, None), 0),
        Step::Staged
    ));
    assert!(matches!(
        accept(&mut b, &l, batch_msg("a", 2, None), 1),
        Step::Staged
    ));
    assert_eq!(b.len(), 1);
    let Step::Commit(c) = accept(&mut b, &l, batch_msg("a", 3, Some("1")), 2) else {
        panic!("commit expected");
    };
    assert_eq!((c.msgs.len(), c.count, c.id.as_str()), (3, 3, "a"));
    assert!(b.is_empty());
}

#[test]
fn an_end_of_batch_marker_is_not_stored() {
    let (mut b, l) = (Batches::default(), Limits::default());
    accept(&mut b, &l, batch_msg("a", 1, None), 0);
    let Step::Commit(c) = accept(&mut b, &l, batch_msg("a", 2, Some("eob")), 0) else {
        panic!("commit expected");
    };
    assert_eq!((c.msgs.len(), c.count), (1, 1));
    assert_eq!(
        slice_header(BATCH_COMMIT, &c.msgs[0].header),
        Some(&b"1"[..])
    );
    // A batch of only the marker is incomplete.
    let e = error_of(accept(&mut b, &l, batch_msg("b", 1, Some("eob")), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH));
}

#[test]
fn gaps_unknown_batches_and_bad_commits_end_the_batch() {
    let (mut b, l) = (Batches::default(), Limits::default());
    let e = error_of(accept(&mut b, &l, batch_msg("a", 2, None), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH));
    accept(&mut b, &l, batch_msg("a", 1, None), 0);
    let e = error_of(accept(&mut b, &l, batch_msg("a", 3, None), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH));
    assert!(b.is_empty());
    for bad in ["", "0", "unsupported"] {
        accept(&mut b, &l, batch_msg("a", 1, None), 0);
        let e = error_of(accept(&mut b, &l, batch_msg("a", 2, Some(bad)), 0));
        assert!(e.is(errors::ATOMIC_PUBLISH_INVALID_BATCH_COMMIT), "{bad:?}");
        assert!(b.is_empty());
    }
}

#[test]
fn headers_and_the_stream_config_are_checked_first() {
    let (mut b, l) = (Batches::default(), Limits::default());
    let mut off = cfg();
    off.allow_atomic_publish = false;
    let e = error_of(b.accept(&off, &l, "a", batch_msg("a", 1, None), 0, None));
    assert!(e.is(errors::ATOMIC_PUBLISH_DISABLED));
    let long = "x".repeat(65);
    let e = error_of(accept(&mut b, &l, batch_msg(&long, 1, None), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_INVALID_BATCH_ID));
    let e = error_of(accept(&mut b, &l, msg("foo", &[(BATCH_ID, "a")]), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_MISSING_SEQ));
    let mut m = batch_msg("a", 1, Some("1"));
    m.header = gen_header(&m.header, REQUIRED_API_LEVEL, &i64::MAX.to_string());
    let e = error_of(accept(&mut b, &l, m, 0));
    assert!(e.is(errors::REQUIRED_API_LEVEL));
    let mut m = batch_msg("a", 1, Some("1"));
    m.header = gen_header(&m.header, REQUIRED_API_LEVEL, "0");
    let Step::Commit(c) = accept(&mut b, &l, m, 0) else {
        panic!("commit expected");
    };
    assert_eq!(slice_header(REQUIRED_API_LEVEL, &c.msgs[0].header), None);
}

#[test]
fn size_inflight_and_time_limits() {
    let l = Limits {
        max_size: 2,
        max_inflight_per_stream: 1,
        timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let mut b = Batches::default();
    accept(&mut b, &l, batch_msg("a", 1, None), 0);
    let e = error_of(accept(&mut b, &l, batch_msg("b", 1, None), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_TOO_MANY_INFLIGHT));
    accept(&mut b, &l, batch_msg("a", 2, None), 0);
    let e = error_of(accept(&mut b, &l, batch_msg("a", 3, None), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_TOO_LARGE_BATCH));
    assert_eq!(e.description, "atomic publish batch is too large: 2");
    // Two messages and the marker fit.
    accept(&mut b, &l, batch_msg("c", 1, None), 0);
    accept(&mut b, &l, batch_msg("c", 2, None), 0);
    assert!(matches!(
        accept(&mut b, &l, batch_msg("c", 3, Some("eob")), 0),
        Step::Commit(_)
    ));
    // An unknown batch past the size is too large, at the size incomplete.
    let e = error_of(accept(&mut b, &l, batch_msg("d", 4, Some("eob")), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_TOO_LARGE_BATCH));
    let e = error_of(accept(&mut b, &l, batch_msg("d", 3, Some("eob")), 0));
    assert!(e.is(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH));
    // A batch with no message for the timeout is gone.
    accept(&mut b, &l, batch_msg("e", 1, None), 0);
    assert_eq!(b.next_deadline(), Some(1_000_000_000));
    let e = error_of(accept(&mut b, &l, batch_msg("e", 2, None), 1_000_000_000));
    assert!(e.is(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH));
    // Each batch given up is told once, with why; refusals before a batch opened and
    // invalid commits are not (as in Go).
    let told: Vec<(String, &str)> = b
        .take_abandoned()
        .into_iter()
        .map(|(id, why)| (id, why.reason()))
        .collect();
    assert_eq!(
        told,
        [("a".to_string(), "large"), ("e".to_string(), "timeout")]
    );
    assert!(b.take_abandoned().is_empty());
}

fn view_check(cfg: &StreamConfig, batch: &[StagedMsg]) -> Result<Vec<StagedMsg>, ApiError> {
    let dedup = DedupWindow::new();
    let last_of = |_: &str| -> Result<StoreMsg, StoreError> { Err(StoreError::MsgNotFound) };
    let subject_total = |_: &str| 0;
    let transform = |_: &str| None;
    let view = StreamView {
        cfg,
        last_seq: 2,
        last_msg_id: "",
        dedup: &dedup,
        max_payload: 1 << 20,
        msgs: 2,
        bytes: 0,
        now: 0,
        last_of: &last_of,
        subject_total: &subject_total,
        transform: &transform,
    };
    check_commit(&view, batch)
}

#[test]
fn batch_checks_treat_earlier_messages_as_stored() {
    let c = cfg();
    let id = |v| msg("foo", &[(publish::MSG_ID, v)]);
    assert!(view_check(&c, &[id("a"), id("b")]).is_ok());
    let e = view_check(&c, &[id("a"), id("a")]).unwrap_err();
    assert!(e.is(errors::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE));
    let last = |v| msg("foo", &[(publish::EXPECTED_LAST_SEQ, v)]);
    assert!(view_check(&c, &[last("2")]).is_ok());
    let e = view_check(&c, &[last("1")]).unwrap_err();
    assert_eq!(e.description, "wrong last sequence: 2");
    let e = view_check(&c, &[last("2"), last("3")]).unwrap_err();
    assert!(e.is(errors::STREAM_WRONG_LAST_SEQUENCE_CONSTANT));
    let subj = |s, v| {
        msg(
            s,
            &[
                (publish::EXPECTED_LAST_SUBJECT_SEQ, v),
                (publish::EXPECTED_LAST_SUBJECT_SEQ_SUBJECT, "foo"),
            ],
        )
    };
    assert!(view_check(&c, &[subj("bar", "0"), subj("bar", "0")]).is_ok());
    let e = view_check(&c, &[msg("foo", &[]), subj("bar", "0")]).unwrap_err();
    assert!(e.is(errors::STREAM_WRONG_LAST_SEQUENCE_CONSTANT));
    let e = view_check(&c, &[msg("foo", &[(publish::EXPECTED_LAST_MSG_ID, "x")])]).unwrap_err();
    assert_eq!(
        e.description,
        "atomic publish unsupported header used: Nats-Expected-Last-Msg-Id"
    );
}

#[test]
fn rollups_go_first_and_counters_add_up() {
    let mut c = cfg();
    c.allow_rollup = true;
    let rollup = |s, v| msg(s, &[(publish::ROLLUP, v)]);
    assert!(view_check(&c, &[rollup("foo", "sub"), rollup("bar", "sub")]).is_ok());
    let e = view_check(&c, &[rollup("foo", "sub"), rollup("foo", "sub")]).unwrap_err();
    assert_eq!(e.description, "batch rollup sub invalid");
    assert!(view_check(&c, &[rollup("foo", "all")]).is_ok());
    let e = view_check(&c, &[msg("foo", &[]), rollup("bar", "all")]).unwrap_err();
    assert_eq!(e.description, "batch rollup all invalid");

    let mut c = cfg();
    c.allow_msg_counter = true;
    let incr = |v| msg("foo", &[(publish::MSG_INCR, v)]);
    let out = view_check(&c, &[incr("1"), incr("2")]).unwrap();
    assert_eq!(out[0].payload, br#"{"val":"1"}"#);
    assert_eq!(out[1].payload, br#"{"val":"3"}"#);
    // A total that no longer fits the stream's max_msg_size is refused.
    let h = incr("9").header.len() as i32;
    c.max_msg_size = h + br#"{"val":"9"}"#.len() as i32;
    assert!(view_check(&c, &[incr("9")]).is_ok());
    let e = view_check(&c, &[incr("9"), incr("1")]).unwrap_err();
    assert!(e.is(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM));
}

#[test]
fn discard_new_limits_count_the_whole_batch() {
    let mut c = cfg();
    c.discard = DiscardPolicy::New;
    c.max_msgs = 3;
    assert!(view_check(&c, &[msg("foo", &[])]).is_ok());
    let e = view_check(&c, &[msg("foo", &[]), msg("bar", &[])]).unwrap_err();
    assert!(e.is(errors::STREAM_STORE_FAILED));
    let mut c = cfg();
    c.discard = DiscardPolicy::New;
    c.discard_new_per = true;
    c.max_msgs_per = 1;
    assert!(view_check(&c, &[msg("foo", &[]), msg("bar", &[])]).is_ok());
    let e = view_check(&c, &[msg("foo", &[]), msg("foo", &[])]).unwrap_err();
    assert!(e.is(errors::STREAM_STORE_FAILED));
}

#[test]
fn the_batch_ack_names_the_batch() {
    assert_eq!(
        ack_with_batch(br#"{"stream":"S","seq":4}"#, "uuid", 2),
        br#"{"stream":"S","seq":4,"batch":"uuid","count":2}"#.to_vec()
    );
}

/// A file stream's store in `dir` (the stage keeps its batches beside it).
fn stream_store(dir: &Path, keys: Option<&StoreKeys>) -> FileStore {
    let mut fcfg = FileStoreConfig::new(dir);
    if let Some(keys) = keys {
        fcfg.set_keys(keys);
    }
    let cfg = natsd_store::StreamConfig {
        name: "S".into(),
        storage: natsd_store::StorageType::File,
        ..Default::default()
    };
    FileStore::open(fcfg, cfg, natsd_store::system_clock()).unwrap()
}

/// Stages batch "uuid" (3 messages, the last an end-of-batch commit) and stops as a
/// crash would after the commit was made durable: the staging store stays.
fn stage_and_crash(dir: &Path, store: &FileStore, payload: &[u8]) {
    let l = Limits::default();
    let mut b = Batches::default();
    for (seq, commit) in [(1, None), (2, None), (3, Some("eob"))] {
        let mut m = batch_msg("uuid", seq, commit);
        m.payload = payload.to_vec();
        let at = StageAt {
            stream_dir: dir,
            store,
        };
        let step = b.accept(&cfg(), &l, "uuid", m, 0, Some(at));
        if let Step::Commit(mut c) = step {
            c.disk.as_mut().unwrap().make_durable().unwrap();
            let disk = c.disk.take().unwrap();
            let _ = disk.store.stop();
        }
    }
}

/// The stream's last message when only the first of batch "uuid" was stored.
fn first_of_batch() -> StoreMsg {
    let first = batch_msg("uuid", 1, None);
    StoreMsg {
        subject: first.subject.clone(),
        hdr: first.header.clone().into(),
        seq: 1,
        ..Default::default()
    }
}

#[test]
fn a_partly_stored_batch_is_finished_from_its_staging_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = stream_store(dir.path(), None);
    stage_and_crash(dir.path(), &store, b"");
    let (from, rest) = remainder_to_apply(dir.path(), &first_of_batch(), None)
        .unwrap()
        .unwrap();
    assert_eq!(from, 2);
    assert_eq!(rest.len(), 1);
    assert_eq!(batch_sequence(&rest[0].header), Some(2));
    assert_eq!(slice_header(BATCH_COMMIT, &rest[0].header), Some(&b"1"[..]));
    // A committed last message needs nothing.
    let done = StoreMsg {
        hdr: rest[0].header.clone().into(),
        ..Default::default()
    };
    assert!(remainder_to_apply(dir.path(), &done, None)
        .unwrap()
        .is_none());
    remove_staging(dir.path());
    assert!(!dir.path().join(BATCHES_DIR).exists());
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn an_encrypted_stream_stages_its_batches_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let keys = StoreKeys {
        cipher: natsd_store::file::StoreCipher::ChaCha,
        prf: natsd_store::file::js_key_gen("s3cr3t", "$G"),
        old_prf: None,
    };
    let store = stream_store(dir.path(), Some(&keys));
    let secret = b"STAGED SECRET PAYLOAD";
    stage_and_crash(dir.path(), &store, secret);
    let staged = files_under(&dir.path().join(BATCHES_DIR));
    assert!(!staged.is_empty());
    for f in &staged {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} holds the payload in the clear",
            f.display()
        );
    }
    // Recovery reads it back with the stream's keys, and not without them.
    let (_, rest) = remainder_to_apply(dir.path(), &first_of_batch(), Some(&keys))
        .unwrap()
        .unwrap();
    assert_eq!(rest[0].payload, secret);
    assert!(remainder_to_apply(dir.path(), &first_of_batch(), None).is_err());
}
