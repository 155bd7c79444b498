//! The visit object's named interface: what other journeys (launch,
//! patient, notify) may ask of one visit, and the types they speak in. A
//! visit is named by a keyed hash of the appointment (`visit_ref`), so
//! storage and reports never hold the EHR's id in clear; its events carry
//! no patient data, only the EHR user id.

use serde::{Deserialize, Serialize};
use shared::email::{EmailBody, EmailProvider};
use shared::sms::{MessageKind, SmsProvider};
use shared::tenant::IssEntry;
use shared::video::VideoSettings;
use worker::{Env, Request, RequestInit, Response, Stub};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::secrets::{keyed_ref, REF_KEY_SECRET};
use crate::video::{Meeting, MeetingRequest};

pub const BINDING: &str = "VISIT";

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
        Event { kind: kind.into(), at: crate::clock::now_iso(), ehr_user_id: ehr_user_id.map(str::to_string), detail }
    }
}

/// Why a visit did not record an event (its bounds are in `bounds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// This kind from the patient link has reached its cap.
    KindFull,
    /// The visit's log is full.
    LogFull,
    /// It would change nothing (leaving a lobby one is not in).
    NoChange,
}

/// What the visit's object knows about the appointment: times and status only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitInfo {
    pub tenant_id: String,
    pub base_id: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub appointment_status: String,
    /// The tenant's `retention.visit_days`: the object deletes itself that
    /// long after the visit's end.
    #[serde(default = "default_visit_days")]
    pub visit_days: u32,
    /// The EHR's appointment id, sealed (`tracking::seal_id`): patient
    /// tracking patches it without a clinician; never kept in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<String>,
}

fn default_visit_days() -> u32 {
    shared::retention::Retention::default().visit_days
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
    pub fn has(&self, kinds: &[&str]) -> bool {
        self.events.iter().any(|e| kinds.contains(&e.kind.as_str()))
    }

    pub fn waiting(&self) -> bool {
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
pub fn patient_waiting(events: &[Event]) -> bool {
    events
        .iter()
        .rev()
        .find(|e| e.kind == "patient_lobby_arrival" || e.kind == "patient_left")
        .is_some_and(|e| e.kind == "patient_lobby_arrival")
}
/// The clinician is in the meeting: pressed Join, or was sent straight in.
pub const PROVIDER_PRESENT: [&str; 1] = ["provider_joined"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenReply {
    pub meeting: Meeting,
    pub link_code: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // built once per request and serialised at once
pub enum Command {
    Open {
        visit_ref: String,
        info: VisitInfo,
        video: VideoSettings,
        request: MeetingRequest,
        ehr_user_id: String,
    },
    Event {
        event: Event,
    },
    /// A provider's report about this visit (delivery): recorded only when
    /// the visit is `tenant_id`'s, and once per `dedupe` key.
    Report {
        tenant_id: String,
        event: Event,
        dedupe: String,
    },
    Status,
    /// Retention: the visit's object deletes everything it holds.
    Forget,
    /// What the patient's page may know (their meeting link signed now).
    PatientView,
    PatientArrive,
    /// Delivers one message once per (key, channel): a repeated key answers
    /// what the first did.
    Deliver {
        delivery: Delivery,
    },
    /// Which message, if any, is due now.
    Due {
        req: DueRequest,
    },
}

pub fn stub(env: &Env, visit_ref: &str) -> Result<Stub> {
    Ok(env.durable_object(BINDING)?.get_by_name(visit_ref)?)
}

pub async fn call<T: serde::de::DeserializeOwned>(stub: &Stub, cmd: &Command) -> Result<T> {
    crate::storage::rpc::call(stub, "https://visit/command", cmd).await
}

/// Records an event: `Some(why)` when the visit's bounds refused it (see `bounds`).
pub async fn record(env: &Env, visit_ref: &str, event: Event) -> Result<Option<Refusal>> {
    call(&stub(env, visit_ref)?, &Command::Event { event }).await
}

/// Records a webhook's report on a visit: `false` when the visit is not
/// that tenant's (nothing recorded, nothing told) or the report was seen before.
pub async fn report(env: &Env, visit_ref: &str, tenant_id: &str, event: Event, dedupe: &str) -> Result<bool> {
    let cmd = Command::Report { tenant_id: tenant_id.into(), event, dedupe: dedupe.into() };
    call(&stub(env, visit_ref)?, &cmd).await
}

pub async fn patient_status(env: &Env, visit_ref: &str) -> Result<PatientView> {
    call(&stub(env, visit_ref)?, &Command::PatientView).await
}

/// Retention: the visit's object deletes everything it holds (the retention job decides when).
pub async fn forget(env: &Env, visit_ref: &str) -> Result<()> {
    call::<serde_json::Value>(&stub(env, visit_ref)?, &Command::Forget).await.map(|_| ())
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

pub const ROLE_HEADER: &str = "x-visitgate-role";

/// Opens the visit for a launching clinician: its meeting (made once) and
/// the patient link.
pub async fn open(
    env: &Env,
    visit_ref: &str,
    info: VisitInfo,
    video: VideoSettings,
    request: MeetingRequest,
    ehr_user_id: &str,
) -> Result<OpenReply> {
    let cmd = Command::Open { visit_ref: visit_ref.into(), info, video, request, ehr_user_id: ehr_user_id.into() };
    call(&stub(env, visit_ref)?, &cmd).await
}

/// Everything the visit knows (the clinician's view).
pub async fn status(env: &Env, visit_ref: &str) -> Result<Status> {
    call(&stub(env, visit_ref)?, &Command::Status).await
}

/// A visit's name: a keyed hash of tenant, FHIR base and appointment id, so
/// storage and reports never hold the EHR's id in clear.
pub fn visit_ref(ctx: &Ctx, entry: &IssEntry, appointment_id: &str) -> Result<String> {
    keyed_ref(&ctx.env, &format!("{}|{}|{appointment_id}", entry.tenant_id, entry.base_id)).ok_or_else(|| {
        Error::new(
            500,
            "launch_not_configured",
            format!("Visitgate's appointment key (Worker secret {REF_KEY_SECRET}) is not set up. Ask your Visitgate administrator."),
        )
    })
}

pub async fn due(env: &Env, req: DueRequest) -> Result<Option<Due>> {
    let visit_ref = req.visit_ref.clone();
    call(&stub(env, &visit_ref)?, &Command::Due { req }).await
}

pub async fn deliver(env: &Env, delivery: Delivery) -> Result<DeliveryReply> {
    let visit_ref = delivery.visit_ref.clone();
    call(&stub(env, &visit_ref)?, &Command::Deliver { delivery }).await
}

// What the notify journey hands the visit to deliver, and what comes back.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DueRequest {
    pub visit_ref: String,
    pub info: VisitInfo,
    pub now: u64,
    pub reminder_offsets_minutes: Vec<u32>,
    /// The channels set up for this visit's FHIR base.
    pub channels: Vec<Channel>,
}

/// A message that is due, the key it is delivered under once, and the
/// channels still to do; none ready (all waiting for a retry) → `wait_until`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Due {
    pub kind: MessageKind,
    pub key: String,
    pub link_code: String,
    pub channels: Vec<Channel>,
    pub wait_until: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SmsOut {
    pub provider: SmsProvider,
    pub from: String,
    pub to: String,
    pub body: String,
    pub status_callback: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EmailOut {
    pub provider: EmailProvider,
    pub to: String,
    pub from_name: String,
    pub body: EmailBody,
}

/// One message on the channels it is due on. `Err` is why a channel cannot
/// be used for this patient (no mobile number, no address): recorded once.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub tenant_id: String,
    pub visit_ref: String,
    pub key: String,
    /// For confirmations and changes: the start time this tells the patient.
    pub start: Option<String>,
    pub now: u64,
    /// False for a clinician's "Send link": they see the failure and press again.
    pub retry_later: bool,
    pub sms: Option<std::result::Result<SmsOut, String>>,
    pub email: Option<std::result::Result<EmailOut, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeState {
    Sent,
    Failed,
    /// Not sent on purpose (the patient texted STOP).
    Skipped,
    /// A transient failure; tried again from `next_at`.
    Retrying,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub state: OutcomeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<u64>,
}

impl Outcome {
    pub fn new(state: OutcomeState, detail: Option<String>) -> Self {
        Outcome { state, detail, next_at: None }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryReply {
    pub sms: Option<Outcome>,
    pub email: Option<Outcome>,
}

impl DeliveryReply {
    pub fn sent(&self) -> bool {
        [&self.sms, &self.email].iter().any(|o| o.as_ref().is_some_and(|o| o.state == OutcomeState::Sent))
    }
    pub fn retrying(&self) -> bool {
        [&self.sms, &self.email].iter().any(|o| o.as_ref().is_some_and(|o| o.state == OutcomeState::Retrying))
    }
}
