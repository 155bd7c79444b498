//! `POST /_bench/id_token`, for `make bench` only: checks one posted
//! id_token `n` times in a row, so the cost of a single check inside workerd
//! (WebCrypto RS256 and the claims) is measured from outside as the
//! difference between `n` = 1 and a large `n`. A Worker's clock does not
//! advance during CPU work, so it cannot time itself.

use serde::Deserialize;
use worker::{Request, Response};

use super::id_token::{self, Expect};
use crate::ctx::Ctx;
use crate::error::{Error, Result};

/// Only when the operator asked for it (`BENCH_ROUTES = "1"`), in dev mode on loopback.
pub fn enabled(ctx: &Ctx) -> bool {
    ctx.loopback_dev && ctx.env.var("BENCH_ROUTES").map(|v| v.to_string() == "1").unwrap_or(false)
}

#[derive(Deserialize)]
struct Job {
    token: String,
    jwks: jsonwebtoken::jwk::JwkSet,
    issuer: String,
    client_id: String,
    nonce: String,
    now: u64,
    n: u32,
}

pub async fn id_token(mut req: Request, _ctx: &Ctx) -> Result<Response> {
    let job: Job = crate::http::parse_json(&req.bytes().await?)?;
    let expect = Expect { issuer: &job.issuer, client_id: &job.client_id, nonce: &job.nonce, now: job.now, fhir_user: true };
    for _ in 0..job.n.clamp(1, 10_000) {
        id_token::verify(&job.token, &job.jwks, expect).await.map_err(|e| Error::new(401, e.code(), e.message()))?;
    }
    crate::http::json(200, &serde_json::json!({ "checked": job.n }))
}
