//! When a Durable Object's alarm tries again after a failure: doubling from
//! a short first wait up to a cap, so a lasting outage costs one attempt an
//! hour per object instead of one every few seconds forever.

use worker::Storage;

const FIRST_MS: i64 = 5_000;
const CAP_MS: i64 = 3_600_000;
const FAILURES_KEY: &str = "alarm_failures";

/// The wait before the next attempt after `failures` failures in a row (1 = the first).
pub fn backoff_ms(failures: u32) -> i64 {
    let doubled = FIRST_MS.saturating_mul(1_i64 << failures.saturating_sub(1).min(20));
    doubled.min(CAP_MS)
}

/// Counts a failed alarm and sets the next one, later each time up to the cap.
pub async fn after_failure(storage: &Storage) -> worker::Result<()> {
    let failures = storage.get::<u32>(FAILURES_KEY).await?.unwrap_or(0).saturating_add(1);
    storage.put(FAILURES_KEY, failures).await?;
    storage.set_alarm(backoff_ms(failures)).await
}

/// An alarm that succeeded: the next failure starts from the first wait again.
pub async fn after_success(storage: &Storage) -> worker::Result<()> {
    if storage.get::<u32>(FAILURES_KEY).await?.is_some() {
        storage.delete(FAILURES_KEY).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_five_seconds_to_an_hour() {
        assert_eq!(backoff_ms(1), 5_000);
        assert_eq!(backoff_ms(2), 10_000);
        assert_eq!(backoff_ms(3), 20_000);
        assert_eq!(backoff_ms(11), CAP_MS);
        assert_eq!(backoff_ms(u32::MAX), CAP_MS);
        assert!((1..100).all(|n| backoff_ms(n) <= backoff_ms(n + 1)));
    }
}
