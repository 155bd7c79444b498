//! Numbers that texted STOP, per tenant, as keyed hashes only. A Durable
//! Object, not KV: after STOP the very next send must see it, at every
//! location, and START must take effect as promptly.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::error::Result;

pub const BINDING: &str = "OPT_OUT";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Command {
    Stop { hash: String },
    Start { hash: String },
    Check { hash: String },
}

/// A keyed hash of a number (never the number itself).
pub fn number_hash(env: &Env, number: &str) -> Option<String> {
    crate::secrets::keyed_ref(env, &format!("optout|{number}"))
}

async fn call(env: &Env, tenant_id: &str, cmd: Command) -> Result<bool> {
    let stub = env.durable_object(BINDING)?.get_by_name(tenant_id)?;
    super::rpc::call(&stub, "https://opt-out/command", &cmd).await
}

pub async fn stop(env: &Env, tenant_id: &str, hash: String) -> Result<bool> {
    call(env, tenant_id, Command::Stop { hash }).await
}

pub async fn start(env: &Env, tenant_id: &str, hash: String) -> Result<bool> {
    call(env, tenant_id, Command::Start { hash }).await
}

pub async fn is_opted_out(env: &Env, tenant_id: &str, hash: String) -> Result<bool> {
    call(env, tenant_id, Command::Check { hash }).await
}

#[durable_object]
pub struct OptOutObject {
    state: State,
}

impl DurableObject for OptOutObject {
    fn new(state: State, _env: Env) -> Self {
        let _ = state.storage().sql().exec("CREATE TABLE IF NOT EXISTS opted_out (hash TEXT PRIMARY KEY, at INTEGER NOT NULL)", None);
        OptOutObject { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::rpc::serve(req, "opt-out", |cmd: Command| async move {
            let sql = self.state.storage().sql();
            Ok(match cmd {
                Command::Stop { hash } => {
                    let at = crate::clock::now_secs() as i64;
                    sql.exec("INSERT INTO opted_out (hash, at) VALUES (?, ?) ON CONFLICT(hash) DO NOTHING", vec![hash.into(), at.into()])?
                        .rows_written()
                        > 0
                }
                Command::Start { hash } => sql.exec("DELETE FROM opted_out WHERE hash = ?", vec![hash.into()])?.rows_written() > 0,
                Command::Check { hash } => {
                    #[derive(Deserialize)]
                    struct Row {
                        #[allow(dead_code)]
                        at: i64,
                    }
                    !sql.exec("SELECT at FROM opted_out WHERE hash = ?", vec![hash.into()])?.to_array::<Row>()?.is_empty()
                }
            })
        })
        .await
    }
}
