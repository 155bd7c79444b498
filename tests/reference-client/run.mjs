// The reference SMART client for `make bench`: SMART Health IT's fhirclient
// (npm) in a small Node server doing what the gateway does up to reading the
// appointment: EHR launch (discovery, authorize with PKCE, confidential
// code exchange), then the Appointment from fhirContext. Same EHR sandbox,
// same per-request delay. Its dependencies live in this folder
// (scripts/bench.sh installs them) so `make test` does not carry them.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { HttpBrowser } from '../lib/http-browser.mjs';

const require = createRequire(import.meta.url);
const SCOPE = 'launch openid fhirUser user/Patient.read user/Practitioner.read user/Encounter.read user/Appointment.read';
const CLIENT = { id: 'vg-reference', secret: 'reference-secret-1' };

/** One in-memory session: the bench drives one launch at a time. */
function memoryStorage() {
  const m = new Map();
  return {
    get: async (k) => m.get(k),
    set: async (k, v) => { m.set(k, v); return v; },
    unset: async (k) => m.delete(k),
  };
}

async function startReferenceApp() {
  const smart = require('fhirclient');
  const storage = memoryStorage();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    try {
      if (url.pathname === '/launch') {
        await smart(req, res, storage).authorize({
          clientId: CLIENT.id, clientSecret: CLIENT.secret, scope: SCOPE, redirectUri: '/callback',
          iss: url.searchParams.get('iss'), launch: url.searchParams.get('launch'), pkceMode: 'required',
        });
        return;
      }
      if (url.pathname === '/callback') {
        const client = await smart(req, res, storage).ready();
        const ref = client.state.tokenResponse.fhirContext?.find((c) => /^Appointment\//.test(c.reference))?.reference;
        const appt = await client.request(ref);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ appointment: appt.id }));
        return;
      }
      res.writeHead(404).end();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e?.stack ?? e));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** `launches` EHR launches of new appointments; their times and the sequential upstream trips of the last. */
export async function referenceLaunches({ sandbox, launches, newLaunch, book, sequentialTrips }) {
  const app = await startReferenceApp();
  try {
    const r = await fetch(`${sandbox}/_sandbox/clients`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT.id, redirect_uri: `${app.url}/callback`, auth_method: 'client_secret_basic', client_secret: CLIENT.secret }),
    });
    if (r.status >= 300) throw new Error(`registering the reference client: ${r.status} ${await r.text()}`);
    const totals = [];
    let trips = null;
    for (let i = 0; i < launches; i++) {
      const appt = await book(new Date(Date.now() + (i + 1) * 3600_000).toISOString());
      const l = await newLaunch('good', { appointment: appt.id });
      await fetch(`${sandbox}/_sandbox/requests`, { method: 'DELETE' });
      const t0 = performance.now();
      const done = await new HttpBrowser().get(`${app.url}/launch?iss=${encodeURIComponent(l.iss)}&launch=${encodeURIComponent(l.launch)}`);
      totals.push(performance.now() - t0);
      if (done.status !== 200 || JSON.parse(done.text).appointment !== appt.id) throw new Error(`reference launch ${i}: ${done.status} ${done.text.slice(0, 300)}`);
      if (i === launches - 1) {
        const ehr = (await (await fetch(`${sandbox}/_sandbox/requests`)).json()).filter((x) => !/authorize/.test(x.path));
        trips = sequentialTrips(ehr);
      }
    }
    return { totals, trips };
  } finally {
    await app.close();
  }
}
