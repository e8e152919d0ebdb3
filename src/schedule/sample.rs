//! Drawing values from checked distributions: token lengths and think times.

use crate::rng::Rng;
use crate::workload::Dist;

pub use crate::limits::MAX_LENGTH;

/// One raw draw, before rounding.
pub fn draw(dist: &Dist, rng: &mut Rng, integer_uniform: bool) -> f64 {
    match dist {
        Dist::Const(c) => *c,
        Dist::Uniform { lo, hi } if integer_uniform => {
            let lo = libm::ceil(*lo);
            let hi = libm::floor(*hi).max(lo);
            lo + rng.below((hi - lo) as u64 + 1) as f64
        }
        Dist::Uniform { lo, hi } => lo + (hi - lo) * rng.f64(),
        Dist::Normal { mean, sd } => mean + sd * rng.normal(),
        Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * rng.normal()),
        Dist::Exponential { mean } => mean * rng.exp1(),
        Dist::Gamma { shape, scale } => scale * rng.gamma(*shape),
        Dist::Pareto { min, alpha } => min * libm::pow(rng.f64_open0(), -1.0 / alpha),
        Dist::Choice { values, weights } => values[pick_normalised(weights, rng)],
        Dist::Mix { weights, parts } => {
            draw(&parts[pick_normalised(weights, rng)], rng, integer_uniform)
        }
        // Resolve puts every column in place before compiling; a dataset's lengths are its
        // prompts' own (see `content`): neither is drawn.
        Dist::Empirical { .. } | Dist::FromDataset => f64::NAN,
        Dist::Values(v) if v.is_empty() => f64::NAN,
        Dist::Values(v) => v[rng.below(v.len() as u64) as usize],
        Dist::Clamp { inner, lo, hi } => draw(inner, rng, integer_uniform).clamp(*lo, *hi),
    }
}

/// A length in tokens: the draw rounded to the nearest whole number, at least 1.
pub fn length(dist: &Dist, rng: &mut Rng) -> u32 {
    let v = libm::round(draw(dist, rng, true));
    if v.is_nan() || v < 1.0 {
        1
    } else if v >= MAX_LENGTH as f64 {
        MAX_LENGTH
    } else {
        v as u32
    }
}

/// A count: the draw rounded to the nearest whole number, 0 or more, at most `most`.
pub fn count(dist: &Dist, rng: &mut Rng, most: u32) -> u32 {
    let v = libm::round(draw(dist, rng, true));
    if v.is_nan() || v < 0.0 {
        0
    } else {
        (v.min(f64::from(most))) as u32
    }
}

/// A duration in nanoseconds from a distribution of seconds (negative draws become 0).
pub fn duration_ns(dist: &Dist, rng: &mut Rng) -> u64 {
    let v = draw(dist, rng, false) * 1e9;
    if v.is_nan() || v <= 0.0 {
        0
    } else {
        libm::round(v.min(1e18)) as u64
    }
}

/// An index drawn with probability equal to its weight (weights sum to 1).
fn pick_normalised(weights: &[f64], rng: &mut Rng) -> usize {
    let mut u = rng.f64();
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}
