//! How admins sign in through an OpenID Connect provider (Worker variable
//! `ADMIN_OIDC`, JSON), and how their token's claims become a portal role.
//! Pure, so the mapping rules test on the host.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use shared::tenant::Role;

pub const VAR: &str = "ADMIN_OIDC";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigninConfig {
    /// The provider's issuer, exactly as its id_tokens say (Entra: `https://login.microsoftonline.com/{tenant}/v2.0`).
    pub issuer: String,
    pub client_id: String,
    /// Name of the Worker secret that holds the client secret.
    #[serde(default = "default_secret_ref")]
    pub client_secret_ref: String,
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// The claim whose values name roles (Entra app roles: `roles`; groups: `groups`).
    #[serde(default = "default_claim")]
    pub role_claim: String,
    /// Claim values that make a platform admin.
    #[serde(default)]
    pub platform_admin: Vec<String>,
    /// Claim value → the tenant its holder administers.
    #[serde(default)]
    pub tenant_admin: BTreeMap<String, String>,
    /// A claim value `{prefix}{tenant id}` makes a tenant admin of that tenant.
    #[serde(default)]
    pub tenant_admin_prefix: Option<String>,
    /// Shown on the sign-in button ("Sign in with …").
    #[serde(default)]
    pub provider_name: Option<String>,
}

fn default_secret_ref() -> String {
    "ADMIN_OIDC_CLIENT_SECRET".into()
}
fn default_scopes() -> String {
    "openid profile email".into()
}
fn default_claim() -> String {
    "roles".into()
}

impl SigninConfig {
    pub fn parse(text: &str) -> Result<Self, String> {
        let c: SigninConfig = serde_json::from_str(text).map_err(|e| format!("{VAR} is not valid JSON for the sign-in settings ({e})"))?;
        if c.issuer.trim().is_empty() || c.client_id.trim().is_empty() {
            return Err(format!("{VAR} needs an issuer and a client_id"));
        }
        if !c.scopes.split_whitespace().any(|s| s == "openid") {
            return Err(format!("{VAR}.scopes must include openid"));
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleError {
    /// Signed in, but nothing in the token grants access here.
    NoRole,
    /// The token names more than one tenant; a session is for one.
    SeveralTenants(Vec<String>),
}

/// The values of `claim`: a string or an array of strings.
fn values<'a>(claims: &'a Map<String, Value>, claim: &str) -> Vec<&'a str> {
    match claims.get(claim) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Platform admin wins; otherwise exactly one tenant.
pub fn role_for(config: &SigninConfig, claims: &Map<String, Value>) -> Result<Role, RoleError> {
    let held = values(claims, &config.role_claim);
    if held.iter().any(|v| config.platform_admin.iter().any(|p| p == v)) {
        return Ok(Role::PlatformAdmin);
    }
    let mut tenants: Vec<String> = held
        .iter()
        .filter_map(|v| {
            config.tenant_admin.get(*v).cloned().or_else(|| {
                let prefix = config.tenant_admin_prefix.as_deref().filter(|p| !p.is_empty())?;
                v.strip_prefix(prefix).filter(|t| shared::ids::is_valid_id(t)).map(str::to_string)
            })
        })
        .collect();
    tenants.sort();
    tenants.dedup();
    match tenants.len() {
        0 => Err(RoleError::NoRole),
        1 => Ok(Role::TenantAdmin { tenant_id: tenants.remove(0) }),
        _ => Err(RoleError::SeveralTenants(tenants)),
    }
}

/// Who the audit log names: the provider's user name, else email, else `sub`.
pub fn subject(claims: &Map<String, Value>, sub: &str) -> String {
    ["preferred_username", "email", "upn"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str).filter(|v| !v.is_empty()))
        .unwrap_or(sub)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SigninConfig {
        SigninConfig::parse(
            r#"{"issuer":"https://login.example/t/v2.0","client_id":"c","platform_admin":["Visitgate.PlatformAdmin"],
                "tenant_admin":{"Northwind admins":"northwind"},"tenant_admin_prefix":"Visitgate.TenantAdmin."}"#,
        )
        .unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parsing_defaults_and_refusals() {
        let c = config();
        assert_eq!(
            (c.scopes.as_str(), c.role_claim.as_str(), c.client_secret_ref.as_str()),
            ("openid profile email", "roles", "ADMIN_OIDC_CLIENT_SECRET")
        );
        assert!(SigninConfig::parse("{").unwrap_err().contains("not valid JSON"));
        assert!(SigninConfig::parse(r#"{"issuer":"","client_id":"c"}"#).unwrap_err().contains("issuer"));
        assert!(SigninConfig::parse(r#"{"issuer":"i","client_id":"c","scopes":"profile"}"#).unwrap_err().contains("openid"));
        assert!(SigninConfig::parse(r#"{"issuer":"i","client_id":"c","rolez":"x"}"#).is_err(), "unknown fields refused");
    }

    #[test]
    fn claims_map_to_roles() {
        let c = config();
        assert_eq!(role_for(&c, &claims(json!({"roles": ["Other", "Visitgate.PlatformAdmin"]}))), Ok(Role::PlatformAdmin));
        assert_eq!(role_for(&c, &claims(json!({"roles": "Northwind admins"}))), Ok(Role::TenantAdmin { tenant_id: "northwind".into() }));
        assert_eq!(
            role_for(&c, &claims(json!({"roles": ["Visitgate.TenantAdmin.demo"]}))),
            Ok(Role::TenantAdmin { tenant_id: "demo".into() })
        );
        assert_eq!(
            role_for(&c, &claims(json!({"roles": ["Visitgate.TenantAdmin.demo", "Visitgate.PlatformAdmin"]}))),
            Ok(Role::PlatformAdmin)
        );
        assert_eq!(role_for(&c, &claims(json!({"roles": ["Visitgate.TenantAdmin.Bad_Id"]}))), Err(RoleError::NoRole));
        assert_eq!(role_for(&c, &claims(json!({}))), Err(RoleError::NoRole));
        assert_eq!(role_for(&c, &claims(json!({"groups": ["Visitgate.PlatformAdmin"]}))), Err(RoleError::NoRole), "other claim");
        assert_eq!(
            role_for(&c, &claims(json!({"roles": ["Visitgate.TenantAdmin.demo", "Northwind admins"]}))),
            Err(RoleError::SeveralTenants(vec!["demo".into(), "northwind".into()]))
        );
    }

    #[test]
    fn subject_prefers_the_user_name() {
        assert_eq!(subject(&claims(json!({"preferred_username": "a@x", "email": "b@x"})), "s"), "a@x");
        assert_eq!(subject(&claims(json!({"email": "b@x"})), "s"), "b@x");
        assert_eq!(subject(&claims(json!({})), "s"), "s");
    }
}
