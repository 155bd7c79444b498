// Patient tracking (issue 18): with the tenant's option on, Oracle's
// tracking board follows the virtual lobby: the appointment becomes
// arrived when the patient enters it and checked-in when the clinician
// admits them, by the documented status patch, never holding anyone up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLaunchStack, eventually, post } from '../lib/launch.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { DEMO } from '../standins/ehr-sandbox.mjs';

let ctx;
before(async () => { ctx = await startLaunchStack(); });
after(async () => { await ctx?.stack.stop(); });

const patientLink = (tenant, appointment) => ctx.patientLink(tenant, appointment);

test("patient tracking (off by default): the lobby moves the EHR appointment to arrived, admission to checked-in", async () => {
  const start = new Date(Date.now() + 2 * 3600_000);
  start.setUTCSeconds(0, 0);
  const stored = async id => (await fetch(`${ctx.sb}/_sandbox/appointments/${id}`)).json();
  const setTracking = async on => {
    const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
    const r = await ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: 'Clinic', launch: { ...t.body.launch, patient_tracking: on } }, { 'if-match': t.headers.get('etag') });
    assert.equal(r.status, 200, r.text);
  };
  const kindsOf = async provider => JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events.map(e => e.kind);

  // Off: the lobby changes nothing in the EHR.
  const quiet = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video2, start: start.toISOString(), minutes: 20 });
  const q = await patientLink('good2', quiet.id);
  const arrived = await fetch(`${q.link}/arrive`, { method: 'POST' });
  const arrivedText = await arrived.text();
  assert.equal(arrived.status, 200, arrivedText.slice(0, 600));
  assert.equal(JSON.parse(arrivedText).state, 'waiting');
  await new Promise(r => setTimeout(r, 1500));
  assert.equal((await stored(quiet.id)).status, 'booked');
  assert.ok(!(await kindsOf(q.provider)).some(k => k.startsWith('tracking_')));

  await setTracking(true);
  try {
    const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video2, start: new Date(start.getTime() + 3600_000).toISOString(), minutes: 20 });
    const { link, provider } = await patientLink('good2', appt.id);
    const v0 = (await stored(appt.id)).meta.versionId;
    assert.equal((await (await fetch(`${link}/arrive`, { method: 'POST' })).json()).state, 'waiting', 'the patient is not held up');
    await eventually(async () => assert.equal((await stored(appt.id)).status, 'arrived'), 8000);
    await provider.browser.post(`${provider.url}/join`, {});
    await eventually(async () => assert.equal((await stored(appt.id)).status, 'checked-in'), 8000);
    assert.ok(Number((await stored(appt.id)).meta.versionId) > Number(v0));
    await eventually(async () => {
      const kinds = await kindsOf(provider);
      assert.ok(kinds.includes('tracking_arrived') && kinds.includes('tracking_checked_in'), kinds.join());
    });
    // Each status patch was the documented single replace with If-Match (the sandbox refuses others).
    const patches = (await (await fetch(`${ctx.sb}/_sandbox/requests`)).json()).filter(r => r.method === 'PATCH' && r.path.endsWith(`/Appointment/${appt.id}`));
    assert.ok(patches.length >= 2 && patches.every(r => r.status === 200), JSON.stringify(patches));
  } finally {
    await setTracking(false);
  }
});

test('no patient data in storage or logs', () => {
  assertNoPatientData(ctx.stack);
});
