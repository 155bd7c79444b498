// FHIR base validation against the EHR sandbox over real HTTP, saving only
// validated bases, one tenant per URL, and the integration records.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/harness.mjs';
import { fhirBase } from '../standins/ehr-sandbox.mjs';

let stack;
before(async () => { stack = await startStack({ sandboxSlowMs: 8000 }); });
after(async () => { await stack?.stop(); });

const client = { client_id: 'vg-client', auth_method: 'client_secret_basic', secret_ref: 'EHR_SECRET_MAIN' };
const base = name => fhirBase(stack.sandbox.url, name);
const validate = (name, auth_method = 'client_secret_basic') =>
  stack.api('POST', '/api/v1/fhir-bases/validate', { url: base(name), auth_method });

test('an Oracle Health shaped base validates, with what was found', async () => {
  const r = await validate('good', 'private_key_jwt');
  assert.equal(r.status, 200, r.text);
  const v = r.body;
  assert.equal(v.ok, true, JSON.stringify(v.findings));
  assert.equal(v.discovery, 'smart_configuration');
  assert.equal(v.fhir_version, '4.0.1');
  assert.ok(v.supports_launch_ehr && v.supports_pkce_s256 && v.supports_client_auth);
  assert.match(v.authorization_endpoint, /\/personas\/provider\/authorize$/);
  assert.match(v.token_endpoint, /\/token$/);
  assert.ok(v.issuer && v.jwks_uri);
  assert.ok(v.capabilities.includes('launch-ehr'));
  assert.equal(v.requests.length, 2);
});

test('broken bases fail with a reason a person can act on', async () => {
  const expectations = {
    notfound: ['smart_configuration_missing', /answered HTTP 404/],
    html: ['smart_configuration_missing', /did not return JSON \(it returned text\/html/],
    nos256: ['pkce_s256_unsupported', /does not offer PKCE with S256/],
    metadataonly: ['smart_configuration_missing', /SMART App Launch 2/],
    dstu2: ['fhir_version', /FHIR 1\.0\.2/],
    nolaunch: ['launch_ehr_unsupported', /launch-ehr/],
  };
  for (const [name, [code, words]] of Object.entries(expectations)) {
    const r = await validate(name);
    assert.equal(r.status, 200, `${name}: ${r.text}`);
    assert.equal(r.body.ok, false, name);
    const errors = r.body.findings.filter(f => f.severity === 'error');
    const hit = errors.find(f => f.code === code);
    assert.ok(hit, `${name}: expected ${code}, got ${JSON.stringify(errors)}`);
    assert.match(hit.message, words, name);
  }
  const meta = await validate('metadataonly');
  assert.equal(meta.body.discovery, 'capability_statement');
  assert.match(meta.body.authorization_endpoint, /authorize$/);
});

test('a server that does not answer is given up on after the timeout', async () => {
  const started = Date.now();
  const r = await validate('slow');
  const took = Date.now() - started;
  assert.equal(r.body.ok, false);
  assert.ok(r.body.findings.some(f => /did not answer within 5 seconds/.test(f.message)), JSON.stringify(r.body.findings));
  // The sandbox answers after 8 s; getting the verdict first shows the timeout fired.
  assert.ok(took < 8000, `took ${took} ms`);
});

test('only validated bases are saved; URLs are normalised and belong to one tenant', async () => {
  for (const id of ['north', 'south']) {
    assert.equal((await stack.api('POST', '/api/v1/tenants', { id, display_name: id })).status, 201);
  }
  const bad = await stack.api('POST', '/api/v1/tenants/north/fhir-bases',
    { url: base('nos256'), environment: 'test', department: 'ED', client }, { 'if-match': '"v1"' });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.code, 'fhir_base_invalid');
  assert.equal(bad.body.field, 'url');
  assert.match(bad.body.message, /S256/);
  assert.equal(bad.body.validation.ok, false);
  assert.equal((await stack.api('GET', '/api/v1/tenants/north')).body.version, 1, 'nothing saved');

  // Spelled with upper-case scheme/host and a trailing slash: stored normalised.
  const messy = base('good').replace('http://127.0.0.1', 'HTTP://127.0.0.1') + '/';
  const ok = await stack.api('POST', '/api/v1/tenants/north/fhir-bases',
    { url: messy, environment: 'test', department: 'Cardiology', client }, { 'if-match': '"v1"' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.headers.get('etag'), '"v2"');
  const saved = ok.body.fhir_bases[0];
  assert.equal(saved.url, base('good'));
  assert.equal(saved.environment, 'test');
  assert.equal(saved.validation.ok, true);
  assert.match(saved.id, /^fb-[0-9a-f]{16}$/);
  assert.equal(ok.headers.get('location'), `/api/v1/tenants/north/fhir-bases/${saved.id}`);

  const again = await stack.api('POST', '/api/v1/tenants/north/fhir-bases',
    { url: base('good'), environment: 'production', department: 'X', client }, { 'if-match': '"v2"' });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'fhir_base_duplicate');

  const taken = await stack.api('POST', '/api/v1/tenants/south/fhir-bases',
    { url: base('good'), environment: 'production', department: 'X', client }, { 'if-match': '"v1"' });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'fhir_base_taken');
  assert.match(taken.body.message, /north/, 'a platform admin is told which tenant holds it');

  // Change and re-validate, then remove: the URL is free for another tenant.
  const changed = await stack.api('PUT', `/api/v1/tenants/north/fhir-bases/${saved.id}`,
    { url: base('good'), environment: 'test', department: 'Cardiology (test)', client }, { 'if-match': '"v2"' });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.body.fhir_bases[0].department, 'Cardiology (test)');
  const toBroken = await stack.api('PUT', `/api/v1/tenants/north/fhir-bases/${saved.id}`,
    { url: base('html'), environment: 'test', department: 'x', client }, { 'if-match': '"v3"' });
  assert.equal(toBroken.status, 422);
  const removed = await stack.api('DELETE', `/api/v1/tenants/north/fhir-bases/${saved.id}`, undefined, { 'if-match': '"v3"' });
  assert.equal(removed.status, 200, removed.text);
  assert.deepEqual(removed.body.fhir_bases, []);
  const moved = await stack.api('POST', '/api/v1/tenants/south/fhir-bases',
    { url: base('good'), environment: 'production', department: 'Main', client }, { 'if-match': '"v1"' });
  assert.equal(moved.status, 201, moved.text);

  const audit = await stack.api('GET', '/api/v1/tenants/north/audit');
  assert.deepEqual(audit.body.entries.map(e => e.action), ['fhir_base.remove', 'fhir_base.update', 'fhir_base.add', 'tenant.create']);
  const dept = audit.body.entries[1].changes.find(c => c.path.endsWith('/department'));
  assert.deepEqual([dept.before, dept.after], ['Cardiology', 'Cardiology (test)']);
});

test('integration records list what the EHR side must register, and download', async () => {
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'records', display_name: 'Records Clinic' })).status, 201);
  const added = await stack.api('POST', '/api/v1/tenants/records/fhir-bases',
    { url: base('good2'), environment: 'production', department: 'Main', client: { client_id: 'abc-123', auth_method: 'private_key_jwt' } },
    { 'if-match': '"v1"' });
  assert.equal(added.status, 201, added.text);
  const r = await stack.api('GET', '/api/v1/tenants/records/integration-records');
  assert.equal(r.status, 200);
  const [rec] = r.body.records;
  assert.equal(rec.fhir_base, base('good2'));
  assert.equal(rec.environment, 'production');
  const p = rec.provider_launch;
  assert.equal(p.launch_url, `${stack.url}/launch?env=production`);
  assert.equal(p.redirect_uri, `${stack.url}/launch/callback`);
  assert.equal(p.client_id, 'abc-123');
  assert.equal(p.token_endpoint_auth_method, 'private_key_jwt');
  assert.equal(p.jwks_url, `${stack.url}/.well-known/jwks.json`);
  assert.match(p.scopes, /^launch openid fhirUser user\/Appointment\.(rs|read)/);
  assert.equal(p.pkce, 'S256');
  assert.equal(rec.patient_launch.patient_link_base_url, `${stack.url}/j/`);
  assert.match(rec.patient_launch.backend_service_scopes, /^system\/Appointment/);

  const dl = await stack.api('GET', '/api/v1/tenants/records/integration-records?download=1');
  assert.match(dl.headers.get('content-disposition'), /attachment; filename="visitgate-records-integration-records.json"/);
  assert.deepEqual(dl.body, r.body);
});
