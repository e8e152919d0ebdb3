//! Open-loop dispatch: every request leaves at its planned time, measured against absolute
//! deadlines on a dedicated thread (sleep, then spin for the last few hundred microseconds), so
//! lateness never accumulates. An arrival that finds `max_in_flight` requests outstanding becomes
//! a `dropped` row — never a silent skip, never a delayed send.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::runtime::Handle;

use crate::engine::drive::context::Ctx;
use crate::engine::drive::session::{self, Gate, Running, Timing};
use crate::schedule::{PhasePlan, PlannedRequest};

/// How long before its send time a request is handed to the async runtime.
const HAND_OFF_EARLY_NS: u64 = 400_000;
/// A gap this long since the last hand-off counts as quiet.
const QUIET_NS: u64 = 2_000_000;

/// Runs phase `index`, which really started at `start_ns`, until its end; returns the end.
pub fn run(ctx: Arc<Ctx>, handle: Handle, index: usize, start_ns: u64) -> u64 {
    let schedule = ctx.schedule.clone();
    let plan = &schedule.phases[index];
    run_plan(
        ctx.clone(),
        handle,
        plan,
        schedule.phase_requests(plan),
        start_ns,
    )
}

/// Runs the open-loop phase `plan` (one of the schedule's, or a search's probe) sending
/// `requests`, from `start_ns` until its end; returns the end.
pub fn run_plan(
    ctx: Arc<Ctx>,
    handle: Handle,
    plan: &PhasePlan,
    requests: &[PlannedRequest],
    start_ns: u64,
) -> u64 {
    let planned_start = plan.start_ns.unwrap_or(0);
    let keep_going = || !ctx.stopped();
    let mut last_hand_off = 0u64;
    let gate = Arc::new(Gate::new(plan.max_in_flight, None));
    let timing = Timing {
        start_ns,
        planned_ns: planned_start,
        open: true,
    };
    for unit in crate::schedule::units(requests) {
        let r = &unit[0];
        let offset = r
            .at_ns
            .unwrap_or(planned_start)
            .saturating_sub(planned_start);
        let scheduled = start_ns + offset;
        // After a quiet stretch the runtime's workers are parked, and waking one can take a few
        // hundred microseconds: then hand the request over a little early and let the task wait
        // out the rest. Under steady traffic the workers are awake and a spinning task would
        // only take a worker from the others, so the hand-off is at the send time.
        let early = if scheduled.saturating_sub(last_hand_off) >= QUIET_NS {
            HAND_OFF_EARLY_NS
        } else {
            0
        };
        if !ctx
            .clock
            .wait_until(scheduled.saturating_sub(early), keep_going)
        {
            gate.end();
            return ctx.clock.now();
        }
        if r.session.is_some() {
            // A conversation: its driver sends turn 0 now and the rest as answers come.
            last_hand_off = scheduled;
            let (c, g, requests) = (ctx.clone(), gate.clone(), unit.to_vec());
            let running = Running::new(&gate);
            handle.spawn(session::run(
                c,
                g,
                requests,
                timing,
                Some(scheduled),
                running,
                None,
            ));
            continue;
        }
        if let Some(cap) = plan.max_in_flight {
            if ctx.live.in_flight.load(Ordering::Relaxed) >= cap {
                ctx.drop_arrival(r, scheduled, cap);
                continue;
            }
        }
        last_hand_off = scheduled;
        ctx.begin();
        let task_ctx = ctx.clone();
        let r = *r;
        handle.spawn(async move {
            task_ctx.clock.spin_until(scheduled);
            task_ctx.fire(r, Some(scheduled), None, None).await;
        });
    }
    let Some(duration) = plan.duration_ns else {
        // Conversations decide the length of a phase no duration ends: it lasts until the last
        // one has ended.
        handle.block_on(gate.all_done());
        gate.end();
        return ctx.clock.now();
    };
    let end = start_ns + duration;
    // With a `requests` limit, the phase's conversations (all planned) may end before its
    // duration: it ends then, whichever comes first.
    let limited = plan.max_requests.is_some() && requests.iter().any(|r| r.session.is_some());
    let reached = ctx
        .clock
        .wait_until(end, || keep_going() && !(limited && gate.idle()));
    gate.end();
    if reached {
        end
    } else {
        ctx.clock.now()
    }
}
