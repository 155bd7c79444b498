//! JSON commands to Durable Objects, and their answers. Errors raised in
//! an object travel back as the same `{status, code, message}` the worker
//! would have produced itself.
//!
//! Command enums are externally tagged (`{"open": {…}}`, serde's default):
//! an internally tagged one (`{"cmd": "open", …}`) makes serde buffer each
//! command, and every type it carries, through its private `Content` type,
//! a second copy of all those deserializers (about 210 KiB of wasm).

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Method, Request, RequestInit, Response, Stub};

use crate::error::{Error, Result};

pub async fn call<C: Serialize, T: DeserializeOwned>(stub: &Stub, url: &str, cmd: &C) -> Result<T> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(serde_json::to_string(cmd)?.into()));
    let mut resp = stub.fetch_with_request(Request::new_with_init(url, &init)?).await?;
    let status = resp.status_code();
    let text = resp.text().await?;
    if (200..300).contains(&status) {
        Ok(serde_json::from_str(&text)?)
    } else {
        Err(Error { status, body: serde_json::from_str(&text)? })
    }
}

/// Reads a command in an object, runs it, answers with its value or error.
pub async fn serve<C, T, F>(mut req: Request, what: &str, handle: impl FnOnce(C) -> F) -> worker::Result<Response>
where
    C: DeserializeOwned,
    T: Serialize,
    F: std::future::Future<Output = Result<T>>,
{
    // serde_json, not the runtime's JSON: one deserializer per type.
    let cmd = match req.text().await {
        Ok(t) => serde_json::from_str::<C>(&t).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let reply = match cmd {
        Ok(cmd) => handle(cmd).await,
        Err(e) => Err(Error::internal(format!("{what} command: {e}"))),
    };
    match reply {
        Ok(value) => Response::from_json(&value),
        Err(err) => Ok(Response::from_json(&err.body)?.with_status(err.status)),
    }
}
