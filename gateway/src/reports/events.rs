//! Events out: visit objects flush their events and the visit's figures
//! here from an alarm, never on a request's path; launches write theirs
//! after the response (`waitUntil`).

use shared::report::{VisitMetrics, VisitStatus};
use wasm_bindgen::JsValue;
use worker::Env;

use super::db;
use crate::error::Result;

fn opt(v: Option<i64>) -> JsValue {
    v.map(|n| JsValue::from_f64(n as f64)).unwrap_or(JsValue::NULL)
}

fn opt_str(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

/// One event to store: `seq` makes a repeated flush harmless.
pub struct StoredEvent<'a> {
    pub seq: String,
    pub kind: &'a str,
    pub at_ms: i64,
    pub ehr_user_id: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub struct VisitRecord<'a> {
    pub visit_ref: &'a str,
    pub tenant_id: &'a str,
    pub base_id: &'a str,
    pub scheduled_start_ms: Option<i64>,
    pub scheduled_end_ms: Option<i64>,
    pub metrics: &'a VisitMetrics,
    pub now_ms: i64,
}

fn status_word(s: VisitStatus) -> &'static str {
    match s {
        VisitStatus::Completed => "completed",
        VisitStatus::NoShow => "no_show",
        VisitStatus::Open => "open",
    }
}

/// New events of a visit and its recomputed row, in one batch.
pub async fn flush_visit(env: &Env, visit: &VisitRecord<'_>, events: &[StoredEvent<'_>]) -> Result<()> {
    let db = db(env)?;
    let mut batch = Vec::with_capacity(events.len() + 1);
    for e in events {
        batch.push(db.prepare("INSERT OR IGNORE INTO events (tenant_id, base_id, visit_ref, seq, kind, at_ms, ehr_user_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)").bind(&[
            visit.tenant_id.into(),
            visit.base_id.into(),
            visit.visit_ref.into(),
            e.seq.as_str().into(),
            e.kind.into(),
            JsValue::from_f64(e.at_ms as f64),
            opt_str(e.ehr_user_id),
            opt_str(e.detail),
        ])?);
    }
    let m = visit.metrics;
    let day = visit.scheduled_start_ms.or(m.started_at_ms).or(events.first().map(|e| e.at_ms)).unwrap_or(visit.now_ms);
    batch.push(
        db.prepare(
            "INSERT INTO visits (visit_ref, tenant_id, base_id, scheduled_start_ms, scheduled_end_ms, day_ms, started_at_ms, duration_ms, lobby_wait_ms, status, peak_attendees, sms_sent, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT(visit_ref) DO UPDATE SET base_id = excluded.base_id, scheduled_start_ms = excluded.scheduled_start_ms,
               scheduled_end_ms = excluded.scheduled_end_ms, day_ms = CASE WHEN excluded.scheduled_start_ms IS NULL THEN visits.day_ms ELSE excluded.day_ms END,
               started_at_ms = excluded.started_at_ms, duration_ms = excluded.duration_ms, lobby_wait_ms = excluded.lobby_wait_ms, status = excluded.status,
               peak_attendees = excluded.peak_attendees, sms_sent = excluded.sms_sent, updated_at_ms = excluded.updated_at_ms, forgotten = 0",
        )
        .bind(&[
            visit.visit_ref.into(),
            visit.tenant_id.into(),
            visit.base_id.into(),
            opt(visit.scheduled_start_ms),
            opt(visit.scheduled_end_ms),
            JsValue::from_f64(day as f64),
            opt(m.started_at_ms),
            opt(m.duration_ms),
            opt(m.lobby_wait_ms),
            status_word(m.status).into(),
            JsValue::from_f64(f64::from(m.peak_attendees)),
            JsValue::from_f64(f64::from(m.sms_sent)),
            JsValue::from_f64(visit.now_ms as f64),
        ])?,
    );
    db.batch(batch).await?;
    Ok(())
}

/// A launch outcome (no visit yet, or none at all when it failed early).
pub async fn record_launch(
    env: &Env,
    tenant_id: &str,
    base_id: &str,
    kind: &str,
    ehr_user_id: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    db(env)?
        .prepare("INSERT INTO events (tenant_id, base_id, visit_ref, seq, kind, at_ms, ehr_user_id, detail) VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, ?7)")
        .bind(&[
            tenant_id.into(),
            base_id.into(),
            crate::crypto::random_token(12).into(),
            kind.into(),
            JsValue::from_f64(js_sys::Date::now()),
            opt_str(ehr_user_id),
            opt_str(detail),
        ])?
        .run()
        .await?;
    Ok(())
}
