//! The run's single monotonic clock, and waiting for an absolute deadline with sub-millisecond
//! precision (a coarse sleep, then a short spin).

use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    /// The wall-clock time that corresponds to time 0.
    pub wall_start: SystemTime,
}

/// A kernel arrival stamp older than this when read is taken for a wall-clock step, not a
/// wait: no read waits 10 s with its bytes in the socket while the run goes on.
pub const ARRIVAL_AGE_MAX: Duration = Duration::from_secs(10);

/// Below this much remaining time, `wait_until` spins instead of sleeping.
const SPIN: Duration = Duration::from_micros(100);

impl Clock {
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
            wall_start: SystemTime::now(),
        }
    }

    /// A clock whose time 0 is the wall-clock instant `at` (`--start-at`), and how long ago
    /// that was (zero if it is still ahead). Requests planned before now are already late.
    pub fn starting_at(at: SystemTime) -> (Clock, Duration) {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (start, wall_start, late) = match wall.duration_since(at) {
            Ok(late) => match now.checked_sub(late) {
                Some(start) => (start, at, late),
                // Further back than this host's monotonic clock reaches: time 0 is now.
                None => (now, wall, late),
            },
            Err(ahead) => (now + ahead.duration(), at, Duration::ZERO),
        };
        (Clock { start, wall_start }, late)
    }

    /// Nanoseconds since the run's start.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The run-clock time at which bytes arrived that the kernel stamped at `arrived_unix_ns`
    /// (`arrival.rs`): now, less how long ago that was by the wall clock. Only that short wait
    /// is measured on the wall clock, so its drift from the run clock does not matter. Without
    /// a stamp, or with one from the future or older than [`ARRIVAL_AGE_MAX`] (the wall clock
    /// was stepped in between), it is now.
    pub fn arrival(&self, arrived_unix_ns: Option<u64>) -> u64 {
        let now = self.now();
        let Some(arrived) = arrived_unix_ns else {
            return now;
        };
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        match wall.checked_sub(arrived) {
            Some(age) if age <= ARRIVAL_AGE_MAX.as_nanos() as u64 => now.saturating_sub(age),
            _ => now,
        }
    }

    /// The run-clock time of `at` (0 for an instant before the start).
    pub fn ns_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_nanos() as u64
    }

    pub fn instant(&self, ns: u64) -> Instant {
        self.start + Duration::from_nanos(ns)
    }

    /// Spins until `ns` (for the last few hundred microseconds before a send).
    pub fn spin_until(&self, ns: u64) {
        let deadline = self.instant(ns);
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
    }

    /// Blocks the calling (dedicated) thread until `ns`: sleeps while far, spins when near.
    /// Returns early, with false, if `keep_going` turns false.
    pub fn wait_until(&self, ns: u64, keep_going: impl Fn() -> bool) -> bool {
        let deadline = self.instant(ns);
        loop {
            if !keep_going() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            let left = deadline - now;
            if left > SPIN {
                std::thread::sleep(left.saturating_sub(SPIN).min(Duration::from_millis(50)));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// RFC 3339 UTC with nanoseconds: `2026-11-28T04:32:35.123456789Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrival_is_placed_on_the_run_clock_by_its_age() {
        let clock = Clock::start();
        std::thread::sleep(Duration::from_millis(300));
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos() as u64
        };
        let before = clock.now();
        // Bytes that arrived 200 ms ago are 200 ms before now on the run clock (give or take
        // the time between the clock reads, well under the 50 ms allowed).
        let at = clock.arrival(Some(unix(SystemTime::now() - Duration::from_millis(200))));
        assert!(
            at + 150_000_000 <= before && at + 250_000_000 >= before,
            "{at} vs {before}"
        );
        // No stamp, one from the future, one from before a wall-clock step: now.
        for stamp in [
            None,
            Some(unix(SystemTime::now() + Duration::from_secs(5))),
            Some(unix(SystemTime::now() - Duration::from_secs(60))),
        ] {
            let (lo, at, hi) = (clock.now(), clock.arrival(stamp), clock.now());
            assert!(lo <= at && at <= hi, "{stamp:?}: {at} not in {lo}..{hi}");
        }
    }

    #[test]
    fn formats_utc_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_795_839_155, 5);
        assert_eq!(rfc3339(t), "2026-11-28T04:12:35.000000005Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(rfc3339(leap).starts_with("2000-02-29T00:00:00"));
    }
}
