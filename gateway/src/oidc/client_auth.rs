//! How the gateway proves itself at the token endpoint: `client_secret_basic`
//! with a secret from a Worker secret, or `private_key_jwt` with an ES384
//! assertion per SMART's asymmetric profile (`iss` = `sub` = client_id,
//! `aud` = token URL, `exp` ≤ 5 min, unique `jti`), whose public key the
//! gateway publishes at `/.well-known/jwks.json`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p384::elliptic_curve::sec1::ToEncodedPoint;
use p384::pkcs8::DecodePrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::Response;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::secrets::Secret;

/// Worker secret with the PKCS#8 PEM of the P-384 assertion key.
pub const ASSERTION_KEY_SECRET: &str = "CLIENT_ASSERTION_KEY";
pub const ASSERTION_TTL_SECS: u64 = 300;

/// `Authorization` value for client_secret_basic (RFC 6749 §2.3.1: both
/// parts form-urlencoded before base64).
pub fn basic_auth(client_id: &str, secret: &Secret) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret.expose()))))
}

/// The gateway's ES384 key for `private_key_jwt` (the private half never
/// prints: it is a [`Secret`]).
pub struct AssertionKey {
    encoding: Secret<EncodingKey>,
    pub kid: String,
    pub public_jwk: Value,
}

impl std::fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssertionKey {{ kid: {}, private: {:?} }}", self.kid, self.encoding)
    }
}

impl AssertionKey {
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let secret = p384::SecretKey::from_pkcs8_pem(pem).map_err(|e| format!("not a PKCS#8 P-384 key: {e}"))?;
        let point = secret.public_key().to_encoded_point(false);
        let (x, y) = (URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed")), URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed")));
        // RFC 7638 thumbprint: required members, lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"crv":"P-384","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| format!("unusable key: {e}"))?;
        let public_jwk =
            json!({"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": kid, "alg": "ES384", "use": "sig", "key_ops": ["verify"]});
        Ok(AssertionKey { encoding: Secret::new(encoding), kid, public_jwk })
    }

    pub fn assertion(&self, client_id: &str, token_url: &str, now: u64, jti: &str) -> String {
        let mut header = Header::new(Algorithm::ES384);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": token_url,
            "iat": now, "exp": now + ASSERTION_TTL_SECS, "jti": jti,
        });
        encode(&header, &claims, self.encoding.expose()).expect("ES384 signing with a parsed key")
    }
}

thread_local! {
    static ASSERTION_KEY: std::cell::OnceCell<Option<std::rc::Rc<AssertionKey>>> = const { std::cell::OnceCell::new() };
}

/// The gateway's assertion key, parsed once per isolate.
pub fn assertion_key(ctx: &Ctx) -> Result<std::rc::Rc<AssertionKey>, Error> {
    ASSERTION_KEY
        .with(|cell| {
            cell.get_or_init(|| {
                let pem = ctx.secret(ASSERTION_KEY_SECRET)?;
                match AssertionKey::from_pem(pem.expose()) {
                    Ok(k) => Some(std::rc::Rc::new(k)),
                    Err(e) => {
                        worker::console_error!("{ASSERTION_KEY_SECRET}: {e}");
                        None
                    }
                }
            })
            .clone()
        })
        .ok_or_else(|| {
            Error::new(
                500,
                "launch_signing_key_missing",
                format!(
                    "The gateway's signing key (Worker secret {ASSERTION_KEY_SECRET}) is not set up. Ask your Visitgate administrator."
                ),
            )
        })
}

/// `GET /.well-known/jwks.json`: the public half of the client-assertion key
/// (empty set when private_key_jwt is not set up).
pub fn jwks(ctx: &Ctx) -> crate::error::Result<Response> {
    let keys: Vec<Value> = assertion_key(ctx).map(|k| vec![k.public_jwk.clone()]).unwrap_or_default();
    let mut resp = crate::http::json(200, &json!({ "keys": keys }))?;
    resp.headers_mut().set("cache-control", "public, max-age=300")?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    const PEM: &str = include_str!("../../tests/keys/test-p384.pem");

    #[test]
    fn assertion_follows_the_asymmetric_profile_and_verifies_with_the_published_key() {
        let key = AssertionKey::from_pem(PEM).unwrap();
        let token = key.assertion("client-1", "https://auth.example.org/token", 1_000, "jti-1");
        let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
        let mut v = Validation::new(Algorithm::ES384);
        v.validate_exp = false;
        v.set_audience(&["https://auth.example.org/token"]);
        let claims = decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap().claims;
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["jti"], "jti-1");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(header.alg, Algorithm::ES384);
        assert!(!format!("{key:?}").contains("BEGIN"));
    }

    #[test]
    fn basic_auth_encodes_reserved_characters() {
        let v = basic_auth("my client", &Secret::new("p:ss&".into()));
        let decoded = String::from_utf8(STANDARD.decode(v.strip_prefix("Basic ").unwrap()).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%3Ass%26");
        assert_eq!(format!("{:?}", Secret::new("x".to_string())), "[redacted]");
    }
}
