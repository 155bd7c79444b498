//! id_tokens and JWKS from an EHR or an OpenID provider: `token\njwks`.
#![no_main]
use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (token, jwks) = s.split_once('\n').unwrap_or((s, ""));
    let keys: JwkSet = serde_json::from_str(jwks).unwrap_or(JwkSet { keys: vec![] });
    let verified = gateway::oidc::id_token::verify(token, &keys, "https://ehr.example/r4", "vg-client", "nonce-1", 1_800_000_000);
    if let Ok(claims) = verified {
        // Nothing the fuzzer can type carries a valid asymmetric signature.
        panic!("a forged id_token was accepted: {:?}", claims.fhir_user);
    }
});
