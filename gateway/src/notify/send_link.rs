//! "Send link to patient" on the clinician's visit page: reads the patient's
//! mobile number from the EHR at send time (Backend Services), texts the
//! patient link once per press, forgets the number.

use shared::sms::MessageKind;
use worker::Request;

use super::message::{self, About, Problem};
use crate::ctx::Ctx;
use crate::ehr::{backend, fhir};
use crate::error::{Error, Result};
use crate::storage::kv;
use crate::visit::client::{self as visit, Delivery};
use crate::visit::pass::{self, VisitPass};

/// `POST /visit/{ref}/send-link`, from the visit page's form.
pub async fn handle(req: Request, ctx: &Ctx, visit_ref: &str) -> Result<worker::Response> {
    let pass = pass::check(&req, ctx, visit_ref).await?;
    crate::http::same_origin(&req, &ctx.origin)?;
    send(req, ctx, &pass).await?;
    crate::http::see_other(&format!("/visit/{visit_ref}"))
}

async fn send(mut req: Request, ctx: &Ctx, pass: &VisitPass) -> Result<()> {
    let form = req.form_data().await?;
    let nonce = match form.get("nonce") {
        Some(worker::FormEntry::Field(n)) if n.len() <= 64 => n,
        _ => return Err(Error::bad_request("invalid_form", "Reload the page and press the button again.")),
    };
    let store = kv::store(&ctx.env)?;
    let entry = kv::iss_entry(&store, &pass.iss).await?.ok_or_else(|| Error::not_found("The EHR configuration"))?;
    let tenant = kv::tenant(&store, &entry.tenant_id).await?.ok_or_else(|| Error::not_found("The organisation"))?;
    let sms = tenant.sms.as_ref().ok_or_else(|| {
        Error::new(409, "sms_not_configured", "Text messages are not set up for this organisation. Ask your Visitgate administrator.")
    })?;
    if !sms.may_send() {
        return Err(Error::new(
            409,
            "sms_consent_missing",
            "Text messages are switched off until both consents are given in the admin portal (sending on the organisation's behalf, and the attendees' consent).",
        ));
    }
    if !sms.base_numbers.contains_key(&entry.base_id) {
        return Err(Error::new(
            409,
            "sms_no_number",
            "No phone number is linked to this FHIR base yet. Link one in the admin portal's SMS settings.",
        ));
    }
    let token = backend::system_token(ctx, &entry).await?;
    let appointment = fhir::read(&entry.fhir_base, &token, &format!("Appointment/{}", pass.appointment_id), "appointment").await?;
    let patient_id = shared::appointment::patient_id(&appointment).unwrap_or_default();
    let patient = fhir::read(&entry.fhir_base, &token, &format!("Patient/{patient_id}"), "patient").await?;
    let status = visit::status(&ctx.env, &pass.visit_ref).await?;
    let code = status.link_code.ok_or_else(|| Error::not_found("The patient link"))?;
    let about = About {
        tenant: &tenant,
        base_id: &entry.base_id,
        visit_ref: &pass.visit_ref,
        kind: MessageKind::Link,
        link: message::patient_link(&ctx.origin, &code),
        start: None,
        origin: &ctx.origin,
    };
    let out = message::sms(&about, sms, &patient).map_err(|p| match p {
        Problem::NoMobile => Error::new(
            422,
            "patient_no_mobile",
            "The patient has no mobile number in the EHR. Add one there, or give the patient the link another way.",
        ),
        _ => Error::not_found("The message template"),
    })?;
    let delivery = Delivery {
        tenant_id: entry.tenant_id.clone(),
        visit_ref: pass.visit_ref.clone(),
        key: format!("link:{nonce}"),
        start: None,
        now: crate::clock::now_secs(),
        retry_later: false,
        sms: Some(Ok(out)),
        email: None,
    };
    visit::deliver(&ctx.env, delivery).await?;
    Ok(())
}
