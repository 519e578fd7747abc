//! Fuzzes the message-trace header handling (`server/src/msgtrace.rs`) that runs on the
//! header block of every HPUB: detection must agree with the header map, never panic,
//! and disabling the trace destination must keep the body and leave a message that no
//! longer asks to be traced by its destination header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natsd::msgtrace::{detect, disable_trace_dest, gen_header_map_if_trace_headers_present};

fuzz_target!(|data: &[u8]| {
    let Some((&split, msg)) = data.split_first() else {
        return;
    };
    let hdr_len = usize::from(split).min(msg.len());
    let hdr = &msg[..hdr_len];
    let detected = detect(hdr);
    let mapped = gen_header_map_if_trace_headers_present(hdr);
    assert_eq!(detected, mapped.as_ref().map(|(_, external)| *external));
    if let Some((map, _)) = &mapped {
        assert!(!map.is_empty(), "a traced message has headers");
    }
    let (out, new_len) = disable_trace_dest(msg, hdr_len);
    assert!(new_len <= out.len());
    assert_eq!(&out[new_len..], &msg[hdr_len..], "the body is kept");
    if detected == Some(false) && well_formed(hdr) {
        // Asked by its destination header: once disabled, only a sampled traceparent
        // could still ask. (In a malformed block, with a bare CR or LF or a line without
        // a key, finding a header and rewriting it may see different lines, in Go too.)
        assert_ne!(detect(&out[..new_len]), Some(false));
    }
});

/// A header block whose lines are all ended by CRLF, with no bare CR or LF, and whose
/// header lines all have a `key:` (Go finds and rewrites headers with the same rules).
fn well_formed(hdr: &[u8]) -> bool {
    let crlf_only = hdr.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => hdr.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && hdr[i - 1] == b'\r',
        _ => true,
    });
    let Some(body) = hdr.strip_suffix(b"\r\n\r\n") else {
        return false;
    };
    crlf_only
        && body
            .split(|&b| b == b'\n')
            .skip(1)
            .all(|line| line.iter().position(|&b| b == b':').is_some_and(|p| p > 0))
}
