// The portal in real headless Chromium against the real gateway: sign in
// with a one-time link, see the tenants, sign out; no console errors (CSP
// included) and no serious accessibility violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortalStack, axeViolations, watchConsole } from '../lib/browser.mjs';
import { fhirBase } from '../standins/ehr-sandbox.mjs';

let stack;
let browser;
let sms;
let portal;
before(async () => {
  portal = await startPortalStack({ purchaseDelayMs: 1500 });
  ({ stack, browser, sms } = portal);
});
after(async () => { await portal?.stop(); });

async function loginUrl(role = 'platform_admin', tenant_id) {
  const r = await stack.api('POST', '/api/v1/login-links', { subject: 'pat.admin@example.org', role, ...(tenant_id ? { tenant_id } : {}) });
  assert.equal(r.status, 201, r.text);
  return r.body.url;
}

test('signed out, the portal says how to sign in', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(`${stack.url}/admin/`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.getByText(/one-time sign-in link/i).waitFor();
  const violations = await axeViolations(page);
  assert.deepEqual(violations, []);
  // The 401 from /api/v1/me is expected and logged by the browser as a failed resource.
  assert.deepEqual(problems.filter(p => !/401/.test(p)), []);
  await page.close();
});

test('a login link signs in; tenants are listed; sign out ends the session', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'st-mary', display_name: 'St Mary Clinic' });
  await stack.api('POST', '/api/v1/tenants/st-mary/fhir-bases', {
    url: fhirBase(stack.sandbox.url, 'good'), environment: 'test', department: 'Virtual care',
    client: { client_id: 'c1', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET' },
  }, { 'if-match': '"v1"' });
  await stack.api('POST', '/api/v1/tenants', { id: 'lakeside', display_name: 'Lakeside Hospital' });

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(await loginUrl());
  assert.equal(new URL(page.url()).pathname, '/admin/');
  const table = page.getByRole('table', { name: /tenants/i });
  await table.waitFor();
  const rows = table.getByRole('row');
  await page.getByRole('rowheader', { name: 'St Mary Clinic' }).waitFor();
  assert.equal(await rows.count(), 3, 'header + two tenants');
  const stMary = page.getByRole('row', { name: /St Mary Clinic/ });
  assert.match(await stMary.innerText(), /st-mary\s+1\s+0\s+2/);
  await page.getByText('pat.admin@example.org').waitFor();
  assert.deepEqual(await axeViolations(page), []);

  // Keyboard only: Tab reaches the sign-out button, Enter presses it.
  let focused = '';
  for (let i = 0; i < 10 && !/sign out/i.test(focused); i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
  }
  assert.match(focused, /sign out/i);
  await page.keyboard.press('Enter');
  await page.getByText(/one-time sign-in link/i).waitFor();
  const cookies = await context.cookies();
  assert.ok(!cookies.some(c => c.name === 'vg_session' && c.value), 'session cookie cleared');
  assert.deepEqual(problems.filter(p => !/401/.test(p)), []);

  await page.reload();
  await page.getByText(/one-time sign-in link/i).waitFor();
  await context.close();
});

test('a tenant admin sees only their tenant', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(await loginUrl('tenant_admin', 'lakeside'));
  await page.getByRole('rowheader', { name: 'Lakeside Hospital' }).waitFor();
  assert.equal(await page.getByRole('rowheader', { name: 'St Mary Clinic' }).count(), 0);
  await context.close();
});

test('set up a FHIR base in the browser: validate with progress, Done, conflict, records, audit, remove', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'riverside', display_name: 'Riverside Health' });
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(await loginUrl('tenant_admin', 'riverside'));
  await page.getByRole('button', { name: 'Set up Riverside Health' }).click();
  await page.getByRole('heading', { name: /Riverside Health/ }).waitFor();
  await page.getByText('No FHIR base yet').waitFor();

  // Validates as you type: a bad URL gets its reason next to the field, and Done stays off.
  const url = page.getByRole('textbox', { name: 'FHIR base URL', exact: true });
  await url.fill('ftp://nope');
  await url.blur();
  await page.locator('#base-url-help.field-error').waitFor();
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  const done = page.getByRole('button', { name: 'Done' });
  assert.equal(await done.isDisabled(), true);

  // A server that fails validation: the plain reason, still no Done.
  await url.fill(fhirBase(stack.sandbox.url, 'nos256'));
  await page.getByRole('button', { name: 'Validate', exact: true }).click();
  await page.getByText('Validation failed').waitFor();
  assert.equal(await done.isDisabled(), true);

  await url.fill(fhirBase(stack.sandbox.url, 'good2'));
  await page.getByLabel('Department label').fill('Virtual care');
  await page.getByLabel(/Client id/).fill('vg-riverside');
  await page.getByRole('button', { name: 'Validate', exact: true }).click();
  await page.getByText('Validation passed').waitFor();
  assert.deepEqual(await axeViolations(page), []);

  // Someone else saves first: the second save is told, nothing is overwritten.
  const t = await stack.api('GET', '/api/v1/tenants/riverside');
  await stack.api('PUT', '/api/v1/tenants/riverside', { display_name: 'Riverside Health System' }, { 'if-match': t.headers.get('etag') });
  await done.click();
  await page.getByText('Someone else changed this').waitFor();
  await page.getByRole('button', { name: 'Reload their version' }).click();
  await page.getByRole('heading', { name: /Riverside Health System/ }).waitFor();
  await page.getByRole('button', { name: 'Validate', exact: true }).click();
  await page.getByText('Validation passed').waitFor();
  await done.click();
  await page.getByText('Saved. The FHIR base is in the list above.').waitFor();
  await page.getByRole('heading', { level: 4, name: /Virtual care/ }).waitFor();
  // A tenant admin's base waits for a platform admin (issue 13, class 11); no Approve button for them.
  await page.getByText('Waiting for approval').waitFor();
  assert.equal(await page.getByRole('button', { name: /^Approve/ }).count(), 0);
  assert.equal((await stack.api('GET', '/api/v1/tenants/riverside')).body.fhir_bases.length, 1);

  // Edit: the form fills with the stored base; saving re-validates (PUT).
  await page.getByRole('button', { name: 'Edit Virtual care' }).click();
  await page.getByRole('heading', { name: 'Edit Virtual care' }).waitFor();
  assert.equal(await url.inputValue(), fhirBase(stack.sandbox.url, 'good2'));
  await page.getByLabel('Department label').fill('Virtual care east');
  // A plain SMART EHR (issue 18): the admin lists the types that mean a video visit.
  await page.getByLabel('Oracle Health: the Video Visit type or its virtual meeting rooms').waitFor();
  assert.equal(await page.getByLabel('Oracle Health: the Video Visit type or its virtual meeting rooms').isChecked(), true, 'the default');
  await page.getByLabel('Appointments of these types').check();
  await page.getByRole('button', { name: 'Validate', exact: true }).click();
  await page.locator('form').getByText('Validation passed').first().waitFor();
  await done.click();
  await page.locator('#base-rule-error').getByText(/List from 1 to 20/).waitFor();
  await page.getByLabel(/Appointment or service types/).fill('Telehealth, VR, telehealth');
  await done.click();
  await page.getByRole('heading', { level: 4, name: /Virtual care east/ }).waitFor();
  await page.getByText('Video visits: appointments of type Telehealth, VR').waitFor();
  const edited = (await stack.api('GET', '/api/v1/tenants/riverside')).body.fhir_bases;
  assert.deepEqual(edited.map(b => b.department), ['Virtual care east']);
  assert.deepEqual(edited[0].video_rule, { kind: 'listed', types: ['Telehealth', 'VR'] });

  await page.getByRole('button', { name: 'Review and finish' }).click();
  await page.getByText('Launch URL').first().waitFor();
  await page.getByRole('button', { name: 'Copy Launch URL' }).first().click();
  await page.getByText('Copied').first().waitFor();
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /\/launch\?env=test$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download all records/ }).click()]);
  assert.match(download.suggestedFilename(), /\.json$/);
  assert.deepEqual(await axeViolations(page), []);

  // Finishing the wizard leaves the plain pages, where the audit log is.
  await page.getByRole('button', { name: 'Finish set-up' }).click();
  await page.getByRole('button', { name: 'Audit log' }).click();
  await page.getByRole('table', { name: /Changes/ }).waitFor();
  const audit = await page.getByRole('table', { name: /Changes/ }).innerText();
  assert.match(audit, /fhir_base/);
  assert.match(audit, /pat\.admin@example\.org/);

  await page.getByRole('button', { name: 'FHIR bases' }).click();
  await page.getByRole('button', { name: 'Remove…' }).click();
  await page.getByText(/Launches from it will stop working/).waitFor();
  await page.getByRole('button', { name: 'Keep it' }).click();
  await page.getByRole('button', { name: 'Remove…' }).click();
  await page.getByRole('button', { name: 'Yes, remove' }).click();
  await page.getByText('No FHIR base yet').waitFor();
  assert.equal((await stack.api('GET', '/api/v1/tenants/riverside')).body.fhir_bases.length, 0);
  // The browser logs the conflict's 409 as a failed resource; it was the point.
  assert.deepEqual(problems.filter(p => !/status of (409|400)/.test(p)), []);
  await context.close();
});

test('SMS settings in the browser: consents, provider, templates with segment counts, a new number that survives a reload, a number per base', async () => {
  const { DEFAULT_ACCOUNT } = await import('../standins/sms.mjs');
  await stack.api('POST', '/api/v1/tenants', { id: 'hillside', display_name: 'Hillside Clinic' });
  await stack.api('POST', '/api/v1/tenants/hillside/fhir-bases', {
    url: fhirBase(stack.sandbox.url, 'good3'), environment: 'production', department: 'Cardiology',
    client: { client_id: 'c3', auth_method: 'private_key_jwt' },
  }, { 'if-match': '"v1"' });
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(await loginUrl('tenant_admin', 'hillside'));
  const openSms = async () => {
    await page.getByRole('button', { name: 'Set up Hillside Clinic' }).click();
    await page.getByRole('button', { name: 'SMS', exact: true }).click();
    await page.getByRole('heading', { name: /SMS notifications/ }).waitFor();
  };
  await openSms();

  // A wrong SID is refused with the reason next to the provider.
  await page.getByLabel('Twilio Account SID').fill('XX123');
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText(/A Twilio Account SID starts with AC/).first().waitFor();
  await page.getByLabel('Twilio Account SID').fill(DEFAULT_ACCOUNT.accountSid);
  await page.getByLabel('API address').fill(sms.url);
  await page.getByLabel(/on our organisation's behalf/).check();
  await page.getByLabel(/attendees' consent/).check();
  await page.getByLabel('Clinic name in messages').fill('Hillside');

  // Live preview and segment count while typing.
  const confirmation = page.getByLabel('Confirmation (booked)');
  await page.getByText(/^1 segment · GSM-7/).first().waitFor();
  await confirmation.fill('{clinic}: see you {date} {time} 🙂 {link}');
  await page.getByText(/UCS-2/).first().waitFor();
  assert.match(await page.locator('.preview').first().innerText(), /Hillside: see you Mon, Nov 23 09:30 AM 🙂 https:/);
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  const stored = (await stack.api('GET', '/api/v1/tenants/hillside')).body.sms;
  assert.equal(stored.consent_attendees, true);
  assert.match(stored.templates.en.confirmation, /🙂/);
  assert.equal(stored.provider.api_base, sms.url);

  await page.getByLabel('Area code (optional)').fill('816');
  await page.getByRole('button', { name: 'Generate a new phone number' }).click();
  await page.getByText(/Order ord_\w+: /).first().waitFor();
  await page.reload(); // progress survives a reload; the address keeps the page
  await page.getByRole('heading', { name: /SMS notifications/ }).waitFor();
  await page.getByText(/Order ord_\w+: Ready — \+1816/).waitFor({ timeout: 20_000 });
  const number = (await stack.api('GET', '/api/v1/tenants/hillside')).body.sms.numbers.find(n => n.startsWith('+1816'));
  assert.ok(number);

  // No reload needed: the form follows the version the finished order stored.
  await page.getByLabel(/Cardiology/).selectOption(number);
  await page.getByRole('button', { name: 'Save SMS settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  const after = (await stack.api('GET', '/api/v1/tenants/hillside')).body;
  assert.equal(after.sms.base_numbers[after.fhir_bases[0].id], number);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(problems.filter(p => !/status of 400/.test(p)), []);
  await context.close();
});

test('video settings in the browser: provider, secret names only, launch options', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'lakeview', display_name: 'Lakeview' });
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(await loginUrl('tenant_admin', 'lakeview'));
  await page.getByRole('button', { name: 'Set up Lakeview' }).click();
  await page.getByRole('button', { name: 'Video', exact: true }).click();
  await page.getByLabel(/Self-hosted Jitsi-style rooms/).check();
  await page.getByLabel('Meeting server').fill('https://meet.lakeview.example');
  await page.getByLabel('App id').fill('visitgate');
  await page.getByLabel('Name of the secret holding the app secret').fill('not a name');
  await page.getByLabel(/straight into the meeting/).check();
  await page.getByRole('button', { name: 'Save video settings' }).click();
  await page.getByText(/Name the secret \(capital letters/).waitFor();
  await page.getByLabel('Name of the secret holding the app secret').fill('JITSI_LAKEVIEW');
  await page.getByRole('button', { name: 'Save video settings' }).click();
  await page.getByText('Saved.', { exact: true }).waitFor();
  const t = (await stack.api('GET', '/api/v1/tenants/lakeview')).body;
  assert.deepEqual(t.video, { provider: 'jitsi', base_url: 'https://meet.lakeview.example', app_id: 'visitgate', secret_ref: 'JITSI_LAKEVIEW' });
  assert.equal(t.launch.skip_provider_page, true);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(problems.filter(p => !/status of 400/.test(p)), []);
  await context.close();
});

test('API tokens in the browser: listed with their expiry, revoked at once', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'tokenville', display_name: 'Tokenville' });
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(await loginUrl('platform_admin'));
  await page.getByRole('button', { name: 'Settings of Tokenville' }).click();
  await page.getByRole('button', { name: 'API tokens', exact: true }).click();
  await page.getByText('No API tokens.').waitFor();
  const made = await stack.api('POST', '/api/v1/tokens', { label: 'nightly-export', role: 'tenant_admin', tenant_id: 'tokenville', expires_in_days: 30 });
  const token = made.body.token;
  await page.getByRole('button', { name: 'API tokens', exact: true }).click();
  await page.reload();
  await page.getByText(/nightly-export — made by platform-token, works until \d{4}-\d{2}-\d{2}/).waitFor();
  const api = (t) => fetch(`${stack.url}/api/v1/tenants/tokenville`, { headers: { authorization: `Bearer ${t}` } });
  assert.equal((await api(token)).status, 200, 'the token works');
  assert.deepEqual(await axeViolations(page), []);
  await page.getByRole('button', { name: 'Revoke nightly-export' }).click();
  await page.getByText('No API tokens.').waitFor();
  assert.equal((await api(token)).status, 401, 'revoked at once');
  assert.match(page.url(), /#\/tenants\/tokenville\/tokens$/);
  assert.deepEqual(problems, []);
  await context.close();
});
