// Keeps the gateway's local secrets in .dev/secrets.env: made once, kept
// across restarts (visits and cookies stay valid), with any newly needed
// secret added. One `NAME=<JSON string>` per line (dotenv reads the escapes).
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { gatewaySecrets } from '../tests/lib/harness.mjs';
import { DEFAULT_ACCOUNT } from '../tests/standins/sms.mjs';
import { DEV_ACS_ACCESS_KEY } from '../tests/standins/acs.mjs';
import { DEFAULT_CLIENT } from '../tests/standins/oidc.mjs';

const file = process.argv[2];
const current = {};
if (existsSync(file)) {
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const i = line.indexOf('=');
    current[line.slice(0, i)] = JSON.parse(line.slice(i + 1));
  }
}
const wanted = { ...gatewaySecrets(), EHR_CLIENT_SECRET_DEMO: 'demo-client-secret', TWILIO_AUTH_TOKEN: DEFAULT_ACCOUNT.authToken,
  SENDGRID_API_KEY: 'SG.dev-key', ACS_ACCESS_KEY: DEV_ACS_ACCESS_KEY,
  ADMIN_OIDC_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
  // Which Worker secrets the demo tenant may use (a variable, kept here with them).
  TENANT_SECRETS: JSON.stringify({ demo: ['EHR_CLIENT_SECRET_DEMO', 'TWILIO_AUTH_TOKEN', 'SENDGRID_API_KEY', 'ACS_ACCESS_KEY', 'VIDEO_CLIENT_SECRET'] }) };
const merged = { ...wanted, ...current };
writeFileSync(file, Object.entries(merged).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n') + '\n');
chmodSync(file, 0o600);
