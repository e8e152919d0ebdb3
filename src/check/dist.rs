//! Distributions: `512`, `lognormal(median: 512, sigma: 0.6) clamp 16..4096`, `mix(...)`, …
//! checked into a [`Dist`] of token counts or of durations.

use crate::diag::Diagnostic;
use crate::syntax::{Expr, ExprKind};
use crate::workload::Dist;

use super::args::Args;
use super::value::Ctx;
use crate::suggest::closest;

/// What the distribution's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Of {
    /// Token counts: plain numbers.
    Tokens,
    /// Durations: `2s`, `500ms` (values kept in seconds).
    Seconds,
}

pub(crate) const DISTRIBUTIONS: [&str; 10] = [
    "uniform",
    "normal",
    "lognormal",
    "exponential",
    "gamma",
    "pareto",
    "choice",
    "mix",
    "empirical",
    "constant",
];

/// A scalar of the distribution's kind.
fn scalar(ctx: &mut Ctx, expr: &Expr, of: Of, what: &str) -> Option<f64> {
    match of {
        Of::Tokens => ctx.number(expr, what),
        Of::Seconds => ctx.seconds(expr, what),
    }
}

fn positive(ctx: &mut Ctx, expr: &Expr, of: Of, what: &str) -> Option<f64> {
    let v = scalar(ctx, expr, of, what)?;
    if v <= 0.0 {
        ctx.error(Diagnostic::error(
            expr.span,
            format!("{what} must be above 0"),
        ));
        return None;
    }
    Some(v)
}

fn at_least_zero(ctx: &mut Ctx, expr: &Expr, of: Of, what: &str) -> Option<f64> {
    let v = scalar(ctx, expr, of, what)?;
    if v < 0.0 {
        ctx.error(Diagnostic::error(
            expr.span,
            format!("{what} cannot be negative"),
        ));
        return None;
    }
    Some(v)
}

pub(crate) fn dist(ctx: &mut Ctx, expr: &Expr, of: Of, what: &str) -> Option<Dist> {
    let e = ctx.resolve(expr)?;
    match &e.kind {
        ExprKind::Clamp(inner, range) => {
            let inner_dist = dist(ctx, inner, of, what);
            let (lo, hi) = ctx.range(range, "clamp", |c, end| scalar(c, end, of, "clamp"))?;
            let inner_dist = inner_dist?;
            if lo > hi {
                ctx.error(Diagnostic::error(
                    range.span,
                    format!("clamp range is empty: {lo} is above {hi}"),
                ));
                return None;
            }
            if let Some((a, b)) = inner_dist.support() {
                if b < lo || a > hi {
                    let shown = ctx.sources.text(inner.span).to_string();
                    ctx.error(
                        Diagnostic::error(range.span, format!("clamp {}..{} excludes every value of {shown}", fmt(lo), fmt(hi)))
                            .label(format!("{shown} only yields {}..{}", fmt(a), fmt(b)))
                            .help("every request would get the same clamped value; widen the range or drop the clamp"),
                    );
                    return None;
                }
            }
            Some(Dist::Clamp {
                inner: Box::new(inner_dist),
                lo,
                hi,
            })
        }
        ExprKind::Call { name, args } => call(ctx, e, &name.text, name.span, args, of, what),
        ExprKind::Number { .. } | ExprKind::Quantity { .. } => {
            let v = at_least_zero(ctx, e, of, what)?;
            Some(Dist::Const(v))
        }
        _ => {
            let expected = match of {
                Of::Tokens => "a token count or a distribution like uniform(100, 200)",
                Of::Seconds => "a duration or a distribution like exponential(mean: 2s)",
            };
            ctx.mismatch(e, what, expected);
            None
        }
    }
}

fn call(
    ctx: &mut Ctx,
    e: &Expr,
    name: &str,
    name_span: crate::source::Span,
    args: &[crate::syntax::Arg],
    of: Of,
    what: &str,
) -> Option<Dist> {
    let bind = |ctx: &mut Ctx, params: &[&'static str]| Args::bind(ctx, name, e.span, args, params);
    match name {
        "constant" => {
            let a = bind(ctx, &["value"]);
            let arg = a.require(ctx, "value", "constant(512)")?;
            let v = at_least_zero(ctx, arg, of, "value")?;
            Some(Dist::Const(v))
        }
        "uniform" => {
            let a = bind(ctx, &["min", "max"]);
            let lo = a
                .require(ctx, "min", "uniform(100, 200)")
                .and_then(|x| at_least_zero(ctx, x, of, "min"));
            let hi = a
                .require(ctx, "max", "uniform(100, 200)")
                .and_then(|x| at_least_zero(ctx, x, of, "max"));
            let (lo, hi) = (lo?, hi?);
            if lo > hi {
                ctx.error(Diagnostic::error(
                    e.span,
                    format!(
                        "uniform(...) range is empty: {} is above {}",
                        fmt(lo),
                        fmt(hi)
                    ),
                ));
                return None;
            }
            Some(Dist::Uniform { lo, hi })
        }
        "normal" => {
            let a = bind(ctx, &["mean", "sd"]);
            let mean = a
                .require(ctx, "mean", "normal(mean: 256, sd: 64)")
                .and_then(|x| scalar(ctx, x, of, "mean"));
            let sd = a
                .require(ctx, "sd", "normal(mean: 256, sd: 64)")
                .and_then(|x| at_least_zero(ctx, x, of, "sd"));
            Some(Dist::Normal {
                mean: mean?,
                sd: sd?,
            })
        }
        "lognormal" => {
            let a = bind(ctx, &["median", "sigma", "mean", "sd"]);
            let example = "lognormal(median: 512, sigma: 0.6) or lognormal(mean: 600, sd: 300)";
            match (a.get("median"), a.get("sigma"), a.get("mean"), a.get("sd")) {
                (Some(m), Some(s), None, None) => {
                    let median = positive(ctx, m, of, "median");
                    let sigma = ctx.number(s, "sigma");
                    let (median, sigma) = (median?, sigma?);
                    if sigma < 0.0 {
                        ctx.error(Diagnostic::error(s.span, "sigma cannot be negative"));
                        return None;
                    }
                    Some(Dist::LogNormal {
                        mu: libm::log(median),
                        sigma,
                    })
                }
                (None, None, Some(m), Some(s)) => {
                    let mean = positive(ctx, m, of, "mean");
                    let sd = at_least_zero(ctx, s, of, "sd");
                    let (mean, sd) = (mean?, sd?);
                    let sigma2 = libm::log1p((sd / mean) * (sd / mean));
                    Some(Dist::LogNormal {
                        mu: libm::log(mean) - sigma2 / 2.0,
                        sigma: libm::sqrt(sigma2),
                    })
                }
                _ => {
                    ctx.error(
                        Diagnostic::error(
                            e.span,
                            "lognormal(...) takes either median and sigma, or mean and sd",
                        )
                        .help(format!("for example {example}")),
                    );
                    None
                }
            }
        }
        "exponential" => {
            let a = bind(ctx, &["mean"]);
            let arg = a.require(ctx, "mean", "exponential(mean: 120)")?;
            let mean = positive(ctx, arg, of, "mean")?;
            Some(Dist::Exponential { mean })
        }
        "gamma" => {
            let a = bind(ctx, &["mean", "cv"]);
            let mean = a
                .require(ctx, "mean", "gamma(mean: 200, cv: 1.5)")
                .and_then(|x| positive(ctx, x, of, "mean"));
            let cv = a
                .require(ctx, "cv", "gamma(mean: 200, cv: 1.5)")
                .and_then(|x| positive(ctx, x, Of::Tokens, "cv"));
            let (mean, cv) = (mean?, cv?);
            Some(Dist::Gamma {
                shape: 1.0 / (cv * cv),
                scale: mean * cv * cv,
            })
        }
        "pareto" => {
            let a = bind(ctx, &["min", "alpha"]);
            let min = a
                .require(ctx, "min", "pareto(min: 100, alpha: 1.5)")
                .and_then(|x| positive(ctx, x, of, "min"));
            let alpha = a
                .require(ctx, "alpha", "pareto(min: 100, alpha: 1.5)")
                .and_then(|x| positive(ctx, x, Of::Tokens, "alpha"));
            Some(Dist::Pareto {
                min: min?,
                alpha: alpha?,
            })
        }
        "choice" => choice(ctx, e, args, of),
        "mix" => mix(ctx, e, args, of, what),
        "empirical" => {
            let a = bind(ctx, &["path", "column"]);
            let path = a
                .require(ctx, "path", "empirical(\"lengths.csv\", column: \"input\")")
                .and_then(|x| ctx.existing_path(x, "empirical"));
            let column = a
                .require(
                    ctx,
                    "column",
                    "empirical(\"lengths.csv\", column: \"input\")",
                )
                .and_then(|x| ctx.string(x, "column"));
            Some(Dist::Empirical {
                path: path?,
                column: column?,
            })
        }
        _ => {
            let d = Diagnostic::error(name_span, format!("unknown distribution '{name}'"))
                .label(format!("{what} expects a distribution"))
                .suggest(closest(name, DISTRIBUTIONS));
            ctx.error(d);
            None
        }
    }
}

/// `choice(128: 0.5, 1024: 0.3, 4096: 0.2)`: the keys are the values, the values the weights.
fn choice(ctx: &mut Ctx, e: &Expr, args: &[crate::syntax::Arg], of: Of) -> Option<Dist> {
    let mut values = Vec::new();
    let mut weights = Vec::new();
    let mut ok = true;
    for arg in args {
        let Some(key) = &arg.key else {
            ctx.error(
                Diagnostic::error(arg.span, "choice(...) entries are VALUE: WEIGHT")
                    .help("for example choice(128: 0.5, 1024: 0.5)"),
            );
            ok = false;
            continue;
        };
        let value = match (of, key.text.replace('_', "").parse::<f64>()) {
            (Of::Tokens, Ok(v)) if v >= 0.0 => Some(v),
            _ => {
                ctx.error(Diagnostic::error(
                    key.span,
                    format!("choice value '{}' is not a token count", key.text),
                ));
                None
            }
        };
        let weight = weight(ctx, &arg.value);
        match (value, weight) {
            (Some(v), Some(w)) => {
                values.push(v);
                weights.push(w);
            }
            _ => ok = false,
        }
    }
    if ok && values.is_empty() {
        ctx.error(Diagnostic::error(
            e.span,
            "choice(...) needs at least one VALUE: WEIGHT",
        ));
        return None;
    }
    ok.then(|| Dist::Choice {
        values,
        weights: normalise(&weights),
    })
}

/// `mix(0.7: DIST, 0.3: DIST)`.
fn mix(ctx: &mut Ctx, e: &Expr, args: &[crate::syntax::Arg], of: Of, what: &str) -> Option<Dist> {
    let mut weights = Vec::new();
    let mut parts = Vec::new();
    let mut ok = true;
    for arg in args {
        let w = match &arg.key {
            Some(key) => match key.text.replace('_', "").parse::<f64>() {
                Ok(w) if w > 0.0 => Some(w),
                _ => {
                    ctx.error(Diagnostic::error(
                        key.span,
                        format!("mix weight '{}' must be a number above 0", key.text),
                    ));
                    None
                }
            },
            None => {
                ctx.error(
                    Diagnostic::error(arg.span, "mix(...) entries are WEIGHT: DISTRIBUTION").help(
                        "for example mix(0.7: exponential(mean: 100), 0.3: uniform(1000, 2000))",
                    ),
                );
                None
            }
        };
        let part = dist(ctx, &arg.value, of, what);
        match (w, part) {
            (Some(w), Some(p)) => {
                weights.push(w);
                parts.push(p);
            }
            _ => ok = false,
        }
    }
    if ok && parts.is_empty() {
        ctx.error(Diagnostic::error(
            e.span,
            "mix(...) needs at least one WEIGHT: DISTRIBUTION",
        ));
        return None;
    }
    ok.then(|| Dist::Mix {
        weights: normalise(&weights),
        parts,
    })
}

fn weight(ctx: &mut Ctx, expr: &Expr) -> Option<f64> {
    let w = ctx.number(expr, "weight")?;
    if w <= 0.0 {
        ctx.error(Diagnostic::error(expr.span, "a weight must be above 0"));
        return None;
    }
    Some(w)
}

fn normalise(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// A number as a user wrote it: `16`, not `16.0`.
pub(crate) fn fmt(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "∞".into() } else { "-∞".into() };
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
