//! The patient's side: `/j/<code>`, served at the edge with no sign-in.
//! A small page (no framework): the appointment time in the patient's own
//! time zone and language, a camera and microphone check, then the lobby,
//! which follows the visit's Durable Object until a clinician is there.

use serde::Deserialize;
use shared::kv_keys;
use shared::patient_link::{is_code, negotiate, text, Lang, PatientLink, Text};
use worker::{Method, Request, Response};

use crate::error::{Error, Result};
use crate::pages::{escape, html_with_csp, page_html};
use crate::storage::kv;
use crate::visit::{self, Event, PATIENT_EVENTS};
use crate::Ctx;

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
    if !allowed(ctx, "LINK_OPENS", &who).await {
        return Ok(problem(429, lang, t.title, t.throttled, "link_throttled"));
    }
    let link: Option<PatientLink> = if is_code(code) {
        kv::store(&ctx.env)?.get(&kv_keys::patient_link(code)).json().await.map_err(worker::Error::from)?
    } else {
        None
    };
    let Some(link) = link else {
        if !allowed(ctx, "LINK_MISSES", &who).await {
            return Ok(problem(429, lang, t.title, t.throttled, "link_throttled"));
        }
        return Ok(problem(404, lang, t.not_found_title, t.not_found, "link_not_found"));
    };
    if link.revoked || link.expires_at <= crate::now_secs() {
        // The clinic's current phone (it may have changed since the link was made).
        let tenant: Option<shared::tenant::Tenant> = kv::store(&ctx.env)?.get(&kv_keys::tenant(&link.tenant_id)).json().await.map_err(worker::Error::from)?;
        let clinic_phone = link.clinic_phone.clone().or_else(|| tenant.and_then(|t| t.sms).and_then(|s| s.clinic_phone));
        let phone = clinic_phone.as_ref().map(|p| format!("<p>{} <a href=\"tel:{p}\">{p}</a></p>", escape(t.call_clinic), p = escape(p))).unwrap_or_default();
        return Ok(page(410, lang, t.expired_title, &format!("<p>{}</p>{phone}<p class=\"code\">Code: <code>link_expired</code></p>", escape(t.expired))));
    }
    let env = &ctx.env;
    match (req.method(), sub) {
        (Method::Get, "") => {
            // One "opened" per visit a minute from this isolate: reloads cost no Durable Object call.
            if first_open_in_a_while(&link.visit_ref, crate::now_secs()) {
                let (env2, r) = (env.clone(), link.visit_ref.clone());
                ctx.background(async move {
                    let _ = visit::record(&env2, &r, Event::new("patient_link_opened", None, None)).await;
                });
            }
            Ok(html_with_csp(200, &patient_page(lang, t, &link), CSP))
        }
        (Method::Get, "status") => crate::http::json(200, &visit::patient_status(env, &link.visit_ref).await?),
        (Method::Post, "arrive") => crate::http::json(200, &visit::patient_arrive(env, &link.visit_ref).await?),
        (Method::Post, "event") => {
            #[derive(Deserialize)]
            struct Body {
                kind: String,
            }
            let body: Body = crate::http::read_json(&mut req).await?;
            if !PATIENT_EVENTS.contains(&body.kind.as_str()) || body.kind == "patient_link_opened" {
                return Err(Error::bad_request("invalid_event", "Unknown event.").field("kind"));
            }
            visit::record(env, &link.visit_ref, Event::new(&body.kind, None, None)).await?;
            crate::http::no_content()
        }
        (Method::Get, "live") => visit::live(env, &link.visit_ref, req, "patient").await,
        _ => Ok(problem(404, lang, t.not_found_title, t.not_found, "link_not_found")),
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

/// The patient's page for an open link (what `GET /j/{code}` renders).
pub fn patient_page(lang: Lang, t: &Text, link: &PatientLink) -> String {
    let start = link.start.clone().unwrap_or_default();
    let words = serde_json::json!({
        "check_ok": t.check_ok, "denied": t.denied, "no_device": t.no_device,
        "waiting": t.waiting, "admitted": t.admitted,
    });
    let body = format!(
        "<p>{when} <time id=\"when\" datetime=\"{s}\">{s}</time></p>\
         <section aria-labelledby=\"check-title\"><h2 id=\"check-title\">{check_title}</h2>\
         <video id=\"preview\" autoplay muted playsinline hidden></video>\
         <p><label for=\"level\">{mic}</label> <meter id=\"level\" min=\"0\" max=\"1\" value=\"0\"></meter></p>\
         <p id=\"check-result\" role=\"status\" aria-live=\"polite\"></p>\
         <p><button id=\"check\" type=\"button\">{check_button}</button></p></section>\
         <p><button id=\"join\" type=\"button\" class=\"button\">{join}</button></p>\
         <p id=\"lobby\" role=\"status\" aria-live=\"polite\"></p>\
         <script id=\"vg-words\" type=\"application/json\">{words}</script>\
         <script src=\"/j/lobby.js\" defer></script>",
        when = escape(t.when),
        s = escape(&start),
        check_title = escape(t.check_title),
        mic = escape(t.microphone),
        check_button = escape(t.check_button),
        join = escape(t.join),
        // A JSON data block is not executed; `<` is escaped so it cannot end the element.
        words = words.to_string().replace('<', "\\u003c"),
    );
    page_html(t.title, &body).replacen("<html lang=\"en\">", &format!("<html lang=\"{}\">", lang.tag()), 1)
}

/// The lobby's script. Time in the patient's own zone and language; the
/// device check (live preview and level meter); then the lobby, following
/// the visit over a WebSocket with polling as the fallback.
pub const LOBBY_JS: &str = r#"(() => {
  const words = JSON.parse(document.getElementById('vg-words').textContent);
  const base = location.pathname.replace(/\/$/, '');
  const lang = document.documentElement.lang;
  const when = document.getElementById('when');
  const d = new Date(when.dateTime);
  if (!isNaN(d)) when.textContent = new Intl.DateTimeFormat(lang, {dateStyle: 'full', timeStyle: 'short'}).format(d);
  const result = document.getElementById('check-result');
  const post = (path, body) => fetch(base + path, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body || {})});
  document.getElementById('check').addEventListener('click', async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
      const video = document.getElementById('preview');
      video.srcObject = stream; video.hidden = false;
      const audio = new AudioContext(); const analyser = audio.createAnalyser();
      audio.createMediaStreamSource(stream).connect(analyser);
      const data = new Uint8Array(analyser.fftSize); const meter = document.getElementById('level');
      const tick = () => { analyser.getByteTimeDomainData(data); let peak = 0;
        for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
        meter.value = peak; requestAnimationFrame(tick); };
      tick();
      result.textContent = words.check_ok;
      post('/event', {kind: 'device_check_passed'});
    } catch (e) {
      const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
      result.textContent = denied ? words.denied : words.no_device;
      result.dataset.problem = denied ? 'denied' : 'no_device';
      post('/event', {kind: 'device_check_failed'});
    }
  });
  const lobby = document.getElementById('lobby');
  // Once on the way into the meeting, later updates (another socket message,
  // the poll the socket's close starts) must not start a second navigation.
  let leaving = false;
  const show = view => {
    if (leaving) return true;
    if (view.state === 'admitted' && view.url) { leaving = true; waiting = false; lobby.textContent = words.admitted; location.assign(view.url); return true; }
    if (view.state === 'waiting') lobby.textContent = words.waiting;
    return false;
  };
  let polling = null;
  const poll = () => { if (!polling && !leaving) polling = setInterval(() => fetch(base + '/status').then(r => r.json()).then(show).catch(() => {}), 3000); };
  let waiting = false;
  // Closing the page while waiting tells the clinician the patient has gone.
  addEventListener('pagehide', () => {
    if (waiting) navigator.sendBeacon(base + '/event', new Blob([JSON.stringify({kind: 'patient_left'})], {type: 'application/json'}));
  });
  document.getElementById('join').addEventListener('click', async () => {
    document.getElementById('join').disabled = true;
    const view = await (await post('/arrive')).json();
    if (show(view)) return;
    waiting = true;
    try {
      const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + base + '/live');
      ws.onmessage = m => show(JSON.parse(m.data));
      ws.onclose = poll; ws.onerror = poll;
    } catch { poll(); }
  });
})();
"#;

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
