//! Pages for people: what went wrong, what to do, and a code to quote.

use worker::{Headers, Response};

use crate::error::Error;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn title_for(status: u16) -> &'static str {
    match status {
        400 => "This link is not complete",
        401 | 403 => "You can't open this page",
        404 => "Page not found",
        410 => "This link has expired",
        429 => "Too many attempts",
        _ => "Something went wrong",
    }
}

pub fn page_html(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t} — Visitgate</title><link rel=\"icon\" href=\"data:,\"><style>{css}</style></head><body><main><h1>{t}</h1>{body_html}</main></body></html>",
        t = escape(title),
        css = PAGE_CSS,
    )
}

const PAGE_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#f6f7f9;margin:0}main{max-width:36rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px}h1{font-size:1.4rem}h2{font-size:1.1rem}.code{color:#444;font-size:.9rem}.button{display:inline-block;padding:.6rem 1.1rem;border-radius:6px;background:#0b57d0;color:#fff;text-decoration:none;font-weight:600;margin-right:.5rem}.button.secondary{background:#fff;color:#0b57d0;border:2px solid #0b57d0}a:focus-visible,button:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}";

/// Error and info pages: no script at all.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn error_page(err: &Error) -> Response {
    let body = format!(
        "<p>{}</p><p class=\"code\">Error code: <code>{}</code>. Quote it if you contact support.</p>",
        escape(&err.body.message),
        escape(&err.body.code)
    );
    html(err.status, &page_html(title_for(err.status), &body))
}

pub fn html(status: u16, html: &str) -> Response {
    html_with_csp(status, html, PAGE_CSP)
}

pub fn html_with_csp(status: u16, html: &str, csp: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "text/html; charset=utf-8");
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("content-security-policy", csp);
    let _ = headers.set("x-frame-options", "DENY");
    let _ = headers.set("x-content-type-options", "nosniff");
    let _ = headers.set("referrer-policy", "no-referrer");
    Response::ok(html.to_string())
        .map(|r| r.with_status(status).with_headers(headers))
        .unwrap_or_else(|_| Response::error("error", 500).expect("plain response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
