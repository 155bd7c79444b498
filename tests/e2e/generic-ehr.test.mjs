// A SMART EHR that is not Oracle Health (issue 18, item 5): the sandbox's
// plain profile has FHIR R4 Appointments without meeting rooms, encounters
// that do not point at their appointment, and an Appointment search that
// returns proposed ones too, newest first. Which appointments are video
// visits is the base's rule; the context is found fhirContext → encounter →
// the patient's visit of the day with this clinician; write-back is skipped
// with a line on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLaunchStack, eventually } from '../lib/launch.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { pageCode } from '../lib/http-browser.mjs';
import { DEMO, fhirBase } from '../standins/ehr-sandbox.mjs';

const D = DEMO.plain;
let ctx;
let base;
before(async () => {
  ctx = await startLaunchStack();
  const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  const r = await ctx.stack.api('POST', '/api/v1/tenants/clinic/fhir-bases', {
    url: fhirBase(ctx.sb, 'plain'), environment: 'test', department: 'plain',
    client: { client_id: 'vg-basic', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET_CLINIC' },
  }, { 'if-match': t.headers.get('etag') });
  assert.equal(r.status, 201, r.text);
  base = r.body.fhir_bases.find(b => b.department === 'plain');
  assert.deepEqual(base.video_rule, { kind: 'oracle_rooms' }, 'a new base starts with Oracle rooms');
});
after(async () => { await ctx?.stack.stop(); });

async function setRule(video_rule) {
  const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
  const r = await ctx.stack.api('PUT', `/api/v1/tenants/clinic/fhir-bases/${base.id}`, {
    url: base.url, environment: 'test', department: 'plain', client: base.client, video_rule,
  }, { 'if-match': t.headers.get('etag') });
  return r;
}
const log = async () => (await fetch(`${ctx.sb}/_sandbox/requests`)).json();
const clearLog = () => fetch(`${ctx.sb}/_sandbox/requests`, { method: 'DELETE' });
const status = async res => JSON.parse((await res.browser.get(`${res.url}/status`)).text);

test('Oracle rooms (the default) refuse a plain appointment with a sentence that says what to do', async () => {
  const res = await ctx.launch('plain', { appointment: D.appointments.video1 });
  assert.equal(res.status, 422, res.text.slice(0, 400));
  assert.equal(pageCode(res.text), 'appointment_not_video');
  assert.match(res.text, /no virtual meeting rooms/);
});

test('a bad rule is refused and nothing is saved', async () => {
  const before = (await ctx.stack.api('GET', '/api/v1/tenants/clinic')).body.version;
  const empty = await setRule({ kind: 'listed', types: [' '] });
  assert.deepEqual([empty.status, empty.body.code, empty.body.field], [400, 'invalid_video_rule', 'video_rule']);
  const odd = await setRule({ kind: 'sometimes' });
  assert.equal(odd.status, 400, odd.text);
  assert.equal((await ctx.stack.api('GET', '/api/v1/tenants/clinic')).body.version, before);
});

test('listed types: launched from an encounter without an appointment link, the visit is the patient\'s of the day with this clinician, nearest in time', async () => {
  const saved = await setRule({ kind: 'listed', types: ['telehealth'] });
  assert.equal(saved.status, 200, saved.text);
  await clearLog();
  // The EHR sends patient + encounter, no fhirContext; the encounter has no `appointment`.
  const res = await ctx.launch('plain', { appointment: D.appointments.video1, context: 'encounter' });
  assert.equal(res.status, 200, `${res.hops.map(h => `${h.status} ${h.url}`).join('\n')}\n${res.text.slice(0, 500)}`);
  assert.match(res.text, /Join in browser/);
  const video1 = await ctx.appointment(D.appointments.video1);
  const s = await status(res);
  assert.equal(s.info.start, video1.start, 'video1, not the proposed visit nearer to now, not the newest');

  const fhir = (await log()).filter(r => r.path.includes(`/r4/${D.tenant}/`));
  const paths = fhir.map(r => `${r.method} ${r.path.replace(/^.*\/r4\/[^/]+\//, '')}`);
  assert.ok(paths.includes(`GET Encounter/${D.encounters.video1}`), paths.join('\n'));
  const search = paths.find(p => p.startsWith('GET Appointment?'));
  assert.match(search, new RegExp(`patient=${D.patient}&date=ge\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z&date=lt\\d{4}-`), search);
  assert.ok(!paths.some(p => p.startsWith('PATCH')), 'no patch to an appointment without rooms');

  // Write-back is skipped, with the reason on the clinician's page.
  const skipped = await eventually(async () => {
    const e = (await status(res)).events.find(x => x.kind === 'write_back_skipped');
    assert.ok(e, 'write_back_skipped recorded');
    return e;
  });
  assert.match(skipped.detail, /no virtual meeting rooms/);
  const again = await res.browser.get(res.url);
  assert.match(again.text, /Meeting links not saved in the EHR: this appointment has no virtual meeting rooms/);
});

test('fhirContext still comes first; an appointment of another type is refused under listed types', async () => {
  const direct = await ctx.launch('plain', { appointment: D.appointments.video2 });
  assert.equal(direct.status, 200, direct.text.slice(0, 400));
  const video2 = await ctx.appointment(D.appointments.video2);
  assert.equal((await status(direct)).info.start, video2.start);
  const inPerson = await ctx.launch('plain', { appointment: D.appointments.inPerson });
  assert.equal(inPerson.status, 422);
  assert.equal(pageCode(inPerson.text), 'appointment_not_video');
  assert.match(inPerson.text, /not one your organisation set up as a video visit/);
});

test('every appointment: the in-person one launches; a patient with no visit today is told so', async () => {
  assert.equal((await setRule({ kind: 'every' })).status, 200);
  const inPerson = await ctx.launch('plain', { appointment: D.appointments.inPerson, context: 'encounter' });
  assert.equal(inPerson.status, 200, inPerson.text.slice(0, 400));
  assert.equal((await status(inPerson)).info.start, (await ctx.appointment(D.appointments.inPerson)).start);
  // Another clinician's launch for the same patient finds no visit of theirs.
  const stranger = await ctx.launch('plain', { appointment: D.appointments.video1, context: 'none', practitioner: D.colleague });
  assert.equal(stranger.status, 404, stranger.text.slice(0, 400));
  assert.equal(pageCode(stranger.text), 'appointment_not_found');
  assert.match(stranger.text, /for this patient with you/);
});

test('no patient data in KV, Durable Object storage or the logs', () => {
  assertNoPatientData(ctx.stack);
});
