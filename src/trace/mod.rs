//! Captured production traces: reading them (Azure, BurstGPT, Mooncake, generic CSV/JSONL,
//! earlier llmw runs) into [`Trace`] rows, and the transformations a replay needs (window,
//! limit, speed, gap squeezing, rate scaling). The schedule compiler turns a trace into
//! open-loop requests; the engine never sees the difference.

mod formats;
mod stats;
mod time;
mod transform;

pub use formats::{column_values, read, Format, ReadOptions};
pub use stats::{stats, TraceStats};
pub use time::{datetime_ns, TimeUnit};
pub use transform::{transform, Transform};

use std::path::PathBuf;

use thiserror::Error;

/// One request of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Arrival time in nanoseconds on the trace's own clock (absolute or relative).
    pub at_ns: i64,
    pub input: u32,
    pub output: u32,
    /// Mooncake prefix-block ids.
    pub blocks: Vec<u64>,
    /// `llmw` traces: the request's class.
    pub class: Option<String>,
    /// BurstGPT: 0 response tokens (a failed request upstream).
    pub failed: bool,
    /// The conversation the row belongs to (BurstGPT v3's `Session ID`, a generic trace's
    /// `session` column, an llmw run's `session`), numbered in order of first appearance.
    pub session: Option<u64>,
    /// The row's turn in its conversation, when the trace says (otherwise its time orders it).
    pub turn: Option<u32>,
    /// `llmw` traces: the row's branch within its turn (`fanout`); rows of one turn and
    /// conversation are sent together.
    pub branch: Option<u32>,
    /// The model the row names (BurstGPT's `Model`, a generic trace's `model` column): an
    /// index into [`Trace::models`].
    pub model: Option<u32>,
    /// The API the row was sent to (a generic trace's `api` column): an index into
    /// [`API_NAMES`].
    pub api: Option<u8>,
    /// The images the request carried (a generic trace's `images` column).
    pub images: Option<u32>,
    /// 1-based line of the row in its file.
    pub line: u64,
}

impl Row {
    /// A row of one request at `at_ns` with its lengths, of no conversation, class or blocks.
    pub fn new(at_ns: i64, input: u32, output: u32, line: u64) -> Row {
        Row {
            at_ns,
            input,
            output,
            blocks: Vec::new(),
            class: None,
            failed: false,
            session: None,
            turn: None,
            branch: None,
            model: None,
            api: None,
            images: None,
            line,
        }
    }
}

/// A trace as read, in file order.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub rows: Vec<Row>,
    /// Rows skipped because they were malformed (with `--skip-bad-rows`).
    pub skipped: u64,
    /// The first few skipped rows' messages.
    pub skipped_examples: Vec<String>,
    /// The model names rows name, in order of first appearance.
    pub models: Vec<String>,
}

impl Trace {
    /// The number of model `name` in [`Trace::models`], added if new.
    pub(crate) fn model_number(&mut self, name: &str) -> u32 {
        match self.models.iter().position(|m| m == name) {
            Some(i) => i as u32,
            None => {
                self.models.push(name.to_string());
                (self.models.len() - 1) as u32
            }
        }
    }
}

/// The APIs a trace's `api` column may name, in the language's order (`api = ...`).
pub const API_NAMES: [&str; 5] = ["chat", "completions", "responses", "messages", "embeddings"];

#[derive(Debug, Error, PartialEq)]
pub enum TraceError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("{}:{line}: {field}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        field: String,
        message: String,
    },
}

/// Largest token length accepted from a trace (anything above is a broken row): the same limit
/// as a length in the language.
pub const MAX_TOKENS: u64 = crate::limits::MAX_LENGTH as u64;
