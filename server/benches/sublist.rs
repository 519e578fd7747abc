//! Micro-benchmarks of the subscription trie: inserts, and matches that hit the cache, walk
//! the trie (no cache), collect wildcard and queue subscribers, or miss.
//! Run with `cargo bench -p natsd --bench sublist`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use natsd::subject::match_literal;
use natsd::sublist::{SubEntry, Sublist};
use std::sync::atomic::{AtomicU64, Ordering};

/// A subscription handle: a unique id, as the server compares by identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Sub(u64);

impl SubEntry for Sub {}

fn next_sub() -> Sub {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    Sub(NEXT.fetch_add(1, Ordering::Relaxed))
}

const TOKENS: [&str; 8] = [
    "synadia",
    "nats",
    "jetstream",
    "nkeys",
    "jwt",
    "deny",
    "auth",
    "drain",
];

/// Every subject of one to five tokens drawn from `TOKENS` (about 37k, as in Go's benchmarks).
fn subjects() -> Vec<String> {
    let mut out = Vec::new();
    fn grow(prefix: &str, depth: usize, out: &mut Vec<String>) {
        for t in TOKENS {
            let s = if prefix.is_empty() {
                t.to_string()
            } else {
                format!("{prefix}.{t}")
            };
            out.push(s.clone());
            if depth < 5 {
                grow(&s, depth + 1, out);
            }
        }
    }
    grow("", 1, &mut out);
    out
}

fn populated(cache: bool) -> Sublist<Sub> {
    let sl = Sublist::with_cache_enabled(cache);
    for s in subjects() {
        sl.insert(&s, None, next_sub()).expect("valid subject");
    }
    for w in ["cloud.>", "cloud.nats.component.>", "cloud.*.*.nkeys.*"] {
        sl.insert(w, None, next_sub()).expect("valid subject");
    }
    sl
}

fn bench_insert(c: &mut Criterion) {
    let subjects: Vec<String> = subjects().into_iter().take(1000).collect();
    for cache in [true, false] {
        let name = if cache {
            "insert_1k"
        } else {
            "insert_1k_no_cache"
        };
        c.bench_function(name, |b| {
            b.iter_batched(
                || Sublist::with_cache_enabled(cache),
                |sl| {
                    for s in &subjects {
                        sl.insert(s, None, next_sub()).expect("valid subject");
                    }
                    sl
                },
                BatchSize::SmallInput,
            )
        });
    }
}

fn bench_match(c: &mut Criterion) {
    let cached = populated(true);
    let walked = populated(false);
    let cases = [
        ("literal", "synadia.nats.jetstream.nkeys"),
        ("wildcard", "cloud.nats.component.router"),
        ("miss_last_token", "synadia.nats.jetstream.nkeys.ZZZZ"),
    ];
    for (name, subject) in cases {
        c.bench_function(&format!("match_{name}_cache_hit"), |b| {
            b.iter(|| black_box(cached.match_subject(black_box(subject))))
        });
        c.bench_function(&format!("match_{name}_no_cache"), |b| {
            b.iter(|| black_box(walked.match_subject(black_box(subject))))
        });
    }
}

fn bench_queue(c: &mut Criterion) {
    for cache in [true, false] {
        let sl = Sublist::with_cache_enabled(cache);
        for g in 0..10 {
            let queue = format!("workers{g}");
            for _ in 0..10 {
                sl.insert("orders.*", Some(&queue), next_sub())
                    .expect("valid subject");
            }
        }
        sl.insert("orders.new", None, next_sub())
            .expect("valid subject");
        let name = if cache {
            "match_queue_cache_hit"
        } else {
            "match_queue_no_cache"
        };
        c.bench_function(name, |b| {
            b.iter(|| black_box(sl.match_subject(black_box("orders.new"))))
        });
    }
}

fn bench_match_literal(c: &mut Criterion) {
    let literal = "foo.foo.foo.foo.foo.foo.foo.foo.foo.foo";
    let patterns = [
        "foo.foo.foo.foo.foo.foo.foo.foo.foo.foo",
        "foo.foo.foo.foo.foo.>",
        ">",
        "foo.foo.foo.foo.foo.*.*.*.*.*",
        "*.*.*.*.*.*.*.*.*.*",
    ];
    c.bench_function("match_literal_fn", |b| {
        b.iter(|| {
            for p in patterns {
                assert!(match_literal(black_box(literal), black_box(p)));
            }
        })
    });
}

criterion_group!(
    benches,
    bench_insert,
    bench_match,
    bench_queue,
    bench_match_literal
);
criterion_main!(benches);
