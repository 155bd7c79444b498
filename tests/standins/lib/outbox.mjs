// Outbox pages shared by the messaging stand-ins: what a person running the demo opens to read
// the texts and emails the gateway sent. Everything is HTML-escaped; http(s) links in texts are
// clickable; an email's HTML body is shown in a sandboxed iframe (srcdoc, sandbox="": no scripts,
// no navigation), with the links it contains listed below it so they can still be followed.

import { escapeHtml, html } from './http.mjs';

const LINK = /https?:\/\/[^\s<>"']+/g;

/** Escape `text`, turning http(s) links into anchors (trailing punctuation stays outside). */
export function linkify(text) {
  let out = '';
  let last = 0;
  for (const m of String(text).matchAll(LINK)) {
    const link = m[0].replace(/[.,;:!?)\]}]+$/, '');
    out += escapeHtml(text.slice(last, m.index));
    out += `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`;
    last = m.index + link.length;
  }
  return out + escapeHtml(String(text).slice(last));
}

const HTML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

/** The distinct http(s) href targets in an HTML document, in order. */
export function hrefsOf(htmlText) {
  const out = [];
  for (const m of String(htmlText).matchAll(/\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    const raw = (m[1] ?? m[2] ?? m[3]).replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, e) => HTML_ENTITIES[e]).trim();
    if (/^https?:\/\//i.test(raw) && !out.includes(raw)) out.push(raw);
  }
  return out;
}

const time = (iso) => `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.slice(0, 19).replace('T', ' '))}</time>`;

/**
 * A table of texts (give them newest first): time, direction, to, from, status and the text with
 * its links clickable. Each row carries `data-<idName>="<id>"`.
 * @param {{caption: string, idName: string, texts: Array<{id: string, at: string, direction: string,
 *          to: string, from: string, status: string, text: string}>}} table
 */
export function textsTable({ caption, idName, texts }) {
  const rows = texts.map((t) => `<tr data-${idName}="${escapeHtml(t.id)}"><td>${time(t.at)}</td>`
    + `<td>${escapeHtml(t.direction)}</td><td>${escapeHtml(t.to)}</td><td>${escapeHtml(t.from)}</td>`
    + `<td>${escapeHtml(t.status)}</td><td class="body">${linkify(t.text)}</td></tr>`).join('\n');
  return `<table id="messages">
<caption>${escapeHtml(caption)}</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Direction</th><th scope="col">To</th><th scope="col">From</th><th scope="col">Status</th><th scope="col">Text</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">No texts yet.</td></tr>'}
</tbody></table>`;
}

/**
 * One email as an <article>: subject, sender, recipients, status, the plain text (links
 * clickable) and the HTML body in a sandboxed iframe.
 * @param {{id: string, at: string, from: string, to: string[], cc?: string[], subject: string,
 *          status: string, text?: string | null, html?: string | null}} email
 */
export function emailArticle(email) {
  const rows = [
    ['From', email.from],
    ['To', email.to.join(', ')],
    ...(email.cc?.length ? [['Cc', email.cc.join(', ')]] : []),
    ['Status', email.status],
    ['Id', email.id],
  ].map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  const parts = [];
  if (email.text) parts.push(`<h4>Plain text</h4>\n<pre class="body">${linkify(email.text)}</pre>`);
  if (email.html) {
    const links = hrefsOf(email.html);
    parts.push(`<h4>HTML</h4>\n<iframe sandbox="" srcdoc="${escapeHtml(email.html)}" title="HTML body of ${escapeHtml(email.subject)}"></iframe>`
      + (links.length ? `\n<p>Links in it: ${links.map((l) => `<a href="${escapeHtml(l)}">${escapeHtml(l)}</a>`).join(', ')}</p>` : ''));
  }
  return `<article class="email" data-id="${escapeHtml(email.id)}">
<h3>${escapeHtml(email.subject)}</h3>
<p>${time(email.at)}</p>
<dl>${rows}</dl>
${parts.join('\n')}
</article>`;
}

/**
 * The whole page, reloading itself every 5 s. `intro` and `sections` are HTML (escape what goes
 * in them).
 */
export function outboxPage({ title, intro, sections }) {
  return html(200, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1rem; color: #111; background: #fff; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #666; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td.body, pre.body { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 40rem; }
article.email { border: 1px solid #666; padding: 0.5rem 1rem; margin-bottom: 1rem; max-width: 48rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; overflow-wrap: anywhere; }
iframe { width: 100%; height: 20rem; border: 1px solid #999; background: #fff; }
a { color: #0645ad; }
</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${intro}
${sections.join('\n')}
</main></body></html>
`);
}
