//! The EHR adapter: everything the gateway says to a SMART on FHIR server
//! (Oracle Health first). SMART discovery (`discovery`), the code exchange
//! (`token`), SMART Backend Services tokens (`backend`), FHIR reads and
//! writes (`fhir`), finding an appointment and writing the meeting links
//! back (`appointment`), and checking a FHIR base before it is saved
//! (`validate`). No journey is imported here.

pub mod appointment;
pub mod backend;
pub mod discovery;
pub mod fhir;
pub mod token;
pub mod validate;
