// The SMART authorization server of the server tenants: client registration and launches (test
// hooks), authorize, token (client_secret_basic or private_key_jwt, PKCE S256), id_tokens, JWKS.
// The token endpoint also serves SMART Backend Services (grant_type=client_credentials): private_key_jwt
// clients only, system/ scopes only, a 300 s access token without refresh token, id_token or context.
//
// Everything lives in the sandbox instance's `state` (Maps), so concurrent sandboxes and
// per-launch scenarios never interfere.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { DEMO } from './data.mjs';
import { escapeHtml, html, json, mediaType, readForm, readJson, redirect, ReplyError, wait } from './http.mjs';
import { corruptSignature, decodeJwt, signJwt, verifyJwtSignature } from './jwt.mjs';
import { oauthUris, SERVER_TENANTS, serverTenant, TENANTS } from './tenants.mjs';

const CODE_TTL_MS = 60_000;
const LAUNCH_TTL_MS = 60 * 60_000;
const ACCESS_TOKEN_TTL_S = 570; // what Oracle hands out
const SYSTEM_TOKEN_TTL_S = 300; // Backend Services tokens (SMART: "no more than 5 minutes" is recommended)
const ID_TOKEN_TTL_S = 600;
const JWKS_CACHE_MS = 60_000;
const ASSERTION_MAX_LIFETIME_S = 300;
const CLOCK_SKEW_S = 5; // whole-second claims vs. millisecond clocks
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_ALGS = ['RS384', 'ES384'];

const opaque = () => randomBytes(32).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
const sha256url = (s) => createHash('sha256').update(s).digest('base64url');

/** The per-instance OAuth tables; merged into the sandbox's state. */
export function oauthState() {
  return {
    clients: new Map(), // client_id → registration
    launches: new Map(), // launch value → context + scenario
    codes: new Map(), // code → what the token request must match
    tokens: new Map(), // access token → grant (read by the FHIR server)
    jtis: new Set(), // `${client_id} ${jti}` of accepted client assertions
    jwksCache: new Map(), // client_id → { url, at, keys }
  };
}

const isHttpUrl = (s) => {
  try {
    return typeof s === 'string' && ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// Test hooks: clients and launches
// ---------------------------------------------------------------------------------------------

/**
 * POST /_sandbox/clients {client_id, redirect_uri, auth_method, client_secret?, jwks_url?, backend?}
 * `backend: true` marks a SMART Backend Services client: it must be private_key_jwt and may leave
 * out redirect_uri (it then cannot use authorize). Every private_key_jwt client may use
 * client_credentials, backend or not.
 */
export async function registerClient(ctx) {
  const bad = (msg) => json(400, { error: 'invalid_client_metadata', error_description: msg });
  const body = await readJson(ctx, bad);
  const {
    client_id: id, redirect_uri: redirectUri, auth_method: method, client_secret: secret, jwks_url: jwksUrl, backend,
  } = body ?? {};
  if (typeof id !== 'string' || !id) return bad('client_id is required');
  if (backend !== undefined && typeof backend !== 'boolean') return bad('backend must be a boolean');
  if (backend && method !== 'private_key_jwt') return bad('a backend (client_credentials) client must use auth_method private_key_jwt');
  if (!(backend && redirectUri === undefined) && !isHttpUrl(redirectUri)) return bad('redirect_uri must be an absolute http(s) URL');
  const client = { client_id: id, redirect_uri: redirectUri, auth_method: method, ...(backend ? { backend: true } : {}) };
  if (method === 'client_secret_basic') {
    if (typeof secret !== 'string' || !secret) return bad('client_secret is required for client_secret_basic');
    client.client_secret = secret;
  } else if (method === 'private_key_jwt') {
    if (!isHttpUrl(jwksUrl)) return bad('jwks_url must be an absolute http(s) URL for private_key_jwt');
    client.jwks_url = jwksUrl;
  } else {
    return bad('auth_method must be client_secret_basic or private_key_jwt');
  }
  ctx.state.clients.set(id, client);
  ctx.state.jwksCache.delete(id); // a re-registration may point at new keys
  const { client_secret: _hidden, ...shown } = client;
  return json(201, shown);
}

// How one launch makes the EHR misbehave (only that launch, so concurrent tests don't interfere).
// key → allowed values (a type name or a list)
const SCENARIO = {
  deny: 'boolean', // authorize redirects with error=access_denied
  grant_scopes: 'string', // granted instead of what was asked; echoed in the token `scope`
  token_status: [400, 500], // token endpoint fails (400 = invalid_grant)
  token_delay_ms: 'number', // token endpoint answers late
  // key_alg_mismatch: a fault injected on purpose, as bad_signature is: signed RS384 with the key
  // /jwk publishes for RS256 only. No provider should do this; a client must refuse it, because a
  // JWK's `alg` names the one algorithm the key is for (RFC 7517 §4.4; RFC 8725 §3.1).
  id_token: ['bad_signature', 'wrong_iss', 'wrong_aud', 'expired', 'wrong_nonce', 'no_fhir_user', 'key_alg_mismatch'],
  id_token_alg: ['RS256', 'RS384', 'ES256', 'ES384'], // signed with /jwk's key for this alg (default RS256)
  fhir_delay_ms: 'number', // every FHIR call with this launch's token answers late
  patch_status: [409, 412, 422, 423, 424, 500], // a valid Appointment PATCH fails with this status
};

class LaunchError extends Error {}

function checkScenario(scenario = {}) {
  if (typeof scenario !== 'object' || scenario === null || Array.isArray(scenario)) throw new LaunchError('scenario must be an object');
  for (const [key, value] of Object.entries(scenario)) {
    const rule = SCENARIO[key];
    if (!rule) throw new LaunchError(`unknown scenario key ${key} (known: ${Object.keys(SCENARIO).join(', ')})`);
    const ok = Array.isArray(rule) ? rule.includes(value)
      : rule === 'number' ? Number.isInteger(value) && value >= 0 : typeof value === rule;
    if (!ok) throw new LaunchError(`scenario.${key}: ${JSON.stringify(value)} is not ${Array.isArray(rule) ? `one of ${rule.join(', ')}` : `a ${rule}`}`);
  }
  return { ...scenario };
}

/**
 * Creates a launch: fills what the caller left out from the demo data (appointment → its
 * encounter, patient and practitioner; encounter → its appointment and patient).
 */
export function newLaunch(state, input) {
  if (typeof input !== 'object' || input === null) throw new LaunchError('body must be a JSON object');
  const tenant = serverTenant(input.tenant);
  if (!tenant) throw new LaunchError(`tenant must be one of ${SERVER_TENANTS.join(', ')} (name or id)`);
  for (const key of ['appointment', 'encounter', 'practitioner', 'patient']) {
    if (input[key] !== undefined && (typeof input[key] !== 'string' || !input[key])) throw new LaunchError(`${key} must be a resource id`);
  }
  const context = input.context ?? 'appointment';
  if (!['appointment', 'encounter', 'none'].includes(context)) throw new LaunchError('context must be appointment, encounter or none');
  const scenario = checkScenario(input.scenario);

  const data = state.store.get(tenant.name);
  const demo = DEMO[tenant.name];
  let { appointment, encounter, practitioner, patient } = input;
  if (!appointment && encounter) {
    appointment = data.Encounter.get(encounter)?.appointment?.[0]?.reference?.replace(/^Appointment\//, '');
  }
  if (!appointment && !encounter) appointment = demo.appointments.video1;
  const appt = appointment && data.Appointment.get(appointment);
  // Oracle links the encounter to its appointment; a plain EHR need not (then: same patient, same start).
  encounter ??= [...data.Encounter.values()]
    .find((e) => e.appointment?.some((a) => a.reference === `Appointment/${appointment}`)
      || (!e.appointment && appt && appt.participant.some((p) => p.actor?.reference === e.subject?.reference) && e.period?.start === appt.start))?.id;
  const actor = (prefix) => appt?.participant.map((p) => p.actor?.reference).find((r) => r?.startsWith(prefix))?.slice(prefix.length);
  patient ??= actor('Patient/') ?? data.Encounter.get(encounter)?.subject?.reference?.replace(/^Patient\//, '') ?? demo.patient;
  practitioner ??= actor('Practitioner/') ?? demo.practitioner;

  const launch = {
    launch: opaque(),
    tenant: tenant.name,
    tenantId: tenant.id,
    context,
    appointment,
    encounter,
    patient,
    practitioner,
    scenario,
    expiresAt: Date.now() + LAUNCH_TTL_MS,
  };
  state.launches.set(launch.launch, launch);
  return launch;
}

/** Where the EHR sends the browser: `{gateway}/launch?iss=...&launch=...`. */
export function launchUrl(gateway, iss, launch) {
  return `${gateway.replace(/\/+$/, '')}/launch?${new URLSearchParams({ iss, launch })}`;
}

/** POST /_sandbox/launches → 201 {launch, iss, launch_url, ...resolved context} */
export async function createLaunch(ctx) {
  const bad = (msg) => json(400, { error: 'invalid_request', error_description: msg });
  const body = await readJson(ctx, bad);
  let launch;
  try {
    launch = newLaunch(ctx.state, body);
  } catch (err) {
    if (err instanceof LaunchError) return bad(err.message);
    throw err;
  }
  const iss = `${ctx.origin}/r4/${launch.tenantId}`;
  const gateway = typeof body.gateway === 'string' ? body.gateway : ctx.state.gatewayUrl;
  const { launch: value, tenantId, context, appointment, encounter, patient, practitioner, scenario } = launch;
  return json(201, {
    launch: value, iss, launch_url: launchUrl(gateway, iss, value),
    tenant: tenantId, context, appointment, encounter, patient, practitioner, scenario,
  });
}

// ---------------------------------------------------------------------------------------------
// Authorize
// ---------------------------------------------------------------------------------------------

const FIXED_SCOPES = new Set(['launch', 'openid', 'fhirUser', 'profile', 'online_access', 'launch/patient', 'launch/encounter']);
export const RESOURCE_SCOPE = /^(user|patient|system)\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)(\?.*)?$/;
// offline_access is dropped: the sandbox issues no refresh tokens.
const grantable = (s) => FIXED_SCOPES.has(s) || (RESOURCE_SCOPE.test(s) && !s.endsWith('.'));

function withParams(uri, params) {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.href;
}

// OAuth: never redirect to an unverified redirect_uri; tell the user instead.
const errorPage = (error, description) => html(400, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization error</title></head>
<body><h1>${escapeHtml(error)}</h1><p>${escapeHtml(description)}</p></body></html>
`);

/** GET|POST authorize (EHR launch; auto-approves unless the launch's scenario says deny). */
export async function authorize(ctx) {
  const p = ctx.req.method === 'POST' ? await readForm(ctx) : Object.fromEntries(ctx.url.searchParams);
  const client = ctx.state.clients.get(p.client_id);
  if (!client) return errorPage('invalid_client', `Unknown client_id ${JSON.stringify(p.client_id ?? null)}.`);
  if (client.redirect_uri === undefined) {
    return errorPage('unauthorized_client', `Client ${client.client_id} is a Backend Services client without a redirect_uri; it can only use client_credentials.`);
  }
  if (p.redirect_uri !== client.redirect_uri) {
    return errorPage('invalid_request', 'redirect_uri does not exactly match the registered redirect_uri.');
  }
  const fail = (error, description) => redirect(withParams(client.redirect_uri, { error, error_description: description, state: p.state || undefined }));
  if (p.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (!p.state) return fail('invalid_request', 'state is required');
  if (p.aud !== ctx.base) return fail('invalid_request', `aud must be the FHIR base URL ${ctx.base}`);
  if (p.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  if (!/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge ?? '')) {
    return fail('invalid_request', 'code_challenge must be BASE64URL(SHA256(code_verifier)) (43 characters)');
  }
  const launch = ctx.state.launches.get(p.launch);
  if (!launch || launch.expiresAt < Date.now() || launch.tenantId !== ctx.tenant.id) {
    return fail('invalid_request', 'launch is missing, unknown, expired or belongs to another tenant');
  }
  const requested = (p.scope ?? '').split(/\s+/).filter(Boolean);
  if (!requested.includes('launch')) return fail('invalid_scope', 'an EHR launch needs the launch scope');
  if (launch.scenario.deny) return fail('access_denied', 'The user denied the authorization request (sandbox scenario)');

  const scope = launch.scenario.grant_scopes !== undefined
    ? launch.scenario.grant_scopes.split(/\s+/).filter(Boolean)
    : requested.filter(grantable);
  const code = opaque();
  ctx.state.codes.set(code, {
    tenantId: ctx.tenant.id,
    clientId: client.client_id,
    redirectUri: p.redirect_uri,
    codeChallenge: p.code_challenge,
    nonce: p.nonce || undefined,
    scope: [...new Set(scope)].join(' '),
    launch,
    expiresAt: Date.now() + CODE_TTL_MS,
    used: false,
    tokens: [], // revoked if the code is replayed
  });
  return redirect(withParams(p.redirect_uri, { code, state: p.state }));
}

// ---------------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------------

const oauthError = (status, error, description, headers = {}) =>
  new ReplyError(json(status, { error, error_description: description }, 'application/json', headers));
const invalidClient = (description) =>
  oauthError(401, 'invalid_client', description, { 'www-authenticate': 'Basic realm="ehr-sandbox"' });

const formDecode = (s) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
};

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

async function fetchJwks(ctx, client) {
  let keys;
  try {
    const res = await fetch(client.jwks_url, {
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5000)]),
      headers: { accept: 'application/json' },
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    keys = (await res.json())?.keys;
    if (!Array.isArray(keys)) throw new Error('no keys array');
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw invalidClient(`could not fetch jwks_url ${client.jwks_url}: ${err.message}`);
  }
  const entry = { url: client.jwks_url, at: Date.now(), keys };
  ctx.state.jwksCache.set(client.client_id, entry);
  return entry;
}

// Cached for a minute, but an unknown kid triggers one refetch (the client may have rotated).
async function clientKeys(ctx, client, kid) {
  let entry = ctx.state.jwksCache.get(client.client_id);
  const fresh = entry && entry.url === client.jwks_url && Date.now() - entry.at < JWKS_CACHE_MS;
  if (!fresh || (kid !== undefined && !entry.keys.some((k) => k?.kid === kid))) entry = await fetchJwks(ctx, client);
  return entry.keys;
}

async function authenticateAssertion(ctx, form) {
  if (form.client_assertion_type !== JWT_BEARER) throw invalidClient(`client_assertion_type must be ${JWT_BEARER}`);
  let jwt;
  try {
    jwt = decodeJwt(form.client_assertion ?? '');
  } catch (err) {
    throw invalidClient(`client_assertion is not a JWT: ${err.message}`);
  }
  const { header, payload } = jwt;
  if (!ASSERTION_ALGS.includes(header.alg)) throw invalidClient(`client_assertion alg ${header.alg} not allowed (${ASSERTION_ALGS.join(', ')})`);
  const client = typeof payload.iss === 'string' ? ctx.state.clients.get(payload.iss) : undefined;
  if (!client) throw invalidClient('client_assertion iss is not a registered client_id');
  if (client.auth_method !== 'private_key_jwt') throw invalidClient(`client ${client.client_id} is registered for ${client.auth_method}`);
  if (form.client_id !== undefined && form.client_id !== client.client_id) throw invalidClient('client_id does not match the client_assertion iss');

  const keys = await clientKeys(ctx, client, header.kid);
  const candidates = keys.filter((k) => k && typeof k === 'object'
    && (header.kid === undefined || k.kid === header.kid)
    && k.use !== 'enc' && (k.alg === undefined || k.alg === header.alg));
  if (!candidates.length) throw invalidClient(header.kid !== undefined ? `no key with kid ${header.kid} at jwks_url` : 'no usable key at jwks_url');
  if (!candidates.some((k) => verifyJwtSignature(jwt, k))) throw invalidClient('client_assertion signature does not verify');

  const now = nowS();
  if (payload.sub !== client.client_id) throw invalidClient('client_assertion sub must equal iss (the client_id)');
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(ctx.uris.token)) throw invalidClient(`client_assertion aud must be the token endpoint ${ctx.uris.token}`);
  if (!Number.isFinite(payload.exp) || payload.exp <= now - CLOCK_SKEW_S) throw invalidClient('client_assertion expired (or has no exp)');
  if (payload.exp > now + ASSERTION_MAX_LIFETIME_S + CLOCK_SKEW_S) throw invalidClient('client_assertion exp is more than 5 minutes ahead');
  if (payload.nbf !== undefined && !(payload.nbf <= now + CLOCK_SKEW_S)) throw invalidClient('client_assertion not valid yet (nbf)');
  if (typeof payload.jti !== 'string' || !payload.jti) throw invalidClient('client_assertion needs a jti');
  const jtiKey = `${client.client_id} ${payload.jti}`;
  if (ctx.state.jtis.has(jtiKey)) throw invalidClient('client_assertion jti was already used (replay)');
  ctx.state.jtis.add(jtiKey);
  return client;
}

async function authenticateClient(ctx, form) {
  const header = ctx.req.headers.authorization;
  const assertion = form.client_assertion !== undefined || form.client_assertion_type !== undefined;
  if (header && assertion) throw oauthError(400, 'invalid_request', 'use exactly one client authentication method');
  if (form.client_secret !== undefined) throw invalidClient('client_secret_post is not supported; use HTTP Basic');
  if (header) {
    const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidClient('Authorization must be Basic base64(client_id:client_secret)');
    const id = formDecode(decoded.slice(0, colon));
    const client = ctx.state.clients.get(id);
    if (!client || client.auth_method !== 'client_secret_basic' || !sameSecret(formDecode(decoded.slice(colon + 1)), client.client_secret)) {
      throw invalidClient('client authentication failed');
    }
    if (form.client_id !== undefined && form.client_id !== id) throw invalidClient('client_id does not match the Authorization header');
    return client;
  }
  if (assertion) return authenticateAssertion(ctx, form);
  const known = ctx.state.clients.get(form.client_id);
  throw invalidClient(known ? `client ${known.client_id} must authenticate with ${known.auth_method}` : 'client authentication required');
}

/** POST token: authorization_code (EHR launch) or client_credentials (Backend Services). */
export async function token(ctx) {
  if (mediaType(ctx.req) !== 'application/x-www-form-urlencoded') {
    throw oauthError(400, 'invalid_request', 'body must be application/x-www-form-urlencoded');
  }
  const form = await readForm(ctx);
  if (form.grant_type === 'client_credentials') return clientCredentials(ctx, form);
  const client = await authenticateClient(ctx, form);
  if (form.grant_type !== 'authorization_code') {
    throw oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code or client_credentials');
  }
  if (!form.code) throw oauthError(400, 'invalid_request', 'code is required');
  const code = ctx.state.codes.get(form.code);
  if (!code || code.tenantId !== ctx.tenant.id) throw oauthError(400, 'invalid_grant', 'unknown authorization code');
  if (code.used) {
    // RFC 6749 §4.1.2: a replayed code revokes what it produced.
    for (const t of code.tokens) ctx.state.tokens.delete(t);
    throw oauthError(400, 'invalid_grant', 'authorization code was already used');
  }
  code.used = true;
  if (code.expiresAt < Date.now()) throw oauthError(400, 'invalid_grant', 'authorization code expired');
  if (code.clientId !== client.client_id) throw oauthError(400, 'invalid_grant', 'authorization code was issued to another client');
  if (form.redirect_uri !== code.redirectUri) throw oauthError(400, 'invalid_grant', 'redirect_uri differs from the authorize request');
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier ?? '')) {
    throw oauthError(400, 'invalid_request', 'code_verifier must be 43-128 unreserved characters');
  }
  if (sha256url(form.code_verifier) !== code.codeChallenge) throw oauthError(400, 'invalid_grant', 'PKCE verification failed');

  const { launch } = code;
  const { scenario } = launch;
  if (scenario.token_delay_ms) await wait(scenario.token_delay_ms, ctx.signal);
  if (scenario.token_status === 500) return json(500, { error: 'server_error', error_description: 'sandbox scenario token_status 500' });
  if (scenario.token_status === 400) throw oauthError(400, 'invalid_grant', 'sandbox scenario token_status 400');

  const accessToken = opaque();
  ctx.state.tokens.set(accessToken, {
    tenantId: ctx.tenant.id,
    clientId: client.client_id,
    scope: code.scope,
    launch,
    expiresAt: Date.now() + ACCESS_TOKEN_TTL_S * 1000,
  });
  code.tokens.push(accessToken);

  const scopes = code.scope.split(' ');
  const body = { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_S, scope: code.scope };
  if (scopes.includes('openid') && scopes.includes('fhirUser')) body.id_token = idToken(ctx, code, client);
  body.patient = launch.patient;
  if (launch.context !== 'none' && launch.encounter) body.encounter = launch.encounter;
  if (launch.context === 'appointment' && launch.appointment) body.fhirContext = [{ reference: `Appointment/${launch.appointment}` }];
  Object.assign(body, {
    need_patient_banner: false,
    smart_style_url: `${ctx.origin}/style.json`,
    tenant: ctx.tenant.id,
    user: launch.practitioner,
  });
  return json(200, body, 'application/json', { pragma: 'no-cache' });
}

const isSystemScope = (s) => s.startsWith('system/') && RESOURCE_SCOPE.test(s) && !s.endsWith('.');

/**
 * SMART Backend Services: client_credentials with a private_key_jwt client assertion (checked like
 * any other: alg, iss = sub = client_id, aud = this token URL, exp at most 5 min ahead, jti used once)
 * and system/ scopes only. Authentication comes first, so a refused scope still spends the jti.
 */
async function clientCredentials(ctx, form) {
  const assertion = form.client_assertion !== undefined || form.client_assertion_type !== undefined;
  if (ctx.req.headers.authorization || form.client_secret !== undefined || !assertion) {
    throw invalidClient('client_credentials needs private_key_jwt client authentication '
      + `(client_assertion_type=${JWT_BEARER} and client_assertion); client secrets are not accepted`);
  }
  const client = await authenticateAssertion(ctx, form);
  const requested = (form.scope ?? '').split(/\s+/).filter(Boolean);
  if (!requested.length) throw oauthError(400, 'invalid_scope', 'scope is required (system/<Resource>.<permissions>)');
  const refused = requested.filter((s) => !isSystemScope(s));
  if (refused.length) {
    throw oauthError(400, 'invalid_scope', `client_credentials grants only system/ resource scopes; refused: ${refused.join(' ')}`);
  }
  const scope = [...new Set(requested)].join(' ');
  const accessToken = opaque();
  ctx.state.tokens.set(accessToken, {
    tenantId: ctx.tenant.id,
    clientId: client.client_id,
    scope,
    system: true, // no launch: no patient, no scenario
    launch: undefined,
    expiresAt: Date.now() + SYSTEM_TOKEN_TTL_S * 1000,
  });
  return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: SYSTEM_TOKEN_TTL_S, scope },
    'application/json', { pragma: 'no-cache' });
}

function idToken(ctx, code, client) {
  const { launch } = code;
  const alg = launch.scenario.id_token_alg ?? 'RS256';
  const key = ctx.tenant.jwks === 'single' ? ctx.state.keys.single : alg === 'RS256' ? ctx.state.keys.main : ctx.state.keys[alg];
  const user = ctx.state.store.get(ctx.tenant.name).Practitioner.get(launch.practitioner);
  const now = nowS();
  const claims = {
    iss: ctx.uris.issuer,
    sub: launch.practitioner,
    aud: client.client_id,
    iat: now,
    exp: now + ID_TOKEN_TTL_S,
    ...(code.nonce !== undefined ? { nonce: code.nonce } : {}),
    fhirUser: `${ctx.base}/Practitioner/${launch.practitioner}`,
    name: user?.name?.[0]?.text ?? launch.practitioner,
  };
  switch (launch.scenario.id_token) {
    case 'wrong_iss': {
      // Another tenant's issuer on the same server: the mix-up a gateway must catch.
      const other = SERVER_TENANTS.find((n) => n !== ctx.tenant.name);
      claims.iss = oauthUris(ctx.origin, TENANTS[other]).issuer;
      break;
    }
    case 'wrong_aud': claims.aud = `${client.client_id}-other`; break;
    case 'expired': claims.iat = now - 2 * ID_TOKEN_TTL_S; claims.exp = now - ID_TOKEN_TTL_S; break;
    case 'wrong_nonce': claims.nonce = opaque(); break;
    case 'no_fhir_user': delete claims.fhirUser; break;
    default: break;
  }
  const signedAlg = launch.scenario.id_token === 'key_alg_mismatch' ? 'RS384' : alg;
  const header = { alg: signedAlg, typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) };
  const jwt = signJwt(header, claims, key.privateKey);
  return launch.scenario.id_token === 'bad_signature' ? corruptSignature(jwt) : jwt;
}

// ---------------------------------------------------------------------------------------------
// JWKS and the access-token lookup the FHIR server uses
// ---------------------------------------------------------------------------------------------

export const jwks = (ctx) => json(200, { keys: ['main', 'RS384', 'ES256', 'ES384'].map((k) => ctx.state.keys[k].jwk) });
export const jwksSingle = (ctx) => json(200, { keys: [ctx.state.keys.single.jwk] });

/** The live grant behind `Authorization: Bearer <token>` for this tenant, or undefined. */
export function grantFor(ctx) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
  const grant = m && ctx.state.tokens.get(m[1]);
  if (!grant || grant.expiresAt < Date.now() || grant.tenantId !== ctx.tenant.id) return undefined;
  return grant;
}
