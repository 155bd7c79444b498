//! SMART discovery of an `iss`, cached so that a warm launch makes no
//! discovery round trip: first in this isolate's memory, then in KV
//! (`discovery:{iss}`, one hour), and only then over the network. The JWKS
//! rides along once the first callback has fetched it. A failing cached
//! entry is refreshed (`refresh`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};
use shared::fhir_url::is_acceptable_endpoint;
use shared::kv_keys;
use shared::smart::SmartConfiguration;
use shared::validation::smart_configuration_url;

use crate::ctx::Ctx;
use crate::error::Error;
use crate::upstream::get_json;

pub const TTL_SECS: u64 = 3600;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub jwks: Option<JwkSet>,
    /// Unix seconds; entries older than [`TTL_SECS`] are fetched again.
    pub fetched_at: u64,
}

/// The launch cannot go on without the EHR's SMART configuration.
pub fn discovery_error(url: &str, why: &str) -> Error {
    Error::new(
        502,
        "discovery_failed",
        format!("The EHR's SMART configuration could not be read from {url} ({why}). Try again in a minute; if it keeps happening, the FHIR base needs re-validating in the admin portal."),
    )
}

thread_local! {
    static MEMORY: RefCell<HashMap<String, Discovery>> = RefCell::new(HashMap::new());
}

/// Checks a discovery document for what a launch needs.
pub fn from_config(c: SmartConfiguration, dev_mode: bool, now: u64) -> Result<Discovery, String> {
    let need = |name: &str, v: Option<String>| -> Result<String, String> {
        let v = v.ok_or_else(|| format!("the SMART configuration has no {name}"))?;
        if is_acceptable_endpoint(&v, dev_mode) {
            Ok(v)
        } else {
            Err(format!("the {name} {v} is not https"))
        }
    };
    Ok(Discovery {
        authorization_endpoint: need("authorization_endpoint", c.authorization_endpoint)?,
        token_endpoint: need("token_endpoint", c.token_endpoint)?,
        jwks_uri: need("jwks_uri", c.jwks_uri)?,
        issuer: c.issuer.ok_or("the SMART configuration has no issuer")?,
        capabilities: c.capabilities,
        jwks: None,
        fetched_at: now,
    })
}

fn fresh(d: &Discovery, now: u64) -> bool {
    now < d.fetched_at + TTL_SECS
}

pub fn remember(ctx: &Ctx, iss: &str, d: &Discovery) {
    MEMORY.with(|m| m.borrow_mut().insert(iss.to_string(), d.clone()));
    let Ok(kv) = crate::storage::kv::store(&ctx.env) else { return };
    let key = kv_keys::discovery(iss);
    let Ok(value) = serde_json::to_string(d) else { return };
    ctx.background(async move {
        if let Ok(put) = kv.put(&key, value) {
            let _ = put.expiration_ttl(TTL_SECS).execute().await;
        }
    });
}

/// Whether this isolate has a fresh discovery for `iss` (no KV read needed).
pub fn in_memory(iss: &str) -> bool {
    let now = crate::clock::now_secs();
    MEMORY.with(|m| m.borrow().get(iss).is_some_and(|d| fresh(d, now)))
}

/// The cached discovery for `iss` (memory, else the KV copy the caller read
/// alongside the launch index), else fetched.
pub async fn get_cached(ctx: &Ctx, iss: &str, kv_copy: Option<Discovery>) -> Result<Discovery, Error> {
    let now = crate::clock::now_secs();
    if let Some(d) = MEMORY.with(|m| m.borrow().get(iss).cloned()).filter(|d| fresh(d, now)) {
        return Ok(d);
    }
    if let Some(d) = kv_copy.filter(|d| fresh(d, now)) {
        MEMORY.with(|m| m.borrow_mut().insert(iss.to_string(), d.clone()));
        return Ok(d);
    }
    refresh(ctx, iss).await
}

pub async fn refresh(ctx: &Ctx, iss: &str) -> Result<Discovery, Error> {
    let url = smart_configuration_url(iss);
    let failed = |why: String| discovery_error(&url, &why);
    let config: SmartConfiguration = get_json(&url, "SMART configuration", TIMEOUT, failed).await?;
    let d = from_config(config, ctx.dev_mode, crate::clock::now_secs()).map_err(failed)?;
    remember(ctx, iss, &d);
    Ok(d)
}

/// The issuer's signing keys, from the cache unless `force` (an unknown
/// `kid` means the EHR rotated its keys).
pub async fn jwks(ctx: &Ctx, iss: &str, d: &Discovery, force: bool) -> Result<JwkSet, Error> {
    if !force {
        if let Some(set) = &d.jwks {
            return Ok(set.clone());
        }
    }
    let failed = |why: String| {
        Error::new(
            502,
            "jwks_unavailable",
            format!(
                "The EHR's signing keys could not be read from {} ({why}). Try again; if it keeps happening, contact support.",
                d.jwks_uri
            ),
        )
    };
    let set: JwkSet = get_json(&d.jwks_uri, "JWK set", TIMEOUT, failed).await?;
    let mut updated = d.clone();
    updated.jwks = Some(set.clone());
    remember(ctx, iss, &updated);
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_needs_endpoints_issuer_and_keys() {
        let fixture = include_str!("../../../tests/fixtures/oracle-health/smart-configuration.json");
        let c: SmartConfiguration = serde_json::from_str(fixture).unwrap();
        let d = from_config(c.clone(), false, 5).unwrap();
        assert!(d.token_endpoint.ends_with("/token") && d.fetched_at == 5);
        let mut no_jwks = c.clone();
        no_jwks.jwks_uri = None;
        assert!(from_config(no_jwks, false, 0).unwrap_err().contains("jwks_uri"));
        let mut http = c;
        http.token_endpoint = Some("http://evil.example/token".into());
        assert!(from_config(http, true, 0).unwrap_err().contains("not https"));
    }
}
