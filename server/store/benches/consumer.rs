//! Throughput of a file consumer store's delivery + acknowledgement pair
//! (`update_delivered` then `update_acks`) with 0, 1k and 10k messages pending.
//!
//! `coalesced` is the store as it runs: changes are written by the background flusher at
//! most once per interval. `write_each_change` writes the state after every call, as the
//! store did before coalescing (same encode, same side file and rename), so both are
//! measured in the same run on the same machine.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use natsd_store::file::{FileStore, FileStoreConfig};
use natsd_store::{
    system_clock, AckPolicy, ConsumerConfig, ConsumerStore, StorageType, Store, StreamConfig,
};

const PENDING: [u64; 3] = [0, 1_000, 10_000];

/// A file store with one explicit-ack consumer that has `pending` deliveries unacked.
fn consumer_with_pending(pending: u64) -> (FileStore, Arc<dyn ConsumerStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fs = FileStore::open(
        FileStoreConfig::new(dir.path()),
        StreamConfig {
            name: "bench".into(),
            storage: StorageType::File,
            ..StreamConfig::default()
        },
        system_clock(),
    )
    .expect("open file store");
    let cfg = ConsumerConfig {
        ack_policy: AckPolicy::Explicit,
        ..ConsumerConfig::default()
    };
    let o = fs.consumer_store("dur", 0, &cfg).expect("consumer store");
    let ts = now_ns();
    for seq in 1..=pending {
        o.update_delivered(seq, seq, 1, ts).expect("deliver");
    }
    fs.flush_consumer_states().expect("flush");
    (fs, o, dir)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn bench_deliver_ack(c: &mut Criterion) {
    let mut group = c.benchmark_group("consumer_deliver_ack");
    group.throughput(Throughput::Elements(1));
    for pending in PENDING {
        for write_each_change in [false, true] {
            let mode = if write_each_change {
                "write_each_change"
            } else {
                "coalesced"
            };
            let (fs, o, _dir) = consumer_with_pending(pending);
            let ts = now_ns();
            // Deliveries past the pending ones, each acked at once: pending stays put.
            let mut seq = pending;
            group.bench_function(BenchmarkId::new(mode, pending), |b| {
                b.iter(|| {
                    seq += 1;
                    o.update_delivered(seq, seq, 1, ts).expect("deliver");
                    if write_each_change {
                        fs.flush_consumer_states().expect("flush");
                    }
                    o.update_acks(seq, seq).expect("ack");
                    if write_each_change {
                        fs.flush_consumer_states().expect("flush");
                    }
                })
            });
            o.stop().expect("stop consumer");
            fs.stop().expect("stop store");
        }
    }
    group.finish();
}

criterion_group!(benches, bench_deliver_ack);
criterion_main!(benches);
