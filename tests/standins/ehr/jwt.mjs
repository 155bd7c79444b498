// Compact JWS (JWT) signing and verification with node:crypto only.

import { createHash, createPublicKey, generateKeyPair, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';

const HASHES = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };
// JWS carries ECDSA signatures as r||s, not DER.
const keyFor = (alg, key) => (alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key);

export const b64url = (data) => Buffer.from(data).toString('base64url');
const b64urlJson = (value) => b64url(JSON.stringify(value));

export function signJwt(header, payload, privateKey) {
  const hash = HASHES[header.alg];
  if (!hash) throw new Error(`unsupported alg ${header.alg}`);
  const input = `${b64urlJson(header)}.${b64urlJson(payload)}`;
  return `${input}.${b64url(sign(hash, Buffer.from(input), keyFor(header.alg, privateKey)))}`;
}

/** Splits and parses a compact JWT without checking anything. Throws on malformed input. */
export function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw new Error('not a compact JWS');
  const parse = (p) => {
    const value = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('JWT part is not a JSON object');
    return value;
  };
  return {
    header: parse(parts[0]),
    payload: parse(parts[1]),
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/** Whether `decoded` (from decodeJwt) is signed by the public JWK `jwk` with the header's alg. */
export function verifyJwtSignature(decoded, jwk) {
  const alg = decoded.header.alg;
  const hash = HASHES[alg];
  if (!hash) return false;
  if (alg.startsWith('RS') && jwk.kty !== 'RSA') return false;
  if (alg.startsWith('ES') && (jwk.kty !== 'EC' || jwk.crv !== { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg])) return false;
  try {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    return verify(hash, Buffer.from(decoded.signingInput), keyFor(alg, key), decoded.signature);
  } catch {
    return false; // unusable JWK or wrong-length signature
  }
}

/** RFC 7638 §3.2 thumbprint of a public JWK: its required members (by kty), sorted, no spaces. */
export function thumbprint(jwk) {
  const required = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

/** Flips bits in the signature so it no longer verifies (the `bad_signature` scenario). */
export function corruptSignature(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  for (let i = 0; i < 8 && i < sig.length; i++) sig[sig.length - 1 - i] ^= 0x5a;
  return `${h}.${p}.${b64url(sig)}`;
}

// The sandbox's signing keys. Generated once per process (RSA generation is slow) and shared by
// every sandbox instance in it: `main` is published with a kid at /jwk, `single` without at /jwk/single.
// Beside `main`, /jwk publishes one key for each other algorithm an OpenID provider may sign
// id_tokens with, each with its own kid and `alg`. OpenID Connect Discovery 1.0 §3
// (id_token_signing_alg_values_supported: RS256 MUST be supported, others MAY) and OpenID Connect
// Core 1.0 §10.1 (a JWK Set with several keys names the one used by `kid` in the JOSE header) allow
// it; SMART App Launch 2.2 takes its id_token from OpenID Connect. Oracle Health signs RS256 (its
// /jwk publishes RS256 keys), which stays the default; the others stand for other SMART EHRs and
// are used only when a launch's scenario asks (id_token_alg).
let keysPromise;
export function sandboxKeys() {
  keysPromise ??= (async () => {
    const gen = promisify(generateKeyPair);
    const [main, single, rs384, es256, es384] = await Promise.all([
      gen('rsa', { modulusLength: 2048 }),
      gen('rsa', { modulusLength: 2048 }),
      gen('rsa', { modulusLength: 2048 }),
      gen('ec', { namedCurve: 'P-256' }),
      gen('ec', { namedCurve: 'P-384' }),
    ]);
    const publicJwk = ({ publicKey }) => {
      const { kty, n, e } = publicKey.export({ format: 'jwk' });
      return { kty, n, e };
    };
    const ecJwk = ({ publicKey }) => {
      const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
      return { kty, crv, x, y };
    };
    const withKid = (pair, jwk, alg) => {
      const kid = thumbprint(jwk);
      return { privateKey: pair.privateKey, kid, jwk: { ...jwk, kid, alg, use: 'sig' } };
    };
    return {
      main: withKid(main, publicJwk(main), 'RS256'),
      single: { privateKey: single.privateKey, kid: undefined, jwk: { ...publicJwk(single), alg: 'RS256', use: 'sig' } },
      RS384: withKid(rs384, publicJwk(rs384), 'RS384'),
      ES256: withKid(es256, ecJwk(es256), 'ES256'),
      ES384: withKid(es384, ecJwk(es384), 'ES384'),
    };
  })();
  return keysPromise;
}
