//! The phases, in order: each run by its driver (open loop, closed loop, a search), its span
//! recorded as it really ran, the pause after it waited out.

use std::sync::{Arc, Mutex};

use crate::engine::drive::context::Ctx;
use crate::engine::drive::search::{self, Levels};
use crate::engine::drive::{closed, open};
use crate::engine::record::progress::Where;
use crate::engine::record::run_dir::{Ending, PhaseSpan};
use crate::engine::record::run_record::RunRecord;
use crate::engine::record::stop;
use crate::engine::record::warn::Warn;
use crate::rundir::probe::Judge;
use crate::schedule::LoopKind;

/// What a searched phase needs besides the context.
pub struct Searching<'a> {
    pub judge: Option<Arc<dyn Judge>>,
    pub levels: Option<&'a Levels>,
    pub warn: &'a Warn,
}

/// Runs every phase until the plan ends or the run is stopped.
pub async fn run_all(
    ctx: &Arc<Ctx>,
    record: &Arc<RunRecord>,
    at: &Arc<Mutex<Where>>,
    s: &Searching<'_>,
) {
    let schedule = ctx.schedule.clone();
    let mut next_start = 0u64;
    for (index, plan) in schedule.phases.iter().enumerate() {
        if ctx.stopped() {
            break;
        }
        if let Ok(mut w) = at.lock() {
            *w = Where {
                phase: plan.name.clone(),
                step: 0,
                steps: plan.steps.len(),
            };
        }
        let start = next_start.max(ctx.clock.now());
        record.update(|r| {
            r.spans.push(PhaseSpan {
                start_ns: start,
                end_ns: None,
                search: None,
            });
        });
        let steps_task =
            (plan.steps.len() > 1).then(|| track_steps(at.clone(), ctx.clone(), index, start));
        let end = run_one(ctx, record, index, start, s).await;
        if let Some(t) = steps_task {
            t.abort();
        }
        record.update_span(|span| span.end_ns = Some(end));
        next_start = end + plan.pause_ns;
        if plan.pause_ns > 0 && index + 1 < schedule.phases.len() {
            let mut stop = ctx.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep_until(ctx.clock.instant(next_start).into()) => {}
                _ = stop::until_set(&mut stop) => {}
            }
        }
    }
}

/// One phase by its driver; returns when it ended.
async fn run_one(
    ctx: &Arc<Ctx>,
    record: &Arc<RunRecord>,
    index: usize,
    start: u64,
    s: &Searching<'_>,
) -> u64 {
    let plan = &ctx.schedule.phases[index];
    if plan.search.is_some() {
        return search::run(search::Driver {
            ctx: ctx.clone(),
            index,
            start_ns: start,
            record: record.clone(),
            judge: s.judge.clone(),
            levels: s.levels,
            warn: s.warn,
        })
        .await;
    }
    match plan.kind {
        LoopKind::Open => {
            let (c, h) = (ctx.clone(), tokio::runtime::Handle::current());
            match tokio::task::spawn_blocking(move || open::run(c, h, index, start)).await {
                Ok(end) => end,
                Err(e) => {
                    // The run ends failed, with its files, rather than returning early.
                    ctx.stopper.stop(
                        Ending::Failed,
                        format!("llmw bug: the dispatcher failed: {e}"),
                    );
                    ctx.clock.now()
                }
            }
        }
        LoopKind::Closed => closed::run(ctx.clone(), index, start).await,
    }
}

/// Keeps the progress display's step index current for a stepped phase.
fn track_steps(
    at: Arc<Mutex<Where>>,
    ctx: Arc<Ctx>,
    index: usize,
    start: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let steps: Vec<u64> = ctx.schedule.phases[index]
            .steps
            .iter()
            .map(|s| s.start_ns)
            .collect();
        for (i, s) in steps.iter().enumerate() {
            tokio::time::sleep_until(ctx.clock.instant(start + s).into()).await;
            if let Ok(mut w) = at.lock() {
                w.step = i as u32;
            }
        }
    })
}
