//! KV: typed reads of what the config store publishes (tenants, the launch
//! index), patient links, and the reads and writes of sessions and API
//! tokens. Tenant documents and the launch index are written only by the
//! config store.

use serde::{Deserialize, Serialize};
use shared::kv_keys;
use shared::patient_link::PatientLink;
use shared::tenant::{IssEntry, Role, Tenant};
use worker::{kv::KvStore, Env};

use crate::error::Result;

pub const BINDING: &str = "KV";

pub fn store(env: &Env) -> Result<KvStore> {
    Ok(env.kv(BINDING)?)
}

/// A JSON value from KV. Read as text and parsed by serde_json, as every
/// JSON the gateway reads is: KV's own `json()` parses in JS and converts
/// through serde-wasm-bindgen, a second deserializer per type in the wasm
/// (and slower: one JS call per field).
pub async fn json<T: serde::de::DeserializeOwned>(kv: &KvStore, key: &str) -> Result<Option<T>> {
    match kv.get(key).text().await.map_err(worker::Error::from)? {
        Some(text) => Ok(Some(serde_json::from_str(&text)?)),
        None => Ok(None),
    }
}

/// A tenant as last published by the config store.
pub async fn tenant(kv: &KvStore, tenant_id: &str) -> Result<Option<Tenant>> {
    json(kv, &kv_keys::tenant(tenant_id)).await
}

/// The launch index entry of a (normalised) `iss`.
pub async fn iss_entry(kv: &KvStore, iss: &str) -> Result<Option<IssEntry>> {
    json(kv, &kv_keys::iss(iss)).await
}

pub async fn patient_link(kv: &KvStore, code: &str) -> Result<Option<PatientLink>> {
    json(kv, &kv_keys::patient_link(code)).await
}

/// A signed-in portal session (stored under the hash of its cookie value).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub subject: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at_ms: f64,
}

pub async fn get_session(kv: &KvStore, hash: &str) -> Result<Option<Session>> {
    json(kv, &kv_keys::session(hash)).await
}

pub async fn put_session(kv: &KvStore, hash: &str, session: &Session, ttl_secs: u64) -> Result<()> {
    kv.put(&kv_keys::session(hash), serde_json::to_string(session)?)
        .map_err(worker::Error::from)?
        .expiration_ttl(ttl_secs)
        .execute()
        .await
        .map_err(worker::Error::from)?;
    Ok(())
}

pub async fn delete_session(kv: &KvStore, hash: &str) -> Result<()> {
    kv.delete(&kv_keys::session(hash)).await.map_err(worker::Error::from)?;
    Ok(())
}
