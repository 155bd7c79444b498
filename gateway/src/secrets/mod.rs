//! The secrets the gateway holds, and where they come from. [`Secret`] is
//! the one type every secret travels in (tokens, client secrets, provider
//! keys, key material). Worker secrets (set by the operator) are read here;
//! secrets a tenant's settings name are looked up by `tenant`.

pub mod tenant;

use serde::{Deserialize, Deserializer};
use worker::Env;

/// The key of the gateway's keyed hashes (visit names, opt-out numbers,
/// webhook codes).
pub const REF_KEY_SECRET: &str = "APPOINTMENT_REF_KEY";

/// Every secret the gateway holds: `Debug` never prints it, and it is read
/// only through [`Secret::expose`], so a log line or an error cannot carry
/// it by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Tokens arrive in JSON (`access_token`); they go straight into a `Secret`.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A Worker secret (or, locally, a var) by name; empty counts as unset.
pub fn worker_secret(env: &Env, name: &str) -> Option<Secret> {
    env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string())).filter(|s| !s.is_empty()).map(Secret)
}

/// A keyed hash (HMAC-SHA256, hex) under [`REF_KEY_SECRET`]; `None` when
/// the deployment has no such key.
pub fn keyed_ref(env: &Env, input: &str) -> Option<String> {
    let key = worker_secret(env, REF_KEY_SECRET)?;
    Some(crate::crypto::keyed_hash_hex(key.expose().as_bytes(), input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("s3cr3t".to_string());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(Secret::new([1u8; 32]))), "Some([redacted])");
        let parsed: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(parsed.expose(), "tok");
    }
}
