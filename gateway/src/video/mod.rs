//! The video-provider adapter: get or create the meeting of one appointment.
//! Teams through Microsoft Graph `onlineMeetings/createOrGet` (idempotent by
//! `externalId`, app-only token by client credentials), or self-hosted
//! Jitsi-style rooms with a signed JWT per participant.

pub mod jitsi;
pub mod model;
pub mod teams;

use shared::video::VideoSettings;
use worker::Env;

use self::model::secret;
pub use self::model::{Meeting, MeetingRequest};
use crate::error::Error;

pub async fn create_or_get(env: &Env, tenant_id: &str, settings: &VideoSettings, req: &MeetingRequest) -> Result<Meeting, Error> {
    match settings {
        VideoSettings::Teams(t) => teams::create_or_get(env, tenant_id, t, req).await,
        VideoSettings::Jitsi(j) => Ok(jitsi::room(j, &req.external_id)),
    }
}

/// The link one participant joins with, made when they join: Teams links
/// as they are, Jitsi links signed now until an hour after `end` (the
/// visit's current end, ISO 8601; four hours from now when unknown).
pub async fn join_url(
    env: &Env,
    tenant_id: &str,
    settings: Option<&VideoSettings>,
    meeting: &Meeting,
    clinician: bool,
    end: Option<&str>,
) -> Result<String, Error> {
    let url = if clinician { &meeting.provider_url } else { &meeting.patient_url };
    match settings {
        Some(VideoSettings::Jitsi(j)) if meeting.provider == "jitsi" => {
            let end_secs = end.and_then(crate::clock::secs).unwrap_or_else(|| crate::clock::now_secs() + 4 * 3600);
            jitsi::signed(j, secret(env, tenant_id, &j.secret_ref).await?.expose(), url, clinician, end_secs).await
        }
        _ => Ok(url.clone()),
    }
}
