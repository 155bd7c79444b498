//! SendGrid v3 Mail Send. SendGrid has no idempotency key, so our key goes
//! in `custom_args` and a send whose answer was lost is looked up in the
//! Email Activity API.

use worker::{Headers, Method};

use super::model::{classify, Email};
use crate::secrets::Secret;
use crate::upstream::acs_auth::uuid_for;
use crate::upstream::{self, messaging_timeout_set, SendOutcome, UpstreamError};

fn bearer(key: &Secret) -> Headers {
    let h = Headers::new();
    let _ = h.set("authorization", &format!("Bearer {}", key.expose()));
    let _ = h.set("content-type", "application/json");
    let _ = h.set("accept", "application/json");
    h
}

pub async fn send(api: &str, key: &Secret, from_email: &str, email: &Email<'_>) -> SendOutcome {
    let mut from = serde_json::json!({"email": from_email});
    if !email.from_name.is_empty() {
        from["name"] = email.from_name.into();
    }
    let body = serde_json::json!({
        "personalizations": [{"to": [{"email": email.to}]}],
        "from": from,
        "subject": email.body.subject,
        "content": [{"type": "text/plain", "value": email.body.text}, {"type": "text/html", "value": email.body.html}],
        "custom_args": {"vg_key": uuid_for(email.key)},
        "tracking_settings": {"click_tracking": {"enable": false}, "open_tracking": {"enable": false}},
    })
    .to_string();
    match upstream::send(Method::Post, &format!("{api}/v3/mail/send"), bearer(key), Some(body), messaging_timeout_set()).await {
        Ok(r) => classify(&r, "email service").unwrap_or(SendOutcome::Sent { sid: String::new() }),
        Err(UpstreamError::Timeout) => {
            // SendGrid has no idempotency key: look for our key in its activity log.
            let query = format!("unique_args['vg_key']=\"{}\"", uuid_for(email.key));
            let mut url = match url::Url::parse(&format!("{api}/v3/messages")) {
                Ok(u) => u,
                Err(_) => return SendOutcome::Retry("timeout".into()),
            };
            url.query_pairs_mut().append_pair("limit", "1").append_pair("query", &query);
            match upstream::send(Method::Get, url.as_str(), bearer(key), None, messaging_timeout_set()).await {
                Ok(r)
                    if r.ok()
                        && serde_json::from_str::<serde_json::Value>(&r.body)
                            .ok()
                            .is_some_and(|v| v["messages"].as_array().is_some_and(|m| !m.is_empty())) =>
                {
                    SendOutcome::Sent { sid: String::new() }
                }
                _ => SendOutcome::Retry("the email service did not answer in time".into()),
            }
        }
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}
