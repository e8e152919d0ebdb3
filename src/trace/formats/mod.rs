//! Reading trace files. Each format names its columns: Azure (`TIMESTAMP,ContextTokens,
//! GeneratedTokens`, CRLF, datetimes), BurstGPT (columns by name; relative seconds), Mooncake
//! (JSONL with `hash_ids`), generic CSV/JSONL (a column mapping and a time unit) and llmw's own
//! `requests.parquet`. A malformed row is an error naming file, line and field, or is skipped
//! and counted with `skip_bad_rows`.
//!
//! | file | owns |
//! | --- | --- |
//! | `mod.rs` | [`Format`], [`ReadOptions`] and [`read`], which hands a file to its reader |
//! | `reader.rs` | the rows kept, bad rows skipped or failed on, conversations numbered, the column mapping |
//! | `cells.rs` | one cell read: a token length, a turn number; a file's text (leaf) |
//! | `csv_rows.rs` | Azure, BurstGPT and generic CSV traces |
//! | `jsonl_rows.rs` | Mooncake and generic JSONL traces |
//! | `llmw_run.rs` | an earlier llmw run's requests table |
//! | `column.rs` | [`column_values`]: one numeric column, for `empirical(...)` |

use std::path::Path;

use crate::trace::time::TimeUnit;
use crate::trace::{Trace, TraceError};

mod cells;
mod column;
mod csv_rows;
mod jsonl_rows;
mod llmw_run;
mod reader;

pub use column::column_values;

use cells::text;
use csv_rows::read_csv;
use jsonl_rows::read_jsonl;
use llmw_run::read_llmw;
use reader::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Azure,
    Burstgpt,
    Mooncake,
    Csv,
    Jsonl,
    Llmw,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Azure,
        Format::Burstgpt,
        Format::Mooncake,
        Format::Csv,
        Format::Jsonl,
        Format::Llmw,
    ];
    /// The names the language and the CLI use, in [`Format::ALL`] order.
    pub const NAMES: [&'static str; 6] = ["azure", "burstgpt", "mooncake", "csv", "jsonl", "llmw"];

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    pub fn name(self) -> &'static str {
        Format::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Generic formats: `at`, `input`, `output` → column names.
    pub columns: Vec<(String, String)>,
    /// Generic formats: the unit of numeric times (`ns`, `us`, `ms`, `s`; default `s`).
    pub time_unit: Option<TimeUnit>,
    pub skip_bad_rows: bool,
}

/// Reads the trace at `path` (for `llmw`, a run directory or its `requests.parquet`).
pub fn read(path: &Path, format: Format, opts: &ReadOptions) -> Result<Trace, TraceError> {
    let mut r = Reader {
        path,
        opts,
        trace: Trace::default(),
        sessions: std::collections::BTreeMap::new(),
    };
    if format == Format::Llmw {
        return read_llmw(path);
    }
    let bytes = std::fs::read(path).map_err(|e| r.file_error(format!("cannot read: {e}")))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(r.file_error("the file is empty"));
    }
    let text = text(&bytes, path)?;
    match format {
        Format::Azure | Format::Burstgpt | Format::Csv => read_csv(&mut r, &text, format)?,
        _ => read_jsonl(&mut r, &text, format)?,
    }
    if r.trace.rows.is_empty() {
        return Err(r.file_error(if r.trace.skipped > 0 {
            "every row was malformed"
        } else {
            "the file has no rows"
        }));
    }
    Ok(r.trace)
}
