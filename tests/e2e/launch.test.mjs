// Provider launch end to end: EHR sandbox (SMART 2.2 authorization server +
// FHIR R4) → real gateway under wrangler dev → video stand-in (Graph), driven
// like a browser that follows redirects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { startLaunchStack, room, eventually } from '../lib/launch.mjs';
import { DEMO, TENANTS } from '../standins/ehr-sandbox.mjs';

let stack;
let sb;
let launch;
let appointment;
before(async () => {
  ({ stack, sb, launch, appointment } = await startLaunchStack());
});
after(async () => { await stack?.stop(); });

test('client_secret_basic: launch lands on the provider page with the meeting, links written back', async () => {
  const res = await launch('good', { appointment: DEMO.good.appointments.video1 });
  assert.equal(res.status, 200, `${res.hops.map(h => `${h.status} ${h.url}`).join('\n')}\n${res.text.slice(0, 500)}`);
  assert.match(new URL(res.url).pathname, /^\/visit\/[0-9a-f]{64}$/);
  assert.deepEqual(res.hops.map(h => h.status), [302, 302, 303, 200]);
  const meetings = await (await fetch(`${stack.video.url}/_video/meetings`)).json();
  const meeting = meetings.at(-1);
  const ref = new URL(res.url).pathname.split('/')[2];
  assert.ok(res.text.includes(`action="/visit/${ref}/join"`), 'join button on the page');
  const joined = await res.browser.post(`${res.url}/join`, {}, { until: u => !u.startsWith(stack.url) });
  assert.equal(joined.pending, meeting.joinWebUrl, 'Join goes into the meeting');
  assert.match(meeting.externalId, /^visitgate-[0-9a-f]{32}$/);
  assert.equal(meeting.subject, 'Video visit', 'no patient data in the meeting');

  const appt = await eventually(async () => {
    const a = await appointment(DEMO.good.appointments.video1);
    assert.equal(room(a, 'Provider Virtual Meeting Room'), meeting.joinWebUrl);
    return a;
  });
  assert.equal(room(appt, 'Patient Virtual Meeting Room'), meeting.joinWebUrl);
  const status = await eventually(async () => {
    const s = await res.browser.get(`${res.url}/status`);
    const body = JSON.parse(s.text);
    assert.ok(body.events.some(e => e.kind === 'write_back_ok'), JSON.stringify(body.events));
    return body;
  });
  assert.deepEqual(status.events.map(e => e.kind).slice(0, 2), ['meeting_created', 'provider_launch']);
  assert.match(status.events[1].ehr_user_id, new RegExp(`/r4/${TENANTS.good}/Practitioner/`));
});

test('private_key_jwt: the EHR verifies our ES384 assertion against our published JWKS', async () => {
  const jwks = await (await fetch(`${stack.url}/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].alg, 'ES384');
  assert.equal(jwks.keys[0].crv, 'P-384');
  assert.ok(!('d' in jwks.keys[0]), 'no private part');
  const res = await launch('good2', { appointment: DEMO.good2.appointments.video1 });
  assert.equal(res.status, 200, res.text.slice(0, 600));
  assert.match(res.text, /Join in browser/);
});

test('an id_token signed by a single key without kid is accepted', async () => {
  const res = await launch('good4', { appointment: DEMO.good4.appointments.video1 });
  assert.equal(res.status, 200, res.text.slice(0, 600));
});

test('warm launch: no discovery request, meeting reused, three sequential upstream round trips', async () => {
  const id = DEMO.good.appointments.video1;
  await launch('good', { appointment: id }); // warm the caches and the meeting
  await fetch(`${sb}/_sandbox/requests`, { method: 'DELETE' });
  await fetch(`${stack.video.url}/_video/requests`, { method: 'DELETE' });
  const meetingsBefore = (await (await fetch(`${stack.video.url}/_video/meetings`)).json()).length;
  const res = await launch('good', { appointment: id });
  assert.equal(res.status, 200);
  const ehr = await (await fetch(`${sb}/_sandbox/requests`)).json();
  const video = await (await fetch(`${stack.video.url}/_video/requests`)).json();
  assert.ok(!ehr.some(r => /smart-configuration|metadata|\/jwk/.test(r.path)), ehr.map(r => r.path).join('\n'));
  assert.equal((await (await fetch(`${stack.video.url}/_video/meetings`)).json()).length, meetingsBefore, 'meeting reused');

  // The gateway's upstream calls on the critical path, in order.
  const token = ehr.filter(r => r.method === 'POST' && /\/token$/.test(r.path));
  const reads = ehr.filter(r => r.method === 'GET' && /\/r4\//.test(r.path));
  assert.equal(token.length, 1);
  assert.equal(reads.length, 1, 'one batch of FHIR reads: the appointment');
  assert.ok(token[0].end_ms <= reads[0].start_ms, 'reads after the token');
  // The meeting exists already, so the visit object answers without a Graph call.
  assert.equal(video.filter(r => /createOrGet/.test(r.path)).length, 0);
});

test('two launches at once for a new appointment make one meeting', async () => {
  const id = DEMO.good.appointments.video2;
  await fetch(`${stack.video.url}/_video/requests`, { method: 'DELETE' });
  await fetch(`${sb}/_sandbox/requests`, { method: 'DELETE' });
  const [a, b] = await Promise.all([launch('good', { appointment: id }), launch('good', { appointment: id })]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(a.url, b.url, 'same visit');
  const calls = (await (await fetch(`${stack.video.url}/_video/requests`)).json()).filter(r => /createOrGet/.test(r.path));
  assert.equal(calls.length, 1);
  // Sequential structure of a first launch: token → appointment read → meeting create.
  const ehr = await (await fetch(`${sb}/_sandbox/requests`)).json();
  const firstToken = ehr.find(r => r.method === 'POST' && /\/token$/.test(r.path));
  const firstRead = ehr.find(r => r.method === 'GET' && /\/Appointment\//.test(r.path));
  assert.ok(firstToken.end_ms <= firstRead.start_ms);
  assert.ok(firstRead.end_ms <= calls[0].start_ms, 'the meeting is created after the appointment is known');
  const appt = await eventually(async () => {
    const x = await appointment(id);
    assert.match(room(x, 'Provider Virtual Meeting Room') ?? '', /^https?:\/\//, 'the link was added');
    return x;
  });
  // video2 has the provider room first: found by type, not position.
  assert.equal(appt.contained[0].type[0].text, 'Provider Virtual Meeting Room');
});

test('appointment context from the encounter, and from an Oracle-style search', async () => {
  const viaEncounter = await launch('good', { appointment: DEMO.good.appointments.video1, context: 'encounter' });
  assert.equal(viaEncounter.status, 200, viaEncounter.text.slice(0, 500));
  const viaSearch = await launch('good', { appointment: DEMO.good.appointments.video1, context: 'none' });
  assert.equal(viaSearch.status, 200, viaSearch.text.slice(0, 500));
  const searches = (await (await fetch(`${sb}/_sandbox/requests`)).json()).filter(r => /Appointment\?/.test(r.path));
  assert.ok(searches.some(r => /date=ge\d{4}-\d\d-\d\d/.test(r.path) && /(patient|practitioner)=/.test(r.path)), 'date plus patient/practitioner');
});

test('a visit moved before anyone joined gets a new meeting, and its links replace the old ones', async () => {
  const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const start = new Date(Date.now() + 2 * 3600_000);
  start.setUTCSeconds(0, 0);
  const appt = await (await fetch(`${sb}/_sandbox/appointments`, { ...json, body: JSON.stringify({ tenant: 'good', start: start.toISOString(), minutes: 20 }) })).json();
  const first = await launch('good', { appointment: appt.id });
  assert.equal(first.status, 200, first.text.slice(0, 300));
  const linkOf = async () => room(await appointment(appt.id), 'Provider Virtual Meeting Room');
  const old = await eventually(async () => { const l = await linkOf(); assert.ok(l); return l; });

  const moved = new Date(start.getTime() + 3600_000);
  const m = await fetch(`${sb}/_sandbox/appointments/${appt.id}/move`, { ...json, body: JSON.stringify({ start: moved.toISOString() }) });
  assert.equal(m.status, 200, await m.text());
  const again = await launch('good', { appointment: appt.id });
  assert.equal(again.status, 200, again.text.slice(0, 300));
  const meetings = await (await fetch(`${stack.video.url}/_video/meetings`)).json();
  const fresh = meetings.at(-1);
  assert.notEqual(fresh.joinWebUrl, old, 'a new meeting');
  assert.match(fresh.externalId, /^visitgate-[0-9a-f]{32}-[0-9a-f]{8}$/);
  // The sandbox refuses `add` on linked rooms (409), so a changed link means the patch replaced.
  await eventually(async () => assert.equal(await linkOf(), fresh.joinWebUrl));
  const s = JSON.parse((await again.browser.get(`${again.url}/status`)).text);
  assert.ok(s.events.some(e => e.kind === 'meeting_replaced'), JSON.stringify(s.events.map(e => e.kind)));
  assert.equal((await appointment(appt.id)).start, moved.toISOString());
});

test('no patient data in KV, Durable Object storage or the logs', () => {
  assertNoPatientData(stack);
});
