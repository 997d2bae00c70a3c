//! Signed check-in codes.
//!
//! A code is 15 bytes written as 24 characters of upper-case base32 (RFC 4648,
//! no padding), so the whole check-in URL fits the QR alphanumeric mode:
//!
//! `version (1) || key id (1) || serial (5) || HMAC-SHA256 truncated (8)`
//!
//! The MAC is checked before any cache or database lookup, so a forged,
//! altered or truncated code never reaches a place. The key id names the
//! signing key, so the key can later be rotated without reprinting posters.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::crypto::{derive_key, key_id};

const VERSION: u8 = 1;
const SERIAL_LEN: usize = 5;
const MAC_LEN: usize = 8;
const RAW_LEN: usize = 2 + SERIAL_LEN + MAC_LEN;
pub const CODE_LEN: usize = RAW_LEN * 8 / 5;

/// A code whose signature has been checked; upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedCode(String);

impl VerifiedCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone)]
struct SigningKey {
    id: u8,
    mac_key: [u8; 32],
}

impl SigningKey {
    fn new(master: &[u8; 32]) -> Self {
        SigningKey {
            id: key_id(master, "qr code"),
            mac_key: derive_key(master, "qr code mac v1"),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length")
    }
}

/// Signs new codes with the current key; verifies codes of the current key
/// and of retired keys that are still configured.
#[derive(Clone)]
pub struct CodeSigner {
    current: SigningKey,
    retired: Vec<SigningKey>,
}

impl std::fmt::Debug for CodeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CodeSigner(key id {}, {} retired)",
            self.current.id,
            self.retired.len()
        )
    }
}

impl CodeSigner {
    pub fn new(current: &[u8; 32], retired: &[[u8; 32]]) -> Self {
        CodeSigner {
            current: SigningKey::new(current),
            retired: retired.iter().map(SigningKey::new).collect(),
        }
    }

    pub fn key_id(&self) -> u8 {
        self.current.id
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.current.mac();
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// A new random code signed with the current key.
    pub fn issue(&self) -> VerifiedCode {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1] = self.current.id;
        rand::thread_rng().fill_bytes(&mut raw[2..2 + SERIAL_LEN]);
        let mac = self.mac(&raw[..2 + SERIAL_LEN]);
        raw[2 + SERIAL_LEN..].copy_from_slice(&mac);
        VerifiedCode(data_encoding::BASE32_NOPAD.encode(&raw))
    }

    /// Check a code as typed or scanned (any case). `None` for anything this
    /// service did not sign with its current key.
    pub fn verify(&self, text: &str) -> Option<VerifiedCode> {
        if text.len() != CODE_LEN {
            return None;
        }
        let upper = text.to_ascii_uppercase();
        let raw = data_encoding::BASE32_NOPAD.decode(upper.as_bytes()).ok()?;
        if raw.len() != RAW_LEN || raw[0] != VERSION {
            return None;
        }
        let (body, tag) = raw.split_at(2 + SERIAL_LEN);
        std::iter::once(&self.current)
            .chain(&self.retired)
            .filter(|key| key.id == raw[1])
            .any(|key| {
                let mut mac = key.mac();
                mac.update(body);
                // Constant-time comparison of the truncated tag.
                mac.verify_truncated_left(tag).is_ok()
            })
            .then_some(VerifiedCode(upper))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_codes_verify_in_any_case_and_fit_alphanumeric_mode() {
        let signer = CodeSigner::new(&[1; 32], &[]);
        let code = signer.issue();
        assert_eq!(code.as_str().len(), CODE_LEN);
        assert!(code
            .as_str()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(signer.verify(code.as_str()), Some(code.clone()));
        assert_eq!(signer.verify(&code.as_str().to_lowercase()), Some(code));
    }

    #[test]
    fn a_rotated_signing_key_keeps_printed_codes_working_while_it_is_configured() {
        let old = CodeSigner::new(&[1; 32], &[]);
        let printed = old.issue();
        let rotated = CodeSigner::new(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.verify(printed.as_str()), Some(printed.clone()));
        let fresh = rotated.issue();
        assert_ne!(rotated.key_id(), old.key_id());
        assert_eq!(rotated.verify(fresh.as_str()), Some(fresh.clone()));
        assert_eq!(
            old.verify(fresh.as_str()),
            None,
            "the old key cannot vouch for new codes"
        );
        let dropped = CodeSigner::new(&[2; 32], &[]);
        assert_eq!(
            dropped.verify(printed.as_str()),
            None,
            "once dropped, the old key verifies nothing"
        );
    }

    #[test]
    fn forged_altered_truncated_and_foreign_codes_are_refused() {
        let signer = CodeSigner::new(&[1; 32], &[]);
        let code = signer.issue().as_str().to_owned();
        let mut altered = code.clone().into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(signer.verify(std::str::from_utf8(&altered).unwrap()), None);
        assert_eq!(signer.verify(&code[..CODE_LEN - 1]), None);
        assert_eq!(signer.verify(&format!("{code}A")), None);
        assert_eq!(signer.verify("AAAAAAAAAAAAAAAAAAAAAAAA"), None);
        assert_eq!(CodeSigner::new(&[2; 32], &[]).verify(&code), None);
        assert_eq!(signer.verify("ĐĐĐĐĐĐĐĐĐĐĐĐ"), None);
    }
}
