//! The retention job (its own daily Cron Trigger), one tenant at a time so
//! one failure never stops another: visit objects whose visit ended, and
//! that were last active, more than `visit_days` ago are told to forget
//! (found through the reports' visit rows); then report rows and audit
//! entries past `reports_days` / `audit_days` are deleted. A visit object
//! also deletes itself later from its own alarm, should it never be asked;
//! a deleted tenant's reports go with it (`forget_tenant`).

use shared::retention::Retention;
use wasm_bindgen::JsValue;
use worker::Env;

use super::db;
use crate::error::Result;
use crate::storage::config::ConfigStore;
use crate::visit::client as visit;

/// Visit objects asked to forget per tenant per run (the rest wait a day).
const FORGET_PER_RUN: usize = 500;

/// The retention job's Cron Trigger (`wrangler.toml`): daily, 03:30 UTC.
pub const CRON: &str = "30 3 * * *";

#[derive(Debug, Default)]
pub struct Summary {
    pub tenants: usize,
    pub visit_objects: usize,
    pub events: usize,
    pub visits: usize,
    pub audit: u64,
    pub problems: Vec<String>,
}

fn changes(r: &worker::D1Result) -> usize {
    r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0)
}

#[derive(serde::Deserialize)]
struct VisitRefRow {
    visit_ref: String,
}

/// Tells visit objects past `cutoff_ms` (ended and last active before it) to
/// forget, six at a time, and marks their rows so each is asked once.
async fn forget_visits(env: &Env, tenant_id: &str, cutoff_ms: i64) -> Result<usize> {
    let db = db(env)?;
    let rows: Vec<VisitRefRow> = db
        .prepare(
            "SELECT visit_ref FROM visits WHERE tenant_id = ?1 AND forgotten = 0 AND updated_at_ms < ?2
             AND COALESCE(scheduled_end_ms, day_ms) < ?2 LIMIT ?3",
        )
        .bind(&[JsValue::from_str(tenant_id), JsValue::from_f64(cutoff_ms as f64), JsValue::from_f64(FORGET_PER_RUN as f64)])?
        .all()
        .await?
        .results()?;
    let mut done = 0;
    for chunk in rows.chunks(6) {
        let told = futures_util::future::join_all(chunk.iter().map(|r| visit::forget(env, &r.visit_ref))).await;
        let mut marks = vec![];
        for (row, result) in chunk.iter().zip(told) {
            match result {
                Ok(()) => marks.push(
                    db.prepare("UPDATE visits SET forgotten = 1 WHERE visit_ref = ?1 AND updated_at_ms < ?2")
                        .bind(&[JsValue::from_str(&row.visit_ref), JsValue::from_f64(cutoff_ms as f64)])?,
                ),
                Err(e) => worker::console_error!("retention {tenant_id}: visit object: {}", e.body.code),
            }
        }
        done += marks.len();
        if !marks.is_empty() {
            db.batch(marks).await?;
        }
    }
    Ok(done)
}

/// One tenant's reports from before `cutoff_ms`.
async fn prune_reports(env: &Env, tenant_id: &str, cutoff_ms: i64) -> Result<(usize, usize)> {
    let db = db(env)?;
    let args = [JsValue::from_str(tenant_id), JsValue::from_f64(cutoff_ms as f64)];
    let done = db
        .batch(vec![
            db.prepare("DELETE FROM events WHERE tenant_id = ?1 AND at_ms < ?2").bind(&args)?,
            db.prepare("DELETE FROM visits WHERE tenant_id = ?1 AND day_ms < ?2").bind(&args)?,
        ])
        .await?;
    Ok((done.first().map(changes).unwrap_or(0), done.get(1).map(changes).unwrap_or(0)))
}

pub async fn run(env: &Env, now_ms: i64) -> Result<Summary> {
    let store = ConfigStore::new(env)?;
    let tenants = store.list().await?;
    let mut summary = Summary { tenants: tenants.len(), ..Default::default() };
    for t in &tenants {
        let visit_cutoff = now_ms - t.retention.visit_days as i64 * shared::retention::DAY_MS;
        match forget_visits(env, &t.id, visit_cutoff).await {
            Ok(n) => summary.visit_objects += n,
            Err(e) => {
                worker::console_error!("retention {}: {}", t.id, e.body.code);
                summary.problems.push(format!("{}: {}", t.id, e.body.code));
            }
        }
        match prune_reports(env, &t.id, t.retention.reports_cutoff_ms(now_ms)).await {
            Ok((events, visits)) => {
                summary.events += events;
                summary.visits += visits;
            }
            Err(e) => {
                worker::console_error!("retention {}: {}", t.id, e.body.code);
                summary.problems.push(format!("{}: {}", t.id, e.body.code));
            }
        }
    }
    let iso = |ms: i64| crate::clock::iso((ms.max(0) / 1000) as u64);
    let cutoffs = tenants.iter().map(|t| (t.id.clone(), iso(t.retention.audit_cutoff_ms(now_ms)))).collect();
    summary.audit = store.prune_audit(cutoffs, iso(Retention::default().audit_cutoff_ms(now_ms))).await?;
    Ok(summary)
}

/// A deleted tenant's reports, all of them.
pub async fn forget_tenant(env: &Env, tenant_id: &str) -> Result<()> {
    prune_reports(env, tenant_id, i64::MAX / 2).await.map(|_| ())
}
