//! The workload's `slo` objectives, evaluated over every measured request of the run (all
//! measured groups pooled, after warm-up/cool-down exclusion).

use serde::Serialize;

use super::groups::Group;
use crate::metric::{Metric, Stat};
use crate::rundir::manifest;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    pub objective: String,
    pub metric: Metric,
    /// In the objective's unit: seconds for times, a fraction for percentages, per second for rates.
    pub measured: Option<f64>,
    pub pass: bool,
    /// The measured value's 95 % interval, in the objective's unit, where it has one (the p50
    /// and p99 of a latency).
    pub ci95: Option<[f64; 2]>,
    /// The interval spans the threshold: the verdict could go either way on another run of
    /// the same length (measure longer to settle it).
    pub uncertain: bool,
}

/// A measured value and its 95 % interval, if it has one.
pub type Measured = (f64, Option<[f64; 2]>);

/// Pooled values: statistics over all measured requests need the samples, so the caller passes
/// a lookup (metric, stat) → value.
pub fn evaluate(
    objectives: &[manifest::Objective],
    value: impl Fn(Metric, Option<Stat>) -> Option<Measured>,
) -> Option<Vec<Objective>> {
    if objectives.is_empty() {
        return None;
    }
    Some(
        objectives
            .iter()
            .map(|o| {
                let found = value(o.metric, o.stat);
                let measured = found.map(|(m, _)| m);
                let ci95 = found.and_then(|(_, ci)| ci);
                Objective {
                    objective: o.text.clone(),
                    metric: o.metric,
                    measured,
                    pass: measured.is_some_and(|m| o.op.holds(m, o.threshold)),
                    ci95,
                    uncertain: ci95.is_some_and(|[lo, hi]| {
                        o.op.holds(lo, o.threshold) != o.op.holds(hi, o.threshold)
                    }),
                }
            })
            .collect(),
    )
}

/// Sum of a per-group total and of the groups' spans, for pooled rates.
pub fn pooled_rate(
    groups: &[Group],
    per_group: impl Fn(&Group) -> Option<(f64, f64)>,
) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for g in groups {
        if let Some((n, d)) = per_group(g) {
            num += n;
            den += d;
        }
    }
    (den > 0.0).then(|| num / den)
}
