//! One run measured: [`Analysis`] (the run's groups with their metrics, saturation, SLO verdicts,
//! searches, time series) and [`analyze`], which runs the measures in order — groups and their
//! windows, the chunk passes, each group's figures, the pooled SLO, searches, saturation. The
//! entry of the measuring layer; no measure uses it (only `compare.rs`, which takes analyses).

use std::path::Path;

use serde::Serialize;

use super::groups::Group;
use super::{compute, saturation, scan, search, series, slices, slo, windows};
use crate::analysis::error::AnalysisError;
use crate::analysis::load::{shards, Run, Shards};
use crate::analysis::options::Options;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub run: String,
    pub workload: String,
    pub plan_hash: String,
    pub status: String,
    /// Set when the run is one or several shards of a plan (`--shard`): which, and which are
    /// missing (then the numbers are those of a part of the load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Shards>,
    pub warmup_s: f64,
    pub cooldown_s: f64,
    pub groups: Vec<Group>,
    /// The measured requests by class and by model (where the run has more than one of
    /// either), each slice pooled over phases and steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<slices::Slice>,
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

/// Analyses one run. The chunk table is read here, in passes (`scan.rs`); a damaged chunk
/// file is an error naming it.
pub fn analyze(run: &Run, opts: &Options) -> Result<Analysis, AnalysisError> {
    let defs = windows::definitions(&run.meta);
    let membership = windows::membership(run, &defs, opts);
    let objectives = compute::per_request_objectives(&run.meta.slo);
    let frame = series::frame(run);
    let scan = scan::scan(run, &membership.of_row, defs.len(), frame)?;
    let groups = compute::compute(run, &defs, &membership, &objectives, Some(&scan));

    // The SLO is judged over every measured request: pool the groups into one.
    let pooled = slices::pooled(run, &membership, &objectives);
    let slices = slices::slices(run, &membership, &objectives);
    let slo = slo::judge_slo(&run.meta.slo, pooled.as_ref(), &groups);
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
        slices,
        slo,
        search,
        timeseries: series::timeseries(run, frame, &scan.tokens),
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
