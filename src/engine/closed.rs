//! Closed-loop dispatch: N virtual users, each sending its next request when its last one
//! finished (after `think`). At a step boundary users are added, or retire after their current
//! request. Requests come from each step's sequence in the plan, in order.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::context::Ctx;

struct Shared {
    ctx: Arc<Ctx>,
    index: u32,
    /// Users allowed to run now, and the metric step they send in.
    target: AtomicU32,
    step: AtomicU32,
    ended: AtomicBool,
    /// Next position in each step's request sequence.
    positions: Vec<AtomicU64>,
    /// Requests sent in the phase, for `requests = N`.
    sent: AtomicU64,
    alive: Vec<AtomicBool>,
}

impl Shared {
    fn done(&self) -> bool {
        self.ended.load(Ordering::Relaxed) || self.ctx.stopped()
    }
}

/// Runs phase `index`, which really started at `start_ns`; returns when it ends (its duration
/// passed, or, without one, when its `requests` have all completed).
pub async fn run(ctx: Arc<Ctx>, index: usize, start_ns: u64) -> u64 {
    let plan = &ctx.schedule.phases[index];
    let peak = plan.users.iter().map(|u| u.users).max().unwrap_or(0) as usize;
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        index: index as u32,
        target: AtomicU32::new(0),
        step: AtomicU32::new(0),
        ended: AtomicBool::new(false),
        positions: plan.steps.iter().map(|_| AtomicU64::new(0)).collect(),
        sent: AtomicU64::new(0),
        alive: (0..peak).map(|_| AtomicBool::new(false)).collect(),
    });
    let mut users = JoinSet::new();
    let end = plan.duration_ns.map(|d| start_ns + d);
    for change in &plan.users {
        let at = start_ns + change.at_ns;
        if !sleep_until(&ctx, at).await {
            break;
        }
        shared.step.store(change.step, Ordering::Relaxed);
        shared.target.store(change.users, Ordering::Relaxed);
        for i in 0..change.users as usize {
            if !shared.alive[i].swap(true, Ordering::SeqCst) {
                users.spawn(user(shared.clone(), i));
            }
        }
    }
    match end {
        Some(end) => {
            sleep_until(&ctx, end).await;
            shared.ended.store(true, Ordering::Relaxed);
            // Users finish their current request in the background; the next phase starts now.
            users.detach_all();
            ctx.clock.now().max(end)
        }
        None => {
            while users.join_next().await.is_some() {}
            ctx.clock.now()
        }
    }
}

/// Sleeps until run time `ns`; false if the run was stopped first.
async fn sleep_until(ctx: &Ctx, ns: u64) -> bool {
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.clock.instant(ns).into()) => !ctx.stopped(),
        _ = stop.wait_for(|s| *s) => false,
    }
}

async fn user(s: Arc<Shared>, i: usize) {
    let plan = &s.ctx.schedule.phases[s.index as usize];
    let mut first = true;
    loop {
        if s.done() {
            break;
        }
        if i as u32 >= s.target.load(Ordering::Relaxed) {
            // Retire; but if the level rose again meanwhile, carry on.
            s.alive[i].store(false, Ordering::SeqCst);
            if (i as u32) < s.target.load(Ordering::SeqCst)
                && !s.alive[i].swap(true, Ordering::SeqCst)
            {
                continue;
            }
            return;
        }
        let step = s.step.load(Ordering::Relaxed);
        if let Some(max) = plan.max_requests {
            if s.sent.fetch_add(1, Ordering::SeqCst) >= max {
                break;
            }
        }
        let position = s.positions[step as usize].fetch_add(1, Ordering::Relaxed);
        let r = s.ctx.schedule.closed_request(s.index, step, position);
        if let (Some(think), false) = (r.think_ns, first) {
            let mut stop = s.ctx.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_nanos(think)) => {}
                _ = stop.wait_for(|x| *x) => break,
            }
            if s.done() {
                break;
            }
        }
        first = false;
        s.ctx.begin();
        s.ctx.fire(r, None).await;
    }
    s.alive[i].store(false, Ordering::SeqCst);
}
