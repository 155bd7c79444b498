// `make bench`: figures, not pass/fail. Builds are done by scripts/bench.sh
// (release); this starts what it needs on loopback, measures, stops it all,
// prints a table and writes it as JSON (target/bench/latest.json and
// target/bench/<commit>.json) for comparison between commits.
//
//   1. size: gateway wasm (raw, gzip), `wrangler deploy --dry-run`; portal first load (gzip, brotli)
//   2. patient link at the edge: wrk on /j/<code> and /healthz, 1 and 10 connections
//   3. launch critical path with a fixed delay per stand-in request: GET /launch → the redirect
//      out of the callback, ≥ 50 first launches of new appointments; sequential upstream trips
//   4. the same launches by the reference SMART client (fhirclient, npm), same stand-ins
//   5. CPU of the hot paths natively (criterion)
//   6. report queries over 100,000 events in local D1 (scripts/bench-reports.mjs)
//   7. one RS256 id_token check inside workerd (WebCrypto), beside the pure-Rust figure of 5
//   9. startup: V8 compiling the gateway's wasm, beside the minimal Rust Worker's (tests/minimal-worker)
//  11. the portal in Chromium: its static HTML parsed, then the tenants page usable (signed in)
//  10. cost per 1,000 visits at Cloudflare's published rates (scripts/cost.mjs)
//   8. mixed load: BENCH_MIX_CONNS (50) connections for BENCH_MIX_SECONDS (60) over what a clinic's
//      day sends (patient pages, lobby polls, provider pages, the lobby script, health checks)
//
// Options (environment): BENCH_DELAY_MS (50), BENCH_LAUNCHES (50), BENCH_WRK_SECONDS (10),
// BENCH_SKIP (comma list of: wrk, launch, reference, criterion, reports, idtoken, mixed, portal).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { ROOT } from '../tests/lib/harness.mjs';
import { startLaunchStack, post } from '../tests/lib/launch.mjs';
import { HttpBrowser } from '../tests/lib/http-browser.mjs';
import { costRows, RATES } from './cost.mjs';
import { launchBrowser } from '../tests/lib/browser.mjs';
const { referenceLaunches } = await import('../tests/reference-client/run.mjs');

const DELAY = Number(process.env.BENCH_DELAY_MS ?? 50);
const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 50);
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const rows = []; // {group, name, value, unit, note}
let gatewayP50 = null; // the gateway's launch p50, for the ratio to the reference client
const add = (group, name, value, unit, note = '') => { rows.push({ group, name, value, unit, note }); };
const kib = (n) => Math.round((n / 1024) * 10) / 10;
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const log = (...a) => process.stderr.write(`bench: ${a.join(' ')}\n`);

// 1. Size -------------------------------------------------------------------------------------
{
  const wasm = readFileSync(join(ROOT, 'gateway', 'build', 'index_bg.wasm'));
  add('size', 'gateway wasm', kib(wasm.length), 'KiB raw');
  add('size', 'gateway wasm gzip', kib(gz(wasm)), 'KiB', 'budget 450');
  const out = mkdtempSync(join(tmpdir(), 'vg-deploy-'));
  const dry = spawnSync(join(ROOT, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', out], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, VISITGATE_SKIP_BUILD: '1', CI: '1', WRANGLER_SEND_METRICS: 'false' },
  });
  const m = `${dry.stdout}${dry.stderr}`.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  if (m) {
    add('size', 'wrangler deploy --dry-run upload', Number(m[1]), 'KiB');
    add('size', 'wrangler deploy --dry-run gzip', Number(m[2]), 'KiB', 'what Cloudflare counts');
  } else {
    log('wrangler deploy --dry-run printed no size:', (dry.stderr || dry.stdout).slice(-400));
  }
  rmSync(out, { recursive: true, force: true });
  const dist = join(ROOT, 'portal', 'dist', 'admin');
  const files = ['portal_bg.wasm', 'portal.js', 'boot.js', 'style.css'].map((f) => readFileSync(join(dist, f)));
  const sum = (f) => files.reduce((a, b) => a + f(b), 0);
  add('size', 'portal first load', kib(sum((b) => b.length)), 'KiB raw', 'wasm + js + css');
  add('size', 'portal first load gzip', kib(sum(gz)), 'KiB');
  add('size', 'portal first load brotli', kib(sum(br)), 'KiB', 'budget 150');
}

// 9. Startup ---------------------------------------------------------------------------------------
// A new isolate compiles the Worker's wasm before its first request (workerd and Node share V8);
// the time grows with the size. Compared with the smallest Rust Worker on the same crate and tools.
{
  const minimal = join(ROOT, 'tests', 'minimal-worker', 'build', 'index_bg.wasm');
  const compile = async (bytes, n = 25) => {
    const ms = [];
    for (let i = 0; i < n; i++) { const t0 = performance.now(); await WebAssembly.compile(bytes); ms.push(performance.now() - t0); }
    return pct(ms, 50);
  };
  const gw = readFileSync(join(ROOT, 'gateway', 'build', 'index_bg.wasm'));
  const g = await compile(gw);
  add('startup (V8 wasm compile, Node)', 'gateway', round(g, 2), 'ms', `${kib(gz(gw))} KiB gzip, median of 25`);
  if (existsSync(minimal)) {
    const mb = readFileSync(minimal);
    const m = await compile(mb);
    add('startup (V8 wasm compile, Node)', 'minimal Rust Worker', round(m, 2), 'ms', `${kib(gz(mb))} KiB gzip`);
    add('startup (V8 wasm compile, Node)', 'gateway above the minimal Worker', round(g - m, 2), 'ms');
  } else {
    log('no minimal Worker build (scripts/bench.sh builds it)');
  }
}

// 5. CPU of the hot paths (criterion) ---------------------------------------------------------
if (!SKIP.has('criterion')) {
  log('criterion (native)…');
  const r = spawnSync('cargo', ['bench', '-p', 'gateway', '--bench', 'hot_paths', '--', '--warm-up-time', '1', '--measurement-time', '3'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  const toNs = (v, u) => Number(v) * { ps: 1e-3, ns: 1, 'µs': 1e3, us: 1e3, ms: 1e6, s: 1e9 }[u];
  for (const m of `${r.stdout}`.matchAll(/^(\w+)\s+time:\s+\[\S+ \S+ ([\d.]+) (\S+) \S+ \S+\]/gm)) {
    add('cpu (native, criterion)', m[1], round(toNs(m[2], m[3]), 0), 'ns/op');
  }
  if (r.status !== 0) log('cargo bench failed:', r.stderr.slice(-600));
}

// 2–4. One stack with the stand-ins delaying each request by DELAY ms --------------------------
if (!['wrk', 'launch', 'reference', 'idtoken', 'mixed', 'portal'].every((k) => SKIP.has(k))) {
  log(`starting the gateway and stand-ins (delay ${DELAY} ms per stand-in request)…`);
  const ctx = await startLaunchStack({ delayMs: DELAY, vars: { BENCH_ROUTES: '1' } });
  const { stack, sb } = ctx;
  try {
    // A warm launch first: discovery and the JWKS are cached from here on.
    const warm = await ctx.launch('good');
    if (warm.status !== 200) throw new Error(`warm-up launch failed: ${warm.status} ${warm.text.slice(0, 300)}`);
    const code = warm.text.match(/\/j\/([A-Za-z0-9_-]{12})/)?.[1];

    if (!SKIP.has('launch')) {
      log(`${LAUNCHES} first launches of new appointments…`);
      const totals = [];
      const callbacks = [];
      let trips = null;
      for (let i = 0; i < LAUNCHES; i++) {
        const start = new Date(Date.now() + (i + 1) * 3600_000).toISOString();
        const appt = await post(`${sb}/_sandbox/appointments`, { tenant: 'good', start, minutes: 20 });
        const l = await ctx.newLaunch('good', { appointment: appt.id });
        await fetch(`${sb}/_sandbox/requests`, { method: 'DELETE' });
        const browser = new HttpBrowser();
        const t0 = performance.now();
        // Follow like a browser up to the callback's redirect out (into the provider page or the meeting).
        const r = await browser.get(ctx.launchUrl(l), { until: (u) => /\/visit\//.test(u) });
        const total = performance.now() - t0;
        if (!r.pending) throw new Error(`launch ${i} did not finish: ${r.status} ${r.text?.slice(0, 200)}`);
        totals.push(total);
        callbacks.push(r.hops.find((h) => h.url.includes('/launch/callback')).ms);
        if (i === LAUNCHES - 1) {
          const ehr = (await (await fetch(`${sb}/_sandbox/requests`)).json()).filter((x) => !/authorize/.test(x.path));
          const video = (await (await fetch(`${stack.video.url}/_video/requests`)).json()).filter((x) => x.start_ms >= Math.min(...ehr.map((e) => e.start_ms)));
          trips = sequentialTrips([...ehr, ...video]);
        }
      }
      const floor = 3 * DELAY;
      add('launch (gateway)', 'GET /launch → redirect out, p50', round(pct(totals, 50)), 'ms', `${LAUNCHES} first launches, ${DELAY} ms per upstream request`);
      add('launch (gateway)', 'GET /launch → redirect out, p95', round(pct(totals, 95)), 'ms');
      add('launch (gateway)', 'callback hop alone, p50', round(pct(callbacks, 50)), 'ms', 'token, reads, meeting');
      add('launch (gateway)', 'callback hop above its 3 × delay, p50', round(pct(callbacks, 50) - 3 * DELAY), 'ms', 'the gateway and local runtime');
      add('launch (gateway)', 'sequential upstream round trips', trips.count, '', trips.detail);
      add('launch (gateway)', 'floor (3 × delay + 2 browser hops with 1 delay)', floor + DELAY, 'ms', 'authorize hop carries one delay');
      add('launch (gateway)', 'overhead above the floor, p50', round(pct(totals, 50) - floor - DELAY), 'ms');
      add('launch (gateway)', 'overhead above the floor, p95', round(pct(totals, 95) - floor - DELAY), 'ms');
      gatewayP50 = pct(totals, 50);
    }

    if (!SKIP.has('reference')) {
      log(`${LAUNCHES} launches by the reference client (fhirclient)…`);
      const ref = await referenceLaunches({ sandbox: sb, launches: LAUNCHES, newLaunch: ctx.newLaunch, book: (start) => post(`${sb}/_sandbox/appointments`, { tenant: 'good', start, minutes: 20 }), sequentialTrips });
      add('launch (reference fhirclient)', 'launch → appointment read, p50', round(pct(ref.totals, 50)), 'ms', 'same stand-ins, same delay; no meeting');
      add('launch (reference fhirclient)', 'launch → appointment read, p95', round(pct(ref.totals, 95)), 'ms');
      add('launch (reference fhirclient)', 'sequential upstream round trips', ref.trips.count, '', ref.trips.detail);
      add('launch (reference fhirclient)', 'overhead above its floor, p50', round(pct(ref.totals, 50) - (ref.trips.count + 1) * DELAY), 'ms', 'floor: its trips + the authorize hop');
      if (gatewayP50) add('launch (ratio)', 'gateway p50 / reference p50', round(gatewayP50 / pct(ref.totals, 50), 2), '×', 'the gateway also makes the meeting');
    }

    if (!SKIP.has('wrk') && code) {
      for (const path of ['/healthz', `/j/${code}`]) {
        for (const c of [1, 10]) {
          log(`wrk ${path} -c${c} ${WRK_SECONDS}s…`);
          const w = wrk(`${stack.url}${path}`, c);
          const name = path === '/healthz' ? '/healthz' : '/j/<code>';
          add(`edge (wrk, ${c} conn)`, `${name} requests/s`, w.rps, 'req/s', w.non2xx ? `${w.non2xx} non-2xx` : '');
          add(`edge (wrk, ${c} conn)`, `${name} p50`, w.p50, 'ms');
          add(`edge (wrk, ${c} conn)`, `${name} p99`, w.p99, 'ms');
        }
      }
      for (const c of [1, 10]) {
        const g = rows.find((r) => r.group === `edge (wrk, ${c} conn)` && r.name === '/healthz requests/s').value;
        const j = rows.find((r) => r.group === `edge (wrk, ${c} conn)` && r.name === '/j/<code> requests/s').value;
        add(`edge (wrk, ${c} conn)`, '/j/<code> throughput as a share of /healthz', round(j / g, 2), '×', 'runtime and proxy overhead cancel out');
      }
    }

    if (!SKIP.has('idtoken')) {
      log('id_token checks inside workerd…');
      const us = await idTokenInWorker(`${stack.url}/_bench/id_token`);
      add('cpu (in workerd)', 'validate_id_token_rs256 (WebCrypto)', round(us.per, 1), 'µs/op', `(${us.n} checks − 1 check) / ${us.n - 1}, median of ${us.rounds} rounds`);
      const native = rows.find((r) => r.name === 'validate_id_token_rs256_pure_rust');
      if (native) add('cpu (in workerd)', 'share of the pure-Rust check (native)', round((us.per * 1000) / native.value, 2), '×', 'below 1: faster in the Worker than pure Rust natively');
    }

    if (!SKIP.has('portal')) {
      log('the portal in Chromium…');
      try {
        const p = await portalTimes(stack);
        const g = 'portal in Chromium (signed in, 10 fresh loads)';
        add(g, 'static HTML parsed (DOMContentLoaded), p50', round(pct(p.html, 50)), 'ms', 'index.html and its boot script, no wasm yet');
        add(g, 'tenants page usable, p50', round(pct(p.usable, 50)), 'ms', 'the tenants table has its first row');
        add(g, 'tenants page usable, p95', round(pct(p.usable, 95)), 'ms');
      } catch (e) {
        log('portal timing failed:', e.message);
      }
    }

    if (!SKIP.has('mixed')) {
      const seconds = Number(process.env.BENCH_MIX_SECONDS ?? 60);
      const conns = Number(process.env.BENCH_MIX_CONNS ?? 50);
      log(`mixed load: ${conns} connections for ${seconds} s…`);
      const m = await mixedLoad(ctx, seconds, conns);
      const g = `mixed load (${conns} conn, ${seconds} s)`;
      add(g, 'requests', m.total, '', `${round(m.total / seconds, 0)} req/s overall`);
      add(g, 'errors (non-2xx or failed)', m.errors, '', m.errors ? m.firstError : 'none');
      for (const [kind, xs] of Object.entries(m.byKind)) {
        add(g, `${kind} p50 / p95 / p99`, `${round(pct(xs, 50))} / ${round(pct(xs, 95))} / ${round(pct(xs, 99))}`, 'ms', `${xs.length} requests`);
      }
    }
  } finally {
    await ctx.stack.stop();
  }
}

// 6. Reports ----------------------------------------------------------------------------------
if (!SKIP.has('reports')) {
  log('report queries over 100,000 events (local D1)…');
  const out = join(mkdtempSync(join(tmpdir(), 'vg-rep-')), 'r.json');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bench-reports.mjs'), '--json', out], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    const g = `reports (D1, ${j.events} events)`;
    add(g, 'loaded in', round(j.load_s), 's', `${j.visits} visits`);
    for (const [k, what] of [['summary_30d_ms', 'summary, 30 days'], ['visits_7d_ms', 'visits table, 7 days'], ['healthz_ms', '/healthz, same run']]) {
      add(g, `${what} p50`, round(j[k].p50), 'ms');
      add(g, `${what} p95`, round(j[k].p95), 'ms');
    }
    add(g, 'query plans', j.plans.visits.includes('USING INDEX') && j.plans.events.includes('USING INDEX') ? 'indexed' : 'SCAN', '', `${j.plans.visits}; ${j.plans.events}`);
  } else {
    log('bench-reports failed:', (r.stderr || r.stdout).slice(-600));
  }
}

/**
 * One RS256 (2048-bit) id_token check inside the Worker: the gateway's bench route checks a posted
 * token n times; the time of n checks less the time of one, over n − 1, is one check without the
 * HTTP round trip. The Worker cannot time itself (its clock stands still while it computes).
 */
async function idTokenInWorker(url, n = 400, rounds = 15) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };
  const now = Math.floor(Date.now() / 1000);
  const part = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = { iss: 'https://ehr.example/t1', sub: 'p1', aud: 'client-1', exp: now + 3600, iat: now, nonce: 'n-1', fhirUser: 'https://ehr.example/t1/Practitioner/1' };
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: 'bench' })}.${part(claims)}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  const once = async (count) => {
    const body = JSON.stringify({ token, jwks: { keys: [jwk] }, issuer: claims.iss, client_id: 'client-1', nonce: 'n-1', now, n: count });
    const t0 = performance.now();
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`bench route: ${r.status} ${text.slice(0, 200)}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) await once(n); // imports the key, warms the isolate
  const one = [], many = [];
  for (let i = 0; i < rounds; i++) { one.push(await once(1)); many.push(await once(n)); }
  return { per: ((pct(many, 50) - pct(one, 50)) / (n - 1)) * 1000, n, rounds };
}

/**
 * Many clients at once against a few live visits: each connection loops over requests picked by
 * weight, for the whole run. Weights follow one visit's traffic: a patient opens the page, then
 * the lobby polls its status; the clinician's page is opened now and then; monitors check health.
 */
async function mixedLoad(ctx, seconds, conns) {
  const visits = [];
  for (let i = 0; i < 5; i++) {
    const start = new Date(Date.now() + (i + 2) * 3600_000).toISOString();
    const appt = await post(`${ctx.sb}/_sandbox/appointments`, { tenant: 'good', start, minutes: 20 });
    const res = await ctx.launch('good', { appointment: appt.id });
    const code = res.text.match(/\/j\/([A-Za-z0-9_-]{12})/)?.[1];
    if (res.status !== 200 || !code) throw new Error(`mixed load: launch ${i} failed: ${res.status}`);
    visits.push({ code, page: res.url, cookie: res.browser.cookieHeader(res.url) });
  }
  const base = ctx.stack.url;
  const kinds = [
    ['patient page', 30, (v) => [`${base}/j/${v.code}`, {}]],
    ['lobby status poll', 45, (v) => [`${base}/j/${v.code}/status`, {}]],
    ['provider page', 10, (v) => [v.page, { cookie: v.cookie }]],
    ['lobby script', 10, () => [`${base}/j/lobby.js`, {}]],
    ['health check', 5, () => [`${base}/healthz`, {}]],
  ];
  const weight = kinds.reduce((a, k) => a + k[1], 0);
  const pick = () => { let r = Math.random() * weight; for (const k of kinds) { if ((r -= k[1]) < 0) return k; } return kinds[0]; };
  const byKind = Object.fromEntries(kinds.map((k) => [k[0], []]));
  let total = 0, errors = 0, firstError = '';
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: conns }, async (_, c) => {
    // Each request from another address: many patients, each far below the per-address link limit.
    for (let i = 0; performance.now() < until; i++) {
      const [kind, , target] = pick();
      const [url, headers] = target(visits[(c + total) % visits.length]);
      const t0 = performance.now();
      try {
        const r = await fetch(url, { headers: { 'accept-language': 'en', 'cf-connecting-ip': `10.${c}.${i & 255}.${(i >> 8) & 255}`, ...headers } });
        await r.arrayBuffer();
        if (r.status < 200 || r.status > 299) { errors++; firstError ||= `${kind}: ${r.status}`; }
      } catch (e) {
        errors++; firstError ||= `${kind}: ${e.message}`;
      }
      byKind[kind].push(performance.now() - t0);
      total++;
    }
  }));
  return { total, errors, firstError, byKind };
}

/**
 * Time to a usable tenants page: a one-time sign-in link, then /admin/ in a fresh browser context
 * (nothing cached), timed from the navigation's start to the first row of the tenants table.
 */
async function portalTimes(stack, loads = 10) {
  const browser = await launchBrowser();
  const html = [], usable = [];
  try {
    for (let i = 0; i < loads; i++) {
      const link = await stack.api('POST', '/api/v1/login-links', { subject: 'bench@example.org', role: 'platform_admin' });
      if (link.status !== 201) throw new Error(`login link: ${link.status}`);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(link.body.url);
      await page.getByRole('table', { name: /tenants/i }).getByRole('rowheader').first().waitFor();
      const t = await page.evaluate(() => ({ now: performance.now(), dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd }));
      html.push(t.dcl);
      usable.push(t.now);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return { html, usable };
}

/** Merges overlapping request intervals: how many happened one after another. */
function sequentialTrips(reqs) {
  // "GET Appointment", "POST token": the method and the last path segment that is not an id.
  const label = (r) => `${r.method} ${r.path.split('?')[0].split('/').filter((x) => x && !/^[\d-]+$|^[0-9a-f-]{20,}$/.test(x)).at(-1)}`;
  const iv = reqs.filter((r) => r.end_ms != null).map((r) => [r.start_ms, r.end_ms, label(r)]).sort((a, b) => a[0] - b[0]);
  const waves = [];
  for (const [s, e, what] of iv) {
    const last = waves.at(-1);
    if (last && s < last.end) { last.end = Math.max(last.end, e); last.what.push(what); } else waves.push({ end: e, what: [what] });
  }
  return { count: waves.length, detail: waves.map((w) => w.what.join(' ∥ ')).join(' → ') };
}

function wrk(url, connections) {
  const script = join(ROOT, 'scripts', 'bench-wrk.lua');
  const out = execFileSync('wrk', ['-t', String(Math.min(connections, 2)), '-c', String(connections), '-d', `${WRK_SECONDS}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
  const ms = (v, u) => Number(v) * { us: 1e-3, ms: 1, s: 1000 }[u];
  const lat = (p) => { const m = out.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm')); return m ? round(ms(m[1], m[2]), 2) : null; };
  return {
    rps: round(Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]), 0),
    p50: lat(50), p99: lat(99),
    non2xx: Number(out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0),
  };
}

// 10. Cost per 1,000 visits (scripts/cost.mjs: operations counted from the code path, published rates)
for (const [what, one, perK, rate, usd] of costRows()) {
  const r = (x) => (typeof x === 'number' ? round(x, 3) : x);
  add(`cost per 1,000 visits (rates read ${RATES.read})`, what, round(usd, 4), 'USD', one === '' ? 'at the margin: monthly inclusions left out' : `${r(one)}/visit, ${r(perK)} per 1,000, ${rate}`);
}

// Table + JSON --------------------------------------------------------------------------------
const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();
const machine = `${cpus().length} × ${cpus()[0]?.model?.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
const w = [Math.max(...rows.map((r) => r.group.length)), Math.max(...rows.map((r) => r.name.length)), 10];
let last = '';
console.log(`\nVisitgate benchmarks — commit ${commit}, ${new Date().toISOString()}, ${machine}\n`);
for (const r of rows) {
  const g = r.group === last ? '' : r.group;
  last = r.group;
  console.log(`${g.padEnd(w[0])}  ${r.name.padEnd(w[1])}  ${String(r.value).padStart(w[2])} ${r.unit.padEnd(8)} ${r.note}`);
}
const dir = join(ROOT, 'target', 'bench');
mkdirSync(dir, { recursive: true });
const doc = JSON.stringify({ commit, at: new Date().toISOString(), machine, delay_ms: DELAY, launches: LAUNCHES, rows }, null, 2);
writeFileSync(join(dir, 'latest.json'), doc);
writeFileSync(join(dir, `${commit}.json`), doc);
console.log(`\nwritten: target/bench/latest.json, target/bench/${commit}.json`);
