//! Makes launch state single-use: the callback spends its `state` here (in
//! parallel with the code exchange, so it adds no latency). A Durable
//! Object, not KV: "already spent?" must be answered consistently.
//! Sharded by the state's hash so no one object carries every launch.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::crypto::sha256_hex;
use crate::ctx::Ctx;
use crate::error::Result;

pub const BINDING: &str = "LAUNCH_GUARD";

#[derive(Serialize, Deserialize)]
struct Spend {
    hash: String,
    expires_at: u64,
    now: u64,
}

/// True the first time a state is spent, false on any replay.
pub async fn spend(ctx: &Ctx, state: &str, expires_at: u64) -> Result<bool> {
    let hash = sha256_hex(state);
    let stub = ctx.env.durable_object(BINDING)?.get_by_name(&format!("guard-{}", &hash[..1]))?;
    super::rpc::call(&stub, "https://launch-guard/spend", &Spend { hash, expires_at, now: crate::clock::now_secs() }).await
}

#[durable_object]
pub struct LaunchGuardObject {
    state: State,
}

impl DurableObject for LaunchGuardObject {
    fn new(state: State, _env: Env) -> Self {
        let _ = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS spent (hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS spent_expiry ON spent(expires_at);",
            None,
        );
        LaunchGuardObject { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::rpc::serve(req, "launch guard", |s: Spend| async move {
            let sql = self.state.storage().sql();
            sql.exec("DELETE FROM spent WHERE expires_at < ?", vec![(s.now as i64).into()])?;
            let inserted = sql
                .exec(
                    "INSERT INTO spent (hash, expires_at) VALUES (?, ?) ON CONFLICT(hash) DO NOTHING",
                    vec![s.hash.into(), (s.expires_at as i64).into()],
                )?
                .rows_written();
            Ok(inserted > 0)
        })
        .await
    }
}
