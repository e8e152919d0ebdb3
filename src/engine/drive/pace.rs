//! Failure pacing of a closed-loop user (`on_error { backoff }`): after a failed request the
//! user waits before its next, doubling the wait with each failure in a row, so a dead or
//! refusing server is not flooded at the speed it fails (32 users against a closed port sent
//! 60,000 requests a second before this; 2 users 177,291 requests in 6 s against a gateway
//! answering 429). A 429's or 503's `Retry-After` is a floor on the wait. Open-loop arrivals
//! are the plan and are never paced.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::schedule::Backoff;

use crate::engine::wire::retry_after::RETRY_AFTER_CAP;

/// One user's pacing: its rule and its failures in a row.
pub struct Pacer {
    rule: Backoff,
    failures: AtomicU32,
}

impl Pacer {
    pub fn new(rule: Backoff) -> Pacer {
        Pacer {
            rule,
            failures: AtomicU32::new(0),
        }
    }

    /// A request ended: `None` after a success (the count starts over), else the pause before
    /// the user's next request. The jitter is drawn from the request's id, so it differs between
    /// users that failed together and repeats from run to run.
    pub fn after(&self, failed: bool, retry_after: Option<Duration>, id: u64) -> Option<Duration> {
        if !failed {
            self.failures.store(0, Ordering::Relaxed);
            return None;
        }
        let n = self.failures.fetch_add(1, Ordering::Relaxed);
        Some(pause(&self.rule, n, retry_after, id))
    }
}

/// The pause after the `(n + 1)`-th failure in a row: `from · 2ⁿ` up to `to`; with jitter, half
/// of it fixed and the other half drawn ("equal jitter": never under half the backoff); at
/// least `retry_after` (capped at [`RETRY_AFTER_CAP`]).
pub fn pause(rule: &Backoff, n: u32, retry_after: Option<Duration>, id: u64) -> Duration {
    let full = rule
        .from_ns
        .saturating_mul(1u64 << n.min(40))
        .min(rule.to_ns);
    let ns = if rule.jitter {
        let half = full / 2;
        half + mix(id ^ u64::from(n)) % (full - half + 1)
    } else {
        full
    };
    let floor = retry_after.map_or(Duration::ZERO, |r| r.min(RETRY_AFTER_CAP));
    Duration::from_nanos(ns).max(floor)
}

/// SplitMix64's finaliser: a well-spread 64-bit value from any input.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(jitter: bool) -> Backoff {
        Backoff {
            from_ns: 100_000_000,
            to_ns: 10_000_000_000,
            jitter,
        }
    }

    #[test]
    fn the_pause_doubles_to_its_ceiling_and_a_success_starts_over() {
        let ms = |n| pause(&rule(false), n, None, 7).as_millis();
        assert_eq!(
            [ms(0), ms(1), ms(2), ms(6), ms(7), ms(60)],
            [100, 200, 400, 6400, 10_000, 10_000]
        );
        let p = Pacer::new(rule(false));
        assert_eq!(p.after(true, None, 1), Some(Duration::from_millis(100)));
        assert_eq!(p.after(true, None, 2), Some(Duration::from_millis(200)));
        assert_eq!(p.after(false, None, 3), None);
        assert_eq!(p.after(true, None, 4), Some(Duration::from_millis(100)));
    }

    #[test]
    fn jitter_keeps_at_least_half_and_at_most_all_and_spreads_users() {
        let waits: Vec<u128> = (0..1000)
            .map(|id| pause(&rule(true), 3, None, id).as_millis())
            .collect();
        assert!(waits.iter().all(|w| (400..=800).contains(w)), "{waits:?}");
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 300, "{} distinct waits", distinct.len());
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_a_minute() {
        let r = rule(false);
        assert_eq!(
            pause(&r, 0, Some(Duration::from_secs(1)), 0),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause(&r, 7, Some(Duration::from_secs(1)), 0),
            Duration::from_secs(10)
        );
        assert_eq!(
            pause(&r, 0, Some(Duration::from_secs(86_400)), 0),
            RETRY_AFTER_CAP
        );
    }
}
