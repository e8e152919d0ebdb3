//! Distribution statistics: count, mean, p50/p90/p95/p99, max. Percentiles are exact — from all
//! samples, with linear interpolation between closest ranks (the value at rank (n − 1)·q) — and
//! the p50 and p99 carry a distribution-free 95 % confidence interval: the order statistics
//! whose ranks bracket n·q by 1.96 binomial standard deviations (docs/metrics.md).

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
    /// 95 % confidence intervals of the p50 and p99, `[lo, hi]`; null with too few samples for
    /// one (the p50's needs 8 samples, the p99's about 400).
    pub p50_ci95: Option<[f64; 2]>,
    pub p99_ci95: Option<[f64; 2]>,
}

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 0-based ranks of the order statistics bracketing quantile `q` of `n` samples with 95 %
/// confidence (normal approximation to the binomial count below the quantile), or `None` when
/// they fall outside the sample.
pub fn quantile_ci_ranks(n: usize, q: f64) -> Option<(usize, usize)> {
    let nq = n as f64 * q;
    let half = Z95 * (nq * (1.0 - q)).sqrt();
    // 1-based order statistics ⌊nq − h⌋ and ⌈nq + h⌉: the true quantile lies between them when
    // the count of samples below it, binomial(n, q), is in [l, u − 1] — ≥ 95 % by the
    // normal approximation, a little more where the binomial is lumpy (a p99's).
    let lo = (nq - half).floor();
    let hi = (nq + half).ceil();
    if lo < 1.0 || hi > n as f64 {
        return None;
    }
    Some((lo as usize - 1, hi as usize - 1))
}

/// The percentiles every distribution reports.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// The 0-based ranks (in increasing order, each once) whose values make the statistics of `n`
/// samples: each percentile's two closest ranks, the ends of the p50 and p99 intervals, and the
/// maximum.
pub fn wanted_ranks(n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut ranks: Vec<usize> = vec![n - 1];
    for q in QUANTILES {
        let lo = ((n - 1) as f64 * q).floor() as usize;
        ranks.extend([lo, (lo + 1).min(n - 1)]);
    }
    for (a, b) in quantile_ci_ranks(n, 0.5)
        .into_iter()
        .chain(quantile_ci_ranks(n, 0.99))
    {
        ranks.extend([a, b]);
    }
    ranks.sort_unstable();
    ranks.dedup();
    ranks
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
            p50_ci95: None,
            p99_ci95: None,
        }
    }

    /// Statistics of `samples` (reordered in place; NaNs must not be present).
    pub fn of(samples: &mut [f64]) -> Stats {
        if samples.is_empty() {
            return Stats::empty();
        }
        let n = samples.len();
        let mean = samples.iter().sum::<f64>() / n as f64;
        // Each wanted rank selected in increasing order: each selection partitions the slice,
        // so later ones work on what is left to the right.
        let ranks = wanted_ranks(n);
        let mut values = Vec::with_capacity(ranks.len());
        let mut from = 0;
        for &r in &ranks {
            samples[from..].select_nth_unstable_by(r - from, f64::total_cmp);
            values.push(samples[r]);
            from = r;
        }
        Stats::from_ranks(n, mean, &ranks, &values)
    }

    /// Statistics of `n` samples from their mean and the values at [`wanted_ranks`]`(n)` (in
    /// that order), however those were found (a sort, or passes over data too large to hold).
    pub fn from_ranks(n: usize, mean: f64, ranks: &[usize], values: &[f64]) -> Stats {
        if n == 0 {
            return Stats::empty();
        }
        let at = |r: usize| values[ranks.binary_search(&r).unwrap_or(0)];
        let percentile = |q: f64| {
            let pos = (n - 1) as f64 * q;
            let lo = pos.floor() as usize;
            let frac = pos - lo as f64;
            let (a, b) = (at(lo), at((lo + 1).min(n - 1)));
            if frac > 0.0 {
                a + (b - a) * frac
            } else {
                a
            }
        };
        let interval = |r: Option<(usize, usize)>| r.map(|(a, b)| [at(a), at(b)]);
        Stats {
            count: n,
            mean: Some(mean),
            p50: Some(percentile(QUANTILES[0])),
            p90: Some(percentile(QUANTILES[1])),
            p95: Some(percentile(QUANTILES[2])),
            p99: Some(percentile(QUANTILES[3])),
            max: Some(at(n - 1)),
            p50_ci95: interval(quantile_ci_ranks(n, 0.5)),
            p99_ci95: interval(quantile_ci_ranks(n, 0.99)),
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

/// Batches the rate of a run's events is estimated over (batch means).
pub const BATCHES: usize = 10;

/// Student's t for a two-sided 95 % interval with `BATCHES − 1` degrees of freedom.
const T95_9: f64 = 2.262_157_162_740_992;

/// A 95 % confidence interval of the rate (weight per unit time) of `events` — (time, weight)
/// pairs — over `[start, end)`, by batch means: the span cut into [`BATCHES`] equal windows,
/// each window's rate a sample, the interval their mean ± t₉·sd/√10. Windows, not single
/// events, are the samples because a server's throughput is correlated from one moment to the
/// next. `None` for an empty span or fewer than 2 events a window on average.
pub fn rate_ci95(events: &[(f64, f64)], start: f64, end: f64) -> Option<[f64; 2]> {
    let rates = batch_rates(events, start, end)?;
    let mean = rates.iter().sum::<f64>() / BATCHES as f64;
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (BATCHES - 1) as f64;
    let half = T95_9 * (var / BATCHES as f64).sqrt();
    Some([mean - half, mean + half])
}

/// Student's t for a two-sided 95 % test with 1, 2, … 30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Whether `points` (time, rate) trend: the least-squares line's change from the first time to
/// the last relative to the mean rate, and its t statistic. `Some` only for a trend that is
/// significant (|t| above Student's t at 95 %, n − 2 degrees of freedom) and larger than
/// `min_change` (a fraction); `None` for a steady rate, a zero mean or fewer than 6 points.
pub fn trend(points: &[(f64, f64)], min_change: f64) -> Option<(f64, f64)> {
    let n = points.len();
    if n < 6 {
        return None;
    }
    let nf = n as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 || my <= 0.0 {
        return None;
    }
    let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx;
    let residual: f64 = points
        .iter()
        .map(|p| (p.1 - my - slope * (p.0 - mx)).powi(2))
        .sum();
    let se = (residual / (nf - 2.0) / sxx).sqrt();
    let span = points.iter().map(|p| p.0).fold(f64::MIN, f64::max)
        - points.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let change = slope * span / my;
    let t = if se > 0.0 {
        slope / se
    } else {
        f64::INFINITY.copysign(slope)
    };
    let critical = T95.get(n - 3).copied().unwrap_or(1.96);
    (t.abs() > critical && change.abs() > min_change).then_some((change, t))
}

/// The rates of `events` in [`BATCHES`] equal windows of `[start, end)`, or `None` for an empty
/// span or fewer than 2 events a window on average.
fn batch_rates(events: &[(f64, f64)], start: f64, end: f64) -> Option<[f64; BATCHES]> {
    let span = end - start;
    if span.is_nan() || span <= 0.0 || events.len() < 2 * BATCHES {
        return None;
    }
    let width = span / BATCHES as f64;
    let mut sums = [0.0; BATCHES];
    for (t, w) in events {
        let i = (((t - start) / width).floor().max(0.0) as usize).min(BATCHES - 1);
        sums[i] += w;
    }
    Some(sums.map(|s| s / width))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform draws in (0, 1) from a small LCG (any spread of values will do; never 0, so
    /// `ln` is finite).
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed;
        move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
    }

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
    fn quantile_intervals_cover_the_true_quantile_about_95_percent_of_the_time() {
        // Uniform(0, 1) samples: the true p50 is 0.5 and the true p99 is 0.99.
        let mut next = uniform(11);
        let trials = 2000;
        let (mut in50, mut in99) = (0, 0);
        for _ in 0..trials {
            let mut v: Vec<f64> = (0..1000).map(|_| next()).collect();
            let s = Stats::of(&mut v);
            let [a, b] = s.p50_ci95.expect("an interval");
            in50 += usize::from(a <= 0.5 && 0.5 <= b);
            let [a, b] = s.p99_ci95.expect("an interval");
            in99 += usize::from(a <= 0.99 && 0.99 <= b);
        }
        // 95 % nominal; over 2000 trials the count's sd is ~10, so 92–98.5 % is generous.
        for (name, k) in [("p50", in50), ("p99", in99)] {
            let share = k as f64 / trials as f64;
            assert!((0.92..=0.985).contains(&share), "{name} coverage {share}");
        }
    }

    #[test]
    fn rate_intervals_cover_a_poisson_rate_about_95_percent_of_the_time() {
        // A Poisson process of rate 50/s over 20 s, each event of weight 1.
        let mut next = uniform(3);
        let trials = 2000;
        let mut covered = 0;
        for _ in 0..trials {
            let mut t = 0.0;
            let mut events = Vec::new();
            loop {
                t += -next().ln() / 50.0;
                if t >= 20.0 {
                    break;
                }
                events.push((t, 1.0));
            }
            let [a, b] = rate_ci95(&events, 0.0, 20.0).expect("an interval");
            covered += usize::from(a <= 50.0 && 50.0 <= b);
        }
        let share = covered as f64 / trials as f64;
        assert!((0.92..=0.98).contains(&share), "coverage {share}");
        assert_eq!(rate_ci95(&[(0.5, 1.0)], 0.0, 1.0), None, "too few events");
        assert_eq!(rate_ci95(&[(0.0, 1.0); 40], 1.0, 1.0), None, "no span");
    }

    #[test]
    fn a_trending_rate_is_told_from_a_steady_one() {
        // 30 one-second rates around 100: flat with noise, and rising 100 → 130 with the same
        // noise.
        let mut u = uniform(11);
        let noise: Vec<f64> = (0..30).map(|_| (u() - 0.5) * 10.0).collect();
        let flat: Vec<(f64, f64)> = (0..30).map(|k| (k as f64, 100.0 + noise[k])).collect();
        let rising: Vec<(f64, f64)> = (0..30)
            .map(|k| (k as f64, 100.0 + k as f64 + noise[k]))
            .collect();
        assert_eq!(trend(&flat, 0.1), None);
        let (change, t) = trend(&rising, 0.1).expect("trends");
        // 29 over a mean of ~114.5.
        assert!((0.22..0.29).contains(&change) && t > 10.0, "{change} {t}");
        // A significant trend under the size that counts is no drift.
        assert_eq!(trend(&rising, 0.5), None);
        assert_eq!(trend(&rising[..5], 0.1), None, "too few points");
    }

    #[test]
    fn intervals_need_enough_samples() {
        assert_eq!(quantile_ci_ranks(5, 0.5), None);
        assert!(quantile_ci_ranks(20, 0.5).is_some());
        assert_eq!(
            quantile_ci_ranks(100, 0.99),
            None,
            "a p99 interval needs more than 100"
        );
        assert!(quantile_ci_ranks(1000, 0.99).is_some());
        let mut v: Vec<f64> = (0..1000).map(f64::from).collect();
        let s = Stats::of(&mut v);
        let [a, b] = s.p50_ci95.expect("interval");
        assert!(a < 499.5 && 499.5 < b && b - a < 80.0, "[{a}, {b}]");
    }

    #[test]
    fn one_sample_and_none() {
        assert_eq!(Stats::of(&mut [3.0]).p99, Some(3.0));
        assert_eq!(Stats::of(&mut []), Stats::empty());
    }

    #[test]
    fn matches_a_full_sort_on_random_data() {
        let mut next = uniform(5);
        let mut v: Vec<f64> = (0..10_001).map(|_| next() * 1000.0).collect();
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
