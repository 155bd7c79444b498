// Stand-in for an Oracle Health (Cerner) EHR: a real HTTP server with no npm dependencies.
//
// Every tenant serves SMART discovery (`.well-known/smart-configuration`) and the FHIR
// CapabilityStatement (`metadata`), each wired to a behaviour the gateway has to cope with (valid,
// 404, HTML login page, too slow, no PKCE S256, ...). The valid tenants (good, good2, good3,
// good4) are also a SMART authorization server (EHR launch, confidential clients, PKCE, OIDC
// id_tokens, SMART Backend Services via client_credentials + private_key_jwt) and a FHIR R4 server
// with demo data (ehr/data.mjs). Tests steer it through /_sandbox/* (never delayed, never logged):
//   POST   /_sandbox/clients           register a client (all tenants; `backend: true` = Backend Services)
//   POST   /_sandbox/launches          create a launch (+ per-launch misbehaviour `scenario`)
//   GET    /_sandbox/appointments/<id> the stored Appointment (to check write-back)
//   POST   /_sandbox/appointments      book a visit {tenant, start, patient?, practitioner?, minutes?, video?, status?}
//   POST   /_sandbox/appointments/<id>/move    {start, minutes?}   (bumps versionId + lastUpdated)
//   POST   /_sandbox/appointments/<id>/cancel                      (status cancelled, bumps the version)
//   GET    /_sandbox/requests          request log; DELETE clears it
//   POST   /_sandbox/throttle          {tenant, count, retry_after}: the tenant's next `count` FHIR
//                                      requests answer 429 with Retry-After (Oracle rate-limits so)
//   POST   /_sandbox/launch-now        the index page's Launch button
//   POST   /_sandbox/book-now          the index page's booking form (HTML form → 303 to /)
//   POST   /_sandbox/move-now          a row's "Move +1 h" button (form: appointment → 303 to /)
//   POST   /_sandbox/cancel-now        a row's "Cancel" button (form: appointment → 303 to /)
//
// The documents copy the wire shapes in tests/fixtures/oracle-health/ with every URL moved onto
// this server's own origin:
//   FHIR base        {origin}/r4/{tenant}
//   issuer           {origin}/tenants/{tenant}            (also the id_token `iss`)
//   authorize        {origin}/tenants/{tenant}/protocols/oauth2/profiles/smart-v1/personas/provider/authorize
//   token            {origin}/tenants/{tenant}/hosts/{hostname}/protocols/oauth2/profiles/smart-v1/token
//   jwks             {origin}/jwk   (good4: {origin}/jwk/single, one key without kid)
//
// CLI:    node tests/standins/ehr-sandbox.mjs [--port 8790] [--host 127.0.0.1] [--delay-ms 0] [--slow-ms 10000]
//                                            [--gateway http://127.0.0.1:8787] [--sms http://127.0.0.1:8791]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close, setGatewayUrl } = await startEhrSandbox({ port: 0, slowMs: 300 });
//         (`smsUrl` is only shown on the index page: where the SMS stand-in's outbox is.)

import { parseArgs } from 'node:util';

import { buildStore } from './ehr/data.mjs';
import { capabilityStatement, smartConfiguration } from './ehr/discovery.mjs';
import * as F from './ehr/fhir.mjs';
import { fhir, html, json, noContent, notFound, outcome, ReplyError, send, wait } from './ehr/http.mjs';
import { sandboxKeys } from './ehr/jwt.mjs';
import * as OAuth from './ehr/oauth.mjs';
import { bookNow, cancelNow, indexPage, launchNow, moveNow, style } from './ehr/powerchart.mjs';
import * as Schedule from './ehr/schedule.mjs';
import { oauthUris, TENANT_BY_ID } from './ehr/tenants.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';

export { fhirBase, SERVER_TENANTS, TENANTS } from './ehr/tenants.mjs';
export { DEMO, SENSITIVE_VALUES } from './ehr/data.mjs';
export { INSUFFICIENT_SCOPES } from './ehr/fhir.mjs';

// What a proxy or SSO front door hands back instead of JSON.
const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>
<form method="post" action="/login"><label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label><button>Sign in</button></form>
</body></html>
`;

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

// Serve one discovery endpoint according to the tenant's behaviour in TENANT_TABLE.
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

// Only the server tenants have OAuth and FHIR endpoints; sets ctx.tenant, ctx.base, ctx.uris.
function serverEndpoint(handler) {
  return (ctx) => {
    const tenant = TENANT_BY_ID.get(ctx.params.tenant);
    if (!tenant?.server) return notFound(ctx.url.pathname);
    ctx.tenant = tenant;
    ctx.base = `${ctx.origin}/r4/${tenant.id}`;
    ctx.uris = oauthUris(ctx.origin, tenant.id);
    return handler(ctx);
  };
}

// Paths are matched against regexes; named groups become ctx.params.
const TENANT_BASE = String.raw`/r4/(?<tenant>[^/]+)`;
const TENANT_ROOT = String.raw`/tenants/(?<tenant>[^/]+)`;
const SMART_V1 = String.raw`/protocols/oauth2/profiles/smart-v1`;
const TYPES = `(?<type>${F.RESOURCE_TYPES.join('|')})`;
const FHIR_ID = String.raw`(?<id>[A-Za-z0-9\-.]{1,64})`;
const re = (s) => new RegExp(`^${s}$`);

const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: indexPage },
  { method: 'GET', path: re(`${TENANT_BASE}/\\.well-known/smart-configuration`), handler: tenantEndpoint('smart', smartConfiguration, json) },
  { method: 'GET', path: re(`${TENANT_BASE}/metadata`), handler: tenantEndpoint('metadata', capabilityStatement, fhir) },
  { method: 'GET', path: /^\/jwk$/, handler: OAuth.jwks },
  { method: 'GET', path: /^\/jwk\/single$/, handler: OAuth.jwksSingle },
  { method: 'GET', path: /^\/style\.json$/, handler: style },

  // Authorization server
  { method: 'GET', path: re(`${TENANT_ROOT}${SMART_V1}/personas/provider/authorize`), handler: serverEndpoint(OAuth.authorize) },
  { method: 'POST', path: re(`${TENANT_ROOT}${SMART_V1}/personas/provider/authorize`), handler: serverEndpoint(OAuth.authorize) },
  { method: 'POST', path: re(`${TENANT_ROOT}/hosts/[^/]+${SMART_V1}/token`), handler: serverEndpoint(OAuth.token) },

  // FHIR server
  { method: 'GET', path: re(`${TENANT_BASE}/${TYPES}/${FHIR_ID}`), handler: serverEndpoint(F.read) },
  { method: 'PATCH', path: re(`${TENANT_BASE}/(?<type>Appointment)/${FHIR_ID}`), handler: serverEndpoint(F.patchAppointment) },
  { method: 'GET', path: re(`${TENANT_BASE}/${TYPES}`), handler: serverEndpoint(F.search) },

  // Test hooks
  { method: 'POST', path: /^\/_sandbox\/clients$/, handler: OAuth.registerClient },
  { method: 'POST', path: /^\/_sandbox\/launches$/, handler: OAuth.createLaunch },
  { method: 'POST', path: /^\/_sandbox\/launch-now$/, handler: launchNow },
  { method: 'POST', path: /^\/_sandbox\/book-now$/, handler: bookNow },
  { method: 'POST', path: /^\/_sandbox\/move-now$/, handler: moveNow },
  { method: 'POST', path: /^\/_sandbox\/cancel-now$/, handler: cancelNow },
  { method: 'GET', path: re(`/_sandbox/appointments/${FHIR_ID}`), handler: F.sandboxAppointment },
  { method: 'POST', path: /^\/_sandbox\/appointments$/, handler: Schedule.createAppointment },
  { method: 'POST', path: re(`/_sandbox/appointments/${FHIR_ID}/move`), handler: Schedule.moveAppointment },
  { method: 'POST', path: re(`/_sandbox/appointments/${FHIR_ID}/cancel`), handler: Schedule.cancelAppointment },
  { method: 'POST', path: /^\/_sandbox\/throttle$/, handler: F.setThrottle },
  // The request log (benchmarks count EHR round trips from it).
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
    if (!allowed.includes(route.method)) allowed.push(route.method);
  }
  return allowed.length ? { allowed } : null;
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const isInternal = (pathname) => pathname.startsWith('/_sandbox/');

// `signal` aborts when the client disconnects or the server closes (see lib/server.mjs).
async function handle(req, res, { origin, signal, options, state }) {
  const url = new URL(req.url, origin);
  // start_ms/end_ms let a test tell sequential round trips from overlapping ones.
  let entry;
  if (!isInternal(url.pathname)) {
    const start = Date.now();
    entry = { method: req.method, path: url.pathname + url.search, at: new Date(start).toISOString(), start_ms: start, end_ms: null, status: null };
    state.requests.push(entry);
  }

  if (entry) res.once('close', () => { entry.end_ms ??= Date.now(); });

  try {
    if (options.delayMs > 0 && !isInternal(url.pathname)) await wait(options.delayMs, signal);
    const match = matchRoute(req.method, url.pathname);
    let reply;
    if (!match) {
      reply = notFound(url.pathname);
    } else if (match.allowed) {
      reply = outcome(405, 'not-supported', `${req.method} not allowed on ${url.pathname}`);
      reply.headers.allow = match.allowed.join(', ');
    } else {
      const ctx = { req, url, params: match.params, origin, options, state, signal };
      try {
        reply = await match.route.handler(ctx);
      } catch (err) {
        if (!(err instanceof ReplyError)) throw err;
        reply = err.reply;
      }
    }
    send(res, reply);
    if (entry) {
      entry.status = reply.status;
      entry.end_ms = Date.now();
    }
  } catch (err) {
    if (signal.aborted) return; // nobody left to answer
    send(res, outcome(500, 'exception', String(err?.stack ?? err)));
    if (entry) entry.status = 500;
  }
}

/**
 * Start the sandbox. Resolves once listening.
 * @param {{port?: number, host?: string, slowMs?: number, delayMs?: number, gatewayUrl?: string, smsUrl?: string}} [opts]
 * @returns {Promise<{url: string, close: () => Promise<void>, setGatewayUrl: (url: string) => void}>}
 */
export async function startEhrSandbox({
  port = 0, host = '127.0.0.1', slowMs = 10000, delayMs = 0, gatewayUrl = 'http://127.0.0.1:8787',
  smsUrl = 'http://127.0.0.1:8791/',
} = {}) {
  const options = { slowMs, delayMs };
  const state = {
    requests: [],
    throttle: new Map(), // tenant name → { count, retryAfter }
    gatewayUrl, // where the index page's Launch button sends the browser
    smsUrl, // the SMS stand-in's outbox, linked from the index page
    keys: await sandboxKeys(),
    store: buildStore(), // per instance: PATCHes never leak between sandboxes
    ...OAuth.oauthState(),
    ...Schedule.scheduleState(),
  };
  const { url, close } = await startServer({
    port,
    host,
    onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, options, state }),
  });

  // The gateway usually starts after the sandbox (its port is picked later).
  const setGatewayUrl = (gateway) => { state.gatewayUrl = gateway; };

  return { url, close, setGatewayUrl };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

runIfMain(import.meta.url, 'ehr-sandbox', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8790' },
      host: { type: 'string', default: '127.0.0.1' },
      'delay-ms': { type: 'string', default: '0' },
      'slow-ms': { type: 'string', default: '10000' },
      gateway: { type: 'string', default: 'http://127.0.0.1:8787' },
      sms: { type: 'string', default: 'http://127.0.0.1:8791/' },
    },
  });
  return startEhrSandbox({
    port: toInt('port', values.port),
    host: values.host,
    delayMs: toInt('delay-ms', values['delay-ms']),
    slowMs: toInt('slow-ms', values['slow-ms']),
    gatewayUrl: values.gateway,
    smsUrl: values.sms,
  });
});
