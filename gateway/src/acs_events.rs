//! `POST /webhooks/acs/{tenant}?code=…`: the Event Grid subscription of a
//! tenant's Communication Services resource. Event Grid proves nothing by
//! signature, so the URL carries a per-tenant code (a keyed hash) that is
//! checked in constant time; the subscription handshake is answered.
//! Delivery reports are recorded on the visit (the send's `tag`), inbound
//! STOP / START / HELP handled as for Twilio.

use serde::Deserialize;
use shared::sms::SmsProvider;
use worker::{Request, Response};

use crate::error::{Error, Result};
use crate::Ctx;

/// The code in a tenant's Event Grid webhook URL.
pub fn webhook_code(ctx: &Ctx, tenant_id: &str) -> Result<String> {
    let key = ctx.secret(crate::visit::REF_KEY_SECRET).ok_or_else(|| Error::internal("APPOINTMENT_REF_KEY missing"))?;
    Ok(crate::crypto::keyed_hash_hex(key.as_bytes(), &format!("eventgrid|{tenant_id}"))[..32].to_string())
}

pub fn webhook_url(ctx: &Ctx, tenant_id: &str) -> Result<String> {
    Ok(format!("{}/webhooks/acs/{tenant_id}?code={}", ctx.origin, webhook_code(ctx, tenant_id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GridEvent {
    event_type: String,
    #[serde(default)]
    data: serde_json::Value,
}

pub async fn handle(mut req: Request, ctx: &Ctx, tenant_id: &str) -> Result<Response> {
    crate::http::id_param(tenant_id, "tenant")?;
    let code = req.url()?.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
    if !crate::crypto::constant_time_eq(&code, &webhook_code(ctx, tenant_id)?) {
        return Err(Error::new(403, "webhook_code_invalid", "This webhook address is not valid. Copy it again from the admin portal."));
    }
    let events: Vec<GridEvent> = crate::http::read_json(&mut req).await?;
    let mut validation = None;
    for e in &events {
        match e.event_type.as_str() {
            "Microsoft.EventGrid.SubscriptionValidationEvent" => validation = e.data["validationCode"].as_str().map(str::to_string),
            "Microsoft.Communication.SMSDeliveryReportReceived" => delivery_report(ctx, &e.data).await?,
            "Microsoft.Communication.SMSReceived" => inbound(ctx, tenant_id, &e.data).await?,
            _ => {}
        }
    }
    match validation {
        Some(code) => crate::http::json(200, &serde_json::json!({ "validationResponse": code })),
        None => Ok(Response::empty()?.with_status(200)),
    }
}

async fn delivery_report(ctx: &Ctx, data: &serde_json::Value) -> Result<()> {
    let Some(visit_ref) = data["tag"].as_str().filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())) else { return Ok(()) };
    let (kind, detail) = match data["deliveryStatus"].as_str() {
        Some("Delivered") => ("sms_delivered", None),
        Some(other) => ("sms_undelivered", Some(format!("{other}: {}", data["deliveryStatusDetails"].as_str().unwrap_or_default()))),
        None => return Ok(()),
    };
    crate::visit::record(&ctx.env, visit_ref, crate::visit::Event::new(kind, None, detail)).await
}

async fn inbound(ctx: &Ctx, tenant_id: &str, data: &serde_json::Value) -> Result<()> {
    let tenant: shared::tenant::Tenant = crate::storage::kv::store(&ctx.env)?
        .get(&shared::kv_keys::tenant(tenant_id))
        .json()
        .await
        .map_err(worker::Error::from)?
        .ok_or_else(|| Error::not_found("This webhook"))?;
    let (from, to, message) = (data["from"].as_str().unwrap_or_default(), data["to"].as_str().unwrap_or_default(), data["message"].as_str().unwrap_or_default());
    let Some(reply) = crate::sms::handle_keyword(ctx, &tenant, from, message).await? else { return Ok(()) };
    // ACS leaves HELP to the application: answer from the number they texted.
    if let Some(settings) = tenant.sms.as_ref().filter(|s| matches!(s.provider, SmsProvider::Acs { .. }) && s.numbers.iter().any(|n| n == to)) {
        let key = format!("help|{}|{}", tenant_id, data["messageId"].as_str().unwrap_or_default());
        let first_sent = String::from(js_sys::Date::new_0().to_utc_string());
        let sms = crate::sms::Sms { from: to, to: from, body: &reply, status_callback: "", tag: "", key: &key, first_sent: &first_sent };
        let outcome = crate::sms::send_sms(&ctx.env, tenant_id, &settings.provider, &sms).await;
        if !matches!(outcome, crate::sms::SendOutcome::Sent { .. }) {
            worker::console_error!("notify: HELP reply not sent");
        }
    }
    Ok(())
}
