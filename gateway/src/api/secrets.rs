//! Write-only tenant secrets: `GET` lists names and when they were set,
//! `PUT` stores a value (sealed before it leaves this request), `DELETE`
//! removes it. No route ever answers a value.

use serde::Deserialize;
use worker::{Request, Response};

use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::http::{id_param, json, no_content, read_json};
use crate::secrets;
use crate::storage::config::ConfigStore;
use crate::Ctx;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretValue {
    value: String,
}

/// A value that is safe to store: not empty, one line, not absurdly long.
struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText([redacted])")
    }
}

fn name_param(name: &str, ctx: &Ctx) -> Result<String> {
    if !secrets::valid_name(name) {
        return Err(Error::bad_request("invalid_secret_name", "A secret's name is 2–64 capital letters, digits or '_', starting with a letter (like TEAMS_CLIENT_SECRET).").field("name"));
    }
    if secrets::is_reserved(name) {
        return Err(Error::bad_request("secret_name_reserved", format!("{name} is one of Visitgate's own keys and cannot be used by a tenant. Choose another name.")).field("name"));
    }
    if secrets::worker_secret_exists(&ctx.env, name) {
        return Err(Error::new(409, "secret_is_worker_secret", format!("{name} is set as a Worker secret by your Visitgate operator, which takes precedence; a value stored here would never be used. Choose another name.")).field("name"));
    }
    Ok(name.to_string())
}

pub async fn list(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let stored = ConfigStore::new(&ctx.env)?.secrets(id).await?;
    json(200, &serde_json::json!({ "secrets": stored }))
}

pub async fn put(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, name: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let name = name_param(name, ctx)?;
    let body: SecretValue = read_json(req).await?;
    let value = SecretText(body.value.trim().to_string());
    if value.0.is_empty() || value.0.len() > 4096 || value.0.contains(['\n', '\r']) {
        return Err(Error::bad_request("invalid_secret_value", "Paste the secret as one line (at most 4096 characters).").field("value"));
    }
    let key = secrets::key(&ctx.env).ok_or_else(|| {
        Error::new(500, "secrets_not_configured", format!("Visitgate cannot store secrets: the Worker secret {} (32 random bytes) is not set up. Ask your Visitgate operator.", secrets::KEY_SECRET))
    })?;
    let sealed = secrets::seal(&key, id, &name, &value.0, crate::crypto::random_bytes());
    ConfigStore::new(&ctx.env)?.set_secret(id, &name, Some(sealed), &who.subject, &crate::now_iso()).await?;
    no_content()
}

pub async fn delete(ctx: &Ctx, who: &Principal, id: &str, name: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    if !secrets::valid_name(name) {
        return Err(Error::not_found("This secret"));
    }
    ConfigStore::new(&ctx.env)?.set_secret(id, name, None, &who.subject, &crate::now_iso()).await?;
    no_content()
}
