//! What the SMS providers send back, checked and read: Twilio's form posts
//! (signed with `X-Twilio-Signature`) and the Event Grid subscription of a
//! tenant's Communication Services resource. Event Grid proves nothing by
//! signature, so its URL carries a per-tenant code (a keyed hash), checked
//! in constant time. What the messages mean for a visit is the notify
//! journey's business (`notify::inbound`).

use serde::Deserialize;
use shared::sms::{SmsProvider, SmsSettings};
use shared::tenant::Tenant;
use worker::Request;

use crate::ctx::Ctx;
use crate::error::{Error, Result};

/// A delivery report for one visit's text, without the number.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryReport {
    pub visit_ref: String,
    /// The provider's id of this report (a replay carries the same one).
    pub id: String,
    /// `sms_delivered` or `sms_undelivered`.
    pub kind: &'static str,
    pub detail: Option<String>,
}

/// A text from a patient's phone (STOP, START, HELP, anything else).
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub from: String,
    pub to: String,
    pub body: String,
    pub message_id: String,
}

fn is_visit_ref(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Twilio webhook for a tenant: its form parameters, once the
/// `X-Twilio-Signature` has been checked against the tenant's auth token.
pub async fn twilio_params(mut req: Request, ctx: &Ctx, tenant: &Tenant) -> Result<Vec<(String, String)>> {
    let Some(SmsSettings { provider: SmsProvider::Twilio { auth_token_ref, .. }, .. }) = &tenant.sms else {
        return Err(Error::not_found("This webhook"));
    };
    let token =
        crate::secrets::tenant::get(&ctx.env, &tenant.id, auth_token_ref).await.ok_or_else(|| Error::internal("SMS auth token missing"))?;
    let signature = req.headers().get("x-twilio-signature")?.unwrap_or_default();
    let url = req.url()?.to_string();
    let body = req.text().await?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    if !crate::crypto::constant_time_eq(&super::twilio::signature(token.expose(), &url, &params), &signature) {
        return Err(Error::new(403, "signature_invalid", "The webhook signature does not match."));
    }
    Ok(params)
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

/// Twilio's status callback (`MessageStatus`) as a report, when it is final.
pub fn twilio_report(visit_ref: &str, params: &[(String, String)]) -> Option<DeliveryReport> {
    let kind = match param(params, "MessageStatus") {
        "delivered" => "sms_delivered",
        "failed" | "undelivered" => "sms_undelivered",
        _ => return None,
    };
    let detail = Some(param(params, "ErrorCode")).filter(|c| !c.is_empty()).map(|c| format!("error {c}"));
    let id = format!("twilio:{}:{}", param(params, "MessageSid"), param(params, "MessageStatus"));
    Some(DeliveryReport { visit_ref: visit_ref.into(), id, kind, detail })
}

/// `(tenant, visit)` from the status callback's path, both checked.
pub fn status_path(rest: &str) -> Result<(&str, &str)> {
    let (tenant_id, visit_ref) = rest.split_once('/').ok_or_else(|| Error::not_found("This webhook"))?;
    if !is_visit_ref(visit_ref) {
        return Err(Error::not_found("This webhook"));
    }
    Ok((crate::http::id_param(tenant_id, "tenant")?, visit_ref))
}

/// The code in a tenant's Event Grid webhook URL.
pub fn webhook_code(ctx: &Ctx, tenant_id: &str) -> Result<String> {
    let hash = crate::secrets::keyed_ref(&ctx.env, &format!("eventgrid|{tenant_id}"))
        .ok_or_else(|| Error::internal("APPOINTMENT_REF_KEY missing"))?;
    Ok(hash[..32].to_string())
}

pub fn webhook_url(ctx: &Ctx, tenant_id: &str) -> Result<String> {
    Ok(format!("{}/webhooks/acs/{tenant_id}?code={}", ctx.origin, webhook_code(ctx, tenant_id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GridEvent {
    #[serde(default)]
    id: String,
    event_type: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// One Event Grid event, as far as Visitgate cares.
#[derive(Debug, Clone, PartialEq)]
pub enum GridItem {
    /// The subscription handshake: answer with this code.
    Validation(String),
    Delivery(DeliveryReport),
    Inbound(Inbound),
}

/// A batch from Event Grid, after its URL code was checked.
pub async fn event_grid(mut req: Request, ctx: &Ctx, tenant_id: &str) -> Result<Vec<GridItem>> {
    crate::http::id_param(tenant_id, "tenant")?;
    let code = req.url()?.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
    if !crate::crypto::constant_time_eq(&code, &webhook_code(ctx, tenant_id)?) {
        return Err(Error::new(403, "webhook_code_invalid", "This webhook address is not valid. Copy it again from the admin portal."));
    }
    let events: Vec<GridEvent> = crate::http::read_json(&mut req).await?;
    Ok(grid_items(&events))
}

/// What Visitgate reads from a batch of Event Grid events (others are ignored).
pub fn grid_items(events: &[GridEvent]) -> Vec<GridItem> {
    events.iter().filter_map(grid_item).collect()
}

fn grid_item(e: &GridEvent) -> Option<GridItem> {
    let d = &e.data;
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    match e.event_type.as_str() {
        "Microsoft.EventGrid.SubscriptionValidationEvent" => d["validationCode"].as_str().map(|c| GridItem::Validation(c.into())),
        "Microsoft.Communication.SMSDeliveryReportReceived" => {
            let visit_ref = d["tag"].as_str().filter(|t| is_visit_ref(t))?;
            let (kind, detail) = match d["deliveryStatus"].as_str()? {
                "Delivered" => ("sms_delivered", None),
                other => ("sms_undelivered", Some(format!("{other}: {}", d["deliveryStatusDetails"].as_str().unwrap_or_default()))),
            };
            Some(GridItem::Delivery(DeliveryReport { visit_ref: visit_ref.into(), id: format!("eventgrid:{}", e.id), kind, detail }))
        }
        "Microsoft.Communication.SMSReceived" => {
            Some(GridItem::Inbound(Inbound { from: s("from"), to: s("to"), body: s("message"), message_id: s("messageId") }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: serde_json::Value) -> GridEvent {
        GridEvent { id: "e-1".into(), event_type: kind.into(), data }
    }

    #[test]
    fn grid_events_are_read_by_kind() {
        let v = "a".repeat(64);
        let delivered =
            event("Microsoft.Communication.SMSDeliveryReportReceived", serde_json::json!({"tag": v, "deliveryStatus": "Delivered"}));
        assert_eq!(
            grid_item(&delivered),
            Some(GridItem::Delivery(DeliveryReport {
                visit_ref: v.clone(),
                id: "eventgrid:e-1".into(),
                kind: "sms_delivered",
                detail: None
            }))
        );
        let failed = event(
            "Microsoft.Communication.SMSDeliveryReportReceived",
            serde_json::json!({"tag": v, "deliveryStatus": "Failed", "deliveryStatusDetails": "x"}),
        );
        assert!(matches!(grid_item(&failed), Some(GridItem::Delivery(DeliveryReport { kind: "sms_undelivered", .. }))));
        let untagged =
            event("Microsoft.Communication.SMSDeliveryReportReceived", serde_json::json!({"tag": "", "deliveryStatus": "Delivered"}));
        assert_eq!(grid_item(&untagged), None, "a text that belongs to no visit (HELP reply)");
        let hello = event("Microsoft.EventGrid.SubscriptionValidationEvent", serde_json::json!({"validationCode": "c1"}));
        assert_eq!(grid_item(&hello), Some(GridItem::Validation("c1".into())));
        assert_eq!(grid_item(&event("Other", serde_json::json!({}))), None);
    }

    #[test]
    fn twilio_reports_only_final_states() {
        let p = |s: &str| vec![("MessageStatus".to_string(), s.to_string()), ("ErrorCode".to_string(), "30003".to_string())];
        assert_eq!(twilio_report("v", &p("sent")), None);
        assert_eq!(twilio_report("v", &p("undelivered")).unwrap().detail.as_deref(), Some("error 30003"));
        assert_eq!(twilio_report("v", &p("delivered")).unwrap().kind, "sms_delivered");
    }
}
