//! Closed-loop dispatch: N virtual users, each sending its next request when its last one
//! finished (after `think`). At a step boundary users are added, or retire after their current
//! request. Requests come from each step's sequence in the plan, in order; a conversation
//! there is run whole by the user who takes it (`session`). The phase ends at its duration or
//! when its `requests` have been sent and answered, whichever comes first.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::engine::drive::context::Ctx;
use crate::engine::drive::pace::{Pacer, TurnPace};
use crate::engine::drive::session::{self, Gate, Running, Timing};
use crate::schedule::{Cursor, PhasePlan};

struct Shared {
    ctx: Arc<Ctx>,
    plan: Arc<PhasePlan>,
    /// The first step's index (a probe's plan has one step, numbered as the probe).
    first_step: u32,
    /// Per step: the whole plan's users, by which a shard's units are dealt.
    whole_users: Vec<u32>,
    /// Users allowed to run now, and the metric step they send in.
    target: AtomicU32,
    step: AtomicU32,
    /// Whether the phase has ended, and its `requests` limit.
    gate: Arc<Gate>,
    /// Where each step's request sequence stands (a conversation takes one position per
    /// request; a shard skips the other parts' units).
    positions: Vec<Mutex<Cursor>>,
    alive: Vec<AtomicBool>,
    /// Users running now; `gone` is signalled when the last one leaves.
    running: AtomicUsize,
    gone: Notify,
}

impl Shared {
    fn done(&self) -> bool {
        self.gate.ended() || self.ctx.stopped()
    }

    fn spawn(self: &Arc<Self>, i: usize) {
        if !self.alive[i].swap(true, Ordering::SeqCst) {
            self.running.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(user(self.clone(), i));
        }
    }

    /// Waits until no user is running.
    async fn all_gone(&self) {
        while self.running.load(Ordering::SeqCst) > 0 {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.gone.notified()).await;
        }
    }
}

/// Runs phase `index`, which really started at `start_ns`; returns when it ends.
pub async fn run(ctx: Arc<Ctx>, index: usize, start_ns: u64) -> u64 {
    let plan = Arc::new(ctx.schedule.phases[index].clone());
    let whole = ctx.schedule.shard_users.get(index).cloned();
    run_plan(ctx, plan, whole, start_ns).await
}

/// Runs the closed-loop phase `plan` (one of the schedule's, or a search's probe) from
/// `start_ns`; `whole_users` per step when the schedule is a shard. Returns when it ends.
pub async fn run_plan(
    ctx: Arc<Ctx>,
    plan: Arc<PhasePlan>,
    whole_users: Option<Vec<u32>>,
    start_ns: u64,
) -> u64 {
    let peak = plan.users.iter().map(|u| u.users).max().unwrap_or(0) as usize;
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        plan: plan.clone(),
        first_step: plan.steps.first().map_or(0, |s| s.index),
        whole_users: whole_users.unwrap_or_default(),
        target: AtomicU32::new(0),
        step: AtomicU32::new(0),
        gate: Arc::new(Gate::new(None, plan.max_requests)),
        positions: plan
            .steps
            .iter()
            .map(|_| Mutex::new(Cursor::default()))
            .collect(),
        alive: (0..peak).map(|_| AtomicBool::new(false)).collect(),
        running: AtomicUsize::new(0),
        gone: Notify::new(),
    });
    let end = plan.duration_ns.map(|d| start_ns + d);
    if peak == 0 && end.is_none() {
        // A shard with none of the phase's users (`concurrency = 2` dealt into 3 parts) has
        // nothing to send, and no duration to wait out.
        return start_ns;
    }
    let controller = async {
        for change in &plan.users {
            if !sleep_until(&ctx, start_ns + change.at_ns).await {
                return;
            }
            shared.step.store(change.step, Ordering::Relaxed);
            shared.target.store(change.users, Ordering::Relaxed);
            for i in 0..change.users as usize {
                shared.spawn(i);
            }
        }
        match end {
            Some(end) => {
                sleep_until(&ctx, end).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = controller => {
            // The duration is over (or the run was stopped): users finish their current
            // request in the background, and the next phase starts on time.
            shared.gate.end();
            end.filter(|_| !ctx.stopped()).unwrap_or_else(|| ctx.clock.now())
        }
        _ = shared.gate.limit_reached.notified() => {
            // `requests = N` reached first: the phase ends when those requests are answered.
            // `ended` stays false so a user still thinking sends the request it has claimed;
            // each user stops at the limit by itself.
            shared.all_gone().await;
            shared.gate.end();
            ctx.clock.now()
        }
        _ = crate::engine::record::stop::until_set(&mut stop) => {
            shared.gate.end();
            ctx.clock.now()
        }
    }
}

/// Sleeps until run time `ns`; false if the run was stopped first.
async fn sleep_until(ctx: &Ctx, ns: u64) -> bool {
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.clock.instant(ns).into()) => !ctx.stopped(),
        _ = crate::engine::record::stop::until_set(&mut stop) => false,
    }
}

async fn user(s: Arc<Shared>, i: usize) {
    let mut first = true;
    let pacer = s.ctx.schedule.backoff.clone().map(Pacer::new);
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
            leave(&s);
            return;
        }
        let step = s.step.load(Ordering::Relaxed);
        if !s.gate.claim() {
            break;
        }
        let unit = {
            let k = step.saturating_sub(s.first_step) as usize;
            let Some(Ok(mut cursor)) = s.positions.get(k).map(|p| p.lock()) else {
                break;
            };
            let users = s.whole_users.get(k).copied().unwrap_or(0);
            s.ctx
                .schedule
                .next_unit_of(&s.plan, step, users, &mut cursor)
        };
        // Empty for a shard with none of this step's users (read as the step changed).
        let Some(&r) = unit.first() else {
            tokio::task::yield_now().await;
            continue;
        };
        if let (Some(think), false) = (r.think_ns, first) {
            let mut stop = s.ctx.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_nanos(think)) => {}
                _ = crate::engine::record::stop::until_set(&mut stop) => break,
            }
            if s.done() {
                break;
            }
        }
        first = false;
        // Outstanding from before the last look at the phase's end: a search's probe waits for
        // what is outstanding when it ends, so no request of it can start after that.
        let _held = s.ctx.hold();
        if s.done() {
            break;
        }
        if r.session.is_some() {
            // Its first request is claimed; the conversation claims each of the others as it
            // goes, so a limit reached mid-conversation cancels the turn then due.
            let timing = Timing {
                start_ns: 0,
                planned_ns: 0,
                open: false,
            };
            let running = Running::new(&s.gate);
            let (ctx, gate) = (s.ctx.clone(), s.gate.clone());
            let pause = session::run(ctx, gate, unit, timing, None, running, pacer.as_ref()).await;
            // A user backing off has nothing outstanding: a search's probe does not wait for it.
            drop(_held);
            if !back_off(&s, pause).await {
                break;
            }
            continue;
        }
        s.ctx.begin();
        let turn = pacer.as_ref().map(TurnPace::new);
        let pause = s
            .ctx
            .fire(r, None, None, turn.as_ref().map(|t| t.branch()))
            .await
            .pause;
        drop(_held);
        if !back_off(&s, pause).await {
            break;
        }
    }
    s.alive[i].store(false, Ordering::SeqCst);
    leave(&s);
}

/// Waits out a failure's pause (`on_error { backoff }`); false if the phase ended or the run
/// stopped first. Cut short once the phase's `requests` limit is used up: the user could send
/// nothing more, so its next claim fails at once (which ends the phase) rather than after the
/// pause.
async fn back_off(s: &Shared, pause: Option<Duration>) -> bool {
    let Some(pause) = pause else {
        return true;
    };
    let until = s.ctx.clock.now() + pause.as_nanos() as u64;
    tokio::select! {
        waited = session::wait_until(&s.ctx, &s.gate, until) => waited,
        _ = s.gate.until_spent() => true,
    }
}

fn leave(s: &Shared) {
    if s.running.fetch_sub(1, Ordering::SeqCst) == 1 {
        s.gone.notify_one();
    }
}
