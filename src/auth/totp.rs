//! The second factor: time-based one-time codes (RFC 6238: HMAC-SHA1, six
//! digits, 30-second steps), as every authenticator app reads them.
//!
//! The accounts that read the whole city (admin, office, inspector) owe a
//! code after their password when `REQUIRE_SECOND_FACTOR` is on. A code is
//! accepted once: its step must be later than the last one accepted.

use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use super::Role;
use crate::crypto::DataCipher;

/// Seconds per step.
const STEP: u64 = 30;
/// Steps either side of now still accepted (a phone clock a little off).
const SKEW: i64 = 1;

/// Roles that owe a code after their password.
pub fn required_for(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office | Role::Inspector)
}

/// A new shared secret: 160 random bits, as RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut secret);
    secret
}

/// The secret as people type it into an app: base32 in groups of four.
pub fn readable(secret: &[u8]) -> String {
    let text = data_encoding::BASE32_NOPAD.encode(secret);
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` address an app reads from a QR code.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let label: String = form_urlencoded::byte_serialize(format!("Luu tru:{account}").as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer=Luu%20tru&algorithm=SHA1&digits=6&period={STEP}",
        data_encoding::BASE32_NOPAD.encode(secret)
    )
}

fn generator(secret: &[u8]) -> Option<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 0, STEP, secret.to_vec()).ok()
}

/// The code of a secret at a Unix time.
pub fn code_at(secret: &[u8], unix: u64) -> Option<String> {
    generator(secret).map(|t| t.generate(unix))
}

/// The step (Unix time / 30) a code belongs to, if it is the code of one of
/// the steps around `unix` and later than `last_step`.
pub fn accepted_step(secret: &[u8], code: &str, unix: u64, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = generator(secret)?;
    let now = (unix / STEP) as i64;
    (now - SKEW..=now + SKEW).find(|&step| {
        step > last_step && step >= 0 && same(&totp.generate(step as u64 * STEP), &code)
    })
}

/// Compare without an early exit, so the time taken says nothing of the code.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A secret sealed with the data key, like other personal data.
pub fn seal(cipher: &DataCipher, secret: &[u8]) -> Vec<u8> {
    cipher.encrypt(&data_encoding::BASE32_NOPAD.encode(secret))
}

/// A sealed secret opened again.
pub fn open(cipher: &DataCipher, sealed: &[u8]) -> crate::error::Result<Vec<u8>> {
    let text = cipher
        .decrypt(sealed)
        .map_err(|e| anyhow::anyhow!("second factor secret: {e}"))?;
    data_encoding::BASE32_NOPAD
        .decode(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("second factor secret: {e}").into())
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA1 secret "12345678901234567890" gives
    /// 94287082 (eight digits) at 59 s; the six-digit code is its last six.
    #[test]
    fn matches_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(secret, 1111111109).as_deref(), Some("081804"));
        assert_eq!(code_at(secret, 2000000000).as_deref(), Some("279037"));
    }

    #[test]
    fn accepts_a_code_once_and_only_near_its_time() {
        let secret = b"12345678901234567890";
        let t = 1111111109;
        let step = (t / STEP) as i64;
        assert_eq!(accepted_step(secret, "081804", t, 0), Some(step));
        assert_eq!(accepted_step(secret, "081 804", t + 30, 0), Some(step));
        assert_eq!(accepted_step(secret, "081804", t, step), None, "replayed");
        assert_eq!(
            accepted_step(secret, "081804", t + 120, 0),
            None,
            "too late"
        );
        assert_eq!(accepted_step(secret, "081805", t, 0), None);
        assert_eq!(accepted_step(secret, "08180", t, 0), None);
        assert_eq!(accepted_step(secret, "", t, 0), None);
    }

    #[test]
    fn the_app_address_carries_the_secret() {
        let uri = otpauth_uri(b"12345678901234567890", "an@office.vn");
        assert!(uri.starts_with(
            "otpauth://totp/Luu%20tru%3Aan%40office.vn?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
        ));
        assert_eq!(readable(b"12345"), "GEZD GNBV");
    }
}
