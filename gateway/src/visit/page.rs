//! The clinician's visit page: the appointment, Join (browser or app),
//! Send link, End visit, and the live status its script follows over a
//! WebSocket. No inline script: the script is a file (`LIVE_JS`).

use super::client::{Event, Status};
use crate::ctx::Ctx;
use crate::pages::{escape, page_html};

/// The page's policy: framed only by the tenant's EHR origins (none unless
/// set), and its forms post only here, or on into the meeting (a Join's
/// redirect counts as the form's target).
pub fn csp(frame_ancestors: &[String], meeting_url: Option<&str>) -> String {
    let ancestors = if frame_ancestors.is_empty() { "'none'".to_string() } else { frame_ancestors.join(" ") };
    let meeting =
        meeting_url.and_then(|u| url::Url::parse(u).ok()).map(|u| format!(" {}", u.origin().ascii_serialization())).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'{meeting}"
    )
}

pub fn provider_page(ctx: &Ctx, visit_ref: &str, status: &Status) -> String {
    let info = status.info.clone();
    let when = info.as_ref().and_then(|i| i.start.clone()).unwrap_or_default();
    let appt = info.as_ref().map(|i| i.appointment_status.clone()).unwrap_or_default();
    let join = status.meeting.as_ref().map(|m| {
        let app = m
            .app_url
            .as_ref()
            .map(|u| format!(" <a class=\"button secondary\" href=\"{}\">Join in the Teams app</a>", escape(u)))
            .unwrap_or_default();
        format!(
            "<form method=\"post\" action=\"/visit/{}/join\"><button type=\"submit\" class=\"button\">Join in browser</button>{app}</form>",
            escape(visit_ref)
        )
    });
    let link = status
        .link_code
        .as_ref()
        .map(|c| {
            let url = format!("{}{}{c}", ctx.origin, shared::integration::PATIENT_LINK_PATH);
            format!("<p>Patient link: <a href=\"{u}\" id=\"patient-link\">{u}</a></p>", u = escape(&url))
        })
        .unwrap_or_default();
    let events: String = status.events.iter().rev().map(event_item).collect();
    let body = format!(
        "<p>Appointment <time id=\"when\" datetime=\"{w}\">{w}</time> · status <strong>{s}</strong></p>{join}{link}\
         <form method=\"post\" action=\"/visit/{r}/send-link\"><input type=\"hidden\" name=\"nonce\" value=\"{nonce}\"><button type=\"submit\">Send link to patient</button> <span class=\"code\">by text message, to the mobile number in the EHR</span></form>\
         <form method=\"post\" action=\"/visit/{r}/end\"><button type=\"submit\" class=\"secondary\">End visit</button> <span class=\"code\">when you are done: marks the visit finished for the reports</span></form>\
         <h2>Live status</h2><ul id=\"events\" aria-live=\"polite\" data-visit=\"{r}\">{events}</ul>\
         <script src=\"/visit/live.js\" defer></script>",
        w = escape(&when),
        s = escape(&appt),
        join = join.unwrap_or_else(|| "<p>The meeting is being prepared…</p>".into()),
        r = escape(visit_ref),
        nonce = crate::crypto::random_token(12),
    );
    page_html("Video visit", &body)
}

fn event_item(e: &Event) -> String {
    let what = match e.kind.as_str() {
        "provider_launch" => "Clinician opened the visit from the EHR".to_string(),
        "meeting_created" => "Meeting created".to_string(),
        "write_back_ok" => "Meeting links saved in the EHR appointment".to_string(),
        "write_back_failed" => format!("Could not save the meeting links in the EHR ({})", e.detail.clone().unwrap_or_default()),
        "write_back_skipped" => format!("Meeting links not saved in the EHR: {}", e.detail.clone().unwrap_or_default()),
        "meeting_replaced" => "New meeting made for the appointment's new time".to_string(),
        "provider_joined" => "Clinician joined the meeting".to_string(),
        "patient_link_opened" => "Patient opened the link".to_string(),
        "device_check_passed" => "Patient's camera and microphone work".to_string(),
        "device_check_failed" => "Patient's camera or microphone check failed".to_string(),
        "patient_lobby_arrival" => "Patient is waiting in the lobby".to_string(),
        "patient_admitted" => "Patient let into the meeting".to_string(),
        "sms_sent" => "Link sent to the patient by text".to_string(),
        "sms_failed" => format!("The text to the patient failed ({})", e.detail.clone().unwrap_or_default()),
        "sms_delivered" => "The text reached the patient's phone".to_string(),
        "sms_skipped" => format!("No text sent: {}", e.detail.clone().unwrap_or_default()),
        "sms_undelivered" => format!("The text did not reach the patient's phone ({})", e.detail.clone().unwrap_or_default()),
        "email_sent" => "Link sent to the patient by email".to_string(),
        "patient_left" => "Patient left the lobby".to_string(),
        "visit_ended" => "Visit ended by the clinician".to_string(),
        "email_failed" => format!("The email to the patient failed ({})", e.detail.clone().unwrap_or_default()),
        other => other.replace('_', " "),
    };
    format!("<li><time datetime=\"{at}\">{at}</time> {}</li>", escape(&what), at = escape(&e.at))
}

/// The provider page's script: follows the visit over a WebSocket, polling
/// `status` when sockets are unavailable. Served as a file (no inline script).
pub const LIVE_JS: &str = r#"(() => {
  const list = document.getElementById('events');
  if (!list) return;
  const base = location.pathname.replace(/\/$/, '');
  const label = e => ({provider_launch: 'Clinician opened the visit from the EHR', meeting_created: 'Meeting created',
    write_back_ok: 'Meeting links saved in the EHR appointment',
    write_back_failed: 'Could not save the meeting links in the EHR (' + (e.detail || '') + ')',
    write_back_skipped: 'Meeting links not saved in the EHR: ' + (e.detail || ''),
    meeting_replaced: "New meeting made for the appointment's new time",
    provider_joined: 'Clinician joined the meeting', patient_link_opened: 'Patient opened the link',
    device_check_passed: "Patient's camera and microphone work", device_check_failed: "Patient's camera or microphone check failed",
    patient_lobby_arrival: 'Patient is waiting in the lobby', patient_admitted: 'Patient let into the meeting',
    sms_sent: 'Link sent to the patient by text', sms_failed: 'The text to the patient failed (' + (e.detail || '') + ')',
    sms_delivered: "The text reached the patient's phone", sms_undelivered: "The text did not reach the patient's phone (" + (e.detail || '') + ')',
    email_sent: 'Link sent to the patient by email', patient_left: 'Patient left the lobby', visit_ended: 'Visit ended by the clinician', email_failed: 'The email to the patient failed (' + (e.detail || '') + ')'})[e.kind] || e.kind.replace(/_/g, ' ');
  const fmt = iso => { const d = new Date(iso); return isNaN(d) ? iso : d.toLocaleString(); };
  const render = s => {
    list.replaceChildren(...s.events.slice().reverse().map(e => {
      const li = document.createElement('li'); const t = document.createElement('time');
      t.dateTime = e.at; t.textContent = fmt(e.at); li.append(t, ' ' + label(e)); return li; }));
  };
  const when = document.getElementById('when'); if (when && when.dateTime) when.textContent = fmt(when.dateTime);
  list.querySelectorAll('time').forEach(t => { t.textContent = fmt(t.dateTime); });
  const poll = () => fetch(base + '/status', {credentials: 'same-origin'}).then(r => r.ok ? r.json() : null).then(s => s && render(s)).catch(() => {});
  try {
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + base + '/live');
    ws.onmessage = m => render(JSON.parse(m.data));
    ws.onclose = () => setInterval(poll, 5000);
  } catch { setInterval(poll, 5000); }
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_only_by_the_tenants_ehr_and_forms_only_here_or_into_the_meeting() {
        let none = csp(&[], None);
        assert!(none.contains("frame-ancestors 'none';") && none.ends_with("form-action 'self'"));
        let ehr = csp(&["https://ehr.example.org".into()], Some("https://teams.microsoft.com/l/meetup-join/x?y=1"));
        assert!(ehr.contains("frame-ancestors https://ehr.example.org;"));
        assert!(ehr.ends_with("form-action 'self' https://teams.microsoft.com"));
    }
}
