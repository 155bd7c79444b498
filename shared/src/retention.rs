//! How long a tenant's records are kept. The scheduled retention job
//! deletes usage reports and audit entries older than this; a visit's own
//! object deletes itself a set time after the visit.

use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Usage reports (events and visit rows), by when they happened.
    #[serde(default = "reports_default")]
    pub reports_days: u32,
    /// Audit entries of settings changes.
    #[serde(default = "audit_default")]
    pub audit_days: u32,
    /// A visit's object (its live events, meeting and delivery records),
    /// after the appointment's end.
    #[serde(default = "visit_default")]
    pub visit_days: u32,
}

fn reports_default() -> u32 {
    400
}
// Six years: what HIPAA asks of compliance documentation (45 CFR 164.316(b)(2)).
fn audit_default() -> u32 {
    2190
}
fn visit_default() -> u32 {
    14
}

impl Default for Retention {
    fn default() -> Self {
        Retention { reports_days: reports_default(), audit_days: audit_default(), visit_days: visit_default() }
    }
}

/// Allowed ranges, in days, per field.
pub const LIMITS: [(&str, u32, u32); 3] = [("reports_days", 30, 3650), ("audit_days", 365, 3650), ("visit_days", 1, 90)];

impl Retention {
    fn days(&self, field: &str) -> u32 {
        match field {
            "reports_days" => self.reports_days,
            "audit_days" => self.audit_days,
            _ => self.visit_days,
        }
    }

    /// The first problem as `(field, message)`.
    pub fn problem(&self) -> Option<(String, String)> {
        LIMITS
            .iter()
            .find(|(f, lo, hi)| !(*lo..=*hi).contains(&self.days(f)))
            .map(|(f, lo, hi)| (format!("retention.{f}"), format!("Keep these between {lo} and {hi} days (asked for {}).", self.days(f))))
    }

    /// Reports from before this instant are deleted.
    pub fn reports_cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms - self.reports_days as i64 * DAY_MS
    }

    /// Audit entries from before this instant are deleted.
    pub fn audit_cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms - self.audit_days as i64 * DAY_MS
    }

    /// When a visit's object deletes itself: `visit_days` after its end
    /// (or after `now_ms`, for a visit without a known end).
    pub fn visit_expires_ms(&self, end_ms: Option<i64>, now_ms: i64) -> i64 {
        end_ms.unwrap_or(now_ms) + self.visit_days as i64 * DAY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_the_limits() {
        assert_eq!(Retention::default().problem(), None);
        let parsed: Retention = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, Retention::default());
    }

    #[test]
    fn out_of_range_is_refused_with_the_field() {
        let r = Retention { visit_days: 0, ..Default::default() };
        assert_eq!(r.problem().unwrap().0, "retention.visit_days");
        let r = Retention { reports_days: 5000, ..Default::default() };
        let (field, message) = r.problem().unwrap();
        assert_eq!(field, "retention.reports_days");
        assert!(message.contains("between 30 and 3650"), "{message}");
        assert!(serde_json::from_str::<Retention>(r#"{"forever":true}"#).is_err(), "unknown fields refused");
    }

    #[test]
    fn cutoffs() {
        let r = Retention::default();
        let now = 1_000 * DAY_MS;
        assert_eq!(r.reports_cutoff_ms(now), 600 * DAY_MS);
        assert_eq!(r.visit_expires_ms(Some(10 * DAY_MS), now), 24 * DAY_MS);
        assert_eq!(r.visit_expires_ms(None, now), 1_014 * DAY_MS);
    }
}
