//! FHIR bases of a tenant: add, change, remove, approve, and validate
//! without saving. A base is saved only after validation passed. A tenant
//! admin's new base, or a base moved to a new URL, waits for a platform
//! admin's approval before it launches or holds its URL.

use serde_json::Map;
use shared::api::{FhirBaseInput, ValidateRequest};
use shared::fhir_url::normalize_fhir_base;
use shared::tenant::{Approval, ClientRegistration, FhirBase, Role};
use shared::validation::ValidationReport;
use shared::video_rule::VideoRule;
use worker::{Request, Response};

use super::tenants::{load_for_write, stamp, tenant_response};
use crate::admin::auth::Principal;
use crate::ctx::Ctx;
use crate::ehr::validate::validate_fhir_base;
use crate::error::{Error, Result};
use crate::http::{id_param, json, read_json};
use crate::storage::config::ConfigStore;

/// What a base starts as when this caller saves it at a new URL.
fn approval_for(who: &Principal) -> Approval {
    if matches!(who.role, Role::PlatformAdmin) {
        Approval::Approved
    } else {
        Approval::Pending
    }
}

fn normalized(url: &str, ctx: &Ctx) -> Result<String> {
    normalize_fhir_base(url, ctx.dev_mode).map_err(|p| Error::bad_request(p.code(), p.message()).field("url"))
}

fn checked_client(c: ClientRegistration) -> Result<ClientRegistration> {
    let client_id = c.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 200 {
        return Err(
            Error::bad_request("invalid_client_id", "Enter the client id the EHR issued (1–200 characters).").field("client.client_id")
        );
    }
    let secret_ref = c.secret_ref.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(s) = &secret_ref {
        if !shared::sms::is_secret_name(s) {
            return Err(Error::bad_request(
                "invalid_secret_ref",
                "secret_ref names a secret (like EHR_CLIENT_SECRET_MAIN): capital letters, digits and '_', not one of Visitgate's own keys. Never paste the secret itself here.",
            )
            .field("client.secret_ref"));
        }
    }
    Ok(ClientRegistration { client_id, auth_method: c.auth_method, secret_ref })
}

fn video_rule(rule: Option<VideoRule>) -> Result<Option<VideoRule>> {
    rule.map(|r| r.checked().map_err(|m| Error::bad_request("invalid_video_rule", m).field("video_rule"))).transpose()
}

fn department(d: &str) -> Result<String> {
    let d = d.trim();
    if d.chars().count() > 120 {
        return Err(Error::bad_request("invalid_department", "Keep the department label to 120 characters.").field("department"));
    }
    Ok(d.to_string())
}

/// Validation fetches from the address the caller typed: a few a minute per
/// signed-in caller (binding `VALIDATIONS`), so it cannot be used to scan.
pub(super) async fn throttle(ctx: &Ctx, who: &Principal) -> Result<()> {
    let Ok(limiter) = ctx.env.rate_limiter("VALIDATIONS") else { return Ok(()) };
    if limiter.limit(who.subject.clone()).await.map(|o| o.success).unwrap_or(true) {
        Ok(())
    } else {
        Err(Error::new(429, "validation_throttled", "Too many FHIR base validations in the last minute. Wait a minute, then try again."))
    }
}

async fn validated(url: &str, input: &FhirBaseInput, ctx: &Ctx, who: &Principal) -> Result<ValidationReport> {
    throttle(ctx, who).await?;
    let report = validate_fhir_base(url, input.client.auth_method, ctx.dev_mode).await;
    if report.ok {
        Ok(report)
    } else {
        Err(Error::validation_failed(report))
    }
}

pub async fn add(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let input: FhirBaseInput = read_json(req).await?;
    let url = normalized(&input.url, ctx)?;
    let client = checked_client(input.client.clone())?;
    let department = department(&input.department)?;
    let rule = video_rule(input.video_rule.clone())?;
    if tenant.fhir_bases.iter().any(|b| b.url == url) {
        return Err(Error::new(409, "fhir_base_duplicate", format!("{url} is already configured for this tenant.")).field("url"));
    }
    let validation = validated(&url, &input, ctx, who).await?;
    let base = FhirBase {
        id: crate::crypto::random_id("fb-"),
        url,
        environment: input.environment,
        department,
        client,
        validation,
        approval: approval_for(who),
        watch: Default::default(),
        video_rule: rule.unwrap_or_default(),
        extra: Map::new(),
    };
    let base_id = base.id.clone();
    tenant.fhir_bases.push(base);
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "fhir_base.add").await?;
    let mut resp = tenant_response(201, &saved)?;
    resp.headers_mut().set("location", &format!("/api/v1/tenants/{}/fhir-bases/{base_id}", saved.id))?;
    Ok(resp)
}

/// Replaces a base's settings; validation always runs again, so a PUT of
/// the same body is "re-validate".
pub async fn update(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    let base_id = id_param(base_id, "fhir_base")?;
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let input: FhirBaseInput = read_json(req).await?;
    let url = normalized(&input.url, ctx)?;
    let client = checked_client(input.client.clone())?;
    let department = department(&input.department)?;
    let rule = video_rule(input.video_rule.clone())?;
    let index = tenant.fhir_bases.iter().position(|b| b.id == base_id).ok_or_else(|| Error::not_found("The FHIR base"))?;
    if tenant.fhir_bases.iter().any(|b| b.url == url && b.id != base_id) {
        return Err(Error::new(409, "fhir_base_duplicate", format!("{url} is already configured for this tenant.")).field("url"));
    }
    let validation = validated(&url, &input, ctx, who).await?;
    let base = &mut tenant.fhir_bases[index];
    if base.url != url || matches!(who.role, Role::PlatformAdmin) {
        base.approval = approval_for(who);
    }
    base.url = url;
    base.environment = input.environment;
    base.department = department;
    base.client = client;
    base.validation = validation;
    if let Some(rule) = rule {
        base.video_rule = rule;
    }
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "fhir_base.update").await?;
    tenant_response(200, &saved)
}

/// `POST …/fhir-bases/{base}/approve`: a platform admin gives the tenant
/// the base's URL (409 `fhir_base_taken` when another tenant holds it).
pub async fn approve(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    who.require_platform()?;
    let base_id = id_param(base_id, "fhir_base")?;
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let base = tenant.fhir_bases.iter_mut().find(|b| b.id == base_id).ok_or_else(|| Error::not_found("The FHIR base"))?;
    if base.approved() {
        return tenant_response(200, &tenant);
    }
    base.approval = Approval::Approved;
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "fhir_base.approve").await?;
    tenant_response(200, &saved)
}

pub async fn remove(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    let base_id = id_param(base_id, "fhir_base")?;
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let before = tenant.fhir_bases.len();
    tenant.fhir_bases.retain(|b| b.id != base_id);
    if tenant.fhir_bases.len() == before {
        return Err(Error::not_found("The FHIR base"));
    }
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "fhir_base.remove").await?;
    tenant_response(200, &saved)
}

/// Validates without saving; always 200 with the report (its `ok` says the verdict).
pub async fn validate(req: &mut Request, ctx: &Ctx, who: &Principal) -> Result<Response> {
    let body: ValidateRequest = read_json(req).await?;
    let url = normalized(&body.url, ctx)?;
    throttle(ctx, who).await?;
    json(200, &validate_fhir_base(&url, body.auth_method, ctx.dev_mode).await)
}
