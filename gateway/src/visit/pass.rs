//! The clinician's pass to a visit page: sealed, path-scoped, 12 hours,
//! issued at the end of a launch. It carries the appointment's EHR id for
//! "Send link to patient": held by the clinician's browser (encrypted),
//! never stored by the gateway.

use serde::{Deserialize, Serialize};
use worker::Request;

use crate::crypto::random_bytes;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::seal::{self, Expiring, OpenError};

const COOKIE: &str = "vg_visit";

/// `__Secure-vg_visit` wherever cookies are `Secure` (see `http::state_cookie_name`).
fn cookie_name(ctx: &Ctx) -> String {
    format!("{}{COOKIE}", if ctx.loopback_dev { "" } else { "__Secure-" })
}
const TTL_SECS: u64 = 12 * 3600;
const PURPOSE: &[u8] = b"visitgate/provider-visit/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitPass {
    pub visit_ref: String,
    pub ehr_user_id: String,
    pub iss: String,
    pub appointment_id: String,
    pub expires_at: u64,
}

impl Expiring for VisitPass {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// The `Set-Cookie` value of a new pass for the clinician `ehr_user_id`.
pub async fn issue(ctx: &Ctx, visit_ref: &str, ehr_user_id: &str, iss: &str, appointment_id: &str) -> Result<String> {
    let pass = VisitPass {
        visit_ref: visit_ref.into(),
        ehr_user_id: ehr_user_id.into(),
        iss: iss.into(),
        appointment_id: appointment_id.into(),
        expires_at: crate::clock::now_secs() + TTL_SECS,
    };
    let sealed = seal::seal(&seal::cookie_key(ctx)?, PURPOSE, &pass, random_bytes()).await?;
    let secure = if ctx.loopback_dev { "" } else { "; Secure" };
    Ok(format!("{}={sealed}; Path=/visit/{visit_ref}; HttpOnly; SameSite=Lax; Max-Age={TTL_SECS}{secure}", cookie_name(ctx)))
}

/// The clinician's pass for `/visit/{visit_ref}…`: the address checked, then
/// the sealed cookie opened and matched to it.
pub async fn check(req: &Request, ctx: &Ctx, visit_ref: &str) -> Result<VisitPass> {
    if visit_ref.len() != 64 || !visit_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::not_found("This visit"));
    }
    let sealed = crate::http::cookie(req, &cookie_name(ctx)).ok_or_else(|| {
        Error::new(401, "visit_pass_missing", "Open this visit from the EHR: this page is only for the clinician who launched it.")
    })?;
    let pass: VisitPass = seal::open(&seal::cookie_key(ctx)?, PURPOSE, &sealed, crate::clock::now_secs()).await.map_err(|e| match e {
        OpenError::Expired => {
            Error::new(401, "visit_pass_expired", "Your access to this visit page has expired. Open the visit from the EHR again.")
        }
        OpenError::Invalid => {
            Error::new(401, "visit_pass_invalid", "Open this visit from the EHR: this page is only for the clinician who launched it.")
        }
    })?;
    if pass.visit_ref != visit_ref {
        return Err(Error::forbidden());
    }
    Ok(pass)
}
