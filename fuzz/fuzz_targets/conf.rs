//! Fuzzes the configuration language: the lexer must never panic and must stop (with an
//! `Eof` or `Error` item) after a number of items bounded by the input's size; the parser
//! must never panic, and pedantic and plain parsing must agree. Inputs that would include
//! files are only lexed, so the fuzzer never reads arbitrary paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natsd::config::conf::lex::{ItemType, Lexer};
use natsd::config::conf::{digest, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let mut lx = Lexer::new(data);
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    let mut has_include = false;
    let mut n = 0usize;
    loop {
        let it = lx.next_item();
        n += 1;
        assert!(n <= 2 * data.len() + 4, "lexer did not stop");
        assert!(it.line <= newlines + 1, "line {} past the input", it.line);
        match it.typ {
            ItemType::Eof | ItemType::Error => break,
            ItemType::Include => has_include = true,
            _ => {}
        }
    }
    if has_include {
        return;
    }
    let plain = parse_bytes(data, "", false);
    let checked = parse_bytes(data, "", true);
    match (&plain, &checked) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "plain and pedantic trees differ");
            assert_eq!(digest::config_digest(a), digest::config_digest(b));
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "plain and pedantic errors differ"),
        _ => panic!("plain {plain:?} vs pedantic {checked:?}"),
    }
});
