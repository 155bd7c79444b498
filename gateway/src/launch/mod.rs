//! Provider launch: SMART App Launch 2.2 EHR launch as a confidential client.
//!
//! `GET /launch?iss&launch` resolves `iss` with one KV read, redirects to
//! the EHR's authorize endpoint with state, nonce and PKCE S256, and keeps
//! that state in a sealed cookie. `GET /launch/callback` checks it, spends
//! it, exchanges the code, verifies the id_token, finds the appointment,
//! gets or creates its meeting and sends the clinician on.

pub mod into_visit;
pub mod state;

use futures_util::future::join3;
use shared::fhir_url::normalize_fhir_base;
use shared::integration::CALLBACK_PATH;
use shared::kv_keys;
use shared::smart::provider_scopes;
use shared::tenant::IssEntry;
use worker::{Request, Response};

use self::state::{cookie_name, LaunchState, COOKIE_PATH, PURPOSE, TTL_SECS};
use crate::crypto::{constant_time_eq, pkce_challenge, random_bytes, random_token};
use crate::ctx::Ctx;
use crate::ehr::discovery::{self, discovery_error, Discovery};
use crate::ehr::token;
use crate::error::{Error, Result};
use crate::oidc::id_token;
use crate::seal::{self, OpenError};
use crate::storage::kv;

fn query(req: &Request) -> Result<Vec<(String, String)>> {
    Ok(req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The launch index entry and the cached discovery of `iss`: at most two KV
/// reads in parallel, none when this isolate has both (the callback comes
/// seconds after `/launch` read them).
async fn resolve(ctx: &Ctx, iss: &str) -> Result<(IssEntry, Option<Discovery>)> {
    let store = kv::store(&ctx.env)?;
    let discovery = async {
        match discovery::in_memory(iss) {
            true => Ok(None),
            false => kv::json::<Discovery>(&store, &kv_keys::discovery(iss)).await,
        }
    };
    let (entry, cached) = futures_util::future::join(kv::iss_entry(&store, iss), discovery).await;
    let entry = entry?.ok_or_else(|| {
        Error::new(404, "launch_unknown_iss", format!("This EHR is not set up for virtual visits (tenant config not found for {iss}). If this is the test system, check that the test FHIR base URL is configured in the Visitgate admin portal."))
    })?;
    Ok((entry, cached.ok().flatten()))
}

fn redirect_uri(ctx: &Ctx) -> String {
    format!("{}{CALLBACK_PATH}", ctx.origin)
}

fn cookie_attrs(ctx: &Ctx, max_age: u64) -> String {
    crate::http::state_cookie_attrs(COOKIE_PATH, !ctx.loopback_dev, max_age)
}

/// The EHR authorize request (SMART App Launch 2.2 §2.1.4): code flow,
/// `aud` = the FHIR base, PKCE S256, state and nonce.
pub fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    launch: &str,
    scope: &str,
    s: &LaunchState,
    iss: &str,
) -> Option<url::Url> {
    let mut url = url::Url::parse(endpoint).ok()?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("launch", launch)
        .append_pair("scope", scope)
        .append_pair("state", &s.state)
        .append_pair("aud", iss)
        .append_pair("nonce", &s.nonce)
        .append_pair("code_challenge", &pkce_challenge(&s.code_verifier))
        .append_pair("code_challenge_method", "S256");
    Some(url)
}

/// `GET /launch?iss=…&launch=…[&env=test|production]`
pub async fn start(req: &Request, ctx: &Ctx) -> Result<Response> {
    let q = query(req)?;
    let raw_iss = param(&q, "iss").ok_or_else(|| {
        Error::bad_request("launch_iss_missing", "The EHR did not say which FHIR server it is (no iss). Launch again from the EHR.")
    })?;
    let iss = normalize_fhir_base(raw_iss, ctx.dev_mode).map_err(|p| {
        Error::bad_request("launch_iss_invalid", format!("The EHR sent an unusable FHIR server address ({}).", p.message()))
    })?;
    let launch = param(&q, "launch").ok_or_else(|| {
        Error::bad_request(
            "launch_missing",
            "The EHR did not send a launch context (no launch parameter). Start the visit from the appointment in the EHR.",
        )
    })?;
    let (entry, cached) = resolve(ctx, &iss).await?;
    if let Some(env) = param(&q, "env") {
        if env != entry.environment.as_str() {
            return Err(Error::new(403, "launch_wrong_environment", format!("This launch link is for the {env} environment, but {iss} is configured as {}. Use the launch URL from the {} integration records.", entry.environment.as_str(), entry.environment.as_str())));
        }
    }
    let key = seal::cookie_key(ctx)?;
    let d = discovery::get_cached(ctx, &iss, cached).await?;

    let state = LaunchState {
        state: random_token(32),
        nonce: random_token(32),
        code_verifier: random_token(32),
        iss: iss.clone(),
        tenant_id: entry.tenant_id.clone(),
        base_id: entry.base_id.clone(),
        expires_at: crate::clock::now_secs() + TTL_SECS,
    };
    let scope = provider_scopes(&d.capabilities, entry.launch.write_back);
    let url = authorize_url(&d.authorization_endpoint, &entry.client.client_id, &redirect_uri(ctx), launch, &scope, &state, &iss)
        .ok_or_else(|| discovery_error(&iss, "bad authorization_endpoint"))?;
    let sealed = seal::seal(&key, PURPOSE, &state, random_bytes()).await?;
    let resp = crate::http::redirect_setting_cookie(
        302,
        url.as_str(),
        &format!("{}={sealed}; {}", cookie_name(&state.state, !ctx.loopback_dev), cookie_attrs(ctx, TTL_SECS)),
    )?;
    // Counted at the callback, once the EHR has sent this browser back:
    // anyone can request `/launch`, and those must not fill the reports.
    Ok(resp)
}

/// A launch outcome for the usage reports, written after the response.
fn report(ctx: &Ctx, tenant_id: &str, base_id: &str, kind: &'static str, code: Option<String>) {
    let (env, tenant_id, base_id) = (ctx.env.clone(), tenant_id.to_string(), base_id.to_string());
    ctx.background(async move {
        if let Err(e) = crate::reports::events::record_launch(&env, &tenant_id, &base_id, kind, None, code.as_deref()).await {
            worker::console_error!("reports: {}", e.body.code);
        }
    });
}

/// `GET /launch/callback?code&state` (or `error`). Whatever happens, the
/// launch cookie is cleared: launch state is single-use.
pub async fn callback(req: &Request, ctx: &Ctx) -> Result<Response> {
    let q = query(req)?;
    let state = param(&q, "state").map(str::to_string);
    // Whose launch this was, once the launch cookie and its state match.
    let mut whose: Option<(String, String)> = None;
    let mut resp = match callback_inner(req, ctx, &q, &mut whose).await {
        Ok(r) => {
            if let Some((t, b)) = &whose {
                report(ctx, t, b, "launch_succeeded", None);
            }
            r
        }
        Err(e) => {
            if let Some((t, b)) = &whose {
                report(ctx, t, b, "launch_failed", Some(e.body.code.clone()));
            }
            crate::pages::error_page(&e)
        }
    };
    if let Some(state) = state.filter(|s| s.len() <= 128) {
        resp.headers_mut().append("set-cookie", &format!("{}=; {}", cookie_name(&state, !ctx.loopback_dev), cookie_attrs(ctx, 0)))?;
    }
    Ok(resp)
}

async fn callback_inner(req: &Request, ctx: &Ctx, q: &[(String, String)], whose: &mut Option<(String, String)>) -> Result<Response> {
    let state = param(q, "state").ok_or_else(|| {
        Error::bad_request(
            "launch_state_missing",
            "The EHR's answer has no state, so it cannot be matched to a launch. Launch again from the EHR.",
        )
    })?;
    let sealed = crate::http::cookie(req, &cookie_name(state, !ctx.loopback_dev)).ok_or_else(|| {
        Error::bad_request("launch_cookie_missing", "This sign-in does not belong to a launch started in this browser, or it took longer than 10 minutes. Launch again from the EHR (and allow cookies for Visitgate).")
    })?;
    let key = seal::cookie_key(ctx)?;
    let launch: LaunchState = seal::open(&key, PURPOSE, &sealed, crate::clock::now_secs()).await.map_err(|e| match e {
        OpenError::Expired => {
            Error::bad_request("launch_state_expired", "The sign-in took longer than 10 minutes. Launch again from the EHR.")
        }
        OpenError::Invalid => Error::bad_request(
            "launch_state_invalid",
            "The launch cookie was altered or is not from this Visitgate, so the sign-in was refused. Launch again from the EHR.",
        ),
    })?;
    if !constant_time_eq(&launch.state, state) {
        return Err(Error::bad_request(
            "launch_state_mismatch",
            "The EHR's answer does not match this launch (state mismatch), so it was refused. Launch again from the EHR.",
        ));
    }
    *whose = Some((launch.tenant_id.clone(), launch.base_id.clone()));
    report(ctx, &launch.tenant_id, &launch.base_id, "launch_started", None);
    if let Some(error) = param(q, "error") {
        let detail = param(q, "error_description").map(|d| format!(": {d}")).unwrap_or_default();
        let (status, code) = if error == "access_denied" { (403, "launch_denied") } else { (502, "launch_authorize_failed") };
        return Err(Error::new(
            status,
            code,
            format!("The EHR did not let Visitgate sign you in ({error}{detail}). If you should have access, ask your EHR administrator."),
        ));
    }
    let code = param(q, "code").ok_or_else(|| {
        Error::bad_request("launch_code_missing", "The EHR's answer has no authorization code. Launch again from the EHR.")
    })?;

    let (entry, cached) = resolve(ctx, &launch.iss).await?;
    let d = discovery::get_cached(ctx, &launch.iss, cached).await?;
    let redirect = redirect_uri(ctx);
    // Independent: spend the state, exchange the code, have the issuer's keys.
    let (spent, token, keys) = join3(
        crate::storage::launch_guard::spend(ctx, &launch.state, launch.expires_at),
        token::exchange(ctx, &entry, &d, code, &launch.code_verifier, &redirect),
        discovery::jwks(ctx, &launch.iss, &d, false),
    )
    .await;
    if !spent? {
        return Err(Error::bad_request("launch_state_replayed", "This sign-in was already used. Launch again from the EHR."));
    }
    let token = token?;
    let id_token = token.id_token.as_deref().unwrap_or_default();
    let expect = id_token::Expect {
        issuer: &d.issuer,
        client_id: &entry.client.client_id,
        nonce: &launch.nonce,
        now: crate::clock::now_secs(),
        fhir_user: true,
    };
    let claims = match id_token::verify(id_token, &keys?, expect).await {
        // The EHR may have rotated its keys: fetch them once more.
        Err(id_token::IdTokenError::UnknownKey) => {
            id_token::verify(id_token, &discovery::jwks(ctx, &launch.iss, &d, true).await?, expect).await
        }
        other => other,
    }
    .map_err(|e| Error::new(401, e.code(), e.message()))?;
    let requested = provider_scopes(&d.capabilities, entry.launch.write_back);
    let missing = token::missing_scopes(token.scope.as_deref(), &requested);
    if !missing.is_empty() {
        return Err(Error::new(403, "launch_insufficient_scopes", format!("The EHR did not grant the access Visitgate needs ({}). Ask your EHR administrator to grant the scopes listed in the integration records.", missing.join(", "))));
    }
    let fhir_user = claims.fhir_user.unwrap_or_default();
    let ehr_user_id = ehr_user_id(&launch.iss, &fhir_user);
    into_visit::into_visit(ctx, &entry, &launch.iss, &token, &fhir_user, &ehr_user_id).await
}

/// The EHR user's unique id: `fhirUser` made absolute against `iss`. The only
/// personal identifier Visitgate persists.
pub fn ehr_user_id(iss: &str, fhir_user: &str) -> String {
    if fhir_user.starts_with("https://") || fhir_user.starts_with("http://") {
        fhir_user.to_string()
    } else {
        format!("{iss}/{}", fhir_user.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehr_user_id_is_absolute() {
        assert_eq!(ehr_user_id("https://f/r4/t", "Practitioner/1"), "https://f/r4/t/Practitioner/1");
        assert_eq!(ehr_user_id("https://f/r4/t", "https://f/r4/t/Practitioner/1"), "https://f/r4/t/Practitioner/1");
    }
}
