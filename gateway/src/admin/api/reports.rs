//! `GET /api/v1/tenants/{id}/reports/{summary|visits|visits.csv}`: usage
//! reports, live from the reports database. Filters: `range=7|30|90` (days
//! up to now, default 30) or `from` / `to` (dates, `to` inclusive), and
//! `department` (a FHIR base's label).

use shared::report::{csv, Summary, VisitRow};
use worker::{Request, Response};

use super::tenants::load;
use crate::admin::auth::Principal;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::reports::query;

const DAY_MS: i64 = 86_400_000;

struct Filter {
    from_ms: i64,
    to_ms: i64,
    department: Option<String>,
}

fn date_ms(s: &str, field: &str) -> Result<i64> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    ok.then(|| crate::clock::iso_ms(&format!("{s}T00:00:00Z")))
        .flatten()
        .ok_or_else(|| Error::bad_request("invalid_date", "Give dates as YYYY-MM-DD.").field(field))
}

fn filter(req: &Request, now_ms: i64) -> Result<Filter> {
    let url = req.url()?;
    let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    let department = get("department").filter(|d| !d.is_empty());
    let (from_ms, to_ms) = match (get("from"), get("to")) {
        (Some(f), Some(t)) => (date_ms(&f, "from")?, date_ms(&t, "to")? + DAY_MS),
        (None, None) => {
            let days: i64 = match get("range").as_deref() {
                None | Some("30") => 30,
                Some("7") => 7,
                Some("90") => 90,
                Some(_) => {
                    return Err(Error::bad_request("invalid_range", "The range is 7, 30 or 90 days, or give from and to.").field("range"))
                }
            };
            (now_ms - days * DAY_MS, now_ms + DAY_MS)
        }
        _ => {
            return Err(Error::bad_request("invalid_range", "Give both from and to, or neither.").field(if get("from").is_some() {
                "to"
            } else {
                "from"
            }))
        }
    };
    if to_ms <= from_ms || to_ms - from_ms > 400 * DAY_MS {
        return Err(Error::bad_request("invalid_range", "The range must run forwards and cover at most 400 days.").field("to"));
    }
    Ok(Filter { from_ms, to_ms, department })
}

async fn rows(ctx: &Ctx, tenant: &shared::tenant::Tenant, f: &Filter, now_ms: i64) -> Result<Vec<VisitRow>> {
    let label = |base_id: &str| {
        tenant.fhir_bases.iter().find(|b| b.id == base_id).map(|b| b.department.clone()).unwrap_or_else(|| "(removed)".into())
    };
    let mut rows = query::visits(&ctx.env, &tenant.id, f.from_ms, f.to_ms, now_ms).await?;
    for r in rows.iter_mut() {
        r.department = label(&r.base_id);
    }
    if let Some(d) = &f.department {
        rows.retain(|r| &r.department == d);
    }
    Ok(rows)
}

pub async fn handle(req: &Request, ctx: &Ctx, who: &Principal, id: &str, what: &str) -> Result<Response> {
    let tenant = load(ctx, who, id).await?;
    let now_ms = js_sys::Date::now() as i64;
    let f = filter(req, now_ms)?;
    match what {
        "summary" => {
            let (rows, counts) =
                futures_util::future::join(rows(ctx, &tenant, &f, now_ms), query::event_counts(&ctx.env, &tenant.id, f.from_ms, f.to_ms))
                    .await;
            let mut summary = Summary::from_rows(&rows?);
            let mut errors: Vec<(String, u32)> = vec![];
            for (kind, detail, n) in counts? {
                match kind.as_str() {
                    "launch_started" => summary.launches += n,
                    "launch_succeeded" => summary.launches_ok += n,
                    "launch_failed" => errors.push((detail.unwrap_or_else(|| "unknown".into()), n)),
                    "sms_sent" => summary.sms_sent += n,
                    "sms_delivered" => summary.sms_delivered += n,
                    "sms_undelivered" | "sms_failed" => summary.sms_failed += n,
                    _ => {}
                }
            }
            errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            summary.launch_errors = errors;
            crate::http::json(200, &serde_json::json!({ "from_ms": f.from_ms, "to_ms": f.to_ms, "summary": summary }))
        }
        "visits" => crate::http::json(
            200,
            &serde_json::json!({ "from_ms": f.from_ms, "to_ms": f.to_ms, "visits": rows(ctx, &tenant, &f, now_ms).await? }),
        ),
        "visits.csv" => {
            let iso = |ms: i64| String::from(js_sys::Date::new(&(ms as f64).into()).to_iso_string());
            let body = csv(&rows(ctx, &tenant, &f, now_ms).await?, iso);
            let mut resp = Response::ok(body)?;
            let h = resp.headers_mut();
            h.set("content-type", "text/csv; charset=utf-8")?;
            h.set("content-disposition", &format!("attachment; filename=\"visits-{}.csv\"", tenant.id))?;
            h.set("cache-control", "no-store")?;
            Ok(resp)
        }
        _ => Err(Error::not_found("This report")),
    }
}
