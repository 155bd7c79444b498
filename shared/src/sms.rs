//! SMS settings, message templates and segment counting.
//!
//! Counting follows GSM 03.38: a text that only uses the GSM-7 basic set (and
//! its extension table, whose characters cost two septets) is sent as GSM-7,
//! 160 septets in one segment or 153 per segment when split; anything else
//! goes as UCS-2, 70 UTF-16 units or 67 per segment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::providers::{endpoint_problem, Provider};

const GSM7_BASIC: &str =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentCount {
    pub encoding: Encoding,
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    pub segments: usize,
}

pub fn segments(text: &str) -> SegmentCount {
    let gsm: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (encoding, units, single, multi) = match gsm {
        Some(septets) => (Encoding::Gsm7, septets, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single { 1 } else { units.div_ceil(multi) };
    SegmentCount { encoding, units, segments }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Confirmation,
    Changed,
    Cancelled,
    Reminder,
    /// "Send link to patient" from the provider page.
    Link,
}

impl MessageKind {
    /// The key a message is delivered under once: a change per new time,
    /// the others once per visit (reminders add their offset to it).
    pub fn delivery_key(self, start: Option<&str>) -> String {
        match self {
            MessageKind::Changed => format!("changed:{}", start.unwrap_or_default()),
            MessageKind::Confirmation => "confirmation".into(),
            MessageKind::Cancelled => "cancelled".into(),
            MessageKind::Reminder => "reminder".into(),
            MessageKind::Link => "link".into(),
        }
    }
}

pub const ALL_KINDS: [MessageKind; 5] =
    [MessageKind::Confirmation, MessageKind::Changed, MessageKind::Cancelled, MessageKind::Reminder, MessageKind::Link];

/// Per-language templates. Placeholders: `{clinic}`, `{date}`, `{time}`, `{link}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Templates {
    pub confirmation: String,
    pub changed: String,
    pub cancelled: String,
    pub reminder: String,
    pub link: String,
}

impl Templates {
    pub fn get(&self, kind: MessageKind) -> &str {
        match kind {
            MessageKind::Confirmation => &self.confirmation,
            MessageKind::Changed => &self.changed,
            MessageKind::Cancelled => &self.cancelled,
            MessageKind::Reminder => &self.reminder,
            MessageKind::Link => &self.link,
        }
    }
}

pub fn default_templates() -> BTreeMap<String, Templates> {
    let mut m = BTreeMap::new();
    m.insert(
        "en".into(),
        Templates {
            confirmation: "{clinic}: your video visit is on {date} at {time}. Join: {link}".into(),
            changed: "{clinic}: your video visit moved to {date} at {time}. Join: {link}".into(),
            cancelled: "{clinic}: your video visit on {date} at {time} was cancelled.".into(),
            reminder: "{clinic}: reminder, video visit {date} at {time}. Join: {link}".into(),
            link: "{clinic}: join your video visit here: {link}".into(),
        },
    );
    m.insert(
        "de".into(),
        Templates {
            confirmation: "{clinic}: Ihr Video-Termin ist am {date} um {time}. Teilnehmen: {link}".into(),
            changed: "{clinic}: Ihr Video-Termin wurde auf {date}, {time} verlegt. Teilnehmen: {link}".into(),
            cancelled: "{clinic}: Ihr Video-Termin am {date} um {time} wurde abgesagt.".into(),
            reminder: "{clinic}: Erinnerung, Video-Termin {date} um {time}. Teilnehmen: {link}".into(),
            link: "{clinic}: Hier nehmen Sie am Video-Termin teil: {link}".into(),
        },
    );
    m
}

pub struct Fill<'a> {
    pub clinic: &'a str,
    pub date: &'a str,
    pub time: &'a str,
    pub link: &'a str,
}

pub fn render(template: &str, f: &Fill) -> String {
    template.replace("{clinic}", f.clinic).replace("{date}", f.date).replace("{time}", f.time).replace("{link}", f.link)
}

/// Placeholders a template uses that do not exist (shown next to the field).
pub fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        if !["clinic", "date", "time", "link"].contains(&name) {
            out.push(name.to_string());
        }
        rest = &rest[start + len + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_keys_are_stable() {
        // Stored in visit objects: these strings must never change.
        assert_eq!(MessageKind::Confirmation.delivery_key(Some("2026-01-01T09:00:00Z")), "confirmation");
        assert_eq!(MessageKind::Changed.delivery_key(Some("2026-01-01T09:00:00Z")), "changed:2026-01-01T09:00:00Z");
        assert_eq!(MessageKind::Cancelled.delivery_key(None), "cancelled");
        for k in ALL_KINDS {
            let serde = serde_json::to_value(k).unwrap();
            assert!(k.delivery_key(None).starts_with(serde.as_str().unwrap()));
        }
    }

    #[test]
    fn mobile_numbers_and_languages_from_a_patient() {
        let p = serde_json::json!({"telecom": [{"system": "phone", "use": "home", "value": "+18165550001"}, {"system": "phone", "use": "mobile", "value": "(816) 555-0100"}],
            "communication": [{"language": {"coding": [{"code": "de-DE"}]}}]});
        assert_eq!(mobile_number(&p).as_deref(), Some("+18165550100"));
        assert_eq!(patient_language(&p), "de");
        assert_eq!(
            mobile_number(&serde_json::json!({"telecom": [{"system": "sms", "value": "+4915112345678"}]})).as_deref(),
            Some("+4915112345678")
        );
        assert_eq!(mobile_number(&serde_json::json!({"telecom": [{"system": "phone", "use": "mobile", "value": "12"}]})), None);
        assert_eq!(patient_language(&serde_json::json!({})), "en");
    }

    #[test]
    fn gsm7_boundaries_and_extension_characters() {
        assert_eq!(segments(&"a".repeat(160)), SegmentCount { encoding: Encoding::Gsm7, units: 160, segments: 1 });
        assert_eq!(segments(&"a".repeat(161)).segments, 2);
        assert_eq!(segments(&"a".repeat(306)).segments, 2);
        assert_eq!(segments(&"a".repeat(307)).segments, 3);
        assert_eq!(segments("€").units, 2);
        assert_eq!(segments(&format!("{}{{", "a".repeat(159))).segments, 2, "extension char costs two");
        assert_eq!(segments("Grüße aus Köln").encoding, Encoding::Gsm7, "ü, ö and ß are GSM-7");
    }

    #[test]
    fn ucs2_boundaries() {
        assert_eq!(segments(&"ł".repeat(70)), SegmentCount { encoding: Encoding::Ucs2, units: 70, segments: 1 });
        assert_eq!(segments(&"ł".repeat(71)).segments, 2);
        assert_eq!(segments(&"ł".repeat(134)).segments, 2);
        assert_eq!(segments(&"ł".repeat(135)).segments, 3);
        assert_eq!(segments("🙂").units, 2, "surrogate pair");
    }

    #[test]
    fn default_templates_fit_one_segment_with_the_link() {
        let fill = Fill {
            clinic: "Lakeside Health Virtual Care",
            date: "Wed 23 Nov 2026",
            time: "14:30",
            link: "https://visits.lakeside-health.org/j/AbCdEf123456",
        };
        for (lang, t) in default_templates() {
            for kind in [MessageKind::Confirmation, MessageKind::Changed, MessageKind::Cancelled, MessageKind::Reminder, MessageKind::Link]
            {
                let text = render(t.get(kind), &fill);
                let count = segments(&text);
                assert_eq!(count.segments, 1, "{lang} {kind:?}: {text} ({count:?})");
                assert_eq!(count.encoding, Encoding::Gsm7, "{lang} {kind:?}");
                assert!(unknown_placeholders(t.get(kind)).is_empty());
            }
        }
        assert_eq!(unknown_placeholders("Hi {name}, {link} {date"), ["name"]);
    }
}

/// A tenant's SMS set-up. Nothing is sent until both consents are given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSettings {
    /// The organisation allows Visitgate to send texts on its behalf.
    #[serde(default)]
    pub consent_send_on_behalf: bool,
    /// The organisation has the attendees' consent to receive texts.
    #[serde(default)]
    pub consent_attendees: bool,
    pub provider: SmsProvider,
    /// Numbers the organisation owns (E.164).
    #[serde(default)]
    pub numbers: Vec<String>,
    /// FHIR base id → the number it sends from (each base at most one).
    #[serde(default)]
    pub base_numbers: BTreeMap<String, String>,
    #[serde(default = "default_offsets")]
    pub reminder_offsets_minutes: Vec<u32>,
    #[serde(default = "default_templates")]
    pub templates: BTreeMap<String, Templates>,
    /// How messages name the sender, e.g. "Lakeside Health".
    #[serde(default)]
    pub clinic_name: String,
    /// IANA time zone the texts give appointment times in.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// The clinic's phone, shown to a patient whose link has expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinic_phone: Option<String>,
}

pub(crate) fn utc() -> String {
    "UTC".into()
}

fn default_offsets() -> Vec<u32> {
    vec![24 * 60, 15]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SmsProvider {
    /// Twilio Programmable Messaging (REST 2010-04-01).
    Twilio {
        account_sid: String,
        /// Worker secret with the auth token.
        auth_token_ref: String,
        #[serde(default = "twilio_api")]
        api_base: String,
    },
    /// Azure Communication Services SMS (REST 2021-03-07, HMAC-signed).
    Acs {
        /// The Communication Services resource, e.g. `https://x.communication.azure.com`.
        endpoint: String,
        /// Worker secret with the resource's access key (base64).
        access_key_ref: String,
    },
}

fn twilio_api() -> String {
    "https://api.twilio.com".into()
}

/// The gateway's own secrets and settings: never usable by a tenant's
/// settings (they would be sent wherever those settings point).
pub const RESERVED_SECRETS: [&str; 7] = [
    "ADMIN_TOKEN_SHA256",
    "LAUNCH_COOKIE_KEY",
    "APPOINTMENT_REF_KEY",
    "CLIENT_ASSERTION_KEY",
    "SECRETS_KEY",
    "ADMIN_OIDC",
    "ADMIN_OIDC_CLIENT_SECRET",
];

/// A secret's name as the settings refer to it (a Worker secret, or one
/// stored in the portal): capital letters, digits, '_'; not a reserved one.
pub fn is_secret_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED_SECRETS.contains(&r)
}

pub fn is_e164(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or_default();
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// The patient's mobile number from a FHIR Patient, normalised to E.164.
pub fn mobile_number(patient: &serde_json::Value) -> Option<String> {
    let telecom = patient["telecom"].as_array()?;
    telecom
        .iter()
        .find(|t| t["system"] == "phone" && t["use"] == "mobile")
        .or_else(|| telecom.iter().find(|t| t["system"] == "sms"))
        .and_then(|t| t["value"].as_str())
        .map(|v| {
            let digits: String = v.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
            // North American numbers are often written without the country code.
            if !digits.starts_with('+') && digits.len() == 10 {
                format!("+1{digits}")
            } else {
                digits
            }
        })
        .filter(|n| is_e164(n))
}

/// The patient's language for messages: German when the EHR says so, else English.
pub fn patient_language(patient: &serde_json::Value) -> &'static str {
    match patient.pointer("/communication/0/language/coding/0/code").and_then(|c| c.as_str()) {
        Some(c) if c.starts_with("de") => "de",
        _ => "en",
    }
}

impl SmsSettings {
    /// Problems as `(field, message)`; `bases` are the tenant's FHIR base ids.
    pub fn problems(&self, bases: &[&str], dev_mode: bool, allowed_hosts: &[String]) -> Vec<(String, String)> {
        let mut out = vec![];
        for n in &self.numbers {
            if !is_e164(n) {
                out.push(("numbers".into(), format!("{n} is not an international number like +15551234567.")));
            }
        }
        if let Some(p) = &self.clinic_phone {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            if !(6..=15).contains(&digits) || !p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
                out.push(("clinic_phone".into(), "Give the clinic's phone as digits, e.g. +1 816 555 0100.".into()));
            }
        }
        for (base, number) in &self.base_numbers {
            if !bases.contains(&base.as_str()) {
                out.push(("base_numbers".into(), format!("There is no FHIR base with id {base}.")));
            }
            if !self.numbers.contains(number) {
                out.push(("base_numbers".into(), format!("{number} is not one of the organisation's numbers.")));
            }
        }
        for (lang, t) in &self.templates {
            for kind in ALL_KINDS {
                for p in unknown_placeholders(t.get(kind)) {
                    out.push((
                        format!("templates.{lang}"),
                        format!("{{{p}}} is not a placeholder; use {{clinic}}, {{date}}, {{time}} or {{link}}."),
                    ));
                }
            }
        }
        match &self.provider {
            SmsProvider::Twilio { account_sid, auth_token_ref, api_base } => {
                if !account_sid.starts_with("AC") || account_sid.len() != 34 {
                    out.push(("provider.account_sid".into(), "A Twilio Account SID starts with AC and has 34 characters.".into()));
                }
                if !is_secret_name(auth_token_ref) {
                    out.push((
                        "provider.auth_token_ref".into(),
                        "Name the secret that holds the auth token (capital letters, digits, '_'; not one of Visitgate's own keys).".into(),
                    ));
                }
                if let Some(why) = endpoint_problem(Provider::Twilio, api_base, dev_mode, allowed_hosts) {
                    out.push(("provider.api_base".into(), why));
                }
            }
            SmsProvider::Acs { endpoint, access_key_ref } => {
                if let Some(why) = endpoint_problem(Provider::Acs, endpoint, dev_mode, allowed_hosts) {
                    out.push(("provider.endpoint".into(), why));
                }
                if !is_secret_name(access_key_ref) {
                    out.push((
                        "provider.access_key_ref".into(),
                        "Name the secret that holds the access key (capital letters, digits, '_'; not one of Visitgate's own keys).".into(),
                    ));
                }
            }
        }
        out
    }

    /// Sending is allowed only with both consents.
    pub fn may_send(&self) -> bool {
        self.consent_send_on_behalf && self.consent_attendees
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    fn settings() -> SmsSettings {
        serde_json::from_value(serde_json::json!({
            "provider": {"kind": "twilio", "account_sid": format!("AC{}", "0".repeat(32)), "auth_token_ref": "TWILIO_TOKEN"},
            "numbers": ["+15005550006"], "base_numbers": {"fb-1": "+15005550006"}
        }))
        .unwrap()
    }

    #[test]
    fn defaults_and_consents() {
        let s = settings();
        assert_eq!(s.reminder_offsets_minutes, [1440, 15]);
        assert!(s.templates.contains_key("de"));
        assert!(!s.may_send(), "no consent, no texts");
        assert!(s.problems(&["fb-1"], false, &[]).is_empty());
    }

    #[test]
    fn problems_name_their_field() {
        let mut s = settings();
        s.numbers.push("555-0100".into());
        s.base_numbers.insert("fb-9".into(), "+15550000000".into());
        s.templates.get_mut("en").unwrap().reminder = "Hi {name}".into();
        let fields: Vec<String> = s.problems(&["fb-1"], false, &[]).into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["numbers", "base_numbers", "base_numbers", "templates.en"]);
        assert!(is_e164("+4930123456") && !is_e164("+0123456789") && !is_e164("12345678"));
    }
}

/// What an inbound text asks for. The carriers' standard keywords, matched
/// on the whole message as Twilio and ACS do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
    Other,
}

pub fn keyword(body: &str) -> Keyword {
    match body.trim().trim_end_matches(['.', '!']).to_ascii_uppercase().as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" | "STOPP" => Keyword::Stop,
        "START" | "YES" | "UNSTOP" | "OPTIN" => Keyword::Start,
        "HELP" | "INFO" | "HILFE" => Keyword::Help,
        _ => Keyword::Other,
    }
}

/// The answer to HELP: who is texting and how to stop it.
pub fn help_reply(clinic: &str, lang: &str) -> String {
    if lang == "de" {
        format!("{clinic}: Nachrichten zu Ihren Video-Terminen. Antworten Sie STOP, um keine SMS mehr zu erhalten, START für wieder an.")
    } else {
        format!("{clinic}: texts about your video visits. Reply STOP to opt out, START to opt back in. Msg&data rates may apply.")
    }
}

#[cfg(test)]
mod keyword_tests {
    use super::*;

    #[test]
    fn keywords() {
        assert_eq!(keyword(" stop "), Keyword::Stop);
        assert_eq!(keyword("Stop."), Keyword::Stop);
        assert_eq!(keyword("unsubscribe"), Keyword::Stop);
        assert_eq!(keyword("START"), Keyword::Start);
        assert_eq!(keyword("help"), Keyword::Help);
        assert_eq!(keyword("stop texting me about the visit"), Keyword::Other, "only the whole message counts");
        assert_eq!(segments(&help_reply("Lakeside Health Virtual Care", "en")).segments, 1);
    }
}
