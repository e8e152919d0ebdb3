//! Every second while the run goes: `run.json` says how far the run got (so a killed run
//! still tells), and a failed writer (a full disk) stops the run.

use std::sync::{Arc, Mutex};

use crate::engine::record::run_dir::Ending;
use crate::engine::record::run_record::{RunRecord, Standing};
use crate::engine::record::stop::Stopper;
use crate::engine::record::writer::{self, Counters};
use crate::engine::wire::clock::rfc3339;
use crate::rundir::manifest::Counts;

/// What the heartbeat reads.
pub struct Heartbeat {
    pub record: Arc<RunRecord>,
    pub counters: Arc<Counters>,
    pub failed: Arc<Mutex<Option<String>>>,
    pub stopper: Arc<Stopper>,
}

pub async fn run(h: Heartbeat) {
    let mut tick = tokio::time::interval(writer::PART_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(e) = h.failed.lock().ok().and_then(|f| f.clone()) {
            h.stopper.stop(Ending::Failed, e);
        }
        let w = h.counters.snapshot();
        let standing = Standing {
            counts: Some(Counts {
                requests: w.requests,
                chunks: w.chunks,
                server_metrics: w.metrics,
                updated_at: Some(rfc3339(std::time::SystemTime::now())),
            }),
            ..Standing::RUNNING
        };
        // A failed rewrite leaves the last good run.json; the next tick tries again.
        let _ = h.record.write(&standing);
    }
}
