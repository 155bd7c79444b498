// What the clinician sees after a launch: the provider page in real
// Chromium with live status over WebSocket, the skip-the-page option, a
// failed write-back that does not block, and self-hosted Jitsi rooms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLaunchStack, eventually } from '../lib/launch.mjs';
import { launchBrowser, axeViolations, watchConsole } from '../lib/browser.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

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
  await page.getByRole('link', { name: 'Join in browser' }).waitFor();
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
    const href = (await res.browser.get(`${res.url}/join`, { until: u => !u.startsWith(ctx.stack.url) })).pending;
    assert.match(href, /^https:\/\/meet\.example\.org\/vg-/);
    const jwt = new URL(href).searchParams.get('jwt');
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
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
