// Stand-in for Azure Communication Services (one Communication Services resource whose endpoint
// is this server's origin): SMS, Phone Numbers and Email data-plane APIs, and Event Grid delivery
// of the resource's SMS events to webhooks. A real HTTP server with no npm dependencies.
//
// Wire shapes are those of https://<resource>.communication.azure.com, so that moving to ACS is a
// configuration change (endpoint and access key):
//   POST /sms?api-version=2021-03-07                                        send SMS
//   POST /availablePhoneNumbers/countries/{countryCode}/:search?api-version=2022-12-01
//                                                                           search (long-running)
//   GET  /availablePhoneNumbers/searchResults/{searchId}?api-version=2022-12-01
//   POST /availablePhoneNumbers/:purchase?api-version=2022-12-01            purchase (long-running)
//   GET  /phoneNumbers/operations/{operationId}?api-version=2022-12-01      operation status
//   GET  /phoneNumbers?api-version=2022-12-01[&skip&top]                    {phoneNumbers, nextLink?}
//   GET  /phoneNumbers/{number, e.g. %2B18005550100}?api-version=2022-12-01
//   POST /emails:send?api-version=2023-03-31            (optional Operation-Id header, a UUID)
//   GET  /emails/operations/{operationId}?api-version=2023-03-31
// Every one needs ACS's HMAC-SHA256 signature (x-ms-date within 15 minutes, x-ms-content-sha256
// of the body received, Authorization over "METHOD\npath?query\ndate;host;hash" keyed with the
// base64-decoded access key; see signAcsRequest), else 401 {"error":{"code":"Denied",…}} whose
// message says which check failed. Errors are ACS's {"error":{"code","message"}}.
//
// SMS: `from` must be a number the resource owns (+18005550100 from the start, or one bought),
// else that recipient fails (httpStatusCode 400 in the 202 answer). A repeatabilityRequestId seen
// in the last 24 h is not sent again: that recipient answers its first messageId with
// repeatabilityResult "rejected". With smsSendOptions.enableDeliveryReport, an
// SMSDeliveryReportReceived event goes to every webhook ~50 ms later. Numbers bought through
// search + purchase become owned when the purchase operation succeeds (searches take
// purchaseDelayMs / 4, purchases purchaseDelayMs). An email goes Running → Succeeded after ~50 ms;
// a repeated Operation-Id is not sent again (202 with the same id and its current status).
//
// Event Grid (Event Grid schema): POST /_acs/event-subscriptions {endpoint} does the validation
// handshake (aeg-event-type: SubscriptionValidation; the endpoint must answer 200
// {"validationResponse": code}, or GET the validationUrl while the handshake is in flight, Event
// Grid's manual validation); events are then POSTed as a one-event array with aeg-event-type:
// Notification. A delivery is tried once (no retries) and logged in /_acs/events.
//
// GET / is an outbox page for people running the demo (texts and emails, newest first).
//
// Test hooks under /_acs/ (no signature, never logged, delayed or failed):
//   GET    /_acs/requests    request log [{method, path, at, start_ms, end_ms, status}]; DELETE clears
//   GET    /_acs/messages    texts, oldest first [{messageId, direction, from, to, message, tag,
//                            repeatabilityRequestId, at, deliveryStatus}]; DELETE clears
//   GET    /_acs/emails      [{id, senderAddress, to, cc, bcc, subject, plainText, html, at, status}];
//                            DELETE clears
//   GET    /_acs/events      Event Grid deliveries [{url, id, eventType, subject, at, status, error,
//                            event}] (handshakes included); DELETE clears
//   GET    /_acs/numbers     owned numbers (PurchasedPhoneNumber resources)
//   GET    /_acs/event-subscriptions; POST {endpoint} (handshake, then 201 {endpoint, validated}
//                            or 400 {error}); DELETE clears
//   GET    /_acs/validate/{code}   Event Grid's validationUrl
//   POST   /_acs/fail        {target?: "sms"|"email"|"all", count?, rate?, seed?, status?}: the next
//                            `count` sends of the target fail, then each with probability `rate`
//                            (seeded PRNG); "all" gives SMS and email each these settings. status:
//                            500 (default) or any 400..599 (429 and 503 with Retry-After: 1),
//                            "timeout_after_accept", "timeout", "undelivered"
//   POST   /_acs/inbound     {from, to, message}: a text arrives at owned number `to`; delivers
//                            SMSReceived; answers 200 [{endpoint, status, error?}]
//
// CLI:    node tests/standins/acs.mjs [--port 8793] [--host 127.0.0.1] [--access-key <base64>]
//           [--delay-ms 0] [--purchase-delay-ms 0]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close } = await startAcsStandIn({ port: 0 });

import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { parseArgs } from 'node:util';

import { describeFailures, drawFailure, hang, noFailures, parseFailures } from './lib/failures.mjs';
import { escapeHtml, noContent, send, wait } from './lib/http.mjs';
import { TooLarge, epochMs, httpOut, isWebUrl, parseJsonObject, readBytes, readJsonObject } from './lib/io.mjs';
import { emailArticle, outboxPage, textsTable } from './lib/outbox.mjs';
import { hookPaths, logRequest, matchRoute } from './lib/routing.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';
import { segments } from './sms.mjs';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** The access key used unless another is given: base64 of "dev-acs-access-key-0123456789abcdef". */
export const DEV_ACS_ACCESS_KEY = Buffer.from('dev-acs-access-key-0123456789abcdef').toString('base64');

/** The toll-free number the resource owns from the start. */
export const PREOWNED_NUMBER = '+18005550100';

export const API_VERSIONS = Object.freeze({ sms: '2021-03-07', phoneNumbers: '2022-12-01', email: '2023-03-31' });

/** The Event Grid topic of the resource's events. */
export const EVENT_TOPIC = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/visitgate-standin'
  + '/providers/Microsoft.Communication/communicationServices/visitgate-standin';

const MAX_CLOCK_SKEW_MS = 15 * 60_000;
const REPEATABILITY_MS = 24 * 3600_000;
const SEARCH_TTL_MS = 15 * 60_000;
/** An SMS is delivered (and reported), an email Succeeded, this long after acceptance. */
const SETTLE_MS = 50;
/** Event Grid waits 30 s for a webhook. */
const WEBHOOK_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_EMAIL_RECIPIENTS = 50;
const SIGNED_HEADERS = 'x-ms-date;host;x-ms-content-sha256';
const TOLL_FREE_AREA_CODES = ['800', '833', '844', '855', '866', '877', '888'];
const CAPABILITY_VALUES = ['none', 'inbound', 'outbound', 'inbound+outbound'];
const NUMBER_COST = Object.freeze({ amount: 2, currencyCode: 'USD', billingFrequency: 'monthly' });

const E164 = /^\+[1-9]\d{1,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC1123 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:".]+$/;

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

const sha256Base64 = (bytes) => createHash('sha256').update(bytes).digest('base64');

const bodyBytes = (body) => (body === undefined || body === null ? Buffer.alloc(0)
  : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body));

/** ACS's string to sign: `${METHOD}\n${pathAndQuery}\n${date};${host};${contentHash}`. */
export const acsStringToSign = (method, pathAndQuery, date, host, contentHash) =>
  `${method.toUpperCase()}\n${pathAndQuery}\n${date};${host};${contentHash}`;

const hmacBase64 = (accessKey, text) =>
  createHmac('sha256', Buffer.from(accessKey, 'base64')).update(text, 'utf8').digest('base64');

/**
 * The headers that sign a request to ACS: {x-ms-date, x-ms-content-sha256, authorization}. `body`
 * is the exact text or bytes that will be sent (none for GET); `date` a Date (default now) or a
 * ready x-ms-date string. The host signed is `new URL(url).host`, what fetch sends as Host.
 */
export function signAcsRequest({ method = 'GET', url, body, accessKey = DEV_ACS_ACCESS_KEY, date = new Date() }) {
  const u = new URL(url);
  const xmsDate = typeof date === 'string' ? date : new Date(date).toUTCString();
  const contentHash = sha256Base64(bodyBytes(body));
  const signature = hmacBase64(accessKey, acsStringToSign(method, u.pathname + u.search, xmsDate, u.host, contentHash));
  return {
    'x-ms-date': xmsDate,
    'x-ms-content-sha256': contentHash,
    authorization: `HMAC-SHA256 SignedHeaders=${SIGNED_HEADERS}&Signature=${signature}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Answers and errors
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=utf-8';

const json = (status, value, headers = {}) =>
  ({ status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) });

/** ACS's CommunicationErrorResponse. */
const acsError = (status, code, message, headers = {}) => json(status, { error: { code, message } }, headers);
const badRequest = (message) => acsError(400, 'BadRequest', message);
const notFound = (message) => acsError(404, 'NotFound', message);

/** 202 with no body (search and purchase answers). */
const accepted = (headers) => ({ status: 202, headers, body: '' });

const hookJson = (status, value) => ({ status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(value, null, 2) });
const hookError = (status, message) => hookJson(status, { error: { code: status === 404 ? 'NotFound' : 'BadRequest', message } });

class ReplyError extends Error {
  constructor(reply) {
    super('reply');
    this.reply = reply;
  }
}
const fail = (reply) => { throw new ReplyError(reply); };

/** The answer to an injected numeric failure. */
function injectedError(status) {
  const words = STATUS_CODES[status] ?? 'Error';
  const code = { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' }[status]
    ?? words.replace(/[^A-Za-z0-9 ]/g, '').replace(/(?:^|\s+)(\w)/g, (_, c) => c.toUpperCase());
  const headers = status === 429 || status === 503 ? { 'retry-after': '1' } : {};
  return acsError(status, code, `${words} (injected failure)`, headers);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const iso = (ms) => new Date(ms).toISOString();
/** "20240518093012": ACS message ids start with the UTC time. */
const stamp = (ms) => iso(ms).replace(/\D/g, '').slice(0, 14);
const newMessageId = (direction) => `${direction}_${stamp(Date.now())}${randomUUID()}_noam`;
const capabilityHas = (value, direction) => value === direction || value === 'inbound+outbound';

function requireApiVersion(ctx, version) {
  const got = ctx.url.searchParams.get('api-version');
  if (got === null) fail(acsError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests."));
  if (got !== version) {
    fail(acsError(400, 'UnsupportedApiVersion', `The api-version '${got}' is not supported here; use '${version}'.`));
  }
}

/** The request body (already read for the signature check) as a JSON object, else 400. */
function jsonBody(ctx) {
  const value = parseJsonObject(ctx.rawBody.toString('utf8'));
  if (!value) fail(badRequest('The request body must be a JSON object.'));
  return value;
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

function authenticate(ctx) {
  const h = ctx.req.headers;
  const deny = (why) => fail(acsError(401, 'Denied', `Denied by the resource provider. ${why}`));
  const auth = /^HMAC-SHA256 SignedHeaders=([^&\s]+)&Signature=(\S+)$/.exec(h.authorization ?? '');
  if (!auth) deny('The Authorization header is missing or not of the form "HMAC-SHA256 SignedHeaders=…&Signature=…".');
  if (auth[1].toLowerCase() !== SIGNED_HEADERS) deny(`SignedHeaders must be ${SIGNED_HEADERS}, got ${auth[1]}.`);
  const date = h['x-ms-date'];
  if (!date) deny('The x-ms-date header is missing.');
  if (!RFC1123.test(date)) deny(`x-ms-date is not an RFC 1123 date (like "${new Date().toUTCString()}"): ${date}`);
  if (Math.abs(Date.parse(date) - Date.now()) > MAX_CLOCK_SKEW_MS) deny(`x-ms-date is more than 15 minutes from now: ${date}`);
  const contentHash = h['x-ms-content-sha256'];
  if (!contentHash) deny('The x-ms-content-sha256 header is missing.');
  if (contentHash !== sha256Base64(ctx.rawBody)) {
    deny(`x-ms-content-sha256 is not the base64 SHA-256 of the ${ctx.rawBody.length}-byte body received.`);
  }
  if (!h.host) deny('The Host header is missing.');
  const stringToSign = acsStringToSign(ctx.req.method, ctx.req.url, date, h.host, contentHash);
  const expected = Buffer.from(hmacBase64(ctx.options.accessKey, stringToSign), 'base64');
  const given = Buffer.from(auth[2], 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    deny(`The signature does not match: HMAC-SHA256 with the resource's access key over ${JSON.stringify(stringToSign)}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Event Grid
// ---------------------------------------------------------------------------------------------

const aegHeaders = (type, dataVersion) => ({
  'content-type': 'application/json',
  'aeg-event-type': type,
  'aeg-subscription-name': 'VISITGATE-STANDIN',
  'aeg-delivery-count': '0',
  'aeg-data-version': dataVersion,
  'aeg-metadata-version': '1',
});

/** POST `events` (an array) to `url`, logged in state.events. Resolves {entry, answer?}. */
async function deliver(state, url, type, events) {
  const [event] = events;
  const entry = {
    url, id: event.id, eventType: event.eventType, subject: event.subject, at: new Date().toISOString(),
    status: null, error: null, event,
  };
  state.events.push(entry);
  try {
    const answer = await httpOut(url, {
      method: 'POST', headers: aegHeaders(type, event.dataVersion), body: JSON.stringify(events), timeoutMs: WEBHOOK_TIMEOUT_MS,
    }, state.closing.signal);
    entry.status = answer.status;
    return { entry, answer };
  } catch (err) {
    entry.error = err.code === 'TIMEOUT' ? 'timeout' : String(err.message ?? err);
    return { entry };
  }
}

/** Send one event to every subscription. Resolves [{endpoint, status, error?}]. */
async function publish(state, { id, subject, eventType, data }) {
  const event = {
    id, topic: EVENT_TOPIC, subject, data, eventType, dataVersion: '1.0', metadataVersion: '1', eventTime: new Date().toISOString(),
  };
  const results = await Promise.all([...state.subscriptions.keys()].map((url) => deliver(state, url, 'Notification', [event])));
  return results.map(({ entry: { url, status, error } }) => ({ endpoint: url, status, ...(error ? { error } : {}) }));
}

async function subscribeHook(ctx) {
  const body = await readJsonObject(ctx.req, MAX_BODY_BYTES);
  if (!body || !isWebUrl(body.endpoint)) return hookError(400, 'body must be a JSON object {endpoint: "http(s)://…"}');
  const { endpoint } = body;
  const code = randomUUID();
  const pending = { manual: false };
  ctx.state.pendingValidations.set(code, pending);
  let result;
  try {
    result = await deliver(ctx.state, endpoint, 'SubscriptionValidation', [{
      id: randomUUID(),
      topic: EVENT_TOPIC,
      subject: '',
      data: { validationCode: code, validationUrl: `${ctx.origin}/_acs/validate/${code}` },
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
      eventTime: new Date().toISOString(),
      metadataVersion: '1',
      dataVersion: '1',
    }]);
  } finally {
    ctx.state.pendingValidations.delete(code);
  }
  const { entry, answer } = result;
  const echoed = answer?.status === 200 && parseJsonObject(answer.body)?.validationResponse === code;
  if (!echoed && !pending.manual) {
    const what = entry.error ? `failed: ${entry.error}`
      : `answered ${answer.status} ${JSON.stringify(answer.body.slice(0, 300))}, not 200 {"validationResponse":"${code}"}`;
    return hookError(400, `Webhook validation handshake with ${endpoint} ${what}`);
  }
  ctx.state.subscriptions.set(endpoint, { endpoint, validated: true, at: new Date().toISOString() });
  return hookJson(201, { endpoint, validated: true });
}

function validateHook(ctx) {
  const pending = ctx.state.pendingValidations.get(ctx.params.code);
  if (!pending) return hookError(404, 'no handshake in flight with this validation code');
  pending.manual = true;
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Webhook successfully validated as a part of Event Grid subscription creation.' };
}

// ---------------------------------------------------------------------------------------------
// SMS
// ---------------------------------------------------------------------------------------------

function checkSmsRequest(body) {
  const { from, smsRecipients, message, smsSendOptions = {} } = body;
  if (typeof from !== 'string' || from === '') fail(badRequest('from is required.'));
  if (!E164.test(from)) fail(badRequest(`from must be a phone number in E.164 format: ${from}`));
  if (typeof message !== 'string' || message === '') fail(badRequest('message is required.'));
  if (!Array.isArray(smsRecipients) || smsRecipients.length === 0) fail(badRequest('smsRecipients must have at least one recipient.'));
  if (smsSendOptions === null || typeof smsSendOptions !== 'object' || Array.isArray(smsSendOptions)) {
    fail(badRequest('smsSendOptions must be an object.'));
  }
  const { enableDeliveryReport = false, tag } = smsSendOptions;
  if (typeof enableDeliveryReport !== 'boolean') fail(badRequest('smsSendOptions.enableDeliveryReport must be a boolean.'));
  if (tag !== undefined && tag !== null && typeof tag !== 'string') fail(badRequest('smsSendOptions.tag must be a string.'));
  const recipients = smsRecipients.map((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.to !== 'string') fail(badRequest(`smsRecipients[${i}].to is required.`));
    if (!E164.test(r.to)) fail(badRequest(`smsRecipients[${i}].to must be a phone number in E.164 format: ${r.to}`));
    const id = r.repeatabilityRequestId;
    const firstSent = r.repeatabilityFirstSent;
    if ((id === undefined) !== (firstSent === undefined)) {
      fail(badRequest(`smsRecipients[${i}]: repeatabilityRequestId and repeatabilityFirstSent go together (both or neither).`));
    }
    if (id !== undefined && (typeof id !== 'string' || !UUID.test(id))) {
      fail(badRequest(`smsRecipients[${i}].repeatabilityRequestId must be a UUID: ${id}`));
    }
    if (firstSent !== undefined && (typeof firstSent !== 'string' || !RFC1123.test(firstSent) || Number.isNaN(Date.parse(firstSent)))) {
      fail(badRequest(`smsRecipients[${i}].repeatabilityFirstSent must be an RFC 1123 date (like "${new Date().toUTCString()}"): ${firstSent}`));
    }
    return { to: r.to, repeatabilityRequestId: id ?? null };
  });
  return { from, message, recipients, enableDeliveryReport, tag: tag ?? null };
}

function forgetOldRepeatability(state) {
  const cutoff = Date.now() - REPEATABILITY_MS;
  for (const [id, seen] of state.repeatability) if (seen.atMs < cutoff) state.repeatability.delete(id);
}

/** One recipient of a send: its item of the answer's `value`. */
function sendOne(ctx, request, { to, repeatabilityRequestId }, undelivered) {
  const { state } = ctx;
  const seen = repeatabilityRequestId && state.repeatability.get(repeatabilityRequestId);
  if (seen) return { to, messageId: seen.messageId, httpStatusCode: 202, repeatabilityResult: 'rejected', successful: true };
  const number = state.numbers.get(request.from);
  if (!number) {
    return { to, httpStatusCode: 400, successful: false, errorMessage: `The from number ${request.from} is not a phone number of this Communication Services resource.` };
  }
  if (!capabilityHas(number.capabilities.sms, 'outbound')) {
    return { to, httpStatusCode: 400, successful: false, errorMessage: `The from number ${request.from} cannot send SMS (sms capability ${number.capabilities.sms}).` };
  }
  const record = {
    messageId: newMessageId('Outgoing'),
    direction: 'outbound',
    from: request.from,
    to,
    message: request.message,
    tag: request.tag,
    repeatabilityRequestId,
    at: new Date().toISOString(),
    deliveryStatus: null,
  };
  state.messages.push(record);
  if (repeatabilityRequestId) state.repeatability.set(repeatabilityRequestId, { messageId: record.messageId, atMs: Date.now() });
  settleSms(state, record, request.enableDeliveryReport, undelivered);
  return { to, messageId: record.messageId, httpStatusCode: 202, repeatabilityResult: 'accepted', successful: true };
}

/** ~SETTLE_MS after acceptance: delivered (or not), reported to the webhooks if asked. */
async function settleSms(state, record, report, undelivered) {
  try {
    await wait(SETTLE_MS, state.closing.signal);
  } catch {
    return; // closing
  }
  record.deliveryStatus = undelivered ? 'Failed' : 'Delivered';
  if (!report) return;
  const parts = segments(record.message).segments;
  const now = new Date().toISOString();
  await publish(state, {
    id: record.messageId,
    subject: `/phonenumber/${record.to.slice(1)}`,
    eventType: 'Microsoft.Communication.SMSDeliveryReportReceived',
    data: {
      messageId: record.messageId,
      from: record.from,
      to: record.to,
      deliveryStatus: record.deliveryStatus,
      deliveryStatusDetails: undelivered ? 'Unreachable destination handset.' : 'No error.',
      deliveryAttempts: [{ timestamp: now, segmentsSucceeded: undelivered ? 0 : parts, segmentsFailed: undelivered ? parts : 0 }],
      receivedTimestamp: now,
      ...(record.tag !== null ? { tag: record.tag } : {}),
    },
  });
}

async function sendSms(ctx) {
  requireApiVersion(ctx, API_VERSIONS.sms);
  const request = checkSmsRequest(jsonBody(ctx));
  const failure = drawFailure(ctx.state.failures.sms);
  if (failure === 'timeout') return hang(ctx.signal, ctx.res);
  if (typeof failure === 'number') return injectedError(failure);
  forgetOldRepeatability(ctx.state);
  const value = request.recipients.map((r) => sendOne(ctx, request, r, failure === 'undelivered'));
  if (failure === 'timeout_after_accept') return hang(ctx.signal, ctx.res);
  return json(202, { value });
}

async function inboundHook(ctx) {
  const body = await readJsonObject(ctx.req, MAX_BODY_BYTES);
  if (!body) return hookError(400, 'body must be a JSON object {from, to, message}');
  const { from, to, message } = body;
  if (typeof from !== 'string' || !E164.test(from)) return hookError(400, 'from must be a phone number in E.164 format');
  if (typeof to !== 'string' || !E164.test(to)) return hookError(400, 'to must be a phone number in E.164 format');
  if (typeof message !== 'string') return hookError(400, 'message must be a string');
  if (!ctx.state.numbers.has(to)) return hookError(404, `${to} is not a number of this resource`);
  const record = {
    messageId: newMessageId('Incoming'),
    direction: 'inbound',
    from,
    to,
    message,
    tag: null,
    repeatabilityRequestId: null,
    at: new Date().toISOString(),
    deliveryStatus: 'Received',
  };
  ctx.state.messages.push(record);
  const results = await publish(ctx.state, {
    id: record.messageId,
    subject: `/phonenumber/${to.slice(1)}`,
    eventType: 'Microsoft.Communication.SMSReceived',
    data: { messageId: record.messageId, from, to, message, receivedTimestamp: record.at },
  });
  return hookJson(200, results);
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

function addNumber(state, phoneNumber, { phoneNumberType, assignmentType, capabilities, purchaseMs }) {
  state.numbers.set(phoneNumber, {
    id: phoneNumber.slice(1),
    phoneNumber,
    countryCode: 'US',
    phoneNumberType,
    capabilities: { ...capabilities },
    assignmentType,
    purchaseDate: iso(purchaseMs),
    cost: { ...NUMBER_COST },
  });
}

/** Numbers held by a search that has not expired, or is being (or has been) bought. */
function heldNumbers(state, now) {
  const held = new Set();
  for (const s of state.searches.values()) {
    if (s.purchase || s.expiresMs > now) for (const n of s.phoneNumbers) held.add(n);
  }
  return held;
}

/** Apply what the clock has done since the last request: purchases that completed. */
function settle(state) {
  const now = Date.now();
  for (const op of state.operations.values()) {
    if (op.operationType !== 'purchase' || op.applied || op.doneMs > now) continue;
    op.applied = true;
    const search = state.searches.get(op.searchId);
    for (const n of search.phoneNumbers) addNumber(state, n, { ...search, purchaseMs: op.doneMs });
  }
}

function operationResource(op, now) {
  const done = now >= op.doneMs;
  const status = !done ? 'running' : op.error ? 'failed' : 'succeeded';
  return {
    status,
    resourceLocation: op.resourceLocation,
    createdDateTime: iso(op.createdMs),
    id: op.id,
    operationType: op.operationType,
    lastActionDateTime: iso(done ? op.doneMs : op.createdMs),
    ...(status === 'failed' ? { error: op.error } : {}),
  };
}

function checkSearchRequest(body, countryCode) {
  if (countryCode !== 'US') fail(badRequest(`Country code ${countryCode} is not supported; this resource sells US numbers.`));
  const { phoneNumberType, assignmentType, capabilities, areaCode, quantity = 1 } = body;
  if (!['geographic', 'tollFree'].includes(phoneNumberType)) fail(badRequest('phoneNumberType must be "geographic" or "tollFree".'));
  if (!['person', 'application'].includes(assignmentType)) fail(badRequest('assignmentType must be "person" or "application".'));
  if (capabilities === null || typeof capabilities !== 'object'
    || !CAPABILITY_VALUES.includes(capabilities.calling) || !CAPABILITY_VALUES.includes(capabilities.sms)) {
    fail(badRequest(`capabilities must be {calling, sms}, each one of ${CAPABILITY_VALUES.join(', ')}.`));
  }
  if (!Number.isInteger(quantity) || quantity < 1) fail(badRequest('quantity must be a positive integer.'));
  if (areaCode !== undefined && areaCode !== null) {
    const ok = phoneNumberType === 'tollFree' ? TOLL_FREE_AREA_CODES.includes(areaCode) : /^[2-9]\d{2}$/.test(areaCode);
    if (!ok) fail(badRequest(`areaCode ${areaCode} is not available for ${phoneNumberType} numbers.`));
  }
  return {
    phoneNumberType, assignmentType, capabilities: { calling: capabilities.calling, sms: capabilities.sms }, areaCode: areaCode ?? null, quantity,
  };
}

/** Free fictional numbers: +1 AAA 555 0xxx (toll-free area codes unless one is asked for). */
function findNumbers(state, { phoneNumberType, areaCode, quantity }, now) {
  const areas = areaCode ? [areaCode] : phoneNumberType === 'tollFree' ? TOLL_FREE_AREA_CODES : ['425'];
  const held = heldNumbers(state, now);
  const found = [];
  for (const area of areas) {
    for (let i = 0; i < 1000 && found.length < quantity; i += 1) {
      const n = `+1${area}5550${String(i).padStart(3, '0')}`;
      if (n !== PREOWNED_NUMBER && !state.numbers.has(n) && !held.has(n)) found.push(n);
    }
  }
  return found;
}

const phoneUrl = (ctx, path) => `${ctx.origin}${path}?api-version=${API_VERSIONS.phoneNumbers}`;

function searchNumbers(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const request = checkSearchRequest(jsonBody(ctx), ctx.params.countryCode);
  const now = Date.now();
  const searchId = randomUUID();
  const phoneNumbers = findNumbers(ctx.state, request, now);
  const readyMs = now + Math.floor(ctx.options.purchaseDelayMs / 4);
  ctx.state.searches.set(searchId, {
    searchId,
    phoneNumbers,
    phoneNumberType: request.phoneNumberType,
    assignmentType: request.assignmentType,
    capabilities: request.capabilities,
    readyMs,
    expiresMs: readyMs + SEARCH_TTL_MS,
    purchase: null,
  });
  const id = `search_${searchId}`;
  const resultUrl = phoneUrl(ctx, `/availablePhoneNumbers/searchResults/${searchId}`);
  ctx.state.operations.set(id, {
    id,
    operationType: 'search',
    createdMs: now,
    doneMs: readyMs,
    resourceLocation: resultUrl,
    searchId,
    error: phoneNumbers.length ? null : { code: 'NoPhoneNumbersAvailable', message: 'No phone numbers matching the search are available.' },
  });
  return accepted({
    'operation-location': phoneUrl(ctx, `/phoneNumbers/operations/${id}`),
    location: resultUrl,
    'operation-id': id,
    'search-id': searchId,
    'retry-after': '1',
  });
}

function searchResult(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const s = ctx.state.searches.get(ctx.params.searchId);
  const now = Date.now();
  // Until the search operation has succeeded there is no result to read.
  if (!s || s.readyMs > now || s.phoneNumbers.length === 0) return notFound(`Search ${ctx.params.searchId} was not found.`);
  return json(200, {
    searchId: s.searchId,
    phoneNumbers: s.phoneNumbers,
    phoneNumberType: s.phoneNumberType,
    assignmentType: s.assignmentType,
    capabilities: s.capabilities,
    cost: { ...NUMBER_COST },
    searchExpiresBy: iso(s.expiresMs),
  });
}

function purchaseNumbers(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const { searchId } = jsonBody(ctx);
  if (typeof searchId !== 'string' || searchId === '') return badRequest('searchId is required.');
  const s = ctx.state.searches.get(searchId);
  const now = Date.now();
  if (!s || s.phoneNumbers.length === 0) return notFound(`Search ${searchId} was not found.`);
  if (s.readyMs > now) return badRequest(`Search ${searchId} has not completed yet; poll its operation first.`);
  if (s.purchase) return acsError(409, 'Conflict', `Search ${searchId} has already been purchased (operation ${s.purchase}).`);
  if (s.expiresMs <= now) return badRequest(`Search ${searchId} expired at ${iso(s.expiresMs)}; search again.`);
  const id = `purchase_${searchId}`;
  s.purchase = id;
  ctx.state.operations.set(id, {
    id, operationType: 'purchase', createdMs: now, doneMs: now + ctx.options.purchaseDelayMs, resourceLocation: null, searchId, error: null, applied: false,
  });
  return accepted({
    'operation-location': phoneUrl(ctx, `/phoneNumbers/operations/${id}`),
    'operation-id': id,
    'purchase-id': searchId,
    'retry-after': '1',
  });
}

function getOperation(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const op = ctx.state.operations.get(ctx.params.operationId);
  if (!op) return notFound(`Operation ${ctx.params.operationId} was not found.`);
  const resource = operationResource(op, Date.now());
  return json(200, resource, resource.status === 'succeeded' && op.resourceLocation ? { location: op.resourceLocation } : {});
}

function listNumbers(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const q = ctx.url.searchParams;
  const skip = Math.max(Number.parseInt(q.get('skip') ?? '0', 10) || 0, 0);
  const top = Math.min(Math.max(Number.parseInt(q.get('top') ?? '100', 10) || 100, 1), 100);
  const all = [...ctx.state.numbers.values()];
  const page = { phoneNumbers: all.slice(skip, skip + top) };
  if (all.length > skip + top) page.nextLink = `${ctx.origin}/phoneNumbers?skip=${skip + top}&top=${top}&api-version=${API_VERSIONS.phoneNumbers}`;
  return json(200, page);
}

function getNumber(ctx) {
  requireApiVersion(ctx, API_VERSIONS.phoneNumbers);
  const raw = ctx.params.number.trim();
  const number = ctx.state.numbers.get(raw.startsWith('+') ? raw : `+${raw}`);
  return number ? json(200, number) : notFound(`Phone number ${raw} was not found.`);
}

// ---------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------

function emailStatus(record, now = Date.now()) {
  if (now < record.acceptedMs + SETTLE_MS) return 'Running';
  return record.undelivered ? 'Failed' : 'Succeeded';
}

function addressList(list, field, { required = false } = {}) {
  if (list === undefined || list === null) {
    if (required) fail(badRequest(`${field} must have at least one recipient.`));
    return [];
  }
  if (!Array.isArray(list) || (required && list.length === 0)) fail(badRequest(`${field} must be a non-empty array of {address, displayName?}.`));
  return list.map((r, i) => {
    if (r === null || typeof r !== 'object' || typeof r.address !== 'string') fail(badRequest(`${field}[${i}].address is required.`));
    if (!EMAIL.test(r.address)) fail(acsError(400, 'InvalidEmailAddress', `${field}[${i}].address is not a valid email address: ${r.address}`));
    if (r.displayName !== undefined && typeof r.displayName !== 'string') fail(badRequest(`${field}[${i}].displayName must be a string.`));
    return r.address;
  });
}

function checkEmailRequest(body) {
  const { senderAddress, recipients, content, replyTo, headers, userEngagementTrackingDisabled } = body;
  if (typeof senderAddress !== 'string' || !EMAIL.test(senderAddress)) {
    fail(acsError(400, 'InvalidSenderAddress', `senderAddress must be an email address of a verified domain: ${senderAddress}`));
  }
  if (recipients === null || typeof recipients !== 'object') fail(badRequest('recipients is required.'));
  const to = addressList(recipients.to, 'recipients.to', { required: true });
  const cc = addressList(recipients.cc, 'recipients.cc');
  const bcc = addressList(recipients.bcc, 'recipients.bcc');
  if (to.length + cc.length + bcc.length > MAX_EMAIL_RECIPIENTS) fail(badRequest(`At most ${MAX_EMAIL_RECIPIENTS} recipients (to, cc and bcc together).`));
  addressList(replyTo, 'replyTo');
  if (content === null || typeof content !== 'object') fail(badRequest('content is required.'));
  const { subject, plainText, html } = content;
  if (typeof subject !== 'string' || subject.trim() === '') fail(badRequest('content.subject is required.'));
  for (const [k, v] of [['plainText', plainText], ['html', html]]) {
    if (v !== undefined && v !== null && typeof v !== 'string') fail(badRequest(`content.${k} must be a string.`));
  }
  if (!plainText && !html) fail(badRequest('content needs plainText or html (or both).'));
  if (headers !== undefined && (headers === null || typeof headers !== 'object' || Object.values(headers).some((v) => typeof v !== 'string'))) {
    fail(badRequest('headers must be an object of string values.'));
  }
  if (userEngagementTrackingDisabled !== undefined && typeof userEngagementTrackingDisabled !== 'boolean') {
    fail(badRequest('userEngagementTrackingDisabled must be a boolean.'));
  }
  return { senderAddress, to, cc, bcc, subject, plainText: plainText || null, html: html || null };
}

function emailAccepted(ctx, record) {
  return json(202, { id: record.id, status: emailStatus(record) }, {
    'operation-location': `${ctx.origin}/emails/operations/${record.id}?api-version=${API_VERSIONS.email}`,
    'operation-id': record.id,
    'retry-after': '1',
  });
}

async function sendEmail(ctx) {
  requireApiVersion(ctx, API_VERSIONS.email);
  const operationId = ctx.req.headers['operation-id'];
  if (operationId !== undefined && !UUID.test(operationId)) return badRequest(`Operation-Id must be a UUID: ${operationId}`);
  const request = checkEmailRequest(jsonBody(ctx));
  const failure = drawFailure(ctx.state.failures.email);
  if (failure === 'timeout') return hang(ctx.signal, ctx.res);
  if (typeof failure === 'number') return injectedError(failure);
  const id = operationId ?? randomUUID();
  let record = ctx.state.emails.get(id.toLowerCase());
  if (!record) {
    record = { id, ...request, at: new Date().toISOString(), acceptedMs: Date.now(), undelivered: failure === 'undelivered' };
    ctx.state.emails.set(id.toLowerCase(), record);
  }
  if (failure === 'timeout_after_accept') return hang(ctx.signal, ctx.res);
  return emailAccepted(ctx, record);
}

function getEmailOperation(ctx) {
  requireApiVersion(ctx, API_VERSIONS.email);
  const record = ctx.state.emails.get(ctx.params.operationId.toLowerCase());
  if (!record) return notFound(`Operation ${ctx.params.operationId} was not found.`);
  const status = emailStatus(record);
  return json(200, {
    id: record.id,
    status,
    ...(status === 'Failed' ? { error: { code: 'EmailDeliveryFailed', message: 'The email could not be delivered to its recipients.' } } : {}),
  });
}

const emailView = (r) => ({
  id: r.id, senderAddress: r.senderAddress, to: r.to, cc: r.cc, bcc: r.bcc, subject: r.subject,
  plainText: r.plainText, html: r.html, at: r.at, status: emailStatus(r),
});

// ---------------------------------------------------------------------------------------------
// Test hooks and the outbox page
// ---------------------------------------------------------------------------------------------

const FAIL_TARGETS = { sms: ['sms'], email: ['email'], all: ['sms', 'email'] };

async function failHook(ctx) {
  const body = await readJsonObject(ctx.req, MAX_BODY_BYTES);
  if (!body) return hookError(400, 'body must be a JSON object {target?, count?, rate?, seed?, status?}');
  const { target = 'all', ...rest } = body;
  if (!Object.hasOwn(FAIL_TARGETS, target)) return hookError(400, 'target must be "sms", "email" or "all"');
  const { failures, error } = parseFailures(rest);
  if (error) return hookError(400, error);
  // Each target draws from its own counter and PRNG (same seed).
  for (const t of FAIL_TARGETS[target]) ctx.state.failures[t] = parseFailures({ ...rest, seed: failures.seed }).failures;
  return hookJson(200, { target, ...describeFailures(failures) });
}

const clear = (key) => (ctx) => {
  const v = ctx.state[key];
  if (Array.isArray(v)) v.length = 0;
  else v.clear();
  return noContent();
};

function outbox(ctx) {
  const { state } = ctx;
  const texts = [...state.messages].reverse().map((m) => ({
    id: m.messageId, at: m.at, direction: m.direction, to: m.to, from: m.from, status: m.deliveryStatus ?? 'Sending', text: m.message,
  }));
  const emails = [...state.emails.values()].reverse().map((r) => emailArticle({
    id: r.id, at: r.at, from: r.senderAddress, to: r.to, cc: r.cc, subject: r.subject, status: emailStatus(r), text: r.plainText, html: r.html,
  })).join('\n');
  const numbers = [...state.numbers.values()].map((n) => `<li>${escapeHtml(n.phoneNumber)} (${escapeHtml(n.phoneNumberType)}, SMS ${escapeHtml(n.capabilities.sms)})</li>`).join('');
  const hooks = [...state.subscriptions.keys()].map((u) => `<li><code>${escapeHtml(u)}</code></li>`).join('');
  return outboxPage({
    title: 'ACS stand-in outbox (Azure Communication Services)',
    intro: `<p>Texts and emails the gateway sent, newest first; this page reloads every 5 seconds. Endpoint
<code>${escapeHtml(ctx.origin)}</code> (instead of <code>https://&lt;resource&gt;.communication.azure.com</code>); as JSON:
<a href="/_acs/messages">/_acs/messages</a>, <a href="/_acs/emails">/_acs/emails</a>.</p>`,
    sections: [
      textsTable({ caption: `Texts, newest first (${texts.length})`, idName: 'message-id', texts }),
      `<section id="emails"><h2>Emails, newest first (${state.emails.size})</h2>\n${emails || '<p>No emails yet.</p>'}</section>`,
      `<section id="numbers"><h2>Phone numbers of the resource</h2><ul>${numbers}</ul></section>`,
      `<section id="subscriptions"><h2>Event Grid webhooks</h2>${hooks ? `<ul>${hooks}</ul>` : '<p>None.</p>'}</section>`,
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Routes and server
// ---------------------------------------------------------------------------------------------

const COLON = '(?::|%3[Aa])';

// `open` routes need no signature (the outbox page and the test hooks).
const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: outbox, open: true },
  { method: 'POST', path: /^\/sms$/, handler: sendSms },
  { method: 'POST', path: new RegExp(`^/availablePhoneNumbers/countries/(?<countryCode>[^/]+)/${COLON}search$`), handler: searchNumbers },
  { method: 'GET', path: /^\/availablePhoneNumbers\/searchResults\/(?<searchId>[^/]+)$/, handler: searchResult },
  { method: 'POST', path: new RegExp(`^/availablePhoneNumbers/${COLON}purchase$`), handler: purchaseNumbers },
  { method: 'GET', path: /^\/phoneNumbers\/operations\/(?<operationId>[^/]+)$/, handler: getOperation },
  { method: 'GET', path: /^\/phoneNumbers$/, handler: listNumbers },
  { method: 'GET', path: /^\/phoneNumbers\/(?<number>(?:%2[Bb]|\+)?\d+)$/, handler: getNumber },
  { method: 'POST', path: new RegExp(`^/emails${COLON}send$`), handler: sendEmail },
  { method: 'GET', path: /^\/emails\/operations\/(?<operationId>[^/]+)$/, handler: getEmailOperation },
  // Test hooks
  { method: 'GET', path: /^\/_acs\/requests$/, handler: (ctx) => hookJson(200, ctx.state.requests) },
  { method: 'DELETE', path: /^\/_acs\/requests$/, handler: clear('requests') },
  { method: 'GET', path: /^\/_acs\/messages$/, handler: (ctx) => hookJson(200, ctx.state.messages) },
  { method: 'DELETE', path: /^\/_acs\/messages$/, handler: clear('messages') },
  { method: 'GET', path: /^\/_acs\/emails$/, handler: (ctx) => hookJson(200, [...ctx.state.emails.values()].map(emailView)) },
  { method: 'DELETE', path: /^\/_acs\/emails$/, handler: clear('emails') },
  { method: 'GET', path: /^\/_acs\/events$/, handler: (ctx) => hookJson(200, ctx.state.events) },
  { method: 'DELETE', path: /^\/_acs\/events$/, handler: clear('events') },
  { method: 'GET', path: /^\/_acs\/numbers$/, handler: (ctx) => hookJson(200, [...ctx.state.numbers.values()]) },
  { method: 'GET', path: /^\/_acs\/event-subscriptions$/, handler: (ctx) => hookJson(200, [...ctx.state.subscriptions.values()]) },
  { method: 'POST', path: /^\/_acs\/event-subscriptions$/, handler: subscribeHook },
  { method: 'DELETE', path: /^\/_acs\/event-subscriptions$/, handler: clear('subscriptions') },
  { method: 'GET', path: /^\/_acs\/validate\/(?<code>[^/]+)$/, handler: validateHook },
  { method: 'POST', path: /^\/_acs\/fail$/, handler: failHook },
  { method: 'POST', path: /^\/_acs\/inbound$/, handler: inboundHook },
];

const isHook = hookPaths('/_acs/');

/** The reply for one request: hooks and open routes as they are, the API after the signature check. */
async function dispatch(ctx, hook) {
  const match = matchRoute(ROUTES, ctx.req.method, ctx.url.pathname);
  if (hook && !match) return hookError(404, `no hook ${ctx.url.pathname}`);
  if (!hook && !match?.route?.open) {
    ctx.rawBody = await readBytes(ctx.req, MAX_BODY_BYTES);
    authenticate(ctx);
    if (!match) return notFound(`There is no resource at ${ctx.url.pathname}.`);
  }
  if (match.allowed) return { ...acsError(405, 'MethodNotAllowed', `${ctx.req.method} is not allowed here.`), headers: { 'content-type': JSON_TYPE, allow: match.allowed.join(', ') } };
  ctx.params = match.params;
  return match.route.handler(ctx);
}

async function handle(req, res, { origin, signal, options, state }) {
  const url = new URL(req.url, origin);
  const hook = isHook(url.pathname);
  if (!hook) logRequest(state.requests, req, res, url, epochMs);
  const ctx = { req, res, url, origin, signal, options, state, params: {}, rawBody: Buffer.alloc(0) };
  let reply;
  try {
    if (!hook && options.delayMs > 0) await wait(options.delayMs, signal);
    settle(state);
    reply = await dispatch(ctx, hook);
  } catch (err) {
    if (signal.aborted) return; // nobody left to answer
    if (err instanceof ReplyError) reply = err.reply;
    else if (err instanceof TooLarge) reply = acsError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    else reply = acsError(500, 'InternalServerError', String(err?.stack ?? err));
  }
  if (reply === null) return; // deliberately unanswered (injected timeout)
  if (!hook) reply.headers['x-ms-request-id'] = randomUUID();
  send(res, reply);
}

/**
 * Start the stand-in. Resolves once listening.
 * @param {{port?: number, host?: string, accessKey?: string, delayMs?: number, purchaseDelayMs?: number}} [opts]
 *   accessKey: the resource's access key, base64 (default DEV_ACS_ACCESS_KEY); delayMs: added to
 *   every API call; purchaseDelayMs: how long a purchase operation runs (a search a quarter of it)
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startAcsStandIn({
  port = 0,
  host = '127.0.0.1',
  accessKey = DEV_ACS_ACCESS_KEY,
  delayMs = 0,
  purchaseDelayMs = 0,
} = {}) {
  if (typeof accessKey !== 'string' || Buffer.from(accessKey, 'base64').length === 0) throw new Error('accessKey must be a non-empty base64 string');
  const closing = new AbortController();
  setMaxListeners(0, closing.signal); // one listener per pending delivery report or webhook
  const state = {
    requests: [],
    messages: [], // SMS records, oldest first
    repeatability: new Map(), // repeatabilityRequestId → {messageId, atMs}
    emails: new Map(), // operation id → email record
    numbers: new Map(), // E.164 → PurchasedPhoneNumber
    searches: new Map(), // searchId → search
    operations: new Map(), // operation id → phone number operation
    subscriptions: new Map(), // webhook URL → {endpoint, validated, at}
    pendingValidations: new Map(), // validation code → {manual}
    events: [],
    failures: { sms: noFailures(), email: noFailures() },
    closing, // aborted by close(): stops delivery reports and webhooks in flight
  };
  addNumber(state, PREOWNED_NUMBER, {
    phoneNumberType: 'tollFree', assignmentType: 'application', capabilities: { calling: 'none', sms: 'inbound+outbound' }, purchaseMs: Date.now(),
  });
  const options = { accessKey, delayMs, purchaseDelayMs };
  const server = await startServer({
    port,
    host,
    onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, options, state }),
  });
  // Both steps are idempotent, so close() may be called again.
  return { url: server.url, close: () => { closing.abort(new Error('server closing')); return server.close(); } };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

runIfMain(import.meta.url, 'acs', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8793' },
      host: { type: 'string', default: '127.0.0.1' },
      'access-key': { type: 'string', default: DEV_ACS_ACCESS_KEY },
      'delay-ms': { type: 'string', default: '0' },
      'purchase-delay-ms': { type: 'string', default: '0' },
    },
  });
  return startAcsStandIn({
    port: toInt('port', values.port),
    host: values.host,
    accessKey: values['access-key'],
    delayMs: toInt('delay-ms', values['delay-ms']),
    purchaseDelayMs: toInt('purchase-delay-ms', values['purchase-delay-ms']),
  });
});
