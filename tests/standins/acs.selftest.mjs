// Self-test for the Azure Communication Services stand-in: `node --test tests/standins/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';

import {
  startAcsStandIn, signAcsRequest, acsStringToSign, DEV_ACS_ACCESS_KEY, PREOWNED_NUMBER, EVENT_TOPIC,
} from './acs.mjs';
import { fetchJson, startCli, until } from './lib/testing.mjs';

let acs;
before(async () => { acs = await startAcsStandIn({ port: 0 }); });
after(async () => { await acs?.close(); });

const SMS_API = 'api-version=2021-03-07';
const PHONE_API = 'api-version=2022-12-01';
const EMAIL_API = 'api-version=2023-03-31';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OUTGOING = /^Outgoing_\d{14}[0-9a-f-]{36}_noam$/;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;
/** A fresh fictional patient number per call. */
const patient = () => `+1202555${String(2000 + (++seq)).slice(-4)}`;
const uuid = () => crypto.randomUUID();

const parse = (text) => { try { return JSON.parse(text); } catch { return undefined; } };

/**
 * A signed request to the stand-in. `body` (an object) is sent as JSON; `sign` may override any of
 * signAcsRequest's inputs (to produce a bad signature); `headers` are added after signing.
 */
function call(method, path, { body, origin = acs.url, sign = {}, headers = {}, signal } = {}) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const url = `${origin}${path}`;
  const signed = signAcsRequest({ method, url, body: text, accessKey: DEV_ACS_ACCESS_KEY, ...sign });
  return fetchJson(url, { method, body, headers: { ...signed, ...headers }, signal });
}

const hook = (path, method = 'GET', body, origin = acs.url) => fetchJson(`${origin}/_acs/${path}`, { method, body });

const sms = (body, opts = {}) => call('POST', `/sms?${SMS_API}`, { body: { from: PREOWNED_NUMBER, message: 'Hello', ...body }, ...opts });
const email = (body = {}, opts = {}) => call('POST', `/emails:send?${EMAIL_API}`, {
  body: {
    senderAddress: 'DoNotReply@clinic.example',
    recipients: { to: [{ address: 'pat@example.org', displayName: 'Pat' }] },
    content: { subject: 'Your visit', plainText: 'See you at https://visits.example.org/j/abc', html: '<p>See <a href="https://visits.example.org/j/abc">you</a></p>' },
    ...body,
  },
  ...opts,
});

function assertAcsError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
}

/**
 * An Event Grid webhook: answers the validation handshake with `handshake(event)` (default: echo
 * the code), notifications with 200; records everything.
 */
async function webhook(handshake = (e) => ({ status: 200, body: { validationResponse: e.data.validationCode } })) {
  const received = [];
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const entry = { method: req.method, path: req.url, headers: req.headers, events: parse(text) };
    received.push(entry);
    const a = req.headers['aeg-event-type'] === 'SubscriptionValidation' ? await handshake(entry.events[0]) : { status: 200, body: '' };
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}/events?tenant=t1`;
  const notifications = () => received.filter((r) => r.headers['aeg-event-type'] === 'Notification');
  const close = () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
  return { url, received, notifications, close };
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

test('signing: signAcsRequest computes ACS\'s HMAC-SHA256 (independently recomputed)', () => {
  const accessKey = Buffer.from('secret-key').toString('base64');
  const date = 'Mon, 23 Nov 2026 09:00:00 GMT';
  const h = signAcsRequest({ method: 'post', url: 'https://res.communication.azure.com/sms?api-version=2021-03-07', body: '{}', accessKey, date });
  assert.equal(h['x-ms-date'], date);
  assert.equal(h['x-ms-content-sha256'], 'RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=');
  const sts = `POST\n/sms?api-version=2021-03-07\n${date};res.communication.azure.com;RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=`;
  assert.equal(acsStringToSign('post', '/sms?api-version=2021-03-07', date, 'res.communication.azure.com', h['x-ms-content-sha256']), sts);
  const sig = createHmac('sha256', Buffer.from('secret-key')).update(sts).digest('base64');
  assert.equal(h.authorization, `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${sig}`);
  // GET: the hash of the empty body; the host keeps its port.
  const g = signAcsRequest({ url: 'http://127.0.0.1:8793/phoneNumbers?api-version=2022-12-01', accessKey, date });
  assert.equal(g['x-ms-content-sha256'], createHash('sha256').update('').digest('base64'));
  const gs = createHmac('sha256', Buffer.from('secret-key'))
    .update(`GET\n/phoneNumbers?api-version=2022-12-01\n${date};127.0.0.1:8793;${g['x-ms-content-sha256']}`).digest('base64');
  assert.ok(g.authorization.endsWith(`&Signature=${gs}`));
  assert.equal(DEV_ACS_ACCESS_KEY, Buffer.from('dev-acs-access-key-0123456789abcdef').toString('base64'));
});

test('signing: a good signature is accepted; wrong key, stale date, body hash, tampered path each 401', async () => {
  assert.equal((await call('GET', `/phoneNumbers?${PHONE_API}`)).status, 200);
  assert.equal((await sms({ smsRecipients: [{ to: patient() }] })).status, 202);

  const denied = (res, pattern) => {
    assertAcsError(res, 401, 'Denied');
    assert.match(res.body.error.message, /^Denied by the resource provider\./);
    assert.match(res.body.error.message, pattern);
  };
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { accessKey: Buffer.from('another key').toString('base64') } }), /signature does not match/);
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { date: new Date(Date.now() - 20 * 60_000) } }), /15 minutes/);
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { date: new Date(Date.now() + 20 * 60_000) } }), /15 minutes/);
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { date: '2024-05-01T00:00:00Z' } }), /RFC 1123/);
  // Signed for one body, another sent.
  denied(await sms({ smsRecipients: [{ to: patient() }] }, { sign: { body: '{"from":"+18005550100"}' } }), /x-ms-content-sha256/);
  // Signed for one path (or query), sent to another.
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { url: `${acs.url}/phoneNumbers?${PHONE_API}&top=1` } }), /signature does not match/);
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { method: 'POST' } }), /signature does not match/);
  // Signed for another host.
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { sign: { url: `http://localhost:1/phoneNumbers?${PHONE_API}` } }), /signature does not match/);
  // No or malformed Authorization, missing headers.
  const bare = await fetch(`${acs.url}/phoneNumbers?${PHONE_API}`);
  denied({ status: bare.status, headers: bare.headers, body: await bare.json() }, /Authorization/);
  denied(await call('GET', `/phoneNumbers?${PHONE_API}`, { headers: { 'x-ms-content-sha256': '' } }), /x-ms-content-sha256/);
  const other = await call('GET', `/phoneNumbers?${PHONE_API}`, { headers: { authorization: 'HMAC-SHA256 SignedHeaders=host&Signature=abc' } });
  denied(other, /SignedHeaders/);
  // Unknown paths are checked for a signature too, then 404.
  assertAcsError(await call('GET', `/chat/threads?${SMS_API}`), 404, 'NotFound');
});

test('api-version: required, and only the documented one per API', async () => {
  assertAcsError(await call('POST', '/sms', { body: { from: PREOWNED_NUMBER, message: 'x', smsRecipients: [{ to: patient() }] } }), 400, 'MissingApiVersionParameter');
  assertAcsError(await call('POST', '/sms?api-version=2025-01-01', { body: {} }), 400, 'UnsupportedApiVersion');
  assertAcsError(await call('GET', `/phoneNumbers?${SMS_API}`), 400, 'UnsupportedApiVersion');
  assertAcsError(await call('POST', `/emails:send?${PHONE_API}`, { body: {} }), 400, 'UnsupportedApiVersion');
  assertAcsError(await call('GET', `/emails/operations/${uuid()}`), 400, 'MissingApiVersionParameter');
});

// ---------------------------------------------------------------------------------------------
// SMS
// ---------------------------------------------------------------------------------------------

test('sms: 202 with one item per recipient; from must be owned; validation errors are 400', async () => {
  const [a, b] = [patient(), patient()];
  const res = await sms({ smsRecipients: [{ to: a }, { to: b }], message: 'Your video visit: https://visits.example.org/j/Ab3dE9' });
  assert.equal(res.status, 202, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.body.value.length, 2);
  for (const [i, to] of [a, b].entries()) {
    const item = res.body.value[i];
    assert.deepEqual(Object.keys(item).sort(), ['httpStatusCode', 'messageId', 'repeatabilityResult', 'successful', 'to']);
    assert.equal(item.to, to);
    assert.match(item.messageId, OUTGOING);
    assert.equal(item.httpStatusCode, 202);
    assert.equal(item.repeatabilityResult, 'accepted');
    assert.equal(item.successful, true);
  }
  const messages = (await hook('messages')).body.filter((m) => m.to === a || m.to === b);
  assert.deepEqual(messages.map((m) => [m.messageId, m.direction, m.from, m.message, m.tag, m.repeatabilityRequestId]), [
    [res.body.value[0].messageId, 'outbound', PREOWNED_NUMBER, 'Your video visit: https://visits.example.org/j/Ab3dE9', null, null],
    [res.body.value[1].messageId, 'outbound', PREOWNED_NUMBER, 'Your video visit: https://visits.example.org/j/Ab3dE9', null, null],
  ]);
  assert.equal(new Date(messages[0].at).toISOString(), messages[0].at);
  await until(async () => (await hook('messages')).body.find((m) => m.to === a).deliveryStatus === 'Delivered');

  // A number the resource does not own: that recipient fails, nothing is sent.
  const foreign = await sms({ from: '+18005559999', smsRecipients: [{ to: patient() }] });
  assert.equal(foreign.status, 202);
  const [item] = foreign.body.value;
  assert.equal(item.successful, false);
  assert.equal(item.httpStatusCode, 400);
  assert.match(item.errorMessage, /\+18005559999/);
  assert.equal(item.messageId, undefined);

  for (const [body, pattern] of [
    [{ from: undefined, smsRecipients: [{ to: a }] }, /from/],
    [{ from: '8005550100', smsRecipients: [{ to: a }] }, /E\.164/],
    [{ message: '', smsRecipients: [{ to: a }] }, /message/],
    [{ smsRecipients: [] }, /smsRecipients/],
    [{ smsRecipients: [{ to: '(202) 555-0100' }] }, /E\.164/],
    [{ smsRecipients: [{ to: a, repeatabilityRequestId: uuid() }] }, /both or neither/],
    [{ smsRecipients: [{ to: a, repeatabilityRequestId: 'not-a-uuid', repeatabilityFirstSent: new Date().toUTCString() }] }, /UUID/],
    [{ smsRecipients: [{ to: a, repeatabilityRequestId: uuid(), repeatabilityFirstSent: new Date().toISOString() }] }, /RFC 1123/],
    [{ smsRecipients: [{ to: a }], smsSendOptions: { enableDeliveryReport: 'yes' } }, /enableDeliveryReport/],
  ]) {
    const bad = await sms(body);
    assertAcsError(bad, 400, 'BadRequest');
    assert.match(bad.body.error.message, pattern);
  }
  const notJson = await fetch(`${acs.url}/sms?${SMS_API}`, {
    method: 'POST', body: 'from=x', headers: signAcsRequest({ method: 'POST', url: `${acs.url}/sms?${SMS_API}`, body: 'from=x' }),
  });
  assert.equal(notJson.status, 400);
  await notJson.body?.cancel();
});

test('sms: a repeated repeatabilityRequestId is not sent again and answers the first messageId', async () => {
  const to = patient();
  const recipient = { to, repeatabilityRequestId: uuid(), repeatabilityFirstSent: new Date().toUTCString() };
  const first = await sms({ smsRecipients: [recipient] });
  assert.equal(first.body.value[0].repeatabilityResult, 'accepted');
  const again = await sms({ smsRecipients: [recipient] });
  assert.equal(again.status, 202);
  assert.deepEqual(again.body.value, [{
    to, messageId: first.body.value[0].messageId, httpStatusCode: 202, repeatabilityResult: 'rejected', successful: true,
  }]);
  // A different id is a different message.
  const other = await sms({ smsRecipients: [{ ...recipient, repeatabilityRequestId: uuid() }] });
  assert.equal(other.body.value[0].repeatabilityResult, 'accepted');
  assert.notEqual(other.body.value[0].messageId, first.body.value[0].messageId);
  const mine = (await hook('messages')).body.filter((m) => m.to === to);
  assert.equal(mine.length, 2);
  assert.equal(mine[0].repeatabilityRequestId, recipient.repeatabilityRequestId);
});

// ---------------------------------------------------------------------------------------------
// Event Grid
// ---------------------------------------------------------------------------------------------

test('event grid: the handshake registers a webhook; delivery reports and inbound texts reach it', async () => {
  const s = await startAcsStandIn();
  const wh = await webhook();
  try {
    const sub = await hook('event-subscriptions', 'POST', { endpoint: wh.url }, s.url);
    assert.equal(sub.status, 201, sub.text);
    assert.deepEqual(sub.body, { endpoint: wh.url, validated: true });
    const [hs] = wh.received;
    assert.equal(hs.method, 'POST');
    assert.equal(hs.path, '/events?tenant=t1');
    assert.equal(hs.headers['aeg-event-type'], 'SubscriptionValidation');
    assert.match(hs.headers['content-type'], /^application\/json/);
    assert.equal(hs.events.length, 1);
    const v = hs.events[0];
    assert.equal(v.eventType, 'Microsoft.EventGrid.SubscriptionValidationEvent');
    assert.equal(v.topic, EVENT_TOPIC);
    assert.match(v.topic, /^\/subscriptions\/.+\/resourceGroups\/.+\/providers\/Microsoft\.Communication\/communicationServices\/visitgate-standin$/);
    assert.equal(v.subject, '');
    assert.match(v.data.validationCode, UUID);
    assert.equal(v.data.validationUrl, `${s.url}/_acs/validate/${v.data.validationCode}`);
    assert.equal(v.metadataVersion, '1');
    assert.equal(v.dataVersion, '1');
    assert.match(v.id, UUID);
    assert.equal(new Date(v.eventTime).toISOString(), v.eventTime);
    assert.deepEqual((await hook('event-subscriptions', 'GET', undefined, s.url)).body.map((x) => x.endpoint), [wh.url]);

    // A delivery report, with the tag.
    const to = patient();
    const sent = await sms({ smsRecipients: [{ to }], message: 'Visit at 10:00', smsSendOptions: { enableDeliveryReport: true, tag: 'visit-42' } }, { origin: s.url });
    const messageId = sent.body.value[0].messageId;
    const [n] = await until(() => wh.notifications().length === 1 && wh.notifications());
    assert.match(n.headers['content-type'], /^application\/json/);
    assert.equal(n.events.length, 1);
    const e = n.events[0];
    assert.deepEqual(Object.keys(e).sort(), ['data', 'dataVersion', 'eventTime', 'eventType', 'id', 'metadataVersion', 'subject', 'topic']);
    assert.equal(e.eventType, 'Microsoft.Communication.SMSDeliveryReportReceived');
    assert.equal(e.subject, `/phonenumber/${to.slice(1)}`);
    assert.equal(e.topic, EVENT_TOPIC);
    assert.equal(e.dataVersion, '1.0');
    assert.equal(e.metadataVersion, '1');
    assert.equal(e.data.messageId, messageId);
    assert.equal(e.data.from, PREOWNED_NUMBER);
    assert.equal(e.data.to, to);
    assert.equal(e.data.deliveryStatus, 'Delivered');
    assert.equal(e.data.deliveryStatusDetails, 'No error.');
    assert.equal(e.data.tag, 'visit-42');
    assert.equal(e.data.deliveryAttempts.length, 1);
    assert.deepEqual(Object.keys(e.data.deliveryAttempts[0]).sort(), ['segmentsFailed', 'segmentsSucceeded', 'timestamp']);
    assert.equal(e.data.deliveryAttempts[0].segmentsSucceeded, 1);
    assert.equal(e.data.deliveryAttempts[0].segmentsFailed, 0);
    assert.ok(!Number.isNaN(Date.parse(e.data.receivedTimestamp)));

    // Without enableDeliveryReport nothing is reported; without a tag, no tag.
    await sms({ smsRecipients: [{ to }] }, { origin: s.url });
    await sms({ smsRecipients: [{ to }], smsSendOptions: { enableDeliveryReport: true } }, { origin: s.url });
    const [, second] = await until(() => wh.notifications().length === 2 && wh.notifications());
    assert.equal('tag' in second.events[0].data, false);
    await sleep(80);
    assert.equal(wh.notifications().length, 2, 'no report without enableDeliveryReport');

    // Undelivered: the report says Failed.
    await hook('fail', 'POST', { target: 'sms', count: 1, status: 'undelivered' }, s.url);
    const failedSend = await sms({ smsRecipients: [{ to }], smsSendOptions: { enableDeliveryReport: true } }, { origin: s.url });
    assert.equal(failedSend.body.value[0].successful, true);
    const third = await until(() => wh.notifications()[2]);
    assert.equal(third.events[0].data.deliveryStatus, 'Failed');
    assert.equal(third.events[0].data.deliveryAttempts[0].segmentsFailed, 1);
    const recorded = (await hook('messages', 'GET', undefined, s.url)).body.find((m) => m.messageId === failedSend.body.value[0].messageId);
    assert.equal(recorded.deliveryStatus, 'Failed');

    // Inbound: SMSReceived; the hook answers each delivery.
    const from = patient();
    const inbound = await hook('inbound', 'POST', { from, to: PREOWNED_NUMBER, message: 'STOP' }, s.url);
    assert.equal(inbound.status, 200, inbound.text);
    assert.deepEqual(inbound.body, [{ endpoint: wh.url, status: 200 }]);
    const received = wh.notifications()[3].events[0];
    assert.equal(received.eventType, 'Microsoft.Communication.SMSReceived');
    assert.equal(received.subject, `/phonenumber/${PREOWNED_NUMBER.slice(1)}`);
    assert.deepEqual(Object.keys(received.data).sort(), ['from', 'message', 'messageId', 'receivedTimestamp', 'to']);
    assert.match(received.data.messageId, /^Incoming_\d{14}[0-9a-f-]{36}_noam$/);
    assert.equal(received.data.from, from);
    assert.equal(received.data.to, PREOWNED_NUMBER);
    assert.equal(received.data.message, 'STOP');
    const stored = (await hook('messages', 'GET', undefined, s.url)).body.at(-1);
    assert.equal(stored.direction, 'inbound');
    assert.equal(stored.messageId, received.data.messageId);
    // No automatic STOP handling: sending still works.
    assert.equal((await sms({ smsRecipients: [{ to: from }] }, { origin: s.url })).body.value[0].successful, true);
    assert.equal((await hook('inbound', 'POST', { from, to: '+12025550000', message: 'x' }, s.url)).status, 404);
    assert.equal((await hook('inbound', 'POST', { from: 'x', to: PREOWNED_NUMBER, message: 'x' }, s.url)).status, 400);

    // Every delivery is logged.
    const events = (await hook('events', 'GET', undefined, s.url)).body;
    assert.deepEqual(events.map((x) => [x.url, x.eventType, x.status, x.error]), [
      [wh.url, 'Microsoft.EventGrid.SubscriptionValidationEvent', 200, null],
      [wh.url, 'Microsoft.Communication.SMSDeliveryReportReceived', 200, null],
      [wh.url, 'Microsoft.Communication.SMSDeliveryReportReceived', 200, null],
      [wh.url, 'Microsoft.Communication.SMSDeliveryReportReceived', 200, null],
      [wh.url, 'Microsoft.Communication.SMSReceived', 200, null],
    ]);
    assert.equal(events[1].event.data.messageId, messageId);

    // Cleared subscriptions get nothing.
    assert.equal((await hook('event-subscriptions', 'DELETE', undefined, s.url)).status, 204);
    assert.deepEqual((await hook('inbound', 'POST', { from, to: PREOWNED_NUMBER, message: 'hi' }, s.url)).body, []);
  } finally {
    await s.close();
    await wh.close();
  }
});

test('event grid: a webhook that answers the handshake wrongly is refused; manual validation works', async () => {
  const s = await startAcsStandIn();
  const wrongCode = await webhook(() => ({ status: 200, body: { validationResponse: 'nope' } }));
  const wrongStatus = await webhook(() => ({ status: 403, body: { error: 'forbidden' } }));
  const manual = await webhook(async (e) => {
    const r = await fetch(e.data.validationUrl);
    await r.text();
    return { status: 202, body: '' };
  });
  try {
    const a = await hook('event-subscriptions', 'POST', { endpoint: wrongCode.url }, s.url);
    assert.equal(a.status, 400);
    assert.match(a.body.error.message, /answered 200 .*nope.*validationResponse/);
    const b = await hook('event-subscriptions', 'POST', { endpoint: wrongStatus.url }, s.url);
    assert.equal(b.status, 400);
    assert.match(b.body.error.message, /answered 403/);
    const c = await hook('event-subscriptions', 'POST', { endpoint: 'http://127.0.0.1:1/closed' }, s.url);
    assert.equal(c.status, 400);
    assert.match(c.body.error.message, /failed/);
    assert.equal((await hook('event-subscriptions', 'POST', { endpoint: 'not a url' }, s.url)).status, 400);
    assert.deepEqual((await hook('event-subscriptions', 'GET', undefined, s.url)).body, []);

    const m = await hook('event-subscriptions', 'POST', { endpoint: manual.url }, s.url);
    assert.equal(m.status, 201, m.text);
    assert.equal((await hook('validate/00000000-0000-0000-0000-000000000000', 'GET', undefined, s.url)).status, 404);

    // Only the validated one gets events.
    await hook('inbound', 'POST', { from: patient(), to: PREOWNED_NUMBER, message: 'hi' }, s.url);
    assert.equal(manual.notifications().length, 1);
    assert.equal(wrongCode.notifications().length, 0);
  } finally {
    await s.close();
    await Promise.all([wrongCode.close(), wrongStatus.close(), manual.close()]);
  }
});

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

test('numbers: search → purchase as long-running operations; the bought number can send', async () => {
  const s = await startAcsStandIn({ purchaseDelayMs: 400 });
  const api = (method, path, body) => call(method, path, { body, origin: s.url });
  try {
    const listed = await api('GET', `/phoneNumbers?${PHONE_API}`);
    assert.deepEqual(listed.body.phoneNumbers.map((n) => n.phoneNumber), [PREOWNED_NUMBER]);
    const pre = listed.body.phoneNumbers[0];
    assert.deepEqual(Object.keys(pre).sort(), ['assignmentType', 'capabilities', 'cost', 'countryCode', 'id', 'phoneNumber', 'phoneNumberType', 'purchaseDate']);
    assert.equal(pre.id, '18005550100');
    assert.deepEqual(pre.cost, { amount: 2, currencyCode: 'USD', billingFrequency: 'monthly' });

    const request = { phoneNumberType: 'tollFree', assignmentType: 'application', capabilities: { calling: 'none', sms: 'inbound+outbound' }, quantity: 1 };
    const search = await api('POST', `/availablePhoneNumbers/countries/US/:search?${PHONE_API}`, request);
    assert.equal(search.status, 202, search.text);
    assert.equal(search.text, '');
    const searchId = search.headers.get('search-id');
    assert.match(searchId, UUID);
    assert.equal(search.headers.get('operation-id'), `search_${searchId}`);
    assert.equal(search.headers.get('operation-location'), `${s.url}/phoneNumbers/operations/search_${searchId}?${PHONE_API}`);
    assert.equal(search.headers.get('location'), `${s.url}/availablePhoneNumbers/searchResults/${searchId}?${PHONE_API}`);
    assert.equal(search.headers.get('retry-after'), '1');

    const opPath = (url) => new URL(url).pathname + new URL(url).search;
    const searchOp = opPath(search.headers.get('operation-location'));
    const running = await api('GET', searchOp);
    assert.equal(running.status, 200);
    assert.equal(running.body.status, 'running');
    assert.equal(running.body.operationType, 'search');
    assert.equal(running.body.id, `search_${searchId}`);
    assert.equal(running.body.resourceLocation, search.headers.get('location'));
    assert.equal(new Date(running.body.createdDateTime).toISOString(), running.body.createdDateTime);
    assertAcsError(await api('GET', `/availablePhoneNumbers/searchResults/${searchId}?${PHONE_API}`), 404, 'NotFound');
    const done = await until(async () => {
      const r = await api('GET', searchOp);
      return r.body.status === 'succeeded' && r;
    });
    assert.equal(done.headers.get('location'), search.headers.get('location'));

    const result = await api('GET', opPath(search.headers.get('location')));
    assert.equal(result.status, 200);
    assert.equal(result.body.searchId, searchId);
    assert.equal(result.body.phoneNumbers.length, 1);
    const [number] = result.body.phoneNumbers;
    assert.match(number, /^\+18\d{2}5550\d{3}$/);
    assert.notEqual(number, PREOWNED_NUMBER);
    assert.equal(result.body.phoneNumberType, 'tollFree');
    assert.equal(result.body.assignmentType, 'application');
    assert.deepEqual(result.body.capabilities, request.capabilities);
    assert.deepEqual(result.body.cost, { amount: 2, currencyCode: 'USD', billingFrequency: 'monthly' });
    assert.ok(Date.parse(result.body.searchExpiresBy) > Date.now() + 10 * 60_000);

    // A second search does not offer the held number.
    const other = await api('POST', `/availablePhoneNumbers/countries/US/:search?${PHONE_API}`, { ...request, quantity: 3 });
    await until(async () => (await api('GET', opPath(other.headers.get('operation-location')))).body.status === 'succeeded');
    const otherNumbers = (await api('GET', opPath(other.headers.get('location')))).body.phoneNumbers;
    assert.equal(otherNumbers.length, 3);
    assert.ok(!otherNumbers.includes(number));
    assert.equal(new Set(otherNumbers).size, 3);

    const t0 = Date.now();
    const purchase = await api('POST', `/availablePhoneNumbers/:purchase?${PHONE_API}`, { searchId });
    assert.equal(purchase.status, 202, purchase.text);
    assert.equal(purchase.headers.get('operation-id'), `purchase_${searchId}`);
    assert.equal(purchase.headers.get('purchase-id'), searchId);
    const purchaseOp = opPath(purchase.headers.get('operation-location'));
    assert.equal(purchaseOp, `/phoneNumbers/operations/purchase_${searchId}?${PHONE_API}`);
    const p1 = await api('GET', purchaseOp);
    assert.equal(p1.body.status, 'running');
    assert.equal(p1.body.operationType, 'purchase');
    // Not owned yet: listed nowhere, cannot send.
    assertAcsError(await api('GET', `/phoneNumbers/${encodeURIComponent(number)}?${PHONE_API}`), 404, 'NotFound');
    assert.equal((await sms({ from: number, smsRecipients: [{ to: patient() }] }, { origin: s.url })).body.value[0].successful, false);
    assertAcsError(await api('POST', `/availablePhoneNumbers/:purchase?${PHONE_API}`, { searchId }), 409, 'Conflict');

    await until(async () => (await api('GET', purchaseOp)).body.status === 'succeeded');
    assert.ok(Date.now() - t0 >= 390, 'the purchase takes purchaseDelayMs');
    const got = await api('GET', `/phoneNumbers/${encodeURIComponent(number)}?${PHONE_API}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.phoneNumber, number);
    assert.equal(got.body.id, number.slice(1));
    assert.equal(got.body.phoneNumberType, 'tollFree');
    assert.deepEqual(got.body.capabilities, request.capabilities);
    assert.deepEqual((await api('GET', `/phoneNumbers?${PHONE_API}`)).body.phoneNumbers.map((n) => n.phoneNumber), [PREOWNED_NUMBER, number]);
    assert.deepEqual((await hook('numbers', 'GET', undefined, s.url)).body.map((n) => n.phoneNumber), [PREOWNED_NUMBER, number]);
    const sent = await sms({ from: number, smsRecipients: [{ to: patient() }] }, { origin: s.url });
    assert.equal(sent.body.value[0].successful, true, sent.text);

    // Errors.
    assertAcsError(await api('POST', `/availablePhoneNumbers/:purchase?${PHONE_API}`, { searchId: uuid() }), 404, 'NotFound');
    assertAcsError(await api('GET', `/phoneNumbers/operations/search_nope?${PHONE_API}`), 404, 'NotFound');
    assertAcsError(await api('POST', `/availablePhoneNumbers/countries/GB/:search?${PHONE_API}`, request), 400, 'BadRequest');
    assertAcsError(await api('POST', `/availablePhoneNumbers/countries/US/:search?${PHONE_API}`, { ...request, phoneNumberType: 'mobile' }), 400, 'BadRequest');
    assertAcsError(await api('POST', `/availablePhoneNumbers/countries/US/:search?${PHONE_API}`, { ...request, capabilities: { sms: 'both' } }), 400, 'BadRequest');
    // Geographic numbers in an area code.
    const geo = await api('POST', `/availablePhoneNumbers/countries/US/:search?${PHONE_API}`, { ...request, phoneNumberType: 'geographic', areaCode: '206' });
    await until(async () => (await api('GET', opPath(geo.headers.get('operation-location')))).body.status === 'succeeded');
    assert.match((await api('GET', opPath(geo.headers.get('location')))).body.phoneNumbers[0], /^\+12065550\d{3}$/);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------

test('email: 202 Running with Operation-Location, Succeeded after; a repeated Operation-Id is not sent again', async () => {
  const operationId = uuid();
  const res = await email({}, { headers: { 'operation-id': operationId } });
  assert.equal(res.status, 202, res.text);
  assert.deepEqual(res.body, { id: operationId, status: 'Running' });
  assert.equal(res.headers.get('operation-location'), `${acs.url}/emails/operations/${operationId}?${EMAIL_API}`);
  assert.equal(res.headers.get('operation-id'), operationId);
  assert.equal(res.headers.get('retry-after'), '1');

  const again = await email({ content: { subject: 'Different', plainText: 'x' } }, { headers: { 'operation-id': operationId } });
  assert.equal(again.status, 202);
  assert.equal(again.body.id, operationId);
  const mine = (await hook('emails')).body.filter((e) => e.id === operationId);
  assert.equal(mine.length, 1, 'sent once');
  assert.deepEqual(Object.keys(mine[0]).sort(), ['at', 'bcc', 'cc', 'html', 'id', 'plainText', 'senderAddress', 'status', 'subject', 'to']);
  assert.equal(mine[0].subject, 'Your visit');
  assert.deepEqual(mine[0].to, ['pat@example.org']);
  assert.equal(mine[0].senderAddress, 'DoNotReply@clinic.example');
  assert.match(mine[0].plainText, /https:\/\/visits\.example\.org\/j\/abc/);
  assert.match(mine[0].html, /<a href=/);

  const status = async (id) => call('GET', `/emails/operations/${id}?${EMAIL_API}`);
  const done = await until(async () => { const r = await status(operationId); return r.body.status === 'Succeeded' && r; });
  assert.deepEqual(done.body, { id: operationId, status: 'Succeeded' });
  const repeat = await email({}, { headers: { 'operation-id': operationId } });
  assert.deepEqual(repeat.body, { id: operationId, status: 'Succeeded' });
  assertAcsError(await status(uuid()), 404, 'NotFound');

  // Without Operation-Id the stand-in picks one.
  const picked = await email();
  assert.match(picked.body.id, UUID);
  assert.equal(picked.headers.get('operation-id'), picked.body.id);

  for (const [body, headers, pattern] of [
    [{ senderAddress: 'not-an-address' }, {}, /senderAddress/],
    [{ recipients: { to: [] } }, {}, /recipients\.to/],
    [{ recipients: { to: [{ address: 'bad@' }] } }, {}, /valid email/],
    [{ recipients: { to: [{ address: 'a@example.org' }], cc: [{ address: 'x' }] } }, {}, /recipients\.cc/],
    [{ content: { plainText: 'x' } }, {}, /subject/],
    [{ content: { subject: 'x' } }, {}, /plainText or html/],
    [{}, { 'operation-id': 'abc' }, /Operation-Id/],
  ]) {
    const bad = await email(body, { headers });
    assert.equal(bad.status, 400, `${JSON.stringify(body)} → ${bad.text}`);
    assert.match(bad.body.error.message, pattern);
  }
});

// ---------------------------------------------------------------------------------------------
// Failure injection
// ---------------------------------------------------------------------------------------------

test('failures: 429 with Retry-After, 500, per target, and nothing is recorded', async () => {
  const s = await startAcsStandIn();
  try {
    const to = patient();
    const recipient = { to, repeatabilityRequestId: uuid(), repeatabilityFirstSent: new Date().toUTCString() };
    const set = await hook('fail', 'POST', { target: 'sms', count: 1, status: 429 }, s.url);
    assert.equal(set.status, 200);
    assert.equal(set.body.target, 'sms');
    assert.equal(set.body.count, 1);
    const email0 = await email({}, { origin: s.url });
    assert.equal(email0.status, 202, 'the sms target leaves email alone');
    const limited = await sms({ smsRecipients: [recipient] }, { origin: s.url });
    assertAcsError(limited, 429, 'TooManyRequests');
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.deepEqual((await hook('messages', 'GET', undefined, s.url)).body, []);
    // The failed try did not record the repeatability id: the retry is sent.
    const retried = await sms({ smsRecipients: [recipient] }, { origin: s.url });
    assert.equal(retried.body.value[0].repeatabilityResult, 'accepted');

    await hook('fail', 'POST', { target: 'email', count: 1 }, s.url);
    const operationId = uuid();
    assertAcsError(await email({}, { origin: s.url, headers: { 'operation-id': operationId } }), 500, 'InternalServerError');
    assertAcsError(await call('GET', `/emails/operations/${operationId}?${EMAIL_API}`, { origin: s.url }), 404, 'NotFound');
    assert.equal((await email({}, { origin: s.url, headers: { 'operation-id': operationId } })).status, 202);

    // "all" (the default): both, each its own count.
    await hook('fail', 'POST', { count: 1, status: 503 }, s.url);
    assert.equal((await sms({ smsRecipients: [{ to }] }, { origin: s.url })).status, 503);
    assert.equal((await email({}, { origin: s.url })).status, 503);
    assert.equal((await sms({ smsRecipients: [{ to }] }, { origin: s.url })).status, 202);

    // A seeded rate is repeatable.
    const pattern = async () => {
      await hook('fail', 'POST', { target: 'sms', rate: 0.5, seed: 7, status: 500 }, s.url);
      const out = [];
      for (let i = 0; i < 12; i += 1) out.push((await sms({ smsRecipients: [{ to }] }, { origin: s.url })).status);
      return out;
    };
    const p1 = await pattern();
    assert.deepEqual(await pattern(), p1);
    assert.ok(p1.includes(500) && p1.includes(202), p1.join());
    await hook('fail', 'POST', { target: 'sms', rate: 0 }, s.url);

    for (const body of [{ target: 'voice' }, { status: 200 }, { status: 'slow' }, { rate: 2 }, { count: -1 }]) {
      assert.equal((await hook('fail', 'POST', body, s.url)).status, 400, JSON.stringify(body));
    }
    // Hooks and GETs are never failed.
    await hook('fail', 'POST', { count: 5 }, s.url);
    assert.equal((await call('GET', `/phoneNumbers?${PHONE_API}`, { origin: s.url })).status, 200);
  } finally {
    await s.close();
  }
});

test('failures: timeout_after_accept records the send, so a retry is deduplicated; timeout records nothing', async () => {
  const s = await startAcsStandIn();
  try {
    const to = patient();
    const recipient = { to, repeatabilityRequestId: uuid(), repeatabilityFirstSent: new Date().toUTCString() };
    await hook('fail', 'POST', { target: 'sms', count: 1, status: 'timeout_after_accept' }, s.url);
    const t0 = Date.now();
    await assert.rejects(sms({ smsRecipients: [recipient] }, { origin: s.url, signal: AbortSignal.timeout(150) }), { name: 'TimeoutError' });
    assert.ok(Date.now() - t0 < 1000);
    const stored = (await hook('messages', 'GET', undefined, s.url)).body;
    assert.equal(stored.length, 1, 'accepted before the timeout');
    const retry = await sms({ smsRecipients: [recipient] }, { origin: s.url });
    assert.equal(retry.body.value[0].repeatabilityResult, 'rejected');
    assert.equal(retry.body.value[0].messageId, stored[0].messageId);
    assert.equal((await hook('messages', 'GET', undefined, s.url)).body.length, 1, 'not sent twice');

    const operationId = uuid();
    await hook('fail', 'POST', { target: 'email', count: 1, status: 'timeout_after_accept' }, s.url);
    await assert.rejects(email({}, { origin: s.url, headers: { 'operation-id': operationId }, signal: AbortSignal.timeout(150) }));
    const op = await call('GET', `/emails/operations/${operationId}?${EMAIL_API}`, { origin: s.url });
    assert.equal(op.status, 200, 'the gateway can learn the timed-out send was accepted');
    assert.equal(op.body.id, operationId);
    assert.equal((await email({}, { origin: s.url, headers: { 'operation-id': operationId } })).status, 202);
    assert.equal((await hook('emails', 'GET', undefined, s.url)).body.length, 1);

    await hook('fail', 'POST', { count: 1, status: 'timeout' }, s.url);
    const lost = { ...recipient, repeatabilityRequestId: uuid() };
    await assert.rejects(sms({ smsRecipients: [lost] }, { origin: s.url, signal: AbortSignal.timeout(150) }));
    const lostOp = uuid();
    await assert.rejects(email({}, { origin: s.url, headers: { 'operation-id': lostOp }, signal: AbortSignal.timeout(150) }));
    assert.equal((await hook('messages', 'GET', undefined, s.url)).body.length, 1);
    assertAcsError(await call('GET', `/emails/operations/${lostOp}?${EMAIL_API}`, { origin: s.url }), 404, 'NotFound');
    const log = (await hook('requests', 'GET', undefined, s.url)).body.filter((r) => r.method === 'POST');
    assert.deepEqual(log.map((r) => r.status), [null, 202, null, 202, null, null], 'timed-out requests were never answered');
  } finally {
    await s.close(); // also ends anything still held open
  }
});

test('failures: undelivered email ends Failed', async () => {
  const s = await startAcsStandIn();
  try {
    await hook('fail', 'POST', { target: 'email', count: 1, status: 'undelivered' }, s.url);
    const res = await email({}, { origin: s.url });
    assert.equal(res.status, 202);
    const op = await until(async () => {
      const r = await call('GET', `/emails/operations/${res.body.id}?${EMAIL_API}`, { origin: s.url });
      return r.body.status !== 'Running' && r;
    });
    assert.equal(op.body.status, 'Failed');
    assert.equal(typeof op.body.error.code, 'string');
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Outbox page, request log, CLI
// ---------------------------------------------------------------------------------------------

test('outbox page: texts and emails newest first, links clickable, HTML escaped, email HTML sandboxed', async () => {
  const s = await startAcsStandIn();
  try {
    await sms({ smsRecipients: [{ to: patient() }], message: 'older text' }, { origin: s.url });
    await sms({ smsRecipients: [{ to: patient() }], message: 'Join: https://visits.example.org/j/Ab3dE9. <script>alert(1)</script> & more' }, { origin: s.url });
    await email({
      content: {
        subject: 'Visit <b>today</b>',
        plainText: 'Join https://visits.example.org/j/Zz9 <img src=x onerror=alert(2)>',
        html: '<p onclick="alert(3)">Join <a href="https://visits.example.org/j/Zz9?a=1&amp;b=2">here</a></p><script>alert(4)</script>',
      },
    }, { origin: s.url });
    const res = await fetch(`${s.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const page = await res.text();
    assert.match(page, /<html lang="en">/);
    assert.match(page, /<meta http-equiv="refresh" content="5">/);
    assert.match(page, /<main>[\s\S]*<\/main>/);
    assert.match(page, /<h1>[^<]+<\/h1>/);
    assert.ok(!/<script/i.test(page), 'no script element on the page');
    assert.ok(!page.includes('<img'), 'no markup from a text');
    assert.ok(!page.includes('<b>today'), 'subject escaped');
    assert.ok(page.includes('<a href="https://visits.example.org/j/Ab3dE9">https://visits.example.org/j/Ab3dE9</a>. &lt;script&gt;alert(1)&lt;/script&gt; &amp; more'));
    assert.ok(page.indexOf('Ab3dE9') < page.indexOf('older text'), 'newest first');
    assert.ok(page.includes('<a href="https://visits.example.org/j/Zz9">https://visits.example.org/j/Zz9</a> &lt;img src=x onerror=alert(2)&gt;'));
    const iframe = /<iframe sandbox="" srcdoc="([^"]*)"/.exec(page);
    assert.ok(iframe, 'the HTML body is in a sandboxed iframe');
    assert.ok(iframe[1].includes('&lt;p onclick=&quot;alert(3)&quot;&gt;'));
    assert.ok(iframe[1].includes('&lt;script&gt;alert(4)&lt;/script&gt;'));
    assert.ok(page.includes('<a href="https://visits.example.org/j/Zz9?a=1&amp;b=2">'), 'links of the HTML body listed');
    assert.ok(page.includes(PREOWNED_NUMBER));
  } finally {
    await s.close();
  }
});

test('request log: API calls logged with timings and status, hooks not; delayMs delays API calls only', async () => {
  const s = await startAcsStandIn({ delayMs: 100 });
  try {
    const t0 = Date.now();
    await hook('messages', 'GET', undefined, s.url);
    assert.ok(Date.now() - t0 < 90, 'hooks are not delayed');
    const t1 = Date.now();
    await sms({ smsRecipients: [{ to: patient() }] }, { origin: s.url });
    assert.ok(Date.now() - t1 >= 95, 'API calls are delayed');
    await call('GET', `/phoneNumbers?${PHONE_API}`, { origin: s.url, sign: { accessKey: Buffer.from('x').toString('base64') } });
    const log = (await hook('requests', 'GET', undefined, s.url)).body;
    assert.deepEqual(log.map((e) => [e.method, e.path, e.status]), [
      ['POST', `/sms?${SMS_API}`, 202],
      ['GET', `/phoneNumbers?${PHONE_API}`, 401],
    ]);
    for (const e of log) {
      assert.deepEqual(Object.keys(e), ['method', 'path', 'at', 'start_ms', 'end_ms', 'status']);
      assert.ok(e.end_ms - e.start_ms >= 95);
    }
    assert.equal((await hook('requests', 'DELETE', undefined, s.url)).status, 204);
    assert.deepEqual((await hook('requests', 'GET', undefined, s.url)).body, []);
    for (const what of ['messages', 'emails', 'events']) {
      assert.equal((await hook(what, 'DELETE', undefined, s.url)).status, 204);
      assert.deepEqual((await hook(what, 'GET', undefined, s.url)).body, []);
    }
    assert.equal((await hook('nope', 'GET', undefined, s.url)).status, 404);
    const wrongMethod = await call('DELETE', `/sms?${SMS_API}`, { origin: s.url });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
  } finally {
    await s.close();
  }
});

test('CLI prints READY, takes the access key and delay flags, and exits on SIGTERM', async () => {
  const key = Buffer.from('cli-access-key').toString('base64');
  const cli = await startCli(new URL('./acs.mjs', import.meta.url), ['--port', '0', '--access-key', key, '--delay-ms', '0', '--purchase-delay-ms', '10']);
  try {
    const ok = await call('GET', `/phoneNumbers?${PHONE_API}`, { origin: cli.url, sign: { accessKey: key } });
    assert.equal(ok.status, 200);
    assert.equal((await call('GET', `/phoneNumbers?${PHONE_API}`, { origin: cli.url })).status, 401, 'the default key is not this one');
  } finally {
    await cli.stop();
  }
});
