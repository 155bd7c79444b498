//! The notification job (Cron Trigger). For each approved FHIR base with
//! texts or email switched on and a watch list (`shared::watch`), it looks
//! at the watched locations and practitioners by Oracle Health's documented
//! Appointment search (`watch`), and lets each new, changed or soon-starting
//! video visit's object decide what is due: confirmation, change,
//! cancellation or reminder (`one`). Repeated or overlapping runs never send
//! twice (the object remembers every (message, channel)); contact details
//! are read from the EHR at send time and never stored.

pub mod inbound;
pub mod message;
pub mod one;
pub mod send_link;
pub mod watch;

use shared::tenant::{ClientAuthMethod, IssEntry};

use self::one::Channels;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::storage::config::ConfigStore;

#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub bases: u32,
    pub appointments: u32,
    pub sent: u32,
    pub retrying: u32,
    pub problems: Vec<String>,
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
            // Each base on its own: its failure is recorded in its health, never stops another.
            let look = watch::look(ctx, &channels, &entry, &base.watch, &on, now).await;
            summary.appointments += look.appointments;
            summary.sent += look.sent;
            summary.retrying += look.retrying;
            if let Some(code) = look.problem {
                worker::console_error!("notify {}: {code}", base.id);
                summary.problems.push(format!("{}: {code}", base.id));
            }
        }
    }
    Ok(summary)
}
