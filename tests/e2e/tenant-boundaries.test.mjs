// Tenant boundaries, tried as a hostile tenant admin would (issue 13): each
// test feeds the hostile input and checks it is refused with a clear code
// and that nothing another tenant owns was reached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startStack, mintToken, apiClient } from '../lib/harness.mjs';
import { DEFAULT_ACCOUNT, startSmsStandIn } from '../standins/sms.mjs';
import { fhirBase } from '../standins/ehr-sandbox.mjs';

const ACME_TOKEN = 'acme-twilio-auth-token-7f3a';
let stack;
let grabber;
let sms;
const seen = [];

before(async () => {
  // A server of the hostile admin's own: it records every Authorization it is sent.
  grabber = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"nothing here"}');
  });
  await new Promise(r => grabber.listen(0, '127.0.0.1', r));
  sms = await startSmsStandIn({ port: 0, purchaseDelayMs: 1500 });
  stack = await startStack({
    vars: { ACME_TWILIO_TOKEN: ACME_TOKEN, TWILIO_AUTH_TOKEN: DEFAULT_ACCOUNT.authToken },
    tenantSecrets: { acme: ['ACME_TWILIO_TOKEN'], shop: ['TWILIO_AUTH_TOKEN'] },
  });
  for (const id of ['acme', 'evil', 'shop']) {
    assert.equal((await stack.api('POST', '/api/v1/tenants', { id, display_name: id })).status, 201);
  }
});
after(async () => {
  await stack?.stop();
  grabber?.close();
  await sms?.close();
});

const grabberUrl = () => `http://127.0.0.1:${grabber.address().port}`;
const decoded = () => seen.map(a => (a.startsWith('Basic ') ? Buffer.from(a.slice(6), 'base64').toString() : a));

async function smsPointingAtGrabber(api, tenant) {
  const t = await api('GET', `/api/v1/tenants/${tenant}`);
  return api('PUT', `/api/v1/tenants/${tenant}/sms`, {
    consent_send_on_behalf: true, consent_attendees: true,
    provider: { kind: 'twilio', account_sid: DEFAULT_ACCOUNT.accountSid, auth_token_ref: 'ACME_TWILIO_TOKEN', api_base: grabberUrl() },
    numbers: [], base_numbers: {}, clinic_name: tenant,
  }, { 'if-match': t.headers.get('etag') });
}

async function orderSettles(api, tenant) {
  const started = await api('POST', `/api/v1/tenants/${tenant}/sms/numbers`, { country: 'US' });
  assert.equal(started.status, 202, started.text);
  for (let i = 0; i < 100; i++) {
    const o = (await api('GET', `/api/v1/tenants/${tenant}/sms/numbers/${started.body.id}`)).body;
    if (o.status !== 'running') return o;
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error('the order never finished');
}

test("class 1: a tenant naming another tenant's Worker secret never gets it sent anywhere", async () => {
  const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
  const put = await smsPointingAtGrabber(evil, 'evil');
  assert.equal(put.status, 200, put.text);
  seen.length = 0;
  const order = await orderSettles(evil, 'evil');
  assert.equal(order.status, 'failed');
  assert.match(order.error, /auth token secret is not set up/);
  assert.ok(!decoded().some(a => a.includes(ACME_TOKEN)), "acme's token never left the gateway");
  assert.equal(seen.length, 0, 'nothing was sent without a secret');

  // The owner of the assignment does use it (the assignment works).
  const acme = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'acme'));
  assert.equal((await smsPointingAtGrabber(acme, 'acme')).status, 200);
  await orderSettles(acme, 'acme');
  assert.ok(decoded().some(a => a.includes(ACME_TOKEN)), 'sent for acme, whose secret it is');
});

test('class 1: no answer tells a tenant which Worker secrets exist', async () => {
  const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
  // Another tenant's Worker secret and a name nobody uses get the same answer.
  for (const name of ['ACME_TWILIO_TOKEN', 'NO_SUCH_SECRET_ANYWHERE']) {
    const r = await evil('PUT', `/api/v1/tenants/evil/secrets/${name}`, { value: 'mine' });
    assert.equal(r.status, 204, `${name}: ${r.text}`);
  }
  const list = await evil('GET', '/api/v1/tenants/evil/secrets');
  assert.deepEqual(list.body.secrets.map(s => s.name).sort(), ['ACME_TWILIO_TOKEN', 'NO_SUCH_SECRET_ANYWHERE']);
  assert.ok(list.body.secrets.every(s => s.updated_by !== 'operator'));
  // The tenant it is assigned to is told, and sees it as set by the operator.
  const acme = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'acme'));
  const mine = await acme('PUT', '/api/v1/tenants/acme/secrets/ACME_TWILIO_TOKEN', { value: 'x' });
  assert.equal(mine.status, 409);
  assert.equal(mine.body.code, 'secret_assigned_by_operator');
  const listed = (await acme('GET', '/api/v1/tenants/acme/secrets')).body.secrets;
  assert.deepEqual(listed.map(s => [s.name, s.updated_by]), [['ACME_TWILIO_TOKEN', 'operator']]);
  // evil's own stored value under that name is evil's, and acme still uses the Worker secret.
  seen.length = 0;
  await orderSettles(acme, 'acme');
  assert.ok(decoded().some(a => a.includes(ACME_TOKEN)) && !decoded().some(a => a.endsWith(':mine')));
});

test('class 1: only a platform admin allows provider hosts besides the providers own', async () => {
  const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
  const t = await evil('GET', '/api/v1/tenants/evil');
  const refused = await evil('PUT', '/api/v1/tenants/evil/provider-hosts', { hosts: ['grabber.example.org'] }, { 'if-match': t.headers.get('etag') });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'forbidden');
  const bad = await stack.api('PUT', '/api/v1/tenants/evil/provider-hosts', { hosts: ['https://x.example/path'] }, { 'if-match': t.headers.get('etag') });
  assert.equal(bad.status, 400);
  assert.deepEqual([bad.body.code, bad.body.field], ['invalid_host', 'hosts.0']);
  const ok = await stack.api('PUT', '/api/v1/tenants/evil/provider-hosts', { hosts: ['twilio-proxy.example.org'] }, { 'if-match': t.headers.get('etag') });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.provider_hosts, ['twilio-proxy.example.org']);
  // A tenant admin's own update cannot carry the field.
  const sneaky = await evil('PUT', '/api/v1/tenants/evil', { display_name: 'evil', provider_hosts: ['grabber.example.org'] }, { 'if-match': ok.headers.get('etag') });
  assert.equal(sneaky.status, 400);
  assert.equal(sneaky.body.code, 'unknown_field');
  assert.deepEqual((await stack.api('GET', '/api/v1/tenants/evil')).body.provider_hosts, ['twilio-proxy.example.org']);
});

// Class 2: a FHIR base "validated" against a server of the hostile admin's own.
async function hostileEhr() {
  const hits = [];
  let bigSent = 0;
  let bigClosed = false;
  const srv = createServer((req, res) => {
    hits.push(req.url);
    if (req.url.startsWith('/r4/redirect/')) {
      res.writeHead(302, { location: `http://127.0.0.1:${srv.address().port}/internal.json` }).end();
    } else if (req.url === '/internal.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authorization_endpoint: 'LEAKED-INTERNAL-VALUE' }));
    } else if (req.url.startsWith('/r4/big/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.write('{"pad":"');
      const pump = () => { while (!bigClosed && res.write(chunk)) bigSent += chunk.length; };
      res.on('drain', pump);
      res.on('close', () => { bigClosed = true; });
      pump();
    } else if (req.url.startsWith('/r4/echo/')) {
      res.writeHead(200, { 'content-type': 'application/json; leak=LEAKED-HEADER-VALUE' })
        .end(JSON.stringify({ capabilities: 'LEAKED-BODY-VALUE', issuer: 'x' }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise(r => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, hits, sent: () => bigSent, closed: () => bigClosed, close: () => srv.close() };
}

test('class 2: validation follows no redirect and echoes nothing it was not asked for', async () => {
  const ehr = await hostileEhr();
  try {
    const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
    const r = await evil('POST', '/api/v1/fhir-bases/validate', { url: `${ehr.url}/r4/redirect`, auth_method: 'private_key_jwt' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ok, false);
    assert.ok(r.body.requests.every(q => /^HTTP 302/.test(q.outcome)), JSON.stringify(r.body.requests));
    assert.ok(!ehr.hits.includes('/internal.json'), 'the redirect target was never fetched');
    assert.ok(!r.text.includes('LEAKED'));
    const echo = await evil('POST', '/api/v1/fhir-bases/validate', { url: `${ehr.url}/r4/echo`, auth_method: 'private_key_jwt' });
    assert.equal(echo.body.ok, false);
    assert.ok(!echo.text.includes('LEAKED'), echo.text);
    assert.ok(echo.body.findings.some(f => f.code === 'smart_configuration_invalid'));
  } finally {
    ehr.close();
  }
});

test('class 2: a body is capped while it streams in, not read whole first', async () => {
  const ehr = await hostileEhr();
  try {
    const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
    const started = Date.now();
    const r = await evil('POST', '/api/v1/fhir-bases/validate', { url: `${ehr.url}/r4/big`, auth_method: 'private_key_jwt' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ok, false);
    assert.ok(r.body.findings.some(f => /larger than 4096 KiB/.test(f.message)), JSON.stringify(r.body.findings));
    assert.ok(Date.now() - started < 5000, 'refused before the 5 s timeout');
    for (let i = 0; i < 50 && !ehr.closed(); i++) await new Promise(res => setTimeout(res, 100));
    assert.ok(ehr.closed(), 'the gateway hung up');
    assert.ok(ehr.sent() < 64 * 1024 * 1024, `stopped early (${ehr.sent()} bytes sent)`);
  } finally {
    ehr.close();
  }
});

test('class 2: validation is rate-limited per caller', async () => {
  const token = await mintToken(stack, 'tenant_admin', 'acme');
  const acme = apiClient(stack.url, token);
  let throttled;
  // The limiter counts per minute window: past twice the limit, one window is over it.
  for (let i = 0; i < 70 && !throttled; i++) {
    const r = await acme('POST', '/api/v1/fhir-bases/validate', { url: 'http://127.0.0.1:1/r4/none', auth_method: 'private_key_jwt' });
    if (r.status === 429) throttled = r;
    else assert.equal(r.status, 200, r.text);
  }
  assert.ok(throttled, 'refused within 70 validations in a minute');
  assert.equal(throttled.body.code, 'validation_throttled');
  assert.match(throttled.body.message, /Wait a minute/);
});

async function shopSms(overrides = {}) {
  const t = await stack.api('GET', '/api/v1/tenants/shop');
  return stack.api('PUT', '/api/v1/tenants/shop/sms', {
    consent_send_on_behalf: true, consent_attendees: true,
    provider: { kind: 'twilio', account_sid: DEFAULT_ACCOUNT.accountSid, auth_token_ref: 'TWILIO_AUTH_TOKEN', api_base: sms.url },
    numbers: [], base_numbers: {}, clinic_name: 'Shop', ...overrides,
  }, { 'if-match': t.headers.get('etag') });
}

test('class 4: one running number order per tenant; an Idempotency-Key repeats, never buys twice', async () => {
  assert.equal((await shopSms()).status, 200);
  const key = { 'idempotency-key': 'press-1' };
  const first = await stack.api('POST', '/api/v1/tenants/shop/sms/numbers', { country: 'US', area_code: '816' }, key);
  assert.equal(first.status, 202, first.text);
  const again = await stack.api('POST', '/api/v1/tenants/shop/sms/numbers', { country: 'US', area_code: '816' }, key);
  assert.equal(again.status, 202, 'the same press, answered the same');
  assert.equal(again.body.id, first.body.id);
  const second = await stack.api('POST', '/api/v1/tenants/shop/sms/numbers', { country: 'US', area_code: '816' });
  assert.equal(second.status, 409, second.text);
  assert.equal(second.body.code, 'number_order_running');
  let order;
  for (let i = 0; i < 100; i++) {
    order = (await stack.api('GET', `/api/v1/tenants/shop/sms/numbers/${first.body.id}`)).body;
    if (order.status !== 'running') break;
    await new Promise(r => setTimeout(r, 200));
  }
  assert.equal(order.status, 'succeeded', JSON.stringify(order));
  const listed = (await stack.api('GET', '/api/v1/tenants/shop/sms/numbers')).body;
  assert.deepEqual(listed.orders.map(o => o.id), [first.body.id], 'one order, nothing lost, nothing twice');
  assert.equal(listed.numbers.length, 1);
  const bad = await stack.api('POST', '/api/v1/tenants/shop/sms/numbers', { country: 'US' }, { 'idempotency-key': ' spaced key ' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'invalid_idempotency_key');
});

test('class 5: time zones are checked on save, exactly as typed', async () => {
  for (const tz of ['Mars/Olympus_Mons', 'Europe/Berlin ', ' UTC', '', 'Not a zone']) {
    const r = await shopSms({ time_zone: tz });
    assert.equal(r.status, 400, `${JSON.stringify(tz)}: ${r.text}`);
    assert.deepEqual([r.body.code, r.body.field], ['invalid_time_zone', 'time_zone']);
  }
  const ok = await shopSms({ time_zone: 'Europe/Berlin' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.sms.time_zone, 'Europe/Berlin');
  const t = await stack.api('GET', '/api/v1/tenants/shop');
  const email = await stack.api('PUT', '/api/v1/tenants/shop/email', {
    enabled: true, consent_send_on_behalf: true, consent_attendees: true,
    provider: { kind: 'send_grid', api_base: sms.url, api_key_ref: 'SHOP_SENDGRID', from_email: 'visits@shop.example' },
    from_name: 'Shop', time_zone: 'Mars/Olympus_Mons',
  }, { 'if-match': t.headers.get('etag') });
  assert.equal(email.status, 400, email.text);
  assert.equal(email.body.code, 'invalid_time_zone');
});

test('class 3: API tokens expire, are listed and revoked, and end with their tenant', async () => {
  for (const days of [0, 366]) {
    const r = await stack.api('POST', '/api/v1/tokens', { label: 'x', role: 'tenant_admin', tenant_id: 'acme', expires_in_days: days });
    assert.deepEqual([r.status, r.body.code, r.body.field], [400, 'invalid_expiry', 'expires_in_days']);
  }
  const minted = await stack.api('POST', '/api/v1/tokens', { label: 'acme-ci', role: 'tenant_admin', tenant_id: 'acme', expires_in_days: 1 });
  assert.equal(minted.status, 201, minted.text);
  const in1Day = Date.parse(minted.body.expires_at) - Date.now();
  assert.ok(Math.abs(in1Day - 86_400_000) < 120_000, `expires in a day (${in1Day} ms)`);
  const acme = apiClient(stack.url, minted.body.token);
  assert.equal((await acme('GET', '/api/v1/tenants/acme')).status, 200);
  // Listing: a tenant admin sees their tenant's tokens, never a value, never another tenant's.
  const mine = await acme('GET', '/api/v1/tokens');
  assert.equal(mine.status, 200);
  assert.ok(mine.body.tokens.some(t => t.id === minted.body.id && t.label === 'acme-ci'));
  assert.ok(mine.body.tokens.every(t => t.role.tenant_id === 'acme'), JSON.stringify(mine.body.tokens));
  assert.ok(!mine.text.includes(minted.body.token));
  assert.equal((await acme('GET', '/api/v1/tokens?tenant_id=evil')).status, 403);
  const all = await stack.api('GET', '/api/v1/tokens');
  assert.ok(all.body.tokens.some(t => t.role.tenant_id === 'evil'), 'a platform admin sees every tenant');
  // Revoking: not another tenant's (as if it did not exist), at once for one's own.
  const evilToken = all.body.tokens.find(t => t.role.tenant_id === 'evil');
  assert.equal((await acme('DELETE', `/api/v1/tokens/${evilToken.id}`)).status, 404);
  const second = await stack.api('POST', '/api/v1/tokens', { label: 'acme-spare', role: 'tenant_admin', tenant_id: 'acme' });
  assert.equal((await acme('DELETE', `/api/v1/tokens/${second.body.id}`)).status, 204);
  const revoked = await apiClient(stack.url, second.body.token)('GET', '/api/v1/tenants/acme');
  assert.deepEqual([revoked.status, revoked.body.code], [401, 'invalid_token']);
  const audit = (await stack.api('GET', '/api/v1/tenants/acme/audit')).body.entries.map(e => e.action);
  assert.ok(audit.includes('token.mint') && audit.includes('token.revoke'), audit.join());
  // A tenant deleted and made again under the same id is another tenant: old tokens do not work.
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'phoenix', display_name: 'Phoenix' })).status, 201);
  const old = await stack.api('POST', '/api/v1/tokens', { label: 'phoenix-ci', role: 'tenant_admin', tenant_id: 'phoenix' });
  const phoenix = apiClient(stack.url, old.body.token);
  assert.equal((await phoenix('GET', '/api/v1/tenants/phoenix')).status, 200);
  const t = await stack.api('GET', '/api/v1/tenants/phoenix');
  assert.equal((await stack.api('DELETE', '/api/v1/tenants/phoenix', undefined, { 'if-match': t.headers.get('etag') })).status, 204);
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'phoenix', display_name: 'Phoenix again' })).status, 201);
  const reborn = await phoenix('GET', '/api/v1/tenants/phoenix');
  assert.deepEqual([reborn.status, reborn.body.code], [401, 'invalid_token']);
});

test("class 11: a FHIR base URL is held only once a platform admin approves it; a claim never tells who holds a URL", async () => {
  const sb = stack.sandbox.url;
  const client = id => ({ client_id: id, auth_method: 'client_secret_basic', secret_ref: 'CLIENT_SECRET' });
  const launchTo = name => fetch(`${stack.url}/launch?iss=${encodeURIComponent(fhirBase(sb, name))}&launch=x`, { redirect: 'manual' });
  const clientOf = r => new URL(r.headers.get('location')).searchParams.get('client_id');
  // acme's base, added by a platform admin: approved at once, and launches go to acme's client.
  const t = await stack.api('GET', '/api/v1/tenants/acme');
  const mine = await stack.api('POST', '/api/v1/tenants/acme/fhir-bases',
    { url: fhirBase(sb, 'good'), environment: 'test', department: 'Main', client: client('acme-client') }, { 'if-match': t.headers.get('etag') });
  assert.equal(mine.status, 201, mine.text);
  assert.equal(mine.body.fhir_bases[0].approval, 'approved');
  assert.equal(clientOf(await launchTo('good')), 'acme-client');

  // evil claims acme's URL, then a free one: the same answer for both.
  const evil = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'evil'));
  const claim = async name => {
    const cur = await evil('GET', '/api/v1/tenants/evil');
    return evil('POST', '/api/v1/tenants/evil/fhir-bases',
      { url: fhirBase(sb, name), environment: 'test', department: name, client: client('evil-client') }, { 'if-match': cur.headers.get('etag') });
  };
  const taken = await claim('good');
  const free = await claim('good2');
  assert.deepEqual([taken.status, free.status], [201, 201], taken.text);
  const [onTaken, onFree] = free.body.fhir_bases;
  assert.deepEqual([onTaken.approval, onFree.approval], ['pending', 'pending']);
  assert.doesNotMatch(taken.text, /acme/, 'nothing about who holds the URL');

  // Pending claims launch nothing, and acme's launches are untouched.
  assert.equal(clientOf(await launchTo('good')), 'acme-client');
  const pending = await launchTo('good2');
  assert.equal(pending.status, 404);
  assert.match(await pending.text(), /launch_unknown_iss/);

  // A tenant admin cannot approve its own claim.
  const etag = (await evil('GET', '/api/v1/tenants/evil')).headers.get('etag');
  const self = await evil('POST', `/api/v1/tenants/evil/fhir-bases/${onFree.id}/approve`, {}, { 'if-match': etag });
  assert.equal(self.status, 403);
  // A platform admin approves the free one, and is told whose the other is.
  const approved = await stack.api('POST', `/api/v1/tenants/evil/fhir-bases/${onFree.id}/approve`, {}, { 'if-match': etag });
  assert.equal(approved.status, 200, approved.text);
  assert.equal(clientOf(await launchTo('good2')), 'evil-client');
  const refused = await stack.api('POST', `/api/v1/tenants/evil/fhir-bases/${onTaken.id}/approve`, {}, { 'if-match': approved.headers.get('etag') });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'fhir_base_taken');
  assert.match(refused.body.message, /acme/, 'a platform admin may know the owner');

  // Moving an approved base to a new URL makes it wait again; dropping the pending claim leaves acme alone.
  const audit = (await stack.api('GET', '/api/v1/tenants/evil/audit')).body.entries.map(e => e.action);
  assert.ok(audit.includes('fhir_base.approve'));
  let cur = await evil('GET', '/api/v1/tenants/evil');
  const moved = await evil('PUT', `/api/v1/tenants/evil/fhir-bases/${onFree.id}`,
    { url: fhirBase(sb, 'good3'), environment: 'test', department: 'moved', client: client('evil-client') }, { 'if-match': cur.headers.get('etag') });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.fhir_bases.find(b => b.id === onFree.id).approval, 'pending');
  assert.deepEqual([(await launchTo('good2')).status, (await launchTo('good3')).status], [404, 404]);
  cur = await evil('GET', '/api/v1/tenants/evil');
  const dropped = await evil('DELETE', `/api/v1/tenants/evil/fhir-bases/${onTaken.id}`, undefined, { 'if-match': cur.headers.get('etag') });
  assert.equal(dropped.status, 200, dropped.text);
  assert.equal(clientOf(await launchTo('good')), 'acme-client', "removing a pending claim never removes the owner's launch index");
});
