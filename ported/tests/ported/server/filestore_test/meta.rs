//! The port of `TestFileStoreMeta`: a file stream's and a consumer's configuration kept
//! beside their data (`meta.inf`, with its HighwayHash-64 in `meta.sum`).
//!
//! In Go the file store writes these itself; in natsd the JetStream layer does, in the
//! function every stream and consumer store is opened with
//! (`natsd::jetstream::stream::open_store`, `open_consumer_store`). The checksum is
//! computed here independently of natsd's code: HighwayHash-64 keyed with the SHA-256 of
//! the stream name (of `stream/consumer` for a consumer), as hex, as Go computes it.

use super::*;
use highway::{HighwayHash, HighwayHasher, Key};
use natsd::jetstream::api::types::{
    AckPolicy as ApiAckPolicy, ConsumerConfig as ApiConsumerConfig,
};
use natsd::jetstream::api::types::{StorageType as ApiStorage, StreamConfig as ApiStreamConfig};
use natsd::jetstream::meta::{CONSUMER_DIR, META_FILE, META_SUM_FILE};
use natsd::jetstream::stream::{open_consumer_store, open_store, StoreSetup};
use natsd::monitor::gotime::GoTime;
use sha2::{Digest, Sha256};

fn go_meta_checksum(key_name: &str, meta: &[u8]) -> String {
    let digest = Sha256::digest(key_name.as_bytes());
    let mut words = [0u64; 4];
    for (w, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        *w = u64::from_le_bytes(chunk.try_into().unwrap());
    }
    let mut h = HighwayHasher::new(Key(words));
    h.append(meta);
    h.finalize64()
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

port!("server/filestore_test.go::TestFileStoreMeta" => file_store_meta);
fn file_store_meta() {
    let dir = tempfile::tempdir().unwrap();
    let mconfig = ApiStreamConfig {
        name: "ZZ-22-33".into(),
        storage: ApiStorage::File,
        subjects: vec!["foo.*".into()],
        replicas: 22,
        ..Default::default()
    };
    let setup = StoreSetup {
        dir: dir.path().to_path_buf(),
        sync_interval: None,
        keys: None,
    };
    let store = open_store(&mconfig, GoTime::now(), &setup).unwrap();

    let metafile = dir.path().join(META_FILE);
    let metasum = dir.path().join(META_SUM_FILE);
    assert!(metafile.exists(), "Expected metafile {metafile:?} to exist");
    assert!(
        metasum.exists(),
        "Expected metafile's checksum {metasum:?} to exist"
    );
    let buf = std::fs::read(&metafile).unwrap();
    let mconfig2: ApiStreamConfig = serde_json::from_slice(&buf).unwrap();
    assert_eq!(mconfig2, mconfig, "Stream configs not equal");
    let checksum = std::fs::read_to_string(&metasum).unwrap();
    assert_eq!(
        go_meta_checksum(&mconfig.name, &buf),
        checksum,
        "Checksums do not match"
    );

    // Now a consumer: the same for it.
    let oconfig = ApiConsumerConfig {
        deliver_subject: "d".into(),
        filter_subject: "foo".into(),
        ack_policy: ApiAckPolicy::All,
        ..Default::default()
    };
    let oname = "obs22";
    let _obs = open_consumer_store(
        &store,
        Some(dir.path()),
        &mconfig.name,
        oname,
        GoTime::ZERO,
        &oconfig,
    )
    .unwrap();
    let odir = dir.path().join(CONSUMER_DIR).join(oname);
    let ometafile = odir.join(META_FILE);
    let ometasum = odir.join(META_SUM_FILE);
    assert!(
        ometafile.exists(),
        "Expected consumer metafile {ometafile:?} to exist"
    );
    assert!(
        ometasum.exists(),
        "Expected consumer metafile's checksum {ometasum:?} to exist"
    );
    let buf = std::fs::read(&ometafile).unwrap();
    let oconfig2: ApiConsumerConfig = serde_json::from_slice(&buf).unwrap();
    // Since the name was set, it comes back.
    let mut expected = oconfig.clone();
    expected.name = oname.to_string();
    assert_eq!(oconfig2, expected, "Consumer configs not equal");
    let checksum = std::fs::read_to_string(&ometasum).unwrap();
    assert_eq!(
        go_meta_checksum(&format!("{}/{oname}", mconfig.name), &buf),
        checksum,
        "Checksums do not match"
    );
    store.store().stop().unwrap();
}
