//! The KV key schema. Every key the gateway reads or writes is built here,
//! so the README's table and the code cannot drift apart.

/// The published tenant document (JSON [`crate::tenant::Tenant`]).
pub fn tenant(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}")
}

/// The launch index: normalised FHIR base (the SMART `iss`) →
/// [`crate::tenant::IssEntry`]. A launch resolves its `iss` with this one read.
pub fn iss(normalized_fhir_base: &str) -> String {
    format!("iss:{normalized_fhir_base}")
}

/// A portal session, by SHA-256 (hex) of the cookie value. Has a KV expiry.
pub fn session(token_sha256_hex: &str) -> String {
    format!("session:{token_sha256_hex}")
}

/// Cached SMART discovery (and JWKS) of an `iss`, with a KV expiry.
pub fn discovery(normalized_fhir_base: &str) -> String {
    format!("discovery:{normalized_fhir_base}")
}

/// A patient link code → [`crate::patient_link::PatientLink`], with a KV expiry.
pub fn patient_link(code: &str) -> String {
    format!("link:{code}")
}

/// A tenant's write-only secrets: name → value sealed with `SECRETS_KEY`
/// (never plain), so senders read them at the edge without the config store.
pub fn secrets(tenant_id: &str) -> String {
    format!("secrets:{tenant_id}")
}

/// What the notification job remembers of a FHIR base's watched video
/// visits: visit ref → [`crate::watch::Seen`] (no patient data).
pub fn watch_memory(base_id: &str) -> String {
    format!("watch:{base_id}")
}

/// The notification job's last look at a FHIR base ([`crate::watch::Health`]).
pub fn watch_health(base_id: &str) -> String {
    format!("watch_health:{base_id}")
}
