// Waits for the local gateway, creates the demo tenant (idempotent) with the
// EHR sandbox's test FHIR base, and prints the URLs and a one-time sign-in link.
import { TENANTS } from '../tests/standins/ehr-sandbox.mjs';
import { waitForHealth, apiClient } from '../tests/lib/harness.mjs';

const [gateway, sandbox, token] = process.argv.slice(2);
await waitForHealth(gateway, 120_000);
const api = apiClient(gateway, token);

let tenant = await api('GET', '/api/v1/tenants/demo');
if (tenant.status === 404) {
  tenant = await api('POST', '/api/v1/tenants', { id: 'demo', display_name: 'Demo Health (sandbox)' });
}
const base = `${sandbox}/r4/${TENANTS.good}`;
if (!tenant.body.fhir_bases.some(b => b.url === base)) {
  const added = await api('POST', '/api/v1/tenants/demo/fhir-bases', {
    url: base,
    environment: 'test',
    department: 'Virtual care (test)',
    client: { client_id: 'visitgate-demo', auth_method: 'client_secret_basic', secret_ref: 'EHR_CLIENT_SECRET_DEMO' },
  }, { 'if-match': tenant.headers.get('etag') });
  if (added.status !== 201) throw new Error(`adding the demo FHIR base failed: ${JSON.stringify(added.body)}`);
}
const link = await api('POST', '/api/v1/login-links', { subject: 'dev-admin', role: 'platform_admin' });

console.log(`
Visitgate is running.
  gateway        ${gateway}            (health: ${gateway}/healthz)
  admin portal   ${gateway}/admin/
  EHR sandbox    ${sandbox}            (FHIR base of the demo tenant: ${base})
  API token      .dev/admin-token      (platform admin; send as "Authorization: Bearer …")

One-time admin sign-in link (valid 10 minutes):
  ${link.body.url}

Ctrl-C stops everything.`);
