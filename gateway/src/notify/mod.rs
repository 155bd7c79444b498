//! The notification job (Cron Trigger). For each FHIR base with texts or
//! email switched on it asks the EHR (SMART Backend Services), in parallel,
//! for video visits changed since the last run and for those starting within
//! the reminder horizon, then lets each visit's object decide what is due:
//! confirmation, change, cancellation or reminder. Repeated or overlapping
//! runs never send twice (the object remembers every (message, channel));
//! contact details are read from the EHR at send time and never stored.

pub mod inbound;
pub mod message;
pub mod send_link;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use shared::appointment::{parse, patient_id, VideoVisit};
use shared::email::EmailSettings;
use shared::sms::{MessageKind, SmsSettings};
use shared::tenant::{ClientAuthMethod, FhirBase, IssEntry, Tenant};

use self::message::About;
use crate::clock::{iso, secs};
use crate::ctx::Ctx;
use crate::ehr::appointment::search_all;
use crate::ehr::token::AccessToken;
use crate::ehr::{backend, fhir};
use crate::error::{Error, Result};
use crate::storage::config::ConfigStore;
use crate::storage::kv;
use crate::visit::client::{self as visit, Channel, Delivery, DueRequest, VisitInfo};

/// Changes older than the cursor by this much are looked at again: a run
/// may overlap the previous one, and the visit object filters repeats.
const OVERLAP_SECS: u64 = 120;
/// Visits handled at once (each is an EHR read and a send at most).
const PARALLEL: usize = 6;
/// Visits per base per run, so one run stays well inside the Workers
/// subrequest limit; the rest wait for the next run (the cursor holds).
const BUDGET: usize = 250;

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
        let channels = Channels {
            tenant: &tenant,
            sms: tenant.sms.as_ref().filter(|s| s.may_send()),
            email: tenant.email.as_ref().filter(|e| e.may_send()),
        };
        for base in tenant.fhir_bases.iter().filter(|b| b.approved()) {
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
    let started = crate::clock::now_secs();
    let since = store.get(&cursor_key).text().await.ok().flatten().and_then(|s| s.parse::<u64>().ok()).unwrap_or(started - 86_400);
    let token = backend::system_token(ctx, entry).await?;
    let offsets = channels.reminder_offsets();
    let changes_q = format!("Appointment?_lastUpdated=ge{}", iso(since.saturating_sub(OVERLAP_SECS)));
    let window_q = format!("Appointment?date=ge{}&date=le{}", iso(now), iso(now + shared::schedule::reminder_horizon_secs(&offsets)));
    let (changes, window) =
        futures_util::future::join(search_all(&entry.fhir_base, &token, &changes_q), search_all(&entry.fhir_base, &token, &window_q)).await;
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
        visit_days: entry.retention.visit_days,
    };
    let req = DueRequest {
        visit_ref: visit_ref.clone(),
        info,
        now,
        reminder_offsets_minutes: channels.reminder_offsets(),
        channels: on.to_vec(),
    };
    let Some(due) = visit::due(&ctx.env, req).await? else { return Ok(Item::Nothing) };
    if due.channels.is_empty() {
        return Ok(Item::Retrying);
    }
    let patient_id = patient_id(resource).ok_or_else(|| Error::new(422, "appointment_no_patient", "The appointment has no patient."))?;
    let patient = fhir::read(&entry.fhir_base, token, &format!("Patient/{patient_id}"), "patient").await?;
    let about = About {
        tenant: channels.tenant,
        base_id: &entry.base_id,
        visit_ref: &visit_ref,
        kind: due.kind,
        link: message::patient_link(&ctx.origin, &due.link_code),
        start: appt.start.as_deref(),
        origin: &ctx.origin,
    };
    let sms =
        channels.sms.filter(|_| due.channels.contains(&Channel::Sms)).map(|s| message::sms(&about, s, &patient).map_err(|p| p.to_string()));
    let email = channels
        .email
        .filter(|_| due.channels.contains(&Channel::Email))
        .map(|e| message::email(&about, e, &patient).map_err(|p| p.to_string()));
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
