//! Usage reports: one visit's figures from its events, and the summary over
//! many visits. Pure, so every figure is tested on the host.

use serde::{Deserialize, Serialize};

/// One event of a visit as the report sees it: kind, time (unix ms), who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedEvent {
    pub kind: String,
    pub at_ms: i64,
    #[serde(default)]
    pub ehr_user_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// A staff member and the patient met.
    Completed,
    /// The appointment's end passed and they never met.
    NoShow,
    /// Not over yet.
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitMetrics {
    /// When a staff member and the patient were first both present.
    pub started_at_ms: Option<i64>,
    /// From the start until the last person left; 0 if they never met,
    /// `None` while still going.
    pub duration_ms: Option<i64>,
    /// The patient's first lobby arrival until admitted.
    pub lobby_wait_ms: Option<i64>,
    pub status: VisitStatus,
    pub peak_attendees: u32,
    pub sms_sent: u32,
}

/// The figures of one visit. `end_ms` is the appointment's scheduled end;
/// `now_ms` decides whether a visit without a meeting is a no-show yet.
pub fn visit_metrics(events: &[TimedEvent], end_ms: Option<i64>, now_ms: i64) -> VisitMetrics {
    let first = |kind: &str| events.iter().filter(|e| e.kind == kind).map(|e| e.at_ms).min();
    let admitted = first("patient_admitted");
    let arrived = first("patient_lobby_arrival");
    // Admission happens the moment both are there: that is the start.
    let started_at_ms = admitted;
    let ended = events.iter().filter(|e| e.kind == "visit_ended").map(|e| e.at_ms).max();
    let duration_ms = match (started_at_ms, ended) {
        (Some(s), Some(e)) => Some((e - s).max(0)),
        (Some(_), None) => None,
        (None, _) => Some(0),
    };
    let lobby_wait_ms = match (arrived, admitted) {
        (Some(a), Some(b)) => Some((b - a).max(0)),
        _ => None,
    };
    let status = if started_at_ms.is_some() {
        VisitStatus::Completed
    } else if end_ms.is_some_and(|e| now_ms > e) || ended.is_some() {
        VisitStatus::NoShow
    } else {
        VisitStatus::Open
    };
    let mut staff: Vec<&str> = events.iter().filter(|e| e.kind == "provider_joined").filter_map(|e| e.ehr_user_id.as_deref()).collect();
    staff.sort_unstable();
    staff.dedup();
    let peak_attendees = staff.len() as u32 + u32::from(admitted.is_some());
    let sms_sent = events.iter().filter(|e| e.kind == "sms_sent").count() as u32;
    VisitMetrics {
        started_at_ms,
        duration_ms: if started_at_ms.is_none() && status == VisitStatus::Open { None } else { duration_ms },
        lobby_wait_ms,
        status,
        peak_attendees,
        sms_sent,
    }
}

/// The value below which `p` of the sorted values fall (nearest rank).
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// One row of the per-visit table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRow {
    pub visit_ref: String,
    pub base_id: String,
    pub department: String,
    pub scheduled_start_ms: Option<i64>,
    #[serde(flatten)]
    pub metrics: VisitMetrics,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub visits: u32,
    pub completed: u32,
    pub no_shows: u32,
    pub lobby_wait_median_ms: Option<i64>,
    pub lobby_wait_p90_ms: Option<i64>,
    pub duration_median_ms: Option<i64>,
    pub launches: u32,
    pub launches_ok: u32,
    /// Failed launches by error code, most frequent first.
    pub launch_errors: Vec<(String, u32)>,
    pub sms_sent: u32,
    pub sms_delivered: u32,
    pub sms_failed: u32,
}

impl Summary {
    pub fn from_rows(rows: &[VisitRow]) -> Self {
        let mut waits: Vec<i64> = rows.iter().filter_map(|r| r.metrics.lobby_wait_ms).collect();
        waits.sort_unstable();
        let mut durations: Vec<i64> =
            rows.iter().filter(|r| r.metrics.status == VisitStatus::Completed).filter_map(|r| r.metrics.duration_ms).collect();
        durations.sort_unstable();
        Summary {
            visits: rows.len() as u32,
            completed: rows.iter().filter(|r| r.metrics.status == VisitStatus::Completed).count() as u32,
            no_shows: rows.iter().filter(|r| r.metrics.status == VisitStatus::NoShow).count() as u32,
            lobby_wait_median_ms: percentile(&waits, 0.5),
            lobby_wait_p90_ms: percentile(&waits, 0.9),
            duration_median_ms: percentile(&durations, 0.5),
            ..Summary::default()
        }
    }
}

/// `GET …/reports/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryResponse {
    pub from_ms: i64,
    pub to_ms: i64,
    pub summary: Summary,
}

/// `GET …/reports/visits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitsResponse {
    pub from_ms: i64,
    pub to_ms: i64,
    pub visits: Vec<VisitRow>,
}

const DAY_MS: i64 = 86_400_000;

/// Visits per UTC day from `from_ms` to `to_ms`, days without visits
/// included: `(day start ms, count)`.
pub fn visits_per_day(rows: &[VisitRow], from_ms: i64, to_ms: i64) -> Vec<(i64, u32)> {
    let first = from_ms.div_euclid(DAY_MS) * DAY_MS;
    let days = ((to_ms - first).max(0) as u64).div_ceil(DAY_MS as u64).min(400) as usize;
    let mut out: Vec<(i64, u32)> = (0..days).map(|i| (first + i as i64 * DAY_MS, 0)).collect();
    for r in rows {
        let day = r.scheduled_start_ms.or(r.metrics.started_at_ms).unwrap_or(from_ms);
        let i = (day.div_euclid(DAY_MS) * DAY_MS - first) / DAY_MS;
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            slot.1 += 1;
        }
    }
    out
}

/// Lobby waits in buckets a person reads at a glance.
pub const WAIT_BUCKETS: [(&str, i64); 6] = [
    ("under 1 min", 60_000),
    ("1–2 min", 120_000),
    ("2–5 min", 300_000),
    ("5–10 min", 600_000),
    ("10–15 min", 900_000),
    ("15 min or more", i64::MAX),
];

pub fn wait_histogram(rows: &[VisitRow]) -> Vec<(&'static str, u32)> {
    let mut out: Vec<(&'static str, u32)> = WAIT_BUCKETS.iter().map(|(l, _)| (*l, 0)).collect();
    for w in rows.iter().filter_map(|r| r.metrics.lobby_wait_ms) {
        if let Some(i) = WAIT_BUCKETS.iter().position(|(_, below)| w < *below) {
            out[i].1 += 1;
        }
    }
    out
}

/// A duration for people: "45 s", "3 min 20 s", "1 h 5 min".
pub fn human_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 if s % 60 == 0 => format!("{} min", s / 60),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The per-visit table as CSV (RFC 4180), times in ISO 8601 UTC.
pub fn csv(rows: &[VisitRow], iso: impl Fn(i64) -> String) -> String {
    let cell = |s: &str| if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let opt_ms = |v: Option<i64>| v.map(|ms| format!("{:.1}", ms as f64 / 1000.0)).unwrap_or_default();
    let mut out = String::from("visit,department,scheduled_start,started,duration_s,lobby_wait_s,status,peak_attendees,sms_sent\r\n");
    for r in rows {
        let status = match r.metrics.status {
            VisitStatus::Completed => "completed",
            VisitStatus::NoShow => "no_show",
            VisitStatus::Open => "open",
        };
        out.push_str(
            &[
                cell(&r.visit_ref[..r.visit_ref.len().min(12)]),
                cell(&r.department),
                r.scheduled_start_ms.map(&iso).unwrap_or_default(),
                r.metrics.started_at_ms.map(&iso).unwrap_or_default(),
                opt_ms(r.metrics.duration_ms),
                opt_ms(r.metrics.lobby_wait_ms),
                status.to_string(),
                r.metrics.peak_attendees.to_string(),
                r.metrics.sms_sent.to_string(),
            ]
            .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, at_ms: i64, who: Option<&str>) -> TimedEvent {
        TimedEvent { kind: kind.into(), at_ms, ehr_user_id: who.map(str::to_string) }
    }

    #[test]
    fn a_visit_that_happened() {
        let events = [
            ev("provider_launch", 1_000, Some("dr1")),
            ev("patient_lobby_arrival", 10_000, None),
            ev("provider_joined", 70_000, Some("dr1")),
            ev("patient_admitted", 70_000, None),
            ev("provider_joined", 80_000, Some("dr2")),
            ev("sms_sent", 500, None),
            ev("visit_ended", 670_000, Some("dr1")),
        ];
        let m = visit_metrics(&events, Some(2_000_000), 3_000_000);
        assert_eq!(m.status, VisitStatus::Completed);
        assert_eq!(m.started_at_ms, Some(70_000));
        assert_eq!(m.lobby_wait_ms, Some(60_000));
        assert_eq!(m.duration_ms, Some(600_000));
        assert_eq!(m.peak_attendees, 3);
        assert_eq!(m.sms_sent, 1);
    }

    #[test]
    fn no_show_and_open() {
        let events = [ev("provider_joined", 1_000, Some("dr1"))];
        let m = visit_metrics(&events, Some(5_000), 6_000);
        assert_eq!((m.status, m.duration_ms, m.lobby_wait_ms), (VisitStatus::NoShow, Some(0), None));
        let m = visit_metrics(&events, Some(5_000), 4_000);
        assert_eq!((m.status, m.duration_ms), (VisitStatus::Open, None));
        let going = [ev("patient_lobby_arrival", 0, None), ev("patient_admitted", 5, None)];
        assert_eq!(visit_metrics(&going, None, 10).duration_ms, None, "still going");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), Some(5));
        assert_eq!(percentile(&v, 0.9), Some(9));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn charts_bucket_days_and_waits() {
        let row = |day: i64, wait: Option<i64>| VisitRow {
            visit_ref: "r".into(),
            base_id: "b".into(),
            department: "d".into(),
            scheduled_start_ms: Some(day),
            metrics: VisitMetrics {
                started_at_ms: None,
                duration_ms: None,
                lobby_wait_ms: wait,
                status: VisitStatus::Open,
                peak_attendees: 0,
                sms_sent: 0,
            },
        };
        let d = DAY_MS;
        let rows = [row(d + 5, Some(30_000)), row(d + 7, Some(60_000)), row(3 * d, Some(1_000_000)), row(3 * d + 1, None)];
        assert_eq!(visits_per_day(&rows, d + 100, 4 * d), vec![(d, 2), (2 * d, 0), (3 * d, 2)]);
        let h = wait_histogram(&rows);
        assert_eq!(h.iter().map(|b| b.1).collect::<Vec<_>>(), [1, 1, 0, 0, 0, 1]);
        assert_eq!(human_duration(45_000), "45 s");
        assert_eq!(human_duration(200_000), "3 min 20 s");
        assert_eq!(human_duration(3_900_000), "1 h 5 min");
    }

    #[test]
    fn csv_quotes_and_formats() {
        let row = VisitRow {
            visit_ref: "abcdef0123456789".into(),
            base_id: "fb".into(),
            department: "Cardio, \"East\"".into(),
            scheduled_start_ms: Some(0),
            metrics: visit_metrics(
                &[ev("patient_lobby_arrival", 0, None), ev("patient_admitted", 1_500, None), ev("visit_ended", 61_500, None)],
                None,
                0,
            ),
        };
        let text = csv(&[row], |ms| format!("T{ms}"));
        let line = text.lines().nth(1).unwrap();
        assert_eq!(line, "abcdef012345,\"Cardio, \"\"East\"\"\",T0,T1500,60.0,1.5,completed,1,0");
    }
}
