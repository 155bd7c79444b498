//! The email adapter: Azure Communication Services Email or SendGrid v3.
//! Like the SMS adapter, a send that times out may have been accepted, so it
//! is settled before another try: ACS by the operation id we chose
//! (`Operation-Id`, looked up afterwards), SendGrid by our key in
//! `custom_args`, looked up in its Email Activity API (`sendgrid`).

pub mod acs;
pub mod model;
pub mod sendgrid;

use shared::email::EmailProvider;
use worker::Env;

pub use self::model::Email;
use crate::upstream::SendOutcome;

pub async fn send_email(env: &Env, tenant_id: &str, provider: &EmailProvider, email: &Email<'_>) -> SendOutcome {
    crate::upstream::messaging_timeout(env);
    match provider {
        EmailProvider::AcsEmail { endpoint, access_key_ref, sender_address } => {
            let Some(key) = crate::secrets::tenant::get(env, tenant_id, access_key_ref).await else {
                return SendOutcome::Failed(format!("the email service's access key (secret {access_key_ref}) is not set up"));
            };
            acs::send(endpoint.trim_end_matches('/'), &key, sender_address, email).await
        }
        EmailProvider::SendGrid { api_base, api_key_ref, from_email } => {
            let Some(key) = crate::secrets::tenant::get(env, tenant_id, api_key_ref).await else {
                return SendOutcome::Failed(format!("the email service's API key (secret {api_key_ref}) is not set up"));
            };
            sendgrid::send(api_base.trim_end_matches('/'), &key, from_email, email).await
        }
    }
}
