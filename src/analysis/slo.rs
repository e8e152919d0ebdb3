//! The workload's `slo` objectives, evaluated over every measured request of the run (all
//! measured groups pooled, after warm-up/cool-down exclusion).

use serde::Serialize;
use serde_json::Value;

use super::groups::Group;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    pub objective: String,
    /// In the objective's unit: seconds for times, a fraction for percentages, per second for rates.
    pub measured: Option<f64>,
    pub pass: bool,
}

/// Pooled values: statistics over all measured requests need the samples, so the caller passes
/// a lookup (metric, stat) → value.
pub fn evaluate(
    meta: &Value,
    value: impl Fn(&str, Option<&str>) -> Option<f64>,
) -> Option<Vec<Objective>> {
    let objectives = meta["slo"].as_array()?;
    if objectives.is_empty() {
        return None;
    }
    Some(
        objectives
            .iter()
            .map(|o| {
                let metric = o["metric"].as_str().unwrap_or("");
                let stat = o["stat"].as_str();
                let threshold = o["threshold"].as_f64().unwrap_or(0.0);
                let measured = value(metric, stat);
                let pass = measured.is_some_and(|m| match o["op"].as_str().unwrap_or("<") {
                    "<" => m < threshold,
                    "<=" => m <= threshold,
                    ">" => m > threshold,
                    _ => m >= threshold,
                });
                Objective {
                    objective: o["text"].as_str().unwrap_or("").to_string(),
                    measured,
                    pass,
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
