//! The gateway's one error type. Every failure maps to an HTTP status and a
//! stable code: JSON `{code, message, field}` for the API, a page a person
//! can read (with the code to quote to support) for browser routes.

use shared::api::ApiError;
use shared::tenant::Tenant;
use shared::validation::ValidationReport;

#[derive(Debug)]
pub struct Error {
    pub status: u16,
    pub body: ApiError,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Error { status, body: ApiError { code: code.into(), message: message.into(), field: None, current: None, validation: None } }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(401, "unauthenticated", "Sign in first: send a bearer token or open a sign-in link.")
    }

    pub fn forbidden() -> Self {
        Self::new(403, "forbidden", "Your account may not access this tenant or action.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} was not found."))
    }

    pub fn conflict(current: Tenant) -> Self {
        let mut e = Self::new(
            409,
            "version_conflict",
            format!(
                "Someone else changed this tenant (it is now at version {}). Reload to see their change, then save again.",
                current.version
            ),
        );
        e.body.current = Some(Box::new(current));
        e
    }

    pub fn precondition_required() -> Self {
        Self::new(
            428,
            "if_match_required",
            "Send the If-Match header with the ETag you read, so concurrent edits cannot overwrite each other.",
        )
    }

    pub fn validation_failed(report: ValidationReport) -> Self {
        let mut e = Self::new(422, "fhir_base_invalid", report.summary()).field("url");
        e.body.validation = Some(Box::new(report));
        e
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        // The detail goes to the log only: it may name internals.
        worker::console_error!("internal error: {detail}");
        Self::new(500, "internal", "Something went wrong on our side. Try again; if it keeps happening, contact support.")
    }
}

impl From<worker::Error> for Error {
    fn from(e: worker::Error) -> Self {
        Error::internal(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal(e)
    }
}
