//! Time-varying arrival rates as non-homogeneous processes, by time rescaling.
//!
//! A rate λ(t) has a cumulative intensity Λ(t) = ∫₀ᵗ λ. Arrivals of a unit-rate process at
//! operational times s₁ < s₂ < … map to real times tᵢ = Λ⁻¹(sᵢ), so the expected number of
//! arrivals in any interval is the integral of the rate over it, for every process shape
//! (constant, Poisson, gamma). Times here are seconds from the phase's start.

use crate::workload::Level;

#[derive(Debug, Clone)]
pub enum RateFn {
    Fixed(f64),
    /// Piecewise constant; `bounds[i]` = Λ at the start of step i (one extra at the end).
    Steps {
        values: Vec<f64>,
        hold: f64,
        bounds: Vec<f64>,
    },
    Linear {
        from: f64,
        to: f64,
        duration: f64,
    },
    Geometric {
        from: f64,
        to: f64,
        duration: f64,
    },
    Sine {
        mean: f64,
        amplitude: f64,
        period: f64,
    },
    /// A fixed rate while on, nothing while off.
    OnOff {
        rate: f64,
        on: f64,
        off: f64,
    },
}

impl RateFn {
    /// The rate function of `level` over a phase of `duration` seconds (needed by ramps).
    pub fn new(level: &Level, duration: Option<f64>) -> RateFn {
        match level {
            Level::Fixed(r) => RateFn::Fixed(*r),
            Level::Steps { values, hold_ns } => {
                let hold = *hold_ns as f64 / 1e9;
                let mut bounds = vec![0.0];
                for v in values {
                    let last = bounds.last().copied().unwrap_or(0.0);
                    bounds.push(last + v * hold);
                }
                RateFn::Steps {
                    values: values.clone(),
                    hold,
                    bounds,
                }
            }
            Level::Ramp {
                from,
                to,
                exponential,
            } => {
                let duration = duration.unwrap_or(0.0);
                if *exponential && from != to {
                    RateFn::Geometric {
                        from: *from,
                        to: *to,
                        duration,
                    }
                } else {
                    RateFn::Linear {
                        from: *from,
                        to: *to,
                        duration,
                    }
                }
            }
            Level::Sine {
                mean,
                amplitude,
                period_ns,
            } => RateFn::Sine {
                mean: *mean,
                amplitude: *amplitude,
                period: *period_ns as f64 / 1e9,
            },
            // A searched phase is planned probe by probe, each at a fixed rate
            // (`Schedule::probe`); its first probe's is the range's low end.
            Level::Search(s) => RateFn::Fixed(s.lo),
        }
    }

    /// The rate function arrivals of `process` follow: `onoff` gates its fixed rate.
    pub fn for_process(
        process: crate::workload::Process,
        level: &Level,
        duration: Option<f64>,
    ) -> RateFn {
        let f = RateFn::new(level, duration);
        match process {
            crate::workload::Process::OnOff { on_ns, off_ns } => RateFn::OnOff {
                rate: f.rate(0.0),
                on: on_ns as f64 / 1e9,
                off: off_ns as f64 / 1e9,
            },
            _ => f,
        }
    }

    pub fn rate(&self, t: f64) -> f64 {
        match self {
            RateFn::Fixed(r) => *r,
            RateFn::Steps { values, hold, .. } => {
                let i = (t / hold) as usize;
                values.get(i).copied().unwrap_or(0.0)
            }
            RateFn::Linear { from, to, duration } => from + (to - from) * (t / duration).min(1.0),
            RateFn::Geometric { from, to, duration } => {
                from * libm::pow(to / from, (t / duration).min(1.0))
            }
            RateFn::Sine {
                mean,
                amplitude,
                period,
            } => mean + amplitude * libm::sin(2.0 * std::f64::consts::PI * t / period),
            RateFn::OnOff { rate, on, off } => {
                if t % (on + off) < *on {
                    *rate
                } else {
                    0.0
                }
            }
        }
    }

    /// Λ(t): the expected number of arrivals in [0, t).
    pub fn cumulative(&self, t: f64) -> f64 {
        match self {
            RateFn::Fixed(r) => r * t,
            RateFn::Steps {
                values,
                hold,
                bounds,
            } => {
                let i = ((t / hold) as usize).min(values.len());
                let base = bounds[i];
                match values.get(i) {
                    Some(v) => base + v * (t - i as f64 * hold),
                    None => base,
                }
            }
            RateFn::Linear { from, to, duration } => {
                from * t + (to - from) * t * t / (2.0 * duration)
            }
            RateFn::Geometric { from, to, duration } => {
                let ln_g = libm::log(to / from);
                from * duration / ln_g * (libm::exp(ln_g * t / duration) - 1.0)
            }
            RateFn::Sine {
                mean,
                amplitude,
                period,
            } => {
                let w = 2.0 * std::f64::consts::PI / period;
                mean * t + amplitude / w * (1.0 - libm::cos(w * t))
            }
            RateFn::OnOff { rate, on, off } => {
                let cycle = on + off;
                let full = libm::floor(t / cycle);
                rate * (full * on + (t - full * cycle).min(*on))
            }
        }
    }

    /// The earliest t with Λ(t) = s, or `None` if Λ never reaches s.
    pub fn inverse(&self, s: f64) -> Option<f64> {
        match self {
            RateFn::Fixed(r) => (*r > 0.0).then(|| s / r),
            RateFn::Steps {
                values,
                hold,
                bounds,
            } => {
                // First step whose end bound exceeds s (zero-rate steps are skipped).
                let i = bounds[1..].partition_point(|b| *b <= s);
                let v = *values.get(i)?;
                Some(i as f64 * hold + (s - bounds[i]) / v)
            }
            RateFn::Linear { from, to, duration } => {
                let k = (to - from) / duration;
                let disc = from * from + 2.0 * k * s;
                if disc < 0.0 {
                    return None;
                }
                let denom = from + libm::sqrt(disc);
                (denom > 0.0).then(|| 2.0 * s / denom)
            }
            RateFn::Geometric { from, to, duration } => {
                let ln_g = libm::log(to / from);
                let arg = 1.0 + s * ln_g / (from * duration);
                (arg > 0.0).then(|| duration * libm::log(arg) / ln_g)
            }
            RateFn::Sine {
                mean,
                amplitude,
                period,
            } => {
                // Λ is increasing; bracket t between mean-rate bounds and bisect with Newton steps.
                let slack = amplitude.abs() * period / std::f64::consts::PI;
                let mut lo = ((s - slack) / mean).max(0.0);
                let mut hi = (s + slack) / mean;
                let mut t = (lo + hi) / 2.0;
                for _ in 0..200 {
                    let f = self.cumulative(t) - s;
                    if f.abs() < 1e-12 * s.max(1.0) || hi - lo < 1e-12 {
                        break;
                    }
                    if f > 0.0 {
                        hi = t;
                    } else {
                        lo = t;
                    }
                    let r = self.rate(t);
                    let newton = t - f / r;
                    t = if r > 0.0 && newton > lo && newton < hi {
                        newton
                    } else {
                        (lo + hi) / 2.0
                    };
                }
                Some(t)
            }
            RateFn::OnOff { rate, on, off } => {
                if *rate <= 0.0 {
                    return None;
                }
                let u = s / rate;
                let full = libm::floor(u / on);
                Some(full * (on + off) + (u - full * on))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(f: &RateFn, horizon: f64) {
        for i in 1..200 {
            let t = horizon * i as f64 / 200.0;
            let s = f.cumulative(t);
            let back = f.inverse(s).expect("reachable");
            assert!((back - t).abs() < 1e-6, "{f:?}: t={t} s={s} back={back}");
        }
    }

    #[test]
    fn inverse_undoes_cumulative_for_every_shape() {
        roundtrip(&RateFn::Fixed(8.0), 100.0);
        roundtrip(
            &RateFn::new(
                &Level::Steps {
                    values: vec![1.0, 4.0, 2.0],
                    hold_ns: 10_000_000_000,
                },
                None,
            ),
            29.9,
        );
        roundtrip(
            &RateFn::Linear {
                from: 1.0,
                to: 30.0,
                duration: 300.0,
            },
            300.0,
        );
        roundtrip(
            &RateFn::Linear {
                from: 30.0,
                to: 1.0,
                duration: 300.0,
            },
            300.0,
        );
        roundtrip(
            &RateFn::Geometric {
                from: 1.0,
                to: 64.0,
                duration: 60.0,
            },
            60.0,
        );
        roundtrip(
            &RateFn::Sine {
                mean: 10.0,
                amplitude: 8.0,
                period: 60.0,
            },
            300.0,
        );
    }

    #[test]
    fn cumulative_is_the_integral_of_the_rate() {
        let shapes = [
            RateFn::Linear {
                from: 2.0,
                to: 20.0,
                duration: 50.0,
            },
            RateFn::Geometric {
                from: 2.0,
                to: 20.0,
                duration: 50.0,
            },
            RateFn::Sine {
                mean: 10.0,
                amplitude: 5.0,
                period: 7.0,
            },
            RateFn::OnOff {
                rate: 10.0,
                on: 3.0,
                off: 2.0,
            },
        ];
        for f in shapes {
            // Midpoint rule with 100k panels over [0, 50].
            let n = 100_000;
            let h = 50.0 / n as f64;
            let integral: f64 = (0..n).map(|i| f.rate((i as f64 + 0.5) * h) * h).sum();
            let exact = f.cumulative(50.0);
            assert!(
                (integral - exact).abs() < 1e-3 * exact,
                "{f:?}: {integral} vs {exact}"
            );
        }
    }
}
