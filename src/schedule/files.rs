//! File-backed request shapes, loaded when the schedule is compiled: `empirical(...)` columns
//! become plain value lists, and `sample = trace(...)` rows become (input, output) pairs.

use super::compile::CompileError;
use crate::trace::{self, Format, ReadOptions};
use crate::workload::{Dist, TraceRef};

/// `dist` with every `empirical(...)` replaced by the column's values.
pub fn resolve(dist: &Dist, phase: &str) -> Result<Dist, CompileError> {
    let fail = |message: String| CompileError::Trace {
        phase: phase.to_string(),
        message,
    };
    Ok(match dist {
        Dist::Empirical { path, column } => {
            Dist::Values(trace::column_values(path, column).map_err(|e| fail(e.to_string()))?)
        }
        Dist::Mix { weights, parts } => Dist::Mix {
            weights: weights.clone(),
            parts: parts
                .iter()
                .map(|p| resolve(p, phase))
                .collect::<Result<_, _>>()?,
        },
        Dist::Clamp { inner, lo, hi } => Dist::Clamp {
            inner: Box::new(resolve(inner, phase)?),
            lo: *lo,
            hi: *hi,
        },
        other => other.clone(),
    })
}

/// The (input, output) pairs of a trace's rows; failed rows (0 output tokens) are left out.
pub fn samples(tr: &TraceRef, phase: &str) -> Result<Vec<(u32, u32)>, CompileError> {
    let fail = |message: String| CompileError::Trace {
        phase: phase.to_string(),
        message,
    };
    let format = Format::parse(&tr.format)
        .ok_or_else(|| fail(format!("unknown trace format '{}'", tr.format)))?;
    let opts = ReadOptions {
        columns: tr.columns.clone(),
        time_unit: tr.time_unit.clone(),
        skip_bad_rows: false,
    };
    let t = trace::read(&tr.path, format, &opts).map_err(|e| fail(e.to_string()))?;
    Ok(t.rows
        .iter()
        .filter(|r| !r.failed)
        .map(|r| (r.input.max(1), r.output.max(1)))
        .collect())
}
