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
