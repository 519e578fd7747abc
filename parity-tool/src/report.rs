//! `parity report`: one query gives every Go test's status; text, JSON, Markdown and HTML
//! are all rendered from the [`Report`] built from that single result set.

use crate::tracks::TRACKS;
use crate::upstream::Upstream;
use anyhow::Result;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;

pub mod html;
pub mod markdown;
pub mod text;

/// Version tag of the JSON document; bump on any incompatible change.
pub const JSON_SCHEMA: &str = "parity-report/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passing,
    /// A partial port passed: it checks only part of its Go test, so it never counts as
    /// passing.
    Partial,
    Failing,
    Stub,
    Unmapped,
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passing => "passing",
            Status::Partial => "partial",
            Status::Failing => "failing",
            Status::Stub => "stub",
            Status::Unmapped => "unmapped",
            Status::NotApplicable => "not_applicable",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "passing" => Status::Passing,
            "partial" => Status::Partial,
            "failing" => Status::Failing,
            "stub" => Status::Stub,
            "not_applicable" => Status::NotApplicable,
            _ => Status::Unmapped,
        }
    }
}

/// One Go test (or benchmark, or fuzz function) and its status.
#[derive(Debug, Clone, Serialize)]
pub struct TestStatus {
    pub id: String,
    pub path: String,
    pub name: String,
    pub kind: String,
    pub line: u32,
    pub track: Option<String>,
    pub status: Status,
    /// `file:line` of the port or stub annotation.
    pub rust_location: Option<String>,
    /// The reason a mapped port is opt-in (runs only with `--ignored`).
    pub opt_in: Option<String>,
    /// What a partial port does not check, and why (`None` for a full port).
    pub partial: Option<String>,
    /// Failure message, "never run", the not_applicable category and reason, or empty.
    pub message: String,
    pub last_duration_ms: Option<f64>,
    pub last_revision: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub total: u32,
    pub passing: u32,
    /// Partial ports whose latest result is a pass; not in `passing` nor in the percentage.
    pub partial: u32,
    pub failing: u32,
    pub stub: u32,
    pub unmapped: u32,
    pub not_applicable: u32,
    /// Mapped ports that are opt-in (a subset of passing + partial + failing).
    pub opt_in: u32,
    /// passing / (total - not_applicable) * 100, or null when nothing applies.
    pub parity_percent: Option<f64>,
}

impl Counts {
    fn add(&mut self, t: &TestStatus) {
        self.total += 1;
        match t.status {
            Status::Passing => self.passing += 1,
            Status::Partial => self.partial += 1,
            Status::Failing => self.failing += 1,
            Status::Stub => self.stub += 1,
            Status::Unmapped => self.unmapped += 1,
            Status::NotApplicable => self.not_applicable += 1,
        }
        if t.opt_in.is_some()
            && matches!(
                t.status,
                Status::Passing | Status::Partial | Status::Failing
            )
        {
            self.opt_in += 1;
        }
        let applicable = self.total - self.not_applicable;
        self.parity_percent = if applicable == 0 {
            None
        } else {
            Some((f64::from(self.passing) * 1000.0 / f64::from(applicable)).round() / 10.0)
        };
    }

    pub fn percent_text(&self) -> String {
        self.parity_percent
            .map_or_else(|| "-".to_string(), |p| format!("{p:.1}%"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub track: Option<String>,
    /// Counts over the file's `Test*` functions.
    pub counts: Counts,
    pub benchmarks: u32,
    pub fuzz: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackSummary {
    pub number: u8,
    pub slug: String,
    pub title: String,
    pub counts: Counts,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub git_revision: String,
    pub passed: i64,
    pub failed: i64,
    pub ignored: i64,
}

/// The whole report. Serialized as is for `--json` (see parity-tool/README.md).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub upstream: Upstream,
    pub latest_run: Option<RunInfo>,
    /// Counts over all `Test*` functions.
    pub totals: Counts,
    pub benchmarks: Counts,
    pub fuzz: Counts,
    pub tracks: Vec<TrackSummary>,
    pub files: Vec<FileSummary>,
    pub tests: Vec<TestStatus>,
}

/// The single query every number of every format comes from.
pub const STATUS_QUERY: &str = "
WITH latest AS (
    SELECT go_test, outcome, message, duration_ms, git_revision FROM (
        SELECT r.go_test, r.outcome, r.message, r.duration_ms, ru.git_revision,
               ROW_NUMBER() OVER (PARTITION BY r.go_test ORDER BY r.run_id DESC, r.rowid DESC) AS rn
        FROM results r JOIN runs ru ON ru.id = r.run_id
        WHERE r.outcome IN ('passed', 'failed')
    ) WHERE rn = 1
),
port AS (
    SELECT go_test, MIN(rust_file || ':' || rust_line) AS location, MAX(opt_in_reason) AS opt_in,
           MAX(partial_reason) AS partial
    FROM annotations WHERE kind IN ('port', 'opt_in', 'partial') GROUP BY go_test
),
stub AS (
    SELECT go_test, MIN(rust_file || ':' || rust_line) AS location
    FROM annotations WHERE kind = 'stub' GROUP BY go_test
)
SELECT t.id, t.path, t.name, t.kind, t.line, f.track,
    CASE
        WHEN p.go_test IS NOT NULL THEN
            CASE
                WHEN l.outcome = 'passed' AND p.partial IS NOT NULL THEN 'partial'
                WHEN l.outcome = 'passed' THEN 'passing'
                ELSE 'failing'
            END
        WHEN na.go_test IS NOT NULL THEN 'not_applicable'
        WHEN s.go_test IS NOT NULL THEN 'stub'
        ELSE 'unmapped'
    END AS status,
    COALESCE(p.location, s.location) AS rust_location,
    p.opt_in,
    p.partial,
    CASE
        WHEN p.go_test IS NOT NULL AND l.outcome IS NULL THEN 'never run'
        WHEN p.go_test IS NOT NULL AND l.outcome = 'failed' THEN l.message
        WHEN p.go_test IS NULL AND na.go_test IS NOT NULL THEN na.category || ': ' || na.reason
        ELSE ''
    END AS message,
    CASE WHEN p.go_test IS NOT NULL THEN l.duration_ms END,
    CASE WHEN p.go_test IS NOT NULL THEN l.git_revision END
FROM go_tests t
LEFT JOIN go_files f ON f.path = t.path
LEFT JOIN port p ON p.go_test = t.id
LEFT JOIN stub s ON s.go_test = t.id
LEFT JOIN not_applicable na ON na.go_test = t.id
LEFT JOIN latest l ON l.go_test = t.id
ORDER BY t.path, t.line, t.name
";

/// Runs [`STATUS_QUERY`] and aggregates it.
pub fn build(conn: &Connection, upstream: Upstream) -> Result<Report> {
    let mut stmt = conn.prepare(STATUS_QUERY)?;
    let tests = stmt
        .query_map([], |r| {
            Ok(TestStatus {
                id: r.get(0)?,
                path: r.get(1)?,
                name: r.get(2)?,
                kind: r.get(3)?,
                line: r.get(4)?,
                track: r.get(5)?,
                status: Status::parse(&r.get::<_, String>(6)?),
                rust_location: r.get(7)?,
                opt_in: r.get(8)?,
                partial: r.get(9)?,
                message: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                last_duration_ms: r.get(11)?,
                last_revision: r.get(12)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let latest_run = conn
        .query_row(
            "SELECT id, started_at, finished_at, git_revision, passed, failed, ignored
             FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(RunInfo {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    git_revision: r.get(3)?,
                    passed: r.get(4)?,
                    failed: r.get(5)?,
                    ignored: r.get(6)?,
                })
            },
        )
        .optional()?;
    Ok(aggregate(upstream, latest_run, tests))
}

/// Builds every summary from the per-test rows.
pub fn aggregate(
    upstream: Upstream,
    latest_run: Option<RunInfo>,
    tests: Vec<TestStatus>,
) -> Report {
    let mut totals = Counts::default();
    let mut benchmarks = Counts::default();
    let mut fuzz = Counts::default();
    let mut files: BTreeMap<String, FileSummary> = BTreeMap::new();
    let mut tracks: BTreeMap<String, Counts> = BTreeMap::new();
    for t in &tests {
        let file = files.entry(t.path.clone()).or_insert_with(|| FileSummary {
            path: t.path.clone(),
            track: t.track.clone(),
            counts: Counts::default(),
            benchmarks: 0,
            fuzz: 0,
        });
        match t.kind.as_str() {
            "test" => {
                totals.add(t);
                file.counts.add(t);
                if let Some(tr) = &t.track {
                    tracks.entry(tr.clone()).or_default().add(t);
                }
            }
            "benchmark" => {
                benchmarks.add(t);
                file.benchmarks += 1;
            }
            _ => {
                fuzz.add(t);
                file.fuzz += 1;
            }
        }
    }
    let files: Vec<FileSummary> = files.into_values().collect();
    let tracks = TRACKS
        .iter()
        .map(|tr| TrackSummary {
            number: tr.number,
            slug: tr.slug.to_string(),
            title: tr.title.to_string(),
            counts: tracks.get(tr.slug).copied().unwrap_or_default(),
            files: files
                .iter()
                .filter(|f| f.track.as_deref() == Some(tr.slug))
                .map(|f| f.path.clone())
                .collect(),
        })
        .collect();
    Report {
        schema: JSON_SCHEMA,
        upstream,
        latest_run,
        totals,
        benchmarks,
        fuzz,
        tracks,
        files,
        tests,
    }
}

impl Report {
    pub fn file(&self, path: &str) -> Option<&FileSummary> {
        self.files.iter().find(|f| f.path == path)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::annotations::{Annotation, AnnotationKind, Scan};
    use crate::check::Inputs;
    use crate::db::{self, Outcome, TrialResult};
    use crate::goscan::Kind;
    use crate::index::TestRow;
    use crate::not_applicable::NaRow;

    const FILE: &str = "server/a_test.go";

    fn row(name: &str, line: usize) -> TestRow {
        TestRow {
            path: FILE.into(),
            name: name.into(),
            kind: Kind::Test,
            line,
            build: String::new(),
            file_os: String::new(),
            hash: "0000000000000000".into(),
        }
    }

    fn ann(name: &str, kind: AnnotationKind, line: usize) -> Annotation {
        Annotation {
            go_test: format!("{FILE}::{name}"),
            kind,
            rust_fn: name.to_lowercase(),
            file: "ported/tests/ported/server/a_test.rs".into(),
            line,
        }
    }

    fn result(name: &str, outcome: Outcome, message: &str) -> TrialResult {
        TrialResult {
            go_test: format!("{FILE}::{name}"),
            outcome,
            duration_ms: 1.0,
            message: message.into(),
        }
    }

    /// A partial port that passes is `partial`, never `passing`, and stays out of the
    /// parity percentage; one that fails or never ran is `failing` like any port.
    #[test]
    fn partial_ports_are_counted_apart_from_passing() {
        let partial = |why: &str| AnnotationKind::Partial(why.into());
        let names = [
            "TestFull",
            "TestPartialPass",
            "TestPartialFail",
            "TestPartialNeverRun",
            "TestPartialOptIn",
            "TestNa",
        ];
        let inputs = Inputs {
            upstream: Upstream::pinned(),
            tests: names
                .iter()
                .enumerate()
                .map(|(i, n)| row(n, 10 * (i + 1)))
                .collect(),
            tracks: [(FILE.to_string(), "client-protocol")]
                .into_iter()
                .collect(),
            not_applicable: [(
                format!("{FILE}::TestNa"),
                NaRow {
                    category: "go-runtime".into(),
                    reason: "checks the GC".into(),
                },
            )]
            .into_iter()
            .collect(),
            scan: Scan {
                annotations: vec![
                    ann("TestFull", AnnotationKind::Port, 1),
                    ann("TestPartialPass", partial("no cluster"), 2),
                    ann("TestPartialFail", partial("no cluster"), 3),
                    ann("TestPartialNeverRun", partial("no cluster"), 4),
                    // The harness records an opt-in trial it did not run as ignored.
                    ann("TestPartialOptIn", AnnotationKind::OptIn("soak".into()), 5),
                ],
                ..Default::default()
            },
        };
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("parity.db")).unwrap();
        db::ensure_fresh(&mut conn, &inputs).unwrap();
        db::record_run(
            &mut conn,
            "2026-01-01T00:00:00Z",
            "abc",
            "",
            &[
                result("TestFull", Outcome::Passed, ""),
                result("TestPartialPass", Outcome::Passed, ""),
                result("TestPartialFail", Outcome::Failed, "boom"),
                result("TestPartialOptIn", Outcome::Passed, ""),
            ],
        )
        .unwrap();
        let r = build(&conn, Upstream::pinned()).unwrap();
        let status = |name: &str| {
            let t = r
                .tests
                .iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| panic!("{name} not reported"));
            (t.status, t.partial.clone(), t.message.clone())
        };
        let why = Some("no cluster".to_string());
        assert_eq!(status("TestFull"), (Status::Passing, None, String::new()));
        assert_eq!(
            status("TestPartialPass"),
            (Status::Partial, why.clone(), String::new())
        );
        assert_eq!(
            status("TestPartialFail"),
            (Status::Failing, why.clone(), "boom".into())
        );
        assert_eq!(
            status("TestPartialNeverRun"),
            (Status::Failing, why, "never run".into())
        );
        assert_eq!(status("TestPartialOptIn").0, Status::Passing);
        let want = Counts {
            total: 6,
            passing: 2,
            partial: 1,
            failing: 2,
            stub: 0,
            unmapped: 0,
            not_applicable: 1,
            opt_in: 1,
            // 2 passing of 5 applicable: the partial pass is not in the numerator.
            parity_percent: Some(40.0),
        };
        assert_eq!(r.totals, want);
        assert_eq!(r.file(FILE).unwrap().counts, want);
        let track = r
            .tracks
            .iter()
            .find(|t| t.slug == "client-protocol")
            .unwrap();
        assert_eq!(track.counts, want);

        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["schema"], JSON_SCHEMA);
        assert_eq!(json["totals"]["partial"], 1);
        assert_eq!(json["totals"]["passing"], 2);
        let partial_pass = json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "TestPartialPass")
            .unwrap();
        assert_eq!(partial_pass["status"], "partial");
        assert_eq!(partial_pass["partial"], "no cluster");

        let text = text::render(&r);
        assert!(text.contains("partial"), "{text}");
        assert!(text.contains("1 partial ports pass"), "{text}");
        let md = markdown::render(&r);
        assert!(
            md.contains("| total | passing | partial | failing |"),
            "{md}"
        );
        assert!(
            md.contains("| **all** | 6 | 2 | 1 | 2 | 0 | 0 | 1 | 40.0% |"),
            "{md}"
        );
        assert!(
            md.contains("| `server/a_test.go::TestPartialPass` | `ported/tests/ported/server/a_test.rs:2` | no cluster |"),
            "{md}"
        );
        let html = html::render(&r);
        assert!(html.contains("<th>partial</th>"), "{html}");
        assert!(html.contains("data-status=\"partial\""));
        assert!(html.contains("partial: no cluster"));
    }
}
