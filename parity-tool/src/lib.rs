//! parity: the Go-test-to-Rust-port yardstick.
//!
//! The committed text in `go-tests-index/` (inventory, tracks, not_applicable) and the
//! `port!`/`stub!` annotations in `ported/` are the source of truth; the SQLite DB is a
//! query store rebuilt from them, plus the append-only record of test runs.
//! See `parity-tool/README.md` for the file formats, the DB schema and the JSON schema.

pub mod annotations;
pub mod check;
pub mod cli;
pub mod db;
pub mod goscan;
pub mod harness;
pub mod index;
pub mod layout;
pub mod not_applicable;
pub mod progress;
pub mod report;
pub mod stub;
pub mod tracks;
pub mod upstream;
