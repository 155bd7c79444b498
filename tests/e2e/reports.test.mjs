// Usage reports, live: visits driven through the real flows (launch, patient
// lobby, clinician joins, visit ended; a no-show), then the report's figures
// are checked exactly against the events the visits recorded, and the CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmsLaunchStack, post, eventually } from '../lib/launch.mjs';
import { mintToken, apiClient } from '../lib/harness.mjs';
import { assertNoPatientData } from '../lib/privacy.mjs';
import { DEMO, fhirBase } from '../standins/ehr-sandbox.mjs';
import { launchBrowser, axeViolations, watchConsole } from '../lib/browser.mjs';

let ctx;
before(async () => {
  ctx = await startSmsLaunchStack();
  assert.equal((await ctx.setSms()).status, 200);
});
after(async () => { await ctx?.stop(); });

const api = path => ctx.stack.api('GET', `/api/v1/tenants/clinic/reports/${path}`);
const refOf = provider => new URL(provider.url).pathname.split('/')[2];
const ms = iso => Date.parse(iso);

async function launchVisit(tenant, appointment) {
  const provider = await ctx.launch(tenant, { appointment });
  assert.equal(provider.status, 200, provider.text.slice(0, 300));
  const link = provider.text.match(/id="patient-link">([^<]+)</)[1];
  return { provider, link };
}

test('a visit that happened and a no-show: wait, duration, status, exactly as recorded', async () => {
  const { provider, link } = await launchVisit('good', DEMO.good.appointments.video1);
  assert.equal((await (await fetch(`${link}/arrive`, { method: 'POST' })).json()).state, 'waiting');
  await new Promise(r => setTimeout(r, 1200)); // the patient waits a little
  await provider.browser.post(`${provider.url}/join`, {});
  await new Promise(r => setTimeout(r, 800));
  const end = await fetch(`${provider.url}/end`, { method: 'POST', redirect: 'manual', headers: { cookie: provider.browser.cookieHeader(provider.url), origin: ctx.stack.url } });
  assert.equal(end.status, 303);
  const events = JSON.parse((await provider.browser.get(`${provider.url}/status`)).text).events;
  const at = kind => ms(events.find(e => e.kind === kind).at);
  const wait = at('patient_admitted') - at('patient_lobby_arrival');
  const duration = at('visit_ended') - at('patient_admitted');
  assert.ok(wait >= 1000 && duration >= 700, `${wait} ${duration}`);

  // A visit whose time is over and nobody met.
  const past = new Date(Date.now() - 3 * 3600_000);
  past.setUTCSeconds(0, 0);
  const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video2, start: past.toISOString(), minutes: 20 });
  const noShow = await launchVisit('good2', appt.id);
  // "Send link to patient" on it: one text, then its delivery report.
  const sent = await fetch(`${noShow.provider.url}/send-link`, { method: 'POST', redirect: 'manual',
    headers: { cookie: noShow.provider.browser.cookieHeader(noShow.provider.url), 'content-type': 'application/x-www-form-urlencoded', origin: ctx.stack.url }, body: 'nonce=n1' });
  assert.equal(sent.status, 303);

  let visits;
  await eventually(async () => {
    visits = (await api('visits?range=7')).body.visits;
    const done = visits.find(v => v.visit_ref === refOf(provider));
    assert.ok(done && done.duration_ms !== null, JSON.stringify(visits));
    assert.ok(visits.some(v => v.visit_ref === refOf(noShow.provider)));
  }, 15_000);
  const done = visits.find(v => v.visit_ref === refOf(provider));
  assert.deepEqual(
    { status: done.status, lobby_wait_ms: done.lobby_wait_ms, duration_ms: done.duration_ms, started_at_ms: done.started_at_ms, peak: done.peak_attendees, department: done.department },
    { status: 'completed', lobby_wait_ms: wait, duration_ms: duration, started_at_ms: at('patient_admitted'), peak: 2, department: 'good' },
  );
  const missed = visits.find(v => v.visit_ref === refOf(noShow.provider));
  assert.deepEqual({ status: missed.status, duration_ms: missed.duration_ms, lobby_wait_ms: missed.lobby_wait_ms, department: missed.department, sms_sent: missed.sms_sent },
    { status: 'no_show', duration_ms: 0, lobby_wait_ms: null, department: 'good2', sms_sent: 1 });

  // Launches nobody finished (anyone can request /launch): not counted.
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${ctx.stack.url}/launch?iss=${encodeURIComponent(fhirBase(ctx.sb, 'good'))}&launch=abandoned${i}`, { redirect: 'manual' });
    assert.equal(r.status, 302);
  }
  // A launch the EHR refuses: counted as failed, with its code.
  const denied = await ctx.launch('good', { scenario: { deny: true } });
  assert.equal(denied.status, 403);
  let summary;
  await eventually(async () => {
    summary = (await api('summary?range=7')).body.summary;
    assert.deepEqual(summary.launch_errors, [['launch_denied', 1]]);
  });
  assert.equal(summary.launches, 3, 'three launches the EHR answered; the five abandoned ones are not counted');
  assert.equal(summary.launches_ok, 2);
  await eventually(async () => {
    summary = (await api('summary?range=7')).body.summary;
    assert.deepEqual([summary.sms_sent, summary.sms_delivered, summary.sms_failed], [1, 1, 0]);
  }, 10_000);
  assert.equal(summary.visits, visits.length);
  assert.equal(summary.completed, visits.filter(v => v.status === 'completed').length);
  assert.equal(summary.no_shows, visits.filter(v => v.status === 'no_show').length);
  assert.equal(summary.lobby_wait_median_ms, wait, 'one measured wait: it is the median');
  assert.equal(summary.lobby_wait_p90_ms, wait);
  assert.equal(summary.duration_median_ms, duration);

  const onlyGood2 = (await api('visits?range=7&department=good2')).body.visits;
  assert.ok(onlyGood2.length >= 1 && onlyGood2.every(v => v.department === 'good2'));
  const day = new Date().toISOString().slice(0, 10);
  const custom = (await api(`visits?from=${day}&to=${day}`)).body.visits;
  assert.ok(custom.some(v => v.visit_ref === refOf(provider)), 'a custom range including today has it');

  const r = await fetch(`${ctx.stack.url}/api/v1/tenants/clinic/reports/visits.csv?range=7`, { headers: { authorization: `Bearer ${ctx.stack.adminToken}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="visits-clinic\.csv"/);
  const lines = (await r.text()).trim().split('\r\n');
  assert.equal(lines[0], 'visit,department,scheduled_start,started,duration_s,lobby_wait_s,status,peak_attendees,sms_sent');
  const row = lines.find(l => l.startsWith(refOf(provider).slice(0, 12)));
  assert.equal(row.split(',')[4], (duration / 1000).toFixed(1));
  assert.equal(row.split(',')[5], (wait / 1000).toFixed(1));
  assert.equal(row.split(',')[6], 'completed');
  assert.equal(lines.length - 1, visits.length);
});

test('the report page: tiles, two charts with tables, sortable table, column chooser, CSV download', async () => {
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const problems = watchConsole(page);
    const link = await ctx.stack.api('POST', '/api/v1/login-links', { subject: 'ana@clinic.example', role: 'tenant_admin', tenant_id: 'clinic' });
    await page.goto(link.body.url);
    await page.getByRole('button', { name: 'Reports for Clinic' }).click();
    await page.getByRole('heading', { name: /Usage reports: Clinic/ }).waitFor();
    const tiles = page.getByRole('list', { name: 'Summary' });
    await tiles.getByText('Completed').waitFor();
    assert.match(await tiles.innerText(), /1\s+Completed/);
    await page.getByRole('img', { name: 'Visits per day' }).waitFor(); // the visits load beside the summary
    assert.equal(await page.getByRole('img', { name: 'Visits per day' }).count(), 1);
    assert.equal(await page.getByRole('img', { name: 'Lobby wait' }).count(), 1);
    assert.ok(await page.locator('svg rect.bar').count() >= 30, 'a bar per day of the range');
    const table = page.getByRole('table', { name: /^Visits \(\d+\)$/ });
    await table.waitFor();
    const statuses = async () => (await table.locator('tbody tr').allInnerTexts()).map(t => /completed|no-show|open/.exec(t)?.[0]);
    await table.getByRole('button', { name: 'Status' }).click();
    const asc = await statuses();
    assert.deepEqual(asc, [...asc].sort());
    await table.getByRole('button', { name: 'Status' }).click();
    assert.deepEqual(await statuses(), [...asc].sort().reverse());
    assert.equal(await table.locator('th[aria-sort="descending"]').count(), 1);
    await page.getByRole('checkbox', { name: 'Department' }).uncheck();
    assert.equal(await table.getByRole('columnheader', { name: 'Department' }).count(), 0);
    assert.deepEqual(await axeViolations(page), []);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    assert.equal(download.suggestedFilename(), 'visits-clinic.csv');
    const { readFileSync } = await import('node:fs');
    assert.match(readFileSync(await download.path(), 'utf8'), /^visit,department,/);
    await page.getByRole('combobox', { name: /^Department/ }).selectOption('good2');
    await page.getByRole('table', { name: /^Visits \(1\)$/ }).waitFor();
    // Custom dates: a day with no visits, then back to today.
    await page.getByRole('combobox', { name: /^Period/ }).selectOption('custom');
    await page.getByLabel('From', { exact: true }).fill('2026-01-01');
    await page.getByLabel('To', { exact: true }).fill('2026-01-02');
    await page.getByRole('table', { name: /^Visits \(0\)$/ }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('bad filters are refused with a clear message; other tenants are refused', async () => {
  const bad = await api('summary?range=12');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'range');
  const half = await api('visits?from=2026-01-01');
  assert.equal(half.status, 400);
  const backwards = await api('visits?from=2026-02-01&to=2026-01-01');
  assert.equal(backwards.body.code, 'invalid_range');
  const date = await api('visits?from=yesterday&to=2026-01-01');
  assert.equal(date.body.field, 'from');
  assert.equal((await ctx.stack.api('POST', '/api/v1/tenants', { id: 'other', display_name: 'Other' })).status, 201);
  const otherAdmin = apiClient(ctx.stack.url, await mintToken(ctx.stack, 'tenant_admin', 'other'));
  assert.equal((await otherAdmin('GET', '/api/v1/tenants/clinic/reports/summary')).status, 403);
  assert.equal((await otherAdmin('GET', '/api/v1/tenants/other/reports/summary')).body.summary.visits, 0);
});

test('report queries are index-backed', async () => {
  const { execFileSync } = await import('node:child_process');
  const { ROOT } = await import('../lib/harness.mjs');
  const plan = sql => JSON.parse(execFileSync(`${ROOT}/node_modules/.bin/wrangler`, ['d1', 'execute', 'visitgate-reports', '--local',
    '--persist-to', ctx.stack.stateDir, '--json', '--command', `EXPLAIN QUERY PLAN ${sql}`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } }))[0].results.map(r => r.detail).join('; ');
  assert.match(plan("SELECT * FROM visits WHERE tenant_id = 'clinic' AND day_ms >= 0 AND day_ms < 1 ORDER BY day_ms"), /USING INDEX visits_by_tenant_day/);
  assert.match(plan("SELECT kind, COUNT(*) FROM events WHERE tenant_id = 'clinic' AND at_ms >= 0 AND at_ms < 1 GROUP BY 1"), /USING INDEX events_by_tenant_time/);
});

test('no phone number, name or birth date in storage (D1 included) or logs', () => {
  assertNoPatientData(ctx.stack);
});

test('class 10: retention is checked on save; reports, audit entries and visit objects are deleted once past it', async () => {
  const retention = async (body) => {
    const t = await ctx.stack.api('GET', '/api/v1/tenants/clinic');
    return ctx.stack.api('PUT', '/api/v1/tenants/clinic', { display_name: t.body.display_name, retention: body }, { 'if-match': t.headers.get('etag') });
  };
  const bad = await retention({ reports_days: 400, audit_days: 2190, visit_days: 0 });
  assert.equal(bad.status, 400);
  assert.deepEqual([bad.body.code, bad.body.field], ['invalid_retention', 'retention.visit_days']);
  assert.match(bad.body.message, /between 1 and 90 days/);
  assert.equal((await ctx.stack.api('GET', '/api/v1/tenants/clinic')).body.retention.visit_days, 14, 'the default, unchanged');
  const ok = await retention({ reports_days: 400, audit_days: 365, visit_days: 1 });
  assert.equal(ok.status, 200, ok.text);

  // A visit that ended three days ago, launched now: the page works (retention never deletes under a launch).
  const past = new Date(Date.now() - 3 * 86400_000);
  past.setUTCSeconds(0, 0);
  const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good4', patient: DEMO.good4.patients.video2, start: past.toISOString(), minutes: 20 });
  const old = await launchVisit('good4', appt.id);
  const oldStatus = async () => JSON.parse((await old.provider.browser.get(`${old.provider.url}/status`)).text);
  assert.ok((await oldStatus()).info, 'the visit object holds the visit');
  const day = past.toISOString().slice(0, 10);
  await eventually(async () => assert.equal((await api(`visits?from=${day}&to=${day}`)).body.visits.length, 1), 10_000);

  const retentionRun = async (time) => {
    const r = await fetch(`${ctx.stack.url}/cdn-cgi/local/scheduled?cron=30+3+*+*+*&time=${Math.round(time)}`);
    assert.equal(r.status, 200, await r.text());
  };
  const summary = async () => (await api('summary?range=30')).body.summary;
  const audit = async () => (await ctx.stack.api('GET', '/api/v1/tenants/clinic/audit')).body.entries;
  const before = await summary();
  assert.ok(before.visits > 0 && before.launches > 0);
  const auditBefore = await audit();
  assert.ok(auditBefore.length > 0, 'there are audit entries');

  await retentionRun(Date.now() - 3600_000); // an hour ago: the visit was active since
  assert.ok((await oldStatus()).info, 'a visit active within visit_days is kept');
  await retentionRun(Date.now() + 10 * 86400_000); // past visit_days only
  assert.deepEqual([(await oldStatus()).info, (await oldStatus()).events.length], [null, 0], 'the visit object forgot everything');
  assert.deepEqual(await summary(), before, 'reports within retention are kept');
  assert.deepEqual(await audit(), auditBefore);

  await retentionRun(Date.now() + 401 * 86400_000); // past reports_days and audit_days
  const afterRun = await summary();
  assert.deepEqual([afterRun.visits, afterRun.launches], [0, 0], 'reports past retention are deleted');
  const auditAfter = await audit();
  assert.equal(auditAfter.length, 0, 'audit entries past retention are deleted');
  assert.equal((await ctx.stack.api('GET', '/api/v1/tenants/clinic')).status, 200, 'the settings themselves stay');
});
