//! Where state lives: the config writer (a Durable Object) and KV.

pub mod config;
pub mod durable;
pub mod kv;
pub mod launch_guard;
pub mod opt_out;
pub mod rpc;
