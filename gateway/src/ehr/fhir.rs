//! The FHIR client: one request shape (bearer token, FHIR JSON, a timeout),
//! and one read that turns the EHR's answer into a resource or a clear error.

use std::time::Duration;

use serde_json::Value;
use worker::{Headers, Method};

use super::token::AccessToken;
use crate::error::Error;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn call(
    method: Method,
    base: &str,
    token: &AccessToken,
    path: &str,
    body: Option<(String, &str)>,
    if_match: Option<&str>,
) -> Result<UpstreamResponse, Error> {
    let headers = Headers::new();
    headers.set("accept", "application/fhir+json")?;
    headers.set("authorization", &format!("Bearer {}", token.expose()))?;
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
        UpstreamError::Timeout => Error::new(504, "fhir_timeout", "The EHR's FHIR server did not answer in time. Try again."),
        UpstreamError::Network(w) => Error::new(502, "fhir_unreachable", format!("The EHR's FHIR server could not be reached ({w}).")),
    })
}

/// GETs `path` as JSON; `what` names it for the person reading the error
/// ("appointment", "patient").
pub async fn read(base: &str, token: &AccessToken, path: &str, what: &str) -> Result<Value, Error> {
    let resp = call(Method::Get, base, token, path, None, None).await?;
    judge(resp.status, &resp.body, what)
}

/// How an EHR's answer to a read is taken.
pub fn judge(status: u16, body: &str, what: &str) -> Result<Value, Error> {
    match status {
        200..=299 => serde_json::from_str(body)
            .map_err(|_| Error::new(502, "fhir_invalid", format!("The EHR returned something other than FHIR JSON for the {what}."))),
        401 => Err(Error::new(
            401,
            "fhir_unauthorized",
            format!("The EHR's FHIR server did not accept Visitgate's access token for the {what}. Launch again from the EHR."),
        )),
        // Oracle Health answers 403 with urn:cerner:error:oauth2:resource-access:insufficient-scopes.
        403 => Err(Error::new(
            403,
            "launch_insufficient_scopes",
            format!("The EHR did not grant Visitgate permission to read the {what}. Ask your EHR administrator to grant the scopes listed in the integration records."),
        )),
        404 | 410 => Err(Error::new(
            404,
            &format!("{}_not_found", what.split_whitespace().next().unwrap_or("record")),
            format!("The {what} was not found in the EHR. Open the visit again from the schedule."),
        )),
        s => Err(Error::new(502, "fhir_failed", format!("The EHR's FHIR server failed to return the {what} (HTTP {s})."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_resources_or_clear_codes() {
        assert_eq!(judge(200, r#"{"resourceType":"Patient"}"#, "patient").unwrap()["resourceType"], "Patient");
        let code = |s, b| judge(s, b, "appointment").unwrap_err().body.code;
        assert_eq!(code(200, "<html>"), "fhir_invalid");
        assert_eq!(code(401, ""), "fhir_unauthorized");
        assert_eq!(code(403, ""), "launch_insufficient_scopes");
        assert_eq!(code(404, ""), "appointment_not_found");
        assert_eq!(judge(410, "", "patient").unwrap_err().body.code, "patient_not_found");
        assert_eq!(code(500, ""), "fhir_failed");
    }
}
