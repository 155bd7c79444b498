// Request bodies, outgoing webhook requests and the request-log clock, shared by sms.mjs, acs.mjs
// and sendgrid.mjs.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

/** Thrown by the body readers past their limit (the stand-in answers 413). */
export class TooLarge extends Error {}

/** The whole request body as bytes; past `maxBytes` it is drained and TooLarge thrown. */
export async function readBytes(req, maxBytes) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw new TooLarge('request body too large');
  return Buffer.concat(chunks);
}

/** The whole request body as UTF-8 text (see readBytes). */
export const readBody = async (req, maxBytes) => (await readBytes(req, maxBytes)).toString('utf8');

/** JSON `text` if it is an object (not an array, not null); otherwise undefined. */
export function parseJsonObject(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The request body if it is a JSON object, else undefined (TooLarge still throws). */
export const readJsonObject = async (req, maxBytes) => parseJsonObject(await readBody(req, maxBytes));

/** Epoch milliseconds with sub-millisecond precision (for request logs), on the wall clock's scale. */
const CLOCK_ORIGIN_MS = Date.now() - performance.now();
export const epochMs = () => Math.round((CLOCK_ORIGIN_MS + performance.now()) * 1000) / 1000;

/**
 * One HTTP(S) request out (no keep-alive). Resolves {status, headers, body (text)}; rejects on a
 * network error, on `signal`, or after `timeoutMs` without an answer (err.code === 'TIMEOUT').
 */
export function httpOut(url, { method, headers, body, timeoutMs }, signal) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, { method, headers, agent: false, signal, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether `value` is an absolute http(s) URL. */
export function isWebUrl(value) {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
