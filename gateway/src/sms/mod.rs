//! The SMS adapter: Twilio Programmable Messaging (`twilio`) or Azure
//! Communication Services SMS (`acs`), chosen per tenant; buying numbers
//! (`numbers`); and reading what the providers send back (`webhooks`).
//! A send that times out may still have been accepted: ACS settles that
//! itself (`repeatabilityRequestId` / `repeatabilityFirstSent`, kept the same
//! for every try of one message); Twilio has no idempotency key, so the
//! adapter looks the message up in Twilio's log before trying again.

pub mod acs;
pub mod model;
pub mod numbers;
pub mod twilio;
pub mod webhooks;

use shared::sms::SmsProvider;
use worker::Env;

pub use self::model::Sms;
use crate::upstream::SendOutcome;

pub async fn send_sms(env: &Env, tenant_id: &str, provider: &SmsProvider, sms: &Sms<'_>) -> SendOutcome {
    crate::upstream::messaging_timeout(env);
    match provider {
        SmsProvider::Twilio { account_sid, auth_token_ref, api_base } => {
            let Some(token) = crate::secrets::tenant::get(env, tenant_id, auth_token_ref).await else {
                return SendOutcome::Failed(format!("the SMS provider's token (secret {auth_token_ref}) is not set up"));
            };
            twilio::send(&twilio::Account { account_sid, token, api_base }, sms).await
        }
        SmsProvider::Acs { endpoint, access_key_ref } => {
            let Some(key) = crate::secrets::tenant::get(env, tenant_id, access_key_ref).await else {
                return SendOutcome::Failed(format!("the SMS provider's access key (secret {access_key_ref}) is not set up"));
            };
            acs::send(endpoint.trim_end_matches('/'), &key, sms).await
        }
    }
}
