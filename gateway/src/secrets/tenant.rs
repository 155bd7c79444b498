//! Secrets a tenant's settings name (`*_ref`: EHR client secret, video app
//! secret, SMS token, email key). A tenant reaches only its own: a value an
//! admin entered in the portal (write-only: sealed with the Worker secret
//! `SECRETS_KEY`, bound to tenant and name, kept by the config store and
//! copied sealed to KV, never shown back), or a Worker secret the operator
//! assigned to that tenant in `TENANT_SECRETS`. A Worker secret that is not
//! assigned is not there for the tenant, whatever its settings name; the
//! gateway's own keys never are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::Env;

use super::{worker_secret, Secret};
use crate::seal::{self, Expiring, SealKey};

pub const KEY_SECRET: &str = "SECRETS_KEY";
/// Worker variable: which Worker secrets each tenant may use, as JSON
/// `{"<tenant id>": ["NAME", …]}`; `"*"` assigns to every tenant (only for a
/// deployment that serves one organisation).
pub const ASSIGNED_VAR: &str = "TENANT_SECRETS";

type Assignments = BTreeMap<String, Vec<String>>;

/// `TENANT_SECRETS` read.
pub fn parse_assignments(text: &str) -> Result<Assignments, String> {
    serde_json::from_str(text).map_err(|e| format!("{ASSIGNED_VAR} is not a JSON object of name lists ({e})"))
}

pub fn is_assigned(assignments: &Assignments, tenant_id: &str, name: &str) -> bool {
    [tenant_id, "*"].iter().any(|t| assignments.get(*t).is_some_and(|names| names.iter().any(|n| n == name)))
}

thread_local! {
    static ASSIGNMENTS: std::cell::OnceCell<Assignments> = const { std::cell::OnceCell::new() };
}

/// Whether the operator assigned the Worker secret `name` to `tenant_id`
/// (read once per isolate).
pub fn assigned(env: &Env, tenant_id: &str, name: &str) -> bool {
    ASSIGNMENTS.with(|cell| {
        let a = cell.get_or_init(|| {
            let text = env.var(ASSIGNED_VAR).ok().map(|v| v.to_string()).unwrap_or_default();
            if text.trim().is_empty() {
                return Assignments::new();
            }
            // Unreadable: nothing is assigned (fail closed), and the log says why.
            parse_assignments(&text).unwrap_or_else(|e| {
                worker::console_error!("{e}; no Worker secret is assigned to any tenant");
                Assignments::new()
            })
        });
        is_assigned(a, tenant_id, name)
    })
}

/// A Worker secret assigned to this tenant, if set.
pub fn assigned_worker_secret(env: &Env, tenant_id: &str, name: &str) -> Option<Secret> {
    (!is_reserved(name) && assigned(env, tenant_id, name)).then(|| worker_secret(env, name)).flatten()
}

pub fn is_reserved(name: &str) -> bool {
    shared::sms::RESERVED_SECRETS.contains(&name)
}

/// A secret's name: `A-Z`, digits and `_`, starting with a letter, at most 64.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    (2..=64).contains(&b.len()) && b[0].is_ascii_uppercase() && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    value: String,
    expires_at: u64,
}

impl Expiring for Sealed {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// Bound to tenant and name: a sealed value copied elsewhere does not open.
fn purpose(tenant_id: &str, name: &str) -> Vec<u8> {
    format!("visitgate/tenant-secret/v1\n{tenant_id}\n{name}").into_bytes()
}

pub async fn seal(key: &SealKey, tenant_id: &str, name: &str, value: &str, nonce: [u8; 12]) -> crate::error::Result<String> {
    seal::seal(key, &purpose(tenant_id, name), &Sealed { value: value.into(), expires_at: u64::MAX }, nonce).await
}

pub async fn open(key: &SealKey, tenant_id: &str, name: &str, sealed: &str) -> Option<Secret> {
    seal::open::<Sealed>(key, &purpose(tenant_id, name), sealed, 0).await.ok().map(|s| Secret::new(s.value))
}

pub fn key(env: &Env) -> Option<SealKey> {
    SealKey::parse(worker_secret(env, KEY_SECRET)?.expose())
}

/// The value of the secret `name` for `tenant_id`: a Worker secret assigned
/// to it first (no I/O), else the tenant's stored one (one KV read).
pub async fn get(env: &Env, tenant_id: &str, name: &str) -> Option<Secret> {
    if is_reserved(name) || name.is_empty() {
        return None;
    }
    if let Some(v) = assigned_worker_secret(env, tenant_id, name) {
        return Some(v);
    }
    let kv = env.kv(crate::storage::kv::BINDING).ok()?;
    let map: BTreeMap<String, String> = crate::storage::kv::json(&kv, &shared::kv_keys::secrets(tenant_id)).await.ok()??;
    open(&key(env)?, tenant_id, name, map.get(name)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_and_name_seals_for_its_own_purpose() {
        // The purpose is AES-GCM's associated data (seal.rs tests that another
        // purpose does not open; tests/e2e/secrets.test.mjs, the real cipher).
        assert_ne!(purpose("t1", "TEAMS_SECRET"), purpose("t2", "TEAMS_SECRET"), "another tenant");
        assert_ne!(purpose("t1", "TEAMS_SECRET"), purpose("t1", "OTHER"), "another name");
    }

    #[test]
    fn worker_secrets_reach_only_the_tenants_they_are_assigned_to() {
        let a = parse_assignments(r#"{"acme": ["ACME_TWILIO_TOKEN"], "*": ["SHARED_GRAPH_SECRET"]}"#).unwrap();
        assert!(is_assigned(&a, "acme", "ACME_TWILIO_TOKEN"));
        assert!(!is_assigned(&a, "evil", "ACME_TWILIO_TOKEN"), "another tenant's Worker secret");
        assert!(is_assigned(&a, "evil", "SHARED_GRAPH_SECRET"), "assigned to every tenant");
        assert!(!is_assigned(&a, "acme", "OTHER"));
        assert!(parse_assignments("[not json").is_err());
    }

    #[test]
    fn names_and_reserved_ones() {
        assert!(valid_name("EHR_CLIENT_SECRET_MAIN") && valid_name("T2"));
        assert!(!valid_name("lower") && !valid_name("_X") && !valid_name("A") && !valid_name("WITH-DASH"));
        assert!(is_reserved("LAUNCH_COOKIE_KEY") && is_reserved("CLIENT_ASSERTION_KEY") && !is_reserved("TWILIO_AUTH_TOKEN"));
    }
}
