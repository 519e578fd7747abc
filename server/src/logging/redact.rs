//! Hiding secrets in traced protocol lines (CONNECT carries passwords, tokens, nkeys
//! and signatures).

use regex::bytes::{Regex, RegexBuilder};
use std::borrow::Cow;
use std::sync::LazyLock;

/// `pass...`/`password` and `auth_token...` fields, JSON or not.
static PREFIX_AUTH: LazyLock<Regex> =
    LazyLock::new(|| ascii_regex(r#""?\s*(?:auth_token\S*?|pass\S*?)"?\s*[:=]\s*"?([^",\r\n}]*)"#));

/// `sig`, `proxy_sig` and `nkey` exactly (`sig` must not match inside `proxy_sig`).
static EXACT_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    ascii_regex(r#"(?:^|[^A-Za-z0-9_])"?\s*(?:proxy_sig|nkey|sig)"?\s*[:=]\s*"?([^",\r\n}]*)"#)
});

/// Go's regexp classes (`\s`, `\S`) are ASCII; match bytes, not Unicode scalars.
fn ascii_regex(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("constant pattern")
}

const REDACTED: &[u8] = b"[REDACTED]";

/// Replaces the values of password, token, signature and nkey fields with `[REDACTED]`.
/// Returns the input unchanged (borrowed) when there is nothing to hide.
pub fn remove_secrets_from_trace(arg: &[u8]) -> Cow<'_, [u8]> {
    match redact(&PREFIX_AUTH, arg) {
        Cow::Borrowed(b) => redact(&EXACT_AUTH, b),
        Cow::Owned(v) => Cow::Owned(redact(&EXACT_AUTH, &v).into_owned()),
    }
}

fn redact<'a>(pattern: &Regex, proto: &'a [u8]) -> Cow<'a, [u8]> {
    let values: Vec<(usize, usize)> = pattern
        .captures_iter(proto)
        .filter_map(|c| c.get(1).map(|m| (m.start(), m.end())))
        .collect();
    if values.is_empty() {
        return Cow::Borrowed(proto);
    }
    let mut out = Vec::with_capacity(proto.len() + values.len() * REDACTED.len());
    let mut last = 0;
    for (start, end) in values {
        out.extend_from_slice(&proto[last..start]);
        out.extend_from_slice(REDACTED);
        last = end;
    }
    out.extend_from_slice(&proto[last..]);
    Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_hide_is_borrowed() {
        let c = remove_secrets_from_trace(b"CONNECT {\"verbose\":false}\r\n");
        assert!(matches!(c, Cow::Borrowed(_)));
    }

    #[test]
    fn hides_pass_and_sig() {
        assert_eq!(
            &*remove_secrets_from_trace(b"CONNECT {\"user\":\"a\",\"pass\":\"p\",\"sig\":\"s\"}"),
            b"CONNECT {\"user\":\"a\",\"pass\":\"[REDACTED]\",\"sig\":\"[REDACTED]\"}"
        );
    }
}
