//! `go-tests-index/not_applicable.tsv`: Go tests that have no meaning for natsd, each with
//! a category from a fixed list and a one-line reason.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The fixed list of categories. Stress and norace tests are deliberately absent: they are
/// load tests to port, not exemptions.
pub const CATEGORIES: &[(&str, &str)] = &[
    (
        "windows",
        "exercises Windows-only code (service manager, certificate store, event log)",
    ),
    (
        "go-runtime",
        "checks the Go runtime itself (GC, goroutine scheduling, GOMAXPROCS, the race detector)",
    ),
    (
        "go-internal-structure",
        "asserts on a Go-internal data structure or helper that has no observable behaviour",
    ),
    (
        "go-tooling",
        "checks Go source or build tooling (generated code, lock ordering, vet-like checks)",
    ),
    (
        "upstream-disabled",
        "skipped unconditionally upstream, so it checks nothing in v2.14.5",
    ),
];

pub const NA_HEADER: &str = "id\tcategory\treason";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaRow {
    pub category: String,
    pub reason: String,
}

/// Go test id -> decision.
pub type NaTable = BTreeMap<String, NaRow>;

pub fn check_category(category: &str) -> Result<()> {
    if CATEGORIES.iter().any(|(c, _)| *c == category) {
        return Ok(());
    }
    let list: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
    bail!(
        "expected a category among {}, found `{category}`",
        list.join(", ")
    )
}

pub fn check_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        bail!("expected a non-empty one-line reason");
    }
    if reason.contains(['\t', '\n', '\r']) {
        bail!("expected a one-line reason without tabs or newlines");
    }
    Ok(())
}

/// Reads the table; a missing file is an empty table.
pub fn read(path: &Path) -> Result<NaTable> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NaTable::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn parse(text: &str, origin: &str) -> Result<NaTable> {
    let mut table = NaTable::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            if line != NA_HEADER {
                bail!(
                    "{origin}:{n}: expected the header `id<TAB>category<TAB>reason`, found `{line}`"
                );
            }
            header_seen = true;
            continue;
        }
        let cols: Vec<&str> = line.splitn(3, '\t').collect();
        if cols.len() != 3 {
            bail!(
                "{origin}:{n}: expected `<go test id><TAB><category><TAB><reason>`, found `{line}`"
            );
        }
        check_category(cols[1]).with_context(|| format!("{origin}:{n}"))?;
        check_reason(cols[2]).with_context(|| format!("{origin}:{n}"))?;
        let row = NaRow {
            category: cols[1].to_string(),
            reason: cols[2].to_string(),
        };
        if table.insert(cols[0].to_string(), row).is_some() {
            bail!("{origin}:{n}: {} is listed twice", cols[0]);
        }
    }
    Ok(table)
}

pub fn render(table: &NaTable) -> String {
    let mut out = String::from(
        "# Go tests that do not apply to natsd. Edit with `parity na ID --category C --reason \"...\"`.\n",
    );
    out.push_str(NA_HEADER);
    out.push('\n');
    for (id, row) in table {
        out.push_str(&format!("{id}\t{}\t{}\n", row.category, row.reason));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_validates() {
        let mut t = NaTable::new();
        t.insert(
            "server/a_test.go::TestA".into(),
            NaRow {
                category: "windows".into(),
                reason: "Windows service manager".into(),
            },
        );
        assert_eq!(parse(&render(&t), "na").unwrap(), t);
        let bad = format!("{NA_HEADER}\nserver/a_test.go::TestA\tstress\tslow\n");
        let err = format!("{:#}", parse(&bad, "na").unwrap_err());
        assert!(err.contains("na:2") && err.contains("stress"), "{err}");
        let empty = format!("{NA_HEADER}\nserver/a_test.go::TestA\twindows\t \n");
        assert!(parse(&empty, "na").is_err());
    }
}
