//! Reads the `port!` / `stub!` annotations of the ported tests with `syn`, without compiling.
//!
//! Recognised forms (also with a `ported::` path prefix):
//!
//! ```text
//! port!("server/sublist_test.go::TestSublistInit" => sublist_init);
//! port!("server/norace_1_test.go::TestNoRaceX" => no_race_x, opt_in = "stress: 2 min");
//! port!("server/a_test.go::TestY" => y, partial = "Go also checks a cluster; natsd has none");
//! stub!("server/filestore_test.go::TestFileStoreBasics");
//! ```

use crate::index::split_id;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use syn::parse::{ParseStream, Parser};
use syn::visit::Visit;

/// What an annotation declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationKind {
    Port,
    OptIn(String),
    /// A port that checks only part of its Go test; the reason says what it leaves out.
    Partial(String),
    Stub,
}

impl AnnotationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AnnotationKind::Port => "port",
            AnnotationKind::OptIn(_) => "opt_in",
            AnnotationKind::Partial(_) => "partial",
            AnnotationKind::Stub => "stub",
        }
    }
    /// The macro that wrote the annotation.
    pub fn macro_name(&self) -> &'static str {
        match self {
            AnnotationKind::Stub => "stub",
            _ => "port",
        }
    }
    pub fn is_port(&self) -> bool {
        !matches!(self, AnnotationKind::Stub)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub go_test: String,
    pub kind: AnnotationKind,
    /// The Rust function registered (empty for a stub).
    pub rust_fn: String,
    /// Path relative to the workspace root, `/`-separated.
    pub file: String,
    pub line: usize,
}

impl Annotation {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A malformed annotation or an unparsable file, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

#[derive(Debug, Default)]
pub struct Scan {
    pub annotations: Vec<Annotation>,
    pub malformed: Vec<Malformed>,
    /// Rust files read, relative to the root.
    pub files: Vec<String>,
}

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot walk {}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

/// Reads all annotations under `ported_dir`; paths in the result are relative to `root`.
pub fn scan_dir(root: &Path, ported_dir: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    for path in rust_files(ported_dir)? {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let src = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        scan_source(&rel, &src, &mut scan);
        scan.files.push(rel);
    }
    Ok(scan)
}

/// Reads the annotations of one Rust source file into `scan`.
pub fn scan_source(file: &str, src: &str, scan: &mut Scan) {
    let parsed = match syn::parse_file(src) {
        Ok(f) => f,
        Err(e) => {
            scan.malformed.push(Malformed {
                file: file.to_string(),
                line: e.span().start().line,
                message: format!("cannot parse this Rust file: {e}"),
            });
            return;
        }
    };
    let mut v = Visitor { file, scan };
    v.visit_file(&parsed);
}

struct Visitor<'a> {
    file: &'a str,
    scan: &'a mut Scan,
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let segs: Vec<String> = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let which = match segs.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["port"] | ["ported", "port"] => "port",
            ["stub"] | ["ported", "stub"] => "stub",
            _ => return,
        };
        let line = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.span().start().line)
            .unwrap_or(0);
        let parsed = if which == "port" {
            parse_port.parse2(mac.tokens.clone())
        } else {
            parse_stub.parse2(mac.tokens.clone())
        };
        match parsed {
            Ok((id, kind, rust_fn)) => {
                if split_id(&id).is_none() {
                    self.scan.malformed.push(Malformed {
                        file: self.file.to_string(),
                        line,
                        message: format!(
                            "{which}! expects a Go test id `<dir>/<file>_test.go::<TestName>`, found \"{id}\""
                        ),
                    });
                    return;
                }
                self.scan.annotations.push(Annotation {
                    go_test: id,
                    kind,
                    rust_fn,
                    file: self.file.to_string(),
                    line,
                });
            }
            Err(e) => {
                let expected = if which == "port" {
                    "port!(\"<go test id>\" => fn_path), port!(\"<id>\" => fn_path, opt_in = \"why\") or port!(\"<id>\" => fn_path, partial = \"what is not covered\")"
                } else {
                    "stub!(\"<go test id>\")"
                };
                self.scan.malformed.push(Malformed {
                    file: self.file.to_string(),
                    line,
                    message: format!("malformed {which}! annotation: expected {expected}: {e}"),
                });
            }
        }
    }
}

fn parse_port(input: ParseStream) -> syn::Result<(String, AnnotationKind, String)> {
    let id: syn::LitStr = input.parse()?;
    input.parse::<syn::Token![=>]>()?;
    let path: syn::Path = input.parse()?;
    let rust_fn = path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    if input.is_empty() {
        return Ok((id.value(), AnnotationKind::Port, rust_fn));
    }
    input.parse::<syn::Token![,]>()?;
    let key: syn::Ident = input.parse()?;
    let (make, needs): (fn(String) -> AnnotationKind, &str) = if key == "opt_in" {
        (
            AnnotationKind::OptIn,
            "opt_in needs a reason (why the test is opt-in)",
        )
    } else if key == "partial" {
        (
            AnnotationKind::Partial,
            "partial needs a reason (what the port does not check, and why)",
        )
    } else {
        return Err(syn::Error::new(
            key.span(),
            format!("expected `opt_in` or `partial`, found `{key}`"),
        ));
    };
    input.parse::<syn::Token![=]>()?;
    let why: syn::LitStr = input.parse()?;
    if why.value().trim().is_empty() {
        return Err(syn::Error::new(why.span(), needs));
    }
    if !input.is_empty() {
        return Err(input.error(format!("unexpected tokens after the {key} reason")));
    }
    Ok((id.value(), make(why.value()), rust_fn))
}

fn parse_stub(input: ParseStream) -> syn::Result<(String, AnnotationKind, String)> {
    let id: syn::LitStr = input.parse()?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the Go test id"));
    }
    Ok((id.value(), AnnotationKind::Stub, String::new()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scan(src: &str) -> Scan {
        let mut s = Scan::default();
        scan_source("ported/tests/ported/server/a_test.rs", src, &mut s);
        s
    }

    #[test]
    fn reads_all_forms_with_lines() {
        let s = scan(
            r#"use ported::port;

port!("server/a_test.go::TestA" => a);
ported::port!("server/a_test.go::TestB" => self::inner::b, opt_in = "soak: 5 min");
ported::stub!("server/a_test.go::TestC");
port!("server/a_test.go::TestD" => d, partial = "Go also runs it on a 3-node cluster");

fn a() { let _ = "port!(\"server/a_test.go::TestFake\" => a);"; }
"#,
        );
        assert!(s.malformed.is_empty(), "{:?}", s.malformed);
        let got: Vec<_> = s
            .annotations
            .iter()
            .map(|a| {
                (
                    a.go_test.as_str(),
                    a.kind.clone(),
                    a.rust_fn.as_str(),
                    a.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("server/a_test.go::TestA", AnnotationKind::Port, "a", 3),
                (
                    "server/a_test.go::TestB",
                    AnnotationKind::OptIn("soak: 5 min".into()),
                    "self::inner::b",
                    4
                ),
                ("server/a_test.go::TestC", AnnotationKind::Stub, "", 5),
                (
                    "server/a_test.go::TestD",
                    AnnotationKind::Partial("Go also runs it on a 3-node cluster".into()),
                    "d",
                    6
                ),
            ]
        );
    }

    #[test]
    fn malformed_annotations_are_reported_with_file_and_line() {
        let s = scan(
            r#"
port!(TestA => a);
port!("server/a_test.go::TestB" => b, opt_in = "");
stub!("TestC");
port!("server/a_test.go::TestD" => d, timeout = "3s");
"#,
        );
        assert!(s.annotations.is_empty());
        let lines: Vec<usize> = s.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert!(s.malformed[0]
            .to_string()
            .starts_with("ported/tests/ported/server/a_test.rs:2: malformed port!"));
    }

    #[test]
    fn partial_needs_a_reason_and_excludes_opt_in() {
        let s = scan(
            r#"
port!("server/a_test.go::TestA" => a, partial = "");
port!("server/a_test.go::TestB" => b, partial = "   ");
port!("server/a_test.go::TestC" => c, partial = "no cluster", opt_in = "soak");
port!("server/a_test.go::TestD" => d, partial);
port!("server/a_test.go::TestE" => e, partial = "Go also checks a cluster");
"#,
        );
        let lines: Vec<usize> = s.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5], "{:?}", s.malformed);
        assert!(
            s.malformed[0].message.contains("partial needs a reason"),
            "{}",
            s.malformed[0]
        );
        assert!(s.malformed[1].message.contains("partial needs a reason"));
        assert!(s.malformed[2].message.contains("after the partial reason"));
        assert_eq!(s.annotations.len(), 1);
        let e = &s.annotations[0];
        assert_eq!(e.go_test, "server/a_test.go::TestE");
        assert_eq!(
            e.kind,
            AnnotationKind::Partial("Go also checks a cluster".into())
        );
        assert!(e.kind.is_port());
        assert_eq!(e.kind.as_str(), "partial");
        assert_eq!(e.kind.macro_name(), "port");
    }

    #[test]
    fn unparsable_file_is_reported() {
        let s = scan("fn broken( {\n");
        assert_eq!(s.malformed.len(), 1);
        assert!(s.malformed[0].message.contains("cannot parse"));
    }
}
