//! Proof of presence for accommodations. A printed code can be photographed
//! and used from home; the reception screen shows a code that changes every
//! 30 seconds, and opening the form from it yields a presence token good for
//! the 15 minutes it takes to fill the form in. A check-in carrying a valid
//! token is "verified at the desk"; one from the printed code is
//! "self-declared". Both are accepted.
//!
//! Screen code: `window (4 bytes) || HMAC(code || window) truncated (6)`,
//! 16 characters of base32, appended to the check-in URL as `/C/{code}/{live}`
//! so the whole URL stays in the QR alphanumeric mode.
//! Presence token: `place id (8) || expiry (8) || HMAC truncated (10)`, URL-safe base64.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::derive_key;

/// How often the screen's code changes.
pub const WINDOW_SECONDS: i64 = 30;
/// A screen code is accepted in its own window and the next one (30 to 60 s).
const WINDOWS_ACCEPTED: i64 = 2;
/// How long a form opened from the screen may take to fill in.
pub const PRESENCE_SECONDS: i64 = 15 * 60;
pub const LIVE_LEN: usize = 16;

#[derive(Clone)]
pub struct Presence {
    live_key: [u8; 32],
    token_key: [u8; 32],
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presence(***)")
    }
}

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

impl Presence {
    pub fn new(master: &[u8; 32]) -> Self {
        Presence {
            live_key: derive_key(master, "desk screen code v1"),
            token_key: derive_key(master, "desk presence token v1"),
        }
    }

    /// The screen code for a place's code at a unix time.
    pub fn live_code(&self, code: &str, unix: i64) -> String {
        let window = (unix.div_euclid(WINDOW_SECONDS) as u32).to_be_bytes();
        let tag = mac(&self.live_key, &[code.as_bytes(), &window])
            .finalize()
            .into_bytes();
        let mut raw = [0u8; 10];
        raw[..4].copy_from_slice(&window);
        raw[4..].copy_from_slice(&tag[..6]);
        data_encoding::BASE32_NOPAD.encode(&raw)
    }

    /// Whether a screen code (any case) is genuine for this place's code and still fresh.
    pub fn check_live(&self, code: &str, live: &str, unix: i64) -> bool {
        if live.len() != LIVE_LEN {
            return false;
        }
        let Ok(raw) = data_encoding::BASE32_NOPAD.decode(live.to_ascii_uppercase().as_bytes())
        else {
            return false;
        };
        let (window, tag) = raw.split_at(4);
        let Ok(window_bytes) = <[u8; 4]>::try_from(window) else {
            return false;
        };
        let shown = i64::from(u32::from_be_bytes(window_bytes));
        let now = unix.div_euclid(WINDOW_SECONDS);
        if !(now - WINDOWS_ACCEPTED + 1..=now).contains(&shown) {
            return false;
        }
        mac(&self.live_key, &[code.as_bytes(), window])
            .verify_truncated_left(tag)
            .is_ok()
    }

    /// A token that says "opened from the desk screen of this place", valid 15 minutes.
    pub fn token(&self, place_id: i64, unix: i64) -> String {
        let expires = (unix + PRESENCE_SECONDS).to_be_bytes();
        let id = place_id.to_be_bytes();
        let tag = mac(&self.token_key, &[&id, &expires])
            .finalize()
            .into_bytes();
        let mut raw = Vec::with_capacity(26);
        raw.extend_from_slice(&id);
        raw.extend_from_slice(&expires);
        raw.extend_from_slice(&tag[..10]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn check_token(&self, token: &str, place_id: i64, unix: i64) -> bool {
        let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        if raw.len() != 26 {
            return false;
        }
        let (id, rest) = raw.split_at(8);
        let (expires, tag) = rest.split_at(8);
        let (Ok(id_bytes), Ok(expiry_bytes)) =
            (<[u8; 8]>::try_from(id), <[u8; 8]>::try_from(expires))
        else {
            return false;
        };
        i64::from_be_bytes(id_bytes) == place_id
            && unix <= i64::from_be_bytes(expiry_bytes)
            && mac(&self.token_key, &[id, expires])
                .verify_truncated_left(tag)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "AEAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_screen_code_lives_30_to_60_seconds_and_only_for_its_place() {
        let p = Presence::new(&[3; 32]);
        let t = 1_800_000_000;
        let live = p.live_code(CODE, t);
        assert_eq!(live.len(), LIVE_LEN);
        assert!(p.check_live(CODE, &live, t));
        assert!(p.check_live(CODE, &live.to_lowercase(), t + 29));
        assert!(p.check_live(CODE, &live, t - t.rem_euclid(30) + 59));
        assert!(
            !p.check_live(CODE, &live, t - t.rem_euclid(30) + 60),
            "expired after two windows"
        );
        assert!(
            !p.check_live(CODE, &live, t - 31),
            "not valid before it was shown"
        );
        assert!(
            !p.check_live("BEAAAAAAAAAAAAAAAAAAAAAA", &live, t),
            "another place's code"
        );
        assert!(
            !Presence::new(&[4; 32]).check_live(CODE, &live, t),
            "another key"
        );
        let mut forged = live.into_bytes();
        forged[12] = if forged[12] == b'A' { b'B' } else { b'A' };
        assert!(!p.check_live(CODE, std::str::from_utf8(&forged).unwrap(), t));
    }

    #[test]
    fn a_presence_token_lasts_fifteen_minutes_for_one_place() {
        let p = Presence::new(&[3; 32]);
        let t = 1_800_000_000;
        let token = p.token(42, t);
        assert!(p.check_token(&token, 42, t + PRESENCE_SECONDS));
        assert!(!p.check_token(&token, 42, t + PRESENCE_SECONDS + 1));
        assert!(!p.check_token(&token, 43, t));
        assert!(!p.check_token("garbage", 42, t));
        assert!(!Presence::new(&[4; 32]).check_token(&token, 42, t));
    }
}
