//! `llmw trace stats`: what a trace holds before it is replayed.

use std::collections::HashSet;

use serde::Serialize;

use super::Trace;
use crate::stats::Stats;

#[derive(Debug, Clone, Serialize)]
pub struct TraceStats {
    pub rows: usize,
    pub skipped_rows: u64,
    pub unsorted_rows: u64,
    pub span_s: f64,
    pub mean_rate_per_s: f64,
    pub peak_per_s: usize,
    pub peak_per_min: usize,
    pub input_tokens: Stats,
    pub output_tokens: Stats,
    pub failed_rows: usize,
    pub failed_share: f64,
    /// Mooncake: distinct prefix blocks, block references, and the share of references that
    /// repeat an earlier block (what a prefix cache could hit).
    pub blocks: Option<BlockStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockStats {
    pub distinct: usize,
    pub references: usize,
    pub repeat_share: f64,
    /// Requests whose first block was seen before (they share at least one block of prefix).
    pub sharing_requests: usize,
}

fn peak(sorted_ns: &[i64], window_ns: i64) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..sorted_ns.len() {
        while sorted_ns[hi] - sorted_ns[lo] >= window_ns {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

pub fn stats(trace: &Trace) -> TraceStats {
    let mut times: Vec<i64> = trace.rows.iter().map(|r| r.at_ns).collect();
    let unsorted = times.windows(2).filter(|w| w[1] < w[0]).count() as u64;
    times.sort_unstable();
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    let mut input: Vec<f64> = trace.rows.iter().map(|r| r.input as f64).collect();
    let mut output: Vec<f64> = trace.rows.iter().map(|r| r.output as f64).collect();
    let failed = trace.rows.iter().filter(|r| r.failed).count();
    let blocks = trace.rows.iter().any(|r| !r.blocks.is_empty()).then(|| {
        let mut seen = HashSet::new();
        let (mut refs, mut repeats, mut sharing) = (0, 0, 0);
        for r in &trace.rows {
            if r.blocks.first().is_some_and(|b| seen.contains(b)) {
                sharing += 1;
            }
            for b in &r.blocks {
                refs += 1;
                if !seen.insert(*b) {
                    repeats += 1;
                }
            }
        }
        BlockStats {
            distinct: seen.len(),
            references: refs,
            repeat_share: if refs > 0 {
                repeats as f64 / refs as f64
            } else {
                0.0
            },
            sharing_requests: sharing,
        }
    });
    TraceStats {
        rows: trace.rows.len(),
        skipped_rows: trace.skipped,
        unsorted_rows: unsorted,
        span_s: span,
        mean_rate_per_s: if span > 0.0 {
            trace.rows.len() as f64 / span
        } else {
            0.0
        },
        peak_per_s: peak(&times, 1_000_000_000),
        peak_per_min: peak(&times, 60_000_000_000),
        input_tokens: Stats::of(&mut input),
        output_tokens: Stats::of(&mut output),
        failed_rows: failed,
        failed_share: if trace.rows.is_empty() {
            0.0
        } else {
            failed as f64 / trace.rows.len() as f64
        },
        blocks,
    }
}
