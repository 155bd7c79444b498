//! Azure Communication Services Email: sent under an operation id we choose
//! (`Operation-Id`), so a send whose answer was lost is looked up, not repeated.

use worker::Method;

use super::model::{classify, Email};
use crate::secrets::Secret;
use crate::upstream::acs_auth::{self, uuid_for};
use crate::upstream::{self, messaging_timeout_set, SendOutcome, UpstreamError};

const ACS_EMAIL_API: &str = "api-version=2023-03-31";

pub async fn send(endpoint: &str, key: &Secret, sender: &str, email: &Email<'_>) -> SendOutcome {
    let operation_id = uuid_for(email.key);
    let body = serde_json::json!({
        "senderAddress": sender,
        "recipients": {"to": [{"address": email.to}]},
        "content": {"subject": email.body.subject, "plainText": email.body.text, "html": email.body.html},
        "userEngagementTrackingDisabled": true,
    })
    .to_string();
    let url = format!("{endpoint}/emails:send?{ACS_EMAIL_API}");
    let Some(headers) = acs_auth::headers(key, &Method::Post, &url, &body) else {
        return SendOutcome::Failed("the email service's access key is not valid base64".into());
    };
    let _ = headers.set("operation-id", &operation_id);
    match upstream::send(Method::Post, &url, headers, Some(body), messaging_timeout_set()).await {
        Ok(r) => classify(&r, "email service").unwrap_or(SendOutcome::Sent { sid: operation_id }),
        Err(UpstreamError::Timeout) => {
            // Was our operation accepted after all? ACS keeps it under our id.
            let url = format!("{endpoint}/emails/operations/{operation_id}?{ACS_EMAIL_API}");
            let Some(headers) = acs_auth::headers(key, &Method::Get, &url, "") else { return SendOutcome::Retry("timeout".into()) };
            match upstream::send(Method::Get, &url, headers, None, messaging_timeout_set()).await {
                Ok(r) if r.ok() => SendOutcome::Sent { sid: operation_id },
                _ => SendOutcome::Retry("the email service did not answer in time".into()),
            }
        }
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}
