//! OpenID Provider discovery (OpenID Connect Discovery 1.0) for the admin
//! sign-in, kept in this isolate's memory for an hour with the provider's
//! keys, so a sign-in normally costs one round trip (the code exchange).

use std::cell::RefCell;
use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use shared::fhir_url::is_acceptable_endpoint;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::upstream::get_json;

const TTL_SECS: u64 = 3600;
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub meta: ProviderMetadata,
    pub keys: Option<JwkSet>,
    fetched_at: u64,
}

thread_local! {
    static MEMORY: RefCell<HashMap<String, Provider>> = RefCell::new(HashMap::new());
}

pub fn metadata_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// The document must be the configured issuer's own (Discovery §4.3) and
/// point only at https endpoints.
pub fn check(meta: ProviderMetadata, issuer: &str, dev_mode: bool) -> Result<ProviderMetadata, String> {
    if meta.issuer != issuer {
        return Err(format!("it names the issuer {} instead of {issuer}", meta.issuer));
    }
    for (name, v) in
        [("authorization_endpoint", &meta.authorization_endpoint), ("token_endpoint", &meta.token_endpoint), ("jwks_uri", &meta.jwks_uri)]
    {
        if !is_acceptable_endpoint(v, dev_mode) {
            return Err(format!("its {name} {v} is not https"));
        }
    }
    Ok(meta)
}

fn failed(what: &str, url: &str, why: String) -> Error {
    Error::new(502, "signin_provider_unavailable", format!("Your organisation's sign-in service could not be reached ({what} at {url}: {why}). Try again in a minute; if it keeps happening, check the ADMIN_OIDC issuer."))
}

pub async fn provider(ctx: &Ctx, issuer: &str) -> Result<Provider, Error> {
    let now = crate::clock::now_secs();
    if let Some(p) = MEMORY.with(|m| m.borrow().get(issuer).cloned()).filter(|p| now < p.fetched_at + TTL_SECS) {
        return Ok(p);
    }
    let url = metadata_url(issuer);
    let meta: ProviderMetadata = get_json(&url, "OpenID configuration", TIMEOUT, |why| failed("OpenID configuration", &url, why)).await?;
    let meta = check(meta, issuer, ctx.dev_mode).map_err(|why| failed("OpenID configuration", &url, why))?;
    let p = Provider { meta, keys: None, fetched_at: now };
    MEMORY.with(|m| m.borrow_mut().insert(issuer.to_string(), p.clone()));
    Ok(p)
}

/// The provider's signing keys; `force` after an unknown `kid` (rotation).
pub async fn keys(issuer: &str, p: &Provider, force: bool) -> Result<JwkSet, Error> {
    if let (false, Some(k)) = (force, &p.keys) {
        return Ok(k.clone());
    }
    let url = &p.meta.jwks_uri;
    let set: JwkSet = get_json(url, "JWK set", TIMEOUT, |why| failed("signing keys", url, why)).await?;
    MEMORY.with(|m| {
        if let Some(cached) = m.borrow_mut().get_mut(issuer) {
            cached.keys = Some(set.clone());
        }
    });
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(issuer: &str, token: &str) -> ProviderMetadata {
        serde_json::from_value(serde_json::json!({
            "issuer": issuer, "authorization_endpoint": "https://login.example/t/authorize",
            "token_endpoint": token, "jwks_uri": "https://login.example/t/keys",
        }))
        .unwrap()
    }

    #[test]
    fn the_document_must_be_the_issuers_own_and_https() {
        let iss = "https://login.example/t/v2.0";
        assert!(check(meta(iss, "https://login.example/t/token"), iss, false).is_ok());
        assert!(check(meta("https://evil.example/v2.0", "https://login.example/t/token"), iss, false).unwrap_err().contains("instead of"));
        assert!(check(meta(iss, "http://login.example/t/token"), iss, false).unwrap_err().contains("not https"));
        assert_eq!(metadata_url("https://login.example/t/v2.0/"), "https://login.example/t/v2.0/.well-known/openid-configuration");
    }
}
