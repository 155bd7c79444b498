//! KV reads and writes for sessions and API tokens. Tenant documents and
//! the launch index are written only by the config store.

use serde::{Deserialize, Serialize};
use shared::kv_keys;
use shared::tenant::Role;
use worker::{kv::KvStore, Env};

use crate::error::Result;

pub const BINDING: &str = "KV";

pub fn store(env: &Env) -> Result<KvStore> {
    Ok(env.kv(BINDING)?)
}

/// A signed-in portal session (stored under the hash of its cookie value).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub subject: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at_ms: f64,
}

/// An automation token (stored under the hash of its bearer value).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    pub label: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: String,
}

pub async fn get_session(kv: &KvStore, hash: &str) -> Result<Option<Session>> {
    Ok(kv.get(&kv_keys::session(hash)).json().await.map_err(worker::Error::from)?)
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

pub async fn get_api_token(kv: &KvStore, hash: &str) -> Result<Option<ApiToken>> {
    Ok(kv.get(&kv_keys::api_token(hash)).json().await.map_err(worker::Error::from)?)
}

pub async fn put_api_token(kv: &KvStore, hash: &str, token: &ApiToken) -> Result<()> {
    kv.put(&kv_keys::api_token(hash), serde_json::to_string(token)?)
        .map_err(worker::Error::from)?
        .execute()
        .await
        .map_err(worker::Error::from)?;
    Ok(())
}
