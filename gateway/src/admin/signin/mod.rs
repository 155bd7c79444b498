//! Admin sign-in through an OpenID Connect provider (Microsoft Entra ID or
//! any other), with the gateway as a confidential client: the tokens stay
//! here (backend-for-frontend); the portal only gets the HttpOnly session
//! cookie that the one-time login links also give.
//!
//! `GET /admin/signin` → the provider's authorize endpoint (state, nonce,
//! PKCE S256; state sealed in a cookie); `GET /admin/callback` checks it,
//! spends it, exchanges the code, verifies the id_token and maps its claims
//! to a role (`config`).

pub mod config;
pub mod discovery;

use std::time::Duration;

use futures_util::future::join;
use serde::{Deserialize, Serialize};
use worker::{Headers, Method, Request, Response};

use self::config::{RoleError, SigninConfig};
use crate::crypto::{constant_time_eq, pkce_challenge, random_bytes, random_token};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::oidc::client_auth::basic_auth;
use crate::oidc::id_token::{self, IdTokenError};
use crate::seal::{self, Expiring, OpenError};
use crate::upstream::{send, UpstreamError};

pub const CALLBACK_PATH: &str = "/admin/callback";
const COOKIE_PREFIX: &str = "vg_signin_";
const PURPOSE: &[u8] = b"visitgate/admin-signin/v1";
const TTL_SECS: u64 = 600;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SigninState {
    state: String,
    nonce: String,
    code_verifier: String,
    expires_at: u64,
}

impl Expiring for SigninState {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

fn cookie_name(state: &str, secure: bool) -> String {
    crate::http::state_cookie_name(COOKIE_PREFIX, state, secure)
}

fn cookie_attrs(ctx: &Ctx, max_age: u64) -> String {
    crate::http::state_cookie_attrs(CALLBACK_PATH, !ctx.loopback_dev, max_age)
}

pub fn configured(ctx: &Ctx) -> Result<SigninConfig> {
    let text = ctx.env.var(config::VAR).ok().map(|v| v.to_string()).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        Error::new(404, "signin_not_configured", "Signing in with an organisation account is not set up on this Visitgate (no ADMIN_OIDC). Use a one-time sign-in link from your platform admin.")
    })?;
    SigninConfig::parse(&text).map_err(|why| {
        Error::new(500, "signin_misconfigured", format!("The sign-in settings are not valid: {why}. Ask your Visitgate administrator."))
    })
}

fn redirect_uri(ctx: &Ctx) -> String {
    format!("{}{CALLBACK_PATH}", ctx.origin)
}

/// A page with the way back, for every sign-in failure.
pub fn error_page(err: &Error) -> Response {
    let body = format!(
        "<p>{}</p><p class=\"code\">Error code: <code>{}</code>. Quote it if you contact support.</p><p><a class=\"button\" href=\"/admin/\">Back to the admin portal</a></p>",
        crate::pages::escape(&err.body.message),
        crate::pages::escape(&err.body.code)
    );
    crate::pages::html(err.status, &crate::pages::page_html("Sign-in did not work", &body))
}

/// `GET /admin/signin`
pub async fn start(ctx: &Ctx) -> Result<Response> {
    let config = configured(ctx)?;
    let key = crate::seal::cookie_key(ctx)?;
    let p = discovery::provider(ctx, &config.issuer).await?;
    let s = SigninState {
        state: random_token(32),
        nonce: random_token(32),
        code_verifier: random_token(32),
        expires_at: crate::clock::now_secs() + TTL_SECS,
    };
    let mut url = url::Url::parse(&p.meta.authorization_endpoint)
        .map_err(|_| Error::new(502, "signin_provider_unavailable", "The sign-in service's authorize address is not a URL."))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri(ctx))
        .append_pair("scope", &config.scopes)
        .append_pair("response_mode", "query")
        .append_pair("state", &s.state)
        .append_pair("nonce", &s.nonce)
        .append_pair("code_challenge", &pkce_challenge(&s.code_verifier))
        .append_pair("code_challenge_method", "S256");
    let sealed = seal::seal(&key, PURPOSE, &s, random_bytes()).await?;
    crate::http::redirect_setting_cookie(
        302,
        url.as_str(),
        &format!("{}={sealed}; {}", cookie_name(&s.state, !ctx.loopback_dev), cookie_attrs(ctx, TTL_SECS)),
    )
}

/// `GET /admin/callback?code&state` (or `error`). The sign-in cookie is
/// cleared whatever happens: it is single-use.
pub async fn callback(req: &Request, ctx: &Ctx) -> Result<Response> {
    let q: Vec<(String, String)> = req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let state = param("state").map(str::to_string);
    let mut resp = match callback_inner(req, ctx, &param).await {
        Ok(r) => r,
        Err(e) => error_page(&e),
    };
    if let Some(state) = state.filter(|s| s.len() <= 128) {
        resp.headers_mut().append("set-cookie", &format!("{}=; {}", cookie_name(&state, !ctx.loopback_dev), cookie_attrs(ctx, 0)))?;
    }
    Ok(resp)
}

const AGAIN: &str = "Go back to the admin portal and sign in again.";

async fn callback_inner<'a>(req: &Request, ctx: &Ctx, param: &impl Fn(&str) -> Option<&'a str>) -> Result<Response> {
    let config = configured(ctx)?;
    let state = param("state").ok_or_else(|| {
        Error::bad_request(
            "signin_state_missing",
            format!("The sign-in service's answer has no state, so it cannot be matched to a sign-in. {AGAIN}"),
        )
    })?;
    let sealed = crate::http::cookie(req, &cookie_name(state, !ctx.loopback_dev)).ok_or_else(|| {
        Error::bad_request("signin_cookie_missing", format!("This answer does not belong to a sign-in started in this browser, or it took longer than 10 minutes. {AGAIN} (Cookies for Visitgate must be allowed.)"))
    })?;
    let key = crate::seal::cookie_key(ctx)?;
    let s: SigninState = seal::open(&key, PURPOSE, &sealed, crate::clock::now_secs()).await.map_err(|e| match e {
        OpenError::Expired => Error::bad_request("signin_state_expired", format!("The sign-in took longer than 10 minutes. {AGAIN}")),
        OpenError::Invalid => Error::bad_request(
            "signin_state_invalid",
            format!("The sign-in cookie was altered or is not from this Visitgate, so the sign-in was refused. {AGAIN}"),
        ),
    })?;
    if !constant_time_eq(&s.state, state) {
        return Err(Error::bad_request(
            "signin_state_mismatch",
            format!("The sign-in service's answer does not match this sign-in (state mismatch), so it was refused. {AGAIN}"),
        ));
    }
    if let Some(error) = param("error") {
        let detail = param("error_description").map(|d| format!(": {d}")).unwrap_or_default();
        let (status, code) = if error == "access_denied" { (403, "signin_denied") } else { (502, "signin_authorize_failed") };
        return Err(Error::new(status, code, format!("Your organisation's sign-in service did not sign you in ({error}{detail}). If you should have access, ask your identity administrator.")));
    }
    let code = param("code").ok_or_else(|| {
        Error::bad_request("signin_code_missing", format!("The sign-in service's answer has no authorization code. {AGAIN}"))
    })?;
    let p = discovery::provider(ctx, &config.issuer).await?;
    let (spent, token) =
        join(crate::storage::launch_guard::spend(ctx, &s.state, s.expires_at), exchange(ctx, &config, &p.meta, code, &s.code_verifier))
            .await;
    if !spent? {
        return Err(Error::bad_request("signin_state_replayed", format!("This sign-in answer was already used. {AGAIN}")));
    }
    let id_token = token?;
    let expect = id_token::Expect {
        issuer: &config.issuer,
        client_id: &config.client_id,
        nonce: &s.nonce,
        now: crate::clock::now_secs(),
        fhir_user: false,
    };
    let claims = match id_token::verify(&id_token, &discovery::keys(&config.issuer, &p, false).await?, expect).await {
        Err(IdTokenError::UnknownKey) => id_token::verify(&id_token, &discovery::keys(&config.issuer, &p, true).await?, expect).await,
        other => other,
    }
    .map_err(|e| Error::new(401, &e.code().replace("id_token", "signin_id_token"), id_token_message(e)))?;
    let role = config::role_for(&config, &claims.other).map_err(|e| match e {
        RoleError::NoRole => Error::new(403, "signin_no_role", format!("You are signed in at your organisation, but your account has no Visitgate role (claim '{}'). Ask your identity administrator to assign you the platform-admin or a tenant-admin role.", config.role_claim)),
        RoleError::SeveralTenants(t) => Error::new(403, "signin_several_tenants", format!("Your account is an admin of several tenants ({}); a session is for one. Ask your identity administrator to keep one role for you.", t.join(", "))),
    })?;
    let subject = config::subject(&claims.other, &claims.sub);
    crate::admin::auth::start_session(ctx, subject, role).await
}

fn id_token_message(e: IdTokenError) -> String {
    let why = match e {
        IdTokenError::Malformed => "could not be read",
        IdTokenError::UnsupportedAlgorithm => "uses a signature algorithm Visitgate does not accept",
        IdTokenError::UnknownKey => "was signed with a key the service does not publish",
        IdTokenError::Signature => "has an invalid signature",
        IdTokenError::Issuer => "was issued by someone other than the configured sign-in service",
        IdTokenError::Audience => "was meant for another application",
        IdTokenError::Expired => "has expired (check the computer's clock)",
        IdTokenError::Nonce => "does not belong to this sign-in (nonce mismatch)",
        IdTokenError::NoFhirUser => "names no user",
    };
    format!("Your organisation's sign-in token {why}, so it was refused. {AGAIN}")
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The code exchange: the id_token, or why there is none.
pub fn parse_token_answer(status: u16, body: &str) -> Result<String> {
    let answer: Option<TokenAnswer> = serde_json::from_str(body).ok();
    if !(200..300).contains(&status) {
        let detail = answer
            .and_then(|a| a.error.map(|e| format!("{e}{}", a.error_description.map(|d| format!(": {d}")).unwrap_or_default())))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if status >= 500 {
            Error::new(
                502,
                "signin_token_failed",
                format!("Your organisation's sign-in service failed to complete the sign-in ({detail}). Try again in a minute."),
            )
        } else {
            Error::new(502, "signin_token_refused", format!("Your organisation's sign-in service refused to complete the sign-in ({detail}). {AGAIN} If it keeps happening, check the client id and secret in ADMIN_OIDC."))
        });
    }
    answer.and_then(|a| a.id_token).filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::new(
            502,
            "signin_no_id_token",
            "The sign-in service returned no id_token, so Visitgate cannot tell who signed in. Check that the openid scope is granted.",
        )
    })
}

async fn exchange(ctx: &Ctx, config: &SigninConfig, meta: &discovery::ProviderMetadata, code: &str, verifier: &str) -> Result<String> {
    let secret = ctx.secret(&config.client_secret_ref).ok_or_else(|| {
        Error::new(
            500,
            "signin_client_secret_missing",
            format!(
                "The sign-in client secret (Worker secret {}) is not set up. Ask your Visitgate administrator.",
                config.client_secret_ref
            ),
        )
    })?;
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    headers.set("accept", "application/json")?;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &redirect_uri(ctx))
        .append_pair("code_verifier", verifier);
    // client_secret_basic unless the provider lists only client_secret_post.
    let methods = &meta.token_endpoint_auth_methods_supported;
    if !methods.is_empty() && !methods.iter().any(|m| m == "client_secret_basic") && methods.iter().any(|m| m == "client_secret_post") {
        form.append_pair("client_id", &config.client_id).append_pair("client_secret", secret.expose());
    } else {
        headers.set("authorization", &basic_auth(&config.client_id, &secret))?;
    }
    let resp = send(Method::Post, &meta.token_endpoint, headers, Some(form.finish()), TIMEOUT).await.map_err(|e| match e {
        UpstreamError::Timeout => {
            Error::new(504, "signin_token_timeout", "Your organisation's sign-in service did not answer in time. Try again in a minute.")
        }
        UpstreamError::Network(w) => {
            Error::new(502, "signin_token_failed", format!("Your organisation's sign-in service could not be reached ({w})."))
        }
    })?;
    parse_token_answer(resp.status, &resp.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        assert_eq!(parse_token_answer(200, r#"{"token_type":"Bearer","id_token":"a.b.c","access_token":"x"}"#).unwrap(), "a.b.c");
        assert_eq!(parse_token_answer(200, r#"{"token_type":"Bearer"}"#).unwrap_err().body.code, "signin_no_id_token");
        let e = parse_token_answer(400, r#"{"error":"invalid_grant","error_description":"AADSTS54005: code redeemed"}"#).unwrap_err();
        assert_eq!(e.body.code, "signin_token_refused");
        assert!(e.body.message.contains("invalid_grant: AADSTS54005"));
        assert_eq!(parse_token_answer(503, "busy").unwrap_err().body.code, "signin_token_failed");
    }

    #[test]
    fn cookie_names_differ_per_sign_in_and_stay_on_the_callback() {
        assert_eq!(cookie_name("abcdefghijklmnopqrstuvwxyz", false), "vg_signin_abcdefghijklmnop");
    }
}
