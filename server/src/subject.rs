//! Subject validation, tokenizing and wildcard matching.
//!
//! A subject is a `.`-separated list of non-empty tokens. In a subscription a token that is
//! exactly `*` matches any one token and a final token that is exactly `>` matches one or
//! more tokens. A `*` or `>` inside a longer token (`foo*`, `>bar`) is an ordinary character.
//! Everything here is a pure function on `&str`.

/// The partial wildcard character, `*`.
pub const PWC: u8 = b'*';
/// The partial wildcard token.
pub const PWCS: &str = "*";
/// The full wildcard character, `>`.
pub const FWC: u8 = b'>';
/// The full wildcard token.
pub const FWCS: &str = ">";
/// The token separator character.
pub const BTSEP: u8 = b'.';
/// The token separator.
pub const TSEP: &str = ".";

/// Whitespace that may not appear in a subject (Go's `"\t\n\f\r "`).
fn is_subject_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Iterates over the tokens of `subject` (empty tokens included).
pub fn tokens(subject: &str) -> std::str::Split<'_, char> {
    subject.split('.')
}

/// Appends the tokens of `subject` to `out` (empty tokens included).
pub fn tokenize_into<'a>(out: &mut Vec<&'a str>, subject: &'a str) {
    out.extend(subject.split('.'));
}

/// The tokens of `subject` as a vector.
pub fn tokenize(subject: &str) -> Vec<&str> {
    subject.split('.').collect()
}

/// Number of tokens; an empty subject has none.
pub fn num_tokens(subject: &str) -> usize {
    if subject.is_empty() {
        return 0;
    }
    subject.bytes().filter(|&b| b == BTSEP).count() + 1
}

/// The token at the one-based `index` (`token_at("a.b", 1) == "a"`); empty when out of range.
pub fn token_at(subject: &str, index: u8) -> &str {
    if index == 0 {
        return "";
    }
    subject.split('.').nth(usize::from(index) - 1).unwrap_or("")
}

/// True for a token that is exactly `*`.
pub fn is_pwc_token(token: &str) -> bool {
    token.as_bytes() == [PWC]
}

/// True for a token that is exactly `>`.
pub fn is_fwc_token(token: &str) -> bool {
    token.as_bytes() == [FWC]
}

/// True if `subject` is a valid subject, wildcards allowed.
pub fn is_valid_subject(subject: &str) -> bool {
    is_valid_subject_checked(subject, false)
}

/// Validates a subject; with `check_runes` it also rejects embedded NUL bytes and the Unicode
/// replacement character (which signals corrupt input that was decoded lossily).
pub fn is_valid_subject_checked(subject: &str, check_runes: bool) -> bool {
    if subject.is_empty() {
        return false;
    }
    if check_runes && (subject.as_bytes().contains(&0) || subject.contains('\u{FFFD}')) {
        return false;
    }
    let mut seen_fwc = false;
    for t in subject.split('.') {
        let b = t.as_bytes();
        if b.is_empty() || seen_fwc {
            return false;
        }
        if b.len() > 1 {
            if b.iter().any(|&c| is_subject_space(c)) {
                return false;
            }
            continue;
        }
        match b[0] {
            FWC => seen_fwc = true,
            c if is_subject_space(c) => return false,
            _ => {}
        }
    }
    true
}

/// Validates a subject read as raw bytes (e.g. from disk): it must be UTF-8 and pass
/// [`is_valid_subject_checked`] with rune checks.
pub fn is_valid_subject_bytes(subject: &[u8]) -> bool {
    match std::str::from_utf8(subject) {
        Ok(s) => is_valid_subject_checked(s, true),
        Err(_) => false,
    }
}

/// True if `subject` is valid and has no wildcard tokens. This is the pedantic check applied
/// to published subjects.
pub fn is_valid_literal_subject(subject: &str) -> bool {
    is_valid_literal_tokens(subject.split('.'))
}

/// True if every token is non-empty and none is a wildcard.
pub fn is_valid_literal_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> bool {
    tokens
        .into_iter()
        .all(|t| !t.is_empty() && !is_pwc_token(t) && !is_fwc_token(t))
}

/// True if `subject` is valid and literal: what a publish may target.
pub fn is_valid_publish_subject(subject: &str) -> bool {
    is_valid_subject(subject) && subject_is_literal(subject)
}

/// True if a `*` or `>` stands alone as a token at byte `i`.
fn is_wildcard_at(b: &[u8], i: usize) -> bool {
    (b[i] == PWC || b[i] == FWC)
        && (i == 0 || b[i - 1] == BTSEP)
        && (i + 1 == b.len() || b[i + 1] == BTSEP)
}

/// True if the subject has no wildcard token. Fast; does not validate the subject.
pub fn subject_is_literal(subject: &str) -> bool {
    !subject_has_wildcard(subject)
}

/// True if the subject has at least one wildcard token. Does not validate the subject.
pub fn subject_has_wildcard(subject: &str) -> bool {
    let b = subject.as_bytes();
    (0..b.len()).any(|i| is_wildcard_at(b, i))
}

/// Whether any token is a `*` and whether any is a `>`.
fn analyze_tokens(tokens: &[&str]) -> (bool, bool) {
    let has_pwc = tokens.iter().any(|t| is_pwc_token(t));
    let has_fwc = tokens.iter().any(|t| is_fwc_token(t));
    (has_pwc, has_fwc)
}

/// Whether two tokens at the same position could match the same literal token.
fn tokens_can_match(t1: &str, t2: &str) -> bool {
    let (Some(&c1), Some(&c2)) = (t1.as_bytes().first(), t2.as_bytes().first()) else {
        return false;
    };
    // Like Go, a token merely starting with a wildcard character is treated as a wildcard.
    if c1 == PWC || c2 == PWC || c1 == FWC || c2 == FWC {
        return true;
    }
    t1 == t2
}

/// True if some literal subject could be matched by both `subj1` and `subj2`.
pub fn subjects_collide(subj1: &str, subj2: &str) -> bool {
    if subj1 == subj2 {
        return true;
    }
    let toks1 = tokenize(subj1);
    let toks2 = tokenize(subj2);
    let (pwc1, fwc1) = analyze_tokens(&toks1);
    let (pwc2, fwc2) = analyze_tokens(&toks2);
    let literal1 = !(pwc1 || fwc1);
    let literal2 = !(pwc2 || fwc2);
    if literal1 && literal2 {
        return false; // they differ, checked above
    }
    if literal1 && !literal2 {
        return is_subset_match_tokenized(&toks1, &toks2);
    }
    if literal2 && !literal1 {
        return is_subset_match_tokenized(&toks2, &toks1);
    }
    // Both have wildcards: a length difference is only bridged by a `>` in the shorter one.
    let (l1, l2) = (toks1.len(), toks2.len());
    if !fwc1 && !fwc2 && l1 != l2 {
        return false;
    }
    if (l1 < l2 && !fwc1) || (l2 < l1 && !fwc2) {
        return false;
    }
    toks1
        .iter()
        .zip(toks2.iter())
        .all(|(t1, t2)| tokens_can_match(t1, t2))
}

/// Same as [`subject_is_subset_match`]: does the filter (with wildcards) cover the subject.
pub fn subject_matches_filter(subject: &str, filter: &str) -> bool {
    subject_is_subset_match(subject, filter)
}

/// True if every subject matched by `subject` is also matched by `test`.
/// `foo.*` is a subset of `>`, `*.*` and `foo.*` but not of `foo.bar`.
pub fn subject_is_subset_match(subject: &str, test: &str) -> bool {
    let toks = tokenize(subject);
    is_subset_match(&toks, test)
}

/// [`subject_is_subset_match`] with the subject already tokenized.
pub fn is_subset_match(tokens: &[&str], test: &str) -> bool {
    let tts = tokenize(test);
    is_subset_match_tokenized(tokens, &tts)
}

/// [`subject_is_subset_match`] with both sides tokenized.
pub fn is_subset_match_tokenized(tokens: &[&str], test: &[&str]) -> bool {
    for (i, t2) in test.iter().enumerate() {
        let Some(t1) = tokens.get(i) else {
            return false;
        };
        if t2.is_empty() {
            return false;
        }
        if is_fwc_token(t2) {
            return true;
        }
        if t1.is_empty() || is_fwc_token(t1) {
            return false;
        }
        if is_pwc_token(t1) {
            if !is_pwc_token(t2) {
                return false;
            }
            continue;
        }
        if t2.as_bytes()[0] != PWC && t1 != t2 {
            return false;
        }
    }
    tokens.len() == test.len()
}

/// True if the literal subject `literal` is matched by `subject`, which may have wildcards.
/// Wildcard characters count only as whole tokens. Used by the match cache.
pub fn match_literal(literal: &str, subject: &str) -> bool {
    let lit = literal.as_bytes();
    let sub = subject.as_bytes();
    let (ll, ls) = (lit.len(), sub.len());
    let mut li = 0;
    let mut i = 0;
    while i < ls {
        if li >= ll {
            return false;
        }
        let c = sub[i];
        let token_start = i == 0 || sub[i - 1] == BTSEP;
        if c == PWC && token_start {
            if i == ls - 1 {
                // `*` is the last token: the rest of the literal must be one token.
                return !lit[li..].contains(&BTSEP);
            }
            if sub[i + 1] == BTSEP {
                // Skip one literal token, which must be followed by a separator.
                match lit[li..].iter().position(|&b| b == BTSEP) {
                    Some(p) => li += p,
                    None => return false,
                }
                i += 1; // both now sit on a separator, compared below
            }
        } else if c == FWC && token_start && i == ls - 1 {
            return true;
        }
        if sub[i] != lit[li] {
            return false;
        }
        li += 1;
        i += 1;
    }
    li >= ll
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid_subject("foo.bar.>"));
        assert!(!is_valid_subject("foo.>.bar"));
        assert!(!is_valid_subject("foo bar"));
        assert!(!is_valid_subject(" "));
        assert!(is_valid_subject("\u{b}")); // vertical tab is not rejected, as in Go
        assert!(!is_valid_subject_checked("a\u{FFFD}", true));
        assert!(!is_valid_subject_bytes(b"a.\xff"));
        assert!(is_valid_publish_subject("foo.*x"));
        assert!(!is_valid_publish_subject("foo.*"));
    }

    #[test]
    fn tokens_and_literals() {
        assert_eq!(num_tokens(""), 0);
        assert_eq!(num_tokens("a.b.c"), 3);
        assert_eq!(token_at("a.b.c", 3), "c");
        assert_eq!(token_at("a.b.c", 4), "");
        assert!(subject_has_wildcard("a.*.c"));
        assert!(!subject_has_wildcard("a.*b.c"));
        assert!(subject_is_literal("a>"));
    }

    #[test]
    fn literal_matching() {
        assert!(match_literal("a.b.c", "a.*.c"));
        assert!(match_literal("a.b.c", "*.*.*"));
        assert!(!match_literal("a.b", "*.*.*"));
        assert!(match_literal("a.b.c", "a.>"));
        assert!(!match_literal("a", "a.>"));
        assert!(!match_literal("a.b", "a.b.c"));
        assert!(!match_literal("", "*"));
    }

    #[test]
    fn collide_and_subset() {
        assert!(subjects_collide("a.>", "*.b.c"));
        assert!(!subjects_collide("a.*", "b.*"));
        assert!(!subjects_collide("a.b", "a.c"));
        assert!(subject_is_subset_match("a.*.c", "a.>"));
        assert!(!subject_is_subset_match("a.>", "a.*"));
    }
}
