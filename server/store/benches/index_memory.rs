//! Memory the stores' indexes take per stored message, as the number of distinct subjects
//! grows: every message on its own subject (the worst case for the per-subject index)
//! against all messages on one subject, for 10 thousand to 2 million messages.
//!
//! Also measured: the same file stores reopened, from the state file a clean stop leaves
//! and by scanning the blocks (state file removed), which must cost no more than the
//! running store.
//!
//! Counts live heap bytes with an instrumented allocator (`stats_alloc`); the payloads are tiny so the memory
//! store's figure is mostly index too. Prints a table; run with
//! `cargo bench -p natsd-store --bench index_memory`.

use natsd_store::file::state_file::STATE_FILE;
use natsd_store::file::{FileStore, FileStoreConfig, MSGS_DIR};
use natsd_store::mem::MemStore;
use natsd_store::{system_clock, StorageType, Store, StreamConfig};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::time::Duration;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not freed since `region` began. (`stats_alloc` already adds
/// a growing reallocation to `bytes_allocated` and a shrinking one to
/// `bytes_deallocated`; `bytes_reallocated` is their net, not to be added again.)
fn live(region: &Region<'_, System>) -> isize {
    let c = region.change();
    c.bytes_allocated as isize - c.bytes_deallocated as isize
}

fn stream(storage: StorageType) -> StreamConfig {
    StreamConfig {
        name: "mem".into(),
        subjects: vec!["m.>".into()],
        storage,
        ..StreamConfig::default()
    }
}

/// Live heap bytes per message after storing `n` messages, `distinct` subjects or one.
fn bytes_per_msg(store: &dyn Store, n: u64, distinct: bool, region: &Region<'_, System>) -> f64 {
    let payload = [0u8; 8];
    for i in 0..n {
        let subject = if distinct {
            format!("m.sensor.{i:08}.temp")
        } else {
            "m.sensor.00000000.temp".to_string()
        };
        store.store_msg(&subject, &[], &payload, 0).expect("store");
    }
    assert_eq!(store.state().msgs, n);
    let per_msg = live(region) as f64 / n as f64;
    // Stopped before the next measurement begins, background work included.
    store.stop().expect("stop");
    per_msg
}

fn file_config(dir: &std::path::Path) -> FileStoreConfig {
    let mut cfg = FileStoreConfig::new(dir);
    // Index memory does not depend on when blocks are synced.
    cfg.sync_interval = Some(Duration::from_secs(3600));
    cfg
}

/// Live heap bytes per message of a stopped file store reopened from `dir`: from its
/// state file, or by scanning its blocks when `scan`.
fn reopened_bytes_per_msg(dir: &std::path::Path, n: u64, scan: bool) -> f64 {
    let state_file = dir.join(MSGS_DIR).join(STATE_FILE);
    if scan {
        std::fs::remove_file(&state_file).expect("state file");
    }
    let region = Region::new(GLOBAL);
    let fs = FileStore::open(file_config(dir), stream(StorageType::File), system_clock())
        .expect("reopen file store");
    assert_eq!(fs.recovery_report().from_state_file, !scan);
    assert_eq!(fs.state().msgs, n);
    let per_msg = live(&region) as f64 / n as f64;
    fs.stop().expect("stop");
    per_msg
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) passes nothing
    // and should stay quick.
    let full = std::env::args().any(|a| a == "--bench");
    let counts: &[u64] = if full {
        &[10_000, 100_000, 1_000_000, 2_000_000]
    } else {
        &[1_000]
    };
    println!("heap bytes per stored message (8-byte payloads)");
    println!(
        "{:>10} {:>16} {:>16} {:>16} {:>16}",
        "messages", "file distinct", "file one", "memory distinct", "memory one"
    );
    let mut reopened = Vec::new();
    for &n in counts {
        let mut row = Vec::new();
        let mut reopened_row = Vec::new();
        for distinct in [true, false] {
            let dir = tempfile::tempdir().expect("temp dir");
            let region = Region::new(GLOBAL);
            let fs = FileStore::open(
                file_config(dir.path()),
                stream(StorageType::File),
                system_clock(),
            )
            .expect("open file store");
            row.push(bytes_per_msg(&fs, n, distinct, &region));
            drop(fs);
            reopened_row.push(reopened_bytes_per_msg(dir.path(), n, false));
            reopened_row.push(reopened_bytes_per_msg(dir.path(), n, true));
        }
        for distinct in [true, false] {
            let region = Region::new(GLOBAL);
            let ms = MemStore::new(stream(StorageType::Memory)).expect("memory store");
            row.push(bytes_per_msg(&ms, n, distinct, &region));
        }
        println!(
            "{n:>10} {:>16.1} {:>16.1} {:>16.1} {:>16.1}",
            row[0], row[1], row[2], row[3]
        );
        reopened.push((n, reopened_row));
    }
    println!();
    println!("file store reopened: heap bytes per message");
    println!(
        "{:>10} {:>16} {:>16} {:>16} {:>16}",
        "messages", "distinct state", "distinct scan", "one state", "one scan"
    );
    for (n, r) in reopened {
        println!(
            "{n:>10} {:>16.1} {:>16.1} {:>16.1} {:>16.1}",
            r[0], r[1], r[2], r[3]
        );
    }
}
