//! Tenants: list, create, read, rename, delete; integration records; audit.

use serde_json::Map;
use shared::api::{NewTenant, TenantList, TenantUpdate};
use shared::integration::integration_records as build_records;
use shared::tenant::{Tenant, SCHEMA_VERSION};
use worker::{Request, Response};

use crate::admin::auth::Principal;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::http::{id_param, json, no_content, read_json};
use crate::storage::config::ConfigStore;

/// The version a write was based on, from `If-Match`.
pub fn if_match(req: &Request) -> Result<u64> {
    let value = req.headers().get("if-match")?.ok_or_else(Error::precondition_required)?;
    shared::tenant::parse_etag(&value)
        .ok_or_else(|| Error::bad_request("if_match_invalid", "If-Match must be the ETag you read, like \"v3\".").field("If-Match"))
}

/// A tenant with its ETag, the version the next write must state.
pub fn tenant_response(status: u16, tenant: &Tenant) -> Result<Response> {
    let mut resp = json(status, tenant)?;
    resp.headers_mut().set("etag", &tenant.etag())?;
    Ok(resp)
}

pub fn display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::bad_request("invalid_display_name", "Enter a name of 1–120 characters.").field("display_name"));
    }
    Ok(name.to_string())
}

pub async fn list(ctx: &Ctx, who: &Principal) -> Result<Response> {
    let mut tenants = ConfigStore::new(&ctx.env)?.list().await?;
    tenants.retain(|t| who.role.may_access(&t.id));
    json(200, &TenantList { tenants })
}

pub async fn create(req: &mut Request, ctx: &Ctx, who: &Principal) -> Result<Response> {
    who.require_platform()?;
    let body: NewTenant = read_json(req).await?;
    let id = id_param(&body.id, "id")?.to_string();
    let now = crate::clock::now_iso();
    let tenant = Tenant {
        schema_version: SCHEMA_VERSION,
        id,
        display_name: display_name(&body.display_name)?,
        fhir_bases: vec![],
        video: None,
        launch: Default::default(),
        retention: Default::default(),
        sms: None,
        email: None,
        provider_hosts: vec![],
        version: 1,
        created_at: now.clone(),
        updated_at: now,
        updated_by: who.subject.clone(),
        extra: Map::new(),
    };
    let saved = ConfigStore::new(&ctx.env)?.create(tenant).await?;
    let mut resp = tenant_response(201, &saved)?;
    resp.headers_mut().set("location", &format!("/api/v1/tenants/{}", saved.id))?;
    Ok(resp)
}

/// Reads a tenant the caller may access, from the authoritative store.
pub async fn load(ctx: &Ctx, who: &Principal, id: &str) -> Result<Tenant> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    ConfigStore::new(&ctx.env)?.get(id).await
}

/// Loads the tenant a write is based on and refuses a stale `If-Match` early,
/// before any slow work; the store checks again when it commits.
pub async fn load_for_write(req: &Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<(Tenant, u64)> {
    let tenant = load(ctx, who, id).await?;
    let expected = if_match(req)?;
    if tenant.version != expected {
        return Err(Error::conflict(tenant));
    }
    Ok((tenant, expected))
}

pub fn stamp(tenant: &mut Tenant, who: &Principal) {
    tenant.updated_at = crate::clock::now_iso();
    tenant.updated_by = who.subject.clone();
}

pub async fn get(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    tenant_response(200, &load(ctx, who, id).await?)
}

pub async fn update(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let body: TenantUpdate = read_json(req).await?;
    tenant.display_name = display_name(&body.display_name)?;
    if let Some(video) = body.video {
        if let Some((field, message)) = video.problems(ctx.dev_mode, &tenant.provider_hosts).into_iter().next() {
            return Err(Error::bad_request("invalid_video_settings", message).field(field));
        }
        tenant.video = Some(video);
    }
    if let Some(launch) = body.launch {
        if let Some((field, message)) = launch.problem() {
            return Err(Error::bad_request("invalid_launch_settings", message).field(field));
        }
        tenant.launch = launch;
    }
    if let Some(retention) = body.retention {
        if let Some((field, message)) = retention.problem() {
            return Err(Error::bad_request("invalid_retention", message).field(field));
        }
        tenant.retention = retention;
    }
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "tenant.update").await?;
    tenant_response(200, &saved)
}

pub async fn delete(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    who.require_platform()?;
    let expected = if_match(req)?;
    ConfigStore::new(&ctx.env)?.delete(id, expected, &who.subject, &crate::clock::now_iso()).await?;
    // Its usage reports go with it (its visit objects expire on their own).
    let (env, id) = (ctx.env.clone(), id.to_string());
    ctx.background(async move {
        if let Err(e) = crate::reports::retention::forget_tenant(&env, &id).await {
            worker::console_error!("retention {id}: {}", e.body.code);
        }
    });
    no_content()
}

fn query(req: &Request, key: &str) -> Result<Option<String>> {
    Ok(req.url()?.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned()))
}

pub async fn integration_records(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    let mut resp = json(200, &build_records(&ctx.origin, &tenant))?;
    if query(req, "download")?.is_some_and(|v| v == "1" || v == "true") {
        resp.headers_mut()
            .set("content-disposition", &format!("attachment; filename=\"visitgate-{}-integration-records.json\"", tenant.id))?;
    }
    Ok(resp)
}

pub async fn audit(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let id = id_param(id, "tenant")?;
    who.require_tenant(id)?;
    let limit = match query(req, "limit")? {
        None => 100,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| Error::bad_request("invalid_limit", "limit must be a number from 1 to 500.").field("limit"))?,
    };
    let entries = ConfigStore::new(&ctx.env)?.audit(id, limit).await?;
    json(200, &serde_json::json!({ "entries": entries }))
}

/// A time zone the runtime knows (IANA, e.g. `America/Chicago`), exactly as typed.
fn time_zone(tz: &str) -> Result<()> {
    if crate::clock::is_time_zone(tz) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "invalid_time_zone",
            format!("\"{tz}\" is not a time zone. Use an IANA name such as America/Chicago or Europe/Berlin, with no spaces around it."),
        )
        .field("time_zone"))
    }
}

/// Top-level fields `PUT …/sms` accepts; the stored settings tolerate more
/// (newer versions), the API does not (a typo must not pass silently).
const SMS_FIELDS: [&str; 10] = [
    "consent_send_on_behalf",
    "consent_attendees",
    "provider",
    "numbers",
    "base_numbers",
    "reminder_offsets_minutes",
    "templates",
    "clinic_name",
    "time_zone",
    "clinic_phone",
];

pub async fn put_sms(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let raw: serde_json::Value = read_json(req).await?;
    if let Some(unknown) = raw.as_object().and_then(|o| o.keys().find(|k| !SMS_FIELDS.contains(&k.as_str()))) {
        return Err(Error::bad_request("unknown_field", format!("unknown field `{unknown}`.")).field(unknown.clone()));
    }
    let settings: shared::sms::SmsSettings = crate::http::parse_json(raw.to_string().as_bytes())?;
    time_zone(&settings.time_zone)?;
    let bases: Vec<&str> = tenant.fhir_bases.iter().map(|b| b.id.as_str()).collect();
    if let Some((field, message)) = settings.problems(&bases, ctx.dev_mode, &tenant.provider_hosts).into_iter().next() {
        return Err(Error::bad_request("invalid_sms_settings", message).field(field));
    }
    tenant.sms = Some(settings);
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "sms.update").await?;
    tenant_response(200, &saved)
}

const EMAIL_FIELDS: [&str; 7] =
    ["enabled", "consent_send_on_behalf", "consent_attendees", "provider", "from_name", "time_zone", "templates"];

/// `PUT …/email`: the email switch, consents, provider and templates.
pub async fn put_email(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let raw: serde_json::Value = read_json(req).await?;
    if let Some(unknown) = raw.as_object().and_then(|o| o.keys().find(|k| !EMAIL_FIELDS.contains(&k.as_str()))) {
        return Err(Error::bad_request("unknown_field", format!("unknown field `{unknown}`.")).field(unknown.clone()));
    }
    let settings: shared::email::EmailSettings = crate::http::parse_json(raw.to_string().as_bytes())?;
    time_zone(&settings.time_zone)?;
    if let Some((field, message)) = settings.problems(ctx.dev_mode, &tenant.provider_hosts).into_iter().next() {
        return Err(Error::bad_request("invalid_email_settings", message).field(field));
    }
    tenant.email = Some(settings);
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "email.update").await?;
    tenant_response(200, &saved)
}

/// `PUT …/provider-hosts` (platform admin only): hosts this tenant's
/// provider settings may name besides the providers' own.
pub async fn put_provider_hosts(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    who.require_platform()?;
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let body: shared::api::ProviderHosts = read_json(req).await?;
    let mut hosts = vec![];
    for (i, h) in body.hosts.iter().enumerate() {
        let h = h.trim().to_string();
        if !shared::providers::is_host_name(&h) {
            return Err(Error::bad_request(
                "invalid_host",
                "Give a host name only, like twilio-proxy.example.org (lower case, no https://, port or path).",
            )
            .field(format!("hosts.{i}")));
        }
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    if hosts.len() > 20 {
        return Err(Error::bad_request("invalid_host", "Allow at most 20 hosts.").field("hosts"));
    }
    tenant.provider_hosts = hosts;
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "tenant.provider_hosts").await?;
    tenant_response(200, &saved)
}

/// `POST …/sms/numbers`: "Generate a new phone number" (202 + Location).
pub async fn order_number(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    let key = req.headers().get("idempotency-key")?;
    let request: shared::api::NumberOrderRequest = read_json(req).await?;
    crate::sms::numbers::start(ctx, &tenant, request, &who.subject, key).await
}

/// `GET …/sms/numbers`: the tenant's numbers and its orders, running or done.
pub async fn numbers(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    let orders = crate::sms::numbers::list(ctx, &tenant.id).await?;
    let numbers = tenant.sms.map(|s| s.numbers).unwrap_or_default();
    json(200, &shared::api::NumberList { numbers, orders })
}

/// `GET …/sms/numbers/{order}`: one order's status.
pub async fn number_order(ctx: &Ctx, who: &Principal, id: &str, order_id: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    let order = crate::sms::numbers::list(ctx, &tenant.id)
        .await?
        .into_iter()
        .find(|o| o.id == order_id)
        .ok_or_else(|| Error::not_found("This number order"))?;
    json(200, &order)
}

/// `GET …/sms/webhooks`: the addresses to enter at the SMS provider.
pub async fn sms_webhooks(ctx: &Ctx, who: &Principal, id: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    json(
        200,
        &serde_json::json!({
            "twilio_inbound_sms_url": format!("{}/webhooks/sms/inbound/{}", ctx.origin, tenant.id),
            "acs_event_grid_url": crate::sms::webhooks::webhook_url(ctx, &tenant.id)?,
        }),
    )
}
