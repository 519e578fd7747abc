//! Plain-text summary for the terminal.

use super::{Counts, Report};
use std::fmt::Write;

fn row(out: &mut String, indent: &str, label: &str, c: &Counts) {
    let _ = writeln!(
        out,
        "{indent}{label:<width$} {:>5} {:>7} {:>7} {:>7} {:>5} {:>8} {:>5} {:>7}",
        c.total,
        c.passing,
        c.partial,
        c.failing,
        c.stub,
        c.unmapped,
        c.not_applicable,
        c.percent_text(),
        width = 52 - indent.len()
    );
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "parity of natsd with nats-server {} ({})",
        r.upstream.tag, r.upstream.commit
    );
    match &r.latest_run {
        Some(run) => {
            let _ = writeln!(
                out,
                "latest run #{} at {} (revision {}): {} passed, {} failed, {} ignored",
                run.id,
                run.finished_at.as_deref().unwrap_or(&run.started_at),
                run.git_revision,
                run.passed,
                run.failed,
                run.ignored
            );
        }
        None => out.push_str("no run recorded yet (run `cargo test -p ported`)\n"),
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<52} {:>5} {:>7} {:>7} {:>7} {:>5} {:>8} {:>5} {:>7}",
        "track / Go file",
        "total",
        "passing",
        "partial",
        "failing",
        "stub",
        "unmapped",
        "n/a",
        "parity"
    );
    row(&mut out, "", "all Go tests", &r.totals);
    for t in &r.tracks {
        out.push('\n');
        row(
            &mut out,
            "",
            &format!("{}. {}", t.number, t.title),
            &t.counts,
        );
        for path in &t.files {
            if let Some(f) = r.file(path) {
                if f.counts.total > 0 {
                    row(&mut out, "  ", path, &f.counts);
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\nbenchmarks: {} ({} passing), fuzz functions: {} ({} passing); reported apart, not in parity %",
        r.benchmarks.total, r.benchmarks.passing, r.fuzz.total, r.fuzz.passing
    );
    if r.totals.partial > 0 {
        let _ = writeln!(
            out,
            "{} partial ports pass but check only part of their Go test; not in parity %",
            r.totals.partial
        );
    }
    if r.totals.opt_in > 0 {
        let _ = writeln!(
            out,
            "{} mapped ports are opt-in (run with `cargo test -p ported -- --ignored`)",
            r.totals.opt_in
        );
    }
    out
}
