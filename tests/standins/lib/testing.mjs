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

/**
 * fetch `url`, sending `body` as JSON if given. Resolves {status, headers, text, body}: body is the
 * answer parsed as JSON, or undefined when it is not JSON.
 */
export async function fetchJson(url, { method = 'GET', body, headers = {}, signal } = {}) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Poll `check` (sync or async) every 10 ms until it returns something truthy; resolves that. */
export async function until(check, ms = 2000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
