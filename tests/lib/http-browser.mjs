// A tiny browser for HTTP-level tests: a cookie jar (host + path scoped,
// Max-Age honoured) and redirects followed one hop at a time, like a
// browser does, with every hop recorded.
export class HttpBrowser {
  constructor() {
    this.cookies = []; // {host, name, value, path}
  }

  cookieHeader(url) {
    const u = new URL(url);
    return this.cookies
      .filter(c => c.host === u.host && u.pathname.startsWith(c.path))
      .map(c => `${c.name}=${c.value}`)
      .join('; ');
  }

  store(url, setCookies) {
    const u = new URL(url);
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map(s => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = k => attrs.find(a => a.toLowerCase().startsWith(`${k}=`))?.split('=')[1];
      const path = attr('path') ?? '/';
      this.cookies = this.cookies.filter(c => !(c.host === u.host && c.name === name && c.path === path));
      if (attr('max-age') !== '0' && value !== '') this.cookies.push({ host: u.host, name, value, path, raw: line });
    }
  }

  cookie(name) {
    return this.cookies.find(c => c.name === name || c.name.startsWith(name));
  }

  /** POST a form (as a browser submits one), then follow redirects like `get`. */
  post(url, form, opts = {}) {
    return this.get(url, { ...opts, form });
  }

  /**
   * GET with redirects followed; returns the final response and the hops.
   * `until(url)` stops before requesting a matching URL (returned as `pending`).
   */
  async get(url, { maxRedirects = 10, until = () => false, form } = {}) {
    const hops = [];
    let current = url;
    for (let i = 0; i <= maxRedirects; i++) {
      if (i > 0 && until(current)) return { pending: current, hops };
      const started = performance.now();
      const headers = {};
      const cookie = this.cookieHeader(current);
      if (cookie) headers.cookie = cookie;
      // A form is posted on the first hop only; redirects after it are GETs (303/302 as browsers do).
      const post = i === 0 && form;
      if (post) headers['content-type'] = 'application/x-www-form-urlencoded';
      const r = await fetch(current, { redirect: 'manual', headers, method: post ? 'POST' : 'GET', body: post ? new URLSearchParams(form).toString() : undefined });
      this.store(current, r.headers.getSetCookie());
      const text = await r.text();
      hops.push({ url: current, status: r.status, location: r.headers.get('location'), ms: performance.now() - started });
      if (r.status >= 300 && r.status < 400 && r.headers.get('location')) {
        current = new URL(r.headers.get('location'), current).href;
        continue;
      }
      return { status: r.status, url: current, text, headers: r.headers, hops };
    }
    throw new Error(`more than ${maxRedirects} redirects from ${url}`);
  }
}

/** The error code a Visitgate error page shows. */
export function pageCode(text) {
  return text.match(/Error code: <code>([^<]+)<\/code>/)?.[1];
}
