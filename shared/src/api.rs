//! Admin API request and response bodies (`/api/v1/…`).
//!
//! Request bodies refuse unknown fields: a misspelt setting is a 400 with
//! the field named, never silently ignored.

use serde::{Deserialize, Serialize};

use crate::tenant::{ClientAuthMethod, ClientRegistration, Environment, Role, Tenant};
use crate::validation::ValidationReport;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every API error: a stable `code` to quote to support, words for a person,
/// and the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The current document on a 409, so the client can show what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<Tenant>>,
    /// The validation report on a 422 for a FHIR base that failed validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Box<ValidationReport>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdate {
    pub display_name: String,
    /// Omitted: unchanged.
    #[serde(default)]
    pub video: Option<crate::video::VideoSettings>,
    /// Omitted: unchanged.
    #[serde(default)]
    pub launch: Option<crate::video::LaunchSettings>,
    /// Omitted: unchanged.
    #[serde(default)]
    pub retention: Option<crate::retention::Retention>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirBaseInput {
    pub url: String,
    pub environment: Environment,
    #[serde(default)]
    pub department: String,
    pub client: ClientRegistration,
    /// Absent: a new base uses Oracle's rooms, a changed one keeps its rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_rule: Option<crate::video_rule::VideoRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    pub url: String,
    #[serde(default = "default_auth")]
    pub auth_method: ClientAuthMethod,
}

fn default_auth() -> ClientAuthMethod {
    ClientAuthMethod::ClientSecretBasic
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantList {
    pub tenants: Vec<Tenant>,
}

/// `GET /api/v1/me`: who is signed in, and the CSRF token a browser session
/// must send back in `X-CSRF-Token` on every mutating call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub subject: String,
    #[serde(flatten)]
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    PlatformAdmin,
    TenantAdmin,
}

/// Builds a [`Role`] from the flat `role` + `tenant_id` request fields.
pub fn role_from(name: RoleName, tenant_id: Option<String>) -> Result<Role, &'static str> {
    match (name, tenant_id) {
        (RoleName::PlatformAdmin, None) => Ok(Role::PlatformAdmin),
        (RoleName::PlatformAdmin, Some(_)) => Err("A platform admin is not tied to a tenant; leave tenant_id out."),
        (RoleName::TenantAdmin, Some(t)) => Ok(Role::TenantAdmin { tenant_id: t }),
        (RoleName::TenantAdmin, None) => Err("A tenant admin needs the tenant_id of their tenant."),
    }
}

/// `POST /api/v1/tokens` (platform admin): mint an automation token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    pub label: String,
    pub role: RoleName,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// How long the token works: 1–365 days, 90 when not given.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// An API token as listed: never its value (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenInfo {
    pub id: String,
    pub label: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: String,
    /// Unix milliseconds.
    pub expires_at_ms: f64,
}

/// `GET /api/v1/tokens[?tenant_id=]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenList {
    pub tokens: Vec<ApiTokenInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedSecret {
    /// The token's id (to list and revoke it), when it is a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Shown once; only its SHA-256 is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub expires_at: Option<String>,
}

/// `POST /api/v1/login-links` (platform admin): a one-time portal sign-in link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLoginLink {
    pub subject: String,
    pub role: RoleName,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `PUT /api/v1/tenants/{id}/provider-hosts` (platform admin): provider
/// hosts this tenant may use besides the providers' own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderHosts {
    pub hosts: Vec<String>,
}

/// `POST …/sms/numbers`: where the new number should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberOrderRequest {
    /// ISO country, e.g. "US".
    #[serde(default = "us")]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_code: Option<String>,
}

fn us() -> String {
    "US".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Running,
    Succeeded,
    Failed,
}

/// One "Generate a new phone number" order, as the admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberOrder {
    pub id: String,
    pub status: OrderStatus,
    /// What is happening now, in words.
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub request: NumberOrderRequest,
    pub created_at: u64,
    pub updated_at: u64,
    pub created_by: String,
}

/// `GET …/sms/numbers`: the tenant's numbers and its orders, running or done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberList {
    pub numbers: Vec<String>,
    pub orders: Vec<NumberOrder>,
}

/// A tenant secret as the API lists it: its name and when it was set, never
/// its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub name: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// `GET …/secrets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretList {
    pub secrets: Vec<SecretInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let e = serde_json::from_str::<NewTenant>(r#"{"id":"a1","display_name":"A","colour":"red"}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = serde_json::from_str::<FhirBaseInput>(
            r#"{"url":"https://x","environment":"test","client":{"client_id":"c","auth_method":"client_secret_basic","secret":"s"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `secret`"), "{e}");
    }

    #[test]
    fn environment_and_role_spellings() {
        let f: FhirBaseInput = serde_json::from_str(
            r#"{"url":"https://x","environment":"production","client":{"client_id":"c","auth_method":"private_key_jwt"}}"#,
        )
        .unwrap();
        assert_eq!(f.environment, Environment::Production);
        let t: NewApiToken = serde_json::from_str(r#"{"label":"ci","role":"tenant_admin","tenant_id":"t1"}"#).unwrap();
        assert_eq!(role_from(t.role, t.tenant_id), Ok(Role::TenantAdmin { tenant_id: "t1".into() }));
        assert!(role_from(RoleName::TenantAdmin, None).is_err());
        assert!(serde_json::from_str::<Environment>(r#""staging""#).is_err());
    }
}
