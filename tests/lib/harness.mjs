// Starts the real gateway (wrangler dev → workerd, local KV / Durable
// Objects) on free ports with a fresh state directory, plus the stand-ins,
// and stops all of it again, also when a test fails.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, mkdirSync, readdirSync, readFileSync, existsSync, cpSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEhrSandbox } from '../standins/ehr-sandbox.mjs';
import { startVideoStandIn, DEFAULT_APP } from '../standins/video.mjs';
import { startOidcStandIn, gatewaySigninConfig, DEFAULT_CLIENT } from '../standins/oidc.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForHealth(url, timeoutMs = 60_000, alive = () => true) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('the gateway process exited before it became ready');
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`gateway at ${url} not ready after ${timeoutMs} ms (${last})`);
}

/** fetch wrapper for the admin API: JSON in, `{status, headers, body}` out. */
export function apiClient(base, token) {
  return async (method, path, body, headers = {}) => {
    const h = { ...headers };
    if (token && !('authorization' in h)) h.authorization = `Bearer ${token}`;
    if (h.authorization === null) delete h.authorization;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!('content-type' in h)) h['content-type'] = 'application/json';
    }
    const r = await fetch(`${base}${path}`, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await r.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
    return { status: r.status, headers: r.headers, body: parsed, text };
  };
}

const running = new Set();
process.on('exit', () => { for (const p of running) killGroup(p); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function killGroup(child, signal = 'SIGTERM') {
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

/** The gateway's own secrets for a local run: fresh each time. */
export function gatewaySecrets() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return {
    LAUNCH_COOKIE_KEY: randomBytes(32).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('hex'),
    APPOINTMENT_REF_KEY: randomBytes(32).toString('hex'),
    CLIENT_ASSERTION_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    VIDEO_CLIENT_SECRET: DEFAULT_APP.clientSecret,
  };
}

/**
 * Starts gateway + EHR sandbox + video stand-in. Returns helpers and `stop()`.
 * `vars` adds Worker variables/secrets (e.g. EHR client secrets).
 * The gateway runs on a built bundle (VISITGATE_SKIP_BUILD=1): `make test`
 * builds once before the suites run.
 */
/**
 * A local state directory with the D1 migrations applied (`wrangler d1
 * migrations apply --local`), made once per migration set and copied for
 * each stack, so every gateway starts with the reports schema.
 */
export function migratedState(tmpRoot) {
  const dir = join(ROOT, 'migrations');
  const files = readdirSync(dir).filter(f => f.endsWith('.sql')).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(dir, f)));
  const template = join(tmpRoot, `d1-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(template)) {
    const building = mkdtempSync(join(tmpRoot, 'd1-building-'));
    execFileSync(join(ROOT, 'node_modules', '.bin', 'wrangler'), ['d1', 'migrations', 'apply', 'visitgate-reports', '--local', '--persist-to', building],
      { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' } });
    try { renameSync(building, template); } catch { rmSync(building, { recursive: true, force: true }); }
  }
  return template;
}

/**
 * `tenantSecrets` is `TENANT_SECRETS`: which Worker secrets each tenant may
 * use. By default every tenant gets the video stand-in's secret and the
 * `vars` given (a one-organisation deployment); suites about tenant
 * boundaries name tenants.
 */
export async function startStack({ sandboxSlowMs = 8000, vars = {}, delayMs = 0, tenantSecrets } = {}) {
  const tmpRoot = join(ROOT, 'tests', '.tmp');
  mkdirSync(tmpRoot, { recursive: true });
  const dir = mkdtempSync(join(tmpRoot, 'run-'));
  cpSync(migratedState(tmpRoot), join(dir, 'state'), { recursive: true });
  const adminToken = randomBytes(32).toString('base64url');
  const sha = createHash('sha256').update(adminToken).digest('hex');
  const sandbox = await startEhrSandbox({ port: 0, slowMs: sandboxSlowMs, delayMs });
  const video = await startVideoStandIn({ port: 0, delayMs });
  const port = await freePort();
  sandbox.setGatewayUrl(`http://127.0.0.1:${port}`);
  // Admins sign in through an Entra-shaped OpenID provider.
  const oidc = await startOidcStandIn({ port: 0, redirectUris: [`http://127.0.0.1:${port}/admin/callback`] });
  const allVars = {
    DEV_MODE: 'true', ADMIN_TOKEN_SHA256: sha, PUBLIC_ORIGIN: `http://127.0.0.1:${port}`, ...gatewaySecrets(),
    ADMIN_OIDC: gatewaySigninConfig(oidc.issuer), ADMIN_OIDC_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret, ...vars,
    TENANT_SECRETS: JSON.stringify(tenantSecrets ?? { '*': ['VIDEO_CLIENT_SECRET', ...Object.keys(vars).filter(k => /^[A-Z][A-Z0-9_]+$/.test(k))] }),
  };
  const inspector = await freePort();
  const args = [
    'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', join(dir, 'state'), '--show-interactive-dev-session=false', '--log-level', 'warn',
    // Lets tests run the Cron Trigger on demand: GET /__scheduled.
    '--test-scheduled',
    ...Object.entries(allVars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: ROOT,
    detached: true, // own process group: stop() takes workerd down with it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      VISITGATE_SKIP_BUILD: '1',
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      NO_COLOR: '1',
    },
  });
  running.add(child);
  let output = '';
  let exited = false;
  child.stdout.on('data', d => { output += d; });
  child.stderr.on('data', d => { output += d; });
  child.on('exit', () => { exited = true; running.delete(child); });
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    await sandbox.close();
    await video.close();
    await oidc.close();
    if (!exited) {
      const gone = new Promise(r => child.once('exit', r));
      killGroup(child);
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
    // A panic in the Worker is a bug even when every response looked fine.
    const panic = output.match(/.*(panicked at|RuntimeError: unreachable|Uncaught \(in promise\)).*/);
    if (panic) throw new Error(`the Worker panicked during this suite: ${panic[0]}`);
  };

  try {
    await waitForHealth(url, 90_000, () => !exited);
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n--- wrangler output ---\n${output}`);
  }
  return {
    url,
    adminToken,
    sandbox,
    video,
    oidc,
    vars: allVars,
    stateDir: join(dir, 'state'),
    api: apiClient(url, adminToken),
    logs: () => output,
    stop,
  };
}

/** Mints an API token for a role via the platform token. */
export async function mintToken(stack, role, tenantId) {
  const r = await stack.api('POST', '/api/v1/tokens', { label: `test-${role}-${tenantId ?? 'all'}`, role, ...(tenantId ? { tenant_id: tenantId } : {}) });
  if (r.status !== 201) throw new Error(`minting a token failed: ${r.status} ${r.text}`);
  return r.body.token;
}
