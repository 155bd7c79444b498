//! Fetches a FHIR base's discovery documents, both at once, each with a
//! timeout, and lets [`shared::validation::evaluate`] judge them.

use std::time::Duration;

use futures_util::future::{join, select, Either};
use shared::tenant::ClientAuthMethod;
use shared::validation::{evaluate, metadata_url, smart_configuration_url, Fetched, ValidationReport, TIMEOUT_SECS};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

pub async fn validate_fhir_base(base: &str, auth: ClientAuthMethod, dev_mode: bool) -> ValidationReport {
    let (smart, metadata) = join(
        fetch_with_timeout(&smart_configuration_url(base), "application/json"),
        fetch_with_timeout(&metadata_url(base), "application/fhir+json"),
    )
    .await;
    evaluate(base, auth, dev_mode, &smart, &metadata, &crate::now_iso())
}

async fn fetch_with_timeout(url: &str, accept: &str) -> Fetched {
    let controller = AbortController::default();
    let signal = controller.signal();
    let request = async {
        let headers = Headers::new();
        headers.set("accept", accept)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let req = Request::new_with_init(url, &init)?;
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
        let status = resp.status_code();
        let content_type = resp.headers().get("content-type")?;
        let body = resp.text().await?;
        Ok::<_, worker::Error>(Fetched::Response { status, content_type, body })
    };
    let timeout = Delay::from(Duration::from_secs(TIMEOUT_SECS as u64));
    futures_util::pin_mut!(request);
    match select(request, timeout).await {
        Either::Left((Ok(fetched), _)) => fetched,
        Either::Left((Err(e), _)) => Fetched::Failed(short(&e.to_string())),
        Either::Right(_) => {
            controller.abort();
            Fetched::TimedOut
        }
    }
}

/// Runtime errors can be long; the report needs a phrase.
fn short(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s.to_string()
    }
}
