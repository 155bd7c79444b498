//! `/me`, token and login-link minting.

use shared::api::{role_from, ApiTokenInfo, ApiTokenList, IssuedSecret, Me, NewApiToken, NewLoginLink};
use shared::tenant::Role;
use worker::{Request, Response};

use crate::admin::auth::{create_login_link, Principal, Via};
use crate::crypto::{random_token, sha256_hex};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{json, read_json};
use crate::storage::config::{ConfigStore, Grant};

pub fn me(who: &Principal) -> Result<Response> {
    let csrf_token = match &who.via {
        Via::Session { csrf_token, .. } => Some(csrf_token.clone()),
        Via::Bearer => None,
    };
    json(200, &Me { subject: who.subject.clone(), role: who.role.clone(), csrf_token })
}

fn checked_role(name: shared::api::RoleName, tenant_id: Option<String>) -> Result<shared::tenant::Role> {
    if let Some(t) = &tenant_id {
        crate::http::id_param(t, "tenant_id")?;
    }
    role_from(name, tenant_id).map_err(|m| Error::bad_request("invalid_role", m).field("tenant_id"))
}

pub async fn mint_token(req: &mut Request, ctx: &Ctx, who: &Principal) -> Result<Response> {
    who.require_platform()?;
    let body: NewApiToken = read_json(req).await?;
    if body.label.trim().is_empty() || body.label.len() > 80 {
        return Err(Error::bad_request("invalid_label", "Give the token a label of 1–80 characters.").field("label"));
    }
    let days = body.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(Error::bad_request("invalid_expiry", "A token works for 1 to 365 days.").field("expires_in_days"));
    }
    let role = checked_role(body.role, body.tenant_id)?;
    let token = random_token(32);
    let now_ms = crate::clock::now_ms();
    let expires_at_ms = now_ms + f64::from(days) * 86_400_000.0;
    let info = ApiTokenInfo {
        id: crate::crypto::random_id("tok-"),
        label: body.label,
        role,
        created_at: crate::clock::now_iso(),
        created_by: who.subject.clone(),
        expires_at_ms,
    };
    let id = info.id.clone();
    ConfigStore::new(&ctx.env)?.mint_token(sha256_hex(&token), info).await?;
    let expires_at = js_sys::Date::new(&expires_at_ms.into()).to_iso_string().as_string();
    json(201, &IssuedSecret { id: Some(id), token: Some(token), url: None, expires_at })
}

/// `GET /tokens[?tenant_id=]`: a platform admin sees every token (or one
/// tenant's), a tenant admin their tenant's. Never a token's value.
pub async fn list_tokens(req: &Request, ctx: &Ctx, who: &Principal) -> Result<Response> {
    let asked = req.url()?.query_pairs().find(|(k, _)| k == "tenant_id").map(|(_, v)| v.into_owned());
    let scope = match (&who.role, asked) {
        (Role::PlatformAdmin, asked) => asked,
        (Role::TenantAdmin { tenant_id }, Some(t)) if &t != tenant_id => return Err(Error::forbidden()),
        (Role::TenantAdmin { tenant_id }, _) => Some(tenant_id.clone()),
    };
    if let Some(t) = &scope {
        crate::http::id_param(t, "tenant_id")?;
    }
    let tokens = ConfigStore::new(&ctx.env)?.tokens(scope).await?;
    json(200, &ApiTokenList { tokens })
}

/// `DELETE /tokens/{id}`: revoked at once. A tenant admin may revoke only
/// their tenant's tokens; others are as unknown as ones that never existed.
pub async fn revoke_token(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = crate::http::id_param(id, "token")?;
    let scope = match &who.role {
        Role::PlatformAdmin => None,
        Role::TenantAdmin { tenant_id } => Some(tenant_id.clone()),
    };
    if ConfigStore::new(&ctx.env)?.revoke_token(id, scope, &who.subject, &crate::clock::now_iso()).await? {
        crate::http::no_content()
    } else {
        Err(Error::not_found("This API token"))
    }
}

pub async fn mint_login_link(req: &mut Request, ctx: &Ctx, who: &Principal) -> Result<Response> {
    who.require_platform()?;
    let body: NewLoginLink = read_json(req).await?;
    if body.subject.trim().is_empty() || body.subject.len() > 120 {
        return Err(Error::bad_request("invalid_subject", "Name who the link is for (1–120 characters).").field("subject"));
    }
    let role = checked_role(body.role, body.tenant_id)?;
    let (url, expires) = create_login_link(ctx, Grant { subject: body.subject, role }).await?;
    let expires_at = js_sys::Date::new(&expires.into()).to_iso_string().as_string();
    json(201, &IssuedSecret { id: None, token: None, url: Some(url), expires_at })
}
