// Self-test for the video stand-in (Teams via Graph): `node --test tests/standins/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startVideoStandIn, DEFAULT_APP, GRAPH_SCOPE, tokenEndpoint, graphBase } from './video.mjs';
import { startCli } from './lib/testing.mjs';

let video;
before(async () => { video = await startVideoStandIn({ port: 0 }); });
after(async () => { await video?.close(); });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const USER = '1f35f2e6-9cab-44ad-8d5a-b74c14720000';
let seq = 0;
const uniqueId = (prefix = 'visit') => `${prefix}-${process.pid}-${++seq}`;

function tokenRequest(origin, { tenantId = DEFAULT_APP.tenantId, headers = {}, ...fields } = {}) {
  const form = {
    grant_type: 'client_credentials',
    client_id: DEFAULT_APP.clientId,
    client_secret: DEFAULT_APP.clientSecret,
    scope: GRAPH_SCOPE,
    ...fields,
  };
  for (const [k, v] of Object.entries(form)) if (v === undefined) delete form[k];
  return fetch(tokenEndpoint(origin, tenantId), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
}

async function getToken(origin = video.url, opts = {}) {
  const res = await tokenRequest(origin, opts);
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

function meetingBody(overrides = {}) {
  return {
    externalId: uniqueId(),
    startDateTime: '2030-02-06T01:49:21.3524945+00:00',
    endDateTime: '2030-02-06T02:19:21.3524945+00:00',
    subject: 'Video visit',
    participants: { attendees: [{ identity: { user: { id: 'a1b2' } }, upn: 'clinician@contoso.com' }] },
    ...overrides,
  };
}

async function createOrGet({ origin = video.url, token, userId = USER, body = meetingBody(), headers = {} } = {}) {
  const res = await fetch(`${graphBase(origin)}/users/${encodeURIComponent(userId)}/onlineMeetings/createOrGet`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text };
}

const hook = (path, method = 'GET', body) => fetch(`${video.url}/_video/${path}`, {
  method,
  headers: body === undefined ? {} : { 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

function assertGraphError(res, status, code) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  const { error } = res.body;
  assert.equal(error.code, code);
  assert.equal(typeof error.message, 'string');
  assert.match(error.innerError.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  assert.match(error.innerError['request-id'], UUID);
  assert.equal(typeof error.innerError['client-request-id'], 'string');
  assert.equal(res.headers.get('request-id'), error.innerError['request-id']);
}

function assertEntraError(body, error, code) {
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [code]);
  assert.ok(body.error_description.startsWith(`AADSTS${code}: `), body.error_description);
  assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  assert.match(body.trace_id, UUID);
  assert.match(body.correlation_id, UUID);
  assert.ok(body.error_description.includes(`Trace ID: ${body.trace_id}`));
  assert.ok(body.error_description.includes(`Correlation ID: ${body.correlation_id}`));
}

// ---------------------------------------------------------------------------------------------
// Entra token endpoint
// ---------------------------------------------------------------------------------------------

test('token: client credentials with the default app give a Graph bearer token', async () => {
  const res = await tokenRequest(video.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3599);
  assert.equal(body.ext_expires_in, 3599);
  const parts = body.access_token.split('.');
  assert.equal(parts.length, 3, 'JWT-shaped');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(claims.tid, DEFAULT_APP.tenantId);
  assert.equal(claims.appid, DEFAULT_APP.clientId);
  assert.deepEqual(claims.roles, ['OnlineMeetings.ReadWrite.All']);
  assert.ok(Math.abs(claims.exp - (Date.now() / 1000 + 3599)) < 5);
  // Each call issues a new token.
  assert.notEqual(await getToken(), body.access_token);
});

test('token: client_secret_basic works as well as the form secret', async () => {
  const basic = Buffer.from(`${DEFAULT_APP.clientId}:${DEFAULT_APP.clientSecret}`).toString('base64');
  const res = await tokenRequest(video.url, {
    client_id: undefined, client_secret: undefined, headers: { authorization: `Basic ${basic}` },
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).token_type, 'Bearer');
});

test('token: wrong secret is 401 invalid_client AADSTS7000215', async () => {
  const res = await tokenRequest(video.url, { client_secret: 'wrong' });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  const body = await res.json();
  assertEntraError(body, 'invalid_client', 7000215);
  assert.ok(body.error_description.includes('Invalid client secret provided.'));
  assert.equal(body.access_token, undefined);
});

test('token: other Entra failures', async () => {
  const cases = [
    [{ client_secret: undefined }, 401, 'invalid_client', 7000218],
    [{ client_id: 'someone-else' }, 400, 'unauthorized_client', 700016],
    [{ tenantId: 'fabrikam-tenant' }, 400, 'invalid_request', 90002],
    [{ grant_type: undefined }, 400, 'invalid_request', 900144],
    [{ grant_type: 'authorization_code' }, 400, 'unsupported_grant_type', 70003],
    [{ scope: undefined }, 400, 'invalid_request', 900144],
    [{ scope: 'OnlineMeetings.ReadWrite.All' }, 400, 'invalid_scope', 1002012],
    [{ scope: 'https://example.com/.default' }, 400, 'invalid_resource', 500011],
  ];
  for (const [opts, status, error, code] of cases) {
    const res = await tokenRequest(video.url, opts);
    assert.equal(res.status, status, JSON.stringify(opts));
    assertEntraError(await res.json(), error, code);
  }
  // Graph's appId as the resource is the same scope.
  assert.equal((await tokenRequest(video.url, { scope: '00000003-0000-0000-c000-000000000000/.default' })).status, 200);
});

test('token: apps registered through /_video/apps get tokens in their own tenant', async () => {
  const app = { tenant_id: 'fabrikam-hooks', client_id: 'vg-prod', client_secret: 's3cret' };
  const reg = await hook('apps', 'POST', app);
  assert.equal(reg.status, 201);
  assert.deepEqual(await reg.json(), {
    tenant_id: app.tenant_id, client_id: app.client_id, token_endpoint: tokenEndpoint(video.url, app.tenant_id),
  });
  const res = await tokenRequest(video.url, { tenantId: app.tenant_id, client_id: app.client_id, client_secret: app.client_secret });
  assert.equal(res.status, 200);
  // Wrong tenant for that app: the default tenant does not know it.
  assertEntraError(await (await tokenRequest(video.url, { client_id: app.client_id, client_secret: app.client_secret })).json(),
    'unauthorized_client', 700016);
  // Registering again replaces the secret.
  const again = await hook('apps', 'POST', { ...app, client_secret: 'rotated' });
  assert.equal(again.status, 200);
  await again.body?.cancel();
  assert.equal((await tokenRequest(video.url, { tenantId: app.tenant_id, client_id: app.client_id, client_secret: 's3cret' })).status, 401);
  assert.equal((await tokenRequest(video.url, { tenantId: app.tenant_id, client_id: app.client_id, client_secret: 'rotated' })).status, 200);
  // Bad registrations.
  for (const bad of [{}, { ...app, client_secret: '' }, { ...app, tenant_id: 'a/b' }]) {
    const r = await hook('apps', 'POST', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal((await r.json()).error.code, 'BadRequest');
  }
});

test('options: clientId / clientSecret / tenantId replace the default app', async () => {
  const s = await startVideoStandIn({ clientId: 'c1', clientSecret: 'p1', tenantId: 't1' });
  try {
    assert.equal((await tokenRequest(s.url, { tenantId: 't1', client_id: 'c1', client_secret: 'p1' })).status, 200);
    assert.equal((await tokenRequest(s.url)).status, 400); // contoso-tenant unknown here
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Graph createOrGet
// ---------------------------------------------------------------------------------------------

test('createOrGet: first call 201 with a Graph onlineMeeting, second call 200 with the same meeting', async () => {
  const token = await getToken();
  const body = meetingBody({ lobbyBypassSettings: { scope: 'everyone', isDialInBypassEnabled: true } });
  const first = await createOrGet({ token, body, headers: { 'client-request-id': 'my-client-request' } });
  assert.equal(first.status, 201, first.text);
  assert.match(first.headers.get('content-type'), /^application\/json;odata\.metadata=minimal/);
  assert.equal(first.headers.get('client-request-id'), 'my-client-request');
  assert.match(first.headers.get('request-id'), UUID);
  const m = first.body;

  assert.equal(m['@odata.context'], `${video.url}/v1.0/$metadata#users('${USER}')/onlineMeetings/$entity`);
  assert.match(m.id, /^[A-Za-z0-9_-]{40,}$/);
  const decodedId = Buffer.from(m.id, 'base64url').toString();
  assert.equal(decodedId, `1*${USER}*0**${m.chatInfo.threadId}`);
  assert.match(m.chatInfo.threadId, /^19:meeting_[A-Za-z0-9+/]+@thread\.v2$/);
  assert.deepEqual(m.chatInfo, { threadId: m.chatInfo.threadId, messageId: '0', replyChainMessageId: null });
  assert.equal(m.startDateTime, '2030-02-06T01:49:21.3520000Z');
  assert.equal(m.endDateTime, '2030-02-06T02:19:21.3520000Z');
  assert.ok(Math.abs(Date.parse(m.creationDateTime) - Date.now()) < 5000);
  assert.equal(m.subject, 'Video visit');
  assert.equal(m.externalId, body.externalId);
  assert.equal(m.isBroadcast, false);
  assert.equal(m.autoAdmittedUsers, 'EveryoneInCompany');
  assert.deepEqual(m.lobbyBypassSettings, { scope: 'everyone', isDialInBypassEnabled: true });
  assert.match(m.videoTeleconferenceId, /^\d{10}$/);
  assert.equal(m.joinMeetingIdSettings.isPasscodeRequired, true);
  assert.match(m.joinMeetingIdSettings.joinMeetingId, /^\d{12}$/);
  assert.match(m.joinMeetingIdSettings.passcode, /^[A-Za-z0-9]{6}$/);
  assert.deepEqual(m.participants.organizer, {
    upn: `${USER}@${DEFAULT_APP.tenantId}.onmicrosoft.com`,
    role: 'presenter',
    identity: { user: { id: USER, displayName: null, tenantId: DEFAULT_APP.tenantId, identityProvider: 'AAD' } },
  });
  assert.deepEqual(m.participants.attendees,
    [{ identity: { user: { id: 'a1b2' } }, upn: 'clinician@contoso.com', role: 'attendee' }]);

  // Join links live on this server and land on the meeting page.
  assert.equal(m.joinUrl, m.joinWebUrl);
  const thread = encodeURIComponent(m.chatInfo.threadId).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  assert.ok(m.joinWebUrl.startsWith(`${video.url}/l/meetup-join/${thread}/0?context=`), m.joinWebUrl);
  assert.ok(m.joinWebUrl.startsWith(`${video.url}/l/meetup-join/19%3ameeting_`));
  const context = JSON.parse(new URL(m.joinWebUrl).searchParams.get('context'));
  assert.deepEqual(context, { Tid: DEFAULT_APP.tenantId, Oid: USER });

  // Same externalId again (even with other details): the same meeting, 200.
  const second = await createOrGet({ token, body: { ...body, subject: 'changed' } });
  assert.equal(second.status, 200);
  assert.deepEqual(second.body, m);
  // A fresh token for the same app sees the same meeting too.
  const third = await createOrGet({ token: await getToken(), body });
  assert.equal(third.status, 200);
  assert.equal(third.body.id, m.id);
});

test('createOrGet: 20 concurrent calls for one externalId create exactly one meeting', async () => {
  const token = await getToken();
  const body = meetingBody();
  const results = await Promise.all(Array.from({ length: 20 }, () => createOrGet({ token, body })));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [...Array(19).fill(200), 201]);
  const ids = new Set(results.map((r) => r.body.id));
  assert.equal(ids.size, 1);
  const all = await (await hook('meetings')).json();
  assert.equal(all.filter((x) => x.externalId === body.externalId).length, 1);
});

test('createOrGet: 20 concurrent calls with a response delay still create exactly one meeting', async () => {
  const s = await startVideoStandIn({ delayMs: 50 });
  try {
    const token = await getToken(s.url);
    const body = meetingBody();
    const results = await Promise.all(Array.from({ length: 20 }, () => createOrGet({ origin: s.url, token, body })));
    assert.deepEqual(results.map((r) => r.status).sort(), [...Array(19).fill(200), 201]);
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    assert.equal((await fetch(`${s.url}/_video/meetings`).then((r) => r.json())).length, 1);
  } finally {
    await s.close();
  }
});

test('createOrGet: different users, externalIds or tenants give different meetings', async () => {
  const token = await getToken();
  const externalId = uniqueId('shared');
  const a = await createOrGet({ token, userId: 'user-a', body: meetingBody({ externalId }) });
  const b = await createOrGet({ token, userId: 'user-b', body: meetingBody({ externalId }) });
  const c = await createOrGet({ token, userId: 'user-a', body: meetingBody() });
  await hook('apps', 'POST', { tenant_id: 'other-tenant', client_id: 'vg', client_secret: 'x' }).then((r) => r.body?.cancel());
  const otherToken = await getToken(video.url, { tenantId: 'other-tenant', client_id: 'vg', client_secret: 'x' });
  const d = await createOrGet({ token: otherToken, userId: 'user-a', body: meetingBody({ externalId }) });
  for (const r of [a, b, c, d]) assert.equal(r.status, 201);
  assert.equal(new Set([a, b, c, d].map((r) => r.body.id)).size, 4);
  assert.equal(new Set([a, b, c, d].map((r) => r.body.joinWebUrl)).size, 4);
  assert.equal(d.body.participants.organizer.identity.user.tenantId, 'other-tenant');
});

test('createOrGet: missing or invalid bearer tokens are 401 InvalidAuthenticationToken', async () => {
  const cases = [
    [undefined, 'Access token is empty.'],
    ['not-a-jwt', /^IDX14100/],
    ['aaa.bbb.ccc', /validation failure/],
  ];
  for (const [token, message] of cases) {
    const res = await createOrGet({ token });
    assertGraphError(res, 401, 'InvalidAuthenticationToken');
    if (typeof message === 'string') assert.equal(res.body.error.message, message);
    else assert.match(res.body.error.message, message);
    assert.match(res.headers.get('www-authenticate'), /^Bearer /);
  }
  const basic = await createOrGet({ headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assertGraphError(basic, 401, 'InvalidAuthenticationToken');
});

test('createOrGet: expired tokens are 401; a new token works', async () => {
  const s = await startVideoStandIn();
  try {
    const token = await getToken(s.url);
    assert.equal((await createOrGet({ origin: s.url, token })).status, 201);
    assert.equal((await fetch(`${s.url}/_video/tokens`, { method: 'DELETE' })).status, 204);
    const res = await createOrGet({ origin: s.url, token });
    assertGraphError(res, 401, 'InvalidAuthenticationToken');
    assert.match(res.body.error.message, /expired/);
    assert.equal((await createOrGet({ origin: s.url, token: await getToken(s.url) })).status, 201);
  } finally {
    await s.close();
  }
});

test('createOrGet: invalid bodies are 400 BadRequest and create nothing', async () => {
  const token = await getToken();
  const before = (await (await hook('meetings')).json()).length;
  const valid = meetingBody();
  const { externalId: _e, ...noExternal } = valid;
  const { startDateTime: _s, ...noStart } = valid;
  const { endDateTime: _x, ...noEnd } = valid;
  const bodies = [
    '{not json',
    '',
    '[1,2]',
    'null',
    noExternal,
    { ...valid, externalId: '' },
    { ...valid, externalId: 42 },
    noStart,
    noEnd,
    { ...valid, startDateTime: 'tomorrow' },
    { ...valid, endDateTime: '2030-02-06T01:00:00Z' }, // before the start
    { ...valid, participants: { attendees: 'nobody' } },
  ];
  for (const body of bodies) {
    const res = await createOrGet({ token, body });
    assertGraphError(res, 400, 'BadRequest');
  }
  const invalidJson = await createOrGet({ token, body: '{not json' });
  assert.match(invalidJson.body.error.message, /Unable to read JSON request payload/);
  assert.equal((await (await hook('meetings')).json()).length, before);
});

test('createOrGet: POST /_video/fail makes the next N calls fail, then it recovers', async () => {
  const token = await getToken();
  const set = await hook('fail', 'POST', { count: 2, status: 503 });
  assert.equal(set.status, 200);
  assert.deepEqual(await set.json(), { count: 2, status: 503 });
  const body = meetingBody();
  // Unauthenticated calls do not use up an injected failure.
  assert.equal((await createOrGet({ body })).status, 401);
  for (let i = 0; i < 2; i++) {
    const res = await createOrGet({ token, body });
    assertGraphError(res, 503, 'ServiceUnavailable');
    assert.equal(res.headers.get('retry-after'), '1');
  }
  const ok = await createOrGet({ token, body });
  assert.equal(ok.status, 201, 'the failed calls created nothing');

  await hook('fail', 'POST', { count: 1, status: 429 }).then((r) => r.body?.cancel());
  const throttled = await createOrGet({ token, body });
  assertGraphError(throttled, 429, 'TooManyRequests');
  assert.equal(throttled.headers.get('retry-after'), '1');
  assert.equal((await createOrGet({ token, body })).status, 200);

  await hook('fail', 'POST', { count: 1 }).then((r) => r.body?.cancel()); // status defaults to 503
  assert.equal((await createOrGet({ token, body })).status, 503);

  for (const bad of [{}, { count: -1 }, { count: 1.5 }, { count: 1, status: 200 }]) {
    const r = await hook('fail', 'POST', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    await r.body?.cancel();
  }
});

// ---------------------------------------------------------------------------------------------
// Graph GET meeting and pages
// ---------------------------------------------------------------------------------------------

test('GET onlineMeetings/{id}: the meeting for its organizer, 404 otherwise', async () => {
  const token = await getToken();
  const created = (await createOrGet({ token })).body;
  const get = (userId, id, t = token) => fetch(`${graphBase(video.url)}/users/${userId}/onlineMeetings/${id}`,
    { headers: t ? { authorization: `Bearer ${t}` } : {} })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));

  const ok = await get(USER, created.id);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, created);
  assertGraphError(await get(USER, 'MSpub3RoZXJl'), 404, 'NotFound');
  assertGraphError(await get('someone-else', created.id), 404, 'NotFound');
  assertGraphError(await get(USER, created.id, null), 401, 'InvalidAuthenticationToken');
});

test('meeting pages: /meet/{id} and the joinWebUrl show provider or patient view', async () => {
  const token = await getToken();
  const m = (await createOrGet({ token, body: meetingBody({ subject: 'Follow-up <Smith>' }) })).body;
  const page = async (url) => {
    const res = await fetch(url);
    assert.match(res.headers.get('content-type'), /^text\/html\b/);
    return { status: res.status, text: await res.text() };
  };
  const patientUrl = new URL(m.joinWebUrl);
  patientUrl.searchParams.set('role', 'patient');
  for (const [url, role] of [
    [`${video.url}/meet/${m.id}`, 'provider'],
    [`${video.url}/meet/${m.id}?role=patient`, 'patient'],
    [m.joinWebUrl, 'provider'],
    [patientUrl.href, 'patient'],
  ]) {
    const { status, text } = await page(url);
    assert.equal(status, 200, url);
    assert.ok(text.includes('<title>Teams meeting stand-in: Follow-up &lt;Smith&gt;</title>'), url);
    assert.ok(text.includes(`<p id="role" data-role="${role}">`), `${url} → ${role}`);
    assert.ok(text.includes(`<strong>${role}</strong> link`), url);
  }
  assert.equal((await page(`${video.url}/meet/nope`)).status, 404);
  assert.equal((await page(`${video.url}/l/meetup-join/19%3ameeting_nope%40thread.v2/0`)).status, 404);
  const index = await page(`${video.url}/`);
  assert.ok(index.text.includes(`/meet/${m.id}?role=patient`));
});

test('unknown paths are Graph 404s; wrong methods 405', async () => {
  const res = await fetch(`${video.url}/v1.0/me/onlineMeetings/createOrGet`, { method: 'POST' });
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'NotFound');
  const wrong = await fetch(tokenEndpoint(video.url));
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
  await wrong.body?.cancel();
});

// ---------------------------------------------------------------------------------------------
// Hooks: request log, meetings, delay
// ---------------------------------------------------------------------------------------------

test('request log: method, path, at, start_ms <= end_ms, status; hooks are not logged', async () => {
  const s = await startVideoStandIn({ delayMs: 100 });
  try {
    const token = await getToken(s.url);
    const t0 = Date.now();
    await createOrGet({ origin: s.url, token });
    await fetch(`${s.url}/_video/meetings`).then((r) => r.json());
    await fetch(`${s.url}/missing?x=1`).then((r) => r.body?.cancel());
    const log = await fetch(`${s.url}/_video/requests`).then((r) => r.json());
    assert.deepEqual(log.map(({ method, path, status }) => ({ method, path, status })), [
      { method: 'POST', path: `/${DEFAULT_APP.tenantId}/oauth2/v2.0/token`, status: 200 },
      { method: 'POST', path: `/v1.0/users/${USER}/onlineMeetings/createOrGet`, status: 201 },
      { method: 'GET', path: '/missing?x=1', status: 404 },
    ]);
    for (const e of log) {
      assert.deepEqual(Object.keys(e).sort(), ['at', 'end_ms', 'method', 'path', 'start_ms', 'status']);
      assert.ok(e.at.endsWith('Z') && !Number.isNaN(Date.parse(e.at)));
      assert.equal(typeof e.start_ms, 'number');
      assert.equal(typeof e.end_ms, 'number');
      assert.ok(e.end_ms - e.start_ms >= 95, `delay included: ${e.end_ms - e.start_ms}`);
      assert.ok(Math.abs(Date.parse(e.at) - e.start_ms) < 1, 'at and start_ms agree');
    }
    assert.ok(Math.abs(log[1].start_ms - t0) < 1000, 'epoch milliseconds');
    assert.ok(log[1].start_ms <= log[2].start_ms);
    assert.equal((await fetch(`${s.url}/_video/requests`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await fetch(`${s.url}/_video/requests`).then((r) => r.json()), []);
  } finally {
    await s.close();
  }
});

test('delayMs delays Graph and token answers but not /_video/*', async () => {
  const s = await startVideoStandIn({ delayMs: 200 });
  try {
    let t = Date.now();
    const token = await getToken(s.url);
    assert.ok(Date.now() - t >= 195);
    t = Date.now();
    await createOrGet({ origin: s.url, token });
    assert.ok(Date.now() - t >= 195);
    t = Date.now();
    for (const path of ['requests', 'meetings']) await fetch(`${s.url}/_video/${path}`).then((r) => r.json());
    await fetch(`${s.url}/_video/fail`, { method: 'POST', body: '{"count":0}' }).then((r) => r.json());
    assert.ok(Date.now() - t < 200);
  } finally {
    await s.close();
  }
});

test('GET/DELETE /_video/meetings list and forget meetings', async () => {
  const s = await startVideoStandIn();
  try {
    const token = await getToken(s.url);
    const a = (await createOrGet({ origin: s.url, token })).body;
    const b = (await createOrGet({ origin: s.url, token, userId: 'u2' })).body;
    assert.deepEqual(await fetch(`${s.url}/_video/meetings`).then((r) => r.json()), [a, b]);
    assert.equal((await fetch(`${s.url}/_video/meetings`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await fetch(`${s.url}/_video/meetings`).then((r) => r.json()), []);
    // The same externalId now creates a new meeting.
    assert.equal((await createOrGet({ origin: s.url, token, body: meetingBody({ externalId: a.externalId }) })).status, 201);
  } finally {
    await s.close();
  }
});

test('close() resolves promptly even with a delayed request in flight', async () => {
  const s = await startVideoStandIn({ delayMs: 60_000 });
  const pending = tokenRequest(s.url).then(() => 'answered', () => 'failed');
  await new Promise((r) => setTimeout(r, 100)); // let the request reach the server
  const t = Date.now();
  await s.close();
  assert.ok(Date.now() - t < 1000, 'close() did not wait for the delayed request');
  assert.equal(await pending, 'failed');
  await assert.rejects(fetch(`${s.url}/`));
  await s.close(); // idempotent
});

test('CLI prints READY, takes app credentials, and exits on SIGTERM', async () => {
  const cli = await startCli(new URL('./video.mjs', import.meta.url),
    ['--port', '0', '--client-id', 'cli-app', '--client-secret', 'cli-secret', '--tenant-id', 'cli-tenant']);
  const res = await tokenRequest(cli.url, { tenantId: 'cli-tenant', client_id: 'cli-app', client_secret: 'cli-secret' });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await cli.stop();
});
