// Every SMART app-side rule, fed its bad input: each must be refused with a
// page that says what happened and gives a code, and never redirect anywhere
// unexpected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { startLaunchStack } from '../lib/launch.mjs';
import { HttpBrowser, pageCode } from '../lib/http-browser.mjs';
import { fhirBase, DEMO } from '../standins/ehr-sandbox.mjs';

let ctx;
const allHops = [];
before(async () => { ctx = await startLaunchStack(); });
after(async () => { await ctx?.stack.stop(); });

function refused(res, status, code, words) {
  allHops.push(...res.hops);
  assert.equal(res.status, status, `${code}: ${res.hops.map(h => `${h.status} ${h.url}`).join(' → ')}\n${res.text?.slice(0, 400)}`);
  assert.equal(pageCode(res.text), code, res.text.slice(0, 400));
  assert.match(res.headers.get('content-type'), /text\/html/);
  if (words) assert.match(res.text, words);
}

/** Runs a launch up to (not including) the callback; returns browser + callback URL. */
async function toCallback(tenant = 'good', extra = {}) {
  const l = await ctx.newLaunch(tenant, { appointment: DEMO[tenant].appointments.video1, ...extra });
  const browser = new HttpBrowser();
  const res = await browser.get(ctx.launchUrl(l), { until: u => u.includes('/launch/callback') });
  allHops.push(...res.hops);
  assert.ok(res.pending, JSON.stringify(res.hops));
  return { browser, callback: res.pending, state: new URL(res.pending).searchParams.get('state') };
}

const get = (url, browser = new HttpBrowser()) => browser.get(url);

test('iss must be configured, well-formed and of the right environment; launch must be present', async () => {
  const l = await ctx.newLaunch('good3');
  const unknown = await get(`${ctx.stack.url}/launch?iss=${encodeURIComponent(l.iss)}&launch=${l.launch}`);
  refused(unknown, 404, 'launch_unknown_iss', /not set up for virtual visits \(tenant config not found/);
  assert.match(unknown.text, /test FHIR base URL is configured/);
  assert.equal(unknown.hops.length, 1, 'never a redirect');

  refused(await get(`${ctx.stack.url}/launch?launch=abc`), 400, 'launch_iss_missing');
  refused(await get(`${ctx.stack.url}/launch?iss=javascript%3Aalert(1)&launch=abc`), 400, 'launch_iss_invalid');
  refused(await get(`${ctx.stack.url}/launch?iss=${encodeURIComponent('https://evil.example/r4')}&launch=abc`), 404, 'launch_unknown_iss');
  const good = fhirBase(ctx.sb, 'good');
  refused(await get(`${ctx.stack.url}/launch?iss=${encodeURIComponent(good)}`), 400, 'launch_missing');
  refused(await get(`${ctx.stack.url}/launch?iss=${encodeURIComponent(good)}&launch=`), 400, 'launch_missing');
  refused(await get(`${ctx.stack.url}/launch?iss=${encodeURIComponent(good)}&launch=abc&env=production`), 403, 'launch_wrong_environment', /configured as test/);
});

test('the state cookie: missing, tampered, mismatched, expired, replayed', async () => {
  const a = await toCallback();
  refused(await get(a.callback), 400, 'launch_cookie_missing'); // another browser

  const b = await toCallback();
  const c = b.browser.cookie('vg_launch_');
  assert.match(c.raw, /HttpOnly/);
  assert.match(c.raw, /SameSite=Lax/);
  assert.match(c.raw, /Path=\/launch\/callback/);
  assert.match(c.raw, /Max-Age=600/);
  c.value = c.value.slice(0, -6) + (c.value.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
  refused(await b.browser.get(b.callback), 400, 'launch_state_invalid');

  const m = await toCallback();
  const u = new URL(m.callback);
  u.searchParams.set('state', m.state.slice(0, 16) + 'x'.repeat(27));
  refused(await m.browser.get(u.href), 400, 'launch_state_mismatch');

  // A cookie sealed with the real key but already expired.
  const e = await toCallback();
  const key = Buffer.from(ctx.stack.vars.LAUNCH_COOKIE_KEY, 'hex');
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from('visitgate/launch-state/v1'));
  const plain = JSON.stringify({ state: e.state, nonce: 'n', code_verifier: 'v', iss: fhirBase(ctx.sb, 'good'), tenant_id: 'clinic', base_id: 'x', expires_at: Math.floor(Date.now() / 1000) - 1 });
  const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString('base64url');
  e.browser.cookie('vg_launch_').value = `v1.${sealed}`;
  refused(await e.browser.get(e.callback), 400, 'launch_state_expired');

  const r = await toCallback();
  const saved = { ...r.browser.cookie('vg_launch_') };
  const first = await r.browser.get(r.callback);
  assert.equal(first.status, 200, first.text.slice(0, 300));
  assert.ok(!r.browser.cookie('vg_launch_'), 'the callback clears the launch cookie');
  r.browser.cookies.push(saved);
  refused(await r.browser.get(r.callback), 400, 'launch_state_replayed');
});

test('the EHR saying no, or failing at the token endpoint', async () => {
  refused(await ctx.launch('good', { scenario: { deny: true } }), 403, 'launch_denied', /access_denied/);
  refused(await ctx.launch('good', { scenario: { token_status: 400 } }), 502, 'launch_token_refused', /invalid_grant/);
  refused(await ctx.launch('good', { scenario: { token_status: 500 } }), 502, 'launch_token_failed');
  refused(await ctx.launch('good', { scenario: { token_delay_ms: 11_000 } }), 504, 'launch_token_timeout');
});

test('id_token checks: signature, iss, aud, exp, nonce, fhirUser', async () => {
  const cases = {
    bad_signature: 'id_token_signature',
    wrong_iss: 'id_token_issuer',
    wrong_aud: 'id_token_audience',
    expired: 'id_token_expired',
    wrong_nonce: 'id_token_nonce',
    no_fhir_user: 'id_token_no_fhir_user',
    // Good RS384 math, but with the key the EHR publishes for RS256 only (RFC 8725 §3.1).
    key_alg_mismatch: 'id_token_unknown_key',
  };
  for (const [tamper, code] of Object.entries(cases)) {
    refused(await ctx.launch('good', { scenario: { id_token: tamper } }), 401, code);
  }
});

test('id_tokens signed RS384, ES256 or ES384 are checked in WebCrypto and accepted', async () => {
  for (const alg of ['RS384', 'ES256', 'ES384']) {
    const res = await ctx.launch('good', { scenario: { id_token_alg: alg } });
    assert.equal(res.status, 200, `${alg}: ${res.text.slice(0, 300)}`);
    assert.match(new URL(res.url).pathname, /^\/visit\//, alg);
  }
  refused(await ctx.launch('good', { scenario: { id_token_alg: 'ES256', id_token: 'bad_signature' } }), 401, 'id_token_signature');
});

test('insufficient scopes and a missing appointment', async () => {
  const narrow = await ctx.launch('good', { scenario: { grant_scopes: 'launch openid fhirUser user/Patient.rs' } });
  refused(narrow, 403, 'launch_insufficient_scopes', /user\/Appointment/);
  const inPerson = await ctx.launch('good', { appointment: DEMO.good.appointments.inPerson });
  refused(inPerson, 422, 'appointment_not_video');
  // No fhirContext or encounter, and the patient has no video visit today.
  const none = await ctx.launch('good', { appointment: DEMO.good.appointments.inPerson, context: 'none' });
  refused(none, 404, 'appointment_not_found', /No video visit was found for today/);
});

test('the benchmark route does not exist unless make bench asks for it (BENCH_ROUTES=1)', async () => {
  const r = await fetch(`${ctx.stack.url}/_bench/id_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 404);
  await r.text();
});

test('no open redirect: every redirect went to the gateway or the configured EHR', async () => {
  const extra = await get(`${ctx.stack.url}/launch/callback?state=x&code=y&redirect_uri=https%3A%2F%2Fevil.example&next=https%3A%2F%2Fevil.example`);
  refused(extra, 400, 'launch_cookie_missing');
  const allowed = [new URL(ctx.stack.url).origin, new URL(ctx.sb).origin];
  for (const h of allHops.filter(h => h.location)) {
    const origin = new URL(h.location, h.url).origin;
    assert.ok(allowed.includes(origin), `${h.url} redirected to ${h.location}`);
  }
  assert.ok(allHops.length > 20);
});
