//! The admin API under `/api/v1/`. Every route authenticates first, checks
//! CSRF for browser sessions, then checks the tenant it touches.

mod fhir_bases;
mod reports;
mod secrets;
mod session;
mod tenants;
mod watch;

use worker::{Method, Request, Response};

use crate::admin::auth::{authenticate, check_csrf};
use crate::ctx::Ctx;
use crate::error::{Error, Result};

pub async fn handle(mut req: Request, ctx: &Ctx, path: &str) -> Result<Response> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method();
    if !route_exists(&segments) {
        return Err(Error::not_found("This API route"));
    }
    let who = authenticate(&req, ctx).await?;
    check_csrf(&req, &who, ctx)?;
    let r = &mut req;
    match (method, segments.as_slice()) {
        (Method::Get, ["me"]) => session::me(&who),
        (Method::Post, ["logout"]) => crate::admin::auth::logout(ctx, &who).await,
        (Method::Post, ["tokens"]) => session::mint_token(r, ctx, &who).await,
        (Method::Get, ["tokens"]) => session::list_tokens(r, ctx, &who).await,
        (Method::Delete, ["tokens", id]) => session::revoke_token(ctx, &who, id).await,
        (Method::Post, ["login-links"]) => session::mint_login_link(r, ctx, &who).await,
        (Method::Get, ["tenants"]) => tenants::list(ctx, &who).await,
        (Method::Post, ["tenants"]) => tenants::create(r, ctx, &who).await,
        (Method::Get, ["tenants", id]) => tenants::get(ctx, &who, id).await,
        (Method::Put, ["tenants", id]) => tenants::update(r, ctx, &who, id).await,
        (Method::Delete, ["tenants", id]) => tenants::delete(r, ctx, &who, id).await,
        (Method::Get, ["tenants", id, "integration-records"]) => tenants::integration_records(r, ctx, &who, id).await,
        (Method::Get, ["tenants", id, "audit"]) => tenants::audit(r, ctx, &who, id).await,
        (Method::Put, ["tenants", id, "provider-hosts"]) => tenants::put_provider_hosts(r, ctx, &who, id).await,
        (Method::Put, ["tenants", id, "sms"]) => tenants::put_sms(r, ctx, &who, id).await,
        (Method::Put, ["tenants", id, "email"]) => tenants::put_email(r, ctx, &who, id).await,
        (Method::Post, ["tenants", id, "sms", "numbers"]) => tenants::order_number(r, ctx, &who, id).await,
        (Method::Get, ["tenants", id, "sms", "numbers"]) => tenants::numbers(ctx, &who, id).await,
        (Method::Get, ["tenants", id, "sms", "numbers", order]) => tenants::number_order(ctx, &who, id, order).await,
        (Method::Get, ["tenants", id, "sms", "webhooks"]) => tenants::sms_webhooks(ctx, &who, id).await,
        (Method::Get, ["tenants", id, "secrets"]) => secrets::list(ctx, &who, id).await,
        (Method::Put, ["tenants", id, "secrets", name]) => secrets::put(r, ctx, &who, id, name).await,
        (Method::Delete, ["tenants", id, "secrets", name]) => secrets::delete(ctx, &who, id, name).await,
        (Method::Get, ["tenants", id, "reports", what]) => reports::handle(r, ctx, &who, id, what).await,
        (Method::Post, ["tenants", id, "fhir-bases"]) => fhir_bases::add(r, ctx, &who, id).await,
        (Method::Put, ["tenants", id, "fhir-bases", base]) => fhir_bases::update(r, ctx, &who, id, base).await,
        (Method::Delete, ["tenants", id, "fhir-bases", base]) => fhir_bases::remove(r, ctx, &who, id, base).await,
        (Method::Post, ["tenants", id, "fhir-bases", base, "approve"]) => fhir_bases::approve(r, ctx, &who, id, base).await,
        (Method::Get, ["tenants", id, "fhir-bases", base, "watch"]) => watch::get(ctx, &who, id, base).await,
        (Method::Put, ["tenants", id, "fhir-bases", base, "watch"]) => watch::put(r, ctx, &who, id, base).await,
        (Method::Post, ["tenants", id, "fhir-bases", base, "watch", "check"]) => watch::check_ids(r, ctx, &who, id, base).await,
        (Method::Post, ["fhir-bases", "validate"]) => fhir_bases::validate(r, ctx, &who).await,
        _ => Err(Error::new(405, "method_not_allowed", "This method is not allowed on this route.")),
    }
}

/// Known paths, whatever the method: unknown ones are 404 before auth, so a
/// typo is not reported as a sign-in problem.
fn route_exists(s: &[&str]) -> bool {
    matches!(
        s,
        ["me"]
            | ["logout"]
            | ["tokens"]
            | ["tokens", _]
            | ["login-links"]
            | ["tenants"]
            | ["tenants", _]
            | ["tenants", _, "integration-records" | "audit" | "fhir-bases" | "sms" | "email" | "secrets" | "provider-hosts"]
            | ["tenants", _, "secrets", _]
            | ["tenants", _, "fhir-bases", _]
            | ["tenants", _, "fhir-bases", _, "approve" | "watch"]
            | ["tenants", _, "fhir-bases", _, "watch", "check"]
            | ["tenants", _, "sms", "numbers" | "webhooks"]
            | ["tenants", _, "sms", "numbers", _]
            | ["tenants", _, "reports", "summary" | "visits" | "visits.csv"]
            | ["fhir-bases", "validate"]
    )
}
