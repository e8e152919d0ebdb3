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
}

/// Pooled values: statistics over all measured requests need the samples, so the caller passes
/// a lookup (metric, stat) → value.
pub fn evaluate(
    objectives: &[manifest::Objective],
    value: impl Fn(Metric, Option<Stat>) -> Option<f64>,
) -> Option<Vec<Objective>> {
    if objectives.is_empty() {
        return None;
    }
    Some(
        objectives
            .iter()
            .map(|o| {
                let measured = value(o.metric, o.stat);
                Objective {
                    objective: o.text.clone(),
                    metric: o.metric,
                    measured,
                    pass: measured.is_some_and(|m| o.op.holds(m, o.threshold)),
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
