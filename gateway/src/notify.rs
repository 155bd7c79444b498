//! The notification job (Cron Trigger). For each FHIR base with texts or
//! email switched on it asks the EHR (SMART Backend Services), in parallel,
//! for video visits changed since the last run and for those starting within
//! the reminder horizon, then lets each visit's object decide what is due:
//! confirmation, change, cancellation or reminder. Repeated or overlapping
//! runs never send twice (the object remembers every (message, channel));
//! contact details are read from the EHR at send time and never stored.

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use shared::appointment::{parse, reference_id, VideoVisit};
use shared::email::{render_email, EmailSettings};
use shared::sms::{render, Fill, MessageKind, SmsSettings};
use shared::tenant::{ClientAuthMethod, FhirBase, IssEntry, Tenant};
use worker::Method;

use crate::error::{Error, Result};
use crate::launch::token::AccessToken;
use crate::launch::{backend, fhir};
use crate::storage::config::ConfigStore;
use crate::storage::kv;
use crate::visit::{self, Channel, Delivery, DueRequest, EmailOut, SmsOut, VisitInfo};
use crate::Ctx;

/// Changes older than the cursor by this much are looked at again: a run
/// may overlap the previous one, and the visit object filters repeats.
const OVERLAP_SECS: u64 = 120;
/// Visits handled at once (each is an EHR read and a send at most).
const PARALLEL: usize = 6;
/// Visits per base per run, so one run stays well inside the Workers
/// subrequest limit; the rest wait for the next run (the cursor holds).
const BUDGET: usize = 250;
/// Result pages followed per search.
const MAX_PAGES: usize = 20;

#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub bases: u32,
    pub appointments: u32,
    pub sent: u32,
    pub retrying: u32,
    pub problems: Vec<String>,
}

/// What a tenant sends, and for which base on which channel.
struct Channels<'a> {
    tenant: &'a Tenant,
    sms: Option<&'a SmsSettings>,
    email: Option<&'a EmailSettings>,
}

impl Channels<'_> {
    fn for_base(&self, base: &FhirBase) -> Vec<Channel> {
        let mut out = vec![];
        if self.sms.is_some_and(|s| s.base_numbers.contains_key(&base.id)) {
            out.push(Channel::Sms);
        }
        if self.email.is_some() {
            out.push(Channel::Email);
        }
        out
    }

    fn reminder_offsets(&self) -> Vec<u32> {
        self.sms.map(|s| s.reminder_offsets_minutes.clone()).unwrap_or_else(|| vec![24 * 60, 15])
    }
}

/// `now` is the run's scheduled time (seconds): reminders are due against it,
/// so tests drive time by scheduling runs, never by sleeping.
pub async fn run(ctx: &Ctx, now: u64) -> Result<Summary> {
    let mut summary = Summary::default();
    for tenant in ConfigStore::new(&ctx.env)?.list().await? {
        let channels = Channels { tenant: &tenant, sms: tenant.sms.as_ref().filter(|s| s.may_send()), email: tenant.email.as_ref().filter(|e| e.may_send()) };
        for base in &tenant.fhir_bases {
            let on = channels.for_base(base);
            if on.is_empty() {
                continue;
            }
            if base.client.auth_method != ClientAuthMethod::PrivateKeyJwt {
                summary.problems.push(format!("{}: Backend Services needs private_key_jwt", base.id));
                continue;
            }
            summary.bases += 1;
            let entry = IssEntry::for_base(&tenant, base);
            if let Err(e) = poll_base(ctx, &channels, &entry, &on, now, &mut summary).await {
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

fn secs(iso: &str) -> Option<u64> {
    let t = js_sys::Date::parse(iso);
    (!t.is_nan()).then_some((t / 1000.0) as u64)
}

/// Every resource of a search, following `next` links.
async fn search_all(base: &str, token: &AccessToken, query: &str) -> Result<Vec<Value>> {
    let mut out = vec![];
    let mut bundle = read(base, token, query).await?;
    for _ in 0..MAX_PAGES {
        out.extend(bundle["entry"].as_array().into_iter().flatten().filter_map(|e| e.get("resource").cloned()));
        let next = bundle["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next").and_then(|l| l["url"].as_str()).map(str::to_string);
        // Only pages of the same server: a `next` elsewhere would get our token.
        match next.and_then(|n| n.strip_prefix(base.trim_end_matches('/')).map(|p| p.trim_start_matches('/').to_string())) {
            Some(path) => bundle = read(base, token, &path).await?,
            None => break,
        }
    }
    Ok(out)
}

enum Item {
    Nothing,
    Sent,
    /// Due but waiting for a retry, or just failed transiently.
    Retrying,
}

async fn poll_base(ctx: &Ctx, channels: &Channels<'_>, entry: &IssEntry, on: &[Channel], now: u64, summary: &mut Summary) -> Result<()> {
    let store = kv::store(&ctx.env)?;
    let cursor_key = format!("notify_cursor:{}", entry.base_id);
    // The cursor follows the EHR's change times (wall clock), not `now`.
    let started = crate::now_secs();
    let since = store.get(&cursor_key).text().await.ok().flatten().and_then(|s| s.parse::<u64>().ok()).unwrap_or(started - 86_400);
    let token = backend::system_token(ctx, entry).await?;
    let offsets = channels.reminder_offsets();
    let changes_q = format!("Appointment?_lastUpdated=ge{}", iso(since.saturating_sub(OVERLAP_SECS)));
    let window_q = format!("Appointment?date=ge{}&date=le{}", iso(now), iso(now + shared::schedule::reminder_horizon_secs(&offsets)));
    let (changes, window) = futures_util::future::join(search_all(&entry.fhir_base, &token, &changes_q), search_all(&entry.fhir_base, &token, &window_q)).await;
    let (mut changes, window) = (changes?, window?);
    changes.sort_by_key(|r| r.pointer("/meta/lastUpdated").and_then(Value::as_str).and_then(secs).unwrap_or(0));

    // Changes first (the cursor depends on them), then the window's others.
    let mut seen = std::collections::HashSet::new();
    let mut work: Vec<(Value, VideoVisit, Option<u64>)> = vec![];
    let mut held: Option<u64> = None;
    for (resource, from_changes) in changes.into_iter().map(|r| (r, true)).chain(window.into_iter().map(|r| (r, false))) {
        let Ok(appt) = parse(&resource) else { continue };
        if !appt.is_video || !seen.insert(appt.id.clone()) {
            continue;
        }
        let updated = from_changes.then(|| resource.pointer("/meta/lastUpdated").and_then(Value::as_str).and_then(secs).unwrap_or(since));
        if work.len() >= BUDGET {
            if let Some(u) = updated {
                held = Some(held.map_or(u, |h| h.min(u)));
            }
            continue;
        }
        work.push((resource, appt, updated));
    }
    summary.appointments += work.len() as u32;
    let token = &token;
    let results: Vec<(Option<u64>, Result<Item>)> = stream::iter(work.iter())
        .map(|(resource, appt, updated)| async move { (*updated, notify_one(ctx, channels, entry, on, now, token, resource, appt).await) })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    for (updated, result) in results {
        let hold = match result {
            Ok(Item::Sent) => {
                summary.sent += 1;
                false
            }
            Ok(Item::Nothing) => false,
            Ok(Item::Retrying) => {
                summary.retrying += 1;
                true
            }
            Err(e) => {
                summary.problems.push(format!("appointment: {}", e.body.code));
                true
            }
        };
        if let (true, Some(u)) = (hold, updated) {
            held = Some(held.map_or(u, |h| h.min(u)));
        }
    }
    // Only after the whole batch: a crash means the next run looks again, and
    // a change still being retried keeps the cursor from passing it.
    let cursor = held.map_or(started, |h| h.min(started));
    store.put(&cursor_key, cursor.to_string()).map_err(worker::Error::from)?.execute().await.map_err(worker::Error::from)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn notify_one(
    ctx: &Ctx,
    channels: &Channels<'_>,
    entry: &IssEntry,
    on: &[Channel],
    now: u64,
    token: &AccessToken,
    resource: &Value,
    appt: &VideoVisit,
) -> Result<Item> {
    let visit_ref = visit::visit_ref(ctx, entry, &appt.id)?;
    let info = VisitInfo {
        tenant_id: entry.tenant_id.clone(),
        base_id: entry.base_id.clone(),
        start: appt.start.clone(),
        end: appt.end.clone(),
        appointment_status: appt.status.clone(),
    };
    let req = DueRequest { visit_ref: visit_ref.clone(), info, now, reminder_offsets_minutes: channels.reminder_offsets(), channels: on.to_vec() };
    let Some(due) = visit::due(&ctx.env, req).await? else { return Ok(Item::Nothing) };
    if due.channels.is_empty() {
        return Ok(Item::Retrying);
    }
    let patient_id = resource["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|p| reference_id(p.pointer("/actor/reference")?.as_str()?, "Patient"))
        .ok_or_else(|| Error::new(422, "appointment_no_patient", "The appointment has no patient."))?;
    let patient = read(&entry.fhir_base, token, &format!("Patient/{patient_id}")).await?;
    let lang = visit::patient_language(&patient);
    let link = format!("{}{}{}", ctx.origin, shared::integration::PATIENT_LINK_PATH, due.link_code);
    let start = appt.start.as_deref().unwrap_or_default();
    let tenant = channels.tenant;

    let sms = channels.sms.filter(|_| due.channels.contains(&Channel::Sms)).map(|sms| {
        let to = visit::mobile_number(&patient).ok_or_else(|| "no mobile number in the EHR".to_string())?;
        let templates = sms.templates.get(lang).or_else(|| sms.templates.get("en")).ok_or_else(|| "no message template".to_string())?;
        let (date, time) = local_date_time(start, &sms.time_zone, lang);
        let clinic = if sms.clinic_name.is_empty() { tenant.display_name.as_str() } else { sms.clinic_name.as_str() };
        let body = render(templates.get(due.kind), &Fill { clinic, date: &date, time: &time, link: &link });
        let from = sms.base_numbers.get(&entry.base_id).cloned().unwrap_or_default();
        let status_callback = format!("{}/webhooks/sms/status/{}/{visit_ref}", ctx.origin, entry.tenant_id);
        Ok(SmsOut { provider: sms.provider.clone(), from, to, body, status_callback })
    });
    let email = channels.email.filter(|_| due.channels.contains(&Channel::Email)).map(|email| {
        let to = shared::email::patient_email(&patient).ok_or_else(|| "no email address in the EHR".to_string())?;
        let templates = email.templates.get(lang).or_else(|| email.templates.get("en")).ok_or_else(|| "no email template".to_string())?;
        let (date, time) = local_date_time(start, &email.time_zone, lang);
        let clinic = if email.from_name.is_empty() { tenant.display_name.as_str() } else { email.from_name.as_str() };
        let body = render_email(templates, due.kind, &Fill { clinic, date: &date, time: &time, link: &link }, lang);
        Ok(EmailOut { provider: email.provider.clone(), to, from_name: clinic.to_string(), body })
    });
    let tells_time = matches!(due.kind, MessageKind::Confirmation | MessageKind::Changed);
    let delivery = Delivery {
        tenant_id: entry.tenant_id.clone(),
        visit_ref,
        key: due.key,
        start: appt.start.clone().filter(|_| tells_time),
        now,
        retry_later: true,
        sms,
        email,
    };
    let reply = visit::deliver(&ctx.env, delivery).await?;
    Ok(if reply.retrying() {
        Item::Retrying
    } else if reply.sent() {
        Item::Sent
    } else {
        Item::Nothing
    })
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

async fn read(base: &str, token: &AccessToken, path: &str) -> Result<Value> {
    let resp = fhir::call(Method::Get, base, token, path, None, None).await?;
    if !resp.ok() {
        return Err(Error::new(502, "fhir_failed", format!("The EHR answered HTTP {} for a {} request.", resp.status, path.split(['/', '?']).next().unwrap_or_default())));
    }
    serde_json::from_str(&resp.body).map_err(|_| Error::new(502, "fhir_invalid", "The EHR returned something other than FHIR JSON."))
}

/// The key a message is delivered under once: a change per new time, the
/// others once per visit (reminders add their offset in the visit object).
pub fn kind_key(kind: MessageKind, start: Option<&str>) -> String {
    match kind {
        MessageKind::Changed => format!("changed:{}", start.unwrap_or_default()),
        other => serde_json::to_value(other).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    }
}
