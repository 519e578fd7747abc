//! A stream's or consumer's configuration on disk, as Go keeps it: `meta.inf` holds the
//! configuration JSON with its creation time, `meta.sum` the hex HighwayHash-64 of
//! `meta.inf`, keyed by the SHA-256 of the stream name (`stream/consumer` for a
//! consumer). A server restart reads them back to recreate the assets.
//!
//! With a server key (`jetstream { key }`), `meta.inf` is sealed with a key of its own,
//! kept sealed in `meta.key` beside it (Go's layout: see `natsd_store::file::meta_key`),
//! and `meta.sum` covers the sealed bytes, as in Go. The key context is the stream
//! name, or `<stream>.<consumer>`. A file sealed with the previous key (`prev_key`) or
//! the other cipher still reads; the next write seals it with a new key under the
//! current key and cipher.

use super::api::types::{ConsumerConfig, StreamConfig};
use crate::monitor::gotime::GoTime;
use highway::{HighwayHash, HighwayHasher, Key};
use natsd_store::file::meta_key::META_KEY_FILE;
use natsd_store::file::StoreKeys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::Path;

/// The configuration file's name in a stream or consumer directory.
pub const META_FILE: &str = "meta.inf";
/// Its checksum's file name.
pub const META_SUM_FILE: &str = "meta.sum";
/// Where a stream keeps its consumers.
pub const CONSUMER_DIR: &str = "obs";

/// Go's `FileStreamInfo`: the creation time (key `Created`) and the configuration's
/// fields beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamMeta {
    #[serde(rename = "Created", default)]
    pub created: GoTime,
    #[serde(flatten)]
    pub config: StreamConfig,
}

/// Go's `FileConsumerInfo`: creation time, name and configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerMeta {
    #[serde(rename = "Created", default)]
    pub created: GoTime,
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(flatten)]
    pub config: ConsumerConfig,
}

/// The hex checksum `meta.sum` holds for `meta` bytes; `key_name` is the stream name, or
/// `stream/consumer`.
pub fn checksum(key_name: &str, meta: &[u8]) -> String {
    let digest = Sha256::digest(key_name.as_bytes());
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_le_bytes(bytes);
    }
    let mut hasher = HighwayHasher::new(Key(words));
    hasher.append(meta);
    hasher
        .finalize64()
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `name` in `dir` through a temporary file and a rename, synced, so a crash
/// leaves the old file or the new one.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a configuration: in the clear without keys, else sealed (see the module
/// comment). `key_name` keys the checksum, `context` the encryption.
fn write_meta(
    dir: &Path,
    key_name: &str,
    context: &str,
    json: &[u8],
    keys: Option<&StoreKeys>,
) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let Some(keys) = keys else {
        write_atomic(dir, META_FILE, json)?;
        // A key file beside a configuration in the clear would make it unreadable.
        match std::fs::remove_file(dir.join(META_KEY_FILE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        return write_atomic(dir, META_SUM_FILE, checksum(key_name, json).as_bytes());
    };
    let current = std::fs::read(dir.join(META_KEY_FILE))
        .ok()
        .and_then(|key_file| keys.current_meta_key(context, &key_file));
    let sealed = match current {
        Some(key) => {
            let sealed = key.seal(json)?;
            write_atomic(dir, META_FILE, &sealed)?;
            sealed
        }
        None => {
            // A new key (first write, or the files were sealed with the previous key or
            // the other cipher). Both files are written aside first; a crash between the
            // two renames leaves `meta.inf.tmp` that the new key opens, which a read
            // takes (see `finish_key_change`).
            let (key, key_file) = keys.new_meta_key(context)?;
            let sealed = key.seal(json)?;
            write_aside(dir, META_FILE, &sealed)?;
            write_atomic(dir, META_KEY_FILE, &key_file)?;
            std::fs::rename(tmp_path(dir, META_FILE), dir.join(META_FILE))?;
            std::fs::File::open(dir)?.sync_all()?;
            sealed
        }
    };
    write_atomic(dir, META_SUM_FILE, checksum(key_name, &sealed).as_bytes())
}

fn tmp_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!("{name}.tmp"))
}

/// Writes `name.tmp` in `dir`, synced.
fn write_aside(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut f = std::fs::File::create(tmp_path(dir, name))?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes a stream's `meta.inf` and `meta.sum` (and `meta.key` with `keys`) into its
/// directory.
pub fn write_stream_meta(
    dir: &Path,
    meta: &StreamMeta,
    keys: Option<&StoreKeys>,
) -> io::Result<()> {
    let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
    let name = &meta.config.name;
    write_meta(dir, name, name, &json, keys)
}

/// Writes a consumer's `meta.inf` and `meta.sum` (and `meta.key` with `keys`) into its
/// directory.
pub fn write_consumer_meta(
    dir: &Path,
    stream: &str,
    meta: &ConsumerMeta,
    keys: Option<&StoreKeys>,
) -> io::Result<()> {
    let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
    let key_name = format!("{stream}/{}", meta.name);
    let context = format!("{stream}.{}", meta.name);
    write_meta(dir, &key_name, &context, &json, keys)
}

/// Why a stored configuration could not be used.
#[derive(Debug)]
pub enum MetaError {
    Io(io::Error),
    /// `meta.sum` does not match `meta.inf`.
    Checksum,
    Json(serde_json::Error),
    /// `meta.key` is there but the configuration does not decrypt (Go's "Error
    /// decrypting our stream metafile"): no key configured, a wrong key, a bad key file.
    Decrypt(String),
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Io(e) => write!(f, "{e}"),
            MetaError::Checksum => f.write_str("checksum mismatch"),
            MetaError::Json(e) => write!(f, "{e}"),
            MetaError::Decrypt(e) => f.write_str(e),
        }
    }
}

/// How a configuration read was kept on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    /// In the clear.
    Clear,
    /// Under the current key and cipher.
    Current,
    /// Under the previous key or the other cipher: to be written again.
    Stale,
}

/// A configuration file's plaintext and how it was kept. A sealed file's checksum is
/// checked here, over the sealed bytes and keyed by `sum_key` (Go checks it before
/// decrypting); one in the clear is left to the caller, who knows the name inside.
fn read_meta(
    dir: &Path,
    context: &str,
    sum_key: &str,
    keys: Option<&StoreKeys>,
) -> Result<(Vec<u8>, Sealing), MetaError> {
    let raw = std::fs::read(dir.join(META_FILE)).map_err(MetaError::Io)?;
    let key_file = match std::fs::read(dir.join(META_KEY_FILE)) {
        Ok(k) => k,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((raw, Sealing::Clear)),
        Err(e) => return Err(MetaError::Io(e)),
    };
    let keys = keys.ok_or_else(|| MetaError::Decrypt("encryption not enabled".into()))?;
    let (plain, stale) = match keys.open_meta(context, &key_file, &raw) {
        Ok(opened) => {
            check_sum(dir, sum_key, &raw)?;
            opened
        }
        Err(e) => finish_key_change(dir, context, sum_key, keys, &key_file)
            .ok_or_else(|| MetaError::Decrypt(e.to_string()))?,
    };
    let sealing = if stale {
        Sealing::Stale
    } else {
        Sealing::Current
    };
    Ok((plain, sealing))
}

/// A crash cut a key change short when the new key file is in place and `meta.inf` is
/// still sealed with the old key: the new configuration waits in `meta.inf.tmp` (sealed,
/// so authentic when it opens). It is put in place, with its checksum, and used.
fn finish_key_change(
    dir: &Path,
    context: &str,
    sum_key: &str,
    keys: &StoreKeys,
    key_file: &[u8],
) -> Option<(Vec<u8>, bool)> {
    let pending = std::fs::read(tmp_path(dir, META_FILE)).ok()?;
    let opened = keys.open_meta(context, key_file, &pending).ok()?;
    std::fs::rename(tmp_path(dir, META_FILE), dir.join(META_FILE)).ok()?;
    write_atomic(dir, META_SUM_FILE, checksum(sum_key, &pending).as_bytes()).ok()?;
    Some(opened)
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a stream directory's configuration. In the clear the checksum is checked
/// against the name inside the file; sealed, against the directory's name (as Go does:
/// the name is only known once decrypted, and the directory's name is the context).
pub fn read_stream_meta(
    dir: &Path,
    keys: Option<&StoreKeys>,
) -> Result<(StreamMeta, Sealing), MetaError> {
    let name = dir_name(dir);
    let (json, sealing) = read_meta(dir, &name, &name, keys)?;
    let meta: StreamMeta = serde_json::from_slice(&json).map_err(MetaError::Json)?;
    if sealing == Sealing::Clear {
        check_sum(dir, &meta.config.name, &json)?;
    }
    Ok((meta, sealing))
}

/// Reads a consumer directory's configuration.
pub fn read_consumer_meta(
    dir: &Path,
    stream: &str,
    keys: Option<&StoreKeys>,
) -> Result<ConsumerMeta, MetaError> {
    let name = dir_name(dir);
    let context = format!("{stream}.{name}");
    let (json, sealing) = read_meta(dir, &context, &format!("{stream}/{name}"), keys)?;
    let meta: ConsumerMeta = serde_json::from_slice(&json).map_err(MetaError::Json)?;
    if sealing == Sealing::Clear {
        check_sum(dir, &format!("{stream}/{}", meta.name), &json)?;
    }
    Ok(meta)
}

fn check_sum(dir: &Path, key_name: &str, bytes: &[u8]) -> Result<(), MetaError> {
    let sum = std::fs::read(dir.join(META_SUM_FILE)).map_err(MetaError::Io)?;
    if sum.trim_ascii() != checksum(key_name, bytes).as_bytes() {
        return Err(MetaError::Checksum);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use natsd_store::file::{js_key_gen, StoreCipher};

    #[test]
    fn stream_meta_round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let meta = StreamMeta {
            created: GoTime::from_unix_nanos(1_700_000_000_000_000_001),
            config: StreamConfig {
                name: "S".into(),
                subjects: vec!["a.>".into()],
                ..Default::default()
            },
        };
        write_stream_meta(dir.path(), &meta, None).unwrap();
        let json = std::fs::read_to_string(dir.path().join(META_FILE)).unwrap();
        assert!(json.starts_with(r#"{"Created":"2023-11-14T22:13:20.000000001Z","name":"S","#));
        assert_eq!(
            read_stream_meta(dir.path(), None).unwrap(),
            (meta, Sealing::Clear)
        );
        assert!(!dir.path().join(META_KEY_FILE).exists());
        std::fs::write(dir.path().join(META_FILE), json.replace("a.>", "b.>")).unwrap();
        assert!(matches!(
            read_stream_meta(dir.path(), None),
            Err(MetaError::Checksum)
        ));
    }

    fn keys(cipher: StoreCipher, key: &str, old: Option<&str>) -> StoreKeys {
        StoreKeys {
            cipher,
            prf: js_key_gen(key, "$G"),
            old_prf: old.map(|k| js_key_gen(k, "$G")),
        }
    }

    fn stream_meta(name: &str) -> StreamMeta {
        StreamMeta {
            created: GoTime::from_unix_nanos(1_700_000_000_000_000_001),
            config: StreamConfig {
                name: name.into(),
                subjects: vec!["foo".into(), "bar".into()],
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_sealed_stream_meta_hides_the_config_and_reads_back() {
        for cipher in [StoreCipher::ChaCha, StoreCipher::Aes] {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("TEST");
            let k = keys(cipher, "s3cr3t", None);
            let meta = stream_meta("TEST");
            write_stream_meta(&dir, &meta, Some(&k)).unwrap();
            let raw = std::fs::read(dir.join(META_FILE)).unwrap();
            for text in ["TEST", "foo", "bar", "max_msgs", "max_bytes"] {
                assert!(!raw.windows(text.len()).any(|w| w == text.as_bytes()));
            }
            assert!(dir.join(META_KEY_FILE).exists());
            // Go's meta.sum covers the sealed bytes, keyed by the stream name.
            let sum = std::fs::read_to_string(dir.join(META_SUM_FILE)).unwrap();
            assert_eq!(sum, checksum("TEST", &raw));
            assert_eq!(
                read_stream_meta(&dir, Some(&k)).unwrap(),
                (meta.clone(), Sealing::Current)
            );
            // Rewriting keeps the key (only meta.inf changes).
            let key_file = std::fs::read(dir.join(META_KEY_FILE)).unwrap();
            write_stream_meta(&dir, &meta, Some(&k)).unwrap();
            assert_eq!(std::fs::read(dir.join(META_KEY_FILE)).unwrap(), key_file);
            // No key, or a wrong one: refused with Go's reasons.
            let err = read_stream_meta(&dir, None).unwrap_err();
            assert_eq!(err.to_string(), "encryption not enabled");
            let err = read_stream_meta(&dir, Some(&keys(cipher, "nope", None))).unwrap_err();
            assert_eq!(err.to_string(), "unable to recover keys");
            // A damaged file fails its checksum before anything is decrypted.
            let mut bad = raw.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            std::fs::write(dir.join(META_FILE), &bad).unwrap();
            assert!(read_stream_meta(&dir, Some(&k)).is_err());
        }
    }

    #[test]
    fn a_meta_of_the_previous_key_is_stale_and_resealed_by_the_next_write() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("S");
        let meta = stream_meta("S");
        write_stream_meta(&dir, &meta, Some(&keys(StoreCipher::Aes, "one", None))).unwrap();
        let rotated = keys(StoreCipher::ChaCha, "two", Some("one"));
        assert_eq!(
            read_stream_meta(&dir, Some(&rotated)).unwrap(),
            (meta.clone(), Sealing::Stale)
        );
        write_stream_meta(&dir, &meta, Some(&rotated)).unwrap();
        let new_only = keys(StoreCipher::ChaCha, "two", None);
        assert_eq!(
            read_stream_meta(&dir, Some(&new_only)).unwrap(),
            (meta, Sealing::Current)
        );
        assert!(read_stream_meta(&dir, Some(&keys(StoreCipher::Aes, "one", None))).is_err());
    }

    #[test]
    fn a_key_change_cut_short_by_a_crash_is_finished_by_the_read() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("S");
        let meta = stream_meta("S");
        let old = keys(StoreCipher::Aes, "one", None);
        write_stream_meta(&dir, &meta, Some(&old)).unwrap();
        // The crash: the new key file and the new config aside, the old config in place.
        let new = keys(StoreCipher::ChaCha, "two", None);
        let (key, key_file) = new.new_meta_key("S").unwrap();
        let json = serde_json::to_vec(&meta).unwrap();
        std::fs::write(dir.join("meta.inf.tmp"), key.seal(&json).unwrap()).unwrap();
        std::fs::write(dir.join(META_KEY_FILE), key_file).unwrap();
        assert_eq!(
            read_stream_meta(&dir, Some(&new)).unwrap(),
            (meta.clone(), Sealing::Current)
        );
        assert!(!dir.join("meta.inf.tmp").exists());
        assert_eq!(
            read_stream_meta(&dir, Some(&new)).unwrap(),
            (meta, Sealing::Current)
        );
    }

    #[test]
    fn a_sealed_consumer_meta_uses_go_context_and_reads_back() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("obs").join("dlc");
        let k = keys(StoreCipher::ChaCha, "s3cr3t", None);
        let meta = ConsumerMeta {
            created: GoTime::from_unix_nanos(1_700_000_000_000_000_000),
            name: "dlc".into(),
            config: ConsumerConfig {
                durable: "dlc".into(),
                filter_subject: "foo".into(),
                ..Default::default()
            },
        };
        write_consumer_meta(&dir, "TEST", &meta, Some(&k)).unwrap();
        let raw = std::fs::read(dir.join(META_FILE)).unwrap();
        for text in ["TEST", "dlc", "foo", "ack_policy"] {
            assert!(!raw.windows(text.len()).any(|w| w == text.as_bytes()));
        }
        // Go's context for a consumer's key: "<stream>.<consumer>".
        let key_file = std::fs::read(dir.join(META_KEY_FILE)).unwrap();
        assert!(k.open_meta("TEST.dlc", &key_file, &raw).is_ok());
        assert_eq!(read_consumer_meta(&dir, "TEST", Some(&k)).unwrap(), meta);
        // Written in the clear again (no key): the key file goes.
        write_consumer_meta(&dir, "TEST", &meta, None).unwrap();
        assert!(!dir.join(META_KEY_FILE).exists());
        assert_eq!(read_consumer_meta(&dir, "TEST", None).unwrap(), meta);
    }

    #[test]
    fn checksum_is_highwayhash_keyed_by_the_name() {
        // Same input, other key: other sum; 16 hex digits.
        let a = checksum("S", b"{}");
        assert_eq!(a.len(), 16);
        assert_ne!(a, checksum("T", b"{}"));
    }
}
