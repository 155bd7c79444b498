//! Sealing: AES-256-GCM with a key from a Worker secret, so a browser can
//! carry a value (launch state, the clinician's visit pass, sign-in state)
//! but neither read nor alter it, and any data centre can check it without
//! a shared store. Tenant secrets are sealed the same way at rest. Each use
//! has its own purpose (associated data): a value sealed for one never
//! opens as another. The cipher is WebCrypto's ([`crate::webcrypto`]);
//! the framing and expiry rules here test on the host.

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

pub async fn seal<T: Serialize>(key: &SealKey, purpose: &[u8], value: &T, nonce: [u8; 12]) -> crate::error::Result<String> {
    let plain = serde_json::to_vec(value).expect("sealed values serialise");
    let sealed = crate::webcrypto::aes_gcm_seal(key.0.expose(), &nonce, purpose, &plain)
        .await
        .map_err(|e| Error::new(500, "seal_failed", format!("The gateway could not seal a value ({}).", e.0)))?;
    Ok(frame(nonce, &sealed))
}

pub async fn open<T: DeserializeOwned + Expiring>(key: &SealKey, purpose: &[u8], value: &str, now: u64) -> Result<T, OpenError> {
    let (nonce, sealed) = unframe(value)?;
    let plain = crate::webcrypto::aes_gcm_open(key.0.expose(), &nonce, purpose, &sealed).await.ok().flatten().ok_or(OpenError::Invalid)?;
    unseal_json(&plain, now)
}

/// `v1.` + BASE64URL(nonce ‖ ciphertext ‖ tag).
fn frame(nonce: [u8; 12], sealed: &[u8]) -> String {
    let mut out = nonce.to_vec();
    out.extend_from_slice(sealed);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
}

fn unframe(value: &str) -> Result<([u8; 12], Vec<u8>), OpenError> {
    let body = value.strip_prefix(VERSION).ok_or(OpenError::Invalid)?;
    let mut raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Invalid)?;
    if raw.len() < 12 + 16 {
        return Err(OpenError::Invalid);
    }
    let sealed = raw.split_off(12);
    Ok((raw.try_into().expect("12 bytes"), sealed))
}

fn unseal_json<T: DeserializeOwned + Expiring>(plain: &[u8], now: u64) -> Result<T, OpenError> {
    let value: T = std::str::from_utf8(plain).ok().and_then(|t| serde_json::from_str(t).ok()).ok_or(OpenError::Invalid)?;
    if value.expires_at() <= now {
        return Err(OpenError::Expired);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    //! The cipher runs in workerd (tests/e2e: tampered launch and sign-in
    //! cookies are refused); RustCrypto's AES-GCM stands in for it here, as
    //! both write ciphertext ‖ tag (NIST SP 800-38D), so a value framed here
    //! is one the Worker opens.
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use serde::Deserialize;

    const A: &[u8] = b"visitgate/test-a/v1";
    const B: &[u8] = b"visitgate/test-b/v1";

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

    fn host_seal(k: u8, purpose: &[u8], value: &Sample) -> String {
        let c = Aes256Gcm::new_from_slice(&[k; 32]).unwrap();
        let n = [7u8; 12];
        frame(n, &c.encrypt(Nonce::from_slice(&n), Payload { msg: &serde_json::to_vec(value).unwrap(), aad: purpose }).unwrap())
    }

    fn host_open(k: u8, purpose: &[u8], value: &str, now: u64) -> Result<Sample, OpenError> {
        let (n, sealed) = unframe(value)?;
        let c = Aes256Gcm::new_from_slice(&[k; 32]).unwrap();
        let plain = c.decrypt(Nonce::from_slice(&n), Payload { msg: &sealed, aad: purpose }).map_err(|_| OpenError::Invalid)?;
        unseal_json(&plain, now)
    }

    #[test]
    fn round_trip_then_expiry() {
        let sealed = host_seal(1, A, &sample(1000));
        assert!(sealed.starts_with("v1."));
        assert_eq!(host_open(1, A, &sealed, 999), Ok(sample(1000)));
        assert_eq!(host_open(1, A, &sealed, 1000), Err(OpenError::Expired));
        assert_eq!(host_open(1, B, &sealed, 0), Err(OpenError::Invalid), "other purpose");
    }

    #[test]
    fn tampering_or_another_key_is_refused() {
        let sealed = host_seal(1, A, &sample(1000));
        assert_eq!(host_open(2, A, &sealed, 0), Err(OpenError::Invalid));
        let mut bytes = sealed.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(host_open(1, A, &String::from_utf8(bytes).unwrap(), 0), Err(OpenError::Invalid));
        assert_eq!(unframe("v1.short"), Err(OpenError::Invalid));
        assert_eq!(unframe("garbage"), Err(OpenError::Invalid));
        assert_eq!(unseal_json::<Sample>(b"not json", 0), Err(OpenError::Invalid));
    }

    #[test]
    fn key_parsing_and_redacted_debug() {
        assert!(SealKey::parse(&"ab".repeat(32)).is_some());
        assert!(SealKey::parse(&URL_SAFE_NO_PAD.encode([3u8; 32])).is_some());
        assert!(SealKey::parse("short").is_none());
        assert_eq!(format!("{:?}", SealKey::of(9)), "SealKey([redacted])");
    }
}
