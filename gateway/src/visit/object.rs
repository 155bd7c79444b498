//! One video visit (one appointment) as a Durable Object: the meeting, the
//! live events (pushed to the clinician's and the patient's pages over
//! WebSockets), the patient link, and the events' way into the reports.
//! Its commands are `client::Command`; the messages it delivers are in
//! `deliver`.

use futures_util::lock::Mutex;
use worker::{durable_object, DurableObject, Env, Request, Response, State, WebSocket, WebSocketIncomingMessage, WebSocketPair};

use super::client::{patient_waiting, Command, Event, OpenReply, PatientView, Refusal, Status, VisitInfo, PROVIDER_PRESENT, ROLE_HEADER};
use crate::clock::iso_ms;
use crate::error::{Error, Result};
use crate::reports::events::{flush_visit, StoredEvent, VisitRecord};
use crate::storage::{durable, kv};
use crate::video::Meeting;

/// How soon new events reach the reports (batched per visit).
const REPORT_DELAY_MS: i64 = 2_000;

#[durable_object]
pub struct VisitObject {
    pub(super) state: State,
    pub(super) env: Env,
    lock: Mutex<()>,
}

impl VisitObject {
    async fn status(&self) -> worker::Result<Status> {
        let storage = self.state.storage();
        // One storage call: the patient's page asks for this on every poll.
        let [info, meeting, events, link_code] = durable::get_many(&storage, ["info", "meeting", "events", "link_code"]).await?;
        Ok(Status {
            info: durable::decode_opt("info", info)?,
            meeting: durable::decode_opt("meeting", meeting)?,
            events: durable::decode_opt("events", events)?.unwrap_or_default(),
            link_code: durable::decode_opt("link_code", link_code)?,
        })
    }

    /// Appends an event within the visit's bounds (`Some(why)`: refused,
    /// nothing stored); a waiting patient is admitted once a clinician is there.
    pub(super) async fn push(&self, mut event: Event) -> worker::Result<Option<Refusal>> {
        event.detail = event.detail.map(super::bounds::clip);
        let storage = self.state.storage();
        let mut events: Vec<Event> = durable::get(&storage, "events").await?.unwrap_or_default();
        if let Err(why) = super::bounds::admit(&events, &event.kind) {
            return Ok(Some(why));
        }
        events.push(event);
        let has = |kinds: &[&str], events: &[Event]| events.iter().any(|e| kinds.contains(&e.kind.as_str()));
        if patient_waiting(&events) && has(&PROVIDER_PRESENT, &events) && !has(&["patient_admitted"], &events) {
            events.push(Event::new("patient_admitted", None, None));
        }
        durable::put(&storage, "events", &events).await?;
        // The reports get the new events from an alarm, off this request's
        // path (sooner than the expiry alarm that may be set).
        let due = crate::clock::now_ms() as i64 + REPORT_DELAY_MS;
        if storage.get_alarm().await?.is_none_or(|at| at > due) {
            storage.set_alarm(REPORT_DELAY_MS).await?;
        }
        self.broadcast().await?;
        Ok(None)
    }

    /// Stores the visit's info and when the object deletes itself if the
    /// retention job never told it to (`visit_days` after the end or after
    /// now, whichever is later: never under a clinician's launch), with an
    /// alarm for it if none is set.
    pub(super) async fn keep_info(&self, info: &VisitInfo) -> worker::Result<()> {
        let storage = self.state.storage();
        durable::put(&storage, "info", &info).await?;
        let now = crate::clock::now_ms() as i64;
        let retention = shared::retention::Retention { visit_days: info.visit_days, ..Default::default() };
        let end = info.end.as_deref().and_then(iso_ms).map(|e| e.max(now));
        let expires = retention.visit_expires_ms(end, now);
        durable::put(&storage, "expires_at_ms", &expires).await?;
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm((expires - now).max(0)).await?;
        }
        Ok(())
    }

    /// Sends events not yet in the reports database, with the visit's
    /// recomputed figures. Events are numbered, so a repeat is harmless.
    async fn flush_report(&self) -> Result<()> {
        let storage = self.state.storage();
        let status = self.status().await?;
        let Some(info) = &status.info else { return Ok(()) };
        let flushed: usize = durable::get(&storage, "report_flushed").await?.unwrap_or(0);
        if flushed >= status.events.len() && flushed > 0 {
            return Ok(());
        }
        let timed: Vec<shared::report::TimedEvent> = status
            .events
            .iter()
            .filter_map(|e| {
                Some(shared::report::TimedEvent { kind: e.kind.clone(), at_ms: iso_ms(&e.at)?, ehr_user_id: e.ehr_user_id.clone() })
            })
            .collect();
        let now_ms = js_sys::Date::now() as i64;
        let end_ms = info.end.as_deref().and_then(iso_ms);
        let metrics = shared::report::visit_metrics(&timed, end_ms, now_ms);
        let new: Vec<StoredEvent> = status.events[flushed.min(status.events.len())..]
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                Some(StoredEvent {
                    seq: format!("{:06}", flushed + i),
                    kind: &e.kind,
                    at_ms: iso_ms(&e.at)?,
                    ehr_user_id: e.ehr_user_id.as_deref(),
                    detail: e.detail.as_deref(),
                })
            })
            .collect();
        let visit_ref: String = durable::get(&storage, "visit_ref").await?.unwrap_or_default();
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
        durable::put(&storage, "report_flushed", &status.events.len()).await?;
        Ok(())
    }

    /// What the patient's page may know; a Jitsi link is signed now, for
    /// the visit's current end.
    async fn patient_view(&self, status: &Status) -> worker::Result<PatientView> {
        let mut view = status.patient_view();
        if let (Some(url), Some(m), Some(info)) = (&view.url, &status.meeting, &status.info) {
            if m.provider == "jitsi" {
                let signed = async {
                    let tenant = kv::tenant(&kv::store(&self.env)?, &info.tenant_id).await?;
                    let settings = tenant.and_then(|t| t.video);
                    let mut patient_side = m.clone();
                    patient_side.patient_url = url.clone();
                    crate::video::join_url(&self.env, &info.tenant_id, settings.as_ref(), &patient_side, false, info.end.as_deref()).await
                };
                view.url = signed.await.ok();
            }
        }
        Ok(view)
    }

    async fn broadcast(&self) -> worker::Result<()> {
        let status = self.status().await?;
        let provider = serde_json::to_string(&status)?;
        let patient = serde_json::to_string(&self.patient_view(&status).await?)?;
        for ws in self.state.get_websockets() {
            let is_patient = self.state.get_tags(&ws).iter().any(|t| t == "patient");
            let _ = ws.send_with_str(if is_patient { &patient } else { &provider });
        }
        Ok(())
    }

    pub(super) async fn revoke_link(&self, code: &str) -> Result<()> {
        let store = kv::store(&self.env)?;
        let key = shared::kv_keys::patient_link(code);
        if let Some(mut link) = kv::json::<shared::patient_link::PatientLink>(&store, &key).await? {
            if !link.revoked {
                link.revoked = true;
                let ttl = link.expires_at.saturating_sub(crate::clock::now_secs()) + shared::patient_link::REMEMBER_EXPIRED_SECS;
                store
                    .put(&key, serde_json::to_string(&link)?)
                    .map_err(worker::Error::from)?
                    .expiration_ttl(ttl.max(60))
                    .execute()
                    .await
                    .map_err(worker::Error::from)?;
                kv::remember_patient_link(code, &link, crate::clock::now_secs());
            }
        }
        Ok(())
    }

    /// The patient link for this visit's current time: KV `link:{code}`,
    /// working until two hours after the appointment's end. A new time gets
    /// a new link and the old one stops working.
    pub(super) async fn ensure_link(&self, info: &VisitInfo, visit_ref: &str) -> Result<String> {
        let storage = self.state.storage();
        if let Some(code) = durable::get::<String>(&storage, "link_code").await? {
            let link_start: Option<String> = durable::get(&storage, "link_start").await?;
            if link_start.is_none() || link_start == info.start {
                return Ok(code);
            }
            self.revoke_link(&code).await?;
        }
        let code = crate::crypto::random_token(9);
        let end = info.end.as_deref().map(js_sys::Date::parse).filter(|t| !t.is_nan()).map(|t| (t / 1000.0) as u64);
        let expires_at = end.unwrap_or_else(|| crate::clock::now_secs() + 86_400) + shared::patient_link::GRACE_SECS;
        let link = shared::patient_link::PatientLink {
            visit_ref: visit_ref.into(),
            tenant_id: info.tenant_id.clone(),
            base_id: info.base_id.clone(),
            start: info.start.clone(),
            expires_at,
            clinic_phone: None,
            revoked: false,
        };
        let ttl = expires_at.saturating_sub(crate::clock::now_secs()) + shared::patient_link::REMEMBER_EXPIRED_SECS;
        kv::store(&self.env)?
            .put(&shared::kv_keys::patient_link(&code), serde_json::to_string(&link)?)
            .map_err(worker::Error::from)?
            .expiration_ttl(ttl.max(60))
            .execute()
            .await
            .map_err(worker::Error::from)?;
        kv::remember_patient_link(&code, &link, crate::clock::now_secs());
        durable::put(&storage, "link_code", &code).await?;
        match &info.start {
            Some(start) => durable::put(&storage, "link_start", &start).await?,
            None => {
                storage.delete("link_start").await?;
            }
        }
        Ok(code)
    }

    /// Everything this visit held, gone: live pages are closed, storage and alarm deleted.
    async fn forget(&self) -> worker::Result<()> {
        for ws in self.state.get_websockets() {
            let _ = ws.close(Some(1000), Some("visit expired"));
        }
        let storage = self.state.storage();
        storage.delete_alarm().await?;
        storage.delete_all().await
    }

    async fn handle(&self, cmd: Command) -> Result<serde_json::Value> {
        match cmd {
            Command::Forget => {
                let _guard = self.lock.lock().await;
                self.forget().await?;
                Ok(serde_json::Value::Null)
            }
            Command::Status => Ok(serde_json::to_value(self.status().await?)?),
            Command::PatientView => {
                let status = self.status().await?;
                Ok(serde_json::to_value(self.patient_view(&status).await?)?)
            }
            Command::Event { event } => Ok(serde_json::to_value(self.push(event).await?)?),
            Command::Report { tenant_id, event, dedupe } => {
                let storage = self.state.storage();
                let info: Option<VisitInfo> = durable::get(&storage, "info").await?;
                if info.is_none_or(|i| i.tenant_id != tenant_id) {
                    return Ok(serde_json::Value::Bool(false));
                }
                let seen_key = format!("seen:{}", crate::crypto::sha256_hex(&dedupe));
                if durable::get::<bool>(&storage, &seen_key).await?.is_some() {
                    return Ok(serde_json::Value::Bool(false));
                }
                let recorded = self.push(event).await?.is_none();
                if recorded {
                    durable::put(&storage, &seen_key, &true).await?;
                }
                Ok(serde_json::Value::Bool(recorded))
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
                let status = self.status().await?;
                Ok(serde_json::to_value(self.patient_view(&status).await?)?)
            }
            Command::Open { visit_ref, info, video, request, ehr_user_id } => {
                // Serialised: two launches at once get the same meeting.
                let _guard = self.lock.lock().await;
                let storage = self.state.storage();
                self.keep_info(&info).await?;
                durable::put(&storage, "visit_ref", &visit_ref).await?;
                let existing: Option<Meeting> = durable::get(&storage, "meeting").await?;
                let made_for: Option<String> = durable::get(&storage, "meeting_start").await?;
                let retimed = existing.is_some() && made_for.is_some() && info.start.is_some() && made_for != info.start;
                // A visit moved before anyone joined gets a meeting for its new time (the
                // launch's write-back then replaces the links); only then are events read.
                let moved = retimed && !self.status().await?.has(&["provider_joined", "patient_admitted"]);
                // The patient link (a KV write) while the video provider makes the meeting.
                let meeting = async {
                    match existing {
                        Some(m) if !moved => Ok::<_, Error>(m),
                        old => {
                            let mut request = request.clone();
                            if let (Some(_), Some(start)) = (&old, &info.start) {
                                request.external_id = format!("{}-{}", request.external_id, &crate::crypto::sha256_hex(start)[..8]);
                            }
                            let m = crate::video::create_or_get(&self.env, &info.tenant_id, &video, &request).await?;
                            durable::put(&storage, "meeting", &m).await?;
                            if let Some(start) = &info.start {
                                durable::put(&storage, "meeting_start", &start).await?;
                            }
                            match old {
                                None => self.push(Event::new("meeting_created", None, Some(m.provider.clone()))).await?,
                                Some(o) if o.provider_url != m.provider_url => {
                                    self.push(Event::new("meeting_replaced", None, Some(m.provider.clone()))).await?
                                }
                                Some(_) => None,
                            };
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
            let first = if role == "patient" {
                serde_json::to_string(&self.patient_view(&status).await?)?
            } else {
                serde_json::to_string(&status)?
            };
            pair.server.send_with_str(first)?;
            return Response::from_websocket(pair.client);
        }
        crate::storage::rpc::serve(req, "visit", |cmd: Command| self.handle(cmd)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        if let Err(e) = self.flush_report().await {
            worker::console_error!("reports: {}", e.body.code);
            crate::retry::after_failure(&storage).await?;
            return Response::ok("");
        }
        crate::retry::after_success(&storage).await?;
        // Past its retention: the visit's object forgets everything.
        let now = crate::clock::now_ms() as i64;
        match durable::get::<i64>(&storage, "expires_at_ms").await? {
            Some(at) if at <= now => self.forget().await?,
            Some(at) => storage.set_alarm(at - now).await?,
            None => {}
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
