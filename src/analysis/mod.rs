//! Offline analysis: a run directory → [`Analysis`] (metrics per phase and step, saturation,
//! SLO verdicts, diagnostics, time series), computed from the Parquet files alone.
//!
//! `load` reads the files, `groups` defines the metric groups and computes their metrics
//! (`stats` for the distributions), `series` the diagnostics and time series, `saturation` the
//! saturation point, `slo` the objectives, `compare` the A/B of several runs; `text`/`csv` print.

pub mod cells;
pub mod chunks;
pub mod client;
mod compare;
pub mod csv;
pub mod groups;
mod latency;
pub mod load;
pub mod report;
pub mod saturation;
pub mod search;
pub mod series;
pub mod server;
pub mod sessions;
mod shard_set;
pub mod shards;
pub mod slo;
mod svg;
pub mod tables;
pub mod text;
pub mod window;

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::metric::{Metric, Stat};

pub use compare::{compare, Comparison};
pub use groups::Group;
pub use load::{load, Run};

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// `run.json` is missing, not a manifest, or of a newer llmw.
    #[error("{0}")]
    Manifest(String),
    /// The shard directories given do not make a whole plan.
    #[error("{0}")]
    Shards(String),
    #[error("the runs have different plans ({a} has {ha:.12}…, {b} has {hb:.12}…); pass --allow-different-plans to compare them anyway")]
    DifferentPlans {
        a: String,
        ha: String,
        b: String,
        hb: String,
    },
}

/// Warm-up and cool-down exclusion, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub warmup_ns: i64,
    pub cooldown_ns: i64,
    /// Analyse the shards of a plan given even when some are missing (marked partial).
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub run: String,
    pub workload: String,
    pub plan_hash: String,
    pub status: String,
    /// Set when the run is one or several shards of a plan (`--shard`): which, and which are
    /// missing (then the numbers are those of a part of the load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<shards::Shards>,
    pub warmup_s: f64,
    pub cooldown_s: f64,
    pub groups: Vec<Group>,
    pub saturation: Option<saturation::Saturation>,
    pub slo: Option<Vec<slo::Objective>>,
    /// Searched phases (`search(...)`): their probes, what they found, the verification holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<search::SearchReport>,
    pub timeseries: Vec<series::Bucket>,
}

impl Analysis {
    /// True when an objective was missed (exit status 3).
    pub fn slo_missed(&self) -> bool {
        self.slo.as_ref().is_some_and(|s| s.iter().any(|o| !o.pass))
    }
}

/// Analyses one run. The chunk table is read here, in passes (`chunks.rs`); a damaged chunk
/// file is an error naming it.
pub fn analyze(run: &Run, opts: &Options) -> Result<Analysis, AnalysisError> {
    let defs = groups::definitions(&run.meta);
    let membership = groups::membership(run, &defs, opts);
    let objectives = groups::per_request_objectives(&run.meta.slo);
    let frame = series::frame(run);
    let scan = chunks::scan(run, &membership.of_row, defs.len(), frame)?;
    let groups = groups::compute(run, &defs, &membership, &objectives, Some(&scan));

    // The SLO is judged over every measured request: pool the groups into one.
    let pooled_def = vec![groups::GroupDef {
        phase: "all".into(),
        step: 0,
        load: groups::Load::Rate(0.0),
        window_ns: (0, None),
        warmup_ns: 0,
    }];
    let pooled_membership = groups::Membership {
        of_row: membership.of_row.iter().map(|g| g.map(|_| 0)).collect(),
        excluded: vec![Default::default()],
        measured: vec![groups::Window {
            start_s: 0.0,
            end_s: 0.0,
        }],
        windows: vec![groups::Window {
            start_s: 0.0,
            end_s: 0.0,
        }],
    };
    let pooled = groups::compute(run, &pooled_def, &pooled_membership, &objectives, None).pop();
    let slo = judge_slo(&run.meta.slo, pooled.as_ref(), &groups);
    let search = search::reports(run, &groups);
    // A searched phase's probes run in the order the search chose, not of load: its saturation
    // point is the search's.
    let stepped: Vec<Group> = groups
        .iter()
        .filter(|g| !search.iter().any(|s| s.phase == g.phase))
        .cloned()
        .collect();
    let saturation =
        saturation::find(&stepped).or_else(|| search.iter().find_map(saturation::from_search));
    Ok(Analysis {
        run: run.dir.display().to_string(),
        workload: run.meta.workload.clone(),
        plan_hash: run.meta.plan_hash.clone(),
        status: run.meta.status.as_str().to_string(),
        shards: run.shards.clone(),
        warmup_s: opts.warmup_ns as f64 / 1e9,
        cooldown_s: opts.cooldown_ns as f64 / 1e9,
        saturation,
        groups,
        slo,
        search,
        timeseries: series::timeseries(run, frame, &scan.tokens),
    })
}

/// The objectives judged over `pooled` (every request they cover as one group), with the
/// pooled rates (throughput, errors, drops) over `groups`.
pub(crate) fn judge_slo(
    objectives: &[crate::rundir::manifest::Objective],
    pooled: Option<&Group>,
    groups: &[Group],
) -> Option<Vec<slo::Objective>> {
    slo::evaluate(objectives, |metric, stat| {
        let p = pooled?;
        let rate = |v: Option<f64>| v.map(|v| (v, None));
        let dist = match metric.canonical() {
            Metric::Ttft => &p.ttft_ms,
            Metric::Itl | Metric::Tpot => &p.itl_ms,
            Metric::E2e => &p.e2e_ms,
            Metric::TpsUser => &p.tps_user,
            Metric::Tps => {
                return rate(slo::pooled_rate(groups, |g| {
                    Some((g.tps? * g.span_s?, g.span_s?))
                }))
            }
            Metric::Errors => {
                return rate(slo::pooled_rate(groups, |g| {
                    let finished = (g.requests.ok + g.requests.error + g.requests.timeout) as f64;
                    Some(((g.requests.error + g.requests.timeout) as f64, finished))
                }))
            }
            Metric::Dropped => {
                return rate(slo::pooled_rate(groups, |g| {
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

/// Loads and analyses the runs in `dirs`: the shards of one plan as one run
/// ([`shards::fleets`]), every other directory alone.
pub fn analyze_dirs(
    dirs: &[impl AsRef<Path>],
    opts: &Options,
) -> Result<Vec<Analysis>, AnalysisError> {
    shards::fleets(dirs, opts.partial)?
        .iter()
        .map(|run| analyze(run, opts))
        .collect()
}
