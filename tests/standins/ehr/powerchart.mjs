// A mini "PowerChart": the index page lists tenant good's schedule with Launch buttons, the way a
// clinician starts the app from the EHR. The button posts to /_sandbox/launch-now, which creates a
// launch and sends the browser to `{gateway}/launch?iss=...&launch=...`.

import { DEMO } from './data.mjs';
import { escapeHtml, html, json, readForm, redirect } from './http.mjs';
import { launchUrl, newLaunch } from './oauth.mjs';
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

function schedule(ctx) {
  const tables = ctx.state.store.get('good');
  const appts = [...tables.Appointment.values()].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const options = (pairs) => pairs.map(([v, label]) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`).join('');
  return appts.map((a) => {
    const patient = a.participant.find((p) => p.actor?.reference?.startsWith('Patient/'))?.actor.display ?? '';
    return `<tr><td>${escapeHtml(a.start.slice(0, 10))} ${escapeHtml(time(a.start))}–${escapeHtml(time(a.end))} UTC</td>`
      + `<td>${escapeHtml(a.serviceType?.[0]?.text ?? '')}</td><td>${escapeHtml(patient)}</td><td>${escapeHtml(a.status)}</td>`
      + `<td><form method="post" action="/_sandbox/launch-now">`
      + `<input type="hidden" name="tenant" value="good"><input type="hidden" name="appointment" value="${escapeHtml(a.id)}">`
      + `<select name="context" aria-label="Launch context">${options([['appointment', 'fhirContext'], ['encounter', 'encounter only'], ['none', 'patient only']])}</select> `
      + `<select name="scenario" aria-label="EHR behaviour">${options(Object.keys(PRESETS).map((k) => [k, k || 'behaves']))}</select> `
      + `<button>Launch</button></form></td></tr>`;
  }).join('\n');
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
