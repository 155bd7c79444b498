//! What "the FHIR base URL is validated" means, as a pure function.
//!
//! The gateway fetches `{base}/.well-known/smart-configuration` and
//! `{base}/metadata` (in parallel, each with [`TIMEOUT_SECS`]) and hands the
//! raw outcomes to [`evaluate`], which decides and explains in words an admin
//! can act on. Keeping the judgement here makes every rule unit-testable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fhir_url::is_acceptable_endpoint;
use crate::smart::{SmartConfiguration, ASYMMETRIC_ALGS};
use crate::tenant::ClientAuthMethod;

pub const TIMEOUT_SECS: u32 = 5;
/// Bodies larger than this are not parsed (real CapabilityStatements are a few hundred KiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// What one discovery request produced, before any judgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Response { status: u16, content_type: Option<String>, body: String },
    TimedOut,
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoverySource {
    SmartConfiguration,
    CapabilityStatement,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOutcome {
    pub url: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// True when there is no finding of severity `error`.
    pub ok: bool,
    pub fhir_base: String,
    pub checked_at: String,
    pub discovery: DiscoverySource,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub capabilities: Vec<String>,
    pub fhir_version: Option<String>,
    pub supports_launch_ehr: bool,
    pub supports_pkce_s256: bool,
    pub client_auth_method: ClientAuthMethod,
    pub supports_client_auth: bool,
    pub requests: Vec<RequestOutcome>,
    pub findings: Vec<Finding>,
}

impl ValidationReport {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }

    /// One sentence for error responses: the first error, or a count.
    pub fn summary(&self) -> String {
        let errors: Vec<_> = self.errors().collect();
        match errors.len() {
            0 => "The FHIR base URL was validated.".into(),
            1 => errors[0].message.clone(),
            n => format!("{} ({} more problems listed in the report)", errors[0].message, n - 1),
        }
    }
}

pub fn smart_configuration_url(base: &str) -> String {
    format!("{base}/.well-known/smart-configuration")
}

pub fn metadata_url(base: &str) -> String {
    format!("{base}/metadata")
}

struct Judge {
    findings: Vec<Finding>,
}

impl Judge {
    fn error(&mut self, code: &str, message: String) {
        self.findings.push(Finding { severity: Severity::Error, code: code.into(), message });
    }
    fn warning(&mut self, code: &str, message: String) {
        self.findings.push(Finding { severity: Severity::Warning, code: code.into(), message });
    }
}

/// Describes a fetch outcome for the report and, when it is not usable JSON,
/// says why in words.
/// A value from the server as the report may show it: only what the field
/// can hold (printable ASCII), and short. Reports never carry a server's
/// content beyond the fields they name.
fn named(v: &str, max: usize) -> String {
    let clean: String = v.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(max).collect();
    if v.chars().count() > max {
        format!("{clean}…")
    } else {
        clean
    }
}

/// Why JSON did not fit a type, without the values that did not fit.
fn serde_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.split('`').nth(1) {
        Some(field) if text.starts_with("missing field") => format!("missing field {}", named(field, 64)),
        _ => "a field is missing or has the wrong type".into(),
    }
}

fn read_json(url: &str, fetched: &Fetched) -> (String, Result<Value, String>) {
    match fetched {
        Fetched::TimedOut => (
            format!("no answer within {TIMEOUT_SECS} s"),
            Err(format!(
                "{url} did not answer within {TIMEOUT_SECS} seconds. Check that the address is right and that the server can be reached from the internet."
            )),
        ),
        Fetched::Failed(why) => (
            format!("request failed: {why}"),
            Err(format!(
                "{url} could not be reached ({why}). Check the host name and that the server accepts HTTPS connections."
            )),
        ),
        Fetched::Response { status, content_type, body } => {
            let ct = content_type.as_deref().map(|c| named(c.split(';').next().unwrap_or_default().trim(), 60)).unwrap_or_else(|| "no content type".into());
            let outcome = format!("HTTP {status}, {ct}, {} bytes", body.len());
            if !(200..300).contains(status) {
                return (
                    outcome,
                    Err(format!(
                        "{url} answered HTTP {status}. Check the FHIR base URL: for Oracle Health it looks like https://fhir-ehr.cerner.com/r4/<tenant-id>."
                    )),
                );
            }
            if body.len() > MAX_BODY_BYTES {
                return (outcome, Err(format!("{url} returned more than {MAX_BODY_BYTES} bytes.")));
            }
            match serde_json::from_str::<Value>(body) {
                Ok(v) if v.is_object() => (outcome, Ok(v)),
                _ => (
                    outcome,
                    Err(format!(
                        "{url} did not return JSON (it returned {ct}). The URL may point at a web page instead of the FHIR server."
                    )),
                ),
            }
        }
    }
}

/// Endpoints found in a CapabilityStatement's oauth-uris extension (SMART v1).
fn oauth_uris(capability: &Value) -> (Option<String>, Option<String>) {
    let mut authorize = None;
    let mut token = None;
    let rests = capability.get("rest").and_then(Value::as_array).cloned().unwrap_or_default();
    for rest in rests {
        let exts = rest.pointer("/security/extension").and_then(Value::as_array).cloned().unwrap_or_default();
        for ext in exts.iter().filter(|e| e.get("url").and_then(Value::as_str) == Some(OAUTH_URIS)) {
            for inner in ext.get("extension").and_then(Value::as_array).into_iter().flatten() {
                let uri = inner.get("valueUri").and_then(Value::as_str).map(|u| named(u, 2048));
                match inner.get("url").and_then(Value::as_str) {
                    Some("authorize") => authorize = uri,
                    Some("token") => token = uri,
                    _ => {}
                }
            }
        }
    }
    (authorize, token)
}

fn list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(v) if !v.is_empty() => v.join(", "),
        _ => "nothing".into(),
    }
}

/// Judges one FHIR base from its two discovery responses.
pub fn evaluate(
    base: &str,
    auth_method: ClientAuthMethod,
    dev_mode: bool,
    smart: &Fetched,
    metadata: &Fetched,
    checked_at: &str,
) -> ValidationReport {
    let smart_url = smart_configuration_url(base);
    let meta_url = metadata_url(base);
    let mut j = Judge { findings: vec![] };
    let (smart_outcome, smart_json) = read_json(&smart_url, smart);
    let (meta_outcome, meta_json) = read_json(&meta_url, metadata);

    let mut report = ValidationReport {
        ok: false,
        fhir_base: base.to_string(),
        checked_at: checked_at.to_string(),
        discovery: DiscoverySource::None,
        authorization_endpoint: None,
        token_endpoint: None,
        issuer: None,
        jwks_uri: None,
        capabilities: vec![],
        fhir_version: None,
        supports_launch_ehr: false,
        supports_pkce_s256: false,
        client_auth_method: auth_method,
        supports_client_auth: false,
        requests: vec![
            RequestOutcome { url: smart_url.clone(), outcome: smart_outcome },
            RequestOutcome { url: meta_url.clone(), outcome: meta_outcome },
        ],
        findings: vec![],
    };

    // The CapabilityStatement: FHIR version, and the SMART v1 fallback.
    match &meta_json {
        Ok(cap) if cap.get("resourceType").and_then(Value::as_str) == Some("CapabilityStatement") => {
            let version = cap.get("fhirVersion").and_then(Value::as_str).map(|v| named(v, 20));
            match version.as_deref() {
                Some(v) if v.starts_with("4.0.") => {}
                Some(v) => j.error(
                    "fhir_version",
                    format!("The server speaks FHIR {v}; Visitgate needs FHIR R4 (4.0.1). Use the R4 base URL (for Oracle Health it contains /r4/)."),
                ),
                None => j.warning("fhir_version", "The CapabilityStatement does not state a FHIR version.".into()),
            }
            report.fhir_version = version;
            let (authorize, token) = oauth_uris(cap);
            report.authorization_endpoint = authorize;
            report.token_endpoint = token;
            if report.token_endpoint.is_some() {
                report.discovery = DiscoverySource::CapabilityStatement;
            }
        }
        Ok(_) => j.warning(
            "metadata_not_capability",
            format!("{meta_url} did not return a CapabilityStatement, so the FHIR version is unknown."),
        ),
        Err(why) => j.warning("metadata_unreadable", format!("{why} The FHIR version could not be checked.")),
    }

    let config = match smart_json {
        Ok(v) => match serde_json::from_value::<SmartConfiguration>(v) {
            Ok(c) => Some(c),
            Err(e) => {
                j.error("smart_configuration_invalid", format!("{smart_url} is not a valid SMART configuration ({}).", serde_reason(&e)));
                None
            }
        },
        Err(why) => {
            if report.discovery == DiscoverySource::CapabilityStatement {
                j.error(
                    "smart_configuration_missing",
                    format!(
                        "{why} The server only lists its OAuth endpoints in the CapabilityStatement (SMART App Launch 1), which cannot confirm PKCE S256 or how to verify sign-in. Visitgate needs SMART App Launch 2 discovery; ask your EHR vendor to enable it for this FHIR base."
                    ),
                );
            } else {
                j.error("smart_configuration_missing", why);
            }
            None
        }
    };

    if let Some(c) = config {
        report.discovery = DiscoverySource::SmartConfiguration;
        let url = |u: &Option<String>| u.as_deref().map(|u| named(u, 2048));
        report.authorization_endpoint = url(&c.authorization_endpoint);
        report.token_endpoint = url(&c.token_endpoint);
        report.issuer = url(&c.issuer);
        report.jwks_uri = url(&c.jwks_uri);
        report.capabilities = c.capabilities.iter().take(64).map(|x| named(x, 64)).collect();

        for (name, value) in
            [("authorization_endpoint", &c.authorization_endpoint), ("token_endpoint", &c.token_endpoint), ("jwks_uri", &c.jwks_uri)]
        {
            match value {
                None => j.error(
                    &format!("{name}_missing"),
                    format!("The SMART configuration has no {name}; Visitgate cannot sign clinicians in without it."),
                ),
                Some(u) if !is_acceptable_endpoint(u, dev_mode) => j.error(
                    &format!("{name}_insecure"),
                    format!("The {name} {u} is not an https:// address; Visitgate only talks to EHR sign-in servers over HTTPS."),
                ),
                Some(_) => {}
            }
        }
        if c.issuer.is_none() {
            j.error("issuer_missing", "The SMART configuration has no issuer, so sign-in tokens (id_token) cannot be checked.".into());
        }

        report.supports_launch_ehr = c.capabilities.iter().any(|x| x == "launch-ehr");
        if !report.supports_launch_ehr {
            j.error(
                "launch_ehr_unsupported",
                "The server does not list the 'launch-ehr' capability, so clinicians cannot start Visitgate from the EHR.".into(),
            );
        }
        if !c.capabilities.iter().any(|x| x == "sso-openid-connect") {
            j.error(
                "openid_unsupported",
                "The server does not list 'sso-openid-connect', so Visitgate cannot tell which clinician launched it.".into(),
            );
        }

        report.supports_pkce_s256 = c.code_challenge_methods_supported.as_ref().is_some_and(|m| m.iter().any(|x| x == "S256"));
        if !report.supports_pkce_s256 {
            j.error(
                "pkce_s256_unsupported",
                format!(
                    "The server does not offer PKCE with S256 (code_challenge_methods_supported lists {}). SMART App Launch 2 requires S256; ask your EHR vendor to enable it.",
                    list(&c.code_challenge_methods_supported)
                ),
            );
        }

        let method = auth_method.as_str();
        report.supports_client_auth = match &c.token_endpoint_auth_methods_supported {
            Some(methods) => methods.iter().any(|m| m == method),
            None => {
                j.warning(
                    "client_auth_unlisted",
                    format!("The server does not list its client authentication methods; Visitgate will use {method}."),
                );
                true
            }
        };
        if !report.supports_client_auth {
            j.error(
                "client_auth_unsupported",
                format!(
                    "The token endpoint does not accept {method} (it lists {}). Choose one of those methods for this FHIR base.",
                    list(&c.token_endpoint_auth_methods_supported)
                ),
            );
        }
        if auth_method == ClientAuthMethod::PrivateKeyJwt {
            if let Some(algs) = &c.token_endpoint_auth_signing_alg_values_supported {
                if !algs.iter().any(|a| ASYMMETRIC_ALGS.contains(&a.as_str())) {
                    j.error(
                        "client_assertion_alg_unsupported",
                        format!(
                            "The server accepts client assertions signed with {}, but SMART's asymmetric profile needs RS384 or ES384.",
                            algs.join(", ")
                        ),
                    );
                }
            }
        }
    }

    report.ok = !j.findings.iter().any(|f| f.severity == Severity::Error);
    report.findings = j.findings;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "https://fhir.example.org/r4/t1";

    fn json_ok(v: Value) -> Fetched {
        Fetched::Response { status: 200, content_type: Some("application/json".into()), body: v.to_string() }
    }

    fn good_smart() -> Value {
        json!({
            "issuer": "https://auth.example.org/tenants/t1/oidc/idsps/t1/",
            "jwks_uri": "https://auth.example.org/jwk",
            "authorization_endpoint": "https://auth.example.org/authorize",
            "token_endpoint": "https://auth.example.org/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "capabilities": ["launch-ehr", "client-confidential-symmetric", "sso-openid-connect", "permission-v2"],
            "code_challenge_methods_supported": ["S256"]
        })
    }

    fn good_metadata() -> Fetched {
        json_ok(json!({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}))
    }

    fn run(smart: Fetched, meta: Fetched, method: ClientAuthMethod) -> ValidationReport {
        evaluate(BASE, method, false, &smart, &meta, "2026-11-23T00:00:00Z")
    }

    fn codes(r: &ValidationReport) -> Vec<&str> {
        r.errors().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn reports_never_echo_what_a_server_sent_beyond_the_named_fields() {
        let leaked = "LEAKED-internal-secret-9a7";
        let mut smart = good_smart();
        smart["capabilities"] = json!(leaked);
        let meta = Fetched::Response {
            status: 200,
            content_type: Some(format!("application/json; note={leaked}")),
            body: json!({"resourceType": "CapabilityStatement", "fhirVersion": format!("4.0.1-{leaked}-{}", "x".repeat(100))}).to_string(),
        };
        let r = run(json_ok(smart), meta, ClientAuthMethod::PrivateKeyJwt);
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains(leaked), "{text}");
        assert!(codes(&r).contains(&"smart_configuration_invalid"));
        // A named field is shown, within its bounds.
        assert!(r.fhir_version.as_deref().is_some_and(|v| v.chars().count() <= 21));
    }

    #[test]
    fn oracle_health_shaped_base_passes() {
        let r = run(json_ok(good_smart()), good_metadata(), ClientAuthMethod::PrivateKeyJwt);
        assert!(r.ok, "{:?}", r.findings);
        assert_eq!(r.discovery, DiscoverySource::SmartConfiguration);
        assert!(r.supports_launch_ehr && r.supports_pkce_s256 && r.supports_client_auth);
        assert_eq!(r.fhir_version.as_deref(), Some("4.0.1"));
        assert_eq!(r.token_endpoint.as_deref(), Some("https://auth.example.org/token"));
        assert_eq!(r.requests.len(), 2);
    }

    #[test]
    fn the_real_oracle_fixture_passes() {
        let fixture = include_str!("../../tests/fixtures/oracle-health/smart-configuration.json");
        let smart = Fetched::Response { status: 200, content_type: Some("application/json".into()), body: fixture.into() };
        let r = run(smart, good_metadata(), ClientAuthMethod::ClientSecretBasic);
        assert!(r.ok, "{:?}", r.findings);
    }

    #[test]
    fn missing_s256_is_refused_with_what_was_listed() {
        let mut s = good_smart();
        s["code_challenge_methods_supported"] = json!(["plain"]);
        let r = run(json_ok(s), good_metadata(), ClientAuthMethod::ClientSecretBasic);
        assert!(!r.ok);
        assert_eq!(codes(&r), ["pkce_s256_unsupported"]);
        assert!(r.summary().contains("lists plain"), "{}", r.summary());
    }

    #[test]
    fn missing_launch_ehr_and_wrong_client_auth_are_refused() {
        let mut s = good_smart();
        s["capabilities"] = json!(["sso-openid-connect"]);
        s["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        let r = run(json_ok(s), good_metadata(), ClientAuthMethod::ClientSecretBasic);
        assert_eq!(codes(&r), ["launch_ehr_unsupported", "client_auth_unsupported"]);
    }

    #[test]
    fn http_404_timeout_and_html_say_what_to_do() {
        let r = run(
            Fetched::Response { status: 404, content_type: Some("text/plain".into()), body: "nope".into() },
            Fetched::TimedOut,
            ClientAuthMethod::ClientSecretBasic,
        );
        assert!(!r.ok);
        assert!(r.summary().contains("answered HTTP 404"));
        assert!(r.findings.iter().any(|f| f.message.contains("did not answer within 5 seconds")));

        let html = Fetched::Response { status: 200, content_type: Some("text/html".into()), body: "<html>".into() };
        let r = run(html, good_metadata(), ClientAuthMethod::ClientSecretBasic);
        assert!(r.summary().contains("did not return JSON (it returned text/html)"));
    }

    #[test]
    fn insecure_endpoints_refused_outside_dev() {
        let mut s = good_smart();
        s["token_endpoint"] = json!("http://auth.example.org/token");
        let r = run(json_ok(s), good_metadata(), ClientAuthMethod::ClientSecretBasic);
        assert_eq!(codes(&r), ["token_endpoint_insecure"]);
    }

    #[test]
    fn capability_statement_fallback_reports_endpoints_but_refuses() {
        let meta = json_ok(json!({
            "resourceType": "CapabilityStatement", "fhirVersion": "4.0.1",
            "rest": [{"security": {"extension": [{
                "url": OAUTH_URIS,
                "extension": [
                    {"url": "authorize", "valueUri": "https://auth.example.org/authorize"},
                    {"url": "token", "valueUri": "https://auth.example.org/token"}
                ]
            }]}}]
        }));
        let r = run(Fetched::Response { status: 404, content_type: None, body: String::new() }, meta, ClientAuthMethod::ClientSecretBasic);
        assert_eq!(r.discovery, DiscoverySource::CapabilityStatement);
        assert_eq!(r.authorization_endpoint.as_deref(), Some("https://auth.example.org/authorize"));
        assert!(!r.ok);
        assert!(r.summary().contains("SMART App Launch 2"));
    }

    #[test]
    fn non_r4_server_is_refused() {
        let meta = json_ok(json!({"resourceType": "CapabilityStatement", "fhirVersion": "1.0.2"}));
        let r = run(json_ok(good_smart()), meta, ClientAuthMethod::ClientSecretBasic);
        assert_eq!(codes(&r), ["fhir_version"]);
    }

    #[test]
    fn private_key_jwt_needs_an_asymmetric_alg() {
        let mut s = good_smart();
        s["token_endpoint_auth_signing_alg_values_supported"] = json!(["HS256"]);
        let r = run(json_ok(s), good_metadata(), ClientAuthMethod::PrivateKeyJwt);
        assert_eq!(codes(&r), ["client_assertion_alg_unsupported"]);
    }
}
