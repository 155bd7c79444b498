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
use crate::secrets::{worker_secret_exists, Secret};
use crate::storage::config::ConfigStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretValue {
    value: Secret,
}

fn name_param(name: &str, ctx: &Ctx) -> Result<String> {
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
    if worker_secret_exists(&ctx.env, name) {
        return Err(Error::new(409, "secret_is_worker_secret", format!("{name} is set as a Worker secret by your Visitgate operator, which takes precedence; a value stored here would never be used. Choose another name.")).field("name"));
    }
    Ok(name.to_string())
}

pub async fn list(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let stored = ConfigStore::new(&ctx.env)?.secrets(id).await?;
    json(200, &shared::api::SecretList { secrets: stored })
}

pub async fn put(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, name: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let name = name_param(name, ctx)?;
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
    let sealed = secrets::seal(&key, id, &name, value.expose(), crate::crypto::random_bytes());
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
