//! id_token verification (OpenID Connect Core §3.1.3.7 as SMART uses it):
//! signature against the issuer's JWKS (WebCrypto), then `iss`, `aud`,
//! `exp`, `nonce` and `fhirUser`, with the clock passed in so expiry is
//! testable. Everything but the signature math is [`check`], on the host.

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::jws::{self, JwsError};

/// Allowed clock difference between the EHR and us.
pub const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            Audience::One(a) => a == client_id,
            Audience::Many(list) => list.iter().any(|a| a == client_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: u64,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default, rename = "fhirUser")]
    pub fhir_user: Option<String>,
    /// Every other claim (the admin sign-in maps roles from these).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenError {
    Malformed,
    UnsupportedAlgorithm,
    /// No key with the token's `kid` (maybe rotated: refresh the JWKS once).
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Expired,
    Nonce,
    NoFhirUser,
}

impl IdTokenError {
    pub fn code(self) -> &'static str {
        match self {
            IdTokenError::Malformed => "id_token_malformed",
            IdTokenError::UnsupportedAlgorithm => "id_token_algorithm",
            IdTokenError::UnknownKey => "id_token_unknown_key",
            IdTokenError::Signature => "id_token_signature",
            IdTokenError::Issuer => "id_token_issuer",
            IdTokenError::Audience => "id_token_audience",
            IdTokenError::Expired => "id_token_expired",
            IdTokenError::Nonce => "id_token_nonce",
            IdTokenError::NoFhirUser => "id_token_no_fhir_user",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            IdTokenError::Malformed => "The EHR's sign-in token could not be read.",
            IdTokenError::UnsupportedAlgorithm => "The EHR's sign-in token uses a signature algorithm Visitgate does not accept.",
            IdTokenError::UnknownKey => "The EHR's sign-in token was signed with a key the EHR does not publish.",
            IdTokenError::Signature => "The EHR's sign-in token has an invalid signature, so it was refused.",
            IdTokenError::Issuer => "The EHR's sign-in token was issued by someone other than this EHR's sign-in server.",
            IdTokenError::Audience => "The EHR's sign-in token was meant for another application.",
            IdTokenError::Expired => "The EHR's sign-in token has expired. Check the computer's clock and launch again.",
            IdTokenError::Nonce => "The EHR's sign-in token does not belong to this sign-in (nonce mismatch). Launch again from the EHR.",
            IdTokenError::NoFhirUser => {
                "The EHR did not say which clinician signed in (no fhirUser). Check that the app registration grants the fhirUser scope."
            }
        }
    }
}

impl From<JwsError> for IdTokenError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::Malformed => IdTokenError::Malformed,
            JwsError::Algorithm => IdTokenError::UnsupportedAlgorithm,
            JwsError::UnknownKey | JwsError::KeyMismatch => IdTokenError::UnknownKey,
        }
    }
}

/// What the sign-in expects of the token.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: u64,
    /// SMART's id_token must say who signed in.
    pub fhir_user: bool,
}

/// OpenID Connect Core §3.1.3.7: the signature, then [`check`].
pub async fn verify(token: &str, keys: &JwkSet, expect: Expect<'_>) -> Result<IdTokenClaims, IdTokenError> {
    let c = jws::split(token)?;
    let key = jws::key_for(keys, &c.header, c.alg)?;
    // A key the runtime will not import is as good as no key.
    let good =
        crate::webcrypto::verify(c.alg, &key, c.signing_input.as_bytes(), &c.signature).await.map_err(|_| IdTokenError::UnknownKey)?;
    if !good {
        return Err(IdTokenError::Signature);
    }
    check(token, expect)
}

/// The claims of a token whose signature holds.
pub fn check(token: &str, expect: Expect<'_>) -> Result<IdTokenClaims, IdTokenError> {
    let claims: IdTokenClaims = jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| IdTokenError::Malformed)?;
    if claims.iss != expect.issuer {
        return Err(IdTokenError::Issuer);
    }
    if !claims.aud.contains(expect.client_id) {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + LEEWAY_SECS <= expect.now {
        return Err(IdTokenError::Expired);
    }
    if !crate::crypto::constant_time_eq(claims.nonce.as_deref().unwrap_or_default(), expect.nonce) {
        return Err(IdTokenError::Nonce);
    }
    if expect.fhir_user && claims.fhir_user.as_deref().is_none_or(str::is_empty) {
        return Err(IdTokenError::NoFhirUser);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    //! The signature itself is WebCrypto's: tests/e2e/launch-rules.test.mjs
    //! and admin-signin.test.mjs feed the Worker bad signatures and each
    //! algorithm; here, every other rule.
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::{json, Value};

    const ISS: &str = "https://auth.example.org/tenants/t1";
    const NOW: u64 = 1_800_000_000;

    fn claims() -> Value {
        json!({"iss": ISS, "sub": "p1", "aud": "client-1", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
               "fhirUser": "https://fhir.example.org/r4/t1/Practitioner/p1"})
    }

    fn token(claims: &Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", part(&json!({"alg": "RS256", "kid": "k1"})), part(claims))
    }

    fn expect(fhir_user: bool) -> Expect<'static> {
        Expect { issuer: ISS, client_id: "client-1", nonce: "n-1", now: NOW, fhir_user }
    }

    #[test]
    fn good_claims_pass_with_one_or_many_audiences() {
        let c = check(&token(&claims()), expect(true)).unwrap();
        assert_eq!(c.fhir_user.as_deref(), Some("https://fhir.example.org/r4/t1/Practitioner/p1"));
        let mut many = claims();
        many["aud"] = json!(["other", "client-1"]);
        assert!(check(&token(&many), expect(true)).is_ok());
        assert_eq!(c.other.get("iat"), Some(&json!(NOW)), "other claims are kept for role mapping");
    }

    #[test]
    fn each_rule_refuses_its_bad_input() {
        let with = |field: &str, v: Value| {
            let mut c = claims();
            c[field] = v;
            check(&token(&c), expect(true))
        };
        assert_eq!(with("iss", json!("https://evil.example")), Err(IdTokenError::Issuer));
        assert_eq!(with("aud", json!("someone-else")), Err(IdTokenError::Audience));
        assert_eq!(with("aud", json!(["a", "b"])), Err(IdTokenError::Audience));
        assert_eq!(with("exp", json!(NOW - LEEWAY_SECS)), Err(IdTokenError::Expired));
        assert!(with("exp", json!(NOW - 10)).is_ok(), "within leeway");
        assert_eq!(with("nonce", json!("other")), Err(IdTokenError::Nonce));
        assert_eq!(with("fhirUser", json!("")), Err(IdTokenError::NoFhirUser));
        let mut no_user = claims();
        no_user.as_object_mut().unwrap().remove("fhirUser");
        assert_eq!(check(&token(&no_user), expect(true)), Err(IdTokenError::NoFhirUser));
        assert!(check(&token(&no_user), expect(false)).is_ok(), "plain OpenID Connect needs no fhirUser");
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(&token(&no_nonce), expect(true)), Err(IdTokenError::Nonce));
        assert_eq!(check("a.bm90IGpzb24.c2ln", expect(true)), Err(IdTokenError::Malformed));
    }

    #[test]
    fn header_and_key_problems_have_their_own_codes() {
        assert_eq!(IdTokenError::from(JwsError::Algorithm).code(), "id_token_algorithm");
        assert_eq!(IdTokenError::from(JwsError::KeyMismatch).code(), "id_token_unknown_key");
        assert_eq!(IdTokenError::from(JwsError::Malformed).code(), "id_token_malformed");
    }
}
