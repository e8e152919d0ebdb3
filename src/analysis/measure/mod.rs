//! Measuring: a loaded [`Run`](crate::analysis::load::Run) → an [`Analysis`], the figures
//! docs/metrics.md defines. Nothing here reads a file (that is `load/`) or writes text (that is
//! `render/`).
//!
//! - `analyze.rs` — the entry: [`Analysis`] and [`analyze`], running the measures in order.
//!   No measure uses it; only `compare.rs`, which takes finished analyses.
//! - `groups.rs` — what a group is: [`Group`] and its parts, [`groups::Load`], failure kinds.
//!   Types only; it computes nothing.
//! - `windows.rs` — which rows make each group: the groups of `run.json`, each row's group, the
//!   windows, warm-up and cool-down. Computes no metric.
//! - `compute.rs` — each group's figures from its rows, with what the other measures give it.
//! - `latency.rs` — one request's TTFT and inter-token latency (a leaf).
//! - `scan.rs` — the passes over the chunk table: chunk gaps, positions, tokens per bucket.
//! - `series.rs` — diagnostics, the steady-state window, the time series.
//! - `sessions.rs` — the session view of each group (conversations, by turn).
//! - `server.rs` — the server's own metrics over each group's window.
//! - `client.rs` — the client's self-watch over each group's window.
//! - `slices.rs` — the measured requests pooled across phases and steps: whole (for the SLO)
//!   and by class and by model.
//! - `slo.rs` — the workload's objectives judged over the pooled requests.
//! - `search.rs` — searched phases: probes, brackets, verification holds; the live probe judge.
//! - `saturation.rs` — the saturation point and the operating range.
//! - `compare.rs` — several analyses side by side.
//!
//! Order, leaves first: latency, scan, client, server → series, sessions → groups → windows →
//! compute → slices → slo → search → saturation → analyze → compare. The window type, the options and
//! the error are leaves above this folder (`analysis/window.rs`, `options.rs`, `error.rs`).

mod analyze;
pub mod client;
mod compare;
mod compute;
pub mod groups;
mod latency;
pub mod saturation;
pub mod scan;
pub mod search;
pub mod series;
pub mod server;
pub mod sessions;
pub mod slices;
pub mod slo;
mod windows;

pub use analyze::{analyze, analyze_dirs, Analysis};
pub use compare::{compare, Comparison};
pub use groups::Group;
