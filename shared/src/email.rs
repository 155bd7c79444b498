//! Email notifications: settings, templates and the two bodies (plain text
//! and HTML) made from one template, so they always say the same thing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sms::{render, unknown_placeholders, Fill, MessageKind, Templates, ALL_KINDS};

/// A tenant's email set-up, a switch of its own beside SMS. Nothing is sent
/// until both consents are given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    #[serde(default)]
    pub enabled: bool,
    /// The organisation allows Visitgate to send email on its behalf.
    #[serde(default)]
    pub consent_send_on_behalf: bool,
    /// The organisation has the attendees' consent to receive email.
    #[serde(default)]
    pub consent_attendees: bool,
    pub provider: EmailProvider,
    /// The sender's display name, e.g. "Lakeside Health".
    #[serde(default)]
    pub from_name: String,
    /// IANA time zone the emails give appointment times in.
    #[serde(default = "crate::sms::utc")]
    pub time_zone: String,
    #[serde(default = "default_email_templates")]
    pub templates: BTreeMap<String, EmailTemplates>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmailProvider {
    /// Azure Communication Services Email (REST 2023-03-31, HMAC-signed).
    AcsEmail {
        /// The Communication Services resource, e.g. `https://x.communication.azure.com`.
        endpoint: String,
        /// Worker secret with the resource's access key (base64).
        access_key_ref: String,
        /// A sender on a verified domain, e.g. `DoNotReply@mail.example.org`.
        sender_address: String,
    },
    /// SendGrid v3 `mail/send`.
    SendGrid {
        #[serde(default = "sendgrid_api")]
        api_base: String,
        /// Worker secret with the API key.
        api_key_ref: String,
        from_email: String,
    },
}

fn sendgrid_api() -> String {
    "https://api.sendgrid.com".into()
}

/// Subject and text per message kind for one language. The HTML body is the
/// text in a fixed layout with the link as a button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplates {
    pub subject: Templates,
    pub text: Templates,
}

pub fn default_email_templates() -> BTreeMap<String, EmailTemplates> {
    let t = |c: &str, ch: &str, ca: &str, r: &str, l: &str| Templates {
        confirmation: c.into(),
        changed: ch.into(),
        cancelled: ca.into(),
        reminder: r.into(),
        link: l.into(),
    };
    let mut m = BTreeMap::new();
    m.insert(
        "en".into(),
        EmailTemplates {
            subject: t(
                "Your video visit on {date} at {time}",
                "Your video visit has moved to {date} at {time}",
                "Your video visit on {date} was cancelled",
                "Reminder: video visit {date} at {time}",
                "Your video visit link",
            ),
            text: t(
                "Hello,\n\n{clinic} has booked a video visit for you on {date} at {time}.\n\nJoin from your phone or computer with this link, no app or account needed:\n{link}",
                "Hello,\n\nYour video visit with {clinic} has moved to {date} at {time}. The earlier link no longer works; use this one:\n{link}",
                "Hello,\n\nYour video visit with {clinic} on {date} at {time} was cancelled. Please contact the clinic to book a new time.",
                "Hello,\n\nThis is a reminder of your video visit with {clinic} on {date} at {time}.\n\nJoin with this link:\n{link}",
                "Hello,\n\n{clinic} is ready for your video visit. Join with this link:\n{link}",
            ),
        },
    );
    m.insert(
        "de".into(),
        EmailTemplates {
            subject: t(
                "Ihr Video-Termin am {date} um {time}",
                "Ihr Video-Termin wurde auf {date} um {time} verlegt",
                "Ihr Video-Termin am {date} wurde abgesagt",
                "Erinnerung: Video-Termin {date} um {time}",
                "Ihr Link zum Video-Termin",
            ),
            text: t(
                "Guten Tag,\n\n{clinic} hat für Sie einen Video-Termin am {date} um {time} gebucht.\n\nTeilnehmen können Sie mit diesem Link vom Telefon oder Computer, ohne App oder Konto:\n{link}",
                "Guten Tag,\n\nIhr Video-Termin bei {clinic} wurde auf {date} um {time} verlegt. Der frühere Link gilt nicht mehr; bitte nutzen Sie diesen:\n{link}",
                "Guten Tag,\n\nIhr Video-Termin bei {clinic} am {date} um {time} wurde abgesagt. Bitte wenden Sie sich für einen neuen Termin an die Praxis.",
                "Guten Tag,\n\nwir erinnern an Ihren Video-Termin bei {clinic} am {date} um {time}.\n\nTeilnehmen:\n{link}",
                "Guten Tag,\n\n{clinic} ist bereit für Ihren Video-Termin. Teilnehmen:\n{link}",
            ),
        },
    );
    m
}

/// One email, ready for any provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailBody {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Renders subject, plain text and HTML for one message. In the HTML every
/// value is escaped and the line holding the link becomes a button.
pub fn render_email(t: &EmailTemplates, kind: MessageKind, fill: &Fill, lang: &str) -> EmailBody {
    let subject = render(t.subject.get(kind), fill).replace(['\r', '\n'], " ");
    let text = render(t.text.get(kind), fill);
    let button = if lang == "de" { "Zum Video-Termin" } else { "Join the video visit" };
    let mut html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>",
        escape_html(lang),
        escape_html(&subject)
    );
    html.push_str(
        "<body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:36rem;margin:auto;padding:1rem\">",
    );
    let href = escape_html(fill.link);
    let link_button = format!(
        "<a href=\"{href}\" style=\"display:inline-block;margin:.5rem 0;background:#0b5cad;color:#fff;padding:.6rem 1.2rem;border-radius:.3rem;text-decoration:none\">{button}</a><br><span style=\"font-size:.85rem;color:#555\">{href}</span>"
    );
    for para in text.split("\n\n") {
        let lines: Vec<String> = para
            .lines()
            .map(|l| if !fill.link.is_empty() && l.trim() == fill.link { link_button.clone() } else { escape_html(l) })
            .collect();
        html.push_str(&format!("<p>{}</p>", lines.join("<br>")));
    }
    html.push_str("</body></html>");
    EmailBody { subject, text, html }
}

pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
}

impl EmailSettings {
    pub fn may_send(&self) -> bool {
        self.enabled && self.consent_send_on_behalf && self.consent_attendees
    }

    /// Problems as `(field, message)`.
    pub fn problems(&self, dev_mode: bool, allowed_hosts: &[String]) -> Vec<(String, String)> {
        let mut out = vec![];
        for (lang, t) in &self.templates {
            for kind in ALL_KINDS {
                for p in unknown_placeholders(t.subject.get(kind)).into_iter().chain(unknown_placeholders(t.text.get(kind))) {
                    out.push((
                        format!("templates.{lang}"),
                        format!("{{{p}}} is not a placeholder; use {{clinic}}, {{date}}, {{time}} or {{link}}."),
                    ));
                }
            }
        }
        match &self.provider {
            EmailProvider::AcsEmail { endpoint, access_key_ref, sender_address } => {
                if let Some(why) = crate::providers::endpoint_problem(crate::providers::Provider::Acs, endpoint, dev_mode, allowed_hosts) {
                    out.push(("provider.endpoint".into(), why));
                }
                if !crate::sms::is_secret_name(access_key_ref) {
                    out.push((
                        "provider.access_key_ref".into(),
                        "Name the Worker secret that holds the access key (capital letters, digits, '_').".into(),
                    ));
                }
                if !is_email(sender_address) {
                    out.push(("provider.sender_address".into(), "The sender must be an address like DoNotReply@mail.example.org.".into()));
                }
            }
            EmailProvider::SendGrid { api_base, api_key_ref, from_email } => {
                if let Some(why) =
                    crate::providers::endpoint_problem(crate::providers::Provider::SendGrid, api_base, dev_mode, allowed_hosts)
                {
                    out.push(("provider.api_base".into(), why));
                }
                if !crate::sms::is_secret_name(api_key_ref) {
                    out.push((
                        "provider.api_key_ref".into(),
                        "Name the Worker secret that holds the API key (capital letters, digits, '_').".into(),
                    ));
                }
                if !is_email(from_email) {
                    out.push(("provider.from_email".into(), "The sender must be an address like visits@example.org.".into()));
                }
            }
        }
        out
    }
}

/// The patient's email address from a FHIR Patient, if any.
pub fn patient_email(patient: &serde_json::Value) -> Option<String> {
    let telecom = patient["telecom"].as_array()?;
    telecom
        .iter()
        .filter(|t| t["system"] == "email")
        .min_by_key(|t| match t["use"].as_str() {
            Some("home") => 0,
            Some("work") => 2,
            Some("old") => 9,
            _ => 1,
        })
        .and_then(|t| t["value"].as_str())
        .map(|v| v.trim().to_string())
        .filter(|v| is_email(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill() -> Fill<'static> {
        Fill { clinic: "Lakeside <Health>", date: "Mon, Nov 23", time: "09:30", link: "https://v.example.org/j/AbCdEf123456" }
    }

    #[test]
    fn html_and_text_say_the_same_and_escape() {
        let t = &default_email_templates()["en"];
        let e = render_email(t, MessageKind::Confirmation, &fill(), "en");
        assert_eq!(e.subject, "Your video visit on Mon, Nov 23 at 09:30");
        assert!(e.text.contains("Lakeside <Health> has booked"));
        assert!(e.text.ends_with("https://v.example.org/j/AbCdEf123456"));
        assert!(e.html.contains("Lakeside &lt;Health&gt; has booked"));
        assert!(!e.html.contains("<Health>"));
        assert!(e.html.contains("<a href=\"https://v.example.org/j/AbCdEf123456\""));
        assert!(e.html.contains("Join the video visit"));
        let de = render_email(&default_email_templates()["de"], MessageKind::Reminder, &fill(), "de");
        assert!(de.html.contains("Zum Video-Termin") && de.subject.starts_with("Erinnerung"));
    }

    #[test]
    fn defaults_have_no_unknown_placeholders() {
        for t in default_email_templates().values() {
            for kind in ALL_KINDS {
                assert!(unknown_placeholders(t.subject.get(kind)).is_empty());
                assert!(unknown_placeholders(t.text.get(kind)).is_empty());
            }
        }
    }

    #[test]
    fn settings_rules() {
        let mut s: EmailSettings = serde_json::from_value(serde_json::json!({
            "enabled": true,
            "provider": {"kind": "send_grid", "api_key_ref": "SENDGRID_KEY", "from_email": "visits@example.org"}
        }))
        .unwrap();
        assert!(!s.may_send(), "no consent, no email");
        assert!(s.problems(false, &[]).is_empty());
        s.provider = EmailProvider::AcsEmail { endpoint: "http://x".into(), access_key_ref: "k".into(), sender_address: "nope".into() };
        let fields: Vec<String> = s.problems(false, &[]).into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["provider.endpoint", "provider.access_key_ref", "provider.sender_address"]);
    }

    #[test]
    fn email_from_telecom() {
        let p = serde_json::json!({"telecom": [
            {"system": "phone", "value": "+15555550100"},
            {"system": "email", "value": "old@example.org", "use": "old"},
            {"system": "email", "value": " pat@example.org ", "use": "home"}
        ]});
        assert_eq!(patient_email(&p).as_deref(), Some("pat@example.org"));
        assert_eq!(patient_email(&serde_json::json!({"telecom": [{"system": "email", "value": "bad"}]})), None);
        assert!(is_email("a.b@c.de") && !is_email("a@b") && !is_email("a b@c.de"));
    }
}
