//! What the notification job watches on a FHIR base, and what it decides
//! from one look. Oracle Health has no change feed for appointments and no
//! `_lastUpdated` on Appointment search: a client learns of bookings by
//! searching the health system's own location (or practitioner) ids over a
//! date window, and of moves and cancellations by comparing each
//! appointment's version and start with what it saw last time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Ids per search (a comma list): keeps each URL short.
pub const IDS_PER_SEARCH: usize = 20;
pub const MAX_IDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    /// Millennium location ids (the health system's analysts give them).
    #[serde(default)]
    pub locations: Vec<String>,
    /// Millennium personnel ids, for clinicians whose visits are not tied to a watched location.
    #[serde(default)]
    pub practitioners: Vec<String>,
    /// How far ahead the job looks (days).
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
    /// How often the job looks (minutes; 1 = every run of the minute cron).
    #[serde(default = "default_every")]
    pub every_minutes: u32,
}

fn default_horizon() -> u32 {
    14
}
fn default_every() -> u32 {
    5
}

impl Default for Watch {
    fn default() -> Self {
        Watch { locations: vec![], practitioners: vec![], horizon_days: default_horizon(), every_minutes: default_every() }
    }
}

/// A Millennium id as it may appear in a search: digits, letters, `.` and `-`.
pub fn is_ehr_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

impl Watch {
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty() && self.practitioners.is_empty()
    }

    /// Problems as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        for (name, ids) in [("locations", &self.locations), ("practitioners", &self.practitioners)] {
            if ids.len() > MAX_IDS {
                out.push((format!("watch.{name}"), format!("Watch at most {MAX_IDS} {name}.")));
            }
            for (i, id) in ids.iter().enumerate() {
                if !is_ehr_id(id) {
                    out.push((
                        format!("watch.{name}.{i}"),
                        format!("{id:?} is not an EHR id: digits and letters only, as the analysts give them."),
                    ));
                } else if ids[..i].contains(id) {
                    out.push((format!("watch.{name}.{i}"), format!("{id} is listed twice.")));
                }
            }
        }
        if !(1..=60).contains(&self.horizon_days) {
            out.push(("watch.horizon_days".into(), "Look between 1 and 60 days ahead.".into()));
        }
        if !(1..=60).contains(&self.every_minutes) {
            out.push(("watch.every_minutes".into(), "Look every 1 to 60 minutes.".into()));
        }
        out
    }

    /// The documented searches for one look from `from` to `to` (ISO
    /// instants): one of location / practitioner, a comma list of ids, and a
    /// `ge` + `lt` date pair.
    pub fn searches(&self, from: &str, to: &str) -> Vec<String> {
        let mut out = vec![];
        for (param, ids) in [("location", &self.locations), ("practitioner", &self.practitioners)] {
            for chunk in ids.chunks(IDS_PER_SEARCH) {
                out.push(format!("Appointment?{param}={}&date=ge{from}&date=lt{to}&_count=50", chunk.join(",")));
            }
        }
        out
    }

    /// Whether a base last looked at `last` (seconds) is due at `now`.
    pub fn due(&self, last: Option<u64>, now: u64) -> bool {
        match last {
            None => true,
            _ if self.every_minutes <= 1 => true,
            // 45 s of slack: the cron's runs are not exactly a minute apart.
            Some(last) => now + 45 >= last + u64::from(self.every_minutes) * 60,
        }
    }
}

/// What the job remembers of one video visit (keyed by the visit's keyed
/// hash): no patient data. `sealed_id` is the appointment id, sealed, so a
/// visit that left the search can be read by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub version: String,
    pub start_ms: Option<i64>,
    pub status: String,
    pub sealed_id: String,
}

/// One appointment the search returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub visit_ref: String,
    pub version: String,
    pub start_ms: Option<i64>,
    pub status: String,
}

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Found, and new or changed since last time (or within the reminder
    /// horizon): its visit object decides what is due.
    pub look: Vec<String>,
    /// Remembered, still ahead, but not in this search: read by id (moved
    /// out of the window, or out of the watched locations, or deleted).
    pub gone: Vec<String>,
    /// Remembered visits long past: forgotten.
    pub forget: Vec<String>,
}

/// What one look over `now_ms..window_end_ms` calls for.
/// `reminder_until_ms`: visits starting before it are looked at every time
/// (a reminder may be due).
pub fn plan(remembered: &BTreeMap<String, Seen>, found: &[Found], now_ms: i64, window_end_ms: i64, reminder_until_ms: i64) -> Plan {
    let mut p = Plan::default();
    for f in found {
        let changed =
            remembered.get(&f.visit_ref).is_none_or(|s| s.version != f.version || s.start_ms != f.start_ms || s.status != f.status);
        let soon = f.start_ms.is_some_and(|t| t >= now_ms && t < reminder_until_ms);
        if changed || soon {
            p.look.push(f.visit_ref.clone());
        }
    }
    for (r, s) in remembered {
        if found.iter().any(|f| &f.visit_ref == r) {
            continue;
        }
        match s.start_ms {
            Some(t) if t < now_ms - 86_400_000 => p.forget.push(r.clone()),
            // Started, or beyond the window: not expected in this search.
            Some(t) if t < now_ms || t >= window_end_ms => {}
            _ if s.status == "cancelled" => p.forget.push(r.clone()),
            _ => p.gone.push(r.clone()),
        }
    }
    p
}

/// The job's last look at one base, for the portal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// When it last looked (ISO), and how it went.
    pub last_run_at: Option<String>,
    pub appointments: u32,
    pub sent: u32,
    pub retrying: u32,
    /// The last failure: its code, its sentence, when.
    pub last_error: Option<HealthError>,
    /// When it looks next (ISO): the interval, or the EHR's `Retry-After`.
    pub next_run_at: Option<String>,
    /// Set by a 429: no look before this (ISO).
    #[serde(default)]
    pub throttled_until: Option<String>,
    /// FHIR requests the last look made (searches, reads by id, patient reads).
    pub fhir_requests: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthError {
    pub code: String,
    pub message: String,
    pub at: String,
}

/// A watched id as the EHR names it (`POST …/watch/check`); never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub kind: String,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdProblem {
    pub field: String,
    pub message: String,
}

/// The answer of `POST …/watch/check`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub found: Vec<Named>,
    pub problems: Vec<IdProblem>,
}

/// The answer of `GET …/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchView {
    pub watch: Watch,
    pub health: Health,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(version: &str, start: i64, status: &str) -> Seen {
        Seen { version: version.into(), start_ms: Some(start), status: status.into(), sealed_id: "x".into() }
    }
    fn found(r: &str, version: &str, start: i64, status: &str) -> Found {
        Found { visit_ref: r.into(), version: version.into(), start_ms: Some(start), status: status.into() }
    }

    #[test]
    fn searches_are_the_documented_ones() {
        let w = Watch { locations: (0..25).map(|i| i.to_string()).collect(), practitioners: vec!["p1".into()], ..Default::default() };
        let q = w.searches("2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z");
        assert_eq!(q.len(), 3, "20 ids a search, location and practitioner apart");
        assert!(q[0].starts_with("Appointment?location=0,1,2,"));
        assert!(q[0].ends_with("&date=ge2026-01-01T00:00:00Z&date=lt2026-01-15T00:00:00Z&_count=50"));
        assert_eq!(q[2], "Appointment?practitioner=p1&date=ge2026-01-01T00:00:00Z&date=lt2026-01-15T00:00:00Z&_count=50");
        assert!(q.iter().all(|s| !s.contains("_lastUpdated")));
    }

    #[test]
    fn ids_and_ranges_are_checked() {
        let w = Watch { locations: vec!["32216049".into(), "a b".into(), "32216049".into()], horizon_days: 0, ..Default::default() };
        let fields: Vec<String> = w.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["watch.locations.1", "watch.locations.2", "watch.horizon_days"]);
        assert!(Watch::default().problems().is_empty());
        assert!(!is_ehr_id("1/../2") && !is_ehr_id("") && is_ehr_id("4048128.1"));
    }

    #[test]
    fn new_changed_and_soon_are_looked_at_unchanged_later_ones_not() {
        let now = 1_000_000_000_000;
        let hour = 3_600_000;
        let mut mem = BTreeMap::new();
        mem.insert("same".to_string(), seen("1", now + 48 * hour, "booked"));
        mem.insert("moved".to_string(), seen("1", now + 48 * hour, "booked"));
        mem.insert("soon".to_string(), seen("1", now + hour, "booked"));
        mem.insert("left".to_string(), seen("2", now + 5 * hour, "booked"));
        mem.insert("done".to_string(), seen("2", now - 2 * 24 * hour, "booked"));
        mem.insert("earlier".to_string(), seen("2", now - hour, "booked"));
        let found = [
            found("same", "1", now + 48 * hour, "booked"),
            found("moved", "2", now + 50 * hour, "booked"),
            found("soon", "1", now + hour, "booked"),
            found("new", "1", now + 72 * hour, "booked"),
        ];
        mem.insert("later".to_string(), seen("3", now + 20 * 24 * hour, "booked"));
        let p = plan(&mem, &found, now, now + 14 * 24 * hour, now + 25 * hour);
        assert_eq!(p.look, ["moved", "soon", "new"]);
        assert_eq!(p.gone, ["left"], "a visit moved beyond the window is not read again each look");
        assert_eq!(p.forget, ["done"]);
    }

    #[test]
    fn the_interval_holds_with_slack() {
        let w = Watch { every_minutes: 5, ..Default::default() };
        assert!(w.due(None, 1000));
        assert!(!w.due(Some(1000), 1000 + 120));
        assert!(w.due(Some(1000), 1000 + 260));
        assert!(Watch { every_minutes: 1, ..Default::default() }.due(Some(1000), 1000));
    }
}
