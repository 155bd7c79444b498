//! Usage reports in D1 (`migrations/`): `events` writes what happened
//! (launch outcomes, visit events and figures), `query` reads the rows and
//! counts the admin API shows, `retention` deletes what is past its time.
//! All three are this journey's named interfaces.

pub mod events;
pub mod query;
pub mod retention;

use worker::{D1Database, Env};

use crate::error::Result;

pub const BINDING: &str = "REPORTS";

fn db(env: &Env) -> Result<D1Database> {
    Ok(env.d1(BINDING)?)
}
