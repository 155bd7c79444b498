//! The one message builder: a text or an email to one patient about one
//! visit, from the tenant's settings and the Patient read from the EHR at
//! send time. Used by the scheduled job and by the clinician's "Send link".
//! What it returns lives only until the visit object has sent it.

use serde_json::Value;
use shared::email::{render_email, EmailSettings};
use shared::sms::{mobile_number, patient_language, render, Fill, MessageKind, SmsSettings};
use shared::tenant::Tenant;

use crate::visit::client::{EmailOut, SmsOut};

/// Why a channel cannot be used for this patient: recorded on the visit,
/// or (for "Send link") shown to the clinician.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    NoMobile,
    NoEmail,
    NoSmsTemplate,
    NoEmailTemplate,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Problem::NoMobile => "no mobile number in the EHR",
            Problem::NoEmail => "no email address in the EHR",
            Problem::NoSmsTemplate => "no message template",
            Problem::NoEmailTemplate => "no email template",
        })
    }
}

/// What one message is about, whoever sends it.
pub struct About<'a> {
    pub tenant: &'a Tenant,
    pub base_id: &'a str,
    pub visit_ref: &'a str,
    pub kind: MessageKind,
    /// The patient link (`{origin}/j/{code}`).
    pub link: String,
    /// The time the message tells, if it tells one.
    pub start: Option<&'a str>,
    /// Where the gateway's webhooks are (`PUBLIC_ORIGIN`).
    pub origin: &'a str,
}

pub fn patient_link(origin: &str, code: &str) -> String {
    format!("{origin}{}{code}", shared::integration::PATIENT_LINK_PATH)
}

pub fn sms(about: &About<'_>, settings: &SmsSettings, patient: &Value) -> Result<SmsOut, Problem> {
    let to = mobile_number(patient).ok_or(Problem::NoMobile)?;
    let lang = patient_language(patient);
    let templates = settings.templates.get(lang).or_else(|| settings.templates.get("en")).ok_or(Problem::NoSmsTemplate)?;
    let (date, time) = about.start.map(|s| local_date_time(s, &settings.time_zone, lang)).unwrap_or_default();
    let clinic = if settings.clinic_name.is_empty() { about.tenant.display_name.as_str() } else { settings.clinic_name.as_str() };
    let body = render(templates.get(about.kind), &Fill { clinic, date: &date, time: &time, link: &about.link });
    let from = settings.base_numbers.get(about.base_id).cloned().unwrap_or_default();
    let status_callback = format!("{}/webhooks/sms/status/{}/{}", about.origin, about.tenant.id, about.visit_ref);
    Ok(SmsOut { provider: settings.provider.clone(), from, to, body, status_callback })
}

pub fn email(about: &About<'_>, settings: &EmailSettings, patient: &Value) -> Result<EmailOut, Problem> {
    let to = shared::email::patient_email(patient).ok_or(Problem::NoEmail)?;
    let lang = patient_language(patient);
    let templates = settings.templates.get(lang).or_else(|| settings.templates.get("en")).ok_or(Problem::NoEmailTemplate)?;
    let (date, time) = about.start.map(|s| local_date_time(s, &settings.time_zone, lang)).unwrap_or_default();
    let clinic = if settings.from_name.is_empty() { about.tenant.display_name.as_str() } else { settings.from_name.as_str() };
    let body = render_email(templates, about.kind, &Fill { clinic, date: &date, time: &time, link: &about.link }, lang);
    Ok(EmailOut { provider: settings.provider.clone(), to, from_name: clinic.to_string(), body })
}

/// Date and time of the appointment in the organisation's time zone.
fn local_date_time(start: &str, time_zone: &str, lang: &str) -> (String, String) {
    // A zone the runtime does not know would throw: such a setting must never
    // stop the job for anyone, so the time is given in UTC instead.
    let time_zone = if crate::clock::is_time_zone(time_zone) { time_zone } else { "UTC" };
    let d = js_sys::Date::new(&start.into());
    if d.get_time().is_nan() {
        return (String::new(), String::new());
    }
    let opts = |pairs: &[(&str, &str)]| {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
        }
        o.into()
    };
    let date =
        d.to_locale_date_string(lang, &opts(&[("timeZone", time_zone), ("weekday", "short"), ("day", "numeric"), ("month", "short")]));
    let time = d.to_locale_time_string_with_options(lang, &opts(&[("timeZone", time_zone), ("hour", "2-digit"), ("minute", "2-digit")]));
    (date.into(), time.into())
}
