//! End to end on a fixture tree: scan -> stub -> run -> report, asserting the counts.
//!
//! The fixture Go tree (`tests/fixtures/e2e/go`) claims to be v2.14.5; the fixture
//! workspace gets hand-written ports (one passing, one failing, one opt-in, one that hangs),
//! `parity stub` fills in the rest, the harness runs the trials built from the annotations
//! it reads back with syn, and the report must count all of it.

#![allow(clippy::unwrap_used)] // tests may unwrap

use parity_tool::annotations::{self, AnnotationKind};
use parity_tool::harness::{self, Case, CaseKind, Config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e")
}

fn parity(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parity"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("PARITY_QUIET", "1")
        .env_remove("PARITY_DB")
        .output()
        .expect("run parity")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "parity failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// A fixture workspace: index dir with the track table, ported tree with hand-written ports.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let fx = fixture();
    std::fs::create_dir_all(root.join("go-tests-index")).unwrap();
    std::fs::copy(
        fx.join("tracks.tsv"),
        root.join("go-tests-index/tracks.tsv"),
    )
    .unwrap();
    let ported = root.join("ported/tests/ported");
    std::fs::create_dir_all(ported.join("server/sub")).unwrap();
    for f in ["main.rs", "server/mod.rs", "server/alpha_test.rs"] {
        std::fs::copy(fx.join("ported").join(f), ported.join(f)).unwrap();
    }
    // A port in a module that nothing declares yet: `parity stub` must wire it up.
    std::fs::copy(
        fx.join("ported/server/beta_port.rs"),
        ported.join("server/sub/beta_test.rs"),
    )
    .unwrap();
    dir
}

fn counts(v: &Value) -> [u64; 6] {
    let g = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    [
        g("total"),
        g("passing"),
        g("failing"),
        g("stub"),
        g("unmapped"),
        g("not_applicable"),
    ]
}

#[test]
fn scan_stub_run_report() {
    let ws = workspace();
    let root = ws.path();
    let go = fixture().join("go");
    let go = go.to_str().unwrap();
    let ported = root.join("ported/tests/ported");

    // Scan: 11 tests (TestMain and the raw-string decoy excluded), 1 benchmark, 1 fuzz.
    let out = ok(&parity(root, &["scan", "--go-src", go]));
    assert!(
        out.contains("11 tests (server subpackages 2, server/ 6, test/ 3)"),
        "{out}"
    );
    let tsv = read(root.join("go-tests-index/tests.tsv"));
    assert!(tsv.contains("server/alpha_windows_test.go\tTestW1\ttest\t7\twindows\twindows\t"));
    assert!(!tsv.contains("TestNotReal") && !tsv.contains("TestMain"));
    let upstream = read(root.join("go-tests-index/upstream.toml"));
    assert!(upstream.contains("d3bc0453384d00d37991b084263e59af828fa90d"));
    // A second scan of the same checkout changes no byte.
    ok(&parity(root, &["scan", "--go-src", go]));
    assert_eq!(read(root.join("go-tests-index/tests.tsv")), tsv);
    assert_eq!(read(root.join("go-tests-index/upstream.toml")), upstream);

    // not_applicable: needs a known category and a reason.
    let bad = parity(
        root,
        &[
            "na",
            "server/alpha_test.go::TestA4",
            "--category",
            "stress",
            "--reason",
            "x",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("windows, go-runtime"));
    let no_reason = parity(
        root,
        &[
            "na",
            "server/alpha_test.go::TestA4",
            "--category",
            "windows",
        ],
    );
    assert!(!no_reason.status.success());
    ok(&parity(
        root,
        &[
            "na",
            "server/alpha_test.go::TestA4",
            "--category",
            "go-internal-structure",
            "--reason",
            "pokes a Go-only cache",
        ],
    ));

    // Stub: only TestA5 lacks a port or decision in alpha; real ports are untouched.
    let alpha_before = read(ported.join("server/alpha_test.rs"));
    let out = ok(&parity(root, &["stub", "alpha_test.go"]));
    assert!(out.contains("added 1 stub"), "{out}");
    let alpha_after = read(ported.join("server/alpha_test.rs"));
    assert!(alpha_after.starts_with(&alpha_before));
    assert!(alpha_after.ends_with("ported::stub!(\"server/alpha_test.go::TestA5\");\n"));
    let out = ok(&parity(root, &["stub", "server/alpha_test.go"]));
    assert!(out.contains("nothing to stub"), "{out}");
    assert_eq!(read(ported.join("server/alpha_test.rs")), alpha_after);

    // A nested Go package: creates server/sub/mod.rs and declares `mod sub;`.
    ok(&parity(root, &["stub", "server/sub/beta_test.go"]));
    assert!(read(ported.join("server/mod.rs")).contains("mod alpha_test;\nmod sub;\n"));
    assert!(read(ported.join("server/sub/mod.rs")).contains("mod beta_test;"));
    let beta = read(ported.join("server/sub/beta_test.rs"));
    assert!(
        beta.contains("=> b1);") && beta.contains("stub!(\"server/sub/beta_test.go::TestB2\")")
    );
    assert!(
        !beta.contains("FuzzB"),
        "fuzz functions are stubbed only with --all-kinds"
    );

    // A new top-level Go dir: `mod test;` goes into main.rs next to `mod server;`.
    ok(&parity(root, &["stub", "gamma_test.go"]));
    assert!(read(ported.join("main.rs")).contains("mod server;\nmod test;\n"));
    assert!(read(ported.join("test/mod.rs")).contains("mod gamma_test;"));
    // Declaring TestG2 not applicable removes its stub line.
    ok(&parity(
        root,
        &[
            "na",
            "test/gamma_test.go::TestG2",
            "--category",
            "go-runtime",
            "--reason",
            "measures goroutine counts",
        ],
    ));
    assert!(!read(ported.join("test/gamma_test.rs")).contains("TestG2"));
    let ambiguous = parity(root, &["stub", "nope_test.go"]);
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("found no file named nope_test.go"));

    let out = ok(&parity(root, &["check"]));
    assert!(out.contains("parity check: ok"), "{out}");

    // Run, in a child process so the fixture's own libtest summary (with its deliberate
    // failures) stays out of this test binary's output.
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "fixture_harness_child",
            "--nocapture",
        ])
        .env("PARITY_E2E_ROOT", root)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "fixture harness: {}\n{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );

    // Report: JSON, Markdown and HTML from one query.
    let json: Value = serde_json::from_str(&ok(&parity(root, &["report", "--json"]))).unwrap();
    assert_eq!(json["schema"], "parity-report/v1");
    // total, passing, failing, stub, unmapped, not_applicable
    assert_eq!(counts(&json["totals"]), [11, 1, 3, 3, 2, 2]);
    assert_eq!(json["totals"]["parity_percent"], 11.1);
    assert_eq!(json["totals"]["opt_in"], 1);
    assert_eq!(json["totals"]["partial"], 0);
    assert_eq!(counts(&json["benchmarks"]), [1, 0, 0, 0, 1, 0]);
    assert_eq!(counts(&json["fuzz"]), [1, 0, 0, 0, 1, 0]);
    let track = |slug: &str| {
        json["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == slug)
            .unwrap()
            .clone()
    };
    assert_eq!(counts(&track("storage")["counts"]), [7, 1, 3, 2, 0, 1]);
    assert_eq!(counts(&track("networking")["counts"]), [2, 0, 0, 1, 0, 1]);
    assert_eq!(
        counts(&track("config-monitoring")["counts"]),
        [1, 0, 0, 0, 1, 0]
    );
    let test = |id: &str| {
        json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };
    assert_eq!(test("server/alpha_test.go::TestA1")["status"], "passing");
    let a2 = test("server/alpha_test.go::TestA2");
    assert_eq!(a2["status"], "failing");
    assert!(
        a2["message"].as_str().unwrap().contains("expected 3 msgs"),
        "{a2}"
    );
    assert_eq!(
        a2["rust_location"],
        "ported/tests/ported/server/alpha_test.rs:8"
    );
    let a3 = test("server/alpha_test.go::TestA3");
    assert_eq!(
        (a3["status"].as_str(), a3["message"].as_str()),
        (Some("failing"), Some("never run"))
    );
    assert_eq!(a3["opt_in"], "soak: runs 10 minutes");
    let b1 = test("server/sub/beta_test.go::TestB1");
    assert!(b1["message"].as_str().unwrap().contains("timed out"));
    assert_eq!(
        test("server/alpha_test.go::TestA4")["status"],
        "not_applicable"
    );
    assert_eq!(test("server/alpha_test.go::TestA5")["status"], "stub");
    assert_eq!(test("test/delta_test.go::TestD1")["status"], "unmapped");

    ok(&parity(root, &["report", "--md", "--html"]));
    let md = read(root.join("reports/PARITY.md"));
    assert!(
        md.contains("| **all** | 11 | 1 | 0 | 3 | 3 | 2 | 2 | 11.1% |"),
        "{md}"
    );
    assert!(
        md.contains("| 1. Storage | 7 | 1 | 0 | 3 | 2 | 0 | 1 | 16.7% |"),
        "{md}"
    );
    assert!(
        md.contains("| `server/alpha_test.go` | 5 | 1 | 0 | 2 | 1 | 0 | 1 | 25.0% |"),
        "{md}"
    );
    let html = read(root.join("reports/index.html"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"));
    assert!(html.contains(
        "<td>11</td><td>1</td><td>0</td><td>3</td><td>3</td><td>2</td><td>2</td><td>11.1%</td>"
    ));
    assert_eq!(html.matches("<tr data-status=").count(), 13);
    assert!(html.contains("ported/tests/ported/server/alpha_test.rs:5"));

    // Results survive an index rebuild (the committed text changed) ...
    ok(&parity(
        root,
        &[
            "na",
            "test/delta_test.go::TestD1",
            "--category",
            "upstream-disabled",
            "--reason",
            "t.Skip upstream",
        ],
    ));
    let json: Value = serde_json::from_str(&ok(&parity(root, &["report", "--json"]))).unwrap();
    assert_eq!(counts(&json["totals"]), [11, 1, 3, 3, 1, 3]);
    // ... and a missing DB is rebuilt from the text (results are then gone: never run).
    std::fs::remove_file(root.join("parity.db")).unwrap();
    let json: Value = serde_json::from_str(&ok(&parity(root, &["report", "--json"]))).unwrap();
    assert_eq!(counts(&json["totals"]), [11, 0, 4, 3, 1, 3]);
}

#[test]
fn check_fails_on_bad_mappings_with_locations() {
    let ws = workspace();
    let root = ws.path();
    let go = fixture().join("go");
    ok(&parity(root, &["scan", "--go-src", go.to_str().unwrap()]));
    let ported = root.join("ported/tests/ported");
    std::fs::write(
        ported.join("server/extra.rs"),
        "use ported::port;\n\
         port!(\"server/alpha_test.go::TestNope\" => x);\n\
         port!(\"server/alpha_test.go::TestA1\" => y);\n\
         port!(TestA2 => z);\n\
         ported::stub!(\"server/alpha_test.go::TestA4\");\n",
    )
    .unwrap();
    ok(&parity(
        root,
        &[
            "na",
            "server/alpha_test.go::TestA5",
            "--category",
            "windows",
            "--reason",
            "r",
        ],
    ));
    std::fs::write(
        ported.join("server/na_port.rs"),
        "ported::port!(\"server/alpha_test.go::TestA5\" => w);\n",
    )
    .unwrap();
    let out = parity(root, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = "ported/tests/ported/server/extra.rs";
    assert!(
        err.contains(&format!(
            "{f}:2: port! names server/alpha_test.go::TestNope, expected a Go test"
        )),
        "{err}"
    );
    assert!(
        err.contains("server/alpha_test.go::TestA1 is claimed 2 times"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:4: malformed port! annotation")),
        "{err}"
    );
    assert!(err.contains("ported/tests/ported/server/na_port.rs:1: server/alpha_test.go::TestA5 has a port but is also not_applicable"), "{err}");
}

#[test]
fn scanning_the_wrong_tag_names_both_tags() {
    let ws = workspace();
    let go = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(go.path().join("server")).unwrap();
    std::fs::write(
        go.path().join("server/const.go"),
        "package server\nconst VERSION = \"2.10.0\"\n",
    )
    .unwrap();
    let out = parity(
        ws.path(),
        &["scan", "--go-src", go.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("v2.14.5") && err.contains("v2.10.0"), "{err}");
}

#[test]
fn scan_fails_when_a_file_has_no_track() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("go-tests-index/tracks.tsv"),
        "file\ttrack\nserver/alpha_test.go\tstorage\n",
    )
    .unwrap();
    let go = fixture().join("go");
    let out = parity(ws.path(), &["scan", "--go-src", go.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected a track for Go test file test/delta_test.go"),
        "{err}"
    );
    assert!(!ws.path().join("go-tests-index/tests.tsv").exists());
}

/// The run step of [`scan_stub_run_report`]; it starts this in a child process.
#[test]
#[ignore = "run by scan_stub_run_report in a child process"]
fn fixture_harness_child() {
    let root = PathBuf::from(std::env::var_os("PARITY_E2E_ROOT").expect("PARITY_E2E_ROOT"));
    let root = root.as_path();
    let ported = root.join("ported/tests/ported");
    // Build the trials from the annotations, as the real harness does from inventory.
    let scan = annotations::scan_dir(root, &ported).unwrap();
    assert!(scan.malformed.is_empty(), "{:?}", scan.malformed);
    let cases: Vec<Case> = scan
        .annotations
        .iter()
        .map(|a| {
            let kind = match &a.kind {
                AnnotationKind::Port | AnnotationKind::Partial(_) => CaseKind::Run,
                AnnotationKind::OptIn(w) => CaseKind::OptIn(w.clone()),
                AnnotationKind::Stub => CaseKind::Stub,
            };
            let run: Box<dyn FnOnce() + Send> = match a.rust_fn.as_str() {
                "a1" => Box::new(|| {}),
                "a2" => Box::new(|| panic!("assertion failed: expected 3 msgs, got 2")),
                "b1" => Box::new(|| std::thread::sleep(Duration::from_secs(60))),
                _ => Box::new(|| panic!("must not run")),
            };
            Case {
                id: a.go_test.clone(),
                kind,
                run,
            }
        })
        .collect();
    let config = Config {
        // Generous, so a slow machine never turns a2's panic into a timeout.
        timeout: Duration::from_secs(5),
        db_path: Some(root.join("parity.db")),
        repo_dir: root.to_path_buf(),
    };
    let args = libtest_mimic::Arguments {
        test_threads: Some(2),
        ..Default::default()
    };
    let c = harness::run(&args, cases, &config);
    assert_eq!((c.num_passed, c.num_failed, c.num_ignored), (1, 2, 4));
}
