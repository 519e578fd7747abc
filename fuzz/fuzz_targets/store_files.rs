//! The file store's on-disk formats, all read back from disk after a crash or damage:
//! block records (one and a whole block's scan), block headers and bodies, the sequence
//! set, the TTL wheel, message schedules (`sched.db`), stream and consumer state, and the
//! stream state file (`index.db`). None may panic on any input; what decodes must be
//! consistent (see the checks below).
#![no_main]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use natsd_store::file::codec::{BlockCodec, BlockCompression};
use natsd_store::file::record::{self, BlockHasher};
use natsd_store::file::state_file;
use natsd_store::schedule::MsgScheduling;
use natsd_store::thw::HashWheel;
use natsd_store::{decode_avl_delete_block, decode_consumer_state, decode_stream_state};

/// A fresh, empty blocks directory per input, so runs do not depend on each other.
fn fresh_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "natsd-fuzz-state-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    let hasher = BlockHasher::new("fuzz", 1);
    match which % 10 {
        0 => {
            let scan = record::scan(input, &hasher);
            assert!(scan.valid_end <= input.len());
            for rec in &scan.records {
                let end = rec.offset + rec.len;
                assert!(end <= scan.valid_end);
                // What a scan accepts decodes on its own too, as a load reads it.
                let again = record::decode(&input[rec.offset..end], &hasher).expect("rescan");
                assert_eq!(again.seq, rec.seq);
            }
        }
        1 => {
            let _ = record::decode(input, &hasher);
        }
        2 => {
            if let Ok((set, used)) = natsd_store::avl::decode(input) {
                assert!(used <= input.len());
                let (back, _) = natsd_store::avl::decode(&set.encode()).expect("round trip");
                assert_eq!(back.size(), set.size());
                assert_eq!(back.nodes(), set.nodes());
            }
        }
        3 => {
            let _ = HashWheel::new().decode(input);
        }
        4 => {
            let _ = MsgScheduling::decode(input);
        }
        5 => {
            let _ = decode_stream_state(input, &decode_avl_delete_block);
        }
        6 => {
            let _ = decode_consumer_state(input);
        }
        7 => {
            let codec = BlockCodec {
                compression: BlockCompression::Lz4,
                ..BlockCodec::default()
            };
            let _ = codec.decode_block(input, "fuzz", 1);
        }
        8 => damaged_block(input, &hasher),
        _ => {
            let dir = fresh_dir();
            let _ = state_file::fuzz_decode(input, &dir);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
});

/// Valid records built from the input, then damaged (bits flipped, bytes cut): a scan of
/// the result must only ever return records exactly as they were written, at the offset
/// they were written at — never a different message that happens to parse.
fn damaged_block(input: &[u8], hasher: &BlockHasher) {
    let (layout, damage) = input.split_at(input.len() / 2);
    let mut block = Vec::new();
    let mut written = Vec::new();
    for (i, chunk) in layout.chunks(8).enumerate() {
        let subject_len = usize::from(chunk[0] % 16);
        let header_len = usize::from(chunk.get(1).copied().unwrap_or(0) % 8);
        let payload: Vec<u8> = chunk.iter().skip(2).copied().collect();
        let subject = vec![b'a' + (i % 26) as u8; subject_len];
        let headers = vec![b'h'; header_len];
        let offset = block.len();
        let seq = i as u64 + 1;
        record::encode(&mut block, hasher, seq, seq as i64 * 7, &subject, &headers, &payload);
        written.push((offset, seq, subject, headers, payload));
    }
    // Each pair of damage bytes flips one bit somewhere; a final odd byte cuts the tail.
    for pair in damage.chunks(2) {
        if block.is_empty() {
            break;
        }
        if let [at, bit] = pair {
            let at = (usize::from(*at) * 131 + usize::from(*bit)) % block.len();
            block[at] ^= 1 << (bit % 8);
        } else {
            let keep = block.len() - usize::from(pair[0]) % (block.len() + 1);
            block.truncate(keep);
        }
    }
    let scan = record::scan(&block, hasher);
    for rec in &scan.records {
        let decoded = record::decode(&block[rec.offset..rec.offset + rec.len], hasher)
            .expect("a scanned record decodes");
        let original = written
            .iter()
            .find(|w| w.0 == rec.offset)
            .expect("a record where one was written");
        assert_eq!(decoded.seq, original.1);
        assert_eq!(decoded.subject, &original.2[..]);
        assert_eq!(decoded.headers, &original.3[..]);
        assert_eq!(decoded.payload, &original.4[..]);
    }
}
