//! The launch state between `/launch` and `/launch/callback`, sealed into a
//! short-lived cookie of its own per launch (two launches in two tabs don't
//! overwrite each other).

use serde::{Deserialize, Serialize};

use crate::seal::Expiring;

/// Launch state lives at most this long (SMART suggests minutes).
pub const TTL_SECS: u64 = 600;
pub const COOKIE_PREFIX: &str = "vg_launch_";
pub const COOKIE_PATH: &str = "/launch/callback";
pub const PURPOSE: &[u8] = b"visitgate/launch-state/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchState {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub iss: String,
    pub tenant_id: String,
    pub base_id: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Expiring for LaunchState {
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// This launch's cookie, named after the start of its `state`.
pub fn cookie_name(state: &str, secure: bool) -> String {
    crate::http::state_cookie_name(COOKIE_PREFIX, state, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_differ_per_launch() {
        assert_eq!(cookie_name("abcdefghijklmnopqrstuvwxyz", false), "vg_launch_abcdefghijklmnop");
        assert_eq!(cookie_name("abcdefghijklmnopqrstuvwxyz", true), "__Secure-vg_launch_abcdefghijklmnop");
    }
}
