use std::time::{Duration, Instant};

use super::*;
use crate::store::{system_clock, AckPolicy};

/// A failure bound for the background flusher, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

fn explicit() -> ConsumerConfig {
    ConsumerConfig {
        ack_policy: AckPolicy::Explicit,
        ..ConsumerConfig::default()
    }
}

fn open_in(stream_dir: &Path, open: &Arc<OpenConsumers>) -> FileConsumerStore {
    FileConsumerStore::open(
        stream_dir,
        "S",
        "C",
        0,
        &explicit(),
        BlockCodec::default(),
        system_clock(),
        open.clone(),
    )
    .unwrap()
}

/// A delivery time the state file keeps exactly: whole seconds in the recent past.
fn ts(seq: u64) -> i64 {
    const SEC: i64 = 1_000_000_000;
    let now = system_clock().now_ns() / SEC * SEC;
    now - (seq % 50) as i64 * SEC - SEC
}

/// The state as a fresh open would find it on disk.
fn on_disk(o: &FileConsumerStore) -> Option<ConsumerState> {
    o.file.read_state().unwrap().map(|(state, _)| state)
}

#[test]
fn changes_are_written_by_the_flusher_at_most_once_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let o = open_in(dir.path(), &Arc::default());
    let start = Instant::now();
    for seq in 1..=3000u64 {
        o.update_delivered(seq, seq, 1, ts(seq)).unwrap();
        if seq % 2 == 0 {
            o.update_acks(seq, seq).unwrap();
        }
    }
    assert!(o.wait_flushed(PATIENCE), "flusher never caught up");
    let elapsed = start.elapsed();
    // The first write may come at once, each later one an interval after the previous.
    let bound = (elapsed.as_nanos() / STATE_FLUSH_INTERVAL.as_nanos()) as u64 + 1;
    let writes = o.writes();
    assert!(
        (1..=bound).contains(&writes),
        "{writes} writes in {elapsed:?} (at most {bound})"
    );
    // What the flusher wrote last is the whole state.
    assert_eq!(on_disk(&o).unwrap(), o.state().unwrap());
    assert_eq!(o.state().unwrap().pending.len(), 1500);
}

#[test]
fn reads_are_exact_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let o = open_in(dir.path(), &Arc::default());
    o.update_delivered(1, 10, 1, ts(1)).unwrap();
    o.update_delivered(2, 11, 1, ts(2)).unwrap();
    o.update_acks(1, 10).unwrap();
    let state = o.state().unwrap();
    assert_eq!(state.delivered.stream, 11);
    assert_eq!(state.ack_floor.stream, 10);
    assert_eq!(state.pending.len(), 1);
}

#[test]
fn flush_now_writes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let o = open_in(dir.path(), &Arc::default());
    o.update_delivered(1, 1, 1, ts(1)).unwrap();
    o.flush_now().unwrap();
    assert_eq!(on_disk(&o).unwrap(), o.state().unwrap());
    assert!(o.wait_flushed(PATIENCE));
    let writes = o.writes();
    o.flush_now().unwrap();
    assert_eq!(o.writes(), writes, "nothing changed: nothing written");
}

#[test]
fn stop_writes_the_last_state_and_a_reopen_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let open = Arc::new(OpenConsumers::default());
    let o = open_in(dir.path(), &open);
    assert_eq!(open.count(), 1);
    for seq in 1..=100u64 {
        o.update_delivered(seq, seq, 1, ts(seq)).unwrap();
    }
    o.update_acks(1, 1).unwrap();
    let want = o.state().unwrap();
    o.stop().unwrap();
    assert_eq!(open.count(), 0);
    // Stopped: no more writes, changes refused as before.
    assert_eq!(o.update_acks(2, 2), Err(StoreError::Closed));
    drop(o);
    let o = open_in(dir.path(), &open);
    assert_eq!(o.state().unwrap(), want);
    assert_eq!(o.writes(), 0, "opening writes nothing");
}

#[test]
fn a_drop_without_stop_keeps_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let open = Arc::new(OpenConsumers::default());
    let o = open_in(dir.path(), &open);
    for seq in 1..=50u64 {
        o.update_delivered(seq, seq, 1, ts(seq)).unwrap();
    }
    let want = o.state().unwrap();
    drop(o);
    assert_eq!(open_in(dir.path(), &open).state().unwrap(), want);
}

#[test]
fn a_queued_flush_after_delete_recreates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = open_in(dir.path(), &Arc::default());
    let cdir = dir.path().join(CONSUMER_DIR).join("C");
    for seq in 1..=10u64 {
        o.update_delivered(seq, seq, 1, ts(seq)).unwrap();
    }
    // Dirty again right before the delete, then the flusher's visits run after it.
    o.file.schedule().dirty = true;
    o.delete().unwrap();
    let flusher = Flusher::get().unwrap();
    o.file.flush_due(flusher);
    o.file.flush_now(true).unwrap();
    assert!(!cdir.exists(), "a flush brought the directory back");
    assert_eq!(o.update_acks(1, 1), Err(StoreError::Closed));
    drop(o);
    assert!(!cdir.exists(), "the drop brought the directory back");
}

#[test]
fn deletes_racing_the_flusher_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20u64 {
        let open = Arc::new(OpenConsumers::default());
        let o = Arc::new(open_in(dir.path(), &open));
        let writer = {
            let o = o.clone();
            std::thread::spawn(move || {
                let mut seq = 1;
                while o.update_delivered(seq, seq, 1, ts(seq)).is_ok() {
                    seq += 1;
                }
            })
        };
        // Let the writer and the flusher get going (round-dependent, for variety).
        while o.writes() < 1 + round % 2 {
            std::thread::yield_now();
        }
        o.delete().unwrap();
        writer.join().unwrap();
        assert!(o.wait_flushed(PATIENCE));
        assert!(
            !dir.path().join(CONSUMER_DIR).join("C").exists(),
            "round {round}"
        );
        assert_eq!(open.count(), 0);
    }
}

#[test]
fn a_stream_stop_writes_unflushed_consumer_state() {
    use crate::file::{FileStore, FileStoreConfig};
    let dir = tempfile::tempdir().unwrap();
    let scfg = StreamConfig {
        name: "S".to_string(),
        storage: StorageType::File,
        ..StreamConfig::default()
    };
    let fs = FileStore::open(
        FileStoreConfig::new(dir.path()),
        scfg.clone(),
        system_clock(),
    )
    .unwrap();
    let o = fs.consumer_store("C", 0, &explicit()).unwrap();
    for seq in 1..=20u64 {
        o.update_delivered(seq, seq, 1, ts(seq)).unwrap();
        o.update_acks(seq, seq).unwrap();
    }
    let want = o.state().unwrap();
    assert_eq!(fs.state().consumers, 1);
    // Stopping the stream (not the consumer) puts the consumer's state on disk.
    fs.stop().unwrap();
    let fs = FileStore::open(FileStoreConfig::new(dir.path()), scfg, system_clock()).unwrap();
    let again = fs.consumer_store("C", 0, &explicit()).unwrap();
    assert_eq!(again.state().unwrap(), want);
    drop(o);
}

fn sealed(cipher: StoreCipher, key: &str, old_key: Option<&str>) -> BlockCodec {
    BlockCodec {
        cipher,
        compression: crate::file::BlockCompression::None,
        prf: Some(crate::file::js_key_gen(key, "$G")),
        old_prf: old_key.map(|k| crate::file::js_key_gen(k, "$G")),
    }
}

fn open_with(stream_dir: &Path, codec: BlockCodec) -> Result<FileConsumerStore, StoreError> {
    FileConsumerStore::open(
        stream_dir,
        "S",
        "C",
        0,
        &explicit(),
        codec,
        system_clock(),
        Arc::default(),
    )
}

/// A state whose encoding names known sequences, so the file can be searched for it.
fn some_state(o: &FileConsumerStore) -> ConsumerState {
    for seq in 1..=20u64 {
        o.update_delivered(seq, 1000 + seq, 1, ts(seq)).unwrap();
    }
    o.update_acks(1, 1001).unwrap();
    o.state().unwrap()
}

#[test]
fn an_encrypted_state_round_trips_and_its_file_is_not_the_encoding() {
    for cipher in [StoreCipher::ChaCha, StoreCipher::Aes] {
        let dir = tempfile::tempdir().unwrap();
        let o = open_with(dir.path(), sealed(cipher, "s3cr3t", None)).unwrap();
        let state = some_state(&o);
        let plain = o.encoded_state().unwrap();
        o.stop().unwrap();
        let raw = fs::read(dir.path().join("obs/C/o.dat")).unwrap();
        // No run of the plaintext encoding (Go's layout) is in the file, and the
        // state decoder refuses the file itself (as Go's decodeConsumerState does).
        assert!(!raw.windows(8).any(|w| plain.windows(8).any(|p| p == w)));
        assert!(decode_consumer_state(&raw).is_err(), "{cipher:?}");
        let o = open_with(dir.path(), sealed(cipher, "s3cr3t", None)).unwrap();
        assert_eq!(o.state().unwrap(), state, "{cipher:?}");
        o.stop().unwrap();
        // Another key cannot open it.
        assert!(open_with(dir.path(), sealed(cipher, "other", None)).is_err());
    }
}

#[test]
fn a_state_of_the_previous_key_or_in_the_clear_is_resealed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(dir.path(), BlockCodec::default()).unwrap();
    let state = some_state(&o);
    o.stop().unwrap();
    // In the clear, then under a key.
    let o = open_with(dir.path(), sealed(StoreCipher::Aes, "first", None)).unwrap();
    o.stop().unwrap();
    let raw = fs::read(dir.path().join("obs/C/o.dat")).unwrap();
    assert!(decode_consumer_state(&raw).is_err());
    // Key and cipher rotated: opened with the previous key, rewritten with the new one.
    let rotated = sealed(StoreCipher::ChaCha, "second", Some("first"));
    let o = open_with(dir.path(), rotated).unwrap();
    assert_eq!(o.state().unwrap(), state);
    o.stop().unwrap();
    let o = open_with(dir.path(), sealed(StoreCipher::ChaCha, "second", None)).unwrap();
    assert_eq!(o.state().unwrap(), state);
    o.stop().unwrap();
}
