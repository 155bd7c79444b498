//! The authorization-code exchange and what the token response must hold.

use std::time::Duration;

use serde::Deserialize;
use shared::tenant::{ClientAuthMethod, IssEntry};
use worker::{Headers, Method};

use super::discovery::Discovery;
use crate::ctx::Ctx;
use crate::error::Error;
use crate::oidc::client_auth::{assertion_key, basic_auth};
use crate::secrets::Secret;
use crate::upstream::{send, UpstreamError};

const TIMEOUT: Duration = Duration::from_secs(10);

/// An access token: it never leaves the gateway.
pub type AccessToken = Secret;

#[derive(Debug, Clone, Deserialize)]
pub struct ContextItem {
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub token_type: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub patient: Option<String>,
    #[serde(default)]
    pub encounter: Option<String>,
    #[serde(default, rename = "fhirContext")]
    pub fhir_context: Vec<ContextItem>,
}

/// Form body of the exchange (RFC 6749 §4.1.3 + PKCE + optional assertion).
pub fn request_body(code: &str, redirect_uri: &str, verifier: &str, assertion: Option<&str>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", verifier);
    if let Some(a) = assertion {
        form.append_pair("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            .append_pair("client_assertion", a);
    }
    form.finish()
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Judges the token endpoint's answer.
pub fn parse_response(status: u16, body: &str) -> Result<TokenResponse, Error> {
    if !(200..300).contains(&status) {
        let detail = serde_json::from_str::<OAuthError>(body)
            .map(|e| format!("{}{}", e.error, e.error_description.map(|d| format!(": {d}")).unwrap_or_default()))
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(if status >= 500 {
            Error::new(
                502,
                "launch_token_failed",
                format!("The EHR's sign-in server failed to complete the sign-in ({detail}). Try launching again in a minute."),
            )
        } else {
            Error::new(502, "launch_token_refused", format!("The EHR refused to complete the sign-in ({detail}). Launch again from the EHR; if it keeps happening, check the app registration's client id and secret."))
        });
    }
    let token: TokenResponse = serde_json::from_str(body)
        .map_err(|e| Error::new(502, "launch_token_invalid", format!("The EHR's token response could not be read ({e}).")))?;
    if !token.token_type.eq_ignore_ascii_case("bearer") || token.access_token.expose().is_empty() {
        return Err(Error::new(502, "launch_token_invalid", "The EHR's token response has no bearer access token."));
    }
    if token.id_token.is_none() {
        return Err(Error::new(502, "launch_no_id_token", "The EHR did not return an id_token, so Visitgate cannot tell who signed in. Check that the app registration grants the openid and fhirUser scopes."));
    }
    Ok(token)
}

/// Scopes the EHR granted that the launch cannot do without.
pub fn missing_scopes(granted: Option<&str>, requested: &str) -> Vec<String> {
    // RFC 6749 §5.1: no `scope` in the response means "as requested".
    let Some(granted) = granted else { return vec![] };
    let have: Vec<&str> = granted.split_whitespace().collect();
    requested
        .split_whitespace()
        .filter(|s| !s.ends_with(".u") && !s.ends_with(".write")) // write-back is optional
        .filter(|s| !have.contains(s))
        .map(str::to_string)
        .collect()
}

pub async fn exchange(
    ctx: &Ctx,
    entry: &IssEntry,
    d: &Discovery,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<TokenResponse, Error> {
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    headers.set("accept", "application/json")?;
    let client_id = &entry.client.client_id;
    let body = match entry.client.auth_method {
        ClientAuthMethod::ClientSecretBasic => {
            let name = entry.client.secret_ref.as_deref().unwrap_or("EHR_CLIENT_SECRET");
            let secret = crate::secrets::tenant::get(&ctx.env, &entry.tenant_id, name).await.ok_or_else(|| {
                Error::new(500, "launch_client_secret_missing", format!("The client secret for this FHIR base is not set up (secret {name}). Enter it with the FHIR base in the admin portal, or ask your Visitgate administrator."))
            })?;
            headers.set("authorization", &basic_auth(client_id, &secret))?;
            request_body(code, redirect_uri, verifier, None)
        }
        ClientAuthMethod::PrivateKeyJwt => {
            let key = assertion_key(ctx).await?;
            let jti = crate::crypto::random_token(24);
            let assertion = key.assertion(client_id, &d.token_endpoint, crate::clock::now_secs(), &jti).await?;
            request_body(code, redirect_uri, verifier, Some(&assertion))
        }
    };
    let resp = send(Method::Post, &d.token_endpoint, headers, Some(body), TIMEOUT).await.map_err(|e| match e {
        UpstreamError::Timeout => {
            Error::new(504, "launch_token_timeout", "The EHR's sign-in server did not answer in time. Try launching again in a minute.")
        }
        UpstreamError::Network(w) => {
            Error::new(502, "launch_token_failed", format!("The EHR's sign-in server could not be reached ({w})."))
        }
    })?;
    parse_response(resp.status, &resp.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors_become_clear_codes() {
        let e = parse_response(400, r#"{"error":"invalid_grant","error_description":"code expired"}"#).unwrap_err();
        assert_eq!((e.status, e.body.code.as_str()), (502, "launch_token_refused"));
        assert!(e.body.message.contains("invalid_grant: code expired"));
        assert_eq!(parse_response(500, "oops").unwrap_err().body.code, "launch_token_failed");
        assert_eq!(
            parse_response(200, r#"{"access_token":"a","token_type":"mac","id_token":"x"}"#).unwrap_err().body.code,
            "launch_token_invalid"
        );
        assert_eq!(parse_response(200, r#"{"access_token":"a","token_type":"Bearer"}"#).unwrap_err().body.code, "launch_no_id_token");
        let ok = parse_response(
            200,
            r#"{"access_token":"a","token_type":"bearer","id_token":"x","fhirContext":[{"reference":"Appointment/1"}],"patient":"p"}"#,
        )
        .unwrap();
        assert_eq!(ok.fhir_context[0].reference.as_deref(), Some("Appointment/1"));
        assert_eq!(format!("{:?}", ok.access_token), "[redacted]");
    }

    #[test]
    fn body_and_scopes() {
        let b = request_body("c 1", "https://gw/launch/callback", "v", Some("a.b.c"));
        assert!(b.starts_with("grant_type=authorization_code&code=c+1&redirect_uri=https%3A%2F%2Fgw%2Flaunch%2Fcallback&code_verifier=v&client_assertion_type="));
        let asked = "launch openid fhirUser user/Appointment.rs user/Patient.rs user/Appointment.u";
        assert!(missing_scopes(None, asked).is_empty());
        assert_eq!(missing_scopes(Some("launch openid fhirUser user/Patient.rs"), asked), ["user/Appointment.rs"]);
    }
}
