//! Encrypting the blocks of a store opened with a cipher for the first time (Go's
//! `convertToEncrypted`). Without it, blocks written before would stay readable on disk,
//! and the last one would go on taking new messages in the clear.

use std::io;

use super::codec::StoreCipher;
use super::core::Core;

impl Core {
    /// Rewrites every block without a key with this store's cipher, atomically (aside,
    /// synced, renamed over the old file). Records keep their offsets: the index stays
    /// valid.
    pub fn encrypt_unencrypted_blocks(&mut self) -> io::Result<()> {
        if self.codec.cipher == StoreCipher::None {
            return Ok(());
        }
        for blk in &mut self.blocks {
            if blk.key.is_some() {
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

    fn clear_on_disk(dir: &std::path::Path, text: &[u8]) -> bool {
        std::fs::read_dir(dir.join("msgs")).unwrap().any(|e| {
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
