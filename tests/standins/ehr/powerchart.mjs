// A mini "PowerChart": the index page lists tenant good's schedule with Launch buttons, the way a
// clinician starts the app from the EHR. The button posts to /_sandbox/launch-now, which creates a
// launch and sends the browser to `{gateway}/launch?iss=...&launch=...`. A "Book a video visit" form
// and each row's "Move +1 h" / "Cancel" buttons post plain HTML forms to /_sandbox/book-now,
// /_sandbox/move-now and /_sandbox/cancel-now, which run the same code as the JSON control
// routes (schedule.mjs) and answer 303 → `/` (or a short HTML error page with a link back).

import { DEMO } from './data.mjs';
import { escapeHtml, html, json, readForm, redirect } from './http.mjs';
import { launchUrl, newLaunch } from './oauth.mjs';
import { book, cancel, findAppointment, move } from './schedule.mjs';
import { TENANT_TABLE } from './tenants.mjs';

// Misbehaviours offered on the page (scenario presets); tests pass scenarios directly.
const PRESETS = {
  '': {},
  deny: { deny: true },
  token500: { token_status: 500 },
  slowToken: { token_delay_ms: 8000 },
  badIdToken: { id_token: 'bad_signature' },
  fewerScopes: { grant_scopes: 'launch openid fhirUser user/Patient.read' },
  locked: { patch_status: 423 },
};

const time = (iso) => iso.slice(11, 16);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const options = (pairs) => pairs.map(([v, label]) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`).join('');
const seeOther = () => ({ status: 303, headers: { location: '/' }, body: '' });

// A small inline form posting one appointment id, with one button.
const rowForm = (action, id, text, label) => `<form method="post" action="${action}" style="display:inline">`
  + `<input type="hidden" name="appointment" value="${escapeHtml(id)}">`
  + `<button aria-label="${escapeHtml(label)}">${escapeHtml(text)}</button></form>`;

function schedule(ctx) {
  const tables = ctx.state.store.get('good');
  const appts = [...tables.Appointment.values()].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  return appts.map((a) => {
    const patient = a.participant.find((p) => p.actor?.reference?.startsWith('Patient/'))?.actor.display ?? '';
    const when = `${a.start.slice(0, 10)} ${time(a.start)} UTC`;
    const changes = a.status === 'cancelled' ? '' : ' '
      + rowForm('/_sandbox/move-now', a.id, 'Move +1 h', `Move +1 h: ${patient}, ${when}`) + ' '
      + rowForm('/_sandbox/cancel-now', a.id, 'Cancel', `Cancel: ${patient}, ${when}`);
    return `<tr><td>${escapeHtml(a.start.slice(0, 10))} ${escapeHtml(time(a.start))}–${escapeHtml(time(a.end))} UTC</td>`
      + `<td>${escapeHtml(a.serviceType?.[0]?.text ?? '')}</td><td>${escapeHtml(patient)}</td><td>${escapeHtml(a.status)}</td>`
      + `<td><form method="post" action="/_sandbox/launch-now">`
      + `<input type="hidden" name="tenant" value="good"><input type="hidden" name="appointment" value="${escapeHtml(a.id)}">`
      + `<select name="context" aria-label="Launch context">${options([['appointment', 'fhirContext'], ['encounter', 'encounter only'], ['none', 'patient only']])}</select> `
      + `<select name="scenario" aria-label="EHR behaviour">${options(Object.keys(PRESETS).map((k) => [k, k || 'behaves']))}</select> `
      + `<button>Launch</button></form>${changes}</td></tr>`;
  }).join('\n');
}

// "YYYY-MM-DDTHH:MM" of an instant in UTC (the value a datetime-local input takes).
const localValue = (ms) => new Date(ms).toISOString().slice(0, 16);

// The booking form. The date-time is the browser's local time: a small script fills in the
// default (now + 1 h, rounded up to 5 minutes) and the hidden tz_offset_minutes
// (Date#getTimezoneOffset for the chosen date). Without JavaScript the offset stays 0 and the
// label says the time is read as UTC.
function bookingForm(ctx) {
  const tables = ctx.state.store.get('good');
  const patients = [...tables.Patient.values()].map((p) => [p.id, p.name?.[0]?.text ?? p.id]);
  const start = Math.ceil((Date.now() + HOUR) / (5 * MINUTE)) * 5 * MINUTE;
  return `<h2>Book a video visit (with ${escapeHtml(DEMO.good.names.practitioner)})</h2>
<form method="post" action="/_sandbox/book-now" id="book-visit">
<input type="hidden" name="tenant" value="good">
<input type="hidden" name="tz_offset_minutes" value="0">
<p><label for="book-patient">Patient</label> <select id="book-patient" name="patient" required>${options(patients)}</select></p>
<p><label for="book-start">Date and time (<span id="book-tz">UTC; turn on JavaScript to use your local time</span>)</label>
<input type="datetime-local" id="book-start" name="start_local" value="${escapeHtml(localValue(start))}" required></p>
<p><label for="book-minutes">Duration (minutes)</label> <input type="number" id="book-minutes" name="minutes" value="15" min="1" max="1440" required></p>
<p><button>Book</button></p>
</form>
<script>
(() => {
  const form = document.getElementById('book-visit');
  const when = form.elements.start_local;
  const tz = form.elements.tz_offset_minutes;
  const pad = (n) => String(n).padStart(2, '0');
  const d = new Date(Math.ceil((Date.now() + 3600000) / 300000) * 300000);
  when.value = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  const sync = () => {
    const t = new Date(when.value); // a date-time without offset is read as local time
    tz.value = String(Number.isNaN(t.getTime()) ? new Date().getTimezoneOffset() : t.getTimezoneOffset());
  };
  sync();
  when.addEventListener('change', sync);
  form.addEventListener('submit', sync);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.getElementById('book-tz').textContent = 'your local time' + (zone ? ', ' + zone : '');
})();
</script>`;
}

export function indexPage(ctx) {
  const rows = Object.entries(TENANT_TABLE).map(([name, t]) => {
    const base = `${ctx.origin}/r4/${t.id}`;
    return `<tr><td><b>${escapeHtml(name)}</b></td><td><code>${escapeHtml(base)}</code></td>`
      + `<td><a href="${escapeHtml(base)}/.well-known/smart-configuration">smart-configuration</a> · `
      + `<a href="${escapeHtml(base)}/metadata">metadata</a></td><td>${escapeHtml(t.about)}</td></tr>`;
  }).join('\n');
  return html(200, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Visitgate EHR sandbox</title></head>
<body><h1>Visitgate EHR sandbox (Oracle Health stand-in)</h1>
<p>Texts sent to patients appear in the SMS stand-in's outbox: <a href="${escapeHtml(ctx.state.smsUrl)}">${escapeHtml(ctx.state.smsUrl)}</a></p>
${bookingForm(ctx)}
<h2>Schedule — ${escapeHtml(DEMO.good.names.practitioner)} (tenant good)</h2>
<p>Launch opens the app at <code>${escapeHtml(ctx.state.gatewayUrl)}</code>.</p>
<table border="1" cellpadding="4"><tr><th>Time</th><th>Type</th><th>Patient</th><th>Status</th><th></th></tr>
${schedule(ctx)}
</table>
<h2>FHIR bases</h2>
<p>Request log: <a href="/_sandbox/requests">/_sandbox/requests</a>.</p>
<table border="1" cellpadding="4"><tr><th>Name</th><th>FHIR base</th><th>Discovery</th><th>Behaviour</th></tr>
${rows}
</table></body></html>
`);
}

/** POST /_sandbox/launch-now (form: tenant, appointment, context, scenario preset) → 302 to the gateway. */
export async function launchNow(ctx) {
  const form = await readForm(ctx);
  const scenario = PRESETS[form.scenario ?? ''];
  if (!scenario) return html(400, `<p>Unknown scenario preset ${escapeHtml(form.scenario)}</p>`);
  let launch;
  try {
    launch = newLaunch(ctx.state, {
      tenant: form.tenant || 'good',
      appointment: form.appointment || undefined,
      context: form.context || undefined,
      scenario,
    });
  } catch (err) {
    return html(400, `<p>${escapeHtml(err.message)}</p>`);
  }
  return redirect(launchUrl(ctx.state.gatewayUrl, `${ctx.origin}/r4/${launch.tenantId}`, launch.launch));
}

// The index page's schedule forms: run the schedule code, then back to the page.
function formReply(reply) {
  if (reply.status < 300) return seeOther();
  let message = `HTTP ${reply.status}`;
  try { message = JSON.parse(reply.body).error_description ?? message; } catch { /* keep the status */ }
  return formError(reply.status, message);
}
const formError = (status, message) => html(status, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Visitgate EHR sandbox: not done</title></head>
<body><h1>Not done</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the schedule</a></p></body></html>
`);

// datetime-local value ("YYYY-MM-DDTHH:MM[:SS]") + minutes the browser is behind UTC → ISO instant.
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
function instantOf(local, offset) {
  const m = LOCAL.exec(local ?? '');
  if (!m) return { error: 'Date and time must look like 2030-01-02T15:30' };
  if (!/^-?\d{1,4}$/.test(offset ?? '') || Math.abs(Number(offset)) > 18 * 60) return { error: 'tz_offset_minutes must be whole minutes within ±18 h' };
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return { error: `${local} is not a real date-time` };
  return { start: new Date(wall + Number(offset) * MINUTE).toISOString() };
}

/** POST /_sandbox/book-now (form: tenant?, patient, start_local, tz_offset_minutes?, minutes?) → 303 to `/`. */
export async function bookNow(ctx) {
  const form = await readForm(ctx);
  const { start, error } = instantOf(form.start_local, form.tz_offset_minutes || '0');
  if (error) return formError(400, error);
  const minutes = /^\d{1,5}$/.test(form.minutes ?? '') ? Number(form.minutes) : form.minutes;
  return formReply(book(ctx.state, ctx.origin, {
    tenant: form.tenant || 'good',
    start,
    ...(form.patient ? { patient: form.patient } : {}),
    ...(form.minutes ? { minutes } : {}),
  }));
}

/** POST /_sandbox/move-now (form: appointment) → one hour later, then 303 to `/`. */
export async function moveNow(ctx) {
  const id = (await readForm(ctx)).appointment ?? '';
  const found = findAppointment(ctx.state, id);
  if (!found) return formError(404, `Appointment/${id} does not exist in any tenant`);
  return formReply(move(ctx.state, id, { start: new Date(Date.parse(found.appt.start) + HOUR).toISOString() }));
}

/** POST /_sandbox/cancel-now (form: appointment) → cancelled, then 303 to `/`. */
export async function cancelNow(ctx) {
  return formReply(cancel(ctx.state, (await readForm(ctx)).appointment ?? ''));
}

// What smart_style_url points at (SMART styling hints, Oracle-like colours).
export const style = () => json(200, {
  color_background: '#edeae3',
  color_error: '#9e2d2d',
  color_highlight: '#69b5ce',
  color_modal_backdrop: '',
  color_success: '#498e49',
  color_text: '#303030',
  dim_border_radius: '6px',
  dim_font_size: '13px',
  dim_spacing_size: '20px',
  font_family_body: "Georgia, Times, 'Times New Roman', serif",
  font_family_heading: "'HelveticaNeue-Light', Helvetica, Arial, 'Lucida Grande', sans-serif",
});
