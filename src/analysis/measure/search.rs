//! Searched phases (`search(...)`): each probe's figures and verdict, the saturation point and
//! the SLO limit with their brackets, and the verification holds — from the groups the probes
//! make, by the rule of [`crate::search`], so the analysis and the run that steered the search
//! agree. [`ProbeJudge`] is the same measure applied while the run goes, to one probe's rows.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use super::groups::{Group, Load};
use super::slo::{self, judge_slo};
use super::{compute, windows};
use crate::analysis::load::{Requests, Run};
use crate::analysis::options::Options;
use crate::rundir::manifest::{self, Loop, Manifest, ProbeMeasure};
use crate::rundir::record::{RequestRow, Status};
use crate::search::{self, Bracket, Measured};
use crate::stats::Stats;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchReport {
    pub phase: String,
    /// `concurrency` (users) or `rate` (requests per second).
    pub of: &'static str,
    pub range: [f64; 2],
    pub tolerance: f64,
    /// The levels were replayed from this run, not searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels_from: Option<String>,
    /// Why the search ended, as the run recorded it.
    pub ended: Option<String>,
    pub probes: Vec<ProbeView>,
    pub saturation: Option<Point>,
    pub slo_limit: Option<Point>,
    pub verify: Vec<VerifyView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_skipped: Option<String>,
    /// The (applied load, throughput) curve at or below the saturation point, for the
    /// operating range.
    #[serde(skip)]
    pub curve: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeView {
    pub step: u32,
    pub level: f64,
    /// The load it really applied (open loop: requests sent per second while measured).
    pub load: f64,
    /// The throughput while the level was held ([`hold_tps`]).
    pub tps: Option<f64>,
    pub tps_ci95: Option<[f64; 2]>,
    /// TTFT p50 and p99.
    pub ttft_ms: Option<f64>,
    pub ttft_p99_ms: Option<f64>,
    pub error_rate: Option<f64>,
    /// Every objective met over the probe's requests (`None` without objectives).
    pub slo: Option<bool>,
    /// Its requests were still running a hold after it ended (then cut, `cancelled`).
    pub overrun: bool,
    pub verdict: Verdict,
}

/// A probe's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not saturated.
    Below,
    /// At the throughput plateau.
    Saturated,
    /// Error rate above 1 %.
    Errors,
    /// Requests still running a hold after the probe ended.
    Overrun,
    /// No request finished.
    #[serde(rename = "no data")]
    NoData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Below => "below",
            Verdict::Saturated => "saturated",
            Verdict::Errors => "errors",
            Verdict::Overrun => "overrun",
            Verdict::NoData => "no data",
        }
    }

    /// Saturated by errors or an overrun, not by its throughput.
    pub fn erred(self) -> bool {
        matches!(self, Verdict::Errors | Verdict::Overrun)
    }
}

/// A found level — the saturation point: the bracket's high end, the lowest level that
/// saturated; the SLO limit: its low end, the highest level that met every objective — the
/// bracket `[lo, hi]` (`null` for an open end), and whether it is within the tolerance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub level: Option<f64>,
    pub bracket: [Option<f64>; 2],
    pub within_tolerance: bool,
    /// The saturation throughput (`crate::search::saturation_tps`: the plateau, or without one
    /// the best of the probes at or below it that did not err); the SLO limit's throughput.
    pub tps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyView {
    pub step: u32,
    /// The share of the saturation throughput held.
    pub share: f64,
    pub load: f64,
    pub tps: Option<f64>,
    pub ttft_ms: Stats,
    pub itl_ms: Stats,
    pub goodput: Option<f64>,
    pub slo: Option<Vec<slo::Objective>>,
}

/// A probe's throughput: the output tokens its requests received within its hold after the
/// warm-up, per second of that stretch — the server's rate while the load was held, without
/// the probe's ramp-up or its drain (its last requests finishing at a lower concurrency). A
/// request's tokens after its first are spread evenly between its first and last token (a
/// decode's pace), so one that straddles an end counts in part. `None` when the stretch is
/// empty or no token fell in it.
/// The load a probe really applied: its users (closed loop), or the requests it sent per second
/// of its measured stretch (open loop).
fn applied_load(run: &Run, def: &windows::GroupDef) -> Option<f64> {
    let Load::Rate(_) = def.load else {
        return Some(def.load.value());
    };
    let r = &run.requests;
    let (from, to) = held(def)?;
    let sent = rows_of(run, def)
        .filter(|&i| r.status[i] != Status::Dropped && (from..to).contains(&r.sent_ns[i]))
        .count();
    Some(sent as f64 / ((to - from) as f64 / 1e9))
}

/// The stretch a probe's measures cover: its hold after the warm-up (ns on the run's axis).
fn held(def: &windows::GroupDef) -> Option<(i64, i64)> {
    let from = def.window_ns.0 + def.warmup_ns;
    let to = def.window_ns.1?;
    (to > from).then_some((from, to))
}

/// The request rows of a probe's group.
fn rows_of<'r>(run: &'r Run, def: &'r windows::GroupDef) -> impl Iterator<Item = usize> + 'r {
    let r = &run.requests;
    (0..r.len()).filter(move |&i| r.step[i] as u32 == def.step && r.phase[i] == def.phase)
}

fn hold_tps(run: &Run, def: &windows::GroupDef) -> Option<f64> {
    let r = &run.requests;
    let (from, to) = held(def)?;
    let (from, to) = (from as f64, to as f64);
    let mut tokens = 0.0;
    for i in rows_of(run, def) {
        if r.status[i] != Status::Ok {
            continue;
        }
        let (Some(first), Some(last)) = (r.first_token_ns[i], r.last_token_ns[i]) else {
            continue;
        };
        let (first, last) = (first as f64, last as f64);
        let out = f64::from(r.output_tokens[i].unwrap_or(0).max(0));
        if out < 1.0 {
            continue;
        }
        if (from..=to).contains(&first) {
            tokens += 1.0;
        }
        if out > 1.0 && last > first {
            let overlap = (last.min(to) - first.max(from)).max(0.0);
            tokens += (out - 1.0) * overlap / (last - first);
        }
    }
    (tokens > 0.0).then(|| tokens / ((to - from) / 1e9))
}

/// Whether `g` met every objective, over its own requests.
fn slo_pass(objectives: &[manifest::Objective], g: &Group) -> Option<bool> {
    judge_slo(objectives, Some(g), std::slice::from_ref(g)).map(|o| o.iter().all(|o| o.pass))
}

/// The search reports of every searched phase of `run`.
pub fn reports(run: &Run, groups: &[Group]) -> Vec<SearchReport> {
    let meta = &run.meta;
    meta.phases
        .iter()
        .filter_map(|p| Some((p, p.search.as_ref()?)))
        .map(|(p, s)| report(run, p, s, groups))
        .collect()
}

fn report(
    run: &Run,
    phase: &manifest::Phase,
    s: &manifest::Search,
    groups: &[Group],
) -> SearchReport {
    let meta = &run.meta;
    let defs = windows::definitions(meta);
    let def = |step: u32| {
        defs.iter()
            .find(|d| d.phase == phase.name && d.step == step)
    };
    let spec = s.spec(phase.kind == Loop::Closed, !meta.slo.is_empty());
    // When the run measured its probes, one it could not (cut short by a stop) is left out,
    // as the run left it out of its search.
    let judged = phase
        .steps
        .iter()
        .any(|st| st.probe.is_some_and(|r| r.measured.is_some()));
    let start_s = phase.start_ns.unwrap_or(0) as f64 / 1e9;
    let group = |step: u32| {
        groups
            .iter()
            .find(|g| g.phase == phase.name && g.step == step)
    };
    let mut probes: Vec<(&manifest::Step, Option<&Group>)> = Vec::new();
    let mut verify = Vec::new();
    for st in &phase.steps {
        let unmeasured = st.probe.is_none_or(|r| r.measured.is_none());
        if judged && unmeasured {
            continue;
        }
        match st.probe.and_then(|r| r.verify) {
            None => probes.push((st, group(st.step))),
            Some(share) => {
                let Some(g) = group(st.step) else { continue };
                verify.push(VerifyView {
                    step: st.step,
                    share,
                    load: st.level,
                    tps: def(st.step).and_then(|d| hold_tps(run, d)),
                    ttft_ms: g.ttft_ms.clone(),
                    itl_ms: g.itl_ms.clone(),
                    goodput: g.goodput,
                    slo: judge_slo(&meta.slo, Some(g), std::slice::from_ref(g)),
                });
            }
        }
    }
    let measured: Vec<Measured> = probes
        .iter()
        .map(|(st, g)| {
            let end_s = start_s + st.end_ns.unwrap_or(st.start_ns) as f64 / 1e9;
            Measured {
                level: st.level,
                load: def(st.step)
                    .and_then(|d| applied_load(run, d))
                    .unwrap_or(st.level),
                tps: def(st.step).and_then(|d| hold_tps(run, d)),
                error_rate: g.and_then(|g| g.error_rate),
                slo: g.and_then(|g| slo_pass(&meta.slo, g)),
                // As the run saw it; else, its last response more than a hold after its end.
                overrun: match st.probe.and_then(|r| r.measured) {
                    Some(m) => m.overrun,
                    None => g.is_some_and(|g| g.window.end_s > end_s + s.hold_ns as f64 / 1e9),
                },
            }
        })
        .collect();
    let found = search::found(&measured);
    let views = probes
        .iter()
        .zip(&measured)
        .zip(&found.verdicts.saturated)
        .map(|(((st, g), m), sat)| ProbeView {
            step: st.step,
            level: st.level,
            load: m.load,
            tps: m.tps,
            tps_ci95: g.and_then(|g| g.tps_ci95),
            ttft_ms: g.and_then(|g| g.ttft_ms.p50),
            ttft_p99_ms: g.and_then(|g| g.ttft_ms.p99),
            error_rate: m.error_rate,
            slo: m.slo,
            overrun: m.overrun,
            verdict: match sat {
                None => Verdict::NoData,
                Some(false) => Verdict::Below,
                Some(true) if m.error_rate.is_some_and(|e| e > search::MAX_ERRORS) => {
                    Verdict::Errors
                }
                Some(true) if m.overrun => Verdict::Overrun,
                Some(true) => Verdict::Saturated,
            },
        })
        .collect::<Vec<_>>();
    let tps_at = |level: Option<f64>| {
        level.and_then(|l| measured.iter().find(|m| m.level == l).and_then(|m| m.tps))
    };
    let point = |level: Option<f64>, b: Bracket, tps: Option<f64>| Point {
        level,
        bracket: [b.lo, b.hi],
        within_tolerance: b.lo.is_some() && b.hi.is_some() && b.settled(&spec),
        tps,
    };
    let sat = found.saturation.and_then(|b| b.hi);
    SearchReport {
        phase: phase.name.clone(),
        of: match phase.kind {
            Loop::Closed => "concurrency",
            Loop::Open => "rate",
        },
        range: s.range,
        tolerance: s.tolerance,
        levels_from: s.levels_from.clone(),
        ended: s.ended.clone(),
        probes: views,
        saturation: found
            .saturation
            .filter(|b| b.hi.is_some())
            .map(|b| point(b.hi, b, search::saturation_tps(&measured, &found))),
        slo_limit: found
            .slo_limit
            .filter(|_| spec.slo)
            .map(|b| point(b.lo, b, tps_at(b.lo))),
        verify,
        verify_skipped: s.verify_skipped.clone(),
        curve: sat.map(|l| search::curve(&measured, l)).unwrap_or_default(),
    }
}

/// Measures a probe from its rows while the run goes, by the analysis' own rules (its group's
/// throughput, error rate, TTFT and objectives, after the probe's warm-up).
pub struct ProbeJudge;

impl crate::rundir::probe::Judge for ProbeJudge {
    fn measure(
        &self,
        manifest: &Manifest,
        rows: &[RequestRow],
        phase: &str,
        step: u32,
    ) -> Result<ProbeMeasure, String> {
        let run = Run {
            dir: PathBuf::new(),
            meta: manifest.clone(),
            requests: Requests::from_rows(manifest, rows),
            chunks: Default::default(),
            rows_of: HashMap::new(),
            server: Default::default(),
            shards: None,
        };
        let defs: Vec<_> = windows::definitions(&run.meta)
            .into_iter()
            .filter(|d| d.phase == phase && d.step == step)
            .collect();
        if defs.is_empty() {
            return Err(format!("no step {step} of phase '{phase}' in the manifest"));
        }
        let m = windows::membership(&run, &defs, &Options::default());
        let objectives = compute::per_request_objectives(&run.meta.slo);
        let g = compute::compute(&run, &defs, &m, &objectives, None)
            .pop()
            .ok_or("the probe has no group")?;
        Ok(ProbeMeasure {
            load: applied_load(&run, &defs[0]),
            tps: hold_tps(&run, &defs[0]),
            error_rate: g.error_rate,
            ttft_p50_ms: g.ttft_ms.p50,
            slo: slo_pass(&run.meta.slo, &g),
            overrun: false,
        })
    }
}
