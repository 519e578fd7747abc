//! Encryption and compression of block files.
//!
//! A block of a store without cipher or compression is bare records (Go's framing). With
//! either, the file starts with a header:
//!
//! ```text
//! magic:8  version:u8  cipher:u8  compression:u8  reserved:u8  plain_len:u64
//! [key_len:u16  nonce  AEAD(kek, nonce, seed)]        when encrypted
//! body
//! ```
//!
//! The magic starts with four 0xFF bytes, which no record can start with (that length is
//! past the record limit). Keys are derived as nats-server derives them: the key
//! encryption key is the AEAD (XChaCha20-Poly1305, or AES-256-GCM with a 16-byte nonce)
//! keyed by `prf("<stream>:<block index>")`, where `prf` is HMAC-SHA256 of the server's
//! JetStream key; it seals a random 32-byte seed, and the body is XORed with the seed's
//! stream cipher (XChaCha20, or AES-256-CTR) using the same nonce. Unlike Go, the sealed
//! seed lives in the block header instead of a `<index>.key` file, so that rewriting a
//! block (compaction, compression) swaps data and key in one atomic rename, and every
//! rewrite gets a fresh seed so no keystream is reused for different bytes.
//!
//! A compressed body is LZ4 of the whole plaintext, written once when the block is
//! sealed; the last block, still being appended to, is never compressed. Integrity comes
//! from the per-record checksums of the plaintext, which every load verifies.

use std::io;
use std::sync::Arc;

use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use aes_gcm::aead::{Aead, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Block body cipher (Go's `StoreCipher`, same numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreCipher {
    ChaCha = 0,
    Aes = 1,
    #[default]
    None = 2,
}

impl StoreCipher {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(StoreCipher::ChaCha),
            1 => Some(StoreCipher::Aes),
            2 => Some(StoreCipher::None),
            _ => None,
        }
    }

    pub(crate) fn nonce_len(self) -> usize {
        match self {
            StoreCipher::ChaCha => 24,
            StoreCipher::Aes => 16,
            StoreCipher::None => 0,
        }
    }
}

/// Compression of sealed blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockCompression {
    #[default]
    None,
    Lz4,
}

/// Derives key material from a context, like Go's `keyGen`.
pub type KeyGen = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// Go's server key generator: HMAC-SHA256 keyed by the JetStream key over `info` then
/// the context.
pub fn js_key_gen(js_key: &str, info: &str) -> KeyGen {
    let key = js_key.as_bytes().to_vec();
    let info = info.as_bytes().to_vec();
    Arc::new(move |context: &[u8]| {
        #[allow(clippy::expect_used)]
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(&info);
        mac.update(context);
        mac.finalize().into_bytes().to_vec()
    })
}

/// How blocks of a store are written.
#[derive(Clone, Default)]
pub struct BlockCodec {
    pub cipher: StoreCipher,
    pub compression: BlockCompression,
    pub prf: Option<KeyGen>,
    /// The previous server key (Go's `prev_key`): files it sealed still open, and are
    /// marked stale so that they get rewritten with `prf`.
    pub old_prf: Option<KeyGen>,
}

impl std::fmt::Debug for BlockCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCodec")
            .field("cipher", &self.cipher)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// The key stream of one block file.
#[derive(Clone)]
pub struct BodyKey {
    cipher: StoreCipher,
    seed: [u8; 32],
    nonce: Vec<u8>,
    /// Sealed with the previous server key or another cipher than the store's: the file
    /// is to be rewritten with the current key.
    stale: bool,
}

impl std::fmt::Debug for BodyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyKey(..)")
    }
}

impl BodyKey {
    /// Whether the file this key belongs to should be rewritten under the current key
    /// and cipher.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// XORs the key stream at body offset `offset` into `buf`.
    pub fn apply(&self, offset: u64, buf: &mut [u8]) {
        match self.cipher {
            StoreCipher::ChaCha => {
                let mut c = chacha20::XChaCha20::new(
                    (&self.seed).into(),
                    chacha20::XNonce::from_slice(&self.nonce),
                );
                c.seek(offset);
                c.apply_keystream(buf);
            }
            StoreCipher::Aes => {
                let mut c = ctr::Ctr128BE::<aes::Aes256>::new(
                    (&self.seed).into(),
                    aes::cipher::generic_array::GenericArray::from_slice(&self.nonce),
                );
                c.seek(offset);
                c.apply_keystream(buf);
            }
            StoreCipher::None => {}
        }
    }
}

const MAGIC: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, b'N', b'B', b'L', b'K'];
const VERSION: u8 = 1;
const FIXED_HEADER: usize = 8 + 4 + 8;

/// A parsed or freshly made block header.
#[derive(Debug, Clone, Default)]
pub struct BlockHeader {
    /// Bytes before the body.
    pub len: u64,
    pub key: Option<BodyKey>,
    pub compressed: bool,
    pub plain_len: u64,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    getrandom::getrandom(buf).map_err(|e| io::Error::other(format!("random: {e}")))
}

type Gcm16 = aes_gcm::AesGcm<aes::Aes256, aes_gcm::aead::consts::U16>;

/// Seals `plain` with the AEAD of `cipher` (Go's `genEncryptionKey`: XChaCha20-Poly1305,
/// or AES-256-GCM with a 16-byte nonce) under `key`.
pub(crate) fn aead_seal(
    cipher: StoreCipher,
    key: &[u8],
    nonce: &[u8],
    plain: &[u8],
) -> io::Result<Vec<u8>> {
    if nonce.len() != cipher.nonce_len() {
        return Err(invalid("bad nonce"));
    }
    let err = |_| invalid("cannot seal");
    match cipher {
        StoreCipher::ChaCha => chacha20poly1305::XChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| invalid("bad key"))?
            .encrypt(chacha20poly1305::XNonce::from_slice(nonce), plain)
            .map_err(err),
        StoreCipher::Aes => Gcm16::new_from_slice(key)
            .map_err(|_| invalid("bad key"))?
            .encrypt(
                aes_gcm::aead::generic_array::GenericArray::from_slice(nonce),
                plain,
            )
            .map_err(err),
        StoreCipher::None => Ok(Vec::new()),
    }
}

/// Opens what [`aead_seal`] sealed; an error when the key, nonce or cipher is not the
/// one it was sealed with, or the bytes changed.
pub(crate) fn aead_open(
    cipher: StoreCipher,
    key: &[u8],
    nonce: &[u8],
    sealed: &[u8],
) -> io::Result<Vec<u8>> {
    if nonce.len() != cipher.nonce_len() {
        return Err(invalid("bad nonce"));
    }
    let err = |_| invalid("does not decrypt (wrong server key?)");
    match cipher {
        StoreCipher::ChaCha => chacha20poly1305::XChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| invalid("bad key"))?
            .decrypt(chacha20poly1305::XNonce::from_slice(nonce), sealed)
            .map_err(err),
        StoreCipher::Aes => Gcm16::new_from_slice(key)
            .map_err(|_| invalid("bad key"))?
            .decrypt(
                aes_gcm::aead::generic_array::GenericArray::from_slice(nonce),
                sealed,
            )
            .map_err(err),
        StoreCipher::None => Ok(Vec::new()),
    }
}

/// Fills `buf` with unpredictable bytes (erase filler).
pub fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    random_bytes(buf)
}

impl BlockCodec {
    /// Whether block files carry a header.
    pub fn has_header(&self) -> bool {
        self.cipher != StoreCipher::None || self.compression != BlockCompression::None
    }

    fn kek_context(stream: &str, index: u32) -> Vec<u8> {
        format!("{stream}:{index}").into_bytes()
    }

    fn kek(&self, stream: &str, index: u32) -> io::Result<Vec<u8>> {
        let prf = self
            .prf
            .as_ref()
            .ok_or_else(|| invalid("encrypted store needs a key"))?;
        Ok(prf(&Self::kek_context(stream, index)))
    }

    /// Opens a file's sealed seed with the current key, else with the previous one
    /// (`true`: it was the previous one).
    fn open_seed(
        &self,
        cipher: StoreCipher,
        stream: &str,
        index: u32,
        nonce: &[u8],
        sealed: &[u8],
    ) -> io::Result<(Vec<u8>, bool)> {
        let context = Self::kek_context(stream, index);
        let current = aead_open(cipher, &self.kek(stream, index)?, nonce, sealed);
        match (current, &self.old_prf) {
            (Ok(seed), _) => Ok((seed, false)),
            (Err(_), Some(old)) => aead_open(cipher, &old(&context), nonce, sealed)
                .map(|seed| (seed, true))
                .map_err(|_| invalid("key does not decrypt (wrong server key?)")),
            (Err(_), None) => Err(invalid("key does not decrypt (wrong server key?)")),
        }
    }

    /// A fresh header (new key when encrypted) and its bytes.
    pub fn new_header(
        &self,
        stream: &str,
        index: u32,
        compressed: bool,
        plain_len: u64,
    ) -> io::Result<(BlockHeader, Vec<u8>)> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.cipher as u8);
        out.push(u8::from(compressed));
        out.push(0);
        out.extend_from_slice(&plain_len.to_le_bytes());
        let key = if self.cipher == StoreCipher::None {
            None
        } else {
            let mut seed = [0u8; 32];
            random_bytes(&mut seed)?;
            let mut nonce = vec![0u8; self.cipher.nonce_len()];
            random_bytes(&mut nonce)?;
            let sealed = aead_seal(self.cipher, &self.kek(stream, index)?, &nonce, &seed)?;
            let blob_len = (nonce.len() + sealed.len()) as u16;
            out.extend_from_slice(&blob_len.to_le_bytes());
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&sealed);
            Some(BodyKey {
                cipher: self.cipher,
                seed,
                nonce,
                stale: false,
            })
        };
        let header = BlockHeader {
            len: out.len() as u64,
            key,
            compressed,
            plain_len,
        };
        Ok((header, out))
    }

    /// Parses the header at the start of `raw`; `Ok(None)` for a bare block.
    pub fn read_header(
        &self,
        raw: &[u8],
        stream: &str,
        index: u32,
    ) -> io::Result<Option<BlockHeader>> {
        if raw.len() < MAGIC.len() || raw[..MAGIC.len()] != MAGIC {
            return Ok(None);
        }
        if raw.len() < FIXED_HEADER {
            return Err(invalid("short block header"));
        }
        if raw[8] != VERSION {
            return Err(invalid(format!("unknown block version {}", raw[8])));
        }
        let cipher = StoreCipher::from_u8(raw[9]).ok_or_else(|| invalid("unknown cipher"))?;
        let compressed = raw[10] != 0;
        let mut plain = [0u8; 8];
        plain.copy_from_slice(&raw[12..20]);
        let plain_len = u64::from_le_bytes(plain);
        let mut len = FIXED_HEADER;
        let key = if cipher == StoreCipher::None {
            None
        } else {
            if raw.len() < len + 2 {
                return Err(invalid("short block key"));
            }
            let blob_len = u16::from_le_bytes([raw[len], raw[len + 1]]) as usize;
            len += 2;
            let blob = raw
                .get(len..len + blob_len)
                .ok_or_else(|| invalid("short block key"))?;
            len += blob_len;
            let nlen = cipher.nonce_len();
            if blob.len() < nlen {
                return Err(invalid("short block key"));
            }
            let (nonce, sealed) = blob.split_at(nlen);
            let (seed, old_key) = self.open_seed(cipher, stream, index, nonce, sealed)?;
            let seed: [u8; 32] = seed.try_into().map_err(|_| invalid("bad block key"))?;
            Some(BodyKey {
                cipher,
                seed,
                nonce: nonce.to_vec(),
                stale: old_key || cipher != self.cipher,
            })
        };
        Ok(Some(BlockHeader {
            len: len as u64,
            key,
            compressed,
            plain_len,
        }))
    }

    /// Encodes a whole block file from plaintext records (compressing if asked).
    pub fn encode_block(
        &self,
        stream: &str,
        index: u32,
        plain: &[u8],
        compress: bool,
    ) -> io::Result<(BlockHeader, Vec<u8>)> {
        if !self.has_header() {
            return Ok((BlockHeader::default(), plain.to_vec()));
        }
        let compress = compress && self.compression != BlockCompression::None;
        let (header, mut out) = self.new_header(stream, index, compress, plain.len() as u64)?;
        let body_start = out.len();
        if compress {
            out.extend_from_slice(&lz4_flex::compress(plain));
        } else {
            out.extend_from_slice(plain);
        }
        if let Some(key) = &header.key {
            key.apply(0, &mut out[body_start..]);
        }
        Ok((header, out))
    }

    /// Decodes a whole block file to its header and plaintext records.
    pub fn decode_block(
        &self,
        raw: &[u8],
        stream: &str,
        index: u32,
    ) -> io::Result<(BlockHeader, Vec<u8>)> {
        let Some(header) = self.read_header(raw, stream, index)? else {
            return Ok((BlockHeader::default(), raw.to_vec()));
        };
        let mut body = raw[header.len as usize..].to_vec();
        if let Some(key) = &header.key {
            key.apply(0, &mut body);
        }
        if header.compressed {
            // LZ4 expands at most 255 times: a larger claim is a damaged header, and
            // must not become an allocation of that size.
            let most = (body.len() as u64).saturating_mul(255).saturating_add(64);
            if header.plain_len > most {
                return Err(invalid(format!("block {index}: damaged header")));
            }
            body = lz4_flex::decompress(&body, header.plain_len as usize)
                .map_err(|e| invalid(format!("block {index} does not decompress: {e}")))?;
        }
        Ok((header, body))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codec(cipher: StoreCipher, compression: BlockCompression) -> BlockCodec {
        BlockCodec {
            cipher,
            compression,
            prf: Some(js_key_gen("s3cr3t", "node")),
            old_prf: None,
        }
    }

    #[test]
    fn every_permutation_round_trips() {
        let plain: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        for cipher in [StoreCipher::None, StoreCipher::Aes, StoreCipher::ChaCha] {
            for compression in [BlockCompression::None, BlockCompression::Lz4] {
                let c = codec(cipher, compression);
                for compress in [false, true] {
                    let (_, file) = c.encode_block("S", 3, &plain, compress).unwrap();
                    if cipher != StoreCipher::None {
                        assert!(!file.windows(16).any(|w| w == &plain[..16]));
                    }
                    let (h, back) = c.decode_block(&file, "S", 3).unwrap();
                    assert_eq!(back, plain, "{cipher:?} {compression:?} {compress}");
                    assert_eq!(
                        h.compressed,
                        compress && compression != BlockCompression::None
                    );
                }
            }
        }
    }

    #[test]
    fn a_header_claiming_a_huge_plaintext_is_refused() {
        let c = codec(StoreCipher::None, BlockCompression::Lz4);
        let (_, mut file) = c.encode_block("S", 3, b"some records", true).unwrap();
        // plain_len sits at bytes 12..20 of the header.
        file[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(c.decode_block(&file, "S", 3).is_err());
    }

    #[test]
    fn wrong_key_or_block_does_not_open() {
        let c = codec(StoreCipher::ChaCha, BlockCompression::None);
        let (_, file) = c.encode_block("S", 3, b"records", false).unwrap();
        assert!(c.decode_block(&file, "S", 4).is_err());
        let other = BlockCodec {
            prf: Some(js_key_gen("other", "node")),
            ..c
        };
        assert!(other.decode_block(&file, "S", 3).is_err());
    }

    #[test]
    fn a_file_of_the_previous_key_or_cipher_opens_and_is_stale() {
        let before = codec(StoreCipher::Aes, BlockCompression::None);
        let (_, file) = before.encode_block("S", 3, b"records", false).unwrap();
        // Same key, other cipher: the header says which cipher sealed it.
        let other_cipher = codec(StoreCipher::ChaCha, BlockCompression::None);
        let (h, plain) = other_cipher.decode_block(&file, "S", 3).unwrap();
        assert_eq!(plain, b"records");
        assert!(h.key.unwrap().is_stale());
        // New key with the old one as the previous key.
        let rotated = BlockCodec {
            prf: Some(js_key_gen("new", "node")),
            old_prf: Some(js_key_gen("s3cr3t", "node")),
            ..before.clone()
        };
        let (h, plain) = rotated.decode_block(&file, "S", 3).unwrap();
        assert_eq!(plain, b"records");
        assert!(h.key.unwrap().is_stale());
        // What the rotated codec writes is current for it, and no longer opens with the
        // old key alone.
        let (_, file) = rotated.encode_block("S", 3, b"records", false).unwrap();
        assert!(!rotated
            .decode_block(&file, "S", 3)
            .unwrap()
            .0
            .key
            .unwrap()
            .is_stale());
        assert!(before.decode_block(&file, "S", 3).is_err());
        // Neither key: refused, never garbage.
        let wrong = BlockCodec {
            prf: Some(js_key_gen("x", "node")),
            old_prf: Some(js_key_gen("y", "node")),
            ..before
        };
        assert!(wrong.decode_block(&file, "S", 3).is_err());
    }

    #[test]
    fn keystream_at_offset_matches_whole_body() {
        let c = codec(StoreCipher::Aes, BlockCompression::None);
        let (h, _) = c.new_header("S", 1, false, 0).unwrap();
        let key = h.key.unwrap();
        let mut whole = vec![0u8; 100];
        key.apply(0, &mut whole);
        let mut tail = vec![0u8; 37];
        key.apply(63, &mut tail);
        assert_eq!(&whole[63..], &tail[..]);
    }
}
