//! Capacity search (`search(...)` levels): each probe's verdict, the brackets they give, and the
//! level to probe next — pure functions of the probes measured so far, so the engine that
//! steers a run and the analysis that reports it afterwards reach the same answer.
//!
//! The rule (docs/metrics.md, "Capacity search"): a probe **errs** when its error rate is
//! above 1 % or its requests were still running one hold after it ended. The throughput has
//! **plateaued** when, between two probes adjacent in load, the higher one gained under
//! `MIN_GAIN` of the proportional gain (at a doubling: under 10 %, the saturation rule's
//! throughput test). Then a probe is **saturated** when it errs or reaches `PLATEAU` of the
//! best throughput measured; without a plateau, only when it errs. The search grows the level
//! by `GROWTH` from the range's low end until a probe is saturated (or the range's top is
//! reached), then bisects (geometrically) the saturation bracket and, with an SLO, the bracket
//! between the highest level meeting it and the lowest missing it, the wider first, until each
//! is narrower than the tolerance or the probe budget is spent.

/// The level grows by this factor until a probe saturates.
pub const GROWTH: f64 = 2.0;
/// Under this share of the proportional throughput gain, the throughput has stopped growing.
pub const MIN_GAIN: f64 = 0.10;
/// The plateau test compares probes at least this far apart in load.
pub const PAIR_RATIO: f64 = 1.5;
/// A probe reaching this share of the best throughput measured is saturated (once it plateaued).
pub const PLATEAU: f64 = 0.95;
/// An error rate above this saturates a probe by itself.
pub const MAX_ERRORS: f64 = 0.01;
/// Defaults of `search(...)`.
pub const DEFAULT_TOLERANCE: f64 = 0.10;
pub const DEFAULT_PROBES: u32 = 16;
/// `probes:` at most (each probe is a metric step of its own).
pub const MAX_PROBES: u32 = 100;
/// `verify = true` holds the load at these shares of the saturation throughput.
pub const VERIFY_SHARES: [f64; 3] = [0.5, 0.6, 0.7];

/// What is searched and how finely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    pub lo: f64,
    pub hi: f64,
    /// Levels are whole numbers (virtual users).
    pub whole: bool,
    /// A bracket is narrow enough when its high end is within this share above its low end.
    pub tolerance: f64,
    /// The search's probes at most (verification holds come on top).
    pub probes: u32,
    /// The workload has objectives: search the SLO limit too.
    pub slo: bool,
}

/// What one probe measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub level: f64,
    /// The load the probe really applied, which the throughput is compared against: its users
    /// (closed loop), or the requests it sent per second of its measured stretch (open loop:
    /// a Poisson probe's arrivals vary around its rate).
    pub load: f64,
    /// Output tokens per second; `None` when nothing succeeded.
    pub tps: Option<f64>,
    /// Errors and timeouts among finished requests; `None` when none finished.
    pub error_rate: Option<f64>,
    /// Whether the probe's requests met every objective (`None` without objectives).
    pub slo: Option<bool>,
    /// Its requests were still running a hold after it ended.
    pub overrun: bool,
}

impl Measured {
    /// Its error rate is above `MAX_ERRORS`, or it overran.
    pub fn errs(&self) -> bool {
        self.overrun || self.error_rate.is_some_and(|e| e > MAX_ERRORS)
    }
}

/// Each probe's verdict, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    /// `None` for a probe that measured nothing (no request finished).
    pub saturated: Vec<Option<bool>>,
    /// The best throughput of the probes that did not err, once it stopped growing.
    pub plateau: Option<f64>,
}

pub fn verdicts(probes: &[Measured]) -> Verdicts {
    let mut clean: Vec<(f64, f64)> = probes
        .iter()
        .filter(|m| !m.errs() && m.load > 0.0)
        .filter_map(|m| Some((m.load, m.tps?)))
        .collect();
    clean.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Any two probes at least `PAIR_RATIO` apart in load: closer ones differ by less than the
    // noise of a throughput, and a probe added between two cannot undo their verdict.
    let stopped = clean.iter().enumerate().any(|(i, &(a, ta))| {
        clean[i + 1..].iter().any(|&(b, tb)| {
            b >= a * PAIR_RATIO && ta > 0.0 && tb / ta - 1.0 < MIN_GAIN * (b / a - 1.0)
        })
    });
    let plateau = stopped.then(|| clean.iter().map(|c| c.1).fold(0.0, f64::max));
    let saturated = probes
        .iter()
        .map(|m| {
            if m.errs() {
                Some(true)
            } else if m.tps.is_none() && m.error_rate.is_none() {
                None
            } else {
                Some(plateau.is_some_and(|p| m.tps.unwrap_or(0.0) >= PLATEAU * p))
            }
        })
        .collect();
    Verdicts { saturated, plateau }
}

/// Where the answer lies: above `lo` (a level that passed) and at or below `hi` (one that
/// did not). `lo` is `None` when the lowest level probed already failed; `hi` when none did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bracket {
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

impl Bracket {
    /// Whether it is narrow enough to stop (or cannot be narrowed: one end open).
    pub fn settled(&self, spec: &Spec) -> bool {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => {
                hi <= lo * (1.0 + spec.tolerance) || (spec.whole && hi - lo <= 1.0)
            }
            _ => true,
        }
    }

    /// Its high end over its low end, for picking the wider of two.
    fn ratio(&self) -> f64 {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) if lo > 0.0 => hi / lo,
            _ => 1.0,
        }
    }
}

/// The bracket of a pass/fail property over the probes: the lowest failing level, and the
/// highest passing one below it.
fn bracket(levels: impl Iterator<Item = (f64, Option<bool>)>) -> Option<Bracket> {
    let known: Vec<(f64, bool)> = levels.filter_map(|(l, f)| Some((l, f?))).collect();
    if known.is_empty() {
        return None;
    }
    let hi = known
        .iter()
        .filter(|k| k.1)
        .map(|k| k.0)
        .min_by(f64::total_cmp);
    let lo = known
        .iter()
        .filter(|k| !k.1 && hi.is_none_or(|h| k.0 < h))
        .map(|k| k.0)
        .max_by(f64::total_cmp);
    Some(Bracket { lo, hi })
}

/// What the probes found: the saturation point's bracket and (with an SLO) the SLO limit's.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub verdicts: Verdicts,
    pub saturation: Option<Bracket>,
    pub slo_limit: Option<Bracket>,
}

pub fn found(probes: &[Measured]) -> Found {
    let verdicts = verdicts(probes);
    let saturation = bracket(
        probes
            .iter()
            .zip(&verdicts.saturated)
            .map(|(m, s)| (m.level, *s)),
    );
    let slo_limit = bracket(probes.iter().map(|m| (m.level, m.slo.map(|pass| !pass))));
    Found {
        verdicts,
        saturation,
        slo_limit,
    }
}

/// The next level to probe, or why the search is over.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Probe(f64),
    Done(String),
}

pub fn next(spec: &Spec, probes: &[Measured]) -> Next {
    let Some(top) = probes.iter().map(|m| m.level).max_by(f64::total_cmp) else {
        return Next::Probe(spec.lo);
    };
    if probes.len() as u32 >= spec.probes {
        return Next::Done(format!("its {} probes are spent", spec.probes));
    }
    let f = found(probes);
    let saturation = f.saturation.filter(|b| b.hi.is_some());
    let Some(sat) = saturation else {
        if top >= spec.hi {
            return Next::Done(
                "the throughput still grew at the top of the range: widen it".into(),
            );
        }
        let grown = level(spec, (top * GROWTH).min(spec.hi));
        return Next::Probe(if grown > top { grown } else { spec.hi });
    };
    if sat.lo.is_none() {
        return Next::Done("saturated at the low end of the range: lower it".into());
    }
    let open: Vec<Bracket> = std::iter::once(sat)
        .chain(f.slo_limit.filter(|_| spec.slo))
        .filter(|b| !b.settled(spec))
        .collect();
    let Some(wide) = open.iter().max_by(|a, b| a.ratio().total_cmp(&b.ratio())) else {
        return Next::Done("bracketed within the tolerance".into());
    };
    let (Some(lo), Some(hi)) = (wide.lo, wide.hi) else {
        return Next::Done("bracketed within the tolerance".into());
    };
    let mid = level(spec, (lo * hi).sqrt());
    if mid <= lo || mid >= hi {
        return Next::Done("bracketed within the tolerance".into());
    }
    if probes.iter().any(|m| m.level == mid) {
        // Probed already, and it gave no verdict: probing it again would give none either.
        return Next::Done(format!("the probe at {mid} measured nothing"));
    }
    Next::Probe(mid)
}

/// A level as the search may probe it: a whole number of users, or a rate as it is.
fn level(spec: &Spec, x: f64) -> f64 {
    if spec.whole {
        x.round().max(1.0)
    } else {
        x
    }
}

/// The load at which the measured (load, tps) curve first reaches `tps`, interpolating linearly
/// (from zero load at zero throughput below the first point); `curve` in order of load.
pub fn load_for(curve: &[(f64, f64)], tps: f64) -> f64 {
    let mut prev = (0.0, 0.0);
    for &(load, t) in curve {
        if t >= tps {
            let (l0, t0) = prev;
            return if t > t0 {
                l0 + (load - l0) * (tps - t0) / (t - t0)
            } else {
                load
            };
        }
        prev = (load, t);
    }
    prev.0
}

/// The saturation throughput: the plateau, or without one (errors found the saturation point)
/// the best throughput of the probes at or below it that did not err.
pub fn saturation_tps(probes: &[Measured], found: &Found) -> Option<f64> {
    let sat = found.saturation?.hi?;
    found.verdicts.plateau.or_else(|| {
        probes
            .iter()
            .filter(|m| m.level <= sat && !m.errs())
            .filter_map(|m| m.tps)
            .reduce(f64::max)
    })
}

/// The (applied load, throughput) curve of the probes at or below `sat` that did not err, in
/// order of load: what the loads for a share of the saturation throughput are read off.
pub fn curve(probes: &[Measured], sat: f64) -> Vec<(f64, f64)> {
    let mut curve: Vec<(f64, f64)> = probes
        .iter()
        .filter(|m| m.level <= sat && !m.errs())
        .filter_map(|m| Some((m.load, m.tps?)))
        .collect();
    curve.sort_by(|a, b| a.0.total_cmp(&b.0));
    curve
}

/// The loads that hold `share` of the saturation throughput (`VERIFY_SHARES`), read off the
/// probes at or below the saturation point; `None` without a saturation point.
///
/// `None` too when the saturation point is at or below the range's low end (the operating range
/// lies below what was probed). A share whose load rounds to the previous share's is left out:
/// holding one load twice measures nothing new.
pub fn verify_levels(spec: &Spec, probes: &[Measured]) -> Option<Vec<(f64, f64)>> {
    let f = found(probes);
    let bracket = f.saturation?;
    let (_, sat) = (bracket.lo?, bracket.hi?);
    let best = saturation_tps(probes, &f)?;
    let curve = curve(probes, sat);
    let mut out: Vec<(f64, f64)> = Vec::new();
    for &s in &VERIFY_SHARES {
        let l = level(spec, load_for(&curve, s * best));
        if l > 0.0 && out.last().is_none_or(|&(_, prev)| prev != l) {
            out.push((s, l));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose throughput grows in proportion up to `cap` tokens/s, then stays there.
    fn server(level: f64, per_unit: f64, cap: f64) -> Measured {
        Measured {
            level,
            load: level,
            tps: Some((level * per_unit).min(cap)),
            error_rate: Some(0.0),
            slo: None,
            overrun: false,
        }
    }

    fn search(spec: &Spec, measure: impl Fn(f64) -> Measured) -> Vec<Measured> {
        let mut probes = Vec::new();
        while let Next::Probe(l) = next(spec, &probes) {
            probes.push(measure(l));
            assert!(probes.len() <= spec.probes as usize);
        }
        probes
    }

    fn spec(lo: f64, hi: f64, whole: bool) -> Spec {
        Spec {
            lo,
            hi,
            whole,
            tolerance: DEFAULT_TOLERANCE,
            probes: DEFAULT_PROBES,
            slo: false,
        }
    }

    #[test]
    fn finds_a_knee_within_the_tolerance_at_every_capacity() {
        for users in [3.0, 8.0, 24.0, 37.0, 100.0, 200.0] {
            let s = spec(1.0, 512.0, true);
            let probes = search(&s, |l| server(l, 30.0, users * 30.0));
            let b = found(&probes).saturation.expect("present");
            let levels: Vec<f64> = probes.iter().map(|p| p.level).collect();
            let (lo, hi) = (
                b.lo.expect("a low end"),
                b.hi.unwrap_or_else(|| panic!("{users}: {levels:?} {b:?}")),
            );
            // The knee of a sharp curve reaches 95 % of the plateau at 0.95 × capacity.
            assert!(
                lo < users && hi >= PLATEAU * users - 1.0,
                "{users}: [{lo}, {hi}]"
            );
            assert!(b.settled(&s), "{users}: [{lo}, {hi}] not narrow");
            // A fixed-ratio sweep to this precision needs ln(512)/ln(1.1) ≈ 65 steps.
            assert!(probes.len() <= 14, "{users}: {} probes", probes.len());
        }
    }

    #[test]
    fn rates_bisect_to_the_tolerance() {
        let s = spec(1.0, 200.0, false);
        let probes = search(&s, |l| server(l, 100.0, 4_321.0));
        let b = found(&probes).saturation.expect("present");
        let (lo, hi) = (b.lo.expect("present"), b.hi.expect("present"));
        assert!(
            hi / lo <= 1.1 && lo < 43.21 && hi >= 0.95 * 43.21 * 0.99,
            "[{lo}, {hi}]"
        );
    }

    #[test]
    fn errors_saturate_by_themselves_and_open_ends_stop_the_search() {
        let s = spec(1.0, 64.0, true);
        // The server refuses above 10 users, with no throughput plateau before it.
        let probes = search(&s, |l| Measured {
            error_rate: Some(if l > 10.0 { 0.5 } else { 0.0 }),
            ..server(l, 10.0, f64::INFINITY)
        });
        let b = found(&probes).saturation.expect("present");
        assert_eq!((b.lo, b.hi), (Some(10.0), Some(11.0)));
        // Still growing at the top.
        let probes = search(&s, |l| server(l, 10.0, f64::INFINITY));
        assert!(matches!(next(&s, &probes), Next::Done(why) if why.contains("widen")));
        assert_eq!(probes.last().expect("present").level, 64.0);
        // Saturated at the low end.
        let s = spec(4.0, 64.0, true);
        let probes = search(&s, |l| Measured {
            overrun: true,
            ..server(l, 10.0, 1.0)
        });
        assert_eq!(probes.len(), 1);
        assert!(matches!(next(&s, &probes), Next::Done(why) if why.contains("lower")));
    }

    #[test]
    fn the_slo_limit_is_bracketed_too_and_the_budget_holds() {
        let mut s = spec(1.0, 512.0, true);
        s.slo = true;
        // Latency misses the objective above 13 users; throughput saturates at 40.
        let measure = |l: f64| Measured {
            slo: Some(l <= 13.0),
            ..server(l, 30.0, 1_200.0)
        };
        let probes = search(&s, measure);
        let f = found(&probes);
        let limit = f.slo_limit.expect("present");
        assert!(limit.lo.expect("present") <= 13.0 && limit.hi.expect("present") > 13.0);
        assert!(limit.settled(&s) && f.saturation.expect("present").settled(&s));
        s.probes = 5;
        assert_eq!(search(&s, measure).len(), 5);
    }

    #[test]
    fn verification_levels_hold_shares_of_the_saturation_throughput() {
        let s = spec(1.0, 512.0, true);
        let probes = search(&s, |l| server(l, 30.0, 24.0 * 30.0));
        let v = verify_levels(&s, &probes).expect("present");
        let got: Vec<f64> = v.iter().map(|x| x.1).collect();
        assert_eq!(got, vec![12.0, 14.0, 17.0]);
        // Two users' batch: every share rounds to one user, held once.
        let probes = search(&s, |l| server(l, 30.0, 60.0));
        assert_eq!(verify_levels(&s, &probes), Some(vec![(0.5, 1.0)]));
        // Saturated at the range's low end: the operating range lies below it.
        let probes = search(&s, |l| server(l, 30.0, 30.0));
        assert_eq!(verify_levels(&s, &probes), None);
        assert_eq!(load_for(&[(2.0, 20.0), (4.0, 40.0)], 30.0), 3.0);
    }
}
