// Outside dev mode (issue 13, class 8): every answer carries HSTS, the
// session cookie is __Host- and Secure, and loopback or http FHIR bases
// and sign-in providers are refused (the __Secure- flow-state cookie names
// are unit tests: they need an https EHR). The other suites run in dev
// mode on loopback, where browsers would drop Secure cookies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/harness.mjs';
import { fhirBase } from '../standins/ehr-sandbox.mjs';

let stack;
before(async () => { stack = await startStack({ vars: { DEV_MODE: 'false' } }); });
after(async () => { await stack?.stop(); });

test('HSTS on every answer; the __Host- session cookie; a plain-http sign-in provider refused', async () => {
  const health = await fetch(`${stack.url}/healthz`);
  assert.match(health.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
  const missing = await fetch(`${stack.url}/j/AAAAAAAAAAAA`);
  assert.match(missing.headers.get('strict-transport-security') ?? '', /max-age/, 'pages too');

  const link = await stack.api('POST', '/api/v1/login-links', { subject: 'ops@example.org', role: 'platform_admin' });
  assert.equal(link.status, 201, link.text);
  const login = await fetch(link.body.url, { redirect: 'manual' });
  const session = login.headers.getSetCookie().find(c => c.includes('vg_session'));
  assert.match(session, /^__Host-vg_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);

  // The sign-in provider of this stack is plain http on loopback: refused outside dev mode, with a page.
  const signin = await fetch(`${stack.url}/admin/signin`, { redirect: 'manual' });
  assert.equal(signin.status, 502);
  assert.equal(signin.headers.getSetCookie().length, 0, 'no state cookie for a refused sign-in');
  assert.match(await signin.text(), /Error code: <code>[a-z_]+<\/code>/);
});

test('a loopback or plain-http FHIR base is refused outside dev mode', async () => {
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'prod', display_name: 'Prod' })).status, 201);
  const r = await stack.api('POST', '/api/v1/fhir-bases/validate', { url: fhirBase(stack.sandbox.url, 'good'), auth_method: 'private_key_jwt' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'url_not_https');
  const ip = await stack.api('POST', '/api/v1/fhir-bases/validate', { url: 'https://127.0.0.1/r4/x', auth_method: 'private_key_jwt' });
  assert.deepEqual([ip.status, ip.body.code], [400, 'url_not_public']);
});
