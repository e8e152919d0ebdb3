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

/// One turn's part in its user's pacing: a turn of several branches (`fanout`) is one outcome
/// — it failed when any branch failed, and the longest `Retry-After` of them counts — decided
/// by the branch that ends last, whose row records the pause.
pub struct TurnPace<'a> {
    pacer: &'a Pacer,
    left: AtomicU32,
    failed: std::sync::atomic::AtomicBool,
    retry_after: std::sync::Mutex<Option<Duration>>,
}

impl<'a> TurnPace<'a> {
    pub fn new(pacer: &'a Pacer) -> TurnPace<'a> {
        TurnPace {
            pacer,
            left: AtomicU32::new(0),
            failed: std::sync::atomic::AtomicBool::new(false),
            retry_after: std::sync::Mutex::new(None),
        }
    }

    /// One more branch of the turn goes out (counted before any of them ends: the turn's
    /// requests are all fired, then awaited together).
    pub fn branch(&self) -> &Self {
        self.left.fetch_add(1, Ordering::SeqCst);
        self
    }

    /// A branch ended; the last to end gets the turn's pause (`None` for the others, and after
    /// a turn that succeeded).
    pub fn ended(&self, failed: bool, retry_after: Option<Duration>, id: u64) -> Option<Duration> {
        if failed {
            self.failed.store(true, Ordering::SeqCst);
        }
        if let (Some(r), Ok(mut most)) = (retry_after, self.retry_after.lock()) {
            *most = Some(most.map_or(r, |m| m.max(r)));
        }
        if self.left.fetch_sub(1, Ordering::SeqCst) != 1 {
            return None;
        }
        let most = self.retry_after.lock().ok().and_then(|m| *m);
        self.pacer
            .after(self.failed.load(Ordering::SeqCst), most, id)
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
    fn a_fanned_out_turn_is_paced_once_on_its_combined_outcome() {
        let p = Pacer::new(rule(false));
        // Branch 0 succeeds, branch 1 fails with Retry-After 1 s: one pause, decided last.
        let turn = TurnPace::new(&p);
        turn.branch().branch();
        assert_eq!(turn.ended(false, None, 1), None);
        assert_eq!(
            turn.ended(true, Some(Duration::from_secs(1)), 2),
            Some(Duration::from_secs(1))
        );
        // The next failed turn doubles once, not once per branch.
        let turn = TurnPace::new(&p);
        turn.branch().branch().branch();
        assert_eq!(turn.ended(true, None, 3), None);
        assert_eq!(turn.ended(true, None, 4), None);
        assert_eq!(turn.ended(true, None, 5), Some(Duration::from_millis(200)));
        // A turn whose every branch succeeded starts the count over.
        let turn = TurnPace::new(&p);
        turn.branch().branch();
        assert_eq!(
            (turn.ended(false, None, 6), turn.ended(false, None, 7)),
            (None, None)
        );
        assert_eq!(p.after(true, None, 8), Some(Duration::from_millis(100)));
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
