//! Tenant configuration: what a health system's admin sets up.
//!
//! Stored documents are forward compatible on purpose: each carries
//! `schema_version`, and fields this version does not know (written by a newer
//! gateway, e.g. SMS or video settings) are kept in `extra` and written back
//! unchanged, so an older gateway never drops them. API *input* types
//! ([`crate::api`]) are the opposite: they refuse unknown fields, so a typo is
//! an error rather than a silently ignored setting.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validation::ValidationReport;
use crate::video::{LaunchSettings, VideoSettings};

/// Version of the stored tenant document layout.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub schema_version: u32,
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub fhir_bases: Vec<FhirBase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSettings>,
    #[serde(default)]
    pub launch: LaunchSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<crate::sms::SmsSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<crate::email::EmailSettings>,
    /// How long reports, audit entries and visits are kept.
    #[serde(default)]
    pub retention: crate::retention::Retention,
    /// Provider hosts a platform admin allowed for this tenant besides the
    /// providers' own (`providers`); tenant admins cannot change it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_hosts: Vec<String>,
    /// Bumped by every save; the API's ETag is `"v{version}"`.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tenant {
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    pub fn base(&self, base_id: &str) -> Option<&FhirBase> {
        self.fhir_bases.iter().find(|b| b.id == base_id)
    }
}

pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// Parses an `If-Match` value (`"v3"`, `W/"v3"` or `v3`) into a version.
pub fn parse_etag(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.trim_matches('"');
    v.strip_prefix('v')?.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FhirBase {
    pub id: String,
    /// Normalised with [`crate::fhir_url::normalize_fhir_base`].
    pub url: String,
    pub environment: Environment,
    pub department: String,
    pub client: ClientRegistration,
    pub validation: ValidationReport,
    /// Whether this tenant's claim on the URL was approved. Only approved
    /// bases launch, notify and hold their URL; a tenant admin's new (or
    /// moved) base waits for a platform admin. Older documents: approved.
    #[serde(default)]
    pub approval: Approval,
    /// What the notification job watches on this base (empty: it sends nothing).
    #[serde(default)]
    pub watch: crate::watch::Watch,
    /// Which of this EHR's appointments are video visits.
    #[serde(default)]
    pub video_rule: crate::video_rule::VideoRule,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A FHIR base URL belongs to the tenant a platform admin approved it for:
/// a tenant admin cannot claim another organisation's EHR by typing first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    Approved,
    Pending,
}

impl FhirBase {
    pub fn approved(&self) -> bool {
        self.approval == Approval::Approved
    }
}

/// The SMART client registration the EHR issued for this FHIR base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    pub client_id: String,
    pub auth_method: ClientAuthMethod,
    /// Name of the Worker secret that holds the client secret
    /// (`client_secret_basic`) or the private signing key
    /// (`private_key_jwt`). Never the secret itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// Value of the KV launch index (`iss:{fhir_base}`): everything a launch needs
/// to start, so resolving an `iss` costs exactly one KV read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssEntry {
    pub tenant_id: String,
    pub base_id: String,
    pub fhir_base: String,
    pub environment: Environment,
    pub client: ClientRegistration,
    /// SMART capabilities found at validation (chooses v1/v2 scope syntax).
    pub capabilities: Vec<String>,
    pub launch: LaunchSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSettings>,
    #[serde(default)]
    pub retention: crate::retention::Retention,
    #[serde(default)]
    pub video_rule: crate::video_rule::VideoRule,
    pub tenant_version: u64,
}

impl IssEntry {
    pub fn for_base(tenant: &Tenant, base: &FhirBase) -> Self {
        IssEntry {
            tenant_id: tenant.id.clone(),
            base_id: base.id.clone(),
            fhir_base: base.url.clone(),
            environment: base.environment,
            client: base.client.clone(),
            capabilities: base.validation.capabilities.clone(),
            launch: tenant.launch.clone(),
            video: tenant.video.clone(),
            retention: tenant.retention,
            video_rule: base.video_rule.clone(),
            tenant_version: tenant.version,
        }
    }
}

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin { tenant_id: String },
}

impl Role {
    pub fn may_access(&self, tenant_id: &str) -> bool {
        match self {
            Role::PlatformAdmin => true,
            Role::TenantAdmin { tenant_id: own } => own == tenant_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etag_round_trip_and_weak_form() {
        assert_eq!(etag(7), "\"v7\"");
        assert_eq!(parse_etag("\"v7\""), Some(7));
        assert_eq!(parse_etag("W/\"v7\""), Some(7));
        assert_eq!(parse_etag("v7"), Some(7));
        assert_eq!(parse_etag("*"), None);
        assert_eq!(parse_etag("\"7\""), None);
    }

    #[test]
    fn stored_document_keeps_fields_from_newer_versions() {
        let doc = json!({
            "schema_version": 2, "id": "t1", "display_name": "T", "fhir_bases": [],
            "version": 3, "created_at": "x", "updated_at": "y", "updated_by": "z",
            "launch": {"write_back": true, "skip_provider_page": false},
            "retention": {"reports_days": 400, "audit_days": 2190, "visit_days": 14},
            "reports": {"retention_days": 400}
        });
        let t: Tenant = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(t.extra["reports"], json!({"retention_days": 400}));
        assert_eq!(serde_json::to_value(&t).unwrap(), doc);
    }

    #[test]
    fn tenant_admin_reaches_only_own_tenant() {
        let r = Role::TenantAdmin { tenant_id: "a".into() };
        assert!(r.may_access("a"));
        assert!(!r.may_access("b"));
        assert!(Role::PlatformAdmin.may_access("b"));
    }
}
