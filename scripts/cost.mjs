// What 1,000 video visits cost on Cloudflare, at the published overage rates (the Workers Paid
// plan's monthly inclusions left out, so this is the cost at the margin). `make bench` prints it;
// `node scripts/cost.mjs` prints it alone.
//
// The operations per visit are counted from the code path of one visit as the README's journeys
// describe it (not measured: the local runtime keeps no counts), for a visit where the clinician
// launches once, opens the provider page and joins, and the patient opens the link once, runs the
// device check and waits in the lobby over the WebSocket (hibernatable, so idle time is not billed).
// CPU per request and Durable Object wall time per request are assumptions, marked as such.

export const RATES = {
  read: '2026-12-04',
  sources: [
    'https://developers.cloudflare.com/workers/platform/pricing/',
    'https://developers.cloudflare.com/durable-objects/platform/pricing/',
    'https://developers.cloudflare.com/kv/platform/pricing/',
    'https://developers.cloudflare.com/d1/platform/pricing/',
  ],
  workerRequestPerM: 0.30,
  workerCpuMsPerM: 0.02,
  doRequestPerM: 0.15,
  doGbSecondPerM: 12.50,
  kvReadPerM: 0.50,
  kvWritePerM: 5.00,
  d1RowReadPerM: 0.001,
  d1RowWrittenPerM: 1.00,
};

// Per visit. Each line says where the count comes from.
export const PER_VISIT = {
  workerRequests: [
    [2, 'GET /launch, GET /launch/callback'],
    [1, 'GET /visit/<ref> (provider page)'],
    [1, 'provider page WebSocket (/visit/<ref>/live)'],
    [1, 'POST /visit/<ref>/join'],
    [2, 'GET /j/<code>, GET /j/lobby.js'],
    [1, 'POST /j/<code>/arrive'],
    [1, 'patient WebSocket (/j/<code>/live)'],
    [2, 'POST /j/<code>/event: device check passed (or failed), patient left'],
  ],
  kvReads: [
    [4, 'launch index entry + cached discovery, at /launch and again at the callback'],
    [1, 'has this clinician signed in before (callback)'],
    [5, 'patient link at /j/<code>, arrive, live and 2 events (at most: within 10 s of a read the isolate has it)'],
  ],
  kvWrites: [
    [1, 'the patient link (visit object, first launch)'],
  ],
  doRequests: [
    [1, 'single-use launch state spent (launch guard)'],
    [1, 'visit object Open'],
    [1, 'provider page status'],
    [1, 'provider WebSocket accepted'],
    [1, 'join recorded'],
    [1, 'patient link opened recorded'],
    [1, 'arrive'],
    [1, 'patient WebSocket accepted'],
    [2, 'patient events'],
    [2, 'report flush alarms'],
  ],
  d1RowsWritten: [
    [12, 'events (about 12 per visit)'],
    [2, 'the visit row, upserted at each flush'],
  ],
};

export const ASSUMED = {
  cpuMsPerRequest: 2, // the id_token check is 0.11 ms in workerd; JSON, HTML and routing a few ms at most
  doWallMsPerRequest: 20, // a Durable Object request's active wall time, 128 MB
  doMemoryGb: 0.128,
};

const sum = (lines) => lines.reduce((a, [n]) => a + n, 0);

/** Rows of [what, per visit, per 1,000 visits, rate, USD per 1,000 visits]. */
export function costRows() {
  const n = Object.fromEntries(Object.entries(PER_VISIT).map(([k, v]) => [k, sum(v)]));
  const perK = (x) => x * 1000;
  const usd = (qty, perM) => (qty / 1e6) * perM;
  const doGbS = n.doRequests * (ASSUMED.doWallMsPerRequest / 1000) * ASSUMED.doMemoryGb;
  const rows = [
    ['Worker requests', n.workerRequests, perK(n.workerRequests), `$${RATES.workerRequestPerM}/M`, usd(perK(n.workerRequests), RATES.workerRequestPerM)],
    [`Worker CPU ms (assumed ${ASSUMED.cpuMsPerRequest} ms/request)`, n.workerRequests * ASSUMED.cpuMsPerRequest, perK(n.workerRequests * ASSUMED.cpuMsPerRequest), `$${RATES.workerCpuMsPerM}/M ms`, usd(perK(n.workerRequests * ASSUMED.cpuMsPerRequest), RATES.workerCpuMsPerM)],
    ['Durable Object requests', n.doRequests, perK(n.doRequests), `$${RATES.doRequestPerM}/M`, usd(perK(n.doRequests), RATES.doRequestPerM)],
    [`Durable Object GB-s (assumed ${ASSUMED.doWallMsPerRequest} ms/request, 128 MB)`, doGbS, perK(doGbS), `$${RATES.doGbSecondPerM}/M GB-s`, usd(perK(doGbS), RATES.doGbSecondPerM)],
    ['KV reads', n.kvReads, perK(n.kvReads), `$${RATES.kvReadPerM}/M`, usd(perK(n.kvReads), RATES.kvReadPerM)],
    ['KV writes', n.kvWrites, perK(n.kvWrites), `$${RATES.kvWritePerM}/M`, usd(perK(n.kvWrites), RATES.kvWritePerM)],
    ['D1 rows written', n.d1RowsWritten, perK(n.d1RowsWritten), `$${RATES.d1RowWrittenPerM}/M`, usd(perK(n.d1RowsWritten), RATES.d1RowWrittenPerM)],
  ];
  rows.push(['total', '', '', '', rows.reduce((a, r) => a + r[4], 0)]);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`Cost per 1,000 visits at Cloudflare's overage rates (read ${RATES.read}; ${RATES.sources.join(', ')})\n`);
  for (const [what, one, k, rate, usd] of costRows()) {
    const f = (x) => (typeof x === 'number' ? String(Math.round(x * 1000) / 1000) : x);
    console.log(`${what.padEnd(62)} ${f(one).padStart(6)} ${f(k).padStart(8)}  ${rate.padEnd(14)} $${usd.toFixed(4)}`);
  }
}
