// The FHIR R4 server of the server tenants: read Patient / Practitioner / Encounter / Appointment,
// search (Oracle's Appointment rules), and Appointment PATCH (JSON Patch + If-Match), behind the
// access tokens and scopes granted by oauth.mjs. Tokens from an EHR launch carry the launch (its
// patient and scenario); Backend Services tokens (`grant.system`) carry none.

import { randomUUID } from 'node:crypto';

import { fhir, mediaType, outcome, readBody, ReplyError, wait } from './http.mjs';
import { applyPatch, PatchError } from './jsonpatch.mjs';
import { grantFor } from './oauth.mjs';

export const RESOURCE_TYPES = ['Patient', 'Practitioner', 'Location', 'Encounter', 'Appointment'];
export const INSUFFICIENT_SCOPES = 'urn:cerner:error:oauth2:resource-access:insufficient-scopes';

// ---------------------------------------------------------------------------------------------
// Scopes: SMART v1 (read, write, *) and v2 (cruds letters); `user/` and `system/` reach every
// record, `patient/` only the launch patient's.
// ---------------------------------------------------------------------------------------------

const SCOPE = /^(user|patient|system)\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)(?:\?.*)?$/;
const V1 = { read: 'rs', write: 'cud', '*': 'cruds' };

/** 'all' | 'patient' | undefined: how far `scope` lets the client do `perm` (c r u d s) on `type`. */
export function scopeReach(scope, type, perm) {
  let reach;
  for (const s of scope.split(' ')) {
    const m = SCOPE.exec(s);
    if (!m || (m[2] !== '*' && m[2] !== type) || !(V1[m[3]] ?? m[3]).includes(perm)) continue;
    if (m[1] !== 'patient') return 'all';
    reach = 'patient';
  }
  return reach;
}

const refersTo = (ref, type, id) => ref?.reference === `${type}/${id}`;

function inPatientCompartment(resource, patientId) {
  switch (resource.resourceType) {
    case 'Patient': return resource.id === patientId;
    case 'Encounter': return refersTo(resource.subject, 'Patient', patientId);
    case 'Appointment': return resource.participant.some((p) => refersTo(p.actor, 'Patient', patientId));
    default: return true; // Practitioner: not patient data
  }
}

const PERM_WORDS = { r: 'read', s: 'search', u: 'update' };

function forbidden(type, perm, why) {
  return outcome(403, 'forbidden', why ?? `The access token has no scope to ${PERM_WORDS[perm]} ${type}`, {
    extra: { details: { coding: [{ code: INSUFFICIENT_SCOPES }], text: 'Insufficient scopes' } },
    headers: { 'www-authenticate': `Bearer error="insufficient_scope"` },
  });
}

// Authenticates the request and checks the scope; throws the 401/403 reply.
async function access(ctx, type, perm) {
  const grant = grantFor(ctx);
  if (!grant) {
    throw new ReplyError(outcome(401, 'security', 'Bearer access token missing, unknown, expired or issued for another tenant', {
      headers: { 'www-authenticate': `Bearer realm="${ctx.base}", error="invalid_token"` },
    }));
  }
  const throttled = ctx.state.throttle.get(ctx.tenant.name);
  if (throttled?.count > 0) {
    throttled.count -= 1;
    throw new ReplyError(outcome(429, 'throttled', 'Too many requests; retry later', { headers: { 'retry-after': String(throttled.retryAfter) } }));
  }
  const delay = grant.launch?.scenario.fhir_delay_ms;
  if (delay) await wait(delay, ctx.signal);
  const reach = scopeReach(grant.scope, type, perm);
  if (!reach) throw new ReplyError(forbidden(type, perm));
  const visible = (r) => reach === 'all' || inPatientCompartment(r, grant.launch?.patient);
  return { grant, visible };
}

const table = (ctx, type) => ctx.state.store.get(ctx.tenant.name)[type];

export const withEtag = (resource, status = 200, headers = {}) => fhir(status, resource, {
  ...headers,
  etag: `W/"${resource.meta.versionId}"`,
  'last-modified': new Date(resource.meta.lastUpdated).toUTCString(),
});

// ---------------------------------------------------------------------------------------------
// Read
// ---------------------------------------------------------------------------------------------

export async function read(ctx) {
  const { type, id } = ctx.params;
  const { visible } = await access(ctx, type, 'r');
  const resource = table(ctx, type).get(id);
  if (!resource) return outcome(404, 'not-found', `${type}/${id} does not exist`);
  if (!visible(resource)) return forbidden(type, 'r', `${type}/${id} is outside the launch patient's record`);
  return withEtag(resource);
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

const badSearch = (code, msg) => new ReplyError(outcome(400, code, msg));

// A reference parameter as a list of ids: `patient=123`, `patient=Patient/123`, `patient=1,2`.
function refParam(q, name, type) {
  const raw = q.getAll(name);
  if (!raw.length) return undefined;
  const ids = raw.flatMap((v) => v.split(',')).map((v) => v.trim().replace(new RegExp(`^${type}/`), ''));
  if (ids.some((v) => !v)) throw badSearch('invalid', `${name} must name a ${type}`);
  return ids;
}

const DAY = 86_400_000;

// A date parameter → predicate on an instant (ms). Date-only values cover their whole UTC day
// (month/year likewise); date-times need a zone, as Oracle requires.
function dateFilter(param) {
  const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/.exec(param);
  const prefix = m[1] ?? 'eq';
  const v = m[2];
  let lo;
  let hi;
  if (/^\d{4}$/.test(v)) {
    lo = Date.UTC(+v, 0, 1); hi = Date.UTC(+v + 1, 0, 1);
  } else if (/^\d{4}-\d{2}$/.test(v)) {
    const [y, mo] = v.split('-').map(Number);
    lo = Date.UTC(y, mo - 1, 1); hi = Date.UTC(y, mo, 1);
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    lo = Date.parse(`${v}T00:00:00Z`); hi = lo + DAY;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    lo = Date.parse(v);
    hi = lo + (/:\d{2}\.\d/.test(v) ? 1 : /T\d{2}:\d{2}:\d{2}/.test(v) ? 1000 : 60_000);
  } else {
    throw badSearch('invalid', `date value ${JSON.stringify(param)} is not a FHIR date or a date-time with a time zone`);
  }
  if (Number.isNaN(lo)) throw badSearch('invalid', `date value ${JSON.stringify(param)} is not a valid date`);
  switch (prefix) {
    case 'eq': return (t) => t >= lo && t < hi;
    case 'ge': return (t) => t >= lo;
    case 'gt': return (t) => t >= hi;
    case 'le': return (t) => t < hi;
    case 'lt': return (t) => t < lo;
    default: throw badSearch('not-supported', `date prefix ${prefix} is not supported (eq, ge, gt, le, lt)`);
  }
}

// Oracle's Appointment search (fixtures README): `_id`; or exactly one of patient / practitioner
// / location, given once (several ids as a comma list), with `date` (or `-date-or-req-period`)
// once with a prefix or twice as a ge + lt pair; `status` and `_count` optional. Nothing else:
// no `_lastUpdated`, no search without an actor, whatever the token. `date` returns every status
// but proposed; `-date-or-req-period` also returns proposed ones by requested period.
export const APPOINTMENT_PARAMS = Object.freeze(['_id', 'patient', 'practitioner', 'location', 'date', '-date-or-req-period', 'status', '_count', '-pageContext']);

function searchAppointments(q) {
  const names = [...q.keys()];
  const unknown = names.find((n) => !APPOINTMENT_PARAMS.includes(n));
  if (unknown) throw badSearch('not-supported', `${unknown} is not a supported search parameter for Appointment (supported: ${APPOINTMENT_PARAMS.filter((p) => !p.startsWith('-page')).join(', ')})`);
  for (const n of ['_id', 'patient', 'practitioner', 'location', 'status', '_count']) {
    if (q.getAll(n).length > 1) throw badSearch('invalid', `${n} may be given once; list several values with commas`);
  }
  const ids = refParam(q, '_id', 'Appointment');
  const actors = ['patient', 'practitioner', 'location'].filter((n) => q.has(n));
  const dateName = q.has('date') ? 'date' : q.has('-date-or-req-period') ? '-date-or-req-period' : undefined;
  if (q.has('date') && q.has('-date-or-req-period')) throw badSearch('invalid', 'use date or -date-or-req-period, not both');
  if (ids) {
    if (actors.length || dateName) throw badSearch('invalid', '_id cannot be combined with other search parameters');
    return { ids };
  }
  if (actors.length === 0) throw badSearch('required', 'one of _id, patient, practitioner or location is required');
  if (actors.length > 1) throw badSearch('invalid', `${actors.join(' and ')} cannot be combined; search by one of them`);
  if (!dateName) throw badSearch('required', `date (or -date-or-req-period) is required with ${actors[0]}`);
  const dates = q.getAll(dateName);
  const prefixes = dates.map((d) => /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/.exec(d)?.[1]);
  if (dates.length === 1 ? !prefixes[0] : !(dates.length === 2 && prefixes.includes('ge') && prefixes.includes('lt'))) {
    throw badSearch('invalid', `${dateName} is one value with a prefix (ge2026-01-01) or a ge and lt pair`);
  }
  const type = { patient: 'Patient', practitioner: 'Practitioner', location: 'Location' }[actors[0]];
  return {
    actor: { type, ids: refParam(q, actors[0], type) },
    onDates: dates.map(dateFilter),
    withProposed: dateName === '-date-or-req-period',
    statuses: q.has('status') ? q.get('status').split(',') : undefined,
  };
}

function matchAppointments(rule, all) {
  if (rule.ids) return all.filter((r) => rule.ids.includes(r.id));
  const when = (r) => (r.status === 'proposed' ? Date.parse(r.requestedPeriod?.[0]?.start) : Date.parse(r.start));
  return all.filter((r) => (r.status !== 'proposed' || rule.withProposed)
    && rule.onDates.every((f) => f(when(r)))
    && r.participant.some((p) => rule.actor.ids.some((id) => refersTo(p.actor, rule.actor.type, id)))
    && (!rule.statuses || rule.statuses.includes(r.status)))
    .sort((a, b) => when(a) - when(b) || a.id.localeCompare(b.id));
}

// The plain profile (tenants.mjs): FHIR R4's own Appointment search parameters, combined freely
// (R4 search.html: parameters AND together, a comma list ORs), `date` as often as wanted with any
// of the prefixes dateFilter knows. No status is left out (proposed ones match by requestedPeriod:
// R4 Appointment invariant app-3 lets only proposed or cancelled ones lack a start). Without
// `_sort` the order is the server's own (R4 search.html, _sort): here newest first. Unknown
// parameters are ignored and left out of the `self` link, or refused with `Prefer:
// handling=strict` (R4 search.html, "Handling Errors").
export const PLAIN_APPOINTMENT_PARAMS = Object.freeze(['_id', 'patient', 'practitioner', 'actor', 'location', 'date', 'status', '_count', '-pageContext']);

function plainAppointments(q, all, strict) {
  const unknown = [...q.keys()].find((n) => !PLAIN_APPOINTMENT_PARAMS.includes(n));
  if (unknown && strict) throw badSearch('not-supported', `${unknown} is not a supported search parameter for Appointment`);
  const ids = refParam(q, '_id', 'Appointment');
  const refs = [['patient', 'Patient'], ['practitioner', 'Practitioner'], ['location', 'Location']]
    .map(([name, type]) => ({ type, groups: q.getAll(name).map((v) => refParam(new URLSearchParams({ [name]: v }), name, type)) }));
  const actors = q.getAll('actor').map((v) => v.split(',').map((x) => x.trim()));
  const onDates = q.getAll('date').map(dateFilter);
  const statuses = q.has('status') ? q.get('status').split(',') : undefined;
  const when = (r) => Date.parse(r.start ?? r.requestedPeriod?.[0]?.start);
  const has = (r, type, id) => r.participant.some((p) => refersTo(p.actor, type, id));
  return all.filter((r) => (!ids || ids.includes(r.id))
    && refs.every(({ type, groups }) => groups.every((g) => g.some((id) => has(r, type, id))))
    && actors.every((g) => g.some((ref) => r.participant.some((p) => p.actor?.reference === ref)))
    && onDates.every((f) => f(when(r)))
    && (!statuses || statuses.includes(r.status)))
    .sort((a, b) => when(b) - when(a) || b.id.localeCompare(a.id));
}

function searchOther(type, q, all) {
  const ids = refParam(q, '_id', type);
  const patients = type === 'Encounter' ? refParam(q, 'patient', 'Patient') : undefined;
  if (!ids && !patients) throw badSearch('required', `${type} search needs _id${type === 'Encounter' ? ' or patient' : ''}`);
  return all.filter((r) => (!ids || ids.includes(r.id)) && (!patients || patients.some((id) => refersTo(r.subject, 'Patient', id))));
}

// Pages of at most PAGE_MAX (or `_count`), linked by `next` with an opaque page context. Source:
// the fixtures README lists `_count` as Oracle's page size; FHIR R4 §3.1.1.5 (search paging) has
// servers link further pages by `next`. The cap of 50 and the parameter name are this stand-in's
// own (Oracle's next URLs are opaque); clients must only follow `next`.
const PAGE_MAX = 50;

export async function search(ctx) {
  const { type } = ctx.params;
  const { visible } = await access(ctx, type, 's');
  const q = ctx.url.searchParams;
  const all = [...table(ctx, type).values()];
  const plain = ctx.tenant.profile === 'plain' && type === 'Appointment';
  const strict = /\bhandling=strict\b/.test(ctx.req.headers.prefer ?? '');
  const appointments = () => (plain ? plainAppointments(q, all, strict) : matchAppointments(searchAppointments(q), all));
  const found = (type === 'Appointment' ? appointments() : searchOther(type, q, all)).filter(visible);
  const count = q.has('_count') ? Number(q.get('_count')) : PAGE_MAX;
  if (!Number.isInteger(count) || count < 1 || count > PAGE_MAX) throw badSearch('invalid', `_count must be a whole number from 1 to ${PAGE_MAX}`);
  const offset = q.has('-pageContext') ? Number(Buffer.from(q.get('-pageContext'), 'base64url').toString()) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw badSearch('invalid', '-pageContext is not one this server gave');
  const page = found.slice(offset, offset + count);
  const self = new URL(ctx.url.href);
  if (plain) for (const n of [...q.keys()]) if (!PLAIN_APPOINTMENT_PARAMS.includes(n)) self.searchParams.delete(n);
  const link = [{ relation: 'self', url: self.href }];
  if (offset + count < found.length) {
    const next = new URL(ctx.url.href);
    next.searchParams.set('-pageContext', Buffer.from(String(offset + count)).toString('base64url'));
    link.push({ relation: 'next', url: next.href });
  }
  return fhir(200, {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'searchset',
    link,
    entry: page.map((r) => ({ fullUrl: `${ctx.base}/${type}/${r.id}`, resource: r, search: { mode: 'match' } })),
  });
}

// ---------------------------------------------------------------------------------------------
// PATCH Appointment (Oracle: JSON Patch, If-Match required, 409 when stale)
// ---------------------------------------------------------------------------------------------

const STATUS_CODES = { 409: 'conflict', 412: 'conflict', 422: 'processing', 423: 'lock-error', 424: 'processing', 500: 'exception' };

// Oracle's patch-operation table (../shared/fixtures/oracle-health/README.md): a patch is either
// one `replace /status` along an allowed transition, or the whole set of video-visit link
// operations: provider link, patient link, and the period on the first room's telecom, all `add`
// the first time and all `replace` afterwards. Anything else is refused as Oracle refuses it.
export const STATUS_MOVES = Object.freeze({
  proposed: ['booked', 'cancelled'],
  booked: ['arrived', 'checked-in', 'cancelled'],
  arrived: ['checked-in', 'cancelled'],
  'checked-in': ['fulfilled', 'cancelled'],
});
const ROOM_TEXT = { provider: 'Provider Virtual Meeting Room', patient: 'Patient Virtual Meeting Room' };
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function oracleRules(current, ops) {
  const bad = (message, status = 422) => ({ status, message });
  if (!Array.isArray(ops) || !ops.length) return bad('the patch has no operations');
  if (ops.some((o) => typeof o !== 'object' || o === null || typeof o.path !== 'string')) return bad('every operation needs an op and a path');
  if (ops.some((o) => o.path === '/status')) {
    if (ops.length !== 1 || ops[0].op !== 'replace') return bad('a status change is a single replace of /status');
    const to = ops[0].value;
    if (!(STATUS_MOVES[current.status] ?? []).includes(to)) {
      return bad(`the status cannot change from ${current.status} to ${JSON.stringify(to)} (allowed: ${(STATUS_MOVES[current.status] ?? []).join(', ') || 'none'})`);
    }
    return null;
  }
  const at = (text) => (current.contained ?? []).findIndex((c) => c.resourceType === 'HealthcareService' && c.type?.some((t) => t.text === text));
  const provider = at(ROOM_TEXT.provider);
  const patient = at(ROOM_TEXT.patient);
  if (provider < 0 || patient < 0) return bad('this appointment has no virtual meeting rooms');
  const expected = [
    `/contained/${provider}/telecom/0/value`, `/contained/${patient}/telecom/0/value`,
    '/contained/0/telecom/0/period/start', '/contained/0/telecom/0/period/end',
  ];
  const paths = ops.map((o) => o.path);
  const stray = paths.find((p) => !expected.includes(p));
  if (stray) return bad(`an operation on ${stray} is not allowed on an Appointment`);
  if (new Set(paths).size !== paths.length) return bad('an operation is repeated');
  const missing = expected.filter((p) => !paths.includes(p));
  if (missing.length) return bad(`the video-visit link operations go together; missing: ${missing.join(', ')}`);
  const kinds = new Set(ops.map((o) => o.op));
  if (kinds.size !== 1) return bad('the link operations must all be add or all be replace, not mixed');
  const [op] = kinds;
  if (op !== 'add' && op !== 'replace') return bad(`op ${op} is not allowed for the video-visit links`);
  const linked = [provider, patient].some((i) => current.contained[i].telecom?.[0]?.value);
  if (op === 'add' && linked) return bad('the links were already added to this appointment; replace them', 409);
  if (op === 'replace' && !linked) return bad('this appointment has no links yet; the first patch adds them');
  for (const o of ops) {
    if (typeof o.value !== 'string' || !o.value) return bad(`${o.path} needs a value`);
    if (o.path.endsWith('/value') && !/^https?:\/\/\S+$/.test(o.value)) return bad(`${o.path} must be an http(s) URL`);
    if (o.path.includes('/period/') && !DATE_TIME.test(o.value)) return bad(`${o.path} must be a date-time with a time zone`);
  }
  return null;
}

export async function patchAppointment(ctx) {
  const { id } = ctx.params;
  const { grant, visible } = await access(ctx, 'Appointment', 'u');
  const appointments = table(ctx, 'Appointment');
  const current = appointments.get(id);
  if (!current) return outcome(404, 'not-found', `Appointment/${id} does not exist`);
  if (!visible(current)) return forbidden('Appointment', 'u', `Appointment/${id} is outside the launch patient's record`);
  if (mediaType(ctx.req) !== 'application/json-patch+json') {
    return outcome(415, 'not-supported', 'Content-Type must be application/json-patch+json');
  }
  const ifMatch = ctx.req.headers['if-match'];
  if (!ifMatch) return outcome(412, 'required', 'If-Match: W/"<versionId>" is required');
  const version = /^(?:W\/)?"([^"]*)"$/.exec(ifMatch.trim())?.[1];
  if (version === undefined) return outcome(412, 'invalid', 'If-Match must look like W/"<versionId>"');
  if (version !== current.meta.versionId) {
    return outcome(409, 'conflict', `If-Match version ${version} is stale; the current version is ${current.meta.versionId}`);
  }
  let ops;
  try {
    ops = JSON.parse(await readBody(ctx));
  } catch (err) {
    if (err instanceof ReplyError) throw err;
    return outcome(400, 'structure', `body is not JSON: ${err.message}`);
  }
  const forced = grant.launch?.scenario.patch_status;
  if (forced) return outcome(forced, STATUS_CODES[forced], `sandbox scenario patch_status ${forced}`);

  const refused = oracleRules(current, ops);
  if (refused) return outcome(refused.status, STATUS_CODES[refused.status], refused.message);
  let next;
  try {
    next = applyPatch(current, ops, { protectedPaths: ['resourceType', 'id', 'meta'] });
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    return err.kind === 'conflict' ? outcome(409, 'conflict', err.message) : outcome(422, 'processing', err.message);
  }
  // The period given on the first room's telecom applies to both rooms.
  const period = next.contained?.[0]?.telecom?.[0]?.period;
  if (period && ops.some((o) => o.path.includes('/period/'))) {
    for (const c of next.contained) if (c.telecom?.[0]) c.telecom[0].period = { ...period };
  }
  next.meta = { ...current.meta, versionId: String(Number(current.meta.versionId) + 1), lastUpdated: new Date().toISOString() };
  appointments.set(id, next);
  return withEtag(next);
}

/**
 * POST /_sandbox/throttle {tenant, count, retry_after}: 429s for the tenant's next FHIR requests.
 * Source: RFC 6585 §4 (429 Too Many Requests, with Retry-After) as FHIR servers answer throttled
 * clients; Oracle's documented limits are per client and not in the fixtures, so a test sets them.
 */
export async function setThrottle(ctx) {
  const body = JSON.parse(await readBody(ctx) || '{}');
  if (!ctx.state.store.has(body.tenant) || !Number.isInteger(body.count) || !Number.isInteger(body.retry_after)) {
    return outcome(400, 'invalid', 'give {tenant, count, retry_after} (a server tenant name and two whole numbers)');
  }
  ctx.state.throttle.set(body.tenant, { count: body.count, retryAfter: body.retry_after });
  return fhir(200, { tenant: body.tenant, count: body.count, retry_after: body.retry_after });
}

/** GET /_sandbox/appointments/<id>: the stored Appointment of any tenant, no auth (test hook). */
export function sandboxAppointment(ctx) {
  for (const tables of ctx.state.store.values()) {
    const found = tables.Appointment.get(ctx.params.id);
    if (found) return withEtag(found);
  }
  return outcome(404, 'not-found', `Appointment/${ctx.params.id} does not exist in any tenant`);
}
