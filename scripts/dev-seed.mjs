// Waits for the local gateway, creates the demo tenant (idempotent) with the
// EHR sandbox's test FHIR base and the video stand-in, registers the demo
// client with the sandbox, and prints the URLs and a one-time sign-in link.
import { DEMO, TENANTS } from '../tests/standins/ehr-sandbox.mjs';
import { DEFAULT_APP } from '../tests/standins/video.mjs';
import { DEFAULT_ACCOUNT, MAGIC_NUMBER } from '../tests/standins/sms.mjs';
import { waitForHealth, apiClient } from '../tests/lib/harness.mjs';

const [gateway, sandbox, video, smsUrl, token, sendgridUrl, acsUrl] = process.argv.slice(2);
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
  // private_key_jwt: the same registration serves the launch and Backend Services.
  body: JSON.stringify({ client_id: 'visitgate-demo', redirect_uri: `${gateway}/launch/callback`, auth_method: 'private_key_jwt', jwks_url: `${gateway}/.well-known/jwks.json` }),
});
if (client.status !== 201) throw new Error(`registering the demo client with the EHR sandbox failed: ${await client.text()}`);
const base = `${sandbox}/r4/${TENANTS.good}`;
const demoBase = {
  url: base,
  environment: 'test',
  department: 'Virtual care (test)',
  client: { client_id: 'visitgate-demo', auth_method: 'private_key_jwt' },
};
const existing = tenant.body.fhir_bases.find(b => b.url === base);
if (!existing) {
  tenant = await api('POST', '/api/v1/tenants/demo/fhir-bases', demoBase, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 201) throw new Error(`adding the demo FHIR base failed: ${JSON.stringify(tenant.body)}`);
} else if (existing.client.auth_method !== 'private_key_jwt') {
  tenant = await api('PUT', `/api/v1/tenants/demo/fhir-bases/${existing.id}`, demoBase, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 200) throw new Error(`updating the demo FHIR base failed: ${JSON.stringify(tenant.body)}`);
}
// Oracle has no change feed: the job watches the demo clinic's Millennium location, every minute.
const demoBaseNow = tenant.body.fhir_bases.find(b => b.url === base);
if (!demoBaseNow.watch?.locations?.length) {
  tenant = await api('PUT', `/api/v1/tenants/demo/fhir-bases/${demoBaseNow.id}/watch`, { locations: [DEMO.good.location], every_minutes: 1 }, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 200) throw new Error(`setting the demo watch list failed: ${JSON.stringify(tenant.body)}`);
}
if (!tenant.body.sms) {
  const baseId = tenant.body.fhir_bases.find(b => b.url === base).id;
  tenant = await api('PUT', '/api/v1/tenants/demo/sms', {
    // The demo's admin has ticked both consent boxes.
    consent_send_on_behalf: true, consent_attendees: true,
    provider: { kind: 'twilio', account_sid: DEFAULT_ACCOUNT.accountSid, auth_token_ref: 'TWILIO_AUTH_TOKEN', api_base: smsUrl },
    numbers: [MAGIC_NUMBER], base_numbers: { [baseId]: MAGIC_NUMBER }, clinic_name: 'Demo Health',
  }, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 200) throw new Error(`setting up demo SMS failed: ${JSON.stringify(tenant.body)}`);
}
if (!tenant.body.email) {
  tenant = await api('PUT', '/api/v1/tenants/demo/email', {
    enabled: true, consent_send_on_behalf: true, consent_attendees: true, from_name: 'Demo Health',
    provider: { kind: 'send_grid', api_base: sendgridUrl, api_key_ref: 'SENDGRID_API_KEY', from_email: 'visits@demo-health.example' },
  }, { 'if-match': tenant.headers.get('etag') });
  if (tenant.status !== 200) throw new Error(`setting up demo email failed: ${JSON.stringify(tenant.body)}`);
}
const link = await api('POST', '/api/v1/login-links', { subject: 'dev-admin', role: 'platform_admin' });

console.log(`
Visitgate is running.
  gateway        ${gateway}            (health: ${gateway}/healthz)
  admin portal   ${gateway}/admin/
  EHR sandbox    ${sandbox}            (mini PowerChart: click Launch on a video visit)
                 FHIR base of the demo tenant: ${base}
  video stand-in ${video}            (Microsoft Graph / Teams meetings)
  SMS stand-in   ${smsUrl}            (Twilio; its outbox shows the texts patients get)
  email stand-in ${sendgridUrl}            (SendGrid; its outbox shows the emails patients get)
  ACS stand-in   ${acsUrl}            (Azure Communication Services SMS + Email, for the second provider)
  sign-in        http://127.0.0.1:8795            (Entra ID-shaped OpenID provider for admins)
  API token      .dev/admin-token      (platform admin; send as "Authorization: Bearer …")

Sign in to the admin portal: open ${gateway}/admin/, press "Sign in with your organisation
account" and pick Pat Platform (platform admin) or Dana Demo (admin of the demo tenant).
Or use this one-time admin sign-in link (valid 10 minutes):
  ${link.body.url}

Ctrl-C stops everything.`);
