//! Micro-benchmarks of the sequence set (deleted-message maps): random inserts and
//! lookups, encode and decode of a large set, and the churn of small sets the file store
//! keeps per block (a few interior deletes, then emptied).
//! Run with `cargo bench -p natsd-store --bench seqset`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use natsd_store::avl::{self, SequenceSet};

/// xorshift64: the same sequences on every run, no dependency.
fn random_seqs(count: usize, below: u64) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % below
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    // The shape of Go's TestNoRaceSeqSetRelativeSpeed and ...EncodeLarge.
    let seqs = random_seqs(1_000_000, 3_000_000);
    c.bench_function("seqset insert 1M random of 3M", |b| {
        b.iter(|| seqs.iter().copied().collect::<SequenceSet>())
    });
    let set: SequenceSet = seqs.iter().copied().collect();
    c.bench_function("seqset exists 1M", |b| {
        b.iter(|| seqs.iter().filter(|&&s| set.exists(s)).count())
    });

    let large: SequenceSet = random_seqs(2_500_000, 5_000_001).into_iter().collect();
    c.bench_function("seqset encode 2.5M of 5M", |b| b.iter(|| large.encode()));
    let encoded = large.encode();
    c.bench_function("seqset decode 2.5M of 5M", |b| {
        b.iter(|| avl::decode(black_box(&encoded)))
    });

    // A block's interior deletes: a handful of sequences, then all removed again.
    c.bench_function("seqset small set churn (8 inserts, 8 deletes)", |b| {
        b.iter_batched(
            SequenceSet::new,
            |mut ss| {
                for s in 1_000..1_008u64 {
                    ss.insert(s);
                }
                for s in 1_000..1_008u64 {
                    ss.delete(s);
                }
                ss
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
