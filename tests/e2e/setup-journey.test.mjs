// The seed's "Set up the Teams EHR connector" script, end to end in real
// headless Chromium: an admin signs in through their organisation's OpenID
// provider, creates a tenant and walks the wizard (a test and a production
// FHIR base, an invalid URL refused with its reason, SMS with both consents
// and a newly generated number that survives a reload, templates, video),
// reviews, copies and downloads the integration records, and signs out.
// Then the records it showed are used as an EHR admin would: the launch and
// patient flows work with exactly those values. axe-core on every page;
// a screenshot of each step lands in tests/.artifacts/setup-journey/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/harness.mjs';
import { startPortalStack, axeViolations, watchConsole } from '../lib/browser.mjs';
import { HttpBrowser } from '../lib/http-browser.mjs';
import { post, SECRET } from '../lib/launch.mjs';
import { fhirBase, DEMO } from '../standins/ehr-sandbox.mjs';
import { DEFAULT_APP } from '../standins/video.mjs';

const SHOTS = join(ROOT, 'tests', '.artifacts', 'setup-journey');
let stack;
let browser;
let sms;
let portal;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  portal = await startPortalStack({ purchaseDelayMs: 3000 });
  ({ stack, browser, sms } = portal);
});
after(async () => { await portal?.stop(); });

async function eventuallyTrue(fn, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('never became true');
    await new Promise(r => setTimeout(r, 100));
  }
}

let shotNo = 0;
async function step(page, name) {
  shotNo += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
  assert.deepEqual(await axeViolations(page), [], `axe on step ${name}`);
}

test('a new tenant set up entirely in the browser, then launched and texted with exactly the records shown', async () => {
  const { DEFAULT_ACCOUNT } = await import('../standins/sms.mjs');
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'], acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchConsole(page);

  // 1. Sign in with the organisation account (OpenID Connect; the gateway holds the tokens).
  await page.goto(`${stack.url}/admin/`);
  await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
  await step(page, 'signed-out');
  await page.getByRole('link', { name: 'Sign in with your organisation account' }).click();
  await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
  await page.getByRole('button', { name: /Pat Platform/ }).click();
  await page.getByText('pat.platform@contoso.example').waitFor();
  assert.deepEqual((await context.cookies()).map(c => c.name).sort(), ['vg_session'], 'only the session cookie; no tokens in the browser');
  assert.equal((await context.cookies())[0].httpOnly, true);
  await step(page, 'signed-in');

  // 2. A new tenant; the wizard opens on its first step.
  await page.getByLabel('Health system name').fill('Northwind Health');
  assert.equal(await page.getByLabel(/Tenant id/).inputValue(), 'northwind-health');
  await page.getByRole('button', { name: 'Create and set up' }).click();
  await page.getByText('Step 1 of 4:').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true, 'no Next before a FHIR base');

  // 3. FHIR bases: an invalid URL says why; a test and a production base validate and are saved.
  const url = page.getByRole('textbox', { name: 'FHIR base URL', exact: true });
  await url.fill('fhir.example.org/r4/abc');
  await url.blur();
  await page.locator('#base-url-help.field-error').waitFor();
  assert.match(await page.locator('#base-url-help').innerText(), /https/);
  await step(page, 'invalid-url');
  const addBase = async (name, env, department, client, secret) => {
    await url.fill(fhirBase(stack.sandbox.url, name));
    await page.getByRole('radio', { name: new RegExp(env) }).check();
    await page.getByLabel('Department label').fill(department);
    await page.getByLabel(/Client id/).fill(client);
    await page.locator('#base-auth').selectOption(secret ? 'client_secret_basic' : 'private_key_jwt');
    if (secret) {
      // Write-only: typed once, stored sealed, never shown again.
      await page.getByLabel('Name of the secret holding the client secret').fill(secret);
      await page.getByLabel(/^Client secret \(write-only/).fill(SECRET);
      await page.getByRole('button', { name: 'Store secret' }).click();
      await page.getByText(`A value for ${secret} is stored`).waitFor();
      assert.equal(await page.getByLabel(/^Client secret \(write-only/).inputValue(), '');
    }
    await page.getByRole('button', { name: 'Validate', exact: true }).click();
    await page.getByText('Validating…').first().waitFor().catch(() => {}); // may be quick
    await page.locator('form').getByText('Validation passed').first().waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { level: 4, name: department.replace(/[()]/g, m => m) }).filter({ hasText: department }).first().waitFor();
  };
  await addBase('good', 'Test', 'Virtual care (test)', 'vg-northwind', 'NORTHWIND_EHR_SECRET');
  await step(page, 'test-base');
  await addBase('good2', 'Production', 'Virtual care', 'vg-northwind-prod', null);
  await step(page, 'production-base');
  const bases = (await stack.api('GET', '/api/v1/tenants/northwind-health')).body.fhir_bases;
  assert.deepEqual(bases.map(b => b.environment), ['test', 'production']);
  assert.ok(bases.every(b => b.validation.ok));

  // 4. SMS (optional in the seed; done here): both consents, provider, a new number.
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Step 2 of 4:').waitFor();
  await page.getByLabel('Twilio Account SID').fill(DEFAULT_ACCOUNT.accountSid);
  await page.getByLabel('API address').fill(sms.url);
  await page.getByLabel(/on our organisation's behalf/).check();
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText(/consent/i).first().waitFor();
  await page.getByLabel(/attendees' consent/).check();
  await page.getByLabel('Clinic name in messages').fill('Northwind');
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  await page.getByLabel('Area code (optional)').fill('816');
  await page.getByRole('button', { name: 'Generate a new phone number' }).click();
  await page.getByText(/Order ord_\w+: /).first().waitFor();
  await step(page, 'number-ordered');
  await page.reload(); // mid-way: the address keeps the step, the server keeps the order
  await page.getByText('Step 2 of 4:').waitFor();
  await page.getByText(/Order ord_\w+: Ready — \+1816/).waitFor({ timeout: 30_000 });
  const number = (await stack.api('GET', '/api/v1/tenants/northwind-health')).body.sms.numbers.find(n => n.startsWith('+1816'));
  assert.ok(number, 'the generated number joined the settings');
  // One number serves both bases.
  await page.getByLabel(/Virtual care \(test\)/).selectOption(number);
  await page.getByLabel(/^Production Virtual care$|Virtual care$/).selectOption(number);
  await page.getByLabel('Confirmation (booked)').fill('{clinic}: video visit {date} {time}. Join: {link}');
  await page.getByText(/^1 segment · GSM-7/).first().waitFor();
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  await step(page, 'sms');
  const smsStored = (await stack.api('GET', '/api/v1/tenants/northwind-health')).body.sms;
  assert.deepEqual(Object.values(smsStored.base_numbers), [number, number]);

  // 5. Video: Teams through Microsoft Graph (the stand-in's addresses).
  await page.getByRole('button', { name: 'Next (or skip)' }).click();
  await page.getByText('Step 3 of 4:').waitFor();
  await page.getByLabel(/Microsoft Teams/).check();
  await page.getByLabel('Entra ID directory (tenant) id').fill(DEFAULT_APP.tenantId);
  await page.getByLabel('App (client) id').fill(DEFAULT_APP.clientId);
  await page.getByLabel('Name of the secret holding the client secret').fill('NORTHWIND_TEAMS_SECRET');
  await page.getByLabel('Name of the secret holding the client secret').blur();
  await page.getByLabel(/^Client secret \(write-only/).fill(DEFAULT_APP.clientSecret);
  await page.getByRole('button', { name: 'Store secret' }).click();
  await page.getByText('A value for NORTHWIND_TEAMS_SECRET is stored').waitFor();
  await page.getByLabel(/Meeting organiser/).fill('dr.visits@contoso.example');
  await page.getByLabel('Sign-in address').fill(stack.video.url);
  await page.getByLabel('Microsoft Graph address').fill(stack.video.url);
  await page.getByRole('button', { name: 'Save video settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  await step(page, 'video');

  // 6. Review and finish: copy a value, download all records.
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Step 4 of 4:').waitFor();
  await page.getByText('Launch URL').first().waitFor();
  await page.getByRole('button', { name: 'Copy Launch URL' }).first().click();
  await page.getByText('Copied').first().waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download all records/ }).click()]);
  const records = JSON.parse(readFileSync(await download.path(), 'utf8'));
  await step(page, 'review');
  assert.equal(records.records.length, 2);
  const testRec = records.records.find(r => r.environment === 'test');
  const prodRec = records.records.find(r => r.environment === 'production');
  assert.equal(copied, testRec.provider_launch.launch_url);
  await page.getByRole('button', { name: 'Finish set-up' }).click();
  await page.getByRole('button', { name: 'Audit log' }).click();
  await page.getByRole('table', { name: /Changes/ }).waitFor();
  assert.match(await page.getByRole('table', { name: /Changes/ }).innerText(), /pat\.platform@contoso\.example/);
  await step(page, 'audit');

  // 7. Sign out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
  await step(page, 'signed-out-again');
  assert.equal((await fetch(`${stack.url}/api/v1/me`, { headers: { cookie: `vg_session=${(await context.cookies())[0]?.value ?? 'gone'}` } })).status, 401);
  assert.deepEqual(problems.filter(p => !/status of (400|401)/.test(p)), []);
  await context.close();

  // The EHR admin registers exactly what the records say…
  const sb = stack.sandbox.url;
  const p = testRec.provider_launch;
  await post(`${sb}/_sandbox/clients`, { client_id: p.client_id, redirect_uri: p.redirect_uri, auth_method: p.token_endpoint_auth_method, client_secret: SECRET });
  const q = prodRec.patient_launch;
  await post(`${sb}/_sandbox/clients`, { client_id: prodRec.provider_launch.client_id, redirect_uri: prodRec.provider_launch.redirect_uri, auth_method: 'private_key_jwt', jwks_url: q.backend_service_jwks_url, backend: true });
  assert.equal(q.backend_service_client_id, prodRec.provider_launch.client_id);

  // …and a clinician launches with the launch URL from the records (the EHR adds iss and launch).
  const l = await post(`${sb}/_sandbox/launches`, { tenant: 'good' });
  const launchUrl = new URL(p.launch_url);
  launchUrl.searchParams.set('iss', l.iss);
  launchUrl.searchParams.set('launch', l.launch);
  const visit = await new HttpBrowser().get(launchUrl.href);
  assert.equal(visit.status, 200, visit.text.slice(0, 400));
  assert.match(visit.text, /Join/);
  // The EHR client secret and the Teams app secret came from what was typed in the portal.
  const graph = await (await fetch(`${stack.video.url}/_video/meetings`)).json();
  assert.equal(graph.length, 1, 'the meeting was made with the stored Teams secret');
  const secretsShown = await stack.api('GET', '/api/v1/tenants/northwind-health/secrets');
  // Typed in the browser, and the Twilio token the operator assigned (TENANT_SECRETS).
  assert.deepEqual(secretsShown.body.secrets.map(x => [x.name, x.updated_by === 'operator']),
    [['NORTHWIND_EHR_SECRET', false], ['NORTHWIND_TEAMS_SECRET', false], ['TWILIO_AUTH_TOKEN', true]]);
  assert.ok(!secretsShown.text.includes(SECRET) && !secretsShown.text.includes(DEFAULT_APP.clientSecret));

  // The analysts give the clinic's Millennium location id: the admin enters it in the portal,
  // where it is checked against the EHR (with the backend registration just made) and named.
  const watchContext = await browser.newContext();
  const wpage = await watchContext.newPage();
  const watchProblems = watchConsole(wpage);
  await wpage.goto(`${stack.url}/admin/`);
  await wpage.getByRole('link', { name: 'Sign in with your organisation account' }).click();
  await wpage.getByRole('button', { name: /Pat Platform/ }).click();
  await wpage.getByText('pat.platform@contoso.example').waitFor();
  await wpage.getByRole('button', { name: /^Settings of Northwind/ }).click();
  const prodRow = wpage.locator('li.base').filter({ hasText: 'Production' });
  await prodRow.getByText('Notifications: watched locations').click();
  await prodRow.getByLabel('Location ids').fill(`${DEMO.good2.location}, 999999`);
  await prodRow.getByRole('button', { name: 'Check ids' }).click();
  await prodRow.getByText(/The EHR has no location 999999/).waitFor();
  await prodRow.getByText(new RegExp(`location ${DEMO.good2.location}: \\S`)).waitFor();
  await prodRow.getByLabel('Location ids').fill(DEMO.good2.location);
  await prodRow.getByRole('button', { name: 'Save watch list' }).click();
  await wpage.locator('li.base').filter({ hasText: 'Production' }).getByText('Notifications: watched locations').waitFor();
  await eventuallyTrue(async () => (await stack.api('GET', '/api/v1/tenants/northwind-health')).body.fhir_bases
    .find(b => b.environment === 'production').watch.locations[0] === DEMO.good2.location);
  await step(wpage, 'watch-list');

  // A visit booked on the production base gets its confirmation from the generated number,
  // with a link under the records' patient link base.
  const mobile = DEMO.good2.contacts.video1.mobile;
  await post(`${sb}/_sandbox/appointments`, { tenant: 'good2', patient: DEMO.good2.patients.video1, start: new Date(Date.now() + 3 * 3600_000).toISOString(), minutes: 20 });
  const run = await fetch(`${stack.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Date.now()}`);
  assert.equal(run.status, 200);
  // The job's last look, as the admin sees it.
  await wpage.reload();
  const row = wpage.locator('li.base').filter({ hasText: 'Production' });
  await row.getByText('Notifications: watched locations').click();
  await row.getByText(/Last look .*: \d+ appointments, [1-9]\d* messages sent/).waitFor();
  await step(wpage, 'watch-health');
  assert.deepEqual(watchProblems.filter(p => !/status of 401/.test(p)), [], 'only the signed-out check before sign-in');
  await watchContext.close();
  const texts = (await (await fetch(`${sms.url}/_sms/messages`)).json()).filter(m => m.to === mobile && m.direction === 'outbound-api');
  assert.ok(texts.length >= 1, 'a confirmation was sent');
  assert.equal(texts.at(-1).from, number);
  assert.match(texts.at(-1).body, /^Northwind: video visit /);
  assert.ok(texts.at(-1).body.includes(`${q.patient_link_base_url.replace(/\/$/, '')}/`), `${texts.at(-1).body} vs ${q.patient_link_base_url}`);
});
