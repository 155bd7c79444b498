//! Microsoft Teams through Microsoft Graph: `onlineMeetings/createOrGet`
//! (idempotent by `externalId`) with an app-only token by client credentials.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use shared::video::TeamsSettings;
use worker::{Env, Headers, Method};

use super::model::{secret, Meeting, MeetingRequest};
use crate::error::Error;
use crate::secrets::Secret;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

const TIMEOUT: Duration = Duration::from_secs(10);
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub(super) fn failed(why: String) -> Error {
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
    static TOKENS: RefCell<HashMap<String, (Secret, u64)>> = RefCell::new(HashMap::new());
}

async fn graph_token(env: &Env, tenant_id: &str, t: &TeamsSettings, force: bool) -> Result<Secret, Error> {
    let key = format!("{tenant_id}|{}|{}|{}", t.login_base, t.entra_tenant_id, t.client_id);
    let now = crate::clock::now_secs();
    if !force {
        if let Some((token, _)) = TOKENS.with(|m| m.borrow().get(&key).cloned()).filter(|(_, exp)| *exp > now + 60) {
            return Ok(token);
        }
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("client_id", &t.client_id)
        .append_pair("client_secret", secret(env, tenant_id, &t.client_secret_ref).await?.expose())
        .append_pair("scope", GRAPH_SCOPE);
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    let url = format!("{}/{}/oauth2/v2.0/token", t.login_base, t.entra_tenant_id);
    let resp = send(Method::Post, &url, headers, Some(form.finish()), TIMEOUT).await.map_err(upstream_error)?;
    #[derive(Deserialize)]
    struct Token {
        access_token: Secret,
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

async fn create_or_get_call(t: &TeamsSettings, token: &Secret, req: &MeetingRequest) -> Result<UpstreamResponse, Error> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("authorization", &format!("Bearer {}", token.expose()))?;
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

pub async fn create_or_get(env: &Env, tenant_id: &str, t: &TeamsSettings, req: &MeetingRequest) -> Result<Meeting, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_meeting_reads_graph_shape() {
        let m = teams_meeting(r#"{"id":"MSo1","joinWebUrl":"https://teams.microsoft.com/l/meetup-join/x?context=y"}"#).unwrap();
        assert_eq!(m.app_url.as_deref(), Some("msteams://teams.microsoft.com/l/meetup-join/x?context=y"));
        assert_eq!(teams_meeting("{}").unwrap_err().body.code, "video_failed");
    }
}
