//! Printing a schedule: `summary` for people, `json`, `jsonl` and `csv` for machines.
//! The `jsonl` fields are a contract (see docs/plan-format.md).

pub mod diff;
mod json;
mod records;
pub mod rows;
mod summary;

use std::io::{self, Write};

use crate::schedule::Schedule;
pub use rows::ClosedPreview;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    write_plan_with(out, s, format, preview, false)
}

/// As [`write_plan`]; with `with_prompts`, `jsonl` rows also carry each request's `prompt` (the
/// text, or a dataset's `messages`), exactly what will be sent.
pub fn write_plan_with(
    out: &mut impl Write,
    s: &Schedule,
    format: PlanFormat,
    preview: ClosedPreview,
    with_prompts: bool,
) -> io::Result<()> {
    if with_prompts && format == PlanFormat::Jsonl {
        return records::write_jsonl_with_prompts(out, s, preview);
    }
    match format {
        PlanFormat::Summary => summary::write(out, s),
        PlanFormat::Json => json::write(out, s, preview),
        PlanFormat::Jsonl => records::write_jsonl(out, s, preview),
        PlanFormat::Csv => records::write_csv(out, s, preview),
    }
}
