//! Fetches a FHIR base's discovery documents, both at once, each with a
//! timeout, and lets [`shared::validation::evaluate`] judge them.

use std::time::Duration;

use futures_util::future::join;
use shared::tenant::ClientAuthMethod;
use shared::validation::{evaluate, metadata_url, smart_configuration_url, Fetched, ValidationReport, TIMEOUT_SECS};

use crate::upstream::{get, UpstreamError};

pub async fn validate_fhir_base(base: &str, auth: ClientAuthMethod, dev_mode: bool) -> ValidationReport {
    let timeout = Duration::from_secs(TIMEOUT_SECS as u64);
    let (smart, metadata) =
        join(get(&smart_configuration_url(base), "application/json", timeout), get(&metadata_url(base), "application/fhir+json", timeout))
            .await;
    let fetched = |r: Result<_, UpstreamError>| match r {
        Ok(crate::upstream::UpstreamResponse { status, content_type, body, .. }) => Fetched::Response { status, content_type, body },
        Err(UpstreamError::Timeout) => Fetched::TimedOut,
        Err(UpstreamError::Network(why)) => Fetched::Failed(why),
    };
    evaluate(base, auth, dev_mode, &fetched(smart), &fetched(metadata), &crate::clock::now_iso())
}
