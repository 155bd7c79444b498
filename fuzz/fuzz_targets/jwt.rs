//! id_tokens and JWKS from an EHR or an OpenID provider: `token\njwks`.
//! The signature is WebCrypto's (in workerd); what runs in wasm around it —
//! splitting the token, choosing the key, reading the claims — must never
//! panic, and no key may be chosen for an algorithm it does not allow.
#![no_main]
use gateway::oidc::id_token::{check, Expect};
use gateway::oidc::jws::{key_for, split};
use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (token, jwks) = s.split_once('\n').unwrap_or((s, ""));
    let keys: JwkSet = serde_json::from_str(jwks).unwrap_or(JwkSet { keys: vec![] });
    if let Ok(c) = split(token) {
        if let (Ok(_), Some(kid)) = (key_for(&keys, &c.header, c.alg), c.header.kid.as_deref()) {
            let jwk = keys.find(kid).expect("the chosen key is the one with the token's kid");
            assert!(jwk.common.key_algorithm.is_none_or(|a| format!("{a:?}") == format!("{:?}", c.header.alg)));
        }
    }
    let expect = Expect { issuer: "https://ehr.example/r4", client_id: "vg-client", nonce: "nonce-1", now: 1_800_000_000, fhir_user: true };
    let _ = check(token, expect);
});
