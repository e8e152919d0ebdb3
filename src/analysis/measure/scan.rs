//! The passes over the chunk table: one pass gives every per-group sum and count (chunk gaps by
//! output position, tokens per second of the run) and counts each group's chunk gaps into a
//! [`Ranks`] histogram; a few more passes (usually one) find the exact gaps at the ranks the
//! percentiles need. Memory is bounded by the requests and the groups, not by the chunks.

use crate::analysis::error::AnalysisError;
use crate::analysis::load::{Run, Status};
use crate::ranks::Ranks;
use crate::stats::{wanted_ranks, Stats};

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
