//! A searched phase, probe by probe: each probe is the schedule's plan for its level
//! ([`Schedule::probe`](crate::schedule::Schedule::probe)), run like a phase of its own for the
//! search's hold; then the engine waits (up to one more hold) for its requests to finish, has
//! the caller's [`Judge`] measure it, and asks [`crate::search::next`] for the next level. With
//! `verify`, the loads holding 50, 60 and 70 % of the saturation throughput follow. Replayed
//! levels (`--levels-from`) are run in their order, with no search.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::drive::context::Ctx;
use crate::engine::drive::{closed, open};
use crate::engine::record::run_record::{RunRecord, Standing};
use crate::engine::record::warn::Warn;
use crate::rundir::manifest::{self, Manifest, ProbeMeasure, ProbeRecord};
use crate::rundir::probe::Judge;
use crate::rundir::record::{RequestRow, Status};
use crate::schedule::LoopKind;
use crate::search::{self, Measured, Next};

/// The levels of an earlier run's searched phases, to run again without searching.
#[derive(Debug, Clone, PartialEq)]
pub struct Levels {
    /// The run directory they come from (recorded in `run.json`).
    pub from: String,
    /// Per searched phase (by name): each probe's level, and its share for a verification hold.
    pub phases: Vec<(String, Vec<Level>)>,
}

/// A level to run, and its share of the saturation throughput for a verification hold.
pub type Level = (f64, Option<f64>);

impl Levels {
    /// Reads them from an earlier run's manifest; refuses a level that is not a positive
    /// number, or more probes than a search runs.
    pub fn of(from: String, meta: &Manifest) -> Result<Levels, String> {
        let most = (search::MAX_PROBES as usize) + search::VERIFY_SHARES.len();
        let mut phases = Vec::new();
        for p in meta.phases.iter().filter(|p| p.search.is_some()) {
            if p.steps.len() > most {
                return Err(format!(
                    "phase '{}' has {} probes; a search runs at most {most}",
                    p.name,
                    p.steps.len()
                ));
            }
            let mut levels = Vec::new();
            for s in &p.steps {
                let share = s.probe.and_then(|r| r.verify);
                if !(s.level.is_finite() && s.level > 0.0)
                    || share.is_some_and(|v| !(v.is_finite() && v > 0.0))
                {
                    return Err(format!(
                        "phase '{}' step {} has the level {}, not a positive number",
                        p.name, s.step, s.level
                    ));
                }
                levels.push((s.level, share));
            }
            phases.push((p.name.clone(), levels));
        }
        Ok(Levels { from, phases })
    }
}

pub(crate) struct Driver<'a> {
    pub ctx: Arc<Ctx>,
    pub index: usize,
    pub start_ns: u64,
    /// The run's record: the search's probes are published there, and the judge reads the
    /// probe's window from its manifest.
    pub record: Arc<RunRecord>,
    pub judge: Option<Arc<dyn Judge>>,
    pub levels: Option<&'a Levels>,
    /// Warnings go to the caller.
    pub warn: &'a Warn,
}

/// Runs the searched phase; returns its end.
pub(crate) async fn run(d: Driver<'_>) -> u64 {
    let ctx = d.ctx.clone();
    let plan = &ctx.schedule.phases[d.index];
    let Some(mut record) = crate::engine::record::run_dir::search_record(plan) else {
        return d.start_ns;
    };
    let spec = record.spec(plan.kind == LoopKind::Closed, !ctx.schedule.slo.is_empty());
    let replay: Option<Vec<Level>> = d.levels.map(|l| {
        record.levels_from = Some(l.from.clone());
        l.phases
            .iter()
            .find(|(name, _)| *name == plan.name)
            .map(|(_, levels)| levels.clone())
            .unwrap_or_default()
    });
    let mut measured: Vec<Measured> = Vec::new();
    let mut steps: Vec<manifest::Step> = Vec::new();
    let mut end = d.start_ns;
    // The levels still to run in order: the replayed ones, or the verification holds.
    let mut queue: Vec<Level> = replay.clone().unwrap_or_default();
    queue.reverse();
    let mut verifying = false;
    loop {
        if ctx.stopped() {
            record.ended = Some("the run was stopped".into());
            break;
        }
        let (level, share) = if let Some(next) = queue.pop() {
            next
        } else if replay.is_some() {
            record.ended = Some("every replayed level was run".into());
            break;
        } else if verifying {
            break;
        } else {
            match search::next(&spec, &measured) {
                Next::Probe(level) => (level, None),
                Next::Done(why) => {
                    record.ended = Some(why);
                    if !record.verify {
                        break;
                    }
                    match search::verify_levels(&spec, &measured) {
                        Some(levels) if !levels.is_empty() => {
                            queue = levels
                                .into_iter()
                                .rev()
                                .map(|(s, l)| (l, Some(s)))
                                .collect();
                            verifying = true;
                            continue;
                        }
                        _ => {
                            record.verify_skipped = Some(
                                "the search found no saturation point above the range's low end"
                                    .into(),
                            );
                            break;
                        }
                    }
                }
            }
        };
        let step = steps.len() as u32;
        let (probe_end, measure) = probe(&d, &mut steps, &record, step, level, share).await;
        end = probe_end;
        if share.is_none() {
            let Some(m) = measure else {
                if replay.is_some() {
                    publish(&d, &record, &steps);
                    continue;
                }
                if !ctx.stopped() {
                    record.ended = Some(format!("probe {step} could not be measured"));
                }
                break;
            };
            measured.push(m.to_search(level));
            let found = search::found(&measured);
            record.saturation = found.saturation;
            record.slo_limit = found.slo_limit.filter(|_| spec.slo);
            // Each probe's verdict as the probes so far give it.
            let mut k = 0;
            for s in steps.iter_mut() {
                if let Some(p) = s.probe.as_mut().filter(|p| p.verify.is_none()) {
                    if p.measured.is_some() {
                        p.saturated = found.verdicts.saturated.get(k).copied().flatten();
                        k += 1;
                    }
                }
            }
        }
        publish(&d, &record, &steps);
    }
    publish(&d, &record, &steps);
    end
}

/// Runs one probe (or verification hold) as step `step`; returns its end and its measure.
async fn probe(
    d: &Driver<'_>,
    steps: &mut Vec<manifest::Step>,
    record: &manifest::Search,
    step: u32,
    level: f64,
    share: Option<f64>,
) -> (u64, Option<ProbeMeasure>) {
    let ctx = &d.ctx;
    let Some(p) = ctx.schedule.probe(d.index as u32, step, level) else {
        return (ctx.clock.now(), None);
    };
    ctx.collect_rows();
    let start = ctx.clock.now().max(d.start_ns);
    steps.push(manifest::Step {
        step,
        start_ns: start - d.start_ns,
        end_ns: None,
        level: p.plan.steps[0].level,
        warmup_ns: Some(record.warmup_ns),
        probe: Some(ProbeRecord {
            verify: share,
            measured: None,
            saturated: None,
        }),
    });
    publish(d, record, steps);
    let end = match p.plan.kind {
        LoopKind::Open => {
            let (c, h) = (ctx.clone(), tokio::runtime::Handle::current());
            let (plan, requests) = (p.plan, p.requests);
            tokio::task::spawn_blocking(move || open::run_plan(c, h, &plan, &requests, start))
                .await
                .unwrap_or_else(|_| ctx.clock.now())
        }
        LoopKind::Closed => closed::run_plan(ctx.clone(), Arc::new(p.plan), None, start).await,
    };
    if let Some(s) = steps.last_mut() {
        s.end_ns = Some(end.saturating_sub(d.start_ns));
    }
    // The next probe starts on an idle server: wait for this one's requests, up to a hold.
    let hold = Duration::from_nanos(record.hold_ns);
    let overrun = !ctx.drain_within(hold).await;
    let rows = ctx.take_rows();
    let name = &ctx.schedule.phases[d.index].name;
    let measure = match &d.judge {
        Some(judge) if !ctx.stopped() => {
            let manifest = d.record.manifest_with(&Standing::RUNNING, |spans| {
                if let Some(last) = spans.last_mut() {
                    last.search = Some((record.clone(), steps.clone()));
                }
            });
            match judge.measure(&manifest, &rows, name, step) {
                Ok(m) => Some(ProbeMeasure { overrun, ..m }),
                Err(e) => {
                    (d.warn)(&format!("could not measure probe {step} of '{name}': {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(r) = steps.last_mut().and_then(|s| s.probe.as_mut()) {
        r.measured = measure;
    }
    if overrun {
        settle(ctx, &rows, measure.and_then(|m| m.tps), hold).await;
    }
    (end, measure)
}

/// After an overrun probe: a server may go on with the requests cut (queued ones, until it
/// notices the client left), so the next probe waits for it to work them off — as long as
/// their answers take at the throughput the probe measured, at most `SETTLE_HOLDS` holds
/// (a server that drops them at once is idle sooner; the wait only delays the next probe).
async fn settle(ctx: &Ctx, rows: &[RequestRow], tps: Option<f64>, hold: Duration) {
    let cut: Vec<&RequestRow> = rows
        .iter()
        .filter(|r| r.status == Status::Cancelled)
        .collect();
    let tokens: f64 = cut
        .iter()
        .map(|r| f64::from(r.output_tokens_requested))
        .sum();
    let most = hold * SETTLE_HOLDS;
    let wait = match tps {
        Some(t) if t > 0.0 => Duration::from_secs_f64((tokens / t).min(most.as_secs_f64())),
        _ => most,
    };
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = crate::engine::record::stop::until_set(&mut stop) => {}
    }
}

/// After an overrun probe, the next waits at most this many holds for the server to settle.
const SETTLE_HOLDS: u32 = 4;

/// Puts the search's record and probes where `run.json` is written from.
fn publish(d: &Driver<'_>, record: &manifest::Search, steps: &[manifest::Step]) {
    d.record
        .update_span(|span| span.search = Some((record.clone(), steps.to_vec())));
}
