//! The small components the page is made of.

pub mod reports;
pub mod session;
pub mod status;
pub mod tenants;
