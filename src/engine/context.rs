//! What every request task shares: the plan, the sender, the clock, the counters, the trace
//! writer, the stop signal and the tracker of outstanding requests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use tokio::sync::{watch, Notify};

use super::clock::Clock;
use super::record::{RequestRow, Status};
use super::request::Sender;
use super::stats::Live;
use super::writer::Msg;
use crate::schedule::{PlannedRequest, Schedule};

pub struct Ctx {
    pub schedule: Arc<Schedule>,
    pub sender: Sender,
    pub clock: Clock,
    pub live: Arc<Live>,
    pub writer: mpsc::SyncSender<Msg>,
    pub stop: watch::Receiver<bool>,
    pub stop_flag: Arc<AtomicBool>,
    outstanding: AtomicU64,
    drained: Notify,
}

impl Ctx {
    pub fn new(
        schedule: Arc<Schedule>,
        sender: Sender,
        clock: Clock,
        writer: mpsc::SyncSender<Msg>,
        stop: watch::Receiver<bool>,
        stop_flag: Arc<AtomicBool>,
    ) -> Ctx {
        Ctx {
            schedule,
            sender,
            clock,
            live: Arc::new(Live::default()),
            writer,
            stop,
            stop_flag,
            outstanding: AtomicU64::new(0),
            drained: Notify::new(),
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop_flag.load(Ordering::Relaxed)
    }

    /// Counts a request as outstanding; call before spawning it.
    pub fn begin(&self) {
        self.outstanding.fetch_add(1, Ordering::SeqCst);
        self.live.in_flight.fetch_add(1, Ordering::Relaxed);
        self.live.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `r` (already counted by [`Ctx::begin`]) and records its row.
    pub async fn fire(&self, r: PlannedRequest, scheduled_ns: Option<u64>) {
        let (row, chunks) = self
            .sender
            .execute(&r, scheduled_ns, &self.clock, self.stop.clone())
            .await;
        self.live.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.finish(row, chunks);
        if self.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.drained.notify_waiters();
        }
    }

    /// An arrival that found `max_in_flight` requests outstanding.
    pub fn drop_arrival(&self, r: &PlannedRequest, scheduled_ns: u64, cap: u64) {
        let now = self.clock.now();
        let mut row =
            RequestRow::unsent(r, Status::Dropped, format!("max_in_flight ({cap}) reached"));
        row.scheduled_ns = Some(scheduled_ns);
        row.sent_ns = now;
        row.done_ns = now;
        self.finish(row, Vec::new());
    }

    fn finish(&self, row: RequestRow, chunks: Vec<super::record::ChunkRow>) {
        self.live.record(&row);
        // The writer only goes away at the very end; a send error there has nothing to save.
        match self.writer.try_send(Msg::Request(row, chunks)) {
            Ok(()) | Err(mpsc::TrySendError::Disconnected(_)) => {}
            // The writer is behind: wait for room. On a runtime worker, tell tokio first so it
            // moves other tasks off this thread (the dispatcher thread just waits).
            Err(mpsc::TrySendError::Full(msg)) => {
                if tokio::runtime::Handle::try_current().is_ok() {
                    tokio::task::block_in_place(|| {
                        let _ = self.writer.send(msg);
                    });
                } else {
                    let _ = self.writer.send(msg);
                }
            }
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
