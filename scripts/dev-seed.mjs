// Waits for the local gateway, creates the demo tenant (idempotent) with the
// EHR sandbox's test FHIR base and the video stand-in, registers the demo
// client with the sandbox, and prints the URLs and a one-time sign-in link.
import { TENANTS } from '../tests/standins/ehr-sandbox.mjs';
import { DEFAULT_APP } from '../tests/standins/video.mjs';
import { waitForHealth, apiClient } from '../tests/lib/harness.mjs';

const [gateway, sandbox, video, token] = process.argv.slice(2);
await waitForHealth(gateway, 120_000);
const api = apiClient(gateway, token);

let tenant = await api('GET', '/api/v1/tenants/demo');
if (tenant.status === 404) {
  tenant = await api('POST', '/api/v1/tenants', { id: 'demo', display_name: 'Demo Health (sandbox)' });
}
if (!tenant.body.video) {
  tenant = await api('PUT', '/api/v1/tenants/demo', {
    display_name: tenant.body.display_name,
    video: {
      provider: 'teams', entra_tenant_id: DEFAULT_APP.tenantId, client_id: DEFAULT_APP.clientId,
      client_secret_ref: 'VIDEO_CLIENT_SECRET', organizer_user_id: 'dr.demo@contoso.example',
      login_base: video, graph_base: video,
    },
  }, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 200) throw new Error(`setting the demo video provider failed: ${JSON.stringify(tenant.body)}`);
}
// The sandbox keeps clients in memory: register the demo app on every start.
const client = await fetch(`${sandbox}/_sandbox/clients`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ client_id: 'visitgate-demo', redirect_uri: `${gateway}/launch/callback`, auth_method: 'client_secret_basic', client_secret: 'demo-client-secret' }),
});
if (client.status !== 201) throw new Error(`registering the demo client with the EHR sandbox failed: ${await client.text()}`);
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
  EHR sandbox    ${sandbox}            (mini PowerChart: click Launch on a video visit)
                 FHIR base of the demo tenant: ${base}
  video stand-in ${video}            (Microsoft Graph / Teams meetings)
  API token      .dev/admin-token      (platform admin; send as "Authorization: Bearer …")

One-time admin sign-in link (valid 10 minutes):
  ${link.body.url}

Ctrl-C stops everything.`);
