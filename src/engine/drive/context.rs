//! What every request task shares: the plan, the sender, the clock, the counters, the trace
//! writer, the stop signal and the tracker of outstanding requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use futures_util::FutureExt;
use tokio::sync::{watch, Notify};

use crate::engine::drive::abort::Monitor;
use crate::engine::drive::pace::TurnPace;
use crate::engine::record::run_dir::Ending;
use crate::engine::record::stats::Live;
use crate::engine::record::stop::Stopper;
use crate::engine::record::writer::{Msg, STALL};
use crate::engine::request::{Done, Sender, Turn};
use crate::engine::wire::clock::Clock;
use crate::rundir::record::{ErrorKind, RequestRow, Status};
use crate::schedule::{PlannedRequest, Schedule};

pub struct Ctx {
    pub schedule: Arc<Schedule>,
    pub sender: Sender,
    pub clock: Clock,
    pub live: Arc<Live>,
    pub writer: mpsc::SyncSender<Msg>,
    pub stop: watch::Receiver<bool>,
    pub stopper: Arc<Stopper>,
    abort: Monitor,
    /// Set once the writer has been found stalled: later rows are not waited for.
    stalled: std::sync::atomic::AtomicBool,
    outstanding: AtomicU64,
    drained: Notify,
    /// While a search's probe runs, a copy of every request row it records (for its judge).
    collecting: AtomicBool,
    probe_rows: Mutex<Vec<RequestRow>>,
    /// Bumped to cut the requests in flight (a search's overrun probe): each request watches
    /// it from its send, so those sent later are not cut.
    cut: watch::Sender<u64>,
}

impl Ctx {
    pub fn new(
        schedule: Arc<Schedule>,
        sender: Sender,
        clock: Clock,
        writer: mpsc::SyncSender<Msg>,
        stopper: Arc<Stopper>,
    ) -> Ctx {
        Ctx {
            abort: Monitor::new(schedule.abort.clone()),
            schedule,
            sender,
            clock,
            live: Arc::new(Live::default()),
            writer,
            stop: stopper.subscribe(),
            stopper,
            stalled: std::sync::atomic::AtomicBool::new(false),
            outstanding: AtomicU64::new(0),
            drained: Notify::new(),
            collecting: AtomicBool::new(false),
            probe_rows: Mutex::new(Vec::new()),
            cut: watch::Sender::new(0),
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopper.stopped()
    }

    /// Counts a request as outstanding; call before spawning it.
    pub fn begin(&self) {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        self.live.in_flight.fetch_add(1, Ordering::Relaxed);
        self.live.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `r` (already counted by [`Ctx::begin`]) and records its row; `turn` gives a
    /// conversation's prompt. Returns how it ended.
    /// A closed-loop user passes its `pacer`: a failure then sets the pause before its next
    /// request, recorded on the row and returned.
    pub async fn fire(
        &self,
        r: PlannedRequest,
        scheduled_ns: Option<u64>,
        turn: Option<Turn>,
        pacer: Option<&TurnPace<'_>>,
    ) -> Fired {
        // However this ends (a panic included), the request stops being outstanding.
        let _counted = Outstanding {
            ctx: self,
            request: true,
        };
        let sent = self.clock.now();
        let exchange = self.sender.execute(
            &r,
            scheduled_ns,
            &self.clock,
            self.stop.clone(),
            self.cut.subscribe(),
            turn,
        );
        // A panic here is a bug in llmw; it must still leave a row and end the run, never hang it.
        let done = match std::panic::AssertUnwindSafe(exchange).catch_unwind().await {
            Ok(done) => done,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                let why = format!("llmw bug: the request task panicked ({what})");
                self.stopper.stop(Ending::Failed, why.clone());
                let mut row = self.unsent(&r, Status::Error, ErrorKind::Internal, why);
                row.scheduled_ns = scheduled_ns;
                row.sent_ns = sent;
                row.done_ns = self.clock.now();
                Done {
                    row,
                    chunks: Vec::new(),
                    reply: None,
                    retry_after: None,
                }
            }
        };
        let Done {
            mut row,
            chunks,
            reply,
            retry_after,
        } = done;
        let failed = matches!(row.status, Status::Error | Status::Timeout);
        let pause = pacer.and_then(|p| p.ended(failed, retry_after, r.id));
        row.backoff_ns = pause.map(|d| d.as_nanos() as u64);
        if let Some(why) = self
            .abort
            .record(row.done_ns, row.status, row.error.as_deref())
        {
            self.stopper.stop(Ending::Failed, why);
        }
        let fired = Fired {
            ok: row.status == Status::Ok,
            pause,
            done_ns: row.done_ns,
            // The answer's tokens: what goes back is its text, not the reasoning before it.
            reply: reply.map(|text| crate::prompt::Reply {
                text,
                tokens: row
                    .output_tokens
                    .unwrap_or(0)
                    .saturating_sub(row.reasoning_tokens.unwrap_or(0)),
            }),
        };
        self.finish(row, chunks);
        fired
    }

    /// A turn of a conversation that was due when its phase's `requests` limit stopped it.
    pub fn cancel_turn(&self, r: &PlannedRequest, scheduled_ns: Option<u64>, why: &str) {
        self.record_unsent(
            r,
            (Status::Cancelled, ErrorKind::Cancelled),
            why.to_string(),
            scheduled_ns,
        );
    }

    /// An arrival that found `max_in_flight` requests outstanding.
    pub fn drop_arrival(&self, r: &PlannedRequest, scheduled_ns: u64, cap: u64) {
        let why = format!("max_in_flight ({cap}) reached");
        self.record_unsent(
            r,
            (Status::Dropped, ErrorKind::Dropped),
            why,
            Some(scheduled_ns),
        );
    }

    /// A row for a request that never reached the server, with its plan fields, API and model.
    fn unsent(
        &self,
        r: &PlannedRequest,
        status: Status,
        kind: ErrorKind,
        why: String,
    ) -> RequestRow {
        RequestRow {
            api: Some(self.sender.schedule.api_of(r).as_str()),
            model: Some(self.sender.model_of(r).to_string()),
            target: Some(self.sender.replica(r).url.clone()),
            ..unsent(r, status, kind, why)
        }
    }

    /// The row of a request that never went out, recorded now.
    fn record_unsent(
        &self,
        r: &PlannedRequest,
        (status, kind): (Status, ErrorKind),
        why: String,
        scheduled_ns: Option<u64>,
    ) {
        let now = self.clock.now();
        let mut row = self.unsent(r, status, kind, why);
        row.scheduled_ns = scheduled_ns;
        row.sent_ns = now;
        row.done_ns = now;
        self.finish(row, Vec::new());
    }

    /// From now on, keep a copy of every request row recorded (a probe begins).
    pub fn collect_rows(&self) {
        if let Ok(mut rows) = self.probe_rows.lock() {
            rows.clear();
        }
        self.collecting.store(true, Ordering::SeqCst);
    }

    /// The rows kept since [`Ctx::collect_rows`]; stops keeping them.
    pub fn take_rows(&self) -> Vec<RequestRow> {
        self.collecting.store(false, Ordering::SeqCst);
        self.probe_rows
            .lock()
            .map(|mut rows| std::mem::take(&mut *rows))
            .unwrap_or_default()
    }

    /// Waits until nothing is outstanding, or `limit` has passed; then cuts what is still in
    /// flight (recorded `cancelled`) and waits for it to end. False when something was cut.
    pub async fn drain_within(&self, limit: std::time::Duration) -> bool {
        if tokio::time::timeout(limit, self.drain()).await.is_ok() {
            return true;
        }
        self.cut.send_modify(|epoch| *epoch += 1);
        self.drain().await;
        false
    }

    fn finish(&self, row: RequestRow, chunks: Vec<crate::rundir::record::ChunkRow>) {
        self.live.record(&row);
        if self.collecting.load(Ordering::Relaxed) {
            if let Ok(mut rows) = self.probe_rows.lock() {
                rows.push(row.clone());
            }
        }
        match self.writer.try_send(Msg::Request(row, chunks)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => self.stopper.stop(
                Ending::Failed,
                "the trace writer stopped; the rows written before are readable",
            ),
            // The writer is behind: wait for room, up to STALL. On a runtime worker, tell tokio
            // first so it moves other tasks off this thread (the dispatcher thread just waits).
            Err(mpsc::TrySendError::Full(msg)) => {
                let wait = || self.wait_for_room(msg);
                let multi_thread = tokio::runtime::Handle::try_current().is_ok_and(|h| {
                    h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                });
                if multi_thread {
                    tokio::task::block_in_place(wait);
                } else {
                    wait();
                }
            }
        }
    }

    /// Retries a full queue until [`STALL`]; then the disk counts as stalled and the run stops.
    fn wait_for_room(&self, mut msg: Msg) {
        let since = Instant::now();
        loop {
            if self.stalled.load(Ordering::Relaxed) {
                return;
            }
            match self.writer.try_send(msg) {
                Ok(()) => return,
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    self.stopper
                        .stop(Ending::Failed, "the trace writer stopped");
                    return;
                }
                Err(mpsc::TrySendError::Full(back)) => msg = back,
            }
            if since.elapsed() >= STALL {
                self.stalled.store(true, Ordering::Relaxed);
                self.stopper.stop(
                    Ending::Failed,
                    format!("the trace writer took no row for {STALL:?} (a stalled disk?)"),
                );
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Keeps the run from finishing while held (a conversation between its turns).
    pub fn hold(&self) -> Outstanding<'_> {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        Outstanding {
            ctx: self,
            request: false,
        }
    }

    /// Waits until no request is outstanding.
    pub async fn drain(&self) {
        loop {
            let notified = self.drained.notified();
            if self.outstanding.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// How a fired request ended: what a conversation needs to go on.
pub struct Fired {
    pub ok: bool,
    /// How long the user that sent it now waits (`on_error { backoff }`), when it failed.
    pub pause: Option<std::time::Duration>,
    pub done_ns: u64,
    /// The answer's text and tokens, when the turn asked for it (`history = live`).
    pub reply: Option<crate::prompt::Reply>,
}

/// Marks a request (or a hold) no longer outstanding when dropped (on every way out of
/// [`Ctx::fire`]).
pub struct Outstanding<'a> {
    ctx: &'a Ctx,
    /// A request in flight, not only a hold on the run's end.
    request: bool,
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        let ctx = self.ctx;
        if self.request {
            ctx.live.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if ctx.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            ctx.drained.notify_waiters();
        }
    }
}

/// A row for a request that never reached the server (`Dropped`), with its plan fields.
fn unsent(r: &PlannedRequest, status: Status, kind: ErrorKind, error: String) -> RequestRow {
    RequestRow {
        error_kind: Some(kind),
        phase: r.phase,
        class: r.class,
        input_tokens: r.input_tokens,
        output_tokens_requested: r.output_tokens,
        error: Some(error),
        prefix_group: r.prefix_group,
        session: r.session.map(|t| t.id),
        turn: r.session.map(|t| t.turn),
        branch: r.session.map(|t| t.branch),
        session_turns: r.session.map(|t| t.turns),
        ..RequestRow::bare(r.id, r.step, status, (0, None, None, 0))
    }
}
