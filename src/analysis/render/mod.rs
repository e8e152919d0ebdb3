//! Rendering: analyses → text, CSV and an HTML report (JSON is the analyses serialized). Nothing here
//! measures (every number comes from `measure/`) or reads a run (that is `load/`).
//!
//! - `cells.rs` — how a number, a share and a load are written; aligned tables (a leaf).
//! - `tables.rs` — the detail tables (servers, connections, failures, sessions, intervals,
//!   searches) as cells, for text and the report alike.
//! - `slices.rs` — the run by class, by model and by target, as cells (the API beside each).
//! - `text.rs` — `--format text`: the terminal's tables and notes, one run or a comparison.
//! - `csv.rs` — `--format csv` and `turns-csv`.
//! - `svg.rs` — a small SVG chart (a leaf; only the report draws).
//! - `report/` — `llmw report`, the HTML page (its own map in `report/mod.rs`).
//!
//! Order, leaves first: cells, svg → tables, slices → text → report; csv uses only `measure/`.

pub mod cells;
pub mod csv;
pub mod report;
pub mod slices;
mod svg;
pub mod tables;
pub mod text;
