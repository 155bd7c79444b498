//! Patient links: `https://<host>/j/<code>`. The code is short enough that
//! the whole text fits one SMS segment and long enough not to be guessed.

use serde::{Deserialize, Serialize};

/// 12 base64url characters = 72 random bits.
pub const CODE_LEN: usize = 12;
/// How long after the appointment's end a link keeps working.
pub const GRACE_SECS: u64 = 2 * 3600;
/// How long an expired link is still recognised (410 instead of 404).
pub const REMEMBER_EXPIRED_SECS: u64 = 30 * 86_400;

/// What a code resolves to (KV `link:{code}`): no patient data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientLink {
    pub visit_ref: String,
    pub tenant_id: String,
    pub base_id: String,
    pub start: Option<String>,
    /// Unix seconds after which the link answers 410.
    pub expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinic_phone: Option<String>,
    #[serde(default)]
    pub revoked: bool,
}

pub fn is_code(s: &str) -> bool {
    s.len() == CODE_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }
}

/// Picks the page language from `Accept-Language` (q-values respected).
pub fn negotiate(accept_language: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for part in accept_language.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("de") => Lang::De,
            Some("en") => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Lang::En)
}

/// The patient page's words.
pub struct Text {
    pub title: &'static str,
    pub when: &'static str,
    pub check_title: &'static str,
    pub check_button: &'static str,
    pub check_ok: &'static str,
    pub denied: &'static str,
    pub no_device: &'static str,
    pub join: &'static str,
    pub waiting: &'static str,
    pub admitted: &'static str,
    pub microphone: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    pub expired_title: &'static str,
    pub expired: &'static str,
    pub call_clinic: &'static str,
    pub throttled: &'static str,
}

pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}

static EN: Text = Text {
    title: "Your video appointment",
    when: "Appointment time:",
    check_title: "Check your camera and microphone",
    check_button: "Check camera and microphone",
    check_ok: "Camera and microphone work.",
    denied: "Your browser blocked the camera or microphone. Allow them for this page (the camera icon in the address bar, or your browser's site settings), then press the button again.",
    no_device: "No camera or microphone was found. Connect one, or use a phone or tablet, then press the button again.",
    join: "Join the appointment",
    waiting: "You are in the waiting room. Please stay on this page: you will be let in when your clinician is ready.",
    admitted: "Your clinician is ready. Joining…",
    microphone: "Microphone level",
    not_found_title: "Link not found",
    not_found: "This appointment link is not valid. Check that you opened the whole link from your message.",
    expired_title: "This link has expired",
    expired: "This appointment link has expired. Please contact your clinic.",
    call_clinic: "Call your clinic:",
    throttled: "Too many tries. Wait a minute, then open the link from your message again.",
};

static DE: Text = Text {
    title: "Ihr Video-Termin",
    when: "Termin:",
    check_title: "Kamera und Mikrofon prüfen",
    check_button: "Kamera und Mikrofon prüfen",
    check_ok: "Kamera und Mikrofon funktionieren.",
    denied: "Ihr Browser hat Kamera oder Mikrofon blockiert. Erlauben Sie beides für diese Seite (Kamerasymbol in der Adressleiste oder Website-Einstellungen) und drücken Sie die Schaltfläche erneut.",
    no_device: "Es wurde keine Kamera und kein Mikrofon gefunden. Schließen Sie eines an oder nutzen Sie ein Smartphone oder Tablet und drücken Sie die Schaltfläche erneut.",
    join: "Am Termin teilnehmen",
    waiting: "Sie sind im Wartezimmer. Bitte bleiben Sie auf dieser Seite: Sie werden eingelassen, sobald Ihre Ärztin oder Ihr Arzt bereit ist.",
    admitted: "Ihre Ärztin oder Ihr Arzt ist bereit. Sie werden verbunden…",
    microphone: "Mikrofonpegel",
    not_found_title: "Link nicht gefunden",
    not_found: "Dieser Termin-Link ist ungültig. Bitte prüfen Sie, ob Sie den vollständigen Link aus Ihrer Nachricht geöffnet haben.",
    expired_title: "Dieser Link ist abgelaufen",
    expired: "Dieser Termin-Link ist abgelaufen. Bitte wenden Sie sich an Ihre Praxis.",
    call_clinic: "Telefon Ihrer Praxis:",
    throttled: "Zu viele Versuche. Warten Sie eine Minute und öffnen Sie dann den Link aus Ihrer Nachricht erneut.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_and_url_safe() {
        assert!(is_code("abcDEF012-_x"));
        assert!(!is_code("abcDEF012-_"));
        assert!(!is_code("abcDEF012-_x/"));
        assert!(!is_code("abc DEF012-_"));
        // The whole link fits easily in one SMS segment (160 GSM-7 characters).
        assert!("https://visits.example-health.org/j/abcDEF012-_x".len() < 60);
    }

    #[test]
    fn language_follows_accept_language() {
        assert_eq!(negotiate("de-DE,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(negotiate("en-US,en;q=0.9,de;q=0.8"), Lang::En);
        assert_eq!(negotiate("fr-FR,de;q=0.5"), Lang::De);
        assert_eq!(negotiate("fr-FR"), Lang::En);
        assert_eq!(negotiate(""), Lang::En);
        assert_eq!(negotiate("de;q=0, en;q=0.1"), Lang::En);
    }
}
