//! The checks a message published into a stream passes before it is stored (Go's
//! `processJetStreamMsg`, in its order): the `Nats-Expected-*` headers, duplicates by
//! `Nats-Msg-Id`, rollups, TTLs and size limits. Pure: the stream's state comes in.

use super::api::errors::{self, ApiError};
use super::api::types::{StorageType, StreamConfig};
use super::dedup::DedupWindow;
use crate::client::header::{remove_header_if_present, slice_header};
use natsd_store::{StoreError, StoreMsg};
use std::borrow::Cow;

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ_SUBJECT: &str = "Nats-Expected-Last-Subject-Sequence-Subject";
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
pub const ROLLUP: &str = "Nats-Rollup";
pub const MSG_TTL: &str = "Nats-TTL";
pub const MSG_INCR: &str = "Nats-Incr";
/// Go's `rlBadThresh`: the largest file store record.
pub const MAX_FILE_RECORD_LEN: u64 = 32 * 1024 * 1024;
pub const BATCH_ID: &str = "Nats-Batch-Id";
/// Added by the server to requests crossing accounts; never stored.
pub const REQUEST_INFO: &str = "Nats-Request-Info";

/// What a rollup message removes once it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// Every earlier message on the same subject.
    Subject,
    /// Every earlier message.
    All,
}

/// A message that may be stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// Its `Nats-Msg-Id`, empty when none.
    pub msg_id: String,
    /// Seconds (0 none, -1 never expires).
    pub ttl: i64,
    pub rollup: Option<Rollup>,
    /// The header to store when it differs from the one published.
    pub header: Option<Vec<u8>>,
    /// A counter increment (`Nats-Incr`).
    pub incr: Option<super::counter::BigInt>,
    /// The subject of a message schedule to purge once this message is stored
    /// (`Nats-Schedule-Next: purge` with `Nats-Scheduler`).
    pub purge_schedule: Option<String>,
}

/// The outcome of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Accept(Accepted),
    /// Already stored at this sequence (within the duplicate window).
    Duplicate(u64),
    Reject(ApiError),
}

fn header_str<'a>(hdr: &'a [u8], key: &str) -> Option<&'a str> {
    slice_header(key, hdr).and_then(|v| std::str::from_utf8(v).ok())
}

/// A sequence header: `None` when absent; Go reads an unparsable value as absent.
fn header_seq(hdr: &[u8], key: &str) -> Option<u64> {
    header_str(hdr, key).and_then(|v| v.parse().ok())
}

/// Where a message comes from, and when it is checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    /// Copied from another stream, or produced by the stream's own store (a subject
    /// delete marker, a scheduled message): checked by its origin already, so stored
    /// verbatim where Go does (`sourced` in `processJetStreamMsg`).
    pub sourced: bool,
    /// Now (ns since the epoch), for schedules.
    pub now: i64,
    /// Part of an atomic batch whose commit checks it passed already
    /// (`batch::check_commit`): stored as it is.
    pub batched: bool,
}

/// Runs the checks for a message on `subject`. `last_seq` and `last_msg_id` are the
/// stream's, `max_payload` the server's; `last_of` loads the last message stored on a
/// subject.
#[allow(clippy::too_many_arguments)]
pub fn check(
    cfg: &StreamConfig,
    last_seq: u64,
    last_msg_id: &str,
    dedup: &DedupWindow,
    subject: &str,
    hdr: &[u8],
    msg: &[u8],
    max_payload: i64,
    origin: Origin,
    last_of: impl Fn(&str) -> Result<StoreMsg, StoreError>,
) -> Check {
    if origin.batched {
        return Check::Accept(super::batch::accepted_as_checked(cfg, hdr));
    }
    // A file store record past this size could not be read back (Go's
    // `isFileStoreMsgTooLarge`): refused before anything else.
    if cfg.storage == StorageType::File
        && natsd_store::file::record::record_len(subject.len(), hdr.len(), msg.len()) as u64
            > MAX_FILE_RECORD_LEN
    {
        return Check::Reject(errors::STREAM_STORE_FAILED.with_err(&StoreError::MsgTooLarge));
    }
    if cfg.sealed {
        return Check::Reject(errors::STREAM_SEALED.new());
    }
    let mut accepted = Accepted::default();
    let mut hdr: Cow<[u8]> = Cow::Borrowed(hdr);
    if !hdr.is_empty() && slice_header(REQUEST_INFO, &hdr).is_some() {
        hdr = Cow::Owned(remove_header_if_present(hdr.to_vec(), REQUEST_INFO));
    }
    let allow_rollup_purge = cfg.allow_rollup && !cfg.deny_purge;
    if !hdr.is_empty() {
        if let Some(incr) = slice_header(MSG_INCR, &hdr) {
            let Some(incr) = std::str::from_utf8(incr)
                .ok()
                .and_then(super::counter::BigInt::parse)
            else {
                return Check::Reject(errors::MESSAGE_INCR_INVALID.new());
            };
            // A copied message is stored as its origin stored it; only a counter stream
            // applies its increment (Go's `sourced` in `processJetStreamMsg`).
            if !origin.sourced {
                if !cfg.allow_msg_counter {
                    return Check::Reject(errors::MESSAGE_INCR_DISABLED.new());
                }
                if !msg.is_empty() {
                    return Check::Reject(errors::MESSAGE_INCR_PAYLOAD.new());
                }
                // A counter message cannot also carry expectations or a rollup.
                let conflicting = [
                    ROLLUP,
                    EXPECTED_STREAM,
                    EXPECTED_LAST_MSG_ID,
                    EXPECTED_LAST_SUBJECT_SEQ_SUBJECT,
                ]
                .iter()
                .any(|k| header_str(&hdr, k).is_some_and(|v| !v.is_empty()))
                    || header_seq(&hdr, EXPECTED_LAST_SEQ).is_some()
                    || header_seq(&hdr, EXPECTED_LAST_SUBJECT_SEQ).is_some();
                if conflicting {
                    return Check::Reject(errors::MESSAGE_INCR_INVALID.new());
                }
            }
            if cfg.allow_msg_counter {
                accepted.incr = Some(incr);
            }
        }
        if let Some(name) = header_str(&hdr, EXPECTED_STREAM) {
            if !name.is_empty() && name != cfg.name {
                return Check::Reject(errors::STREAM_NOT_MATCH.new());
            }
        }
        let ttl = natsd_store::message_ttl(&hdr);
        if matches!(ttl, Ok(t) if t != 0) && !cfg.allow_msg_ttl && !origin.sourced {
            return Check::Reject(errors::MESSAGE_TTL_DISABLED.new());
        }
        if let Some(expected) = header_seq(&hdr, EXPECTED_LAST_SUBJECT_SEQ) {
            let on = header_str(&hdr, EXPECTED_LAST_SUBJECT_SEQ_SUBJECT)
                .filter(|s| !s.is_empty())
                .unwrap_or(subject);
            let found = match last_of(on) {
                Ok(m) => Some(m.seq),
                Err(StoreError::MsgNotFound | StoreError::Eof) if expected == 0 => Some(0),
                Err(_) => None,
            };
            if found != Some(expected) {
                return Check::Reject(
                    errors::STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &found.unwrap_or(0))]),
                );
            }
        } else if header_str(&hdr, EXPECTED_LAST_SUBJECT_SEQ_SUBJECT).is_some_and(|s| !s.is_empty())
        {
            return Check::Reject(errors::STREAM_EXPECTED_LAST_SEQ_PER_SUBJECT_INVALID.new());
        }
        if let Some(expected) = header_seq(&hdr, EXPECTED_LAST_SEQ) {
            if expected != last_seq {
                return Check::Reject(
                    errors::STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &last_seq)]),
                );
            }
        }
        if !origin.sourced {
            match super::schedule::check_publish(cfg, subject, &hdr, origin.now) {
                Err(e) => return Check::Reject(e),
                Ok(Some(changed)) => hdr = Cow::Owned(changed),
                Ok(None) => {}
            }
            let last_is_schedule = |s: &str| {
                last_of(s).ok().map(|m| {
                    slice_header(super::schedule::SCHEDULE, &m.hdr).is_some_and(|v| !v.is_empty())
                })
            };
            match super::schedule::check_scheduler_headers(cfg, subject, &hdr, last_is_schedule) {
                Err(e) => return Check::Reject(e),
                Ok(purge) => accepted.purge_schedule = purge,
            }
        } else {
            accepted.purge_schedule = super::schedule::schedule_to_purge(&hdr);
        }
        if let Some(id) = header_str(&hdr, MSG_ID).filter(|id| !id.is_empty()) {
            if cfg.mirror.is_none() {
                if let Some(seq) = dedup.check(id) {
                    return Check::Duplicate(seq);
                }
            }
            accepted.msg_id = id.to_string();
        }
        if let Some(expected) = header_str(&hdr, EXPECTED_LAST_MSG_ID).filter(|v| !v.is_empty()) {
            if expected != last_msg_id {
                return Check::Reject(
                    errors::STREAM_WRONG_LAST_MSG_ID.with(&[("{id}", &last_msg_id)]),
                );
            }
        }
        if let Some(rollup) = header_str(&hdr, ROLLUP).filter(|v| !v.is_empty()) {
            if !allow_rollup_purge && !origin.sourced {
                return Check::Reject(
                    errors::STREAM_ROLLUP_FAILED.with_err(&"rollup not permitted"),
                );
            }
            accepted.rollup = match rollup {
                "sub" => Some(Rollup::Subject),
                "all" => Some(Rollup::All),
                other => {
                    return Check::Reject(
                        errors::STREAM_ROLLUP_FAILED
                            .with_err(&format!("rollup value invalid: {other:?}")),
                    )
                }
            };
        }
    }
    // A sourced rollup is stored, but rolls up only where this stream allows it.
    if !allow_rollup_purge {
        accepted.rollup = None;
        accepted.purge_schedule = None;
    }
    if cfg.allow_msg_counter && accepted.incr.is_none() {
        return Check::Reject(errors::MESSAGE_INCR_MISSING.new());
    }
    let max = i64::from(cfg.max_msg_size);
    let (hlen, mlen) = (hdr.len() as i64, msg.len() as i64);
    if max >= 0 && (hlen > max || mlen > max - hlen) {
        return Check::Reject(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new());
    }
    if hdr.len() > usize::from(u16::MAX) {
        return Check::Reject(errors::STREAM_HEADER_EXCEEDS_MAXIMUM.new());
    }
    let _ = max_payload;
    match natsd_store::message_ttl(&hdr) {
        Ok(mut ttl) => {
            // With subject delete markers a TTL is at least the marker's TTL, so a marker
            // is never missed (unless a subject keeps one message anyway).
            let marker_secs = cfg.subject_delete_marker_ttl / 1_000_000_000;
            if ttl > 0
                && cfg.subject_delete_marker_ttl > 0
                && cfg.max_msgs_per != 1
                && ttl < marker_secs
            {
                ttl = marker_secs;
                let without = remove_header_if_present(hdr.to_vec(), MSG_TTL);
                hdr = Cow::Owned(crate::client::header::gen_header(
                    &without,
                    MSG_TTL,
                    &ttl.to_string(),
                ));
            }
            accepted.ttl = ttl;
        }
        Err(_) => return Check::Reject(errors::MESSAGE_TTL_INVALID.new()),
    }
    if let Cow::Owned(changed) = hdr {
        accepted.header = Some(changed);
    }
    Check::Accept(accepted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg() -> StreamConfig {
        StreamConfig {
            name: "S".into(),
            subjects: vec!["s.>".into()],
            max_msg_size: -1,
            ..Default::default()
        }
    }

    fn run(cfg: &StreamConfig, hdr: &[u8], msg: &[u8]) -> Check {
        check(
            cfg,
            5,
            "last",
            &DedupWindow::new(),
            "s.a",
            hdr,
            msg,
            1 << 20,
            Origin::default(),
            |_| Ok(stored(3)),
        )
    }

    fn stored(seq: u64) -> StoreMsg {
        StoreMsg {
            seq,
            ..Default::default()
        }
    }

    #[test]
    fn a_copied_increment_is_stored_as_it_is_unless_the_stream_counts() {
        let h = b"NATS/1.0\r\nNats-Incr: 2\r\n\r\n";
        let copied = |cfg: &StreamConfig| {
            check(
                cfg,
                0,
                "",
                &DedupWindow::new(),
                "s.a",
                h,
                br#"{"val":"2"}"#,
                1 << 20,
                Origin {
                    sourced: true,
                    ..Default::default()
                },
                |_| Err(StoreError::MsgNotFound),
            )
        };
        // Not a counter stream: neither refused (disabled, payload) nor applied.
        assert_eq!(copied(&cfg()), Check::Accept(Accepted::default()));
        // A counter stream applies it.
        let counting = StreamConfig {
            allow_msg_counter: true,
            ..cfg()
        };
        let Check::Accept(a) = copied(&counting) else {
            panic!("refused");
        };
        assert_eq!(a.incr, super::super::counter::BigInt::parse("2"));
        // Published (not copied), the same message is refused.
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::MESSAGE_INCR_DISABLED.new())
        );
        // A malformed increment is refused either way.
        let bad = b"NATS/1.0\r\nNats-Incr: x\r\n\r\n";
        let Check::Reject(e) = check(
            &cfg(),
            0,
            "",
            &DedupWindow::new(),
            "s.a",
            bad,
            b"",
            1 << 20,
            Origin {
                sourced: true,
                ..Default::default()
            },
            |_| Err(StoreError::MsgNotFound),
        ) else {
            panic!("accepted");
        };
        assert_eq!(e, errors::MESSAGE_INCR_INVALID.new());
    }

    #[test]
    fn plain_messages_are_accepted() {
        assert_eq!(run(&cfg(), b"", b"hi"), Check::Accept(Accepted::default()));
    }

    #[test]
    fn expected_headers_are_checked() {
        let h = b"NATS/1.0\r\nNats-Expected-Stream: T\r\n\r\n";
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::STREAM_NOT_MATCH.new())
        );
        let h = b"NATS/1.0\r\nNats-Expected-Last-Sequence: 4\r\n\r\n";
        let Check::Reject(e) = run(&cfg(), h, b"") else {
            panic!()
        };
        assert_eq!(e.description, "wrong last sequence: 5");
        let h = b"NATS/1.0\r\nNats-Expected-Last-Sequence: 5\r\n\r\n";
        assert!(matches!(run(&cfg(), h, b""), Check::Accept(_)));
        let h = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 3\r\n\r\n";
        assert!(matches!(run(&cfg(), h, b""), Check::Accept(_)));
        let h = b"NATS/1.0\r\nNats-Expected-Last-Msg-Id: other\r\n\r\n";
        let Check::Reject(e) = run(&cfg(), h, b"") else {
            panic!()
        };
        assert_eq!(e.description, "wrong last msg ID: last");
    }

    #[test]
    fn duplicates_are_found_in_the_window() {
        let mut d = DedupWindow::new();
        d.store("id-1", 7, 0);
        let h = b"NATS/1.0\r\nNats-Msg-Id: id-1\r\n\r\n";
        let c = check(
            &cfg(),
            7,
            "",
            &d,
            "s.a",
            h,
            b"",
            1 << 20,
            Origin::default(),
            |_| Ok(stored(0)),
        );
        assert_eq!(c, Check::Duplicate(7));
        let h = b"NATS/1.0\r\nNats-Msg-Id: id-2\r\n\r\n";
        let Check::Accept(a) = check(
            &cfg(),
            7,
            "",
            &d,
            "s.a",
            h,
            b"",
            1 << 20,
            Origin::default(),
            |_| Ok(stored(0)),
        ) else {
            panic!()
        };
        assert_eq!(a.msg_id, "id-2");
    }

    #[test]
    fn schedule_purges_need_schedules_enabled() {
        let h = b"NATS/1.0\r\nNats-Schedule-Next: purge\r\nNats-Scheduler: s.victim\r\n\r\n";
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::MESSAGE_SCHEDULES_DISABLED.new())
        );
        // Anything but a purge, or a purge of no other subject, names no valid scheduler.
        let h = b"NATS/1.0\r\nNats-Schedule-Next: later\r\nNats-Scheduler: s.victim\r\n\r\n";
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new())
        );
        let h = b"NATS/1.0\r\nNats-Schedule-Next: purge\r\nNats-Scheduler: s.a\r\n\r\n";
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::MESSAGE_SCHEDULES_SCHEDULER_INVALID.new())
        );
    }

    #[test]
    fn file_records_past_the_read_limit_are_refused() {
        let mut c = cfg();
        c.storage = StorageType::File;
        let big = vec![0u8; MAX_FILE_RECORD_LEN as usize];
        let Check::Reject(e) = run(&c, b"", &big) else {
            panic!()
        };
        assert!(e.is(errors::STREAM_STORE_FAILED));
        assert!(e.description.contains("message too large"), "{e:?}");
        // A memory store has no such limit.
        c.storage = StorageType::Memory;
        assert!(matches!(run(&c, b"", &big), Check::Accept(_)));
    }

    #[test]
    fn limits_and_disabled_features_are_refused() {
        let mut c = cfg();
        c.max_msg_size = 3;
        assert_eq!(
            run(&c, b"", b"toolong"),
            Check::Reject(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new())
        );
        let h = b"NATS/1.0\r\nNats-TTL: 1s\r\n\r\n";
        assert_eq!(
            run(&cfg(), h, b""),
            Check::Reject(errors::MESSAGE_TTL_DISABLED.new())
        );
        let h = b"NATS/1.0\r\nNats-Rollup: sub\r\n\r\n";
        let Check::Reject(e) = run(&cfg(), h, b"") else {
            panic!()
        };
        assert!(e.is(errors::STREAM_ROLLUP_FAILED));
        let mut c = cfg();
        c.sealed = true;
        assert_eq!(
            run(&c, b"", b""),
            Check::Reject(errors::STREAM_SEALED.new())
        );
    }
}
