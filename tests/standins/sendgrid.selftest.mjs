// Self-test for the SendGrid v3 stand-in (Mail Send, Email Activity): `node --test tests/standins/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSendGridStandIn, DEFAULT_API_KEY } from './sendgrid.mjs';
import { fetchJson, startCli } from './lib/testing.mjs';

let sg;
before(async () => { sg = await startSendGridStandIn({ port: 0 }); });
after(async () => { await sg?.close(); });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;
const address = () => `patient${++seq}@example.org`;

const call = (method, path, { body, key = DEFAULT_API_KEY, auth, origin = sg.url, signal } = {}) =>
  fetchJson(`${origin}${path}`, { method, body, headers: auth === null ? {} : { authorization: auth ?? `Bearer ${key}` }, signal });

const mail = (to, extra = {}, opts = {}) => call('POST', '/v3/mail/send', {
  body: {
    personalizations: [{ to: [{ email: to, name: 'Pat' }] }],
    from: { email: 'visits@clinic.example', name: 'Clinic' },
    subject: 'Your video visit',
    content: [{ type: 'text/plain', value: 'Join https://visits.example.org/j/abc' }, { type: 'text/html', value: '<a href="https://visits.example.org/j/abc">Join</a>' }],
    ...extra,
  },
  ...opts,
});

const activity = (query, { limit = 100, ...opts } = {}) =>
  call('GET', `/v3/messages?${new URLSearchParams({ limit: String(limit), ...(query === undefined ? {} : { query }) })}`, opts);

const hook = (path, method = 'GET', body, origin = sg.url) => fetchJson(`${origin}/_sendgrid/${path}`, { method, body });

function assertErrors(res, status, fields) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(res.body), ['errors']);
  for (const e of res.body.errors) {
    assert.deepEqual(Object.keys(e), ['message', 'field', 'help']);
    assert.equal(typeof e.message, 'string');
  }
  if (fields) assert.deepEqual(res.body.errors.map((e) => e.field), fields);
}

test('auth: a missing or unknown key is 401 in SendGrid\'s shape, for both APIs; nothing is sent', async () => {
  const to = address();
  const none = await mail(to, {}, { auth: null });
  assertErrors(none, 401, [null]);
  assert.equal(none.body.errors[0].message, 'authorization required');
  const wrong = await mail(to, {}, { key: 'SG.other' });
  assertErrors(wrong, 401, [null]);
  assert.equal(wrong.body.errors[0].message, 'The provided authorization grant is invalid, expired, or revoked');
  assertErrors(await mail(to, {}, { auth: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401);
  assertErrors(await activity('', { key: 'SG.other' }), 401);
  assertErrors(await activity('', { auth: null }), 401);
  assert.deepEqual((await hook('emails')).body.filter((e) => e.to === to), []);
  assert.equal((await mail(to)).status, 202);
  assert.equal((await hook('emails')).body.filter((e) => e.to === to).length, 1);
});

test('send: 202, empty body, a 22-character X-Message-Id; one record per recipient with merged custom_args', async () => {
  const [a, b, c, d] = [address(), address(), address(), address()];
  const res = await call('POST', '/v3/mail/send', {
    body: {
      personalizations: [
        { to: [{ email: a, name: 'A' }, { email: b }], cc: [{ email: c }], custom_args: { vg_key: 'k1', shared: 'mine' } },
        { to: [{ email: d }], subject: 'Own subject' },
      ],
      from: { email: 'visits@clinic.example', name: 'Clinic' },
      reply_to: { email: 'desk@clinic.example' },
      subject: 'Your video visit',
      content: [{ type: 'text/plain', value: 'plain' }, { type: 'text/html', value: '<p>html</p>' }],
      custom_args: { shared: 'message', campaign: 'c1' },
      tracking_settings: { click_tracking: { enable: false }, open_tracking: { enable: false } },
    },
  });
  assert.equal(res.status, 202, res.text);
  assert.equal(res.text, '');
  const xid = res.headers.get('x-message-id');
  assert.match(xid, /^[A-Za-z0-9_-]{22}$/);
  const mine = (await hook('emails')).body.filter((e) => e.x_message_id === xid);
  assert.deepEqual(mine.map((e) => [e.kind, e.to, e.subject, e.custom_args]), [
    ['to', a, 'Your video visit', { shared: 'mine', campaign: 'c1', vg_key: 'k1' }],
    ['to', b, 'Your video visit', { shared: 'mine', campaign: 'c1', vg_key: 'k1' }],
    ['cc', c, 'Your video visit', { shared: 'mine', campaign: 'c1', vg_key: 'k1' }],
    ['to', d, 'Own subject', { shared: 'message', campaign: 'c1' }],
  ]);
  const [first] = mine;
  assert.equal(first.to_name, 'A');
  assert.equal(first.from_email, 'visits@clinic.example');
  assert.equal(first.from_name, 'Clinic');
  assert.equal(first.reply_to, 'desk@clinic.example');
  assert.equal(first.text, 'plain');
  assert.equal(first.html, '<p>html</p>');
  assert.equal(first.status, 'processed');
  assert.match(first.msg_id, new RegExp(`^${xid}\\.filterdrecv-`));
  assert.equal(new Set(mine.map((e) => e.msg_id)).size, 4);
  assert.equal(new Date(first.at).toISOString(), first.at);

  // Only text/html is fine too; sandbox mode validates without sending.
  assert.equal((await mail(address(), { content: [{ type: 'text/html', value: '<p>x</p>' }] })).status, 202);
  const sandboxTo = address();
  const sandbox = await mail(sandboxTo, { mail_settings: { sandbox_mode: { enable: true } } });
  assert.equal(sandbox.status, 200);
  assert.equal((await hook('emails')).body.filter((e) => e.to === sandboxTo).length, 0);
});

test('send: validated as SendGrid does, every problem reported at once', async () => {
  const to = address();
  const check = async (extra, fields, pattern) => {
    const res = await mail(to, extra);
    assertErrors(res, 400, fields);
    if (pattern) assert.match(res.body.errors[0].message, pattern);
    for (const e of res.body.errors) assert.match(e.help, /^http:\/\/sendgrid\.com\/docs\//);
    return res;
  };
  await check({ personalizations: undefined }, ['personalizations'], /personalizations field is required/);
  await check({ personalizations: [] }, ['personalizations']);
  await check({ personalizations: [{ cc: [{ email: to }] }] }, ['personalizations.0.to'], /to array is required/);
  await check({ personalizations: [{ to: [{ email: 'nope' }] }] }, ['personalizations.0.to.0.email'], /valid address/);
  await check({ personalizations: [{ to: [{ email: to }], bcc: [{ email: to.toUpperCase() }] }] }, ['personalizations.0'], /unique between to, cc, and bcc/);
  await check({ from: undefined }, ['from.email'], /from object must be provided/);
  await check({ from: { email: 'clinic' } }, ['from.email'], /from email does not contain a valid address/);
  await check({ subject: undefined }, ['subject'], /subject is required/);
  await check({ subject: '' }, ['subject']);
  await check({ content: undefined }, ['content'], /content parameter is required/);
  await check({ content: [{ type: 'text/html', value: '<p>x</p>' }, { type: 'text/plain', value: 'x' }] }, ['content'], /text\/plain content must be first/);
  await check({ content: [{ type: 'text/plain', value: '' }] }, ['content.0.value'], /at least one character/);
  await check({ custom_args: { visit: 42 } }, ['custom_args.visit'], /Expected: string, given: number/);
  await check({ reply_to: { email: 'x' } }, ['reply_to.email']);
  // Several at once.
  const many = await check({ from: undefined, subject: undefined, content: [] }, ['from.email', 'subject', 'content']);
  assert.equal(many.body.errors.length, 3);
  // A subject in every personalization is enough.
  assert.equal((await mail(to, { subject: undefined, personalizations: [{ to: [{ email: to }], subject: 'Hi' }] })).status, 202);
  const res = await fetch(`${sg.url}/v3/mail/send`, {
    method: 'POST', headers: { authorization: `Bearer ${DEFAULT_API_KEY}`, 'content-type': 'application/json' }, body: '{"personalizations":',
  });
  const notJson = { status: res.status, headers: res.headers, text: '', body: await res.json() };
  assertErrors(notJson, 400, [null]);
  assert.equal(notJson.body.errors[0].message, 'Bad Request');
  assert.equal((await hook('emails')).body.filter((e) => e.to === to).length, 1, 'only the valid send was recorded');
});

test('activity: unique_args, to_email, msg_id (= and LIKE) and AND; status goes processed → delivered', async () => {
  const to = address();
  const other = address();
  const key = crypto.randomUUID();
  await mail(to, { custom_args: { vg_key: key } });
  await mail(other, { custom_args: { vg_key: 'someone-else' } });
  const byKey = await activity(`unique_args['vg_key']="${key}"`, { limit: 1 });
  assert.equal(byKey.status, 200, byKey.text);
  assert.equal(byKey.body.messages.length, 1);
  const m = byKey.body.messages[0];
  assert.deepEqual(Object.keys(m).sort(), ['clicks_count', 'from_email', 'last_event_time', 'msg_id', 'opens_count', 'status', 'subject', 'to_email']);
  assert.equal(m.to_email, to);
  assert.equal(m.from_email, 'visits@clinic.example');
  assert.equal(m.subject, 'Your video visit');
  assert.equal(m.opens_count, 0);
  assert.equal(m.clicks_count, 0);
  assert.match(m.last_event_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.ok(['processed', 'delivered'].includes(m.status));
  await sleep(60);
  assert.equal((await activity(`unique_args['vg_key']="${key}"`)).body.messages[0].status, 'delivered');

  assert.deepEqual((await activity(`to_email="${to}"`)).body.messages.map((x) => x.msg_id), [m.msg_id]);
  assert.deepEqual((await activity(`msg_id="${m.msg_id}"`)).body.messages.map((x) => x.to_email), [to]);
  const xid = m.msg_id.split('.')[0];
  assert.deepEqual((await activity(`msg_id LIKE "${xid}%"`)).body.messages.map((x) => x.to_email), [to]);
  assert.deepEqual((await activity(`(to_email="${to}") AND (unique_args['vg_key']="${key}")`)).body.messages.length, 1);
  assert.deepEqual((await activity(`to_email="${to}" AND unique_args['vg_key']="someone-else"`)).body.messages, []);
  assert.deepEqual((await activity(`unique_args['vg_key']="${crypto.randomUUID()}"`)).body.messages, []);
  assert.deepEqual((await activity(`status="delivered" AND to_email="${other}"`)).body.messages.map((x) => x.to_email), [other]);
  // Newest first, limited.
  const all = (await activity(undefined, { limit: 2 })).body.messages;
  assert.equal(all.length, 2);

  for (const bad of [`to_email="${to}" OR to_email="${other}"`, 'clicks_count > 1', `to_email=${to}`, 'unique_args[vg_key]="x"']) {
    const res = await activity(bad);
    assertErrors(res, 400, ['query']);
  }
  assertErrors(await call('GET', '/v3/messages?limit=0'), 400, ['limit']);
  assertErrors(await call('GET', '/v3/messages?limit=abc'), 400, ['limit']);
});

test('failures: 429 and 500 record nothing; timeout_after_accept is found in the activity log; undelivered', async () => {
  const s = await startSendGridStandIn({ apiKeys: ['SG.a', 'SG.b'] });
  const opts = { origin: s.url, key: 'SG.b' };
  try {
    const set = await hook('fail', 'POST', { count: 2, status: 429 }, s.url);
    assert.deepEqual({ ...set.body, seed: 0 }, { count: 2, rate: 0, status: 429, seed: 0 });
    const limited = await mail(address(), {}, opts);
    assertErrors(limited, 429);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.ok(Number(limited.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    assertErrors(await mail(address(), {}, opts), 429);
    assert.equal((await mail(address(), {}, opts)).status, 202);
    await hook('fail', 'POST', { count: 1, status: 500 }, s.url);
    assertErrors(await mail(address(), {}, opts), 500);
    // Validation comes first: a bad request is 400 and does not use up an injected failure.
    await hook('fail', 'POST', { count: 1, status: 503 }, s.url);
    assertErrors(await mail(address(), { from: undefined }, opts), 400);
    assertErrors(await mail(address(), {}, opts), 503);
    assert.equal((await hook('emails', 'GET', undefined, s.url)).body.length, 1);

    const key = crypto.randomUUID();
    await hook('fail', 'POST', { count: 1, status: 'timeout_after_accept' }, s.url);
    const t0 = Date.now();
    await assert.rejects(mail(address(), { custom_args: { vg_key: key } }, { ...opts, signal: AbortSignal.timeout(150) }), { name: 'TimeoutError' });
    assert.ok(Date.now() - t0 < 1000);
    const found = await activity(`unique_args['vg_key']="${key}"`, { ...opts, limit: 1 });
    assert.equal(found.body.messages.length, 1, 'accepted before the timeout');

    await hook('fail', 'POST', { count: 1, status: 'timeout' }, s.url);
    const lost = crypto.randomUUID();
    await assert.rejects(mail(address(), { custom_args: { vg_key: lost } }, { ...opts, signal: AbortSignal.timeout(150) }));
    assert.deepEqual((await activity(`unique_args['vg_key']="${lost}"`, opts)).body.messages, []);

    await hook('fail', 'POST', { count: 1, status: 'undelivered' }, s.url);
    const u = address();
    assert.equal((await mail(u, {}, opts)).status, 202);
    await sleep(60);
    assert.equal((await activity(`to_email="${u}"`, opts)).body.messages[0].status, 'not_delivered');
    assert.equal((await hook('emails', 'GET', undefined, s.url)).body.at(-1).status, 'not_delivered');

    // A seeded rate repeats.
    const pattern = async () => {
      await hook('fail', 'POST', { rate: 0.5, seed: 3 }, s.url);
      const out = [];
      for (let i = 0; i < 10; i += 1) out.push((await mail(address(), {}, opts)).status);
      return out;
    };
    const p = await pattern();
    assert.deepEqual(await pattern(), p);
    assert.ok(p.includes(500) && p.includes(202), p.join());
    for (const body of [{ status: 302 }, { rate: -1 }, { target: 'sms', count: 'x' }]) {
      assert.equal((await hook('fail', 'POST', body, s.url)).status, 400);
    }
    const log = (await hook('requests', 'GET', undefined, s.url)).body;
    assert.ok(log.every((e) => e.path.startsWith('/v3/')), 'hooks are not logged');
    assert.equal(log.filter((e) => e.status === null).length, 2, 'the two timeouts were never answered');
  } finally {
    await s.close();
  }
});

test('outbox page: newest first, links clickable, everything escaped, HTML in a sandboxed iframe', async () => {
  const s = await startSendGridStandIn();
  try {
    await mail('older@example.org', { subject: 'older mail' }, { origin: s.url });
    await mail('pat@example.org', {
      subject: 'Visit <b>today</b> & "soon"',
      content: [
        { type: 'text/plain', value: 'Join https://visits.example.org/j/Ab3dE9. <script>alert(1)</script>' },
        { type: 'text/html', value: '<p onclick="alert(2)">Join <a href="https://visits.example.org/j/Ab3dE9">here</a></p><script>alert(3)</script>' },
      ],
    }, { origin: s.url });
    const res = await fetch(`${s.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const page = await res.text();
    assert.match(page, /<meta http-equiv="refresh" content="5">/);
    assert.match(page, /<html lang="en">/);
    assert.ok(!/<script/i.test(page));
    assert.ok(page.includes('Visit &lt;b&gt;today&lt;/b&gt; &amp; &quot;soon&quot;'));
    assert.ok(page.includes('<a href="https://visits.example.org/j/Ab3dE9">https://visits.example.org/j/Ab3dE9</a>. &lt;script&gt;'));
    const iframe = /<iframe sandbox="" srcdoc="([^"]*)"/.exec(page);
    assert.ok(iframe);
    assert.ok(iframe[1].startsWith('&lt;p onclick=&quot;alert(2)&quot;&gt;'));
    assert.ok(page.indexOf('pat@example.org') < page.indexOf('older mail'), 'newest first');
    assert.ok(page.includes('Clinic &lt;visits@clinic.example&gt;'));
  } finally {
    await s.close();
  }
});

test('request log, delay, unknown routes, hooks', async () => {
  const s = await startSendGridStandIn({ delayMs: 100 });
  try {
    const t0 = Date.now();
    await hook('emails', 'GET', undefined, s.url);
    assert.ok(Date.now() - t0 < 90, 'hooks are not delayed');
    await mail(address(), {}, { origin: s.url });
    assertErrors(await call('GET', '/v3/templates', { origin: s.url }), 404);
    const wrong = await call('DELETE', '/v3/mail/send', { origin: s.url });
    assertErrors(wrong, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const log = (await hook('requests', 'GET', undefined, s.url)).body;
    assert.deepEqual(log.map((e) => [e.method, e.path, e.status]), [
      ['POST', '/v3/mail/send', 202], ['GET', '/v3/templates', 404], ['DELETE', '/v3/mail/send', 405],
    ]);
    assert.ok(log.every((e) => e.end_ms - e.start_ms >= 95));
    assert.equal((await hook('requests', 'DELETE', undefined, s.url)).status, 204);
    assert.equal((await hook('emails', 'DELETE', undefined, s.url)).status, 204);
    assert.deepEqual((await hook('emails', 'GET', undefined, s.url)).body, []);
    assert.deepEqual((await hook('requests', 'GET', undefined, s.url)).body, []);
    assert.equal((await hook('nope', 'GET', undefined, s.url)).status, 404);
  } finally {
    await s.close();
  }
});

test('CLI prints READY, takes API keys, and exits on SIGTERM', async () => {
  const cli = await startCli(new URL('./sendgrid.mjs', import.meta.url), ['--port', '0', '--api-key', 'SG.one', '--api-key', 'SG.two']);
  try {
    assert.equal((await mail(address(), {}, { origin: cli.url, key: 'SG.two' })).status, 202);
    assert.equal((await mail(address(), {}, { origin: cli.url, key: 'SG.one' })).status, 202);
    assert.equal((await mail(address(), {}, { origin: cli.url })).status, 401, 'the default key is replaced');
  } finally {
    await cli.stop();
  }
});
