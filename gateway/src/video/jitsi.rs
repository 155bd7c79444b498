//! Self-hosted Jitsi-style rooms: the meeting is a room (no provider call);
//! each participant's link is signed with a JWT when they join, so a visit
//! moved to a later time still has working links.

use serde_json::{json, Value};
use shared::video::JitsiSettings;

use super::model::Meeting;
use crate::error::Error;

/// The room of one appointment; its links carry no token yet.
pub fn room(j: &JitsiSettings, external_id: &str) -> Meeting {
    let room: String = format!("vg-{}", external_id.chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect::<String>());
    let url = format!("{}/{room}", j.base_url);
    Meeting { provider: "jitsi".into(), meeting_id: room, provider_url: url.clone(), patient_url: url, app_url: None }
}

/// A room link signed for one participant (prosody `token` auth: HS256,
/// `aud` "jitsi", `iss` app id, `sub` domain, `room`), valid until an hour
/// after the visit's current end. A link signed before is signed afresh.
pub async fn signed(j: &JitsiSettings, secret: &str, room_url: &str, moderator: bool, end_secs: u64) -> Result<String, Error> {
    let (bare, claims) = claims(j, room_url, moderator, end_secs);
    let token = crate::oidc::jws::sign_hs256(secret.as_bytes(), &claims)
        .await
        .map_err(|e| Error::new(500, "video_sign_failed", format!("The Jitsi room link could not be signed ({}).", e.0)))?;
    Ok(format!("{bare}?jwt={token}"))
}

/// The link without its token, and the token's claims.
pub fn claims<'a>(j: &JitsiSettings, room_url: &'a str, moderator: bool, end_secs: u64) -> (&'a str, Value) {
    let bare = room_url.split('?').next().unwrap_or(room_url);
    let room = bare.rsplit('/').next().unwrap_or_default();
    let domain = url::Url::parse(&j.base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let claims = json!({
        "aud": "jitsi", "iss": j.app_id, "sub": domain, "room": room,
        "exp": end_secs + 3600,
        "context": {"user": {"moderator": moderator, "name": if moderator { "Clinician" } else { "Patient" }}},
    });
    (bare, claims)
}

#[cfg(test)]
mod tests {
    //! The HS256 signature is WebCrypto's; tests/e2e/visit.test.mjs checks it
    //! with the tenant's secret.
    use super::*;

    #[test]
    fn jitsi_tokens_are_room_scoped_and_signed_at_join_time() {
        let j = JitsiSettings { base_url: "https://meet.example.org".into(), app_id: "visitgate".into(), secret_ref: "S".into() };
        let m = room(&j, "ab12cd");
        assert_eq!(m.meeting_id, "vg-ab12cd");
        assert!(!m.patient_url.contains("jwt"), "no token is stored with the meeting");
        let (bare, c) = claims(&j, &m.patient_url, false, 1_000);
        assert_eq!(bare, "https://meet.example.org/vg-ab12cd");
        assert_eq!((c["room"].as_str(), c["sub"].as_str(), c["exp"].as_u64()), (Some("vg-ab12cd"), Some("meet.example.org"), Some(4_600)));
        assert_eq!(c["context"]["user"]["moderator"], false);
        // The visit moved: the same room, a token for the new end.
        let old = format!("{}?jwt=old", m.patient_url);
        let (bare, later) = claims(&j, &old, true, 90_000);
        assert_eq!(bare, "https://meet.example.org/vg-ab12cd", "the old token is dropped");
        assert_eq!(later["exp"], 93_600);
        assert_eq!(later["context"]["user"]["moderator"], true);
    }
}
