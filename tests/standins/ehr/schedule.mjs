// Test hooks that change a tenant's schedule over time, the way front-desk staff book, move and
// cancel visits while the gateway's reminder job polls (FHIR search, ideally with a Backend
// Services token and `_lastUpdated`):
//   POST /_sandbox/appointments              {tenant, start, patient?, practitioner?, minutes?, video?, status?} → 201
//   POST /_sandbox/appointments/<id>/move    {start, minutes?}                                         → 200
//   POST /_sandbox/appointments/<id>/cancel  (no body needed)                                          → 200
// Each answers with the stored Appointment (FHIR JSON, ETag W/"<versionId>"). Every change bumps
// meta.versionId and sets meta.lastUpdated to now; the visit's Encounter follows along (period
// start, status cancelled). Errors: 400 / 404 / 409 {error, error_description}.
// The index page (powerchart.mjs) calls book / move / cancel from its HTML forms.

import { bookedVisit, DEMO, retimed } from './data.mjs';
import { json, readBody, readJson } from './http.mjs';
import { withEtag } from './fhir.mjs';
import { SERVER_TENANTS, serverTenant } from './tenants.mjs';

const MINUTE = 60_000;
const MAX_MINUTES = 24 * 60;
// FHIR R4 Appointment.status
const STATUSES = ['proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'entered-in-error', 'checked-in', 'waitlist'];
const CREATE_KEYS = ['tenant', 'patient', 'practitioner', 'start', 'minutes', 'video', 'status'];
const MOVE_KEYS = ['start', 'minutes'];
// A date-time with a zone, as FHIR instants need.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

class BadRequest extends Error {}

const bad = (msg) => json(400, { error: 'invalid_request', error_description: msg });
const conflict = (msg) => json(409, { error: 'conflict', error_description: msg });
const missing = (id) => json(404, { error: 'not_found', error_description: `Appointment/${id} does not exist in any tenant` });

/** The per-instance counter behind the ids of booked visits; merged into the sandbox's state. */
export const scheduleState = () => ({ bookedVisits: 0 });

function checkKeys(body, known) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length) throw new BadRequest(`unknown field(s) ${unknown.join(', ')} (known: ${known.join(', ')})`);
}

function instant(value, name) {
  const ms = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new BadRequest(`${name} must be an ISO date-time with a time zone, e.g. 2030-01-02T15:30:00Z`);
  return ms;
}

function minutesOf(value, fallback) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_MINUTES) throw new BadRequest(`minutes must be an integer from 1 to ${MAX_MINUTES}`);
  return value;
}

/** The Appointment `id` in whichever tenant holds it (ids are distinct across tenants): {tenantName, tables, appt}. */
export function findAppointment(state, id) {
  for (const [tenantName, tables] of state.store) {
    const appt = tables.Appointment.get(id);
    if (appt) return { tenantName, tables, appt };
  }
  return undefined;
}

const bump = (meta, now) => ({ ...meta, versionId: String(Number(meta.versionId) + 1), lastUpdated: new Date(now).toISOString() });

// The visit's Encounter follows its Appointment (as in the demo data).
function touchEncounter(tables, apptId, now, change) {
  for (const enc of tables.Encounter.values()) {
    if (!enc.appointment?.some((a) => a.reference === `Appointment/${apptId}`)) continue;
    const next = structuredClone(enc);
    change(next);
    next.meta = bump(enc.meta, now);
    tables.Encounter.set(enc.id, next);
  }
}

function guard(run) {
  try {
    return run();
  } catch (err) {
    if (err instanceof BadRequest) return bad(err.message);
    throw err;
  }
}

// The cores below take a parsed body and answer with a reply; the JSON routes here and the
// index page's form routes (powerchart.mjs) share them.

/** Book a visit: `body` as for POST /_sandbox/appointments. 201 + the Appointment, or 400. */
export function book(state, origin, body) {
  return guard(() => {
    checkKeys(body, CREATE_KEYS);
    const tenant = serverTenant(body.tenant);
    if (!tenant) throw new BadRequest(`tenant must be one of ${SERVER_TENANTS.join(', ')} (name or id)`);
    const tables = state.store.get(tenant.name);
    const demo = DEMO[tenant.name];
    const patientId = body.patient ?? demo.patient;
    const practitionerId = body.practitioner ?? demo.practitioner;
    if (typeof patientId !== 'string' || !tables.Patient.has(patientId)) {
      throw new BadRequest(`patient ${JSON.stringify(patientId)} is not a Patient id of tenant ${tenant.name}`);
    }
    if (typeof practitionerId !== 'string' || !tables.Practitioner.has(practitionerId)) {
      throw new BadRequest(`practitioner ${JSON.stringify(practitionerId)} is not a Practitioner id of tenant ${tenant.name}`);
    }
    const start = instant(body.start, 'start');
    const minutes = minutesOf(body.minutes, 15);
    const video = body.video ?? true;
    if (typeof video !== 'boolean') throw new BadRequest('video must be a boolean');
    const status = body.status ?? 'booked';
    if (!STATUSES.includes(status)) throw new BadRequest(`status must be one of ${STATUSES.join(', ')}`);

    const { appointment, encounter } = bookedVisit(tables, tenant.name, {
      seq: ++state.bookedVisits, patientId, practitionerId, start, minutes, video, status, now: Date.now(),
    });
    const { id } = appointment;
    tables.Appointment.set(id, appointment);
    tables.Encounter.set(encounter.id, encounter);
    return withEtag(appointment, 201, { location: `${origin}/r4/${tenant.id}/Appointment/${id}` });
  });
}

/** Move Appointment `id`: `body` = {start, minutes?}. 200 + the Appointment, or 400 / 404 / 409. */
export function move(state, id, body) {
  return guard(() => {
    checkKeys(body, MOVE_KEYS);
    const found = findAppointment(state, id);
    if (!found) return missing(id);
    const { tables, appt } = found;
    const start = instant(body.start, 'start');
    const minutes = minutesOf(body.minutes, appt.minutesDuration ?? Math.round((Date.parse(appt.end) - Date.parse(appt.start)) / MINUTE));
    if (appt.status === 'cancelled') return conflict(`Appointment/${appt.id} is cancelled; book a new one instead of moving it`);
    const now = Date.now();
    const next = retimed(appt, start, minutes);
    next.meta = bump(appt.meta, now);
    tables.Appointment.set(appt.id, next);
    touchEncounter(tables, appt.id, now, (enc) => { enc.period = { ...enc.period, start: next.start }; });
    return withEtag(next);
  });
}

/** Cancel Appointment `id`. 200 + the Appointment, or 404 / 409. */
export function cancel(state, id) {
  const found = findAppointment(state, id);
  if (!found) return missing(id);
  const { tables, appt } = found;
  if (appt.status === 'cancelled') return conflict(`Appointment/${appt.id} is already cancelled`);
  const now = Date.now();
  const next = { ...structuredClone(appt), status: 'cancelled', meta: bump(appt.meta, now) };
  tables.Appointment.set(appt.id, next);
  touchEncounter(tables, appt.id, now, (enc) => { enc.status = 'cancelled'; });
  return withEtag(next);
}

/** POST /_sandbox/appointments */
export async function createAppointment(ctx) {
  return book(ctx.state, ctx.origin, await readJson(ctx, bad));
}

/** POST /_sandbox/appointments/<id>/move {start, minutes?} */
export async function moveAppointment(ctx) {
  return move(ctx.state, ctx.params.id, await readJson(ctx, bad));
}

/** POST /_sandbox/appointments/<id>/cancel (any body is ignored) */
export async function cancelAppointment(ctx) {
  await readBody(ctx); // drain
  return cancel(ctx.state, ctx.params.id);
}
