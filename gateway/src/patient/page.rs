//! The patient's page: a small page (no framework) with the appointment
//! time in the patient's own time zone and language, a camera and
//! microphone check, then the lobby, following the visit over a WebSocket.

use shared::patient_link::{Lang, PatientLink, Text};

use crate::pages::{escape, page_html};

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
