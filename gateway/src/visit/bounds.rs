//! How much one visit may store. A patient link is a bearer code anyone
//! holding it can use, so what it may add is capped per kind; the whole log
//! is capped too, with room kept for what clinicians and the gateway record,
//! so a flood can never stop the visit recording the clinician joining.

use super::client::{patient_waiting, Event, Refusal, PATIENT_EVENTS};

/// Events one visit keeps at most (a real visit has a few dozen). Each is
/// at most a few hundred bytes, so the log stays well under the 128 KiB a
/// Durable Object value may hold.
pub const MAX_EVENTS: usize = 250;
/// Events of one kind an anonymous caller (the patient link) may add.
pub const MAX_ANONYMOUS_PER_KIND: usize = 20;
/// Longest `detail` kept (provider codes, error codes).
pub const MAX_DETAIL: usize = 200;

/// Kinds a patient link's holder can cause (no sign-in behind them).
pub fn anonymous(kind: &str) -> bool {
    PATIENT_EVENTS.contains(&kind) || kind == "patient_lobby_arrival"
}

/// Whether `kind` may be added to `events`.
pub fn admit(events: &[Event], kind: &str) -> Result<(), Refusal> {
    if events.len() >= MAX_EVENTS {
        return Err(Refusal::LogFull);
    }
    if anonymous(kind) {
        if kind == "patient_left" && !patient_waiting(events) {
            return Err(Refusal::NoChange);
        }
        if events.iter().filter(|e| e.kind == kind).count() >= MAX_ANONYMOUS_PER_KIND {
            return Err(Refusal::KindFull);
        }
    }
    Ok(())
}

/// `detail` cut to `MAX_DETAIL` bytes on a character boundary.
pub fn clip(detail: String) -> String {
    if detail.len() <= MAX_DETAIL {
        return detail;
    }
    let mut end = MAX_DETAIL;
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    detail[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str) -> Event {
        Event { kind: kind.into(), at: "2026-01-01T00:00:00Z".into(), ehr_user_id: None, detail: None }
    }

    #[test]
    fn anonymous_kinds_are_capped_each_clinician_kinds_are_not() {
        let mut log = vec![];
        for _ in 0..MAX_ANONYMOUS_PER_KIND {
            assert_eq!(admit(&log, "device_check_passed"), Ok(()));
            log.push(ev("device_check_passed"));
        }
        assert_eq!(admit(&log, "device_check_passed"), Err(Refusal::KindFull));
        assert_eq!(admit(&log, "device_check_failed"), Ok(()));
        assert_eq!(admit(&log, "provider_joined"), Ok(()));
    }

    #[test]
    fn anonymous_kinds_together_leave_room_for_the_clinician() {
        let kinds = PATIENT_EVENTS.len() + 1;
        assert!(kinds * MAX_ANONYMOUS_PER_KIND * 2 < MAX_EVENTS, "the patient link can fill less than half the log");
    }

    #[test]
    fn the_log_is_bounded_for_everyone() {
        let log: Vec<Event> = (0..MAX_EVENTS).map(|_| ev("sms_sent")).collect();
        assert_eq!(admit(&log, "provider_joined"), Err(Refusal::LogFull));
    }

    #[test]
    fn leaving_is_recorded_only_from_the_lobby() {
        assert_eq!(admit(&[], "patient_left"), Err(Refusal::NoChange));
        assert_eq!(admit(&[ev("patient_lobby_arrival")], "patient_left"), Ok(()));
        assert_eq!(admit(&[ev("patient_lobby_arrival"), ev("patient_left")], "patient_left"), Err(Refusal::NoChange));
    }

    #[test]
    fn details_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("short".into()), "short");
        let long = "é".repeat(MAX_DETAIL);
        let cut = clip(long);
        assert!(cut.len() <= MAX_DETAIL && cut.chars().all(|c| c == 'é'));
    }
}
