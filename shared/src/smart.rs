//! SMART App Launch 2.2 discovery document and the scopes Visitgate asks for.

use serde::{Deserialize, Serialize};

/// `{fhir_base}/.well-known/smart-configuration`. Lenient on purpose: missing
/// fields become empty and are judged by [`crate::validation`], so a partly
/// broken document yields a precise finding instead of a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmartConfiguration {
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    pub grant_types_supported: Option<Vec<String>>,
    pub scopes_supported: Option<Vec<String>>,
    pub response_types_supported: Option<Vec<String>>,
    pub capabilities: Vec<String>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Client-assertion algorithms SMART's asymmetric profile allows.
pub const ASYMMETRIC_ALGS: [&str; 2] = ["RS384", "ES384"];

/// Whether the server takes SMART v2 scope syntax (`.rs`) or only v1 (`.read`).
pub fn uses_v2_scopes(capabilities: &[String]) -> bool {
    capabilities.iter().any(|c| c == "permission-v2")
}

/// The minimum the provider launch needs: sign-in with `fhirUser`, read access
/// to the appointment context, and write on Appointment only when the
/// meeting-link write-back is on.
pub fn provider_scopes(capabilities: &[String], write_back: bool) -> String {
    let v2 = uses_v2_scopes(capabilities);
    let read = if v2 { "rs" } else { "read" };
    let mut scopes = vec!["launch".to_string(), "openid".into(), "fhirUser".into()];
    for r in ["Appointment", "Encounter", "Patient", "Practitioner"] {
        scopes.push(format!("user/{r}.{read}"));
    }
    if write_back {
        scopes.push(if v2 { "user/Appointment.u".into() } else { "user/Appointment.write".into() });
    }
    scopes.join(" ")
}

/// Backend Services scopes for the notification job: find video
/// appointments at the watched locations and practitioners (read by id to
/// check the watch list), and read the patient's mobile number at send time.
pub fn backend_scopes(capabilities: &[String]) -> String {
    let read = if uses_v2_scopes(capabilities) { "rs" } else { "read" };
    format!("system/Appointment.{read} system/Patient.{read} system/Location.{read} system/Practitioner.{read}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_syntax_follows_advertised_capabilities() {
        let v1 = provider_scopes(&[], false);
        assert_eq!(v1, "launch openid fhirUser user/Appointment.read user/Encounter.read user/Patient.read user/Practitioner.read");
        let v2 = provider_scopes(&["permission-v2".into()], true);
        assert!(v2.contains("user/Patient.rs") && v2.ends_with("user/Appointment.u"));
        assert_eq!(
            backend_scopes(&["permission-v2".into()]),
            "system/Appointment.rs system/Patient.rs system/Location.rs system/Practitioner.rs"
        );
    }

    #[test]
    fn lenient_parse_of_partial_document() {
        let c: SmartConfiguration = serde_json::from_str(r#"{"token_endpoint":"https://x/t","extra":1}"#).unwrap();
        assert_eq!(c.token_endpoint.as_deref(), Some("https://x/t"));
        assert!(c.capabilities.is_empty() && c.code_challenge_methods_supported.is_none());
    }
}
