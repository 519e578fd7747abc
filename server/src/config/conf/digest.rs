//! The digest `nats-server -t` prints: SHA-256 of the parsed tree encoded as Go's
//! `encoding/json` encoder would (keys sorted, HTML-safe escaping, a final new line).

use super::value::{Kind, Map, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// `sha256:<hex>` of the tree's JSON encoding.
pub fn config_digest(m: &Map) -> String {
    let mut json = String::new();
    encode_map(m, &mut json);
    json.push('\n');
    let sum = Sha256::digest(json.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in sum {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The tree as Go's `json.Marshal` would write it (without the encoder's new line).
pub fn to_go_json(m: &Map) -> String {
    let mut json = String::new();
    encode_map(m, &mut json);
    json
}

fn encode_map(m: &Map, out: &mut String) {
    let mut entries: Vec<(&str, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_string(k, out);
        out.push(':');
        encode_value(v, out);
    }
    out.push('}');
}

fn encode_value(v: &Value, out: &mut String) {
    match &v.kind {
        Kind::String(s) => encode_string(s, out),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Kind::Float(f) => encode_float(*f, out),
        Kind::DateTime(dt) => {
            let _ = write!(out, "\"{dt}\"");
        }
        Kind::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_value(e, out);
            }
            out.push(']');
        }
        Kind::Map(m) => encode_map(m, out),
    }
}

/// Go's float encoding: shortest form, plain notation between 1e-6 and 1e21, else
/// exponent notation with a signed exponent of at least one digit (`1e+21`, `1e-7`).
fn encode_float(f: f64, out: &mut String) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mant, exp)) if !exp.starts_with('-') => {
                let _ = write!(out, "{mant}e+{exp}");
            }
            _ => out.push_str(&s),
        }
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Go's string encoding with HTML escaping on.
fn encode_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\0'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(src: &str) -> String {
        to_go_json(&super::super::parse(src).expect("parses"))
    }

    #[test]
    fn encodes_like_go() {
        assert_eq!(
            json_of("b = 2; a = \"<x&y>\"; c = [1.5, 0.5, true]"),
            r#"{"a":"\u003cx\u0026y\u003e","b":2,"c":[1.5,0.5,true]}"#
        );
        let mut s = String::new();
        encode_float(1e21, &mut s);
        s.push(' ');
        encode_float(1.5e-7, &mut s);
        s.push(' ');
        encode_float(2.0, &mut s);
        assert_eq!(s, "1e+21 1.5e-7 2");
        assert_eq!(
            json_of("d = 2016-05-04T18:53:41Z"),
            r#"{"d":"2016-05-04T18:53:41Z"}"#
        );
    }

    #[test]
    fn digest_of_foo_bar() {
        let m = super::super::parse("foo = bar").expect("parses");
        assert_eq!(
            config_digest(&m),
            "sha256:226e49e13d16e5e8aa0d62e58cd63361bf097d3e2b2444aa3044334628a2e8de"
        );
    }
}
