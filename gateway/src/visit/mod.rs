//! One video visit (one appointment): its Durable Object holds the meeting
//! and the live events (no patient data: it is named by a keyed hash of the
//! appointment, and events carry only the EHR user id); the provider page
//! shows it and follows it over a WebSocket.

use futures_util::future::join;
use futures_util::lock::Mutex;
use serde::{Deserialize, Serialize};
use shared::appointment::{parse, write_back_patch, VideoVisit};
use shared::tenant::IssEntry;
use shared::video::VideoSettings;
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Stub, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::crypto::{keyed_hash_hex, random_bytes, sha256_hex};
use crate::error::{Error, Result};
use crate::launch::cookie::{self, Expiring, OpenError, VISIT_PURPOSE};
use crate::launch::fhir;
use crate::launch::token::{AccessToken, TokenResponse};
use crate::meeting::{create_or_get, Meeting, MeetingRequest};
use crate::pages::{escape, page_html};
use crate::storage::kv;
use crate::Ctx;

pub mod deliver;
pub use deliver::{Channel, Delivery, DeliveryReply, Due, DueRequest, EmailOut, SmsOut};

pub const BINDING: &str = "VISIT";
/// How soon new events reach the reports (batched per visit).
const REPORT_DELAY_MS: i64 = 2_000;
pub const REF_KEY_SECRET: &str = "APPOINTMENT_REF_KEY";
const PASS_COOKIE: &str = "vg_visit";
const PASS_TTL_SECS: u64 = 12 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ehr_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    pub fn new(kind: &str, ehr_user_id: Option<&str>, detail: Option<String>) -> Self {
        Event { kind: kind.into(), at: crate::now_iso(), ehr_user_id: ehr_user_id.map(str::to_string), detail }
    }
}

/// What the visit's object knows about the appointment: times and status only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitInfo {
    pub tenant_id: String,
    pub base_id: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub appointment_status: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    pub info: Option<VisitInfo>,
    pub meeting: Option<Meeting>,
    pub events: Vec<Event>,
    /// The patient link's code (`/j/{code}`).
    #[serde(default)]
    pub link_code: Option<String>,
}

impl Status {
    fn has(&self, kinds: &[&str]) -> bool {
        self.events.iter().any(|e| kinds.contains(&e.kind.as_str()))
    }

    fn waiting(&self) -> bool {
        patient_waiting(&self.events)
    }

    /// What the patient's page may know: where they are, and the patient
    /// join link once admitted. Never the provider's link or any EHR id.
    pub fn patient_view(&self) -> PatientView {
        let admitted = self.has(&["patient_admitted"]);
        PatientView {
            state: if admitted {
                "admitted"
            } else if self.waiting() {
                "waiting"
            } else {
                "not_arrived"
            }
            .into(),
            url: admitted.then(|| self.meeting.as_ref().map(|m| m.patient_url.clone())).flatten(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientView {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Kinds of events the patient's page may record.
pub const PATIENT_EVENTS: [&str; 4] = ["patient_link_opened", "device_check_passed", "device_check_failed", "patient_left"];

/// In the lobby now: arrived, and not left since (a patient may leave and come back).
fn patient_waiting(events: &[Event]) -> bool {
    events.iter().rev().find(|e| e.kind == "patient_lobby_arrival" || e.kind == "patient_left").is_some_and(|e| e.kind == "patient_lobby_arrival")
}
/// The clinician is in the meeting: pressed Join, or was sent straight in.
const PROVIDER_PRESENT: [&str; 1] = ["provider_joined"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenReply {
    pub meeting: Meeting,
    pub link_code: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // built once per request and serialised at once
enum Command {
    Open { visit_ref: String, info: VisitInfo, video: VideoSettings, request: MeetingRequest, ehr_user_id: String },
    Event { event: Event },
    Status,
    PatientArrive,
    /// Delivers one message once per (key, channel): a repeated key answers
    /// what the first did.
    Deliver { delivery: Delivery },
    /// Which message, if any, is due now.
    Due { req: DueRequest },
}

fn stub(env: &Env, visit_ref: &str) -> Result<Stub> {
    Ok(env.durable_object(BINDING)?.get_by_name(visit_ref)?)
}

async fn call<T: serde::de::DeserializeOwned>(stub: &Stub, cmd: &Command) -> Result<T> {
    crate::storage::rpc::call(stub, "https://visit/command", cmd).await
}

pub async fn record(env: &Env, visit_ref: &str, event: Event) -> Result<()> {
    call::<serde_json::Value>(&stub(env, visit_ref)?, &Command::Event { event }).await.map(|_| ())
}

pub async fn patient_status(env: &Env, visit_ref: &str) -> Result<PatientView> {
    Ok(call::<Status>(&stub(env, visit_ref)?, &Command::Status).await?.patient_view())
}

pub async fn patient_arrive(env: &Env, visit_ref: &str) -> Result<PatientView> {
    call(&stub(env, visit_ref)?, &Command::PatientArrive).await
}

/// Forwards a WebSocket upgrade to the visit, as the patient or the provider.
pub async fn live(env: &Env, visit_ref: &str, req: Request, role: &str) -> Result<Response> {
    let headers = req.headers().clone();
    headers.set(ROLE_HEADER, role)?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let forwarded = Request::new_with_init("https://visit/live", &init)?;
    Ok(stub(env, visit_ref)?.fetch_with_request(forwarded).await?)
}

const ROLE_HEADER: &str = "x-visitgate-role";

/// The provider's pass to the visit page: sealed, path-scoped, 12 hours.
/// It carries the appointment's EHR id for "Send link to patient": held by
/// the clinician's browser (encrypted), never stored by the gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VisitPass {
    visit_ref: String,
    ehr_user_id: String,
    iss: String,
    appointment_id: String,
    expires_at: u64,
}

impl Expiring for VisitPass {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// A visit's name: a keyed hash of tenant, FHIR base and appointment id, so
/// storage and reports never hold the EHR's id in clear.
pub fn visit_ref(ctx: &Ctx, entry: &IssEntry, appointment_id: &str) -> Result<String> {
    let key = ctx.secret(REF_KEY_SECRET).ok_or_else(|| {
        Error::new(500, "launch_not_configured", format!("Visitgate's appointment key (Worker secret {REF_KEY_SECRET}) is not set up. Ask your Visitgate administrator."))
    })?;
    Ok(keyed_hash_hex(key.as_bytes(), &format!("{}|{}|{appointment_id}", entry.tenant_id, entry.base_id)))
}

pub async fn due(env: &Env, req: DueRequest) -> Result<Option<Due>> {
    let visit_ref = req.visit_ref.clone();
    call(&stub(env, &visit_ref)?, &Command::Due { req }).await
}

pub async fn deliver(env: &Env, delivery: Delivery) -> Result<DeliveryReply> {
    let visit_ref = delivery.visit_ref.clone();
    call(&stub(env, &visit_ref)?, &Command::Deliver { delivery }).await
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
            if !digits.starts_with('+') && digits.len() == 10 { format!("+1{digits}") } else { digits }
        })
        .filter(|n| shared::sms::is_e164(n))
}

/// The patient's language for texts: German when the EHR says so, else English.
pub fn patient_language(patient: &serde_json::Value) -> &'static str {
    match patient.pointer("/communication/0/language/coding/0/code").and_then(|c| c.as_str()) {
        Some(c) if c.starts_with("de") => "de",
        _ => "en",
    }
}

fn seen_key(ehr_user_id: &str) -> String {
    format!("ehr_user:{}", sha256_hex(ehr_user_id))
}

/// After the launch checks passed: find the appointment, get or create its
/// meeting, write the links back, and send the clinician on.
pub async fn launch_into_visit(ctx: &Ctx, entry: &IssEntry, iss: &str, token: &TokenResponse, fhir_user: &str, ehr_user_id: &str) -> Result<Response> {
    let video = entry.video.clone().ok_or_else(|| {
        Error::new(409, "video_not_configured", "Video meetings are not set up for this organisation yet. Ask your Visitgate administrator to choose a video provider in the admin portal.")
    })?;
    let store = kv::store(&ctx.env)?;
    // Independent reads in one batch: the appointment, and whether this clinician signed in before.
    let (found, seen) = join(fhir::appointment(iss, token, fhir_user), store.get(&seen_key(ehr_user_id)).text()).await;
    let (_, visit) = found?;
    let seen_before = matches!(seen, Ok(Some(_)));

    let visit_ref = visit_ref(ctx, entry, &visit.id)?;
    let appointment_id = visit.id.clone();
    let start = visit.start.clone().unwrap_or_else(crate::now_iso);
    let request = MeetingRequest {
        external_id: format!("visitgate-{}", &visit_ref[..32]),
        end: visit.end.clone().unwrap_or_else(|| start.clone()),
        start,
        subject: "Video visit".into(),
    };
    let info = VisitInfo {
        tenant_id: entry.tenant_id.clone(),
        base_id: entry.base_id.clone(),
        start: visit.start.clone(),
        end: visit.end.clone(),
        appointment_status: visit.status.clone(),
    };
    let visit_stub = stub(&ctx.env, &visit_ref)?;
    let opened: OpenReply = call(&visit_stub, &Command::Open { visit_ref: visit_ref.clone(), info, video, request, ehr_user_id: ehr_user_id.into() }).await?;
    let meeting = opened.meeting;

    if !seen_before {
        let key = seen_key(ehr_user_id);
        let value = serde_json::json!({ "ehr_user_id": ehr_user_id, "first_seen": crate::now_iso() }).to_string();
        ctx.background(async move {
            if let Ok(put) = store.put(&key, value) {
                let _ = put.execute().await;
            }
        });
    }
    let may_write = token.scope.as_deref().is_none_or(|s| s.split_whitespace().any(|x| x == "user/Appointment.write" || x == "user/Appointment.u"));
    if entry.launch.write_back && may_write {
        let (env, base, access, m, r) = (ctx.env.clone(), iss.to_string(), token.access_token.clone(), meeting.clone(), visit_ref.clone());
        ctx.background(async move {
            let event = match write_back(&base, &access, visit, &m).await {
                Ok(detail) => Event::new("write_back_ok", None, Some(detail)),
                Err(why) => Event::new("write_back_failed", None, Some(why)),
            };
            if let Err(e) = record(&env, &r, event).await {
                worker::console_error!("recording write-back: {}", e.body.message);
            }
        });
    }

    if entry.launch.skip_provider_page && seen_before {
        record(&ctx.env, &visit_ref, Event::new("provider_joined", Some(ehr_user_id), None)).await?;
        return redirect(&meeting.provider_url, None);
    }
    let key = crate::launch::seal_key(ctx)?;
    let pass = VisitPass {
        visit_ref: visit_ref.clone(),
        ehr_user_id: ehr_user_id.into(),
        iss: iss.into(),
        appointment_id,
        expires_at: crate::now_secs() + PASS_TTL_SECS,
    };
    let sealed = cookie::seal(&key, VISIT_PURPOSE, &pass, random_bytes());
    let secure = if ctx.loopback_dev { "" } else { "; Secure" };
    let cookie = format!("{PASS_COOKIE}={sealed}; Path=/visit/{visit_ref}; HttpOnly; SameSite=Lax; Max-Age={PASS_TTL_SECS}{secure}");
    redirect(&format!("/visit/{visit_ref}"), Some(cookie))
}

fn redirect(location: &str, cookie: Option<String>) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(303);
    resp.headers_mut().set("location", location)?;
    resp.headers_mut().set("cache-control", "no-store")?;
    resp.headers_mut().set("referrer-policy", "no-referrer")?;
    if let Some(c) = cookie {
        resp.headers_mut().append("set-cookie", &c)?;
    }
    Ok(resp)
}

/// Puts both links into the Appointment's rooms (JSON Patch with If-Match).
/// On 409/412 the appointment is read again and the patch retried once.
async fn write_back(base: &str, token: &AccessToken, visit: VideoVisit, meeting: &Meeting) -> std::result::Result<String, String> {
    let mut visit = visit;
    for attempt in 0..2 {
        let already = visit.provider_room.as_ref().and_then(|r| r.url.as_deref()) == Some(meeting.provider_url.as_str())
            && visit.patient_room.as_ref().and_then(|r| r.url.as_deref()) == Some(meeting.patient_url.as_str());
        if already {
            return Ok("links already in the appointment".into());
        }
        let patch = write_back_patch(&visit, &meeting.provider_url, &meeting.patient_url)
            .ok_or("the appointment has no virtual meeting rooms to write to")?;
        let if_match = visit.version_id.as_deref().map(|v| format!("W/\"{v}\""));
        let body = serde_json::to_string(&patch).map_err(|e| e.to_string())?;
        let path = format!("Appointment/{}", visit.id);
        let resp = fhir::call(Method::Patch, base, token, &path, Some((body, "application/json-patch+json")), if_match.as_deref())
            .await
            .map_err(|e| e.body.message)?;
        match resp.status {
            200..=299 => return Ok(format!("written (HTTP {})", resp.status)),
            409 | 412 if attempt == 0 => {
                let fresh = fhir::call(Method::Get, base, token, &path, None, None).await.map_err(|e| e.body.message)?;
                let json: serde_json::Value = serde_json::from_str(&fresh.body).map_err(|e| e.to_string())?;
                visit = parse(&json)?;
            }
            s => return Err(format!("the EHR refused the update (HTTP {s})")),
        }
    }
    Err("the appointment kept changing while writing the links (HTTP 409)".into())
}

fn pass(req: &Request, ctx: &Ctx, visit_ref: &str) -> Result<VisitPass> {
    let sealed = crate::auth::cookie(req, PASS_COOKIE).ok_or_else(|| {
        Error::new(401, "visit_pass_missing", "Open this visit from the EHR: this page is only for the clinician who launched it.")
    })?;
    let pass: VisitPass = cookie::open(&crate::launch::seal_key(ctx)?, VISIT_PURPOSE, &sealed, crate::now_secs()).map_err(|e| match e {
        OpenError::Expired => Error::new(401, "visit_pass_expired", "Your access to this visit page has expired. Open the visit from the EHR again."),
        OpenError::Invalid => Error::new(401, "visit_pass_invalid", "Open this visit from the EHR: this page is only for the clinician who launched it."),
    })?;
    if pass.visit_ref != visit_ref {
        return Err(Error::forbidden());
    }
    Ok(pass)
}

/// `/visit/{ref}`, `/visit/{ref}/status`, `/visit/{ref}/live`.
pub async fn serve(req: Request, ctx: &Ctx, rest: &str) -> Result<Response> {
    let (visit_ref, sub) = rest.split_once('/').unwrap_or((rest, ""));
    if visit_ref.len() != 64 || !visit_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::not_found("This visit"));
    }
    let pass = pass(&req, ctx, visit_ref)?;
    if req.method() == Method::Post && sub != "send-link" && sub != "end" {
        return Err(Error::new(405, "method_not_allowed", "This page can only be read."));
    }
    let stub = stub(&ctx.env, visit_ref)?;
    match sub {
        "" => {
            let status: Status = call(&stub, &Command::Status).await?;
            let mut page = crate::pages::html_with_csp(200, &provider_page(ctx, visit_ref, &status), PROVIDER_PAGE_CSP);
            // Its own form posts back here: "same-origin" lets the browser send
            // the Origin header the send-link check wants (no-referrer sends "null").
            page.headers_mut().set("referrer-policy", "same-origin")?;
            Ok(page)
        }
        "status" => crate::http::json(200, &call::<Status>(&stub, &Command::Status).await?),
        "live" => live(&ctx.env, visit_ref, req, "provider").await,
        "send-link" if req.method() == Method::Post => {
            if req.headers().get("origin")?.is_some_and(|o| o != ctx.origin) {
                return Err(Error::new(403, "csrf_origin", "This request came from another site and was refused."));
            }
            send_link(req, ctx, &pass).await?;
            redirect(&format!("/visit/{visit_ref}"), None)
        }
        "end" if req.method() == Method::Post => {
            if req.headers().get("origin")?.is_some_and(|o| o != ctx.origin) {
                return Err(Error::new(403, "csrf_origin", "This request came from another site and was refused."));
            }
            let status: Status = call(&stub, &Command::Status).await?;
            if !status.has(&["visit_ended"]) {
                record(&ctx.env, visit_ref, Event::new("visit_ended", Some(&pass.ehr_user_id), None)).await?;
            }
            redirect(&format!("/visit/{visit_ref}"), None)
        }
        "join" => {
            record(&ctx.env, visit_ref, Event::new("provider_joined", Some(&pass.ehr_user_id), None)).await?;
            let status: Status = call(&stub, &Command::Status).await?;
            let url = status.meeting.map(|m| m.provider_url).ok_or_else(|| Error::not_found("The meeting"))?;
            redirect(&url, None)
        }
        _ => Err(Error::not_found("This page")),
    }
}

/// "Send link to patient": reads the patient's mobile number from the EHR
/// at send time (Backend Services), texts the patient link, forgets the number.
async fn send_link(mut req: Request, ctx: &Ctx, pass: &VisitPass) -> Result<()> {
    let form = req.form_data().await?;
    let nonce = match form.get("nonce") {
        Some(worker::FormEntry::Field(n)) if n.len() <= 64 => n,
        _ => return Err(Error::bad_request("invalid_form", "Reload the page and press the button again.")),
    };
    let store = kv::store(&ctx.env)?;
    let entry: IssEntry = store.get(&shared::kv_keys::iss(&pass.iss)).json().await.map_err(worker::Error::from)?.ok_or_else(|| Error::not_found("The EHR configuration"))?;
    let tenant: shared::tenant::Tenant = store.get(&shared::kv_keys::tenant(&entry.tenant_id)).json().await.map_err(worker::Error::from)?.ok_or_else(|| Error::not_found("The organisation"))?;
    let sms = tenant.sms.as_ref().ok_or_else(|| Error::new(409, "sms_not_configured", "Text messages are not set up for this organisation. Ask your Visitgate administrator."))?;
    if !sms.may_send() {
        return Err(Error::new(409, "sms_consent_missing", "Text messages are switched off until both consents are given in the admin portal (sending on the organisation's behalf, and the attendees' consent)."));
    }
    let from = sms.base_numbers.get(&entry.base_id).ok_or_else(|| Error::new(409, "sms_no_number", "No phone number is linked to this FHIR base yet. Link one in the admin portal's SMS settings."))?;
    let token = crate::launch::backend::system_token(ctx, &entry).await?;
    let appointment = fhir_json(&entry.fhir_base, &token, &format!("Appointment/{}", pass.appointment_id)).await?;
    let patient_id = appointment["participant"].as_array().into_iter().flatten().find_map(|p| {
        shared::appointment::reference_id(p.pointer("/actor/reference")?.as_str()?, "Patient")
    });
    let patient = fhir_json(&entry.fhir_base, &token, &format!("Patient/{}", patient_id.unwrap_or_default())).await?;
    let to = mobile_number(&patient)
        .ok_or_else(|| Error::new(422, "patient_no_mobile", "The patient has no mobile number in the EHR. Add one there, or give the patient the link another way."))?;
    let lang = patient_language(&patient);
    let status: Status = call(&stub(&ctx.env, &pass.visit_ref)?, &Command::Status).await?;
    let code = status.link_code.ok_or_else(|| Error::not_found("The patient link"))?;
    let templates = sms.templates.get(lang).or_else(|| sms.templates.get("en")).ok_or_else(|| Error::not_found("The message template"))?;
    let clinic = if sms.clinic_name.is_empty() { tenant.display_name.as_str() } else { sms.clinic_name.as_str() };
    let link = format!("{}{}{code}", ctx.origin, shared::integration::PATIENT_LINK_PATH);
    let body = shared::sms::render(templates.get(shared::sms::MessageKind::Link), &shared::sms::Fill { clinic, date: "", time: "", link: &link });
    let delivery = Delivery {
        tenant_id: entry.tenant_id.clone(),
        visit_ref: pass.visit_ref.clone(),
        key: format!("link:{nonce}"),
        start: None,
        now: crate::now_secs(),
        retry_later: false,
        sms: Some(Ok(SmsOut {
            provider: sms.provider.clone(),
            from: from.clone(),
            to,
            body,
            status_callback: format!("{}/webhooks/sms/status/{}/{}", ctx.origin, entry.tenant_id, pass.visit_ref),
        })),
        email: None,
    };
    deliver(&ctx.env, delivery).await?;
    Ok(())
}

async fn fhir_json(base: &str, token: &AccessToken, path: &str) -> Result<serde_json::Value> {
    let resp = fhir::call(Method::Get, base, token, path, None, None).await?;
    if !resp.ok() {
        return Err(Error::new(502, "fhir_failed", format!("The EHR did not return the {} (HTTP {}).", path.split('/').next().unwrap_or("record"), resp.status)));
    }
    serde_json::from_str(&resp.body).map_err(|_| Error::new(502, "fhir_invalid", "The EHR returned something other than FHIR JSON."))
}

const PROVIDER_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self' https:; base-uri 'none'; form-action 'self'";

fn provider_page(ctx: &Ctx, visit_ref: &str, status: &Status) -> String {
    let info = status.info.clone();
    let when = info.as_ref().and_then(|i| i.start.clone()).unwrap_or_default();
    let appt = info.as_ref().map(|i| i.appointment_status.clone()).unwrap_or_default();
    let join = status.meeting.as_ref().map(|m| {
        let app = m.app_url.as_ref().map(|u| format!(" <a class=\"button secondary\" href=\"{}\">Join in the Teams app</a>", escape(u))).unwrap_or_default();
        format!("<p><a class=\"button\" href=\"/visit/{}/join\" rel=\"noopener\">Join in browser</a>{app}</p>", escape(visit_ref))
    });
    let link = status.link_code.as_ref().map(|c| {
        let url = format!("{}{}{c}", ctx.origin, shared::integration::PATIENT_LINK_PATH);
        format!("<p>Patient link: <a href=\"{u}\" id=\"patient-link\">{u}</a></p>", u = escape(&url))
    }).unwrap_or_default();
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

#[durable_object]
pub struct VisitObject {
    state: State,
    env: Env,
    lock: Mutex<()>,
}

impl VisitObject {
    async fn status(&self) -> worker::Result<Status> {
        let storage = self.state.storage();
        Ok(Status {
            info: storage.get("info").await?,
            meeting: storage.get("meeting").await?,
            events: storage.get("events").await?.unwrap_or_default(),
            link_code: storage.get("link_code").await?,
        })
    }

    /// Appends an event; a waiting patient is admitted once a clinician is there.
    pub(crate) async fn push(&self, event: Event) -> worker::Result<()> {
        let storage = self.state.storage();
        let mut events: Vec<Event> = storage.get("events").await?.unwrap_or_default();
        events.push(event);
        let has = |kinds: &[&str], events: &[Event]| events.iter().any(|e| kinds.contains(&e.kind.as_str()));
        if patient_waiting(&events) && has(&PROVIDER_PRESENT, &events) && !has(&["patient_admitted"], &events) {
            events.push(Event::new("patient_admitted", None, None));
        }
        storage.put("events", &events).await?;
        // The reports get the new events from an alarm, off this request's path.
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(REPORT_DELAY_MS).await?;
        }
        self.broadcast().await
    }

    /// Sends events not yet in the reports database, with the visit's
    /// recomputed figures. Events are numbered, so a repeat is harmless.
    async fn flush_report(&self) -> Result<()> {
        use crate::storage::reports::{flush_visit, iso_ms, StoredEvent, VisitRecord};
        let storage = self.state.storage();
        let status = self.status().await?;
        let Some(info) = &status.info else { return Ok(()) };
        let flushed: usize = storage.get("report_flushed").await?.unwrap_or(0);
        if flushed >= status.events.len() && flushed > 0 {
            return Ok(());
        }
        let timed: Vec<shared::report::TimedEvent> = status
            .events
            .iter()
            .filter_map(|e| Some(shared::report::TimedEvent { kind: e.kind.clone(), at_ms: iso_ms(&e.at)?, ehr_user_id: e.ehr_user_id.clone() }))
            .collect();
        let now_ms = js_sys::Date::now() as i64;
        let end_ms = info.end.as_deref().and_then(iso_ms);
        let metrics = shared::report::visit_metrics(&timed, end_ms, now_ms);
        let new: Vec<StoredEvent> = status.events[flushed.min(status.events.len())..]
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                Some(StoredEvent { seq: format!("{:06}", flushed + i), kind: &e.kind, at_ms: iso_ms(&e.at)?, ehr_user_id: e.ehr_user_id.as_deref(), detail: e.detail.as_deref() })
            })
            .collect();
        let visit_ref: String = storage.get("visit_ref").await?.unwrap_or_default();
        let record = VisitRecord {
            visit_ref: &visit_ref,
            tenant_id: &info.tenant_id,
            base_id: &info.base_id,
            scheduled_start_ms: info.start.as_deref().and_then(iso_ms),
            scheduled_end_ms: end_ms,
            metrics: &metrics,
            now_ms,
        };
        if visit_ref.is_empty() {
            return Ok(());
        }
        flush_visit(&self.env, &record, &new).await?;
        storage.put("report_flushed", status.events.len()).await?;
        Ok(())
    }

    async fn broadcast(&self) -> worker::Result<()> {
        let status = self.status().await?;
        let provider = serde_json::to_string(&status)?;
        let patient = serde_json::to_string(&status.patient_view())?;
        for ws in self.state.get_websockets() {
            let is_patient = self.state.get_tags(&ws).iter().any(|t| t == "patient");
            let _ = ws.send_with_str(if is_patient { &patient } else { &provider });
        }
        Ok(())
    }

    pub(crate) async fn revoke_link(&self, code: &str) -> Result<()> {
        let store = kv::store(&self.env)?;
        let key = shared::kv_keys::patient_link(code);
        if let Some(mut link) = store.get(&key).json::<shared::patient_link::PatientLink>().await.map_err(worker::Error::from)? {
            if !link.revoked {
                link.revoked = true;
                let ttl = link.expires_at.saturating_sub(crate::now_secs()) + shared::patient_link::REMEMBER_EXPIRED_SECS;
                store.put(&key, serde_json::to_string(&link)?).map_err(worker::Error::from)?.expiration_ttl(ttl.max(60)).execute().await.map_err(worker::Error::from)?;
            }
        }
        Ok(())
    }

    /// The patient link for this visit's current time: KV `link:{code}`,
    /// working until two hours after the appointment's end. A new time gets
    /// a new link and the old one stops working.
    pub(crate) async fn ensure_link(&self, info: &VisitInfo, visit_ref: &str) -> Result<String> {
        let storage = self.state.storage();
        if let Some(code) = storage.get::<String>("link_code").await? {
            let link_start: Option<String> = storage.get("link_start").await?;
            if link_start.is_none() || link_start == info.start {
                return Ok(code);
            }
            self.revoke_link(&code).await?;
        }
        let code = crate::crypto::random_token(9);
        let end = info.end.as_deref().map(js_sys::Date::parse).filter(|t| !t.is_nan()).map(|t| (t / 1000.0) as u64);
        let expires_at = end.unwrap_or_else(|| crate::now_secs() + 86_400) + shared::patient_link::GRACE_SECS;
        let link = shared::patient_link::PatientLink {
            visit_ref: visit_ref.into(),
            tenant_id: info.tenant_id.clone(),
            base_id: info.base_id.clone(),
            start: info.start.clone(),
            expires_at,
            clinic_phone: None,
            revoked: false,
        };
        let ttl = expires_at.saturating_sub(crate::now_secs()) + shared::patient_link::REMEMBER_EXPIRED_SECS;
        kv::store(&self.env)?
            .put(&shared::kv_keys::patient_link(&code), serde_json::to_string(&link)?)
            .map_err(worker::Error::from)?
            .expiration_ttl(ttl.max(60))
            .execute()
            .await
            .map_err(worker::Error::from)?;
        storage.put("link_code", &code).await?;
        match &info.start {
            Some(start) => storage.put("link_start", start).await?,
            None => {
                storage.delete("link_start").await?;
            }
        }
        Ok(code)
    }

    async fn handle(&self, cmd: Command) -> Result<serde_json::Value> {
        match cmd {
            Command::Status => Ok(serde_json::to_value(self.status().await?)?),
            Command::Event { event } => {
                self.push(event).await?;
                Ok(serde_json::Value::Null)
            }
            Command::Due { req } => {
                let _guard = self.lock.lock().await;
                Ok(serde_json::to_value(self.due(req).await?)?)
            }
            Command::Deliver { delivery } => {
                let _guard = self.lock.lock().await;
                Ok(serde_json::to_value(self.deliver(delivery).await?)?)
            }
            Command::PatientArrive => {
                let status = self.status().await?;
                if !status.waiting() && !status.has(&["patient_admitted"]) {
                    self.push(Event::new("patient_lobby_arrival", None, None)).await?;
                }
                Ok(serde_json::to_value(self.status().await?.patient_view())?)
            }
            Command::Open { visit_ref, info, video, request, ehr_user_id } => {
                // Serialised: two launches at once get the same meeting.
                let _guard = self.lock.lock().await;
                let storage = self.state.storage();
                storage.put("info", &info).await?;
                storage.put("visit_ref", &visit_ref).await?;
                let existing: Option<Meeting> = storage.get("meeting").await?;
                // The patient link (a KV write) while the video provider makes the meeting.
                let meeting = async {
                    match existing {
                        Some(m) => Ok::<_, Error>(m),
                        None => {
                            let m = create_or_get(&self.env, &info.tenant_id, &video, &request).await?;
                            storage.put("meeting", &m).await?;
                            self.push(Event::new("meeting_created", None, Some(m.provider.clone()))).await?;
                            Ok(m)
                        }
                    }
                };
                let (link_code, meeting) = futures_util::future::join(self.ensure_link(&info, &visit_ref), meeting).await;
                let (link_code, meeting) = (link_code?, meeting?);
                self.push(Event::new("provider_launch", Some(&ehr_user_id), None)).await?;
                Ok(serde_json::to_value(OpenReply { meeting, link_code })?)
            }
        }
    }
}

impl DurableObject for VisitObject {
    fn new(state: State, env: Env) -> Self {
        VisitObject { state, env, lock: Mutex::new(()) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        if req.headers().get("upgrade")?.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
            let role = if req.headers().get(ROLE_HEADER)?.as_deref() == Some("patient") { "patient" } else { "provider" };
            let pair = WebSocketPair::new()?;
            self.state.accept_websocket_with_tags(&pair.server, &[role]);
            let status = self.status().await?;
            let first = if role == "patient" { serde_json::to_string(&status.patient_view())? } else { serde_json::to_string(&status)? };
            pair.server.send_with_str(first)?;
            return Response::from_websocket(pair.client);
        }
        crate::storage::rpc::serve(req, "visit", |cmd: Command| self.handle(cmd)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.flush_report().await {
            worker::console_error!("reports: {}", e.body.code);
            self.state.storage().set_alarm(30_000).await?;
        }
        Response::ok("")
    }

    async fn websocket_message(&self, _ws: WebSocket, _message: WebSocketIncomingMessage) -> worker::Result<()> {
        Ok(())
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _was_clean: bool) -> worker::Result<()> {
        let _ = ws.close(Some(code.clamp(1000, 4999) as u16), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}
