//! Patient tracking (a tenant's `launch.patient_tracking`, off by default):
//! Oracle's tracking board follows the virtual lobby. When the patient
//! enters it the appointment becomes `arrived`; when the clinician admits
//! them, `checked-in`; through the documented status patch with a Backend
//! Services token, always after the response. Each outcome is an event on
//! the clinician's page. A named interface of the visit journey: the
//! patient and launch journeys call `follow_later`, notify `seal_id`.

use serde::{Deserialize, Serialize};
use shared::tenant::{ClientAuthMethod, IssEntry};
use worker::Env;

use super::client::{self, Event};
use crate::ctx::Ctx;
use crate::ehr::{appointment, backend};
use crate::error::Result;
use crate::seal::{self, Expiring};
use crate::storage::kv;

const PURPOSE: &[u8] = b"appointment-id";

#[derive(Serialize, Deserialize)]
struct SealedId {
    id: String,
    expires_at: u64,
}

impl Expiring for SealedId {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// Patient tracking after a lobby change, off the request's path.
pub fn follow_later(ctx: &Ctx, visit_ref: &str) {
    let (env, r) = (ctx.env.clone(), visit_ref.to_string());
    ctx.background(async move {
        if let Err(e) = follow(env, &r).await {
            worker::console_error!("tracking: {}", e.body.code);
        }
    });
}

/// Seals an appointment id for `VisitInfo::appointment`.
pub async fn seal_id(ctx: &Ctx, id: &str) -> Result<String> {
    let key = seal::cookie_key(ctx)?;
    let value = SealedId { id: id.into(), expires_at: crate::clock::now_secs() + 90 * 86_400 };
    seal::seal(&key, PURPOSE, &value, crate::crypto::random_bytes()).await
}

/// Where the lobby says the appointment should be, if anywhere yet.
fn target(status: &client::Status) -> Option<&'static str> {
    if status.has(&["patient_admitted"]) {
        Some("checked-in")
    } else if status.waiting() {
        Some("arrived")
    } else {
        None
    }
}

pub async fn follow(env: Env, visit_ref: &str) -> Result<()> {
    let status = client::status(&env, visit_ref).await?;
    let (Some(info), Some(to)) = (&status.info, target(&status)) else { return Ok(()) };
    let done = format!("tracking_{}", to.replace('-', "_"));
    if status.has(&[done.as_str()]) {
        return Ok(());
    }
    let Some(tenant) = kv::tenant(&kv::store(&env)?, &info.tenant_id).await? else { return Ok(()) };
    if !tenant.launch.patient_tracking {
        return Ok(());
    }
    let Some(base) = tenant.fhir_bases.iter().find(|b| b.id == info.base_id && b.approved()) else { return Ok(()) };
    let failed = |why: String| Event::new("tracking_failed", None, Some(why));
    let event = if base.client.auth_method != ClientAuthMethod::PrivateKeyJwt {
        failed("patient tracking needs SMART Backend Services (a private_key_jwt client)".into())
    } else {
        let ctx = Ctx::for_job(env.clone())?;
        let id = match (info.appointment.as_deref(), seal::cookie_key(&ctx)) {
            (Some(s), Ok(key)) => seal::open::<SealedId>(&key, PURPOSE, s, crate::clock::now_secs()).await.ok(),
            _ => None,
        };
        match id {
            None => failed("the visit does not know its appointment yet; launch it once from the EHR".into()),
            Some(SealedId { id, .. }) => {
                let token = backend::system_token_with_write(&ctx, &IssEntry::for_base(&tenant, base)).await?;
                match appointment::advance_status(&base.url, &token, &id, to).await {
                    Ok(detail) => Event::new(&done, None, Some(detail)),
                    Err(why) => failed(why),
                }
            }
        }
    };
    client::record(&env, visit_ref, event).await.map(|_| ())
}
