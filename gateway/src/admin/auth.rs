//! Who is calling: bearer API tokens (automation) and portal sessions
//! (browser), with CSRF protection for the latter. Both ways of signing in
//! (one-time login links here, OpenID Connect in `signin`) end in
//! [`start_session`].

use shared::tenant::Role;
use worker::{Method, Request, Response};

use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::storage::config::{ConfigStore, Grant, LOGIN_LINK_TTL_MS};
use crate::storage::kv::{self, Session};

/// The session cookie: `__Host-` (Secure, Path=/, no Domain: no other host
/// can set or shadow it) wherever cookies are Secure, i.e. outside loopback dev.
pub const SESSION_COOKIE: &str = "vg_session";

pub fn session_cookie_name(secure: bool) -> String {
    if secure {
        format!("__Host-{SESSION_COOKIE}")
    } else {
        SESSION_COOKIE.to_string()
    }
}
pub const CSRF_HEADER: &str = "x-csrf-token";
const SESSION_TTL_SECS: u64 = 8 * 3600;

#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Bearer,
    Session { hash: String, csrf_token: String },
}

impl Principal {
    pub fn require_tenant(&self, tenant_id: &str) -> Result<()> {
        if self.role.may_access(tenant_id) {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }

    pub fn require_platform(&self) -> Result<()> {
        match self.role {
            Role::PlatformAdmin => Ok(()),
            _ => Err(Error::forbidden()),
        }
    }
}

pub async fn authenticate(req: &Request, ctx: &Ctx) -> Result<Principal> {
    if let Some(auth) = req.headers().get("authorization")? {
        let token = auth
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::new(401, "unauthenticated", "The Authorization header must be 'Bearer <token>'."))?;
        let hash = sha256_hex(token);
        if ctx.admin_token_sha256.as_deref().is_some_and(|h| constant_time_eq(h, &hash)) {
            return Ok(Principal { subject: "platform-token".into(), role: Role::PlatformAdmin, via: Via::Bearer });
        }
        return match ConfigStore::new(&ctx.env)?.check_token(hash, crate::clock::now_ms()).await? {
            Some(t) => Ok(Principal { subject: format!("token:{}", t.label), role: t.role, via: Via::Bearer }),
            None => Err(Error::new(401, "invalid_token", "This API token is not valid: unknown, expired, revoked, or its tenant is gone.")),
        };
    }
    if let Some(value) = crate::http::cookie(req, &session_cookie_name(!ctx.loopback_dev)) {
        let hash = sha256_hex(&value);
        if let Some(s) = kv::get_session(&kv::store(&ctx.env)?, &hash).await? {
            if s.expires_at_ms > crate::clock::now_ms() {
                return Ok(Principal { subject: s.subject, role: s.role, via: Via::Session { hash, csrf_token: s.csrf_token } });
            }
        }
        return Err(Error::new(401, "session_expired", "Your session has ended. Sign in again."));
    }
    Err(Error::unauthenticated())
}

/// Browser sessions must prove same-origin intent on every mutating call:
/// the CSRF token from `/api/v1/me` in a header, and a matching Origin.
pub fn check_csrf(req: &Request, principal: &Principal, ctx: &Ctx) -> Result<()> {
    let Via::Session { csrf_token, .. } = &principal.via else { return Ok(()) };
    if matches!(req.method(), Method::Get | Method::Head) {
        return Ok(());
    }
    if let Some(origin) = req.headers().get("origin")? {
        if origin != ctx.origin {
            return Err(Error::new(403, "csrf_origin", "This request came from another site and was refused."));
        }
    }
    let sent = req.headers().get(CSRF_HEADER)?.unwrap_or_default();
    if !constant_time_eq(&sent, csrf_token) {
        return Err(Error::new(403, "csrf_token", "The request is missing its CSRF token. Reload the page and try again."));
    }
    Ok(())
}

fn session_cookie(ctx: &Ctx, value: &str, max_age: u64) -> String {
    let secure = if ctx.loopback_dev { "" } else { "; Secure" };
    format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", session_cookie_name(!ctx.loopback_dev))
}

/// Mints a one-time sign-in link (platform admins; `make dev` prints one).
pub async fn create_login_link(ctx: &Ctx, grant: Grant) -> Result<(String, f64)> {
    let token = random_token(32);
    let expires = crate::clock::now_ms() + LOGIN_LINK_TTL_MS;
    ConfigStore::new(&ctx.env)?.put_login_link(sha256_hex(&token), grant, expires).await?;
    Ok((format!("{}/admin/login?token={token}", ctx.origin), expires))
}

/// `GET /admin/login?token=…`: spends the link, starts a session, goes to the portal.
pub async fn login(req: &Request, ctx: &Ctx) -> Result<Response> {
    let url = req.url()?;
    let token = url.query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.to_string()).unwrap_or_default();
    if token.is_empty() {
        return Err(Error::bad_request("login_token_missing", "This sign-in link is incomplete. Copy the whole link and try again."));
    }
    let grant = ConfigStore::new(&ctx.env)?.take_login_link(sha256_hex(&token), crate::clock::now_ms()).await?.ok_or_else(|| {
        Error::new(410, "login_link_spent", "This sign-in link was already used or has expired. Ask for a new one (make dev prints one).")
    })?;
    start_session(ctx, grant.subject, grant.role).await
}

/// A new portal session for `subject` and on to the portal: the end of every
/// sign-in (login link or OpenID Connect).
pub async fn start_session(ctx: &Ctx, subject: String, role: Role) -> Result<Response> {
    let value = random_token(32);
    let session =
        Session { subject, role, csrf_token: random_token(24), expires_at_ms: crate::clock::now_ms() + (SESSION_TTL_SECS * 1000) as f64 };
    kv::put_session(&kv::store(&ctx.env)?, &sha256_hex(&value), &session, SESSION_TTL_SECS).await?;
    crate::http::redirect_setting_cookie(303, "/admin/", &session_cookie(ctx, &value, SESSION_TTL_SECS))
}

/// Ends a browser session (bearer tokens have nothing to end).
pub async fn logout(ctx: &Ctx, principal: &Principal) -> Result<Response> {
    if let Via::Session { hash, .. } = &principal.via {
        kv::delete_session(&kv::store(&ctx.env)?, hash).await?;
    }
    let mut resp = crate::http::no_content()?;
    resp.headers_mut().set("set-cookie", &session_cookie(ctx, "", 0))?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_host_bound_when_secure() {
        assert_eq!(session_cookie_name(true), "__Host-vg_session");
        assert_eq!(session_cookie_name(false), "vg_session");
    }
}
