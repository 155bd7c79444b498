//! Visitgate gateway: one Cloudflare Worker for SMART launch, patient links,
//! the admin API and the admin portal.
//!
//! Routing and I/O live here and in `api/`, `storage/`; the rules they
//! apply live in the `shared` crate so they test on the host.

pub mod api;
pub mod auth;
pub mod acs;
pub mod acs_events;
pub mod crypto;
pub mod email;
pub mod error;
pub mod http;
pub mod launch;
pub mod meeting;
pub mod numbers;
pub mod notify;
pub mod pages;
pub mod patient;
pub mod portal;
pub mod secrets;
pub mod signin;
pub mod sms;
pub mod storage;
pub mod upstream;
pub mod validate;
pub mod visit;

use error::{Error, Result};
use std::future::Future;

use worker::{event, Context, Env, Method, Request, Response};

pub use storage::config::ConfigStoreObject;
pub use storage::launch_guard::LaunchGuardObject;
pub use numbers::NumberOrderObject;
pub use storage::opt_out::OptOutObject;
pub use visit::VisitObject;

/// What every handler needs to know about this deployment and request.
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

impl Ctx {
    fn new(env: Env, req: &Request, exec: Option<Context>) -> Result<Self> {
        let var = |name: &str| env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty());
        let secret = |name: &str| env.secret(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty());
        let url = req.url()?;
        let dev_mode = var("DEV_MODE").is_some_and(|v| v == "true");
        let host = url.host_str().unwrap_or_default();
        let loopback_dev = dev_mode && matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        let origin = var("PUBLIC_ORIGIN").unwrap_or_else(|| url.origin().ascii_serialization());
        let admin_token_sha256 = secret("ADMIN_TOKEN_SHA256").or_else(|| var("ADMIN_TOKEN_SHA256")).map(|s| s.to_lowercase());
        Ok(Ctx { env, dev_mode, loopback_dev, origin, admin_token_sha256, exec })
    }

    /// Work that must finish but not delay the response (KV cache fills,
    /// write-back, events).
    pub fn background(&self, work: impl Future<Output = ()> + 'static) {
        match &self.exec {
            Some(c) => c.wait_until(work),
            None => wasm_bindgen_futures::spawn_local(work),
        }
    }

    pub fn secret(&self, name: &str) -> Option<String> {
        secrets::worker_secret(&self.env, name)
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

pub fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

impl Ctx {
    /// For scheduled jobs: there is no request, so the origin must be configured.
    fn for_job(env: Env) -> Result<Self> {
        let origin = env.var("PUBLIC_ORIGIN").ok().map(|v| v.to_string()).filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::new(500, "public_origin_missing", "Set PUBLIC_ORIGIN: scheduled jobs put links in messages and have no request to take the origin from.")
        })?;
        let dev_mode = env.var("DEV_MODE").ok().is_some_and(|v| v.to_string() == "true");
        let admin_token_sha256 = None;
        Ok(Ctx { env, dev_mode, loopback_dev: false, origin, admin_token_sha256, exec: None })
    }
}

#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _schedule: worker::ScheduleContext) {
    let now = (event.schedule() / 1000.0) as u64;
    match Ctx::for_job(env) {
        Ok(ctx) => match notify::run(&ctx, now).await {
            Ok(s) => worker::console_log!("notify: {} bases, {} appointments, {} sent, {} retrying, {} problems", s.bases, s.appointments, s.sent, s.retrying, s.problems.len()),
            Err(e) => worker::console_error!("notify: {}", e.body.code),
        },
        Err(e) => worker::console_error!("notify: {}", e.body.message),
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, exec: Context) -> worker::Result<Response> {
    let path = req.path();
    let api = path.starts_with("/api/");
    let result = match Ctx::new(env, &req, Some(exec)) {
        Ok(ctx) => route(req, &ctx, &path).await,
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(resp) => resp,
        Err(err) if api => http::api_error(&err),
        Err(err) => pages::error_page(&err),
    })
}

async fn route(req: Request, ctx: &Ctx, path: &str) -> Result<Response> {
    match (req.method(), path) {
        (Method::Get | Method::Head, "/healthz") => {
            http::json(200, &serde_json::json!({ "status": "ok", "service": "visitgate", "version": env!("CARGO_PKG_VERSION") }))
        }
        (_, p) if p.starts_with("/api/v1/") => api::handle(req, ctx, &p["/api/v1/".len()..]).await,
        (_, p) if p.starts_with("/api/") => Err(Error::not_found("This API version")),
        (Method::Get, "/admin/login") => auth::login(&req, ctx).await,
        (Method::Get, "/admin/signin") => signin::start(ctx).await.or_else(|e| Ok(signin::error_page(&e))),
        (Method::Get, signin::CALLBACK_PATH) => signin::callback(&req, ctx).await,
        (Method::Get, "/launch") => launch::start(&req, ctx).await,
        (Method::Get, "/launch/callback") => launch::callback(&req, ctx).await,
        (Method::Get, "/.well-known/jwks.json") => launch::jwks(ctx),
        (Method::Get, "/visit/live.js") => {
            let mut resp = Response::ok(visit::LIVE_JS)?;
            resp.headers_mut().set("content-type", "text/javascript; charset=utf-8")?;
            resp.headers_mut().set("cache-control", "no-cache")?;
            Ok(resp)
        }
        (Method::Get | Method::Post, p) if p.starts_with("/visit/") => visit::serve(req, ctx, &p["/visit/".len()..]).await,
        (Method::Get | Method::Post, p) if p.starts_with("/j/") => patient::serve(req, ctx, &p["/j/".len()..]).await,
        (Method::Post, p) if p.starts_with("/webhooks/sms/status/") => sms::status_callback(req, ctx, &p["/webhooks/sms/status/".len()..]).await,
        (Method::Post, p) if p.starts_with("/webhooks/sms/inbound/") => sms::inbound(req, ctx, &p["/webhooks/sms/inbound/".len()..]).await,
        (Method::Post, p) if p.starts_with("/webhooks/acs/") => acs_events::handle(req, ctx, &p["/webhooks/acs/".len()..]).await,
        (Method::Get | Method::Head, "/admin") => {
            let mut resp = Response::empty()?.with_status(308);
            resp.headers_mut().set("location", "/admin/")?;
            Ok(resp)
        }
        (Method::Get | Method::Head, p) if p.starts_with("/admin/") => portal::serve(req, ctx, p).await,
        (Method::Get | Method::Head, "/") => {
            let mut resp = Response::empty()?.with_status(302);
            resp.headers_mut().set("location", "/admin/")?;
            Ok(resp)
        }
        _ => Err(Error::not_found("This page")),
    }
}
