// Stand-in for SendGrid's v3 Web API: Mail Send and the Email Activity (messages) API. A real HTTP
// server with no npm dependencies.
//
// Wire shapes are those of https://api.sendgrid.com, so that moving to SendGrid is a
// configuration change (API base `{origin}` and the API key):
//   POST /v3/mail/send                       202, empty body, X-Message-Id (22 characters)
//   GET  /v3/messages?limit=N&query=…        {messages: [{from_email, msg_id, subject, to_email,
//                                             status, opens_count, clicks_count, last_event_time}]}
// Both need `Authorization: Bearer <API key>`; errors are SendGrid's {errors: [{message, field,
// help}]}. Mail Send validates as SendGrid does and reports every problem at once
// (personalizations, to, from.email, subject unless every personalization has one, content with
// text/plain first then text/html, valid and unique addresses, string custom_args).
// mail_settings.sandbox_mode.enable validates without sending (200, as SendGrid).
//
// Each recipient (to, cc, bcc) of each personalization is one message: msg_id
// `<X-Message-Id>.filterdrecv-…`, custom_args merged (the personalization's over the message's),
// "processed" at once and "delivered" ~50 ms later. The activity query understands
// `unique_args['name']="value"`, `msg_id`, `to_email`, `from_email`, `subject` and `status` with
// `=` or `LIKE "…%…"`, in parentheses or not, joined by AND; anything else is 400. Messages are
// found at once (the real index lags by seconds to minutes), newest first.
//
// GET / is an outbox page for people running the demo (emails, newest first).
//
// Test hooks under /_sendgrid/ (never logged, delayed or failed):
//   GET    /_sendgrid/requests   request log [{method, path, at, start_ms, end_ms, status}]; DELETE clears
//   GET    /_sendgrid/emails     every message, oldest first [{msg_id, x_message_id, kind, to, to_name,
//                                from_email, from_name, reply_to, subject, text, html, custom_args,
//                                at, status}]; DELETE clears
//   POST   /_sendgrid/fail       {count?, rate?, seed?, status?}: the next `count` Mail Sends fail,
//                                then each with probability `rate` (seeded PRNG); status is 500
//                                (default) or any 400..599 (429 with X-RateLimit-* headers),
//                                "timeout_after_accept", "timeout" or "undelivered"
//
// CLI:    node tests/standins/sendgrid.mjs [--port 8794] [--host 127.0.0.1] [--api-key SG.dev-key]…
//           [--delay-ms 0]
//         prints `READY http://<host>:<port>` once listening; exits on SIGINT/SIGTERM.
// Module: const { url, close } = await startSendGridStandIn({ port: 0 });

import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { parseArgs } from 'node:util';

import { describeFailures, drawFailure, hang, noFailures, parseFailures } from './lib/failures.mjs';
import { escapeHtml, noContent, send, wait } from './lib/http.mjs';
import { TooLarge, epochMs, parseJsonObject, readBody, readJsonObject } from './lib/io.mjs';
import { emailArticle, outboxPage } from './lib/outbox.mjs';
import { hookPaths, logRequest, matchRoute } from './lib/routing.mjs';
import { runIfMain, startServer, toInt } from './lib/server.mjs';

export const DEFAULT_API_KEY = 'SG.dev-key';

/** "delivered" this long after acceptance. */
const DELIVERED_AFTER_MS = 50;
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MAX_PERSONALIZATIONS = 1000;
const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:".]+$/;
const HELP_BASE = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html';

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json';

const json = (status, value, headers = {}) =>
  ({ status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) });

/** SendGrid's error body: {errors: [{message, field, help}]}. */
const sgErrors = (status, errors, headers = {}) =>
  json(status, { errors: errors.map(({ message, field = null, help = null }) => ({ message, field, help })) }, headers);
const sgError = (status, message, field = null, headers = {}) => sgErrors(status, [{ message, field }], headers);

const hookJson = (status, value) => ({ status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(value, null, 2) });
const hookError = (status, message) => hookJson(status, { errors: [{ message, field: null, help: null }] });

function injectedError(status) {
  if (status !== 429) return sgError(status, `${STATUS_CODES[status] ?? 'error'} (injected failure)`);
  const reset = Math.ceil(Date.now() / 1000) + 1;
  return sgError(429, 'too many requests', null, { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
}

/** The key of `Authorization: Bearer <key>` if it is one of ours, else the 401 to answer. */
function checkAuth(ctx) {
  const header = ctx.req.headers.authorization;
  if (!header) return sgError(401, 'authorization required');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m || !ctx.options.apiKeys.has(m[1])) return sgError(401, 'The provided authorization grant is invalid, expired, or revoked');
  return null;
}

// ---------------------------------------------------------------------------------------------
// Mail Send
// ---------------------------------------------------------------------------------------------

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const nonEmptyString = (v) => typeof v === 'string' && v.trim() !== '';

/** Every problem of a Mail Send body, as SendGrid lists them ([] when it can be sent). */
function mailErrors(body) {
  const errors = [];
  const add = (message, field, anchor) => errors.push({ message, field, help: anchor ? `${HELP_BASE}#${anchor}` : null });
  const checkArgs = (args, field) => {
    if (args === undefined) return;
    if (!isObject(args)) {
      add('Custom args must be an object of string values.', field, 'message.custom_args');
      return;
    }
    for (const [k, v] of Object.entries(args)) {
      if (typeof v !== 'string') add(`Invalid type. Expected: string, given: ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}.`, `${field}.${k}`, 'message.custom_args');
    }
  };

  const { personalizations, from, reply_to: replyTo, subject, content, custom_args: customArgs } = body;
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    add('The personalizations field is required and must have at least one personalization.', 'personalizations', '-Personalizations-Errors');
  } else if (personalizations.length > MAX_PERSONALIZATIONS) {
    add(`The personalizations field is limited to ${MAX_PERSONALIZATIONS} personalizations per API request.`, 'personalizations', '-Personalizations-Errors');
  } else {
    personalizations.forEach((p, i) => {
      const at = `personalizations.${i}`;
      if (!isObject(p)) {
        add('Each personalization must be an object.', at, '-Personalizations-Errors');
        return;
      }
      if (!Array.isArray(p.to) || p.to.length === 0) {
        add('The to array is required for all personalization objects, and must have at least one email object with a valid email address.', `${at}.to`, 'message.personalizations.to');
      }
      const seen = new Map();
      for (const kind of ['to', 'cc', 'bcc']) {
        const list = p[kind];
        if (list === undefined || (kind === 'to' && !Array.isArray(list))) continue;
        if (!Array.isArray(list)) {
          add(`The ${kind} field must be an array of email objects.`, `${at}.${kind}`, `message.personalizations.${kind}`);
          continue;
        }
        list.forEach((r, j) => {
          if (!isObject(r) || typeof r.email !== 'string' || !EMAIL.test(r.email)) {
            add('Does not contain a valid address.', `${at}.${kind}.${j}.email`, `message.personalizations.${kind}`);
            return;
          }
          const key = r.email.toLowerCase();
          if (seen.has(key)) {
            add(`Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${r.email}] in the ${at}.${kind} field.`, at, 'message.recipient.duplicate');
          }
          seen.set(key, kind);
        });
      }
      if (p.subject !== undefined && typeof p.subject !== 'string') add('The subject must be a string.', `${at}.subject`, 'message.subject');
      checkArgs(p.custom_args, `${at}.custom_args`);
    });
  }

  if (!isObject(from) || from.email === undefined || from.email === '') {
    add('The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.', 'from.email', 'message.from');
  } else if (typeof from.email !== 'string' || !EMAIL.test(from.email)) {
    add('The from email does not contain a valid address.', 'from.email', 'message.from');
  }
  if (replyTo !== undefined && (!isObject(replyTo) || typeof replyTo.email !== 'string' || !EMAIL.test(replyTo.email))) {
    add('The reply_to email does not contain a valid address.', 'reply_to.email', 'message.reply_to');
  }

  const everyHasSubject = Array.isArray(personalizations) && personalizations.length > 0
    && personalizations.every((p) => isObject(p) && nonEmptyString(p.subject));
  if (!nonEmptyString(subject) && !everyHasSubject) {
    add('The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.', 'subject', 'message.subject');
  }

  if (!Array.isArray(content) || content.length === 0) {
    add('Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.', 'content', 'message.content');
  } else {
    content.forEach((c, i) => {
      if (!isObject(c) || typeof c.type !== 'string' || c.type === '' || /[;\r\n]/.test(c.type)) {
        add('The content type cannot contain \';\', or CRLF characters, and must be at least 1 character.', `content.${i}.type`, 'message.content.type');
      }
      if (!isObject(c) || typeof c.value !== 'string' || c.value === '') {
        add('The content value must be a string at least one character in length.', `content.${i}.value`, 'message.content.value');
      }
    });
    const types = content.map((c) => (isObject(c) && typeof c.type === 'string' ? c.type.toLowerCase() : ''));
    const plain = types.indexOf('text/plain');
    const htmlAt = types.indexOf('text/html');
    if (plain > 0 || (htmlAt >= 0 && htmlAt !== (plain === 0 ? 1 : 0))) {
      add('If present, text/plain content must be first, followed by text/html, followed by any other content.', 'content', 'message.content');
    }
  }
  checkArgs(customArgs, 'custom_args');
  return errors;
}

/** 22 characters of URL-safe base64, like SendGrid's X-Message-Id. */
const newMessageId = () => randomBytes(16).toString('base64url');

/** One record per recipient of every personalization. */
function recordMail(state, body, xMessageId, undelivered) {
  const acceptedMs = Date.now();
  const at = new Date(acceptedMs).toISOString();
  const text = body.content.find((c) => c.type.toLowerCase() === 'text/plain')?.value ?? null;
  const html = body.content.find((c) => c.type.toLowerCase() === 'text/html')?.value ?? null;
  let n = 0;
  body.personalizations.forEach((p) => {
    for (const kind of ['to', 'cc', 'bcc']) {
      for (const r of p[kind] ?? []) {
        state.emails.push({
          msg_id: `${xMessageId}.filterdrecv-standin-1-${Math.floor(acceptedMs / 1000).toString(16).toUpperCase()}-${n}.0`,
          x_message_id: xMessageId,
          kind,
          to: r.email,
          to_name: r.name ?? null,
          from_email: body.from.email,
          from_name: body.from.name ?? null,
          reply_to: body.reply_to?.email ?? null,
          subject: p.subject || body.subject,
          text,
          html,
          custom_args: { ...(body.custom_args ?? {}), ...(p.custom_args ?? {}) },
          at,
          acceptedMs,
          undelivered,
        });
        n += 1;
      }
    }
  });
}

const statusOf = (r, now = Date.now()) => (now < r.acceptedMs + DELIVERED_AFTER_MS ? 'processed' : r.undelivered ? 'not_delivered' : 'delivered');
const lastEventMs = (r, now = Date.now()) => (now < r.acceptedMs + DELIVERED_AFTER_MS ? r.acceptedMs : r.acceptedMs + DELIVERED_AFTER_MS);

async function mailSend(ctx) {
  const denied = checkAuth(ctx);
  if (denied) return denied;
  const body = parseJsonObject(await readBody(ctx.req, MAX_BODY_BYTES));
  if (!body) return sgError(400, 'Bad Request');
  const errors = mailErrors(body);
  if (errors.length) return sgErrors(400, errors);
  if (body.mail_settings?.sandbox_mode?.enable === true) return { status: 200, headers: {}, body: '' };

  const failure = drawFailure(ctx.state.failures);
  if (failure === 'timeout') return hang(ctx.signal, ctx.res);
  if (typeof failure === 'number') return injectedError(failure);
  const xMessageId = newMessageId();
  recordMail(ctx.state, body, xMessageId, failure === 'undelivered');
  if (failure === 'timeout_after_accept') return hang(ctx.signal, ctx.res);
  return { status: 202, headers: { 'x-message-id': xMessageId }, body: '' };
}

// ---------------------------------------------------------------------------------------------
// Email Activity
// ---------------------------------------------------------------------------------------------

const QUERY_FIELDS = {
  msg_id: (r) => r.msg_id,
  to_email: (r) => r.to,
  from_email: (r) => r.from_email,
  subject: (r) => r.subject,
  status: (r) => statusOf(r),
};
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const UNIQUE_ARG = new RegExp(`^unique_args\\[(?:'([^']+)'|"([^"]+)")\\]\\s*=\\s*${QUOTED}$`);
const FIELD_TERM = new RegExp(`^(${Object.keys(QUERY_FIELDS).join('|')})\\s*(=|LIKE)\\s*${QUOTED}$`, 'i');
const unquote = (s) => s.replace(/\\(.)/g, '$1');

/** A LIKE pattern ('%' any run, '_' one character) as a case-insensitive RegExp. */
const likePattern = (p) => new RegExp(`^${[...p].map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'is');

/** One term of a query as a predicate, or null if it is not understood. */
function parseTerm(raw) {
  let term = raw.trim();
  while (term.startsWith('(') && term.endsWith(')')) term = term.slice(1, -1).trim();
  const arg = UNIQUE_ARG.exec(term);
  if (arg) {
    const name = arg[1] ?? arg[2];
    const value = unquote(arg[3]);
    return (r) => r.custom_args[name] === value;
  }
  const field = FIELD_TERM.exec(term);
  if (!field) return null;
  const get = QUERY_FIELDS[field[1].toLowerCase()];
  const value = unquote(field[3]);
  if (field[2] === '=') return (r) => get(r) === value;
  const re = likePattern(value);
  return (r) => re.test(get(r));
}

function activity(ctx) {
  const denied = checkAuth(ctx);
  if (denied) return denied;
  const q = ctx.url.searchParams;
  const limitRaw = q.get('limit') ?? '10';
  const limit = Number(limitRaw);
  if (!/^\d+$/.test(limitRaw) || limit < 1 || limit > 1000) return sgError(400, 'limit must be an integer between 1 and 1000', 'limit');
  const query = (q.get('query') ?? '').trim();
  const tests = [];
  if (query !== '') {
    for (const term of query.split(/\s+AND\s+/)) {
      const t = parseTerm(term);
      if (!t) {
        return sgError(400, `invalid query: ${JSON.stringify(term.trim())}; this stand-in understands unique_args['name']="value" and `
          + `${Object.keys(QUERY_FIELDS).join(', ')} with = or LIKE "…", joined by AND`, 'query');
      }
      tests.push(t);
    }
  }
  const now = Date.now();
  const messages = ctx.state.emails
    .filter((r) => tests.every((t) => t(r)))
    .sort((a, b) => lastEventMs(b, now) - lastEventMs(a, now))
    .slice(0, limit)
    .map((r) => ({
      from_email: r.from_email,
      msg_id: r.msg_id,
      subject: r.subject,
      to_email: r.to,
      status: statusOf(r, now),
      opens_count: 0,
      clicks_count: 0,
      last_event_time: new Date(lastEventMs(r, now)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }));
  return json(200, { messages });
}

// ---------------------------------------------------------------------------------------------
// Test hooks and the outbox page
// ---------------------------------------------------------------------------------------------

const emailView = ({ acceptedMs, undelivered, ...r }) => ({ ...r, status: statusOf({ acceptedMs, undelivered }) });

async function failHook(ctx) {
  const { failures, error } = parseFailures(await readJsonObject(ctx.req, MAX_BODY_BYTES));
  if (error) return hookError(400, error);
  ctx.state.failures = failures;
  return hookJson(200, describeFailures(failures));
}

function outbox(ctx) {
  const emails = [...ctx.state.emails].reverse();
  const articles = emails.map((r) => emailArticle({
    id: r.msg_id,
    at: r.at,
    from: r.from_name ? `${r.from_name} <${r.from_email}>` : r.from_email,
    to: [r.to_name ? `${r.to_name} <${r.to}>` : r.to],
    subject: r.subject,
    status: `${statusOf(r)}${r.kind === 'to' ? '' : ` (${r.kind})`}`,
    text: r.text,
    html: r.html,
  })).join('\n');
  return outboxPage({
    title: 'SendGrid stand-in outbox',
    intro: `<p>Emails the gateway sent, one per recipient, newest first; this page reloads every 5 seconds.
API base <code>${escapeHtml(ctx.origin)}</code> (instead of <code>https://api.sendgrid.com</code>); as JSON:
<a href="/_sendgrid/emails">/_sendgrid/emails</a>.</p>`,
    sections: [`<section id="emails"><h2>Emails, newest first (${emails.length})</h2>\n${articles || '<p>No emails yet.</p>'}</section>`],
  });
}

const ROUTES = [
  { method: 'GET', path: /^\/$/, handler: outbox },
  { method: 'POST', path: /^\/v3\/mail\/send$/, handler: mailSend },
  { method: 'GET', path: /^\/v3\/messages$/, handler: activity },
  { method: 'GET', path: /^\/_sendgrid\/requests$/, handler: (ctx) => hookJson(200, ctx.state.requests) },
  { method: 'DELETE', path: /^\/_sendgrid\/requests$/, handler: (ctx) => { ctx.state.requests.length = 0; return noContent(); } },
  { method: 'GET', path: /^\/_sendgrid\/emails$/, handler: (ctx) => hookJson(200, ctx.state.emails.map(emailView)) },
  { method: 'DELETE', path: /^\/_sendgrid\/emails$/, handler: (ctx) => { ctx.state.emails.length = 0; return noContent(); } },
  { method: 'POST', path: /^\/_sendgrid\/fail$/, handler: failHook },
];

const isHook = hookPaths('/_sendgrid/');

async function handle(req, res, { origin, signal, options, state }) {
  const url = new URL(req.url, origin);
  const hook = isHook(url.pathname);
  if (!hook) logRequest(state.requests, req, res, url, epochMs);
  const ctx = { req, res, url, origin, signal, options, state };
  let reply;
  try {
    if (!hook && options.delayMs > 0) await wait(options.delayMs, signal);
    const match = matchRoute(ROUTES, req.method, url.pathname);
    if (!match) reply = hook ? hookError(404, `no hook ${url.pathname}`) : sgError(404, 'resource not found');
    else if (match.allowed) reply = { ...sgError(405, 'method not allowed'), headers: { 'content-type': JSON_TYPE, allow: match.allowed.join(', ') } };
    else reply = await match.route.handler(ctx);
  } catch (err) {
    if (signal.aborted) return; // nobody left to answer
    reply = err instanceof TooLarge
      ? sgError(413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`)
      : sgError(500, `internal error: ${String(err?.stack ?? err)}`);
  }
  if (reply !== null) send(res, reply); // null: deliberately unanswered (injected timeout)
}

/**
 * Start the stand-in. Resolves once listening.
 * @param {{port?: number, host?: string, apiKeys?: string[], delayMs?: number}} [opts]
 *   apiKeys: the accepted Bearer keys (default ['SG.dev-key']); delayMs: added to every API call
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startSendGridStandIn({ port = 0, host = '127.0.0.1', apiKeys = [DEFAULT_API_KEY], delayMs = 0 } = {}) {
  if (!Array.isArray(apiKeys) || apiKeys.length === 0 || apiKeys.some((k) => typeof k !== 'string' || !/^\S+$/.test(k))) {
    throw new Error('apiKeys must be a non-empty array of keys without spaces');
  }
  const options = { apiKeys: new Set(apiKeys), delayMs };
  const state = { requests: [], emails: [], failures: noFailures() };
  const server = await startServer({
    port,
    host,
    onRequest: (req, res, { origin, signal }) => handle(req, res, { origin, signal, options, state }),
  });
  return { url: server.url, close: server.close };
}

runIfMain(import.meta.url, 'sendgrid', () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8794' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string', multiple: true, default: [DEFAULT_API_KEY] },
      'delay-ms': { type: 'string', default: '0' },
    },
  });
  return startSendGridStandIn({
    port: toInt('port', values.port),
    host: values.host,
    apiKeys: values['api-key'],
    delayMs: toInt('delay-ms', values['delay-ms']),
  });
});
