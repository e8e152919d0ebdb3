//! What a caller gives a run, what it gets back, and why a run could not be made.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::drive::search::Levels;
use crate::engine::record::run_dir::{Ending, Provenance};
use crate::engine::record::scrape::Metrics;
use crate::engine::record::stop::Stopper;
pub use crate::engine::record::warn::Warn;

pub struct RunOptions {
    /// The run directory; default `runs/<workload>-<UTC time>`.
    pub out: Option<PathBuf>,
    /// The servers' base URLs (`http://host:8000`, a trailing `/v1` is fine), at least one;
    /// with several, the workload's `spread` says which request goes where. The caller starts
    /// the simulator when there is no real server.
    pub targets: Vec<String>,
    pub api_key: Option<String>,
    /// The key of `api = messages` requests when it differs from `api_key` (the CLI reads
    /// `ANTHROPIC_API_KEY`); `None`: they carry `api_key`.
    pub anthropic_key: Option<String>,
    /// The values of the workload's `header_env` headers, read from the environment by the
    /// caller: (header, value). Sent with every request, never written (errors that echo
    /// them are redacted).
    pub secret_headers: Vec<(String, String)>,
    /// `--ca-cert`: a PEM file of certificates trusted for https besides the Mozilla roots.
    pub ca_cert: Option<PathBuf>,
    /// Draw the live progress line on stderr.
    pub progress: bool,
    /// The run's sources, overrides and simulator, for `run.json`.
    pub provenance: Provenance,
    /// Where the server's Prometheus metrics are scraped from, or not at all.
    pub metrics: Metrics,
    /// Stops the run early when told (the CLI wires signals to it; tests may too).
    pub stopper: Arc<Stopper>,
    /// `--start-at`: time 0 is this wall-clock instant (the run waits for it, or starts late).
    pub start_at: Option<std::time::SystemTime>,
    /// Measures a searched phase's probes while the run goes (the CLI passes the analysis').
    pub judge: Option<Arc<dyn crate::rundir::probe::Judge>>,
    /// `--levels-from`: run the searched phases at an earlier run's levels, without searching.
    pub levels: Option<Levels>,
    /// Where the run's warnings go (`None`: nowhere).
    pub warn: Option<Warn>,
}

pub struct RunResult {
    pub dir: PathBuf,
    pub ending: Ending,
    pub error: Option<String>,
}

/// Why a run could not be made (a run that started and then failed is a [`RunResult`] with
/// `Ending::Failed` and its files).
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The plan cannot run as asked (a search without a judge, a sharded search).
    Plan(String),
    /// The target URL, the TLS trust or the metrics URL is not usable.
    Target(String),
    /// The workload names no model and the server did not say one.
    Model(String),
    /// The run directory could not be made or written.
    RunDir(String),
    /// The trace files could not be created.
    Writer(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Plan(m)
            | RunError::Target(m)
            | RunError::Model(m)
            | RunError::RunDir(m)
            | RunError::Writer(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}
