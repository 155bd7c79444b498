// Stand-in for an Oracle Health (Cerner) EHR: a real HTTP server with no npm dependencies.
//
// Today it serves SMART discovery (`.well-known/smart-configuration`) and the FHIR
// CapabilityStatement (`metadata`) for a fixed set of tenants, each one wired to a behaviour the
// gateway has to cope with (valid, 404, HTML login page, too slow, no PKCE S256, ...). Later work
// grows it into a SMART authorization server + FHIR server: add routes to ROUTES and behaviours
// to TENANT_TABLE; the request plumbing (logging, delays, cancellation on close) stays as is.
//
// The documents copy the wire shapes in tests/fixtures/oracle-health/ with every URL moved onto
// this server's own origin:
//   FHIR base        {origin}/r4/{tenant}
//   issuer           {origin}/tenants/{tenant}
//   authorize        {origin}/tenants/{tenant}/protocols/oauth2/profiles/smart-v1/personas/provider/authorize
//   token            {origin}/tenants/{tenant}/hosts/{hostname}/protocols/oauth2/profiles/smart-v1/token
//   jwks             {origin}/jwk
//
// CLI:    node tests/standins/ehr-sandbox.mjs [--port 8790] [--host 127.0.0.1] [--delay-ms 0] [--slow-ms 10000]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close } = await startEhrSandbox({ port: 0, slowMs: 300 });

import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------

// Each tenant: a fixed id (so tests and `make dev` config can hard-code URLs), a one-line
// description for the index page, and what each endpoint does.
//   smart / metadata: 'ok' | 'notfound' | 'html'
//   slow:             answer only after `slowMs` (the gateway's discovery timeout is 5 s)
//   tweakSmart / tweakCapability: edit the valid document to make it wrong in one way
const TENANT_TABLE = {
  good: {
    id: 'ec2458f2-1e24-41c8-b71b-0e701af7583d', // Oracle's public secure-sandbox tenant id
    about: 'Valid SMART discovery + R4 CapabilityStatement (Oracle sandbox tenant id)',
    smart: 'ok',
    metadata: 'ok',
  },
  good2: {
    id: '306e47de-5e7f-4c66-962b-4b2017c96b73',
    about: 'Second valid tenant (e.g. production next to a test base)',
    smart: 'ok',
    metadata: 'ok',
  },
  good3: {
    id: 'e7d6dcbc-d832-48c5-8115-616b9daefedc',
    about: 'Spare valid tenant',
    smart: 'ok',
    metadata: 'ok',
  },
  good4: {
    id: 'ee379cb7-06f1-4cdd-a642-99156b6eca4b',
    about: 'Spare valid tenant',
    smart: 'ok',
    metadata: 'ok',
  },
  notfound: {
    id: '4162a513-9c16-4f6f-aafd-5760c2a99ae8',
    about: 'Both endpoints 404 with an OperationOutcome',
    smart: 'notfound',
    metadata: 'notfound',
  },
  html: {
    id: '84a78a65-6e1c-4676-9382-8c2e7cbc8ff5',
    about: 'Both endpoints 200 text/html (a login page, as behind a misconfigured proxy)',
    smart: 'html',
    metadata: 'html',
  },
  nos256: {
    id: 'b7f07a9a-49ed-4992-b46f-eb73bd4d8a2f',
    about: 'Valid, but PKCE only offers "plain" (no S256)',
    smart: 'ok',
    metadata: 'ok',
    tweakSmart: (doc) => ({ ...doc, code_challenge_methods_supported: ['plain'] }),
  },
  slow: {
    id: '8382fbcf-2e4a-4ef0-a0f8-957d017fe962',
    about: 'Valid documents, but only after slowMs (default 10 s)',
    smart: 'ok',
    metadata: 'ok',
    slow: true,
  },
  metadataonly: {
    id: '02903394-965c-4e0f-bfec-725e373a79e5',
    about: 'No smart-configuration (404); metadata carries the oauth-uris extension',
    smart: 'notfound',
    metadata: 'ok',
  },
  dstu2: {
    id: '31b7d13a-8748-470a-8c1a-3cb0b0eea230',
    about: 'Valid SMART discovery, but metadata says fhirVersion 1.0.2 (DSTU2)',
    smart: 'ok',
    metadata: 'ok',
    // Only fhirVersion changes, so a test sees exactly one reason to reject this base.
    tweakCapability: (doc) => ({ ...doc, fhirVersion: '1.0.2' }),
  },
  nolaunch: {
    id: '0e89976c-a26c-45b0-b915-86a1ed309adf',
    about: 'SMART discovery without the launch-ehr capability',
    smart: 'ok',
    metadata: 'ok',
    tweakSmart: (doc) => ({ ...doc, capabilities: doc.capabilities.filter((c) => c !== 'launch-ehr') }),
  },
};

/** Tenant name → tenant id (UUID), for building URLs in tests. */
export const TENANTS = Object.freeze(
  Object.fromEntries(Object.entries(TENANT_TABLE).map(([name, t]) => [name, t.id])),
);

const TENANT_BY_ID = new Map(Object.entries(TENANT_TABLE).map(([name, t]) => [t.id, { name, ...t }]));

/** The FHIR base URL of a tenant on a running sandbox: `fhirBase(url, 'good')`. */
export function fhirBase(origin, name) {
  const id = TENANTS[name];
  if (!id) throw new Error(`unknown sandbox tenant: ${name}`);
  return `${origin}/r4/${id}`;
}

// ---------------------------------------------------------------------------------------------
// Documents (shapes from tests/fixtures/oracle-health/)
// ---------------------------------------------------------------------------------------------

// Same order as the fixture's scopes_supported (the selftest compares them).
const SCOPES_SUPPORTED = [
  'fhirUser', 'launch', 'offline_access', 'online_access', 'openid', 'profile',
  ...['patient', 'system', 'user'].flatMap((who) =>
    ['Appointment', 'Encounter', 'Patient'].flatMap((type) =>
      ['crus', 'read', 'write'].map((perm) => `${who}/${type}.${perm}`))),
  ...['system', 'user'].flatMap((who) =>
    ['crs', 'read', 'write'].map((perm) => `${who}/Practitioner.${perm}`)),
];

const CAPABILITIES = [
  'authorize-post', 'launch-ehr', 'launch-standalone', 'client-public',
  'client-confidential-asymmetric', 'client-confidential-symmetric', 'sso-openid-connect',
  'context-banner', 'context-style', 'context-ehr-patient', 'context-ehr-encounter',
  'permission-patient', 'permission-user', 'permission-offline', 'permission-online',
  'permission-v1', 'permission-v2', 'health-cards',
];

/** Where a tenant's OAuth endpoints live (Oracle: beside the FHIR server, not under the base). */
function oauthUris(origin, tenantId) {
  const tenantRoot = `${origin}/tenants/${tenantId}`;
  const profile = 'protocols/oauth2/profiles/smart-v1';
  // Oracle puts the FHIR server's host name into the token path.
  const fhirHost = new URL(origin).hostname;
  return {
    issuer: tenantRoot,
    authorize: `${tenantRoot}/${profile}/personas/provider/authorize`,
    token: `${tenantRoot}/hosts/${fhirHost}/${profile}/token`,
    revoke: `${tenantRoot}/${profile}/token/revoke`,
    manage: `${tenantRoot}/personas/provider/my-authorizations`,
    introspect: `${origin}/tokeninfo`,
    jwks: `${origin}/jwk`,
  };
}

function smartConfiguration(origin, tenant) {
  const uris = oauthUris(origin, tenant.id);
  const doc = {
    issuer: uris.issuer,
    authorization_endpoint: uris.authorize,
    token_endpoint: uris.token,
    revocation_endpoint: uris.revoke,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    jwks_uri: uris.jwks,
    grant_types_supported: ['authorization_code', 'client_credentials'],
    scopes_supported: [...SCOPES_SUPPORTED],
    response_types_supported: ['code'],
    management_endpoint: uris.manage,
    introspection_endpoint: uris.introspect,
    capabilities: [...CAPABILITIES],
    code_challenge_methods_supported: ['S256'],
  };
  return tenant.tweakSmart ? tenant.tweakSmart(doc) : doc;
}

function capabilityStatement(origin, tenant) {
  const uris = oauthUris(origin, tenant.id);
  const base = `${origin}/r4/${tenant.id}`;
  const resource = (type, searchParams) => ({
    type,
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    searchParam: searchParams.map(([name, type]) => ({ name, type })),
  });
  const doc = {
    resourceType: 'CapabilityStatement',
    id: tenant.id,
    name: 'VisitgateEhrSandbox',
    title: `Visitgate EHR sandbox (${tenant.name})`,
    status: 'active',
    date: '2024-01-01T00:00:00Z',
    publisher: 'Visitgate test stand-in',
    kind: 'instance',
    software: { name: 'Visitgate EHR sandbox' },
    implementation: { description: `Oracle Health stand-in tenant ${tenant.name}`, url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      security: {
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'authorize', valueUri: uris.authorize },
            { url: 'token', valueUri: uris.token },
            { url: 'revoke', valueUri: uris.revoke },
            { url: 'manage', valueUri: uris.manage },
          ],
        }],
        cors: true,
        service: [{
          coding: [{
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
            display: 'SMART-on-FHIR',
          }],
          text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
        }],
      },
      resource: [
        resource('Appointment', [['_id', 'token'], ['date', 'date'], ['patient', 'reference'],
          ['practitioner', 'reference'], ['location', 'reference']]),
        resource('Encounter', [['_id', 'token'], ['patient', 'reference']]),
        resource('Patient', [['_id', 'token'], ['identifier', 'token'], ['name', 'string']]),
        resource('Practitioner', [['_id', 'token'], ['identifier', 'token'], ['name', 'string']]),
      ],
    }],
  };
  return tenant.tweakCapability ? tenant.tweakCapability(doc) : doc;
}

// ---------------------------------------------------------------------------------------------
// Replies: handlers return { status, headers, body } and one function writes it out.
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json';
const FHIR_TYPE = 'application/fhir+json';
const HTML_TYPE = 'text/html; charset=utf-8';

const json = (status, value, type = JSON_TYPE) =>
  ({ status, headers: { 'content-type': type }, body: JSON.stringify(value, null, 2) });
const fhir = (status, resource) => json(status, resource, FHIR_TYPE);
const html = (status, text) => ({ status, headers: { 'content-type': HTML_TYPE }, body: text });
const noContent = () => ({ status: 204, headers: {}, body: '' });

function outcome(status, code, diagnostics) {
  return fhir(status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics }],
  });
}
const notFound = (path) => outcome(404, 'not-found', `No resource or endpoint at ${path}`);

function send(res, reply) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, { 'cache-control': 'no-store', ...reply.headers });
  res.end(reply.body);
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// What a proxy or SSO front door hands back instead of JSON.
const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>
<form method="post" action="/login"><label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label><button>Sign in</button></form>
</body></html>
`;

// ---------------------------------------------------------------------------------------------
// Waiting, cancellable (client went away, or the server is closing)
// ---------------------------------------------------------------------------------------------

function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

// Serve one tenant endpoint according to its behaviour in TENANT_TABLE.
function tenantEndpoint(behaviourKey, buildDoc, wrap) {
  return async (ctx) => {
    const tenant = TENANT_BY_ID.get(ctx.params.tenant);
    if (!tenant) return notFound(ctx.url.pathname);
    if (tenant.slow) await wait(ctx.options.slowMs, ctx.signal);
    switch (tenant[behaviourKey]) {
      case 'ok': return wrap(200, buildDoc(ctx.origin, tenant));
      case 'html': return html(200, LOGIN_PAGE);
      case 'notfound':
      default: return notFound(ctx.url.pathname);
    }
  };
}

function indexPage(ctx) {
  const rows = Object.entries(TENANT_TABLE).map(([name, t]) => {
    const base = `${ctx.origin}/r4/${t.id}`;
    return `<tr><td><b>${escapeHtml(name)}</b></td><td><code>${escapeHtml(base)}</code></td>`
      + `<td><a href="${escapeHtml(base)}/.well-known/smart-configuration">smart-configuration</a> · `
      + `<a href="${escapeHtml(base)}/metadata">metadata</a></td><td>${escapeHtml(t.about)}</td></tr>`;
  }).join('\n');
  return html(200, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Visitgate EHR sandbox</title></head>
<body><h1>Visitgate EHR sandbox (Oracle Health stand-in)</h1>
<p>FHIR bases. Request log: <a href="/_sandbox/requests">/_sandbox/requests</a>.</p>
<table border="1" cellpadding="4"><tr><th>Name</th><th>FHIR base</th><th>Discovery</th><th>Behaviour</th></tr>
${rows}
</table></body></html>
`);
}

// Paths are matched against regexes; named groups become ctx.params.
const TENANT_BASE = String.raw`/r4/(?<tenant>[^/]+)`;
const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: indexPage },
  {
    method: 'GET',
    path: new RegExp(`^${TENANT_BASE}/\\.well-known/smart-configuration$`),
    handler: tenantEndpoint('smart', smartConfiguration, json),
  },
  {
    method: 'GET',
    path: new RegExp(`^${TENANT_BASE}/metadata$`),
    handler: tenantEndpoint('metadata', capabilityStatement, fhir),
  },
  // Empty until the authorization server exists; clients may fetch it already.
  { method: 'GET', path: /^\/jwk$/, handler: () => json(200, { keys: [] }) },
  // Test hooks: the request log (benchmarks count EHR round trips from it).
  { method: 'GET', path: /^\/_sandbox\/requests$/, handler: (ctx) => json(200, ctx.state.requests) },
  {
    method: 'DELETE',
    path: /^\/_sandbox\/requests$/,
    handler: (ctx) => { ctx.state.requests.length = 0; return noContent(); },
  },
];

function matchRoute(method, pathname) {
  const lookup = method === 'HEAD' ? 'GET' : method;
  const allowed = [];
  for (const route of ROUTES) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    if (route.method === lookup) return { route, params: { ...m.groups } };
    allowed.push(route.method);
  }
  return allowed.length ? { allowed } : null;
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const isInternal = (pathname) => pathname.startsWith('/_sandbox/');

async function handle(req, res, { origin, options, state, closing }) {
  const url = new URL(req.url, origin);
  if (!isInternal(url.pathname)) {
    state.requests.push({ method: req.method, path: url.pathname + url.search, at: new Date().toISOString() });
  }

  // Abort waits when the client disconnects or the server closes.
  const request = new AbortController();
  const abort = () => request.abort(new Error('request abandoned'));
  res.on('close', abort);
  closing.addEventListener('abort', abort, { once: true });

  try {
    if (options.delayMs > 0 && !isInternal(url.pathname)) await wait(options.delayMs, request.signal);
    const match = matchRoute(req.method, url.pathname);
    let reply;
    if (!match) {
      reply = notFound(url.pathname);
    } else if (match.allowed) {
      reply = outcome(405, 'not-supported', `${req.method} not allowed on ${url.pathname}`);
      reply.headers.allow = match.allowed.join(', ');
    } else {
      const ctx = { req, url, params: match.params, origin, options, state, signal: request.signal };
      reply = await match.route.handler(ctx);
    }
    send(res, reply);
  } catch (err) {
    if (request.signal.aborted) return; // nobody left to answer
    send(res, outcome(500, 'exception', String(err?.stack ?? err)));
  } finally {
    res.off('close', abort);
    closing.removeEventListener('abort', abort);
  }
}

/**
 * Start the sandbox. Resolves once listening.
 * @param {{port?: number, host?: string, slowMs?: number, delayMs?: number}} [opts]
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startEhrSandbox({ port = 0, host = '127.0.0.1', slowMs = 10000, delayMs = 0 } = {}) {
  const options = { slowMs, delayMs };
  const state = { requests: [] };
  const closing = new AbortController();
  setMaxListeners(0, closing.signal); // one listener per in-flight request
  let origin = ''; // known once listening

  const server = createServer((req, res) => {
    handle(req, res, { origin, options, state, closing: closing.signal });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address();
  // A wildcard listen address is not something a client can dial; advertise loopback instead.
  const publicHost = ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1'
    : host.includes(':') ? `[${host}]` : host;
  origin = `http://${publicHost}:${address.port}`;

  let closed;
  function close() {
    closed ??= new Promise((resolve) => {
      closing.abort(new Error('sandbox closing'));
      server.close(() => resolve());
      // Keep-alive and in-flight (slow) connections would otherwise hold close() open.
      server.closeAllConnections();
    });
    return closed;
  }

  return { url: origin, close };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

function toInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8790' },
      host: { type: 'string', default: '127.0.0.1' },
      'delay-ms': { type: 'string', default: '0' },
      'slow-ms': { type: 'string', default: '10000' },
    },
  });
  const sandbox = await startEhrSandbox({
    port: toInt('port', values.port),
    host: values.host,
    delayMs: toInt('delay-ms', values['delay-ms']),
    slowMs: toInt('slow-ms', values['slow-ms']),
  });
  process.stdout.write(`READY ${sandbox.url}\n`);

  const stop = () => sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((err) => {
    process.stderr.write(`ehr-sandbox: ${err.message}\n`);
    process.exit(1);
  });
}
