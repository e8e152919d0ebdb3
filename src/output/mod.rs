//! Printing a schedule: `summary` for people, `json`, `jsonl` and `csv` for machines.
//! The `jsonl` fields are a contract (see docs/plan-format.md).

pub mod fmt;
mod json;
mod records;
pub mod rows;
mod summary;

use std::io::{self, Write};

use crate::schedule::Schedule;
pub use rows::ClosedPreview;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Summary,
    Json,
    Jsonl,
    Csv,
}

pub fn write_plan(
    out: &mut impl Write,
    s: &Schedule,
    format: PlanFormat,
    preview: ClosedPreview,
) -> io::Result<()> {
    match format {
        PlanFormat::Summary => summary::write(out, s),
        PlanFormat::Json => json::write(out, s, preview),
        PlanFormat::Jsonl => records::write_jsonl(out, s, preview),
        PlanFormat::Csv => records::write_csv(out, s, preview),
    }
}
