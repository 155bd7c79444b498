// Exactly once under failure: 200 video visits booked at once, the SMS
// provider failing 20% of sends (server errors, throttling, and timeouts
// after it had already accepted), two job runs overlapping. Every visit
// ends with exactly one confirmation: none lost, none twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmsLaunchStack, post } from '../lib/launch.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

const VISITS = 200;
let ctx;
before(async () => {
  // Timeouts are what make delivery ambiguous; a short one keeps the test quick.
  ctx = await startSmsLaunchStack({ vars: { MESSAGING_TIMEOUT_MS: '1500' } });
  const r = await ctx.setSms({ time_zone: 'America/Chicago' });
  assert.equal(r.status, 200, r.text);
});
after(async () => { await ctx?.stop(); });

const fail = body => post(`${ctx.sms.url}/_sms/fail`, body);
const outbound = async () => (await (await fetch(`${ctx.sms.url}/_sms/messages`)).json()).filter(m => m.direction === 'outbound-api');
const linkIn = body => body.match(/\/j\/([A-Za-z0-9_-]{12})/)?.[1];

test(`${VISITS} visits, 20% provider failures, overlapping runs → exactly one confirmation each`, async () => {
  await ctx.runJob(); // the sandbox's own demo visits first
  const before = (await outbound()).length;
  const mobile = DEMO.good2.contacts.video1.mobile;
  const day = Date.now() + 3 * 86400_000;
  let booked = 0;
  const book = async n => {
    for (let i = 0; i < n; i++, booked++) {
      const start = new Date(day + booked * 5 * 60_000);
      start.setUTCSeconds(0, 0);
      await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video1, start: start.toISOString(), minutes: 5 });
    }
  };
  const t0 = Date.now();
  // A third each meets server errors, throttling, and timeouts after acceptance;
  // the first run is two runs at once.
  await book(70);
  await fail({ rate: 0.2, seed: 7, status: 503 });
  await Promise.all([ctx.runJob(t0), ctx.runJob(t0)]);
  await book(70);
  await fail({ rate: 0.2, seed: 11, status: 429 });
  await ctx.runJob(t0 + 60_000);
  await book(VISITS - 140);
  await fail({ rate: 0.2, seed: 13, status: 'timeout_after_accept' });
  await ctx.runJob(t0 + 2 * 60_000);
  // Anything left waits for its backoff: later runs, still failing 20%.
  await fail({ rate: 0.2, seed: 17, status: 500 });
  for (let k = 1; k <= 6; k++) await ctx.runJob(t0 + k * 20 * 60_000);
  await fail({ rate: 0 });
  await ctx.runJob(t0 + 7 * 20 * 60_000);

  const sent = (await outbound()).slice(before).filter(m => m.to === mobile && /video visit is on/.test(m.body));
  const perLink = new Map();
  for (const m of sent) perLink.set(linkIn(m.body), (perLink.get(linkIn(m.body)) ?? 0) + 1);
  const twice = [...perLink].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no visit got its confirmation twice');
  assert.equal(perLink.size, VISITS, `every visit got its confirmation (${perLink.size} of ${VISITS})`);
  assert.equal(sent.length, VISITS);

  // Failures really happened: the provider saw more attempts than messages.
  const log = await (await fetch(`${ctx.sms.url}/_sms/requests`)).json();
  const posts = log.filter(r => r.method === 'POST' && /Messages\.json$/.test(r.path));
  const failed = posts.filter(r => r.status !== 201);
  const lookups = log.filter(r => r.method === 'GET' && /Messages\.json\?/.test(r.path));
  console.log(`# ${posts.length} send attempts for ${VISITS} messages; ${failed.length} failed or timed out; ${lookups.length} log lookups after a timeout`);
  assert.ok(lookups.length > 0, 'timeouts were settled from the provider log');
  assert.ok(posts.length >= VISITS * 1.1, `expected retries, saw ${posts.length} attempts`);
});

test('no phone number, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
