//! Store and load throughput of the memory and file stores, for 128 B and 4 KiB messages:
//! the file store durable (the default: each call returns after fsync), with
//! `sync_interval` (acks before fsync), and with encryption and compression.
//!
//! Durable stores are measured with several writers at once, and with one writer that
//! pipelines (stores ahead and waits for durability behind, as a server holding back
//! acknowledgements does), since group commit is what keeps them within a small factor
//! of the unsynced path.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use natsd_store::file::{js_key_gen, FileStore, FileStoreConfig, StoreCipher};
use natsd_store::mem::MemStore;
use natsd_store::{system_clock, StorageType, Store, StoreCompression, StreamConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIZES: [usize; 2] = [128, 4096];

fn stream(storage: StorageType, compression: StoreCompression) -> StreamConfig {
    StreamConfig {
        name: "bench".into(),
        subjects: vec!["bench.>".into()],
        storage,
        compression,
        ..StreamConfig::default()
    }
}

/// A file store in a fresh directory (kept alive by the returned guard).
fn file_store(
    sync_interval: Option<Duration>,
    cipher: StoreCipher,
    compression: StoreCompression,
) -> (FileStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut fcfg = FileStoreConfig::new(dir.path());
    fcfg.sync_interval = sync_interval;
    if cipher != StoreCipher::None {
        fcfg.cipher = cipher;
        fcfg.prf = Some(js_key_gen("bench-key", ""));
    }
    let fs = FileStore::open(fcfg, stream(StorageType::File, compression), system_clock())
        .expect("open file store");
    (fs, dir)
}

/// Stores `iters` messages from `writers` threads; returns the time taken.
fn store_many(store: Arc<dyn Store>, writers: u64, iters: u64, payload: &[u8]) -> Duration {
    let per = iters.div_ceil(writers);
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let store = store.clone();
            s.spawn(move || {
                let subject = format!("bench.{w}");
                for _ in 0..per {
                    store
                        .store_msg(&subject, &[], payload, 0)
                        .expect("store message");
                }
            });
        }
    });
    start.elapsed()
}

/// Messages a pipelined writer keeps stored but not yet durable (acknowledgements a
/// server would be holding back).
const PIPELINE: usize = 256;

/// Stores `iters` messages from one thread, durable, with up to [`PIPELINE`] waiting for
/// their sync at once; returns the time until the last one is durable.
fn store_pipelined(fs: &FileStore, iters: u64, payload: &[u8]) -> Duration {
    let start = Instant::now();
    let mut in_flight = std::collections::VecDeque::with_capacity(PIPELINE);
    for _ in 0..iters {
        let (_, _, pending) = fs
            .store_msg_pipelined("bench.p", &[], payload, 0)
            .expect("store message");
        in_flight.push_back(pending);
        if in_flight.len() > PIPELINE {
            if let Some(oldest) = in_flight.pop_front() {
                fs.wait_durable_for(oldest).expect("durable");
            }
        }
    }
    for pending in in_flight {
        fs.wait_durable_for(pending).expect("durable");
    }
    start.elapsed()
}

fn bench_store(c: &mut Criterion) {
    let mut g = c.benchmark_group("store_msg");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for size in SIZES {
        let payload = vec![b'x'; size];
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("memory", size), |b| {
            let store: Arc<dyn Store> = Arc::new(
                MemStore::new(stream(StorageType::Memory, StoreCompression::None))
                    .expect("memory store"),
            );
            b.iter_custom(|iters| store_many(store.clone(), 1, iters, &payload));
        });
        let unsynced = [
            (
                "file_sync_interval",
                StoreCipher::None,
                StoreCompression::None,
            ),
            (
                "file_sync_interval_aes",
                StoreCipher::Aes,
                StoreCompression::None,
            ),
            (
                "file_sync_interval_chacha",
                StoreCipher::ChaCha,
                StoreCompression::None,
            ),
            (
                "file_sync_interval_compressed",
                StoreCipher::None,
                StoreCompression::S2,
            ),
        ];
        for (name, cipher, compression) in unsynced {
            g.bench_function(BenchmarkId::new(name, size), |b| {
                let (fs, _dir) = file_store(Some(Duration::from_secs(1)), cipher, compression);
                let store: Arc<dyn Store> = Arc::new(fs);
                b.iter_custom(|iters| store_many(store.clone(), 1, iters, &payload));
            });
        }
        g.bench_function(
            BenchmarkId::new(format!("file_durable_pipelined_{PIPELINE}"), size),
            |b| {
                let (fs, _dir) = file_store(None, StoreCipher::None, StoreCompression::None);
                b.iter_custom(|iters| store_pipelined(&fs, iters, &payload));
            },
        );
        for writers in [1u64, 16, 256] {
            g.bench_function(
                BenchmarkId::new(format!("file_durable_{writers}_writers"), size),
                |b| {
                    let (fs, _dir) = file_store(None, StoreCipher::None, StoreCompression::None);
                    let store: Arc<dyn Store> = Arc::new(fs);
                    b.iter_custom(|iters| store_many(store.clone(), writers, iters, &payload));
                },
            );
        }
    }
    g.finish();
}

fn bench_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_msg");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    const N: u64 = 10_000;
    for size in SIZES {
        let payload = vec![b'x'; size];
        g.throughput(Throughput::Elements(1));
        let mem: Arc<dyn Store> = Arc::new(
            MemStore::new(stream(StorageType::Memory, StoreCompression::None))
                .expect("memory store"),
        );
        let (fs, _dir) = file_store(
            Some(Duration::from_secs(1)),
            StoreCipher::None,
            StoreCompression::None,
        );
        let file: Arc<dyn Store> = Arc::new(fs);
        for store in [&mem, &file] {
            store_many(store.clone(), 1, N, &payload);
        }
        for (name, store) in [("memory", &mem), ("file", &file)] {
            let mut seq = 0u64;
            g.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| {
                    seq = seq % N + 1;
                    store.load_msg(seq).expect("load message")
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_store, bench_load);
criterion_main!(benches);
