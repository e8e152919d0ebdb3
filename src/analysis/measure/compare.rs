//! Several runs side by side: for each group present in the first run and another, the change
//! in the headline metrics — the A/B a user makes before and after a model or config change.

use serde::Serialize;

use super::analyze::Analysis;
use super::groups::{Group, Read};
use crate::analysis::error::AnalysisError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub baseline: String,
    pub runs: Vec<Analysis>,
    pub deltas: Vec<Delta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub run: String,
    pub phase: String,
    pub step: u32,
    pub metric: String,
    pub baseline: Option<f64>,
    pub value: Option<f64>,
    /// `value − baseline`, and that as a percentage of the baseline.
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    /// Whether the change is larger than the noise: the two runs' 95 % intervals do not overlap
    /// (null where a metric or a run has no interval).
    pub beyond_noise: Option<bool>,
}

/// The 95 % interval of a compared metric, where it has one.
type Interval = fn(&Group) -> Option<[f64; 2]>;

/// The metrics compared, by name, and how to read them from a group.
pub const METRICS: [(&str, Read, Interval); 7] = [
    ("ttft_p50_ms", |g| g.ttft_ms.p50, |g| g.ttft_ms.p50_ci95),
    ("ttft_p99_ms", |g| g.ttft_ms.p99, |g| g.ttft_ms.p99_ci95),
    ("itl_p50_ms", |g| g.itl_ms.p50, |g| g.itl_ms.p50_ci95),
    ("itl_p99_ms", |g| g.itl_ms.p99, |g| g.itl_ms.p99_ci95),
    ("e2e_p50_ms", |g| g.e2e_ms.p50, |g| g.e2e_ms.p50_ci95),
    ("tps", |g| g.tps, |g| g.tps_ci95),
    ("error_rate", |g| g.error_rate, |_| None),
];

pub fn compare(
    runs: Vec<Analysis>,
    allow_different_plans: bool,
) -> Result<Comparison, AnalysisError> {
    let base = &runs[0];
    if !allow_different_plans {
        if let Some(other) = runs.iter().find(|r| r.plan_hash != base.plan_hash) {
            return Err(AnalysisError::DifferentPlans {
                a: base.run.clone(),
                ha: base.plan_hash.clone(),
                b: other.run.clone(),
                hb: other.plan_hash.clone(),
            });
        }
    }
    let mut deltas = Vec::new();
    for other in &runs[1..] {
        for g in &other.groups {
            let Some(b) = base
                .groups
                .iter()
                .find(|x| x.phase == g.phase && x.step == g.step)
            else {
                continue;
            };
            for (name, read, interval) in METRICS {
                let (bv, v) = (read(b), read(g));
                let beyond_noise = interval(b)
                    .zip(interval(g))
                    .map(|([bl, bh], [l, h])| h < bl || l > bh);
                let change = bv.zip(v).map(|(b, v)| v - b);
                deltas.push(Delta {
                    run: other.run.clone(),
                    phase: g.phase.clone(),
                    step: g.step,
                    metric: name.to_string(),
                    baseline: bv,
                    value: v,
                    change,
                    change_pct: change
                        .zip(bv)
                        .and_then(|(c, b)| (b != 0.0).then(|| 100.0 * c / b)),
                    beyond_noise,
                });
            }
        }
    }
    Ok(Comparison {
        baseline: base.run.clone(),
        runs,
        deltas,
    })
}
