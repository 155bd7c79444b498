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

/// The launch index entry of a (normalised) `iss`, kept [`RECENT_SECS`] in
/// the isolate as patient links are: a launch's callback and the provider
/// page's polls come seconds after `/launch` read it. The config store
/// forgets them in its isolate when it publishes.
pub async fn iss_entry(kv: &KvStore, iss: &str) -> Result<Option<IssEntry>> {
    recent_json(&ENTRIES, kv, iss, &kv_keys::iss(iss)).await
}

/// `json`, through one of this isolate's [`Recent`] caches.
async fn recent_json<V: Clone + serde::de::DeserializeOwned>(
    cache: &'static std::thread::LocalKey<std::cell::RefCell<Recent<V>>>,
    kv: &KvStore,
    id: &str,
    key: &str,
) -> Result<Option<V>> {
    let now = crate::clock::now_secs();
    if let Some(v) = cache.with(|c| c.borrow_mut().get(id, now)) {
        return Ok(Some(v));
    }
    let value: Option<V> = json(kv, key).await?;
    if let Some(v) = &value {
        cache.with(|c| c.borrow_mut().put(id, v.clone(), now));
    }
    Ok(value)
}

/// After the launch index changed: this isolate reads it from KV again.
pub fn forget_iss_entries() {
    ENTRIES.with(|c| c.borrow_mut().0.clear());
}

/// A patient link, from this isolate's memory when it was read or written
/// here in the last [`RECENT_SECS`]: a reload or a lobby poll reads no
/// KV. KV itself is eventually consistent (a write can take up to 60 s to
/// reach other locations), so this adds no staleness of a new kind; links
/// written in this isolate (by the visit object) replace their entry at
/// once, and expiry is checked on every request from `expires_at`.
pub async fn patient_link(kv: &KvStore, code: &str) -> Result<Option<PatientLink>> {
    recent_json(&LINKS, kv, code, &kv_keys::patient_link(code)).await
}

/// After writing a link to KV: this isolate serves the new value at once.
pub fn remember_patient_link(code: &str, link: &PatientLink, now: u64) {
    LINKS.with(|c| c.borrow_mut().put(code, link.clone(), now));
}

pub const RECENT_SECS: u64 = 10;
const RECENT_MAX: usize = 10_000;

thread_local! {
    static LINKS: std::cell::RefCell<Recent<PatientLink>> = std::cell::RefCell::new(Recent::default());
    static ENTRIES: std::cell::RefCell<Recent<IssEntry>> = std::cell::RefCell::new(Recent::default());
}

/// Values by key with the time they were read; what KV does not have is
/// never kept (a link just sent, a base just approved, must work at once).
pub struct Recent<V>(std::collections::HashMap<String, (V, u64)>);

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Recent(std::collections::HashMap::new())
    }
}

impl<V: Clone> Recent<V> {
    pub fn get(&mut self, code: &str, now: u64) -> Option<V> {
        match self.0.get(code) {
            Some((v, at)) if now < at + RECENT_SECS => Some(v.clone()),
            Some(_) => {
                self.0.remove(code);
                None
            }
            None => None,
        }
    }

    pub fn put(&mut self, code: &str, value: V, now: u64) {
        if self.0.len() >= RECENT_MAX {
            self.0.retain(|_, (_, at)| now < *at + RECENT_SECS);
            if self.0.len() >= RECENT_MAX {
                self.0.clear();
            }
        }
        self.0.insert(code.to_string(), (value, now));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn link(revoked: bool) -> PatientLink {
        PatientLink {
            visit_ref: "v".repeat(64),
            tenant_id: "t".into(),
            base_id: "b".into(),
            start: None,
            expires_at: 5_000,
            clinic_phone: None,
            revoked,
        }
    }

    #[test]
    fn links_are_kept_a_few_seconds_and_a_write_replaces_them() {
        let mut c = Recent::default();
        assert_eq!(c.get("abc", 100), None);
        c.put("abc", link(false), 100);
        assert_eq!(c.get("abc", 100 + RECENT_SECS - 1), Some(link(false)));
        assert_eq!(c.get("abc", 100 + RECENT_SECS), None, "read again from KV");
        c.put("abc", link(false), 200);
        c.put("abc", link(true), 201);
        assert_eq!(c.get("abc", 202).map(|l| l.revoked), Some(true), "a revocation written here is seen at once");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let mut c = Recent::default();
        for i in 0..RECENT_MAX + 5 {
            c.put(&format!("c{i}"), link(false), 1);
        }
        assert!(c.0.len() <= RECENT_MAX);
    }
}
