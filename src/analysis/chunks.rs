//! The chunk table, streamed: a run's chunks (a billion rows for an hour at 2,000 requests/s)
//! are never held in memory. One pass gives every per-group sum and count (chunk gaps by output
//! position, tokens per second of the run) and counts each group's chunk gaps into a
//! [`Ranks`] histogram; a few more passes (usually one) find the exact gaps at the ranks the
//! percentiles need. Memory is bounded by the requests and the groups, not by the chunks.

use std::collections::HashMap;

use arrow_array::{Int32Array, Int64Array};

use super::load::{column, guarded, open, ChunkFiles, ChunkPart, Run, Status};
use super::AnalysisError;
use crate::ranks::Ranks;
use crate::rundir::tables::chunks as ch;
use crate::stats::{wanted_ranks, Stats};

impl ChunkFiles {
    /// Calls `f(request row, at_ns, tokens)` for every chunk, in file order (a request's
    /// chunks are contiguous and in `seq` order); the row is `u32::MAX` for a chunk of no
    /// known request.
    pub fn for_each(
        &self,
        rows_of: &HashMap<i64, u32>,
        mut f: impl FnMut(u32, i64, i32),
    ) -> Result<(), AnalysisError> {
        for part in &self.parts {
            // A damaged file can make the Parquet reader panic: an error naming the file.
            guarded(&part.path, || read(part, rows_of, &mut f))?;
        }
        Ok(())
    }
}

/// One file's chunks, for [`ChunkFiles::for_each`].
fn read(
    part: &ChunkPart,
    rows_of: &HashMap<i64, u32>,
    f: &mut impl FnMut(u32, i64, i32),
) -> Result<(), AnalysisError> {
    let (_, batches) = open(&part.path, &[ch::REQUEST_ID, ch::AT_NS, ch::TOKENS])?;
    let mut last: Option<(i64, u32)> = None;
    for b in batches {
        let b = b?;
        let ids = column::<Int64Array>(&b, ch::REQUEST_ID, &part.path)?.values();
        let at = column::<Int64Array>(&b, ch::AT_NS, &part.path)?.values();
        let tokens = column::<Int32Array>(&b, ch::TOKENS, &part.path)?.values();
        for ((id, at), tk) in ids.iter().zip(at.iter()).zip(tokens.iter()) {
            // Consecutive chunks share a request: look the id up only when it changes.
            let row = match last {
                Some((l, row)) if l == *id => row,
                _ => rows_of.get(id).copied().unwrap_or(u32::MAX),
            };
            last = Some((*id, row));
            f(row, at + part.offset_ns, *tk);
        }
    }
    Ok(())
}

/// Position buckets of chunk gaps: [1,2), [2,4), [4,8), … by the later chunk's seq, as
/// (sum of gaps in ms, gaps).
pub type Positions = [(f64, usize); 24];

/// What the passes over the chunks give the analysis.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Every gap between consecutive chunks of a counted, ok request, per group (ms).
    pub gaps: Vec<Stats>,
    pub positions: Vec<Positions>,
    /// Output tokens received in each bucket of the time series' frame.
    pub tokens: Vec<f64>,
    pub frame: Option<Frame>,
}

/// The time series' frame: bucket width (ns) and count.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub width_ns: i64,
    pub buckets: usize,
}

/// Calls `f(group, position of the later chunk in its stream, gap in ns)` for every gap of a
/// counted, ok request, and `each(at_ns, tokens)` for every chunk.
fn pass(
    run: &Run,
    of_row: &[Option<usize>],
    mut f: impl FnMut(usize, i32, i64),
    mut each: impl FnMut(i64, i32),
) -> Result<(), AnalysisError> {
    let mut prev: Option<(u32, i64)> = None;
    let mut current: Option<usize> = None;
    let mut position = 0i32;
    run.chunks.for_each(&run.rows_of, |row, at, tokens| {
        each(at, tokens);
        match prev {
            Some((p, last_at)) if p == row => {
                position += 1;
                if let Some(g) = current {
                    f(g, position, at - last_at);
                }
            }
            _ => {
                let r = row as usize;
                current = of_row
                    .get(r)
                    .copied()
                    .flatten()
                    .filter(|_| run.requests.status[r] == Status::Ok);
                position = 0;
            }
        }
        prev = Some((row, at));
    })
}

/// The passes over the chunks for `groups` groups (membership `of_row`) and the time series'
/// `frame`.
pub fn scan(
    run: &Run,
    of_row: &[Option<usize>],
    groups: usize,
    frame: Option<Frame>,
) -> Result<Scan, AnalysisError> {
    let mut ranks: Vec<Ranks> = (0..groups).map(|_| Ranks::default()).collect();
    let mut positions = vec![[(0.0f64, 0usize); 24]; groups];
    let mut tokens = vec![0f64; frame.map_or(0, |f| f.buckets)];
    pass(
        run,
        of_row,
        |g, seq, gap| {
            let gap = gap.max(0);
            ranks[g].count(gap as u64);
            let b = (32 - (seq.max(1) as u32).leading_zeros() - 1).min(23) as usize;
            positions[g][b].0 += gap as f64 / 1e6;
            positions[g][b].1 += 1;
        },
        |at, tk| {
            if let Some(f) = frame {
                let k = ((at.max(0) / f.width_ns) as usize).min(f.buckets - 1);
                tokens[k] += f64::from(tk);
            }
        },
    )?;
    let wanted: Vec<Vec<usize>> = ranks
        .iter_mut()
        .map(|r| {
            let w = wanted_ranks(r.len() as usize);
            r.want(&w.iter().map(|x| *x as u64).collect::<Vec<_>>());
            w
        })
        .collect();
    let changed = |reason: String| AnalysisError::Unreadable {
        path: run.dir.join(crate::rundir::layout::CHUNKS),
        reason,
    };
    while ranks.iter().any(Ranks::needs_pass) {
        pass(
            run,
            of_row,
            |g, _, gap| ranks[g].feed(gap.max(0) as u64),
            |_, _| {},
        )?;
        for r in &mut ranks {
            r.settle().map_err(changed)?;
        }
    }
    let gaps = ranks
        .iter()
        .zip(&wanted)
        .map(|(r, w)| {
            let Some(mean) = r.mean() else {
                return Ok(Stats::empty());
            };
            // Every wanted rank is found once the passes have settled.
            let values: Option<Vec<f64>> = w
                .iter()
                .map(|k| r.value(*k as u64).map(|v| v as f64 / 1e6))
                .collect();
            let values =
                values.ok_or_else(|| changed("a chunk gap's rank was not found".into()))?;
            Ok(Stats::from_ranks(r.len() as usize, mean / 1e6, w, &values))
        })
        .collect::<Result<_, AnalysisError>>()?;
    Ok(Scan {
        gaps,
        positions,
        tokens,
        frame,
    })
}
