//! Fuzzes the PROXY protocol header parser (`server/src/proxyproto.rs`), both the
//! detecting `parse` and the v2-only `parse_v2`. Every prefix of the input is parsed: none
//! may panic, and once a prefix gives a verdict (a header, no PROXY header, an error) every
//! longer prefix must give the same one, so bytes arriving in any split cannot change the
//! outcome. A header is decided exactly when its last byte arrives; while more is needed,
//! the error for the connection ending there must be computable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natsd::proxyproto::{parse, parse_v2, Parse, ProxyError, StreamEnd, DETECT_LEN, V1_MAX_LINE};

type ParseFn = fn(&[u8]) -> Result<Parse, ProxyError>;

fn check(data: &[u8], parse_fn: ParseFn, detects: bool) {
    let ends = [
        StreamEnd::Eof,
        StreamEnd::TimedOut("read tcp a->b: i/o timeout".into()),
        StreamEnd::Failed("read tcp a->b: read: connection reset by peer".into()),
    ];
    let mut verdict: Option<(usize, Result<Parse, ProxyError>)> = None;
    for cut in 0..=data.len() {
        let r = parse_fn(&data[..cut]);
        match (&r, &verdict) {
            (Ok(Parse::NeedMore(p)), None) => {
                for end in &ends {
                    assert!(!p.error(end).to_string().is_empty());
                }
                // A v1 line is decided within 107 bytes.
                if detects && data.starts_with(b"PROXY ") {
                    assert!(cut < V1_MAX_LINE, "v1 undecided at {cut}");
                }
            }
            (Ok(Parse::NeedMore(_)), Some((at, v))) => {
                panic!("needs more at {cut} after {v:?} at {at}")
            }
            (_, None) => {
                match &r {
                    Ok(Parse::Parsed { consumed, .. }) => {
                        assert_eq!(*consumed, cut, "a header is decided by its last byte")
                    }
                    Ok(Parse::NotProxy) => {
                        assert!(detects, "parse_v2 never says NotProxy");
                        assert_eq!(cut, DETECT_LEN, "detection takes 6 bytes");
                    }
                    _ => {}
                }
                verdict = Some((cut, r));
            }
            (_, Some((at, v))) => assert_eq!(&r, v, "verdict at {cut} differs from {at}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, parse, true);
    check(data, parse_v2, false);
});
