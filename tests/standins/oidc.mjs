// Stand-in for the admins' identity provider: Microsoft Entra ID's OpenID Connect v2.0 endpoints
// (authorization code flow with PKCE, confidential client). A real HTTP server, no npm
// dependencies. Moving to Entra is a change of the issuer, client id and secret in ADMIN_OIDC.
//
//   discovery   GET  {origin}/{tenant}/v2.0/.well-known/openid-configuration
//   authorize   GET  {origin}/{tenant}/oauth2/v2.0/authorize   → "Pick an account" page
//               POST (same URL, form `account=<username>` or `cancel=1`) → 302 to redirect_uri
//   token       POST {origin}/{tenant}/oauth2/v2.0/token       (client_secret_basic or _post)
//   keys        GET  {origin}/{tenant}/discovery/v2.0/keys
//   logout      GET  {origin}/{tenant}/oauth2/v2.0/logout
//
// id_tokens carry Entra's v2.0 claims: iss {origin}/{tenant}/v2.0, aud client_id, sub, oid, tid,
// name, preferred_username, email, roles (app roles), nonce, iat, nbf, exp, ver "2.0".
//
// Test hooks under /_oidc/ (never logged):
//   GET  /_oidc/requests          request log
//   POST /_oidc/apps              {client_id, client_secret, redirect_uris: [...]}
//   POST /_oidc/users             {username, name, roles: [...]}: add or replace an account
//   POST /_oidc/next              {claims?: {...}, corrupt_signature?, token_status?}: how the next
//                                 token answer misbehaves (claims override the id_token's)
//
// CLI:    node tests/standins/oidc.mjs [--port 8795] [--redirect-uri http://127.0.0.1:8787/admin/callback]
// Module: const { url, issuer, close } = await startOidcStandIn({ port: 0, redirectUris: [...] });

import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';

import { corruptSignature, sandboxKeys, signJwt } from './ehr/jwt.mjs';
import { escapeHtml, html, send } from './lib/http.mjs';
import { epochMs, readBody } from './lib/io.mjs';
import { hookPaths, logRequest, matchRoute } from './lib/routing.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';

export const TENANT = 'contoso-tenant';
export const DEFAULT_CLIENT = Object.freeze({ clientId: 'visitgate-admin', clientSecret: 'dev-admin-secret' });
/** The accounts at start: one per role the gateway's example mapping knows, and one with none. */
export const DEFAULT_USERS = Object.freeze([
  { username: 'pat.platform@contoso.example', name: 'Pat Platform', roles: ['Visitgate.PlatformAdmin'] },
  { username: 'dana.demo@contoso.example', name: 'Dana Demo', roles: ['Visitgate.TenantAdmin.demo'] },
  { username: 'no.role@contoso.example', name: 'Noel Norole', roles: [] },
]);
const CODE_TTL_MS = 10 * 60 * 1000;

const json = (status, value) => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(value) });

function entraError(status, error, aadsts, text) {
  return json(status, {
    error,
    error_description: `AADSTS${aadsts}: ${text} Trace ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [aadsts],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

const issuerOf = (origin, tenant) => `${origin}/${tenant}/v2.0`;

function metadata(ctx) {
  const t = `${ctx.origin}/${ctx.params.tenant}`;
  return json(200, {
    token_endpoint: `${t}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${t}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: issuerOf(ctx.origin, ctx.params.tenant),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'name', 'preferred_username', 'oid', 'tid', 'ver', 'email', 'roles'],
    tenant_region_scope: 'EU',
  });
}

const page = (title, body) => html(200, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto}button{display:block;width:100%;margin:.4rem 0;padding:.8rem;font:inherit;text-align:left}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`);

/** Checks client_id and redirect_uri first: a bad one gets a page, never a redirect (no open redirect). */
function authorizeRequest(ctx) {
  const q = ctx.url.searchParams;
  const app = ctx.state.apps.get(q.get('client_id') ?? '');
  if (!app) return { page: page('Sign-in error', `<p>AADSTS700016: Application with identifier '${escapeHtml(q.get('client_id') ?? '')}' was not found in the directory.</p>`) };
  if (!app.redirectUris.includes(q.get('redirect_uri') ?? '')) {
    return { page: page('Sign-in error', `<p>AADSTS50011: The redirect URI '${escapeHtml(q.get('redirect_uri') ?? '')}' specified in the request does not match the redirect URIs configured for the application.</p>`) };
  }
  const back = (params) => {
    const u = new URL(q.get('redirect_uri'));
    for (const [k, v] of Object.entries({ ...params, state: q.get('state') ?? undefined })) if (v !== undefined) u.searchParams.set(k, v);
    return { status: 302, headers: { location: u.href }, body: '' };
  };
  const fail = (error, text) => ({ redirect: back({ error, error_description: text }) });
  if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'AADSTS700054: response_type is not enabled for the application.');
  if (!(q.get('scope') ?? '').split(' ').includes('openid')) return fail('invalid_request', "AADSTS900144: The request body must contain the following parameter: 'openid scope'.");
  if (!q.get('code_challenge') || q.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'AADSTS50148: The code_challenge must be sent with code_challenge_method S256.');
  return { app, back };
}

async function authorize(ctx) {
  const r = authorizeRequest(ctx);
  if (r.page) return r.page;
  if (r.redirect) return r.redirect;
  const q = ctx.url.searchParams;
  if (ctx.req.method === 'GET') {
    const action = escapeHtml(ctx.url.pathname + ctx.url.search);
    const accounts = [...ctx.state.users.values()].map((u) =>
      `<button name="account" value="${escapeHtml(u.username)}">${escapeHtml(u.name)}<br><small>${escapeHtml(u.username)}</small></button>`).join('');
    return page('Pick an account', `<p>to continue to ${escapeHtml(r.app.clientId)}</p><form method="post" action="${action}">${accounts}<button name="cancel" value="1">Cancel</button></form>`);
  }
  const form = new URLSearchParams(await readBody(ctx.req, 64 * 1024));
  if (form.get('cancel')) return r.back({ error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' });
  const user = ctx.state.users.get(form.get('account') ?? '');
  if (!user) return page('Sign-in error', '<p>AADSTS50034: The user account does not exist in this directory.</p>');
  const code = `1.${randomBytes(48).toString('base64url')}`;
  ctx.state.codes.set(code, {
    clientId: r.app.clientId, redirectUri: q.get('redirect_uri'), challenge: q.get('code_challenge'),
    nonce: q.get('nonce') ?? undefined, user, tenant: ctx.params.tenant, expMs: Date.now() + CODE_TTL_MS,
  });
  return r.back({ code, session_state: randomUUID() });
}

function clientAuth(req, form) {
  const h = req.headers.authorization ?? '';
  if (h.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
    return { id, secret };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

async function token(ctx) {
  const form = new URLSearchParams(await readBody(ctx.req, 64 * 1024));
  const { id, secret } = clientAuth(ctx.req, form);
  const app = ctx.state.apps.get(id ?? '');
  if (!app) return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${id}' was not found in the directory.`);
  if (!secret || !same(secret, app.clientSecret)) return entraError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
  if (form.get('grant_type') !== 'authorization_code') return entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  const code = ctx.state.codes.get(form.get('code') ?? '');
  ctx.state.codes.delete(form.get('code') ?? '');
  if (!code || code.expMs < Date.now() || code.clientId !== app.clientId) return entraError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
  if (form.get('redirect_uri') !== code.redirectUri) return entraError(400, 'invalid_grant', 50148, 'The redirect_uri does not match the one used in the authorization request.');
  const verifier = form.get('code_verifier') ?? '';
  if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return entraError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
  const next = ctx.state.next;
  ctx.state.next = {};
  if (next.token_status) return entraError(next.token_status, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
  const { main } = await sandboxKeys();
  const now = Math.floor(Date.now() / 1000);
  const oid = createHash('sha256').update(code.user.username).digest('hex').slice(0, 32).replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
  const claims = {
    aud: app.clientId, iss: issuerOf(ctx.origin, code.tenant), iat: now, nbf: now, exp: now + 3600,
    name: code.user.name, nonce: code.nonce, oid, preferred_username: code.user.username, email: code.user.username,
    rh: '0.AAAA', roles: code.user.roles.length ? code.user.roles : undefined,
    sub: createHash('sha256').update(`${app.clientId}|${oid}`).digest('base64url').slice(0, 43), tid: code.tenant, uti: randomBytes(16).toString('base64url'), ver: '2.0',
    ...(next.claims ?? {}),
  };
  let idToken = signJwt({ typ: 'JWT', alg: 'RS256', kid: main.kid }, claims, main.privateKey);
  if (next.corrupt_signature) idToken = corruptSignature(idToken);
  return json(200, {
    token_type: 'Bearer', scope: 'openid profile email', expires_in: 3599, ext_expires_in: 3599,
    access_token: randomBytes(48).toString('base64url'), id_token: idToken,
  });
}

async function keys() {
  const { main } = await sandboxKeys();
  return json(200, { keys: [{ ...main.jwk, x5t: main.kid }] });
}

function logout(ctx) {
  const back = ctx.url.searchParams.get('post_logout_redirect_uri');
  const known = back && [...ctx.state.apps.values()].some((a) => a.redirectUris.some((u) => new URL(u).origin === new URL(back).origin));
  if (known) return { status: 302, headers: { location: back }, body: '' };
  return page('You signed out of your account', '<p>It\'s a good idea to close all browser windows.</p>');
}

async function hookJson(ctx) {
  return JSON.parse((await readBody(ctx.req, 64 * 1024)) || '{}');
}

const T = '(?<tenant>[^/]+)';
const ROUTES = [
  { method: 'GET', path: new RegExp(`^/${T}/v2\\.0/\\.well-known/openid-configuration$`), handler: metadata },
  { method: 'GET', path: new RegExp(`^/${T}/oauth2/v2\\.0/authorize$`), handler: authorize },
  { method: 'POST', path: new RegExp(`^/${T}/oauth2/v2\\.0/authorize$`), handler: authorize },
  { method: 'POST', path: new RegExp(`^/${T}/oauth2/v2\\.0/token$`), handler: token },
  { method: 'GET', path: new RegExp(`^/${T}/discovery/v2\\.0/keys$`), handler: keys },
  { method: 'GET', path: new RegExp(`^/${T}/oauth2/v2\\.0/logout$`), handler: logout },
  { method: 'GET', path: /^\/_oidc\/requests$/, handler: (ctx) => json(200, ctx.state.requests) },
  {
    method: 'POST', path: /^\/_oidc\/apps$/, handler: async (ctx) => {
      const b = await hookJson(ctx);
      ctx.state.apps.set(b.client_id, { clientId: b.client_id, clientSecret: b.client_secret, redirectUris: b.redirect_uris ?? [] });
      return json(200, { ok: true });
    },
  },
  {
    method: 'POST', path: /^\/_oidc\/users$/, handler: async (ctx) => {
      const b = await hookJson(ctx);
      ctx.state.users.set(b.username, { username: b.username, name: b.name ?? b.username, roles: b.roles ?? [] });
      return json(200, { ok: true });
    },
  },
  { method: 'POST', path: /^\/_oidc\/next$/, handler: async (ctx) => { ctx.state.next = await hookJson(ctx); return json(200, { ok: true }); } },
];

const isInternal = hookPaths('/_oidc/');

async function handle(req, res, { origin, signal, state }) {
  const url = new URL(req.url, origin);
  if (!isInternal(url.pathname)) logRequest(state.requests, req, res, url, epochMs);
  const ctx = { req, url, origin, state, signal, params: {} };
  try {
    const match = matchRoute(ROUTES, req.method, url.pathname);
    let reply;
    if (!match) reply = json(404, { error: 'not_found' });
    else if (match.allowed) reply = { ...json(405, { error: 'method_not_allowed' }), headers: { allow: match.allowed.join(', ') } };
    else {
      ctx.params = match.params;
      reply = await match.route.handler(ctx);
    }
    send(res, reply);
  } catch (err) {
    if (!signal.aborted) send(res, json(500, { error: 'server_error', error_description: String(err?.message ?? err) }));
  }
}

/**
 * @param {{port?: number, host?: string, redirectUris?: string[], clientId?: string, clientSecret?: string}} [opts]
 * @returns {Promise<{url: string, issuer: string, close: () => Promise<void>}>}
 */
export async function startOidcStandIn({ port = 0, host = '127.0.0.1', redirectUris = [], clientId = DEFAULT_CLIENT.clientId, clientSecret = DEFAULT_CLIENT.clientSecret } = {}) {
  const state = { requests: [], apps: new Map(), users: new Map(), codes: new Map(), next: {} };
  state.apps.set(clientId, { clientId, clientSecret, redirectUris });
  for (const u of DEFAULT_USERS) state.users.set(u.username, { ...u });
  await sandboxKeys();
  const { url, close } = await startServer({ port, host, onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, state }) });
  return { url, issuer: issuerOf(url, TENANT), close };
}

/** The gateway's ADMIN_OIDC for this stand-in, mapping the default users' app roles. */
export function gatewaySigninConfig(issuer, clientId = DEFAULT_CLIENT.clientId) {
  return JSON.stringify({
    issuer, client_id: clientId, provider_name: 'Contoso (Microsoft Entra ID)',
    platform_admin: ['Visitgate.PlatformAdmin'], tenant_admin_prefix: 'Visitgate.TenantAdmin.',
  });
}

runIfMain(import.meta.url, 'oidc', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8795' },
      host: { type: 'string', default: '127.0.0.1' },
      'redirect-uri': { type: 'string', multiple: true, default: ['http://127.0.0.1:8787/admin/callback'] },
    },
  });
  return startOidcStandIn({ port: toInt('port', values.port), host: values.host, redirectUris: values['redirect-uri'] });
});
