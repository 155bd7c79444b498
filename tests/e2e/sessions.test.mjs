// Portal sign-in: one-time login links, session cookies, CSRF, and the
// portal's static assets with their security headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, apiClient } from '../lib/harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

async function signIn(role = 'platform_admin', tenant_id) {
  const link = await stack.api('POST', '/api/v1/login-links', { subject: 'alice@example.org', role, ...(tenant_id ? { tenant_id } : {}) });
  assert.equal(link.status, 201, link.text);
  const r = await fetch(link.body.url, { redirect: 'manual' });
  return { link: link.body.url, response: r };
}

test('a login link works once and sets a strict HttpOnly session cookie', async () => {
  const { link, response } = await signIn();
  assert.equal(response.status, 303);
  assert.equal(response.headers.get('location'), '/admin/');
  const cookie = response.headers.get('set-cookie');
  assert.match(cookie, /^vg_session=[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\//);
  assert.doesNotMatch(cookie, /Secure/, 'loopback dev: no Secure flag');

  const reused = await fetch(link, { redirect: 'manual' });
  assert.equal(reused.status, 410);
  const page = await reused.text();
  assert.match(page, /already used or has expired/);
  assert.match(page, /login_link_spent/);
  assert.match(reused.headers.get('content-type'), /text\/html/);

  const bogus = await fetch(`${stack.url}/admin/login?token=made-up`, { redirect: 'manual' });
  assert.equal(bogus.status, 410);
});

test('a session reads the API, and mutating calls need the CSRF token and same origin', async () => {
  const { response } = await signIn();
  const session = response.headers.get('set-cookie').split(';')[0];
  const browser = apiClient(stack.url, null);
  const h = { cookie: session, authorization: null };
  const me = await browser('GET', '/api/v1/me', undefined, h);
  assert.equal(me.status, 200);
  assert.equal(me.body.subject, 'alice@example.org');
  assert.equal(me.body.role, 'platform_admin');
  assert.ok(me.body.csrf_token.length >= 32);

  const body = { id: 'csrf-test', display_name: 'C' };
  const noToken = await browser('POST', '/api/v1/tenants', body, h);
  assert.equal(noToken.status, 403);
  assert.equal(noToken.body.code, 'csrf_token');
  const wrongOrigin = await browser('POST', '/api/v1/tenants', body, { ...h, 'x-csrf-token': me.body.csrf_token, origin: 'https://evil.example' });
  assert.equal(wrongOrigin.status, 403);
  assert.equal(wrongOrigin.body.code, 'csrf_origin');
  assert.equal((await stack.api('GET', '/api/v1/tenants/csrf-test')).status, 404, 'nothing created');

  const ok = await browser('POST', '/api/v1/tenants', body, { ...h, 'x-csrf-token': me.body.csrf_token, origin: stack.url });
  assert.equal(ok.status, 201, ok.text);
  const audit = await stack.api('GET', '/api/v1/tenants/csrf-test/audit');
  assert.equal(audit.body.entries[0].actor, 'alice@example.org');

  const out = await browser('POST', '/api/v1/logout', undefined, { ...h, 'x-csrf-token': me.body.csrf_token });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  const after = await browser('GET', '/api/v1/me', undefined, h);
  assert.equal(after.status, 401);
});

test('a tenant admin session sees only its tenant', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'mine', display_name: 'Mine' });
  await stack.api('POST', '/api/v1/tenants', { id: 'theirs', display_name: 'Theirs' });
  const { response } = await signIn('tenant_admin', 'mine');
  const h = { cookie: response.headers.get('set-cookie').split(';')[0], authorization: null };
  const browser = apiClient(stack.url, null);
  const list = await browser('GET', '/api/v1/tenants', undefined, h);
  assert.deepEqual(list.body.tenants.map(t => t.id), ['mine']);
  assert.equal((await browser('GET', '/api/v1/tenants/theirs', undefined, h)).status, 403);
});

test('the portal is served under /admin/ with SPA fallback and strict headers', async () => {
  const root = await fetch(`${stack.url}/admin/`);
  assert.equal(root.status, 200);
  const html = await root.text();
  assert.match(html, /<script type="module" src="\/admin\/boot\.js"><\/script>/);
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline script');
  const csp = root.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(root.headers.get('x-frame-options'), 'DENY');

  const deep = await fetch(`${stack.url}/admin/tenants/acme/settings`);
  assert.equal(deep.status, 200);
  assert.equal(await deep.text(), html);

  const wasm = await fetch(`${stack.url}/admin/portal_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');

  const missing = await fetch(`${stack.url}/admin/nope.js`);
  assert.equal(missing.status, 404);

  const other = await fetch(`${stack.url}/no/such/page`);
  assert.equal(other.status, 404);
  assert.match(other.headers.get('content-type'), /text\/html/);
  assert.match(await other.text(), /Error code: <code>not_found<\/code>/);
});
