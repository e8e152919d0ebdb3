//! Open-loop dispatch: every request leaves at its planned time, measured against absolute
//! deadlines on a dedicated thread (sleep, then spin for the last few hundred microseconds), so
//! lateness never accumulates. An arrival that finds `max_in_flight` requests outstanding becomes
//! a `dropped` row — never a silent skip, never a delayed send.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::context::Ctx;

/// Runs phase `index`, which really started at `start_ns`, until its end; returns the end.
pub fn run(ctx: Arc<Ctx>, handle: Handle, index: usize, start_ns: u64) -> u64 {
    let plan = &ctx.schedule.phases[index];
    let planned_start = plan.start_ns.unwrap_or(0);
    let keep_going = || !ctx.stopped();
    for r in ctx.schedule.phase_requests(plan) {
        let offset = r
            .at_ns
            .unwrap_or(planned_start)
            .saturating_sub(planned_start);
        let scheduled = start_ns + offset;
        if !ctx.clock.wait_until(scheduled, keep_going) {
            return ctx.clock.now();
        }
        if let Some(cap) = plan.max_in_flight {
            if ctx.live.in_flight.load(Ordering::Relaxed) >= cap {
                ctx.drop_arrival(r, scheduled, cap);
                continue;
            }
        }
        ctx.begin();
        let task_ctx = ctx.clone();
        let r = *r;
        handle.spawn(async move { task_ctx.fire(r, Some(scheduled)).await });
    }
    let end = start_ns + plan.duration_ns.unwrap_or(0);
    if ctx.clock.wait_until(end, keep_going) {
        end
    } else {
        ctx.clock.now()
    }
}
