//! The small components the page is made of.

pub mod audit;
pub mod fhir_bases;
pub mod records;
pub mod reports;
pub mod secret;
pub mod session;
pub mod sms;
pub mod status;
pub mod tenant;
pub mod tenants;
pub mod video;
