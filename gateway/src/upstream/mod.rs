//! Calls to systems outside the gateway (EHR, video, SMS and email
//! providers), always with a timeout, so a slow upstream becomes a clear
//! error instead of a hung request. The adapters (`ehr`, `sms`, `email`,
//! `video`) make every call through here.

pub mod acs_auth;

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

/// No answer from outside is read past this (a CapabilityStatement is a few
/// hundred KiB): the body is counted while it streams in, never whole first.
pub const MAX_BODY_BYTES: usize = shared::validation::MAX_BODY_BYTES;

#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub body: String,
    /// Every response header (lower-case names).
    pub headers: Vec<(String, String)>,
}

impl UpstreamResponse {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamError {
    Timeout,
    Network(String),
}

/// One request to an outside system. Redirects are never followed (a 3xx is
/// the answer: a redirect could lead the gateway, and whatever it sends, to
/// an address nobody configured), and the body is capped while it streams.
pub async fn send(
    method: Method,
    url: &str,
    headers: Headers,
    body: Option<String>,
    timeout: Duration,
) -> Result<UpstreamResponse, UpstreamError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let request = async {
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers).with_redirect(RequestRedirect::Manual);
        if let Some(b) = body {
            init.with_body(Some(b.into()));
        }
        let req = Request::new_with_init(url, &init)?;
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
        let status = resp.status_code();
        let content_type = resp.headers().get("content-type")?;
        let etag = resp.headers().get("etag")?;
        let headers = resp.headers().entries().collect();
        let mut bytes = Vec::new();
        if let Ok(mut stream) = resp.stream() {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(worker::Error::RustError(format!("the answer was larger than {} KiB", MAX_BODY_BYTES / 1024)));
                }
                bytes.extend_from_slice(&chunk);
            }
        }
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Ok::<_, worker::Error>(UpstreamResponse { status, content_type, etag, body, headers })
    };
    futures_util::pin_mut!(request);
    match select(request, Delay::from(timeout)).await {
        Either::Left((Ok(r), _)) => Ok(r),
        Either::Left((Err(e), _)) => {
            // Stops whatever is still streaming in.
            controller.abort();
            Err(UpstreamError::Network(short(&e.to_string())))
        }
        Either::Right(_) => {
            controller.abort();
            Err(UpstreamError::Timeout)
        }
    }
}

pub async fn get(url: &str, accept: &str, timeout: Duration) -> Result<UpstreamResponse, UpstreamError> {
    let headers = Headers::new();
    let _ = headers.set("accept", accept);
    send(Method::Get, url, headers, None, timeout).await
}

/// GETs a JSON document (discovery, keys); every way it can fail is put in
/// words by `failed`.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    url: &str,
    what: &str,
    timeout: Duration,
    failed: impl Fn(String) -> crate::error::Error,
) -> Result<T, crate::error::Error> {
    let resp = get(url, "application/json", timeout).await.map_err(|e| match e {
        UpstreamError::Timeout => failed(format!("no answer within {} seconds", timeout.as_secs())),
        UpstreamError::Network(w) => failed(w),
    })?;
    if !resp.ok() {
        return Err(failed(format!("HTTP {}", resp.status)));
    }
    serde_json::from_str(&resp.body).map_err(|e| failed(format!("not a {what} ({e})")))
}

/// What became of one message handed to an SMS or email provider.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Sent {
        sid: String,
    },
    /// Worth another try later (5xx, 429, network).
    Retry(String),
    /// Will not succeed as is (bad number, auth).
    Failed(String),
}

/// Runtime errors can be long; reports and pages need a phrase.
fn short(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s.to_string()
    }
}

static MESSAGING_TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// How long an SMS or email provider gets to answer: 10 s, or the Worker
/// variable `MESSAGING_TIMEOUT_MS` (tests shorten it to exercise timeouts).
pub fn messaging_timeout(env: &worker::Env) -> Duration {
    *MESSAGING_TIMEOUT.get_or_init(|| {
        let ms =
            env.var("MESSAGING_TIMEOUT_MS").ok().and_then(|v| v.to_string().parse::<u64>().ok()).filter(|&ms| (100..=30_000).contains(&ms));
        Duration::from_millis(ms.unwrap_or(10_000))
    })
}

/// The timeout set by `messaging_timeout`, for code without the env at hand.
pub fn messaging_timeout_set() -> Duration {
    MESSAGING_TIMEOUT.get().copied().unwrap_or(Duration::from_secs(10))
}
