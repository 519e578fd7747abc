//! The runner behind `ported/tests/ported/main.rs`: turns registered ports into
//! libtest-mimic trials named by their Go test id, runs each on its own thread (a panic or
//! a hang fails that trial only) and records every trial's outcome in the DB.

use crate::db::{self, Outcome, TrialResult};
use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a registered case runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseKind {
    /// A real port, run by default.
    Run,
    /// A real port that runs only with `--ignored` / `--include-ignored`.
    OptIn(String),
    /// A placeholder: never runs its body, always reported as ignored with reason "stub".
    Stub,
}

/// One trial to run: a Go test id and the body that fails by panicking.
pub struct Case {
    pub id: String,
    pub kind: CaseKind,
    pub run: Box<dyn FnOnce() + Send + 'static>,
}

pub struct Config {
    /// Per-trial time limit.
    pub timeout: Duration,
    /// Where to record results; `None` records nothing.
    pub db_path: Option<PathBuf>,
    /// Directory whose git revision is recorded with the run.
    pub repo_dir: PathBuf,
}

impl Config {
    /// The defaults for the workspace at `root`: DB at `<root>/parity.db` (or `PARITY_DB`),
    /// timeout from `PARITY_TEST_TIMEOUT_SECS` (default 120 s).
    pub fn for_workspace(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let timeout = std::env::var("PARITY_TEST_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(120));
        let layout = crate::layout::Layout::new(root.clone());
        Self {
            timeout,
            db_path: Some(layout.db_path()),
            repo_dir: root,
        }
    }
}

type Sink = Arc<Mutex<Vec<TrialResult>>>;

fn push(sink: &Sink, r: TrialResult) {
    match sink.lock() {
        Ok(mut v) => v.push(r),
        Err(poisoned) => poisoned.into_inner().push(r),
    }
}

/// Runs `cases` under `args` and records the results; returns libtest-mimic's conclusion.
pub fn run(args: &Arguments, cases: Vec<Case>, config: &Config) -> Conclusion {
    let started_at = db::now_utc();
    let sink: Sink = Arc::new(Mutex::new(Vec::new()));
    let opt_in_reasons: std::collections::HashMap<String, String> = cases
        .iter()
        .filter_map(|c| match &c.kind {
            CaseKind::OptIn(why) => Some((c.id.clone(), format!("opt-in: {why}"))),
            _ => None,
        })
        .collect();
    let mut trials = Vec::with_capacity(cases.len());
    for case in cases {
        let trial = trial(case, config.timeout, &sink);
        trials.push(trial);
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    // Trials ignored by their flag never run; record them here, with their reason.
    for t in &trials {
        if !args.is_filtered_out(t) && args.is_ignored(t) {
            push(
                &sink,
                TrialResult {
                    go_test: t.name().to_string(),
                    outcome: Outcome::Ignored,
                    duration_ms: 0.0,
                    message: opt_in_reasons.get(t.name()).cloned().unwrap_or_default(),
                },
            );
        }
    }
    let conclusion = libtest_mimic::run(args, trials);
    if !args.list {
        if let Some(db_path) = &config.db_path {
            let results = match sink.lock() {
                Ok(v) => v.clone(),
                Err(p) => p.into_inner().clone(),
            };
            let arguments: Vec<String> = std::env::args().skip(1).collect();
            let outcome = db::open(db_path).and_then(|mut conn| {
                db::record_run(
                    &mut conn,
                    &started_at,
                    &git_revision(&config.repo_dir),
                    &arguments.join(" "),
                    &results,
                )
            });
            match outcome {
                Ok(run_id) => eprintln!(
                    "parity: recorded run #{run_id} ({} trial results) in {}",
                    results.len(),
                    db_path.display()
                ),
                Err(e) => eprintln!(
                    "parity: warning: could not record results in {}: {e:#}",
                    db_path.display()
                ),
            }
        }
    }
    conclusion
}

fn trial(case: Case, timeout: Duration, sink: &Sink) -> Trial {
    let id = case.id.clone();
    match case.kind {
        CaseKind::Stub => {
            let sink = sink.clone();
            Trial::ignorable_test(id.clone(), move || {
                push(
                    &sink,
                    TrialResult {
                        go_test: id,
                        outcome: Outcome::Ignored,
                        duration_ms: 0.0,
                        message: "stub".into(),
                    },
                );
                Ok(Completion::ignored_with("stub"))
            })
            .with_kind("stub")
        }
        kind => {
            let sink = sink.clone();
            let run = case.run;
            let t = Trial::test(id.clone(), move || {
                let started = Instant::now();
                let result = run_with_timeout(&id, run, timeout);
                push(
                    &sink,
                    TrialResult {
                        go_test: id,
                        outcome: if result.is_ok() {
                            Outcome::Passed
                        } else {
                            Outcome::Failed
                        },
                        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                        message: result
                            .as_ref()
                            .err()
                            .and_then(|f| f.message())
                            .unwrap_or("")
                            .to_string(),
                    },
                );
                result
            });
            match kind {
                CaseKind::OptIn(_) => t.with_ignored_flag(true).with_kind("opt-in"),
                _ => t,
            }
        }
    }
}

/// Runs `body` on its own thread so a panic or a hang fails this trial only.
fn run_with_timeout(
    id: &str,
    body: Box<dyn FnOnce() + Send + 'static>,
    timeout: Duration,
) -> Result<(), Failed> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(id.to_string())
        .spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(body));
            let _ = tx.send(r);
        })
        .map_err(|e| Failed::from(format!("cannot spawn the test thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(panic)) => Err(Failed::from(panic_message(&panic))),
        Err(_) => Err(Failed::from(format!("timed out after {timeout:?}"))),
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked with a non-string payload".to_string()
    }
}

/// `git rev-parse --short=12 HEAD`, with `-dirty` when tracked files have changes;
/// `unknown` outside a git work tree.
pub fn git_revision(dir: &std::path::Path) -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        _ => "unknown".to_string(),
    }
}
