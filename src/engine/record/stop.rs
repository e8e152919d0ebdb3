//! Why a run stops before its plan ends, decided once: a signal (the CLI's SIGINT, SIGTERM or
//! SIGHUP), a failure that makes going on pointless (the trace writer failed, a request task
//! panicked), or the workload's abort rule. The first reason wins; every dispatcher and request
//! watches the same flag and channel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::engine::record::run_dir::Ending;

pub struct Stopper {
    flag: AtomicBool,
    tx: watch::Sender<bool>,
    reason: Mutex<Option<(Ending, String)>>,
}

impl Stopper {
    pub fn new() -> Arc<Stopper> {
        Arc::new(Stopper {
            flag: AtomicBool::new(false),
            tx: watch::channel(false).0,
            reason: Mutex::new(None),
        })
    }

    /// Stops the run: `ending` is how it will be recorded (`Interrupted` or `Failed`).
    pub fn stop(&self, ending: Ending, why: impl Into<String>) {
        if let Ok(mut r) = self.reason.lock() {
            if r.is_none() {
                *r = Some((ending, why.into()));
            }
        }
        self.flag.store(true, Ordering::SeqCst);
        self.tx.send_replace(true);
    }

    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// A receiver that turns true when the run stops.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// How and why the run was stopped, if it was.
    pub fn outcome(&self) -> Option<(Ending, String)> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// Resolves once `flag` is true (or its sender is gone). The watch guard is dropped inside, so
/// a `select!` over it keeps the run's future `Send`.
pub async fn until_set(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}
