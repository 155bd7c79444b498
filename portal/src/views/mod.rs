//! The portal's pages: the tenant list, one tenant's page, and its
//! sections. Shared widgets are in `widgets`.

pub mod audit;
pub mod fhir_bases;
pub mod records;
pub mod reports;
pub mod session;
pub mod sms;
pub mod tenant;
pub mod tenants;
pub mod tokens;
pub mod video;
pub mod watch;
