//! The visit journey: one appointment's video visit once a clinician has
//! launched it. `client` is what other journeys may ask of a visit (its
//! named interface), `pass` the clinician's sealed pass to its page,
//! `object` the Durable Object that holds it, `deliver` the patient messages
//! it sends exactly once, `page` the clinician's page. The routes under
//! `/visit/{ref}` are here; "Send link" is the notify journey's.

pub mod bounds;
pub mod client;
pub mod deliver;
pub mod object;
pub mod page;
pub mod pass;
pub mod tracking;

use worker::{Method, Request, Response};

use self::client::Event;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::storage::kv;

/// `/visit/{ref}`, `/visit/{ref}/status`, `/visit/{ref}/live`.
pub async fn serve(req: Request, ctx: &Ctx, rest: &str) -> Result<Response> {
    if rest == "live.js" && req.method() == Method::Get {
        let mut resp = Response::ok(page::LIVE_JS)?;
        resp.headers_mut().set("content-type", "text/javascript; charset=utf-8")?;
        resp.headers_mut().set("cache-control", "no-cache")?;
        return Ok(resp);
    }
    let (visit_ref, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let pass = pass::check(&req, ctx, visit_ref).await?;
    let post = req.method() == Method::Post;
    if post && sub != "end" && sub != "join" {
        return Err(Error::new(405, "method_not_allowed", "This page can only be read."));
    }
    if post {
        crate::http::same_origin(&req, &ctx.origin)?;
    }
    let env = &ctx.env;
    match sub {
        "" => {
            let (status, entry) =
                futures_util::future::join(client::status(env, visit_ref), kv::iss_entry(&kv::store(env)?, &pass.iss)).await;
            let (status, entry) = (status?, entry?);
            let ancestors = entry.as_ref().map(|e| e.launch.frame_ancestors.clone()).unwrap_or_default();
            let csp = page::csp(&ancestors, status.meeting.as_ref().map(|m| m.provider_url.as_str()));
            let mut page = crate::pages::html_with_csp(200, &page::provider_page(ctx, visit_ref, &status), &csp);
            if !ancestors.is_empty() {
                // The EHR's frame is allowed by the policy above; the old header would deny it.
                page.headers_mut().delete("x-frame-options")?;
            }
            // Its own form posts back here: "same-origin" lets the browser send
            // the Origin header the send-link check wants (no-referrer sends "null").
            page.headers_mut().set("referrer-policy", "same-origin")?;
            Ok(page)
        }
        "status" => crate::http::json(200, &client::status(env, visit_ref).await?),
        "live" => {
            // A page of another site must not open the clinician's live feed.
            crate::http::same_origin(&req, &ctx.origin)?;
            client::live(env, visit_ref, req, "provider").await
        }
        "end" if post => {
            let status = client::status(env, visit_ref).await?;
            if !status.has(&["visit_ended"]) {
                client::record(env, visit_ref, Event::new("visit_ended", Some(&pass.ehr_user_id), None)).await?;
            }
            crate::http::see_other(&format!("/visit/{visit_ref}"))
        }
        // Joining lets a waiting patient in: a POST from the page, never a link.
        "join" if post => {
            client::record(env, visit_ref, Event::new("provider_joined", Some(&pass.ehr_user_id), None)).await?;
            tracking::follow_later(ctx, visit_ref);
            let (status, entry) =
                futures_util::future::join(client::status(env, visit_ref), kv::iss_entry(&kv::store(env)?, &pass.iss)).await;
            let (status, entry) = (status?, entry?);
            let meeting = status.meeting.ok_or_else(|| Error::not_found("The meeting"))?;
            let tenant_id = entry.as_ref().map(|e| e.tenant_id.clone()).unwrap_or_default();
            let end = status.info.as_ref().and_then(|i| i.end.as_deref());
            let url = crate::video::join_url(env, &tenant_id, entry.as_ref().and_then(|e| e.video.as_ref()), &meeting, true, end).await?;
            crate::http::see_other(&url)
        }
        "join" => crate::http::see_other(&format!("/visit/{visit_ref}")),
        _ => Err(Error::not_found("This page")),
    }
}
