//! What comes back from patients' phones, for either SMS provider: delivery
//! reports are recorded on their visit (without the number), STOP / START
//! change the tenant's opt-out list (keyed hashes only), and HELP gets the
//! clinic's answer where the provider does not give one itself.

use shared::sms::{keyword, Keyword, SmsProvider};
use shared::tenant::Tenant;
use worker::{Request, Response};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::sms::webhooks::{self, DeliveryReport, GridItem, Inbound};
use crate::storage::{kv, opt_out};
use crate::visit::client::{self as visit, Event};

async fn load_tenant(ctx: &Ctx, tenant_id: &str) -> Result<Tenant> {
    crate::http::id_param(tenant_id, "tenant")?;
    kv::tenant(&kv::store(&ctx.env)?, tenant_id).await?.ok_or_else(|| Error::not_found("This webhook"))
}

/// A delivery report lands only on the webhook tenant's own visit, once.
async fn record(ctx: &Ctx, tenant_id: &str, report: DeliveryReport) -> Result<()> {
    let recorded = visit::report(&ctx.env, &report.visit_ref, tenant_id, Event::new(report.kind, None, report.detail), &report.id).await?;
    if !recorded {
        worker::console_log!("webhook: a report for another tenant's visit or a replay was ignored");
    }
    Ok(())
}

/// `POST /webhooks/sms/status/{tenant}/{visit}`: Twilio's delivery report.
pub async fn twilio_status(req: Request, ctx: &Ctx, rest: &str) -> Result<Response> {
    let (tenant_id, visit_ref) = webhooks::status_path(rest)?;
    let tenant = load_tenant(ctx, tenant_id).await?;
    let params = webhooks::twilio_params(req, ctx, &tenant).await?;
    if let Some(report) = webhooks::twilio_report(visit_ref, &params) {
        record(ctx, tenant_id, report).await?;
    }
    Ok(Response::empty()?.with_status(204))
}

/// `POST /webhooks/sms/inbound/{tenant}` (the Twilio number's SmsUrl).
/// Twilio answers STOP, START and HELP itself (Advanced Opt-Out), so the
/// reply here is empty TwiML.
pub async fn twilio_inbound(req: Request, ctx: &Ctx, tenant_id: &str) -> Result<Response> {
    let tenant = load_tenant(ctx, tenant_id).await?;
    let params = webhooks::twilio_params(req, ctx, &tenant).await?;
    handle_keyword(ctx, &tenant, webhooks::param(&params, "From"), webhooks::param(&params, "Body")).await?;
    let mut resp = Response::ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")?;
    resp.headers_mut().set("content-type", "text/xml")?;
    Ok(resp)
}

/// `POST /webhooks/acs/{tenant}?code=…`: the tenant's Event Grid subscription.
pub async fn event_grid(req: Request, ctx: &Ctx, tenant_id: &str) -> Result<Response> {
    let mut validation = None;
    for item in webhooks::event_grid(req, ctx, tenant_id).await? {
        match item {
            GridItem::Validation(code) => validation = Some(code),
            GridItem::Delivery(report) => record(ctx, tenant_id, report).await?,
            GridItem::Inbound(text) => acs_inbound(ctx, tenant_id, &text).await?,
        }
    }
    match validation {
        Some(code) => crate::http::json(200, &serde_json::json!({ "validationResponse": code })),
        None => Ok(Response::empty()?.with_status(200)),
    }
}

async fn acs_inbound(ctx: &Ctx, tenant_id: &str, text: &Inbound) -> Result<()> {
    let tenant = load_tenant(ctx, tenant_id).await?;
    let Some(reply) = handle_keyword(ctx, &tenant, &text.from, &text.body).await? else { return Ok(()) };
    // ACS leaves HELP to the application: answer from the number they texted.
    let acs = tenant.sms.as_ref().filter(|s| matches!(s.provider, SmsProvider::Acs { .. }) && s.numbers.contains(&text.to));
    if let Some(settings) = acs {
        let key = format!("help|{tenant_id}|{}", text.message_id);
        let first_sent = crate::clock::rfc1123(crate::clock::now_secs());
        let sms = crate::sms::Sms {
            from: &text.to,
            to: &text.from,
            body: &reply,
            status_callback: "",
            tag: "",
            key: &key,
            first_sent: &first_sent,
        };
        let outcome = crate::sms::send_sms(&ctx.env, tenant_id, &settings.provider, &sms).await;
        if !matches!(outcome, crate::upstream::SendOutcome::Sent { .. }) {
            worker::console_error!("notify: HELP reply not sent");
        }
    }
    Ok(())
}

/// STOP, START and HELP: the number is kept only as a keyed hash, in the
/// tenant's opt-out object. Returns our HELP answer, if one should be sent.
async fn handle_keyword(ctx: &Ctx, tenant: &Tenant, from: &str, body: &str) -> Result<Option<String>> {
    let Some(hash) = opt_out::number_hash(&ctx.env, from) else { return Err(Error::internal("APPOINTMENT_REF_KEY missing")) };
    match keyword(body) {
        Keyword::Stop => {
            opt_out::stop(&ctx.env, &tenant.id, hash).await?;
        }
        Keyword::Start => {
            opt_out::start(&ctx.env, &tenant.id, hash).await?;
        }
        Keyword::Help => {
            let clinic = tenant.sms.as_ref().map(|s| s.clinic_name.as_str()).filter(|c| !c.is_empty()).unwrap_or(&tenant.display_name);
            return Ok(Some(shared::sms::help_reply(clinic, "en")));
        }
        Keyword::Other => {}
    }
    Ok(None)
}
