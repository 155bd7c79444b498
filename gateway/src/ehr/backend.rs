//! SMART Backend Services: an app-only access token by client credentials
//! with a `private_key_jwt` assertion and `system/` scopes, for work that
//! happens without a clinician (sending a patient their link, reminders).
//! Cached per FHIR base until shortly before it expires.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use shared::smart::backend_scopes;
use shared::tenant::IssEntry;
use worker::{Headers, Method};

use super::discovery;
use super::token::AccessToken;
use crate::ctx::Ctx;
use crate::error::Error;
use crate::oidc::client_auth::assertion_key;
use crate::upstream::{send, UpstreamError};

thread_local! {
    static TOKENS: RefCell<HashMap<String, (AccessToken, u64)>> = RefCell::new(HashMap::new());
}

pub async fn system_token(ctx: &Ctx, entry: &IssEntry) -> Result<AccessToken, Error> {
    token(ctx, entry, false).await
}

/// A token that may also update appointments (patient tracking): asked for
/// only when that option is on, so a registration without write still
/// serves notifications.
pub async fn system_token_with_write(ctx: &Ctx, entry: &IssEntry) -> Result<AccessToken, Error> {
    token(ctx, entry, true).await
}

async fn token(ctx: &Ctx, entry: &IssEntry, write: bool) -> Result<AccessToken, Error> {
    let now = crate::clock::now_secs();
    let cache_key = format!("{}{}", if write { "w:" } else { "r:" }, entry.fhir_base);
    if let Some((t, _)) = TOKENS.with(|m| m.borrow().get(&cache_key).cloned()).filter(|(_, exp)| *exp > now + 30) {
        return Ok(t);
    }
    let d = discovery::get_cached(ctx, &entry.fhir_base, None).await?;
    let key = assertion_key(ctx).await?;
    let mut scopes = backend_scopes(&d.capabilities);
    if write {
        let w = if shared::smart::uses_v2_scopes(&d.capabilities) { "u" } else { "write" };
        scopes.push_str(&format!(" system/Appointment.{w}"));
    }
    let assertion = key.assertion(&entry.client.client_id, &d.token_endpoint, now, &crate::crypto::random_token(24)).await?;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("scope", &scopes)
        .append_pair("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        .append_pair("client_assertion", &assertion);
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    headers.set("accept", "application/json")?;
    let resp = send(Method::Post, &d.token_endpoint, headers, Some(form.finish()), Duration::from_secs(10)).await.map_err(|e| match e {
        UpstreamError::Timeout => Error::new(504, "backend_token_timeout", "The EHR's sign-in server did not answer in time."),
        UpstreamError::Network(w) => {
            Error::new(502, "backend_token_failed", format!("The EHR's sign-in server could not be reached ({w})."))
        }
    })?;
    #[derive(Deserialize)]
    struct Token {
        access_token: AccessToken,
        #[serde(default)]
        expires_in: Option<u64>,
    }
    if !resp.ok() {
        return Err(Error::new(502, "backend_token_refused", format!("The EHR refused Visitgate's system access (HTTP {}). Check that the backend-service registration in the integration records is set up.", resp.status)));
    }
    let token: Token = serde_json::from_str(&resp.body)
        .map_err(|e| Error::new(502, "backend_token_invalid", format!("The EHR's token response could not be read ({e}).")))?;
    let expires = now + token.expires_in.unwrap_or(300);
    TOKENS.with(|m| m.borrow_mut().insert(cache_key, (token.access_token.clone(), expires)));
    Ok(token.access_token)
}
