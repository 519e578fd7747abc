//! Damage on disk: a torn last record, a truncated block, flipped bits and a zeroed page.
//! Each must be detected on open, reported, and skipped: every message that was not
//! damaged loads intact, the damaged ones are reported lost, and no load ever returns a
//! wrong message. Run over every cipher and compression.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use natsd_store::file::record::record_len;
use natsd_store::file::state_file::STATE_FILE;
use natsd_store::file::{js_key_gen, FileStore, FileStoreConfig, StoreCipher, MSGS_DIR};
use natsd_store::{system_clock, Store, StoreCompression, StreamConfig};

const MSGS: u64 = 60;

fn payload(seq: u64) -> Vec<u8> {
    format!("message {seq} ")
        .repeat(1 + (seq % 4) as usize)
        .into_bytes()
}

fn subject(seq: u64) -> String {
    format!("orders.{}", seq % 3)
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    cipher: StoreCipher,
    compression: StoreCompression,
}

impl Setup {
    fn new(cipher: StoreCipher, compression: StoreCompression) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        Setup {
            _dir: dir,
            path,
            cipher,
            compression,
        }
    }

    fn open(&self) -> FileStore {
        let fcfg = FileStoreConfig {
            // Small blocks: several of them, so that damage hits older and last blocks.
            block_size: 1024,
            cipher: self.cipher,
            prf: Some(js_key_gen("corruption", "test")),
            ..FileStoreConfig::new(&self.path)
        };
        let cfg = StreamConfig {
            name: "DMG".to_string(),
            compression: self.compression,
            ..StreamConfig::default()
        };
        FileStore::open(fcfg, cfg, system_clock()).unwrap()
    }

    /// A store with `MSGS` messages, stopped; returns the block paths.
    fn filled(&self) -> Vec<PathBuf> {
        let fs = self.open();
        for seq in 1..=MSGS {
            let (got, _) = fs.store_msg(&subject(seq), b"", &payload(seq), 0).unwrap();
            assert_eq!(got, seq);
        }
        let paths = fs.block_paths();
        fs.stop().unwrap();
        assert!(paths.len() >= 4, "want several blocks, got {}", paths.len());
        paths
    }
}

fn permutations() -> Vec<(StoreCipher, StoreCompression)> {
    let mut out = Vec::new();
    for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
        for compression in [StoreCompression::None, StoreCompression::S2] {
            out.push((cipher, compression));
        }
    }
    out
}

/// Every stored message either loads exactly as written or is gone; returns the gone.
fn check_nothing_wrong(fs: &FileStore) -> Vec<u64> {
    let mut missing = Vec::new();
    for seq in 1..=MSGS {
        match fs.load_msg(seq) {
            Ok(msg) => {
                assert_eq!(msg.seq, seq);
                assert_eq!(msg.subject, subject(seq), "seq {seq}");
                assert_eq!(msg.msg.as_ref(), payload(seq).as_slice(), "seq {seq}");
            }
            Err(_) => missing.push(seq),
        }
    }
    missing
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn torn_last_record_is_cut_and_the_rest_survives() {
    for (cipher, compression) in permutations() {
        let setup = Setup::new(cipher, compression);
        let paths = setup.filled();
        let last = paths.last().unwrap();
        let last_len = record_len(subject(MSGS).len(), 0, payload(MSGS).len()) as u64;
        for (cut, clean_stop) in [
            (1, false),
            (last_len / 2, false),
            (last_len - 1, false),
            (last_len / 2, true),
        ] {
            let setup = Setup::new(cipher, compression);
            let paths = setup.filled();
            let last = paths.last().unwrap();
            if !clean_stop {
                // A record is torn by a crash, which leaves no state file: the write
                // never completed, so it was never acknowledged.
                std::fs::remove_file(setup.path.join(MSGS_DIR).join(STATE_FILE)).unwrap();
            }
            let len = file_len(last);
            std::fs::OpenOptions::new()
                .write(true)
                .open(last)
                .unwrap()
                .set_len(len - cut)
                .unwrap();
            let fs = setup.open();
            let report = fs.recovery_report();
            assert_eq!(
                report.truncated.len(),
                1,
                "{cipher:?} {compression:?} cut {cut}"
            );
            assert!(report.damaged.is_empty());
            assert_eq!(check_nothing_wrong(&fs), vec![MSGS]);
            let state = fs.state();
            // After a clean stop the lost message's sequence stays used (the state file
            // says how far the stream got); after a crash the store goes on where the
            // valid part ended.
            let last_seq = if clean_stop { MSGS } else { MSGS - 1 };
            assert_eq!((state.msgs, state.last_seq), (MSGS - 1, last_seq));
            let (seq, _) = fs.store_msg("after", b"", b"tail", 0).unwrap();
            assert_eq!(seq, last_seq + 1);
            fs.stop().unwrap();
            let fs = setup.open();
            assert!(fs.recovery_report().is_clean());
            assert_eq!(fs.load_msg(last_seq + 1).unwrap().msg.as_ref(), b"tail");
        }
        let _ = last;
    }
}

#[test]
fn truncated_older_block_loses_only_its_tail() {
    for (cipher, compression) in permutations() {
        let setup = Setup::new(cipher, compression);
        let paths = setup.filled();
        let victim = &paths[1];
        let len = file_len(victim);
        std::fs::OpenOptions::new()
            .write(true)
            .open(victim)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let fs = setup.open();
        let report = fs.recovery_report();
        assert!(!report.is_clean(), "{cipher:?} {compression:?}");
        let missing = check_nothing_wrong(&fs);
        assert!(!missing.is_empty());
        // Only messages of the damaged block are gone, and each is reported lost.
        let state = fs.state();
        let lost = state.lost.clone().unwrap();
        for seq in &missing {
            assert!(
                lost.msgs.contains(seq),
                "{cipher:?} {compression:?}: {seq} missing but not reported: {lost:?}"
            );
        }
        assert_eq!(state.msgs, MSGS - missing.len() as u64);
        assert_eq!(state.last_seq, MSGS);
        // The damaged file is left on disk for inspection.
        assert!(victim.exists());
    }
}

#[test]
fn flipped_bits_anywhere_never_yield_a_wrong_message() {
    for (cipher, compression) in permutations() {
        for (round, block) in [0usize, 2, usize::MAX].into_iter().enumerate() {
            let setup = Setup::new(cipher, compression);
            let paths = setup.filled();
            let victim = if block == usize::MAX {
                paths.last().unwrap()
            } else {
                &paths[block]
            };
            let mut raw = std::fs::read(victim).unwrap();
            // Flip a few bits spread over the file.
            for k in 1..=3 {
                let at = raw.len() * k / 4 + round;
                raw[at] ^= 1 << (k % 8);
            }
            std::fs::write(victim, &raw).unwrap();
            let fs = setup.open();
            assert!(
                !fs.recovery_report().is_clean(),
                "{cipher:?} {compression:?} block {block}"
            );
            let missing = check_nothing_wrong(&fs);
            assert!(!missing.is_empty());
            assert!(missing.len() < MSGS as usize);
            let lost = fs.state().lost.unwrap();
            assert!(lost.bytes > 0);
            for seq in &missing {
                assert!(
                    lost.msgs.contains(seq),
                    "{cipher:?} {compression:?}: {seq} missing but not reported: {lost:?}"
                );
            }
            // A later check finds nothing more, and the store keeps working.
            assert!(fs.check_msgs().msgs.is_empty());
            fs.store_msg("after", b"", b"ok", 0).unwrap();
        }
    }
}

#[test]
fn zeroed_page_in_an_older_block_is_skipped() {
    let setup = Setup::new(StoreCipher::None, StoreCompression::None);
    let paths = setup.filled();
    let victim = &paths[1];
    let mut raw = std::fs::read(victim).unwrap();
    let start = raw.len() / 3;
    let end = (start + 200).min(raw.len());
    raw[start..end].fill(0);
    std::fs::write(victim, &raw).unwrap();
    let fs = setup.open();
    let report = fs.recovery_report();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert!(report.truncated.is_empty());
    let missing = check_nothing_wrong(&fs);
    assert!(!missing.is_empty() && missing.len() < 10, "{missing:?}");
    // Records after the zeroed range in the same block were found again.
    let block_seqs: Vec<u64> = (1..=MSGS).filter(|s| !missing.contains(s)).collect();
    assert_eq!(block_seqs.len() + missing.len(), MSGS as usize);
}
