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
        VideoSettings::Jitsi(j) => {
            let end = js_sys::Date::parse(&req.end);
            let end_secs = if end.is_nan() { crate::clock::now_secs() + 4 * 3600 } else { (end / 1000.0) as u64 };
            Ok(jitsi::links(j, secret(env, tenant_id, &j.secret_ref).await?.expose(), &req.external_id, end_secs))
        }
    }
}
