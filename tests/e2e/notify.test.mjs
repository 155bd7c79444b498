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

const runJob = async () => {
  const r = await fetch(`${ctx.stack.url}/__scheduled?cron=*+*+*+*+*`);
  assert.equal(r.status, 200, await r.text());
};
const texts = async to => (await (await fetch(`${sms.url}/_sms/messages`)).json()).filter(m => m.to === to && m.direction === 'outbound-api');
const linkIn = body => body.match(/https?:\/\/\S+\/j\/[A-Za-z0-9_-]{12}/)[0];

test('booked → one confirmation; moved → new text, new link, old link revoked; cancelled → cancellation', async () => {
  await setSms();
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
  assert.equal((await new HttpBrowser().get(second)).status, 410, 'a cancelled visit has no working link');
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

test('no phone number, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
