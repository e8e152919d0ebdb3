//! What a metric group is: one step of one measured phase, with every figure the analysis gives
//! it — [`Group`] and its parts (counts, tokens, prompt, connections, back-off), the [`Load`] it
//! ran at, and the kinds a failed request is counted under. Types only, in the shape of
//! docs/analysis.schema.json: which rows a group holds is `windows.rs`, its figures `compute.rs`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::client::ClientLoad;
use super::series::Diagnostics;
use super::server::ServerSide;
use super::sessions::Sessions;
use crate::analysis::load::{ErrorKind, Status};
pub use crate::analysis::window::Window;
use crate::stats::Stats;

/// Reads one metric of a group (for tables, comparisons and charts).
pub type Read = fn(&Group) -> Option<f64>;

/// The load a group ran at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Load {
    Concurrency(f64),
    Rate(f64),
}

impl Load {
    pub fn value(self) -> f64 {
        match self {
            Load::Concurrency(v) | Load::Rate(v) => v,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub ok: usize,
    pub error: usize,
    pub timeout: usize,
    pub dropped: usize,
    pub cancelled: usize,
    /// The requests that did not end `ok`, by what went wrong (the `error_kind` names;
    /// `unclassified` for an `error` row of a run written before the column).
    pub by_kind: BTreeMap<&'static str, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub phase: String,
    pub step: u32,
    pub load: Load,
    pub requests: Counts,
    pub ttft_ms: Stats,
    pub ttft_sched_ms: Stats,
    pub itl_ms: Stats,
    pub itl_llmperf_ms: Stats,
    pub chunk_gap_ms: Stats,
    pub e2e_ms: Stats,
    pub tps_user: Stats,
    pub send_lag_ms: Stats,
    /// Output tokens per second over the group's span (null with no completed request).
    pub tps: Option<f64>,
    /// Its 95 % confidence interval, by batch means over 10 windows of the span (null with
    /// fewer than 20 completed requests).
    pub tps_ci95: Option<[f64; 2]>,
    /// The span tps and rps are computed over: last response − first request, in seconds.
    pub span_s: Option<f64>,
    pub rps: Option<f64>,
    pub error_rate: Option<f64>,
    pub timeout_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    /// Requests per second that met every per-request objective of the workload's `slo`.
    pub goodput: Option<f64>,
    /// The group's window in the run, and the part that was measured after warm-up/cool-down.
    pub window: Window,
    pub measured: Window,
    pub excluded: Excluded,
    /// From the moment the in-flight level first reaches 90 % of its median to the last (null
    /// with too few requests, or with `no_steady_state`).
    pub steady_state: Option<Window>,
    /// Why the group never settled, when its throughput still drifts: the trend of its ten
    /// batch-window rates is significant and over 10 % (`docs/metrics.md`).
    pub no_steady_state: Option<String>,
    /// How busy the client was during the group (its self-watch), and whether that may have
    /// distorted the latencies; null for runs from before the self-watch.
    pub client: Option<ClientLoad>,
    pub diagnostics: Diagnostics,
    /// Time to the first answer token (reasoning models think first), over requests that got one.
    pub ttfo_ms: Stats,
    /// Output tokens of completed requests, split into reasoning and answer.
    pub tokens: Tokens,
    /// Prompt tokens of completed requests and the share the server served from its prefix cache.
    pub prompt: Prompt,
    /// How requests reached the server (docs/servers.md), and what opening connections took.
    pub connections: Connections,
    /// Time closed-loop users spent backing off after failures.
    pub backoff: Backoff,
    /// The server's own metrics over the group's window, when they were scraped.
    pub server: Option<ServerSide>,
    /// Conversations: started, completed, turns, duration, and latency and cache by turn
    /// (null for a group without sessions).
    pub sessions: Option<Sessions>,
    /// Embeddings requests: latency, inputs and input tokens per second (null for a group
    /// without any; they have no TTFT, ITL or output).
    pub embeddings: Option<Embeddings>,
}

/// The completed embeddings requests of a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embeddings {
    pub requests: usize,
    /// Inputs embedded, and their tokens (the server's `prompt_tokens`, else the planned ones).
    pub inputs: i64,
    pub input_tokens: i64,
    /// Send to the whole answer (ms).
    pub latency_ms: Stats,
    /// Over the group's span (null without one).
    pub inputs_per_s: Option<f64>,
    pub input_tokens_per_s: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tokens {
    pub output: i64,
    pub reasoning: i64,
    pub answer: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prompt {
    /// Sums over completed requests that reported both `prompt_tokens` and `cached_tokens`.
    pub prompt_tokens: i64,
    pub cached_tokens: i64,
    /// `cached_tokens / prompt_tokens` (null when the server reported no cached counts).
    pub cache_hit_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connections {
    /// Requests sent on a pooled connection, and those sent again on a fresh one because the
    /// server had closed the pooled one unread.
    pub reused: usize,
    pub resent: usize,
    /// Requests that opened a connection of their own, and their share of the group's sent
    /// requests (null when none was sent, or for runs from before connection set-up was timed).
    pub opened: usize,
    pub opened_share: Option<f64>,
    /// Connection set-up of those requests (ms): the name look-up and TCP connect plus the TLS
    /// handshake; and the handshake alone (https only). Not part of TTFT or e2e latency.
    pub setup_ms: Stats,
    pub tls_ms: Stats,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            reused: 0,
            resent: 0,
            opened: 0,
            opened_share: None,
            setup_ms: Stats::empty(),
            tls_ms: Stats::empty(),
        }
    }
}

/// Pauses closed-loop users took after failed requests (`on_error { backoff }`, `Retry-After`):
/// while a user pauses it sends nothing, so the load was lower than the workload wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Backoff {
    /// Failed requests after which a user paused.
    pub pauses: usize,
    /// The pauses added up over users (user-seconds), and the longest (s).
    pub total_s: f64,
    pub max_s: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Excluded {
    pub warmup: usize,
    pub cooldown: usize,
}

/// What an `error` row of a run written before the `error_kind` column is counted under.
pub const UNCLASSIFIED: &str = "unclassified";

/// Every kind a failed request is counted under, in the order docs/runs.md lists them.
pub fn failure_kinds() -> impl Iterator<Item = &'static str> {
    ErrorKind::ALL
        .into_iter()
        .map(ErrorKind::as_str)
        .chain([UNCLASSIFIED])
}

/// The kind a failed row is counted under: its `error_kind`, or for a run written before that
/// column, the one its status implies.
pub(crate) fn failure_kind(status: Status, kind: Option<ErrorKind>) -> Option<&'static str> {
    match (status, kind) {
        (Status::Ok, _) => None,
        (_, Some(k)) => Some(k.as_str()),
        (Status::Timeout, None) => Some(ErrorKind::Timeout.as_str()),
        (Status::Dropped, None) => Some(ErrorKind::Dropped.as_str()),
        (Status::Cancelled, None) => Some(ErrorKind::Cancelled.as_str()),
        (Status::Error, None) => Some(UNCLASSIFIED),
    }
}
