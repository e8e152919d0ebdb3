//! Distribution statistics: count, mean, p50/p90/p95/p99, max. Percentiles are exact — from all
//! samples, with linear interpolation between closest ranks (the value at rank (n − 1)·q).

use serde::Serialize;

use crate::metric::Stat;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub count: usize,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Stats {
    pub fn empty() -> Stats {
        Stats {
            count: 0,
            mean: None,
            p50: None,
            p90: None,
            p95: None,
            p99: None,
            max: None,
        }
    }

    /// Statistics of `samples` (reordered in place; NaNs must not be present).
    pub fn of(samples: &mut [f64]) -> Stats {
        if samples.is_empty() {
            return Stats::empty();
        }
        let n = samples.len();
        let mean = samples.iter().sum::<f64>() / n as f64;
        // Select ranks in increasing order: each selection partitions the slice, so later
        // ones work on what is left to the right.
        let qs = [0.5, 0.9, 0.95, 0.99];
        let mut out = [0.0; 4];
        let mut from = 0;
        for (slot, q) in out.iter_mut().zip(qs) {
            let pos = (n - 1) as f64 * q;
            let lo = pos.floor() as usize;
            let frac = pos - lo as f64;
            let rest = &mut samples[from..];
            rest.select_nth_unstable_by(lo - from, f64::total_cmp);
            let a = samples[lo];
            let b = if frac > 0.0 && lo + 1 < n {
                samples[lo + 1..]
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
            } else {
                a
            };
            *slot = a + (b - a) * frac;
            from = lo;
        }
        let max = samples[from..]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        Stats {
            count: n,
            mean: Some(mean),
            p50: Some(out[0]),
            p90: Some(out[1]),
            p95: Some(out[2]),
            p99: Some(out[3]),
            max: Some(max),
        }
    }

    /// The named statistic (`mean`, `p50`, … `max`).
    pub fn get(&self, stat: Stat) -> Option<f64> {
        match stat {
            Stat::Mean => self.mean,
            Stat::P50 => self.p50,
            Stat::P90 => self.p90,
            Stat::P95 => self.p95,
            Stat::P99 => self.p99,
            Stat::Max => self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        let mut v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let s = Stats::of(&mut v);
        assert_eq!(s.count, 10);
        assert_eq!(s.mean, Some(5.5));
        assert_eq!(s.p50, Some(5.5)); // rank 4.5 between 5 and 6
        assert_eq!(s.p90, Some(9.1)); // rank 8.1
        assert!((s.p95.unwrap_or(0.0) - 9.55).abs() < 1e-12);
        assert!((s.p99.unwrap_or(0.0) - 9.91).abs() < 1e-12);
        assert_eq!(s.max, Some(10.0));
    }

    #[test]
    fn one_sample_and_none() {
        assert_eq!(Stats::of(&mut [3.0]).p99, Some(3.0));
        assert_eq!(Stats::of(&mut []), Stats::empty());
    }

    #[test]
    fn matches_a_full_sort_on_random_data() {
        // A small LCG: any spread of values will do.
        let mut x = 5u64;
        let mut v: Vec<f64> = (0..10_001)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 11) as f64 / (1u64 << 53) as f64 * 1000.0
            })
            .collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let s = Stats::of(&mut v);
        let at = |q: f64| {
            let pos = (sorted.len() - 1) as f64 * q;
            let lo = pos.floor() as usize;
            sorted[lo] + (sorted[(lo + 1).min(sorted.len() - 1)] - sorted[lo]) * (pos - lo as f64)
        };
        assert_eq!(s.p50, Some(at(0.5)));
        assert_eq!(s.p99, Some(at(0.99)));
        assert_eq!(s.max, sorted.last().copied());
    }
}
