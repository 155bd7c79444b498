// Admin API against the real gateway: tenants, versions (no lost updates),
// bad input, audit log, and tenant isolation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, mintToken, apiClient } from '../lib/harness.mjs';
import { fhirBase } from '../standins/ehr-sandbox.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const client = { client_id: 'vg-test', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET_T' };

async function createTenant(id, name = `Tenant ${id}`) {
  const r = await stack.api('POST', '/api/v1/tenants', { id, display_name: name });
  assert.equal(r.status, 201, r.text);
  return r;
}

test('healthz answers 200 with JSON', async () => {
  const r = await stack.api('GET', '/healthz', undefined, { authorization: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.match(r.headers.get('content-type'), /application\/json/);
});

test('the API refuses callers without valid credentials', async () => {
  const anon = await stack.api('GET', '/api/v1/tenants', undefined, { authorization: null });
  assert.equal(anon.status, 401);
  assert.equal(anon.body.code, 'unauthenticated');
  const bad = await stack.api('GET', '/api/v1/tenants', undefined, { authorization: 'Bearer nope' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.code, 'invalid_token');
  const unknownRoute = await stack.api('GET', '/api/v1/nothing-here');
  assert.equal(unknownRoute.status, 404);
  const wrongMethod = await stack.api('PATCH', '/api/v1/tenants');
  assert.equal(wrongMethod.status, 405);
});

test('create, read, rename with If-Match; stale or missing versions are refused', async () => {
  const created = await createTenant('acme', 'Acme Health');
  assert.equal(created.headers.get('etag'), '"v1"');
  assert.equal(created.headers.get('location'), '/api/v1/tenants/acme');
  assert.equal(created.body.schema_version, 1);

  const dup = await stack.api('POST', '/api/v1/tenants', { id: 'acme', display_name: 'Again' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'tenant_exists');

  const noMatch = await stack.api('PUT', '/api/v1/tenants/acme', { display_name: 'X' });
  assert.equal(noMatch.status, 428);
  assert.equal(noMatch.body.code, 'if_match_required');

  const renamed = await stack.api('PUT', '/api/v1/tenants/acme', { display_name: 'Acme Health System' }, { 'if-match': '"v1"' });
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal(renamed.headers.get('etag'), '"v2"');

  const stale = await stack.api('PUT', '/api/v1/tenants/acme', { display_name: 'Lost update' }, { 'if-match': '"v1"' });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.code, 'version_conflict');
  assert.equal(stale.body.current.version, 2);
  assert.equal(stale.body.current.display_name, 'Acme Health System');

  const read = await stack.api('GET', '/api/v1/tenants/acme');
  assert.equal(read.body.display_name, 'Acme Health System');
  assert.equal(read.headers.get('etag'), '"v2"');
});

test('20 concurrent conflicting saves: exactly one wins, the rest get 409, the winner is stored', async () => {
  const { headers } = await createTenant('race');
  const etag = headers.get('etag');
  const names = Array.from({ length: 20 }, (_, i) => `Writer ${i}`);
  const results = await Promise.all(
    names.map(n => stack.api('PUT', '/api/v1/tenants/race', { display_name: n }, { 'if-match': etag })),
  );
  const wins = results.filter(r => r.status === 200);
  const conflicts = results.filter(r => r.status === 409);
  assert.equal(wins.length, 1, results.map(r => r.status).join(','));
  assert.equal(conflicts.length, 19);
  for (const c of conflicts) assert.equal(c.body.code, 'version_conflict');
  const stored = await stack.api('GET', '/api/v1/tenants/race');
  assert.deepEqual(stored.body, wins[0].body);
  assert.equal(stored.body.version, 2);

  // A second round on the new version: again exactly one.
  const round2 = await Promise.all(
    names.map(n => stack.api('PUT', '/api/v1/tenants/race', { display_name: `${n} again` }, { 'if-match': '"v2"' })),
  );
  assert.equal(round2.filter(r => r.status === 200).length, 1);
  assert.equal(round2.filter(r => r.status === 409).length, 19);
});

test('bad input gets 4xx with {code, message, field} and changes nothing', async () => {
  await createTenant('strict');
  const before = await stack.api('GET', '/api/v1/tenants/strict');
  const etag = { 'if-match': before.headers.get('etag') };
  const cases = [
    ['POST', '/api/v1/tenants', '{"id": "x1", ', {}, 400, 'malformed_json'],
    ['POST', '/api/v1/tenants', { id: 'x2', display_name: 'X', colour: 'red' }, {}, 400, 'unknown_field', 'colour'],
    ['POST', '/api/v1/tenants', { id: 'x3' }, {}, 400, 'missing_field', 'display_name'],
    ['POST', '/api/v1/tenants', { id: 'Bad/Id', display_name: 'X' }, {}, 400, 'invalid_id', 'id'],
    ['POST', '/api/v1/tenants', { id: 'x4', display_name: '   ' }, {}, 400, 'invalid_display_name', 'display_name'],
    ['POST', '/api/v1/tenants', { id: 'x5', display_name: 'x'.repeat(70 * 1024) }, {}, 413, 'body_too_large'],
    ['POST', '/api/v1/tenants', 'id=x6', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    ['PUT', '/api/v1/tenants/strict', { display_name: 'Y', extra: 1 }, etag, 400, 'unknown_field', 'extra'],
    ['PUT', '/api/v1/tenants/strict', { display_name: 'Y' }, { 'if-match': 'garbage' }, 400, 'if_match_invalid', 'If-Match'],
    ['GET', '/api/v1/tenants/a%20b', undefined, {}, 400, 'invalid_id', 'tenant'],
    ['GET', '/api/v1/tenants/nobody-here', undefined, {}, 404, 'not_found'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'ftp://x.org/r4', environment: 'test', client }, etag, 400, 'url_invalid', 'url'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'https://x.org/r4?a=1', environment: 'test', client }, etag, 400, 'url_has_query', 'url'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'http://ehr.example.org/r4', environment: 'test', client }, etag, 400, 'url_http_not_allowed', 'url'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'https://x.org/r4', environment: 'staging', client }, etag, 400, 'invalid_value'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'https://x.org/r4', environment: 'test', client: { ...client, secret_ref: 'hunter2 my secret' } }, etag, 400, 'invalid_secret_ref', 'client.secret_ref'],
    ['POST', '/api/v1/tenants/strict/fhir-bases', { url: 'https://x.org/r4', environment: 'test', client: { ...client, client_id: '' } }, etag, 400, 'invalid_client_id', 'client.client_id'],
    ['DELETE', '/api/v1/tenants/strict/fhir-bases/Bad.Base', undefined, etag, 400, 'invalid_id', 'fhir_base'],
    ['POST', '/api/v1/tokens', { label: 'x', role: 'tenant_admin' }, {}, 400, 'invalid_role', 'tenant_id'],
  ];
  for (const [method, path, body, headers, status, code, field] of cases) {
    const r = await stack.api(method, path, body, headers);
    const what = `${method} ${path} ${typeof body === 'string' ? body : JSON.stringify(body)?.slice(0, 80)}`;
    assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
    assert.equal(r.body.code, code, what);
    assert.equal(typeof r.body.message, 'string', what);
    assert.ok(r.body.message.length > 10, what);
    if (field) assert.equal(r.body.field, field, what);
  }
  const afterRead = await stack.api('GET', '/api/v1/tenants/strict');
  assert.deepEqual(afterRead.body, before.body);
  const all = await stack.api('GET', '/api/v1/tenants');
  assert.ok(!all.body.tenants.some(t => /^x\d$/.test(t.id)), 'no half-created tenants');
});

test('audit log records who changed what, field by field', async () => {
  await createTenant('audited', 'Before');
  await stack.api('PUT', '/api/v1/tenants/audited', { display_name: 'After' }, { 'if-match': '"v1"' });
  const r = await stack.api('GET', '/api/v1/tenants/audited/audit');
  assert.equal(r.status, 200);
  const [update, create] = r.body.entries;
  assert.equal(update.action, 'tenant.update');
  assert.equal(update.actor, 'platform-token');
  assert.equal(update.version, 2);
  assert.deepEqual(update.changes, [{ path: '/display_name', before: 'Before', after: 'After' }]);
  assert.match(update.at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(create.action, 'tenant.create');
});

test('tenant isolation: another tenant\'s admin is refused on every route and changes nothing', async () => {
  await createTenant('alpha');
  await createTenant('beta');
  const added = await stack.api('POST', '/api/v1/tenants/alpha/fhir-bases',
    { url: fhirBase(stack.sandbox.url, 'good3'), environment: 'test', department: 'A', client }, { 'if-match': '"v1"' });
  assert.equal(added.status, 201, added.text);
  const baseId = added.body.fhir_bases[0].id;
  const alphaBefore = await stack.api('GET', '/api/v1/tenants/alpha');

  const betaAdmin = apiClient(stack.url, await mintToken(stack, 'tenant_admin', 'beta'));
  const etag = { 'if-match': alphaBefore.headers.get('etag') };
  const baseBody = { url: fhirBase(stack.sandbox.url, 'good4'), environment: 'test', department: 'B', client };
  const routes = [
    ['GET', '/api/v1/tenants/alpha'],
    ['PUT', '/api/v1/tenants/alpha', { display_name: 'Hijacked' }, etag],
    ['DELETE', '/api/v1/tenants/alpha', undefined, etag],
    ['POST', '/api/v1/tenants/alpha/fhir-bases', baseBody, etag],
    ['PUT', `/api/v1/tenants/alpha/fhir-bases/${baseId}`, baseBody, etag],
    ['DELETE', `/api/v1/tenants/alpha/fhir-bases/${baseId}`, undefined, etag],
    ['GET', '/api/v1/tenants/alpha/integration-records'],
    ['GET', '/api/v1/tenants/alpha/audit'],
    ['POST', '/api/v1/tenants', { id: 'gamma', display_name: 'G' }],
    ['POST', '/api/v1/tokens', { label: 'escalate', role: 'platform_admin' }],
    ['POST', '/api/v1/login-links', { subject: 'me', role: 'platform_admin' }],
  ];
  for (const [method, path, body, headers] of routes) {
    const r = await betaAdmin(method, path, body, headers);
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.code, 'forbidden');
  }
  const list = await betaAdmin('GET', '/api/v1/tenants');
  assert.deepEqual(list.body.tenants.map(t => t.id), ['beta']);
  const own = await betaAdmin('PUT', '/api/v1/tenants/beta', { display_name: 'Beta renamed' }, { 'if-match': '"v1"' });
  assert.equal(own.status, 200, 'a tenant admin may edit their own tenant');
  const alphaAfter = await stack.api('GET', '/api/v1/tenants/alpha');
  assert.deepEqual(alphaAfter.body, alphaBefore.body);
  const gamma = await stack.api('GET', '/api/v1/tenants/gamma');
  assert.equal(gamma.status, 404);
});

test('no response in this suite was a 5xx and the worker logged no uncaught error', () => {
  assert.doesNotMatch(stack.logs(), /Uncaught|panicked|RuntimeError|unreachable/);
});
