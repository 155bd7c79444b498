// Demo data for the server tenants (good, good2, good3, good4, plain): practitioners, patients,
// encounters and appointments shaped like tests/fixtures/oracle-health/appointment-video-visit.json
// (plain: FHIR R4 as the base spec has it, see plainAppointment).
//
// Ids are fixed and distinct across tenants (a mix-up between tenants shows as a 404), so tests
// can use DEMO. Appointment times are not: buildStore(now) places them relative to the sandbox's
// start — read them from GET /_sandbox/appointments/<id> if a test needs them.
//
// The patients' identifying values are listed in SENSITIVE_VALUES: tests scan the gateway's
// storage for them, so they are deliberately unusual strings.
//
// Telecom: every patient has a `phone`/`mobile` and an `email`/`home` telecom. The video patients
// (video1, video2) carry their mobile number in E.164 (+1NXXNXXXXXX); the in-person patient keeps
// the human spelling from PEOPLE (e.g. '+1 785 555 0164'), which a sender has to normalise.
// DEMO[tenant].contacts lists what each patient's record says.

import { TENANTS } from './tenants.mjs';

const MINUTE = 60_000;

// Per tenant: id prefix (Oracle ids are numeric strings), two practitioners (the first one is the
// clinician who launches), three patients (video1, video2, in-person), one location.
const PEOPLE = {
  good: {
    prefix: '1',
    location: 'Westport Family Medicine',
    practitioners: [
      { given: ['Naomi'], family: 'Achterberg', npi: '1922083342' },
      { given: ['Rafael'], family: 'Quintero', npi: '1588231907' },
    ],
    patients: [
      { given: ['Rosalind', 'Marguerite'], family: 'Featherstone', gender: 'female', birthDate: '1957-04-19',
        phone: '(816) 555-0142', email: 'rosalind.featherstone@example.org', mrn: '70114235',
        line: '1427 Juniper Hollow Rd', city: 'Kansas City', state: 'MO', postalCode: '64113' },
      { given: ['Desmond'], family: 'Okafor-Lindqvist', gender: 'male', birthDate: '1983-11-02',
        phone: '913-555-0187', email: 'd.okafor.lindqvist@example.net', mrn: '70114698',
        line: '88 Wrenfield Court', city: 'Overland Park', state: 'KS', postalCode: '66212' },
      { given: ['Imogen', 'Beatrix'], family: 'Castellanos', gender: 'female', birthDate: '1996-07-28',
        phone: '+1 785 555 0164', email: 'imogen.castellanos@example.com', mrn: '70115012',
        line: '3021 Bramblewood Terrace', city: 'Lawrence', state: 'KS', postalCode: '66046' },
    ],
  },
  good2: {
    prefix: '2',
    location: 'Riverside Clinic North',
    practitioners: [
      { given: ['Helena'], family: 'Marchetti-Vogel', npi: '1477520163' },
      { given: ['Samuel'], family: 'Whitacre', npi: '1306958842' },
    ],
    patients: [
      { given: ['Bartholomew', 'Ellis'], family: 'Quennell', gender: 'male', birthDate: '1949-01-30',
        phone: '(314) 555-0119', email: 'bart.quennell@example.org', mrn: '80221457',
        line: '512 Sassafras Lane', city: 'St. Louis', state: 'MO', postalCode: '63109' },
      { given: ['Priyanka'], family: 'Venkataraman-Hale', gender: 'female', birthDate: '1978-09-14',
        phone: '636-555-0173', email: 'priyanka.vhale@example.net', mrn: '80221903',
        line: '19 Cobblestone Ridge', city: 'Chesterfield', state: 'MO', postalCode: '63017' },
      { given: ['Lucius', 'Orrin'], family: 'Abernathy', gender: 'male', birthDate: '2001-03-05',
        phone: '+1 573 555 0138', email: 'lucius.abernathy@example.com', mrn: '80222240',
        line: '7740 Heronsgate Drive', city: 'Columbia', state: 'MO', postalCode: '65203' },
    ],
  },
  good3: {
    prefix: '3',
    location: 'Lakeshore Internal Medicine',
    practitioners: [
      { given: ['Oluwaseun'], family: 'Brightwater', npi: '1649372015' },
      { given: ['Ingrid'], family: 'Haldorsen', npi: '1730186644' },
    ],
    patients: [
      { given: ['Henrietta', 'Louise'], family: 'Vasquez-Moreau', gender: 'female', birthDate: '1962-12-11',
        phone: '(312) 555-0156', email: 'henrietta.vm@example.org', mrn: '90330871',
        line: '2250 Larkspur Avenue', city: 'Chicago', state: 'IL', postalCode: '60614' },
      { given: ['Thaddeus'], family: 'Nakamura-Blythe', gender: 'male', birthDate: '1990-05-23',
        phone: '847-555-0191', email: 'thaddeus.nb@example.net', mrn: '90331326',
        line: '41 Quillmoor Street', city: 'Evanston', state: 'IL', postalCode: '60201' },
      { given: ['Wilhelmina', 'Rosamund'], family: 'Ostrowski', gender: 'female', birthDate: '1971-08-07',
        phone: '+1 630 555 0125', email: 'wilhelmina.ostrowski@example.com', mrn: '90331777',
        line: '963 Thistledown Way', city: 'Naperville', state: 'IL', postalCode: '60540' },
    ],
  },
  good4: {
    prefix: '4',
    location: 'Summit Valley Pediatrics & Family',
    practitioners: [
      { given: ['Tobias'], family: 'Eckhardt-Saylor', npi: '1851467720' },
      { given: ['Mireille'], family: 'Dubois-Kane', npi: '1962553108' },
    ],
    patients: [
      { given: ['Cornelius', 'Jasper'], family: 'Adebayo-Fairchild', gender: 'male', birthDate: '1955-06-16',
        phone: '(303) 555-0148', email: 'cornelius.af@example.org', mrn: '60447092',
        line: '1608 Aspenglow Circle', city: 'Denver', state: 'CO', postalCode: '80206' },
      { given: ['Seraphina'], family: 'Lindgren', gender: 'female', birthDate: '1988-02-29',
        phone: '720-555-0162', email: 'seraphina.lindgren@example.net', mrn: '60447515',
        line: '275 Marigold Bluff', city: 'Aurora', state: 'CO', postalCode: '80013' },
      { given: ['Augustin', 'Pierre'], family: 'Delacroix-Pryce', gender: 'male', birthDate: '2004-10-09',
        phone: '+1 970 555 0133', email: 'augustin.dp@example.com', mrn: '60447968',
        line: '5 Kestrel Point Road', city: 'Fort Collins', state: 'CO', postalCode: '80521' },
    ],
  },
  // The 'plain' profile tenant (tenants.mjs): a SMART EHR that is not Oracle.
  plain: {
    prefix: '5',
    location: 'Harbourview Telehealth Clinic',
    practitioners: [
      { given: ['Eleanor'], family: 'Szymanski-Reyes', npi: '1093817264' },
      { given: ['Kwame'], family: 'Asante-Boateng', npi: '1275048391' },
    ],
    patients: [
      { given: ['Percival', 'Anselm'], family: 'Thistlewood', gender: 'male', birthDate: '1968-03-21',
        phone: '(206) 555-0177', email: 'percival.thistlewood@example.org', mrn: '50558130',
        line: '4410 Driftwood Bend', city: 'Seattle', state: 'WA', postalCode: '98117' },
      { given: ['Ottilie'], family: 'Marchbanks-Oyelaran', gender: 'female', birthDate: '1992-12-04',
        phone: '425-555-0129', email: 'ottilie.mo@example.net', mrn: '50558574',
        line: '17 Salal Crescent', city: 'Bellevue', state: 'WA', postalCode: '98004' },
      { given: ['Florian', 'Caspar'], family: 'Wexley-Amadi', gender: 'male', birthDate: '1979-06-30',
        phone: '+1 360 555 0115', email: 'florian.wa@example.com', mrn: '50559021',
        line: '902 Madrona Point', city: 'Olympia', state: 'WA', postalCode: '98501' },
    ],
  },
};

/** Tenants whose FHIR server is plain R4 rather than Oracle's (tenants.mjs `profile`). */
const PLAIN = new Set(['plain']);

const ids = (prefix) => ({
  practitioners: [`${prefix}2724066`, `${prefix}2724071`],
  patients: [`${prefix}2742400`, `${prefix}2742415`, `${prefix}2742433`],
  location: `${prefix}2216049`,
  encounters: { video1: `${prefix}7954225`, video2: `${prefix}7954240`, inPerson: `${prefix}7954262` },
  appointments: {
    video1: `${prefix}4817571`, video2: `${prefix}4817598`, inPerson: `${prefix}4817603`,
    cancelled: `${prefix}4817622`, tomorrow: `${prefix}4817650`,
    // Only in the plain profile: a proposed video visit of video1's patient, nearest to now.
    ...(prefix === '5' ? { proposed: `${prefix}4817688` } : {}),
  },
});

const digits = (phone) => phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
const e164 = (phone) => `+1${digits(phone)}`;
const PATIENT_ROLES = ['video1', 'video2', 'inPerson'];
// The mobile number as the Patient resource carries it (see the header comment).
const mobileOf = (p, role) => (role === 'inPerson' ? p.phone : e164(p.phone));
const patientDisplay = (p) => `${p.family}, ${p.given[0]}${p.given[1] ? ` ${p.given[1][0]}` : ''}`;
const practitionerDisplay = (p) => `${p.family}, ${p.given[0]} MD`;

/**
 * Ids of the demo data, per server tenant:
 * { practitioner, colleague, patient, encounter, location,
 *   patients: {video1, video2, inPerson}, encounters: {video1, video2, inPerson},
 *   appointments: {video1, video2, inPerson, cancelled, tomorrow},
 *   names: {practitioner: 'Achterberg, Naomi MD', patient: 'Featherstone, Rosalind M'},
 *   contacts: {video1: {mobile: '+18165550142', email: 'rosalind.featherstone@example.org'}, video2, inPerson} }
 * `patient`/`encounter` are video1's. contacts.<role>.mobile is the Patient's telecom value as
 * stored (E.164 for video1/video2, the human spelling for inPerson). video1 has the patient room at contained[0], video2 the
 * provider room; inPerson has no rooms; cancelled is a cancelled video visit; tomorrow is +24 h.
 * plain: no rooms anywhere (video ones say Telehealth in serviceType), encounters without an
 * appointment link, and appointments.proposed, a proposed video visit of video1's patient at +10.
 */
export const DEMO = Object.freeze(Object.fromEntries(Object.entries(PEOPLE).map(([name, t]) => {
  const i = ids(t.prefix);
  return [name, Object.freeze({
    tenant: TENANTS[name],
    practitioner: i.practitioners[0],
    colleague: i.practitioners[1],
    patient: i.patients[0],
    encounter: i.encounters.video1,
    location: i.location,
    patients: Object.freeze({ video1: i.patients[0], video2: i.patients[1], inPerson: i.patients[2] }),
    encounters: Object.freeze({ ...i.encounters }),
    appointments: Object.freeze({ ...i.appointments }),
    names: Object.freeze({ practitioner: practitionerDisplay(t.practitioners[0]), patient: patientDisplay(t.patients[0]) }),
    contacts: Object.freeze(Object.fromEntries(PATIENT_ROLES.map((role, k) => [role,
      Object.freeze({ mobile: mobileOf(t.patients[k], role), email: t.patients[k].email })]))),
  })];
})));

/** Every identifying patient value in the demo data (names, phones in several spellings, ...). */
export const SENSITIVE_VALUES = Object.freeze([...new Set(Object.values(PEOPLE).flatMap((t) =>
  t.patients.flatMap((p) => [
    ...p.given, p.family, `${p.given[0]} ${p.family}`, `${p.family}, ${p.given.join(' ')}`, patientDisplay(p),
    p.birthDate, p.phone, digits(p.phone), e164(p.phone), p.email, p.mrn, p.line,
  ])))]);

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

const iso = (ms) => new Date(ms).toISOString();
const meta = (versionId, lastUpdated) => ({ versionId, lastUpdated });

// A Millennium location (the ids the health system's analysts give for the watch list). Source:
// the fixtures README (appointments are searched by `location`; location ids are the health
// system's own); the shape is FHIR R4 Location, as the demo appointments already reference it.
function location(id, name, updated) {
  return {
    resourceType: 'Location',
    id,
    meta: meta('1', updated),
    status: 'active',
    name,
    mode: 'instance',
    physicalType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'bu', display: 'Building' }] },
  };
}

function practitioner(id, p, updated) {
  return {
    resourceType: 'Practitioner',
    id,
    meta: meta('1', updated),
    identifier: [{ use: 'usual', system: 'http://hl7.org/fhir/sid/us-npi', value: p.npi }],
    active: true,
    name: [{ use: 'usual', text: practitionerDisplay(p), family: p.family, given: p.given, suffix: ['MD'] }],
  };
}

function patient(id, p, role, updated) {
  return {
    resourceType: 'Patient',
    id,
    meta: meta('1', updated),
    identifier: [{
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'MRN' },
      system: 'urn:oid:2.16.840.1.113883.6.1000',
      value: p.mrn,
    }],
    active: true,
    name: [{ use: 'official', text: `${p.family}, ${p.given.join(' ')}`, family: p.family, given: p.given }],
    telecom: [
      { system: 'phone', value: mobileOf(p, role), use: 'mobile', rank: 1 },
      { system: 'email', value: p.email, use: 'home' },
    ],
    gender: p.gender,
    birthDate: p.birthDate,
    address: [{ use: 'home', line: [p.line], city: p.city, state: p.state, postalCode: p.postalCode, country: 'US' }],
  };
}

function encounter(id, { patientId, patientName, practitionerId, practitionerName, appointmentId, start, virtual, plain }, updated) {
  const enc = {
    resourceType: 'Encounter',
    id,
    meta: meta('1', updated),
    status: 'planned',
    class: virtual
      ? { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' }
      : { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    subject: { reference: `Patient/${patientId}`, display: patientName },
    participant: [{ individual: { reference: `Practitioner/${practitionerId}`, display: practitionerName } }],
    appointment: [{ reference: `Appointment/${appointmentId}` }],
    period: { start: iso(start) },
  };
  // Plain R4: Encounter.appointment is 0..* (R4 Encounter), and this EHR leaves it out.
  if (plain) delete enc.appointment;
  return enc;
}

const room = (id, text, start, end) => ({
  resourceType: 'HealthcareService',
  id,
  type: [{ text }],
  // Booked rooms have a url telecom without a link: the first write-back `add`s the links. Source:
  // the fixtures README's patch table (all `add` the first time, `add` on a linked one is 409).
  telecom: [{ system: 'url', period: { start: iso(start), end: iso(end) } }],
});

const PATIENT_ROOM = 'Patient Virtual Meeting Room';
const PROVIDER_ROOM = 'Provider Virtual Meeting Room';

// A plain FHIR R4 Appointment: the kind of visit in appointmentType (R4 binds it to the v2-0276
// codes, preferred) and serviceType (an example binding; SNOMED CT here), no contained rooms, no
// Oracle code sets. A proposed one has a requestedPeriod and no start/end (R4 Appointment
// invariant app-3: only proposed or cancelled appointments may lack them) and its patient's
// participant status is needs-action (R4 participationstatus).
function plainAppointment(id, a) {
  const end = a.start + a.minutes * MINUTE;
  const service = a.video
    ? { code: '448337001', display: 'Telemedicine consultation with patient', text: 'Telehealth' }
    : { code: '11429006', display: 'Consultation', text: 'Office visit' };
  return {
    resourceType: 'Appointment',
    id,
    meta: meta(a.version, a.updated),
    status: a.status,
    appointmentType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' }] },
    serviceType: [{ coding: [{ system: 'http://snomed.info/sct', code: service.code, display: service.display }], text: service.text }],
    ...(a.status === 'proposed' ? { requestedPeriod: [{ start: iso(a.start), end: iso(end) }] } : { start: iso(a.start), end: iso(end), minutesDuration: a.minutes }),
    participant: [
      { actor: { reference: `Practitioner/${a.practitionerId}`, display: a.practitionerName }, required: 'required', status: 'accepted' },
      { actor: { reference: `Patient/${a.patientId}`, display: a.patientName }, required: 'required', status: a.status === 'proposed' ? 'needs-action' : 'accepted' },
      { actor: { reference: `Location/${a.locationId}`, display: a.locationName }, required: 'required', status: 'accepted' },
    ],
  };
}

function appointment(id, a, tenantId) {
  if (a.plain) return plainAppointment(id, a);
  const end = a.start + a.minutes * MINUTE;
  const rooms = a.video
    ? [room(a.roomIds[0], PATIENT_ROOM, a.start, end), room(a.roomIds[1], PROVIDER_ROOM, a.start, end)]
    : [];
  if (a.providerRoomFirst) rooms.reverse();
  const service = a.video
    ? { code: '2572307911', display: 'Video Visit' }
    : { code: '21265426', display: 'Follow Up' };
  return {
    resourceType: 'Appointment',
    id,
    meta: meta(a.version, a.updated),
    ...(rooms.length ? { contained: rooms } : {}),
    status: a.status,
    serviceType: [{
      coding: [
        { system: `https://fhir.cerner.com/${tenantId}/codeSet/14249`, code: service.code, display: service.display, userSelected: true },
        { system: 'http://snomed.info/sct', code: '408443003', display: 'General medical practice', userSelected: false },
      ],
      text: service.display,
    }],
    description: service.display,
    start: iso(a.start),
    end: iso(end),
    minutesDuration: a.minutes,
    participant: [
      {
        type: [
          {
            coding: [{ system: `https://fhir.cerner.com/${tenantId}/codeSet/14250`, code: '4574', display: 'Resource', userSelected: true }],
            text: 'Resource',
          },
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF', display: 'primary performer' }] },
        ],
        actor: { reference: `Practitioner/${a.practitionerId}`, display: a.practitionerName },
        required: 'required',
        status: 'accepted',
      },
      {
        type: [{
          coding: [{ system: `https://fhir.cerner.com/${tenantId}/codeSet/14250`, code: '4572', display: 'Patient', userSelected: true }],
          text: 'Patient',
        }],
        actor: { reference: `Patient/${a.patientId}`, display: a.patientName },
        required: 'required',
        status: 'accepted',
      },
      {
        actor: { reference: `Location/${a.locationId}`, display: a.locationName },
        required: 'required',
        status: 'accepted',
      },
      ...rooms.map((r) => ({ type: [{ text: r.type[0].text }], actor: { reference: `#${r.id}` }, status: 'accepted' })),
    ],
    requestedPeriod: [{ start: iso(a.start), end: iso(end) }],
  };
}

/**
 * Fresh, mutable demo data for one sandbox instance:
 * Map<tenantName, { Patient: Map<id, resource>, Practitioner: ..., Encounter: ..., Appointment: ... }>.
 * Times are relative to `now`: video1 starts 15 min after it (rounded down to 5 min), then the
 * cancelled visit (+30), video2 (+45), in-person (+90, ends +120) and tomorrow (+24 h). In the
 * last two hours of a UTC day the schedule is pulled back so that it all stays on that date.
 */
export function buildStore(now = Date.now()) {
  // Today's visits stay on today's UTC date (the gateway searches by UTC day): late in the day
  // they move earlier, so they may already have started.
  const dayEnd = Math.floor(now / (24 * 60 * MINUTE) + 1) * (24 * 60 * MINUTE);
  const base = Math.min(Math.floor(now / (5 * MINUTE)) * (5 * MINUTE), dayEnd - 125 * MINUTE);
  const updated = iso(base - 3 * 24 * 60 * MINUTE);
  const store = new Map();
  for (const [name, t] of Object.entries(PEOPLE)) {
    const d = DEMO[name];
    const tenantId = TENANTS[name];
    const pr = t.practitioners[0];
    const plain = PLAIN.has(name);
    const common = {
      practitionerId: d.practitioner, practitionerName: practitionerDisplay(pr),
      locationId: d.location, locationName: t.location, updated, plain,
    };
    const pat = (k) => ({ patientId: d.patients[k], patientName: patientDisplay(t.patients[PATIENT_ROLES.indexOf(k)]) });
    const room2 = (n) => [`${t.prefix}${n}07`, `${t.prefix}${n}10`];
    const appts = {
      video1: { ...common, ...pat('video1'), start: base + 15 * MINUTE, minutes: 20, status: 'booked', video: true, roomIds: room2(60), version: '1' },
      cancelled: { ...common, ...pat('video1'), start: base + 30 * MINUTE, minutes: 20, status: 'cancelled', video: true, roomIds: room2(61), version: '3' },
      video2: { ...common, ...pat('video2'), start: base + 45 * MINUTE, minutes: 30, status: 'booked', video: true, roomIds: room2(62), providerRoomFirst: true, version: '4' },
      inPerson: { ...common, ...pat('inPerson'), start: base + 90 * MINUTE, minutes: 30, status: 'booked', video: false, version: '2' },
      tomorrow: { ...common, ...pat('video2'), start: base + 24 * 60 * MINUTE, minutes: 20, status: 'booked', video: true, roomIds: room2(63), version: '1' },
      ...(plain ? { proposed: { ...common, ...pat('video1'), start: base + 10 * MINUTE, minutes: 20, status: 'proposed', video: true, version: '1' } } : {}),
    };
    const tables = { Patient: new Map(), Practitioner: new Map(), Location: new Map(), Encounter: new Map(), Appointment: new Map() };
    const put = (r) => tables[r.resourceType].set(r.id, r);
    put(location(d.location, t.location, updated));
    t.practitioners.forEach((p, k) => put(practitioner([d.practitioner, d.colleague][k], p, updated)));
    t.patients.forEach((p, k) => put(patient(d.patients[PATIENT_ROLES[k]], p, PATIENT_ROLES[k], updated)));
    for (const [key, a] of Object.entries(appts)) put(appointment(d.appointments[key], a, tenantId));
    for (const key of ['video1', 'video2', 'inPerson']) {
      const a = appts[key];
      put(encounter(d.encounters[key], { ...a, appointmentId: d.appointments[key], virtual: a.video }, updated));
    }
    store.set(name, tables);
  }
  return store;
}

// ---------------------------------------------------------------------------------------------
// Visits booked, moved and cancelled at run time (POST /_sandbox/appointments, schedule.mjs)
// ---------------------------------------------------------------------------------------------

// The display strings the demo data uses, recomputed from stored resources.
const displayOfPatient = (r) => patientDisplay({ family: r.name[0].family, given: r.name[0].given });
const displayOfPractitioner = (r) => r.name[0].text;

/**
 * The `seq`-th visit booked at run time: an Appointment and its Encounter in the demo visits' exact
 * shape (rooms only when `video`). Ids are numeric like Oracle's, with the tenant's prefix:
 * `{prefix}5{seq:06}` / `{prefix}8{seq:06}`, never clashing with the demo's 48xxxxx / 79xxxxx.
 * `tables` is the tenant's tables from buildStore; patient and practitioner must exist in them.
 * Both resources start at versionId "1", lastUpdated `now`. Nothing is stored.
 */
export function bookedVisit(tables, tenantName, { seq, patientId, practitionerId, start, minutes, video, status, now }) {
  const d = DEMO[tenantName];
  const { prefix } = PEOPLE[tenantName];
  const n = String(seq).padStart(6, '0');
  const id = `${prefix}5${n}`;
  const encounterId = `${prefix}8${n}`;
  const roomIds = [`${id}07`, `${id}10`];
  const updated = iso(now);
  const a = {
    practitionerId, practitionerName: displayOfPractitioner(tables.Practitioner.get(practitionerId)),
    patientId, patientName: displayOfPatient(tables.Patient.get(patientId)),
    locationId: d.location, locationName: PEOPLE[tenantName].location,
    start, minutes, status, video, roomIds, version: '1', updated, plain: PLAIN.has(tenantName),
  };
  const appt = appointment(id, a, TENANTS[tenantName]);
  const enc = encounter(encounterId, { ...a, appointmentId: id, virtual: video }, updated);
  if (status === 'cancelled') enc.status = 'cancelled';
  return { appointment: appt, encounter: enc };
}

/** A copy of `appt` at a new time: start, end, minutesDuration, requestedPeriod and the rooms' link periods. */
export function retimed(appt, start, minutes) {
  const next = structuredClone(appt);
  const end = start + minutes * MINUTE;
  next.start = iso(start);
  next.end = iso(end);
  next.minutesDuration = minutes;
  if (next.requestedPeriod) next.requestedPeriod = [{ start: iso(start), end: iso(end) }];
  for (const c of next.contained ?? []) {
    for (const t of c.telecom ?? []) if (t.period) t.period = { ...t.period, start: iso(start), end: iso(end) };
  }
  return next;
}
