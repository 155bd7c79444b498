//! Azure Communication Services SMS: a repeated `repeatabilityRequestId` is
//! not sent again, so a timeout is simply tried again with the same id and
//! first-sent time.

use worker::Method;

use super::model::Sms;
use crate::secrets::Secret;
use crate::upstream::acs_auth::{self, uuid_for};
use crate::upstream::{self, messaging_timeout_set, SendOutcome, UpstreamError};

pub async fn send(endpoint: &str, key: &Secret, sms: &Sms<'_>) -> SendOutcome {
    let body = serde_json::json!({
        "from": sms.from,
        "smsRecipients": [{"to": sms.to, "repeatabilityRequestId": uuid_for(sms.key), "repeatabilityFirstSent": sms.first_sent}],
        "message": sms.body,
        "smsSendOptions": {"enableDeliveryReport": true, "tag": sms.tag},
    })
    .to_string();
    let url = format!("{endpoint}/sms?api-version=2021-03-07");
    let Some(headers) = acs_auth::headers(key, &Method::Post, &url, &body) else {
        return SendOutcome::Failed("the SMS provider's access key is not valid base64".into());
    };
    match upstream::send(Method::Post, &url, headers, Some(body), messaging_timeout_set()).await {
        Ok(r) if r.ok() => {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            let item = &v["value"][0];
            match item["successful"].as_bool() {
                Some(true) => SendOutcome::Sent { sid: item["messageId"].as_str().unwrap_or_default().to_string() },
                Some(false) => {
                    let status = item["httpStatusCode"].as_u64().unwrap_or(0);
                    let why = format!(
                        "SMS provider refused the message (HTTP {status}: {})",
                        item["errorMessage"].as_str().unwrap_or("no reason given")
                    );
                    if status == 429 || status >= 500 {
                        SendOutcome::Retry(why)
                    } else {
                        SendOutcome::Failed(why)
                    }
                }
                None => SendOutcome::Retry("unreadable answer from the SMS provider".into()),
            }
        }
        Ok(r) if r.status == 429 || r.status >= 500 => SendOutcome::Retry(format!("SMS provider HTTP {}", r.status)),
        Ok(r) => SendOutcome::Failed(format!("SMS provider refused the message (HTTP {})", r.status)),
        Err(UpstreamError::Timeout) => SendOutcome::Retry("the SMS provider did not answer in time".into()),
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}
