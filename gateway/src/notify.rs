//! The notification job (Cron Trigger): finds video visits that were booked,
//! moved or cancelled since the last run (SMART Backend Services, an
//! Appointment search by `_lastUpdated`) and texts the patient once per
//! change. The visit object decides what is due and remembers what was sent,
//! so overlapping or repeated runs never send twice; the patient's number is
//! read from the EHR at send time and never stored.

use serde_json::Value;
use shared::appointment::{parse, reference_id, VideoVisit};
use shared::sms::{render, Fill, MessageKind, SmsSettings};
use shared::tenant::{ClientAuthMethod, IssEntry, Tenant};
use worker::Method;

use crate::error::{Error, Result};
use crate::launch::{backend, fhir};
use crate::storage::config::ConfigStore;
use crate::storage::kv;
use crate::visit::{self, VisitInfo};
use crate::Ctx;

/// Changes older than the cursor by this much are looked at again: a run
/// may overlap the previous one, and the visit object filters repeats.
const OVERLAP_SECS: u64 = 120;

#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub bases: u32,
    pub appointments: u32,
    pub sent: u32,
    pub problems: Vec<String>,
}

pub async fn run(ctx: &Ctx) -> Result<Summary> {
    let mut summary = Summary::default();
    for tenant in ConfigStore::new(&ctx.env)?.list().await? {
        let Some(sms) = tenant.sms.clone().filter(SmsSettings::may_send) else { continue };
        for base in &tenant.fhir_bases {
            let Some(from) = sms.base_numbers.get(&base.id) else { continue };
            if base.client.auth_method != ClientAuthMethod::PrivateKeyJwt {
                summary.problems.push(format!("{}: Backend Services needs private_key_jwt", base.id));
                continue;
            }
            summary.bases += 1;
            let entry = IssEntry::for_base(&tenant, base);
            if let Err(e) = poll_base(ctx, &tenant, &sms, &entry, from, &mut summary).await {
                worker::console_error!("notify {}: {}", base.id, e.body.code);
                summary.problems.push(format!("{}: {}", base.id, e.body.code));
            }
        }
    }
    Ok(summary)
}

fn iso(secs: u64) -> String {
    String::from(js_sys::Date::new(&((secs * 1000) as f64).into()).to_iso_string())
}

async fn poll_base(ctx: &Ctx, tenant: &Tenant, sms: &SmsSettings, entry: &IssEntry, from: &str, summary: &mut Summary) -> Result<()> {
    let store = kv::store(&ctx.env)?;
    let cursor_key = format!("notify_cursor:{}", entry.base_id);
    let started = crate::now_secs();
    let since = store.get(&cursor_key).text().await.ok().flatten().and_then(|s| s.parse::<u64>().ok()).unwrap_or(started - 86_400);
    let token = backend::system_token(ctx, entry).await?;
    let query = format!("Appointment?_lastUpdated=ge{}", iso(since.saturating_sub(OVERLAP_SECS)));
    let bundle = read(&entry.fhir_base, &token, &query).await?;
    for resource in bundle["entry"].as_array().into_iter().flatten().filter_map(|e| e.get("resource")) {
        let Ok(appt) = parse(resource) else { continue };
        if !appt.is_video {
            continue;
        }
        summary.appointments += 1;
        match notify_one(ctx, tenant, sms, entry, from, &token, resource, &appt).await {
            Ok(true) => summary.sent += 1,
            Ok(false) => {}
            Err(e) => summary.problems.push(format!("appointment: {}", e.body.code)),
        }
    }
    // Only after the whole batch: a crash means the next run looks again.
    store.put(&cursor_key, started.to_string()).map_err(worker::Error::from)?.execute().await.map_err(worker::Error::from)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn notify_one(
    ctx: &Ctx,
    tenant: &Tenant,
    sms: &SmsSettings,
    entry: &IssEntry,
    from: &str,
    token: &crate::launch::token::AccessToken,
    resource: &Value,
    appt: &VideoVisit,
) -> Result<bool> {
    let visit_ref = visit::visit_ref(ctx, entry, &appt.id)?;
    let info = VisitInfo {
        tenant_id: entry.tenant_id.clone(),
        base_id: entry.base_id.clone(),
        start: appt.start.clone(),
        end: appt.end.clone(),
        appointment_status: appt.status.clone(),
    };
    let Some(due) = visit::due(&ctx.env, &visit_ref, info).await? else { return Ok(false) };
    let patient_id = resource["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|p| reference_id(p.pointer("/actor/reference")?.as_str()?, "Patient"))
        .ok_or_else(|| Error::new(422, "appointment_no_patient", "The appointment has no patient."))?;
    let patient = read(&entry.fhir_base, token, &format!("Patient/{patient_id}")).await?;
    let Some(to) = visit::mobile_number(&patient) else {
        visit::record(&ctx.env, &visit_ref, visit::Event::new("sms_failed", None, Some("no mobile number in the EHR".into()))).await?;
        return Ok(false);
    };
    let lang = visit::patient_language(&patient);
    let templates = sms.templates.get(lang).or_else(|| sms.templates.get("en")).ok_or_else(|| Error::not_found("The message template"))?;
    let (date, time) = local_date_time(appt.start.as_deref().unwrap_or_default(), &sms.time_zone, lang);
    let clinic = if sms.clinic_name.is_empty() { tenant.display_name.as_str() } else { sms.clinic_name.as_str() };
    let link = format!("{}{}{}", ctx.origin, shared::integration::PATIENT_LINK_PATH, due.link_code);
    let body = render(templates.get(due.kind), &Fill { clinic, date: &date, time: &time, link: &link });
    let status_callback = format!("{}/webhooks/sms/status/{}/{visit_ref}", ctx.origin, entry.tenant_id);
    let text = visit::Text { tenant_id: entry.tenant_id.clone(), key: due.key, provider: sms.provider.clone(), from: from.into(), to, body, status_callback, start: appt.start.clone() };
    visit::send_sms(&ctx.env, &visit_ref, text).await
}

/// Date and time of the appointment in the organisation's time zone.
fn local_date_time(start: &str, time_zone: &str, lang: &str) -> (String, String) {
    let d = js_sys::Date::new(&start.into());
    if d.get_time().is_nan() {
        return (String::new(), String::new());
    }
    let opts = |pairs: &[(&str, &str)]| {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
        }
        o.into()
    };
    let date = d.to_locale_date_string(lang, &opts(&[("timeZone", time_zone), ("weekday", "short"), ("day", "numeric"), ("month", "short")]));
    let time = d.to_locale_time_string_with_options(lang, &opts(&[("timeZone", time_zone), ("hour", "2-digit"), ("minute", "2-digit")]));
    (date.into(), time.into())
}

async fn read(base: &str, token: &crate::launch::token::AccessToken, path: &str) -> Result<Value> {
    let resp = fhir::call(Method::Get, base, token, path, None, None).await?;
    if !resp.ok() {
        return Err(Error::new(502, "fhir_failed", format!("The EHR answered HTTP {} for a {} request.", resp.status, path.split(['/', '?']).next().unwrap_or_default())));
    }
    serde_json::from_str(&resp.body).map_err(|_| Error::new(502, "fhir_invalid", "The EHR returned something other than FHIR JSON."))
}

/// What was due, and under which key it is sent once.
pub fn kind_key(kind: MessageKind, start: Option<&str>) -> String {
    match kind {
        MessageKind::Changed => format!("changed:{}", start.unwrap_or_default()),
        other => serde_json::to_value(other).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    }
}
