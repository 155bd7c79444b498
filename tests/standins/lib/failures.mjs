// Failure injection shared by the messaging stand-ins (sms.mjs, acs.mjs, sendgrid.mjs): a test
// POSTs {count?, rate?, seed?, status?} to the stand-in's /_…/fail hook, and each send request
// then draws from it. The first `count` draws fail, then each with probability `rate` (seeded
// PRNG, so a run is repeatable). `status` is an HTTP status 400..599 (the stand-in answers it in
// its provider's error shape), or one of:
//   "timeout_after_accept"  accept and record the send, then hold the response open
//   "timeout"               hold the response open without accepting anything
//   "undelivered"           accept; the delivery fails later (status callback / report)

import { randomBytes } from 'node:crypto';

import { wait } from './http.mjs';

export const FAIL_MODES = Object.freeze(['timeout_after_accept', 'timeout', 'undelivered']);

/** How long an injected timeout holds the request open (unless the client or close() ends it). */
export const HANG_MS = 30_000;

/** Seeded PRNG (mulberry32): repeatable probabilistic failures. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Failure settings that never fail. */
export const noFailures = () => ({ count: 0, rate: 0, status: 500, seed: 0, rng: mulberry32(0) });

/**
 * Check a fail hook's body (undefined when it was not a JSON object). Returns {failures} (settings
 * for drawFailure; the seed is random when not given) or {error} (a message for a 400 answer).
 */
export function parseFailures(body) {
  if (!body) return { error: 'body must be a JSON object {count?, rate?, seed?, status?}' };
  const { count = 0, rate = 0, status = 500, seed = randomBytes(4).readUInt32LE(0) } = body;
  if (!Number.isInteger(count) || count < 0) return { error: 'count must be a non-negative integer' };
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return { error: 'rate must be a number 0..1' };
  if (!Number.isInteger(seed)) return { error: 'seed must be an integer' };
  if (!FAIL_MODES.includes(status) && !(Number.isInteger(status) && status >= 400 && status <= 599)) {
    return { error: `status must be an integer 400..599 or one of ${FAIL_MODES.join(', ')}` };
  }
  return { failures: { count, rate, status, seed, rng: mulberry32(seed) } };
}

/** What the fail hook answers: the settings without the PRNG. */
export const describeFailures = ({ count, rate, status, seed }) => ({ count, rate, status, seed });

/** The injected failure for this request, if any (500, 'timeout', …), consuming it; else null. */
export function drawFailure(failures) {
  if (failures.count > 0) {
    failures.count -= 1;
    return failures.status;
  }
  if (failures.rate > 0 && failures.rng() < failures.rate) return failures.status;
  return null;
}

/**
 * Hold the request open for HANG_MS (or until the client leaves or the server closes: `signal`),
 * then drop the connection without an answer. Resolves null, which handlers return for "no reply".
 */
export async function hang(signal, res) {
  await wait(HANG_MS, signal).catch(() => {});
  res.destroy();
  return null;
}
