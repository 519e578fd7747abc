//! `go-tests-index/tests.tsv`: the committed inventory of upstream Go tests.

use crate::goscan::{GoFile, Kind};
use anyhow::{bail, Context, Result};
use std::path::Path;

pub const TESTS_HEADER: &str = "path\tname\tkind\tline\tbuild\tfile_os\thash";

/// One row of `tests.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRow {
    pub path: String,
    pub name: String,
    pub kind: Kind,
    pub line: usize,
    pub build: String,
    pub file_os: String,
    pub hash: String,
}

impl TestRow {
    /// The Go test id, `<path>::<name>`.
    pub fn id(&self) -> String {
        format!("{}::{}", self.path, self.name)
    }
}

/// Splits a Go test id into its file path and function name.
pub fn split_id(id: &str) -> Option<(&str, &str)> {
    let (path, name) = id.split_once("::")?;
    if path.ends_with("_test.go") && !name.is_empty() && !name.contains(':') {
        Some((path, name))
    } else {
        None
    }
}

pub fn rows_from_scan(files: &[GoFile]) -> Vec<TestRow> {
    let mut rows = Vec::new();
    for f in files {
        for func in &f.funcs {
            rows.push(TestRow {
                path: f.path.clone(),
                name: func.name.clone(),
                kind: func.kind,
                line: func.line,
                build: f.build.clone(),
                file_os: f.file_os.clone(),
                hash: func.hash.clone(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    rows
}

pub fn render_tests_tsv(rows: &[TestRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 80);
    out.push_str(TESTS_HEADER);
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.path,
            r.name,
            r.kind.as_str(),
            r.line,
            r.build,
            r.file_os,
            r.hash
        ));
    }
    out
}

pub fn read_tests_tsv(path: &Path) -> Result<Vec<TestRow>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (it is written by `parity scan --go-src DIR`)",
            path.display()
        )
    })?;
    parse_tests_tsv(&text, &path.display().to_string())
}

pub fn parse_tests_tsv(text: &str, origin: &str) -> Result<Vec<TestRow>> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h == TESTS_HEADER => {}
        other => bail!(
            "{origin}:1: expected the header `{}`, found `{}`",
            TESTS_HEADER.replace('\t', "<TAB>"),
            other.map(|(_, h)| h).unwrap_or("").replace('\t', "<TAB>")
        ),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 7 {
            bail!(
                "{origin}:{}: expected 7 tab-separated columns, found {}",
                i + 1,
                cols.len()
            );
        }
        let kind = Kind::parse(cols[2]).with_context(|| {
            format!(
                "{origin}:{}: expected kind test, benchmark or fuzz, found `{}`",
                i + 1,
                cols[2]
            )
        })?;
        let line_no = cols[3].parse().with_context(|| {
            format!(
                "{origin}:{}: expected a line number, found `{}`",
                i + 1,
                cols[3]
            )
        })?;
        rows.push(TestRow {
            path: cols[0].to_string(),
            name: cols[1].to_string(),
            kind,
            line: line_no,
            build: cols[4].to_string(),
            file_os: cols[5].to_string(),
            hash: cols[6].to_string(),
        });
    }
    Ok(rows)
}

/// Writes `text` to `path` only if it differs, so a re-scan changes no byte and no mtime.
pub fn write_if_changed(path: &Path, text: &str) -> Result<bool> {
    if let Ok(old) = std::fs::read_to_string(path) {
        if old == text {
            return Ok(false);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tsv_round_trips() {
        let rows = vec![TestRow {
            path: "server/a_test.go".into(),
            name: "TestA".into(),
            kind: Kind::Benchmark,
            line: 12,
            build: "!race".into(),
            file_os: "windows".into(),
            hash: "0123456789abcdef".into(),
        }];
        let text = render_tests_tsv(&rows);
        assert_eq!(parse_tests_tsv(&text, "t").unwrap(), rows);
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let text = format!("{TESTS_HEADER}\nserver/a_test.go\tTestA\tbogus\t1\t\t\tx\n");
        let err = parse_tests_tsv(&text, "tests.tsv").unwrap_err().to_string();
        assert!(err.contains("tests.tsv:2"), "{err}");
    }

    #[test]
    fn ids_split_into_file_and_name() {
        assert_eq!(
            split_id("server/a_test.go::TestA"),
            Some(("server/a_test.go", "TestA"))
        );
        assert_eq!(split_id("server/a.go::TestA"), None);
        assert_eq!(split_id("TestA"), None);
    }
}
