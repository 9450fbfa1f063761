//! Timers of a sans-IO state machine: deadlines kept as `Option<Instant>`,
//! and exponential backoff.

use std::time::{Duration, Instant};

/// `base` doubled for each attempt after the first, at most `max`.
pub(super) fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << shift).min(max)
}

/// Clears a timer once it has passed; true if it had.
pub(super) fn passed(t: &mut Option<Instant>, now: Instant) -> bool {
    match *t {
        Some(at) if at <= now => {
            *t = None;
            true
        }
        _ => false,
    }
}

pub(super) fn min_time(acc: &mut Option<Instant>, t: Instant) {
    *acc = Some(acc.map_or(t, |a| a.min(t)));
}
