// The notification job, run on demand (wrangler's /__scheduled): a video
// visit booked in the EHR gets one confirmation text with a working link;
// moved → a new text with a new link and the old one revoked; cancelled →
// a cancellation text; repeated runs and consents off send nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { startSmsLaunchStack, post } from '../lib/launch.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

let ctx;
let sms;
const setSms = async (overrides = {}) => {
  const r = await ctx.setSms({ time_zone: 'America/Chicago', ...overrides });
  assert.equal(r.status, 200, r.text);
};
before(async () => {
  ctx = await startSmsLaunchStack();
  sms = ctx.sms;
});
after(async () => { await ctx?.stop(); });

const runJob = (time) => ctx.runJob(time);
const texts = async to => (await (await fetch(`${sms.url}/_sms/messages`)).json()).filter(m => m.to === to && m.direction === 'outbound-api');
const linkIn = body => body.match(/https?:\/\/\S+\/j\/[A-Za-z0-9_-]{12}/)[0];

test('booked → one confirmation; moved → new text, new link, old link revoked; cancelled → cancellation', async () => {
  await setSms({ clinic_phone: '+1 816 555 0100' });
  await runJob(); // texts for what was already booked; not the subject here
  const patient = DEMO.good2.patients.video1;
  const mobile = DEMO.good2.contacts.video1.mobile;
  const start = new Date(Date.now() + 3 * 3600_000);
  start.setUTCSeconds(0, 0);
  const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient, start: start.toISOString(), minutes: 20 });
  const before = (await texts(mobile)).length;

  await runJob();
  await runJob(); // a second (or overlapping) run sends nothing more
  let sent = (await texts(mobile)).slice(before);
  assert.equal(sent.length, 1, JSON.stringify(sent.map(m => m.body)));
  assert.match(sent[0].body, /^Clinic: your video visit is on /);
  assert.ok(sent[0].body.length <= 160);
  const first = linkIn(sent[0].body);
  assert.equal((await new HttpBrowser().get(first)).status, 200);

  const moved = new Date(start.getTime() + 24 * 3600_000);
  await post(`${ctx.sb}/_sandbox/appointments/${appt.id}/move`, { start: moved.toISOString() });
  await runJob();
  await runJob();
  sent = (await texts(mobile)).slice(before);
  assert.equal(sent.length, 2, JSON.stringify(sent.map(m => m.body)));
  assert.match(sent[1].body, /moved to/);
  const second = linkIn(sent[1].body);
  assert.notEqual(second, first);
  assert.equal((await new HttpBrowser().get(first)).status, 410, 'old link revoked');
  assert.equal((await new HttpBrowser().get(second)).status, 200);

  await post(`${ctx.sb}/_sandbox/appointments/${appt.id}/cancel`, {});
  await runJob();
  await runJob();
  sent = (await texts(mobile)).slice(before);
  assert.equal(sent.length, 3);
  assert.match(sent[2].body, /was cancelled/);
  const gone = await new HttpBrowser().get(second);
  assert.equal(gone.status, 410, 'a cancelled visit has no working link');
  assert.match(gone.text, /href="tel:\+1 816 555 0100"/, 'the expired page gives the clinic\'s phone');
});

test('without both consents nothing is sent', async () => {
  await setSms({ consent_attendees: false });
  const mobile = DEMO.good2.contacts.video2.mobile;
  const before = (await texts(mobile)).length;
  const start = new Date(Date.now() + 5 * 3600_000).toISOString();
  await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video2, start });
  await runJob();
  assert.equal((await texts(mobile)).length, before);
  await setSms();
});

test('STOP opts the patient out until START', async () => {
  await setSms();
  const { DEFAULT_ACCOUNT, MAGIC_NUMBER } = await import('../standins/sms.mjs');
  const auth = `Basic ${Buffer.from(`${DEFAULT_ACCOUNT.accountSid}:${DEFAULT_ACCOUNT.authToken}`).toString('base64')}`;
  const api = `${sms.url}/2010-04-01/Accounts/${DEFAULT_ACCOUNT.accountSid}`;
  const owned = await (await fetch(`${api}/IncomingPhoneNumbers.json`, { headers: { authorization: auth } })).json();
  const pn = owned.incoming_phone_numbers.find(n => n.phone_number === MAGIC_NUMBER).sid;
  const hook = `${ctx.stack.url}/webhooks/sms/inbound/clinic`;
  const set = await fetch(`${api}/IncomingPhoneNumbers/${pn}.json`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SmsUrl: hook }) });
  assert.equal(set.status, 200, await set.text());
  const mobile = DEMO.good2.contacts.video1.mobile;
  const say = async body => {
    const r = await fetch(`${sms.url}/_sms/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: mobile, to: MAGIC_NUMBER, body }) });
    assert.equal(r.status, 200, await r.text());
  };
  const book = hours => post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video1, start: new Date(Date.now() + hours * 3600_000).toISOString() });
  await runJob();
  const before = (await texts(mobile)).length;
  await say('STOP');
  await book(30);
  await runJob();
  assert.equal((await texts(mobile)).length, before, 'no text after STOP');
  await say('START');
  await book(31);
  await runJob();
  const after = (await texts(mobile)).slice(before);
  assert.equal(after.length, 1, JSON.stringify(after.map(m => m.body)));
  assert.match(after[0].body, /video visit is on/);

  const forged = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' }, body: 'From=%2B1&Body=STOP' });
  assert.equal(forged.status, 403);
});

test('reminders 24 h and 15 min before the start, once each; none that the confirmation already covers', async () => {
  await setSms();
  const patient = DEMO.good2.patients.video2;
  const mobile = DEMO.good2.contacts.video2.mobile;
  await runJob();
  const book = async ms => {
    const start = new Date(Date.now() + ms);
    start.setUTCSeconds(0, 0);
    await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient, start: start.toISOString(), minutes: 20 });
    return start.getTime();
  };
  // The texts of one visit are the ones carrying its link.
  const ofVisit = async link => (await texts(mobile)).filter(m => m.body.includes(link)).map(m => m.body);
  const before = (await texts(mobile)).length;
  const start = await book(2 * 86400_000 + 7 * 60_000);
  await runJob();
  const [confirmation] = (await texts(mobile)).slice(before);
  assert.match(confirmation.body, /video visit is on/);
  const link = linkIn(confirmation.body);

  await runJob(start - 25 * 3600_000);
  assert.equal((await ofVisit(link)).length, 1, 'nothing before the window opens');
  await runJob(start - 24 * 3600_000 + 60_000);
  await runJob(start - 24 * 3600_000 + 120_000);
  let sent = await ofVisit(link);
  assert.equal(sent.length, 2, JSON.stringify(sent));
  assert.match(sent[1], /^Clinic: reminder, video visit /);
  await runJob(start - 3 * 3600_000);
  assert.equal((await ofVisit(link)).length, 2, 'one day-before reminder only');
  await runJob(start - 14 * 60_000);
  await runJob(start - 13 * 60_000);
  sent = await ofVisit(link);
  assert.equal(sent.length, 3, JSON.stringify(sent));
  assert.match(sent[2], /reminder/);
  await runJob(start + 60_000);
  assert.equal((await ofVisit(link)).length, 3, 'nothing once it has started');
  assert.equal((await new HttpBrowser().get(link)).status, 200, 'the link in the reminders works');

  // Booked two hours ahead: the confirmation covers the day-before reminder.
  const soon = await book(2 * 3600_000 + 11 * 60_000);
  const mark = (await texts(mobile)).length;
  await runJob();
  const [conf2] = (await texts(mobile)).slice(mark);
  const link2 = linkIn(conf2.body);
  await runJob(soon - 90 * 60_000);
  assert.equal((await ofVisit(link2)).length, 1);
  await runJob(soon - 10 * 60_000);
  assert.deepEqual((await ofVisit(link2)).map(b => /reminder/.test(b)), [false, true]);
});

test('no phone number, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
