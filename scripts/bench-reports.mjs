// Report queries over 100,000 synthetic events in local D1: loads them into a
// fresh gateway's database, then times the report API (summary and visits
// table) and prints the query plans, which must use the indexes.
// A benchmark: it reports figures, it does not pass or fail on time.
// Run: node scripts/bench-reports.mjs [--events 100000] [--json out.json]   (after `make build`)
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { startStack, ROOT } from '../tests/lib/harness.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' }, json: { type: 'string' }, runs: { type: 'string', default: '20' } } });
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const DAY = 86_400_000;
const KINDS = ['provider_launch', 'meeting_created', 'patient_link_opened', 'device_check_passed', 'patient_lobby_arrival', 'provider_joined', 'patient_admitted', 'visit_ended', 'sms_sent', 'sms_delivered'];

const wrangler = (...args) => execFileSync(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 64 << 20 });

const stack = await startStack();
try {
  await stack.api('POST', '/api/v1/tenants', { id: 'bench', display_name: 'Bench' });
  // Another tenant's rows too, so the tenant filter has work to do.
  const now = Date.now();
  const perVisit = KINDS.length;
  const visits = Math.ceil(EVENTS / perVisit);
  const lines = [];
  const q = s => `'${s}'`;
  for (let v = 0; v < visits; v++) {
    const tenant = v % 4 === 0 ? 'other' : 'bench';
    const ref = v.toString(16).padStart(64, '0');
    const start = now - (v % 90) * DAY - (v % 600) * 60_000;
    const wait = 30_000 + (v * 7919) % 600_000;
    const duration = (v % 10 === 0) ? 0 : 300_000 + (v * 104729) % 1_800_000;
    const status = duration === 0 ? 'no_show' : 'completed';
    lines.push(`INSERT INTO visits (visit_ref, tenant_id, base_id, scheduled_start_ms, scheduled_end_ms, day_ms, started_at_ms, duration_ms, lobby_wait_ms, status, peak_attendees, sms_sent, updated_at_ms) VALUES (${q(ref)}, ${q(tenant)}, 'fb', ${start}, ${start + 1_200_000}, ${start}, ${duration ? start + wait : 'NULL'}, ${duration}, ${duration ? wait : 'NULL'}, ${q(status)}, 2, 1, ${now});`);
    const rows = KINDS.map((k, i) => `(${q(tenant)}, 'fb', ${q(ref)}, ${q(String(i).padStart(6, '0'))}, ${q(k)}, ${start + i * 1000}, NULL, NULL)`);
    lines.push(`INSERT INTO events VALUES ${rows.join(', ')};`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-reports-'));
  const file = join(dir, 'seed.sql');
  writeFileSync(file, lines.join('\n'));
  const t0 = Date.now();
  wrangler('d1', 'execute', 'visitgate-reports', '--local', '--persist-to', stack.stateDir, '--file', file, '--yes');
  const loadS = (Date.now() - t0) / 1000;

  // The first request after loading outside the runtime may meet workerd
  // reopening the database: warm up (and retry) before measuring.
  for (let i = 0; i < 5; i++) {
    try {
      if ((await stack.api('GET', '/api/v1/tenants/bench/reports/summary?range=7')).status === 200) break;
    } catch { /* reopened; try again */ }
  }
  const time = async path => {
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      const r = await stack.api('GET', path);
      ms.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    }
    ms.sort((a, b) => a - b);
    return { p50: ms[Math.floor(ms.length / 2)], p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)] };
  };
  const summary = await time('/api/v1/tenants/bench/reports/summary?range=30');
  const table = await time('/api/v1/tenants/bench/reports/visits?range=7');
  const health = await time('/healthz');
  const plan = sql => JSON.parse(wrangler('d1', 'execute', 'visitgate-reports', '--local', '--persist-to', stack.stateDir, '--json', '--command', `EXPLAIN QUERY PLAN ${sql}`))[0].results.map(r => r.detail).join('; ');
  const plans = {
    visits: plan("SELECT * FROM visits WHERE tenant_id = 'bench' AND day_ms >= 0 AND day_ms < 1 ORDER BY day_ms"),
    events: plan("SELECT kind, COUNT(*) FROM events WHERE tenant_id = 'bench' AND at_ms >= 0 AND at_ms < 1 AND kind IN ('launch_started', 'sms_sent') GROUP BY 1"),
  };
  const figures = { events: visits * perVisit, visits, load_s: loadS, summary_30d_ms: summary, visits_7d_ms: table, healthz_ms: health, plans };
  console.log(`
reports over ${figures.events} events / ${visits} visits in local D1 (loaded in ${loadS.toFixed(1)} s), ${RUNS} requests each:
  summary, 30 days   p50 ${summary.p50.toFixed(1)} ms   p95 ${summary.p95.toFixed(1)} ms
  visits,   7 days   p50 ${table.p50.toFixed(1)} ms   p95 ${table.p95.toFixed(1)} ms
  /healthz           p50 ${health.p50.toFixed(1)} ms   p95 ${health.p95.toFixed(1)} ms   (the runtime's own floor)
  query plans: visits → ${plans.visits}
               events → ${plans.events}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 2));
} catch (e) {
  writeFileSync("/tmp/bench-logs.txt", stack.logs());
  throw e;
} finally {
  await stack.stop();
}
