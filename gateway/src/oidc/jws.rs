//! Compact JWS (RFC 7515) as the gateway reads and writes it. The rules
//! (which algorithms, which key may check which token) are plain functions
//! tested on the host; the signature math is WebCrypto's
//! ([`crate::webcrypto`]). `jsonwebtoken` reads headers, JWKs and claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use crate::webcrypto::{CryptoError, PublicJwk, SigAlg};

/// A token split into what its signature covers and the signature.
#[derive(Debug)]
pub struct Compact<'a> {
    pub header: Header,
    pub alg: SigAlg,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    Malformed,
    /// Not one of the asymmetric algorithms we accept (`none`, HS256, PS256…).
    Algorithm,
    /// No published key for this token (by `kid`, or one key without a `kid`).
    UnknownKey,
    /// The key's own `kty`, `crv`, `alg`, `use` or `key_ops` forbid this use.
    KeyMismatch,
}

/// Only asymmetric algorithms check a token someone else signed: a
/// symmetric or `none` token proves nothing.
pub fn accepted(alg: Algorithm) -> Option<SigAlg> {
    match alg {
        Algorithm::RS256 => Some(SigAlg::Rs256),
        Algorithm::RS384 => Some(SigAlg::Rs384),
        Algorithm::ES256 => Some(SigAlg::Es256),
        Algorithm::ES384 => Some(SigAlg::Es384),
        _ => None,
    }
}

pub fn split(token: &str) -> Result<Compact<'_>, JwsError> {
    let (signing_input, sig) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
    if signing_input.matches('.').count() != 1 {
        return Err(JwsError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwsError::Malformed)?;
    let alg = accepted(header.alg).ok_or(JwsError::Algorithm)?;
    let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| JwsError::Malformed)?;
    Ok(Compact { header, alg, signing_input, signature })
}

/// The key that may check this token: by `kid`, or without a `kid` only an
/// unambiguous single key; then the key's own members must allow it
/// (RFC 7517 §4.2–4.4, RFC 8725 §3.1: the key fixes the algorithm).
pub fn key_for<'a>(set: &'a JwkSet, header: &Header, alg: SigAlg) -> Result<PublicJwk<'a>, JwsError> {
    let jwk = match header.kid.as_deref() {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or(JwsError::UnknownKey)?;
    public_jwk(jwk, alg)
}

fn public_jwk(jwk: &Jwk, alg: SigAlg) -> Result<PublicJwk<'_>, JwsError> {
    let c = &jwk.common;
    if c.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature)
        || c.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err(JwsError::KeyMismatch);
    }
    let named = match alg {
        SigAlg::Rs256 => KeyAlgorithm::RS256,
        SigAlg::Rs384 => KeyAlgorithm::RS384,
        SigAlg::Es256 => KeyAlgorithm::ES256,
        SigAlg::Es384 => KeyAlgorithm::ES384,
        SigAlg::Hs256 => return Err(JwsError::Algorithm),
    };
    if c.key_algorithm.is_some_and(|a| a != named) {
        return Err(JwsError::KeyMismatch);
    }
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(k), SigAlg::Rs256 | SigAlg::Rs384) => Ok(PublicJwk::Rsa { n: &k.n, e: &k.e }),
        (AlgorithmParameters::EllipticCurve(k), SigAlg::Es256) if k.curve == EllipticCurve::P256 => {
            Ok(PublicJwk::Ec { crv: "P-256", x: &k.x, y: &k.y })
        }
        (AlgorithmParameters::EllipticCurve(k), SigAlg::Es384) if k.curve == EllipticCurve::P384 => {
            Ok(PublicJwk::Ec { crv: "P-384", x: &k.x, y: &k.y })
        }
        _ => Err(JwsError::KeyMismatch),
    }
}

/// `BASE64URL(header) '.' BASE64URL(claims)`, to be signed.
pub fn signing_input(header: &impl Serialize, claims: &impl Serialize) -> String {
    let part = |json: Vec<u8>| URL_SAFE_NO_PAD.encode(json);
    format!("{}.{}", part(serde_json::to_vec(header).expect("JSON")), part(serde_json::to_vec(claims).expect("JSON")))
}

/// The finished token.
pub fn finish(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An HS256 token (the Jitsi room token: the room's server holds the same secret).
pub async fn sign_hs256(secret: &[u8], claims: &impl Serialize) -> Result<String, CryptoError> {
    let input = signing_input(&serde_json::json!({"alg": "HS256", "typ": "JWT"}), claims);
    let sig = crate::webcrypto::hmac_sha256(secret, input.as_bytes()).await?;
    Ok(finish(&input, &sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn set(keys: Value) -> JwkSet {
        serde_json::from_value(json!({ "keys": keys })).unwrap()
    }

    fn rsa(extra: Value) -> Value {
        let mut k = json!({"kty": "RSA", "n": "sXch", "e": "AQAB"});
        k.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        k
    }

    fn token(header: Value) -> String {
        format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode("{}"), URL_SAFE_NO_PAD.encode([1, 2, 3]))
    }

    #[test]
    fn only_asymmetric_algorithms_and_three_parts() {
        for (alg, want) in [("RS256", SigAlg::Rs256), ("RS384", SigAlg::Rs384), ("ES256", SigAlg::Es256), ("ES384", SigAlg::Es384)] {
            let t = token(json!({"alg": alg}));
            let c = split(&t).unwrap();
            assert_eq!(c.alg, want);
            assert_eq!(c.signature, vec![1, 2, 3]);
            assert_eq!(c.signing_input.matches('.').count(), 1);
        }
        for alg in ["HS256", "PS256", "EdDSA"] {
            assert_eq!(split(&token(json!({"alg": alg}))).unwrap_err(), JwsError::Algorithm, "{alg}");
        }
        assert_eq!(split(&token(json!({"alg": "none"}))).unwrap_err(), JwsError::Malformed, "not an algorithm jsonwebtoken knows");
        assert_eq!(split("a.b").unwrap_err(), JwsError::Malformed);
        assert_eq!(split(&format!("{}.x", token(json!({"alg": "RS256"})))).unwrap_err(), JwsError::Malformed, "four parts");
        assert_eq!(split(&format!("{}!", token(json!({"alg": "RS256"})))).unwrap_err(), JwsError::Malformed, "signature not base64url");
    }

    #[test]
    fn key_by_kid_or_a_single_key_only() {
        let h = |kid: Option<&str>| Header { kid: kid.map(str::to_string), ..Header::new(Algorithm::RS256) };
        let two = set(json!([rsa(json!({"kid": "a", "n": "AAAA"})), rsa(json!({"kid": "b", "n": "BBBB"}))]));
        assert_eq!(key_for(&two, &h(Some("b")), SigAlg::Rs256), Ok(PublicJwk::Rsa { n: "BBBB", e: "AQAB" }));
        assert_eq!(key_for(&two, &h(Some("c")), SigAlg::Rs256), Err(JwsError::UnknownKey));
        assert_eq!(key_for(&two, &h(None), SigAlg::Rs256), Err(JwsError::UnknownKey), "ambiguous without kid");
        let one = set(json!([rsa(json!({}))]));
        assert!(key_for(&one, &h(None), SigAlg::Rs256).is_ok());
    }

    #[test]
    fn the_key_fixes_the_algorithm_and_its_use() {
        let h = Header::new(Algorithm::RS256);
        let check = |k: Value, alg| key_for(&set(json!([k])), &h, alg).map(|k| format!("{k:?}"));
        assert!(check(rsa(json!({"alg": "RS256", "use": "sig", "key_ops": ["verify"]})), SigAlg::Rs256).is_ok());
        assert_eq!(check(rsa(json!({"alg": "RS256"})), SigAlg::Rs384), Err(JwsError::KeyMismatch), "key is for RS256 only");
        assert_eq!(check(rsa(json!({"use": "enc"})), SigAlg::Rs256), Err(JwsError::KeyMismatch));
        assert_eq!(check(rsa(json!({"key_ops": ["encrypt"]})), SigAlg::Rs256), Err(JwsError::KeyMismatch));
        assert_eq!(check(rsa(json!({})), SigAlg::Es256), Err(JwsError::KeyMismatch), "RSA key, EC token");
        let ec = |crv: &str| json!({"kty": "EC", "crv": crv, "x": "xx", "y": "yy"});
        assert_eq!(check(ec("P-256"), SigAlg::Es256), Ok(format!("{:?}", PublicJwk::Ec { crv: "P-256", x: "xx", y: "yy" })));
        assert_eq!(check(ec("P-384"), SigAlg::Es384), Ok(format!("{:?}", PublicJwk::Ec { crv: "P-384", x: "xx", y: "yy" })));
        assert_eq!(check(ec("P-384"), SigAlg::Es256), Err(JwsError::KeyMismatch), "curve must match");
        assert_eq!(check(ec("P-256"), SigAlg::Rs256), Err(JwsError::KeyMismatch));
    }

    #[test]
    fn signing_input_and_finish_are_compact_serialisation() {
        let input = signing_input(&json!({"alg": "HS256"}), &json!({"a": 1}));
        assert_eq!(input, "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ");
        assert_eq!(finish(&input, &[0xfb, 0xff]), "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.-_8");
    }
}
