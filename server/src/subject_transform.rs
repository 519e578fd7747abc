//! Subject mapping: rewrite a subject matched by a source pattern into a destination built
//! from literal tokens, the source's wildcard tokens and mapping functions such as
//! `{{wildcard(1)}}`, `{{partition(10,1,2)}}` or `{{split(1,-)}}`. Used for account
//! mappings, imports/exports and stream subject transforms. Errors and their texts are
//! Go's, since they reach users through config and API errors.

use crate::subject::{
    is_fwc_token, is_pwc_token, is_subset_match, is_valid_literal_tokens, FWCS, PWCS,
};
use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

/// What a destination token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformKind {
    /// A literal token, copied as is.
    NoTransform,
    BadTransform,
    /// Hash of some source tokens modulo a bucket count.
    Partition,
    /// A source wildcard token (`$1` or `{{wildcard(1)}}`).
    Wildcard,
    SplitFromLeft,
    SplitFromRight,
    SliceFromLeft,
    SliceFromRight,
    Split,
    Left,
    Right,
    /// A random number below a ceiling.
    Random,
}

/// The specific problem with a mapping destination; every one of them is an
/// "invalid mapping destination".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingErrorKind {
    InvalidSubject,
    NotUsingAllWildcards,
    UnknownFunction,
    IndexOutOfRange,
    NotEnoughArgs,
    InvalidArg,
    TooManyArgs,
    NotSupportedForImport,
}

impl MappingErrorKind {
    fn text(self) -> &'static str {
        match self {
            MappingErrorKind::InvalidSubject => "invalid mapping destination: invalid transform",
            MappingErrorKind::NotUsingAllWildcards => {
                "invalid mapping destination: not using all of the token wildcard(s)"
            }
            MappingErrorKind::UnknownFunction => "invalid mapping destination: unknown function",
            MappingErrorKind::IndexOutOfRange => {
                "invalid mapping destination: wildcard index out of range"
            }
            MappingErrorKind::NotEnoughArgs => {
                "invalid mapping destination: not enough arguments passed to the function"
            }
            MappingErrorKind::InvalidArg => {
                "invalid mapping destination: function argument is invalid or in the wrong format"
            }
            MappingErrorKind::TooManyArgs => {
                "invalid mapping destination: too many arguments passed to the function"
            }
            MappingErrorKind::NotSupportedForImport => {
                "invalid mapping destination: the only mapping function allowed for import transforms is {{Wildcard()}}"
            }
        }
    }
}

/// Errors from creating or applying a transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformError {
    /// Source or destination is not a valid subject, or they do not fit together.
    BadSubject,
    /// The subject is not matched by the transform's source.
    NoTransforms,
    /// The destination is wrong; `token` names the offending part when known.
    Mapping {
        kind: MappingErrorKind,
        token: String,
    },
}

impl TransformError {
    fn mapping(kind: MappingErrorKind, token: impl Into<String>) -> Self {
        TransformError::Mapping {
            kind,
            token: token.into(),
        }
    }

    /// Go's `errors.Is(err, ErrInvalidMappingDestination)`.
    pub fn is_invalid_mapping_destination(&self) -> bool {
        matches!(self, TransformError::Mapping { .. })
    }

    /// The mapping error kind, if this is one.
    pub fn mapping_kind(&self) -> Option<MappingErrorKind> {
        match self {
            TransformError::Mapping { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::BadSubject => f.write_str("invalid subject"),
            TransformError::NoTransforms => f.write_str("no matching transforms available"),
            TransformError::Mapping { kind, token } if token.is_empty() => f.write_str(kind.text()),
            TransformError::Mapping { kind, token } => write!(f, "{} in {}", kind.text(), token),
        }
    }
}

impl std::error::Error for TransformError {}

/// Builds the regex of a `{{name(args)}}` function; the name's letters that Go accepts in
/// either case are written as classes by the caller. Whitespace is Go's `\s`.
fn function_regex(name: &str) -> Regex {
    let ws = r"[\t\n\f\r ]*";
    let pattern = format!(r"\{{\{{{ws}{name}{ws}\((.*)\){ws}\}}\}}");
    Regex::new(&pattern).expect("built-in mapping function regex")
}

static COMMA_SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r",[\t\n\f\r ]*").expect("built-in separator regex"));
static PARTITION_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[pP]artition"));
static WILDCARD_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[wW]ildcard"));
static SPLIT_FROM_LEFT_FN: LazyLock<Regex> =
    LazyLock::new(|| function_regex("[sS]plit[fF]rom[lL]eft"));
static SPLIT_FROM_RIGHT_FN: LazyLock<Regex> =
    LazyLock::new(|| function_regex("[sS]plit[fF]rom[rR]ight"));
static SLICE_FROM_LEFT_FN: LazyLock<Regex> =
    LazyLock::new(|| function_regex("[sS]lice[fF]rom[lL]eft"));
static SLICE_FROM_RIGHT_FN: LazyLock<Regex> =
    LazyLock::new(|| function_regex("[sS]lice[fF]rom[rR]ight"));
static SPLIT_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[sS]plit"));
static LEFT_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[lL]eft"));
static RIGHT_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[rR]ight"));
static RANDOM_FN: LazyLock<Regex> = LazyLock::new(|| function_regex("[rR]andom"));

/// The comma-separated arguments if `token` calls the function of `re`.
fn function_args<'a>(re: &Regex, token: &'a str) -> Option<Vec<&'a str>> {
    let caps = re.captures(token)?;
    let inner = caps.get(1)?.as_str();
    Some(COMMA_SEPARATOR.split(inner).collect())
}

/// Go's `strconv.Atoi` after trimming spaces.
fn parse_int(arg: &str) -> Option<i64> {
    arg.trim_matches(' ').parse().ok()
}

/// A parsed destination token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub kind: TransformKind,
    /// Source wildcard indexes (one-based) the function reads.
    pub indexes: Vec<i64>,
    /// Partition count, split position, slice size or random ceiling; -1 if unused.
    pub int_arg: i32,
    /// The split delimiter.
    pub string_arg: String,
}

impl Placeholder {
    fn new(kind: TransformKind, indexes: Vec<i64>, int_arg: i32) -> Self {
        Placeholder {
            kind,
            indexes,
            int_arg,
            string_arg: String::new(),
        }
    }

    fn literal() -> Self {
        Placeholder::new(TransformKind::NoTransform, vec![-1], -1)
    }
}

/// Functions taking a wildcard index and an int32.
fn index_and_int(
    token: &str,
    args: &[&str],
    kind: TransformKind,
) -> Result<Placeholder, TransformError> {
    let bad = |k| Err(TransformError::mapping(k, token));
    if args.len() < 2 {
        return bad(MappingErrorKind::NotEnoughArgs);
    }
    if args.len() > 2 {
        return bad(MappingErrorKind::TooManyArgs);
    }
    let Some(index) = parse_int(args[0]) else {
        return bad(MappingErrorKind::InvalidArg);
    };
    let Ok(int_arg) = args[1].trim_matches(' ').parse::<i32>() else {
        return bad(MappingErrorKind::InvalidArg);
    };
    Ok(Placeholder::new(kind, vec![index], int_arg))
}

/// An int argument that must fit in an int32 (larger ones are rejected; smaller ones wrap
/// as Go's conversion does).
fn int32_arg(arg: &str) -> Option<i32> {
    let v = parse_int(arg)?;
    if v > i64::from(i32::MAX) {
        return None;
    }
    Some(v as i32)
}

/// Parses one destination token: a literal, an old-style `$N`, or a `{{function(...)}}`.
pub fn index_placeholders(token: &str) -> Result<Placeholder, TransformError> {
    use MappingErrorKind as E;
    use TransformKind as K;
    let bad = |k| Err(TransformError::mapping(k, token));
    let b = token.as_bytes();
    let len = b.len();
    if len <= 1 {
        return Ok(Placeholder::literal());
    }
    if b[0] == b'$' {
        // Other features use tokens starting with `$`, so a non-number is just a literal.
        return Ok(match token[1..].parse::<i64>() {
            Ok(i) => Placeholder::new(K::Wildcard, vec![i], -1),
            Err(_) => Placeholder::literal(),
        });
    }
    if !(len > 4 && token.starts_with("{{") && token.ends_with("}}")) {
        return Ok(Placeholder::literal());
    }

    if let Some(args) = function_args(&WILDCARD_FN, token) {
        if args.len() == 1 && args[0].is_empty() {
            return bad(E::NotEnoughArgs);
        }
        if args.len() > 1 {
            return bad(E::TooManyArgs);
        }
        return match parse_int(args[0]) {
            Some(i) => Ok(Placeholder::new(K::Wildcard, vec![i], -1)),
            None => bad(E::InvalidArg),
        };
    }

    if let Some(args) = function_args(&PARTITION_FN, token) {
        let Some(buckets) = int32_arg(args[0]) else {
            return bad(E::InvalidArg);
        };
        let mut indexes = Vec::with_capacity(args.len() - 1);
        for a in &args[1..] {
            match parse_int(a) {
                Some(i) => indexes.push(i),
                None => return bad(E::InvalidArg),
            }
        }
        return Ok(Placeholder::new(K::Partition, indexes, buckets));
    }

    let index_int_fns: [(&Regex, TransformKind); 6] = [
        (&SPLIT_FROM_LEFT_FN, K::SplitFromLeft),
        (&SPLIT_FROM_RIGHT_FN, K::SplitFromRight),
        (&SLICE_FROM_LEFT_FN, K::SliceFromLeft),
        (&SLICE_FROM_RIGHT_FN, K::SliceFromRight),
        (&RIGHT_FN, K::Right),
        (&LEFT_FN, K::Left),
    ];
    for (re, kind) in index_int_fns {
        if let Some(args) = function_args(re, token) {
            return index_and_int(token, &args, kind);
        }
    }

    if let Some(args) = function_args(&SPLIT_FN, token) {
        if args.len() < 2 {
            return bad(E::NotEnoughArgs);
        }
        if args.len() > 2 {
            return bad(E::TooManyArgs);
        }
        let Some(index) = parse_int(args[0]) else {
            return bad(E::InvalidArg);
        };
        if args[1].contains(' ') || args[1].contains('.') {
            return bad(E::InvalidArg);
        }
        let mut p = Placeholder::new(K::Split, vec![index], -1);
        p.string_arg = args[1].to_string();
        return Ok(p);
    }

    if let Some(args) = function_args(&RANDOM_FN, token) {
        if args.len() != 1 {
            return bad(E::NotEnoughArgs);
        }
        return match int32_arg(args[0]) {
            Some(ceiling) => Ok(Placeholder::new(K::Random, Vec::new(), ceiling)),
            None => bad(E::InvalidArg),
        };
    }

    bad(E::UnknownFunction)
}

/// Rewrites `*` tokens as `$1`, `$2`, ...: `foo.*.*` becomes `foo.$1.$2`.
pub fn transform_tokenize(subject: &str) -> String {
    let mut i = 0;
    subject
        .split('.')
        .map(|t| {
            if t == PWCS {
                i += 1;
                format!("${i}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Turns a destination back into a filter and its ordered placeholders:
/// `foo.$2.$1` gives `("foo.*.*", ["$2", "$1"])`.
pub fn transform_untokenize(subject: &str) -> (String, Vec<String>) {
    let mut placeholders = Vec::new();
    let mut out = Vec::new();
    for token in subject.split('.') {
        let b = token.as_bytes();
        let dollar = b.len() > 1 && b[0] == b'$' && (b'1'..=b'9').contains(&b[1]);
        let wildcard_fn = function_args(&WILDCARD_FN, token)
            .is_some_and(|args| args.len() == 1 && !args[0].is_empty());
        if dollar || wildcard_fn {
            placeholders.push(token.to_string());
            out.push(PWCS);
        } else {
            out.push(token);
        }
    }
    (out.join("."), placeholders)
}

/// Validity, tokens, number of `*` and presence of `>` of a subject.
fn subject_info(subject: &str) -> Option<(Vec<String>, usize, bool)> {
    if subject.is_empty() {
        return None;
    }
    let mut npwcs = 0;
    let mut seen_fwc = false;
    let tokens: Vec<String> = subject.split('.').map(str::to_string).collect();
    for t in &tokens {
        if t.is_empty() || seen_fwc {
            return None;
        }
        if is_fwc_token(t) {
            seen_fwc = true;
        } else if is_pwc_token(t) {
            npwcs += 1;
        }
    }
    Some((tokens, npwcs, seen_fwc))
}

/// What to emit for one destination token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DestFn {
    kind: TransformKind,
    /// Zero-based source token positions the function reads.
    source_tokens: Vec<usize>,
    int_arg: i32,
    string_arg: String,
}

/// A compiled subject transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTransform {
    src: String,
    dest: String,
    dtoks: Vec<String>,
    stoks: Vec<String>,
    dest_fns: Vec<DestFn>,
}

impl SubjectTransform {
    /// A transform from `src` (empty means `>`) to `dest`; `Ok(None)` when `dest` is empty.
    pub fn new(src: &str, dest: &str) -> Result<Option<Self>, TransformError> {
        Self::with_strict(src, dest, false)
    }

    /// A reversible transform (for imports): only wildcard placeholders, all of them used.
    pub fn new_strict(src: &str, dest: &str) -> Result<Option<Self>, TransformError> {
        Self::with_strict(src, dest, true)
    }

    pub fn with_strict(
        src: &str,
        dest: &str,
        strict: bool,
    ) -> Result<Option<Self>, TransformError> {
        use MappingErrorKind as E;
        use TransformKind as K;
        if dest.is_empty() {
            return Ok(None);
        }
        let src = if src.is_empty() { FWCS } else { src };
        let (Some((stoks, npwcs, has_fwc)), Some((dtoks, dnpwcs, dhas_fwc))) =
            (subject_info(src), subject_info(dest))
        else {
            return Err(TransformError::BadSubject);
        };
        if dnpwcs > 0 || has_fwc != dhas_fwc {
            return Err(TransformError::BadSubject);
        }

        let mut dest_fns = Vec::with_capacity(dtoks.len());
        if npwcs > 0 || has_fwc {
            // Zero-based source position of each one-based wildcard index.
            let wildcard_positions: Vec<usize> = stoks
                .iter()
                .enumerate()
                .filter(|(_, t)| is_pwc_token(t))
                .map(|(i, _)| i)
                .collect();
            let mut placed = 0;
            for token in &dtoks {
                let p = index_placeholders(token)?;
                if strict && p.kind != K::NoTransform && p.kind != K::Wildcard {
                    return Err(TransformError::mapping(
                        E::NotSupportedForImport,
                        token.as_str(),
                    ));
                }
                match p.kind {
                    K::NoTransform => dest_fns.push(DestFn::literal()),
                    K::Random => dest_fns.push(DestFn::with_int(K::Random, p.int_arg)),
                    kind => {
                        placed += p.indexes.len();
                        let mut source_tokens = Vec::with_capacity(p.indexes.len());
                        for &wi in &p.indexes {
                            if wi > npwcs as i64 {
                                return Err(TransformError::mapping(
                                    E::IndexOutOfRange,
                                    format!("{token}: [{wi}]"),
                                ));
                            }
                            // Index 0 or below names no wildcard; Go falls back to token 0.
                            let pos = usize::try_from(wi - 1)
                                .ok()
                                .and_then(|i| wildcard_positions.get(i).copied())
                                .unwrap_or(0);
                            source_tokens.push(pos);
                        }
                        dest_fns.push(DestFn {
                            kind,
                            source_tokens,
                            int_arg: p.int_arg,
                            string_arg: p.string_arg,
                        });
                    }
                }
            }
            if strict && placed < npwcs {
                return Err(TransformError::mapping(E::NotUsingAllWildcards, dest));
            }
        } else {
            // A literal source: only functions that need no wildcard are allowed.
            for token in &dtoks {
                let p = index_placeholders(token)?;
                match p.kind {
                    K::NoTransform => dest_fns.push(DestFn::literal()),
                    K::Random | K::Partition => dest_fns.push(DestFn::with_int(p.kind, p.int_arg)),
                    _ => return Err(TransformError::mapping(E::IndexOutOfRange, token.as_str())),
                }
            }
        }

        Ok(Some(SubjectTransform {
            src: src.to_string(),
            dest: dest.to_string(),
            dtoks,
            stoks,
            dest_fns,
        }))
    }

    /// The source pattern.
    pub fn src(&self) -> &str {
        &self.src
    }

    /// The destination pattern.
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// Transforms a published (literal) subject if the source matches it.
    pub fn match_subject(&self, subject: &str) -> Result<String, TransformError> {
        let any = |s: &str| s == FWCS || s.is_empty();
        if any(&self.src) && any(&self.dest) {
            return Ok(subject.to_string());
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        if !is_valid_literal_tokens(tokens.iter().copied()) {
            return Err(TransformError::BadSubject);
        }
        if any(&self.src) || is_subset_match(&tokens, &self.src) {
            return Ok(self.transform_tokenized_subject(&tokens));
        }
        Err(TransformError::NoTransforms)
    }

    /// Transforms a subject known to match the source.
    pub fn transform_subject(&self, subject: &str) -> String {
        let tokens: Vec<&str> = subject.split('.').collect();
        self.transform_tokenized_subject(&tokens)
    }

    /// Transforms a tokenized subject known to match the source. Missing tokens produce
    /// empty output rather than a panic.
    pub fn transform_tokenized_subject(&self, tokens: &[&str]) -> String {
        if self.dest_fns.is_empty() {
            return self.dest.clone();
        }
        let mut b = String::with_capacity(self.dest.len() + 16);
        let last = self.dest_fns.len() - 1;
        for (i, f) in self.dest_fns.iter().enumerate() {
            if f.kind == TransformKind::NoTransform {
                let t = &self.dtoks[i];
                if is_fwc_token(t) {
                    break;
                }
                b.push_str(t);
            } else {
                f.apply(tokens, &mut b);
            }
            if i < last {
                b.push('.');
            }
        }
        // A trailing `>` carries over the rest of the source tokens.
        if self.dtoks.last().is_some_and(|t| is_fwc_token(t)) {
            let start = self.stoks.len() - 1;
            if start < tokens.len() {
                b.push_str(&tokens[start..].join("."));
            }
        }
        b
    }

    /// The transform going back from destination to source; None if there is none.
    pub fn reverse(&self) -> Option<SubjectTransform> {
        if self.dest_fns.is_empty() {
            return Self::new_strict(&self.dest, &self.src).ok().flatten();
        }
        let (nsrc, placeholders) = transform_untokenize(&self.dest);
        let mut placeholders = placeholders.into_iter();
        let mut nda = Vec::with_capacity(self.stoks.len());
        for t in &self.stoks {
            if t == PWCS {
                nda.push(placeholders.next()?);
            } else {
                nda.push(t.clone());
            }
        }
        Self::new_strict(&nsrc, &nda.join(".")).ok().flatten()
    }
}

/// FNV-1a, 32 bits (the partition hash; must match Go's to place subjects alike).
fn fnv1a32(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |h, &byte| {
        (h ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

impl DestFn {
    fn literal() -> Self {
        DestFn {
            kind: TransformKind::NoTransform,
            source_tokens: Vec::new(),
            int_arg: -1,
            string_arg: String::new(),
        }
    }

    fn with_int(kind: TransformKind, int_arg: i32) -> Self {
        DestFn {
            kind,
            source_tokens: Vec::new(),
            int_arg,
            string_arg: String::new(),
        }
    }

    /// The first source token the function reads ("" if absent).
    fn source<'a>(&self, tokens: &[&'a str]) -> &'a str {
        self.source_tokens
            .first()
            .and_then(|&i| tokens.get(i))
            .copied()
            .unwrap_or("")
    }

    fn apply(&self, tokens: &[&str], b: &mut String) {
        use TransformKind as K;
        let n = self.int_arg;
        match self.kind {
            K::NoTransform | K::BadTransform => {}
            K::Partition => {
                let key = if self.source_tokens.is_empty() {
                    tokens.join(".")
                } else {
                    self.source_tokens
                        .iter()
                        .map(|&i| tokens.get(i).copied().unwrap_or(""))
                        .collect()
                };
                if n == 0 {
                    b.push('0');
                } else {
                    // Go converts the bucket count to uint32, wrapping negatives.
                    let buckets = n as u32;
                    b.push_str(&(fnv1a32(key.as_bytes()) % buckets).to_string());
                }
            }
            K::Wildcard => {
                if let Some(t) = self.source_tokens.first().and_then(|&i| tokens.get(i)) {
                    b.push_str(t);
                }
            }
            K::SplitFromLeft | K::SplitFromRight => {
                let t = self.source(tokens);
                match usize::try_from(n) {
                    Ok(pos) if pos > 0 && pos < t.len() => {
                        let at = if self.kind == K::SplitFromLeft {
                            pos
                        } else {
                            t.len() - pos
                        };
                        push_split_at(b, t, at);
                    }
                    _ => b.push_str(t),
                }
            }
            K::SliceFromLeft => {
                let t = self.source(tokens);
                match usize::try_from(n) {
                    Ok(size) if size > 0 && size < t.len() => {
                        let pieces: Vec<&str> = byte_chunks(t, size).collect();
                        b.push_str(&pieces.join("."));
                    }
                    _ => b.push_str(t),
                }
            }
            K::SliceFromRight => {
                let t = self.source(tokens);
                match usize::try_from(n) {
                    Ok(size) if size > 0 && size < t.len() => {
                        let rem = t.len() % size;
                        let mut pieces = Vec::new();
                        if rem > 0 {
                            pieces.push(byte_slice(t, 0, rem));
                        }
                        pieces.extend(byte_chunks(byte_slice(t, rem, t.len()), size));
                        b.push_str(&pieces.join("."));
                    }
                    _ => b.push_str(t),
                }
            }
            K::Split => push_split(b, self.source(tokens), &self.string_arg),
            K::Left | K::Right => {
                let t = self.source(tokens);
                match usize::try_from(n) {
                    Ok(size) if size > 0 && size < t.len() => {
                        let piece = if self.kind == K::Left {
                            byte_slice(t, 0, size)
                        } else {
                            byte_slice(t, t.len() - size, t.len())
                        };
                        b.push_str(piece);
                    }
                    _ => b.push_str(t),
                }
            }
            K::Random => {
                if n == 0 {
                    b.push('0');
                } else {
                    let r = (rand::random::<u32>() >> 1) as i32;
                    b.push_str(&(r % n).to_string());
                }
            }
        }
    }
}

/// Go slices strings by bytes; where that would cut a UTF-8 character this yields an
/// empty piece rather than panic.
fn byte_slice(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or("")
}

/// Consecutive pieces of `size` bytes, the last one possibly shorter.
fn byte_chunks(s: &str, size: usize) -> impl Iterator<Item = &str> {
    (0..s.len())
        .step_by(size)
        .map(move |i| byte_slice(s, i, (i + size).min(s.len())))
}

fn push_split_at(b: &mut String, t: &str, at: usize) {
    b.push_str(byte_slice(t, 0, at));
    b.push('.');
    b.push_str(byte_slice(t, at, t.len()));
}

/// Splits a token on a delimiter into tokens, dropping empty pieces as Go's mapping does.
fn push_split(b: &mut String, t: &str, delim: &str) {
    // Go's strings.Split with an empty separator yields each character.
    let splits: Vec<&str> = if delim.is_empty() {
        t.char_indices()
            .map(|(i, c)| &t[i..i + c.len_utf8()])
            .collect()
    } else {
        t.split(delim).collect()
    };
    for (j, piece) in splits.iter().enumerate() {
        b.push_str(piece);
        let next_nonempty = splits.get(j + 1).is_some_and(|n| !n.is_empty());
        if next_nonempty && !(j == 0 && piece.is_empty()) {
            b.push('.');
        }
    }
}

/// Checks that `dest` is a usable mapping destination for `src` (config validation).
pub fn validate_mapping(src: &str, dest: &str) -> Result<(), TransformError> {
    if dest.is_empty() {
        return Ok(());
    }
    let mut seen_fwc = false;
    for t in dest.split('.') {
        if t.is_empty() || seen_fwc {
            return Err(TransformError::mapping(MappingErrorKind::InvalidSubject, t));
        }
        if t.len() > 4 && t.starts_with("{{") && t.ends_with("}}") {
            // Left and Right are not accepted here, as in Go.
            let known = [
                &*PARTITION_FN,
                &*WILDCARD_FN,
                &*SPLIT_FROM_LEFT_FN,
                &*SPLIT_FROM_RIGHT_FN,
                &*SLICE_FROM_LEFT_FN,
                &*SLICE_FROM_RIGHT_FN,
                &*SPLIT_FN,
                &*RANDOM_FN,
            ];
            if !known.iter().any(|re| re.is_match(t)) {
                return Err(TransformError::mapping(
                    MappingErrorKind::UnknownFunction,
                    t,
                ));
            }
            continue;
        }
        if is_fwc_token(t) {
            seen_fwc = true;
        } else if t
            .bytes()
            .any(|c| matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        {
            return Err(TransformError::mapping(
                MappingErrorKind::InvalidSubject,
                "",
            ));
        }
    }
    SubjectTransform::new(src, dest).map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tr(src: &str, dest: &str) -> SubjectTransform {
        SubjectTransform::new(src, dest).unwrap().unwrap()
    }

    #[test]
    fn error_texts_match_go() {
        let e = SubjectTransform::new("*", "foo.{{unknown(1)}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid mapping destination: unknown function in {{unknown(1)}}"
        );
        let e = SubjectTransform::new("foo.*", "foo.{{wildcard(2)}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]"
        );
        assert_eq!(TransformError::BadSubject.to_string(), "invalid subject");
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn split_and_slices() {
        assert_eq!(tr("*", "{{split(1,)}}").transform_subject("ab"), "a.b");
        assert_eq!(
            tr("*", "{{SliceFromLeft(1,2)}}").transform_subject("abcde"),
            "ab.cd.e"
        );
        assert_eq!(
            tr("*", "{{SliceFromRight(1,2)}}").transform_subject("abcde"),
            "a.bc.de"
        );
        // Out-of-range source positions do not panic.
        assert_eq!(
            tr("*", "{{left(1,2)}}").transform_tokenized_subject(&[]),
            ""
        );
    }

    #[test]
    fn tokenize_round_trip() {
        assert_eq!(transform_tokenize("foo.*.*"), "foo.$1.$2");
        assert_eq!(transform_untokenize("foo.$1.$2").0, "foo.*.*");
    }
}
