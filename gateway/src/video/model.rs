//! A meeting as every video adapter answers it, and what it is for.

use serde::{Deserialize, Serialize};
use worker::Env;

use crate::error::Error;
use crate::secrets::Secret;

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

/// A secret the tenant's video settings name.
pub async fn secret(env: &Env, tenant_id: &str, name: &str) -> Result<Secret, Error> {
    crate::secrets::tenant::get(env, tenant_id, name)
        .await
        .ok_or_else(|| Error::new(500, "video_secret_missing", format!("The video service's secret ({name}) is not set up. Enter it in the admin portal's Video settings, or ask your Visitgate administrator.")))
}
