// The privacy rule, checked: none of the EHR sandbox's patient values
// (names, phone numbers, birth dates, addresses…) may appear anywhere the
// gateway keeps state (KV, Durable Objects, D1 under the state directory)
// or in its log.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SENSITIVE_VALUES } from '../standins/ehr-sandbox.mjs';

function files(dir) {
  const out = [];
  const walk = d => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      try {
        if (statSync(p).isDirectory()) walk(p); else out.push(p);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e; // SQLite's -shm/-wal files come and go
      }
    }
  };
  walk(dir);
  return out;
}

/** None of `values` (e.g. a secret's plain text) anywhere the gateway keeps state or in its log. */
export function assertNotStored(stack, values) {
  const blobs = [['wrangler log', stack.logs()]];
  for (const f of files(stack.stateDir)) {
    try {
      blobs.push([f, readFileSync(f).toString('latin1')]);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
  assert.ok(blobs.length > 3, 'state was written');
  for (const value of values) {
    for (const [name, text] of blobs) assert.ok(!text.includes(value), `${JSON.stringify(value)} found in ${name}`);
  }
}

export function assertNoPatientData(stack) {
  assertNotStored(stack, SENSITIVE_VALUES);
}
