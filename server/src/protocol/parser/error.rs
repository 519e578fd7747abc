//! Fatal protocol errors and the texts nats-server uses for them.

use super::state::{ConnKind, ParseState};
use crate::closed::ClosedState;
use std::fmt::{self, Write};

/// How many bytes of the offending input a parse-error log line quotes.
pub const PROTO_SNIPPET_SIZE: usize = 32;
/// How many bytes of an over-long control line a log line quotes.
pub const MAX_CONTROL_LINE_SNIPPET_SIZE: usize = 128;

/// The class of a [`ProtocolError`]; it fixes what the client is told and why the
/// connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolErrorKind {
    /// A byte that no operation allows here (unknown op name, missing CRLF after a payload,
    /// a payload longer than announced).
    UnknownOperation,
    /// A control line longer than `max_control_line`.
    MaxControlLine,
    /// A message larger than `max_payload`, detected from the announced size.
    MaxPayload,
    /// Wrong number or form of the arguments of an operation (`processPub Parse Error`, ...).
    /// nats-server sends nothing to the client for these; it logs and closes.
    BadArguments,
    /// `HPUB` on a connection that did not negotiate headers.
    HeadersNotSupported,
    /// Something other than `CONNECT` first on a connection that must authenticate.
    /// Nothing was consumed: see [`super::Parser::set_awaiting_connect`].
    AuthRequired,
}

/// A fatal protocol error: the connection layer sends `-ERR '<client_err_text>'` (when there
/// is one), logs the `Display` text and closes with [`ProtocolError::close_reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    kind: ProtocolErrorKind,
    log: String,
    /// For an HPUB over `max_payload`: what message tracing needs to report it.
    oversized: Option<Box<OversizedHpub>>,
}

/// An HPUB refused for its size: its subject and size, and the part of its header block
/// that had arrived with the control line (never read beyond the announced header size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OversizedHpub {
    pub subject: bytes::Bytes,
    pub size: usize,
    pub header: bytes::Bytes,
}

impl ProtocolError {
    pub(crate) fn new(kind: ProtocolErrorKind, log: String) -> Self {
        ProtocolError {
            kind,
            log,
            oversized: None,
        }
    }

    /// Attaches what tracing needs of an HPUB over `max_payload`.
    pub(crate) fn with_oversized_hpub(mut self, hpub: OversizedHpub) -> Self {
        self.oversized = Some(Box::new(hpub));
        self
    }

    /// The HPUB this max payload error refused, when it was one.
    pub fn oversized_hpub(&self) -> Option<&OversizedHpub> {
        self.oversized.as_deref()
    }

    pub(crate) fn unknown_operation(
        kind: ConnKind,
        state: ParseState,
        at: usize,
        buf: &[u8],
    ) -> Self {
        let log = format!(
            "{} parser ERROR, state={}, i={}: proto='{}...'",
            kind.as_str(),
            state.go_number(),
            at,
            proto_snippet(at, PROTO_SNIPPET_SIZE, buf)
        );
        Self::new(ProtocolErrorKind::UnknownOperation, log)
    }

    pub(crate) fn max_control_line() -> Self {
        Self::new(
            ProtocolErrorKind::MaxControlLine,
            "maximum control line exceeded".to_owned(),
        )
    }

    pub(crate) fn max_payload(size: usize, max: usize) -> Self {
        Self::new(
            ProtocolErrorKind::MaxPayload,
            format!("maximum payload exceeded: {size} vs {max}"),
        )
    }

    pub(crate) fn headers_not_supported() -> Self {
        Self::new(
            ProtocolErrorKind::HeadersNotSupported,
            "message headers not supported".to_owned(),
        )
    }

    pub(crate) fn auth_required() -> Self {
        Self::new(
            ProtocolErrorKind::AuthRequired,
            "authentication error".to_owned(),
        )
    }

    /// `<what> <problem>: "<arg quoted like Go's %q>"`, the form of the PUB/SUB/UNSUB errors.
    pub(crate) fn bad_args_quoted(what: &str, arg: &[u8]) -> Self {
        let mut log = String::with_capacity(what.len() + arg.len() + 4);
        log.push_str(what);
        log.push_str(": ");
        go_quote_into(&mut log, arg);
        Self::new(ProtocolErrorKind::BadArguments, log)
    }

    /// `<what> <problem>: '<text>'`, the form of the routed message errors.
    pub(crate) fn bad_args_plain(what: &str, text: &str) -> Self {
        Self::new(ProtocolErrorKind::BadArguments, format!("{what}: '{text}'"))
    }

    pub fn kind(&self) -> ProtocolErrorKind {
        self.kind
    }

    /// What goes inside `-ERR '...'` to the client, or `None` when nats-server closes the
    /// connection without telling the client why.
    pub fn client_err_text(&self) -> Option<&'static str> {
        match self.kind {
            ProtocolErrorKind::UnknownOperation => Some("Unknown Protocol Operation"),
            ProtocolErrorKind::MaxControlLine => Some("maximum control line exceeded"),
            ProtocolErrorKind::MaxPayload => Some("Maximum Payload Violation"),
            ProtocolErrorKind::AuthRequired => Some("Authorization Violation"),
            ProtocolErrorKind::BadArguments | ProtocolErrorKind::HeadersNotSupported => None,
        }
    }

    /// Why the connection is closed, as `/connz?state=closed` reports it.
    pub fn close_reason(&self) -> ClosedState {
        match self.kind {
            ProtocolErrorKind::MaxControlLine => ClosedState::MaxControlLineExceeded,
            ProtocolErrorKind::MaxPayload => ClosedState::MaxPayloadExceeded,
            ProtocolErrorKind::AuthRequired => ClosedState::AuthenticationViolation,
            ProtocolErrorKind::UnknownOperation
            | ProtocolErrorKind::BadArguments
            | ProtocolErrorKind::HeadersNotSupported => ClosedState::ProtocolViolation,
        }
    }
}

/// The log text nats-server writes for this error.
impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.log)
    }
}

impl std::error::Error for ProtocolError {}

/// Up to `max` bytes of `buf` from `start`, quoted like Go's `%q`, for log lines.
///
/// Reproduces nats-server's quirk: when the window runs past the end of `buf`, it stops one
/// byte short of the end.
pub fn proto_snippet(start: usize, max: usize, buf: &[u8]) -> String {
    if start >= buf.len() {
        return "\"\"".to_owned();
    }
    let mut stop = start.saturating_add(max);
    if stop > buf.len() {
        stop = buf.len() - 1;
    }
    let mut out = String::new();
    go_quote_into(&mut out, buf.get(start..stop).unwrap_or_default());
    out
}

/// Appends `bytes` as a double-quoted Go string literal (Go's `%q` / `strconv.Quote`):
/// printable UTF-8 as is, `\n`-style escapes for the usual controls, `\xNN` for invalid
/// bytes and other ASCII controls, `\uNNNN` for other non-printable characters.
pub fn go_quote_into(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    if (c as u32) < 0x10000 {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    } else {
                        let _ = write!(out, "\\U{:08x}", c as u32);
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
}

/// Formats a list of fields the way Go prints a `[][]byte` with `%s`: `[a b c]`.
pub(crate) fn go_fields<'a>(fields: impl Iterator<Item = &'a [u8]>) -> String {
    let mut out = String::from("[");
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&String::from_utf8_lossy(f));
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(b: &[u8]) -> String {
        let mut s = String::new();
        go_quote_into(&mut s, b);
        s
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote(b"foo 5"), r#""foo 5""#);
        assert_eq!(quote(b"a\r\n\t\"\\"), r#""a\r\n\t\"\\""#);
        assert_eq!(quote(b"\x00\x7f\xff"), r#""\x00\x7f\xff""#);
        assert_eq!(quote("é".as_bytes()), "\"é\"");
        assert_eq!(quote("\u{85}".as_bytes()), r#""\u0085""#);
    }

    #[test]
    fn texts_and_reasons() {
        let e = ProtocolError::max_control_line();
        assert_eq!(e.client_err_text(), Some("maximum control line exceeded"));
        assert_eq!(e.close_reason(), ClosedState::MaxControlLineExceeded);
        let e = ProtocolError::max_payload(2000, 1000);
        assert_eq!(e.to_string(), "maximum payload exceeded: 2000 vs 1000");
        assert_eq!(e.client_err_text(), Some("Maximum Payload Violation"));
        let e = ProtocolError::bad_args_quoted("processPub Parse Error", b"foo");
        assert_eq!(e.to_string(), r#"processPub Parse Error: "foo""#);
        assert_eq!(e.client_err_text(), None);
        assert_eq!(e.close_reason(), ClosedState::ProtocolViolation);
        let e = ProtocolError::unknown_operation(ConnKind::Client, ParseState::OpStart, 0, b"xxx");
        assert_eq!(
            e.to_string(),
            r#"Client parser ERROR, state=0, i=0: proto='"xx"...'"#
        );
    }
}
