//! What one email is, as the email adapters take it, and how an HTTP
//! answer settles a send.

use shared::email::EmailBody;

use crate::upstream::{SendOutcome, UpstreamResponse};

/// One email to one patient; the address passes through memory only.
pub struct Email<'a> {
    pub to: &'a str,
    pub from_name: &'a str,
    pub body: &'a EmailBody,
    /// The message's exactly-once key (visit and kind), never patient data.
    pub key: &'a str,
}

/// An HTTP answer that already settles the send (`None`: it was accepted).
pub fn classify(r: &UpstreamResponse, what: &str) -> Option<SendOutcome> {
    if r.status == 429 || r.status >= 500 {
        Some(SendOutcome::Retry(format!("{what} HTTP {}", r.status)))
    } else if !r.ok() {
        Some(SendOutcome::Failed(format!("{what} refused the message (HTTP {})", r.status)))
    } else {
        None
    }
}
