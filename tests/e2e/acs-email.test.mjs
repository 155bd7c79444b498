// The second SMS provider (Azure Communication Services: HMAC-signed
// requests, repeatability ids, Event Grid webhooks, number purchase as
// long-running operations) and email (SendGrid v3 and ACS Email): the same
// exactly-once rules, contact details read from the EHR at send time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmsLaunchStack, post, eventually } from '../lib/launch.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';
import { startAcsStandIn, DEV_ACS_ACCESS_KEY } from '../standins/acs.mjs';
import { startSendGridStandIn } from '../standins/sendgrid.mjs';

const OWNED = '+18005550100';
let ctx;
let acs;
let sendgrid;
let base;
before(async () => {
  acs = await startAcsStandIn({ port: 0, purchaseDelayMs: 1200 });
  sendgrid = await startSendGridStandIn({ port: 0 });
  ctx = await startSmsLaunchStack({ vars: { ACS_ACCESS_KEY: DEV_ACS_ACCESS_KEY, SENDGRID_KEY: 'SG.dev-key', MESSAGING_TIMEOUT_MS: '1500' } });
  base = (await ctx.stack.api('GET', '/api/v1/tenants/clinic')).body.fhir_bases.find(b => b.department === 'good2');
});
after(async () => {
  await ctx?.stop();
  await acs?.close();
  await sendgrid?.close();
});

const api = (...a) => ctx.stack.api(...a);
const etag = async () => (await api('GET', '/api/v1/tenants/clinic')).headers.get('etag');
const useAcsSms = async () => {
  const r = await ctx.setSms({ provider: { kind: 'acs', endpoint: acs.url, access_key_ref: 'ACS_ACCESS_KEY' }, numbers: [OWNED], base_numbers: { [base.id]: OWNED } });
  assert.equal(r.status, 200, r.text);
};
const setEmail = async (body) => api('PUT', '/api/v1/tenants/clinic/email', body, { 'if-match': await etag() });
const book = async (patient, hours) => {
  const start = new Date(Date.now() + hours * 3600_000);
  start.setUTCSeconds(0, 0);
  return post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient, start: start.toISOString(), minutes: 20 });
};
const acsTexts = async to => (await (await fetch(`${acs.url}/_acs/messages`)).json()).filter(m => m.to === to);
const acsFail = body => post(`${acs.url}/_acs/fail`, body);
const linkIn = body => body.match(/https?:\/\/\S+\/j\/[A-Za-z0-9_-]{12}/)[0];

test('ACS SMS: confirmation once, a timeout after acceptance is not sent twice, delivery reports reach the webhook', async () => {
  await useAcsSms();
  const hooks = (await api('GET', '/api/v1/tenants/clinic/sms/webhooks')).body;
  const sub = await post(`${acs.url}/_acs/event-subscriptions`, { endpoint: hooks.acs_event_grid_url });
  assert.equal(sub.validated, true, 'the Event Grid handshake was answered');
  const wrong = await fetch(hooks.acs_event_grid_url.replace(/code=\w+/, 'code=0000'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
  assert.equal(wrong.status, 403);

  await ctx.runJob(); // what was booked before
  const mobile = DEMO.good2.contacts.video1.mobile;
  const before = (await acsTexts(mobile)).length;
  await book(DEMO.good2.patients.video1, 6);
  await acsFail({ target: 'sms', count: 1, status: 'timeout_after_accept' });
  await ctx.runJob();
  await ctx.runJob();
  const sent = (await acsTexts(mobile)).slice(before);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.match(sent[0].message, /^Clinic: your video visit is on /);
  assert.match(sent[0].repeatabilityRequestId, /^[0-9a-f-]{36}$/);
  assert.equal((await new HttpBrowser().get(linkIn(sent[0].message))).status, 200);
  const requests = (await (await fetch(`${acs.url}/_acs/requests`)).json()).filter(r => r.method === 'POST' && r.path.startsWith('/sms'));
  assert.ok(requests.length >= 2, 'the timed-out send was tried again');
  await eventually(async () => {
    const events = await (await fetch(`${acs.url}/_acs/events`)).json();
    assert.ok(events.some(e => e.eventType === 'Microsoft.Communication.SMSDeliveryReportReceived' && e.status === 200), JSON.stringify(events));
  });
});

test('ACS SMS: STOP then no texts, HELP gets our answer, START resumes', async () => {
  await useAcsSms();
  const mobile = DEMO.good2.contacts.video2.mobile;
  const say = message => post(`${acs.url}/_acs/inbound`, { from: mobile, to: OWNED, message });
  await ctx.runJob();
  const before = (await acsTexts(mobile)).length;
  await say('STOP');
  await book(DEMO.good2.patients.video2, 30);
  await ctx.runJob();
  assert.equal((await acsTexts(mobile)).length, before, 'nothing after STOP');
  await say('HELP');
  await eventually(async () => {
    const help = (await acsTexts(mobile)).slice(before);
    assert.equal(help.length, 1);
    assert.match(help[0].message, /Reply STOP to opt out/);
    assert.equal(help[0].from, OWNED);
  });
  await say('START');
  await book(DEMO.good2.patients.video2, 31);
  await ctx.runJob();
  const after = (await acsTexts(mobile)).slice(before + 1);
  assert.equal(after.length, 1, JSON.stringify(after));
  assert.match(after[0].message, /video visit is on/);
});

test('ACS: a new number is searched and purchased as long-running operations', async () => {
  await useAcsSms();
  const started = await api('POST', '/api/v1/tenants/clinic/sms/numbers', { country: 'US' });
  assert.equal(started.status, 202, started.text);
  let order;
  await eventually(async () => {
    order = (await api('GET', started.headers.get('location'))).body;
    assert.equal(order.status, 'succeeded', JSON.stringify(order));
  }, 20000);
  assert.equal(order.progress, undefined, "the provider's internals are not shown");
  const owned = await (await fetch(`${acs.url}/_acs/numbers`)).json();
  assert.ok(JSON.stringify(owned).includes(order.number), 'bought at the provider');
  assert.ok((await api('GET', '/api/v1/tenants/clinic')).body.sms.numbers.includes(order.number));
});

test('email settings are validated and need the switch and both consents', async () => {
  const provider = { kind: 'send_grid', api_base: sendgrid.url, api_key_ref: 'SENDGRID_KEY', from_email: 'visits@clinic.example' };
  const bad = await setEmail({ enabled: true, consent_send_on_behalf: true, consent_attendees: true, provider: { ...provider, from_email: 'nope' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'provider.from_email');
  const typo = await setEmail({ enabled: true, provider, consent_attendee: true });
  assert.equal(typo.status, 400);
  assert.equal(typo.body.code, 'unknown_field');
  const off = await setEmail({ enabled: true, consent_send_on_behalf: true, consent_attendees: false, provider });
  assert.equal(off.status, 200, off.text);
  const emails = async () => (await (await fetch(`${sendgrid.url}/_sendgrid/emails`)).json()).length;
  const n = await emails();
  await book(DEMO.good2.patients.video1, 8);
  await ctx.runJob();
  assert.equal(await emails(), n, 'no email without both consents');
});

const emailCase = (name, setProvider, list, fail) => test(name, async () => {
  await setProvider();
  await ctx.runJob();
  const address = DEMO.good2.contacts.video1.email;
  const mine = async () => (await list()).filter(e => JSON.stringify(e.to).includes(address));
  const before = (await mine()).length;
  await book(DEMO.good2.patients.video1, 9);
  await fail({ count: 1, status: 'timeout_after_accept' });
  await ctx.runJob();
  await ctx.runJob();
  const sent = (await mine()).slice(before);
  assert.equal(sent.length, 1, JSON.stringify(sent.map(e => e.subject)));
  assert.match(sent[0].subject, /^Your video visit on /);
  const link = linkIn(sent[0].plainText ?? sent[0].text);
  assert.ok(sent[0].html.includes(`href="${link}"`), 'the HTML body carries the same link');
  assert.equal((await new HttpBrowser().get(link)).status, 200);
});

emailCase('email by SendGrid: one confirmation, a timeout settled from the activity log',
  async () => assert.equal((await setEmail({ enabled: true, consent_send_on_behalf: true, consent_attendees: true, from_name: 'Clinic',
    provider: { kind: 'send_grid', api_base: sendgrid.url, api_key_ref: 'SENDGRID_KEY', from_email: 'visits@clinic.example' } })).status, 200),
  async () => (await (await fetch(`${sendgrid.url}/_sendgrid/emails`)).json()),
  body => post(`${sendgrid.url}/_sendgrid/fail`, body));

emailCase('email by ACS Email: one confirmation, a timeout settled by our Operation-Id',
  async () => assert.equal((await setEmail({ enabled: true, consent_send_on_behalf: true, consent_attendees: true, from_name: 'Clinic',
    provider: { kind: 'acs_email', endpoint: acs.url, access_key_ref: 'ACS_ACCESS_KEY', sender_address: 'DoNotReply@clinic.example' } })).status, 200),
  async () => (await (await fetch(`${acs.url}/_acs/emails`)).json()),
  body => post(`${acs.url}/_acs/fail`, { target: 'email', ...body }));

test('no phone number, email address, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
