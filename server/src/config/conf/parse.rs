//! The parser: turns lexed items into a [`Map`] of [`Value`]s, resolving `$variables`
//! (block scoped, then the environment), `include`s (relative to the including file),
//! size suffixes, booleans and dates, with nats-server's `conf/parse.go` semantics and
//! error texts.

use super::lex::{Item, ItemType, Lexer};
use super::value::{DateTime, Kind, Map, Pos, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// A configuration that could not be parsed; the text is the reference's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: String) -> Result<T, ParseError> {
    Err(ParseError(msg))
}

/// Parses a configuration text (includes resolve from the current directory).
pub fn parse(data: &str) -> Result<Map, ParseError> {
    parse_bytes(data.as_bytes(), "", false)
}

/// [`parse`] in pedantic mode (the reference's `ParseWithChecks`): the same tree; includes
/// report read errors without the "error opening config file" prefix.
pub fn parse_with_checks(data: &str) -> Result<Map, ParseError> {
    parse_bytes(data.as_bytes(), "", true)
}

/// Parses `data` as if read from `file` (which names positions and anchors includes).
pub fn parse_bytes(data: &[u8], file: &str, pedantic: bool) -> Result<Map, ParseError> {
    let mut env_refs = HashSet::new();
    Parser::new(data, file, pedantic, &mut env_refs).run()
}

/// Reads and parses a file (the reference's `ParseFile`).
pub fn parse_file(path: &str) -> Result<Map, ParseError> {
    let data = std::fs::read(path).map_err(|e| {
        ParseError(format!(
            "error opening config file: {}",
            go_io_error(path, &e)
        ))
    })?;
    parse_bytes(&data, path, false)
}

/// Reads and parses a file in pedantic mode (the reference's `ParseFileWithChecks`).
pub fn parse_file_with_checks(path: &str) -> Result<Map, ParseError> {
    let data = std::fs::read(path).map_err(|e| ParseError(go_io_error(path, &e)))?;
    parse_bytes(&data, path, true)
}

/// [`parse_file_with_checks`] plus the digest `-t` prints (see [`super::digest`]).
pub fn parse_file_with_checks_digest(path: &str) -> Result<(Map, String), ParseError> {
    let m = parse_file_with_checks(path)?;
    let digest = super::digest::config_digest(&m);
    Ok((m, digest))
}

/// An I/O error worded like Go's `*PathError` from `os.ReadFile`.
pub fn go_io_error(path: &str, e: &std::io::Error) -> String {
    let (op, why) = match e.raw_os_error() {
        Some(2) => ("open", "no such file or directory".to_string()),
        Some(13) => ("open", "permission denied".to_string()),
        Some(20) => ("open", "not a directory".to_string()),
        Some(21) => ("read", "is a directory".to_string()),
        Some(40) => ("open", "too many levels of symbolic links".to_string()),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            let lower = match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => s,
            };
            ("open", lower)
        }
    };
    format!("{op} {path}: {why}")
}

/// How deeply maps and arrays may nest. nats-server has no limit; natsd refuses absurd
/// nesting so that dropping, copying and encoding the tree (all recursive) cannot
/// overflow the stack. Real configurations nest a handful of levels.
pub const MAX_NESTING: usize = 1000;

/// A context being filled: a map (top level or `{...}`) or an array.
#[derive(Debug)]
enum Ctx {
    Map(Map),
    Array(Vec<Value>),
}

/// Keys of environment variables being expanded, shared with nested expansions to catch
/// reference cycles.
type EnvRefs = HashSet<String>;

struct Parser<'a, 'e> {
    lx: Lexer<'a>,
    ctxs: Vec<Ctx>,
    keys: Vec<String>,
    ikeys: Vec<Item>,
    /// The file being parsed, as given (positions name it).
    file: Arc<str>,
    /// Its directory, which includes are relative to.
    dir: String,
    pedantic: bool,
    env_refs: &'e mut EnvRefs,
}

impl<'a, 'e> Parser<'a, 'e> {
    fn new(data: &'a [u8], file: &str, pedantic: bool, env_refs: &'e mut EnvRefs) -> Self {
        Parser {
            lx: Lexer::new(data),
            ctxs: vec![Ctx::Map(Map::new())],
            keys: Vec::new(),
            ikeys: Vec::new(),
            file: Arc::from(file),
            dir: go_dir(file),
            pedantic,
            env_refs,
        }
    }

    fn run(mut self) -> Result<Map, ParseError> {
        let mut prev: Option<Item> = None;
        loop {
            let it = self.lx.next_item();
            if it.typ == ItemType::Eof {
                // A last bare key is an error, except a lone '}' closing JSON-like input.
                if let Some(p) = &prev {
                    if p.typ == ItemType::Key && p.val != b"}" {
                        return err(format!(
                            "config is invalid ({}:{}:{})",
                            self.file, it.line, it.pos
                        ));
                    }
                }
                break;
            }
            self.process_item(&it)?;
            prev = Some(it);
        }
        match self.ctxs.into_iter().next() {
            Some(Ctx::Map(m)) => Ok(m),
            _ => err("BUG in parser, context stack empty".to_string()),
        }
    }

    fn pos_of(&self, it: &Item) -> Pos {
        Pos {
            file: self.file.clone(),
            line: it.line,
            col: it.pos,
        }
    }

    fn set(&mut self, it: &Item, kind: Kind) -> Result<(), ParseError> {
        let v = Value::new(kind, self.pos_of(it));
        self.set_value(v)
    }

    fn process_item(&mut self, it: &Item) -> Result<(), ParseError> {
        match it.typ {
            ItemType::Error => {
                return err(format!("Parse error on line {}: '{}'", it.line, it.text()));
            }
            ItemType::Key => {
                self.keys.push(it.text());
                self.ikeys.push(it.clone());
            }
            ItemType::MapStart => {
                self.check_nesting(it)?;
                self.ctxs.push(Ctx::Map(Map::new()));
            }
            ItemType::MapEnd => {
                let m = match self.pop_context()? {
                    Ctx::Map(m) => Kind::Map(m),
                    Ctx::Array(a) => Kind::Array(a),
                };
                self.set(it, m)?;
            }
            ItemType::String => self.set(it, Kind::String(it.text()))?,
            ItemType::Integer => {
                if let Some(n) = parse_integer(&it.val)? {
                    self.set(it, Kind::Integer(n))?;
                }
            }
            ItemType::Float => {
                let text = it.text();
                let f: f64 = match text.parse() {
                    Ok(f) if is_go_float_syntax(&it.val) => f,
                    _ => return err(format!("expected float, but got '{text}'")),
                };
                if f.is_infinite() {
                    return err(format!("float '{text}' is out of the range"));
                }
                self.set(it, Kind::Float(f))?;
            }
            ItemType::Bool => {
                let b = if ["true", "yes", "on"]
                    .iter()
                    .any(|w| it.val.eq_ignore_ascii_case(w.as_bytes()))
                {
                    true
                } else if ["false", "no", "off"]
                    .iter()
                    .any(|w| it.val.eq_ignore_ascii_case(w.as_bytes()))
                {
                    false
                } else {
                    return err(format!("expected boolean value, but got '{}'", it.text()));
                };
                self.set(it, Kind::Bool(b))?;
            }
            ItemType::Datetime => match DateTime::parse_zulu(&it.val) {
                Some(dt) => self.set(it, Kind::DateTime(dt))?,
                None => {
                    return err(format!(
                        "expected Zulu formatted DateTime, but got '{}'",
                        it.text()
                    ))
                }
            },
            ItemType::ArrayStart => {
                self.check_nesting(it)?;
                self.ctxs.push(Ctx::Array(Vec::new()));
            }
            ItemType::ArrayEnd => {
                let a = match self.pop_context()? {
                    Ctx::Map(m) => Kind::Map(m),
                    Ctx::Array(a) => Kind::Array(a),
                };
                self.set(it, a)?;
            }
            ItemType::Variable => {
                let name = it.text();
                let found = match self.lookup_variable(&name) {
                    Ok(f) => f,
                    Err(e) => {
                        return err(format!(
                            "variable reference for '{name}' on line {} could not be parsed: {e}",
                            it.line
                        ))
                    }
                };
                let Some(kind) = found else {
                    return err(format!(
                        "variable reference for '{name}' on line {} can not be found",
                        it.line
                    ));
                };
                // A copied value must not take the tree past the nesting limit either.
                if self.ctxs.len() - 1 + nesting(&kind) > MAX_NESTING {
                    return err(format!(
                        "Parse error on line {}: 'Maps and arrays nest more than {MAX_NESTING} levels deep.'",
                        it.line
                    ));
                }
                self.set(it, kind)?;
            }
            ItemType::Include => {
                let path = go_join(&self.dir, &it.text());
                let included = if self.pedantic {
                    parse_file_with_checks(&path)
                } else {
                    parse_file(&path)
                };
                let m = included.map_err(|e| {
                    ParseError(format!("error parsing include file '{}', {e}", it.text()))
                })?;
                for (k, v) in m {
                    if self.ctxs.len() - 1 + nesting(&v.kind) > MAX_NESTING {
                        return err(format!(
                            "Parse error on line {}: 'Maps and arrays nest more than {MAX_NESTING} levels deep.'",
                            it.line
                        ));
                    }
                    self.keys.push(k);
                    self.ikeys.push(Item {
                        typ: ItemType::Key,
                        val: Vec::new(),
                        line: v.pos.line,
                        pos: v.pos.col,
                    });
                    self.set_value(v)?;
                }
            }
            ItemType::Nil | ItemType::Eof | ItemType::Text | ItemType::CommentStart => {}
        }
        Ok(())
    }

    fn check_nesting(&self, it: &Item) -> Result<(), ParseError> {
        if self.ctxs.len() > MAX_NESTING {
            return err(format!(
                "Parse error on line {}: 'Maps and arrays nest more than {MAX_NESTING} levels deep.'",
                it.line
            ));
        }
        Ok(())
    }

    fn pop_context(&mut self) -> Result<Ctx, ParseError> {
        if self.ctxs.len() < 2 {
            return err("BUG in parser, context stack empty".to_string());
        }
        self.ctxs
            .pop()
            .ok_or_else(|| ParseError("BUG in parser, context stack empty".to_string()))
    }

    /// Stores `v` in the current context: appended to an array, or under the pending key
    /// of a map, taking the key's position (errors then point at the key).
    fn set_value(&mut self, mut v: Value) -> Result<(), ParseError> {
        match self.ctxs.last_mut() {
            Some(Ctx::Array(a)) => a.push(v),
            Some(Ctx::Map(_)) => {
                let key = self
                    .keys
                    .pop()
                    .ok_or_else(|| ParseError("BUG in parser, keys stack empty".to_string()))?;
                let ikey = self.ikeys.pop().ok_or_else(|| {
                    ParseError("BUG in parser, item keys stack empty".to_string())
                })?;
                v.pos.line = ikey.line;
                v.pos.col = ikey.pos;
                if let Some(Ctx::Map(m)) = self.ctxs.last_mut() {
                    m.insert(key, v);
                }
            }
            None => return err("BUG in parser, context stack empty".to_string()),
        }
        Ok(())
    }

    /// Resolves `$name`: a bcrypt hash (`$2a$...`) stands for itself; otherwise the
    /// innermost enclosing map that has the key, then the environment (whose value is
    /// parsed as a value would be).
    fn lookup_variable(&mut self, name: &str) -> Result<Option<Kind>, ParseError> {
        if name.starts_with("2a$") {
            return Ok(Some(Kind::String(format!("${name}"))));
        }
        for ctx in self.ctxs.iter_mut().rev() {
            if let Ctx::Map(m) = ctx {
                if let Some(v) = m.get_mut(name) {
                    v.used_variable = true;
                    return Ok(Some(v.kind.clone()));
                }
            }
        }
        if self.env_refs.contains(name) {
            return err(format!("variable reference cycle for '{name}'"));
        }
        let Some(value) = lookup_env(name) else {
            return Ok(None);
        };
        self.env_refs.insert(name.to_string());
        let mut data = b"pk=".to_vec();
        data.extend_from_slice(&value);
        let parsed = Parser::new(&data, "", false, self.env_refs).run();
        self.env_refs.remove(name);
        Ok(parsed?.get("pk").map(|v| v.kind.clone()))
    }
}

/// How many levels of maps and arrays a value holds (0 for a scalar). Values in a tree
/// hold at most [`MAX_NESTING`], which bounds this recursion.
fn nesting(kind: &Kind) -> usize {
    match kind {
        Kind::Array(a) => 1 + a.iter().map(|v| nesting(&v.kind)).max().unwrap_or(0),
        Kind::Map(m) => 1 + m.iter().map(|(_, v)| nesting(&v.kind)).max().unwrap_or(0),
        _ => 0,
    }
}

/// An environment variable's raw value (never panics on odd names).
fn lookup_env(name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return None;
    }
    std::env::var_os(name).map(|v| v.as_bytes().to_vec())
}

/// An integer with an optional size suffix (`1k` = 1000, `1KB`/`1Ki`/`1KiB` = 1024, up to
/// `E`/`EiB`). An unknown suffix yields no value at all, as in the reference.
fn parse_integer(val: &[u8]) -> Result<Option<i64>, ParseError> {
    let text = String::from_utf8_lossy(val);
    // The reference counts leading digit-or-minus runes and cuts the text there in bytes.
    let mut count = 0usize;
    let mut rest = val;
    while !rest.is_empty() {
        let (r, w) = decode(rest);
        if !(super::runes::is_digit(r) || r == '-') {
            break;
        }
        count += 1;
        rest = &rest[w..];
    }
    let count = count.min(val.len());
    let num = match go_parse_int(&val[..count]) {
        Ok(n) => n,
        Err(IntError::Range) => return err(format!("integer '{text}' is out of the range")),
        Err(IntError::Syntax) => return err(format!("expected integer, but got '{text}'")),
    };
    let suffix = String::from_utf8_lossy(&val[count..])
        .trim()
        .to_ascii_lowercase();
    const K: i64 = 1000;
    const KI: i64 = 1024;
    let mult = match suffix.as_str() {
        "" => 1,
        "k" => K,
        "kb" | "ki" | "kib" => KI,
        "m" => K.pow(2),
        "mb" | "mi" | "mib" => KI.pow(2),
        "g" => K.pow(3),
        "gb" | "gi" | "gib" => KI.pow(3),
        "t" => K.pow(4),
        "tb" | "ti" | "tib" => KI.pow(4),
        "p" => K.pow(5),
        "pb" | "pi" | "pib" => KI.pow(5),
        "e" => K.pow(6),
        "eb" | "ei" | "eib" => KI.pow(6),
        _ => return Ok(None),
    };
    // Overflow wraps, as 64-bit multiplication does in the reference.
    Ok(Some(num.wrapping_mul(mult)))
}

fn decode(b: &[u8]) -> (char, usize) {
    let n = b.len().min(4);
    for w in 1..=n {
        if let Ok(s) = std::str::from_utf8(&b[..w]) {
            if let Some(c) = s.chars().next() {
                return (c, w);
            }
        }
    }
    ('\u{FFFD}', 1)
}

enum IntError {
    Syntax,
    Range,
}

/// Go's `strconv.ParseInt(s, 10, 64)`: digits are checked (and unsigned overflow caught)
/// left to right, then the signed range.
fn go_parse_int(s: &[u8]) -> Result<i64, IntError> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(IntError::Syntax);
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(IntError::Syntax);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(IntError::Range)?;
    }
    let limit: u64 = if neg { 1 << 63 } else { (1 << 63) - 1 };
    if n > limit {
        return Err(IntError::Range);
    }
    Ok(if neg {
        (n as i64).wrapping_neg()
    } else {
        n as i64
    })
}

/// The float lexeme is `-?digits.digits` in ASCII (the lexer also lets other Unicode
/// digits through, which the reference then fails to convert).
fn is_go_float_syntax(val: &[u8]) -> bool {
    val.iter()
        .all(|&b| b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Go's `filepath.Dir`.
pub(crate) fn go_dir(path: &str) -> String {
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    go_clean(dir)
}

/// Go's `filepath.Join(dir, name)`: joined with '/' and cleaned; an absolute `name` does
/// not replace `dir`.
pub(crate) fn go_join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => go_clean(name),
        (false, true) => go_clean(dir),
        (false, false) => go_clean(&format!("{dir}/{name}")),
    }
}

/// Go's `filepath.Clean` (lexical: drops `.`, resolves `..`, collapses slashes).
pub(crate) fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|p| *p != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers() {
        assert_eq!(go_dir(""), ".");
        assert_eq!(go_dir("nats.conf"), ".");
        assert_eq!(go_dir("/etc/nats/nats.conf"), "/etc/nats");
        assert_eq!(go_dir("/nats.conf"), "/");
        assert_eq!(go_join(".", "users.conf"), "users.conf");
        assert_eq!(go_join("/a/b", "../c.conf"), "/a/c.conf");
        assert_eq!(go_join("/a", "/abs.conf"), "/a/abs.conf");
        assert_eq!(go_clean("a/./b//c/.."), "a/b");
        assert_eq!(go_clean("../../x"), "../../x");
    }

    #[test]
    fn integers_with_suffixes() {
        assert_eq!(parse_integer(b"1k").ok().flatten(), Some(1000));
        assert_eq!(
            parse_integer(b"-2MiB").ok().flatten(),
            Some(-2 * 1024 * 1024)
        );
        assert_eq!(parse_integer(b"1kbb").ok().flatten(), None);
        assert!(parse_integer(b"99999999999999999999").is_err());
        assert_eq!(
            parse_integer(b"-9223372036854775808").ok().flatten(),
            Some(i64::MIN)
        );
        assert_eq!(
            parse_integer(b"1--").err(),
            Some(ParseError("expected integer, but got '1--'".into()))
        );
    }

    #[test]
    fn unknown_size_suffix_drops_the_value_like_the_reference() {
        // The key stays pending and the next value takes the next key.
        let m = parse("a = 1kbb\nb = 2").expect("parses");
        assert!(m.get("a").is_none());
        assert_eq!(m.get("b").and_then(Value::as_i64), Some(2));
    }

    #[test]
    fn absurd_nesting_is_refused_instead_of_overflowing_the_stack() {
        let deep = |d: usize| format!("a = {}{}", "[".repeat(d), "]".repeat(d));
        assert!(parse(&deep(MAX_NESTING)).is_ok());
        let e = parse(&deep(MAX_NESTING + 1)).expect_err("too deep");
        assert_eq!(
            e.0,
            "Parse error on line 1: 'Maps and arrays nest more than 1000 levels deep.'"
        );
        let e = parse(&format!(
            "a {}{}",
            "{b ".repeat(100_000),
            "}".repeat(100_000)
        ))
        .expect_err("too deep");
        assert!(e.0.contains("nest more than"), "{e}");
        // Copies through variables count too.
        let half = MAX_NESTING / 2 + 1;
        let e = parse(&format!(
            "a = {}{}\nb = [{}$a{}]",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        ))
        .expect_err("too deep");
        assert!(e.0.contains("line 2"), "{e}");
    }

    #[test]
    fn env_reference_cycle_is_an_error() {
        std::env::set_var("__NATSD_CONF_CYCLE_A__", "$__NATSD_CONF_CYCLE_A__");
        let e = parse("x = $__NATSD_CONF_CYCLE_A__").expect_err("cycle");
        assert!(
            e.0.contains("variable reference cycle for '__NATSD_CONF_CYCLE_A__'"),
            "{e}"
        );
    }
}
