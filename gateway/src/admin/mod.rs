//! The admin journey: a health system's admin (or the operator) sets
//! Visitgate up. Who is calling (`auth`: API tokens, sessions, one-time
//! sign-in links), the organisation sign-in (`signin`, OpenID Connect), the
//! API under `/api/v1/` (`api`) and the portal's assets (`portal`).

pub mod api;
pub mod auth;
pub mod portal;
pub mod signin;
