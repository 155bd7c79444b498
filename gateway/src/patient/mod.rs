//! The patient journey: `/j/<code>`, served at the edge with no sign-in.
//! The link is looked up in KV (rate-limited per client), the page rendered
//! (`page`), and the lobby follows the visit through `visit::client` until
//! a clinician is there.

use serde::Deserialize;
use shared::patient_link::{is_code, negotiate, text, Lang, PatientLink};
use worker::{Method, Request, Response};

pub mod page;

use self::page::{patient_page, LOBBY_JS};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::pages::{escape, html_with_csp, page_html};
use crate::storage::kv;
use crate::visit::client::{self as visit, Event, PATIENT_EVENTS};

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; media-src 'self' blob: mediastream:; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn lang(req: &Request) -> Lang {
    negotiate(&req.headers().get("accept-language").ok().flatten().unwrap_or_default())
}

fn client(req: &Request) -> String {
    req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "local".into())
}

async fn allowed(ctx: &Ctx, limiter: &str, key: &str) -> bool {
    match ctx.env.rate_limiter(limiter) {
        Ok(l) => l.limit(key.to_string()).await.map(|o| o.success).unwrap_or(true),
        Err(_) => true,
    }
}

fn page(status: u16, lang: Lang, title: &str, body: &str) -> Response {
    let html = page_html(title, body).replacen("<html lang=\"en\">", &format!("<html lang=\"{}\">", lang.tag()), 1);
    html_with_csp(status, &html, CSP)
}

fn problem(status: u16, lang: Lang, title: &str, message: &str, code: &str) -> Response {
    page(status, lang, title, &format!("<p>{}</p><p class=\"code\">Code: <code>{}</code></p>", escape(message), escape(code)))
}

/// `/j/lobby.js` and `/j/{code}[/status|/arrive|/event|/live]`.
pub async fn serve(mut req: Request, ctx: &Ctx, rest: &str) -> Result<Response> {
    if rest == "lobby.js" {
        let mut resp = Response::ok(LOBBY_JS)?;
        resp.headers_mut().set("content-type", "text/javascript; charset=utf-8")?;
        resp.headers_mut().set("cache-control", "public, max-age=300")?;
        return Ok(resp);
    }
    let lang = lang(&req);
    let t = text(lang);
    let (code, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let who = client(&req);
    // The limit and the link at once: one round trip on the page's path, not two.
    let link = async {
        match is_code(code) {
            true => kv::patient_link(&kv::store(&ctx.env)?, code).await,
            false => Ok(None),
        }
    };
    let (within_limit, link) = futures_util::future::join(allowed(ctx, "LINK_OPENS", &who), link).await;
    if !within_limit {
        return Ok(problem(429, lang, t.title, t.throttled, "link_throttled"));
    }
    let Some(link): Option<PatientLink> = link? else {
        if !allowed(ctx, "LINK_MISSES", &who).await {
            return Ok(problem(429, lang, t.title, t.throttled, "link_throttled"));
        }
        return Ok(problem(404, lang, t.not_found_title, t.not_found, "link_not_found"));
    };
    if link.revoked || link.expires_at <= crate::clock::now_secs() {
        // The clinic's current phone (it may have changed since the link was made).
        let tenant = kv::tenant(&kv::store(&ctx.env)?, &link.tenant_id).await?;
        let clinic_phone = link.clinic_phone.clone().or_else(|| tenant.and_then(|t| t.sms).and_then(|s| s.clinic_phone));
        let phone = clinic_phone
            .as_ref()
            .map(|p| format!("<p>{} <a href=\"tel:{p}\">{p}</a></p>", escape(t.call_clinic), p = escape(p)))
            .unwrap_or_default();
        return Ok(page(
            410,
            lang,
            t.expired_title,
            &format!("<p>{}</p>{phone}<p class=\"code\">Code: <code>link_expired</code></p>", escape(t.expired)),
        ));
    }
    let env = &ctx.env;
    match (req.method(), sub) {
        (Method::Get, "") => {
            // One "opened" per visit a minute from this isolate: reloads cost no Durable Object call.
            if first_open_in_a_while(&link.visit_ref, crate::clock::now_secs()) {
                let (env2, r) = (env.clone(), link.visit_ref.clone());
                ctx.background(async move {
                    let _ = visit::record(&env2, &r, Event::new("patient_link_opened", None, None)).await;
                });
            }
            Ok(html_with_csp(200, &patient_page(lang, t, &link), CSP))
        }
        (Method::Get, "status") => crate::http::json(200, &visit::patient_status(env, &link.visit_ref).await?),
        (Method::Post, "arrive") => {
            let view = visit::patient_arrive(env, &link.visit_ref).await?;
            crate::visit::tracking::follow_later(ctx, &link.visit_ref);
            crate::http::json(200, &view)
        }
        // Called by the page's script: errors answer JSON, not a page.
        (Method::Post, "event") => record_event(&mut req, env, &link.visit_ref).await.or_else(|e| Ok(crate::http::api_error(&e))),
        (Method::Get, "live") => {
            crate::http::same_origin(&req, &ctx.origin)?;
            visit::live(env, &link.visit_ref, req, "patient").await
        }
        _ => Ok(problem(404, lang, t.not_found_title, t.not_found, "link_not_found")),
    }
}

/// `POST /j/{code}/event {kind}`: one of the page's events, within the visit's bounds.
async fn record_event(req: &mut Request, env: &worker::Env, visit_ref: &str) -> Result<Response> {
    #[derive(Deserialize)]
    struct Body {
        kind: String,
    }
    let body: Body = crate::http::read_json(req).await?;
    if !PATIENT_EVENTS.contains(&body.kind.as_str()) || body.kind == "patient_link_opened" {
        return Err(Error::bad_request("invalid_event", "Unknown event.").field("kind"));
    }
    match visit::record(env, visit_ref, Event::new(&body.kind, None, None)).await? {
        Some(visit::Refusal::KindFull | visit::Refusal::LogFull) => {
            Err(Error::new(429, "event_limit", "This visit has recorded as many of these as it keeps; nothing more was stored."))
        }
        // Leaving a lobby one is not in: nothing to record.
        Some(visit::Refusal::NoChange) | None => crate::http::no_content(),
    }
}

thread_local! {
    static RECENT_OPENS: std::cell::RefCell<std::collections::HashMap<String, u64>> = std::cell::RefCell::new(std::collections::HashMap::new());
}

const REOPEN_QUIET_SECS: u64 = 60;

/// True when this isolate has not recorded an open of this visit in the last minute.
pub fn first_open_in_a_while(visit_ref: &str, now: u64) -> bool {
    RECENT_OPENS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 10_000 {
            m.retain(|_, at| *at + REOPEN_QUIET_SECS > now);
        }
        match m.get(visit_ref) {
            Some(at) if *at + REOPEN_QUIET_SECS > now => false,
            _ => {
                m.insert(visit_ref.to_string(), now);
                true
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_within_a_minute_is_not_recorded_again() {
        assert!(first_open_in_a_while("v1", 1000));
        assert!(!first_open_in_a_while("v1", 1030));
        assert!(first_open_in_a_while("v2", 1030), "another visit");
        assert!(first_open_in_a_while("v1", 1060));
    }
}
