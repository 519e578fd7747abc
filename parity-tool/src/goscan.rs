//! Finds the Go test functions of a source tree by parsing Go with tree-sitter.
//!
//! Only top-level function declarations count: a `func TestX` inside a raw string, a
//! comment or a function literal is not a declaration, and a method (with a receiver) is
//! parsed as a `method_declaration`, so neither is ever mistaken for a test.

use crate::progress::Progress;
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// What `go test` runs a function as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Test,
    Benchmark,
    Fuzz,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::Benchmark => "benchmark",
            Kind::Fuzz => "fuzz",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "test" => Some(Kind::Test),
            "benchmark" => Some(Kind::Benchmark),
            "fuzz" => Some(Kind::Fuzz),
            _ => None,
        }
    }

    /// The kind `go test` gives a top-level function of this name, if any. Like `go test`,
    /// the prefix must be followed by nothing or by a character that is not lower case
    /// (`Testable` is not a test), and `TestMain` is the package's entry point, not a test.
    pub fn of_function(name: &str) -> Option<Kind> {
        if name == "TestMain" {
            return None;
        }
        for (prefix, kind) in [
            ("Test", Kind::Test),
            ("Benchmark", Kind::Benchmark),
            ("Fuzz", Kind::Fuzz),
        ] {
            if let Some(rest) = name.strip_prefix(prefix) {
                return match rest.chars().next() {
                    Some(c) if c.is_lowercase() => None,
                    _ => Some(kind),
                };
            }
        }
        None
    }
}

/// One test, benchmark or fuzz function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunc {
    pub name: String,
    pub kind: Kind,
    /// 1-based line of the `func` keyword.
    pub line: usize,
    /// First 16 hex digits of the SHA-256 of the declaration's text.
    pub hash: String,
}

/// The tests of one `*_test.go` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFile {
    /// Path relative to the scanned root, `/`-separated, e.g. `server/sublist_test.go`.
    pub path: String,
    /// The expression of the file's `//go:build` line, or empty.
    pub build: String,
    /// The OS and/or architecture implied by the file name (`_windows`, `_linux_amd64`), or empty.
    pub file_os: String,
    pub funcs: Vec<GoFunc>,
}

/// Parses one Go source file and returns its test functions.
pub fn scan_source(path: &str, src: &str) -> Result<GoFile> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .map_err(|e| anyhow!("cannot load the tree-sitter Go grammar: {e}"))?;
    let tree = parser
        .parse(src, None)
        .ok_or_else(|| anyhow!("{path}: tree-sitter returned no syntax tree"))?;
    let root = tree.root_node();
    let bytes = src.as_bytes();
    let text = |n: tree_sitter::Node| n.utf8_text(bytes).unwrap_or_default();

    let mut build = String::new();
    let mut funcs = Vec::new();
    let mut seen_package = false;
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        match node.kind() {
            "package_clause" => seen_package = true,
            // A build constraint is a line comment before the package clause.
            "comment" if !seen_package && build.is_empty() => {
                if let Some(expr) = text(node).strip_prefix("//go:build ") {
                    build = expr.trim().to_string();
                }
            }
            "function_declaration" => {
                let Some(name_node) = node.child_by_field_name("name") else {
                    continue;
                };
                let name = text(name_node);
                let Some(kind) = Kind::of_function(name) else {
                    continue;
                };
                if node.has_error() {
                    bail!(
                        "{path}:{}: expected a well-formed Go function declaration for {name}, \
                         but tree-sitter found a syntax error in it",
                        node.start_position().row + 1
                    );
                }
                funcs.push(GoFunc {
                    name: name.to_string(),
                    kind,
                    line: node.start_position().row + 1,
                    hash: short_hash(text(node).as_bytes()),
                });
            }
            _ => {}
        }
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    Ok(GoFile {
        path: path.to_string(),
        build,
        file_os: file_name_constraint(file_name),
        funcs,
    })
}

/// First 16 hex digits of SHA-256.
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];
const KNOWN_ARCH: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
    "ppc64le", "riscv64", "s390x", "wasm",
];

/// The OS/arch constraint Go derives from a file name: `x_windows_test.go` -> `windows`,
/// `x_linux_amd64_test.go` -> `linux/amd64`. The part before the first `_` never counts.
pub fn file_name_constraint(file_name: &str) -> String {
    let stem = file_name.strip_suffix(".go").unwrap_or(file_name);
    let stem = stem.strip_suffix("_test").unwrap_or(stem);
    let Some((_, tail)) = stem.split_once('_') else {
        return String::new();
    };
    let parts: Vec<&str> = tail.split('_').collect();
    let n = parts.len();
    if n >= 2 && KNOWN_OS.contains(&parts[n - 2]) && KNOWN_ARCH.contains(&parts[n - 1]) {
        return format!("{}/{}", parts[n - 2], parts[n - 1]);
    }
    if KNOWN_OS.contains(&parts[n - 1]) || KNOWN_ARCH.contains(&parts[n - 1]) {
        return parts[n - 1].to_string();
    }
    String::new()
}

/// Scans every `*_test.go` under `dir` (skipping `.git` and `vendor`), sorted by path.
pub fn scan_tree(dir: &Path) -> Result<Vec<GoFile>> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            !(e.file_type().is_dir() && (n == ".git" || n == "vendor" || n == "testdata"))
        })
    {
        let entry = entry.with_context(|| format!("cannot walk {}", dir.display()))?;
        if entry.file_type().is_file() && entry.file_name().to_string_lossy().ends_with("_test.go")
        {
            paths.push(entry.into_path());
        }
    }
    let mut progress = Progress::new("scanning Go test files", paths.len());
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        let rel = p
            .strip_prefix(dir)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/");
        let src = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read Go file {}", p.display()))?;
        files.push(scan_source(&rel, &src)?);
        progress.step(&rel);
    }
    progress.finish();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(f: &GoFile) -> Vec<(&str, Kind)> {
        f.funcs.iter().map(|g| (g.name.as_str(), g.kind)).collect()
    }

    #[test]
    fn raw_strings_and_comments_hide_nothing_real_and_add_nothing_fake() {
        let src = include_str!("../tests/fixtures/tricky/strings_and_comments_test.go");
        let f = scan_source("x/strings_and_comments_test.go", src).unwrap();
        assert_eq!(
            names(&f),
            vec![
                ("TestAfterRawString", Kind::Test),
                ("TestAfterBlockComment", Kind::Test)
            ]
        );
        assert_eq!(f.funcs[0].line, 17);
    }

    #[test]
    fn methods_helpers_and_test_main_are_not_tests() {
        let src = include_str!("../tests/fixtures/tricky/receivers_test.go");
        let f = scan_source("x/receivers_test.go", src).unwrap();
        assert_eq!(
            names(&f),
            vec![
                ("Test", Kind::Test),
                ("TestReal", Kind::Test),
                ("Test_underscore", Kind::Test),
                ("BenchmarkReal", Kind::Benchmark),
                ("FuzzReal", Kind::Fuzz),
            ]
        );
    }

    #[test]
    fn generics_do_not_confuse_the_parser() {
        let src = include_str!("../tests/fixtures/tricky/generics_test.go");
        let f = scan_source("x/generics_test.go", src).unwrap();
        assert_eq!(
            names(&f),
            vec![
                ("TestGenericMap", Kind::Test),
                ("TestGenericSet", Kind::Test)
            ]
        );
    }

    #[test]
    fn build_constraint_comes_from_the_header_only() {
        let src = include_str!("../tests/fixtures/tricky/build_tags_linux_test.go");
        let f = scan_source("x/build_tags_linux_test.go", src).unwrap();
        assert_eq!(f.build, "!race && !skip_slow");
        assert_eq!(f.file_os, "linux");
        assert_eq!(names(&f), vec![("TestTagged", Kind::Test)]);
    }

    #[test]
    fn file_names_imply_os_and_arch_like_go_does() {
        assert_eq!(file_name_constraint("certstore_windows_test.go"), "windows");
        assert_eq!(file_name_constraint("x_linux_amd64_test.go"), "linux/amd64");
        assert_eq!(file_name_constraint("x_arm64_test.go"), "arm64");
        assert_eq!(file_name_constraint("windows_test.go"), "");
        assert_eq!(file_name_constraint("sublist_test.go"), "");
        assert_eq!(file_name_constraint("syslog_windows_test.go"), "windows");
    }

    #[test]
    fn hash_changes_with_the_body_and_not_with_the_surroundings() {
        let a = scan_source("a_test.go", "package a\nfunc TestA(t *testing.T) { x() }\n").unwrap();
        let b = scan_source(
            "a_test.go",
            "package a\n\n// doc\nfunc TestA(t *testing.T) { x() }\n",
        )
        .unwrap();
        let c = scan_source("a_test.go", "package a\nfunc TestA(t *testing.T) { y() }\n").unwrap();
        assert_eq!(a.funcs[0].hash, b.funcs[0].hash);
        assert_ne!(a.funcs[0].hash, c.funcs[0].hash);
        assert_eq!(a.funcs[0].hash.len(), 16);
    }

    #[test]
    fn test_name_rule_matches_go_test() {
        assert_eq!(Kind::of_function("TestMain"), None);
        assert_eq!(Kind::of_function("Testable"), None);
        assert_eq!(Kind::of_function("Test"), Some(Kind::Test));
        assert_eq!(Kind::of_function("Test2"), Some(Kind::Test));
        assert_eq!(Kind::of_function("Benchmarks"), None);
        assert_eq!(Kind::of_function("FuzzX"), Some(Kind::Fuzz));
        assert_eq!(Kind::of_function("helperTest"), None);
    }
}
