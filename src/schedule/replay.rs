//! Trace phases: the trace's rows, transformed, become open-loop requests with the trace's
//! send times and lengths (the phase's own `requests` block overrides lengths it sets).

use super::compile::CompileError;
use super::content::{self, request_id};
use super::{PhasePlan, PlannedRequest};
use crate::resolve::Files;
use crate::trace::{self, Transform};
use crate::workload::{Phase, TraceRef};

/// Mooncake's block size when the trace call gives none.
pub const DEFAULT_BLOCK: u32 = 512;

pub struct Replayed {
    pub requests: Vec<PlannedRequest>,
    /// The phase's length: just past the last send.
    pub duration_ns: u64,
}

/// The plan's tables a trace phase adds to: prefix-block lists, class names.
pub struct Tables<'a> {
    pub blocks: &'a mut Vec<Vec<u64>>,
    pub classes: &'a mut Vec<String>,
}

pub fn requests(
    seed: u64,
    plan: &PhasePlan,
    phase: &Phase,
    tr: &TraceRef,
    files: &Files,
    base_ns: u64,
    tables: Tables,
) -> Result<Replayed, CompileError> {
    let Tables {
        blocks,
        classes: class_names,
    } = tables;
    // The resolve stage loaded the rows and refused failed rows without a `failed:` choice.
    let read = super::files::trace(tr, files, &phase.name)?;
    let t = Transform {
        speed: tr.speed,
        window_ns: tr.window_ns,
        limit: tr.limit.or(phase.max_requests),
        max_gap_ns: tr.max_gap_ns,
        scale: tr.scale,
        replay_failed: tr.replay_failed.unwrap_or(false),
        seed,
    };
    let prepared = trace::transform(read, &t);
    let end = phase.duration_ns;
    let mut out = Vec::with_capacity(prepared.rows.len());
    for (position, (offset, row)) in prepared.rows.into_iter().enumerate() {
        if end.is_some_and(|e| offset >= e) {
            break;
        }
        // Class, prefix and any lengths the phase sets come from the phase's shapes.
        let mut r = content::request(seed, plan, 0, position as u64, Some(base_ns + offset));
        r.id = request_id(plan.index, 0, position as u64);
        // An earlier run's class keeps its name (added to the plan's class table if new).
        if let Some(name) = &row.class {
            r.class = match class_names.iter().position(|n| n == name) {
                Some(i) => i as u32,
                None => {
                    class_names.push(name.clone());
                    (class_names.len() - 1) as u32
                }
            };
        }
        if !phase.own_lengths.0 {
            r.input_tokens = row.input + r.prefix_tokens;
        }
        if !phase.own_lengths.1 {
            r.output_tokens = row.output;
        }
        if !row.blocks.is_empty() {
            r.blocks = Some(blocks.len() as u32);
            blocks.push(row.blocks);
            r.prefix_group = None;
            r.prefix_tokens = 0;
            r.input_tokens = row.input;
        }
        out.push(r);
    }
    let duration_ns = end.unwrap_or_else(|| {
        out.last()
            .and_then(|r| r.at_ns)
            .map(|a| a - base_ns + 1)
            .unwrap_or(0)
    });
    Ok(Replayed {
        requests: out,
        duration_ns,
    })
}
