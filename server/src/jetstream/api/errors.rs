//! JetStream API errors: the codes and texts clients see (Go's errors.json).
//!
//! A client sees an error as the `error` member of an API response:
//! `{"code":404,"err_code":10059,"description":"stream not found"}`. `code` is HTTP-like,
//! `err_code` identifies the error for programs, `description` is for people. The table of
//! all of them is in [`codes`] (re-exported here), each an [`ErrorCode`]; build the value to
//! send with [`ErrorCode::new`], [`ErrorCode::with`] (fills `{placeholders}`) or one of the
//! `unless` helpers, which pass an error through unchanged when it already is an
//! [`ApiError`] (Go's `Unless` option).
//!
//! # Store errors
//!
//! Which API error a [`StoreError`] becomes depends on the request that hit it, so most
//! of the mapping belongs to the handlers. What Go v2.14.5 sends, per call site:
//!
//! | Request | Store outcome | API error |
//! |---|---|---|
//! | publish (store a message, also the atomic-batch limit checks) | `MaxMsgs`, `MaxBytes`, `MaxMsgsPerSubject`, `MsgTooLarge` | [`STREAM_STORE_FAILED`] with the store error's text: [`from_store_error`] |
//! | publish | `Closed` | [`STREAM_STORE_FAILED`] `"store is closed"` |
//! | publish | anything else (I/O) | no reply; the stream records a write error |
//! | publish with an expected last sequence per subject | loading the last message fails (other than `MsgNotFound` when `0` was expected) | [`STREAM_WRONG_LAST_SEQUENCE`] with `{seq}` = `0` |
//! | `MSG.GET` | any error loading the message | [`NO_MESSAGE_FOUND`] |
//! | `MSG.DELETE` | `Err(e)` | [`STREAM_MSG_DELETE_FAILED`] with `{err}` = text of `e` (a file store reports `"no message found"` / `"stream store EOF"`) |
//! | `MSG.DELETE` | `Ok(false)` (a memory store's missing message) | [`SEQUENCE_NOT_FOUND`] with `{seq}` |
//! | `STREAM.PURGE` | any error | [`STREAM_GENERAL_ERROR`] with `{err}` |
//! | `STREAM.CREATE` | opening the store fails | [`STREAM_STORE_FAILED`] with `{err}` |
//! | consumer create / update | creating or updating the consumer store fails | [`CONSUMER_STORE_FAILED`] with `{err}` |
//! | `STREAM.SNAPSHOT` / `STREAM.RESTORE` | any error | [`STREAM_SNAPSHOT`] / [`STREAM_RESTORE`] with `{err}` |
//! | `DIRECT.GET` (multi-last) | `TooManyResults` | not an API error: a `413 Too Many Results` status header |
//!
//! The replies carry these as JSON, and Go's encoder escapes `<`, `>` and `&` (as
//! `\u003c`, ...); several descriptions contain `>` (`"replicas > 1 not supported ..."`),
//! so whoever serialises the response must escape the same way.

pub mod codes;

use std::error::Error;
use std::fmt;

use natsd_store::StoreError;
use serde::{Deserialize, Serialize};

pub use codes::*;

/// The error member of a JetStream API response. Field names, order and omissions are
/// Go's: `err_code` is left out when `0`, `description` when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiError {
    pub code: u16,
    #[serde(skip_serializing_if = "is_zero")]
    pub err_code: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

impl ApiError {
    /// Whether this is the error `code` identifies (same `err_code`; the description may
    /// differ by its filled placeholders).
    pub fn is(&self, code: ErrorCode) -> bool {
        self.err_code == code.err_code
    }

    /// Whether this is any of `codes`.
    pub fn is_any(&self, codes: &[ErrorCode]) -> bool {
        codes.iter().any(|c| self.is(*c))
    }

    /// `err` itself when it is an [`ApiError`], else `None`. Only `err` is looked at, not
    /// its `source()` chain, as Go only checks the error's own type.
    pub fn downcast<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a ApiError> {
        err.downcast_ref::<ApiError>()
    }

    /// Go's `Unless(err)`: `err` unchanged when it already is an [`ApiError`], otherwise the
    /// error `fallback` builds.
    pub fn unless(err: &(dyn Error + 'static), fallback: impl FnOnce() -> ApiError) -> ApiError {
        match Self::downcast(err) {
            Some(api) => api.clone(),
            None => fallback(),
        }
    }
}

/// Go's `Error()` text: the description followed by the error code in parentheses.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description, self.err_code)
    }
}

impl Error for ApiError {}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        code.new()
    }
}

/// One entry of the error table: the codes and the description template, whose
/// `{placeholders}` (`{err}`, `{seq}`, `{subject}`, ...) are filled by [`ErrorCode::with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    pub code: u16,
    pub err_code: u16,
    pub description: &'static str,
}

impl ErrorCode {
    /// The error as sent, for an entry without placeholders.
    // Reads as Go's `NewJSXxxError()`: `STREAM_NOT_FOUND.new()`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(self) -> ApiError {
        ApiError {
            code: self.code,
            err_code: self.err_code,
            description: self.description.to_owned(),
        }
    }

    /// The error with each placeholder of `replacements` (`("{seq}", &5)`) replaced by the
    /// value's `Display` text, as Go's `strings.Replacer` does: one left-to-right pass, at
    /// each position the first listed placeholder that matches wins, replaced text is not
    /// scanned again, and placeholders not listed stay as they are. Values are shown with
    /// `Display`, so a value whose Go `%v` differs (a `time.Duration`) must be formatted
    /// Go's way by the caller.
    pub fn with(self, replacements: &[(&str, &dyn fmt::Display)]) -> ApiError {
        let mut description = String::with_capacity(self.description.len() + 16);
        let mut rest = self.description;
        'scan: while !rest.is_empty() {
            for (placeholder, value) in replacements {
                if !placeholder.is_empty() && rest.starts_with(placeholder) {
                    use fmt::Write as _;
                    // Writing into a String cannot fail.
                    let _ = write!(description, "{value}");
                    rest = &rest[placeholder.len()..];
                    continue 'scan;
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                description.push(c);
            }
            rest = chars.as_str();
        }
        ApiError {
            code: self.code,
            err_code: self.err_code,
            description,
        }
    }

    /// The error with `{err}` replaced by `err`'s text (Go's `NewJSXxxError(err)`).
    pub fn with_err(self, err: &dyn fmt::Display) -> ApiError {
        self.with(&[("{err}", err)])
    }

    /// `err` unchanged when it is an [`ApiError`], else this error without placeholders
    /// (Go's `NewJSXxxError(Unless(err))`).
    pub fn unless(self, err: &(dyn Error + 'static)) -> ApiError {
        ApiError::unless(err, || self.new())
    }

    /// `err` unchanged when it is an [`ApiError`], else this error with `{err}` replaced by
    /// `err`'s text (Go's `NewJSXxxError(err, Unless(err))`).
    pub fn with_err_unless(self, err: &(dyn Error + 'static)) -> ApiError {
        ApiError::unless(err, || self.with_err(&err))
    }

    /// The table entry with this `err_code`.
    pub fn lookup(err_code: u16) -> Option<ErrorCode> {
        ALL.binary_search_by_key(&err_code, |c| c.err_code)
            .ok()
            .map(|i| ALL[i])
    }
}

/// The API error for a store error whose mapping Go applies at every call site: a message
/// refused by a discard-new limit or for its size (these only come from storing a
/// message) becomes [`STREAM_STORE_FAILED`] carrying the store's text, e.g.
/// `{"code":503,"err_code":10077,"description":"maximum messages exceeded"}`. `None` for
/// the others, whose API error depends on the request (see the module documentation).
pub fn from_store_error(err: &StoreError) -> Option<ApiError> {
    match err {
        StoreError::MaxMsgs
        | StoreError::MaxBytes
        | StoreError::MaxMsgsPerSubject
        | StoreError::MsgTooLarge => Some(STREAM_STORE_FAILED.with_err(err)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn json(e: &ApiError) -> String {
        serde_json::to_string(e).unwrap()
    }

    #[test]
    fn json_is_gos_bytes() {
        assert_eq!(
            json(&STREAM_NOT_FOUND.new()),
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#
        );
        assert_eq!(
            json(&CONSUMER_NOT_FOUND.new()),
            r#"{"code":404,"err_code":10014,"description":"consumer not found"}"#
        );
        assert_eq!(
            json(&STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &3u64)])),
            r#"{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}"#
        );
        assert_eq!(
            json(&STREAM_NAME_EXIST.new()),
            r#"{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}"#
        );
        assert_eq!(
            json(&NOT_ENABLED_FOR_ACCOUNT.new()),
            r#"{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}"#
        );
    }

    #[test]
    fn json_omits_zero_err_code_and_empty_description() {
        let bare = ApiError {
            code: 503,
            err_code: 0,
            description: String::new(),
        };
        assert_eq!(json(&bare), r#"{"code":503}"#);
        let no_text = ApiError {
            code: 400,
            err_code: 10003,
            description: String::new(),
        };
        assert_eq!(json(&no_text), r#"{"code":400,"err_code":10003}"#);
        // `code` is always there, even when zero.
        assert_eq!(json(&ApiError::default()), r#"{"code":0}"#);
    }

    #[test]
    fn json_parses_back_and_tolerates_missing_fields() {
        let e: ApiError = serde_json::from_str(
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#,
        )
        .unwrap();
        assert_eq!(e, STREAM_NOT_FOUND.new());
        let e: ApiError = serde_json::from_str(r#"{"code":503}"#).unwrap();
        assert_eq!(
            e,
            ApiError {
                code: 503,
                err_code: 0,
                description: String::new()
            }
        );
        let e: ApiError =
            serde_json::from_str(r#"{"description":"x","extra":1,"err_code":7}"#).unwrap();
        assert_eq!((e.code, e.err_code, e.description.as_str()), (0, 7, "x"));
    }

    #[test]
    fn display_is_gos_error_text() {
        assert_eq!(
            STREAM_NOT_FOUND.new().to_string(),
            "stream not found (10059)"
        );
        assert_eq!(
            STREAM_STORE_FAILED
                .with_err(&"maximum messages per subject exceeded")
                .to_string(),
            "maximum messages per subject exceeded (10077)"
        );
        let as_error: &dyn Error = &NO_MESSAGE_FOUND.new();
        assert_eq!(as_error.to_string(), "no message found (10037)");
    }

    #[test]
    fn placeholders_are_replaced() {
        let e = STREAM_EXTERNAL_DEL_PREFIX_OVERLAPS
            .with(&[("{prefix}", &"dlv"), ("{subject}", &"foo.>")]);
        assert_eq!(
            e.description,
            "stream external delivery prefix dlv overlaps with stream subject foo.>"
        );
        assert_eq!((e.code, e.err_code), (400, 10022));

        assert_eq!(
            SEQUENCE_NOT_FOUND.with(&[("{seq}", &22u64)]).description,
            "sequence 22 not found"
        );
        assert_eq!(
            RESTORE_SUBSCRIBE_FAILED
                .with(&[("{subject}", &"$JS.SNAP.1"), ("{err}", &StoreError::Closed)])
                .description,
            "JetStream unable to subscribe to restore snapshot $JS.SNAP.1: store is closed"
        );
        // An ApiError as the value shows Go's `Error()` text.
        assert_eq!(
            STREAM_CREATE.with_err(&STREAM_NOT_FOUND.new()).description,
            "stream not found (10059)"
        );
    }

    #[test]
    fn placeholder_replacement_follows_gos_replacer() {
        let code = ErrorCode {
            code: 400,
            err_code: 1,
            description: "{a}-{b}-{a}-{c}",
        };
        // Every occurrence, placeholders not given stay, replacements are not rescanned.
        assert_eq!(
            code.with(&[("{a}", &"{b}"), ("{b}", &2)]).description,
            "{b}-2-{b}-{c}"
        );
        // At one position the first listed match wins.
        let overlapping = ErrorCode {
            code: 400,
            err_code: 1,
            description: "abc",
        };
        assert_eq!(
            overlapping.with(&[("ab", &"X"), ("abc", &"Y")]).description,
            "Xc"
        );
        assert_eq!(
            overlapping.with(&[("abc", &"Y"), ("ab", &"X")]).description,
            "Y"
        );
        // An empty placeholder matches nothing; non-ASCII text is kept intact.
        let text = ErrorCode {
            code: 400,
            err_code: 1,
            description: "é {err} ü",
        };
        assert_eq!(
            text.with(&[("", &"Z"), ("{err}", &"ß")]).description,
            "é ß ü"
        );
        assert_eq!(STREAM_NOT_FOUND.with(&[]), STREAM_NOT_FOUND.new());
    }

    #[test]
    fn unless_passes_api_errors_through() {
        let api = STREAM_NOT_FOUND.new();
        let store = StoreError::Closed;

        assert_eq!(STREAM_CREATE.with_err_unless(&api), api);
        assert_eq!(
            STREAM_CREATE.with_err_unless(&store),
            ApiError {
                code: 500,
                err_code: 10049,
                description: "store is closed".into()
            }
        );
        assert_eq!(CONSUMER_NOT_FOUND.unless(&api), api);
        assert_eq!(CONSUMER_NOT_FOUND.unless(&store), CONSUMER_NOT_FOUND.new());
        assert_eq!(ApiError::unless(&api, || BAD_REQUEST.new()), api);
        assert_eq!(
            ApiError::unless(&store, || BAD_REQUEST.new()),
            BAD_REQUEST.new()
        );

        // Works through a boxed error too; only the error itself is inspected.
        let boxed: Box<dyn Error + Send + Sync> = Box::new(api.clone());
        assert_eq!(ApiError::downcast(&*boxed), Some(&api));
        assert_eq!(ApiError::downcast(&store), None);
    }

    #[test]
    fn is_compares_err_code() {
        let e = STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &9u64)]);
        assert!(e.is(STREAM_WRONG_LAST_SEQUENCE));
        assert!(!e.is(STREAM_WRONG_LAST_SEQUENCE_CONSTANT));
        assert!(e.is_any(&[STREAM_NOT_FOUND, STREAM_WRONG_LAST_SEQUENCE]));
        assert!(!e.is_any(&[STREAM_NOT_FOUND, CONSUMER_NOT_FOUND]));
        assert!(!e.is_any(&[]));
        // The same err_code with another code or text still is that error.
        let other = ApiError {
            code: 500,
            err_code: 10059,
            description: "x".into(),
        };
        assert!(other.is(STREAM_NOT_FOUND));
    }

    #[test]
    fn table_entries_are_gos() {
        let spot_checks = [
            (
                ACCOUNT_RESOURCES_EXCEEDED,
                400,
                10002,
                "resource limits exceeded for account",
            ),
            (STREAM_STORE_FAILED, 503, 10077, "{err}"),
            (STREAM_GENERAL_ERROR, 500, 10051, "{err}"),
            (STREAM_MSG_DELETE_FAILED, 500, 10057, "{err}"),
            (
                CONSUMER_STORE_FAILED,
                500,
                10104,
                "error creating store for consumer: {err}",
            ),
            (
                STREAM_REPLICAS_NOT_SUPPORTED,
                500,
                10074,
                "replicas > 1 not supported in non-clustered mode",
            ),
            (
                CONSUMER_BAD_DURABLE_NAME,
                400,
                10103,
                "durable name can not contain '.', '*', '>'",
            ),
            (STREAM_MIN_LAST_SEQ, 412, 10180, "min last sequence"),
            (STREAM_TOO_MANY_REQUESTS, 429, 10167, "too many requests"),
            (
                MESSAGE_SCHEDULES_TIME_ZONE_INVALID,
                400,
                10223,
                "message schedules time zone is invalid",
            ),
        ];
        for (entry, code, err_code, description) in spot_checks {
            assert_eq!(
                (entry.code, entry.err_code, entry.description),
                (code, err_code, description)
            );
        }
    }

    #[test]
    fn table_has_every_entry_of_errors_json() {
        // errors.json of Go nats-server v2.14.5 has 222 entries.
        assert_eq!(ALL.len(), 222);
    }

    #[test]
    fn err_codes_are_unique_and_sorted() {
        let unique: HashSet<u16> = ALL.iter().map(|c| c.err_code).collect();
        assert_eq!(unique.len(), ALL.len());
        assert!(ALL.windows(2).all(|w| w[0].err_code < w[1].err_code));
        for entry in ALL {
            assert!(
                matches!(entry.code, 400 | 404 | 409 | 412 | 429 | 500 | 503),
                "{entry:?}"
            );
            assert!(!entry.description.is_empty(), "{entry:?}");
        }
    }

    #[test]
    fn lookup_by_err_code() {
        assert_eq!(ErrorCode::lookup(10059), Some(STREAM_NOT_FOUND));
        assert_eq!(ErrorCode::lookup(10002), Some(ACCOUNT_RESOURCES_EXCEEDED));
        assert_eq!(
            ErrorCode::lookup(10223),
            Some(MESSAGE_SCHEDULES_TIME_ZONE_INVALID)
        );
        assert_eq!(ErrorCode::lookup(10001), None);
        assert_eq!(ErrorCode::lookup(0), None);
        for entry in ALL {
            assert_eq!(ErrorCode::lookup(entry.err_code), Some(*entry));
        }
    }

    #[test]
    fn store_errors_with_one_mapping() {
        let cases = [
            (StoreError::MaxMsgs, "maximum messages exceeded"),
            (StoreError::MaxBytes, "maximum bytes exceeded"),
            (
                StoreError::MaxMsgsPerSubject,
                "maximum messages per subject exceeded",
            ),
            (StoreError::MsgTooLarge, "message too large"),
        ];
        for (err, text) in cases {
            let api = from_store_error(&err).unwrap();
            assert!(api.is(STREAM_STORE_FAILED));
            assert_eq!(
                json(&api),
                format!(r#"{{"code":503,"err_code":10077,"description":"{text}"}}"#)
            );
        }
        for err in [
            StoreError::Closed,
            StoreError::MsgNotFound,
            StoreError::Eof,
            StoreError::TooManyResults,
            StoreError::Other("boom".into()),
        ] {
            assert_eq!(from_store_error(&err), None, "{err:?}");
        }
    }
}
