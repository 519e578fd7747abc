//! Checks the real repository: this is how `parity check` fails CI.

#![allow(clippy::unwrap_used)] // tests may unwrap

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn parity_check_passes_on_the_repository() {
    let out = Command::new(env!("CARGO_BIN_EXE_parity"))
        .arg("--root")
        .arg(workspace_root())
        .arg("check")
        .output()
        .expect("run parity check");
    assert!(
        out.status.success(),
        "`parity check` found problems in the mapping (fix them in ported/ or go-tests-index/):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn committed_index_has_the_v2_14_5_inventory() {
    let root = workspace_root();
    let rows = parity_tool::index::read_tests_tsv(&root.join("go-tests-index/tests.tsv")).unwrap();
    assert_eq!(
        parity_tool::cli::summarize(&rows),
        "4019 tests (conf/ 94, internal/ 5, logger/ 27, server subpackages 124, server/ 3406, test/ 363), \
         323 benchmarks, 3 fuzz functions"
    );
    let up =
        parity_tool::upstream::Upstream::read(&root.join("go-tests-index/upstream.toml")).unwrap();
    assert_eq!(up, parity_tool::upstream::Upstream::pinned());
}

/// A fresh clone has no DB: the report rebuilds it from the committed text, and the totals
/// of tracks and files add up to the grand total.
#[test]
fn report_works_without_a_db_and_adds_up() {
    let db = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_parity"))
        .arg("--root")
        .arg(workspace_root())
        .args(["report", "--json"])
        .env("PARITY_DB", db.path().join("fresh.db"))
        .output()
        .expect("run parity report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = |v: &Value| v["total"].as_u64().unwrap();
    assert_eq!(total(&json["totals"]), 4019);
    assert_eq!(total(&json["benchmarks"]), 323);
    assert_eq!(total(&json["fuzz"]), 3);
    let tracks: u64 = json["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| total(&t["counts"]))
        .sum();
    assert_eq!(tracks, 4019);
    let files = json["files"].as_array().unwrap();
    assert!(files.iter().all(|f| f["track"].is_string()));
    assert_eq!(files.iter().map(|f| total(&f["counts"])).sum::<u64>(), 4019);
    let statuses = [
        "passing",
        "partial",
        "failing",
        "stub",
        "unmapped",
        "not_applicable",
    ];
    let by_status: u64 = statuses
        .iter()
        .map(|s| json["totals"][s].as_u64().unwrap())
        .sum();
    assert_eq!(by_status, 4019);
    assert_eq!(json["tests"].as_array().unwrap().len(), 4019 + 323 + 3);
}
