//! The SQLite query store (`<root>/parity.db`, not committed).
//!
//! Index tables (`go_tests`, `go_files`, `tracks`, `annotations`, `not_applicable`, `meta`)
//! are a cache of the committed text and are rebuilt whenever that text changes. Run
//! tables (`runs`, `results`) are only ever appended to and survive every rebuild.

use crate::annotations::AnnotationKind;
use crate::check::Inputs;
use crate::goscan::short_hash;
use crate::index::render_tests_tsv;
use crate::tracks::TRACKS;
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Bump when the index tables change shape; they are then dropped and recreated.
pub const INDEX_SCHEMA_VERSION: &str = "3";

const RUN_TABLES: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    git_revision TEXT NOT NULL,
    arguments    TEXT NOT NULL,
    passed       INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    ignored      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    go_test     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'ignored')),
    duration_ms REAL NOT NULL,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS results_by_test ON results (go_test, run_id);
";

const INDEX_TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    slug TEXT PRIMARY KEY, number INTEGER NOT NULL, title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS go_files (
    path TEXT PRIMARY KEY, track TEXT
);
CREATE TABLE IF NOT EXISTS go_tests (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    line INTEGER NOT NULL, build TEXT NOT NULL, file_os TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS annotations (
    go_test TEXT NOT NULL, kind TEXT NOT NULL, opt_in_reason TEXT, partial_reason TEXT,
    rust_fn TEXT NOT NULL, rust_file TEXT NOT NULL, rust_line INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS not_applicable (
    go_test TEXT PRIMARY KEY, category TEXT NOT NULL, reason TEXT NOT NULL
);
";

const INDEX_TABLE_NAMES: &[&str] = &[
    "meta",
    "tracks",
    "go_files",
    "go_tests",
    "annotations",
    "not_applicable",
];

/// Opens (creating if needed) the DB with both groups of tables.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
    }
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the SQLite DB {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .with_context(|| format!("cannot switch {} to WAL mode", path.display()))?;
    conn.execute_batch(RUN_TABLES)
        .with_context(|| format!("cannot create the run tables in {}", path.display()))?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'index_schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap_or(None);
    if version.as_deref() != Some(INDEX_SCHEMA_VERSION) {
        // Older index tables may reference each other; drop them without FK checks.
        conn.pragma_update(None, "foreign_keys", false)?;
        for t in INDEX_TABLE_NAMES {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {t};"))?;
        }
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    conn.execute_batch(INDEX_TABLES)?;
    Ok(conn)
}

/// A digest of everything the index tables are built from.
pub fn fingerprint(inputs: &Inputs) -> String {
    let mut text = String::new();
    text.push_str(&inputs.upstream.to_toml());
    text.push_str(&render_tests_tsv(&inputs.tests));
    for (f, t) in &inputs.tracks {
        text.push_str(&format!("{f}\t{t}\n"));
    }
    text.push_str(&crate::not_applicable::render(&inputs.not_applicable));
    for a in &inputs.scan.annotations {
        text.push_str(&format!("{a:?}\n"));
    }
    format!("{INDEX_SCHEMA_VERSION}:{}", short_hash(text.as_bytes()))
}

/// Rebuilds the index tables if the committed text changed since the last build.
/// Returns whether it rebuilt.
pub fn ensure_fresh(conn: &mut Connection, inputs: &Inputs) -> Result<bool> {
    let want = fingerprint(inputs);
    let have: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'fingerprint'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if have.as_deref() == Some(want.as_str()) {
        return Ok(false);
    }
    rebuild(conn, inputs, &want)?;
    Ok(true)
}

/// Replaces the index tables from `inputs`, leaving runs and results untouched.
pub fn rebuild(conn: &mut Connection, inputs: &Inputs, fingerprint: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for t in INDEX_TABLE_NAMES {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    {
        let mut meta = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
        meta.execute(params!["index_schema_version", INDEX_SCHEMA_VERSION])?;
        meta.execute(params!["fingerprint", fingerprint])?;
        meta.execute(params!["upstream_repo", inputs.upstream.repo])?;
        meta.execute(params!["upstream_tag", inputs.upstream.tag])?;
        meta.execute(params!["upstream_commit", inputs.upstream.commit])?;

        let mut tr = tx.prepare("INSERT INTO tracks (slug, number, title) VALUES (?1, ?2, ?3)")?;
        for t in TRACKS {
            tr.execute(params![t.slug, t.number, t.title])?;
        }
        let mut files =
            tx.prepare("INSERT OR IGNORE INTO go_files (path, track) VALUES (?1, ?2)")?;
        let mut tests = tx.prepare(
            "INSERT OR IGNORE INTO go_tests (id, path, name, kind, line, build, file_os, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for t in &inputs.tests {
            files.execute(params![t.path, inputs.tracks.get(&t.path).copied()])?;
            tests.execute(params![
                t.id(),
                t.path,
                t.name,
                t.kind.as_str(),
                t.line as i64,
                t.build,
                t.file_os,
                t.hash
            ])?;
        }
        let mut ann = tx.prepare(
            "INSERT INTO annotations
                 (go_test, kind, opt_in_reason, partial_reason, rust_fn, rust_file, rust_line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for a in &inputs.scan.annotations {
            let opt_in = match &a.kind {
                AnnotationKind::OptIn(w) => Some(w.as_str()),
                _ => None,
            };
            let partial = match &a.kind {
                AnnotationKind::Partial(w) => Some(w.as_str()),
                _ => None,
            };
            ann.execute(params![
                a.go_test,
                a.kind.as_str(),
                opt_in,
                partial,
                a.rust_fn,
                a.file,
                a.line as i64
            ])?;
        }
        let mut na = tx.prepare(
            "INSERT INTO not_applicable (go_test, category, reason) VALUES (?1, ?2, ?3)",
        )?;
        for (id, row) in &inputs.not_applicable {
            na.execute(params![id, row.category, row.reason])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Outcome of one trial in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Ignored => "ignored",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrialResult {
    pub go_test: String,
    pub outcome: Outcome,
    pub duration_ms: f64,
    pub message: String,
}

/// Appends one finished run and its per-trial results; returns the run id.
pub fn record_run(
    conn: &mut Connection,
    started_at: &str,
    git_revision: &str,
    arguments: &str,
    results: &[TrialResult],
) -> Result<i64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count() as i64;
    tx.execute(
        "INSERT INTO runs (started_at, finished_at, git_revision, arguments, passed, failed, ignored)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            started_at,
            now_utc(),
            git_revision,
            arguments,
            count(Outcome::Passed),
            count(Outcome::Failed),
            count(Outcome::Ignored)
        ],
    )?;
    let run_id = tx.last_insert_rowid();
    {
        let mut ins = tx.prepare(
            "INSERT INTO results (run_id, go_test, outcome, duration_ms, message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in results {
            ins.execute(params![
                run_id,
                r.go_test,
                r.outcome.as_str(),
                r.duration_ms,
                r.message
            ])?;
        }
    }
    tx.commit()?;
    Ok(run_id)
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`, computed without a date crate.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_709_210_096), "2024-02-29T12:34:56Z");
    }
}
