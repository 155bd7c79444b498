// SMART discovery and CapabilityStatement documents, in the wire shapes of
// tests/fixtures/oracle-health/ with every URL moved onto the sandbox's own origin.

import { oauthUris } from './tenants.mjs';

// Same order as the fixture's scopes_supported (the selftest compares them).
export const SCOPES_SUPPORTED = [
  'fhirUser', 'launch', 'offline_access', 'online_access', 'openid', 'profile',
  ...['patient', 'system', 'user'].flatMap((who) =>
    ['Appointment', 'Encounter', 'Patient'].flatMap((type) =>
      ['crus', 'read', 'write'].map((perm) => `${who}/${type}.${perm}`))),
  ...['system', 'user'].flatMap((who) =>
    ['crs', 'read', 'write'].map((perm) => `${who}/Practitioner.${perm}`)),
];

const CAPABILITIES = [
  'authorize-post', 'launch-ehr', 'launch-standalone', 'client-public',
  'client-confidential-asymmetric', 'client-confidential-symmetric', 'sso-openid-connect',
  'context-banner', 'context-style', 'context-ehr-patient', 'context-ehr-encounter',
  'permission-patient', 'permission-user', 'permission-offline', 'permission-online',
  'permission-v1', 'permission-v2', 'health-cards',
];

export function smartConfiguration(origin, tenant) {
  const uris = oauthUris(origin, tenant.id);
  const doc = {
    issuer: uris.issuer,
    authorization_endpoint: uris.authorize,
    token_endpoint: uris.token,
    revocation_endpoint: uris.revoke,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    jwks_uri: uris.jwks,
    grant_types_supported: ['authorization_code', 'client_credentials'],
    scopes_supported: [...SCOPES_SUPPORTED],
    response_types_supported: ['code'],
    management_endpoint: uris.manage,
    introspection_endpoint: uris.introspect,
    capabilities: [...CAPABILITIES],
    code_challenge_methods_supported: ['S256'],
  };
  return tenant.tweakSmart ? tenant.tweakSmart(doc) : doc;
}

export function capabilityStatement(origin, tenant) {
  const uris = oauthUris(origin, tenant.id);
  const base = `${origin}/r4/${tenant.id}`;
  // Appointment PATCH is served but not listed as an interaction: the selftest pins read + search-type.
  const resource = (type, searchParams) => ({
    type,
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    searchParam: searchParams.map(([name, type]) => ({ name, type })),
  });
  const doc = {
    resourceType: 'CapabilityStatement',
    id: tenant.id,
    name: 'VisitgateEhrSandbox',
    title: `Visitgate EHR sandbox (${tenant.name})`,
    status: 'active',
    date: '2024-01-01T00:00:00Z',
    publisher: 'Visitgate test stand-in',
    kind: 'instance',
    software: { name: 'Visitgate EHR sandbox' },
    implementation: { description: `${tenant.profile === 'plain' ? 'Plain SMART on FHIR' : 'Oracle Health'} stand-in tenant ${tenant.name}`, url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    patchFormat: ['application/json-patch+json'],
    rest: [{
      mode: 'server',
      security: {
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'authorize', valueUri: uris.authorize },
            { url: 'token', valueUri: uris.token },
            { url: 'revoke', valueUri: uris.revoke },
            { url: 'manage', valueUri: uris.manage },
          ],
        }],
        cors: true,
        service: [{
          coding: [{
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
            display: 'SMART-on-FHIR',
          }],
          text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
        }],
      },
      resource: [
        // plain: a subset of R4 Appointment's search parameters (Appointment#search), as a server lists what it supports.
        resource('Appointment', tenant.profile === 'plain'
          ? [['_id', 'token'], ['date', 'date'], ['patient', 'reference'], ['practitioner', 'reference'], ['actor', 'reference'],
            ['location', 'reference'], ['status', 'token'], ['_count', 'number']]
          : [['_id', 'token'], ['date', 'date'], ['-date-or-req-period', 'date'], ['patient', 'reference'],
            ['practitioner', 'reference'], ['location', 'reference'], ['status', 'token'], ['_count', 'number']]),
        resource('Location', [['_id', 'token']]),
        resource('Encounter', [['_id', 'token'], ['patient', 'reference']]),
        resource('Patient', [['_id', 'token'], ['identifier', 'token'], ['name', 'string']]),
        resource('Practitioner', [['_id', 'token'], ['identifier', 'token'], ['name', 'string']]),
      ],
    }],
  };
  return tenant.tweakCapability ? tenant.tweakCapability(doc) : doc;
}
