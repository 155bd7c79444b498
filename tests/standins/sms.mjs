// Stand-in for the SMS provider: Twilio Programmable Messaging, REST API version 2010-04-01.
// A real HTTP server with no npm dependencies.
//
// It answers on this server's own origin with the wire shapes of api.twilio.com, so that moving
// to Twilio is a configuration change (API base `{origin}` instead of `https://api.twilio.com`):
//   POST   /2010-04-01/Accounts/{AccountSid}/Messages.json                 send (form-urlencoded)
//   GET    /2010-04-01/Accounts/{AccountSid}/Messages.json?To&From&DateSent>=…&PageSize&Page
//   GET    /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json
//   GET    /2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/US/Local.json?AreaCode&Contains&PageSize
//   GET    /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json?PhoneNumber
//   POST   /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json        buy (PhoneNumber | AreaCode)
//   GET    /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PN…}.json
//   POST   /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PN…}.json  update (SmsUrl, …)
//   DELETE /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PN…}.json  release
// All with HTTP Basic `AccountSid:AuthToken`; errors are Twilio's {code, message, more_info, status}.
//
// A sent message goes queued → sent (~25 ms) → delivered (~50 ms), POSTing Twilio's status
// callback form to its StatusCallback, signed with X-Twilio-Signature. Inbound texts (the patient
// replying STOP / START / HELP / anything) are injected with POST /_sms/inbound and forwarded to
// the receiving number's SmsUrl as Twilio's signed inbound webhook. Twilio's default opt-out
// handling is imitated: STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) opts the sender out of
// messages from that number (later sends answer 400 code 21610), START (YES, UNSTOP) opts back in,
// HELP (INFO); each gets Twilio's default auto-reply (direction "outbound-reply"). A TwiML
// <Message> in the webhook's answer is sent back as a reply as well.
// Every account owns Twilio's magic test number +15005550006 from the start. Twilio's magic
// test `To` numbers fail as they do with test credentials: +15005550001 → 21211,
// +15005550002 → 21612, +15005550003 → 21408, +15005550004 → 21610, +15005550009 → 21614.
//
// GET / is an outbox page for people running the demo (newest first, links clickable).
//
// Test hooks under /_sms/ (never logged, never delayed):
//   GET    /_sms/requests    request log [{method, path, at, start_ms, end_ms, status}]; DELETE clears
//   GET    /_sms/messages    every message (all accounts, both directions), oldest first; DELETE clears
//   GET    /_sms/callbacks   webhooks this stand-in sent [{kind, method, url, params, signature,
//                            at, status, error}]; DELETE clears
//   GET    /_sms/opt-outs    [{account_sid, number, recipient}]; DELETE clears
//   POST   /_sms/accounts    {account_sid, auth_token}: register (or re-key) an account
//   POST   /_sms/fail        {count?, rate?, seed?, status?}: the next `count` Messages POSTs fail,
//                            then each with probability `rate` (seeded PRNG); status is 500 (default)
//                            or any 4xx/5xx code, "timeout_after_accept", "timeout" or "undelivered"
//   POST   /_sms/inbound     {from, to, body, account_sid?}: a text arrives at owned number `to`;
//                            answered with the SmsUrl webhook's status, content type and body
//
// CLI:    node tests/standins/sms.mjs [--port 8791] [--host 127.0.0.1] [--delay-ms 0]
//           [--purchase-delay-ms 0] [--account-sid AC…] [--auth-token dev-auth-token]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close } = await startSmsStandIn({ port: 0 });

import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { parseArgs } from 'node:util';

import { describeFailures, drawFailure, hang, noFailures, parseFailures } from './lib/failures.mjs';
import { escapeHtml, noContent, send, wait } from './lib/http.mjs';
import { TooLarge, epochMs, httpOut, isWebUrl, readBody as readBodyUpTo, readJsonObject } from './lib/io.mjs';
import { outboxPage, textsTable } from './lib/outbox.mjs';
import { hookPaths, logRequest, matchRoute } from './lib/routing.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';

// ---------------------------------------------------------------------------------------------
// Defaults and constants
// ---------------------------------------------------------------------------------------------

/** The account registered at start unless other credentials are given ('AC' + 32 hex). */
export const DEFAULT_ACCOUNT = Object.freeze({
  accountSid: 'ACdec0de00000000000000000000000001',
  authToken: 'dev-auth-token',
});

/** Twilio's magic test number; every account owns it from the start. */
export const MAGIC_NUMBER = '+15005550006';

export const API_VERSION = '2010-04-01';

/** How long after acceptance a message is `sent`, and then `delivered`. */
const SENT_AFTER_MS = 25;
const DELIVERED_AFTER_MS = 50;
/** Twilio gives webhooks 15 s. */
const WEBHOOK_TIMEOUT_MS = 15_000;
const MAX_BODY_CHARS = 1600;
const MAX_BODY_BYTES = 1024 * 1024;

const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-f]{32}$/;
const E164 = /^\+[1-9]\d{1,14}$/;

// ---------------------------------------------------------------------------------------------
// GSM-7 / UCS-2 segment counting (what Twilio bills and reports as num_segments)
// ---------------------------------------------------------------------------------------------

// GSM 03.38 basic character set (without the ESC code itself) and the extension table, whose
// characters take two septets (ESC + char).
const GSM_BASIC = new Set([...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
  + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà']);
const GSM_EXTENSION = new Set([...'\f^{}\\[~]|€']);

// Pack characters of the given costs into segments: one segment if everything fits in `single`,
// otherwise parts of `multi` (the rest is the concatenation header), never splitting a character
// (an escape pair or a surrogate pair).
function pack(costs, single, multi) {
  const total = costs.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > multi) {
      parts += 1;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

/**
 * How Twilio splits `body`: GSM-7 when every character is in the GSM 03.38 basic or extension
 * table (extension characters count 2; 160 in one segment, 153 per part), else UCS-2 (UTF-16
 * code units, so an emoji counts 2; 70 in one segment, 67 per part). An empty body is 1 segment.
 * @returns {{encoding: 'GSM-7' | 'UCS-2', segments: number}}
 */
export function segments(body) {
  const chars = [...String(body)];
  if (chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENSION.has(c))) {
    return { encoding: 'GSM-7', segments: pack(chars.map((c) => (GSM_EXTENSION.has(c) ? 2 : 1)), 160, 153) };
  }
  return { encoding: 'UCS-2', segments: pack(chars.map((c) => c.length), 70, 67) };
}

// ---------------------------------------------------------------------------------------------
// Request signing
// ---------------------------------------------------------------------------------------------

/**
 * Twilio's X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + every POST parameter sorted by
 * name, as name + value)). `params` is an object (values may be arrays), a URLSearchParams or an
 * array of [name, value] pairs; for a GET webhook pass {} (the parameters are in `url`).
 */
export function twilioSignature(authToken, url, params = {}) {
  const pairs = params instanceof URLSearchParams || Array.isArray(params)
    ? [...params].map(([k, v]) => [String(k), String(v)])
    : Object.entries(params ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v.map((x) => [k, String(x)]) : [[k, String(v)]]));
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  const data = url + pairs.map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const hex32 = () => randomBytes(16).toString('hex');
const newSid = (prefix) => `${prefix}${hex32()}`;
/** Twilio prints dates as RFC 2822 in UTC: "Thu, 24 Aug 2023 05:01:45 +0000". */
const rfc2822 = (ms) => new Date(ms).toUTCString().replace(/GMT$/, '+0000');
/** Twilio's timestamps have whole seconds. */
const nowSecondMs = () => Math.floor(Date.now() / 1000) * 1000;
const accountBase = (accountSid) => `/${API_VERSION}/Accounts/${accountSid}`;
/** "(415) 555-0123" for US numbers, the number itself otherwise. */
const friendlyName = (e164) => {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
};
const countryOf = (e164) => (e164.startsWith('+1') ? 'US' : '');

/** A phone number as Twilio would take it: E.164, or a US national number (10 digits, or 1 + 10). */
function normalizeNumber(raw) {
  const s = String(raw).trim();
  if (E164.test(s)) return s;
  const digitsOnly = s.replace(/[\s().-]/g, '');
  if (/^\d{10}$/.test(digitsOnly)) return `+1${digitsOnly}`;
  if (/^1\d{10}$/.test(digitsOnly)) return `+${digitsOnly}`;
  if (E164.test(digitsOnly)) return digitsOnly;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=utf-8';

const json = (status, value, headers = {}) =>
  ({ status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) });

/** A Twilio REST error: {code, message, more_info, status}. */
const twilioError = (status, code, message, headers = {}) => json(status, {
  code,
  message,
  more_info: `https://www.twilio.com/docs/errors/${code}`,
  status,
}, headers);

const authError = () => twilioError(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
const notFound = (path) => twilioError(404, 20404, `The requested resource ${path} was not found`);

const hookError = (status, message) =>
  ({ status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ error: { code: 'BadRequest', message } }, null, 2) });
const hookJson = (status, value) =>
  ({ status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(value, null, 2) });

class ReplyError extends Error {
  constructor(reply) {
    super('reply');
    this.reply = reply;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading bodies
// ---------------------------------------------------------------------------------------------

const readForm = async (req) => new URLSearchParams(await readBodyUpTo(req, MAX_BODY_BYTES));

const readHookJson = (ctx) => readJsonObject(ctx.req, MAX_BODY_BYTES);

// ---------------------------------------------------------------------------------------------
// Accounts and authentication
// ---------------------------------------------------------------------------------------------

function registerAccount(state, accountSid, authToken) {
  const existing = state.accounts.get(accountSid);
  if (existing) {
    existing.authToken = authToken;
    return { account: existing, created: false };
  }
  const account = { sid: accountSid, authToken, numbers: new Map() }; // phone → IncomingPhoneNumber
  state.accounts.set(accountSid, account);
  addNumber(account, MAGIC_NUMBER, {});
  return { account, created: true };
}

/** The account of the request's Basic credentials, which must be the account in the path. */
function authenticate(ctx) {
  const m = /^Basic\s+(\S+)\s*$/i.exec(ctx.req.headers.authorization ?? '');
  if (!m) throw new ReplyError(authError());
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new ReplyError(authError());
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const account = ctx.state.accounts.get(user);
  if (!account || account.authToken !== password || user !== ctx.params.account) throw new ReplyError(authError());
  return account;
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

function addNumber(account, phoneNumber, { smsUrl = '', smsMethod = 'POST', statusCallback = '', friendlyName: name } = {}) {
  const sid = newSid('PN');
  const at = rfc2822(nowSecondMs());
  const base = accountBase(account.sid);
  const resource = {
    account_sid: account.sid,
    address_requirements: 'none',
    address_sid: null,
    api_version: API_VERSION,
    beta: false,
    bundle_sid: null,
    capabilities: { fax: false, mms: true, sms: true, voice: true },
    date_created: at,
    date_updated: at,
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    emergency_status: 'Inactive',
    friendly_name: name ?? friendlyName(phoneNumber),
    identity_sid: null,
    origin: 'twilio',
    phone_number: phoneNumber,
    sid,
    sms_application_sid: '',
    sms_fallback_method: 'POST',
    sms_fallback_url: '',
    sms_method: smsMethod,
    sms_url: smsUrl,
    status: 'in-use',
    status_callback: statusCallback,
    status_callback_method: 'POST',
    subresource_uris: { assigned_add_ons: `${base}/IncomingPhoneNumbers/${sid}/AssignedAddOns.json` },
    trunk_sid: null,
    uri: `${base}/IncomingPhoneNumbers/${sid}.json`,
    voice_application_sid: '',
    voice_caller_id_lookup: false,
    voice_fallback_method: 'POST',
    voice_fallback_url: '',
    voice_method: 'POST',
    voice_receive_mode: 'voice',
    voice_url: '',
  };
  account.numbers.set(phoneNumber, resource);
  return resource;
}

/** Whether any account owns `phoneNumber` (the magic number is everyone's and nobody's). */
const numberTaken = (state, phoneNumber) =>
  phoneNumber === MAGIC_NUMBER || [...state.accounts.values()].some((a) => a.numbers.has(phoneNumber));

const findNumberBySid = (account, sid) => [...account.numbers.values()].find((n) => n.sid === sid);

/** Fictional US numbers: +1 AAA 555-01XX (the range set aside for fiction). */
function availableNumbers(state, areaCode, contains) {
  const out = [];
  for (let i = 0; i < 100; i += 1) {
    const phone = `+1${areaCode}55501${String(i).padStart(2, '0')}`;
    if (numberTaken(state, phone)) continue;
    if (contains && !phone.replace(/^\+/, '').includes(contains)) continue;
    out.push(phone);
  }
  return out;
}

function availableNumberResource(phoneNumber) {
  return {
    address_requirements: 'none',
    beta: false,
    capabilities: { MMS: true, SMS: true, voice: true },
    friendly_name: friendlyName(phoneNumber),
    iso_country: 'US',
    lata: null,
    latitude: null,
    locality: null,
    longitude: null,
    phone_number: phoneNumber,
    postal_code: null,
    rate_center: null,
    region: null,
  };
}

function availablePhoneNumbers(ctx) {
  const account = authenticate(ctx);
  const { country, type } = ctx.params;
  if (country !== 'US' || type !== 'Local') return notFound(ctx.url.pathname);
  const q = ctx.url.searchParams;
  const areaCode = q.get('AreaCode') ?? '415';
  if (!/^[2-9]\d{2}$/.test(areaCode)) return twilioError(400, 21452, `No phone numbers found in area code ${areaCode}`);
  const contains = (q.get('Contains') ?? '').replace(/[^0-9]/g, '');
  const pageSize = Math.min(Math.max(Number.parseInt(q.get('PageSize') ?? '30', 10) || 30, 1), 100);
  const numbers = availableNumbers(ctx.state, areaCode, contains).slice(0, pageSize);
  return json(200, {
    available_phone_numbers: numbers.map(availableNumberResource),
    uri: `${accountBase(account.sid)}/AvailablePhoneNumbers/US/Local.json${ctx.url.search}`,
  });
}

/** Number settings shared by purchase and update: SmsUrl, SmsMethod, StatusCallback, FriendlyName. */
function numberSettings(form) {
  const settings = {};
  if (form.has('SmsUrl')) {
    const smsUrl = form.get('SmsUrl');
    if (smsUrl !== '' && !isWebUrl(smsUrl)) throw new ReplyError(twilioError(400, 21502, `SmsUrl is not valid: ${smsUrl}`));
    settings.smsUrl = smsUrl;
  }
  if (form.has('SmsMethod')) {
    const method = form.get('SmsMethod').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new ReplyError(twilioError(400, 21503, `SmsMethod is not valid: ${form.get('SmsMethod')}`));
    settings.smsMethod = method;
  }
  if (form.has('StatusCallback')) {
    const cb = form.get('StatusCallback');
    if (cb !== '' && !isWebUrl(cb)) throw new ReplyError(twilioError(400, 21609, `StatusCallback is not valid: ${cb}`));
    settings.statusCallback = cb;
  }
  if (form.has('FriendlyName')) settings.friendlyName = form.get('FriendlyName');
  return settings;
}

async function buyNumber(ctx) {
  const account = authenticate(ctx);
  const form = await readForm(ctx.req);
  const settings = numberSettings(form);
  let phone;
  if (form.get('PhoneNumber')) {
    phone = normalizeNumber(form.get('PhoneNumber'));
    if (!phone) return twilioError(400, 21421, `PhoneNumber is invalid: ${form.get('PhoneNumber')}`);
  } else if (form.get('AreaCode')) {
    const areaCode = form.get('AreaCode');
    phone = /^[2-9]\d{2}$/.test(areaCode) ? availableNumbers(ctx.state, areaCode)[0] : undefined;
    if (!phone) return twilioError(400, 21452, `No phone numbers found in area code ${areaCode}`);
  } else {
    return twilioError(400, 21451, "A 'PhoneNumber' or 'AreaCode' is required.");
  }
  if (numberTaken(ctx.state, phone)) return twilioError(400, 21422, `PhoneNumber Requested is not available: ${phone}`);

  // Buying takes a while. The purchase goes through even if the client gives up waiting (as at
  // Twilio): only close() stops it.
  if (ctx.options.purchaseDelayMs > 0) await wait(ctx.options.purchaseDelayMs, ctx.state.closing.signal);
  if (numberTaken(ctx.state, phone)) return twilioError(400, 21422, `PhoneNumber Requested is not available: ${phone}`);
  return json(201, addNumber(account, phone, settings));
}

function listNumbers(ctx) {
  const account = authenticate(ctx);
  const wanted = ctx.url.searchParams.get('PhoneNumber');
  let numbers = [...account.numbers.values()];
  if (wanted) numbers = numbers.filter((n) => n.phone_number === (normalizeNumber(wanted) ?? wanted));
  return json(200, listPage(ctx, `${accountBase(account.sid)}/IncomingPhoneNumbers.json`, 'incoming_phone_numbers', numbers));
}

function getNumber(ctx) {
  const account = authenticate(ctx);
  const number = findNumberBySid(account, ctx.params.sid);
  return number ? json(200, number) : notFound(ctx.url.pathname);
}

async function updateNumber(ctx) {
  const account = authenticate(ctx);
  const number = findNumberBySid(account, ctx.params.sid);
  if (!number) return notFound(ctx.url.pathname);
  const settings = numberSettings(await readForm(ctx.req));
  if (settings.smsUrl !== undefined) number.sms_url = settings.smsUrl;
  if (settings.smsMethod !== undefined) number.sms_method = settings.smsMethod;
  if (settings.statusCallback !== undefined) number.status_callback = settings.statusCallback;
  if (settings.friendlyName !== undefined) number.friendly_name = settings.friendlyName;
  number.date_updated = rfc2822(nowSecondMs());
  return json(200, number);
}

function releaseNumber(ctx) {
  const account = authenticate(ctx);
  const number = findNumberBySid(account, ctx.params.sid);
  if (!number) return notFound(ctx.url.pathname);
  account.numbers.delete(number.phone_number);
  return noContent();
}

// ---------------------------------------------------------------------------------------------
// List pages
// ---------------------------------------------------------------------------------------------

/** Twilio's page envelope: {<key>: [...], end, first_page_uri, next_page_uri, page, page_size, previous_page_uri, start, uri}. */
function listPage(ctx, path, key, items) {
  const q = ctx.url.searchParams;
  const pageSize = Math.min(Math.max(Number.parseInt(q.get('PageSize') ?? '50', 10) || 50, 1), 1000);
  const page = Math.max(Number.parseInt(q.get('Page') ?? '0', 10) || 0, 0);
  const filters = new URLSearchParams([...q].filter(([k]) => !['Page', 'PageSize', 'PageToken'].includes(k)));
  const uriFor = (p, token) => {
    const params = new URLSearchParams(filters);
    params.set('PageSize', String(pageSize));
    params.set('Page', String(p));
    if (token) params.set('PageToken', token);
    return `${path}?${params}`;
  };
  const start = page * pageSize;
  const slice = items.slice(start, start + pageSize);
  const more = items.length > start + pageSize;
  return {
    [key]: slice,
    end: Math.max(start, start + slice.length - 1),
    first_page_uri: uriFor(0),
    next_page_uri: more ? uriFor(page + 1, `PA${slice.at(-1).sid}`) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? uriFor(page - 1, `PB${items[start - 1]?.sid ?? ''}`) : null,
    start,
    uri: uriFor(page, q.get('PageToken')),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

// Twilio's test-credential magic `To` numbers and what they answer.
const MAGIC_TO = {
  '+15005550001': [21211, "The 'To' number +15005550001 is not a valid phone number."],
  '+15005550002': [21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS."],
  '+15005550003': [21408, 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number: +15005550003.'],
  '+15005550004': [21610, 'Attempt to send to unsubscribed recipient'],
  '+15005550009': [21614, "'To' number is not a valid mobile number"],
};

const DELIVERY_ERRORS = {
  undelivered: [30003, 'Unreachable destination handset'],
  failed: [21610, 'Attempt to send to unsubscribed recipient'],
};

const optOutKey = (accountSid, number, recipient) => `${accountSid} ${number} ${recipient}`;

/** A message record: {resource (Twilio's Message), createdMs, sentMs, seq, statusCallback, outcome, callbacks, account}. */
function createMessage(state, account, { to, from, body, direction, status, messagingServiceSid = null, statusCallback = '', outcome = 'delivered' }) {
  const sid = newSid('SM');
  const nowMs = nowSecondMs();
  const at = rfc2822(nowMs);
  const uri = `${accountBase(account.sid)}/Messages/${sid}.json`;
  const resource = {
    account_sid: account.sid,
    api_version: API_VERSION,
    body,
    date_created: at,
    date_sent: direction === 'inbound' ? at : null,
    date_updated: at,
    direction,
    error_code: null,
    error_message: null,
    from,
    messaging_service_sid: messagingServiceSid,
    num_media: '0',
    num_segments: String(segments(body).segments),
    price: null,
    price_unit: 'USD',
    sid,
    status,
    subresource_uris: { media: `${accountBase(account.sid)}/Messages/${sid}/Media.json` },
    to,
    uri,
  };
  const record = {
    resource,
    createdMs: nowMs,
    sentMs: direction === 'inbound' ? nowMs : null,
    seq: state.seq += 1,
    statusCallback,
    outcome,
    callbacks: Promise.resolve(), // status callbacks go out one after the other, in order
    assignFrom: null,
    account, // signs its callbacks with the account's current token
  };
  state.messages.set(sid, record);
  return record;
}

function setStatus(record, status, errorPair) {
  const nowMs = nowSecondMs();
  record.resource.status = status;
  record.resource.date_updated = rfc2822(nowMs);
  if (status === 'sent') {
    record.sentMs = nowMs;
    record.resource.date_sent = rfc2822(nowMs);
  }
  if (errorPair) [record.resource.error_code, record.resource.error_message] = errorPair;
}

/** Move an outbound message along: (accepted →) queued → sent → delivered | undelivered. */
async function runLifecycle(state, record) {
  const signal = state.closing.signal;
  try {
    if (record.resource.status === 'accepted') {
      await wait(0, signal);
      if (record.assignFrom) record.resource.from = record.assignFrom;
      setStatus(record, 'queued');
    }
    if (record.outcome === 'failed') {
      setStatus(record, 'failed', DELIVERY_ERRORS.failed);
      statusCallback(state, record);
      return;
    }
    await wait(SENT_AFTER_MS, signal);
    setStatus(record, 'sent');
    statusCallback(state, record);
    await wait(DELIVERED_AFTER_MS - SENT_AFTER_MS, signal);
    if (record.outcome === 'undelivered') setStatus(record, 'undelivered', DELIVERY_ERRORS.undelivered);
    else setStatus(record, 'delivered');
    statusCallback(state, record);
  } catch {
    // closing
  }
}

/** Queue Twilio's status callback for the message's current status (form POST, signed). */
function statusCallback(state, record) {
  if (!record.statusCallback || !state.messages.has(record.resource.sid)) return;
  const m = record.resource;
  const params = {
    AccountSid: m.account_sid,
    ApiVersion: API_VERSION,
    From: m.from ?? '',
    MessageSid: m.sid,
    MessageStatus: m.status,
    SmsSid: m.sid,
    SmsStatus: m.status,
    To: m.to,
  };
  if (m.messaging_service_sid) params.MessagingServiceSid = m.messaging_service_sid;
  if (m.error_code !== null) params.ErrorCode = String(m.error_code);
  if (m.status === 'delivered') {
    const d = new Date(record.sentMs ?? Date.now());
    const pad = (n) => String(n).padStart(2, '0');
    params.RawDlrDoneDate = `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
  }
  const url = record.statusCallback;
  record.callbacks = record.callbacks.then(() =>
    deliverWebhook(state, { kind: 'status', method: 'POST', url, params, authToken: record.account.authToken }).catch(() => {}));
}

function checkMessageForm(state, account, form) {
  const fail = (code, message) => { throw new ReplyError(twilioError(400, code, message)); };
  const rawTo = form.get('To');
  if (!rawTo) fail(21604, "A 'To' phone number is required.");
  const to = normalizeNumber(rawTo);
  if (!to) fail(21211, `The 'To' number ${rawTo} is not a valid phone number.`);

  const rawFrom = form.get('From');
  const messagingServiceSid = form.get('MessagingServiceSid') || null;
  if (!rawFrom && !messagingServiceSid) fail(21603, "A 'From' phone number is required.");
  if (messagingServiceSid && !MESSAGING_SERVICE_SID.test(messagingServiceSid)) {
    fail(21701, `The Messaging Service Sid ${messagingServiceSid} is invalid.`);
  }
  let from = null;
  if (rawFrom) {
    from = normalizeNumber(rawFrom);
    if (!from) fail(21212, `The 'From' number ${rawFrom} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
    if (!account.numbers.has(from)) {
      fail(21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
    }
  }
  // A Messaging Service without From picks one of the account's numbers (its sender pool).
  const sender = from ?? [...account.numbers.keys()][0];
  if (!sender) fail(21704, 'The Messaging Service contains no phone numbers');
  if (to === sender) fail(21211, `The 'To' number ${to} is not a valid phone number.`);

  const body = form.get('Body') ?? '';
  if (body === '') fail(21602, 'Message body is required.');
  if ([...body].length > MAX_BODY_CHARS) fail(21617, 'The concatenated message body exceeds the 1600 character limit.');

  const callback = form.get('StatusCallback') ?? '';
  if (callback !== '' && !isWebUrl(callback)) fail(21609, `The StatusCallback URL ${callback} is not a valid URL.`);

  if (MAGIC_TO[to]) fail(...MAGIC_TO[to]);
  if (state.optOuts.has(optOutKey(account.sid, sender, to))) fail(21610, 'Attempt to send to unsubscribed recipient');
  return { to, from, sender, body, messagingServiceSid, statusCallback: callback };
}

async function sendMessage(ctx) {
  const account = authenticate(ctx);
  const form = await readForm(ctx.req);
  const failure = drawFailure(ctx.state.failures);
  if (failure === 'timeout') return hang(ctx.signal, ctx.res);
  if (typeof failure === 'number') {
    const message = failure === 429 ? 'Too Many Requests' : (STATUS_CODES[failure] ?? 'Error');
    return twilioError(failure, 20000 + failure, message, failure === 429 || failure === 503 ? { 'retry-after': '1' } : {});
  }

  const input = checkMessageForm(ctx.state, account, form);
  const viaService = !input.from;
  const record = createMessage(ctx.state, account, {
    to: input.to,
    from: input.from,
    body: input.body,
    direction: 'outbound-api',
    status: viaService ? 'accepted' : 'queued',
    messagingServiceSid: input.messagingServiceSid,
    statusCallback: input.statusCallback,
    outcome: failure === 'undelivered' ? 'undelivered' : 'delivered',
  });
  if (viaService) record.assignFrom = input.sender;
  const reply = json(201, { ...record.resource });
  runLifecycle(ctx.state, record);
  if (failure === 'timeout_after_accept') return hang(ctx.signal, ctx.res);
  return reply;
}

/** A DateSent filter value: a day (YYYY-MM-DD, UTC) or an instant (ISO 8601). */
function parseDateFilter(value) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? null : { from: start, to: start + 86_400_000 - 1 };
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : { from: t, to: t };
}

function listMessages(ctx) {
  const account = authenticate(ctx);
  const q = ctx.url.searchParams;
  const tests = [];
  const to = q.get('To');
  const from = q.get('From');
  if (to) tests.push((m) => m.resource.to === (normalizeNumber(to) ?? to));
  if (from) tests.push((m) => m.resource.from === (normalizeNumber(from) ?? from));
  // `DateSent>=2024-05-01` arrives as the name `DateSent>` (and `DateSent<=` as `DateSent<`).
  // A message not sent yet (queued) is matched by its creation time, so a check made right after
  // an ambiguous send still finds it.
  for (const [name, test] of [
    ['DateSent', (t, r) => t >= r.from && t <= r.to],
    ['DateSent>', (t, r) => t >= r.from],
    ['DateSent<', (t, r) => t <= r.to],
  ]) {
    const value = q.get(name);
    if (value === null) continue;
    const range = parseDateFilter(value);
    if (!range) return twilioError(400, 20001, `Invalid value for ${name}: ${value}`);
    tests.push((m) => test(m.sentMs ?? m.createdMs, range));
  }
  const messages = [...ctx.state.messages.values()]
    .filter((m) => m.resource.account_sid === account.sid && tests.every((t) => t(m)))
    .sort((a, b) => b.createdMs - a.createdMs || b.seq - a.seq)
    .map((m) => m.resource);
  return json(200, listPage(ctx, `${accountBase(account.sid)}/Messages.json`, 'messages', messages));
}

function getMessage(ctx) {
  const account = authenticate(ctx);
  const record = ctx.state.messages.get(ctx.params.sid);
  if (!record || record.resource.account_sid !== account.sid) return notFound(ctx.url.pathname);
  return json(200, record.resource);
}

// ---------------------------------------------------------------------------------------------
// Outgoing webhooks (status callbacks, inbound messages)
// ---------------------------------------------------------------------------------------------

/**
 * Send a Twilio webhook: form POST (or GET with the parameters in the query), signed with
 * X-Twilio-Signature, and log it in state.callbacks. Resolves the answer or throws.
 */
async function deliverWebhook(state, { kind, method, url, params, authToken }) {
  const form = new URLSearchParams(params);
  let target = url;
  let signature;
  if (method === 'GET') {
    const u = new URL(url);
    for (const [k, v] of form) u.searchParams.append(k, v);
    target = u.href;
    signature = twilioSignature(authToken, target, {});
  } else {
    signature = twilioSignature(authToken, url, params);
  }
  const entry = { kind, method, url: target, params: { ...params }, signature, at: new Date().toISOString(), status: null, error: null };
  state.callbacks.push(entry);
  const headers = {
    'x-twilio-signature': signature,
    'user-agent': 'TwilioProxy/1.1',
    'i-twilio-idempotency-token': randomUUID(),
    accept: '*/*',
  };
  const body = method === 'GET' ? undefined : form.toString();
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
  try {
    const answer = await httpOut(target, { method, headers, body, timeoutMs: WEBHOOK_TIMEOUT_MS }, state.closing.signal);
    entry.status = answer.status;
    return answer;
  } catch (err) {
    entry.error = err.code === 'TIMEOUT' ? 'timeout' : String(err.message ?? err);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Inbound messages and opt-out keywords
// ---------------------------------------------------------------------------------------------

const KEYWORDS = {
  STOP: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'],
  START: ['START', 'YES', 'UNSTOP'],
  HELP: ['HELP', 'INFO'],
};
// Twilio's default replies.
const AUTO_REPLIES = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
};

const keywordOf = (body) => {
  const word = body.trim().toUpperCase();
  return Object.keys(KEYWORDS).find((k) => KEYWORDS[k].includes(word)) ?? null;
};

const XML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unxml = (s) => s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return XML_ENTITIES[e.toLowerCase()];
});

/** Bodies of the <Message> verbs of a TwiML answer (`<Message>text</Message>` or with <Body>). */
function twimlMessages(text) {
  const out = [];
  for (const m of text.matchAll(/<Message\b[^>]*>([\s\S]*?)<\/Message>/g)) {
    const inner = /<Body\b[^>]*>([\s\S]*?)<\/Body>/.exec(m[1]);
    const body = unxml((inner ? inner[1] : m[1].replace(/<[^>]+>[\s\S]*?<\/[^>]+>|<[^>]+\/>/g, '')).trim());
    if (body) out.push(body);
  }
  return out;
}

/** A reply from an owned number (auto-reply or TwiML), subject to the recipient's opt-out. */
function sendReply(state, account, { from, to, body }) {
  const optedOut = state.optOuts.has(optOutKey(account.sid, from, to));
  const record = createMessage(state, account, {
    to, from, body, direction: 'outbound-reply', status: 'queued', outcome: optedOut ? 'failed' : 'delivered',
  });
  runLifecycle(state, record);
  return record;
}

async function inboundHook(ctx) {
  const input = await readHookJson(ctx);
  if (!input) return hookError(400, 'body must be a JSON object {from, to, body, account_sid?}');
  const from = typeof input.from === 'string' ? normalizeNumber(input.from) : null;
  const to = typeof input.to === 'string' ? normalizeNumber(input.to) : null;
  if (!from) return hookError(400, 'from must be a phone number (E.164)');
  if (!to) return hookError(400, 'to must be a phone number (E.164)');
  if (typeof input.body !== 'string') return hookError(400, 'body must be a string');

  const owners = [...ctx.state.accounts.values()].filter((a) => a.numbers.has(to));
  let account;
  if (input.account_sid !== undefined) {
    account = owners.find((a) => a.sid === input.account_sid);
    if (!account) return hookError(404, `account ${input.account_sid} does not own ${to}`);
  } else {
    account = owners.find((a) => a.sid === ctx.state.defaultAccountSid) ?? owners[0];
    if (!account) return hookError(404, `no account owns ${to}`);
  }
  const number = account.numbers.get(to);

  const record = createMessage(ctx.state, account, {
    to, from, body: input.body, direction: 'inbound', status: 'received',
  });
  const m = record.resource;

  // Twilio's default opt-out handling happens whatever the webhook answers.
  const keyword = keywordOf(input.body);
  const key = optOutKey(account.sid, to, from);
  if (keyword === 'STOP') {
    sendReply(ctx.state, account, { from: to, to: from, body: AUTO_REPLIES.STOP }); // goes out before the opt-out
    ctx.state.optOuts.add(key);
  } else if (keyword === 'START') {
    ctx.state.optOuts.delete(key);
    sendReply(ctx.state, account, { from: to, to: from, body: AUTO_REPLIES.START });
  } else if (keyword === 'HELP') {
    sendReply(ctx.state, account, { from: to, to: from, body: AUTO_REPLIES.HELP });
  }

  const headers = { 'x-sms-message-sid': m.sid };
  if (!number.sms_url) {
    return { ...hookError(409, `${to} has no SmsUrl: the message ${m.sid} was stored, not forwarded`), headers: { 'content-type': JSON_TYPE, ...headers } };
  }

  const params = {
    AccountSid: account.sid,
    ApiVersion: API_VERSION,
    Body: m.body,
    From: from,
    FromCity: '',
    FromCountry: countryOf(from),
    FromState: '',
    FromZip: '',
    MessageSid: m.sid,
    NumMedia: '0',
    NumSegments: m.num_segments,
    SmsMessageSid: m.sid,
    SmsSid: m.sid,
    SmsStatus: 'received',
    To: to,
    ToCity: '',
    ToCountry: countryOf(to),
    ToState: '',
    ToZip: '',
  };
  if (keyword) params.OptOutType = keyword;

  let answer;
  try {
    answer = await deliverWebhook(ctx.state, {
      kind: 'inbound', method: number.sms_method, url: number.sms_url, params, authToken: account.authToken,
    });
  } catch (err) {
    if (ctx.state.closing.signal.aborted) throw err;
    const timeout = err.code === 'TIMEOUT';
    const reply = hookError(timeout ? 504 : 502, `webhook ${number.sms_url} ${timeout ? 'did not answer in time' : `failed: ${err.message}`}`);
    Object.assign(reply.headers, headers);
    return reply;
  }
  if (answer.status >= 200 && answer.status < 300 && /<Response\b/.test(answer.body)) {
    for (const body of twimlMessages(answer.body)) sendReply(ctx.state, account, { from: to, to: from, body });
  }
  return {
    status: answer.status,
    headers: { 'content-type': answer.headers['content-type'] ?? 'text/plain; charset=utf-8', ...headers },
    body: answer.body,
  };
}

// ---------------------------------------------------------------------------------------------
// Test hooks
// ---------------------------------------------------------------------------------------------

async function accountsHook(ctx) {
  const body = await readHookJson(ctx);
  if (!body) return hookError(400, 'body must be a JSON object {account_sid, auth_token}');
  if (typeof body.account_sid !== 'string' || !ACCOUNT_SID.test(body.account_sid)) {
    return hookError(400, "account_sid must be 'AC' followed by 32 lowercase hex digits");
  }
  if (typeof body.auth_token !== 'string' || body.auth_token === '') return hookError(400, 'auth_token must be a non-empty string');
  const { account, created } = registerAccount(ctx.state, body.account_sid, body.auth_token);
  return hookJson(created ? 201 : 200, {
    account_sid: account.sid,
    api_base: `${ctx.origin}/${API_VERSION}/Accounts/${account.sid}`,
    numbers: [...account.numbers.keys()],
  });
}

async function failHook(ctx) {
  const { failures, error } = parseFailures(await readHookJson(ctx));
  if (error) return hookError(400, error);
  ctx.state.failures = failures;
  return hookJson(200, describeFailures(failures));
}

function clearMessages(ctx) {
  ctx.state.messages.clear();
  return noContent();
}

function optOutList(ctx) {
  return hookJson(200, [...ctx.state.optOuts].map((k) => {
    const [accountSid, number, recipient] = k.split(' ');
    return { account_sid: accountSid, number, recipient };
  }));
}

// ---------------------------------------------------------------------------------------------
// Outbox page
// ---------------------------------------------------------------------------------------------

function outbox(ctx) {
  const records = [...ctx.state.messages.values()].sort((a, b) => b.createdMs - a.createdMs || b.seq - a.seq);
  const texts = records.map(({ resource: m, createdMs }) => ({
    id: m.sid,
    at: new Date(createdMs).toISOString(),
    direction: m.direction,
    to: m.to,
    from: m.from ?? '',
    status: m.error_code === null ? m.status : `${m.status} (error ${m.error_code})`,
    text: m.body,
  }));
  const numbers = [...ctx.state.accounts.values()].flatMap((a) => [...a.numbers.values()].map((n) =>
    `<tr><td><code>${escapeHtml(a.sid)}</code></td><td>${escapeHtml(n.phone_number)}</td>`
    + `<td>${n.sms_url ? `<code>${escapeHtml(n.sms_method)} ${escapeHtml(n.sms_url)}</code>` : 'none'}</td></tr>`)).join('\n');
  return outboxPage({
    title: 'SMS stand-in outbox (Twilio Programmable Messaging)',
    intro: `<p>Texts the gateway sent (and replies patients sent back), as a phone would see them, newest
first; this page reloads every 5 seconds. API base <code>${escapeHtml(ctx.origin)}</code> (instead of
<code>https://api.twilio.com</code>); as JSON: <a href="/_sms/messages">/_sms/messages</a>.</p>`,
    sections: [
      textsTable({ caption: `Messages, newest first (${records.length})`, idName: 'sid', texts }),
      `<table id="numbers">
<caption>Owned phone numbers</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Number</th><th scope="col">Incoming messages go to</th></tr></thead>
<tbody>
${numbers}
</tbody></table>`,
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

const ACC = `^/${API_VERSION.replace(/-/g, '\\-')}/Accounts/(?<account>[^/]+)`;
const route = (method, path, handler) => ({ method, path: new RegExp(`${ACC}${path}$`), handler });

const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: outbox },
  route('POST', '/Messages\\.json', sendMessage),
  route('GET', '/Messages\\.json', listMessages),
  route('GET', '/Messages/(?<sid>[^/]+)\\.json', getMessage),
  route('GET', '/AvailablePhoneNumbers/(?<country>[^/]+)/(?<type>[^/]+)\\.json', availablePhoneNumbers),
  route('GET', '/IncomingPhoneNumbers\\.json', listNumbers),
  route('POST', '/IncomingPhoneNumbers\\.json', buyNumber),
  route('GET', '/IncomingPhoneNumbers/(?<sid>[^/]+)\\.json', getNumber),
  route('POST', '/IncomingPhoneNumbers/(?<sid>[^/]+)\\.json', updateNumber),
  route('DELETE', '/IncomingPhoneNumbers/(?<sid>[^/]+)\\.json', releaseNumber),
  // Test hooks
  { method: 'GET', path: /^\/_sms\/requests$/, handler: (ctx) => hookJson(200, ctx.state.requests) },
  { method: 'DELETE', path: /^\/_sms\/requests$/, handler: (ctx) => { ctx.state.requests.length = 0; return noContent(); } },
  {
    method: 'GET',
    path: /^\/_sms\/messages$/,
    handler: (ctx) => hookJson(200, [...ctx.state.messages.values()].sort((a, b) => a.seq - b.seq).map((r) => r.resource)),
  },
  { method: 'DELETE', path: /^\/_sms\/messages$/, handler: clearMessages },
  { method: 'GET', path: /^\/_sms\/callbacks$/, handler: (ctx) => hookJson(200, ctx.state.callbacks) },
  { method: 'DELETE', path: /^\/_sms\/callbacks$/, handler: (ctx) => { ctx.state.callbacks.length = 0; return noContent(); } },
  { method: 'GET', path: /^\/_sms\/opt-outs$/, handler: optOutList },
  { method: 'DELETE', path: /^\/_sms\/opt-outs$/, handler: (ctx) => { ctx.state.optOuts.clear(); return noContent(); } },
  { method: 'POST', path: /^\/_sms\/accounts$/, handler: accountsHook },
  { method: 'POST', path: /^\/_sms\/fail$/, handler: failHook },
  { method: 'POST', path: /^\/_sms\/inbound$/, handler: inboundHook },
];

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const isInternal = hookPaths('/_sms/');

// `signal` aborts when the client disconnects or the server closes (see lib/server.mjs).
async function handle(req, res, { origin, signal, options, state }) {
  const url = new URL(req.url, origin);
  const internal = isInternal(url.pathname);
  if (!internal) logRequest(state.requests, req, res, url, epochMs);

  const ctx = { req, res, url, params: {}, origin, options, state, signal };
  try {
    if (options.delayMs > 0 && !internal) await wait(options.delayMs, signal);
    const match = matchRoute(ROUTES, req.method, url.pathname);
    let reply;
    if (!match) {
      reply = internal ? hookError(404, `no hook ${url.pathname}`) : notFound(url.pathname);
    } else if (match.allowed) {
      reply = twilioError(405, 20004, 'Method not allowed');
      reply.headers.allow = match.allowed.join(', ');
    } else {
      ctx.params = match.params;
      try {
        reply = await match.route.handler(ctx);
      } catch (err) {
        if (!(err instanceof ReplyError)) throw err;
        reply = err.reply;
      }
    }
    if (reply === null) return; // deliberately unanswered (injected timeout)
    if (!internal) reply.headers['twilio-request-id'] = newSid('RQ');
    send(res, reply);
  } catch (err) {
    if (signal.aborted) return; // nobody left to answer
    if (err instanceof TooLarge) {
      send(res, twilioError(413, 20413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`));
      return;
    }
    send(res, twilioError(500, 20500, `Internal Server Error: ${String(err?.stack ?? err)}`));
  }
}

/**
 * Start the stand-in. Resolves once listening. One account is registered from the options
 * (defaults: DEFAULT_ACCOUNT), owning MAGIC_NUMBER.
 * @param {{port?: number, host?: string, delayMs?: number, purchaseDelayMs?: number,
 *          accountSid?: string, authToken?: string}} [opts]
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startSmsStandIn({
  port = 0,
  host = '127.0.0.1',
  delayMs = 0,
  purchaseDelayMs = 0,
  accountSid = DEFAULT_ACCOUNT.accountSid,
  authToken = DEFAULT_ACCOUNT.authToken,
} = {}) {
  if (!ACCOUNT_SID.test(accountSid)) throw new Error(`accountSid must be 'AC' + 32 lowercase hex digits, got ${accountSid}`);
  if (!authToken) throw new Error('authToken must not be empty');
  const options = { delayMs, purchaseDelayMs };
  const closing = new AbortController();
  setMaxListeners(0, closing.signal); // one listener per pending delivery, purchase or webhook
  const state = {
    requests: [],
    callbacks: [],
    accounts: new Map(), // AccountSid → {sid, authToken, numbers: Map(phone → IncomingPhoneNumber)}
    defaultAccountSid: accountSid,
    messages: new Map(), // MessageSid → record (see createMessage)
    optOuts: new Set(), // optOutKey(account, owned number, recipient)
    seq: 0,
    failures: noFailures(),
    closing, // aborted by close(): stops deliveries, purchases and webhooks in flight
  };
  registerAccount(state, accountSid, authToken);

  const server = await startServer({
    port,
    host,
    onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, options, state }),
  });

  let closed;
  const close = () => {
    closed ??= (async () => {
      closing.abort(new Error('server closing'));
      await server.close();
    })();
    return closed;
  };
  return { url: server.url, close };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

runIfMain(import.meta.url, 'sms', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8791' },
      host: { type: 'string', default: '127.0.0.1' },
      'delay-ms': { type: 'string', default: '0' },
      'purchase-delay-ms': { type: 'string', default: '0' },
      'account-sid': { type: 'string', default: DEFAULT_ACCOUNT.accountSid },
      'auth-token': { type: 'string', default: DEFAULT_ACCOUNT.authToken },
    },
  });
  return startSmsStandIn({
    port: toInt('port', values.port),
    host: values.host,
    delayMs: toInt('delay-ms', values['delay-ms']),
    purchaseDelayMs: toInt('purchase-delay-ms', values['purchase-delay-ms']),
    accountSid: values['account-sid'],
    authToken: values['auth-token'],
  });
});
