// Notifications on Oracle Health as it really is (issue 18): the job finds
// video visits only by the documented Appointment search over the watched
// locations, honours its interval and the EHR's Retry-After, reads by id a
// visit that left the search, and shows its health; the watch list is
// checked by reading each id, names shown, never stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmsLaunchStack, post } from '../lib/launch.mjs';
import { mintToken, apiClient } from '../lib/harness.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

let ctx;
before(async () => {
  ctx = await startSmsLaunchStack();
  assert.equal((await ctx.setSms({ time_zone: 'America/Chicago' })).status, 200);
});
after(async () => { await ctx?.stop(); });

const MIN = 60_000;
const texts = async to => (await (await fetch(`${ctx.sms.url}/_sms/messages`)).json()).filter(m => m.to === to && m.direction === 'outbound-api');
const log = async () => (await fetch(`${ctx.sb}/_sandbox/requests`)).json();
const clearLog = () => fetch(`${ctx.sb}/_sandbox/requests`, { method: 'DELETE' });
const searches = entries => entries.filter(r => r.method === 'GET' && /\/Appointment\?/.test(r.path));
const baseOf = async dept => (await ctx.stack.api('GET', '/api/v1/tenants/clinic')).body.fhir_bases.find(b => b.department === dept);
const watchUrl = (base, rest = '') => `/api/v1/tenants/clinic/fhir-bases/${base.id}/watch${rest}`;
const health = async () => (await ctx.stack.api('GET', watchUrl(await baseOf('good2')))).body.health;
const book = async (days, mobileOf = 'video1') => {
  const start = new Date(Date.now() + days * 86_400_000);
  start.setUTCSeconds(0, 0);
  return post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients[mobileOf], start: start.toISOString(), minutes: 20 });
};

test('the watch list: each id is read from the EHR and named; bad and unknown ids are refused and nothing is saved', async () => {
  const base = await baseOf('good2');
  const checked = await ctx.stack.api('POST', watchUrl(base, '/check'), { locations: [DEMO.good2.location, '999999'] });
  assert.equal(checked.status, 200, checked.text);
  assert.deepEqual(checked.body.found.map(f => [f.kind, f.id]), [['location', DEMO.good2.location]]);
  assert.ok(checked.body.found[0].name.length > 3, 'the location is named');
  assert.deepEqual(checked.body.problems.map(p => p.field), ['watch.locations.1']);
  assert.match(checked.body.problems[0].message, /no location 999999/);

  const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  const put = body => ctx.stack.api('PUT', watchUrl(base), body, { 'if-match': t.headers.get('etag') });
  const bad = await put({ locations: ['12/../34'] });
  assert.deepEqual([bad.status, bad.body.code, bad.body.field], [400, 'invalid_watch', 'watch.locations.0']);
  const unknown = await put({ locations: [DEMO.good2.location], practitioners: ['424242'] });
  assert.deepEqual([unknown.status, unknown.body.code, unknown.body.field], [422, 'watch_id_unknown', 'watch.practitioners.0']);
  const noBackend = await ctx.stack.api('PUT', watchUrl(await baseOf('good')), { locations: [DEMO.good.location] }, { 'if-match': t.headers.get('etag') });
  assert.deepEqual([noBackend.status, noBackend.body.code], [409, 'watch_needs_backend_services']);
  const after = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  assert.equal(after.body.version, t.body.version, 'nothing saved');
  assert.ok(!after.text.includes(checked.body.found[0].name), 'names are shown, never stored');

  assert.equal((await ctx.stack.api('POST', '/api/v1/tenants', { id: 'stranger', display_name: 'Stranger' })).status, 201);
  const stranger = apiClient(ctx.stack.url, await mintToken(ctx.stack, 'tenant_admin', 'stranger'));
  assert.equal((await stranger('GET', watchUrl(base))).status, 403);
  assert.equal((await stranger('POST', watchUrl(base, '/check'), { locations: [DEMO.good2.location] })).status, 403);
});

test('a booked visit gets its confirmation through documented searches only; the health says so', async () => {
  await ctx.runJob(); // what was booked before
  const mobile = DEMO.good2.contacts.video1.mobile;
  const before = (await texts(mobile)).length;
  await book(3);
  await clearLog();
  const now = Date.now();
  await ctx.runJob(now);
  assert.equal((await texts(mobile)).length, before + 1, 'one confirmation');
  const looked = searches(await log());
  assert.ok(looked.length >= 1);
  for (const s of looked) {
    assert.equal(s.status, 200, `refused by the sandbox: ${s.path}`);
    const q = new URL(s.path, ctx.sb).searchParams;
    assert.deepEqual([...new Set(q.keys())].sort(), ['_count', 'date', 'location'], s.path);
    assert.deepEqual(q.getAll('date').map(d => d.slice(0, 2)), ['ge', 'lt']);
  }
  assert.ok((await log()).every(r => r.status < 400), 'no request the sandbox refused');
  const h = await health();
  assert.equal(Date.parse(h.last_run_at), Math.floor(now / 1000) * 1000);
  assert.ok(h.appointments >= 1 && h.sent >= 1 && h.fhir_requests >= 2, JSON.stringify(h));
  assert.equal(Date.parse(h.next_run_at) - Date.parse(h.last_run_at), MIN, 'every_minutes 1');
});

test("the interval holds, and the EHR's Retry-After is honoured", async () => {
  assert.equal((await ctx.setWatch({ locations: [DEMO.good2.location], every_minutes: 5 })).status, 200);
  try {
    const t0 = Date.now() + 60 * MIN;
    await ctx.runJob(t0);
    await clearLog();
    await ctx.runJob(t0 + 2 * MIN);
    assert.equal(searches(await log()).length, 0, 'two minutes later: not due');
    await ctx.runJob(t0 + 5 * MIN);
    assert.ok(searches(await log()).length >= 1, 'five minutes later: looked');

    const r = await post(`${ctx.sb}/_sandbox/throttle`, { tenant: 'good2', count: 1, retry_after: 900 });
    assert.equal(r.count, 1);
    const t1 = t0 + 10 * MIN;
    await ctx.runJob(t1);
    let h = await health();
    assert.equal(h.last_error.code, 'fhir_throttled');
    assert.match(h.last_error.message, /900 s/);
    assert.equal(Date.parse(h.throttled_until), Math.floor(t1 / 1000) * 1000 + 900_000);
    await clearLog();
    await ctx.runJob(t1 + 6 * MIN);
    assert.equal(searches(await log()).length, 0, 'within Retry-After: not asked again');
    await ctx.runJob(t1 + 16 * MIN);
    assert.ok(searches(await log()).length >= 1, 'after Retry-After: looked');
    h = await health();
    assert.equal(h.throttled_until, null);
  } finally {
    assert.equal((await ctx.setWatch()).status, 200);
  }
});

test('a visit moved beyond the window is read by id and gets its change notice; a cancelled one its cancellation', async () => {
  const mobile = DEMO.good2.contacts.video2.mobile;
  await ctx.runJob();
  const appt = await book(2, 'video2');
  await ctx.runJob();
  const before = (await texts(mobile)).length;
  const far = new Date(Date.now() + 30 * 86_400_000);
  far.setUTCSeconds(0, 0);
  await post(`${ctx.sb}/_sandbox/appointments/${appt.id}/move`, { start: far.toISOString() });
  await clearLog();
  await ctx.runJob();
  const reads = (await log()).filter(r => r.method === 'GET' && r.path.endsWith(`/Appointment/${appt.id}`));
  assert.equal(reads.length, 1, 'read by id once it left the search');
  let sent = (await texts(mobile)).slice(before);
  assert.equal(sent.length, 1, JSON.stringify(sent.map(m => m.body)));
  assert.match(sent[0].body, /moved to/);
  await clearLog();
  await ctx.runJob();
  assert.equal((await log()).filter(r => r.path.endsWith(`/Appointment/${appt.id}`)).length, 0, 'beyond the window: not read again every look');

  const soon = await book(1, 'video2');
  await ctx.runJob();
  const mid = (await texts(mobile)).length;
  await post(`${ctx.sb}/_sandbox/appointments/${soon.id}/cancel`, {});
  await ctx.runJob();
  sent = (await texts(mobile)).slice(mid);
  assert.equal(sent.length, 1);
  assert.match(sent[0].body, /was cancelled/);
});

test('no phone number, name or birth date in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
