// Self-test for the EHR sandbox: `node --test tests/standins/*.selftest.mjs` (a bare directory runs nothing on Node 20, fails on 22).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, verify as cryptoVerify,
} from 'node:crypto';

import {
  startEhrSandbox, TENANTS, fhirBase, DEMO, SENSITIVE_VALUES, SERVER_TENANTS, INSUFFICIENT_SCOPES,
} from './ehr-sandbox.mjs';
import { startCli } from './lib/testing.mjs';
import { decodeJwt, verifyJwtSignature } from './ehr/jwt.mjs';

const SLOW_MS = 300;
const fixture = JSON.parse(readFileSync(
  new URL('../fixtures/oracle-health/smart-configuration.json', import.meta.url), 'utf8'));

let sandbox;
before(async () => { sandbox = await startEhrSandbox({ port: 0, slowMs: SLOW_MS }); });
after(async () => { await sandbox?.close(); });

const smartUrl = (name) => `${fhirBase(sandbox.url, name)}/.well-known/smart-configuration`;
const metadataUrl = (name) => `${fhirBase(sandbox.url, name)}/metadata`;

async function getJson(url, expectType) {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  assert.match(res.headers.get('content-type'), expectType, url);
  return res.json();
}
const getSmart = (name) => getJson(smartUrl(name), /^application\/json\b/);
const getMetadata = (name) => getJson(metadataUrl(name), /^application\/fhir\+json\b/);

function oauthUris(capability) {
  const ext = capability.rest[0].security.extension.find(
    (e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  assert.ok(ext, 'oauth-uris extension present');
  return Object.fromEntries(ext.extension.map((e) => [e.url, e.valueUri]));
}

test('tenant ids are fixed, distinct UUIDs; good is the Oracle sandbox tenant', () => {
  assert.equal(TENANTS.good, 'ec2458f2-1e24-41c8-b71b-0e701af7583d');
  const ids = Object.values(TENANTS);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const name of ['good', 'good2', 'good3', 'good4', 'notfound', 'html', 'nos256', 'slow',
    'metadataonly', 'dstu2', 'nolaunch']) assert.ok(TENANTS[name], name);
});

test('good: SMART configuration has the fixture shape, on the sandbox origin', async () => {
  const doc = await getSmart('good');
  const id = TENANTS.good;
  const o = sandbox.url;
  assert.deepEqual(Object.keys(doc).sort(), Object.keys(fixture).sort());
  assert.equal(doc.issuer, `${o}/tenants/${id}`);
  assert.equal(doc.authorization_endpoint,
    `${o}/tenants/${id}/protocols/oauth2/profiles/smart-v1/personas/provider/authorize`);
  assert.equal(doc.token_endpoint,
    `${o}/tenants/${id}/hosts/127.0.0.1/protocols/oauth2/profiles/smart-v1/token`);
  assert.equal(doc.revocation_endpoint, `${o}/tenants/${id}/protocols/oauth2/profiles/smart-v1/token/revoke`);
  assert.equal(doc.jwks_uri, `${o}/jwk`);
  assert.equal(doc.management_endpoint, `${o}/tenants/${id}/personas/provider/my-authorizations`);
  assert.equal(doc.introspection_endpoint, `${o}/tokeninfo`);
  // Every non-URL field is copied from the fixture verbatim.
  for (const [key, value] of Object.entries(fixture)) {
    if (typeof value !== 'string') assert.deepEqual(doc[key], value, key);
  }
  assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
});

test('good2..good4: valid and distinct from good', async () => {
  for (const name of ['good2', 'good3', 'good4']) {
    const doc = await getSmart(name);
    assert.equal(doc.issuer, `${sandbox.url}/tenants/${TENANTS[name]}`);
    assert.ok(doc.capabilities.includes('launch-ehr'));
    assert.equal((await getMetadata(name)).fhirVersion, '4.0.1');
  }
});

test('good: CapabilityStatement is R4 with SMART security and oauth-uris', async () => {
  const cap = await getMetadata('good');
  assert.equal(cap.resourceType, 'CapabilityStatement');
  assert.equal(cap.fhirVersion, '4.0.1');
  assert.equal(cap.status, 'active');
  assert.equal(cap.kind, 'instance');
  assert.deepEqual(cap.format, ['json']);
  const rest = cap.rest[0];
  assert.equal(rest.mode, 'server');
  assert.ok(rest.security.service.some((s) => s.coding.some((c) =>
    c.system === 'http://terminology.hl7.org/CodeSystem/restful-security-service' && c.code === 'SMART-on-FHIR')));
  const smart = await getSmart('good');
  const uris = oauthUris(cap);
  assert.equal(uris.authorize, smart.authorization_endpoint);
  assert.equal(uris.token, smart.token_endpoint);
  assert.equal(uris.revoke, smart.revocation_endpoint);
  for (const type of ['Appointment', 'Encounter', 'Patient', 'Practitioner']) {
    const r = rest.resource.find((x) => x.type === type);
    assert.ok(r, type);
    assert.deepEqual(r.interaction.map((i) => i.code).sort(), ['read', 'search-type']);
  }
});

test('notfound: both endpoints 404 with an OperationOutcome', async () => {
  for (const url of [smartUrl('notfound'), metadataUrl('notfound')]) {
    const res = await fetch(url);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).resourceType, 'OperationOutcome');
  }
});

test('html: both endpoints answer 200 text/html', async () => {
  for (const url of [smartUrl('html'), metadataUrl('html')]) {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html\b/);
    assert.match(await res.text(), /<form/);
  }
});

test('nos256: PKCE offers plain only', async () => {
  assert.deepEqual((await getSmart('nos256')).code_challenge_methods_supported, ['plain']);
});

test('nolaunch: capabilities lack launch-ehr but keep the rest', async () => {
  const caps = (await getSmart('nolaunch')).capabilities;
  assert.ok(!caps.includes('launch-ehr'));
  assert.ok(caps.includes('sso-openid-connect'));
});

test('metadataonly: no smart-configuration, metadata has oauth-uris', async () => {
  assert.equal((await fetch(smartUrl('metadataonly'))).status, 404);
  const uris = oauthUris(await getMetadata('metadataonly'));
  assert.equal(uris.authorize,
    `${sandbox.url}/tenants/${TENANTS.metadataonly}/protocols/oauth2/profiles/smart-v1/personas/provider/authorize`);
  assert.ok(uris.token && uris.revoke);
});

test('dstu2: SMART config valid, metadata says 1.0.2', async () => {
  assert.deepEqual((await getSmart('dstu2')).code_challenge_methods_supported, ['S256']);
  assert.equal((await getMetadata('dstu2')).fhirVersion, '1.0.2');
});

test('slow: waits slowMs without blocking other requests', async () => {
  const started = Date.now();
  const slow = getSmart('slow').then(() => Date.now() - started);
  const fastElapsed = await getSmart('good').then(() => Date.now() - started);
  const slowElapsed = await slow;
  assert.ok(slowElapsed >= SLOW_MS, `slow took ${slowElapsed} ms`);
  assert.ok(fastElapsed < SLOW_MS, `good took ${fastElapsed} ms while slow was pending`);
  assert.equal((await getMetadata('slow')).fhirVersion, '4.0.1');
});

test('unknown paths and tenants 404 with OperationOutcome; wrong method 405', async () => {
  for (const path of ['/nope', `/r4/00000000-0000-4000-8000-000000000000/metadata`, `/r4/${TENANTS.good}/Observation/1`,
    `/r4/${TENANTS.nos256}/Patient/1`]) {
    const res = await fetch(sandbox.url + path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).resourceType, 'OperationOutcome');
  }
  const res = await fetch(metadataUrl('good'), { method: 'POST' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
  await res.body?.cancel();
});

test('index page lists every base; /jwk leads with its RS256 key, each key with a kid', async () => {
  const res = await fetch(`${sandbox.url}/`);
  assert.match(res.headers.get('content-type'), /^text\/html\b/);
  const page = await res.text();
  for (const name of Object.keys(TENANTS)) {
    assert.ok(page.includes(fhirBase(sandbox.url, name)), name);
    assert.ok(page.includes(`<b>${name}</b>`), name);
  }
  const { keys } = await getJson(`${sandbox.url}/jwk`, /^application\/json\b/);
  assert.equal(keys.length, 4, 'RS256, then one key for each other algorithm');
  assert.ok(keys.every((k) => k.kid && k.use === 'sig'));
  assert.deepEqual(Object.keys(keys[0]).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
  assert.equal(keys[0].kty, 'RSA');
  assert.equal(keys[0].alg, 'RS256');
});

test('request log records requests (not its own) and can be cleared', async () => {
  const del = await fetch(`${sandbox.url}/_sandbox/requests`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  await getSmart('good');
  await fetch(`${sandbox.url}/missing?x=1`).then((r) => r.body?.cancel());
  const log = await getJson(`${sandbox.url}/_sandbox/requests`, /^application\/json\b/);
  assert.deepEqual(log.map(({ method, path }) => ({ method, path })), [
    { method: 'GET', path: `/r4/${TENANTS.good}/.well-known/smart-configuration` },
    { method: 'GET', path: '/missing?x=1' },
  ]);
  for (const entry of log) assert.ok(!Number.isNaN(Date.parse(entry.at)) && entry.at.endsWith('Z'));
});

test('delayMs delays tenant responses but not /_sandbox/*', async () => {
  const delayed = await startEhrSandbox({ port: 0, delayMs: 200 });
  try {
    let t = Date.now();
    await fetch(`${delayed.url}/r4/${TENANTS.good}/metadata`).then((r) => r.json());
    assert.ok(Date.now() - t >= 200);
    t = Date.now();
    await fetch(`${delayed.url}/_sandbox/requests`).then((r) => r.json());
    assert.ok(Date.now() - t < 200);
  } finally {
    await delayed.close();
  }
});

test('close() resolves promptly even with a slow request in flight', async () => {
  const s = await startEhrSandbox({ port: 0, slowMs: 60_000 });
  const pending = fetch(`${s.url}/r4/${TENANTS.slow}/metadata`).then(() => 'answered', () => 'failed');
  await new Promise((r) => setTimeout(r, 100)); // let the request reach the server
  const t = Date.now();
  await s.close();
  assert.ok(Date.now() - t < 1000, 'close() did not wait for the slow request');
  assert.equal(await pending, 'failed');
  await assert.rejects(fetch(`${s.url}/`));
  await s.close(); // idempotent
});

test('CLI prints READY and exits on SIGTERM', async () => {
  const cli = await startCli(new URL('./ehr-sandbox.mjs', import.meta.url), ['--port', '0', '--sms', 'http://127.0.0.1:8799']);
  assert.equal((await fetch(`${cli.url}/r4/${TENANTS.good}/metadata`).then((r) => r.json())).fhirVersion, '4.0.1');
  assert.ok((await fetch(`${cli.url}/`).then((r) => r.text())).includes('<a href="http://127.0.0.1:8799">'));
  await cli.stop();
});

// ---------------------------------------------------------------------------------------------
// Authorization server + FHIR server (good, good2, good3, good4)
// ---------------------------------------------------------------------------------------------

const SCOPE = 'launch openid fhirUser user/Patient.read user/Practitioner.read user/Encounter.read '
  + 'user/Appointment.read user/Appointment.write';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REDIRECT = 'https://gateway.test/launch/callback';

const b64url = (data) => Buffer.from(data).toString('base64url');
const decodePart = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

// The test's own JWT signer, independent of the sandbox's (ES* signatures are r||s in JWS).
function signJwt(header, payload, key) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const hash = { ES384: 'sha384', RS384: 'sha384', RS256: 'sha256' }[header.alg];
  const signature = cryptoSign(hash, Buffer.from(input), header.alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${b64url(signature)}`;
}

function verifyRs256(token, jwk) {
  const [h, p, s] = token.split('.');
  return cryptoVerify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
}

async function sandboxPost(path, body) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function registerClient(body) {
  const r = await sandboxPost('/_sandbox/clients', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return body;
}

let clientSeq = 0;
const basicClient = () => registerClient({
  client_id: `basic-${++clientSeq}`, redirect_uri: REDIRECT, auth_method: 'client_secret_basic', client_secret: `s3cret:${clientSeq}`,
});

async function newLaunch(body = {}) {
  const r = await sandboxPost('/_sandbox/launches', { tenant: 'good', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** GET authorize without following the redirect: { status, location (URL|null), text }. */
async function authorize(name, params) {
  const smart = await getSmart(name);
  const url = `${smart.authorization_endpoint}?${new URLSearchParams(params)}`;
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  return { status: res.status, location: location && new URL(location), text: await res.text() };
}

function authorizeParams(name, client, launch, { verifier, challenge } = pkce(), extra = {}) {
  return {
    params: {
      response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uri, launch: launch.launch,
      scope: SCOPE, state: randomBytes(8).toString('hex'), aud: fhirBase(sandbox.url, name), nonce: randomBytes(8).toString('hex'),
      code_challenge: challenge, code_challenge_method: 'S256', ...extra,
    },
    verifier,
  };
}

/** POST token; `auth`: {basic: client} or {assertion: jwt}. */
async function tokenRequest(name, form, auth = {}) {
  const smart = await getSmart(name);
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth.basic) headers.authorization = `Basic ${Buffer.from(`${auth.basic.client_id}:${auth.basic.client_secret}`).toString('base64')}`;
  const body = new URLSearchParams({ ...form, ...(auth.assertion ? { client_assertion_type: JWT_BEARER, client_assertion: auth.assertion } : {}) });
  const res = await fetch(smart.token_endpoint, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** authorize + token with a client_secret_basic client; returns { token, code, verifier, params }. */
async function launchAndToken({ name = 'good', client, launchBody = {}, extra = {} } = {}) {
  client ??= await basicClient();
  const launch = await newLaunch({ tenant: name, ...launchBody });
  const { params, verifier } = authorizeParams(name, client, launch, undefined, extra);
  const a = await authorize(name, params);
  assert.equal(a.status, 302, a.text);
  assert.equal(a.location.searchParams.get('state'), params.state);
  const code = a.location.searchParams.get('code');
  assert.ok(code, a.location.href);
  const t = await tokenRequest(name, { grant_type: 'authorization_code', code, redirect_uri: client.redirect_uri, code_verifier: verifier }, { basic: client });
  return { t, client, launch, params, verifier, code };
}

async function fhirGet(name, path, token, headers = {}) {
  const res = await fetch(`${fhirBase(sandbox.url, name)}/${path}`, {
    headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function fhirPatch(name, path, token, ops, headers = {}) {
  const res = await fetch(`${fhirBase(sandbox.url, name)}/${path}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json-patch+json', ...headers },
    body: typeof ops === 'string' ? ops : JSON.stringify(ops),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const storedAppointment = (id) => getJson(`${sandbox.url}/_sandbox/appointments/${id}`, /^application\/fhir\+json\b/);

test('demo data: ids per tenant, sensitive values, Oracle-shaped video appointments', async () => {
  assert.deepEqual(SERVER_TENANTS, ['good', 'good2', 'good3', 'good4', 'plain']);
  const all = SERVER_TENANTS.flatMap((n) => Object.values(DEMO[n].appointments));
  assert.equal(new Set(all).size, all.length, 'appointment ids distinct across tenants');
  for (const v of ['Featherstone', '1957-04-19', '(816) 555-0142', '+18165550142']) assert.ok(SENSITIVE_VALUES.includes(v), v);
  assert.ok(SENSITIVE_VALUES.every((v) => typeof v === 'string' && v.length >= 5));

  const rooms = async (id) => (await storedAppointment(id)).contained.map((c) => c.type[0].text);
  assert.deepEqual(await rooms(DEMO.good.appointments.video1), ['Patient Virtual Meeting Room', 'Provider Virtual Meeting Room']);
  assert.deepEqual(await rooms(DEMO.good.appointments.video2), ['Provider Virtual Meeting Room', 'Patient Virtual Meeting Room']);
  const v1 = await storedAppointment(DEMO.good.appointments.video1);
  assert.equal(v1.status, 'booked');
  assert.equal(v1.serviceType[0].text, 'Video Visit');
  assert.deepEqual(v1.participant.map((p) => p.actor.reference).filter((r) => r.startsWith('#')),
    v1.contained.map((c) => `#${c.id}`));
  assert.ok(v1.participant.some((p) => p.actor.reference === `Patient/${DEMO.good.patient}`));
  assert.ok(v1.participant.some((p) => p.actor.reference === `Practitioner/${DEMO.good.practitioner}`));
  // Soon, or (late in the UTC day) pulled back to stay on today's date.
  const lead = Date.parse(v1.start) - Date.now();
  assert.ok(lead <= 20 * 60_000 && lead > -130 * 60_000, v1.start);
  assert.equal((await storedAppointment(DEMO.good.appointments.inPerson)).contained, undefined);
  assert.equal((await storedAppointment(DEMO.good.appointments.cancelled)).status, 'cancelled');
  assert.equal((await fetch(`${sandbox.url}/_sandbox/appointments/999`)).status, 404);
});

test('client_secret_basic: authorize → token → FHIR reads; id_token verifies against /jwk', async () => {
  const { t, client, params } = await launchAndToken();
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.headers.get('cache-control'), 'no-store');
  const b = t.body;
  assert.deepEqual(Object.keys(b), ['access_token', 'token_type', 'expires_in', 'scope', 'id_token', 'patient', 'encounter',
    'fhirContext', 'need_patient_banner', 'smart_style_url', 'tenant', 'user']);
  assert.equal(b.token_type, 'Bearer');
  assert.equal(b.expires_in, 570);
  assert.equal(b.scope, SCOPE);
  assert.equal(b.patient, DEMO.good.patient);
  assert.equal(b.encounter, DEMO.good.encounter);
  assert.deepEqual(b.fhirContext, [{ reference: `Appointment/${DEMO.good.appointments.video1}` }]);
  assert.equal(b.need_patient_banner, false);
  assert.equal(b.smart_style_url, `${sandbox.url}/style.json`);
  assert.equal(b.tenant, TENANTS.good);
  assert.equal(b.user, DEMO.good.practitioner);

  const smart = await getSmart('good');
  const { keys } = await getJson(smart.jwks_uri, /^application\/json\b/);
  const [h, p] = b.id_token.split('.');
  const header = decodePart(h);
  const claims = decodePart(p);
  assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: keys[0].kid });
  assert.ok(verifyRs256(b.id_token, keys[0]));
  assert.equal(claims.iss, smart.issuer);
  assert.equal(claims.iss, `${sandbox.url}/tenants/${TENANTS.good}`);
  assert.equal(claims.sub, DEMO.good.practitioner);
  assert.equal(claims.aud, client.client_id);
  assert.equal(claims.nonce, params.nonce);
  assert.equal(claims.fhirUser, `${fhirBase(sandbox.url, 'good')}/Practitioner/${DEMO.good.practitioner}`);
  assert.equal(claims.name, DEMO.good.names.practitioner);
  assert.equal(claims.exp - claims.iat, 600);

  for (const path of [`Patient/${b.patient}`, `Encounter/${b.encounter}`, `Appointment/${DEMO.good.appointments.video1}`, `Practitioner/${b.user}`]) {
    const r = await fhirGet('good', path, b.access_token);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type'), /^application\/fhir\+json\b/);
    assert.equal(`${r.body.resourceType}/${r.body.id}`, path);
    assert.equal(r.headers.get('etag'), `W/"${r.body.meta.versionId}"`);
    assert.ok(r.body.meta.lastUpdated);
  }
  const enc = await fhirGet('good', `Encounter/${b.encounter}`, b.access_token);
  assert.deepEqual(enc.body.appointment, [{ reference: `Appointment/${DEMO.good.appointments.video1}` }]);
  const missing = await fhirGet('good', 'Patient/0000', b.access_token);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.resourceType, 'OperationOutcome');

  // No token, a wrong one, or this tenant's token on another tenant: 401.
  for (const [name, token] of [['good', undefined], ['good', 'nope'], ['good2', b.access_token]]) {
    const r = await fhirGet(name, `Patient/${DEMO[name].patient}`, token);
    assert.equal(r.status, 401, `${name} ${token}`);
    assert.equal(r.body.resourceType, 'OperationOutcome');
    assert.match(r.headers.get('www-authenticate'), /^Bearer /);
  }
});

test('launch context: encounter (no fhirContext) and none (patient only); other tenants', async () => {
  const enc = (await launchAndToken({ launchBody: { encounter: DEMO.good.encounters.video2, context: 'encounter' } })).t.body;
  assert.equal(enc.patient, DEMO.good.patients.video2);
  assert.equal(enc.encounter, DEMO.good.encounters.video2);
  assert.equal(enc.fhirContext, undefined);
  const none = (await launchAndToken({ launchBody: { appointment: DEMO.good.appointments.video2, context: 'none' } })).t.body;
  assert.equal(none.patient, DEMO.good.patients.video2);
  assert.equal(none.encounter, undefined);
  assert.equal(none.fhirContext, undefined);
  const g2 = (await launchAndToken({ name: 'good2' })).t.body;
  assert.equal(g2.tenant, TENANTS.good2);
  assert.equal(g2.patient, DEMO.good2.patient);
  assert.equal((await fhirGet('good2', `Appointment/${DEMO.good2.appointments.video1}`, g2.access_token)).status, 200);
  // The ids are per tenant.
  assert.equal((await fhirGet('good2', `Appointment/${DEMO.good.appointments.video1}`, g2.access_token)).status, 404);
});

test('plain profile: R4 appointments without rooms, encounters without links, standard search with proposed, newest first', async () => {
  const d = DEMO.plain;
  const { t } = await launchAndToken({ name: 'plain', launchBody: { appointment: d.appointments.video1, context: 'encounter' } });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  const token = t.body.access_token;
  assert.equal(t.body.encounter, d.encounters.video1, 'the launch encounter found by patient and start');
  assert.equal(t.body.fhirContext, undefined);
  const enc = await fhirGet('plain', `Encounter/${d.encounters.video1}`, token);
  assert.equal(enc.status, 200);
  assert.equal(enc.body.appointment, undefined, 'no appointment link');
  const v1 = (await fhirGet('plain', `Appointment/${d.appointments.video1}`, token)).body;
  assert.equal(v1.contained, undefined, 'no meeting rooms');
  assert.equal(v1.serviceType[0].text, 'Telehealth');
  assert.equal(v1.appointmentType.coding[0].code, 'FOLLOWUP');
  assert.ok(!JSON.stringify(v1).includes('cerner'), 'no Oracle code sets');

  const day = new Date(Date.parse(v1.start)).toISOString().slice(0, 10);
  const search = (q) => fhirGet('plain', `Appointment?${q}`, token);
  // Patient and practitioner together, which Oracle refuses, is plain R4.
  const both = await search(`patient=${d.patient}&practitioner=${d.practitioner}&date=ge${day}&date=lt${day}T23:59:59Z`);
  assert.equal(both.status, 200, JSON.stringify(both.body));
  const found = both.body.entry.map((e) => e.resource);
  assert.ok(found.some((r) => r.id === d.appointments.proposed && r.status === 'proposed'), 'proposed ones come back too');
  const starts = found.map((r) => Date.parse(r.start ?? r.requestedPeriod[0].start));
  assert.deepEqual(starts, [...starts].sort((a, b) => b - a), 'newest first');
  assert.equal((await search(`actor=Patient/${d.patient}&status=booked&date=${day}`)).body.entry.every((e) => e.resource.status === 'booked'), true);
  // Unknown parameters: ignored and left out of `self`, unless the client asks for strict handling.
  const lenient = await search(`patient=${d.patient}&date=${day}&_lastUpdated=ge2020-01-01`);
  assert.equal(lenient.status, 200, JSON.stringify(lenient.body));
  assert.ok(!lenient.body.link.find((l) => l.relation === 'self').url.includes('_lastUpdated'));
  const strict = await fhirGet('plain', `Appointment?patient=${d.patient}&date=${day}&_lastUpdated=ge2020-01-01`, token, { prefer: 'handling=strict' });
  assert.equal(strict.status, 400);
  assert.equal((await search(`patient=${DEMO.good.patient}&date=${day}`)).body.entry?.length ?? 0, 0, 'other tenants unseen');
  // Oracle's link patch has nowhere to go.
  const patch = await fhirPatch('plain', `Appointment/${v1.id}`, token, [{ op: 'add', path: '/contained/0/telecom/0/value', value: 'https://x' }],
    { 'if-match': `W/"${v1.meta.versionId}"` });
  assert.equal(patch.status, 422);
  const cap = await getJson(`${fhirBase(sandbox.url, 'plain')}/metadata`, /json/);
  const params = cap.rest[0].resource.find((r) => r.type === 'Appointment').searchParam.map((p) => p.name);
  assert.ok(params.includes('actor') && !params.includes('-date-or-req-period'), params.join());
});

test('good4: id_token signed by the single key without kid at /jwk/single', async () => {
  const smart = await getSmart('good4');
  assert.equal(smart.jwks_uri, `${sandbox.url}/jwk/single`);
  const { keys } = await getJson(smart.jwks_uri, /^application\/json\b/);
  assert.equal(keys.length, 1);
  assert.equal(keys[0].kid, undefined);
  const { t } = await launchAndToken({ name: 'good4' });
  const header = decodePart(t.body.id_token.split('.')[0]);
  assert.deepEqual(header, { alg: 'RS256', typ: 'JWT' });
  assert.ok(verifyRs256(t.body.id_token, keys[0]));
  const main = (await getJson(`${sandbox.url}/jwk`, /^application\/json\b/)).keys[0];
  assert.ok(!verifyRs256(t.body.id_token, main));
  assert.equal(decodePart(t.body.id_token.split('.')[1]).iss, smart.issuer);
});

test('private_key_jwt (ES384): assertion checks, jti replay, JWKS cached', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const kid = 'test-es384';
  let jwksFetches = 0;
  const jwksServer = createServer((req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' }] }));
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => jwksServer.close(r)));
  const client = await registerClient({
    client_id: `pkjwt-${randomUUID()}`, redirect_uri: REDIRECT, auth_method: 'private_key_jwt',
    jwks_url: `http://127.0.0.1:${jwksServer.address().port}/jwks.json`,
  });
  const smart = await getSmart('good');
  const now = Math.floor(Date.now() / 1000);
  const assertion = (claims = {}, header = {}, key = privateKey) => signJwt({ alg: 'ES384', typ: 'JWT', kid, ...header }, {
    iss: client.client_id, sub: client.client_id, aud: smart.token_endpoint, exp: now + 240, iat: now, jti: randomUUID(), ...claims,
  }, key);
  const codeFor = async () => {
    const launch = await newLaunch();
    const { params, verifier } = authorizeParams('good', client, launch);
    const a = await authorize('good', params);
    return { grant_type: 'authorization_code', code: a.location.searchParams.get('code'), redirect_uri: client.redirect_uri, code_verifier: verifier };
  };

  const first = assertion();
  const ok = await tokenRequest('good', await codeFor(), { assertion: first });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await fhirGet('good', `Patient/${ok.body.patient}`, ok.body.access_token)).status, 200);

  const rejected = async (jwt, pattern) => {
    const r = await tokenRequest('good', await codeFor(), { assertion: jwt });
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.body.error_description, pattern);
  };
  await rejected(first, /replay/);
  await rejected(assertion({ aud: `${smart.token_endpoint}/` }), /aud/);
  await rejected(assertion({ aud: smart.issuer }), /aud/);
  await rejected(assertion({ exp: now - 60 }), /expired/);
  await rejected(assertion({ exp: now + 600 }), /5 minutes/);
  await rejected(assertion({ sub: 'someone-else' }), /sub/);
  await rejected(assertion({ jti: undefined }), /jti/);
  await rejected(assertion({}, {}, other.privateKey), /signature/);
  await rejected(assertion({}, { kid: 'unknown-kid' }), /kid/);
  await rejected(signJwt({ alg: 'RS256', typ: 'JWT' }, { iss: client.client_id }, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), /alg/);
  // Without kid in the header every key is tried.
  assert.equal((await tokenRequest('good', await codeFor(), { assertion: assertion({}, { kid: undefined }) })).status, 200);
  // One fetch for the first request, one more for the unknown kid (rotation check); otherwise cached.
  assert.equal(jwksFetches, 2);
  // A private_key_jwt client cannot use Basic, and no authentication at all is invalid_client.
  const basic = await tokenRequest('good', await codeFor(), { basic: { client_id: client.client_id, client_secret: 'x' } });
  assert.equal(basic.status, 401);
  const none = await tokenRequest('good', { ...(await codeFor()), client_id: client.client_id });
  assert.equal(none.status, 401);
  assert.equal(none.body.error, 'invalid_client');
});

test('token: PKCE failure, code reuse (revokes), wrong redirect_uri, wrong secret', async () => {
  const client = await basicClient();
  const codeFor = async () => {
    const launch = await newLaunch();
    const { params, verifier } = authorizeParams('good', client, launch);
    const a = await authorize('good', params);
    return { grant_type: 'authorization_code', code: a.location.searchParams.get('code'), redirect_uri: client.redirect_uri, code_verifier: verifier };
  };
  const pkceFail = await tokenRequest('good', { ...(await codeFor()), code_verifier: pkce().verifier }, { basic: client });
  assert.equal(pkceFail.status, 400);
  assert.equal(pkceFail.body.error, 'invalid_grant');
  assert.match(pkceFail.body.error_description, /PKCE/);

  const form = await codeFor();
  const first = await tokenRequest('good', form, { basic: client });
  assert.equal(first.status, 200);
  const again = await tokenRequest('good', form, { basic: client });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  assert.equal((await fhirGet('good', `Patient/${first.body.patient}`, first.body.access_token)).status, 401, 'replay revoked the token');

  const redirectFail = await tokenRequest('good', { ...(await codeFor()), redirect_uri: `${REDIRECT}?x=1` }, { basic: client });
  assert.equal(redirectFail.body.error, 'invalid_grant');
  const secretFail = await tokenRequest('good', await codeFor(), { basic: { ...client, client_secret: 'wrong' } });
  assert.equal(secretFail.status, 401);
  assert.equal(secretFail.body.error, 'invalid_client');
  const otherTenant = await tokenRequest('good2', await codeFor(), { basic: client });
  assert.equal(otherTenant.body.error, 'invalid_grant');
  const json = await fetch((await getSmart('good')).token_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(json.status, 400);
  assert.equal((await json.json()).error, 'invalid_request');
});

test('authorize: no redirect for unknown client or redirect_uri mismatch; errors redirect otherwise', async () => {
  const client = await basicClient();
  const launch = await newLaunch();
  const base = authorizeParams('good', client, launch).params;

  for (const params of [{ ...base, client_id: 'nobody' }, { ...base, redirect_uri: `${REDIRECT}/other` }]) {
    const a = await authorize('good', params);
    assert.equal(a.status, 400);
    assert.equal(a.location, null);
  }
  const expectError = async (params, error, name = 'good') => {
    const a = await authorize(name, params);
    assert.equal(a.status, 302, a.text);
    assert.equal(`${a.location.origin}${a.location.pathname}`, REDIRECT);
    assert.equal(a.location.searchParams.get('error'), error, a.location.href);
    assert.ok(a.location.searchParams.get('error_description'));
    assert.equal(a.location.searchParams.get('code'), null);
    return a;
  };
  const a = await expectError({ ...base, aud: fhirBase(sandbox.url, 'good2') }, 'invalid_request');
  assert.equal(a.location.searchParams.get('state'), base.state);
  await expectError({ ...base, aud: `${fhirBase(sandbox.url, 'good')}/` }, 'invalid_request');
  await expectError({ ...base, code_challenge_method: 'plain' }, 'invalid_request');
  const { code_challenge: _c, ...noChallenge } = base;
  await expectError(noChallenge, 'invalid_request');
  await expectError({ ...base, launch: 'unknown' }, 'invalid_request');
  await expectError({ ...base, aud: fhirBase(sandbox.url, 'good2') }, 'invalid_request', 'good2'); // launch is good's
  await expectError({ ...base, response_type: 'token' }, 'unsupported_response_type');
  await expectError({ ...base, scope: 'openid fhirUser user/Patient.read' }, 'invalid_scope');
  const { state: _s, ...noState } = base;
  await expectError(noState, 'invalid_request');
  // authorize-post works too.
  const post = await fetch((await getSmart('good')).authorization_endpoint, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(base),
  });
  assert.equal(post.status, 302);
  assert.ok(new URL(post.headers.get('location')).searchParams.get('code'));
  // Unknown-tenant or non-server tenant authorize: 404.
  const smart = await getSmart('nos256');
  assert.equal((await fetch(`${smart.authorization_endpoint}?${new URLSearchParams(base)}`, { redirect: 'manual' })).status, 404);
});

test('scopes: fewer granted scopes are echoed; missing scope is 403 with the Cerner code', async () => {
  const grant = 'launch openid fhirUser user/Patient.read';
  const { t } = await launchAndToken({ launchBody: { scenario: { grant_scopes: grant } } });
  assert.equal(t.body.scope, grant);
  assert.equal((await fhirGet('good', `Patient/${t.body.patient}`, t.body.access_token)).status, 200);
  const denied = await fhirGet('good', `Appointment/${DEMO.good.appointments.video1}`, t.body.access_token);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.issue[0].code, 'forbidden');
  assert.equal(denied.body.issue[0].details.coding[0].code, INSUFFICIENT_SCOPES);
  assert.equal(INSUFFICIENT_SCOPES, 'urn:cerner:error:oauth2:resource-access:insufficient-scopes');
  const patch = await fhirPatch('good', `Appointment/${DEMO.good.appointments.video1}`, t.body.access_token, [], { 'if-match': 'W/"1"' });
  assert.equal(patch.status, 403);

  // No openid/fhirUser granted → no id_token.
  const noId = (await launchAndToken({ launchBody: { scenario: { grant_scopes: 'launch user/Appointment.rs' } } })).t.body;
  assert.equal(noId.id_token, undefined);
  // v2 .rs allows read and search but not update.
  assert.equal((await fhirGet('good', `Appointment/${DEMO.good.appointments.video1}`, noId.access_token)).status, 200);
  assert.equal((await fhirPatch('good', `Appointment/${DEMO.good.appointments.video1}`, noId.access_token, [], { 'if-match': 'W/"1"' })).status, 403);

  // patient/ scopes reach only the launch patient's records.
  const pat = (await launchAndToken({ extra: { scope: 'launch patient/Appointment.read patient/Patient.read' } })).t.body;
  assert.equal((await fhirGet('good', `Appointment/${DEMO.good.appointments.video1}`, pat.access_token)).status, 200);
  assert.equal((await fhirGet('good', `Appointment/${DEMO.good.appointments.video2}`, pat.access_token)).status, 403);
  assert.equal((await fhirGet('good', `Patient/${DEMO.good.patients.video2}`, pat.access_token)).status, 403);
});

test('Appointment search: Oracle parameter rules, date prefixes, searchset Bundle', async () => {
  const { t } = await launchAndToken({ name: 'good3' });
  const token = t.body.access_token;
  const d = DEMO.good3;
  const v1 = await storedAppointment(d.appointments.video1);
  const start = Date.parse(v1.start);
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const search = (query) => fhirGet('good3', `Appointment?${query}`, token);
  const ids = (bundle) => bundle.entry.map((e) => e.resource.id);

  // Every search Oracle documents as invalid is refused with an OperationOutcome.
  const w = `date=ge${iso(start)}&date=lt${iso(start + 3600_000)}`;
  for (const [why, q] of [
    ['an actor without a date', `patient=${d.patient}`],
    ['a date without an actor', `date=ge${iso(start)}`],
    ['nothing', ''],
    ['_lastUpdated (Encounter only)', `_lastUpdated=ge${iso(start)}`],
    ['_lastUpdated as a filter', `${w}&patient=${d.patient}&_lastUpdated=ge${iso(start)}`],
    ['an unknown parameter', `${w}&patient=${d.patient}&service-type=video`],
    ['two actors', `${w}&patient=${d.patient}&practitioner=${d.practitioner}`],
    ['patient and location', `${w}&patient=${d.patient}&location=${d.location}`],
    ['a repeated actor', `${w}&location=${d.location}&location=${d.location}`],
    ['_id with others', `_id=${d.appointments.video1}&${w}`],
    ['a date without a prefix and a second', `date=${iso(start)}&date=lt${iso(start + 1)}&patient=${d.patient}`],
    ['ge with le', `date=ge${iso(start)}&date=le${iso(start + 1)}&patient=${d.patient}`],
    ['three dates', `${w}&date=ge${iso(start)}&patient=${d.patient}`],
    ['date and -date-or-req-period', `${w}&-date-or-req-period=ge${iso(start)}&patient=${d.patient}`],
    ['a bare date', `date=${iso(start)}&patient=${d.patient}`],
    ['ne', `date=ne${iso(start)}&patient=${d.patient}`],
    ['an impossible date', `date=ge2026-13-45&patient=${d.patient}`],
    ['no time zone', `date=ge2026-11-23T10:00:00&patient=${d.patient}`],
    ['_count too large', `${w}&patient=${d.patient}&_count=500`],
  ]) {
    const r = await search(q);
    assert.equal(r.status, 400, `${why}: ${q}`);
    assert.equal(r.body.resourceType, 'OperationOutcome', q);
  }
  const window = `date=ge${iso(start - 60 * 60_000)}&date=lt${iso(start + 3 * 60 * 60_000)}`;
  const byPractitioner = await search(`${window}&practitioner=${d.practitioner}`);
  assert.equal(byPractitioner.status, 200);
  const b = byPractitioner.body;
  assert.equal(b.resourceType, 'Bundle');
  assert.equal(b.type, 'searchset');
  assert.deepEqual(ids(b), [d.appointments.video1, d.appointments.cancelled, d.appointments.video2, d.appointments.inPerson]);
  assert.equal(b.entry[0].fullUrl, `${fhirBase(sandbox.url, 'good3')}/Appointment/${d.appointments.video1}`);
  assert.deepEqual(ids((await search(`${window}&patient=Patient/${d.patient}`)).body), [d.appointments.video1, d.appointments.cancelled]);
  assert.deepEqual(ids((await search(`${window}&patient=${d.patient}&status=booked`)).body), [d.appointments.video1]);
  // Pages: _count per page, `next` until the end.
  const first = (await search(`${window}&location=${d.location}&_count=2`)).body;
  assert.deepEqual(ids(first), [d.appointments.video1, d.appointments.cancelled]);
  const next = first.link.find((l) => l.relation === 'next').url;
  const second = await fetch(next, { headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` } }).then((r) => r.json());
  assert.deepEqual(ids(second), [d.appointments.video2, d.appointments.inPerson]);
  assert.equal(second.link.find((l) => l.relation === 'next'), undefined);
  // A comma list of ids.
  assert.deepEqual(ids((await search(`${window}&location=${d.location},999`)).body).length, 4);
  // A date-only value covers its whole (UTC) day; tomorrow's visit is outside today's.
  const day = v1.start.slice(0, 10);
  const sameDay = ids((await search(`date=eq${day}&patient=${d.patients.video2}`)).body);
  assert.ok(!sameDay.includes(d.appointments.tomorrow));
  assert.ok(ids((await search(`date=ge${day}&patient=${d.patients.video2}`)).body).includes(d.appointments.tomorrow));
  assert.deepEqual(ids((await search(`_id=${d.appointments.inPerson}`)).body), [d.appointments.inPerson]);
  // The gateway's fallback search for a launch without context: today's UTC date.
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  assert.deepEqual(ids((await search(`date=ge${today}&date=lt${tomorrow}&patient=${d.patient}`)).body),
    [d.appointments.video1, d.appointments.cancelled]);
  // Encounter search by patient.
  const enc = await fhirGet('good3', `Encounter?patient=${d.patient}`, token);
  assert.deepEqual(ids(enc.body), [d.encounter]);
  assert.equal((await fhirGet('good3', 'Encounter', token)).status, 400);
});

test("Appointment PATCH by Oracle's rules: 412 / 409 / 415, the link set all add then all replace, status moves", async () => {
  const { t } = await launchAndToken({ name: 'good2' });
  const token = t.body.access_token;
  const id = DEMO.good2.appointments.video2; // provider room at index 0
  const current = (await fhirGet('good2', `Appointment/${id}`, token)).body;
  let v = current.meta.versionId;
  const at = (text) => current.contained.findIndex((c) => c.type[0].text === text);
  const provider = at('Provider Virtual Meeting Room');
  const patient = at('Patient Virtual Meeting Room');
  assert.deepEqual([provider, patient], [0, 1]);
  assert.equal(current.contained[provider].telecom[0].value, undefined, 'booked rooms have no links yet');
  const links = (op, p = 'https://visit.test/provider/abc', q = 'https://visit.test/patient/abc') => [
    { op, path: `/contained/${provider}/telecom/0/value`, value: p },
    { op, path: `/contained/${patient}/telecom/0/value`, value: q },
    { op, path: '/contained/0/telecom/0/period/start', value: current.start },
    { op, path: '/contained/0/telecom/0/period/end', value: current.end },
  ];
  const path = `Appointment/${id}`;
  const patch = (ops, version = v, extra = {}) => fhirPatch('good2', path, token, ops, { 'if-match': `W/"${version}"`, ...extra });
  assert.equal((await fhirPatch('good2', path, token, links('add'))).status, 412, 'no If-Match');
  assert.equal((await patch(links('add'), Number(v) - 1)).status, 409, 'stale version');
  assert.equal((await patch(links('add'), v, { 'content-type': 'application/json' })).status, 415);
  const mixed = links('add');
  mixed[1].op = 'replace';
  for (const [why, bad] of [
    ['replace before any add', links('replace')],
    ['add and replace mixed', mixed],
    ['an operation missing', links('add').slice(0, 3)],
    ['an operation repeated', [...links('add'), links('add')[0]]],
    ['another path', [...links('add'), { op: 'add', path: '/description', value: 'x' }]],
    ['the period on the second room', links('add').map((o) => ({ ...o, path: o.path.replace('/contained/0/telecom/0/period', '/contained/1/telecom/0/period') }))],
    ['not a URL', links('add', 'not a url')],
    ['not a date-time', links('add').map((o) => (o.path.endsWith('/start') ? { ...o, value: 'tomorrow' } : o))],
    ['move', [{ op: 'move', from: '/status', path: '/description' }]],
    ['a test op', [{ op: 'test', path: '/status', value: 'booked' }, ...links('add')]],
    ['meta', [{ op: 'replace', path: '/meta/versionId', value: '99' }]],
    ['no operations', []],
    ['not a list', { op: 'replace', path: '/status', value: 'arrived' }],
    ['status with links', [{ op: 'replace', path: '/status', value: 'arrived' }, ...links('add')]],
    ['a status Oracle does not move to', [{ op: 'replace', path: '/status', value: 'fulfilled' }]],
    ['status by add', [{ op: 'add', path: '/status', value: 'arrived' }]],
  ]) {
    const r = await patch(bad);
    assert.equal(r.status, 422, `${why}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.resourceType, 'OperationOutcome');
  }
  assert.equal((await storedAppointment(id)).meta.versionId, v, 'refused patches change nothing');

  const ok = await patch(links('add'));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  v = String(Number(v) + 1);
  assert.equal(ok.body.meta.versionId, v);
  assert.equal(ok.headers.get('etag'), `W/"${v}"`);
  const stored = await storedAppointment(id);
  assert.equal(stored.contained[provider].telecom[0].value, 'https://visit.test/provider/abc');
  assert.equal(stored.contained[patient].telecom[0].value, 'https://visit.test/patient/abc');
  assert.deepEqual(stored.contained[patient].telecom[0].period, stored.contained[provider].telecom[0].period, 'the period applies to both rooms');
  // Once linked: add is a conflict, replace works.
  const again = await patch(links('add'));
  assert.equal(again.status, 409);
  assert.match(again.body.issue[0].diagnostics, /already added/);
  const replaced = await patch(links('replace', 'https://visit.test/provider/new', 'https://visit.test/patient/new'));
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  v = String(Number(v) + 1);
  assert.equal((await storedAppointment(id)).contained[patient].telecom[0].value, 'https://visit.test/patient/new');

  // Status: booked → arrived → checked-in; never back, never skipping to fulfilled from booked.
  const status = (to) => [{ op: 'replace', path: '/status', value: to }];
  assert.equal((await patch(status('arrived'))).status, 200);
  v = String(Number(v) + 1);
  assert.equal((await patch(status('booked'))).status, 422, 'arrived → booked is not a move Oracle allows');
  assert.equal((await patch(status('checked-in'))).status, 200);
  v = String(Number(v) + 1);
  assert.equal((await storedAppointment(id)).status, 'checked-in');

  // Other sandbox instances keep their own data.
  const fresh = await startEhrSandbox({ port: 0 });
  try {
    const r = await fetch(`${fresh.url}/_sandbox/appointments/${id}`).then((x) => x.json());
    assert.equal(r.meta.versionId, current.meta.versionId);
  } finally {
    await fresh.close();
  }
});

test('scenarios: deny, token_status, token_delay_ms, patch_status', async () => {
  const client = await basicClient();
  const denied = await newLaunch({ scenario: { deny: true } });
  const { params } = authorizeParams('good', client, denied);
  const a = await authorize('good', params);
  assert.equal(a.status, 302);
  assert.equal(a.location.searchParams.get('error'), 'access_denied');
  assert.ok(a.location.searchParams.get('error_description'));
  assert.equal(a.location.searchParams.get('state'), params.state);

  const s400 = (await launchAndToken({ client, launchBody: { scenario: { token_status: 400 } } })).t;
  assert.equal(s400.status, 400);
  assert.equal(s400.body.error, 'invalid_grant');
  const s500 = (await launchAndToken({ client, launchBody: { scenario: { token_status: 500 } } })).t;
  assert.equal(s500.status, 500);
  const t0 = Date.now();
  const slow = (await launchAndToken({ client, launchBody: { scenario: { token_delay_ms: 300 } } })).t;
  assert.equal(slow.status, 200);
  assert.ok(Date.now() - t0 >= 300);

  const lagging = (await launchAndToken({ client, launchBody: { scenario: { fhir_delay_ms: 200 } } })).t.body;
  const t1 = Date.now();
  assert.equal((await fhirGet('good', `Patient/${lagging.patient}`, lagging.access_token)).status, 200);
  assert.ok(Date.now() - t1 >= 200);

  const locked = (await launchAndToken({ client, launchBody: { scenario: { patch_status: 423 } } })).t.body;
  const id = DEMO.good.appointments.video1;
  const v = (await storedAppointment(id)).meta.versionId;
  const r = await fhirPatch('good', `Appointment/${id}`, locked.access_token,
    [{ op: 'replace', path: '/contained/0/telecom/0/value', value: 'https://x.test' }], { 'if-match': `W/"${v}"` });
  assert.equal(r.status, 423);

  for (const scenario of [{ nope: 1 }, { token_status: 418 }, { id_token: 'no_kid' }, { deny: 'yes' }]) {
    assert.equal((await sandboxPost('/_sandbox/launches', { tenant: 'good', scenario })).status, 400, JSON.stringify(scenario));
  }
  for (const tenant of ['nos256', 'nope', undefined]) {
    assert.equal((await sandboxPost('/_sandbox/launches', { tenant })).status, 400, tenant);
  }
  assert.equal((await sandboxPost('/_sandbox/launches', { tenant: 'good', context: 'patient' })).status, 400);
  assert.equal((await sandboxPost('/_sandbox/clients', { client_id: 'x', redirect_uri: REDIRECT, auth_method: 'client_secret_post', client_secret: 'y' })).status, 400);
  assert.equal((await sandboxPost('/_sandbox/clients', { client_id: 'x', redirect_uri: 'not a url', auth_method: 'client_secret_basic', client_secret: 'y' })).status, 400);
});

test('scenarios: id_token tampering changes exactly what it says', async () => {
  const { keys: [jwk] } = await getJson(`${sandbox.url}/jwk`, /^application\/json\b/);
  const smart = await getSmart('good');
  const idToken = async (kind) => {
    const { t, client, params } = await launchAndToken({ launchBody: kind ? { scenario: { id_token: kind } } : {} });
    assert.equal(t.status, 200);
    const [h, p] = t.body.id_token.split('.');
    return { token: t.body.id_token, header: decodePart(h), claims: decodePart(p), client, params };
  };
  const good = await idToken();
  assert.ok(verifyRs256(good.token, jwk));
  const now = Math.floor(Date.now() / 1000);
  const checks = {
    bad_signature: (x) => { assert.ok(!verifyRs256(x.token, jwk)); assert.equal(x.claims.iss, smart.issuer); },
    wrong_iss: (x) => { assert.ok(verifyRs256(x.token, jwk)); assert.notEqual(x.claims.iss, smart.issuer); assert.equal(x.claims.aud, x.client.client_id); },
    wrong_aud: (x) => { assert.ok(verifyRs256(x.token, jwk)); assert.notEqual(x.claims.aud, x.client.client_id); assert.equal(x.claims.iss, smart.issuer); },
    expired: (x) => { assert.ok(verifyRs256(x.token, jwk)); assert.ok(x.claims.exp < now); },
    wrong_nonce: (x) => { assert.ok(verifyRs256(x.token, jwk)); assert.ok(x.claims.nonce); assert.notEqual(x.claims.nonce, x.params.nonce); },
    no_fhir_user: (x) => { assert.ok(verifyRs256(x.token, jwk)); assert.equal(x.claims.fhirUser, undefined); assert.equal(x.claims.nonce, x.params.nonce); },
    // RS384 math with the key /jwk publishes for RS256: only the key's `alg` says no.
    key_alg_mismatch: (x) => { assert.equal(x.header.alg, 'RS384'); assert.equal(jwk.alg, 'RS256'); assert.ok(verifyJwtSignature(decodeJwt(x.token), jwk)); },
  };
  for (const [kind, check] of Object.entries(checks)) {
    const x = await idToken(kind);
    assert.equal(x.header.kid, jwk.kid, kind);
    check(x);
    if (kind !== 'expired') assert.ok(x.claims.exp > now, kind);
  }
});

test('scenarios: id_token_alg signs with /jwk\'s key for that algorithm', async () => {
  const { keys } = await getJson(`${sandbox.url}/jwk`, /^application\/json\b/);
  assert.deepEqual(keys.map((k) => k.alg), ['RS256', 'RS384', 'ES256', 'ES384']);
  assert.equal(new Set(keys.map((k) => k.kid)).size, 4);
  for (const alg of ['RS384', 'ES256', 'ES384']) {
    const { t } = await launchAndToken({ launchBody: { scenario: { id_token_alg: alg } } });
    assert.equal(t.status, 200);
    const d = decodeJwt(t.body.id_token);
    const key = keys.find((k) => k.kid === d.header.kid);
    assert.equal(d.header.alg, alg);
    assert.equal(key.alg, alg);
    assert.ok(verifyJwtSignature(d, key), alg);
    assert.ok(!verifyJwtSignature(d, keys[0]), `${alg} does not verify with the RS256 key`);
  }
});

test('request log: start_ms/end_ms tell overlapping requests from sequential ones', async () => {
  const s = await startEhrSandbox({ port: 0, delayMs: 150 });
  try {
    const smart = `${s.url}/r4/${TENANTS.good}/.well-known/smart-configuration`;
    const meta = `${s.url}/r4/${TENANTS.good}/metadata`;
    await Promise.all([fetch(smart).then((r) => r.json()), fetch(meta).then((r) => r.json())]);
    await fetch(smart).then((r) => r.json());
    await fetch(`${s.url}/_sandbox/appointments/${DEMO.good.appointments.video1}`).then((r) => r.json()); // not logged
    const log = await fetch(`${s.url}/_sandbox/requests`).then((r) => r.json());
    assert.equal(log.length, 3);
    for (const e of log) {
      assert.ok(Number.isInteger(e.start_ms) && Number.isInteger(e.end_ms), JSON.stringify(e));
      assert.ok(e.end_ms - e.start_ms >= 150);
      assert.equal(e.at, new Date(e.start_ms).toISOString());
      assert.equal(e.status, 200);
    }
    const [x, y, z] = log;
    assert.ok(x.start_ms < y.end_ms && y.start_ms < x.end_ms, 'first two overlap');
    assert.ok(z.start_ms >= Math.max(x.end_ms, y.end_ms), 'third is sequential');
  } finally {
    await s.close();
  }
});

test('mini PowerChart: the schedule launches the gateway with iss + launch', async () => {
  const s = await startEhrSandbox({ port: 0, gatewayUrl: 'http://gateway.test:8787' });
  try {
    const page = await fetch(`${s.url}/`).then((r) => r.text());
    assert.ok(page.includes(DEMO.good.appointments.video1));
    assert.ok(page.includes('Video Visit'));
    assert.match(page, /<form method="post" action="\/_sandbox\/launch-now">/);
    const launchForm = (gateway) => fetch(`${s.url}/_sandbox/launch-now`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tenant: 'good', appointment: DEMO.good.appointments.video2, context: 'appointment', scenario: '' }),
    }).then((r) => ({ status: r.status, location: new URL(r.headers.get('location')) }));
    let r = await launchForm();
    assert.equal(r.status, 302);
    assert.equal(`${r.location.origin}${r.location.pathname}`, 'http://gateway.test:8787/launch');
    assert.equal(r.location.searchParams.get('iss'), `${s.url}/r4/${TENANTS.good}`);
    assert.ok(r.location.searchParams.get('launch'));
    s.setGatewayUrl('http://127.0.0.1:9999');
    r = await launchForm();
    assert.equal(r.location.origin, 'http://127.0.0.1:9999');
    const api = await fetch(`${s.url}/_sandbox/launches`, { method: 'POST', body: JSON.stringify({ tenant: 'good2', gateway: 'http://gw.test' }) }).then((x) => x.json());
    assert.equal(api.launch_url, `http://gw.test/launch?${new URLSearchParams({ iss: `${s.url}/r4/${TENANTS.good2}`, launch: api.launch })}`);
    assert.equal(api.appointment, DEMO.good2.appointments.video1);
    assert.equal((await fetch(`${s.url}/style.json`)).status, 200);
  } finally {
    await s.close();
  }
});

test('mini PowerChart: book / move +1 h / cancel forms post, 303 back to the page, and change the schedule', async () => {
  const s = await startEhrSandbox({ port: 0, smsUrl: 'http://sms.test:8791/?a=1&b=<2>' });
  try {
    const d = DEMO.good;
    const page = () => fetch(`${s.url}/`).then((r) => r.text());
    const rowIds = (text, action) => [...text.matchAll(
      new RegExp(`<form method="post" action="/_sandbox/${action}"[^>]*>(?:<input type="hidden" name="tenant" value="good">)?<input type="hidden" name="appointment" value="([^"]+)">`, 'g'))].map((m) => m[1]);
    const postForm = (path, fields) => fetch(`${s.url}${path}`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    }).then(async (r) => ({ status: r.status, location: r.headers.get('location'), text: await r.text(), type: r.headers.get('content-type') }));
    const stored = (id) => fetch(`${s.url}/_sandbox/appointments/${id}`).then((r) => r.json());

    // The page: SMS outbox link (escaped), a labelled booking form, Move/Cancel on live rows only.
    const before = await page();
    assert.ok(before.includes("Texts sent to patients appear in the SMS stand-in's outbox: "
      + '<a href="http://sms.test:8791/?a=1&amp;b=&lt;2&gt;">http://sms.test:8791/?a=1&amp;b=&lt;2&gt;</a>'));
    assert.match(before, /<form method="post" action="\/_sandbox\/book-now"/);
    for (const [id, name] of [['book-patient', 'patient'], ['book-start', 'start_local'], ['book-minutes', 'minutes']]) {
      assert.ok(before.includes(`<label for="${id}">`), id);
      assert.match(before, new RegExp(`id="${id}" name="${name}"`));
    }
    assert.match(before, /<input type="datetime-local" id="book-start" name="start_local" value="\d{4}-\d\d-\d\dT\d\d:\d[05]"/);
    assert.match(before, /name="minutes" value="15"/);
    assert.match(before, /name="tz_offset_minutes" value="0"/);
    for (const id of Object.values(d.patients)) assert.ok(before.includes(`<option value="${id}">`), id);
    assert.ok(!/<(script|link|img)[^>]+(src|href)=/.test(before), 'no external assets');
    assert.ok(rowIds(before, 'move-now').includes(d.appointments.video1));
    assert.ok(rowIds(before, 'cancel-now').includes(d.appointments.video1));
    assert.ok(!rowIds(before, 'move-now').includes(d.appointments.cancelled));
    assert.ok(!rowIds(before, 'cancel-now').includes(d.appointments.cancelled));

    // Book: the local time + the browser's offset (-60 = UTC+1) become an instant.
    let r = await postForm('/_sandbox/book-now', {
      tenant: 'good', tz_offset_minutes: '-60', patient: d.patients.video2, start_local: '2030-01-02T15:30', minutes: '20',
    });
    assert.equal(r.status, 303, r.text);
    assert.equal(r.location, '/');
    const booked = rowIds(await page(), 'launch-now').filter((id) => !rowIds(before, 'launch-now').includes(id));
    assert.equal(booked.length, 1);
    const [id] = booked;
    let appt = await stored(id);
    assert.equal(Date.parse(appt.start), Date.parse('2030-01-02T14:30:00Z'));
    assert.equal(Date.parse(appt.end), Date.parse('2030-01-02T14:50:00Z'));
    assert.equal(appt.minutesDuration, 20);
    assert.equal(appt.status, 'booked');
    assert.ok(appt.participant.some((p) => p.actor?.reference === `Patient/${d.patients.video2}`));
    assert.equal(appt.meta.versionId, '1');
    // Without JavaScript (no offset) the value is UTC; minutes default to 15.
    r = await postForm('/_sandbox/book-now', { patient: d.patients.inPerson, start_local: '2030-01-03T09:00' });
    assert.equal(r.status, 303, r.text);

    // Move +1 h keeps the duration and bumps the version.
    r = await postForm('/_sandbox/move-now', { appointment: id });
    assert.equal(r.status, 303, r.text);
    assert.equal(r.location, '/');
    appt = await stored(id);
    assert.equal(Date.parse(appt.start), Date.parse('2030-01-02T15:30:00Z'));
    assert.equal(appt.minutesDuration, 20);
    assert.equal(appt.meta.versionId, '2');

    // Cancel; the row keeps Launch but loses Move/Cancel.
    r = await postForm('/_sandbox/cancel-now', { appointment: id });
    assert.equal(r.status, 303, r.text);
    assert.equal(r.location, '/');
    appt = await stored(id);
    assert.equal(appt.status, 'cancelled');
    assert.equal(appt.meta.versionId, '3');
    const after = await page();
    assert.ok(rowIds(after, 'launch-now').includes(id));
    assert.ok(!rowIds(after, 'move-now').includes(id));
    assert.ok(!rowIds(after, 'cancel-now').includes(id));

    // Errors: a short HTML page (escaped) with a link back, the JSON route's status.
    for (const [path, fields, status] of [
      ['/_sandbox/cancel-now', { appointment: id }, 409],
      ['/_sandbox/move-now', { appointment: id }, 409],
      ['/_sandbox/move-now', { appointment: '<999>' }, 404],
      ['/_sandbox/cancel-now', { appointment: '999' }, 404],
      ['/_sandbox/book-now', { start_local: 'tomorrow' }, 400],
      ['/_sandbox/book-now', { start_local: '2030-02-30T10:00' }, 400],
      ['/_sandbox/book-now', { start_local: '2030-01-02T10:00', tz_offset_minutes: 'x' }, 400],
      ['/_sandbox/book-now', { start_local: '2030-01-02T10:00', minutes: '0' }, 400],
      ['/_sandbox/book-now', { start_local: '2030-01-02T10:00', patient: DEMO.good2.patient }, 400],
    ]) {
      r = await postForm(path, fields);
      assert.equal(r.status, status, `${path} ${JSON.stringify(fields)}: ${r.text}`);
      assert.match(r.type, /^text\/html\b/);
      assert.ok(r.text.includes('<a href="/">'));
      assert.ok(!r.text.includes('<999>'));
    }
    assert.equal((await stored(d.appointments.video1)).meta.versionId, '1', 'other visits untouched');
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// SMART Backend Services (client_credentials) and a schedule that changes over time
// ---------------------------------------------------------------------------------------------

/**
 * An ES384 key served as a JWKS by a tiny HTTP server (closed after test `t`), a private_key_jwt
 * client registered for it, and helpers for client assertions and client_credentials requests.
 */
async function backendClient(t, registration = { backend: true }) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const kid = `es384-${randomUUID()}`;
  const jwksServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' }] }));
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => jwksServer.close(r)));
  const client = await registerClient({
    client_id: `backend-${randomUUID()}`, auth_method: 'private_key_jwt',
    jwks_url: `http://127.0.0.1:${jwksServer.address().port}/jwks.json`, ...registration,
  });
  const assertion = async (name = 'good', claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt({ alg: 'ES384', typ: 'JWT', kid }, {
      iss: client.client_id, sub: client.client_id, aud: (await getSmart(name)).token_endpoint,
      exp: now + 240, iat: now, jti: randomUUID(), ...claims,
    }, privateKey);
  };
  /** client_credentials; `jwt` defaults to a fresh assertion for tenant `name`. */
  const systemToken = async (scope, { name = 'good', jwt } = {}) =>
    tokenRequest(name, { grant_type: 'client_credentials', ...(scope !== undefined ? { scope } : {}) }, { assertion: jwt ?? await assertion(name) });
  return { client, assertion, systemToken };
}

const SYSTEM_SCOPE = 'system/Appointment.read system/Patient.read system/Encounter.read system/Practitioner.read';

test('demo patients: E.164 mobile + email telecom (DEMO.contacts); SENSITIVE_VALUES covers them', async (t) => {
  const { systemToken } = await backendClient(t);
  for (const name of SERVER_TENANTS) {
    const token = (await systemToken('system/Patient.read', { name })).body.access_token;
    for (const [role, id] of Object.entries(DEMO[name].patients)) {
      const { body: patient } = await fhirGet(name, `Patient/${id}`, token);
      const mobile = patient.telecom.find((c) => c.system === 'phone' && c.use === 'mobile');
      const email = patient.telecom.find((c) => c.system === 'email');
      assert.equal(mobile.value, DEMO[name].contacts[role].mobile, `${name} ${role}`);
      assert.equal(email.value, DEMO[name].contacts[role].email, `${name} ${role}`);
      if (role !== 'inPerson') assert.match(mobile.value, /^\+1[2-9]\d{2}555\d{4}$/, `${name} ${role}`);
      for (const v of [mobile.value, email.value]) assert.ok(SENSITIVE_VALUES.includes(v), v);
    }
  }
  // The human spelling of the same number stays covered.
  assert.equal(DEMO.good.contacts.video1.mobile, '+18165550142');
  assert.ok(SENSITIVE_VALUES.includes('(816) 555-0142'));
  assert.ok(SENSITIVE_VALUES.includes('8165550142'));
});

test('Backend Services: client_credentials with private_key_jwt (ES384), system/ scopes only', async (t) => {
  const { client, assertion, systemToken } = await backendClient(t);
  const ok = await systemToken(`${SYSTEM_SCOPE} system/Appointment.read`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.headers.get('cache-control'), 'no-store');
  assert.deepEqual(Object.keys(ok.body), ['access_token', 'token_type', 'expires_in', 'scope']);
  assert.equal(ok.body.token_type, 'Bearer');
  assert.equal(ok.body.expires_in, 300);
  assert.equal(ok.body.scope, SYSTEM_SCOPE, 'granted as asked, duplicates dropped');
  const token = ok.body.access_token;

  // Any record of the tenant: both video patients (with telecom), any appointment, the practitioner.
  for (const role of ['video1', 'video2']) {
    const r = await fhirGet('good', `Patient/${DEMO.good.patients[role]}`, token);
    assert.equal(r.status, 200);
    assert.ok(r.body.telecom.some((c) => c.system === 'phone' && c.use === 'mobile' && c.value === DEMO.good.contacts[role].mobile));
  }
  for (const path of [`Appointment/${DEMO.good.appointments.video2}`, `Encounter/${DEMO.good.encounters.inPerson}`, `Practitioner/${DEMO.good.colleague}`]) {
    assert.equal((await fhirGet('good', path, token)).status, 200, path);
  }
  // Read-only scopes cannot PATCH; the token is bound to its tenant.
  assert.equal((await fhirPatch('good', `Appointment/${DEMO.good.appointments.video1}`, token, [], { 'if-match': 'W/"1"' })).status, 403);
  assert.equal((await fhirGet('good2', `Patient/${DEMO.good2.patient}`, token)).status, 401);
  const narrow = (await systemToken('system/Appointment.rs')).body.access_token;
  assert.equal((await fhirGet('good', `Patient/${DEMO.good.patient}`, narrow)).status, 403);

  // jti replay is refused (401 invalid_client).
  const jwt = await assertion();
  assert.equal((await systemToken(SYSTEM_SCOPE, { jwt })).status, 200);
  const replay = await systemToken(SYSTEM_SCOPE, { jwt });
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error, 'invalid_client');
  assert.match(replay.body.error_description, /replay/);
  // The assertion is checked as for authorization_code: aud, sub, exp.
  for (const [claims, pattern] of [[{ aud: (await getSmart('good2')).token_endpoint }, /aud/], [{ sub: 'x' }, /sub/],
    [{ exp: Math.floor(Date.now() / 1000) + 900 }, /5 minutes/]]) {
    const r = await systemToken(SYSTEM_SCOPE, { jwt: await assertion('good', claims) });
    assert.equal(r.status, 401, JSON.stringify(claims));
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.body.error_description, pattern);
  }
  // The same client on another tenant (aud = that tenant's token URL).
  assert.equal((await systemToken('system/Patient.read', { name: 'good2' })).status, 200);

  // Scopes: system/ resource scopes only, and at least one.
  for (const scope of ['user/Patient.read', `${SYSTEM_SCOPE} patient/Patient.read`, 'launch system/Patient.read', 'openid', 'system/Patient.', '', undefined]) {
    const r = await systemToken(scope);
    assert.equal(r.status, 400, String(scope));
    assert.equal(r.body.error, 'invalid_scope', String(scope));
  }

  // client_secret_basic (even a valid one) and no authentication: invalid_client.
  const basic = await basicClient();
  for (const auth of [{ basic }, { basic: { client_id: client.client_id, client_secret: 'x' } }, {}]) {
    const r = await tokenRequest('good', { grant_type: 'client_credentials', scope: SYSTEM_SCOPE, client_id: client.client_id }, auth);
    assert.equal(r.status, 401, JSON.stringify(auth));
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.body.error_description, /private_key_jwt/);
  }
  const post = await tokenRequest('good', { grant_type: 'client_credentials', scope: SYSTEM_SCOPE, client_id: basic.client_id, client_secret: basic.client_secret });
  assert.equal(post.body.error, 'invalid_client');

  // A backend client has no redirect_uri, so it cannot start an authorization code flow.
  const { redirect_uri: _none, ...noRedirect } = authorizeParams('good', client, await newLaunch()).params;
  const a = await authorize('good', noRedirect);
  assert.equal(a.status, 400);
  assert.equal(a.location, null);
  assert.match(a.text, /unauthorized_client/);
  // Any private_key_jwt client may use client_credentials, backend flag or not.
  const launchClient = await backendClient(t, { redirect_uri: REDIRECT });
  assert.equal((await launchClient.systemToken('system/Appointment.read')).status, 200);
  // Registration rules for backend clients.
  for (const bad of [
    { client_id: 'b1', auth_method: 'client_secret_basic', client_secret: 'x', backend: true },
    { client_id: 'b2', auth_method: 'private_key_jwt', jwks_url: 'http://127.0.0.1:1/jwks', backend: 'yes' },
    { client_id: 'b3', auth_method: 'private_key_jwt', jwks_url: 'http://127.0.0.1:1/jwks' }, // not backend: needs redirect_uri
  ]) assert.equal((await sandboxPost('/_sandbox/clients', bad)).status, 400, JSON.stringify(bad));
  const shown = await sandboxPost('/_sandbox/clients', { client_id: `b-${randomUUID()}`, auth_method: 'private_key_jwt', jwks_url: 'http://127.0.0.1:1/jwks', backend: true });
  assert.equal(shown.status, 201);
  assert.equal(shown.body.backend, true);
  assert.equal(shown.body.redirect_uri, undefined);
});

test('schedule: book → search (date+practitioner, date+location) → move → cancel', async (t) => {
  const { systemToken } = await backendClient(t);
  const token = (await systemToken(SYSTEM_SCOPE)).body.access_token;
  const d = DEMO.good;
  const ids = (r) => {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.entry.map((e) => e.resource.id);
  };
  const search = (query, tok = token) => fhirGet('good', `Appointment?${query}`, tok);
  const at = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const window = (from, to) => `date=ge${at(from)}&date=lt${at(to)}`;
  // Three days ahead: clear of every demo visit ("tomorrow" is +24 h).
  const start = Math.floor((Date.now() + 3 * 86_400_000) / 300_000) * 300_000;
  const t0 = new Date().toISOString();

  const created = await sandboxPost('/_sandbox/appointments', {
    tenant: 'good', patient: d.patients.video2, practitioner: d.colleague, start: at(start),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const appt = created.body;
  const { id } = appt;
  assert.match(id, /^15\d{6}$/);
  assert.equal(appt.meta.versionId, '1');
  assert.ok(appt.meta.lastUpdated >= t0);
  assert.equal(appt.start, new Date(start).toISOString());
  assert.equal(Date.parse(appt.end) - start, 15 * 60_000, 'minutes default to 15');
  assert.equal(appt.minutesDuration, 15);
  assert.equal(appt.status, 'booked');
  // Shaped exactly like the demo video visits.
  const demo = await storedAppointment(d.appointments.video1);
  assert.deepEqual(Object.keys(appt), Object.keys(demo));
  assert.deepEqual(appt.serviceType, demo.serviceType);
  assert.deepEqual(appt.contained.map((c) => c.type[0].text), ['Patient Virtual Meeting Room', 'Provider Virtual Meeting Room']);
  for (const room of appt.contained) assert.deepEqual(room.telecom[0].period, { start: appt.start, end: appt.end });
  assert.deepEqual(appt.participant.map((p) => p.actor.reference),
    [`Practitioner/${d.colleague}`, `Patient/${d.patients.video2}`, `Location/${d.location}`, ...appt.contained.map((c) => `#${c.id}`)]);
  assert.deepEqual(appt.participant.map((p) => p.type), demo.participant.map((p) => p.type));
  assert.deepEqual(await storedAppointment(id), appt);
  // The gateway's launch from this visit finds its Encounter, patient and practitioner.
  const launch = await newLaunch({ appointment: id });
  assert.deepEqual([launch.patient, launch.practitioner], [d.patients.video2, d.colleague]);
  assert.ok(launch.encounter);
  const encounter = (await fhirGet('good', `Encounter/${launch.encounter}`, token)).body;
  assert.deepEqual(encounter.appointment, [{ reference: `Appointment/${id}` }]);
  assert.equal(encounter.class.code, 'VR');

  const inPerson = await sandboxPost('/_sandbox/appointments', {
    tenant: TENANTS.good, start: at(start + 60 * 60_000), minutes: 40, video: false,
  });
  assert.equal(inPerson.status, 201);
  assert.equal(inPerson.body.contained, undefined);
  assert.equal(inPerson.body.serviceType[0].text, 'Follow Up');
  assert.ok(inPerson.body.participant.some((p) => p.actor.reference === `Patient/${d.patient}`), 'patient defaults to video1');

  // Found by date + practitioner, date + location; a system token gets no other search.
  const day = window(start - 60 * 60_000, start + 3 * 60 * 60_000);
  assert.deepEqual(ids(await search(`${day}&practitioner=${d.colleague}`)), [id]);
  assert.deepEqual(ids(await search(`${day}&practitioner=Practitioner/${d.practitioner}`)), [inPerson.body.id]);
  assert.deepEqual(ids(await search(`${day}&location=${d.location}`)), [id, inPerson.body.id]);
  assert.deepEqual(ids(await search(`${day}&patient=${d.patients.video2}`)), [id]);
  const alone = await search(`_lastUpdated=ge${t0}`);
  assert.equal(alone.status, 400);
  assert.match(alone.body.issue[0].diagnostics, /_lastUpdated is not a supported search parameter/);
  assert.equal((await search(day)).status, 400, 'no search without an actor, whatever the token');

  // Move: new start and length, rooms follow, version and lastUpdated bump.
  const t1 = new Date().toISOString();
  const later = start + 2 * 60 * 60_000;
  const moved = await sandboxPost(`/_sandbox/appointments/${id}/move`, { start: at(later), minutes: 30 });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.meta.versionId, '2');
  assert.ok(moved.body.meta.lastUpdated >= t1);
  assert.equal(moved.body.start, new Date(later).toISOString());
  assert.equal(moved.body.end, new Date(later + 30 * 60_000).toISOString());
  assert.equal(moved.body.minutesDuration, 30);
  assert.deepEqual(moved.body.requestedPeriod, [{ start: moved.body.start, end: moved.body.end }]);
  for (const room of moved.body.contained) assert.deepEqual(room.telecom[0].period, { start: moved.body.start, end: moved.body.end });
  assert.equal((await fhirGet('good', `Appointment/${id}`, token)).headers.get('etag'), 'W/"2"');
  assert.deepEqual(ids(await search(`${window(start - 60 * 60_000, start + 60 * 60_000)}&practitioner=${d.colleague}`)), []);
  assert.deepEqual(ids(await search(`${window(later, later + 60 * 60_000)}&practitioner=${d.colleague}`)), [id]);
  assert.equal((await fhirGet('good', `Encounter/${launch.encounter}`, token)).body.period.start, moved.body.start);
  // minutes may be left out (the length stays).
  const again = await sandboxPost(`/_sandbox/appointments/${id}/move`, { start: at(later + 5 * 60_000) });
  assert.equal(again.body.minutesDuration, 30);
  assert.equal(again.body.meta.versionId, '3');

  // Cancel: still found, now cancelled; status= filters.
  const cancelled = await fetch(`${sandbox.url}/_sandbox/appointments/${id}/cancel`, { method: 'POST' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.headers.get('etag'), 'W/"4"');
  const c = await cancelled.json();
  assert.equal(c.status, 'cancelled');
  assert.equal(c.start, again.body.start);
  const polled = await search(`_id=${id}`);
  assert.deepEqual(ids(polled), [id]);
  assert.equal(polled.body.entry[0].resource.status, 'cancelled');
  assert.equal(polled.body.entry[0].resource.meta.versionId, '4');
  const late = window(later - 60 * 60_000, later + 60 * 60_000);
  assert.deepEqual((await search(`${late}&practitioner=${d.colleague}`)).body.entry.map((e) => e.resource.status), ['cancelled']);
  assert.deepEqual(ids(await search(`${late}&practitioner=${d.colleague}&status=booked`)), []);
  assert.deepEqual(ids(await search(`${late}&practitioner=${d.colleague}&status=booked,cancelled`)), [id]);
  assert.equal((await fhirGet('good', `Encounter/${launch.encounter}`, token)).body.status, 'cancelled');
  // Demo visits can be moved and cancelled too (ids are unique across tenants).
  const demoCancel = await sandboxPost(`/_sandbox/appointments/${DEMO.good4.appointments.tomorrow}/cancel`, {});
  assert.equal(demoCancel.status, 200);
  assert.equal(demoCancel.body.meta.versionId, '2');

  // Errors.
  assert.equal((await sandboxPost(`/_sandbox/appointments/${id}/move`, { start: at(later) })).status, 409);
  assert.equal((await sandboxPost(`/_sandbox/appointments/${id}/cancel`, {})).status, 409);
  assert.equal((await sandboxPost('/_sandbox/appointments/999/move', { start: at(later) })).status, 404);
  assert.equal((await sandboxPost('/_sandbox/appointments/999/cancel', {})).status, 404);
  assert.equal((await sandboxPost(`/_sandbox/appointments/${inPerson.body.id}/move`, { start: '2030-01-01T10:00:00' })).status, 400);
  for (const body of [
    { tenant: 'good' }, // no start
    { tenant: 'good', start: '2030-01-01T10:00:00' }, // no zone
    { tenant: 'good', start: '2030-13-01T10:00:00Z' },
    { tenant: 'nos256', start: at(start) },
    { start: at(start) },
    { tenant: 'good', start: at(start), patient: d.practitioner },
    { tenant: 'good', start: at(start), patient: DEMO.good2.patient },
    { tenant: 'good', start: at(start), practitioner: 'nobody' },
    { tenant: 'good', start: at(start), minutes: 0 },
    { tenant: 'good', start: at(start), video: 'yes' },
    { tenant: 'good', start: at(start), status: 'done' },
    { tenant: 'good', start: at(start), location: d.location },
  ]) {
    const r = await sandboxPost('/_sandbox/appointments', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error, 'invalid_request');
  }
  // Control calls are not in the request log.
  const log = await getJson(`${sandbox.url}/_sandbox/requests`, /^application\/json\b/);
  assert.ok(!log.some((e) => e.path.startsWith('/_sandbox/')));
});
