//! Personal data at rest: XChaCha20-Poly1305 under a key derived from
//! `DATA_ENCRYPTION_KEY`, and an HMAC-SHA256 blind index (under a separately
//! derived key) for exact search of document numbers.
//!
//! A ciphertext is `key id (1 byte) || nonce (24) || sealed bytes`; the key id
//! lets a rotation read old rows under the retired key while writing new ones
//! under the current one (see `rekey`).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// One data key: its id, the AEAD and the blind-index MAC keyed with the
/// key derived from it (cloned for each index rather than keyed again).
#[derive(Clone)]
struct DataKey {
    id: u8,
    aead: XChaCha20Poly1305,
    index: HmacSha256,
}

impl DataKey {
    fn new(master: &[u8; 32]) -> Self {
        let enc = derive_key(master, "personal data encryption v1");
        DataKey {
            id: key_id(master, "personal data"),
            aead: XChaCha20Poly1305::new(&enc.into()),
            index: <HmacSha256 as Mac>::new_from_slice(&derive_key(
                master,
                "document blind index v1",
            ))
            .expect("HMAC takes any key length"),
        }
    }

    fn blind_index(&self, document_number: &str) -> Vec<u8> {
        let mut mac = self.index.clone();
        mac.update(document_number.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// The current data key, which seals everything written, and the retired
/// ones, which still open what they sealed until it is sealed again.
#[derive(Clone)]
pub struct DataCipher {
    current: DataKey,
    retired: Vec<DataKey>,
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let retired: Vec<u8> = self.retired.iter().map(|k| k.id).collect();
        write!(
            f,
            "DataCipher(key id {}, retired {retired:?})",
            self.current.id
        )
    }
}

/// Refuse data keys whose ids collide: what one sealed could not be told
/// from what the other sealed. Generate another key instead.
pub fn check_key_ids(current: &[u8; 32], retired: &[[u8; 32]]) -> Result<(), String> {
    let mut seen: Vec<(&[u8; 32], u8)> = vec![(current, key_id(current, "personal data"))];
    for key in retired {
        let id = key_id(key, "personal data");
        if let Some((_, _)) = seen.iter().find(|(k, i)| *i == id && *k != key) {
            return Err(format!(
                "two data keys share the id {id}: generate another DATA_ENCRYPTION_KEY"
            ));
        }
        seen.push((key, id));
    }
    Ok(())
}

/// Derive a purpose-bound 32-byte key from a master secret.
pub fn derive_key(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"luutru"), master);
    let mut out = [0u8; 32];
    hk.expand(purpose.as_bytes(), &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// A short public identifier of a key, so rows and codes say which key made them.
pub fn key_id(master: &[u8; 32], purpose: &str) -> u8 {
    derive_key(master, &format!("{purpose} key id"))[0]
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext was made with key {0}, which is not configured")]
    UnknownKey(u8),
    #[error("ciphertext is damaged or was made with another key")]
    Damaged,
}

impl DataCipher {
    pub fn new(master: &[u8; 32]) -> Self {
        Self::with_retired(master, &[])
    }

    /// The current key and the retired ones that still read.
    /// Keys are told apart by a one-byte id: two different keys with the
    /// same id (one chance in 256) could not be, and are refused by
    /// [`check_key_ids`] at start-up.
    pub fn with_retired(master: &[u8; 32], retired: &[[u8; 32]]) -> Self {
        let current = DataKey::new(master);
        let retired = retired
            .iter()
            .filter(|r| *r != master)
            .map(DataKey::new)
            .collect();
        DataCipher { current, retired }
    }

    /// The current key's id: the first byte of everything sealed now.
    pub fn key_id(&self) -> u8 {
        self.current.id
    }

    pub fn encrypt(&self, plain: &str) -> Vec<u8> {
        // A random 192-bit nonce from the thread's generator (a CSPRNG
        // seeded from the system's), not a system call for each field.
        let nonce = XChaCha20Poly1305::generate_nonce(&mut rand::thread_rng());
        let sealed = self
            .current
            .aead
            .encrypt(&nonce, plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
        out.push(self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<String, CryptoError> {
        let (&kid, rest) = data.split_first().ok_or(CryptoError::Damaged)?;
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == kid)
            .ok_or(CryptoError::UnknownKey(kid))?;
        if rest.len() < 24 {
            return Err(CryptoError::Damaged);
        }
        let (nonce, sealed) = rest.split_at(24);
        let plain = key
            .aead
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| CryptoError::Damaged)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Damaged)
    }

    /// A stored field that may be empty, read back; a field that does not
    /// decrypt is an internal error, never shown as empty.
    pub fn decrypt_opt(&self, data: Option<&[u8]>) -> crate::error::Result<Option<String>> {
        data.map(|d| {
            self.decrypt(d).map_err(|e| {
                crate::error::Error::Internal(anyhow::anyhow!("reading a guest's data: {e}"))
            })
        })
        .transpose()
    }

    pub fn encrypt_opt(&self, plain: Option<&str>) -> Option<Vec<u8>> {
        plain.map(|p| self.encrypt(p))
    }

    /// Blind index of a document number under the current key: equal
    /// numbers give equal indexes, and the index reveals nothing without
    /// the key. What is written carries this one.
    pub fn blind_index(&self, document_number: &str) -> Vec<u8> {
        self.current.blind_index(document_number)
    }

    /// The number's index under every configured key, the current first:
    /// what a search matches while rows indexed under a retired key wait to
    /// be sealed again.
    pub fn blind_indexes(&self, document_number: &str) -> Vec<Vec<u8>> {
        std::iter::once(&self.current)
            .chain(&self.retired)
            .map(|k| k.blind_index(document_number))
            .collect()
    }

    /// Whether a sealed value was sealed under the current key.
    pub fn is_current(&self, data: &[u8]) -> bool {
        data.first() == Some(&self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_and_reads_back_with_a_fresh_nonce_each_time() {
        let c = DataCipher::new(&[7; 32]);
        let a = c.encrypt("077090001234");
        let b = c.encrypt("077090001234");
        assert_ne!(a, b);
        assert!(!a.windows(12).any(|w| w == b"077090001234"));
        assert_eq!(c.decrypt(&a).unwrap(), "077090001234");
    }

    #[test]
    fn another_key_cannot_read_and_tampering_is_detected() {
        let c = DataCipher::new(&[7; 32]);
        let other = DataCipher::new(&[8; 32]);
        let mut data = c.encrypt("B1234567");
        assert!(other.decrypt(&data).is_err());
        let last = data.len() - 1;
        data[last] ^= 1;
        assert!(matches!(c.decrypt(&data), Err(CryptoError::Damaged)));
    }

    #[test]
    fn a_retired_key_still_reads_and_its_rows_are_told_apart() {
        let old = DataCipher::new(&[7; 32]);
        let sealed = old.encrypt("B1234567");
        let rotated = DataCipher::with_retired(&[8; 32], &[[7; 32]]);
        assert_eq!(rotated.decrypt(&sealed).unwrap(), "B1234567");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.encrypt("B1234567")));
        assert_eq!(
            rotated.blind_indexes("B1234567"),
            vec![rotated.blind_index("B1234567"), old.blind_index("B1234567")]
        );
        // Once the old key is gone, what it sealed no longer opens.
        let forgotten = DataCipher::new(&[8; 32]);
        assert!(matches!(
            forgotten.decrypt(&sealed),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn keys_whose_ids_collide_are_refused() {
        let id = |k: &[u8; 32]| key_id(k, "personal data");
        let first = [1u8; 32];
        let candidates = (0u16..=u16::MAX).map(|n| {
            let mut k = [0u8; 32];
            k[..2].copy_from_slice(&n.to_le_bytes());
            k
        });
        let twin = candidates
            .clone()
            .find(|k| *k != first && id(k) == id(&first))
            .expect("among 65,536 keys one shares a one-byte id");
        let other = candidates.clone().find(|k| id(k) != id(&first)).unwrap();
        assert!(check_key_ids(&first, &[twin]).is_err());
        assert!(check_key_ids(&first, &[first]).is_ok());
        assert!(check_key_ids(&first, &[other]).is_ok());
    }

    #[test]
    fn blind_index_is_stable_and_keyed() {
        let c = DataCipher::new(&[7; 32]);
        assert_eq!(c.blind_index("B1234567"), c.blind_index("B1234567"));
        assert_ne!(c.blind_index("B1234567"), c.blind_index("B1234568"));
        assert_ne!(
            c.blind_index("B1234567"),
            DataCipher::new(&[8; 32]).blind_index("B1234567")
        );
    }
}
