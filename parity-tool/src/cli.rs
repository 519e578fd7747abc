//! The `parity` command line.

use crate::check::{self, Inputs};
use crate::layout::Layout;
use crate::upstream::{self, Upstream};
use crate::{db, goscan, index, not_applicable, report, stub, tracks};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "parity",
    about = "Maps every Go test of nats-server to its Rust port and reports parity",
    version
)]
pub struct Cli {
    /// Workspace root (default: the Cargo workspace containing the current directory).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a nats-server checkout and write go-tests-index/tests.tsv and upstream.toml.
    Scan {
        /// The nats-server source tree (a checkout or an extracted archive of the pinned tag).
        #[arg(long)]
        go_src: PathBuf,
    },
    /// Check the mapping: ids exist, no duplicates, not both mapped and not_applicable,
    /// well-formed annotations, every Go file has a track. Exits non-zero on any problem.
    Check,
    /// Add a stub for every test of a Go file that has no port yet.
    Stub {
        /// `filestore_test.go`, `server/filestore_test.go` or `test/auth_test.go`.
        go_file: String,
        /// Also stub benchmarks and fuzz functions.
        #[arg(long)]
        all_kinds: bool,
    },
    /// Record a Go test as not applicable to natsd (in go-tests-index/not_applicable.tsv).
    Na {
        /// The Go test id, e.g. `server/service_windows_test.go::TestWinServiceWrapper`.
        id: Option<String>,
        /// One of the fixed categories (see --list-categories).
        #[arg(long)]
        category: Option<String>,
        /// A one-line reason (required).
        #[arg(long)]
        reason: Option<String>,
        /// Remove the decision instead.
        #[arg(long)]
        remove: bool,
        /// Print the categories and exit.
        #[arg(long)]
        list_categories: bool,
    },
    /// Print the status per track and per Go file (text by default).
    Report {
        /// Print the JSON document (schema in parity-tool/README.md) to stdout.
        #[arg(long)]
        json: bool,
        /// Write reports/PARITY.md.
        #[arg(long)]
        md: bool,
        /// Write reports/index.html.
        #[arg(long)]
        html: bool,
    },
}

pub fn main_with(cli: Cli) -> Result<i32> {
    let layout = match &cli.root {
        Some(r) => Layout::new(r.clone()),
        None => Layout::discover(&std::env::current_dir()?)?,
    };
    match cli.command {
        Command::Scan { go_src } => scan(&layout, &go_src),
        Command::Check => run_check(&layout),
        Command::Stub { go_file, all_kinds } => run_stub(&layout, &go_file, all_kinds),
        Command::Na {
            id,
            category,
            reason,
            remove,
            list_categories,
        } => {
            if list_categories {
                for (c, what) in not_applicable::CATEGORIES {
                    println!("{c:<24} {what}");
                }
                return Ok(0);
            }
            let id = id.context("expected a Go test id, e.g. `parity na server/x_test.go::TestY --category windows --reason \"...\"`")?;
            run_na(&layout, &id, category, reason, remove)
        }
        Command::Report { json, md, html } => run_report(&layout, json, md, html),
    }
}

/// Counts per group of the tree, as the issue states them.
pub fn summarize(rows: &[index::TestRow]) -> String {
    let mut tests: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut n_tests, mut n_bench, mut n_fuzz) = (0, 0, 0);
    for r in rows {
        match r.kind {
            goscan::Kind::Test => {
                n_tests += 1;
                *tests.entry(group_of(&r.path)).or_default() += 1;
            }
            goscan::Kind::Benchmark => n_bench += 1,
            goscan::Kind::Fuzz => n_fuzz += 1,
        }
    }
    let groups: Vec<String> = tests.iter().map(|(g, n)| format!("{g} {n}")).collect();
    format!(
        "{n_tests} tests ({}), {n_bench} benchmarks, {n_fuzz} fuzz functions",
        groups.join(", ")
    )
}

/// `server/` for files directly in server, `server subpackages` below it, else the top dir.
pub fn group_of(path: &str) -> &str {
    let mut parts = path.split('/');
    let top = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    match (top, rest.len()) {
        ("server", n) if n > 1 => "server subpackages",
        ("server", _) => "server/",
        ("test", _) => "test/",
        ("conf", _) => "conf/",
        ("logger", _) => "logger/",
        ("internal", _) => "internal/",
        _ => top,
    }
}

fn scan(layout: &Layout, go_src: &std::path::Path) -> Result<i32> {
    let expected = if layout.upstream_toml().exists() {
        Upstream::read(&layout.upstream_toml())?
    } else {
        Upstream::pinned()
    };
    let upstream = upstream::identify(go_src, &expected)?;
    let files = goscan::scan_tree(go_src)?;
    let rows = index::rows_from_scan(&files);
    if rows.is_empty() {
        bail!(
            "expected Go test functions in *_test.go files under {}, found none",
            go_src.display()
        );
    }
    let table = tracks::read_tracks_tsv(&layout.tracks_tsv())?;
    let with_tests: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.path.as_str()).collect();
    let problems =
        tracks::check_coverage(&table, with_tests, &layout.display(&layout.tracks_tsv()));
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        bail!(
            "every Go test file needs exactly one track; {} problem(s) in {} (nothing written)",
            problems.len(),
            layout.display(&layout.tracks_tsv())
        );
    }
    let wrote_tests =
        index::write_if_changed(&layout.tests_tsv(), &index::render_tests_tsv(&rows))?;
    let wrote_up = index::write_if_changed(&layout.upstream_toml(), &upstream.to_toml())?;
    println!(
        "nats-server {} ({}): {}",
        upstream.tag,
        upstream.commit,
        summarize(&rows)
    );
    for (path, wrote) in [
        (layout.tests_tsv(), wrote_tests),
        (layout.upstream_toml(), wrote_up),
    ] {
        println!(
            "{} {}",
            if wrote { "wrote" } else { "unchanged" },
            layout.display(&path)
        );
    }
    let inputs = Inputs::load(layout)?;
    let mut conn = db::open(&layout.db_path())?;
    db::ensure_fresh(&mut conn, &inputs)?;
    println!("DB {} is up to date", layout.display(&layout.db_path()));
    let report = check::check(&inputs);
    print_check(&report);
    Ok(if report.is_ok() { 0 } else { 1 })
}

fn print_check(report: &check::CheckReport) {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
}

fn run_check(layout: &Layout) -> Result<i32> {
    let inputs = Inputs::load(layout)?;
    let report = check::check(&inputs);
    print_check(&report);
    let ports = inputs
        .scan
        .annotations
        .iter()
        .filter(|a| a.kind.is_port())
        .count();
    let stubs = inputs.scan.annotations.len() - ports;
    if report.is_ok() {
        println!(
            "parity check: ok ({} Go tests, {ports} ports, {stubs} stubs, {} not_applicable, {} Rust files read)",
            inputs.tests.len(),
            inputs.not_applicable.len(),
            inputs.scan.files.len()
        );
        Ok(0)
    } else {
        eprintln!("parity check: {} problem(s)", report.errors.len());
        Ok(1)
    }
}

fn run_stub(layout: &Layout, go_file: &str, all_kinds: bool) -> Result<i32> {
    let inputs = Inputs::load(layout)?;
    if !inputs.scan.malformed.is_empty() {
        for m in &inputs.scan.malformed {
            eprintln!("error: {m}");
        }
        bail!("fix the malformed annotations first: a stub must never duplicate a port");
    }
    let go_file = stub::resolve_go_file(&inputs, go_file)?;
    let out = stub::stub_file(layout, &inputs, &go_file, all_kinds)?;
    let mut touched = out.touched.clone();
    touched.dedup();
    for t in &touched {
        println!("updated {t}");
    }
    if out.added.is_empty() {
        println!(
            "{}: nothing to stub (every test has a port, a stub or a not_applicable decision)",
            out.go_file
        );
    } else {
        println!(
            "{}: added {} stub(s) to {}; run them with `cargo test -p ported -- {}`",
            out.go_file,
            out.added.len(),
            out.rust_file,
            out.go_file
        );
    }
    Ok(0)
}

fn run_na(
    layout: &Layout,
    id: &str,
    category: Option<String>,
    reason: Option<String>,
    remove: bool,
) -> Result<i32> {
    let inputs = Inputs::load(layout)?;
    let na_path = layout.not_applicable_tsv();
    let mut table = inputs.not_applicable.clone();
    if remove {
        if table.remove(id).is_none() {
            bail!("{id} is not in {}", layout.display(&na_path));
        }
        index::write_if_changed(&na_path, &not_applicable::render(&table))?;
        println!("removed {id} from {}", layout.display(&na_path));
        return Ok(0);
    }
    if !inputs.tests.iter().any(|t| t.id() == id) {
        bail!(
            "expected a Go test id listed in go-tests-index/tests.tsv (nats-server {}), found `{id}`",
            inputs.upstream.tag
        );
    }
    let category = category.context("expected --category (see `parity na --list-categories`)")?;
    not_applicable::check_category(&category)?;
    let reason = reason.context("expected --reason \"one line saying why\"")?;
    not_applicable::check_reason(&reason)?;
    for a in &inputs.scan.annotations {
        if a.go_test == id && a.kind.is_port() {
            bail!(
                "{id} is ported at {}; a ported test cannot be not_applicable (remove the port first)",
                a.location()
            );
        }
    }
    for a in &inputs.scan.annotations {
        if a.go_test == id && !a.kind.is_port() {
            if stub::remove_stub_line(&layout.root, &a.file, a.line, id)? {
                println!("removed the stub at {}", a.location());
            } else {
                bail!(
                    "{id} has a stub at {} that is not alone on its line; remove it by hand first",
                    a.location()
                );
            }
        }
    }
    table.insert(
        id.to_string(),
        not_applicable::NaRow {
            category: category.clone(),
            reason: reason.trim().to_string(),
        },
    );
    index::write_if_changed(&na_path, &not_applicable::render(&table))?;
    println!(
        "{id}: not_applicable ({category}) in {}",
        layout.display(&na_path)
    );
    Ok(0)
}

/// Loads the committed text, refreshes the DB when stale and builds the report.
pub fn load_report(layout: &Layout) -> Result<report::Report> {
    let inputs = Inputs::load(layout)?;
    let mut conn = db::open(&layout.db_path())?;
    if db::ensure_fresh(&mut conn, &inputs)? {
        eprintln!(
            "parity: rebuilt the index tables of {} from the committed text",
            layout.display(&layout.db_path())
        );
    }
    report::build(&conn, inputs.upstream.clone())
}

fn run_report(layout: &Layout, json: bool, md: bool, html: bool) -> Result<i32> {
    let r = load_report(layout)?;
    if json {
        println!("{}", r.to_json());
    }
    if md {
        let p = layout.reports_dir().join("PARITY.md");
        index::write_if_changed(&p, &report::markdown::render(&r))?;
        eprintln!("wrote {}", layout.display(&p));
    }
    if html {
        let p = layout.reports_dir().join("index.html");
        index::write_if_changed(&p, &report::html::render(&r))?;
        eprintln!("wrote {}", layout.display(&p));
    }
    if !json && !md && !html {
        print!("{}", report::text::render(&r));
    }
    Ok(0)
}
