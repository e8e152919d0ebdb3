//! Conversations: a session's turns one after another, each sent when the previous turn's
//! answers are all complete plus its think time (a replayed session's turn: at its recorded
//! offset or then, whichever is later), never before. A turn's `fanout` branches go out
//! together on the same context. A conversation ends at its last turn, at its first turn that
//! did not succeed (the user gives up), or when its phase ends: a turn that fell due when the
//! phase's `requests` limit had none left is recorded `cancelled`; a turn not yet due when the
//! phase ends is not sent and not recorded.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::engine::drive::context::Ctx;
use crate::engine::request::Turn;
use crate::prompt::Reply;
use crate::schedule::{History, PlannedRequest};

/// What a phase tells its conversations: whether it has ended, the limits their turns obey,
/// and how many are still running.
pub struct Gate {
    ended: watch::Sender<bool>,
    /// Open loop: a turn that finds this many requests outstanding is dropped.
    pub max_in_flight: Option<u64>,
    /// Closed loop: the phase's `requests` limit, counted over all users.
    limit: Option<u64>,
    sent: AtomicU64,
    /// Signalled when the `requests` limit has been reached.
    pub limit_reached: Notify,
    /// Set once the last request of the `requests` limit was claimed.
    spent: watch::Sender<bool>,
    running: AtomicUsize,
    idle: Notify,
}

impl Gate {
    pub fn new(max_in_flight: Option<u64>, limit: Option<u64>) -> Gate {
        Gate {
            ended: watch::channel(false).0,
            max_in_flight,
            limit,
            sent: AtomicU64::new(0),
            limit_reached: Notify::new(),
            spent: watch::channel(false).0,
            running: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// The phase is over: conversations send no further turn.
    pub fn end(&self) {
        self.ended.send_replace(true);
    }

    pub fn ended(&self) -> bool {
        *self.ended.borrow()
    }

    /// Takes one request of the phase's `requests` limit; false (and the limit signalled) once
    /// it is used up.
    pub fn claim(&self) -> bool {
        let Some(max) = self.limit else {
            return true;
        };
        let got = self
            .sent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |sent| {
                (sent < max).then_some(sent + 1)
            });
        match got {
            Ok(before) => {
                if before + 1 == max {
                    self.spent.send_replace(true);
                }
                true
            }
            Err(_) => {
                self.limit_reached.notify_one();
                false
            }
        }
    }

    /// Resolves once the `requests` limit is used up (never without a limit).
    pub async fn until_spent(&self) {
        let mut spent = self.spent.subscribe();
        crate::engine::record::stop::until_set(&mut spent).await;
    }

    /// No conversation of the phase is running.
    pub fn idle(&self) -> bool {
        self.running.load(Ordering::SeqCst) == 0
    }

    /// Waits until no conversation of the phase is running.
    pub async fn all_done(&self) {
        loop {
            let notified = self.idle.notified();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }
}

/// Counts a conversation as running while alive (made before its task is spawned, so the
/// phase never sees zero running between a spawn and the task's start).
pub struct Running(Arc<Gate>);

impl Running {
    pub fn new(gate: &Arc<Gate>) -> Running {
        gate.running.fetch_add(1, Ordering::SeqCst);
        Running(gate.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Where the run's clock places the plan's offsets: a phase that really started at `start_ns`
/// was planned to start at `planned_ns` (open loop; closed loop has no planned times).
#[derive(Clone, Copy)]
pub struct Timing {
    pub start_ns: u64,
    pub planned_ns: u64,
    pub open: bool,
}

impl Timing {
    fn at(&self, planned: u64) -> u64 {
        self.start_ns + planned.saturating_sub(self.planned_ns)
    }
}

/// Runs one conversation: `requests` are its requests in plan order (turn by turn, branches in
/// order). `first_at` is turn 0's send time on the run's clock (open loop: the dispatcher has
/// committed to it, so it goes out even if the phase ends meanwhile, like any arrival). A
/// closed-loop caller has claimed turn 0's first request of the `requests` limit.
pub async fn run(
    ctx: Arc<Ctx>,
    gate: Arc<Gate>,
    requests: Vec<PlannedRequest>,
    timing: Timing,
    first_at: Option<u64>,
    running: Running,
    pacer: Option<&crate::engine::drive::pace::Pacer>,
) -> Option<std::time::Duration> {
    let _running = running;
    // The run does not finish while a conversation may still send.
    let _held = ctx.hold();
    let head = requests.first().copied()?;
    let class = ctx.schedule.phases[head.phase as usize]
        .classes
        .iter()
        .find(|c| c.id == head.class)
        .and_then(|c| c.session.as_ref());
    let live = class.is_some_and(|s| s.history == History::Live);
    let max_context = class.and_then(|s| s.max_context);
    let mut replies: Vec<Reply> = Vec::new();
    let mut previous_done: Option<u64> = None;
    let mut i = 0;
    while i < requests.len() {
        let turn = requests[i].session.map_or(0, |t| t.turn);
        let end = requests[i..]
            .iter()
            .position(|r| r.session.map_or(0, |t| t.turn) != turn)
            .map_or(requests.len(), |n| i + n);
        let branches = &requests[i..end];
        let first = branches[0];
        let later = previous_done.is_some();
        // When the turn is due on the run's clock.
        let due = match previous_done {
            None => first_at.unwrap_or_else(|| ctx.clock.now()),
            Some(done) => {
                let after = done + first.think_ns.unwrap_or(0);
                match (first.at_ns, timing.open) {
                    (Some(at), true) => timing.at(at).max(after),
                    _ => after,
                }
            }
        };
        if later && !wait_until(&ctx, &gate, due).await {
            return None; // the phase ended (or the run stopped) before the turn was due
        }
        let scheduled = match (first.at_ns, timing.open) {
            (Some(at), true) => Some(timing.at(at)),
            (None, true) => Some(due),
            _ => None,
        };
        // The prompts first (a long conversation's take a while), then the last look at the
        // phase, so that nothing goes out after it ended.
        let prompts: Vec<(crate::prompt::Prompt, u32)> = (i..end)
            .map(|k| {
                let live = live.then_some((&replies[..], max_context));
                crate::prompt::conversation(&ctx.schedule, &requests, k, live)
            })
            .collect();
        if later && (gate.ended() || ctx.stopped()) {
            return None;
        }
        // The turn paces its user as one outcome, whichever branch fails.
        let turn_pace = pacer.map(crate::engine::drive::pace::TurnPace::new);
        let mut sends = Vec::with_capacity(branches.len());
        let mut lost = false;
        for (b, (r, (prompt, input_tokens))) in branches.iter().zip(prompts).enumerate() {
            // Turn 0's first request was claimed by whoever started the conversation.
            if (later || b > 0) && !gate.claim() {
                for r in &branches[b..] {
                    ctx.cancel_turn(
                        r,
                        scheduled,
                        "the phase's requests limit was reached mid-session",
                    );
                }
                lost = true;
                break;
            }
            if let Some(cap) = gate.max_in_flight {
                if ctx.live.in_flight.load(Ordering::Relaxed) >= cap {
                    ctx.drop_arrival(r, scheduled.unwrap_or(due), cap);
                    lost = true;
                    continue;
                }
            }
            let capture = live && r.session.is_some_and(|t| t.branch == 0);
            ctx.begin();
            let turn = Turn {
                prompt,
                input_tokens,
                capture,
            };
            let pace = turn_pace.as_ref().map(|t| t.branch());
            sends.push(ctx.fire(*r, scheduled, Some(turn), pace));
        }
        if let (Some(at), false) = (scheduled, later) {
            ctx.clock.spin_until(at);
        }
        let fired = futures_util::future::join_all(sends).await;
        if lost || fired.is_empty() || fired.iter().any(|f| !f.ok) {
            return fired.iter().find_map(|f| f.pause);
        }
        previous_done = fired.iter().map(|f| f.done_ns).max();
        if live {
            let reply = fired.into_iter().next().and_then(|f| f.reply);
            replies.push(reply.unwrap_or_default());
        }
        i = end;
    }
    None
}

/// Sleeps until run time `ns`; false if the phase ended or the run stopped first.
pub(super) async fn wait_until(ctx: &Ctx, gate: &Gate, ns: u64) -> bool {
    let mut stop = ctx.stop.clone();
    let mut ended = gate.ended.subscribe();
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.clock.instant(ns).into()) => !ctx.stopped() && !gate.ended(),
        _ = crate::engine::record::stop::until_set(&mut stop) => false,
        _ = crate::engine::record::stop::until_set(&mut ended) => false,
    }
}
