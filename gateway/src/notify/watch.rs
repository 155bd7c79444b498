//! One look at one FHIR base's watch list, by Oracle Health's documented
//! Appointment search: each watched location (or practitioner) list with a
//! `ge` + `lt` date window, pages followed. What changed is found by
//! comparing each video visit's version, start and status with what the
//! last look remembered (`shared::watch::plan`); a remembered visit that
//! left the search is read by id. A 429 is honoured with its
//! `Retry-After`. The look's health is kept for the portal.
//!
//! Cost per look: one search per 20 watched ids (plus a page per 50
//! appointments), one read per visit that left the search, and per visit
//! with a message due one Patient read; the token is cached.

use std::collections::{BTreeMap, HashMap};

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::appointment::{parse, VideoVisit};
use shared::kv_keys;
use shared::watch::{plan, Found, Health, HealthError, Seen, Watch};
use worker::Method;

use super::one::{notify_one, Channels, Item};
use crate::clock::{iso, iso_ms};
use crate::ctx::Ctx;
use crate::ehr::appointment::{search_all, Searched};
use crate::ehr::{backend, fhir};
use crate::error::{Error, Result};
use crate::seal::{self, Expiring};
use crate::storage::kv;
use crate::visit::client::{self as visit, Channel};
use shared::tenant::IssEntry;

/// Visits handled at once (each is an EHR read and a send at most).
const PARALLEL: usize = 6;
/// Visits per base per look, so one run stays well inside the Workers
/// subrequest limit; the rest wait for the next look (not remembered yet).
const BUDGET: usize = 250;
const PURPOSE: &[u8] = b"watch-id";

/// How one look went, for the run's log line.
#[derive(Debug, Default)]
pub struct Look {
    pub appointments: u32,
    pub sent: u32,
    pub retrying: u32,
    pub problem: Option<String>,
}

/// An appointment id, sealed: the memory holds no EHR id in clear.
#[derive(Serialize, Deserialize)]
struct WatchedId {
    id: String,
    expires_at: u64,
}

impl Expiring for WatchedId {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

fn ms(v: &VideoVisit) -> Option<i64> {
    v.start.as_deref().and_then(iso_ms)
}

/// The look, with its health written whatever happened.
pub async fn look(ctx: &Ctx, channels: &Channels<'_>, entry: &IssEntry, watch: &Watch, on: &[Channel], now: u64) -> Look {
    let store = match kv::store(&ctx.env) {
        Ok(s) => s,
        Err(e) => return Look { problem: Some(e.body.code), ..Default::default() },
    };
    let health_key = kv_keys::watch_health(&entry.base_id);
    let mut health: Health = kv::json(&store, &health_key).await.ok().flatten().unwrap_or_default();
    if watch.is_empty() {
        let why = Error::new(
            409,
            "watch_list_empty",
            "No locations or practitioners are watched, so no texts are sent. Add the ids the analysts gave.",
        );
        if health.last_error.as_ref().is_none_or(|e| e.code != why.body.code) {
            record_error(&mut health, &why, now);
            let _ = put_json(&store, &health_key, &health).await;
        }
        return Look { problem: Some(why.body.code), ..Default::default() };
    }
    // The interval, or the EHR's Retry-After, decides whether this run looks.
    let throttled = health.throttled_until.as_deref().and_then(crate::clock::secs);
    let last = health.last_run_at.as_deref().and_then(crate::clock::secs);
    if throttled.is_some_and(|t| t > now) || !watch.due(last, now) {
        return Look::default();
    }
    let mut requests = 0;
    let result = look_inner(ctx, channels, entry, watch, on, now, &mut requests).await;
    health.last_run_at = Some(iso(now));
    health.fhir_requests = requests;
    health.next_run_at = Some(iso(now + u64::from(watch.every_minutes) * 60));
    health.throttled_until = None;
    let out = match result {
        Ok(Outcome::Looked(l, first_error)) => {
            health.appointments = l.appointments;
            health.sent = l.sent;
            health.retrying = l.retrying;
            if let Some(e) = &first_error {
                record_error(&mut health, e, now);
            }
            Look { problem: first_error.map(|e| e.body.code), ..l }
        }
        Ok(Outcome::Throttled(wait)) => {
            let e =
                Error::new(429, "fhir_throttled", format!("The EHR asked Visitgate to wait {wait} s before searching again (HTTP 429)."));
            record_error(&mut health, &e, now);
            health.next_run_at = Some(iso(now + wait.max(60)));
            health.throttled_until = health.next_run_at.clone();
            Look { problem: Some(e.body.code), ..Default::default() }
        }
        Err(e) => {
            record_error(&mut health, &e, now);
            Look { problem: Some(e.body.code), ..Default::default() }
        }
    };
    if let Err(e) = put_json(&store, &health_key, &health).await {
        worker::console_error!("notify {}: health {}", entry.base_id, e.body.code);
    }
    out
}

fn record_error(health: &mut Health, e: &Error, now: u64) {
    health.last_error = Some(HealthError { code: e.body.code.clone(), message: e.body.message.clone(), at: iso(now) });
}

async fn put_json<T: Serialize>(store: &worker::kv::KvStore, key: &str, value: &T) -> Result<()> {
    store.put(key, serde_json::to_string(value)?).map_err(worker::Error::from)?.execute().await.map_err(worker::Error::from)?;
    Ok(())
}

enum Outcome {
    /// Looked; the first problem with one visit, if any.
    Looked(Look, Option<Error>),
    Throttled(u64),
}

async fn look_inner(
    ctx: &Ctx,
    channels: &Channels<'_>,
    entry: &IssEntry,
    watch: &Watch,
    on: &[Channel],
    now: u64,
    requests: &mut u32,
) -> Result<Outcome> {
    let store = kv::store(&ctx.env)?;
    let token = backend::system_token(ctx, entry).await?;
    let until = now + u64::from(watch.horizon_days) * 86_400;
    // The searches are independent: all at once.
    let searched =
        futures_util::future::join_all(watch.searches(&iso(now), &iso(until)).iter().map(|q| search_all(&entry.fhir_base, &token, q)))
            .await;
    let mut found: HashMap<String, (Value, VideoVisit)> = HashMap::new();
    for s in searched {
        match s? {
            Searched::Throttled(wait) => return Ok(Outcome::Throttled(wait)),
            Searched::Found(resources, pages) => {
                *requests += pages;
                for r in resources {
                    let Ok(v) = parse(&r) else { continue };
                    if entry.video_rule.covers(&r, &v) {
                        let visit_ref = visit::visit_ref(ctx, entry, &v.id)?;
                        found.insert(visit_ref, (r, v));
                    }
                }
            }
        }
    }
    let memory_key = kv_keys::watch_memory(&entry.base_id);
    let mut memory: BTreeMap<String, Seen> = kv::json(&store, &memory_key).await.ok().flatten().unwrap_or_default();
    let listed: Vec<Found> = found
        .iter()
        .map(|(r, (_, v))| Found {
            visit_ref: r.clone(),
            version: v.version_id.clone().unwrap_or_default(),
            start_ms: ms(v),
            status: v.status.clone(),
        })
        .collect();
    let reminder_until = now + shared::schedule::reminder_horizon_secs(&channels.reminder_offsets());
    let p = plan(&memory, &listed, now as i64 * 1000, until as i64 * 1000, reminder_until as i64 * 1000);
    for r in &p.forget {
        memory.remove(r);
    }

    let key = seal::cookie_key(ctx)?;
    let mut work: Vec<(String, Value, VideoVisit)> = vec![];
    for r in p.look.iter().take(BUDGET) {
        if let Some((res, v)) = found.remove(r) {
            work.push((r.clone(), res, v));
        }
    }
    // Left the search: moved out of the window or the watched places, cancelled, or deleted.
    for r in p.gone.iter().take(BUDGET.saturating_sub(work.len())) {
        let opened = match memory.get(r) {
            Some(s) => seal::open::<WatchedId>(&key, PURPOSE, &s.sealed_id, now).await.ok(),
            None => None,
        };
        let Some(id) = opened.map(|w| w.id) else {
            memory.remove(r);
            continue;
        };
        *requests += 1;
        let resp = fhir::call(Method::Get, &entry.fhir_base, &token, &format!("Appointment/{id}"), None, None).await?;
        match resp.status {
            404 | 410 => {
                memory.remove(r);
            }
            _ => {
                let res = fhir::judge(resp.status, &resp.body, "appointment")?;
                if let Ok(v) = parse(&res) {
                    work.push((r.clone(), res, v));
                }
            }
        }
    }

    let token = &token;
    let results: Vec<(String, VideoVisit, Result<Item>)> = stream::iter(work)
        .map(|(r, res, v)| async move {
            let result = notify_one(ctx, channels, entry, on, now, token, &res, &v).await;
            (r, v, result)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut l = Look { appointments: listed.len() as u32, ..Default::default() };
    let mut first_error = None;
    for (r, v, result) in results {
        // Anything but "nothing due" read the patient.
        *requests += u32::from(!matches!(result, Ok(Item::Nothing)));
        let settled = match result {
            Ok(Item::Sent) => {
                l.sent += 1;
                true
            }
            Ok(Item::Nothing) => true,
            Ok(Item::Retrying) => {
                l.retrying += 1;
                false
            }
            Err(e) => {
                first_error.get_or_insert(e);
                false
            }
        };
        // Remembered only once handled: a visit still retrying is looked at again.
        if settled {
            let sealed_id =
                seal::seal(&key, PURPOSE, &WatchedId { id: v.id.clone(), expires_at: until + 30 * 86_400 }, crate::crypto::random_bytes())
                    .await?;
            let seen = Seen { version: v.version_id.clone().unwrap_or_default(), start_ms: ms(&v), status: v.status.clone(), sealed_id };
            memory.insert(r, seen);
        }
    }
    put_json(&store, &memory_key, &memory).await?;
    Ok(Outcome::Looked(l, first_error))
}
