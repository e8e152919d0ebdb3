//! The abort rule: a run whose requests keep failing stops instead of turning a dead server into
//! millions of error rows and a full disk (inference-perf's circuit breakers, k6's
//! `abortOnFail`). Finished requests are counted per second; once a whole window has been seen,
//! a window whose failed share (errors and timeouts among finished requests) reaches the rule's
//! threshold, with at least its minimum of requests, stops the run as `failed`.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::rundir::record::Status;
use crate::schedule::AbortRule;

const SECOND: u64 = 1_000_000_000;

/// Per-second counts: (second, finished, failed).
#[derive(Default)]
struct Window {
    buckets: VecDeque<(u64, u64, u64)>,
    first_second: Option<u64>,
    last_error: Option<String>,
}

pub struct Monitor {
    rule: Option<AbortRule>,
    window: Mutex<Window>,
}

impl Monitor {
    pub fn new(rule: Option<AbortRule>) -> Monitor {
        Monitor {
            rule,
            window: Mutex::new(Window::default()),
        }
    }

    /// Counts one finished request at `now_ns`; returns why the run must stop, if it must.
    pub fn record(&self, now_ns: u64, status: Status, error: Option<&str>) -> Option<String> {
        let rule = self.rule.as_ref()?;
        let failed = match status {
            Status::Ok => false,
            Status::Error | Status::Timeout => true,
            Status::Dropped | Status::Cancelled => return None,
        };
        let mut w = self.window.lock().ok()?;
        let second = now_ns / SECOND;
        w.first_second.get_or_insert(second);
        match w.buckets.back_mut() {
            Some((s, n, f)) if *s == second => {
                *n += 1;
                *f += u64::from(failed);
            }
            _ => w.buckets.push_back((second, 1, u64::from(failed))),
        }
        if failed {
            w.last_error = error.map(str::to_string);
        }
        let span = rule.window_ns.div_ceil(SECOND).max(1);
        while w
            .buckets
            .front()
            .is_some_and(|(s, _, _)| s + span <= second)
        {
            w.buckets.pop_front();
        }
        // A whole window must have been watched before it can judge.
        if second < w.first_second? + span {
            return None;
        }
        let (n, f) = w
            .buckets
            .iter()
            .fold((0, 0), |(n, f), (_, bn, bf)| (n + bn, f + bf));
        let share = f as f64 / n.max(1) as f64;
        if n >= rule.min_requests as u64 && share >= rule.error_share {
            let last = w
                .last_error
                .as_deref()
                .map(|e| format!("; the last error: {e}"))
                .unwrap_or_default();
            return Some(format!(
                "aborted: {f} of the {n} requests that finished in the last {}s failed ({:.0} %, the abort rule's limit is {:.0} %){last}",
                span,
                share * 100.0,
                rule.error_share * 100.0
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(share: f64) -> AbortRule {
        AbortRule {
            error_share: share,
            window_ns: 10 * SECOND,
            min_requests: 5,
        }
    }

    #[test]
    fn a_window_of_failures_aborts_once_it_has_been_watched_whole() {
        let m = Monitor::new(Some(rule(1.0)));
        for t in 0..10 {
            assert_eq!(m.record(t * SECOND, Status::Error, Some("refused")), None);
        }
        let why = m
            .record(10 * SECOND, Status::Error, Some("refused"))
            .expect("aborts");
        assert!(why.contains("failed (100 %"), "{why}");
        assert!(why.ends_with("the last error: refused"), "{why}");
    }

    #[test]
    fn one_success_in_the_window_keeps_an_all_fail_rule_quiet() {
        let m = Monitor::new(Some(rule(1.0)));
        for t in 0..5 {
            assert_eq!(m.record(t * SECOND, Status::Error, None), None);
        }
        assert_eq!(m.record(5 * SECOND, Status::Ok, None), None);
        for t in 6..15 {
            assert_eq!(m.record(t * SECOND, Status::Error, None), None, "at {t} s");
        }
        // The success has left the window: ten seconds of failures now.
        assert!(m.record(15 * SECOND, Status::Error, None).is_some());
    }

    #[test]
    fn below_the_threshold_or_the_minimum_nothing_happens() {
        let m = Monitor::new(Some(rule(0.5)));
        for t in 0..30 {
            let s = if t % 3 == 0 {
                Status::Error
            } else {
                Status::Ok
            };
            assert_eq!(m.record(t * SECOND, s, None), None);
        }
        let m = Monitor::new(Some(rule(0.5)));
        assert_eq!(m.record(0, Status::Error, None), None);
        assert_eq!(
            m.record(11 * SECOND, Status::Error, None),
            None,
            "2 < 5 requests"
        );
        assert_eq!(
            Monitor::new(None).record(99 * SECOND, Status::Error, None),
            None
        );
    }
}
