//! Memory the stores' indexes take per stored message, as the number of distinct subjects
//! grows: every message on its own subject (the worst case for the per-subject index)
//! against all messages on one subject, for 10 thousand to 2 million messages.
//!
//! Counts live heap bytes with an instrumented allocator (`stats_alloc`); the payloads are tiny so the memory
//! store's figure is mostly index too. Prints a table; run with
//! `cargo bench -p natsd-store --bench index_memory`.

use natsd_store::file::{FileStore, FileStoreConfig};
use natsd_store::mem::MemStore;
use natsd_store::{system_clock, StorageType, Store, StreamConfig};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::time::Duration;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not freed since `region` began.
fn live(region: &Region<'_, System>) -> isize {
    let c = region.change();
    c.bytes_allocated as isize - c.bytes_deallocated as isize + c.bytes_reallocated
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
    for &n in counts {
        let mut row = Vec::new();
        for distinct in [true, false] {
            let dir = tempfile::tempdir().expect("temp dir");
            let region = Region::new(GLOBAL);
            let mut cfg = FileStoreConfig::new(dir.path());
            // Index memory does not depend on when blocks are synced.
            cfg.sync_interval = Some(Duration::from_secs(3600));
            let fs = FileStore::open(cfg, stream(StorageType::File), system_clock())
                .expect("open file store");
            row.push(bytes_per_msg(&fs, n, distinct, &region));
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
    }
}
