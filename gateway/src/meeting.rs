//! The video-provider adapter: get or create the meeting of one appointment.
//! Teams through Microsoft Graph `onlineMeetings/createOrGet` (idempotent by
//! `externalId`, app-only token by client credentials), or self-hosted
//! Jitsi-style rooms with a signed JWT per participant.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::video::{JitsiSettings, TeamsSettings, VideoSettings};
use worker::{Env, Headers, Method};

use crate::error::Error;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

const TIMEOUT: Duration = Duration::from_secs(10);
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    pub provider: String,
    pub meeting_id: String,
    pub provider_url: String,
    pub patient_url: String,
    /// Teams desktop/mobile app deep link, when there is one.
    #[serde(default)]
    pub app_url: Option<String>,
}

/// What the meeting is for; no patient data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingRequest {
    pub external_id: String,
    pub start: String,
    pub end: String,
    pub subject: String,
}

async fn secret(env: &Env, tenant_id: &str, name: &str) -> Result<String, Error> {
    crate::secrets::get(env, tenant_id, name)
        .await
        .ok_or_else(|| Error::new(500, "video_secret_missing", format!("The video service's secret ({name}) is not set up. Enter it in the admin portal's Video settings, or ask your Visitgate administrator.")))
}

pub async fn create_or_get(env: &Env, tenant_id: &str, settings: &VideoSettings, req: &MeetingRequest) -> Result<Meeting, Error> {
    match settings {
        VideoSettings::Teams(t) => teams(env, tenant_id, t, req).await,
        VideoSettings::Jitsi(j) => {
            let end = js_sys::Date::parse(&req.end);
            let end_secs = if end.is_nan() { crate::now_secs() + 4 * 3600 } else { (end / 1000.0) as u64 };
            Ok(jitsi_links(j, &secret(env, tenant_id, &j.secret_ref).await?, &req.external_id, end_secs))
        }
    }
}

fn failed(why: String) -> Error {
    Error::new(502, "video_failed", format!("The video service could not create the meeting ({why}). Try again in a minute."))
}

fn upstream_error(e: UpstreamError) -> Error {
    match e {
        UpstreamError::Timeout => Error::new(504, "video_timeout", "The video service did not answer in time. Try again in a minute."),
        UpstreamError::Network(w) => failed(w),
    }
}

thread_local! {
    /// App-only Graph tokens per (login base, directory, client), until shortly before expiry.
    static TOKENS: RefCell<HashMap<String, (String, u64)>> = RefCell::new(HashMap::new());
}

async fn graph_token(env: &Env, tenant_id: &str, t: &TeamsSettings, force: bool) -> Result<String, Error> {
    let key = format!("{tenant_id}|{}|{}|{}", t.login_base, t.entra_tenant_id, t.client_id);
    let now = crate::now_secs();
    if !force {
        if let Some((token, _)) = TOKENS.with(|m| m.borrow().get(&key).cloned()).filter(|(_, exp)| *exp > now + 60) {
            return Ok(token);
        }
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("client_id", &t.client_id)
        .append_pair("client_secret", &secret(env, tenant_id, &t.client_secret_ref).await?)
        .append_pair("scope", GRAPH_SCOPE);
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    let url = format!("{}/{}/oauth2/v2.0/token", t.login_base, t.entra_tenant_id);
    let resp = send(Method::Post, &url, headers, Some(form.finish()), TIMEOUT).await.map_err(upstream_error)?;
    #[derive(Deserialize)]
    struct Token {
        access_token: String,
        expires_in: u64,
    }
    if !resp.ok() {
        let detail: Value = serde_json::from_str(&resp.body).unwrap_or_default();
        let code = detail["error"].as_str().unwrap_or("error");
        return Err(Error::new(502, "video_auth_failed", format!("Microsoft sign-in refused the video app ({code}, HTTP {}). Check the Teams app's client id and secret in the video settings.", resp.status)));
    }
    let token: Token = serde_json::from_str(&resp.body).map_err(|e| failed(format!("token response: {e}")))?;
    TOKENS.with(|m| m.borrow_mut().insert(key, (token.access_token.clone(), now + token.expires_in)));
    Ok(token.access_token)
}

async fn create_or_get_call(t: &TeamsSettings, token: &str, req: &MeetingRequest) -> Result<UpstreamResponse, Error> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("authorization", &format!("Bearer {token}"))?;
    let body = json!({
        "externalId": req.external_id,
        "startDateTime": req.start,
        "endDateTime": req.end,
        "subject": req.subject,
        // Everyone but the organisation waits in the lobby until admitted.
        "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": false},
    });
    let url = format!("{}/v1.0/users/{}/onlineMeetings/createOrGet", t.graph_base, t.organizer_user_id);
    send(Method::Post, &url, headers, Some(body.to_string()), TIMEOUT).await.map_err(upstream_error)
}

async fn teams(env: &Env, tenant_id: &str, t: &TeamsSettings, req: &MeetingRequest) -> Result<Meeting, Error> {
    let mut resp = create_or_get_call(t, &graph_token(env, tenant_id, t, false).await?, req).await?;
    if resp.status == 401 {
        // The cached app token was revoked or expired early: one fresh try.
        resp = create_or_get_call(t, &graph_token(env, tenant_id, t, true).await?, req).await?;
    }
    if resp.status == 429 || resp.status >= 500 {
        worker::Delay::from(Duration::from_millis(500)).await;
        resp = create_or_get_call(t, &graph_token(env, tenant_id, t, false).await?, req).await?;
    }
    if !resp.ok() {
        let detail: Value = serde_json::from_str(&resp.body).unwrap_or_default();
        return Err(failed(format!("{} HTTP {}", detail["error"]["code"].as_str().unwrap_or("error"), resp.status)));
    }
    teams_meeting(&resp.body)
}

pub fn teams_meeting(body: &str) -> Result<Meeting, Error> {
    let m: Value = serde_json::from_str(body).map_err(|e| failed(format!("meeting response: {e}")))?;
    let join = m["joinWebUrl"].as_str().or(m["joinUrl"].as_str()).ok_or_else(|| failed("no joinWebUrl".into()))?;
    let id = m["id"].as_str().ok_or_else(|| failed("no meeting id".into()))?;
    Ok(Meeting {
        provider: "teams".into(),
        meeting_id: id.into(),
        provider_url: join.into(),
        patient_url: join.into(),
        app_url: join.strip_prefix("https://").map(|rest| format!("msteams://{rest}")),
    })
}

/// Jitsi JWT-auth links (prosody `token` auth: HS256, `aud` "jitsi",
/// `iss` app id, `sub` domain, `room`), valid until an hour after the end.
pub fn jitsi_links(j: &JitsiSettings, secret: &str, external_id: &str, end_secs: u64) -> Meeting {
    let room: String = format!("vg-{}", external_id.chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect::<String>());
    let domain = url::Url::parse(&j.base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let token = |moderator: bool| {
        let claims = json!({
            "aud": "jitsi", "iss": j.app_id, "sub": domain, "room": room,
            "exp": end_secs + 3600,
            "context": {"user": {"moderator": moderator, "name": if moderator { "Clinician" } else { "Patient" }}},
        });
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("HS256 signing")
    };
    Meeting {
        provider: "jitsi".into(),
        meeting_id: room.clone(),
        provider_url: format!("{}/{room}?jwt={}", j.base_url, token(true)),
        patient_url: format!("{}/{room}?jwt={}", j.base_url, token(false)),
        app_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn jitsi_tokens_are_room_scoped_and_expire() {
        let j = JitsiSettings { base_url: "https://meet.example.org".into(), app_id: "visitgate".into(), secret_ref: "S".into() };
        let m = jitsi_links(&j, "s3cret", "ab12cd", 1_000);
        assert_eq!(m.meeting_id, "vg-ab12cd");
        let token = m.patient_url.split("jwt=").nth(1).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.set_audience(&["jitsi"]);
        let claims = decode::<Value>(token, &DecodingKey::from_secret(b"s3cret"), &v).unwrap().claims;
        assert_eq!(claims["room"], "vg-ab12cd");
        assert_eq!(claims["sub"], "meet.example.org");
        assert_eq!(claims["exp"], 4_600);
        assert_eq!(claims["context"]["user"]["moderator"], false);
        assert_ne!(m.provider_url, m.patient_url);
    }

    #[test]
    fn teams_meeting_reads_graph_shape() {
        let m = teams_meeting(r#"{"id":"MSo1","joinWebUrl":"https://teams.microsoft.com/l/meetup-join/x?context=y"}"#).unwrap();
        assert_eq!(m.app_url.as_deref(), Some("msteams://teams.microsoft.com/l/meetup-join/x?context=y"));
        assert_eq!(teams_meeting("{}").unwrap_err().body.code, "video_failed");
    }
}
