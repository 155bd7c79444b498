//! The admin portal: static assets under `/admin/`, with SPA fallback (a
//! reload of a deep link serves the app shell) and strict headers.

use worker::{Headers, Request, Response};

use crate::ctx::Ctx;
use crate::error::Result;

/// No inline script: wasm-bindgen's loader is a file (`boot.js`), and
/// `'wasm-unsafe-eval'` is what instantiating the module needs.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

pub async fn serve(req: Request, ctx: &Ctx, path: &str) -> Result<Response> {
    let assets = ctx.env.assets("ASSETS")?;
    let last = path.rsplit('/').next().unwrap_or_default();
    let resp = if last.contains('.') {
        assets.fetch_request(req).await?
    } else {
        assets.fetch(format!("{}/admin/index.html", ctx.origin), None).await?
    };
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.set(&k, &v)?;
    }
    headers.set("content-security-policy", CSP)?;
    headers.set("x-frame-options", "DENY")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("referrer-policy", "no-referrer")?;
    // File names carry no content hash: revalidate, so a new portal.js never
    // meets an old portal_bg.wasm after a deploy.
    headers.set("cache-control", "no-cache")?;
    Ok(resp.with_headers(headers))
}
