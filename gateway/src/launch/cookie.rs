//! The launch state between `/launch` and `/launch/callback`, sealed into a
//! short-lived cookie: AES-256-GCM with a key from a Worker secret, so the
//! browser can carry it but neither read nor alter it, and any data centre
//! can check it without a shared store.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Launch state lives at most this long (SMART suggests minutes).
pub const LAUNCH_TTL_SECS: u64 = 600;
pub const COOKIE_PREFIX: &str = "vg_launch_";
pub const COOKIE_PATH: &str = "/launch/callback";
/// Associated data per use, so a cookie sealed for one purpose never opens as another.
pub const LAUNCH_PURPOSE: &[u8] = b"visitgate/launch-state/v1";
pub const VISIT_PURPOSE: &[u8] = b"visitgate/provider-visit/v1";
const VERSION: &str = "v1.";

/// A 256-bit sealing key. `Debug` never prints it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

impl SealKey {
    /// From the secret's text: 32 bytes as base64url (43 chars) or hex (64 chars).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()?
        } else {
            URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok()?
        };
        Some(SealKey(bytes.try_into().ok()?))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchState {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub iss: String,
    pub tenant_id: String,
    pub base_id: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Sealed values carry their own expiry.
pub trait Expiring {
    fn expires_at(&self) -> u64;
}

impl Expiring for LaunchState {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not produced by us with this key, or altered.
    Invalid,
    Expired,
}

/// Each launch gets its own cookie, named after the start of its `state`,
/// so two launches in two tabs don't overwrite each other.
pub fn cookie_name(state: &str) -> String {
    state_cookie_name(COOKIE_PREFIX, state)
}

/// A flow-state cookie's name: `prefix` and the start of the flow's `state`.
pub fn state_cookie_name(prefix: &str, state: &str) -> String {
    let short: String = state.chars().take(16).collect();
    format!("{prefix}{short}")
}

/// A flow-state cookie's attributes: only sent back to `path`, unreadable by
/// script, and Lax because the redirect back is a top-level cross-site GET.
pub fn state_cookie_attrs(path: &str, secure: bool, max_age: u64) -> String {
    format!("Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

pub fn seal<T: Serialize>(key: &SealKey, purpose: &[u8], value: &T, nonce: [u8; 12]) -> String {
    let cipher = Aes256Gcm::new_from_slice(&key.0).expect("32-byte key");
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
    let cipher = Aes256Gcm::new_from_slice(&key.0).expect("32-byte key");
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

    fn key(b: u8) -> SealKey {
        SealKey([b; 32])
    }

    fn sample(expires_at: u64) -> LaunchState {
        LaunchState {
            state: "s".repeat(43),
            nonce: "n".into(),
            code_verifier: "v".into(),
            iss: "https://ehr/r4/t".into(),
            tenant_id: "t".into(),
            base_id: "fb-1".into(),
            expires_at,
        }
    }

    #[test]
    fn round_trip_then_expiry() {
        let sealed = seal(&key(1), LAUNCH_PURPOSE, &sample(1000), [7; 12]);
        assert_eq!(open(&key(1), LAUNCH_PURPOSE, &sealed, 999), Ok(sample(1000)));
        assert_eq!(open::<LaunchState>(&key(1), LAUNCH_PURPOSE, &sealed, 1000), Err(OpenError::Expired));
        assert_eq!(open::<LaunchState>(&key(1), VISIT_PURPOSE, &sealed, 0), Err(OpenError::Invalid), "other purpose");
    }

    #[test]
    fn tampering_or_another_key_is_refused() {
        let sealed = seal(&key(1), LAUNCH_PURPOSE, &sample(1000), [7; 12]);
        let open = |k: &SealKey, v: &str, now| open::<LaunchState>(k, LAUNCH_PURPOSE, v, now);
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

    #[test]
    fn cookie_names_differ_per_launch() {
        assert_eq!(cookie_name("abcdefghijklmnopqrstuvwxyz"), "vg_launch_abcdefghijklmnop");
    }
}
