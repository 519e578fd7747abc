//! Micro-benchmarks of the client protocol parser: how fast a read buffer full of operations
//! turns into `ClientOp`s. Run with `cargo bench -p natsd --bench parser`.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use natsd::protocol::parser::{Parser, ParserConfig};

/// `n` publishes of a `size`-byte payload on `foo.bar`, as a client would batch them.
fn pub_stream(n: usize, size: usize, reply: bool) -> Vec<u8> {
    let payload = vec![b'x'; size];
    let mut out = Vec::new();
    for _ in 0..n {
        if reply {
            out.extend_from_slice(format!("PUB foo.bar _INBOX.abc {size}\r\n").as_bytes());
        } else {
            out.extend_from_slice(format!("PUB foo.bar {size}\r\n").as_bytes());
        }
        out.extend_from_slice(&payload);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses all of `input` fed in reads of `chunk` bytes, returning the op count.
fn parse_all(input: &[u8], chunk: usize) -> usize {
    let mut parser = Parser::new(ParserConfig::default());
    let mut buf = BytesMut::with_capacity(chunk.max(64 * 1024));
    let mut ops = 0;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Ok(Some(op)) = parser.parse(&mut buf) {
            black_box(op);
            ops += 1;
        }
    }
    ops
}

fn bench_pub(c: &mut Criterion) {
    const N: usize = 1000;
    let mut group = c.benchmark_group("parse_pub");
    for &size in &[16usize, 128, 1024] {
        let input = pub_stream(N, size, false);
        group.throughput(Throughput::Elements(N as u64));
        group.bench_with_input(BenchmarkId::new("64k_reads", size), &input, |b, input| {
            b.iter(|| assert_eq!(parse_all(input, 64 * 1024), N))
        });
    }
    let input = pub_stream(N, 16, true);
    group.bench_with_input(
        BenchmarkId::new("64k_reads_reply", 16),
        &input,
        |b, input| b.iter(|| assert_eq!(parse_all(input, 64 * 1024), N)),
    );
    // Small reads split most operations, exercising the resumable paths.
    let input = pub_stream(N, 16, false);
    group.bench_with_input(BenchmarkId::new("17b_reads", 16), &input, |b, input| {
        b.iter(|| assert_eq!(parse_all(input, 17), N))
    });
    group.finish();

    let mut group = c.benchmark_group("parse_large_payload");
    let input = pub_stream(10, 1024 * 1024, false);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("1MiB_in_4k_reads", |b| {
        b.iter(|| assert_eq!(parse_all(&input, 4096), 10))
    });
    group.finish();
}

fn bench_control(c: &mut Criterion) {
    const N: usize = 1000;
    let mut input = Vec::new();
    for i in 0..N {
        input.extend_from_slice(format!("SUB foo.{i} q {i}\r\nPING\r\nUNSUB {i}\r\n").as_bytes());
    }
    let mut group = c.benchmark_group("parse_control");
    group.throughput(Throughput::Elements(3 * N as u64));
    group.bench_function("sub_ping_unsub", |b| {
        b.iter(|| assert_eq!(parse_all(&input, 64 * 1024), 3 * N))
    });
    group.finish();
}

criterion_group!(benches, bench_pub, bench_control);
criterion_main!(benches);
