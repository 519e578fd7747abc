//! Time to open a stopped file store: from the state file a clean stop leaves
//! (`msgs/index.db`), and by scanning and verifying every block (after a crash, or when
//! the blocks changed), for 100 thousand and 1 million 128 B messages.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use natsd_store::file::state_file::STATE_FILE;
use natsd_store::file::{FileStore, FileStoreConfig, MSGS_DIR};
use natsd_store::{system_clock, StorageType, Store, StreamConfig};
use std::path::Path;
use std::time::{Duration, Instant};

fn stream() -> StreamConfig {
    StreamConfig {
        name: "bench".into(),
        subjects: vec!["bench.>".into()],
        storage: StorageType::File,
        ..StreamConfig::default()
    }
}

fn config(dir: &Path) -> FileStoreConfig {
    // Filling is not what is measured: sync in the background.
    FileStoreConfig {
        sync_interval: Some(Duration::from_secs(60)),
        ..FileStoreConfig::new(dir)
    }
}

fn open(dir: &Path) -> FileStore {
    FileStore::open(config(dir), stream(), system_clock()).expect("open")
}

fn bench_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    group.sample_size(10);
    for msgs in [100_000u64, 1_000_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let fs = open(dir.path());
        let payload = [b'x'; 128];
        for i in 0..msgs {
            fs.store_msg(&format!("bench.{}", i % 1000), b"", &payload, 0)
                .expect("store");
        }
        fs.stop().expect("stop");
        drop(fs);
        let state_file = dir.path().join(MSGS_DIR).join(STATE_FILE);

        group.bench_with_input(BenchmarkId::new("state_file", msgs), &msgs, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let fs = open(dir.path());
                    total += start.elapsed();
                    assert!(fs.recovery_report().from_state_file);
                    // The stop writes the state again for the next round.
                    fs.stop().expect("stop");
                }
                total
            })
        });
        group.bench_with_input(BenchmarkId::new("scan", msgs), &msgs, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    std::fs::remove_file(&state_file).expect("state file");
                    let start = Instant::now();
                    let fs = open(dir.path());
                    total += start.elapsed();
                    assert!(!fs.recovery_report().from_state_file);
                    fs.stop().expect("stop");
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_open);
criterion_main!(benches);
