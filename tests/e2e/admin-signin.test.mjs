// Admin sign-in through OpenID Connect (an Entra-shaped provider stand-in):
// the gateway is the confidential client, the browser only ever gets the
// session cookie. Every app-side rule is fed its bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, apiClient } from '../lib/harness.mjs';
import { HttpBrowser, pageCode } from '../lib/http-browser.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const next = (how) => fetch(`${stack.oidc.url}/_oidc/next`, { method: 'POST', body: JSON.stringify(how) });

/** Starts a sign-in: the provider's authorize URL it was sent to, and the browser holding the cookie. */
async function start(browser = new HttpBrowser()) {
  const r = await browser.get(`${stack.url}/admin/signin`, { until: u => u.startsWith(stack.oidc.url) });
  assert.ok(r.pending, `expected a redirect to the provider, got ${r.status} ${r.text?.slice(0, 200)}`);
  return { browser, authorize: new URL(r.pending) };
}

/** Picks `account` on the provider's page; returns the URL it sends the browser back to (not yet followed). */
async function pick(browser, authorize, account) {
  const r = await browser.post(authorize.href, account === 'cancel' ? { cancel: '1' } : { account }, { until: u => u.startsWith(stack.url) });
  assert.ok(r.pending, `the provider did not redirect back: ${r.status} ${r.text?.slice(0, 300)}`);
  return r.pending;
}

async function signIn(account) {
  const { browser, authorize } = await start();
  const back = await pick(browser, authorize, account);
  const done = await browser.get(back);
  return { browser, done, back };
}

const session = (browser) => browser.cookie('vg_session');

test('the authorize request follows the rules: code flow, PKCE S256, state, nonce, fixed redirect URI', async () => {
  const { browser, authorize } = await start();
  assert.equal(authorize.origin + authorize.pathname, `${stack.oidc.issuer.replace('/v2.0', '')}/oauth2/v2.0/authorize`);
  const q = authorize.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), 'visitgate-admin');
  assert.equal(q.get('redirect_uri'), `${stack.url}/admin/callback`);
  assert.deepEqual(q.get('scope').split(' ').sort(), ['email', 'openid', 'profile']);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get('state'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
  const c = browser.cookie('vg_signin_');
  assert.match(c.raw, /HttpOnly/);
  assert.match(c.raw, /SameSite=Lax/);
  assert.match(c.raw, /Path=\/admin\/callback/);
  // Nothing the browser can pass steers where the sign-in ends.
  const steer = await new HttpBrowser().get(`${stack.url}/admin/signin?redirect_uri=https://evil.example/&next=https://evil.example/`, { until: u => u.startsWith(stack.oidc.url) });
  assert.equal(new URL(steer.pending).searchParams.get('redirect_uri'), `${stack.url}/admin/callback`);
});

test('a platform admin signs in: session cookie only, tokens stay in the gateway, subject is the user name', async () => {
  const { browser, done } = await signIn('pat.platform@contoso.example');
  assert.equal(done.status, 200, done.text.slice(0, 300));
  assert.equal(done.url, `${stack.url}/admin/`);
  assert.equal(done.hops.at(-2).status, 303);
  assert.equal(done.hops.at(-2).location, '/admin/', 'always the portal, never a URL from the request');
  assert.match(session(browser).raw, /HttpOnly; SameSite=Strict/);
  assert.equal(browser.cookie('vg_signin_'), undefined, 'the sign-in cookie is spent');
  for (const h of done.hops) assert.doesNotMatch(h.location ?? '', /id_token|access_token/);
  const me = await apiClient(stack.url, null)('GET', '/api/v1/me', undefined, { cookie: `vg_session=${session(browser).value}`, authorization: null });
  assert.equal(me.status, 200);
  assert.equal(me.body.subject, 'pat.platform@contoso.example');
  assert.equal(me.body.role, 'platform_admin');
  // The audit log names that person.
  const h = { cookie: `vg_session=${session(browser).value}`, authorization: null, 'x-csrf-token': me.body.csrf_token, origin: stack.url };
  const made = await apiClient(stack.url, null)('POST', '/api/v1/tenants', { id: 'oidc-made', display_name: 'Made via OIDC' }, h);
  assert.equal(made.status, 201, made.text);
  const audit = await stack.api('GET', '/api/v1/tenants/oidc-made/audit');
  assert.equal(audit.body.entries[0].actor, 'pat.platform@contoso.example');
});

test('an app role for one tenant makes a tenant admin of just that tenant', async () => {
  await stack.api('POST', '/api/v1/tenants', { id: 'demo', display_name: 'Demo Health' });
  const { browser, done } = await signIn('dana.demo@contoso.example');
  assert.equal(done.status, 200);
  const api = apiClient(stack.url, null);
  const h = { cookie: `vg_session=${session(browser).value}`, authorization: null };
  const me = await api('GET', '/api/v1/me', undefined, h);
  assert.deepEqual([me.body.role, me.body.tenant_id], ['tenant_admin', 'demo']);
  assert.deepEqual((await api('GET', '/api/v1/tenants', undefined, h)).body.tenants.map(t => t.id), ['demo']);
  assert.equal((await api('GET', '/api/v1/tenants/oidc-made', undefined, h)).status, 403);
});

test('refusals: no role, several tenants, cancelled at the provider', async () => {
  const none = await signIn('no.role@contoso.example');
  assert.equal(none.done.status, 403);
  assert.equal(pageCode(none.done.text), 'signin_no_role');
  assert.match(none.done.text, /no Visitgate role/);
  assert.match(none.done.text, /Back to the admin portal/);
  assert.equal(session(none.browser), undefined);

  await fetch(`${stack.oidc.url}/_oidc/users`, { method: 'POST', body: JSON.stringify({ username: 'two@contoso.example', roles: ['Visitgate.TenantAdmin.aa', 'Visitgate.TenantAdmin.bb'] }) });
  const two = await signIn('two@contoso.example');
  assert.equal(pageCode(two.done.text), 'signin_several_tenants');
  assert.match(two.done.text, /aa, bb/);

  const cancelled = await signIn('cancel');
  assert.equal(cancelled.done.status, 403);
  assert.equal(pageCode(cancelled.done.text), 'signin_denied');
  assert.match(cancelled.done.text, /AADSTS65004/);
});

test('state rules: missing cookie, mismatch, tampered cookie, replay', async () => {
  // Answer arriving in a browser that never started the sign-in.
  const { browser, authorize } = await start();
  const back = await pick(browser, authorize, 'pat.platform@contoso.example');
  const stranger = await new HttpBrowser().get(back);
  assert.equal(pageCode(stranger.text), 'signin_cookie_missing');

  // Same cookie name (first 16 chars of state), different state.
  const u = new URL(back);
  const s = u.searchParams.get('state');
  u.searchParams.set('state', s.slice(0, 16) + 'x'.repeat(s.length - 16));
  const mismatch = await browser.get(u.href);
  assert.equal(pageCode(mismatch.text), 'signin_state_mismatch');

  const t = await start();
  const tBack = await pick(t.browser, t.authorize, 'pat.platform@contoso.example');
  const c = t.browser.cookie('vg_signin_');
  c.value = c.value.slice(0, -4) + (c.value.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const tampered = await t.browser.get(tBack);
  assert.equal(pageCode(tampered.text), 'signin_state_invalid');

  const r = await start();
  const rBack = await pick(r.browser, r.authorize, 'pat.platform@contoso.example');
  const saved = { ...r.browser.cookie('vg_signin_') };
  assert.equal((await r.browser.get(rBack)).status, 200);
  r.browser.cookies.push(saved);
  const replay = await r.browser.get(rBack);
  assert.equal(pageCode(replay.text), 'signin_state_replayed');
});

test('id_token rules: signature, issuer, audience, expiry, nonce; token endpoint failure', async () => {
  const cases = [
    [{ corrupt_signature: true }, 'signin_id_token_signature', /invalid signature/],
    [{ claims: { iss: 'https://login.evil.example/contoso-tenant/v2.0' } }, 'signin_id_token_issuer', /someone other/],
    [{ claims: { aud: 'another-app' } }, 'signin_id_token_audience', /another application/],
    [{ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }, 'signin_id_token_expired', /expired/],
    [{ claims: { nonce: 'not-ours' } }, 'signin_id_token_nonce', /nonce/],
    [{ token_status: 503 }, 'signin_token_failed', /failed to complete/],
  ];
  for (const [how, code, words] of cases) {
    await next(how);
    const { browser, done } = await signIn('pat.platform@contoso.example');
    assert.equal(pageCode(done.text), code, JSON.stringify(how));
    assert.match(done.text, words);
    assert.equal(session(browser), undefined, `no session after ${code}`);
  }
});

test('a bare callback is refused with a page', async () => {
  const r = await fetch(`${stack.url}/admin/callback`);
  assert.equal(r.status, 400);
  assert.equal(pageCode(await r.text()), 'signin_state_missing');
});
