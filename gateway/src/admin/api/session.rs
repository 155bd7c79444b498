//! `/me`, token and login-link minting.

use shared::api::{role_from, IssuedSecret, Me, NewApiToken, NewLoginLink};
use worker::{Request, Response};

use crate::admin::auth::{create_login_link, Principal, Via};
use crate::crypto::{random_token, sha256_hex};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{json, read_json};
use crate::storage::config::Grant;
use crate::storage::kv::{self, ApiToken};

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
    let role = checked_role(body.role, body.tenant_id)?;
    let token = random_token(32);
    let record = ApiToken { label: body.label, role, created_at: crate::clock::now_iso(), created_by: who.subject.clone() };
    kv::put_api_token(&kv::store(&ctx.env)?, &sha256_hex(&token), &record).await?;
    json(201, &IssuedSecret { token: Some(token), url: None, expires_at: None })
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
    json(201, &IssuedSecret { token: None, url: Some(url), expires_at })
}
