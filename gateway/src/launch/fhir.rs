//! FHIR reads for the launch: find the appointment the clinician launched
//! from (fhirContext → Encounter.appointment → Oracle-style search).

use std::time::Duration;

use serde_json::Value;
use shared::appointment::{parse, pick_video_visit, reference_id, VideoVisit};
use worker::{Headers, Method};

use super::token::{AccessToken, TokenResponse};
use crate::error::Error;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn call(method: Method, base: &str, token: &AccessToken, path: &str, body: Option<(String, &str)>, if_match: Option<&str>) -> Result<UpstreamResponse, Error> {
    let headers = Headers::new();
    headers.set("accept", "application/fhir+json")?;
    headers.set("authorization", &format!("Bearer {}", token.0))?;
    if let Some(m) = if_match {
        headers.set("if-match", m)?;
    }
    let body = match body {
        Some((b, ct)) => {
            headers.set("content-type", ct)?;
            Some(b)
        }
        None => None,
    };
    send(method, &format!("{base}/{path}"), headers, body, TIMEOUT).await.map_err(|e| match e {
        UpstreamError::Timeout => Error::new(504, "fhir_timeout", "The EHR's FHIR server did not answer in time. Try launching again."),
        UpstreamError::Network(w) => Error::new(502, "fhir_unreachable", format!("The EHR's FHIR server could not be reached ({w}).")),
    })
}

async fn read_json(base: &str, token: &AccessToken, path: &str, what: &str) -> Result<Value, Error> {
    let resp = call(Method::Get, base, token, path, None, None).await?;
    match resp.status {
        200..=299 => serde_json::from_str(&resp.body)
            .map_err(|_| Error::new(502, "fhir_invalid", format!("The EHR returned something other than FHIR JSON for the {what}."))),
        401 => Err(Error::new(401, "fhir_unauthorized", format!("The EHR's FHIR server did not accept Visitgate's access token for the {what}. Launch again from the EHR."))),
        // Oracle Health answers 403 with urn:cerner:error:oauth2:resource-access:insufficient-scopes.
        403 => Err(Error::new(
            403,
            "launch_insufficient_scopes",
            format!("The EHR did not grant Visitgate permission to read the {what}. Ask your EHR administrator to grant the scopes listed in the integration records."),
        )),
        404 | 410 => Err(Error::new(404, "appointment_not_found", format!("The {what} this launch refers to was not found in the EHR. Open the visit again from the schedule."))),
        s => Err(Error::new(502, "fhir_failed", format!("The EHR's FHIR server failed to return the {what} (HTTP {s})."))),
    }
}

fn today_range() -> (String, String) {
    let now = js_sys::Date::new_0();
    let day = |offset: f64| {
        let d = js_sys::Date::new(&(now.get_time() + offset * 86_400_000.0).into());
        String::from(d.to_iso_string())[..10].to_string()
    };
    (day(0.0), day(1.0))
}

/// The appointment of this launch, with its parsed video-visit view.
pub async fn appointment(base: &str, token: &TokenResponse, fhir_user: &str) -> Result<(Value, VideoVisit), Error> {
    let at = &token.access_token;
    let from_context = token.fhir_context.iter().filter_map(|c| c.reference.as_deref()).find_map(|r| reference_id(r, "Appointment"));
    let resource = if let Some(id) = from_context {
        read_json(base, at, &format!("Appointment/{id}"), "appointment").await?
    } else if let Some(enc) = token.encounter.as_deref().filter(|e| !e.is_empty()) {
        let encounter = read_json(base, at, &format!("Encounter/{enc}"), "encounter").await?;
        let id = encounter
            .get("appointment")
            .and_then(Value::as_array)
            .and_then(|refs| refs.iter().find_map(|r| reference_id(r.get("reference")?.as_str()?, "Appointment")))
            .ok_or_else(|| Error::new(404, "appointment_not_found", "This encounter has no appointment, so there is no video visit to start. Launch from the appointment in the schedule."))?;
        read_json(base, at, &format!("Appointment/{id}"), "appointment").await?
    } else {
        // Oracle Health requires `date` plus one of patient / practitioner / location.
        let (from, to) = today_range();
        let who = match token.patient.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!("patient={p}"),
            None => format!("practitioner={}", reference_id(fhir_user, "Practitioner").unwrap_or_default()),
        };
        let bundle = read_json(base, at, &format!("Appointment?date=ge{from}&date=lt{to}&{who}"), "appointments").await?;
        pick_video_visit(&bundle).ok_or_else(|| {
            Error::new(404, "appointment_not_found", "No video visit was found for today in the EHR. Open the visit from the schedule and launch again.")
        })?
    };
    let visit = parse(&resource).map_err(|e| Error::new(502, "fhir_invalid", format!("The appointment from the EHR could not be read ({e}).")))?;
    if !visit.is_video {
        return Err(Error::new(422, "appointment_not_video", "This appointment is not a video visit, so there is no meeting to join."));
    }
    Ok((resource, visit))
}
