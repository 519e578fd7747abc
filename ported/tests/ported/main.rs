//! The ported Go tests, one trial per Go test, named by its Go test id.
//!
//! Module tree mirrors the Go tree: `server/sublist_test.go` is `server/sublist_test.rs`.
//! Running, timeouts and recording every trial's outcome in `<workspace>/parity.db` are
//! done by `parity_tool::harness` (set `PARITY_DB` to record elsewhere).

mod conf;
mod internal;
mod logger;
mod server;
mod test;

use libtest_mimic::Arguments;
use parity_tool::harness::{self, Case, CaseKind, Config};
use ported::{Port, PortKind};

fn main() {
    let args = Arguments::from_args();
    let cases: Vec<Case> = inventory::iter::<Port>
        .into_iter()
        .map(|p| Case {
            id: p.go_test.to_string(),
            kind: match p.kind {
                PortKind::Run => CaseKind::Run,
                // Runs like any port; `parity report` reads the partial reason from the source.
                PortKind::Partial(_) => CaseKind::Run,
                PortKind::OptIn(why) => CaseKind::OptIn(why.to_string()),
                PortKind::Stub => CaseKind::Stub,
            },
            run: Box::new(p.run),
        })
        .collect();
    // The workspace root is the parent of this package's directory.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let config = Config::for_workspace(root);
    harness::run(&args, cases, &config).exit();
}
