//! A stream's or consumer's configuration on disk, as Go keeps it: `meta.inf` holds the
//! configuration JSON with its creation time, `meta.sum` the hex HighwayHash-64 of
//! `meta.inf`, keyed by the SHA-256 of the stream name (`stream/consumer` for a
//! consumer). A server restart reads them back to recreate the assets.

use super::api::types::{ConsumerConfig, StreamConfig};
use crate::monitor::gotime::GoTime;
use highway::{HighwayHash, HighwayHasher, Key};
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

fn write_meta(dir: &Path, key_name: &str, json: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(dir, META_FILE, json)?;
    write_atomic(dir, META_SUM_FILE, checksum(key_name, json).as_bytes())
}

/// Writes a stream's `meta.inf` and `meta.sum` into its directory.
pub fn write_stream_meta(dir: &Path, meta: &StreamMeta) -> io::Result<()> {
    let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
    write_meta(dir, &meta.config.name, &json)
}

/// Writes a consumer's `meta.inf` and `meta.sum` into its directory.
pub fn write_consumer_meta(dir: &Path, stream: &str, meta: &ConsumerMeta) -> io::Result<()> {
    let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
    write_meta(dir, &format!("{stream}/{}", meta.name), &json)
}

/// Why a stored configuration could not be used.
#[derive(Debug)]
pub enum MetaError {
    Io(io::Error),
    /// `meta.sum` does not match `meta.inf`.
    Checksum,
    Json(serde_json::Error),
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Io(e) => write!(f, "{e}"),
            MetaError::Checksum => f.write_str("checksum mismatch"),
            MetaError::Json(e) => write!(f, "{e}"),
        }
    }
}

/// Reads a stream directory's configuration; the checksum is checked against the name
/// inside the file.
pub fn read_stream_meta(dir: &Path) -> Result<StreamMeta, MetaError> {
    let json = std::fs::read(dir.join(META_FILE)).map_err(MetaError::Io)?;
    let meta: StreamMeta = serde_json::from_slice(&json).map_err(MetaError::Json)?;
    check_sum(dir, &meta.config.name, &json)?;
    Ok(meta)
}

/// Reads a consumer directory's configuration.
pub fn read_consumer_meta(dir: &Path, stream: &str) -> Result<ConsumerMeta, MetaError> {
    let json = std::fs::read(dir.join(META_FILE)).map_err(MetaError::Io)?;
    let meta: ConsumerMeta = serde_json::from_slice(&json).map_err(MetaError::Json)?;
    check_sum(dir, &format!("{stream}/{}", meta.name), &json)?;
    Ok(meta)
}

fn check_sum(dir: &Path, key_name: &str, json: &[u8]) -> Result<(), MetaError> {
    let sum = std::fs::read(dir.join(META_SUM_FILE)).map_err(MetaError::Io)?;
    if sum.trim_ascii() != checksum(key_name, json).as_bytes() {
        return Err(MetaError::Checksum);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
        write_stream_meta(dir.path(), &meta).unwrap();
        let json = std::fs::read_to_string(dir.path().join(META_FILE)).unwrap();
        assert!(json.starts_with(r#"{"Created":"2023-11-14T22:13:20.000000001Z","name":"S","#));
        assert_eq!(read_stream_meta(dir.path()).unwrap(), meta);
        std::fs::write(dir.path().join(META_FILE), json.replace("a.>", "b.>")).unwrap();
        assert!(matches!(
            read_stream_meta(dir.path()),
            Err(MetaError::Checksum)
        ));
    }

    #[test]
    fn checksum_is_highwayhash_keyed_by_the_name() {
        // Same input, other key: other sum; 16 hex digits.
        let a = checksum("S", b"{}");
        assert_eq!(a.len(), 16);
        assert_ne!(a, checksum("T", b"{}"));
    }
}
