//! Signals a run stops on: SIGINT (Ctrl-C), SIGTERM (Kubernetes, systemd, CI timeouts,
//! `timeout(1)`) and SIGHUP (a closed terminal) end it like Ctrl-C: dispatch stops, in-flight
//! requests become `cancelled` rows, the files are closed and `run.json` says `interrupted`.
//! A second signal ends the process at once: every Parquet part already written is whole, and
//! `run.json` (rewritten every second) says how far the run got.

use std::sync::Arc;

use llmw::engine::{Ending, Stopper};
use tokio::signal::unix::{signal, SignalKind};

/// Listens for the process's lifetime.
pub async fn watch(stopper: Arc<Stopper>) {
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        eprintln!("warning: cannot listen for SIGTERM/SIGHUP; only Ctrl-C stops the run cleanly");
        let _ = tokio::signal::ctrl_c().await;
        stopper.stop(Ending::Interrupted, "SIGINT received");
        return;
    };
    let mut seen = 0;
    let mut int_ok = true;
    loop {
        let name = tokio::select! {
            r = tokio::signal::ctrl_c(), if int_ok => if let Ok(()) = r { "SIGINT" } else { int_ok = false; continue; },
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        seen += 1;
        if seen == 1 {
            eprintln!("{name} received: stopping (a second signal ends llmw at once)");
            stopper.stop(Ending::Interrupted, format!("{name} received"));
        } else {
            eprintln!("{name} received again: ending now; the files written so far are whole");
            std::process::exit(i32::from(super::EXIT_FAILED));
        }
    }
}
