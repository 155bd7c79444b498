// Stand-in for the video provider: Microsoft Teams meetings created by a daemon app through
// Microsoft Graph. A real HTTP server with no npm dependencies.
//
// It answers the two services the gateway talks to, on this server's own origin, with the wire
// shapes of the real ones, so that moving to Microsoft is a configuration change:
//   Entra ID token   POST {origin}/{tenantId}/oauth2/v2.0/token          (login.microsoftonline.com)
//   Graph            POST {origin}/v1.0/users/{userId}/onlineMeetings/createOrGet
//                    GET  {origin}/v1.0/users/{userId}/onlineMeetings/{meetingId}   (graph.microsoft.com)
// and the pages a browser lands on from a meeting's links:
//   joinWebUrl       GET  {origin}/l/meetup-join/19%3ameeting_{key}%40thread.v2/0?context=...
//                    GET  {origin}/meet/{meetingId}
//   (either with `role=patient` in the query shows the patient view; otherwise the provider view)
//
// Meetings are idempotent per (tenant, user, externalId), as Graph's createOrGet: the first call
// answers 201, every later one 200 with the same meeting, however many arrive at once.
//
// Test hooks under /_video/ (never logged, never delayed):
//   GET    /_video/requests   request log [{method, path, at, start_ms, end_ms, status}]
//   DELETE /_video/requests   clear it
//   GET    /_video/meetings   every meeting, as Graph's onlineMeeting resources, oldest first
//   DELETE /_video/meetings   forget all meetings
//   POST   /_video/apps       {tenant_id, client_id, client_secret}: register (or replace) an app
//   POST   /_video/fail       {count: N, status?: 503}: the next N createOrGet calls fail
//   DELETE /_video/tokens     expire every issued access token (Graph then answers 401)
//
// CLI:    node tests/standins/video.mjs [--port 8792] [--host 127.0.0.1] [--delay-ms 0]
//           [--client-id visitgate-dev] [--client-secret dev-secret] [--tenant-id contoso-tenant]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close } = await startVideoStandIn({ port: 0 });

import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { escapeHtml, html, noContent, send, wait } from './lib/http.mjs';
import { hookPaths, logRequest, matchRoute } from './lib/routing.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';

// ---------------------------------------------------------------------------------------------
// Defaults and URL helpers
// ---------------------------------------------------------------------------------------------

/** The app registered at start unless other credentials are given. */
export const DEFAULT_APP = Object.freeze({
  tenantId: 'contoso-tenant',
  clientId: 'visitgate-dev',
  clientSecret: 'dev-secret',
});

/** The only scope a client-credentials token for Graph can ask for. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'; // Microsoft Graph's appId
const GRAPH_RESOURCE = 'https://graph.microsoft.com';

/** Entra token endpoint of a tenant on a running stand-in (real: https://login.microsoftonline.com). */
export const tokenEndpoint = (origin, tenantId = DEFAULT_APP.tenantId) =>
  `${origin}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;

/** Graph v1.0 base on a running stand-in (real: https://graph.microsoft.com/v1.0). */
export const graphBase = (origin) => `${origin}/v1.0`;

const TOKEN_TTL_S = 3599;
const MAX_BODY_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Replies: handlers return { status, headers, body } and send() (lib/http.mjs) writes it out.
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=utf-8';
// What Graph sends with every JSON answer.
const GRAPH_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

const json = (status, value, type = JSON_TYPE) =>
  ({ status, headers: { 'content-type': type }, body: JSON.stringify(value, null, 2) });

// ---------------------------------------------------------------------------------------------
// Reading bodies
// ---------------------------------------------------------------------------------------------

class TooLarge extends Error {}

/** The whole body as text; past MAX_BODY_BYTES it is drained and TooLarge thrown (answer 413). */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw new TooLarge('request body too large');
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Small generators
// ---------------------------------------------------------------------------------------------

const digits = (n) => Array.from({ length: n }, (_, i) => randomInt(i === 0 ? 1 : 0, 10)).join('');
const PASSCODE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const passcode = () => Array.from({ length: 6 }, () => PASSCODE_CHARS[randomInt(PASSCODE_CHARS.length)]).join('');
const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
/** Epoch milliseconds with sub-millisecond precision (for the request log), on the wall clock's scale. */
const CLOCK_ORIGIN_MS = Date.now() - performance.now();
const epochMs = () => Math.round((CLOCK_ORIGIN_MS + performance.now()) * 1000) / 1000;
/** Graph prints date-times in UTC with seven fractional digits. */
const graphTime = (ms) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

// ---------------------------------------------------------------------------------------------
// Entra ID: client-credentials token endpoint
// ---------------------------------------------------------------------------------------------

const appKey = (tenantId, clientId) => `${tenantId.toLowerCase()}\n${clientId.toLowerCase()}`;

function registerApp(state, { tenantId, clientId, clientSecret }) {
  const key = appKey(tenantId, clientId);
  const existed = state.apps.has(key);
  state.apps.set(key, { tenantId, clientId, clientSecret });
  return existed;
}

/** An Entra error body: {error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}. */
function entraError(status, error, aadsts, text, correlationId = randomUUID()) {
  const traceId = randomUUID();
  // Entra's timestamp format: "2024-05-01 12:34:56Z".
  const timestamp = `${new Date().toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return json(status, {
    error,
    error_description: `AADSTS${aadsts}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
  });
}

const missingParam = (name, cid) =>
  entraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`, cid);

/** A JWT-shaped access token (HS256 over a per-server key); validated by lookup, not by signature. */
function issueToken(state, app) {
  const iat = nowS();
  const exp = iat + TOKEN_TTL_S;
  const header = { typ: 'JWT', alg: 'HS256', kid: 'visitgate-video-standin' };
  const payload = {
    aud: GRAPH_RESOURCE,
    iss: `https://sts.windows.net/${app.tenantId}/`,
    iat,
    nbf: iat,
    exp,
    app_displayname: app.clientId,
    appid: app.clientId,
    appidacr: '1',
    idp: `https://sts.windows.net/${app.tenantId}/`,
    idtyp: 'app',
    oid: randomUUID(),
    roles: ['OnlineMeetings.ReadWrite.All'],
    sub: randomUUID(),
    tid: app.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const signature = createHmac('sha256', state.signingKey).update(signingInput).digest('base64url');
  const token = `${signingInput}.${signature}`;
  state.tokens.set(token, { tenantId: app.tenantId, clientId: app.clientId, expMs: exp * 1000 });
  return token;
}

/** Client secret from the form or from HTTP Basic (client_secret_basic); Entra accepts both. */
function clientCredentials(req, form) {
  const auth = req.headers.authorization ?? '';
  const m = /^Basic\s+(\S+)$/i.exec(auth);
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      return {
        clientId: decodeURIComponent(decoded.slice(0, colon)),
        clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
      };
    }
  }
  return { clientId: form.get('client_id'), clientSecret: form.get('client_secret') };
}

async function tokenEndpointHandler(ctx) {
  const tenantId = ctx.params.tenant;
  const form = new URLSearchParams(await readBody(ctx.req));
  const cid = form.get('client-request-id') ?? ctx.req.headers['client-request-id'] ?? randomUUID();

  const grantType = form.get('grant_type');
  if (!grantType) return missingParam('grant_type', cid);
  if (grantType !== 'client_credentials') {
    return entraError(400, 'unsupported_grant_type', 70003,
      `The app requested an unsupported grant type '${grantType}'.`, cid);
  }
  const { clientId, clientSecret } = clientCredentials(ctx.req, form);
  if (!clientId) return missingParam('client_id', cid);

  const knownTenant = [...ctx.state.apps.values()].some((a) => a.tenantId.toLowerCase() === tenantId.toLowerCase());
  if (!knownTenant) {
    return entraError(400, 'invalid_request', 90002,
      `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`, cid);
  }
  const app = ctx.state.apps.get(appKey(tenantId, clientId));
  if (!app) {
    return entraError(400, 'unauthorized_client', 700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, cid);
  }
  if (!clientSecret) {
    return entraError(401, 'invalid_client', 7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", cid);
  }
  if (clientSecret !== app.clientSecret) {
    return entraError(401, 'invalid_client', 7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`, cid);
  }

  const scope = form.get('scope');
  if (!scope) return missingParam('scope', cid);
  const scopes = scope.split(/\s+/).filter(Boolean);
  const graphScope = (s) => s === GRAPH_SCOPE || s === `${GRAPH_RESOURCE}//.default` || s === `${GRAPH_APP_ID}/.default`;
  if (scopes.length !== 1 || !scopes[0].endsWith('/.default')) {
    return entraError(400, 'invalid_scope', 1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`, cid);
  }
  if (!graphScope(scopes[0])) {
    const resource = scopes[0].slice(0, -'/.default'.length);
    return entraError(400, 'invalid_resource', 500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`, cid);
  }

  return json(200, {
    token_type: 'Bearer',
    expires_in: TOKEN_TTL_S,
    ext_expires_in: TOKEN_TTL_S,
    access_token: issueToken(ctx.state, app),
  });
}

// ---------------------------------------------------------------------------------------------
// Graph: errors and authentication
// ---------------------------------------------------------------------------------------------

/** A Graph error: {error: {code, message, innerError: {date, request-id, client-request-id}}}. */
function graphError(ctx, status, code, message, extraHeaders = {}) {
  const reply = json(status, {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': ctx.requestId,
        'client-request-id': ctx.clientRequestId,
      },
    },
  }, GRAPH_TYPE);
  Object.assign(reply.headers, graphHeaders(ctx), extraHeaders);
  return reply;
}

const graphHeaders = (ctx) => ({ 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId });

function graphJson(ctx, status, value) {
  const reply = json(status, value, GRAPH_TYPE);
  Object.assign(reply.headers, graphHeaders(ctx));
  return reply;
}

const WWW_AUTHENTICATE = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`;

/** The token's app ({tenantId, clientId}) or a 401 reply in Graph's shape. */
function authenticate(ctx) {
  const unauthorized = (message) => ({
    reply: graphError(ctx, 401, 'InvalidAuthenticationToken', message, { 'www-authenticate': WWW_AUTHENTICATE }),
  });
  const header = ctx.req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S*)\s*$/i.exec(header);
  const token = m?.[1] ?? '';
  if (!token) return unauthorized('Access token is empty.');
  if (!token.includes('.')) {
    return unauthorized("IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.");
  }
  const issued = ctx.state.tokens.get(token);
  if (!issued) return unauthorized('Access token validation failure. Invalid audience.');
  if (Date.now() >= issued.expMs) return unauthorized('Lifetime validation failed, the token is expired.');
  return { app: issued };
}

// ---------------------------------------------------------------------------------------------
// Graph: online meetings
// ---------------------------------------------------------------------------------------------

// Properties a createOrGet body may set, with what Graph fills in when they are absent.
const MEETING_DEFAULTS = {
  allowedPresenters: 'everyone',
  allowMeetingChat: 'enabled',
  allowTeamworkReactions: true,
  allowAttendeeToEnableCamera: true,
  allowAttendeeToEnableMic: true,
  isEntryExitAnnounced: true,
  recordAutomatically: false,
};

const meetingKey = (tenantId, userId, externalId) =>
  JSON.stringify([tenantId.toLowerCase(), userId.toLowerCase(), externalId]);

function parseDateTime(value) {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return NaN;
  return Date.parse(value);
}

/** Check a createOrGet body; returns {input} or {message} for a 400. */
function validateCreateBody(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { message: 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.' };
  }
  if (typeof body.externalId !== 'string' || body.externalId.trim() === '') {
    return { message: "Invalid request: the 'externalId' property is required." };
  }
  for (const name of ['startDateTime', 'endDateTime']) {
    if (body[name] === undefined || body[name] === null) return { message: `Invalid request: the '${name}' property is required.` };
    if (Number.isNaN(parseDateTime(body[name]))) return { message: `Cannot convert the literal '${body[name]}' to the expected type 'Edm.DateTimeOffset'.` };
  }
  const startMs = parseDateTime(body.startDateTime);
  const endMs = parseDateTime(body.endDateTime);
  if (endMs < startMs) return { message: 'Invalid request: endDateTime must be later than startDateTime.' };
  const attendees = body.participants?.attendees ?? [];
  if (!Array.isArray(attendees) || attendees.some((a) => a === null || typeof a !== 'object')) {
    return { message: "Invalid request: 'participants.attendees' must be an array of meetingParticipantInfo." };
  }
  if (body.subject !== undefined && body.subject !== null && typeof body.subject !== 'string') {
    return { message: "Invalid request: 'subject' must be a string." };
  }
  return { input: { body, startMs, endMs, attendees } };
}

function createMeeting(ctx, app, userId, { body, startMs, endMs, attendees }) {
  // Graph's ids: the thread id is "19:meeting_<base64 of a GUID>@thread.v2", and the meeting id
  // is base64 of "1*<organizer oid>*0**<thread id>" (URL-safe here, so it sits in a path as is).
  const threadKey = Buffer.from(randomUUID()).toString('base64').replace(/=+$/, '');
  const threadId = `19:meeting_${threadKey}@thread.v2`;
  const id = Buffer.from(`1*${userId}*0**${threadId}`).toString('base64url');
  // Teams writes the escapes in lower case: 19%3ameeting_...%40thread.v2, context=%7b%22Tid%22%3a...
  const escape = (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const context = escape(JSON.stringify({ Tid: app.tenantId, Oid: userId }));
  const joinWebUrl = `${ctx.origin}/l/meetup-join/${escape(threadId)}/0?context=${context}`;
  const upn = userId.includes('@') ? userId : `${userId}@${app.tenantId}.onmicrosoft.com`;
  const settable = Object.fromEntries(Object.entries(MEETING_DEFAULTS)
    .map(([k, v]) => [k, body[k] === undefined ? v : body[k]]));

  return {
    '@odata.context': `${graphBase(ctx.origin)}/$metadata#users('${userId}')/onlineMeetings/$entity`,
    id,
    creationDateTime: graphTime(Date.now()),
    startDateTime: graphTime(startMs),
    endDateTime: graphTime(endMs),
    joinUrl: joinWebUrl,
    joinWebUrl,
    meetingCode: digits(12),
    subject: body.subject ?? null,
    externalId: body.externalId,
    isBroadcast: false,
    autoAdmittedUsers: 'EveryoneInCompany',
    outerMeetingAutoAdmittedUsers: null,
    capabilities: [],
    videoTeleconferenceId: digits(10),
    ...settable,
    joinMeetingIdSettings: {
      isPasscodeRequired: true,
      joinMeetingId: digits(12),
      passcode: passcode(),
    },
    lobbyBypassSettings: {
      scope: 'organization',
      isDialInBypassEnabled: false,
      ...(body.lobbyBypassSettings && typeof body.lobbyBypassSettings === 'object' ? body.lobbyBypassSettings : {}),
    },
    participants: {
      organizer: {
        upn,
        role: 'presenter',
        identity: {
          user: { id: userId, displayName: null, tenantId: app.tenantId, identityProvider: 'AAD' },
        },
      },
      attendees: attendees.map((a) => ({ upn: null, ...a, role: a.role ?? 'attendee' })),
      producers: [],
      contributors: [],
    },
    chatInfo: { threadId, messageId: '0', replyChainMessageId: null },
    audioConferencing: null,
    broadcastSettings: null,
    joinInformation: null,
  };
}

const INJECTED_CODES = {
  429: ['TooManyRequests', 'Too many requests. Retry after the number of seconds in Retry-After.'],
  500: ['InternalServerError', 'An internal server error occurred. Please retry the request.'],
  502: ['BadGateway', 'The upstream service returned an invalid response.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable. Please retry the request after the number of seconds in Retry-After.'],
  504: ['GatewayTimeout', 'The upstream service did not respond in time.'],
};

async function createOrGet(ctx) {
  const auth = authenticate(ctx);
  if (auth.reply) return auth.reply;

  // Injected failures (POST /_video/fail) hit authenticated createOrGet calls, in arrival order.
  if (ctx.state.failures.count > 0) {
    ctx.state.failures.count -= 1;
    const status = ctx.state.failures.status;
    const [code, message] = INJECTED_CODES[status] ?? ['UnknownError', `Injected failure (HTTP ${status}).`];
    return graphError(ctx, status, code, message, { 'retry-after': '1' });
  }

  const userId = ctx.params.userId;
  const checked = validateCreateBody(await readBody(ctx.req));
  if (checked.message) return graphError(ctx, 400, 'BadRequest', checked.message);

  // Lookup and insert without an `await` in between: concurrent calls cannot both create.
  const key = meetingKey(auth.app.tenantId, userId, checked.input.body.externalId);
  const existing = ctx.state.meetingsByKey.get(key);
  if (existing) return graphJson(ctx, 200, existing.resource);

  const resource = createMeeting(ctx, auth.app, userId, checked.input);
  const record = { tenantId: auth.app.tenantId, userId, resource };
  ctx.state.meetingsByKey.set(key, record);
  ctx.state.meetingsById.set(resource.id, record);
  ctx.state.meetingsByThread.set(resource.chatInfo.threadId, record);
  return graphJson(ctx, 201, resource);
}

function getMeeting(ctx) {
  const auth = authenticate(ctx);
  if (auth.reply) return auth.reply;
  const record = ctx.state.meetingsById.get(ctx.params.meetingId);
  const visible = record
    && record.tenantId.toLowerCase() === auth.app.tenantId.toLowerCase()
    && record.userId.toLowerCase() === ctx.params.userId.toLowerCase();
  if (!visible) return graphError(ctx, 404, 'NotFound', `The requested resource does not exist (onlineMeeting '${ctx.params.meetingId}').`);
  return graphJson(ctx, 200, record.resource);
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

function meetingPage(ctx, record) {
  if (!record) {
    return html(404, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Meeting not found</title></head>
<body><h1>Teams meeting stand-in: meeting not found</h1>
<p>No meeting at <code>${escapeHtml(ctx.url.pathname)}</code>. Meetings live only as long as the stand-in runs.</p>
</body></html>
`);
  }
  const m = record.resource;
  const role = ctx.url.searchParams.get('role') === 'patient' ? 'patient' : 'provider';
  const subject = m.subject ?? '(no subject)';
  return html(200, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Teams meeting stand-in: ${escapeHtml(subject)}</title></head>
<body data-role="${role}" data-meeting-id="${escapeHtml(m.id)}">
<h1>Teams meeting stand-in: ${escapeHtml(subject)}</h1>
<p id="role" data-role="${role}">You opened the <strong>${role}</strong> link.</p>
<p>${role === 'patient'
    ? 'In Microsoft Teams you would now wait in the lobby until the clinician admits you.'
    : 'In Microsoft Teams the meeting would open here, with you as the organizer.'}</p>
<dl>
<dt>Starts</dt><dd>${escapeHtml(m.startDateTime)}</dd>
<dt>Ends</dt><dd>${escapeHtml(m.endDateTime)}</dd>
<dt>Organizer</dt><dd>${escapeHtml(m.participants.organizer.upn)}</dd>
<dt>External id</dt><dd><code>${escapeHtml(m.externalId)}</code></dd>
<dt>Meeting ID / passcode</dt><dd>${escapeHtml(m.joinMeetingIdSettings.joinMeetingId)} / ${escapeHtml(m.joinMeetingIdSettings.passcode)}</dd>
</dl>
</body></html>
`);
}

function meetPage(ctx) {
  return meetingPage(ctx, ctx.state.meetingsById.get(ctx.params.meetingId));
}

function meetupJoinPage(ctx) {
  let threadId;
  try {
    threadId = decodeURIComponent(ctx.params.thread);
  } catch {
    threadId = '';
  }
  return meetingPage(ctx, ctx.state.meetingsByThread.get(threadId));
}

function indexPage(ctx) {
  const records = [...ctx.state.meetingsById.values()];
  const rows = records.map(({ resource: m }) =>
    `<tr><td>${escapeHtml(m.subject ?? '')}</td><td><code>${escapeHtml(m.externalId)}</code></td>`
    + `<td><a href="/meet/${escapeHtml(m.id)}">provider</a> · <a href="/meet/${escapeHtml(m.id)}?role=patient">patient</a></td></tr>`).join('\n');
  const apps = [...ctx.state.apps.values()].map((a) =>
    `<li>tenant <code>${escapeHtml(a.tenantId)}</code>, client <code>${escapeHtml(a.clientId)}</code>: token endpoint <code>${escapeHtml(tokenEndpoint(ctx.origin, a.tenantId))}</code></li>`).join('\n');
  return html(200, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Visitgate video stand-in</title></head>
<body><h1>Visitgate video stand-in (Microsoft Teams via Graph)</h1>
<p>Graph base <code>${escapeHtml(graphBase(ctx.origin))}</code>. Request log:
<a href="/_video/requests">/_video/requests</a>; meetings as JSON: <a href="/_video/meetings">/_video/meetings</a>.</p>
<h2>Apps</h2><ul>
${apps}
</ul>
<h2>Meetings (${records.length})</h2>
<table border="1" cellpadding="4"><tr><th>Subject</th><th>External id</th><th>Links</th></tr>
${rows}
</table></body></html>
`);
}

// ---------------------------------------------------------------------------------------------
// Test hooks
// ---------------------------------------------------------------------------------------------

const hookError = (status, message) => json(status, { error: { code: 'BadRequest', message } });

async function readHookJson(ctx) {
  try {
    const value = JSON.parse(await readBody(ctx.req));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch (err) {
    if (err instanceof TooLarge) throw err;
    return undefined;
  }
}

async function registerAppHook(ctx) {
  const body = await readHookJson(ctx);
  if (!body) return hookError(400, 'body must be a JSON object {tenant_id, client_id, client_secret}');
  for (const name of ['tenant_id', 'client_id', 'client_secret']) {
    if (typeof body[name] !== 'string' || body[name] === '') return hookError(400, `${name} must be a non-empty string`);
  }
  if (/[/?#\s]/.test(body.tenant_id)) return hookError(400, 'tenant_id must not contain /, ?, # or spaces');
  const replaced = registerApp(ctx.state,
    { tenantId: body.tenant_id, clientId: body.client_id, clientSecret: body.client_secret });
  return json(replaced ? 200 : 201, {
    tenant_id: body.tenant_id,
    client_id: body.client_id,
    token_endpoint: tokenEndpoint(ctx.origin, body.tenant_id),
  });
}

async function failHook(ctx) {
  const body = await readHookJson(ctx);
  if (!body) return hookError(400, 'body must be a JSON object {count, status?}');
  const { count, status = 503 } = body;
  if (!Number.isInteger(count) || count < 0) return hookError(400, 'count must be a non-negative integer');
  if (!Number.isInteger(status) || status < 400 || status > 599) return hookError(400, 'status must be an integer 400..599');
  ctx.state.failures = { count, status };
  return json(200, { count, status });
}

function clearMeetings(ctx) {
  ctx.state.meetingsByKey.clear();
  ctx.state.meetingsById.clear();
  ctx.state.meetingsByThread.clear();
  return noContent();
}

function expireTokens(ctx) {
  for (const t of ctx.state.tokens.values()) t.expMs = 0;
  return noContent();
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

// Paths are matched (lib/routing.mjs) against regexes on the raw (still percent-encoded) path;
// named groups are decoded into ctx.params unless the route says `raw: true`.
const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: indexPage },
  // Entra ID
  { method: 'POST', path: /^\/(?<tenant>[^/_][^/]*)\/oauth2\/v2\.0\/token$/, handler: tokenEndpointHandler },
  // Graph
  {
    method: 'POST',
    path: /^\/v1\.0\/users\/(?<userId>[^/]+)\/onlineMeetings\/createOrGet$/,
    handler: createOrGet,
  },
  {
    method: 'GET',
    path: /^\/v1\.0\/users\/(?<userId>[^/]+)\/onlineMeetings\/(?<meetingId>[^/]+)$/,
    handler: getMeeting,
  },
  // Where meeting links land
  { method: 'GET', path: /^\/meet\/(?<meetingId>[^/]+)$/, handler: meetPage },
  { method: 'GET', path: /^\/l\/meetup-join\/(?<thread>[^/]+)\/[^/]+$/, handler: meetupJoinPage, raw: true },
  // Test hooks
  { method: 'GET', path: /^\/_video\/requests$/, handler: (ctx) => json(200, ctx.state.requests) },
  {
    method: 'DELETE',
    path: /^\/_video\/requests$/,
    handler: (ctx) => { ctx.state.requests.length = 0; return noContent(); },
  },
  {
    method: 'GET',
    path: /^\/_video\/meetings$/,
    handler: (ctx) => json(200, [...ctx.state.meetingsById.values()].map((r) => r.resource)),
  },
  { method: 'DELETE', path: /^\/_video\/meetings$/, handler: clearMeetings },
  { method: 'POST', path: /^\/_video\/apps$/, handler: registerAppHook },
  { method: 'POST', path: /^\/_video\/fail$/, handler: failHook },
  { method: 'DELETE', path: /^\/_video\/tokens$/, handler: expireTokens },
];

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const isInternal = hookPaths('/_video/');

// `signal` aborts when the client disconnects or the server closes (see lib/server.mjs).
async function handle(req, res, { origin, signal, options, state }) {
  const url = new URL(req.url, origin);
  const internal = isInternal(url.pathname);
  if (!internal) logRequest(state.requests, req, res, url, epochMs);

  const requestId = randomUUID();
  const clientRequestId = String(req.headers['client-request-id'] ?? requestId);
  const ctx = { req, url, params: {}, origin, options, state, signal, requestId, clientRequestId };
  try {
    if (options.delayMs > 0 && !internal) await wait(options.delayMs, signal);
    const match = matchRoute(ROUTES, req.method, url.pathname);
    let reply;
    if (!match) {
      reply = graphError(ctx, 404, 'NotFound', `Resource not found for the segment '${url.pathname}'.`);
    } else if (match.allowed) {
      reply = graphError(ctx, 405, 'BadRequest', `The HTTP method '${req.method}' is not allowed on ${url.pathname}.`);
      reply.headers.allow = match.allowed.join(', ');
    } else {
      ctx.params = match.params;
      reply = await match.route.handler(ctx);
    }
    send(res, reply);
  } catch (err) {
    if (signal.aborted) return; // nobody left to answer
    if (err instanceof TooLarge) {
      send(res, graphError(ctx, 413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`));
      return;
    }
    send(res, graphError(ctx, 500, 'InternalServerError', String(err?.stack ?? err)));
  }
}

/**
 * Start the stand-in. Resolves once listening. One app is registered from the options
 * (defaults: tenant `contoso-tenant`, client `visitgate-dev`, secret `dev-secret`).
 * @param {{port?: number, host?: string, delayMs?: number,
 *          clientId?: string, clientSecret?: string, tenantId?: string}} [opts]
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startVideoStandIn({
  port = 0,
  host = '127.0.0.1',
  delayMs = 0,
  clientId = DEFAULT_APP.clientId,
  clientSecret = DEFAULT_APP.clientSecret,
  tenantId = DEFAULT_APP.tenantId,
} = {}) {
  const options = { delayMs };
  const state = {
    requests: [],
    apps: new Map(), // appKey(tenant, client) → {tenantId, clientId, clientSecret}
    tokens: new Map(), // access token → {tenantId, clientId, expMs}
    signingKey: randomBytes(32),
    meetingsByKey: new Map(), // meetingKey(tenant, user, externalId) → record
    meetingsById: new Map(), // Graph meeting id → record (insertion order = creation order)
    meetingsByThread: new Map(), // chat thread id → record (for joinWebUrl pages)
    failures: { count: 0, status: 503 },
  };
  registerApp(state, { tenantId, clientId, clientSecret });

  const { url, close } = await startServer({
    port,
    host,
    onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, options, state }),
  });

  return { url, close };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

runIfMain(import.meta.url, 'video', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8792' },
      host: { type: 'string', default: '127.0.0.1' },
      'delay-ms': { type: 'string', default: '0' },
      'client-id': { type: 'string', default: DEFAULT_APP.clientId },
      'client-secret': { type: 'string', default: DEFAULT_APP.clientSecret },
      'tenant-id': { type: 'string', default: DEFAULT_APP.tenantId },
    },
  });
  return startVideoStandIn({
    port: toInt('port', values.port),
    host: values.host,
    delayMs: toInt('delay-ms', values['delay-ms']),
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    tenantId: values['tenant-id'],
  });
});
