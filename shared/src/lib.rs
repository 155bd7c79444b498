//! Types and rules shared by the gateway, the portal and the tests.
//!
//! Pure Rust, no I/O: everything here compiles for the host and for wasm32,
//! and most of the project's unit tests live next to it.

pub mod api;
pub mod appointment;
pub mod audit;
pub mod email;
pub mod fhir_url;
pub mod ids;
pub mod integration;
pub mod kv_keys;
pub mod patient_link;
pub mod providers;
pub mod report;
pub mod retention;
pub mod schedule;
pub mod smart;
pub mod sms;
pub mod tenant;
pub mod validation;
pub mod video;
pub mod video_rule;
pub mod watch;
