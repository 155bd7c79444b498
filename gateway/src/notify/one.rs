//! One video visit in one run of the notification job: its object decides
//! what is due; the patient's contact details are read from the EHR at send
//! time (never stored) and the message is delivered once per channel.

use serde_json::Value;
use shared::appointment::{patient_id, VideoVisit};
use shared::email::EmailSettings;
use shared::sms::{MessageKind, SmsSettings};
use shared::tenant::{FhirBase, IssEntry, Tenant};

use super::message::{self, About};
use crate::ctx::Ctx;
use crate::ehr::fhir;
use crate::ehr::token::AccessToken;
use crate::error::{Error, Result};
use crate::visit::client::{self as visit, Channel, Delivery, DueRequest, VisitInfo};

/// What a tenant sends, and for which base on which channel.
pub struct Channels<'a> {
    pub tenant: &'a Tenant,
    pub sms: Option<&'a SmsSettings>,
    pub email: Option<&'a EmailSettings>,
}

impl Channels<'_> {
    pub fn for_base(&self, base: &FhirBase) -> Vec<Channel> {
        let mut out = vec![];
        if self.sms.is_some_and(|s| s.base_numbers.contains_key(&base.id)) {
            out.push(Channel::Sms);
        }
        if self.email.is_some() {
            out.push(Channel::Email);
        }
        out
    }

    pub fn reminder_offsets(&self) -> Vec<u32> {
        self.sms.map(|s| s.reminder_offsets_minutes.clone()).unwrap_or_else(|| vec![24 * 60, 15])
    }
}

pub enum Item {
    Nothing,
    Sent,
    /// Due but waiting for a retry, or just failed transiently.
    Retrying,
}

#[allow(clippy::too_many_arguments)]
pub async fn notify_one(
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
        appointment: Some(crate::visit::tracking::seal_id(ctx, &appt.id).await?),
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
