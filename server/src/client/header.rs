//! Reading and editing the NATS header block of a message (`NATS/1.0\r\nKey: value\r\n...\r\n`),
//! as nats-server does for JetStream and service imports. A header block here always ends
//! with the blank line (`\r\n\r\n`).

use std::borrow::Cow;

/// The first line of a header block.
pub const HDR_LINE: &str = "NATS/1.0\r\n";
/// A header block without any header.
pub const EMPTY_HDR_LINE: &str = "NATS/1.0\r\n\r\n";

const CRLF: &[u8] = b"\r\n";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Where the line of header `key` starts in `hdr`: the key must begin a line (after a CRLF)
/// and be followed by `:`. A key that merely ends like another (`Nats-Msg-Id` in
/// `Previous-Nats-Msg-Id`) or shows up in a value does not count.
pub fn header_key_index(key: &str, hdr: &[u8]) -> Option<usize> {
    let key = key.as_bytes();
    let mut offset = 0;
    loop {
        let index = offset + find(hdr.get(offset..)?, key)?;
        // Not at the start of a line (or too close to the start for a preceding CRLF).
        if index < 2 || hdr[index - 1] != b'\n' || hdr[index - 2] != b'\r' {
            offset = index + key.len();
            continue;
        }
        match hdr.get(index + key.len()) {
            None => return None,
            Some(b':') => return Some(index),
            Some(_) => offset = index + key.len(),
        }
    }
}

/// The value of header `key` (after `:` and any spaces, up to the CRLF), borrowed from
/// `hdr`; `None` when absent.
pub fn slice_header<'a>(key: &str, hdr: &'a [u8]) -> Option<&'a [u8]> {
    let mut index = header_key_index(key, hdr)? + key.len() + 1;
    while index < hdr.len() && hdr[index] == b' ' {
        index += 1;
    }
    let start = index;
    while index < hdr.len() && !(hdr[index] == b'\r' && hdr.get(index + 1) == Some(&b'\n')) {
        index += 1;
    }
    Some(&hdr[start..index])
}

/// [`slice_header`] as an owned copy (exactly as long as the value).
pub fn get_header(key: &str, hdr: &[u8]) -> Option<Vec<u8>> {
    slice_header(key, hdr).map(<[u8]>::to_vec)
}

/// Appends `key: value` to a header block (or to an empty one when `hdr` has none).
/// Line breaks in the value become spaces and surrounding white space is dropped, as Go's
/// `http.Header.Write` does.
pub fn gen_header(hdr: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(hdr.len() + key.len() + value.len() + 16);
    if hdr.len() > CRLF.len() {
        out.extend_from_slice(&hdr[..hdr.len() - CRLF.len()]);
    } else {
        out.extend_from_slice(HDR_LINE.as_bytes());
    }
    let value = value.replace(['\n', '\r'], " ");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.trim_matches([' ', '\t', '\n', '\r']).as_bytes());
    out.extend_from_slice(CRLF);
    out.extend_from_slice(CRLF);
    out
}

/// Removes every `key` header line. Returns an empty block when no header is left.
pub fn remove_header_if_present(mut hdr: Vec<u8>, key: &str) -> Vec<u8> {
    loop {
        let Some(start) = header_key_index(key, &hdr) else {
            return hdr;
        };
        let Some(end) = find(&hdr[start..], CRLF) else {
            return hdr;
        };
        hdr.drain(start..start + end + CRLF.len());
        if hdr.len() <= EMPTY_HDR_LINE.len() {
            return Vec::new();
        }
    }
}

/// Removes every header line whose key starts with `prefix`. Returns an empty block when
/// no header is left.
pub fn remove_header_if_prefix_present(mut hdr: Vec<u8>, prefix: &str) -> Vec<u8> {
    let prefix = prefix.as_bytes();
    let mut index = 0;
    loop {
        let Some(start) = hdr.get(index..).and_then(|h| find(h, prefix)) else {
            return hdr;
        };
        index += start;
        // Only at the start of a line: elsewhere it is part of a value.
        if index < 1 || hdr[index - 1] != b'\n' {
            index += prefix.len();
            continue;
        }
        let Some(end) = find(&hdr[index + prefix.len()..], CRLF) else {
            return hdr;
        };
        hdr.drain(index..index + prefix.len() + end + CRLF.len());
        if hdr.len() <= EMPTY_HDR_LINE.len() {
            return Vec::new();
        }
    }
}

/// Sets the value of the first `key` header, or adds `key: val` at the end.
///
/// A new value that fits in the old one's place is written into `hdr` itself, and the
/// shortened block is returned borrowed from it; otherwise `hdr` is left untouched and a
/// new block is returned, so bytes after `hdr` in a shared buffer (the message body) are
/// never overwritten.
pub fn set_header<'a>(key: &str, val: &str, hdr: &'a mut [u8]) -> Cow<'a, [u8]> {
    let len = hdr.len();
    if let Some(start) = header_key_index(key, hdr) {
        let mut val_start = start + key.len() + 1;
        // Keep a single space after the colon if there is one.
        if hdr.get(val_start) == Some(&b' ') {
            val_start += 1;
        }
        let Some(val_end) = memchr::memchr(b'\r', &hdr[val_start..]).map(|e| e + val_start) else {
            // Malformed: leave it.
            return Cow::Borrowed(hdr);
        };
        let old_len = val_end - val_start;
        if val.len() > old_len {
            let mut out = Vec::with_capacity(len + val.len() - old_len);
            out.extend_from_slice(&hdr[..val_start]);
            out.extend_from_slice(val.as_bytes());
            out.extend_from_slice(&hdr[val_end..]);
            return Cow::Owned(out);
        }
        hdr[val_start..val_start + val.len()].copy_from_slice(val.as_bytes());
        let new_end = val_start + val.len();
        hdr.copy_within(val_end.., new_end);
        let new_len = len - (old_len - val.len());
        return Cow::Borrowed(&hdr[..new_len]);
    }
    // A new header goes before the block's closing blank line.
    let (base, tail): (&[u8], &[u8]) = if hdr.ends_with(CRLF) {
        (&hdr[..len - CRLF.len()], CRLF)
    } else {
        (&hdr[..], b"")
    };
    let mut out = Vec::with_capacity(len + key.len() + val.len() + 4);
    out.extend_from_slice(base);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(val.as_bytes());
    out.extend_from_slice(tail);
    out.extend_from_slice(CRLF);
    Cow::Owned(out)
}

/// Sets header `key` of a whole message (`msg`: a header block of `hdr_len` bytes, 0 when
/// none, then the body) and returns the new message and its new header size. Any `key`
/// header is replaced by one `key: value` line at the end of the block; `msg` itself is
/// not changed.
pub fn set_msg_header(key: &str, value: &str, msg: &[u8], hdr_len: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(msg.len() + key.len() + value.len() + 16);
    let body_start = if hdr_len > CRLF.len() {
        let kept = remove_header_if_present(msg[..hdr_len - CRLF.len()].to_vec(), key);
        if kept.is_empty() {
            out.extend_from_slice(HDR_LINE.as_bytes());
        } else {
            out.extend_from_slice(&kept);
        }
        hdr_len
    } else {
        out.extend_from_slice(HDR_LINE.as_bytes());
        0
    };
    let value = value.replace(['\n', '\r'], " ");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.trim_matches([' ', '\t', '\n', '\r']).as_bytes());
    out.extend_from_slice(CRLF);
    out.extend_from_slice(CRLF);
    let new_hdr_len = out.len();
    out.extend_from_slice(&msg[body_start..]);
    (out, new_hdr_len)
}

/// The offset of the `@` that ends a JetStream ack reply and starts the delivery subject
/// appended to it (`$JS.ACK.<8 or more tokens>@<deliver>`), if the reply has that form.
/// Only an `@` after the eighth dot counts: tokens before it may contain `@` themselves.
pub fn js_ack_deliver_index(reply: &[u8]) -> Option<usize> {
    const JS_ACK: &[u8] = b"$JS.ACK.";
    if reply.len() <= JS_ACK.len() || !reply.starts_with(JS_ACK) {
        return None;
    }
    let mut dots = 0;
    for (i, &b) in reply.iter().enumerate() {
        match b {
            b'.' => dots += 1,
            b'@' if dots >= 8 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether a JetStream ack reply already carries its `@<deliver>` suffix.
pub fn reply_has_js_ack_suffix(reply: &[u8]) -> bool {
    js_ack_deliver_index(reply).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_must_start_a_line_and_end_with_colon() {
        let hdr = gen_header(
            &gen_header(b"", "X-Note", "Nats-Msg-Id here"),
            "Nats-Msg-Id",
            "1",
        );
        let idx = header_key_index("Nats-Msg-Id", &hdr).map(|i| &hdr[i..i + 11]);
        assert_eq!(idx, Some(&b"Nats-Msg-Id"[..]));
        assert_eq!(slice_header("Nats-Msg-Id", &hdr), Some(&b"1"[..]));
        assert_eq!(slice_header("Msg-Id", &hdr), None);
        assert_eq!(slice_header("a", b""), None);
    }

    #[test]
    fn set_header_in_place_or_new() {
        let mut hdr = gen_header(b"", "Key1", "Val1");
        let len = hdr.len();
        let out = set_header("Key1", "v", &mut hdr).into_owned();
        assert_eq!(out, b"NATS/1.0\r\nKey1: v\r\n\r\n");
        assert_eq!(&hdr[..out.len()], &out[..]);
        let mut hdr = gen_header(b"", "Key1", "Val1");
        let out = set_header("Key1", "Value1", &mut hdr);
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(&out[..], b"NATS/1.0\r\nKey1: Value1\r\n\r\n");
        assert_eq!(hdr.len(), len);
        let mut hdr = gen_header(b"", "Key1", "Val1");
        let out = set_header("Key2", "x", &mut hdr);
        assert_eq!(&out[..], b"NATS/1.0\r\nKey1: Val1\r\nKey2: x\r\n\r\n");
    }

    #[test]
    fn msg_header_replaced_at_the_end() {
        let hdr = "NATS/1.0\r\nA: 1\r\nB: 2\r\n\r\n";
        let msg = format!("{hdr}body\r\n");
        let (out, n) = set_msg_header("A", "3", msg.as_bytes(), hdr.len());
        assert_eq!(out, b"NATS/1.0\r\nB: 2\r\nA: 3\r\n\r\nbody\r\n");
        assert_eq!(n, out.len() - 6);
        let (out, n) = set_msg_header("A", "3", b"body\r\n", 0);
        assert_eq!(out, b"NATS/1.0\r\nA: 3\r\n\r\nbody\r\n");
        assert_eq!(n, 18);
    }

    #[test]
    fn js_ack_suffix() {
        assert!(reply_has_js_ack_suffix(b"$JS.ACK.S.C.1.2.3.4.5@d"));
        assert!(!reply_has_js_ack_suffix(b"$JS.ACK.S@C.1.2.3.4.5"));
        assert!(!reply_has_js_ack_suffix(b"$JS.ACK."));
    }
}
