//! File-backed request shapes, from what the resolve stage loaded: `sample = trace(...)` rows
//! become (input, output) pairs and `dataset(...)` prompts entries of the plan's prompt table.
//! Nothing here reads a file (`empirical(...)` columns were put in place by resolve).

use crate::resolve::Prompt;
use crate::trace::Trace;

/// The (input, output) pairs of a trace's rows; failed rows (0 output tokens) are left out.
pub fn samples(trace: &Trace) -> Vec<(u32, u32)> {
    trace
        .rows
        .iter()
        .filter(|r| !r.failed)
        .map(|r| (r.input.max(1), r.output.max(1)))
        .collect()
}

/// A dataset's prompts, appended to the plan's `prompts`; returns (index, tokens) for each.
pub fn dataset(list: &[Prompt], prompts: &mut Vec<serde_json::Value>) -> Vec<(u32, u32)> {
    list.iter()
        .map(|p| {
            prompts.push(p.value.clone());
            ((prompts.len() - 1) as u32, p.tokens)
        })
        .collect()
}
