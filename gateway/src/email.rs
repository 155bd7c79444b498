//! The email adapter: Azure Communication Services Email or SendGrid v3.
//! Like the SMS adapter, a send that times out may have been accepted, so it
//! is settled before another try: ACS by the operation id we chose
//! (`Operation-Id`, looked up afterwards), SendGrid by our key in
//! `custom_args`, looked up in its Email Activity API.

use shared::email::{EmailBody, EmailProvider};
use worker::{Env, Headers, Method};

use crate::sms::SendOutcome;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

const ACS_EMAIL_API: &str = "api-version=2023-03-31";

/// One email to one patient; the address passes through memory only.
pub struct Email<'a> {
    pub to: &'a str,
    pub from_name: &'a str,
    pub body: &'a EmailBody,
    /// The message's exactly-once key (visit and kind), never patient data.
    pub key: &'a str,
}

pub async fn send_email(env: &Env, tenant_id: &str, provider: &EmailProvider, email: &Email<'_>) -> SendOutcome {
    crate::upstream::messaging_timeout(env);
    match provider {
        EmailProvider::AcsEmail { endpoint, access_key_ref, sender_address } => {
            let Some(key) = crate::secrets::get(env, tenant_id, access_key_ref).await else {
                return SendOutcome::Failed(format!("the email service's access key (secret {access_key_ref}) is not set up"));
            };
            acs_send(endpoint.trim_end_matches('/'), &key, sender_address, email).await
        }
        EmailProvider::SendGrid { api_base, api_key_ref, from_email } => {
            let Some(key) = crate::secrets::get(env, tenant_id, api_key_ref).await else {
                return SendOutcome::Failed(format!("the email service's API key (secret {api_key_ref}) is not set up"));
            };
            sendgrid_send(api_base.trim_end_matches('/'), &key, from_email, email).await
        }
    }
}

fn classify(r: &UpstreamResponse, what: &str) -> Option<SendOutcome> {
    if r.status == 429 || r.status >= 500 {
        Some(SendOutcome::Retry(format!("{what} HTTP {}", r.status)))
    } else if !r.ok() {
        Some(SendOutcome::Failed(format!("{what} refused the message (HTTP {})", r.status)))
    } else {
        None
    }
}

async fn acs_send(endpoint: &str, key: &str, sender: &str, email: &Email<'_>) -> SendOutcome {
    let operation_id = crate::acs::uuid_for(email.key);
    let body = serde_json::json!({
        "senderAddress": sender,
        "recipients": {"to": [{"address": email.to}]},
        "content": {"subject": email.body.subject, "plainText": email.body.text, "html": email.body.html},
        "userEngagementTrackingDisabled": true,
    })
    .to_string();
    let url = format!("{endpoint}/emails:send?{ACS_EMAIL_API}");
    let Some(headers) = crate::acs::headers(key, &Method::Post, &url, &body) else {
        return SendOutcome::Failed("the email service's access key is not valid base64".into());
    };
    let _ = headers.set("operation-id", &operation_id);
    match send(Method::Post, &url, headers, Some(body), crate::upstream::messaging_timeout_set()).await {
        Ok(r) => classify(&r, "email service").unwrap_or(SendOutcome::Sent { sid: operation_id }),
        Err(UpstreamError::Timeout) => {
            // Was our operation accepted after all? ACS keeps it under our id.
            let url = format!("{endpoint}/emails/operations/{operation_id}?{ACS_EMAIL_API}");
            let Some(headers) = crate::acs::headers(key, &Method::Get, &url, "") else { return SendOutcome::Retry("timeout".into()) };
            match send(Method::Get, &url, headers, None, crate::upstream::messaging_timeout_set()).await {
                Ok(r) if r.ok() => SendOutcome::Sent { sid: operation_id },
                _ => SendOutcome::Retry("the email service did not answer in time".into()),
            }
        }
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}

fn bearer(key: &str) -> Headers {
    let h = Headers::new();
    let _ = h.set("authorization", &format!("Bearer {key}"));
    let _ = h.set("content-type", "application/json");
    let _ = h.set("accept", "application/json");
    h
}

async fn sendgrid_send(api: &str, key: &str, from_email: &str, email: &Email<'_>) -> SendOutcome {
    let mut from = serde_json::json!({"email": from_email});
    if !email.from_name.is_empty() {
        from["name"] = email.from_name.into();
    }
    let body = serde_json::json!({
        "personalizations": [{"to": [{"email": email.to}]}],
        "from": from,
        "subject": email.body.subject,
        "content": [{"type": "text/plain", "value": email.body.text}, {"type": "text/html", "value": email.body.html}],
        "custom_args": {"vg_key": crate::acs::uuid_for(email.key)},
        "tracking_settings": {"click_tracking": {"enable": false}, "open_tracking": {"enable": false}},
    })
    .to_string();
    match send(Method::Post, &format!("{api}/v3/mail/send"), bearer(key), Some(body), crate::upstream::messaging_timeout_set()).await {
        Ok(r) => classify(&r, "email service").unwrap_or(SendOutcome::Sent { sid: String::new() }),
        Err(UpstreamError::Timeout) => {
            // SendGrid has no idempotency key: look for our key in its activity log.
            let query = format!("unique_args['vg_key']=\"{}\"", crate::acs::uuid_for(email.key));
            let mut url = match url::Url::parse(&format!("{api}/v3/messages")) {
                Ok(u) => u,
                Err(_) => return SendOutcome::Retry("timeout".into()),
            };
            url.query_pairs_mut().append_pair("limit", "1").append_pair("query", &query);
            match send(Method::Get, url.as_str(), bearer(key), None, crate::upstream::messaging_timeout_set()).await {
                Ok(r) if r.ok() && serde_json::from_str::<serde_json::Value>(&r.body).ok().is_some_and(|v| v["messages"].as_array().is_some_and(|m| !m.is_empty())) => {
                    SendOutcome::Sent { sid: String::new() }
                }
                _ => SendOutcome::Retry("the email service did not answer in time".into()),
            }
        }
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}
