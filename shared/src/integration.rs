//! Integration records: what the EHR side must register so that provider
//! launch and patient launch work (the seed's "Review and finish" page).

use serde::{Deserialize, Serialize};

use crate::smart::{backend_scopes, provider_scopes};
use crate::tenant::{ClientAuthMethod, Environment, Tenant};

pub const LAUNCH_PATH: &str = "/launch";
pub const CALLBACK_PATH: &str = "/launch/callback";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const PATIENT_LINK_PATH: &str = "/j/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRecords {
    pub tenant_id: String,
    pub display_name: String,
    pub records: Vec<BaseRecords>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseRecords {
    pub fhir_base_id: String,
    pub fhir_base: String,
    pub environment: Environment,
    pub department: String,
    pub provider_launch: ProviderLaunchRecord,
    pub patient_launch: PatientLaunchRecord,
}

/// The SMART app the EHR admin registers for clinicians (Oracle Health code
/// console: "Provider" app, SMART v2, confidential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderLaunchRecord {
    pub app_name: String,
    pub application_type: String,
    pub intended_users: String,
    pub launch_type: String,
    pub launch_url: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Set for `private_key_jwt`: where the EHR fetches our public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    pub scopes: String,
    pub pkce: String,
}

/// What the patient side needs: the link patients tap, and the Backend
/// Services registration the reminder job uses to find appointments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientLaunchRecord {
    pub patient_link_base_url: String,
    pub patient_sign_in: String,
    pub backend_service_client_id: String,
    pub backend_service_auth_method: ClientAuthMethod,
    pub backend_service_jwks_url: String,
    pub backend_service_scopes: String,
}

/// Builds the records for every FHIR base of a tenant. `origin` is the
/// gateway's public origin, e.g. `https://visits.example.org`.
pub fn integration_records(origin: &str, tenant: &Tenant) -> IntegrationRecords {
    let origin = origin.trim_end_matches('/');
    let jwks_url = format!("{origin}{JWKS_PATH}");
    let records = tenant
        .fhir_bases
        .iter()
        .map(|b| {
            let caps = &b.validation.capabilities;
            BaseRecords {
                fhir_base_id: b.id.clone(),
                fhir_base: b.url.clone(),
                environment: b.environment,
                department: b.department.clone(),
                provider_launch: ProviderLaunchRecord {
                    app_name: format!("Visitgate video visits — {}", tenant.display_name),
                    application_type: "Provider (SMART EHR launch), confidential client".into(),
                    intended_users: "Clinicians in PowerChart".into(),
                    launch_type: "EHR launch".into(),
                    // `env` lets the gateway refuse a launch whose iss is configured
                    // for the other environment (a registration pointed at the wrong system).
                    launch_url: format!("{origin}{LAUNCH_PATH}?env={}", b.environment.as_str()),
                    redirect_uri: format!("{origin}{CALLBACK_PATH}"),
                    client_id: b.client.client_id.clone(),
                    token_endpoint_auth_method: b.client.auth_method,
                    jwks_url: (b.client.auth_method == ClientAuthMethod::PrivateKeyJwt).then(|| jwks_url.clone()),
                    scopes: provider_scopes(caps, false),
                    pkce: "S256".into(),
                },
                patient_launch: PatientLaunchRecord {
                    patient_link_base_url: format!("{origin}{PATIENT_LINK_PATH}"),
                    patient_sign_in: "None: patients join from a link without an account".into(),
                    backend_service_client_id: b.client.client_id.clone(),
                    backend_service_auth_method: ClientAuthMethod::PrivateKeyJwt,
                    backend_service_jwks_url: jwks_url.clone(),
                    backend_service_scopes: backend_scopes(caps),
                },
            }
        })
        .collect();
    IntegrationRecords { tenant_id: tenant.id.clone(), display_name: tenant.display_name.clone(), records }
}
