//! The end of a launch, once every SMART check passed: find the
//! appointment, open its visit (the meeting is made once, by the visit
//! object), write the links back to the EHR off the critical path, and send
//! the clinician on: to the visit page with a pass, or straight into the
//! meeting when they have signed in before and the tenant wants that.

use futures_util::future::join;
use shared::tenant::IssEntry;
use worker::Response;

use crate::crypto::sha256_hex;
use crate::ctx::Ctx;
use crate::ehr::appointment;
use crate::ehr::token::TokenResponse;
use crate::error::{Error, Result};
use crate::storage::kv;
use crate::video::MeetingRequest;
use crate::visit::client::{self as visit, Event, VisitInfo};
use crate::visit::pass;

/// The record that this EHR user has signed in before: the only personal
/// identifier Visitgate keeps.
fn seen_key(ehr_user_id: &str) -> String {
    format!("ehr_user:{}", sha256_hex(ehr_user_id))
}

pub async fn into_visit(
    ctx: &Ctx,
    entry: &IssEntry,
    iss: &str,
    token: &TokenResponse,
    fhir_user: &str,
    ehr_user_id: &str,
) -> Result<Response> {
    let video = entry.video.clone().ok_or_else(|| {
        Error::new(
            409,
            "video_not_configured",
            "Video meetings are not set up for this organisation yet. Ask your Visitgate administrator to choose a video provider in the admin portal.",
        )
    })?;
    let store = kv::store(&ctx.env)?;
    // Independent reads in one batch: the appointment, and whether this clinician signed in before.
    let (found, seen) =
        join(appointment::for_launch(iss, token, fhir_user, &entry.video_rule), store.get(&seen_key(ehr_user_id)).text()).await;
    let (_, found) = found?;
    let seen_before = matches!(seen, Ok(Some(_)));

    let visit_ref = visit::visit_ref(ctx, entry, &found.id)?;
    let start = found.start.clone().unwrap_or_else(crate::clock::now_iso);
    let request = MeetingRequest {
        external_id: format!("visitgate-{}", &visit_ref[..32]),
        end: found.end.clone().unwrap_or_else(|| start.clone()),
        start,
        subject: "Video visit".into(),
    };
    let end = found.end.clone();
    let info = VisitInfo {
        tenant_id: entry.tenant_id.clone(),
        base_id: entry.base_id.clone(),
        start: found.start.clone(),
        end: found.end.clone(),
        appointment_status: found.status.clone(),
        visit_days: entry.retention.visit_days,
        appointment: Some(crate::visit::tracking::seal_id(ctx, &found.id).await?),
    };
    let meeting = visit::open(&ctx.env, &visit_ref, info, video, request, ehr_user_id).await?.meeting;

    if !seen_before {
        let key = seen_key(ehr_user_id);
        let value = serde_json::json!({ "ehr_user_id": ehr_user_id, "first_seen": crate::clock::now_iso() }).to_string();
        ctx.background(async move {
            if let Ok(put) = store.put(&key, value) {
                let _ = put.execute().await;
            }
        });
    }
    let may_write =
        token.scope.as_deref().is_none_or(|s| s.split_whitespace().any(|x| x == "user/Appointment.write" || x == "user/Appointment.u"));
    let appointment_id = found.id.clone();
    let has_rooms = found.provider_room.is_some() && found.patient_room.is_some();
    if entry.launch.write_back && !has_rooms {
        // Plain FHIR appointments have nowhere to hold a link: say so on the page.
        let (env, r) = (ctx.env.clone(), visit_ref.clone());
        ctx.background(async move {
            let why = "this appointment has no virtual meeting rooms in the EHR to hold them; send the patient the link by text or email";
            if let Err(e) = visit::record(&env, &r, Event::new("write_back_skipped", None, Some(why.into()))).await {
                worker::console_error!("recording write-back: {}", e.body.message);
            }
        });
    } else if entry.launch.write_back && may_write {
        let (env, base, access, m, r) = (ctx.env.clone(), iss.to_string(), token.access_token.clone(), meeting.clone(), visit_ref.clone());
        ctx.background(async move {
            let event = match appointment::write_back(&base, &access, found, &m.provider_url, &m.patient_url).await {
                Ok(detail) => Event::new("write_back_ok", None, Some(detail)),
                Err(why) => Event::new("write_back_failed", None, Some(why)),
            };
            if let Err(e) = visit::record(&env, &r, event).await {
                worker::console_error!("recording write-back: {}", e.body.message);
            }
        });
    }

    if entry.launch.skip_provider_page && seen_before {
        visit::record(&ctx.env, &visit_ref, Event::new("provider_joined", Some(ehr_user_id), None)).await?;
        crate::visit::tracking::follow_later(ctx, &visit_ref);
        let url = crate::video::join_url(&ctx.env, &entry.tenant_id, entry.video.as_ref(), &meeting, true, end.as_deref()).await?;
        return crate::http::see_other(&url);
    }
    let cookie = pass::issue(ctx, &visit_ref, ehr_user_id, iss, &appointment_id).await?;
    let mut resp = crate::http::see_other(&format!("/visit/{visit_ref}"))?;
    resp.headers_mut().append("set-cookie", &cookie)?;
    Ok(resp)
}
