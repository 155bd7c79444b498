// The sandbox's tenants: fixed ids (so tests and `make dev` config can hard-code URLs), a
// one-line description for the index page, and what each endpoint does.
//   smart / metadata: 'ok' | 'notfound' | 'html'
//   slow:             answer only after `slowMs` (the gateway's discovery timeout is 5 s)
//   tweakSmart / tweakCapability: edit the valid document to make it wrong in one way
//   server:           also a SMART authorization server + FHIR server with demo data
//   jwks:             'single' = id_tokens signed by a key published without `kid` (/jwk/single)

export const TENANT_TABLE = {
  good: {
    id: 'ec2458f2-1e24-41c8-b71b-0e701af7583d', // Oracle's public secure-sandbox tenant id
    about: 'Valid SMART discovery + R4 CapabilityStatement (Oracle sandbox tenant id); OAuth + FHIR with demo data',
    smart: 'ok',
    metadata: 'ok',
    server: true,
  },
  good2: {
    id: '306e47de-5e7f-4c66-962b-4b2017c96b73',
    about: 'Second valid tenant (e.g. production next to a test base); OAuth + FHIR',
    smart: 'ok',
    metadata: 'ok',
    server: true,
  },
  good3: {
    id: 'e7d6dcbc-d832-48c5-8115-616b9daefedc',
    about: 'Spare valid tenant; OAuth + FHIR',
    smart: 'ok',
    metadata: 'ok',
    server: true,
  },
  good4: {
    id: 'ee379cb7-06f1-4cdd-a642-99156b6eca4b',
    about: 'Spare valid tenant; OAuth + FHIR; id_tokens signed by a single RSA key without kid (jwks_uri /jwk/single)',
    smart: 'ok',
    metadata: 'ok',
    server: true,
    jwks: 'single',
  },
  // A SMART on FHIR EHR that is not Oracle Health (profile 'plain'): FHIR R4 as the base spec has
  // it. Source: FHIR R4 Appointment (no meeting rooms; appointmentType / serviceType say what kind
  // of visit), Encounter (`appointment` is optional, 0..*), and the Appointment search parameters
  // of R4 §3.1.1 / Appointment#search (patient, practitioner, actor, location, date, status, any
  // combination; no status is excluded, so proposed ones come back too; servers sort as they
  // like: this one newest first).
  plain: {
    id: '5a1e7f3c-2b84-4d0e-9c61-8f0b3d27e4a9',
    about: 'A SMART EHR that is not Oracle: plain R4 appointments (no meeting rooms), encounters without an appointment link, standard search (proposed too, newest first)',
    smart: 'ok',
    metadata: 'ok',
    server: true,
    profile: 'plain',
  },
  notfound: {
    id: '4162a513-9c16-4f6f-aafd-5760c2a99ae8',
    about: 'Both endpoints 404 with an OperationOutcome',
    smart: 'notfound',
    metadata: 'notfound',
  },
  html: {
    id: '84a78a65-6e1c-4676-9382-8c2e7cbc8ff5',
    about: 'Both endpoints 200 text/html (a login page, as behind a misconfigured proxy)',
    smart: 'html',
    metadata: 'html',
  },
  nos256: {
    id: 'b7f07a9a-49ed-4992-b46f-eb73bd4d8a2f',
    about: 'Valid, but PKCE only offers "plain" (no S256)',
    smart: 'ok',
    metadata: 'ok',
    tweakSmart: (doc) => ({ ...doc, code_challenge_methods_supported: ['plain'] }),
  },
  slow: {
    id: '8382fbcf-2e4a-4ef0-a0f8-957d017fe962',
    about: 'Valid documents, but only after slowMs (default 10 s)',
    smart: 'ok',
    metadata: 'ok',
    slow: true,
  },
  metadataonly: {
    id: '02903394-965c-4e0f-bfec-725e373a79e5',
    about: 'No smart-configuration (404); metadata carries the oauth-uris extension',
    smart: 'notfound',
    metadata: 'ok',
  },
  dstu2: {
    id: '31b7d13a-8748-470a-8c1a-3cb0b0eea230',
    about: 'Valid SMART discovery, but metadata says fhirVersion 1.0.2 (DSTU2)',
    smart: 'ok',
    metadata: 'ok',
    // Only fhirVersion changes, so a test sees exactly one reason to reject this base.
    tweakCapability: (doc) => ({ ...doc, fhirVersion: '1.0.2' }),
  },
  nolaunch: {
    id: '0e89976c-a26c-45b0-b915-86a1ed309adf',
    about: 'SMART discovery without the launch-ehr capability',
    smart: 'ok',
    metadata: 'ok',
    tweakSmart: (doc) => ({ ...doc, capabilities: doc.capabilities.filter((c) => c !== 'launch-ehr') }),
  },
};

/** Tenant name → tenant id (UUID), for building URLs in tests. */
export const TENANTS = Object.freeze(
  Object.fromEntries(Object.entries(TENANT_TABLE).map(([name, t]) => [name, t.id])),
);

export const TENANT_BY_ID = new Map(Object.entries(TENANT_TABLE).map(([name, t]) => [t.id, { name, ...t }]));

/** Names of the tenants that run the authorization + FHIR server. */
export const SERVER_TENANTS = Object.freeze(
  Object.entries(TENANT_TABLE).filter(([, t]) => t.server).map(([name]) => name));

/** A server tenant by name or id, or undefined. */
export function serverTenant(nameOrId) {
  const id = TENANTS[nameOrId] ?? nameOrId;
  const t = TENANT_BY_ID.get(id);
  return t?.server ? t : undefined;
}

/** The FHIR base URL of a tenant on a running sandbox: `fhirBase(url, 'good')`. */
export function fhirBase(origin, name) {
  const id = TENANTS[name];
  if (!id) throw new Error(`unknown sandbox tenant: ${name}`);
  return `${origin}/r4/${id}`;
}

/** Where a tenant's OAuth endpoints live (Oracle: beside the FHIR server, not under the base). */
export function oauthUris(origin, tenantId) {
  const tenantRoot = `${origin}/tenants/${tenantId}`;
  const profile = 'protocols/oauth2/profiles/smart-v1';
  // Oracle puts the FHIR server's host name into the token path.
  const fhirHost = new URL(origin).hostname;
  return {
    issuer: tenantRoot,
    authorize: `${tenantRoot}/${profile}/personas/provider/authorize`,
    token: `${tenantRoot}/hosts/${fhirHost}/${profile}/token`,
    revoke: `${tenantRoot}/${profile}/token/revoke`,
    manage: `${tenantRoot}/personas/provider/my-authorizations`,
    introspect: `${origin}/tokeninfo`,
    jwks: TENANT_BY_ID.get(tenantId)?.jwks === 'single' ? `${origin}/jwk/single` : `${origin}/jwk`,
  };
}
