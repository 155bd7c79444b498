//! Queries in: the rows and counts the admin's usage reports are made of.

use serde::Deserialize;
use shared::report::{VisitMetrics, VisitRow, VisitStatus};
use wasm_bindgen::JsValue;
use worker::Env;

use super::db;
use crate::error::Result;

#[derive(Deserialize)]
struct Row {
    visit_ref: String,
    base_id: String,
    scheduled_start_ms: Option<f64>,
    scheduled_end_ms: Option<f64>,
    started_at_ms: Option<f64>,
    duration_ms: Option<f64>,
    lobby_wait_ms: Option<f64>,
    status: String,
    peak_attendees: f64,
    sms_sent: f64,
}

/// Visits of a tenant whose day falls in `[from, to)`, optionally on some
/// FHIR bases only. Index `visits_by_tenant_day`.
pub async fn visits(env: &Env, tenant_id: &str, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<Vec<VisitRow>> {
    let result = db(env)?
        .prepare("SELECT visit_ref, base_id, scheduled_start_ms, scheduled_end_ms, started_at_ms, duration_ms, lobby_wait_ms, status, peak_attendees, sms_sent FROM visits WHERE tenant_id = ?1 AND day_ms >= ?2 AND day_ms < ?3 ORDER BY day_ms")
        .bind(&[tenant_id.into(), JsValue::from_f64(from_ms as f64), JsValue::from_f64(to_ms as f64)])?
        .all()
        .await?;
    let rows: Vec<Row> = result.results()?;
    let int = |v: Option<f64>| v.map(|n| n as i64);
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut status = match r.status.as_str() {
                "completed" => VisitStatus::Completed,
                "no_show" => VisitStatus::NoShow,
                _ => VisitStatus::Open,
            };
            // A visit nobody came to is a no-show once its time is over.
            let mut duration_ms = int(r.duration_ms);
            if status == VisitStatus::Open && int(r.scheduled_end_ms).is_some_and(|e| now_ms > e) && r.started_at_ms.is_none() {
                status = VisitStatus::NoShow;
                duration_ms = Some(0);
            }
            VisitRow {
                visit_ref: r.visit_ref,
                base_id: r.base_id,
                department: String::new(),
                scheduled_start_ms: int(r.scheduled_start_ms),
                metrics: VisitMetrics {
                    started_at_ms: int(r.started_at_ms),
                    duration_ms,
                    lobby_wait_ms: int(r.lobby_wait_ms),
                    status,
                    peak_attendees: r.peak_attendees as u32,
                    sms_sent: r.sms_sent as u32,
                },
            }
        })
        .collect())
}

#[derive(Deserialize)]
struct Count {
    kind: String,
    detail: Option<String>,
    n: f64,
}

/// Launch and SMS counts in the range, from the events (index
/// `events_by_tenant_time`).
pub async fn event_counts(env: &Env, tenant_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<(String, Option<String>, u32)>> {
    let result = db(env)?
        .prepare(
            "SELECT kind, CASE WHEN kind = 'launch_failed' THEN detail END AS detail, COUNT(*) AS n FROM events
             WHERE tenant_id = ?1 AND at_ms >= ?2 AND at_ms < ?3
               AND kind IN ('launch_started', 'launch_succeeded', 'launch_failed', 'sms_sent', 'sms_delivered', 'sms_undelivered', 'sms_failed')
             GROUP BY 1, 2",
        )
        .bind(&[tenant_id.into(), JsValue::from_f64(from_ms as f64), JsValue::from_f64(to_ms as f64)])?
        .all()
        .await?;
    Ok(result.results::<Count>()?.into_iter().map(|c| (c.kind, c.detail, c.n as u32)).collect())
}
