// Routing and the request log shared by sms.mjs and video.mjs. ehr-sandbox.mjs keeps its own log
// on purpose: it stamps end_ms (Date.now()) and status when the reply is sent, not on close.

/** A predicate for test-hook paths (those under `prefix`): never logged, never delayed. */
export const hookPaths = (prefix) => (pathname) => pathname.startsWith(prefix);

/**
 * Append {method, path, at, start_ms, end_ms, status} to `requests` and return it. start_ms/at are
 * `now()` (epoch ms) on arrival; end_ms and status are filled when the response closes (status is
 * null when nothing was sent), so a test can tell sequential round trips from overlapping ones.
 */
export function logRequest(requests, req, res, url, now) {
  const startMs = now();
  const entry = {
    method: req.method,
    path: url.pathname + url.search,
    at: new Date(startMs).toISOString(),
    start_ms: startMs,
    end_ms: null,
    status: null,
  };
  requests.push(entry);
  res.once('close', () => {
    entry.end_ms = now();
    entry.status = res.headersSent ? res.statusCode : null;
  });
  return entry;
}

/** Percent-decode regex named groups; a value that does not decode is kept as it is. */
function decodeParams(groups) {
  const params = {};
  for (const [k, v] of Object.entries(groups ?? {})) {
    try {
      params[k] = decodeURIComponent(v);
    } catch {
      params[k] = v;
    }
  }
  return params;
}

/**
 * Find the route for `method` and the raw (still percent-encoded) `pathname` in `routes`
 * ([{method, path: RegExp, handler, raw?}], first match wins; HEAD is served by GET routes).
 * Returns {route, params} on a match, {allowed: [methods]} when only other methods match the path
 * (answer 405 with an Allow header), or null (404). Named groups become params, percent-decoded
 * when `decode` unless the route says `raw: true`.
 */
export function matchRoute(routes, method, pathname, decode = true) {
  const lookup = method === 'HEAD' ? 'GET' : method;
  const allowed = [];
  for (const route of routes) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    if (route.method === lookup) return { route, params: decode && !route.raw ? decodeParams(m.groups) : { ...m.groups } };
    if (!allowed.includes(route.method)) allowed.push(route.method);
  }
  return allowed.length ? { allowed } : null;
}
