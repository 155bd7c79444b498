//! The configuration writer: one Durable Object (`ConfigStore`, name
//! "config") that owns every tenant document and publishes it to KV.
//!
//! Why one object for all tenants: besides per-tenant versioning, a FHIR
//! base URL must belong to exactly one tenant across the deployment, and that
//! invariant needs a single point of serialisation. Config writes are rare
//! admin actions, far below what one object handles. Reads on the hot path
//! (launch) never come here: they read the KV copy.
//!
//! Checks and writes run as synchronous SQL inside one event, so they are
//! atomic; the KV publish that follows is awaited under a lock, so two saves
//! can never publish out of order.

use futures_util::future::join_all;
use futures_util::lock::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::api::{ApiTokenInfo, SecretInfo};
use shared::audit::{diff, AuditEntry, FieldChange};
use shared::kv_keys;
use shared::tenant::{IssEntry, Role, Tenant};
use worker::{durable_object, DurableObject, Env, Request, Response, State, Stub};

use crate::error::{Error, Result};

pub const BINDING: &str = "CONFIG_STORE";
/// How long a one-time sign-in link works.
pub const LOGIN_LINK_TTL_MS: f64 = 10.0 * 60.0 * 1000.0;
const OBJECT_NAME: &str = "config";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Get {
        id: String,
    },
    List,
    Create {
        tenant: Tenant,
    },
    Save {
        tenant: Tenant,
        expected_version: u64,
        action: String,
    },
    Delete {
        id: String,
        expected_version: u64,
        actor: String,
        at: String,
    },
    Audit {
        id: String,
        limit: u32,
    },
    PutLoginLink {
        hash: String,
        grant: Grant,
        expires_at_ms: f64,
    },
    /// A write-only tenant secret (already sealed); `None` removes it.
    SetSecret {
        tenant_id: String,
        name: String,
        sealed: Option<String>,
        actor: String,
        at: String,
    },
    ListSecrets {
        tenant_id: String,
    },
    TakeLoginLink {
        hash: String,
        now_ms: f64,
    },
    /// A new API token (its hash); a tenant admin's is bound to the tenant as it is now.
    MintToken {
        hash: String,
        info: ApiTokenInfo,
    },
    /// The token with this hash, if it works at `now_ms`: not expired, not
    /// revoked, and its tenant the very one it was minted for.
    CheckToken {
        hash: String,
        now_ms: f64,
    },
    /// Every token, or one tenant's.
    ListTokens {
        tenant_id: Option<String>,
    },
    /// Revokes a token, within one tenant's when `tenant_id` is given.
    RevokeToken {
        id: String,
        tenant_id: Option<String>,
        actor: String,
        at: String,
    },
    /// Deletes audit entries older than each tenant's cutoff (ISO times);
    /// entries of tenants no longer here go by `others`.
    PruneAudit {
        cutoffs: Vec<(String, String)>,
        others: String,
    },
}

/// What a one-time login link grants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub subject: String,
    pub role: Role,
}

/// The worker's handle on the config writer.
pub struct ConfigStore {
    stub: Stub,
}

impl ConfigStore {
    pub fn new(env: &Env) -> Result<Self> {
        Ok(ConfigStore { stub: env.durable_object(BINDING)?.get_by_name(OBJECT_NAME)? })
    }

    async fn call<T: DeserializeOwned>(&self, cmd: &Command) -> Result<T> {
        super::rpc::call(&self.stub, "https://config-store/command", cmd).await
    }

    pub async fn get(&self, id: &str) -> Result<Tenant> {
        self.call(&Command::Get { id: id.into() }).await
    }
    pub async fn list(&self) -> Result<Vec<Tenant>> {
        self.call(&Command::List).await
    }
    pub async fn create(&self, tenant: Tenant) -> Result<Tenant> {
        self.call(&Command::Create { tenant }).await
    }
    pub async fn save(&self, tenant: Tenant, expected_version: u64, action: &str) -> Result<Tenant> {
        self.call(&Command::Save { tenant, expected_version, action: action.into() }).await
    }
    /// The number of audit entries deleted.
    pub async fn prune_audit(&self, cutoffs: Vec<(String, String)>, others: String) -> Result<u64> {
        self.call(&Command::PruneAudit { cutoffs, others }).await
    }
    pub async fn delete(&self, id: &str, expected_version: u64, actor: &str, at: &str) -> Result<()> {
        self.call(&Command::Delete { id: id.into(), expected_version, actor: actor.into(), at: at.into() }).await
    }
    pub async fn audit(&self, id: &str, limit: u32) -> Result<Vec<AuditEntry>> {
        self.call(&Command::Audit { id: id.into(), limit }).await
    }
    pub async fn put_login_link(&self, hash: String, grant: Grant, expires_at_ms: f64) -> Result<()> {
        self.call(&Command::PutLoginLink { hash, grant, expires_at_ms }).await
    }
    pub async fn take_login_link(&self, hash: String, now_ms: f64) -> Result<Option<Grant>> {
        self.call(&Command::TakeLoginLink { hash, now_ms }).await
    }
    pub async fn set_secret(&self, tenant_id: &str, name: &str, sealed: Option<String>, actor: &str, at: &str) -> Result<()> {
        self.call(&Command::SetSecret { tenant_id: tenant_id.into(), name: name.into(), sealed, actor: actor.into(), at: at.into() }).await
    }
    pub async fn secrets(&self, tenant_id: &str) -> Result<Vec<SecretInfo>> {
        self.call(&Command::ListSecrets { tenant_id: tenant_id.into() }).await
    }
    pub async fn mint_token(&self, hash: String, info: ApiTokenInfo) -> Result<()> {
        self.call(&Command::MintToken { hash, info }).await
    }
    pub async fn check_token(&self, hash: String, now_ms: f64) -> Result<Option<ApiTokenInfo>> {
        self.call(&Command::CheckToken { hash, now_ms }).await
    }
    pub async fn tokens(&self, tenant_id: Option<String>) -> Result<Vec<ApiTokenInfo>> {
        self.call(&Command::ListTokens { tenant_id }).await
    }
    pub async fn revoke_token(&self, id: &str, tenant_id: Option<String>, actor: &str, at: &str) -> Result<bool> {
        self.call(&Command::RevokeToken { id: id.into(), tenant_id, actor: actor.into(), at: at.into() }).await
    }
}

#[durable_object]
pub struct ConfigStoreObject {
    state: State,
    env: Env,
    write_lock: Mutex<()>,
}

#[derive(Deserialize)]
struct DocRow {
    doc: String,
}

#[derive(Deserialize)]
struct ClaimRow {
    tenant_id: String,
}

#[derive(Deserialize)]
struct AuditRow {
    seq: f64,
    tenant_id: String,
    at: String,
    actor: String,
    action: String,
    version: f64,
    changes: String,
}

#[derive(Deserialize)]
struct GrantRow {
    grant_json: String,
    expires_at_ms: f64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fhir_base_claims (url TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, base_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fhir_base_claims_tenant ON fhir_base_claims(tenant_id);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, at TEXT NOT NULL,
  actor TEXT NOT NULL, action TEXT NOT NULL, version INTEGER NOT NULL, changes TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant_id, seq);
CREATE TABLE IF NOT EXISTS login_links (hash TEXT PRIMARY KEY, grant_json TEXT NOT NULL, expires_at_ms REAL NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (tenant_id TEXT NOT NULL, name TEXT NOT NULL, sealed TEXT NOT NULL,
  updated_at TEXT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (tenant_id, name));
CREATE TABLE IF NOT EXISTS api_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, tenant_id TEXT,
  tenant_created_at TEXT, expires_at_ms REAL NOT NULL, info TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS api_tokens_tenant ON api_tokens(tenant_id);
";

#[derive(Deserialize)]
struct TokenRow {
    tenant_id: Option<String>,
    tenant_created_at: Option<String>,
    expires_at_ms: f64,
    info: String,
}

#[derive(Deserialize)]
struct SealedRow {
    name: String,
    sealed: String,
}

impl DurableObject for ConfigStoreObject {
    fn new(state: State, env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("config store schema: {e}");
        }
        ConfigStoreObject { state, env, write_lock: Mutex::new(()) }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::rpc::serve(req, "config store", |cmd: Command| self.handle(cmd)).await
    }
}

impl ConfigStoreObject {
    async fn handle(&self, cmd: Command) -> Result<Value> {
        match cmd {
            Command::Get { id } => Ok(serde_json::to_value(self.load(&id)?.ok_or_else(|| Error::not_found("The tenant"))?)?),
            Command::List => Ok(serde_json::to_value(self.load_all()?)?),
            Command::Audit { id, limit } => Ok(serde_json::to_value(self.audit(&id, limit)?)?),
            Command::Create { tenant } => {
                let _guard = self.write_lock.lock().await;
                let saved = self.commit_create(tenant)?;
                self.publish(None, Some(&saved)).await?;
                Ok(serde_json::to_value(saved)?)
            }
            Command::Save { tenant, expected_version, action } => {
                let _guard = self.write_lock.lock().await;
                let (before, saved) = self.commit_save(tenant, expected_version, &action)?;
                self.publish(Some(&before), Some(&saved)).await?;
                Ok(serde_json::to_value(saved)?)
            }
            Command::Delete { id, expected_version, actor, at } => {
                let _guard = self.write_lock.lock().await;
                let before = self.commit_delete(&id, expected_version, &actor, &at)?;
                self.state.storage().sql().exec("DELETE FROM secrets WHERE tenant_id = ?", vec![id.clone().into()])?;
                self.state.storage().sql().exec("DELETE FROM api_tokens WHERE tenant_id = ?", vec![id.clone().into()])?;
                self.publish(Some(&before), None).await?;
                self.publish_secrets(&id).await?;
                Ok(Value::Null)
            }
            Command::PruneAudit { cutoffs, others } => {
                let sql = self.state.storage().sql();
                let mut deleted = 0;
                for (tenant_id, before) in cutoffs {
                    deleted +=
                        sql.exec("DELETE FROM audit WHERE tenant_id = ? AND at < ?", vec![tenant_id.into(), before.into()])?.rows_written();
                }
                deleted += sql
                    .exec("DELETE FROM audit WHERE at < ? AND tenant_id NOT IN (SELECT id FROM tenants)", vec![others.into()])?
                    .rows_written();
                Ok(serde_json::to_value(deleted as u64)?)
            }
            Command::SetSecret { tenant_id, name, sealed, actor, at } => {
                let _guard = self.write_lock.lock().await;
                let tenant = self.load(&tenant_id)?.ok_or_else(|| Error::not_found("The tenant"))?;
                let sql = self.state.storage().sql();
                let had = !sql
                    .exec("SELECT name FROM secrets WHERE tenant_id = ? AND name = ?", vec![tenant_id.clone().into(), name.clone().into()])?
                    .to_array::<Value>()?
                    .is_empty();
                let action = match &sealed {
                    Some(v) => {
                        sql.exec(
                            "INSERT OR REPLACE INTO secrets (tenant_id, name, sealed, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)",
                            vec![tenant_id.clone().into(), name.clone().into(), v.clone().into(), at.clone().into(), actor.clone().into()],
                        )?;
                        "secret.set"
                    }
                    None => {
                        sql.exec(
                            "DELETE FROM secrets WHERE tenant_id = ? AND name = ?",
                            vec![tenant_id.clone().into(), name.clone().into()],
                        )?;
                        "secret.delete"
                    }
                };
                // The audit says a value was set or replaced, never what it was.
                let word = |set: bool| set.then(|| Value::from("(a value)"));
                let change = FieldChange { path: format!("/secrets/{name}"), before: word(had), after: word(sealed.is_some()) };
                self.append_audit(&tenant_id, &at, &actor, action, tenant.version, &[change])?;
                self.publish_secrets(&tenant_id).await?;
                Ok(Value::Null)
            }
            Command::ListSecrets { tenant_id } => {
                let rows: Vec<SecretInfo> = self
                    .state
                    .storage()
                    .sql()
                    .exec("SELECT name, updated_at, updated_by FROM secrets WHERE tenant_id = ? ORDER BY name", vec![tenant_id.into()])?
                    .to_array()?;
                Ok(serde_json::to_value(rows)?)
            }
            Command::PutLoginLink { hash, grant, expires_at_ms } => {
                let sql = self.state.storage().sql();
                // Links are minted with a fixed lifetime, so this drops every expired one.
                let now = expires_at_ms - LOGIN_LINK_TTL_MS;
                sql.exec("DELETE FROM login_links WHERE expires_at_ms < ?", vec![now.into()])?;
                sql.exec(
                    "INSERT INTO login_links (hash, grant_json, expires_at_ms) VALUES (?, ?, ?)",
                    vec![hash.into(), serde_json::to_string(&grant)?.into(), expires_at_ms.into()],
                )?;
                Ok(Value::Null)
            }
            Command::MintToken { hash, info } => {
                let _guard = self.write_lock.lock().await;
                let tenant_id = match &info.role {
                    Role::TenantAdmin { tenant_id } => Some(tenant_id.clone()),
                    Role::PlatformAdmin => None,
                };
                // Bound to this incarnation of the tenant: a tenant deleted and
                // made again under the same id is another tenant.
                let incarnation = match &tenant_id {
                    Some(id) => Some(self.load(id)?.ok_or_else(|| Error::not_found("The tenant"))?.created_at),
                    None => None,
                };
                let sql = self.state.storage().sql();
                sql.exec("DELETE FROM api_tokens WHERE expires_at_ms < ?", vec![crate::clock::now_ms().into()])?;
                sql.exec(
                    "INSERT INTO api_tokens (id, hash, tenant_id, tenant_created_at, expires_at_ms, info) VALUES (?, ?, ?, ?, ?, ?)",
                    vec![
                        info.id.clone().into(),
                        hash.into(),
                        tenant_id.clone().map(Into::into).unwrap_or(worker::SqlStorageValue::Null),
                        incarnation.map(Into::into).unwrap_or(worker::SqlStorageValue::Null),
                        info.expires_at_ms.into(),
                        serde_json::to_string(&info)?.into(),
                    ],
                )?;
                if let Some(t) = &tenant_id {
                    let version = self.load(t)?.map(|t| t.version).unwrap_or(0);
                    let change =
                        FieldChange { path: format!("/tokens/{}", info.id), before: None, after: Some(Value::from(info.label.clone())) };
                    self.append_audit(t, &info.created_at, &info.created_by, "token.mint", version, &[change])?;
                }
                Ok(Value::Null)
            }
            Command::CheckToken { hash, now_ms } => {
                let rows: Vec<TokenRow> = self
                    .state
                    .storage()
                    .sql()
                    .exec("SELECT tenant_id, tenant_created_at, expires_at_ms, info FROM api_tokens WHERE hash = ?", vec![hash.into()])?
                    .to_array()?;
                let Some(row) = rows.into_iter().next().filter(|r| r.expires_at_ms > now_ms) else { return Ok(Value::Null) };
                if let Some(t) = &row.tenant_id {
                    if self.load(t)?.map(|t| t.created_at) != row.tenant_created_at {
                        return Ok(Value::Null);
                    }
                }
                Ok(serde_json::from_str(&row.info)?)
            }
            Command::ListTokens { tenant_id } => {
                let sql = self.state.storage().sql();
                let rows: Vec<TokenRow> = match tenant_id {
                    Some(t) => sql.exec(
                        "SELECT tenant_id, tenant_created_at, expires_at_ms, info FROM api_tokens WHERE tenant_id = ? ORDER BY expires_at_ms",
                        vec![t.into()],
                    )?,
                    None => sql.exec("SELECT tenant_id, tenant_created_at, expires_at_ms, info FROM api_tokens ORDER BY expires_at_ms", None)?,
                }
                .to_array()?;
                let infos: Vec<ApiTokenInfo> = rows.iter().filter_map(|r| serde_json::from_str(&r.info).ok()).collect();
                Ok(serde_json::to_value(infos)?)
            }
            Command::RevokeToken { id, tenant_id, actor, at } => {
                let _guard = self.write_lock.lock().await;
                let sql = self.state.storage().sql();
                let rows: Vec<TokenRow> = sql
                    .exec("DELETE FROM api_tokens WHERE id = ? AND (? IS NULL OR tenant_id = ?) RETURNING tenant_id, tenant_created_at, expires_at_ms, info", {
                        let scope = tenant_id.clone().map(Into::into).unwrap_or(worker::SqlStorageValue::Null);
                        vec![id.clone().into(), scope.clone(), scope]
                    })?
                    .to_array()?;
                let Some(row) = rows.into_iter().next() else { return Ok(Value::Bool(false)) };
                if let Some(t) = &row.tenant_id {
                    let version = self.load(t)?.map(|t| t.version).unwrap_or(0);
                    let change = FieldChange { path: format!("/tokens/{id}"), before: Some(Value::from("(a token)")), after: None };
                    self.append_audit(t, &at, &actor, "token.revoke", version, &[change])?;
                }
                Ok(Value::Bool(true))
            }
            Command::TakeLoginLink { hash, now_ms } => {
                // Read and delete in one event: a link works exactly once.
                let sql = self.state.storage().sql();
                let rows: Vec<GrantRow> = sql
                    .exec("DELETE FROM login_links WHERE hash = ? RETURNING grant_json, expires_at_ms", vec![hash.into()])?
                    .to_array()?;
                let grant = match rows.into_iter().next() {
                    Some(row) if row.expires_at_ms > now_ms => Some(serde_json::from_str::<Grant>(&row.grant_json)?),
                    _ => None,
                };
                Ok(serde_json::to_value(grant)?)
            }
        }
    }

    /// The tenant's sealed secrets to KV (or the key removed when none are left).
    async fn publish_secrets(&self, tenant_id: &str) -> Result<()> {
        let rows: Vec<SealedRow> =
            self.state.storage().sql().exec("SELECT name, sealed FROM secrets WHERE tenant_id = ?", vec![tenant_id.into()])?.to_array()?;
        let kv = self.env.kv(super::kv::BINDING)?;
        let key = kv_keys::secrets(tenant_id);
        if rows.is_empty() {
            kv.delete(&key).await.map_err(worker::Error::from)?;
        } else {
            let map: std::collections::BTreeMap<String, String> = rows.into_iter().map(|r| (r.name, r.sealed)).collect();
            kv.put(&key, serde_json::to_string(&map)?).map_err(worker::Error::from)?.execute().await.map_err(worker::Error::from)?;
        }
        Ok(())
    }

    fn load(&self, id: &str) -> Result<Option<Tenant>> {
        let rows: Vec<DocRow> = self.state.storage().sql().exec("SELECT doc FROM tenants WHERE id = ?", vec![id.into()])?.to_array()?;
        rows.first().map(|r| serde_json::from_str(&r.doc)).transpose().map_err(Error::from)
    }

    fn load_all(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<DocRow> = self.state.storage().sql().exec("SELECT doc FROM tenants ORDER BY id", None)?.to_array()?;
        rows.iter().map(|r| serde_json::from_str(&r.doc).map_err(Error::from)).collect()
    }

    fn audit(&self, id: &str, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT seq, tenant_id, at, actor, action, version, changes FROM audit WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?",
                vec![id.into(), (limit as i64).into()],
            )?
            .to_array()?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.seq as u64,
                    tenant_id: r.tenant_id,
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    version: r.version as u64,
                    changes: serde_json::from_str(&r.changes)?,
                })
            })
            .collect()
    }

    /// Refuses a document whose FHIR base URLs repeat, or that another tenant holds.
    fn check_claims(&self, tenant: &Tenant) -> Result<()> {
        let sql = self.state.storage().sql();
        for (i, base) in tenant.fhir_bases.iter().enumerate() {
            if tenant.fhir_bases[..i].iter().any(|b| b.url == base.url) {
                return Err(Error::new(
                    409,
                    "fhir_base_duplicate",
                    format!("{} is already configured for this tenant. A FHIR base URL belongs to exactly one environment.", base.url),
                )
                .field("url"));
            }
            // Pending claims hold nothing, so they are never refused: a tenant
            // admin cannot learn whether another tenant uses a URL.
            if !base.approved() {
                continue;
            }
            let claims: Vec<ClaimRow> =
                sql.exec("SELECT tenant_id FROM fhir_base_claims WHERE url = ?", vec![base.url.clone().into()])?.to_array()?;
            if let Some(owner) = claims.iter().find(|c| c.tenant_id != tenant.id) {
                // Only platform admins approve, and they may know the owner.
                return Err(Error::new(
                    409,
                    "fhir_base_taken",
                    format!(
                        "{} is already approved for tenant '{}'. A FHIR base URL belongs to exactly one tenant.",
                        base.url, owner.tenant_id
                    ),
                )
                .field("url"));
            }
        }
        Ok(())
    }

    fn write(&self, tenant: &Tenant, before: Option<&Tenant>, action: &str) -> Result<()> {
        let sql = self.state.storage().sql();
        let doc = serde_json::to_string(tenant)?;
        sql.exec(
            "INSERT INTO tenants (id, version, doc) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET version = ?2, doc = ?3",
            vec![tenant.id.clone().into(), (tenant.version as i64).into(), doc.into()],
        )?;
        sql.exec("DELETE FROM fhir_base_claims WHERE tenant_id = ?", vec![tenant.id.clone().into()])?;
        for b in tenant.fhir_bases.iter().filter(|b| b.approved()) {
            sql.exec(
                "INSERT INTO fhir_base_claims (url, tenant_id, base_id) VALUES (?, ?, ?)",
                vec![b.url.clone().into(), tenant.id.clone().into(), b.id.clone().into()],
            )?;
        }
        let before = before.map(serde_json::to_value).transpose()?.unwrap_or(Value::Null);
        let changes = diff(&before, &serde_json::to_value(tenant)?);
        self.append_audit(&tenant.id, &tenant.updated_at, &tenant.updated_by, action, tenant.version, &changes)
    }

    fn append_audit(&self, id: &str, at: &str, actor: &str, action: &str, version: u64, changes: &[FieldChange]) -> Result<()> {
        self.state.storage().sql().exec(
            "INSERT INTO audit (tenant_id, at, actor, action, version, changes) VALUES (?, ?, ?, ?, ?, ?)",
            vec![id.into(), at.into(), actor.into(), action.into(), (version as i64).into(), serde_json::to_string(changes)?.into()],
        )?;
        Ok(())
    }

    fn commit_create(&self, mut tenant: Tenant) -> Result<Tenant> {
        if self.load(&tenant.id)?.is_some() {
            return Err(Error::new(409, "tenant_exists", format!("A tenant with id '{}' already exists.", tenant.id)).field("id"));
        }
        tenant.version = 1;
        self.check_claims(&tenant)?;
        self.write(&tenant, None, "tenant.create")?;
        Ok(tenant)
    }

    fn commit_save(&self, mut tenant: Tenant, expected: u64, action: &str) -> Result<(Tenant, Tenant)> {
        let current = self.load(&tenant.id)?.ok_or_else(|| Error::not_found("The tenant"))?;
        if current.version != expected {
            return Err(Error::conflict(current));
        }
        tenant.version = expected + 1;
        self.check_claims(&tenant)?;
        self.write(&tenant, Some(&current), action)?;
        Ok((current, tenant))
    }

    fn commit_delete(&self, id: &str, expected: u64, actor: &str, at: &str) -> Result<Tenant> {
        let current = self.load(id)?.ok_or_else(|| Error::not_found("The tenant"))?;
        if current.version != expected {
            return Err(Error::conflict(current));
        }
        let sql = self.state.storage().sql();
        sql.exec("DELETE FROM tenants WHERE id = ?", vec![id.into()])?;
        sql.exec("DELETE FROM fhir_base_claims WHERE tenant_id = ?", vec![id.into()])?;
        let changes = diff(&serde_json::to_value(&current)?, &Value::Null);
        self.append_audit(id, at, actor, "tenant.delete", expected + 1, &changes)?;
        Ok(current)
    }

    /// Copies a committed change to KV: the tenant document and its launch
    /// index entries; index entries for URLs the tenant no longer has go.
    async fn publish(&self, before: Option<&Tenant>, after: Option<&Tenant>) -> Result<()> {
        let kv = self.env.kv(super::kv::BINDING)?;
        let mut puts = vec![];
        let mut deletes = vec![];
        if let Some(t) = after {
            puts.push((kv_keys::tenant(&t.id), serde_json::to_string(t)?));
            for b in t.fhir_bases.iter().filter(|b| b.approved()) {
                puts.push((kv_keys::iss(&b.url), serde_json::to_string(&IssEntry::for_base(t, b))?));
            }
        } else if let Some(t) = before {
            deletes.push(kv_keys::tenant(&t.id));
        }
        // Only a URL this tenant held (approved) is its to remove from the index.
        if let Some(t) = before {
            for b in t.fhir_bases.iter().filter(|b| b.approved()) {
                if !after.is_some_and(|a| a.fhir_bases.iter().any(|x| x.url == b.url && x.approved())) {
                    deletes.push(kv_keys::iss(&b.url));
                }
            }
        }
        let mut ops = vec![];
        for (k, v) in puts {
            let put = kv.put(&k, v).map_err(worker::Error::from)?;
            ops.push(futures_util::future::Either::Left(async move { put.execute().await }));
        }
        for k in deletes {
            let kv = &kv;
            ops.push(futures_util::future::Either::Right(async move { kv.delete(&k).await }));
        }
        for r in join_all(ops).await {
            r.map_err(worker::Error::from)?;
        }
        super::kv::forget_iss_entries();
        Ok(())
    }
}
