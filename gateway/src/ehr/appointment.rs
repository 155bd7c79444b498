//! Appointments in the EHR: the one a launch is about, the ones the
//! notification job looks at, and writing the meeting links back.

use serde_json::Value;
use shared::appointment::{parse, pick_for_launch, reference_id, write_back_patch, VideoVisit};
use shared::video_rule::VideoRule;
use worker::Method;

use super::fhir;
use super::token::{AccessToken, TokenResponse};
use crate::clock::{iso, iso_ms};
use crate::error::{Error, Result};

/// Result pages followed per search.
const MAX_PAGES: usize = 20;

/// A launch looks this far either side of now for the patient's visit of the day.
const HALF_DAY: u64 = 12 * 3600;

fn not_found(message: &str) -> Error {
    Error::new(404, "appointment_not_found", message)
}

/// The appointment of this launch, in SMART's order: the `fhirContext`
/// Appointment, else the launch encounter's `appointment`, else the
/// patient's appointments of the day with this clinician (one search that
/// Oracle's rules and plain FHIR R4 both allow: `patient` with a `ge`/`lt`
/// date pair, 12 hours either side of now), the nearest in time. Which of
/// them is a video visit is the base's `rule`.
pub async fn for_launch(base: &str, token: &TokenResponse, fhir_user: &str, rule: &VideoRule) -> Result<(Value, VideoVisit)> {
    let at = &token.access_token;
    let from_context = token.fhir_context.iter().filter_map(|c| c.reference.as_deref()).find_map(|r| reference_id(r, "Appointment"));
    let mut patient = token.patient.clone().filter(|p| !p.is_empty());
    let mut linked = from_context;
    if linked.is_none() {
        if let Some(enc) = token.encounter.as_deref().filter(|e| !e.is_empty()) {
            let encounter = fhir::read(base, at, &format!("Encounter/{enc}"), "encounter").await?;
            linked = encounter["appointment"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|r| reference_id(r["reference"].as_str()?, "Appointment"));
            patient = patient.or_else(|| reference_id(encounter.pointer("/subject/reference")?.as_str()?, "Patient"));
        }
    }
    let resource = if let Some(id) = linked {
        fhir::read(base, at, &format!("Appointment/{id}"), "appointment").await?
    } else {
        let clinician = reference_id(fhir_user, "Practitioner");
        let who = match (&patient, &clinician) {
            (Some(p), _) => format!("patient={p}"),
            (None, Some(c)) => format!("practitioner={c}"),
            (None, None) => return Err(not_found("The EHR sent no appointment, encounter or patient with this launch, so Visitgate cannot tell which visit to open. Launch from the appointment in the schedule.")),
        };
        let now = crate::clock::now_secs();
        let query = format!("Appointment?{who}&date=ge{}&date=lt{}", iso(now - HALF_DAY), iso(now + HALF_DAY));
        let bundle = fhir::read(base, at, &query, "appointments").await?;
        pick_for_launch(&bundle, rule, clinician.as_deref(), now as i64 * 1000, iso_ms).ok_or_else(|| {
            not_found(if patient.is_some() && clinician.is_some() {
                "No video visit was found for today for this patient with you in the EHR. Open the visit from the schedule and launch again."
            } else {
                "No video visit was found for today in the EHR. Open the visit from the schedule and launch again."
            })
        })?
    };
    let visit =
        parse(&resource).map_err(|e| Error::new(502, "fhir_invalid", format!("The appointment from the EHR could not be read ({e}).")))?;
    if !rule.covers(&resource, &visit) {
        let why = match rule {
            VideoRule::OracleRooms => "This appointment is not a video visit (it has no virtual meeting rooms), so there is no meeting to join.",
            _ => "This appointment's type is not one your organisation set up as a video visit, so there is no meeting to join. Ask your Visitgate administrator to add it in the portal.",
        };
        return Err(Error::new(422, "appointment_not_video", why));
    }
    Ok((resource, visit))
}

/// How one search went: its resources and the requests it took, or the
/// EHR's `Retry-After` (seconds) when it answered 429.
pub enum Searched {
    Found(Vec<Value>, u32),
    Throttled(u64),
}

/// Every resource of a search, following `next` links (at most `MAX_PAGES`).
pub async fn search_all(base: &str, token: &AccessToken, query: &str) -> Result<Searched> {
    let mut out = vec![];
    let mut path = query.to_string();
    for page in 1..=MAX_PAGES as u32 {
        let resp = fhir::call(Method::Get, base, token, &path, None, None).await?;
        if resp.status == 429 {
            let wait = resp.headers.iter().find(|(k, _)| k == "retry-after").and_then(|(_, v)| v.trim().parse().ok()).unwrap_or(60);
            return Ok(Searched::Throttled(wait));
        }
        let bundle = fhir::judge(resp.status, &resp.body, "appointments")?;
        out.extend(bundle["entry"].as_array().into_iter().flatten().filter_map(|e| e.get("resource").cloned()));
        let next = bundle["link"].as_array().into_iter().flatten().find(|l| l["relation"] == "next").and_then(|l| l["url"].as_str());
        // Only pages of the same server: a `next` elsewhere would get our token.
        match next.and_then(|n| n.strip_prefix(base.trim_end_matches('/')).map(|p| p.trim_start_matches('/').to_string())) {
            Some(p) => path = p,
            None => return Ok(Searched::Found(out, page)),
        }
    }
    Ok(Searched::Found(out, MAX_PAGES as u32))
}

/// What each documented refusal of the link patch means, for the visit's page.
fn refused(status: u16) -> String {
    match status {
        409 => "the appointment kept changing while the links were written (HTTP 409)".into(),
        412 => "the EHR asked for the appointment's version and did not accept it (HTTP 412)".into(),
        422 => "the EHR refused the link update as invalid (HTTP 422)".into(),
        423 => "someone is editing this appointment in the EHR right now, so the links were not written (HTTP 423)".into(),
        424 => "a related update in the EHR failed, so the links were not written (HTTP 424)".into(),
        401 | 403 => format!("Visitgate may not update appointments in this EHR (HTTP {status}); ask for the Appointment write scope"),
        s => format!("the EHR refused the update (HTTP {s})"),
    }
}

/// Puts both links into the Appointment's rooms by Oracle's rules (one
/// patch of four operations, `add` the first time, `replace` afterwards,
/// `If-Match`). On 409/412 the appointment is read again and the patch,
/// rebuilt from what it now holds, tried once more. The answer is a
/// sentence for the visit's live status.
pub async fn write_back(
    base: &str,
    token: &AccessToken,
    visit: VideoVisit,
    provider_url: &str,
    patient_url: &str,
) -> std::result::Result<String, String> {
    let mut visit = visit;
    for attempt in 0..2 {
        let already = visit.provider_room.as_ref().and_then(|r| r.url.as_deref()) == Some(provider_url)
            && visit.patient_room.as_ref().and_then(|r| r.url.as_deref()) == Some(patient_url);
        if already {
            return Ok("links already in the appointment".into());
        }
        let patch = write_back_patch(&visit, provider_url, patient_url)?;
        let if_match = visit.version_id.as_deref().map(|v| format!("W/\"{v}\""));
        let body = serde_json::to_string(&patch).map_err(|e| e.to_string())?;
        let path = format!("Appointment/{}", visit.id);
        let resp = fhir::call(Method::Patch, base, token, &path, Some((body, "application/json-patch+json")), if_match.as_deref())
            .await
            .map_err(|e| e.body.message)?;
        match resp.status {
            200..=299 => return Ok(format!("written (HTTP {})", resp.status)),
            409 | 412 if attempt == 0 => {
                let fresh = fhir::call(Method::Get, base, token, &path, None, None).await.map_err(|e| e.body.message)?;
                let json: Value = serde_json::from_str(&fresh.body).map_err(|e| e.to_string())?;
                visit = parse(&json)?;
            }
            s => return Err(refused(s)),
        }
    }
    Err(refused(409))
}

/// Moves the appointment's status forward for patient tracking (Oracle:
/// booked → arrived or checked-in, arrived → checked-in), by the documented
/// single `replace /status` patch with `If-Match`; once more after a 409.
/// Never backwards: an appointment already there (or past it) is left alone.
pub async fn advance_status(base: &str, token: &AccessToken, id: &str, to: &str) -> std::result::Result<String, String> {
    let path = format!("Appointment/{id}");
    for attempt in 0..2 {
        let current = fhir::call(Method::Get, base, token, &path, None, None).await.map_err(|e| e.body.message)?;
        let json = fhir::judge(current.status, &current.body, "appointment").map_err(|e| e.body.message)?;
        let visit = parse(&json)?;
        let allowed = match (visit.status.as_str(), to) {
            ("booked", "arrived" | "checked-in") | ("arrived", "checked-in") => true,
            (now, _) if now == to || (now == "checked-in" && to == "arrived") || now == "fulfilled" => {
                return Ok(format!("already {now}"));
            }
            _ => false,
        };
        if !allowed {
            return Err(format!("the appointment is {}, which Oracle does not move to {to}", visit.status));
        }
        let body = serde_json::json!([{ "op": "replace", "path": "/status", "value": to }]).to_string();
        let if_match = visit.version_id.as_deref().map(|v| format!("W/\"{v}\""));
        let resp = fhir::call(Method::Patch, base, token, &path, Some((body, "application/json-patch+json")), if_match.as_deref())
            .await
            .map_err(|e| e.body.message)?;
        match resp.status {
            200..=299 => return Ok(format!("now {to}")),
            409 if attempt == 0 => continue,
            s => return Err(refused(s)),
        }
    }
    Err(refused(409))
}
