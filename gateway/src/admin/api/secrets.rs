//! Write-only tenant secrets: `GET` lists names and when they were set,
//! `PUT` stores a value (sealed before it leaves this request), `DELETE`
//! removes it. No route ever answers a value.

use serde::Deserialize;
use worker::{Request, Response};

use crate::admin::auth::Principal;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{id_param, json, no_content, read_json};
use crate::secrets::tenant as secrets;
use crate::secrets::Secret;
use crate::storage::config::ConfigStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretValue {
    value: Secret,
}

fn name_param(name: &str, ctx: &Ctx, tenant_id: &str) -> Result<String> {
    if !secrets::valid_name(name) {
        return Err(Error::bad_request(
            "invalid_secret_name",
            "A secret's name is 2–64 capital letters, digits or '_', starting with a letter (like TEAMS_CLIENT_SECRET).",
        )
        .field("name"));
    }
    if secrets::is_reserved(name) {
        return Err(Error::bad_request(
            "secret_name_reserved",
            format!("{name} is one of Visitgate's own keys and cannot be used by a tenant. Choose another name."),
        )
        .field("name"));
    }
    // Only this tenant's own assignment is told: whether some other Worker
    // secret of that name exists is no business of a tenant admin.
    if secrets::assigned_worker_secret(&ctx.env, tenant_id, name).is_some() {
        return Err(Error::new(
            409,
            "secret_assigned_by_operator",
            format!("{name} is set for your organisation by your Visitgate operator, and that value is used. Choose another name to store one here."),
        )
        .field("name"));
    }
    Ok(name.to_string())
}

pub async fn list(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let mut stored = ConfigStore::new(&ctx.env)?.secrets(id).await?;
    // The Worker secrets the operator assigned to this tenant count as set.
    let t = super::tenants::load(ctx, who, id).await?;
    for name in referenced_names(&t) {
        if !stored.iter().any(|s| s.name == name) && secrets::assigned_worker_secret(&ctx.env, id, &name).is_some() {
            stored.push(shared::api::SecretInfo { name, updated_at: String::new(), updated_by: "operator".into() });
        }
    }
    json(200, &shared::api::SecretList { secrets: stored })
}

/// Every secret name the tenant's settings refer to.
fn referenced_names(t: &shared::tenant::Tenant) -> Vec<String> {
    use shared::email::EmailProvider;
    use shared::sms::SmsProvider;
    use shared::video::VideoSettings;
    let mut out: Vec<String> = t.fhir_bases.iter().filter_map(|b| b.client.secret_ref.clone()).collect();
    match &t.video {
        Some(VideoSettings::Teams(v)) => out.push(v.client_secret_ref.clone()),
        Some(VideoSettings::Jitsi(v)) => out.push(v.secret_ref.clone()),
        None => {}
    }
    match t.sms.as_ref().map(|s| &s.provider) {
        Some(SmsProvider::Twilio { auth_token_ref, .. }) => out.push(auth_token_ref.clone()),
        Some(SmsProvider::Acs { access_key_ref, .. }) => out.push(access_key_ref.clone()),
        None => {}
    }
    match t.email.as_ref().map(|e| &e.provider) {
        Some(EmailProvider::AcsEmail { access_key_ref, .. }) => out.push(access_key_ref.clone()),
        Some(EmailProvider::SendGrid { api_key_ref, .. }) => out.push(api_key_ref.clone()),
        None => {}
    }
    out.sort();
    out.dedup();
    out
}

pub async fn put(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, name: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let name = name_param(name, ctx, id)?;
    let body: SecretValue = read_json(req).await?;
    let value = Secret::new(body.value.expose().trim().to_string());
    // A value that is safe to store: not empty, one line, not absurdly long.
    let v = value.expose();
    if v.is_empty() || v.len() > 4096 || v.contains(['\n', '\r']) {
        return Err(Error::bad_request("invalid_secret_value", "Paste the secret as one line (at most 4096 characters).").field("value"));
    }
    let key = secrets::key(&ctx.env).ok_or_else(|| {
        Error::new(
            500,
            "secrets_not_configured",
            format!(
                "Visitgate cannot store secrets: the Worker secret {} (32 random bytes) is not set up. Ask your Visitgate operator.",
                secrets::KEY_SECRET
            ),
        )
    })?;
    let sealed = secrets::seal(&key, id, &name, value.expose(), crate::crypto::random_bytes()).await?;
    ConfigStore::new(&ctx.env)?.set_secret(id, &name, Some(sealed), &who.subject, &crate::clock::now_iso()).await?;
    no_content()
}

pub async fn delete(ctx: &Ctx, who: &Principal, id: &str, name: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    if !secrets::valid_name(name) {
        return Err(Error::not_found("This secret"));
    }
    ConfigStore::new(&ctx.env)?.set_secret(id, name, None, &who.subject, &crate::clock::now_iso()).await?;
    no_content()
}
