// Reply helpers shared by the sandbox's routes. Handlers return { status, headers, body };
// the server writes it out. Throwing a ReplyError answers early from deep inside a handler.
// The parts the video stand-in uses too live in ../lib/http.mjs and are re-exported here.

export { escapeHtml, html, HTML_TYPE, noContent, send, wait } from '../lib/http.mjs';

export const JSON_TYPE = 'application/json';
export const FHIR_TYPE = 'application/fhir+json';

export const json = (status, value, type = JSON_TYPE, headers = {}) =>
  ({ status, headers: { 'content-type': type, ...headers }, body: JSON.stringify(value, null, 2) });
export const fhir = (status, resource, headers = {}) => json(status, resource, FHIR_TYPE, headers);
export const redirect = (location) => ({ status: 302, headers: { location }, body: '' });

/** An OperationOutcome; `extra` is merged into issue[0] (e.g. `details`). */
export function outcome(status, code, diagnostics, { extra = {}, headers = {} } = {}) {
  return fhir(status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, ...extra }],
  }, headers);
}
export const notFound = (path) => outcome(404, 'not-found', `No resource or endpoint at ${path}`);

export class ReplyError extends Error {
  constructor(reply) {
    super(`reply ${reply.status}`);
    this.reply = reply;
  }
}

const BODY_LIMIT = 1 << 20;

/** The request body as a string (once per request; cached on ctx). */
export async function readBody(ctx) {
  if (ctx.body !== undefined) return ctx.body;
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new ReplyError(json(413, { error: 'invalid_request', error_description: 'body too large' }));
    chunks.push(chunk);
  }
  ctx.body = Buffer.concat(chunks).toString('utf8');
  return ctx.body;
}

/** The media type of the request without parameters, lower case ('' when absent). */
export const mediaType = (req) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** Form fields of an application/x-www-form-urlencoded body (a plain object; last value wins). */
export async function readForm(ctx) {
  return Object.fromEntries(new URLSearchParams(await readBody(ctx)));
}

/** A JSON body, or a 400 reply made by `fail(message)`. */
export async function readJson(ctx, fail) {
  try {
    return JSON.parse(await readBody(ctx));
  } catch (err) {
    if (err instanceof ReplyError) throw err;
    throw new ReplyError(fail(`body is not valid JSON: ${err.message}`));
  }
}
