//! Twilio Programmable Messaging: sending a text, finding one whose answer
//! was lost, and the `X-Twilio-Signature` its webhooks carry.

use serde::Deserialize;
use worker::{Headers, Method};

use super::model::Sms;
use crate::secrets::Secret;
use crate::upstream::{self, messaging_timeout_set, SendOutcome, UpstreamError};

pub struct Account<'a> {
    pub account_sid: &'a str,
    pub token: Secret,
    pub api_base: &'a str,
}

/// Basic auth (account SID and auth token) and JSON answers.
pub fn auth_headers(account_sid: &str, token: &Secret) -> Headers {
    use base64::Engine;
    let h = Headers::new();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{}", token.expose()));
    let _ = h.set("authorization", &format!("Basic {basic}"));
    let _ = h.set("accept", "application/json");
    h
}

impl Account<'_> {
    fn messages_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Messages.json", self.api_base, self.account_sid)
    }

    /// Was this exact message already accepted (an earlier attempt timed out)?
    /// Filtered by sender and day only: a patient's number must never appear
    /// in a URL, where request logs and traces would keep it.
    async fn find(&self, to: &str, from: &str, body: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Page {
            messages: Vec<Msg>,
        }
        #[derive(Deserialize)]
        struct Msg {
            sid: String,
            body: String,
            to: String,
        }
        let today = crate::clock::today();
        let mut url = url::Url::parse(&self.messages_url()).ok()?;
        url.query_pairs_mut().append_pair("From", from).append_pair("DateSent>", &today).append_pair("PageSize", "1000");
        let resp = upstream::send(Method::Get, url.as_str(), auth_headers(self.account_sid, &self.token), None, messaging_timeout_set())
            .await
            .ok()?;
        let page: Page = serde_json::from_str(&resp.body).ok()?;
        page.messages.into_iter().find(|m| m.to == to && m.body == body).map(|m| m.sid)
    }
}

pub async fn send(t: &Account<'_>, sms: &Sms<'_>) -> SendOutcome {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", sms.to)
        .append_pair("From", sms.from)
        .append_pair("Body", sms.body)
        .append_pair("StatusCallback", sms.status_callback);
    let headers = auth_headers(t.account_sid, &t.token);
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    match upstream::send(Method::Post, &t.messages_url(), headers, Some(form.finish()), messaging_timeout_set()).await {
        Ok(r) if r.ok() => {
            #[derive(Deserialize)]
            struct Created {
                sid: String,
            }
            match serde_json::from_str::<Created>(&r.body) {
                Ok(c) => SendOutcome::Sent { sid: c.sid },
                Err(_) => SendOutcome::Retry("unreadable answer from the SMS provider".into()),
            }
        }
        Ok(r) if r.status == 429 || r.status >= 500 => SendOutcome::Retry(format!("SMS provider HTTP {}", r.status)),
        Ok(r) => {
            let code = serde_json::from_str::<serde_json::Value>(&r.body).ok().and_then(|v| v["code"].as_u64()).unwrap_or(0);
            SendOutcome::Failed(format!("SMS provider refused the message (HTTP {}, code {code})", r.status))
        }
        Err(UpstreamError::Timeout) => match t.find(sms.to, sms.from, sms.body).await {
            // Accepted after all: do not send it twice.
            Some(sid) => SendOutcome::Sent { sid },
            None => SendOutcome::Retry("the SMS provider did not answer in time".into()),
        },
        Err(UpstreamError::Network(w)) => SendOutcome::Retry(w),
    }
}

/// Twilio's `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL followed
/// by every POST parameter, sorted by name, as name + value)).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_twilios_documented_example() {
        // From Twilio's "Webhooks security" documentation.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }
}
