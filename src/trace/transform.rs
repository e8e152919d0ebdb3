//! From a trace as read to send offsets: stable sort (counted), failed rows kept or skipped, a
//! window of trace time, offset to the window's first row, idle gaps squeezed, the rate thinned
//! or multiplied with its burst pattern kept, time divided by `speed`, and a row limit.

use super::{Row, Trace};
use crate::rng::{key, Rng};

#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    pub speed: f64,
    /// Of trace time, relative to the trace's first row: `[from, to)`.
    pub window_ns: Option<(u64, u64)>,
    pub limit: Option<u64>,
    /// Gaps between consecutive rows longer than this are shortened to it.
    pub max_gap_ns: Option<u64>,
    /// Below 1: keep each row with this probability; above: replicate rows (same time).
    pub scale: Option<f64>,
    /// BurstGPT rows with 0 response tokens: replay them (asking for 1 token) or skip them.
    pub replay_failed: bool,
    pub seed: u64,
}

impl Default for Transform {
    fn default() -> Transform {
        Transform {
            speed: 1.0,
            window_ns: None,
            limit: None,
            max_gap_ns: None,
            scale: None,
            replay_failed: false,
            seed: 0,
        }
    }
}

/// The rows to send and what was done to get them.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// (offset from the replay's start in ns, row), in send order.
    pub rows: Vec<(u64, Row)>,
    /// Rows that were out of order in the file (sorted stably).
    pub unsorted: u64,
    pub failed_skipped: u64,
}

/// Copies of a conversation (`scale` above 1) are numbered apart by this many bits.
const SESSION_COPY_SHIFT: u64 = 40;

pub fn transform(trace: &Trace, t: &Transform) -> Prepared {
    let mut out = Prepared::default();
    let mut rows: Vec<Row> = Vec::with_capacity(trace.rows.len());
    let mut latest = i64::MIN;
    for r in &trace.rows {
        if r.at_ns < latest {
            out.unsorted += 1;
        }
        latest = latest.max(r.at_ns);
        if r.failed && !t.replay_failed {
            out.failed_skipped += 1;
            continue;
        }
        let mut r = r.clone();
        r.output = r.output.max(1);
        rows.push(r);
    }
    rows.sort_by_key(|r| r.at_ns); // stable: equal times keep file order
    let Some(first) = rows.first().map(|r| r.at_ns) else {
        return out;
    };
    let (from, to) = t
        .window_ns
        .map(|(a, b)| (a as i64, b as i64))
        .unwrap_or((0, i64::MAX));
    let mut kept: Vec<(i64, Row)> = rows
        .into_iter()
        .map(|r| (r.at_ns - first, r))
        .filter(|(rel, _)| *rel >= from && *rel < to)
        .collect();
    let Some(base) = kept.first().map(|(rel, _)| *rel) else {
        return out;
    };
    let mut shift = 0i64;
    let mut prev = base;
    for (rel, _) in kept.iter_mut() {
        let gap = *rel - prev;
        prev = *rel;
        if let Some(max) = t.max_gap_ns {
            if gap > max as i64 {
                shift += gap - max as i64;
            }
        }
        *rel = *rel - base - shift;
    }
    let mut rng = Rng::new(key(&[t.seed, 0x5CA1E]));
    let copies_of = |k: f64, rng: &mut Rng| {
        let whole = k.floor() as u64;
        whole + u64::from(rng.f64() < k - k.floor())
    };
    for (rel, row) in kept {
        let copies = match (t.scale, row.session) {
            (None, _) => 1,
            // A conversation is kept or copied whole: the choice is its own, the same for
            // every one of its rows.
            (Some(k), Some(id)) => copies_of(k, &mut Rng::new(key(&[t.seed, 0x5CA1E, 1, id]))),
            (Some(k), None) => copies_of(k, &mut rng),
        };
        let at = (rel as f64 / t.speed).round() as u64;
        for c in 0..copies {
            out.rows.push((
                at + c,
                Row {
                    line: row.line,
                    // A copy of a conversation is a conversation of its own.
                    session: row.session.map(|id| id + (c << SESSION_COPY_SHIFT)),
                    ..row.clone()
                },
            ));
        }
        if t.limit.is_some_and(|l| out.rows.len() as u64 >= l) {
            out.rows.truncate(t.limit.unwrap_or(u64::MAX) as usize);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(times_s: &[i64]) -> Trace {
        Trace {
            rows: times_s
                .iter()
                .enumerate()
                .map(|(i, t)| Row::new(t * 1_000_000_000, 10, 5, i as u64 + 2))
                .collect(),
            ..Trace::default()
        }
    }

    fn offsets(p: &Prepared) -> Vec<u64> {
        p.rows.iter().map(|(o, _)| o / 1_000_000_000).collect()
    }

    #[test]
    fn sorts_stably_and_counts_unsorted_rows() {
        let p = transform(&trace(&[10, 5, 20, 20, 15]), &Transform::default());
        assert_eq!(offsets(&p), vec![0, 5, 10, 15, 15]);
        assert_eq!(p.unsorted, 2);
        // Equal times keep file order: lines 4 and 5 (times 20, 20).
        assert_eq!(p.rows[3].1.line, 4);
    }

    #[test]
    fn window_offsets_to_its_first_row_then_speed_applies() {
        let t = Transform {
            window_ns: Some((15_000_000_000, 40_000_000_000)),
            speed: 2.0,
            ..Transform::default()
        };
        let p = transform(&trace(&[100, 110, 117, 120, 139, 140]), &t);
        // Relative 0, 10, 17, 20, 39, 40 → window keeps 17, 20, 39 → 0, 3, 22 → /2.
        assert_eq!(
            p.rows.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
            vec![0, 1_500_000_000, 11_000_000_000]
        );
    }

    #[test]
    fn max_gap_squeezes_idle_stretches() {
        let t = Transform {
            max_gap_ns: Some(5_000_000_000),
            ..Transform::default()
        };
        assert_eq!(
            offsets(&transform(&trace(&[0, 2, 100, 101, 300]), &t)),
            vec![0, 2, 7, 8, 13]
        );
    }

    #[test]
    fn scale_thins_or_multiplies_keeping_times() {
        let many: Vec<i64> = (0..10_000).collect();
        let half = transform(
            &trace(&many),
            &Transform {
                scale: Some(0.5),
                ..Transform::default()
            },
        );
        // Binomial(10000, 0.5): sd 50; allow 5 sd.
        assert!(
            (half.rows.len() as i64 - 5000).abs() < 250,
            "{}",
            half.rows.len()
        );
        let double = transform(
            &trace(&[0, 7]),
            &Transform {
                scale: Some(2.0),
                ..Transform::default()
            },
        );
        assert_eq!(offsets(&double), vec![0, 0, 7, 7]);
        let limited = transform(
            &trace(&many),
            &Transform {
                limit: Some(3),
                ..Transform::default()
            },
        );
        assert_eq!(offsets(&limited), vec![0, 1, 2]);
    }
}
