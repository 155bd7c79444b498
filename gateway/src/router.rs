//! Every public route, and the one place a request turns into a response:
//! failures become JSON for `/api/`, a page a person can read elsewhere.

use worker::{Context, Env, Method, Request, Response};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::{admin, http, launch, notify, oidc, pages, patient, visit};

pub async fn handle(req: Request, env: Env, exec: Context) -> Response {
    let path = req.path();
    let api = path.starts_with("/api/");
    let (result, dev_mode) = match Ctx::new(env, &req, Some(exec)) {
        Ok(ctx) => (route(req, &ctx, &path).await, ctx.dev_mode),
        Err(e) => (Err(e), false),
    };
    let mut resp = match result {
        Ok(resp) => resp,
        Err(err) if api => http::api_error(&err),
        Err(err) => pages::error_page(&err),
    };
    if !dev_mode && resp.status_code() != 101 {
        // Browsers keep to https for this host from the first answer on.
        let _ = resp.headers_mut().set("strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    resp
}

async fn route(req: Request, ctx: &Ctx, path: &str) -> Result<Response> {
    let method = req.method();
    let under = |prefix: &str| path.strip_prefix(prefix);
    match (method, path) {
        (Method::Get | Method::Head, "/healthz") => {
            http::json(200, &serde_json::json!({ "status": "ok", "service": "visitgate", "version": env!("CARGO_PKG_VERSION") }))
        }
        // The admin journey: API, sign-in, portal.
        (_, p) if p.starts_with("/api/v1/") => admin::api::handle(req, ctx, &p["/api/v1/".len()..]).await,
        (_, p) if p.starts_with("/api/") => Err(Error::not_found("This API version")),
        (Method::Get, "/admin/login") => admin::auth::login(&req, ctx).await,
        (Method::Get, "/admin/signin") => admin::signin::start(ctx).await.or_else(|e| Ok(admin::signin::error_page(&e))),
        (Method::Get, admin::signin::CALLBACK_PATH) => admin::signin::callback(&req, ctx).await,
        (Method::Get | Method::Head, "/admin") => http::redirect(308, "/admin/"),
        (Method::Get | Method::Head, p) if p.starts_with("/admin/") => admin::portal::serve(req, ctx, p).await,
        (Method::Get | Method::Head, "/") => http::redirect(302, "/admin/"),
        // The provider's launch, then the visit page it leads to.
        (Method::Get, "/launch") => launch::start(&req, ctx).await,
        (Method::Get, "/launch/callback") => launch::callback(&req, ctx).await,
        (Method::Get, "/.well-known/jwks.json") => oidc::client_auth::jwks(ctx).await,
        (Method::Post, "/_bench/id_token") if oidc::bench::enabled(ctx) => oidc::bench::id_token(req, ctx).await,
        (Method::Post, p) if p.starts_with("/visit/") && p.ends_with("/send-link") => {
            let visit_ref = &p["/visit/".len()..p.len() - "/send-link".len()];
            notify::send_link::handle(req, ctx, visit_ref).await
        }
        (Method::Get | Method::Post, p) if p.starts_with("/visit/") => visit::serve(req, ctx, &p["/visit/".len()..]).await,
        // The patient's link and lobby.
        (Method::Get | Method::Post, p) if p.starts_with("/j/") => patient::serve(req, ctx, &p["/j/".len()..]).await,
        // What the SMS providers send back: delivery reports, STOP / START / HELP.
        (Method::Post, _) if under("/webhooks/sms/status/").is_some() => {
            notify::inbound::twilio_status(req, ctx, under("/webhooks/sms/status/").unwrap_or_default()).await
        }
        (Method::Post, _) if under("/webhooks/sms/inbound/").is_some() => {
            notify::inbound::twilio_inbound(req, ctx, under("/webhooks/sms/inbound/").unwrap_or_default()).await
        }
        (Method::Post, _) if under("/webhooks/acs/").is_some() => {
            notify::inbound::event_grid(req, ctx, under("/webhooks/acs/").unwrap_or_default()).await
        }
        _ => Err(Error::not_found("This page")),
    }
}
