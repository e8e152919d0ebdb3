//! File-backed request shapes, from what the resolve stage loaded: `empirical(...)` columns
//! become plain value lists, `sample = trace(...)` rows (input, output) pairs and `dataset(...)`
//! prompts entries of the plan's prompt table. Nothing here reads a file.

use super::compile::CompileError;
use crate::resolve::Files;
use crate::workload::{Dist, FileRef, TraceRef};

/// A reference the resolve stage did not load: a bug, said as one rather than a panic.
fn unresolved(phase: &str, what: &str) -> CompileError {
    CompileError::Trace {
        phase: phase.to_string(),
        message: format!("llmw bug: {what} was not resolved before compiling"),
    }
}

/// `dist` with every `empirical(...)` replaced by the column's values.
pub fn values(dist: &Dist, files: &Files, phase: &str) -> Result<Dist, CompileError> {
    Ok(match dist {
        Dist::Empirical { path, column } => Dist::Values(
            files
                .column(path, column)
                .ok_or_else(|| unresolved(phase, "an empirical column"))?
                .to_vec(),
        ),
        Dist::Mix { weights, parts } => Dist::Mix {
            weights: weights.clone(),
            parts: parts
                .iter()
                .map(|p| values(p, files, phase))
                .collect::<Result<_, _>>()?,
        },
        Dist::Clamp { inner, lo, hi } => Dist::Clamp {
            inner: Box::new(values(inner, files, phase)?),
            lo: *lo,
            hi: *hi,
        },
        other => other.clone(),
    })
}

/// The rows of the trace a `trace(...)` call names.
pub fn trace<'f>(
    tr: &TraceRef,
    files: &'f Files,
    phase: &str,
) -> Result<&'f crate::trace::Trace, CompileError> {
    files.trace(tr).ok_or_else(|| unresolved(phase, "a trace"))
}

/// The (input, output) pairs of a trace's rows; failed rows (0 output tokens) are left out.
pub fn samples(tr: &TraceRef, files: &Files, phase: &str) -> Result<Vec<(u32, u32)>, CompileError> {
    Ok(trace(tr, files, phase)?
        .rows
        .iter()
        .filter(|r| !r.failed)
        .map(|r| (r.input.max(1), r.output.max(1)))
        .collect())
}

/// A dataset's prompts, appended to the plan's `prompts`; returns (index, tokens) for each.
pub fn dataset(
    path: &FileRef,
    tokenizer: Option<&FileRef>,
    files: &Files,
    phase: &str,
    prompts: &mut Vec<serde_json::Value>,
) -> Result<Vec<(u32, u32)>, CompileError> {
    let list = files
        .dataset(path, tokenizer)
        .ok_or_else(|| unresolved(phase, "a dataset"))?;
    Ok(list
        .iter()
        .map(|p| {
            prompts.push(p.value.clone());
            ((prompts.len() - 1) as u32, p.tokens)
        })
        .collect())
}
