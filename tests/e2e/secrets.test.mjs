// Write-only tenant secrets: stored sealed, never answered, audited without
// their value, and never the gateway's own keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, mintToken, apiClient } from '../lib/harness.mjs';
import { assertNotStored } from '../lib/privacy.mjs';

let stack;
before(async () => {
  stack = await startStack();
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'vault', display_name: 'Vault Clinic' })).status, 201);
  assert.equal((await stack.api('POST', '/api/v1/tenants', { id: 'other', display_name: 'Other' })).status, 201);
});
after(async () => { await stack?.stop(); });

const VALUE = 'sup3r-s3cret-value-that-must-never-show-9f2c';

test('a stored value is never answered, and the audit names only that it changed', async () => {
  const put = await stack.api('PUT', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET', { value: VALUE });
  assert.equal(put.status, 204, put.text);
  const list = await stack.api('GET', '/api/v1/tenants/vault/secrets');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.secrets.map(s => [s.name, s.updated_by]), [['VAULT_TEAMS_SECRET', 'platform-token']]);
  assert.ok(!list.text.includes(VALUE));
  assert.ok(!(await stack.api('GET', '/api/v1/tenants/vault')).text.includes(VALUE));
  // Replace, then remove.
  assert.equal((await stack.api('PUT', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET', { value: `${VALUE}-2` })).status, 204);
  const audit = await stack.api('GET', '/api/v1/tenants/vault/audit');
  const [replaced, set] = audit.body.entries;
  assert.equal(set.action, 'secret.set');
  assert.deepEqual(set.changes, [{ path: '/secrets/VAULT_TEAMS_SECRET', after: '(a value)' }]);
  assert.deepEqual(replaced.changes, [{ path: '/secrets/VAULT_TEAMS_SECRET', before: '(a value)', after: '(a value)' }]);
  assert.ok(!audit.text.includes(VALUE));
  assert.equal((await stack.api('DELETE', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET')).status, 204);
  assert.deepEqual((await stack.api('GET', '/api/v1/tenants/vault/secrets')).body.secrets, []);
  assert.equal((await stack.api('PUT', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET', { value: VALUE })).status, 204);
  assertNotStored(stack, [VALUE, `${VALUE}-2`]);
});

test('bad names and values are refused with the reason; nothing is stored', async () => {
  const cases = [
    ['LAUNCH_COOKIE_KEY', { value: 'x' }, 400, 'secret_name_reserved'],
    ['CLIENT_ASSERTION_KEY', { value: 'x' }, 400, 'secret_name_reserved'],
    ['lower_case', { value: 'x' }, 400, 'invalid_secret_name'],
    ['VIDEO_CLIENT_SECRET', { value: 'x' }, 409, 'secret_assigned_by_operator'],
    ['MULTI_LINE', { value: 'a\nb' }, 400, 'invalid_secret_value'],
    ['EMPTY_ONE', { value: '  ' }, 400, 'invalid_secret_value'],
    ['EXTRA_FIELD', { value: 'x', shown: true }, 400, 'unknown_field'],
  ];
  for (const [name, body, status, code] of cases) {
    const r = await stack.api('PUT', `/api/v1/tenants/vault/secrets/${name}`, body);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.body.code, code, name);
    assert.ok(r.body.message.length > 20, 'a reason a person can act on');
  }
  const names = (await stack.api('GET', '/api/v1/tenants/vault/secrets')).body.secrets.map(s => s.name);
  assert.deepEqual(names, ['VAULT_TEAMS_SECRET']);
});

test("settings can never name the gateway's own keys", async () => {
  const t = await stack.api('GET', '/api/v1/tenants/vault');
  const r = await stack.api('PUT', '/api/v1/tenants/vault', {
    display_name: 'Vault Clinic',
    video: { provider: 'jitsi', base_url: 'https://meet.evil.example', app_id: 'a', secret_ref: 'LAUNCH_COOKIE_KEY' },
  }, { 'if-match': t.headers.get('etag') });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.field, 'video.secret_ref');
  assert.match(r.body.message, /not one of Visitgate's own keys/);
});

test('tenant isolation: another tenant admin can neither list nor set', async () => {
  const token = await mintToken(stack, 'tenant_admin', 'other');
  const api = apiClient(stack.url, token);
  assert.equal((await api('GET', '/api/v1/tenants/vault/secrets')).status, 403);
  assert.equal((await api('PUT', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET', { value: 'mine now' })).status, 403);
  assert.equal((await api('DELETE', '/api/v1/tenants/vault/secrets/VAULT_TEAMS_SECRET')).status, 403);
  assert.equal((await api('PUT', '/api/v1/tenants/other/secrets/OTHER_KEY', { value: 'ok' })).status, 204);
  assert.deepEqual((await api('GET', '/api/v1/tenants/other/secrets')).body.secrets.map(s => s.name), ['OTHER_KEY']);
});
