// Helpers shared by the stand-ins' self-tests (*.selftest.mjs).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/**
 * Run a stand-in's CLI (`node <script> ...args`) and wait for its READY line, asserting that it
 * is `READY http://127.0.0.1:<port>` with a real port. Resolves with { url, stop }; stop() sends
 * SIGTERM and asserts a clean exit (code 0) with nothing on stdout but the READY line, which is
 * what scripts that start the stand-ins rely on.
 */
export async function startCli(scriptUrl, args) {
  const child = spawn(process.execPath, [fileURLToPath(scriptUrl), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`exited early: ${code}`)));
  });
  const m = /^READY (http:\/\/127\.0\.0\.1:(\d+))$/.exec(ready);
  assert.ok(m, ready);
  assert.ok(Number(m[2]) > 0);

  async function stop() {
    child.kill('SIGTERM');
    const [code, signal] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.equal(signal, null);
    assert.equal(out, `${ready}\n`, 'exactly one line on stdout');
  }
  return { url: m[1], stop };
}
