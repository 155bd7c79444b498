//! Self-hosted Jitsi-style rooms: a link per participant, signed with a JWT.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use shared::video::JitsiSettings;

use super::model::Meeting;

/// Jitsi JWT-auth links (prosody `token` auth: HS256, `aud` "jitsi",
/// `iss` app id, `sub` domain, `room`), valid until an hour after the end.
pub fn links(j: &JitsiSettings, secret: &str, external_id: &str, end_secs: u64) -> Meeting {
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
    use serde_json::Value;

    #[test]
    fn jitsi_tokens_are_room_scoped_and_expire() {
        let j = JitsiSettings { base_url: "https://meet.example.org".into(), app_id: "visitgate".into(), secret_ref: "S".into() };
        let m = links(&j, "s3cret", "ab12cd", 1_000);
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
}
