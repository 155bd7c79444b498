// The patient's link in real Chromium with fake camera and microphone:
// device check, lobby, and being let through when the clinician launches;
// the denied-permission help; German; bad, expired and guessed codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startLaunchStack, eventually, post } from '../lib/launch.mjs';
import { axeViolations, watchConsole } from '../lib/browser.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

let ctx;
let browser;
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream'];
before(async () => {
  ctx = await startLaunchStack();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: [...FLAGS, '--use-fake-ui-for-media-stream'] });
});
after(async () => {
  await browser?.close();
  await ctx?.stack.stop();
});

const patientLink = (tenant, appointment) => ctx.patientLink(tenant, appointment);

test('device check, lobby, then through to the meeting when the clinician joins', async () => {
  const { link, provider } = await patientLink('good', DEMO.good.appointments.video2);
  assert.match(link, new RegExp(`^${ctx.stack.url}/j/[A-Za-z0-9_-]{12}$`));
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const problems = watchConsole(page);
  const resp = await page.goto(link);
  assert.ok((await resp.body()).length < 30 * 1024, 'page under 30 KB');
  assert.doesNotMatch(await page.content(), /Practitioner|dr\.visits|meetup-join/i, 'no provider details');
  await page.getByRole('button', { name: 'Check camera and microphone' }).click();
  await page.getByText('Camera and microphone work.').waitFor();
  assert.equal(await page.locator('#preview').isVisible(), true);
  assert.deepEqual(await axeViolations(page), []);

  await page.getByRole('button', { name: 'Join the appointment' }).click();
  await page.getByText(/You are in the waiting room/).waitFor();
  // Checked while still on our page: the meeting stand-in (another origin) has its own 404s, e.g. favicon.
  assert.deepEqual(problems, []);
  // The clinician presses Join on the provider page: the patient moves on.
  const join = await provider.browser.post(`${provider.url}/join`, {});
  assert.match(join.url, /meetup-join/);
  await page.waitForURL(u => u.href.includes('meetup-join'), { timeout: 10_000 });
  assert.equal(new URL(page.url()).origin, new URL(ctx.stack.video.url).origin);

  const status = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text);
  const kinds = status.events.map(e => e.kind);
  for (const k of ['patient_link_opened', 'device_check_passed', 'patient_lobby_arrival', 'provider_joined', 'patient_admitted']) {
    assert.ok(kinds.includes(k), `${k} in ${kinds}`);
  }
  await context.close();
});

test('with the page skipped, a provider launch lets the waiting patient through', async () => {
  const first = await patientLink('good2', DEMO.good2.appointments.video2); // first sign-in: page shown
  const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  await ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: 'Clinic', launch: { write_back: true, skip_provider_page: true } }, { 'if-match': t.headers.get('etag') });
  try {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const page = await context.newPage();
    await page.goto(first.link);
    await page.getByRole('button', { name: 'Join the appointment' }).click();
    await page.getByText(/You are in the waiting room/).waitFor();
    const again = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video2 });
    assert.match(again.url, /meetup-join/, 'clinician sent straight into the meeting');
    await page.waitForURL(u => u.href.includes('meetup-join'), { timeout: 10_000 });
    await context.close();
  } finally {
    const cur = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
    await ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: 'Clinic', launch: { write_back: true, skip_provider_page: false } }, { 'if-match': cur.headers.get('etag') });
  }
});

test('a patient who closes the page leaves the lobby and is not let in until back; the clinician can end the visit', async () => {
  const { link, provider } = await patientLink('good4', DEMO.good4.appointments.video2);
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Join the appointment' }).click();
  await page.getByText(/You are in the waiting room/).waitFor();
  await page.close({ runBeforeUnload: true }); // pagehide → beacon
  const view = async () => (await (await fetch(`${link}/status`)).json()).state;
  await eventually(async () => assert.equal(await view(), 'not_arrived'));
  await provider.browser.post(`${provider.url}/join`, {});
  assert.equal(await view(), 'not_arrived', 'nobody is let in who is not there');
  const back = await (await fetch(`${link}/arrive`, { method: 'POST' })).json();
  assert.equal(back.state, 'admitted', 'back in the lobby with the clinician there: let through');
  await context.close();

  const end = await fetch(`${provider.url}/end`, { method: 'POST', redirect: 'manual', headers: { cookie: provider.browser.cookieHeader(provider.url), origin: ctx.stack.url } });
  assert.equal(end.status, 303);
  const forged = await fetch(`${provider.url}/end`, { method: 'POST', redirect: 'manual', headers: { cookie: provider.browser.cookieHeader(provider.url), origin: 'https://evil.example' } });
  assert.equal(forged.status, 403);
  const kinds = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events.map(e => e.kind);
  assert.deepEqual(kinds.filter(k => ['patient_lobby_arrival', 'patient_left', 'provider_joined', 'patient_admitted', 'visit_ended'].includes(k)),
    ['patient_lobby_arrival', 'patient_left', 'provider_joined', 'patient_lobby_arrival', 'patient_admitted', 'visit_ended']);
});

test('denied camera permission shows the help text', async () => {
  const { link } = await patientLink('good4', DEMO.good4.appointments.video1);
  const denied = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: FLAGS });
  try {
    const context = await denied.newContext({ permissions: [] });
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Check camera and microphone' }).click();
    await eventually(async () => assert.ok(['denied', 'no_device'].includes(await page.locator('#check-result').getAttribute('data-problem'))), 8000);
    assert.match(await page.locator('#check-result').innerText(), /Allow them for this page|No camera or microphone was found/);
  } finally {
    await denied.close();
  }
});

test('German Accept-Language gives the German page', async () => {
  const { link } = await patientLink('good', DEMO.good.appointments.video1);
  const context = await browser.newContext({ locale: 'de-DE', extraHTTPHeaders: { 'accept-language': 'de-DE,de;q=0.9' } });
  const page = await context.newPage();
  await page.goto(link);
  assert.equal(await page.locator('html').getAttribute('lang'), 'de');
  await page.getByRole('heading', { name: 'Ihr Video-Termin' }).waitFor();
  await page.getByRole('button', { name: 'Am Termin teilnehmen' }).waitFor();
  assert.match(await page.locator('#when').innerText(), /2026|2027/);
  await context.close();
});

test('unknown codes get 404, odd ones too, and guessing is throttled', async () => {
  const b = new HttpBrowser();
  const bad = await b.get(`${ctx.stack.url}/j/AAAAAAAAAAAA`);
  assert.equal(bad.status, 404);
  assert.match(bad.text, /link_not_found/);
  assert.match(bad.text, /not valid/);
  assert.equal((await b.get(`${ctx.stack.url}/j/short`)).status, 404);
  let throttled = false;
  for (let i = 0; i < 8 && !throttled; i++) {
    const r = await b.get(`${ctx.stack.url}/j/${String(i).padStart(12, 'x')}`);
    throttled = r.status === 429;
  }
  assert.ok(throttled, 'repeated misses are rate-limited');
});

test('class 6: a patient link flooding events is capped per kind; the clinician joining is still recorded', async () => {
  const start = new Date(Date.now() + 3600_000);
  start.setUTCSeconds(0, 0);
  const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good4', patient: DEMO.good4.patients.video2, start: start.toISOString(), minutes: 20 });
  const { link, provider } = await patientLink('good4', appt.id);
  const statusOf = async () => JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events;
  const event = kind => fetch(`${link}/event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind }) });
  const codes = [];
  for (let i = 0; i < 30; i++) codes.push((await event('device_check_passed')).status);
  assert.deepEqual(codes.slice(0, 20), Array(20).fill(204), 'the first twenty are recorded');
  assert.deepEqual(codes.slice(20), Array(10).fill(429), 'then refused');
  const refused = await event('device_check_passed');
  assert.equal((await refused.json()).code, 'event_limit');
  // Leaving a lobby one is not in changes nothing.
  const before = (await statusOf()).length;
  for (let i = 0; i < 5; i++) assert.equal((await event('patient_left')).status, 204);
  const after = await statusOf();
  assert.equal(after.length, before, 'nothing stored by the refused and the no-op events');
  assert.equal(after.filter(e => e.kind === 'device_check_passed').length, 20);
  // The clinician's own events still land.
  await provider.browser.post(`${provider.url}/join`, {});
  assert.ok((await statusOf()).some(e => e.kind === 'provider_joined'), 'provider_joined recorded');
});
