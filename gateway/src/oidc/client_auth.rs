//! How the gateway proves itself at the token endpoint: `client_secret_basic`
//! with a secret from a Worker secret, or `private_key_jwt` with an ES384
//! assertion per SMART's asymmetric profile (`iss` = `sub` = client_id,
//! `aud` = token URL, `exp` ≤ 5 min, unique `jti`), whose public key the
//! gateway publishes at `/.well-known/jwks.json`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::Response;

use super::jws;
use crate::ctx::Ctx;
use crate::error::Error;
use crate::secrets::Secret;
use crate::webcrypto::{self, EcSigningKey};

/// Worker secret with the PKCS#8 PEM of the P-384 assertion key.
pub const ASSERTION_KEY_SECRET: &str = "CLIENT_ASSERTION_KEY";
pub const ASSERTION_TTL_SECS: u64 = 300;

/// `Authorization` value for client_secret_basic (RFC 6749 §2.3.1: both
/// parts form-urlencoded before base64).
pub fn basic_auth(client_id: &str, secret: &Secret) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret.expose()))))
}

/// The gateway's ES384 key for `private_key_jwt`, held by the runtime
/// (WebCrypto, not extractable): only its public half is ever in wasm.
#[derive(Debug)]
pub struct AssertionKey {
    signing: EcSigningKey,
    pub kid: String,
    pub public_jwk: Value,
}

/// The DER inside a PKCS#8 PEM (`BEGIN PRIVATE KEY`; RFC 7468 §10).
pub fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|r| r.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or("not a PKCS#8 PEM (BEGIN PRIVATE KEY)")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| "the PEM's body is not base64".to_string())
}

/// The public JWK and its RFC 7638 thumbprint as `kid` (required members,
/// lexicographic order, no spaces).
pub fn public_jwk(x: &str, y: &str) -> (String, Value) {
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(format!(r#"{{"crv":"P-384","kty":"EC","x":"{x}","y":"{y}"}}"#).as_bytes()));
    let jwk = json!({"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": kid, "alg": "ES384", "use": "sig", "key_ops": ["verify"]});
    (kid, jwk)
}

/// SMART's asymmetric profile: `iss` = `sub` = client_id, `aud` = token URL,
/// `exp` 5 minutes on, a unique `jti`.
pub fn assertion_claims(client_id: &str, token_url: &str, now: u64, jti: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "exp": now + ASSERTION_TTL_SECS, "jti": jti})
}

impl AssertionKey {
    pub async fn from_pem(pem: &str) -> Result<Self, String> {
        let der = pkcs8_der(pem)?;
        let signing = webcrypto::import_p384_pkcs8(&der).await.map_err(|e| format!("not a PKCS#8 P-384 key: {}", e.0))?;
        let (kid, public_jwk) = public_jwk(&signing.x, &signing.y);
        Ok(AssertionKey { signing, kid, public_jwk })
    }

    pub async fn assertion(&self, client_id: &str, token_url: &str, now: u64, jti: &str) -> Result<String, Error> {
        let header = json!({"alg": "ES384", "typ": "JWT", "kid": self.kid});
        let input = jws::signing_input(&header, &assertion_claims(client_id, token_url, now, jti));
        let sig = webcrypto::sign_es384(&self.signing, input.as_bytes())
            .await
            .map_err(|e| Error::new(500, "launch_signing_failed", format!("The gateway could not sign its client assertion ({}).", e.0)))?;
        Ok(jws::finish(&input, &sig))
    }
}

thread_local! {
    static ASSERTION_KEY: std::cell::RefCell<Option<std::rc::Rc<AssertionKey>>> = const { std::cell::RefCell::new(None) };
}

/// The gateway's assertion key, imported once per isolate.
pub async fn assertion_key(ctx: &Ctx) -> Result<std::rc::Rc<AssertionKey>, Error> {
    if let Some(k) = ASSERTION_KEY.with(|c| c.borrow().clone()) {
        return Ok(k);
    }
    let missing = |why: &str| {
        if !why.is_empty() {
            worker::console_error!("{ASSERTION_KEY_SECRET}: {why}");
        }
        Error::new(
            500,
            "launch_signing_key_missing",
            format!("The gateway's signing key (Worker secret {ASSERTION_KEY_SECRET}) is not set up. Ask your Visitgate administrator."),
        )
    };
    let pem = ctx.secret(ASSERTION_KEY_SECRET).ok_or_else(|| missing(""))?;
    let key = std::rc::Rc::new(AssertionKey::from_pem(pem.expose()).await.map_err(|e| missing(&e))?);
    ASSERTION_KEY.with(|c| *c.borrow_mut() = Some(key.clone()));
    Ok(key)
}

/// `GET /.well-known/jwks.json`: the public half of the client-assertion key
/// (empty set when private_key_jwt is not set up).
pub async fn jwks(ctx: &Ctx) -> crate::error::Result<Response> {
    let keys: Vec<Value> = assertion_key(ctx).await.map(|k| vec![k.public_jwk.clone()]).unwrap_or_default();
    let mut resp = crate::http::json(200, &json!({ "keys": keys }))?;
    resp.headers_mut().set("cache-control", "public, max-age=300")?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    //! Signing is WebCrypto's: the EHR sandbox checks every assertion the
    //! Worker sends against /.well-known/jwks.json (tests/e2e/launch.test.mjs).
    use super::*;

    const PEM: &str = include_str!("../../tests/keys/test-p384.pem");

    #[test]
    fn pem_body_is_the_der() {
        let der = pkcs8_der(PEM).unwrap();
        assert_eq!(der[0], 0x30, "a DER SEQUENCE");
        assert!(der.len() > 150);
        assert!(pkcs8_der("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----").is_err(), "SEC1, not PKCS#8");
        assert!(pkcs8_der("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----").is_err());
    }

    #[test]
    fn published_key_and_claims_follow_the_asymmetric_profile() {
        let (kid, jwk) = public_jwk("xx", "yy");
        // SHA-256 of {"crv":"P-384","kty":"EC","x":"xx","y":"yy"}, base64url (python3 hashlib).
        assert_eq!(kid, "XfAh7taWy8GbxeVnR5MQOHk7D3aCrInG5e7JQWbxLNE");
        assert_eq!(jwk["kid"], kid.as_str());
        assert_eq!((jwk["alg"].as_str(), jwk["crv"].as_str(), jwk.get("d")), (Some("ES384"), Some("P-384"), None));
        let c = assertion_claims("client-1", "https://auth.example.org/token", 1_000, "jti-1");
        assert_eq!(
            (c["iss"].as_str(), c["sub"].as_str(), c["aud"].as_str()),
            (Some("client-1"), Some("client-1"), Some("https://auth.example.org/token"))
        );
        assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 300);
        assert_eq!(c["jti"], "jti-1");
    }

    #[test]
    fn basic_auth_encodes_reserved_characters() {
        let v = basic_auth("my client", &Secret::new("p:ss&".into()));
        let decoded = String::from_utf8(STANDARD.decode(v.strip_prefix("Basic ").unwrap()).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%3Ass%26");
        assert_eq!(format!("{:?}", Secret::new("x".to_string())), "[redacted]");
    }
}
