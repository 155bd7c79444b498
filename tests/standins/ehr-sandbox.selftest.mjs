// Self-test for the EHR sandbox: `node --test tests/standins/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

import { startEhrSandbox, TENANTS, fhirBase } from './ehr-sandbox.mjs';

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
  for (const path of ['/nope', `/r4/00000000-0000-4000-8000-000000000000/metadata`, `/r4/${TENANTS.good}/Patient/1`]) {
    const res = await fetch(sandbox.url + path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).resourceType, 'OperationOutcome');
  }
  const res = await fetch(metadataUrl('good'), { method: 'POST' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
  await res.body?.cancel();
});

test('index page lists every base; /jwk is an empty key set', async () => {
  const res = await fetch(`${sandbox.url}/`);
  assert.match(res.headers.get('content-type'), /^text\/html\b/);
  const page = await res.text();
  for (const name of Object.keys(TENANTS)) {
    assert.ok(page.includes(fhirBase(sandbox.url, name)), name);
    assert.ok(page.includes(`<b>${name}</b>`), name);
  }
  assert.deepEqual(await getJson(`${sandbox.url}/jwk`, /^application\/json\b/), { keys: [] });
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
  const script = fileURLToPath(new URL('./ehr-sandbox.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`exited early: ${code}`)));
  });
  const m = /^READY (http:\/\/127\.0\.0\.1:(\d+))$/.exec(ready);
  assert.ok(m, ready);
  assert.ok(Number(m[2]) > 0);
  assert.equal((await fetch(`${m[1]}/r4/${TENANTS.good}/metadata`).then((r) => r.json())).fhirVersion, '4.0.1');
  child.kill('SIGTERM');
  const [code, signal] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.equal(signal, null);
  assert.equal(out, `${ready}\n`, 'exactly one line on stdout');
});
