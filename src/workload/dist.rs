//! Distributions of lengths (tokens) and of durations (seconds, for `think`).

/// A checked distribution. Parameters are in the value's base unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Dist {
    Const(f64),
    /// Integers in `lo..=hi` for lengths; continuous for durations.
    Uniform {
        lo: f64,
        hi: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    /// `exp(N(mu, sigma²))`.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Gamma with shape k and scale θ (mean kθ).
    Gamma {
        shape: f64,
        scale: f64,
    },
    Pareto {
        min: f64,
        alpha: f64,
    },
    /// Discrete values with (normalised) weights.
    Choice {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
    /// A mixture: each draw picks a component with probability proportional to its weight.
    Mix {
        weights: Vec<f64>,
        parts: Vec<Dist>,
    },
    /// Resample a column of a file (resolved to `Values` when the schedule is compiled).
    Empirical {
        path: super::FileRef,
        column: String,
    },
    /// Each value equally likely: an empirical column, loaded.
    Values(Vec<f64>),
    /// A `dataset(...)` class that gives no `input`: each request's prompt length is its
    /// dataset prompt's own. (Encoded as an empty value list, as before it had a name, so
    /// plans keep their hashes.)
    #[serde(rename = "Values", serialize_with = "no_values")]
    FromDataset,
    Clamp {
        inner: Box<Dist>,
        lo: f64,
        hi: f64,
    },
}

impl Dist {
    /// The smallest interval holding every value the distribution can produce, or `None` when it
    /// depends on a file's contents.
    pub fn support(&self) -> Option<(f64, f64)> {
        Some(match self {
            Dist::Const(c) => (*c, *c),
            Dist::Uniform { lo, hi } => (*lo, *hi),
            Dist::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Dist::LogNormal { .. } | Dist::Exponential { .. } | Dist::Gamma { .. } => {
                (0.0, f64::INFINITY)
            }
            Dist::Pareto { min, .. } => (*min, f64::INFINITY),
            Dist::Choice { values, .. } => values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(*v), hi.max(*v))
                }),
            Dist::Mix { parts, .. } => {
                let mut lo = f64::INFINITY;
                let mut hi = f64::NEG_INFINITY;
                for p in parts {
                    let (a, b) = p.support()?;
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
                (lo, hi)
            }
            Dist::Empirical { .. } | Dist::FromDataset => return None,
            Dist::Values(v) => v
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(*x), hi.max(*x))
                }),
            Dist::Clamp { inner, lo, hi } => match inner.support() {
                Some((a, b)) => (a.max(*lo).min(*hi), b.min(*hi).max(*lo)),
                None => (*lo, *hi),
            },
        })
    }

    /// The distribution's mean where it has a closed form (before rounding to whole tokens).
    pub fn mean(&self) -> Option<f64> {
        Some(match self {
            Dist::Const(c) => *c,
            Dist::Uniform { lo, hi } => (lo + hi) / 2.0,
            Dist::Normal { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
            Dist::Exponential { mean } => *mean,
            Dist::Gamma { shape, scale } => shape * scale,
            Dist::Pareto { min, alpha } if *alpha > 1.0 => alpha * min / (alpha - 1.0),
            Dist::Pareto { .. } => f64::INFINITY,
            Dist::Choice { values, weights } => {
                values.iter().zip(weights).map(|(v, w)| v * w).sum()
            }
            Dist::Mix { weights, parts } => {
                let mut total = 0.0;
                for (w, p) in weights.iter().zip(parts) {
                    total += w * p.mean()?;
                }
                total
            }
            Dist::Values(v) if !v.is_empty() => v.iter().sum::<f64>() / v.len() as f64,
            Dist::Empirical { .. } | Dist::Clamp { .. } | Dist::Values(_) | Dist::FromDataset => {
                return None
            }
        })
    }

    /// True when the value comes from a file (loaded by the trace-replay layer).
    pub fn is_file_backed(&self) -> bool {
        match self {
            Dist::Empirical { .. } => true,
            Dist::Mix { parts, .. } => parts.iter().any(Dist::is_file_backed),
            Dist::Clamp { inner, .. } => inner.is_file_backed(),
            _ => false,
        }
    }
}

/// [`Dist::FromDataset`]'s encoding: an empty list.
fn no_values<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    s.serialize_seq(Some(0))?.end()
}

#[cfg(test)]
mod tests {
    use super::Dist;

    #[test]
    fn from_the_dataset_is_encoded_as_before_it_had_a_name() {
        let named = serde_json::to_string(&Dist::FromDataset).expect("json");
        let before = serde_json::to_string(&Dist::Values(Vec::new())).expect("json");
        assert_eq!(named, before);
        assert_eq!(named, r#"{"Values":[]}"#);
    }
}
