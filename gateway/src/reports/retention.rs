//! The retention job (its own daily Cron Trigger): each tenant's usage
//! reports and audit entries older than its `retention` are deleted, one
//! tenant at a time so one failure never stops another. Visit objects
//! delete themselves (`visit::object`); a deleted tenant's reports go with
//! it (`forget_tenant`).

use shared::retention::Retention;
use wasm_bindgen::JsValue;
use worker::Env;

use super::db;
use crate::error::Result;
use crate::storage::config::ConfigStore;

/// The retention job's Cron Trigger (`wrangler.toml`): daily, 03:30 UTC.
pub const CRON: &str = "30 3 * * *";

#[derive(Debug, Default)]
pub struct Summary {
    pub tenants: usize,
    pub events: usize,
    pub visits: usize,
    pub audit: u64,
    pub problems: Vec<String>,
}

fn changes(r: &worker::D1Result) -> usize {
    r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0)
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
