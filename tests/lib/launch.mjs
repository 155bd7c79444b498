// A gateway with a tenant whose FHIR bases point at the EHR sandbox and
// whose video provider is the Graph stand-in, plus launch helpers.
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { HttpBrowser } from './http-browser.mjs';
import { DEMO, fhirBase } from '../standins/ehr-sandbox.mjs';
import { DEFAULT_APP } from '../standins/video.mjs';

export const SECRET = 'basic-secret-123';

export async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${url}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** Bases: good (test, secret_basic), good2 (production, private_key_jwt), good4 (test, key without kid). */
export async function startLaunchStack(options = {}) {
  const vars = { EHR_SECRET_CLINIC: SECRET, ...(options.vars ?? {}) };
  // Tenant "clinic" may use these Worker secrets, and no other tenant may.
  const tenantSecrets = { clinic: ['VIDEO_CLIENT_SECRET', ...Object.keys(vars)] };
  const stack = await startStack({ ...options, vars, tenantSecrets });
  const sb = stack.sandbox.url;
  const redirect_uri = `${stack.url}/launch/callback`;
  await post(`${sb}/_sandbox/clients`, { client_id: 'vg-basic', redirect_uri, auth_method: 'client_secret_basic', client_secret: SECRET });
  await post(`${sb}/_sandbox/clients`, { client_id: 'vg-jwt', redirect_uri, auth_method: 'private_key_jwt', jwks_url: `${stack.url}/.well-known/jwks.json` });

  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'clinic', display_name: 'Clinic' })).status, 201);
  const video = {
    provider: 'teams', entra_tenant_id: DEFAULT_APP.tenantId, client_id: DEFAULT_APP.clientId,
    client_secret_ref: 'VIDEO_CLIENT_SECRET', organizer_user_id: 'dr.visits@contoso.example',
    login_base: stack.video.url, graph_base: stack.video.url,
  };
  const put = await stack.api('PUT', '/api/v1/tenants/clinic', { display_name: 'Clinic', video }, { 'if-match': '"v1"' });
  assert.equal(put.status, 200, put.text);
  let etag = put.headers.get('etag');
  const bases = [
    ['good', 'test', { client_id: 'vg-basic', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET_CLINIC' }],
    ['good2', 'production', { client_id: 'vg-jwt', auth_method: 'private_key_jwt' }],
    ['good4', 'test', { client_id: 'vg-basic', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET_CLINIC' }],
  ];
  for (const [name, environment, client] of bases) {
    const r = await stack.api('POST', '/api/v1/tenants/clinic/fhir-bases',
      { url: fhirBase(sb, name), environment, department: name, client }, { 'if-match': etag });
    assert.equal(r.status, 201, r.text);
    etag = r.headers.get('etag');
  }

  const newLaunch = (tenant = 'good', extra = {}) => post(`${sb}/_sandbox/launches`, { tenant, ...extra });
  const launchUrl = l => `${stack.url}/launch?iss=${encodeURIComponent(l.iss)}&launch=${encodeURIComponent(l.launch)}`;
  const launch = async (tenant = 'good', extra = {}, browser = new HttpBrowser()) => {
    const l = await newLaunch(tenant, extra);
    const res = await browser.get(launchUrl(l));
    return { ...res, launch: l, browser };
  };
  const appointment = async id => (await fetch(`${sb}/_sandbox/appointments/${id}`)).json();
  /** A first provider launch creates the visit and its patient link. */
  const patientLink = async (tenant, appt) => {
    const res = await launch(tenant, { appointment: appt });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const href = res.text.match(/id="patient-link">([^<]+)</)[1];
    return { link: href, provider: res };
  };
  return { stack, sb, newLaunch, launchUrl, launch, appointment, patientLink };
}

export function room(appt, text) {
  return appt.contained.find(c => c.type?.some(t => t.text === text)).telecom[0].value;
}

export async function eventually(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (e) { if (Date.now() > end) throw e; }
    await new Promise(r => setTimeout(r, 100));
  }
}

/**
 * A launch stack plus the Twilio-shaped SMS stand-in, and `setSms(overrides)`
 * that gives tenant "clinic" SMS on base good2 (private_key_jwt, so Backend
 * Services works) with both consents.
 */
export async function startSmsLaunchStack({ vars = {} } = {}) {
  const { startSmsStandIn, DEFAULT_ACCOUNT, MAGIC_NUMBER } = await import('../standins/sms.mjs');
  const sms = await startSmsStandIn({ port: 0, purchaseDelayMs: 1500 });
  const ctx = await startLaunchStack({ vars: { TWILIO_AUTH_TOKEN: DEFAULT_ACCOUNT.authToken, ...vars } });
  // The Cron Trigger at a chosen time (ms): reminders and backoff follow the
  // run's scheduled time, so tests move time by scheduling, not by sleeping.
  const runJob = async (time = Date.now()) => {
    const r = await fetch(`${ctx.stack.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Math.round(time)}`);
    if (r.status !== 200) throw new Error(`scheduled run: HTTP ${r.status} ${await r.text()}`);
  };
  const setSms = async (overrides = {}) => {
    const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
    const base = t.body.fhir_bases.find(b => b.department === 'good2');
    return ctx.stack.api('PUT', '/api/v1/tenants/clinic/sms', {
      consent_send_on_behalf: true, consent_attendees: true,
      provider: { kind: 'twilio', account_sid: DEFAULT_ACCOUNT.accountSid, auth_token_ref: 'TWILIO_AUTH_TOKEN', api_base: sms.url },
      numbers: [MAGIC_NUMBER], base_numbers: { [base.id]: MAGIC_NUMBER }, clinic_name: 'Clinic',
      ...overrides,
    }, { 'if-match': t.headers.get('etag') });
  };
  // The notification job watches good2's location (Oracle has no change feed: the analysts give
  // location ids); every run looks, so tests move time by scheduling.
  const setWatch = async (watch = { locations: [DEMO.good2.location], every_minutes: 1 }) => {
    const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
    const base = t.body.fhir_bases.find(b => b.department === 'good2');
    return ctx.stack.api('PUT', `/api/v1/tenants/clinic/fhir-bases/${base.id}/watch`, watch, { 'if-match': t.headers.get('etag') });
  };
  const watched = await setWatch();
  assert.equal(watched.status, 200, watched.text);
  const stop = async () => {
    await ctx.stack.stop();
    await sms.close();
  };
  return { ...ctx, sms, setSms, setWatch, runJob, stop };
}
