//! Self-hosted Jitsi-style rooms: the meeting is a room (no provider call);
//! each participant's link is signed with a JWT when they join, so a visit
//! moved to a later time still has working links.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use shared::video::JitsiSettings;

use super::model::Meeting;

/// The room of one appointment; its links carry no token yet.
pub fn room(j: &JitsiSettings, external_id: &str) -> Meeting {
    let room: String = format!("vg-{}", external_id.chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect::<String>());
    let url = format!("{}/{room}", j.base_url);
    Meeting { provider: "jitsi".into(), meeting_id: room, provider_url: url.clone(), patient_url: url, app_url: None }
}

/// A room link signed for one participant (prosody `token` auth: HS256,
/// `aud` "jitsi", `iss` app id, `sub` domain, `room`), valid until an hour
/// after the visit's current end. A link signed before is signed afresh.
pub fn signed(j: &JitsiSettings, secret: &str, room_url: &str, moderator: bool, end_secs: u64) -> String {
    let bare = room_url.split('?').next().unwrap_or(room_url);
    let room = bare.rsplit('/').next().unwrap_or_default();
    let domain = url::Url::parse(&j.base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let claims = json!({
        "aud": "jitsi", "iss": j.app_id, "sub": domain, "room": room,
        "exp": end_secs + 3600,
        "context": {"user": {"moderator": moderator, "name": if moderator { "Clinician" } else { "Patient" }}},
    });
    let token = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("HS256 signing");
    format!("{bare}?jwt={token}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};
    use serde_json::Value;

    fn claims(url: &str) -> Value {
        let token = url.split("jwt=").nth(1).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.set_audience(&["jitsi"]);
        decode::<Value>(token, &DecodingKey::from_secret(b"s3cret"), &v).unwrap().claims
    }

    #[test]
    fn jitsi_tokens_are_room_scoped_and_signed_at_join_time() {
        let j = JitsiSettings { base_url: "https://meet.example.org".into(), app_id: "visitgate".into(), secret_ref: "S".into() };
        let m = room(&j, "ab12cd");
        assert_eq!(m.meeting_id, "vg-ab12cd");
        assert!(!m.patient_url.contains("jwt"), "no token is stored with the meeting");
        let patient = signed(&j, "s3cret", &m.patient_url, false, 1_000);
        let c = claims(&patient);
        assert_eq!((c["room"].as_str(), c["sub"].as_str(), c["exp"].as_u64()), (Some("vg-ab12cd"), Some("meet.example.org"), Some(4_600)));
        assert_eq!(c["context"]["user"]["moderator"], false);
        // The visit moved: the same room, a token for the new end.
        let later = signed(&j, "s3cret", &patient, true, 90_000);
        assert_eq!(later.matches("jwt=").count(), 1);
        assert_eq!(claims(&later)["exp"], 93_600);
        assert_eq!(claims(&later)["context"]["user"]["moderator"], true);
    }
}
