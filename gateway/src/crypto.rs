//! Random tokens and hashes. Only hashes of tokens are ever stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A random token of `bytes` bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the runtime provides crypto.getRandomValues");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A short random id for FHIR bases and the like (64 bits, hex).
pub fn random_id(prefix: &str) -> String {
    let mut buf = [0u8; 8];
    getrandom::getrandom(&mut buf).expect("the runtime provides crypto.getRandomValues");
    format!("{prefix}{}", hex(&buf))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the runtime provides crypto.getRandomValues");
    buf
}

/// PKCE S256: BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Keyed hash (HMAC-SHA256, hex) for references that must not be reversible,
/// such as an appointment's identity in storage and reports.
pub fn keyed_hash_hex(key: &[u8], input: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    hex(&mac.finalize().into_bytes())
}

pub fn sha256_hex(input: &str) -> String {
    sha256_hex_bytes(input.as_bytes())
}

pub fn sha256_hex_bytes(input: &[u8]) -> String {
    hex(&Sha256::digest(input))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_unpadded_base64url_of_sha256() {
        // Expected value from Python: urlsafe_b64encode(sha256(verifier)).rstrip("=")
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mJ0kq9gRpHc5mPqm1b7yTOxc6Hs9wP"), "GorB_8Nl0aVXLZkK-JKoKZFuPoulOVAJETV1435Dehs");
    }

    #[test]
    fn keyed_hash_rfc4231_case_2() {
        assert_eq!(
            keyed_hash_hex(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sha256_known_vector_and_eq() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
