// Server plumbing shared by the stand-ins (ehr-sandbox.mjs, sms.mjs, video.mjs): listen, close, CLI.
// Replies stay in each stand-in; they differ on purpose. sms.mjs and video.mjs share their routing
// and request log through lib/routing.mjs; ehr-sandbox.mjs keeps its own.

import { setMaxListeners } from 'node:events';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/**
 * Start an HTTP server; resolves once listening.
 * `onRequest(req, res, { origin, signal })` is called per request; `signal` aborts when the client
 * disconnects or the server closes, so pending waits (delays, slow tenants) end with it.
 * @returns {Promise<{url: string, close: () => Promise<void>}>} close() is idempotent.
 */
export async function startServer({ port, host, onRequest }) {
  const closing = new AbortController();
  setMaxListeners(0, closing.signal); // one listener per in-flight request
  let origin = ''; // known once listening

  const server = createServer((req, res) => {
    const request = new AbortController();
    const abort = () => request.abort(new Error('request abandoned'));
    res.on('close', abort);
    closing.signal.addEventListener('abort', abort, { once: true });
    // Not awaited by anyone: onRequest answers every error itself.
    (async () => {
      try {
        await onRequest(req, res, { origin, signal: request.signal });
      } finally {
        res.off('close', abort);
        closing.signal.removeEventListener('abort', abort);
      }
    })();
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address();
  // A wildcard listen address is not something a client can dial; advertise loopback instead.
  const publicHost = ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1'
    : host.includes(':') ? `[${host}]` : host;
  origin = `http://${publicHost}:${address.port}`;

  let closed;
  function close() {
    closed ??= new Promise((resolve) => {
      closing.abort(new Error('server closing'));
      server.close(() => resolve());
      // Keep-alive and in-flight (slow, delayed) connections would otherwise hold close() open.
      server.closeAllConnections();
    });
    return closed;
  }

  return { url: origin, close };
}

/** A CLI flag that must be a non-negative integer. */
export function toInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

// True when the module at `moduleUrl` is the script node was started with (not an import).
function isMain(moduleUrl) {
  if (!process.argv[1]) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

/**
 * When `moduleUrl` is the script node was started with: `await start()` (parse flags, start the
 * stand-in), print exactly one line `READY <url>` (callers wait for it), and exit 0 on SIGINT /
 * SIGTERM once closed. Errors print `<name>: <message>` and exit 1.
 */
export async function runIfMain(moduleUrl, name, start) {
  if (!isMain(moduleUrl)) return;
  try {
    const standIn = await start();
    process.stdout.write(`READY ${standIn.url}\n`);
    const stop = () => standIn.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
}
