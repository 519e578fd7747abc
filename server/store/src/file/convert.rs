//! Sealing the blocks of a store with its current key and cipher when it opens: blocks
//! written in the clear before the store had a cipher (Go's `convertToEncrypted`;
//! without it they would stay readable on disk, and the last one would go on taking new
//! messages in the clear), and blocks sealed with the previous server key or another
//! cipher (Go's `convertCipher`, for `prev_key` and a changed `cipher`).

use std::io;

use super::codec::StoreCipher;
use super::core::Core;

impl Core {
    /// Rewrites every block without a key, or with a stale one, with this store's key and
    /// cipher, atomically (aside, synced, renamed over the old file). Records keep their
    /// offsets: the index stays valid.
    pub fn seal_blocks_with_current_key(&mut self) -> io::Result<()> {
        if self.codec.cipher == StoreCipher::None {
            return Ok(());
        }
        for blk in &mut self.blocks {
            if blk.key.as_ref().is_some_and(|key| !key.is_stale()) {
                continue;
            }
            // The block was opened with the store's codec: rewriting it encrypts it.
            let plain = blk.read_plain()?;
            let records = plain.get(..blk.size as usize).unwrap_or(&plain[..]);
            let compressed = blk.compressed;
            blk.replace_file(&self.msgs_dir, records, compressed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::file::{js_key_gen, FileStore, FileStoreConfig, StoreCipher};
    use crate::store::{ManualClock, StorageType, Store, StreamConfig};

    fn open(dir: &std::path::Path, cipher: StoreCipher) -> FileStore {
        let fcfg = FileStoreConfig {
            cipher,
            prf: Some(js_key_gen("key", "")),
            ..FileStoreConfig::new(dir)
        };
        let cfg = StreamConfig {
            name: "S".to_string(),
            storage: StorageType::File,
            ..StreamConfig::default()
        };
        FileStore::open(fcfg, cfg, ManualClock::starting_now()).unwrap()
    }

    fn open_keys(
        dir: &std::path::Path,
        cipher: StoreCipher,
        key: &str,
        old: Option<&str>,
    ) -> Result<FileStore, crate::store::StoreError> {
        let fcfg = FileStoreConfig {
            cipher,
            prf: Some(js_key_gen(key, "$G")),
            old_prf: old.map(|k| js_key_gen(k, "$G")),
            block_size: 4096,
            ..FileStoreConfig::new(dir)
        };
        let cfg = StreamConfig {
            name: "S".to_string(),
            storage: StorageType::File,
            allow_msg_schedules: true,
            ..StreamConfig::default()
        };
        FileStore::open(fcfg, cfg, ManualClock::starting_now())
    }

    #[test]
    fn a_store_of_the_previous_key_is_resealed_with_the_new_key_and_cipher() {
        let dir = tempfile::tempdir().unwrap();
        {
            let fs = open_keys(dir.path(), StoreCipher::Aes, "first", None).unwrap();
            for i in 0..200 {
                fs.store_msg("foo", b"", format!("secret-{i:04}").as_bytes(), 0)
                    .unwrap();
            }
            // A schedule: its subject goes into sched.db at stop.
            let hdr = b"NATS/1.0\r\nNats-Schedule: @every 1h\r\nNats-Schedule-Target: sched.target.subject\r\n\r\n";
            fs.store_msg("sched.subject.name", hdr, b"", 0).unwrap();
            assert!(fs.block_indexes().len() > 1);
            fs.stop().unwrap();
        }
        let sched = dir
            .path()
            .join("msgs")
            .join(crate::file::schedule::SCHEDULE_FILE);
        assert!(sched.exists());
        for text in [&b"secret-0001"[..], b"sched.subject.name", b"foo"] {
            assert!(!clear_on_disk(dir.path(), text));
        }
        // A wrong key is refused, not read as garbage.
        assert!(open_keys(dir.path(), StoreCipher::Aes, "wrong", None).is_err());
        {
            let fs = open_keys(dir.path(), StoreCipher::ChaCha, "second", Some("first")).unwrap();
            assert!(fs.recovery_report().is_clean());
            assert_eq!(fs.load_msg(2).unwrap().msg.as_ref(), b"secret-0001");
            fs.stop().unwrap();
        }
        assert!(!clear_on_disk(dir.path(), b"secret-0001"));
        // Only the new key opens it now, with everything in it.
        assert!(open_keys(dir.path(), StoreCipher::ChaCha, "first", None).is_err());
        let fs = open_keys(dir.path(), StoreCipher::ChaCha, "second", None).unwrap();
        assert!(fs.recovery_report().is_clean());
        assert_eq!(fs.state().msgs, 201);
        assert_eq!(fs.load_msg(200).unwrap().msg.as_ref(), b"secret-0199");
        assert_eq!(&*fs.load_msg(201).unwrap().subject, "sched.subject.name");
    }

    fn clear_on_disk(dir: &std::path::Path, text: &[u8]) -> bool {
        std::fs::read_dir(dir.join("msgs")).unwrap().any(|e| {
            // Every file of the blocks directory: blocks, index.db, sched.db.
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            raw.windows(text.len()).any(|w| w == text)
        })
    }

    #[test]
    fn blocks_written_in_the_clear_are_encrypted_when_a_cipher_is_set() {
        let dir = tempfile::tempdir().unwrap();
        {
            let fs = open(dir.path(), StoreCipher::None);
            fs.store_msg("foo", b"", b"written-in-the-clear", 0)
                .unwrap();
            fs.stop().unwrap();
        }
        assert!(clear_on_disk(dir.path(), b"written-in-the-clear"));
        {
            let fs = open(dir.path(), StoreCipher::ChaCha);
            assert!(!clear_on_disk(dir.path(), b"written-in-the-clear"));
            fs.store_msg("foo", b"", b"written-after", 0).unwrap();
            assert!(!clear_on_disk(dir.path(), b"written-after"));
            fs.stop().unwrap();
        }
        let fs = open(dir.path(), StoreCipher::ChaCha);
        assert!(fs.recovery_report().is_clean());
        assert_eq!(
            fs.load_msg(1).unwrap().msg.as_ref(),
            b"written-in-the-clear"
        );
        assert_eq!(fs.load_msg(2).unwrap().msg.as_ref(), b"written-after");
    }
}
