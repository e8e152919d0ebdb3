//! The saturation point and the recommended operating range.
//!
//! Rule (docs/metrics.md): walking the steps of a phase in order of load, the system saturates
//! at the first step whose throughput gain over the previous step is under 10 % while its TTFT
//! p50 rose by more than half, or its error rate exceeds 1 %. The operating range is 50–70 % of
//! the best throughput reached up to that step, with the load that reaches each end, read off the
//! measured (load, tps) curve by linear interpolation.

use serde::Serialize;

use super::groups::{Group, Load};
use super::search::{SearchReport, Verdict};
use crate::search::load_for;

/// A step counts as no longer growing below this relative throughput gain.
pub use crate::search::MIN_GAIN;
/// TTFT p50 rising by more than this factor is "sharp".
pub const TTFT_JUMP: f64 = 1.5;
/// An error rate above this marks saturation by itself.
pub use crate::search::MAX_ERRORS;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saturation {
    pub phase: String,
    pub step: u32,
    pub load: Load,
    pub tps: f64,
    pub reason: String,
    pub operating_range: OperatingRange,
    /// Set when the 95 % intervals of the two steps compared do not support the verdict: the
    /// throughput intervals allow a gain of `MIN_GAIN` or more, or the TTFT intervals a rise
    /// of `TTFT_JUMP` or less (hold the steps longer to settle it).
    pub uncertain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingRange {
    /// Load at 50 % and 70 % of the saturation throughput.
    pub load: [f64; 2],
    pub tps: [f64; 2],
}

/// The first saturated step over all phases with at least two steps; failing that, over
/// consecutive one-step phases of the same loop kind and rising load (a sweep written as
/// phases).
pub fn find(groups: &[Group]) -> Option<Saturation> {
    let mut phases: Vec<&str> = groups.iter().map(|g| g.phase.as_str()).collect();
    phases.dedup();
    let of_phase = |p: &str| groups.iter().filter(|g| g.phase == p).collect::<Vec<_>>();
    if let Some(s) = phases.iter().find_map(|p| in_phase(&of_phase(p))) {
        return Some(s);
    }
    // The longest run of consecutive one-step phases with rising load of one kind.
    let mut best: Vec<&Group> = Vec::new();
    let mut run: Vec<&Group> = Vec::new();
    for p in &phases {
        let steps = of_phase(p);
        let [g] = steps.as_slice() else {
            run.clear();
            continue;
        };
        let same_kind =
            |l: &Group| std::mem::discriminant(&l.load) == std::mem::discriminant(&g.load);
        if !run
            .last()
            .is_some_and(|l| same_kind(l) && g.load.value() > l.load.value())
        {
            run.clear();
        }
        run.push(g);
        if run.len() > best.len() {
            best = run.clone();
        }
    }
    in_phase(&best)
}

fn in_phase(steps: &[&Group]) -> Option<Saturation> {
    if steps.len() < 2 {
        return None;
    }
    for i in 1..steps.len() {
        let (prev, cur) = (steps[i - 1], steps[i]);
        // Errors mark saturation by themselves, even a step where nothing succeeded (no
        // throughput to compare).
        let errors = cur.error_rate.unwrap_or(0.0);
        let mut uncertain = None;
        let reason = if errors > MAX_ERRORS {
            format!(
                "error rate {:.1} % above {:.0} %",
                errors * 100.0,
                MAX_ERRORS * 100.0
            )
        } else {
            let (Some(tp), Some(tc)) = (prev.tps, cur.tps) else {
                continue;
            };
            let gain = if tp > 0.0 {
                tc / tp - 1.0
            } else {
                f64::INFINITY
            };
            let ttft_jump = match (prev.ttft_ms.p50, cur.ttft_ms.p50) {
                (Some(a), Some(b)) if a > 0.0 => b / a,
                _ => 1.0,
            };
            if gain < MIN_GAIN && ttft_jump > TTFT_JUMP {
                uncertain = unsupported(prev, cur);
                format!(
                    "throughput gain {:+.1} % under {:.0} % while TTFT p50 rose {:.1}×",
                    gain * 100.0,
                    MIN_GAIN * 100.0,
                    ttft_jump
                )
            } else {
                continue;
            }
        };
        let best = steps[..=i].iter().filter_map(|g| g.tps).fold(0.0, f64::max);
        let curve: Vec<(f64, f64)> = steps[..=i]
            .iter()
            .filter_map(|g| Some((g.load.value(), g.tps?)))
            .collect();
        let at = |target: f64| load_for(&curve, target);
        return Some(Saturation {
            phase: cur.phase.clone(),
            step: cur.step,
            load: cur.load,
            tps: best,
            reason,
            operating_range: OperatingRange {
                load: [at(0.5 * best), at(0.7 * best)],
                tps: [0.5 * best, 0.7 * best],
            },
            uncertain,
        });
    }
    None
}

/// Why the intervals of `prev` and `cur` do not support "throughput stopped growing while TTFT
/// jumped", if they do not: the largest gain they allow (`cur`'s high end over `prev`'s low
/// end) reaches `MIN_GAIN`, or the smallest TTFT rise they allow is at most `TTFT_JUMP`.
fn unsupported(prev: &Group, cur: &Group) -> Option<String> {
    let mut why = Vec::new();
    if let (Some([pl, _]), Some([_, ch])) = (prev.tps_ci95, cur.tps_ci95) {
        let most = if pl > 0.0 {
            ch / pl - 1.0
        } else {
            f64::INFINITY
        };
        if most >= MIN_GAIN {
            let gain = if most.is_finite() {
                format!("a gain of up to {:+.0} %", most * 100.0)
            } else {
                "any gain".to_string()
            };
            why.push(format!(
                "the throughput intervals ({pl:.0}–{:.0} and {:.0}–{ch:.0} tok/s) allow {gain}",
                prev.tps_ci95.map_or(0.0, |c| c[1]),
                cur.tps_ci95.map_or(0.0, |c| c[0]),
            ));
        }
    }
    if let (Some([_, ph]), Some([cl, _])) = (prev.ttft_ms.p50_ci95, cur.ttft_ms.p50_ci95) {
        let least = if ph > 0.0 { cl / ph } else { f64::INFINITY };
        if least <= TTFT_JUMP {
            why.push(format!(
                "the TTFT p50 intervals allow a rise of only {least:.2}×"
            ));
        }
    }
    (!why.is_empty()).then(|| format!("{}: hold the steps longer", why.join("; ")))
}

/// The saturation point a search found: the lowest level whose throughput reached the plateau
/// (or that erred), the best throughput once it stopped growing, and the operating range read
/// off the probes below it.
pub fn from_search(r: &SearchReport) -> Option<Saturation> {
    let point = r.saturation.as_ref()?;
    let level = point.level?;
    let tps = point.tps?;
    let probe = r.probes.iter().find(|p| p.level == level)?;
    let at = |target: f64| load_for(&r.curve, target);
    let bracket = match point.bracket {
        [Some(lo), Some(hi)] => format!(
            "between {} and {}",
            crate::fmt::trim(lo, 2),
            crate::fmt::trim(hi, 2)
        ),
        [None, Some(hi)] => format!("at or below {}", crate::fmt::trim(hi, 2)),
        _ => String::new(),
    };
    let reason = if probe.verdict.erred() {
        let what = if probe.verdict == Verdict::Errors {
            "errors"
        } else {
            "overruns (requests still running a hold after their probe)"
        };
        format!("the search's {what} begin {bracket}")
    } else {
        format!(
            "the search's lowest load reaching {:.0} % of the best throughput lies {bracket}",
            crate::search::PLATEAU * 100.0
        )
    };
    Some(Saturation {
        phase: r.phase.clone(),
        step: probe.step,
        load: if r.of == "concurrency" {
            Load::Concurrency(level)
        } else {
            Load::Rate(level)
        },
        tps,
        reason,
        operating_range: OperatingRange {
            load: [at(0.5 * tps), at(0.7 * tps)],
            tps: [0.5 * tps, 0.7 * tps],
        },
        uncertain: (!point.within_tolerance).then(|| {
            format!(
                "the search's bracket is wider than its tolerance ({:.0} %): widen the range, or give it more probes",
                r.tolerance * 100.0
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(phase: &str, users: f64, tps: f64, ttft: f64) -> Group {
        let mut stats = crate::stats::Stats::empty();
        stats.p50 = Some(ttft);
        let window = crate::analysis::window::Window {
            start_s: 0.0,
            end_s: 1.0,
        };
        Group {
            phase: phase.into(),
            step: 0,
            load: Load::Concurrency(users),
            requests: Default::default(),
            ttft_ms: stats,
            ttft_sched_ms: crate::stats::Stats::empty(),
            itl_ms: crate::stats::Stats::empty(),
            itl_llmperf_ms: crate::stats::Stats::empty(),
            chunk_gap_ms: crate::stats::Stats::empty(),
            e2e_ms: crate::stats::Stats::empty(),
            tps_user: crate::stats::Stats::empty(),
            send_lag_ms: crate::stats::Stats::empty(),
            tps: Some(tps),
            tps_ci95: None,
            span_s: Some(1.0),
            rps: None,
            error_rate: Some(0.0),
            timeout_rate: None,
            drop_rate: None,
            goodput: None,
            window,
            measured: window,
            excluded: Default::default(),
            steady_state: None,
            no_steady_state: None,
            client: None,
            diagnostics: Default::default(),
            ttfo_ms: crate::stats::Stats::empty(),
            tokens: Default::default(),
            prompt: Default::default(),
            connections: Default::default(),
            backoff: Default::default(),
            server: None,
            sessions: None,
            embeddings: None,
        }
    }

    #[test]
    fn a_verdict_the_intervals_do_not_support_is_marked_uncertain() {
        let with = |mut g: Group, tps: [f64; 2], ttft: [f64; 2]| {
            g.tps_ci95 = Some(tps);
            g.ttft_ms.p50_ci95 = Some(ttft);
            g
        };
        // Tight intervals: 1,000 → 1,040 tok/s (+4 %), TTFT 30 → 200 ms: supported.
        let tight = [
            with(
                group("c16", 16.0, 1000.0, 30.0),
                [990.0, 1010.0],
                [29.0, 31.0],
            ),
            with(
                group("c32", 32.0, 1040.0, 200.0),
                [1030.0, 1050.0],
                [190.0, 210.0],
            ),
        ];
        assert_eq!(find(&tight).expect("saturation").uncertain, None);
        // Wide throughput intervals: the gain could be +40 %.
        let wide = [
            with(
                group("c16", 16.0, 1000.0, 30.0),
                [800.0, 1200.0],
                [29.0, 31.0],
            ),
            with(
                group("c32", 32.0, 1040.0, 200.0),
                [900.0, 1120.0],
                [190.0, 210.0],
            ),
        ];
        let why = find(&wide).expect("saturation").uncertain.expect("flagged");
        assert!(why.contains("gain of up to +40 %"), "{why}");
        // Wide TTFT intervals: the rise could be as small as 1.2×.
        let ttft = [
            with(
                group("c16", 16.0, 1000.0, 30.0),
                [990.0, 1010.0],
                [20.0, 100.0],
            ),
            with(
                group("c32", 32.0, 1040.0, 200.0),
                [1030.0, 1050.0],
                [120.0, 300.0],
            ),
        ];
        let why = find(&ttft).expect("saturation").uncertain.expect("flagged");
        assert!(why.contains("rise of only 1.20×"), "{why}");
    }

    #[test]
    fn consecutive_phases_of_rising_load_count_as_a_sweep() {
        let gs = [
            group("c1", 1.0, 100.0, 10.0),
            group("c4", 4.0, 390.0, 12.0),
            group("c16", 16.0, 1000.0, 30.0),
            group("c32", 32.0, 1040.0, 200.0),
        ];
        let s = find(&gs).expect("saturation");
        assert_eq!(s.phase, "c32");
        // The best throughput up to the saturated step, and 50 % of it (520 tok/s) reached
        // between 4 users (390) and 16 users (1000).
        assert_eq!(s.tps, 1040.0);
        assert!((s.operating_range.load[0] - (4.0 + 12.0 * 130.0 / 610.0)).abs() < 1e-9);
        // Without the TTFT jump it is no saturation.
        let flat_ttft = [
            group("c1", 1.0, 100.0, 10.0),
            group("c4", 4.0, 390.0, 12.0),
            group("c16", 16.0, 1000.0, 30.0),
            group("c32", 32.0, 1040.0, 31.0),
        ];
        assert!(find(&flat_ttft).is_none());
    }

    #[test]
    fn a_step_where_every_request_failed_is_the_saturation_point() {
        let mut failed = group("c16", 16.0, 0.0, 0.0);
        failed.tps = None;
        failed.ttft_ms = crate::stats::Stats::empty();
        failed.error_rate = Some(1.0);
        let gs = [
            group("c1", 1.0, 100.0, 10.0),
            group("c4", 4.0, 390.0, 12.0),
            failed,
        ];
        let s = find(&gs).expect("saturation");
        assert_eq!(s.phase, "c16");
        assert!(s.reason.starts_with("error rate 100.0 %"), "{}", s.reason);
        // The best throughput is the last step that had any.
        assert_eq!(s.tps, 390.0);
    }

    #[test]
    fn interpolates_the_load_for_a_throughput() {
        let curve = [(1.0, 100.0), (4.0, 400.0), (16.0, 1000.0)];
        assert_eq!(load_for(&curve, 50.0), 0.5);
        assert_eq!(load_for(&curve, 250.0), 2.5);
        assert_eq!(load_for(&curve, 700.0), 10.0);
        assert_eq!(load_for(&curve, 2000.0), 16.0);
    }
}
