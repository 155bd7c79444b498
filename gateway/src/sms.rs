//! The SMS adapter: Twilio Programmable Messaging or Azure Communication
//! Services SMS. A send that times out may still have been accepted: ACS
//! settles that itself (`repeatabilityRequestId` / `repeatabilityFirstSent`,
//! kept the same for every try of one message); Twilio has no idempotency
//! key, so the adapter looks the message up in Twilio's log before trying again.

use serde::Deserialize;
use shared::sms::SmsProvider;
use worker::{Env, Headers, Method};

use crate::upstream::{send, UpstreamError};


#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Sent { sid: String },
    /// Worth another try later (5xx, 429, network).
    Retry(String),
    /// Will not succeed as is (bad number, auth).
    Failed(String),
}

struct Twilio<'a> {
    account_sid: &'a str,
    token: String,
    api_base: &'a str,
}

impl Twilio<'_> {
    fn headers(&self) -> worker::Result<Headers> {
        use base64::Engine;
        let h = Headers::new();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.account_sid, self.token));
        h.set("authorization", &format!("Basic {basic}"))?;
        h.set("accept", "application/json")?;
        Ok(h)
    }

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
        let today = String::from(js_sys::Date::new_0().to_iso_string())[..10].to_string();
        let mut url = url::Url::parse(&self.messages_url()).ok()?;
        url.query_pairs_mut().append_pair("From", from).append_pair("DateSent>", &today).append_pair("PageSize", "1000");
        let resp = send(Method::Get, url.as_str(), self.headers().ok()?, None, crate::upstream::messaging_timeout_set()).await.ok()?;
        let page: Page = serde_json::from_str(&resp.body).ok()?;
        page.messages.into_iter().find(|m| m.to == to && m.body == body).map(|m| m.sid)
    }
}

/// One text; the number and body pass through memory only.
pub struct Sms<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
    /// Where delivery reports go (Twilio) or the visit they belong to (ACS tag).
    pub status_callback: &'a str,
    pub tag: &'a str,
    /// The message's exactly-once key and when it was first tried (RFC 1123).
    pub key: &'a str,
    pub first_sent: &'a str,
}

pub async fn send_sms(env: &Env, tenant_id: &str, provider: &SmsProvider, sms: &Sms<'_>) -> SendOutcome {
    crate::upstream::messaging_timeout(env);
    match provider {
        SmsProvider::Twilio { account_sid, auth_token_ref, api_base } => {
            let Some(token) = crate::secrets::get(env, tenant_id, auth_token_ref).await else {
                return SendOutcome::Failed(format!("the SMS provider's token (secret {auth_token_ref}) is not set up"));
            };
            twilio_send(&Twilio { account_sid, token, api_base }, sms).await
        }
        SmsProvider::Acs { endpoint, access_key_ref } => {
            let Some(key) = crate::secrets::get(env, tenant_id, access_key_ref).await else {
                return SendOutcome::Failed(format!("the SMS provider's access key (secret {access_key_ref}) is not set up"));
            };
            acs_send(endpoint.trim_end_matches('/'), &key, sms).await
        }
    }
}

async fn twilio_send(t: &Twilio<'_>, sms: &Sms<'_>) -> SendOutcome {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", sms.to).append_pair("From", sms.from).append_pair("Body", sms.body).append_pair("StatusCallback", sms.status_callback);
    let headers = match t.headers() {
        Ok(h) => h,
        Err(e) => return SendOutcome::Failed(e.to_string()),
    };
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    match send(Method::Post, &t.messages_url(), headers, Some(form.finish()), crate::upstream::messaging_timeout_set()).await {
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

/// ACS SMS: a repeated `repeatabilityRequestId` is not sent again, so a
/// timeout is simply tried again with the same id and first-sent time.
async fn acs_send(endpoint: &str, key: &str, sms: &Sms<'_>) -> SendOutcome {
    let body = serde_json::json!({
        "from": sms.from,
        "smsRecipients": [{"to": sms.to, "repeatabilityRequestId": crate::acs::uuid_for(sms.key), "repeatabilityFirstSent": sms.first_sent}],
        "message": sms.body,
        "smsSendOptions": {"enableDeliveryReport": true, "tag": sms.tag},
    })
    .to_string();
    let url = format!("{endpoint}/sms?api-version=2021-03-07");
    let Some(headers) = crate::acs::headers(key, &Method::Post, &url, &body) else {
        return SendOutcome::Failed("the SMS provider's access key is not valid base64".into());
    };
    match send(Method::Post, &url, headers, Some(body), crate::upstream::messaging_timeout_set()).await {
        Ok(r) if r.ok() => {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            let item = &v["value"][0];
            match item["successful"].as_bool() {
                Some(true) => SendOutcome::Sent { sid: item["messageId"].as_str().unwrap_or_default().to_string() },
                Some(false) => {
                    let status = item["httpStatusCode"].as_u64().unwrap_or(0);
                    let why = format!("SMS provider refused the message (HTTP {status}: {})", item["errorMessage"].as_str().unwrap_or("no reason given"));
                    if status == 429 || status >= 500 { SendOutcome::Retry(why) } else { SendOutcome::Failed(why) }
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

/// Twilio's `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL followed
/// by every POST parameter, sorted by name, as name + value)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
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

/// A webhook from Twilio for a tenant: its form parameters, once the
/// `X-Twilio-Signature` has been checked against the tenant's auth token.
async fn verified_params(mut req: worker::Request, ctx: &crate::Ctx, tenant: &shared::tenant::Tenant) -> crate::error::Result<Vec<(String, String)>> {
    use crate::error::Error;
    let Some(shared::sms::SmsSettings { provider: SmsProvider::Twilio { auth_token_ref, .. }, .. }) = &tenant.sms else {
        return Err(Error::not_found("This webhook"));
    };
    let token = crate::secrets::get(&ctx.env, &tenant.id, auth_token_ref).await.ok_or_else(|| Error::internal("SMS auth token missing"))?;
    let signature = req.headers().get("x-twilio-signature")?.unwrap_or_default();
    let url = req.url()?.to_string();
    let body = req.text().await?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    if !crate::crypto::constant_time_eq(&twilio_signature(&token, &url, &params), &signature) {
        return Err(Error::new(403, "signature_invalid", "The webhook signature does not match."));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

/// `POST /webhooks/sms/status/{tenant}/{visit}`: Twilio's delivery report,
/// recorded on the visit without the number.
pub async fn status_callback(req: worker::Request, ctx: &crate::Ctx, rest: &str) -> crate::error::Result<worker::Response> {
    use crate::error::Error;
    let (tenant_id, visit_ref) = rest.split_once('/').ok_or_else(|| Error::not_found("This webhook"))?;
    if visit_ref.len() != 64 || !visit_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::not_found("This webhook"));
    }
    let tenant = load_tenant(ctx, tenant_id).await?;
    let params = verified_params(req, ctx, &tenant).await?;
    let kind = match param(&params, "MessageStatus") {
        "delivered" => Some("sms_delivered"),
        "failed" | "undelivered" => Some("sms_undelivered"),
        _ => None,
    };
    if let Some(kind) = kind {
        let code = Some(param(&params, "ErrorCode")).filter(|c| !c.is_empty()).map(|c| format!("error {c}"));
        crate::visit::record(&ctx.env, visit_ref, crate::visit::Event::new(kind, None, code)).await?;
    }
    Ok(worker::Response::empty()?.with_status(204))
}

/// STOP, START and HELP from a patient's phone, for either provider. The
/// number is kept only as a keyed hash, in the tenant's opt-out object.
/// Returns our HELP answer, if one should be sent.
pub async fn handle_keyword(ctx: &crate::Ctx, tenant: &shared::tenant::Tenant, from: &str, body: &str) -> crate::error::Result<Option<String>> {
    use crate::storage::opt_out;
    use shared::sms::{keyword, Keyword};
    let Some(hash) = opt_out::number_hash(&ctx.env, from) else { return Err(crate::error::Error::internal("APPOINTMENT_REF_KEY missing")) };
    match keyword(body) {
        Keyword::Stop => {
            opt_out::stop(&ctx.env, &tenant.id, hash).await?;
        }
        Keyword::Start => {
            opt_out::start(&ctx.env, &tenant.id, hash).await?;
        }
        Keyword::Help => {
            let clinic = tenant.sms.as_ref().map(|s| s.clinic_name.as_str()).filter(|c| !c.is_empty()).unwrap_or(&tenant.display_name);
            return Ok(Some(shared::sms::help_reply(clinic, "en")));
        }
        Keyword::Other => {}
    }
    Ok(None)
}

/// `POST /webhooks/sms/inbound/{tenant}` (the Twilio number's SmsUrl):
/// STOP and its synonyms opt the sender out, START opts them back in. Twilio
/// answers these keywords and HELP itself (Advanced Opt-Out), so the reply
/// here is empty TwiML.
pub async fn inbound(req: worker::Request, ctx: &crate::Ctx, tenant_id: &str) -> crate::error::Result<worker::Response> {
    let tenant = load_tenant(ctx, tenant_id).await?;
    let params = verified_params(req, ctx, &tenant).await?;
    handle_keyword(ctx, &tenant, param(&params, "From"), param(&params, "Body")).await?;
    let mut resp = worker::Response::ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")?;
    resp.headers_mut().set("content-type", "text/xml")?;
    Ok(resp)
}

async fn load_tenant(ctx: &crate::Ctx, tenant_id: &str) -> crate::error::Result<shared::tenant::Tenant> {
    crate::http::id_param(tenant_id, "tenant")?;
    crate::storage::kv::store(&ctx.env)?
        .get(&shared::kv_keys::tenant(tenant_id))
        .json()
        .await
        .map_err(worker::Error::from)?
        .ok_or_else(|| crate::error::Error::not_found("This webhook"))
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
        assert_eq!(
            twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }
}
