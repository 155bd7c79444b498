//! The small components the page is made of.

pub mod session;
pub mod status;
pub mod tenants;
