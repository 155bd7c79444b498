//! The OpenID Connect rules both sign-ins follow (the provider's SMART
//! launch and the admin's organisation sign-in): id_token verification, and
//! how the gateway proves itself at a token endpoint (client secret or a
//! `private_key_jwt` assertion, whose public key `/.well-known/jwks.json`
//! publishes).

pub mod bench;
pub mod client_auth;
pub mod id_token;
pub mod jws;
