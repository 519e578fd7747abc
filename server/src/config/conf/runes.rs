//! Rune helpers with the semantics of Go's `unicode/utf8`, `unicode.IsDigit` and
//! `strings.ToLower`, which the lexer's decisions depend on.

/// Decodes one rune like Go's `utf8.DecodeRune`: invalid input is U+FFFD, width 1.
pub(crate) fn decode_rune(b: &[u8]) -> (char, usize) {
    let first = b[0];
    if first < 0x80 {
        return (first as char, 1);
    }
    let len = match first {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return ('\u{FFFD}', 1),
    };
    match b.get(..len).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => (s.chars().next().unwrap_or('\u{FFFD}'), len),
        None => ('\u{FFFD}', 1),
    }
}

/// Whether Go's `strings.ToLower(s)` equals the ASCII `word`. Beyond ASCII letters, only
/// U+0130 (to `i`) and U+212A (to `k`) lower-case to ASCII letters.
pub(crate) fn go_lower_equals(s: &[u8], word: &str) -> bool {
    let mut rest = s;
    let mut want = word.chars();
    while !rest.is_empty() {
        let (r, w) = decode_rune(rest);
        rest = &rest[w..];
        let lower = match r {
            '\u{130}' => 'i',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        };
        if want.next() != Some(lower) {
            return false;
        }
    }
    want.next().is_none()
}

/// Unicode decimal digits (category Nd, Unicode 15.0), like Go's `unicode.IsDigit`.
pub(crate) fn is_digit(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_digit();
    }
    let c = r as u32;
    ND_RANGES.iter().any(|&(lo, hi)| c >= lo && c <= hi)
}

/// Non-ASCII ranges of Unicode category Nd (decimal digits), Unicode 15.0.
const ND_RANGES: &[(u32, u32)] = &[
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19D9),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10D30, 0x10D39),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x11F50, 0x11F59),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E4F0, 0x1E4F9),
    (0x1E950, 0x1E959),
    (0x1FBF0, 0x1FBF9),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_go() {
        assert_eq!(decode_rune(b"a"), ('a', 1));
        assert_eq!(decode_rune("é!".as_bytes()), ('é', 2));
        assert_eq!(decode_rune(b"\xe9!"), ('\u{FFFD}', 1));
        assert_eq!(decode_rune(b"\xed\xa0\x80"), ('\u{FFFD}', 1));
    }

    #[test]
    fn digits_and_lowering() {
        assert!(is_digit('7') && is_digit('\u{663}') && !is_digit('½'));
        assert!(go_lower_equals("İnclude".as_bytes(), "include"));
        assert!(!go_lower_equals(b"includes", "include"));
    }
}
