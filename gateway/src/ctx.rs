//! What every handler needs to know about this deployment and request.

use std::future::Future;

use worker::{Context, Env, Request};

use crate::error::{Error, Result};
use crate::secrets::{worker_secret, Secret};

pub struct Ctx {
    pub env: Env,
    /// `DEV_MODE = "true"`: http FHIR bases on loopback are allowed.
    pub dev_mode: bool,
    /// Dev mode on a loopback host: cookies go without `Secure`.
    pub loopback_dev: bool,
    /// Public origin (`PUBLIC_ORIGIN`, else the request's own).
    pub origin: String,
    /// SHA-256 (hex) of the platform-admin bootstrap token (secret `ADMIN_TOKEN_SHA256`).
    pub admin_token_sha256: Option<String>,
    exec: Option<Context>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

impl Ctx {
    pub fn new(env: Env, req: &Request, exec: Option<Context>) -> Result<Self> {
        let url = req.url()?;
        let dev_mode = var(&env, "DEV_MODE").is_some_and(|v| v == "true");
        let host = url.host_str().unwrap_or_default();
        let loopback_dev = dev_mode && matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        let origin = var(&env, "PUBLIC_ORIGIN").unwrap_or_else(|| url.origin().ascii_serialization());
        let admin_token_sha256 = worker_secret(&env, "ADMIN_TOKEN_SHA256").map(|s| s.expose().to_lowercase());
        Ok(Ctx { env, dev_mode, loopback_dev, origin, admin_token_sha256, exec })
    }

    /// For scheduled jobs: there is no request, so the origin must be configured.
    pub fn for_job(env: Env) -> Result<Self> {
        let origin = var(&env, "PUBLIC_ORIGIN").ok_or_else(|| {
            Error::new(
                500,
                "public_origin_missing",
                "Set PUBLIC_ORIGIN: scheduled jobs put links in messages and have no request to take the origin from.",
            )
        })?;
        let dev_mode = var(&env, "DEV_MODE").is_some_and(|v| v == "true");
        Ok(Ctx { env, dev_mode, loopback_dev: false, origin, admin_token_sha256: None, exec: None })
    }

    /// Work that must finish but not delay the response (KV cache fills,
    /// write-back, events).
    pub fn background(&self, work: impl Future<Output = ()> + 'static) {
        match &self.exec {
            Some(c) => c.wait_until(work),
            None => wasm_bindgen_futures::spawn_local(work),
        }
    }

    /// A Worker secret of this deployment (the gateway's own keys).
    pub fn secret(&self, name: &str) -> Option<Secret> {
        worker_secret(&self.env, name)
    }
}
