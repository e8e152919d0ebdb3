//! Offline analysis: a run directory → [`Analysis`] (metrics per phase and step, saturation,
//! SLO verdicts, diagnostics, time series), computed from the Parquet files alone, and its
//! renderings. Three layers, each using only those before it:
//!
//! - `load/` — the run directory (or a plan's shard directories) → a [`Run`]. Reads files;
//!   measures nothing.
//! - `measure/` — a [`Run`] → an [`Analysis`]: groups, windows, series, sessions, the server's
//!   and client's view, saturation, searches, SLOs, comparisons. Reads no file, writes no text.
//! - `render/` — analyses → text, CSV and the HTML report. Computes no metric.
//!
//! And the leaves every layer shares, which use none of them: `error.rs` ([`AnalysisError`]),
//! `options.rs` ([`Options`]: warm-up, cool-down, partial shards), `window.rs` (the time
//! window every measure lines up by). This file only re-exports: the paths the crate, the
//! binary and the tests use (`analysis::load`, `analysis::text`, `analysis::groups::Load`, …).

pub mod error;
pub mod load;
pub mod measure;
pub mod options;
pub mod render;
pub mod window;

pub use error::AnalysisError;
pub use load::{chunks, load, shards, Run};
pub use measure::{
    analyze, analyze_dirs, client, compare, groups, saturation, search, series, server, sessions,
    slo, Analysis, Comparison, Group,
};
pub use options::Options;
pub use render::{cells, csv, report, tables, text};
