//! The text of protocol tracing (`-V`): what a connection received (`<<-`) and sent
//! (`->>`), in nats-server's words. Pure formatting; the reader logs the lines when the
//! server traces.

use crate::logging::remove_secrets_from_trace;
use crate::protocol::parser::go_quote_into;
use crate::protocol::{ClientOp, PubMsg};
use std::fmt::Write;

/// Direction of a traced operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Received from the connection: `<<-`.
    In,
    /// Sent to the connection: `->>`.
    Out,
}

impl Dir {
    fn prefix(self) -> &'static str {
        match self {
            Dir::In => "<<-",
            Dir::Out => "->>",
        }
    }
}

/// `<<- [OP arg]` (or `[OP]` without an argument), as Go prints an operation.
/// Logs a message queued for the connection labelled `label`: the MSG/HMSG line and its
/// payload (`->> MSG_PAYLOAD: [...]`, within `max_traced_msg_len`).
#[allow(clippy::too_many_arguments)]
pub fn log_delivery(
    logging: &crate::logging::Logging,
    opts: &crate::config::Options,
    label: &str,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    data: &[u8],
) {
    let line = delivery_op(subject, sid, reply, header_len, data.len());
    crate::trace!(logging, "{label} - {line}");
    if let Some(line) = msg_payload(
        Dir::Out,
        data,
        header_len.unwrap_or(0),
        opts.max_traced_msg_len,
        opts.trace_headers,
    ) {
        crate::trace!(logging, "{label} - {line}");
    }
}

pub fn op(dir: Dir, name: &str, arg: Option<&[u8]>) -> String {
    let mut s = String::with_capacity(8 + name.len() + arg.map_or(0, <[u8]>::len));
    s.push_str(dir.prefix());
    s.push_str(" [");
    s.push_str(name);
    if let Some(a) = arg {
        s.push(' ');
        s.push_str(&String::from_utf8_lossy(a));
    }
    s.push(']');
    s
}

/// The trace line of an operation received from a client. Arguments are rebuilt from the
/// parsed operation (single spaces); CONNECT has its secrets hidden. `None` for what Go
/// does not trace (a client's `+OK`, `-ERR` and `INFO`).
pub fn client_op(o: &ClientOp) -> Option<String> {
    let line = match o {
        ClientOp::Connect(json) => op(Dir::In, "CONNECT", Some(&remove_secrets_from_trace(json))),
        ClientOp::Pub(m) => op(
            Dir::In,
            if m.header_len.is_some() {
                "HPUB"
            } else {
                "PUB"
            },
            Some(pub_arg(m).as_bytes()),
        ),
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => {
            let mut a = String::from_utf8_lossy(subject).into_owned();
            if let Some(q) = queue {
                a.push(' ');
                a.push_str(&String::from_utf8_lossy(q));
            }
            a.push(' ');
            a.push_str(&String::from_utf8_lossy(sid));
            op(Dir::In, "SUB", Some(a.as_bytes()))
        }
        ClientOp::Unsub { sid, max } => {
            let mut a = String::from_utf8_lossy(sid).into_owned();
            if let Some(m) = max {
                let _ = write!(a, " {m}");
            }
            op(Dir::In, "UNSUB", Some(a.as_bytes()))
        }
        ClientOp::Ping => op(Dir::In, "PING", None),
        ClientOp::Pong => op(Dir::In, "PONG", None),
        ClientOp::Ok | ClientOp::Err(_) | ClientOp::Info(_) => return None,
    };
    Some(line)
}

/// `subject [reply] size` of a PUB, `subject [reply] header_size total_size` of an HPUB.
fn pub_arg(m: &PubMsg) -> String {
    let mut a = String::from_utf8_lossy(&m.subject).into_owned();
    if let Some(r) = &m.reply {
        a.push(' ');
        a.push_str(&String::from_utf8_lossy(r));
    }
    if let Some(h) = m.header_len {
        let _ = write!(a, " {h}");
    }
    let _ = write!(a, " {}", m.payload.len());
    a
}

/// The line of a delivered message, as traced: `->> [MSG subject sid [reply] size]`, or
/// with `HMSG` and the header size before the total when headers are delivered.
pub fn delivery_op(
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    size: usize,
) -> String {
    let mut a = String::from_utf8_lossy(subject).into_owned();
    a.push(' ');
    a.push_str(&String::from_utf8_lossy(sid));
    if let Some(r) = reply {
        a.push(' ');
        a.push_str(&String::from_utf8_lossy(r));
    }
    if let Some(h) = header_len {
        let _ = write!(a, " {h}");
    }
    let _ = write!(a, " {size}");
    let name = if header_len.is_some() { "HMSG" } else { "MSG" };
    op(Dir::Out, name, Some(a.as_bytes()))
}

/// The `MSG_PAYLOAD` trace line of a message (`msg`: headers then body, without the
/// trailing CRLF; `header_len`: size of the header block, 0 without headers).
///
/// With `headers_only` (`trace_headers`), only the header block is shown, without its
/// closing blank line, and nothing for a message without headers. Nothing is traced for
/// an empty payload. Past `max_len` bytes (0: no limit) the text is cut and ends in `...`.
pub fn msg_payload(
    dir: Dir,
    msg: &[u8],
    header_len: usize,
    max_len: usize,
    headers_only: bool,
) -> Option<String> {
    let shown = if headers_only {
        if header_len == 0 || msg.len() < header_len {
            return None;
        }
        // The header block ends with CRLF and an empty line: leave both out.
        &msg[..header_len.saturating_sub(4)]
    } else {
        msg
    };
    if shown.is_empty() {
        return None;
    }
    let mut s = String::with_capacity(shown.len().min(max_len.max(64)) + 24);
    s.push_str(dir.prefix());
    s.push_str(" MSG_PAYLOAD: [");
    if max_len > 0 && shown.len() > max_len {
        let mut q = String::new();
        go_quote_into(&mut q, &shown[..max_len]);
        // The quoted text without its closing quote, then `..."`.
        q.pop();
        s.push_str(&q);
        s.push_str("...\"");
    } else {
        go_quote_into(&mut s, shown);
    }
    s.push(']');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn ops_like_go() {
        assert_eq!(op(Dir::Out, "PONG", None), "->> [PONG]");
        assert_eq!(
            op(Dir::Out, "-ERR", Some(b"Unknown Protocol Operation")),
            "->> [-ERR Unknown Protocol Operation]"
        );
        let m = PubMsg {
            subject: Bytes::from_static(b"foo"),
            reply: Some(Bytes::from_static(b"bar")),
            header_len: None,
            payload: Bytes::from_static(b"hello"),
        };
        assert_eq!(
            client_op(&ClientOp::Pub(m)).as_deref(),
            Some("<<- [PUB foo bar 5]")
        );
        assert_eq!(
            client_op(&ClientOp::Unsub {
                sid: Bytes::from_static(b"1"),
                max: Some(5)
            })
            .as_deref(),
            Some("<<- [UNSUB 1 5]")
        );
        assert_eq!(
            client_op(&ClientOp::Connect(Bytes::from_static(
                br#"{"user":"a","pass":"secret"}"#
            )))
            .as_deref(),
            Some(r#"<<- [CONNECT {"user":"a","pass":"[REDACTED]"}]"#)
        );
        assert_eq!(
            delivery_op(b"foo", b"1", None, Some(12), 14),
            "->> [HMSG foo 1 12 14]"
        );
    }

    #[test]
    fn payload_cut_and_headers_only() {
        let p = |m: &[u8], h, max, ho| msg_payload(Dir::In, m, h, max, ho);
        assert_eq!(
            p(b"over length", 0, 10, false).as_deref(),
            Some(r#"<<- MSG_PAYLOAD: ["over lengt..."]"#)
        );
        assert_eq!(
            p(b"normal", 0, 10, false).as_deref(),
            Some(r#"<<- MSG_PAYLOAD: ["normal"]"#)
        );
        let hdr = b"NATS/1.0\r\nFoo: 1\r\n\r\n";
        assert_eq!(
            p(hdr, hdr.len(), 0, true).as_deref(),
            Some(r#"<<- MSG_PAYLOAD: ["NATS/1.0\r\nFoo: 1"]"#)
        );
        assert_eq!(p(b"test", 0, 0, true), None);
        assert_eq!(p(b"", 0, 0, false), None);
    }
}
