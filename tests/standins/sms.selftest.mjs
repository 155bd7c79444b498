// Self-test for the SMS stand-in (Twilio Programmable Messaging): `node --test tests/standins/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';

import {
  startSmsStandIn, DEFAULT_ACCOUNT, MAGIC_NUMBER, API_VERSION, twilioSignature, segments,
} from './sms.mjs';
import { fetchJson, startCli, until } from './lib/testing.mjs';

let sms;
before(async () => { sms = await startSmsStandIn({ port: 0 }); });
after(async () => { await sms?.close(); });

const ACC = DEFAULT_ACCOUNT.accountSid;
const SID = (prefix) => new RegExp(`^${prefix}[0-9a-f]{32}$`);
const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;
/** A fresh fictional patient number per test, so tests do not see each other's messages. */
const patient = () => `+1202555${String(1000 + (++seq)).slice(-4)}`;

const basic = (sid = ACC, token = DEFAULT_ACCOUNT.authToken) =>
  `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;

async function api(path, { origin = sms.url, method = 'GET', form, sid = ACC, token = DEFAULT_ACCOUNT.authToken, auth, signal } = {}) {
  const headers = {};
  if (auth !== null) headers.authorization = auth ?? basic(sid, token);
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${origin}/${API_VERSION}/Accounts/${sid}${path}`, {
    method: form ? 'POST' : method,
    headers,
    body: form ? new URLSearchParams(form) : undefined,
    signal,
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, headers: res.headers, body, text };
}

/** POST Messages.json with From = MAGIC_NUMBER and Body = 'Hello' unless given; undefined drops a field. */
function sendSms(form, opts = {}) {
  const full = { From: MAGIC_NUMBER, Body: 'Hello', ...form };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return api('/Messages.json', { form: full, ...opts });
}

const hook = (path, method = 'GET', body, origin = sms.url) => fetchJson(`${origin}/_sms/${path}`, { method, body });

function assertTwilioError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'message', 'more_info', 'status']);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(res.body.more_info, `https://www.twilio.com/docs/errors/${code}`);
  assert.equal(typeof res.body.message, 'string');
}

/** A webhook receiver: records requests; `answer(req, body)` gives {status, type, body}. */
async function receiver(answer = () => ({ status: 204, type: 'text/plain', body: '' })) {
  const received = [];
  const waiters = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const entry = { method: req.method, path: req.url, headers: req.headers, body, params: new URLSearchParams(body) };
    received.push(entry);
    for (const w of waiters.splice(0)) w();
    const a = answer(entry);
    res.writeHead(a.status, { 'content-type': a.type });
    res.end(a.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  async function waitFor(n, ms = 2000) {
    const deadline = Date.now() + ms;
    while (received.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${received.length} of ${n} webhook requests arrived`);
      await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 50); });
    }
    return received;
  }
  const close = () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); });
  return { url, received, waitFor, close };
}

// ---------------------------------------------------------------------------------------------
// Messages: send, get, list
// ---------------------------------------------------------------------------------------------

test('send: 201 with a Twilio Message resource, queued', async () => {
  const to = patient();
  const body = 'Your video visit: https://visits.example.org/j/Ab3dE9';
  const res = await sendSms({ To: to, Body: body });
  assert.equal(res.status, 201);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  assert.match(res.headers.get('twilio-request-id'), SID('RQ'));
  const m = res.body;
  assert.deepEqual(Object.keys(m).sort(), [
    'account_sid', 'api_version', 'body', 'date_created', 'date_sent', 'date_updated', 'direction',
    'error_code', 'error_message', 'from', 'messaging_service_sid', 'num_media', 'num_segments', 'price',
    'price_unit', 'sid', 'status', 'subresource_uris', 'to', 'uri',
  ]);
  assert.match(m.sid, SID('SM'));
  assert.equal(m.account_sid, ACC);
  assert.equal(m.to, to);
  assert.equal(m.from, MAGIC_NUMBER);
  assert.equal(m.body, body);
  assert.equal(m.status, 'queued');
  assert.equal(m.num_segments, '1');
  assert.equal(m.num_media, '0');
  assert.equal(m.direction, 'outbound-api');
  assert.equal(m.api_version, '2010-04-01');
  assert.equal(m.price, null);
  assert.equal(m.price_unit, 'USD');
  assert.equal(m.error_code, null);
  assert.equal(m.error_message, null);
  assert.equal(m.messaging_service_sid, null);
  assert.match(m.date_created, RFC2822);
  assert.match(m.date_updated, RFC2822);
  assert.equal(m.date_sent, null, 'not sent yet (as at Twilio)');
  assert.ok(Math.abs(Date.parse(m.date_created) - Date.now()) < 5000);
  assert.equal(m.uri, `/2010-04-01/Accounts/${ACC}/Messages/${m.sid}.json`);
  assert.deepEqual(m.subresource_uris, { media: `/2010-04-01/Accounts/${ACC}/Messages/${m.sid}/Media.json` });

  // GET one: the same message, later sent and delivered.
  const got = await until(async () => {
    const r = await api(`/Messages/${m.sid}.json`);
    return r.body.status === 'delivered' && r;
  });
  assert.equal(got.status, 200);
  assert.equal(got.body.sid, m.sid);
  assert.match(got.body.date_sent, RFC2822);
  assert.equal(got.body.error_code, null);

  // Unknown sid: 404 20404.
  assertTwilioError(await api(`/Messages/SM${'0'.repeat(32)}.json`), 404, 20404);
});

test('send: national US numbers are normalised to E.164; MessagingServiceSid picks an owned number', async () => {
  const digits = patient().slice(2);
  const res = await sendSms({ To: `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}` });
  assert.equal(res.status, 201);
  assert.equal(res.body.to, `+1${digits}`);

  const to = patient();
  const mg = `MG${'a'.repeat(32)}`;
  const viaService = await sendSms({ To: to, From: undefined, MessagingServiceSid: mg });
  assert.equal(viaService.status, 201);
  assert.equal(viaService.body.status, 'accepted');
  assert.equal(viaService.body.from, null);
  assert.equal(viaService.body.messaging_service_sid, mg);
  const later = await until(async () => {
    const r = await api(`/Messages/${viaService.body.sid}.json`);
    return r.body.status === 'delivered' && r.body;
  });
  assert.equal(later.from, MAGIC_NUMBER);
});

test('list: filters by To / From / DateSent, newest first, Twilio page envelope', async () => {
  const to = patient();
  const sids = [];
  for (const body of ['first', 'second', 'third']) sids.push((await sendSms({ To: to, Body: body })).body.sid);
  await sendSms({ To: patient(), Body: 'someone else' });

  const today = new Date().toISOString().slice(0, 10);
  // Right after sending (still queued) as well as later, the DateSent filter finds them.
  const path = `/Messages.json?To=${encodeURIComponent(to)}&From=${encodeURIComponent(MAGIC_NUMBER)}&DateSent>=${today}&PageSize=20`;
  const res = await api(path);
  assert.equal(res.status, 200);
  const page = res.body;
  assert.deepEqual(Object.keys(page).sort(), [
    'end', 'first_page_uri', 'messages', 'next_page_uri', 'page', 'page_size', 'previous_page_uri', 'start', 'uri',
  ]);
  assert.deepEqual(page.messages.map((m) => m.sid), [...sids].reverse());
  assert.equal(page.page, 0);
  assert.equal(page.page_size, 20);
  assert.equal(page.start, 0);
  assert.equal(page.end, 2);
  assert.equal(page.next_page_uri, null);
  assert.equal(page.previous_page_uri, null);
  assert.ok(page.uri.startsWith(`/2010-04-01/Accounts/${ACC}/Messages.json?`), page.uri);
  assert.ok(page.uri.includes('DateSent%3E='), page.uri);
  assert.ok(page.first_page_uri.includes('Page=0'));

  // Other date filters.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const count = async (q) => (await api(`/Messages.json?To=${encodeURIComponent(to)}&${q}`)).body.messages.length;
  assert.equal(await count(`DateSent>=${tomorrow}`), 0);
  assert.equal(await count(`DateSent<=${yesterday}`), 0);
  assert.equal(await count(`DateSent=${today}`), 3);
  assert.equal(await count(`DateSent>=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`), 3);
  assertTwilioError(await api(`/Messages.json?DateSent>=not-a-date`), 400, 20001);

  // Paging.
  const p0 = (await api(`/Messages.json?To=${encodeURIComponent(to)}&PageSize=2`)).body;
  assert.deepEqual(p0.messages.map((m) => m.sid), [sids[2], sids[1]]);
  assert.ok(p0.next_page_uri);
  const p1 = (await fetch(`${sms.url}${p0.next_page_uri}`, { headers: { authorization: basic() } }).then((r) => r.json()));
  assert.deepEqual(p1.messages.map((m) => m.sid), [sids[0]]);
  assert.equal(p1.page, 1);
  assert.equal(p1.start, 2);
  assert.equal(p1.end, 2);
  assert.equal(p1.next_page_uri, null);
  assert.ok(p1.previous_page_uri);

  // The hook lists everything, oldest first.
  const all = (await hook('messages')).body;
  const mine = all.filter((m) => m.to === to).map((m) => m.sid);
  assert.deepEqual(mine, sids);
});

// ---------------------------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------------------------

test('segments: GSM-7 and UCS-2 boundaries like Twilio', async () => {
  const gsm = (n) => segments('a'.repeat(n));
  assert.deepEqual(gsm(1), { encoding: 'GSM-7', segments: 1 });
  assert.deepEqual(gsm(160), { encoding: 'GSM-7', segments: 1 });
  assert.deepEqual(gsm(161), { encoding: 'GSM-7', segments: 2 });
  assert.deepEqual(gsm(306), { encoding: 'GSM-7', segments: 2 });
  assert.deepEqual(gsm(307), { encoding: 'GSM-7', segments: 3 });
  assert.deepEqual(gsm(1600), { encoding: 'GSM-7', segments: 11 });
  assert.deepEqual(segments(''), { encoding: 'GSM-7', segments: 1 });

  // Accented letters in the GSM basic set stay GSM-7.
  assert.deepEqual(segments('Grüße aus München, café à côté? Ñ'.replace('ô', 'o')), { encoding: 'GSM-7', segments: 1 });
  // Extension characters count 2 each.
  for (const c of ['{', '}', '[', ']', '~', '^', '\\', '|', '€']) {
    assert.deepEqual(segments(c.repeat(80)), { encoding: 'GSM-7', segments: 1 }, c);
    assert.deepEqual(segments(c.repeat(81)), { encoding: 'GSM-7', segments: 2 }, c);
  }
  assert.deepEqual(segments(`${'a'.repeat(159)}€`), { encoding: 'GSM-7', segments: 2 });
  // An escape pair is never split: 152 + '€' does not fit in 153.
  assert.deepEqual(segments(`${'a'.repeat(152)}€${'a'.repeat(153)}`), { encoding: 'GSM-7', segments: 3 });

  // UCS-2: anything outside GSM, e.g. 'ł' or an emoji (2 UTF-16 units).
  assert.deepEqual(segments('ł'.repeat(70)), { encoding: 'UCS-2', segments: 1 });
  assert.deepEqual(segments('ł'.repeat(71)), { encoding: 'UCS-2', segments: 2 });
  assert.deepEqual(segments('ł'.repeat(134)), { encoding: 'UCS-2', segments: 2 });
  assert.deepEqual(segments('ł'.repeat(135)), { encoding: 'UCS-2', segments: 3 });
  assert.deepEqual(segments(`${'a'.repeat(69)}ł`), { encoding: 'UCS-2', segments: 1 });
  assert.deepEqual(segments('😀'.repeat(35)), { encoding: 'UCS-2', segments: 1 });
  assert.deepEqual(segments('😀'.repeat(36)), { encoding: 'UCS-2', segments: 2 });
  assert.deepEqual(segments(`Hi 👋${'a'.repeat(65)}`), { encoding: 'UCS-2', segments: 1 }); // 3 + 2 + 65 = 70 units
  assert.deepEqual(segments(`Hi 👋${'a'.repeat(66)}`), { encoding: 'UCS-2', segments: 2 });
  // A surrogate pair is never split: 66 units + an emoji does not fit in 67.
  assert.deepEqual(segments(`${'ł'.repeat(66)}😀${'ł'.repeat(67)}`), { encoding: 'UCS-2', segments: 3 });

  // The API reports the same count.
  for (const [body, expected] of [['a'.repeat(161), '2'], ['€'.repeat(81), '2'], ['ł'.repeat(71), '2'], ['x'.repeat(307), '3']]) {
    const res = await sendSms({ To: patient(), Body: body });
    assert.equal(res.status, 201);
    assert.equal(res.body.num_segments, expected);
  }
});

// ---------------------------------------------------------------------------------------------
// Status callbacks and signatures
// ---------------------------------------------------------------------------------------------

test('twilioSignature matches Twilio\'s published examples', () => {
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = (n) => ({ CallSid: 'CA1234567890ABCDE', Caller: n, Digits: '1234', From: n, To: '+18005551212' });
  assert.equal(twilioSignature('12345', url, params('+12349013030')), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  assert.equal(twilioSignature('12345', url, params('+14158675309')), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  // Order of the parameters given does not matter; URLSearchParams and pairs work too.
  const p = params('+12349013030');
  const reversed = Object.fromEntries(Object.entries(p).reverse());
  assert.equal(twilioSignature('12345', url, reversed), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  assert.equal(twilioSignature('12345', url, new URLSearchParams(p)), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  assert.equal(twilioSignature('12345', url, Object.entries(p)), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
});

test('status callbacks: sent then delivered, form-encoded, with a valid X-Twilio-Signature', async () => {
  const rx = await receiver();
  try {
    const callback = `${rx.url}/sms/status?tenant=t1`;
    const to = patient();
    const res = await sendSms({ To: to, StatusCallback: callback });
    assert.equal(res.status, 201);
    const got = await rx.waitFor(2);
    assert.deepEqual(got.map((r) => r.params.get('MessageStatus')), ['sent', 'delivered']);
    for (const r of got) {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '/sms/status?tenant=t1');
      assert.match(r.headers['content-type'], /^application\/x-www-form-urlencoded/);
      assert.equal(r.headers['user-agent'], 'TwilioProxy/1.1');
      const params = Object.fromEntries(r.params);
      assert.equal(params.MessageSid, res.body.sid);
      assert.equal(params.SmsSid, res.body.sid);
      assert.equal(params.SmsStatus, params.MessageStatus);
      assert.equal(params.AccountSid, ACC);
      assert.equal(params.From, MAGIC_NUMBER);
      assert.equal(params.To, to);
      assert.equal(params.ApiVersion, '2010-04-01');
      assert.equal(params.ErrorCode, undefined);
      assert.equal(r.headers['x-twilio-signature'], twilioSignature(DEFAULT_ACCOUNT.authToken, callback, params));
      assert.notEqual(r.headers['x-twilio-signature'], twilioSignature('wrong-token', callback, params));
    }
    const log = (await hook('callbacks')).body.filter((c) => c.params.MessageSid === res.body.sid);
    assert.deepEqual(log.map((c) => [c.kind, c.status]), [['status', 204], ['status', 204]]);

    // Bad StatusCallback URL: 21609.
    assertTwilioError(await sendSms({ To: to, StatusCallback: 'not a url' }), 400, 21609);
  } finally {
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Validation and authentication
// ---------------------------------------------------------------------------------------------

test('validation errors carry Twilio codes', async () => {
  const cases = [
    [{ To: undefined }, 21604, "A 'To' phone number is required."],
    [{ To: '12345' }, 21211],
    [{ To: 'call me' }, 21211],
    [{ To: MAGIC_NUMBER }, 21211],
    [{ To: patient(), From: undefined }, 21603],
    [{ To: patient(), From: 'nonsense' }, 21212],
    [{ To: patient(), From: '+15005550007' }, 21606],
    [{ To: patient(), From: undefined, MessagingServiceSid: 'MG123' }, 21701],
    [{ To: patient(), Body: undefined }, 21602],
    [{ To: patient(), Body: 'x'.repeat(1601) }, 21617, 'The concatenated message body exceeds the 1600 character limit.'],
    // Twilio's magic test `To` numbers.
    [{ To: '+15005550001' }, 21211],
    [{ To: '+15005550002' }, 21612],
    [{ To: '+15005550003' }, 21408],
    [{ To: '+15005550004' }, 21610],
    [{ To: '+15005550009' }, 21614],
  ];
  for (const [form, code, message] of cases) {
    const res = await sendSms(form);
    assertTwilioError(res, 400, code);
    if (message) assert.equal(res.body.message, message);
  }
  assert.equal((await sendSms({ To: patient(), Body: 'x'.repeat(1600) })).status, 201);
  // Nothing was created for the rejected ones.
  const res = await api(`/Messages.json?To=${encodeURIComponent('+15005550004')}`);
  assert.deepEqual(res.body.messages, []);
});

test('auth: wrong or missing credentials are 401 code 20003', async () => {
  const expect401 = (res) => {
    assertTwilioError(res, 401, 20003);
    assert.equal(res.body.message, 'Authenticate');
    assert.match(res.headers.get('www-authenticate'), /^Basic realm=/);
  };
  expect401(await sendSms({ To: patient() }, { token: 'wrong' }));
  expect401(await sendSms({ To: patient() }, { auth: null }));
  expect401(await api('/Messages.json', { auth: 'Bearer abc' }));
  expect401(await api('/IncomingPhoneNumbers.json', { token: 'wrong' }));
  const other = `AC${'f'.repeat(32)}`;
  expect401(await api('/Messages.json', { sid: other }));
  // Right credentials, another account's path.
  expect401(await api('/Messages.json', { sid: other, auth: basic() }));

  // A registered account works, with its own magic number and its own messages.
  const reg = await hook('accounts', 'POST', { account_sid: other, auth_token: 'other-token' });
  assert.equal(reg.status, 201);
  assert.deepEqual(reg.body, { account_sid: other, api_base: `${sms.url}/2010-04-01/Accounts/${other}`, numbers: [MAGIC_NUMBER] });
  const sent = await sendSms({ To: patient() }, { sid: other, token: 'other-token' });
  assert.equal(sent.status, 201);
  assert.equal(sent.body.account_sid, other);
  assertTwilioError(await api(`/Messages/${sent.body.sid}.json`), 404, 20404); // not visible to the default account
  // Re-registering rotates the token.
  assert.equal((await hook('accounts', 'POST', { account_sid: other, auth_token: 'rotated' })).status, 200);
  expect401(await api('/Messages.json', { sid: other, token: 'other-token' }));
  assert.equal((await api('/Messages.json', { sid: other, token: 'rotated' })).status, 200);
  // Bad registrations.
  for (const bad of [{}, { account_sid: 'ACdev', auth_token: 'x' }, { account_sid: other, auth_token: '' }]) {
    assert.equal((await hook('accounts', 'POST', bad)).status, 400, JSON.stringify(bad));
  }
});

test('options: accountSid / authToken replace the default account', async () => {
  const accountSid = `AC${'1'.repeat(32)}`;
  const s = await startSmsStandIn({ accountSid, authToken: 'tok' });
  try {
    const res = await sendSms({ To: patient() }, { origin: s.url, sid: accountSid, token: 'tok' });
    assert.equal(res.status, 201);
    assert.equal((await sendSms({ To: patient() }, { origin: s.url })).status, 401);
  } finally {
    await s.close();
  }
  await assert.rejects(startSmsStandIn({ accountSid: 'ACdev' }), /accountSid/);
});

// ---------------------------------------------------------------------------------------------
// Failure injection
// ---------------------------------------------------------------------------------------------

test('fail: 500 and 429 (with Retry-After) for the next N sends, then normal again', async () => {
  const s = await startSmsStandIn();
  try {
    const send = () => sendSms({ To: patient() }, { origin: s.url });
    const set = await hook('fail', 'POST', { count: 2 }, s.url);
    assert.equal(set.status, 200);
    assert.deepEqual({ ...set.body, seed: 0 }, { count: 2, rate: 0, status: 500, seed: 0 });
    assert.ok(Number.isInteger(set.body.seed));
    const r1 = await send();
    assertTwilioError(r1, 500, 20500);
    assert.equal(r1.body.message, 'Internal Server Error');
    assertTwilioError(await send(), 500, 20500);
    assert.equal((await send()).status, 201);

    assert.equal((await hook('fail', 'POST', { count: 1, status: 429 }, s.url)).status, 200);
    const r429 = await send();
    assertTwilioError(r429, 429, 20429);
    assert.equal(r429.body.message, 'Too Many Requests');
    assert.equal(r429.headers.get('retry-after'), '1');
    assert.equal((await send()).status, 201);

    // Failures hit only Messages POSTs: listing is unaffected, and nothing was created for them.
    await hook('fail', 'POST', { count: 1 }, s.url);
    assert.equal((await api('/Messages.json', { origin: s.url })).status, 200);
    assertTwilioError(await send(), 500, 20500);
    assert.equal((await hook('messages', 'GET', undefined, s.url)).body.length, 2);

    // Bad hook bodies.
    for (const bad of [{ count: -1 }, { rate: 2 }, { status: 'nope' }, { status: 200 }, { seed: 1.5 }]) {
      assert.equal((await hook('fail', 'POST', bad, s.url)).status, 400, JSON.stringify(bad));
    }
  } finally {
    await s.close();
  }
});

test('fail: timeout_after_accept creates the message but never answers; timeout creates nothing', async () => {
  const s = await startSmsStandIn();
  try {
    const to = patient();
    await hook('fail', 'POST', { count: 1, status: 'timeout_after_accept' }, s.url);
    const started = Date.now();
    await assert.rejects(
      sendSms({ To: to, Body: 'ambiguous' }, { origin: s.url, signal: AbortSignal.timeout(300) }),
      (err) => err.name === 'TimeoutError' || err.name === 'AbortError',
    );
    assert.ok(Date.now() - started >= 250);
    // The gateway's check before resending: the message is there.
    const listed = await api(`/Messages.json?To=${encodeURIComponent(to)}&From=${encodeURIComponent(MAGIC_NUMBER)}&DateSent>=${new Date().toISOString().slice(0, 10)}`, { origin: s.url });
    assert.deepEqual(listed.body.messages.map((m) => m.body), ['ambiguous']);
    assert.equal(listed.body.messages[0].status, 'delivered');
    // The request log shows it unanswered.
    const entry = (await hook('requests', 'GET', undefined, s.url)).body.find((r) => r.method === 'POST');
    assert.equal(entry.status, null);
    assert.ok(entry.end_ms >= entry.start_ms);

    const other = patient();
    await hook('fail', 'POST', { count: 1, status: 'timeout' }, s.url);
    await assert.rejects(sendSms({ To: other }, { origin: s.url, signal: AbortSignal.timeout(300) }));
    assert.deepEqual((await api(`/Messages.json?To=${encodeURIComponent(other)}`, { origin: s.url })).body.messages, []);
    // Next send works normally.
    assert.equal((await sendSms({ To: other }, { origin: s.url })).status, 201);

    // A hanging request does not hold close() up.
    await hook('fail', 'POST', { count: 1, status: 'timeout' }, s.url);
    const pending = sendSms({ To: other }, { origin: s.url }).catch((err) => err);
    await sleep(50);
    const closeStarted = Date.now();
    await s.close();
    assert.ok(Date.now() - closeStarted < 1000);
    assert.ok((await pending) instanceof Error);
  } finally {
    await s.close();
  }
});

test('fail: undelivered accepts the message, then it fails with error 30003', async () => {
  const rx = await receiver();
  try {
    await hook('fail', 'POST', { count: 1, status: 'undelivered' });
    const res = await sendSms({ To: patient(), StatusCallback: `${rx.url}/cb` });
    assert.equal(res.status, 201);
    const got = await rx.waitFor(2);
    assert.deepEqual(got.map((r) => [r.params.get('MessageStatus'), r.params.get('ErrorCode')]), [['sent', null], ['undelivered', '30003']]);
    const m = (await api(`/Messages/${res.body.sid}.json`)).body;
    assert.equal(m.status, 'undelivered');
    assert.equal(m.error_code, 30003);
    assert.equal(m.error_message, 'Unreachable destination handset');
  } finally {
    await rx.close();
  }
});

test('fail: rate with a seed fails a repeatable share of sends until cleared', async () => {
  const s = await startSmsStandIn();
  try {
    const pattern = async () => {
      const out = [];
      for (let i = 0; i < 40; i += 1) out.push((await sendSms({ To: patient() }, { origin: s.url })).status);
      return out;
    };
    assert.deepEqual((await hook('fail', 'POST', { rate: 0.3, status: 500, seed: 42 }, s.url)).body,
      { count: 0, rate: 0.3, status: 500, seed: 42 });
    const a = await pattern();
    await hook('fail', 'POST', { rate: 0.3, status: 500, seed: 42 }, s.url);
    const b = await pattern();
    assert.deepEqual(a, b, 'same seed, same failures');
    const failures = a.filter((x) => x === 500).length;
    assert.ok(failures > 3 && failures < 25, `failures: ${failures}`);
    assert.ok(a.every((x) => x === 500 || x === 201));
    await hook('fail', 'POST', { rate: 0.3, status: 500, seed: 43 }, s.url);
    assert.notDeepEqual(await pattern(), a, 'another seed, other failures');

    await hook('fail', 'POST', { count: 0, rate: 0 }, s.url);
    assert.ok((await pattern()).every((x) => x === 201));
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

test('numbers: search, buy (slowly), list, update, send from it, release', async () => {
  const s = await startSmsStandIn({ purchaseDelayMs: 200 });
  try {
    const owned0 = await api('/IncomingPhoneNumbers.json', { origin: s.url });
    assert.equal(owned0.status, 200);
    assert.deepEqual(owned0.body.incoming_phone_numbers.map((n) => n.phone_number), [MAGIC_NUMBER]);
    assert.equal(owned0.body.incoming_phone_numbers[0].friendly_name, '(500) 555-0006');

    const search = await api('/AvailablePhoneNumbers/US/Local.json?SmsEnabled=true&AreaCode=206&PageSize=5', { origin: s.url });
    assert.equal(search.status, 200);
    assert.deepEqual(Object.keys(search.body).sort(), ['available_phone_numbers', 'uri']);
    assert.equal(search.body.uri, `/2010-04-01/Accounts/${ACC}/AvailablePhoneNumbers/US/Local.json?SmsEnabled=true&AreaCode=206&PageSize=5`);
    const found = search.body.available_phone_numbers;
    assert.equal(found.length, 5);
    for (const n of found) {
      assert.match(n.phone_number, /^\+120655501\d{2}$/);
      assert.equal(n.iso_country, 'US');
      assert.deepEqual(n.capabilities, { MMS: true, SMS: true, voice: true });
      assert.match(n.friendly_name, /^\(206\) 555-01\d{2}$/);
    }
    assertTwilioError(await api('/AvailablePhoneNumbers/GB/Local.json', { origin: s.url }), 404, 20404);

    const wanted = found[0].phone_number;
    const started = Date.now();
    const bought = await api('/IncomingPhoneNumbers.json', {
      origin: s.url, form: { PhoneNumber: wanted, SmsUrl: 'https://gateway.example.org/sms/inbound', SmsMethod: 'POST' },
    });
    assert.ok(Date.now() - started >= 190, 'purchase takes purchaseDelayMs');
    assert.equal(bought.status, 201);
    const n = bought.body;
    assert.match(n.sid, SID('PN'));
    assert.equal(n.account_sid, ACC);
    assert.equal(n.phone_number, wanted);
    assert.equal(n.friendly_name, found[0].friendly_name);
    assert.deepEqual(n.capabilities, { fax: false, mms: true, sms: true, voice: true });
    assert.equal(n.sms_url, 'https://gateway.example.org/sms/inbound');
    assert.equal(n.sms_method, 'POST');
    assert.equal(n.status, 'in-use');
    assert.match(n.date_created, RFC2822);
    assert.equal(n.uri, `/2010-04-01/Accounts/${ACC}/IncomingPhoneNumbers/${n.sid}.json`);

    // Not for sale twice, and no longer offered.
    assertTwilioError(await api('/IncomingPhoneNumbers.json', { origin: s.url, form: { PhoneNumber: wanted } }), 400, 21422);
    const again = await api('/AvailablePhoneNumbers/US/Local.json?AreaCode=206&PageSize=100', { origin: s.url });
    assert.ok(!again.body.available_phone_numbers.some((x) => x.phone_number === wanted));
    assertTwilioError(await api('/IncomingPhoneNumbers.json', { origin: s.url, form: {} }), 400, 21451);
    assertTwilioError(await api('/IncomingPhoneNumbers.json', { origin: s.url, form: { PhoneNumber: 'abc' } }), 400, 21421);

    // By area code.
    const byArea = await api('/IncomingPhoneNumbers.json', { origin: s.url, form: { AreaCode: '303' } });
    assert.equal(byArea.status, 201);
    assert.match(byArea.body.phone_number, /^\+130355501\d{2}$/);

    const owned = (await api('/IncomingPhoneNumbers.json', { origin: s.url })).body;
    assert.deepEqual(owned.incoming_phone_numbers.map((x) => x.phone_number), [MAGIC_NUMBER, wanted, byArea.body.phone_number]);
    assert.equal(owned.page, 0);
    assert.equal(owned.next_page_uri, null);
    const one = (await api(`/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(wanted)}`, { origin: s.url })).body;
    assert.deepEqual(one.incoming_phone_numbers.map((x) => x.sid), [n.sid]);
    assert.equal((await api(`/IncomingPhoneNumbers/${n.sid}.json`, { origin: s.url })).body.phone_number, wanted);

    // Update the webhook.
    const updated = await api(`/IncomingPhoneNumbers/${n.sid}.json`, { origin: s.url, form: { SmsUrl: 'http://127.0.0.1:1/in', SmsMethod: 'GET' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.sms_url, 'http://127.0.0.1:1/in');
    assert.equal(updated.body.sms_method, 'GET');

    // Send from it.
    const sent = await sendSms({ To: patient(), From: wanted }, { origin: s.url });
    assert.equal(sent.status, 201);
    assert.equal(sent.body.from, wanted);

    // Release: gone, and From is no longer ours.
    const del = await fetch(`${s.url}/2010-04-01/Accounts/${ACC}/IncomingPhoneNumbers/${n.sid}.json`, { method: 'DELETE', headers: { authorization: basic() } });
    assert.equal(del.status, 204);
    assertTwilioError(await api(`/IncomingPhoneNumbers/${n.sid}.json`, { origin: s.url }), 404, 20404);
    assertTwilioError(await sendSms({ To: patient(), From: wanted }, { origin: s.url }), 400, 21606);
  } finally {
    await s.close();
  }
});

test('numbers: a purchase completes even when the client stops waiting', async () => {
  const s = await startSmsStandIn({ purchaseDelayMs: 300 });
  try {
    await assert.rejects(api('/IncomingPhoneNumbers.json', {
      origin: s.url, form: { PhoneNumber: '+14155550142' }, signal: AbortSignal.timeout(50),
    }));
    const owned = await until(async () => {
      const list = (await api('/IncomingPhoneNumbers.json', { origin: s.url })).body.incoming_phone_numbers;
      return list.length === 2 && list;
    });
    assert.equal(owned[1].phone_number, '+14155550142');
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Inbound messages
// ---------------------------------------------------------------------------------------------

test('inbound: forwarded to SmsUrl as Twilio\'s signed webhook; the hook answers with its reply', async () => {
  const twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks &amp; see you soon</Message></Response>';
  const rx = await receiver((r) => (r.params.get('Body') === 'fail please'
    ? { status: 500, type: 'text/plain', body: 'boom' }
    : { status: 200, type: 'text/xml', body: twiml }));
  const s = await startSmsStandIn();
  try {
    const smsUrl = `${rx.url}/sms/inbound?tenant=t1`;
    const pn = (await api('/IncomingPhoneNumbers.json', { origin: s.url })).body.incoming_phone_numbers[0];
    assert.equal((await api(`/IncomingPhoneNumbers/${pn.sid}.json`, { origin: s.url, form: { SmsUrl: smsUrl } })).status, 200);

    const from = patient();
    const res = await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'Running 5 min late' }, s.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/xml/);
    assert.equal(res.text, twiml);
    const messageSid = res.headers.get('x-sms-message-sid');
    assert.match(messageSid, SID('SM'));

    const [r] = await rx.waitFor(1);
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/sms/inbound?tenant=t1');
    assert.match(r.headers['content-type'], /^application\/x-www-form-urlencoded/);
    const params = Object.fromEntries(r.params);
    assert.equal(params.MessageSid, messageSid);
    assert.equal(params.SmsSid, messageSid);
    assert.equal(params.SmsMessageSid, messageSid);
    assert.equal(params.AccountSid, ACC);
    assert.equal(params.From, from);
    assert.equal(params.To, MAGIC_NUMBER);
    assert.equal(params.Body, 'Running 5 min late');
    assert.equal(params.NumSegments, '1');
    assert.equal(params.NumMedia, '0');
    assert.equal(params.SmsStatus, 'received');
    assert.equal(params.ApiVersion, '2010-04-01');
    assert.equal(params.FromCountry, 'US');
    assert.equal(params.OptOutType, undefined);
    assert.equal(r.headers['x-twilio-signature'], twilioSignature(DEFAULT_ACCOUNT.authToken, smsUrl, params));

    // Stored as an inbound message; the TwiML <Message> went back as a reply.
    const list = (await api(`/Messages.json?From=${encodeURIComponent(from)}`, { origin: s.url })).body.messages;
    assert.equal(list.length, 1);
    assert.equal(list[0].direction, 'inbound');
    assert.equal(list[0].status, 'received');
    assert.equal(list[0].to, MAGIC_NUMBER);
    const replies = (await api(`/Messages.json?To=${encodeURIComponent(from)}`, { origin: s.url })).body.messages;
    assert.deepEqual(replies.map((m) => [m.direction, m.body, m.from]), [['outbound-reply', 'Thanks & see you soon', MAGIC_NUMBER]]);

    // The webhook's failure comes back as is.
    const failed = await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'fail please' }, s.url);
    assert.equal(failed.status, 500);
    assert.equal(failed.text, 'boom');

    // GET webhooks: parameters in the query, signature over the full URL.
    await api(`/IncomingPhoneNumbers/${pn.sid}.json`, { origin: s.url, form: { SmsMethod: 'GET' } });
    await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'via GET' }, s.url);
    const [, , g] = await rx.waitFor(3);
    assert.equal(g.method, 'GET');
    const full = `${rx.url}${g.path}`;
    assert.equal(new URL(full).searchParams.get('Body'), 'via GET');
    assert.equal(new URL(full).searchParams.get('tenant'), 't1');
    assert.equal(g.headers['x-twilio-signature'], twilioSignature(DEFAULT_ACCOUNT.authToken, full, {}));

    // Hook errors.
    assert.equal((await hook('inbound', 'POST', { from, to: '+12025550000', body: 'x' }, s.url)).status, 404);
    assert.equal((await hook('inbound', 'POST', { from: 'x', to: MAGIC_NUMBER, body: 'x' }, s.url)).status, 400);
    await api(`/IncomingPhoneNumbers/${pn.sid}.json`, { origin: s.url, form: { SmsUrl: '' } });
    const unrouted = await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'nobody listens' }, s.url);
    assert.equal(unrouted.status, 409);
    assert.match(unrouted.headers.get('x-sms-message-sid'), SID('SM'));
    await api(`/IncomingPhoneNumbers/${pn.sid}.json`, { origin: s.url, form: { SmsUrl: 'http://127.0.0.1:1/closed' } });
    assert.equal((await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'x' }, s.url)).status, 502);
  } finally {
    await s.close();
    await rx.close();
  }
});

test('inbound: STOP opts the patient out (21610 on send), START opts back in, HELP answers', async () => {
  const rx = await receiver(() => ({ status: 200, type: 'text/xml', body: '<Response/>' }));
  const s = await startSmsStandIn();
  try {
    const pn = (await api('/IncomingPhoneNumbers.json', { origin: s.url })).body.incoming_phone_numbers[0];
    await api(`/IncomingPhoneNumbers/${pn.sid}.json`, { origin: s.url, form: { SmsUrl: `${rx.url}/in` } });
    const from = patient();
    const send = () => sendSms({ To: from }, { origin: s.url });
    const replies = async () => (await api(`/Messages.json?To=${encodeURIComponent(from)}`, { origin: s.url }))
      .body.messages.filter((m) => m.direction === 'outbound-reply').map((m) => m.body);

    assert.equal((await send()).status, 201);
    assert.equal((await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: ' stop ' }, s.url)).status, 200);
    const [r] = await rx.waitFor(1);
    assert.equal(r.params.get('OptOutType'), 'STOP');
    assertTwilioError(await send(), 400, 21610);
    assert.deepEqual((await hook('opt-outs', 'GET', undefined, s.url)).body, [{ account_sid: ACC, number: MAGIC_NUMBER, recipient: from }]);
    assert.match((await replies())[0], /^You have successfully been unsubscribed/);

    await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'START' }, s.url);
    assert.equal((await send()).status, 201);
    await hook('inbound', 'POST', { from, to: MAGIC_NUMBER, body: 'help' }, s.url);
    const got = await rx.waitFor(3);
    assert.deepEqual(got.map((x) => x.params.get('OptOutType')), ['STOP', 'START', 'HELP']);
    const texts = await replies();
    assert.equal(texts.length, 3);
    assert.match(texts[0], /^Reply STOP to unsubscribe/); // newest first
    assert.match(texts[1], /^You have successfully been re-subscribed/);
    assert.deepEqual((await hook('opt-outs', 'GET', undefined, s.url)).body, []);
  } finally {
    await s.close();
    await rx.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Outbox page, request log, CLI
// ---------------------------------------------------------------------------------------------

test('outbox page: newest first, links clickable, everything else escaped, accessible markup', async () => {
  const s = await startSmsStandIn();
  try {
    const to = patient();
    await sendSms({ To: to, Body: 'older message' }, { origin: s.url });
    await sendSms({ To: to, Body: 'Join: https://visits.example.org/j/Ab3dE9. <script>alert(1)</script> & more' }, { origin: s.url });
    const res = await fetch(`${s.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const page = await res.text();
    assert.match(page, /<html lang="en">/);
    assert.match(page, /<main>[\s\S]*<\/main>/);
    assert.match(page, /<h1>[^<]+<\/h1>/);
    assert.match(page, /<caption>Messages, newest first \(2\)<\/caption>/);
    assert.match(page, /<th scope="col">/);
    assert.ok(page.includes('<a href="https://visits.example.org/j/Ab3dE9">https://visits.example.org/j/Ab3dE9</a>. &lt;script&gt;alert(1)&lt;/script&gt; &amp; more'));
    assert.ok(!page.includes('<script>'));
    assert.ok(page.indexOf('Ab3dE9') < page.indexOf('older message'), 'newest first');
    assert.ok(page.includes(to));
    assert.ok(page.includes(MAGIC_NUMBER));
    assert.match(page, /<caption>Owned phone numbers<\/caption>/);
  } finally {
    await s.close();
  }
});

test('request log: API calls logged with timings, hooks not; delayMs delays API calls only', async () => {
  const s = await startSmsStandIn({ delayMs: 100 });
  try {
    const t0 = Date.now();
    await hook('messages', 'GET', undefined, s.url);
    assert.ok(Date.now() - t0 < 90, 'hooks are not delayed');
    const t1 = Date.now();
    await sendSms({ To: patient() }, { origin: s.url });
    assert.ok(Date.now() - t1 >= 95, 'API calls are delayed');
    await api('/Messages.json?PageSize=1', { origin: s.url, token: 'wrong' });
    const log = (await hook('requests', 'GET', undefined, s.url)).body;
    assert.deepEqual(log.map((e) => [e.method, e.path, e.status]), [
      ['POST', `/2010-04-01/Accounts/${ACC}/Messages.json`, 201],
      ['GET', `/2010-04-01/Accounts/${ACC}/Messages.json?PageSize=1`, 401],
    ]);
    for (const e of log) {
      assert.deepEqual(Object.keys(e), ['method', 'path', 'at', 'start_ms', 'end_ms', 'status']);
      assert.ok(e.end_ms - e.start_ms >= 95);
      assert.equal(new Date(e.at).toISOString(), e.at);
    }
    assert.equal((await hook('requests', 'DELETE', undefined, s.url)).status, 204);
    assert.deepEqual((await hook('requests', 'GET', undefined, s.url)).body, []);
    assert.equal((await hook('messages', 'DELETE', undefined, s.url)).status, 204);
    assert.deepEqual((await hook('messages', 'GET', undefined, s.url)).body, []);
  } finally {
    await s.close();
  }
});

test('unknown routes and methods answer in Twilio\'s shape', async () => {
  assertTwilioError(await api('/Calls.json'), 404, 20404);
  assertTwilioError(await api('/Messages.json', { method: 'DELETE' }), 405, 20004);
  const res = await fetch(`${sms.url}/_sms/nope`);
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

test('CLI prints READY, takes account and delay flags, and exits on SIGTERM', async () => {
  const accountSid = `AC${'2'.repeat(32)}`;
  const cli = await startCli(new URL('./sms.mjs', import.meta.url),
    ['--port', '0', '--delay-ms', '0', '--purchase-delay-ms', '10', '--account-sid', accountSid, '--auth-token', 'cli-token']);
  const res = await sendSms({ To: patient() }, { origin: cli.url, sid: accountSid, token: 'cli-token' });
  assert.equal(res.status, 201);
  const bought = await api('/IncomingPhoneNumbers.json', { origin: cli.url, sid: accountSid, token: 'cli-token', form: { AreaCode: '415' } });
  assert.equal(bought.status, 201);
  await cli.stop();
});
