//! Encoders for what the server writes to clients: INFO, MSG, HMSG, PING/PONG, +OK, -ERR.
//! They append to a caller-owned buffer so the delivery path never allocates per message.

use bytes::{BufMut, BytesMut};

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";
pub const OK: &[u8] = b"+OK\r\n";

/// Appends `MSG <subject> <sid> [reply] <size>\r\n<payload>\r\n`.
#[inline]
pub fn msg(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
    message(out, b"MSG ", subject, sid, reply, None, payload);
}

/// Appends `HMSG <subject> <sid> [reply] <hdr_len> <total_len>\r\n<headers+body>\r\n`.
#[inline]
pub fn hmsg(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: usize,
    payload: &[u8],
) {
    message(
        out,
        b"HMSG ",
        subject,
        sid,
        reply,
        Some(header_len),
        payload,
    );
}

/// MSG and HMSG differ only in the op and the header size before the total size.
#[inline]
fn message(
    out: &mut BytesMut,
    op: &[u8],
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    payload: &[u8],
) {
    let mut hnum = itoa::Buffer::new();
    let mut tnum = itoa::Buffer::new();
    let hdr = header_len.map(|h| hnum.format(h).as_bytes());
    let total = tnum.format(payload.len()).as_bytes();
    out.reserve(
        op.len()
            + subject.len()
            + sid.len()
            + 2
            + reply.map_or(0, |r| r.len() + 1)
            + hdr.map_or(0, |h| h.len() + 1)
            + total.len()
            + payload.len()
            + 4,
    );
    out.put_slice(op);
    out.put_slice(subject);
    out.put_u8(b' ');
    out.put_slice(sid);
    out.put_u8(b' ');
    if let Some(r) = reply {
        out.put_slice(r);
        out.put_u8(b' ');
    }
    if let Some(h) = hdr {
        out.put_slice(h);
        out.put_u8(b' ');
    }
    out.put_slice(total);
    out.put_slice(b"\r\n");
    out.put_slice(payload);
    out.put_slice(b"\r\n");
}

/// Appends `-ERR '<text>'\r\n`, the form every nats-server error takes on the wire.
pub fn err(out: &mut BytesMut, text: &str) {
    out.reserve(text.len() + 9);
    out.put_slice(b"-ERR '");
    out.put_slice(text.as_bytes());
    out.put_slice(b"'\r\n");
}

/// Appends `INFO <json> \r\n` (nats-server puts a space before the CRLF too).
pub fn info(out: &mut BytesMut, json: &[u8]) {
    out.reserve(json.len() + 8);
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(b" \r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_without_reply() {
        let mut b = BytesMut::new();
        msg(&mut b, b"foo", b"1", None, b"hello");
        assert_eq!(&b[..], b"MSG foo 1 5\r\nhello\r\n");
    }

    #[test]
    fn msg_with_reply_and_empty_payload() {
        let mut b = BytesMut::new();
        msg(&mut b, b"foo", b"22", Some(b"_INBOX.x"), b"");
        assert_eq!(&b[..], b"MSG foo 22 _INBOX.x 0\r\n\r\n");
    }

    #[test]
    fn hmsg_counts_headers_in_total() {
        let mut b = BytesMut::new();
        hmsg(
            &mut b,
            b"foo",
            b"1",
            Some(b"bar"),
            12,
            b"NATS/1.0\r\n\r\nhi",
        );
        assert_eq!(&b[..], b"HMSG foo 1 bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    }

    #[test]
    fn info_has_a_space_before_crlf_like_go() {
        let mut b = BytesMut::new();
        info(&mut b, b"{}");
        assert_eq!(&b[..], b"INFO {} \r\n");
    }

    #[test]
    fn err_is_quoted() {
        let mut b = BytesMut::new();
        err(&mut b, "Unknown Protocol Operation");
        assert_eq!(&b[..], b"-ERR 'Unknown Protocol Operation'\r\n");
    }
}
