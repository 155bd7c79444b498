//! id_token verification (OpenID Connect Core §3.1.3.7 as SMART uses it):
//! signature against the issuer's JWKS, then `iss`, `aud`, `exp`, `nonce`
//! and `fhirUser`, with the clock passed in so expiry is testable.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Allowed clock difference between the EHR and us.
pub const LEEWAY_SECS: u64 = 60;
/// Only asymmetric algorithms: a symmetric or `none` token proves nothing.
const ALLOWED: [Algorithm; 4] = [Algorithm::RS256, Algorithm::RS384, Algorithm::ES256, Algorithm::ES384];

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

fn key_for<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        // Without a kid only an unambiguous single key will do.
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

/// SMART's id_token: the OpenID Connect checks plus a `fhirUser`.
pub fn verify(token: &str, keys: &JwkSet, issuer: &str, client_id: &str, nonce: &str, now: u64) -> Result<IdTokenClaims, IdTokenError> {
    let claims = verify_oidc(token, keys, issuer, client_id, nonce, now)?;
    if claims.fhir_user.as_deref().is_none_or(str::is_empty) {
        return Err(IdTokenError::NoFhirUser);
    }
    Ok(claims)
}

/// OpenID Connect Core §3.1.3.7: signature, `iss`, `aud`, `exp`, `nonce`.
pub fn verify_oidc(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: u64,
) -> Result<IdTokenClaims, IdTokenError> {
    let header = decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ALLOWED.contains(&header.alg) {
        return Err(IdTokenError::UnsupportedAlgorithm);
    }
    let jwk = key_for(keys, header.kid.as_deref()).ok_or(IdTokenError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    // Time, audience and issuer are checked below, against our own clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<IdTokenClaims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => IdTokenError::UnsupportedAlgorithm,
            _ => IdTokenError::Malformed,
        })?
        .claims;
    if claims.iss != issuer {
        return Err(IdTokenError::Issuer);
    }
    if !claims.aud.contains(client_id) {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + LEEWAY_SECS <= now {
        return Err(IdTokenError::Expired);
    }
    if !crate::crypto::constant_time_eq(claims.nonce.as_deref().unwrap_or_default(), nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::{json, Value};

    const PEM: &str = include_str!("../../tests/keys/test-rsa.pem");
    const N: &str = include_str!("../../tests/keys/test-rsa.n");
    const ISS: &str = "https://auth.example.org/tenants/t1";
    const NOW: u64 = 1_800_000_000;

    fn keys(kid: Option<&str>) -> JwkSet {
        let mut k = json!({"kty": "RSA", "n": N.trim(), "e": "AQAB", "alg": "RS256", "use": "sig"});
        if let Some(kid) = kid {
            k["kid"] = json!(kid);
        }
        serde_json::from_value(json!({ "keys": [k] })).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": ISS, "sub": "p1", "aud": "client-1", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
               "fhirUser": "https://fhir.example.org/r4/t1/Practitioner/p1"})
    }

    fn sign(claims: &Value, kid: Option<&str>) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = kid.map(str::to_string);
        encode(&h, claims, &EncodingKey::from_rsa_pem(PEM.as_bytes()).unwrap()).unwrap()
    }

    fn check(token: &str, set: &JwkSet) -> Result<IdTokenClaims, IdTokenError> {
        verify(token, set, ISS, "client-1", "n-1", NOW)
    }

    #[test]
    fn a_good_token_passes_with_or_without_kid() {
        let c = check(&sign(&claims(), Some("k1")), &keys(Some("k1"))).unwrap();
        assert_eq!(c.fhir_user.as_deref(), Some("https://fhir.example.org/r4/t1/Practitioner/p1"));
        assert!(check(&sign(&claims(), None), &keys(None)).is_ok(), "single key without kid");
        let mut many = claims();
        many["aud"] = json!(["other", "client-1"]);
        assert!(check(&sign(&many, Some("k1")), &keys(Some("k1"))).is_ok());
    }

    #[test]
    fn each_rule_refuses_its_bad_input() {
        let set = keys(Some("k1"));
        let with = |field: &str, v: Value| {
            let mut c = claims();
            c[field] = v;
            check(&sign(&c, Some("k1")), &set)
        };
        assert_eq!(with("iss", json!("https://evil.example")), Err(IdTokenError::Issuer));
        assert_eq!(with("aud", json!("someone-else")), Err(IdTokenError::Audience));
        assert_eq!(with("exp", json!(NOW - LEEWAY_SECS)), Err(IdTokenError::Expired));
        assert!(with("exp", json!(NOW - 10)).is_ok(), "within leeway");
        assert_eq!(with("nonce", json!("other")), Err(IdTokenError::Nonce));
        assert_eq!(with("fhirUser", json!("")), Err(IdTokenError::NoFhirUser));
        let mut no_user = claims();
        no_user.as_object_mut().unwrap().remove("fhirUser");
        assert_eq!(check(&sign(&no_user, Some("k1")), &set), Err(IdTokenError::NoFhirUser));
    }

    #[test]
    fn signature_key_and_algorithm_rules() {
        let set = keys(Some("k1"));
        let token = sign(&claims(), Some("k1"));
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let flipped = format!("{rest}.{}{}", if sig.starts_with('A') { "B" } else { "A" }, &sig[1..]);
        assert_eq!(check(&flipped, &set), Err(IdTokenError::Signature));
        assert_eq!(check(&sign(&claims(), Some("k2")), &set), Err(IdTokenError::UnknownKey));
        let two: JwkSet = serde_json::from_value(json!({"keys": [
            serde_json::to_value(&keys(None).keys[0]).unwrap(), serde_json::to_value(&keys(None).keys[0]).unwrap()
        ]}))
        .unwrap();
        assert_eq!(check(&sign(&claims(), None), &two), Err(IdTokenError::UnknownKey), "ambiguous without kid");
        let hs = encode(&Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(b"k")).unwrap();
        assert_eq!(check(&hs, &set), Err(IdTokenError::UnsupportedAlgorithm));
        assert_eq!(check("not.a.jwt", &set), Err(IdTokenError::Malformed));
    }
}
