//! Fuzzes the protocol parser: arbitrary bytes, arbitrary splits into reads. The parser must
//! never panic, and its result (operations, then the error that stopped it, then its state)
//! must not depend on how the input was split.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use natsd::protocol::parser::{
    ConnKind, ParseState, Parser, ParserConfig, ProtocolErrorKind, ServerOp,
};

type Outcome = (
    Vec<ServerOp>,
    Option<(ProtocolErrorKind, Option<&'static str>)>,
    ParseState,
);

/// Feeds `chunks` as successive reads. Client connections go through `Parser::parse`
/// (which has a fast path of its own), the others through `Parser::parse_server_op`.
fn run<'a>(kind: ConnKind, cfg: ParserConfig, chunks: impl Iterator<Item = &'a [u8]>) -> Outcome {
    let mut p = Parser::with_kind(kind, cfg);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            let r = if kind == ConnKind::Client {
                p.parse(&mut buf).map(|op| op.map(ServerOp::Client))
            } else {
                p.parse_server_op(&mut buf)
            };
            match r {
                Ok(Some(op)) => {
                    assert!(buf.len() < before, "an operation consumed nothing");
                    ops.push(op);
                }
                Ok(None) => break,
                Err(e) => {
                    // Texts must be well formed whatever the input.
                    let _ = e.to_string();
                    return (ops, Some((e.kind(), e.client_err_text())), p.state());
                }
            }
        }
    }
    (ops, None, p.state())
}

/// Splits `data` into reads whose sizes cycle through `sizes`.
fn chunks<'a>(data: &'a [u8], sizes: &'a [usize]) -> impl Iterator<Item = &'a [u8]> {
    let mut at = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let n = sizes[i % sizes.len()].min(data.len() - at);
        i += 1;
        let c = &data[at..at + n];
        at += n;
        Some(c)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let (head, stream) = data.split_at(5);
    let kind = match head[0] & 3 {
        0 => ConnKind::Client,
        1 => ConnKind::Router,
        2 => ConnKind::Gateway,
        _ => ConnKind::Leaf,
    };
    let small = head[0] & 8 != 0;
    let cfg = ParserConfig {
        max_control_line: if small { 16 } else { 4096 },
        max_payload: if small { 32 } else { 1024 * 1024 },
        headers: head[0] & 4 != 0,
    };
    let whole = run(kind, cfg, std::iter::once(stream));

    // Two reads, split anywhere.
    let cut = usize::from(u16::from_le_bytes([head[1], head[2]])) % (stream.len() + 1);
    let (a, b) = stream.split_at(cut);
    assert_eq!(
        run(kind, cfg, [a, b].into_iter()),
        whole,
        "2 reads at {cut}"
    );

    // Many reads of varying sizes.
    let sizes = [
        usize::from(head[3] % 16) + 1,
        usize::from(head[4] % 64) + 1,
        usize::from(head[1] % 7) + 1,
    ];
    assert_eq!(
        run(kind, cfg, chunks(stream, &sizes)),
        whole,
        "reads of {sizes:?}"
    );

    // One byte at a time.
    if head[0] & 16 != 0 {
        assert_eq!(run(kind, cfg, stream.chunks(1)), whole, "bytewise");
    }
});
