//! Request and response plumbing shared by every route.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::MAX_BODY_BYTES;
use worker::{Headers, Request, Response};

use crate::error::{Error, Result};

/// Reads a JSON body: at most 64 KiB, `application/json`, and unknown or
/// missing fields named in the error.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T> {
    let ct = req.headers().get("content-type")?.unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(Error::new(415, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json."));
    }
    let declared: Option<usize> = req.headers().get("content-length")?.and_then(|v| v.parse().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    parse_json(&bytes)
}

fn too_large() -> Error {
    Error::new(413, "body_too_large", format!("The request body is larger than {} KiB.", MAX_BODY_BYTES / 1024))
}

/// Maps serde's error to `{code, message, field}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    // From text, as every JSON the gateway reads (one deserializer per type).
    let text = std::str::from_utf8(bytes).map_err(|_| Error::bad_request("malformed_json", "The body is not valid JSON (not UTF-8)."))?;
    serde_json::from_str(text).map_err(|e| {
        let text = e.to_string();
        let quoted = text.split('`').nth(1).map(str::to_string);
        let clean = text.split(" at line ").next().unwrap_or(&text).to_string();
        match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                Error::bad_request("malformed_json", format!("The body is not valid JSON ({text})."))
            }
            _ if text.starts_with("unknown field") => {
                let mut err = Error::bad_request("unknown_field", format!("{clean}."));
                if let Some(f) = quoted {
                    err = err.field(f);
                }
                err
            }
            _ if text.starts_with("missing field") => {
                let mut err = Error::bad_request("missing_field", format!("{clean}."));
                if let Some(f) = quoted {
                    err = err.field(f);
                }
                err
            }
            _ => Error::bad_request("invalid_value", format!("{clean}.")),
        }
    })
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    let body = serde_json::to_string(value)?;
    let headers = api_headers();
    headers.set("content-type", "application/json; charset=utf-8")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// A redirect that sets a cookie (sign-in and launch steps): never cached,
/// and the next page learns nothing of this URL from the Referer.
pub fn redirect_setting_cookie(status: u16, location: &str, set_cookie: &str) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(status);
    resp.headers_mut().set("location", location)?;
    resp.headers_mut().set("set-cookie", set_cookie)?;
    resp.headers_mut().set("cache-control", "no-store")?;
    resp.headers_mut().set("referrer-policy", "no-referrer")?;
    Ok(resp)
}

/// A plain redirect (`/` and `/admin` to the portal).
pub fn redirect(status: u16, location: &str) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(status);
    resp.headers_mut().set("location", location)?;
    Ok(resp)
}

/// 303 after a form post or on to a meeting: never cached, no Referer.
pub fn see_other(location: &str) -> Result<Response> {
    let mut resp = redirect(303, location)?;
    resp.headers_mut().set("cache-control", "no-store")?;
    resp.headers_mut().set("referrer-policy", "no-referrer")?;
    Ok(resp)
}

/// A form post from one of our own pages, not from another site.
pub fn same_origin(req: &Request, origin: &str) -> Result<()> {
    if req.headers().get("origin")?.is_some_and(|o| o != origin) {
        return Err(Error::new(403, "csrf_origin", "This request came from another site and was refused."));
    }
    Ok(())
}

/// A cookie's value from the request.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    let header = req.headers().get("cookie").ok()??;
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A flow-state cookie's name (launch, admin sign-in): `prefix` and the
/// start of the flow's `state`, so two flows in two tabs keep their own.
/// A flow-state cookie's name. Wherever cookies are `Secure`, the
/// `__Secure-` prefix makes browsers refuse it from any insecure origin
/// (`__Host-` would also need `Path=/`, sending it with every request).
pub fn state_cookie_name(prefix: &str, state: &str, secure: bool) -> String {
    let short: String = state.chars().take(16).collect();
    format!("{}{prefix}{short}", if secure { "__Secure-" } else { "" })
}

/// A flow-state cookie's attributes: only sent back to `path`, unreadable by
/// script, and Lax because the redirect back is a top-level cross-site GET.
pub fn state_cookie_attrs(path: &str, secure: bool, max_age: u64) -> String {
    format!("Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

pub fn no_content() -> Result<Response> {
    Ok(Response::empty()?.with_status(204).with_headers(api_headers()))
}

/// Headers every API answer carries: never cached, never sniffed or framed.
pub fn api_headers() -> Headers {
    let h = Headers::new();
    let _ = h.set("cache-control", "no-store");
    let _ = h.set("x-content-type-options", "nosniff");
    let _ = h.set("x-frame-options", "DENY");
    let _ = h.set("referrer-policy", "no-referrer");
    h
}

pub fn api_error(err: &Error) -> Response {
    let body = serde_json::to_string(&err.body).unwrap_or_else(|_| "{\"code\":\"internal\"}".into());
    let headers = api_headers();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    Response::ok(body).map(|r| r.with_status(err.status).with_headers(headers)).unwrap_or_else(|_| fallback())
}

fn fallback() -> Response {
    Response::error("internal", 500).expect("a plain response can always be built")
}

/// A path parameter that must be an id; odd characters are a 400, not a miss.
pub fn id_param<'a>(value: &'a str, what: &str) -> Result<&'a str> {
    if shared::ids::is_valid_id(value) {
        Ok(value)
    } else {
        Err(Error::bad_request("invalid_id", format!("The {what} id is not valid. {}", shared::ids::ID_RULE)).field(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::NewTenant;

    #[test]
    fn flow_cookie_names_differ_per_flow() {
        assert_eq!(state_cookie_name("vg_launch_", "abcdefghijklmnopqrstuvwxyz", false), "vg_launch_abcdefghijklmnop");
        assert_eq!(state_cookie_name("vg_launch_", "abcdefghijklmnopqrstuvwxyz", true), "__Secure-vg_launch_abcdefghijklmnop");
        assert_eq!(state_cookie_attrs("/cb", true, 600), "Path=/cb; HttpOnly; SameSite=Lax; Max-Age=600; Secure");
    }

    #[test]
    fn serde_errors_name_the_field() {
        let e = parse_json::<NewTenant>(br#"{"id":"a1","display_name":"A","x":1}"#).unwrap_err();
        assert_eq!((e.status, e.body.code.as_str(), e.body.field.as_deref()), (400, "unknown_field", Some("x")));
        let e = parse_json::<NewTenant>(br#"{"id":"a1"}"#).unwrap_err();
        assert_eq!((e.body.code.as_str(), e.body.field.as_deref()), ("missing_field", Some("display_name")));
        let e = parse_json::<NewTenant>(b"{nope").unwrap_err();
        assert_eq!(e.body.code, "malformed_json");
        let e = parse_json::<NewTenant>(br#"{"id":5,"display_name":"A"}"#).unwrap_err();
        assert_eq!(e.body.code, "invalid_value");
    }
}
