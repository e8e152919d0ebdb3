//! Statistical checks of every arrival process, with fixed seeds and tolerances derived from the
//! sample size (counts: 5 standard deviations; shapes: the KS critical value at α = 0.001).

mod common;

use common::*;

fn expect_count(n: usize, expected: f64, sd: f64) {
    let diff = (n as f64 - expected).abs();
    assert!(
        diff <= 5.0 * sd + 1.0,
        "count {n}, expected {expected} ± 5·{sd}"
    );
}

#[test]
fn constant_rate_is_evenly_spaced_and_exact() {
    let s = plan(&open_phase("constant(rate: 10/s)", "10s"));
    let t = times(&s);
    assert_eq!(t.len(), 100);
    assert_eq!(s.requests[0].at_ns, Some(0));
    for (i, r) in s.requests.iter().enumerate() {
        assert_eq!(r.at_ns, Some(i as u64 * 100_000_000), "request {i}");
    }
}

#[test]
fn poisson_gaps_are_exponential() {
    let s = plan(&open_phase("poisson(rate: 50/s)", "200s"));
    let t = times(&s);
    expect_count(t.len(), 10_000.0, 100.0);
    let g = gaps(&t);
    assert!((mean(&g) - 0.02).abs() < 5.0 * 0.02 / (g.len() as f64).sqrt());
    // The sample CV of n exponential gaps has a standard deviation of about 1/√n.
    assert!(
        (cv(&g) - 1.0).abs() < 5.0 / (g.len() as f64).sqrt(),
        "cv {}",
        cv(&g)
    );
    let d = ks(&g, |x| 1.0 - (-50.0 * x).exp());
    assert!(d < ks_limit(g.len()), "KS {d}");
}

fn check_gamma_gaps(cv_target: f64, rate: f64, seconds: f64) {
    let s = plan(&open_phase(
        &format!("gamma(rate: {rate}/s, cv: {cv_target})"),
        &format!("{seconds}s"),
    ));
    let t = times(&s);
    // A renewal process's count has variance ≈ λT·cv².
    expect_count(t.len(), rate * seconds, (rate * seconds).sqrt() * cv_target);
    let g = gaps(&t);
    let shape = 1.0 / (cv_target * cv_target);
    let scale = 1.0 / (rate * shape);
    // Send times are whole nanoseconds, and with cv = 3 about a tenth of the gaps are shorter
    // than that. A gap between two rounded times is within 1 ns of the true gap either way,
    // so compare against the CDF at that resolution.
    let d = ks_rounded(&g, |x| gamma_p(shape, x.max(0.0) / scale), 1e-9);
    assert!(d < ks_limit(g.len()), "KS {d}");
    // sd(s²)/σ² ≈ √((kurtosis − 1)/n) with kurtosis 3 + 6/shape; the CV's relative sd is half that.
    let rel = 0.5 * ((2.0 + 6.0 / shape) / g.len() as f64).sqrt();
    assert!(
        (cv(&g) / cv_target - 1.0).abs() < 5.0 * rel,
        "cv {} vs {cv_target}",
        cv(&g)
    );
}

#[test]
fn gamma_gaps_match_bursty_and_smooth_targets() {
    check_gamma_gaps(3.0, 20.0, 2000.0);
    check_gamma_gaps(0.5, 20.0, 500.0);
}

#[test]
fn onoff_is_silent_while_off() {
    let s = plan(&open_phase("onoff(rate: 40/s, on: 5s, off: 15s)", "200s"));
    let t = times(&s);
    expect_count(t.len(), 2000.0, 2000f64.sqrt());
    for x in &t {
        assert!(
            x % 20.0 < 5.0 + 1e-9,
            "arrival at {x}s falls in an off period"
        );
    }
}

#[test]
fn steps_assign_exact_step_indices_and_rates() {
    let text = open_phase(
        "poisson(rate: steps(10/s, 50/s, 0/s, 20/s, hold: 20s))",
        "80s",
    );
    let s = plan(&text);
    let mut counts = [0usize; 4];
    for r in &s.requests {
        let at = r.at_ns.expect("open loop");
        assert_eq!(
            u64::from(r.step),
            at / 20_000_000_000,
            "step of the request at {at}ns"
        );
        assert_eq!(r.id % 1_000_000_000_000 / 1_000_000_000, u64::from(r.step));
        counts[r.step as usize] += 1;
    }
    for (c, rate) in counts.iter().zip([10.0, 50.0, 0.0, 20.0]) {
        expect_count(*c, rate * 20.0, (rate * 20.0f64).sqrt());
    }
    assert_eq!(counts[2], 0);
    assert_eq!(s.phases[0].steps.len(), 4);
}

/// Counts in equal bins against the integral of the rate over each bin.
fn check_bins(arrival: &str, seconds: f64, bins: usize, rate: impl Fn(f64) -> f64) {
    let s = plan(&open_phase(arrival, &format!("{seconds}s")));
    let t = times(&s);
    let width = seconds / bins as f64;
    for b in 0..bins {
        let (lo, hi) = (b as f64 * width, (b + 1) as f64 * width);
        let observed = t.iter().filter(|x| **x >= lo && **x < hi).count();
        let panels = 1000;
        let expected: f64 = (0..panels)
            .map(|i| {
                rate(lo + (f64::from(i) + 0.5) * width / f64::from(panels)) * width
                    / f64::from(panels)
            })
            .sum();
        expect_count(observed, expected, expected.sqrt());
    }
}

#[test]
fn ramps_follow_the_integral_of_the_rate() {
    check_bins(
        "poisson(rate: ramp(from: 1/s, to: 100/s))",
        100.0,
        10,
        |t| 1.0 + 99.0 * t / 100.0,
    );
    check_bins(
        "poisson(rate: ramp(from: 100/s, to: 1/s))",
        100.0,
        10,
        |t| 100.0 - 99.0 * t / 100.0,
    );
    check_bins(
        "poisson(rate: ramp(from: 2/s, to: 64/s, shape: exponential))",
        60.0,
        6,
        |t| 2.0 * 32f64.powf(t / 60.0),
    );
}

#[test]
fn sine_follows_the_integral_of_the_rate() {
    check_bins(
        "poisson(rate: sine(mean: 50/s, amplitude: 40/s, period: 20s))",
        200.0,
        40,
        |t| 50.0 + 40.0 * (2.0 * std::f64::consts::PI * t / 20.0).sin(),
    );
}

#[test]
fn constant_process_with_a_ramp_is_evenly_spaced_in_cumulative_rate() {
    // Λ(t) = t + t²/2 over 10s for ramp 1→11/s: arrival k sits where Λ = k, exactly.
    let s = plan(&open_phase(
        "constant(rate: ramp(from: 1/s, to: 11/s))",
        "10s",
    ));
    let t = times(&s);
    assert_eq!(t.len(), 60); // Λ(10) = 10 + 50 = 60, arrivals at Λ = 0..59
    for (k, x) in t.iter().enumerate() {
        let lambda = x + x * x / 2.0;
        assert!(
            (lambda - k as f64).abs() < 1e-6,
            "arrival {k} at {x}s has Λ = {lambda}"
        );
    }
}

#[test]
fn requests_limit_stops_the_phase_early() {
    let text = "workload \"t\" {\n requests { input = 1 output = 1 }\n phase \"p\" {\n requests = 25\n arrival = poisson(rate: 5/s)\n }\n phase \"q\" {\n duration = 1s\n arrival = constant(rate: 1/s)\n }\n}\n";
    let s = plan(text);
    assert_eq!(s.phases[0].requests.len(), 25);
    let last = s.requests[24].at_ns.expect("open loop");
    // The next phase starts right after the 25th send.
    assert_eq!(s.phases[1].start_ns, Some(last + 1));
    assert_eq!(s.requests[25].at_ns, Some(last + 1));
}

#[test]
fn phases_start_after_the_previous_duration_and_pause() {
    let text = "workload \"t\" {\n requests { input = 1 output = 1 }\n phase \"a\" {\n duration = 10s\n concurrency = 2\n pause = 5s\n }\n phase \"b\" {\n duration = 2s\n arrival = constant(rate: 1/s)\n }\n}\n";
    let s = plan(text);
    assert_eq!(s.phases[1].start_ns, Some(15_000_000_000));
    let at: Vec<_> = s.requests.iter().map(|r| r.at_ns).collect();
    assert_eq!(at, vec![Some(15_000_000_000), Some(16_000_000_000)]);
}
