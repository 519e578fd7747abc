//! Micro-benchmarks of the subject tree: insert, find, wildcard match and both walks over
//! subjects shaped like a stream's (`account.<n>.stream.<i>`), plus a report of memory
//! per stored subject as the tree grows (it should stay flat).
//! Run with `cargo bench -p natsd-store --bench stree`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use natsd_store::stree::SubjectTree;

/// Resident memory of this process in bytes (Linux), 0 where unknown.
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

const ENTRIES: usize = 100_000;

fn subjects(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("account.{}.stream.{}", i % 1000, i).into_bytes())
        .collect()
}

fn filled(subjects: &[Vec<u8>]) -> SubjectTree<u64> {
    let mut st = SubjectTree::new();
    for (i, s) in subjects.iter().enumerate() {
        st.insert(s, i as u64);
    }
    st
}

/// Prints the growth of resident memory per subject while filling trees of growing
/// sizes (value: a u64). Resident memory is coarse, so small trees read noisy.
fn report_memory() {
    for n in [100_000, 1_000_000, 3_000_000] {
        let subjects = subjects(n);
        let before = resident_bytes();
        let st = filled(&subjects);
        let held = resident_bytes().saturating_sub(before);
        eprintln!(
            "stree memory: {n} subjects add {held} resident bytes, {:.1} bytes/subject",
            held as f64 / n as f64
        );
        drop(black_box(st));
    }
}

fn bench(c: &mut Criterion) {
    report_memory();
    let subjects = subjects(ENTRIES);
    let st = filled(&subjects);

    c.bench_function("stree insert 100k", |b| {
        b.iter_batched(|| (), |_| filled(&subjects), BatchSize::PerIteration)
    });
    c.bench_function("stree find (100k tree)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 7919) % ENTRIES;
            black_box(st.find(&subjects[i]))
        })
    });
    for filter in [
        "account.*.stream.>",
        "account.7.stream.*",
        "account.*.stream.4242",
        ">",
    ] {
        c.bench_function(&format!("stree match {filter:?} (100k tree)"), |b| {
            b.iter(|| {
                let mut n = 0u64;
                st.for_each_match(filter.as_bytes(), |_, v| n += v);
                black_box(n)
            })
        });
    }
    c.bench_function("stree iter_fast (100k tree)", |b| {
        b.iter(|| {
            let mut n = 0u64;
            st.iter_fast(|_, v| {
                n += v;
                true
            });
            black_box(n)
        })
    });
    c.bench_function("stree iter_ordered (100k tree)", |b| {
        b.iter(|| {
            let mut n = 0u64;
            st.iter_ordered(|_, v| {
                n += v;
                true
            });
            black_box(n)
        })
    });
    c.bench_function("stree delete+insert (100k tree)", |b| {
        let mut st = filled(&subjects);
        let mut i = 0;
        b.iter(|| {
            i = (i + 7919) % ENTRIES;
            let v = st.delete(&subjects[i]);
            st.insert(&subjects[i], v.unwrap_or(0));
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
