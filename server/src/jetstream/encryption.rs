//! Encryption at rest from the server's options (`jetstream { key, prev_key, cipher }`):
//! which keys an account's stores and configuration files are sealed with.
//!
//! As in Go, each account derives its own key generator from the server key (HMAC-SHA256
//! keyed by the server key over the account name, then the file's context), so two
//! accounts never share a key. The previous key, while set, only opens what it sealed;
//! everything it opens is written again under the current key.

use natsd_store::file::{js_key_gen, StoreCipher, StoreKeys};

/// The server's keys; `None` from [`ServerKeys::from_options`] when no key is set.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerKeys {
    cipher: StoreCipher,
    key: String,
    prev_key: String,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves: settings are logged in debug output.
        f.debug_struct("ServerKeys")
            .field("cipher", &self.cipher)
            .field("rotating", &!self.prev_key.is_empty())
            .finish_non_exhaustive()
    }
}

impl ServerKeys {
    /// The keys of `jetstream { key, prev_key, cipher }`; `None` without `key` (the
    /// stores stay in the clear, as in Go).
    pub fn from_options(key: &str, prev_key: &str, cipher: StoreCipher) -> Option<ServerKeys> {
        if key.is_empty() {
            return None;
        }
        Some(ServerKeys {
            // Go's zero value (ChaCha) when the option names no cipher.
            cipher: match cipher {
                StoreCipher::None => StoreCipher::ChaCha,
                c => c,
            },
            key: key.to_string(),
            prev_key: prev_key.to_string(),
        })
    }

    pub fn cipher(&self) -> StoreCipher {
        self.cipher
    }

    /// The keys of `account`'s files (Go's `jsKeyGen(key, account)`).
    pub fn for_account(&self, account: &str) -> StoreKeys {
        StoreKeys {
            cipher: self.cipher,
            prf: js_key_gen(&self.key, account),
            old_prf: (!self.prev_key.is_empty()).then(|| js_key_gen(&self.prev_key, account)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_key_no_encryption_and_accounts_get_their_own_keys() {
        assert!(ServerKeys::from_options("", "old", StoreCipher::Aes).is_none());
        let keys = ServerKeys::from_options("s3cr3t", "", StoreCipher::None).unwrap();
        assert_eq!(keys.cipher(), StoreCipher::ChaCha);
        let a = keys.for_account("A");
        let b = keys.for_account("B");
        assert!(a.old_prf.is_none());
        assert_ne!((a.prf)(b"TEST"), (b.prf)(b"TEST"));
        // Go's generator: HMAC-SHA256(key) over the account name, then the context.
        assert_eq!((a.prf)(b"TEST"), js_key_gen("s3cr3t", "A")(b"TEST"));
        let rotating = ServerKeys::from_options("new", "old", StoreCipher::Aes).unwrap();
        let r = rotating.for_account("A");
        assert_eq!(r.cipher, StoreCipher::Aes);
        assert_eq!((r.old_prf.unwrap())(b"x"), js_key_gen("old", "A")(b"x"));
        assert!(!format!("{rotating:?}").contains("old"));
    }
}
