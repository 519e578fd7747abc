//! Encrypted configuration files as nats-server writes them: with a server key, a
//! stream's (or consumer's) `meta.inf` is sealed with a key of its own, kept beside it
//! in `meta.key`.
//!
//! ```text
//! meta.key   nonce  AEAD(kek, nonce, seed)      kek = prf(context), seed random 32 bytes
//! meta.inf   nonce  AEAD(seed, nonce, json)
//! ```
//!
//! The AEAD is the store cipher's (XChaCha20-Poly1305, or AES-256-GCM with a 16-byte
//! nonce), `prf` the server key's generator for the account ([`js_key_gen`] with the
//! account name), and the context the stream name, or `<stream>.<consumer>` for a
//! consumer — Go's layout, byte for byte. The file does not say which cipher or key
//! sealed it, so opening tries, as Go does, the current key with the current cipher,
//! then with the other cipher, then the previous key with both; anything but the first
//! means the files are to be written again with the current key and cipher.
//!
//! [`js_key_gen`]: super::codec::js_key_gen

use std::io;

use super::codec::{aead_open, aead_seal, fill_random, KeyGen, StoreCipher};

/// The key file beside an encrypted `meta.inf` (Go's `JetStreamMetaFileKey`).
pub const META_KEY_FILE: &str = "meta.key";
/// Go's `minMetaKeySize`: a shorter key file cannot hold a nonce and a sealed seed.
pub const MIN_META_KEY_SIZE: usize = 64;
const SEED_LEN: usize = 32;

/// The server's encryption at rest for one account: the cipher new files are sealed
/// with, the key generator, and the previous key's generator while rotating.
#[derive(Clone)]
pub struct StoreKeys {
    pub cipher: StoreCipher,
    pub prf: KeyGen,
    pub old_prf: Option<KeyGen>,
}

impl std::fmt::Debug for StoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKeys")
            .field("cipher", &self.cipher)
            .field("rotating", &self.old_prf.is_some())
            .finish_non_exhaustive()
    }
}

/// The key a `meta.inf` is sealed with (Go's `aek`).
pub struct MetaKey {
    cipher: StoreCipher,
    seed: [u8; SEED_LEN],
}

impl std::fmt::Debug for MetaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetaKey(..)")
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn other_cipher(cipher: StoreCipher) -> StoreCipher {
    match cipher {
        StoreCipher::ChaCha => StoreCipher::Aes,
        StoreCipher::Aes => StoreCipher::ChaCha,
        StoreCipher::None => StoreCipher::None,
    }
}

impl MetaKey {
    /// `nonce || AEAD(plain)`, a fresh nonce each time.
    pub fn seal(&self, plain: &[u8]) -> io::Result<Vec<u8>> {
        let mut nonce = vec![0u8; self.cipher.nonce_len()];
        fill_random(&mut nonce)?;
        let sealed = aead_seal(self.cipher, &self.seed, &nonce, plain)?;
        nonce.extend_from_slice(&sealed);
        Ok(nonce)
    }

    /// Opens what [`MetaKey::seal`] wrote.
    pub fn open(&self, buf: &[u8]) -> io::Result<Vec<u8>> {
        let ns = self.cipher.nonce_len();
        if buf.len() < ns {
            return Err(invalid("encrypted metafile too short"));
        }
        aead_open(self.cipher, &self.seed, &buf[..ns], &buf[ns..])
    }
}

impl StoreKeys {
    /// A new random key for `context` and the key file that holds it sealed (Go's
    /// `genEncryptionKeys`).
    pub fn new_meta_key(&self, context: &str) -> io::Result<(MetaKey, Vec<u8>)> {
        if self.cipher == StoreCipher::None {
            return Err(invalid("no cipher"));
        }
        let mut seed = [0u8; SEED_LEN];
        fill_random(&mut seed)?;
        let mut key_file = vec![0u8; self.cipher.nonce_len()];
        fill_random(&mut key_file)?;
        let kek = (self.prf)(context.as_bytes());
        let sealed = aead_seal(self.cipher, &kek, &key_file, &seed)?;
        key_file.extend_from_slice(&sealed);
        Ok((
            MetaKey {
                cipher: self.cipher,
                seed,
            },
            key_file,
        ))
    }

    /// The key in `key_file` when the current key and cipher sealed it (so files can
    /// keep it); `None` otherwise.
    pub fn current_meta_key(&self, context: &str, key_file: &[u8]) -> Option<MetaKey> {
        open_key_file(self.cipher, &self.prf, context, key_file)
    }

    /// Decrypts a `meta.inf` with the key in `key_file` (Go's `decryptMeta`): the
    /// configuration, and whether it was sealed with the previous key or the other
    /// cipher (its files are then to be written again).
    pub fn open_meta(
        &self,
        context: &str,
        key_file: &[u8],
        sealed: &[u8],
    ) -> io::Result<(Vec<u8>, bool)> {
        if key_file.len() < MIN_META_KEY_SIZE {
            return Err(invalid("encryption bad key size"));
        }
        let cipher = self.cipher;
        let mut tries = vec![(&self.prf, cipher), (&self.prf, other_cipher(cipher))];
        if let Some(old) = &self.old_prf {
            tries.push((old, cipher));
            tries.push((old, other_cipher(cipher)));
        }
        for (i, (prf, cipher)) in tries.into_iter().enumerate() {
            let Some(key) = open_key_file(cipher, prf, context, key_file) else {
                continue;
            };
            if let Ok(plain) = key.open(sealed) {
                return Ok((plain, i > 0));
            }
        }
        Err(invalid("unable to recover keys"))
    }
}

fn open_key_file(
    cipher: StoreCipher,
    prf: &KeyGen,
    context: &str,
    key_file: &[u8],
) -> Option<MetaKey> {
    let ns = cipher.nonce_len();
    if ns == 0 || key_file.len() < ns {
        return None;
    }
    let kek = prf(context.as_bytes());
    let seed = aead_open(cipher, &kek, &key_file[..ns], &key_file[ns..]).ok()?;
    Some(MetaKey {
        cipher,
        seed: seed.try_into().ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::file::js_key_gen;

    fn keys(cipher: StoreCipher, key: &str, old: Option<&str>) -> StoreKeys {
        StoreKeys {
            cipher,
            prf: js_key_gen(key, "$G"),
            old_prf: old.map(|k| js_key_gen(k, "$G")),
        }
    }

    #[test]
    fn meta_round_trips_with_go_sizes() {
        for (cipher, ns) in [(StoreCipher::ChaCha, 24), (StoreCipher::Aes, 16)] {
            let k = keys(cipher, "s3cr3t", None);
            let (key, key_file) = k.new_meta_key("TEST").unwrap();
            // nonce + 32-byte seed + 16-byte tag, as Go writes meta.key.
            assert_eq!(key_file.len(), ns + 32 + 16);
            assert!(key_file.len() >= MIN_META_KEY_SIZE);
            let sealed = key.seal(br#"{"name":"TEST"}"#).unwrap();
            assert!(!sealed.windows(4).any(|w| w == b"TEST"));
            assert_eq!(sealed.len(), ns + 15 + 16);
            let (plain, converting) = k.open_meta("TEST", &key_file, &sealed).unwrap();
            assert_eq!(plain, br#"{"name":"TEST"}"#);
            assert!(!converting);
            assert!(k.current_meta_key("TEST", &key_file).is_some());
            // Another context (stream) does not open it.
            assert!(k.open_meta("OTHER", &key_file, &sealed).is_err());
        }
    }

    #[test]
    fn other_cipher_or_previous_key_opens_and_says_so() {
        let first = keys(StoreCipher::Aes, "first", None);
        let (key, key_file) = first.new_meta_key("S").unwrap();
        let sealed = key.seal(b"{}").unwrap();
        let chacha = keys(StoreCipher::ChaCha, "first", None);
        assert!(chacha.open_meta("S", &key_file, &sealed).unwrap().1);
        assert!(chacha.current_meta_key("S", &key_file).is_none());
        let rotated = keys(StoreCipher::ChaCha, "second", Some("first"));
        assert!(rotated.open_meta("S", &key_file, &sealed).unwrap().1);
        let wrong = keys(StoreCipher::Aes, "second", None);
        let err = wrong.open_meta("S", &key_file, &sealed).unwrap_err();
        assert_eq!(err.to_string(), "unable to recover keys");
        let err = first.open_meta("S", &key_file[..40], &sealed).unwrap_err();
        assert_eq!(err.to_string(), "encryption bad key size");
    }
}
