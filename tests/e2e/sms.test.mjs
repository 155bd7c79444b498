// "Send link to patient" from the provider page: the gateway reads the
// patient's mobile number from the EHR at send time (SMART Backend
// Services), texts the patient link through the Twilio-shaped stand-in,
// exactly once per press, only with both consents, and stores no number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { startSmsLaunchStack, eventually } from '../lib/launch.mjs';
import { HttpBrowser, pageCode } from '../lib/http-browser.mjs';
import { MAGIC_NUMBER, DEFAULT_ACCOUNT, twilioSignature } from '../standins/sms.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';
import { launchBrowser, watchConsole } from '../lib/browser.mjs';

let ctx;
let sms;
let setSms;
before(async () => {
  ctx = await startSmsLaunchStack();
  ({ sms, setSms } = ctx);
});
after(async () => { await ctx?.stop(); });

const messages = async () => (await fetch(`${sms.url}/_sms/messages`)).json();

/** POSTs the provider page's form as a browser would (same nonce twice = double click). */
async function press(provider, nonce) {
  const r = await fetch(`${provider.url}/send-link`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: provider.browser.cookieHeader(provider.url), 'content-type': 'application/x-www-form-urlencoded', origin: ctx.stack.url },
    body: `nonce=${nonce}`,
  });
  return { status: r.status, text: await r.text(), location: r.headers.get('location') };
}

test('SMS settings are validated and need both consents before anything is sent', async () => {
  const bad = await setSms({ numbers: ['555-0100'] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'invalid_sms_settings');
  assert.equal(bad.body.field, 'numbers');
  const typo = await setSms({ consent_attendee: true });
  assert.equal(typo.status, 400);
  assert.equal(typo.body.code, 'unknown_field');

  assert.equal((await setSms({ consent_attendees: false })).status, 200);
  const provider = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 });
  assert.equal(provider.status, 200, provider.text.slice(0, 300));
  const before = (await messages()).length;
  const r = await press(provider, 'n-consent');
  assert.equal(r.status, 409);
  assert.equal(pageCode(r.text), 'sms_consent_missing');
  assert.match(r.text, /both consents/);
  assert.equal((await messages()).length, before, 'nothing sent');
});

test('send link to patient: one text to the mobile number from the EHR, with a working link', async () => {
  assert.equal((await setSms()).status, 200);
  const provider = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 });
  const link = provider.text.match(/id="patient-link">([^<]+)</)[1];
  const before = (await messages()).length;
  const first = await press(provider, 'n-1');
  assert.equal(first.status, 303, first.text.slice(0, 300));
  const again = await press(provider, 'n-1'); // double submit of the same page
  assert.equal(again.status, 303);
  const sent = (await messages()).slice(before);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.equal(sent[0].to, DEMO.good2.contacts.video1.mobile);
  assert.equal(sent[0].from, MAGIC_NUMBER);
  assert.ok(sent[0].body.includes(link), sent[0].body);
  assert.ok(sent[0].body.length <= 160);
  const page = await new HttpBrowser().get(link);
  assert.equal(page.status, 200);

  const status = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text);
  assert.ok(status.events.some(e => e.kind === 'sms_sent'));
  // Twilio's signed delivery report reaches the visit; a forged one is refused.
  await eventually(async () => {
    const s = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text);
    assert.ok(s.events.some(e => e.kind === 'sms_delivered'), JSON.stringify(s.events.map(e => e.kind)));
  });
  const callback = (await (await fetch(`${sms.url}/_sms/callbacks`)).json()).find(c => c.kind !== 'inbound');
  const forged = await fetch(callback.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'AAAA' }, body: new URLSearchParams({ ...callback.params, MessageStatus: 'undelivered' }) });
  assert.equal(forged.status, 403);
  // A second, deliberate press sends again.
  await press(provider, 'n-2');
  assert.equal((await messages()).length, before + 2);
});

test('class 7: a replayed delivery report changes nothing; another tenant cannot report on this visit', async () => {
  const provider = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 });
  const visitRef = new URL(provider.url).pathname.split('/')[2];
  const delivered = async () => JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events.filter(e => e.kind === 'sms_delivered').length;
  const callback = (await (await fetch(`${sms.url}/_sms/callbacks`)).json()).find(c => c.kind !== 'inbound' && c.url.endsWith(visitRef));
  assert.ok(callback, 'the earlier text had its delivery report');
  const before = await delivered();
  const post = (url, params, token) => fetch(url, {
    method: 'POST', body: new URLSearchParams(params),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(token, url, params) },
  });
  // The genuine, signed report, sent twice more.
  for (let i = 0; i < 2; i++) assert.equal((await post(callback.url, callback.params, DEFAULT_ACCOUNT.authToken)).status, 204);
  assert.equal(await delivered(), before, 'a replay is not recorded again');
  // Another tenant, with a Twilio token of its own, signs a report for this visit.
  assert.equal((await ctx.stack.api('POST', '/api/v1/tenants', { id: 'intruder', display_name: 'Intruder' })).status, 201);
  assert.equal((await ctx.stack.api('PUT', '/api/v1/tenants/intruder/secrets/INTRUDER_TWILIO', { value: 'intruder-token' })).status, 204);
  const t = await ctx.stack.api('GET', '/api/v1/tenants/intruder');
  assert.equal((await ctx.stack.api('PUT', '/api/v1/tenants/intruder/sms', {
    consent_send_on_behalf: true, consent_attendees: true,
    provider: { kind: 'twilio', account_sid: DEFAULT_ACCOUNT.accountSid, auth_token_ref: 'INTRUDER_TWILIO', api_base: sms.url },
    numbers: [], base_numbers: {},
  }, { 'if-match': t.headers.get('etag') })).status, 200);
  const forgedUrl = callback.url.replace(/\/status\/[^/]+\//, '/status/intruder/');
  const params = { ...callback.params, MessageSid: 'SMforged0000000000000000000000001', MessageStatus: 'undelivered', ErrorCode: '30006' };
  const r = await post(forgedUrl, params, 'intruder-token');
  assert.equal(r.status, 204, 'answered like any report: nothing tells the intruder whose visit it is');
  const events = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events;
  assert.ok(!events.some(e => e.kind === 'sms_undelivered'), JSON.stringify(events.map(e => e.kind)));
});

test('the button on the provider page in Chromium sends the text', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const problems = watchConsole(page);
    const l = await ctx.newLaunch('good2', { appointment: DEMO.good2.appointments.video2 });
    await page.goto(ctx.launchUrl(l));
    const before = (await messages()).length;
    await page.getByRole('button', { name: 'Send link to patient' }).click();
    await page.getByText('Link sent to the patient by text').first().waitFor({ timeout: 10_000 });
    assert.equal((await messages()).length, before + 1);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a provider failure is retried, and a timeout after acceptance is not sent twice', async () => {
  const provider = await ctx.launch('good2', { appointment: DEMO.good2.appointments.video1 });
  let before = (await messages()).length;
  await fetch(`${sms.url}/_sms/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1, status: 500 }) });
  assert.equal((await press(provider, 'n-retry')).status, 303);
  assert.equal((await messages()).length, before + 1, 'retried after the 500, sent once');

  before = (await messages()).length;
  await fetch(`${sms.url}/_sms/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1, status: 'timeout_after_accept' }) });
  assert.equal((await press(provider, 'n-ambiguous')).status, 303);
  assert.equal((await messages()).length, before + 1, 'found in the provider log, not resent');
});

test('generate a new number: 202 at once, status survives a reload, the number joins the settings with our inbound webhook', async () => {
  assert.equal((await setSms()).status, 200);
  const api = ctx.stack.api;
  const bad = await api('POST', '/api/v1/tenants/clinic/sms/numbers', { country: 'US', area_code: '81' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'area_code');
  const started = await api('POST', '/api/v1/tenants/clinic/sms/numbers', { country: 'US', area_code: '816' });
  assert.equal(started.status, 202, started.text);
  assert.equal(started.body.status, 'running');
  const location = started.headers.get('location');
  assert.match(location, /^\/api\/v1\/tenants\/clinic\/sms\/numbers\/ord_/);
  // A "reload": the order is found again by listing, and by its own address.
  const listed = await api('GET', '/api/v1/tenants/clinic/sms/numbers');
  assert.ok(listed.body.orders.some(o => o.id === started.body.id));
  let order;
  await eventually(async () => {
    order = (await api('GET', location)).body;
    assert.equal(order.status, 'succeeded', JSON.stringify(order));
  }, 20000);
  assert.match(order.number, /^\+1816/);
  const tenant = await api('GET', '/api/v1/tenants/clinic');
  assert.ok(tenant.body.sms.numbers.includes(order.number));
  const { DEFAULT_ACCOUNT } = await import('../standins/sms.mjs');
  const auth = `Basic ${Buffer.from(`${DEFAULT_ACCOUNT.accountSid}:${DEFAULT_ACCOUNT.authToken}`).toString('base64')}`;
  const owned = await (await fetch(`${sms.url}/2010-04-01/Accounts/${DEFAULT_ACCOUNT.accountSid}/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(order.number)}`, { headers: { authorization: auth } })).json();
  assert.equal(owned.incoming_phone_numbers[0].sms_url, `${ctx.stack.url}/webhooks/sms/inbound/clinic`);
  const audit = await api('GET', '/api/v1/tenants/clinic/audit');
  assert.ok(audit.body.entries.some(e => e.action === 'sms.number_added'), 'the addition is in the audit log');
  const hooks = await api('GET', '/api/v1/tenants/clinic/sms/webhooks');
  assert.match(hooks.body.acs_event_grid_url, /\/webhooks\/acs\/clinic\?code=[0-9a-f]{32}$/);
});

test('no phone number, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
