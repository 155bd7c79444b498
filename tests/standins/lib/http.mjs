// Reply helpers shared by the stand-ins. Handlers return { status, headers, body } and send()
// writes it out. JSON replies and body readers stay in each stand-in: their content types
// (`application/json` vs `application/json; charset=utf-8`) and error bodies differ.

export const HTML_TYPE = 'text/html; charset=utf-8';

export const html = (status, text) => ({ status, headers: { 'content-type': HTML_TYPE }, body: text });
export const noContent = () => ({ status: 204, headers: {}, body: '' });

export function send(res, reply) {
  if (res.headersSent || res.destroyed) return; // already answered, or the client is gone
  res.writeHead(reply.status, { 'cache-control': 'no-store', ...reply.headers });
  res.end(reply.body);
}

export const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** Resolves after `ms`, or rejects when `signal` aborts (client gone, server closing). */
export function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
