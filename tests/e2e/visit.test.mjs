// What the clinician sees after a launch: the provider page in real
// Chromium with live status over WebSocket, the skip-the-page option, a
// failed write-back that does not block, and self-hosted Jitsi rooms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLaunchStack, eventually } from '../lib/launch.mjs';
import { launchBrowser, axeViolations, watchConsole } from '../lib/browser.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';
import { request as httpRequest } from 'node:http';
import { createHmac } from 'node:crypto';

let ctx;
let browser;
before(async () => {
  ctx = await startLaunchStack({ vars: { JITSI_SECRET: 'jitsi-app-secret' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await ctx?.stack.stop();
});

async function setTenant(change) {
  const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  const r = await ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: t.body.display_name, ...change }, { 'if-match': t.headers.get('etag') });
  assert.equal(r.status, 200, r.text);
  return t.body;
}

test('the provider page in Chromium: meeting links, live updates over WebSocket, no CSP errors, accessible', async () => {
  const l = await ctx.newLaunch('good', { appointment: DEMO.good.appointments.video1 });
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(ctx.launchUrl(l));
  assert.match(new URL(page.url()).pathname, /^\/visit\/[0-9a-f]{64}$/);
  await page.getByRole('button', { name: 'Join in browser' }).waitFor();
  await page.getByText('Clinician opened the visit from the EHR').first().waitFor();
  assert.deepEqual(await axeViolations(page), []);
  const before = await page.locator('#events li').count();

  // Another launch of the same appointment shows up live on the open page.
  await ctx.launch('good', { appointment: DEMO.good.appointments.video1 });
  await eventually(async () => assert.ok(await page.locator('#events li').count() > before), 5000);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a failed write-back is shown on the page and does not block the clinician', async () => {
  const res = await ctx.launch('good', { appointment: DEMO.good.appointments.video2, scenario: { patch_status: 423 } });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.text, /Join in browser/);
  const status = await eventually(async () => {
    const s = JSON.parse((await res.browser.get(`${res.url}/status`)).text);
    assert.ok(s.events.some(e => e.kind === 'write_back_failed'), JSON.stringify(s.events));
    return s;
  });
  assert.match(status.events.find(e => e.kind === 'write_back_failed').detail, /423/);
  const page = await res.browser.get(res.url);
  assert.match(page.text, /Could not save the meeting links in the EHR/);
});

test('skip the page: after the first sign-in the clinician goes straight into the meeting', async () => {
  await setTenant({ launch: { write_back: true, skip_provider_page: true } });
  try {
    // good2's practitioner has not launched in this suite yet: first time shows the page.
    const first = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 });
    assert.match(new URL(first.url).pathname, /^\/visit\//);
    await new Promise(r => setTimeout(r, 300)); // the first sign-in is remembered in the background
    const second = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 }, new HttpBrowser());
    assert.equal(new URL(second.url).origin, new URL(ctx.stack.video.url).origin, second.hops.map(h => h.url).join('\n'));
    assert.match(second.url, /meetup-join/);
  } finally {
    await setTenant({ launch: { write_back: true, skip_provider_page: false } });
  }
});

test('self-hosted Jitsi: room links signed per role, no video service call', async () => {
  const previous = await setTenant({ video: { provider: 'jitsi', base_url: 'https://meet.example.org', app_id: 'visitgate', secret_ref: 'JITSI_SECRET' } });
  try {
    const res = await ctx.launch('good4', { appointment: DEMO.good4.appointments.video2 });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const href = (await res.browser.post(`${res.url}/join`, {}, { until: u => !u.startsWith(ctx.stack.url) })).pending;
    assert.match(href, /^https:\/\/meet\.example\.org\/vg-/);
    const jwt = new URL(href).searchParams.get('jwt');
    const [h, p, sig] = jwt.split('.');
    // What prosody's token auth checks: HS256 over header.payload with the app secret.
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { alg: 'HS256', typ: 'JWT' });
    assert.equal(sig, createHmac('sha256', 'jitsi-app-secret').update(`${h}.${p}`).digest('base64url'), 'signed with the tenant\'s Jitsi secret');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    assert.equal(claims.aud, 'jitsi');
    assert.equal(claims.room, new URL(href).pathname.slice(1));
    assert.equal(claims.context.user.moderator, true);
  } finally {
    await setTenant({ video: previous.video });
  }
});

test('the visit page needs the pass from the launch', async () => {
  const res = await ctx.launch('good', { appointment: DEMO.good.appointments.video1 });
  const stranger = await new HttpBrowser().get(res.url);
  assert.equal(stranger.status, 401);
  assert.match(stranger.text, /visit_pass_missing/);
  const other = await new HttpBrowser().get(`${ctx.stack.url}/visit/${'0'.repeat(64)}`);
  assert.equal(other.status, 401);
});

/** A WebSocket upgrade as a browser on `origin` would send it: the status it gets. */
function upgrade(url, cookie, origin) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin, cookie,
    } });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', res => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

test('class 8: live feed, framing and Join refuse other sites; Join has no GET side effect', async () => {
  const res = await ctx.launch('good', { appointment: DEMO.good.appointments.video1 });
  const cookie = res.browser.cookieHeader(res.url);
  assert.equal(await upgrade(`${res.url}/live`, cookie, 'https://evil.example'), 403, 'another site cannot open the live feed');
  assert.equal(await upgrade(`${res.url}/live`, cookie, ctx.stack.url), 101, 'the page itself can');
  // Framing: nobody by default; the tenant's EHR origins when set.
  const page = await fetch(res.url, { headers: { cookie } });
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none';/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  const bad = await ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: 'Clinic', launch: { write_back: true, skip_provider_page: false, frame_ancestors: ['https://ehr.example.org/app'] } },
    { 'if-match': (await ctx.stack.api('GET', '/api/v1/tenants/clinic')).headers.get('etag') });
  assert.deepEqual([bad.status, bad.body.code, bad.body.field], [400, 'invalid_launch_settings', 'launch.frame_ancestors.0']);
  await setTenant({ launch: { write_back: true, skip_provider_page: false, frame_ancestors: ['https://ehr.example.org'] } });
  try {
    const framed = await fetch(res.url, { headers: { cookie } });
    assert.match(framed.headers.get('content-security-policy'), /frame-ancestors https:\/\/ehr\.example\.org;/);
    assert.equal(framed.headers.get('x-frame-options'), null);
  } finally {
    await setTenant({ launch: { write_back: true, skip_provider_page: false } });
  }
  // Join: a GET (a link, an image, a prefetch) changes nothing; a post from another site is refused.
  const joins = async () => JSON.parse((await res.browser.get(`${res.url}/status`)).text).events.filter(e => e.kind === 'provider_joined').length;
  const before = await joins();
  const get = await fetch(`${res.url}/join`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(get.status, 303);
  assert.equal(new URL(get.headers.get('location'), res.url).pathname, new URL(res.url).pathname);
  const forged = await fetch(`${res.url}/join`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' }, redirect: 'manual' });
  assert.equal(forged.status, 403);
  assert.equal(await joins(), before, 'neither joined the clinician');
  const joined = await fetch(`${res.url}/join`, { method: 'POST', headers: { cookie, origin: ctx.stack.url }, redirect: 'manual' });
  assert.equal(joined.status, 303);
  assert.match(joined.headers.get('location'), /meetup-join/);
  assert.equal(await joins(), before + 1);
});

test('class 9: Jitsi links are signed at join time, for the visit as it is now', async () => {
  const previous = await setTenant({ video: { provider: 'jitsi', base_url: 'https://meet.example.org', app_id: 'visitgate', secret_ref: 'JITSI_SECRET' } });
  try {
    const start = new Date(Date.now() + 3600_000);
    const appt = await (await fetch(`${ctx.sb}/_sandbox/appointments`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'good4', start: start.toISOString(), minutes: 30 }) })).json();
    const exp = async () => {
      const res = await ctx.launch('good4', { appointment: appt.id });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const href = (await res.browser.post(`${res.url}/join`, {}, { until: u => !u.startsWith(ctx.stack.url) })).pending;
      return JSON.parse(Buffer.from(new URL(href).searchParams.get('jwt').split('.')[1], 'base64url')).exp;
    };
    const first = await exp();
    assert.equal(first, Math.floor(start.getTime() / 1000) + 30 * 60 + 3600, 'an hour after the end');
    // The visit moves two days later: the next join's link is valid for the new time.
    const moved = new Date(start.getTime() + 2 * 86_400_000);
    await fetch(`${ctx.sb}/_sandbox/appointments/${appt.id}/move`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ start: moved.toISOString() }) });
    assert.equal(await exp(), first + 2 * 86_400);
  } finally {
    await setTenant({ video: previous.video });
  }
});
