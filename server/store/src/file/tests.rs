//! Unit tests of the file store through its public surface.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::{ManualClock, Store, StreamConfig};

fn cfg(name: &str) -> StreamConfig {
    StreamConfig {
        name: name.to_string(),
        ..StreamConfig::default()
    }
}

fn open(dir: &Path, cfg: StreamConfig) -> FileStore {
    FileStore::open(FileStoreConfig::new(dir), cfg, ManualClock::starting_now()).unwrap()
}

#[test]
fn store_load_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    {
        let fs = open(dir.path(), cfg("S"));
        for i in 1..=10u64 {
            let (seq, _) = fs
                .store_msg("foo", b"", format!("m{i}").as_bytes(), 0)
                .unwrap();
            assert_eq!(seq, i);
        }
        assert!(fs.remove_msg(3).unwrap());
        fs.stop().unwrap();
    }
    let fs = open(dir.path(), cfg("S"));
    let state = fs.state();
    assert_eq!((state.msgs, state.first_seq, state.last_seq), (9, 1, 10));
    assert_eq!(state.deleted, vec![3]);
    assert_eq!(fs.load_msg(7).unwrap().msg.as_ref(), b"m7");
    assert!(fs.recovery_report().is_clean());
}

/// The six cipher × compression permutations Go's tests run over.
pub(crate) fn permutations() -> Vec<(StoreCipher, crate::store::StoreCompression)> {
    use crate::store::StoreCompression as C;
    let mut out = Vec::new();
    for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
        for compression in [C::None, C::S2] {
            out.push((cipher, compression));
        }
    }
    out
}

#[test]
fn every_permutation_rotates_recovers_and_erases() {
    for (cipher, compression) in permutations() {
        let dir = tempfile::tempdir().unwrap();
        let fcfg = FileStoreConfig {
            block_size: 4096,
            cipher,
            prf: Some(js_key_gen("dlc22", "test")),
            ..FileStoreConfig::new(dir.path())
        };
        let scfg = StreamConfig {
            compression,
            ..cfg("P")
        };
        let payload = |i: u64| format!("payload-{i}-").repeat(1 + (i % 9) as usize);
        {
            let fs =
                FileStore::open(fcfg.clone(), scfg.clone(), ManualClock::starting_now()).unwrap();
            for i in 1..=300u64 {
                fs.store_msg(&format!("s.{}", i % 3), b"", payload(i).as_bytes(), 0)
                    .unwrap();
            }
            assert!(fs.block_indexes().len() > 3, "{cipher:?} {compression:?}");
            assert!(fs.erase_msg(5).unwrap());
            assert!(fs.remove_msg(250).unwrap());
            fs.stop().unwrap();
        }
        // Nothing of the payloads is readable on disk when encrypted.
        if cipher != StoreCipher::None {
            for entry in std::fs::read_dir(dir.path().join(MSGS_DIR)).unwrap() {
                let raw = std::fs::read(entry.unwrap().path()).unwrap();
                assert!(!raw.windows(8).any(|w| w == b"payload-"));
            }
        }
        let fs = FileStore::open(fcfg.clone(), scfg.clone(), ManualClock::starting_now()).unwrap();
        assert!(
            fs.recovery_report().is_clean(),
            "{:?}",
            fs.recovery_report()
        );
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (298, 1, 300));
        assert_eq!(state.deleted, vec![5, 250]);
        for i in (1..=300u64).filter(|i| *i != 5 && *i != 250) {
            let m = fs.load_msg(i).unwrap();
            assert_eq!(
                m.msg.as_ref(),
                payload(i).as_bytes(),
                "{cipher:?} {compression:?} {i}"
            );
        }
        // A different server key cannot open an encrypted store.
        if cipher != StoreCipher::None {
            fs.stop().unwrap();
            let wrong = FileStoreConfig {
                prf: Some(js_key_gen("other", "test")),
                ..fcfg
            };
            assert!(FileStore::open(wrong, scfg, ManualClock::starting_now()).is_err());
        }
    }
}
