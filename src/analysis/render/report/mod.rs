//! `llmw report`: one self-contained HTML page (inline SVG, no scripts, no network), drawn from
//! analyses alone. Each file writes one kind of section; none measures anything.
//!
//! - `page.rs` — the page ([`html`]): the head, the runs' lines, the sections in order.
//! - `html.rs` — escaping, the style sheet, an HTML table of cells (a leaf).
//! - `summary.rs` — one run's summary: its tables, saturation point, SLO verdicts.
//! - `by_load.rs` — the charts against load and the latency–throughput curve, over every run.
//! - `search.rs` — a searched phase: its probes, brackets and holds.
//! - `runs.rs` — one run's distributions, diagnostics, time series and figures by turn.
//!
//! Every section uses `html.rs` and the shared `render/` pieces (cells, tables, svg); `page.rs`
//! uses the sections; no section uses another.

mod by_load;
mod html;
mod page;
mod runs;
mod search;
mod summary;

pub use page::html;
