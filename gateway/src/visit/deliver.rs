//! Patient messages for one visit, decided and remembered by its object:
//! which message is due now, on which channels, and each (message, channel)
//! delivered once. Transient failures are tried again with backoff and
//! finally recorded as failed. Nothing here holds a number, an address or a
//! text beyond the call that sends it.

use serde::{Deserialize, Serialize};
use shared::sms::MessageKind;

use super::client::{Channel, Delivery, DeliveryReply, Due, DueRequest, EmailOut, Event, Outcome, OutcomeState, SmsOut};
use super::object::VisitObject;
use crate::error::Result;
use crate::storage::durable;
use crate::upstream::SendOutcome;

fn slot(ch: Channel, key: &str) -> String {
    format!("{}:{key}", ch.name())
}

/// Tries of one (message, channel) so far. `first_sent` is fixed before the
/// first try: ACS's repeatability check needs the same value every time.
#[derive(Debug, Serialize, Deserialize)]
struct Attempts {
    attempts: u32,
    next_at: u64,
    first_sent: String,
}

impl VisitObject {
    async fn started(&self, key: &str) -> worker::Result<bool> {
        let storage = self.state.storage();
        for ch in [Channel::Sms, Channel::Email] {
            if durable::get::<serde_json::Value>(&storage, &slot(ch, key)).await?.is_some()
                || durable::get::<serde_json::Value>(&storage, &format!("try:{}", slot(ch, key))).await?.is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The message under `key`, if some channel still has to deliver it.
    async fn due_for(
        &self,
        kind: MessageKind,
        key: String,
        link_code: String,
        channels: &[Channel],
        now: u64,
    ) -> worker::Result<Option<Due>> {
        let storage = self.state.storage();
        let mut ready = vec![];
        let mut wait_until: Option<u64> = None;
        for &ch in channels {
            if durable::get::<serde_json::Value>(&storage, &slot(ch, &key)).await?.is_some() {
                continue;
            }
            match durable::get::<Attempts>(&storage, &format!("try:{}", slot(ch, &key))).await? {
                Some(a) if a.next_at > now => wait_until = Some(wait_until.map_or(a.next_at, |w| w.min(a.next_at))),
                _ => ready.push(ch),
            }
        }
        if ready.is_empty() && wait_until.is_none() {
            return Ok(None);
        }
        Ok(Some(Due { kind, key, link_code, wait_until: if ready.is_empty() { wait_until } else { None }, channels: ready }))
    }

    /// Decides which message the appointment's state calls for at `now`.
    /// A moved appointment gets a new link and the old one stops working; a
    /// cancelled one loses its link.
    pub(super) async fn due(&self, req: DueRequest) -> Result<Option<Due>> {
        let DueRequest { visit_ref, info, now, reminder_offsets_minutes, channels } = req;
        let storage = self.state.storage();
        self.keep_info(&info).await?;
        durable::put(&storage, "visit_ref", &visit_ref).await?;
        let key_for = |kind: MessageKind| kind.delivery_key(info.start.as_deref());
        let told: Option<String> = durable::get(&storage, "told_start").await?;
        if info.appointment_status == "cancelled" {
            let code = durable::get::<String>(&storage, "link_code").await?.unwrap_or_default();
            if !code.is_empty() {
                self.revoke_link(&code).await?;
            }
            if told.is_none() {
                return Ok(None);
            }
            return Ok(self.due_for(MessageKind::Cancelled, key_for(MessageKind::Cancelled), code, &channels, now).await?);
        }
        let confirmation = key_for(MessageKind::Confirmation);
        if told.is_none() || self.started(&confirmation).await? {
            let link_code = self.ensure_link(&info, &visit_ref).await?;
            if let Some(due) = self.due_for(MessageKind::Confirmation, confirmation, link_code, &channels, now).await? {
                return Ok(Some(due));
            }
        }
        // Change notices and reminders only for a patient who was told a time
        // (not when every channel was skipped, e.g. after STOP).
        let Some(told) = told else { return Ok(None) };
        let changed = key_for(MessageKind::Changed);
        if Some(told.as_str()) != info.start.as_deref() || self.started(&changed).await? {
            let link_code = self.ensure_link(&info, &visit_ref).await?;
            if let Some(due) = self.due_for(MessageKind::Changed, changed, link_code, &channels, now).await? {
                return Ok(Some(due));
            }
        }
        let start = info.start.as_deref().map(js_sys::Date::parse).filter(|t| !t.is_nan()).map(|t| (t / 1000.0) as u64);
        let told_at: u64 = durable::get(&storage, "told_at").await?.unwrap_or(0);
        if let Some(minutes) = start.and_then(|s| shared::schedule::due_reminder(s, now, &reminder_offsets_minutes, told_at)) {
            let link_code = self.ensure_link(&info, &visit_ref).await?;
            let key = format!("reminder:{minutes}:{}", info.start.as_deref().unwrap_or_default());
            return Ok(self.due_for(MessageKind::Reminder, key, link_code, &channels, now).await?);
        }
        Ok(None)
    }

    pub(super) async fn deliver(&self, d: Delivery) -> Result<DeliveryReply> {
        let mut reply = DeliveryReply::default();
        if let Some(sms) = &d.sms {
            reply.sms = Some(self.deliver_one(Channel::Sms, &d, sms.as_ref().map(Out::Sms)).await?);
        }
        if let Some(email) = &d.email {
            reply.email = Some(self.deliver_one(Channel::Email, &d, email.as_ref().map(Out::Email)).await?);
        }
        Ok(reply)
    }

    async fn deliver_one(&self, ch: Channel, d: &Delivery, out: std::result::Result<Out<'_>, &String>) -> Result<Outcome> {
        let storage = self.state.storage();
        let slot = slot(ch, &d.key);
        let try_key = format!("try:{slot}");
        if let Some(done) = durable::get::<Outcome>(&storage, &slot).await? {
            return Ok(done);
        }
        let kind = d.key.split(':').next().unwrap_or_default().to_string();
        let finish = |state: OutcomeState, detail: Option<String>, event: &str| {
            let outcome = Outcome::new(state, detail.clone());
            let event = Event::new(&format!("{}_{event}", ch.name()), None, detail.or_else(|| Some(kind.clone())));
            (outcome, event)
        };
        let out = match out {
            Ok(out) => out,
            Err(why) => {
                let (outcome, event) = finish(OutcomeState::Failed, Some(why.clone()), "failed");
                durable::put(&storage, &slot, &outcome).await?;
                self.push(event).await?;
                return Ok(outcome);
            }
        };
        let mut attempts = durable::get::<Attempts>(&storage, &try_key).await?.unwrap_or(Attempts {
            attempts: 0,
            next_at: 0,
            first_sent: crate::clock::rfc1123(d.now),
        });
        if attempts.next_at > d.now {
            return Ok(Outcome { state: OutcomeState::Retrying, detail: None, next_at: Some(attempts.next_at) });
        }
        if let Out::Sms(sms) = &out {
            // The patient texted STOP: never text them again until START.
            if let Some(hash) = crate::storage::opt_out::number_hash(&self.env, &sms.to) {
                if crate::storage::opt_out::is_opted_out(&self.env, &d.tenant_id, hash).await? {
                    let (outcome, event) = finish(OutcomeState::Skipped, Some("the patient opted out (STOP)".into()), "skipped");
                    durable::put(&storage, &slot, &outcome).await?;
                    self.push(event).await?;
                    return Ok(outcome);
                }
            }
        }
        durable::put(&storage, &try_key, &attempts).await?;
        let mut result = out.send(&self.env, d, &attempts.first_sent).await;
        for wait_ms in [500, 1500] {
            if !matches!(result, SendOutcome::Retry(_)) {
                break;
            }
            worker::Delay::from(std::time::Duration::from_millis(wait_ms)).await;
            result = out.send(&self.env, d, &attempts.first_sent).await;
        }
        let (outcome, event) = match result {
            SendOutcome::Sent { .. } => {
                if let Some(start) = &d.start {
                    durable::put(&storage, "told_start", &start).await?;
                    durable::put(&storage, "told_at", &d.now).await?;
                }
                finish(OutcomeState::Sent, None, "sent")
            }
            SendOutcome::Failed(why) => finish(OutcomeState::Failed, Some(why), "failed"),
            SendOutcome::Retry(why) => {
                attempts.attempts += 1;
                match shared::schedule::retry_delay_secs(attempts.attempts).filter(|_| d.retry_later) {
                    Some(delay) => {
                        attempts.next_at = d.now + delay;
                        durable::put(&storage, &try_key, &attempts).await?;
                        let detail = format!("{why}; trying again in {} min", delay / 60);
                        self.push(Event::new(&format!("{}_failed", ch.name()), None, Some(detail.clone()))).await?;
                        return Ok(Outcome { state: OutcomeState::Retrying, detail: Some(detail), next_at: Some(attempts.next_at) });
                    }
                    None if d.retry_later => {
                        finish(OutcomeState::Failed, Some(format!("gave up after {} tries: {why}", attempts.attempts)), "failed")
                    }
                    None => finish(OutcomeState::Failed, Some(format!("{why}; press the button again")), "failed"),
                }
            }
        };
        durable::put(&storage, &slot, &outcome).await?;
        storage.delete(&try_key).await?;
        self.push(event).await?;
        Ok(outcome)
    }
}

enum Out<'a> {
    Sms(&'a SmsOut),
    Email(&'a EmailOut),
}

impl Out<'_> {
    async fn send(&self, env: &worker::Env, d: &Delivery, first_sent: &str) -> SendOutcome {
        let key = format!("{}|{}", d.visit_ref, d.key);
        match self {
            Out::Sms(s) => {
                let sms = crate::sms::Sms {
                    from: &s.from,
                    to: &s.to,
                    body: &s.body,
                    status_callback: &s.status_callback,
                    tag: &d.visit_ref,
                    key: &key,
                    first_sent,
                };
                crate::sms::send_sms(env, &d.tenant_id, &s.provider, &sms).await
            }
            Out::Email(e) => {
                let email = crate::email::Email { to: &e.to, from_name: &e.from_name, body: &e.body, key: &key };
                crate::email::send_email(env, &d.tenant_id, &e.provider, &email).await
            }
        }
    }
}
