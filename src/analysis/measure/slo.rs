//! The workload's `slo` objectives, evaluated over every measured request of the run (all
//! measured groups pooled, after warm-up/cool-down exclusion): `judge_slo` reads each metric
//! off the pooled group, or pools the rates over the groups.

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

/// The objectives judged over `pooled` (every request they cover as one group), with the
/// pooled rates (throughput, errors, drops) over `groups`.
pub(crate) fn judge_slo(
    objectives: &[manifest::Objective],
    pooled: Option<&Group>,
    groups: &[Group],
) -> Option<Vec<Objective>> {
    evaluate(objectives, |metric, stat| {
        let p = pooled?;
        let rate = |v: Option<f64>| v.map(|v| (v, None));
        let dist = match metric.canonical() {
            Metric::Ttft => &p.ttft_ms,
            Metric::Itl | Metric::Tpot => &p.itl_ms,
            Metric::E2e => &p.e2e_ms,
            Metric::TpsUser => &p.tps_user,
            Metric::Tps => {
                return rate(pooled_rate(groups, |g| {
                    Some((g.tps? * g.span_s?, g.span_s?))
                }))
            }
            Metric::Errors => {
                return rate(pooled_rate(groups, |g| {
                    let finished = (g.requests.ok + g.requests.error + g.requests.timeout) as f64;
                    Some(((g.requests.error + g.requests.timeout) as f64, finished))
                }))
            }
            Metric::Dropped => {
                return rate(pooled_rate(groups, |g| {
                    Some((g.requests.dropped as f64, g.requests.total as f64))
                }))
            }
        };
        // Times are in ms in the statistics and in seconds in objectives.
        let scale = if metric == Metric::TpsUser { 1.0 } else { 1e-3 };
        let stat = stat.unwrap_or(Stat::Max);
        let ci = match stat {
            Stat::P50 => dist.p50_ci95,
            Stat::P99 => dist.p99_ci95,
            _ => None,
        };
        dist.get(stat)
            .map(|v| (v * scale, ci.map(|[a, b]| [a * scale, b * scale])))
    })
}
