//! When patient messages are due: reminder windows and retry backoff. Pure
//! functions of times in seconds, so the rules test on the host.

/// Which reminder (its offset in minutes) is due at `now` for a visit that
/// starts at `start`, if any. `told_at` is when the patient was last sent
/// the time (confirmation or change).
///
/// Only the nearest open window counts: a visit booked 10 minutes ahead gets
/// its confirmation and no 24-hour reminder; and a reminder whose window
/// opened before the patient was told adds nothing to what they were told.
pub fn due_reminder(start: u64, now: u64, offsets_minutes: &[u32], told_at: u64) -> Option<u32> {
    if now >= start {
        return None;
    }
    let nearest = offsets_minutes.iter().copied().filter(|&m| m > 0 && now + u64::from(m) * 60 >= start).min()?;
    let opened = start - u64::from(nearest) * 60;
    (told_at < opened).then_some(nearest)
}

/// How far ahead the job must look so that every reminder window is seen.
pub fn reminder_horizon_secs(offsets_minutes: &[u32]) -> u64 {
    u64::from(offsets_minutes.iter().copied().max().unwrap_or(0)) * 60
}

/// Attempts at one message before it is recorded as failed for good.
pub const MAX_ATTEMPTS: u32 = 6;

/// After `attempts` failed tries (each a transient failure: 5xx, 429 or a
/// timeout the provider's log could not settle), when to try again: 1, 2,
/// 4, 8 and 16 minutes later; `None` once `MAX_ATTEMPTS` are spent.
pub fn retry_delay_secs(attempts: u32) -> Option<u64> {
    (1..MAX_ATTEMPTS).contains(&attempts).then(|| 60u64 << (attempts - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;
    const M: u64 = 60;
    const OFFSETS: [u32; 2] = [1440, 15];

    #[test]
    fn reminders_open_at_their_offsets() {
        let start = 100 * H;
        let told = 10 * H;
        assert_eq!(due_reminder(start, start - 25 * H, &OFFSETS, told), None);
        assert_eq!(due_reminder(start, start - 24 * H, &OFFSETS, told), Some(1440));
        assert_eq!(due_reminder(start, start - 2 * H, &OFFSETS, told), Some(1440), "late run: still the day-before one");
        assert_eq!(due_reminder(start, start - 15 * M, &OFFSETS, told), Some(15));
        assert_eq!(due_reminder(start, start - M, &OFFSETS, told), Some(15));
        assert_eq!(due_reminder(start, start, &OFFSETS, told), None, "too late");
    }

    #[test]
    fn no_reminder_right_after_being_told() {
        let start = 100 * H;
        // Booked 3 hours ahead: the confirmation covers the day-before reminder.
        assert_eq!(due_reminder(start, start - 2 * H, &OFFSETS, start - 3 * H), None);
        assert_eq!(due_reminder(start, start - 10 * M, &OFFSETS, start - 3 * H), Some(15));
        // Booked 10 minutes ahead: nothing but the confirmation.
        assert_eq!(due_reminder(start, start - 5 * M, &OFFSETS, start - 10 * M), None);
        assert_eq!(due_reminder(start, start - 5 * M, &[], 0), None);
        assert_eq!(reminder_horizon_secs(&OFFSETS), 24 * H);
    }

    #[test]
    fn backoff_doubles_then_gives_up() {
        let delays: Vec<Option<u64>> = (0..=MAX_ATTEMPTS).map(retry_delay_secs).collect();
        assert_eq!(delays, [None, Some(60), Some(120), Some(240), Some(480), Some(960), None]);
    }
}
