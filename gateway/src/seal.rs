//! Sealing: AES-256-GCM with a key from a Worker secret, so a browser can
//! carry a value (launch state, the clinician's visit pass, sign-in state)
//! but neither read nor alter it, and any data centre can check it without
//! a shared store. Tenant secrets are sealed the same way at rest. Each use
//! has its own purpose (associated data): a value sealed for one never
//! opens as another.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::secrets::Secret;

/// The Worker secret the cookie-sealing key comes from.
pub const COOKIE_KEY_SECRET: &str = "LAUNCH_COOKIE_KEY";
const VERSION: &str = "v1.";

/// A 256-bit sealing key (`Debug` is redacted, as for every [`Secret`]).
#[derive(Clone, Debug)]
pub struct SealKey(Secret<[u8; 32]>);

impl SealKey {
    /// From the secret's text: 32 bytes as base64url (43 chars) or hex (64 chars).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()?
        } else {
            URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok()?
        };
        Some(SealKey(Secret::new(bytes.try_into().ok()?)))
    }

    #[cfg(test)]
    fn of(b: u8) -> Self {
        SealKey(Secret::new([b; 32]))
    }
}

/// The key for cookies the gateway hands out (launch state, visit pass,
/// sign-in state).
pub fn cookie_key(ctx: &Ctx) -> crate::error::Result<SealKey> {
    ctx.secret(COOKIE_KEY_SECRET).and_then(|s| SealKey::parse(s.expose())).ok_or_else(|| {
        Error::new(
            500,
            "launch_not_configured",
            format!("Visitgate's launch key (Worker secret {COOKIE_KEY_SECRET}, 32 random bytes) is not set up. Ask your Visitgate administrator."),
        )
    })
}

/// Sealed values carry their own expiry.
pub trait Expiring {
    fn expires_at(&self) -> u64;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not produced by us with this key, or altered.
    Invalid,
    Expired,
}

pub fn seal<T: Serialize>(key: &SealKey, purpose: &[u8], value: &T, nonce: [u8; 12]) -> String {
    let cipher = Aes256Gcm::new_from_slice(key.0.expose()).expect("32-byte key");
    let plain = serde_json::to_vec(value).expect("sealed values serialise");
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: purpose })
        .expect("AES-GCM encryption cannot fail for small inputs");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
}

pub fn open<T: DeserializeOwned + Expiring>(key: &SealKey, purpose: &[u8], value: &str, now: u64) -> Result<T, OpenError> {
    let body = value.strip_prefix(VERSION).ok_or(OpenError::Invalid)?;
    let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Invalid)?;
    if raw.len() < 12 + 16 {
        return Err(OpenError::Invalid);
    }
    let (nonce, sealed) = raw.split_at(12);
    let cipher = Aes256Gcm::new_from_slice(key.0.expose()).expect("32-byte key");
    let plain = cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: purpose }).map_err(|_| OpenError::Invalid)?;
    let value: T = serde_json::from_slice(&plain).map_err(|_| OpenError::Invalid)?;
    if value.expires_at() <= now {
        return Err(OpenError::Expired);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const A: &[u8] = b"visitgate/test-a/v1";
    const B: &[u8] = b"visitgate/test-b/v1";

    fn key(b: u8) -> SealKey {
        SealKey::of(b)
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        state: String,
        expires_at: u64,
    }

    impl Expiring for Sample {
        fn expires_at(&self) -> u64 {
            self.expires_at
        }
    }

    fn sample(expires_at: u64) -> Sample {
        Sample { state: "s".repeat(43), expires_at }
    }

    #[test]
    fn round_trip_then_expiry() {
        let sealed = seal(&key(1), A, &sample(1000), [7; 12]);
        assert_eq!(open(&key(1), A, &sealed, 999), Ok(sample(1000)));
        assert_eq!(open::<Sample>(&key(1), A, &sealed, 1000), Err(OpenError::Expired));
        assert_eq!(open::<Sample>(&key(1), B, &sealed, 0), Err(OpenError::Invalid), "other purpose");
    }

    #[test]
    fn tampering_or_another_key_is_refused() {
        let sealed = seal(&key(1), A, &sample(1000), [7; 12]);
        let open = |k: &SealKey, v: &str, now| open::<Sample>(k, A, v, now);
        assert_eq!(open(&key(2), &sealed, 0), Err(OpenError::Invalid));
        let mut bytes = sealed.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&key(1), &String::from_utf8(bytes).unwrap(), 0), Err(OpenError::Invalid));
        assert_eq!(open(&key(1), "v1.short", 0), Err(OpenError::Invalid));
        assert_eq!(open(&key(1), "garbage", 0), Err(OpenError::Invalid));
    }

    #[test]
    fn key_parsing_and_redacted_debug() {
        assert!(SealKey::parse(&"ab".repeat(32)).is_some());
        assert!(SealKey::parse(&URL_SAFE_NO_PAD.encode([3u8; 32])).is_some());
        assert!(SealKey::parse("short").is_none());
        assert_eq!(format!("{:?}", key(9)), "SealKey([redacted])");
    }
}
